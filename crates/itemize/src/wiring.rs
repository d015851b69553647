//! Wiring: the only place that reads the wall clock, opens the database and installs logging.

use crate::config::{LogFormat, Settings};
use anyhow::Context;
use itemize_app::{App, AppConfig};
use itemize_core::Clock;
use itemize_store::{ConnectOptions, Store};
use std::sync::Arc;

/// The real clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one sanctioned read of the wall clock.
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// Installs logging: human-readable lines, or JSON lines when configured. `RUST_LOG` filters.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Opens the configured database (creating the data directory for SQLite).
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    if settings.database_url.expose().starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating the data directory {}", settings.data_dir.display()))?;
    }
    let opts = ConnectOptions { max_connections: settings.db_max_connections, ..ConnectOptions::default() };
    Store::connect(settings.database_url.expose(), &opts)
        .await
        .with_context(|| format!("opening the database {}", settings.database_url))
}

/// Opens the database, applies pending migrations and builds the application.
pub async fn open_app(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
    let store = open_store(settings).await?;
    let applied = store.migrate(clock.now()).await.context("migrating the database")?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database migrated");
    }
    Ok(App::new(
        store,
        clock,
        AppConfig {
            reporting_currency: settings.reporting_currency,
            fiscal_calendar: settings.fiscal_calendar,
            session_idle: settings.session_idle,
            session_absolute: settings.session_absolute,
            data_dir: settings.data_dir.clone(),
        },
    ))
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Binds `settings.listen` and serves until a shutdown signal.
pub async fn serve(
    app: App,
    settings: &Settings,
    banner: impl FnOnce(std::net::SocketAddr),
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    banner(addr);
    tracing::info!(%addr, "serving");
    let opts = itemize_web::WebOptions {
        max_body_bytes: settings.max_body_bytes,
        secure_cookies: settings.secure_cookies,
    };
    // Imports left unfinished by a previous process can never finish now: say so.
    if let Ok(mut s) = app.store().session().await {
        let _ = s
            .fail_unfinished_imports("the server stopped before this import finished; import the file again")
            .await;
    }
    let swept = app.sweep_leftovers();
    if swept > 0 {
        tracing::info!(removed = swept, "removed what imports and exports cut short had left behind");
    }
    // Imports that committed but were stopped before restating the closed periods and allocating again the
    // periods they touched: finished now.
    match app.finish_pending_imports(&itemize_app::Actor::system("startup")).await {
        Ok(done) if !done.is_empty() => {
            tracing::warn!(imports = ?done, "finished what interrupted imports owed the allocation")
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "finishing interrupted imports failed"),
    }
    let inbox = tokio::spawn(watch_inbox(app.clone()));
    let router = itemize_web::router(app, &opts);
    itemize_web::serve(listener, router, shutdown_signal()).await?;
    inbox.abort();
    Ok(())
}

/// How often the inbox is scanned; a file is taken once it has not changed for one interval.
const INBOX_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Scans `DATA_DIR/inbox/` until the server stops.
async fn watch_inbox(app: App) {
    let mut state = itemize_app::inbox::InboxState::new(itemize_app::inbox::QUIET);
    tracing::info!(dir = %app.inbox_dir().display(), "watching the inbox");
    loop {
        if let Err(e) = app.scan_inbox(&mut state).await {
            tracing::warn!(error = %e, "inbox scan failed");
        }
        tokio::time::sleep(INBOX_INTERVAL).await;
    }
}
