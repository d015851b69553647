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
