//! The inbox: files dropped into `DATA_DIR/inbox/` are imported into the cost ledger. A file is taken only
//! once it has stopped changing (the same size and modification time on two scans in a row, and, for `serve`,
//! not modified for [`QUIET`]), so a file still being copied in is left alone; names starting with `.` or ending
//! in `.part`/`.tmp` are never taken. After the import the file moves to `inbox/done/` or `inbox/failed/`, with
//! its import's report beside it as `NAME.report.json`; a file that changed while it was read goes to `failed/`
//! saying so. A file whose import was interrupted (the server stopped) is taken again at the next start; one
//! whose import could not run (the database away) is taken again at a later scan, three times at most. A file
//! that cannot be taken or moved is left where it is and named in the log; it holds up no other file. Generic
//! spend files are read through the first mapping in `DATA_DIR/mappings/*.toml` that fits their header.

use crate::cost::{ImportOptions, ImportSummary, Progress};
use crate::{Actor, App, AppError};
use itemize_ingest::generic::Mapping;
use itemize_ingest::source::{self, OpenError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::SystemTime;

/// How long `serve` waits after a file's last modification before it takes it (on top of two scans seeing the
/// same size and time): a copy that stalls for a few seconds is not taken half-written.
pub const QUIET: std::time::Duration = std::time::Duration::from_secs(10);

/// How many times a file whose import could not run (an error, not a rejected file) is taken again.
const ATTEMPTS: u32 = 3;

/// What the previous scans saw: each waiting file's size and modification time, the files that could not be
/// moved, and how often each file's import could not run.
#[derive(Debug, Default)]
pub struct InboxState {
    seen: HashMap<PathBuf, (u64, Option<SystemTime>)>,
    /// How long a file must have been left unmodified (zero: two scans seeing it unchanged are enough).
    quiet: std::time::Duration,
    /// Names in `.processing/` that could not be moved out: left there, not imported again by this process.
    stuck: std::collections::HashSet<String>,
    /// Names whose import failed to run, and how often.
    attempts: HashMap<String, u32>,
}

impl InboxState {
    /// A state that takes a file only once it has been left unmodified for `quiet`.
    pub fn new(quiet: std::time::Duration) -> Self {
        Self { quiet, ..Self::default() }
    }
}

fn ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with(".part")
        || name.ends_with(".tmp")
        || name.ends_with(".crdownload")
}

fn io(what: &str, e: std::io::Error) -> AppError {
    AppError::Refused(format!("inbox: {what}: {e}"))
}

impl App {
    pub fn inbox_dir(&self) -> PathBuf {
        self.config().data_dir.join("inbox")
    }

    pub fn mappings_dir(&self) -> PathBuf {
        self.config().data_dir.join("mappings")
    }

