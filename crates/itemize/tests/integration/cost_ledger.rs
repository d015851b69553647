//! The cost ledger, end to end on both databases: the real-world fixtures land to the last digit, the same
//! file twice is a no-op, a restatement replaces atomically and keeps history, strict rejects and lenient
//! quarantines, a missing exchange rate is an error, queries prune partitions, and FOCUS exports read back.

use crate::harness::{TestApp, sys};
use itemize_app::cost::{ImportOptions, ImportSummary, Progress, Totals};
use itemize_app::focus_export::ExportFormat;
use itemize_app::ledger::{Dimension, LedgerQuery};
use itemize_ingest::cells::parse_decimal;
use itemize_store::PartitionFilter;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn fixture(rel: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures").join(rel);
    assert!(
        p.exists(),
        "fixture {} is missing: the shared fixtures must sit beside the checkout",
        p.display()
    );
    p
}

pub async fn import(t: &TestApp, path: &Path, opts: ImportOptions) -> ImportSummary {
    t.app.import_cost_file(&sys(), path, opts, Arc::new(Progress::default())).await.expect("import runs")
}

/// Sums of columns of a CSV file by (period, currency), computed with the csv crate and the decimal parser
/// alone: nothing of the readers.
fn independent(
    path: &Path,
    period_col: &str,
    currency_col: &str,
    cost_cols: &[&str],
    period_of: fn(&str) -> String,
) -> BTreeMap<(String, String), Vec<Decimal>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h: Vec<String> =
        r.headers().unwrap().iter().map(|s| s.trim_start_matches('\u{feff}').to_string()).collect();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap_or_else(|| panic!("no column {n}"));
    let (p, c) = (col(period_col), col(currency_col));
    let cols: Vec<usize> = cost_cols.iter().map(|n| col(n)).collect();
    let mut out: BTreeMap<(String, String), Vec<Decimal>> = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let e = out
            .entry((period_of(&rec[p]), rec[c].to_string()))
            .or_insert_with(|| vec![Decimal::ZERO; cols.len()]);
        for (i, &k) in cols.iter().enumerate() {
            let v = rec[k].trim();
            if !v.is_empty() && v != "NULL" {
                e[i] += parse_decimal(v).unwrap();
            }
        }
    }
    out
}

/// A line's four costs from its cells, looked up by column name (none when empty).
type LineCosts = dyn Fn(&dyn Fn(&str) -> Option<Decimal>) -> [Decimal; 4];

/// Sums of BilledCost, EffectiveCost, ListCost and ContractedCost by (period, currency) of a provider's native
/// file, each line's four costs worked out by `costs` from its cells (by column name) — the provider's own rules,
/// written here again with the csv crate and the decimal parser alone: nothing of the readers.
fn independent_costs(
    path: &Path,
    period_col: &str,
    currency_col: &str,
    period_of: fn(&str) -> String,
    costs: &LineCosts,
) -> BTreeMap<(String, String), [Decimal; 4]> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h: Vec<String> =
        r.headers().unwrap().iter().map(|s| s.trim_start_matches('\u{feff}').to_string()).collect();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap_or_else(|| panic!("no column {n}"));
    let mut out: BTreeMap<(String, String), [Decimal; 4]> = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let cell = |n: &str| {
            let v = rec[col(n)].trim();
            (!v.is_empty() && v != "NULL").then(|| parse_decimal(v).unwrap())
        };
        let four = costs(&cell);
        let e =
            out.entry((period_of(&rec[col(period_col)]), rec[col(currency_col)].to_string())).or_default();
        for (sum, v) in e.iter_mut().zip(four) {
            *sum += v;
        }
    }
    out
}

fn iso_month(v: &str) -> String {
    v[..7].to_string()
}

fn us_month(v: &str) -> String {
    // m/d/yyyy
    let mut it = v.split('/');
    let (m, _d, y) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
    format!("{y}-{:02}", m.parse::<u32>().unwrap())
}

fn ledger_sums(s: &ImportSummary) -> BTreeMap<(String, String), Totals> {
    let t = s.totals.as_ref().expect("totals");
    let mut out = BTreeMap::new();
    for (p, by) in &t.by_period {
        for (c, x) in by {
            out.insert((p.clone(), c.clone()), x.clone());
        }
    }
    out
}

async fn rates(t: &TestApp, csv: &str) {
    t.app.import_rates(&sys(), csv, "test").await.expect("rates import");
}

both!(every_fixture_lands_to_the_last_digit, |t| {
    // FOCUS files: all four costs, per billing period and currency.
    for rel in [
        "focus-1.0/focus_sample.csv",
        "focus-1.3/aws/focus_1_3_cost_and_usage_aws.csv",
        "focus-1.3/azure/focus_1_3_cost_and_usage_azure.csv",
        "focus-1.3/gcp/focus_1_3_cost_and_usage_gcp.csv",
    ] {
        let path = fixture(rel);
        let s = import(&t, &path, ImportOptions::default()).await;
        assert_eq!(s.status, "active", "{rel}: {:?}", s.message);
        let want = independent(
            &path,
            "BillingPeriodStart",
            "BillingCurrency",
            &["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"],
            iso_month,
        );
        let got = ledger_sums(&s);
        assert_eq!(got.len(), want.len(), "{rel}: the same periods and currencies");
        for (k, w) in &want {
            let g = &got[k];
            assert_eq!(
                (g.billed_cost, g.effective_cost, g.list_cost, g.contracted_cost),
                (w[0], w[1], w[2], w[3]),
                "{rel} {k:?}"
            );
        }
    }
    // Per invoice, on the file that carries invoice ids.
    let path = fixture("focus-1.3/aws/focus_1_3_cost_and_usage_aws.csv");
    let want = independent(&path, "InvoiceId", "BillingCurrency", &["BilledCost"], |v| v.to_string());
    let imports = t.app.cost_imports(&sys(), None, None, 100).await.unwrap();
    let aws13 = imports.iter().find(|i| i.file_name == "focus_1_3_cost_and_usage_aws.csv").unwrap();
    let by_invoice = &aws13.totals.as_ref().unwrap().by_invoice;
    assert!(want.len() > 1, "the fixture has several invoices");
    for ((inv, ccy), w) in &want {
        assert_eq!(by_invoice[inv][ccy].billed_cost, w[0], "invoice {inv}");
    }

    // AWS CUR (legacy): BilledCost is the unblended cost.
    let path = fixture("aws-cur/sample-anonymous-aws-export-dataset.csv");
    let s = import(&t, &path, ImportOptions::default()).await;
    assert_eq!(
        (s.status.as_str(), s.format.as_deref(), s.format_version.as_deref()),
        ("active", Some("aws-cur"), Some("legacy"))
    );
    // All four costs, by AWS's CUR-to-FOCUS rules for the sample's line types (usage and tax): billed, effective
    // and contracted are the unblended cost, list the public on-demand cost where there is one.
    let types: std::collections::BTreeSet<String> = csv::Reader::from_path(&path)
        .unwrap()
        .deserialize::<BTreeMap<String, String>>()
        .map(|r| r.unwrap()["lineItem/LineItemType"].clone())
        .collect();
    assert_eq!(types, ["Tax".to_string(), "Usage".to_string()].into(), "the rules below cover these types");
    let want =
        independent_costs(&path, "bill/BillingPeriodStartDate", "lineItem/CurrencyCode", iso_month, &|c| {
            let unblended = c("lineItem/UnblendedCost").unwrap();
            [unblended, unblended, c("pricing/publicOnDemandCost").unwrap_or(unblended), unblended]
        });
    assert!(!want.is_empty());
    for (k, w) in &want {
        let g = &ledger_sums(&s)[k];
        assert_eq!([g.billed_cost, g.effective_cost, g.list_cost, g.contracted_cost], *w, "CUR {k:?}");
    }

    // Azure EA in CAD: refused without a rate, naming the currency and the date; exact once rates exist.
    let path = fixture("azure-ea/sample-anonymous-ea-export-dataset.csv");
    let s = import(&t, &path, ImportOptions::default()).await;
    assert_eq!(s.status, "rejected");
    let first = &s.report.as_ref().unwrap().errors[0];
    assert_eq!(first.column.as_deref(), Some("BillingCurrency"));
    assert_eq!(first.value.as_deref(), Some("CAD"));
    assert!(first.reason.contains("CAD to USD") && first.reason.contains("2023-09-02"), "{}", first.reason);
    // What to do next is said for every way in, not only the command line.
    assert!(first.reason.contains("POST /api/v1/cost/rates"), "{}", first.reason);
    let message = s.message.clone().unwrap_or_default();
    assert!(message.contains("lenient=true in the API") && message.contains("--lenient"), "{message}");
    rates(&t, "date,from,to,rate\n2023-09-01,CAD,USD,0.7391\n").await;
    let s = import(&t, &path, ImportOptions::default()).await;
    assert_eq!(s.status, "active", "{:?}", s.message);
    // Grouped by billing currency, the ledger gives each currency's amounts as the invoice does, beside the
    // reporting currency's: the Canadian bill in dollars Canadian, to the cent of the import's own totals.
    let q = LedgerQuery::from_params(&[
        ("group_by".into(), "billing_currency".into()),
        ("from".into(), "2023-09".into()),
        ("to".into(), "2023-09".into()),
    ])
    .unwrap();
    let totals = t.app.ledger_totals(&sys(), &q).await.unwrap();
    let cad = totals.rows.iter().find(|r| r.keys == [Some("CAD".to_string())]).expect("a CAD group");
    let own = &s.totals.as_ref().unwrap().by_period["2023-09"]["CAD"];
    assert_eq!(cad.billed_cost_in_billing_currency, Some(own.billed_cost));
    assert_eq!(cad.billed_cost, own.billed_cost_reporting);
    assert_ne!(cad.billed_cost, own.billed_cost, "the reporting currency's is another amount");
    assert_eq!(totals.total.billed_cost_in_billing_currency, None, "no sum of several currencies");
    // All four, by Microsoft's rules for the sample's charges (on-demand and spot usage, no commitments): billed
    // and effective are the cost, list the pay-as-you-go price × quantity, contracted the unit price × quantity.
    let charges: std::collections::BTreeSet<(String, String)> = csv::Reader::from_path(&path)
        .unwrap()
        .deserialize::<BTreeMap<String, String>>()
        .map(|r| {
            let r = r.unwrap();
            (r["ChargeType"].clone(), r["PricingModel"].clone())
        })
        .collect();
    assert_eq!(
        charges,
        [("Usage".to_string(), "OnDemand".to_string()), ("Usage".into(), "Spot".into())].into(),
        "the rules below cover these charges"
    );
    let want = independent_costs(&path, "BillingPeriodStartDate", "BillingCurrencyCode", us_month, &|c| {
        let cost = c("CostInBillingCurrency").unwrap();
        let times = |price: &str| match (c(price), c("Quantity")) {
            (Some(p), Some(q)) => p * q,
            _ => cost,
        };
        [cost, cost, times("PayGPrice"), times("UnitPrice")]
    });
    assert!(!want.is_empty());
    for (k, w) in &want {
        let g = &ledger_sums(&s)[k];
        assert_eq!([g.billed_cost, g.effective_cost, g.list_cost, g.contracted_cost], *w, "Azure {k:?}");
        assert_eq!(
            g.billed_cost_reporting,
            w[0] * parse_decimal("0.7391").unwrap(),
            "converted at the rate used"
        );
    }

    // The ledger's totals by currency are the imports' totals, in the reporting currency.
    let q = LedgerQuery { group_by: vec![Dimension::BillingCurrency], ..Default::default() };
    let totals = t.app.ledger_totals(&sys(), &q).await.unwrap();
    let imports = t.app.cost_imports(&sys(), Some("active"), None, 100).await.unwrap();
    let mut expected = Decimal::ZERO;
    for i in &imports {
        for by in i.totals.as_ref().unwrap().by_period.values() {
            for x in by.values() {
                expected += x.billed_cost_reporting;
            }
        }
    }
    assert_eq!(totals.total.billed_cost, expected);
    assert_eq!(totals.reporting_currency, "USD");
    let keys: Vec<Option<String>> = totals.rows.iter().map(|r| r.keys[0].clone()).collect();
    assert_eq!(keys, vec![Some("CAD".into()), Some("USD".into())]);

    // The contract-commitment dataset is read into its own table.
    let s =
        import(&t, &fixture("focus-1.3/aws/focus_1_3_contract_commitment_aws.csv"), ImportOptions::default())
            .await;
    assert_eq!((s.status.as_str(), s.format.as_deref()), ("active", Some("focus-contract")));
    let n = csv::Reader::from_path(fixture("focus-1.3/aws/focus_1_3_contract_commitment_aws.csv"))
        .unwrap()
        .records()
        .count();
    assert_eq!(s.rows_ingested as usize, n);
    let stored = t.app.store().session().await.unwrap().commitments().await.unwrap();
    assert_eq!(stored.len(), n);
});

