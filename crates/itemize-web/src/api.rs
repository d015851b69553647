//! The JSON API under `/api/v1`. Handlers are thin: they extract, call one use case, and shape the response.

use crate::AppState;
use crate::auth::{Auth, PeerAddr, SESSION_COOKIE, set_cookie};
use crate::error::ApiError;
use crate::extract::{JsonBody, NoParams, Params};
use crate::routes::Reg;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use itemize_app::{AppError, ListParams};
use itemize_core::refdata::{CostCentre, Location, Person, Record, RefKind, Service, Vendor};
use itemize_store::StoredKind;
use serde::Deserialize;
use serde_json::json;

/// The API routes.
pub fn routes(r: Reg) -> Reg {
    let r = kind_routes::<CostCentre>(r);
    let r = kind_routes::<Service>(r);
    let r = kind_routes::<Person>(r);
    let r = kind_routes::<Location>(r);
    let r = kind_routes::<Vendor>(r);
    r.add("/healthz", &["GET"], get(healthz))
        .add("/readyz", &["GET"], get(readyz))
        .add("/api/v1/session", &["POST", "DELETE"], post(sign_in).delete(sign_out))
        .add("/api/v1/me", &["GET"], get(me))
        .add("/api/v1/users", &["GET", "POST"], get(list_users).post(create_user))
        .add("/api/v1/users/{id}", &["GET", "PATCH"], get(read_user).patch(update_user))
        .add("/api/v1/tokens", &["GET", "POST"], get(list_tokens).post(create_token))
        .add("/api/v1/tokens/{id}", &["DELETE"], delete(revoke_token))
        .add("/api/v1/audit", &["GET"], get(audit_log))
}

fn kind_routes<K: StoredKind>(r: Reg) -> Reg {
    let base = format!("/api/v1/{}", K::KIND.plural());
    r.add(&base, &["GET", "POST"], get(list::<K>).post(create::<K>))
        .add(&format!("{base}/{{id}}"), &["GET", "PATCH"], get(read::<K>).patch(update::<K>))
        .add(&format!("{base}/{{id}}/archive"), &["POST"], post(archive::<K>))
        .add(&format!("{base}/{{id}}/restore"), &["POST"], post(restore::<K>))
}

/// Ids are positive integers; anything else names no record.
pub(crate) fn parse_id(kind: &'static str, raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| ApiError::from(AppError::NotFound { kind, id: raw.to_string() }))
}

pub(crate) fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

pub(crate) fn with_etag(status: StatusCode, etag: &str, body: impl serde::Serialize) -> Response {
    let mut res = (status, Json(body)).into_response();
    if let Ok(e) = HeaderValue::from_str(etag) {
        res.headers_mut().insert(header::ETAG, e);
    }
    res
}

fn user_response(status: StatusCode, user: itemize_app::auth::UserView) -> Response {
    let etag = user.etag();
    with_etag(status, &etag, user)
}

fn record<K: RefKind>(status: StatusCode, rec: Record<K>) -> Response {
    let etag = rec.etag();
    with_etag(status, &etag, rec)
}

async fn list<K: StoredKind>(
    State(s): State<AppState>,
    auth: Auth,
    Params(p): Params,
) -> Result<Response, ApiError> {
    Ok(Json(s.app.list::<K>(&auth.actor, &p).await?).into_response())
}

async fn read<K: StoredKind>(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    _: NoParams,
) -> Result<Response, ApiError> {
    let id = parse_id(K::KIND.singular(), &id)?;
    Ok(record(StatusCode::OK, s.app.get::<K>(&auth.actor, id).await?))
}

async fn create<K: StoredKind>(
    State(s): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let rec = s.app.create::<K>(&auth.actor, body).await?;
    let location = format!("/api/v1/{}/{}", K::KIND.plural(), rec.id);
    Ok(created(record(StatusCode::CREATED, rec), &location))
}

/// Adds the `Location` of a newly created record to its response.
pub(crate) fn created(mut res: Response, location: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

async fn update<K: StoredKind>(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(K::KIND.singular(), &id)?;
    Ok(record(StatusCode::OK, s.app.update::<K>(&auth.actor, id, if_match(&headers), patch).await?))
}

async fn archive<K: StoredKind>(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(K::KIND.singular(), &id)?;
    Ok(record(StatusCode::OK, s.app.set_archived::<K>(&auth.actor, id, true, if_match(&headers)).await?))
}

async fn restore<K: StoredKind>(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(K::KIND.singular(), &id)?;
    Ok(record(StatusCode::OK, s.app.set_archived::<K>(&auth.actor, id, false, if_match(&headers)).await?))
}

/// `/healthz`: the process is up.
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// `/readyz`: the database answers and its schema is current.
pub async fn readyz(State(s): State<AppState>) -> Response {
    match s.app.ready().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(e) => {
            let mut err = ApiError::from(e);
            err.status = StatusCode::SERVICE_UNAVAILABLE;
            err.code = "not_ready";
            err.into_response()
        }
    }
}

// ------------------------------------------------------------------------------------------- sessions

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    username: String,
    password: String,
}