    /// The mappings in `DATA_DIR/mappings/`, by file name; a mapping that does not parse is skipped with a
    /// warning (the import of a file needing it then says no format matched).
    fn mappings(&self) -> Vec<(String, Mapping)> {
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(self.mappings_dir()) else { return out };
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            match std::fs::read_to_string(&p).map_err(|e| e.to_string()).and_then(|t| Mapping::from_toml(&t))
            {
                Ok(m) => out.push((p.file_name().unwrap_or_default().to_string_lossy().into_owned(), m)),
                Err(e) => {
                    tracing::warn!(mapping = %p.display(), error = %e, "skipping a mapping that does not parse")
                }
            }
        }
        out
    }

    /// The mapping a file needs, if it is a generic file one of the mappings fits.
    fn mapping_for(&self, path: &Path) -> Option<Mapping> {
        self.installed_mapping(path, None)
    }

    /// The first mapping installed in `DATA_DIR/mappings/` that reads `path`, when the file needs one: read as
    /// `format` (generic), or with no format given, a file no other reader recognises. Uploads and the inbox
    /// read SaaS invoices and GL extracts this way, as the command line does with `--mapping`.
    pub(crate) fn installed_mapping(&self, path: &Path, format: Option<source::Format>) -> Option<Mapping> {
        match format {
            Some(source::Format::Generic) => {}
            Some(_) => return None,
            None => match source::open(path, None, None, Arc::new(AtomicU64::new(0))) {
                Err(OpenError::Unrecognised(_)) => {}
                _ => return None,
            },
        }
        self.mappings()
            .into_iter()
            .find(|(_, m)| source::open(path, format, Some(m), Arc::new(AtomicU64::new(0))).is_ok())
            .map(|(_, m)| m)
    }

    /// One scan of the inbox: imports every file that has not changed since the previous scan, and returns
    /// what became of each.
    pub async fn scan_inbox(&self, state: &mut InboxState) -> Result<Vec<ImportSummary>, AppError> {
        let inbox = self.inbox_dir();
        std::fs::create_dir_all(&inbox).map_err(|e| io("creating the inbox", e))?;
        // A file left in `.processing/` was taken by an import that never finished (the server stopped): it goes
        // back into the inbox to be taken again. Importing it again is safe: an import is all or nothing, and
        // one that did commit makes the second a no-op that says so.
        let work = inbox.join(".processing");
        if let Ok(entries) = std::fs::read_dir(&work) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if state.stuck.contains(&name) {
                    continue;
                }
                let back = free_name(&inbox, &name);
                match std::fs::rename(entry.path(), &back) {
                    Ok(()) => {
                        tracing::warn!(file = %name, "inbox: an import of this file was interrupted; it is taken again")
                    }
                    Err(e) => {
                        tracing::error!(file = %name, error = %e, "inbox: an interrupted file cannot be taken back");
                        state.stuck.insert(name);
                    }
                }
            }
        }
        let mut now_seen = HashMap::new();
        let mut ready = Vec::new();
        for entry in std::fs::read_dir(&inbox).map_err(|e| io("reading the inbox", e))? {
            let entry = entry.map_err(|e| io("reading the inbox", e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() || ignored(&name) {
                continue;
            }
            let sig = (meta.len(), meta.modified().ok());
            // A modification time in the future or unknown (a clock or a file system that does not keep one)
            // does not hold the file back: the two scans alone decide.
            let quiet = sig.1.and_then(|m| m.elapsed().ok()).is_none_or(|age| age >= state.quiet);
            if state.seen.get(&entry.path()) == Some(&sig) && quiet {
                ready.push((entry.path(), sig));
            } else {
                now_seen.insert(entry.path(), sig);
            }
        }
        state.seen = now_seen;
        ready.sort();
        let actor = Actor::system("inbox");
        let mut out = Vec::new();
        for (path, sig) in ready {
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let work = inbox.join(".processing");
            let taken = work.join(&name);
            // A file that cannot be taken is left where it is (named in the log); the others go on.
            if let Err(e) = std::fs::create_dir_all(&work).and_then(|()| std::fs::rename(&path, &taken)) {
                tracing::error!(file = %name, error = %e, "inbox: the file cannot be taken; it is left in the inbox");
                continue;
            }
            let opts = ImportOptions {
                mapping: self.mapping_for(&taken),
                file_name: Some(name.clone()),
                ..Default::default()
            };
            let summary = self.import_cost_file(&actor, &taken, opts, Arc::new(Progress::default())).await;
            // Written to while it was read (a copy that stalled longer than the quiet time): what was read may
            // be part of it.
            let changed = std::fs::metadata(&taken).ok().map(|m| (m.len(), m.modified().ok())) != Some(sig);
            let (dir, report) = match &summary {
                Ok(s) if changed => (
                    "failed",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "error": format!(
                            "the file changed while it was being imported (still being written?); import {} holds \
                             what was read ({} rows). Drop the complete file into the inbox again: it restates that \
                             import",
                            s.id, s.rows_ingested
                        ),
                        "import": s,
                    })),
                ),
                Ok(s) if s.is_ok() => ("done", serde_json::to_string_pretty(s)),
                Ok(s) => ("failed", serde_json::to_string_pretty(s)),
                Err(e) => {
                    // The import could not run (not a bad file): taken again at a later scan, a few times.
                    let n = state.attempts.entry(name.clone()).or_default();
                    *n += 1;
                    if *n < ATTEMPTS && std::fs::rename(&taken, free_name(&inbox, &name)).is_ok() {
                        tracing::warn!(file = %name, error = %e, attempt = *n, "inbox: the import could not run; the file is taken again later");
                        continue;
                    }
                    ("failed", serde_json::to_string_pretty(&serde_json::json!({"error": e.to_string()})))
                }
            };
            state.attempts.remove(&name);
            let dest_dir = inbox.join(dir);
            let dest = free_name(&dest_dir, &name);
            let moved = std::fs::create_dir_all(&dest_dir).and_then(|()| std::fs::rename(&taken, &dest));
            if let Err(e) = moved {
                // Left in `.processing/`, and not taken again by this process (it would import it again and again).
                tracing::error!(file = %name, error = %e, to = %dest_dir.display(), "inbox: the file cannot be moved out of .processing");
                state.stuck.insert(name.clone());
            } else if let Err(e) = std::fs::write(report_of(&dest), report.unwrap_or_default()) {
                tracing::error!(file = %name, error = %e, "inbox: the report cannot be written");
            }
            match summary {
                Ok(s) => {
                    tracing::info!(file = %name, status = %s.status, import = s.id, "inbox file imported");
                    out.push(s);
                }
                Err(e) => tracing::error!(file = %name, error = %e, "inbox file could not be imported"),
            }
        }
        Ok(out)
    }
}

/// `dir/name`, or `dir/N-name` for the first N that neither a file nor its report holds yet.
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let mut dest = dir.join(name);
    let mut n = 1;
    while dest.exists() || report_of(&dest).exists() {
        dest = dir.join(format!("{n}-{name}"));
        n += 1;
    }
    dest
}

/// Where a file's report goes: `NAME.report.json` beside it.
fn report_of(file: &Path) -> PathBuf {
    file.with_file_name(format!("{}.report.json", file.file_name().unwrap_or_default().to_string_lossy()))
}
