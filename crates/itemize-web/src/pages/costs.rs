//! The cost pages: the explorer (any grouping, filter, range, measure and granularity; chart and table;
//! CSV/XLSX of exactly what is shown), line items, showback statements, chargeback journals, explanations,
//! allocation rules (view, edit, preview, apply) and cost imports (upload, progress, errors, totals).

use super::overview::{monthly_series, percent, recent_periods};
use super::{Me, NavItem, PageId, app_error, page_error, render, shell};
use crate::AppState;
use crate::api::download;
use crate::auth::{Auth, form_csrf_ok};
use crate::charts::{self, Point, money_text};
use crate::cost_api::Spool;
use crate::extract::Params;
use crate::routes::Reg;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use itemize_app::allocation::{Measure, StatementBy, table_xlsx};
use itemize_app::cost::{ImportOptions, ImportSummary};
use itemize_app::insight::{CubeDim, CubeQuery, Granularity};
use itemize_app::lines::LinesQuery;
use itemize_app::{AppError, ListParams};
use itemize_core::auth::Action;
use itemize_core::money::cents;
use itemize_ingest::source::Format;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use tokio::io::AsyncWriteExt;

pub fn routes(r: Reg) -> Reg {
    r.add("/costs", &["GET"], get(explorer))
        .add("/costs/lines", &["GET"], get(lines))
        .add("/showback", &["GET"], get(showback))
        .add("/chargeback", &["GET"], get(chargeback))
        .add("/chargeback/close", &["POST"], axum::routing::post(close_month))
        .add("/allocation/explain", &["GET"], get(explain))
        .add("/allocation/rules", &["GET"], get(rules))
        .add("/allocation/rules/{id}", &["GET"], get(rule_set))
        .add("/allocation/rules/preview", &["POST"], axum::routing::post(preview_rules))
        .add("/allocation/rules/apply", &["POST"], axum::routing::post(apply_rules))
        .add(
            "/imports",
            &["GET", "POST"],
            get(imports).post(upload).layer(axum::extract::DefaultBodyLimit::max(1 << 30)),
        )
        .add("/imports/{id}", &["GET"], get(import_page))
        .add("/imports/{id}/quarantine.csv", &["GET"], get(import_quarantine))
}

/// The cube's dimensions the explorer offers: (parameter, label).
pub const DIMENSIONS: &[(&str, &str)] = &[
    ("provider", "Provider"),
    ("billing_account_id", "Account"),
    ("service_name", "Cloud service"),
    ("service_category", "Service category"),
    ("region", "Region"),
    ("charge_category", "Charge category"),
    ("cost_centre", "Cost centre"),
    ("service", "Business service"),
    ("target", "Allocation target"),
    ("rule", "Rule"),
];

/// How a group without a value (untagged, unallocated) is named, in tables and in line-item links.
pub const NONE: &str = itemize_app::lines::NO_VALUE;

fn dim_label(d: &str) -> String {
    DIMENSIONS.iter().find(|(k, _)| *k == d).map(|(_, l)| l.to_string()).unwrap_or_else(|| d.to_string())
}

