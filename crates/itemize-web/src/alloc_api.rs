//! Cost allocation's API: rule-set versions (validate, preview, save, apply), allocation runs, driver metrics,
//! showback statements (JSON, CSV, XLSX), explanations, period close and chargeback journals.

use crate::AppState;
use crate::api::download;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{NoParams, Params};
use crate::routes::Reg;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use itemize_app::AppError;
use itemize_app::allocation::{Measure, StatementBy, journal_csv, statement_csv, statement_xlsx};
use itemize_app::insight::CubeQuery;
use serde_json::json;

pub fn routes(r: Reg) -> Reg {
    r.add("/api/v1/allocation/rules", &["GET", "POST"], get(list_rules).post(save_rules))
        .add("/api/v1/allocation/rules/{id}", &["GET"], get(read_rules))
        .add("/api/v1/allocation/rules/validate", &["POST"], post(validate_rules))
        .add("/api/v1/allocation/rules/preview", &["POST"], post(preview_rules))
        .add("/api/v1/allocation/runs", &["GET", "POST"], get(list_runs).post(allocate))
        .add("/api/v1/allocation/metrics", &["POST"], post(import_metrics))
        .add("/api/v1/allocation/showback", &["GET"], get(showback))
        .add("/api/v1/allocation/explain", &["GET"], get(explain))
        .add("/api/v1/allocation/close", &["POST"], post(close))
        .add("/api/v1/allocation/journal", &["GET"], get(journal))
        .add("/api/v1/allocation/cube", &["GET"], get(cube))
        .add("/api/v1/allocation/hygiene", &["GET"], get(hygiene))
        .add("/api/v1/allocation/restate", &["POST"], post(restate))
        .add("/api/v1/allocation/adjustments", &["GET"], get(adjustments))
}

/// Reads a text body (up to 8 MB) once the caller's right to send it is established.
async fn text(body: Body) -> Result<String, AppError> {
    let bytes = axum::body::to_bytes(body, 8 << 20)
        .await
        .map_err(|e| AppError::bad_param("body", format!("cannot be read: {e}")))?;
    String::from_utf8(bytes.to_vec()).map_err(|_| AppError::bad_param("body", "is not UTF-8 text"))
}

fn required<'a>(p: &'a itemize_app::ListParams, name: &str, what: &str) -> Result<&'a str, AppError> {
    p.get(name).ok_or_else(|| AppError::bad_param(name, format!("is required ({what})")))
}

/// An optional count parameter from 1 to `max`, `default` when absent.
pub(crate) fn count(
    p: &itemize_app::ListParams,
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, AppError> {
    match p.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| AppError::bad_param(name, format!("is a number from 1 to {max}"))),
    }
}

/// `GET /api/v1/allocation/rules`: every version, newest first.
async fn list_rules(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&[])?;
    Ok(Json(json!({ "items": s.app.rule_sets(&auth.actor).await? })).into_response())
}

async fn read_rules(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    _: NoParams,
) -> Result<Response, ApiError> {
    let id = crate::api::parse_id("rule set", &id)?;
    Ok(Json(s.app.rule_set(&auth.actor, id).await?).into_response())
}

/// `POST /api/v1/allocation/rules[?apply=true]` with the TOML as the body: saves a new version (201); with
/// `apply`, also re-allocates the open periods it governs.
async fn save_rules(
    State(s): State<AppState>,
    auth: Auth,
    Params(p): Params,
    body: Body,
) -> Result<Response, ApiError> {
    s.app.allocation_write(&auth.actor)?;
    let body = text(body).await?;
    if matches!(p.get("apply"), Some("true") | Some("1")) {
        let applied = s.app.apply_rule_set(&auth.actor, &body).await?;
        return Ok((StatusCode::CREATED, Json(applied)).into_response());
    }
    Ok((StatusCode::CREATED, Json(s.app.save_rule_set(&auth.actor, &body).await?)).into_response())
}

/// `POST /api/v1/allocation/rules/validate`: every problem of a rule set, nothing saved.
async fn validate_rules(State(s): State<AppState>, auth: Auth, body: Body) -> Result<Response, ApiError> {
    s.app.allocation_write(&auth.actor)?;
    let body = text(body).await?;
    Ok(Json(json!({ "valid": true, "message": s.app.validate_rules(&auth.actor, &body).await? }))
        .into_response())
}

