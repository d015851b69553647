//! The cost ledger's API: streaming uploads that become import jobs, the imports and their history, ledger
//! totals by any dimension, exchange rates, and FOCUS exports.

use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Params;
use crate::routes::Reg;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use itemize_app::AppError;
use itemize_app::cost::{ImportOptions, Progress};
use itemize_app::focus_export::ExportFormat;
use itemize_app::ledger::LedgerQuery;
use itemize_core::auth::Action;
use itemize_ingest::generic::Mapping;
use itemize_ingest::source::Format;
use serde_json::json;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

pub fn routes(r: Reg) -> Reg {
    r.add("/api/v1/cost/imports", &["GET", "POST"], get(list_imports).post(upload))
        .add("/api/v1/cost/imports/{id}", &["GET"], get(read_import))
        .add("/api/v1/cost/totals", &["GET"], get(totals))
        .add(
            "/api/v1/cost/rates",
            &["POST"],
            post(import_rates).layer(axum::extract::DefaultBodyLimit::max(64 << 20)),
        )
        .add("/api/v1/cost/export", &["GET"], get(export))
}

fn param_bool(p: &itemize_app::ListParams, name: &str) -> Result<bool, AppError> {
    match p.get(name) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(AppError::bad_param(name, format!("`{other}` is not true or false"))),
    }
}