both!(the_focus_specifications_examples_land_to_the_last_digit, |t| {
    // The FOCUS 1.2 specification's example files: hand-made, with `$10,000.00 ` money and `5/1/25` dates.
    let root = fixture("focus-1.2-spec");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "csv") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 20, "{} files", files.len());
    // Money as the files write it, read here without the readers: signs, separators and spaces dropped.
    let money = |v: &str| -> Decimal {
        let v: String = v.chars().filter(|c| !matches!(c, '$' | ',' | ' ')).collect();
        if v.is_empty() || v == "NULL" { Decimal::ZERO } else { parse_decimal(&v).unwrap() }
    };
    let month = |v: &str| -> String {
        match v.split_once('/') {
            Some(_) => {
                let mut it = v.trim().split('/');
                let (m, _d, y) =
                    (it.next().unwrap(), it.next().unwrap(), it.next().unwrap().split(' ').next().unwrap());
                let y = if y.len() == 2 { format!("20{y}") } else { y.to_string() };
                format!("{y}-{:02}", m.parse::<u32>().unwrap())
            }
            None => v.trim()[..7].to_string(),
        }
    };
    let costs = ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"];
    let mut seen = std::collections::BTreeSet::new();
    let mut checked = 0;
    for path in &files {
        let name = path.strip_prefix(&root).unwrap().display().to_string();
        let bytes = std::fs::read(path).unwrap();
        if !seen.insert(bytes) {
            continue; // the same example twice in the tree: the import would say "duplicate"
        }
        // The examples share billing accounts and months, so each restates the one before, whose charges may
        // run later: replacing them is what is meant here.
        let s = import(&t, path, ImportOptions { replace_newer: true, ..Default::default() }).await;
        if name.starts_with("commitment_discount") {
            // Scenario sketches of a few columns, not datasets: refused, naming what a FOCUS file lacks.
            let why = s.message.unwrap_or_default();
            assert!(s.status == "rejected" && why.contains("focus: the header lacks"), "{name}: {why}");
            continue;
        }
        assert_eq!(s.status, "active", "{name}: {:?} {:?}", s.message, s.report);
        checked += 1;
        let mut r = csv::Reader::from_path(path).unwrap();
        let h: Vec<String> =
            r.headers().unwrap().iter().map(|s| s.trim_start_matches('\u{feff}').to_string()).collect();
        let col = |n: &str| h.iter().position(|x| x == n);
        let mut want: BTreeMap<(String, String), Vec<Decimal>> = BTreeMap::new();
        for rec in r.records() {
            let rec = rec.unwrap();
            let key = (
                month(&rec[col("BillingPeriodStart").unwrap()]),
                rec[col("BillingCurrency").unwrap()].trim().to_string(),
            );
            let e = want.entry(key).or_insert_with(|| vec![Decimal::ZERO; 4]);
            for (i, c) in costs.iter().enumerate() {
                if let Some(k) = col(c) {
                    e[i] += money(&rec[k]);
                }
            }
        }
        let got: BTreeMap<(String, String), Vec<Decimal>> = ledger_sums(&s)
            .into_iter()
            .map(|(k, x)| (k, vec![x.billed_cost, x.effective_cost, x.list_cost, x.contracted_cost]))
            .collect();
        assert_eq!(got, want, "{name}");
    }
    assert_eq!(checked, 15, "the SaaS examples, each once");
});

both!(the_same_file_twice_is_a_no_op, |t| {
    let path = fixture("focus-1.0/focus_sample.csv");
    let first = import(&t, &path, ImportOptions::default()).await;
    let before = t.app.ledger_totals(&sys(), &LedgerQuery::default()).await.unwrap();
    let again = import(&t, &path, ImportOptions::default()).await;
    assert_eq!(again.status, "duplicate");
    let msg = again.message.clone().unwrap();
    assert!(msg.contains(&format!("import {}", first.id)) && msg.contains("nothing changed"), "{msg}");
    assert_eq!(t.app.ledger_totals(&sys(), &LedgerQuery::default()).await.unwrap(), before);
    assert!(again.is_ok(), "a duplicate is not a failure");
});

both!(the_raw_file_is_kept_by_a_copy_or_for_an_owned_file_by_a_move, |t| {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("focus-1.0/focus_sample.csv")).unwrap();
    let raw = |s: &ImportSummary| {
        let sha = &s.file_sha256;
        t.app.config().data_dir.join("raw/sha256").join(&sha[..2]).join(sha)
    };
    // A file of the user's is copied and left where it was.
    let users = dir.path().join("mine.csv");
    std::fs::write(&users, &bytes).unwrap();
    let s = import(&t, &users, ImportOptions::default()).await;
    assert_eq!(s.status, "active", "{:?}", s.message);
    assert_eq!(std::fs::read(&users).unwrap(), bytes, "the user's file is untouched");
    assert_eq!(std::fs::read(raw(&s)).unwrap(), bytes);
    assert!(s.phases.is_some(), "the run tells how long its steps took");
    // An owned file (an upload) becomes the raw file: it is gone from where it was, its bytes are kept.
    // (Another file: a duplicate would stop before keeping anything.)
    let other = std::fs::read(fixture("focus-1.3/aws/focus_1_3_cost_and_usage_aws.csv")).unwrap();
    let upload = dir.path().join("import-9.upload");
    std::fs::write(&upload, &other).unwrap();
    let s = import(&t, &upload, ImportOptions { owned: true, ..Default::default() }).await;
    assert_eq!(s.status, "active", "{:?}", s.message);
    assert!(!upload.exists(), "moved, not copied");
    assert_eq!(std::fs::read(raw(&s)).unwrap(), other);
    assert_eq!(s.rows_ingested, 1000, "read from where it was kept");
});

/// A small FOCUS 1.2 file: one line per (account, cost) for May 2026.
fn focus_file(dir: &Path, name: &str, lines: &[(&str, &str)]) -> PathBuf {
    let mut s = String::from(
        "BillingAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BilledCost,\
         EffectiveCost,ListCost,ContractedCost,BillingCurrency,ChargeCategory,ProviderName,ServiceName,InvoiceId,Tags\n",
    );
    for (i, (acct, cost)) in lines.iter().enumerate() {
        let tags = if i % 2 == 0 { r#""{""team"": ""web""}""# } else { "" };
        s.push_str(&format!(
            "{acct},2026-05-01T00:00:00Z,2026-06-01T00:00:00Z,2026-05-0{d}T00:00:00Z,2026-05-0{d}T01:00:00Z,\
             {cost},{cost},{cost},{cost},USD,Usage,Acme Cloud,Compute,INV-1,{tags}\n",
            d = i % 9 + 1
        ));
    }
    let p = dir.join(name);
    std::fs::write(&p, s).unwrap();
    p
}

both!(a_restatement_replaces_atomically_and_keeps_history, |t| {
    let dir = tempfile::tempdir().unwrap();
    let v1 = focus_file(dir.path(), "may-v1.csv", &[("A", "10.00"), ("A", "5.50"), ("B", "1.25")]);
    let first = import(&t, &v1, ImportOptions::default()).await;
    assert_eq!(first.status, "active");
    let total = |t: &TestApp| {
        let app = t.app.clone();
        async move { app.ledger_totals(&sys(), &LedgerQuery::default()).await.unwrap().total.billed_cost }
    };
    assert_eq!(total(&t).await, parse_decimal("16.75").unwrap());
    // Account A's May, restated: only A is replaced; B stays.
    let v2 = focus_file(dir.path(), "may-v2.csv", &[("A", "10.00"), ("A", "7.00")]);
    let second = import(&t, &v2, ImportOptions::default()).await;
    assert_eq!(second.status, "active");
    assert_eq!(second.replaced, vec![first.id]);
    assert!(second.message.as_deref().unwrap().contains(&format!("restates import {}", first.id)));
    assert_eq!(total(&t).await, parse_decimal("18.25").unwrap(), "17.00 for A (not 32.50) + 1.25 for B");
    assert_eq!(t.app.cost_import(&sys(), first.id).await.unwrap().status, "active", "B is still current");
    // B restated too: the first import is now wholly superseded, and still in the history. (The file's one
    // line is dated the 1st, before B's line of the 3rd: it looks like an older export and is refused unless
    // the newer data is to be replaced; see `an_older_export_does_not_roll_a_month_back`.)
    let v3 = focus_file(dir.path(), "may-v3.csv", &[("B", "2.00")]);
    assert_eq!(import(&t, &v3, ImportOptions::default()).await.status, "rejected");
    assert_eq!(total(&t).await, parse_decimal("18.25").unwrap(), "a refused file changes nothing");
    import(&t, &v3, ImportOptions { replace_newer: true, ..Default::default() }).await;
    assert_eq!(t.app.cost_import(&sys(), first.id).await.unwrap().status, "superseded");
    assert_eq!(total(&t).await, parse_decimal("19.00").unwrap());
    let history = t.app.ledger_history(&sys(), &PartitionFilter::default()).await.unwrap();
    let versions: Vec<(String, i64, String)> =
        history.iter().map(|p| (p.billing_account_id.clone(), p.import_id, p.status.clone())).collect();
    assert_eq!(versions.len(), 4, "{versions:?}");
    assert_eq!(versions.iter().filter(|v| v.2 == "active").count(), 2);
    for p in &history {
        assert!(
            t.app.lake_dir().join(&p.lake_path).exists(),
            "earlier versions stay on disk: {}",
            p.lake_path
        );
    }
    // Importing the old version again is a duplicate, not a silent rollback.
    assert_eq!(import(&t, &v1, ImportOptions::default()).await.status, "duplicate");
    assert_eq!(total(&t).await, parse_decimal("19.00").unwrap());
});

// Providers restate a month several times, each export running further into it. An export whose charges end
// before those of the month's current import is an older one imported late: refused, saying which import holds
// the later charges and how to replace it anyway, instead of quietly rolling the month back.
both!(an_older_export_does_not_roll_a_month_back, |t| {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<(&str, &str)> = (0..9).map(|_| ("A", "1.00")).collect();
    // Charges on the 1st to the 9th of May; the export of the 4th had the first four days.
    let through_9th = focus_file(dir.path(), "may-9.csv", &lines);
    let through_4th = focus_file(dir.path(), "may-4.csv", &lines[..4]);
    let total = |t: &TestApp| {
        let app = t.app.clone();
        async move { app.ledger_totals(&sys(), &LedgerQuery::default()).await.unwrap().total.billed_cost }
    };
    let newer = import(&t, &through_9th, ImportOptions::default()).await;
    assert_eq!(newer.status, "active");
    let older = import(&t, &through_4th, ImportOptions::default()).await;
    assert_eq!(older.status, "rejected");
    let why = older.message.unwrap();
    assert!(
        why.contains("2026-05 of A (Acme Cloud)")
            && why.contains("charges end 2026-05-04T01:00:00")
            && why.contains(&format!("current import {} (2026-05-09T01:00:00", newer.id))
            && why.contains("--replace-newer"),
        "{why}"
    );
    assert_eq!(total(&t).await, parse_decimal("9.00").unwrap(), "the month is as it was");
    assert_eq!(t.app.cost_import(&sys(), newer.id).await.unwrap().status, "active");
    // Asked to, it replaces the newer data like any restatement, which stays in the history.
    let replaced =
        import(&t, &through_4th, ImportOptions { replace_newer: true, ..Default::default() }).await;
    assert_eq!((replaced.status.as_str(), replaced.replaced.clone()), ("active", vec![newer.id]));
    assert_eq!(total(&t).await, parse_decimal("4.00").unwrap());
    // And the later export goes back in without asking: its charges run further.
    let again = focus_file(dir.path(), "may-9-again.csv", &[&lines[..], &[("A", "0.50")]].concat());
    assert_eq!(import(&t, &again, ImportOptions::default()).await.status, "active");
    assert_eq!(total(&t).await, parse_decimal("9.50").unwrap());
    // The same bytes as an import restated since are a duplicate that changes nothing — unless asked to
    // replace the newer data: then they are read again and made current (the way back to an export seen).
    assert_eq!(import(&t, &through_9th, ImportOptions::default()).await.status, "duplicate");
    let back = import(&t, &through_9th, ImportOptions { replace_newer: true, ..Default::default() }).await;
    assert_eq!(back.status, "active", "{:?}", back.message);
    assert_eq!(total(&t).await, parse_decimal("9.00").unwrap());
    // Once current, the same bytes are a duplicate even so.
    let current = import(&t, &through_9th, ImportOptions { replace_newer: true, ..Default::default() }).await;
    assert_eq!(current.status, "duplicate");
});

both!(a_bill_read_without_a_provider_is_restated_by_one_that_names_it, |t| {
    let dir = tempfile::tempdir().unwrap();
    let head = "BilledCost,EffectiveCost,ListCost,ContractedCost,BillingCurrency,BillingAccountId,BillingPeriodStart,\
                BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,HostProviderName";
    let row = "5.00,5.00,5.00,5.00,USD,ACC-9,2026-05-01,2026-06-01,2026-05-01,2026-05-02,Usage,Acme Host";
    let bare = dir.path().join("bare.csv");
    std::fs::write(&bare, format!("{head}\n{row}\n")).unwrap();
    let first = import(&t, &bare, ImportOptions::default()).await;
    let parts = t.app.cost_import_partitions(&sys(), first.id).await.unwrap();
    assert_eq!(parts[0].provider, "", "no provider column: none");
    // The month again, now naming its provider: it replaces the reading without one, never adds to it.
    let named = dir.path().join("named.csv");
    std::fs::write(&named, format!("{head},ServiceProviderName\n{row},Acme Cloud\n")).unwrap();
    let second = import(&t, &named, ImportOptions::default()).await;
    assert_eq!(second.replaced, vec![first.id]);
    let total = t.app.ledger_totals(&sys(), &LedgerQuery::default()).await.unwrap().total;
    assert_eq!((total.lines, total.billed_cost), (1, parse_decimal("5.00").unwrap()));
});

both!(a_generic_source_replaces_by_invoice_by_period_or_not_at_all, |t| {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, rows: &[(&str, &str)]| {
        let mut s = String::from("Invoice Date,Invoice No,Supplier,Amount\n");
        for (inv, amount) in rows {
            s.push_str(&format!("2026-05-10,{inv},Slack,{amount}\n"));
        }
        let p = dir.path().join(name);
        std::fs::write(&p, s).unwrap();
        p
    };
    let mapping = |name: &str, extra: &str| {
        itemize_ingest::generic::Mapping::from_toml(&format!(
            "name = \"{name}\"\n{extra}[columns]\ndate = \"Invoice Date\"\namount = \"Amount\"\nvendor = \"Supplier\"\n\
             invoice = \"Invoice No\"\n[defaults]\ncurrency = \"USD\"\n"
        ))
        .unwrap()
    };
    let billed = |t: &TestApp, account: &str| {
        let (app, account) = (t.app.clone(), account.to_string());
        async move {
            let q = LedgerQuery { account: Some(account), ..Default::default() };
            app.ledger_totals(&sys(), &q).await.unwrap().total.billed_cost
        }
    };
    let with = |m: &itemize_ingest::generic::Mapping| ImportOptions {
        mapping: Some(m.clone()),
        ..Default::default()
    };

    // With an invoice column, two invoices of one vendor in one month add up; a corrected invoice replaces
    // only itself.
    let saas = mapping("SaaS", "");
    assert_eq!(saas.replaces(), itemize_ingest::generic::Replaces::Invoice);
    let one = import(&t, &file("inv-1.csv", &[("INV-1", "100.00")]), with(&saas)).await;
    let two = import(&t, &file("inv-2.csv", &[("INV-2", "50.00"), ("INV-2", "5.00")]), with(&saas)).await;
    assert_eq!((one.status.as_str(), two.status.as_str(), two.replaced.len()), ("active", "active", 0));
    assert_eq!(billed(&t, "SaaS").await, parse_decimal("155.00").unwrap(), "the second invoice adds");
    let fixed = import(&t, &file("inv-1b.csv", &[("INV-1", "90.00")]), with(&saas)).await;
    assert_eq!(fixed.replaced, vec![one.id]);
    assert_eq!(billed(&t, "SaaS").await, parse_decimal("145.00").unwrap(), "INV-1 now 90.00, INV-2 kept");
    assert_eq!(t.app.cost_import(&sys(), one.id).await.unwrap().status, "superseded");
    assert_eq!(t.app.cost_import(&sys(), two.id).await.unwrap().status, "active");

    // By period: a newer file of the month replaces all of it (a GL extract run again).
    let gl = mapping("GL", "replaces = \"period\"\n");
    import(&t, &file("gl-1.csv", &[("A", "10.00"), ("B", "20.00")]), with(&gl)).await;
    let again = import(&t, &file("gl-2.csv", &[("A", "12.00")]), with(&gl)).await;
    assert_eq!(again.replaced.len(), 1);
    assert_eq!(billed(&t, "GL").await, parse_decimal("12.00").unwrap());

    // A whole month run again restates every vendor of it: one the new file no longer names is gone.
    let gl2 = mapping("GL2", "replaces = \"period\"\n");
    let two_vendors = dir.path().join("gl2-1.csv");
    std::fs::write(
        &two_vendors,
        "Invoice Date,Invoice No,Supplier,Amount\n2026-05-03,D1,Xerox,40.00\n2026-05-04,D2,Yodel,2.00\n",
    )
    .unwrap();
    import(&t, &two_vendors, with(&gl2)).await;
    let one_vendor = dir.path().join("gl2-2.csv");
    std::fs::write(&one_vendor, "Invoice Date,Invoice No,Supplier,Amount\n2026-05-03,D1,Xerox,41.00\n")
        .unwrap();
    assert_eq!(import(&t, &one_vendor, with(&gl2)).await.status, "active");
    assert_eq!(billed(&t, "GL2").await, parse_decimal("41.00").unwrap(), "Yodel's line was taken out");

    // Nothing: every file adds, even one naming the same invoice; the same bytes twice are still a no-op.
    let cards = mapping("Cards", "replaces = \"nothing\"\n");
    let c1 = file("card-1.csv", &[("X", "1.00")]);
    import(&t, &c1, with(&cards)).await;
    let c2 = import(&t, &file("card-2.csv", &[("X", "2.00")]), with(&cards)).await;
    assert_eq!(c2.replaced.len(), 0);
    assert_eq!(import(&t, &c1, with(&cards)).await.status, "duplicate");
    assert_eq!(billed(&t, "Cards").await, parse_decimal("3.00").unwrap());
    // The ledger's history still holds every version, and each current partition's file is on disk.
    let history = t.app.ledger_history(&sys(), &PartitionFilter::default()).await.unwrap();
    assert_eq!(history.iter().filter(|p| p.status == "active").count(), 2 + 1 + 1 + 2);
    for p in &history {
        assert!(t.app.lake_dir().join(&p.lake_path).exists(), "{}", p.lake_path);
    }

    // Switching a source to whole months: the month's complete file replaces every invoice of it, and from then
    // on an invoice cannot replace part of that month (which lines were its own is not known), so it is refused
    // and changes nothing.
    let whole = mapping("SaaS", "replaces = \"period\"\n");
    let month = import(
        &t,
        &file("may.csv", &[("INV-1", "90.00"), ("INV-2", "50.00"), ("INV-3", "7.00")]),
        with(&whole),
    )
    .await;
    assert_eq!(month.replaced.len(), 2, "both invoice imports: {:?}", month.replaced);
    assert_eq!(billed(&t, "SaaS").await, parse_decimal("147.00").unwrap());
    let refused = import(&t, &file("inv-3b.csv", &[("INV-3", "8.00")]), with(&saas)).await;
    assert_eq!(refused.status, "rejected");
    assert!(refused.message.as_deref().unwrap().contains("as a whole month"), "{:?}", refused.message);
    assert_eq!(billed(&t, "SaaS").await, parse_decimal("147.00").unwrap());
    // A file of more invoices than the lake keeps files for at once is refused, saying what to do instead.
    let many: Vec<(String, &str)> = (0..300).map(|i| (format!("AP-{i:04}"), "1.00")).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(i, a)| (i.as_str(), *a)).collect();
    let big = import(&t, &file("ap.csv", &many), with(&mapping("AP", ""))).await;
    assert_eq!(big.status, "rejected");
    assert!(big.message.as_deref().unwrap().contains("more than 256 invoices"), "{:?}", big.message);
    assert_eq!(billed(&t, "AP").await, parse_decimal("0").unwrap());

    // Lines without an invoice number are a group of their own: they neither wipe out the month's invoices nor
    // block later ones, and a newer file's such lines replace the older file's.
    let blank = mapping("Blank", "");
    let first = import(&t, &file("b-1.csv", &[("INV-9", "100.00"), ("", "-5.00")]), with(&blank)).await;
    assert_eq!((first.status.as_str(), first.replaced.len()), ("active", 0), "{:?}", first.message);
    assert_eq!(billed(&t, "Blank").await, parse_decimal("95.00").unwrap());
    let fix = import(&t, &file("b-2.csv", &[("", "-3.00"), ("INV-10", "1.00")]), with(&blank)).await;
    assert_eq!((fix.status.as_str(), fix.replaced.clone()), ("active", vec![first.id]), "{:?}", fix.message);
    assert_eq!(billed(&t, "Blank").await, parse_decimal("98.00").unwrap(), "INV-9 100 + INV-10 1 - 3");

    // A mapping that asks for what it cannot do is refused, saying why.
    let e = itemize_ingest::generic::Mapping::from_toml(
        "name = \"x\"\nreplaces = \"invoice\"\n[columns]\ndate = \"D\"\namount = \"A\"\n[defaults]\ncurrency = \"USD\"\n",
    )
    .unwrap_err();
    assert!(e.contains("needs an invoice column"), "{e}");
    let e = itemize_ingest::generic::Mapping::from_toml(
        "name = \"x\"\nreplaces = \"month\"\n[columns]\ndate = \"D\"\namount = \"A\"\n[defaults]\ncurrency = \"USD\"\n",
    )
    .unwrap_err();
    assert!(e.contains("`month` is not one of"), "{e}");
});

