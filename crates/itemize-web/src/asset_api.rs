//! The asset register's API: assets (create, read, edit, transition, check-out/in, history), lists with
//! filters and search, relationships and impact, depreciation and TCO, contracts and the renewal calendar,
//! warranty, end-of-life and refresh lists, physical audits, governance, imports, exports and labels.

use crate::AppState;
use crate::alloc_api::count;
use crate::api::{created, download, if_match, parse_id, with_etag};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{JsonBody, NoParams, Params};
use crate::routes::Reg;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use itemize_app::AppError;
use jiff::civil::Date;
use serde_json::json;

pub fn routes(r: Reg) -> Reg {
    r.add("/api/v1/assets", &["GET", "POST"], get(list).post(create))
        .add("/api/v1/assets/lookup", &["GET"], get(lookup))
        .add("/api/v1/assets/overdue", &["GET"], get(overdue))
        .add("/api/v1/assets/offboarding", &["GET"], get(offboarding))
        .add("/api/v1/assets/warranty-expiring", &["GET"], get(warranty))
        .add("/api/v1/assets/end-of-life", &["GET"], get(end_of_life))
        .add("/api/v1/assets/refresh-plan", &["GET"], get(refresh))
        .add("/api/v1/assets/depreciation", &["GET"], get(depreciation_by_cc))
        .add("/api/v1/assets/depreciation/post", &["POST"], post(post_depreciation))
        .add("/api/v1/assets/governance", &["GET"], get(governance))
        .add("/api/v1/assets/settings", &["GET", "PUT"], get(settings).put(put_settings))
        .add("/api/v1/assets/export", &["GET"], get(export))
        .add("/api/v1/assets/labels", &["GET"], get(labels))
        .add("/api/v1/assets/import", &["POST"], post(import))
        .add("/api/v1/assets/{id}", &["GET", "PATCH"], get(read).patch(update))
        .add("/api/v1/assets/{id}/transition", &["POST"], post(transition))
        .add("/api/v1/assets/{id}/check-out", &["POST"], post(check_out))
        .add("/api/v1/assets/{id}/check-in", &["POST"], post(check_in))
        .add("/api/v1/assets/{id}/history", &["GET"], get(history))
        .add("/api/v1/assets/{id}/relations", &["GET", "POST"], get(relations).post(add_relation))
        .add("/api/v1/assets/{id}/relations/{rid}/end", &["POST"], post(end_relation))
        .add("/api/v1/assets/{id}/impact", &["GET"], get(impact))
        .add("/api/v1/assets/{id}/depreciation", &["GET"], get(depreciation))
        .add("/api/v1/assets/{id}/tco", &["GET"], get(tco))
        .add("/api/v1/assets/{id}/resource-cost", &["GET"], get(resource_cost))
        .add("/api/v1/assets/{id}/costs", &["POST"], post(add_cost))
        .add("/api/v1/contracts", &["GET", "POST"], get(contracts).post(create_contract))
        .add("/api/v1/contracts/renewals", &["GET"], get(renewals))
        .add("/api/v1/contracts/{id}", &["GET", "PATCH"], get(contract).patch(update_contract))
        .add("/api/v1/contracts/{id}/archive", &["POST"], post(archive_contract))
        .add("/api/v1/contracts/{id}/restore", &["POST"], post(restore_contract))
        .add("/api/v1/audits", &["GET", "POST"], get(audits).post(start_audit))
        .add("/api/v1/audits/{id}", &["GET"], get(audit))
        .add("/api/v1/audits/{id}/scans", &["POST"], post(scan))
        .add("/api/v1/audits/{id}/close", &["POST"], post(close_audit))
}

fn asset_response(status: StatusCode, a: itemize_core::assets::Asset) -> Response {
    let etag = a.etag();
    with_etag(status, &etag, a)
}

fn id(raw: &str) -> Result<i64, ApiError> {
    parse_id("asset", raw)
}

async fn list(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    Ok(Json(s.app.list_assets(&auth.actor, &p).await?).into_response())
}

async fn create(
    State(s): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let a = s.app.create_asset(&auth.actor, body).await?;
    let location = format!("/api/v1/assets/{}", a.id);
    Ok(created(asset_response(StatusCode::CREATED, a), &location))
}

async fn read(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    _: NoParams,
) -> Result<Response, ApiError> {
    Ok(asset_response(StatusCode::OK, s.app.get_asset(&auth.actor, id(&raw)?).await?))
}

async fn lookup(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&["key"])?;
    let key =
        p.get("key").ok_or_else(|| AppError::bad_param("key", "is required (a tag or serial number)"))?;
    Ok(asset_response(StatusCode::OK, s.app.find_asset(&auth.actor, key).await?))
}

async fn update(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody,
) -> Result<Response, ApiError> {
    let a = s.app.update_asset(&auth.actor, id(&raw)?, if_match(&headers), patch).await?;
    Ok(asset_response(StatusCode::OK, a))
}

async fn transition(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let a = s.app.transition_asset(&auth.actor, id(&raw)?, if_match(&headers), body).await?;
    Ok(asset_response(StatusCode::OK, a))
}

