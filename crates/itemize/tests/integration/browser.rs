//! The web interface end to end in a real headless Chromium, against the server on port 0 with the demo
//! organisation: sign in, the overview, a chart bar down to its line items, an upload that changes the totals,
//! an asset transition (and a refused one that keeps what was typed), a CSV download checked cell by cell, and
//! a user limited to one cost centre who cannot see another.
//!
//! `ITEMIZE_SCREENSHOTS=DIR` also saves full-page screenshots of the main pages into DIR (the README's are
//! made this way: `ITEMIZE_SCREENSHOTS=$PWD/docs/screenshots cargo test --test integration browser`).

use crate::harness::TestApp;
use itemize_app::insight::CubeQuery;
use itemize_testkit::browser::{Browser, browser};
use itemize_web::charts::money_text;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const DEMO_PASSWORD: &str = "itemize-demo";

async fn sign_in(b: &Browser, base: &str, user: &str) {
    b.goto(&format!("{base}/login")).await;
    b.find("#username").await.send_keys(user).await;
    b.find("#password").await.send_keys(DEMO_PASSWORD).await;
    b.find("form[action='/login'] button[type=submit]").await.click().await;
    b.wait_for_text(".me span", user).await;
}

async fn sign_out(b: &Browser) {
    b.find("form.me button").await.click().await;
    b.wait_for("#username").await;
}

fn shots() -> Option<PathBuf> {
    std::env::var_os("ITEMIZE_SCREENSHOTS").map(PathBuf::from)
}

async fn shot(b: &Browser, name: &str) {
    if let Some(dir) = shots() {
        std::fs::create_dir_all(&dir).unwrap();
        b.full_page_screenshot_png(dir.join(format!("{name}.png"))).await;
    }
}

/// The effective cost of one cube group in one period, computed by the cube query itself (not the pages).
async fn cube_value(t: &TestApp, period: &str, dim: &str, value: &str) -> Decimal {
    let q = CubeQuery::from_params(&[
        ("period".into(), period.into()),
        ("group_by".into(), dim.into()),
        ("granularity".into(), "none".into()),
    ])
    .unwrap();
    let r = t.app.cube_query(&crate::harness::sys(), &q).await.unwrap();
    r.rows.iter().filter(|row| row.keys[0].as_deref() == Some(value)).map(|row| row.effective).sum()
}

