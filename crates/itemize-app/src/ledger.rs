//! Reading the cost ledger: totals by any dimension and period, imports and their history, exchange rates.
//! A query first narrows the current partitions in the database (period, provider, account, and the
//! partition's recorded services and tag keys), then reads only the lake columns it needs from only those files.

use crate::cost::ImportSummary;
use crate::rates::{ParsedRates, parse_rates};
use crate::{Actor, App, AppError};
use itemize_core::allocation::{TagKeys, parse_rule_set};
use itemize_core::auth::Action;
use itemize_core::validate::FieldError;
use itemize_ingest::lake::{self, ColumnData};
use itemize_store::{PartitionFilter, PartitionRow};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

/// What ledger totals can be grouped by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dimension {
    Period,
    Day,
    Provider,
    BillingAccount,
    SubAccount,
    Service,
    ServiceCategory,
    Region,
    ChargeCategory,
    BillingCurrency,
    Publisher,
    Resource,
    Sku,
    InvoiceId,
    /// The value of one tag; lines without it group under no value (untagged spend is never dropped).
    Tag(String),
}

impl Dimension {
    pub fn parse(s: &str) -> Option<Dimension> {
        Some(match s {
            "period" => Dimension::Period,
            "day" => Dimension::Day,
            "provider" => Dimension::Provider,
            "account" | "billing_account" => Dimension::BillingAccount,
            "sub_account" => Dimension::SubAccount,
            "service" => Dimension::Service,
            "service_category" => Dimension::ServiceCategory,
            "region" => Dimension::Region,
            "charge_category" => Dimension::ChargeCategory,
            "currency" | "billing_currency" => Dimension::BillingCurrency,
            "publisher" => Dimension::Publisher,
            "resource" => Dimension::Resource,
            "sku" => Dimension::Sku,
            "invoice" => Dimension::InvoiceId,
            other => Dimension::Tag(other.strip_prefix("tag:")?.to_string()),
        })
    }

    pub fn name(&self) -> String {
        match self {
            Dimension::Period => "period".into(),
            Dimension::Day => "day".into(),
            Dimension::Provider => "provider".into(),
            Dimension::BillingAccount => "account".into(),
            Dimension::SubAccount => "sub_account".into(),
            Dimension::Service => "service".into(),
            Dimension::ServiceCategory => "service_category".into(),
            Dimension::Region => "region".into(),
            Dimension::ChargeCategory => "charge_category".into(),
            Dimension::BillingCurrency => "billing_currency".into(),
            Dimension::Publisher => "publisher".into(),
            Dimension::Resource => "resource".into(),
            Dimension::Sku => "sku".into(),
            Dimension::InvoiceId => "invoice".into(),
            Dimension::Tag(k) => format!("tag:{k}"),
        }
    }

    /// The lake column the dimension reads.
    fn column(&self) -> &'static str {
        match self {
            Dimension::Period => "billing_period_start",
            Dimension::Day => "charge_period_start",
            Dimension::Provider => "provider_name",
            Dimension::BillingAccount => "billing_account_id",
            Dimension::SubAccount => "sub_account_id",
            Dimension::Service => "service_name",
            Dimension::ServiceCategory => "service_category",
            Dimension::Region => "region_id",
            Dimension::ChargeCategory => "charge_category",
            Dimension::BillingCurrency => "billing_currency",
            Dimension::Publisher => "publisher_name",
            Dimension::Resource => "resource_id",
            Dimension::Sku => "sku_id",
            Dimension::InvoiceId => "invoice_id",
            Dimension::Tag(_) => "tags",
        }
    }
}

pub const DIMENSIONS: &str = "period, day, provider, account, sub_account, service, service_category, region, \
     charge_category, billing_currency, publisher, resource, sku, invoice, tag:<key>";