async fn check_out(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(asset_response(StatusCode::OK, s.app.check_out_asset(&auth.actor, id(&raw)?, body).await?))
}

async fn check_in(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(asset_response(StatusCode::OK, s.app.check_in_asset(&auth.actor, id(&raw)?, body).await?))
}

async fn history(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    _: NoParams,
) -> Result<Response, ApiError> {
    Ok(Json(json!({"items": s.app.asset_history(&auth.actor, id(&raw)?).await?})).into_response())
}

async fn relations(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    _: NoParams,
) -> Result<Response, ApiError> {
    Ok(Json(json!({"items": s.app.asset_relations(&auth.actor, id(&raw)?).await?})).into_response())
}

async fn add_relation(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok((StatusCode::CREATED, Json(s.app.add_relation(&auth.actor, id(&raw)?, body).await?)).into_response())
}

async fn end_relation(
    State(s): State<AppState>,
    auth: Auth,
    Path((raw, rid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let rid = parse_id("relationship", &rid)?;
    s.app.end_relation(&auth.actor, id(&raw)?, rid).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn impact(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    _: NoParams,
) -> Result<Response, ApiError> {
    Ok(Json(s.app.impact(&auth.actor, id(&raw)?).await?).into_response())
}

/// The schedule, and the book value at `?at=YYYY-MM-DD` (today without it).
async fn depreciation(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params,
) -> Result<Response, ApiError> {
    p.only(&["at"])?;
    let at = match p.get("at") {
        None => None,
        Some(v) => Some(
            v.parse().map_err(|_| AppError::bad_param("at", format!("`{v}` is not a date (YYYY-MM-DD)")))?,
        ),
    };
    Ok(Json(s.app.depreciation_schedule(&auth.actor, id(&raw)?, at).await?).into_response())
}

async fn tco(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    _: NoParams,
) -> Result<Response, ApiError> {
    Ok(Json(s.app.tco(&auth.actor, id(&raw)?).await?).into_response())
}

async fn resource_cost(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    _: NoParams,
) -> Result<Response, ApiError> {
    Ok(Json(s.app.asset_resource_cost(&auth.actor, id(&raw)?).await?).into_response())
}

/// Posts a month's depreciation into the cost ledger: `?period=YYYY-MM`.
async fn post_depreciation(
    State(s): State<AppState>,
    auth: Auth,
    Params(p): Params,
) -> Result<Response, ApiError> {
    p.only(&["period"])?;
    // An absent period is refused by the use case, after the actor's rights.
    Ok(Json(s.app.post_depreciation(&auth.actor, p.get("period").unwrap_or_default()).await?).into_response())
}

async fn add_cost(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok((StatusCode::CREATED, Json(s.app.add_asset_cost(&auth.actor, id(&raw)?, body).await?)).into_response())
}

async fn overdue(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&[])?;
    // Each with how many days it is overdue, as the page gives it; the longest overdue first.
    let today = s.app.today();
    let items: Vec<serde_json::Value> = s
        .app
        .overdue_assets(&auth.actor)
        .await?
        .into_iter()
        .map(|a| {
            let days = a.custody.expected_return.and_then(|d| d.until(today).ok()).map(|s| s.get_days());
            let mut v = serde_json::to_value(&a).unwrap_or_default();
            v["days_overdue"] = json!(days);
            v
        })
        .collect();
    Ok(Json(json!({"items": items})).into_response())
}

async fn offboarding(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&["person_id"])?;
    let person = match p.get("person_id") {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| AppError::bad_param("person_id", "is not an id"))?),
    };
    Ok(Json(json!({"items": s.app.offboarding(&auth.actor, person).await?})).into_response())
}

async fn warranty(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&["days"])?;
    let days = count(&p, "days", 90, 3650)? as u32;
    Ok(Json(json!({"days": days, "items": s.app.warranty_expiring(&auth.actor, days).await?}))
        .into_response())
}

async fn end_of_life(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&["days"])?;
    let days = count(&p, "days", 90, 3650)? as u32;
    Ok(Json(json!({"days": days, "items": s.app.end_of_life(&auth.actor, days).await?})).into_response())
}

async fn refresh(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&["months"])?;
    let months = count(&p, "months", 12, 120)? as u32;
    Ok(Json(s.app.refresh_plan(&auth.actor, months).await?).into_response())
}

async fn depreciation_by_cc(
    State(s): State<AppState>,
    auth: Auth,
    Params(p): Params,
) -> Result<Response, ApiError> {
    p.only(&["from", "to"])?;
    let date = |name: &str| -> Result<Date, AppError> {
        let v = p.get(name).ok_or_else(|| AppError::bad_param(name, "is required (YYYY-MM)"))?;
        format!("{v}-01")
            .parse::<Date>()
            .map_err(|_| AppError::bad_param(name, format!("`{v}` is not a month (YYYY-MM)")))
    };
    let (from, to) = (date("from")?, date("to")?);
    Ok(Json(json!({"items": s.app.depreciation_by_cost_centre(&auth.actor, from, to).await?}))
        .into_response())
}

