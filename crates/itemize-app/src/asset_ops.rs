//! The register's other questions: relationships and impact, contracts and the renewal calendar, warranty and
//! end-of-life lists, the hardware refresh plan, one-off costs and total cost of ownership, depreciation
//! schedules, physical audits and governance measures.

use crate::asset_ledger::{OnBooks, book_histories};
use crate::assets::{allow, diff, load_settings, not_found, sees, store_err};
use crate::{App, AppError};
use itemize_core::FieldError;
use itemize_core::assets::{Asset, Month, State, money_amount};
use itemize_core::auth::{Action, Actor, Resource, authorize};
use itemize_core::refdata::Kind;
use itemize_core::validate::Problems;
use itemize_store::{AssetCostRow, ContractRow, RelationRow, ScanRow};
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

pub const RELATION_KINDS: [&str; 3] = ["runs", "depends-on", "installed-in"];
pub const CONTRACT_KINDS: [&str; 5] = ["purchase", "lease", "maintenance", "warranty", "subscription"];
pub const BILLING: [&str; 4] = ["one-off", "monthly", "quarterly", "annual"];
pub const RENEWALS: [&str; 3] = ["auto", "manual", "none"];
pub const COST_KINDS: [&str; 4] = ["repair", "upgrade", "maintenance", "other"];

/// What depends on an asset and the services affected if it fails.
#[derive(Debug, Clone, Serialize)]
pub struct Impact {
    pub asset_id: i64,
    /// Assets that depend on it or are installed in it, directly or through others, nearest first.
    pub dependents: Vec<Dependent>,
    /// Services the asset or any dependent runs.
    pub services: Vec<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dependent {
    pub asset_id: i64,
    pub tag: String,
    /// How many hops from the asset.
    pub depth: u32,
    /// The relationship that links it one hop nearer.
    pub via: String,
}

/// A contract as a client writes it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractInput {
    pub number: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub vendor_id: Option<i64>,
    pub value: Option<Value>,
    pub currency: Option<String>,
    pub billing_frequency: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub renewal: Option<String>,
    pub notice_days: Option<i64>,
    pub owner_person_id: Option<i64>,
    pub cost_centre_id: Option<i64>,
    pub notes: Option<String>,
    pub asset_ids: Option<Vec<i64>>,
}

/// A renewal calendar entry.
#[derive(Debug, Clone, Serialize)]
pub struct Renewal {
    pub contract_id: i64,
    pub number: String,
    pub name: String,
    pub kind: String,
    pub vendor_id: Option<i64>,
    pub value: String,
    pub currency: String,
    pub renewal: String,
    pub end_date: Date,
    /// The last day to give notice (end date − notice period): act before this.
    pub notice_deadline: Date,
    pub days_to_notice: i64,
    pub days_to_end: i64,
    /// 30, 60 or 90: the smallest of those windows (days from today) the date to act falls in (the notice
    /// deadline, or the end for a contract that does not renew; a deadline passed is in 30); none further out.
    pub window: Option<u32>,
    pub notice_passed: bool,
    pub assets: usize,
    /// How many times an auto-renewing contract has renewed past the end date it was entered with (`end_date`
    /// is then its current term's end).
    pub terms_renewed: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefreshGroup {
    pub model: String,
    pub cost_centre_id: Option<i64>,
    pub count: usize,
    /// How many of them are due already (out of support or past their end of life today): backlog, not plan.
    pub already_due: usize,
    /// The latest purchase price of the model, if any asset of it has one.
    pub unit_price: Option<String>,
    pub currency: String,
    pub budget: Option<String>,
    pub asset_ids: Vec<i64>,
    /// When each of them is due (beside `asset_ids`): its end of life or the end of its support.
    pub asset_due: Vec<Date>,
    /// The earliest date in the group that triggers replacement.
    pub first_due: Date,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefreshPlan {
    pub months: u32,
    pub until: Date,
    pub groups: Vec<RefreshGroup>,
    /// Budget per currency over all priced groups.
    pub total: BTreeMap<String, String>,
    /// Assets whose model has no known price.
    pub unpriced_assets: usize,
    /// The whole budget in the reporting currency at the latest rates imported on or before today (each
    /// currency's total converted at its rate — an inverse or cross rate to 28 digits — and the sum rounded to
    /// the cent; each rate's date is given); none when a rate is missing, and `reporting_missing` says which.
    pub reporting_total: Option<ReportingTotal>,
    pub reporting_missing: Option<String>,
}

/// A sum over currencies in the reporting currency, with the rates it used.
#[derive(Debug, Clone, Serialize)]
pub struct ReportingTotal {
    pub currency: String,
    pub amount: String,
    /// (currency, units of the reporting currency per unit, the rate's date), for each other currency.
    pub rates: Vec<(String, String, Date)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tco {
    pub asset_id: i64,
    pub currency: String,
    pub purchase: String,
    /// Each covering contract's share: its value for each term counted (`terms`: the entered one and, when it
    /// renews automatically, each renewal started by today) split evenly over the assets it covers at its
    /// currency's minor units, the remainder to the lowest asset id.
    pub contracts: Vec<Value>,
    pub one_off: Vec<AssetCostRow>,
    /// A cloud resource's cost in the ledger (effective, in the reporting currency), for whoever may read the
    /// ledger: what it has cost, month after month, is most of its cost of ownership.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Value>,
    /// Sum in the asset's currency; amounts in other currencies are listed under `other_currencies`.
    pub total: String,
    pub other_currencies: BTreeMap<String, String>,
    /// Everything in the asset's currency: `total` plus each other currency's sum at the latest rate on or
    /// before today; `None` when a rate is missing (`rates` says which).
    pub total_converted: Option<String>,
    /// The rates used for `total_converted` (or the one missing), one sentence each.
    pub rates: Vec<String>,
    pub book_value_today: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    pub asset_id: i64,
    pub currency: String,
    pub method: String,
    pub months: Vec<Month>,
    pub book_value_today: String,
    /// The date asked for (today when none was), and the book value at its month's end.
    pub as_of: String,
    pub book_value: String,
    /// Lost, stolen or disposed of (and not back): written off at the end of the month it left the books, its
    /// schedule ending there and its book value nothing from then on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_off: Option<WriteOff>,
}

/// An asset taken off the books: how, in which month, and the book value written off then.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WriteOff {
    /// `lost`, `stolen` or `disposed`.
    pub how: String,
    /// YYYY-MM.
    pub month: String,
    pub book_value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CostCentreSchedule {
    pub cost_centre_id: Option<i64>,
    pub currency: String,
    /// YYYY-MM → expense.
    pub months: BTreeMap<String, String>,
    pub total: String,
    pub assets: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditView {
    pub id: i64,
    pub location_id: i64,
    pub status: String,
    pub started_by: String,
    pub started_at: jiff::Timestamp,
    pub closed_at: Option<jiff::Timestamp>,
    pub expected: usize,
    pub found: Vec<i64>,
    pub missing: Vec<i64>,
    pub unexpected: Vec<i64>,
    /// Assets on record as disposed of that were scanned all the same: an exception to look into (the disposal
    /// certificate says they are gone). Closing the audit leaves their record as it is.
    pub disposed: Vec<i64>,
    pub unknown: Vec<String>,
    /// found ÷ expected, as a percentage with one decimal (100 when nothing was expected).
    pub accuracy: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Governance {
    pub assets: usize,
    /// field → percentage of owned assets that have it (one decimal).
    pub coverage: BTreeMap<String, String>,
    pub counts: BTreeMap<String, usize>,
    /// Assets breaking the required-field policy, with what they miss.
    pub violations: Vec<Value>,
    pub by_state: BTreeMap<String, usize>,
    /// Inventory accuracy over closed audits (found ÷ expected).
    pub inventory_accuracy: Option<String>,
}

/// `n` of `d` as a percentage with one decimal. Only all of them is 100.0 (2,867 of 2,868 is 99.9, not a
/// rounded-up 100.0 that hides the one asset missing a value), and only none is 0.0.
fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        return "100.0".into();
    }
    let exact = Decimal::from(n as u64) * Decimal::from(100) / Decimal::from(d as u64);
    let mut shown = exact.round_dp(1);
    if n < d && shown >= Decimal::from(100) {
        shown = Decimal::new(999, 1);
    }
    if n > 0 && shown.is_zero() {
        shown = Decimal::new(1, 1);
    }
    format!("{shown:.1}")
}

/// Amounts per currency (code → amount) as one sum in `to` at the rates of `table` on or before `date`, naming
/// each rate used; the error names every rate missing.
fn in_currency(
    table: &crate::rates::RateTable,
    amounts: &BTreeMap<String, Decimal>,
    to: itemize_core::Currency,
    date: Date,
) -> Result<ReportingTotal, String> {
    let mut sum = Decimal::ZERO;
    let mut used = Vec::new();
    let mut missing = Vec::new();
    for (code, amount) in amounts {
        let Ok(from) = code.parse::<itemize_core::Currency>() else {
            missing.push(format!("`{code}` is not a currency"));
            continue;
        };
        match table.rate(from, to, date) {
            Ok((rate, on)) => {
                if from != to {
                    used.push((code.clone(), rate.normalize().to_string(), on));
                }
                sum += amount * rate;
            }
            Err(e) => missing.push(e),
        }
    }
    if !missing.is_empty() {
        return Err(missing.join("; "));
    }
    Ok(ReportingTotal {
        currency: to.code().to_string(),
        amount: itemize_core::money::cents(sum).to_string(),
        rates: used,
    })
}

fn contracts_allow(actor: &Actor, action: Action) -> Result<(), AppError> {
    authorize(actor, Resource::Contracts, action).map_err(|e| AppError::Forbidden(e.to_string()))
}

fn months_between(from: Date, to: Date) -> i64 {
    (i64::from(to.year()) - i64::from(from.year())) * 12 + i64::from(to.month()) - i64::from(from.month())
}

fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(jiff::Span::new().days(n)).unwrap_or(d)
}

fn add_months(d: Date, n: i64) -> Date {
    d.checked_add(jiff::Span::new().months(n)).unwrap_or(d)
}

fn days(from: Date, to: Date) -> i64 {
    (to - from).get_days() as i64
}

/// How an auto-renewing contract's terms follow each other: each as many whole months as the term it was entered
/// with, counted from its original start (never chained from the previous end, so a term starting on the 31st
/// does not slide to the 28th after February). Term k (from 1) ends the day before `start + k·months` (jiff
/// clamps 31 January + 1 month to 28/29 February), or, when the entered term ended on such a clamped date
/// itself (29 February 2024 to 28 February 2025, 31 January to 28 February), on the last day of that month: a
/// term ending at a month's end keeps ending at one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MonthlyTerms {
    start: Date,
    months: i64,
    month_end: bool,
}

impl MonthlyTerms {
    /// The smallest whole number of months the entered term `[start, end]` is, if it is one.
    fn of(start: Date, end: Date) -> Option<MonthlyTerms> {
        for months in 1..=months_between(start, end) + 1 {
            let anniversary = add_months(start, months);
            if add_days(anniversary, -1) == end {
                return Some(MonthlyTerms { start, months, month_end: false });
            }
            if anniversary == end && anniversary.day() != start.day() {
                return Some(MonthlyTerms { start, months, month_end: true });
            }
            if anniversary > end {
                break;
            }
        }
        None
    }