/// A ledger query.
#[derive(Debug, Clone, Default)]
pub struct LedgerQuery {
    /// `YYYY-MM`, inclusive.
    pub period_from: Option<String>,
    pub period_to: Option<String>,
    pub provider: Option<String>,
    pub account: Option<String>,
    pub service: Option<String>,
    /// A provider's ResourceId (a cloud-resource asset's ledger cost).
    pub resource: Option<String>,
    /// A tag key, and optionally the value it must have.
    pub tag: Option<(String, Option<String>)>,
    pub charge_category: Option<String>,
    pub group_by: Vec<Dimension>,
}

/// One group's sums, in the reporting currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalRow {
    /// The group's values, in `group_by` order; null where a line has none (untagged, say).
    pub keys: Vec<Option<String>>,
    pub lines: u64,
    pub billed_cost: Decimal,
    pub effective_cost: Decimal,
    pub list_cost: Decimal,
    pub contracted_cost: Decimal,
    /// Grouped by billing currency, the group's billed and effective cost in that currency, as the invoices
    /// give them (the amounts above are in the reporting currency); absent otherwise (a sum of several
    /// currencies is none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billed_cost_in_billing_currency: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_cost_in_billing_currency: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerTotals {
    pub reporting_currency: String,
    pub group_by: Vec<String>,
    pub rows: Vec<TotalRow>,
    pub total: TotalRow,
    /// How many lake files the query read, of how many are current.
    pub partitions_scanned: usize,
    pub partitions_current: usize,
}

pub(crate) fn bad(field: &str, message: impl Into<String>) -> AppError {
    let message = message.into();
    AppError::BadRequest {
        message: format!("{field}: {message}"),
        details: vec![FieldError::new(field, message)],
    }
}

pub(crate) use itemize_core::allocation::is_billing_period;

/// Refuses a value that is not a billing period, naming the field.
pub(crate) fn check_period(field: &str, p: &str) -> Result<(), AppError> {
    if is_billing_period(p) {
        Ok(())
    } else {
        Err(bad(field, format!("{p:?} is not a billing period (expected YYYY-MM)")))
    }
}

/// The parameters ledger totals take.
const LEDGER_PARAMS: &[&str] = &[
    "from",
    "to",
    "period",
    "provider",
    "account",
    "service",
    "resource",
    "tag",
    "charge_category",
    "group_by",
];

impl LedgerQuery {
    /// Reads a query from URL parameters: from, to, period (both), provider, account, service, tag (`key` or
    /// `key=value`), charge_category, group_by (comma-separated dimensions).
    pub fn from_params(params: &[(String, String)]) -> Result<LedgerQuery, AppError> {
        let mut q = LedgerQuery::default();
        let has = |name: &str| params.iter().any(|(k, _)| k == name);
        if has("period") && (has("from") || has("to")) {
            return Err(bad("period", "is one month; give it, or `from` and `to`, not both"));
        }
        for (k, v) in params {
            // An empty filter would match nothing (no line has an empty provider): said, not answered with zero.
            // (An unknown parameter is named as unknown first.)
            if v.trim().is_empty() && LEDGER_PARAMS.contains(&k.as_str()) {
                return Err(bad(k, "is empty: give a value, or leave the parameter out"));
            }
            match k.as_str() {
                "from" => q.period_from = Some(v.clone()),
                "to" => q.period_to = Some(v.clone()),
                "period" => {
                    q.period_from = Some(v.clone());
                    q.period_to = Some(v.clone());
                }
                "provider" => q.provider = Some(v.clone()),
                "account" => q.account = Some(v.clone()),
                "service" => q.service = Some(v.clone()),
                "resource" => q.resource = Some(v.clone()),
                "charge_category" => q.charge_category = Some(v.clone()),
                "tag" => {
                    q.tag = Some(match v.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (v.clone(), None),
                    })
                }
                "group_by" => {
                    for d in v.split(',').map(str::trim) {
                        if d.is_empty() || d.eq_ignore_ascii_case("tag:") {
                            return Err(bad(
                                "group_by",
                                format!("has an empty dimension in {v:?}; use one of {DIMENSIONS}"),
                            ));
                        }
                        let dim = Dimension::parse(d).ok_or_else(|| {
                            bad("group_by", format!("{d:?} is not a dimension; use one of {DIMENSIONS}"))
                        })?;
                        if q.group_by.contains(&dim) {
                            return Err(bad("group_by", format!("names {d:?} twice")));
                        }
                        q.group_by.push(dim);
                    }
                }
                other => {
                    return Err(bad(other, format!("unknown parameter; use {}", LEDGER_PARAMS.join(", "))));
                }
            }
        }
        // A month given as `period` is named as such when it is not one.
        let by_period = has("period");
        if let Some(p) = &q.period_from {
            check_period(if by_period { "period" } else { "from" }, p)?;
        }
        if let Some(p) = &q.period_to {
            check_period(if by_period { "period" } else { "to" }, p)?;
        }
        if let (Some(from), Some(to)) = (&q.period_from, &q.period_to)
            && to < from
        {
            return Err(bad("to", format!("is {to}, before `from` ({from})")));
        }
        Ok(q)
    }
}

