//! Server-rendered HTML pages: a layout, navigation and the reference-data lists. Auto-escaping templates,
//! no JavaScript required.

use crate::AppState;
use crate::error::{public_message, status_of};
use crate::extract::Params;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use itemize_app::{AppError, ListParams};
use itemize_core::refdata::{CostCentre, Kind, Location, Person, Service, Vendor};
use itemize_store::StoredKind;
use serde_json::Value;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/static/itemize.css", get(css))
        .route("/cost-centres", get(list_page::<CostCentre>))
        .route("/services", get(list_page::<Service>))
        .route("/people", get(list_page::<Person>))
        .route("/locations", get(list_page::<Location>))
        .route("/vendors", get(list_page::<Vendor>))
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

fn nav(current: Option<Kind>) -> Vec<NavItem> {
    let mut items = vec![NavItem {
        href: "/",
        label: "Overview",
        current: current.is_none(),
    }];
    for k in Kind::ALL {
        items.push(NavItem {
            href: path_of(k),
            label: k.title(),
            current: current == Some(k),
        });
    }
    items
}

fn path_of(k: Kind) -> &'static str {
    match k {
        Kind::CostCentre => "/cost-centres",
        Kind::Service => "/services",
        Kind::Person => "/people",
        Kind::Location => "/locations",
        Kind::Vendor => "/vendors",
    }
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../templates/itemize.css"),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: Vec<NavItem>,
    title: String,
    message: String,
}

pub fn not_found() -> Response {
    page_error(
        StatusCode::NOT_FOUND,
        "Not found".into(),
        "There is nothing at this address.".into(),
    )
}

fn page_error(status: StatusCode, title: String, message: String) -> Response {
    let page = ErrorPage {
        nav: nav(None),
        title,
        message,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, "error").into_response(),
    }
}

fn app_error(e: AppError) -> Response {
    let status = status_of(&e);
    let title = status.canonical_reason().unwrap_or("Error").to_string();
    page_error(status, title, public_message(&e))
}

fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => app_error(AppError::Internal(format!("rendering a page: {e}"))),
    }
}

pub struct KindCount {
    pub href: &'static str,
    pub label: &'static str,
    pub count: i64,
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    nav: Vec<NavItem>,
    counts: Vec<KindCount>,
    demo: Option<String>,
}

async fn index(State(s): State<AppState>) -> Response {
    let counts = match s.app.counts().await {
        Ok(c) => c,
        Err(e) => return app_error(e),
    };
    let demo = match s.app.demo_marker().await {
        Ok(m) => m.map(|m| format!("seed {}, as of {}", m.seed, m.as_of)),
        Err(e) => return app_error(e),
    };
    render(IndexPage {
        nav: nav(None),
        counts: counts
            .into_iter()
            .map(|(k, n)| KindCount {
                href: path_of(k),
                label: k.title(),
                count: n,
            })
            .collect(),
        demo,
    })
}

/// The columns a list page shows: (heading, field).
fn display_columns(kind: Kind) -> &'static [(&'static str, &'static str)] {
    match kind {
        Kind::CostCentre => &[
            ("Code", "code"),
            ("Name", "name"),
            ("Parent", "parent_id"),
            ("Owner", "owner_id"),
            ("Currency", "currency"),
        ],
        Kind::Service => &[
            ("Code", "code"),
            ("Name", "name"),
            ("Owner cost centre", "owner_cost_centre_id"),
            ("Criticality", "criticality"),
            ("Description", "description"),
        ],
        Kind::Person => &[
            ("Name", "name"),
            ("Employee id", "employee_id"),
            ("E-mail", "email"),
            ("Job title", "job_title"),
            ("Cost centre", "cost_centre_id"),
            ("Location", "location_id"),
            ("Manager", "manager_id"),
            ("Status", "status"),
        ],
        Kind::Location => &[
            ("Code", "code"),
            ("Name", "name"),
            ("Kind", "kind"),
            ("Parent", "parent_id"),
            ("Country", "country"),
            ("City", "city"),
        ],
        Kind::Vendor => &[("Name", "name"), ("Aliases", "aliases"), ("Website", "website")],
    }
}

pub struct Heading {
    pub label: &'static str,
    pub sort_link: Option<String>,
    pub sorted: &'static str,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    nav: Vec<NavItem>,
    title: &'static str,
    api_path: String,
    headings: Vec<Heading>,
    rows: Vec<Vec<String>>,
    q: String,
    archived: String,
    next: Option<String>,
    first: Option<String>,
}

fn link(path: &str, params: &ListParams) -> String {
    let pairs: Vec<(&str, &str)> = params
        .0
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let qs = serde_urlencoded::to_string(pairs).unwrap_or_default();
    if qs.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{qs}")
    }
}

async fn list_page<K: StoredKind>(State(s): State<AppState>, Params(params): Params) -> Response {
    let page = match s.app.list::<K>(&params).await {
        Ok(p) => p,
        Err(e) => return app_error(e),
    };
    let kind = K::KIND;
    let path = path_of(kind);
    // Referenced records are shown by name, looked up once per page.
    let mut wanted: HashMap<Kind, Vec<i64>> = HashMap::new();
    let mut ref_kind: HashMap<&'static str, Kind> = HashMap::new();
    for rec in &page.items {
        for r in rec.fields.references() {
            wanted.entry(r.kind).or_default().push(r.id);
            ref_kind.insert(r.field, r.kind);
        }
    }
    let mut labels: HashMap<Kind, HashMap<i64, String>> = HashMap::new();
    for (k, ids) in wanted {
        match s.app.labels(k, &ids).await {
            Ok(l) => {
                labels.insert(k, l);
            }
            Err(e) => return app_error(e),
        }
    }
    let current_sort = params.get("sort").unwrap_or(K::LIST.sorts[0]).to_string();
    let headings = display_columns(kind)
        .iter()
        .map(|(label, field)| {
            let sortable = K::LIST.sorts.contains(field);
            let (sorted, next_sort) = if current_sort == *field {
                ("ascending", format!("-{field}"))
            } else if current_sort.strip_prefix('-') == Some(field) {
                ("descending", field.to_string())
            } else {
                ("", field.to_string())
            };
            let mut p = params.clone();
            p.0.remove("cursor");
            Heading {
                label,
                sort_link: sortable.then(|| link(path, &p.with("sort", next_sort))),
                sorted,
            }
        })
        .collect();
    let rows = page
        .items
        .iter()
        .map(|rec| {
            let j = rec.fields.to_json();
            display_columns(kind)
                .iter()
                .map(|(_, field)| match (&j[*field], ref_kind.get(field)) {
                    (Value::Number(n), Some(rk)) => n
                        .as_i64()
                        .and_then(|id| labels.get(rk).and_then(|l| l.get(&id)).cloned())
                        .unwrap_or_else(|| n.to_string()),
                    (Value::String(t), _) => t.clone(),
                    (Value::Array(a), _) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
                    (Value::Null, _) => String::new(),
                    (other, _) => other.to_string(),
                })
                .collect()
        })
        .collect();
    let next = page.next.map(|c| link(path, &params.clone().with("cursor", c)));
    let first = params.get("cursor").map(|_| {
        let mut p = params.clone();
        p.0.remove("cursor");
        link(path, &p)
    });
    render(ListPage {
        nav: nav(Some(kind)),
        title: kind.title(),
        api_path: format!("/api/v1/{}", kind.plural()),
        headings,
        rows,
        q: params.get("q").unwrap_or_default().to_string(),
        archived: params.get("archived").unwrap_or("false").to_string(),
        next,
        first,
    })
}
