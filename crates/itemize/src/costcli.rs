//! The cost ledger's commands: `import cost`, `import rates`, `export focus`.

use crate::cli::{OutputFormat, operator};
use anyhow::{Context, bail};
use itemize_app::App;
use itemize_app::cost::{ImportOptions, ImportSummary, Progress};
use itemize_app::focus_export::ExportFormat;
use itemize_ingest::generic::Mapping;
use itemize_ingest::source::Format;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}

fn clock_text(secs: u64) -> String {
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Draws a one-line progress bar on standard error (when it is a terminal) until `done` is set.
fn progress_bar(
    name: String,
    total: u64,
    progress: Arc<Progress>,
    done: Arc<std::sync::atomic::AtomicBool>,
) -> Option<std::thread::JoinHandle<()>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    Some(std::thread::spawn(move || {
        #[allow(clippy::disallowed_methods)] // progress display only: wall-clock time is the point
        let start = std::time::Instant::now();
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(std::time::Duration::from_millis(200));
            let bytes = progress.bytes.load(Ordering::Relaxed).min(total);
            let rows = progress.rows.load(Ordering::Relaxed);
            let secs = start.elapsed().as_secs_f64().max(0.001);
            let frac = if total == 0 { 1.0 } else { bytes as f64 / total as f64 };
            let width = 30;
            let filled = ((frac * width as f64) as usize).min(width);
            let eta = if frac > 0.0 { (secs / frac - secs).max(0.0) as u64 } else { 0 };
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r{name} [{}{}] {} / {}  {:.0} rows/s  ETA {}   ",
                "#".repeat(filled),
                " ".repeat(width - filled),
                human_bytes(bytes),
                human_bytes(total),
                rows as f64 / secs,
                clock_text(eta)
            );
            let _ = err.flush();
        }
        let _ = writeln!(std::io::stderr());
    }))
}

/// How `import cost` reads its files.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    pub lenient: bool,
    pub replace_newer: bool,
    /// The files are the parts of one export, imported as one.
    pub parts: bool,
}

pub async fn import_cost(
    app: &App,
    files: &[PathBuf],
    format: Option<&str>,
    mapping: Option<&Path>,
    reading: Reading,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let Reading { lenient, replace_newer, parts } = reading;
    let format = match format {
        None => None,
        Some(f) => Some(
            Format::from_name(f)
                .with_context(|| format!("unknown format {f:?}; the formats are {}", Format::names()))?,
        ),
    };
    let mapping = match mapping {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Some(Mapping::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?)
        }
    };
    let mut ok = true;
    let mut summaries = Vec::new();
    // One import a file, or one import of all of them when they are the parts of one export.
    let imports: Vec<&[PathBuf]> = if parts { vec![files] } else { files.chunks(1).collect() };
    for set in imports {
        let Some((file, more)) = set.split_first() else { continue };
        let mut total = 0;
        for f in set {
            total += std::fs::metadata(f).with_context(|| format!("reading {}", f.display()))?.len();
        }
        let progress = Arc::new(Progress::default());
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !more.is_empty() {
            name = format!("{name} and {} more part{}", more.len(), if more.len() == 1 { "" } else { "s" });
        }
        let bar = progress_bar(name.clone(), total, progress.clone(), done.clone());
        let opts = ImportOptions {
            format,
            mapping: mapping.clone(),
            lenient,
            file_name: (!more.is_empty()).then(|| name.clone()),
            owned: false,
            replace_newer,
            parts: more.to_vec(),
            ..Default::default()
        };
        let result = app.import_cost_file(&operator(), file, opts, progress).await;
        done.store(true, Ordering::Relaxed);
        if let Some(b) = bar {
            let _ = b.join();
        }
        let summary = result?;
        ok &= summary.is_ok();
        if output == OutputFormat::Text {
            let shown = if more.is_empty() { file.display().to_string() } else { name };
            print_summary(&shown, &summary);
        }
        summaries.push(summary);
    }
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&summaries)?);
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_summary(file: &str, s: &ImportSummary) {
    let mut out = std::io::stdout().lock();
    let what = match (&s.format, &s.format_version) {
        (Some(f), Some(v)) => format!("{f} {v}"),
        (Some(f), None) => f.clone(),
        _ => "unrecognised".into(),
    };
    let _ = writeln!(
        out,
        "{file}: {} — import {} ({what}); {} rows read, {} imported, {} rejected{}",
        s.status,
        s.id,
        s.rows_read,
        s.rows_ingested,
        s.rows_rejected,
        s.duration_ms.map(|ms| format!(" in {:.1} s", ms as f64 / 1000.0)).unwrap_or_default()
    );
    if let Some(m) = &s.message {
        let _ = writeln!(out, "  {m}");
    }
    if let Some(t) = &s.totals
        && matches!(s.status.as_str(), "active" | "superseded")
    {
        let _ = writeln!(
            out,
            "  {:<8} {:<4} {:>9} {:>20} {:>20} {:>20}",
            "period",
            "ccy",
            "lines",
            "billed",
            "effective",
            format!("billed in {}", t.reporting_currency)
        );
        for (period, by_ccy) in &t.by_period {
            for (ccy, x) in by_ccy {
                let _ = writeln!(
                    out,
                    "  {period:<8} {ccy:<4} {:>9} {:>20} {:>20} {:>20}",
                    x.rows,
                    x.billed_cost.round_dp(2),
                    x.effective_cost.round_dp(2),
                    x.billed_cost_reporting.round_dp(2)
                );
            }
        }
        if t.rows_left_out > 0 {
            let _ = writeln!(out, "  left out: {} rows (lenient mode)", t.rows_left_out);
        }
    }
    if let Some(r) = &s.report
        && r.total > 0
    {
        for e in &r.errors {
            let _ = writeln!(
                out,
                "  {}row {}{}{}: {}",
                e.file.as_ref().map(|f| format!("{f}, ")).unwrap_or_default(),
                e.row,
                e.column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default(),
                e.value.as_ref().map(|v| format!(", value {v:?}")).unwrap_or_default(),
                e.reason
            );
        }
        if r.total as usize > r.errors.len() {
            let _ = writeln!(out, "  … {} errors in all:", r.total);
            for (reason, n) in &r.counts {
                let _ = writeln!(out, "    {n:>8} × {reason}");
            }
        }
        if let Some(q) = &r.quarantine {
            let _ = writeln!(out, "  rejected rows written to {q}");
        }
    }
}

