//! Page rendering on the demo organisation: every page of the web interface, requested one at a time through
//! HTTP by an administrator (an API token), `BENCH_REQUESTS` times each after a warm-up,
//! server-side time from request to the last byte — printing p50/p99/max per page.
//!
//! `cargo bench -p itemize --bench pages` (knobs: BENCH_REQUESTS, default 200).

mod common;

use std::time::{Duration, Instant};

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let requests: usize = std::env::var("BENCH_REQUESTS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let app = common::app(dir.path()).await;
        let started = Instant::now();
        app.load_demo(&dir.path().join("demo-input"), 1, jiff::civil::date(2026, 11, 22)).await.unwrap();
        println!("demo loaded in {:.1} s", started.elapsed().as_secs_f64());
        // Journals are finance's: a read-write administrator's token, as a signed-in admin has.
        let system = itemize_app::Actor::system("bench");
        let _ = common::admin_token(&app).await;
        let admin = app.find_user(&system, "bench").await.unwrap().id;
        let token = app.create_token(&system, Some(admin), "pages", false, None).await.unwrap().token;
        let periods = app.ledger_periods().await.unwrap();
        let last = periods.last().unwrap().clone();
        let first = periods[periods.len().saturating_sub(13)].clone();
        let asset = app
            .list_assets(&itemize_app::Actor::system("bench"), &itemize_app::ListParams::default())
            .await
            .unwrap()
            .items[0]
            .id;
        let target = app
            .showback(
                &itemize_app::Actor::system("bench"),
                &last,
                itemize_app::allocation::StatementBy::CostCentre,
                itemize_app::allocation::Measure::Effective,
            )
            .await
            .unwrap()
            .rows[0]
            .key
            .clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = itemize_web::router(app.clone(), &itemize_web::WebOptions::default());
        tokio::spawn(itemize_web::serve(listener, router, std::future::pending()));
        let client = reqwest::Client::new();
        let pages: Vec<(String, String)> = vec![
            ("overview".into(), "/".into()),
            (
                "explorer, 13 months by provider".into(),
                format!("/costs?from={first}&to={last}&group_by=provider"),
            ),
            (
                "explorer, a month by cost centre".into(),
                format!("/costs?from={last}&to={last}&group_by=cost_centre&granularity=none"),
            ),
            (
                "explorer, a month daily by service".into(),
                format!("/costs?from={last}&to={last}&group_by=service_name&granularity=day"),
            ),
            ("explorer CSV".into(), format!("/costs?from={first}&to={last}&group_by=provider&format=csv")),
            ("line items of a provider's month".into(), format!("/costs/lines?period={last}&provider=AWS")),
            ("showback by cost centre".into(), format!("/showback?period={last}")),
            ("showback by service".into(), format!("/showback?period={last}&by=service")),
            ("chargeback journal".into(), "/chargeback".into()),
            (
                "explanation of a cost centre".into(),
                format!("/allocation/explain?period={last}&target={target}"),
            ),
            ("allocation rules".into(), "/allocation/rules".into()),
            ("imports".into(), "/imports".into()),
            ("assets".into(), "/assets".into()),
            ("assets, search".into(), "/assets?q=LT-0001".into()),
            ("asset detail".into(), format!("/assets/{asset}")),
            ("asset data quality".into(), "/assets/governance".into()),
            ("contracts".into(), "/contracts".into()),
            ("renewals".into(), "/contracts/renewals".into()),
            ("audits".into(), "/audits".into()),
            ("people".into(), "/people".into()),
            ("audit log".into(), "/admin/audit".into()),
        ];
        println!("\n| page | p50 | p99 | max |");
        println!("| --- | --- | --- | --- |");
        let mut worst = Duration::ZERO;
        for (name, path) in &pages {
            let url = format!("{base}{path}");
            let get = || client.get(&url).bearer_auth(&token).send();
            for _ in 0..5 {
                let r = get().await.unwrap();
                assert!(r.status().is_success(), "{path}: {}", r.status());
                r.bytes().await.unwrap();
            }
            let mut times = Vec::with_capacity(requests);
            for _ in 0..requests {
                let t = Instant::now();
                let r = get().await.unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap();
                times.push(t.elapsed());
            }
            times.sort();
            let p99 = pct(&times, 0.99);
            worst = worst.max(p99);
            println!("| {name} | {} | {} | {} |", ms(pct(&times, 0.5)), ms(p99), ms(*times.last().unwrap()));
        }
        println!("\nslowest page p99: {} (target < 100 ms)", ms(worst));
    });
}
