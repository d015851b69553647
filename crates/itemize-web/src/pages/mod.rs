//! Server-rendered HTML pages: a layout, navigation and the reference-data lists. Auto-escaping templates,
//! no JavaScript required.

mod admin;
mod assets;
mod costs;
mod overview;
mod reference;
mod reports;

use crate::AppState;
use crate::auth::{
    Auth, LOGIN_CSRF_COOKIE, SESSION_COOKIE, cookie, form_csrf_ok, peer_address, safe_next, set_cookie,
};
use crate::error::{public_message, status_of};
use crate::extract::Params;
use crate::routes::Reg;
use askama::Template;
use axum::extract::{Form, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use itemize_app::secrets::{constant_time_eq, random_secret};
use itemize_app::{AppError, ListParams};
use itemize_core::refdata::{CostCentre, Kind, Location, Person, Service, Vendor};
use itemize_store::StoredKind;
use serde_json::Value;
use std::collections::HashMap;

pub fn routes(r: Reg) -> Reg {
    let r =
        overview::routes(costs::routes(reports::routes(assets::routes(admin::routes(reference::routes(r))))));
    r.add("/login", &["GET", "POST"], get(login_form).post(login))
        .add("/logout", &["POST"], post(logout))
        .add("/static/itemize.css", &["GET"], get(css))
        .add("/static/itemize.js", &["GET"], get(js))
        .add("/cost-centres", &["GET"], get(list_page::<CostCentre>))
        .add("/services", &["GET"], get(list_page::<Service>))
        .add("/people", &["GET"], get(list_page::<Person>))
        .add("/locations", &["GET"], get(list_page::<Location>))
        .add("/vendors", &["GET"], get(list_page::<Vendor>))
}

/// The signed-in user, as every page's header shows them (with the sign-out form's CSRF token).
pub struct Me {
    pub name: String,
    pub role: String,
    pub csrf: String,
}

fn me(auth: &Auth) -> Option<Me> {
    Some(Me {
        name: auth.actor.name.clone(),
        role: auth.actor.role.to_string(),
        csrf: auth.csrf.clone().unwrap_or_default(),
    })
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The main navigation: (path, label); the admin-only part follows for administrators.
const NAV: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/costs", "Cost explorer"),
    ("/showback", "Showback"),
    ("/chargeback", "Chargeback"),
    ("/allocation/rules", "Rules"),
    ("/imports", "Imports"),
    ("/assets", "Assets"),
    ("/contracts", "Contracts"),
    ("/audits", "Audits"),
    ("/cost-centres", "Cost centres"),
    ("/services", "Services"),
    ("/people", "People"),
    ("/locations", "Locations"),
    ("/vendors", "Vendors"),
];
const ADMIN_NAV: &[(&str, &str)] =
    &[("/admin/users", "Users"), ("/admin/tokens", "Tokens"), ("/admin/audit", "Audit log")];

/// The navigation with `current` (a path of [`NAV`]) marked, for `actor` (none: someone not signed in). Pages
/// the actor could only be refused are left out: the chargeback journal is for finance and administrators with
/// the whole ledger signed in or with a token that may write, imports for users not limited to cost centres.
pub fn nav(current: &str, actor: Option<&itemize_app::Actor>) -> Vec<NavItem> {
    use itemize_core::auth::{Action, Resource, Role, authorize};
    let admin = actor.is_some_and(|a| a.role == Role::Admin);
    let extra: &[(&str, &str)] = if admin { ADMIN_NAV } else { &[] };
    let shown = |href: &str| match (href, actor) {
        ("/chargeback", Some(a)) => {
            a.scope.is_none() && authorize(a, Resource::CostLedger, Action::Write).is_ok()
        }
        ("/imports", Some(a)) => a.scope.is_none(),
        _ => true,
    };
    NAV.iter()
        .chain(extra)
        .filter(|(href, _)| shown(href))
        .map(|(href, label)| NavItem { href, label, current: *href == current })
        .collect()
}

/// What every page's frame needs: who is signed in and the navigation.
pub fn shell(auth: &Auth, current: &str) -> (Option<Me>, Vec<NavItem>) {
    (me(auth), nav(current, Some(&auth.actor)))
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

async fn js() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../../templates/itemize.js"))
        .into_response()
}

/// A page form's fields, read only once the caller is known to be a signed-in browser (programs use the API)
/// and the form carries the session's CSRF token (as its `csrf` field, or the `X-CSRF-Token` header).
pub fn page_form(
    auth: &Auth,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<std::collections::BTreeMap<String, String>, Box<Response>> {
    require_browser(auth)?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        Box::new(page_error(
            StatusCode::BAD_REQUEST,
            "Bad request".into(),
            "The form could not be read.".into(),
        ))
    })?;
    let form: std::collections::BTreeMap<String, String> = pairs.into_iter().collect();
    let sent = form
        .get("csrf")
        .map(String::as_str)
        .or_else(|| headers.get(crate::auth::CSRF_HEADER).and_then(|v| v.to_str().ok()))
        .unwrap_or("");
    if !form_csrf_ok(auth, sent) {
        return Err(Box::new(page_error(
            StatusCode::FORBIDDEN,
            "Forbidden".into(),
            "The form expired; reload the page and try again.".into(),
        )));
    }
    Ok(form)
}

