//! The asset register at scale, on SQLite and on PostgreSQL:
//!
//! 1. **Import**: `BENCH_IMPORT_ROWS` (100,000) rows of an itemize-format CSV (natural keys for location, cost
//!    centre and assignee) through the same import use case as `itemize assets import`, one transaction:
//!    rows per second, end to end (parse, validate, resolve references, write assets and their history).
//! 2. **Lists at 1,000,000 assets**: the rest of `BENCH_ASSETS` (1,000,000) is written straight into the store,
//!    then `BENCH_CLIENTS` (50) concurrent HTTP clients run a mix of list requests for `BENCH_SECONDS` (10) after a
//!    2 s warm-up — browse by tag walking the cursor pages, filter by state and class, sort by purchase date
//!    (newest first), search by a tag prefix, a serial prefix or a person's name, a location's assets by tag and a
//!    cost centre's repairs — printing p50/p99/max per kind and overall.
//!
//! Run: `cargo bench -p itemize --bench assets`. PostgreSQL comes from `ITEMIZE_TEST_DATABASE_URL` or the
//! installed binaries.

mod common;

use common::Rng;
use itemize_app::{Actor, App, AppConfig};
use itemize_core::FixedClock;
use itemize_core::assets::{Asset, AssetFields, Custody, State, Substate};
use itemize_core::refdata::{CostCentre, Location, Person, RefKind};
use itemize_store::{ConnectOptions, Store};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const LOCATIONS: u64 = 200;
const COST_CENTRES: u64 = 100;
const PEOPLE: u64 = 20_000;
const CLASSES: [(&str, u32); 7] = [
    ("laptop", 45),
    ("desktop", 10),
    ("mobile", 15),
    ("peripheral", 15),
    ("server", 5),
    ("network", 5),
    ("other", 5),
];
const STATES: [(&str, u32); 5] =
    [("in-use", 80), ("in-stock", 10), ("in-repair", 3), ("retired", 5), ("missing", 2)];

fn pick<'a>(rng: &mut Rng, table: &[(&'a str, u32)]) -> &'a str {
    let total: u64 = table.iter().map(|t| u64::from(t.1)).sum();
    let mut roll = rng.next() % total;
    for (v, w) in table {
        if roll < u64::from(*w) {
            return v;
        }
        roll -= u64::from(*w);
    }
    table[0].0
}

fn serial(rng: &mut Rng) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    (0..10).map(|_| char::from(A[(rng.next() % A.len() as u64) as usize])).collect()
}

/// One generated asset's columns: (tag, class, state, serial, purchase date, location, cost centre, assignee).
struct Gen {
    tag: String,
    class: &'static str,
    state: &'static str,
    serial: String,
    purchase: String,
    location: u64,
    cost_centre: u64,
    assignee: Option<u64>,
    cost: u64,
}

fn generate(rng: &mut Rng, i: u64) -> Gen {
    let class = pick(rng, &CLASSES);
    let state = pick(rng, &STATES);
    let day = rng.next() % (5 * 365);
    let purchase =
        jiff::civil::date(2021, 11, 1).checked_add(jiff::Span::new().days(day as i64)).unwrap().to_string();
    let personal = matches!(class, "laptop" | "mobile" | "desktop" | "peripheral");
    Gen {
        tag: format!("AS-{i:07}"),
        class,
        state,
        serial: serial(rng),
        purchase,
        location: rng.next() % LOCATIONS,
        cost_centre: rng.next() % COST_CENTRES,
        assignee: (personal && state == "in-use").then(|| rng.next() % PEOPLE),
        cost: 300 + rng.next() % 3000,
    }
}

