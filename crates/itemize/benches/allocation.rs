//! Allocation benchmark: classification plus cube build (aggregation and pool splits) on one core, with 500
//! rules and 5 pools over lines shaped like a cloud bill (accounts, resources, tags, 28 days), in memory. The
//! lake read that feeds a real run is measured separately by `cost_ingest`'s ledger query.
//!
//! `cargo bench -p itemize --bench allocation` (ITEMIZE_BENCH_LINES sets the lines, default 1,000,000;
//! ITEMIZE_BENCH_RESOURCES the distinct resource ids among them, default 30,000).

#![allow(clippy::disallowed_methods)] // a benchmark measures wall-clock time

use itemize_core::allocation::{
    Allocator, Catalog, FIELD_COUNT, Field, LineCost, LineRef, Rules, parse_rule_set,
};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::time::Instant;

mod common;
use common::Rng;

fn main() {
    let n: usize =
        std::env::var("ITEMIZE_BENCH_LINES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    // Distinct resource ids in the month: a daily bill of 1,000,000 lines holds some tens of thousands.
    let n_resources: usize =
        std::env::var("ITEMIZE_BENCH_RESOURCES").ok().and_then(|v| v.parse().ok()).unwrap_or(30_000);
    let catalog = Catalog {
        cost_centres: (0..40).map(|i| (format!("CC-{i:03}"), format!("Cost centre {i}"))).collect(),
        services: (0..200)
            .map(|i| (format!("SVC-{i:03}"), format!("Service {i}"), format!("CC-{:03}", i % 40)))
            .collect(),
        headcount: (0..40).map(|i| (format!("CC-{i:03}"), 5 + i as u64)).collect(),
        metrics: HashMap::from([(
            "cpu-hours".to_string(),
            (0..20).map(|i| (format!("SVC-{i:03}"), Decimal::from(100 + i))).collect(),
        )]),
    };
    // 500 rules: 200 ownership by account, 100 by resource pattern, 150 tag equalities, 40 tag regexes, 10 defaults.
    let mut t = String::from(
        "name = \"bench\"\neffective_from = \"2026-01\"\n[tag_aliases]\ncost_centre = [\"CostCenter\", \"cost-center\"]\n",
    );
    for i in 0..200 {
        t += &format!(
            "[[ownership]]\nwhen = {{ sub_account = \"acct-{i:04}\" }}\nservice = \"SVC-{:03}\"\n",
            i % 200
        );
    }
    for i in 0..100 {
        t += &format!(
            "[[ownership]]\nwhen = {{ resource_id = {{ glob = \"arn:aws:rds:*:db-{i:03}-*\" }} }}\nservice = \"SVC-{:03}\"\n",
            i
        );
    }
    for i in 0..150 {
        t += &format!(
            "[[tag]]\nwhen = {{ \"tag:team\" = \"team-{i:03}\" }}\nservice = \"SVC-{:03}\"\n",
            i % 200
        );
    }
    for i in 0..40 {
        t += &format!(
            "[[tag]]\nwhen = {{ \"tag:app\" = {{ matches = \"^app-{i:02}[0-9]$\" }} }}\ncost_centre = \"CC-{:03}\"\n",
            i
        );
    }
    for i in 0..10 {
        t += &format!("[[default]]\nwhen = {{ account = \"payer-{i}\" }}\ncost_centre = \"CC-{:03}\"\n", i);
    }
    t +=
        "[[pool]]\nname = \"support\"\nwhen = { service_name = \"AWS Support\" }\nsplit = \"proportional\"\n";
    t += "[[pool]]\nname = \"tax\"\nwhen = { charge_category = \"Tax\" }\nsplit = \"proportional\"\namong = \"services\"\n";
    t += "[[pool]]\nname = \"cluster\"\nwhen = { service_name = \"EKS\" }\nsplit = \"driver\"\ndriver = \"metric:cpu-hours\"\n";
    t += "[[pool]]\nname = \"egress\"\nwhen = { service_name = \"Egress\" }\nsplit = \"fixed\"\npercentages = { \"pool:cluster\" = \"50\", \"cc:CC-001\" = \"50\" }\n";
    t += "[[pool]]\nname = \"seats\"\nwhen = { service_name = \"Chat\" }\nsplit = \"driver\"\ndriver = \"headcount\"\n";
    let doc = parse_rule_set(&t).unwrap();
    let rules = Rules::compile(&doc, &catalog).unwrap();

    // Lines: 2,000 accounts (10% owned), the resources, tags, 28 days; a few lines in each pool.
    let services = ["AmazonEC2", "AmazonS3", "AmazonRDS", "AWS Support", "EKS", "Egress", "Chat", "Lambda"];
    let categories = ["Usage", "Usage", "Usage", "Tax", "Usage", "Purchase"];
    let days: Vec<String> = (1..=28).map(|d| format!("2026-01-{d:02}")).collect();
    let accounts: Vec<String> = (0..2000).map(|i| format!("acct-{:04}", i * 7 % 2000)).collect();
    let resources: Vec<String> =
        (0..n_resources).map(|i| format!("arn:aws:rds:us-east-1:db-{:03}-{i}", i % 300)).collect();
    let teams: Vec<String> = (0..300).map(|i| format!("team-{i:03}")).collect();
    let apps: Vec<String> = (0..600).map(|i| format!("app-{i:03}")).collect();
    let mut rng = Rng(7);
    struct Gen {
        acct: usize,
        res: usize,
        svc: usize,
        cat: usize,
        day: usize,
        tags: Vec<(String, String)>,
        cost: Decimal,
    }
    let started = Instant::now();
    let lines: Vec<Gen> = (0..n)
        .map(|_| {
            let r = rng.next();
            let mut tags = Vec::new();
            if !r.is_multiple_of(10) {
                tags.push(("team".to_string(), teams[(r >> 8) as usize % teams.len()].clone()));
                tags.push(("app".to_string(), apps[(r >> 20) as usize % apps.len()].clone()));
            }
            Gen {
                acct: (r >> 32) as usize % accounts.len(),
                res: (r >> 12) as usize % resources.len(),
                svc: if r.is_multiple_of(97) { 3 + (r >> 40) as usize % 4 } else { (r >> 44) as usize % 3 },
                cat: (r >> 48) as usize % categories.len(),
                day: (r >> 52) as usize % days.len(),
                tags,
                cost: Decimal::new((r % 10_000_000) as i64, 6),
            }
        })
        .collect();
    eprintln!("generated {n} lines in {:.1} s", started.elapsed().as_secs_f64());

    let started = Instant::now();
    let mut a = Allocator::new(&rules);
    for g in &lines {
        let mut fields = [""; FIELD_COUNT];
        fields[Field::Provider as usize] = "AWS";
        fields[Field::Account as usize] = "payer-1";
        fields[Field::SubAccount as usize] = &accounts[g.acct];
        fields[Field::ResourceId as usize] = &resources[g.res];
        fields[Field::ServiceName as usize] = services[g.svc];
        fields[Field::ChargeCategory as usize] = categories[g.cat];
        fields[Field::Region as usize] = "us-east-1";
        let cost = LineCost { day: &days[g.day], billed: g.cost, effective: g.cost, provider_split: None };
        a.add(&LineRef { fields, tags: &g.tags }, &cost);
    }
    let classified = started.elapsed();
    let rows = a.finish();
    let total = started.elapsed();
    let sum: Decimal = rows.iter().map(|r| r.sums.effective).sum();
    let want: Decimal = lines.iter().map(|g| g.cost).sum();
    assert_eq!(sum, want, "conservation");
    println!(
        "allocation + cube build, one core: {:>10.0} lines/s  ({n} lines, {n_resources} resources, 500 rules, 5 pools, {} cells; classify and aggregate {:.2} s, pools and cells {:.2} s)",
        n as f64 / total.as_secs_f64(),
        rows.len(),
        classified.as_secs_f64(),
        (total - classified).as_secs_f64()
    );
}
