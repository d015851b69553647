//! Where the asset register meets the cost ledger.
//!
//! - **Depreciation as spend.** A month's depreciation expense is written as a generic spend file
//!   (`DATA_DIR/depreciation/depreciation-YYYY-MM.csv`: one line per cost centre, currency and asset class, plus
//!   one write-off line per asset disposed of, lost or stolen that month) and imported through the ordinary
//!   generic reader with [`DEPRECIATION_MAPPING`]. It is then a non-cloud spend line like any other: converted
//!   to the reporting currency, allocated by its cost centre, shown in statements. Posting the month again
//!   after the register changed restates it (same period, same account): the newer file replaces the older one,
//!   or, in a closed month, posts the difference into the next open month. The same file twice is a no-op.
//! - **Cloud cost beside cloud assets.** A cloud-resource asset's `resource_id` is the ledger's ResourceId: its
//!   cost per month comes straight from the ledger.

use crate::cost::{ImportOptions, ImportSummary, Progress};
use crate::ledger::{Dimension, LedgerQuery};
use crate::{App, AppError};
use itemize_core::assets::{Asset, State};
use itemize_core::auth::Actor;
use itemize_core::refdata::CostCentre;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

/// The mapping depreciation files are read through. Its name is the ledger's billing account, so each month
/// of depreciation is one (period, account) that a later posting restates.
pub const DEPRECIATION_MAPPING: &str = r#"# Monthly depreciation of the asset register, posted by itemize.
name = "Asset depreciation"

[columns]
period = "Period"
amount = "Amount"
currency = "Currency"
cost_centre = "Cost Centre"
gl_account = "GL Account"
service = "Service"
description = "Description"
tags = ["Asset Class"]

[defaults]
charge_category = "Purchase"
charge_frequency = "Recurring"
service_category = "Other"
"#;

/// The ledger's billing account of depreciation postings: the mapping's name.
pub const DEPRECIATION_ACCOUNT: &str = "Asset depreciation";

/// GL accounts of the posted lines.
pub const DEPRECIATION_GL_ACCOUNT: &str = "6810";
pub const DISPOSAL_GL_ACCOUNT: &str = "6890";

/// What posting a month did.
#[derive(Debug, Clone, Serialize)]
pub struct DepreciationPosting {
    pub period: String,
    pub file: PathBuf,
    /// Lines written: depreciation groups and write-offs.
    pub lines: usize,
    pub assets: usize,
    pub write_offs: usize,
    /// Total per currency, as posted (before conversion).
    pub totals: BTreeMap<String, String>,
    pub import: ImportSummary,
}

/// A cloud-resource asset's ledger cost, in the reporting currency.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceCost {
    pub asset_id: i64,
    pub resource_id: String,
    pub currency: String,
    /// (period, effective cost, billed cost), oldest first.
    pub months: Vec<(String, String, String)>,
    pub effective_total: String,
    pub billed_total: String,
    pub lines: u64,
}

/// One line of a depreciation file.
struct Line {
    cost_centre: String,
    currency: String,
    gl: &'static str,
    service: String,
    description: String,
    class: String,
    amount: Decimal,
}

/// The day an asset was written off as lost or stolen, from its history: the first move into lost or stolen
/// since it was last in stock or in use (a later retirement or disposal keeps that day).
fn written_off_at(events: &[itemize_store::AssetEvent]) -> Option<(Date, &'static str)> {
    let mut left = None;
    // Every move of state counts, whatever made it: a transition, a check-out or a check-in (a stolen laptop
    // found and checked back in is back on the books).
    for e in events {
        match e.detail["to"]["state"].as_str() {
            Some(how @ ("lost" | "stolen")) => {
                let how = if how == "lost" { "lost" } else { "stolen" };
                left = left.or(Some((e.at.to_zoned(jiff::tz::TimeZone::UTC).date(), how)));
            }
            Some("retired" | "disposed") => {}
            Some(_) => left = None,
            None => {}
        }
    }
    left
}