async fn seed_reference(store: &Store) -> (Vec<i64>, Vec<i64>, Vec<i64>) {
    let now = "2026-11-22T00:00:00Z".parse().unwrap();
    let mut tx = store.transaction().await.unwrap();
    let mut locs = Vec::new();
    for i in 0..LOCATIONS {
        let l = Location::from_json(
            json!({"code": format!("L{i:03}"), "name": format!("Site {i:03}"), "country": "US"}),
        )
        .unwrap();
        locs.push(tx.insert(&l, now).await.unwrap().id.into());
    }
    let mut ccs = Vec::new();
    for i in 0..COST_CENTRES {
        let c = CostCentre::from_json(
            json!({"code": format!("CC-{i:03}"), "name": format!("Cost centre {i:03}"), "currency": "USD"}),
        )
        .unwrap();
        ccs.push(tx.insert(&c, now).await.unwrap().id.into());
    }
    let mut people = Vec::new();
    for i in 0..PEOPLE {
        let p = Person::from_json(json!({
            "employee_id": format!("E{i:07}"),
            "name": format!("Person {i:07}"),
            "email": format!("person{i}@corp.example"),
        }))
        .unwrap();
        people.push(tx.insert(&p, now).await.unwrap().id.into());
    }
    tx.commit().await.unwrap();
    (locs, ccs, people)
}

fn import_file(rows: u64) -> Vec<u8> {
    import_file_from(0, rows)
}

/// Rows `first..first + rows` of the generated register as an import file.
fn import_file_from(first: u64, rows: u64) -> Vec<u8> {
    let mut rng = Rng(7 + first);
    let mut out = String::from(
        "tag,name,class,model,manufacturer,serial,hostname,purchase_date,purchase_cost,currency,\
         useful_life_months,warranty_end,location,cost_centre,state,assignee\n",
    );
    for i in first..first + rows {
        let g = generate(&mut rng, i);
        let warranty = format!("{}{}", &g.purchase[..3], (g.purchase[3..4].parse::<u8>().unwrap() + 3) % 10)
            + &g.purchase[4..];
        out.push_str(&format!(
            "{},Asset {i},{},Model {},Make {},{},{},{},{}.00,USD,48,{},L{:03},CC-{:03},{},{}\n",
            g.tag,
            g.class,
            i % 37,
            i % 11,
            g.serial,
            if g.class == "laptop" { format!("lt-{i:07}") } else { String::new() },
            g.purchase,
            g.cost,
            if warranty.parse::<jiff::civil::Date>().is_ok() { warranty } else { String::new() },
            g.location,
            g.cost_centre,
            g.state,
            g.assignee.map(|p| format!("E{p:07}")).unwrap_or_default(),
        ));
    }
    out.into_bytes()
}

/// The rest of the million, straight into the store in transactions of 10,000.
async fn seed_assets(store: &Store, from: u64, to: u64, ids: &(Vec<i64>, Vec<i64>, Vec<i64>)) {
    let now: jiff::Timestamp = "2026-11-22T00:00:00Z".parse().unwrap();
    let mut rng = Rng(11 + from);
    let mut i = from;
    while i < to {
        let end = (i + 10_000).min(to);
        let mut batch = Vec::with_capacity((end - i) as usize);
        for n in i..end {
            let g = generate(&mut rng, n);
            let fields = AssetFields::from_json(
                json!({"tag": g.tag, "name": format!("Asset {n}"), "class": g.class, "model": format!("Model {}", n % 37),
                    "manufacturer": format!("Make {}", n % 11), "serial": g.serial,
                    "hostname": if g.class == "laptop" { Some(format!("lt-{n:07}")) } else { None },
                    "purchase_date": g.purchase, "purchase_cost": format!("{}.00", g.cost), "currency": "USD",
                    "useful_life_months": 48, "location_id": ids.0[g.location as usize],
                    "cost_centre_id": ids.1[g.cost_centre as usize]}),
                itemize_core::Currency::USD,
                &[],
            )
            .unwrap();
            let state: State = g.state.parse().unwrap();
            batch.push(Asset {
                id: 0,
                custody: Custody {
                    assignee_person_id: g.assignee.map(|p| ids.2[p as usize]),
                    location_id: fields.location_id,
                    ..Custody::default()
                },
                fields,
                substate: (state == State::InStock).then_some(Substate::Tagged),
                state,
                disposal: None,
                last_audited_at: None,
                version: 1,
                created_at: now,
                updated_at: now,
            });
        }
        let mut tx = store.transaction().await.unwrap();
        tx.insert_assets(&batch).await.unwrap();
        tx.commit().await.unwrap();
        i = end;
    }
}

