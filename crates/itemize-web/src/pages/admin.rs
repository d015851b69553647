//! Administration pages: users, API tokens and the audit log (read here; changed through the API and CLI).

use super::{Me, NavItem, PageId, app_error, link, render, shell};
use crate::AppState;
use crate::auth::Auth;
use crate::extract::Params;
use crate::routes::Reg;
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use itemize_app::AppError;
use std::collections::BTreeMap;

pub fn routes(r: Reg) -> Reg {
    r.add("/admin/users", &["GET", "POST"], get(users).post(create_user))
        .add("/admin/users/{id}", &["GET", "POST"], get(user).post(save_user))
        .add("/admin/tokens", &["GET", "POST"], get(tokens).post(create_token))
        .add("/admin/tokens/{id}/revoke", &["POST"], axum::routing::post(revoke_token))
        .add("/admin/audit", &["GET"], get(audit))
}

#[derive(Template)]
#[template(path = "table.html")]
struct TablePage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    title: String,
    note: String,
    head: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    next: Option<String>,
    /// A filter form: (parameter, label, current value).
    filters: Vec<(&'static str, &'static str, String)>,
}

fn ts(t: &jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M").to_string()
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    csrf: String,
    rows: Vec<(i64, Vec<String>)>,
    typed: BTreeMap<String, String>,
    error: Option<String>,
}

const ROLES: &[&str] = &["admin", "finance", "asset-manager", "viewer"];

/// Cost-centre codes (`;`-separated) as ids; an unknown code is named.
async fn cost_centre_ids(s: &AppState, auth: &Auth, codes: &str) -> Result<Vec<i64>, String> {
    let mut ids = Vec::new();
    for code in codes.split(';').map(str::trim).filter(|c| !c.is_empty()) {
        match s.app.id_by_key(&auth.actor, itemize_core::refdata::Kind::CostCentre, code).await {
            Ok(Some(id)) => ids.push(id),
            _ => return Err(format!("cost centres: no cost centre has the code `{code}`")),
        }
    }
    Ok(ids)
}

async fn cost_centre_codes(s: &AppState, auth: &Auth, ids: &[i64]) -> String {
    let keys =
        s.app.keys_by_id(&auth.actor, itemize_core::refdata::Kind::CostCentre, ids).await.unwrap_or_default();
    ids.iter().map(|i| keys.get(i).cloned().unwrap_or_else(|| i.to_string())).collect::<Vec<_>>().join("; ")
}

async fn users_page(s: &AppState, auth: &Auth) -> Result<UsersPage, AppError> {
    let list = s.app.list_users(&auth.actor).await?;
    let mut rows = Vec::new();
    for u in &list {
        rows.push((
            u.id,
            vec![
                u.username.clone(),
                u.display_name.clone().unwrap_or_default(),
                u.role.to_string(),
                cost_centre_codes(s, auth, &u.cost_centres).await,
                if u.disabled { "disabled" } else { "" }.into(),
                ts(&u.created_at),
            ],
        ));
    }
    let (me, nav) = shell(auth, "/admin/users");
    Ok(UsersPage {
        me,
        nav,
        csrf: auth.csrf.clone().unwrap_or_default(),
        rows,
        typed: BTreeMap::new(),
        error: None,
    })
}

async fn users(State(s): State<AppState>, auth: Auth) -> Response {
    super::show(users_page(&s, &auth).await)
}