fn qs(pairs: &[(String, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// An option of a `<select>`.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn options(items: &[(&str, &str)], current: &str) -> Vec<Opt> {
    items
        .iter()
        .map(|(v, l)| Opt { value: v.to_string(), label: l.to_string(), selected: *v == current })
        .collect()
}

fn period_options(periods: &[String], current: &str) -> Vec<Opt> {
    periods.iter().map(|p| Opt { value: p.clone(), label: p.clone(), selected: p == current }).collect()
}

/// A link with its text.
pub struct Link {
    pub href: String,
    pub text: String,
}

/// A table row: cells (text), the links of the row, and whether it is a total.
pub struct TableRow {
    pub cells: Vec<String>,
    pub links: Vec<Link>,
}

// ------------------------------------------------------------------------------------------------ explorer

#[derive(Template)]
#[template(path = "explorer.html")]
struct ExplorerPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    currency: String,
    from: Vec<Opt>,
    to: Vec<Opt>,
    group_by: Vec<Opt>,
    granularity: Vec<Opt>,
    measure: Vec<Opt>,
    chart_kind: Vec<Opt>,
    filters: Vec<Link>,
    hidden_filters: Vec<(String, String)>,
    add_filter: Vec<Opt>,
    chart: Option<String>,
    grid: Grid,
    total: String,
    csv: String,
    xlsx: String,
    lines: String,
    note: Option<String>,
}

/// The explorer's view, read from the URL: everything it shows is in it, so a link shares the view.
struct View {
    from: String,
    to: String,
    group_by: String,
    granularity: String,
    measure: String,
    /// `bars` (stacked) or `lines` (a trend line per group).
    chart: String,
    /// `day_from` / `day_to`, when the view is limited to days.
    days: Vec<(String, String)>,
    filters: Vec<(String, String)>,
    format: Option<String>,
}

impl View {
    fn read(p: &ListParams, periods: &[String]) -> Result<View, AppError> {
        let last = periods.last().cloned().unwrap_or_default();
        let first = periods.get(periods.len().saturating_sub(13)).cloned().unwrap_or_default();
        if p.get("period").is_some() && (p.get("from").is_some() || p.get("to").is_some()) {
            return Err(AppError::bad_param("period", "is one month; give it, or `from` and `to`, not both"));
        }
        let mut v = View {
            from: p.get("from").or(p.get("period")).map(str::to_string).unwrap_or(first),
            to: p.get("to").or(p.get("period")).map(str::to_string).unwrap_or(last),
            group_by: p.get("group_by").unwrap_or("provider").to_string(),
            granularity: p.get("granularity").unwrap_or("month").to_string(),
            measure: p.get("measure").unwrap_or("effective").to_string(),
            chart: p.get("chart").unwrap_or("bars").to_string(),
            days: ["day_from", "day_to"]
                .iter()
                .filter_map(|k| p.get(k).map(|v| (k.to_string(), v.to_string())))
                .collect(),
            filters: Vec::new(),
            format: p.get("format").map(str::to_string),
        };
        // The cube's own spellings (`account`, `cost-center`) name the same dimensions.
        if let Some(d) = CubeDim::parse(&v.group_by) {
            v.group_by = d.name();
        }
        if !DIMENSIONS.iter().any(|(d, _)| *d == v.group_by) && !v.group_by.starts_with("dim:") {
            return Err(AppError::bad_param(
                "group_by",
                format!(
                    "`{}` is not one of the explorer's dimensions ({}, or dim:<tag>)",
                    v.group_by,
                    DIMENSIONS.iter().map(|(d, _)| *d).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if !matches!(v.chart.as_str(), "bars" | "lines") {
            return Err(AppError::bad_param("chart", format!("`{}` is not bars or lines", v.chart)));
        }
        if Measure::parse(&v.measure).is_none() {
            return Err(AppError::bad_param(
                "measure",
                format!("`{}` is not effective or billed", v.measure),
            ));
        }
        for (k, val) in &p.0 {
            if matches!(
                k.as_str(),
                "from"
                    | "to"
                    | "period"
                    | "group_by"
                    | "granularity"
                    | "measure"
                    | "chart"
                    | "day_from"
                    | "day_to"
                    | "format"
                    | "add_filter"
                    | "value"
            ) {
                continue;
            }
            let Some(dim) = CubeDim::parse(k) else {
                return Err(AppError::bad_param(k, "is not a dimension to filter by"));
            };
            // One spelling per dimension: two (`account` and `billing_account_id`) would be two filters.
            let name = dim.name();
            if v.filters.iter().any(|(d, _)| *d == name) {
                return Err(AppError::bad_param(
                    k,
                    format!("filters {name} a second time; give its values once, a,b"),
                ));
            }
            v.filters.push((name, val.clone()));
        }
        Ok(v)
    }

    fn pairs(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("from".to_string(), self.from.clone()),
            ("to".to_string(), self.to.clone()),
            ("group_by".to_string(), self.group_by.clone()),
            ("granularity".to_string(), self.granularity.clone()),
            ("measure".to_string(), self.measure.clone()),
            ("chart".to_string(), self.chart.clone()),
        ];
        out.extend(self.days.iter().cloned());
        out.extend(self.filters.iter().cloned());
        out
    }

    fn cube(&self) -> Result<CubeQuery, AppError> {
        let mut p = vec![
            ("from".to_string(), self.from.clone()),
            ("to".to_string(), self.to.clone()),
            ("group_by".to_string(), self.group_by.clone()),
            ("granularity".to_string(), self.granularity.clone()),
        ];
        p.extend(self.days.iter().cloned());
        p.extend(self.filters.iter().cloned());
        CubeQuery::from_params(&p)
    }

    /// The line items behind a group (and time, when the view has one).
    fn lines_link(&self, key: Option<&str>, time: Option<&str>) -> String {
        let mut p: Vec<(String, String)> = Vec::new();
        match time {
            Some(t) if t.len() == 7 => p.push(("period".into(), t.into())),
            Some(t) => {
                // A day of the view: the cube's day cells are summed over all of its billing periods.
                p.push(("from".into(), self.from.clone()));
                p.push(("to".into(), self.to.clone()));
                p.push(("day_from".into(), t.into()));
                p.push(("day_to".into(), t.into()));
            }
            None => {
                p.push(("from".into(), self.from.clone()));
                p.push(("to".into(), self.to.clone()));
                p.extend(self.days.iter().cloned());
            }
        }
        // The group's own value replaces a filter on the same dimension (a view filtered by what it groups by).
        p.extend(self.filters.iter().filter(|(d, _)| key.is_none() || *d != self.group_by).cloned());
        if let Some(k) = key {
            // "(none)" is the lines page's own word for no value, not a value to escape.
            let v = if k == NONE { k.to_string() } else { itemize_app::insight::filter_value(k) };
            p.push((self.group_by.clone(), v));
        }
        format!("/costs/lines?{}", qs(&p))
    }
}

async fn explorer(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    // The "add a filter" form names the dimension in one field and the value in another; the view's URL
    // names it as a parameter of its own, so the form is turned into that URL.
    if let (Some(dim), Some(value)) = (p.get("add_filter"), p.get("value")) {
        let mut p2 = p.clone();
        p2.0.remove("add_filter");
        p2.0.remove("value");
        let value = value.trim();
        if !value.is_empty() {
            // Added to a filter of the same dimension already there (several values, a,b), not put in its place,
            // whichever spelling of the dimension it was given under (`account`, `billing_account_id`).
            let canon = |k: &str| CubeDim::parse(k).map_or_else(|| k.to_string(), |d| d.name());
            let dim = canon(dim);
            let same: Vec<String> = p2.0.keys().filter(|k| canon(k) == dim).cloned().collect();
            let mut values: Vec<String> = Vec::new();
            for k in same {
                if let Some(had) = p2.0.remove(&k) {
                    values.extend(had.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()));
                }
            }
            if !values.iter().any(|x| x == value) {
                values.push(value.to_string());
            }
            p2.0.insert(dim, values.join(","));
        }
        let pairs: Vec<(String, String)> = p2.0.into_iter().collect();
        return Redirect::to(&format!("/costs?{}", qs(&pairs))).into_response();
    }
    let periods = match s.app.ledger_periods().await {
        Ok(p) => p,
        Err(e) => return app_error(e),
    };
    let view = match View::read(&p, &periods) {
        Ok(v) => v,
        Err(e) => return app_error(e),
    };
    let result = if view.from.is_empty() {
        None
    } else {
        match view.cube() {
            Ok(q) => match s.app.cube_query(&auth.actor, &q).await {
                Ok(r) => Some(r),
                Err(e) => return app_error(e),
            },
            Err(e) => return app_error(e),
        }
    };
    let currency = s.app.config().reporting_currency.code().to_string();
    let billed = view.measure == "billed";
    let names = group_names(&s, &auth, &view.group_by).await;
    let grid = result.as_ref().map(|r| pivot(r, &view, billed, &names));
    let chart = match (&result, &view.format) {
        (Some(r), None) => Some(explorer_chart(r, &view, &currency, billed, &names)),
        _ => None,
    };
    let note = if periods.is_empty() {
        Some("No cost has been imported yet: upload a bill on the Imports page.".to_string())
    } else if result.as_ref().is_some_and(|r| r.rows.is_empty()) {
        Some("Nothing matches, or these months are not allocated yet (Rules → apply).".to_string())
    } else {
        None
    };
    let grid = grid.unwrap_or_default();
    let mut pairs = view.pairs();
    if let Some(format) = &view.format {
        // The table on the page, with amounts exact rather than formatted: a group without a value as the page
        // names it, cost centres and services by name beside their codes, and the total row.
        let named = !names.is_empty();
        let mut body: Vec<Vec<String>> = grid
            .rows
            .iter()
            .map(|r| {
                let mut cells: Vec<String> = r.cells.iter().map(|c| c.raw.clone()).collect();
                let code = cells.first().cloned().unwrap_or_default();
                if code.is_empty() {
                    cells[0] = NONE.to_string();
                }
                if named {
                    cells.insert(1, names.get(&code).cloned().unwrap_or_default());
                }
                cells
            })
            .collect();
        let mut head_owned = grid.head.clone();
        if named {
            head_owned.insert(1, "Name".into());
        }
        let first_amount = if named { 2 } else { 1 };
        let mut total = vec![String::new(); head_owned.len()];
        if let Some(t) = total.first_mut() {
            *t = "Total".into();
        }
        for (i, t) in total.iter_mut().enumerate().skip(first_amount) {
            let sum: Decimal = body.iter().filter_map(|r| r.get(i)?.parse::<Decimal>().ok()).sum();
            *t = sum.to_string();
        }
        if !body.is_empty() {
            body.push(total);
        }
        let heads: Vec<&str> = head_owned.iter().map(String::as_str).collect();
        let name: String = format!("costs-{}-{}-by-{}", view.from, view.to, view.group_by)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        return match format.as_str() {
            "csv" => download("text/csv; charset=utf-8", &format!("{name}.csv"), csv_bytes(&heads, &body)),
            "xlsx" => {
                // Every column after the group's is money, but for the count of lines over a whole range.
                let amounts: Vec<usize> =
                    (first_amount..heads.len()).filter(|i| heads.get(*i) != Some(&"Lines")).collect();
                let title = format!(
                    "{} cost {} to {} by {} ({currency})",
                    view.measure, view.from, view.to, view.group_by
                );
                match table_xlsx(&title, &heads, &body, &amounts) {
                    Ok(b) => download(
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        &format!("{name}.xlsx"),
                        b,
                    ),
                    Err(e) => app_error(e),
                }
            }
            other => app_error(AppError::bad_param("format", format!("`{other}` is not csv or xlsx"))),
        };
    }
    let total = grid.total.clone();
    let filters = view
        .filters
        .iter()
        .map(|(d, v)| {
            let rest: Vec<(String, String)> = view.pairs().into_iter().filter(|(k, _)| k != d).collect();
            Link { href: format!("/costs?{}", qs(&rest)), text: format!("{}: {v}", dim_label(d)) }
        })
        .collect();
    let csv = {
        pairs.push(("format".into(), "csv".into()));
        format!("/costs?{}", qs(&pairs))
    };
    pairs.pop();
    pairs.push(("format".into(), "xlsx".into()));
    let xlsx = format!("/costs?{}", qs(&pairs));
    let (me, nav) = shell(&auth, "/costs");
    render(ExplorerPage {
        me,
        nav,
        currency,
        from: period_options(&periods, &view.from),
        to: period_options(&periods, &view.to),
        group_by: options(DIMENSIONS, &view.group_by),
        granularity: options(
            &[("month", "Monthly"), ("day", "Daily"), ("none", "Whole range")],
            &view.granularity,
        ),
        measure: options(&[("effective", "Effective (amortized)"), ("billed", "Billed")], &view.measure),
        chart_kind: options(&[("bars", "Stacked bars"), ("lines", "Trend lines")], &view.chart),
        hidden_filters: view.filters.clone(),
        filters,
        add_filter: options(DIMENSIONS, ""),
        chart,
        grid,
        total,
        csv,
        xlsx,
        lines: view.lines_link(None, None),
        note,
    })
}

/// A cell of the explorer's table: the text shown, the exact value downloads carry, and where it leads.
#[derive(Default)]
pub struct Cell {
    pub text: String,
    pub raw: String,
    pub href: Option<String>,
}

#[derive(Default)]
pub struct GridRow {
    pub cells: Vec<Cell>,
}

/// The explorer's table: one row per group, one column per month or day (and a total), or — over the whole
/// range — billed, effective and lines.
#[derive(Default)]
pub struct Grid {
    pub head: Vec<String>,
    pub rows: Vec<GridRow>,
    pub foot: Vec<String>,
    pub total: String,
}

/// People read cost centres and services by name: `code → "Name (CODE)"` for a grouping by either.
async fn group_names(s: &AppState, auth: &Auth, group_by: &str) -> HashMap<String, String> {
    match group_by {
        "cost_centre" => code_names::<itemize_core::refdata::CostCentre>(s, auth).await,
        "service" => code_names::<itemize_core::refdata::Service>(s, auth).await,
        _ => HashMap::new(),
    }
}

/// `code → "Name (CODE)"` for the records of a kind with a code and a name that the user may see.
async fn code_names<K: itemize_store::StoredKind>(s: &AppState, auth: &Auth) -> HashMap<String, String> {
    let all = ListParams::from_pairs([("limit".to_string(), "1000".to_string())]);
    let Ok(page) = s.app.list::<K>(&auth.actor, &all).await else { return HashMap::new() };
    page.items
        .iter()
        .filter_map(|r| {
            let j = r.fields.to_json();
            let (code, name) = (j["code"].as_str()?, j["name"].as_str()?);
            Some((code.to_string(), format!("{name} ({code})")))
        })
        .collect()
}

fn pivot(
    r: &itemize_app::insight::CubeResult,
    view: &View,
    billed: bool,
    names: &HashMap<String, String>,
) -> Grid {
    let amount = |b: Decimal, e: Decimal| if billed { b } else { e };
    let money = |d: Decimal| Cell { text: money_text(&d.to_string()), raw: d.to_string(), href: None };
    let key_of = |row: &itemize_app::insight::CubeRowView| {
        row.keys.first().cloned().flatten().filter(|k| !k.is_empty())
    };
    let filtered_by_group = view.filters.iter().any(|(d, _)| *d == view.group_by);
    let key_cell = |k: &Option<String>| {
        let text = match k {
            Some(k) => names.get(k).cloned().unwrap_or_else(|| k.clone()),
            None => NONE.into(),
        };
        let href = match k {
            Some(k) if !filtered_by_group => {
                let mut pairs = view.pairs();
                pairs.push((view.group_by.clone(), itemize_app::insight::filter_value(k)));
                Some(format!("/costs?{}", qs(&pairs)))
            }
            _ => None,
        };
        Cell { raw: k.clone().unwrap_or_default(), text, href }
    };
    let mut g = Grid::default();
    g.head.push(dim_label(&view.group_by));
    let grand = amount(r.total_billed, r.total_effective);
    g.total = money_text(&grand.to_string());
    // Shown in cents that add up to the total shown, as the statements round theirs (each row alone would
    // leave the rows a cent or two from the total, and from the statement's row for the same group).
    let shown = |exact: Decimal, cents: Decimal| Cell {
        text: money_text(&cents.to_string()),
        raw: exact.to_string(),
        href: None,
    };
    if r.granularity == Granularity::None {
        g.head.extend(["Billed".into(), "Effective".into(), "Lines".into()]);
        let billed: Vec<Decimal> = r.rows.iter().map(|x| x.billed).collect();
        let effective: Vec<Decimal> = r.rows.iter().map(|x| x.effective).collect();
        let billed_cents = itemize_core::money::cents_adding_up(&billed, r.total_billed);
        let effective_cents = itemize_core::money::cents_adding_up(&effective, r.total_effective);
        for (i, row) in r.rows.iter().enumerate() {
            let k = key_of(row);
            let mut eff = shown(row.effective, effective_cents[i]);
            eff.href = Some(view.lines_link(Some(k.as_deref().unwrap_or(NONE)), None));
            g.rows.push(GridRow {
                cells: vec![
                    key_cell(&k),
                    shown(row.billed, billed_cents[i]),
                    eff,
                    Cell { text: row.lines.to_string(), raw: row.lines.to_string(), href: None },
                ],
            });
        }
        g.foot = vec![
            "Total".into(),
            money_text(&cents(r.total_billed).to_string()),
            money_text(&cents(r.total_effective).to_string()),
            r.rows.iter().map(|x| x.lines).sum::<i64>().to_string(),
        ];
        return g;
    }
    let mut times: Vec<String> = r.rows.iter().filter_map(|x| x.time.clone()).collect();
    times.sort();
    times.dedup();
    let mut by_key: BTreeMap<Option<String>, BTreeMap<String, Decimal>> = BTreeMap::new();
    for row in &r.rows {
        let cell =
            by_key.entry(key_of(row)).or_default().entry(row.time.clone().unwrap_or_default()).or_default();
        *cell += amount(row.billed, row.effective);
    }
    let mut keys: Vec<(Option<String>, Decimal)> =
        by_key.iter().map(|(k, m)| (k.clone(), m.values().copied().sum())).collect();
    keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    g.head.extend(times.iter().cloned());
    g.head.push("Total".into());
    let mut col_totals = vec![Decimal::ZERO; times.len()];
    // The rows' totals in cents adding up to the grand total shown.
    let sums: Vec<Decimal> = keys.iter().map(|(_, s)| *s).collect();
    let sums_cents = itemize_core::money::cents_adding_up(&sums, grand);
    for ((k, sum), sum_cents) in keys.iter().zip(&sums_cents) {
        let mut cells = vec![key_cell(k)];
        for (i, t) in times.iter().enumerate() {
            let v = by_key[k].get(t).copied().unwrap_or_default();
            col_totals[i] += v;
            let mut c = money(v);
            if !v.is_zero() {
                c.href = Some(view.lines_link(Some(k.as_deref().unwrap_or(NONE)), Some(t)));
            }
            cells.push(c);
        }
        let mut c = shown(*sum, *sum_cents);
        c.href = Some(view.lines_link(Some(k.as_deref().unwrap_or(NONE)), None));
        cells.push(c);
        g.rows.push(GridRow { cells });
    }
    g.foot = std::iter::once("Total".to_string())
        .chain(col_totals.iter().map(|d| money_text(&d.to_string())))
        .chain(std::iter::once(money_text(&cents(grand).to_string())))
        .collect();
    g
}

/// The explorer's chart: stacked bars over time (the ten biggest groups, the rest as "Other"), or sorted bars
/// for the whole range.
fn explorer_chart(
    r: &itemize_app::insight::CubeResult,
    view: &View,
    currency: &str,
    billed: bool,
    names: &HashMap<String, String>,
) -> String {
    let measure = if billed { "Billed" } else { "Effective" };
    let title = format!("{measure} cost by {}", dim_label(&view.group_by).to_lowercase());
    if r.granularity == Granularity::None {
        let bars: Vec<(String, Point)> = r
            .rows
            .iter()
            .take(25)
            .map(|row| {
                let key = row.keys.first().cloned().flatten().filter(|k| !k.is_empty());
                (
                    key.as_ref()
                        .map(|k| names.get(k).cloned().unwrap_or_else(|| k.clone()))
                        .unwrap_or_else(|| NONE.into()),
                    Point {
                        amount: if billed { row.billed } else { row.effective }.to_string(),
                        href: Some(view.lines_link(Some(key.as_deref().unwrap_or(NONE)), None)),
                    },
                )
            })
            .collect();
        return charts::horizontal_bars(&title, currency, &bars);
    }
    let times: Vec<String> = {
        let mut t: Vec<String> = r.rows.iter().filter_map(|row| row.time.clone()).collect();
        t.dedup();
        t.sort();
        t.dedup();
        t
    };
    let mut measured = r.clone();
    if billed {
        for row in &mut measured.rows {
            row.effective = row.billed;
        }
    }
    let mut series = monthly_series(
        &measured,
        &times,
        |k, t| view.lines_link(Some(k), Some(t)),
        |t| view.lines_link(None, Some(t)),
    );
    for s in &mut series {
        if let Some(n) = names.get(&s.name) {
            s.name = n.clone();
        }
    }
    if view.chart == "lines" {
        charts::lines(&title, currency, &times, &series)
    } else {
        charts::stacked_bars(&title, currency, &times, &series, None)
    }
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@` before anything but a number) is written
/// with a leading `'`: bill and tag text comes from outside.
fn defused(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@']) && cell.parse::<Decimal>().is_err();
    if risky { format!("'{cell}").into() } else { cell.into() }
}

fn csv_bytes(head: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let _ = w.write_record(head);
    for r in rows {
        let _ = w.write_record(r.iter().map(|c| defused(c).into_owned()));
    }
    w.into_inner().unwrap_or_default()
}

// ------------------------------------------------------------------------------------------------ line items

#[derive(Template)]
#[template(path = "lines.html")]
struct LinesPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    currency: String,
    filters: Vec<String>,
    rows: Vec<Vec<String>>,
    total_lines: u64,
    total_billed: String,
    total_effective: String,
    shown: String,
    prev: Option<String>,
    next: Option<String>,
    csv: String,
    explorer: String,
    unallocated: Vec<String>,
    /// (rule, what it is, billed, effective) counted beside the lines: pool shares, restatement adjustments; as
    /// shown.
    beside: Vec<(String, String, String, String)>,
    /// Lines and those together (billed, effective, lines as the statements count them), when there are any.
    together: Option<(String, String, i64)>,
}

const LINE_HEAD: &[&str] = &[
    "Day",
    "Provider",
    "Account",
    "Cloud service",
    "Charge category",
    "Region",
    "Resource",
    "Allocated to",
    "Rule",
    "Billed",
    "Effective",
];

async fn lines(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    let pairs: Vec<(String, String)> =
        p.0.iter().filter(|(k, _)| k.as_str() != "format").map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut q = match LinesQuery::from_params(&pairs) {
        Ok(q) => q,
        Err(e) => return app_error(e),
    };
    // The download holds every matching line, not the page's hundred (up to a bound that keeps it a download).
    const CSV_LINES: usize = 100_000;
    let csv = match p.get("format") {
        None => false,
        Some("csv") => true,
        Some(other) => return app_error(AppError::bad_param("format", format!("`{other}` is not csv"))),
    };
    if csv {
        (q.offset, q.limit) = (0, CSV_LINES);
    }
    let page = match s.app.cost_lines(&auth.actor, &q).await {
        Ok(p) => p,
        Err(e) => return app_error(e),
    };
    let rows: Vec<Vec<String>> = page
        .lines
        .iter()
        .map(|l| {
            vec![
                l.day.clone(),
                l.provider.clone(),
                l.account.clone(),
                l.service_name.clone(),
                l.charge_category.clone(),
                l.region.clone(),
                if l.resource_name.is_empty() { l.resource_id.clone() } else { l.resource_name.clone() },
                l.target.clone(),
                l.rule.clone(),
                l.billed.to_string(),
                l.effective.to_string(),
            ]
        })
        .collect();
    if csv {
        if page.total_lines as usize > CSV_LINES {
            return app_error(AppError::bad_param(
                "format",
                format!(
                    "{} lines match; a download holds at most {CSV_LINES}: narrow the filters, or export the \
                     month as FOCUS",
                    page.total_lines
                ),
            ));
        }
        // Each line traced to its import and row; then what the statement counts beside the lines (pool shares,
        // restatements) and the total with them, so the download adds up to the statement and the explorer.
        let blank = || vec![String::new(); LINE_HEAD.len() + 4];
        let mut out: Vec<Vec<String>> = rows
            .into_iter()
            .zip(&page.lines)
            .map(|(mut r, l)| {
                r.extend([
                    l.cost_centre.clone().unwrap_or_default(),
                    l.service.clone().unwrap_or_default(),
                    l.import_id.to_string(),
                    l.line.to_string(),
                ]);
                r
            })
            .collect();
        let (mut billed, mut effective) = (page.total_billed, page.total_effective);
        for b in &page.beside_lines {
            let mut r = blank();
            r[6] = "(beside the lines)".into();
            r[8] = b.rule.clone();
            r[9] = b.billed.to_string();
            r[10] = b.effective.to_string();
            out.push(r);
            billed += b.billed;
            effective += b.effective;
        }
        let mut total = blank();
        total[0] = "Total".into();
        total[9] = billed.to_string();
        total[10] = effective.to_string();
        out.push(total);
        let mut head: Vec<String> = LINE_HEAD.iter().map(|h| h.to_string()).collect();
        head[9] = format!("Billed ({})", page.currency);
        head[10] = format!("Effective ({})", page.currency);
        head.extend(["Cost centre", "Business service", "Import", "Row"].map(String::from));
        let head: Vec<&str> = head.iter().map(String::as_str).collect();
        return download("text/csv; charset=utf-8", "line-items.csv", csv_bytes(&head, &out));
    }
    let with_offset = |o: usize| {
        let mut v: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "offset").cloned().collect();
        v.push(("offset".into(), o.to_string()));
        format!("/costs/lines?{}", qs(&v))
    };
    let end = q.offset + page.lines.len();
    let display: Vec<Vec<String>> = rows
        .into_iter()
        .map(|mut r| {
            let n = r.len();
            r[n - 2] = money_text(&r[n - 2]);
            r[n - 1] = money_text(&r[n - 1]);
            r
        })
        .collect();
    let mut csv_pairs: Vec<(String, String)> =
        pairs.iter().filter(|(k, _)| !matches!(k.as_str(), "offset" | "limit")).cloned().collect();
    csv_pairs.push(("format".into(), "csv".into()));
    // The cube has no "(none)" to filter by: such a filter is left to the lines page.
    let mut explorer_pairs: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, v)| !matches!(k.as_str(), "offset" | "limit") && v != NONE)
        .cloned()
        .collect();
    if !explorer_pairs.iter().any(|(k, _)| k == "group_by") {
        explorer_pairs.push(("group_by".into(), "service_name".into()));
    }
    // Asked only about what no team was given: a pool's amount there is what it could not split.
    let left_over = pairs.iter().any(|(k, _)| k == "target")
        && pairs
            .iter()
            .filter(|(k, _)| k == "target")
            .all(|(_, v)| v.split(',').all(|t| t.trim() == "unallocated"));
    let (me, nav) = shell(&auth, "/costs");
    render(LinesPage {
        me,
        nav,
        currency: page.currency.clone(),
        filters: pairs
            .iter()
            .filter(|(k, _)| {
                !matches!(k.as_str(), "offset" | "limit" | "group_by" | "granularity" | "measure")
            })
            .map(|(k, v)| format!("{}: {v}", dim_label(k)))
            .collect(),
        rows: display,
        total_lines: page.total_lines,
        total_billed: money_text(&page.total_billed.to_string()),
        total_effective: money_text(&page.total_effective.to_string()),
        shown: if page.lines.is_empty() { "none".into() } else { format!("{}–{end}", q.offset + 1) },
        prev: (q.offset > 0).then(|| with_offset(q.offset.saturating_sub(q.limit))),
        next: ((end as u64) < page.total_lines).then(|| with_offset(end)),
        csv: format!("/costs/lines?{}", qs(&csv_pairs)),
        explorer: format!("/costs?{}", qs(&explorer_pairs)),
        unallocated: page.unallocated_periods,
        beside: page
            .beside_lines
            .iter()
            .map(|p| {
                (
                    p.rule.clone(),
                    beside_what(&p.rule, left_over),
                    money_text(&p.billed.to_string()),
                    money_text(&p.effective.to_string()),
                )
            })
            .collect(),
        together: (!page.beside_lines.is_empty()).then(|| {
            let billed = page.total_billed + page.beside_lines.iter().map(|p| p.billed).sum::<Decimal>();
            let effective =
                page.total_effective + page.beside_lines.iter().map(|p| p.effective).sum::<Decimal>();
            let lines = page.total_lines as i64 + page.beside_lines.iter().map(|p| p.lines).sum::<i64>();
            (money_text(&billed.to_string()), money_text(&effective.to_string()), lines)
        }),
    })
}

