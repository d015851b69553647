//! Reading the allocated cost: the cube queried by any dimension and filter, and tag hygiene (how much of the
//! ledger's cost carries each tag key, per account, the untagged and unallocated shares over time, and the
//! biggest untagged resources).

use crate::allocation::{dec, scan};
use crate::ledger::{bad, check_period};
use crate::lines::NO_VALUE;
use crate::{Actor, App, AppError};
use itemize_core::allocation::Field;
use itemize_core::auth::Action;
use itemize_store::{CUBE_COLUMNS, CubeCell, CubeFilter};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The most rows a cube query answers with; a query grouping finer than that is refused, not cut short.
pub const CUBE_ROW_LIMIT: usize = 50_000;

/// Time in a cube query: per billing period, per day, or none (totals over the range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Month,
    Day,
    None,
}

/// A dimension of the cube: one of its columns, or a free dimension (`dim:<key>`) from the rule set's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CubeDim {
    Column(&'static str),
    Free(String),
}

impl CubeDim {
    /// `account` is accepted for `billing_account_id`, `service_name` also as `cloud_service`.
    pub fn parse(s: &str) -> Option<CubeDim> {
        let s = s.trim();
        if let Some(k) = s.strip_prefix("dim:") {
            return (!k.is_empty()).then(|| CubeDim::Free(k.to_lowercase()));
        }
        let s = match s {
            "account" => "billing_account_id",
            "cost-centre" | "cost_center" | "cost-center" => "cost_centre",
            other => other,
        };
        CUBE_COLUMNS.iter().find(|c| **c == s).map(|c| CubeDim::Column(c))
    }

    pub fn name(&self) -> String {
        match self {
            CubeDim::Column(c) => (*c).to_string(),
            CubeDim::Free(k) => format!("dim:{k}"),
        }
    }

    fn value(&self, c: &CubeCell) -> Option<String> {
        let text = |v: &str| Some(v.to_string());
        match self {
            CubeDim::Column("provider") => text(&c.provider),
            CubeDim::Column("billing_account_id") => text(&c.billing_account_id),
            CubeDim::Column("service_name") => text(&c.service_name),
            CubeDim::Column("region") => text(&c.region),
            CubeDim::Column("charge_category") => text(&c.charge_category),
            CubeDim::Column("service_category") => text(&c.service_category),
            CubeDim::Column("target") => text(&c.target),
            CubeDim::Column("cost_centre") => c.cost_centre.clone(),
            CubeDim::Column("service") => c.service.clone(),
            CubeDim::Column("rule") => text(&c.rule),
            CubeDim::Column("method") => text(&c.method),
            CubeDim::Column(_) => None,
            CubeDim::Free(k) => free_dim(&c.dims, k).map(str::to_string),
        }
    }
}

/// The value of free dimension `key` in a cell's `k=v;k=v` text.
fn free_dim<'a>(dims: &'a str, key: &str) -> Option<&'a str> {
    dims.split(';').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == key).map(|(_, v)| v)
}

const CUBE_DIMS_HELP: &str = "provider, account, service_name, region, charge_category, service_category, target, \
                              cost_centre, service, rule, method or dim:<key>";

/// A question to the cube.
#[derive(Debug, Clone, PartialEq)]
pub struct CubeQuery {
    pub from: String,
    pub to: String,
    pub granularity: Granularity,
    pub group_by: Vec<CubeDim>,
    /// Every filter must hold: the dimension's value is one of the listed values.
    pub filters: Vec<(CubeDim, Vec<String>)>,
    pub day_from: Option<String>,
    pub day_to: Option<String>,
}

