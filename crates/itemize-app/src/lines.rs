//! Drill-down to line items: the ledger lines behind any cell of the cost cube, in the order of the lake,
//! with the rule that placed each of them. The same dimensions and filters as the cube query, so a link from
//! a chart's bar or a table row lands on exactly the lines it summarises.
//!
//! Lines that went into a shared-cost pool belong to no cost centre or service of their own (their money was
//! split among the pool's targets); they answer to `target=pool:<name>` and are not shown under a cost-centre
//! or service filter, and a user limited to cost centres sees only the lines allocated directly to them. The
//! answer then gives the shares of each pool beside the lines, and always the restatement adjustments posted
//! into its months (no line carries them), so that lines and these together are what the cube and the
//! statements give for the same question.

use crate::allocation::scan;
use crate::insight::{CubeDim, CubeQuery};
use crate::ledger::bad;
use crate::{Actor, App, AppError};
use itemize_core::allocation::{Decision, Field, Target};
use rust_decimal::Decimal;
use serde::Serialize;

/// A filter value that matches lines without a value (untagged, or not on a cost centre): the name the
/// explorer gives such a group.
pub const NO_VALUE: &str = "(none)";

/// The most lines one page answers with.
pub const MAX_LINES_PAGE: usize = 1000;

/// Which lines, and which page of them.
#[derive(Debug, Clone)]
pub struct LinesQuery {
    pub cube: CubeQuery,
    pub offset: usize,
    pub limit: usize,
}

impl LinesQuery {
    /// The cube query's parameters plus `offset` and `limit` (1–1000, 100 by default). `group_by` and
    /// `granularity` are accepted (a shared explorer URL carries them) and ignored.
    pub fn from_params(params: &[(String, String)]) -> Result<LinesQuery, AppError> {
        let mut offset = 0usize;
        let mut limit = 100usize;
        let mut rest = Vec::with_capacity(params.len());
        for (k, v) in params {
            match k.as_str() {
                "offset" => {
                    offset = v.parse().map_err(|_| bad("offset", format!("`{v}` is not a whole number")))?;
                }
                "limit" => {
                    limit = v.parse().ok().filter(|n| (1..=MAX_LINES_PAGE).contains(n)).ok_or_else(|| {
                        bad("limit", format!("`{v}` must be a whole number from 1 to 1000"))
                    })?;
                }
                "measure" | "group_by" | "granularity" | "chart" => {}
                _ => rest.push((k.clone(), v.clone())),
            }
        }
        Ok(LinesQuery { cube: CubeQuery::from_params(&rest)?, offset, limit })
    }
}

/// One ledger line, in the reporting currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineItem {
    pub period: String,
    pub day: String,
    pub provider: String,
    pub account: String,
    pub service_name: String,
    pub service_category: String,
    pub charge_category: String,
    pub region: String,
    pub resource_id: String,
    pub resource_name: String,
    /// `cc:CODE`, `svc:CODE`, `unallocated` or `pool:NAME`.
    pub target: String,
    pub cost_centre: Option<String>,
    pub service: Option<String>,
    /// The rule that placed it (or the pool it went into).
    pub rule: String,
    pub billed: Decimal,
    pub effective: Decimal,
    pub import_id: i64,
    pub line: i64,
}

/// A page of matching lines and the sums of all of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinesPage {
    pub currency: String,
    pub lines: Vec<LineItem>,
    /// Every matching line, not only this page's.
    pub total_lines: u64,
    pub total_billed: Decimal,
    pub total_effective: Decimal,
    pub offset: usize,
    pub limit: usize,
    /// Periods that matched nothing because they are not allocated yet (their lines have no target).
    pub unallocated_periods: Vec<String>,
    /// What the cube, the statements and the explorer count for the same question that is not among the lines,
    /// by rule: shares of shared-cost pools (whose own lines belong to no one target, so are not listed under a
    /// cost centre, a service or a target) and restatement adjustments. The lines' totals plus these are what
    /// they give.
    pub beside_lines: Vec<BesideLines>,
}

