//! The overview: thirteen months of spend by provider and by charge category, this month against the last,
//! the top cost centres and services, the unallocated share, tag coverage, renewals and warranty expiries in
//! the next 90 days, assets by state and data-quality KPIs. Each part is shown when the user may read it.

use super::{Me, NavItem, app_error, render, shell};
use crate::AppState;
use crate::auth::Auth;
use crate::charts::{self, Point, Series};
use crate::routes::Reg;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use itemize_app::allocation::{Measure, StatementBy};
use itemize_app::insight::{CubeQuery, CubeResult};
use itemize_app::{Actor, App, AppError};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

pub fn routes(r: Reg) -> Reg {
    r.add("/", &["GET"], get(overview))
}

/// A figure with its label, for the KPI tiles.
pub struct Tile {
    pub label: String,
    pub value: String,
    pub note: String,
    pub href: String,
}

/// A row of a small table: cells, and the link of its first cell.
pub struct Row {
    pub href: String,
    pub cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    demo: Option<String>,
    currency: String,
    period: Option<String>,
    tiles: Vec<Tile>,
    by_provider: Option<String>,
    by_category: Option<String>,
    top_cost_centres: Option<String>,
    top_services: Option<String>,
    renewals: Vec<Row>,
    warranties: Vec<Row>,
    warranties_total: usize,
    by_state: Option<String>,
    quality: Vec<Tile>,
    counts: Vec<Tile>,
}

/// A section the user may not read is left out; any other error is the page's.
fn optional<T>(r: Result<T, AppError>) -> Result<Option<T>, AppError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(AppError::Forbidden(_) | AppError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The last `n` billing periods that have cost.
pub async fn recent_periods(app: &App, n: usize) -> Result<Vec<String>, AppError> {
    let all = app.ledger_periods().await?;
    Ok(all[all.len().saturating_sub(n)..].to_vec())
}

/// At most this many series in a stacked chart (the palette's size): the biggest, then "Other".
pub const MAX_SERIES: usize = 8;

/// Stacked series over `times` of a cube result grouped by one dimension, biggest first; past
/// [`MAX_SERIES`] the rest are summed into "Other", which links to `other_href` of the time.
pub fn monthly_series(
    r: &CubeResult,
    times: &[String],
    href: impl Fn(&str, &str) -> String,
    other_href: impl Fn(&str) -> String,
) -> Vec<Series> {
    let mut by_key: BTreeMap<String, BTreeMap<String, Decimal>> = BTreeMap::new();
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    for row in &r.rows {
        let key = row
            .keys
            .first()
            .cloned()
            .flatten()
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| itemize_app::lines::NO_VALUE.to_string());
        let t = row.time.clone().unwrap_or_default();
        *by_key.entry(key.clone()).or_default().entry(t).or_default() += row.effective;
        *totals.entry(key).or_default() += row.effective;
    }
    let mut keys: Vec<(String, Decimal)> = totals.into_iter().collect();
    keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rest = if keys.len() > MAX_SERIES { keys.split_off(MAX_SERIES - 1) } else { Vec::new() };
    let mut series: Vec<Series> = keys
        .into_iter()
        .map(|(k, _)| Series {
            points: times
                .iter()
                .map(|p| Point {
                    amount: by_key[&k].get(p).copied().unwrap_or_default().to_string(),
                    href: Some(href(&k, p)),
                })
                .collect(),
            name: k,
        })
        .collect();
    if !rest.is_empty() {
        series.push(Series {
            name: format!("Other ({} more)", rest.len()),
            points: times
                .iter()
                .map(|p| Point {
                    amount: rest
                        .iter()
                        .filter_map(|(k, _)| by_key[k].get(p))
                        .copied()
                        .sum::<Decimal>()
                        .to_string(),
                    href: Some(other_href(p)),
                })
                .collect(),
        });
    }
    series
}

/// The same result grouped by its `i`-th key alone (the rows are summed again where they meet).
fn project(r: &CubeResult, i: usize) -> CubeResult {
    let mut out = r.clone();
    for row in &mut out.rows {
        row.keys = vec![row.keys.get(i).cloned().flatten()];
    }
    out
}

