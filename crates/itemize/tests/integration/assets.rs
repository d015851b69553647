//! The asset register on both databases: lifecycle rules, custody and history, lists and search, contracts
//! and the renewal calendar, depreciation and TCO, relationships and impact, audits, governance, Snipe-IT
//! imports (including the broken fixtures), exports and labels.

use crate::cost_ledger::fixture;
use crate::harness::{TestApp, seed_small, sys};
use itemize_app::asset_import::ImportOptions;
use itemize_app::{AppError, ListParams};
use itemize_core::assets::State;
use itemize_core::auth::{Actor, Credential, Role};
use serde_json::{Value, json};

fn params(pairs: &[(&str, &str)]) -> ListParams {
    ListParams::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn fields_of(e: &AppError) -> Vec<String> {
    match e {
        AppError::Validation(v) => v.iter().map(|f| f.field.clone()).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// Every asset the list gives for `p`, following its cursor page after page.
async fn every_page(t: &TestApp, mut p: ListParams) -> Vec<itemize_core::assets::Asset> {
    let mut all = Vec::new();
    loop {
        let page = t.app.list_assets(&sys(), &p).await.unwrap();
        all.extend(page.items);
        match page.next {
            Some(c) => p = p.with("cursor", c),
            None => return all,
        }
    }
}

async fn laptop(t: &TestApp, tag: &str, extra: Value) -> itemize_core::assets::Asset {
    let mut body = json!({"tag": tag, "name": format!("Laptop {tag}"), "class": "laptop", "model": "ThinkPad T14",
        "purchase_date": "2025-01-15", "purchase_cost": "1200.00", "currency": "EUR", "useful_life_months": 36,
        "warranty_end": "2026-12-31", "serial": format!("SN-{tag}")});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    t.app.create_asset(&sys(), body).await.expect("asset created")
}

both!(lifecycle_custody_and_history, |t| {
    let (_, cc, loc, person) = seed_small(&t).await;
    let a = laptop(&t, "LT-1", json!({"cost_centre_id": cc})).await;
    assert_eq!((a.state, a.fields.purchase_cost.unwrap().to_string()), (State::InStock, "1200.00".into()));

    // An invalid move is refused with the allowed ones listed, and changes nothing.
    let e = t.app.transition_asset(&sys(), a.id, None, json!({"to": "disposed"})).await.unwrap_err();
    let AppError::Validation(v) = &e else { panic!("{e:?}") };
    assert!(v[0].problem.contains("allowed: in-stock, in-use"), "{}", v[0].problem);
    assert_eq!(t.app.get_asset(&sys(), a.id).await.unwrap().version, 1);
    // In use needs someone or somewhere.
    let e = t.app.transition_asset(&sys(), a.id, None, json!({"to": "in-use"})).await.unwrap_err();
    assert_eq!(fields_of(&e), ["assignee_person_id"]);

    // Check out to a person until a date (in October); the overdue list sees it once the date passes.
    t.clock.set("2026-10-20T09:00:00Z".parse().unwrap());
    let out = t
        .app
        .check_out_asset(&sys(), a.id, json!({"assignee_person_id": person, "expected_return": "2026-11-01"}))
        .await
        .unwrap();
    assert_eq!((out.state, out.custody.assignee_person_id), (State::InUse, Some(person)));
    assert!(t.app.overdue_assets(&sys()).await.unwrap().is_empty(), "not due yet");
    // A second one, due back later: the longest overdue comes first, with its days overdue.
    let b = laptop(&t, "LT-0", json!({"cost_centre_id": cc})).await;
    t.app
        .check_out_asset(&sys(), b.id, json!({"assignee_person_id": person, "expected_return": "2026-11-10"}))
        .await
        .unwrap();
    t.clock.set("2026-11-22T09:00:00Z".parse().unwrap());
    let overdue = t.app.overdue_assets(&sys()).await.unwrap();
    assert_eq!(overdue.iter().map(|a| a.id).collect::<Vec<_>>(), [a.id, b.id]);
    let server = t.serve().await;
    let (_, body) = server.get_json("/api/v1/assets/overdue").await;
    let days: Vec<(String, i64)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["tag"].as_str().unwrap().to_string(), i["days_overdue"].as_i64().unwrap()))
        .collect();
    assert_eq!(days, [("LT-1".to_string(), 21), ("LT-0".to_string(), 12)]);
    t.app.check_in_asset(&sys(), b.id, json!({})).await.unwrap();
    // A stale If-Match is refused.
    let e =
        t.app.transition_asset(&sys(), a.id, Some("\"1-1\""), json!({"to": "in-repair"})).await.unwrap_err();
    assert!(matches!(e, AppError::PreconditionFailed { .. }), "{e:?}");
    let back = t.app.check_in_asset(&sys(), a.id, json!({"location_id": loc})).await.unwrap();
    assert_eq!(
        (back.state, back.custody.assignee_person_id, back.fields.location_id),
        (State::InStock, None, Some(loc))
    );
    assert!(t.app.overdue_assets(&sys()).await.unwrap().is_empty());

    // Edits record before and after; state cannot be patched.
    let e = t.app.update_asset(&sys(), a.id, None, json!({"state": "retired"})).await.unwrap_err();
    assert_eq!(fields_of(&e), ["state"]);
    t.app
        .update_asset(&sys(), a.id, None, json!({"hostname": "lt-1.corp", "notes": "new battery"}))
        .await
        .unwrap();
    // Retire, then dispose: a laptop needs a sanitization attestation.
    t.app
        .transition_asset(&sys(), a.id, None, json!({"to": "retired", "reason": "end of life"}))
        .await
        .unwrap();
    let disposal = json!({"method": "recycle", "date": "2026-11-20", "reference": "WEEE-77"});
    let e = t
        .app
        .transition_asset(
            &sys(),
            a.id,
            None,
            json!({"to": "disposed", "reason": "recycled", "disposal": disposal}),
        )
        .await
        .unwrap_err();
    assert_eq!(fields_of(&e), ["disposal.sanitization"]);
    let mut d = disposal.clone();
    d["sanitization"] = json!({"method": "NIST 800-88 purge", "attested_by": "GreenIT Ltd", "date": "2026-11-19", "certificate": "CERT-9"});
    // A disposal dated after today or before the purchase, data wiped after the device left, proceeds in another
    // currency or finer than its cents: refused, naming the field; nothing changes.
    for (change, field) in [
        (json!({"date": "2026-12-30"}), "disposal.date"),
        (
            json!({"date": "2025-01-10", "sanitization": {"method": "purge", "attested_by": "IT", "date": "2025-01-09"}}),
            "disposal.date",
        ),
        (
            json!({"sanitization": {"method": "purge", "attested_by": "IT", "date": "2026-11-21"}}),
            "disposal.sanitization.date",
        ),
        (json!({"proceeds": "£100.00"}), "disposal.proceeds"),
        (json!({"proceeds": "100.001"}), "disposal.proceeds"),
    ] {
        let mut bad = d.clone();
        for (k, v) in change.as_object().unwrap() {
            bad[k] = v.clone();
        }
        let e = t
            .app
            .transition_asset(
                &sys(),
                a.id,
                None,
                json!({"to": "disposed", "reason": "recycled", "disposal": bad}),
            )
            .await
            .unwrap_err();
        assert_eq!(fields_of(&e), [field], "{change}");
        assert_eq!(t.app.get_asset(&sys(), a.id).await.unwrap().state, State::Retired);
    }
    // A declining-balance rate is a multiple of straight-line's: 40 (meant as 40 % a year) is refused.
    let e = t
        .app
        .create_asset(
            &sys(),
            json!({"tag": "LT-DB", "name": "x", "class": "laptop", "purchase_cost": "900.00", "purchase_date": "2025-01-15",
                "useful_life_months": 36, "depreciation_method": "declining-balance", "depreciation_rate": "40"}),
        )
        .await
        .unwrap_err();
    assert_eq!(fields_of(&e), ["depreciation_rate"]);
    let gone = t
        .app
        .transition_asset(&sys(), a.id, None, json!({"to": "disposed", "reason": "recycled", "disposal": d}))
        .await
        .unwrap();
    assert_eq!(gone.disposal.unwrap().sanitization.unwrap().certificate.as_deref(), Some("CERT-9"));
    let e = t.app.transition_asset(&sys(), a.id, None, json!({"to": "in-stock"})).await.unwrap_err();
    assert!(fields_of(&e).contains(&"to".to_string()));

    let h = t.app.asset_history(&sys(), a.id).await.unwrap();
    let kinds: Vec<&str> = h.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["created", "check-out", "check-in", "updated", "transition", "transition"]);
    assert_eq!(h[3].detail["changes"]["hostname"], json!([null, "lt-1.corp"]));
    assert_eq!(h[1].detail["custody"]["assignee_person_id"], json!([null, person]));
    assert_eq!(h[5].detail["to"]["state"], "disposed");
    // The history cannot be rewritten, not even with the database's own tools.
    for sql in ["UPDATE asset_events SET actor = 'someone else'", "DELETE FROM asset_events"] {
        let err = crate::contract::try_raw(&t.url, sql).await.unwrap_err();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
});

both!(lists_filter_sort_search_and_scope, |t| {
    let (top, cc, _loc, person) = seed_small(&t).await;
    for i in 0..30 {
        let cc_id = if i % 2 == 0 { cc } else { top };
        laptop(
            &t,
            &format!("LT-{i:03}"),
            json!({"cost_centre_id": cc_id, "hostname": format!("host{i:03}.corp")}),
        )
        .await;
    }
    t.app.check_out_asset(&sys(), 1, json!({"assignee_person_id": person})).await.unwrap();
    // Keyset pages cover everything once, in order.
    let seen: Vec<String> = every_page(&t, params(&[("limit", "7"), ("sort", "-tag")]))
        .await
        .into_iter()
        .map(|a| a.fields.tag)
        .collect();
    let mut want: Vec<String> = (0..30).map(|i| format!("LT-{i:03}")).collect();
    want.reverse();
    assert_eq!(seen, want);
    // Search by tag prefix, serial, hostname and person.
    let tags = |p: ListParams| {
        let app = t.app.clone();
        async move {
            app.list_assets(&sys(), &p)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|a| a.fields.tag)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(tags(params(&[("q", "lt-02")])).await.len(), 10);
    assert_eq!(tags(params(&[("q", "sn-lt-005")])).await, ["LT-005"]);
    assert_eq!(tags(params(&[("q", "HOST007")])).await, ["LT-007"]);
    assert_eq!(tags(params(&[("q", "ada")])).await, ["LT-000"]);
    // By surname too (a later word of the name), and a wildcard typed is a character, not a pattern.
    assert_eq!(tags(params(&[("q", "Lovelace")])).await, ["LT-000"]);
    assert!(tags(params(&[("q", "L%e")])).await.is_empty());
    assert_eq!(tags(params(&[("state", "in-use")])).await, ["LT-000"]);
    assert_eq!(tags(params(&[("cost_centre_id", &top.to_string()), ("limit", "100")])).await.len(), 15);
    let e = t.app.list_assets(&sys(), &params(&[("colour", "red")])).await.unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
    // A scoped user sees only their cost centre's assets, and a 404 for the others.
    let scoped = Actor {
        user_id: None,
        name: "scoped".into(),
        role: Role::Viewer,
        scope: Some([cc].into_iter().collect()),
        credential: Credential::Session,
        address: None,
    };
    let mine = t.app.list_assets(&scoped, &params(&[("limit", "100")])).await.unwrap().items;
    assert_eq!(mine.len(), 15);
    assert!(mine.iter().all(|a| a.fields.cost_centre_id == Some(cc)));
    assert!(matches!(t.app.get_asset(&scoped, 2).await, Err(AppError::NotFound { .. })));
    // Exports carry exactly what the filters match.
    let csv =
        String::from_utf8(t.app.export_assets(&sys(), &params(&[("q", "lt-01")]), "csv").await.unwrap())
            .unwrap();
    assert_eq!(csv.lines().count(), 11);
    assert!(csv.starts_with("tag,name,class,state"));
    // By the keys people know (the cost centre's code, the assignee's employee id), not database ids; and read
    // back as it was written, it changes nothing.
    let all = String::from_utf8(t.app.export_assets(&sys(), &params(&[]), "csv").await.unwrap()).unwrap();
    let head: Vec<&str> = all.lines().next().unwrap().split(',').collect();
    for col in ["location", "cost_centre", "assignee", "service", "vendor"] {
        assert!(head.contains(&col), "{col} in {head:?}");
    }
    assert!(!head.iter().any(|h| h.ends_with("_id") && *h != "resource_id"), "{head:?}");
    let row0 = all.lines().find(|l| l.starts_with("LT-000,")).unwrap();
    assert!(row0.contains(",E1,"), "the assignee's employee id: {row0}");
    let back = t.app.import_assets(&sys(), all.as_bytes(), &ImportOptions::default()).await.unwrap();
    assert_eq!((back.rows, back.created, back.updated, back.rejected), (30, 0, 0, 0), "{:?}", back.errors);
    assert_eq!(t.app.get_asset(&sys(), 1).await.unwrap().custody.assignee_person_id, Some(person));
});

both!(serials_sort_case_insensitively_through_cursor_pages, |t| {
    // One index on lower(serial) serves the sort, the lookups and the prefix search: serials in any case sort
    // as one alphabet, both ways, across keyset pages; the assets without a serial come after those with one, by
    // id in the sort's direction, and are never left out.
    for (tag, serial) in [("S-1", "b2"), ("S-2", "A1"), ("S-3", "a3"), ("S-4", "C0"), ("S-5", "B1")] {
        laptop(&t, tag, json!({"serial": serial})).await;
    }
    for tag in ["S-6", "S-7", "S-8"] {
        t.app
            .create_asset(&sys(), json!({"tag": tag, "name": "No serial", "class": "laptop"}))
            .await
            .unwrap();
    }
    let t = &t;
    let walk = |sort: &'static str, limit: &'static str| async move {
        let all = every_page(t, params(&[("limit", limit), ("sort", sort)])).await;
        all.into_iter().map(|a| a.fields.serial.unwrap_or_else(|| a.fields.tag.clone())).collect::<Vec<_>>()
    };
    // Pages of 2 end the valued ones inside a page; of 5, on a page's last row.
    for limit in ["2", "5"] {
        assert_eq!(walk("serial", limit).await, ["A1", "a3", "B1", "b2", "C0", "S-6", "S-7", "S-8"]);
        assert_eq!(walk("-serial", limit).await, ["C0", "b2", "B1", "a3", "A1", "S-8", "S-7", "S-6"]);
    }
    assert_eq!(t.app.find_asset(&sys(), "c0").await.unwrap().fields.tag, "S-4");
    let found = t.app.list_assets(&sys(), &params(&[("q", "b")])).await.unwrap().items;
    let mut tags: Vec<String> = found.into_iter().map(|a| a.fields.tag).collect();
    tags.sort();
    assert_eq!(tags, ["S-1", "S-5"]);
});

// A search united from several columns — tag, serial, hostname and the assignee's name — lists each match once,
// whichever and however many of its columns match, with filters and any sort, across keyset pages.
both!(search_lists_each_match_once_across_pages_filters_and_sorts, |t| {
    let (_, _cc, _loc, person) = seed_small(&t).await;
    // "ad": tags AD-*, serials AD*, hostnames ad*, and Ada Lovelace's assets; ZZ-9 matches nothing.
    let assets = [
        ("AD-1", json!({"serial": "ADX1", "hostname": "ad-host-1", "purchase_date": "2024-05-01"})),
        ("AD-2", json!({"purchase_date": "2023-01-01"})),
        ("ZZ-1", json!({"serial": "AD77", "purchase_date": "2025-03-01"})),
        ("ZZ-2", json!({"hostname": "adm-02", "purchase_date": "2022-07-01"})),
        ("ZZ-3", json!({"serial": "ad-lower", "hostname": "ad-03", "purchase_date": "2021-02-01"})),
        ("ZZ-4", json!({"purchase_date": "2020-09-01"})),
        ("AD-3", json!({"purchase_date": "2019-04-01"})),
        ("ZZ-9", json!({"purchase_date": "2018-01-01"})),
    ];
    for (tag, extra) in assets {
        laptop(&t, tag, extra).await;
    }
    // Ada holds ZZ-4 (found by her name alone) and AD-3 (by its tag too).
    for tag in ["ZZ-4", "AD-3"] {
        let id = t.app.find_asset(&sys(), tag).await.unwrap().id;
        t.app.check_out_asset(&sys(), id, json!({"assignee_person_id": person})).await.unwrap();
    }
    let t = &t;
    let walk = |extra: &'static [(&'static str, &'static str)]| async move {
        let mut p = vec![("q", "ad"), ("limit", "2")];
        p.extend_from_slice(extra);
        every_page(t, params(&p)).await.into_iter().map(|a| a.fields.tag).collect::<Vec<_>>()
    };
    assert_eq!(walk(&[]).await, ["AD-1", "AD-2", "AD-3", "ZZ-1", "ZZ-2", "ZZ-3", "ZZ-4"]);
    assert_eq!(walk(&[("sort", "-tag")]).await, ["ZZ-4", "ZZ-3", "ZZ-2", "ZZ-1", "AD-3", "AD-2", "AD-1"]);
    assert_eq!(
        walk(&[("sort", "-purchase_date")]).await,
        ["ZZ-1", "AD-1", "AD-2", "ZZ-2", "ZZ-3", "ZZ-4", "AD-3"]
    );
    assert_eq!(walk(&[("sort", "serial")]).await, ["ZZ-3", "ZZ-1", "AD-1", "AD-2", "AD-3", "ZZ-2", "ZZ-4"]);
    // Sorted by a column most of them leave empty: those with a hostname, then the rest by id.
    assert_eq!(walk(&[("sort", "hostname")]).await, ["ZZ-3", "AD-1", "ZZ-2", "AD-2", "ZZ-1", "ZZ-4", "AD-3"]);
    assert_eq!(walk(&[("state", "in-use")]).await, ["AD-3", "ZZ-4"]);
    assert_eq!(
        walk(&[("state", "in-stock"), ("sort", "-tag")]).await,
        ["ZZ-3", "ZZ-2", "ZZ-1", "AD-2", "AD-1"]
    );
});

// Searches run in a session whose statements PostgreSQL plans once per connection, without parallel workers;
// those settings end with the session, whether it is dropped or ended, so the pooled connection goes back to
// planning every other statement for its values. On SQLite the session is an ordinary one.
both!(planned_reads_leave_the_connection_as_they_found_it, |t| {
    use itemize_store::{ConnectOptions, Store};
    let store =
        Store::connect(&t.url, &ConnectOptions { max_connections: 1, ..Default::default() }).await.unwrap();
    let pg = t.url.starts_with("postgres");
    let setting = |s: Option<String>| s.unwrap_or_default();
    for end_by_drop in [true, false] {
        let mut s = store.planned_reads().await.unwrap();
        let inside = (
            setting(s.pg_setting("plan_cache_mode").await.unwrap()),
            setting(s.pg_setting("max_parallel_workers_per_gather").await.unwrap()),
            setting(s.pg_setting("transaction_read_only").await.unwrap()),
        );
        assert_eq!(s.count_assets().await.unwrap(), 0, "it reads");
        if end_by_drop {
            drop(s);
        } else {
            s.rollback().await.unwrap();
        }
        // The one connection of the pool, taken again.
        let mut after = store.session().await.unwrap();
        let outside = (
            setting(after.pg_setting("plan_cache_mode").await.unwrap()),
            setting(after.pg_setting("max_parallel_workers_per_gather").await.unwrap()),
            setting(after.pg_setting("transaction_read_only").await.unwrap()),
        );
        if pg {
            assert_eq!(inside, ("force_generic_plan".into(), "0".into(), "on".into()));
            assert_eq!(outside, ("auto".into(), "2".into(), "off".into()), "dropped: {end_by_drop}");
        } else {
            assert_eq!((inside, outside), Default::default(), "SQLite has no such settings");
        }
    }
});

both!(contracts_renewals_depreciation_tco_and_refresh, |t| {
    let (_, cc, loc, _p) = seed_small(&t).await;
    let a =
        laptop(&t, "LT-1", json!({"cost_centre_id": cc, "end_of_life": "2027-03-01", "location_id": loc}))
            .await;
    let b = laptop(
        &t,
        "LT-2",
        json!({"cost_centre_id": cc, "purchase_date": "2026-06-01", "purchase_cost": "1500.00"}),
    )
    .await;
    // Maintenance that auto-renews on 2027-01-31 with 90 days' notice: the deadline (2026-11-02) has passed.
    let c = t
        .app
        .create_contract(&sys(), json!({"number": "MNT-1", "name": "Laptop care", "kind": "maintenance", "value": "300.00",
            "currency": "EUR", "start_date": "2026-02-01", "end_date": "2027-01-31", "renewal": "auto", "notice_days": 90,
            "asset_ids": [a.id, b.id], "cost_centre_id": cc}))
        .await
        .unwrap();
    t.app
        .create_contract(
            &sys(),
            json!({"number": "LEASE-9", "name": "Printers", "kind": "lease", "value": "9000",
            "start_date": "2024-01-01", "end_date": "2028-12-31", "notice_days": 30}),
        )
        .await
        .unwrap();
    // A yearly support contract that auto-renewed in January 2026 comes up again (notice by 15 December); one
    // that ended without renewing does not.
    for (number, renewal) in [("SUP-7", "auto"), ("OLD-1", "manual")] {
        t.app
            .create_contract(
                &sys(),
                json!({"number": number, "name": "Support", "kind": "maintenance", "value": "1200", "currency": "EUR",
                "start_date": "2025-01-15", "end_date": "2026-01-14", "renewal": renewal, "notice_days": 30}),
            )
            .await
            .unwrap();
    }
    let cal = t.app.renewal_calendar(&sys(), 90).await.unwrap();
    let got: Vec<(&str, String, String, u32)> = cal
        .iter()
        .map(|r| (r.number.as_str(), r.end_date.to_string(), r.notice_deadline.to_string(), r.terms_renewed))
        .collect();
    assert_eq!(
        got,
        [
            ("MNT-1", "2027-01-31".into(), "2026-11-02".into(), 0),
            ("SUP-7", "2027-01-14".into(), "2026-12-15".into(), 1)
        ]
    );
    assert!(cal[0].notice_passed && !cal[1].notice_passed);
    // A contract cancelled in time is archived, not deleted: it leaves the calendar, and comes back restored.
    let sup = t.app.contracts(&sys()).await.unwrap().into_iter().find(|c| c.number == "SUP-7").unwrap();
    let archived = t.app.set_contract_archived(&sys(), sup.id, true).await.unwrap();
    assert!(archived.archived_at.is_some() && archived.version == sup.version + 1);
    let numbers =
        |cal: Vec<itemize_app::asset_ops::Renewal>| cal.into_iter().map(|r| r.number).collect::<Vec<_>>();
    assert_eq!(numbers(t.app.renewal_calendar(&sys(), 90).await.unwrap()), ["MNT-1"]);
    assert!(t.app.contract(&sys(), sup.id).await.unwrap().archived_at.is_some(), "still there");
    // The API lists the contracts in force, as the page does; the archived on request.
    let srv = t.serve().await;
    let numbers_of = |v: &Value| -> Vec<String> {
        v["items"].as_array().unwrap().iter().map(|c| c["number"].as_str().unwrap().to_string()).collect()
    };
    let (_, active) = srv.get_json("/api/v1/contracts").await;
    assert!(!numbers_of(&active).contains(&"SUP-7".to_string()), "{active}");
    let (_, gone) = srv.get_json("/api/v1/contracts?archived=true").await;
    assert_eq!(numbers_of(&gone), ["SUP-7"]);
    let (_, all) = srv.get_json("/api/v1/contracts?archived=all").await;
    assert_eq!(numbers_of(&all).len(), numbers_of(&active).len() + 1);
    t.app.set_contract_archived(&sys(), sup.id, false).await.unwrap();
    assert_eq!(numbers(t.app.renewal_calendar(&sys(), 90).await.unwrap()), ["MNT-1", "SUP-7"]);
    let e = t
        .app
        .create_contract(
            &sys(),
            json!({"number": "BAD", "name": "x", "kind": "rental", "value": "-1",
            "start_date": "2026-02-01", "end_date": "2025-01-01", "asset_ids": [999]}),
        )
        .await
        .unwrap_err();
    let f = fields_of(&e);
    assert_eq!(f, ["kind", "value", "end_date"]);

    // Straight-line over 36 months from January 2025: 22 charges by November 2026.
    let s = t.app.depreciation_schedule(&sys(), a.id, None).await.unwrap();
    assert_eq!(s.months.len(), 36);
    let charged: rust_decimal::Decimal = s.months.iter().take(23).map(|m| m.expense).sum();
    assert_eq!(s.book_value_today, (dec("1200.00") - charged).to_string());
    // The book value at any date, over the API: the cost before the first month, each month's closing value
    // through the schedule, nothing left after it; a date that is not one is named.
    let server = t.serve().await;
    // An asset's JSON names each field once (its location is kept beside its custody too).
    let raw = server.get(&format!("/api/v1/assets/{}", a.id)).await.text().await.unwrap();
    assert_eq!(raw.matches("\"location_id\":").count(), 1, "{raw}");
    assert!(raw.contains(&format!("\"location_id\":{loc}")), "{raw}");
    for (at, want) in [
        ("2024-12-31", "1200.00".to_string()),
        ("2025-03-15", s.months[2].closing.to_string()),
        ("2026-11-22", s.book_value_today.clone()),
        ("2031-06-01", s.months[35].closing.to_string()),
    ] {
        let (code, body) = server.get_json(&format!("/api/v1/assets/{}/depreciation?at={at}", a.id)).await;
        assert_eq!(
            (code, body["as_of"].as_str(), body["book_value"].as_str()),
            (200, Some(at), Some(want.as_str()))
        );
    }
    assert_eq!(s.months[35].closing, dec("0.00"));
    let (code, body) = server.get_json(&format!("/api/v1/assets/{}/depreciation?at=someday", a.id)).await;
    assert_eq!(code, 400);
    // Archiving over the API.
    let (code, _, archived) = server
        .send_json(reqwest::Method::POST, &format!("/api/v1/contracts/{}/archive", sup.id), &json!({}), None)
        .await;
    assert_eq!((code, archived["archived_at"].is_string()), (200, true), "{archived}");
    let (code, _, restored) = server
        .send_json(reqwest::Method::POST, &format!("/api/v1/contracts/{}/restore", sup.id), &json!({}), None)
        .await;
    assert_eq!((code, restored["archived_at"].is_null()), (200, true), "{restored}");
    assert!(body.to_string().contains("someday"), "{body}");
    let by_cc = t
        .app
        .depreciation_by_cost_centre(&sys(), "2026-01-01".parse().unwrap(), "2026-12-01".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(by_cc.len(), 1);
    assert_eq!(by_cc[0].months["2026-06"], "75.00"); // 33.33 + 41.67 (b's first month)

    // TCO: purchase + half of the maintenance contract + a repair.
    t.app
        .add_asset_cost(&sys(), a.id, json!({"date": "2026-03-03", "kind": "repair", "amount": "89.90"}))
        .await
        .unwrap();
    let tco = t.app.tco(&sys(), a.id).await.unwrap();
    assert_eq!(tco.total, "1439.90");
    assert_eq!(tco.contracts[0]["contract_id"], json!(c.id));

    // Refresh plan, priced at the model's latest price (1500). Over two months (to 22 January 2027): LT-3's
    // warranty ends; LT-1's and LT-2's warranties end too, but the maintenance contract in force supports them
    // to 31 January. Over six months: LT-1 reaches end of life; LT-2 stays covered, its maintenance renewing
    // by itself (an auto-renewing cover goes on past its current term).
    let c3 = laptop(&t, "LT-3", json!({"cost_centre_id": cc})).await;
    for (months, ids) in [(2, vec![c3.id]), (6, vec![a.id, c3.id])] {
        let plan = t.app.refresh_plan(&sys(), months).await.unwrap();
        let g: Vec<_> = plan.groups.iter().filter(|g| g.model == "ThinkPad T14").collect();
        assert_eq!(g.len(), 1);
        let budget = (dec("1500.00") * rust_decimal::Decimal::from(ids.len())).to_string();
        assert_eq!((g[0].count, g[0].budget.clone()), (ids.len(), Some(budget)), "{plan:?}");
        assert_eq!(g[0].asset_ids, ids);
    }
    // The budget all together in the reporting currency needs a rate: without one the plan says which is
    // missing; with one, each currency's total is converted at the latest rate on or before today.
    let plan = t.app.refresh_plan(&sys(), 6).await.unwrap();
    assert_eq!(plan.total.iter().collect::<Vec<_>>(), [(&"EUR".to_string(), &"3000.00".to_string())]);
    let missing = plan.reporting_missing.clone().unwrap();
    assert!(plan.reporting_total.is_none() && missing.contains("from EUR to USD"), "{missing}");
    t.app.import_rates(&sys(), "Date,USD\n2026-11-20,1.0823\n2026-11-02,1.2\n", "ecb.csv").await.unwrap();
    let plan = t.app.refresh_plan(&sys(), 6).await.unwrap();
    let r = plan.reporting_total.unwrap();
    assert_eq!((r.currency.as_str(), r.amount.as_str()), ("USD", "3246.90"), "3000 EUR at 1.0823");
    assert_eq!(r.rates, [("EUR".to_string(), "1.0823".to_string(), "2026-11-20".parse().unwrap())]);
    let w = t.app.warranty_expiring(&sys(), 60).await.unwrap();
    assert_eq!(w.len(), 3);
});

both!(auto_renewals_from_a_month_end_keep_to_month_ends, |t| {
    // A year from 29 February 2024 entered as ending on 28 February 2025, and a month from 31 January 2026 to
    // 28 February: every renewal ends on a month's last day, as the entered term did, never a day later each
    // time.
    for (number, start, end, notice) in
        [("LEAP-1", "2024-02-29", "2025-02-28", 90), ("MON-31", "2026-01-31", "2026-02-28", 5)]
    {
        t.app
            .create_contract(
                &sys(),
                json!({"number": number, "name": "Support", "kind": "subscription", "value": "100.00",
                "currency": "EUR", "start_date": start, "end_date": end, "renewal": "auto", "notice_days": notice}),
            )
            .await
            .unwrap();
    }
    let calendar = || async {
        t.app
            .renewal_calendar(&sys(), 365)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.number, r.end_date.to_string(), r.notice_deadline.to_string(), r.terms_renewed))
            .collect::<Vec<_>>()
    };
    let row =
        |n: &str, end: &str, notice: &str, renewed: u32| (n.to_string(), end.into(), notice.into(), renewed);
    t.clock.set("2025-06-01T09:00:00Z".parse().unwrap());
    assert_eq!(
        calendar().await,
        [row("LEAP-1", "2026-02-28", "2025-11-30", 1), row("MON-31", "2026-02-28", "2026-02-23", 0)]
    );
    t.clock.set(crate::harness::T0.parse().unwrap());
    assert_eq!(
        calendar().await,
        [row("MON-31", "2026-11-30", "2026-11-25", 9), row("LEAP-1", "2027-02-28", "2026-11-30", 2)]
    );
});

