//! Cost allocation end to end on both databases: the FOCUS 1.3 fixtures allocated with the providers' own
//! splits honoured and every period conserved against the ledger; rules validated, previewed, applied and
//! versioned; showback, explanation, period close and a balanced journal; the API and a scoped user's view.

use crate::cost_ledger::{fixture, import};
use crate::harness::{TestApp, sys};
use itemize_app::AppError;
use itemize_app::allocation::{Measure, StatementBy};
use itemize_app::cost::ImportOptions;
use itemize_app::ledger::{Dimension, LedgerQuery};
use itemize_core::refdata::{CostCentre, Service};
use rust_decimal::Decimal;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

const FIXTURES: [&str; 3] = [
    "focus-1.3/aws/focus_1_3_cost_and_usage_aws.csv",
    "focus-1.3/azure/focus_1_3_cost_and_usage_azure.csv",
    "focus-1.3/gcp/focus_1_3_cost_and_usage_gcp.csv",
];

/// The cost centres the fixtures' AllocatedTags name, and a service owned by one of them.
/// `without`: a cost centre left out, so the lines tagged with it have no owner.
async fn org(t: &TestApp, without: Option<&str>) -> BTreeMap<String, i64> {
    let mut ids = BTreeMap::new();
    let all = [("cc-1042", "Analytics"), ("cc-3110", "Billing"), ("cc-2087", "Search"), ("CC-IT", "IT")];
    for (code, name) in all.into_iter().filter(|(c, _)| Some(*c) != without) {
        let r = t.app.create::<CostCentre>(&sys(), json!({"code": code, "name": name})).await.unwrap();
        ids.insert(code.to_string(), r.id.get());
    }
    t.app
        .create::<Service>(
            &sys(),
            json!({"code": "SVC-WL", "name": "Workloads", "criticality": "low", "owner_cost_centre_id": ids["cc-3110"]}),
        )
        .await
        .unwrap();
    ids
}

fn rules(extra: &str) -> String {
    format!(
        r#"name = "fixture rules"
effective_from = "2000-01"
[tag_aliases]
cost_centre = ["CostCenter", "cost-center"]
[[tag]]
name = "cost centre"
when = {{ "tag:cost_centre" = {{ present = true }} }}
cost_centre_from = "tag:cost_centre"
[journal]
provider_cost_centre = "CC-IT"
credit_account = "7990"
[journal.gl_accounts]
default = "7900"
Compute = "7910"
{extra}"#
    )
}

/// Rows of a fixture the provider already split and their methods, read with the csv crate alone.
fn provider_split_rows(rel: &str) -> (usize, std::collections::BTreeSet<String>) {
    let mut r = csv::Reader::from_path(fixture(rel)).unwrap();
    let h = r.headers().unwrap().clone();
    let col = h.iter().position(|x| x.trim_start_matches('\u{feff}') == "AllocatedMethodId").unwrap();
    let mut methods = std::collections::BTreeSet::new();
    let mut n = 0;
    for rec in r.records() {
        let m = rec.unwrap()[col].trim().to_string();
        if !matches!(m.as_str(), "" | "NULL") {
            n += 1;
            methods.insert(format!("provider:{m}"));
        }
    }
    (n, methods)
}

both!(fixtures_allocate_exactly_with_provider_splits_honoured, |t| {
    org(&t, None).await;
    for rel in FIXTURES {
        assert_eq!(import(&t, &fixture(rel), ImportOptions::default()).await.status, "active", "{rel}");
    }
    let applied = t.app.apply_rule_set(&sys(), &rules("")).await.unwrap();
    let periods = t.app.ledger_periods().await.unwrap();
    assert!(!periods.is_empty());
    assert_eq!(applied.runs.iter().map(|r| r.period.clone()).collect::<Vec<_>>(), periods, "every period");
    // Conservation against the ledger, period by period: billed, effective and the number of lines.
    let q = LedgerQuery { group_by: vec![Dimension::Period], ..LedgerQuery::default() };
    let ledger = t.app.ledger_totals(&sys(), &q).await.unwrap();
    for run in &applied.runs {
        let row = ledger.rows.iter().find(|r| r.keys[0].as_deref() == Some(run.period.as_str())).unwrap();
        assert_eq!(run.billed_total, row.billed_cost, "{}", run.period);
        assert_eq!(run.effective_total, row.effective_cost, "{}", run.period);
        assert_eq!(run.lines as u64, row.lines, "{}", run.period);
        let cells =
            t.store().session().await.unwrap().cube_cells(&run.period, &run.period, None).await.unwrap();
        let sum: Decimal = cells.iter().map(|c| c.effective.parse::<Decimal>().unwrap()).sum();
        assert_eq!(sum, row.effective_cost, "the cube itself, {}", run.period);
    }
    // Every row a provider split carries its method into the cube and lands on the cost centre its
    // AllocatedTags name (CostCenter and cost-center spellings alike), never on Unallocated.
    let want: usize = FIXTURES.iter().map(|f| provider_split_rows(f).0).sum();
    let want_methods: std::collections::BTreeSet<String> =
        FIXTURES.iter().flat_map(|f| provider_split_rows(f).1).collect();
    assert!(want > 600, "the fixtures carry provider splits ({want})");
    let (first, last) = (periods.first().unwrap(), periods.last().unwrap());
    let cells = t.store().session().await.unwrap().cube_cells(first, last, None).await.unwrap();
    let split: Vec<_> = cells.iter().filter(|c| c.method.starts_with("provider:")).collect();
    assert_eq!(split.iter().map(|c| c.lines).sum::<i64>() as usize, want);
    assert!(
        split.iter().all(|c| c.target.starts_with("cc:cc-")),
        "{:?}",
        split.iter().find(|c| !c.target.starts_with("cc:"))
    );
    let methods: std::collections::BTreeSet<String> = split.iter().map(|c| c.method.clone()).collect();
    assert_eq!(methods, want_methods);
    // Allocating again is idempotent: the same cube, cell for cell.
    let again = t.app.allocate_period(&sys(), last).await.unwrap();
    let key = |c: &itemize_store::CubeCell| format!("{c:?}");
    let mut cells2 = t.store().session().await.unwrap().cube_cells(last, last, None).await.unwrap();
    let mut before: Vec<_> = cells.iter().filter(|c| c.billing_period == *last).cloned().collect();
    cells2.sort_by_key(key);
    before.sort_by_key(key);
    assert_eq!(cells2.len(), before.len());
    assert!(cells2 == before, "re-allocating the same ledger with the same rules gives the same cells");
    assert_eq!(
        t.app
            .allocation_runs(&sys(), Some(last))
            .await
            .unwrap()
            .iter()
            .filter(|r| r.status == "current")
            .count(),
        1
    );
    assert!(again.id > applied.runs.last().unwrap().id);
});