async fn create_user(State(s): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> Response {
    let f = match super::page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let field = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let result = match cost_centre_ids(&s, &auth, &field("cost_centres")).await {
        Err(msg) => Err(AppError::Validation(vec![itemize_core::FieldError::new("cost_centres", msg)])),
        Ok(cost_centres) => {
            let display = field("display_name");
            let new = itemize_app::auth::NewUser {
                username: field("username"),
                password: f.get("password").cloned().unwrap_or_default(),
                role: field("role"),
                display_name: (!display.is_empty()).then_some(display),
                cost_centres,
            };
            s.app.create_user(&auth.actor, new).await
        }
    };
    match result {
        Ok(u) => Redirect::to(&format!("/admin/users/{}?done=created", u.id)).into_response(),
        Err(e) => {
            let status = crate::error::status_of(&e);
            super::again(users_page(&s, &auth).await, status, |p| {
                p.error = Some(super::explain(&e));
                // Never echo a password back.
                p.typed = f.into_iter().filter(|(k, _)| k != "csrf" && k != "password").collect();
            })
        }
    }
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    csrf: String,
    id: i64,
    username: String,
    display_name: String,
    roles: Vec<(&'static str, bool)>,
    disabled: bool,
    cost_centres: String,
    etag: String,
    error: Option<String>,
    message: Option<String>,
}

async fn user_page(s: &AppState, auth: &Auth, id: i64) -> Result<UserPage, AppError> {
    let u = s.app.get_user(&auth.actor, id).await?;
    let (me, nav) = shell(auth, "/admin/users");
    let role = u.role.to_string();
    Ok(UserPage {
        me,
        nav,
        csrf: auth.csrf.clone().unwrap_or_default(),
        id,
        username: u.username.clone(),
        display_name: u.display_name.clone().unwrap_or_default(),
        roles: ROLES.iter().map(|r| (*r, *r == role)).collect(),
        disabled: u.disabled,
        cost_centres: cost_centre_codes(s, auth, &u.cost_centres).await,
        etag: u.etag(),
        error: None,
        message: None,
    })
}

async fn user(State(s): State<AppState>, auth: Auth, PageId(id): PageId, Params(p): Params) -> Response {
    match user_page(&s, &auth, id).await {
        Ok(mut page) => {
            page.message = p.get("done").map(|d| format!("The user was {d}."));
            render(page)
        }
        Err(e) => app_error(e),
    }
}

async fn save_user(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = match super::page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let field = |k: &str| f.get(k).map(|v| v.trim().to_string());
    let result = match cost_centre_ids(&s, &auth, &field("cost_centres").unwrap_or_default()).await {
        Err(msg) => Err(AppError::Validation(vec![itemize_core::FieldError::new("cost_centres", msg)])),
        Ok(cost_centres) => {
            let patch = itemize_app::auth::UserPatch {
                display_name: field("display_name"),
                role: field("role"),
                disabled: Some(f.get("disabled").is_some_and(|v| v == "on" || v == "true")),
                cost_centres: f.contains_key("cost_centres").then_some(cost_centres),
                password: f.get("password").filter(|p| !p.is_empty()).cloned(),
            };
            s.app.update_user(&auth.actor, id, patch, f.get("etag").map(String::as_str)).await
        }
    };
    match result {
        Ok(_) => Redirect::to(&format!("/admin/users/{id}?done=saved")).into_response(),
        Err(e) => {
            let status = crate::error::status_of(&e);
            super::again(user_page(&s, &auth, id).await, status, |p| p.error = Some(super::explain(&e)))
        }
    }
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    csrf: String,
    rows: Vec<(i64, bool, Vec<String>)>,
    created: Option<String>,
    error: Option<String>,
}

async fn tokens_page(s: &AppState, auth: &Auth) -> Result<TokensPage, AppError> {
    let list = s.app.list_tokens(&auth.actor).await?;
    let (me, nav) = shell(auth, "/admin/tokens");
    Ok(TokensPage {
        me,
        nav,
        csrf: auth.csrf.clone().unwrap_or_default(),
        rows: list
            .iter()
            .map(|t| {
                (
                    t.id,
                    t.revoked_at.is_none(),
                    vec![
                        t.id.to_string(),
                        t.user_id.to_string(),
                        t.name.clone(),
                        t.prefix.clone(),
                        if t.read_only { "yes" } else { "" }.into(),
                        ts(&t.created_at),
                        t.expires_at.as_ref().map(ts).unwrap_or_default(),
                        t.last_used_at.as_ref().map(ts).unwrap_or_default(),
                        t.revoked_at.as_ref().map(ts).unwrap_or_default(),
                    ],
                )
            })
            .collect(),
        created: None,
        error: None,
    })
}

async fn tokens(State(s): State<AppState>, auth: Auth) -> Response {
    super::show(tokens_page(&s, &auth).await)
}

/// A token for the signed-in user, shown once on the page that answers (it is stored only as a digest).
async fn create_token(State(s): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> Response {
    let f = match super::page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let name = f.get("name").map(|v| v.trim().to_string()).unwrap_or_default();
    let read_only = f.get("read_only").is_some_and(|v| v == "on" || v == "true");
    let days = f.get("days").map(|v| v.trim()).filter(|v| !v.is_empty()).unwrap_or("90");
    let result = match days.parse::<i64>() {
        Ok(d) if (1..=730).contains(&d) => {
            s.app
                .create_token(
                    &auth.actor,
                    None,
                    &name,
                    read_only,
                    Some(jiff::SignedDuration::from_hours(d * 24)),
                )
                .await
        }
        _ => Err(AppError::Validation(vec![itemize_core::FieldError::new(
            "days",
            "a number of days from 1 to 730",
        )])),
    };
    let (status, created, error) = match result {
        Ok(t) => (StatusCode::OK, Some(t.token), None),
        Err(e) => (crate::error::status_of(&e), None, Some(super::explain(&e))),
    };
    match tokens_page(&s, &auth).await {
        Ok(mut p) => {
            p.created = created;
            p.error = error;
            let mut res = (status, render(p)).into_response();
            res.headers_mut()
                .insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => app_error(e),
    }
}

async fn revoke_token(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = super::page_form(&auth, &headers, &body) {
        return *r;
    }
    match s.app.revoke_token(&auth.actor, id).await {
        Ok(_) => Redirect::to("/admin/tokens").into_response(),
        Err(e) => app_error(e),
    }
}

async fn audit(State(s): State<AppState>, auth: Auth, Params(mut p): Params) -> Response {
    // The filter form sends its empty fields too: they filter nothing.
    p.0.retain(|_, v| !v.trim().is_empty());
    let (entries, next) = match s.app.audit_log(&auth.actor, &p).await {
        Ok(l) => l,
        Err(e) => return app_error(e),
    };
    let (me, nav) = shell(&auth, "/admin/audit");
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    render(TablePage {
        me,
        nav,
        title: "Audit log".into(),
        note: "Every change and sign-in; filter with kind, record_id, actor_id, action, from (as the API)."
            .into(),
        head: vec!["When", "Who", "Via", "From", "Action", "Kind", "Record", "Before", "After"],
        rows: entries
            .iter()
            .map(|e| {
                vec![
                    ts(&e.at),
                    e.actor.clone(),
                    e.via.clone(),
                    e.address.clone().unwrap_or_default(),
                    e.action.clone(),
                    e.kind.clone(),
                    e.record_id.map(|r| r.to_string()).unwrap_or_default(),
                    json(&e.before),
                    json(&e.after),
                ]
            })
            .collect(),
        next: next.map(|n| link("/admin/audit", &p.clone().with("cursor", n))),
        filters: [
            ("kind", "Kind"),
            ("record_id", "Record"),
            ("actor_id", "Actor id"),
            ("action", "Action"),
            ("from", "From (date)"),
            ("to", "To (date)"),
        ]
        .iter()
        .map(|(k, l)| (*k, *l, p.get(k).unwrap_or_default().to_string()))
        .collect(),
    })
}
