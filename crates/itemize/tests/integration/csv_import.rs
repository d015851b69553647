//! CSV import and export of reference data, on both backends: all or nothing, errors by row and column,
//! round trips, the demo's own files.

use itemize_app::demo_gen::generate;
use itemize_core::refdata::{CostCentre, Kind, Person, Vendor};
use serde_json::json;

async fn import(
    t: &crate::harness::TestApp,
    kind: Kind,
    csv: &str,
    dry_run: bool,
) -> itemize_app::csvio::ImportReport {
    t.app.import_csv(&crate::harness::sys(), kind, csv.as_bytes(), dry_run).await.unwrap()
}

async fn export(t: &crate::harness::TestApp, kind: Kind) -> String {
    let mut out = Vec::new();
    t.app.export_csv(&crate::harness::sys(), kind, &mut out, false).await.unwrap();
    String::from_utf8(out).unwrap()
}

async fn count(t: &crate::harness::TestApp, kind: Kind) -> i64 {
    t.store().session().await.unwrap().count(kind, true).await.unwrap()
}

const KINDS_IN_ORDER: [Kind; 5] =
    [Kind::Location, Kind::CostCentre, Kind::Person, Kind::Service, Kind::Vendor];

both!(demo_files_import_and_export_round_trips, |t| {
    let files = generate(7, jiff::civil::date(2026, 11, 22));
    let kinds =
        [Kind::Location, Kind::CostCentre, Kind::Person, Kind::CostCentre, Kind::Service, Kind::Vendor];
    for (f, kind) in files.iter().zip(kinds) {
        let r = import(&t, kind, &f.contents, false).await;
        assert!(r.is_ok() && r.committed, "{}: {:?}", f.name, r.errors);
    }
    assert_eq!(count(&t, Kind::CostCentre).await, 40);
    assert_eq!(count(&t, Kind::Service).await, 60);
    let people = count(&t, Kind::Person).await;
    assert!((1450..=1550).contains(&people), "{people}");
    let owners = t.app.list::<CostCentre>(&crate::harness::sys(), &Default::default()).await.unwrap();
    assert!(owners.items.iter().all(|c| c.fields.owner_id.is_some()), "the owners file filled every owner");

    // Export, then import the export: nothing changes.
    let mut exports = Vec::new();
    for kind in KINDS_IN_ORDER {
        let csv = export(&t, kind).await;
        let r = import(&t, kind, &csv, false).await;
        assert_eq!((r.created, r.updated, r.unchanged), (0, 0, r.rows), "{kind}: {:?}", r.errors);
        exports.push(csv);
    }
    // And into an empty database: the same files come back out. Cost centres name their owners, who are
    // people, who belong to cost centres: so cost centres go in without the owner column first, and again
    // in full once the people exist.
    let fresh = crate::harness::TestApp::sqlite().await;
    let without_owners: String = exports[1]
        .lines()
        .map(|l| {
            let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(l.as_bytes());
            let rec = r.records().next().unwrap().unwrap();
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(rec.iter().enumerate().filter(|(i, _)| *i != 3).map(|(_, v)| v)).unwrap();
            String::from_utf8(w.into_inner().unwrap()).unwrap()
        })
        .collect();
    let r = import(&fresh, Kind::Location, &exports[0], false).await;
    assert!(r.is_ok(), "{:?}", r.errors);
    let r = import(&fresh, Kind::CostCentre, &without_owners, false).await;
    assert!(r.is_ok(), "{:?}", r.errors);
    let r = import(&fresh, Kind::CostCentre, &exports[1], false).await;
    assert_eq!(r.error_count, 40, "owners are refused by name while the people are missing");
    assert_eq!(r.errors[0].reason, "no person has employee id `E00002`");
    for (kind, csv) in KINDS_IN_ORDER.iter().zip(&exports).skip(2) {
        let r = import(&fresh, *kind, csv, false).await;
        assert!(r.is_ok(), "{kind}: {:?}", r.errors);
    }
    let r = import(&fresh, Kind::CostCentre, &exports[1], false).await;
    assert_eq!((r.updated, r.error_count), (40, 0), "{:?}", r.errors);
    for (kind, csv) in KINDS_IN_ORDER.iter().zip(&exports) {
        assert_eq!(&export(&fresh, *kind).await, csv, "{kind}");
    }
});

both!(a_bad_file_is_refused_whole_with_every_problem_named, |t| {
    crate::harness::seed_small(&t).await;
    let before = export(&t, Kind::Person).await;
    let csv = "employee_id,name,email,cost_centre_code,manager_employee_id,status,leave_date\n\
               E10,Good Row,good@corp.example,CC-1,,active,\n\
               E11,Bad Email,not-an-email,CC-1,,active,\n\
               E12,Unknown CC,u@corp.example,CC-404,,active,\n\
               E13,Leaver,l@corp.example,CC-2,,leaver,\n\
               ,No Key,k@corp.example,,,,\n\
               E10,Again,again@corp.example,,,,\n\
               E14,Bad Manager,m@corp.example,,E999,,\n";
    let r = import(&t, Kind::Person, csv, false).await;
    assert!(!r.committed);
    let got: Vec<(u64, Option<&str>, Option<&str>)> =
        r.errors.iter().map(|e| (e.row, e.column.as_deref(), e.value.as_deref())).collect();
    assert_eq!(
        got,
        vec![
            (3, Some("email"), Some("not-an-email")),
            (4, Some("cost_centre_code"), Some("CC-404")),
            (5, Some("leave_date"), Some("")),
            (6, Some("employee_id"), Some("")),
            (7, Some("employee_id"), Some("E10")),
            (8, Some("manager_employee_id"), Some("E999")),
        ]
    );
    assert_eq!(r.errors[1].reason, "no cost centre has code `CC-404`");
    assert_eq!(r.errors[4].reason, "appears again; first at row 2");
    assert_eq!(r.error_count, 6);
    assert_eq!(export(&t, Kind::Person).await, before, "nothing was written, not even the good row");

    // Header problems are row 1.
    let r = import(&t, Kind::Person, "employee_id,name,salary\nE1,A,3\n", false).await;
    assert_eq!((r.errors[0].row, r.errors[0].column.as_deref()), (1, Some("salary")));
    let r = import(&t, Kind::Person, "name,email\nA,a@corp.example\n", false).await;
    assert_eq!(r.errors[0].reason, "required column is missing");
    // A ragged row.
    let r = import(&t, Kind::Person, "employee_id,name\nE20,A,extra\n", false).await;
    assert_eq!((r.errors[0].row, r.errors[0].reason.as_str()), (2, "has 3 fields but the header has 2"));
});

