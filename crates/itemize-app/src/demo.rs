//! The demo organisation: generated as ordinary input files in the data directory, then loaded through the
//! same import use cases a user's own files go through. Loading is refused on a database that holds other data,
//! and re-running on a loaded demo reuses it.

use crate::auth::NewUser;
use crate::csvio::ImportReport;
use crate::demo_gen::{DemoFile, generate};
use crate::{App, AppError};
use itemize_core::auth::Actor;
use itemize_core::refdata::CostCentre;
use itemize_core::refdata::Kind;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

const MARKER: &str = "demo";

/// What the data directory holds, as recorded when the demo was loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoMarker {
    pub seed: u64,
    pub as_of: Date,
    /// False while loading: a load that was interrupted leaves it so, and a re-run says what happened.
    #[serde(default = "yes")]
    pub complete: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug)]
pub enum DemoOutcome {
    /// Freshly generated and loaded; one report per file, in load order.
    Loaded {
        files: Vec<PathBuf>,
        reports: Vec<ImportReport>,
        bills: Vec<crate::cost::ImportSummary>,
        /// The demo rule set and the allocation of every month.
        allocation: Box<crate::allocation::Applied>,
        /// The asset register's import and what was replayed after it.
        assets: Box<DemoAssets>,
    },
    /// The same demo was already loaded; nothing was written.
    AlreadyLoaded(DemoMarker),
}

/// The demo's asset register as loaded.
#[derive(Debug, Default)]
pub struct DemoAssets {
    /// The import of what the register held the day it went live.
    pub import: crate::asset_import::ImportReport,
    /// Assets bought after that, each imported on its purchase day.
    pub received: usize,
    /// Transitions and check-outs replayed after the import.
    pub transitions: usize,
    pub relations: usize,
    pub contracts: usize,
    pub audits: usize,
    /// Each month's depreciation posted into the ledger.
    pub depreciation: Vec<crate::asset_ledger::DepreciationPosting>,
}

/// A closed demo audit leaves its first `missing` expected assets unscanned; an open one scans the first half.
fn expected_skip(close: bool, missing: usize) -> usize {
    if close { missing } else { 0 }
}

/// The demo's sign-in password, printed by `itemize demo`. The demo is for looking around, not for real data.
pub const DEMO_PASSWORD: &str = "itemize-demo";

/// The demo's users: one per role, and a finance partner limited to one region's cost centre.
pub const DEMO_USERS: &[(&str, &str, &str, Option<&str>)] = &[
    ("admin", "Demo Administrator", "admin", None),
    ("finance", "Fiona Finance", "finance", None),
    ("assets", "Arjun Assets", "asset-manager", None),
    ("viewer", "Vera Viewer", "viewer", None),
    ("dach-finance", "Dieter DACH (Sales DACH only)", "finance", Some("Sales DACH")),
];

/// Which kind each demo file is imported as.
fn kind_of(file: &str) -> Option<Kind> {
    Some(match file {
        "locations.csv" => Kind::Location,
        "cost-centres.csv" | "cost-centre-owners.csv" => Kind::CostCentre,
        "people.csv" => Kind::Person,
        "services.csv" => Kind::Service,
        "vendors.csv" => Kind::Vendor,
        _ => return None,
    })
}

impl App {
    pub async fn demo_marker(&self) -> Result<Option<DemoMarker>, AppError> {
        let mut s = self.store().session().await?;
        Ok(s.setting(MARKER).await?.and_then(|v| serde_json::from_str(&v).ok()))
    }