/// The statuses an import can have, as lists filter by them.
pub const IMPORT_STATUSES: &[&str] =
    &["active", "superseded", "duplicate", "rejected", "failed", "queued", "running"];

#[derive(Debug, Default, Clone)]
struct Acc {
    lines: u64,
    billed: Decimal,
    effective: Decimal,
    list: Decimal,
    contracted: Decimal,
    /// In the billing currency, when the query groups by it.
    own: Option<(Decimal, Decimal)>,
}

impl Acc {
    fn row(&self, keys: Vec<Option<String>>) -> TotalRow {
        TotalRow {
            keys,
            lines: self.lines,
            billed_cost: self.billed,
            effective_cost: self.effective,
            list_cost: self.list,
            contracted_cost: self.contracted,
            billed_cost_in_billing_currency: self.own.map(|o| o.0),
            effective_cost_in_billing_currency: self.own.map(|o| o.1),
        }
    }
}

/// A lake money column's value at `row` (zero when empty).
pub(crate) fn dec(c: &ColumnData, row: usize) -> Decimal {
    c.text(row).and_then(|s| Decimal::from_str(s).ok()).unwrap_or_default()
}

fn month_of_micros(us: i64) -> Option<String> {
    jiff::Timestamp::from_microsecond(us).ok().map(crate::cost::period_of)
}

pub(crate) fn day_of_micros(us: i64) -> Option<String> {
    let t = jiff::Timestamp::from_microsecond(us).ok()?;
    Some(t.to_zoned(jiff::tz::TimeZone::UTC).date().to_string())
}

