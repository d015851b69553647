//! The register's reports as pages: what is overdue, what leavers still hold, warranties ending, assets reaching
//! their end of life, the hardware refresh plan with its budget, and depreciation by cost centre. Each reads
//! the same use case as its API route and names the people, places and cost centres it lists.

use super::assets::names;
use super::{Me, NavItem, app_error, render, shell};
use crate::AppState;
use crate::auth::Auth;
use crate::charts::money_text;
use crate::extract::Params;
use crate::routes::Reg;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use itemize_app::AppError;
use itemize_app::asset_ops::eol;
use itemize_app::rates::rate_text;
use itemize_core::assets::Asset;
use itemize_core::refdata::Kind;
use jiff::civil::Date;
use std::collections::HashMap;

pub fn routes(r: Reg) -> Reg {
    r.add("/assets/overdue", &["GET"], get(overdue))
        .add("/assets/offboarding", &["GET"], get(offboarding))
        .add("/assets/warranty-expiring", &["GET"], get(warranty))
        .add("/assets/end-of-life", &["GET"], get(end_of_life))
        .add("/assets/refresh-plan", &["GET"], get(refresh))
        .add("/assets/depreciation", &["GET"], get(depreciation))
}

/// The reports, in the order the links show them: (path, label).
const REPORTS: &[(&str, &str)] = &[
    ("/assets/overdue", "Overdue returns"),
    ("/assets/offboarding", "Leavers"),
    ("/assets/warranty-expiring", "Warranties ending"),
    ("/assets/end-of-life", "End of life"),
    ("/assets/refresh-plan", "Refresh plan"),
    ("/assets/depreciation", "Depreciation by cost centre"),
    ("/assets/governance", "Data quality"),
    ("/contracts/renewals", "Renewals"),
];

/// A table cell: its text, where it links to, and whether it is a number (right-aligned).
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub num: bool,
}

fn text(t: impl Into<String>) -> Cell {
    Cell { text: t.into(), href: None, num: false }
}

fn num(t: impl Into<String>) -> Cell {
    Cell { text: t.into(), href: None, num: true }
}

fn linked(t: impl Into<String>, href: String) -> Cell {
    Cell { text: t.into(), href: Some(href), num: false }
}

pub struct Section {
    pub heading: Option<String>,
    pub head: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// What an empty table says.
    pub empty: &'static str,
    pub foot: Vec<Vec<Cell>>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    title: String,
    /// (path, label, this one)
    reports: Vec<(&'static str, &'static str, bool)>,
    /// The window links, (href, label, current), and their unit ("days", "months").
    windows: Vec<(String, String, bool)>,
    window_unit: &'static str,
    /// A form of month fields: (name, label, value).
    months: Vec<(&'static str, &'static str, String)>,
    notes: Vec<String>,
    sections: Vec<Section>,
    api: String,
}

impl ReportPage {
    fn new(auth: &Auth, path: &'static str, title: String, api: String) -> Self {
        let (me, nav) = shell(auth, "/assets");
        Self {
            me,
            nav,
            title,
            reports: REPORTS.iter().map(|(p, l)| (*p, *l, *p == path)).collect(),
            windows: Vec::new(),
            window_unit: "",
            months: Vec::new(),
            notes: Vec::new(),
            sections: Vec::new(),
            api,
        }
    }
}

/// A whole-number parameter from `low` to `high`, `default` when absent.
pub(super) fn bounded(
    p: &itemize_app::ListParams,
    name: &str,
    default: u32,
    low: u32,
    high: u32,
    unit: &str,
) -> Result<u32, AppError> {
    match p.get(name) {
        None | Some("") => Ok(default),
        Some(v) => v.parse::<u32>().ok().filter(|n| (low..=high).contains(n)).ok_or_else(|| {
            AppError::bad_param(name, format!("`{v}` is not a number of {unit} from {low} to {high}"))
        }),
    }
}

/// Names of the people, services, locations and cost centres a set of assets refers to (those the user may
/// read: anyone else's is not named).
struct Names {
    people: HashMap<i64, String>,
    services: HashMap<i64, String>,
    places: HashMap<i64, String>,
    centres: HashMap<i64, String>,
}