/// When each asset now lost, stolen, retired or disposed of was written off as lost or stolen (see
/// [`written_off_at`]), from its history.
pub(crate) async fn write_offs(
    s: &mut itemize_store::Session,
    assets: &[Asset],
) -> Result<HashMap<i64, (Date, &'static str)>, AppError> {
    let mut left_at = HashMap::new();
    for a in assets {
        if matches!(a.state, State::Lost | State::Stolen | State::Retired | State::Disposed) {
            let events = s.asset_events(a.id).await.map_err(crate::assets::store_err)?;
            if let Some(d) = written_off_at(&events) {
                left_at.insert(a.id, d);
            }
        }
    }
    Ok(left_at)
}

/// Each asset's cost-centre changes from its history (edits and import updates), oldest first: when, and the
/// cost centre before and after.
pub(crate) type CostCentreChanges = HashMap<i64, Vec<(jiff::Timestamp, Option<i64>, Option<i64>)>>;

pub(crate) async fn cost_centre_changes(
    s: &mut itemize_store::Session,
) -> Result<CostCentreChanges, AppError> {
    let mut out: CostCentreChanges = HashMap::new();
    for e in s.asset_events_of_kind(&["updated"]).await.map_err(crate::assets::store_err)? {
        if let Some(pair) = e.detail.pointer("/changes/cost_centre_id").and_then(serde_json::Value::as_array)
        {
            let id = |i: usize| pair.get(i).and_then(serde_json::Value::as_i64);
            out.entry(e.asset_id).or_default().push((e.at, id(0), id(1)));
        }
    }
    for v in out.values_mut() {
        v.sort_by_key(|c| c.0);
    }
    Ok(out)
}

/// The cost centre an asset had at the end of `month` (a month's first day): a month posted again after the asset
/// moved keeps charging the cost centre that had it then.
pub(crate) fn cost_centre_in(a: &Asset, changes: &CostCentreChanges, month: Date) -> Option<i64> {
    let Some(changes) = changes.get(&a.id) else { return a.fields.cost_centre_id };
    let end = month
        .last_of_month()
        .tomorrow()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp());
    let Some(end) = end else { return a.fields.cost_centre_id };
    match changes.iter().rev().find(|c| c.0 < end) {
        Some(&(_, _, after)) => after,
        None => changes.first().map_or(a.fields.cost_centre_id, |c| c.1),
    }
}

/// An asset's time on the books, as the ledger posting and the depreciation report both count it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OnBooks {
    /// When it was written off as lost or stolen, and which (from [`write_offs`]).
    pub(crate) lost: Option<(Date, &'static str)>,
    /// The first day of the month it left the books in: the earlier of the loss and the disposal.
    pub(crate) left: Option<Date>,
}