async fn analyze(store: &Store, url: &str) {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut s = store.session().await.unwrap();
        s.analyze_assets().await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql("VACUUM ANALYZE").execute(&mut c).await.unwrap();
    }
}

#[derive(serde::Deserialize)]
struct PageLite {
    items: Vec<serde::de::IgnoredAny>,
    next: Option<String>,
}

/// The request mix: (label, query, walks the cursor pages).
fn kinds(loc: i64, cc: i64) -> Vec<(&'static str, String, bool)> {
    vec![
        ("browse by tag", "limit=50".into(), true),
        ("filter state+class", "state=in-use&class=laptop&limit=50".into(), true),
        ("sort -purchase_date", "sort=-purchase_date&limit=50".into(), true),
        ("search tag prefix", "q=AS-0{r4}&limit=50".into(), false),
        ("search serial prefix", "q={s3}&limit=50".into(), false),
        ("search person", "q=Person%20{p7}&limit=50".into(), false),
        ("location by tag", format!("location_id={loc}&sort=tag&limit=50"), true),
        ("cost centre repairs", format!("cost_centre_id={cc}&state=in-repair&limit=50"), true),
    ]
}

async fn load(
    base: String,
    token: &str,
    clients: u64,
    seconds: u64,
    loc: i64,
    cc: i64,
) -> Vec<Vec<Duration>> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients as usize)
        .default_headers(headers)
        .build()
        .unwrap();
    let kinds = Arc::new(kinds(loc, cc));
    let run = |until: Instant, seed: u64| {
        let (client, base, kinds) = (client.clone(), base.clone(), kinds.clone());
        tokio::spawn(async move {
            let mut rng = Rng(seed);
            let mut lat: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
            let mut cursors: Vec<Option<String>> = vec![None; kinds.len()];
            let mut k = (seed as usize) % kinds.len();
            while Instant::now() < until {
                k = (k + 1) % kinds.len();
                let (_, q, walks) = &kinds[k];
                let q = q
                    .replace("{r4}", &format!("{:03}", rng.next() % 1000))
                    .replace("{s3}", &serial(&mut rng)[..3])
                    .replace("{p7}", &format!("{:07}", rng.next() % PEOPLE));
                let url = match (&cursors[k], walks) {
                    (Some(c), true) => format!("{base}/api/v1/assets?{q}&cursor={c}"),
                    _ => format!("{base}/api/v1/assets?{q}"),
                };
                let t = Instant::now();
                let r = client.get(&url).send().await.expect("request");
                assert_eq!(r.status(), 200, "{url}");
                let body: PageLite = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
                lat[k].push(t.elapsed());
                std::hint::black_box(body.items.len());
                // Walk at most 40 pages deep, then start over.
                cursors[k] = body.next.filter(|_| !lat[k].len().is_multiple_of(40));
            }
            lat
        })
    };
    let warm = Instant::now() + Duration::from_secs(2);
    for h in (0..clients).map(|c| run(warm, 1000 + c)).collect::<Vec<_>>() {
        h.await.unwrap();
    }
    let until = Instant::now() + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..clients).map(|c| run(until, c)).collect();
    let mut all: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
    for h in handles {
        for (k, v) in h.await.unwrap().into_iter().enumerate() {
            all[k].extend(v);
        }
    }
    all
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