/// Page forms are for a signed-in browser: a request with an API token is refused (it has no CSRF token).
pub fn require_browser(auth: &Auth) -> Result<(), Box<Response>> {
    if auth.session_id.is_some() {
        Ok(())
    } else {
        Err(Box::new(page_error(
            StatusCode::FORBIDDEN,
            "Forbidden".into(),
            "Forms on these pages are for a signed-in browser; programs use the API under /api/v1.".into(),
        )))
    }
}

/// A page shown again after a refusal: `set` (the error, what was typed) applied to it, with `status`.
pub fn again<T: Template>(
    page: Result<T, AppError>,
    status: StatusCode,
    set: impl FnOnce(&mut T),
) -> Response {
    match page {
        Ok(mut p) => {
            set(&mut p);
            (status, render(p)).into_response()
        }
        Err(e) => app_error(e),
    }
}

/// The message a person may read for an error (internal details stay in the logs).
pub fn public(e: &AppError) -> String {
    public_message(e)
}

/// [`public`], followed by each field's problem, for a page that has no field of its own to show them beside.
pub fn explain(e: &AppError) -> String {
    let details: Vec<String> = e.details().iter().map(|d| format!("{}: {}", d.field, d.problem)).collect();
    if details.is_empty() {
        public_message(e)
    } else {
        format!("{} ({})", public_message(e), details.join("; "))
    }
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../../templates/itemize.css"))
        .into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    title: String,
    message: String,
}

/// The id in a page's path; anything else (`/assets/abc`) is a page that is not there, framed as any error page
/// (axum's own refusal is a line of plain text).
#[derive(Debug, Clone, Copy)]
pub struct PageId(pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PageId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Response> {
        match axum::extract::Path::<i64>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(PageId(id)),
            Err(_) => Err(not_found()),
        }
    }
}

pub fn not_found() -> Response {
    page_error(StatusCode::NOT_FOUND, "Not found".into(), "There is nothing at this address.".into())
}

/// An error page's words, kept on its response so that [`with_shell`] can frame it for whoever is signed in.
#[derive(Debug, Clone)]
struct ErrorWords {
    title: String,
    message: String,
}

/// An error page. Handlers make it without knowing who asked: it leaves with its status and words only, and the
/// authenticating middleware, which knows, renders it once ([`with_shell`]) — in the signed-in person's frame, so
/// an error does not look like being signed out.
pub fn page_error(status: StatusCode, title: String, message: String) -> Response {
    let mut res = (status, Html("")).into_response();
    res.extensions_mut().insert(ErrorWords { title, message });
    res
}

/// An error page made by [`page_error`], rendered with `auth`'s name, sign-out and navigation (or signed out,
/// without); any other response as it is.
pub fn with_shell(res: Response, auth: Option<&Auth>) -> Response {
    let Some(words) = res.extensions().get::<ErrorWords>().cloned() else { return res };
    let (me, nav) = match auth {
        Some(auth) => shell(auth, ""),
        None => (None, nav("", None)),
    };
    let (parts, _) = res.into_parts();
    let html = (ErrorPage { me, nav, title: words.title, message: words.message })
        .render()
        .unwrap_or_else(|_| "error".into());
    Response::from_parts(parts, axum::body::Body::from(html))
}

/// A refusal in the API's words (an extractor's: a query parameter given twice) to a signed-in page's request,
/// made an error page (then framed by [`with_shell`]).
pub fn api_error_as_page(res: Response) -> Response {
    match res.extensions().get::<crate::error::ApiErrorWords>().cloned() {
        Some(crate::error::ApiErrorWords(message)) if res.extensions().get::<ErrorWords>().is_none() => {
            let status = res.status();
            page_error(status, title_of(status), message)
        }
        _ => res,
    }
}

pub fn app_error(e: AppError) -> Response {
    let status = status_of(&e);
    page_error(status, title_of(status), public_message(&e))
}

