//! Cost-ingest benchmark: generated FOCUS 1.3 files shaped like the FinOps Foundation's samples (65 columns,
//! JSON tags), read and written to a lake file by the reader and the lake writer alone, then imported end to end
//! (hash, keep the raw file, detect, parse, validate, normalize, convert the currency, write the Parquet lake,
//! commit the manifest), on one core and on two files at once; peak memory; and the same file read and grouped
//! by a tag with DuckDB in the same run, when DuckDB can be imported.
//!
//! `cargo bench -p itemize --bench cost_ingest` (ITEMIZE_BENCH_ROWS sets the rows per file, default
//! 500,000 ≈ 0.6 GB; 1,800,000 gives a file over 2 GB; ITEMIZE_BENCH_PYTHON names a Python with duckdb).

#![allow(clippy::disallowed_methods)] // a benchmark measures wall-clock time

use itemize_app::Actor;
use itemize_app::cost::{ImportOptions, Progress};
use itemize_app::ledger::{Dimension, LedgerQuery};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const TEMPLATE: &str = "../../../shared/fixtures/focus-1.3/aws/focus_1_3_cost_and_usage_aws.csv";

mod common;
use common::{Rng, app};

/// Writes `rows` lines: the fixture's rows in turn, each with fresh costs and a team tag.
fn generate(path: &Path, rows: usize, seed: u64) -> u64 {
    let template = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(TEMPLATE);
    let mut r = csv::Reader::from_path(&template).expect("the shared fixtures beside the checkout");
    let header = r.headers().unwrap().clone();
    let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let costs = [col("BilledCost"), col("EffectiveCost"), col("ListCost"), col("ContractedCost")];
    let tags = col("Tags");
    let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(path).unwrap(),
    ));
    w.write_record(&header).unwrap();
    let mut rng = Rng(seed);
    let mut row: Vec<String> = Vec::new();
    for i in 0..rows {
        row.clear();
        row.extend(records[i % records.len()].iter().map(str::to_string));
        let micros = rng.next() % 50_000_000;
        let cost = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
        for c in costs {
            row[c] = cost.clone();
        }
        let team = rng.next() % 24;
        row[tags] = if team == 0 {
            String::new() // untagged
        } else {
            format!(r#"{{"team":"team-{team}","env":"prod","application":"app-{}"}}"#, rng.next() % 200)
        };
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// Reads `file` with the FOCUS reader into one record a row and writes every row into one lake file at a rate
/// of 1: the rows read.
fn reader_and_lake_alone(file: &Path, out: &Path) -> usize {
    use itemize_ingest::lake::{Conversion, LakeWriter};
    use itemize_ingest::source::{self, Stream};
    let usd = itemize_core::Currency::USD;
    let src = source::open(file, None, None, Default::default()).unwrap();
    let Stream::Cost(mut rows) = src.stream else { panic!("a cost file") };
    let conv = Conversion { reporting_currency: usd, rate: 1.into(), rate_date: None };
    let mut w = LakeWriter::create(out).unwrap();
    let mut rec = itemize_ingest::FocusRecord::blank(0, usd);
    let mut n = 0;
    while let Some(r) = rows.next_into(&mut rec) {
        r.unwrap();
        w.push(&rec, &conv).unwrap();
        n += 1;
    }
    w.finish().unwrap();
    let _ = std::fs::remove_file(out);
    n
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let rows: usize =
        std::env::var("ITEMIZE_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(500_000);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let actor = Actor::system("bench");

    let file = dir.path().join("focus13.csv");
    let t = Instant::now();
    let bytes = generate(&file, rows, 1);
    println!("generated {rows} rows, {:.2} GB, in {:.1} s", bytes as f64 / 1e9, t.elapsed().as_secs_f64());

    // One file: one core does the reading, converting and writing.
    let app1 = rt.block_on(app(&dir.path().join("one")));
    let t = Instant::now();
    let s = rt
        .block_on(app1.import_cost_file(
            &actor,
            &file,
            ImportOptions::default(),
            Arc::new(Progress::default()),
        ))
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let import_secs = secs;
    assert_eq!((s.status.as_str(), s.rows_ingested as usize), ("active", rows), "{:?}", s.message);
    println!(
        "one file, end to end:   {:>10.0} rows/s  {:>7.1} MB/s  ({rows} rows in {secs:.2} s)",
        rows as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    if let Some(p) = &s.phases {
        let rate = |ms: u64| rows as f64 / (ms.max(1) as f64 / 1000.0);
        println!(
            "  of which: hash {} ms, keep the raw file {} ms, parse to lake {} ms ({:.0} rows/s), commit {} ms",
            p.hash_ms,
            p.keep_raw_ms,
            p.read_ms,
            rate(p.read_ms),
            p.commit_ms
        );
    }
    println!("peak memory (VmHWM):    {:>10.0} MB", peak_rss_mb());

    // The reader and the lake writer alone, without the import around them (checks, conversion, totals,
    // partitions): where the per-row cost of parsing and writing is measured. After the peak memory above, which
    // is the import's.
    let t = Instant::now();
    let n = reader_and_lake_alone(&file, &dir.path().join("alone.parquet"));
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(n, rows);
    println!(
        "reader and lake alone:  {:>10.0} rows/s  ({:.2} µs a row)",
        rows as f64 / secs,
        secs * 1e6 / rows as f64
    );

    // The ledger grouped by a tag over the lake just written.
    let q = LedgerQuery { group_by: vec![Dimension::Tag("team".into())], ..Default::default() };
    let t = Instant::now();
    let r = rt.block_on(app1.ledger_totals(&actor, &q)).unwrap();
    let itemize_group = t.elapsed().as_secs_f64();
    println!(
        "ledger by tag:team:     {:>10.2} s  ({} groups, {} lines)",
        itemize_group,
        r.rows.len(),
        r.total.lines
    );

    // Two files at once on two cores.
    if std::env::var("ITEMIZE_BENCH_SKIP_PARALLEL").is_err() {
        let file2 = dir.path().join("focus13-b.csv");
        generate(&file2, rows, 2);
        let app2 = rt.block_on(app(&dir.path().join("two")));
        let t = Instant::now();
        let (a, b) = rt.block_on(async {
            let x =
                app2.import_cost_file(&actor, &file, ImportOptions::default(), Arc::new(Progress::default()));
            let y = app2.import_cost_file(
                &actor,
                &file2,
                ImportOptions::default(),
                Arc::new(Progress::default()),
            );
            tokio::join!(x, y)
        });
        let secs = t.elapsed().as_secs_f64();
        assert!(a.unwrap().is_ok() && b.unwrap().is_ok());
        println!(
            "two files at once:      {:>10.0} rows/s  ({} rows in {secs:.2} s)",
            2.0 * rows as f64 / secs,
            2 * rows
        );
        let _ = std::fs::remove_file(&file2);
    }

    // DuckDB on the same file: read_csv and GROUP BY a tag, exact decimals.
    let python = std::env::var("ITEMIZE_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = format!(
        "import duckdb,time\nduckdb.sql(\"SET enable_progress_bar=false\")\nt=time.time()\nr=duckdb.sql(\"SELECT json_extract_string(NULLIF(Tags, \'\'),'$.team') AS team, \
         sum(CAST(BilledCost AS DECIMAL(38,10))) FROM read_csv('{}', all_varchar=true) GROUP BY 1\").fetchall()\n\
         print(len(r), time.time()-t)\n",
        file.display()
    );
    match std::process::Command::new(&python).args(["-c", &script]).output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let last = text.lines().last().unwrap_or_default();
            let Some(secs) = last.split_whitespace().nth(1).and_then(|s| s.parse::<f64>().ok()) else {
                println!("duckdb: unexpected output {text:?}");
                return;
            };
            println!("duckdb read+group:      {:>10.2} s  ({:.0} rows/s)", secs, rows as f64 / secs);
            println!("ratio: itemize's whole import takes {:.2}x DuckDB's read+group", import_secs / secs);
        }
        Ok(out) => println!("duckdb: failed: {}", String::from_utf8_lossy(&out.stderr).trim()),
        Err(_) => {
            println!("duckdb: not run ({python} cannot run; pip install duckdb, or set ITEMIZE_BENCH_PYTHON)")
        }
    }
    let _ = std::io::stdout().flush();
}
