//! Server-rendered pages: layout, navigation, lists with pagination and sorting, escaped output.

use crate::harness::{TestApp, seed_small};
use itemize_core::refdata::Person;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_list_reference_data_and_escape_what_users_typed() {
    let t = TestApp::sqlite().await;
    let (_, cc, _, _) = seed_small(&t).await;
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
    // The navigation leaves out what a user could only be refused: the chargeback journal (finance and
    // administrators, the whole ledger) and imports (not for a user limited to cost centres).
    let has = |html: &str, path: &str| html.contains(&format!("href=\"{path}\""));
    let admin = s.get("/").await.text().await.unwrap();
    assert!(has(&admin, "/chargeback") && has(&admin, "/imports") && has(&admin, "/admin/users"));
    let viewer = t.token(t.user("vera", "viewer", vec![]).await, true).await;
    let html = s.get_as(&viewer, "/").await.text().await.unwrap();
    assert!(!has(&html, "/chargeback") && has(&html, "/imports") && !has(&html, "/admin/users"), "{html}");
    let scoped = t.token(t.user("sam", "finance", vec![cc]).await, true).await;
    let html = s.get_as(&scoped, "/").await.text().await.unwrap();
    assert!(!has(&html, "/chargeback") && !has(&html, "/imports") && has(&html, "/showback"), "{html}");
    // Finance has the journal signed in or with a token that may write; a read-only token could not open it.
    let fin = t.user("fin", "finance", vec![]).await;
    let (writes, reads) = (t.token(fin, false).await, t.token(fin, true).await);
    assert!(has(&s.get_as(&writes, "/").await.text().await.unwrap(), "/chargeback"));
    assert!(!has(&s.get_as(&reads, "/").await.text().await.unwrap(), "/chargeback"));
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
    let bad = bad.text().await.unwrap();
    assert!(bad.contains("must be a whole number from 1 to 1000"));
    let missing = s.get("/no-such-page").await;
    assert_eq!(missing.status(), 404);
    let missing = missing.text().await.unwrap();
    assert!(missing.contains("There is nothing at this address"));
    // A path whose id is not a number is a page that is not there, framed like any other (not a line of text).
    let not_an_id = s.get("/assets/abc").await;
    assert_eq!(not_an_id.status(), 404);
    let not_an_id = not_an_id.text().await.unwrap();
    assert!(not_an_id.contains("There is nothing at this address"), "{not_an_id}");
    // A record that is not there reads the same way.
    let gone = s.get("/assets/999999999").await;
    assert_eq!(gone.status(), 404);
    assert!(gone.text().await.unwrap().contains("<h1>Not found</h1>"), "one wording for 404");
    // A month given as `period` that is not one is named as `period`.
    let bad_month = s.get("/costs/lines?period=2026-13").await.text().await.unwrap();
    assert!(bad_month.contains("period: ") && !bad_month.contains("from: "), "{bad_month}");
    // An error page keeps the signed-in frame: who is signed in, sign-out, the navigation (an administrator's).
    for html in [&bad, &missing, &not_an_id] {
        assert!(html.contains(">Sign out</button>") && html.contains(crate::harness::ADMIN), "{html}");
        assert!(
            html.contains(r#"<a href="/assets">"#) && html.contains(r#"<a href="/admin/users">"#),
            "{html}"
        );
    }
    // Signed out, the same address sends to the sign-in page rather than framing an error for nobody.
    let anonymous = s.anonymous.get(s.url("/no-such-page")).send().await.unwrap();
    assert!(anonymous.status().is_redirection(), "{}", anonymous.status());
    assert!(anonymous.headers()["location"].to_str().unwrap().starts_with("/login?"));
    // Where no one needs to sign in, an error page is framed for nobody: the words, no name, no sign-out.
    let public = s.anonymous.get(s.url("/static/no-such-file.css")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    let public = public.text().await.unwrap();
    assert!(
        public.contains("<h1>Not found</h1>") && public.contains("There is nothing at this address"),
        "{public}"
    );
    assert!(!public.contains(">Sign out</button>"), "{public}");
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
            // The first month has no previous one: every cell of that column is "—", no amount to add.
            if foot.split("<th").nth(col).unwrap().contains(">—<") {
                assert_eq!(col, 4, "{period}");
                assert!(
                    body.split("<tr>").skip(1).all(|row| row.split("<td").nth(col).unwrap().contains(">—<"))
                );
                continue;
            }
            let sum: rust_decimal::Decimal =
                body.split("<tr>").skip(1).map(|row| cell(row.split("<td").nth(col).unwrap())).sum();
            let total = cell(foot.split("<th").nth(col).unwrap());
            assert_eq!(sum, total, "{period}, column {col}");
        }
        // The chart draws the amounts the table shows.
        let bars: Vec<rust_decimal::Decimal> = html
            .split("class=\"amount\">")
            .skip(1)
            .map(|t| t.split('<').next().unwrap().replace(',', "").parse().unwrap())
            .collect();
        let shown: Vec<rust_decimal::Decimal> = body
            .split("<tr>")
            .skip(1)
            .take(bars.len())
            .map(|row| cell(row.split("<td").nth(3).unwrap()))
            .collect();
        assert!(!bars.is_empty() && bars == shown, "{period}: {bars:?} {shown:?}");
    }
    // The overview's renewals say which notice dates have passed (the demo's date is 2026-11-22).
    let overview = s.get("/").await.text().await.unwrap();
    // Its tagging tile says what it counts (any tag) and gives the coverage of the keys the rules allocate by
    // and keep, below it (an asset-class tag on depreciation is a tag, not a cost centre).
    let tile =
        overview.split("Spend with any tag").nth(1).expect("the tagging tile").split("</a>").next().unwrap();
    for key in ["cost_centre ", "service ", "team ", "environment "] {
        assert!(tile.contains(key), "{key} in {tile}");
    }
    let pct = |text: &str| -> rust_decimal::Decimal { text.trim().trim_end_matches('%').parse().unwrap() };
    let value = tile.split("class=\"value\">").nth(1).unwrap().split('<').next().unwrap();
    let cost_centre = tile.split("cost_centre ").nth(1).unwrap().split('%').next().unwrap();
    assert!(pct(cost_centre) < pct(value), "depreciation's asset-class tag is no cost centre: {tile}");
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
    // Every one of them is listed, each a link to the asset.
    assert!(html.contains(&format!("Assets covered ({n})")) && !html.contains("The first"), "{html}");
    let listed = html.split("Assets covered").nth(1).unwrap().matches("<li><a href=\"/assets/").count();
    assert_eq!(listed, n);
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
    // By service, a cost centre's "(no service)" row is its own part alone, and its "why" explains that part.
    let by_service = t
        .app
        .showback(
            &crate::harness::sys(),
            &last,
            itemize_app::allocation::StatementBy::Service,
            itemize_app::allocation::Measure::Effective,
        )
        .await
        .unwrap();
    let own_rows: Vec<_> = by_service.rows.iter().filter(|r| r.key.starts_with("cc:")).collect();
    assert!(!own_rows.is_empty());
    for row in own_rows {
        let x = t.app.explain_part(&crate::harness::sys(), &last, &row.key, 10, true).await.unwrap();
        assert_eq!(x.total_effective, row.amount, "{}", row.key);
    }
    let page = s.get(&format!("/showback?period={last}&by=service")).await.text().await.unwrap();
    assert!(page.contains("own=true"), "the (no service) rows link their own part");
    let row = by_service.rows.iter().find(|r| r.key.starts_with("cc:")).unwrap();
    let html = s
        .get(&format!("/allocation/explain?period={last}&target={}&own=true", row.key))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("without the services it owns"), "{html}");
    // The data-quality page names what each asset misses, as words, and links to the asset.
    let gov = s.get("/assets/governance").await.text().await.unwrap();
    assert!(!gov.contains("[&#34;") && !gov.contains("/assets/—"), "{gov}");
    register_reports_show_what_the_use_cases_answer(&t, &s).await;
}