    /// Generates the demo for `seed` as of `as_of` into `dir` and loads it.
    pub async fn load_demo(&self, dir: &Path, seed: u64, as_of: Date) -> Result<DemoOutcome, AppError> {
        let system = Actor::system("demo");
        if let Some(m) = self.demo_marker().await? {
            if !m.complete {
                return Err(AppError::Refused(format!(
                    "loading the demo (seed {}) into this data directory was interrupted; \
                     remove the directory (or use another --data-dir) and run the demo again",
                    m.seed
                )));
            }
            if m.seed == seed {
                return Ok(DemoOutcome::AlreadyLoaded(m));
            }
            return Err(AppError::Refused(format!(
                "this data directory already holds the demo with seed {} (as of {}); use that seed, \
                 or another --data-dir for seed {seed}",
                m.seed, m.as_of
            )));
        }
        let total: i64 = self.counts(&system).await?.iter().map(|(_, n)| n).sum::<i64>()
            + self.store().session().await?.count_users().await?;
        if total > 0 {
            return Err(AppError::Refused(
                "this data directory already holds data that is not the demo; \
                 refusing to mix the demo into it — use another --data-dir"
                    .into(),
            ));
        }
        let mut tx = self.store().transaction().await?;
        let loading = DemoMarker { seed, as_of, complete: false };
        tx.put_setting(MARKER, &serde_json::to_string(&loading).unwrap_or_default(), self.clock().now())
            .await?;
        tx.commit().await?;
        let files = generate(seed, as_of);
        std::fs::create_dir_all(dir)
            .map_err(|e| AppError::Refused(format!("cannot create {}: {e}", dir.display())))?;
        let mut paths = Vec::new();
        for DemoFile { name, contents } in &files {
            let path = dir.join(name);
            std::fs::write(&path, contents)
                .map_err(|e| AppError::Refused(format!("cannot write {}: {e}", path.display())))?;
            paths.push(path);
        }
        let mut reports = Vec::new();
        for path in &paths {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let kind = kind_of(name).ok_or_else(|| AppError::Internal(format!("no importer for {name}")))?;
            let file = std::fs::File::open(path)
                .map_err(|e| AppError::Refused(format!("cannot read {}: {e}", path.display())))?;
            let report = self.import_csv(&system, kind, std::io::BufReader::new(file), false).await?;
            if !report.is_ok() {
                return Err(AppError::Internal(format!(
                    "the demo file {name} did not import: {:?}",
                    report.errors.first()
                )));
            }
            reports.push(report);
        }
        for (username, display, role, scope) in DEMO_USERS {
            let cost_centres = match scope {
                Some(name) => {
                    let page = self
                        .list::<CostCentre>(&system, &crate::ListParams::default().with("q", *name))
                        .await?;
                    page.items.iter().filter(|c| c.fields.name == *name).map(|c| c.id.get()).collect()
                }
                None => Vec::new(),
            };
            let user = NewUser {
                username: username.to_string(),
                password: DEMO_PASSWORD.to_string(),
                role: role.to_string(),
                display_name: Some(display.to_string()),
                cost_centres,
            };
            self.create_user(&system, user).await?;
        }
        let people = files.iter().find(|f| f.name == "people.csv").map(|f| f.contents.as_str()).unwrap_or("");
        let assets = Box::new(self.load_demo_assets(&system, dir, seed, as_of, people).await?);
        let (mut bills, late) = self.load_demo_bills(&system, dir, seed, as_of).await?;
        // Each month's depreciation enters the ledger as non-cloud spend, before the months are allocated.
        let mut depreciation = Vec::new();
        for period in self.ledger_periods().await? {
            depreciation.push(self.post_depreciation(&system, &period).await?);
        }
        let allocation = Box::new(self.load_demo_allocation(&system, dir).await?);
        // The provider's restatement arrives after its month was closed: the month keeps its books and the
        // difference is posted into the next open month.
        for path in late {
            let s = self
                .import_cost_file(
                    &system,
                    &path,
                    crate::cost::ImportOptions::default(),
                    std::sync::Arc::new(crate::cost::Progress::default()),
                )
                .await?;
            if !s.is_ok() || s.restatements.iter().all(|r| r.adjustments == 0) {
                return Err(AppError::Internal(format!(
                    "the demo's restatement {} did not post adjustments: {:?}",
                    path.display(),
                    s.message
                )));
            }
            bills.push(s);
        }
        let marker = DemoMarker { seed, as_of, complete: true };
        let mut tx = self.store().transaction().await?;
        tx.put_setting(MARKER, &serde_json::to_string(&marker).unwrap_or_default(), self.clock().now())
            .await?;
        tx.commit().await?;
        let mut assets = assets;
        assets.depreciation = depreciation;
        Ok(DemoOutcome::Loaded { files: paths, reports, bills, allocation, assets })
    }

