//! Re-allocation benchmark: twelve months of generated FOCUS 1.3 lines (shaped like the FinOps Foundation's AWS
//! sample: tags with cost-centre spellings, tens of thousands of resources) imported into a SQLite store, then
//! every month allocated end to end (lake read, classification, pool splits, cube written in one transaction):
//! once period after period, once as two halves at once (two cores). Then showback statements and a
//! twelve-month cube query by cost centre, p50 and p99 over repeated calls.
//!
//! `cargo bench -p itemize --bench reallocation` (ITEMIZE_BENCH_MONTH_LINES sets the lines per month, default
//! 1,000,000; the import that sets the months up takes most of the run).

#![allow(clippy::disallowed_methods)] // a benchmark measures wall-clock time

use itemize_app::Actor;
use itemize_app::allocation::{Measure, StatementBy};
use itemize_app::cost::{ImportOptions, Progress};
use itemize_app::insight::CubeQuery;
use itemize_core::refdata::CostCentre;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TEMPLATE: &str = "../../../shared/fixtures/focus-1.3/aws/focus_1_3_cost_and_usage_aws.csv";

mod common;
use common::{Rng, app};

fn period(i: usize) -> String {
    let m = 5 + i; // 2025-06 onwards
    format!("{}-{:02}", 2025 + m / 12, m % 12 + 1)
}

/// Writes a month of `rows` lines: the sample's rows in turn, dated in `p`, with fresh costs, resources and tags.
fn generate(path: &Path, p: &str, next: &str, rows: usize, seed: u64) {
    let template = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(TEMPLATE);
    let mut r = csv::Reader::from_path(&template).expect("the shared fixtures beside the checkout");
    let header = r.headers().unwrap().clone();
    let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let costs = [col("BilledCost"), col("EffectiveCost"), col("ListCost"), col("ContractedCost")];
    let (bps, bpe, cps, cpe) = (
        col("BillingPeriodStart"),
        col("BillingPeriodEnd"),
        col("ChargePeriodStart"),
        col("ChargePeriodEnd"),
    );
    let (tags, resource) = (col("Tags"), col("ResourceId"));
    let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(path).unwrap(),
    ));
    w.write_record(&header).unwrap();
    let mut rng = Rng(seed);
    let ccs = ["cc-1042", "cc-3110", "cc-2087"];
    let mut row: Vec<String> = Vec::new();
    for i in 0..rows {
        row.clear();
        row.extend(records[i % records.len()].iter().map(str::to_string));
        let day = i * 28 / rows + 1;
        row[bps] = format!("{p}-01T00:00:00Z");
        row[bpe] = format!("{next}-01T00:00:00Z");
        row[cps] = format!("{p}-{day:02}T00:00:00Z");
        row[cpe] = format!("{p}-{day:02}T23:00:00Z");
        let micros = rng.next() % 50_000_000;
        let cost = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
        for c in costs {
            row[c] = cost.clone();
        }
        if !row[resource].is_empty() {
            row[resource] = format!("{}-{}", row[resource], rng.next() % 30_000);
        }
        let t = rng.next();
        row[tags] = if t.is_multiple_of(10) {
            String::new() // untagged
        } else {
            format!(
                r#"{{"Environment":"prod","CostCenter":"{}","team":"team-{}"}}"#,
                ccs[(t >> 8) as usize % 3],
                (t >> 16) % 24
            )
        };
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
}

const RULES: &str = r#"name = "bench"
effective_from = "2025-01"
[tag_aliases]
cost_centre = ["CostCenter", "cost-center"]
[[ownership]]
when = { sub_account = "200000000014" }
cost_centre = "CC-IT"
[[tag]]
when = { "tag:cost_centre" = { present = true } }
cost_centre_from = "tag:cost_centre"
[[default]]
when = { account = { present = true } }
cost_centre = "CC-IT"
[[pool]]
name = "tax"
when = { charge_category = "Tax" }
split = "proportional"
[[pool]]
name = "support"
when = { service_name = { matches = "(?i)support" } }
split = "even"
"#;