/// What an amount counted beside the lines is, in words: a pool's share of the selection (or, asked about what
/// was left unallocated, what the pool gave no team) or a closed month's restatement posted into an open one.
fn beside_what(rule: &str, left_over: bool) -> String {
    if let Some(pool) = rule.strip_prefix("pool:") {
        if left_over {
            format!(
                "What pool {pool} gave no team: it had no basis to split by, or its basis named no target"
            )
        } else {
            format!("Share of pool {pool} in this selection (its own lines belong to no one team)")
        }
    } else if let Some(month) = rule.strip_prefix(itemize_app::restate::RESTATEMENT_RULE) {
        format!("A correction of the closed month {month}, posted into this one")
    } else {
        String::new()
    }
}

// ------------------------------------------------------------------------------------------------ showback

/// Where a month's statement stands, in sentences: closed (the books as closed), restated since it closed (and
/// where the difference went), and restatements of closed months posted into it, in the statement's measure and
/// as far as the reader's statements reach (a user limited to cost centres: theirs).
async fn period_status(s: &AppState, auth: &Auth, period: &str, billed: bool) -> Vec<String> {
    let mut out = Vec::new();
    let closed = s.app.closed_periods(&auth.actor).await.unwrap_or_default().iter().any(|(p, _)| p == period);
    if closed {
        out.push(format!(
            "{period} is closed: this is its statement as it was closed, and it no longer changes."
        ));
    }
    // The restatements in sums, as this reader's statements count them (a user limited to cost centres: theirs),
    // in the statement's measure.
    let Ok((from_here, into_here)) = s.app.restatement_sums(&auth.actor, period).await else { return out };
    let measure = if billed { "billed" } else { "effective" };
    let currency = s.app.config().reporting_currency.code();
    // Each month's sum in the measure, as shown, the months without one left out.
    let shown = |sums: &itemize_app::restate::RestatementSums| -> Vec<(String, String)> {
        sums.iter()
            .map(|(p, (b, e))| (p.clone(), if billed { *b } else { *e }))
            .filter(|(_, d)| !d.is_zero())
            .map(|(p, d)| (p, format!("{} {currency}", money_text(&d.to_string()))))
            .collect()
    };
    let from_here: Vec<String> = shown(&from_here).into_iter().map(|(p, m)| format!("{m} in {p}")).collect();
    if !from_here.is_empty() {
        out.push(format!(
            "Restated since it closed: the differences were posted into open months as restatements ({}, \
             {measure}), so this statement keeps its closed books.",
            from_here.join(", ")
        ));
    }
    let into_here: Vec<String> = shown(&into_here).into_iter().map(|(p, m)| format!("{p}: {m}")).collect();
    if !into_here.is_empty() {
        out.push(format!(
            "Includes restatements of closed months posted into it ({}, {measure}): each is a row's \
             \"restatement of\" line, not a cost of this month.",
            into_here.join(", ")
        ));
    }
    out
}