/// `POST /api/v1/allocation/rules/preview?period=YYYY-MM`: per-target before and after, biggest movers.
async fn preview_rules(
    State(s): State<AppState>,
    auth: Auth,
    Params(p): Params,
    body: Body,
) -> Result<Response, ApiError> {
    s.app.allocation_write(&auth.actor)?;
    let period = required(&p, "period", "YYYY-MM")?.to_string();
    let body = text(body).await?;
    Ok(Json(s.app.preview_rules(&auth.actor, &body, &period).await?).into_response())
}

/// `GET /api/v1/allocation/runs[?period=YYYY-MM]`.
async fn list_runs(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&["period"])?;
    Ok(Json(json!({ "items": s.app.allocation_runs(&auth.actor, p.get("period")).await? })).into_response())
}

/// `POST /api/v1/allocation/runs?period=YYYY-MM` (or `from` and `to`): allocates and answers with the runs.
async fn allocate(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    s.app.allocation_write(&auth.actor)?;
    p.only(&["period", "from", "to"])?;
    let runs = match (p.get("period"), p.get("from"), p.get("to")) {
        (Some(period), None, None) => vec![s.app.allocate_period(&auth.actor, period).await?],
        (None, Some(from), Some(to)) => s.app.allocate_range(&auth.actor, from, to).await?,
        _ => return Err(AppError::bad_param("period", "give period, or from and to (YYYY-MM)").into()),
    };
    Ok((StatusCode::CREATED, Json(json!({ "items": runs }))).into_response())
}

/// `POST /api/v1/allocation/metrics` with `period,metric,target,value` CSV as the body.
async fn import_metrics(State(s): State<AppState>, auth: Auth, body: Body) -> Result<Response, ApiError> {
    s.app.allocation_write(&auth.actor)?;
    let body = text(body).await?;
    Ok(Json(json!({ "imported": s.app.import_metrics(&auth.actor, &body).await? })).into_response())
}

/// `GET /api/v1/allocation/showback?period=YYYY-MM[&by=cost-centre|service][&measure=effective|billed]
/// [&format=json|csv|xlsx]`.
async fn showback(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&["period", "by", "measure", "format"])?;
    let period = required(&p, "period", "YYYY-MM")?.to_string();
    let by = p.get("by").unwrap_or("cost-centre");
    let by = StatementBy::parse(by)
        .ok_or_else(|| AppError::bad_param("by", format!("`{by}` is not cost-centre or service")))?;
    let measure = p.get("measure").unwrap_or("effective");
    let measure = Measure::parse(measure)
        .ok_or_else(|| AppError::bad_param("measure", format!("`{measure}` is not effective or billed")))?;
    let format = p.get("format").unwrap_or("json").to_string();
    if !["json", "csv", "xlsx"].contains(&format.as_str()) {
        return Err(AppError::bad_param("format", format!("`{format}` is not json, csv or xlsx")).into());
    }
    let st = s.app.showback(&auth.actor, &period, by, measure).await?;
    let name = format!("showback-{period}.{format}");
    Ok(match format.as_str() {
        "csv" => download("text/csv; charset=utf-8", &name, statement_csv(&st).into_bytes()),
        "xlsx" => download(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &name,
            statement_xlsx(&st)?,
        ),
        _ => Json(st).into_response(),
    })
}

/// `GET /api/v1/allocation/explain?period=YYYY-MM&target=svc:CODE|cc:CODE|unallocated[&limit=100]
/// [&own=true]` (`own`: a cost centre's own part, without the services it owns).
async fn explain(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    p.only(&["period", "target", "limit", "own"])?;
    let period = required(&p, "period", "YYYY-MM")?.to_string();
    let target = required(&p, "target", "svc:CODE, cc:CODE or unallocated")?.to_string();
    let limit = count(&p, "limit", 100, 10_000)?;
    let own = own_part(&p)?;
    Ok(Json(s.app.explain_part(&auth.actor, &period, &target, limit, own).await?).into_response())
}