both!(ledger_tag_queries_read_keys_as_the_periods_rules_spell_them, |t| {
    // One cost-centre tag in four spellings, and one line untagged.
    let mut csv = String::from(
        "BillingAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BilledCost,\
         EffectiveCost,ListCost,ContractedCost,BillingCurrency,ChargeCategory,ProviderName,ServiceName,Tags\n",
    );
    for (cost, tags) in [
        ("1.00", r#""{""CostCenter"": ""cc-1042""}""#),
        ("2.00", r#""{""cost-center"": ""cc-3110""}""#),
        ("4.00", r#""{""cost_centre"": ""cc-1042""}""#),
        ("8.00", ""),
        ("16.00", r#""{""COST_CENTRE"": ""cc-3110"", ""team"": ""web""}""#),
    ] {
        csv.push_str(&format!(
            "A,2026-05-01T00:00:00Z,2026-06-01T00:00:00Z,2026-05-02T00:00:00Z,2026-05-02T01:00:00Z,\
             {cost},{cost},{cost},{cost},USD,Usage,Acme Cloud,Compute,{tags}\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spellings.csv");
    std::fs::write(&path, csv).unwrap();
    assert_eq!(import(&t, &path, ImportOptions::default()).await.status, "active");
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let by = |params: &[(&str, &str)]| {
        let app = t.app.clone();
        let q = LedgerQuery::from_params(
            &params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>(),
        )
        .unwrap();
        async move {
            let r = app.ledger_totals(&sys(), &q).await.unwrap();
            let rows: Vec<(Option<String>, Decimal)> =
                r.rows.iter().map(|x| (x.keys.first().cloned().flatten(), x.billed_cost)).collect();
            (rows, r.total.billed_cost, r.partitions_scanned)
        }
    };
    // Without rules, only case joins spellings: `CostCenter` and `cost-center` are other keys.
    let (rows, _, _) = by(&[("group_by", "tag:cost_centre")]).await;
    assert_eq!(
        rows,
        vec![(None, d("11.00")), (Some("cc-1042".into()), d("4.00")), (Some("cc-3110".into()), d("16.00"))]
    );
    // With rules whose aliases join them, every spelling is the one key, grouped and filtered alike: the same
    // key the showback and the line explorer use.
    org(&t, None).await;
    t.app.save_rule_set(&sys(), &rules("")).await.unwrap();
    let (rows, total, _) = by(&[("group_by", "tag:cost_centre")]).await;
    assert_eq!(
        rows,
        vec![(None, d("8.00")), (Some("cc-1042".into()), d("5.00")), (Some("cc-3110".into()), d("18.00"))]
    );
    assert_eq!(total, d("31.00"), "untagged spend is kept");
    // Asked by an alias, or in another case, the same answer.
    let (alias_rows, _, _) = by(&[("group_by", "tag:cost-center")]).await;
    assert_eq!(alias_rows, rows);
    let (_, total, scanned) = by(&[("tag", "CostCenter=cc-3110")]).await;
    assert_eq!((total, scanned), (d("18.00"), 1));
    let (_, total, _) = by(&[("tag", "cost_centre")]).await;
    assert_eq!(total, d("23.00"), "every line with the key in any spelling");
    // A key no spelling of which a partition holds still skips it.
    let (_, total, scanned) = by(&[("tag", "owner")]).await;
    assert_eq!((total, scanned), (d("0"), 0));
});

both!(rules_preview_apply_showback_explain_close_and_journal, |t| {
    let ids = org(&t, Some("cc-2087")).await;
    import(&t, &fixture(FIXTURES[0]), ImportOptions::default()).await;
    let period = t.app.ledger_periods().await.unwrap().pop().unwrap();

    // A rule set that names what does not exist is refused with every problem located, and nothing is saved.
    let bad = rules("[[ownership]]\nwhen = { acount = \"1\" }\nservice = \"Nope\"\n");
    match t.app.save_rule_set(&sys(), &bad).await {
        Err(AppError::BadRequest { details, .. }) => {
            let all: Vec<String> = details.iter().map(|d| d.problem.clone()).collect();
            assert!(all.iter().any(|p| p.contains("ownership[0].when.acount: unknown field")), "{all:?}");
            assert!(all.iter().any(|p| p.contains("no service with the code or name `Nope`")), "{all:?}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(t.app.rule_sets(&sys()).await.unwrap().is_empty());
    // Without rules a period cannot be allocated, and says why.
    let e = t.app.allocate_period(&sys(), &period).await.unwrap_err().to_string();
    assert!(e.contains("no allocation rule set is in force"), "{e}");

    let v1 = t.app.apply_rule_set(&sys(), &rules("")).await.unwrap();
    let st = t.app.showback(&sys(), &period, StatementBy::CostCentre, Measure::Effective).await.unwrap();
    let total = v1.runs.last().unwrap().effective_total;
    assert_eq!(st.total.amount, total, "the statement adds up to the allocated total");
    let unallocated =
        st.rows.iter().find(|r| r.key == "unallocated").expect("untagged lines stay visible").amount;
    assert!(unallocated > Decimal::ZERO);
    assert_eq!(st.rows.last().unwrap().key, "unallocated", "listed last");
    let billed = t.app.showback(&sys(), &period, StatementBy::CostCentre, Measure::Billed).await.unwrap();
    assert_eq!(billed.total.amount, v1.runs.last().unwrap().billed_total);

    // Preview: a default for everything else moves exactly the unallocated amount to IT, before any save.
    let v2_text = rules("[[default]]\nwhen = { account = { present = true } }\ncost_centre = \"CC-IT\"\n");
    let p = t.app.preview_rules(&sys(), &v2_text, &period).await.unwrap();
    assert_eq!((p.unallocated_before, p.unallocated_after), (unallocated, Decimal::ZERO));
    let top = &p.biggest_movers[0];
    assert_eq!(top.change.abs(), unallocated);
    assert!(["unallocated", "cc:CC-IT"].contains(&top.target.as_str()), "{top:?}");
    assert_eq!(t.app.rule_sets(&sys()).await.unwrap().len(), 1, "a preview saves nothing");
    let applied = t.app.apply_rule_set(&sys(), &v2_text).await.unwrap();
    assert_eq!(t.app.rule_sets(&sys()).await.unwrap().len(), 2, "a new version; the old one is kept");
    assert_eq!(applied.runs.last().unwrap().unallocated_effective, Decimal::ZERO);
    let st = t.app.showback(&sys(), &period, StatementBy::CostCentre, Measure::Effective).await.unwrap();
    assert_eq!(st.rows.iter().find(|r| r.key == "cc:CC-IT").unwrap().amount, unallocated);
    assert_eq!(st.total.amount, total, "the same money, placed differently");

    // Explanation: the rule behind a target's money and the source lines that add up to it.
    let x = t.app.explain(&sys(), &period, "cc:cc-1042", 10_000).await.unwrap();
    assert!(x.by_rule.iter().all(|r| r.rule == "tag:cost centre"), "{:?}", x.by_rule);
    assert_eq!(x.lines.iter().map(|l| l.effective).sum::<Decimal>(), x.total_effective);
    assert_eq!(x.lines_total as usize, x.lines.len());
    assert_eq!(x.by_rule.iter().map(|r| r.lines).sum::<i64>() as usize, x.lines.len());

    // Close: the period is locked; the journal balances and charges every consuming cost centre.
    t.app.close_period(&sys(), &period).await.unwrap();
    let e = t.app.allocate_period(&sys(), &period).await.unwrap_err().to_string();
    assert!(e.contains("is closed"), "{e}");
    let again = t.app.apply_rule_set(&sys(), &v2_text).await.unwrap();
    assert!(again.runs.iter().all(|r| r.period != period) && again.closed_skipped.contains(&period));
    let j = t.app.journal(&sys(), &period).await.unwrap();
    assert_eq!(j.total_debit, j.total_credit, "balanced");
    // A month without costs has no journal, and the refusal names the months that have one.
    let e = t.app.journal(&sys(), "2030-01").await.unwrap_err().to_string();
    assert!(
        e.contains("2030-01 has no costs in the ledger") && e.contains(&format!("closed: {period}")),
        "{e}"
    );
    assert!(j.total_debit > Decimal::ZERO);
    let charged: std::collections::BTreeSet<&str> =
        j.lines.iter().filter(|l| l.debit > Decimal::ZERO).map(|l| l.cost_centre.as_str()).collect();
    assert!(charged.contains("cc-1042") && charged.contains("cc-3110"), "{charged:?}");
    assert!(!charged.contains("CC-IT"), "the provider is not charged for itself");
    // What the journal charges, what no one is charged for and the provider's own use make the period's whole
    // cost, in cents as the statement shows it: each cost centre's charge is its row as shown, to the cent,
    // whatever the GL accounts it is split over, and the three parts add up to the statement's total.
    let st = t.app.showback(&sys(), &period, StatementBy::CostCentre, Measure::Effective).await.unwrap();
    let shown = itemize_core::money::cents_adding_up(
        &st.rows.iter().map(|r| r.amount).collect::<Vec<_>>(),
        st.total.amount,
    );
    let shown_of = |key: &str| st.rows.iter().zip(&shown).find(|(r, _)| r.key == key).map(|(_, c)| *c);
    let provider_own = shown_of("cc:CC-IT").unwrap_or(Decimal::ZERO);
    assert!(provider_own > Decimal::ZERO, "the provider has a use of its own here");
    assert_eq!((j.provider_cost_centre.as_str(), j.kept_by_provider), ("CC-IT", provider_own));
    assert_eq!(j.not_charged, shown_of("unallocated").unwrap_or(Decimal::ZERO));
    for row in st.rows.iter().filter(|r| r.key.starts_with("cc:") && r.key != "cc:CC-IT") {
        let cc = &row.key[3..];
        let net: Decimal = j.lines.iter().filter(|l| l.cost_centre == cc).map(|l| l.debit - l.credit).sum();
        assert_eq!(Some(net), shown_of(&row.key), "{cc}");
        assert!((net - row.amount).abs() <= Decimal::new(1, 2), "{cc}: {net} against {}", row.amount);
    }
    let charged_net: Decimal =
        j.lines.iter().filter(|l| l.cost_centre != "CC-IT").map(|l| l.debit - l.credit).sum();
    let whole = charged_net + j.not_charged + j.kept_by_provider;
    assert_eq!(whole, itemize_core::money::cents(st.total.amount), "{whole} {}", st.total.amount);
    let csv_text = itemize_app::allocation::journal_csv(&j);
    assert!(csv_text.starts_with("journal_id,posting_date,line,gl_account,cost_centre,debit,credit"));
    assert_eq!(csv_text.lines().count(), j.lines.len() + 1);

    // Over HTTP: a scoped user's statement holds only their cost centre; CSV and XLSX downloads.
    let server = t.serve().await;
    let scoped = t.user("ana", "viewer", vec![ids["cc-1042"]]).await;
    let token = t.token(scoped, true).await;
    let r = server.get_as(&token, &format!("/api/v1/allocation/showback?period={period}")).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let keys: Vec<&str> = v["rows"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["cc:cc-1042"]);
    let r =
        server.get_as(&token, &format!("/api/v1/allocation/explain?period={period}&target=cc:cc-3110")).await;
    assert_eq!(r.status(), 404, "another cost centre's money is not explained to a scoped user");
    // Nor a target the period's cube does not show: its lines would come from the ledger as it is now.
    let r =
        server.get_as(&token, &format!("/api/v1/allocation/explain?period={period}&target=cc:cc-9999")).await;
    assert_eq!(r.status(), 404, "a target without cells is not explained to a scoped user");
    // The ledger as imported is refused to them with where their costs are instead.
    let r = server.get_as(&token, "/api/v1/cost/imports").await;
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("sees their costs in the statements, the explorer and the line items")
    );
    // Something that is no target at all is refused as such, to anyone, on the API and the page.
    for path in ["/api/v1/allocation/explain", "/allocation/explain"] {
        let r = server.get(&format!("{path}?period={period}&target=garbage")).await;
        assert_eq!(r.status(), 400, "{path}");
        assert!(r.text().await.unwrap().contains("is not a target: give cc:CODE"), "{path}");
    }
    // A code nothing was allocated to (misspelt, say) is not an empty explanation.
    let r = server.get(&format!("/api/v1/allocation/explain?period={period}&target=cc:NOPE")).await;
    assert_eq!(r.status(), 404);
    // A month never allocated says so, rather than that the target does not exist.
    let r = server.get("/api/v1/allocation/explain?period=2001-01&target=cc:cc-1042").await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("2001-01 has not been allocated"));
    let (code, v) = server.get_json(&format!("/api/v1/allocation/showback?period={period}&by=service")).await;
    assert_eq!(code, 200);
    assert!(v["rows"].as_array().unwrap().iter().any(|r| r["key"] == "cc:cc-1042"), "{v}");
    let r = server.get(&format!("/api/v1/allocation/showback?period={period}&format=xlsx")).await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"), "an XLSX (zip) workbook");
    let r = server.get(&format!("/api/v1/allocation/showback?period={period}&format=csv")).await;
    let text = r.text().await.unwrap();
    assert!(text.lines().any(|l| l.contains(",cc:CC-IT,") && l.contains(&unallocated.to_string())), "{text}");
    let r = server.get(&format!("/api/v1/allocation/journal?period={period}")).await;
    assert_eq!(r.text().await.unwrap(), csv_text);
});

both!(api_rules_runs_metrics_and_refusals, |t| {
    let ids = org(&t, None).await;
    import(&t, &fixture(FIXTURES[2]), ImportOptions::default()).await;
    let period = t.app.ledger_periods().await.unwrap().pop().unwrap();
    let server = t.serve().await;
    // A metric driver: the workloads pool split 3:1 by an imported series.
    let r = server
        .post_text(
            "/api/v1/allocation/metrics",
            &format!(
                "period,metric,target,value\n{period},cpu-hours,cc-1042,300\n{period},cpu-hours,Search,100\n"
            ),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = server
        .post_text("/api/v1/allocation/metrics", "period,metric,target,value\n2026-13,cpu,cc-1042,x\n")
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("row 2, period") && body.contains("row 2, value"), "{body}");
    let pool = "[[pool]]\nname = \"untagged\"\nwhen = { \"tag:cost_centre\" = { matches = \"^$\" } }\nsplit = \"even\"\n\
        targets = [\"cc:CC-IT\"]\n[[pool]]\nname = \"gke\"\nwhen = { resource_id = { glob = \"//container.googleapis.com/*\" } }\n\
        split = \"driver\"\ndriver = \"metric:cpu-hours\"\n";
    let r = server.post_text("/api/v1/allocation/rules?apply=true", &rules(pool)).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let (code, v) = server.get_json("/api/v1/allocation/runs").await;
    assert_eq!(code, 200);
    assert!(!v["items"].as_array().unwrap().is_empty());
    let cells = t.store().session().await.unwrap().cube_cells(&period, &period, None).await.unwrap();
    let gke: Vec<_> = cells.iter().filter(|c| c.rule == "pool:gke").collect();
    assert!(!gke.is_empty(), "the GKE resources went through the pool");
    let sum = |target: &str| -> Decimal {
        gke.iter().filter(|c| c.target == target).map(|c| c.effective.parse::<Decimal>().unwrap()).sum()
    };
    let (a, s) = (sum("cc:cc-1042"), sum("cc:cc-2087"));
    assert!(a > Decimal::ZERO && s > Decimal::ZERO);
    assert!((a - s * Decimal::from(3)).abs() < Decimal::new(1, 6), "3:1 by CPU-hours: {a} vs {s}");
    // A user limited to cc-1042 is explained its share of the pool, but not the pool's lines (other teams').
    let scoped = t.user("ana", "viewer", vec![ids["cc-1042"]]).await;
    let token = t.token(scoped, true).await;
    // Their own cost centre is explained with its share of each pool, but not the pools' lines (other teams').
    let own = format!("/api/v1/allocation/explain?period={period}&target=cc:cc-1042");
    let pooled = |v: &serde_json::Value| {
        v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["rule"].as_str().unwrap().starts_with("pool:"))
            .count()
    };
    let (code, all) = server.get_json(&own).await;
    assert_eq!(code, 200);
    assert!(pooled(&all) > 0, "the GKE pool's lines are in cc-1042's share: {all}");
    let r = server.get_as(&token, &own).await;
    assert_eq!(r.status(), 200);
    let mine: serde_json::Value = r.json().await.unwrap();
    assert_eq!(pooled(&mine), 0, "{mine}");
    assert_eq!(mine["by_rule"], all["by_rule"], "the same shares");
    // Allocation runs carry the organisation's totals: not for a scoped user.
    let r = server.get_as(&token, &format!("/api/v1/allocation/runs?period={period}")).await;
    assert_eq!(r.status(), 403);
    // Refusals change nothing: a bad rule set, a bad period.
    let r = server.post_text("/api/v1/allocation/rules", "name = 1").await;
    assert_eq!(r.status(), 400);
    assert_eq!(t.app.rule_sets(&sys()).await.unwrap().len(), 1);
    let r = server.post_text("/api/v1/allocation/runs?period=2026-13", "").await;
    assert_eq!(r.status(), 400);
    let r = server.post_text(&format!("/api/v1/allocation/close?period={period}"), "").await;
    assert_eq!(r.status(), 200);
    let r = server.post_text(&format!("/api/v1/allocation/runs?period={period}"), "").await;
    assert_eq!(r.status(), 409, "{}", r.text().await.unwrap());
});

/// A copy of a fixture without its `n` dearest rows (by |EffectiveCost|): a provider's restated bill.
fn without_dearest(dir: &std::path::Path, rel: &str, n: usize) -> std::path::PathBuf {
    let mut r = csv::Reader::from_path(fixture(rel)).unwrap();
    let h = r.headers().unwrap().clone();
    let col = h.iter().position(|x| x.trim_start_matches('\u{feff}') == "EffectiveCost").unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let cost = |rec: &csv::StringRecord| rec[col].trim().parse::<Decimal>().unwrap_or_default().abs();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(cost(&rows[*i])));
    let dropped: std::collections::BTreeSet<usize> = order.into_iter().take(n).collect();
    let path = dir.join(format!("restated-{n}.csv"));
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(&h).unwrap();
    for (i, rec) in rows.iter().enumerate() {
        if !dropped.contains(&i) {
            w.write_record(rec).unwrap();
        }
    }
    w.flush().unwrap();
    path
}

fn effective(cells: &[itemize_store::CubeCell]) -> Decimal {
    cells.iter().map(|c| c.effective.parse::<Decimal>().unwrap()).sum()
}

/// A month's effective cost in the ledger.
async fn ledger_total(t: &TestApp, p: String) -> Decimal {
    let q = LedgerQuery {
        group_by: vec![Dimension::Period],
        period_from: Some(p.clone()),
        period_to: Some(p),
        ..LedgerQuery::default()
    };
    t.app.ledger_totals(&sys(), &q).await.unwrap().rows[0].effective_cost
}

/// The organisation, and the AWS fixture's month allocated with `rules("")`: the cost centres' ids, the month
/// and its run.
async fn allocated_month(t: &TestApp) -> (BTreeMap<String, i64>, String, i64) {
    let ids = org(t, None).await;
    import(t, &fixture(FIXTURES[0]), ImportOptions::default()).await;
    let period = t.app.ledger_periods().await.unwrap().pop().unwrap();
    let run = t.app.apply_rule_set(&sys(), &rules("")).await.unwrap().runs.pop().unwrap();
    (ids, period, run.id)
}

/// [`allocated_month`], closed.
async fn closed_month(t: &TestApp) -> (BTreeMap<String, i64>, String) {
    let (ids, period, _) = allocated_month(t).await;
    t.app.close_period(&sys(), &period).await.unwrap();
    (ids, period)
}

both!(restated_closed_period_posts_adjustments_into_the_next_open_one, |t| {
    let (_, period) = closed_month(&t).await;
    let cells = |p: String| {
        let t = &t;
        async move { t.store().session().await.unwrap().cube_cells(&p, &p, None).await.unwrap() }
    };
    let ledger_total = |p: String| ledger_total(&t, p);
    let closed_cells = cells(period.clone()).await;
    let closed_journal = t.app.journal(&sys(), &period).await.unwrap();
    let closed_total = ledger_total(period.clone()).await;
    assert_eq!(effective(&closed_cells), closed_total);

    // The provider restates the closed month: its dearest line is gone.
    let dir = tempfile::tempdir().unwrap();
    let s = import(&t, &without_dearest(dir.path(), FIXTURES[0], 1), ImportOptions::default()).await;
    assert_eq!(s.status, "active", "{:?}", s.message);
    let first_change = ledger_total(period.clone()).await - closed_total;
    assert!(first_change != Decimal::ZERO);
    assert_eq!(s.restatements.len(), 1, "{s:?}");
    let r = &s.restatements[0];
    assert_eq!(r.source_period, period);
    let posted = r.posted_period.clone();
    assert!(posted > period);
    assert_eq!(r.effective, first_change, "the difference, exactly");
    // The note gives the difference in cents and its currency; the summary's restatement has it exactly.
    let cents = first_change.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    assert!(
        s.message.as_deref().unwrap_or("").contains(&format!(
            "closed period {period} restated: {cents} USD effective posted into {posted}"
        )),
        "{s:?}"
    );
    // The closed period keeps its books: the same cells and the same journal.
    assert!(cells(period.clone()).await == closed_cells, "a closed period's cube never changes");
    assert_eq!(t.app.journal(&sys(), &period).await.unwrap().lines, closed_journal.lines);
    // The next open period carries the difference as restatement lines, in its statement too.
    let carried = cells(posted.clone()).await;
    assert!(!carried.is_empty());
    assert!(carried.iter().all(|c| c.rule == format!("restatement of {period}") && c.method == "adjustment"));
    assert_eq!(effective(&carried), first_change);
    let st = t.app.showback(&sys(), &posted, StatementBy::CostCentre, Measure::Effective).await.unwrap();
    assert_eq!(st.total.amount, first_change);
    // The month's line items carry none of it (no line of its ledger is a restatement): it is given beside them,
    // and lines and adjustments together are the statement's total.
    let q = itemize_app::lines::LinesQuery::from_params(&[("period".into(), posted.clone())]).unwrap();
    let page = t.app.cost_lines(&sys(), &q).await.unwrap();
    let beside: Vec<(&str, Decimal)> =
        page.beside_lines.iter().map(|b| (b.rule.as_str(), b.effective)).collect();
    assert_eq!(beside, [(format!("restatement of {period}").as_str(), first_change)]);
    assert_eq!(page.total_effective + first_change, st.total.amount);
    // The closed month's line items are the lines its cube, statement and journal were made of, not the
    // restated ledger's; over both months, lines and the restatement come to the two statements, counted once.
    let q = itemize_app::lines::LinesQuery::from_params(&[("period".into(), period.clone())]).unwrap();
    assert_eq!(t.app.cost_lines(&sys(), &q).await.unwrap().total_effective, closed_total);
    let q = itemize_app::lines::LinesQuery::from_params(&[
        ("from".into(), period.clone()),
        ("to".into(), posted.clone()),
    ])
    .unwrap();
    let both = t.app.cost_lines(&sys(), &q).await.unwrap();
    let beside: Decimal = both.beside_lines.iter().map(|b| b.effective).sum();
    assert_eq!(both.total_effective + beside, closed_total + st.total.amount);

    // Allocating a range that holds the closed month is no error: the closed month is left as it is.
    let runs = t.app.allocate_range(&sys(), &period, &posted).await.unwrap();
    assert!(runs.iter().all(|r| r.period != period), "{runs:?}");
    assert_eq!(cells(period.clone()).await, closed_cells, "the closed month is untouched");
    // Restating again posts only what changed since, not the whole difference twice.
    let s = import(&t, &without_dearest(dir.path(), FIXTURES[0], 2), ImportOptions::default()).await;
    let total_change = ledger_total(period.clone()).await - closed_total;
    assert_eq!(s.restatements[0].effective, total_change - first_change);
    let all = t.app.adjustments(&sys(), Some(&period), None).await.unwrap();
    assert_eq!(all.iter().map(|a| a.effective.parse::<Decimal>().unwrap()).sum::<Decimal>(), total_change);
    assert_eq!(effective(&cells(posted.clone()).await), total_change, "re-allocated with both");
    // Previewing the rules in force on the period that carries the restatement moves nothing.
    let p = t.app.preview_rules(&sys(), &rules(""), &posted).await.unwrap();
    assert!(p.biggest_movers.is_empty(), "{:?}", p.biggest_movers);
    // Nor on the closed, restated month: its frozen cube is not what the rules would change, so the rules it was
    // closed with are run on its ledger as it is now beside the new ones; the restatement is neither's doing.
    let p = t.app.preview_rules(&sys(), &rules(""), &period).await.unwrap();
    assert!(p.closed && p.note.as_deref().unwrap_or("").contains("is closed"), "{p:?}");
    assert!(p.biggest_movers.is_empty(), "{:?}", p.biggest_movers);
    let before: Decimal = p.targets.iter().map(|r| r.before).sum();
    assert_eq!(before, ledger_total(period.clone()).await, "the restated ledger on both sides");
    // Restating an unchanged period posts nothing; an open period is not restated.
    let server = t.serve().await;
    // The statements say where each month stands: the closed one is its closed books, restated since (and where
    // the difference went); the open one holds a restatement of it. The title names the measure.
    let html = server.get(&format!("/showback?period={period}")).await.text().await.unwrap();
    assert!(html.contains(&format!("{period} is closed: this is its statement as it was closed")), "{html}");
    assert!(
        html.contains("Restated since it closed") && html.contains(&format!(" USD in {posted}")),
        "{html}"
    );
    assert!(html.contains("amortized cost, USD, compared with"), "{html}");
    let html = server.get(&format!("/showback?period={posted}")).await.text().await.unwrap();
    assert!(
        html.contains(&format!("Includes restatements of closed months posted into it ({period}: ")),
        "{html}"
    );
    assert!(!html.contains(&format!("{posted} is closed")), "{html}");
    // A viewer reads the same (it is in the statements they read), in the measure shown.
    let viewer = t.user("viewer9", "viewer", vec![]).await;
    let vt = t.token(viewer, false).await;
    let html =
        server.get_as(&vt, &format!("/showback?period={period}&measure=billed")).await.text().await.unwrap();
    assert!(
        html.contains("Restated since it closed") && html.contains(&format!(" USD in {posted}, billed)")),
        "{html}"
    );
    let r = server.post_text(&format!("/api/v1/allocation/restate?period={period}"), "").await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["adjustments"], 0);
    let r = server.post_text(&format!("/api/v1/allocation/restate?period={posted}"), "").await;
    assert_eq!(r.status(), 409);
    let (code, v) = server.get_json(&format!("/api/v1/allocation/adjustments?posted={posted}")).await;
    assert_eq!(code, 200);
    assert_eq!(v["items"].as_array().unwrap().len(), all.len());

    // The next period closes with its own journal: balanced, the restatement named on its lines.
    t.app.close_period(&sys(), &posted).await.unwrap();
    let j = t.app.journal(&sys(), &posted).await.unwrap();
    assert_eq!(j.total_debit, j.total_credit);
    assert!(!j.lines.is_empty());
    assert!(j.lines.iter().any(|l| l.description.contains(&format!("restatement of {period}"))), "{j:?}");
    // Restating that closed period, unchanged, posts nothing: the restatement it carries is part of what it
    // closed with and of what it allocates to now, not a difference to take back.
    let r = server.post_text(&format!("/api/v1/allocation/restate?period={posted}"), "").await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["adjustments"], 0, "{v}");
    let still = t.app.adjustments(&sys(), Some(&period), None).await.unwrap();
    assert_eq!(still.len(), all.len());
    // A rule set applied after the month closed does not reach back into it through a restatement: restated
    // unchanged, it posts nothing, though the new rules would allocate it otherwise (everything unallocated).
    let changed = "name = \"changed rules\"\neffective_from = \"2000-01\"\n[journal]\nprovider_cost_centre = \"CC-IT\"\n\
                   credit_account = \"7990\"\n[journal.gl_accounts]\ndefault = \"7900\"\n";
    let p = t.app.preview_rules(&sys(), changed, &period).await.unwrap();
    assert!(!p.biggest_movers.is_empty(), "the new rules would move money in {period}");
    t.app.apply_rule_set(&sys(), changed).await.unwrap();
    let r = server.post_text(&format!("/api/v1/allocation/restate?period={period}"), "").await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["adjustments"], 0, "{v}");
});

both!(cube_query_and_tag_hygiene, |t| {
    let ids = org(&t, None).await;
    // The FOCUS 1.0 sample carries untagged lines; the 1.3 files tag everything.
    for rel in FIXTURES.iter().chain(&["focus-1.0/focus_sample.csv"]) {
        assert_eq!(import(&t, &fixture(rel), ImportOptions::default()).await.status, "active");
    }
    let applied = t.app.apply_rule_set(&sys(), &rules("")).await.unwrap();
    let periods = t.app.ledger_periods().await.unwrap();
    let (first, last) = (periods.first().unwrap().clone(), periods.last().unwrap().clone());
    let server = t.serve().await;

    // By provider and month: the groups add up to each run's total, and the URL's filter narrows exactly.
    let (code, v) = server
        .get_json(&format!("/api/v1/allocation/cube?from={first}&to={last}&group_by=provider,target"))
        .await;
    assert_eq!(code, 200, "{v}");
    for run in &applied.runs {
        let sum: Decimal = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["time"] == run.period.as_str())
            .map(|r| r["effective"].as_str().unwrap().parse::<Decimal>().unwrap())
            .sum();
        assert_eq!(sum, run.effective_total, "{}", run.period);
    }
    let providers: std::collections::BTreeSet<&str> =
        v["rows"].as_array().unwrap().iter().map(|r| r["keys"][0].as_str().unwrap()).collect();
    assert!(providers.len() >= 3, "{providers:?}");
    let one = providers.iter().next().unwrap().to_string();
    let (_, f) = server
        .get_json(&format!(
            "/api/v1/allocation/cube?from={first}&to={last}&granularity=none&group_by=provider&provider={one}"
        ))
        .await;
    let rows = f["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["keys"][0], one.as_str());
    assert!(rows[0]["time"].is_null());
    let by_hand: Decimal = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["keys"][0] == one.as_str())
        .map(|r| r["effective"].as_str().unwrap().parse::<Decimal>().unwrap())
        .sum();
    assert_eq!(rows[0]["effective"].as_str().unwrap().parse::<Decimal>().unwrap(), by_hand);
    // By cost centre alone the monthly roll-up answers; it agrees with the cells summed by hand.
    let (_, fine) = server
        .get_json(&format!("/api/v1/allocation/cube?from={first}&to={last}&group_by=cost_centre,provider"))
        .await;
    let (_, coarse) = server
        .get_json(&format!("/api/v1/allocation/cube?from={first}&to={last}&group_by=cost_centre"))
        .await;
    let mut by_hand: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for r in fine["rows"].as_array().unwrap() {
        let k = (r["time"].as_str().unwrap().to_string(), r["keys"][0].as_str().unwrap_or("-").to_string());
        *by_hand.entry(k).or_default() += r["effective"].as_str().unwrap().parse::<Decimal>().unwrap();
    }
    let rolled: BTreeMap<(String, String), Decimal> = coarse["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let k =
                (r["time"].as_str().unwrap().to_string(), r["keys"][0].as_str().unwrap_or("-").to_string());
            (k, r["effective"].as_str().unwrap().parse::<Decimal>().unwrap())
        })
        .collect();
    assert_eq!(rolled, by_hand);
    // Daily: every time is a day of the range.
    let (_, d) = server.get_json(&format!("/api/v1/allocation/cube?period={last}&granularity=day")).await;
    let days = d["rows"].as_array().unwrap();
    assert!(days.len() > 1 && days.iter().all(|r| r["time"].as_str().unwrap().starts_with(&last)), "{d}");
    // Bad questions are refused, naming the parameter.
    let (code, e) = server.get_json(&format!("/api/v1/allocation/cube?period={last}&group_by=colour")).await;
    assert_eq!(code, 400);
    assert!(e.to_string().contains("group_by"), "{e}");
    let (code, _) = server.get_json(&format!("/api/v1/allocation/cube?period={last}&flavour=x")).await;
    assert_eq!(code, 400);
    // A scoped user's cube holds only their cost centre.
    let scoped = t.user("ana", "viewer", vec![ids["cc-1042"]]).await;
    let token = t.token(scoped, true).await;
    let r = server
        .get_as(&token, &format!("/api/v1/allocation/cube?from={first}&to={last}&group_by=cost_centre"))
        .await;
    assert_eq!(r.status(), 200);
    let s: serde_json::Value = r.json().await.unwrap();
    let ccs: std::collections::BTreeSet<&str> =
        s["rows"].as_array().unwrap().iter().map(|r| r["keys"][0].as_str().unwrap_or("none")).collect();
    assert_eq!(ccs.into_iter().collect::<Vec<_>>(), ["cc-1042"]);

    // Tag hygiene: shares computed independently from the ledger's own tag totals.
    let (code, h) =
        server.get_json(&format!("/api/v1/allocation/hygiene?from={first}&to={last}&top=5")).await;
    assert_eq!(code, 200, "{h}");
    let num = |v: &serde_json::Value| v.as_str().unwrap().parse::<Decimal>().unwrap();
    let q = LedgerQuery {
        period_from: Some(first.clone()),
        period_to: Some(last.clone()),
        ..LedgerQuery::default()
    };
    let all = t.app.ledger_totals(&sys(), &q).await.unwrap();
    let total = all.rows.iter().map(|r| r.effective_cost).sum::<Decimal>();
    assert_eq!(num(&h["effective"]), total);
    // `cost_centre` (with its CostCenter / cost-center spellings) is normalized into one key.
    let keys = h["keys"].as_array().unwrap();
    assert!(keys.iter().all(|k| k["key"].as_str().unwrap() == k["key"].as_str().unwrap().to_lowercase()));
    assert!(keys.iter().any(|k| k["key"] == "cost_centre"), "{keys:?}");
    assert!(!keys.iter().any(|k| k["key"] == "costcenter"));
    for k in keys {
        let s = num(&k["share"]);
        assert!(
            s >= Decimal::ZERO && s <= Decimal::ONE_HUNDRED && num(&k["effective"]) != Decimal::ZERO,
            "{k}"
        );
        assert_eq!(s, (num(&k["effective"]) * Decimal::ONE_HUNDRED / total).round_dp(2));
    }
    let untagged = num(&h["untagged_effective"]);
    assert!(untagged != Decimal::ZERO, "the FOCUS 1.0 sample carries untagged lines");
    let per_period: Decimal =
        h["periods"].as_array().unwrap().iter().map(|p| num(&p["untagged_effective"])).sum();
    assert_eq!(per_period, untagged);
    let per_account: Decimal = h["accounts"].as_array().unwrap().iter().map(|a| num(&a["effective"])).sum();
    assert_eq!(per_account, total);
    // Unallocated share per period, from the allocation.
    for p in h["periods"].as_array().unwrap() {
        let run = applied.runs.iter().find(|r| r.period == p["period"].as_str().unwrap()).unwrap();
        assert_eq!(num(&p["unallocated_effective"]), run.unallocated_effective);
    }
    let top = h["top_untagged"].as_array().unwrap();
    assert!(!top.is_empty() && top.len() <= 5);
    assert!(top.windows(2).all(|w| num(&w[0]["effective"]) >= num(&w[1]["effective"])), "dearest first");
    // Scoped users do not read the ledger; a bad range is refused.
    let r = server.get_as(&token, &format!("/api/v1/allocation/hygiene?period={last}")).await;
    assert_eq!(r.status(), 403);
    let (code, _) = server.get_json("/api/v1/allocation/hygiene?from=2026-1&to=2026-02").await;
    assert_eq!(code, 400);
});