impl CubeQuery {
    /// Reads URL parameters: `from`, `to` (or `period`), `granularity` (month, day, none), `group_by` (a comma
    /// list), `day_from`, `day_to`, and any dimension as a filter (`provider=AWS,GCP`, `dim:team=data`).
    pub fn from_params(params: &[(String, String)]) -> Result<CubeQuery, AppError> {
        let mut q = CubeQuery {
            from: String::new(),
            to: String::new(),
            granularity: Granularity::Month,
            group_by: Vec::new(),
            filters: Vec::new(),
            day_from: None,
            day_to: None,
        };
        let day = |field: &str, v: &str| -> Result<String, AppError> {
            jiff::civil::Date::strptime("%Y-%m-%d", v)
                .map(|_| v.to_string())
                .map_err(|_| bad(field, format!("`{v}` is not a day (YYYY-MM-DD)")))
        };
        let has = |name: &str| params.iter().any(|(k, _)| k == name);
        if has("period") && (has("from") || has("to")) {
            return Err(bad("period", "is one month; give it, or `from` and `to`, not both"));
        }
        for (k, v) in params {
            match k.as_str() {
                "from" => q.from = v.clone(),
                "to" => q.to = v.clone(),
                "period" => {
                    q.from = v.clone();
                    q.to = v.clone();
                }
                "granularity" => {
                    q.granularity = match v.as_str() {
                        "month" => Granularity::Month,
                        "day" => Granularity::Day,
                        "none" => Granularity::None,
                        other => {
                            return Err(bad("granularity", format!("`{other}` is not month, day or none")));
                        }
                    }
                }
                "group_by" => {
                    for d in v.split(',').filter(|d| !d.trim().is_empty()) {
                        let dim = CubeDim::parse(d).ok_or_else(|| {
                            bad("group_by", format!("`{d}` is not a dimension; use {CUBE_DIMS_HELP}"))
                        })?;
                        if !q.group_by.contains(&dim) {
                            q.group_by.push(dim);
                        }
                    }
                }
                "day_from" => q.day_from = Some(day("day_from", v)?),
                "day_to" => q.day_to = Some(day("day_to", v)?),
                other => {
                    let dim = CubeDim::parse(other).ok_or_else(|| {
                        bad(
                            other,
                            format!(
                                "unknown parameter; use from, to, period, granularity, group_by, day_from, \
                                 day_to, or a dimension to filter by ({CUBE_DIMS_HELP})"
                            ),
                        )
                    })?;
                    // One spelling per dimension (`account` and `billing_account_id` are one): two would be two
                    // filters silently ANDed.
                    if q.filters.iter().any(|(d, _)| *d == dim) {
                        return Err(bad(
                            other,
                            format!("filters {} a second time; give its values once, a,b", dim.name()),
                        ));
                    }
                    q.filters.push((dim, filter_values(v)));
                }
            }
        }
        if q.from.is_empty() || q.to.is_empty() {
            return Err(bad("from", "give period, or from and to (YYYY-MM)"));
        }
        // A month given as `period` is named as such when it is not one.
        let by_period = params.iter().any(|(k, _)| k == "period");
        check_period(if by_period { "period" } else { "from" }, &q.from)?;
        check_period(if by_period { "period" } else { "to" }, &q.to)?;
        if q.from > q.to {
            return Err(bad("to", format!("{} is before from ({})", q.to, q.from)));
        }
        Ok(q)
    }
}

fn too_many_groups() -> AppError {
    bad(
        "group_by",
        format!(
            "the query makes more than {CUBE_ROW_LIMIT} groups; group by fewer dimensions, a coarser granularity \
             or a shorter range"
        ),
    )
}

/// One group of a cube query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CubeRowView {
    /// The billing period or day, by the query's granularity (none when it has none).
    pub time: Option<String>,
    /// The group's values, in `group_by` order; null where a cell has none (Unallocated has no cost centre).
    pub keys: Vec<Option<String>>,
    pub billed: Decimal,
    pub effective: Decimal,
    pub lines: i64,
}

/// A cube query's answer: groups in time order, biggest effective cost first within a time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CubeResult {
    pub from: String,
    pub to: String,
    pub granularity: Granularity,
    pub group_by: Vec<String>,
    pub currency: String,
    pub rows: Vec<CubeRowView>,
    pub total_billed: Decimal,
    pub total_effective: Decimal,
}

/// One tag key's coverage: the cost of the lines carrying it, and its share of all cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyCoverage {
    pub key: String,
    pub effective: Decimal,
    /// Percent of the range's effective cost, to 2 places.
    pub share: Decimal,
}

/// One account's tagging.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountCoverage {
    pub provider: String,
    pub account: String,
    pub effective: Decimal,
    pub untagged_effective: Decimal,
    pub untagged_share: Decimal,
    /// Percent of the account's cost carrying each of the most used keys (the report's `keys`, first 20).
    pub keys: BTreeMap<String, Decimal>,
}

/// A resource whose lines carry no tags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UntaggedResource {
    pub resource_id: String,
    pub resource_name: String,
    pub provider: String,
    pub account: String,
    pub service_name: String,
    pub effective: Decimal,
}

/// One period of the trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HygienePeriod {
    pub period: String,
    pub effective: Decimal,
    pub untagged_effective: Decimal,
    pub untagged_share: Decimal,
    /// From the period's allocation; none while it is not allocated.
    pub unallocated_effective: Option<Decimal>,
    pub unallocated_share: Option<Decimal>,
}

