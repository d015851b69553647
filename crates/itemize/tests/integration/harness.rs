//! Test harness: an application on a fresh database (SQLite file in a temporary directory, or a fresh
//! database in the throwaway PostgreSQL), a pinned clock, and a server on port 0 when a test needs HTTP.

use itemize_app::auth::NewUser;
use itemize_app::{Actor, App, AppConfig};
use itemize_core::FixedClock;
use itemize_store::{ConnectOptions, Store};
use std::sync::Arc;
use tempfile::TempDir;

pub const T0: &str = "2026-11-22T09:00:00Z";

/// The application acting for itself (fixtures), unrestricted.
pub fn sys() -> Actor {
    Actor::system("test")
}

pub const ADMIN: &str = "test-admin";
pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    /// Creates a user with the test password; `cost_centres` limits them.
    pub async fn user(&self, name: &str, role: &str, cost_centres: Vec<i64>) -> i64 {
        let u = NewUser {
            username: name.into(),
            password: PASSWORD.into(),
            role: role.into(),
            display_name: None,
            cost_centres,
        };
        self.app.create_user(&sys(), u).await.unwrap_or_else(|e| panic!("creating {name}: {e}")).id
    }

    /// A read-write (or read-only) API token for user `id`.
    pub async fn token(&self, id: i64, read_only: bool) -> String {
        self.app.create_token(&sys(), Some(id), "test", read_only, None).await.unwrap().token
    }
}

pub struct TestApp {
    pub app: App,
    pub clock: Arc<FixedClock>,
    pub url: String,
    /// Holds the SQLite file; removed when the test ends.
    pub _dir: TempDir,
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("itemize.db").display());
        Self::open(url, dir).await
    }

    /// `None` (after one loud line) when PostgreSQL is unavailable and not required.
    pub async fn postgres() -> Option<TestApp> {
        let server = itemize_testkit::postgres()?;
        let url = server.fresh_database().await;
        Some(Self::open(url, tempfile::tempdir().expect("temp dir")).await)
    }

    async fn open(url: String, dir: TempDir) -> TestApp {
        let store = Store::connect(&url, &ConnectOptions { max_connections: 8, ..Default::default() })
            .await
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
        let clock = Arc::new(FixedClock::new(T0.parse().unwrap()));
        store.migrate(T0.parse().unwrap()).await.expect("migrate");
        let config = AppConfig { data_dir: dir.path().join("data"), ..AppConfig::default() };
        let app = App::new(store, clock.clone(), config);
        TestApp { app, clock, url, _dir: dir }
    }

    pub fn store(&self) -> &Store {
        self.app.store()
    }

    /// Serves the app on 127.0.0.1:0 until the returned server is dropped.
    pub async fn serve(&self) -> Server {
        self.serve_with(itemize_web::WebOptions::default()).await
    }

    /// Serves the app; the server's `client` sends an admin's API token with every request.
    pub async fn serve_with(&self, opts: itemize_web::WebOptions) -> Server {
        let admin = match self.app.find_user(&sys(), ADMIN).await {
            Ok(u) => u.id,
            Err(_) => self.user(ADMIN, "admin", vec![]).await,
        };
        let token = self.token(admin, false).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let router = itemize_web::router(self.app.clone(), &opts);
        let handle = tokio::spawn(async move {
            itemize_web::serve(listener, router, async {
                let _ = rx.await;
            })
            .await
        });
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        let client = reqwest::Client::builder().default_headers(headers).build().unwrap();
        Server {
            base: format!("http://{addr}"),
            token,
            client,
            anonymous: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            shutdown: Some(tx),
            handle,
        }
    }
}

pub struct Server {
    pub base: String,
    /// The admin's API token the `client` sends.
    pub token: String,
    /// Sends an admin's API token.
    pub client: reqwest::Client,
    /// Sends nothing, follows no redirects.
    pub anonymous: reqwest::Client,
    pub shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// GET `path` with another API token than the admin's.
    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.anonymous
            .get(self.url(path))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
        if_match: Option<&str>,
    ) -> (u16, Option<String>, serde_json::Value) {
        let mut req = self.client.request(method, self.url(path)).json(body);
        if let Some(m) = if_match {
            req = req.header("if-match", m);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let etag = r.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
        (status, etag, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// POSTs a text body (TOML, CSV) with the server's client.
    pub async fn post_text(&self, path: &str, body: &str) -> reqwest::Response {
        self.client.post(self.url(path)).body(body.to_string()).send().await.expect("request")
    }

    pub async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, Option<String>, serde_json::Value) {
        self.send_json(reqwest::Method::POST, path, &body, None).await
    }

    pub async fn patch(
        &self,
        path: &str,
        body: serde_json::Value,
        if_match: Option<&str>,
    ) -> (u16, Option<String>, serde_json::Value) {
        self.send_json(reqwest::Method::PATCH, path, &body, if_match).await
    }
}

/// Runs the same test body on SQLite and on PostgreSQL: `both!(name, |t| async_body)`.
macro_rules! both {
    ($name:ident, |$t:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $t = crate::harness::TestApp::sqlite().await;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($t) = crate::harness::TestApp::postgres().await else {
                    return;
                };
                $body
            }
        }
    };
}

/// Creates a small organisation through the use cases: two cost centres, a location, a person.
pub async fn seed_small(t: &TestApp) -> (i64, i64, i64, i64) {
    use itemize_core::refdata::{CostCentre, Location, Person};
    use serde_json::json;
    let top =
        t.app.create::<CostCentre>(&sys(), json!({"code": "CC-1", "name": "Technology"})).await.unwrap();
    let sub = t
        .app
        .create::<CostCentre>(
            &sys(),
            json!({"code": "CC-2", "name": "Platform", "parent_id": top.id.get(), "currency": "EUR"}),
        )
        .await
        .unwrap();
    let loc = t
        .app
        .create::<Location>(&sys(), json!({"code": "LON", "name": "London", "country": "GB"}))
        .await
        .unwrap();
    let p = t
        .app
        .create::<Person>(
            &sys(),
            json!({
                "employee_id": "E1", "name": "Ada Lovelace", "email": "ada@corp.example",
                "cost_centre_id": sub.id.get(), "location_id": loc.id.get()
            }),
        )
        .await
        .unwrap();
    (top.id.get(), sub.id.get(), loc.id.get(), p.id.get())
}