    /// The asset register: settings, the asset file through the importer, then its history replayed through
    /// the use cases (repairs, losses, loans, retirements and disposals, relationships, contracts, audits).
    async fn load_demo_assets(
        &self,
        system: &Actor,
        dir: &Path,
        seed: u64,
        as_of: Date,
        people_csv: &str,
    ) -> Result<DemoAssets, AppError> {
        use crate::demo_assets::{Step, generate, service_code};
        let demo = generate(seed, as_of, people_csv);
        // The register's history as it would have happened: the file imported the day the register went live,
        // HISTORY_DAYS before the demo's date, then the steps in turn over the days since (the loader's clock),
        // instead of every event at the second the demo was built.
        let times = history_times(as_of, &demo.steps, &purchase_dates(&demo.csv))?;
        let clock = std::sync::Arc::new(itemize_core::clock::FixedClock::new(times.0));
        let loader = App::new(self.store().clone(), clock.clone(), self.config().clone());
        let path = dir.join("assets.csv");
        std::fs::write(&path, &demo.csv)
            .map_err(|e| AppError::Refused(format!("cannot write {}: {e}", path.display())))?;
        loader.put_asset_settings(system, demo.settings.clone()).await?;
        // What was bought by the day the register went live is imported then; what was bought since arrives on
        // its purchase day, at 08:00, before anything happens to it (the steps' times start at 09:00 of that day).
        let live = times.0.to_zoned(jiff::tz::TimeZone::UTC).date();
        let (first, mut later) = split_by_arrival(&demo.csv, live, as_of)?;
        let import_file = |csv: String| {
            let loader = loader.clone();
            async move {
                let report = loader
                    .import_assets(system, csv.as_bytes(), &crate::asset_import::ImportOptions::default())
                    .await?;
                if !report.errors.is_empty() || !report.committed {
                    return Err(AppError::Internal(format!(
                        "the demo's assets.csv did not import: {:?}",
                        report.errors.first()
                    )));
                }
                Ok::<_, AppError>(report)
            }
        };
        let import = import_file(first).await?;
        let mut s = self.store().session().await?;
        let tags = s.asset_ids_by_tag().await.map_err(crate::assets::store_err)?;
        let mut ids: std::collections::HashMap<&str, std::collections::HashMap<String, i64>> =
            std::collections::HashMap::new();
        for p in s.all::<itemize_core::refdata::Person>(true).await? {
            ids.entry("person").or_default().insert(p.fields.employee_id.clone(), p.id.into());
        }
        for l in s.all::<itemize_core::refdata::Location>(true).await? {
            ids.entry("location").or_default().insert(l.fields.code.clone(), l.id.into());
        }
        for v in s.all::<itemize_core::refdata::Vendor>(true).await? {
            ids.entry("vendor").or_default().insert(v.fields.name.clone(), v.id.into());
        }
        for c in s.all::<CostCentre>(true).await? {
            ids.entry("cost_centre").or_default().insert(c.fields.code.clone(), c.id.into());
        }
        for v in s.all::<itemize_core::refdata::Service>(true).await? {
            ids.entry("service").or_default().insert(v.fields.code.clone(), v.id.into());
        }
        drop(s);
        let missing =
            |what: &str, key: &str| AppError::Internal(format!("the demo names an unknown {what} `{key}`"));
        let lookup = |what: &str, key: &str| -> Result<i64, AppError> {
            ids.get(what).and_then(|m| m.get(key)).copied().ok_or_else(|| missing(what, key))
        };
        let tags = std::cell::RefCell::new(tags);
        let tag_id =
            |tag: &str| tags.borrow().get(&tag.to_lowercase()).copied().ok_or_else(|| missing("asset", tag));
        // Imports the files of what arrived by `until` (all of them without one), each at 08:00 of its day, and
        // learns their tags; how many assets they held.
        let receive = async |until: Option<jiff::Timestamp>,
                             later: &mut std::collections::BTreeMap<Date, String>|
               -> Result<usize, AppError> {
            let mut n = 0;
            while let Some(day) = later.first_key_value().map(|(d, _)| *d) {
                let arrives = at_hour(day, 8)?;
                if until.is_some_and(|u| arrives > u) {
                    break;
                }
                let csv = later.remove(&day).unwrap_or_default();
                clock.set(arrives);
                n += import_file(csv).await?.created;
                let all = self
                    .store()
                    .session()
                    .await?
                    .asset_ids_by_tag()
                    .await
                    .map_err(crate::assets::store_err)?;
                tags.replace(all);
            }
            Ok(n)
        };
        // Natural keys in a step's body → the ids the API takes.
        let resolve = |mut body: Value| -> Result<Value, AppError> {
            let Some(o) = body.as_object_mut() else { return Ok(body) };
            for (key, what, to) in [
                ("assignee", "person", "assignee_person_id"),
                ("owner", "person", "owner_person_id"),
                ("location", "location", "location_id"),
                ("vendor", "vendor", "vendor_id"),
                ("cost_centre", "cost_centre", "cost_centre_id"),
                ("to_service", "service", "to_service_id"),
                ("to_asset", "asset", "to_asset_id"),
            ] {
                let Some(v) = o.remove(key) else { continue };
                let v = v.as_str().unwrap_or_default().to_string();
                let id = match what {
                    "asset" => tag_id(&v)?,
                    "service" => lookup("service", &service_code(&v).ok_or_else(|| missing("service", &v))?)?,
                    _ => lookup(what, &v)?,
                };
                o.insert(to.into(), Value::from(id));
            }
            Ok(body)
        };
        let mut out = DemoAssets { import, ..DemoAssets::default() };
        for (step, at) in demo.steps.into_iter().zip(times.1) {
            out.received += receive(Some(at), &mut later).await?;
            clock.set(at);
            match step {
                Step::Transition { tag, body } => {
                    loader.transition_asset(system, tag_id(&tag)?, None, resolve(body)?).await?;
                    out.transitions += 1;
                }
                Step::CheckOut { tag, body } => {
                    loader.check_out_asset(system, tag_id(&tag)?, resolve(body)?).await?;
                    out.transitions += 1;
                }
                Step::CheckIn { tag, body } => {
                    loader.check_in_asset(system, tag_id(&tag)?, resolve(body)?).await?;
                    out.transitions += 1;
                }
                Step::Cost { tag, body } => {
                    loader.add_asset_cost(system, tag_id(&tag)?, resolve(body)?).await?;
                }
                Step::Relation { tag, body } => {
                    loader.add_relation(system, tag_id(&tag)?, resolve(body)?).await?;
                    out.relations += 1;
                }
                Step::Contract { body, tags, archive } => {
                    let mut body = resolve(body)?;
                    let covered: Result<Vec<i64>, AppError> = tags.iter().map(|t| tag_id(t)).collect();
                    body["asset_ids"] = Value::from(covered?);
                    let c = loader.create_contract(system, body).await?;
                    if archive {
                        loader.set_contract_archived(system, c.id, true).await?;
                    }
                    out.contracts += 1;
                }
                Step::Audit { location, missing, extra, close } => {
                    let audit = loader.start_audit(system, lookup("location", location)?).await?;
                    // Before any scan, everything expected is missing.
                    let mut expected = audit.missing.clone();
                    expected.sort_unstable();
                    let keep =
                        if close { expected.len().saturating_sub(missing) } else { expected.len() / 2 };
                    for id in expected.into_iter().skip(expected_skip(close, missing)).take(keep) {
                        let tag = loader.get_asset(system, id).await?.fields.tag;
                        loader.scan(system, audit.id, &tag).await?;
                    }
                    for input in extra.iter().filter(|e| !e.is_empty()) {
                        loader.scan(system, audit.id, input).await?;
                    }
                    if close {
                        loader.close_audit(system, audit.id, true).await?;
                    }
                    out.audits += 1;
                }
            }
        }
        out.received += receive(None, &mut later).await?;
        Ok(out)
    }

