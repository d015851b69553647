//! itemize's persistence. One storage layer over SQLite (the embedded default) and PostgreSQL: the SQL is
//! written once wherever it is portable, and what differs lives in [`dialect`]. Everything a caller does goes
//! through a [`Session`]: a pooled connection for reads, or a transaction for writes that commit together.

mod accounts;
mod allocation;
mod assets;
mod cost;
pub mod dialect;
mod error;
mod migrate;
mod refdata;
mod row;
mod settings;

pub use accounts::{AuditEntry, AuditQuery, LoginFailure, SessionRow, TokenRow, UserRow};
pub use allocation::{
    AdjustmentRow, CUBE_COLUMNS, CubeCell, CubeFilter, CubeSum, MetricRow, MonthCell, RuleSetRow, RunRow,
};
pub use assets::{
    ASSET_COLUMNS, AssetCostRow, AssetEvent, AssetQuery, AuditRow, ContractRow, RelationRow, ScanRow,
};
pub use cost::{CommitmentRow, ImportRow, PartitionFilter, PartitionRow, RateRow};
pub use dialect::Backend;
pub use error::StoreError;
pub use migrate::{MIGRATIONS, Migration, MigrationStatus};
pub use refdata::{Archived, ListQuery, SortValue, StoredKind, table_of};
pub use row::RowGet;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{
    AssertSqlSafe, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction,
};
use std::str::FromStr;
use std::time::Duration;

/// How to open the database.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    /// How long a writer waits for SQLite's lock before giving up.
    pub busy_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { max_connections: 16, busy_timeout: Duration::from_secs(10) }
    }
}

/// A handle on the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Store {
    /// Opens `url`: `sqlite://PATH` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Store, StoreError> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let o = PgConnectOptions::from_str(url)?;
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(opts.max_connections)
                    // A broken connection fails its query and is replaced; pinging before every use would
                    // add a round trip to every request.
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(o)
                    .await?,
            )
        } else if url.starts_with("sqlite:") {
            let o = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(opts.busy_timeout)
                // Large imports: 16 MB of page cache per connection instead of 2 MB, so a transaction's pages
                // are not spilled to disk mid-way; statement journals in memory rather than temporary files.
                .pragma("cache_size", "-16000")
                .pragma("temp_store", "memory")
                // Reads of a large database through a memory map of the file instead of a read() copy per page.
                .pragma("mmap_size", "1073741824");
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(opts.max_connections)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(o)
                    .await?,
            )
        } else {
            return Err(StoreError::BadUrl(
                "the database URL must start with sqlite:// or postgres://".to_string(),
            ));
        };
        Ok(Store { pool })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// A pooled connection for reads (each statement sees committed data).
    pub async fn session(&self) -> Result<Session, StoreError> {
        Ok(Session(match &self.pool {
            Pool::Sqlite(p) => Inner::SqlitePooled(p.acquire().await?),
            Pool::Postgres(p) => Inner::PgPooled(p.acquire().await?),
        }))
    }

    /// A write transaction: everything done through it lands on [`Session::commit`], or not at all.
    pub async fn transaction(&self) -> Result<Session, StoreError> {
        let begin = self.backend().begin_write();
        Ok(Session(match &self.pool {
            Pool::Sqlite(p) => Inner::SqliteTx(p.begin_with(begin).await?),
            Pool::Postgres(p) => Inner::PgTx(p.begin_with(begin).await?),
        }))
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut s = self.session().await?;
        s.fetch_all("SELECT 1 AS one".to_string(), Vec::new()).await?;
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// A connection or a transaction, on either backend.
#[derive(Debug)]
pub struct Session(Inner);

#[derive(Debug)]
enum Inner {
    SqlitePooled(PoolConnection<Sqlite>),
    PgPooled(PoolConnection<Postgres>),
    SqliteTx(Transaction<'static, Sqlite>),
    PgTx(Transaction<'static, Postgres>),
}

enum ConnRef<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// A bound parameter. Typed even when null, because PostgreSQL checks parameter types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl Value {
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(Some(s.into()))
    }
    pub fn int(i: i64) -> Value {
        Value::Int(Some(i))
    }
}

macro_rules! bind_all {
    ($query:expr, $values:expr) => {{
        let mut q = $query;
        for v in $values {
            q = match v {
                Value::Int(i) => q.bind(i),
                Value::Text(t) => q.bind(t),
            };
        }
        q
    }};
}

type Rows = Vec<Box<dyn RowGet + Send>>;

/// Rows per bulk INSERT on SQLite (see [`sqlite_bulk`]).
pub(crate) const SQLITE_BULK_ROWS: usize = 1000;

/// SQLite bulk insert: the rows travel as one JSON array of arrays bound to one parameter and are expanded by
/// `json_each`, so a statement carries a thousand rows without a thousand-fold parameter binding (sqlx looks
/// each parameter up by scanning the statement's parameters, which makes wide VALUES lists quadratic).
/// Returns the `SELECT` that stands where `VALUES (...)` would, and the one bound value.
pub(crate) fn sqlite_bulk(width: usize, rows: &[Vec<Value>]) -> (String, Value) {
    let cols: Vec<String> = (0..width).map(|i| format!("j.value ->> {i}")).collect();
    let select = format!("SELECT {} FROM jsonb_each($1) AS j ORDER BY j.key", cols.join(", "));
    let json: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::Value::Array(
                r.iter()
                    .map(|v| match v {
                        Value::Int(Some(i)) => serde_json::Value::from(*i),
                        Value::Text(Some(t)) => serde_json::Value::from(t.as_str()),
                        Value::Int(None) | Value::Text(None) => serde_json::Value::Null,
                    })
                    .collect(),
            )
        })
        .collect();
    (select, Value::text(serde_json::Value::Array(json).to_string()))
}

