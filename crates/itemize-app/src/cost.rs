//! Importing spend files into the cost ledger: recognise the file, read every row, convert to the reporting
//! currency, write the lake partitions, and make them current in one transaction — or change nothing.
//!
//! - The same bytes twice is a no-op that says so (the file's SHA-256 is the key).
//! - A newer export of a billing period of an account replaces the older one atomically: the partitions of
//!   both imports stay on disk (the history), the database says which is current.
//! - Strict (the default): any bad row rejects the file with a report. Lenient: the good rows go in, the bad
//!   ones go to a quarantine CSV beside the report, and the totals say what was left out.
//! - The raw file is kept, content-addressed, so any period can be re-derived.

use crate::rates::RateTable;
use crate::{Actor, App, AppError};
use itemize_core::Currency;
use itemize_core::auth::{Action, Resource, authorize};
use itemize_ingest::generic::{Mapping, Replaces};
use itemize_ingest::lake::{Conversion, LakeWriter};
use itemize_ingest::source::{self, Format, OpenError, Stream};
use itemize_ingest::{ChargeCategory, ContractCommitment, FocusRecord, RowError};
use itemize_store::{CommitmentRow, ImportRow, PartitionRow, Restates};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many errors a report gives in full; the rest are counted by reason.
pub const REPORT_ERRORS_IN_FULL: usize = 100;

/// The caller's choices for one import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Forces a reader instead of detecting the format from the header.
    pub format: Option<Format>,
    /// The mapping generic files are read through.
    pub mapping: Option<Mapping>,
    /// Ingest the good rows and quarantine the bad ones, instead of rejecting the file.
    pub lenient: bool,
    /// The name the file had for the user (an upload's name, say); default: the path's file name.
    pub file_name: Option<String>,
    /// The file is the import's own (an upload's temporary file): it becomes the kept raw copy by a rename
    /// instead of being copied, and is gone from `path` afterwards.
    pub owned: bool,
    /// Replace a month whose current import has charges later than this file's (an older export, by the look
    /// of it), instead of refusing the file.
    pub replace_newer: bool,
    /// Leave restating the closed periods the import touched, and allocating its allocated periods again, to a
    /// later [`App::finish_pending_imports`] (a bulk load that follows up once at the end).
    pub defer_follow_up: bool,
    /// More files of the same export (a Cost and Usage Report or a partitioned export written in several parts):
    /// read with the first as one file, so the parts add up to the month instead of each replacing the one
    /// before. Each is kept raw; the import's SHA-256 is that of the set.
    pub parts: Vec<PathBuf>,
}

/// How long the steps of an import took, in milliseconds: told by the run that did them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportPhases {
    /// Reading the file for its SHA-256.
    pub hash_ms: u64,
    /// Keeping the raw file, content-addressed (a copy, or a rename for an owned file).
    pub keep_raw_ms: u64,
    /// Parsing, checking, normalizing, converting and writing the lake.
    pub read_ms: u64,
    /// Making the partitions current in the manifest.
    pub commit_ms: u64,
}

/// Live counters of an import in progress, for progress bars.
#[derive(Debug, Default)]
pub struct Progress {
    pub bytes: Arc<AtomicU64>,
    pub rows: AtomicU64,
}

/// What `p` says of a file of `total` bytes.
fn progress_view(p: &Progress, total: u64) -> ProgressView {
    let read = p.bytes.load(Ordering::Relaxed).min(total);
    let percent = if total == 0 {
        Decimal::ZERO
    } else {
        (Decimal::from(read) * Decimal::ONE_HUNDRED / Decimal::from(total)).round_dp(1)
    };
    ProgressView {
        bytes_read: read,
        bytes_total: total,
        rows_read: p.rows.load(Ordering::Relaxed),
        percent: format!("{percent:.1}"),
    }
}

/// The imports running in this process, by id: their progress and their file's size.
pub(crate) type Running = Arc<std::sync::Mutex<HashMap<i64, (Arc<Progress>, u64)>>>;

/// How far a running import has come (in the process that runs it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgressView {
    pub bytes_read: u64,
    pub bytes_total: u64,
    pub rows_read: u64,
    /// Percent of the file read, one decimal.
    pub percent: String,
}

/// Sums of one billing period in one currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Totals {
    pub rows: u64,
    pub billed_cost: Decimal,
    pub effective_cost: Decimal,
    pub list_cost: Decimal,
    /// Of the lines that state it (a few real exports leave it out on some lines).
    pub contracted_cost: Decimal,
    pub billed_cost_reporting: Decimal,
    pub effective_cost_reporting: Decimal,
    pub list_cost_reporting: Decimal,
    pub contracted_cost_reporting: Decimal,
}

impl Totals {
    fn add(&mut self, r: &FocusRecord, c: &Conversion) {
        self.rows += 1;
        self.billed_cost += r.billed_cost;
        self.effective_cost += r.effective_cost;
        self.list_cost += r.list_cost;
        self.billed_cost_reporting += c.convert(r.billed_cost);
        self.effective_cost_reporting += c.convert(r.effective_cost);
        self.list_cost_reporting += c.convert(r.list_cost);
        if let Some(cc) = r.contracted_cost {
            self.contracted_cost += cc;
            self.contracted_cost_reporting += c.convert(cc);
        }
    }

    fn merge(&mut self, o: &Totals) {
        self.rows += o.rows;
        self.billed_cost += o.billed_cost;
        self.effective_cost += o.effective_cost;
        self.list_cost += o.list_cost;
        self.contracted_cost += o.contracted_cost;
        self.billed_cost_reporting += o.billed_cost_reporting;
        self.effective_cost_reporting += o.effective_cost_reporting;
        self.list_cost_reporting += o.list_cost_reporting;
        self.contracted_cost_reporting += o.contracted_cost_reporting;
    }
}

/// Totals of an import, by billing period and currency and by invoice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ImportTotals {
    pub reporting_currency: String,
    /// Keyed `YYYY-MM` then billing currency.
    pub by_period: BTreeMap<String, BTreeMap<String, Totals>>,
    /// Keyed invoice id then billing currency; lines without an invoice id are under "".
    pub by_invoice: BTreeMap<String, BTreeMap<String, Totals>>,
    /// Rows lenient mode left out.
    pub rows_left_out: u64,
}

/// The error report of an import.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ErrorReport {
    /// The first [`REPORT_ERRORS_IN_FULL`] errors.
    pub errors: Vec<ReportedError>,
    /// Every error, counted by column and reason.
    pub counts: BTreeMap<String, u64>,
    pub total: u64,
    /// Where lenient mode wrote the rejected rows.
    pub quarantine: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReportedError {
    pub row: u64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
    /// The file of an export read in parts that the row is in (its name); none for a single file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl From<&RowError> for ReportedError {
    fn from(e: &RowError) -> Self {
        ReportedError {
            row: e.row,
            column: e.column.clone(),
            value: e.value.clone(),
            reason: e.reason.clone(),
            file: None,
        }
    }
}

impl ErrorReport {
    fn push(&mut self, e: &RowError) {
        self.push_in(e, None);
    }

    /// An error of a row of `file`, one of the parts of an export.
    fn push_in(&mut self, e: &RowError, file: Option<&str>) {
        self.total += 1;
        if self.errors.len() < REPORT_ERRORS_IN_FULL {
            let mut r: ReportedError = e.into();
            r.file = file.map(str::to_string);
            self.errors.push(r);
        }
        let reason = without_dates(&e.reason);
        let key = match &e.column {
            Some(c) => format!("{c}: {reason}"),
            None => reason,
        };
        *self.counts.entry(key).or_default() += 1;
    }
}