/// Sums the current partitions' lines by the query's dimensions.
fn totals_of(
    lake_dir: &std::path::Path,
    parts: &[PartitionRow],
    keys: &HashMap<String, TagKeys>,
    q: &LedgerQuery,
) -> Result<BTreeMap<Vec<Option<String>>, Acc>, AppError> {
    let no_aliases = TagKeys::default();
    let mut cols: Vec<&str> = vec![
        "billed_cost_reporting",
        "effective_cost_reporting",
        "list_cost_reporting",
        "contracted_cost_reporting",
    ];
    let mut want = |c: &'static str| -> usize {
        match cols.iter().position(|x| *x == c) {
            Some(i) => i,
            None => {
                cols.push(c);
                cols.len() - 1
            }
        }
    };
    let dims: Vec<usize> = q.group_by.iter().map(|d| want(d.column())).collect();
    let svc = q.service.as_ref().map(|_| want("service_name"));
    let res = q.resource.as_ref().map(|_| want("resource_id"));
    let tag = q.tag.as_ref().map(|_| want("tags"));
    let cat = q.charge_category.as_ref().map(|_| want("charge_category"));
    // Grouped by billing currency, each group is in one currency: its amounts in it are summed too.
    let own = q
        .group_by
        .contains(&Dimension::BillingCurrency)
        .then(|| (want("billed_cost"), want("effective_cost")));
    let mut groups: BTreeMap<Vec<Option<String>>, Acc> = BTreeMap::new();
    for p in parts {
        let path = lake_dir.join(&p.lake_path);
        let aliases = keys.get(&p.billing_period).unwrap_or(&no_aliases);
        lake::for_each_batch(&path, &cols, |b| {
            let mut tag_cache: HashMap<usize, BTreeMap<String, String>> = HashMap::new();
            let mut tags_at = |row: usize| -> BTreeMap<String, String> {
                let Some(ti) = cols.iter().position(|c| *c == "tags") else { return BTreeMap::new() };
                tag_cache
                    .entry(row)
                    .or_insert_with(|| {
                        b.columns[ti].text(row).and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
                    })
                    .clone()
            };
            for row in 0..b.rows {
                if let (Some(i), Some(want)) = (svc, &q.service)
                    && b.columns[i].text(row) != Some(want.as_str())
                {
                    continue;
                }
                if let (Some(i), Some(want)) = (res, &q.resource)
                    && b.columns[i].text(row) != Some(want.as_str())
                {
                    continue;
                }
                if let (Some(i), Some(want)) = (cat, &q.charge_category)
                    && !b.columns[i].text(row).is_some_and(|c| c.eq_ignore_ascii_case(want))
                {
                    continue;
                }
                if let (Some(_), Some((k, v))) = (tag, &q.tag) {
                    let tags = tags_at(row);
                    match (tag_of(&tags, k, aliases), v) {
                        (None, _) => continue,
                        (Some(have), Some(want)) if have != want => continue,
                        _ => {}
                    }
                }
                let mut keys = Vec::with_capacity(dims.len());
                for (d, &i) in q.group_by.iter().zip(&dims) {
                    keys.push(match d {
                        Dimension::Period => b.columns[i].int(row).and_then(month_of_micros),
                        Dimension::Day => b.columns[i].int(row).and_then(day_of_micros),
                        Dimension::Tag(k) => tag_of(&tags_at(row), k, aliases).cloned(),
                        _ => b.columns[i].text(row).map(str::to_string),
                    });
                }
                let a = groups.entry(keys).or_default();
                a.lines += 1;
                a.billed += dec(&b.columns[0], row);
                a.effective += dec(&b.columns[1], row);
                a.list += dec(&b.columns[2], row);
                a.contracted += dec(&b.columns[3], row);
                if let Some((bi, ei)) = own {
                    let o = a.own.get_or_insert((Decimal::ZERO, Decimal::ZERO));
                    o.0 += dec(&b.columns[bi], row);
                    o.1 += dec(&b.columns[ei], row);
                }
            }
            Ok(())
        })
        .map_err(|e| AppError::Refused(format!("reading the cost lake ({}): {e}", p.lake_path)))?;
    }
    Ok(groups)
}

/// Rates imported, and the span they cover.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatesImported {
    pub rows: u64,
    pub layout: String,
    pub first_date: String,
    pub last_date: String,
    pub pairs: Vec<String>,
    /// Rates the file gave another value than the one held for that day and pair: "2026-09-30 EUR/USD 1.0814 →
    /// 1.5", each also in the audit log. Amounts already imported keep the rate they were converted at; statements
    /// of closed months keep theirs.
    pub replaced: Vec<String>,
}

impl App {
    /// Tag keys as the rule set in force for `period` spells them (its `[tag_aliases]`); without one, keys match
    /// whatever their case only.
    pub(crate) async fn tag_keys_in_force(&self, period: &str) -> Result<TagKeys, AppError> {
        let Some(r) = self.store().session().await?.rule_set_for(period).await? else {
            return Ok(TagKeys::default());
        };
        let doc = parse_rule_set(&r.body)
            .map_err(|e| AppError::Refused(format!("the rules in force for {period}: {e}")))?;
        Ok(TagKeys::new(&doc.tag_aliases))
    }