impl Names {
    async fn of(s: &AppState, auth: &Auth, assets: &[&Asset]) -> Self {
        let ids = |f: &dyn Fn(&Asset) -> Option<i64>| {
            let mut v: Vec<i64> = assets.iter().filter_map(|a| f(a)).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let people = ids(&|a| a.custody.assignee_person_id);
        let services = ids(&|a| a.custody.service_id);
        let places = ids(&|a| a.custody.location_id.or(a.fields.location_id));
        let centres = ids(&|a| a.fields.cost_centre_id);
        Self {
            people: names(s, auth, Kind::Person, people).await,
            services: names(s, auth, Kind::Service, services).await,
            places: names(s, auth, Kind::Location, places).await,
            centres: names(s, auth, Kind::CostCentre, centres).await,
        }
    }

    /// Only the names of these cost centres (a report that names no one else).
    async fn of_cost_centres(s: &AppState, auth: &Auth, ids: impl Iterator<Item = i64>) -> Self {
        let mut ids: Vec<i64> = ids.collect();
        ids.sort_unstable();
        ids.dedup();
        let centres = names(s, auth, Kind::CostCentre, ids).await;
        Self { people: HashMap::new(), services: HashMap::new(), places: HashMap::new(), centres }
    }

    /// Who or what holds the asset (a person, else a business service), else where it is ("at …"): linked to
    /// that record's page when the user may read it.
    fn holder(&self, a: &Asset) -> Cell {
        let named = |names: &HashMap<i64, String>, id: i64, path: &str, prefix: &str| match names.get(&id) {
            Some(n) => linked(format!("{prefix}{n}"), format!("{path}/{id}")),
            None => text("outside your cost centres"),
        };
        if let Some(p) = a.custody.assignee_person_id {
            return named(&self.people, p, "/people", "");
        }
        if let Some(v) = a.custody.service_id {
            return named(&self.services, v, "/services", "");
        }
        match a.custody.location_id.or(a.fields.location_id) {
            Some(l) => named(&self.places, l, "/locations", "at "),
            None => text("—"),
        }
    }

    fn centre(&self, id: Option<i64>) -> Cell {
        match id {
            Some(c) => match self.centres.get(&c) {
                Some(n) => linked(n.clone(), format!("/cost-centres/{c}")),
                None => text("outside your cost centres"),
            },
            None => text("none"),
        }
    }
}

fn asset_cell(a: &Asset) -> Cell {
    linked(a.fields.tag.clone(), format!("/assets/{}", a.id))
}

/// Days from `today` to `d` (negative when `d` has passed).
fn days_between(today: Date, d: Date) -> i64 {
    today.until(d).map_or(0, |s| i64::from(s.get_days()))
}

/// Each window of `choices` as a link to `path?{param}=n`.
fn windows(path: &str, param: &str, choices: &[u32], current: u32) -> Vec<(String, String, bool)> {
    choices.iter().map(|n| (format!("{path}?{param}={n}"), n.to_string(), *n == current)).collect()
}

// ------------------------------------------------------------------------------------------------ overdue

async fn overdue(State(s): State<AppState>, auth: Auth) -> Response {
    let list = match s.app.overdue_assets(&auth.actor).await {
        Ok(l) => l,
        Err(e) => return app_error(e),
    };
    let today = s.app.today();
    let refs: Vec<&Asset> = list.iter().collect();
    let names = Names::of(&s, &auth, &refs).await;
    // The longest overdue first, as the use case lists them.
    let rows: Vec<Vec<Cell>> = list
        .iter()
        .map(|a| {
            let due = a.custody.expected_return;
            let late = due.map_or(0, |d| -days_between(today, d));
            vec![
                asset_cell(a),
                text(a.fields.name.clone()),
                text(a.state.to_string()),
                names.holder(a),
                text(due.map_or_else(|| "—".into(), |d| d.to_string())),
                num(late.to_string()),
            ]
        })
        .collect();
    let mut page = ReportPage::new(
        &auth,
        "/assets/overdue",
        format!("Overdue returns ({})", rows.len()),
        "/api/v1/assets/overdue".into(),
    );
    page.notes.push(format!(
        "Assets checked out or on loan whose expected return date has passed, as of {today}; the longest \
         overdue first."
    ));
    page.sections.push(Section {
        heading: None,
        head: ["Asset", "Name", "State", "Held by / at", "Expected back", "Days overdue"]
            .map(String::from)
            .to_vec(),
        rows,
        empty: "Nothing is overdue.",
        foot: Vec::new(),
    });
    render(page)
}

// ------------------------------------------------------------------------------------------------ leavers

async fn offboarding(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    // One leaver's checklist, as the API gives it (`person_id`), or everyone's.
    if let Err(e) = p.only(&["person_id"]) {
        return app_error(e);
    }
    let person = match p.get("person_id").map(str::parse::<i64>) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => return app_error(AppError::bad_param("person_id", "is not an id")),
    };
    let list = match s.app.offboarding(&auth.actor, person).await {
        Ok(l) => l,
        Err(e) => return app_error(e),
    };
    let mut page = ReportPage::new(
        &auth,
        "/assets/offboarding",
        format!("Leavers ({})", list.len()),
        "/api/v1/assets/offboarding".into(),
    );
    let open = list.iter().filter(|o| o.status != "done").count();
    let to_recover: usize = list.iter().map(|o| o.outstanding.len()).sum();
    page.notes.push(format!(
        "People who have left or have a leave date, and the assets to recover from them: {open} with something \
         outstanding, {to_recover} asset(s) to recover."
    ));
    let person = |id: i64, name: &str| linked(name.to_string(), format!("/people/{id}"));
    page.sections.push(Section {
        heading: Some("Checklist".into()),
        head: ["Person", "Email", "Leave date", "Status", "To recover", "Recovered", "Not recovered"]
            .map(String::from)
            .to_vec(),
        rows: list
            .iter()
            .map(|o| {
                vec![
                    person(o.person_id, &o.name),
                    text(o.email.clone()),
                    text(o.leave_date.map_or_else(|| "—".into(), |d| d.to_string())),
                    text(o.status),
                    num(o.outstanding.len().to_string()),
                    num(o.recovered.len().to_string()),
                    num(o.not_recovered.len().to_string()),
                ]
            })
            .collect(),
        empty: "No leavers.",
        foot: Vec::new(),
    });
    let item = |o: &itemize_app::assets::Offboarding, i: &itemize_app::assets::OffboardingItem| {
        vec![
            linked(i.tag.clone(), format!("/assets/{}", i.asset_id)),
            text(i.name.clone()),
            text(i.class.to_string()),
            text(i.state.to_string()),
            person(o.person_id, &o.name),
            text(o.leave_date.map_or_else(|| "—".into(), |d| d.to_string())),
            text(i.status),
        ]
    };
    let head =
        || ["Asset", "Name", "Class", "State", "From", "Leave date", "Status"].map(String::from).to_vec();
    page.sections.push(Section {
        heading: Some("Assets to recover".into()),
        head: head(),
        rows: list.iter().flat_map(|o| o.outstanding.iter().map(move |i| item(o, i))).collect(),
        empty: "Nothing to recover.",
        foot: Vec::new(),
    });
    page.sections.push(Section {
        heading: Some("Recovered, and lost on the way".into()),
        head: head(),
        rows: list
            .iter()
            .flat_map(|o| o.recovered.iter().chain(&o.not_recovered).map(move |i| item(o, i)))
            .collect(),
        empty: "None yet.",
        foot: Vec::new(),
    });
    render(page)
}

