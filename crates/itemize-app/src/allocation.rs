//! Cost allocation use cases: rule-set versions (validate, preview, apply), allocating a billing period into the
//! cost cube, driver metrics, showback statements and the explanation of any allocated amount.
//!
//! A period is allocated with the rule set in force for it (the newest version whose `effective_from` is not
//! after the period), against the reference data as it is now. Allocating reads the period's current ledger
//! partitions from the lake, classifies every line once, splits the pools, and replaces the period's cube cells
//! and its monthly roll-up in one transaction: readers see the old cube or the new one. The same ledger and the
//! same rules give the same cube, byte for byte.

use crate::ledger::{bad, check_period, day_of_micros, dec as money, is_billing_period};
use crate::{Actor, App, AppError};
use itemize_core::allocation::{
    Allocator, Catalog, CubeRow, Decision, FIELD_COUNT, Field, LineCost, LineRef, Rules, TagKeys,
    parse_rule_set,
};
use itemize_core::auth::{Action, Resource, authorize};
use itemize_core::refdata::{CostCentre, Person, PersonStatus, Service};
use itemize_core::validate::FieldError;
use itemize_ingest::lake;
use itemize_store::{
    AdjustmentRow, CubeCell, MetricRow, MonthCell, PartitionFilter, PartitionRow, RuleSetRow, RunRow,
};
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::str::FromStr;

/// One hundred, for percentages.
pub const HUNDRED: Decimal = Decimal::ONE_HUNDRED;
pub use rust_decimal::Decimal as Amount;

/// The billing period after `p` (`YYYY-MM`).
pub(crate) fn next_period(p: &str) -> String {
    let y: i32 = p[..4].parse().unwrap_or(1970);
    let m: u32 = p[5..].parse().unwrap_or(1);
    if m == 12 { format!("{:04}-01", y + 1) } else { format!("{y:04}-{:02}", m + 1) }
}

fn previous_period(p: &str) -> String {
    let y: i32 = p[..4].parse().unwrap_or(1970);
    let m: u32 = p[5..].parse().unwrap_or(1);
    if m == 1 { format!("{:04}-12", y - 1) } else { format!("{y:04}-{:02}", m - 1) }
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_default()
}

/// A rule-set version as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleSetView {
    pub id: i64,
    pub name: String,
    pub effective_from: String,
    pub body_sha256: String,
    pub created_by: String,
    pub created_at: jiff::Timestamp,
    pub body: String,
}

impl From<RuleSetRow> for RuleSetView {
    fn from(r: RuleSetRow) -> Self {
        RuleSetView {
            id: r.id,
            name: r.name,
            effective_from: r.effective_from,
            body_sha256: r.body_sha256,
            created_by: r.created_by,
            created_at: r.created_at,
            body: r.body,
        }
    }
}

/// One allocation of one period.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    pub id: i64,
    pub period: String,
    pub rule_set_id: i64,
    pub status: String,
    pub lines: i64,
    pub cells: i64,
    pub billed_total: Decimal,
    pub effective_total: Decimal,
    pub unallocated_effective: Decimal,
    pub partitions: Vec<i64>,
    pub created_by: String,
    pub created_at: jiff::Timestamp,
    pub duration_ms: i64,
}

impl From<RunRow> for RunView {
    fn from(r: RunRow) -> Self {
        RunView {
            id: r.id,
            period: r.billing_period,
            rule_set_id: r.rule_set_id,
            status: r.status,
            lines: r.lines,
            cells: r.cells,
            billed_total: dec(&r.billed_total),
            effective_total: dec(&r.effective_total),
            unallocated_effective: dec(&r.unallocated_effective),
            partitions: serde_json::from_str(&r.partitions_json).unwrap_or_default(),
            created_by: r.created_by,
            created_at: r.created_at,
            duration_ms: r.duration_ms,
        }
    }
}

/// How a statement groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementBy {
    CostCentre,
    Service,
}

impl StatementBy {
    pub fn parse(s: &str) -> Option<StatementBy> {
        match s {
            "cost-center" | "cost-centre" | "cost_centre" | "cost_center" | "cc" => {
                Some(StatementBy::CostCentre)
            }
            "service" => Some(StatementBy::Service),
            _ => None,
        }
    }
}

/// Which cost a statement shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Amortized (EffectiveCost), the default.
    Effective,
    Billed,
}

impl Measure {
    pub fn parse(s: &str) -> Option<Measure> {
        match s {
            "effective" | "amortized" => Some(Measure::Effective),
            "billed" => Some(Measure::Billed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementRow {
    /// `cc:CODE`, `svc:CODE` or `unallocated`.
    pub key: String,
    pub code: Option<String>,
    pub name: String,
    /// For a service: its cost centre.
    pub cost_centre: Option<String>,
    pub amount: Decimal,
    pub previous: Decimal,
    pub change: Decimal,
    /// Percent change from the previous period, one decimal; absent when the previous amount was zero.
    pub change_pct: Option<Decimal>,
    pub lines: i64,
    /// A cost centre's row in the currency it budgets in, when that is not the reporting currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalAmount>,
}

/// A statement row's amount in a cost centre's own currency: translated at the rate of the month's last day (or
/// the latest rate imported before it, within the look-back window), to the cent. Without a rate there is no
/// amount, and `missing` says which rate is missing — never a rate of 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalAmount {
    pub currency: String,
    pub amount: Option<Decimal>,
    /// Units of `currency` per unit of the reporting currency.
    pub rate: Option<Decimal>,
    pub rate_date: Option<String>,
    pub missing: Option<String>,
}

/// How a cost centre's statement rows go into the currency it budgets in: at `rate` (units of `currency` per unit
/// of the reporting currency), or not, `missing` saying which rate is missing. Kept with a closed period.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub(crate) struct Translation {
    currency: String,
    rate: Option<Decimal>,
    rate_date: Option<String>,
    missing: Option<String>,
}

/// A period's current allocation run, as read back for its cube: the rule set, compiled against the run's
/// catalog, and the ledger partitions the run read.
pub(crate) struct PeriodRun {
    pub rule_set_id: i64,
    pub rules: Rules,
    pub partitions: Vec<PartitionRow>,
}

/// A monthly showback statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    pub period: String,
    pub previous_period: String,
    pub by: StatementBy,
    pub measure: Measure,
    pub reporting_currency: String,
    /// Largest first; Unallocated last.
    pub rows: Vec<StatementRow>,
    pub total: StatementRow,
    /// Whether the period has been allocated at all.
    pub allocated: bool,
}

impl Statement {
    /// The rates its own-currency amounts were translated at ("1 USD = 0.92 EUR (2026-10-31)"), or the one
    /// missing, each once, in order.
    pub fn own_rates(&self) -> Vec<String> {
        let mut rates: Vec<String> = self
            .rows
            .iter()
            .filter_map(|r| r.local.as_ref())
            .map(|l| match (l.rate, &l.rate_date) {
                (Some(rate), Some(on)) => format!(
                    "1 {} = {} {} ({on})",
                    self.reporting_currency,
                    crate::rates::rate_text(&rate.to_string()),
                    l.currency
                ),
                _ => format!("{}: {}", l.currency, l.missing.as_deref().unwrap_or("no rate")),
            })
            .collect();
        rates.sort();
        rates.dedup();
        rates
    }

    /// The rows' amounts (`previous`: the month before's) as the statement is shown: in cents, adding up to its
    /// total in cents (largest remainder). The showback page and the chargeback journal both use these.
    pub fn shown(&self, previous: bool) -> Vec<Decimal> {
        let pick = |r: &StatementRow| if previous { r.previous } else { r.amount };
        itemize_core::money::cents_adding_up(
            &self.rows.iter().map(pick).collect::<Vec<_>>(),
            pick(&self.total),
        )
    }
}

/// What a new rule set would change in a period, before it is applied.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub period: String,
    pub rule_set: String,
    /// Every target with money before or after: (key, before, after, change), effective cost.
    pub targets: Vec<PreviewRow>,
    /// The ten largest absolute changes.
    pub biggest_movers: Vec<PreviewRow>,
    pub unallocated_before: Decimal,
    pub unallocated_after: Decimal,
    /// The period is closed: applying rules does not change its statements. Its "before" is then the rules it
    /// was closed with on its ledger as it is now (a restatement since included), so the changes are the rules'
    /// alone; `note` says so.
    pub closed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PreviewRow {
    pub target: String,
    pub before: Decimal,
    pub after: Decimal,
    pub change: Decimal,
}

/// The rule set saved and the periods re-allocated with it.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub rule_set: RuleSetView,
    pub runs: Vec<RunView>,
    /// Periods the rule set covers that are closed and were left as they are.
    pub closed_skipped: Vec<String>,
}