impl Session {
    pub fn backend(&self) -> Backend {
        match self.0 {
            Inner::SqlitePooled(_) | Inner::SqliteTx(_) => Backend::Sqlite,
            Inner::PgPooled(_) | Inner::PgTx(_) => Backend::Postgres,
        }
    }

    fn conn(&mut self) -> ConnRef<'_> {
        match &mut self.0 {
            Inner::SqlitePooled(c) => ConnRef::Sqlite(c),
            Inner::SqliteTx(t) => ConnRef::Sqlite(t),
            Inner::PgPooled(c) => ConnRef::Postgres(c),
            Inner::PgTx(t) => ConnRef::Postgres(t),
        }
    }

    /// Makes a transaction's writes durable. On a pooled session there is nothing to commit.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.0 {
            Inner::SqliteTx(t) => t.commit().await?,
            Inner::PgTx(t) => t.commit().await?,
            Inner::SqlitePooled(_) | Inner::PgPooled(_) => {}
        }
        Ok(())
    }

    /// Discards a transaction's writes (dropping the session does the same).
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.0 {
            Inner::SqliteTx(t) => t.rollback().await?,
            Inner::PgTx(t) => t.rollback().await?,
            Inner::SqlitePooled(_) | Inner::PgPooled(_) => {}
        }
        Ok(())
    }

    /// Runs one statement and returns its rows. The SQL is built by this crate from static fragments only;
    /// every user-supplied value travels as a bound parameter.
    pub(crate) async fn fetch_all(&mut self, sql: String, values: Vec<Value>) -> Result<Rows, StoreError> {
        Ok(match self.conn() {
            ConnRef::Sqlite(c) => bind_all!(sqlx::query(AssertSqlSafe(sql)), values)
                .fetch_all(c)
                .await?
                .into_iter()
                .map(|r| Box::new(r) as Box<dyn RowGet + Send>)
                .collect(),
            ConnRef::Postgres(c) => bind_all!(sqlx::query(AssertSqlSafe(sql)), values)
                .fetch_all(c)
                .await?
                .into_iter()
                .map(|r| Box::new(r) as Box<dyn RowGet + Send>)
                .collect(),
        })
    }

    /// Like [`Session::fetch_all`], but where the dialect packs rows (SQLite) the page crosses from the
    /// database as one JSON value. `cols` are the output columns of `sql`, `order_by` its order over them.
    pub(crate) async fn fetch_page(
        &mut self,
        sql: String,
        values: Vec<Value>,
        cols: &[&str],
        order_by: &str,
    ) -> Result<Rows, StoreError> {
        let Some(packed) = self.backend().packed_rows(&sql, cols, order_by) else {
            return self.fetch_all(sql, values).await;
        };
        let row = self.fetch_optional(packed, values).await?.ok_or(StoreError::NotFound)?;
        let text = row.opt_text("packed")?.unwrap_or_else(|| "[]".into());
        let arrays: Vec<Vec<serde_json::Value>> =
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("packed rows: {e}")))?;
        let names: std::sync::Arc<std::collections::HashMap<String, usize>> =
            std::sync::Arc::new(cols.iter().enumerate().map(|(i, c)| (c.to_string(), i)).collect());
        Ok(arrays
            .into_iter()
            .map(|values| Box::new(row::JsonRow { names: names.clone(), values }) as Box<dyn RowGet + Send>)
            .collect())
    }

    pub(crate) async fn fetch_optional(
        &mut self,
        sql: String,
        values: Vec<Value>,
    ) -> Result<Option<Box<dyn RowGet + Send>>, StoreError> {
        Ok(self.fetch_all(sql, values).await?.into_iter().next())
    }

    /// Runs one statement and returns the number of rows it changed.
    pub(crate) async fn execute(&mut self, sql: String, values: Vec<Value>) -> Result<u64, StoreError> {
        Ok(match self.conn() {
            ConnRef::Sqlite(c) => {
                bind_all!(sqlx::query(AssertSqlSafe(sql)), values).execute(c).await?.rows_affected()
            }
            ConnRef::Postgres(c) => {
                bind_all!(sqlx::query(AssertSqlSafe(sql)), values).execute(c).await?.rows_affected()
            }
        })
    }

    /// Runs a script of several statements without parameters (migrations).
    pub(crate) async fn execute_script(&mut self, sql: String) -> Result<(), StoreError> {
        match self.conn() {
            ConnRef::Sqlite(c) => {
                sqlx::raw_sql(AssertSqlSafe(sql)).execute(c).await?;
            }
            ConnRef::Postgres(c) => {
                sqlx::raw_sql(AssertSqlSafe(sql)).execute(c).await?;
            }
        }
        Ok(())
    }
}
