//! The inbox: files dropped into `DATA_DIR/inbox/` are imported into the cost ledger. A file is taken only
//! once it has stopped changing (the same size and modification time on two scans in a row), so a file still
//! being copied in is left alone; names starting with `.` or ending in `.part`/`.tmp` are never taken. After
//! the import the file moves to `inbox/done/` or `inbox/failed/`, with its import's report beside it as
//! `NAME.report.json`. A file whose import was interrupted (the server stopped) is taken again at the next
//! start. Generic spend files are read through the first mapping in `DATA_DIR/mappings/*.toml`
//! that fits their header.

use crate::cost::{ImportOptions, ImportSummary, Progress};
use crate::{Actor, App, AppError};
use itemize_ingest::generic::Mapping;
use itemize_ingest::source::{self, OpenError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::SystemTime;

/// What the previous scan saw: each waiting file's size and modification time.
#[derive(Debug, Default)]
pub struct InboxState {
    seen: HashMap<PathBuf, (u64, Option<SystemTime>)>,
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
        match source::open(path, None, None, Arc::new(AtomicU64::new(0))) {
            Err(OpenError::Unrecognised(_)) => {}
            _ => return None,
        }
        self.mappings()
            .into_iter()
            .find(|(_, m)| source::open(path, None, Some(m), Arc::new(AtomicU64::new(0))).is_ok())
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
                let mut back = inbox.join(&name);
                let mut n = 1;
                while back.exists() {
                    back = inbox.join(format!("{n}-{name}"));
                    n += 1;
                }
                std::fs::rename(entry.path(), &back).map_err(|e| io("taking back an interrupted file", e))?;
                tracing::warn!(file = %name, "inbox: an import of this file was interrupted; it is taken again");
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
            if state.seen.get(&entry.path()) == Some(&sig) {
                ready.push(entry.path());
            } else {
                now_seen.insert(entry.path(), sig);
            }
        }
        state.seen = now_seen;
        ready.sort();
        let actor = Actor::system("inbox");
        let mut out = Vec::new();
        for path in ready {
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let work = inbox.join(".processing");
            std::fs::create_dir_all(&work).map_err(|e| io("preparing", e))?;
            let taken = work.join(&name);
            std::fs::rename(&path, &taken).map_err(|e| io("taking the file", e))?;
            let opts = ImportOptions {
                mapping: self.mapping_for(&taken),
                file_name: Some(name.clone()),
                ..Default::default()
            };
            let summary = self.import_cost_file(&actor, &taken, opts, Arc::new(Progress::default())).await;
            let (dir, report) = match &summary {
                Ok(s) if s.is_ok() => ("done", serde_json::to_string_pretty(s)),
                Ok(s) => ("failed", serde_json::to_string_pretty(s)),
                Err(e) => {
                    ("failed", serde_json::to_string_pretty(&serde_json::json!({"error": e.to_string()})))
                }
            };
            let dest_dir = inbox.join(dir);
            std::fs::create_dir_all(&dest_dir).map_err(|e| io("moving the file", e))?;
            let mut dest = dest_dir.join(&name);
            let mut n = 1;
            while dest.exists() {
                dest = dest_dir.join(format!("{n}-{name}"));
                n += 1;
            }
            std::fs::rename(&taken, &dest).map_err(|e| io("moving the file", e))?;
            let report_path = dest.with_file_name(format!(
                "{}.report.json",
                dest.file_name().unwrap_or_default().to_string_lossy()
            ));
            std::fs::write(&report_path, report.unwrap_or_default())
                .map_err(|e| io("writing the report", e))?;
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