both!(an_invoice_restates_its_reading_under_the_vendors_earlier_spelling, |t| {
    use itemize_core::refdata::Vendor;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, rows: &[(&str, &str, &str)]| {
        let mut s = String::from("Invoice Date,Invoice No,Supplier,Amount\n");
        for (inv, supplier, amount) in rows {
            s.push_str(&format!("2026-05-10,{inv},{supplier},{amount}\n"));
        }
        let p = dir.path().join(name);
        std::fs::write(&p, s).unwrap();
        p
    };
    let with = |replaces: &str| {
        ImportOptions {
        mapping: Some(
            itemize_ingest::generic::Mapping::from_toml(&format!(
                "name = \"SaaS\"\nreplaces = \"{replaces}\"\n[columns]\ndate = \"Invoice Date\"\namount = \"Amount\"\n\
                 vendor = \"Supplier\"\ninvoice = \"Invoice No\"\n[defaults]\ncurrency = \"USD\"\n"
            ))
            .unwrap(),
        ),
        ..Default::default()
    }
    };
    let billed = |t: &TestApp| {
        let app = t.app.clone();
        async move { app.ledger_totals(&sys(), &LedgerQuery::default()).await.unwrap().total.billed_cost }
    };
    let slack = t.app.create::<Vendor>(&sys(), serde_json::json!({"name": "Slack"})).await.unwrap().id.get();
    // INV-7 of a supplier the register does not know yet, and another vendor's invoice of the same number.
    let first =
        import(&t, &file("a.csv", &[("INV-7", "Slack Technologies", "100.00")]), with("invoice")).await;
    let zoom = import(&t, &file("z.csv", &[("INV-7", "Zoom", "30.00")]), with("invoice")).await;
    assert_eq!((first.status.as_str(), zoom.replaced.len()), ("active", 0), "{:?}", zoom.message);
    assert_eq!(billed(&t).await, parse_decimal("130.00").unwrap(), "two vendors' INV-7 both count");
    // The register learns that spelling is Slack's; the corrected INV-7 now reads as Slack's and restates the
    // reading under the old spelling instead of counting beside it. Zoom's INV-7 stays.
    t.app
        .update::<Vendor>(&sys(), slack, None, serde_json::json!({"aliases": ["Slack Technologies"]}))
        .await
        .unwrap();
    let fixed = import(&t, &file("b.csv", &[("INV-7", "Slack", "90.00")]), with("invoice")).await;
    assert_eq!(
        (fixed.status.as_str(), fixed.replaced.clone()),
        ("active", vec![first.id]),
        "{:?}",
        fixed.message
    );
    assert_eq!(
        billed(&t).await,
        parse_decimal("120.00").unwrap(),
        "Slack's INV-7 is 90.00 now, Zoom's 30.00"
    );
    let history = t.app.ledger_history(&sys(), &PartitionFilter::default()).await.unwrap();
    let current: Vec<(&str, &str)> = history
        .iter()
        .filter(|p| p.status == "active")
        .map(|p| (p.provider.as_str(), p.slice.as_str()))
        .collect();
    assert_eq!(current.len(), 2, "{current:?}");
    assert!(current.contains(&("Slack", "INV-7")) && current.contains(&("Zoom", "INV-7")), "{current:?}");
    // A vendor renamed keeps its former name as an alias: Zoom's corrected INV-7, sent under the new name,
    // restates the reading under the old one. A patch that sets the aliases itself is taken as it is.
    let zoom_v = t.app.create::<Vendor>(&sys(), serde_json::json!({"name": "Zoom"})).await.unwrap().id.get();
    let renamed = t
        .app
        .update::<Vendor>(&sys(), zoom_v, None, serde_json::json!({"name": "Zoom Video Communications"}))
        .await
        .unwrap();
    assert_eq!(renamed.fields.aliases, ["Zoom"]);
    let slack_aliases = |patch: serde_json::Value| {
        let app = t.app.clone();
        async move { app.update::<Vendor>(&sys(), slack, None, patch).await.unwrap().fields.aliases }
    };
    // A change of case only adds nothing (spellings match whatever their case).
    assert_eq!(slack_aliases(serde_json::json!({"name": "SLACK"})).await, ["Slack Technologies"]);
    assert_eq!(
        slack_aliases(serde_json::json!({"name": "Slack Inc", "aliases": ["Slack Technologies"]})).await,
        ["Slack Technologies"]
    );
    let zoom_fixed =
        import(&t, &file("z2.csv", &[("INV-7", "Zoom Video Communications", "35.00")]), with("invoice"))
            .await;
    assert_eq!(zoom_fixed.replaced, vec![zoom.id], "{:?}", zoom_fixed.message);
    assert_eq!(billed(&t).await, parse_decimal("125.00").unwrap(), "Slack's INV-7 90.00, Zoom's 35.00");

    // A month held whole under a vendor's earlier spelling cannot be restated in part by an invoice of it.
    let june = |inv: &str, supplier: &str, amount: &str| {
        format!("Invoice Date,Invoice No,Supplier,Amount\n2026-06-10,{inv},{supplier},{amount}\n")
    };
    let whole = dir.path().join("june.csv");
    std::fs::write(&whole, june("INV-8", "Acme Ltd", "10.00")).unwrap();
    assert_eq!(import(&t, &whole, with("period")).await.status, "active");
    t.app
        .create::<Vendor>(&sys(), serde_json::json!({"name": "Acme", "aliases": ["Acme Ltd"]}))
        .await
        .unwrap();
    let part = dir.path().join("june-inv.csv");
    std::fs::write(&part, june("INV-8", "Acme", "11.00")).unwrap();
    let refused = import(&t, &part, with("invoice")).await;
    assert_eq!(refused.status, "rejected", "{:?}", refused.message);
    assert!(refused.message.as_deref().unwrap().contains("as a whole month"), "{:?}", refused.message);
    assert_eq!(
        billed(&t).await,
        parse_decimal("135.00").unwrap(),
        "May 125.00 and June 10.00, nothing added"
    );
});

/// The columns of the Azure MCA cost details the Azure tests write.
const AZURE_MCA_HEADER: &str = "billingAccountId,billingAccountName,billingProfileId,billingProfileName,\
    billingPeriodStartDate,billingPeriodEndDate,date,subscriptionId,meterCategory,productName,resourceId,\
    quantity,unitPrice,costInBillingCurrency,billingCurrency,chargeType,pricingModel,frequency,\
    publisherName,benefitId,benefitName";

/// The ledger's BilledCost and EffectiveCost of one billing account, as text.
async fn account_totals(t: &TestApp, account: &str) -> (String, String) {
    let q = LedgerQuery { account: Some(account.to_string()), ..Default::default() };
    let total = t.app.ledger_totals(&sys(), &q).await.unwrap().total;
    (total.billed_cost.to_string(), total.effective_cost.to_string())
}