both!(the_renewal_window_is_the_smallest_that_holds_the_date_to_act, |t| {
    // Today is 22 November 2026. Contracts to act on in 30, 31, 61, 90, 91 and 300 days (no notice: by the end
    // date), and one whose notice passed on 10 November but which runs to December.
    for (number, end, notice) in [
        ("D30", "2026-12-22", 0),
        ("D31", "2026-12-23", 0),
        ("D61", "2027-01-22", 0),
        ("D90", "2027-02-20", 0),
        ("D91", "2027-02-21", 0),
        ("D300", "2027-09-18", 0),
        ("LATE", "2026-12-10", 30),
    ] {
        t.app
            .create_contract(
                &sys(),
                json!({"number": number, "name": "Support", "kind": "maintenance", "value": "10.00",
                "currency": "EUR", "start_date": "2026-01-01", "end_date": end, "notice_days": notice}),
            )
            .await
            .unwrap();
    }
    let want = json!([
        ["LATE", 30],
        ["D30", 30],
        ["D31", 60],
        ["D61", 90],
        ["D90", 90],
        ["D91", null],
        ["D300", null]
    ]);
    let cal = t.app.renewal_calendar(&sys(), 365).await.unwrap();
    let got: Vec<(String, Option<u32>)> = cal.into_iter().map(|r| (r.number, r.window)).collect();
    assert_eq!(json!(got), want);
    // The API gives no window (null) past 90 days; the page and the CLI, which do not show it, still list them.
    let server = t.serve().await;
    let (code, body) = server.get_json("/api/v1/contracts/renewals?days=365").await;
    assert_eq!(code, 200, "{body}");
    let api: Vec<Value> =
        body["items"].as_array().unwrap().iter().map(|r| json!([r["number"], r["window"]])).collect();
    assert_eq!(json!(api), want);
    let page = server.get("/contracts/renewals?days=365").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("D300"));
});