async fn bench(label: &str, url: &str, total: u64, import_rows: u64, clients: u64, seconds: u64) {
    // The server's default pool (db_max_connections = 16) unless BENCH_POOL says otherwise.
    let pool = env_or("BENCH_POOL", 16) as u32;
    let store =
        Store::connect(url, &ConnectOptions { max_connections: pool, ..Default::default() }).await.unwrap();
    let t0 = "2026-11-22T00:00:00Z".parse().unwrap();
    store.migrate(t0).await.unwrap();
    let ids = seed_reference(&store).await;
    let dir = tempfile::tempdir().unwrap();
    let config = AppConfig {
        data_dir: dir.path().to_path_buf(),
        reporting_currency: itemize_core::Currency::USD,
        ..AppConfig::default()
    };
    let app = App::new(store.clone(), Arc::new(FixedClock::new(t0)), config);
    let system = Actor::system("bench");

    // One import through the use case, timed; the figure printed after `what`.
    let import = |file: Vec<u8>, what: String| {
        let (app, system) = (app.clone(), system.clone());
        async move {
            let t = Instant::now();
            let report = app
                .import_assets(&system, &file, &itemize_app::asset_import::ImportOptions::default())
                .await
                .unwrap();
            let took = t.elapsed();
            assert!(
                report.committed && report.created == import_rows as usize,
                "{:?}",
                report.errors.first()
            );
            println!(
                "{label}: {what} ({:.1} MB) in {:.2} s: {:.0} rows/s",
                file.len() as f64 / 1e6,
                took.as_secs_f64(),
                import_rows as f64 / took.as_secs_f64()
            );
        }
    };
    import(import_file(import_rows), format!("import of {import_rows} rows")).await;

    let t = Instant::now();
    seed_assets(&store, import_rows, total, &ids).await;
    analyze(&store, url).await;
    println!(
        "{label}: {} more assets written in {:.0} s (setup, not measured)",
        total - import_rows,
        t.elapsed().as_secs_f64()
    );
    if std::env::var("BENCH_IMPORT_AFTER").is_ok() {
        // The same import again, of new assets, into the register now holding `total`: it writes into the
        // indexes row by row.
        import(
            import_file_from(total, import_rows),
            format!("import of {import_rows} rows into a register of {total}"),
        )
        .await;
        analyze(&store, url).await;
    }

    // One request of each kind in-process, one at a time: the use case alone, without HTTP or contention.
    for (name, q, _) in kinds(ids.0[17], ids.1[42]) {
        let q =
            q.replace("{r4}", "123").replace("{s3}", "7QK").replace("{p7}", "0001234").replace("%20", " ");
        let params = itemize_app::ListParams::from_pairs(
            q.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let t = Instant::now();
        for _ in 0..20 {
            std::hint::black_box(app.list_assets(&system, &params).await.unwrap());
        }
        println!("{label}: in-process {name}: {:.2} ms", (t.elapsed() / 20).as_secs_f64() * 1e3);
    }
    let token = common::admin_token(&app).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = itemize_web::router(app, &itemize_web::WebOptions::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(itemize_web::serve(listener, router, async {
        let _ = rx.await;
    }));
    let mut lat = load(base, &token, clients, seconds, ids.0[17], ids.1[42]).await;
    let _ = tx.send(());
    let _ = server.await;
    println!("| backend | request | requests | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    let mut every = Vec::new();
    for ((name, _, _), v) in kinds(0, 0).iter().zip(lat.iter_mut()) {
        every.extend(v.iter().copied());
        println!(
            "| {label} | {name} | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
            v.len(),
            pct(v, 0.5),
            pct(v, 0.99),
            pct(v, 1.0)
        );
    }
    println!(
        "| {label} | **all** | {} ({:.0} req/s) | {:.1} ms | **{:.1} ms** | {:.1} ms |",
        every.len(),
        every.len() as f64 / seconds as f64,
        pct(&mut every, 0.5),
        pct(&mut every, 0.99),
        pct(&mut every, 1.0)
    );
}

fn main() {
    let total = env_or("BENCH_ASSETS", 1_000_000);
    let import_rows = env_or("BENCH_IMPORT_ROWS", 100_000).min(total);
    let clients = env_or("BENCH_CLIENTS", 50);
    let seconds = env_or("BENCH_SECONDS", 10);
    let only = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!("{total} assets, {clients} clients, {seconds} s measured after a 2 s warm-up");
    rt.block_on(async {
        if only.contains("sqlite") {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            bench("SQLite", &url, total, import_rows, clients, seconds).await;
        }
        if only.contains("postgres") {
            match itemize_testkit::postgres() {
                Some(pg) => {
                    let url = pg.fresh_database().await;
                    bench("PostgreSQL", &url, total, import_rows, clients, seconds).await;
                }
                None => println!("PostgreSQL: skipped, no PostgreSQL available"),
            }
        }
    });
}