// ------------------------------------------------------------------------------------------------ warranty, end of life

const DAY_WINDOWS: &[u32] = &[30, 60, 90, 180, 365];

/// The two lists of assets by a date within a number of days from today.
#[derive(Clone, Copy)]
enum Dated {
    /// Warranties ending from today.
    Warranty,
    /// At or past their end of life by then.
    EndOfLife,
}

impl Dated {
    fn path(self) -> &'static str {
        match self {
            Dated::Warranty => "/assets/warranty-expiring",
            Dated::EndOfLife => "/assets/end-of-life",
        }
    }

    fn date(self) -> fn(&Asset) -> Option<Date> {
        match self {
            Dated::Warranty => |a| a.fields.warranty_end,
            Dated::EndOfLife => eol,
        }
    }
}

async fn warranty(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    dated(&s, &auth, &p, Dated::Warranty).await
}

async fn end_of_life(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    dated(&s, &auth, &p, Dated::EndOfLife).await
}

/// A list of assets by a date (the soonest first) within `days` from today.
async fn dated(s: &AppState, auth: &Auth, p: &itemize_app::ListParams, which: Dated) -> Response {
    let days = match bounded(p, "days", 90, 1, 3650, "days") {
        Ok(d) => d,
        Err(e) => return app_error(e),
    };
    let listed = match which {
        Dated::Warranty => s.app.warranty_expiring(&auth.actor, days).await,
        Dated::EndOfLife => s.app.end_of_life(&auth.actor, days).await,
    };
    // The soonest first, as the use cases list them.
    let list = match listed {
        Ok(l) => l,
        Err(e) => return app_error(e),
    };
    let (path, date) = (which.path(), which.date());
    let today = s.app.today();
    let refs: Vec<&Asset> = list.iter().collect();
    let names = Names::of(s, auth, &refs).await;
    let until = today.checked_add(jiff::Span::new().days(i64::from(days))).unwrap_or(today);
    let (title, label) = match which {
        Dated::Warranty => {
            (format!("Warranties ending in the next {days} days ({})", list.len()), "Warranty ends")
        }
        Dated::EndOfLife => {
            (format!("At or past their end of life by {until} ({})", list.len()), "End of life")
        }
    };
    let mut page = ReportPage::new(auth, path, title, format!("/api/v1{path}?days={days}"));
    (page.windows, page.window_unit) = (windows(path, "days", DAY_WINDOWS, days), "days");
    page.notes.push(match which {
        Dated::EndOfLife => format!(
            "Owned assets (not retired) whose end of life (given, or the in-service or purchase date plus the \
             useful life) falls by {until}, those already past it included (negative days), the soonest first."
        ),
        Dated::Warranty => {
            format!("Owned assets (not retired) whose warranty ends from today ({today}) to {until}, the soonest first.")
        }
    });
    page.sections.push(Section {
        heading: None,
        head: ["Asset", "Name", "Model", "State", label, "Days left", "Held by / at", "Cost centre"]
            .map(String::from)
            .to_vec(),
        rows: list
            .iter()
            .map(|a| {
                let d = date(a);
                vec![
                    asset_cell(a),
                    text(a.fields.name.clone()),
                    text(a.fields.model.clone().unwrap_or_else(|| "—".into())),
                    text(a.state.to_string()),
                    text(d.map_or_else(|| "—".into(), |d| d.to_string())),
                    num(d.map_or_else(String::new, |d| days_between(today, d).to_string())),
                    names.holder(a),
                    names.centre(a.fields.cost_centre_id),
                ]
            })
            .collect(),
        empty: "None in this window.",
        foot: Vec::new(),
    });
    render(page)
}

