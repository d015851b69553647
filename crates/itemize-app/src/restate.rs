//! Restatements of closed periods. A closed period's cube and journal are final. When an import restates a
//! closed period's ledger (a provider's corrected bill, a late credit), the period is allocated again with the
//! rules in force for it and compared, key by key (provider, account, service, region, charge category,
//! service category, free dimensions, target), with what was closed plus the adjustments already posted for
//! it. The difference is posted into the next open period, whose cube then carries it as lines of its own
//! (rule `restatement of YYYY-MM`, method `adjustment`), in statements and in that period's journal.
//!
//! The difference is computed from scratch each time, so restating again posts only what changed since, and a
//! restatement that could not run after an import can be run later with the same result.

use crate::allocation::{cells_of, dec, next_period};
use crate::ledger::check_period;
use crate::{Actor, App, AppError};
use itemize_core::allocation::{CubeRow, Sums, Target};
use itemize_store::{AdjustmentRow, CubeCell};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Restatements summed by month: (billed, effective).
pub type RestatementSums = BTreeMap<String, (Decimal, Decimal)>;

/// The prefix of the rule name adjustment cells carry.
pub const RESTATEMENT_RULE: &str = "restatement of ";

/// What restating one closed period posted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restatement {
    pub source_period: String,
    pub posted_period: String,
    /// How many adjustment cells were posted (none when the period's allocation did not change).
    pub adjustments: usize,
    pub billed: Decimal,
    pub effective: Decimal,
}

/// Provider, account, service name, region, charge category, service category, dims, cost centre, service.
type Key = (String, String, String, String, String, String, String, Option<String>, Option<String>);

/// A cell's key, without its day, rule and method.
fn key(c: &CubeCell) -> Key {
    (
        c.provider.clone(),
        c.billing_account_id.clone(),
        c.service_name.clone(),
        c.region.clone(),
        c.charge_category.clone(),
        c.service_category.clone(),
        c.dims.clone(),
        c.cost_centre.clone(),
        c.service.clone(),
    )
}

#[derive(Default, Clone, Copy)]
struct Amounts {
    billed: Decimal,
    effective: Decimal,
}

/// The cube rows an open period carries for the adjustments posted into it: on its first day, per key.
pub(crate) fn adjustment_cube_rows(period: &str, adjustments: &[AdjustmentRow]) -> Vec<CubeRow> {
    adjustments
        .iter()
        .map(|a| CubeRow {
            day: format!("{period}-01"),
            provider: a.provider.clone(),
            account: a.billing_account_id.clone(),
            service_name: a.service_name.clone(),
            region: a.region.clone(),
            charge_category: a.charge_category.clone(),
            service_category: a.service_category.clone(),
            dims: a.dims.clone(),
            target: Target { cost_centre: a.cost_centre.clone(), service: a.service.clone() },
            rule: format!("{RESTATEMENT_RULE}{}", a.source_period),
            method: "adjustment".into(),
            sums: Sums { billed: dec(&a.billed), effective: dec(&a.effective), lines: 0 },
        })
        .collect()
}

impl App {
    /// Restates every closed period among `periods` (those an import touched); open periods are left to the
    /// next allocation. Returns what was posted, period by period.
    pub async fn restate_closed_periods(
        &self,
        actor: &Actor,
        import_id: Option<i64>,
        periods: &BTreeSet<String>,
    ) -> Result<Vec<Restatement>, AppError> {
        let closed: BTreeSet<String> =
            self.store().session().await?.closed_periods().await?.into_iter().map(|(p, _)| p).collect();
        let mut out = Vec::new();
        for p in periods.iter().filter(|p| closed.contains(*p)) {
            out.push(self.restate_period(actor, p, import_id).await?);
        }
        Ok(out)
    }