#[derive(Template)]
#[template(path = "showback.html")]
struct ShowbackPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    period: String,
    previous: String,
    periods: Vec<Opt>,
    by: Vec<Opt>,
    measure: Vec<Opt>,
    by_service: bool,
    currency: String,
    /// Whether some cost centre budgets in another currency: a column gives its row in that currency.
    own: bool,
    /// The rates used for it (or the one missing), one sentence each.
    own_rates: Vec<String>,
    /// "billed" or "amortized": named in the title, so a printed statement says which it is.
    measure_name: &'static str,
    /// Where the month stands: closed (its books as closed), restated since, restatements posted into it.
    status: Vec<String>,
    /// Nothing was imported for the month.
    no_cost: bool,
    rows: Vec<TableRow>,
    total: Vec<String>,
    allocated: bool,
    chart: Option<String>,
    csv: String,
    xlsx: String,
}

async fn showback(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    let periods = match recent_periods(&s.app, 120).await {
        Ok(p) => p,
        Err(e) => return app_error(e),
    };
    let Some(last) = periods.last().cloned() else {
        return page_error(StatusCode::OK, "Showback".into(), "No cost has been imported yet.".into());
    };
    let period = p.get("period").map(str::to_string).unwrap_or(last);
    let by_text = p.get("by").unwrap_or("cost-centre").to_string();
    let measure_text = p.get("measure").unwrap_or("effective").to_string();
    let Some(by) = StatementBy::parse(&by_text) else {
        return app_error(AppError::bad_param("by", format!("`{by_text}` is not cost-centre or service")));
    };
    let Some(measure) = Measure::parse(&measure_text) else {
        return app_error(AppError::bad_param(
            "measure",
            format!("`{measure_text}` is not effective or billed"),
        ));
    };
    let st = match s.app.showback(&auth.actor, &period, by, measure).await {
        Ok(st) => st,
        Err(e) => return app_error(e),
    };
    let param = if by == StatementBy::Service { "service" } else { "cost_centre" };
    // Months the ledger holds cost for: one without any is said to have none (not to be unallocated), and a
    // previous month without any is no comparison.
    let has_cost = periods.contains(&period) || st.total.lines > 0 || !st.total.amount.is_zero();
    let had_previous = periods.contains(&st.previous_period) || !st.total.previous.is_zero();
    let money = |d: Decimal| money_text(&d.to_string());
    // Shown in cents that add up: each row rounded so the rows sum to the rounded total, in both months; the
    // change is the difference of what is shown. (The CSV and the API keep the exact amounts.)
    let (amounts, previous) = (st.shown(false), st.shown(true));
    let own = st.rows.iter().any(|r| r.local.is_some());
    let rows = st
        .rows
        .iter()
        .zip(amounts.iter().zip(&previous))
        .map(|(r, (&amount, &previous))| {
            let code = r.code.clone().unwrap_or_default();
            let (fparam, fvalue) = statement_filter(&r.key, param, &code);
            let lines_href = format!(
                "/costs/lines?{}",
                qs(&[("period".into(), period.clone()), (fparam.clone(), fvalue.clone())])
            );
            let mut cells = vec![code.clone(), r.name.clone()];
            if by == StatementBy::Service {
                cells.push(r.cost_centre.clone().unwrap_or_default());
            }
            // A previous month with nothing imported has no amount to compare with: "—", not 0.00 and the whole
            // amount as a change.
            cells.extend(if had_previous {
                [
                    money(amount),
                    money(previous),
                    money(amount - previous),
                    r.change_pct.map(|p| format!("{p}%")).unwrap_or_else(|| "—".into()),
                    r.lines.to_string(),
                ]
            } else {
                [money(amount), "—".into(), "—".into(), "—".into(), r.lines.to_string()]
            });
            if own {
                cells.push(match &r.local {
                    Some(l) => match l.amount {
                        Some(a) => format!("{} {}", money(a), l.currency),
                        None => format!("no {} rate", l.currency),
                    },
                    None => String::new(),
                });
            }
            TableRow {
                cells,
                links: vec![
                    Link { href: lines_href, text: "line items".into() },
                    Link {
                        href: format!(
                            "/costs?{}",
                            qs(&[
                                ("from".into(), period.clone()),
                                ("to".into(), period.clone()),
                                (fparam.clone(), fvalue.clone()),
                                (
                                    "group_by".into(),
                                    if r.key == "unallocated" { "provider" } else { "service_name" }.into(),
                                ),
                                ("granularity".into(), "none".into()),
                            ])
                        ),
                        text: "breakdown".into(),
                    },
                    Link {
                        // A cost centre's "(no service)" row of a statement by service is its own part alone.
                        href: format!(
                            "/allocation/explain?{}",
                            qs(&[("period".into(), period.clone()), ("target".into(), r.key.clone())]
                                .into_iter()
                                .chain(
                                    (by == StatementBy::Service && r.key.starts_with("cc:"))
                                        .then(|| ("own".to_string(), "true".to_string())),
                                )
                                .collect::<Vec<_>>())
                        ),
                        text: "why".into(),
                    },
                ],
            }
        })
        .collect();
    let mut total = vec![String::new(), "Total".to_string()];
    if by == StatementBy::Service {
        total.push(String::new());
    }
    let (amount, previous) = (cents(st.total.amount), cents(st.total.previous));
    total.extend(if had_previous {
        [
            money(amount),
            money(previous),
            money(amount - previous),
            st.total.change_pct.map(|p| format!("{p}%")).unwrap_or_else(|| "—".into()),
            st.total.lines.to_string(),
        ]
    } else {
        [money(amount), "—".into(), "—".into(), "—".into(), st.total.lines.to_string()]
    });
    if own {
        total.push(String::new());
    }
    // The chart draws what the table shows (the rows in cents), the 15 largest.
    let bars: Vec<(String, Point)> = st
        .rows
        .iter()
        .zip(&amounts)
        .take(15)
        .map(|(r, shown)| {
            (
                r.name.clone(),
                Point {
                    amount: shown.to_string(),
                    href: Some(format!(
                        "/costs/lines?{}",
                        qs(&[
                            ("period".into(), period.clone()),
                            statement_filter(&r.key, param, r.code.as_deref().unwrap_or(""))
                        ])
                    )),
                },
            )
        })
        .collect();
    let api = |f: &str| {
        format!(
            "/api/v1/allocation/showback?{}",
            qs(&[
                ("period".into(), period.clone()),
                ("by".into(), by_text.clone()),
                ("measure".into(), measure_text.clone()),
                ("format".into(), f.into())
            ])
        )
    };
    let status = period_status(&s, &auth, &period, measure == Measure::Billed).await;
    let (me, nav) = shell(&auth, "/showback");
    render(ShowbackPage {
        me,
        nav,
        measure_name: if measure == Measure::Billed { "billed" } else { "amortized" },
        status,
        previous: st.previous_period.clone(),
        periods: period_options(&periods, &period),
        by: options(&[("cost-centre", "Cost centre"), ("service", "Business service")], &by_text),
        measure: options(&[("effective", "Effective (amortized)"), ("billed", "Billed")], &measure_text),
        by_service: by == StatementBy::Service,
        currency: st.reporting_currency.clone(),
        own,
        own_rates: st.own_rates(),
        rows,
        total,
        allocated: st.allocated || !has_cost,
        no_cost: !has_cost,
        chart: st.allocated.then(|| {
            let title = if st.rows.len() > bars.len() {
                format!("Showback {period}, the {} largest of {} rows", bars.len(), st.rows.len())
            } else {
                format!("Showback {period}")
            };
            charts::horizontal_bars(&title, &st.reporting_currency, &bars)
        }),
        csv: api("csv"),
        xlsx: api("xlsx"),
        period,
    })
}