    /// The last day of term `k` (the entered term is 1).
    fn end(&self, k: i64) -> Date {
        let anniversary = add_months(self.start, self.months * k);
        if self.month_end { anniversary.last_of_month() } else { add_days(anniversary, -1) }
    }
}

/// The end of an auto-renewing contract's current term, and how many times it renewed to get there: past its
/// end date it renews term after term of the first term's length (in whole months when the first term was whole
/// months, see [`MonthlyTerms`], else in days), until a term ends on or after `today`.
fn current_term(start: Date, end: Date, today: Date) -> (Date, u32) {
    if end >= today || end < start {
        return (end, 0);
    }
    match MonthlyTerms::of(start, end) {
        Some(t) => {
            // Term k ends in month `start + k·months` or the one before, so every term before
            // (months from the start to today) / months − 1 ended before today's month: start looking there.
            let mut k = (months_between(start, today) / t.months - 1).max(2);
            while t.end(k) < today && k < 100_000 {
                k += 1;
            }
            (t.end(k), (k - 1) as u32)
        }
        None => {
            let len = days(start, end) + 1;
            let terms = (days(end, today) + len - 1) / len;
            (add_days(end, terms * len), terms as u32)
        }
    }
}

/// A contract's term in force on `day`: its start date, the end of the term (for an auto-renewing contract past
/// its entered end date, the current renewal's, as the renewal calendar shows it) and how many renewals that
/// took. `None` when its dates do not parse.
fn term_on(c: &ContractRow, day: Date) -> Option<(Date, Date, u32)> {
    let (Ok(start), Ok(end)) = (c.start_date.parse::<Date>(), c.end_date.parse::<Date>()) else {
        return None;
    };
    let (end, renewed) = if c.renewal == "auto" { current_term(start, end, day) } else { (end, 0) };
    Some((start, end, renewed))
}

/// The day a contract's current term is read at: today, or the day it was archived (archiving ends it).
fn term_day(c: &ContractRow, today: Date) -> Date {
    let archived = c
        .archived_at
        .as_deref()
        .and_then(|a| a.parse::<jiff::Timestamp>().ok())
        .map(|a| a.to_zoned(jiff::tz::TimeZone::UTC).date());
    archived.map_or(today, |a| a.min(today))
}

impl App {
    /// A contract's current term, as the renewal calendar and the TCO count it: (start, end of the current term,
    /// how many times it renewed itself past the end date entered). An auto-renewing contract moves on a term
    /// each time its end passes, until it is archived.
    pub fn contract_term(&self, c: &ContractRow) -> Option<(Date, Date, u32)> {
        term_on(c, term_day(c, self.today()))
    }

    // ---- relationships -------------------------------------------------------------------------------

    /// Links an asset to a service (`runs`) or another asset (`depends-on`, `installed-in`).
    pub async fn add_relation(
        &self,
        actor: &Actor,
        asset_id: i64,
        input: Value,
    ) -> Result<RelationRow, AppError> {
        allow(actor, Action::Write)?;
        let kind = input.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        let to_asset = input.get("to_asset_id").and_then(Value::as_i64);
        let to_service = input.get("to_service_id").and_then(Value::as_i64);
        let mut errs = Vec::new();
        if let Some(obj) = input.as_object() {
            for k in obj.keys() {
                if !["kind", "to_asset_id", "to_service_id"].contains(&k.as_str()) {
                    errs.push(FieldError::new(k.clone(), "is not a known field"));
                }
            }
        }
        if !RELATION_KINDS.contains(&kind.as_str()) {
            errs.push(FieldError::new("kind", format!("must be one of {}", RELATION_KINDS.join(", "))));
        } else if kind == "runs" && (to_service.is_none() || to_asset.is_some()) {
            errs.push(FieldError::new(
                "to_service_id",
                "an asset runs a business service: give to_service_id",
            ));
        } else if kind != "runs" && (to_asset.is_none() || to_service.is_some()) {
            errs.push(FieldError::new("to_asset_id", format!("{kind} links two assets: give to_asset_id")));
        }
        if to_asset == Some(asset_id) {
            errs.push(FieldError::new("to_asset_id", "an asset cannot depend on itself"));
        }
        if !errs.is_empty() {
            return Err(AppError::Validation(errs));
        }
        let mut tx = self.store().transaction().await?;
        let a = tx.asset(asset_id).await.map_err(store_err)?.ok_or_else(|| not_found(asset_id))?;
        if !sees(actor, &a) {
            return Err(not_found(asset_id));
        }
        if let Some(t) = to_asset
            && tx.asset(t).await.map_err(store_err)?.is_none()
        {
            return Err(AppError::Validation(vec![FieldError::new(
                "to_asset_id",
                format!("asset {t} does not exist"),
            )]));
        }
        if let Some(t) = to_service
            && tx.existing_ids(Kind::Service, &[t]).await?.is_empty()
        {
            return Err(AppError::Validation(vec![FieldError::new(
                "to_service_id",
                format!("business service {t} does not exist"),
            )]));
        }
        let existing = tx.relations_of(&[asset_id], true).await?;
        if existing
            .iter()
            .any(|r| r.kind == kind && r.to_asset_id == to_asset && r.to_service_id == to_service)
        {
            return Err(AppError::Conflict { kind: "relationship", field: "kind".into() });
        }
        if let Some(t) = to_asset {
            // No cycles: `t` must not already (transitively) depend on `asset_id`; walked one level at a time.
            let mut seen = HashSet::from([t]);
            let mut level = vec![t];
            while !level.is_empty() {
                if level.contains(&asset_id) {
                    return Err(AppError::Validation(vec![FieldError::new(
                        "to_asset_id",
                        format!("asset {t} already depends on asset {asset_id}: the link would make a cycle"),
                    )]));
                }
                let next = tx.relations_of(&level, true).await?;
                level = next.iter().filter_map(|r| r.to_asset_id).filter(|n| seen.insert(*n)).collect();
            }
        }
        let now = self.clock().now();
        let id = tx.insert_relation(asset_id, &kind, to_asset, to_service, now).await?;
        tx.append_asset_events(&[(
            asset_id,
            now,
            &actor.name,
            "relation",
            json!({"added": {"id": id, "kind": kind, "to_asset_id": to_asset, "to_service_id": to_service}}),
        )])
        .await?;
        tx.commit().await?;
        Ok(RelationRow {
            id,
            asset_id,
            kind,
            to_asset_id: to_asset,
            to_service_id: to_service,
            created_at: now,
            ended_at: None,
        })
    }

