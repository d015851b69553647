//! `GET /api/v1/people?limit=100` with 100,000 people and 50 concurrent clients, on SQLite and on PostgreSQL:
//! p50/p99 latency and throughput. Each client walks the list page by page through the `next` cursors (keyset
//! pagination), starting over at the end, so every depth of the list is exercised, not only the first page.
//!
//! Run: `cargo bench -p itemize --bench api_people`. Knobs: `BENCH_PEOPLE` (100000), `BENCH_CLIENTS` (50),
//! `BENCH_SECONDS` (10). PostgreSQL comes from `ITEMIZE_TEST_DATABASE_URL` or the installed binaries.

mod common;

use itemize_app::{App, AppConfig, ListParams};
use itemize_core::FixedClock;
use itemize_core::refdata::{Person, RefKind};
use itemize_store::{ConnectOptions, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Fresh planner statistics after the bulk load, as after any large import.
async fn analyze(url: &str) {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::raw_sql("ANALYZE").execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql("VACUUM ANALYZE").execute(&mut c).await.unwrap();
    }
}

async fn seed(store: &Store, n: u64) {
    let now = "2026-11-22T00:00:00Z".parse().unwrap();
    let mut tx = store.transaction().await.unwrap();
    for i in 0..n {
        let p = Person::from_json(serde_json::json!({
            "employee_id": format!("E{i:07}"),
            "name": format!("Person {:07}", (i * 7919) % n),
            "email": format!("person{i}@corp.example"),
            "job_title": "Engineer",
        }))
        .unwrap();
        tx.insert(&p, now).await.unwrap();
    }
    tx.commit().await.unwrap();
}

#[derive(serde::Deserialize)]
struct PageLite {
    items: Vec<serde::de::IgnoredAny>,
    next: Option<String>,
}

struct Result {
    requests: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
    elapsed: Duration,
}

async fn load(base: String, token: &str, clients: u64, seconds: u64) -> Result {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients as usize)
        .default_headers(headers)
        .build()
        .unwrap();
    let run = |until: Instant| {
        let client = client.clone();
        let base = base.clone();
        tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut next: Option<String> = None;
            while Instant::now() < until {
                let url = match &next {
                    Some(c) => format!("{base}/api/v1/people?limit=100&cursor={c}"),
                    None => format!("{base}/api/v1/people?limit=100"),
                };
                let t = Instant::now();
                let r = client.get(&url).send().await.expect("request");
                assert_eq!(r.status(), 200);
                // The client reads only what it needs (the cursor), so its own work steals as little of the
                // two cores from the server as it can.
                let body: PageLite = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
                lat.push(t.elapsed());
                assert!(!body.items.is_empty());
                next = body.next;
            }
            lat
        })
    };
    let warm = Instant::now() + Duration::from_secs(2);
    for h in (0..clients).map(|_| run(warm)).collect::<Vec<_>>() {
        h.await.unwrap();
    }
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..clients).map(|_| run(until)).collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let elapsed = start.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    Result { requests: all.len(), p50: pct(0.50), p99: pct(0.99), max: *all.last().unwrap(), elapsed }
}