    /// The tag keys the rules in force for `period` care about: those they give aliases for (`cost_centre`,
    /// `service`: what they allocate by) and the dimensions they keep; lower-case, in that order, once each.
    pub async fn rule_tag_keys(&self, period: &str) -> Result<Vec<String>, AppError> {
        let Some(r) = self.store().session().await?.rule_set_for(period).await? else {
            return Ok(Vec::new());
        };
        let doc = parse_rule_set(&r.body)
            .map_err(|e| AppError::Refused(format!("the rules in force for {period}: {e}")))?;
        let mut keys: Vec<String> = Vec::new();
        for k in doc.tag_aliases.keys().chain(&doc.dimensions) {
            let k = k.to_lowercase();
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        Ok(keys)
    }

    /// Ledger totals by the query's dimensions, in the reporting currency.
    pub async fn ledger_totals(&self, actor: &Actor, q: &LedgerQuery) -> Result<LedgerTotals, AppError> {
        self.cost_allow(actor, Action::Read)?;
        let filter = PartitionFilter {
            period_from: q.period_from.clone(),
            period_to: q.period_to.clone(),
            provider: q.provider.clone(),
            billing_account_id: q.account.clone(),
        };
        let mut s = self.store().session().await?;
        let current = s.current_partitions(&PartitionFilter::default()).await?.len();
        let mut parts = s.current_partitions(&filter).await?;
        drop(s);
        // The partition's recorded services and tag keys spare reading files that cannot match. A partition with
        // too many to list records none (`null`), and is read.
        let may_hold_service = |listed: &str, v: &str| {
            serde_json::from_str::<Option<BTreeSet<String>>>(listed)
                .map_or(true, |s| s.is_none_or(|s| s.contains(v)))
        };
        // A tag key is read as the period's allocation rules spell it: `tag:cost_centre` also finds `CostCenter`
        // where the rules list it as an alias (the same key the showback and the line explorer use).
        let mut keys: HashMap<String, TagKeys> = HashMap::new();
        if q.tag.is_some() || q.group_by.iter().any(|d| matches!(d, Dimension::Tag(_))) {
            let periods: BTreeSet<&str> = parts.iter().map(|p| p.billing_period.as_str()).collect();
            for period in periods {
                keys.insert(period.to_string(), self.tag_keys_in_force(period).await?);
            }
        }
        let no_aliases = TagKeys::default();
        parts.retain(|p| {
            let aliases = keys.get(&p.billing_period).unwrap_or(&no_aliases);
            q.service.as_ref().is_none_or(|svc| may_hold_service(&p.services_json, svc))
                && q.tag.as_ref().is_none_or(|(k, _)| may_hold_key(&p.tag_keys_json, k, aliases))
        });
        let (dir, q2, parts2) = (self.lake_dir(), q.clone(), parts.clone());
        let groups = tokio::task::spawn_blocking(move || totals_of(&dir, &parts2, &keys, &q2))
            .await
            .map_err(|e| AppError::Refused(format!("ledger query: {e}")))??;
        let mut total = Acc::default();
        for a in groups.values() {
            total.lines += a.lines;
            total.billed += a.billed;
            total.effective += a.effective;
            total.list += a.list;
            total.contracted += a.contracted;
        }
        Ok(LedgerTotals {
            reporting_currency: self.config().reporting_currency.code().to_string(),
            group_by: q.group_by.iter().map(Dimension::name).collect(),
            rows: groups.into_iter().map(|(k, a)| a.row(k)).collect(),
            total: total.row(Vec::new()),
            partitions_scanned: parts.len(),
            partitions_current: current,
        })
    }

    /// Imports, newest first.
    pub async fn cost_imports(
        &self,
        actor: &Actor,
        status: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ImportSummary>, AppError> {
        Ok(self.cost_imports_page(actor, status, before, limit).await?.0)
    }

    /// A page of imports, newest first, and whether older ones follow. `status` is one of
    /// [`IMPORT_STATUSES`].
    pub async fn cost_imports_page(
        &self,
        actor: &Actor,
        status: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<(Vec<ImportSummary>, bool), AppError> {
        self.cost_allow(actor, Action::Read)?;
        if !(1..=1000).contains(&limit) {
            return Err(bad("limit", "must be between 1 and 1000"));
        }
        if let Some(st) = status
            && !IMPORT_STATUSES.contains(&st)
        {
            return Err(bad("status", format!("`{st}` is not a status: {}", IMPORT_STATUSES.join(", "))));
        }
        let rows = self.store().session().await?.cost_imports(status, before, limit + 1).await?;
        let more = rows.len() as i64 > limit;
        Ok((rows.into_iter().take(limit as usize).map(ImportSummary::from_row).collect(), more))
    }

    /// The rows a lenient import left out, as the quarantine CSV it wrote beside its report (row, column, value
    /// and reason beside each row as read). It holds lines of every cost centre: not for a user limited to some.
    pub async fn cost_import_quarantine(&self, actor: &Actor, id: i64) -> Result<Vec<u8>, AppError> {
        let import = self.cost_import(actor, id).await?;
        if actor.scope.is_some() {
            return Err(AppError::Forbidden(
                "the rows an import left out belong to every cost centre: users limited to cost centres cannot \
                 read them"
                    .into(),
            ));
        }
        let gone = || AppError::NotFound { kind: "quarantine file of cost import", id: id.to_string() };
        if import.report.as_ref().and_then(|r| r.quarantine.as_ref()).is_none() {
            return Err(gone());
        }
        let path = self.reports_dir().join(format!("import-{id}")).join("quarantine.csv");
        tokio::fs::read(path).await.map_err(|_| gone())
    }

    pub async fn cost_import(&self, actor: &Actor, id: i64) -> Result<ImportSummary, AppError> {
        self.cost_allow(actor, Action::Read)?;
        let row = self.store().session().await?.cost_import(id).await?;
        let mut summary = row
            .map(ImportSummary::from_row)
            .ok_or(AppError::NotFound { kind: "cost import", id: id.to_string() })?;
        if summary.status == "running" {
            summary.progress = self.import_progress(id);
        }
        Ok(summary)
    }

    /// The partitions an import wrote, current or since superseded.
    pub async fn cost_import_partitions(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<Vec<PartitionRow>, AppError> {
        self.cost_allow(actor, Action::Read)?;
        Ok(self.store().session().await?.import_partitions(id).await?)
    }

    /// Every version of the matching partitions: what each import said about each period, oldest first.
    pub async fn ledger_history(
        &self,
        actor: &Actor,
        f: &PartitionFilter,
    ) -> Result<Vec<PartitionRow>, AppError> {
        self.cost_allow(actor, Action::Read)?;
        Ok(self.store().session().await?.partition_history(f).await?)
    }

    /// Imports a rates file (all rows or none).
    pub async fn import_rates(
        &self,
        actor: &Actor,
        text: &str,
        source: &str,
    ) -> Result<RatesImported, AppError> {
        self.cost_allow(actor, Action::Write)?;
        let ParsedRates { rows, layout } = parse_rates(text).map_err(|errs| {
            AppError::Validation(
                errs.iter()
                    .take(crate::cost::REPORT_ERRORS_IN_FULL)
                    .map(|e| {
                        FieldError::new(
                            format!(
                                "row {}{}",
                                e.row,
                                e.column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default()
                            ),
                            match &e.value {
                                Some(v) => format!("{v:?} {}", e.reason),
                                None => e.reason.clone(),
                            },
                        )
                    })
                    .collect(),
            )
        })?;
        let now = self.clock().now();
        let mut tx = self.store().transaction().await?;
        // The rates this file changes, read in the transaction that changes them.
        let held: HashMap<(String, String, String), String> =
            tx.rates().await?.into_iter().map(|r| ((r.date, r.from, r.to), r.rate)).collect();
        // A day and pair given twice in one file: which one is meant is not for the import to guess.
        let mut seen: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
        let mut twice = Vec::new();
        for r in &rows {
            if !seen.insert((&r.date, &r.from, &r.to)) {
                twice.push(FieldError::new(
                    "rates",
                    format!(
                        "the {} {}/{} rate is given twice; give each day and pair once",
                        r.date, r.from, r.to
                    ),
                ));
            }
        }
        if !twice.is_empty() {
            return Err(AppError::Validation(twice));
        }
        let mut replaced = Vec::new();
        let mut before = Vec::new();
        let tiny = Decimal::new(1, 9);
        for r in &rows {
            let new = r.rate.parse::<Decimal>().ok();
            if let Some(was) = held.get(&(r.date.clone(), r.from.clone(), r.to.clone())) {
                if was.parse::<Decimal>().ok() != new {
                    replaced.push(format!("{} {}/{} {was} → {}", r.date, r.from, r.to, r.rate));
                    before.push(serde_json::json!({"date": r.date, "from": r.from, "to": r.to, "rate": was}));
                }
            } else if let Some(was) = held.get(&(r.date.clone(), r.to.clone(), r.from.clone()))
                && let (Some(w), Some(n)) = (was.parse::<Decimal>().ok(), new)
                && (w * n - Decimal::ONE).abs() > tiny
            {
                // The other direction is held for that day: this one now decides conversions from `from`.
                replaced.push(format!(
                    "{} {}/{} {} (the {}/{} {was} held for that day gave {})",
                    r.date,
                    r.from,
                    r.to,
                    r.rate,
                    r.to,
                    r.from,
                    (Decimal::ONE / w).round_dp(6).normalize()
                ));
                before.push(serde_json::json!({"date": r.date, "from": r.to, "to": r.from, "rate": was}));
            }
        }
        let n = tx.upsert_rates(&rows, source, now).await?;
        crate::auth::audit(
            &mut tx,
            actor,
            now,
            "import",
            "exchange-rates",
            None,
            (!before.is_empty()).then(|| serde_json::json!({"replaced": before})).as_ref(),
            Some(&serde_json::json!({"source": source, "rows": rows.len(), "replaced": replaced})),
        )
        .await?;
        tx.commit().await?;
        let pairs: BTreeSet<String> = rows.iter().map(|r| format!("{}/{}", r.from, r.to)).collect();
        Ok(RatesImported {
            rows: n,
            layout: layout.into(),
            first_date: rows.iter().map(|r| r.date.clone()).min().unwrap_or_default(),
            last_date: rows.iter().map(|r| r.date.clone()).max().unwrap_or_default(),
            pairs: pairs.into_iter().collect(),
            replaced,
        })
    }
}

/// A line's value of tag `key`: providers spell keys in their own case (`Team`, `team`) and teams in their own
/// words (`cost-center`, `CostCentre`), so a key matches every spelling the period's rules give the same
/// canonical key, compared case-insensitively. When a line carries two spellings, the first (in key order) wins,
/// as in allocation ([`TagKeys::normalize_into`]).
fn tag_of<'a>(tags: &'a BTreeMap<String, String>, key: &str, aliases: &TagKeys) -> Option<&'a String> {
    let want = aliases.normalize(key);
    tags.iter().find(|(k, _)| aliases.is(k, &want)).map(|(_, v)| v)
}

/// Whether a partition's recorded tag keys (`null` when too many to list) may hold a spelling of `key`.
fn may_hold_key(listed: &str, key: &str, aliases: &TagKeys) -> bool {
    let want = aliases.normalize(key);
    serde_json::from_str::<Option<BTreeSet<String>>>(listed)
        .map_or(true, |s| s.is_none_or(|s| s.iter().any(|x| aliases.is(x, &want))))
}
