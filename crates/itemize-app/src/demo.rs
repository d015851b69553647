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
    },
    /// The same demo was already loaded; nothing was written.
    AlreadyLoaded(DemoMarker),
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
        let (mut bills, late) = self.load_demo_bills(&system, dir, seed, as_of).await?;
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
        Ok(DemoOutcome::Loaded { files: paths, reports, bills, allocation })
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
        let mut mappings = std::collections::HashMap::new();
        let mut out = Vec::new();
        let mut late = Vec::new();
        for f in &files {
            let path = bills_dir.join(&f.name);
            std::fs::write(&path, &f.contents).map_err(|e| refuse(&path, e))?;
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
                    let opts = crate::cost::ImportOptions {
                        mapping: mapping.as_ref().and_then(|m| mappings.get(m).cloned()),
                        ..Default::default()
                    };
                    let s = self
                        .import_cost_file(
                            system,
                            &path,
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