/// A reason with its dates (`YYYY-MM-DD`) written as `YYYY-MM-DD`, so that alike problems on different days (a
/// missing exchange rate, say) count as one reason; the errors listed in full keep their dates.
fn without_dates(reason: &str) -> String {
    let b = reason.as_bytes();
    let is_date = |i: usize| {
        b.len() >= i + 10
            && b[i..i + 10]
                .iter()
                .enumerate()
                .all(|(k, c)| if k == 4 || k == 7 { *c == b'-' } else { c.is_ascii_digit() })
            && (i == 0 || !b[i - 1].is_ascii_digit())
            && b.get(i + 10).is_none_or(|c| !c.is_ascii_digit())
    };
    let mut out = String::with_capacity(reason.len());
    let mut i = 0;
    while i < b.len() {
        if is_date(i) {
            out.push_str("YYYY-MM-DD");
            i += 10;
        } else {
            let ch = reason[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// What an import did, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportSummary {
    pub id: i64,
    pub file_name: String,
    pub file_sha256: String,
    pub file_bytes: i64,
    pub format: Option<String>,
    pub format_version: Option<String>,
    pub container: Option<String>,
    pub mode: String,
    /// queued, running, active, superseded, duplicate, rejected or failed.
    pub status: String,
    pub rows_read: i64,
    pub rows_ingested: i64,
    pub rows_rejected: i64,
    pub totals: Option<ImportTotals>,
    pub report: Option<ErrorReport>,
    pub message: Option<String>,
    /// The imports whose partitions this one replaced (restatements).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<i64>,
    /// Closed periods this import restated, and where their differences were posted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restatements: Vec<crate::restate::Restatement>,
    /// While it runs, how far it has come (known to the process that runs it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<ProgressView>,
    /// How long its steps took (in the answer of the run that did them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phases: Option<ImportPhases>,
    pub created_by: String,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
}

impl ImportSummary {
    pub fn from_row(r: ImportRow) -> Self {
        ImportSummary {
            id: r.id,
            file_name: r.file_name,
            file_sha256: r.file_sha256,
            file_bytes: r.file_bytes,
            format: r.format,
            format_version: r.format_version,
            container: r.container,
            mode: r.mode,
            status: r.status,
            rows_read: r.rows_read,
            rows_ingested: r.rows_ingested,
            rows_rejected: r.rows_rejected,
            totals: r.totals_json.and_then(|j| serde_json::from_str(&j).ok()),
            report: r.report_json.and_then(|j| serde_json::from_str(&j).ok()),
            message: r.message,
            replaced: Vec::new(),
            restatements: Vec::new(),
            progress: None,
            phases: None,
            created_by: r.created_by,
            created_at: r.created_at.map(|t| t.to_string()),
            started_at: r.started_at.map(|t| t.to_string()),
            finished_at: r.finished_at.map(|t| t.to_string()),
            duration_ms: r.duration_ms,
        }
    }

    /// Whether the file's lines are in the ledger (or already were).
    pub fn is_ok(&self) -> bool {
        matches!(self.status.as_str(), "active" | "superseded" | "duplicate")
    }
}

/// The partition a record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct PartKey {
    period: String,
    provider: String,
    account: String,
    /// What of the account's period the partition restates: "" for all of it (cloud bills, a generic source
    /// that replaces by period), an invoice number (one that replaces invoice by invoice), the file's SHA-256
    /// (one whose files only add).
    slice: String,
}

/// The slice of a source that replaces invoice by invoice for its lines without an invoice number.
const NO_INVOICE: &str = "(no invoice)";

/// The slices of an Azure cost details file. Microsoft exports a month twice: actual cost (a reservation's or
/// savings plan's purchase carries its cost, the usage it covers costs nothing) and amortized cost (the covered
/// usage and the unused hours carry it, the purchase is absent or zero). The ledger keeps what each does best,
/// as Microsoft's own conversion to FOCUS does: the amortized file's usage, so EffectiveCost holds the
/// commitment's share, and the actual file's commitment purchases and refunds, so BilledCost holds the invoice.
/// Which reading of the usage a file is shows in it: covered usage or unused hours that cost something.
const AZURE_ACTUAL: &str = "actual";
const AZURE_AMORTIZED: &str = "amortized";
const AZURE_COMMITMENTS: &str = "commitment purchases";
/// An Azure file's usage until the file is read whole and it is known which reading it is.
const AZURE_USAGE: &str = "usage";

/// What else a slice of an Azure file restates besides the same slice (a month's earlier imports read whole,
/// slice '', included), and what it is compared with when an older export is told from a newer one.
/// An actual reading restates the commitment purchases too: the actual export is where they come from, so a
/// newer one without a purchase the older one had means it is gone.
fn azure_restates(slice: &str) -> &'static [&'static str] {
    match slice {
        AZURE_AMORTIZED => &["", AZURE_ACTUAL],
        AZURE_ACTUAL => &["", AZURE_COMMITMENTS],
        AZURE_COMMITMENTS => &[""],
        _ => &[],
    }
}

/// A partition kept in the history without ever being current: an Azure actual reading of usage the month's
/// amortized reading holds. It is superseded by an earlier import, where a restated partition is superseded by
/// a later one.
fn held(p: &PartitionRow) -> bool {
    p.status == "superseded" && p.superseded_by.is_some_and(|by| by < p.import_id)
}

/// A commitment's purchase or refund as the Azure reader gives it: invoiced now, amortized elsewhere.
fn azure_commitment_charge(r: &FocusRecord) -> bool {
    r.pricing_category.as_deref() == Some("Committed")
        && matches!(r.charge_category, ChargeCategory::Purchase | ChargeCategory::Credit)
        && !r.billed_cost.is_zero()
}

/// Usage a commitment covers, or its unused hours, costing something: the amortized reading of a month.
fn azure_amortized_usage(r: &FocusRecord) -> bool {
    r.pricing_category.as_deref() == Some("Committed")
        && r.charge_category == ChargeCategory::Usage
        && !r.effective_cost.is_zero()
}

/// How a source's lines divide into what a newer file replaces.
#[derive(Debug, Clone)]
enum SliceBy {
    Period,
    Invoice,
    File(String),
    /// Azure cost details: the usage, and the commitment purchases and refunds (see [`AZURE_ACTUAL`]).
    Azure,
}

impl SliceBy {
    fn of<'a>(&'a self, r: &'a FocusRecord) -> &'a str {
        match self {
            SliceBy::Period => "",
            // Lines without an invoice number are one group of their own, never the whole period.
            SliceBy::Invoice => r.invoice_id.as_deref().filter(|i| !i.is_empty()).unwrap_or(NO_INVOICE),
            SliceBy::File(sha) => sha,
            SliceBy::Azure if azure_commitment_charge(r) => AZURE_COMMITMENTS,
            SliceBy::Azure => AZURE_USAGE,
        }
    }
}

struct Staged {
    key: PartKey,
    path: PathBuf,
    writer: Option<LakeWriter>,
    rows: u64,
    totals: BTreeMap<String, Totals>,
    /// The services and tag keys of the partition's lines, for queries to skip partitions that cannot match;
    /// `None` once there are more than [`LISTED_PER_PARTITION`] (the manifest then says nothing, and no query
    /// skips the partition).
    services: Option<BTreeSet<String>>,
    tag_keys: Option<BTreeSet<String>>,
    /// The end of its latest charge.
    charges_until: Option<Timestamp>,
}

/// The most services, and the most tag keys, a partition's manifest lists.
const LISTED_PER_PARTITION: usize = 500;

/// Adds `v` to a partition's list, which gives up (becomes `None`) past [`LISTED_PER_PARTITION`] values.
fn list_value(set: &mut Option<BTreeSet<String>>, v: &str) {
    if let Some(s) = set
        && !s.contains(v)
    {
        if s.len() == LISTED_PER_PARTITION {
            *set = None;
        } else {
            s.insert(v.to_string());
        }
    }
}

/// The sums of one partition's lines in one currency on one invoice.
struct Sums {
    part: usize,
    currency: Currency,
    invoice: String,
    totals: Totals,
}

/// What reading the file produced, before anything is made current.
struct Processed {
    format: Format,
    version: Option<String>,
    container: &'static str,
    rows_read: u64,
    rows_ok: u64,
    report: ErrorReport,
    /// The rejected rows: (the part they are in, their row number).
    rejected_lines: BTreeSet<(usize, u64)>,
    staged: Vec<Staged>,
    totals: ImportTotals,
    commitments: Vec<ContractCommitment>,
    /// Whether the file replaces what is in the ledger invoice by invoice (a generic source's `replaces`).
    by_invoice: bool,
    /// What the readers said about the files though they read (the import's message repeats it).
    notes: Vec<String>,
}

/// The most invoices one file may restate invoice by invoice: each is a lake file of its own, written at once.
const MAX_INVOICE_SLICES: usize = 256;

/// The path-safe spelling of a partition value: letters, digits, `-` and `_`, plus a short hash when anything
/// was changed, so distinct values never share a directory.
fn slug(v: &str) -> String {
    let clean: String = v
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(60)
        .collect();
    if clean == v && !clean.is_empty() {
        clean
    } else {
        let h = Sha256::digest(v.as_bytes());
        format!("{clean}~{:02x}{:02x}{:02x}{:02x}", h[0], h[1], h[2], h[3])
    }
}

/// The billing period (`YYYY-MM`, UTC) a timestamp falls in.
pub(crate) fn period_of(t: Timestamp) -> String {
    let d = t.to_zoned(jiff::tz::TimeZone::UTC).date();
    format!("{:04}-{:02}", d.year(), d.month())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The file's SHA-256 and size.
fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex(&h.finalize()), n))
}

fn io_err(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Refused(format!("{what}: {e}"))
}

