//! The `itemize` binary as a user runs it: configuration layers, `db`, `import`/`export`, `demo` and `serve`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn itemize(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_itemize"));
    c.current_dir(dir).env_remove("RUST_LOG").env("NO_COLOR", "1");
    c
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let Output { status, stdout, stderr } = cmd.output().expect("run itemize");
    (
        status.success(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[test]
fn help_guides_a_newcomer() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, _) = run(itemize(dir.path()).arg("--help"));
    assert!(ok);
    for cmd in ["serve", "demo", "db", "import", "export"] {
        assert!(out.contains(cmd), "help lacks {cmd}: {out}");
    }
    let (ok, out, _) = run(itemize(dir.path()).args(["import", "--help"]));
    assert!(ok && out.contains("--dry-run") && out.contains("cost-centres"), "{out}");
}

#[test]
fn configuration_refuses_unknown_keys_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("itemize.toml"), "data_dir = \"x\"\nlisten_port = 8080\n").unwrap();
    let (ok, _, err) = run(itemize(dir.path()).args(["db", "status"]));
    assert!(!ok);
    assert!(err.contains("listen_port"), "{err}");
    std::fs::remove_file(dir.path().join("itemize.toml")).unwrap();

    let (ok, _, err) = run(itemize(dir.path()).args(["db", "status"]).env("ITEMIZE_DATADIR", "x"));
    assert!(!ok && err.contains("ITEMIZE_DATADIR"), "{err}");
    let (ok, _, err) =
        run(itemize(dir.path()).args(["db", "status"]).env("ITEMIZE_REPORTING_CURRENCY", "XYZ"));
    assert!(!ok && err.contains("reporting_currency"), "{err}");
    let (ok, _, err) = run(itemize(dir.path()).args(["--config", "missing.toml", "db", "status"]));
    assert!(!ok && err.contains("missing.toml"), "{err}");
}

#[test]
fn layers_apply_in_order_file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("custom.toml"), "data_dir = \"from-file\"\n").unwrap();
    let (ok, out, err) = run(itemize(dir.path()).args(["--config", "custom.toml", "db", "status"]));
    assert!(ok, "{err}");
    assert!(out.contains("from-file/itemize.db"), "{out}");
    let (ok, out, _) = run(itemize(dir.path())
        .args(["--config", "custom.toml", "db", "status"])
        .env("ITEMIZE_DATA_DIR", "from-env"));
    assert!(ok && out.contains("from-env/itemize.db"), "{out}");
    let (ok, out, _) = run(itemize(dir.path())
        .args(["--config", "custom.toml", "--data-dir", "from-flag", "db", "status"])
        .env("ITEMIZE_DATA_DIR", "from-env"));
    assert!(ok && out.contains("from-flag/itemize.db"), "{out}");
}

#[test]
fn secrets_in_the_database_url_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(itemize(dir.path()).args([
        "--database-url",
        "postgres://itemize:hunter2@127.0.0.1:1/x",
        "db",
        "status",
    ]));
    assert!(!ok);
    assert!(err.contains("itemize:***@127.0.0.1:1"), "{err}");
    assert!(!out.contains("hunter2") && !err.contains("hunter2"));
}