    pub async fn end_relation(&self, actor: &Actor, asset_id: i64, relation_id: i64) -> Result<(), AppError> {
        allow(actor, Action::Write)?;
        let mut tx = self.store().transaction().await?;
        let a = tx.asset(asset_id).await.map_err(store_err)?.ok_or_else(|| not_found(asset_id))?;
        if !sees(actor, &a) || !tx.relations_of(&[asset_id], true).await?.iter().any(|r| r.id == relation_id)
        {
            return Err(AppError::NotFound { kind: "relationship", id: relation_id.to_string() });
        }
        let now = self.clock().now();
        tx.end_relation(relation_id, now).await?;
        tx.append_asset_events(&[(asset_id, now, &actor.name, "relation", json!({"ended": relation_id}))])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The asset's relationships in force, both directions.
    pub async fn asset_relations(&self, actor: &Actor, asset_id: i64) -> Result<Vec<RelationRow>, AppError> {
        self.get_asset(actor, asset_id).await?;
        let mut s = self.store().session().await?;
        let mut both = s.relations_of(&[asset_id], true).await?;
        both.extend(s.relations_of(&[asset_id], false).await?);
        both.sort_by_key(|r| r.id);
        Ok(both)
    }

    /// Everything that depends on an asset (transitively) and the services affected.
    pub async fn impact(&self, actor: &Actor, asset_id: i64) -> Result<Impact, AppError> {
        self.get_asset(actor, asset_id).await?;
        let mut s = self.store().session().await?;
        // Breadth first, one level per query through the index on the relationship's target: nearest first,
        // and only the part of the graph that depends on the asset is read.
        let mut found: Vec<(i64, u32, String)> = Vec::new();
        let mut seen: HashSet<i64> = HashSet::from([asset_id]);
        let mut level = vec![asset_id];
        let mut depth = 0u32;
        while !level.is_empty() {
            depth += 1;
            let mut next = Vec::new();
            for r in s.relations_of(&level, false).await? {
                if seen.insert(r.asset_id) {
                    found.push((r.asset_id, depth, r.kind.clone()));
                    next.push(r.asset_id);
                }
            }
            level = next;
        }
        let ids: Vec<i64> = found.iter().map(|f| f.0).collect();
        let everyone: Vec<i64> = std::iter::once(asset_id).chain(ids.iter().copied()).collect();
        let held = s.assets_by_ids(&everyone).await?;
        let tags: HashMap<i64, String> = held.iter().map(|a| (a.id, a.fields.tag.clone())).collect();
        // The services affected: those the asset or a dependent runs, and those holding one of them (checked
        // out to a business service).
        let mut services: Vec<i64> =
            s.relations_of(&everyone, true).await?.iter().filter_map(|r| r.to_service_id).collect();
        services.extend(held.iter().filter_map(|a| a.custody.service_id));
        services.sort_unstable();
        services.dedup();
        Ok(Impact {
            asset_id,
            dependents: found
                .into_iter()
                .map(|(id, depth, via)| Dependent {
                    asset_id: id,
                    tag: tags.get(&id).cloned().unwrap_or_default(),
                    depth,
                    via,
                })
                .collect(),
            services,
        })
    }

    // ---- contracts ------------------------------------------------------------------------------------

    pub async fn contracts(&self, actor: &Actor) -> Result<Vec<ContractRow>, AppError> {
        contracts_allow(actor, Action::Read)?;
        let mut s = self.store().session().await?;
        let all = s.contracts().await?;
        Ok(all.into_iter().filter(|c| contract_visible(actor, c)).collect())
    }

    pub async fn contract(&self, actor: &Actor, id: i64) -> Result<ContractRow, AppError> {
        self.contracts(actor)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(AppError::NotFound { kind: "contract", id: id.to_string() })
    }

    pub async fn create_contract(&self, actor: &Actor, input: Value) -> Result<ContractRow, AppError> {
        contracts_allow(actor, Action::Write)?;
        let row = self.validate_contract(input, None)?;
        if !contract_visible(actor, &row) {
            return Err(AppError::Validation(vec![FieldError::new(
                "cost_centre_id",
                "must be one of your cost centres",
            )]));
        }
        let mut tx = self.store().transaction().await?;
        check_contract_refs(&mut tx, &row).await?;
        let now = self.clock().now();
        let id = tx.insert_contract(&row, now).await.map_err(|e| AppError::from_store("contract", e))?;
        let after = serde_json::to_value(&row).unwrap_or_default();
        crate::auth::audit(&mut tx, actor, now, "create", "contracts", Some(id), None, Some(&after)).await?;
        let events: Vec<(i64, jiff::Timestamp, &str, &str, Value)> = row
            .asset_ids
            .iter()
            .map(|a| (*a, now, actor.name.as_str(), "contract", json!({"linked": id, "number": row.number})))
            .collect();
        tx.append_asset_events(&events).await?;
        tx.commit().await?;
        Ok(ContractRow { id, version: 1, ..row })
    }

    /// Archives a contract (ended, cancelled, entered by mistake: nothing is deleted) or restores it. An archived
    /// contract leaves the renewal calendar and the refresh plan; its history and its share of a TCO stay.
    pub async fn set_contract_archived(
        &self,
        actor: &Actor,
        id: i64,
        archived: bool,
    ) -> Result<ContractRow, AppError> {
        contracts_allow(actor, Action::Write)?;
        let current = self.contract(actor, id).await?;
        if current.archived_at.is_some() == archived {
            return Ok(current);
        }
        let now = self.clock().now();
        let mut tx = self.store().transaction().await?;
        if !tx.set_contract_archived(id, current.version, archived.then_some(now), now).await? {
            return Err(AppError::PreconditionFailed {
                kind: "contract",
                current_etag: format!("version {}", current.version),
            });
        }
        let verb = if archived { "archive" } else { "restore" };
        crate::auth::audit(&mut tx, actor, now, verb, "contracts", Some(id), None, None).await?;
        tx.commit().await?;
        self.contract(actor, id).await
    }

    /// Edits a contract with a JSON merge patch (`asset_ids` replaces the covered assets).
    pub async fn update_contract(
        &self,
        actor: &Actor,
        id: i64,
        patch: Value,
    ) -> Result<ContractRow, AppError> {
        self.update_contract_at(actor, id, None, patch).await
    }

    /// [`App::update_contract`], refused when the contract is no longer at `version` (a form read before someone
    /// else's change does not overwrite it).
    pub async fn update_contract_at(
        &self,
        actor: &Actor,
        id: i64,
        version: Option<i64>,
        patch: Value,
    ) -> Result<ContractRow, AppError> {
        contracts_allow(actor, Action::Write)?;
        let current = self.contract(actor, id).await?;
        if version.is_some_and(|v| v != current.version) {
            return Err(AppError::PreconditionFailed {
                kind: "contract",
                current_etag: format!("version {}", current.version),
            });
        }
        let mut merged = serde_json::to_value(&current).unwrap_or_default();
        if let Value::Object(m) = &mut merged {
            for k in ["id", "version", "archived_at"] {
                m.remove(k);
            }
        }
        itemize_core::refdata::merge_patch(&mut merged, &patch);
        let mut row = self.validate_contract(merged, Some(current.id))?;
        row.version = current.version;
        let mut tx = self.store().transaction().await?;
        check_contract_refs(&mut tx, &row).await?;
        let now = self.clock().now();
        if !tx.update_contract(&row, now).await.map_err(|e| AppError::from_store("contract", e))? {
            return Err(AppError::PreconditionFailed {
                kind: "contract",
                current_etag: format!("version {}", current.version),
            });
        }
        let before = serde_json::to_value(&current).unwrap_or_default();
        let after = serde_json::to_value(&row).unwrap_or_default();
        crate::auth::audit(&mut tx, actor, now, "update", "contracts", Some(id), Some(&before), Some(&after))
            .await?;
        let added: Vec<i64> =
            row.asset_ids.iter().filter(|a| !current.asset_ids.contains(a)).copied().collect();
        let removed: Vec<i64> =
            current.asset_ids.iter().filter(|a| !row.asset_ids.contains(a)).copied().collect();
        let mut events: Vec<(i64, jiff::Timestamp, &str, &str, Value)> = Vec::new();
        for a in added {
            events.push((
                a,
                now,
                actor.name.as_str(),
                "contract",
                json!({"linked": id, "number": row.number}),
            ));
        }
        for a in removed {
            events.push((
                a,
                now,
                actor.name.as_str(),
                "contract",
                json!({"unlinked": id, "number": row.number}),
            ));
        }
        tx.append_asset_events(&events).await?;
        tx.commit().await?;
        Ok(ContractRow { version: current.version + 1, ..row })
    }

    fn validate_contract(&self, input: Value, id: Option<i64>) -> Result<ContractRow, AppError> {
        let i: ContractInput = serde_path_to_error::deserialize(input)
            .map_err(|e| AppError::Validation(vec![itemize_core::refdata::json_field_error(&e)]))?;
        let mut p = Problems::default();
        let number = p.code("number", i.number);
        let name = p.required_text("name", i.name, 200);
        let one_of =
            |p: &mut Problems, field: &str, v: Option<String>, set: &[&str], default: Option<&str>| match v
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty())
                .or(default.map(String::from))
            {
                Some(s) if set.contains(&s.as_str()) => Some(s),
                Some(s) => {
                    p.add(field, format!("`{s}` is not one of {}", set.join(", ")));
                    None
                }
                None => {
                    p.add(field, "is required");
                    None
                }
            };
        let kind = one_of(&mut p, "kind", i.kind, &CONTRACT_KINDS, None);
        let billing = one_of(&mut p, "billing_frequency", i.billing_frequency, &BILLING, Some("annual"));
        let renewal = one_of(&mut p, "renewal", i.renewal, &RENEWALS, Some("manual"));
        let currency = p
            .parsed::<itemize_core::Currency>("currency", i.currency, false)
            .unwrap_or(self.config().reporting_currency);
        let value = money_amount(&mut p, "value", i.value, currency);
        if value.is_none() && !p.has("value") {
            p.add("value", "is required");
        }
        let start = p.date("start_date", i.start_date, true);
        let end = p.date("end_date", i.end_date, true);
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            p.add("end_date", "must not be before the start date");
        }
        let notice = i.notice_days.unwrap_or(0);
        if !(0..=3650).contains(&notice) {
            p.add("notice_days", "must be from 0 to 3650 days");
        } else if let (Some(s), Some(e)) = (start, end)
            && e >= s
            && let Ok(term) = s.until(e).map(|span| span.get_days() as i64 + 1)
            && notice > term
        {
            // Notice due before the term begins is a typing mistake (days for months, a digit too many).
            p.add("notice_days", format!("is {notice} days, longer than the term ({term} days)"));
        }
        let vendor_id = p.id("vendor_id", i.vendor_id);
        let owner = p.id("owner_person_id", i.owner_person_id);
        let cc = p.id("cost_centre_id", i.cost_centre_id);
        let notes = i.notes.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        let mut assets = i.asset_ids.unwrap_or_default();
        assets.sort_unstable();
        assets.dedup();
        p.finish(|| ContractRow {
            id: id.unwrap_or(0),
            number: number.unwrap_or_default(),
            name: name.unwrap_or_default(),
            kind: kind.unwrap_or_default(),
            vendor_id,
            value: value.unwrap_or_default().to_string(),
            currency: currency.code().to_string(),
            billing_frequency: billing.unwrap_or_default(),
            start_date: start.map(|d| d.to_string()).unwrap_or_default(),
            end_date: end.map(|d| d.to_string()).unwrap_or_default(),
            renewal: renewal.unwrap_or_default(),
            notice_days: notice,
            owner_person_id: owner,
            cost_centre_id: cc,
            notes,
            version: 1,
            archived_at: None,
            asset_ids: assets,
        })
        .map_err(AppError::Validation)
    }

