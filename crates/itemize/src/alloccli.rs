//! Allocation's commands: `allocate`, `rules validate|apply|preview|list`, `report showback`, `import metrics`.

use crate::cli::{OutputFormat, operator};
use anyhow::{Context, bail};
use itemize_app::App;
use itemize_app::allocation::{Measure, RunView, Statement, StatementBy, statement_csv, statement_xlsx};
use std::path::Path;
use std::process::ExitCode;

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn print_run(r: &RunView) {
    let share = if r.effective_total.is_zero() {
        "-".to_string()
    } else {
        format!("{:.1}%", r.unallocated_effective * itemize_app::allocation::HUNDRED / r.effective_total)
    };
    println!(
        "  {}  {:>8} lines → {:>6} cells  effective {:>16}  billed {:>16}  unallocated {:>14} ({share})  {} ms",
        r.period,
        r.lines,
        r.cells,
        r.effective_total.round_dp(2),
        r.billed_total.round_dp(2),
        r.unallocated_effective.round_dp(2),
        r.duration_ms
    );
}

/// `itemize allocate --period P` or `--from A --to B`.
pub async fn allocate(
    app: &App,
    period: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let runs = match (period, from, to) {
        (Some(p), None, None) => vec![app.allocate_period(&operator(), p).await?],
        (None, Some(a), Some(b)) => app.allocate_range(&operator(), a, b).await?,
        _ => bail!("give --period YYYY-MM, or --from YYYY-MM and --to YYYY-MM"),
    };
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
    } else if runs.is_empty() {
        println!("no billing period in that range has ledger data");
    } else {
        println!("allocated {} period(s):", runs.len());
        runs.iter().for_each(print_run);
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RulesVerb {
    /// Check a rule-set file against the reference data; nothing is saved.
    Validate,
    /// Save the file as a new version and re-allocate the open periods it governs.
    Apply,
    /// Show what the file would change in --period, without saving it.
    Preview,
}

pub async fn rules(
    app: &App,
    verb: Option<RulesVerb>,
    file: Option<&Path>,
    period: Option<&str>,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let Some(verb) = verb else {
        let sets = app.rule_sets(&operator()).await?;
        if output == OutputFormat::Json {
            println!("{}", serde_json::to_string_pretty(&sets)?);
        } else {
            for s in sets {
                println!(
                    "{:>4}  from {}  {:<30} by {} at {}",
                    s.id, s.effective_from, s.name, s.created_by, s.created_at
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    let Some(file) = file else { bail!("give the rule-set file (TOML)") };
    let text = read(file)?;
    match verb {
        RulesVerb::Validate => match app.validate_rules(&operator(), &text).await {
            Ok(msg) => {
                println!("{}: {msg}", file.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(itemize_app::AppError::BadRequest { details, .. }) => {
                eprintln!("{}: {} problem(s):", file.display(), details.len());
                for d in details {
                    eprintln!("  {}", d.problem);
                }
                Ok(ExitCode::FAILURE)
            }
            Err(e) => Err(e.into()),
        },
        RulesVerb::Apply => {
            let applied = app.apply_rule_set(&operator(), &text).await?;
            if output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&applied)?);
            } else {
                println!(
                    "saved rule set {:?} as version {} (effective from {}); re-allocated {} period(s):",
                    applied.rule_set.name,
                    applied.rule_set.id,
                    applied.rule_set.effective_from,
                    applied.runs.len()
                );
                applied.runs.iter().for_each(print_run);
                if !applied.closed_skipped.is_empty() {
                    println!("closed, left as they are: {}", applied.closed_skipped.join(", "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesVerb::Preview => {
            let Some(period) = period else { bail!("preview needs --period YYYY-MM") };
            let p = app.preview_rules(&operator(), &text, period).await?;
            if output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                println!(
                    "{} under {:?}: unallocated {} → {}",
                    p.period,
                    p.rule_set,
                    p.unallocated_before.round_dp(2),
                    p.unallocated_after.round_dp(2)
                );
                if let Some(n) = &p.note {
                    println!("{n}");
                }
                println!("biggest movers (effective cost):");
                for m in &p.biggest_movers {
                    println!(
                        "  {:<28} {:>14} → {:>14}  ({:+})",
                        m.target,
                        m.before.round_dp(2),
                        m.after.round_dp(2),
                        m.change.round_dp(2)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
    Xlsx,
}

fn table(st: &Statement) -> String {
    let mut s = format!(
        "Showback {} by {} ({} cost, {}), compared with {}\n",
        st.period,
        if st.by == StatementBy::Service { "service" } else { "cost centre" },
        if st.measure == Measure::Billed { "billed" } else { "amortized" },
        st.reporting_currency,
        st.previous_period
    );
    if !st.allocated {
        s.push_str(&format!(
            "({} has not been allocated: run `itemize allocate --period {}`)\n",
            st.period, st.period
        ));
    }
    s.push_str(&format!(
        "{:<12} {:<38} {:>16} {:>16} {:>9}\n",
        "code", "name", "amount", "previous", "change"
    ));
    for r in st.rows.iter().chain(std::iter::once(&st.total)) {
        let pct = r.change_pct.map(|p| format!("{p:+}%")).unwrap_or_else(|| "new".into());
        let name: String = r.name.chars().take(38).collect();
        let own = match &r.local {
            Some(l) => match l.amount {
                Some(a) => format!("  = {a} {}", l.currency),
                None => format!("  (no {} rate)", l.currency),
            },
            None => String::new(),
        };
        s.push_str(&format!(
            "{:<12} {:<38} {:>16} {:>16} {:>9}{own}\n",
            r.code.as_deref().unwrap_or(""),
            name,
            r.amount.round_dp(2),
            r.previous.round_dp(2),
            pct
        ));
    }
    // The rates behind "= … EUR": one line each (or the rate missing).
    for r in st.own_rates() {
        s.push_str(&format!("own currency at the month's last day: {r}\n"));
    }
    s
}

/// `itemize report showback --period P --by cost-center|service [--format …] [--measure billed] [--out FILE]`.
pub async fn showback(
    app: &App,
    period: &str,
    by: &str,
    measure: &str,
    format: ReportFormat,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let Some(by) = StatementBy::parse(by) else { bail!("--by takes cost-center or service, not {by:?}") };
    let Some(measure) = Measure::parse(measure) else {
        bail!("--measure takes effective or billed, not {measure:?}")
    };
    let st = app.showback(&operator(), period, by, measure).await?;
    let bytes = match format {
        ReportFormat::Table => table(&st).into_bytes(),
        ReportFormat::Csv => statement_csv(&st).into_bytes(),
        ReportFormat::Json => serde_json::to_vec_pretty(&st)?,
        ReportFormat::Xlsx => statement_xlsx(&st)?,
    };
    match out {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote the {} statement to {}", st.period, path.display());
        }
        None if format == ReportFormat::Xlsx => bail!("an XLSX statement needs --out FILE"),
        None => {
            use std::io::Write;
            std::io::stdout().lock().write_all(&bytes)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `itemize report hygiene --from YYYY-MM --period YYYY-MM [--format table|json]`.
pub async fn hygiene(
    app: &App,
    from: &str,
    to: &str,
    format: ReportFormat,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let h = app.tag_hygiene(&operator(), from, to, 20).await?;
    let text = match format {
        ReportFormat::Json => serde_json::to_string_pretty(&h)?,
        ReportFormat::Table => {
            use std::fmt::Write;
            let mut t = String::new();
            let _ = writeln!(
                t,
                "tag hygiene {}..{} ({}): {} effective, {} untagged ({}%)",
                h.from,
                h.to,
                h.currency,
                h.effective.round_dp(2),
                h.untagged_effective.round_dp(2),
                h.untagged_share
            );
            let _ = writeln!(t, "\n{:<32} {:>18} {:>8}", "tag key", "covered", "share %");
            for k in h.keys.iter().take(20) {
                let _ = writeln!(t, "{:<32} {:>18} {:>8}", k.key, k.effective.round_dp(2), k.share);
            }
            let _ = writeln!(
                t,
                "\n{:<8} {:>18} {:>10} {:>14}",
                "period", "effective", "untagged %", "unallocated %"
            );
            for p in &h.periods {
                let un = p.unallocated_share.map_or_else(|| "not allocated".to_string(), |s| s.to_string());
                let _ = writeln!(
                    t,
                    "{:<8} {:>18} {:>10} {:>14}",
                    p.period,
                    p.effective.round_dp(2),
                    p.untagged_share,
                    un
                );
            }
            let _ = writeln!(t, "\ndearest untagged resources:");
            for r in &h.top_untagged {
                let _ = writeln!(
                    t,
                    "  {:>14}  {}  {} / {}",
                    r.effective.round_dp(2),
                    r.resource_id,
                    r.provider,
                    r.account
                );
            }
            t
        }
        other => bail!("the hygiene report is a table or JSON, not {other:?}"),
    };
    match out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `itemize import metrics FILE…` (period,metric,target,value).
pub async fn import_metrics(app: &App, files: &[std::path::PathBuf]) -> anyhow::Result<ExitCode> {
    for f in files {
        let text = read(f)?;
        match app.import_metrics(&operator(), &text).await {
            Ok(n) => println!("{}: {n} metric values imported", f.display()),
            Err(itemize_app::AppError::Validation(problems)) => {
                eprintln!("{}: rejected, nothing imported:", f.display());
                for p in problems {
                    eprintln!("  {}: {}", p.field, p.problem);
                }
                return Ok(ExitCode::FAILURE);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `itemize export journal --period P [--out FILE]`.
pub async fn export_journal(app: &App, period: Option<&str>, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let Some(period) = period else { bail!("export journal needs --period YYYY-MM") };
    let j = app.journal(&operator(), period).await?;
    let text = itemize_app::allocation::journal_csv(&j);
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote {} journal lines for {} to {} (debits {} = credits {} {}; not charged: {} unallocated, {} \
                 the provider {}'s own use)",
                j.lines.len(),
                j.period,
                path.display(),
                j.total_debit,
                j.total_credit,
                j.currency,
                j.not_charged.round_dp(2),
                j.kept_by_provider.round_dp(2),
                j.provider_cost_centre
            );
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
