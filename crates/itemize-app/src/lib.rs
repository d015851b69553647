//! itemize's application layer: every use case, called alike by the HTTP API, the pages, the CLI and jobs.
//! Nothing here knows HTTP; nothing in the front ends knows the rules.

pub mod allocation;
pub mod asset_import;
pub mod asset_ledger;
pub mod asset_ops;
pub mod assets;
pub mod auth;
pub mod cost;
pub mod csvio;
pub mod demo;
mod demo_assets;
pub mod demo_bills;
pub mod demo_gen;
pub mod demo_rules;
mod error;
pub mod focus_export;
pub mod inbox;
pub mod insight;
pub mod labels;
pub mod ledger;
pub mod lines;
pub mod listing;
pub mod rates;
pub mod refdata;
pub mod restate;
pub mod secrets;
pub mod snipe;

pub use error::AppError;
pub use itemize_core::auth::Actor;
pub use listing::{ListParams, Page};

use itemize_core::{Clock, Currency, FiscalCalendar};
use itemize_store::Store;
use jiff::SignedDuration;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Organisation-wide settings the use cases need.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The currency every report is expressed in.
    pub reporting_currency: Currency,
    pub fiscal_calendar: FiscalCalendar,
    /// A session unused for this long ends.
    pub session_idle: SignedDuration,
    /// A session ends this long after sign-in, however busy.
    pub session_absolute: SignedDuration,
    /// Where files live: the cost lake, raw imported files, import reports, the inbox.
    pub data_dir: std::path::PathBuf,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            reporting_currency: Currency::USD,
            fiscal_calendar: FiscalCalendar::default(),
            session_idle: SignedDuration::from_hours(2),
            session_absolute: SignedDuration::from_hours(12),
            data_dir: std::path::PathBuf::from("itemize-data"),
        }
    }
}

/// The application: storage, a clock and settings. Cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    store: Store,
    clock: Arc<dyn Clock>,
    config: Arc<AppConfig>,
    auth_cache: Arc<Mutex<HashMap<String, auth::CachedAuth>>>,
    /// Bumped by every invalidation: a lookup that began before one must not cache what it read.
    auth_generation: Arc<std::sync::atomic::AtomicU64>,
    /// Cost imports running in this process: their progress and the size of their file.
    running: cost::Running,
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: AppConfig) -> Self {
        Self {
            store,
            clock,
            config: Arc::new(config),
            auth_cache: Arc::default(),
            auth_generation: Arc::default(),
            running: Arc::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    /// Forgets every cached authentication, so the next request re-reads sessions, tokens, users and scopes.
    /// Called after anything that can change an actor: sign-out, revocation, user changes, cost-centre changes.
    pub fn invalidate_auth_cache(&self) {
        let mut cache = self.auth_cache.lock().unwrap_or_else(|e| e.into_inner());
        self.auth_generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        cache.clear();
    }

    pub(crate) fn auth_generation(&self) -> u64 {
        self.auth_generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Readiness: the database answers and its schema is the one this binary expects.
    pub async fn ready(&self) -> Result<(), AppError> {
        self.store.ping().await.map_err(|e| AppError::Unavailable(e.to_string()))?;
        self.store.require_current_schema().await.map_err(|e| AppError::Unavailable(e.to_string()))
    }
}