/// The filter that selects a statement line's cost: Unallocated is a target of its own, and a cost centre's cost
/// without a service (`cc:X` in a statement by service) is that target too; the rest by their code.
pub fn statement_filter(key: &str, param: &str, code: &str) -> (String, String) {
    if key == "unallocated" || (param == "service" && key.starts_with("cc:")) {
        ("target".into(), key.into())
    } else {
        (param.into(), itemize_app::insight::filter_value(code))
    }
}

// ------------------------------------------------------------------------------------------------ chargeback

#[derive(Template)]
#[template(path = "chargeback.html")]
struct ChargebackPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    closed: Vec<Opt>,
    period: Option<String>,
    journal_id: String,
    posting_date: String,
    currency: String,
    rows: Vec<Vec<String>>,
    total_debit: String,
    total_credit: String,
    balanced: bool,
    not_charged: String,
    /// The provider's cost centre and its own use, not charged to anyone: (code, amount).
    kept: (String, String),
    csv: String,
    /// For whoever may close months: the allocated months still open, oldest first, and the form's token.
    closable: Vec<Opt>,
    csrf: String,
    message: Option<String>,
    error: Option<String>,
}

async fn chargeback_page(s: &AppState, auth: &Auth, p: &ListParams) -> Result<ChargebackPage, AppError> {
    let closed = s.app.closed_periods(&auth.actor).await?;
    let names: Vec<String> = closed.iter().rev().map(|(p, _)| p.clone()).collect();
    let period = p.get("period").map(str::to_string).or_else(|| names.first().cloned());
    // Months allocated and still open, which a month-end closes (finance and administrators, unscoped).
    let mut closable: Vec<String> = Vec::new();
    if s.app.allocation_write(&auth.actor).is_ok() && auth.actor.scope.is_none() {
        for r in s.app.allocation_runs(&auth.actor, None).await? {
            if r.status == "current" && !names.contains(&r.period) && !closable.contains(&r.period) {
                closable.push(r.period);
            }
        }
        closable.sort();
    }
    let (me, nav) = shell(auth, "/chargeback");
    let mut page = ChargebackPage {
        me,
        nav,
        closed: period_options(&names, period.as_deref().unwrap_or("")),
        period: period.clone(),
        journal_id: String::new(),
        posting_date: String::new(),
        currency: String::new(),
        rows: Vec::new(),
        total_debit: String::new(),
        total_credit: String::new(),
        balanced: true,
        not_charged: String::new(),
        kept: (String::new(), String::new()),
        csv: String::new(),
        closable: closable
            .iter()
            .map(|m| Opt { value: m.clone(), label: m.clone(), selected: closable.first() == Some(m) })
            .collect(),
        csrf: auth.csrf.clone().unwrap_or_default(),
        message: p.get("closed").map(|m| format!("{m} is closed: its allocation and journal are final.")),
        error: None,
    };
    if let Some(period) = &period {
        // A month that cannot give its journal (the rules name no GL accounts) still shows the page and why.
        let j = match s.app.journal(&auth.actor, period).await {
            Ok(j) => j,
            Err(e @ AppError::Refused(_)) => {
                page.period = None;
                page.error = Some(format!("No journal for {period}: {}", super::public(&e)));
                return Ok(page);
            }
            Err(e) => return Err(e),
        };
        page.journal_id = j.journal_id.clone();
        page.posting_date = j.posting_date.clone();
        page.currency = j.currency.clone();
        page.rows = j
            .lines
            .iter()
            .map(|l| {
                vec![
                    l.line.to_string(),
                    l.gl_account.clone(),
                    l.cost_centre.clone(),
                    if l.debit.is_zero() { String::new() } else { money_text(&l.debit.to_string()) },
                    if l.credit.is_zero() { String::new() } else { money_text(&l.credit.to_string()) },
                    l.description.clone(),
                ]
            })
            .collect();
        page.total_debit = money_text(&j.total_debit.to_string());
        page.total_credit = money_text(&j.total_credit.to_string());
        page.balanced = j.total_debit == j.total_credit;
        page.not_charged = money_text(&j.not_charged.to_string());
        page.kept = (j.provider_cost_centre.clone(), money_text(&j.kept_by_provider.to_string()));
        page.csv = format!(
            "/api/v1/allocation/journal?{}",
            qs(&[("period".into(), period.clone()), ("format".into(), "csv".into())])
        );
    }
    Ok(page)
}