    /// The demo's allocation: CPU-hours for the platform cluster's tenants, the rule set (kept in the demo
    /// directory as an example to edit), every month allocated, and all but the last two months closed.
    async fn load_demo_allocation(
        &self,
        system: &Actor,
        dir: &Path,
    ) -> Result<crate::allocation::Applied, AppError> {
        let periods = self.ledger_periods().await?;
        let first =
            periods.first().cloned().ok_or_else(|| AppError::Internal("the demo has no bills".into()))?;
        let rules = crate::demo_rules::demo_rules(&first);
        let metrics = crate::demo_rules::demo_metrics(&periods);
        for (name, text) in [("allocation-rules.toml", &rules), ("cpu-hours.csv", &metrics)] {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map_err(|e| AppError::Refused(format!("cannot write {}: {e}", path.display())))?;
        }
        self.import_metrics(system, &metrics).await?;
        let applied = self.apply_rule_set(system, &rules).await?;
        for p in periods.iter().take(periods.len().saturating_sub(2)) {
            self.close_period(system, p).await?;
        }
        Ok(applied)
    }

    /// Thirteen months of bills, written as files and taken in through the same readers as real ones: rates
    /// first, then every cost file in order. A restated month is written but not imported: its path is returned
    /// to be imported once the month is closed. The mappings generic files need go to `DATA_DIR/mappings/`,
    /// where the inbox finds them too.
    async fn load_demo_bills(
        &self,
        system: &Actor,
        dir: &Path,
        seed: u64,
        as_of: Date,
    ) -> Result<(Vec<crate::cost::ImportSummary>, Vec<PathBuf>), AppError> {
        use crate::demo_bills::{BillRole, generate_bills};
        let bills_dir = dir.join("bills");
        let refuse = |what: &Path, e: std::io::Error| {
            AppError::Refused(format!("cannot write {}: {e}", what.display()))
        };
        std::fs::create_dir_all(&bills_dir).map_err(|e| refuse(&bills_dir, e))?;
        std::fs::create_dir_all(self.mappings_dir()).map_err(|e| refuse(&self.mappings_dir(), e))?;
        let files = generate_bills(seed, as_of);
        // The latest month's Cost and Usage Report arrives as AWS writes a large one: in two parts, imported as
        // one export (`import cost --parts`).
        let last_cur = files
            .iter()
            .filter(|f| f.name.starts_with("aws-cur2-") && !f.name.contains("-restated"))
            .map(|f| f.name.clone())
            .max();
        let mut mappings = std::collections::HashMap::new();
        let mut out = Vec::new();
        let mut late = Vec::new();
        for f in &files {
            let path = bills_dir.join(&f.name);
            let mut parts = Vec::new();
            if Some(&f.name) == last_cur.as_ref() {
                for (i, contents) in split_in_two(&f.contents).into_iter().enumerate() {
                    let part = bills_dir.join(f.name.replace(".csv", &format!("-{}.csv", i + 1)));
                    std::fs::write(&part, contents).map_err(|e| refuse(&part, e))?;
                    parts.push(part);
                }
            } else {
                std::fs::write(&path, &f.contents).map_err(|e| refuse(&path, e))?;
            }
            if f.name.contains("-restated") {
                late.push(path);
                continue;
            }
            match &f.role {
                BillRole::Rates => {
                    let text = String::from_utf8_lossy(&f.contents);
                    self.import_rates(system, &text, &f.name).await?;
                }
                BillRole::Mapping => {
                    let text = String::from_utf8_lossy(&f.contents).into_owned();
                    let m = itemize_ingest::generic::Mapping::from_toml(&text).map_err(|e| {
                        AppError::Internal(format!("the demo mapping {} is invalid: {e}", f.name))
                    })?;
                    let kept = self.mappings_dir().join(&f.name);
                    std::fs::write(&kept, &f.contents).map_err(|e| refuse(&kept, e))?;
                    mappings.insert(f.name.clone(), m);
                }
                BillRole::Cost { mapping } => {
                    let (first, more) = match parts.split_first() {
                        Some((first, more)) => (first.clone(), more.to_vec()),
                        None => (path.clone(), Vec::new()),
                    };
                    let opts = crate::cost::ImportOptions {
                        mapping: mapping.as_ref().and_then(|m| mappings.get(m).cloned()),
                        file_name: (!more.is_empty())
                            .then(|| format!("{} (in {} parts)", f.name, more.len() + 1)),
                        parts: more,
                        ..Default::default()
                    };
                    let s = self
                        .import_cost_file(
                            system,
                            &first,
                            opts,
                            std::sync::Arc::new(crate::cost::Progress::default()),
                        )
                        .await?;
                    if !s.is_ok() {
                        return Err(AppError::Internal(format!(
                            "the demo bill {} did not import: {:?} {:?}",
                            f.name,
                            s.message,
                            s.report.as_ref().and_then(|r| r.errors.first())
                        )));
                    }
                    out.push(s);
                }
            }
        }
        Ok((out, late))
    }
}