/// `POST /api/v1/session`: signs in with a password; the session cookie is set and the CSRF token returned.
async fn sign_in(
    State(s): State<AppState>,
    PeerAddr(address): PeerAddr,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let c: Credentials = itemize_app::auth::parse_json(body)?;
    let session = s.app.login(&c.username, &c.password, address.as_deref()).await?;
    let max_age = session.expires_at.duration_since(s.app.clock().now()).as_secs();
    let mut res = Json(json!({
        "user": session.user,
        "csrf_token": session.csrf_token,
        "expires_at": session.expires_at,
    }))
    .into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &session.id, max_age, s.web.secure_cookies, "Lax"),
    );
    Ok(res)
}

/// `DELETE /api/v1/session`: signs out.
async fn sign_out(State(s): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    if let Some(sid) = &auth.session_id {
        s.app.logout(sid).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, s.web.secure_cookies, "Lax"));
    Ok(res)
}

async fn me(State(s): State<AppState>, auth: Auth, _: NoParams) -> Result<Response, ApiError> {
    let user = s.app.me(&auth.actor).await?;
    Ok(Json(json!({
        "user": user,
        "via": auth.actor.credential.label(),
        "csrf_token": auth.csrf,
        "sees_cost_centres": auth.actor.scope,
    }))
    .into_response())
}

// ---------------------------------------------------------------------------------------------- users

async fn list_users(State(s): State<AppState>, auth: Auth, _: NoParams) -> Result<Response, ApiError> {
    Ok(Json(json!({ "items": s.app.list_users(&auth.actor).await? })).into_response())
}

async fn create_user(
    State(s): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let user = s.app.create_user_json(&auth.actor, body).await?;
    Ok(user_response(StatusCode::CREATED, user))
}

async fn read_user(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    _: NoParams,
) -> Result<Response, ApiError> {
    let id = parse_id("user", &id)?;
    let user = s.app.get_user(&auth.actor, id).await?;
    Ok(user_response(StatusCode::OK, user))
}

async fn update_user(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id("user", &id)?;
    let user = s.app.update_user_json(&auth.actor, id, body, if_match(&headers)).await?;
    Ok(user_response(StatusCode::OK, user))
}

// --------------------------------------------------------------------------------------------- tokens

async fn list_tokens(State(s): State<AppState>, auth: Auth, _: NoParams) -> Result<Response, ApiError> {
    Ok(Json(json!({ "items": s.app.list_tokens(&auth.actor).await? })).into_response())
}

async fn create_token(
    State(s): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let new = s.app.create_token_json(&auth.actor, body).await?;
    Ok((StatusCode::CREATED, Json(new)).into_response())
}

async fn revoke_token(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id("token", &id)?;
    Ok(Json(s.app.revoke_token(&auth.actor, id).await?).into_response())
}

// ------------------------------------------------------------------------------------------ audit log

/// `GET /api/v1/audit`: a page, newest first; `?format=csv` or `?format=json` exports every matching entry.
async fn audit_log(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    match p.get("format") {
        None => {
            let (items, next) = s.app.audit_log(&auth.actor, &p).await?;
            Ok(Json(json!({ "items": items, "next": next })).into_response())
        }
        Some("json") => {
            let all = s.app.audit_all(&auth.actor, &without_format(&p)).await?;
            Ok(download(
                "application/json",
                "audit-log.json",
                serde_json::to_vec_pretty(&all).unwrap_or_default(),
            ))
        }
        Some("csv") => {
            let all = s.app.audit_all(&auth.actor, &without_format(&p)).await?;
            Ok(download("text/csv; charset=utf-8", "audit-log.csv", audit_csv(&all)))
        }
        Some(other) => Err(AppError::bad_param("format", format!("`{other}` is not csv or json")).into()),
    }
}

fn without_format(p: &ListParams) -> ListParams {
    let mut p = p.clone();
    p.0.remove("format");
    p
}

/// A file download: its content type and the name it is saved under.
pub(crate) fn download(content_type: &'static str, name: &str, body: Vec<u8>) -> Response {
    download_body(content_type, name, axum::body::Body::from(body))
}

/// A download of `body` (streamed) as the attachment `name`.
pub(crate) fn download_body(content_type: &'static str, name: &str, body: axum::body::Body) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

fn audit_csv(entries: &[itemize_store::AuditEntry]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let _ = w.write_record([
        "id",
        "at",
        "actor_id",
        "actor",
        "via",
        "address",
        "action",
        "kind",
        "record_id",
        "before",
        "after",
    ]);
    for e in entries {
        let _ = w.write_record([
            e.id.to_string(),
            itemize_core::clock::format_timestamp(e.at),
            e.actor_id.map(|a| a.to_string()).unwrap_or_default(),
            e.actor.clone(),
            e.via.clone(),
            e.address.clone().unwrap_or_default(),
            e.action.clone(),
            e.kind.clone(),
            e.record_id.map(|r| r.to_string()).unwrap_or_default(),
            e.before.as_ref().map(|v| v.to_string()).unwrap_or_default(),
            e.after.as_ref().map(|v| v.to_string()).unwrap_or_default(),
        ]);
    }
    w.into_inner().unwrap_or_default()
}
