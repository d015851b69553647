//! The HTTP API under /api/v1, on both backends: status codes, the error shape, pagination, concurrency.

use crate::harness::seed_small;
use serde_json::{Value, json};

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("(no error code)")
}

fn detail_fields(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .map(|a| a.iter().map(|d| d["field"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

both!(create_read_update_with_etags, |t| {
    let s = t.serve().await;
    let r = s
        .client
        .post(s.url("/api/v1/cost-centres"))
        .json(&json!({"code": "CC-9", "name": "Data"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["currency"], "USD", "the organisation's reporting currency is the default");
    assert_eq!(created["version"], 1);
    let (status, body) = s.get_json(&location).await;
    assert_eq!((status, &body), (200, &created));

    // A stale If-Match gets 412 and overwrites nothing.
    let (status, _, body) = s.patch(&location, json!({"name": "Data & AI"}), Some("\"1-0\"")).await;
    assert_eq!((status, error_code(&body)), (412, "precondition_failed"));
    assert_eq!(s.get_json(&location).await.1["name"], "Data");
    // The current ETag succeeds and yields a new one; the old one is then stale.
    t.clock.set("2026-12-01T08:30:00Z".parse().unwrap());
    let (status, new_etag, body) = s.patch(&location, json!({"name": "Data & AI"}), Some(&etag)).await;
    assert_eq!((status, body["name"].as_str(), body["version"].as_i64()), (200, Some("Data & AI"), Some(2)));
    assert_eq!(
        (body["created_at"].as_str(), body["updated_at"].as_str()),
        (created["created_at"].as_str(), Some("2026-12-01T08:30:00Z"))
    );
    assert_ne!(new_etag.as_deref(), Some(etag.as_str()));
    let (status, _, _) = s.patch(&location, json!({"name": "Again"}), Some(&etag)).await;
    assert_eq!(status, 412);
    // Without If-Match the patch applies (last writer wins); null clears an optional field.
    let (_, _, top) = s.post("/api/v1/cost-centres", json!({"code": "CC-8", "name": "Top"})).await;
    let (status, _, body) = s.patch(&location, json!({"parent_id": top["id"]}), None).await;
    assert_eq!((status, body["parent_id"].clone()), (200, top["id"].clone()));
    let (status, _, body) = s.patch(&location, json!({"parent_id": null}), None).await;
    assert_eq!((status, body["parent_id"].clone()), (200, Value::Null));
    // Read-only fields are refused by name.
    let (status, _, body) = s.patch(&location, json!({"version": 7, "id": 3}), None).await;
    assert_eq!((status, detail_fields(&body)), (422, vec!["id".to_string(), "version".to_string()]));
});

both!(errors_have_one_shape_and_the_right_status, |t| {
    let (_, sub, _, person) = seed_small(&t).await;
    let s = t.serve().await;
    // Malformed JSON: 400 with where it broke.
    let r = s
        .client
        .post(s.url("/api/v1/people"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(error_code(&body), "malformed_json");
    assert!(body["error"]["details"][0]["problem"].as_str().unwrap().contains("line 1"));
    // Not JSON at all: 415.
    let r = s.client.post(s.url("/api/v1/people")).body("name=x").send().await.unwrap();
    assert_eq!(r.status(), 415);
    // Invalid fields: 422, every problem by field.
    let (status, _, body) = s
        .post(
            "/api/v1/people",
            json!({"employee_id": "E 2", "email": "nope", "status": "retired", "extra": 1}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (422, "validation_failed"));
    assert_eq!(detail_fields(&body), ["extra"], "unknown fields are named first");
    let (status, _, body) =
        s.post("/api/v1/people", json!({"employee_id": "E 2", "email": "nope", "status": "retired"})).await;
    assert_eq!(status, 422);
    assert_eq!(detail_fields(&body), ["employee_id", "name", "email", "status"]);
    let (status, _, body) = s.post("/api/v1/people", json!({"employee_id": 5})).await;
    assert_eq!((status, detail_fields(&body)), (422, vec!["employee_id".to_string()]));
    // References that do not exist, and hierarchy cycles.
    let (status, _, body) = s
        .post(
            "/api/v1/people",
            json!({"employee_id": "E2", "name": "B", "email": "b@corp.example", "cost_centre_id": 4242}),
        )
        .await;
    assert_eq!((status, detail_fields(&body)), (422, vec!["cost_centre_id".to_string()]));
    let (status, _, body) =
        s.patch(&format!("/api/v1/people/{person}"), json!({"manager_id": person}), None).await;
    assert_eq!((status, detail_fields(&body)), (422, vec!["manager_id".to_string()]));
    let top = s.get_json(&format!("/api/v1/cost-centres/{sub}")).await.1["parent_id"].clone();
    let (status, _, body) =
        s.patch(&format!("/api/v1/cost-centres/{top}"), json!({"parent_id": sub}), None).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["details"][0]["problem"].as_str().unwrap().contains("cycle"));
    // Uniqueness: 409 naming the field (case-insensitive codes and e-mails).
    let (status, _, body) = s
        .post("/api/v1/people", json!({"employee_id": "e1", "name": "Dup", "email": "x@corp.example"}))
        .await;
    assert_eq!(
        (status, error_code(&body), detail_fields(&body)),
        (409, "conflict", vec!["employee_id".to_string()])
    );
    let (status, _, body) = s
        .post("/api/v1/people", json!({"employee_id": "E3", "name": "Dup", "email": "ADA@corp.example"}))
        .await;
    assert_eq!((status, detail_fields(&body)), (409, vec!["email".to_string()]));
    // Unknown ids, unknown routes, wrong methods.
    for path in ["/api/v1/people/4242", "/api/v1/people/abc", "/api/v1/people/-1", "/api/v1/nothing"] {
        let (status, body) = s.get_json(path).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"), "{path}");
    }
    let r = s.client.delete(s.url(&format!("/api/v1/people/{person}"))).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(error_code(&r.json().await.unwrap()), "method_not_allowed");
    // Bad list parameters are refused, never silently adjusted.
    for q in [
        "limit=1001",
        "limit=0",
        "limit=ten",
        "colour=red",
        "sort=salary",
        "cursor=xyz",
        "cost_centre_id=abc",
        "archived=maybe",
    ] {
        let (status, body) = s.get_json(&format!("/api/v1/people?{q}")).await;
        assert_eq!((status, error_code(&body)), (400, "bad_request"), "{q}");
        assert!(!detail_fields(&body).is_empty(), "{q}");
    }
    // None of the refused requests changed anything.
    let (_, list) = s.get_json("/api/v1/people?limit=1000").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
});

both!(lists_paginate_filter_sort_and_search, |t| {
    let (_, sub, loc, _) = seed_small(&t).await;
    let s = t.serve().await;
    for n in 2..=30 {
        let (status, _, _) = s
            .post(
                "/api/v1/people",
                json!({"employee_id": format!("E{n}"), "name": format!("Name {:02}", 31 - n), "email": format!("p{n}@corp.example"),
                       "cost_centre_id": if n % 2 == 0 { Some(sub) } else { None }, "location_id": loc}),
            )
            .await;
        assert_eq!(status, 201);
    }
    for sort in ["name", "-name", "employee_id", "-id"] {
        let mut seen = Vec::new();
        let mut next: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &next {
                Some(c) => format!("/api/v1/people?limit=7&sort={sort}&cursor={c}"),
                None => format!("/api/v1/people?limit=7&sort={sort}"),
            };
            let (status, body) = s.get_json(&path).await;
            assert_eq!(status, 200, "{body}");
            pages += 1;
            for item in body["items"].as_array().unwrap() {
                seen.push(item.clone());
            }
            match body["next"].as_str() {
                Some(c) => next = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!((seen.len(), pages), (30, 5), "{sort}");
        let field = sort.trim_start_matches('-');
        let keys: Vec<String> = seen.iter().map(|i| i[field].to_string()).collect();
        let mut sorted = keys.clone();
        sorted.sort_by(|a, b| {
            if field == "id" { a.parse::<i64>().unwrap().cmp(&b.parse().unwrap()) } else { a.cmp(b) }
        });
        if sort.starts_with('-') {
            sorted.reverse();
        }
        assert_eq!(keys, sorted, "{sort}");
    }
    let (_, body) = s.get_json(&format!("/api/v1/people?cost_centre_id={sub}&limit=1000")).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 16);
    let (_, body) = s.get_json("/api/v1/people?q=NAME%2001").await;
    assert_eq!(body["items"][0]["employee_id"], "E30");
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    // A cursor from one sort order is refused under another.
    let (_, body) = s.get_json("/api/v1/people?limit=2&sort=name").await;
    let c = body["next"].as_str().unwrap();
    let (status, _) = s.get_json(&format!("/api/v1/people?sort=-name&cursor={c}")).await;
    assert_eq!(status, 400);
    // 1,000 is the largest page and is honoured in full.
    let (status, body) = s.get_json("/api/v1/people?limit=1000").await;
    assert_eq!(
        (status, body["items"].as_array().unwrap().len(), body["next"].clone()),
        (200, 30, Value::Null)
    );
});

both!(archive_hides_and_restore_returns, |t| {
    let (_, _, loc, _) = seed_small(&t).await;
    let s = t.serve().await;
    let path = format!("/api/v1/locations/{loc}");
    let etag = s.get(&path).await.headers()["etag"].to_str().unwrap().to_string();
    let r =
        s.client.post(s.url(&format!("{path}/archive"))).header("if-match", "\"1-99\"").send().await.unwrap();
    assert_eq!(r.status(), 412);
    let r = s.client.post(s.url(&format!("{path}/archive"))).header("if-match", &etag).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(body["archived_at"].is_string());
    assert_eq!(s.get_json("/api/v1/locations").await.1["items"].as_array().unwrap().len(), 0);
    assert_eq!(s.get_json("/api/v1/locations?archived=true").await.1["items"].as_array().unwrap().len(), 1);
    assert_eq!(s.get_json(&path).await.0, 200, "an archived record can still be read");
    let r = s.client.post(s.url(&format!("{path}/restore"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.get_json("/api/v1/locations").await.1["items"].as_array().unwrap().len(), 1);
});

both!(health_readiness_and_request_ids, |t| {
    let s = t.serve().await;
    assert_eq!(s.get_json("/healthz").await, (200, json!({"status": "ok"})));
    assert_eq!(s.get_json("/readyz").await, (200, json!({"status": "ready"})));
    // Health checks answer anyone; data does not.
    assert_eq!(s.anonymous.get(s.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(s.anonymous.get(s.url("/readyz")).send().await.unwrap().status(), 200);
    let r = s.anonymous.get(s.url("/api/v1/people")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["www-authenticate"].to_str().unwrap()), (401, "Bearer"));
    let r =
        s.client.get(s.url("/api/v1/vendors")).header("x-request-id", "req-abc-123").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "req-abc-123");
    let r = s.get("/api/v1/vendors").await;
    assert_eq!(
        r.headers()["x-request-id"].to_str().unwrap().len(),
        36,
        "a UUID is assigned when none is sent"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    // A database whose schema is behind the binary is not ready.
    crate::contract::raw(&t.url, "DELETE FROM itemize_migrations").await;
    let (status, body) = s.get_json("/readyz").await;
    assert_eq!((status, error_code(&body)), (503, "not_ready"));
});

both!(vendor_spellings_identify_one_vendor, |t| {
    let s = t.serve().await;
    let (status, _, aws) =
        s.post("/api/v1/vendors", json!({"name": "Amazon Web Services", "aliases": ["AWS", "aws"]})).await;
    assert_eq!((status, aws["aliases"].clone()), (201, json!(["AWS"])));
    let (status, _, body) = s.post("/api/v1/vendors", json!({"name": "Awesome", "aliases": ["Aws"]})).await;
    assert_eq!((status, detail_fields(&body)), (422, vec!["aliases[0]".to_string()]));
    let (status, _, body) = s.post("/api/v1/vendors", json!({"name": "aws"})).await;
    assert_eq!((status, detail_fields(&body)), (422, vec!["name".to_string()]));
    let (status, _, _) =
        s.patch(&format!("/api/v1/vendors/{}", aws["id"]), json!({"aliases": ["AWS", "Amazon"]}), None).await;
    assert_eq!(status, 200, "a vendor's own spellings are no conflict");
});

/// Reports and actions refuse a parameter they do not know, naming it and the ones they know, as the lists do:
/// `dayz=30` must not answer the default window as though it were understood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_refuse_unknown_parameters() {
    let t = crate::harness::TestApp::sqlite().await;
    let s = t.serve().await;
    // (path without the stray parameter, the stray parameter, a parameter the endpoint knows)
    let cases = [
        ("/api/v1/assets/overdue", "days", None),
        ("/api/v1/assets/offboarding", "person", Some("person_id")),
        ("/api/v1/assets/warranty-expiring", "dayz", Some("days")),
        ("/api/v1/assets/end-of-life?days=30", "window", Some("days")),
        ("/api/v1/assets/refresh-plan", "month", Some("months")),
        ("/api/v1/assets/depreciation?from=2026-01&to=2026-03", "cost_centre", Some("from")),
        ("/api/v1/assets/governance", "class", None),
        ("/api/v1/contracts/renewals", "day", Some("days")),
        ("/api/v1/contracts", "state", Some("archived")),
        ("/api/v1/audits", "location_id", None),
        ("/api/v1/allocation/rules", "version", None),
        ("/api/v1/allocation/runs", "month", Some("period")),
        ("/api/v1/allocation/adjustments", "period", Some("posted")),
        ("/api/v1/allocation/showback?period=2026-01", "measures", Some("measure")),
        ("/api/v1/allocation/explain?period=2026-01&target=unallocated", "top", Some("limit")),
        ("/api/v1/allocation/hygiene?period=2026-01", "limit", Some("top")),
        ("/api/v1/allocation/journal?period=2026-01", "as", Some("format")),
        ("/api/v1/cost/imports", "state", Some("status")),
        ("/api/v1/cost/export?period=2026-01", "fmt", Some("format")),
        // Reads of one record, and lists without filters, take none.
        ("/api/v1/me", "verbose", None),
        ("/api/v1/users", "role", None),
        ("/api/v1/users/1", "fields", None),
        ("/api/v1/tokens", "user_id", None),
        ("/api/v1/people/1", "fields", None),
        ("/api/v1/assets/1", "fields", None),
        ("/api/v1/assets/1/history", "limit", None),
        ("/api/v1/assets/1/relations", "kind", None),
        ("/api/v1/assets/1/impact", "depth", None),
        ("/api/v1/assets/1/tco", "at", None),
        ("/api/v1/assets/1/resource-cost", "period", None),
        ("/api/v1/contracts/1", "fields", None),
        ("/api/v1/audits/1", "fields", None),
        ("/api/v1/cost/imports/1", "fields", None),
        ("/api/v1/allocation/rules/1", "format", None),
    ];
    // Every stray parameter is named, not only the first.
    let (status, body) = s.get_json("/api/v1/assets/overdue?foo=1&bar=2").await;
    assert_eq!((status, detail_fields(&body)), (400, vec!["bar".to_string(), "foo".to_string()]), "{body}");
    // An id that is not a number is a record that is not there, in the API's own shape.
    let (status, body) = s.get_json("/api/v1/allocation/rules/abc").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"), "{body}");
    for (path, stray, known) in cases {
        let sep = if path.contains('?') { '&' } else { '?' };
        let (status, body) = s.get_json(&format!("{path}{sep}{stray}=1")).await;
        assert_eq!((status, error_code(&body)), (400, "bad_request"), "{path} with {stray}: {body}");
        assert_eq!(detail_fields(&body), [stray], "{path}: the stray parameter is named");
        let problem = body["error"]["details"][0]["problem"].as_str().unwrap();
        match known {
            Some(k) => assert!(problem.contains(k), "{path}: the known ones are listed: {problem}"),
            None => assert!(problem.contains("takes no parameters"), "{path}: {problem}"),
        }
        // Without it the request is not refused for a parameter (some answer that the month has no costs).
        let (status, body) = s.get_json(path).await;
        assert!(status != 400 || detail_fields(&body).is_empty(), "{path} alone: {status} {body}");
    }
}