/// A CSV file as two files of about half its lines each, both with its header.
fn split_in_two(contents: &[u8]) -> [Vec<u8>; 2] {
    let text = String::from_utf8_lossy(contents);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let rows: Vec<&str> = lines.collect();
    let (a, b) = rows.split_at(rows.len() / 2);
    let file = |rows: &[&str]| {
        let mut out = format!("{header}\n");
        for r in rows {
            out.push_str(r);
            out.push('\n');
        }
        out.into_bytes()
    };
    [file(a), file(b)]
}

/// How long before the demo's date its asset register went live (the asset file imported); its history
/// happens in between.
const HISTORY_DAYS: i64 = 120;

/// When the demo's asset history happens: the import at 09:00 HISTORY_DAYS before `as_of`, then one time per
/// step, spread over the days up to the day before `as_of` in the steps' order, an asset's steps in their order,
/// and never before a date the step records as past (a disposal on its date, a repair bill on its day; a loan's expected return excepted, which
/// an overdue loan has passed, and a contract's term).
fn history_times(
    as_of: Date,
    steps: &[crate::demo_assets::Step],
    bought: &std::collections::HashMap<String, Date>,
) -> Result<(jiff::Timestamp, Vec<jiff::Timestamp>), AppError> {
    let at_nine = |d: Date| at_hour(d, 9);
    let start_day = as_of
        .checked_sub(jiff::Span::new().days(HISTORY_DAYS))
        .map_err(|e| AppError::Internal(format!("demo history: {e}")))?;
    let start = at_nine(start_day)?;
    let span_secs = (HISTORY_DAYS - 1) * 86_400;
    let n = steps.len() as i64;
    // An asset's steps happen in the order they are taken, a minute apart at least.
    let mut last: std::collections::HashMap<&str, jiff::Timestamp> = std::collections::HashMap::new();
    let mut times = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let mut at = start
            .checked_add(jiff::SignedDuration::from_secs(span_secs * (i as i64 + 1) / (n + 1)))
            .map_err(|e| AppError::Internal(format!("demo history: {e}")))?;
        if let Some((tag, body)) = asset_step(step) {
            if let Some(d) = latest_past_date(body, as_of) {
                at = at.max(at_nine(d)?);
            }
            if let Some(before) = last.get(tag) {
                at = at.max(before.checked_add(jiff::SignedDuration::from_secs(60)).unwrap_or(*before));
            }
        }
        // Nothing happens to an asset, or refers to it, before it was bought (and came into the register).
        for t in referenced_tags(step) {
            if let Some(d) = bought.get(t).filter(|d| **d < as_of) {
                at = at.max(at_nine(*d)?);
            }
        }
        if let Some((tag, _)) = asset_step(step) {
            last.insert(tag, at);
        }
        times.push(at);
    }
    Ok((start, times))
}