    /// Contracts whose notice deadline (or end, when there is no notice) falls in the next `days` days, or
    /// whose notice has passed but which have not ended yet. Sorted by the date to act.
    pub async fn renewal_calendar(&self, actor: &Actor, days_ahead: u32) -> Result<Vec<Renewal>, AppError> {
        let today = self.today();
        let horizon = add_days(today, i64::from(days_ahead));
        let mut out = Vec::new();
        for c in self.contracts(actor).await? {
            if c.archived_at.is_some() {
                continue;
            }
            // An auto-renewing contract past its end date has renewed: its current term is what comes up.
            let Some((_, end, terms_renewed)) = term_on(&c, today) else { continue };
            if end < today {
                continue;
            }
            let deadline = add_days(end, -c.notice_days);
            let act = if c.renewal == "none" { end } else { deadline };
            if act > horizon && end > horizon {
                continue;
            }
            let until = days(today, act).max(0);
            out.push(Renewal {
                contract_id: c.id,
                number: c.number,
                name: c.name,
                kind: c.kind,
                vendor_id: c.vendor_id,
                value: c.value,
                currency: c.currency,
                renewal: c.renewal,
                end_date: end,
                notice_deadline: deadline,
                days_to_notice: days(today, deadline),
                days_to_end: days(today, end),
                window: [30, 60, 90].into_iter().find(|w| until <= i64::from(*w)),
                notice_passed: deadline < today,
                assets: c.asset_ids.len(),
                terms_renewed,
            });
        }
        out.sort_by_key(|r| (r.notice_deadline, r.contract_id));
        Ok(out)
    }

    /// Owned assets whose warranty ends within `days_ahead` days (today included), the soonest first.
    pub async fn warranty_expiring(&self, actor: &Actor, days_ahead: u32) -> Result<Vec<Asset>, AppError> {
        allow(actor, Action::Read)?;
        let today = self.today();
        let until = add_days(today, i64::from(days_ahead));
        let scope: Option<Vec<i64>> = actor.scope.as_ref().map(|s| s.iter().copied().collect());
        let mut s = self.store().session().await?;
        let within =
            s.assets_warranty_between(&today.to_string(), &until.to_string(), scope.as_deref()).await?;
        let mut list: Vec<Asset> =
            within.into_iter().filter(|a| a.state.is_owned() && a.state != State::Retired).collect();
        list.sort_by_key(|a| (a.fields.warranty_end, a.id));
        Ok(list)
    }

    /// Owned assets at or within `days_ahead` days of their end of life (given, or purchase + useful life).
    pub async fn end_of_life(&self, actor: &Actor, days_ahead: u32) -> Result<Vec<Asset>, AppError> {
        let until = add_days(self.today(), i64::from(days_ahead));
        let mut list: Vec<Asset> = self
            .scoped_assets(actor)
            .await?
            .into_iter()
            .filter(|a| a.state.is_owned() && a.state != State::Retired)
            .filter(|a| eol(a).is_some_and(|d| d <= until))
            .collect();
        list.sort_by_key(|a| (eol(a), a.id));
        Ok(list)
    }

    pub(crate) async fn scoped_assets(&self, actor: &Actor) -> Result<Vec<Asset>, AppError> {
        allow(actor, Action::Read)?;
        let mut s = self.store().session().await?;
        let scope: Option<Vec<i64>> = actor.scope.as_ref().map(|s| s.iter().copied().collect());
        Ok(s.all_assets(scope.as_deref()).await?)
    }