/// Tag hygiene over a range of billing periods.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagHygiene {
    pub from: String,
    pub to: String,
    pub currency: String,
    pub effective: Decimal,
    pub untagged_effective: Decimal,
    pub untagged_share: Decimal,
    /// Every tag key seen (normalized as the rules see them), most covering first.
    pub keys: Vec<KeyCoverage>,
    pub accounts: Vec<AccountCoverage>,
    pub periods: Vec<HygienePeriod>,
    pub top_untagged: Vec<UntaggedResource>,
}

/// `part` as a percentage of `whole`, to 2 places (0 of nothing is 0).
fn share(part: Decimal, whole: Decimal) -> Decimal {
    if whole.is_zero() { Decimal::ZERO } else { (part * Decimal::ONE_HUNDRED / whole).round_dp(2) }
}

#[derive(Default)]
struct Account {
    effective: Decimal,
    untagged: Decimal,
    keys: HashMap<String, Decimal>,
}

#[derive(Default)]
struct HygieneAcc {
    effective: Decimal,
    untagged: Decimal,
    keys: HashMap<String, Decimal>,
    accounts: BTreeMap<(String, String), Account>,
    /// resource id (or name) → (name, provider, account, service, effective)
    untagged_resources: HashMap<String, (String, String, String, String, Decimal)>,
}

impl App {
    /// Sums the cube by any of its dimensions, filtered by any, per month, per day or over the whole range.
    /// A user limited to cost centres sees only their cells.
    pub async fn cube_query(&self, actor: &Actor, q: &CubeQuery) -> Result<CubeResult, AppError> {
        self.allocation_read(actor)?;
        let mut filter = CubeFilter {
            period_from: q.from.clone(),
            period_to: q.to.clone(),
            day_from: q.day_from.clone(),
            day_to: q.day_to.clone(),
            equals: Vec::new(),
        };
        let mut free: Vec<(String, Vec<String>)> = Vec::new();
        // "(none)" asks for cells without a value: the store's and the grouping's empty value.
        let none_as_empty = |vs: &Vec<String>| {
            vs.iter().map(|v| if v == NO_VALUE { String::new() } else { v.clone() }).collect()
        };
        for (dim, values) in &q.filters {
            match dim {
                CubeDim::Column(c) => filter.equals.push(((*c).to_string(), none_as_empty(values))),
                CubeDim::Free(k) => free.push((k.clone(), none_as_empty(values))),
            }
        }
        let scope = self.scope_codes(actor).await?;
        if let Some(codes) = &scope {
            filter.equals.push(("cost_centre".into(), codes.iter().cloned().collect()));
            if codes.is_empty() {
                filter.equals.push(("target".into(), vec!["-".into()])); // sees nothing
            }
        }
        // Questions about targets only, by month or in total, are answered from the monthly roll-up.
        let by_target = |d: &CubeDim| matches!(d, CubeDim::Column("target" | "cost_centre" | "service"));
        let monthly = q.granularity != Granularity::Day
            && q.day_from.is_none()
            && q.day_to.is_none()
            && q.group_by.iter().all(by_target)
            && q.filters.iter().all(|(d, _)| by_target(d));
        // A question about the cube's own columns is summed by the database; free dimensions (tags) need the
        // cells themselves.
        let columns: Option<Vec<&'static str>> = q
            .group_by
            .iter()
            .map(|d| match d {
                CubeDim::Column(c) => Some(*c),
                CubeDim::Free(_) => None,
            })
            .collect();
        let mut rows: Vec<CubeRowView> = match columns {
            Some(cols) if !monthly && free.is_empty() => {
                let time = match q.granularity {
                    Granularity::Month => Some("billing_period"),
                    Granularity::Day => Some("day"),
                    Granularity::None => None,
                };
                let sums = self.store().session().await?.cube_sums(&filter, time, &cols).await?;
                if sums.len() > CUBE_ROW_LIMIT {
                    return Err(too_many_groups());
                }
                let exact = |t: &str| t.split_whitespace().map(dec).sum::<Decimal>();
                sums.into_iter()
                    .map(|s| CubeRowView {
                        billed: exact(&s.billed),
                        effective: exact(&s.effective),
                        time: s.time,
                        keys: s.keys,
                        lines: s.lines,
                    })
                    .collect()
            }
            _ => self.cube_cells_grouped(q, &filter, &free, monthly).await?,
        };
        rows.sort_by(|a, b| {
            a.time.cmp(&b.time).then_with(|| b.effective.cmp(&a.effective)).then_with(|| a.keys.cmp(&b.keys))
        });
        Ok(CubeResult {
            from: q.from.clone(),
            to: q.to.clone(),
            granularity: q.granularity,
            group_by: q.group_by.iter().map(CubeDim::name).collect(),
            currency: self.config().reporting_currency.code().to_string(),
            total_billed: rows.iter().map(|r| r.billed).sum(),
            total_effective: rows.iter().map(|r| r.effective).sum(),
            rows,
        })
    }

