//! The authorization matrix: every route × every role (and a scoped user inside and outside their scope,
//! a read-only token, and nobody), with the expected outcome written down. A route without an entry, or an
//! entry without a route, fails the test.

use crate::harness::sys;
use itemize_core::refdata::{CostCentre, Location, Person, Service, Vendor};
use serde_json::json;

/// Columns: admin, finance, asset-manager, viewer, scoped user on a record in scope, the same user on a record
/// outside it, an admin's read-only token, nobody, and the admin signed in with a session cookie (sending the
/// CSRF token on writes) instead of a token.
/// A = allowed (the request reaches the use case: 2xx, or 400/409/412/415/422 about the request itself),
/// F = 403, N = 404 (a scoped user is not told the record exists), U = 401, R = redirect to the sign-in page.
const MATRIX: &[(&str, &str, &str)] = &[
    ("GET", "/healthz", "AAAAAAAAA"),
    ("GET", "/readyz", "AAAAAAAAA"),
    ("GET", "/static/itemize.css", "AAAAAAAAA"),
    ("GET", "/login", "AAAAAAAAA"),
    // Without the sign-in form's own cookie, a posted form is refused whoever sends it.
    ("POST", "/login", "FFFFFFFFF"),
    ("POST", "/logout", "FFFFFFFRF"),
    ("GET", "/", "AAAAAAARA"),
    ("GET", "/cost-centres", "AAAAAAARA"),
    ("GET", "/services", "AAAAAAARA"),
    ("GET", "/people", "AAAAAAARA"),
    ("GET", "/locations", "AAAAAAARA"),
    ("GET", "/vendors", "AAAAAAARA"),
    ("GET", "/static/itemize.js", "AAAAAAAAA"),
    // Reference-data forms: an empty form for anyone; a record as the API shows it; changes by a browser only.
    ("GET", "/cost-centres/new", "AAAAAAARA"),
    ("POST", "/cost-centres/new", "FFFFFFFRA"),
    ("GET", "/cost-centres/{id}", "AAAAANARA"),
    ("POST", "/cost-centres/{id}", "FFFFFFFRA"),
    ("POST", "/cost-centres/{id}/archive", "FFFFFFFRA"),
    ("POST", "/cost-centres/{id}/restore", "FFFFFFFRA"),
    ("GET", "/services/new", "AAAAAAARA"),
    ("POST", "/services/new", "FFFFFFFRA"),
    ("GET", "/services/{id}", "AAAAANARA"),
    ("POST", "/services/{id}", "FFFFFFFRA"),
    ("POST", "/services/{id}/archive", "FFFFFFFRA"),
    ("POST", "/services/{id}/restore", "FFFFFFFRA"),
    ("GET", "/people/new", "AAAAAAARA"),
    ("POST", "/people/new", "FFFFFFFRA"),
    ("GET", "/people/{id}", "AAAAANARA"),
    ("POST", "/people/{id}", "FFFFFFFRA"),
    ("POST", "/people/{id}/archive", "FFFFFFFRA"),
    ("POST", "/people/{id}/restore", "FFFFFFFRA"),
    ("GET", "/locations/new", "AAAAAAARA"),
    ("POST", "/locations/new", "FFFFFFFRA"),
    ("GET", "/locations/{id}", "AAAAAAARA"),
    ("POST", "/locations/{id}", "FFFFFFFRA"),
    ("POST", "/locations/{id}/archive", "FFFFFFFRA"),
    ("POST", "/locations/{id}/restore", "FFFFFFFRA"),
    ("GET", "/vendors/new", "AAAAAAARA"),
    ("POST", "/vendors/new", "FFFFFFFRA"),
    ("GET", "/vendors/{id}", "AAAAAAARA"),
    ("POST", "/vendors/{id}", "FFFFFFFRA"),
    ("POST", "/vendors/{id}/archive", "FFFFFFFRA"),
    ("POST", "/vendors/{id}/restore", "FFFFFFFRA"),
    // Pages read through the same use cases as the API, so they answer as the API does. Page forms need a
    // signed-in browser's CSRF token, which API tokens never have: they are refused before anything else.
    ("GET", "/costs", "AAAAAAARA"),
    ("GET", "/costs/lines", "AAAAAAARA"),
    ("GET", "/showback", "AAAAAAARA"),
    ("GET", "/chargeback", "AAAAAAARA"),
    ("POST", "/chargeback/close", "FFFFFFFRA"),
    ("GET", "/allocation/explain", "AAAAAAARA"),
    ("GET", "/allocation/rules", "AAAAAAARA"),
    ("GET", "/allocation/rules/{id}", "AAAAAAARA"),
    ("POST", "/allocation/rules/preview", "FFFFFFFRA"),
    ("POST", "/allocation/rules/apply", "FFFFFFFRA"),
    ("GET", "/imports", "AAAAFFARA"),
    ("POST", "/imports", "FFFFFFFRA"),
    ("GET", "/imports/{id}", "AAAAFFARA"),
    ("GET", "/imports/{id}/quarantine.csv", "NNNNFFNRN"),
    ("GET", "/assets", "AAAAAAARA"),
    ("GET", "/assets/governance", "AAAAAAARA"),
    ("GET", "/assets/labels", "AAAAAAARA"),
    ("GET", "/assets/overdue", "AAAAAAARA"),
    ("GET", "/assets/offboarding", "AAAAAAARA"),
    ("GET", "/assets/warranty-expiring", "AAAAAAARA"),
    ("GET", "/assets/end-of-life", "AAAAAAARA"),
    ("GET", "/assets/refresh-plan", "AAAAAAARA"),
    ("GET", "/assets/depreciation", "AAAAAAARA"),
    ("GET", "/assets/{id}", "AAAAANARA"),
    ("POST", "/assets/{id}/transition", "FFFFFFFRA"),
    ("POST", "/assets/{id}/check-out", "FFFFFFFRA"),
    ("POST", "/assets/{id}/check-in", "FFFFFFFRA"),
    ("GET", "/contracts", "AAAAAAARA"),
    ("GET", "/contracts/renewals", "AAAAAAARA"),
    ("GET", "/contracts/{id}", "AAAAANARA"),
    ("GET", "/contracts/new", "AAAFAAFRA"),
    ("POST", "/contracts/new", "FFFFFFFRA"),
    ("GET", "/contracts/{id}/edit", "AAAFANFRA"),
    ("POST", "/contracts/{id}/edit", "FFFFFFFRA"),
    ("POST", "/contracts/{id}/archive", "FFFFFFFRA"),
    // The new-asset and import forms are offered to whoever may register assets (an import: unscoped only).
    ("GET", "/assets/new", "AFAFFFFRA"),
    ("POST", "/assets/new", "FFFFFFFRA"),
    ("GET", "/assets/import", "AFAFFFFRA"),
    ("POST", "/assets/import", "FFFFFFFRA"),
    ("GET", "/assets/{id}/edit", "AAAAANARA"),
    ("POST", "/assets/{id}/edit", "FFFFFFFRA"),
    ("GET", "/audits", "AAAAAAARA"),
    ("POST", "/audits", "FFFFFFFRA"),
    ("GET", "/audits/{id}", "AAAAAAARA"),
    ("POST", "/audits/{id}/scans", "FFFFFFFRA"),
    ("POST", "/audits/{id}/close", "FFFFFFFRA"),
    ("GET", "/admin/users", "AFFFFFARA"),
    ("POST", "/admin/users", "FFFFFFFRA"),
    ("GET", "/admin/users/{id}", "AFFFFFARA"),
    ("POST", "/admin/users/{id}", "FFFFFFFRA"),
    ("GET", "/admin/tokens", "AAAAAAARA"),
    ("POST", "/admin/tokens", "FFFFFFFRA"),
    ("POST", "/admin/tokens/{id}/revoke", "FFFFFFFRA"),
    ("GET", "/admin/audit", "AFFFFFARA"),
    ("POST", "/api/v1/session", "AAAAAAAAA"),
    ("DELETE", "/api/v1/session", "AAAAAAAUA"),
    ("GET", "/api/v1/me", "AAAAAAAUA"),
    ("GET", "/api/v1/users", "AFFFFFAUA"),
    ("POST", "/api/v1/users", "AFFFFFFUA"),
    ("GET", "/api/v1/users/{id}", "AFFFFFAUA"),
    ("PATCH", "/api/v1/users/{id}", "AFFFFFFUA"),
    // API tokens never mint tokens (sign in to create one); every actor here holds a token.
    ("GET", "/api/v1/tokens", "AAAAAAAUA"),
    ("POST", "/api/v1/tokens", "FFFFFFFUA"),
    ("DELETE", "/api/v1/tokens/{id}", "ANNNNNFUA"),
    ("GET", "/api/v1/audit", "AFFFFFAUA"),
    // The cost ledger as imported is the whole organisation's: scoped users see their costs through allocation.
    ("GET", "/api/v1/cost/imports", "AAAAFFAUA"),
    ("POST", "/api/v1/cost/imports", "AAFFFFFUA"),
    ("GET", "/api/v1/cost/imports/{id}", "AAAAFFAUA"),
    ("GET", "/api/v1/cost/imports/{id}/quarantine", "NNNNFFNUN"),
    ("GET", "/api/v1/cost/totals", "AAAAFFAUA"),
    ("POST", "/api/v1/cost/rates", "AAFFFFFUA"),
    ("GET", "/api/v1/cost/export", "AAAAFFAUA"),
    // Allocation results are readable by every role; a scoped user sees only their cost centres in them.
    // Rules, runs, metrics and closing are finance's (and an administrator's), never a scoped user's.
    ("GET", "/api/v1/allocation/rules", "AAAAAAAUA"),
    ("POST", "/api/v1/allocation/rules", "AAFFFFFUA"),
    ("GET", "/api/v1/allocation/rules/{id}", "AAAAAAAUA"),
    ("POST", "/api/v1/allocation/rules/validate", "AAFFFFFUA"),
    ("POST", "/api/v1/allocation/rules/preview", "AAFFFFFUA"),
    ("GET", "/api/v1/allocation/runs", "AAAAFFAUA"),
    ("POST", "/api/v1/allocation/runs", "AAFFFFFUA"),
    ("POST", "/api/v1/allocation/metrics", "AAFFFFFUA"),
    ("GET", "/api/v1/allocation/showback", "AAAAAAAUA"),
    ("GET", "/api/v1/allocation/explain", "AAAAAAAUA"),
    ("POST", "/api/v1/allocation/close", "AAFFFFFUA"),
    ("GET", "/api/v1/allocation/journal", "AAFFFFFUA"),
    ("GET", "/api/v1/allocation/cube", "AAAAAAAUA"),
    // Tag hygiene reads the ledger itself, which scoped users do not see.
    ("GET", "/api/v1/allocation/hygiene", "AAAAFFAUA"),
    ("POST", "/api/v1/allocation/restate", "AAFFFFFUA"),
    ("GET", "/api/v1/allocation/adjustments", "AAFFFFFUA"),
    // The asset register: everyone reads; asset managers and administrators write; a scoped user sees the
    // assets of their cost centres only. Contracts are finance's too. Custom fields are an administrator's.
    ("GET", "/api/v1/assets", "AAAAAAAUA"),
    ("POST", "/api/v1/assets", "AFAFFFFUA"),
    ("GET", "/api/v1/assets/lookup", "AAAAAAAUA"),
    ("GET", "/api/v1/assets/overdue", "AAAAAAAUA"),
    ("GET", "/api/v1/assets/offboarding", "AAAAAAAUA"),
    ("GET", "/api/v1/assets/warranty-expiring", "AAAAAAAUA"),
    ("GET", "/api/v1/assets/end-of-life", "AAAAAAAUA"),
    ("GET", "/api/v1/assets/refresh-plan", "AAAAAAAUA"),
    ("GET", "/api/v1/assets/depreciation", "AAAAAAAUA"),
    // Posting depreciation writes the cost ledger: who may import cost may post it.
    ("POST", "/api/v1/assets/depreciation/post", "AAFFFFFUA"),
    ("GET", "/api/v1/assets/governance", "AAAAAAAUA"),
    ("GET", "/api/v1/assets/settings", "AAAAAAAUA"),
    ("PUT", "/api/v1/assets/settings", "AFFFFFFUA"),
    ("GET", "/api/v1/assets/export", "AAAAAAAUA"),
    ("GET", "/api/v1/assets/labels", "AAAAAAAUA"),
    ("POST", "/api/v1/assets/import", "AFAFFFFUA"),
    ("GET", "/api/v1/assets/{id}", "AAAAANAUA"),
    ("PATCH", "/api/v1/assets/{id}", "AFAFFFFUA"),
    ("POST", "/api/v1/assets/{id}/transition", "AFAFFFFUA"),
    ("POST", "/api/v1/assets/{id}/check-out", "AFAFFFFUA"),
    ("POST", "/api/v1/assets/{id}/check-in", "AFAFFFFUA"),
    ("GET", "/api/v1/assets/{id}/history", "AAAAANAUA"),
    ("GET", "/api/v1/assets/{id}/relations", "AAAAANAUA"),
    ("POST", "/api/v1/assets/{id}/relations", "AFAFFFFUA"),
    // (a relationship that does not exist: allowed callers learn so, the others are refused first)
    ("POST", "/api/v1/assets/{id}/relations/{rid}/end", "NFNFFFFUN"),
    ("GET", "/api/v1/assets/{id}/impact", "AAAAANAUA"),
    ("GET", "/api/v1/assets/{id}/depreciation", "AAAAANAUA"),
    ("GET", "/api/v1/assets/{id}/tco", "AAAAANAUA"),
    // A cloud asset's ledger cost: the asset's scope first, then the ledger's (scoped users see no ledger).
    ("GET", "/api/v1/assets/{id}/resource-cost", "AAAAFNAUA"),
    ("POST", "/api/v1/assets/{id}/costs", "AFAFFFFUA"),
    ("GET", "/api/v1/contracts", "AAAAAAAUA"),
    ("POST", "/api/v1/contracts", "AAAFAAFUA"),
    ("GET", "/api/v1/contracts/renewals", "AAAAAAAUA"),
    ("GET", "/api/v1/contracts/{id}", "AAAAANAUA"),
    ("PATCH", "/api/v1/contracts/{id}", "AAAFANFUA"),
    ("POST", "/api/v1/contracts/{id}/archive", "AAAFANFUA"),
    ("POST", "/api/v1/contracts/{id}/restore", "AAAFANFUA"),
    ("GET", "/api/v1/audits", "AAAAAAAUA"),
    ("POST", "/api/v1/audits", "AFAFFFFUA"),
    ("GET", "/api/v1/audits/{id}", "AAAAAAAUA"),
    ("POST", "/api/v1/audits/{id}/scans", "AFAFFFFUA"),
    ("POST", "/api/v1/audits/{id}/close", "AFAFFFFUA"),
    ("GET", "/api/v1/cost-centres", "AAAAAAAUA"),
    ("POST", "/api/v1/cost-centres", "AAFFAAFUA"),
    ("GET", "/api/v1/cost-centres/{id}", "AAAAANAUA"),
    ("PATCH", "/api/v1/cost-centres/{id}", "AAFFANFUA"),
    ("POST", "/api/v1/cost-centres/{id}/archive", "AAFFANFUA"),
    ("POST", "/api/v1/cost-centres/{id}/restore", "AAFFANFUA"),
    ("GET", "/api/v1/services", "AAAAAAAUA"),
    ("POST", "/api/v1/services", "AAFFAAFUA"),
    ("GET", "/api/v1/services/{id}", "AAAAANAUA"),
    ("PATCH", "/api/v1/services/{id}", "AAFFANFUA"),
    ("POST", "/api/v1/services/{id}/archive", "AAFFANFUA"),
    ("POST", "/api/v1/services/{id}/restore", "AAFFANFUA"),
    ("GET", "/api/v1/people", "AAAAAAAUA"),
    ("POST", "/api/v1/people", "AFFFFFFUA"),
    ("GET", "/api/v1/people/{id}", "AAAAANAUA"),
    ("PATCH", "/api/v1/people/{id}", "AFFFFFFUA"),
    ("POST", "/api/v1/people/{id}/archive", "AFFFFFFUA"),
    ("POST", "/api/v1/people/{id}/restore", "AFFFFFFUA"),
    ("GET", "/api/v1/locations", "AAAAAAAUA"),
    ("POST", "/api/v1/locations", "AFAFFFFUA"),
    ("GET", "/api/v1/locations/{id}", "AAAAAAAUA"),
    ("PATCH", "/api/v1/locations/{id}", "AFAFFFFUA"),
    ("POST", "/api/v1/locations/{id}/archive", "AFAFFFFUA"),
    ("POST", "/api/v1/locations/{id}/restore", "AFAFFFFUA"),
    ("GET", "/api/v1/vendors", "AAAAAAAUA"),
    ("POST", "/api/v1/vendors", "AAAFAAFUA"),
    ("GET", "/api/v1/vendors/{id}", "AAAAAAAUA"),
    ("PATCH", "/api/v1/vendors/{id}", "AAAFAAFUA"),
    ("POST", "/api/v1/vendors/{id}/archive", "AAAFAAFUA"),
    ("POST", "/api/v1/vendors/{id}/restore", "AAAFAAFUA"),
];