/// A rule's amount counted for the question but carried by none of its lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BesideLines {
    /// `pool:NAME` (a share of a pool) or `restatement of YYYY-MM` (an adjustment posted into the month).
    pub rule: String,
    pub billed: Decimal,
    pub effective: Decimal,
    /// The lines the cube counts for it here: a pool's lines are each counted once, under one of the targets
    /// sharing it, so that the statements' counts add up to the ledger's.
    pub lines: i64,
}

impl App {
    /// The ledger lines behind a cube query's cells (see the module's documentation).
    pub async fn cost_lines(&self, actor: &Actor, q: &LinesQuery) -> Result<LinesPage, AppError> {
        self.allocation_read(actor)?;
        let scope = self.scope_codes(actor).await?;
        let periods: Vec<String> = self
            .ledger_periods()
            .await?
            .into_iter()
            .filter(|p| *p >= q.cube.from && *p <= q.cube.to)
            .collect();
        let mut page = LinesPage {
            currency: self.config().reporting_currency.code().to_string(),
            lines: Vec::new(),
            total_lines: 0,
            total_billed: Decimal::ZERO,
            total_effective: Decimal::ZERO,
            offset: q.offset,
            limit: q.limit,
            unallocated_periods: Vec::new(),
            beside_lines: Vec::new(),
        };
        page.beside_lines = self.beside_lines(actor, &q.cube, scope.is_some()).await?;
        for period in periods {
            let Some(run) = self.period_rules(&period).await? else {
                page.unallocated_periods.push(period);
                continue;
            };
            let (rules, parts) = (run.rules, run.partitions);
            let dir = self.lake_dir();
            let filters = q.cube.filters.clone();
            let (day_from, day_to) = (q.cube.day_from.clone(), q.cube.day_to.clone());
            let scope = scope.clone();
            let (skip, want) = (q.offset, q.limit);
            let mut acc = page;
            page = tokio::task::spawn_blocking(move || -> Result<LinesPage, AppError> {
                let mut memo = itemize_core::allocation::Memo::new(&rules);
                scan(&dir, &parts, rules.tag_keys(), |l, c, m| {
                    if day_from.as_deref().is_some_and(|d| c.day < d)
                        || day_to.as_deref().is_some_and(|d| c.day > d)
                    {
                        return;
                    }
                    let (target, rule) = match rules.classify_with(&mut memo, l) {
                        Decision::Target { target, rule } => {
                            (rules.target(target).clone(), rules.rule_label(rule).to_string())
                        }
                        Decision::Pool(p) => {
                            let name = format!("pool:{}", rules.pool_name(p));
                            (Target { cost_centre: None, service: None }, name)
                        }
                    };
                    let key = if rule.starts_with("pool:") { rule.clone() } else { target.key() };
                    if let Some(codes) = &scope
                        && !target.cost_centre.as_ref().is_some_and(|cc| codes.contains(cc))
                    {
                        return;
                    }
                    let f = |x: Field| l.fields[x as usize];
                    let value_of = |d: &CubeDim| -> Option<String> {
                        match d {
                            CubeDim::Column("provider") => Some(f(Field::Provider).to_string()),
                            CubeDim::Column("billing_account_id") => Some(f(Field::Account).to_string()),
                            CubeDim::Column("service_name") => Some(f(Field::ServiceName).to_string()),
                            CubeDim::Column("service_category") => {
                                Some(f(Field::ServiceCategory).to_string())
                            }
                            CubeDim::Column("charge_category") => Some(f(Field::ChargeCategory).to_string()),
                            CubeDim::Column("region") => Some(f(Field::Region).to_string()),
                            CubeDim::Column("target") => Some(key.clone()),
                            CubeDim::Column("cost_centre") => target.cost_centre.clone(),
                            CubeDim::Column("service") => target.service.clone(),
                            CubeDim::Column("rule") => Some(rule.clone()),
                            CubeDim::Column(_) => None,
                            CubeDim::Free(k) => l.tags.iter().find(|(tk, _)| tk == k).map(|(_, v)| v.clone()),
                        }
                    };
                    let pooled = rule.starts_with("pool:");
                    let matches = filters.iter().all(|(d, values)| {
                        // A pooled line belongs to no cost centre or service of its own (not even "none"): the
                        // cube's cells for either hold only its shares.
                        if pooled
                            && !values.is_empty()
                            && matches!(d, CubeDim::Column("cost_centre" | "service"))
                        {
                            return false;
                        }
                        let v = value_of(d).filter(|v| !v.is_empty());
                        values.is_empty()
                            || match v {
                                Some(v) => values.contains(&v),
                                None => values.iter().any(|w| w == NO_VALUE),
                            }
                    });
                    if !matches {
                        return;
                    }
                    acc.total_lines += 1;
                    acc.total_billed += c.billed;
                    acc.total_effective += c.effective;
                    if acc.total_lines as usize > skip && acc.lines.len() < want {
                        acc.lines.push(LineItem {
                            period: m.partition.billing_period.clone(),
                            day: c.day.to_string(),
                            provider: f(Field::Provider).to_string(),
                            account: f(Field::Account).to_string(),
                            service_name: f(Field::ServiceName).to_string(),
                            service_category: f(Field::ServiceCategory).to_string(),
                            charge_category: f(Field::ChargeCategory).to_string(),
                            region: f(Field::Region).to_string(),
                            resource_id: f(Field::ResourceId).to_string(),
                            resource_name: f(Field::ResourceName).to_string(),
                            target: key.clone(),
                            cost_centre: target.cost_centre.clone(),
                            service: target.service.clone(),
                            rule: rule.clone(),
                            billed: c.billed,
                            effective: c.effective,
                            import_id: m.partition.import_id,
                            line: m.line,
                        });
                    }
                })?;
                Ok(acc)
            })
            .await
            .map_err(|e| AppError::Refused(format!("reading line items stopped: {e}")))??;
        }
        Ok(page)
    }