impl App {
    /// Whether the actor may read (or change) the cost ledger; front ends ask before parsing a request.
    pub fn cost_allow(&self, actor: &Actor, action: Action) -> Result<(), AppError> {
        authorize(actor, Resource::CostLedger, action).map_err(|e| AppError::Forbidden(e.to_string()))?;
        if actor.scope.is_some() {
            return Err(AppError::Forbidden(
                "the cost ledger as imported, its imports and the chargeback journal are the whole organisation's; \
                 a user limited to cost centres sees their costs in the statements, the explorer and the line items"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Where the lake's partition files live.
    pub fn lake_dir(&self) -> PathBuf {
        self.config().data_dir.join("lake")
    }

    fn raw_dir(&self) -> PathBuf {
        self.config().data_dir.join("raw").join("sha256")
    }

    pub fn reports_dir(&self) -> PathBuf {
        self.config().data_dir.join("reports")
    }

    /// Removes what imports and exports cut short by a stopped process left behind: uploads waiting for an import
    /// that will never run (`uploads/*.upload`), staged lake files (`lake/_staging/`), half-copied raw files
    /// (`*.part`), and the files of downloads (`exports/`: written for one download each and removed when it
    /// ends, so whatever is there at start was cut short). Nothing current refers to any of them. `serve` runs it at start, after failing the
    /// imports left unfinished. Returns how many it removed.
    pub fn sweep_leftovers(&self) -> usize {
        let data = &self.config().data_dir;
        let mut removed = 0;
        let mut remove = |p: &Path, dir: bool| {
            let done = if dir { std::fs::remove_dir_all(p) } else { std::fs::remove_file(p) };
            match done {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!(path = %p.display(), error = %e, "a leftover could not be removed"),
            }
        };
        let entries = |d: &Path| -> Vec<PathBuf> {
            std::fs::read_dir(d).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default()
        };
        let ends = |p: &Path, ext: &str| p.extension().is_some_and(|e| e == ext);
        for p in entries(&data.join("uploads")).iter().filter(|p| ends(p, "upload")) {
            remove(p, false);
        }
        for p in entries(&self.lake_dir().join("_staging")) {
            remove(&p, p.is_dir());
        }
        for shard in entries(&self.raw_dir()).iter().filter(|p| p.is_dir()) {
            for p in entries(shard).iter().filter(|p| ends(p, "part")) {
                remove(p, false);
            }
        }
        for p in entries(&data.join("exports")).iter().filter(|p| p.is_file()) {
            remove(p, false);
        }
        removed
    }

    /// Records that a file is waiting to be imported; the import job is [`App::run_cost_import`].
    pub async fn queue_cost_import(
        &self,
        actor: &Actor,
        file_name: &str,
        lenient: bool,
    ) -> Result<ImportSummary, AppError> {
        self.cost_allow(actor, Action::Write)?;
        let now = self.clock().now();
        let row = ImportRow {
            file_name: file_name.to_string(),
            mode: if lenient { "lenient" } else { "strict" }.into(),
            status: "queued".into(),
            created_by: actor.name.clone(),
            created_at: Some(now),
            ..ImportRow::default()
        };
        let mut s = self.store().session().await?;
        let id = s.insert_import(&row).await?;
        Ok(ImportSummary::from_row(ImportRow { id, ..row }))
    }

    /// Marks a queued or running import failed (an upload that broke off, a job that could not run).
    pub async fn fail_cost_import(&self, id: i64, message: &str) -> Result<(), AppError> {
        let mut s = self.store().session().await?;
        if let Some(mut row) = s.cost_import(id).await?
            && matches!(row.status.as_str(), "queued" | "running")
        {
            row.status = "failed".into();
            row.message = Some(message.to_string());
            row.finished_at = Some(self.clock().now());
            s.update_import(&row).await?;
        }
        Ok(())
    }

    /// Imports one file, start to finish.
    pub async fn import_cost_file(
        &self,
        actor: &Actor,
        path: &Path,
        opts: ImportOptions,
        progress: Arc<Progress>,
    ) -> Result<ImportSummary, AppError> {
        let name = opts
            .file_name
            .clone()
            .or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "file".into());
        let queued = self.queue_cost_import(actor, &name, opts.lenient).await?;
        self.run_cost_import(actor, queued.id, path, opts, progress).await
    }

    /// Runs a queued import. Whatever happens, the import's row ends in a final status with a message.
    pub async fn run_cost_import(
        &self,
        actor: &Actor,
        id: i64,
        path: &Path,
        opts: ImportOptions,
        progress: Arc<Progress>,
    ) -> Result<ImportSummary, AppError> {
        // A SaaS invoice or GL extract sent without a mapping is read through the installed one that fits.
        let mut opts = opts;
        if opts.mapping.is_none() && opts.parts.is_empty() {
            opts.mapping = self.installed_mapping(path, opts.format);
        }
        let size = std::iter::once(path)
            .chain(opts.parts.iter().map(PathBuf::as_path))
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum();
        if let Ok(mut r) = self.running.lock() {
            r.insert(id, (progress.clone(), size));
        }
        let out = self.run_cost_import_tracked(actor, id, path, opts, progress).await;
        if let Ok(mut r) = self.running.lock() {
            r.remove(&id);
        }
        out
    }

    /// How far import `id` has come, when this process is running it.
    pub fn import_progress(&self, id: i64) -> Option<ProgressView> {
        let r = self.running.lock().ok()?;
        let (p, total) = r.get(&id)?;
        Some(progress_view(p, *total))
    }

    async fn run_cost_import_tracked(
        &self,
        actor: &Actor,
        id: i64,
        path: &Path,
        opts: ImportOptions,
        progress: Arc<Progress>,
    ) -> Result<ImportSummary, AppError> {
        self.cost_allow(actor, Action::Write)?;
        let mut row = self
            .store()
            .session()
            .await?
            .cost_import(id)
            .await?
            .ok_or(AppError::NotFound { kind: "cost import", id: id.to_string() })?;
        let started = self.clock().now();
        row.status = "running".into();
        row.started_at = Some(started);
        // The mode it runs in (a form may name it after the file it was queued with).
        row.mode = if opts.lenient { "lenient" } else { "strict" }.into();
        self.store().session().await?.update_import(&row).await?;
        let mut phases = ImportPhases::default();
        let opts_defer = opts.defer_follow_up;
        let result = self.run_import_inner(actor, &mut row, path, opts, progress, &mut phases).await;
        tracing::info!(
            import = row.id,
            bytes = row.file_bytes,
            rows = row.rows_read,
            hash_ms = phases.hash_ms,
            keep_raw_ms = phases.keep_raw_ms,
            read_ms = phases.read_ms,
            commit_ms = phases.commit_ms,
            "cost import ran"
        );
        let finished = self.clock().now();
        row.finished_at = Some(finished);
        row.duration_ms = Some(finished.duration_since(started).as_millis() as i64);
        let (replaced, periods) = match result {
            Ok(done) => done,
            Err(e) => {
                row.status = "failed".into();
                row.message = Some(e.to_string());
                Default::default()
            }
        };
        // What the import changed in the allocation's months (closed ones restated, allocated ones allocated
        // again), unless the caller leaves that to `finish_pending_imports`. The commit left a note of it, so a
        // process stopped here finishes it at its next start.
        let mut restatements = Vec::new();
        if !periods.is_empty() && !opts_defer {
            let (r, notes) = self.follow_up(actor, row.id, &periods, row.status == "active").await;
            restatements = r;
            for n in notes {
                let msg = row.message.take().unwrap_or_default();
                row.message = Some(format!("{msg}; {n}"));
            }
        }
        self.store().session().await?.update_import(&row).await?;
        let mut summary = ImportSummary::from_row(row);
        summary.replaced = replaced;
        summary.restatements = restatements;
        summary.phases = Some(phases);
        Ok(summary)
    }

    /// What an import that committed owes the allocation: its closed periods restated (the difference posted
    /// into the next open one), its allocated open periods allocated again. Returns the restatements and what to
    /// add to the import's message; clears the import's pending note once everything went through.
    async fn follow_up(
        &self,
        actor: &Actor,
        import_id: i64,
        periods: &BTreeSet<String>,
        reallocate: bool,
    ) -> (Vec<crate::restate::Restatement>, Vec<String>) {
        let mut notes = Vec::new();
        let mut restatements = Vec::new();
        let mut ok = true;
        match self.restate_closed_periods(actor, Some(import_id), periods).await {
            Ok(r) => restatements = r,
            Err(e) => {
                ok = false;
                notes.push(format!(
                    "restating the closed periods it touched failed ({e}); run the restatement again \
                     (POST /api/v1/allocation/restate?period=…) once the cause is fixed"
                ));
            }
        }
        for r in restatements.iter().filter(|r| r.adjustments > 0) {
            notes.push(format!(
                "closed period {} restated: {} {} effective posted into {} as adjustments",
                r.source_period,
                r.effective.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero),
                self.config().reporting_currency.code(),
                r.posted_period
            ));
        }
        // Open periods that were already allocated are allocated again with the new ledger, so the cube (the
        // dashboards, statements and explorer) never shows a stale month; a period not yet allocated stays so.
        let state = async {
            let mut s = self.store().session().await?;
            Ok::<_, AppError>((s.allocation_runs(None).await?, s.closed_periods().await?))
        }
        .await;
        match state {
            Ok(_) if !reallocate => {}
            Ok((runs, closed)) => {
                for p in periods {
                    let allocated = runs.iter().any(|r| &r.billing_period == p && r.status == "current");
                    if !allocated || closed.iter().any(|(c, _)| c == p) {
                        continue; // not allocated yet, or closed (restated above)
                    }
                    if let Err(e) = self.allocate_period(actor, p).await {
                        ok = false;
                        notes
                            .push(format!("allocating {p} again failed ({e}); allocate it again once fixed"));
                    }
                }
            }
            Err(e) => {
                ok = false;
                notes.push(format!("allocating its periods again failed ({e})"));
            }
        }
        if ok && let Ok(mut s) = self.store().session().await {
            let _ = s.delete_setting(&pending_key(import_id)).await;
        }
        (restatements, notes)
    }

    /// Finishes what imports that committed still owe the allocation (a process stopped after the commit, an
    /// import told to defer it): their closed periods restated, their allocated periods allocated again.
    /// Returns the imports finished. `serve` runs it at start.
    pub async fn finish_pending_imports(&self, actor: &Actor) -> Result<Vec<i64>, AppError> {
        let pending = self.store().session().await?.settings_with_prefix(PENDING_PREFIX).await?;
        let mut done = Vec::new();
        for (key, value) in pending {
            let Some(id) = key.strip_prefix(PENDING_PREFIX).and_then(|i| i.parse::<i64>().ok()) else {
                continue;
            };
            let periods: BTreeSet<String> = serde_json::from_str(&value).unwrap_or_default();
            let active =
                self.store().session().await?.cost_import(id).await?.is_some_and(|r| r.status == "active");
            let (_, notes) = self.follow_up(actor, id, &periods, active).await;
            let mut s = self.store().session().await?;
            if let Some(mut row) = s.cost_import(id).await? {
                for n in notes {
                    let msg = row.message.take().unwrap_or_default();
                    row.message = Some(format!("{msg}; {n}"));
                }
                s.update_import(&row).await?;
            }
            done.push(id);
        }
        Ok(done)
    }

    /// The work of an import; sets the row's outcome and returns the imports it restated and the billing
    /// periods it wrote.
    async fn run_import_inner(
        &self,
        actor: &Actor,
        row: &mut ImportRow,
        path: &Path,
        opts: ImportOptions,
        progress: Arc<Progress>,
        phases: &mut ImportPhases,
    ) -> Result<(Vec<i64>, BTreeSet<String>), AppError> {
        let ms = |t: std::time::Instant| t.elapsed().as_millis() as u64;
        let t = std::time::Instant::now();
        // The file, and the further parts of the same export when it comes in several.
        let files: Vec<PathBuf> =
            std::iter::once(path.to_path_buf()).chain(opts.parts.iter().cloned()).collect();
        // Each file's size and modification time now, to tell at the commit whether one was still being written
        // while it was read (an owned file is the import's own, and moves away).
        let signature = |files: &[PathBuf]| -> Vec<Option<(u64, Option<std::time::SystemTime>)>> {
            files.iter().map(|f| std::fs::metadata(f).ok().map(|m| (m.len(), m.modified().ok()))).collect()
        };
        let signed = (!opts.owned).then(|| signature(&files));
        let fs = files.clone();
        let hashed: Vec<(String, u64)> = tokio::task::spawn_blocking(move || {
            fs.iter().map(|p| hash_file(p)).collect::<std::io::Result<Vec<_>>>()
        })
        .await
        .map_err(|e| io_err("hashing the file", e))?
        .map_err(|e| io_err("reading the file", e))?;
        phases.hash_ms = ms(t);
        // One file given twice as two parts (a re-download under another name) would count its lines twice.
        for (i, (h, _)) in hashed.iter().enumerate() {
            if let Some(j) = hashed[..i].iter().position(|(o, _)| o == h) {
                let name = |k: usize| {
                    files[k].file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                };
                row.status = "rejected".into();
                row.message = Some(format!(
                    "parts {} and {} are the same file (SHA-256 {}…): each part of an export is given once; nothing \
                     was imported",
                    name(j),
                    name(i),
                    &h[..12]
                ));
                return Ok(Default::default());
            }
        }
        let sha = set_sha(&hashed);
        let bytes: u64 = hashed.iter().map(|(_, b)| b).sum();
        row.file_sha256 = sha.clone();
        row.file_bytes = bytes as i64;
        let earlier = self.store().session().await?.import_by_hash(&sha).await?;
        // The same bytes again change nothing — unless their import left rows out (a lenient import that met a
        // missing exchange rate, say) and is still current: then they are read again, with the rates and
        // reference data of today, and the new import restates the old one.
        let mut retry = earlier.as_ref().is_some_and(|e| e.rows_rejected > 0 && e.status != "duplicate");
        if let Some(e) = earlier.as_ref().filter(|_| retry) {
            // Only while all of it is as current as it was made (a held partition never was current): a later
            // import that restated part of it is newer than these bytes.
            let parts = self.store().session().await?.import_partitions(e.id).await?;
            retry = !parts.is_empty() && parts.iter().all(|p| p.status == "active" || held(p));
        }
        if let Some(e) = earlier.as_ref().filter(|_| retry) {
            row.message = Some(format!(
                "import {} of the same file left {} rows out; reading it again",
                e.id, e.rows_rejected
            ));
        }
        // Asked to replace newer data, bytes whose import has been restated since (wholly or in part) are read
        // again and made current: the way back to an export already seen, after a wrong one replaced it.
        if let Some(e) = earlier.as_ref().filter(|_| opts.replace_newer && !retry) {
            let parts = self.store().session().await?.import_partitions(e.id).await?;
            if parts.iter().any(|p| p.status != "active") {
                retry = true;
                row.message = Some(format!(
                    "import {} of the same file has been restated since; reading it again to replace the newer data",
                    e.id
                ));
            }
        }
        if let Some(earlier) = earlier.filter(|_| !retry) {
            row.status = "duplicate".into();
            row.message = Some(format!(
                "the same file (SHA-256 {}…) was imported as import {} ({}); nothing changed",
                &sha[..12],
                earlier.id,
                earlier.file_name
            ));
            return Ok(Default::default());
        }
        // Keep the raw bytes, content-addressed (each part by its own hash); from here on the files are read from
        // there.
        let t = std::time::Instant::now();
        let raws: Vec<PathBuf> = hashed.iter().map(|(h, _)| self.raw_dir().join(&h[..2]).join(h)).collect();
        let (srcs, dsts, owned) = (files.clone(), raws.clone(), opts.owned);
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            for (src, dst) in srcs.iter().zip(&dsts) {
                if !dst.exists() {
                    std::fs::create_dir_all(dst.parent().unwrap_or(Path::new(".")))?;
                    let tmp = dst.with_extension("part");
                    // An owned file moves (no copy) unless it is on another file system.
                    if !owned || std::fs::rename(src, &tmp).is_err() {
                        std::fs::copy(src, &tmp)?;
                    }
                    std::fs::rename(&tmp, dst)?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| io_err("keeping the raw file", e))?
        .map_err(|e| io_err("keeping the raw file", e))?;
        row.raw_path = Some(
            hashed.iter().map(|(h, _)| format!("raw/sha256/{}/{}", &h[..2], h)).collect::<Vec<_>>().join(" "),
        );
        phases.keep_raw_ms = ms(t);
        // The parts' names, for the rows the report names (none for a single file).
        let part_names: Vec<String> = if files.len() > 1 {
            files
                .iter()
                .map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
                .collect()
        } else {
            Vec::new()
        };

        let mut s = self.store().session().await?;
        let rates = RateTable::from_rows(&s.rates().await?);
        let vendors = Arc::new(VendorIndex::new(crate::refdata::vendor_names(&mut s).await?));
        drop(s);
        let reporting = self.config().reporting_currency;
        let staging = self.lake_dir().join("_staging").join(format!("import-{}", row.id));
        let (p, st, lenient, format, mapping, sha_, names) = (
            raws.clone(),
            staging.clone(),
            opts.lenient,
            opts.format,
            opts.mapping.clone(),
            sha.clone(),
            part_names.clone(),
        );
        let prog = progress.clone();
        let t = std::time::Instant::now();
        let index = vendors.clone();
        let processed = tokio::task::spawn_blocking(move || {
            process(
                &p,
                &names,
                format,
                mapping.as_ref(),
                &sha_,
                lenient,
                &rates,
                &index,
                reporting,
                &st,
                &prog,
            )
        })
        .await
        .map_err(|e| io_err("reading the file", e))?;
        phases.read_ms = ms(t);
        let processed = match processed {
            Ok(p) => p,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                row.status = "rejected".into();
                let mut report = ErrorReport::default();
                if let OpenError::Row(re) = &e {
                    report.push(re);
                }
                row.message = Some(e.to_string());
                row.report_json = Some(json(&report));
                return Ok(Default::default());
            }
        };
        row.format = Some(processed.format.name().into());
        row.format_version = processed.version.clone();
        row.container = Some(processed.container.into());
        let processed_generic = processed.format == Format::Generic;
        let by_invoice = processed.by_invoice;
        let processed_azure = processed.format == Format::Azure;
        let notes = processed.notes.clone();
        row.rows_read = processed.rows_read as i64;
        row.rows_rejected = processed.report.total as i64;
        let mut report = processed.report;
        if report.total > 0 && !lenient {
            let _ = std::fs::remove_dir_all(&staging);
            row.status = "rejected".into();
            row.rows_ingested = 0;
            row.message = Some(format!(
                "{} of {} rows are invalid; nothing was imported (fix them, or import leniently to \
                 quarantine them: the upload's \"lenient\" box, lenient=true in the API, --lenient on the command \
                 line)",
                report.total, processed.rows_read
            ));
            row.report_json = Some(json(&report));
            return Ok(Default::default());
        }
        if processed.rows_ok == 0 {
            let _ = std::fs::remove_dir_all(&staging);
            row.status = "rejected".into();
            row.message = Some("the file holds no valid rows; nothing was imported".into());
            row.report_json = Some(json(&report));
            return Ok(Default::default());
        }
        // An invoice cannot restate part of a month the ledger holds whole (imported by period, or before
        // sources could replace invoice by invoice): which of its lines were that invoice's is not known, so
        // adding the invoice could count it twice. Refused, saying how to go on.
        // (Checked here, to refuse before anything moves, and again inside the transaction that makes the
        // partitions current: a whole month may have been imported in between.)
        let invoice_keys: BTreeSet<(String, String, String)> = if processed.by_invoice {
            processed
                .staged
                .iter()
                .map(|p| (p.key.period.clone(), p.key.provider.clone(), p.key.account.clone()))
                .collect()
        } else {
            BTreeSet::new()
        };
        if let Some(why) = held_whole(&mut self.store().session().await?, &invoice_keys, &vendors).await? {
            let _ = std::fs::remove_dir_all(&staging);
            row.status = "rejected".into();
            row.message = Some(why);
            row.report_json = Some(json(&report));
            return Ok(Default::default());
        }
        // A month's export restated by an older one: providers restate a month several times and each export
        // runs further, so a file whose charges end before those the month holds is an earlier export imported
        // late, and replacing would quietly roll the month back. Refused unless the user says so. Checked here,
        // to refuse before anything moves, and again inside the transaction that makes the partitions current
        // (an import of the same month may have committed in between).
        // (Owned, not borrowed from the staged partitions: their lake writers may not be held across an await.)
        // Cloud bills only: a generic source's file run again is the correction itself, and a GL extract run
        // again may well end sooner (its last line reversed).
        let wholes: Vec<(PartKey, String)> = if opts.replace_newer || processed_generic {
            Vec::new()
        } else {
            processed
                .staged
                .iter()
                .filter(|p| {
                    p.key.slice.is_empty() || matches!(p.key.slice.as_str(), AZURE_ACTUAL | AZURE_AMORTIZED)
                })
                .filter_map(|p| {
                    Some((p.key.clone(), itemize_core::clock::format_timestamp(p.charges_until?)))
                })
                .collect()
        };
        let older = if wholes.is_empty() {
            None
        } else {
            older_than_current(&mut self.store().session().await?, &wholes).await?
        };
        if let Some(why) = older {
            let _ = std::fs::remove_dir_all(&staging);
            row.status = "rejected".into();
            row.message = Some(why);
            row.report_json = Some(json(&report));
            return Ok(Default::default());
        }
        if report.total > 0 {
            let dir = self.reports_dir().join(format!("import-{}", row.id));
            let q = dir.join("quarantine.csv");
            let (srcs, names, lines, errs, qq, m) = (
                raws.clone(),
                part_names.clone(),
                processed.rejected_lines.clone(),
                report.errors.clone(),
                q.clone(),
                opts.mapping.clone().filter(|_| processed.format == Format::Generic),
            );
            tokio::task::spawn_blocking(move || {
                write_quarantine(&srcs, &names, m.as_ref(), &lines, &errs, &qq)
            })
            .await
            .map_err(|e| io_err("writing the quarantine file", e))?
            .map_err(|e| io_err("writing the quarantine file", e))?;
            report.quarantine = Some(q.display().to_string());
            std::fs::write(dir.join("report.json"), json(&report))
                .map_err(|e| io_err("writing the report", e))?;
        }
        // Move the partitions into the lake, then make them current in one transaction.
        let mut parts = Vec::new();
        let mut moved = Vec::new();
        for s in &processed.staged {
            // Lower-cased, with a hash when that changed anything: two invoices that differ only in case must
            // not share a file on a disk that ignores case.
            let slice = match s.key.slice.as_str() {
                "" => String::new(),
                v if v.to_lowercase() == v => format!("-{}", slug(v)),
                v => {
                    let h = Sha256::digest(v.as_bytes());
                    format!("-{}~{:02x}{:02x}{:02x}{:02x}", slug(&v.to_lowercase()), h[0], h[1], h[2], h[3])
                }
            };
            let rel = format!(
                "period={}/provider={}/account={}/import-{}{slice}.parquet",
                s.key.period,
                slug(&s.key.provider),
                slug(&s.key.account),
                row.id
            );
            let dst = self.lake_dir().join(&rel);
            if let Some(parent) = dst.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io_err("writing the lake", e))?;
            }
            std::fs::rename(&s.path, &dst).map_err(|e| io_err("writing the lake", e))?;
            moved.push(dst);
            parts.push(PartitionRow {
                id: 0,
                import_id: row.id,
                billing_period: s.key.period.clone(),
                provider: s.key.provider.clone(),
                billing_account_id: s.key.account.clone(),
                slice: s.key.slice.clone(),
                status: "active".into(),
                superseded_by: None,
                rows: s.rows as i64,
                lake_path: rel,
                totals_json: json(&s.totals),
                services_json: json(&s.services),
                tag_keys_json: json(&s.tag_keys),
                charges_until: s.charges_until.map(itemize_core::clock::format_timestamp),
            });
        }
        let _ = std::fs::remove_dir_all(&staging);
        let mut totals = processed.totals;
        totals.rows_left_out = report.total;
        row.rows_ingested = processed.rows_ok as i64;
        row.totals_json = Some(json(&totals));
        row.report_json = if report.total > 0 { Some(json(&report)) } else { None };
        row.status = "active".into();
        let commitments: Vec<CommitmentRow> = processed.commitments.iter().map(commitment_row).collect();
        let t = std::time::Instant::now();
        let outcome = async {
            if let Some(before) = &signed
                && signature(&files) != *before
            {
                return Err(AppError::Refused(
                    "the file changed while it was being read (still being written?); nothing was imported: \
                     import it again once it is complete"
                        .into(),
                ));
            }
            let mut tx = self.store().transaction().await?;
            // One import makes partitions current at a time (PostgreSQL; SQLite's write transactions already
            // are one at a time), so what the checks below see stays true until it commits.
            tx.lock_ledger().await?;
            if let Some(why) = older_than_current(&mut tx, &wholes).await? {
                return Err(AppError::Refused(why));
            }
            if let Some(why) = held_whole(&mut tx, &invoice_keys, &vendors).await? {
                return Err(AppError::Refused(why));
            }
            let mut restates = if by_invoice {
                earlier_spellings(&mut tx, &parts, &vendors).await?
            } else {
                vec![Restates::default(); parts.len()]
            };
            let mut parts = parts.clone();
            let mut held = BTreeSet::new();
            if processed_azure {
                for (p, r) in parts.iter_mut().zip(restates.iter_mut()) {
                    r.slices = azure_restates(&p.slice).iter().map(|s| s.to_string()).collect();
                    if p.slice != AZURE_ACTUAL {
                        continue;
                    }
                    let amortized = tx
                        .active_partitions_of(&p.billing_period, &p.billing_account_id)
                        .await?
                        .into_iter()
                        .find(|a| a.slice == AZURE_AMORTIZED && a.provider == p.provider);
                    let Some(a) = amortized else { continue };
                    let newer = match (&a.charges_until, &p.charges_until) {
                        (Some(theirs), Some(mine)) => mine > theirs,
                        _ => false,
                    };
                    if newer || opts.replace_newer {
                        // Later than the month's amortized reading (or asked to replace it): this reading's usage
                        // is current until a newer amortized export arrives.
                        r.slices.push(AZURE_AMORTIZED.into());
                    } else {
                        // As recent as the amortized reading, which keeps the usage: this one is kept in the
                        // history (held: superseded by an earlier import), while it still restates the month's
                        // commitment purchases (those its file no longer holds are gone).
                        p.status = "superseded".into();
                        p.superseded_by = Some(a.import_id);
                        held.insert((p.billing_period.clone(), p.billing_account_id.clone(), a.import_id));
                    }
                }
            }
            let (replaced, other_periods) =
                tx.activate_partitions(row.id, &parts, processed_generic, &restates).await?;
            tx.insert_commitments(row.id, &commitments).await?;
            let none_current = !parts.is_empty() && parts.iter().all(|p| p.status != "active");
            let mut message =
                if none_current { "nothing made current".to_string() } else { summary_message(row, &replaced) };
            for n in &notes {
                message.push_str(&format!("; {n}"));
            }
            for (period, account, by) in &held {
                message.push_str(&format!(
                    "; {period} of {account}: the usage stays as import {by}, the month's amortized reading, has it \
                     (this file's usage is kept in the history)"
                ));
            }
            row.message = Some(message);
            if none_current {
                row.status = "superseded".into();
            }
            tx.update_import(row).await?;
            // What the allocation is owed, noted with the commit (cleared once done; see `follow_up`).
            let mut owed: BTreeSet<String> = other_periods.clone();
            owed.extend(parts.iter().map(|p| p.billing_period.clone()));
            tx.put_setting(&pending_key(row.id), &json(&owed), self.clock().now()).await?;
            crate::auth::audit(
                &mut tx,
                actor,
                self.clock().now(),
                "import",
                "cost-import",
                Some(row.id),
                None,
                Some(&serde_json::json!({
                    "file_name": row.file_name, "sha256": row.file_sha256, "rows": row.rows_ingested,
                    "rejected": row.rows_rejected, "replaced": replaced,
                })),
            )
            .await?;
            tx.commit().await?;
            Ok::<_, AppError>((replaced, other_periods))
        }
        .await;
        phases.commit_ms = ms(t);
        match outcome {
            // The periods it wrote, and those whose readings it restated (a corrected invoice dated in another
            // month restates that month too).
            Ok((replaced, mut periods)) => {
                periods.extend(parts.iter().map(|p| p.billing_period.clone()));
                Ok((replaced, periods))
            }
            Err(e) => {
                for m in moved {
                    let _ = std::fs::remove_file(m);
                }
                Err(e)
            }
        }
    }
}