/// Why an amount is where it is.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub period: String,
    pub target: String,
    pub rule_set_id: i64,
    /// The target's money by the rule or pool and the method that put it there.
    pub by_rule: Vec<ExplainRule>,
    pub total_effective: Decimal,
    pub total_billed: Decimal,
    /// Source lines behind it (directly allocated ones, and the lines of the pools that fed it), up to `limit`.
    pub lines: Vec<SourceLine>,
    pub lines_total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExplainRule {
    pub rule: String,
    pub method: String,
    pub billed: Decimal,
    pub effective: Decimal,
    pub lines: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceLine {
    pub partition_id: i64,
    pub import_id: i64,
    pub line: i64,
    /// The rule that placed it, or the pool it went into.
    pub rule: String,
    pub provider: String,
    pub account: String,
    pub service_name: String,
    pub resource_id: String,
    pub charge_category: String,
    pub day: String,
    pub billed: Decimal,
    pub effective: Decimal,
    /// What of the line's effective cost the target holds: all of it when the line is the target's own; for a
    /// line that went into a pool, its part pro rata (the target's amount from the pool ÷ the pool's lines), so
    /// the pool's lines are not read as the target's whole cost.
    pub share_effective: Decimal,
}

/// The lake columns allocation reads.
const COLUMNS: &[&str] = &[
    "line",
    "charge_period_start",
    "provider_name",
    "billing_account_id",
    "sub_account_id",
    "publisher_name",
    "service_name",
    "service_category",
    "charge_category",
    "region_id",
    "resource_id",
    "resource_name",
    "tags",
    "other",
    "billed_cost_reporting",
    "effective_cost_reporting",
];

/// What a scan hands over besides the rules' view of the line.
pub(crate) struct Meta<'a> {
    pub partition: &'a PartitionRow,
    pub line: i64,
}

fn not_null(v: &str) -> Option<&str> {
    let v = v.trim();
    (!v.is_empty() && !v.eq_ignore_ascii_case("null")).then_some(v)
}

/// The few extension columns allocation reads from a line's `other` map; the rest is skipped unparsed.
#[derive(Debug, Default, Clone, serde::Deserialize)]
struct Other {
    #[serde(rename = "x_Vendor")]
    vendor: Option<String>,
    #[serde(rename = "x_GlAccount")]
    gl_account: Option<String>,
    #[serde(rename = "x_CostCentre")]
    cost_centre: Option<String>,
    #[serde(rename = "AllocatedMethodId")]
    allocated_method: Option<String>,
    #[serde(rename = "AllocatedTags")]
    allocated_tags: Option<String>,
    #[serde(rename = "AllocatedResourceId")]
    allocated_resource_id: Option<String>,
    #[serde(rename = "AllocatedResourceName")]
    allocated_resource_name: Option<String>,
}

impl Other {
    fn read(text: &str) -> Other {
        // Most bills carry none of these: a substring test spares the parse.
        if text.is_empty() || !(text.contains("x_") || text.contains("Allocated")) {
            return Other::default();
        }
        let mut o: Other = serde_json::from_str(text).unwrap_or_default();
        for f in [
            &mut o.vendor,
            &mut o.gl_account,
            &mut o.cost_centre,
            &mut o.allocated_method,
            &mut o.allocated_tags,
            &mut o.allocated_resource_id,
            &mut o.allocated_resource_name,
        ] {
            if f.as_deref().and_then(not_null).is_none() {
                *f = None;
            } else if let Some(v) = f {
                *v = v.trim().to_string();
            }
        }
        o
    }
}

/// Distinct tag texts whose normalized tags a scan keeps (then it starts afresh): bills repeat a few thousand.
const TAG_CACHE: usize = 16_384;

/// Reads every line of the partitions in turn, as the rules see it. A bill repeats its extension columns line
/// after line and its tag sets across lines: extension columns are parsed only when their text differs from the
/// line before, and each distinct tag text is parsed and normalized once.
pub(crate) fn scan(
    lake_dir: &Path,
    parts: &[PartitionRow],
    tag_keys: &TagKeys,
    mut f: impl FnMut(&LineRef, &LineCost, &Meta),
) -> Result<(), AppError> {
    let mut tag_cache: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let mut last_day: (i64, String) = (i64::MIN, String::new());
    let mut last_other = None::<String>;
    let mut key = String::new();
    let mut other = Other::default();
    for p in parts {
        let path = lake_dir.join(&p.lake_path);
        lake::for_each_batch(&path, COLUMNS, |b| {
            let t = |c: usize, row: usize| b.columns[c].text(row).unwrap_or("");
            for row in 0..b.rows {
                let mut fields = [""; FIELD_COUNT];
                fields[Field::Provider as usize] = t(2, row);
                fields[Field::Account as usize] = t(3, row);
                fields[Field::SubAccount as usize] = t(4, row);
                fields[Field::Publisher as usize] = t(5, row);
                fields[Field::ServiceName as usize] = t(6, row);
                fields[Field::ServiceCategory as usize] = t(7, row);
                fields[Field::ChargeCategory as usize] = t(8, row);
                fields[Field::Region as usize] = t(9, row);
                fields[Field::ResourceId as usize] = t(10, row);
                fields[Field::ResourceName as usize] = t(11, row);
                let other_text = t(13, row);
                let other_changed = last_other.as_deref() != Some(other_text);
                if other_changed {
                    other = Other::read(other_text);
                    last_other = Some(other_text.to_string());
                }
                fields[Field::Vendor as usize] =
                    other.vendor.as_deref().unwrap_or(fields[Field::Publisher as usize]);
                fields[Field::GlAccount as usize] = other.gl_account.as_deref().unwrap_or("");
                fields[Field::CostCentreColumn as usize] = other.cost_centre.as_deref().unwrap_or("");
                // A provider's own split (FOCUS 1.3 Allocated*) is honoured: its tags and resource stand for
                // the line's.
                let provider_split = other.allocated_method.as_deref();
                if provider_split.is_some() {
                    if let Some(r) = other.allocated_resource_id.as_deref() {
                        fields[Field::ResourceId as usize] = r;
                    }
                    if let Some(r) = other.allocated_resource_name.as_deref() {
                        fields[Field::ResourceName as usize] = r;
                    }
                }
                // A provider's split tags stand for the line's own; the cache key says which text it is.
                let (key_kind, text) = match other.allocated_tags.as_deref() {
                    Some(a) => ('A', a),
                    None => ('T', t(12, row)),
                };
                key.clear();
                key.push(key_kind);
                key.push_str(text);
                if !tag_cache.contains_key(&key) {
                    if tag_cache.len() >= TAG_CACHE {
                        tag_cache.clear();
                    }
                    let src: itemize_ingest::StrMap = match key_kind {
                        'A' => itemize_ingest::focus::parse_tags(text).unwrap_or_default(),
                        _ if text.is_empty() => itemize_ingest::StrMap::new(),
                        _ => serde_json::from_str(text).unwrap_or_default(),
                    };
                    let mut tags = Vec::new();
                    tag_keys.normalize_into(src.iter().map(|(k, v)| (k.as_str(), v.as_str())), &mut tags);
                    tag_cache.insert(key.clone(), tags);
                }
                let tags = &tag_cache[&key];
                let micros = b.columns[1].int(row).unwrap_or(0);
                if micros != last_day.0 {
                    last_day = (micros, day_of_micros(micros).unwrap_or_default());
                }
                let cost = LineCost {
                    day: &last_day.1,
                    billed: money(&b.columns[14], row),
                    effective: money(&b.columns[15], row),
                    provider_split,
                };
                let meta = Meta { partition: p, line: b.columns[0].int(row).unwrap_or(0) };
                f(&LineRef { fields, tags }, &cost, &meta);
            }
            Ok(())
        })
        .map_err(|e| AppError::Refused(format!("the cost lake file {} cannot be read: {e}", p.lake_path)))?;
    }
    Ok(())
}

pub(crate) fn cells_of(period: &str, rows: &[CubeRow]) -> (Vec<CubeCell>, Vec<MonthCell>) {
    let cells = rows
        .iter()
        .map(|r| CubeCell {
            billing_period: period.to_string(),
            day: r.day.clone(),
            provider: r.provider.clone(),
            billing_account_id: r.account.clone(),
            service_name: r.service_name.clone(),
            region: r.region.clone(),
            charge_category: r.charge_category.clone(),
            service_category: r.service_category.clone(),
            dims: r.dims.clone(),
            target: r.target.key(),
            cost_centre: r.target.cost_centre.clone(),
            service: r.target.service.clone(),
            rule: r.rule.clone(),
            method: r.method.clone(),
            billed: r.sums.billed.to_string(),
            effective: r.sums.effective.to_string(),
            lines: r.sums.lines as i64,
        })
        .collect();
    type Roll = (Option<String>, Option<String>, Decimal, Decimal, i64);
    let mut months: BTreeMap<String, Roll> = BTreeMap::new();
    for r in rows {
        let e = months.entry(r.target.key()).or_insert((
            r.target.cost_centre.clone(),
            r.target.service.clone(),
            Decimal::ZERO,
            Decimal::ZERO,
            0,
        ));
        e.2 += r.sums.billed;
        e.3 += r.sums.effective;
        e.4 += r.sums.lines as i64;
    }
    let months = months
        .into_iter()
        .map(|(target, (cost_centre, service, billed, effective, lines))| MonthCell {
            billing_period: period.to_string(),
            target,
            cost_centre,
            service,
            billed: billed.to_string(),
            effective: effective.to_string(),
            lines,
        })
        .collect();
    (cells, months)
}