async fn governance(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&[])?;
    Ok(Json(s.app.asset_governance(&auth.actor).await?).into_response())
}

async fn settings(State(s): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    Ok(Json(s.app.asset_settings(&auth.actor).await?).into_response())
}

async fn put_settings(
    State(s): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(Json(s.app.put_asset_settings(&auth.actor, body).await?).into_response())
}

/// `GET /api/v1/assets/export?format=csv|xlsx&…filters`: every asset the filters match.
async fn export(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    let format = p.get("format").unwrap_or("csv").to_string();
    let mut p = p;
    p.0.remove("format");
    let body = s.app.export_assets(&auth.actor, &p, &format).await?;
    Ok(match format.as_str() {
        "xlsx" => {
            download("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "assets.xlsx", body)
        }
        _ => download("text/csv; charset=utf-8", "assets.csv", body),
    })
}

/// `GET /api/v1/assets/labels?format=svg|pdf&…filters`: a printable sheet of QR-coded labels.
async fn labels(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    let format = p.get("format").unwrap_or("svg").to_string();
    let mut p = p;
    p.0.remove("format");
    let body = s.app.asset_labels(&auth.actor, &p, &format).await?;
    Ok(match format.as_str() {
        "pdf" => download("application/pdf", "labels.pdf", body),
        _ => download("image/svg+xml", "labels.svg", body),
    })
}

/// `POST /api/v1/assets/import?format=itemize|snipe-it&dry_run=true&lenient=true` with the CSV or XLSX file
/// as the body.
async fn import(
    State(s): State<AppState>,
    auth: Auth,
    Params(p): Params,
    body: Body,
) -> Result<Response, ApiError> {
    itemize_app::assets::allow_import(&auth.actor)?;
    let bytes = axum::body::to_bytes(body, 256 << 20)
        .await
        .map_err(|e| AppError::bad_param("body", format!("cannot be read: {e}")))?;
    let opts = itemize_app::asset_import::ImportOptions::from_params(&p)?;
    let report = s.app.import_assets(&auth.actor, &bytes, &opts).await?;
    let status = if report.ok() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, Json(report)).into_response())
}

/// `GET /api/v1/contracts[?archived=false|true|all]`: the contracts in force by default, as the page lists them.
async fn contracts(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&["archived"])?;
    let archived = match p.get("archived").unwrap_or("false") {
        "false" => Some(false),
        "true" => Some(true),
        "all" => None,
        other => {
            return Err(
                AppError::bad_param("archived", format!("`{other}` is not false, true or all")).into()
            );
        }
    };
    let mut items = s.app.contracts(&auth.actor).await?;
    if let Some(want) = archived {
        items.retain(|c| c.archived_at.is_some() == want);
    }
    Ok(Json(json!({"items": items})).into_response())
}

async fn contract(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    _: NoParams,
) -> Result<Response, ApiError> {
    Ok(Json(s.app.contract(&auth.actor, parse_id("contract", &raw)?).await?).into_response())
}

async fn create_contract(
    State(s): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok((StatusCode::CREATED, Json(s.app.create_contract(&auth.actor, body).await?)).into_response())
}

async fn update_contract(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(Json(s.app.update_contract(&auth.actor, parse_id("contract", &raw)?, body).await?).into_response())
}

async fn archive_contract(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.app.set_contract_archived(&auth.actor, parse_id("contract", &raw)?, true).await?)
        .into_response())
}

async fn restore_contract(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.app.set_contract_archived(&auth.actor, parse_id("contract", &raw)?, false).await?)
        .into_response())
}

async fn renewals(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&["days"])?;
    let days = count(&p, "days", 90, 3650)? as u32;
    Ok(Json(json!({"days": days, "items": s.app.renewal_calendar(&auth.actor, days).await?})).into_response())
}

async fn audits(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&[])?;
    Ok(Json(json!({"items": s.app.audits(&auth.actor).await?})).into_response())
}

async fn audit(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    _: NoParams,
) -> Result<Response, ApiError> {
    Ok(Json(s.app.audit_view(&auth.actor, parse_id("audit", &raw)?).await?).into_response())
}

async fn start_audit(
    State(s): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    // Without a location the use case still decides who may start an audit, then reports it missing.
    let loc = body.get("location_id").and_then(serde_json::Value::as_i64).unwrap_or(0);
    Ok((StatusCode::CREATED, Json(s.app.start_audit(&auth.actor, loc).await?)).into_response())
}

async fn scan(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let input = body.get("input").and_then(serde_json::Value::as_str).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(s.app.scan(&auth.actor, parse_id("audit", &raw)?, input).await?))
        .into_response())
}

async fn close_audit(
    State(s): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params,
) -> Result<Response, ApiError> {
    p.only(&["mark_missing"])?;
    let mark = p.get("mark_missing").is_some_and(|v| v == "true");
    Ok(Json(s.app.close_audit(&auth.actor, parse_id("audit", &raw)?, mark).await?).into_response())
}