/// The asset a step acts on and what it says (a contract's and an audit's steps act on no one asset; a
/// contract's dates are its term: it may be registered before it starts or long after).
fn asset_step(step: &crate::demo_assets::Step) -> Option<(&str, &Value)> {
    use crate::demo_assets::Step;
    match step {
        Step::Transition { tag, body }
        | Step::CheckOut { tag, body }
        | Step::CheckIn { tag, body }
        | Step::Cost { tag, body }
        | Step::Relation { tag, body } => Some((tag, body)),
        Step::Contract { .. } | Step::Audit { .. } => None,
    }
}

/// `day` at `hour`:00 UTC, a time of the demo's history.
fn at_hour(day: Date, hour: i8) -> Result<jiff::Timestamp, AppError> {
    day.at(hour, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|e| AppError::Internal(format!("demo history: {e}")))
}

/// Every asset a step needs in the register: the one it acts on, the one a relationship points to, the ones a
/// contract covers, the labels an audit scans.
fn referenced_tags(step: &crate::demo_assets::Step) -> Vec<&str> {
    use crate::demo_assets::Step;
    match step {
        Step::Contract { tags, .. } => tags.iter().map(String::as_str).collect(),
        Step::Audit { extra, .. } => extra.iter().map(String::as_str).collect(),
        _ => {
            let Some((tag, body)) = asset_step(step) else { return Vec::new() };
            std::iter::once(tag).chain(body.get("to_asset").and_then(Value::as_str)).collect()
        }
    }
}

