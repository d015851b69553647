//! The asset register's commands: `itemize assets list|show|add|edit|import|export|labels|transition|check-out|
//! check-in|history|relate|relations|unrelate|impact|cost|tco|schedule|contracts|settings|overdue|offboarding|
//! warranty|end-of-life|renewals|refresh|governance|depreciation|resource-cost|audit`.

use crate::cli::{OutputFormat, operator};
use anyhow::{Context, bail};
use clap::Subcommand;
use itemize_app::{App, ListParams};
use itemize_core::refdata::{CostCentre, Location, Person, Service};
use serde::Serialize;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum AssetsAction {
    /// List assets: search by tag, serial, hostname or person; filter and sort. `--param key=value` passes
    /// any filter the API takes (class, state, model, manufacturer, assignee_person_id, location_id,
    /// service_id, cost_centre_id, vendor_id, warranty_before, eol_before, purchased_from, purchased_before,
    /// overdue, ...); an unknown one is refused with the list.
    List {
        /// Search: a prefix of the tag, serial or hostname, or a person's name or e-mail.
        #[arg(long)]
        q: Option<String>,
        #[arg(long)]
        class: Option<String>,
        #[arg(long)]
        state: Option<String>,
        /// Sort by a column, `-` first for descending (e.g. -purchase_date).
        #[arg(long)]
        sort: Option<String>,
        /// Assets to show [default: 50; every page with --all].
        #[arg(long)]
        limit: Option<usize>,
        /// Every matching asset, page after page.
        #[arg(long)]
        all: bool,
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// One asset by tag or serial (as a barcode scanner reads it), with its book value.
    Show {
        key: String,
        /// The book value at this date (YYYY-MM-DD) instead of today.
        #[arg(long)]
        at: Option<jiff::civil::Date>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Import assets from CSV or XLSX: itemize's columns or Snipe-IT's export (told from the header).
    Import {
        file: PathBuf,
        /// itemize or snipe-it (default: told from the header).
        #[arg(long)]
        format: Option<String>,
        /// Check every row and show what would be written, but write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Import the good rows and report the bad ones instead of rejecting the file.
        #[arg(long)]
        lenient: bool,
        /// Map a file column onto a field: --map "Asset No=tag" (repeatable).
        #[arg(long = "map", value_name = "COLUMN=FIELD")]
        map: Vec<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Export the assets a filter selects as CSV or XLSX (by the file's extension).
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
    },
    /// Print QR labels for the assets a filter selects, as SVG or PDF (by the file's extension).
    Labels {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
    },
    /// Move an asset through its lifecycle; refused with the allowed moves when it may not go there.
    Transition {
        key: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        reason: Option<String>,
        /// A person (employee id or e-mail) for in use or on loan.
        #[arg(long)]
        assignee: Option<String>,
        /// A location code.
        #[arg(long)]
        location: Option<String>,
        /// On loan: the expected return date.
        #[arg(long)]
        expected_return: Option<String>,
        /// Disposed: the disposal as JSON ({"method", "date", "reference", "sanitization": {...}}).
        #[arg(long, value_name = "JSON")]
        disposal: Option<String>,
    },
    /// Check an asset out to a person, a location or a business service: in use (until a return date with
    /// --until), or on loan with --loan.
    CheckOut {
        key: String,
        /// A business service's code.
        #[arg(long)]
        service: Option<String>,
        /// Employee id or e-mail.
        #[arg(long)]
        person: Option<String>,
        /// Location code.
        #[arg(long)]
        location: Option<String>,
        /// The expected return date (YYYY-MM-DD): past it, the asset is on the overdue list.
        #[arg(long)]
        until: Option<String>,
        /// A loan (on loan rather than in use): needs a person and --until.
        #[arg(long, requires = "until")]
        loan: bool,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Take an asset back into stock, optionally at a location.
    CheckIn {
        key: String,
        #[arg(long)]
        location: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// An asset's history: every change, transition, assignment, audit and disposal.
    History {
        key: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Everything that depends on an asset, and the services affected if it fails.
    Impact {
        key: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Loans and check-outs past their return date.
    Overdue {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Leavers and what to recover from them; --person one person (employee id or e-mail), leaver or not.
    Offboarding {
        #[arg(long)]
        person: Option<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Assets whose warranty ends in the next N days.
    Warranty {
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Assets reaching end of life in the next N days.
    EndOfLife {
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Contracts ending in the next N days, with the last day to give notice.
    Renewals {
        #[arg(long, default_value_t = 90)]
        days: u32,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Hardware refresh plan: what reaches end of life or the end of its support by N months from today (what
    /// is past it already counted as due now), by model, cost centre and currency, with a replacement budget.
    Refresh {
        #[arg(long, default_value_t = 12)]
        months: u32,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Data quality: field coverage, required-field policy violations, inventory accuracy.
    Governance {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Post depreciation into the cost ledger for a month (or a range): non-cloud spend, allocated like any
    /// other. Posting a month again restates it.
    Depreciation {
        #[arg(long, value_name = "YYYY-MM", conflicts_with_all = ["from", "to"])]
        period: Option<String>,
        #[arg(long, value_name = "YYYY-MM", requires = "to")]
        from: Option<String>,
        #[arg(long, value_name = "YYYY-MM", requires = "from")]
        to: Option<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// A cloud-resource asset's cost from the ledger, by month.
    ResourceCost {
        key: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Register an asset: its fields as JSON, as the API takes them, or @FILE holding them; e.g.
    /// '{"tag": "LT-0042", "name": "ThinkPad T14", "class": "laptop", "purchase_cost": "1299.00"}'.
    Add {
        #[arg(value_name = "JSON")]
        fields: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Change an asset's fields: the changes as JSON (or @FILE); null clears a field. Every change is in the
    /// asset's history with its before and after.
    Edit {
        key: String,
        #[arg(value_name = "JSON")]
        changes: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Relate an asset: it runs a business service, or depends on / is installed in another asset.
    Relate {
        key: String,
        /// The business service's code.
        #[arg(long, group = "to")]
        runs: Option<String>,
        /// The other asset's tag or serial.
        #[arg(long, group = "to")]
        depends_on: Option<String>,
        /// The other asset's tag or serial.
        #[arg(long, group = "to")]
        installed_in: Option<String>,
    },
    /// An asset's current relationships, both ways (ended ones are in its history).
    Relations {
        key: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// End one of an asset's relationships (it stays in the history).
    Unrelate { key: String, relation_id: i64 },
    /// Record a one-off cost against an asset (a repair, an upgrade), as JSON (or @FILE), e.g.
    /// '{"kind": "repair", "amount": "180.00", "currency": "EUR", "date": "2026-10-02", "reference": "RMA-7"}'.
    Cost {
        key: String,
        #[arg(value_name = "JSON")]
        cost: String,
    },
    /// Total cost of ownership: the purchase, its share of each covering contract, one-off costs, book value.
    Tco {
        key: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Depreciation schedules: one asset's, month by month; or, without an asset, every cost centre's expense
    /// by month from --from to --to (months, YYYY-MM; a full date stands for its month).
    Schedule {
        key: Option<String>,
        #[arg(long, requires = "to", conflicts_with = "key", value_parser = month_arg)]
        from: Option<jiff::civil::Date>,
        #[arg(long, requires = "from", conflicts_with = "key", value_parser = month_arg)]
        to: Option<jiff::civil::Date>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Contracts (purchase, lease, maintenance, warranty, subscription): `list`, `show ID`, `add JSON`,
    /// `edit ID JSON` (JSON as the API takes it, or @FILE), `archive ID`, `restore ID` (by id or number).
    Contracts {
        #[arg(value_enum)]
        verb: ContractVerb,
        /// show, edit: the contract's id or number; add: the JSON.
        target: Option<String>,
        /// edit: the changes as JSON.
        json: Option<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// The register's settings: custom fields per class and required fields per class. --set replaces them
    /// with the JSON given (administrators).
    Settings {
        #[arg(long, value_name = "JSON")]
        set: Option<String>,
    },
    /// Physical audits: `start LOCATION`, `scan ID [INPUT...]` (standard input, one per line, when no input
    /// is given: a barcode scanner works), `close ID [--mark-missing]`, `show ID`, `list`.
    Audit {
        #[arg(value_enum)]
        verb: AuditVerb,
        /// start: the location code; scan, close, show: the audit id.
        target: Option<String>,
        /// scan: tags or serials.
        inputs: Vec<String>,
        /// close: move expected assets that were not found to missing.
        #[arg(long)]
        mark_missing: bool,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ContractVerb {
    List,
    Show,
    Add,
    Edit,
    Archive,
    Restore,
}

/// A JSON object from the command line, or from a file named `@FILE`.
fn json_arg(what: &str, v: &str) -> anyhow::Result<Value> {
    let text = match v.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {what} from {path}"))?,
        None => v.to_string(),
    };
    let value: Value = serde_json::from_str(&text).with_context(|| format!("{what} is not JSON"))?;
    if !value.is_object() {
        bail!("{what} must be a JSON object ({{\"field\": value, ...}})");
    }
    Ok(value)
}

/// A business service by code.
async fn service_id(app: &App, code: &str) -> anyhow::Result<i64> {
    let page = app.list::<Service>(&operator(), &ListParams::default().with("q", code)).await?;
    page.items
        .iter()
        .find(|s| s.fields.code.eq_ignore_ascii_case(code))
        .map(|s| s.id.into())
        .with_context(|| format!("no business service has the code {code:?}"))
}

/// A contract by id or number.
async fn contract_id(app: &App, key: &str) -> anyhow::Result<i64> {
    let all = app.contracts(&operator()).await?;
    all.iter()
        .find(|c| c.number.eq_ignore_ascii_case(key) || c.id.to_string() == key)
        .map(|c| c.id)
        .with_context(|| format!("no contract has the number or id {key:?}"))
}

fn print_contract(c: &itemize_store::ContractRow) {
    println!("{} — {} ({}, {} renewal)", c.number, c.name, c.kind, c.renewal);
    println!("  value        {} {} ({})", c.value, c.currency, c.billing_frequency);
    println!("  term         {} to {}, notice {} days", c.start_date, c.end_date, c.notice_days);
    println!("  assets       {}", c.asset_ids.len());
    if let Some(a) = &c.archived_at {
        println!("  archived     {a}");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditVerb {
    Start,
    Scan,
    Close,
    Show,
    List,
}

/// What an asset import did, as text or JSON.
fn print_asset_import(
    name: &str,
    r: &itemize_app::asset_import::ImportReport,
    output: OutputFormat,
) -> anyhow::Result<()> {
    if output == OutputFormat::Json {
        print_json(&r)?;
    } else {
        let what = if r.dry_run {
            "would import"
        } else if r.committed {
            "imported"
        } else {
            "did not import"
        };
        println!(
            "{}: {what} ({} format): {} rows, {} created, {} updated, {} rejected",
            name, r.format, r.rows, r.created, r.updated, r.rejected
        );
        for l in &r.created_locations {
            println!("  created location {l}");
        }
        for v in &r.created_vendors {
            println!("  created vendor {v}");
        }
        for w in &r.warnings {
            println!("  warning: {w}");
        }
        for e in &r.errors {
            eprintln!(
                "  row {}{}: {}",
                e.row,
                e.column.as_deref().map(|c| format!(", column {c}")).unwrap_or_default(),
                e.reason
            );
        }
    }
    Ok(())
}

fn print_json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn params_of(pairs: &[String]) -> anyhow::Result<ListParams> {
    let mut p = ListParams::default();
    for kv in pairs {
        let (k, v) = kv.split_once('=').with_context(|| format!("--param {kv:?}: expected KEY=VALUE"))?;
        p = p.with(k.trim(), v.trim());
    }
    Ok(p)
}

/// A person by employee id or e-mail.
async fn person_id(app: &App, key: &str) -> anyhow::Result<i64> {
    let page = app.list::<Person>(&operator(), &ListParams::default().with("q", key)).await?;
    page.items
        .iter()
        .find(|p| p.fields.employee_id.eq_ignore_ascii_case(key) || p.fields.email.eq_ignore_ascii_case(key))
        .map(|p| p.id.into())
        .with_context(|| format!("no person has the employee id or e-mail {key:?}"))
}

async fn location_id(app: &App, code: &str) -> anyhow::Result<i64> {
    let page = app.list::<Location>(&operator(), &ListParams::default().with("q", code)).await?;
    page.items
        .iter()
        .find(|l| l.fields.code.eq_ignore_ascii_case(code))
        .map(|l| l.id.into())
        .with_context(|| format!("no location has the code {code:?}"))
}

fn print_assets(items: &[itemize_core::assets::Asset]) {
    println!("{:<12} {:<15} {:<10} {:<28} {:<14} {:>8}", "TAG", "CLASS", "STATE", "NAME", "SERIAL", "ID");
    for a in items {
        println!(
            "{:<12} {:<15} {:<10} {:<28} {:<14} {:>8}",
            a.fields.tag,
            a.fields.class.to_string(),
            a.state.to_string(),
            a.fields.name.chars().take(28).collect::<String>(),
            a.fields.serial.as_deref().unwrap_or("-"),
            a.id
        );
    }
}

/// A list of assets: JSON, or a table and a closing line (`{n}` stands for the count).
fn show_assets(
    items: &[itemize_core::assets::Asset],
    output: OutputFormat,
    closing: &str,
) -> anyhow::Result<()> {
    match output {
        OutputFormat::Json => print_json(&items),
        OutputFormat::Text => {
            print_assets(items);
            println!("{}", closing.replace("{n}", &items.len().to_string()));
            Ok(())
        }
    }
}

/// A month given as YYYY-MM (or a date, YYYY-MM-DD, standing for its month): its first day.
fn month_arg(text: &str) -> Result<jiff::civil::Date, String> {
    let t = text.trim();
    let date = if t.len() == 7 { format!("{t}-01") } else { t.to_string() };
    date.parse::<jiff::civil::Date>()
        .map(|d| d.first_of_month())
        .map_err(|_| format!("`{text}` is not a month (YYYY-MM)"))
}

/// A list of assets by a date, the soonest first: JSON in that order, or a table with the date and the days
/// from today to it (negative once passed), and a closing line (`{n}` stands for the count).
fn show_dated(
    items: &[itemize_core::assets::Asset],
    today: jiff::civil::Date,
    date: fn(&itemize_core::assets::Asset) -> Option<jiff::civil::Date>,
    label: &str,
    output: OutputFormat,
    closing: &str,
) -> anyhow::Result<()> {
    let mut items: Vec<&itemize_core::assets::Asset> = items.iter().collect();
    items.sort_by_key(|a| (date(a), a.id));
    match output {
        OutputFormat::Json => print_json(&items),
        OutputFormat::Text => {
            println!("{:<12} {:<10} {:<32} {:<11} {:>6}", "TAG", "STATE", "NAME", label, "DAYS");
            for a in &items {
                let d = date(a);
                let days = d.and_then(|d| today.until(d).ok()).map(|s| s.get_days().to_string());
                println!(
                    "{:<12} {:<10} {:<32} {:<11} {:>6}",
                    a.fields.tag,
                    a.state.to_string(),
                    a.fields.name.chars().take(32).collect::<String>(),
                    d.map_or_else(|| "-".into(), |d| d.to_string()),
                    days.unwrap_or_else(|| "-".into())
                );
            }
            println!("{}", closing.replace("{n}", &items.len().to_string()));
            Ok(())
        }
    }
}

fn write_file(out: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))
}

fn extension(out: &std::path::Path) -> String {
    out.extension().and_then(|e| e.to_str()).unwrap_or_default().to_lowercase()
}

fn months(from: &str, to: &str) -> anyhow::Result<Vec<String>> {
    let parse = |p: &str| -> anyhow::Result<jiff::civil::Date> {
        format!("{p}-01").parse().with_context(|| format!("{p:?} is not a month (YYYY-MM)"))
    };
    let (mut m, end) = (parse(from)?, parse(to)?);
    if end < m {
        bail!("--to {to} is before --from {from}");
    }
    let mut out = Vec::new();
    while m <= end && out.len() < 600 {
        out.push(m.strftime("%Y-%m").to_string());
        m = m.checked_add(jiff::Span::new().months(1))?;
    }
    Ok(out)
}

/// Runs one `itemize assets` command.
pub async fn run(app: &App, action: AssetsAction) -> anyhow::Result<ExitCode> {
    let op = operator();
    match action {
        AssetsAction::List { q, class, state, sort, limit, all, params, output } => {
            let mut p = params_of(&params)?;
            for (k, v) in [("q", q), ("class", class), ("state", state), ("sort", sort)] {
                if let Some(v) = v {
                    p = p.with(k, v);
                }
            }
            let items = if all {
                app.all_matching(&op, p, None).await?
            } else {
                p = p.with("limit", limit.unwrap_or(50).to_string());
                app.list_assets(&op, &p).await?.items
            };
            show_assets(&items, output, "{n} asset(s)")?;
        }
        AssetsAction::Show { key, at, output } => {
            let a = app.find_asset(&op, &key).await?;
            let schedule = app.depreciation_schedule(&op, a.id, at).await?;
            match output {
                OutputFormat::Json => {
                    print_json(&json!({"asset": a, "book_value_today": schedule.book_value_today,
                    "as_of": schedule.as_of, "book_value": schedule.book_value}))?
                }
                OutputFormat::Text => {
                    let f = &a.fields;
                    println!("{} — {} ({}, id {})", f.tag, f.name, f.class, a.id);
                    println!(
                        "  state        {}{}",
                        a.state,
                        a.substate.map(|s| format!(" ({s})")).unwrap_or_default()
                    );
                    for (k, v) in [
                        ("model", f.model.clone()),
                        ("manufacturer", f.manufacturer.clone()),
                        ("serial", f.serial.clone()),
                        ("hostname", f.hostname.clone()),
                        ("resource id", f.resource_id.clone()),
                        ("purchased", f.purchase_date.map(|d| d.to_string())),
                        ("cost", f.purchase_cost.map(|c| format!("{c} {}", f.currency.code()))),
                        ("warranty end", f.warranty_end.map(|d| d.to_string())),
                        ("end of life", f.end_of_life.map(|d| d.to_string())),
                    ] {
                        if let Some(v) = v {
                            println!("  {k:<12} {v}");
                        }
                    }
                    match at {
                        None => {
                            println!("  book value   {} {}", schedule.book_value_today, schedule.currency)
                        }
                        Some(d) => {
                            println!("  book value   {} {} on {d}", schedule.book_value, schedule.currency)
                        }
                    }
                    if let Some(d) = &a.disposal {
                        println!("  disposal     {} on {} ({})", d.method, d.date, d.reference);
                    }
                }
            }
        }
        AssetsAction::Import { file, format, dry_run, lenient, map, output } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let mut mapping = Vec::new();
            for m in &map {
                let (from, to) =
                    m.split_once('=').with_context(|| format!("--map {m:?}: expected COLUMN=FIELD"))?;
                mapping.push((from.trim().to_string(), to.trim().to_string()));
            }
            let opts = itemize_app::asset_import::ImportOptions { format, dry_run, lenient, mapping };
            let r = app.import_assets(&op, &bytes, &opts).await?;
            print_asset_import(&file.display().to_string(), &r, output)?;
            if !r.ok() {
                return Ok(ExitCode::FAILURE);
            }
        }
        AssetsAction::Export { out, params } => {
            let format = extension(&out);
            let bytes = app.export_assets(&op, &params_of(&params)?, &format).await?;
            write_file(&out, &bytes)?;
            eprintln!("wrote {}", out.display());
        }
        AssetsAction::Labels { out, params } => {
            let format = extension(&out);
            let bytes = app.asset_labels(&op, &params_of(&params)?, &format).await?;
            write_file(&out, &bytes)?;
            eprintln!("wrote {}", out.display());
        }
        AssetsAction::Transition { key, to, reason, assignee, location, expected_return, disposal } => {
            let a = app.find_asset(&op, &key).await?;
            let mut body = json!({"to": to});
            if let Some(r) = reason {
                body["reason"] = json!(r);
            }
            if let Some(p) = assignee {
                body["assignee_person_id"] = json!(person_id(app, &p).await?);
            }
            if let Some(l) = location {
                body["location_id"] = json!(location_id(app, &l).await?);
            }
            if let Some(d) = expected_return {
                body["expected_return"] = json!(d);
            }
            if let Some(d) = disposal {
                body["disposal"] = serde_json::from_str::<Value>(&d).context("--disposal is not JSON")?;
            }
            let next = app.transition_asset(&op, a.id, None, body).await?;
            println!("{}: {} → {}", next.fields.tag, a.state, next.state);
        }
        AssetsAction::CheckOut { key, service, person, location, until, loan, reason } => {
            let a = app.find_asset(&op, &key).await?;
            let mut body = json!({});
            if let Some(s) = service {
                body["service_id"] = json!(service_id(app, &s).await?);
            }
            if let Some(p) = person {
                body["assignee_person_id"] = json!(person_id(app, &p).await?);
            }
            if let Some(l) = location {
                body["location_id"] = json!(location_id(app, &l).await?);
            }
            if let Some(u) = until {
                body["expected_return"] = json!(u);
            }
            if loan {
                body["loan"] = json!(true);
            }
            if let Some(r) = reason {
                body["reason"] = json!(r);
            }
            let next = app.check_out_asset(&op, a.id, body).await?;
            println!("{}: checked out ({})", next.fields.tag, next.state);
        }
        AssetsAction::CheckIn { key, location, reason } => {
            let a = app.find_asset(&op, &key).await?;
            let mut body = json!({});
            if let Some(l) = location {
                body["location_id"] = json!(location_id(app, &l).await?);
            }
            if let Some(r) = reason {
                body["reason"] = json!(r);
            }
            let next = app.check_in_asset(&op, a.id, body).await?;
            println!("{}: checked in ({})", next.fields.tag, next.state);
        }
        AssetsAction::History { key, output } => {
            let a = app.find_asset(&op, &key).await?;
            let events = app.asset_history(&op, a.id).await?;
            match output {
                OutputFormat::Json => print_json(&events)?,
                OutputFormat::Text => {
                    for e in &events {
                        println!("{}  {:<10} {:<12} {}", e.at, e.actor, e.kind, e.detail);
                    }
                }
            }
        }
        AssetsAction::Impact { key, output } => {
            let a = app.find_asset(&op, &key).await?;
            let impact = app.impact(&op, a.id).await?;
            match output {
                OutputFormat::Json => print_json(&impact)?,
                OutputFormat::Text => {
                    println!(
                        "{}: {} dependent asset(s), {} service(s) affected",
                        a.fields.tag,
                        impact.dependents.len(),
                        impact.services.len()
                    );
                    for d in &impact.dependents {
                        println!("  {} ({} hop(s))", d.tag, d.depth);
                    }
                }
            }
        }
        AssetsAction::Overdue { output } => {
            let list = app.overdue_assets(&op).await?;
            show_dated(&list, app.today(), |a| a.custody.expected_return, "EXPECTED", output, "{n} overdue")?;
        }
        AssetsAction::Add { fields, output } => {
            let a = app.create_asset(&op, json_arg("the asset", &fields)?).await?;
            match output {
                OutputFormat::Json => print_json(&a)?,
                OutputFormat::Text => {
                    println!("{}: registered as asset {} ({})", a.fields.tag, a.id, a.state)
                }
            }
        }
        AssetsAction::Edit { key, changes, output } => {
            let a = app.find_asset(&op, &key).await?;
            let next = app.update_asset(&op, a.id, None, json_arg("the changes", &changes)?).await?;
            match output {
                OutputFormat::Json => print_json(&next)?,
                OutputFormat::Text => println!("{}: updated (version {})", next.fields.tag, next.version),
            }
        }
        AssetsAction::Relate { key, runs, depends_on, installed_in } => {
            let a = app.find_asset(&op, &key).await?;
            let body = match (runs, depends_on, installed_in) {
                (Some(code), _, _) => json!({"kind": "runs", "to_service_id": service_id(app, &code).await?}),
                (_, Some(k), _) => {
                    json!({"kind": "depends-on", "to_asset_id": app.find_asset(&op, &k).await?.id})
                }
                (_, _, Some(k)) => {
                    json!({"kind": "installed-in", "to_asset_id": app.find_asset(&op, &k).await?.id})
                }
                _ => bail!(
                    "say what {key} is related to: --runs SERVICE, --depends-on ASSET or --installed-in ASSET"
                ),
            };
            let r = app.add_relation(&op, a.id, body).await?;
            println!("{}: relationship {} ({}) added", a.fields.tag, r.id, r.kind);
        }
        AssetsAction::Relations { key, output } => {
            let a = app.find_asset(&op, &key).await?;
            let list = app.asset_relations(&op, a.id).await?;
            match output {
                OutputFormat::Json => print_json(&list)?,
                OutputFormat::Text => {
                    for r in &list {
                        let to = match (r.to_asset_id, r.to_service_id) {
                            (Some(t), _) => format!("asset {t}"),
                            (_, Some(s)) => format!("service {s}"),
                            _ => "-".into(),
                        };
                        let ended = r.ended_at.map(|t| format!(" (ended {t})")).unwrap_or_default();
                        println!("{:>6}  {} {} {to}{ended}", r.id, a.fields.tag, r.kind);
                    }
                    println!("{} relationship(s)", list.len());
                }
            }
        }
        AssetsAction::Unrelate { key, relation_id } => {
            let a = app.find_asset(&op, &key).await?;
            app.end_relation(&op, a.id, relation_id).await?;
            println!("{}: relationship {relation_id} ended", a.fields.tag);
        }
        AssetsAction::Cost { key, cost } => {
            let a = app.find_asset(&op, &key).await?;
            let c = app.add_asset_cost(&op, a.id, json_arg("the cost", &cost)?).await?;
            println!("{}: {} {} {} recorded (cost {})", a.fields.tag, c.kind, c.amount, c.currency, c.id);
        }
        AssetsAction::Tco { key, output } => {
            let a = app.find_asset(&op, &key).await?;
            let t = app.tco(&op, a.id).await?;
            match output {
                OutputFormat::Json => print_json(&t)?,
                OutputFormat::Text => {
                    println!("{}: total cost of ownership {} {}", a.fields.tag, t.total, t.currency);
                    println!("  purchase     {} {}", t.purchase, t.currency);
                    for c in &t.contracts {
                        println!(
                            "  contract     {} {} {}",
                            c["number"].as_str().unwrap_or("-"),
                            c["share"].as_str().unwrap_or("-"),
                            c["currency"].as_str().unwrap_or("")
                        );
                    }
                    for c in &t.one_off {
                        println!("  {:<12} {} {} ({})", c.kind, c.amount, c.currency, c.cost_date);
                    }
                    for (cur, v) in &t.other_currencies {
                        println!("  also         {v} {cur}");
                    }
                    if let Some(b) = &t.book_value_today {
                        println!("  book value   {b} {}", t.currency);
                    }
                }
            }
        }
        AssetsAction::Schedule { key, from, to, output } => match (key, from, to) {
            (Some(key), _, _) => {
                let a = app.find_asset(&op, &key).await?;
                let s = app.depreciation_schedule(&op, a.id, None).await?;
                match output {
                    OutputFormat::Json => print_json(&s)?,
                    OutputFormat::Text => {
                        println!("{}: {} in {}", a.fields.tag, s.method, s.currency);
                        println!(
                            "{:<8} {:>12} {:>12} {:>12} {:>12}",
                            "MONTH", "OPENING", "EXPENSE", "CLOSING", "ACCUM."
                        );
                        for m in &s.months {
                            println!(
                                "{:<8} {:>12} {:>12} {:>12} {:>12}",
                                m.month.strftime("%Y-%m").to_string(),
                                m.opening,
                                m.expense,
                                m.closing,
                                m.accumulated
                            );
                        }
                        println!("book value today {} {}", s.book_value_today, s.currency);
                    }
                }
            }
            (None, Some(from), Some(to)) => {
                let list = app.depreciation_by_cost_centre(&op, from, to).await?;
                match output {
                    OutputFormat::Json => print_json(&list)?,
                    OutputFormat::Text => {
                        let codes =
                            cost_centre_codes(app, &op, list.iter().filter_map(|c| c.cost_centre_id)).await;
                        for c in &list {
                            let cc = c.cost_centre_id.map_or_else(|| "(none)".into(), |i| code_of(&codes, i));
                            println!(
                                "cost centre {cc}: {} {} over {} asset(s)",
                                c.total, c.currency, c.assets
                            );
                            for (m, v) in &c.months {
                                println!("  {m}  {v:>12}");
                            }
                        }
                    }
                }
            }
            _ => bail!(
                "give an asset (its tag or serial), or --from and --to for every cost centre's schedule"
            ),
        },
        AssetsAction::Contracts { verb, target, json, output } => {
            let need = |what: &str| target.clone().with_context(|| format!("contracts {what}: which one?"));
            let one = match verb {
                ContractVerb::List => {
                    let list = app.contracts(&op).await?;
                    match output {
                        OutputFormat::Json => print_json(&list)?,
                        OutputFormat::Text => {
                            for c in &list {
                                println!(
                                    "{:<20} {:<12} {:<10} {} to {}  {:>12} {}",
                                    c.number,
                                    c.kind,
                                    c.renewal,
                                    c.start_date,
                                    c.end_date,
                                    c.value,
                                    c.currency
                                );
                            }
                            println!("{} contract(s)", list.len());
                        }
                    }
                    None
                }
                ContractVerb::Show => Some(app.contract(&op, contract_id(app, &need("show")?).await?).await?),
                ContractVerb::Add => {
                    Some(app.create_contract(&op, json_arg("the contract", &need("add")?)?).await?)
                }
                ContractVerb::Archive | ContractVerb::Restore => {
                    let id = contract_id(app, &need("archive or restore")?).await?;
                    Some(app.set_contract_archived(&op, id, verb == ContractVerb::Archive).await?)
                }
                ContractVerb::Edit => {
                    let id = contract_id(app, &need("edit")?).await?;
                    let changes = json.context("contracts edit ID JSON: the changes are missing")?;
                    Some(app.update_contract(&op, id, json_arg("the changes", &changes)?).await?)
                }
            };
            if let Some(c) = one {
                match output {
                    OutputFormat::Json => print_json(&c)?,
                    OutputFormat::Text => print_contract(&c),
                }
            }
        }
        AssetsAction::Settings { set } => {
            let settings = match set {
                Some(v) => app.put_asset_settings(&op, json_arg("the settings", &v)?).await?,
                None => app.asset_settings(&op).await?,
            };
            print_json(&settings)?;
        }
        AssetsAction::Offboarding { person, output } => {
            let who = match person {
                Some(p) => Some(person_id(app, &p).await?),
                None => None,
            };
            let list = app.offboarding(&op, who).await?;
            match output {
                OutputFormat::Json => print_json(&list)?,
                OutputFormat::Text => {
                    let today = app.today();
                    let tags = |items: &[itemize_app::assets::OffboardingItem]| {
                        items.iter().map(|i| i.tag.as_str()).collect::<Vec<_>>().join(", ")
                    };
                    // One person asked for: the whole checklist; everyone: those with something to return.
                    for o in list.iter().filter(|o| who.is_some() || !o.outstanding.is_empty()) {
                        let when = match o.leave_date {
                            Some(d) if d < today => format!("left {d}"),
                            Some(d) => format!("leaves {d}"),
                            None => "no leave date".into(),
                        };
                        let mut what = Vec::new();
                        if !o.outstanding.is_empty() {
                            what.push(format!("recover {}", tags(&o.outstanding)));
                        }
                        if !o.recovered.is_empty() {
                            what.push(format!("recovered {}", tags(&o.recovered)));
                        }
                        if !o.not_recovered.is_empty() {
                            what.push(format!("not recovered {}", tags(&o.not_recovered)));
                        }
                        if what.is_empty() {
                            what.push("holds nothing".into());
                        }
                        println!("{:<8} {:<28} {when}: {}", o.status, o.name, what.join("; "));
                    }
                    let open = list.iter().filter(|o| !o.outstanding.is_empty()).count();
                    println!("{open} of {} leaver(s) still have assets to return", list.len());
                }
            }
        }
        AssetsAction::Warranty { days, output } => {
            let closing = format!("{{n}} warranty(ies) end in the next {days} days");
            let list = app.warranty_expiring(&op, days).await?;
            show_dated(&list, app.today(), |a| a.fields.warranty_end, "WARRANTY", output, &closing)?;
        }
        AssetsAction::EndOfLife { days, output } => {
            let closing = format!("{{n}} asset(s) at or past their end of life within the next {days} days");
            let list = app.end_of_life(&op, days).await?;
            show_dated(&list, app.today(), itemize_app::asset_ops::eol, "END OF LIFE", output, &closing)?;
        }
        AssetsAction::Renewals { days, output } => {
            let list = app.renewal_calendar(&op, days).await?;
            match output {
                OutputFormat::Json => print_json(&list)?,
                OutputFormat::Text => {
                    println!(
                        "{:<20} {:<40} {:<10} {:<11} {:<11} {:>14}",
                        "CONTRACT", "NAME", "RENEWAL", "NOTICE BY", "ENDS", "VALUE"
                    );
                    for r in &list {
                        println!(
                            "{:<20} {:<40} {:<10} {:<11} {:<11} {:>10} {}",
                            r.number,
                            r.name.chars().take(40).collect::<String>(),
                            r.renewal,
                            r.notice_deadline.to_string(),
                            if r.terms_renewed > 0 {
                                format!("{}*", r.end_date)
                            } else {
                                r.end_date.to_string()
                            },
                            r.value,
                            r.currency
                        );
                    }
                    println!("{} contract(s) end in the next {days} days", list.len());
                    if list.iter().any(|r| r.terms_renewed > 0) {
                        println!(
                            "* the current term of a contract that renewed automatically past its end date"
                        );
                    }
                }
            }
        }
        AssetsAction::Refresh { months, output } => {
            let plan = app.refresh_plan(&op, months).await?;
            match output {
                OutputFormat::Json => print_json(&plan)?,
                OutputFormat::Text => {
                    let codes =
                        cost_centre_codes(app, &op, plan.groups.iter().filter_map(|g| g.cost_centre_id))
                            .await;
                    println!("refresh plan until {}:", plan.until);
                    println!(
                        "  {:<36} {:>11} {:>6} {:>7} {:<10} {:>14}",
                        "MODEL", "COST CENTRE", "COUNT", "DUE NOW", "FIRST DUE", "BUDGET"
                    );
                    for g in &plan.groups {
                        let cc = g.cost_centre_id.map_or_else(|| "-".into(), |c| code_of(&codes, c));
                        let budget = g.budget.as_ref().map(|b| format!("{b} {}", g.currency));
                        println!(
                            "  {:<36} {cc:>11} {:>6} {:>7} {:<10} {:>14}",
                            g.model.chars().take(36).collect::<String>(),
                            g.count,
                            g.already_due,
                            g.first_due.to_string(),
                            budget.unwrap_or_else(|| "unpriced".into())
                        );
                    }
                    let due: usize = plan.groups.iter().map(|g| g.already_due).sum();
                    println!("{due} of them are due already (out of support or past their end of life)");
                    for (cur, total) in &plan.total {
                        println!("budget {total} {cur}");
                    }
                    match (&plan.reporting_total, &plan.reporting_missing) {
                        (Some(r), _) if !r.rates.is_empty() => {
                            let rates: Vec<String> = r
                                .rates
                                .iter()
                                .map(|(c, rate, on)| {
                                    let shown = itemize_app::rates::rate_text(rate);
                                    format!("1 {c} = {shown} {} on {on}", r.currency)
                                })
                                .collect();
                            println!(
                                "budget all together {} {} ({})",
                                r.amount,
                                r.currency,
                                rates.join(", ")
                            );
                        }
                        (None, Some(missing)) => println!("no budget in the reporting currency: {missing}"),
                        _ => {}
                    }
                }
            }
        }
        AssetsAction::Governance { output } => {
            let g = app.asset_governance(&op).await?;
            match output {
                OutputFormat::Json => print_json(&g)?,
                OutputFormat::Text => {
                    println!("{} assets", g.assets);
                    for (field, share) in &g.coverage {
                        println!("  {field:<16} {share}%");
                    }
                    for (state, n) in &g.by_state {
                        println!("  state {state:<12} {n}");
                    }
                    println!("{} asset(s) break the required-field policy", g.violations.len());
                }
            }
        }
        AssetsAction::Depreciation { period, from, to, output } => {
            let periods = match (period, from, to) {
                (Some(p), None, None) => vec![p],
                (None, Some(a), Some(b)) => months(&a, &b)?,
                _ => bail!("give --period YYYY-MM, or --from YYYY-MM and --to YYYY-MM"),
            };
            let mut posted = Vec::new();
            for p in &periods {
                let d = app.post_depreciation(&op, p).await?;
                if output == OutputFormat::Text {
                    let totals: Vec<String> = d.totals.iter().map(|(c, t)| format!("{t} {c}")).collect();
                    println!(
                        "{}: {} lines ({} assets, {} write-offs, {} reinstatements), {}; ledger import {} ({})",
                        d.period,
                        d.lines,
                        d.assets,
                        d.write_offs,
                        d.reinstatements,
                        totals.join(" + "),
                        d.import.id,
                        d.import.message.clone().unwrap_or_else(|| d.import.status.clone())
                    );
                }
                posted.push(d);
            }
            if output == OutputFormat::Json {
                print_json(&posted)?;
            }
        }
        AssetsAction::ResourceCost { key, output } => {
            let a = app.find_asset(&op, &key).await?;
            let c = app.asset_resource_cost(&op, a.id).await?;
            match output {
                OutputFormat::Json => print_json(&c)?,
                OutputFormat::Text => {
                    println!("{} ({}): {} lines", a.fields.tag, c.resource_id, c.lines);
                    for (p, eff, billed) in &c.months {
                        println!("  {p}  effective {eff:>12}  billed {billed:>12} {}", c.currency);
                    }
                    println!(
                        "  total    effective {:>12}  billed {:>12} {}",
                        c.effective_total, c.billed_total, c.currency
                    );
                }
            }
        }
        AssetsAction::Audit { verb, target, inputs, mark_missing, output } => {
            audit(app, verb, target, inputs, mark_missing, output).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn audit(
    app: &App,
    verb: AuditVerb,
    target: Option<String>,
    inputs: Vec<String>,
    mark_missing: bool,
    output: OutputFormat,
) -> anyhow::Result<()> {
    let op = operator();
    let id = || -> anyhow::Result<i64> {
        let t = target.as_deref().context("give the audit's id")?;
        t.parse().with_context(|| format!("{t:?} is not an audit id"))
    };
    let view = match verb {
        AuditVerb::Start => {
            let code = target.as_deref().context("give the location code to audit")?;
            app.start_audit(&op, location_id(app, code).await?).await?
        }
        AuditVerb::Scan => {
            let audit = id()?;
            let mut lines = inputs;
            if lines.is_empty() {
                // A barcode scanner types each label followed by Enter.
                lines = std::io::stdin().lines().collect::<Result<Vec<_>, _>>()?;
            }
            for input in lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
                let row = app.scan(&op, audit, input).await?;
                if output == OutputFormat::Text {
                    println!("{input}: {}", row.result);
                }
            }
            app.audit_view(&op, audit).await?
        }
        AuditVerb::Close => app.close_audit(&op, id()?, mark_missing).await?,
        AuditVerb::Show => app.audit_view(&op, id()?).await?,
        AuditVerb::List => {
            let list = app.audits(&op).await?;
            match output {
                OutputFormat::Json => print_json(&list)?,
                OutputFormat::Text => {
                    for a in &list {
                        println!(
                            "audit {} at location {}: {} — {} expected, {} found, {} missing, {} unexpected, accuracy {}%",
                            a.id,
                            a.location_id,
                            a.status,
                            a.expected,
                            a.found.len(),
                            a.missing.len(),
                            a.unexpected.len(),
                            a.accuracy
                        );
                    }
                }
            }
            return Ok(());
        }
    };
    match output {
        OutputFormat::Json => print_json(&view)?,
        OutputFormat::Text => println!(
            "audit {} ({}): {} expected, {} found, {} missing, {} unexpected, {} unknown; accuracy {}%",
            view.id,
            view.status,
            view.expected,
            view.found.len(),
            view.missing.len(),
            view.unexpected.len(),
            view.unknown.len(),
            view.accuracy
        ),
    }
    Ok(())
}

/// `itemize import snipe-it PATH...`: a Snipe-IT export, as files or a directory of them, in one command —
/// locations, then users, then assets, all in one transaction (with --lenient, the good rows of each); the
/// files of Snipe-IT's that itemize does not import are named as skipped, with why. A file that fails stops
/// the run and nothing is written.
pub async fn import_snipe_it(
    app: &App,
    paths: &[PathBuf],
    dry_run: bool,
    lenient: bool,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    use itemize_app::snipe::SnipeStep;
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    let mut read = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
        read.push((f.display().to_string(), bytes));
    }
    let run = app.import_snipe_it(&operator(), read, dry_run, lenient).await?;
    let mut failed = None;
    for (name, step) in &run.steps {
        match step {
            SnipeStep::Skipped(why) => println!("{name}: skipped: {why}"),
            SnipeStep::Refdata(r) => {
                crate::cli::print_report(name, r, output)?;
                if !r.is_ok() {
                    failed = Some(name);
                }
            }
            SnipeStep::Assets(r) => {
                print_asset_import(name, r, output)?;
                if !r.ok() {
                    failed = Some(name);
                }
            }
        }
    }
    if let Some(name) = failed {
        if output != OutputFormat::Json {
            println!(
                "nothing was imported: {name} failed, and the export lands whole or not at all (fix it, or \
                 --lenient to leave out the rows that fail)"
            );
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The codes of the cost centres a report names (those the operator may read).
async fn cost_centre_codes(
    app: &App,
    op: &itemize_app::Actor,
    ids: impl Iterator<Item = i64>,
) -> std::collections::HashMap<i64, String> {
    let mut out = std::collections::HashMap::new();
    for id in ids {
        if let std::collections::hash_map::Entry::Vacant(e) = out.entry(id)
            && let Ok(cc) = app.get::<CostCentre>(op, id).await
        {
            e.insert(cc.fields.code);
        }
    }
    out
}

/// A cost centre's code, or its id when it cannot be read.
fn code_of(codes: &std::collections::HashMap<i64, String>, id: i64) -> String {
    codes.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
}