fn percentiles(mut d: Vec<Duration>) -> (f64, f64) {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1e3;
    (ms(d[d.len() / 2]), ms(d[(d.len() * 99).div_ceil(100) - 1]))
}

fn main() {
    let lines: usize =
        std::env::var("ITEMIZE_BENCH_MONTH_LINES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let actor = Actor::system("bench");
    let a = rt.block_on(app(&dir.path().join("app")));
    for (code, name) in
        [("cc-1042", "Analytics"), ("cc-3110", "Billing"), ("cc-2087", "Search"), ("CC-IT", "IT")]
    {
        rt.block_on(a.create::<CostCentre>(&actor, serde_json::json!({"code": code, "name": name}))).unwrap();
    }
    let t = Instant::now();
    for i in 0..12 {
        let file = dir.path().join(format!("month-{i}.csv"));
        generate(&file, &period(i), &period(i + 1), lines, i as u64 + 1);
        let s = rt
            .block_on(a.import_cost_file(
                &actor,
                &file,
                ImportOptions::default(),
                Arc::new(Progress::default()),
            ))
            .unwrap();
        assert_eq!(s.status, "active", "{:?}", s.message);
        std::fs::remove_file(&file).unwrap();
    }
    eprintln!("set up 12 months of {lines} lines in {:.1} s", t.elapsed().as_secs_f64());
    rt.block_on(a.save_rule_set(&actor, RULES)).unwrap();
    let (first, last) = (period(0), period(11));

    // Period after period, one core busy at a time.
    let t = Instant::now();
    let runs = rt.block_on(a.allocate_range(&actor, &first, &last)).unwrap();
    let serial = t.elapsed();
    assert_eq!(runs.len(), 12);
    let cells: i64 = runs.iter().map(|r| r.cells).sum();
    // Two halves at once: two cores.
    let t = Instant::now();
    let (mid, mid1) = (period(5), period(6));
    let (x, y) = rt.block_on(async {
        tokio::join!(a.allocate_range(&actor, &first, &mid), a.allocate_range(&actor, &mid1, &last))
    });
    let parallel = t.elapsed();
    assert_eq!(x.unwrap().len() + y.unwrap().len(), 12);
    let total = (12 * lines) as f64;
    println!(
        "re-allocating 12 months x {lines} lines ({cells} cube cells): one period at a time {:.1} s ({:.0} lines/s); \
         two at once {:.1} s ({:.0} lines/s)",
        serial.as_secs_f64(),
        total / serial.as_secs_f64(),
        parallel.as_secs_f64(),
        total / parallel.as_secs_f64()
    );

    // Showback statements of each month, and the twelve months by cost centre from the cube.
    let mut statements = Vec::new();
    for _ in 0..20 {
        for i in 0..12 {
            let t = Instant::now();
            let st = rt
                .block_on(a.showback(&actor, &period(i), StatementBy::CostCentre, Measure::Effective))
                .unwrap();
            statements.push(t.elapsed());
            assert!(!st.rows.is_empty());
        }
    }
    let q = CubeQuery::from_params(&[
        ("from".into(), first.clone()),
        ("to".into(), last.clone()),
        ("group_by".into(), "cost_centre".into()),
    ])
    .unwrap();
    let mut trend = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let r = rt.block_on(a.cube_query(&actor, &q)).unwrap();
        trend.push(t.elapsed());
        assert!(r.rows.len() >= 12);
    }
    let (s50, s99) = percentiles(statements);
    let (t50, t99) = percentiles(trend);
    println!(
        "showback statement (one month, by cost centre, with month-over-month): p50 {s50:.2} ms, p99 {s99:.2} ms; \
         twelve months by cost centre (cube query): p50 {t50:.2} ms, p99 {t99:.2} ms"
    );
}
