//! The command line: raw flags (clap) are resolved into [`Settings`] first, then one command runs.

use crate::config::{Layer, Settings};
use crate::wiring::{self, SystemClock};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use itemize_app::Actor;
use itemize_app::auth::{NewUser, UserPatch};
use itemize_app::csvio::ImportReport;
use itemize_app::demo::{DEMO_PASSWORD, DemoOutcome};
use itemize_core::Clock;
use itemize_core::refdata::Kind;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// itemize: see, govern and optimize every IT cost and every IT asset.
///
/// Start with `itemize demo`: it builds a realistic demo organisation and serves it.
/// Data lives in the data directory (SQLite) unless --database-url points at PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "itemize", version, about, long_about)]
pub struct Cli {
    /// Configuration file (default: ./itemize.toml when it exists).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Where itemize keeps its files and, by default, its SQLite database [default: ./itemize-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database to use: sqlite://PATH or postgres://USER@HOST/DB [default: SQLite in the data directory].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web interface and the API.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Build a realistic demo organisation in the data directory, load it and serve it.
    Demo {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Seed of the generator: the same seed gives the same organisation.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The demo's "today" (YYYY-MM-DD) [default: today].
        #[arg(long, value_name = "DATE")]
        as_of: Option<jiff::civil::Date>,
        /// Load the demo and stop, without serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// The asset register: list, search, import (itemize or Snipe-IT), export, labels, lifecycle, check-out
    /// and check-in, history, impact, renewals, refresh plan, governance, depreciation into the ledger, audits.
    Assets {
        #[command(subcommand)]
        action: crate::assetcli::AssetsAction,
    },
    /// Database schema: apply migrations or show where the database stands.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// Import files: cost and usage files into the cost ledger, exchange rates, or reference data (CSV).
    ///
    /// `itemize import cost FILE...` reads FOCUS 1.0-1.3 (CSV, gzip, Parquet), AWS CUR (legacy and 2.0), Azure
    /// cost details, GCP billing exports (CSV or JSON lines) and, with --mapping, any other spend file (CSV or
    /// XLSX). `itemize import rates FILE` reads date,from,to,rate or the ECB reference-rate CSV.
    Import {
        /// What the files hold.
        what: ImportWhat,
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Reference data: check everything and report what would change, but write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Cost files: read as this format instead of telling it from the header (focus, focus-contract,
        /// aws-cur, azure, gcp, gcp-jsonl, generic).
        #[arg(long, value_name = "FORMAT")]
        format: Option<String>,
        /// Cost files: the TOML mapping generic spend files are read through.
        #[arg(long, value_name = "TOML")]
        mapping: Option<PathBuf>,
        /// Cost files: ingest the good rows and quarantine the bad ones instead of rejecting the file.
        #[arg(long)]
        lenient: bool,
        /// Cost files: replace a month whose current import has charges later than the file's (refused
        /// otherwise, as an older export of the month).
        #[arg(long)]
        replace_newer: bool,
        /// Cost files: the files are the parts of one export (a Cost and Usage Report or a partitioned export
        /// written in several files), imported as one: together they make up the months they hold, instead of
        /// each replacing the one before.
        #[arg(long)]
        parts: bool,
        /// Report format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Allocate billing periods of the cost ledger to cost centres and services with the rule set in force
    /// for each, rebuilding each period's cost cube.
    Allocate {
        /// One billing period, YYYY-MM.
        #[arg(long, value_name = "YYYY-MM", conflicts_with_all = ["from", "to"])]
        period: Option<String>,
        /// The first period of a range.
        #[arg(long, value_name = "YYYY-MM", requires = "to")]
        from: Option<String>,
        /// The last period of a range.
        #[arg(long, value_name = "YYYY-MM", requires = "from")]
        to: Option<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Close an allocated billing period for chargeback: it is locked and its journal becomes final.
    Close {
        #[arg(long, value_name = "YYYY-MM")]
        period: String,
    },
    /// Allocation rule sets (TOML): without a verb, list the versions; `validate FILE`, `apply FILE`,
    /// `preview FILE --period YYYY-MM`.
    Rules {
        #[arg(value_enum)]
        verb: Option<crate::alloccli::RulesVerb>,
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
        /// Preview: the period to compare.
        #[arg(long, value_name = "YYYY-MM")]
        period: Option<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Reports: `itemize report showback --period YYYY-MM --by cost-center|service`, `itemize report hygiene
    /// --from YYYY-MM --period YYYY-MM`.
    Report {
        #[arg(value_enum)]
        what: ReportWhat,
        #[arg(long, value_name = "YYYY-MM")]
        period: String,
        /// Hygiene: the first period of the range (the period alone when absent).
        #[arg(long, value_name = "YYYY-MM")]
        from: Option<String>,
        /// cost-center or service.
        #[arg(long, default_value = "cost-center")]
        by: String,
        /// effective (amortized, the default) or billed.
        #[arg(long, default_value = "effective")]
        measure: String,
        #[arg(long, value_enum, default_value_t = crate::alloccli::ReportFormat::Table)]
        format: crate::alloccli::ReportFormat,
        /// Write to this file (required for xlsx).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Manage users: add, list, disable, enable, reset-password.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage API tokens: create, list, revoke.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Export reference data as CSV (the format `import` reads), or a billing period of the cost ledger as
    /// FOCUS 1.2 (`itemize export focus --period 2026-05 --out may.csv`).
    Export {
        what: ExportWhat,
        /// Write to this file instead of standard output (required for Parquet).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Reference data: include archived records.
        #[arg(long)]
        include_archived: bool,
        /// FOCUS: the billing period, YYYY-MM.
        #[arg(long, value_name = "YYYY-MM")]
        period: Option<String>,
        /// FOCUS: csv or parquet.
        #[arg(long, value_name = "FORMAT", default_value = "csv")]
        format: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create a user. The password is read from standard input, never from the command line.
    Add {
        username: String,
        /// admin, finance, asset-manager or viewer.
        #[arg(long)]
        role: String,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, value_name = "NAME")]
        display_name: Option<String>,
        /// Limit the user to this cost centre and those below it (repeatable; by code).
        #[arg(long = "cost-centre", value_name = "CODE")]
        cost_centres: Vec<String>,
    },
    /// List users.
    List,
    /// Disable a user: they can no longer sign in, and their sessions end.
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
    /// Set a new password (read from standard input); the user's sessions end.
    ResetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create an API token for a user and print it (it is shown this once).
    Create {
        #[arg(long)]
        user: String,
        /// What the token is for.
        #[arg(long, default_value = "cli")]
        name: String,
        /// The token can read but never change anything.
        #[arg(long)]
        read_only: bool,
        /// Lifetime, such as 30d or 12h [default: 90d].
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
    /// List tokens (never the tokens themselves).
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by id (a running server refuses it within seconds).
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Apply pending migrations.
    Migrate,
    /// Show the schema version and pending migrations.
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportWhat {
    /// A monthly statement per cost centre or service, with the change from the month before.
    Showback,
    /// Tag coverage per key and account, untagged and unallocated share per month, the dearest untagged
    /// resources.
    Hygiene,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportWhat {
    /// Cost and usage files, into the cost ledger.
    Cost,
    /// Exchange rates.
    Rates,
    /// Allocation driver metrics: period,metric,target,value.
    Metrics,
    CostCentres,
    Services,
    People,
    Locations,
    Vendors,
    /// A Snipe-IT export (files or a directory of them): locations, users and assets, in that order, in one
    /// transaction (all of it lands or none does).
    SnipeIt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportWhat {
    /// A billing period of the cost ledger, as FOCUS 1.2.
    Focus,
    /// A closed period's chargeback journal (balanced double-entry lines) as CSV.
    Journal,
    CostCentres,
    Services,
    People,
    Locations,
    Vendors,
}

fn kind_of_import(w: ImportWhat) -> Option<KindArg> {
    Some(match w {
        ImportWhat::Cost | ImportWhat::Rates | ImportWhat::Metrics | ImportWhat::SnipeIt => return None,
        ImportWhat::CostCentres => KindArg::CostCentres,
        ImportWhat::Services => KindArg::Services,
        ImportWhat::People => KindArg::People,
        ImportWhat::Locations => KindArg::Locations,
        ImportWhat::Vendors => KindArg::Vendors,
    })
}

fn kind_of_export(w: ExportWhat) -> Option<KindArg> {
    Some(match w {
        ExportWhat::Focus | ExportWhat::Journal => return None,
        ExportWhat::CostCentres => KindArg::CostCentres,
        ExportWhat::Services => KindArg::Services,
        ExportWhat::People => KindArg::People,
        ExportWhat::Locations => KindArg::Locations,
        ExportWhat::Vendors => KindArg::Vendors,
    })
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    CostCentres,
    Services,
    People,
    Locations,
    Vendors,
}

impl From<KindArg> for Kind {
    fn from(k: KindArg) -> Kind {
        match k {
            KindArg::CostCentres => Kind::CostCentre,
            KindArg::Services => Kind::Service,
            KindArg::People => Kind::Person,
            KindArg::Locations => Kind::Location,
            KindArg::Vendors => Kind::Vendor,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

fn settings(cli: &Cli, listen: Option<String>) -> anyhow::Result<Settings> {
    let flags = Layer {
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
        listen,
        ..Layer::default()
    };
    Settings::resolve(cli.config.as_deref(), std::env::vars(), flags)
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let listen = match &cli.command {
        Command::Serve { listen } | Command::Demo { listen, .. } => listen.clone(),
        _ => None,
    };
    let settings = settings(&cli, listen)?;
    wiring::init_logging(settings.log_format);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Serve { .. } => {
            let app = wiring::open_app(&settings, clock).await?;
            wiring::serve(app, &settings, |addr| say(&format!("itemize is serving on http://{addr}/")))
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { seed, as_of, no_serve, .. } => demo(settings, clock, seed, as_of, no_serve).await,
        Command::Db { action } => db(settings, clock, action).await,
        Command::Assets { action } => {
            let app = wiring::open_app(&settings, clock).await?;
            crate::assetcli::run(&app, action).await
        }
        Command::User { action } => {
            let app = wiring::open_app(&settings, clock).await?;
            user(&app, action).await
        }
        Command::Token { action } => {
            let app = wiring::open_app(&settings, clock).await?;
            token(&app, action).await
        }
        Command::Import { what, files, dry_run, format, mapping, lenient, replace_newer, parts, output } => {
            let app = wiring::open_app(&settings, clock).await?;
            match what {
                ImportWhat::Cost => {
                    crate::costcli::import_cost(
                        &app,
                        &files,
                        format.as_deref(),
                        mapping.as_deref(),
                        crate::costcli::Reading { lenient, replace_newer, parts },
                        output,
                    )
                    .await
                }
                ImportWhat::Rates => crate::costcli::import_rates(&app, &files, output).await,
                ImportWhat::Metrics => crate::alloccli::import_metrics(&app, &files).await,
                ImportWhat::SnipeIt => {
                    crate::assetcli::import_snipe_it(&app, &files, dry_run, lenient, output).await
                }
                _ => {
                    let kind = kind_of_import(what).context("a kind of reference data")?;
                    let mut ok = true;
                    for file in &files {
                        let f = std::fs::File::open(file)
                            .with_context(|| format!("opening {}", file.display()))?;
                        let report = app
                            .import_csv(&operator(), kind.into(), std::io::BufReader::new(f), dry_run)
                            .await?;
                        print_report(&file.display().to_string(), &report, output)?;
                        ok &= report.is_ok();
                    }
                    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
                }
            }
        }
        Command::Allocate { period, from, to, output } => {
            let app = wiring::open_app(&settings, clock).await?;
            crate::alloccli::allocate(&app, period.as_deref(), from.as_deref(), to.as_deref(), output).await
        }
        Command::Close { period } => {
            let app = wiring::open_app(&settings, clock).await?;
            let run = app.close_period(&operator(), &period).await?;
            println!("closed {} (allocation run {}); it will not be re-allocated", run.period, run.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules { verb, file, period, output } => {
            let app = wiring::open_app(&settings, clock).await?;
            crate::alloccli::rules(&app, verb, file.as_deref(), period.as_deref(), output).await
        }
        Command::Report { what: ReportWhat::Hygiene, period, from, format, out, .. } => {
            let app = wiring::open_app(&settings, clock).await?;
            let from = from.unwrap_or_else(|| period.clone());
            crate::alloccli::hygiene(&app, &from, &period, format, out.as_deref()).await
        }
        Command::Report { what: ReportWhat::Showback, period, by, measure, format, out, .. } => {
            let app = wiring::open_app(&settings, clock).await?;
            crate::alloccli::showback(&app, &period, &by, &measure, format, out.as_deref()).await
        }
        Command::Export { what, out, include_archived, period, format } => {
            let app = wiring::open_app(&settings, clock).await?;
            if what == ExportWhat::Journal {
                return crate::alloccli::export_journal(&app, period.as_deref(), out.as_deref()).await;
            }
            let Some(kind) = kind_of_export(what) else {
                return crate::costcli::export_focus(&app, period.as_deref(), &format, out.as_deref()).await;
            };
            let n = match &out {
                Some(path) => {
                    let f = std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?;
                    app.export_csv(&operator(), kind.into(), std::io::BufWriter::new(f), include_archived)
                        .await?
                }
                None => {
                    let mut out = Piped { inner: std::io::stdout().lock(), closed: false };
                    match app.export_csv(&operator(), kind.into(), &mut out, include_archived).await {
                        Ok(n) => n,
                        // The reader stopped reading (`| head`): the broken pipe, for `main` to end quietly.
                        Err(_) if out.closed => {
                            return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into());
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            };
            if let Some(path) = out {
                eprintln!("wrote {n} {} to {}", Kind::from(kind).plural(), path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn db(settings: Settings, clock: Arc<dyn Clock>, action: DbAction) -> anyhow::Result<ExitCode> {
    let store = wiring::open_store(&settings).await?;
    match action {
        DbAction::Migrate => {
            let applied = store.migrate(clock.now()).await?;
            if applied.is_empty() {
                println!("the database schema is current; nothing to apply");
            } else {
                println!("applied migrations {applied:?}");
            }
        }
        DbAction::Status => {
            let st = store.migration_status().await?;
            println!("database: {} ({})", store.backend(), settings.database_url);
            println!(
                "schema: version {} (this binary knows up to {}) — {}",
                st.database_version(),
                st.binary_version,
                if st.is_current() { "current" } else { "migrations pending: run `itemize db migrate`" }
            );
            for (v, name, at) in &st.applied {
                println!("  applied  {v:>4} {name} at {at}");
            }
            for v in &st.pending {
                println!("  pending  {v:>4}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn demo(
    settings: Settings,
    clock: Arc<dyn Clock>,
    seed: u64,
    as_of: Option<jiff::civil::Date>,
    no_serve: bool,
) -> anyhow::Result<ExitCode> {
    let as_of = as_of.unwrap_or_else(|| clock.today());
    let app = wiring::open_app(&settings, clock).await?;
    let dir = settings.data_dir.join("demo-input");
    match app.load_demo(&dir, seed, as_of).await {
        Ok(DemoOutcome::Loaded { files, reports, bills, allocation, assets }) => {
            println!(
                "Built the demo organisation (seed {seed}, as of {as_of}) in {}:",
                settings.data_dir.display()
            );
            for (f, r) in files.iter().zip(&reports) {
                let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                println!("  {name:<24} {:>5} rows: {} created, {} updated", r.rows, r.created, r.updated);
            }
            println!(
                "  {:<24} {:>5} assets ({} of them bought since the register went live, each imported on its \
                 purchase day); {} lifecycle steps replayed (repairs, losses, loans, retirements, certified \
                 disposals), {} relationships, {} contracts, {} audits",
                "assets.csv",
                assets.import.created + assets.received,
                assets.received,
                assets.transitions,
                assets.relations,
                assets.contracts,
                assets.audits
            );
            if let (Some(first), Some(last)) = (assets.depreciation.first(), assets.depreciation.last()) {
                let lines: usize = assets.depreciation.iter().map(|d| d.lines).sum();
                let write_offs: usize = assets.depreciation.iter().map(|d| d.write_offs).sum();
                let reinstated: usize = assets.depreciation.iter().map(|d| d.reinstatements).sum();
                println!(
                    "  {:<24} {:>5} months ({}..{}) of depreciation posted into the ledger as {lines} spend lines \
                     ({write_offs} write-offs, {reinstated} reinstated: found after being lost)",
                    "depreciation/",
                    assets.depreciation.len(),
                    first.period,
                    last.period
                );
            }
            let lines: i64 = bills.iter().map(|b| b.rows_ingested).sum();
            // An Azure month's amortized export takes the place of its actual export's usage: a merge, not a
            // provider restating the month.
            let merged = bills
                .iter()
                .filter(|b| !b.replaced.is_empty() && b.file_name.starts_with("azure-amortized-"))
                .count();
            let restated = bills.iter().filter(|b| !b.replaced.is_empty()).count() - merged;
            let in_parts: Vec<&str> = bills
                .iter()
                .filter(|b| b.file_name.contains(" parts)"))
                .map(|b| b.file_name.as_str())
                .collect();
            println!(
                "  {:<24} {:>5} files, {lines} cost lines (AWS CUR 2.0, Azure, GCP, FOCUS, SaaS invoices, GL); \
                 {restated} restatement; Azure: {merged} months' actual and amortized exports merged; \
                 one export in parts: {}",
                "bills/",
                bills.len(),
                in_parts.join(", ")
            );
            let unallocated: itemize_app::allocation::Amount =
                allocation.runs.iter().map(|r| r.unallocated_effective).sum();
            let total: itemize_app::allocation::Amount =
                allocation.runs.iter().map(|r| r.effective_total).sum();
            println!(
                "  {:<24} {:>5} months allocated by {:?}: {} of {} {} unallocated; all but the last 2 closed",
                "allocation-rules.toml",
                allocation.runs.len(),
                allocation.rule_set.name,
                unallocated.round_dp(2),
                total.round_dp(2),
                app.config().reporting_currency.code(),
            );
            for r in bills.iter().flat_map(|b| &b.restatements).filter(|r| r.adjustments > 0) {
                println!(
                    "  {:<24} closed {} restated after closing: {} {} posted into {} as adjustments",
                    "",
                    r.source_period,
                    r.effective.round_dp(2),
                    app.config().reporting_currency.code(),
                    r.posted_period
                );
            }
        }
        Ok(DemoOutcome::AlreadyLoaded(m)) => {
            println!(
                "The demo (seed {}, as of {}) is already loaded in {}; reusing it.",
                m.seed,
                m.as_of,
                settings.data_dir.display()
            );
        }
        Err(e) => return Err(e.into()),
    }
    if no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    wiring::serve(app, &settings, |addr| {
        say(&format!(
            "\nitemize is serving the demo on http://{addr}/\n\
             Sign in as `admin` with the password `{DEMO_PASSWORD}`.\n\
             Other demo users (same password): finance, assets (asset-manager), viewer, and dach-finance\n\
             (finance, limited to the Sales DACH cost centre).\n\
             Start at the overview; then the cost explorer (http://{addr}/costs), showback (/showback),\n\
             the asset register (/assets) and the renewal calendar (/contracts/renewals). Stop with Ctrl-C."
        ))
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn print_report(file: &str, r: &ImportReport, format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    if r.is_ok() {
        // Not committed and not a dry run: one file of several that land together, rolled back with them.
        let (verb, after) = match (r.committed, r.dry_run) {
            (true, _) => ("were", ""),
            (false, true) => ("would be", " (dry run: nothing was written)"),
            (false, false) => ("would be", " (not written: another file of the import failed)"),
        };
        writeln!(
            out,
            "{file}: {} rows — {} {verb} created, {} {verb} updated, {} unchanged{after}",
            r.rows, r.created, r.updated, r.unchanged,
        )?;
    } else {
        writeln!(out, "{file} was not imported: {} problem(s); nothing was written.", r.error_count)?;
        for e in &r.errors {
            let col = e.column.as_deref().map(|c| format!(", column {c}")).unwrap_or_default();
            let val = e.value.as_deref().map(|v| format!(", value {v:?}")).unwrap_or_default();
            writeln!(out, "  row {}{col}{val}: {}", e.row, e.reason)?;
        }
        if r.error_count as usize > r.errors.len() {
            writeln!(out, "  … and {} more. By column:", r.error_count as usize - r.errors.len())?;
            for (c, n) in &r.errors_by_column {
                writeln!(out, "    {c}: {n}")?;
            }
        }
    }
    for n in r.notes.iter().take(20) {
        writeln!(out, "  note: {n}")?;
    }
    if r.notes.len() > 20 {
        writeln!(out, "  … and {} more notes (--output json lists them all)", r.notes.len() - 20)?;
    }
    Ok(())
}

/// Standard output that remembers whether its reader went away (a broken pipe), whatever the writer on top of it
/// makes of the error.
struct Piped<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> Write for Piped<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = self.inner.write(buf);
        self.closed |= r.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
        r
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let r = self.inner.flush();
        self.closed |= r.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
        r
    }
}

/// Prints a line for whoever started the server. A closed standard output (`itemize demo | head`) must not
/// take the server down, so write errors are ignored here.
fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Local commands act as the operator, who has the database itself in hand.
pub(crate) fn operator() -> Actor {
    Actor::system("cli")
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if !from_stdin {
        bail!("pass --password-stdin and give the password on standard input (never as an argument)");
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn user(app: &itemize_app::App, action: UserAction) -> anyhow::Result<ExitCode> {
    let op = operator();
    match action {
        UserAction::Add { username, role, password_stdin, display_name, cost_centres } => {
            let password = read_password(password_stdin)?;
            let cost_centres = app.cost_centre_ids(&op, &cost_centres).await?;
            let u = app
                .create_user(&op, NewUser { username, password, role, display_name, cost_centres })
                .await?;
            println!("created user {} ({}), id {}", u.username, u.role, u.id);
        }
        UserAction::List => {
            println!("{:<6} {:<24} {:<14} {:<9} cost centres", "id", "username", "role", "status");
            for u in app.list_users(&op).await? {
                let status = if u.disabled { "disabled" } else { "active" };
                let scope = if u.cost_centres.is_empty() {
                    "all".to_string()
                } else {
                    format!("{:?}", u.cost_centres)
                };
                println!("{:<6} {:<24} {:<14} {:<9} {scope}", u.id, u.username, u.role.as_str(), status);
            }
        }
        UserAction::Disable { username } => {
            let u = app.find_user(&op, &username).await?;
            app.update_user(&op, u.id, UserPatch { disabled: Some(true), ..Default::default() }, None)
                .await?;
            println!(
                "disabled {username}; their sessions and tokens stop working (a running server notices within seconds)"
            );
        }
        UserAction::Enable { username } => {
            let u = app.find_user(&op, &username).await?;
            app.update_user(&op, u.id, UserPatch { disabled: Some(false), ..Default::default() }, None)
                .await?;
            println!("enabled {username}");
        }
        UserAction::ResetPassword { username, password_stdin } => {
            let password = read_password(password_stdin)?;
            let u = app.find_user(&op, &username).await?;
            app.update_user(&op, u.id, UserPatch { password: Some(password), ..Default::default() }, None)
                .await?;
            println!(
                "set a new password for {username}; their sessions end (a running server notices within seconds)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses `30d`, `12h` or `90m`.
pub fn parse_duration(s: &str) -> anyhow::Result<jiff::SignedDuration> {
    let (num, unit) = s.trim().split_at(s.trim().len().saturating_sub(1));
    let n: i64 =
        num.parse().map_err(|_| anyhow::anyhow!("`{s}` is not a duration such as 30d, 12h or 90m"))?;
    Ok(match unit {
        "d" => jiff::SignedDuration::from_hours(24 * n),
        "h" => jiff::SignedDuration::from_hours(n),
        "m" => jiff::SignedDuration::from_mins(n),
        _ => bail!("`{s}` is not a duration such as 30d, 12h or 90m"),
    })
}

async fn token(app: &itemize_app::App, action: TokenAction) -> anyhow::Result<ExitCode> {
    let op = operator();
    match action {
        TokenAction::Create { user, name, read_only, expires_in } => {
            let u = app.find_user(&op, &user).await?;
            let expires = expires_in.as_deref().map(parse_duration).transpose()?;
            let t = app.create_token(&op, Some(u.id), &name, read_only, expires).await?;
            eprintln!(
                "created {} token {} for {} (id {}{}); it is shown this once:",
                if read_only { "a read-only" } else { "a read-write" },
                t.view.name,
                u.username,
                t.view.id,
                t.view.expires_at.map(|e| format!(", expires {e}")).unwrap_or_default()
            );
            println!("{}", t.token);
        }
        TokenAction::List { user } => {
            let filter = match user {
                Some(u) => Some(app.find_user(&op, &u).await?.id),
                None => None,
            };
            println!(
                "{:<6} {:<8} {:<16} {:<20} {:<10} {:<28} last used",
                "id", "user", "prefix", "name", "access", "expires / revoked"
            );
            for t in app.list_tokens(&op).await?.into_iter().filter(|t| filter.is_none_or(|u| u == t.user_id))
            {
                let state = match (t.revoked_at, t.expires_at) {
                    (Some(r), _) => format!("revoked {r}"),
                    (None, Some(e)) => format!("expires {e}"),
                    (None, None) => "never expires".into(),
                };
                let access = if t.read_only { "read-only" } else { "read-write" };
                let last = t.last_used_at.map(|l| l.to_string()).unwrap_or_else(|| "never".into());
                println!(
                    "{:<6} {:<8} {:<16} {:<20} {:<10} {:<28} {last}",
                    t.id, t.user_id, t.prefix, t.name, access, state
                );
            }
        }
        TokenAction::Revoke { id } => {
            app.revoke_token(&op, id).await?;
            println!("revoked token {id}; a running server refuses it within seconds");
        }
    }
    Ok(ExitCode::SUCCESS)
}