async fn chargeback(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    super::show(chargeback_page(&s, &auth, &p).await)
}

/// Closes a month from the chargeback page: its allocation becomes final and its journal is made; the page then
/// shows that journal.
async fn close_month(State(s): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> Response {
    let f = match super::page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let period = f.get("period").cloned().unwrap_or_default();
    match s.app.close_period(&auth.actor, &period).await {
        Ok(_) => {
            let q = qs(&[("period".into(), period.clone()), ("closed".into(), period)]);
            Redirect::to(&format!("/chargeback?{q}")).into_response()
        }
        Err(e) => {
            let status = crate::error::status_of(&e);
            super::again(chargeback_page(&s, &auth, &ListParams::default()).await, status, |p| {
                p.error = Some(super::explain(&e))
            })
        }
    }
}

// ------------------------------------------------------------------------------------------------ explain

#[derive(Template)]
#[template(path = "explain.html")]
struct ExplainPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    period: String,
    target: String,
    /// The target by name: "Network (cost centre CC-1200)".
    label: String,
    currency: String,
    by_rule: Vec<Vec<String>>,
    total_billed: String,
    total_effective: String,
    lines: Vec<Vec<String>>,
    lines_total: u64,
}

/// An allocation target (`cc:CODE`, `svc:CODE`, `unallocated`) by name, as a reader knows it.
async fn target_label(s: &AppState, auth: &Auth, target: &str) -> String {
    use itemize_core::refdata::{CostCentre, Kind, Service};
    let found = match target.split_once(':') {
        Some(("cc", code)) => match s.app.id_by_key(&auth.actor, Kind::CostCentre, code).await {
            Ok(Some(id)) => s.app.get::<CostCentre>(&auth.actor, id).await.ok().map(|r| r.fields.name),
            _ => None,
        }
        .map(|n| format!("{n} (cost centre {code})")),
        Some(("svc", code)) => match s.app.id_by_key(&auth.actor, Kind::Service, code).await {
            Ok(Some(id)) => s.app.get::<Service>(&auth.actor, id).await.ok().map(|r| r.fields.name),
            _ => None,
        }
        .map(|n| format!("{n} (service {code})")),
        _ if target == "unallocated" => Some("Unallocated".to_string()),
        _ => None,
    };
    found.unwrap_or_else(|| target.to_string())
}

async fn explain(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    let (Some(period), Some(target)) = (p.get("period"), p.get("target")) else {
        return app_error(AppError::bad_param("target", "give period and target"));
    };
    let own = match crate::alloc_api::own_part(&p) {
        Ok(o) => o,
        Err(e) => return app_error(e),
    };
    let x = match s.app.explain_part(&auth.actor, period, target, 100, own).await {
        Ok(x) => x,
        Err(e) => return app_error(e),
    };
    let (me, nav) = shell(&auth, "/showback");
    let mut label = target_label(&s, &auth, &x.target).await;
    if own {
        label.push_str(", without the services it owns");
    }
    render(ExplainPage {
        me,
        nav,
        period: x.period.clone(),
        target: x.target.clone(),
        label,
        currency: s.app.config().reporting_currency.code().to_string(),
        by_rule: x
            .by_rule
            .iter()
            .map(|r| {
                vec![
                    r.rule.clone(),
                    r.method.clone(),
                    money_text(&r.billed.to_string()),
                    money_text(&r.effective.to_string()),
                    r.lines.to_string(),
                ]
            })
            .collect(),
        total_billed: money_text(&x.total_billed.to_string()),
        total_effective: money_text(&x.total_effective.to_string()),
        lines: x
            .lines
            .iter()
            .map(|l| {
                vec![
                    l.day.clone(),
                    l.rule.clone(),
                    l.provider.clone(),
                    l.account.clone(),
                    l.service_name.clone(),
                    l.resource_id.clone(),
                    l.charge_category.clone(),
                    money_text(&l.effective.to_string()),
                    money_text(&l.share_effective.to_string()),
                ]
            })
            .collect(),
        lines_total: x.lines_total,
    })
}