/// The `own` parameter of an explanation: true for a cost centre's own part alone.
pub(crate) fn own_part(p: &itemize_app::ListParams) -> Result<bool, AppError> {
    match p.get("own") {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(AppError::bad_param("own", format!("`{other}` is not true or false"))),
    }
}

/// `POST /api/v1/allocation/close?period=YYYY-MM`.
async fn close(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    s.app.allocation_write(&auth.actor)?;
    p.only(&["period"])?;
    let period = required(&p, "period", "YYYY-MM")?.to_string();
    Ok(Json(s.app.close_period(&auth.actor, &period).await?).into_response())
}

/// `GET /api/v1/allocation/journal?period=YYYY-MM[&format=csv|json]`: a closed period's journal.
async fn journal(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    s.app.allocation_write(&auth.actor)?;
    p.only(&["period", "format"])?;
    let period = required(&p, "period", "YYYY-MM")?.to_string();
    let j = s.app.journal(&auth.actor, &period).await?;
    Ok(match p.get("format").unwrap_or("csv") {
        "json" => Json(j).into_response(),
        "csv" => download(
            "text/csv; charset=utf-8",
            &format!("journal-{period}.csv"),
            journal_csv(&j).into_bytes(),
        ),
        other => return Err(AppError::bad_param("format", format!("`{other}` is not csv or json")).into()),
    })
}

/// `GET /api/v1/allocation/cube?from=YYYY-MM&to=YYYY-MM[&granularity=month|day|none][&group_by=dims]
/// [&<dimension>=v1,v2…]`: the cube summed by any dimensions, filtered by any.
async fn cube(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    let pairs: Vec<(String, String)> = p.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let q = CubeQuery::from_params(&pairs)?;
    Ok(Json(s.app.cube_query(&auth.actor, &q).await?).into_response())
}

/// `GET /api/v1/allocation/hygiene?from=YYYY-MM&to=YYYY-MM[&top=20]`: tag coverage per key and account, the
/// untagged and unallocated shares per period, the top untagged resources.
async fn hygiene(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    s.app.cost_allow(&auth.actor, itemize_core::auth::Action::Read)?;
    p.only(&["period", "from", "to", "top"])?;
    let (from, to) = match (p.get("period"), p.get("from"), p.get("to")) {
        (Some(period), None, None) => (period.to_string(), period.to_string()),
        (None, Some(from), Some(to)) => (from.to_string(), to.to_string()),
        _ => return Err(AppError::bad_param("period", "give period, or from and to (YYYY-MM)").into()),
    };
    let top = count(&p, "top", 20, 1000)?;
    Ok(Json(s.app.tag_hygiene(&auth.actor, &from, &to, top).await?).into_response())
}

/// `POST /api/v1/allocation/restate?period=YYYY-MM`: allocates a closed period again and posts the difference
/// into the next open period (imports do this by themselves; this runs it again, say after a failure).
async fn restate(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    s.app.allocation_write(&auth.actor)?;
    p.only(&["period"])?;
    let period = required(&p, "period", "YYYY-MM")?.to_string();
    Ok(Json(s.app.restate_period(&auth.actor, &period, None).await?).into_response())
}

/// `GET /api/v1/allocation/adjustments[?source=YYYY-MM][&posted=YYYY-MM]`: restatement adjustments.
async fn adjustments(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    s.app.allocation_write(&auth.actor)?;
    p.only(&["source", "posted"])?;
    let rows = s.app.adjustments(&auth.actor, p.get("source"), p.get("posted")).await?;
    let items: Vec<_> = rows
        .into_iter()
        .map(|a| {
            json!({
                "id": a.id, "source_period": a.source_period, "posted_period": a.posted_period,
                "import_id": a.import_id, "provider": a.provider, "account": a.billing_account_id,
                "service_name": a.service_name, "region": a.region, "charge_category": a.charge_category,
                "service_category": a.service_category, "dims": a.dims, "target": a.target,
                "cost_centre": a.cost_centre, "service": a.service, "billed": a.billed,
                "effective": a.effective, "created_by": a.created_by, "created_at": a.created_at.to_string(),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}