/// The billing periods before and after `period` (`YYYY-MM`).
fn neighbour_periods(period: &str) -> Vec<String> {
    let Ok(first) = format!("{period}-01").parse::<jiff::civil::Date>() else { return Vec::new() };
    let month = |d: jiff::civil::Date| d.strftime("%Y-%m").to_string();
    let before = first.yesterday().ok().map(month);
    let after = first.last_of_month().tomorrow().ok().map(month);
    before.into_iter().chain(after).collect()
}

/// The settings key under which a committed import notes the periods whose allocation it still owes.
const PENDING_PREFIX: &str = "cost-import-pending:";

fn pending_key(import_id: i64) -> String {
    format!("{PENDING_PREFIX}{import_id}")
}

/// Why a file replacing invoice by invoice is refused, if it is: one of its (period, provider, account) is in the
/// ledger as a whole month, which an invoice cannot replace part of (which of its lines were the invoice's is not
/// known, so adding the invoice could count it twice).
async fn held_whole(
    s: &mut itemize_store::Session,
    keys: &BTreeSet<(String, String, String)>,
    vendors: &VendorIndex,
) -> Result<Option<String>, AppError> {
    for (period, provider, account) in keys {
        let whole =
            s.active_partitions_of(period, account).await?.into_iter().find(|p| {
                p.slice.is_empty() && (p.provider.is_empty() || vendors.same(&p.provider, provider))
            });
        if let Some(w) = whole {
            return Ok(Some(format!(
                "{period} of {account} ({provider}) is in the ledger as a whole month (import {}); an invoice \
                 cannot replace part of it. Import that month's complete file again with replaces = \"period\" in \
                 the mapping, then later files can replace invoice by invoice; nothing was imported",
                w.import_id
            )));
        }
    }
    Ok(None)
}