impl OnBooks {
    /// `None` for an asset not on the books yet (requested or on order). `lost` is its entry in [`write_offs`].
    pub(crate) fn of(a: &Asset, lost: Option<(Date, &'static str)>) -> Option<OnBooks> {
        if matches!(a.state, State::Requested | State::OnOrder) {
            return None;
        }
        let disposed = a.disposal.as_ref().filter(|_| a.state == State::Disposed).map(|d| d.date);
        let left = match (lost.map(|(d, _)| d), disposed) {
            (Some(l), Some(d)) => Some(l.min(d)),
            (l, d) => l.or(d),
        }
        .map(|d| d.first_of_month());
        Some(OnBooks { lost, left })
    }

    /// Whether it is on the books in `month` (a month's first day): it depreciates in the month it leaves them,
    /// and not after.
    pub(crate) fn in_month(&self, month: Date) -> bool {
        self.left.is_none_or(|l| month <= l)
    }
}

impl App {
    /// The month's depreciation (and write-offs) for every owned asset, as lines grouped for the ledger.
    async fn depreciation_lines(&self, month: Date) -> Result<(Vec<Line>, usize, usize), AppError> {
        let mut s = self.store().session().await?;
        let assets = s.all_assets(None).await.map_err(crate::assets::store_err)?;
        let ccs: HashMap<i64, String> =
            s.all::<CostCentre>(true).await?.into_iter().map(|c| (c.id.into(), c.fields.code)).collect();
        // When an asset that was lost or stolen left the books: the day it became lost or stolen, kept through a
        // later retirement or disposal, forgotten if it came back (to stock or use) before.
        let left_at = write_offs(&mut s, &assets).await?;
        let moves = cost_centre_changes(&mut s).await?;
        drop(s);
        let month = month.first_of_month();
        let mut groups: BTreeMap<(String, String, String), (Decimal, usize)> = BTreeMap::new();
        let mut lines = Vec::new();
        let mut counted = 0;
        for a in &assets {
            let Some(books) = OnBooks::of(a, left_at.get(&a.id).copied()) else { continue };
            let Some(plan) = a.fields.plan() else { continue };
            let Ok(schedule) = plan.schedule() else { continue };
            // Off the books from the earlier of the loss and the disposal.
            if !books.in_month(month) {
                continue; // off the books before this month
            }
            let OnBooks { lost, left } = books;
            let expense = schedule.iter().find(|m| m.month == month).map_or(Decimal::ZERO, |m| m.expense);
            let cc = cost_centre_in(a, &moves, month).and_then(|c| ccs.get(&c).cloned()).unwrap_or_default();
            let currency = a.fields.currency.code().to_string();
            if !expense.is_zero() {
                let g = groups.entry((cc.clone(), currency.clone(), a.fields.class.to_string())).or_default();
                g.0 += expense;
                g.1 += 1;
                counted += 1;
            }
            if left == Some(month) {
                // The book value left after this month's depreciation goes, less any sale proceeds.
                let accumulated: Decimal =
                    schedule.iter().filter(|m| m.month <= month).map(|m| m.expense).sum();
                let book = plan.cost - accumulated;
                // Written off by the loss when it came first (a later disposal of a lost asset sells nothing).
                let disposal = a.disposal.as_ref().filter(|_| lost.is_none());
                let proceeds: Decimal = disposal
                    .and_then(|d| d.proceeds.as_deref())
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_default();
                let amount = book - proceeds;
                if !amount.is_zero() {
                    let how = match (disposal, lost) {
                        (Some(d), _) => format!("{} ({})", d.method, d.reference),
                        (None, Some((_, how))) => how.to_string(),
                        (None, None) => a.state.to_string(),
                    };
                    lines.push(Line {
                        cost_centre: cc,
                        currency,
                        gl: DISPOSAL_GL_ACCOUNT,
                        service: "Asset disposals".into(),
                        description: format!(
                            "Write-off of {}: {how}; book value {book} less proceeds {proceeds}",
                            a.fields.tag
                        ),
                        class: a.fields.class.to_string(),
                        amount,
                    });
                }
            }
        }
        let period = month.strftime("%Y-%m").to_string();
        let groups: Vec<Line> = groups
            .into_iter()
            .map(|((cost_centre, currency, class), (amount, n))| Line {
                description: format!("Depreciation {period}: {n} {class} asset(s)"),
                service: "Hardware depreciation".into(),
                gl: DEPRECIATION_GL_ACCOUNT,
                cost_centre,
                currency,
                class,
                amount,
            })
            .collect();
        let write_offs = lines.len();
        Ok((groups.into_iter().chain(lines).collect(), counted, write_offs))
    }