both!(restatement_resolves_the_closing_rules_against_the_cost_centres_of_the_close, |t| {
    let (ids, period) = closed_month(&t).await;
    let closed = t.store().session().await.unwrap().cube_cells(&period, &period, None).await.unwrap();
    let explained = t.app.explain(&sys(), &period, "cc:cc-1042", 0).await.unwrap();
    assert!(explained.lines_total > 0);
    // Later, a cost centre the month charged is archived: a tag naming it now finds no cost centre.
    t.clock.set("2026-11-23T09:00:00Z".parse().unwrap());
    t.app.set_archived::<CostCentre>(&sys(), ids["cc-1042"], true, None).await.unwrap();
    // Restated unchanged, the month posts nothing: its rules still resolve the tag to the archived cost centre,
    // as they did when it closed (not to Unallocated), and its explanation still finds the lines.
    let r = t.app.restate_period(&sys(), &period, None).await.unwrap();
    assert_eq!(r.adjustments, 0, "{r:?}");
    let again = t.app.explain(&sys(), &period, "cc:cc-1042", 0).await.unwrap();
    assert_eq!(again.lines_total, explained.lines_total);
    // A real change to the ledger posts just that change, onto a target the month closed with.
    let dir = tempfile::tempdir().unwrap();
    let s = import(&t, &without_dearest(dir.path(), FIXTURES[0], 1), ImportOptions::default()).await;
    assert_eq!(s.restatements.len(), 1, "{s:?}");
    let adjustments = t.app.adjustments(&sys(), Some(&period), None).await.unwrap();
    assert_eq!(adjustments.len(), 1, "one line gone, one key changed: {adjustments:?}");
    assert!(closed.iter().any(|c| c.target == adjustments[0].target), "{adjustments:?}");
    // Even the journal's provider cost centre archived: the closing rules still compile.
    t.app.set_archived::<CostCentre>(&sys(), ids["CC-IT"], true, None).await.unwrap();
    let r = t.app.restate_period(&sys(), &period, None).await.unwrap();
    assert_eq!(r.adjustments, 0, "{r:?}");
    // A month closed on a run made before runs kept their catalog is given the cost centres in force at the
    // run's time, archived ones included.
    crate::contract::raw(&t.url, "DELETE FROM allocation_run_catalogs").await;
    let r = t.app.restate_period(&sys(), &period, None).await.unwrap();
    assert_eq!(r.adjustments, 0, "{r:?}");
});