    /// What the cube holds for `q` that no line of the answer carries, by rule: restatement adjustments (posted
    /// into an open month, they are part of its cube but no line of its ledger) always; and shares of shared-cost
    /// pools when the pools' own lines are left out of the answer — asked about cost centres, services or targets,
    /// or by a user limited to cost centres. (Otherwise the pools' lines are among the lines, and their shares
    /// would count them twice.)
    async fn beside_lines(
        &self,
        actor: &Actor,
        q: &CubeQuery,
        scoped: bool,
    ) -> Result<Vec<BesideLines>, AppError> {
        let about_targets = q.filters.iter().any(|(d, values)| {
            matches!(d, CubeDim::Column("cost_centre" | "service" | "target"))
                && !values.is_empty()
                && values.iter().all(|v| !v.starts_with("pool:"))
        });
        let shares = about_targets || scoped;
        let by_rule = CubeQuery {
            granularity: crate::insight::Granularity::None,
            group_by: vec![CubeDim::Column("rule")],
            ..q.clone()
        };
        let cube = self.cube_query(actor, &by_rule).await?;
        let mut out: Vec<BesideLines> = cube
            .rows
            .into_iter()
            .filter_map(|r| {
                let rule = r.keys.into_iter().next().flatten().filter(|k| {
                    k.starts_with(crate::restate::RESTATEMENT_RULE) || (shares && k.starts_with("pool:"))
                })?;
                Some(BesideLines { rule, billed: r.billed, effective: r.effective, lines: r.lines })
            })
            .collect();
        out.sort_by(|a, b| a.rule.cmp(&b.rule));
        Ok(out)
    }
}