fn query(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// `part / whole` as a percentage with one decimal.
pub fn percent(part: Decimal, whole: Decimal) -> String {
    if whole.is_zero() {
        return "0.0%".into();
    }
    format!("{}%", (part * Decimal::ONE_HUNDRED / whole).round_dp(1))
}

async fn overview(State(s): State<AppState>, auth: Auth) -> Response {
    match build(&s.app, &auth).await {
        Ok(page) => render(page),
        Err(e) => app_error(e),
    }
}

async fn build(app: &App, auth: &Auth) -> Result<OverviewPage, AppError> {
    let actor: &Actor = &auth.actor;
    let (me, nav) = shell(auth, "/");
    let demo = app.demo_marker().await?.map(|m| format!("seed {}, as of {}", m.seed, m.as_of));
    let currency = app.config().reporting_currency.code().to_string();
    let periods = recent_periods(app, 13).await?;
    let mut page = OverviewPage {
        me,
        nav,
        demo,
        currency: currency.clone(),
        period: periods.last().cloned(),
        tiles: Vec::new(),
        by_provider: None,
        by_category: None,
        top_cost_centres: None,
        top_services: None,
        renewals: Vec::new(),
        warranties: Vec::new(),
        warranties_total: 0,
        by_state: None,
        quality: Vec::new(),
        counts: Vec::new(),
    };
    // The sections are independent: they are read at once (the database answers on its own threads, the lake
    // is read on the blocking pool), so the page takes as long as its slowest part, not their sum.
    let last_period = periods.last().cloned().unwrap_or_default();
    let cube_q = match (periods.first(), periods.last()) {
        // One pass over the cube answers both charts.
        (Some(first), Some(last)) => Some(CubeQuery::from_params(&[
            ("from".into(), first.clone()),
            ("to".into(), last.clone()),
            ("group_by".into(), "provider,charge_category".into()),
        ])?),
        _ => None,
    };
    let has_cost = cube_q.is_some();
    let (cube_r, sb_cc, sb_svc, hygiene, renewals, warranties, governance, counts) = tokio::join!(
        async {
            match &cube_q {
                Some(q) => optional(app.cube_query(actor, q).await),
                None => Ok(None),
            }
        },
        async {
            if !has_cost {
                return Ok(None);
            }
            optional(app.showback(actor, &last_period, StatementBy::CostCentre, Measure::Effective).await)
        },
        async {
            if !has_cost {
                return Ok(None);
            }
            optional(app.showback(actor, &last_period, StatementBy::Service, Measure::Effective).await)
        },
        async {
            if !has_cost {
                return Ok(None);
            }
            optional(app.tag_hygiene(actor, &last_period, &last_period, 5).await)
        },
        async { optional(app.renewal_calendar(actor, 90).await) },
        async { optional(app.warranty_expiring(actor, 90).await) },
        async { optional(app.asset_governance(actor).await) },
        app.counts(actor),
    );
    let mut statements = [(StatementBy::CostCentre, sb_cc?), (StatementBy::Service, sb_svc?)].into_iter();
    if let (Some(first), Some(last)) = (periods.first(), periods.last()) {
        if let Some(both) = cube_r? {
            let r = project(&both, 0);
            let series = monthly_series(
                &r,
                &periods,
                |k, p| {
                    let k = itemize_app::insight::filter_value(k);
                    format!("/costs/lines?{}", query(&[("period", p), ("provider", &k)]))
                },
                |p| format!("/costs?{}", query(&[("from", p), ("to", p), ("group_by", "provider")])),
            );
            page.by_provider =
                Some(charts::stacked_bars("Effective cost by provider", &currency, &periods, &series, None));
            let month = |p: &str| {
                r.rows
                    .iter()
                    .filter(|row| row.time.as_deref() == Some(p))
                    .map(|row| row.effective)
                    .sum::<Decimal>()
            };
            let this = month(last);
            let prev = periods.len().checked_sub(2).map(|i| month(&periods[i])).unwrap_or_default();
            let change = if prev.is_zero() {
                String::new()
            } else {
                format!("{} vs last month", signed_pct(this, prev))
            };
            page.tiles.push(Tile {
                label: format!("Effective cost, {last}"),
                value: format!("{} {currency}", charts::money_text(&this.to_string())),
                note: change,
                href: format!("/costs?{}", query(&[("from", last), ("to", last), ("group_by", "provider")])),
            });
            page.tiles.push(Tile {
                label: format!("Effective cost, last {} months", periods.len()),
                value: format!("{} {currency}", charts::money_text(&r.total_effective.to_string())),
                note: format!("billed {} {currency}", charts::money_text(&r.total_billed.to_string())),
                href: format!("/costs?{}", query(&[("from", first), ("to", last), ("group_by", "provider")])),
            });
            let r = project(&both, 1);
            let series = monthly_series(
                &r,
                &periods,
                |k, p| {
                    let k = itemize_app::insight::filter_value(k);
                    format!("/costs/lines?{}", query(&[("period", p), ("charge_category", &k)]))
                },
                |p| format!("/costs?{}", query(&[("from", p), ("to", p), ("group_by", "charge_category")])),
            );
            page.by_category = Some(charts::stacked_bars(
                "Effective cost by charge category",
                &currency,
                &periods,
                &series,
                None,
            ));
        }
        for (by, st) in statements.by_ref() {
            let Some(st) = st else {
                continue;
            };
            if !st.allocated {
                continue;
            }
            let param = if by == StatementBy::CostCentre { "cost_centre" } else { "service" };
            let bars: Vec<(String, Point)> = st
                .rows
                .iter()
                .filter(|r| r.key != "unallocated")
                .take(10)
                .map(|r| {
                    let code = r.code.clone().unwrap_or_default();
                    (
                        format!("{} ({code})", r.name),
                        Point {
                            amount: r.amount.to_string(),
                            href: Some({
                                let (p, v) = super::costs::statement_filter(&r.key, param, &code);
                                format!(
                                    "/costs/lines?{}",
                                    query(&[("period", last), (p.as_str(), v.as_str())])
                                )
                            }),
                        },
                    )
                })
                .collect();
            let title = if by == StatementBy::CostCentre { "Top cost centres" } else { "Top services" };
            let chart = charts::horizontal_bars(&format!("{title}, {last}"), &currency, &bars);
            if by == StatementBy::CostCentre {
                page.top_cost_centres = Some(chart);
                let unallocated: Decimal =
                    st.rows.iter().filter(|r| r.key == "unallocated").map(|r| r.amount).sum();
                page.tiles.push(Tile {
                    label: format!("Unallocated, {last}"),
                    value: percent(unallocated, st.total.amount),
                    note: format!("{} {currency}", charts::money_text(&unallocated.to_string())),
                    href: format!("/costs/lines?{}", query(&[("period", last), ("target", "unallocated")])),
                });
            } else {
                page.top_services = Some(chart);
            }
        }
        if let Some(h) = hygiene? {
            let tagged = Decimal::ONE_HUNDRED - h.untagged_share;
            // Any tag at all counts for the headline (an asset-class tag on depreciation too), so it is called
            // that; beside it, the coverage of the keys the rules allocate by and keep, which is what allocation
            // can use (the three most covering keys when the rules name none).
            let wanted = app.rule_tag_keys(last).await.unwrap_or_default();
            let named: Vec<String> = wanted
                .iter()
                .map(|w| {
                    let share = h.keys.iter().find(|k| &k.key == w).map_or(Decimal::ZERO, |k| k.share);
                    format!("{w} {share}%")
                })
                .collect();
            page.tiles.push(Tile {
                label: format!("Spend with any tag, {last}"),
                value: format!("{tagged}%"),
                note: if named.is_empty() {
                    h.keys
                        .iter()
                        .take(3)
                        .map(|k| format!("{} {}%", k.key, k.share))
                        .collect::<Vec<_>>()
                        .join(" · ")
                } else {
                    named.join(" · ")
                },
                href: format!("/costs?{}", query(&[("from", last), ("to", last), ("group_by", "target")])),
            });
        }
    }
    if let Some(renewals) = renewals? {
        page.renewals = renewals
            .iter()
            .take(10)
            .map(|r| Row {
                href: format!("/contracts/{}", r.contract_id),
                cells: vec![
                    format!("{} {}", r.number, r.name),
                    if r.notice_passed {
                        format!("{} (passed {} days ago)", r.notice_deadline, -r.days_to_notice)
                    } else {
                        r.notice_deadline.to_string()
                    },
                    r.end_date.to_string(),
                    format!("{} {}", charts::money_text(&r.value), r.currency),
                ],
            })
            .collect();
    }
    if let Some(w) = warranties? {
        page.warranties_total = w.len();
        page.warranties = w
            .iter()
            .take(10)
            .map(|a| Row {
                href: format!("/assets/{}", a.id),
                cells: vec![
                    a.fields.tag.clone(),
                    a.fields.model.clone().unwrap_or_default(),
                    a.fields.warranty_end.map(|d| d.to_string()).unwrap_or_default(),
                ],
            })
            .collect();
    }
    if let Some(g) = governance? {
        let bars: Vec<(String, Point)> = g
            .by_state
            .iter()
            .map(|(state, n)| {
                (
                    state.clone(),
                    Point {
                        amount: n.to_string(),
                        href: Some(format!("/assets?{}", query(&[("state", state)]))),
                    },
                )
            })
            .collect();
        page.by_state = Some(charts::count_bars("Assets by state", "assets", &bars));
        for (field, share) in &g.coverage {
            page.quality.push(Tile {
                label: format!("Assets with {}", field.replace('_', " ")),
                value: format!("{share}%"),
                note: String::new(),
                href: "/assets/governance".into(),
            });
        }
        if let Some(acc) = &g.inventory_accuracy {
            page.quality.push(Tile {
                label: "Inventory accuracy".into(),
                value: format!("{acc}%"),
                note: "found ÷ expected in closed audits".into(),
                href: "/audits".into(),
            });
        }
        page.quality.push(Tile {
            label: "Policy violations".into(),
            value: g.violations.len().to_string(),
            note: "assets missing a required field".into(),
            href: "/assets/governance".into(),
        });
    }
    for (k, n) in counts? {
        page.counts.push(Tile {
            label: k.title().to_string(),
            value: n.to_string(),
            note: String::new(),
            href: super::path_of(k).to_string(),
        });
    }
    Ok(page)
}

/// "+12.3%" or "−4.0%".
pub fn signed_pct(now: Decimal, before: Decimal) -> String {
    let p = ((now - before) * Decimal::ONE_HUNDRED / before).round_dp(1);
    if p.is_sign_negative() { format!("{p}%") } else { format!("+{p}%") }
}