    /// Hardware reaching end of life, the end of its support (its warranty, or a maintenance or warranty
    /// contract covering it today, whichever ends later) or the end of its lease in the next `months` months, those already past it
    /// included and counted apart, by model, cost centre and currency, with a replacement budget from each
    /// model's latest purchase price in that currency (or in any, when it was never bought in that one), among
    /// the assets the user may read.
    pub async fn refresh_plan(&self, actor: &Actor, months: u32) -> Result<RefreshPlan, AppError> {
        if months == 0 || months > 120 {
            return Err(AppError::bad_param("months", "must be from 1 to 120"));
        }
        let until = add_months(self.today(), i64::from(months));
        let assets = self.scoped_assets(actor).await?;
        // A model's current price in a currency: the cost of its most recently bought asset in that currency
        // (the later id on the same day), among the assets the user may read (a user limited to cost centres
        // is not told what others paid); and its latest price in any currency, for a model never bought in an
        // asset's own.
        type Latest = (Date, i64, Decimal, itemize_core::Currency);
        let mut price: HashMap<(String, itemize_core::Currency), Latest> = HashMap::new();
        let mut any_currency: HashMap<String, Latest> = HashMap::new();
        for a in &assets {
            if let (Some(m), Some(d), Some(c)) =
                (&a.fields.model, a.fields.purchase_date, a.fields.purchase_cost)
            {
                let this = (d, a.id, c, a.fields.currency);
                for e in [
                    price.entry((m.clone(), a.fields.currency)).or_insert(this),
                    any_currency.entry(m.clone()).or_insert(this),
                ] {
                    if (d, a.id) > (e.0, e.1) {
                        *e = this;
                    }
                }
            }
        }
        // An asset under a maintenance or warranty contract in force today (started, and its current term, as
        // the renewal calendar computes it for an auto-renewing one, not ended) is supported until the cover
        // ends: the latest such end per asset.
        let today = self.today();
        let mut s = self.store().session().await?;
        let mut cover: HashMap<i64, Date> = HashMap::new();
        // A leased asset goes back (or is bought out) when its lease ends: due then, unless the lease renews
        // itself. The earliest such end per asset.
        let mut lease_end: HashMap<i64, Date> = HashMap::new();
        for c in s.contracts().await? {
            if !matches!(c.kind.as_str(), "maintenance" | "warranty" | "lease") || c.archived_at.is_some() {
                continue;
            }
            let Some((start, end, _)) = term_on(&c, today) else { continue };
            if start > today || end < today {
                continue;
            }
            if c.kind == "lease" {
                if c.renewal != "auto" {
                    for a in c.asset_ids {
                        let e = lease_end.entry(a).or_insert(end);
                        *e = (*e).min(end);
                    }
                }
                continue;
            }
            // An auto-renewing cover goes on past its current term (until someone gives notice and archives it):
            // it does not make the asset due at the term's end.
            let end = if c.renewal == "auto" { Date::MAX } else { end };
            for a in c.asset_ids {
                let e = cover.entry(a).or_insert(end);
                *e = (*e).max(end);
            }
        }
        drop(s);
        let mut groups: BTreeMap<(String, Option<i64>, String), RefreshGroup> = BTreeMap::new();
        for a in assets.iter().filter(|a| {
            a.fields.class.family() == "hardware" && a.state.is_owned() && a.state != State::Retired
        }) {
            // Due at its end of life, or when its support ends: the later of its warranty end and its cover's end
            // (a cover ending inside the window leaves it due then). A cover does not postpone the end of life, and
            // an asset without a warranty end is due at its end of life only, cover or not.
            let support = a.fields.warranty_end.map(|w| cover.get(&a.id).map_or(w, |c| w.max(*c)));
            let due = [eol(a), support, lease_end.get(&a.id).copied()].into_iter().flatten().min();
            let Some(due) = due.filter(|d| *d <= until) else { continue };
            let model = a.fields.model.clone().unwrap_or_else(|| format!("(no model: {})", a.fields.class));
            let p = price.get(&(model.clone(), a.fields.currency)).or_else(|| any_currency.get(&model));
            // One group per model, cost centre and the currency it is priced in (the assets' own, unless the
            // model was never bought in it).
            let priced_in = p.map_or(a.fields.currency, |p| p.3);
            let key = (model.clone(), a.fields.cost_centre_id, priced_in.code().to_string());
            let g = groups.entry(key).or_insert_with(|| RefreshGroup {
                model: model.clone(),
                cost_centre_id: a.fields.cost_centre_id,
                count: 0,
                already_due: 0,
                unit_price: p.map(|p| p.2.to_string()),
                currency: priced_in.code().to_string(),
                budget: None,
                asset_ids: Vec::new(),
                asset_due: Vec::new(),
                first_due: due,
            });
            g.count += 1;
            g.already_due += usize::from(due < today);
            g.asset_ids.push(a.id);
            g.asset_due.push(due);
            g.first_due = g.first_due.min(due);
        }
        let mut total: BTreeMap<String, Decimal> = BTreeMap::new();
        let mut unpriced = 0;
        let mut out: Vec<RefreshGroup> = groups.into_values().collect();
        for g in &mut out {
            match g.unit_price.as_ref().and_then(|p| p.parse::<Decimal>().ok()) {
                Some(p) => {
                    let b = p * Decimal::from(g.count as u64);
                    *total.entry(g.currency.clone()).or_default() += b;
                    g.budget = Some(b.to_string());
                }
                None => unpriced += g.count,
            }
        }
        out.sort_by(|a, b| {
            a.first_due
                .cmp(&b.first_due)
                .then(a.model.cmp(&b.model))
                .then(a.cost_centre_id.cmp(&b.cost_centre_id))
        });
        // At the latest rates imported on or before today (an estimate need not wait for today's fixing).
        let table = self.rate_table().await?;
        let at = table.latest_day(today).unwrap_or(today);
        let (reporting_total, reporting_missing) =
            match in_currency(&table, &total, self.config().reporting_currency, at) {
                Ok(t) => (Some(t), None),
                Err(missing) => (None, Some(missing)),
            };
        Ok(RefreshPlan {
            months,
            until,
            groups: out,
            total: total.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
            unpriced_assets: unpriced,
            reporting_total,
            reporting_missing,
        })
    }

    // ---- costs, depreciation, TCO ---------------------------------------------------------------------