both!(the_refresh_plan_counts_contract_cover_by_its_current_term, |t| {
    // Today is 22 November 2026; six months out is 22 May 2027. Every laptop's warranty ends on 31 December
    // 2026 (inside the window), its end of life in January 2028 (outside), except LT-LATE's warranty, which runs
    // to June 2027.
    let mut ids = std::collections::HashMap::new();
    for (tag, extra) in [
        ("LT-AUTO", json!({})),
        ("LT-SOON", json!({})),
        ("LT-SHORT", json!({})),
        ("LT-LONG", json!({})),
        ("LT-LATE", json!({"warranty_end": "2027-06-30"})),
        ("LT-LEASE", json!({"warranty_end": "2027-06-30"})),
    ] {
        let mut extra = extra;
        extra["model"] = json!(format!("Model {tag}"));
        ids.insert(tag, laptop(&t, tag, extra).await.id);
    }
    for (number, tag, kind, start, end, renewal) in [
        // Auto-renewing yearly since July 2024: its current term runs to 30 June 2027.
        ("C-AUTO", "LT-AUTO", "maintenance", "2024-07-01", "2025-06-30", "auto"),
        // Signed, but it starts in 2027: it covers nothing today.
        ("C-SOON", "LT-SOON", "maintenance", "2027-01-01", "2028-12-31", "manual"),
        // In force, but it ends inside the window: the laptop is due when it ends.
        ("C-SHORT", "LT-SHORT", "maintenance", "2026-01-01", "2027-03-31", "manual"),
        // In force past the window.
        ("C-LONG", "LT-LONG", "warranty", "2026-01-01", "2028-06-30", "manual"),
        // Ending before the laptop's own warranty: the warranty still decides.
        ("C-LATE", "LT-LATE", "maintenance", "2026-01-01", "2027-02-28", "manual"),
        // Leased to January 2027: returned (or bought out) then, whatever its warranty.
        ("C-LEASE", "LT-LEASE", "lease", "2025-01-20", "2027-01-19", "manual"),
    ] {
        t.app
            .create_contract(
                &sys(),
                json!({"number": number, "name": "Care", "kind": kind, "value": "50.00", "currency": "EUR",
                "start_date": start, "end_date": end, "renewal": renewal, "asset_ids": [ids[tag]]}),
            )
            .await
            .unwrap();
    }
    let plan = t.app.refresh_plan(&sys(), 6).await.unwrap();
    let due: Vec<(String, String, Vec<i64>)> =
        plan.groups.into_iter().map(|g| (g.model, g.first_due.to_string(), g.asset_ids)).collect();
    assert_eq!(
        due,
        [
            ("Model LT-SOON".to_string(), "2026-12-31".to_string(), vec![ids["LT-SOON"]]),
            ("Model LT-LEASE".into(), "2027-01-19".into(), vec![ids["LT-LEASE"]]),
            ("Model LT-SHORT".into(), "2027-03-31".into(), vec![ids["LT-SHORT"]]),
        ]
    );
});