/// A FOCUS 1.2 bill of a new provider for `period`, each line's cost given.
fn focus_bill(dir: &Path, period: &str, costs: &[&str]) -> PathBuf {
    let (y, m): (i32, u32) = (period[..4].parse().unwrap(), period[5..].parse().unwrap());
    let end = if m == 12 { format!("{}-01", y + 1) } else { format!("{y}-{:02}", m + 1) };
    let mut s = String::from(
        "BillingAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BilledCost,\
         EffectiveCost,ListCost,ContractedCost,BillingCurrency,ChargeCategory,ProviderName,ServiceName,InvoiceId,Tags\n",
    );
    for (i, c) in costs.iter().enumerate() {
        s.push_str(&format!(
            "ACME-1,{period}-01T00:00:00Z,{end}-01T00:00:00Z,{period}-0{d}T00:00:00Z,{period}-0{d}T01:00:00Z,\
             {c},{c},{c},{c},USD,Usage,Acme Browser Cloud,Compute,INV-B1,\n",
            d = i % 9 + 1
        ));
    }
    let p = dir.join("acme-browser.csv");
    std::fs::write(&p, s).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_interface_in_a_real_browser() {
    let Some(b) = browser().await else { return };
    b.set_wait(std::time::Duration::from_secs(20));
    let t = TestApp::sqlite().await;
    t.app.load_demo(t._dir.path(), 1, jiff::civil::date(2026, 11, 22)).await.expect("the demo loads");
    let s = t.serve().await;
    let base = s.base.clone();
    let periods = t.app.ledger_periods().await.unwrap();
    let last = periods.last().unwrap().clone();

    // Signing in lands on the overview, with its charts and figures.
    b.goto(&format!("{base}/")).await;
    b.wait_for_url("/login").await;
    sign_in(&b, &base, "admin").await;
    b.wait_for_text("h1", "Overview").await;
    assert!(b.find_all("section.panel svg").await.len() >= 4, "the overview draws its charts");
    b.wait_for_text(".tiles", &format!("Effective cost, {last}")).await;
    shot(&b, "overview").await;

    // A bar of the provider chart leads to exactly the line items it summarises.
    let aws = cube_value(&t, &last, "provider", "AWS").await;
    assert!(aws > Decimal::ZERO, "the demo has AWS spend in {last}");
    let bar = format!("rect.seg[data-series='AWS'][data-category='{last}']");
    let tooltip = b.find(&bar).await.find("title").await;
    assert!(
        tooltip.property("textContent").await.as_str().unwrap().contains(&money_text(&aws.to_string())),
        "the bar's tooltip gives the exact amount"
    );
    b.find(&bar).await.click().await;
    b.wait_for_url("/costs/lines").await;
    let shown = b.find("#lines-effective").await.text().await;
    assert_eq!(shown, money_text(&aws.to_string()), "the line items add up to the bar");
    let providers: Vec<String> = {
        let mut v = Vec::new();
        for cell in b.find_all("#line-items tbody tr td:nth-child(2)").await {
            v.push(cell.text().await);
        }
        v
    };
    assert!(!providers.is_empty() && providers.iter().all(|p| p == "AWS"), "{providers:?}");
    shot(&b, "line-items").await;

    // The explorer's CSV is exactly its table: every cell downloaded equals the cell shown.
    let view = format!("{base}/costs?from={last}&to={last}&group_by=cost_centre&granularity=none");
    b.goto(&view).await;
    let shown_total = b.find("#total").await.text().await;
    let mut table: Vec<Vec<String>> = Vec::new();
    for row in b.find_all("#explorer-table tbody tr").await {
        let mut cells = Vec::new();
        for c in row.find_all("th, td").await {
            cells.push(c.text().await);
        }
        table.push(cells);
    }
    assert!(table.len() > 5, "the demo has many cost centres: {table:?}");
    shot(&b, "explorer").await;
    b.find("#download-csv").await.click().await;
    let csv_path = b.wait_for_download(".csv").await;
    let mut rdr = csv::Reader::from_path(&csv_path).unwrap();
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        vec!["Cost centre", "Name", "Billed", "Effective", "Lines"]
    );
    let mut rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let total_row = rows.pop().unwrap();
    assert_eq!(rows.len(), table.len(), "one CSV row per table row, then the total");
    // The download is exact; the table shows it in cents that add up to the total (largest remainder), so each
    // row shown is the exact amount so rounded.
    let exact =
        |col: usize| -> Vec<Decimal> { rows.iter().map(|r| r[col].parse::<Decimal>().unwrap()).collect() };
    let (billed, effective) = (exact(2), exact(3));
    let as_shown = |v: &[Decimal]| itemize_core::money::cents_adding_up(v, v.iter().copied().sum());
    let (billed_shown, effective_shown) = (as_shown(&billed), as_shown(&effective));
    let mut sum = Decimal::ZERO;
    for (i, (r, shown)) in rows.iter().zip(&table).enumerate() {
        let code = &r[0];
        assert!(
            shown[0] == code || shown[0].ends_with(&format!("({code})")),
            "{code} is shown as {}",
            shown[0]
        );
        // The name beside the code is the one the table shows.
        assert!(r[1].is_empty() || shown[0] == r[1], "{} named {}", shown[0], &r[1]);
        assert_eq!(money_text(&billed_shown[i].to_string()), shown[1]);
        assert_eq!(money_text(&effective_shown[i].to_string()), shown[2]);
        assert_eq!(&r[4], shown[3].as_str());
        sum += effective[i];
    }
    assert_eq!(money_text(&sum.to_string()), shown_total, "the downloaded amounts add up to the total shown");
    assert_eq!(
        (&total_row[0], total_row[3].parse::<Decimal>().unwrap()),
        ("Total", sum),
        "the download's total"
    );

    // Uploading a bill into the open month re-allocates it: the import's totals, and the totals everywhere.
    let before = cube_value(&t, &last, "provider", "Acme Browser Cloud").await;
    assert_eq!(before, Decimal::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let bill = focus_bill(dir.path(), &last, &["1000.25", "234.31"]);
    b.goto(&format!("{base}/imports")).await;
    b.find("#file").await.send_keys(bill.to_str().unwrap()).await;
    b.find("form.upload button[type=submit]").await.click().await;
    b.wait_for_url("/imports/").await;
    b.wait_for_text("#import-status", "active").await;
    b.wait_for_text("#import-totals", "1,234.56").await;
    shot(&b, "import").await;
    let after = cube_value(&t, &last, "provider", "Acme Browser Cloud").await;
    assert_eq!(after, "1234.56".parse::<Decimal>().unwrap(), "the month was allocated again");
    b.goto(&format!("{base}/costs?from={last}&to={last}&group_by=provider&granularity=none")).await;
    b.wait_for_text("#explorer-table", "Acme Browser Cloud").await;

    // An asset moves through its lifecycle from its page; a refused move keeps what was typed.
    let page = t
        .app
        .list_assets(
            &crate::harness::sys(),
            &itemize_app::ListParams::from_pairs([("state".into(), "in-use".into())]),
        )
        .await
        .unwrap();
    let asset = &page.items[0];
    b.goto(&format!("{base}/assets/{}", asset.id)).await;
    b.wait_for_text("#asset-state", "in-use").await;
    // On loan needs a person and a return date: neither is given.
    b.find("#t-to").await.select_option_by_value("on-loan").await;
    b.find("#t-reason").await.send_keys("lent to a visitor").await;
    b.find("#transition-form button[type=submit]").await.click().await;
    b.wait_for("#form-error").await;
    assert_eq!(
        b.find("#t-reason").await.property("value").await,
        "lent to a visitor",
        "what was typed is kept"
    );
    assert_eq!(b.find("#t-to").await.property("value").await, "on-loan", "the chosen state is kept");
    assert!(!b.find_all(".field-error").await.is_empty(), "the problem is shown beside its field");
    b.wait_for_text("#asset-state", "in-use").await;
    b.find("#t-to").await.select_option_by_value("in-repair").await;
    b.find("#t-reason").await.clear().await;
    b.find("#t-reason").await.send_keys("cracked screen").await;
    b.find("#transition-form button[type=submit]").await.click().await;
    b.wait_for_text("#asset-state", "in-repair").await;
    b.wait_for_text("#history", "cracked screen").await;
    let stored = t.app.get_asset(&crate::harness::sys(), asset.id).await.unwrap();
    assert_eq!(stored.state.to_string(), "in-repair");
    shot(&b, "asset").await;
    for (name, path) in [("assets", "/assets"), ("showback", "/showback"), ("rules", "/allocation/rules")] {
        b.goto(&format!("{base}{path}")).await;
        shot(&b, name).await;
    }
    sign_out(&b).await;

    // A finance user limited to Sales DACH sees only it: its statement, its lines, and nothing of others.
    sign_in(&b, &base, "dach-finance").await;
    b.goto(&format!("{base}/showback?period={last}")).await;
    let mut codes = BTreeMap::new();
    for row in b.find_all("table.statement tbody tr td:first-child").await {
        codes.insert(row.text().await, ());
    }
    assert!(!codes.is_empty(), "the scoped user has a statement");
    let all = t
        .app
        .showback(
            &crate::harness::sys(),
            &last,
            itemize_app::allocation::StatementBy::CostCentre,
            itemize_app::allocation::Measure::Effective,
        )
        .await
        .unwrap();
    let other = all
        .rows
        .iter()
        .filter_map(|r| r.code.clone())
        .find(|c| !codes.contains_key(c))
        .expect("another cost centre exists");
    assert!(
        all.rows.iter().any(|r| r.code.as_deref() == Some(other.as_str()) && r.amount > Decimal::ZERO),
        "{other} has spend the scoped user must not see"
    );
    b.goto(&format!("{base}/costs/lines?period={last}&cost_centre={other}")).await;
    assert_eq!(b.find("#line-count").await.text().await, "0", "no line of {other} is shown");
    b.goto(&format!("{base}/costs?from={last}&to={last}&group_by=cost_centre&granularity=none")).await;
    let src = b.source().await;
    assert!(
        !src.contains(&format!("({other})")) && !src.contains(&format!(">{other}<")),
        "{other} is not listed"
    );
    b.goto(&format!("{base}/admin/users")).await;
    b.wait_for_text("h1", "Forbidden").await;
}