async fn bench(label: &str, url: &str, people: u64, clients: u64, seconds: u64) {
    let store =
        Store::connect(url, &ConnectOptions { max_connections: 16, ..Default::default() }).await.unwrap();
    store.migrate("2026-11-22T00:00:00Z".parse().unwrap()).await.unwrap();
    let t = Instant::now();
    seed(&store, people).await;
    let seeded = t.elapsed();
    analyze(url).await;
    let app = App::new(
        store,
        Arc::new(FixedClock::new("2026-11-22T00:00:00Z".parse().unwrap())),
        AppConfig::default(),
    );
    let token = common::admin_token(&app).await;
    in_process(label, url, &app, &token).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = itemize_web::router(app, &itemize_web::WebOptions::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(itemize_web::serve(listener, router, async {
        let _ = rx.await;
    }));
    let r = load(base, &token, clients, seconds).await;
    let _ = tx.send(());
    let _ = server.await;
    println!(
        "| {label:<10} | {people:>7} | {clients:>3} | {:>7.2} ms | {:>7.2} ms | {:>7.2} ms | {:>8.0} req/s | seeded in {:.1} s |",
        r.p50.as_secs_f64() * 1e3,
        r.p99.as_secs_f64() * 1e3,
        r.max.as_secs_f64() * 1e3,
        r.requests as f64 / r.elapsed.as_secs_f64(),
        seeded.as_secs_f64(),
    );
}

/// Times the pieces of one request in-process, one at a time: authentication (token → actor), the list use
/// case, JSON encoding; and a password sign-in (argon2id).
async fn in_process(label: &str, url: &str, app: &App, token: &str) {
    let actor = app.token_actor(token, None).await.unwrap();
    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(app.token_actor(token, None).await.unwrap());
    }
    let authn = t.elapsed() / n;
    let t = Instant::now();
    for _ in 0..n {
        app.invalidate_auth_cache();
        std::hint::black_box(app.token_actor(token, None).await.unwrap());
    }
    let authn_cold = t.elapsed() / n;
    // The authorization decision itself: role policy and credential limits, a pure function.
    let t = Instant::now();
    for _ in 0..n * 100 {
        std::hint::black_box(itemize_core::auth::authorize(
            std::hint::black_box(&actor),
            itemize_core::auth::Resource::RefData(itemize_core::refdata::Kind::Person),
            itemize_core::auth::Action::Write,
        ))
        .ok();
    }
    let authz = t.elapsed() / (n * 100);
    let mut params = ListParams::default().with("limit", "100");
    let mut list_total = Duration::ZERO;
    let mut json_total = Duration::ZERO;
    for _ in 0..n {
        let t = Instant::now();
        let page = app.list::<Person>(&actor, &params).await.unwrap();
        list_total += t.elapsed();
        let t = Instant::now();
        std::hint::black_box(serde_json::to_vec(&page).unwrap());
        json_total += t.elapsed();
        params = match page.next {
            Some(c) => ListParams::default().with("limit", "100").with("cursor", c),
            None => ListParams::default().with("limit", "100"),
        };
    }
    if std::env::var("BENCH_BREAKDOWN").is_ok() {
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(app.store().session().await.unwrap());
        }
        println!("  pool acquire {:.1} µs", (t.elapsed() / n).as_secs_f64() * 1e6);
        let q =
            itemize_app::listing::query_for::<Person>(&ListParams::default().with("limit", "100")).unwrap();
        let mut s = app.store().session().await.unwrap();
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(s.list::<Person>(&q).await.unwrap());
        }
        println!(
            "  store list (first page, held connection) {:.1} µs",
            (t.elapsed() / n).as_secs_f64() * 1e6
        );
        let mut q1 = q.clone();
        q1.limit = 1;
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(s.list::<Person>(&q1).await.unwrap());
        }
        println!("  store list of 1 row {:.1} µs", (t.elapsed() / n).as_secs_f64() * 1e6);
        if url.starts_with("sqlite:") {
            use sqlx::Connection;
            let sql = "SELECT id, version, created_at, updated_at, archived_at, employee_id, name, email, job_title, \
                       cost_centre_id, location_id, manager_id, status, leave_date, name AS sort_key FROM people \
                       WHERE archived_at IS NULL ORDER BY name, id LIMIT 101";
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            let t = Instant::now();
            for _ in 0..n {
                std::hint::black_box(sqlx::query(sql).fetch_all(&mut c).await.unwrap());
            }
            println!(
                "  raw sqlx fetch_all of 101 rows, no decoding {:.1} µs",
                (t.elapsed() / n).as_secs_f64() * 1e6
            );
        }
    }
    let t = Instant::now();
    for _ in 0..5 {
        app.login("bench", "bench password", None).await.unwrap();
    }
    let login = t.elapsed() / 5;
    println!(
        "{label}: in-process, one at a time: authentication {:.1} µs (uncached {:.0} µs); authorization decision \
         {:.0} ns; list page of 100 {:.0} µs; JSON encoding {:.0} µs; password sign-in (argon2id) {:.1} ms",
        authn.as_secs_f64() * 1e6,
        authn_cold.as_secs_f64() * 1e6,
        authz.as_secs_f64() * 1e9,
        (list_total / n).as_secs_f64() * 1e6,
        (json_total / n).as_secs_f64() * 1e6,
        login.as_secs_f64() * 1e3
    );
}

fn main() {
    let people = env_or("BENCH_PEOPLE", 100_000);
    let clients = env_or("BENCH_CLIENTS", 50);
    let seconds = env_or("BENCH_SECONDS", 10);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!(
        "GET /api/v1/people?limit=100, walking the cursor pages; {seconds} s measured after 2 s warm-up"
    );
    println!(
        "| backend    |  people | clients |     p50    |     p99    |     max    |   throughput   | setup |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        bench("SQLite", &url, people, clients, seconds).await;
        match itemize_testkit::postgres() {
            Some(pg) => {
                let url = pg.fresh_database().await;
                bench("PostgreSQL", &url, people, clients, seconds).await;
            }
            None => println!("| PostgreSQL | skipped: no PostgreSQL available |"),
        }
    });
}