both!(tco_counts_each_term_and_splits_to_the_currency_unit, |t| {
    // Three laptops at 1200.00 EUR; today is 22 November 2026.
    let (x, y, z) = (
        laptop(&t, "LT-X", json!({})).await.id,
        laptop(&t, "LT-Y", json!({})).await.id,
        laptop(&t, "LT-Z", json!({})).await.id,
    );
    for (number, value, currency, start, end, renewal, assets) in [
        // 100.00 over three: 33.34 to the lowest id, 33.33 to the others.
        ("THIRDS", "100.00", "EUR", "2026-01-01", "2026-12-31", "manual", vec![x, y, z]),
        // Yen have no minor unit: 334, 333, 333.
        ("YEN", "1000", "JPY", "2026-01-01", "2026-12-31", "manual", vec![x, y, z]),
        // 120.00 a year, auto-renewing since July 2024: three terms started by today.
        ("AUTO", "120.00", "EUR", "2024-07-01", "2025-06-30", "auto", vec![x, y]),
        // 90.00 a year from 2023, archived on 1 June 2024: two terms, not four.
        ("ENDED", "90.00", "EUR", "2023-01-01", "2023-12-31", "auto", vec![x]),
    ] {
        t.app
            .create_contract(
                &sys(),
                json!({"number": number, "name": "Care", "kind": "maintenance", "value": value, "currency": currency,
                "start_date": start, "end_date": end, "renewal": renewal, "asset_ids": assets}),
            )
            .await
            .unwrap();
    }
    let ended = t.app.contracts(&sys()).await.unwrap().into_iter().find(|c| c.number == "ENDED").unwrap();
    t.clock.set("2024-06-01T12:00:00Z".parse().unwrap());
    t.app.set_contract_archived(&sys(), ended.id, true).await.unwrap();
    t.clock.set(crate::harness::T0.parse().unwrap());

    let shares = |tco: &itemize_app::asset_ops::Tco| {
        let mut v: Vec<(String, String, u64)> = tco
            .contracts
            .iter()
            .map(|c| {
                (
                    c["number"].as_str().unwrap().into(),
                    c["share"].as_str().unwrap().into(),
                    c["terms"].as_u64().unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let row = |n: &str, share: &str, terms: u64| (n.to_string(), share.to_string(), terms);
    let tx = t.app.tco(&sys(), x).await.unwrap();
    assert_eq!(
        shares(&tx),
        [
            row("AUTO", "180.00", 3),
            row("ENDED", "180.00", 2),
            row("THIRDS", "33.34", 1),
            row("YEN", "334", 1)
        ]
    );
    assert_eq!((tx.total.as_str(), tx.other_currencies["JPY"].as_str()), ("1593.34", "334"));
    // One total of ownership in the asset's currency, the yen at today's rate, named; without a rate, none, and
    // the missing rate said.
    assert!(
        tx.total_converted.is_none() && tx.rates[0].contains("no exchange rate from JPY"),
        "{:?}",
        tx.rates
    );
    let rates = format!("date,from,to,rate\n2026-11-20,JPY,{},0.0065\n", tx.currency);
    t.app.import_rates(&sys(), &rates, "test").await.unwrap();
    let tx = t.app.tco(&sys(), x).await.unwrap();
    assert_eq!(tx.total_converted.as_deref(), Some("1595.51"), "1593.34 + 334 × 0.0065");
    assert_eq!(tx.rates, [format!("1 JPY = 0.0065 {} (2026-11-20)", tx.currency)]);
    let ty = t.app.tco(&sys(), y).await.unwrap();
    assert_eq!(shares(&ty), [row("AUTO", "180.00", 3), row("THIRDS", "33.33", 1), row("YEN", "333", 1)]);
    assert_eq!((ty.total.as_str(), ty.other_currencies["JPY"].as_str()), ("1413.33", "333"));
    // The shares add up to the contracts: 33.34 + 33.33 + 33.33 = 100.00 and 334 + 333 + 333 = 1000.
    let tz = t.app.tco(&sys(), z).await.unwrap();
    assert_eq!(shares(&tz), [row("THIRDS", "33.33", 1), row("YEN", "333", 1)]);
});

both!(relationships_audits_and_governance, |t| {
    use itemize_core::refdata::Service;
    let (_, cc, loc, person) = seed_small(&t).await;
    let svc = t
        .app
        .create::<Service>(
            &sys(),
            json!({"code": "PAY", "name": "Payments", "owner_cost_centre_id": cc, "criticality": "high"}),
        )
        .await
        .unwrap()
        .id
        .get();
    let mk = |tag: &str, class: &str| json!({"tag": tag, "name": tag, "class": class, "location_id": loc, "cost_centre_id": cc});
    let rack = t.app.create_asset(&sys(), mk("RACK-1", "other")).await.unwrap().id;
    let srv = t.app.create_asset(&sys(), mk("SRV-1", "server")).await.unwrap().id;
    let vm = t.app.create_asset(&sys(), mk("VM-1", "cloud-resource")).await.unwrap().id;
    t.app.add_relation(&sys(), srv, json!({"kind": "installed-in", "to_asset_id": rack})).await.unwrap();
    t.app.add_relation(&sys(), vm, json!({"kind": "depends-on", "to_asset_id": srv})).await.unwrap();
    t.app.add_relation(&sys(), vm, json!({"kind": "runs", "to_service_id": svc})).await.unwrap();
    let e =
        t.app.add_relation(&sys(), rack, json!({"kind": "depends-on", "to_asset_id": vm})).await.unwrap_err();
    assert!(format!("{e:?}").contains("cycle"), "{e:?}");
    let impact = t.app.impact(&sys(), rack).await.unwrap();
    let deps: Vec<(i64, u32)> = impact.dependents.iter().map(|d| (d.asset_id, d.depth)).collect();
    assert_eq!(deps, [(srv, 1), (vm, 2)]);
    assert_eq!(impact.services, [svc]);
    // A dependent held by a business service (checked out to it) puts that service among the affected too.
    let db = t
        .app
        .create::<Service>(
            &sys(),
            json!({"code": "DB", "name": "Databases", "owner_cost_centre_id": cc, "criticality": "medium"}),
        )
        .await
        .unwrap()
        .id
        .get();
    let app = t
        .app
        .create_asset(
            &sys(),
            json!({"tag": "APP-1", "name": "App box", "class": "other", "cost_centre_id": cc}),
        )
        .await
        .unwrap()
        .id;
    t.app.add_relation(&sys(), app, json!({"kind": "depends-on", "to_asset_id": vm})).await.unwrap();
    t.app.check_out_asset(&sys(), app, json!({"service_id": db})).await.unwrap();
    let impact = t.app.impact(&sys(), rack).await.unwrap();
    let deps: Vec<(i64, u32)> = impact.dependents.iter().map(|d| (d.asset_id, d.depth)).collect();
    assert_eq!(deps, [(srv, 1), (vm, 2), (app, 3)]);
    let mut want = vec![svc, db];
    want.sort_unstable();
    assert_eq!(impact.services, want);

    // Audit the location: two found (one typed in lower case), one unknown scan, one missing.
    let audit = t.app.start_audit(&sys(), loc).await.unwrap();
    assert_eq!(audit.expected, 3);
    // One open audit per location: a second would mark missing what the first found.
    let e = t.app.start_audit(&sys(), loc).await.unwrap_err();
    assert!(
        format!("{e:?}").contains(&format!("audit {} of this location is still open", audit.id)),
        "{e:?}"
    );
    assert_eq!(t.app.scan(&sys(), audit.id, "rack-1").await.unwrap().result, "found");
    assert_eq!(t.app.scan(&sys(), audit.id, "SRV-1\n").await.unwrap().result, "found");
    assert_eq!(t.app.scan(&sys(), audit.id, "SRV-1").await.unwrap().result, "repeat");
    assert_eq!(t.app.scan(&sys(), audit.id, "NOPE-9").await.unwrap().result, "unknown");
    let e = t.app.scan(&sys(), audit.id, "RACK-1\nVM-1").await.unwrap_err();
    assert_eq!(fields_of(&e), ["input"], "two codes pasted at once are not one unknown scan");
    // An asset on record as disposed of turns up: an exception to look into, and its record is left alone.
    let old = t
        .app
        .create_asset(
            &sys(),
            json!({"tag": "OLD-1", "name": "Old dock", "class": "peripheral", "cost_centre_id": cc}),
        )
        .await
        .unwrap()
        .id;
    t.app.transition_asset(&sys(), old, None, json!({"to": "retired", "reason": "old"})).await.unwrap();
    t.app
        .transition_asset(
            &sys(),
            old,
            None,
            json!({"to": "disposed", "reason": "recycled",
            "disposal": {"method": "recycle", "date": "2026-11-20", "reference": "WEEE-1"}}),
        )
        .await
        .unwrap();
    assert_eq!(t.app.scan(&sys(), audit.id, "OLD-1").await.unwrap().result, "disposed");
    let closed = t.app.close_audit(&sys(), audit.id, true).await.unwrap();
    assert_eq!((closed.accuracy.as_str(), closed.missing.clone()), ("66.7", vec![vm]));
    assert_eq!((closed.disposed.clone(), closed.unexpected.len()), (vec![old], 0));
    let gone = t.app.get_asset(&sys(), old).await.unwrap();
    assert_eq!((gone.state, gone.fields.location_id, gone.last_audited_at), (State::Disposed, None, None));
    assert_eq!(t.app.get_asset(&sys(), vm).await.unwrap().state, State::Missing);
    assert!(t.app.get_asset(&sys(), rack).await.unwrap().last_audited_at.is_some());
    assert!(matches!(t.app.scan(&sys(), audit.id, "RACK-1").await, Err(AppError::Refused(_))));

    // Governance: a policy requiring a serial on servers lists SRV-1.
    t.app
        .put_asset_settings(&sys(), json!({"required_fields": {"server": ["serial", "owner"]},
            "custom_fields": [{"key": "rack_units", "label": "Rack units", "class": "server", "type": "number"}]}))
        .await
        .unwrap();
    let g = t.app.asset_governance(&sys()).await.unwrap();
    assert_eq!(g.violations.len(), 1);
    assert_eq!(g.violations[0]["missing"], json!(["serial", "owner"]));
    assert_eq!(g.coverage["location"], "75.0", "APP-1, held by a service, has no location");
    assert_eq!(g.inventory_accuracy.as_deref(), Some("66.7"));
    // Custom fields are typed.
    let e =
        t.app.update_asset(&sys(), srv, None, json!({"custom": {"rack_units": "two"}})).await.unwrap_err();
    assert_eq!(fields_of(&e), ["custom.rack_units"]);
    t.app.update_asset(&sys(), srv, None, json!({"custom": {"rack_units": 2}})).await.unwrap();
    // Changing the definitions locks no asset: rack units become a choice of sizes that 2 is not, and a
    // required owner team is added; the server's other fields still change (its stored values stay as they
    // are), but a new value must be one of the sizes and the required field is demanded of new servers.
    t.app
        .put_asset_settings(&sys(), json!({"required_fields": {"server": ["serial", "owner"]},
            "custom_fields": [
                {"key": "rack_units", "label": "Rack units", "class": "server", "type": "enum", "options": ["1U", "4U"]},
                {"key": "owner_team", "label": "Owner team", "class": "server", "type": "text", "required": true}]}))
        .await
        .unwrap();
    let edited = t.app.update_asset(&sys(), srv, None, json!({"hostname": "db-07"})).await.unwrap();
    assert_eq!(
        (edited.fields.hostname.as_deref(), &edited.fields.custom["rack_units"]),
        (Some("db-07"), &json!("2"))
    );
    let e = t.app.update_asset(&sys(), srv, None, json!({"custom": {"rack_units": "3U"}})).await.unwrap_err();
    assert_eq!(fields_of(&e), ["custom.rack_units"]);
    let e = t.app.create_asset(&sys(), mk("SRV-NEW", "server")).await.unwrap_err();
    assert_eq!(fields_of(&e), ["custom.owner_team"]);
    // An import updating the server (a new hostname) goes through as the edit did.
    let r =
        t.app.import_assets(&sys(), b"tag,hostname\nSRV-1,db-08\n", &ImportOptions::default()).await.unwrap();
    assert_eq!((r.updated, r.rejected), (1, 0), "{:?}", r.errors);
    assert_eq!(t.app.get_asset(&sys(), srv).await.unwrap().fields.hostname.as_deref(), Some("db-08"));
    // Offboarding: a leaver with two laptops.
    let lap = t.app.create_asset(&sys(), mk("LT-9", "laptop")).await.unwrap().id;
    t.app.check_out_asset(&sys(), lap, json!({"assignee_person_id": person})).await.unwrap();
    let lap2 = t.app.create_asset(&sys(), mk("LT-10", "laptop")).await.unwrap().id;
    t.app.check_out_asset(&sys(), lap2, json!({"assignee_person_id": person})).await.unwrap();
    // Out already: said so, not as a lifecycle move from in use to in use.
    let e = t.app.check_out_asset(&sys(), lap2, json!({"assignee_person_id": person})).await.unwrap_err();
    assert!(format!("{e:?}").contains("LT-10 is already checked out (in-use): check it in first"), "{e:?}");
    // A person given by employee id where the API takes an id is said plainly.
    let e = t.app.check_out_asset(&sys(), lap, json!({"assignee_person_id": "E1"})).await.unwrap_err();
    assert!(format!("{e:?}").contains("`E1` is text where a whole number"), "{e:?}");
    t.app
        .update::<itemize_core::refdata::Person>(
            &sys(),
            person,
            None,
            json!({"status": "leaver", "leave_date": "2026-11-15"}),
        )
        .await
        .unwrap();
    // A leaver is someone assets are recovered from: one is not handed to them, nor due back in the past.
    let spare = t.app.create_asset(&sys(), mk("LT-11", "laptop")).await.unwrap().id;
    let e = t.app.check_out_asset(&sys(), spare, json!({"assignee_person_id": person})).await.unwrap_err();
    assert_eq!(fields_of(&e), ["assignee_person_id"]);
    assert!(format!("{e:?}").contains("is a leaver (left 2026-11-15)"), "{e:?}");
    let e = t
        .app
        .check_out_asset(
            &sys(),
            spare,
            json!({"location_id": loc, "expected_return": "2026-11-01", "loan": false}),
        )
        .await
        .unwrap_err();
    assert_eq!(fields_of(&e), ["expected_return"]);
    assert_eq!(t.app.get_asset(&sys(), spare).await.unwrap().state, State::InStock, "refused, unchanged");
    let off = t.app.offboarding(&sys(), None).await.unwrap();
    assert_eq!((off.len(), off[0].status, off[0].outstanding.len()), (1, "overdue", 2));
    t.app.check_in_asset(&sys(), lap, json!({})).await.unwrap();
    let off = t.app.offboarding(&sys(), None).await.unwrap();
    assert_eq!((off[0].recovered.len(), off[0].outstanding.len()), (1, 1));
    // The second laptop, not found where it should be: missing keeps its last holder, and the leaver's
    // checklist still has it to recover.
    t.app
        .transition_asset(&sys(), lap2, None, json!({"to": "missing", "reason": "not at the desk"}))
        .await
        .unwrap();
    assert_eq!(t.app.get_asset(&sys(), lap2).await.unwrap().custody.assignee_person_id, Some(person));
    let off = t.app.offboarding(&sys(), None).await.unwrap();
    let missing: Vec<(&str, &str)> = off[0].outstanding.iter().map(|i| (i.tag.as_str(), i.status)).collect();
    assert_eq!((missing, off[0].status), (vec![("LT-10", "missing")], "overdue"));
    // Then reported stolen: not recovered, and said so.
    t.app.transition_asset(&sys(), lap2, None, json!({"to": "stolen", "reason": "burglary"})).await.unwrap();
    let off = t.app.offboarding(&sys(), None).await.unwrap();
    let tags = |items: &[itemize_app::assets::OffboardingItem]| -> Vec<(String, String)> {
        items.iter().map(|i| (i.tag.clone(), i.status.to_string())).collect()
    };
    assert_eq!(tags(&off[0].recovered), [("LT-9".to_string(), "recovered".to_string())]);
    assert_eq!(tags(&off[0].not_recovered), [("LT-10".to_string(), "stolen".to_string())]);
    assert!(off[0].outstanding.is_empty());
    assert_eq!(off[0].status, "done", "nothing left to recover");
    // Someone about to leave: a return date after their last day would never come.
    let leaving = t
        .app
        .create::<itemize_core::refdata::Person>(
            &sys(),
            json!({"employee_id": "E77", "name": "Lee Leaving", "email": "lee@corp.example", "leave_date": "2026-12-10"}),
        )
        .await
        .unwrap()
        .id
        .get();
    let e = t
        .app
        .check_out_asset(
            &sys(),
            spare,
            json!({"assignee_person_id": leaving, "expected_return": "2027-01-31"}),
        )
        .await
        .unwrap_err();
    assert_eq!(fields_of(&e), ["expected_return"]);
    assert!(format!("{e:?}").contains("after Lee Leaving leaves (2026-12-10)"), "{e:?}");
    // Without a return date at all: one is asked for, on or before their last day.
    let e = t.app.check_out_asset(&sys(), spare, json!({"assignee_person_id": leaving})).await.unwrap_err();
    assert_eq!(fields_of(&e), ["expected_return"]);
    assert!(format!("{e:?}").contains("leaves on 2026-12-10"), "{e:?}");
    t.app
        .check_out_asset(
            &sys(),
            spare,
            json!({"assignee_person_id": leaving, "expected_return": "2026-12-09"}),
        )
        .await
        .unwrap();
    t.app.check_in_asset(&sys(), spare, json!({})).await.unwrap();
    // Missing is not in hand: found (checked in) first, then handed out.
    t.app
        .transition_asset(&sys(), spare, None, json!({"to": "missing", "reason": "not on the shelf"}))
        .await
        .unwrap();
    let e = t.app.check_out_asset(&sys(), spare, json!({"location_id": loc})).await.unwrap_err();
    assert!(format!("{e:?}").contains("is missing: check it in when it is found"), "{e:?}");
    assert_eq!(t.app.get_asset(&sys(), spare).await.unwrap().state, State::Missing);
    // A new asset is not registered in the hands of a leaver either.
    let e = t
        .app
        .create_asset(
            &sys(),
            json!({"tag": "LT-NEW", "name": "New", "class": "laptop", "state": "in-use", "assignee_person_id": person}),
        )
        .await
        .unwrap_err();
    assert_eq!(fields_of(&e), ["assignee_person_id"]);
    assert!(t.app.find_asset(&sys(), "LT-NEW").await.is_err());
});

// A whole Snipe-IT export in one transaction, on either database: a file that fails leaves nothing of the
// others behind, and a dry run checks each file against what the files before it would write.
both!(a_snipe_it_export_lands_whole_or_not_at_all, |t| {
    use itemize_app::snipe::SnipeStep;
    let locations =
        b"name,address,address2,city,state,country,zip\nMalmo Office,1 Storgatan,,Malmo,,SE,21122\n";
    let users = b"First Name,Last Name,Email,Username,Location,Employee Number\nAda,Berg,ada@example.com,aberg,Malmo Office,\n";
    let assets =
        b"Asset Tag,Name,Location,Status,Checked Out To: Username\nLT-1,Laptop,Malmo Office,Deployed,aberg\n";
    let broken = b"Asset Tag,Name,Purchase Date\nLT-2,Dock,13/45/24\n";
    let files = |with: &[u8]| {
        vec![
            ("z-assets.csv".to_string(), with.to_vec()),
            ("users.csv".to_string(), users.to_vec()),
            ("locations.csv".to_string(), locations.to_vec()),
        ]
    };
    let failed = t.app.import_snipe_it(&sys(), files(broken), false, false).await.unwrap();
    assert!(!failed.committed);
    assert!(
        matches!(&failed.steps[2].1, SnipeStep::Assets(r) if r.errors[0].column.as_deref() == Some("Purchase Date"))
    );
    let locations_now =
        t.app.list::<itemize_core::refdata::Location>(&sys(), &ListParams::default()).await.unwrap();
    assert!(locations_now.items.is_empty(), "the locations went back with the failed assets file");

    let dry = t.app.import_snipe_it(&sys(), files(assets), true, false).await.unwrap();
    let names: Vec<&str> = dry.steps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["locations.csv", "users.csv", "z-assets.csv"], "locations, users, then assets");
    let SnipeStep::Assets(a) = &dry.steps[2].1 else { panic!("{:?}", dry.steps[2]) };
    assert!(
        !dry.committed && a.created == 1 && a.created_locations.is_empty() && a.warnings.is_empty(),
        "{a:?}"
    );
    let SnipeStep::Refdata(u) = &dry.steps[1].1 else { panic!("{:?}", dry.steps[1]) };
    assert!(u.notes.is_empty(), "the user's site is the locations file's: {:?}", u.notes);
    assert!(
        t.app.list_assets(&sys(), &params(&[])).await.unwrap().items.is_empty(),
        "a dry run writes nothing"
    );

    let done = t.app.import_snipe_it(&sys(), files(assets), false, false).await.unwrap();
    assert!(done.committed);
    assert!(done.steps.iter().all(|(_, s)| match s {
        SnipeStep::Refdata(r) => r.committed,
        SnipeStep::Assets(r) => r.committed,
        SnipeStep::Skipped(_) => true,
    }));
    let a = t.app.find_asset(&sys(), "LT-1").await.unwrap();
    assert_eq!(a.state, State::InUse);
    assert!(a.custody.assignee_person_id.is_some() && a.fields.location_id.is_some(), "{a:?}");
});

// The CSV of Snipe-IT's own asset list export ("Export" on its assets page) imports in its own words: the asset
// name, the model number, whom it is checked out to by full name, the warranty's end; its bookkeeping columns
// (ID, created, updated, audits) are left out, and a supplier named by the first word of a vendor is that vendor.
both!(snipe_its_asset_list_export_imports_in_its_own_words, |t| {
    use itemize_core::refdata::Vendor;
    seed_small(&t).await;
    let dell = t
        .app
        .create::<Vendor>(&sys(), json!({"name": "Dell Technologies", "aliases": ["Dell Inc."]}))
        .await
        .unwrap();
    // Snipe-IT's custom asset report words the purchase "Purchased" and "Cost" and adds its own depreciation.
    let report = "Asset Tag,Asset Name,Purchased,Cost,EOL,Type,Employee No.,Department,Value,Diff,Fully Depreciated\n\
                  SN-20,Report laptop,2025-04-01,999.00,2029-04-01,Laptops,,IT,700.00,299.00,No\n";
    let r = t.app.import_assets(&sys(), report.as_bytes(), &ImportOptions::default()).await.unwrap();
    assert_eq!((r.created, r.rejected), (1, 0), "{:?}", r.errors);
    let a = t.app.find_asset(&sys(), "SN-20").await.unwrap();
    assert_eq!(
        (a.fields.purchase_date.map(|d| d.to_string()), a.fields.purchase_cost.map(|c| c.to_string())),
        (Some("2025-04-01".into()), Some("999.00".into()))
    );
    let csv = "ID,Asset Name,Asset Tag,Serial,Model,Model No.,Category,Manufacturer,Status,Checked Out To,Location,\
               Purchase Date,Purchase Cost,Supplier,Warranty Expires,Created At,Updated At,Last Audit\n\
               17,Ada's laptop,SN-17,5CG001,Latitude 7440,L7440,Laptops,Dell,Deployed,Ada Lovelace,London,\
               2025-03-01,1450.00,Dell,2028-03-01,2025-03-02 10:00:00,2025-03-02 10:00:00,\n\
               18,Spare,SN-18,5CG002,Latitude 7440,L7440,Laptops,Dell,Ready to Deploy,,London,\
               2025-03-01,1450.00,Dell,2028-03-01,2025-03-02 10:00:00,2025-03-02 10:00:00,\n";
    let r = t.app.import_assets(&sys(), csv.as_bytes(), &ImportOptions::default()).await.unwrap();
    assert_eq!(
        (r.format.as_str(), r.created, r.rejected),
        ("snipe-it", 2, 0),
        "{:?} {:?}",
        r.errors,
        r.warnings
    );
    assert!(r.created_vendors.is_empty(), "Dell is Dell Technologies: {:?}", r.created_vendors);
    assert!(
        r.warnings.iter().any(|w| w.contains("read as the vendor Dell Technologies")),
        "{:?}",
        r.warnings
    );
    let a = t.app.find_asset(&sys(), "SN-17").await.unwrap();
    assert_eq!(a.fields.name, "Ada's laptop");
    assert_eq!((a.state, a.custody.assignee_person_id.is_some()), (State::InUse, true));
    assert_eq!(a.fields.vendor_id, Some(dell.id.get()));
    assert_eq!(a.fields.warranty_end.map(|d| d.to_string()).as_deref(), Some("2028-03-01"));
    assert!(a.fields.notes.as_deref().unwrap_or("").contains("Model number: L7440"));
    // An import records what a leaver still holds (the register as it is) and says so: it is among what to
    // recover from them.
    let ada = t.app.find_asset(&sys(), "SN-17").await.unwrap().custody.assignee_person_id.unwrap();
    t.app
        .update::<itemize_core::refdata::Person>(
            &sys(),
            ada,
            None,
            json!({"status": "leaver", "leave_date": "2026-11-01"}),
        )
        .await
        .unwrap();
    let csv = "Asset Tag,Asset Name,Status,Checked Out To,Location\nSN-30,Left behind,Deployed,Ada Lovelace,London\n";
    let r = t.app.import_assets(&sys(), csv.as_bytes(), &ImportOptions::default()).await.unwrap();
    assert_eq!((r.created, r.rejected), (1, 0), "{:?}", r.errors);
    assert!(r.warnings.iter().any(|w| w.contains("`Ada Lovelace` is a leaver")), "{:?}", r.warnings);
    assert_eq!(t.app.find_asset(&sys(), "SN-30").await.unwrap().custody.assignee_person_id, Some(ada));
    let off = t.app.offboarding(&sys(), Some(ada)).await.unwrap();
    assert!(off[0].outstanding.iter().any(|i| i.tag == "SN-30"), "to recover from them");
});

both!(snipe_it_imports_including_broken_files, |t| {
    let read = |name: &str| std::fs::read(fixture(&format!("snipe-it/{name}"))).unwrap();
    // The clean sample: every row in, its locations and suppliers created.
    let opts = ImportOptions { dry_run: true, ..Default::default() };
    let dry = t.app.import_assets(&sys(), &read("assets-sample.csv"), &opts).await.unwrap();
    assert_eq!(
        (dry.format.as_str(), dry.created, dry.rejected, dry.committed),
        ("snipe-it", 22, 0, false),
        "{:?}",
        dry.errors
    );
    assert_eq!(
        t.app.list_assets(&sys(), &params(&[])).await.unwrap().items.len(),
        0,
        "a dry run writes nothing"
    );
    let r = t.app.import_assets(&sys(), &read("assets-sample.csv"), &ImportOptions::default()).await.unwrap();
    assert!(r.committed && r.created == 22, "{r:?}");
    assert!(!r.created_locations.is_empty() && !r.created_vendors.is_empty());
    let a = t.app.find_asset(&sys(), "ICC-2065556").await.unwrap();
    assert_eq!(a.fields.purchase_date.unwrap().to_string(), "2023-01-23");
    assert_eq!(a.fields.end_of_life.unwrap().to_string(), "2028-10-27");
    assert_eq!(a.fields.purchase_cost.unwrap().to_string(), "2266.13");
    // The category ("Ornamental Railings") names no device; the model ("Macbook Pro 13\"") does.
    assert_eq!(a.fields.class.as_str(), "laptop");
    // The same file again updates nothing and creates nothing.
    let again =
        t.app.import_assets(&sys(), &read("assets-sample.csv"), &ImportOptions::default()).await.unwrap();
    assert_eq!((again.created, again.updated), (0, 0));

    // The BAD file: Mac Roman text with classic-Mac CR line endings and duplicated header cells (Category and
    // Company twice). It goes in, each quirk reported as a warning; the first of a repeated column is used.
    let bad =
        t.app.import_assets(&sys(), &read("assets-sample-BAD.csv"), &ImportOptions::default()).await.unwrap();
    assert!(bad.committed && bad.created == 200 && bad.rejected == 0, "{:?}", bad.errors);
    assert!(bad.warnings.iter().any(|w| w.contains("Mac Roman")));
    assert!(bad.warnings.iter().any(|w| w.contains("CR only")));
    assert!(bad.warnings.iter().any(|w| w.contains("(Category) repeats an earlier column")));
    let b = t.app.find_asset(&sys(), "970882174-8").await.unwrap();
    assert_eq!(
        (b.state, b.fields.purchase_date.unwrap().to_string()),
        (State::InRepair, "2016-04-05".into())
    );
    // Warranty 14 months from 2016-04-05.
    assert_eq!(b.fields.warranty_end.unwrap().to_string(), "2017-06-05");
    // Strict and lenient on a file with bad rows: strict writes nothing, lenient writes the good rows.
    let before = t.app.list_assets(&sys(), &params(&[("limit", "1000")])).await.unwrap().items.len();
    let lenient = ImportOptions { lenient: true, ..Default::default() };
    let mixed = b"Asset Tag,Item Name,Category,Purchase Date,Purchase Cost,Status\nMX-1,Dock,Docks,1/2/24,120.00,Ready to Deploy\nMX-2,Dock,Docks,13/45/24,x12,Ready to Deploy\nMX-3,Dock,Docks,1/2/24,99,Sold to a friend\n";
    let strict = t.app.import_assets(&sys(), mixed, &ImportOptions::default()).await.unwrap();
    assert!(!strict.committed && strict.rejected == 2, "{strict:?}");
    let cols: Vec<(u64, Option<&str>)> = strict.errors.iter().map(|e| (e.row, e.column.as_deref())).collect();
    assert_eq!(cols, [(3, Some("Purchase Date")), (3, Some("Purchase Cost")), (4, Some("Status"))]);
    assert_eq!(strict.errors[2].value.as_deref(), Some("Sold to a friend"));
    assert_eq!(t.app.list_assets(&sys(), &params(&[("limit", "1000")])).await.unwrap().items.len(), before);
    let loose = t.app.import_assets(&sys(), mixed, &lenient).await.unwrap();
    assert!(loose.committed && loose.created == 1 && loose.rejected == 2, "{loose:?}");
    // BLANKS: the same assets with blank header cells (ignored, with a warning): nothing to change.
    let blanks = t
        .app
        .import_assets(&sys(), &read("assets-sample-BLANKS.csv"), &ImportOptions { dry_run: true, ..lenient })
        .await
        .unwrap();
    assert!(blanks.warnings.iter().any(|w| w.contains("has no header")));
    assert!(
        blanks.errors.is_empty() && blanks.rows == 200 && (blanks.created, blanks.updated) == (0, 0),
        "{blanks:?}"
    );
    // A decimal comma is refused with its row and column, never read as a thousands separator (899,00 is not
    // 89,900); a thousands comma is read.
    let e = t
        .app
        .import_assets(
            &sys(),
            b"tag,name,class,Cost\nDC-1,A,laptop,\"1,234.50\"\nDC-2,B,laptop,\"899,00\"\n",
            &ImportOptions { mapping: vec![("Cost".into(), "purchase_cost".into())], ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(e.errors.len(), 1, "{:?}", e.errors);
    assert_eq!((e.errors[0].row, e.errors[0].column.as_deref(), e.committed), (3, Some("Cost"), false));
    assert!(e.errors[0].reason.contains("comma"), "{:?}", e.errors[0]);
    assert_eq!(e.errors[0].value.as_deref(), Some("899,00"), "the row's error shows the value as given");
    // Sites two Snipe-IT imports create whose names spell the same letters get codes of their own.
    for (tag, site) in [("SC-1", "Building 1"), ("SC-2", "Building-1")] {
        let csv = format!("Asset Tag,Item Name,Category,Location\n{tag},Laptop,Laptop,{site}\n");
        let r = t.app.import_assets(&sys(), csv.as_bytes(), &ImportOptions::default()).await.unwrap();
        assert!(r.committed && r.created_locations == [site], "{site}: {:?}", r.errors);
    }
    let sites =
        [t.app.find_asset(&sys(), "SC-1").await.unwrap(), t.app.find_asset(&sys(), "SC-2").await.unwrap()];
    assert_ne!(sites[0].fields.location_id, sites[1].fields.location_id);
    // A file imported strictly, with nothing mapped.
    let strict = |csv: &'static [u8]| {
        let app = t.app.clone();
        async move { app.import_assets(&sys(), csv, &ImportOptions::default()).await.unwrap() }
    };
    // A row after a blank line is named by the line it is on.
    let e = strict(b"tag,name,class\nBL-1,A,laptop\n\nBL-2,B,toaster\n").await;
    assert_eq!((e.errors.len(), e.errors[0].row), (1, 4), "{:?}", e.errors);
    // Unknown columns in itemize's format are refused by name.
    let e = strict(b"tag,name,class,colour\nX-1,X,laptop,red\n").await;
    assert_eq!((e.errors[0].column.as_deref(), e.committed), (Some("colour"), false));
    // An id that names nothing is a row error, not a failed transaction.
    let e = strict(b"tag,name,class,location_id\nX-1,X,laptop,987654\n").await;
    let got: Vec<(u64, Option<&str>, Option<&str>)> =
        e.errors.iter().map(|e| (e.row, e.column.as_deref(), e.value.as_deref())).collect();
    assert_eq!((got, e.committed), (vec![(2, Some("location_id"), Some("987654"))], false));
    // An export re-imports as is.
    let csv = t.app.export_assets(&sys(), &params(&[("q", "ICC")]), "csv").await.unwrap();
    let round = t
        .app
        .import_assets(&sys(), &csv, &ImportOptions { format: Some("itemize".into()), ..Default::default() })
        .await
        .unwrap();
    assert!(round.errors.is_empty(), "{:?}", round.errors);
    assert_eq!((round.created, round.updated), (0, 0));
    // Labels for what a filter matches.
    let svg = String::from_utf8(t.app.asset_labels(&sys(), &params(&[("q", "ICC")]), "svg").await.unwrap())
        .unwrap();
    let matching = t.app.list_assets(&sys(), &params(&[("q", "ICC")])).await.unwrap().items.len();
    assert!(matching >= 1);
    assert_eq!(svg.matches("class=\"label\"").count(), matching);
    let pdf = t.app.asset_labels(&sys(), &params(&[("q", "ICC")]), "pdf").await.unwrap();
    // Nothing matching is no blank sheet to print: said so, on the filters.
    let e = t.app.asset_labels(&sys(), &params(&[("q", "nothing-has-this")]), "pdf").await.unwrap_err();
    assert!(e.to_string().contains("no asset matches these filters"), "{e:?}");
    assert!(pdf.starts_with(b"%PDF-1.4"));
});

// A workbook imports as a CSV file does, Excel's typed cells included (a date cell, a number for a cost, a serial
// typed as a number), its problems named by spreadsheet row; an export as XLSX reads back the same values.
both!(xlsx_imports_and_exports_like_csv, |t| {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let date = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
    for (c, h) in
        ["tag", "name", "class", "serial", "purchase_date", "purchase_cost", "currency"].iter().enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    type Row<'a> = (&'a str, &'a str, f64, (u16, u8, u8), f64);
    let rows: [Row; 2] = [
        ("XL-1", "Latitude 7450", 12345.0, (2025, 3, 1), 1299.99),
        ("XL-2", "OptiPlex 7020", 98765.0, (2024, 11, 30), 849.5),
    ];
    for (r, (tag, name, serial, (y, m, d), cost)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, *tag).unwrap();
        sheet.write_string(r, 1, *name).unwrap();
        sheet.write_string(r, 2, "laptop").unwrap();
        sheet.write_number(r, 3, *serial).unwrap();
        sheet
            .write_datetime_with_format(
                r,
                4,
                rust_xlsxwriter::ExcelDateTime::from_ymd(*y, *m, *d).unwrap(),
                &date,
            )
            .unwrap();
        sheet.write_number(r, 5, *cost).unwrap();
        sheet.write_string(r, 6, "EUR").unwrap();
    }
    // A third row with a date that is no date.
    sheet.write_string(3, 0, "XL-3").unwrap();
    sheet.write_string(3, 1, "Broken").unwrap();
    sheet.write_string(3, 2, "laptop").unwrap();
    sheet.write_string(3, 4, "31/02/2025").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let strict = t.app.import_assets(&sys(), &bytes, &ImportOptions::default()).await.unwrap();
    assert!(!strict.committed);
    assert_eq!(
        strict.errors.iter().map(|e| (e.row, e.column.as_deref())).collect::<Vec<_>>(),
        [(4, Some("purchase_date"))],
        "{:?}",
        strict.errors
    );
    // A table starting on the sheet's second row, with an empty row inside: each row is named as the
    // spreadsheet numbers it, and the empty row is skipped as a CSV's blank line is.
    let mut offset = rust_xlsxwriter::Workbook::new();
    let sheet = offset.add_worksheet();
    for (r, cells) in
        [(1, ["tag", "name", "class"]), (2, ["XO-1", "A", "laptop"]), (4, ["XO-2", "B", "toaster"])]
    {
        for (c, v) in cells.iter().enumerate() {
            sheet.write_string(r, c as u16, *v).unwrap();
        }
    }
    let e = t
        .app
        .import_assets(&sys(), &offset.save_to_buffer().unwrap(), &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(
        e.errors.iter().map(|e| (e.row, e.column.as_deref())).collect::<Vec<_>>(),
        [(5, Some("class"))],
        "{:?}",
        e.errors
    );
    let r = t
        .app
        .import_assets(&sys(), &bytes, &ImportOptions { lenient: true, ..Default::default() })
        .await
        .unwrap();
    assert_eq!((r.created, r.rejected), (2, 1), "{:?}", r.errors);
    let a = t.app.find_asset(&sys(), "XL-1").await.unwrap();
    assert_eq!(
        (
            a.fields.serial.as_deref(),
            a.fields.purchase_date.map(|d| d.to_string()),
            a.fields.purchase_cost.map(|c| c.to_string())
        ),
        (Some("12345"), Some("2025-03-01".to_string()), Some("1299.99".to_string()))
    );
    assert_eq!(
        t.app.find_asset(&sys(), "XL-2").await.unwrap().fields.purchase_cost.map(|c| c.to_string()),
        Some("849.50".into())
    );
    // Exported as a workbook, the filtered list reads back cell for cell.
    let out = t.app.export_assets(&sys(), &params(&[("q", "xl-")]), "xlsx").await.unwrap();
    assert!(out.starts_with(b"PK\x03\x04"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("assets.xlsx");
    std::fs::write(&path, &out).unwrap();
    let (header, rows) = itemize_ingest::generic::xlsx_rows(&path, None).unwrap();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap_or_else(|| panic!("{n} in {header:?}"));
    let got: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|(_, r)| {
            (
                r[col("tag")].clone(),
                r[col("serial")].clone(),
                r[col("purchase_date")].clone(),
                r[col("purchase_cost")].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("XL-1".into(), "12345".into(), "2025-03-01".into(), "1299.99".into()),
            ("XL-2".into(), "98765".into(), "2024-11-30".into(), "849.5".into())
        ]
    );
    // Amounts and dates are the spreadsheet's numbers and dates (they sum and sort there); a serial of digits
    // stays text.
    use calamine::Reader;
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(out.clone())).unwrap();
    let sheet = wb.worksheet_range_at(0).unwrap().unwrap();
    let cell = |n: &str| sheet.get((1, col(n))).unwrap().clone();
    assert!(
        matches!(cell("purchase_cost"), calamine::Data::Float(f) if f == 1299.99),
        "{:?}",
        cell("purchase_cost")
    );
    assert!(matches!(cell("purchase_date"), calamine::Data::DateTime(_)), "{:?}", cell("purchase_date"));
    assert_eq!(cell("serial"), calamine::Data::String("12345".into()));
    // And imports back as it was: nothing changes.
    let again = t.app.import_assets(&sys(), &out, &ImportOptions::default()).await.unwrap();
    assert_eq!((again.created, again.rejected), (0, 0), "{:?}", again.errors);
    assert_eq!(t.app.find_asset(&sys(), "XL-1").await.unwrap().version, a.version);
});

both!(a_re_import_changes_what_its_cells_give_and_keeps_the_rest, |t| {
    let (_, cc, _, _) = seed_small(&t).await;
    t.app
        .put_asset_settings(
            &sys(),
            json!({"custom_fields": [
            {"key": "colour", "label": "Colour", "class": "laptop", "type": "text"},
            {"key": "bay", "label": "Bay", "class": "laptop", "type": "number"}]}),
        )
        .await
        .unwrap();
    let a = laptop(
        &t,
        "LT-R1",
        json!({"cost_centre_id": cc, "custom": {"colour": "red", "bay": 4}, "salvage_value": "100.00",
            "in_service_date": "2025-02-01", "depreciation_method": "declining-balance", "depreciation_rate": "150",
            "depreciation_convention": "mid-month", "depreciation_start": "in-service", "notes": "Spare"}),
    )
    .await;
    let before = t.app.get_asset(&sys(), a.id).await.unwrap();
    let itemize = || ImportOptions { format: Some("itemize".into()), ..Default::default() };

    // The export carries every field, custom ones as columns; it re-imports changing nothing.
    let csv = t.app.export_assets(&sys(), &params(&[("q", "LT-R1")]), "csv").await.unwrap();
    let text = String::from_utf8(csv.clone()).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    for col in [
        "salvage_value",
        "in_service_date",
        "depreciation_rate",
        "depreciation_convention",
        "depreciation_start",
        "resource_id",
        "custom.bay",
        "custom.colour",
    ] {
        assert!(header.contains(&col), "{col} missing from {header:?}");
    }
    let round = t.app.import_assets(&sys(), &csv, &itemize()).await.unwrap();
    assert!(round.errors.is_empty(), "{:?}", round.errors);
    assert_eq!((round.created, round.updated, round.committed), (0, 0, true));
    assert_eq!(t.app.get_asset(&sys(), a.id).await.unwrap().version, before.version);

    // A file with a few columns, and a blank cell, changes those columns only.
    let r = t
        .app
        .import_assets(&sys(), b"tag,name,notes,custom.colour\nlt-r1,Renamed laptop,,blue\n", &itemize())
        .await
        .unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.created, r.updated), (0, 1));
    let after = t.app.get_asset(&sys(), a.id).await.unwrap();
    let (mut want, got) = (before.fields.to_json(), after.fields.to_json());
    want["name"] = json!("Renamed laptop");
    want["custom"]["colour"] = json!("blue");
    assert_eq!(got, want);
    assert_eq!((after.state, after.custody.clone()), (before.state, before.custody.clone()));
    // The history names exactly what changed.
    let events = t.app.asset_history(&sys(), a.id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.kind, "updated");
    let changed: Vec<&String> = last.detail["changes"].as_object().unwrap().keys().collect();
    // The tag found the asset whatever its case; the register's spelling stays.
    assert_eq!(changed, ["custom", "name"]);
    assert_eq!(after.fields.tag, "LT-R1");
    assert_eq!(last.detail["changes"]["custom"][1], got["custom"]);
});

both!(a_re_import_leaves_state_and_custody_to_transitions_and_check_outs, |t| {
    let (_, cc, loc, person) = seed_small(&t).await;
    let itemize = || ImportOptions { format: Some("itemize".into()), ..Default::default() };
    // One laptop on loan (a person and a return date), one disposed with its certificate.
    let lent = laptop(&t, "LT-L1", json!({"cost_centre_id": cc})).await;
    t.app
        .check_out_asset(
            &sys(),
            lent.id,
            json!({"assignee_person_id": person, "expected_return": "2027-01-15", "loan": true}),
        )
        .await
        .unwrap();
    let gone = laptop(&t, "LT-D1", json!({"cost_centre_id": cc})).await;
    t.app.transition_asset(&sys(), gone.id, None, json!({"to": "retired", "reason": "old"})).await.unwrap();
    let disposal = json!({"method": "recycle", "date": "2026-11-20", "reference": "WEEE-78", "sanitization":
        {"method": "NIST 800-88 purge", "attested_by": "GreenIT Ltd", "date": "2026-11-19", "certificate": "CERT-10"}});
    t.app
        .transition_asset(
            &sys(),
            gone.id,
            None,
            json!({"to": "disposed", "reason": "recycled", "disposal": disposal}),
        )
        .await
        .unwrap();
    let before =
        [t.app.get_asset(&sys(), lent.id).await.unwrap(), t.app.get_asset(&sys(), gone.id).await.unwrap()];
    assert_eq!((before[0].state, before[1].state), (State::OnLoan, State::Disposed));

    // Their export reads back as it is: checked in the state and custody the register has them in.
    let csv = t.app.export_assets(&sys(), &params(&[("q", "LT-")]), "csv").await.unwrap();
    let round = t.app.import_assets(&sys(), &csv, &itemize()).await.unwrap();
    assert!(round.errors.is_empty(), "{:?}", round.errors);
    assert_eq!((round.created, round.updated, round.committed), (0, 0, true));
    // The same with a field changed: the field changes, state and custody stay.
    let text = String::from_utf8(csv).unwrap().replace("Laptop LT-L1", "Loaner laptop");
    let r = t.app.import_assets(&sys(), text.as_bytes(), &itemize()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.created, r.updated), (0, 1));
    let now = t.app.get_asset(&sys(), lent.id).await.unwrap();
    assert_eq!(now.fields.name, "Loaner laptop");
    assert_eq!((now.state, now.custody.clone()), (before[0].state, before[0].custody.clone()));

    // A row giving another state, assignee or service is refused, naming the column, the value and what the
    // register has; nothing is written.
    let other = t
        .app
        .create::<itemize_core::refdata::Person>(
            &sys(),
            json!({"employee_id": "E2", "name": "Grace Hopper", "email": "grace@corp.example", "cost_centre_id": cc}),
        )
        .await
        .unwrap()
        .id
        .get();
    let csv = format!(
        "tag,name,class,state,assignee_person_id,location_id\nLT-L1,Renamed,laptop,retired,{other},{loc}\nlt-d1,Renamed too,laptop,In Use,,\nLT-L1x,New,laptop,in-use,{person},\n"
    );
    let e = t.app.import_assets(&sys(), csv.as_bytes(), &itemize()).await.unwrap();
    assert!(!e.committed);
    let got: Vec<(u64, Option<&str>, Option<&str>)> =
        e.errors.iter().map(|e| (e.row, e.column.as_deref(), e.value.as_deref())).collect();
    let other_text = other.to_string();
    assert_eq!(
        got,
        [
            (2, Some("state"), Some("retired")),
            (2, Some("assignee_person_id"), Some(other_text.as_str())),
            (3, Some("state"), Some("In Use")),
        ],
        "{:?}",
        e.errors
    );
    assert!(e.errors[0].reason.contains("the register has on-loan"), "{:?}", e.errors[0]);
    assert!(e.errors[0].reason.contains("transition"), "{:?}", e.errors[0]);
    assert!(e.errors[1].reason.contains(&format!("the register has {person}")), "{:?}", e.errors[1]);
    assert!(e.errors[2].reason.contains("the register has disposed"), "{:?}", e.errors[2]);
    let after =
        [t.app.get_asset(&sys(), lent.id).await.unwrap(), t.app.get_asset(&sys(), gone.id).await.unwrap()];
    assert_eq!(after[0], now);
    assert_eq!(after[1], before[1]);
    assert!(t.app.find_asset(&sys(), "LT-L1x").await.is_err(), "a rejected file creates nothing");
    // A state that is no state is named as such.
    let e = t.app.import_assets(&sys(), b"tag,state\nLT-L1,borrowed\n", &itemize()).await.unwrap();
    assert_eq!(e.errors.len(), 1, "{:?}", e.errors);
    assert_eq!(
        (e.errors[0].column.as_deref(), e.errors[0].value.as_deref()),
        (Some("state"), Some("borrowed"))
    );
    assert!(e.errors[0].reason.contains("is not one of"), "{:?}", e.errors[0]);
});

both!(audits_expect_what_is_held_there_and_bring_back_what_was_missing, |t| {
    let (top, cc, loc, person) = seed_small(&t).await;
    let mk = |tag: &str| json!({"tag": tag, "name": tag, "class": "desktop", "location_id": loc, "cost_centre_id": cc});
    let mut ids = Vec::new();
    for tag in ["AU-STOCK", "AU-LOAN", "AU-REPAIR", "AU-GONE"] {
        ids.push(t.app.create_asset(&sys(), mk(tag)).await.unwrap().id);
    }
    let (stock, loan, repair, gone) = (ids[0], ids[1], ids[2], ids[3]);
    // Another cost centre's desktop at the same location.
    let other = t
        .app
        .create_asset(&sys(), json!({"tag": "AU-OTHER", "name": "x", "class": "desktop", "location_id": loc, "cost_centre_id": top}))
        .await
        .unwrap()
        .id;
    for (id, body) in [
        (loan, json!({"to": "on-loan", "assignee_person_id": person, "expected_return": "2027-01-31"})),
        (repair, json!({"to": "in-repair", "reason": "screen"})),
        (gone, json!({"to": "missing", "reason": "not at desk"})),
    ] {
        t.app.transition_asset(&sys(), id, None, body).await.unwrap();
    }
    // On loan and in repair are away by their state: not expected. What went missing from here is.
    let audit = t.app.start_audit(&sys(), loc).await.unwrap();
    assert_eq!(audit.expected, 3);
    assert_eq!(t.app.scan(&sys(), audit.id, "AU-GONE").await.unwrap().result, "found");
    // A user limited to a cost centre runs no audit (it covers every cost centre's assets at the location)
    // and sees only their own assets in one.
    let scoped = Actor {
        user_id: None,
        name: "scoped".into(),
        role: Role::AssetManager,
        scope: Some([cc].into_iter().collect()),
        credential: Credential::Session,
        address: None,
    };
    assert!(matches!(t.app.start_audit(&scoped, loc).await, Err(AppError::Forbidden(_))));
    assert!(matches!(t.app.scan(&scoped, audit.id, "AU-STOCK").await, Err(AppError::Forbidden(_))));
    assert!(matches!(t.app.close_audit(&scoped, audit.id, true).await, Err(AppError::Forbidden(_))));
    let closed = t.app.close_audit(&sys(), audit.id, true).await.unwrap();
    assert_eq!((closed.accuracy.as_str(), closed.missing.clone()), ("33.3", vec![stock, other]));
    let theirs = t.app.audit_view(&scoped, audit.id).await.unwrap();
    assert_eq!(
        (theirs.expected, theirs.accuracy.as_str(), theirs.found.clone(), theirs.missing.clone()),
        (2, "50.0", vec![gone], vec![stock])
    );
    assert_eq!(t.app.audits(&scoped).await.unwrap()[0].missing, vec![stock]);
    // The missing asset scanned is back in stock, with the audit as the reason; the loan and the repair are
    // untouched; the one not scanned is missing now.
    let found = t.app.get_asset(&sys(), gone).await.unwrap();
    assert_eq!(found.state, State::InStock);
    assert!(found.last_audited_at.is_some());
    let events = t.app.asset_history(&sys(), gone).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!((last.kind.as_str(), last.detail["to"]["state"].as_str()), ("transition", Some("in-stock")));
    assert_eq!(last.detail["reason"], json!(format!("found in audit {}", audit.id)));
    assert_eq!(t.app.get_asset(&sys(), loan).await.unwrap().state, State::OnLoan);
    assert_eq!(t.app.get_asset(&sys(), repair).await.unwrap().state, State::InRepair);
    assert_eq!(t.app.get_asset(&sys(), stock).await.unwrap().state, State::Missing);
});

both!(a_lost_asset_retired_or_disposed_later_is_written_off_once, |t| {
    let (_, cc, _, _) = seed_small(&t).await;
    // Bought in January 2025 over three years; a second laptop keeps every month's posting non-empty.
    let usd = json!({"cost_centre_id": cc, "purchase_date": "2025-01-15", "currency": "USD"});
    let lost = laptop(&t, "LT-LOST", usd.clone()).await;
    laptop(&t, "LT-KEPT", usd).await;
    // Lost on 22 November 2026 (the test clock): November writes it off.
    t.app
        .transition_asset(&sys(), lost.id, None, json!({"to": "lost", "reason": "left on a train"}))
        .await
        .unwrap();
    let nov = t.app.post_depreciation(&sys(), "2026-11").await.unwrap();
    assert_eq!((nov.assets, nov.write_offs, nov.import.status.as_str()), (2, 1, "active"));
    // A month that has not begun is refused before anything is recorded (no rejected import left behind).
    let imports = t.app.cost_imports(&sys(), None, None, 100).await.unwrap().len();
    let e = t.app.post_depreciation(&sys(), "2027-06").await.unwrap_err();
    assert!(format!("{e:?}").contains("2027-06 has not begun"), "{e:?}");
    assert_eq!(t.app.cost_imports(&sys(), None, None, 100).await.unwrap().len(), imports);
    // Its own schedule says the same: depreciated through November, then written off at what was left, worth
    // nothing from then on (before, it still had its value).
    let sc = t.app.depreciation_schedule(&sys(), lost.id, None).await.unwrap();
    let last = sc.months.last().unwrap();
    assert_eq!(last.month.to_string(), "2026-11-01", "the schedule ends with the month it left the books");
    let w = sc.written_off.clone().unwrap();
    assert_eq!((w.how.as_str(), w.month.as_str()), ("lost", "2026-11"));
    assert_eq!(w.book_value, last.closing.to_string());
    assert!(last.closing > dec("0"), "a three-year laptop had value left after 23 months");
    assert_eq!(sc.book_value_today, "0.00");
    let before =
        t.app.depreciation_schedule(&sys(), lost.id, Some(jiff::civil::date(2026, 10, 15))).await.unwrap();
    assert_eq!(before.book_value, sc.months[sc.months.len() - 2].closing.to_string());
    assert_eq!(t.app.tco(&sys(), lost.id).await.unwrap().book_value_today.as_deref(), Some("0.00"));
    let kept = t.app.find_asset(&sys(), "LT-KEPT").await.unwrap();
    let kept = t.app.depreciation_schedule(&sys(), kept.id, None).await.unwrap();
    assert!(kept.written_off.is_none() && kept.months.len() == 36 && kept.book_value_today != "0.00");
    // Retired in December, then disposed of with a date in January: still written off in November only, and
    // never depreciated after it.
    t.clock.set("2026-12-03T10:00:00Z".parse().unwrap());
    t.app
        .transition_asset(&sys(), lost.id, None, json!({"to": "retired", "reason": "written off"}))
        .await
        .unwrap();
    let nov_again = t.app.post_depreciation(&sys(), "2026-11").await.unwrap();
    assert_eq!((nov_again.assets, nov_again.write_offs), (2, 1));
    assert_eq!(nov_again.import.status, "duplicate", "retiring it changed nothing in November");
    let dec_ = t.app.post_depreciation(&sys(), "2026-12").await.unwrap();
    assert_eq!((dec_.assets, dec_.write_offs), (1, 0), "the lost laptop is off the books after November");
    assert_eq!(dec_.import.status, "active");
    let wiped = json!({"method": "remote wipe", "attested_by": "IT", "date": "2026-11-23"});
    let disposal =
        json!({"method": "destroy", "date": "2027-01-10", "reference": "POLICE-7", "sanitization": wiped});
    t.clock.set("2027-01-11T10:00:00Z".parse().unwrap());
    t.app
        .transition_asset(
            &sys(),
            lost.id,
            None,
            json!({"to": "disposed", "reason": "closed", "disposal": disposal}),
        )
        .await
        .unwrap();
    let jan = t.app.post_depreciation(&sys(), "2027-01").await.unwrap();
    assert_eq!((jan.assets, jan.write_offs), (1, 0), "a disposal after the loss writes nothing off again");
    let w = t.app.depreciation_schedule(&sys(), lost.id, None).await.unwrap().written_off.unwrap();
    assert_eq!((w.how.as_str(), w.month.as_str()), ("lost", "2026-11"), "written off when lost, not again");
    assert_eq!(jan.import.status, "active");
    // A disposal whose proceeds are not an amount is refused, and changes nothing.
    let other = laptop(&t, "LT-SOLD", json!({"cost_centre_id": cc, "currency": "USD"})).await;
    t.app.transition_asset(&sys(), other.id, None, json!({"to": "retired", "reason": "old"})).await.unwrap();
    for bad in ["abc", "-5.00"] {
        let disposal = json!({"method": "resell", "date": "2026-12-03", "reference": "RS-9", "proceeds": bad,
            "sanitization": wiped});
        let e = t
            .app
            .transition_asset(
                &sys(),
                other.id,
                None,
                json!({"to": "disposed", "reason": "sold", "disposal": disposal}),
            )
            .await
            .unwrap_err();
        assert_eq!(fields_of(&e), ["disposal.proceeds"], "{bad}");
        assert_eq!(t.app.get_asset(&sys(), other.id).await.unwrap().state, State::Retired);
    }
    let disposal = json!({"method": "resell", "date": "2026-12-03", "reference": "RS-9", "proceeds": "$1,150.5",
        "sanitization": wiped});
    let sold = t
        .app
        .transition_asset(
            &sys(),
            other.id,
            None,
            json!({"to": "disposed", "reason": "sold", "disposal": disposal}),
        )
        .await
        .unwrap();
    assert_eq!(sold.disposal.unwrap().proceeds.as_deref(), Some("1150.5"));
    // Stolen in December, found and checked back in in January, retired later: written off in December as
    // stolen, reinstated in January, depreciated throughout (the clock goes back to December for it).
    t.clock.set("2026-12-20T10:00:00Z".parse().unwrap());
    let found = laptop(
        &t,
        "LT-FOUND",
        json!({"cost_centre_id": cc, "purchase_date": "2025-01-15", "currency": "USD"}),
    )
    .await;
    t.app
        .transition_asset(&sys(), found.id, None, json!({"to": "stolen", "reason": "car break-in"}))
        .await
        .unwrap();
    t.clock.set("2027-01-20T10:00:00Z".parse().unwrap());
    t.app.check_in_asset(&sys(), found.id, json!({"reason": "police returned it"})).await.unwrap();
    // Retired in February: the theft it came back from is not written off again.
    t.clock.set("2027-02-05T10:00:00Z".parse().unwrap());
    t.app
        .transition_asset(&sys(), found.id, None, json!({"to": "retired", "reason": "spare"}))
        .await
        .unwrap();
    let dec_ = t.app.post_depreciation(&sys(), "2026-12").await.unwrap();
    assert_eq!(
        (dec_.assets, dec_.write_offs, dec_.reinstatements),
        (3, 2, 0),
        "LT-KEPT, LT-SOLD and LT-FOUND depreciating; LT-SOLD sold (at a gain) and LT-FOUND stolen"
    );
    let jan = t.app.post_depreciation(&sys(), "2027-01").await.unwrap();
    assert_eq!((jan.assets, jan.write_offs, jan.reinstatements), (2, 0, 1), "LT-FOUND back");
    let feb = t.app.post_depreciation(&sys(), "2027-02").await.unwrap();
    assert_eq!((feb.assets, feb.write_offs, feb.reinstatements), (2, 0, 0), "LT-KEPT and LT-FOUND");
});

both!(a_reinstatement_reverses_only_a_write_off_the_ledger_holds, |t| {
    let (_, cc, _, _) = seed_small(&t).await;
    let usd = json!({"cost_centre_id": cc, "currency": "USD"});
    let away = laptop(&t, "LT-AWAY", usd.clone()).await;
    laptop(&t, "LT-KEPT", usd).await;
    t.app
        .transition_asset(&sys(), away.id, None, json!({"to": "lost", "reason": "left on a train"}))
        .await
        .unwrap();
    t.clock.set("2027-02-10T10:00:00Z".parse().unwrap());
    t.app.check_in_asset(&sys(), away.id, json!({"reason": "found"})).await.unwrap();
    // Posting begins in February: November, the month of the loss, holds no write-off to reverse.
    let feb = t.app.post_depreciation(&sys(), "2027-02").await.unwrap();
    assert_eq!((feb.assets, feb.write_offs, feb.reinstatements), (2, 0, 0));
    // Once November is posted, with its write-off, February posted again reverses it.
    let nov = t.app.post_depreciation(&sys(), "2026-11").await.unwrap();
    assert_eq!((nov.write_offs, nov.reinstatements), (1, 0));
    let again = t.app.post_depreciation(&sys(), "2027-02").await.unwrap();
    assert_eq!((again.write_offs, again.reinstatements, again.import.status.as_str()), (0, 1, "active"));
});

both!(a_cancelled_order_and_a_disposal_dated_before_the_return_are_posted_once, |t| {
    use rust_decimal::Decimal;
    let (_, cc, _, _) = seed_small(&t).await;
    let usd = json!({"cost_centre_id": cc, "currency": "USD"});
    let kept = laptop(&t, "LT-KEPT", usd.clone()).await;
    let away = laptop(&t, "LT-AWAY", usd.clone()).await;
    // An order placed in January 2025 and cancelled: never on the books, whatever its purchase date says.
    let mut on_order = usd.clone();
    on_order["state"] = json!("on-order");
    let cancelled = laptop(&t, "LT-CANCELLED", on_order).await;
    t.app
        .transition_asset(&sys(), cancelled.id, None, json!({"to": "retired", "reason": "order cancelled"}))
        .await
        .unwrap();
    let schedule = t.app.depreciation_schedule(&sys(), kept.id, None).await.unwrap();
    let each = |m: &str| -> Decimal {
        let first: jiff::civil::Date = format!("{m}-01").parse().unwrap();
        schedule.months.iter().find(|s| s.month == first).map_or(Decimal::ZERO, |s| s.expense)
    };
    let book_after = |m: &str| -> Decimal {
        let last: jiff::civil::Date = format!("{m}-01").parse().unwrap();
        dec("1200.00")
            - schedule.months.iter().filter(|s| s.month <= last).map(|s| s.expense).sum::<Decimal>()
    };
    let oct = t.app.post_depreciation(&sys(), "2026-10").await.unwrap();
    assert_eq!(
        (oct.assets, oct.totals["USD"].clone()),
        (2, (each("2026-10") * Decimal::from(2)).to_string())
    );
    // LT-AWAY lost in November, found in February, then disposed of with a date in December (entered late):
    // the disposal takes effect in February, when it was back on the books.
    t.app
        .transition_asset(&sys(), away.id, None, json!({"to": "lost", "reason": "left on a train"}))
        .await
        .unwrap();
    t.clock.set("2027-02-10T10:00:00Z".parse().unwrap());
    t.app.check_in_asset(&sys(), away.id, json!({"reason": "found"})).await.unwrap();
    t.app
        .transition_asset(&sys(), away.id, None, json!({"to": "retired", "reason": "damaged"}))
        .await
        .unwrap();
    let disposal = json!({"method": "resell", "date": "2026-12-15", "reference": "RS-4", "proceeds": "100.00",
        "sanitization": {"method": "crypto erase", "attested_by": "IT", "date": "2026-12-14"}});
    t.app
        .transition_asset(
            &sys(),
            away.id,
            None,
            json!({"to": "disposed", "reason": "sold", "disposal": disposal}),
        )
        .await
        .unwrap();
    let mut posted = Decimal::ZERO;
    let mut counts = Vec::new();
    for m in ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03"] {
        if m == "2027-03" {
            // March is posted once it has begun.
            t.clock.set("2027-03-05T10:00:00Z".parse().unwrap());
        }
        let p = t.app.post_depreciation(&sys(), m).await.unwrap();
        counts.push((p.assets, p.write_offs, p.reinstatements));
        posted += Decimal::from_str_exact(&p.totals["USD"]).unwrap();
    }
    assert_eq!(counts, [(2, 1, 0), (1, 0, 0), (1, 0, 0), (2, 1, 1), (1, 0, 0)]);
    // November to March: the kept laptop's depreciation, and LT-AWAY's book value at the start less what it sold
    // for: nothing counted twice, nothing left out.
    let months = ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03"];
    let kept_total: Decimal = months.iter().map(|m| each(m)).sum();
    assert_eq!(posted, kept_total + book_after("2026-10") - dec("100.00"));
    // The report agrees: the cancelled order never, LT-AWAY in November and February only.
    let report = t
        .app
        .depreciation_by_cost_centre(&sys(), "2025-01-01".parse().unwrap(), "2027-03-01".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(report[0].assets, 2);
    let month = |m: &str| report[0].months.get(m).map(|v| v.parse::<Decimal>().unwrap());
    assert_eq!(month("2026-12"), Some(each("2026-12")));
    assert_eq!(month("2027-02"), Some(each("2027-02") * Decimal::from(2)));
    assert_eq!(month("2027-03"), Some(each("2027-03")));
});

both!(a_lost_asset_found_again_is_reinstated_in_the_month_it_comes_back, |t| {
    use rust_decimal::Decimal;
    use std::collections::BTreeMap;
    let (_, cc, _, _) = seed_small(&t).await;
    let usd = json!({"cost_centre_id": cc, "currency": "USD"});
    let away = laptop(&t, "LT-AWAY", usd.clone()).await;
    let kept = laptop(&t, "LT-KEPT", usd).await;
    let mut expense: BTreeMap<(i64, String), Decimal> = BTreeMap::new();
    for id in [away.id, kept.id] {
        for m in t.app.depreciation_schedule(&sys(), id, None).await.unwrap().months {
            expense.insert((id, m.month.strftime("%Y-%m").to_string()), m.expense);
        }
    }
    let of = |id: i64, month: &str| expense.get(&(id, month.to_string())).copied().unwrap_or_default();
    let book_after = |id: i64, month: &str| {
        dec("1200.00")
            - expense
                .iter()
                .filter(|((i, m), _)| *i == id && m.as_str() <= month)
                .map(|(_, e)| *e)
                .sum::<Decimal>()
    };
    // Lost on 22 November 2026 (the test clock): November writes it off at its book value after November.
    t.app
        .transition_asset(&sys(), away.id, None, json!({"to": "lost", "reason": "left on a train"}))
        .await
        .unwrap();
    let nov = t.app.post_depreciation(&sys(), "2026-11").await.unwrap();
    assert_eq!((nov.assets, nov.write_offs, nov.reinstatements), (2, 1, 0));
    let text = std::fs::read_to_string(&nov.file).unwrap();
    let written_off = book_after(away.id, "2026-11");
    assert!(written_off > Decimal::ZERO);
    assert!(text.contains(&format!("2026-11,{written_off},USD")), "{text}");
    // Found in February and checked back in.
    t.clock.set("2027-02-10T10:00:00Z".parse().unwrap());
    t.app.check_in_asset(&sys(), away.id, json!({"reason": "found in a drawer"})).await.unwrap();
    // November stays as posted: finding it later does not rewrite the month it was lost in.
    let nov_again = t.app.post_depreciation(&sys(), "2026-11").await.unwrap();
    assert_eq!(nov_again.import.status, "duplicate", "{:?}", nov_again.import.message);
    // Off the books while away: neither posted nor in the depreciation report.
    let mut posted = Decimal::from_str_exact(&nov.totals["USD"]).unwrap();
    for month in ["2026-12", "2027-01"] {
        let m = t.app.post_depreciation(&sys(), month).await.unwrap();
        assert_eq!((m.assets, m.write_offs, m.reinstatements), (1, 0, 0), "{month}");
        assert_eq!(m.totals["USD"], of(kept.id, month).to_string(), "{month}");
        posted += Decimal::from_str_exact(&m.totals["USD"]).unwrap();
    }
    let report = t
        .app
        .depreciation_by_cost_centre(&sys(), "2026-11-01".parse().unwrap(), "2027-02-01".parse().unwrap())
        .await
        .unwrap();
    let months = &report.iter().find(|r| r.cost_centre_id == Some(cc)).unwrap().months;
    assert_eq!(months["2026-12"], of(kept.id, "2026-12").to_string());
    assert_eq!(months["2027-02"], (of(kept.id, "2027-02") + of(away.id, "2027-02")).to_string());
    // February reinstates it at the value it would carry after January had it never left, and depreciates it.
    let feb = t.app.post_depreciation(&sys(), "2027-02").await.unwrap();
    assert_eq!((feb.assets, feb.write_offs, feb.reinstatements), (2, 0, 1));
    let text = std::fs::read_to_string(&feb.file).unwrap();
    let reinstated = book_after(away.id, "2027-01");
    assert!(text.contains(&format!("2027-02,-{reinstated},USD")), "{text}");
    assert!(text.contains("Reinstatement of LT-AWAY: lost in 2026-11, back"), "{text}");
    posted += Decimal::from_str_exact(&feb.totals["USD"]).unwrap();
    // November to February together cost exactly the two laptops' depreciation: the write-off less the
    // reinstatement is the depreciation of the months it was away.
    let months = ["2026-11", "2026-12", "2027-01", "2027-02"];
    let want: Decimal = months.iter().map(|m| of(kept.id, m) + of(away.id, m)).sum();
    assert_eq!(posted, want);
});

fn dec(s: &str) -> rust_decimal::Decimal {
    s.parse().unwrap()
}

both!(depreciation_enters_the_ledger_and_cloud_assets_show_their_cost, |t| {
    use itemize_app::ledger::{Dimension, LedgerQuery};
    use rust_decimal::Decimal;
    let (_, cc, _loc, _p) = seed_small(&t).await;
    let a = laptop(&t, "LT-1", json!({"cost_centre_id": cc, "currency": "USD"})).await;
    // No cost centre: its depreciation is posted unallocated, never dropped.
    let b = laptop(
        &t,
        "LT-2",
        json!({"currency": "USD", "purchase_cost": "3600.00", "purchase_date": "2025-03-10"}),
    )
    .await;
    let expense = |s: &itemize_app::asset_ops::Schedule, month: &str| -> Decimal {
        s.months
            .iter()
            .find(|m| m.month.strftime("%Y-%m").to_string() == month)
            .map_or(Decimal::ZERO, |m| m.expense)
    };
    let (sa, sb) = (
        t.app.depreciation_schedule(&sys(), a.id, None).await.unwrap(),
        t.app.depreciation_schedule(&sys(), b.id, None).await.unwrap(),
    );
    let (ea, eb) = (expense(&sa, "2025-06"), expense(&sb, "2025-06"));
    assert!(ea > Decimal::ZERO && eb > Decimal::ZERO);
    let totals = |t: &TestApp, period: &str| {
        let q = LedgerQuery {
            period_from: Some(period.into()),
            period_to: Some(period.into()),
            account: Some("Asset depreciation".into()),
            group_by: vec![Dimension::SubAccount],
            ..Default::default()
        };
        let app = t.app.clone();
        async move { app.ledger_totals(&sys(), &q).await.unwrap() }
    };
    let posted = t.app.post_depreciation(&sys(), "2025-06").await.unwrap();
    assert_eq!((posted.lines, posted.assets, posted.write_offs), (2, 2, 0));
    assert_eq!(posted.import.status, "active", "{:?}", posted.import.message);
    assert!(posted.file.ends_with("depreciation/depreciation-2025-06.csv"));
    let l = totals(&t, "2025-06").await;
    assert_eq!(l.total.effective_cost, ea + eb);
    let by: Vec<(Option<String>, Decimal)> =
        l.rows.iter().map(|r| (r.keys[0].clone(), r.effective_cost)).collect();
    assert_eq!(by, [(None, eb), (Some("CC-2".into()), ea)]);
    // The same month again, unchanged: a no-op that says so.
    let again = t.app.post_depreciation(&sys(), "2025-06").await.unwrap();
    assert_eq!(again.import.status, "duplicate");
    assert!(again.import.message.as_deref().unwrap_or_default().contains("nothing changed"));
    // The register changed: posting again restates the month instead of adding to it.
    t.app.update_asset(&sys(), b.id, None, json!({"purchase_cost": "7200.00"})).await.unwrap();
    let restated = t.app.post_depreciation(&sys(), "2025-06").await.unwrap();
    assert_eq!(restated.import.replaced, [posted.import.id]);
    assert_eq!(totals(&t, "2025-06").await.total.effective_cost, ea + eb * Decimal::from(2));

    // A disposal in June: June's depreciation, then the book value less the proceeds written off; nothing
    // after June.
    t.app.transition_asset(&sys(), a.id, None, json!({"to": "retired", "reason": "broken"})).await.unwrap();
    let disposal = json!({"method": "resell", "date": "2025-06-20", "reference": "RS-1", "proceeds": "100.00",
        "sanitization": {"method": "crypto erase", "attested_by": "IT", "date": "2025-06-19"}});
    t.app
        .transition_asset(
            &sys(),
            a.id,
            None,
            json!({"to": "disposed", "reason": "sold", "disposal": disposal}),
        )
        .await
        .unwrap();
    let june = t.app.post_depreciation(&sys(), "2025-06").await.unwrap();
    assert_eq!((june.lines, june.write_offs), (3, 1));
    let accumulated: Decimal = sa
        .months
        .iter()
        .filter(|m| m.month.strftime("%Y-%m").to_string().as_str() <= "2025-06")
        .map(|m| m.expense)
        .sum();
    let write_off = Decimal::new(120_000, 2) - accumulated - Decimal::new(10_000, 2);
    assert_eq!(totals(&t, "2025-06").await.total.effective_cost, ea + eb * Decimal::from(2) + write_off);
    let july = t.app.post_depreciation(&sys(), "2025-07").await.unwrap();
    assert_eq!((july.lines, july.assets, july.write_offs), (1, 1, 0), "the sold laptop is off the books");
    // Nothing depreciates in July any more: posting it again restates the earlier posting to nothing.
    t.app.update_asset(&sys(), b.id, None, json!({"depreciation_method": "none"})).await.unwrap();
    let zero = t.app.post_depreciation(&sys(), "2025-07").await.unwrap();
    assert_eq!((zero.assets, zero.import.replaced.clone()), (0, vec![july.import.id]));
    assert_eq!(totals(&t, "2025-07").await.total.effective_cost, Decimal::ZERO);
    // Changed back: the same file as the first July posting, read again and current again (not a duplicate).
    t.app.update_asset(&sys(), b.id, None, json!({"depreciation_method": "straight-line"})).await.unwrap();
    let back = t.app.post_depreciation(&sys(), "2025-07").await.unwrap();
    assert_eq!((back.import.status.as_str(), back.import.replaced.clone()), ("active", vec![zero.import.id]));
    assert_eq!(back.import.file_sha256, july.import.file_sha256, "the same bytes as the first posting");
    assert!(totals(&t, "2025-07").await.total.effective_cost > Decimal::ZERO);
    t.app.update_asset(&sys(), b.id, None, json!({"depreciation_method": "none"})).await.unwrap();
    t.app.post_depreciation(&sys(), "2025-07").await.unwrap();
    // A posting the ledger rejects (a currency without an exchange rate) is an error that says why, not a
    // success; nothing lands.
    laptop(&t, "LT-CHF", json!({"currency": "CHF", "purchase_date": "2025-01-15"})).await;
    let e = t.app.post_depreciation(&sys(), "2025-08").await.unwrap_err();
    assert!(e.to_string().contains("not posted") && e.to_string().contains("CHF"), "{e}");
    assert_eq!(totals(&t, "2025-08").await.total.lines, 0);
    // Nothing to post is refused clearly; a viewer may not post.
    let e = t.app.post_depreciation(&sys(), "2019-01").await.unwrap_err();
    assert!(e.to_string().contains("nothing to post"), "{e}");
    let viewer = Actor { role: Role::Viewer, ..sys() };
    assert!(matches!(t.app.post_depreciation(&viewer, "2025-08").await, Err(AppError::Forbidden(_))));

    // A cloud-resource asset's cost is the ledger's, summed independently from the fixture here.
    let path = fixture("focus-1.3/aws/focus_1_3_cost_and_usage_aws.csv");
    crate::cost_ledger::import(&t, &path, Default::default()).await;
    let mut by_resource: std::collections::HashMap<String, (usize, Decimal)> = Default::default();
    let mut rdr = csv::Reader::from_path(&path).unwrap();
    let h = rdr.headers().unwrap().clone();
    let (ri, ei) = (
        h.iter().position(|c| c == "ResourceId").unwrap(),
        h.iter().position(|c| c == "EffectiveCost").unwrap(),
    );
    for r in rdr.records() {
        let r = r.unwrap();
        if !r[ri].is_empty() {
            let e = by_resource.entry(r[ri].to_string()).or_default();
            e.0 += 1;
            e.1 += r[ei].parse::<Decimal>().unwrap();
        }
    }
    let (resource, (rows, want)) = by_resource.into_iter().max_by_key(|(k, (n, _))| (*n, k.clone())).unwrap();
    assert!(rows > 1, "a resource with several lines");
    let vm = t
        .app
        .create_asset(
            &sys(),
            json!({"tag": "CL-1", "name": "web", "class": "cloud-resource", "resource_id": resource}),
        )
        .await
        .unwrap();
    let cost = t.app.asset_resource_cost(&sys(), vm.id).await.unwrap();
    assert_eq!((cost.lines, cost.effective_total.clone()), (rows as u64, want.round_dp(2).to_string()));
    assert!(!cost.months.is_empty());
    // Its cost of ownership is its cost in the ledger (no purchase, no contract).
    let tco = t.app.tco(&sys(), vm.id).await.unwrap();
    let cloud = tco.cloud.as_ref().expect("a cloud resource's TCO holds its ledger cost");
    assert_eq!(cloud["effective"], json!(cost.effective_total));
    let total =
        if tco.currency == cost.currency { &tco.total } else { &tco.other_currencies[&cost.currency] };
    assert_eq!(total.parse::<Decimal>().unwrap(), cost.effective_total.parse::<Decimal>().unwrap());
    // An asset without a resource has none.
    assert!(t.app.tco(&sys(), b.id).await.unwrap().cloud.is_none(), "no resource, no cloud cost");
    let e = t.app.asset_resource_cost(&sys(), b.id).await.unwrap_err();
    assert!(e.to_string().contains("no resource_id"), "{e}");
});

both!(the_depreciation_report_counts_what_the_ledger_posts, |t| {
    use itemize_app::ledger::LedgerQuery;
    use rust_decimal::Decimal;
    let (_, cc, _, _) = seed_small(&t).await;
    // Four laptops bought in January 2025 over three years: one kept, one disposed of on 10 March 2026, one lost
    // on 5 May 2026, one still on order.
    let usd = json!({"cost_centre_id": cc, "purchase_date": "2025-01-15", "currency": "USD"});
    let kept = laptop(&t, "LT-KEPT", usd.clone()).await;
    let sold = laptop(&t, "LT-SOLD", usd.clone()).await;
    let lost = laptop(&t, "LT-LOST", usd.clone()).await;
    let mut on_order = usd.clone();
    on_order["state"] = json!("on-order");
    let ordered = laptop(&t, "LT-ORDER", on_order).await;
    assert_eq!(ordered.state, State::OnOrder);
    t.app.transition_asset(&sys(), sold.id, None, json!({"to": "retired", "reason": "old"})).await.unwrap();
    let disposal = json!({"method": "resell", "date": "2026-03-10", "reference": "RS-3", "proceeds": "100.00",
        "sanitization": {"method": "crypto erase", "attested_by": "IT", "date": "2026-03-09"}});
    t.app
        .transition_asset(
            &sys(),
            sold.id,
            None,
            json!({"to": "disposed", "reason": "sold", "disposal": disposal}),
        )
        .await
        .unwrap();
    t.clock.set("2026-05-05T10:00:00Z".parse().unwrap());
    t.app
        .transition_asset(&sys(), lost.id, None, json!({"to": "lost", "reason": "left on a train"}))
        .await
        .unwrap();
    t.clock.set(crate::harness::T0.parse().unwrap());

    // The laptops are alike: each depreciates by the same amount in a month.
    let schedule = t.app.depreciation_schedule(&sys(), kept.id, None).await.unwrap();
    let each = |m: &str| {
        let first: jiff::civil::Date = format!("{m}-01").parse().unwrap();
        schedule.months.iter().find(|s| s.month == first).unwrap().expense
    };
    let report = t
        .app
        .depreciation_by_cost_centre(&sys(), "2026-01-01".parse().unwrap(), "2026-12-01".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(report.len(), 1);
    let month = |m: &str| report[0].months.get(m).map(|v| v.parse::<Decimal>().unwrap());
    // The sold laptop depreciates through March, the lost one through May, the one on order never.
    for (m, laptops) in [("2026-02", 3), ("2026-03", 3), ("2026-04", 2), ("2026-05", 2), ("2026-06", 1)] {
        assert_eq!(month(m), Some(each(m) * Decimal::from(laptops)), "{m}");
    }
    assert_eq!(report[0].assets, 3);
    // The ledger posting agrees, in months without a write-off.
    for period in ["2026-04", "2026-06"] {
        t.app.post_depreciation(&sys(), period).await.unwrap();
        let q = LedgerQuery {
            period_from: Some(period.into()),
            period_to: Some(period.into()),
            account: Some("Asset depreciation".into()),
            ..Default::default()
        };
        let ledger = t.app.ledger_totals(&sys(), &q).await.unwrap();
        assert_eq!(Some(ledger.total.effective_cost), month(period), "{period}");
    }
    // July is posted while the fourth laptop is still on order; it arrives on 12 August. July stays as posted,
    // and August catches up the months of its schedule it spent on order (its schedule starts at the purchase
    // date, January 2025), so nothing of it goes unposted.
    let july = t.app.post_depreciation(&sys(), "2026-07").await.unwrap();
    assert_eq!((july.assets, july.import.status.as_str()), (1, "active"));
    t.clock.set("2026-08-12T10:00:00Z".parse().unwrap());
    t.app
        .transition_asset(&sys(), ordered.id, None, json!({"to": "in-stock", "reason": "received"}))
        .await
        .unwrap();
    let again = t.app.post_depreciation(&sys(), "2026-07").await.unwrap();
    assert_eq!(again.import.status, "duplicate", "receiving it does not rewrite July");
    let upto = |m: &str| -> Decimal {
        let last: jiff::civil::Date = format!("{m}-01").parse().unwrap();
        schedule.months.iter().filter(|s| s.month <= last).map(|s| s.expense).sum()
    };
    let report = t
        .app
        .depreciation_by_cost_centre(&sys(), "2026-07-01".parse().unwrap(), "2026-09-01".parse().unwrap())
        .await
        .unwrap();
    let month = |m: &str| report[0].months.get(m).map(|v| v.parse::<Decimal>().unwrap());
    assert_eq!(month("2026-07"), Some(each("2026-07")), "only the kept laptop in July");
    assert_eq!(month("2026-08"), Some(each("2026-08") + upto("2026-08")), "the arrival catches up");
    assert_eq!(month("2026-09"), Some(each("2026-09") * Decimal::from(2)));
    assert_eq!(report[0].assets, 2);
    let aug = t.app.post_depreciation(&sys(), "2026-08").await.unwrap();
    assert_eq!(aug.assets, 2);
    assert_eq!(
        aug.totals["USD"],
        month("2026-08").unwrap().to_string(),
        "the posting agrees with the report"
    );
});

both!(large_files_are_checked_on_two_threads_into_one_report_in_file_order, |t| {
    // 6,000 rows: past the size where the two halves of the file are checked at once. What each half finds comes
    // back in file order: warnings, errors (a tag repeated across the halves, a ragged row), locations to create.
    let mut csv = String::from("Asset Tag,Item Name,Category,Status,Email,Location\n");
    for i in 0..6000 {
        let row = match i {
            100 => "T-100,Laptop 100,Laptop,Deployed,ghost1@example.com,Site 0".to_string(),
            3000 => "T-3000,Laptop 3000,Laptop,Ready to Deploy,,Site 1,extra,cells".to_string(),
            3500 => "T-3500,Laptop 3500,Laptop,Deployed,ghost2@example.com,".to_string(),
            4000 => "t-10,Laptop 4000,Laptop,Ready to Deploy,,Site 2".to_string(),
            5000 => "T-5000,Laptop 5000,Laptop,Ready to Deploy,,Annex".to_string(),
            _ => format!("T-{i},Laptop {i},Laptop,Ready to Deploy,,Site {}", i % 3),
        };
        csv.push_str(&row);
        csv.push('\n');
    }
    let strict = t.app.import_assets(&sys(), csv.as_bytes(), &ImportOptions::default()).await.unwrap();
    assert!(!strict.committed && (strict.created, strict.rejected) == (0, 2), "{:?}", strict.errors);
    assert_eq!(strict.errors.len(), 2, "{:?}", strict.errors);
    assert_eq!(strict.errors[0].row, 3002);
    assert!(
        strict.errors[0].reason.starts_with("ragged row: it has 8 cells but the header has 6"),
        "{:?}",
        strict.errors
    );
    assert_eq!((strict.errors[1].row, strict.errors[1].reason.as_str()), (4002, "tag: repeats row 12"));
    let rows: Vec<&String> = strict.warnings.iter().filter(|w| w.starts_with("row ")).collect();
    assert_eq!(
        rows,
        [
            "row 102: Email `ghost1@example.com` is nobody in itemize's people; the asset is imported unassigned",
            "row 3502: Email `ghost2@example.com` is nobody in itemize's people; the asset is imported unassigned",
            "row 3502: deployed to nobody itemize knows and without a location; imported in stock",
        ]
    );
    let opts = ImportOptions { lenient: true, dry_run: true, ..Default::default() };
    let lenient = t.app.import_assets(&sys(), csv.as_bytes(), &opts).await.unwrap();
    assert_eq!(
        (lenient.created, lenient.rejected, lenient.committed),
        (5998, 2, false),
        "{:?}",
        lenient.errors
    );
    assert_eq!(lenient.created_locations, ["Site 0", "Site 1", "Site 2", "Annex"]);
    assert_eq!(t.app.store().session().await.unwrap().count_assets().await.unwrap(), 0);
});

both!(large_import_writes_ids_history_and_indexes, |t| {
    // Past the size where the import builds the register's indexes afresh, and several statements long on
    // either database (5,000 rows, then up to 5,000 on PostgreSQL or 50,000 on SQLite): ids follow the file's order, each asset has its "imported" event, every index is back.
    let (_, _, loc, _) = seed_small(&t).await;
    let indexes = |t: &TestApp, table: &'static str| {
        let store = t.app.store().clone();
        async move { store.session().await.unwrap().index_names(table).await.unwrap() }
    };
    let (before, events_before) = (indexes(&t, "assets").await, indexes(&t, "asset_events").await);
    assert!(before.len() > 10 && events_before.len() == 2, "{before:?} {events_before:?}");
    let foreign_keys = |t: &TestApp| {
        let store = t.app.store().clone();
        async move {
            let mut s = store.session().await.unwrap();
            (s.foreign_keys("assets").await.unwrap(), s.foreign_keys("asset_events").await.unwrap())
        }
    };
    let keys_before = foreign_keys(&t).await;
    assert_eq!((keys_before.0.len(), keys_before.1.len()), (5, 1), "{keys_before:?}");
    let rows = 10_500;
    let mut csv = String::from("tag,name,class,location_id,state,purchase_cost\n");
    for i in 0..rows {
        csv.push_str(&format!("BULK-{i:05},Asset {i},laptop,{loc},in-stock,{i}.50\n"));
    }
    // A dry run goes through the whole write and leaves nothing, the indexes included.
    let opts = ImportOptions { dry_run: true, ..Default::default() };
    let dry = t.app.import_assets(&sys(), csv.as_bytes(), &opts).await.unwrap();
    assert!(!dry.committed && dry.created == rows, "{:?}", dry.errors.first());
    assert_eq!(t.app.store().session().await.unwrap().count_assets().await.unwrap(), 0);
    assert_eq!(
        (indexes(&t, "assets").await, indexes(&t, "asset_events").await),
        (before.clone(), events_before.clone())
    );
    assert_eq!(foreign_keys(&t).await, keys_before);

    let r = t.app.import_assets(&sys(), csv.as_bytes(), &ImportOptions::default()).await.unwrap();
    assert!(r.committed && r.created == rows, "{:?}", r.errors.first());
    assert_eq!((indexes(&t, "assets").await, indexes(&t, "asset_events").await), (before, events_before));
    // The foreign keys (dropped for the load on PostgreSQL, checked in one pass when added back) are all there
    // and refuse what they refused before.
    assert_eq!(foreign_keys(&t).await, keys_before);
    if !t.url.starts_with("sqlite:") {
        for sql in [
            "UPDATE assets SET location_id = 987654 WHERE tag = 'BULK-00001'",
            "INSERT INTO asset_events (asset_id, at, actor, kind, detail) VALUES (987654, 'x', 'x', 'x', '{}')",
        ] {
            let e = crate::contract::try_raw(&t.url, sql).await.unwrap_err();
            assert!(e.contains("foreign key"), "{sql}: {e}");
        }
    }
    let mut s = t.app.store().session().await.unwrap();
    let mut last = 0;
    for i in [0, 999, 1000, 4999, 5000, 5001, 9999, 10_000, rows - 1] {
        let tag = format!("BULK-{i:05}");
        let a = t.app.find_asset(&sys(), &tag).await.unwrap();
        assert!(a.id > last, "ids follow the file's order at row {i}");
        last = a.id;
        assert_eq!(a.fields.purchase_cost.unwrap().to_string(), format!("{i}.50"));
        let events = s.asset_events(a.id).await.unwrap();
        assert_eq!(events.len(), 1, "{tag}");
        assert_eq!((events[0].kind.as_str(), events[0].actor.as_str()), ("imported", sys().name.as_str()));
        assert_eq!(events[0].detail["fields"]["tag"], json!(tag));
        assert_eq!(events[0].detail["format"], json!("itemize"));
        // The state and custody it came in with, as a created asset's history has them.
        assert_eq!(
            (&events[0].detail["custody"]["state"], &events[0].detail["custody"]["location_id"]),
            (&json!("in-stock"), &json!(loc)),
            "{tag}"
        );
    }
    assert_eq!(s.count_assets().await.unwrap(), rows as i64);
    // The rebuilt unique index still refuses a tag in another case.
    let e = t.app.create_asset(&sys(), json!({"tag": "bulk-00042", "name": "X", "class": "laptop"})).await;
    assert!(matches!(e, Err(AppError::Conflict { .. })), "{e:?}");
    // A second one as large into a register no longer empty writes into the indexes as it goes.
    let more: String = std::iter::once("tag,name,class\n".to_string())
        .chain((0..rows).map(|i| format!("MORE-{i:05},More {i},desktop\n")))
        .collect();
    let r = t.app.import_assets(&sys(), more.as_bytes(), &ImportOptions::default()).await.unwrap();
    assert!(r.committed && r.created == rows, "{:?}", r.errors.first());
    assert_eq!(s.count_assets().await.unwrap(), 2 * rows as i64);
    let a = t.app.find_asset(&sys(), "MORE-10499").await.unwrap();
    assert_eq!(s.asset_events(a.id).await.unwrap()[0].detail["fields"]["name"], json!("More 10499"));
    // The file's tags are looked up in the register as the register compares them: a row whose tag differs only
    // in case updates that asset instead of adding a second one.
    let r = t
        .app
        .import_assets(
            &sys(),
            b"tag,name,class\nmore-10499,Renamed,desktop\nNEW-1,New,desktop\n",
            &ImportOptions::default(),
        )
        .await
        .unwrap();
    assert!(r.committed && (r.created, r.updated) == (1, 1), "{r:?}");
    assert_eq!(s.count_assets().await.unwrap(), 2 * rows as i64 + 1);
    assert_eq!(t.app.find_asset(&sys(), "MORE-10499").await.unwrap().fields.name, "Renamed");
});

both!(a_month_posted_again_charges_the_cost_centre_the_asset_had_then, |t| {
    use itemize_app::ledger::{Dimension, LedgerQuery};
    let (top, sub, _, _) = seed_small(&t).await;
    let a = laptop(&t, "LT-MOVE", json!({"cost_centre_id": top, "currency": "USD"})).await;
    let by_cc = |period: &'static str| {
        let q = LedgerQuery {
            period_from: Some(period.into()),
            period_to: Some(period.into()),
            account: Some("Asset depreciation".into()),
            group_by: vec![Dimension::SubAccount],
            ..Default::default()
        };
        let app = t.app.clone();
        async move {
            app.ledger_totals(&sys(), &q)
                .await
                .unwrap()
                .rows
                .iter()
                .map(|r| r.keys[0].clone())
                .collect::<Vec<_>>()
        }
    };
    t.app.post_depreciation(&sys(), "2025-06").await.unwrap();
    assert_eq!(by_cc("2025-06").await, [Some("CC-1".to_string())]);
    // The laptop moves to CC-2 today: June 2025 posted again stays CC-1's, this month is CC-2's.
    t.app.update_asset(&sys(), a.id, None, json!({"cost_centre_id": sub})).await.unwrap();
    let again = t.app.post_depreciation(&sys(), "2025-06").await.unwrap();
    assert_eq!(again.import.status, "duplicate", "nothing changed in June 2025");
    assert_eq!(by_cc("2025-06").await, [Some("CC-1".to_string())]);
    t.app.post_depreciation(&sys(), "2026-11").await.unwrap();
    assert_eq!(by_cc("2026-11").await, [Some("CC-2".to_string())]);
    // The depreciation report splits the same way.
    let report = t
        .app
        .depreciation_by_cost_centre(&sys(), "2025-06-01".parse().unwrap(), "2026-11-01".parse().unwrap())
        .await
        .unwrap();
    let ccs: Vec<Option<i64>> = report.iter().map(|r| r.cost_centre_id).collect();
    assert_eq!(ccs, [Some(top), Some(sub)]);
    assert!(report[0].months.keys().all(|m| m.as_str() < "2026-11"), "{:?}", report[0].months.keys());
    // A user limited to CC-1 still sees the months the laptop was CC-1's, though it is CC-2's now.
    let cc1 = Actor { scope: Some([top].into_iter().collect()), ..sys() };
    let theirs = t
        .app
        .depreciation_by_cost_centre(&cc1, "2025-06-01".parse().unwrap(), "2026-11-01".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!((theirs[0].cost_centre_id, &theirs[0].months), (Some(top), &report[0].months));
});

// An audit of a building covers its floors and rooms: what sits on a floor is expected, and found there, not
// "unexpected"; an audit of the site around it waits until the building's is closed.
both!(an_audit_covers_the_places_within_its_location, |t| {
    use itemize_core::refdata::Location;
    let (_, cc, site, _) = seed_small(&t).await;
    let place = |code: &str, kind: &str, parent: i64| {
        let app = t.app.clone();
        let v = json!({"code": code, "name": code, "kind": kind, "parent_id": parent, "country": "GB"});
        async move { app.create::<Location>(&sys(), v).await.unwrap().id.get() }
    };
    let building = place("LON-B1", "building", site).await;
    let floor = place("LON-B1-F3", "floor", building).await;
    let mk = |tag: &str, at: i64| {
        let app = t.app.clone();
        let v = json!({"tag": tag, "name": tag, "class": "laptop", "cost_centre_id": cc, "location_id": at});
        async move { app.create_asset(&sys(), v).await.unwrap().id }
    };
    let upstairs = mk("FL-1", floor).await;
    let lobby = mk("SITE-1", site).await;
    let audit = t.app.start_audit(&sys(), building).await.unwrap();
    assert_eq!(audit.expected, 1, "the floor's laptop, not the site's");
    assert_eq!(t.app.scan(&sys(), audit.id, "FL-1").await.unwrap().result, "found");
    let e = t.app.start_audit(&sys(), site).await.unwrap_err();
    assert!(format!("{e:?}").contains("a place within or around it is still open"), "{e:?}");
    let closed = t.app.close_audit(&sys(), audit.id, false).await.unwrap();
    assert_eq!((closed.found.clone(), closed.accuracy.as_str()), (vec![upstairs], "100.0"));
    assert_eq!(t.app.get_asset(&sys(), upstairs).await.unwrap().fields.location_id, Some(floor), "not moved");
    let whole = t.app.start_audit(&sys(), site).await.unwrap();
    assert_eq!(whole.expected, 2);
    let _ = lobby;
});