    /// Allocates a closed period again and posts the difference from what was closed (and already adjusted)
    /// into the next open period, which is then allocated again so its cube carries it.
    pub async fn restate_period(
        &self,
        actor: &Actor,
        period: &str,
        import_id: Option<i64>,
    ) -> Result<Restatement, AppError> {
        self.allocation_write(actor)?;
        check_period("period", period)?;
        let mut s = self.store().session().await?;
        let closed: BTreeMap<String, i64> = s.closed_periods().await?.into_iter().collect();
        let Some(&run_id) = closed.get(period) else {
            return Err(AppError::Refused(format!(
                "{period} is not closed; an open period is simply allocated again (POST \
                 /api/v1/allocation/runs?period={period}, or itemize allocate --period {period})"
            )));
        };
        let mut posted = next_period(period);
        while closed.contains_key(&posted) {
            posted = next_period(&posted);
        }
        let run =
            s.allocation_runs(Some(period)).await?.into_iter().find(|r| r.id == run_id).ok_or_else(|| {
                AppError::Refused(format!("the closing run {run_id} of {period} is missing"))
            })?;
        drop(s);
        // The rules the period was closed with, not a rule set applied since, resolved against the cost centres
        // and services the closing run saw (one archived or renamed since still names its money): a
        // restatement posts what changed in the ledger, and a later change of rules or reference data does not
        // reach back into a closed month.
        let rules = self.run_rules(&run).await?;
        let (_, mut rows, _) = self.run_allocation(period, rules).await?;
        let mut s = self.store().session().await?;
        // Restatements of earlier periods posted into this one are part of its cube, as when it was closed:
        // left out, they would read as a difference and be taken back.
        let posted_into = s.adjustments(None, Some(period)).await?;
        rows.extend(adjustment_cube_rows(period, &posted_into));
        // Everything compared as cube cells: the period allocated now, against what was closed and what was
        // already posted for it.
        let (now_cells, _) = cells_of(period, &rows);
        let was = s.cube_cells(period, period, None).await?;
        let earlier = s.adjustments(Some(period), None).await?;
        let earlier_count = earlier.len();
        drop(s);
        let (earlier, _) = cells_of(period, &adjustment_cube_rows(period, &earlier));
        let mut diff: BTreeMap<Key, Amounts> = BTreeMap::new();
        for (cells, sign) in
            [(&now_cells, Decimal::ONE), (&was, Decimal::NEGATIVE_ONE), (&earlier, Decimal::NEGATIVE_ONE)]
        {
            for c in cells {
                let e = diff.entry(key(c)).or_default();
                e.billed += sign * dec(&c.billed);
                e.effective += sign * dec(&c.effective);
            }
        }
        let now = self.clock().now();
        let adjustments: Vec<AdjustmentRow> = diff
            .into_iter()
            .filter(|(_, a)| !a.billed.is_zero() || !a.effective.is_zero())
            .map(|(k, a)| {
                let target = Target { cost_centre: k.7.clone(), service: k.8.clone() };
                AdjustmentRow {
                    id: 0,
                    source_period: period.to_string(),
                    posted_period: posted.clone(),
                    import_id,
                    provider: k.0,
                    billing_account_id: k.1,
                    service_name: k.2,
                    region: k.3,
                    charge_category: k.4,
                    service_category: k.5,
                    dims: k.6,
                    target: target.key(),
                    cost_centre: k.7,
                    service: k.8,
                    billed: a.billed.normalize().to_string(),
                    effective: a.effective.normalize().to_string(),
                    lines: 0,
                    created_by: actor.name.clone(),
                    created_at: now,
                }
            })
            .collect();
        let billed = adjustments.iter().map(|a| dec(&a.billed)).sum();
        let effective = adjustments.iter().map(|a| dec(&a.effective)).sum();
        if !adjustments.is_empty() {
            // Posted with the allocation of the period that carries them, in one transaction under its lock: a
            // close of that period meanwhile refuses the restatement (run again, it posts into the next open
            // period) rather than leaving adjustments in a closed period's books that its cube never showed.
            self.allocate_with(actor, &posted, &adjustments, earlier_count).await?;
        }
        Ok(Restatement {
            source_period: period.to_string(),
            posted_period: posted,
            adjustments: adjustments.len(),
            billed,
            effective,
        })
    }

    /// Adjustments restating closed periods, by source or posted period.
    /// A month's restatements in sums, for anyone who reads statements: what was posted from it into later
    /// months, by the month posted into, and what was posted into it, by the month restated; (billed, effective)
    /// each. A user limited to cost centres gets the sums of their cost centres' rows only.
    pub async fn restatement_sums(
        &self,
        actor: &Actor,
        period: &str,
    ) -> Result<(RestatementSums, RestatementSums), AppError> {
        self.allocation_read(actor)?;
        check_period("period", period)?;
        let scope = self.scope_codes(actor).await?;
        let mut s = self.store().session().await?;
        let sums = |rows: Vec<AdjustmentRow>, by_posted: bool| {
            let mut out = RestatementSums::new();
            for r in rows {
                if let Some(codes) = &scope
                    && !r.cost_centre.as_ref().is_some_and(|c| codes.contains(c))
                {
                    continue;
                }
                let key = if by_posted { r.posted_period.clone() } else { r.source_period.clone() };
                let e = out.entry(key).or_default();
                e.0 += r.billed.parse::<Decimal>().unwrap_or_default();
                e.1 += r.effective.parse::<Decimal>().unwrap_or_default();
            }
            out
        };
        let from_here = sums(s.adjustments(Some(period), None).await?, true);
        let into_here = sums(s.adjustments(None, Some(period)).await?, false);
        Ok((from_here, into_here))
    }

    pub async fn adjustments(
        &self,
        actor: &Actor,
        source: Option<&str>,
        posted: Option<&str>,
    ) -> Result<Vec<AdjustmentRow>, AppError> {
        self.allocation_write(actor)?;
        for p in [source, posted].into_iter().flatten() {
            check_period("period", p)?;
        }
        Ok(self.store().session().await?.adjustments(source, posted).await?)
    }
}