both!(database_refusals_are_reported_by_row_and_roll_back, |t| {
    crate::harness::seed_small(&t).await;
    // E-mail taken by an existing person: the unique index refuses row 3, and row 2 is not kept.
    let csv = "employee_id,name,email\nE30,New One,new@corp.example\nE31,Clash,ADA@corp.example\n";
    let r = import(&t, Kind::Person, csv, false).await;
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!((r.errors[0].row, r.errors[0].column.as_deref()), (3, Some("email")));
    assert_eq!(count(&t, Kind::Person).await, 1);
    // A manager cycle made entirely inside one file.
    let csv = "employee_id,name,email,manager_employee_id\nE40,A,a40@corp.example,E41\nE41,B,b41@corp.example,E40\n";
    let r = import(&t, Kind::Person, csv, false).await;
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(r.errors[0].reason.contains("cycle"));
    assert_eq!(r.errors[0].column.as_deref(), Some("manager_employee_id"));
    assert_eq!(count(&t, Kind::Person).await, 1);
    // Vendor spellings clashing across rows.
    let csv =
        "name,aliases,website\nAmazon Web Services,AWS;Amazon,https://aws.amazon.com\nAwesome Inc,aws,\n";
    let r = import(&t, Kind::Vendor, csv, false).await;
    let rows: Vec<(u64, Option<&str>)> = r.errors.iter().map(|e| (e.row, e.column.as_deref())).collect();
    assert_eq!(rows, [(2, Some("aliases")), (3, Some("aliases"))], "both rows using `aws` are named");
    assert_eq!(count(&t, Kind::Vendor).await, 0);
});

both!(dry_run_and_partial_columns, |t| {
    crate::harness::seed_small(&t).await;
    let csv = "employee_id,name,email,cost_centre_code\nE50,Fifty,f50@corp.example,CC-1\nE51,Fiftyone,f51@corp.example,\n";
    let r = import(&t, Kind::Person, csv, true).await;
    assert!(r.is_ok() && r.dry_run && !r.committed);
    assert_eq!((r.created, r.updated), (2, 0));
    assert_eq!(count(&t, Kind::Person).await, 1, "a dry run writes nothing");
    assert!(import(&t, Kind::Person, csv, false).await.committed);
    assert_eq!(count(&t, Kind::Person).await, 3);
    // Only the columns present change; everything else on the record stays.
    let r = import(&t, Kind::Person, "employee_id,job_title\ne50,Analyst\nE51,\n", false).await;
    assert_eq!((r.updated, r.unchanged), (1, 1), "{:?}", r.errors);
    let p = t
        .app
        .list::<Person>(&crate::harness::sys(), &itemize_app::ListParams::default().with("q", "f50@"))
        .await
        .unwrap();
    let f = &p.items[0].fields;
    assert_eq!(
        (f.job_title.as_deref(), f.name.as_str(), f.cost_centre_id.is_some()),
        (Some("Analyst"), "Fifty", true)
    );
    // Rows referring to records created by the same file, in any order.
    let csv = "code,name,parent_code\nCC-21,Child,CC-20\nCC-20,Parent,CC-1\n";
    let r = import(&t, Kind::CostCentre, csv, false).await;
    assert!(r.is_ok(), "{:?}", r.errors);
    let v = t
        .app
        .create::<Vendor>(&crate::harness::sys(), json!({"name": "Dell", "aliases": ["Dell Inc."]}))
        .await
        .unwrap();
    let r = import(&t, Kind::Vendor, "name,aliases\nDELL,Dell Inc.;Dell Technologies\n", false).await;
    assert_eq!(r.updated, 1, "{:?}", r.errors);
    assert_eq!(
        t.app.get::<Vendor>(&crate::harness::sys(), v.id.get()).await.unwrap().fields.aliases,
        ["Dell Inc.", "Dell Technologies"]
    );
});

both!(an_interrupted_demo_load_is_named_as_such, |t| {
    let mut tx = t.store().transaction().await.unwrap();
    let marker = r#"{"seed":1,"as_of":"2026-11-22","complete":false}"#;
    tx.put_setting("demo", marker, crate::harness::T0.parse().unwrap()).await.unwrap();
    tx.commit().await.unwrap();
    let err = t.app.load_demo(t._dir.path(), 1, jiff::civil::date(2026, 11, 22)).await.unwrap_err();
    assert!(err.to_string().contains("was interrupted"), "{err}");
});