/// Why a cloud bill is refused as an older export of a month, if it is: a partition of it (`wholes`: its key and
/// latest charge) would restate a current partition whose charges run later — what `activate_partitions`
/// restates for a cloud bill: the current partitions of its period and account, of its provider or of none
/// named. Partitions from before charges were recorded are not compared.
async fn older_than_current(
    s: &mut itemize_store::Session,
    wholes: &[(PartKey, String)],
) -> Result<Option<String>, AppError> {
    for (key, until) in wholes {
        let newer = s
            .active_partitions_of(&key.period, &key.account)
            .await?
            .into_iter()
            .filter(|a| a.provider == key.provider || a.provider.is_empty())
            // A whole month is compared with all of the month; a reading of Azure usage with the readings it
            // restates (not with the commitment purchases, whose charges end when they were bought).
            .filter(|a| {
                key.slice.is_empty()
                    || a.slice == key.slice
                    || (a.slice != AZURE_COMMITMENTS
                        && azure_restates(&key.slice).contains(&a.slice.as_str()))
            })
            .find(|a| a.charges_until.as_deref().is_some_and(|theirs| theirs > until.as_str()));
        if let Some(n) = newer {
            return Ok(Some(format!(
                "{} of {} ({}): this file's charges end {until}, before those of the month's current import {} \
                 ({}); it looks like an older export of the month. Nothing was imported; to replace the newer data \
                 with it anyway, import it again with --replace-newer (API: replace_newer=true; the upload form: \
                 \"replace newer data\")",
                key.period,
                key.account,
                key.provider,
                n.import_id,
                n.charges_until.as_deref().unwrap_or_default(),
            )));
        }
    }
    Ok(None)
}