/// An error page's title: "Not found", as the pages' own not-found page says it (the status's reason is title
/// case: "Not Found").
fn title_of(status: StatusCode) -> String {
    let reason = status.canonical_reason().unwrap_or("Error");
    reason.chars().take(1).chain(reason.chars().skip(1).flat_map(char::to_lowercase)).collect()
}

pub fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => app_error(AppError::Internal(format!("rendering a page: {e}"))),
    }
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

/// A list's column headings: each sortable one (`Some(field)`) links to the list sorted by it, ascending first,
/// then descending; the current sort is marked for `aria-sort`. The links start again at the first page.
pub fn headings(
    path: &str,
    params: &ListParams,
    current_sort: &str,
    columns: impl Iterator<Item = (&'static str, Option<&'static str>)>,
) -> Vec<Heading> {
    columns
        .map(|(label, field)| {
            let Some(field) = field else { return Heading { label, sort_link: None, sorted: "" } };
            let (sorted, next_sort) = if current_sort == field {
                ("ascending", format!("-{field}"))
            } else if current_sort.strip_prefix('-') == Some(field) {
                ("descending", field.to_string())
            } else {
                ("", field.to_string())
            };
            let mut p = params.clone();
            p.0.remove("cursor");
            Heading { label, sort_link: Some(link(path, &p.with("sort", next_sort))), sorted }
        })
        .collect()
}

/// A page, or the error that kept it from being made.
pub fn show<T: Template>(page: Result<T, AppError>) -> Response {
    match page {
        Ok(p) => render(p),
        Err(e) => app_error(e),
    }
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    title: &'static str,
    api_path: String,
    path: &'static str,
    headings: Vec<Heading>,
    rows: Vec<(i64, Vec<String>)>,
    can_write: bool,
    q: String,
    archived: String,
    next: Option<String>,
    first: Option<String>,
}

pub fn link(path: &str, params: &ListParams) -> String {
    let pairs: Vec<(&str, &str)> =
        params.0.iter().map(|(k, v)| (k.as_str(), v.as_str())).filter(|(_, v)| !v.is_empty()).collect();
    let qs = serde_urlencoded::to_string(pairs).unwrap_or_default();
    if qs.is_empty() { path.to_string() } else { format!("{path}?{qs}") }
}

async fn list_page<K: StoredKind>(State(s): State<AppState>, auth: Auth, Params(params): Params) -> Response {
    let page = match s.app.list::<K>(&auth.actor, &params).await {
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
        match s.app.labels(&auth.actor, k, &ids).await {
            Ok(l) => {
                labels.insert(k, l);
            }
            Err(e) => return app_error(e),
        }
    }
    let current_sort = params.get("sort").unwrap_or(K::LIST.sorts[0]);
    let columns = display_columns(kind)
        .iter()
        .map(|(label, field)| (*label, K::LIST.sorts.contains(field).then_some(*field)));
    let headings = headings(path, &params, current_sort, columns);
    let rows = page
        .items
        .iter()
        .map(|rec| {
            let j = rec.fields.to_json();
            let cells = display_columns(kind)
                .iter()
                .map(|(_, field)| match (&j[*field], ref_kind.get(field)) {
                    (Value::Number(n), Some(rk)) => n
                        .as_i64()
                        .and_then(|id| labels.get(rk).and_then(|l| l.get(&id)).cloned())
                        .unwrap_or_else(|| {
                            // A scoped user is not told what lies outside their cost centres.
                            if auth.actor.scope.is_some() {
                                "(outside your cost centres)".to_string()
                            } else {
                                n.to_string()
                            }
                        }),
                    (Value::String(t), _) => t.clone(),
                    (Value::Array(a), _) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
                    (Value::Null, _) => String::new(),
                    (other, _) => other.to_string(),
                })
                .collect();
            (Into::<i64>::into(rec.id), cells)
        })
        .collect();
    let next = page.next.map(|c| link(path, &params.clone().with("cursor", c)));
    let first = params.get("cursor").map(|_| {
        let mut p = params.clone();
        p.0.remove("cursor");
        link(path, &p)
    });
    render(ListPage {
        me: me(&auth),
        nav: nav(path_of(kind), Some(&auth.actor)),
        title: kind.title(),
        api_path: format!("/api/v1/{}", kind.plural()),
        path,
        headings,
        rows,
        can_write: itemize_core::auth::authorize(
            &auth.actor,
            itemize_core::auth::Resource::RefData(kind),
            itemize_core::auth::Action::Write,
        )
        .is_ok(),
        q: params.get("q").unwrap_or_default().to_string(),
        archived: params.get("archived").unwrap_or("false").to_string(),
        next,
        first,
    })
}