#[test]
fn db_migrate_and_status_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, _) = run(itemize(dir.path()).args(["db", "status"]));
    assert!(ok && out.contains("version 0") && out.contains("pending"), "{out}");
    // Looking changed nothing: the database still has no tables at all.
    let url = format!("sqlite://{}", dir.path().join("itemize-data/itemize.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt.block_on(crate::contract::try_raw(&url, "SELECT 1 FROM itemize_migrations")).unwrap_err();
    assert!(err.contains("no such table"), "{err}");
    let (ok, out, _) = run(itemize(dir.path()).args(["db", "migrate"]));
    assert!(ok && out.contains("applied migrations [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]"), "{out}");
    let (ok, out, _) = run(itemize(dir.path()).args(["db", "migrate"]));
    assert!(ok && out.contains("nothing to apply"), "{out}");
    let (ok, out, _) = run(itemize(dir.path()).args(["db", "status"]));
    assert!(ok && out.contains("current") && out.contains("SQLite"), "{out}");

    rt.block_on(crate::contract::raw(
        &url,
        "INSERT INTO itemize_migrations (version, name, checksum, applied_at) VALUES (999, 'future', 'x', 'x')",
    ));
    for args in [&["db", "status"][..], &["db", "migrate"], &["serve", "--listen", "127.0.0.1:0"]] {
        let (ok, _, err) = run(itemize(dir.path()).args(args));
        assert!(!ok, "{args:?} must refuse");
        assert!(
            err.contains("version 999") && err.contains("newer than this itemize binary"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn import_reports_problems_and_exits_non_zero_and_export_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cc.csv"), "code,name,currency\nCC-1,Technology,USD\nCC-2,Sales,EUR\n")
        .unwrap();
    let (ok, out, _) = run(itemize(dir.path()).args(["import", "cost-centres", "cc.csv", "--dry-run"]));
    assert!(ok && out.contains("2 would be created") && out.contains("nothing was written"), "{out}");
    let (ok, out, _) = run(itemize(dir.path()).args(["export", "cost-centres"]));
    assert!(ok);
    assert_eq!(out, "code,name,parent_code,owner_employee_id,currency\n");
    let (ok, out, _) = run(itemize(dir.path()).args(["import", "cost-centres", "cc.csv"]));
    assert!(ok && out.contains("2 were created"), "{out}");

    std::fs::write(dir.path().join("bad.csv"), "code,name,currency\nCC-3,Ops,EURO\nCC-4,,USD\n").unwrap();
    let (ok, out, _) = run(itemize(dir.path()).args(["import", "cost-centres", "bad.csv"]));
    assert!(!ok, "a refused file exits non-zero");
    assert!(out.contains("2 problem(s); nothing was written"), "{out}");
    assert!(out.contains("row 2, column currency, value \"EURO\""), "{out}");
    assert!(out.contains("row 3, column name, value \"\": is required"), "{out}");
    let (ok, out, _) =
        run(itemize(dir.path()).args(["import", "cost-centres", "bad.csv", "--output", "json"]));
    assert!(!ok);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((report["error_count"].as_u64(), report["committed"].as_bool()), (Some(2), Some(false)));

    let (ok, _, err) = run(itemize(dir.path()).args(["export", "cost-centres", "--out", "out.csv"]));
    assert!(ok && err.contains("wrote 2 cost-centres"), "{err}");
    let exported = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(
        exported,
        "code,name,parent_code,owner_employee_id,currency\nCC-1,Technology,,,USD\nCC-2,Sales,,,EUR\n"
    );
}

#[test]
fn demo_is_deterministic_and_never_loads_twice() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for d in [&a, &b] {
        let (ok, out, err) =
            run(itemize(d.path()).args(["demo", "--no-serve", "--seed", "3", "--as-of", "2026-11-22"]));
        assert!(ok, "{err}");
        assert!(out.contains("people.csv"), "{out}");
        assert!(out.contains("cost lines") && out.contains("1 restatement;"), "{out}");
        assert!(out.contains("Azure: 8 months' actual and amortized exports merged"), "{out}");
        assert!(out.contains("one export in parts: aws-cur2-"), "{out}");
        assert!(out.contains(".csv (in 2 parts)"), "{out}");
        assert!(out.contains(", 1 reinstated: found after being lost)"), "{out}");
        assert!(out.contains("13 months allocated") && out.contains("all but the last 2 closed"), "{out}");
        assert!(
            out.contains("closed 2026-08 restated after closing") && out.contains("posted into 2026-09"),
            "{out}"
        );
    }
    // The allocated demo: a statement that adds up, a closed month's balanced journal, an open month.
    let (ok, out, err) =
        run(itemize(a.path()).args(["report", "showback", "--period", "2026-10", "--format", "csv"]));
    assert!(ok, "{err}");
    let rows: Vec<Vec<String>> = csv::Reader::from_reader(out.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let (total, parts) = rows.split_last().unwrap();
    assert_eq!(total[1], "total");
    assert!(parts.len() > 10 && parts.iter().any(|r| r[1] == "unallocated"), "{out}");
    let sum: rust_decimal::Decimal =
        parts.iter().map(|r| r[5].parse::<rust_decimal::Decimal>().unwrap()).sum();
    assert_eq!(sum.to_string(), total[5], "the statement's rows add up to its total");
    // Sales DACH budgets in EUR: its row also in euros, at the month's last rate, named below the table.
    let (ok, out, err) = run(itemize(a.path()).args(["report", "showback", "--period", "2026-10"]));
    assert!(ok, "{err}");
    let dach = out.lines().find(|l| l.starts_with("CC-3300")).unwrap_or_else(|| panic!("{out}"));
    assert!(dach.contains(" = ") && dach.ends_with(" EUR"), "{dach}");
    assert!(out.contains("own currency at the month's last day: 1 USD = "), "{out}");
    assert!(
        out.lines().filter(|l| l.starts_with("own currency")).any(|l| l.contains("GBP (2026-10-")),
        "{out}"
    );
    // Tag hygiene over the open months: per-month untagged shares that add up, and the unallocated share.
    let (ok, out, err) = run(itemize(a.path())
        .args(["report", "hygiene", "--from", "2026-09", "--period", "2026-10", "--format", "json"]));
    assert!(ok, "{err}");
    let h: serde_json::Value = serde_json::from_str(&out).unwrap();
    let num = |v: &serde_json::Value| v.as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
    let months = h["periods"].as_array().unwrap();
    assert_eq!(months.len(), 2, "{h}");
    assert_eq!(
        months.iter().map(|p| num(&p["effective"])).sum::<rust_decimal::Decimal>(),
        num(&h["effective"])
    );
    assert!(months.iter().all(|p| p["unallocated_share"].is_string()), "both months are allocated: {h}");
    assert!(!h["keys"].as_array().unwrap().is_empty() && !h["top_untagged"].as_array().unwrap().is_empty());
    let (ok, out, err) = run(itemize(a.path()).args(["report", "hygiene", "--period", "2026-10"]));
    assert!(
        ok && out.contains("tag hygiene 2026-10..2026-10") && out.contains("dearest untagged"),
        "{out}{err}"
    );
    // Amounts in cents: "… (USD): 123.45 effective, 6.78 untagged (…%)".
    let head = out.lines().next().unwrap();
    for amount in head.split("): ").nth(1).unwrap().split(", ").map(|p| p.split(' ').next().unwrap()).take(2)
    {
        assert!(amount.split('.').nth(1).is_none_or(|cents| cents.len() <= 2), "{head}");
    }
    let (ok, out, err) = run(itemize(a.path()).args(["export", "journal", "--period", "2026-07"]));
    assert!(ok, "{err}");
    let (mut debit, mut credit) = (rust_decimal::Decimal::ZERO, rust_decimal::Decimal::ZERO);
    for r in csv::Reader::from_reader(out.as_bytes()).records() {
        let r = r.unwrap();
        debit += r[5].parse::<rust_decimal::Decimal>().unwrap();
        credit += r[6].parse::<rust_decimal::Decimal>().unwrap();
    }
    assert!(debit > rust_decimal::Decimal::ZERO && debit == credit, "{debit} vs {credit}");
    let (ok, _, err) = run(itemize(a.path()).args(["allocate", "--period", "2026-07"]));
    assert!(!ok && err.contains("2026-07 is closed"), "{err}");
    let (ok, _, err) = run(itemize(a.path()).args(["export", "journal", "--period", "2026-10"]));
    assert!(!ok && err.contains("2026-10 is not closed"), "{err}");
    let (ok, _, err) =
        run(itemize(a.path()).args(["rules", "validate", "itemize-data/demo-input/cpu-hours.csv"]));
    assert!(!ok && err.contains("problem"), "{err}");
    let list = |dir: &str| -> Vec<std::ffi::OsString> {
        let mut v: Vec<_> = std::fs::read_dir(a.path().join(dir))
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| e.file_name())
            .collect();
        v.sort();
        v
    };
    let files = list("itemize-data/demo-input");
    assert_eq!(
        files.len(),
        9,
        "the reference data, the assets, the allocation rules and the CPU-hours series: {files:?}"
    );
    let bills = list("itemize-data/demo-input/bills");
    assert!(bills.len() > 70, "thirteen months of bills from six sources: {}", bills.len());
    for (dir, names) in [("itemize-data/demo-input", &files), ("itemize-data/demo-input/bills", &bills)] {
        for f in names {
            let x = std::fs::read(a.path().join(dir).join(f)).unwrap();
            let y = std::fs::read(b.path().join(dir).join(f)).unwrap();
            assert!(x == y, "{f:?} differs between two runs with the same seed");
        }
    }
    demo_asset_register(a.path());
    // Same seed again: reused, not loaded twice.
    let (ok, out, _) =
        run(itemize(a.path()).args(["demo", "--no-serve", "--seed", "3", "--as-of", "2026-11-22"]));
    assert!(ok && out.contains("already loaded") && out.contains("reusing"), "{out}");
    let (ok, out, _) = run(itemize(a.path()).args(["export", "people"]));
    assert!(ok);
    let people = out.lines().count() - 1;
    assert!((1450..=1550).contains(&people), "{people} people after two runs");
    // Another seed into the same directory is refused clearly.
    let (ok, _, err) = run(itemize(a.path()).args(["demo", "--no-serve", "--seed", "4"]));
    assert!(!ok && err.contains("seed 3") && err.contains("--data-dir"), "{err}");
    // Non-demo data is never mixed with the demo.
    let c = tempfile::tempdir().unwrap();
    std::fs::write(c.path().join("v.csv"), "name\nAcme\n").unwrap();
    assert!(run(itemize(c.path()).args(["import", "vendors", "v.csv"])).0);
    let (ok, _, err) = run(itemize(c.path()).args(["demo", "--no-serve"]));
    assert!(!ok && err.contains("not the demo"), "{err}");
}

/// `demo` serves what it built, logs JSON lines with request ids, and stops cleanly on SIGTERM.
#[test]
fn demo_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = itemize(dir.path())
        .args(["demo", "--listen", "127.0.0.1:0", "--as-of", "2026-11-22"])
        .env("ITEMIZE_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Standard output is read to its end on another thread, as a terminal would.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut base = None;
    while base.is_none() {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the demo prints its address");
        if let Some(rest) = line.split("serving the demo on ").nth(1) {
            base = Some(rest.trim().trim_end_matches('/').to_string());
        }
    }
    let base = base.unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let first = rt.block_on(reqwest::Client::new().get(format!("{base}/healthz")).send());
    if let Err(e) = first {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!("the demo server did not answer ({e}); its log:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let (people, home, secrets) = rt.block_on(async {
        let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        // Without signing in there is nothing to see.
        assert_eq!(c.get(format!("{base}/api/v1/people")).send().await.unwrap().status(), 401);
        let to_login = c.get(format!("{base}/people")).send().await.unwrap();
        assert_eq!(to_login.status(), 303);
        assert_eq!(to_login.headers()["location"], "/login?next=%2Fpeople");
        // The demo's admin signs in with the printed password.
        let r = c
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({"username": "admin", "password": "itemize-demo"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let signed_in: serde_json::Value = r.json().await.unwrap();
        let csrf = signed_in["csrf_token"].as_str().unwrap().to_string();
        let people: serde_json::Value = c
            .get(format!("{base}/api/v1/people?limit=1000"))
            .header("cookie", &cookie)
            .header("x-request-id", "cli-test-request-1")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let home =
            c.get(format!("{base}/")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
        let sid = cookie.split_once('=').unwrap().1.to_string();
        (people, home, [sid, csrf, "itemize-demo".to_string()])
    });
    assert_eq!(people["items"].as_array().unwrap().len(), 1000);
    assert!(people["next"].is_string());
    assert!(home.contains("demo organisation"));
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit after SIGTERM: {:?}", out.status);
    let logs = String::from_utf8_lossy(&out.stderr);
    let line =
        logs.lines().find(|l| l.contains("cli-test-request-1")).expect("the request is logged with its id");
    let json: serde_json::Value = serde_json::from_str(line).expect("log lines are JSON");
    assert_eq!(json["span"]["request_id"], "cli-test-request-1", "{line}");
    assert!(logs.contains("shutting down"));
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs");
    }
}

fn run_with_stdin(cmd: &mut Command, input: &str) -> (bool, String, String) {
    use std::io::Write as _;
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn users_and_tokens_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cc.csv"), "code,name\nCC-7,Seven\n").unwrap();
    assert!(run(itemize(dir.path()).args(["import", "cost-centres", "cc.csv"])).0);
    // Passwords never travel as arguments.
    let (ok, _, err) = run(itemize(dir.path()).args(["user", "add", "root", "--role", "admin"]));
    assert!(!ok && err.contains("--password-stdin"), "{err}");
    let (ok, out, err) = run_with_stdin(
        itemize(dir.path()).args(["user", "add", "root", "--role", "admin", "--password-stdin"]),
        "a long password\n",
    );
    assert!(ok && out.contains("created user root (admin)"), "{out}{err}");
    let (ok, _, err) = run_with_stdin(
        itemize(dir.path()).args([
            "user",
            "add",
            "lea",
            "--role",
            "finance",
            "--cost-centre",
            "CC-7",
            "--password-stdin",
        ]),
        "another long one\n",
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run_with_stdin(
        itemize(dir.path()).args(["user", "add", "x", "--role", "boss", "--password-stdin"]),
        "long enough pw\n",
    );
    assert!(!ok && err.contains("role: `boss` is not a role"), "{err}");
    let (ok, out, _) = run(itemize(dir.path()).args(["user", "list"]));
    assert!(ok && out.contains("root") && out.contains("lea") && out.contains("finance"), "{out}");
    // A token is printed once, alone on standard output.
    let (ok, out, err) = run(itemize(dir.path()).args([
        "token",
        "create",
        "--user",
        "lea",
        "--read-only",
        "--expires-in",
        "30d",
    ]));
    assert!(ok, "{err}");
    let token = out.trim();
    assert!(token.starts_with("itm_") && token.len() == 47 && !token.contains('\n'), "{out}");
    assert!(err.contains("read-only") && err.contains("expires"), "{err}");
    let (ok, out, _) = run(itemize(dir.path()).args(["token", "list", "--user", "lea"]));
    assert!(ok && out.contains("read-only") && out.contains(&token[..10]) && !out.contains(token), "{out}");
    let (ok, _, err) =
        run(itemize(dir.path()).args(["token", "create", "--user", "lea", "--expires-in", "soon"]));
    assert!(!ok && err.contains("not a duration"), "{err}");
    let (ok, out, _) = run(itemize(dir.path()).args(["token", "revoke", "1"]));
    assert!(ok && out.contains("revoked token 1"), "{out}");
    let (ok, out, _) = run(itemize(dir.path()).args(["token", "list"]));
    assert!(ok && out.contains("revoked"), "{out}");
    // Disable, enable, reset.
    assert!(run(itemize(dir.path()).args(["user", "disable", "lea"])).0);
    let (_, out, _) = run(itemize(dir.path()).args(["user", "list"]));
    assert!(out.lines().any(|l| l.contains("lea") && l.contains("disabled")), "{out}");
    assert!(run(itemize(dir.path()).args(["user", "enable", "lea"])).0);
    let (ok, out, _) = run_with_stdin(
        itemize(dir.path()).args(["user", "reset-password", "lea", "--password-stdin"]),
        "brand new password\n",
    );
    assert!(ok && out.contains("new password"), "{out}");
    let (ok, _, err) = run_with_stdin(
        itemize(dir.path()).args(["user", "reset-password", "lea", "--password-stdin"]),
        "short\n",
    );
    assert!(!ok && err.contains("password: must be at least 10 characters"), "{err}");
}

/// A server whose standard output is closed (`itemize demo | head -1`) keeps serving.
#[test]
fn serving_survives_a_closed_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = itemize(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    // The reader is gone now: the pipe is closed.
    let base = first.split("serving on ").nth(1).unwrap().trim().trim_end_matches('/').to_string();
    std::thread::sleep(Duration::from_millis(200));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status =
        rt.block_on(async { reqwest::get(format!("{base}/healthz")).await.map(|r| r.status().as_u16()) });
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let out = child.wait_with_output().unwrap();
    assert_eq!(status.ok(), Some(200), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success());
}

#[test]
fn cost_files_rates_and_focus_export_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let azure = crate::cost_ledger::fixture("azure-ea/sample-anonymous-ea-export-dataset.csv");
    let focus = crate::cost_ledger::fixture("focus-1.0/focus_sample.csv");
    // Without a CAD rate the Azure file is refused (exit 1) and says why; FOCUS in USD goes in.
    let (ok, out, _) = run(itemize(dir.path()).arg("import").arg("cost").arg(&focus).arg(&azure));
    assert!(!ok, "{out}");
    assert!(out.contains("focus_sample.csv: active") && out.contains("2024-09  USD"), "{out}");
    assert!(out.contains("sample-anonymous-ea-export-dataset.csv: rejected"), "{out}");
    assert!(out.contains("no exchange rate from CAD to USD"), "{out}");
    // The ECB layout: rates per euro; CAD→USD is crossed through EUR.
    std::fs::write(dir.path().join("ecb.csv"), "Date,USD,CAD\n2023-09-01,1.0844,1.4669\n").unwrap();
    let (ok, out, err) = run(itemize(dir.path()).args(["import", "rates", "ecb.csv"]));
    assert!(ok && out.contains("2 rates (ecb layout)"), "{out}{err}");
    let (ok, out, _) =
        run(itemize(dir.path()).arg("import").arg("cost").arg(&azure).args(["--output", "json"]));
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["status"], "active");
    assert_eq!(v[0]["rows_ingested"], 27);
    // The same file again: a no-op that says so, and not an error.
    let (ok, out, _) = run(itemize(dir.path()).arg("import").arg("cost").arg(&focus));
    assert!(ok && out.contains("duplicate") && out.contains("nothing changed"), "{out}");
    // A bad rates file changes nothing and names the row.
    std::fs::write(dir.path().join("bad.csv"), "date,from,to,rate\n2023-09-01,CAD,USD,abc\n").unwrap();
    let (ok, _, err) = run(itemize(dir.path()).args(["import", "rates", "bad.csv"]));
    assert!(!ok && err.contains("row 2, column rate") && err.contains("\"abc\""), "{err}");
    // FOCUS 1.2 export of a period.
    let (ok, _, err) =
        run(itemize(dir.path()).args(["export", "focus", "--period", "2024-09", "--out", "sep.csv"]));
    assert!(ok && err.contains("wrote 999 FOCUS 1.2 rows for 2024-09"), "{err}");
    let (ok, _, err) = run(itemize(dir.path()).args(["export", "focus", "--period", "2024-9"]));
    assert!(!ok && err.contains("not a billing period"), "{err}");
    let (ok, _, err) = run(itemize(dir.path()).args(["import", "cost", "sep.csv", "--format", "nope"]));
    assert!(!ok && err.contains("unknown format") && err.contains("aws-cur"), "{err}");
    // An older export of a month (its charges end sooner) does not roll the month back unless asked to.
    let may = |name: &str, days: u32| {
        let mut s = String::from(
            "BillingAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BilledCost,\
             EffectiveCost,ListCost,ContractedCost,BillingCurrency,ChargeCategory,ProviderName,ServiceName\n",
        );
        for d in 1..=days {
            s.push_str(&format!(
                "Z9,2026-05-01T00:00:00Z,2026-06-01T00:00:00Z,2026-05-{d:02}T00:00:00Z,2026-05-{d:02}T01:00:00Z,\
                 1.00,1.00,1.00,1.00,USD,Usage,Acme Cloud,Compute\n"
            ));
        }
        std::fs::write(dir.path().join(name), s).unwrap();
    };
    may("may-later.csv", 9);
    may("may-earlier.csv", 3);
    let (ok, out, err) = run(itemize(dir.path()).args(["import", "cost", "may-later.csv"]));
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(itemize(dir.path()).args(["import", "cost", "may-earlier.csv"]));
    let said = format!("{out}{err}");
    assert!(!ok && said.contains("looks like an older export") && said.contains("--replace-newer"), "{said}");
    let (ok, out, err) =
        run(itemize(dir.path()).args(["import", "cost", "may-earlier.csv", "--replace-newer"]));
    assert!(ok && out.contains("restates import"), "{out}{err}");
}

fn json_of(dir: &Path, args: &[&str]) -> serde_json::Value {
    let (ok, out, err) = run(itemize(dir).args(args).args(["--output", "json"]));
    assert!(ok, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

/// The demo's asset register, as an asset manager meets it on the command line.
fn demo_asset_register(dir: &Path) {
    let all = json_of(dir, &["assets", "list", "--all"]);
    let assets = all.as_array().unwrap();
    assert!((2800..=3300).contains(&assets.len()), "about 3,000 assets: {}", assets.len());
    let count = |state: &str| assets.iter().filter(|a| a["state"] == state).count();
    for state in ["in-use", "in-stock", "in-repair", "on-loan", "retired", "disposed", "missing", "on-order"]
    {
        assert!(count(state) > 0, "the demo has assets {state}");
    }
    let sites: std::collections::HashSet<&serde_json::Value> =
        assets.iter().map(|a| &a["location_id"]).collect();
    assert!(sites.len() > 15, "assets across the sites: {}", sites.len());
    let years: std::collections::HashSet<&str> =
        assets.iter().filter_map(|a| a["purchase_date"].as_str().map(|d| &d[..4])).collect();
    assert!(years.len() >= 5, "purchases over five years: {years:?}");
    // The history happened over months, not at the second the demo was built: the register went live (its
    // file imported) 120 days before the demo's date, and a disposal is recorded on or after its date.
    let disposed = assets.iter().find(|a| a["state"] == "disposed").unwrap();
    let history = json_of(dir, &["assets", "history", disposed["tag"].as_str().unwrap()]);
    let events = history.as_array().unwrap();
    let at = |kind: &str| {
        let e =
            events.iter().rev().find(|e| e["kind"] == kind).unwrap_or_else(|| panic!("{kind}: {history}"));
        e["at"].as_str().unwrap().to_string()
    };
    assert!(at("imported").starts_with("2026-07-25T09:00"), "{history}");
    // What was bought after the register went live came into it on its purchase day, before anything happened to it.
    let late: Vec<&serde_json::Value> = assets
        .iter()
        .filter(|a| a["purchase_date"].as_str().is_some_and(|d| d > "2026-07-25" && d < "2026-11-22"))
        .collect();
    assert!(!late.is_empty(), "the demo buys assets after its register went live");
    for a in late.iter().step_by(4) {
        let events = json_of(dir, &["assets", "history", a["tag"].as_str().unwrap()]);
        let events = events.as_array().unwrap();
        let imported = events[0]["at"].as_str().unwrap();
        assert_eq!(
            (events[0]["kind"].as_str(), &imported[..16]),
            (Some("imported"), &*format!("{}T08:00", a["purchase_date"].as_str().unwrap())),
            "{a}"
        );
        assert!(events.iter().all(|e| e["at"].as_str().unwrap() >= imported), "{events:?}");
    }
    let disposed_on = disposed["disposal"]["date"].as_str().unwrap();
    let recorded = at("transition");
    assert!(recorded.as_str() >= disposed_on && recorded.as_str() < "2026-11-22", "{disposed_on}: {history}");
    let mut days = std::collections::HashSet::new();
    let moved = ["in-repair", "on-loan", "retired", "disposed", "missing"];
    for a in assets.iter().filter(|a| moved.iter().any(|m| a["state"] == *m)).step_by(3).take(40) {
        for e in json_of(dir, &["assets", "history", a["tag"].as_str().unwrap()]).as_array().unwrap() {
            days.insert(e["at"].as_str().unwrap()[..10].to_string());
        }
    }
    assert!(days.len() > 15, "events on many days: {days:?}");
    // Disposals carry their certificate; devices that store data, a sanitization attestation.
    for a in assets.iter().filter(|a| a["state"] == "disposed") {
        let d = &a["disposal"];
        assert!(d["reference"].as_str().is_some_and(|r| !r.is_empty()), "{a}");
        if a["class"] == "laptop" {
            assert!(d["sanitization"]["certificate"].as_str().is_some_and(|c| c.starts_with("CoD-")), "{a}");
        }
    }
    // Leavers with unreturned laptops, and leavers whose laptops came back.
    let off = json_of(dir, &["assets", "offboarding"]);
    let off = off.as_array().unwrap();
    let overdue: Vec<&serde_json::Value> = off.iter().filter(|o| o["status"] == "overdue").collect();
    assert!(
        overdue.len() >= 3
            && overdue.iter().all(|o| o["outstanding"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["class"] == "laptop")),
        "{overdue:?}"
    );
    assert!(off.iter().any(|o| !o["recovered"].as_array().unwrap().is_empty()), "recovered laptops too");
    // One leaver's checklist on its own, by e-mail.
    let one = json_of(dir, &["assets", "offboarding", "--person", overdue[0]["email"].as_str().unwrap()]);
    assert_eq!(one.as_array().unwrap(), &[overdue[0].clone()]);
    // Asked for someone who is not leaving, it says so rather than calling their laptop one to recover.
    let (ok, people, err) = run(itemize(dir).args(["export", "people"]));
    assert!(ok, "{err}");
    let mut rows = csv::Reader::from_reader(people.as_bytes());
    let head = rows.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let staying = rows
        .records()
        .map(|r| r.unwrap())
        .find(|r| r[col("status")] == *"active" && r[col("leave_date")].is_empty())
        .unwrap();
    let (ok, out, err) =
        run(itemize(dir).args(["assets", "offboarding", "--person", &staying[col("employee_id")]]));
    assert!(ok && out.starts_with("not-leaving") && out.contains("no leave date: "), "{out}{err}");
    // Leases and maintenance in the renewal calendar, with notice deadlines before the end dates.
    let renewals = json_of(dir, &["assets", "renewals", "--days", "90"]);
    let kinds: std::collections::HashSet<&str> =
        renewals.as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains("lease") && kinds.contains("maintenance"), "{kinds:?}");
    assert!(
        renewals.as_array().unwrap().iter().all(|r| r["notice_deadline"].as_str() <= r["end_date"].as_str())
    );
    // Support that renewed itself twice comes up for its current term; a cancelled subscription is archived,
    // out of the calendar but on record.
    let vault = renewals
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["number"] == "HCP-VAULT-2023")
        .expect("in the calendar");
    assert_eq!(vault["terms_renewed"], 2, "{vault}");
    let contracts = json_of(dir, &["assets", "contracts", "list"]);
    let miro = contracts.as_array().unwrap().iter().find(|c| c["number"] == "MIRO-ENT-2024").unwrap();
    assert!(miro["archived_at"].is_string(), "{miro}");
    assert!(!renewals.to_string().contains("MIRO-ENT-2024"));
    // One closed audit that found four assets missing; one in progress.
    let audits = json_of(dir, &["assets", "audit", "list"]);
    let audits = audits.as_array().unwrap();
    assert!(audits.iter().any(|a| a["status"] == "closed" && a["missing"].as_array().unwrap().len() == 4));
    assert!(audits.iter().any(|a| a["status"] == "open"));
    assert_eq!(count("missing"), 4, "the closed audit marked what it did not find");
    // The laptop lost and found again: written off in the month it was lost, reinstated in the month it came
    // back, and the months between are depreciated once, in the reinstatement.
    let posted = dir.join("itemize-data/depreciation");
    let files: Vec<(String, String)> = std::fs::read_dir(&posted)
        .unwrap()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read_to_string(e.path()).unwrap()))
        .collect();
    let with = |what: &str| -> Vec<&str> {
        files.iter().filter(|(_, text)| text.contains(what)).map(|(name, _)| name.as_str()).collect()
    };
    let back = with("Reinstatement of LT-");
    assert_eq!(back.len(), 1, "{back:?}");
    let text = &files.iter().find(|(n, _)| n == back[0]).unwrap().1;
    let line = text.lines().find(|l| l.contains("Reinstatement of LT-")).unwrap();
    let tag = line.split("Reinstatement of ").nth(1).unwrap().split(':').next().unwrap();
    let lost = with(&format!("Write-off of {tag}: lost;"));
    assert!(lost.len() == 1 && lost[0] < back[0], "written off in an earlier month: {lost:?} {back:?}");
    let history = json_of(dir, &["assets", "history", tag]);
    assert!(history.to_string().contains("lost-property office"), "{history}");
    // Depreciation was posted for every month of bills: posting a month again changes nothing.
    let (ok, out, err) = run(itemize(dir).args(["assets", "depreciation", "--period", "2026-10"]));
    assert!(ok && out.contains("nothing changed"), "{out}{err}");
    // Warranties, ends of life and overdue returns say their date and the days to it, the soonest first; a window
    // of no days is refused.
    let (ok, out, err) = run(itemize(dir).args(["assets", "warranty", "--days", "365"]));
    assert!(ok && out.starts_with("TAG") && out.lines().next().unwrap().contains("WARRANTY"), "{out}{err}");
    let dates: Vec<jiff::civil::Date> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().find_map(|w| w.parse::<jiff::civil::Date>().ok()))
        .collect();
    assert!(dates.len() > 10 && dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");
    let (ok, _, err) = run(itemize(dir).args(["assets", "warranty", "--days", "0"]));
    assert!(!ok && err.contains("0 is not in 1..=3650"), "{err}");
    let (ok, out, err) = run(itemize(dir).args(["assets", "overdue"]));
    assert!(ok && out.lines().next().unwrap().contains("EXPECTED") && out.contains(" overdue"), "{out}{err}");
    // Output cut short by its reader (`| head`) ends the command quietly, without a panic or an error: printed
    // line by line (a list) or written whole (an export).
    for args in [&["assets", "list", "--limit", "1000"][..], &["export", "people"][..]] {
        let mut child =
            itemize(dir).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut first = [0u8; 64];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
        drop(child.stdout.take());
        let done = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&done.stderr);
        assert!(err.is_empty() && done.status.code() == Some(141), "{args:?}: {:?} {err}", done.status);
    }
    // The refresh plan and depreciation by cost centre name cost centres by their codes, as people know them.
    let (ok, out, err) = run(itemize(dir).args(["assets", "refresh", "--months", "24"]));
    let rows: Vec<&str> = out.lines().skip(2).filter(|l| l.starts_with("  ")).collect();
    assert!(ok && !rows.is_empty(), "{out}{err}");
    assert!(rows.iter().any(|l| l.contains(" CC-")) && !rows.iter().any(|l| l.contains(" #")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("budget all together ") && l.contains(" EUR = ")), "{out}");
    let (ok, out, err) =
        run(itemize(dir).args(["assets", "schedule", "--from", "2026-01-01", "--to", "2026-03-31"]));
    assert!(ok && out.contains("cost centre CC-") && !out.contains("cost centre #"), "{out}{err}");
    // Months as months: YYYY-MM as the other depreciation commands take them, a date standing for its month; a
    // range beside one asset is refused rather than ignored.
    let (ok, by_month, err) =
        run(itemize(dir).args(["assets", "schedule", "--from", "2026-01", "--to", "2026-03"]));
    assert!(ok && by_month == out, "{err}");
    let (ok, _, err) =
        run(itemize(dir).args(["assets", "schedule", "LT-00001", "--from", "2026-01", "--to", "2026-03"]));
    assert!(!ok && err.contains("cannot be used with"), "{err}");
    let (ok, _, err) = run(itemize(dir).args(["assets", "schedule", "--from", "2026-13", "--to", "2026-03"]));
    assert!(!ok && err.contains("`2026-13` is not a month (YYYY-MM)"), "{err}");
    // An asset's book value at any date: its cost before it was bought, less once it has depreciated.
    let bought = assets.iter().find(|a| a["class"] == "laptop" && a["purchase_cost"].is_string()).unwrap();
    let tag = bought["tag"].as_str().unwrap();
    let first = bought["purchase_date"].as_str().unwrap().parse::<jiff::civil::Date>().unwrap();
    let before = (first - jiff::Span::new().months(1)).to_string();
    let shown = json_of(dir, &["assets", "show", tag, "--at", &before]);
    assert_eq!(
        (shown["as_of"].as_str(), &shown["book_value"]),
        (Some(before.as_str()), &bought["purchase_cost"])
    );
    let later = json_of(dir, &["assets", "show", tag, "--at", "2026-10-31"]);
    let value = |v: &serde_json::Value| v.as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
    assert!(value(&later["book_value"]) < value(&bought["purchase_cost"]), "{later}");
    // A cloud instance of the AWS bill, with its ledger cost beside it.
    let cl = assets.iter().find(|a| a["class"] == "cloud-resource").unwrap();
    let cost = json_of(dir, &["assets", "resource-cost", cl["tag"].as_str().unwrap()]);
    assert!(cost["effective_total"].as_str().unwrap().parse::<f64>().unwrap() > 0.0, "{cost}");
    assert_eq!(cost["months"].as_array().unwrap().len(), 13, "{cost}");
}

/// A Snipe-IT user moves over in one command: locations, users and assets from Snipe-IT's own export files, in
/// that order whatever the order given; the rest of the export is named as skipped.
#[test]
fn a_snipe_it_export_moves_over_in_one_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/snipe-it");
    let files: Vec<std::path::PathBuf> = [
        "assets-sample.csv",
        "users-sample.csv",
        "licenses-sample.csv",
        "locations-sample.csv",
        "models-sample.csv",
        "accessories-sample.csv",
        "consumables-sample.csv",
        "components-sample.csv",
    ]
    .iter()
    .map(|f| fixtures.join(f))
    .collect();
    // Strict, users without an e-mail address stop the run, naming each by its row and the file's own column;
    // the export lands whole or not at all, so the locations checked before them are not written either.
    let (ok, out, _) = run(itemize(d).args(["import", "snipe-it"]).args(&files));
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "locations-sample.csv: 19 rows — 19 would be created, 0 would be updated, 0 unchanged (not written: \
             another file of the import failed)"
        ),
        "{out}"
    );
    assert!(out.contains("users-sample.csv was not imported: 5 problem(s)"), "{out}");
    assert!(out.contains("row 11, column Email, value \"\": is required"), "{out}");
    assert!(!out.contains("assets-sample.csv"), "the run stops at the failed file: {out}");
    assert!(out.contains("nothing was imported: ") && out.contains("users-sample.csv failed"), "{out}");
    let (_, locs, _) = run(itemize(d).args(["export", "locations"]));
    assert_eq!(locs.lines().count(), 1, "only the header: {locs}");
    // Lenient: those users are left out, each named; the rest goes in.
    let (ok, out, err) = run(itemize(d).args(["import", "snipe-it", "--lenient"]).args(&files));
    assert!(ok, "{out}{err}");
    let at = |needle: &str| out.find(needle).unwrap_or_else(|| panic!("{needle:?} in {out}"));
    let (locations, users, assets) = (
        at("locations-sample.csv: 19 rows — 19 were created, 0 were updated, 0 unchanged"),
        at("users-sample.csv: 95 rows — 95 were created"),
        at("assets-sample.csv: imported (snipe-it format): 22 rows, 22 created"),
    );
    assert!(locations < users && users < assets, "in that order: {out}");
    for skipped in ["licenses", "models", "accessories", "consumables", "components"] {
        assert!(out.contains(&format!("{skipped}-sample.csv: skipped: ")), "{skipped}: {out}");
    }
    let report = json_of(
        d,
        &[
            "import",
            "snipe-it",
            "--dry-run",
            "--lenient",
            fixtures.join("users-sample.csv").to_str().unwrap(),
        ],
    );
    let notes = report["notes"].as_array().unwrap();
    assert_eq!(notes.iter().filter(|n| n.as_str().unwrap().contains("has no e-mail address")).count(), 5);
    // Two sites share a name in Snipe-IT: each has its own code here.
    let (_, locs, _) = run(itemize(d).args(["export", "locations"]));
    assert!(locs.contains("AIRDRIE,Airdrie,site") && locs.contains("AIRDRIE-2,Airdrie,site"), "{locs}");
    // A user whose Snipe-IT end date has passed is a leaver; one named as their own manager has none.
    let (_, people, _) = run(itemize(d).args(["export", "people"]));
    let tenant = people.lines().find(|l| l.starts_with("rtenant0,")).unwrap();
    assert!(tenant.contains("Reagen Tenant,rtenant0@istockphoto.com,Nurse Practicioner"), "{tenant}");
    assert!(tenant.ends_with(",leaver,2022-12-04"), "{tenant}");
}