impl App {
    /// Reading allocation results: every role; a user limited to cost centres sees only theirs.
    pub(crate) fn allocation_read(&self, actor: &Actor) -> Result<(), AppError> {
        authorize(actor, Resource::CostLedger, Action::Read).map_err(|e| AppError::Forbidden(e.to_string()))
    }

    /// Changing rules, allocating, closing: administrators and finance, unscoped.
    pub fn allocation_write(&self, actor: &Actor) -> Result<(), AppError> {
        self.cost_allow(actor, Action::Write)
    }

    /// The cost-centre codes a scoped actor may see; `None` for everyone else.
    pub(crate) async fn scope_codes(&self, actor: &Actor) -> Result<Option<BTreeSet<String>>, AppError> {
        let Some(scope) = &actor.scope else { return Ok(None) };
        let mut s = self.store().session().await?;
        let all = s.all::<CostCentre>(true).await?;
        Ok(Some(all.into_iter().filter(|r| scope.contains(&r.id.get())).map(|r| r.fields.code).collect()))
    }

    /// Cost centres, services, headcount and the period's metrics, as the rules see them: the records in force
    /// now, or, `at` a past moment, those created by then and not archived before it. The second is how a run
    /// made before runs kept their catalog saw the reference data, as far as the records tell (a code, name or
    /// owner edited since, a record archived and restored, a person who left, are as they are now).
    async fn catalog(&self, period: &str, at: Option<jiff::Timestamp>) -> Result<Catalog, AppError> {
        let in_force = |m: &itemize_core::refdata::Meta| {
            at.is_none_or(|t| m.created_at <= t && m.archived_at.is_none_or(|a| a >= t))
        };
        let mut s = self.store().session().await?;
        let mut ccs = s.all::<CostCentre>(at.is_some()).await?;
        ccs.retain(|r| in_force(&r.meta));
        let code_of: HashMap<i64, String> = ccs.iter().map(|r| (r.id.get(), r.fields.code.clone())).collect();
        let mut services = s.all::<Service>(at.is_some()).await?;
        services.retain(|r| in_force(&r.meta));
        let mut people = s.all::<Person>(at.is_some()).await?;
        people.retain(|r| in_force(&r.meta));
        let mut headcount: HashMap<String, u64> = HashMap::new();
        for p in &people {
            if p.fields.status == PersonStatus::Active
                && let Some(cc) = p.fields.cost_centre_id.and_then(|id| code_of.get(&id.get()))
            {
                *headcount.entry(cc.clone()).or_default() += 1;
            }
        }
        let mut metrics: HashMap<String, Vec<(String, Decimal)>> = HashMap::new();
        for m in s.metrics(period).await? {
            metrics.entry(m.metric).or_default().push((m.target, dec(&m.value)));
        }
        Ok(Catalog {
            cost_centres: ccs.iter().map(|r| (r.fields.code.clone(), r.fields.name.clone())).collect(),
            services: services
                .iter()
                .filter_map(|r| {
                    let cc = code_of.get(&r.fields.owner_cost_centre_id.get())?;
                    Some((r.fields.code.clone(), r.fields.name.clone(), cc.clone()))
                })
                .collect(),
            headcount,
            metrics,
        })
    }

    fn compile(
        text: &str,
        catalog: &Catalog,
    ) -> Result<(itemize_core::allocation::RuleSetDoc, Rules), AppError> {
        let doc = parse_rule_set(text).map_err(|e| bad("rules", e))?;
        let rules = Rules::compile(&doc, catalog).map_err(|errors| AppError::BadRequest {
            message: format!("the rule set has {} problem(s): {}", errors.len(), errors.join("; ")),
            details: errors.into_iter().map(|e| FieldError::new("rules", e)).collect(),
        })?;
        Ok((doc, rules))
    }

    /// Checks a rule set against the reference data as it is now; every problem is reported.
    pub async fn validate_rules(&self, actor: &Actor, text: &str) -> Result<String, AppError> {
        self.allocation_read(actor)?;
        let catalog = self.catalog("0000-00", None).await?;
        let (doc, rules) = Self::compile(text, &catalog)?;
        Ok(format!(
            "rule set {:?} (effective from {}) is valid: {} ownership, {} tag and {} default rule(s), {} pool(s)",
            rules.name,
            doc.effective_from,
            doc.ownership.len(),
            doc.tag.len(),
            doc.default.len(),
            doc.pool.len()
        ))
    }

    /// Every rule-set version, newest first.
    pub async fn rule_sets(&self, actor: &Actor) -> Result<Vec<RuleSetView>, AppError> {
        self.allocation_read(actor)?;
        let rows = self.store().session().await?.rule_sets().await?;
        Ok(rows.into_iter().map(RuleSetView::from).collect())
    }

    pub async fn rule_set(&self, actor: &Actor, id: i64) -> Result<RuleSetView, AppError> {
        self.allocation_read(actor)?;
        let row = self.store().session().await?.rule_set(id).await?;
        row.map(RuleSetView::from).ok_or(AppError::NotFound { kind: "rule set", id: id.to_string() })
    }