// -------------------------------------------------------------------------------------------- sign-in

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
    /// On a data directory holding the demo organisation: how to sign in to it.
    demo: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

fn login_page(
    status: StatusCode,
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
    secure: bool,
) -> Response {
    let page = LoginPage { me: None, nav: Vec::new(), csrf: csrf.clone(), next, username, error, demo: None };
    login_response(status, page, &csrf, secure)
}

fn login_response(status: StatusCode, page: LoginPage, csrf: &str, secure: bool) -> Response {
    let mut res = (status, render(page)).into_response();
    res.headers_mut().insert(header::SET_COOKIE, set_cookie(LOGIN_CSRF_COOKIE, csrf, 3600, secure, "Strict"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The sign-in form's CSRF value: the browser's existing one when it has one, so that a second tab, or a
/// stray request that lands on the sign-in page, does not invalidate a form already on screen.
fn login_csrf(headers: &HeaderMap) -> String {
    cookie(headers, LOGIN_CSRF_COOKIE)
        .filter(|c| c.len() == 43 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .map(str::to_string)
        .unwrap_or_else(random_secret)
}

async fn login_form(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: axum::extract::Query<LoginQuery>,
) -> Response {
    let demo = s.app.demo_marker().await.ok().flatten().filter(|m| m.complete).map(|_| {
        let users: Vec<&str> = itemize_app::demo::DEMO_USERS.iter().map(|u| u.0).collect();
        format!(
            "This is the demo organisation: sign in as admin, or as {} to see another role, with the password {} \
             (unless it has been changed).",
            users[1..].join(", "),
            itemize_app::demo::DEMO_PASSWORD
        )
    });
    let csrf = login_csrf(&headers);
    let page = LoginPage {
        me: None,
        nav: Vec::new(),
        csrf: csrf.clone(),
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        error: None,
        demo,
    };
    login_response(StatusCode::OK, page, &csrf, s.web.secure_cookies)
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login(State(s): State<AppState>, headers: HeaderMap, req: Request) -> Response {
    let address = peer_address(req.extensions());
    let secure = s.web.secure_cookies;
    let Form(f): Form<LoginForm> = match Form::from_request(req, &s).await {
        Ok(f) => f,
        Err(_) => {
            let msg = "fill in the username and the password".to_string();
            return login_page(
                StatusCode::BAD_REQUEST,
                login_csrf(&headers),
                "/".into(),
                String::new(),
                Some(msg),
                secure,
            );
        }
    };
    let next = safe_next(f.next.as_deref());
    let sent_ok = cookie(&headers, LOGIN_CSRF_COOKIE)
        .is_some_and(|c| constant_time_eq(c.as_bytes(), f.csrf.as_bytes()));
    if !sent_ok {
        let msg = "the sign-in form expired; please try again".to_string();
        return login_page(StatusCode::FORBIDDEN, login_csrf(&headers), next, f.username, Some(msg), secure);
    }
    match s.app.login(&f.username, &f.password, address.as_deref()).await {
        Ok(session) => {
            // A session cookie the browser already had is ended, never reused (no session fixation).
            if let Some(old) = cookie(&headers, SESSION_COOKIE) {
                let _ = s.app.logout(old).await;
            }
            let max_age = session.expires_at.duration_since(s.app.clock().now()).as_secs();
            let mut res = Redirect::to(&next).into_response();
            res.headers_mut()
                .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &session.id, max_age, secure, "Lax"));
            res.headers_mut()
                .append(header::SET_COOKIE, set_cookie(LOGIN_CSRF_COOKIE, "", 0, secure, "Strict"));
            res
        }
        Err(e) => {
            let status = status_of(&e);
            let mut res =
                login_page(status, login_csrf(&headers), next, f.username, Some(public_message(&e)), secure);
            if let AppError::TooManyAttempts { retry_after_secs } = e
                && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
            {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
    }
}

#[derive(serde::Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

async fn logout(State(s): State<AppState>, auth: Auth, Form(f): Form<LogoutForm>) -> Response {
    if !form_csrf_ok(&auth, &f.csrf) {
        return page_error(
            StatusCode::FORBIDDEN,
            "Forbidden".into(),
            "The sign-out form expired; reload the page and try again.".into(),
        );
    }
    if let Some(sid) = &auth.session_id
        && let Err(e) = s.app.logout(sid).await
    {
        return app_error(e);
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, s.web.secure_cookies, "Lax"));
    res
}