/// The demo's asset file split by when each asset came into the register: the rows of assets bought by the day
/// the register went live (imported then), and those bought between then and `as_of` as one file per purchase
/// day (received that day), each with the header.
fn split_by_arrival(
    csv_text: &str,
    live: Date,
    as_of: Date,
) -> Result<(String, std::collections::BTreeMap<Date, String>), AppError> {
    let bad = |e: csv::Error| AppError::Internal(format!("the demo's assets.csv: {e}"));
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let header = r.headers().map_err(bad)?.clone();
    let bought = header.iter().position(|h| h == "purchase_date");
    let mut files: std::collections::BTreeMap<Option<Date>, csv::Writer<Vec<u8>>> =
        std::collections::BTreeMap::new();
    for rec in r.records() {
        let rec = rec.map_err(bad)?;
        let day = bought.and_then(|i| rec.get(i)?.parse::<Date>().ok()).filter(|d| *d > live && *d < as_of);
        let w = match files.entry(day) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(&header).map_err(bad)?;
                e.insert(w)
            }
        };
        w.write_record(&rec).map_err(bad)?;
    }
    let text = |w: csv::Writer<Vec<u8>>| -> Result<String, AppError> {
        let bytes = w.into_inner().map_err(|e| AppError::Internal(format!("the demo's assets.csv: {e}")))?;
        String::from_utf8(bytes).map_err(|e| AppError::Internal(format!("the demo's assets.csv: {e}")))
    };
    let first = match files.remove(&None) {
        Some(w) => text(w)?,
        None => String::new(),
    };
    let mut later = std::collections::BTreeMap::new();
    for (day, w) in files {
        if let Some(day) = day {
            later.insert(day, text(w)?);
        }
    }
    Ok((first, later))
}