    /// Saves a new version of the rules (it must compile) without allocating anything.
    pub async fn save_rule_set(&self, actor: &Actor, text: &str) -> Result<RuleSetView, AppError> {
        self.allocation_write(actor)?;
        let catalog = self.catalog("0000-00", None).await?;
        let (doc, _) = Self::compile(text, &catalog)?;
        let mut row = RuleSetRow {
            id: 0,
            name: doc.name.clone(),
            effective_from: doc.effective_from.clone(),
            body: text.to_string(),
            body_sha256: sha256_hex(text.as_bytes()),
            created_by: actor.name.clone(),
            created_at: self.clock().now(),
        };
        let mut tx = self.store().transaction().await?;
        row.id = tx.insert_rule_set(&row).await?;
        let after = serde_json::json!({
            "name": row.name, "effective_from": row.effective_from, "body_sha256": row.body_sha256,
        });
        crate::auth::audit(
            &mut tx,
            actor,
            row.created_at,
            "create",
            "rule-sets",
            Some(row.id),
            None,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    /// Saves the rules and re-allocates every period they now govern (those with ledger data or restatements
    /// posted into them, not closed).
    pub async fn apply_rule_set(&self, actor: &Actor, text: &str) -> Result<Applied, AppError> {
        let saved = self.save_rule_set(actor, text).await?;
        let periods = self.allocation_periods().await?;
        let closed: BTreeSet<String> =
            self.store().session().await?.closed_periods().await?.into_iter().map(|(p, _)| p).collect();
        let mut runs = Vec::new();
        let mut closed_skipped = Vec::new();
        let periods: Vec<String> = periods.into_iter().filter(|p| *p >= saved.effective_from).collect();
        for p in periods {
            let in_force = self.store().session().await?.rule_set_for(&p).await?;
            if in_force.map(|r| r.id) != Some(saved.id) {
                continue; // a later version governs it
            }
            if closed.contains(&p) {
                closed_skipped.push(p);
                continue;
            }
            runs.push(self.allocate_period(actor, &p).await?);
        }
        Ok(Applied { rule_set: saved, runs, closed_skipped })
    }

    /// The billing periods with current ledger data, in order.
    pub async fn ledger_periods(&self) -> Result<Vec<String>, AppError> {
        let parts = self.store().session().await?.current_partitions(&PartitionFilter::default()).await?;
        let set: BTreeSet<String> = parts.into_iter().map(|p| p.billing_period).collect();
        Ok(set.into_iter().collect())
    }

    /// The periods there is something to allocate in, in order: those with current ledger data, and those
    /// carrying restatements of closed periods (a month may hold nothing but a restatement posted into it).
    pub(crate) async fn allocation_periods(&self) -> Result<Vec<String>, AppError> {
        let mut set: BTreeSet<String> = self.ledger_periods().await?.into_iter().collect();
        set.extend(self.store().session().await?.adjustment_periods().await?);
        Ok(set.into_iter().collect())
    }

    pub(crate) async fn period_partitions(&self, period: &str) -> Result<Vec<PartitionRow>, AppError> {
        let filter = PartitionFilter {
            period_from: Some(period.to_string()),
            period_to: Some(period.to_string()),
            ..PartitionFilter::default()
        };
        let mut parts = self.store().session().await?.current_partitions(&filter).await?;
        parts.sort_by_key(|p| p.id);
        Ok(parts)
    }

    /// The rule set in force for a period, compiled against the reference data as it is now (and that catalog).
    pub(crate) async fn rules_for(&self, period: &str) -> Result<(RuleSetRow, Rules, Catalog), AppError> {
        let row = self.store().session().await?.rule_set_for(period).await?.ok_or_else(|| {
            AppError::Refused(format!(
                "no allocation rule set is in force for {period}; add one whose effective_from is {period} \
                 or earlier (the rules page, POST /api/v1/allocation/rules?apply=true, or itemize rules apply FILE)"
            ))
        })?;
        let catalog = self.catalog(period, None).await?;
        let (_, rules) = Self::compile(&row.body, &catalog)?;
        Ok((row, rules, catalog))
    }

    pub(crate) async fn run_allocation(
        &self,
        period: &str,
        rules: Rules,
    ) -> Result<(Vec<PartitionRow>, Vec<CubeRow>, u64), AppError> {
        let parts = self.period_partitions(period).await?;
        let dir = self.lake_dir();
        let parts2 = parts.clone();
        let (rows, lines) = tokio::task::spawn_blocking(move || -> Result<(Vec<CubeRow>, u64), AppError> {
            let mut a = Allocator::new(&rules);
            scan(&dir, &parts2, rules.tag_keys(), |l, c, _| {
                a.add(l, c);
            })?;
            let lines = a.lines();
            Ok((a.finish(), lines))
        })
        .await
        .map_err(|e| AppError::Refused(format!("allocation stopped: {e}")))??;
        Ok((parts, rows, lines))
    }

    /// Allocates one billing period with the rule set in force for it and makes the result the period's cube.
    pub async fn allocate_period(&self, actor: &Actor, period: &str) -> Result<RunView, AppError> {
        self.allocate_with(actor, period, &[], 0).await
    }

    /// Allocates a period, first posting `pending` restatements into it in the same transaction: they land
    /// with the allocation that carries them, or (the period closed meanwhile) not at all.
    pub(crate) async fn allocate_with(
        &self,
        actor: &Actor,
        period: &str,
        pending: &[AdjustmentRow],
        // How many adjustments restating the pending ones' source period there were when they were worked out.
        earlier_of_source: usize,
    ) -> Result<RunView, AppError> {
        self.allocation_write(actor)?;
        check_period("period", period)?;
        let closed = self.store().session().await?.closed_periods().await?;
        if closed.iter().any(|(p, _)| p == period) {
            return Err(AppError::Refused(format!(
                "{period} is closed: its allocation and journal are final and it is not re-allocated"
            )));
        }
        let started = self.clock().now();
        let (rule_set, rules, catalog) = self.rules_for(period).await?;
        // Kept with the run, so a restatement or an explanation of the period resolves its rules as it did.
        let catalog = serde_json::to_string(&catalog)
            .map_err(|e| AppError::Internal(format!("the catalog cannot be written: {e}")))?;
        let (parts, mut rows, lines) = self.run_allocation(period, rules).await?;
        let mut tx = self.store().transaction().await?;
        // Closed while it was being allocated: the closed allocation stays. The period's lock, taken by a close
        // too, makes this check final: no close commits between it and this commit.
        tx.lock_period(period).await?;
        if tx.closed_periods().await?.iter().any(|(p, _)| p == period) {
            return Err(AppError::Refused(format!(
                "{period} was closed while it was being allocated: its allocation and journal are final"
            )));
        }
        if let Some(first) = pending.first() {
            // Another restatement of the same month posted meanwhile (two imports finishing together): this one
            // was worked out against what was posted before it, and would post the difference again.
            let now_posted = tx.adjustments(Some(&first.source_period), None).await?.len();
            if now_posted != earlier_of_source {
                return Err(AppError::Refused(format!(
                    "another restatement of {} was posted while this one was worked out; nothing was posted: run \
                     the restatement again (POST /api/v1/allocation/restate?period={})",
                    first.source_period, first.source_period
                )));
            }
            tx.insert_adjustments(pending).await?;
        }
        // Restatements of closed periods posted into this one are part of its cube: every one posted so far,
        // read under the lock that posting one takes too.
        let posted = tx.adjustments(None, Some(period)).await?;
        rows.extend(crate::restate::adjustment_cube_rows(period, &posted));
        let (cells, months) = cells_of(period, &rows);
        let billed_total: Decimal = months.iter().map(|m| dec(&m.billed)).sum();
        let effective_total: Decimal = months.iter().map(|m| dec(&m.effective)).sum();
        let unallocated: Decimal =
            months.iter().filter(|m| m.target == "unallocated").map(|m| dec(&m.effective)).sum();
        let finished = self.clock().now();
        let mut run = RunRow {
            id: 0,
            billing_period: period.to_string(),
            rule_set_id: rule_set.id,
            status: "current".into(),
            lines: lines as i64,
            cells: cells.len() as i64,
            billed_total: billed_total.to_string(),
            effective_total: effective_total.to_string(),
            unallocated_effective: unallocated.to_string(),
            partitions_json: serde_json::to_string(&parts.iter().map(|p| p.id).collect::<Vec<_>>())
                .unwrap_or_default(),
            created_by: actor.name.clone(),
            created_at: started,
            duration_ms: finished.duration_since(started).as_millis() as i64,
        };
        run.id = tx.replace_allocation(&run, &catalog, &cells, &months).await?;
        // An allocation that posts a restatement of a closed month is that restatement.
        let (action, mut after) = match pending.first() {
            Some(first) => (
                "restate",
                serde_json::json!({"restated": first.source_period, "adjustments": pending.len()}),
            ),
            None => ("allocate", serde_json::json!({})),
        };
        after["period"] = period.into();
        after["rule_set_id"] = run.rule_set_id.into();
        after["billed_total"] = run.billed_total.clone().into();
        after["effective_total"] = run.effective_total.clone().into();
        after["unallocated_effective"] = run.unallocated_effective.clone().into();
        crate::auth::audit(
            &mut tx,
            actor,
            finished,
            action,
            "allocation-runs",
            Some(run.id),
            None,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(run.into())
    }

    /// Allocates every open period from `from` to `to` that has ledger data or restatements posted into it;
    /// closed ones are final and left as they are (a late change to one is posted by restating it).
    pub async fn allocate_range(
        &self,
        actor: &Actor,
        from: &str,
        to: &str,
    ) -> Result<Vec<RunView>, AppError> {
        check_period("from", from)?;
        check_period("to", to)?;
        if to < from {
            return Err(bad("to", format!("is {to}, before `from` ({from})")));
        }
        let mut out = Vec::new();
        let closed: BTreeSet<String> =
            self.store().session().await?.closed_periods().await?.into_iter().map(|(p, _)| p).collect();
        let periods: Vec<String> = self
            .allocation_periods()
            .await?
            .into_iter()
            .filter(|p| p.as_str() >= from && p.as_str() <= to && !closed.contains(p))
            .collect();
        for p in periods {
            out.push(self.allocate_period(actor, &p).await?);
        }
        Ok(out)
    }

    /// Allocation runs, newest first.
    pub async fn allocation_runs(
        &self,
        actor: &Actor,
        period: Option<&str>,
    ) -> Result<Vec<RunView>, AppError> {
        self.allocation_read(actor)?;
        if actor.scope.is_some() {
            return Err(AppError::Forbidden(
                "allocation runs carry the whole organisation's totals; a user limited to cost centres sees their \
                 own in the showback"
                    .into(),
            ));
        }
        if let Some(p) = period {
            check_period("period", p)?;
        }
        let rows = self.store().session().await?.allocation_runs(period).await?;
        Ok(rows.into_iter().map(RunView::from).collect())
    }

    /// What a candidate rule set would do to a period, compared with the period's current cube.
    pub async fn preview_rules(&self, actor: &Actor, text: &str, period: &str) -> Result<Preview, AppError> {
        self.allocation_write(actor)?;
        check_period("period", period)?;
        let catalog = self.catalog(period, None).await?;
        let (doc, rules) = Self::compile(text, &catalog)?;
        let (_, mut rows, _) = self.run_allocation(period, rules).await?;
        // Restatements posted into the period stay in it whatever the rules: in the cube before, and after.
        let posted = self.store().session().await?.adjustments(None, Some(period)).await?;
        rows.extend(crate::restate::adjustment_cube_rows(period, &posted));
        let mut by: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
        // A closed period's cube is frozen, made of the ledger it was closed on; a restatement since changed its
        // ledger, not its cube. Compared with the cube, the restatement would show as the rules' doing: compare
        // with the rules it was closed with, run on the same ledger as the new ones.
        let closed = self.store().session().await?.closed_periods().await?.iter().any(|(p, _)| p == period);
        let rerun = match (closed, self.period_rules(period).await?) {
            (true, Some(run)) => {
                let (_, mut was, _) = self.run_allocation(period, run.rules).await?;
                was.extend(crate::restate::adjustment_cube_rows(period, &posted));
                Some(was)
            }
            _ => None,
        };
        match rerun {
            Some(was) => {
                for r in &was {
                    by.entry(r.target.key()).or_default().0 += r.sums.effective;
                }
            }
            None => {
                for m in self.store().session().await?.cube_months(period, period).await? {
                    by.entry(m.target).or_default().0 += dec(&m.effective);
                }
            }
        }
        for r in &rows {
            by.entry(r.target.key()).or_default().1 += r.sums.effective;
        }
        let targets: Vec<PreviewRow> = by
            .into_iter()
            .map(|(target, (before, after))| PreviewRow { target, before, after, change: after - before })
            .collect();
        let mut movers: Vec<PreviewRow> = targets.iter().filter(|r| !r.change.is_zero()).cloned().collect();
        movers.sort_by(|a, b| b.change.abs().cmp(&a.change.abs()).then_with(|| a.target.cmp(&b.target)));
        movers.truncate(10);
        let un = |f: fn(&PreviewRow) -> Decimal| {
            targets.iter().find(|r| r.target == "unallocated").map(f).unwrap_or_default()
        };
        Ok(Preview {
            period: period.to_string(),
            rule_set: doc.name,
            unallocated_before: un(|r| r.before),
            unallocated_after: un(|r| r.after),
            targets,
            biggest_movers: movers,
            closed,
            note: closed.then(|| {
                format!(
                    "{period} is closed: applying rules does not change its statements (a restatement of it is \
                     posted into an open month). Before is the rules it was closed with, run on its ledger as it \
                     is now, so every change here is the rules' alone."
                )
            }),
        })
    }

    /// Imports driver metrics from CSV (`period,metric,target,value`); every row is checked before any is kept.
    pub async fn import_metrics(&self, actor: &Actor, csv_text: &str) -> Result<usize, AppError> {
        self.allocation_write(actor)?;
        let mut r = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(csv_text.as_bytes());
        let header: Vec<String> = r
            .headers()
            .map_err(|e| bad("file", e.to_string()))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_lowercase())
            .collect();
        let want = ["period", "metric", "target", "value"];
        if header != want {
            return Err(bad(
                "file",
                format!("the header must be {} (found {})", want.join(","), header.join(",")),
            ));
        }
        let mut rows = Vec::new();
        let mut problems = Vec::new();
        for (i, rec) in r.records().enumerate() {
            let line = i + 2;
            let rec = match rec {
                Ok(rec) => rec,
                Err(e) => {
                    problems.push(FieldError::new(format!("row {line}"), e.to_string()));
                    continue;
                }
            };
            let get = |n: usize| rec.get(n).unwrap_or("").to_string();
            let (period, metric, target, value) = (get(0), get(1), get(2), get(3));
            if !is_billing_period(&period) {
                problems.push(FieldError::new(
                    format!("row {line}, period"),
                    format!("{period:?} is not YYYY-MM"),
                ));
            }
            if metric.is_empty() || target.is_empty() {
                problems.push(FieldError::new(format!("row {line}"), "metric and target are required"));
            }
            match Decimal::from_str(&value) {
                Ok(v) if v >= Decimal::ZERO => {}
                _ => problems.push(FieldError::new(
                    format!("row {line}, value"),
                    format!("{value:?} is not a number of zero or more"),
                )),
            }
            rows.push(MetricRow { billing_period: period, metric, target, value });
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        let mut tx = self.store().transaction().await?;
        tx.upsert_metrics(&rows).await?;
        tx.commit().await?;
        Ok(rows.len())
    }

    /// How each cost centre that budgets in another currency than the reporting one has its statement row
    /// translated for `period`, by code: at the rate of the month's last day (or the latest before it, within the
    /// look-back window), or not at all, naming the missing rate.
    async fn translations(
        &self,
        period: &str,
        ccs: &[itemize_core::refdata::Record<CostCentre>],
    ) -> Result<BTreeMap<String, Translation>, AppError> {
        let reporting = self.config().reporting_currency;
        let foreign: Vec<_> = ccs.iter().filter(|r| r.fields.currency != reporting).collect();
        if foreign.is_empty() {
            return Ok(BTreeMap::new());
        }
        let table = self.rate_table().await?;
        let last_day = format!("{period}-01")
            .parse::<jiff::civil::Date>()
            .map_err(|_| bad("period", format!("`{period}` is not a month")))?
            .last_of_month();
        Ok(foreign
            .into_iter()
            .map(|r| {
                let currency = r.fields.currency;
                let t = match table.rate(reporting, currency, last_day) {
                    Ok((rate, on)) => Translation {
                        currency: currency.code().to_string(),
                        rate: Some(rate.normalize()),
                        rate_date: Some(on.to_string()),
                        missing: None,
                    },
                    Err(e) => Translation {
                        currency: currency.code().to_string(),
                        rate: None,
                        rate_date: None,
                        missing: Some(e),
                    },
                };
                (r.fields.code.clone(), t)
            })
            .collect())
    }

    /// Gives each cost-centre row whose cost centre budgets in another currency than the reporting one its amount
    /// in that currency (see [`LocalAmount`]): as the period was closed with, when it was; otherwise at the rates
    /// and currencies known now.
    async fn translate_to_own_currencies(
        &self,
        period: &str,
        rows: &mut [StatementRow],
        ccs: &[itemize_core::refdata::Record<CostCentre>],
    ) -> Result<(), AppError> {
        let kept = self.store().session().await?.closed_translations(period).await?;
        let how = match kept {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| AppError::Internal(format!("the translations {period} was closed with: {e}")))?,
            None => self.translations(period, ccs).await?,
        };
        for r in rows.iter_mut().filter(|r| r.key.starts_with("cc:")) {
            let Some(t) = r.code.as_deref().and_then(|c| how.get(c)) else { continue };
            r.local = Some(LocalAmount {
                currency: t.currency.clone(),
                amount: t.rate.map(|rate| itemize_core::money::cents(r.amount * rate)),
                rate: t.rate,
                rate_date: t.rate_date.clone(),
                missing: t.missing.clone(),
            });
        }
        Ok(())
    }

    /// The monthly statement per cost centre or per service, with the change from the previous month; by cost
    /// centre, each cost centre that budgets in another currency also has its row in that one.
    pub async fn showback(
        &self,
        actor: &Actor,
        period: &str,
        by: StatementBy,
        measure: Measure,
    ) -> Result<Statement, AppError> {
        let (mut st, ccs) = self.statement(actor, period, by, measure).await?;
        if by == StatementBy::CostCentre {
            self.translate_to_own_currencies(period, &mut st.rows, &ccs).await?;
        }
        Ok(st)
    }

    /// The statement in the reporting currency alone, as the cube gives it (what the chargeback journal is made
    /// of), and the cost centres it named them from.
    async fn statement(
        &self,
        actor: &Actor,
        period: &str,
        by: StatementBy,
        measure: Measure,
    ) -> Result<(Statement, Vec<itemize_core::refdata::Record<CostCentre>>), AppError> {
        self.allocation_read(actor)?;
        check_period("period", period)?;
        let scope = self.scope_codes(actor).await?;
        let prev = previous_period(period);
        let mut s = self.store().session().await?;
        let months = s.cube_months(&prev, period).await?;
        let allocated = months.iter().any(|m| m.billing_period == period);
        let ccs = s.all::<CostCentre>(true).await?;
        let services = s.all::<Service>(true).await?;
        drop(s);
        let cc_name: HashMap<&str, &str> =
            ccs.iter().map(|r| (r.fields.code.as_str(), r.fields.name.as_str())).collect();
        let svc_name: HashMap<&str, &str> =
            services.iter().map(|r| (r.fields.code.as_str(), r.fields.name.as_str())).collect();
        // key → (code, name, cost centre, amount, previous, lines)
        let mut rows: BTreeMap<String, StatementRow> = BTreeMap::new();
        for m in &months {
            if let Some(scope) = &scope
                && !m.cost_centre.as_ref().is_some_and(|c| scope.contains(c))
            {
                continue;
            }
            let (key, code, name, cc) = match (by, &m.service, &m.cost_centre) {
                (_, None, None) => ("unallocated".to_string(), None, "Unallocated".to_string(), None),
                (StatementBy::CostCentre, _, Some(cc)) => (
                    format!("cc:{cc}"),
                    Some(cc.clone()),
                    cc_name.get(cc.as_str()).map_or_else(|| cc.clone(), |n| n.to_string()),
                    None,
                ),
                (StatementBy::Service, Some(svc), cc) => (
                    format!("svc:{svc}"),
                    Some(svc.clone()),
                    svc_name.get(svc.as_str()).map_or_else(|| svc.clone(), |n| n.to_string()),
                    cc.clone(),
                ),
                (StatementBy::Service, None, Some(cc)) => (
                    format!("cc:{cc}"),
                    Some(cc.clone()),
                    format!("{} (no service)", cc_name.get(cc.as_str()).copied().unwrap_or(cc)),
                    Some(cc.clone()),
                ),
                (StatementBy::CostCentre, Some(_), None) => continue,
            };
            let amount = dec(if measure == Measure::Billed { &m.billed } else { &m.effective });
            let e = rows.entry(key.clone()).or_insert_with(|| StatementRow {
                key,
                code,
                name,
                cost_centre: cc,
                amount: Decimal::ZERO,
                previous: Decimal::ZERO,
                change: Decimal::ZERO,
                change_pct: None,
                lines: 0,
                local: None,
            });
            if m.billing_period == period {
                e.amount += amount;
                e.lines += m.lines;
            } else {
                e.previous += amount;
            }
        }
        let finish = |r: &mut StatementRow| {
            r.change = r.amount - r.previous;
            r.change_pct = (!r.previous.is_zero())
                .then(|| (r.change * Decimal::ONE_HUNDRED / r.previous.abs()).round_dp(1));
        };
        let mut list: Vec<StatementRow> = rows.into_values().collect();
        list.sort_by(|a, b| {
            (a.key == "unallocated")
                .cmp(&(b.key == "unallocated"))
                .then(b.amount.cmp(&a.amount))
                .then(a.key.cmp(&b.key))
        });
        // Summed in the order shown: a reader adding the rows top to bottom gets the total to the last digit
        // (decimal sums of many-digit shares round differently in another order).
        let mut total = StatementRow {
            key: "total".into(),
            code: None,
            name: "Total".into(),
            cost_centre: None,
            amount: list.iter().map(|r| r.amount).sum(),
            previous: list.iter().map(|r| r.previous).sum(),
            change: Decimal::ZERO,
            change_pct: None,
            lines: list.iter().map(|r| r.lines).sum(),
            local: None,
        };
        finish(&mut total);
        list.iter_mut().for_each(finish);
        let st = Statement {
            period: period.to_string(),
            previous_period: prev,
            by,
            measure,
            reporting_currency: self.config().reporting_currency.code().to_string(),
            rows: list,
            total,
            allocated,
        };
        Ok((st, ccs))
    }

    /// The rule set of a period's current allocation run, compiled as the run compiled it; `None` while the
    /// period is not allocated.
    pub(crate) async fn period_rules(&self, period: &str) -> Result<Option<PeriodRun>, AppError> {
        let mut s = self.store().session().await?;
        let Some(run) = s.allocation_runs(Some(period)).await?.into_iter().find(|r| r.status == "current")
        else {
            return Ok(None);
        };
        // The ledger partitions the run read: its cube was made of them. A newer version of the period imported
        // since is not in that cube until the period is allocated again (an open one, by the import's
        // follow-up), or ever once it is closed (the difference is posted into an open period as a
        // restatement), so lines read back for the cube come from the run's partitions, superseded or not.
        let ids: Vec<i64> = serde_json::from_str(&run.partitions_json).unwrap_or_default();
        let filter = PartitionFilter {
            period_from: Some(period.to_string()),
            period_to: Some(period.to_string()),
            ..PartitionFilter::default()
        };
        let mut parts: Vec<PartitionRow> =
            s.partition_history(&filter).await?.into_iter().filter(|p| ids.contains(&p.id)).collect();
        drop(s);
        if parts.len() != ids.len() {
            // A run that did not record its partitions, or whose records are gone: the ledger as it is.
            parts = self.period_partitions(period).await?;
        }
        parts.sort_by_key(|p| p.id);
        Ok(Some(PeriodRun {
            rule_set_id: run.rule_set_id,
            rules: self.run_rules(&run).await?,
            partitions: parts,
        }))
    }

    /// A run's rule set compiled against the catalog the run kept: its targets resolve as they did when the run
    /// was made, though cost centres or services were archived, renamed or moved since. A run made before runs
    /// kept their catalog is given the reference data as it stood at the run's time, as far as it can be told.
    pub(crate) async fn run_rules(&self, run: &RunRow) -> Result<Rules, AppError> {
        let mut s = self.store().session().await?;
        let rule_row = s.rule_set(run.rule_set_id).await?.ok_or_else(|| {
            AppError::Refused(format!("the rule set {} of run {} is missing", run.rule_set_id, run.id))
        })?;
        let kept = s.run_catalog(run.id).await?;
        drop(s);
        let catalog = match kept {
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                AppError::Internal(format!("the catalog kept with run {} cannot be read: {e}", run.id))
            })?,
            None => self.catalog(&run.billing_period, Some(run.created_at)).await?,
        };
        let (_, rules) = Self::compile(&rule_row.body, &catalog)?;
        Ok(rules)
    }