    /// Records a one-off cost (repair, upgrade, maintenance visit) against an asset.
    pub async fn add_asset_cost(
        &self,
        actor: &Actor,
        asset_id: i64,
        input: Value,
    ) -> Result<AssetCostRow, AppError> {
        allow(actor, Action::Write)?;
        let a = self.get_asset(actor, asset_id).await?;
        let mut p = Problems::default();
        let get = |k: &str| {
            input.get(k).map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        };
        if let Some(obj) = input.as_object() {
            for k in obj.keys() {
                if !["date", "kind", "amount", "currency", "reference"].contains(&k.as_str()) {
                    p.add(k, "is not a known field");
                }
            }
        }
        let date = p.date("date", get("date"), true);
        let kind = get("kind").map(|k| k.to_lowercase()).unwrap_or_else(|| "repair".into());
        if !COST_KINDS.contains(&kind.as_str()) {
            p.add("kind", format!("must be one of {}", COST_KINDS.join(", ")));
        }
        let currency = p
            .parsed::<itemize_core::Currency>("currency", get("currency"), false)
            .unwrap_or(a.fields.currency);
        let amount = money_amount(&mut p, "amount", input.get("amount").cloned(), currency);
        if amount.is_none() && !p.has("amount") {
            p.add("amount", "is required");
        }
        let reference = p.optional_text("reference", get("reference"), 200);
        p.finish(|| ()).map_err(AppError::Validation)?;
        let mut row = AssetCostRow {
            id: 0,
            asset_id,
            cost_date: date.map(|d| d.to_string()).unwrap_or_default(),
            kind,
            amount: amount.unwrap_or_default().to_string(),
            currency: currency.code().to_string(),
            reference,
        };
        let mut tx = self.store().transaction().await?;
        let now = self.clock().now();
        row.id = tx.insert_asset_cost(&row, now).await?;
        tx.append_asset_events(&[(
            asset_id,
            now,
            &actor.name,
            "cost",
            serde_json::to_value(&row).unwrap_or_default(),
        )])
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The asset's depreciation schedule, its book value today and at `at` (any date: before the purchase it is
    /// the cost, after the last month the salvage value).
    pub async fn depreciation_schedule(
        &self,
        actor: &Actor,
        asset_id: i64,
        at: Option<Date>,
    ) -> Result<Schedule, AppError> {
        let a = self.get_asset(actor, asset_id).await?;
        let today = self.today();
        let at = at.unwrap_or(today);
        let (mut months, mut book_today, mut book_at) = match a.fields.plan() {
            Some(p) => {
                let refused = |e: itemize_core::assets::PlanError| AppError::Refused(e.to_string());
                let m = p.schedule().map_err(refused)?;
                (m, p.book_value_at(today).map_err(refused)?, p.book_value_at(at).map_err(refused)?)
            }
            None => {
                let cost = a.fields.purchase_cost.unwrap_or_default();
                (Vec::new(), cost, cost)
            }
        };
        // Off the books as the ledger posting counts it: depreciated through the month it left them, then
        // written off (the ledger's write-off line), so nothing is left to depreciate or to be worth.
        let mut s = self.store().session().await?;
        let history = crate::asset_ledger::book_history_of(&mut s, asset_id).await?;
        drop(s);
        let left = OnBooks::of(&a, Some(&history)).and_then(|o| {
            let how = match (o.lost, &a.disposal) {
                (Some((d, how)), _) if o.left == Some(d.first_of_month()) => how,
                _ => "disposed",
            };
            o.left.map(|l| (l, how))
        });
        let mut written_off = None;
        if let Some((left, how)) = left {
            let mut zero = Decimal::ZERO;
            zero.rescale(a.fields.currency.minor_units());
            // The value written off: what the schedule leaves at the end of that month (the cost when it had
            // not begun).
            let value = months
                .iter()
                .rev()
                .find(|m| m.month <= left)
                .map(|m| m.closing)
                .or(months.first().filter(|m| m.month > left).map(|m| m.opening))
                .unwrap_or(book_today);
            months.retain(|m| m.month <= left);
            if today.first_of_month() >= left {
                book_today = zero;
            }
            if at.first_of_month() >= left {
                book_at = zero;
            }
            written_off = Some(WriteOff {
                how: how.to_string(),
                month: format!("{:04}-{:02}", left.year(), left.month()),
                book_value: value.to_string(),
            });
        }
        Ok(Schedule {
            asset_id,
            currency: a.fields.currency.code().to_string(),
            method: a.fields.depreciation_method.as_str().to_string(),
            months,
            book_value_today: book_today.to_string(),
            as_of: at.to_string(),
            book_value: book_at.to_string(),
            written_off,
        })
    }

    /// Monthly depreciation expense per cost centre over `[from, to]` (months, inclusive), of the assets on the
    /// books in each month as the ledger posting counts them ([`OnBooks`]): none requested or on order, none
    /// after the month it was lost, stolen or disposed of.
    pub async fn depreciation_by_cost_centre(
        &self,
        actor: &Actor,
        from: Date,
        to: Date,
    ) -> Result<Vec<CostCentreSchedule>, AppError> {
        if to < from {
            return Err(AppError::bad_param("to", format!("is {to}, before `from` ({from})")));
        }
        if months_between(from, to) > 240 {
            return Err(AppError::bad_param("to", "is more than 20 years after `from`"));
        }
        let (from, to) = (from.first_of_month(), to.first_of_month());
        // Every asset, and each month kept for a scoped user when the cost centre that held the asset that month
        // is theirs (an asset moved out of their cost centre since still counts for the months it was theirs).
        allow(actor, Action::Read)?;
        let assets = self.store().session().await?.all_assets(None).await?;
        let (lost, moves) = {
            let mut s = self.store().session().await?;
            (book_histories(&mut s).await?, crate::asset_ledger::cost_centre_changes(&mut s).await?)
        };
        let mut by: BTreeMap<(Option<i64>, String), MonthsAndAssets> = BTreeMap::new();
        for a in assets {
            let Some(books) = OnBooks::of(&a, lost.get(&a.id)) else { continue };
            let Some(plan) = a.fields.plan() else { continue };
            let Ok(months) = plan.schedule() else { continue };
            for (month, expense) in books.charged(&months, from, to) {
                let cc = crate::asset_ledger::cost_centre_in(&a, &moves, month);
                if let Some(scope) = &actor.scope
                    && !cc.is_some_and(|c| scope.contains(&c))
                {
                    continue;
                }
                let e = by.entry((cc, a.fields.currency.code().to_string())).or_default();
                *e.0.entry(month.strftime("%Y-%m").to_string()).or_default() += expense;
                e.1.insert(a.id);
            }
        }
        Ok(by
            .into_iter()
            .map(|((cc, cur), (months, assets))| CostCentreSchedule {
                cost_centre_id: cc,
                currency: cur,
                total: months.values().copied().sum::<Decimal>().to_string(),
                months: months.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
                assets: assets.len(),
            })
            .collect())
    }

    /// Total cost of ownership: purchase + covering contracts' shares + one-off costs.
    pub async fn tco(&self, actor: &Actor, asset_id: i64) -> Result<Tco, AppError> {
        let a = self.get_asset(actor, asset_id).await?;
        let mut s = self.store().session().await?;
        let costs = s.asset_costs(Some(asset_id)).await?;
        let contracts = s.contracts().await?;
        drop(s);
        let cur = a.fields.currency.code().to_string();
        let purchase = a.fields.purchase_cost.unwrap_or_default();
        let mut total = purchase;
        let mut other: BTreeMap<String, Decimal> = BTreeMap::new();
        let mut add = |amount: Decimal, currency: &str, total: &mut Decimal| {
            if currency == cur {
                *total += amount;
            } else {
                *other.entry(currency.to_string()).or_default() += amount;
            }
        };
        let mut shares = Vec::new();
        let today = self.today();
        for c in contracts.iter().filter(|c| c.asset_ids.contains(&asset_id) && c.kind != "purchase") {
            // A contract's value is what one term of it is worth (start to end date as entered); the billing
            // frequency says only how that is invoiced (a 36-month lease billed monthly carries the 36 months'
            // total), so it does not change the amount. The entered term counts once signed; an auto-renewing
            // contract costs its value again for each renewal term started by today, counted as the renewal
            // calendar counts them, or by the day it was archived (archiving ends it).
            let value: Decimal = c.value.parse().unwrap_or_default();
            let terms = 1 + term_on(c, term_day(c, today)).map_or(0, |(_, _, renewed)| renewed);
            let whole = value * Decimal::from(terms);
            // Split evenly at the currency's minor units, rounded down; the remainder goes to the covered asset
            // with the lowest id, so the shares add up to the whole.
            let scale = c.currency.parse::<itemize_core::Currency>().map_or(2, |c| c.minor_units());
            let covers = Decimal::from(c.asset_ids.len() as u64);
            let even = (whole / covers).round_dp_with_strategy(scale, rust_decimal::RoundingStrategy::ToZero);
            let mut share = if c.asset_ids.iter().min() == Some(&asset_id) {
                whole - even * (covers - Decimal::ONE)
            } else {
                even
            };
            share.rescale(scale);
            add(share, &c.currency, &mut total);
            shares.push(
                json!({"contract_id": c.id, "number": c.number, "kind": c.kind, "share": share.to_string(),
                "currency": c.currency, "covers": c.asset_ids.len(), "terms": terms}),
            );
        }
        for c in &costs {
            add(c.amount.parse().unwrap_or_default(), &c.currency, &mut total);
        }
        let mut cloud = None;
        if a.fields.resource_id.is_some() && self.cost_allow(actor, Action::Read).is_ok() {
            let r = self.asset_resource_cost(actor, asset_id).await?;
            add(r.effective_total.parse().unwrap_or_default(), &r.currency, &mut total);
            cloud = Some(
                json!({"resource_id": r.resource_id, "effective": r.effective_total, "currency": r.currency,
                "months": r.months.len()}),
            );
        }
        // As the asset's schedule gives it: nothing once written off.
        let book = match a.fields.plan() {
            Some(_) => {
                self.depreciation_schedule(actor, asset_id, None).await.ok().map(|s| s.book_value_today)
            }
            None => None,
        };
        total.rescale(a.fields.currency.minor_units());
        // The other currencies at today's rates, each named: one total of ownership in the asset's currency.
        let (mut total_converted, mut rates) = (None, Vec::new());
        if !other.is_empty() {
            let mut all = other.clone();
            *all.entry(cur.clone()).or_default() += total;
            match in_currency(&self.rate_table().await?, &all, a.fields.currency, today) {
                Ok(t) => {
                    rates = t
                        .rates
                        .iter()
                        .map(|(code, rate, on)| {
                            format!("1 {code} = {} {cur} ({on})", crate::rates::rate_text(rate))
                        })
                        .collect();
                    total_converted = Some(t.amount);
                }
                Err(missing) => rates.push(missing),
            }
        }
        Ok(Tco {
            asset_id,
            total_converted,
            rates,
            currency: cur,
            purchase: purchase.to_string(),
            contracts: shares,
            one_off: costs,
            cloud,
            total: total.to_string(),
            other_currencies: other.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
            book_value_today: book,
        })
    }

    // ---- physical audits ------------------------------------------------------------------------------

    /// Starts an audit of a location: what is expected there is fixed now.
    pub async fn start_audit(&self, actor: &Actor, location_id: i64) -> Result<AuditView, AppError> {
        allow_audit(actor)?;
        if location_id <= 0 {
            return Err(AppError::Validation(vec![FieldError::new(
                "location_id",
                "is required: the location to audit",
            )]));
        }
        let mut tx = self.store().transaction().await?;
        if tx.existing_ids(Kind::Location, &[location_id]).await?.is_empty() {
            return Err(AppError::Validation(vec![FieldError::new(
                "location_id",
                format!("location {location_id} does not exist"),
            )]));
        }
        // A site's audit covers its buildings, floors and rooms: the location and every one within it.
        let places = tx.all::<itemize_core::refdata::Location>(true).await?;
        let parent: HashMap<i64, i64> =
            places.iter().filter_map(|l| l.fields.parent_id.map(|p| (l.id.get(), p.get()))).collect();
        // (At most one step per location: the hierarchy has no cycles, and this never loops if one slipped in.)
        let within = |outer: i64, mut inner: i64| {
            for _ in 0..=places.len() {
                if inner == outer {
                    return true;
                }
                match parent.get(&inner) {
                    Some(p) => inner = *p,
                    None => return false,
                }
            }
            false
        };
        let covered: Vec<i64> =
            places.iter().map(|l| l.id.get()).filter(|l| within(location_id, *l)).collect();
        // One open audit per place: two at once (of a building and one of its floors, say) would each mark as
        // missing what the other found.
        if let Some(open) = tx.audits(None).await?.into_iter().find(|a| {
            a.closed_at.is_none()
                && (within(location_id, a.location_id) || within(a.location_id, location_id))
        }) {
            let which =
                if open.location_id == location_id { "this location" } else { "a place within or around it" };
            return Err(AppError::Refused(format!(
                "audit {} of {which} is still open: finish and close it before starting another",
                open.id
            )));
        }
        let mut expected = Vec::new();
        for place in if covered.is_empty() { vec![location_id] } else { covered } {
            expected.extend(tx.asset_ids_at(place).await?);
        }
        expected.sort_unstable();
        let id = tx.start_audit(location_id, &actor.name, &expected, self.clock().now()).await?;
        tx.commit().await?;
        self.audit_view(actor, id).await
    }

    /// Records one scan (a tag or serial, as a barcode scanner types it) in an open audit.
    pub async fn scan(&self, actor: &Actor, audit_id: i64, input: &str) -> Result<ScanRow, AppError> {
        allow_audit(actor)?;
        let input = input.trim();
        if input.is_empty() {
            return Err(AppError::Validation(vec![FieldError::new("input", "scan a tag or serial number")]));
        }
        // A scanner sends one code and a line end; several lines at once are several scans pasted together, which
        // would be kept as one unknown scan.
        let lines = input.lines().filter(|l| !l.trim().is_empty()).count();
        if lines > 1 {
            return Err(AppError::Validation(vec![FieldError::new(
                "input",
                format!("one tag or serial per scan: this holds {lines} lines; scan them one at a time"),
            )]));
        }
        let mut tx = self.store().transaction().await?;
        let audit = tx
            .audits(Some(audit_id))
            .await?
            .pop()
            .ok_or(AppError::NotFound { kind: "audit", id: audit_id.to_string() })?;
        if audit.status != "open" {
            return Err(AppError::Refused(format!("audit {audit_id} is closed")));
        }
        let asset = tx.asset_by_key(input).await.map_err(store_err)?;
        let earlier = tx.scans(audit_id).await?;
        let result = match &asset {
            None => "unknown",
            Some(a) if earlier.iter().any(|s| s.asset_id == Some(a.id)) => "repeat",
            Some(a) if a.state == State::Disposed => "disposed",
            Some(a) if audit.expected.contains(&a.id) => "found",
            Some(_) => "unexpected",
        };
        let mut row = ScanRow {
            id: 0,
            audit_id,
            input: input.to_string(),
            asset_id: asset.as_ref().map(|a| a.id),
            result: result.to_string(),
            scanned_at: self.clock().now(),
        };
        row.id = tx.insert_scan(&row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Closes an audit: every asset scanned gets its last-audited date, and one that was missing is back in
    /// stock; with `mark_missing`, expected assets that were not found become missing.
    pub async fn close_audit(
        &self,
        actor: &Actor,
        audit_id: i64,
        mark_missing: bool,
    ) -> Result<AuditView, AppError> {
        allow_audit(actor)?;
        let view = self.audit_view(actor, audit_id).await?;
        if view.status != "open" {
            return Err(AppError::Refused(format!("audit {audit_id} is already closed")));
        }
        let now = self.clock().now();
        let mut tx = self.store().transaction().await?;
        let scanned: Vec<i64> = view.found.iter().chain(view.unexpected.iter()).copied().collect();
        let mut recovered = Vec::new();
        for a in tx.assets_by_ids(&scanned).await? {
            if a.state == State::Missing {
                recovered.push(a.id);
            }
            let mut next = a.clone();
            next.last_audited_at = Some(now);
            next.version += 1;
            next.updated_at = now;
            let mut detail = json!({"audit_id": audit_id, "result": if view.found.contains(&a.id) { "found" } else { "unexpected" }});
            if view.unexpected.contains(&a.id) {
                // Found somewhere else: the audit's location is where it is now.
                next.fields.location_id = Some(view.location_id);
                next.custody.location_id = Some(view.location_id);
                detail["location"] = Value::Object(diff(
                    &json!({"location_id": a.fields.location_id}),
                    &json!({"location_id": view.location_id}),
                ));
            }
            if !tx.update_asset(&next, a.version).await.map_err(store_err)? {
                return Err(AppError::Refused(format!(
                    "asset {} changed during the audit; close again",
                    a.id
                )));
            }
            tx.append_asset_events(&[(a.id, now, &actor.name, "audited", detail)]).await?;
        }
        // What was missing and has been scanned is found: in stock where the audit found it.
        for id in recovered {
            let input = itemize_core::assets::TransitionInput {
                to: Some("in-stock".into()),
                reason: Some(format!("found in audit {audit_id}")),
                ..Default::default()
            };
            self.transition_in(&mut tx, actor, id, None, input, "transition").await?;
        }
        if mark_missing {
            for id in &view.missing {
                let input = itemize_core::assets::TransitionInput {
                    to: Some("missing".into()),
                    reason: Some(format!("not found in audit {audit_id}")),
                    ..Default::default()
                };
                // An asset that cannot go missing from its state (retired, already missing) stays as it is:
                // the transition is checked before it writes anything.
                match self.transition_in(&mut tx, actor, *id, None, input, "transition").await {
                    Ok(_) | Err(AppError::Validation(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        // Stamps, moves, missing assets and the closing itself: one transaction, all or nothing.
        tx.close_audit(audit_id, now).await?;
        tx.commit().await?;
        self.audit_view(actor, audit_id).await
    }

    pub async fn audit_view(&self, actor: &Actor, audit_id: i64) -> Result<AuditView, AppError> {
        allow(actor, Action::Read)?;
        let mut s = self.store().session().await?;
        let audit = s
            .audits(Some(audit_id))
            .await?
            .pop()
            .ok_or(AppError::NotFound { kind: "audit", id: audit_id.to_string() })?;
        let scans = s.scans(audit_id).await?;
        let view = view_of(audit, &scans);
        drop(s);
        self.scoped_view(actor, view).await
    }

    pub async fn audits(&self, actor: &Actor) -> Result<Vec<AuditView>, AppError> {
        allow(actor, Action::Read)?;
        let mut s = self.store().session().await?;
        let mut out = Vec::new();
        for a in s.audits(None).await? {
            let scans = s.scans(a.id).await?;
            out.push(view_of(a, &scans));
        }
        drop(s);
        let mut scoped = Vec::with_capacity(out.len());
        for v in out {
            scoped.push(self.scoped_view(actor, v).await?);
        }
        Ok(scoped)
    }

    /// What of an audit an actor limited to cost centres sees: their own assets only (the counts and the
    /// accuracy over those), and none of the scans that matched no asset.
    async fn scoped_view(&self, actor: &Actor, mut v: AuditView) -> Result<AuditView, AppError> {
        if actor.scope.is_none() {
            return Ok(v);
        }
        let ids: Vec<i64> = v.found.iter().chain(&v.missing).chain(&v.unexpected).copied().collect();
        let mut s = self.store().session().await?;
        let seen: HashSet<i64> = s
            .assets_by_ids(&ids)
            .await
            .map_err(store_err)?
            .iter()
            .filter(|a| sees(actor, a))
            .map(|a| a.id)
            .collect();
        for list in [&mut v.found, &mut v.missing, &mut v.unexpected] {
            list.retain(|id| seen.contains(id));
        }
        v.unknown.clear();
        v.expected = v.found.len() + v.missing.len();
        v.accuracy = pct(v.found.len(), v.expected);
        Ok(v)
    }

    // ---- governance -----------------------------------------------------------------------------------

    /// Data-quality measures and the assets breaking the required-field policy.
    pub async fn asset_governance(&self, actor: &Actor) -> Result<Governance, AppError> {
        let assets = self.scoped_assets(actor).await?;
        let mut s = self.store().session().await?;
        let settings = load_settings(&mut s).await?;
        let audits = s.audits(None).await?;
        let mut expected = 0;
        let mut found = 0;
        // Over the assets the actor sees: a user limited to cost centres gets their own accuracy.
        let theirs: Option<HashSet<i64>> =
            actor.scope.as_ref().map(|_| assets.iter().map(|a| a.id).collect());
        for a in audits.iter().filter(|a| a.status == "closed") {
            let scans = s.scans(a.id).await?;
            let counted = a.expected.iter().filter(|id| theirs.as_ref().is_none_or(|t| t.contains(id)));
            for id in counted {
                expected += 1;
                found += usize::from(scans.iter().any(|x| x.asset_id == Some(*id)));
            }
        }
        drop(s);
        let owned: Vec<&Asset> = assets.iter().filter(|a| a.state.is_owned()).collect();
        let checks: [(&str, Check); 5] = [
            ("owner", |a| a.custody.assignee_person_id.is_some() || a.custody.service_id.is_some()),
            ("location", |a| a.fields.location_id.is_some()),
            ("cost_centre", |a| a.fields.cost_centre_id.is_some()),
            ("purchase_date", |a| a.fields.purchase_date.is_some()),
            ("warranty_end", |a| a.fields.warranty_end.is_some()),
        ];
        let mut coverage = BTreeMap::new();
        let mut counts = BTreeMap::new();
        for (name, f) in checks {
            let n = owned.iter().filter(|a| f(a)).count();
            coverage.insert(name.to_string(), pct(n, owned.len()));
            counts.insert(name.to_string(), n);
        }
        let mut violations = Vec::new();
        for a in &owned {
            let mut missing: Vec<String> = Vec::new();
            for key in ["*", a.fields.class.as_str()] {
                for f in settings.required_fields.get(key).into_iter().flatten() {
                    let has = if f == "owner" {
                        a.custody.assignee_person_id.is_some() || a.custody.service_id.is_some()
                    } else {
                        a.fields.has_field(f)
                    };
                    if !has && !missing.contains(f) {
                        missing.push(f.clone());
                    }
                }
            }
            if !missing.is_empty() {
                violations.push(json!({"asset_id": a.id, "tag": a.fields.tag, "class": a.fields.class, "missing": missing}));
            }
        }
        let mut by_state = BTreeMap::new();
        for a in &assets {
            *by_state.entry(a.state.as_str().to_string()).or_insert(0) += 1;
        }
        Ok(Governance {
            assets: owned.len(),
            coverage,
            counts,
            violations,
            by_state,
            inventory_accuracy: (expected > 0).then(|| pct(found, expected)),
        })
    }
}

/// Expense per month (YYYY-MM) and the assets it came from.
type MonthsAndAssets = (BTreeMap<String, Decimal>, HashSet<i64>);
/// A data-quality test of one asset.
type Check = fn(&Asset) -> bool;

/// An asset's end of life: the date given, or its in-service (else purchase) date plus its useful life.
pub fn eol(a: &Asset) -> Option<Date> {
    a.fields.end_of_life.or_else(|| {
        let start = a.fields.in_service_date.or(a.fields.purchase_date)?;
        Some(add_months(start, i64::from(a.fields.useful_life_months?)))
    })
}

fn contract_visible(actor: &Actor, c: &ContractRow) -> bool {
    match &actor.scope {
        None => true,
        Some(s) => c.cost_centre_id.is_some_and(|cc| s.contains(&cc)),
    }
}

async fn check_contract_refs(s: &mut itemize_store::Session, c: &ContractRow) -> Result<(), AppError> {
    let mut errs = Vec::new();
    for (field, kind, id) in [
        ("vendor_id", Kind::Vendor, c.vendor_id),
        ("owner_person_id", Kind::Person, c.owner_person_id),
        ("cost_centre_id", Kind::CostCentre, c.cost_centre_id),
    ] {
        if let Some(id) = id
            && s.existing_ids(kind, &[id]).await?.is_empty()
        {
            errs.push(FieldError::new(field, format!("{} {id} does not exist", kind.singular())));
        }
    }
    let found: HashSet<i64> = s.assets_by_ids(&c.asset_ids).await?.into_iter().map(|a| a.id).collect();
    for a in c.asset_ids.iter().filter(|a| !found.contains(a)) {
        errs.push(FieldError::new("asset_ids", format!("asset {a} does not exist")));
    }
    if errs.is_empty() { Ok(()) } else { Err(AppError::Validation(errs)) }
}

/// An audit covers every asset at a location, whatever its cost centre: starting, scanning and closing one is
/// for asset managers and administrators, never for a user limited to cost centres.
fn allow_audit(actor: &Actor) -> Result<(), AppError> {
    allow(actor, Action::Write)?;
    if actor.scope.is_some() {
        return Err(AppError::Forbidden(
            "an audit covers every asset at a location, whatever its cost centre: users limited to cost centres \
             cannot run one"
                .into(),
        ));
    }
    Ok(())
}

fn view_of(a: itemize_store::AuditRow, scans: &[ScanRow]) -> AuditView {
    let scanned: HashSet<i64> = scans.iter().filter_map(|s| s.asset_id).collect();
    let found: Vec<i64> = a.expected.iter().filter(|id| scanned.contains(id)).copied().collect();
    let missing: Vec<i64> = a.expected.iter().filter(|id| !scanned.contains(id)).copied().collect();
    let mut unexpected: Vec<i64> =
        scans.iter().filter(|s| s.result == "unexpected").filter_map(|s| s.asset_id).collect();
    unexpected.dedup();
    let disposed: Vec<i64> =
        scans.iter().filter(|s| s.result == "disposed").filter_map(|s| s.asset_id).collect();
    let unknown = scans.iter().filter(|s| s.result == "unknown").map(|s| s.input.clone()).collect();
    AuditView {
        id: a.id,
        location_id: a.location_id,
        status: a.status,
        started_by: a.started_by,
        started_at: a.started_at,
        closed_at: a.closed_at,
        expected: a.expected.len(),
        accuracy: pct(found.len(), a.expected.len()),
        found,
        missing,
        unexpected,
        disposed,
        unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use itemize_core::assets::AssetClass;

    #[test]
    fn an_auto_renewing_contract_rolls_on_by_its_term() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        // A year from 15 January 2025, seen on 22 November 2026: renewed once, to 14 January 2027.
        assert_eq!(current_term(d("2025-01-15"), d("2026-01-14"), d("2026-11-22")), (d("2027-01-14"), 1));
        // Not yet ended: as entered.
        assert_eq!(current_term(d("2026-02-01"), d("2027-01-31"), d("2026-11-22")), (d("2027-01-31"), 0));
        // Monthly from 15 January: the 14th of each month, four renewals to June.
        assert_eq!(current_term(d("2026-01-15"), d("2026-02-14"), d("2026-05-20")), (d("2026-06-14"), 4));
        // Yearly from 1 March 2023 (a leap day between): still the last day of February.
        assert_eq!(current_term(d("2023-03-01"), d("2024-02-29"), d("2026-03-01")), (d("2027-02-28"), 3));
        // A year from a leap day, entered as ending on 28 February: each later year ends on the last day of
        // February too (29 February in 2028), not a day later each year.
        assert_eq!(current_term(d("2024-02-29"), d("2025-02-28"), d("2025-06-01")), (d("2026-02-28"), 1));
        assert_eq!(current_term(d("2024-02-29"), d("2025-02-28"), d("2028-01-10")), (d("2028-02-29"), 3));
        assert_eq!(current_term(d("2024-02-29"), d("2025-02-28"), d("2028-03-15")), (d("2029-02-28"), 4));
        // Monthly from 31 January to 28 February: every month's last day.
        assert_eq!(current_term(d("2026-01-31"), d("2026-02-28"), d("2026-04-15")), (d("2026-04-30"), 2));
        assert_eq!(current_term(d("2026-01-31"), d("2026-02-28"), d("2026-11-22")), (d("2026-11-30"), 9));
        // Monthly from 31 January to 27 February (the day before the clamped anniversary): the day before the
        // 31st, or before the last day of a shorter month.
        assert_eq!(current_term(d("2026-01-31"), d("2026-02-27"), d("2026-03-15")), (d("2026-03-30"), 1));
        assert_eq!(current_term(d("2026-01-31"), d("2026-02-27"), d("2026-04-15")), (d("2026-04-29"), 2));
        // Ten years of monthly terms: found without walking from the start.
        assert_eq!(current_term(d("2016-01-01"), d("2016-01-31"), d("2026-11-22")), (d("2026-11-30"), 130));
        // A term of 10 days rolls in days; ending today is still the current term.
        assert_eq!(current_term(d("2026-01-01"), d("2026-01-10"), d("2026-01-25")), (d("2026-01-30"), 2));
        assert_eq!(current_term(d("2026-01-01"), d("2026-01-10"), d("2026-01-10")), (d("2026-01-10"), 0));
    }

    #[test]
    fn percentages_have_one_decimal() {
        assert_eq!(pct(1, 3), "33.3");
        assert_eq!(pct(0, 0), "100.0");
        assert_eq!(pct(2, 2), "100.0");
        assert_eq!(pct(2867, 2868), "99.9", "one missing is not all");
        assert_eq!(pct(1, 5000), "0.1", "one is not none");
        assert_eq!(pct(0, 5000), "0.0");
    }

    #[test]
    fn class_family_drives_refresh() {
        assert_eq!(AssetClass::CloudResource.family(), "cloud");
        assert_eq!(AssetClass::Laptop.family(), "hardware");
    }
}
