//! The storage contract: every storage operation, run against SQLite and PostgreSQL alike.

use itemize_core::refdata::{CostCentre, Kind, Person, RefKind, Vendor};
use itemize_core::{CostCentreId, PersonId};
use itemize_store::{Archived, ListQuery, SortValue, StoreError, Value};
use jiff::Timestamp;
use serde_json::json;

fn t1() -> Timestamp {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

fn cc(code: &str, name: &str) -> CostCentre {
    CostCentre::from_json(json!({"code": code, "name": name, "currency": "USD"})).unwrap()
}

fn person(n: usize, cc: Option<i64>) -> Person {
    Person::from_json(json!({
        "employee_id": format!("E{n:04}"), "name": format!("Person {:04}", (n * 7919) % 1000),
        "email": format!("p{n}@corp.example"), "cost_centre_id": cc, "status": if n.is_multiple_of(5) { "leaver" } else { "active" },
        "leave_date": if n.is_multiple_of(5) { Some("2026-10-01") } else { None },
    }))
    .unwrap()
}

fn query(sort: &'static str, descending: bool, limit: u32) -> ListQuery {
    ListQuery {
        filters: vec![],
        search: None,
        scope: None,
        archived: Archived::Exclude,
        sort,
        descending,
        after: None,
        limit,
    }
}

both!(insert_get_update_archive, |t| {
    let now: Timestamp = crate::harness::T0.parse().unwrap();
    let mut tx = t.store().transaction().await.unwrap();
    let rec = tx.insert(&cc("CC-1", "Technology"), now).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(rec.meta.version, 1);
    assert_eq!(rec.meta.created_at, now);
    let mut s = t.store().session().await.unwrap();
    let got = s.get::<CostCentre>(rec.id).await.unwrap().unwrap();
    assert_eq!(got, rec);
    assert!(s.get::<CostCentre>(CostCentreId::new(999)).await.unwrap().is_none());
    drop(s);

    let mut tx = t.store().transaction().await.unwrap();
    let changed = tx.update(rec.id, Some(1), &cc("CC-1", "Tech"), t1()).await.unwrap();
    assert_eq!((changed.meta.version, changed.fields.name.as_str()), (2, "Tech"));
    assert_eq!((changed.meta.created_at, changed.meta.updated_at), (now, t1()));
    // A stale version changes nothing and says what the version is now.
    match tx.update(rec.id, Some(1), &cc("CC-1", "Stale"), t1()).await {
        Err(StoreError::VersionConflict { current: 2 }) => {}
        other => panic!("expected a version conflict, got {other:?}"),
    }
    assert!(matches!(
        tx.update(CostCentreId::new(999), None, &cc("X", "x"), t1()).await,
        Err(StoreError::NotFound)
    ));
    let archived = tx.set_archived::<CostCentre>(rec.id, true, Some(2), t1()).await.unwrap();
    assert_eq!((archived.meta.archived_at, archived.meta.version), (Some(t1()), 3));
    assert!(matches!(
        tx.set_archived::<CostCentre>(rec.id, false, Some(2), t1()).await,
        Err(StoreError::VersionConflict { current: 3 })
    ));
    let restored = tx.set_archived::<CostCentre>(rec.id, false, None, t1()).await.unwrap();
    assert_eq!(restored.meta.archived_at, None);
    tx.commit().await.unwrap();
    assert_eq!(
        t.store().session().await.unwrap().get::<CostCentre>(rec.id).await.unwrap().unwrap().fields.name,
        "Tech"
    );
});

both!(transactions_are_all_or_nothing, |t| {
    let now: Timestamp = crate::harness::T0.parse().unwrap();
    let mut tx = t.store().transaction().await.unwrap();
    tx.insert(&cc("CC-1", "One"), now).await.unwrap();
    tx.insert(&cc("CC-2", "Two"), now).await.unwrap();
    tx.rollback().await.unwrap();
    {
        let mut tx = t.store().transaction().await.unwrap();
        tx.insert(&cc("CC-3", "Three"), now).await.unwrap();
        // dropped without commit
    }
    assert_eq!(t.store().session().await.unwrap().count(Kind::CostCentre, true).await.unwrap(), 0);
});

both!(unique_and_foreign_keys_are_enforced_by_the_database, |t| {
    let now: Timestamp = crate::harness::T0.parse().unwrap();
    let mut tx = t.store().transaction().await.unwrap();
    tx.insert(&cc("CC-1", "One"), now).await.unwrap();
    match tx.insert(&cc("cc-1", "Case differs"), now).await {
        Err(StoreError::Unique { field }) => assert_eq!(field, "code"),
        other => panic!("expected a unique violation, got {other:?}"),
    }
    tx.rollback().await.unwrap();

    let mut tx = t.store().transaction().await.unwrap();
    tx.insert(&person(1, None), now).await.unwrap();
    let mut dup = person(2, None);
    dup.email = "P1@corp.example".to_lowercase();
    match tx.insert(&dup, now).await {
        Err(StoreError::Unique { field }) => assert_eq!(field, "email"),
        other => panic!("expected a unique violation on email, got {other:?}"),
    }
    tx.rollback().await.unwrap();

    let mut tx = t.store().transaction().await.unwrap();
    assert!(matches!(tx.insert(&person(3, Some(4242)), now).await, Err(StoreError::ForeignKey)));
});

both!(keyset_pagination_visits_every_record_once_in_order, |t| {
    let now: Timestamp = crate::harness::T0.parse().unwrap();
    let mut tx = t.store().transaction().await.unwrap();
    let c = tx.insert(&cc("CC-1", "One"), now).await.unwrap();
    for n in 1..=57 {
        tx.insert(&person(n, if n.is_multiple_of(3) { Some(c.id.get()) } else { None }), now).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut s = t.store().session().await.unwrap();
    let everyone = s.all::<Person>(false).await.unwrap();
    assert_eq!(everyone.len(), 57);
    for (sort, desc) in
        [("name", false), ("name", true), ("email", false), ("id", false), ("id", true), ("status", false)]
    {
        let mut q = query(sort, desc, 10);
        let mut seen: Vec<(String, i64)> = Vec::new();
        loop {
            let (page, more) = s.list::<Person>(&q).await.unwrap();
            assert!(page.len() <= 10);
            for (r, _) in &page {
                let key = r.fields.to_json()[sort].as_str().map(str::to_string).unwrap_or_default();
                seen.push((key, r.id.get()));
            }
            if !more {
                break;
            }
            let (last, key) = page.last().unwrap();
            q.after = Some((key.clone(), last.id.get()));
        }
        let mut expected: Vec<(String, i64)> = everyone
            .iter()
            .map(|r| (r.fields.to_json()[sort].as_str().map(str::to_string).unwrap_or_default(), r.id.get()))
            .collect();
        expected.sort();
        if desc {
            expected.reverse();
        }
        assert_eq!(seen, expected, "sort {sort} desc={desc}");
    }
    // Filters, search and the archived switch.
    let mut q = query("name", false, 100);
    q.filters = vec![("cost_centre_id", Value::int(c.id.get())), ("status", Value::text("active"))];
    let (page, _) = s.list::<Person>(&q).await.unwrap();
    let expected = (1..=57usize).filter(|n| n.is_multiple_of(3) && !n.is_multiple_of(5)).count();
    assert_eq!(page.len(), expected);
    let mut q = query("name", false, 100);
    q.search = Some("P1%".into());
    assert!(s.list::<Person>(&q).await.unwrap().0.is_empty(), "% is matched literally");
    q.search = Some("P5@CORP".into());
    let (page, _) = s.list::<Person>(&q).await.unwrap();
    assert_eq!(page.iter().map(|(r, _)| r.fields.employee_id.as_str()).collect::<Vec<_>>(), ["E0005"]);
    drop(s);
    let mut tx = t.store().transaction().await.unwrap();
    tx.set_archived::<Person>(PersonId::new(page[0].0.id.get()), true, None, now).await.unwrap();
    tx.commit().await.unwrap();
    let mut s = t.store().session().await.unwrap();
    let (live, _) = s.list::<Person>(&query("id", false, 1000)).await.unwrap();
    assert_eq!(live.len(), 56);
    let mut q = query("id", false, 1000);
    q.archived = Archived::Only;
    assert_eq!(s.list::<Person>(&q).await.unwrap().0.len(), 1);
    q.archived = Archived::Include;
    assert_eq!(s.list::<Person>(&q).await.unwrap().0.len(), 57);
    assert_eq!(s.count(Kind::Person, false).await.unwrap(), 56);
    assert_eq!(s.count(Kind::Person, true).await.unwrap(), 57);
    let (first, _) = s.list::<Person>(&query("id", false, 1)).await.unwrap();
    assert!(matches!(first[0].1, SortValue::Int(_)));
});

both!(lookups_natural_keys_labels_hierarchy_and_settings, |t| {
    let now: Timestamp = crate::harness::T0.parse().unwrap();
    let mut tx = t.store().transaction().await.unwrap();
    let a = tx.insert(&cc("CC-A", "Alpha"), now).await.unwrap();
    let mut child = cc("CC-B", "Beta");
    child.parent_id = Some(a.id);
    let b = tx.insert(&child, now).await.unwrap();
    let v = Vendor::from_json(json!({"name": "Amazon Web Services", "aliases": ["AWS"]})).unwrap();
    let vr = tx.insert(&v, now).await.unwrap();
    assert_eq!(vr.fields.aliases, ["AWS"]);
    tx.put_setting("demo", "{\"seed\":1}", now).await.unwrap();
    tx.put_setting("demo", "{\"seed\":2}", t1()).await.unwrap();
    tx.commit().await.unwrap();

    let mut s = t.store().session().await.unwrap();
    let mut keys = s.natural_keys(Kind::CostCentre).await.unwrap();
    keys.sort();
    assert_eq!(keys, vec![(a.id.get(), "CC-A".to_string()), (b.id.get(), "CC-B".to_string())]);
    let ids = s.existing_ids(Kind::CostCentre, &[a.id.get(), 999]).await.unwrap();
    assert_eq!(ids.into_iter().collect::<Vec<_>>(), vec![a.id.get()]);
    assert_eq!(s.hierarchy(Kind::CostCentre).await.unwrap(), [(b.id.get(), a.id.get())].into());
    let labels = s.labels(Kind::CostCentre, &[a.id.get(), a.id.get()], None).await.unwrap();
    assert_eq!(labels[&a.id.get()], "Alpha (CC-A)");
    assert_eq!(
        s.labels(Kind::Vendor, &[vr.id.get()], None).await.unwrap()[&vr.id.get()],
        "Amazon Web Services"
    );
    let only_b = [b.id.get()];
    let scoped =
        s.labels(Kind::CostCentre, &[a.id.get(), b.id.get()], Some(("id", &only_b[..]))).await.unwrap();
    assert_eq!(scoped.keys().copied().collect::<Vec<_>>(), vec![b.id.get()], "labels respect a scope");
    assert_eq!(
        s.count_scoped(Kind::CostCentre, false, Some(("parent_id", &[a.id.get()][..]))).await.unwrap(),
        1
    );
    assert_eq!(s.count_scoped(Kind::CostCentre, false, Some(("id", &[][..]))).await.unwrap(), 0);
    assert_eq!(s.setting("demo").await.unwrap().as_deref(), Some("{\"seed\":2}"));
    assert_eq!(s.setting("nothing").await.unwrap(), None);
    let all = s.all::<CostCentre>(false).await.unwrap();
    assert_eq!(all.iter().map(|r| r.fields.code.as_str()).collect::<Vec<_>>(), ["CC-A", "CC-B"]);
});

both!(migrations_are_idempotent_and_refuse_newer_or_edited_schemas, |t| {
    let st = t.store().migration_status().await.unwrap();
    assert!(st.is_current());
    assert_eq!(st.database_version(), itemize_store::MIGRATIONS.last().unwrap().version);
    assert!(t.store().migrate(t1()).await.unwrap().is_empty(), "a second migrate applies nothing");
    t.store().require_current_schema().await.unwrap();

    raw(&t.url, "UPDATE itemize_migrations SET checksum = 'edited' WHERE version = 1").await;
    assert!(matches!(
        t.store().migration_status().await,
        Err(StoreError::MigrationEdited { version: 1, .. })
    ));
    let good = itemize_store::MIGRATIONS[0].checksum();
    raw(&t.url, &format!("UPDATE itemize_migrations SET checksum = '{good}' WHERE version = 1")).await;

    raw(&t.url, "INSERT INTO itemize_migrations (version, name, checksum, applied_at) VALUES (999, 'future', 'x', 'x')").await;
    match t.store().migrate(t1()).await {
        Err(e @ StoreError::SchemaTooNew { database: 999, .. }) => {
            assert!(e.to_string().contains("newer than this itemize binary"), "{e}")
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert!(t.store().require_current_schema().await.is_err());
});

/// Runs one statement outside the storage layer; the database's error text on failure.
pub async fn try_raw(url: &str, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    let result = if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut c).await.map(|_| ())
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut c).await.map(|_| ())
    };
    result.map_err(|e| e.to_string())
}

/// Runs one statement outside the storage layer (to simulate other binaries and manual edits).
pub async fn raw(url: &str, sql: &str) {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut c).await.unwrap();
    }
}