/// `POST /api/v1/cost/imports?name=FILE[&format=F][&lenient=true][&mapping=TOML][&replace_newer=true]` with the
/// file as the body (`replace_newer`: replace a month whose current import has later charges, which is refused
/// otherwise as an older export).
/// The body is streamed to disk (any size), the import is queued, and `202 Accepted` answers at once with the
/// import to poll at `Location`.
async fn upload(
    State(s): State<AppState>,
    auth: Auth,
    Params(p): Params,
    body: Body,
) -> Result<Response, ApiError> {
    s.app.cost_allow(&auth.actor, Action::Write)?;
    for k in p.0.keys() {
        if !["name", "format", "lenient", "mapping", "replace_newer"].contains(&k.as_str()) {
            return Err(AppError::bad_param(
                k,
                "is not a parameter of an upload (name, format, lenient, mapping, replace_newer)",
            )
            .into());
        }
    }
    let name = p.get("name").unwrap_or("upload").to_string();
    if name.is_empty() || name.len() > 255 || name.contains(['/', '\\', '\0']) {
        return Err(AppError::bad_param("name", "must be a plain file name").into());
    }
    let format = match p.get("format") {
        None => None,
        Some(f) => Some(Format::from_name(f).ok_or_else(|| {
            AppError::bad_param("format", format!("`{f}` is not one of {}", Format::names()))
        })?),
    };
    let lenient = param_bool(&p, "lenient")?;
    let replace_newer = param_bool(&p, "replace_newer")?;
    let mapping = match p.get("mapping") {
        None => None,
        Some(t) => Some(Mapping::from_toml(t).map_err(|e| AppError::bad_param("mapping", e))?),
    };
    // Authorize (and record the job) before reading a byte of the body.
    let queued = s.app.queue_cost_import(&auth.actor, &name, lenient).await?;
    let dir = s.app.config().data_dir.join("uploads");
    let path = dir.join(format!("import-{}.upload", queued.id));
    let written = async {
        tokio::fs::create_dir_all(&dir).await?;
        let mut f = tokio::fs::File::create(&path).await?;
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(std::io::Error::other)?;
            f.write_all(&chunk).await?;
        }
        f.flush().await?;
        Ok::<_, std::io::Error>(())
    }
    .await;
    let app = s.app.clone();
    let actor = auth.actor.clone();
    if let Err(e) = written {
        let _ = tokio::fs::remove_file(&path).await;
        let _ = app.fail_cost_import(queued.id, &format!("the upload did not complete: {e}")).await;
        return Err(AppError::BadRequest {
            message: format!("the upload did not complete: {e}"),
            details: vec![],
        }
        .into());
    }
    let id = queued.id;
    tokio::spawn(async move {
        let opts = ImportOptions {
            format,
            mapping,
            lenient,
            file_name: Some(name),
            owned: true,
            replace_newer,
            ..Default::default()
        };
        if let Err(e) = app.run_cost_import(&actor, id, &path, opts, Arc::new(Progress::default())).await {
            tracing::error!(import = id, error = %e, "cost import failed");
            let _ = app.fail_cost_import(id, &e.to_string()).await;
        }
        let _ = tokio::fs::remove_file(&path).await;
    });
    let mut res = (StatusCode::ACCEPTED, Json(queued)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/cost/imports/{id}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// `GET /api/v1/cost/imports[?status=S][&before=ID][&limit=N]`, newest first.
async fn list_imports(
    State(s): State<AppState>,
    auth: Auth,
    Params(p): Params,
) -> Result<Response, ApiError> {
    s.app.cost_allow(&auth.actor, Action::Read)?;
    for k in p.0.keys() {
        if !["status", "before", "limit"].contains(&k.as_str()) {
            return Err(AppError::bad_param(k, "is not a parameter here (status, before, limit)").into());
        }
    }
    let num = |k: &str| -> Result<Option<i64>, AppError> {
        p.get(k)
            .map(|v| v.parse::<i64>().map_err(|_| AppError::bad_param(k, "is not a whole number")))
            .transpose()
    };
    let limit = num("limit")?.unwrap_or(50);
    let items = s.app.cost_imports(&auth.actor, p.get("status"), num("before")?, limit).await?;
    let next = if items.len() as i64 == limit { items.last().map(|i| i.id) } else { None };
    Ok(Json(json!({ "items": items, "next_before": next })).into_response())
}

async fn read_import(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let import = s.app.cost_import(&auth.actor, id).await?;
    let parts = s.app.cost_import_partitions(&auth.actor, id).await?;
    let partitions: Vec<_> = parts
        .iter()
        .map(|p| {
            json!({
                "billing_period": p.billing_period, "provider": p.provider, "billing_account_id": p.billing_account_id,
                "slice": p.slice,
                "status": p.status, "superseded_by": p.superseded_by, "rows": p.rows,
                "totals": serde_json::from_str::<serde_json::Value>(&p.totals_json).unwrap_or_default(),
            })
        })
        .collect();
    let mut v = serde_json::to_value(&import).unwrap_or_default();
    v["partitions"] = json!(partitions);
    Ok(Json(v).into_response())
}

/// `GET /api/v1/cost/totals?group_by=period,service&from=2026-01&to=2026-06&tag=team=web`.
async fn totals(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    s.app.cost_allow(&auth.actor, Action::Read)?;
    let pairs: Vec<(String, String)> = p.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let q = LedgerQuery::from_params(&pairs)?;
    Ok(Json(s.app.ledger_totals(&auth.actor, &q).await?).into_response())
}

/// `POST /api/v1/cost/rates` with a rates CSV as the body (date,from,to,rate or the ECB layout).
async fn import_rates(
    State(s): State<AppState>,
    auth: Auth,
    Params(p): Params,
    body: String,
) -> Result<Response, ApiError> {
    let name = p.get("name").unwrap_or("api upload").to_string();
    Ok(Json(s.app.import_rates(&auth.actor, &body, &name).await?).into_response())
}

/// `GET /api/v1/cost/export?period=YYYY-MM[&format=csv|parquet]`: the period as FOCUS 1.2.
async fn export(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    s.app.cost_allow(&auth.actor, Action::Read)?;
    let period =
        p.get("period").ok_or_else(|| AppError::bad_param("period", "is required (YYYY-MM)"))?.to_string();
    let (format, ext, ctype) = match p.get("format").unwrap_or("csv") {
        "csv" => (ExportFormat::Csv, "csv", "text/csv; charset=utf-8"),
        "parquet" => (ExportFormat::Parquet, "parquet", "application/vnd.apache.parquet"),
        other => return Err(AppError::bad_param("format", format!("`{other}` is not csv or parquet")).into()),
    };
    let dir = s.app.config().data_dir.join("exports");
    tokio::fs::create_dir_all(&dir).await.map_err(|e| AppError::Refused(format!("export: {e}")))?;
    let tmp = dir.join(format!("focus-{period}-{}.{ext}", itemize_app::secrets::random_secret()));
    let result = s.app.export_focus_file(&auth.actor, &period, format, &tmp).await;
    let bytes = match result {
        Ok(_) => tokio::fs::read(&tmp).await.map_err(|e| AppError::Refused(format!("export: {e}"))),
        Err(e) => Err(e),
    };
    let _ = tokio::fs::remove_file(&tmp).await;
    Ok(crate::api::download(ctype, &format!("focus-{period}.{ext}"), bytes?))
}