// ------------------------------------------------------------------------------------------------ refresh plan

const MONTH_WINDOWS: &[u32] = &[3, 6, 12, 24, 36];

async fn refresh(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    let months = match bounded(&p, "months", 12, 1, 120, "months") {
        Ok(m) => m,
        Err(e) => return app_error(e),
    };
    let plan = match s.app.refresh_plan(&auth.actor, months).await {
        Ok(p) => p,
        Err(e) => return app_error(e),
    };
    let names = Names::of_cost_centres(&s, &auth, plan.groups.iter().filter_map(|g| g.cost_centre_id)).await;
    let count: usize = plan.groups.iter().map(|g| g.count).sum();
    let due: usize = plan.groups.iter().map(|g| g.already_due).sum();
    let mut page = ReportPage::new(
        &auth,
        "/assets/refresh-plan",
        format!("Refresh plan, next {months} months"),
        format!("/api/v1/assets/refresh-plan?months={months}"),
    );
    (page.windows, page.window_unit) =
        (windows("/assets/refresh-plan", "months", MONTH_WINDOWS, months), "months");
    page.notes.push(format!(
        "{count} hardware asset(s) reach their end of life, the end of their lease, or the end of their support \
         (warranty, or a maintenance or warranty contract in force, whichever ends later) by {}; {due} of them are \
         past it already (the \
         backlog: \"Already due\"). The budget prices each at its model's latest purchase price in its currency.",
        plan.until
    ));
    match (&plan.reporting_total, &plan.reporting_missing) {
        (Some(r), _) if !r.rates.is_empty() => page.notes.push(format!(
            "All together {} {} at the latest rates imported: {}.",
            money_text(&r.amount),
            r.currency,
            r.rates
                .iter()
                .map(|(c, rate, on)| format!("1 {c} = {} {} ({on})", rate_text(rate), r.currency))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        (None, Some(missing)) => {
            page.notes.push(format!("No total in the reporting currency: {missing}."));
        }
        _ => {}
    }
    if plan.unpriced_assets > 0 {
        page.notes.push(format!(
            "{} asset(s) have a model with no known purchase price and are not in the budget.",
            plan.unpriced_assets
        ));
    }
    // Each group opens on this page with its assets listed (exactly the plan's, which the register's filters
    // cannot name: due dates come from warranties, covers and useful lives).
    let group_link = |g: &itemize_app::asset_ops::RefreshGroup| -> String {
        let mut q = vec![
            ("months", months.to_string()),
            ("model", g.model.clone()),
            ("currency", g.currency.clone()),
        ];
        if let Some(c) = g.cost_centre_id {
            q.push(("cost_centre_id", c.to_string()));
        }
        format!("/assets/refresh-plan?{}#group", serde_urlencoded::to_string(q).unwrap_or_default())
    };
    let chosen = p.get("model").map(|m| {
        plan.groups.iter().find(|g| {
            g.model == m
                && p.get("currency").is_none_or(|c| c == g.currency)
                && g.cost_centre_id.map(|c| c.to_string()).as_deref()
                    == p.get("cost_centre_id").filter(|c| !c.is_empty())
        })
    });
    page.sections.push(Section {
        heading: None,
        head: [
            "Model",
            "Cost centre",
            "Assets",
            "Already due",
            "First due",
            "Currency",
            "Unit price",
            "Budget",
        ]
        .map(String::from)
        .to_vec(),
        rows: plan
            .groups
            .iter()
            .map(|g| {
                vec![
                    linked(g.model.clone(), group_link(g)),
                    names.centre(g.cost_centre_id),
                    num(g.count.to_string()),
                    num(g.already_due.to_string()),
                    text(g.first_due.to_string()),
                    text(g.currency.clone()),
                    num(g.unit_price.as_deref().map_or_else(|| "unpriced".into(), money_text)),
                    num(g.budget.as_deref().map_or_else(|| "—".into(), money_text)),
                ]
            })
            .collect(),
        empty: "Nothing is due in this window.",
        foot: plan
            .total
            .iter()
            .map(|(cur, amount)| {
                vec![
                    text("Total"),
                    text(""),
                    text(""),
                    text(""),
                    text(""),
                    text(cur.clone()),
                    text(""),
                    num(money_text(amount)),
                ]
            })
            .chain(plan.reporting_total.iter().filter(|r| !r.rates.is_empty()).map(|r| {
                vec![
                    text("All together, at the latest rates"),
                    text(""),
                    text(""),
                    text(""),
                    text(""),
                    text(r.currency.clone()),
                    text(""),
                    num(money_text(&r.amount)),
                ]
            }))
            .collect(),
    });
    match chosen {
        Some(Some(g)) => {
            let due: HashMap<i64, Date> =
                g.asset_ids.iter().copied().zip(g.asset_due.iter().copied()).collect();
            let listed: Vec<i64> = g.asset_ids.iter().copied().take(LISTED).collect();
            let assets: Vec<(Asset, Date)> = match s.app.assets_by_ids(&auth.actor, &listed).await {
                Ok(list) => list.into_iter().filter_map(|a| due.get(&a.id).map(|d| (a, *d))).collect(),
                Err(e) => return app_error(e),
            };
            let refs: Vec<&Asset> = assets.iter().map(|(a, _)| a).collect();
            let held = Names::of(&s, &auth, &refs).await;
            let today = s.app.today();
            page.sections.push(Section {
                heading: Some(format!(
                    "{} in {}: {} asset(s){}",
                    g.model,
                    names.centre(g.cost_centre_id).text,
                    g.count,
                    if g.count > LISTED { format!(", the first {LISTED} listed") } else { String::new() }
                )),
                head: [
                    "Asset",
                    "Name",
                    "State",
                    "Warranty ends",
                    "End of life",
                    "Due",
                    "Days left",
                    "Held by / at",
                ]
                .map(String::from)
                .to_vec(),
                rows: assets
                    .iter()
                    .map(|(a, due)| {
                        vec![
                            asset_cell(a),
                            text(a.fields.name.clone()),
                            text(a.state.to_string()),
                            text(a.fields.warranty_end.map_or_else(|| "—".into(), |d| d.to_string())),
                            text(eol(a).map_or_else(|| "—".into(), |d| d.to_string())),
                            text(due.to_string()),
                            num(days_between(today, *due).to_string()),
                            held.holder(a),
                        ]
                    })
                    .collect(),
                empty: "None of its assets is yours to see.",
                foot: Vec::new(),
            });
        }
        Some(None) => page.notes.push("No group of the plan matches the one asked for.".into()),
        None => {}
    }
    render(page)
}

/// The most assets a group's list shows.
const LISTED: usize = 500;

// ------------------------------------------------------------------------------------------------ depreciation

async fn depreciation(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    let this_month = s.app.today().first_of_month();
    let month = |name: &str, default: Date| -> Result<Date, AppError> {
        match p.get(name) {
            None | Some("") => Ok(default),
            Some(v) => format!("{v}-01")
                .parse::<Date>()
                .map_err(|_| AppError::bad_param(name, format!("`{v}` is not a month (YYYY-MM)"))),
        }
    };
    // A year to this month by default; given one end only, the year from it or to it.
    let year = |d: Date, back: bool| {
        let span = jiff::Span::new().months(if back { -11 } else { 11 });
        d.checked_add(span).unwrap_or(d)
    };
    let (from, to) = match (month("from", this_month), month("to", this_month)) {
        (Err(e), _) | (_, Err(e)) => return app_error(e),
        (Ok(f), Ok(t)) => {
            match (p.get("from").filter(|v| !v.is_empty()), p.get("to").filter(|v| !v.is_empty())) {
                (Some(_), Some(_)) => (f, t),
                (Some(_), None) => (f, year(f, false)),
                (None, Some(_)) => (year(t, true), t),
                (None, None) => (year(t, true), t),
            }
        }
    };
    let rows = match s.app.depreciation_by_cost_centre(&auth.actor, from, to).await {
        Ok(r) => r,
        Err(e) => return app_error(e),
    };
    let ym = |d: Date| format!("{:04}-{:02}", d.year(), d.month());
    let mut months: Vec<String> = Vec::new();
    let mut m = from;
    while m <= to {
        months.push(ym(m));
        match m.checked_add(jiff::Span::new().months(1)) {
            Ok(n) => m = n,
            Err(_) => break,
        }
    }
    let names = Names::of_cost_centres(&s, &auth, rows.iter().filter_map(|r| r.cost_centre_id)).await;
    let mut page = ReportPage::new(
        &auth,
        "/assets/depreciation",
        format!("Depreciation by cost centre, {} to {}", ym(from), ym(to)),
        format!("/api/v1/assets/depreciation?from={}&to={}", ym(from), ym(to)),
    );
    page.months = vec![("from", "From", ym(from)), ("to", "To", ym(to))];
    if to > this_month {
        page.notes.push(format!(
            "Months after {} are projected: the register as it is today, depreciated on.",
            ym(this_month)
        ));
    }
    page.notes.push(
        "Each month's depreciation expense of the assets on the books that month (none on order, none after the \
         month it was lost, stolen or disposed of), under the cost centre that held each asset that month; the \
         same figures the ledger posting counts."
            .into(),
    );
    let mut head = vec!["Cost centre".to_string(), "Currency".to_string()];
    head.extend(months.iter().cloned());
    head.extend(["Total".to_string(), "Assets".to_string()]);
    page.sections.push(Section {
        heading: None,
        head,
        rows: rows
            .iter()
            .map(|r| {
                let mut cells = vec![names.centre(r.cost_centre_id), text(r.currency.clone())];
                cells.extend(
                    months.iter().map(|m| num(r.months.get(m).map_or_else(|| "—".into(), |v| money_text(v)))),
                );
                cells.push(num(money_text(&r.total)));
                cells.push(num(r.assets.to_string()));
                cells
            })
            .collect(),
        empty: "No depreciation in these months.",
        foot: totals_by_currency(&rows, &months),
    });
    render(page)
}

/// A total row per currency: each month's sum and the whole period's, exact.
fn totals_by_currency(
    rows: &[itemize_app::asset_ops::CostCentreSchedule],
    months: &[String],
) -> Vec<Vec<Cell>> {
    use rust_decimal::Decimal;
    use std::str::FromStr;
    let mut by: std::collections::BTreeMap<&str, (Vec<Decimal>, Decimal)> = Default::default();
    for r in rows {
        let e = by
            .entry(r.currency.as_str())
            .or_insert_with(|| (vec![Decimal::ZERO; months.len()], Decimal::ZERO));
        for (i, m) in months.iter().enumerate() {
            e.0[i] += r.months.get(m).and_then(|v| Decimal::from_str(v).ok()).unwrap_or_default();
        }
        e.1 += Decimal::from_str(&r.total).unwrap_or_default();
    }
    by.into_iter()
        .map(|(cur, (per_month, total))| {
            let mut cells = vec![text("Total"), text(cur)];
            cells.extend(per_month.iter().map(|v| num(money_text(&v.to_string()))));
            cells.push(num(money_text(&total.to_string())));
            // An asset that moved between cost centres counts in each row: the rows' counts do not add up.
            cells.push(text(""));
            cells
        })
        .collect()
}