    /// Why a target holds what it holds in a period: its money by rule and method, and the source lines behind
    /// it (re-derived with the run's rule set, so the explanation is the allocation itself).
    pub async fn explain(
        &self,
        actor: &Actor,
        period: &str,
        target: &str,
        limit: usize,
    ) -> Result<Explanation, AppError> {
        self.explain_part(actor, period, target, limit, false).await
    }

    /// [`App::explain`]; with `own_only`, a cost centre's own part alone (what was allocated to it, not to the
    /// services it owns): the "(no service)" row of a statement by service.
    pub async fn explain_part(
        &self,
        actor: &Actor,
        period: &str,
        target: &str,
        limit: usize,
        own_only: bool,
    ) -> Result<Explanation, AppError> {
        self.allocation_read(actor)?;
        check_period("period", period)?;
        let well_formed = target == "unallocated"
            || ["cc:", "svc:"].iter().any(|p| target.strip_prefix(p).is_some_and(|c| !c.trim().is_empty()));
        if !well_formed {
            return Err(AppError::bad_param(
                "target",
                format!("`{target}` is not a target: give cc:CODE, svc:CODE or unallocated"),
            ));
        }
        let scope = self.scope_codes(actor).await?;
        let mut s = self.store().session().await?;
        // A cost centre holds what is allocated to it directly and to the services it owns, as its statement
        // row counts it: its explanation covers both.
        let cost_centre = target.strip_prefix("cc:").filter(|_| !own_only).map(str::to_string);
        let cells = match &cost_centre {
            Some(code) => s
                .cube_cells(period, period, None)
                .await?
                .into_iter()
                .filter(|c| c.cost_centre.as_deref() == Some(code.as_str()))
                .collect(),
            None => s.cube_cells(period, period, Some(target)).await?,
        };
        // A scoped user is told only about targets the cube shows in their cost centres: a target without cells
        // in the period would otherwise explain lines re-derived from the ledger as it is now, whoever they
        // belong to.
        if let Some(scope) = &scope
            && (cells.is_empty()
                || cells.iter().any(|c| !c.cost_centre.as_ref().is_some_and(|cc| scope.contains(cc))))
        {
            return Err(AppError::NotFound { kind: "allocation target", id: target.to_string() });
        }
        // A month never allocated (nothing imported for it, or its rules never applied) says so, rather than
        // that the target does not exist.
        if cells.is_empty() && !s.allocation_runs(Some(period)).await?.iter().any(|r| r.status == "current") {
            return Err(AppError::Refused(format!(
                "{period} has not been allocated: no cost was imported for it, or its rules were never applied"
            )));
        }
        // Nothing allocated to it in the period (a code misspelt, a target of another month): not an empty
        // explanation.
        if cells.is_empty() {
            return Err(AppError::NotFound {
                kind: "allocation target",
                id: format!("{target} in {period}"),
            });
        }
        drop(s);
        let mut by_rule: BTreeMap<(String, String), ExplainRule> = BTreeMap::new();
        for c in &cells {
            let e = by_rule.entry((c.rule.clone(), c.method.clone())).or_insert_with(|| ExplainRule {
                rule: c.rule.clone(),
                method: c.method.clone(),
                billed: Decimal::ZERO,
                effective: Decimal::ZERO,
                lines: 0,
            });
            e.billed += dec(&c.billed);
            e.effective += dec(&c.effective);
            e.lines += c.lines;
        }
        let pools: BTreeSet<String> =
            cells.iter().filter_map(|c| c.rule.strip_prefix("pool:").map(str::to_string)).collect();
        let PeriodRun { rule_set_id, rules, partitions: parts } = self
            .period_rules(period)
            .await?
            .ok_or_else(|| AppError::NotFound { kind: "allocation of period", id: period.to_string() })?;
        let dir = self.lake_dir();
        let want = target.to_string();
        // A pooled line belongs to no cost centre of its own (its money was split among the pool's targets):
        // a scoped user sees their share of a pool in `by_rule`, not the pool's lines, which are other teams'.
        let list_pools = scope.is_none();
        // The target's amount from each pool, to give each pooled line's share.
        let mut from_pool: BTreeMap<String, Decimal> = BTreeMap::new();
        for r in by_rule.values().filter(|r| r.rule.starts_with("pool:")) {
            *from_pool.entry(r.rule.clone()).or_default() += r.effective;
        }
        let (lines, lines_total) =
            tokio::task::spawn_blocking(move || -> Result<(Vec<SourceLine>, u64), AppError> {
                let mut out: Vec<SourceLine> = Vec::new();
                let mut total = 0u64;
                // Each listed pool's lines, all of them (not only those listed), effective.
                let mut pool_lines: BTreeMap<String, Decimal> = BTreeMap::new();
                let mut memo = itemize_core::allocation::Memo::new(&rules);
                scan(&dir, &parts, rules.tag_keys(), |l, c, m| {
                    let rule = match rules.classify_with(&mut memo, l) {
                        Decision::Target { target, rule }
                            if match &cost_centre {
                                Some(code) => {
                                    rules.target(target).cost_centre.as_deref() == Some(code.as_str())
                                }
                                None => rules.target(target).key() == want,
                            } =>
                        {
                            rules.rule_label(rule).to_string()
                        }
                        Decision::Pool(p) if list_pools && pools.contains(rules.pool_name(p)) => {
                            format!("pool:{}", rules.pool_name(p))
                        }
                        _ => return,
                    };
                    total += 1;
                    if rule.starts_with("pool:") {
                        *pool_lines.entry(rule.clone()).or_default() += c.effective;
                    }
                    if out.len() < limit {
                        let f = |x: Field| l.fields[x as usize].to_string();
                        out.push(SourceLine {
                            partition_id: m.partition.id,
                            import_id: m.partition.import_id,
                            line: m.line,
                            rule,
                            provider: f(Field::Provider),
                            account: f(Field::Account),
                            service_name: f(Field::ServiceName),
                            resource_id: f(Field::ResourceId),
                            charge_category: f(Field::ChargeCategory),
                            day: c.day.to_string(),
                            billed: c.billed,
                            effective: c.effective,
                            share_effective: c.effective,
                        });
                    }
                })?;
                for l in out.iter_mut().filter(|l| l.rule.starts_with("pool:")) {
                    let pool = pool_lines.get(&l.rule).copied().unwrap_or_default();
                    let held = from_pool.get(&l.rule).copied().unwrap_or_default();
                    l.share_effective =
                        if pool.is_zero() { Decimal::ZERO } else { (l.effective * held / pool).round_dp(10) };
                }
                Ok((out, total))
            })
            .await
            .map_err(|e| AppError::Refused(format!("explanation stopped: {e}")))??;
        let by_rule: Vec<ExplainRule> = by_rule.into_values().collect();
        Ok(Explanation {
            period: period.to_string(),
            target: target.to_string(),
            rule_set_id,
            total_effective: by_rule.iter().map(|r| r.effective).sum(),
            total_billed: by_rule.iter().map(|r| r.billed).sum(),
            by_rule,
            lines,
            lines_total,
        })
    }
}

