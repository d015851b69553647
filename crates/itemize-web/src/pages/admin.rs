//! Administration pages: users, API tokens and the audit log (read here; changed through the API and CLI).

use super::{Me, NavItem, app_error, link, render, shell};
use crate::AppState;
use crate::auth::Auth;
use crate::extract::Params;
use crate::routes::Reg;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

pub fn routes(r: Reg) -> Reg {
    r.add("/admin/users", &["GET"], get(users)).add("/admin/tokens", &["GET"], get(tokens)).add(
        "/admin/audit",
        &["GET"],
        get(audit),
    )
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
}

fn ts(t: &jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M").to_string()
}

async fn users(State(s): State<AppState>, auth: Auth) -> Response {
    let list = match s.app.list_users(&auth.actor).await {
        Ok(l) => l,
        Err(e) => return app_error(e),
    };
    let (me, nav) = shell(&auth, "/admin/users");
    render(TablePage {
        me,
        nav,
        title: "Users".into(),
        note: "Add users with `itemize user add` or POST /api/v1/users.".into(),
        head: vec!["Id", "Username", "Name", "Role", "Cost centres", "Disabled", "Created"],
        rows: list
            .iter()
            .map(|u| {
                vec![
                    u.id.to_string(),
                    u.username.clone(),
                    u.display_name.clone().unwrap_or_default(),
                    u.role.to_string(),
                    u.cost_centres.iter().map(i64::to_string).collect::<Vec<_>>().join(", "),
                    if u.disabled { "yes" } else { "" }.into(),
                    ts(&u.created_at),
                ]
            })
            .collect(),
        next: None,
    })
}

async fn tokens(State(s): State<AppState>, auth: Auth) -> Response {
    let list = match s.app.list_tokens(&auth.actor).await {
        Ok(l) => l,
        Err(e) => return app_error(e),
    };
    let (me, nav) = shell(&auth, "/admin/tokens");
    render(TablePage {
        me,
        nav,
        title: "API tokens".into(),
        note:
            "Tokens are shown once when created (`itemize token create`); here only their first characters."
                .into(),
        head: vec![
            "Id",
            "User",
            "Name",
            "Starts with",
            "Read-only",
            "Created",
            "Expires",
            "Last used",
            "Revoked",
        ],
        rows: list
            .iter()
            .map(|t| {
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
                ]
            })
            .collect(),
        next: None,
    })
}

async fn audit(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
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
    })
}