both!(a_month_holding_only_restatements_is_allocated_by_a_range_and_by_new_rules, |t| {
    let (_, period) = closed_month(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let s = import(&t, &without_dearest(dir.path(), FIXTURES[0], 1), ImportOptions::default()).await;
    let posted = s.restatements[0].posted_period.clone();
    assert!(!t.app.ledger_periods().await.unwrap().contains(&posted), "no ledger of its own");
    // A range over both months allocates the one carrying the restatement; the closed one is left as it is.
    let runs = t.app.allocate_range(&sys(), &period, &posted).await.unwrap();
    assert_eq!(runs.iter().map(|r| r.period.as_str()).collect::<Vec<_>>(), [posted.as_str()]);
    assert_eq!(runs[0].effective_total, s.restatements[0].effective);
    // A new rule set re-allocates it too, and its journal follows the new rules' GL accounts.
    let v2 = rules("").replace("\"7900\"", "\"7901\"").replace("\"7910\"", "\"7911\"");
    let applied = t.app.apply_rule_set(&sys(), &v2).await.unwrap();
    assert_eq!(applied.runs.iter().map(|r| r.period.as_str()).collect::<Vec<_>>(), [posted.as_str()]);
    assert_eq!(applied.runs[0].rule_set_id, applied.rule_set.id);
    assert_eq!(applied.closed_skipped, [period]);
    t.app.close_period(&sys(), &posted).await.unwrap();
    let j = t.app.journal(&sys(), &posted).await.unwrap();
    let accounts: std::collections::BTreeSet<&str> = j.lines.iter().map(|l| l.gl_account.as_str()).collect();
    assert!(!j.lines.is_empty());
    assert!(accounts.iter().all(|a| ["7901", "7911", "7990"].contains(a)), "{accounts:?}");
});

/// Returns once `task` waits for a period's lock (on PostgreSQL, where pg_locks shows it) or has finished. On
/// SQLite writers queue on the database's write lock, which shows nowhere: it returns at once.
async fn waiting_for_period_lock<T>(t: &TestApp, task: &tokio::task::JoinHandle<T>) {
    waiting_for_period_locks(t, &[task]).await;
}

/// On PostgreSQL, waits until as many sessions wait for a period's lock as there are `tasks`, or one of them
/// has finished.
async fn waiting_for_period_locks<T>(t: &TestApp, tasks: &[&tokio::task::JoinHandle<T>]) {
    use sqlx::Connection;
    if !t.url.starts_with("postgres") {
        return;
    }
    let mut c = sqlx::PgConnection::connect(&t.url).await.unwrap();
    let q = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = 1634496623 \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    for _ in 0..3000 {
        let waiting: i64 = sqlx::query_scalar(q).fetch_one(&mut c).await.unwrap();
        if waiting >= tasks.len() as i64 || tasks.iter().any(|t| t.is_finished()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the tasks neither waited for the period's lock nor finished");
}

fn current_runs(runs: &[itemize_app::allocation::RunView]) -> Vec<i64> {
    runs.iter().filter(|r| r.status == "current").map(|r| r.id).collect()
}

both!(an_allocation_waits_for_a_close_under_way_and_then_leaves_the_month_alone, |t| {
    let (_, period, run) = allocated_month(&t).await;
    // A close of the month is under way, as close_period does it: the month's lock, then the closed row.
    let mut tx = t.store().transaction().await.unwrap();
    tx.lock_period(&period).await.unwrap();
    tx.close_period(&period, run, "test", crate::harness::T0.parse().unwrap(), "{}").await.unwrap();
    let allocating = tokio::spawn({
        let (app, p) = (t.app.clone(), period.clone());
        async move { app.allocate_period(&sys(), &p).await }
    });
    // On PostgreSQL the allocation has found the month open and waits to write; once the close commits it
    // finds the month closed and writes nothing.
    waiting_for_period_lock(&t, &allocating).await;
    tx.commit().await.unwrap();
    let e = allocating.await.unwrap().unwrap_err();
    assert!(matches!(e, AppError::Refused(_)), "{e}");
    if t.url.starts_with("postgres") {
        assert!(e.to_string().contains("closed while it was being allocated"), "{e}");
    }
    let runs = t.app.allocation_runs(&sys(), Some(&period)).await.unwrap();
    assert_eq!(current_runs(&runs), [run], "the run the month closed on stays its allocation");
    assert_eq!(t.app.closed_periods(&sys()).await.unwrap(), [(period.clone(), run)]);
});

both!(a_close_waits_for_an_allocation_under_way_and_closes_on_its_run, |t| {
    let (_, period, run) = allocated_month(&t).await;
    // An allocation of the month is under way, as allocate_period does it: the month's lock, then a new run.
    let mut tx = t.store().transaction().await.unwrap();
    tx.lock_period(&period).await.unwrap();
    let newer = tx.allocation_runs(Some(&period)).await.unwrap().remove(0);
    let newer = tx.replace_allocation(&newer, "{}", &[], &[]).await.unwrap();
    let closing = tokio::spawn({
        let (app, p) = (t.app.clone(), period.clone());
        async move { app.close_period(&sys(), &p).await }
    });
    waiting_for_period_lock(&t, &closing).await;
    tx.commit().await.unwrap();
    // The close waited for it and closed the month on the allocation that won, not on the one it replaced.
    let closed = closing.await.unwrap().unwrap();
    assert_ne!(newer, run);
    assert_eq!(closed.id, newer);
    let runs = t.app.allocation_runs(&sys(), Some(&period)).await.unwrap();
    assert_eq!(current_runs(&runs), [newer]);
    assert_eq!(t.app.closed_periods(&sys()).await.unwrap(), [(period.clone(), newer)]);
});

both!(a_restatement_posts_nothing_into_a_month_closed_under_it, |t| {
    use itemize_app::cost::Progress;
    let (_, period) = closed_month(&t).await;
    let closed_total = ledger_total(&t, period.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let s = import(&t, &without_dearest(dir.path(), FIXTURES[0], 1), ImportOptions::default()).await;
    let posted = s.restatements[0].posted_period.clone();
    let run = current_runs(&t.app.allocation_runs(&sys(), Some(&posted)).await.unwrap())[0];
    // The month carrying the restatement is being closed when the provider restates the closed month again.
    let mut tx = t.store().transaction().await.unwrap();
    tx.lock_period(&posted).await.unwrap();
    tx.close_period(&posted, run, "test", crate::harness::T0.parse().unwrap(), "{}").await.unwrap();
    let importing = tokio::spawn({
        let (app, path) = (t.app.clone(), without_dearest(dir.path(), FIXTURES[0], 2));
        async move {
            app.import_cost_file(&sys(), &path, ImportOptions::default(), Arc::new(Progress::default())).await
        }
    });
    waiting_for_period_lock(&t, &importing).await;
    tx.commit().await.unwrap();
    assert_eq!(importing.await.unwrap().unwrap().status, "active");
    // The closed month holds just what it closed with; the change goes to the next open month, the second time
    // if the first found the month closed under it.
    let into_closed = t.app.adjustments(&sys(), Some(&period), Some(&posted)).await.unwrap();
    assert_eq!(into_closed.len(), 1, "{into_closed:?}");
    t.app.restate_period(&sys(), &period, None).await.unwrap();
    let all = t.app.adjustments(&sys(), Some(&period), None).await.unwrap();
    assert!(all.iter().skip(1).all(|a| a.posted_period > posted), "{all:?}");
    let sum: Decimal = all.iter().map(|a| a.effective.parse::<Decimal>().unwrap()).sum();
    assert_eq!(sum, ledger_total(&t, period.clone()).await - closed_total);
});

// An import that committed but did not get to restate the closed month it touched (the process stopped; here
// it is told to defer that) leaves a note, and `finish_pending_imports` (run by `serve` at start) does it then.
both!(a_committed_import_owes_its_restatement_until_it_is_finished, |t| {
    let (_, period) = closed_month(&t).await;
    let closed_total = ledger_total(&t, period.clone()).await;
    assert!(
        t.app.finish_pending_imports(&sys()).await.unwrap().is_empty(),
        "nothing owed after plain imports"
    );
    let dir = tempfile::tempdir().unwrap();
    let opts = ImportOptions { defer_follow_up: true, ..Default::default() };
    let s = import(&t, &without_dearest(dir.path(), FIXTURES[0], 1), opts).await;
    assert_eq!((s.status.as_str(), s.restatements.len()), ("active", 0), "{:?}", s.message);
    let change = ledger_total(&t, period.clone()).await - closed_total;
    assert!(change != Decimal::ZERO);
    assert!(t.app.adjustments(&sys(), Some(&period), None).await.unwrap().is_empty(), "not restated yet");
    // At the next start the restatement is posted, once.
    assert_eq!(t.app.finish_pending_imports(&sys()).await.unwrap(), [s.id]);
    let posted = t.app.adjustments(&sys(), Some(&period), None).await.unwrap();
    assert_eq!(posted.iter().map(|a| a.effective.parse::<Decimal>().unwrap()).sum::<Decimal>(), change);
    assert!(t.app.finish_pending_imports(&sys()).await.unwrap().is_empty());
    let row =
        t.app.cost_imports(&sys(), None, None, 10).await.unwrap().into_iter().find(|r| r.id == s.id).unwrap();
    assert!(row.message.unwrap_or_default().contains(&format!("closed period {period} restated")));
});

// Two restatements of one closed month at the same moment (two imports finishing together) post the difference
// once: the second finds the first's adjustments under the lock and posts nothing.
both!(two_restatements_of_one_month_at_once_post_the_difference_once, |t| {
    let (_, period) = closed_month(&t).await;
    let closed_total = ledger_total(&t, period.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let opts = ImportOptions { defer_follow_up: true, ..Default::default() };
    let s = import(&t, &without_dearest(dir.path(), FIXTURES[0], 1), opts).await;
    assert_eq!(s.status, "active", "{:?}", s.message);
    let change = ledger_total(&t, period.clone()).await - closed_total;
    assert!(change != Decimal::ZERO);
    // The month the difference goes into is locked (as a close or an allocation of it would), so on PostgreSQL
    // both restatements work the difference out and wait to post it.
    let first: jiff::civil::Date = format!("{period}-01").parse().unwrap();
    let next = first.last_of_month().tomorrow().unwrap().strftime("%Y-%m").to_string();
    let mut tx = t.store().transaction().await.unwrap();
    tx.lock_period(&next).await.unwrap();
    let restate = || {
        let (app, p) = (t.app.clone(), period.clone());
        tokio::spawn(async move { app.restate_period(&sys(), &p, None).await })
    };
    let (a, b) = (restate(), restate());
    waiting_for_period_locks(&t, &[&a, &b]).await;
    if t.url.starts_with("postgres") {
        assert!(!a.is_finished() && !b.is_finished(), "both restatements wait for the month's lock");
    }
    tx.rollback().await.unwrap();
    let results = [a.await.unwrap(), b.await.unwrap()];
    let refused = results.iter().filter(|r| r.is_err()).count();
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(r.to_string().contains("another restatement"), "{r}");
    }
    assert!(refused <= 1, "{results:?}");
    let posted = t.app.adjustments(&sys(), Some(&period), None).await.unwrap();
    let sum: Decimal = posted.iter().map(|a| a.effective.parse::<Decimal>().unwrap()).sum();
    assert_eq!(sum, change, "the difference, once");
});