/// The register's report pages on the demo: each lists what its use case answers, names what it refers to, and
/// adds up exactly.
async fn register_reports_show_what_the_use_cases_answer(t: &TestApp, s: &crate::harness::Server) {
    let sys = crate::harness::sys();
    let body = |html: &str, n: usize| -> String {
        html.split("<tbody>").nth(n).unwrap().split("</tbody>").next().unwrap().to_string()
    };
    let rows = |html: &str, n: usize| body(html, n).matches("<tr>").count();
    // The text of column `col` (from 0) of each row of a table part (a body or a foot).
    let column = |part: &str, col: usize| -> Vec<String> {
        part.split("<tr>")
            .skip(1)
            .map(|r| {
                let cell = r.split("<td").nth(col + 1).unwrap();
                let inner = cell.split_once('>').unwrap().1.split("</td>").next().unwrap();
                inner.rsplit_once("\">").map_or(inner, |(_, t)| t).trim_end_matches("</a>").to_string()
            })
            .collect()
    };
    let money = |d: rust_decimal::Decimal| -> String {
        let text =
            d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero).to_string();
        let (int, frac) = text.split_once('.').map_or((text.as_str(), "00"), |(i, f)| (i, f));
        let digits: Vec<char> = int.trim_start_matches('-').chars().collect();
        let mut grouped = String::new();
        for (i, c) in digits.iter().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(*c);
        }
        format!("{}{grouped}.{frac:0<2}", if d.is_sign_negative() { "-" } else { "" })
    };
    // Leavers: every leaver the use case lists, each asset to recover linked, and the demo's unreturned laptops.
    let leavers = t.app.offboarding(&sys, None).await.unwrap();
    let html = s.get("/assets/offboarding").await.text().await.unwrap();
    assert_eq!(rows(&html, 1), leavers.len(), "{html}");
    let outstanding: Vec<_> = leavers.iter().flat_map(|o| o.outstanding.iter()).collect();
    assert!(!outstanding.is_empty(), "the demo has leavers with laptops to recover");
    assert_eq!(rows(&html, 2), outstanding.len());
    for i in &outstanding {
        assert!(
            body(&html, 2).contains(&format!("<a href=\"/assets/{}\">{}</a>", i.asset_id, i.tag)),
            "{}",
            i.tag
        );
    }
    // Overdue first, then open, then done: what needs chasing at the top.
    let rank = |s: &str| ["overdue", "open", "done"].iter().position(|x| *x == s).unwrap();
    assert!(leavers.windows(2).all(|w| rank(w[0].status) <= rank(w[1].status)), "{leavers:?}");
    assert_eq!(leavers[0].status, "overdue");
    let first = &leavers[0];
    assert!(body(&html, 1).contains(&format!("<a href=\"/people/{}\">", first.person_id)), "{html}");
    // Warranties and end of life over a year: the use case's assets, the soonest first, holders by name.
    for (path, expected) in [
        ("/assets/warranty-expiring?days=365", t.app.warranty_expiring(&sys, 365).await.unwrap()),
        ("/assets/end-of-life?days=365", t.app.end_of_life(&sys, 365).await.unwrap()),
    ] {
        let html = s.get(path).await.text().await.unwrap();
        assert!(!expected.is_empty(), "{path}: the demo has some");
        assert_eq!(rows(&html, 1), expected.len(), "{path}");
        let dates = column(&body(&html, 1), 4);
        let mut sorted = dates.clone();
        sorted.sort();
        assert_eq!(dates, sorted, "{path}: the soonest first");
        assert!(!body(&html, 1).contains("outside your cost centres"), "the admin sees every name");
        // Held by a person or a service, else placed: "at" a location.
        let held = column(&body(&html, 1), 6);
        for (a, h) in expected.iter().zip(&held) {
            let placed = a.custody.assignee_person_id.is_none() && a.custody.service_id.is_none();
            assert_eq!(placed, h.starts_with("at "), "{}: {h}", a.fields.tag);
        }
        assert!(html.contains("aria-current=\"page\">365</a>"), "{path}");
    }
    // A window out of range is refused with the parameter named, and changes nothing.
    let bad = s.get("/assets/warranty-expiring?days=lots").await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("`lots` is not a number of days"));
    // The refresh plan: a row per group, cost centres by name, each currency's budget as the use case totals it.
    let plan = t.app.refresh_plan(&sys, 24).await.unwrap();
    let html = s.get("/assets/refresh-plan?months=24").await.text().await.unwrap();
    assert!(!plan.groups.is_empty(), "the demo has hardware to refresh within two years");
    assert_eq!(rows(&html, 1), plan.groups.len());
    let foot = html.split("<tfoot>").nth(1).unwrap().split("</tfoot>").next().unwrap();
    assert!(!plan.total.is_empty(), "the demo's models have prices");
    for (cur, total) in &plan.total {
        let sum: rust_decimal::Decimal = plan
            .groups
            .iter()
            .filter(|g| &g.currency == cur)
            .filter_map(|g| g.budget.as_deref())
            .map(|b| b.parse::<rust_decimal::Decimal>().unwrap())
            .sum();
        assert_eq!(sum, total.parse::<rust_decimal::Decimal>().unwrap(), "{cur}");
        let line = foot.split("<tr>").find(|r| r.contains(&format!("<td>{cur}</td>"))).unwrap();
        assert_eq!(column(&format!("<tr>{line}"), 7), [money(sum)], "{cur}: {line}");
    }
    // And the whole budget in the reporting currency, each currency's total at its rate: the demo imports the
    // ECB's rates up to its today (2026-11-22, a Sunday: Friday's fixing).
    let r = plan.reporting_total.clone().expect("the demo has rates for its currencies");
    assert!(!r.rates.is_empty(), "the demo buys hardware in more than one currency");
    let converted: rust_decimal::Decimal = plan
        .total
        .iter()
        .map(|(cur, total)| {
            let rate = r
                .rates
                .iter()
                .find(|x| &x.0 == cur)
                .map_or(rust_decimal::Decimal::ONE, |x| x.1.parse().unwrap());
            total.parse::<rust_decimal::Decimal>().unwrap() * rate
        })
        .sum();
    assert_eq!(r.amount, money(converted).replace(',', ""), "{r:?}");
    assert!(
        r.rates
            .iter()
            .all(|x| x.2 <= jiff::civil::date(2026, 11, 22) && x.2 >= jiff::civil::date(2026, 11, 15))
    );
    // Each rate is named to six places at most (a cross rate has 28; the sum uses it whole).
    for (c, rate, on) in &r.rates {
        let shown = itemize_app::rates::rate_text(rate);
        assert!(shown.split('.').nth(1).is_none_or(|d| d.len() <= 6), "{shown}");
        assert!(html.contains(&format!("1 {c} = {shown} {} ({on})", r.currency)), "{c} {shown}");
    }
    let line = foot.split("<tr>").find(|l| l.contains("at the latest rates")).expect("a total row");
    assert_eq!(column(&format!("<tr>{line}"), 7), [money(converted)], "{line}");
    let count: usize = plan.groups.iter().map(|g| g.count).sum();
    assert!(html.contains(&format!("{count} hardware asset(s)")), "{html}");
    assert!(!body(&html, 1).contains(">cost centre "), "cost centres by name");
    // What is due already is counted apart; every group is priced in its assets' currency, at the price it has
    // whoever asks (a user limited to one cost centre sees the same price for the same group).
    let today = jiff::civil::date(2026, 11, 22);
    let mut backlog = 0;
    for g in &plan.groups {
        assert_eq!(g.asset_due.len(), g.asset_ids.len());
        assert_eq!(g.already_due, g.asset_due.iter().filter(|d| **d < today).count(), "{}", g.model);
        backlog += g.already_due;
        for id in &g.asset_ids {
            let a = t.app.get_asset(&sys, *id).await.unwrap();
            assert_eq!(a.fields.currency.code(), g.currency, "{} {}", g.model, a.fields.tag);
        }
    }
    assert!(backlog > 0 && backlog < count, "the demo has a backlog and a plan: {backlog} of {count}");
    assert!(html.contains(&format!("{backlog} of them are past it already")), "{html}");
    // A user limited to one cost centre gets its groups, priced from the purchases they may see: the latest of
    // the model in that currency among their cost centre's assets.
    let g = plan.groups.iter().find(|g| g.cost_centre_id.is_some() && g.count > 1).unwrap();
    let scoped =
        itemize_app::Actor { scope: Some([g.cost_centre_id.unwrap()].into_iter().collect()), ..sys.clone() };
    let theirs = t.app.refresh_plan(&scoped, 24).await.unwrap();
    assert!(!theirs.groups.is_empty());
    for mine in &theirs.groups {
        assert_eq!(mine.cost_centre_id, g.cost_centre_id);
        let same = plan
            .groups
            .iter()
            .find(|x| {
                (&x.model, x.cost_centre_id, &x.currency)
                    == (&mine.model, mine.cost_centre_id, &mine.currency)
            })
            .unwrap();
        assert_eq!(mine.asset_ids, same.asset_ids, "{}", mine.model);
        let params = itemize_app::ListParams::from_pairs([("model".to_string(), mine.model.clone())]);
        let seen = t.app.all_matching(&scoped, params, None).await.unwrap();
        let latest = seen
            .iter()
            .filter(|a| a.fields.currency.code() == mine.currency && a.fields.purchase_date.is_some())
            .filter_map(|a| a.fields.purchase_cost.map(|c| ((a.fields.purchase_date, a.id), c)))
            .max_by_key(|(k, _)| *k)
            .map(|(_, c)| c.to_string());
        assert_eq!(mine.unit_price, latest, "{}", mine.model);
    }
    // A group opens with exactly its assets listed.
    let href = body(&html, 1)
        .split("href=\"")
        .skip(1)
        .map(|h| h.split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&"))
        .find(|h| {
            h.starts_with("/assets/refresh-plan?")
                && h.contains(&format!("cost_centre_id={}", g.cost_centre_id.unwrap()))
                && h.contains(&format!("model={}", g.model.replace(' ', "+")))
                && h.contains(&format!("currency={}", g.currency))
        })
        .unwrap_or_else(|| panic!("a link to the group {}", g.model));
    let opened = s.get(&href).await.text().await.unwrap();
    let listed = body(&opened, 2);
    assert_eq!(rows(&opened, 2), g.count.min(500), "{href}");
    for id in g.asset_ids.iter().take(500) {
        assert!(listed.contains(&format!("href=\"/assets/{id}\"")), "{id} in {href}");
    }
    // Depreciation by cost centre over the demo's year: each month's total row is the sum of the use case's rows.
    let (from, to) = (jiff::civil::date(2025, 12, 1), jiff::civil::date(2026, 11, 1));
    let dep = t.app.depreciation_by_cost_centre(&sys, from, to).await.unwrap();
    let html = s.get("/assets/depreciation?from=2025-12&to=2026-11").await.text().await.unwrap();
    assert!(!dep.is_empty());
    assert_eq!(rows(&html, 1), dep.len());
    let foot = html.split("<tfoot>").nth(1).unwrap().split("</tfoot>").next().unwrap();
    let mut positive = false;
    for cur in dep.iter().map(|r| r.currency.clone()).collect::<std::collections::BTreeSet<_>>() {
        let line = foot.split("<tr>").find(|r| r.contains(&format!("<td>{cur}</td>"))).unwrap();
        for (i, m) in [(2, "2025-12"), (8, "2026-06"), (13, "2026-11")] {
            let sum: rust_decimal::Decimal = dep
                .iter()
                .filter(|r| r.currency == cur)
                .filter_map(|r| r.months.get(m))
                .map(|v| v.parse::<rust_decimal::Decimal>().unwrap())
                .sum();
            positive |= sum > rust_decimal::Decimal::ZERO;
            assert_eq!(column(&format!("<tr>{line}"), i), [money(sum)], "{cur} {m}: {line}");
        }
    }
    assert!(positive, "the demo's hardware depreciates");
    assert!(html.contains("Depreciation by cost centre, 2025-12 to 2026-11"));
    let bad = s.get("/assets/depreciation?from=2026-13").await;
    assert_eq!(bad.status(), 400);
    // Given one end only, the year from it or to it; the wrong way round, the refusal says so.
    let html = s.get("/assets/depreciation?from=2027-03").await.text().await.unwrap();
    assert!(
        html.contains("Depreciation by cost centre, 2027-03 to 2028-02") && html.contains("are projected")
    );
    let html = s.get("/assets/depreciation?to=2025-03").await.text().await.unwrap();
    assert!(
        html.contains("Depreciation by cost centre, 2024-04 to 2025-03") && !html.contains("are projected")
    );
    let bad = s.get("/assets/depreciation?from=2026-05&to=2026-02").await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("is 2026-02-01, before `from` (2026-05-01)"));
    // Overdue returns: what the use case lists, the longest overdue first.
    // The end-of-life and warranty lists are the soonest first, in the API as on their pages.
    let eol = t.app.end_of_life(&sys, 365).await.unwrap();
    assert!(eol.len() > 2, "the demo has assets reaching end of life");
    let dates: Vec<_> = eol.iter().map(itemize_app::asset_ops::eol).collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");
    let warranties = t.app.warranty_expiring(&sys, 365).await.unwrap();
    assert!(warranties.windows(2).all(|w| w[0].fields.warranty_end <= w[1].fields.warranty_end));
    let overdue = t.app.overdue_assets(&sys).await.unwrap();
    let html = s.get("/assets/overdue").await.text().await.unwrap();
    assert!(!overdue.is_empty(), "the demo has loans past their return date");
    assert_eq!(rows(&html, 1), overdue.len(), "{html}");
    let late: Vec<i64> = column(&body(&html, 1), 5).iter().map(|d| d.parse().unwrap()).collect();
    assert!(late.windows(2).all(|w| w[0] >= w[1]) && late.iter().all(|d| *d > 0), "{late:?}");
    // A scoped user's leavers are those of their cost centres: no one else's name or email.
    let leaver = t.app.get::<Person>(&sys, leavers[0].person_id).await.unwrap();
    let cc = leaver.fields.cost_centre_id.expect("the demo's people have cost centres");
    let scoped = itemize_app::Actor { scope: Some([i64::from(cc)].into_iter().collect()), ..sys.clone() };
    let theirs = t.app.offboarding(&scoped, None).await.unwrap();
    assert!(theirs.iter().any(|o| o.person_id == leavers[0].person_id));
    for o in &theirs {
        let p = t.app.get::<Person>(&sys, o.person_id).await.unwrap();
        assert_eq!(p.fields.cost_centre_id.map(i64::from), Some(i64::from(cc)), "{}", o.name);
    }
    assert!(theirs.len() < leavers.len(), "the demo's leavers are in more than one cost centre");
    // Asked for by id, a leaver of another cost centre is not theirs to see either.
    let other = leavers.iter().find(|o| !theirs.iter().any(|x| x.person_id == o.person_id)).unwrap();
    let asked = t.app.offboarding(&scoped, Some(other.person_id)).await.unwrap();
    assert!(asked.is_empty(), "{asked:?}");
}