both!(azure_actual_and_amortized_exports_of_a_month_merge_in_either_order, |t| {
    let ri = "/providers/Microsoft.Capacity/reservationOrders/o1/reservations/r1";
    let dir = tempfile::tempdir().unwrap();
    // One month of one billing profile, as the actual-cost or the amortized-cost export gives it.
    let export = |name: &str, profile: &str, amortized: bool, on_demand: &str| {
        let line = |day: &str,
                    product: &str,
                    qty: &str,
                    cost: &str,
                    charge: &str,
                    model: &str,
                    freq: &str| {
            let benefit = if model == "Reservation" { ri } else { "" };
            format!(
                "acct:1,Contoso,{profile},Contoso {profile},2026-05-01,2026-05-31,{day},sub-1,Virtual Machines,\
                 {product},/subscriptions/sub-1/vm-7,{qty},0.08,{cost},USD,{charge},{model},{freq},Microsoft,\
                 {benefit},ri-one"
            )
        };
        let mut rows = vec![
            // The reservation bought: its price in the actual export, nothing in the amortized one.
            line(
                "05/01/2026",
                "Reservation D2s",
                "1",
                if amortized { "0" } else { "1200.00" },
                "Purchase",
                "Reservation",
                "OneTime",
            ),
            // Usage the reservation covers: nothing in the actual export, its share in the amortized one.
            line(
                "05/03/2026",
                "D2s v5",
                "20",
                if amortized { "1.25" } else { "0" },
                "Usage",
                "Reservation",
                "UsageBased",
            ),
            line("05/03/2026", "D4s v5", "10", on_demand, "Usage", "OnDemand", "UsageBased"),
            line("05/31/2026", "Tax", "1", "5.00", "Tax", "", "OneTime"),
        ];
        if amortized {
            rows.push(line(
                "05/03/2026",
                "D2s v5",
                "4",
                "0.25",
                "UnusedReservation",
                "Reservation",
                "UsageBased",
            ));
        }
        let p = dir.path().join(name);
        std::fs::write(&p, format!("{AZURE_MCA_HEADER}\n{}\n", rows.join("\n"))).unwrap();
        p
    };
    let current = |t: &TestApp, profile: &str| {
        let (app, account) = (t.app.clone(), profile.to_string());
        async move {
            let f = PartitionFilter { billing_account_id: Some(account), ..Default::default() };
            let mut v: Vec<(String, i64)> = app
                .ledger_history(&sys(), &f)
                .await
                .unwrap()
                .into_iter()
                .filter(|p| p.status == "active")
                .map(|p| (p.slice, p.import_id))
                .collect();
            v.sort();
            v
        }
    };
    // The merged month: BilledCost is the invoice (the purchase, the on-demand usage, the tax), EffectiveCost the
    // amortized cost (the covered usage's share, the unused hours, the on-demand usage, the tax).
    let merged = ("1215.00".to_string(), "16.50".to_string());

    // The actual export first: alone it has no amortized cost of the reservation.
    let actual = import(&t, &export("a1.csv", "BP-1", false, "10.00"), ImportOptions::default()).await;
    assert_eq!(actual.status, "active", "{:?}", actual.message);
    assert_eq!(account_totals(&t, "BP-1").await, ("1215.00".to_string(), "15.00".to_string()));
    // The amortized export next: its usage takes the actual one's place; the purchase stays.
    let amortized = import(&t, &export("m1.csv", "BP-1", true, "10.00"), ImportOptions::default()).await;
    assert_eq!((amortized.status.as_str(), amortized.replaced.clone()), ("active", vec![actual.id]));
    assert_eq!(account_totals(&t, "BP-1").await, merged);
    assert_eq!(
        current(&t, "BP-1").await,
        vec![("amortized".to_string(), amortized.id), ("commitment purchases".to_string(), actual.id)]
    );
    assert_eq!(
        t.app.cost_import(&sys(), actual.id).await.unwrap().status,
        "active",
        "its purchase is current"
    );

    // The other order gives the same month: the actual export's usage stays in the history only.
    let amortized = import(&t, &export("m2.csv", "BP-2", true, "10.00"), ImportOptions::default()).await;
    assert_eq!(
        account_totals(&t, "BP-2").await,
        ("15.00".to_string(), "16.50".to_string()),
        "no purchase yet"
    );
    let actual = import(&t, &export("a2.csv", "BP-2", false, "10.00"), ImportOptions::default()).await;
    assert_eq!((actual.status.as_str(), actual.replaced.len()), ("active", 0), "{:?}", actual.message);
    assert!(
        actual.message.as_deref().unwrap().contains("the month's amortized reading"),
        "{:?}",
        actual.message
    );
    assert_eq!(account_totals(&t, "BP-2").await, merged);
    assert_eq!(
        current(&t, "BP-2").await,
        vec![("amortized".to_string(), amortized.id), ("commitment purchases".to_string(), actual.id)]
    );
    let history = t.app.ledger_history(&sys(), &PartitionFilter::default()).await.unwrap();
    let kept = history
        .iter()
        .find(|p| p.import_id == actual.id && p.slice == "actual")
        .expect("kept in the history");
    assert_eq!((kept.status.as_str(), kept.superseded_by), ("superseded", Some(amortized.id)));

    // A restated amortized export replaces the amortized one; the purchase stays.
    let restated = import(&t, &export("m3.csv", "BP-2", true, "11.00"), ImportOptions::default()).await;
    assert_eq!(restated.replaced, vec![amortized.id]);
    assert_eq!(account_totals(&t, "BP-2").await, ("1216.00".to_string(), "17.50".to_string()));
    assert_eq!(t.app.cost_import(&sys(), amortized.id).await.unwrap().status, "superseded");

    // A month without a commitment reads the same either way: a newer export of it replaces the older whole.
    let plain = |name: &str, cost: &str| {
        let p = dir.path().join(name);
        std::fs::write(
            &p,
            format!(
                "{AZURE_MCA_HEADER}\nacct:1,Contoso,BP-3,Contoso BP-3,2026-05-01,2026-05-31,05/03/2026,sub-1,\
                 Virtual Machines,D4s v5,/subscriptions/sub-1/vm-8,10,0.08,{cost},USD,Usage,OnDemand,UsageBased,\
                 Microsoft,,\n"
            ),
        )
        .unwrap();
        p
    };
    let first = import(&t, &plain("p1.csv", "3.00"), ImportOptions::default()).await;
    let second = import(&t, &plain("p2.csv", "4.00"), ImportOptions::default()).await;
    assert_eq!(second.replaced, vec![first.id]);
    assert_eq!(account_totals(&t, "BP-3").await, ("4.00".to_string(), "4.00".to_string()));
});

both!(azure_readings_of_a_month_newer_held_replaced_and_read_again, |t| {
    let dir = tempfile::tempdir().unwrap();
    // (day, cost, currency, charge type, pricing model) rows of one month of one billing profile.
    let file = |name: &str, profile: &str, rows: &[(&str, &str, &str, &str, &str)]| {
        let mut s = format!("{AZURE_MCA_HEADER}\n");
        for (day, cost, ccy, charge, model) in rows {
            let benefit = if *model == "Reservation" { "/providers/Microsoft.Capacity/r1" } else { "" };
            s.push_str(&format!(
                "acct:1,Contoso,{profile},Contoso,2026-05-01,2026-05-31,05/{day}/2026,sub-1,Virtual Machines,D2s,\
                 /subscriptions/sub-1/vm-7,1,0.08,{cost},{ccy},{charge},{model},UsageBased,Microsoft,{benefit},ri\n"
            ));
        }
        let p = dir.path().join(name);
        std::fs::write(&p, s).unwrap();
        p
    };
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    // Amortized through the 20th: covered usage 2.00, on-demand 10.00.
    let amortized =
        [("20", "2.00", "USD", "Usage", "Reservation"), ("20", "10.00", "USD", "Usage", "OnDemand")];
    let m = import(&t, &file("m.csv", "BP-1", &amortized), ImportOptions::default()).await;
    assert_eq!(account_totals(&t, "BP-1").await, pair("10.00", "12.00"));

    // An actual export through the same day with no purchase or usage it could add: held, nothing made current.
    let same_day = [("20", "0", "USD", "Usage", "Reservation"), ("20", "10.00", "USD", "Usage", "OnDemand")];
    let held = import(&t, &file("a1.csv", "BP-1", &same_day), ImportOptions::default()).await;
    assert_eq!(held.status, "superseded", "{:?}", held.message);
    assert!(held.message.as_deref().unwrap().starts_with("nothing made current"), "{:?}", held.message);
    assert_eq!(account_totals(&t, "BP-1").await, pair("10.00", "12.00"));

    // Asked to replace the newer data, the same bytes are read again and their usage made current.
    let opts = ImportOptions { replace_newer: true, ..Default::default() };
    let back = import(&t, &file("a1.csv", "BP-1", &same_day), opts).await;
    assert_eq!((back.status.as_str(), back.replaced.clone()), ("active", vec![m.id]), "{:?}", back.message);
    assert_eq!(
        account_totals(&t, "BP-1").await,
        pair("10.00", "10.00"),
        "the actual reading: no amortized share"
    );

    // An amortized export again, then an actual one running later (the 25th): the later reading is current.
    let m2 = import(&t, &file("m2.csv", "BP-2", &amortized), ImportOptions::default()).await;
    let later = [("25", "0", "USD", "Usage", "Reservation"), ("25", "11.00", "USD", "Usage", "OnDemand")];
    let a2 = import(&t, &file("a2.csv", "BP-2", &later), ImportOptions::default()).await;
    assert_eq!((a2.status.as_str(), a2.replaced.clone()), ("active", vec![m2.id]), "{:?}", a2.message);
    assert_eq!(account_totals(&t, "BP-2").await, pair("11.00", "11.00"));

    // A purchase the newer actual export no longer has is gone, even while its usage is held.
    let m3 = import(&t, &file("m3.csv", "BP-3", &amortized), ImportOptions::default()).await;
    let with_purchase =
        [("01", "500.00", "USD", "Purchase", "Reservation"), ("20", "10.00", "USD", "Usage", "OnDemand")];
    let a3 = import(&t, &file("a3.csv", "BP-3", &with_purchase), ImportOptions::default()).await;
    assert_eq!(a3.status, "active", "its purchase is current: {:?}", a3.message);
    assert_eq!(account_totals(&t, "BP-3").await, pair("510.00", "12.00"));
    let without = [("20", "10.00", "USD", "Usage", "OnDemand"), ("20", "0.00", "USD", "Tax", "")];
    let a4 = import(&t, &file("a4.csv", "BP-3", &without), ImportOptions::default()).await;
    assert_eq!(a4.replaced, vec![a3.id], "{:?}", a4.message);
    assert_eq!(account_totals(&t, "BP-3").await, pair("10.00", "12.00"), "amortized usage, no purchase");
    assert_eq!(t.app.cost_import(&sys(), m3.id).await.unwrap().status, "active");

    // A lenient actual import that left a purchase out (no EUR rate yet) is read again once the rate is there,
    // though its usage is held.
    let m5 = import(&t, &file("m5.csv", "BP-5", &amortized), ImportOptions::default()).await;
    let eur = [
        ("01", "500.00", "USD", "Purchase", "Reservation"),
        ("02", "100.00", "EUR", "Purchase", "Reservation"),
        ("20", "10.00", "USD", "Usage", "OnDemand"),
    ];
    let lenient = ImportOptions { lenient: true, ..Default::default() };
    let a5 = import(&t, &file("a5.csv", "BP-5", &eur), lenient.clone()).await;
    assert_eq!((a5.status.as_str(), a5.rows_rejected), ("active", 1), "{:?}", a5.message);
    assert_eq!(account_totals(&t, "BP-5").await, pair("510.00", "12.00"));
    rates(&t, "date,from,to,rate\n2026-05-01,EUR,USD,1.10\n").await;
    let again = import(&t, &file("a5.csv", "BP-5", &eur), lenient).await;
    assert_eq!((again.status.as_str(), again.rows_rejected), ("active", 0), "{:?}", again.message);
    assert_eq!(
        account_totals(&t, "BP-5").await,
        pair("620.000", "12.00"),
        "the euro purchase counted at 1.10"
    );
    assert_eq!(t.app.cost_import(&sys(), m5.id).await.unwrap().status, "active", "the usage still amortized");
});

both!(a_file_whose_lenient_import_left_rows_out_can_be_read_again, |t| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("invoices.csv");
    std::fs::write(
        &path,
        "Date,Amount,Currency,Vendor\n2026-05-01,10.00,USD,Acme\n2026-05-02,20.00,EUR,Acme\n",
    )
    .unwrap();
    let mapping = itemize_ingest::generic::Mapping::from_toml(
        "name = \"Invoices\"\n[columns]\ndate = \"Date\"\namount = \"Amount\"\ncurrency = \"Currency\"\nvendor = \"Vendor\"\n",
    )
    .unwrap();
    let opts =
        |lenient: bool| ImportOptions { lenient, mapping: Some(mapping.clone()), ..Default::default() };
    let lines = |t: &TestApp| {
        let app = t.app.clone();
        async move { app.ledger_totals(&sys(), &LedgerQuery::default()).await.unwrap().total }
    };
    // No EUR rate yet: the euro line is left out.
    let first = import(&t, &path, opts(true)).await;
    assert_eq!((first.status.as_str(), first.rows_ingested, first.rows_rejected), ("active", 1, 1));
    // Once the rate is there, the same bytes are read again (not a no-op) and restate the partial import.
    rates(&t, "date,from,to,rate\n2026-05-02,EUR,USD,1.10\n").await;
    let second = import(&t, &path, opts(false)).await;
    assert_eq!((second.status.as_str(), second.rows_ingested, second.rows_rejected), ("active", 2, 0));
    assert_eq!(second.replaced, vec![first.id]);
    let total = lines(&t).await;
    assert_eq!(total.lines, 2);
    assert_eq!(t.app.cost_import(&sys(), first.id).await.unwrap().status, "superseded");
    // A file whose partial import was since restated in part by a newer file is not read again: its other
    // month would come back over the newer one.
    let two = dir.path().join("two-months.csv");
    std::fs::write(
        &two,
        "Date,Amount,Currency,Vendor\n2026-04-03,1.00,USD,Beta\n2026-03-04,2.00,USD,Beta\n2026-03-05,3.00,GBP,Beta\n",
    )
    .unwrap();
    let a = import(&t, &two, opts(true)).await;
    assert_eq!((a.status.as_str(), a.rows_rejected), ("active", 1), "no GBP rate");
    let march = dir.path().join("march-fixed.csv");
    std::fs::write(&march, "Date,Amount,Currency,Vendor\n2026-03-04,2.50,USD,Beta\n").unwrap();
    assert_eq!(import(&t, &march, opts(false)).await.replaced, vec![a.id]);
    rates(&t, "date,from,to,rate\n2026-03-05,GBP,USD,1.25\n").await;
    let again = import(&t, &two, opts(false)).await;
    assert_eq!(again.status, "duplicate", "{:?}", again.message);

    // Complete now: the same bytes again are a no-op, as ever.
    let total = lines(&t).await;
    let third = import(&t, &path, opts(false)).await;
    assert_eq!(third.status, "duplicate");
    assert!(
        third.message.as_deref().unwrap().contains(&format!("import {}", second.id)),
        "{:?}",
        third.message
    );
    assert_eq!(lines(&t).await, total);
});