fn summary_message(row: &ImportRow, replaced: &[i64]) -> String {
    let mut m = format!("imported {} rows", row.rows_ingested);
    if row.rows_rejected > 0 {
        m.push_str(&format!("; {} invalid rows left out (see the quarantine file)", row.rows_rejected));
    }
    if !replaced.is_empty() {
        let ids: Vec<String> = replaced.iter().map(|i| i.to_string()).collect();
        m.push_str(&format!("; restates import {}", ids.join(", ")));
    }
    m
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn commitment_row(c: &ContractCommitment) -> CommitmentRow {
    CommitmentRow {
        line: c.line as i64,
        commitment_id: c.commitment_id.clone(),
        commitment_type: c.commitment_type.clone(),
        commitment_category: c.commitment_category.clone(),
        cost: c.cost.map(|d| d.to_string()),
        quantity: c.quantity.map(|d| d.to_string()),
        unit: c.unit.clone(),
        description: c.description.clone(),
        period_start: c.period_start.to_string(),
        period_end: c.period_end.to_string(),
        contract_id: c.contract_id.clone(),
        contract_period_start: c.contract_period_start.map(|t| t.to_string()),
        contract_period_end: c.contract_period_end.map(|t| t.to_string()),
        billing_currency: c.billing_currency.code().to_string(),
    }
}

/// The vendor register's names and aliases, matched case-insensitively.
#[derive(Debug, Default)]
struct VendorIndex {
    by_spelling: HashMap<String, usize>,
    /// Each vendor's id, as a number and as the text `x_VendorId` holds, and its name.
    vendors: Vec<(i64, String, String)>,
}

impl VendorIndex {
    fn new(vendors: Vec<(i64, String, Vec<String>)>) -> Self {
        let mut index = Self::default();
        for (id, name, aliases) in vendors {
            for spelling in std::iter::once(&name).chain(&aliases) {
                index.by_spelling.insert(spelling.trim().to_lowercase(), index.vendors.len());
            }
            index.vendors.push((id, id.to_string(), name));
        }
        index
    }

    fn find(&self, spelling: &str) -> Option<usize> {
        self.by_spelling.get(&spelling.trim().to_lowercase()).copied()
    }

    /// Whether two provider names the ledger holds are one vendor: the same name, or two spellings (names or
    /// aliases) of one vendor of the register.
    fn same(&self, a: &str, b: &str) -> bool {
        a == b || self.find(a).is_some_and(|v| self.find(b) == Some(v))
    }
}

/// For each of an invoice-by-invoice import's partitions, the other provider names under which the ledger holds
/// the same invoice of the same vendor: a vendor's earlier spelling that the register has since made one of its
/// aliases (or its name). The corrected invoice restates those readings too, instead of being counted beside
/// them.
async fn earlier_spellings(
    s: &mut itemize_store::Session,
    parts: &[PartitionRow],
    vendors: &VendorIndex,
) -> Result<Vec<Restates>, AppError> {
    // A period's current partitions, read once for all the parts of that period and account.
    let mut current: HashMap<(String, String), Vec<PartitionRow>> = HashMap::new();
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        // An invoice's earlier readings in its month and the months either side (a corrected invoice may be
        // re-dated a few days later, over a month's end; an invoice number seen again months later is another
        // invoice, as with numbers that restart each year); the lines without an invoice number only in their
        // own month.
        let periods: Vec<String> = if !p.slice.is_empty() && p.slice != NO_INVOICE {
            neighbour_periods(&p.billing_period)
        } else {
            Vec::new()
        };
        let readings = if periods.is_empty() {
            let key = (p.billing_period.clone(), p.billing_account_id.clone());
            if !current.contains_key(&key) {
                let active = s.active_partitions_of(&p.billing_period, &p.billing_account_id).await?;
                current.insert(key.clone(), active);
            }
            current[&key].clone()
        } else {
            s.active_partitions_of_slice(&p.billing_account_id, &p.slice)
                .await?
                .into_iter()
                .filter(|c| c.billing_period == p.billing_period || periods.contains(&c.billing_period))
                .collect()
        };
        let mut names: Vec<String> = readings
            .iter()
            .filter(|c| c.slice == p.slice && !p.slice.is_empty())
            .filter(|c| !c.provider.is_empty() && c.provider != p.provider)
            .filter(|c| vendors.same(&c.provider, &p.provider))
            .map(|c| c.provider.clone())
            .collect();
        names.sort_unstable();
        names.dedup();
        out.push(Restates { providers: names, slices: Vec::new(), periods });
    }
    Ok(out)
}

/// An import's view of the vendor index: the spellings it met lately and what they resolved to, so a file that
/// names the same few publishers and providers line after line lowers and hashes each spelling once.
struct VendorLookup<'a> {
    index: &'a VendorIndex,
    seen: Vec<(String, Option<usize>)>,
}

impl<'a> VendorLookup<'a> {
    /// The spellings remembered; past it the oldest is forgotten.
    const SEEN: usize = 16;

    fn new(index: &'a VendorIndex) -> Self {
        Self { index, seen: Vec::new() }
    }

    fn find(&mut self, spelling: Option<&str>) -> Option<usize> {
        let spelling = spelling?;
        if let Some((_, v)) = self.seen.iter().find(|(s, _)| s == spelling) {
            return *v;
        }
        let v = self.index.find(spelling);
        if self.seen.len() == Self::SEEN {
            self.seen.remove(0);
        }
        self.seen.push((spelling.to_string(), v));
        v
    }

    /// Links a line to its vendor (`x_VendorId`), by publisher, then provider. A generic spend file's vendor
    /// spellings are replaced by the register's name (its aliases resolve to the vendor); a cloud bill keeps the
    /// provider's own names, as FOCUS wants them.
    fn resolve(&mut self, r: &mut FocusRecord, rename: bool) {
        if self.index.vendors.is_empty() {
            return;
        }
        let Some(v) =
            self.find(r.publisher_name.as_deref()).or_else(|| self.find(r.provider_name.as_deref()))
        else {
            return;
        };
        let index = self.index;
        let (_, id_text, name) = &index.vendors[v];
        r.other.insert_str("x_VendorId", id_text);
        if rename {
            for field in [&mut r.publisher_name, &mut r.provider_name, &mut r.invoice_issuer_name] {
                if field.as_deref().is_some_and(|s| self.find(Some(s)) == Some(v)) {
                    *field = Some(name.clone());
                }
            }
        }
    }
}

