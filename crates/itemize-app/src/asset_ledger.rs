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
    /// Assets lost or stolen in an earlier month and back this month: the write-off reversed, less the
    /// depreciation of the months away.
    pub reinstatements: usize,
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

/// A time an asset was off the books: written off as lost or stolen on `at`, and back in stock or use on
/// `back` if it came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Loss {
    pub(crate) at: Date,
    pub(crate) how: &'static str,
    pub(crate) back: Option<Date>,
}

/// An asset's losses from its history, oldest first: each begins with the first move into lost or stolen since
/// it was last in stock or in use (a later retirement or disposal keeps it going) and ends when it comes back.
fn losses_of<'e>(events: impl IntoIterator<Item = &'e itemize_store::AssetEvent>) -> Vec<Loss> {
    let day = |t: jiff::Timestamp| t.to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut out = Vec::new();
    let mut open: Option<(Date, &'static str)> = None;
    // Every move of state counts, whatever made it: a transition, a check-out or a check-in (a stolen laptop
    // found and checked back in is back on the books).
    for e in events {
        match e.detail["to"]["state"].as_str() {
            Some(how @ ("lost" | "stolen")) => {
                let how = if how == "lost" { "lost" } else { "stolen" };
                open = open.or(Some((day(e.at), how)));
            }
            Some("retired" | "disposed") => {}
            Some(_) => {
                if let Some((at, how)) = open.take() {
                    out.push(Loss { at, how, back: Some(day(e.at)) });
                }
            }
            None => {}
        }
    }
    out.extend(open.map(|(at, how)| Loss { at, how, back: None }));
    out
}

/// The events that move an asset's state.
const STATE_MOVES: [&str; 3] = ["transition", "check-out", "check-in"];

/// What an asset's history says of its time on the books.
#[derive(Debug, Clone, Default)]
pub(crate) struct BookHistory {
    /// Its losses (see [`losses_of`]).
    pub(crate) losses: Vec<Loss>,
    /// The day it was received: its first move out of requested or on order.
    pub(crate) received: Option<Date>,
    /// It left requested or on order straight for retired, disposed, lost or stolen: an order cancelled or
    /// never delivered, never on the books.
    pub(crate) never_received: bool,
}

/// Every asset's [`BookHistory`], read from the state moves in one query; assets never lost and never
/// received (imported or created in stock or in use) are absent.
pub(crate) async fn book_histories(
    s: &mut itemize_store::Session,
) -> Result<HashMap<i64, BookHistory>, AppError> {
    let events = s.asset_events_of_kind(&STATE_MOVES).await.map_err(crate::assets::store_err)?;
    let mut by_asset: HashMap<i64, Vec<&itemize_store::AssetEvent>> = HashMap::new();
    for e in &events {
        by_asset.entry(e.asset_id).or_default().push(e);
    }
    Ok(by_asset
        .into_iter()
        .map(|(id, evs)| (id, book_history(evs)))
        .filter(|(_, h)| !h.losses.is_empty() || h.received.is_some())
        .collect())
}

/// One asset's [`BookHistory`], from its own events (for one asset's schedule, without reading everyone's).
pub(crate) async fn book_history_of(
    s: &mut itemize_store::Session,
    asset_id: i64,
) -> Result<BookHistory, AppError> {
    let events = s.asset_events(asset_id).await.map_err(crate::assets::store_err)?;
    Ok(book_history(events.iter().filter(|e| STATE_MOVES.contains(&e.kind.as_str())).collect()))
}

/// What an asset's state moves, oldest first, say of its time on the books.
fn book_history(evs: Vec<&itemize_store::AssetEvent>) -> BookHistory {
    let ordered = |e: &itemize_store::AssetEvent, at: &str| {
        matches!(e.detail[at]["state"].as_str(), Some("requested" | "on-order"))
    };
    let left_order = evs.iter().find(|e| ordered(e, "from") && !ordered(e, "to"));
    let never_received = left_order.is_some_and(|e| {
        matches!(e.detail["to"]["state"].as_str(), Some("retired" | "disposed" | "lost" | "stolen"))
    });
    let received = left_order.map(|e| e.at.to_zoned(jiff::tz::TimeZone::UTC).date());
    BookHistory { losses: losses_of(evs), received, never_received }
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
#[derive(Debug, Clone)]
pub(crate) struct OnBooks {
    /// When it was written off as lost or stolen and has not come back, and which.
    pub(crate) lost: Option<(Date, &'static str)>,
    /// The first day of the month it left the books in: the earlier of the loss and the disposal.
    pub(crate) left: Option<Date>,
    /// Losses it came back from in a later month: (the month it was lost, the month it came back), first days.
    /// It is written off in the first and reinstated in the second; it is off the books in the months between.
    pub(crate) away: Vec<(Date, Date, &'static str)>,
    /// The first day of the month it was received in, when it was on order first: it depreciates from then on,
    /// the months of its schedule before then caught up in that month.
    pub(crate) from: Option<Date>,
}

impl OnBooks {
    /// `None` for an asset not on the books yet (requested or on order). `history` is its entry in
    /// [`book_histories`].
    pub(crate) fn of(a: &Asset, history: Option<&BookHistory>) -> Option<OnBooks> {
        if matches!(a.state, State::Requested | State::OnOrder) || history.is_some_and(|h| h.never_received) {
            return None;
        }
        let losses = history.map_or(&[][..], |h| h.losses.as_slice());
        let from = history.and_then(|h| h.received).map(|d| d.first_of_month());
        let lost = losses.iter().find(|l| l.back.is_none()).map(|l| (l.at, l.how));
        // A disposal dated before the asset was received or came back from a loss (entered late, or wrongly)
        // takes effect in that month: it cannot leave the books before it is on them again.
        let on_again = losses.iter().filter_map(|l| l.back).map(|d| d.first_of_month()).chain(from).max();
        let disposed = a
            .disposal
            .as_ref()
            .filter(|_| a.state == State::Disposed)
            .map(|d| d.date.first_of_month().max(on_again.unwrap_or(d.date.first_of_month())));
        let left = match (lost.map(|(d, _)| d.first_of_month()), disposed) {
            (Some(l), Some(d)) => Some(l.min(d)),
            (l, d) => l.or(d),
        };
        // A loss it came back from within the same month changes nothing.
        let away = losses
            .iter()
            .filter_map(|l| Some((l.at.first_of_month(), l.back?.first_of_month(), l.how)))
            .filter(|(from, back, _)| back > from)
            .collect();
        Some(OnBooks { lost, left, away, from })
    }

    /// Whether it is on the books in `month` (a month's first day): it depreciates in the month it leaves them,
    /// not after, and again from the month it comes back in.
    pub(crate) fn in_month(&self, month: Date) -> bool {
        self.from.is_none_or(|f| month >= f)
            && self.left.is_none_or(|l| month <= l)
            && !self.away.iter().any(|&(from, back, _)| month > from && month < back)
    }

    /// Its depreciation expense in `month` (a month's first day, on the books): the schedule's, and in the month
    /// it was received also that of the months of its schedule before, while it was on order (a schedule that
    /// starts at the purchase date is never posted short).
    pub(crate) fn expense(
        &self,
        schedule: &[itemize_core::assets::depreciation::Month],
        month: Date,
    ) -> Decimal {
        let caught_up = self.from == Some(month);
        schedule
            .iter()
            .filter(|m| m.month == month || (caught_up && m.month < month))
            .map(|m| m.expense)
            .sum()
    }

    /// The months of `schedule` within `[from, to]` it is charged in, with its expense in each (see
    /// [`OnBooks::expense`]).
    pub(crate) fn charged(
        &self,
        schedule: &[itemize_core::assets::depreciation::Month],
        from: Date,
        to: Date,
    ) -> Vec<(Date, Decimal)> {
        let mut months: Vec<Date> = schedule.iter().map(|m| m.month).collect();
        // Received after its schedule ended: all of it is caught up in the month it was received.
        months.extend(self.from.filter(|f| schedule.last().is_some_and(|m| m.month < *f)));
        months
            .into_iter()
            .filter(|m| *m >= from && *m <= to && self.in_month(*m))
            .map(|m| (m, self.expense(schedule, m)))
            .collect()
    }
}

impl App {
    /// The month's depreciation (and write-offs) for every owned asset, as lines grouped for the ledger.
    /// Also says how many assets depreciate, and how many lines write one off or reinstate one.
    async fn depreciation_lines(&self, month: Date) -> Result<(Vec<Line>, usize, usize, usize), AppError> {
        let mut s = self.store().session().await?;
        let assets = s.all_assets(None).await.map_err(crate::assets::store_err)?;
        let ccs: HashMap<i64, String> =
            s.all::<CostCentre>(true).await?.into_iter().map(|c| (c.id.into(), c.fields.code)).collect();
        // When an asset that was lost or stolen left the books: the day it became lost or stolen, kept through a
        // later retirement or disposal, forgotten if it came back (to stock or use) before.
        let histories = book_histories(&mut s).await?;
        // The months whose depreciation is in the ledger: a reinstatement reverses a write-off only where the
        // month of the loss was posted (posting may have begun after the loss, and then there is nothing to
        // reverse).
        let posted: std::collections::BTreeSet<String> = s
            .current_partitions(&itemize_store::PartitionFilter {
                billing_account_id: Some(DEPRECIATION_ACCOUNT.to_string()),
                ..Default::default()
            })
            .await?
            .into_iter()
            .map(|p| p.billing_period)
            .collect();
        let moves = cost_centre_changes(&mut s).await?;
        drop(s);
        let month = month.first_of_month();
        let mut groups: BTreeMap<(String, String, String), (Decimal, usize)> = BTreeMap::new();
        let mut lines = Vec::new();
        let mut counted = 0;
        let mut reinstatements = 0;
        for a in &assets {
            let Some(books) = OnBooks::of(a, histories.get(&a.id)) else { continue };
            let Some(plan) = a.fields.plan() else { continue };
            let Ok(schedule) = plan.schedule() else { continue };
            // Off the books from the earlier of the loss and the disposal.
            if !books.in_month(month) {
                continue; // off the books before this month
            }
            let expense = books.expense(&schedule, month);
            let OnBooks { lost, left, away, .. } = books;
            let cc = cost_centre_in(a, &moves, month).and_then(|c| ccs.get(&c).cloned()).unwrap_or_default();
            let currency = a.fields.currency.code().to_string();
            if !expense.is_zero() {
                let g = groups.entry((cc.clone(), currency.clone(), a.fields.class.to_string())).or_default();
                g.0 += expense;
                g.1 += 1;
                counted += 1;
            }
            // The book value after `through`'s depreciation.
            let book_after = |through: Date| -> Decimal {
                plan.cost - schedule.iter().filter(|m| m.month <= through).map(|m| m.expense).sum::<Decimal>()
            };
            for &(from, back, how) in &away {
                // Written off in the month it was lost, as if it would not come back (that month stays as posted
                // when it does); reinstated in the month it came back at the value it would carry then had it never
                // left, so the months away are depreciated once, in the reinstatement.
                let tag = &a.fields.tag;
                let (amount, description, reinstated) = if from == month {
                    let book = book_after(month);
                    (book, format!("Write-off of {tag}: {how}; book value {book} less proceeds 0"), false)
                } else if back == month && posted.contains(&from.strftime("%Y-%m").to_string()) {
                    let book = book_after(month.saturating_sub(jiff::ToSpan::months(1)));
                    let since = from.strftime("%Y-%m");
                    (
                        -book,
                        format!("Reinstatement of {tag}: {how} in {since}, back; book value {book}"),
                        true,
                    )
                } else {
                    continue;
                };
                if !amount.is_zero() {
                    reinstatements += usize::from(reinstated);
                    lines.push(Line {
                        cost_centre: cc.clone(),
                        currency: currency.clone(),
                        gl: DISPOSAL_GL_ACCOUNT,
                        service: "Asset disposals".into(),
                        description,
                        class: a.fields.class.to_string(),
                        amount,
                    });
                }
            }
            if left == Some(month) {
                // The book value left after this month's depreciation goes, less any sale proceeds.
                let book = book_after(month);
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
        let write_offs = lines.len() - reinstatements;
        Ok((groups.into_iter().chain(lines).collect(), counted, write_offs, reinstatements))
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
        // A month that has not begun has no depreciation to post yet (its rates, its disposals and losses are
        // not known): refused before anything is written, not as a rejected import left behind.
        let this_month = self.today().first_of_month();
        if month > this_month {
            return Err(crate::ledger::bad(
                "period",
                format!(
                    "{period} has not begun (today is {}): depreciation is posted for this month or earlier ones",
                    self.today()
                ),
            ));
        }
        let (mut lines, assets, write_offs, reinstatements) = self.depreciation_lines(month).await?;
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
            reinstatements,
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