both!(strict_rejects_with_a_report_and_lenient_quarantines, |t| {
    let dir = tempfile::tempdir().unwrap();
    let good = focus_file(dir.path(), "x.csv", &[("A", "1.00"), ("A", "2.00"), ("A", "3.00"), ("A", "4.00")]);
    let text = std::fs::read_to_string(&good).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[2] = lines[2].replace(",2.00,2.00,", ",two,2.00,");
    lines[4] = lines[4].replace(",USD,", ",XXX,");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();

    let s = import(&t, &bad, ImportOptions::default()).await;
    assert_eq!((s.status.as_str(), s.rows_read, s.rows_rejected, s.rows_ingested), ("rejected", 4, 2, 0));
    let r = s.report.unwrap();
    let errs: Vec<(u64, Option<&str>, Option<&str>)> =
        r.errors.iter().map(|e| (e.row, e.column.as_deref(), e.value.as_deref())).collect();
    assert_eq!(errs, vec![(3, Some("BilledCost"), Some("two")), (5, Some("BillingCurrency"), Some("XXX"))]);
    assert_eq!(r.counts.values().sum::<u64>(), 2);
    assert!(
        t.app.ledger_history(&sys(), &PartitionFilter::default()).await.unwrap().is_empty(),
        "nothing written"
    );

    let s = import(&t, &bad, ImportOptions { lenient: true, ..Default::default() }).await;
    assert_eq!((s.status.as_str(), s.rows_ingested, s.rows_rejected), ("active", 2, 2));
    assert_eq!(s.totals.as_ref().unwrap().rows_left_out, 2);
    let q = PathBuf::from(s.report.as_ref().unwrap().quarantine.as_ref().expect("quarantine file"));
    let mut qr = csv::Reader::from_path(&q).unwrap();
    let rows: Vec<csv::StringRecord> = qr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!((&rows[0][0], &rows[0][1]), ("3", "BilledCost"));
    assert!(rows[0].iter().any(|c| c == "two"), "the row as it was in the file");
    assert!(q.with_file_name("report.json").exists());
    // The same rows downloaded from the import's page and the API; not by a user limited to cost centres (the
    // rows belong to every cost centre), and an import without one has none.
    let srv = t.serve().await;
    let via_api = srv.get(&format!("/api/v1/cost/imports/{}/quarantine", s.id)).await;
    assert_eq!(via_api.status(), 200);
    assert!(via_api.headers()["content-disposition"].to_str().unwrap().contains("quarantine.csv"));
    assert_eq!(via_api.bytes().await.unwrap().to_vec(), std::fs::read(&q).unwrap());
    let scoped = itemize_app::Actor { scope: Some([1].into_iter().collect()), ..sys() };
    let e = t.app.cost_import_quarantine(&scoped, s.id).await.unwrap_err();
    assert!(matches!(e, itemize_app::AppError::Forbidden(_)), "{e:?}");
    let total = t.app.ledger_totals(&sys(), &LedgerQuery::default()).await.unwrap().total;
    assert_eq!((total.lines, total.billed_cost), (2, parse_decimal("4.00").unwrap()));
    let clean = import(&t, &good, ImportOptions::default()).await;
    let none = srv.get(&format!("/api/v1/cost/imports/{}/quarantine", clean.id)).await;
    assert_eq!(none.status(), 404);
    // A row with fewer cells than the header (or more) is one more row to leave out, not a failed import: the
    // good rows go in and the short one is kept as it was.
    let mut ragged: Vec<String> =
        std::fs::read_to_string(&good).unwrap().lines().map(str::to_string).collect();
    let short = ragged[2].rsplitn(3, ',').nth(2).unwrap().to_string();
    ragged[2] = short.clone();
    ragged[3] = format!("{},extra", ragged[3]);
    let ragged_file = dir.path().join("ragged.csv");
    std::fs::write(&ragged_file, ragged.join("\n") + "\n").unwrap();
    let s = import(&t, &ragged_file, ImportOptions { lenient: true, ..Default::default() }).await;
    assert_eq!((s.status.as_str(), s.rows_ingested, s.rows_rejected), ("active", 2, 2), "{:?}", s.message);
    let q = PathBuf::from(s.report.as_ref().unwrap().quarantine.as_ref().expect("quarantine file"));
    let text = std::fs::read_to_string(&q).unwrap();
    assert!(text.lines().any(|l| l.ends_with(&short)), "the short row as it was: {text}");

    // An unrecognised file is refused with every format tried and why.
    let junk = dir.path().join("junk.csv");
    std::fs::write(&junk, "a,b\n1,2\n").unwrap();
    let s = import(&t, &junk, ImportOptions::default()).await;
    assert_eq!(s.status, "rejected");
    let m = s.message.unwrap();
    for f in ["focus:", "aws-cur:", "azure:", "gcp:", "generic:"] {
        assert!(m.contains(f), "{f} missing from {m}");
    }
});

both!(queries_read_only_the_partitions_they_need, |t| {
    let dir = tempfile::tempdir().unwrap();
    import(
        &t,
        &focus_file(dir.path(), "m.csv", &[("A", "1.00"), ("B", "2.00"), ("A", "4.00")]),
        ImportOptions::default(),
    )
    .await;
    import(&t, &fixture("focus-1.0/focus_sample.csv"), ImportOptions::default()).await;
    let all = t.app.ledger_totals(&sys(), &LedgerQuery::default()).await.unwrap();
    assert_eq!(all.partitions_scanned, all.partitions_current);
    assert!(all.partitions_current >= 4);
    let may = LedgerQuery {
        period_from: Some("2026-05".into()),
        period_to: Some("2026-05".into()),
        account: Some("B".into()),
        ..Default::default()
    };
    let r = t.app.ledger_totals(&sys(), &may).await.unwrap();
    assert_eq!((r.partitions_scanned, r.total.billed_cost), (1, parse_decimal("2.00").unwrap()));
    // By tag: untagged spend is a group of its own, never lost.
    let q = LedgerQuery::from_params(&[
        ("period".into(), "2026-05".into()),
        ("group_by".into(), "tag:team".into()),
    ])
    .unwrap();
    let r = t.app.ledger_totals(&sys(), &q).await.unwrap();
    let groups: Vec<(Option<String>, Decimal)> =
        r.rows.iter().map(|x| (x.keys[0].clone(), x.billed_cost)).collect();
    assert_eq!(
        groups,
        vec![(None, parse_decimal("2.00").unwrap()), (Some("web".into()), parse_decimal("5.00").unwrap())]
    );
    // A tag key in another case is the same key (providers spell them `Team`, `team`): filtered and grouped alike.
    let q =
        LedgerQuery::from_params(&[("period".into(), "2026-05".into()), ("tag".into(), "Team=web".into())])
            .unwrap();
    let r = t.app.ledger_totals(&sys(), &q).await.unwrap();
    assert_eq!((r.total.billed_cost, r.partitions_scanned), (parse_decimal("5.00").unwrap(), 1));
    let q = LedgerQuery::from_params(&[
        ("period".into(), "2026-05".into()),
        ("group_by".into(), "tag:TEAM".into()),
    ])
    .unwrap();
    let upper: Vec<(Option<String>, Decimal)> = t
        .app
        .ledger_totals(&sys(), &q)
        .await
        .unwrap()
        .rows
        .iter()
        .map(|x| (x.keys[0].clone(), x.billed_cost))
        .collect();
    assert_eq!(upper, groups);
    // A service no partition holds is answered without reading any file.
    let q = LedgerQuery { service: Some("Nothing".into()), ..Default::default() };
    assert_eq!(t.app.ledger_totals(&sys(), &q).await.unwrap().partitions_scanned, 0);
    // Bad parameters are named.
    let e = LedgerQuery::from_params(&[("group_by".into(), "colour".into())]).unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
    assert!(LedgerQuery::from_params(&[("from".into(), "2026-13".into())]).is_err());
    // An empty filter, an empty or repeated dimension, a month given two ways: each named, none answered.
    let refused = |pairs: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        LedgerQuery::from_params(&pairs).unwrap_err().to_string()
    };
    assert!(refused(&[("provider", "")]).contains("provider: is empty"), "{}", refused(&[("provider", "")]));
    assert!(refused(&[("group_by", "tag:")]).contains("empty dimension"));
    assert!(refused(&[("group_by", "period,period")]).contains("names \"period\" twice"));
    let both = refused(&[("period", "2026-11"), ("from", "2026-01"), ("to", "2026-03")]);
    assert!(both.contains("not both"), "{both}");
    // An unknown parameter is named as unknown, even empty; a month that is none is named by its parameter.
    assert!(
        refused(&[("cost_centre", "")]).contains("unknown parameter"),
        "{}",
        refused(&[("cost_centre", "")])
    );
    assert!(
        refused(&[("period", "2026-13")]).starts_with("period:"),
        "{}",
        refused(&[("period", "2026-13")])
    );
    // A reversed range is refused by allocation and the tag hygiene report as by the totals.
    let e = t.app.allocate_range(&sys(), "2026-11", "2026-10").await.unwrap_err().to_string();
    assert!(e.contains("before `from`"), "{e}");
    let e = t.app.tag_hygiene(&sys(), "2026-11", "2026-01", 10).await.unwrap_err().to_string();
    assert!(e.contains("before `from`"), "{e}");
});

