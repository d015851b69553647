//! What the benchmarks share.

/// SplitMix64: a fast, seeded, reproducible generator for benchmark data.
#[allow(dead_code)] // not every benchmark generates data
pub struct Rng(pub u64);

#[allow(dead_code)]
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// An app on a fresh SQLite store in `dir`, its clock fixed, reporting in US dollars.
#[allow(dead_code)] // not every benchmark opens an app
pub async fn app(dir: &std::path::Path) -> itemize_app::App {
    use itemize_app::{App, AppConfig};
    use itemize_store::{ConnectOptions, Store};
    std::fs::create_dir_all(dir).unwrap();
    let url = format!("sqlite://{}", dir.join("itemize.db").display());
    let store = Store::connect(&url, &ConnectOptions::default()).await.unwrap();
    let t0 = "2026-11-22T00:00:00Z".parse().unwrap();
    store.migrate(t0).await.unwrap();
    let config = AppConfig {
        data_dir: dir.join("data"),
        reporting_currency: itemize_core::Currency::USD,
        ..AppConfig::default()
    };
    App::new(store, std::sync::Arc::new(itemize_core::FixedClock::new(t0)), config)
}

/// An administrator `bench` (password "bench password") and a read-only API token of theirs, for load
/// generators that go through HTTP like any client.
#[allow(dead_code)] // not every benchmark serves HTTP
pub async fn admin_token(app: &itemize_app::App) -> String {
    let system = itemize_app::Actor::system("bench");
    let user = itemize_app::auth::NewUser {
        username: "bench".into(),
        password: "bench password".into(),
        role: "admin".into(),
        display_name: None,
        cost_centres: vec![],
    };
    let admin = app.create_user(&system, user).await.unwrap();
    app.create_token(&system, Some(admin.id), "bench", true, None).await.unwrap().token
}
