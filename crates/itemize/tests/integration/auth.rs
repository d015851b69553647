//! Accounts and access: sign-in, sessions, CSRF, fixation, back-off, tokens, scopes (IDOR), the audit log.

use crate::harness::{PASSWORD, TestApp, sys};
use itemize_core::Clock;
use itemize_core::refdata::{CostCentre, Person};
use jiff::SignedDuration;
use serde_json::{Value, json};

/// Signs in through the API; returns the session cookie (`name=value`) and the CSRF token.
async fn sign_in(
    s: &crate::harness::Server,
    user: &str,
    password: &str,
) -> Result<(String, String), (u16, Value)> {
    let r = s
        .anonymous
        .post(s.url("/api/v1/session"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status != 200 {
        let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        let mut body: Value = r.json().await.unwrap();
        body["retry_after"] = json!(retry);
        return Err((status, body));
    }
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain-HTTP cookies are not Secure: {cookie}");
    let body: Value = r.json().await.unwrap();
    Ok((cookie.split(';').next().unwrap().to_string(), body["csrf_token"].as_str().unwrap().to_string()))
}

async fn status_with_cookie(s: &crate::harness::Server, path: &str, cookie: &str) -> u16 {
    s.anonymous.get(s.url(path)).header("cookie", cookie).send().await.unwrap().status().as_u16()
}

both!(csrf_guards_cookie_authenticated_writes, |t| {
    let s = t.serve().await;
    t.user("fin", "finance", vec![]).await;
    let (cookie, csrf) = sign_in(&s, "fin", PASSWORD).await.unwrap();
    let post = |token: Option<&str>| {
        let mut r = s
            .anonymous
            .post(s.url("/api/v1/vendors"))
            .header("cookie", &cookie)
            .json(&json!({"name": "Acme"}));
        if let Some(t) = token {
            r = r.header("x-csrf-token", t);
        }
        r.send()
    };
    let r = post(None).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "csrf_failed");
    assert_eq!(post(Some("not-the-token")).await.unwrap().status(), 403);
    assert_eq!(
        s.get_json("/api/v1/vendors").await.1["items"].as_array().unwrap().len(),
        0,
        "nothing was written"
    );
    assert_eq!(post(Some(&csrf)).await.unwrap().status(), 201);
    // Reads need no token.
    assert_eq!(status_with_cookie(&s, "/api/v1/vendors", &cookie).await, 200);

    // The sign-out form checks its token too.
    let r = s
        .anonymous
        .post(s.url("/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(status_with_cookie(&s, "/api/v1/me", &cookie).await, 200, "still signed in");
    let r = s
        .anonymous
        .post(s.url("/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/login"));
    assert_eq!(status_with_cookie(&s, "/api/v1/me", &cookie).await, 401, "signed out for good");
});

both!(the_sign_in_form_resists_fixation_and_cross_site_posts, |t| {
    let s = t.serve().await;
    t.user("ann", "viewer", vec![]).await;
    // A form posted without the form's own cookie (as a cross-site page would) is refused.
    let r = s
        .anonymous
        .post(s.url("/login"))
        .form(&[("username", "ann"), ("password", PASSWORD), ("csrf", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The real form: its CSRF cookie and field, and a session id planted beforehand by an attacker.
    let form = s.anonymous.get(s.url("/login?next=/people")).send().await.unwrap();
    let login_cookie = form.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let html = form.text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    // The attacker signs in as themselves and plants their own, valid, session id in the victim's browser.
    t.user("mallory", "viewer", vec![]).await;
    let (planted, _) = sign_in(&s, "mallory", PASSWORD).await.unwrap();
    assert_eq!(status_with_cookie(&s, "/api/v1/me", &planted).await, 200);
    let r = s
        .anonymous
        .post(s.url("/login"))
        .header("cookie", format!("{login_cookie}; {planted}"))
        .form(&[("username", "ann"), ("password", PASSWORD), ("csrf", &csrf), ("next", "/people")])
        .send()
        .await
        .unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/people"));
    let cookies: Vec<String> =
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("itemize_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(session, planted, "a new session id is issued at sign-in");
    let me: Value = s
        .anonymous
        .get(s.url("/api/v1/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["username"], "ann");
    assert_eq!(
        status_with_cookie(&s, "/api/v1/me", &planted).await,
        401,
        "the planted session is ended, not adopted"
    );
    // Signing in again ends the session the browser had.
    let (second, _) = sign_in(&s, "ann", PASSWORD).await.unwrap();
    let form = s.anonymous.get(s.url("/login")).send().await.unwrap();
    let login_cookie = form.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let html = form.text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let r = s
        .anonymous
        .post(s.url("/login"))
        .header("cookie", format!("{login_cookie}; {second}"))
        .form(&[("username", "ann"), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(status_with_cookie(&s, "/api/v1/me", &second).await, 401);
    // Redirects after sign-in stay on this site.
    let page = s
        .anonymous
        .get(s.url("/login?next=https://evil.example/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"next\" value=\"/\""));
});

both!(sign_in_backs_off_and_says_nothing_about_which_part_was_wrong, |t| {
    let s = t.serve().await;
    t.user("bob", "viewer", vec![]).await;
    let (st_unknown, unknown) = sign_in(&s, "nobody-here", "whatever password").await.unwrap_err();
    let (st_wrong, wrong) = sign_in(&s, "bob", "wrong password!").await.unwrap_err();
    assert_eq!((st_unknown, st_wrong), (401, 401));
    assert_eq!(unknown["error"], wrong["error"], "the same answer for an unknown user and a wrong password");
    for _ in 0..3 {
        sign_in(&s, "bob", "wrong password!").await.unwrap_err();
    }
    let (_, fifth) = sign_in(&s, "bob", "wrong password!").await.unwrap_err();
    assert_eq!(fifth["error"]["code"], "unauthenticated");
    // Five failures: now even the right password waits.
    let (status, body) = sign_in(&s, "bob", PASSWORD).await.unwrap_err();
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("too_many_attempts")));
    assert_eq!(body["retry_after"], "1");
    // Each further failure doubles the wait.
    t.clock.set(t.clock.now() + SignedDuration::from_secs(2));
    sign_in(&s, "bob", "wrong password!").await.unwrap_err();
    let (status, body) = sign_in(&s, "bob", PASSWORD).await.unwrap_err();
    assert_eq!((status, body["retry_after"].as_str()), (429, Some("2")));
    t.clock.set(t.clock.now() + SignedDuration::from_secs(3));
    assert!(sign_in(&s, "bob", PASSWORD).await.is_ok(), "after the wait the right password works");
    // Per address: twenty failures across many accounts lock the address out.
    t.clock.set(t.clock.now() + SignedDuration::from_hours(2));
    for n in 0..20 {
        sign_in(&s, &format!("guess{n}"), "x").await.unwrap_err();
    }
    let (status, _) = sign_in(&s, "bob", PASSWORD).await.unwrap_err();
    assert_eq!(status, 429, "the address is locked out, whichever account it tries");
});

both!(sessions_expire_when_idle_and_absolutely, |t| {
    let s = t.serve().await;
    t.user("cat", "viewer", vec![]).await;
    let (cookie, _) = sign_in(&s, "cat", PASSWORD).await.unwrap();
    // Used every 90 minutes (under the 2-hour idle limit) it lives until the 12-hour limit.
    for _ in 0..7 {
        t.clock.set(t.clock.now() + SignedDuration::from_mins(90));
        assert_eq!(status_with_cookie(&s, "/api/v1/me", &cookie).await, 200);
    }
    t.clock.set(t.clock.now() + SignedDuration::from_mins(90));
    assert_eq!(
        status_with_cookie(&s, "/api/v1/me", &cookie).await,
        401,
        "12 hours after sign-in it has ended"
    );
    let (cookie, _) = sign_in(&s, "cat", PASSWORD).await.unwrap();
    t.clock.set(t.clock.now() + SignedDuration::from_mins(121));
    assert_eq!(status_with_cookie(&s, "/api/v1/me", &cookie).await, 401, "two idle hours end it");
    // Pages send an expired session to the sign-in page.
    let r = s.anonymous.get(s.url("/people")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 303);
});

both!(tokens_read_only_revoked_expired_and_recorded, |t| {
    let s = t.serve().await;
    let id = t.user("dee", "finance", vec![]).await;
    let rw = t
        .app
        .create_token(&sys(), Some(id), "ci", false, Some(SignedDuration::from_hours(24)))
        .await
        .unwrap();
    let ro = t.token(id, true).await;
    assert!(rw.token.starts_with("itm_"));
    let call = |token: String, write: bool| {
        let r = if write {
            s.anonymous.post(s.url("/api/v1/vendors")).json(&json!({"name": format!("V{}", token.len())}))
        } else {
            s.anonymous.get(s.url("/api/v1/vendors"))
        };
        r.header("authorization", format!("Bearer {token}")).send()
    };
    assert_eq!(call(ro.clone(), false).await.unwrap().status(), 200);
    let r = call(ro.clone(), true).await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("read-only"));
    assert_eq!(call(rw.token.clone(), true).await.unwrap().status(), 201);
    // Use is recorded; the token itself never appears again.
    let listed = t.app.list_tokens(&sys()).await.unwrap();
    let mine = listed.iter().find(|x| x.id == rw.view.id).unwrap();
    assert!(mine.last_used_at.is_some());
    assert_eq!(mine.prefix, &rw.token[..10]);
    assert!(!serde_json::to_string(&listed).unwrap().contains(&rw.token));
    // Revoked: refused at once.
    let r = s.client.delete(s.url(&format!("/api/v1/tokens/{}", rw.view.id))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = call(rw.token.clone(), false).await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("revoked"));
    // Expired: refused after its lifetime.
    let short = t
        .app
        .create_token(&sys(), Some(id), "short", false, Some(SignedDuration::from_hours(1)))
        .await
        .unwrap();
    assert_eq!(call(short.token.clone(), false).await.unwrap().status(), 200);
    t.clock.set(t.clock.now() + SignedDuration::from_mins(61));
    let r = call(short.token.clone(), false).await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("expired"));
    // A disabled user's tokens stop working.
    assert_eq!(call(ro.clone(), false).await.unwrap().status(), 200);
    let (status, _, _) = s.patch(&format!("/api/v1/users/{id}"), json!({"disabled": true}), None).await;
    assert_eq!(status, 200);
    assert_eq!(call(ro, false).await.unwrap().status(), 401);
    assert_eq!(call("itm_forged".into(), false).await.unwrap().status(), 401);
    assert_eq!(call("not-even-a-token".into(), false).await.unwrap().status(), 401);
});

both!(scoped_users_see_only_their_cost_centres, |t| {
    let cc1 =
        t.app.create::<CostCentre>(&sys(), json!({"code": "CC-1", "name": "Sales"})).await.unwrap().id.get();
    let cc2 = t
        .app
        .create::<CostCentre>(&sys(), json!({"code": "CC-2", "name": "Sales DACH", "parent_id": cc1}))
        .await
        .unwrap()
        .id
        .get();
    let cc3 = t
        .app
        .create::<CostCentre>(&sys(), json!({"code": "CC-3", "name": "Engineering"}))
        .await
        .unwrap()
        .id
        .get();
    let p = |id: &str, cc: i64| json!({"employee_id": id, "name": id, "email": format!("{id}@corp.example"), "cost_centre_id": cc});
    let mine = t.app.create::<Person>(&sys(), p("E1", cc2)).await.unwrap().id.get();
    let theirs = t.app.create::<Person>(&sys(), p("E2", cc3)).await.unwrap().id.get();
    let s = t.serve().await;
    // Owner of CC-1 sees CC-1 and CC-2 below it.
    let uid = t.user("sales-lead", "finance", vec![cc1]).await;
    let token = t.token(uid, false).await;
    let get = |path: String| {
        s.anonymous.get(s.url(&path)).header("authorization", format!("Bearer {token}")).send()
    };
    let body: Value = get("/api/v1/cost-centres".into()).await.unwrap().json().await.unwrap();
    let codes: Vec<&str> =
        body["items"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["CC-1", "CC-2"]);
    let body: Value = get("/api/v1/people?limit=1000".into()).await.unwrap().json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(get(format!("/api/v1/people/{mine}")).await.unwrap().status(), 200);
    // Another cost centre's records do not exist for them: 404, never 403.
    for path in [format!("/api/v1/people/{theirs}"), format!("/api/v1/cost-centres/{cc3}")] {
        let r = get(path.clone()).await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = get(format!("/api/v1/people?cost_centre_id={cc3}")).await.unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["items"].as_array().unwrap().len(),
        0,
        "filters cannot widen the scope"
    );
    let html = get("/".into()).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("<span class=\"count\">2</span> <span class=\"label\">Cost centres</span>"),
        "counts are scoped"
    );
    let page = get("/cost-centres".into()).await.unwrap().text().await.unwrap();
    assert!(page.contains("Sales DACH") && !page.contains("Engineering"), "pages are scoped too");
    let people = get("/people".into()).await.unwrap().text().await.unwrap();
    assert!(people.contains("E1") && !people.contains("E2"), "{people}");
    // Someone who owns only CC-2 is told its parent is outside their cost centres, not its name or id.
    let narrow = t.user("dach-only", "viewer", vec![cc2]).await;
    let narrow_token = t.token(narrow, false).await;
    let page = s.get_as(&narrow_token, "/cost-centres").await.text().await.unwrap();
    assert!(page.contains("(outside your cost centres)") && !page.contains("Sales (CC-1)"), "{page}");
    assert!(!page.contains(&format!("<td>{cc1}</td>")), "not even the parent's id");
    // Writes: not outside, and nothing moved out.
    let patch = |path: String, body: Value| {
        s.anonymous.patch(s.url(&path)).header("authorization", format!("Bearer {token}")).json(&body).send()
    };
    assert_eq!(
        patch(format!("/api/v1/cost-centres/{cc3}"), json!({"name": "Mine now"})).await.unwrap().status(),
        404
    );
    let r = patch(format!("/api/v1/cost-centres/{cc2}"), json!({"parent_id": cc3})).await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        patch(format!("/api/v1/cost-centres/{cc2}"), json!({"name": "Sales D-A-CH"})).await.unwrap().status(),
        200
    );
    assert_eq!(t.app.get::<CostCentre>(&sys(), cc3).await.unwrap().fields.name, "Engineering");
    // Creating inside their cost centres works; outside it is refused.
    let post = |path: &str, body: Value| {
        s.anonymous.post(s.url(path)).header("authorization", format!("Bearer {token}")).json(&body).send()
    };
    let svc = |code: &str, cc: i64| json!({"code": code, "name": code, "owner_cost_centre_id": cc, "criticality": "low"});
    assert_eq!(post("/api/v1/services", svc("S-MINE", cc2)).await.unwrap().status(), 201);
    let r = post("/api/v1/services", svc("S-THEIRS", cc3)).await.unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["details"][0]["problem"], "must be one of your cost centres");
    // A person outside their cost centres answers exactly like one that does not exist.
    let exists: Value = patch(format!("/api/v1/cost-centres/{cc2}"), json!({"owner_id": theirs}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let missing: Value = patch(format!("/api/v1/cost-centres/{cc2}"), json!({"owner_id": 999_999}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        exists["error"]["details"][0]["problem"].as_str().map(|p| p.replace(&theirs.to_string(), "N")),
        missing["error"]["details"][0]["problem"].as_str().map(|p| p.replace("999999", "N"))
    );
    assert_eq!(exists["error"]["details"][0]["field"], "owner_id");
    // Exports hold only what they see; imports are not theirs to run.
    let actor = t.app.token_actor(&token, None).await.unwrap();
    let mut out = Vec::new();
    t.app.export_csv(&actor, itemize_core::refdata::Kind::Person, &mut out, false).await.unwrap();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2);
    // A user owning only CC-2 exports it without naming its parent, which lies outside their cost centres.
    let narrow_actor = t.app.token_actor(&narrow_token, None).await.unwrap();
    let mut out = Vec::new();
    t.app.export_csv(&narrow_actor, itemize_core::refdata::Kind::CostCentre, &mut out, false).await.unwrap();
    let csv = String::from_utf8(out).unwrap();
    assert!(csv.lines().nth(1).unwrap().starts_with("CC-2,Sales D-A-CH,,"), "{csv}");
    assert!(!csv.contains("CC-1"), "{csv}");
    let refused =
        t.app.import_csv(&actor, itemize_core::refdata::Kind::Vendor, "name\nX\n".as_bytes(), false).await;
    assert!(matches!(refused, Err(itemize_app::AppError::Forbidden(_))));
});

both!(every_mutation_is_audited_and_the_log_cannot_be_changed, |t| {
    let s = t.serve().await;
    let (status, _, cc) = s.post("/api/v1/cost-centres", json!({"code": "CC-9", "name": "Nine"})).await;
    assert_eq!(status, 201);
    let id = cc["id"].as_i64().unwrap();
    s.patch(&format!("/api/v1/cost-centres/{id}"), json!({"name": "Nine B"}), None).await;
    s.client.post(s.url(&format!("/api/v1/cost-centres/{id}/archive"))).send().await.unwrap();
    let (status, log) = s.get_json(&format!("/api/v1/audit?kind=cost-centres&record_id={id}")).await;
    assert_eq!(status, 200);
    let items = log["items"].as_array().unwrap();
    let actions: Vec<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["archive", "update", "create"], "newest first");
    let update = &items[1];
    assert_eq!(
        (update["before"]["name"].as_str(), update["after"]["name"].as_str()),
        (Some("Nine"), Some("Nine B"))
    );
    assert_eq!(update["actor"], crate::harness::ADMIN);
    assert_eq!(update["via"], "token");
    assert_eq!(update["address"], "127.0.0.1");
    // Sign-ins are recorded too; passwords never are.
    t.user("eve", "viewer", vec![]).await;
    sign_in(&s, "eve", PASSWORD).await.unwrap();
    let (_, log) = s.get_json("/api/v1/audit?action=sign-in").await;
    assert_eq!(log["items"][0]["actor"], "eve");
    // Exports.
    let csv = s.get(&format!("/api/v1/audit?format=csv&kind=cost-centres&record_id={id}")).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(text.starts_with("id,at,actor_id,actor,via,address,action,kind,record_id,before,after\n"));
    let json_export: Value = s
        .get(&format!("/api/v1/audit?format=json&kind=cost-centres&record_id={id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json_export.as_array().unwrap().len(), 3);
    let archive = &items[0];
    assert_eq!(
        (archive["before"]["archived_at"].is_null(), archive["after"]["archived_at"].is_string()),
        (true, true)
    );
    // A password reset is recorded as such, with neither the password nor its hash.
    let eve = t.app.find_user(&sys(), "eve").await.unwrap().id;
    let (status, _, _) =
        s.patch(&format!("/api/v1/users/{eve}"), json!({"password": "a brand new secret"}), None).await;
    assert_eq!(status, 200);
    let (_, log) = s.get_json(&format!("/api/v1/audit?kind=user&record_id={eve}")).await;
    assert_eq!(log["items"][0]["action"], "reset-password");
    assert_eq!(log["items"][0]["after"]["password_changed"], true);
    let everything = serde_json::to_string(&s.get_json("/api/v1/audit?limit=1000").await.1).unwrap();
    assert!(
        !everything.contains("a brand new secret") && !everything.contains("$argon2"),
        "no password or hash in the log"
    );
    // Only admins read it; nobody can change it, not even with the database's own tools.
    let viewer = t.app.find_user(&sys(), "eve").await.unwrap().id;
    let token = t.token(viewer, false).await;
    assert_eq!(s.get_as(&token, "/api/v1/audit").await.status(), 403);
    for sql in ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"] {
        let err = crate::contract::try_raw(&t.url, sql).await.unwrap_err();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    let (_, after) = s.get_json(&format!("/api/v1/audit?kind=cost-centres&record_id={id}")).await;
    assert_eq!(after["items"].as_array().unwrap().len(), 3);
    assert_eq!(after["items"][1]["actor"], crate::harness::ADMIN);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_security_headers() {
    let t = TestApp::sqlite().await;
    let s = t.serve().await;
    for path in ["/login", "/api/v1/people", "/", "/healthz"] {
        let r = s.get(path).await;
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["x-frame-options"], "DENY");
    }
    let page = s.anonymous.get(s.url("/login")).send().await.unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>"), "no inline script anywhere");
    assert!(html.contains(r#"<script src="/static/itemize.js" defer></script>"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_managed_by_admins_and_disabling_ends_sessions() {
    let t = TestApp::sqlite().await;
    let s = t.serve().await;
    let (status, etag, u) = s
        .post("/api/v1/users", json!({"username": "fred", "password": "long enough pw", "role": "viewer"}))
        .await;
    assert_eq!(status, 201, "{u}");
    assert!(u.get("password_hash").is_none() && u.get("password").is_none());
    let (status, _, body) = s
        .post("/api/v1/users", json!({"username": "FRED", "password": "long enough pw", "role": "viewer"}))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")));
    let (status, _, body) =
        s.post("/api/v1/users", json!({"username": "gil", "password": "short", "role": "owner"})).await;
    assert_eq!(status, 422);
    assert!(
        body["error"]["details"][0]["field"] == "role" || body["error"]["details"][0]["field"] == "password"
    );
    let (cookie, _) = sign_in(&s, "fred", "long enough pw").await.unwrap();
    assert_eq!(status_with_cookie(&s, "/api/v1/me", &cookie).await, 200);
    let path = format!("/api/v1/users/{}", u["id"]);
    let (status, _, _) = s.patch(&path, json!({"role": "finance"}), Some("\"u1-0\"")).await;
    assert_eq!(status, 412, "users have ETags too");
    let (status, _, changed) =
        s.patch(&path, json!({"role": "finance", "disabled": true}), etag.as_deref()).await;
    assert_eq!((status, changed["disabled"].as_bool()), (200, Some(true)));
    assert_eq!(status_with_cookie(&s, "/api/v1/me", &cookie).await, 401, "a disabled user's sessions end");
    assert!(sign_in(&s, "fred", "long enough pw").await.is_err());
    // An admin cannot lock themselves out.
    let me = t.app.find_user(&sys(), crate::harness::ADMIN).await.unwrap().id;
    let (status, _, _) = s.patch(&format!("/api/v1/users/{me}"), json!({"disabled": true}), None).await;
    assert_eq!(status, 409);
}

/// What a browser does: load the form, make another request that lands on the sign-in page (a favicon, a
/// second tab), keep the newest cookie, then submit the first form. It must still sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_form_survives_other_visits_to_the_sign_in_page() {
    let t = TestApp::sqlite().await;
    let s = t.serve().await;
    t.user("gus", "viewer", vec![]).await;
    let cookie_of = |r: &reqwest::Response| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
            .find(|c| c.starts_with("itemize_login_csrf="))
    };
    let first = s.anonymous.get(s.url("/login")).send().await.unwrap();
    let mut jar = cookie_of(&first).unwrap();
    let html = first.text().await.unwrap();
    let field = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert!(
        html.contains("<link rel=\"icon\" href=\"data:,\">"),
        "pages declare their icon, so browsers ask for none"
    );
    // A stray request is sent to the sign-in page, which answers with the cookie the browser keeps.
    let stray = s.anonymous.get(s.url("/favicon.ico")).header("cookie", &jar).send().await.unwrap();
    assert_eq!(stray.headers()["location"], "/login?next=%2Ffavicon.ico");
    let again =
        s.anonymous.get(s.url("/login?next=%2Ffavicon.ico")).header("cookie", &jar).send().await.unwrap();
    jar = cookie_of(&again).unwrap_or(jar);
    let r = s
        .anonymous
        .post(s.url("/login"))
        .header("cookie", &jar)
        .form(&[("username", "gus"), ("password", PASSWORD), ("csrf", field.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
}

both!(parallel_guesses_cannot_share_one_count, |t| {
    let s = t.serve().await;
    t.user("hal", "viewer", vec![]).await;
    let attempts = (0..20).map(|_| sign_in(&s, "hal", "wrong password!"));
    let results = join_all(attempts).await;
    let verified = results.iter().filter(|r| matches!(r, Err((401, _)))).count();
    let refused = results.iter().filter(|r| matches!(r, Err((429, _)))).count();
    assert_eq!(verified + refused, 20);
    assert!(verified <= 5, "at most five guesses were checked, got {verified}");
});

/// Awaits all futures concurrently (a tiny `join_all`, to avoid a dependency).
async fn join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> = futures.map(|f| Some(Box::pin(f))).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(fut) = slot {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        done[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => waiting = true,
                }
            }
        }
        if waiting { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    done.into_iter().map(|v| v.expect("every future finished")).collect()
}
