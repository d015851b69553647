//! Server-rendered pages: layout, navigation, lists with pagination and sorting, escaped output.

use crate::harness::{TestApp, seed_small};
use itemize_core::refdata::Person;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_list_reference_data_and_escape_what_users_typed() {
    let t = TestApp::sqlite().await;
    seed_small(&t).await;
    t.app
        .create::<Person>(
            &crate::harness::sys(),
            json!({"employee_id": "E666", "name": "<script>alert('x')</script>", "email": "x@corp.example"}),
        )
        .await
        .unwrap();
    let s = t.serve().await;
    let home = s.get("/").await;
    assert_eq!(home.status(), 200);
    assert!(home.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = home.text().await.unwrap();
    for link in ["/cost-centres", "/services", "/people", "/locations", "/vendors"] {
        assert!(html.contains(&format!("href=\"{link}\"")), "navigation lacks {link}");
    }
    assert!(html.contains("<span class=\"count\">2</span> <span class=\"label\">Cost centres</span>"));

    let html = s.get("/people").await.text().await.unwrap();
    assert!(html.contains("&#60;script&#62;alert(&#39;x&#39;)"), "user text is escaped: {html}");
    assert!(!html.contains("<script>alert"), "user text never becomes markup");
    assert!(html.contains("Platform (CC-2)"), "references are shown by name");
    assert!(html.contains("London (LON)"));
    assert!(html.contains("aria-current=\"page\""));
    assert_eq!(html.matches("<script").count(), 1, "one script, and it is the site's own file");
    assert!(html.contains(r#"<script src="/static/itemize.js" defer></script>"#), "never inline");
    // Anywhere but the demo, the sign-in page gives no password away.
    let login = s.anonymous.get(s.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(login.contains("Sign in") && !login.contains("demo organisation"), "{login}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_lists_paginate_and_sort_without_javascript() {
    let t = TestApp::sqlite().await;
    for n in 0..60 {
        t.app
            .create::<Person>(&crate::harness::sys(), json!({"employee_id": format!("E{n:03}"), "name": format!("Person {n:03}"), "email": format!("p{n}@corp.example")}))
            .await
            .unwrap();
    }
    let s = t.serve().await;
    let html = s.get("/people").await.text().await.unwrap();
    assert_eq!(html.matches("<tr><td>").count(), 50, "the default page holds 50");
    let next = html
        .split("href=\"")
        .find(|p| p.contains("rel=\"next\""))
        .map(|p| p.split('"').next().unwrap().to_string());
    let next = next.expect("a next-page link");
    let page2 = s.get(&next.replace("&amp;", "&")).await.text().await.unwrap();
    assert_eq!(page2.matches("<tr><td>").count(), 10);
    assert!(page2.contains("Person 059") && !page2.contains("Person 000"));
    assert!(page2.contains("First page"));
    let desc = s.get("/people?sort=-name").await.text().await.unwrap();
    let first_row = desc.split("<tr><td>").nth(1).unwrap();
    assert!(
        first_row.starts_with("<a href=\"/people/") && first_row.contains(">Person 059</a>"),
        "{first_row}"
    );
    assert!(desc.contains("aria-sort=\"descending\""));
    let searched = s.get("/people?q=person+007").await.text().await.unwrap();
    assert_eq!(searched.matches("<tr><td>").count(), 1);
    let bad = s.get("/people?limit=5000").await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("must be a whole number from 1 to 1000"));
    let missing = s.get("/no-such-page").await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("There is nothing at this address"));
}

/// Every link a page of the demo organisation offers answers: followed from the overview and the navigation,
/// page by page (at most 12 pages of each shape, `/assets/N` say, and 600 in all), downloads included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_link_on_the_demo_pages_answers() {
    let t = TestApp::sqlite().await;
    t.app.load_demo(t._dir.path(), 1, jiff::civil::date(2026, 11, 22)).await.expect("the demo loads");
    let s = t.serve().await;
    let shape = |path: &str| -> String {
        let (p, q) = path.split_once('?').unwrap_or((path, ""));
        let p: String = p.chars().map(|c| if c.is_ascii_digit() { 'N' } else { c }).collect();
        let keys: Vec<&str> = q.split('&').filter_map(|kv| kv.split('=').next()).collect();
        format!("{p}?{}", keys.join("&"))
    };
    let mut queue: std::collections::VecDeque<String> = ["/".to_string()].into();
    let mut seen: std::collections::HashSet<String> = queue.iter().cloned().collect();
    let mut per_shape: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let (mut visited, mut failed) = (0, Vec::new());
    while let Some(path) = queue.pop_front() {
        if visited >= 600 {
            break;
        }
        let n = per_shape.entry(shape(&path)).or_default();
        if *n >= 12 {
            continue;
        }
        *n += 1;
        visited += 1;
        let r = s.get(&path).await;
        let status = r.status();
        let html = r
            .headers()
            .get("content-type")
            .is_some_and(|c| c.to_str().unwrap_or("").starts_with("text/html"));
        let body = r.text().await.unwrap_or_default();
        if !status.is_success() {
            failed.push(format!("{status} {path}: {}", body.chars().take(120).collect::<String>()));
            continue;
        }
        if !html {
            continue;
        }
        for link in body.split("href=\"").skip(1).filter_map(|p| p.split('"').next()) {
            let link = link.replace("&amp;", "&").replace("&#38;", "&").replace("&#39;", "'");
            if !link.starts_with('/')
                || link.starts_with("//")
                || link.starts_with("/static/")
                || link == "/logout"
            {
                continue;
            }
            let link = link.split('#').next().unwrap_or_default().to_string();
            if seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
    }
    assert!(visited > 150, "the crawl reached the demo's pages: {visited}");
    assert!(failed.is_empty(), "{} of {visited} links failed:\n{}", failed.len(), failed.join("\n"));
    // Labels: the whole register is more than one download holds, and the page says how to print it; a narrower
    // list gets its sheets.
    let all = s.get("/assets/labels").await.text().await.unwrap();
    assert!(all.contains("More than 2400 assets match") && !all.contains("Download the sheets"), "{all}");
    let retired = s.get("/assets/labels?state=retired").await.text().await.unwrap();
    assert!(retired.contains("Download the sheets (PDF)"), "{retired}");
    let pdf = retired.split("href=\"").find(|h| h.starts_with("/api/v1/assets/labels?")).unwrap_or_default();
    let pdf = pdf.split('"').next().unwrap().replace("&#38;", "&");
    assert!(pdf.contains("format=pdf"), "{pdf}");
    let r = s.get(&pdf).await;
    assert_eq!(r.status(), 200, "{pdf}");
    assert_eq!(r.headers()["content-type"], "application/pdf");
    // Each month's statement, as shown in cents, adds up: its rows to its total, in both months' columns.
    let cell = |html: &str| -> rust_decimal::Decimal {
        let text = html.split('>').nth(1).unwrap().split('<').next().unwrap().replace(',', "");
        text.parse().unwrap_or_else(|_| panic!("{html}"))
    };
    for period in t.app.ledger_periods().await.unwrap() {
        let html = s.get(&format!("/showback?period={period}")).await.text().await.unwrap();
        let body = html.split("<tbody>").nth(1).unwrap().split("</tbody>").next().unwrap();
        let foot = html.split("<tfoot>").nth(1).unwrap().split("</tfoot>").next().unwrap();
        for col in [3, 4] {
            let sum: rust_decimal::Decimal =
                body.split("<tr>").skip(1).map(|row| cell(row.split("<td").nth(col).unwrap())).sum();
            let total = cell(foot.split("<th").nth(col).unwrap());
            assert_eq!(sum, total, "{period}, column {col}");
        }
    }
    // The overview's renewals say which notice dates have passed (the demo's date is 2026-11-22).
    let overview = s.get("/").await.text().await.unwrap();
    let renewals = overview.split("id=\"renewals\"").nth(1).unwrap().split("</table>").next().unwrap();
    let notices: Vec<&str> = renewals
        .split("<tr><td>")
        .skip(1)
        .map(|row| row.split("<td>").nth(1).unwrap().split("</td>").next().unwrap())
        .collect();
    assert!(
        notices.iter().any(|n| n[..10] < *"2026-11-22"),
        "the demo has a notice date passed: {notices:?}"
    );
    for n in &notices {
        assert_eq!(n[..10] < *"2026-11-22", n.contains("(passed "), "{n}");
    }
    // A contract that renewed itself shows its current term; one covering more assets than listed says so.
    let contracts = t.app.contracts(&crate::harness::sys()).await.unwrap();
    let vault = contracts.iter().find(|c| c.number == "HCP-VAULT-2023").unwrap();
    let html = s.get(&format!("/contracts/{}", vault.id)).await.text().await.unwrap();
    assert!(html.contains("current term ends") && html.contains("(renewed 2 times;"), "{html}");
    let list = s.get("/contracts").await.text().await.unwrap();
    assert!(list.contains("(renewed 2×)"), "the list shows the current end too");
    let big = contracts.iter().max_by_key(|c| c.asset_ids.len()).unwrap();
    assert!(big.asset_ids.len() > 500, "the demo has a contract covering many assets");
    let html = s.get(&format!("/contracts/{}", big.id)).await.text().await.unwrap();
    let n = big.asset_ids.len();
    assert!(
        html.contains(&format!("Assets covered ({n})")) && html.contains(&format!("The first 500 of {n}"))
    );
    // The chargeback journal says what it leaves uncharged: Unallocated and the IT provider's own use.
    let cb = s.get("/chargeback").await.text().await.unwrap();
    assert!(
        cb.contains("Not charged to anyone: Unallocated") && cb.contains("own use, the IT provider"),
        "{cb}"
    );
    // The sign-in page of the demo says how to sign in to it.
    let login = s.anonymous.get(s.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(login.contains("This is the demo organisation") && login.contains("itemize-demo"), "{login}");
    // A person's page lists the assets they hold; a location's links to its assets.
    let params = itemize_app::ListParams::from_pairs([("state".to_string(), "in-use".to_string())]);
    let held = t.app.list_assets(&crate::harness::sys(), &params).await.unwrap().items;
    let laptop = held.iter().find(|a| a.custody.assignee_person_id.is_some()).unwrap();
    let person = laptop.custody.assignee_person_id.unwrap();
    let html = s.get(&format!("/people/{person}")).await.text().await.unwrap();
    assert!(html.contains(&format!("<a href=\"/assets/{}\">{}</a>", laptop.id, laptop.fields.tag)), "{html}");
    assert!(html.contains(&format!("/assets?assignee_person_id={person}")), "{html}");
    // Its history names the people and places it moved between, not their ids.
    let who = t.app.get::<Person>(&crate::harness::sys(), person).await.unwrap().fields.name;
    let html = s.get(&format!("/assets/{}", laptop.id)).await.text().await.unwrap();
    let history = html.split("History").last().unwrap();
    assert!(!history.contains("assignee_person_id"), "{history}");
    assert!(history.contains(&format!("assignee {}", who.replace('\'', "&#39;"))), "{who}: {history}");
    let site = laptop.custody.location_id.or(laptop.fields.location_id);
    if let Some(site) = site {
        let html = s.get(&format!("/locations/{site}")).await.text().await.unwrap();
        assert!(html.contains(&format!("/assets?location_id={site}")), "{html}");
    }
    // "Why" a cost centre holds its money names it, not only by its key.
    let last = t.app.ledger_periods().await.unwrap().last().unwrap().clone();
    let st = t
        .app
        .showback(
            &crate::harness::sys(),
            &last,
            itemize_app::allocation::StatementBy::CostCentre,
            itemize_app::allocation::Measure::Effective,
        )
        .await
        .unwrap();
    let row = st.rows.iter().find(|r| r.key.starts_with("cc:")).unwrap();
    let html =
        s.get(&format!("/allocation/explain?period={last}&target={}", row.key)).await.text().await.unwrap();
    let code = row.code.clone().unwrap();
    let heading = format!("Why {} (cost centre {code}) holds", row.name.replace('&', "&#38;"));
    assert!(html.contains(&heading), "{heading}: {html}");
    // And it explains the whole of the statement's row: what went to the cost centre and to its services, for
    // every cost centre of the month.
    for row in st.rows.iter().filter(|r| r.key.starts_with("cc:")) {
        let x = t.app.explain(&crate::harness::sys(), &last, &row.key, 10).await.unwrap();
        assert_eq!(x.total_effective, row.amount, "{}", row.key);
    }
    // The data-quality page names what each asset misses, as words, and links to the asset.
    let gov = s.get("/assets/governance").await.text().await.unwrap();
    assert!(!gov.contains("[&#34;") && !gov.contains("/assets/—"), "{gov}");
}
