//! The cost ledger's API: streaming uploads that become import jobs, the imports and their history, ledger
//! totals by any dimension, exchange rates, and FOCUS exports.

use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{NoParams, Params};
use crate::routes::Reg;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use itemize_app::cost::{ImportOptions, Progress};
use itemize_app::focus_export::ExportFormat;
use itemize_app::ledger::LedgerQuery;
use itemize_app::{App, AppError};
use itemize_core::auth::Action;
use itemize_ingest::generic::Mapping;
use itemize_ingest::source::Format;
use serde_json::json;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

pub fn routes(r: Reg) -> Reg {
    r.add("/api/v1/cost/imports", &["GET", "POST"], get(list_imports).post(upload))
        .add("/api/v1/cost/imports/{id}", &["GET"], get(read_import))
        .add("/api/v1/cost/imports/{id}/quarantine", &["GET"], get(quarantine))
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
    p.only(&["name", "format", "lenient", "mapping", "replace_newer"])?;
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
    let id = queued.id;
    let written = async {
        let (spool, mut f) = Spool::create(&s.app, id).await.map_err(|e| (None, e))?;
        let mut stream = body.into_data_stream();
        let copied = async {
            while let Some(chunk) = stream.next().await {
                f.write_all(&chunk.map_err(std::io::Error::other)?).await?;
            }
            f.flush().await
        }
        .await;
        match copied {
            Ok(()) => Ok(spool),
            Err(e) => Err((Some(spool), e)),
        }
    }
    .await;
    let spool = match written {
        Ok(spool) => spool,
        Err((spool, e)) => {
            let message = format!("the upload did not complete: {e}");
            match spool {
                Some(spool) => spool.abandon(&message).await,
                None => {
                    let _ = s.app.fail_cost_import(id, &message).await;
                }
            }
            return Err(AppError::BadRequest { message, details: vec![] }.into());
        }
    };
    spool.start(
        auth.actor.clone(),
        name,
        ImportOptions { format, mapping, lenient, replace_newer, ..Default::default() },
    );
    let mut res = (StatusCode::ACCEPTED, Json(queued)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/cost/imports/{id}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// An upload being written to `DATA_DIR/uploads/` for a queued import. Until it is started or abandoned,
/// dropping it (its request cancelled while the body was still arriving) removes the file and fails the import,
/// so a cut upload neither waits queued nor leaves its file for the next start's sweep.
pub(crate) struct Spool {
    app: App,
    id: i64,
    path: std::path::PathBuf,
    armed: bool,
}

impl Spool {
    /// The upload's file for import `id`, created empty.
    pub(crate) async fn create(app: &App, id: i64) -> std::io::Result<(Spool, tokio::fs::File)> {
        let dir = app.config().data_dir.join("uploads");
        tokio::fs::create_dir_all(&dir).await?;
        let path = dir.join(format!("import-{id}.upload"));
        let f = tokio::fs::File::create(&path).await?;
        Ok((Spool { app: app.clone(), id, path, armed: true }, f))
    }

    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    /// Removes the file and fails the import with `message`. Armed until both are done: dropped halfway (its
    /// request cancelled meanwhile), the guard finishes the job.
    pub(crate) async fn abandon(mut self, message: &str) {
        let _ = tokio::fs::remove_file(&self.path).await;
        let _ = self.app.fail_cost_import(self.id, message).await;
        self.armed = false;
    }

    /// Runs the import of the file the client called `name` in the background; the file, the import's own, is
    /// removed when it ends, whatever the outcome.
    pub(crate) fn start(mut self, actor: itemize_core::auth::Actor, name: String, opts: ImportOptions) {
        let opts = ImportOptions { file_name: Some(name), owned: true, ..opts };
        self.armed = false;
        let (app, id, path) = (self.app.clone(), self.id, std::mem::take(&mut self.path));
        tokio::spawn(async move {
            if let Err(e) = app.run_cost_import(&actor, id, &path, opts, Arc::new(Progress::default())).await
            {
                tracing::error!(import = id, error = %e, "cost import failed");
                let _ = app.fail_cost_import(id, &e.to_string()).await;
            }
            let _ = tokio::fs::remove_file(&path).await;
        });
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (app, id, path) = (self.app.clone(), self.id, std::mem::take(&mut self.path));
        let cleanup = async move {
            let _ = tokio::fs::remove_file(&path).await;
            let _ = app.fail_cost_import(id, "the upload did not complete: the request was cancelled").await;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(cleanup);
            }
            // No runtime (the process is ending): the next start's sweep removes the file and fails the import.
            Err(_) => tracing::warn!(import = id, "an abandoned upload is left for the next start's sweep"),
        }
    }
}

/// `GET /api/v1/cost/imports[?status=S][&before=ID][&limit=N]`, newest first.
async fn list_imports(
    State(s): State<AppState>,
    auth: Auth,
    Params(p): Params,
) -> Result<Response, ApiError> {
    s.app.cost_allow(&auth.actor, Action::Read)?;
    p.only(&["status", "before", "limit"])?;
    let num = |k: &str| -> Result<Option<i64>, AppError> {
        p.get(k)
            .map(|v| v.parse::<i64>().map_err(|_| AppError::bad_param(k, "is not a whole number")))
            .transpose()
    };
    let limit = num("limit")?.unwrap_or(50);
    let (items, more) = s.app.cost_imports_page(&auth.actor, p.get("status"), num("before")?, limit).await?;
    // Only when older imports follow: the last page ends without a link to an empty one.
    let next = if more { items.last().map(|i| i.id) } else { None };
    Ok(Json(json!({ "items": items, "next_before": next })).into_response())
}

/// The rows a lenient import left out, as a CSV download.
async fn quarantine(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    _: NoParams,
) -> Result<Response, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    Ok(quarantine_csv(s.app.cost_import_quarantine(&auth.actor, id).await?, id))
}