// ------------------------------------------------------------------------------------------------ rules

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    csrf: String,
    sets: Vec<Vec<String>>,
    body: String,
    current: Option<i64>,
    periods: Vec<Opt>,
    error: Option<String>,
    message: Option<String>,
    preview: Vec<Vec<String>>,
    unallocated: Option<(String, String)>,
    can_write: bool,
}

async fn rules_page(
    s: &AppState,
    auth: &Auth,
    current: Option<i64>,
    body: Option<String>,
    period: Option<String>,
) -> Result<RulesPage, AppError> {
    let sets = s.app.rule_sets(&auth.actor).await?;
    let periods = s.app.ledger_periods().await?;
    let body = match (body, current) {
        (Some(b), _) => b,
        (None, Some(id)) => s.app.rule_set(&auth.actor, id).await?.body,
        (None, None) => sets.last().map(|r| r.body.clone()).unwrap_or_default(),
    };
    let period = period.or_else(|| periods.last().cloned()).unwrap_or_default();
    let (me, nav) = shell(auth, "/allocation/rules");
    Ok(RulesPage {
        me,
        nav,
        csrf: auth.csrf.clone().unwrap_or_default(),
        sets: sets
            .iter()
            .rev()
            .map(|r| {
                vec![
                    r.id.to_string(),
                    r.name.clone(),
                    r.effective_from.clone(),
                    r.created_by.clone(),
                    r.created_at.strftime("%Y-%m-%d %H:%M").to_string(),
                ]
            })
            .collect(),
        current: current.or_else(|| sets.last().map(|r| r.id)),
        body,
        periods: period_options(&periods, &period),
        error: None,
        message: None,
        preview: Vec::new(),
        unallocated: None,
        can_write: s.app.allocation_write(&auth.actor).is_ok(),
    })
}

async fn rules(State(s): State<AppState>, auth: Auth) -> Response {
    super::show(rules_page(&s, &auth, None, None, None).await)
}

async fn rule_set(State(s): State<AppState>, auth: Auth, PageId(id): PageId) -> Response {
    super::show(rules_page(&s, &auth, Some(id), None, None).await)
}

pub struct RulesForm {
    body: String,
    period: Option<String>,
}