    /// Posts a month's depreciation into the cost ledger (see the module documentation).
    pub async fn post_depreciation(
        &self,
        actor: &Actor,
        period: &str,
    ) -> Result<DepreciationPosting, AppError> {
        // Who may import cost may post depreciation; checked before anything else.
        self.cost_allow(actor, itemize_core::auth::Action::Write)?;
        crate::ledger::check_period("period", period)?;
        let month: Date = format!("{period}-01")
            .parse()
            .map_err(|_| crate::ledger::bad("period", format!("{period:?} is not a month")))?;
        let (mut lines, assets, write_offs) = self.depreciation_lines(month).await?;
        if lines.is_empty() {
            // Nothing depreciates in the month now. If an earlier posting of it is in the ledger (a cost since
            // corrected, a method set to none), one zero line restates it to nothing; otherwise there is nothing
            // to post.
            let earlier = self
                .store()
                .session()
                .await?
                .partition_history(&itemize_store::PartitionFilter {
                    period_from: Some(period.to_string()),
                    period_to: Some(period.to_string()),
                    billing_account_id: Some(DEPRECIATION_ACCOUNT.to_string()),
                    provider: None,
                })
                .await?
                .iter()
                .any(|p| p.status == "active");
            if !earlier {
                return Err(AppError::Refused(format!(
                    "no asset depreciates in {period}: nothing to post (assets need a purchase cost, a purchase \
                     date, a useful life and a depreciation method)"
                )));
            }
            lines.push(Line {
                cost_centre: String::new(),
                currency: self.config().reporting_currency.code().to_string(),
                gl: DEPRECIATION_GL_ACCOUNT,
                service: "Hardware depreciation".into(),
                description: format!("Depreciation {period}: no asset depreciates any more"),
                class: String::new(),
                amount: Decimal::ZERO,
            });
        }
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        let io = |e: csv::Error| AppError::Internal(format!("writing the depreciation file: {e}"));
        w.write_record([
            "Period",
            "Amount",
            "Currency",
            "Cost Centre",
            "GL Account",
            "Service",
            "Description",
            "Asset Class",
        ])
        .map_err(io)?;
        let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
        for l in &lines {
            *totals.entry(l.currency.clone()).or_default() += l.amount;
            w.write_record([
                period,
                &l.amount.to_string(),
                &l.currency,
                &l.cost_centre,
                l.gl,
                &l.service,
                &l.description,
                &l.class,
            ])
            .map_err(io)?;
        }
        let bytes = w.into_inner().map_err(|e| AppError::Internal(e.to_string()))?;
        let dir = self.config().data_dir.join("depreciation");
        std::fs::create_dir_all(&dir)
            .map_err(|e| AppError::Refused(format!("cannot create {}: {e}", dir.display())))?;
        let file = dir.join(format!("depreciation-{period}.csv"));
        std::fs::write(&file, &bytes)
            .map_err(|e| AppError::Refused(format!("cannot write {}: {e}", file.display())))?;
        let mapping = itemize_ingest::generic::Mapping::from_toml(DEPRECIATION_MAPPING)
            .map_err(|e| AppError::Internal(format!("the depreciation mapping: {e}")))?;
        // The month's file has the same bytes whenever the register gives the same figures: posted again after
        // another posting replaced it (a cost changed, then changed back), it must be read again and made current,
        // not taken as a duplicate of the replaced one.
        let opts = ImportOptions { mapping: Some(mapping), replace_newer: true, ..Default::default() };
        let import = self.import_cost_file(actor, &file, opts, Arc::new(Progress::default())).await?;
        if !matches!(import.status.as_str(), "active" | "duplicate") {
            // The first row's problem (an asset's currency without an exchange rate, say) says what to fix.
            let first = import
                .report
                .as_ref()
                .and_then(|r| r.errors.first())
                .map(|e| {
                    format!(
                        "; first: {} {}: {}",
                        e.column.as_deref().unwrap_or(""),
                        e.value.as_deref().unwrap_or(""),
                        e.reason
                    )
                })
                .unwrap_or_default();
            return Err(AppError::Refused(format!(
                "the depreciation of {period} was not posted: its import {} is {}: {}{first}",
                import.id,
                import.status,
                import.message.as_deref().unwrap_or("no reason given")
            )));
        }
        Ok(DepreciationPosting {
            period: period.to_string(),
            file,
            lines: lines.len(),
            assets,
            write_offs,
            totals: totals.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
            import,
        })
    }

    /// A cloud-resource asset's cost from the ledger, by month.
    pub async fn asset_resource_cost(&self, actor: &Actor, asset_id: i64) -> Result<ResourceCost, AppError> {
        let a = self.get_asset(actor, asset_id).await?;
        self.cost_allow(actor, itemize_core::auth::Action::Read)?;
        let Some(resource) = a.fields.resource_id.clone() else {
            return Err(AppError::Refused(format!(
                "asset {} has no resource_id: only assets linked to a provider's resource have ledger cost",
                a.fields.tag
            )));
        };
        let q = LedgerQuery {
            resource: Some(resource.clone()),
            group_by: vec![Dimension::Period],
            ..Default::default()
        };
        let t = self.ledger_totals(actor, &q).await?;
        Ok(ResourceCost {
            asset_id,
            resource_id: resource,
            currency: t.reporting_currency,
            months: t
                .rows
                .iter()
                .map(|r| {
                    let p = r.keys.first().cloned().flatten().unwrap_or_default();
                    (p, r.effective_cost.round_dp(2).to_string(), r.billed_cost.round_dp(2).to_string())
                })
                .collect(),
            effective_total: t.total.effective_cost.round_dp(2).to_string(),
            billed_total: t.total.billed_cost.round_dp(2).to_string(),
            lines: t.total.lines,
        })
    }
}