/// Each asset's purchase date, by tag, from the demo's asset file.
fn purchase_dates(csv_text: &str) -> std::collections::HashMap<String, Date> {
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = r.headers().map(|h| h.iter().map(str::to_string).collect()).unwrap_or_default();
    let (Some(tag), Some(bought)) =
        (header.iter().position(|h| h == "tag"), header.iter().position(|h| h == "purchase_date"))
    else {
        return Default::default();
    };
    r.records()
        .flatten()
        .filter_map(|rec| Some((rec.get(tag)?.to_string(), rec.get(bought)?.parse().ok()?)))
        .collect()
}

/// The latest `YYYY-MM-DD` date in `body` before `as_of` — a value, or written inside a text ("returned by a
/// leaver on …") — a loan's expected return left out.
fn latest_past_date(body: &Value, as_of: Date) -> Option<Date> {
    fn walk(v: &Value, as_of: Date, best: &mut Option<Date>) {
        match v {
            Value::String(s) => {
                let b = s.as_bytes();
                for i in 0..b.len().saturating_sub(9) {
                    let looks = b[i..i + 10]
                        .iter()
                        .enumerate()
                        .all(|(k, c)| if k == 4 || k == 7 { *c == b'-' } else { c.is_ascii_digit() });
                    if let Some(d) = looks.then(|| s[i..i + 10].parse::<Date>().ok()).flatten()
                        && d < as_of
                        && best.is_none_or(|b| d > b)
                    {
                        *best = Some(d);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, as_of, best)),
            Value::Object(o) => o
                .iter()
                .filter(|(k, _)| k.as_str() != "expected_return")
                .for_each(|(_, v)| walk(v, as_of, best)),
            _ => {}
        }
    }
    let mut best = None;
    walk(body, as_of, &mut best);
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo_assets::Step;
    use serde_json::json;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn history_times_respect_what_the_steps_record() {
        let as_of: Date = "2026-11-22".parse().unwrap();
        let step = |tag: &str, body: Value| Step::CheckIn { tag: tag.into(), body };
        let steps = vec![
            // First in the list, but the leaver handed it back on 20 October: not before.
            step("LT-1", json!({"reason": "Returned by leaver E7 on 2026-10-20; awaiting re-image"})),
            // Bought on 1 November: nothing happens to it before.
            step("LT-2", json!({})),
            // A loan that is overdue: its expected return is no lower bound.
            Step::CheckOut {
                tag: "LT-3".into(),
                body: json!({"loan": true, "expected_return": "2026-11-20"}),
            },
            step("LT-3", json!({})),
            step("LT-4", json!({})),
        ];
        let bought = [("LT-2".to_string(), "2026-11-01".parse().unwrap())].into_iter().collect();
        let (start, times) = history_times(as_of, &steps, &bought).unwrap();
        assert_eq!(start, ts("2026-07-25T09:00:00Z"), "HISTORY_DAYS before the demo's date");
        assert!(times[0] >= ts("2026-10-20T09:00:00Z"), "{}", times[0]);
        assert!(times[1] >= ts("2026-11-01T09:00:00Z"), "{}", times[1]);
        assert!(times[2] < ts("2026-11-20T00:00:00Z"), "checked out before it was due back: {}", times[2]);
        assert!(times[3] > times[2], "an asset's steps in their order");
        assert!(times.iter().all(|t| *t > start && *t < ts("2026-11-22T00:00:00Z")), "{times:?}");
        // Spread over the window, not bunched: the last plain step is weeks after the first.
        assert!(times[4].duration_since(times[2]).as_hours() > 24 * 7, "{times:?}");
    }
}