/// Checks FOCUS asks of every line beyond what the readers parse.
fn check(r: &FocusRecord) -> Result<(), RowError> {
    if r.billing_period_end <= r.billing_period_start {
        return Err(RowError::new(
            r.line,
            Some("BillingPeriodEnd"),
            Some(&r.billing_period_end.to_string()),
            "is not after BillingPeriodStart",
        ));
    }
    if r.charge_period_end < r.charge_period_start {
        return Err(RowError::new(
            r.line,
            Some("ChargePeriodEnd"),
            Some(&r.charge_period_end.to_string()),
            "is before ChargePeriodStart",
        ));
    }
    if r.billing_account_id.trim().is_empty() {
        return Err(RowError::new(r.line, Some("BillingAccountId"), Some(""), "is required"));
    }
    Ok(())
}

/// Reads the whole file, writing good rows into staged partitions (unless a strict import has already seen a
/// bad row, after which it only counts errors).
#[allow(clippy::too_many_arguments)]
fn process(
    paths: &[PathBuf],
    part_names: &[String],
    format: Option<Format>,
    mapping: Option<&Mapping>,
    sha: &str,
    lenient: bool,
    rates: &RateTable,
    vendors: &VendorIndex,
    reporting: Currency,
    staging: &Path,
    progress: &Progress,
) -> Result<Processed, OpenError> {
    let first = paths.first().ok_or_else(|| std::io::Error::other("no file to import"))?;
    let src = source::open(first, format, mapping, progress.bytes.clone())?;
    std::fs::create_dir_all(staging)?;
    let mut out = Processed {
        format: src.format,
        version: src.version.clone(),
        container: src.container.name(),
        rows_read: 0,
        rows_ok: 0,
        report: ErrorReport::default(),
        rejected_lines: BTreeSet::new(),
        staged: Vec::new(),
        totals: ImportTotals { reporting_currency: reporting.code().to_string(), ..Default::default() },
        commitments: Vec::new(),
        by_invoice: false,
        notes: src.notes.clone(),
    };
    let slice_by = match (src.format, mapping) {
        (Format::Generic, Some(m)) => match m.replaces() {
            Replaces::Period => SliceBy::Period,
            Replaces::Invoice => SliceBy::Invoice,
            Replaces::Nothing => SliceBy::File(sha.to_string()),
        },
        (Format::Azure, _) => SliceBy::Azure,
        _ => SliceBy::Period,
    };
    out.by_invoice = matches!(slice_by, SliceBy::Invoice);
    // Whether an Azure file is the amortized reading of its month.
    let mut amortized = false;
    let default_provider = match src.format {
        Format::AwsCur => "AWS",
        Format::Azure => "Microsoft",
        Format::Gcp | Format::GcpJson => "Google Cloud",
        _ => "",
    };
    let mut stream = match src.stream {
        Stream::Contracts(it) => {
            for r in it {
                out.rows_read += 1;
                progress.rows.fetch_add(1, Ordering::Relaxed);
                match r {
                    Ok(c) => {
                        out.rows_ok += 1;
                        out.commitments.push(c);
                    }
                    Err(e) => {
                        out.rejected_lines.insert((0, e.row));
                        out.report.push(&e);
                    }
                }
            }
            if paths.len() > 1 {
                return Err(OpenError::Row(RowError::new(
                    1,
                    None,
                    None,
                    "a contract-commitment dataset is imported one file at a time, not in parts",
                )));
            }
            return Ok(out);
        }
        Stream::Cost(it) => it,
    };
    // The part being read (0 for the first file) and its name in the report.
    let mut part = 0usize;
    let name_of = |part: usize| part_names.get(part).map(String::as_str);
    let mut index: HashMap<PartKey, usize> = HashMap::new();
    let mut conv_cache: HashMap<(Currency, i64), Result<Conversion, String>> = HashMap::new();
    // What the row before used, for rows that repeat it (most do): its conversion and its partition.
    let mut last_conv: Option<(Currency, i64, Conversion)> = None;
    let mut last_part: Option<(Timestamp, usize)> = None;
    // Sums by partition, currency and invoice; by period, by invoice and by partition once the file is read.
    let mut sums: Vec<Sums> = Vec::new();
    // Where each invoice's sums are (a file may hold an invoice a line).
    let mut sums_of_invoice: HashMap<String, Vec<usize>> = HashMap::new();
    let mut last_sums: Option<usize> = None;
    let mut writing = true;
    let mut vendors = VendorLookup::new(vendors);
    let mut rec = FocusRecord::blank(0, reporting);
    loop {
        let Some(r) = stream.next_into(&mut rec) else {
            // The end of a part: on to the next, which must be the same export (the same format and version).
            part += 1;
            let Some(next) = paths.get(part) else { break };
            // Read as the first part was (its format forced), and named in what goes wrong.
            let name = name_of(part).unwrap_or_default();
            let in_part = |mut re: RowError| {
                re.reason = format!("{name}: {}", re.reason);
                OpenError::Row(re)
            };
            let src_next = source::open(next, format.or(Some(out.format)), mapping, progress.bytes.clone())
                .map_err(|e| match e {
                OpenError::Row(re) => in_part(re),
                OpenError::Io(io) => OpenError::Io(std::io::Error::other(format!("{name}: {io}"))),
                other => other,
            })?;
            if src_next.version != out.version {
                return Err(in_part(RowError::new(
                    1,
                    None,
                    src_next.version.as_deref(),
                    format!(
                        "is {} {}, the first part {} {}: the parts of one export share a format",
                        src_next.format.name(),
                        src_next.version.as_deref().unwrap_or(""),
                        out.format.name(),
                        out.version.as_deref().unwrap_or("")
                    ),
                )));
            }
            stream = match src_next.stream {
                Stream::Cost(it) => it,
                Stream::Contracts(_) => {
                    return Err(in_part(RowError::new(
                        1,
                        None,
                        None,
                        "is a contract-commitment dataset, not cost and usage",
                    )));
                }
            };
            for n in src_next.notes {
                let n = format!("{name}: {n}");
                if !out.notes.contains(&n) {
                    out.notes.push(n);
                }
            }
            last_part = None;
            last_sums = None;
            continue;
        };
        out.rows_read += 1;
        if out.rows_read.is_multiple_of(4096) {
            progress.rows.store(out.rows_read, Ordering::Relaxed);
        }
        if let Err(e) = r.and_then(|()| check(&rec)) {
            out.rejected_lines.insert((part, e.row));
            out.report.push_in(&e, name_of(part));
            if !lenient {
                writing = false;
            }
            continue;
        }
        vendors.resolve(&mut rec, src.format == Format::Generic);
        let day = rec.charge_period_start.as_second().div_euclid(86_400);
        let conv = match &last_conv {
            Some((c, d, conv)) if *c == rec.billing_currency && *d == day => Ok(conv.clone()),
            _ => conv_cache
                .entry((rec.billing_currency, day))
                .or_insert_with(|| {
                    let date = rec.charge_period_start.to_zoned(jiff::tz::TimeZone::UTC).date();
                    rates.rate(rec.billing_currency, reporting, date).map(|(rate, d)| Conversion {
                        reporting_currency: reporting,
                        rate,
                        rate_date: if rec.billing_currency == reporting { None } else { Some(d) },
                    })
                })
                .clone(),
        };
        let conv = match conv {
            Ok(c) => c,
            Err(why) => {
                let e =
                    RowError::new(rec.line, Some("BillingCurrency"), Some(rec.billing_currency.code()), why);
                out.rejected_lines.insert((part, e.row));
                out.report.push_in(&e, name_of(part));
                if !lenient {
                    writing = false;
                }
                continue;
            }
        };
        last_conv = Some((rec.billing_currency, day, conv.clone()));
        out.rows_ok += 1;
        if !writing {
            // A strict import that met a bad row is rejected whole: the rest is only read for its errors.
            continue;
        }
        let provider = rec.provider_name.as_deref().unwrap_or(default_provider);
        let slice = slice_by.of(&rec);
        if matches!(slice_by, SliceBy::Azure) && !amortized {
            amortized = azure_amortized_usage(&rec);
        }
        let i = match last_part {
            Some((bps, i))
                if bps == rec.billing_period_start
                    && out.staged[i].key.provider == provider
                    && out.staged[i].key.account == rec.billing_account_id
                    && out.staged[i].key.slice == slice =>
            {
                i
            }
            _ => {
                let key = PartKey {
                    period: period_of(rec.billing_period_start),
                    provider: provider.to_string(),
                    account: rec.billing_account_id.clone(),
                    slice: slice.to_string(),
                };
                match index.get(&key) {
                    Some(i) => *i,
                    None => {
                        if out.by_invoice && out.staged.len() >= MAX_INVOICE_SLICES {
                            return Err(OpenError::Row(RowError::new(
                                rec.line,
                                None,
                                rec.invoice_id.as_deref(),
                                format!(
                                    "the file holds more than {MAX_INVOICE_SLICES} invoices (counting an invoice once \
                                     a month); a source that replaces invoice by invoice keeps a lake file for each, \
                                     so files of this size (an accounts-payable extract, say) need replaces = \
                                     \"period\" or \"nothing\" in the mapping"
                                ),
                            )));
                        }
                        let path = staging.join(format!("part-{}.parquet", out.staged.len()));
                        let writer =
                            LakeWriter::create(&path).map_err(|e| std::io::Error::other(e.to_string()))?;
                        out.staged.push(Staged {
                            key: key.clone(),
                            path,
                            writer: Some(writer),
                            rows: 0,
                            totals: BTreeMap::new(),
                            services: Some(BTreeSet::new()),
                            tag_keys: Some(BTreeSet::new()),
                            charges_until: None,
                        });
                        index.insert(key, out.staged.len() - 1);
                        out.staged.len() - 1
                    }
                }
            }
        };
        last_part = Some((rec.billing_period_start, i));
        let invoice = rec.invoice_id.as_deref().unwrap_or("");
        let is_it = |s: &Sums| s.part == i && s.currency == rec.billing_currency && s.invoice == invoice;
        let k = match last_sums.filter(|&k| is_it(&sums[k])) {
            Some(k) => k,
            None => match sums_of_invoice
                .get(invoice)
                .and_then(|ks| ks.iter().copied().find(|&k| is_it(&sums[k])))
            {
                Some(k) => k,
                None => {
                    sums.push(Sums {
                        part: i,
                        currency: rec.billing_currency,
                        invoice: invoice.to_string(),
                        totals: Totals::default(),
                    });
                    sums_of_invoice.entry(invoice.to_string()).or_default().push(sums.len() - 1);
                    sums.len() - 1
                }
            },
        };
        last_sums = Some(k);
        sums[k].totals.add(&rec, &conv);
        let s = &mut out.staged[i];
        if let Some(w) = s.writer.as_mut() {
            w.push(&rec, &conv).map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        s.rows += 1;
        if s.charges_until.is_none_or(|t| rec.charge_period_end > t) {
            s.charges_until = Some(rec.charge_period_end);
        }
        if let Some(svc) = &rec.service_name {
            list_value(&mut s.services, svc);
        }
        for k in rec.tags.keys() {
            list_value(&mut s.tag_keys, k);
        }
    }
    for s in sums {
        let ccy = s.currency.code();
        let part = &mut out.staged[s.part];
        let by_period = out.totals.by_period.entry(part.key.period.clone()).or_default();
        by_period.entry(ccy.to_string()).or_default().merge(&s.totals);
        let by_invoice = out.totals.by_invoice.entry(s.invoice).or_default();
        by_invoice.entry(ccy.to_string()).or_default().merge(&s.totals);
        part.totals.entry(ccy.to_string()).or_default().merge(&s.totals);
    }
    progress.rows.store(out.rows_read, Ordering::Relaxed);
    for s in &mut out.staged {
        if let Some(w) = s.writer.take() {
            w.finish().map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        if s.key.slice == AZURE_USAGE {
            s.key.slice = if amortized { AZURE_AMORTIZED } else { AZURE_ACTUAL }.to_string();
        }
    }
    Ok(out)
}

/// The rejected rows of a text source as they were in the file, each with what was wrong; for other
/// containers, the errors alone.
fn write_quarantine(
    srcs: &[PathBuf],
    part_names: &[String],
    mapping: Option<&Mapping>,
    lines: &BTreeSet<(usize, u64)>,
    errors: &[ReportedError],
    out: &Path,
) -> std::io::Result<()> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A row with more or fewer cells than the header (one reason to reject it) is written as it was.
    let mut w = csv::WriterBuilder::new().flexible(true).from_path(out)?;
    let part_of =
        |e: &ReportedError| e.file.as_ref().and_then(|f| part_names.iter().position(|n| n == f)).unwrap_or(0);
    let first_error: HashMap<(usize, u64), &ReportedError> =
        errors.iter().rev().map(|e| ((part_of(e), e.row), e)).collect();
    // Each rejected row as it was in its file (whatever its container), after its row number and what was wrong
    // with it (the first error the report names for it; the report holds the first 100 in full); with the file's
    // name first when the export came in parts. The header is the first part's (the parts share it).
    let mut header_written = false;
    for (part, src) in srcs.iter().enumerate() {
        let mut left = lines.iter().filter(|(p, _)| *p == part).count();
        if left == 0 && header_written {
            continue;
        }
        let raw = source::raw_rows(src, mapping)?;
        if !header_written {
            let mut h: Vec<String> = Vec::new();
            if !part_names.is_empty() {
                h.push("_file".into());
            }
            h.extend(["_row".into(), "_column".into(), "_reason".into()]);
            h.extend(raw.header);
            w.write_record(&h)?;
            header_written = true;
        }
        for row in raw.rows {
            if left == 0 {
                break;
            }
            // A row the reader could not split either was reported by number; it is written from what is left.
            let Ok((line, cells)) = row else { continue };
            if lines.contains(&(part, line)) {
                left -= 1;
                let e = first_error.get(&(part, line));
                let mut out: Vec<String> = Vec::new();
                if let Some(name) = part_names.get(part) {
                    out.push(name.clone());
                }
                out.extend([
                    line.to_string(),
                    e.and_then(|e| e.column.clone()).unwrap_or_default(),
                    e.map(|e| e.reason.clone()).unwrap_or_else(|| "invalid (see the report)".into()),
                ]);
                out.extend(cells);
                w.write_record(&out)?;
            }
        }
    }
    w.flush()
}

/// The SHA-256 an import records: its file's, or for an export in parts one over the parts' (in any order, so
/// the same parts given in another order are the same import).
fn set_sha(parts: &[(String, u64)]) -> String {
    if let [(one, _)] = parts {
        return one.clone();
    }
    let mut shas: Vec<&str> = parts.iter().map(|(h, _)| h.as_str()).collect();
    shas.sort_unstable();
    let mut h = Sha256::new();
    h.update(b"itemize export in parts\n");
    for sha in shas {
        h.update(sha.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_count_by_reason_whatever_the_day() {
        let mut r = ErrorReport::default();
        for (line, day) in [(2, "2026-05-01"), (3, "2026-05-02"), (4, "2026-05-03")] {
            r.push(&RowError::new(
                line,
                Some("BillingCurrency"),
                Some("EUR"),
                format!(
                    "no exchange rate from EUR to USD on or within 7 days before {day}; import rates first"
                ),
            ));
        }
        r.push(&RowError::new(5, Some("BilledCost"), Some("x"), "is not a decimal"));
        let counts: Vec<(&str, u64)> = r.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            counts,
            [
                ("BilledCost: is not a decimal", 1),
                (
                    "BillingCurrency: no exchange rate from EUR to USD on or within 7 days before YYYY-MM-DD; import rates first",
                    3
                )
            ]
        );
        assert!(r.errors[1].reason.contains("2026-05-02"), "the errors in full keep their dates");
        assert_eq!(without_dates("12026-05-011 Zürich 2026-05-01"), "12026-05-011 Zürich YYYY-MM-DD");
    }

    #[test]
    fn vendor_lookup_answers_as_the_index_does_past_the_spellings_it_remembers() {
        let index = VendorIndex::new(vec![
            (7, "Amazon Web Services".into(), vec!["AWS".into(), "amazon".into()]),
            (9, "Cisco".into(), vec!["Cisco Systems, Inc.".into()]),
        ]);
        let mut lookup = VendorLookup::new(&index);
        // More spellings than it remembers, twice over, each asked twice in a row: answers never change.
        let spellings: Vec<String> = (0..2 * VendorLookup::SEEN)
            .map(|i| match i % 4 {
                0 => format!("{}aws ", " ".repeat(i)),
                1 => "CISCO SYSTEMS, INC.".to_string(),
                2 => format!("Unknown {i}"),
                _ => "Amazon".to_string(),
            })
            .collect();
        for _ in 0..2 {
            for s in &spellings {
                let want = index.find(s).map(|v| index.vendors[v].0);
                for _ in 0..2 {
                    assert_eq!(lookup.find(Some(s)).map(|v| index.vendors[v].0), want, "{s:?}");
                }
            }
        }
        assert_eq!(lookup.seen.len(), VendorLookup::SEEN);
        assert_eq!(lookup.find(Some(" aws")).map(|v| index.vendors[v].0), Some(7));
        assert_eq!(lookup.find(Some("Cisco")).map(|v| index.vendors[v].0), Some(9));
        assert_eq!(lookup.find(Some("Unknown 2")), None);
        assert_eq!(lookup.find(None), None);

        // A generic file's alias becomes the register's name; the line is linked by the vendor's id.
        let mut r = FocusRecord::blank(1, Currency::USD);
        r.provider_name = Some("cisco systems, inc.".into());
        lookup.resolve(&mut r, true);
        assert_eq!(r.provider_name.as_deref(), Some("Cisco"));
        assert_eq!(r.other.get("x_VendorId").map(String::as_str), Some("9"));
    }

    #[test]
    fn progress_is_the_share_of_the_file_read() {
        let p = Progress::default();
        p.bytes.store(250, Ordering::Relaxed);
        p.rows.store(7, Ordering::Relaxed);
        let v = progress_view(&p, 1000);
        assert_eq!((v.bytes_read, v.bytes_total, v.rows_read, v.percent.as_str()), (250, 1000, 7, "25.0"));
        p.bytes.store(5000, Ordering::Relaxed); // a gzip file reads more than its size on disk
        assert_eq!(progress_view(&p, 1000).percent, "100.0");
        assert_eq!(progress_view(&p, 0).percent, "0.0");
    }
}