pub async fn import_rates(app: &App, files: &[PathBuf], output: OutputFormat) -> anyhow::Result<ExitCode> {
    for file in files {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match app.import_rates(&operator(), &text, &name).await {
            Ok(r) => {
                if output == OutputFormat::Json {
                    println!("{}", serde_json::to_string_pretty(&r)?);
                } else {
                    println!(
                        "{}: {} rates ({} layout) from {} to {} for {}",
                        file.display(),
                        r.rows,
                        r.layout,
                        r.first_date,
                        r.last_date,
                        r.pairs.join(", ")
                    );
                    if !r.replaced.is_empty() {
                        println!("  {} rate(s) held before now have another value:", r.replaced.len());
                        for x in r.replaced.iter().take(20) {
                            println!("    {x}");
                        }
                        if r.replaced.len() > 20 {
                            println!("    … and {} more (all in the audit log)", r.replaced.len() - 20);
                        }
                    }
                }
            }
            Err(itemize_app::AppError::Validation(errs)) => {
                eprintln!("{}: nothing was imported:", file.display());
                for e in errs {
                    eprintln!("  {}: {}", e.field, e.problem);
                }
                return Ok(ExitCode::FAILURE);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn export_focus(
    app: &App,
    period: Option<&str>,
    format: &str,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let Some(period) = period else { bail!("give the billing period with --period YYYY-MM") };
    let format = match format {
        "csv" => ExportFormat::Csv,
        "parquet" => ExportFormat::Parquet,
        other => bail!("unknown export format {other:?}; use csv or parquet"),
    };
    let n = match out {
        Some(path) => app.export_focus_file(&operator(), period, format, path).await?,
        None => {
            if format == ExportFormat::Parquet {
                bail!("Parquet needs a file: give --out FILE");
            }
            let tmp = std::env::temp_dir().join(format!("itemize-focus-{}.csv", std::process::id()));
            let n = app.export_focus_file(&operator(), period, format, &tmp).await?;
            let mut f = std::fs::File::open(&tmp)?;
            std::io::copy(&mut f, &mut std::io::stdout().lock())?;
            let _ = std::fs::remove_file(&tmp);
            n
        }
    };
    if let Some(path) = out {
        eprintln!("wrote {n} FOCUS 1.2 rows for {period} to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