async fn preview_rules(State(s): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> Response {
    match rules_form(&auth, &headers, &body) {
        Ok(f) => rules_action(s, auth, f, false).await,
        Err(r) => *r,
    }
}

async fn apply_rules(State(s): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> Response {
    match rules_form(&auth, &headers, &body) {
        Ok(f) => rules_action(s, auth, f, true).await,
        Err(r) => *r,
    }
}

fn rules_form(auth: &Auth, headers: &HeaderMap, body: &[u8]) -> Result<RulesForm, Box<Response>> {
    let mut f = super::page_form(auth, headers, body)?;
    Ok(RulesForm { body: f.remove("body").unwrap_or_default(), period: f.remove("period") })
}

async fn rules_action(s: AppState, auth: Auth, f: RulesForm, apply: bool) -> Response {
    let mut page = match rules_page(&s, &auth, None, Some(f.body.clone()), f.period.clone()).await {
        Ok(p) => p,
        Err(e) => return app_error(e),
    };
    let money = |d: Decimal| money_text(&d.to_string());
    let status = if apply {
        match s.app.apply_rule_set(&auth.actor, &f.body).await {
            Ok(a) => {
                page.message = Some(format!(
                    "Saved as version {} and applied: {} month(s) allocated again{}.",
                    a.rule_set.id,
                    a.runs.len(),
                    if a.closed_skipped.is_empty() {
                        String::new()
                    } else {
                        format!("; closed months left as they are: {}", a.closed_skipped.join(", "))
                    }
                ));
                page.current = Some(a.rule_set.id);
                match rules_page(&s, &auth, Some(a.rule_set.id), None, f.period.clone()).await {
                    Ok(mut fresh) => {
                        fresh.message = page.message.take();
                        page = fresh;
                    }
                    Err(e) => return app_error(e),
                }
                StatusCode::OK
            }
            Err(e) => {
                page.error = Some(super::explain(&e));
                crate::error::status_of(&e)
            }
        }
    } else {
        let period = f.period.clone().unwrap_or_default();
        match s.app.preview_rules(&auth.actor, &f.body, &period).await {
            Ok(p) => {
                page.preview = p
                    .targets
                    .iter()
                    .filter(|t| !t.change.is_zero())
                    .map(|t| vec![t.target.clone(), money(t.before), money(t.after), money(t.change)])
                    .collect();
                page.unallocated = Some((money(p.unallocated_before), money(p.unallocated_after)));
                page.message = Some(format!(
                    "Preview of {}: {} target(s) would change. Nothing is saved until you apply.{}",
                    p.period,
                    page.preview.len(),
                    p.note.as_deref().map(|n| format!(" {n}")).unwrap_or_default()
                ));
                StatusCode::OK
            }
            Err(e) => {
                page.error = Some(super::explain(&e));
                crate::error::status_of(&e)
            }
        }
    };
    (status, render(page)).into_response()
}

// ------------------------------------------------------------------------------------------------ imports

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    csrf: String,
    formats: Vec<String>,
    rows: Vec<TableRow>,
    error: Option<String>,
    can_write: bool,
    statuses: Vec<Opt>,
    older: Option<String>,
    newest: Option<String>,
}

/// Import statuses a list can be filtered by.
const IMPORT_STATUSES: &[(&str, &str)] = &[
    ("", "any status"),
    ("active", "active"),
    ("superseded", "superseded"),
    ("duplicate", "duplicate"),
    ("rejected", "rejected"),
    ("failed", "failed"),
    ("queued", "queued"),
    ("running", "running"),
];

fn import_row(i: &ImportSummary) -> TableRow {
    let effective: Decimal = i
        .totals
        .as_ref()
        .map(|t| t.by_period.values().flat_map(|c| c.values()).map(|x| x.effective_cost_reporting).sum())
        .unwrap_or_default();
    TableRow {
        cells: vec![
            i.id.to_string(),
            i.file_name.clone(),
            i.format.clone().unwrap_or_default(),
            i.status.clone(),
            i.rows_ingested.to_string(),
            i.rows_rejected.to_string(),
            money_text(&effective.to_string()),
            i.created_by.clone(),
            // "2026-12-05 16:36 UTC", not the stored RFC 3339 with its microseconds.
            i.created_at
                .as_deref()
                .map(|t| {
                    t.parse::<jiff::Timestamp>()
                        .map_or_else(|_| t.to_string(), |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
                })
                .unwrap_or_default(),
        ],
        links: vec![Link { href: format!("/imports/{}", i.id), text: "details".into() }],
    }
}

async fn imports_page(
    s: &AppState,
    auth: &Auth,
    error: Option<String>,
    p: &ListParams,
) -> Result<ImportsPage, AppError> {
    const PAGE: i64 = 50;
    p.only(&["status", "before"])?;
    let status = p.get("status").filter(|v| !v.is_empty());
    let before = match p.get("before") {
        Some(b) => Some(b.parse::<i64>().map_err(|_| AppError::bad_param("before", "is an import id"))?),
        None => None,
    };
    let (list, more) = s.app.cost_imports_page(&auth.actor, status, before, PAGE).await?;
    let with = |before: Option<i64>| {
        let mut q: Vec<(String, String)> = Vec::new();
        if let Some(st) = status {
            q.push(("status".into(), st.into()));
        }
        if let Some(b) = before {
            q.push(("before".into(), b.to_string()));
        }
        if q.is_empty() { "/imports".to_string() } else { format!("/imports?{}", qs(&q)) }
    };
    let (me, nav) = shell(auth, "/imports");
    Ok(ImportsPage {
        me,
        nav,
        csrf: auth.csrf.clone().unwrap_or_default(),
        formats: Format::names().split(", ").map(str::to_string).collect(),
        rows: list.iter().map(import_row).collect(),
        error,
        can_write: s.app.cost_allow(&auth.actor, Action::Write).is_ok(),
        statuses: options(IMPORT_STATUSES, status.unwrap_or("")),
        older: more.then(|| with(list.last().map(|i| i.id))),
        newest: before.map(|_| with(None)),
    })
}

async fn imports(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    super::show(imports_page(&s, &auth, None, &p).await)
}

/// `POST /imports` (multipart: `csrf`, `file`, optional `format`, `lenient` and `replace_newer`): the file is
/// streamed to disk, queued like an API upload, and the browser is sent to the import's page to watch it.
async fn upload(State(s): State<AppState>, auth: Auth, req: axum::extract::Request) -> Response {
    let fail = |s: &AppState, auth: &Auth, status: StatusCode, msg: String| {
        let s = s.clone();
        let auth = auth.clone();
        async move {
            match imports_page(&s, &auth, Some(msg), &ListParams::default()).await {
                Ok(p) => (status, render(p)).into_response(),
                Err(e) => app_error(e),
            }
        }
    };
    if let Err(r) = super::require_browser(&auth) {
        return *r;
    }
    if let Err(e) = s.app.cost_allow(&auth.actor, Action::Write) {
        return app_error(e);
    }
    let header_csrf =
        req.headers().get(crate::auth::CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut form = match Multipart::from_request(req, &s).await {
        Ok(m) => m,
        Err(e) => {
            return fail(&s, &auth, StatusCode::BAD_REQUEST, format!("the upload could not be read: {e}"))
                .await;
        }
    };
    let mut csrf_ok = header_csrf.is_some_and(|h| form_csrf_ok(&auth, &h));
    let mut format = None;
    let mut lenient = false;
    let mut replace_newer = false;
    let mut saved: Option<(Spool, String)> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let msg = format!("the upload did not complete: {e}");
                // A file already saved from this form is not left queued.
                if let Some((spool, _)) = saved.take() {
                    spool.abandon(&msg).await;
                }
                return fail(&s, &auth, StatusCode::BAD_REQUEST, msg).await;
            }
        };
        match field.name().unwrap_or("") {
            "csrf" => {
                let v = field.text().await.unwrap_or_default();
                csrf_ok = csrf_ok || form_csrf_ok(&auth, &v);
            }
            "format" => {
                let v = field.text().await.unwrap_or_default();
                if !v.is_empty() {
                    match Format::from_name(&v) {
                        Some(f) => format = Some(f),
                        None => {
                            let msg = format!("`{v}` is not one of {}", Format::names());
                            if let Some((spool, _)) = saved.take() {
                                spool.abandon(&msg).await;
                            }
                            return fail(&s, &auth, StatusCode::UNPROCESSABLE_ENTITY, msg).await;
                        }
                    }
                }
            }
            "lenient" => lenient = field.text().await.is_ok_and(|v| v == "on" || v == "true"),
            "replace_newer" => replace_newer = field.text().await.is_ok_and(|v| v == "on" || v == "true"),
            "file" => {
                if saved.is_some() {
                    if let Some((spool, _)) = saved.take() {
                        spool.abandon("the upload held more than one file").await;
                    }
                    let msg = "upload one file at a time".to_string();
                    return fail(&s, &auth, StatusCode::UNPROCESSABLE_ENTITY, msg).await;
                }
                if !csrf_ok {
                    return fail(
                        &s,
                        &auth,
                        StatusCode::FORBIDDEN,
                        "the form expired; reload the page".into(),
                    )
                    .await;
                }
                let name = field
                    .file_name()
                    .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).to_string())
                    .filter(|n| !n.is_empty() && n.len() <= 255)
                    .unwrap_or_else(|| "upload".into());
                let queued = match s.app.queue_cost_import(&auth.actor, &name, lenient).await {
                    Ok(q) => q,
                    Err(e) => return app_error(e),
                };
                let mut field = field;
                let (spool, mut f) = match Spool::create(&s.app, queued.id).await {
                    Ok(created) => created,
                    Err(e) => {
                        let msg = format!("the upload did not complete: {e}");
                        let _ = s.app.fail_cost_import(queued.id, &msg).await;
                        return fail(&s, &auth, StatusCode::BAD_REQUEST, msg).await;
                    }
                };
                let written = async {
                    while let Some(chunk) = field.chunk().await.map_err(std::io::Error::other)? {
                        f.write_all(&chunk).await?;
                    }
                    f.flush().await
                }
                .await;
                if let Err(e) = written {
                    let msg = format!("the upload did not complete: {e}");
                    spool.abandon(&msg).await;
                    return fail(&s, &auth, StatusCode::BAD_REQUEST, msg).await;
                }
                saved = Some((spool, name));
            }
            _ => {}
        }
    }
    let Some((spool, name)) = saved else {
        let msg = if csrf_ok { "choose a file to upload" } else { "the form expired; reload the page" };
        return fail(&s, &auth, StatusCode::UNPROCESSABLE_ENTITY, msg.into()).await;
    };
    let id = spool.id();
    spool.start(
        auth.actor.clone(),
        name,
        ImportOptions { format, lenient, replace_newer, ..Default::default() },
    );
    Redirect::to(&format!("/imports/{id}")).into_response()
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    i: ImportSummary,
    working: bool,
    totals: Vec<Vec<String>>,
    errors: Vec<Vec<String>>,
    counts: Vec<(String, u64)>,
    errors_total: u64,
    share: String,
    /// The imports that replaced some of its parts (a newer export of the same period, or invoice), and how
    /// many of its parts they replaced.
    replaced_by: Vec<i64>,
    replaced_parts: usize,
    parts: usize,
    /// Whether the rows it left out can be downloaded.
    quarantine: bool,
}

async fn import_quarantine(State(s): State<AppState>, auth: Auth, PageId(id): PageId) -> Response {
    match s.app.cost_import_quarantine(&auth.actor, id).await {
        Ok(bytes) => crate::cost_api::quarantine_csv(bytes, id),
        Err(e) => app_error(e),
    }
}

async fn import_page(State(s): State<AppState>, auth: Auth, PageId(id): PageId) -> Response {
    let i = match s.app.cost_import(&auth.actor, id).await {
        Ok(i) => i,
        Err(e) => return app_error(e),
    };
    let partitions = s.app.cost_import_partitions(&auth.actor, id).await.unwrap_or_default();
    let mut replaced_by: Vec<i64> = partitions.iter().filter_map(|p| p.superseded_by).collect();
    replaced_by.sort_unstable();
    replaced_by.dedup();
    let replaced_parts = partitions.iter().filter(|p| p.superseded_by.is_some()).count();
    let mut totals = Vec::new();
    let (mut billed, mut rejected) = (Decimal::ZERO, 0u64);
    if let Some(t) = &i.totals {
        for (period, by_cur) in &t.by_period {
            for (cur, x) in by_cur {
                billed += x.billed_cost_reporting;
                totals.push(vec![
                    period.clone(),
                    cur.clone(),
                    x.rows.to_string(),
                    money_text(&x.billed_cost.to_string()),
                    money_text(&x.effective_cost.to_string()),
                    money_text(&x.list_cost.to_string()),
                    money_text(&x.contracted_cost.to_string()),
                    money_text(&x.billed_cost_reporting.to_string()),
                    money_text(&x.effective_cost_reporting.to_string()),
                ]);
            }
        }
        rejected = t.rows_left_out;
    }
    let report = i.report.clone().unwrap_or_default();
    let (me, nav) = shell(&auth, "/imports");
    render(ImportPage {
        me,
        nav,
        working: matches!(i.status.as_str(), "queued" | "running"),
        totals,
        errors: report
            .errors
            .iter()
            .map(|e| {
                vec![
                    e.row.to_string(),
                    e.column.clone().unwrap_or_default(),
                    e.value.clone().unwrap_or_default(),
                    e.reason.clone(),
                ]
            })
            .collect(),
        quarantine: report.quarantine.is_some() && auth.actor.scope.is_none(),
        counts: report.counts.clone().into_iter().collect(),
        errors_total: report.total,
        replaced_by,
        replaced_parts,
        parts: partitions.len(),
        share: if rejected > 0 {
            format!(
                "{rejected} row(s) left out ({} of rows read)",
                percent(Decimal::from(rejected), Decimal::from(i.rows_read.max(1)))
            )
        } else {
            let _ = billed;
            String::new()
        },
        i,
    })
}
