//! The JSON API under `/api/v1`. Handlers are thin: they extract, call one use case, and shape the response.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{JsonBody, Params};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use itemize_core::refdata::{CostCentre, Location, Person, Record, RefKind, Service, Vendor};
use itemize_store::StoredKind;

/// The API routes for every reference-data kind.
pub fn routes() -> Router<AppState> {
    let r = Router::new();
    let r = kind_routes::<CostCentre>(r);
    let r = kind_routes::<Service>(r);
    let r = kind_routes::<Person>(r);
    let r = kind_routes::<Location>(r);
    kind_routes::<Vendor>(r)
}

fn kind_routes<K: StoredKind>(r: Router<AppState>) -> Router<AppState> {
    let base = format!("/api/v1/{}", K::KIND.plural());
    r.route(&base, get(list::<K>).post(create::<K>))
        .route(&format!("{base}/{{id}}"), get(read::<K>).patch(update::<K>))
        .route(&format!("{base}/{{id}}/archive"), post(archive::<K>))
        .route(&format!("{base}/{{id}}/restore"), post(restore::<K>))
}

/// Ids are positive integers; anything else names no record.
fn parse_id<K: RefKind>(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| {
        ApiError::from(itemize_app::AppError::NotFound {
            kind: K::KIND.singular(),
            id: raw.to_string(),
        })
    })
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

fn with_etag<K: RefKind>(status: StatusCode, rec: Record<K>) -> Response {
    let etag = HeaderValue::from_str(&rec.etag()).ok();
    let mut res = (status, Json(rec)).into_response();
    if let Some(e) = etag {
        res.headers_mut().insert(header::ETAG, e);
    }
    res
}

async fn list<K: StoredKind>(State(s): State<AppState>, Params(p): Params) -> Result<Response, ApiError> {
    Ok(Json(s.app.list::<K>(&p).await?).into_response())
}

async fn read<K: StoredKind>(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id::<K>(&id)?;
    Ok(with_etag(StatusCode::OK, s.app.get::<K>(id).await?))
}

async fn create<K: StoredKind>(
    State(s): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let rec = s.app.create::<K>(body).await?;
    let location = format!("/api/v1/{}/{}", K::KIND.plural(), rec.id);
    let mut res = with_etag(StatusCode::CREATED, rec);
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

async fn update<K: StoredKind>(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id::<K>(&id)?;
    Ok(with_etag(
        StatusCode::OK,
        s.app.update::<K>(id, if_match(&headers), patch).await?,
    ))
}

async fn archive<K: StoredKind>(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id::<K>(&id)?;
    Ok(with_etag(
        StatusCode::OK,
        s.app.set_archived::<K>(id, true, if_match(&headers)).await?,
    ))
}

async fn restore<K: StoredKind>(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id::<K>(&id)?;
    Ok(with_etag(
        StatusCode::OK,
        s.app.set_archived::<K>(id, false, if_match(&headers)).await?,
    ))
}

/// `/healthz`: the process is up.
pub async fn healthz() -> Response {
    Json(serde_json::json!({"status": "ok"})).into_response()
}

/// `/readyz`: the database answers and its schema is current.
pub async fn readyz(State(s): State<AppState>) -> Response {
    match s.app.ready().await {
        Ok(()) => Json(serde_json::json!({"status": "ready"})).into_response(),
        Err(e) => {
            let mut err = ApiError::from(e);
            err.status = StatusCode::SERVICE_UNAVAILABLE;
            err.code = "not_ready";
            err.into_response()
        }
    }
}