both!(accounts_sessions_tokens_failures_and_audit, |t| {
    use itemize_store::{AuditQuery, SessionRow, TokenRow};
    let now: Timestamp = crate::harness::T0.parse().unwrap();
    let mut tx = t.store().transaction().await.unwrap();
    tx.insert_user("Ann", Some("Ann A"), "viewer", "$argon2id$hash", now).await.unwrap();
    assert!(matches!(tx.insert_user("ANN", None, "viewer", "h", now).await, Err(StoreError::Unique { .. })));
    tx.rollback().await.unwrap();
    let mut tx = t.store().transaction().await.unwrap();
    let cc = tx.insert(&cc("CC-1", "One"), now).await.unwrap().id.get();
    let u = tx.insert_user("Ann", Some("Ann A"), "viewer", "$argon2id$hash", now).await.unwrap();
    tx.set_user_scopes(u.id, &[cc]).await.unwrap();
    assert_eq!(tx.user_scopes(u.id).await.unwrap(), vec![cc]);
    assert_eq!(
        tx.user_by_name("ann").await.unwrap().unwrap().id,
        u.id,
        "user names match case-insensitively"
    );
    let mut changed = u.clone();
    changed.role = "finance".into();
    let changed = tx.update_user(&changed, Some(1), t1()).await.unwrap();
    assert_eq!((changed.version, changed.role.as_str()), (2, "finance"));
    assert!(matches!(
        tx.update_user(&changed, Some(1), t1()).await,
        Err(StoreError::VersionConflict { current: 2 })
    ));
    assert_eq!(tx.users().await.unwrap().len(), 1);
    assert_eq!(tx.count_users().await.unwrap(), 1);

    let session = SessionRow {
        id_hash: "h1".into(),
        user_id: u.id,
        csrf_token: "c".into(),
        created_at: now,
        last_seen_at: now,
        expires_at: t1(),
        address: Some("10.0.0.1".into()),
    };
    tx.insert_session(&session).await.unwrap();
    tx.touch_session("h1", t1()).await.unwrap();
    assert_eq!(tx.session_by_hash("h1").await.unwrap().unwrap().last_seen_at, t1());
    assert_eq!(tx.delete_user_sessions(u.id).await.unwrap(), 1);
    assert!(tx.session_by_hash("h1").await.unwrap().is_none());
    tx.insert_session(&session).await.unwrap();
    tx.delete_session("h1").await.unwrap();
    assert!(tx.session_by_hash("h1").await.unwrap().is_none());

    let token = tx
        .insert_token(&TokenRow {
            id: 0,
            user_id: u.id,
            name: "ci".into(),
            prefix: "itm_abcdef".into(),
            token_hash: "digest".into(),
            read_only: true,
            created_at: now,
            expires_at: Some(t1()),
            revoked_at: None,
            last_used_at: None,
        })
        .await
        .unwrap();
    assert!(token.read_only && token.id > 0);
    assert_eq!(tx.token_by_hash("digest").await.unwrap().unwrap().id, token.id);
    tx.touch_token(token.id, t1()).await.unwrap();
    tx.revoke_token(token.id, t1()).await.unwrap();
    let after = tx.token(token.id).await.unwrap().unwrap();
    assert_eq!((after.last_used_at, after.revoked_at), (Some(t1()), Some(t1())));
    assert_eq!(tx.tokens(Some(u.id)).await.unwrap().len(), 1);
    assert_eq!(tx.tokens(Some(u.id + 1)).await.unwrap().len(), 0);

    // The compare-and-swap behind sign-in back-off.
    assert!(tx.swap_login_failure("account:ann", None, 1, None, now).await.unwrap());
    assert!(!tx.swap_login_failure("account:ann", None, 1, None, now).await.unwrap(), "the row exists now");
    assert!(
        !tx.swap_login_failure("account:ann", Some(7), 8, None, now).await.unwrap(),
        "a stale count loses"
    );
    assert!(tx.swap_login_failure("account:ann", Some(1), 2, Some(t1()), now).await.unwrap());
    let f = tx.login_failure("account:ann").await.unwrap().unwrap();
    assert_eq!((f.failures, f.locked_until), (2, Some(t1())));
    tx.clear_login_failures("account:ann").await.unwrap();
    assert!(tx.login_failure("account:ann").await.unwrap().is_none());

    for (n, kind) in ["people", "people", "vendors"].iter().enumerate() {
        let after = serde_json::json!({"n": n});
        tx.append_audit(
            now,
            Some(u.id),
            "Ann",
            "session",
            Some("10.0.0.1"),
            "update",
            kind,
            Some(7),
            None,
            Some(&after),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let mut s = t.store().session().await.unwrap();
    let q = AuditQuery { kind: Some("people".into()), limit: 1, ..Default::default() };
    let (page, more) = s.audit(&q).await.unwrap();
    assert_eq!((page.len(), more, page[0].after.clone()), (1, true, Some(serde_json::json!({"n": 1}))));
    let q = AuditQuery {
        kind: Some("people".into()),
        before_id: Some(page[0].id),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(s.audit(&q).await.unwrap().0.len(), 1, "continues below the cursor");
    let q = AuditQuery { actor_id: Some(u.id), from: Some(t1()), limit: 10, ..Default::default() };
    assert_eq!(s.audit(&q).await.unwrap().0.len(), 0, "nothing at or after t1");
});