both!(a_partition_with_too_many_services_or_tag_keys_to_list_is_never_skipped, |t| {
    // 501 lines, each with a service and a tag key of its own: one more than a partition lists.
    let mut s = String::from(
        "BillingAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BilledCost,\
         EffectiveCost,ListCost,ContractedCost,BillingCurrency,ChargeCategory,ProviderName,ServiceName,Tags\n",
    );
    for i in 1..=501 {
        s.push_str(&format!(
            "A,2026-05-01T00:00:00Z,2026-06-01T00:00:00Z,2026-05-02T00:00:00Z,2026-05-02T01:00:00Z,\
             {i}.00,{i}.00,{i}.00,{i}.00,USD,Usage,Acme Cloud,S{i},\"{{\"\"k{i}\"\": \"\"v\"\"}}\"\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.csv");
    std::fs::write(&path, s).unwrap();
    assert_eq!(import(&t, &path, ImportOptions::default()).await.status, "active");
    // The last service and tag key met, past the list's end, are found; the first ones too.
    for (service, tag, cost) in [("S501", "k501", "501.00"), ("S1", "k1", "1.00"), ("S250", "k250", "250.00")]
    {
        let q = LedgerQuery { service: Some(service.into()), ..Default::default() };
        let r = t.app.ledger_totals(&sys(), &q).await.unwrap();
        assert_eq!(
            (r.partitions_scanned, r.total.billed_cost),
            (1, parse_decimal(cost).unwrap()),
            "{service}"
        );
        let q = LedgerQuery { tag: Some((tag.into(), None)), ..Default::default() };
        let r = t.app.ledger_totals(&sys(), &q).await.unwrap();
        assert_eq!((r.partitions_scanned, r.total.billed_cost), (1, parse_decimal(cost).unwrap()), "{tag}");
    }
    // A service nobody bills is still answered by reading the partition (it lists none), and matches nothing.
    let q = LedgerQuery { service: Some("Nothing".into()), ..Default::default() };
    let r = t.app.ledger_totals(&sys(), &q).await.unwrap();
    assert_eq!((r.partitions_scanned, r.total.lines), (1, 0));
});

both!(focus_exports_read_back_exactly, |t| {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("focus-1.3/gcp/focus_1_3_cost_and_usage_gcp.csv");
    let s = import(&t, &src, ImportOptions::default()).await;
    let period = s.totals.as_ref().unwrap().by_period.keys().next().unwrap().clone();
    let want = ledger_sums(&s);
    for (fmt, name) in [(ExportFormat::Csv, "out.csv"), (ExportFormat::Parquet, "out.parquet")] {
        let out = dir.path().join(name);
        let n = t.app.export_focus_file(&sys(), &period, fmt, &out).await.unwrap();
        assert_eq!(n as i64, s.rows_ingested);
        // Read back through the importer into a fresh ledger: the same totals to the last digit.
        let fresh = TestApp::sqlite().await;
        let back = import(&fresh, &out, ImportOptions::default()).await;
        assert_eq!(
            (back.status.as_str(), back.format_version.as_deref()),
            ("active", Some("1.2")),
            "{name}: {:?}",
            back.message
        );
        let got = ledger_sums(&back);
        for (k, w) in &want {
            let g = &got[k];
            assert_eq!(
                (g.billed_cost, g.effective_cost, g.list_cost, g.contracted_cost),
                (w.billed_cost, w.effective_cost, w.list_cost, w.contracted_cost),
                "{name} {k:?}"
            );
        }
    }
    let header =
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap().lines().next().unwrap().to_string();
    for col in [
        "BilledCost",
        "ChargeClass",
        "InvoiceIssuerName",
        "PricingQuantity",
        "ServiceCategory",
        "x_ExchangeRate",
    ] {
        assert!(header.split(',').any(|c| c == col), "{col} in the export header");
    }
    assert!(
        t.app
            .export_focus_file(&sys(), "2026-5", ExportFormat::Csv, &dir.path().join("x.csv"))
            .await
            .is_err()
    );
});

both!(gzip_files_read_like_plain_ones, |t| {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("focus-1.0/focus_sample.csv");
    let gz = dir.path().join("focus_sample.csv.gz");
    let mut e =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::default());
    e.write_all(&std::fs::read(&src).unwrap()).unwrap();
    e.finish().unwrap();
    let s = import(&t, &gz, ImportOptions::default()).await;
    assert_eq!((s.status.as_str(), s.container.as_deref()), ("active", Some("gzip")));
    let want = independent(&src, "BillingPeriodStart", "BillingCurrency", &["BilledCost"], iso_month);
    for (k, w) in &want {
        assert_eq!(ledger_sums(&s)[k].billed_cost, w[0]);
    }
});

both!(a_file_still_being_written_while_it_is_imported_is_refused_whole, |t| {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    // 60,000 lines: the import reads them for a long while (seconds in a test build) after its first row, so a
    // writer that adds a line once the first rows are read does so well before the import could commit.
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<(&str, &str)> = (0..60_000).map(|_| ("A", "1.00")).collect();
    let path = focus_file(dir.path(), "growing.csv", &lines);
    let progress = Arc::new(Progress::default());
    let writer = {
        let (path, progress) = (path.clone(), progress.clone());
        std::thread::spawn(move || {
            while progress.rows.load(Ordering::Relaxed) < 100 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
            f.write_all(
                b"A,2026-05-01T00:00:00Z,2026-06-01T00:00:00Z,2026-05-03T00:00:00Z,2026-05-03T01:00:00Z,\
                  9.00,9.00,9.00,9.00,USD,Usage,Acme Cloud,Compute,INV-1,\n",
            )
            .unwrap();
            progress.rows.load(Ordering::Relaxed)
        })
    };
    let result = t.app.import_cost_file(&sys(), &path, ImportOptions::default(), progress).await;
    let rows_when_written = writer.join().unwrap();
    assert!(
        rows_when_written < 60_000,
        "the line was added while the file was read ({rows_when_written} rows in)"
    );
    let message = match result {
        Ok(s) => s.message.unwrap_or_default(),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("the file changed while it was being read"), "{message}");
    // Nothing of it is in the ledger, and the import says it failed.
    let all = t.app.ledger_totals(&sys(), &LedgerQuery::default()).await.unwrap();
    assert_eq!((all.total.lines, all.partitions_current), (0, 0));
    let imports = t.app.cost_imports(&sys(), None, None, 10).await.unwrap();
    assert_eq!(imports.len(), 1);
    assert!(matches!(imports[0].status.as_str(), "failed" | "rejected"), "{:?}", imports[0]);
    // Complete, it imports: every line, the added one too.
    let done = import(&t, &path, ImportOptions::default()).await;
    assert_eq!((done.status.as_str(), done.rows_ingested), ("active", 60_001));
});

both!(an_upload_cut_off_by_the_client_leaves_a_failed_job_and_no_file, |t| {
    use tokio::io::AsyncWriteExt;
    let s = t.serve().await;
    let uploads = t.app.config().data_dir.join("uploads");
    let addr = s.base.trim_start_matches("http://").to_string();
    // The client closes its connection (the body ends early), then resets one (the connection fails).
    for (n, reset) in [(1, false), (2, true)] {
        // It announces a megabyte, sends a few kilobytes and goes away.
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /api/v1/cost/imports?name=cut-{n}.csv HTTP/1.1\r\nHost: {addr}\r\n\
             Authorization: Bearer {}\r\nContent-Type: text/csv\r\nContent-Length: 1000000\r\n\r\n",
            s.token
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.write_all(&[b'x'; 4096]).await.unwrap();
        conn.flush().await.unwrap();
        // The import is queued, its file being written, before the client leaves.
        let mut queued = false;
        for _ in 0..200 {
            let (_, list) = s.get_json("/api/v1/cost/imports").await;
            if list["items"].as_array().is_some_and(|i| i.len() == n) {
                queued = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(queued, "upload {n} was queued");
        if reset {
            #[allow(deprecated)]
            conn.set_linger(Some(std::time::Duration::ZERO)).unwrap();
        }
        drop(conn);
        let mut job = serde_json::Value::Null;
        for _ in 0..200 {
            let (_, list) = s.get_json("/api/v1/cost/imports").await;
            // Newest first.
            let item = list["items"][0].clone();
            if item["status"] != "queued" {
                job = item;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(
            (job["status"].as_str(), job["file_name"].as_str()),
            (Some("failed"), Some(&*format!("cut-{n}.csv"))),
            "{job}"
        );
        assert!(job["message"].as_str().is_some_and(|e| e.contains("did not complete")), "{job}");
        let left: Vec<_> =
            std::fs::read_dir(&uploads).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        assert!(left.is_empty(), "nothing is left in uploads: {left:?}");
    }
});

both!(uploads_become_jobs_and_the_ledger_answers_over_http, |t| {
    let s = t.serve().await;
    let body = std::fs::read(fixture("focus-1.3/azure/focus_1_3_cost_and_usage_azure.csv")).unwrap();
    let r = s
        .client
        .post(s.url("/api/v1/cost/imports?name=azure-focus.csv"))
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let queued: serde_json::Value = r.json().await.unwrap();
    assert_eq!(queued["status"], "queued");
    let mut job = serde_json::Value::Null;
    for _ in 0..200 {
        let (code, v) = s.get_json(&location).await;
        assert_eq!(code, 200);
        if !matches!(v["status"].as_str(), Some("queued" | "running")) {
            job = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(job["status"], "active", "{job}");
    assert_eq!(job["rows_ingested"], 1000);
    assert_eq!(job["file_name"], "azure-focus.csv");
    assert!(job["partitions"].as_array().is_some_and(|p| !p.is_empty()));
    // Totals by any dimension.
    let (code, v) = s.get_json("/api/v1/cost/totals?group_by=period,service_category").await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["total"]["lines"], 1000);
    let sum: Decimal = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| parse_decimal(r["billed_cost"].as_str().unwrap()).unwrap())
        .sum();
    assert_eq!(
        sum.to_string(),
        v["total"]["billed_cost"].as_str().unwrap(),
        "the groups add up to the total"
    );
    let (code, v) = s.get_json("/api/v1/cost/totals?group_by=flavour").await;
    assert_eq!((code, v["error"]["code"].as_str()), (400, Some("bad_request")), "{v}");
    // A listing, and a FOCUS download.
    let (_, list) = s.get_json("/api/v1/cost/imports").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let period = job["totals"]["by_period"].as_object().unwrap().keys().next().unwrap().clone();
    let r = s.get(&format!("/api/v1/cost/export?period={period}")).await;
    assert_eq!(r.status(), 200);
    let length: usize = r.headers()["content-length"].to_str().unwrap().parse().unwrap();
    let text = r.text().await.unwrap();
    assert_eq!(text.lines().count(), 1001, "a header and every line");
    assert_eq!(text.len(), length, "streamed whole, as announced");
    let exports = t.app.config().data_dir.join("exports");
    let left = || -> Vec<_> { std::fs::read_dir(&exports).unwrap().flatten().map(|e| e.path()).collect() };
    assert!(left().is_empty(), "the file written for the download is gone: {:?}", left());
    // A client that reads the headers and goes away: the file goes too.
    let r = s.get(&format!("/api/v1/cost/export?period={period}&format=parquet")).await;
    assert_eq!(r.status(), 200);
    drop(r);
    for _ in 0..200 {
        if left().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(left().is_empty(), "an abandoned download leaves nothing: {:?}", left());
    // A viewer may read but not upload; a refused upload leaves nothing behind.
    let viewer = t.user("viewer1", "viewer", vec![]).await;
    let token = t.token(viewer, false).await;
    let r = s
        .anonymous
        .post(s.url("/api/v1/cost/imports?name=x.csv"))
        .bearer_auth(&token)
        .body("a,b\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(s.get_as(&token, "/api/v1/cost/totals").await.status(), 200);
    let (_, list) = s.get_json("/api/v1/cost/imports").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "the refused upload queued nothing");
    // A page holding the last import says nothing older follows (no link to an empty page); a status that is
    // none is refused, naming those there are; a range that ends before it starts too.
    let (_, list) = s.get_json("/api/v1/cost/imports?limit=1").await;
    assert_eq!(list["next_before"], serde_json::Value::Null, "{list}");
    let (code, body) = s.get_json("/api/v1/cost/imports?status=bogus").await;
    assert_eq!(code, 400, "{body}");
    assert!(body.to_string().contains("active, superseded"), "{body}");
    let (code, body) = s.get_json("/api/v1/cost/totals?from=2026-11&to=2026-01").await;
    assert_eq!(code, 400, "{body}");
    assert!(body.to_string().contains("before `from`"), "{body}");
    // A bad parameter is refused before a byte is stored.
    for bad in ["format=excel", "replace_newer=maybe"] {
        let r = s
            .client
            .post(s.url(&format!("/api/v1/cost/imports?name=x.csv&{bad}")))
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let (_, list) = s.get_json("/api/v1/cost/imports").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{bad}");
    }
    // Rates over the API, all or nothing.
    let r = s
        .client
        .post(s.url("/api/v1/cost/rates"))
        .body("date,from,to,rate\n2026-05-01,EUR,USD,x\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = s
        .client
        .post(s.url("/api/v1/cost/rates"))
        .body("date,from,to,rate\n2026-05-01,EUR,USD,1.08\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
});

both!(the_inbox_takes_files_once_they_stop_changing, |t| {
    use itemize_app::inbox::InboxState;
    let inbox = t.app.inbox_dir();
    std::fs::create_dir_all(&inbox).unwrap();
    let mut state = InboxState::default();
    std::fs::copy(fixture("focus-1.0/focus_sample.csv"), inbox.join("sample.csv")).unwrap();
    std::fs::write(inbox.join("still-copying.csv.part"), "BilledCost").unwrap();
    std::fs::write(inbox.join("junk.csv"), "a,b\n1,2\n").unwrap();
    // The first scan only notes the files: one of them might still be growing.
    assert!(t.app.scan_inbox(&mut state).await.unwrap().is_empty());
    assert!(inbox.join("sample.csv").exists());
    // A file that grows between scans waits for the next one.
    std::fs::write(inbox.join("junk.csv"), "a,b\n1,2\n3,4\n").unwrap();
    let done = t.app.scan_inbox(&mut state).await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].status, "active");
    assert!(inbox.join("done/sample.csv").exists() && inbox.join("done/sample.csv.report.json").exists());
    assert!(inbox.join("still-copying.csv.part").exists(), "partial files are never taken");
    let done = t.app.scan_inbox(&mut state).await.unwrap();
    assert_eq!(done.iter().map(|s| s.status.as_str()).collect::<Vec<_>>(), vec!["rejected"]);
    let report = std::fs::read_to_string(inbox.join("failed/junk.csv.report.json")).unwrap();
    assert!(report.contains("formats tried"), "{report}");
    // A generic file finds its mapping in DATA_DIR/mappings.
    std::fs::create_dir_all(t.app.mappings_dir()).unwrap();
    std::fs::write(
        t.app.mappings_dir().join("telecom.toml"),
        "name = \"Telecom\"\n[columns]\ndate = \"Date\"\namount = \"Amount\"\nvendor = \"Carrier\"\n[defaults]\ncurrency = \"USD\"\n",
    )
    .unwrap();
    std::fs::write(
        inbox.join("telecom.csv"),
        "Date,Amount,Carrier\n5/1/26,\"$1,200.00\",Verizon\n5/2/26,$34.50,AT&T\n",
    )
    .unwrap();
    assert!(t.app.scan_inbox(&mut state).await.unwrap().is_empty());
    let done = t.app.scan_inbox(&mut state).await.unwrap();
    assert_eq!(
        (done[0].status.as_str(), done[0].format.as_deref()),
        ("active", Some("generic")),
        "{:?}",
        done[0].message
    );
    assert_eq!(
        done[0].totals.as_ref().unwrap().by_period["2026-05"]["USD"].billed_cost,
        parse_decimal("1234.50").unwrap()
    );
    // A file whose import was cut short (the server stopped while it sat in `.processing/`) is taken again: an
    // import that had committed makes it a no-op that says so, one that had not imports it.
    let work = inbox.join(".processing");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::copy(fixture("focus-1.0/focus_sample.csv"), work.join("sample.csv")).unwrap();
    std::fs::copy(fixture("focus-1.3/aws/focus_1_3_cost_and_usage_aws.csv"), work.join("new.csv")).unwrap();
    assert!(t.app.scan_inbox(&mut state).await.unwrap().is_empty(), "taken back, then noted");
    assert!(inbox.join("sample.csv").exists() && inbox.join("new.csv").exists());
    let mut done: Vec<(String, String)> =
        t.app.scan_inbox(&mut state).await.unwrap().into_iter().map(|s| (s.file_name, s.status)).collect();
    done.sort();
    assert_eq!(
        done,
        [("new.csv".to_string(), "active".to_string()), ("sample.csv".into(), "duplicate".into())]
    );
    assert!(inbox.join("done/1-sample.csv").exists() && inbox.join("done/new.csv").exists());
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0);

    // A file that cannot be moved out after its import (here `failed/` is a link to nowhere) stays in
    // `.processing/`, named in the log, and is not imported again and again; the scan goes on with the others.
    std::fs::remove_dir_all(inbox.join("failed")).unwrap();
    std::os::unix::fs::symlink(inbox.join("no-such-folder"), inbox.join("failed")).unwrap();
    std::fs::write(inbox.join("junk2.csv"), "x,y\n1,2\n").unwrap();
    std::fs::copy(fixture("focus-1.3/gcp/focus_1_3_cost_and_usage_gcp.csv"), inbox.join("gcp.csv")).unwrap();
    assert!(t.app.scan_inbox(&mut state).await.unwrap().is_empty());
    let mut done: Vec<(String, String)> =
        t.app.scan_inbox(&mut state).await.unwrap().into_iter().map(|s| (s.file_name, s.status)).collect();
    done.sort();
    assert_eq!(
        done,
        [("gcp.csv".to_string(), "active".to_string()), ("junk2.csv".into(), "rejected".into())]
    );
    assert!(work.join("junk2.csv").exists() && inbox.join("done/gcp.csv").exists());
    let imports = t.app.cost_imports(&sys(), None, None, 1000).await.unwrap().len();
    for _ in 0..2 {
        assert!(t.app.scan_inbox(&mut state).await.unwrap().is_empty());
    }
    assert_eq!(
        t.app.cost_imports(&sys(), None, None, 1000).await.unwrap().len(),
        imports,
        "not imported again"
    );
    assert!(work.join("junk2.csv").exists());

    // For `serve`, a file must also have been left alone for a while: one written just now waits.
    let mut patient = InboxState::new(std::time::Duration::from_secs(3600));
    std::fs::write(inbox.join("fresh.csv"), "a,b\n1,2\n").unwrap();
    for _ in 0..3 {
        assert!(t.app.scan_inbox(&mut patient).await.unwrap().is_empty());
    }
    assert!(inbox.join("fresh.csv").exists());
});

/// The FinOps Foundation's validator (PyPI `focus-validator` 2.x, which needs Python 3.12) accepts the export.
/// `.ci/run` installs it when it can and names the Python in ITEMIZE_FOCUS_VALIDATOR_PYTHON; without it the test
/// says loudly that it did not run (and fails when ITEMIZE_REQUIRE_FOCUS_VALIDATOR is set).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn focus_export_passes_the_finops_validator() {
    let Ok(python) = std::env::var("ITEMIZE_FOCUS_VALIDATOR_PYTHON") else {
        assert!(
            std::env::var("ITEMIZE_REQUIRE_FOCUS_VALIDATOR").is_err(),
            "ITEMIZE_REQUIRE_FOCUS_VALIDATOR is set but ITEMIZE_FOCUS_VALIDATOR_PYTHON is not"
        );
        eprintln!(
            "NOT RUN: focus_export_passes_the_finops_validator needs ITEMIZE_FOCUS_VALIDATOR_PYTHON (a Python 3.12 \
             with focus-validator 2.x; see docs/focus-validator.md)"
        );
        return;
    };
    let t = TestApp::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let header = "BillingAccountId,BillingAccountName,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,\
                  ChargePeriodEnd,BilledCost,EffectiveCost,ListCost,ContractedCost,BillingCurrency,ChargeCategory,\
                  ChargeClass,ChargeDescription,ChargeFrequency,ProviderName,PublisherName,InvoiceIssuerName,InvoiceId,\
                  ServiceName,ServiceCategory,ServiceSubcategory,PricingQuantity,PricingUnit,SubAccountId,\
                  SubAccountName,SkuId,Tags\n";
    let rows = [
        "acct-main,Main,2026-05-01,2026-06-01,2026-05-01,2026-05-02,12.5,12.5,15,12.5,USD,Usage,,Compute hours,Usage-Based,Acme Cloud,Acme Cloud,Acme Cloud,INV-7,Virtual Machines,Compute,Virtual Machines,10,Hours,sub-a,Prod,sku-1,\"{\"\"team\"\": \"\"web\"\"}\"",
        "acct-main,Main,2026-05-01,2026-06-01,2026-05-01,2026-06-01,100,0,100,100,USD,Purchase,,Reserved capacity,One-Time,Acme Cloud,Acme Cloud,Acme Cloud,INV-7,Virtual Machines,Compute,Virtual Machines,1,Units,sub-a,Prod,sku-2,",
        "acct-main,Main,2026-05-01,2026-06-01,2026-05-01,2026-06-01,8.25,8.25,8.25,8.25,USD,Tax,,Sales tax,One-Time,Acme Cloud,Acme Cloud,Acme Cloud,INV-7,Virtual Machines,Compute,Virtual Machines,,,sub-a,Prod,,",
        "acct-main,Main,2026-05-01,2026-06-01,2026-05-01,2026-06-01,-5,-5,-5,-5,USD,Credit,,Promotional credit,One-Time,Acme Cloud,Acme Cloud,Acme Cloud,INV-7,Virtual Machines,Compute,Virtual Machines,,,sub-a,Prod,,",
    ];
    let src = dir.path().join("src.csv");
    std::fs::write(&src, format!("{header}{}\n", rows.join("\n"))).unwrap();
    let s = import(&t, &src, ImportOptions::default()).await;
    assert_eq!(s.status, "active", "{:?}", s.report);
    let check = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/focus_check.py");
    // Exports a month (May unless said) as `name` (Parquet or CSV by its extension) and runs the validator on
    // it: whether it passed, its report as text and as JSON.
    let validate_month = |t: &TestApp, name: &'static str, period: &'static str| {
        let (app, out, python, check) = (t.app.clone(), dir.path().join(name), python.clone(), check.clone());
        async move {
            let fmt = if name.ends_with("parquet") { ExportFormat::Parquet } else { ExportFormat::Csv };
            app.export_focus_file(&sys(), period, fmt, &out).await.unwrap();
            let res = std::process::Command::new(&python)
                .arg(&check)
                .arg(&out)
                .args(["--version", "1.2"])
                .output()
                .unwrap();
            let report = String::from_utf8_lossy(&res.stdout).into_owned();
            let v: serde_json::Value = serde_json::from_str(&report)
                .unwrap_or_else(|e| panic!("{e}: {report}\n{}", String::from_utf8_lossy(&res.stderr)));
            (res.status.success(), report, v)
        }
    };
    let validate = |t: &TestApp, name: &'static str| validate_month(t, name, "2026-05");
    for name in ["export.parquet", "export.csv"] {
        let (passed, report, v) = validate(&t, name).await;
        assert!(passed, "the FOCUS validator refused {name}:\n{report}");
        assert!(v["counts"]["pass"].as_u64().unwrap() > 100, "{report}");
        assert_eq!(v["counts"]["unexpected_fail"], 0, "{report}");
    }
    // A real bill too: the FOCUS 1.3 AWS sample's thousand lines (all-digit account ids, JSON tags, commitment
    // discounts), exported as FOCUS 1.2.
    let t = TestApp::sqlite().await;
    let s = import(&t, &fixture("focus-1.3/aws/focus_1_3_cost_and_usage_aws.csv"), ImportOptions::default())
        .await;
    assert_eq!(s.status, "active", "{:?}", s.report);
    for name in ["aws.parquet", "aws.csv"] {
        let (passed, report, v) = validate(&t, name).await;
        // The validator reads a CSV file's all-digit account ids as numbers, then fails them as not strings (the
        // same values as Parquet pass): that, and only that, is what it may refuse in the CSV file.
        let refused: Vec<&str> =
            v["unexpected_fail_ids"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
        if name.ends_with("parquet") {
            assert!(passed && refused.is_empty(), "the FOCUS validator refused {name}:\n{report}");
        } else {
            assert_eq!(refused, ["BillingAccountId-C-000-M", "BillingAccountId-C-002-M"], "{report}");
        }
        // Its rule for purchases leaves out "intended to cover future eligible charges": the sample's
        // subscription fees keep their cost, its commitment purchases have an EffectiveCost of 0.
        assert_eq!(v["tolerated"][0]["rule_id"], "EffectiveCost-C-005-C", "{report}");
        assert!(v["tolerated"][0]["why"].as_str().unwrap().starts_with("37 purchase rows"), "{report}");
    }
    // And a whole month of the demo organisation (its last billed month): every source at once (CUR 2.0 with a savings plan's recurring
    // fee, Azure cost details, a GCP export with tax lines that give no ChargeFrequency, Datadog's FOCUS file,
    // SaaS invoices and GL spend through mappings, asset depreciation), units as the providers spell them.
    let t = TestApp::sqlite().await;
    t.app.load_demo(t._dir.path(), 1, jiff::civil::date(2026, 11, 22)).await.expect("the demo loads");
    let (passed, report, v) = validate_month(&t, "demo.parquet", "2026-10").await;
    assert!(passed, "the FOCUS validator refused the demo's October:\n{report}");
    assert!(v["rows"].as_u64().unwrap() > 1000, "{report}");
    let tolerated: Vec<&str> =
        v["tolerated"].as_array().unwrap().iter().map(|r| r["rule_id"].as_str().unwrap()).collect();
    // Charges no invoice carries (depreciation, Azure EA, GCP) beside invoiced ones: null per charge, as FOCUS
    // states it; and the savings plan's recurring fee keeps its unused commitment as its EffectiveCost.
    assert_eq!(tolerated, ["InvoiceId-C-003-C", "EffectiveCost-C-005-C"], "{report}");
    assert!(v["tolerated"][0]["why"].as_str().unwrap().contains("Asset depreciation"), "{report}");
    for rule in
        ["ServiceSubcategory-C-002-M", "ChargeFrequency-C-002-M", "PricingUnit-C-003-O", "BilledCost-C-005-C"]
    {
        assert!(!report.contains(&format!("\"{rule}\"")), "{rule} fails: {report}");
    }
}

both!(lenient_json_lines_quarantine_the_lines_as_they_were, |t| {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"billing_account_id":"01A2B3-C4D5E6-F7A8B9","service":{"id":"6F81","description":"Compute Engine"},"sku":{"id":"2E27","description":"Core"},"usage_start_time":"2026-05-01T07:00:00Z","usage_end_time":"2026-05-01T08:00:00Z","project":{"id":"proj-a","name":"Project A"},"labels":[],"cost":0.031611,"currency":"USD","credits":[{"name":"SUD","amount":-0.006322,"full_name":"Sustained Usage Discount","id":"sud-1","type":"SUSTAINED_USAGE_DISCOUNT"}],"invoice":{"month":"202605"},"cost_type":"regular"}"#;
    let bad = good.replace(r#""cost_type":"regular""#, r#""cost_type":"mystery""#);
    let path = dir.path().join("gcp.jsonl");
    std::fs::write(&path, format!("{good}\n{bad}\n{good}\n")).unwrap();
    let s = import(&t, &path, ImportOptions { lenient: true, ..Default::default() }).await;
    assert_eq!((s.status.as_str(), s.format.as_deref(), s.rows_rejected), ("active", Some("gcp-jsonl"), 1));
    // Two usage lines and their two credits.
    let by = &s.totals.as_ref().unwrap().by_period["2026-05"]["USD"];
    assert_eq!((by.rows, by.billed_cost), (4, parse_decimal("0.050578").unwrap()));
    let q = PathBuf::from(s.report.unwrap().quarantine.unwrap());
    let mut r = csv::Reader::from_path(&q).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!((&rows[0][0], &rows[0][1]), ("2", "cost_type"));
    assert_eq!(&rows[0][3], bad.as_str(), "the line exactly as it was");
});

both!(the_quarantine_holds_rejected_rows_whatever_the_container, |t| {
    use itemize_ingest::generic::Mapping;
    let dir = tempfile::tempdir().unwrap();
    let quarantined = |s: &ImportSummary| -> Vec<Vec<String>> {
        let q = s.report.as_ref().and_then(|r| r.quarantine.clone()).expect("a quarantine file");
        let mut r = csv::ReaderBuilder::new().has_headers(false).from_path(q).unwrap();
        r.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
    };
    let lenient =
        |m: Option<&Mapping>| ImportOptions { lenient: true, mapping: m.cloned(), ..Default::default() };
    let mapping = |extra: &str| {
        Mapping::from_toml(&format!(
            "name = \"Telekom\"\n{extra}[columns]\ndate = \"Datum\"\namount = \"Betrag\"\nvendor = \"Anbieter\"\n\
             [defaults]\ncurrency = \"USD\"\n"
        ))
        .unwrap()
    };
    let header = |cols: &[&str]| -> Vec<String> {
        ["_row", "_column", "_reason"].iter().chain(cols).map(|c| c.to_string()).collect()
    };

    // A `;`-separated generic file: the rejected row in its own columns, not as one cell.
    let semi = mapping("delimiter = \";\"\n");
    let path = dir.path().join("telekom.csv");
    // Written on Windows (CRLF): row numbers are still the editor's.
    std::fs::write(
        &path,
        "Datum;Betrag;Anbieter\r\n2026-05-01;12.50;Telekom\r\n2026-05-02;zwölf;Telekom\r\n",
    )
    .unwrap();
    let s = import(&t, &path, lenient(Some(&semi))).await;
    assert_eq!((s.status.as_str(), s.rows_rejected), ("active", 1), "{:?} {:?}", s.message, s.report);
    let q = quarantined(&s);
    assert_eq!(q[0], header(&["Datum", "Betrag", "Anbieter"]));
    assert_eq!((q.len(), &q[1][0], &q[1][1]), (2, &"3".to_string(), &"Betrag".to_string()));
    assert_eq!(q[1][3..], ["2026-05-02", "zwölf", "Telekom"]);

    // A workbook: every rejected row, by spreadsheet row, with all its cells (not only the report's first 100).
    let plain = mapping("");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["Datum", "Betrag", "Anbieter"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for r in 1..=150u32 {
        sheet.write_string(r, 0, "2026-06-01").unwrap();
        if r % 3 == 0 {
            sheet.write_string(r, 1, "n/a").unwrap();
        } else {
            sheet.write_number(r, 1, 2.5).unwrap();
        }
        sheet.write_string(r, 2, format!("Carrier {r}")).unwrap();
    }
    let xlsx = dir.path().join("june.xlsx");
    book.save(&xlsx).unwrap();
    let s = import(&t, &xlsx, lenient(Some(&plain))).await;
    assert_eq!((s.status.as_str(), s.rows_rejected, s.rows_ingested), ("active", 50, 100), "{:?}", s.message);
    let q = quarantined(&s);
    assert_eq!(q[0], header(&["Datum", "Betrag", "Anbieter"]));
    assert_eq!(q.len(), 51);
    assert_eq!(q[50][0], "151", "spreadsheet row 151 holds the 150th line");
    assert_eq!(q[50][3..], ["2026-06-01", "n/a", "Carrier 150"]);

    // Gzipped JSON lines: the line as it was, though the file is compressed.
    let good = r#"{"billing_account_id":"01A2B3-C4D5E6-F7A8B9","service":{"id":"6F81","description":"Compute Engine"},"sku":{"id":"2E27","description":"Core"},"usage_start_time":"2026-05-01T07:00:00Z","usage_end_time":"2026-05-01T08:00:00Z","project":{"id":"proj-a","name":"Project A"},"labels":[],"cost":0.031611,"currency":"USD","credits":[],"invoice":{"month":"202605"},"cost_type":"regular"}"#;
    let bad = good.replace(r#""cost_type":"regular""#, r#""cost_type":"mystery""#);
    let gz = dir.path().join("gcp.jsonl.gz");
    let mut enc =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, format!("{good}\n{bad}\n").as_bytes()).unwrap();
    enc.finish().unwrap();
    let s = import(&t, &gz, lenient(None)).await;
    assert_eq!((s.status.as_str(), s.rows_rejected), ("active", 1), "{:?}", s.message);
    let q = quarantined(&s);
    assert_eq!(q[0], header(&["line"]));
    assert_eq!((q[1][0].as_str(), q[1][1].as_str(), q[1][3].as_str()), ("2", "cost_type", bad.as_str()));
});

both!(vendor_aliases_resolve_to_the_register, |t| {
    use itemize_core::refdata::Vendor;
    let cisco = t
        .app
        .create::<Vendor>(
            &sys(),
            serde_json::json!({"name": "Cisco", "aliases": ["Cisco Systems International B.V."]}),
        )
        .await
        .unwrap()
        .id
        .get();
    let aws = t
        .app
        .create::<Vendor>(&sys(), serde_json::json!({"name": "Amazon Web Services", "aliases": ["AWS"]}))
        .await
        .unwrap()
        .id
        .get();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gl.csv");
    std::fs::write(
        &path,
        "Date,Amount,Supplier\n5/3/26,100.00,CISCO SYSTEMS INTERNATIONAL B.V.\n5/4/26,7.00,Unknown Ltd\n",
    )
    .unwrap();
    let mapping = itemize_ingest::generic::Mapping::from_toml(
        "name = \"GL\"\n[columns]\ndate = \"Date\"\namount = \"Amount\"\nvendor = \"Supplier\"\n[defaults]\ncurrency = \"USD\"\n",
    )
    .unwrap();
    let s = import(&t, &path, ImportOptions { mapping: Some(mapping), ..Default::default() }).await;
    assert_eq!(s.status, "active", "{:?}", s.message);
    let q = LedgerQuery { group_by: vec![Dimension::Provider, Dimension::Publisher], ..Default::default() };
    let rows: Vec<Vec<Option<String>>> =
        t.app.ledger_totals(&sys(), &q).await.unwrap().rows.into_iter().map(|r| r.keys).collect();
    assert_eq!(
        rows,
        vec![
            vec![Some("Cisco".into()), Some("Cisco".into())],
            vec![Some("Unknown Ltd".into()), Some("Unknown Ltd".into())],
        ],
        "an alias spelling becomes the register's vendor; an unknown vendor stays as written"
    );
    // Cloud bills keep the provider's own names and are linked to the vendor.
    import(&t, &fixture("focus-1.3/aws/focus_1_3_cost_and_usage_aws.csv"), ImportOptions::default()).await;
    let mut linked = BTreeMap::new();
    for p in t.app.ledger_history(&sys(), &PartitionFilter::default()).await.unwrap() {
        for (r, _) in itemize_ingest::lake::read_records(&t.app.lake_dir().join(&p.lake_path)).unwrap() {
            linked.insert(r.provider_name.clone().unwrap_or_default(), r.other.get("x_VendorId").cloned());
        }
    }
    assert_eq!(linked["Cisco"], Some(cisco.to_string()));
    assert_eq!(linked["Unknown Ltd"], None);
    assert_eq!(linked["AWS"], Some(aws.to_string()));
});

both!(an_export_in_parts_is_one_import, |t| {
    // The AWS FOCUS sample split in two, as a provider writes a large month: the parts together are the month.
    let src = fixture("focus-1.3/aws/focus_1_3_cost_and_usage_aws.csv");
    let dir = tempfile::tempdir().unwrap();
    let mut r = csv::Reader::from_path(&src).unwrap();
    let header = r.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let half = rows.len() / 2;
    let write = |name: &str, rows: &[csv::StringRecord]| {
        let p = dir.path().join(name);
        let mut w = csv::Writer::from_path(&p).unwrap();
        w.write_record(&header).unwrap();
        for r in rows {
            w.write_record(r).unwrap();
        }
        w.flush().unwrap();
        p
    };
    let (a, b) = (write("part-1.csv", &rows[..half]), write("part-2.csv", &rows[half..]));
    let month: Decimal =
        independent(&src, "BillingPeriodStart", "BillingCurrency", &["BilledCost"], |v| v[..7].into())
            .values()
            .map(|v| v[0])
            .sum();
    let billed = |t: &TestApp| {
        let app = t.app.clone();
        async move { app.ledger_totals(&sys(), &LedgerQuery::default()).await.unwrap().total.billed_cost }
    };
    let parts = |p: &[&PathBuf]| ImportOptions {
        parts: p.iter().map(|p| p.to_path_buf()).collect(),
        ..Default::default()
    };

    // Imported one by one, the second part is a newer reading of the month and replaces the first: half the
    // month. Imported as the parts of one export, they are the month.
    import(&t, &a, Default::default()).await;
    let alone = import(&t, &b, Default::default()).await;
    assert_eq!(alone.status, "active", "{:?}", alone.message);
    assert!(billed(&t).await < month, "one part alone is not the month");
    let set = import(&t, &a, parts(&[&b])).await;
    assert_eq!(
        (set.status.as_str(), set.rows_ingested as usize),
        ("active", rows.len()),
        "{:?}",
        set.message
    );
    assert_eq!(set.replaced, [alone.id]);
    assert_eq!(billed(&t).await, month);
    // A part given twice (a re-download under another name) is refused: it would count twice.
    let copy = dir.path().join("part-2 (1).csv");
    std::fs::copy(&b, &copy).unwrap();
    let twice = import(&t, &a, parts(&[&b, &copy])).await;
    assert_eq!(twice.status, "rejected", "{:?}", twice.message);
    assert!(twice.message.as_deref().unwrap().contains("are the same file"), "{:?}", twice.message);
    assert_eq!(billed(&t).await, month);
    // The same parts in another order are the same import: nothing changes.
    let again = import(&t, &b, parts(&[&a])).await;
    assert_eq!(again.status, "duplicate", "{:?}", again.message);
    assert_eq!(again.file_sha256, set.file_sha256);
    // The month exported again in one file restates the parts at once.
    let whole = import(&t, &src, Default::default()).await;
    assert_eq!(
        (whole.status.as_str(), whole.replaced.clone()),
        ("active", vec![set.id]),
        "{:?}",
        whole.message
    );
    assert_eq!(billed(&t).await, month);

    // A bad row in the second part rejects the set, naming the part, its row and column; nothing changes.
    let col = header.iter().position(|h| h == "BilledCost").unwrap();
    let mut broken: Vec<csv::StringRecord> = rows[half..].to_vec();
    let mut cells: Vec<String> = broken[1].iter().map(str::to_string).collect();
    cells[col] = "12 apples".into();
    broken[1] = csv::StringRecord::from(cells);
    let c = write("part-2-bad.csv", &broken);
    let e = import(&t, &a, parts(&[&c])).await;
    assert_eq!(e.status, "rejected", "{:?}", e.message);
    let first = &e.report.as_ref().unwrap().errors[0];
    assert_eq!(
        (first.file.as_deref(), first.row, first.column.as_deref(), first.value.as_deref()),
        (Some("part-2-bad.csv"), 3, Some("BilledCost"), Some("12 apples"))
    );
    assert_eq!(billed(&t).await, month);
    // Leniently, the good rows of both parts go in and the quarantine says which part each bad row was in.
    let l = import(&t, &a, ImportOptions { lenient: true, ..parts(&[&c]) }).await;
    assert_eq!((l.status.as_str(), l.rows_rejected), ("active", 1), "{:?}", l.message);
    let q = l.report.as_ref().unwrap().quarantine.clone().expect("a quarantine file");
    let text = std::fs::read_to_string(q).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("_file,_row,_column,_reason,"));
    assert!(lines.next().unwrap().starts_with("part-2-bad.csv,3,BilledCost,"), "{text}");
    assert_eq!(lines.next(), None);
});

both!(a_corrected_invoice_dated_in_another_month_restates_the_first, |t| {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, rows: &[(&str, &str, &str)]| {
        let mut s = String::from("Invoice Date,Invoice No,Supplier,Amount\n");
        for (date, inv, amount) in rows {
            s.push_str(&format!("{date},{inv},Acme,{amount}\n"));
        }
        let p = dir.path().join(name);
        std::fs::write(&p, s).unwrap();
        p
    };
    let opts = || {
        ImportOptions {
        mapping: Some(
            itemize_ingest::generic::Mapping::from_toml(
                "name = \"SaaS\"\nreplaces = \"invoice\"\n[columns]\ndate = \"Invoice Date\"\namount = \"Amount\"\n\
                 vendor = \"Supplier\"\ninvoice = \"Invoice No\"\n[defaults]\ncurrency = \"USD\"\n",
            )
            .unwrap(),
        ),
        ..Default::default()
    }
    };
    let billed = |t: &TestApp, period: Option<&str>| {
        let q = LedgerQuery {
            period_from: period.map(str::to_string),
            period_to: period.map(str::to_string),
            ..Default::default()
        };
        let app = t.app.clone();
        async move { app.ledger_totals(&sys(), &q).await.unwrap().total.billed_cost.to_string() }
    };
    // INV-9 dated 28 May, then reissued on 2 June for 90.00: the reissue replaces it, in May too (an invoice
    // restates its readings in its month and the months either side).
    let may =
        import(&t, &file("a.csv", &[("2026-05-28", "INV-9", "100.00"), ("2026-05-10", "", "5.00")]), opts())
            .await;
    assert_eq!(may.status, "active", "{:?}", may.message);
    let june =
        import(&t, &file("b.csv", &[("2026-06-02", "INV-9", "90.00"), ("2026-06-10", "", "7.00")]), opts())
            .await;
    assert_eq!((june.status.as_str(), june.replaced.clone()), ("active", vec![may.id]), "{:?}", june.message);
    // May keeps its lines without an invoice number (those restate only their own month); INV-9 counts once.
    assert_eq!(billed(&t, Some("2026-05")).await, "5.00");
    assert_eq!(billed(&t, Some("2026-06")).await, "97.00");
    assert_eq!(billed(&t, None).await, "102.00");
    // The same number months later is another invoice (numbers that restart each year): it adds up.
    let later = import(&t, &file("c.csv", &[("2026-09-15", "INV-9", "40.00")]), opts()).await;
    assert_eq!((later.status.as_str(), later.replaced.len()), ("active", 0), "{:?}", later.message);
    assert_eq!(billed(&t, None).await, "142.00");
});

both!(a_gcp_csv_without_credits_is_read_and_said_to_be_before_credits, |t| {
    let dir = tempfile::tempdir().unwrap();
    let head =
        "billing_account_id,service.description,usage_start_time,usage_end_time,cost,currency,invoice.month";
    let row =
        "01A2B3-C4D5E6-F7A8B9,Compute Engine,2026-05-01 00:00:00 UTC,2026-05-01 01:00:00 UTC,1.50,USD,202605";
    let without = dir.path().join("gcp.csv");
    std::fs::write(&without, format!("{head}\n{row}\n")).unwrap();
    let s = import(&t, &without, Default::default()).await;
    assert_eq!((s.status.as_str(), s.format.as_deref()), ("active", Some("gcp")), "{:?}", s.message);
    assert!(s.message.as_deref().unwrap_or_default().contains("no credits column"), "{:?}", s.message);
    // With the column (empty lists here), nothing is said.
    let with = dir.path().join("gcp-credits.csv");
    std::fs::write(&with, format!("{head},credits\n{row},[]\n").replace("1.50", "2.50")).unwrap();
    let s = import(&t, &with, Default::default()).await;
    assert_eq!(s.status, "active", "{:?}", s.message);
    assert!(!s.message.as_deref().unwrap_or_default().contains("credits"), "{:?}", s.message);
});

both!(a_period_converted_at_a_cross_rate_exports_to_parquet, |t| {
    let dir = tempfile::tempdir().unwrap();
    // ECB rates are per euro: a GBP bill reported in USD converts at USD/GBP, a rate of 28 decimal places.
    t.app.import_rates(&sys(), "Date,USD,GBP\n2026-05-04,1.0823,0.8412\n", "ecb.csv").await.unwrap();
    let bill = dir.path().join("gbp.csv");
    std::fs::write(&bill, "Invoice Date,Invoice No,Supplier,Amount\n2026-05-04,INV-1,Acme,100.00\n").unwrap();
    let opts = ImportOptions {
        mapping: Some(
            itemize_ingest::generic::Mapping::from_toml(
                "name = \"SaaS\"\n[columns]\ndate = \"Invoice Date\"\namount = \"Amount\"\nvendor = \"Supplier\"\n\
                 invoice = \"Invoice No\"\n[defaults]\ncurrency = \"GBP\"\n",
            )
            .unwrap(),
        ),
        ..Default::default()
    };
    assert_eq!(import(&t, &bill, opts).await.status, "active");
    let rate = Decimal::new(10823, 4) / Decimal::new(8412, 4);
    assert!(rate.scale() > 18, "the test needs a rate finer than Parquet's decimals: {rate}");
    let csv = dir.path().join("may.csv");
    t.app.export_focus_file(&sys(), "2026-05", ExportFormat::Csv, &csv).await.unwrap();
    let mut r = csv::Reader::from_path(&csv).unwrap();
    let h = r.headers().unwrap().clone();
    let row = r.records().next().unwrap().unwrap();
    let cell = |n: &str| row[h.iter().position(|c| c == n).unwrap()].to_string();
    assert_eq!(cell("x_ExchangeRate"), rate.to_string());
    assert_eq!(cell("x_BilledCostInReportingCurrency"), (Decimal::new(10000, 2) * rate).to_string());
    // Parquet holds the same, exactly (the rate as decimal text); before, the export was refused.
    let pq = dir.path().join("may.parquet");
    assert_eq!(t.app.export_focus_file(&sys(), "2026-05", ExportFormat::Parquet, &pq).await.unwrap(), 1);
    let back = TestApp::sqlite().await;
    back.app.import_rates(&sys(), "Date,USD,GBP\n2026-05-04,1.0823,0.8412\n", "ecb.csv").await.unwrap();
    let s = import(&back, &pq, ImportOptions::default()).await;
    assert_eq!((s.status.as_str(), s.rows_ingested), ("active", 1), "{:?}", s.message);
    // A value Parquet's DECIMAL(38, 18) cannot hold refuses the export, and leaves no partial file behind.
    let big = dir.path().join("big.csv");
    std::fs::write(
        &big,
        "Invoice Date,Invoice No,Supplier,Amount\n2026-05-05,INV-2,Acme,100000000000000000000.00\n",
    )
    .unwrap();
    let opts = ImportOptions {
        mapping: Some(
            itemize_ingest::generic::Mapping::from_toml(
                "name = \"Big\"\n[columns]\ndate = \"Invoice Date\"\namount = \"Amount\"\nvendor = \"Supplier\"\n\
                 invoice = \"Invoice No\"\n[defaults]\ncurrency = \"USD\"\n",
            )
            .unwrap(),
        ),
        ..Default::default()
    };
    assert_eq!(import(&t, &big, opts).await.status, "active");
    let out = dir.path().join("big.parquet");
    let e = t.app.export_focus_file(&sys(), "2026-05", ExportFormat::Parquet, &out).await.unwrap_err();
    assert!(e.to_string().contains("too large"), "{e}");
    assert!(!out.exists() && !dir.path().join("big.part").exists(), "nothing left behind");
});

both!(leftovers_of_imports_cut_short_are_swept_and_nothing_else, |t| {
    // A kept raw file and a lake partition, then what a stopped process would leave beside them.
    let s = import(&t, &fixture("focus-1.0/focus_sample.csv"), ImportOptions::default()).await;
    assert_eq!(s.status, "active");
    let data = t.app.config().data_dir.clone();
    let raw = data.join("raw/sha256").join(&s.file_sha256[..2]).join(&s.file_sha256);
    assert!(raw.exists());
    let left = [
        data.join("uploads/import-9.upload"),
        data.join("raw/sha256").join(&s.file_sha256[..2]).join("0123abcd.part"),
        data.join("lake/_staging/import-9/part-0.parquet"),
        data.join("exports/focus-2026-05.part"),
        data.join("exports/focus-2026-05-0a1b2c.parquet"),
    ];
    for p in &left {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "x").unwrap();
    }
    assert_eq!(t.app.sweep_leftovers(), 5);
    for p in &left {
        assert!(!p.exists(), "{} is swept", p.display());
    }
    assert!(raw.exists(), "the raw file an import holds stays");
    let total = t.app.ledger_totals(&sys(), &LedgerQuery::default()).await.unwrap().total;
    assert_eq!(total.lines as i64, s.rows_ingested, "the lake is untouched");
    assert_eq!(t.app.sweep_leftovers(), 0);
});