/// A quarantine file as an attachment named after its import.
pub(crate) fn quarantine_csv(bytes: Vec<u8>, id: i64) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"import-{id}-quarantine.csv\"")),
        ],
        bytes,
    )
        .into_response()
}

async fn read_import(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    _: NoParams,
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
    p.only(&["name"])?;
    let name = p.get("name").unwrap_or("api upload").to_string();
    Ok(Json(s.app.import_rates(&auth.actor, &body, &name).await?).into_response())
}

/// `GET /api/v1/cost/export?period=YYYY-MM[&format=csv|parquet]`: the period as FOCUS 1.2.
async fn export(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Result<Response, ApiError> {
    s.app.cost_allow(&auth.actor, Action::Read)?;
    p.only(&["period", "format"])?;
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
    // The file is removed when its download ends, however it ends (see `TempDownload`). It is written in a task
    // of its own: a client that goes away while it is being written drops the answer, and with it the file.
    let (tx, rx) = tokio::sync::oneshot::channel::<Result<(TempDownload, u64), AppError>>();
    let (app, actor, month) = (s.app.clone(), auth.actor.clone(), period.clone());
    tokio::spawn(async move {
        let written = app.export_focus_file(&actor, &month, format, &tmp).await;
        let opened = match written {
            Ok(_) => match tokio::fs::File::open(&tmp).await {
                Ok(file) => {
                    let d = TempDownload { file, path: tmp };
                    match d.file.metadata().await {
                        Ok(m) => Ok((d, m.len())),
                        Err(e) => Err(AppError::Refused(format!("export: {e}"))),
                    }
                }
                Err(e) => {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    Err(AppError::Refused(format!("export: {e}")))
                }
            },
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        };
        // Nobody waiting: the download is dropped here, and its file removed.
        let _ = tx.send(opened);
    });
    let (download, len) =
        rx.await.map_err(|_| AppError::Internal("the export stopped before it finished".into()))??;
    let body = download.into_body();
    let mut res = crate::api::download_body(ctype, &format!("focus-{period}.{ext}"), body);
    res.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(res)
}

/// A file written for one download: streamed in chunks (an export of any size never sits in memory whole) and
/// removed when the stream is dropped, whether the client read it to the end or went away halfway.
struct TempDownload {
    file: tokio::fs::File,
    path: std::path::PathBuf,
}

/// The chunk a download is read in.
const DOWNLOAD_CHUNK: usize = 64 << 10;

impl TempDownload {
    fn into_body(self) -> Body {
        // The state is None after a read error: the stream ends there.
        Body::from_stream(futures_util::stream::unfold(Some(self), |d| async move {
            use tokio::io::AsyncReadExt;
            let mut d = d?;
            let mut buf = vec![0u8; DOWNLOAD_CHUNK];
            match d.file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(axum::body::Bytes::from(buf)), Some(d)))
                }
                Err(e) => Some((Err(e), None)),
            }
        }))
    }
}

impl Drop for TempDownload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_download_streams_its_file_in_chunks_and_removes_it_however_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let open = |name: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, &content).unwrap();
            async move { TempDownload { file: tokio::fs::File::open(&path).await.unwrap(), path } }
        };
        // Read to the end: in chunks of at most DOWNLOAD_CHUNK, the whole file, then the file is gone.
        let d = open("whole.csv").await;
        let path = d.path.clone();
        let mut stream = d.into_body().into_data_stream();
        let mut got = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.unwrap();
            assert!(chunk.len() <= DOWNLOAD_CHUNK);
            got.extend_from_slice(&chunk);
            chunks += 1;
        }
        assert_eq!(got, content);
        assert!(chunks >= 4, "{chunks} chunks");
        drop(stream);
        assert!(!path.exists(), "removed after the download");
        // Given up after one chunk: removed too.
        let d = open("half.csv").await;
        let path = d.path.clone();
        let mut stream = d.into_body().into_data_stream();
        assert_eq!(stream.next().await.unwrap().unwrap().len(), DOWNLOAD_CHUNK);
        assert!(path.exists());
        drop(stream);
        assert!(!path.exists(), "removed when the client goes away");
    }
}