/// A dry run of a whole Snipe-IT export says what the real run then does: users are checked against the
/// locations file, assets against the locations and users files (before, each file was checked against the
/// register alone, so a dry run reported every site and person of the export as missing).
#[test]
fn a_snipe_it_dry_run_reports_what_the_real_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("locations.csv"),
        "name,address,address2,city,state,country,zip,manager,manager username,currency\n\
         Malmo Office,1 Storgatan,,Malmö,,SE,21122,,,SEK\n",
    )
    .unwrap();
    std::fs::write(
        d.join("users.csv"),
        "First Name,Last Name,Email,Username,Location,Employee Number,Manager,End Date\n\
         Ada,Berg,ada.berg@example.com,aberg,Malmo Office,,,\n",
    )
    .unwrap();
    std::fs::write(
        d.join("assets.csv"),
        "Asset Tag,Name,Model,Location,Status,Purchase Date,Checked Out To: Username\n\
         LT-1,Ada's laptop,Latitude 5440,Malmo Office,Deployed,3/14/24,aberg\n",
    )
    .unwrap();
    let files = ["assets.csv", "users.csv", "locations.csv"];
    // The three reports of a run, in order, without the two fields that tell a dry run from a real one.
    let reports = |extra: &[&str]| {
        let (ok, out, err) = run(itemize(d)
            .current_dir(d)
            .args(["import", "snipe-it"])
            .args(extra)
            .args(files)
            .args(["--output", "json"]));
        assert!(ok, "{out}{err}");
        let mut all = Vec::new();
        for v in serde_json::Deserializer::from_str(&out).into_iter::<serde_json::Value>() {
            let mut v = v.unwrap();
            let o = v.as_object_mut().unwrap();
            for flag in ["dry_run", "committed"] {
                assert!(o.remove(flag).is_some(), "{flag} in {out}");
            }
            // The preview's assets carry the time of the run.
            for a in o.get_mut("preview").and_then(|p| p.as_array_mut()).into_iter().flatten() {
                let a = a.as_object_mut().unwrap();
                assert!(a.remove("created_at").is_some() && a.remove("updated_at").is_some(), "{out}");
            }
            all.push(v);
        }
        all
    };
    let dry = reports(&["--dry-run"]);
    assert_eq!(dry.len(), 3, "{dry:?}");
    let (_, locs, _) = run(itemize(d).args(["export", "locations"]));
    assert_eq!(locs.lines().count(), 1, "a dry run writes nothing: {locs}");
    // Nothing of the export reported missing: the user's site is the locations file's, the asset's site and
    // user are the files', so the asset import creates no location of its own and warns of no one.
    assert!(dry[1].get("notes").is_none_or(|n| n.as_array().unwrap().is_empty()), "{}", dry[1]);
    assert_eq!(dry[2]["preview"][0]["state"], "in-use", "{}", dry[2]);
    assert!(dry[2]["created_locations"].as_array().unwrap().is_empty(), "{}", dry[2]);
    assert!(dry[2]["warnings"].as_array().unwrap().is_empty(), "{}", dry[2]);
    assert_eq!(dry[2]["created"], 1, "{}", dry[2]);
    let real = reports(&[]);
    assert_eq!(dry, real, "the dry run said what the real run did");
    let asset = &json_of(d, &["assets", "show", "LT-1"])["asset"];
    assert_eq!(asset["state"], "in-use", "{asset}");
    assert!(asset["assignee_person_id"].is_i64() && asset["location_id"].is_i64(), "{asset}");
}