    /// The cube's cells, read and grouped here: for free dimensions, and for questions about targets alone,
    /// answered from the monthly roll-up.
    async fn cube_cells_grouped(
        &self,
        q: &CubeQuery,
        filter: &CubeFilter,
        free: &[(String, Vec<String>)],
        monthly: bool,
    ) -> Result<Vec<CubeRowView>, AppError> {
        let cells = if monthly {
            let months = self.store().session().await?.cube_months(&q.from, &q.to).await?;
            months
                .into_iter()
                .map(|m| CubeCell {
                    billing_period: m.billing_period,
                    target: m.target,
                    cost_centre: m.cost_centre,
                    service: m.service,
                    billed: m.billed,
                    effective: m.effective,
                    lines: m.lines,
                    ..CubeCell::default()
                })
                .filter(|c| {
                    filter.equals.iter().all(|(col, vs)| {
                        let v = CubeDim::parse(col).and_then(|d| d.value(c)).filter(|v| !v.is_empty());
                        vs.is_empty() || vs.contains(&v.unwrap_or_default())
                    })
                })
                .collect()
        } else {
            self.store().session().await?.cube_query(filter).await?
        };
        type Group = (Option<String>, Vec<Option<String>>);
        let mut groups: HashMap<Group, (Decimal, Decimal, i64)> = HashMap::new();
        for c in &cells {
            if !free.iter().all(|(k, vs)| {
                vs.is_empty() || vs.iter().any(|w| w == free_dim(&c.dims, k).unwrap_or_default())
            }) {
                continue;
            }
            let time = match q.granularity {
                Granularity::Month => Some(c.billing_period.clone()),
                Granularity::Day => Some(c.day.clone()),
                Granularity::None => None,
            };
            let keys = q.group_by.iter().map(|d| d.value(c)).collect();
            let e = groups.entry((time, keys)).or_default();
            e.0 += dec(&c.billed);
            e.1 += dec(&c.effective);
            e.2 += c.lines;
            if groups.len() > CUBE_ROW_LIMIT {
                return Err(too_many_groups());
            }
        }
        Ok(groups
            .into_iter()
            .map(|((time, keys), (billed, effective, lines))| CubeRowView {
                time,
                keys,
                billed,
                effective,
                lines,
            })
            .collect())
    }