/// A statement as CSV: one row per line of the statement, then the total; amounts exact, and beside them in
/// cents as the page and the workbook show them (`amount_shown`, `previous_shown`: the rows adding up to the
/// total), so a spreadsheet that sums the shown column gets the page's total.
pub fn statement_csv(st: &Statement) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let head = [
        "period",
        "key",
        "code",
        "name",
        "cost_centre",
        "amount",
        "previous",
        "change",
        "change_pct",
        "lines",
        "currency",
        "measure",
        "own_currency",
        "own_amount",
        "own_rate",
        "own_rate_date",
        "amount_shown",
        "previous_shown",
    ];
    let _ = w.write_record(head);
    let measure = if st.measure == Measure::Billed { "billed" } else { "effective" };
    let shown = st.shown(false).into_iter().zip(st.shown(true)).chain(std::iter::once((
        itemize_core::money::cents(st.total.amount),
        itemize_core::money::cents(st.total.previous),
    )));
    for (r, (amount_shown, previous_shown)) in st.rows.iter().chain(std::iter::once(&st.total)).zip(shown) {
        let _ = w.write_record([
            st.period.as_str(),
            &r.key,
            r.code.as_deref().unwrap_or(""),
            &r.name,
            r.cost_centre.as_deref().unwrap_or(""),
            &r.amount.to_string(),
            &r.previous.to_string(),
            &r.change.to_string(),
            &r.change_pct.map(|p| p.to_string()).unwrap_or_default(),
            &r.lines.to_string(),
            &st.reporting_currency,
            measure,
            r.local.as_ref().map_or("", |l| l.currency.as_str()),
            &r.local.as_ref().and_then(|l| l.amount).map(|a| a.to_string()).unwrap_or_default(),
            &r.local.as_ref().and_then(|l| l.rate).map(|a| a.to_string()).unwrap_or_default(),
            r.local.as_ref().and_then(|l| l.rate_date.as_deref()).unwrap_or(""),
            &amount_shown.to_string(),
            &previous_shown.to_string(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A statement as an XLSX workbook. Spreadsheet numbers are binary floating point, so amounts are written in
/// cents as the page shows them: each row rounded so that the rows add up to the total (the CSV and JSON keep
/// every digit).
pub fn statement_xlsx(st: &Statement) -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail =
        |e: rust_xlsxwriter::XlsxError| AppError::Refused(format!("the workbook cannot be written: {e}"));
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.set_name(format!("Showback {}", st.period)).map_err(fail)?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let money_bold = Format::new().set_num_format("#,##0.00").set_bold();
    let by = if st.by == StatementBy::Service { "service" } else { "cost centre" };
    let title = format!(
        "Showback by {by}, {} ({} cost, {}), compared with {}",
        st.period,
        if st.measure == Measure::Billed { "billed" } else { "amortized" },
        st.reporting_currency,
        st.previous_period
    );
    sheet.write_string_with_format(0, 0, title, &bold).map_err(fail)?;
    // A statement by service names each service's cost centre; one by cost centre has only its own code.
    let with_cc = st.by == StatementBy::Service;
    let head = [
        "Code",
        "Name",
        "Cost centre",
        "Amount",
        "Previous",
        "Change",
        "Change %",
        "Lines",
        "Own currency",
        "Own amount",
        "Rate",
        "Rate date",
    ];
    let head: Vec<&str> = head.into_iter().filter(|h| with_cc || *h != "Cost centre").collect();
    for (c, h) in head.iter().enumerate() {
        sheet.write_string_with_format(2, c as u16, *h, &bold).map_err(fail)?;
    }
    // The columns after the name, one to the left when there is no cost centre column.
    let at = |c: u16| if with_cc { c } else { c - 1 };
    let cents = |d: Decimal| d.round_dp(2).to_string().parse::<f64>().unwrap_or(0.0);
    let (amounts, previous) = (st.shown(false), st.shown(true));
    let shown = amounts.into_iter().zip(previous).chain(std::iter::once((
        itemize_core::money::cents(st.total.amount),
        itemize_core::money::cents(st.total.previous),
    )));
    for ((row, r), (amount, previous)) in
        (3u32..).zip(st.rows.iter().chain(std::iter::once(&st.total))).zip(shown)
    {
        let total = r.key == "total";
        let f = if total { &money_bold } else { &money };
        sheet.write_string(row, 0, r.code.as_deref().unwrap_or("")).map_err(fail)?;
        if total {
            sheet.write_string_with_format(row, 1, &r.name, &bold).map_err(fail)?;
        } else {
            sheet.write_string(row, 1, &r.name).map_err(fail)?;
        }
        if with_cc {
            sheet.write_string(row, 2, r.cost_centre.as_deref().unwrap_or("")).map_err(fail)?;
        }
        sheet.write_number_with_format(row, at(3), cents(amount), f).map_err(fail)?;
        sheet.write_number_with_format(row, at(4), cents(previous), f).map_err(fail)?;
        sheet.write_number_with_format(row, at(5), cents(amount - previous), f).map_err(fail)?;
        if let Some(p) = r.change_pct {
            sheet.write_number(row, at(6), p.to_string().parse::<f64>().unwrap_or(0.0)).map_err(fail)?;
        }
        sheet.write_number(row, at(7), r.lines as f64).map_err(fail)?;
        if let Some(l) = &r.local {
            sheet.write_string(row, at(8), &l.currency).map_err(fail)?;
            if let Some(a) = l.amount {
                sheet.write_number_with_format(row, at(9), cents(a), f).map_err(fail)?;
            }
            if let (Some(rate), Some(on)) = (l.rate, &l.rate_date) {
                sheet.write_string(row, at(10), rate.to_string()).map_err(fail)?;
                sheet.write_string(row, at(11), on).map_err(fail)?;
            }
        }
    }
    sheet.set_column_width(1, 36).map_err(fail)?;
    if with_cc {
        sheet.set_column_width(2, 12).map_err(fail)?;
    }
    for c in 3..=5 {
        sheet.set_column_width(at(c), 16).map_err(fail)?;
    }
    wb.save_to_buffer().map_err(fail)
}

/// One line of a chargeback journal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalLine {
    pub line: usize,
    pub gl_account: String,
    pub cost_centre: String,
    pub debit: Decimal,
    pub credit: Decimal,
    pub description: String,
}

/// A closed period's chargeback as balanced double-entry lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Journal {
    pub period: String,
    pub journal_id: String,
    /// The period's last day.
    pub posting_date: String,
    pub currency: String,
    pub lines: Vec<JournalLine>,
    pub total_debit: Decimal,
    pub total_credit: Decimal,
    /// Amortized cost no one has been charged for (Unallocated), left with the IT provider. Like every amount of
    /// the journal, in cents as the period's statement shows it (its rows adding up to its total), so the
    /// debits, this and `kept_by_provider` make the statement's total to the cent.
    pub not_charged: Decimal,
    /// The IT provider's cost centre's own use: allocated to it, so not charged to anyone either (the journal
    /// does not charge a cost centre to itself). With the debits and `not_charged`, the period's whole cost.
    pub provider_cost_centre: String,
    pub kept_by_provider: Decimal,
}

/// A journal as CSV for an ERP import.
pub fn journal_csv(j: &Journal) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "journal_id",
        "posting_date",
        "line",
        "gl_account",
        "cost_centre",
        "debit",
        "credit",
        "currency",
        "description",
    ]);
    for l in &j.lines {
        let _ = w.write_record([
            j.journal_id.as_str(),
            &j.posting_date,
            &l.line.to_string(),
            &l.gl_account,
            &l.cost_centre,
            &format!("{:.2}", l.debit),
            &format!("{:.2}", l.credit),
            &j.currency,
            &l.description,
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn last_day(period: &str) -> String {
    let y: i16 = period[..4].parse().unwrap_or(1970);
    let m: i8 = period[5..].parse().unwrap_or(1);
    jiff::civil::Date::new(y, m, 1).map(|d| d.last_of_month().to_string()).unwrap_or_default()
}

impl App {
    /// Closes an allocated period: it is never re-allocated again and its journal is final.
    pub async fn close_period(&self, actor: &Actor, period: &str) -> Result<RunView, AppError> {
        self.allocation_write(actor)?;
        check_period("period", period)?;
        // The statement's translations into cost centres' own currencies, kept as they are today: a rate imported
        // or a currency changed later does not change the closed statement.
        let ccs = self.store().session().await?.all::<CostCentre>(true).await?;
        let translations = serde_json::to_string(&self.translations(period, &ccs).await?)
            .map_err(|e| AppError::Internal(format!("the translations cannot be kept: {e}")))?;
        let mut tx = self.store().transaction().await?;
        // After an allocation of the period under way has committed: the run closed on is its current one.
        tx.lock_period(period).await?;
        if tx.closed_periods().await?.iter().any(|(p, _)| p == period) {
            return Err(AppError::Refused(format!("{period} is already closed")));
        }
        let run = tx
            .allocation_runs(Some(period))
            .await?
            .into_iter()
            .find(|r| r.status == "current")
            .ok_or_else(|| {
                AppError::Refused(format!("{period} has not been allocated; allocate it before closing it"))
            })?;
        let now = self.clock().now();
        tx.close_period(period, run.id, &actor.name, now, &translations).await?;
        let after = serde_json::json!({
            "period": period, "run_id": run.id, "effective_total": run.effective_total,
            "translations": serde_json::from_str::<serde_json::Value>(&translations).unwrap_or_default(),
        });
        crate::auth::audit(&mut tx, actor, now, "close", "periods", Some(run.id), None, Some(&after)).await?;
        tx.commit().await?;
        Ok(run.into())
    }

    /// Closed periods with the run each was closed on.
    pub async fn closed_periods(&self, actor: &Actor) -> Result<Vec<(String, i64)>, AppError> {
        self.allocation_read(actor)?;
        Ok(self.store().session().await?.closed_periods().await?)
    }

    /// The chargeback journal of a closed period: per consuming cost centre and GL account (mapped from the
    /// service category) a debit, and per GL account a credit to the IT provider's cost centre, in the
    /// reporting currency rounded to the cent; debits and credits balance exactly.
    pub async fn journal(&self, actor: &Actor, period: &str) -> Result<Journal, AppError> {
        self.allocation_write(actor)?;
        check_period("period", period)?;
        let mut s = self.store().session().await?;
        let closed = s.closed_periods().await?;
        let Some((_, run_id)) = closed.iter().find(|(p, _)| p == period).cloned() else {
            drop(s);
            let which = match closed.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>() {
                c if c.is_empty() => "no period is closed yet".to_string(),
                c => format!("closed: {}", c.join(", ")),
            };
            return Err(AppError::Refused(if self.ledger_periods().await?.iter().any(|p| p == period) {
                format!(
                    "{period} is not closed; a journal is exported for closed periods only (close it: POST \
                     /api/v1/allocation/close?period={period}, or itemize close --period {period}); {which}"
                )
            } else {
                format!("{period} has no costs in the ledger, so no journal; {which}")
            }));
        };
        let run =
            s.allocation_runs(Some(period)).await?.into_iter().find(|r| r.id == run_id).ok_or_else(|| {
                AppError::Refused(format!("the closing run {run_id} of {period} is missing"))
            })?;
        let rule_row = s
            .rule_set(run.rule_set_id)
            .await?
            .ok_or_else(|| AppError::Refused(format!("the rule set {} is missing", run.rule_set_id)))?;
        let cells = s.cube_cells(period, period, None).await?;
        drop(s);
        let doc = parse_rule_set(&rule_row.body).map_err(|e| bad("rules", e))?;
        let j = doc.journal.ok_or_else(|| {
            AppError::Refused(format!(
                "the rule set {:?} (version {}) has no [journal] section naming the provider's cost centre and the \
                 GL accounts",
                doc.name, rule_row.id
            ))
        })?;
        let provider = j.provider_cost_centre.clone();
        // The period's statement by cost centre as it is shown, in cents adding up to its total in cents: what
        // each cost centre is charged, what no one is and the provider's own use, so the journal and the
        // statement agree to the cent, row by row and in total. (Read whole: the journal is the organisation's.)
        let (st, _) = self
            .statement(&Actor::system("journal"), period, StatementBy::CostCentre, Measure::Effective)
            .await?;
        let shown: HashMap<String, Decimal> =
            st.rows.iter().zip(st.shown(false)).map(|(r, c)| (r.key.to_ascii_lowercase(), c)).collect();
        let shown_as = |key: &str, exact: Decimal| {
            shown.get(&key.to_ascii_lowercase()).copied().unwrap_or_else(|| itemize_core::money::cents(exact))
        };
        // Per cost centre, GL account and what the amount is (the period's own use, or a restatement of an
        // earlier closed period posted into it).
        let mut debits: BTreeMap<(String, String, String), Decimal> = BTreeMap::new();
        let mut not_charged = Decimal::ZERO;
        let mut kept_by_provider = Decimal::ZERO;
        for c in &cells {
            let amount = dec(&c.effective);
            let Some(cc) = &c.cost_centre else {
                not_charged += amount;
                continue;
            };
            if cc.eq_ignore_ascii_case(&provider) {
                kept_by_provider += amount; // the provider's own consumption is not charged to itself
                continue;
            }
            let gl = j.gl_accounts.get(&c.service_category).or_else(|| j.gl_accounts.get("default"));
            let gl = gl.cloned().unwrap_or_default();
            let what = c.rule.strip_prefix(crate::restate::RESTATEMENT_RULE).map_or_else(
                || format!("IT chargeback {period}"),
                |src| format!("IT chargeback {period}: restatement of {src}"),
            );
            *debits.entry((cc.clone(), gl, what)).or_default() += amount;
        }
        // Each cost centre's lines, in cents, add up to its statement row as shown: the cents rounding each line
        // alone would gain or lose go to the lines it moved most (largest remainder).
        // (`debits` is in cost-centre order, so each cost centre's lines are one run.)
        let debits: Vec<((String, String, String), Decimal)> = debits.into_iter().collect();
        let mut rounded = Vec::with_capacity(debits.len());
        for lines_of_one in debits.chunk_by(|a, b| a.0.0 == b.0.0) {
            let exact: Vec<Decimal> = lines_of_one.iter().map(|(_, a)| *a).collect();
            let row = shown_as(&format!("cc:{}", lines_of_one[0].0.0), exact.iter().sum());
            let cents = itemize_core::money::cents_adding_up(&exact, row);
            rounded.extend(lines_of_one.iter().map(|(k, _)| k.clone()).zip(cents));
        }
        let mut lines = Vec::new();
        let mut credits: BTreeMap<String, Decimal> = BTreeMap::new();
        for ((cc, gl, description), amount) in rounded {
            if amount.is_zero() {
                continue;
            }
            // A net credit (refunds exceeding use) is posted the other way round.
            let (debit, credit) =
                if amount > Decimal::ZERO { (amount, Decimal::ZERO) } else { (Decimal::ZERO, -amount) };
            *credits.entry(gl.clone()).or_default() += amount;
            lines.push(JournalLine {
                line: lines.len() + 1,
                gl_account: gl,
                cost_centre: cc,
                debit,
                credit,
                description,
            });
        }
        for (gl, amount) in credits {
            let (debit, credit) =
                if amount > Decimal::ZERO { (Decimal::ZERO, amount) } else { (-amount, Decimal::ZERO) };
            lines.push(JournalLine {
                line: lines.len() + 1,
                gl_account: j.credit_account.clone(),
                cost_centre: provider.clone(),
                debit,
                credit,
                description: format!("IT chargeback {period}: recovery of GL {gl}"),
            });
        }
        let total_debit = lines.iter().map(|l| l.debit).sum();
        let total_credit = lines.iter().map(|l| l.credit).sum();
        Ok(Journal {
            period: period.to_string(),
            journal_id: format!("ITEMIZE-CB-{period}"),
            posting_date: last_day(period),
            currency: self.config().reporting_currency.code().to_string(),
            lines,
            total_debit,
            total_credit,
            not_charged: shown_as("unallocated", not_charged),
            kept_by_provider: shown_as(&format!("cc:{provider}"), kept_by_provider),
            provider_cost_centre: provider,
        })
    }
}

/// Any table as a workbook: a bold title row, the header, then the rows; the columns in `amounts` hold exact
/// decimal text and are written as numbers with two decimals (the rest as text).
pub fn table_xlsx(
    title: &str,
    head: &[&str],
    rows: &[Vec<String>],
    amounts: &[usize],
) -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail =
        |e: rust_xlsxwriter::XlsxError| AppError::Refused(format!("the workbook cannot be written: {e}"));
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    sheet.write_string_with_format(0, 0, title, &bold).map_err(fail)?;
    for (c, h) in head.iter().enumerate() {
        sheet.write_string_with_format(2, c as u16, *h, &bold).map_err(fail)?;
    }
    for (r, row) in (3u32..).zip(rows) {
        for (c, v) in row.iter().enumerate() {
            match Decimal::from_str(v) {
                Ok(d) if amounts.contains(&c) => {
                    let n = d.round_dp(2).to_string().parse::<f64>().unwrap_or(0.0);
                    sheet.write_number_with_format(r, c as u16, n, &money).map_err(fail)?;
                }
                _ => {
                    sheet.write_string(r, c as u16, v).map_err(fail)?;
                }
            }
        }
    }
    wb.save_to_buffer().map_err(fail)
}