#[test]
fn asset_commands_move_a_snipe_it_user_over() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fixture = |name: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/snipe-it").join(name)
    };
    // A dry run writes nothing; the import then takes every row of the sample in one command.
    let sample = fixture("assets-sample.csv");
    let (ok, out, err) = run(itemize(d).args(["assets", "import", "--dry-run"]).arg(&sample));
    assert!(ok && out.contains("would import (snipe-it format): 22 rows"), "{out}{err}");
    let (ok, out, _) = run(itemize(d).args(["assets", "list"]));
    assert!(ok && out.contains("0 asset(s)"), "{out}");
    let (ok, out, err) = run(itemize(d).args(["assets", "import"]).arg(&sample));
    assert!(ok && out.contains("imported (snipe-it format): 22 rows, 22 created"), "{out}{err}");
    // A strict import of a broken file fails, names the row and column, and changes nothing.
    std::fs::write(d.join("bad.csv"), "tag,name,class,purchase_date\nX-1,Thing,laptop,2025-02-30\n").unwrap();
    let (ok, _, err) = run(itemize(d).args(["assets", "import", "bad.csv"]));
    assert!(!ok && err.contains("row 2, column purchase_date"), "{err}");
    let all = json_of(d, &["assets", "list", "--all"]);
    assert_eq!(all.as_array().unwrap().len(), 22);
    let tag = all[0]["tag"].as_str().unwrap().to_string();
    // Lifecycle: a refused move lists the allowed ones; a valid one lands in the history.
    let (ok, _, err) = run(itemize(d).args(["assets", "transition", &tag, "--to", "disposed"]));
    assert!(!ok && err.contains("allowed"), "{err}");
    let (ok, out, err) =
        run(itemize(d).args(["assets", "transition", &tag, "--to", "in-repair", "--reason", "fan noise"]));
    assert!(ok && out.contains("→ in-repair"), "{out}{err}");
    let (ok, out, _) = run(itemize(d).args(["assets", "history", &tag]));
    assert!(ok && out.contains("transition") && out.contains("fan noise"), "{out}");
    let (ok, out, err) = run(itemize(d).args(["assets", "check-in", &tag]));
    assert!(ok && out.contains("checked in (in-stock)"), "{out}{err}");
    // Checked out to a location until a date (in use), then lent to someone (on loan); a loan needs a date.
    let (_, locs, _) = run(itemize(d).args(["export", "locations"]));
    let site = locs.lines().nth(1).and_then(|l| l.split(',').next()).unwrap().to_string();
    let (ok, out, err) =
        run(itemize(d).args(["assets", "check-out", &tag, "--location", &site, "--until", "2026-12-31"]));
    assert!(ok && out.contains("checked out (in-use)"), "{out}{err}");
    let shown = json_of(d, &["assets", "show", &tag]);
    assert_eq!(shown["asset"]["expected_return"], "2026-12-31", "{shown}");
    run(itemize(d).args(["assets", "check-in", &tag]));
    let (ok, _, err) = run(itemize(d).args(["assets", "check-out", &tag, "--location", &site, "--loan"]));
    assert!(!ok && err.contains("--until"), "{err}");
    // Search, export and labels.
    let (ok, out, _) = run(itemize(d).args(["assets", "list", "--q", &tag[..tag.len() - 1]]));
    assert!(ok && out.contains(&tag), "{out}");
    let (ok, _, err) = run(itemize(d).args(["assets", "export", "--out", "all.csv"]));
    assert!(ok, "{err}");
    let exported = csv::Reader::from_path(d.join("all.csv")).unwrap().records().count();
    assert_eq!(exported, 22, "every asset (notes span lines inside quotes)");
    let (ok, _, err) =
        run(itemize(d).args(["assets", "labels", "--out", "labels.pdf", "--param", &format!("q={tag}")]));
    assert!(ok, "{err}");
    assert!(std::fs::read(d.join("labels.pdf")).unwrap().starts_with(b"%PDF-"));
    // An audit by scanner input on standard input.
    let (ok, out, _) = run(itemize(d).args(["export", "locations"]));
    assert!(ok);
    let code = out.lines().nth(1).and_then(|l| l.split(',').next()).unwrap().to_string();
    let (ok, out, err) = run(itemize(d).args(["assets", "audit", "start", &code]));
    assert!(ok && out.starts_with("audit 1 (open)"), "{out}{err}");
    let mut child = itemize(d)
        .args(["assets", "audit", "scan", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(format!("{tag}\nNOT-A-TAG\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("NOT-A-TAG: unknown"), "{text}");

    // The rest of what the API does, from the command line: register and edit, relate, costs, TCO, schedules,
    // contracts, settings.
    let server = r#"{"tag": "SRV-CLI", "name": "Rack server", "class": "server", "purchase_date": "2025-01-10",
        "purchase_cost": "4800.00", "currency": "EUR", "useful_life_months": 48}"#;
    let (ok, out, err) = run(itemize(d).args(["assets", "add", server]));
    assert!(ok && out.starts_with("SRV-CLI: registered as asset 23"), "{out}{err}");
    let (ok, _, err) = run(itemize(d).args(["assets", "add", r#"{"tag": "X", "class": "toaster"}"#]));
    assert!(!ok && err.contains("class"), "a bad field is named: {err}");
    std::fs::write(d.join("edit.json"), r#"{"hostname": "db-07", "notes": null}"#).unwrap();
    let (ok, out, err) = run(itemize(d).args(["assets", "edit", "SRV-CLI", "@edit.json"]));
    assert!(ok && out.contains("SRV-CLI: updated (version 2)"), "{out}{err}");
    assert_eq!(json_of(d, &["assets", "show", "SRV-CLI"])["asset"]["hostname"], "db-07");
    let (ok, out, err) = run(itemize(d).args(["assets", "relate", &tag, "--installed-in", "SRV-CLI"]));
    assert!(ok && out.contains("(installed-in) added"), "{out}{err}");
    let impact = json_of(d, &["assets", "impact", "SRV-CLI"]);
    assert_eq!(impact["dependents"][0]["tag"].as_str(), Some(tag.as_str()), "{impact}");
    let rel = json_of(d, &["assets", "relations", &tag]);
    let rel_id = rel[0]["id"].as_i64().unwrap().to_string();
    let (ok, _, err) = run(itemize(d).args(["assets", "relate", &tag, "--runs", "NO-SUCH-SERVICE"]));
    assert!(!ok && err.contains("no business service has the code"), "{err}");
    let (ok, out, err) = run(itemize(d).args(["assets", "unrelate", &tag, &rel_id]));
    assert!(ok && out.contains("ended"), "{out}{err}");
    assert_eq!(json_of(d, &["assets", "relations", &tag]), serde_json::json!([]));
    assert_eq!(json_of(d, &["assets", "impact", "SRV-CLI"])["dependents"], serde_json::json!([]));
    let repair = r#"{"kind": "repair", "amount": "180.00", "currency": "EUR", "date": "2026-10-02"}"#;
    let (ok, out, err) = run(itemize(d).args(["assets", "cost", "SRV-CLI", repair]));
    assert!(ok && out.contains("repair 180.00 EUR recorded"), "{out}{err}");
    let contract = r#"{"number": "MNT-CLI", "name": "Server care", "kind": "maintenance", "value": "600.00",
        "currency": "EUR", "start_date": "2026-01-01", "end_date": "2026-12-31", "renewal": "manual",
        "notice_days": 30, "asset_ids": [23]}"#;
    let (ok, out, err) = run(itemize(d).args(["assets", "contracts", "add", contract]));
    assert!(ok && out.starts_with("MNT-CLI — Server care (maintenance, manual renewal)"), "{out}{err}");
    let (ok, out, err) =
        run(itemize(d).args(["assets", "contracts", "edit", "MNT-CLI", r#"{"notice_days": 60}"#]));
    assert!(ok && out.contains("notice 60 days"), "{out}{err}");
    assert_eq!(json_of(d, &["assets", "contracts", "list"]).as_array().unwrap().len(), 1);
    let (ok, out, err) = run(itemize(d).args(["assets", "contracts", "archive", "MNT-CLI"]));
    assert!(ok && out.contains("  archived     "), "{out}{err}");
    let (ok, out, err) = run(itemize(d).args(["assets", "contracts", "restore", "MNT-CLI"]));
    assert!(ok && !out.contains("archived"), "{out}{err}");
    let tco = json_of(d, &["assets", "tco", "SRV-CLI"]);
    assert_eq!(tco["total"], "5580.00", "4,800 + the contract's 600 + the 180 repair: {tco}");
    let schedule = json_of(d, &["assets", "schedule", "SRV-CLI"]);
    assert_eq!(schedule["months"].as_array().unwrap().len(), 48);
    assert_eq!(schedule["months"][0]["expense"], "100.00");
    let by_cc = json_of(d, &["assets", "schedule", "--from", "2026-01-01", "--to", "2026-03-31"]);
    assert!(by_cc.as_array().unwrap().iter().any(|c| c["months"]["2026-02"] == "100.00"), "{by_cc}");
    let (ok, _, err) = run(itemize(d).args(["assets", "schedule"]));
    assert!(!ok && err.contains("--from and --to"), "{err}");
    let settings = r#"{"required_fields": {"server": ["serial"]}}"#;
    let (ok, out, err) = run(itemize(d).args(["assets", "settings", "--set", settings]));
    assert!(ok && out.contains("\"serial\""), "{out}{err}");
    let gov = json_of(d, &["assets", "governance"]);
    assert!(gov["violations"].to_string().contains("SRV-CLI"), "{gov}");
}