const ACTORS: [&str; 8] =
    ["admin", "finance", "asset-manager", "viewer", "scoped(in)", "scoped(out)", "read-only token", "nobody"];

fn outcome(status: u16, location: Option<&str>) -> char {
    match status {
        401 => 'U',
        403 => 'F',
        404 => 'N',
        303 if location.is_some_and(|l| l.starts_with("/login")) => 'R',
        // A page form that did its work sends the browser on to the result.
        303 => 'A',
        200..=299 | 400 | 409 | 412 | 415 | 422 | 429 => 'A',
        other => panic!("unexpected status {other}"),
    }
}

both!(every_route_for_every_role, |t| {
    // An organisation with two branches: the scoped user owns CC-2 (under CC-1) and not CC-3.
    let cc1 =
        t.app.create::<CostCentre>(&sys(), json!({"code": "CC-1", "name": "Group"})).await.unwrap().id.get();
    let cc2 = t
        .app
        .create::<CostCentre>(&sys(), json!({"code": "CC-2", "name": "Mine", "parent_id": cc1}))
        .await
        .unwrap()
        .id
        .get();
    let cc3 =
        t.app.create::<CostCentre>(&sys(), json!({"code": "CC-3", "name": "Theirs"})).await.unwrap().id.get();
    let svc = |code: &str, cc: i64| json!({"code": code, "name": code, "owner_cost_centre_id": cc, "criticality": "low"});
    let s_in = t.app.create::<Service>(&sys(), svc("S-IN", cc2)).await.unwrap().id.get();
    let s_out = t.app.create::<Service>(&sys(), svc("S-OUT", cc3)).await.unwrap().id.get();
    let person = |id: &str, cc: i64| json!({"employee_id": id, "name": id, "email": format!("{id}@corp.example"), "cost_centre_id": cc});
    let p_in = t.app.create::<Person>(&sys(), person("E-IN", cc2)).await.unwrap().id.get();
    let p_out = t.app.create::<Person>(&sys(), person("E-OUT", cc3)).await.unwrap().id.get();
    let loc = t
        .app
        .create::<Location>(&sys(), json!({"code": "LON", "name": "London", "country": "GB"}))
        .await
        .unwrap()
        .id
        .get();
    let ven = t.app.create::<Vendor>(&sys(), json!({"name": "Acme"})).await.unwrap().id.get();

    let s = t.serve().await;
    let admin = t.app.find_user(&sys(), crate::harness::ADMIN).await.unwrap().id;
    let mut tokens = vec![s.token.clone()];
    for (name, role, scope) in [
        ("fin", "finance", vec![]),
        ("am", "asset-manager", vec![]),
        ("view", "viewer", vec![]),
        ("scoped", "finance", vec![cc2]),
    ] {
        let id = t.user(name, role, scope).await;
        tokens.push(t.token(id, false).await);
    }
    let scoped = tokens[4].clone();
    tokens.insert(5, scoped);
    tokens.push(t.token(admin, true).await);
    let victim = t.app.create_token(&sys(), Some(admin), "to revoke", false, None).await.unwrap().view.id;
    let viewer_id = t.app.find_user(&sys(), "view").await.unwrap().id;
    let import_id = t.app.queue_cost_import(&sys(), "queued.csv", false).await.unwrap().id;
    let rules_id =
        t.app.save_rule_set(&sys(), "name = \"empty\"\neffective_from = \"2026-01\"\n").await.unwrap().id;
    let asset =
        |tag: &str, cc: i64| json!({"tag": tag, "name": tag, "class": "laptop", "cost_centre_id": cc});
    let a_in = t.app.create_asset(&sys(), asset("A-IN", cc2)).await.unwrap().id;
    let a_out = t.app.create_asset(&sys(), asset("A-OUT", cc3)).await.unwrap().id;
    let contract = |n: &str, cc: i64| {
        json!({"number": n, "name": n, "kind": "maintenance", "value": "100",
        "start_date": "2026-01-01", "end_date": "2026-12-31", "cost_centre_id": cc})
    };
    let c_in = t.app.create_contract(&sys(), contract("C-IN", cc2)).await.unwrap().id;
    let c_out = t.app.create_contract(&sys(), contract("C-OUT", cc3)).await.unwrap().id;
    let audit_id = t.app.start_audit(&sys(), loc).await.unwrap().id;

    // The routes the server has are exactly the routes this matrix speaks of.
    let mut declared: Vec<(String, String)> =
        itemize_web::route_table().into_iter().map(|(m, p)| (m.to_string(), p)).collect();
    let mut expected: Vec<(String, String)> =
        MATRIX.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    declared.sort();
    expected.sort();
    assert_eq!(
        declared, expected,
        "every route needs an entry in the authorization matrix, and every entry a route"
    );

    let mut session = admin_session(&s).await;
    let mut failures = Vec::new();
    for (method, template, cells) in MATRIX {
        for (col, want) in cells.chars().enumerate() {
            let out = col == 5;
            let id = |inside: i64, outside: i64| if out { outside } else { inside };
            let concrete = if template.contains("{id}") {
                // /api/v1/<kind>/{id}, or a page's /<kind>/{id}
                let segment = if template.starts_with("/api/") {
                    3
                } else if template.starts_with("/admin/") {
                    2
                } else {
                    1
                };
                let id = match template.split('/').nth(segment).unwrap_or_default() {
                    "cost-centres" => id(cc2, cc3),
                    "services" => id(s_in, s_out),
                    "people" => id(p_in, p_out),
                    "locations" => loc,
                    "vendors" => ven,
                    "users" => viewer_id,
                    "tokens" => victim,
                    "cost" | "imports" => import_id,
                    "allocation" => rules_id,
                    "assets" => id(a_in, a_out),
                    "contracts" => id(c_in, c_out),
                    "audits" => audit_id,
                    other => panic!("no id for {other}"),
                };
                template.replace("{id}", &id.to_string()).replace("{rid}", "999999")
            } else {
                template.to_string()
            };
            let mut req = s.anonymous.request(method.parse().unwrap(), s.url(&concrete));
            if col < 7 {
                req = req.header("authorization", format!("Bearer {}", tokens[col]));
            }
            if col == 8 {
                req = req.header("cookie", &session.0).header("x-csrf-token", &session.1);
            }
            req = match (*method, concrete.as_str()) {
                ("POST", "/login") | ("POST", "/logout") => {
                    req.form(&[("csrf", "x"), ("username", "u"), ("password", "p")])
                }
                ("POST", p) if p.ends_with("/archive") || p.ends_with("/restore") => req,
                ("POST" | "PATCH" | "PUT", _) => req.json(&json!({})),
                _ => req,
            };
            let r = req.send().await.unwrap();
            if col == 8 && (*method, *template) == ("DELETE", "/api/v1/session") {
                session = admin_session(&s).await; // that request signed the session out
            }
            let got = outcome(r.status().as_u16(), r.headers().get("location").and_then(|l| l.to_str().ok()));
            if got != want {
                failures.push(format!(
                    "{method} {concrete} as {}: expected {want}, got {got} ({})",
                    ACTORS[col],
                    r.status()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "authorization matrix mismatches:\n{}", failures.join("\n"));

    // Methods a route does not declare are refused as such, not served by accident.
    for (_, path) in itemize_web::route_table() {
        let concrete = path.replace("{id}", &loc.to_string());
        for m in ["GET", "POST", "PATCH", "PUT", "DELETE"] {
            if MATRIX.iter().any(|(mm, p, _)| *mm == m && *p == path) {
                continue;
            }
            let r = s.client.request(m.parse().unwrap(), s.url(&concrete)).send().await.unwrap();
            assert_eq!(r.status(), 405, "{m} {concrete} answers although the matrix does not list it");
        }
    }
});

/// Signs the test admin in; returns the session cookie and its CSRF token.
async fn admin_session(s: &crate::harness::Server) -> (String, String) {
    let r = s
        .anonymous
        .post(s.url("/api/v1/session"))
        .json(&json!({"username": crate::harness::ADMIN, "password": crate::harness::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let body: serde_json::Value = r.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_string())
}