    /// How well the ledger is tagged from `from` to `to` (amortized, effective cost): coverage per tag key and
    /// per account, the untagged and unallocated shares per period, and the `top` untagged resources by cost.
    /// Tag keys are normalized with the aliases of the rule set in force for each period.
    pub async fn tag_hygiene(
        &self,
        actor: &Actor,
        from: &str,
        to: &str,
        top: usize,
    ) -> Result<TagHygiene, AppError> {
        self.cost_allow(actor, Action::Read)?;
        check_period("from", from)?;
        check_period("to", to)?;
        if to < from {
            return Err(bad("to", format!("is {to}, before `from` ({from})")));
        }
        let periods: Vec<String> = self
            .ledger_periods()
            .await?
            .into_iter()
            .filter(|p| p.as_str() >= from && p.as_str() <= to)
            .collect();
        let mut total = HygieneAcc::default();
        let mut trend = Vec::new();
        let months = self.store().session().await?.cube_months(from, to).await?;
        for p in &periods {
            let keys = self.tag_keys_in_force(p).await?;
            let parts = self.period_partitions(p).await?;
            let dir = self.lake_dir();
            // The totals go into the scan and come back with the period added; the period's own figures are
            // the difference.
            let (effective_before, untagged_before) = (total.effective, total.untagged);
            let mut acc = std::mem::take(&mut total);
            total = tokio::task::spawn_blocking(move || -> Result<HygieneAcc, AppError> {
                scan(&dir, &parts, &keys, |l, c, _| {
                    let e = c.effective;
                    acc.effective += e;
                    let f = |x: Field| l.fields[x as usize];
                    let a = acc
                        .accounts
                        .entry((f(Field::Provider).to_string(), f(Field::Account).to_string()))
                        .or_default();
                    a.effective += e;
                    if l.tags.is_empty() {
                        acc.untagged += e;
                        a.untagged += e;
                        let id = if !f(Field::ResourceId).is_empty() {
                            f(Field::ResourceId)
                        } else {
                            f(Field::ResourceName)
                        };
                        if !id.is_empty() {
                            let r = acc.untagged_resources.entry(id.to_string()).or_insert_with(|| {
                                (
                                    f(Field::ResourceName).to_string(),
                                    f(Field::Provider).to_string(),
                                    f(Field::Account).to_string(),
                                    f(Field::ServiceName).to_string(),
                                    Decimal::ZERO,
                                )
                            });
                            r.4 += e;
                        }
                    }
                    for (k, _) in l.tags {
                        *acc.keys.entry(k.clone()).or_default() += e;
                        *a.keys.entry(k.clone()).or_default() += e;
                    }
                })?;
                Ok(acc)
            })
            .await
            .map_err(|e| AppError::Refused(format!("reading the ledger stopped: {e}")))??;
            let (effective, untagged) =
                (total.effective - effective_before, total.untagged - untagged_before);
            let allocated: Vec<_> = months.iter().filter(|m| &m.billing_period == p).collect();
            let (unallocated, allocated_total) = if allocated.is_empty() {
                (None, None)
            } else {
                let all: Decimal = allocated.iter().map(|m| dec(&m.effective)).sum();
                let un: Decimal =
                    allocated.iter().filter(|m| m.target == "unallocated").map(|m| dec(&m.effective)).sum();
                (Some(un), Some(all))
            };
            trend.push(HygienePeriod {
                period: p.clone(),
                effective,
                untagged_effective: untagged,
                untagged_share: share(untagged, effective),
                unallocated_effective: unallocated,
                unallocated_share: unallocated.zip(allocated_total).map(|(u, t)| share(u, t)),
            });
        }
        let mut keys: Vec<KeyCoverage> = total
            .keys
            .iter()
            .map(|(k, v)| KeyCoverage { key: k.clone(), effective: *v, share: share(*v, total.effective) })
            .collect();
        keys.sort_by(|a, b| b.effective.cmp(&a.effective).then_with(|| a.key.cmp(&b.key)));
        let main_keys: BTreeSet<&str> = keys.iter().take(20).map(|k| k.key.as_str()).collect();
        let accounts = total
            .accounts
            .iter()
            .map(|((provider, account), a)| AccountCoverage {
                provider: provider.clone(),
                account: account.clone(),
                effective: a.effective,
                untagged_effective: a.untagged,
                untagged_share: share(a.untagged, a.effective),
                keys: main_keys
                    .iter()
                    .map(|k| (k.to_string(), share(a.keys.get(*k).copied().unwrap_or_default(), a.effective)))
                    .collect(),
            })
            .collect();
        let mut untagged: Vec<UntaggedResource> = total
            .untagged_resources
            .into_iter()
            .map(|(id, (name, provider, account, service_name, effective))| UntaggedResource {
                resource_id: id,
                resource_name: name,
                provider,
                account,
                service_name,
                effective,
            })
            .collect();
        untagged
            .sort_by(|a, b| b.effective.cmp(&a.effective).then_with(|| a.resource_id.cmp(&b.resource_id)));
        untagged.truncate(top);
        Ok(TagHygiene {
            from: from.to_string(),
            to: to.to_string(),
            currency: self.config().reporting_currency.code().to_string(),
            effective: total.effective,
            untagged_effective: total.untagged,
            untagged_share: share(total.untagged, total.effective),
            keys,
            accounts,
            periods: trend,
            top_untagged: untagged,
        })
    }
}

/// A filter's values: separated by commas, a comma or backslash inside a value written `\,` or `\\` (a vendor
/// named "Okta, Inc." is `Okta\, Inc.`); each trimmed, empty ones dropped.
pub fn filter_values(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n @ (',' | '\\')) => cur.push(n),
                Some(n) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => cur.push('\\'),
            },
            ',' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect()
}

/// One value as a filter names it (see [`filter_values`]).
pub fn filter_value(value: &str) -> String {
    value.replace('\\', "\\\\").replace(',', "\\,")
}

#[cfg(test)]
mod filter_value_tests {
    use super::*;

    #[test]
    fn values_with_commas_and_backslashes_round_trip() {
        for v in ["Okta, Inc.", "a\\b", "trailing\\", "plain", "x,,y"] {
            assert_eq!(filter_values(&filter_value(v)), [v.to_string()], "{v}");
        }
        assert_eq!(filter_values("AWS, GCP,,"), ["AWS", "GCP"]);
        assert_eq!(
            filter_values(&format!("{},{}", filter_value("Okta, Inc."), "Zoom")),
            ["Okta, Inc.", "Zoom"]
        );
        assert_eq!(filter_values("a\\x"), ["a\\x"], "another escape is kept as written");
    }
}
