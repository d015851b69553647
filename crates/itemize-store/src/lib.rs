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
    asset_sort_nullable,
};
pub use cost::{CommitmentRow, ImportRow, PartitionFilter, PartitionRow, RateRow, Restates};
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
                // 16 MB of page cache per connection instead of 2 MB; statement journals in memory rather than
                // temporary files.
                .pragma("cache_size", "-16000")
                // A large write (an import into a big register dirties pages all over its indexes) keeps up to
                // 32,768 changed pages in memory before writing any of them to the log mid-transaction, where
                // they would be written again at commit. Only a transaction's changed pages go beyond
                // `cache_size`, and the cache shrinks back to it once they are committed or rolled back.
                .pragma("cache_spill", "32768")
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

    /// A session for reads whose statements cost more to plan than to run — a search's union of index
    /// ranges — on PostgreSQL a read-only transaction in which each statement is planned once per connection
    /// for any values (a generic plan) and the plan reused; elsewhere a pooled session. Only for statements
    /// whose plan does not depend on the values: the search ranges are index ranges whatever they hold. No
    /// parallel workers: a generic plan guesses thousands of rows where a page reads tens, and starting workers
    /// costs more than the whole query. The settings end with the transaction, however the session ends
    /// (dropping it rolls back with the connection's next statement).
    pub async fn planned_reads(&self) -> Result<Session, StoreError> {
        match &self.pool {
            Pool::Sqlite(_) => self.session().await,
            Pool::Postgres(p) => Ok(Session(Inner::PgTx(
                p.begin_with(
                    "BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan; \
                     SET LOCAL max_parallel_workers_per_gather = 0",
                )
                .await?,
            ))),
        }
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
    /// A column of values bound as one array (`bigint[]`, `text[]`) for PostgreSQL's `unnest` (see
    /// [`pg_bulk`]). SQLite has no arrays; there they bind as JSON text.
    Ints(Vec<Option<i64>>),
    Texts(Vec<Option<String>>),
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
    ($query:expr, $values:expr, $array:expr) => {{
        let mut q = $query;
        for v in $values {
            q = match v {
                Value::Int(i) => q.bind(i),
                Value::Text(t) => q.bind(t),
                Value::Ints(a) => q.bind(($array)(a)),
                Value::Texts(a) => q.bind(($array)(a)),
            };
        }
        q
    }};
}

/// How an array parameter binds: natively on PostgreSQL, as JSON text on SQLite.
trait BindArray {
    fn json(self) -> String;
}

impl<T: serde::Serialize> BindArray for Vec<Option<T>> {
    fn json(self) -> String {
        serde_json::to_string(&self).unwrap_or_default()
    }
}

type Rows = Vec<Box<dyn RowGet + Send>>;

/// Rows per bulk INSERT on SQLite (see [`sqlite_bulk`]). Large, because SQLite saves the original of every page
/// a multi-row statement changes, in case the statement fails half-way (the expression indexes on `lower(tag)`
/// and `lower(serial)` make every multi-row insert into `assets` one that may): a page changed by a hundred
/// statements is saved a hundred times. 100,000 assets into a register of a million took 7.4 s of writing in
/// statements of 1,000 rows, 6.7 s in statements of 10,000 and 5.7 s in one.
pub(crate) const SQLITE_BULK_ROWS: usize = 50_000;

/// SQLite bulk insert: the rows travel as one JSON array of arrays bound to one parameter and are expanded by
/// `jsonb_each`, so a statement carries thousands of rows without thousands of bound parameters (sqlx looks
/// each parameter up by scanning the statement's parameters, which makes wide VALUES lists quadratic).
/// Returns the `SELECT` that stands where `VALUES (...)` would, and the one bound value.
pub(crate) fn sqlite_bulk(width: usize, rows: &[Vec<Value>]) -> (String, Value) {
    let mut json = JsonRows::default();
    for row in rows {
        json.push(row);
    }
    json.finish(width)
}

/// The JSON array of a bulk insert's rows (see [`sqlite_bulk`]), written a row at a time straight into its text.
#[derive(Default)]
pub(crate) struct JsonRows(Vec<u8>);

impl JsonRows {
    pub(crate) fn push(&mut self, row: &[Value]) {
        use std::io::Write;
        let out = &mut self.0;
        out.extend_from_slice(if out.is_empty() { b"[[" } else { b",[" });
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Writing into a Vec cannot fail.
            let _ = match v {
                Value::Int(Some(n)) => write!(out, "{n}"),
                Value::Text(Some(t)) => serde_json::to_writer(&mut *out, t).map_err(std::io::Error::other),
                Value::Int(None) | Value::Text(None) => out.write_all(b"null"),
                Value::Ints(a) => serde_json::to_writer(&mut *out, a).map_err(std::io::Error::other),
                Value::Texts(a) => serde_json::to_writer(&mut *out, a).map_err(std::io::Error::other),
            };
        }
        out.push(b']');
    }

    /// The `SELECT` of `width` columns and the bound array.
    pub(crate) fn finish(mut self, width: usize) -> (String, Value) {
        self.0.extend_from_slice(if self.0.is_empty() { b"[]" } else { b"]" });
        let cols: Vec<String> = (0..width).map(|i| format!("j.value ->> {i}")).collect();
        let select = format!("SELECT {} FROM jsonb_each($1) AS j ORDER BY j.key", cols.join(", "));
        let json = String::from_utf8(self.0).unwrap_or_else(|_| unreachable!("JSON of UTF-8 text is UTF-8"));
        (select, Value::Text(Some(json)))
    }
}

/// The fewest rows for which a bulk load considers building a table's indexes afresh.
pub(crate) const REBUILD_MIN_ROWS: usize = 10_000;

/// Rows per bulk INSERT on PostgreSQL (see [`pg_bulk`]).
pub(crate) const PG_BULK_ROWS: usize = 5000;

/// PostgreSQL bulk insert: each column travels as one typed array and `unnest` turns the arrays back into
/// rows, in order. Thirty-odd parameters per statement instead of one per value, and one short statement to
/// parse and plan instead of a `VALUES` list thousands of parameters long. A column's type is its first
/// row's; when the rows disagree the rows come back (`Err`) for a `VALUES` insert. Returns the `SELECT` that
/// stands where `VALUES (...)` would, and the bound arrays.
#[allow(clippy::type_complexity)]
pub(crate) fn pg_bulk(width: usize, rows: Vec<Vec<Value>>) -> Result<(String, Vec<Value>), Vec<Vec<Value>>> {
    let Some(first) = rows.first() else { return Err(rows) };
    let ints: Vec<bool> = first.iter().map(|v| matches!(v, Value::Int(_))).collect();
    let agrees = |row: &Vec<Value>| {
        row.len() == width
            && row.iter().zip(&ints).all(|(v, int)| match v {
                Value::Int(_) => *int,
                Value::Text(_) => !*int,
                Value::Ints(_) | Value::Texts(_) => false,
            })
    };
    if !rows.iter().all(agrees) {
        return Err(rows);
    }
    let mut cols: Vec<Value> = ints
        .iter()
        .map(|int| match int {
            true => Value::Ints(Vec::with_capacity(rows.len())),
            false => Value::Texts(Vec::with_capacity(rows.len())),
        })
        .collect();
    for row in rows {
        for (col, v) in cols.iter_mut().zip(row) {
            match (col, v) {
                (Value::Ints(c), Value::Int(i)) => c.push(i),
                (Value::Texts(c), Value::Text(t)) => c.push(t),
                _ => unreachable!("checked above"),
            }
        }
    }
    let args: Vec<String> = ints
        .iter()
        .enumerate()
        .map(|(i, int)| format!("${}::{}", i + 1, if *int { "bigint[]" } else { "text[]" }))
        .collect();
    Ok((format!("SELECT * FROM unnest({})", args.join(", ")), cols))
}

/// Runs two futures on this task, polling `first` before `second` each time. With `first` a statement on its
/// way to the database and `second` the preparation of the next one (yielding now and then), the database and
/// this process work at the same time.
pub(crate) async fn overlap<A: Future, B: Future>(first: A, second: B) -> (A::Output, B::Output) {
    let (mut first, mut second) = (std::pin::pin!(first), std::pin::pin!(second));
    let (mut a, mut b) = (None, None);
    std::future::poll_fn(|cx| {
        if a.is_none()
            && let std::task::Poll::Ready(v) = first.as_mut().poll(cx)
        {
            a = Some(v);
        }
        if b.is_none()
            && let std::task::Poll::Ready(v) = second.as_mut().poll(cx)
        {
            b = Some(v);
        }
        match (a.take(), b.take()) {
            (Some(x), Some(y)) => std::task::Poll::Ready((x, y)),
            (x, y) => {
                (a, b) = (x, y);
                std::task::Poll::Pending
            }
        }
    })
    .await
}

/// Lets the other futures of this task run (see [`overlap`]).
pub(crate) async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
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

    fn in_transaction(&self) -> bool {
        matches!(self.0, Inner::SqliteTx(_) | Inner::PgTx(_))
    }

    /// Whether a bulk load of `rows` rows into `table` is better done by dropping the table's secondary indexes
    /// and building them again afterwards (see [`Session::drop_indexes`]): only inside a transaction, for at
    /// least [`REBUILD_MIN_ROWS`] rows, and when the table holds no more rows than the load adds — building an
    /// index from sorted keys costs about half as much per row as inserting into it, so past that the rows
    /// already there would cost more to index again than the load saves.
    pub(crate) async fn rebuild_indexes_for(&mut self, table: &str, rows: usize) -> Result<bool, StoreError> {
        if rows < REBUILD_MIN_ROWS || !self.in_transaction() {
            return Ok(false);
        }
        let limit = i64::try_from(rows).unwrap_or(i64::MAX);
        let sql = format!("SELECT COUNT(*) AS n FROM (SELECT 1 FROM {table} LIMIT $1) AS t");
        let n = self.fetch_optional(sql, vec![Value::int(limit)]).await?.map_or(Ok(0), |r| r.int("n"))?;
        Ok(n < limit)
    }

    /// The names of `table`'s secondary indexes (all but the primary key), in order.
    pub async fn index_names(&mut self, table: &str) -> Result<Vec<String>, StoreError> {
        let rows =
            self.fetch_all(self.backend().index_definitions_sql().into(), vec![Value::text(table)]).await?;
        rows.iter().map(|r| r.text("name")).collect()
    }

    /// Drops `table`'s secondary indexes inside this transaction and returns the statements that build them
    /// again, for [`Session::create_indexes`] before the transaction commits. Rolling back restores them. On
    /// PostgreSQL this locks the table against readers until the transaction ends; SQLite's readers go on
    /// reading the last committed state.
    pub(crate) async fn drop_indexes(&mut self, table: &str) -> Result<Vec<String>, StoreError> {
        if !self.in_transaction() {
            return Err(StoreError::Corrupt("indexes are dropped only inside a transaction".into()));
        }
        let rows =
            self.fetch_all(self.backend().index_definitions_sql().into(), vec![Value::text(table)]).await?;
        let found: Vec<(String, String)> =
            rows.iter().map(|r| Ok((r.text("name")?, r.text("sql")?))).collect::<Result<_, StoreError>>()?;
        drop(rows);
        let mut defs = Vec::with_capacity(found.len());
        for (name, sql) in found {
            self.execute(format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")), vec![]).await?;
            defs.push(sql);
        }
        Ok(defs)
    }

    /// Readies `table` for a bulk load of `rows` rows when [`Session::rebuild_indexes_for`] says so: drops its
    /// secondary indexes and, on PostgreSQL, its foreign keys, inside this transaction, and returns the statements
    /// that restore them, for [`Session::create_indexes`] before the transaction commits (a rollback restores them
    /// too). Added back, a foreign key checks every row in one join instead of a locking lookup per row inserted.
    /// On PostgreSQL the referenced tables stay readable but not writable until the transaction ends.
    pub(crate) async fn prepare_bulk_load(
        &mut self,
        table: &str,
        rows: usize,
    ) -> Result<Vec<String>, StoreError> {
        if !self.rebuild_indexes_for(table, rows).await? {
            return Ok(Vec::new());
        }
        let mut restore = self.drop_indexes(table).await?;
        if matches!(self.backend(), Backend::Postgres) {
            for (name, def) in self.foreign_keys(table).await? {
                let quoted = format!("\"{}\"", name.replace('"', "\"\""));
                self.execute(format!("ALTER TABLE {table} DROP CONSTRAINT {quoted}"), vec![]).await?;
                restore.push(format!("ALTER TABLE {table} ADD CONSTRAINT {quoted} {def}"));
            }
        }
        Ok(restore)
    }

    /// `table`'s foreign keys: each one's name and definition (`FOREIGN KEY (x) REFERENCES y(id)`), in order.
    pub async fn foreign_keys(&mut self, table: &str) -> Result<Vec<(String, String)>, StoreError> {
        let sql = match self.backend() {
            Backend::Postgres => {
                "SELECT conname::text AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint \
                 WHERE conrelid = $1::text::regclass AND contype = 'f' ORDER BY conname"
            }
            Backend::Sqlite => {
                "SELECT \"from\" AS name, 'FOREIGN KEY (' || \"from\" || ') REFERENCES ' || \"table\" || '(' || \"to\" \
                 || ')' AS def FROM pragma_foreign_key_list($1) ORDER BY \"from\""
            }
        };
        let rows = self.fetch_all(sql.into(), vec![Value::text(table)]).await?;
        rows.iter().map(|r| Ok((r.text("name")?, r.text("def")?))).collect()
    }

    /// Runs the statements [`Session::prepare_bulk_load`] or [`Session::drop_indexes`] returned.
    pub(crate) async fn create_indexes(&mut self, defs: Vec<String>) -> Result<(), StoreError> {
        for sql in defs {
            self.execute(sql, vec![]).await?;
        }
        Ok(())
    }

    /// A run-time setting of this PostgreSQL connection (`current_setting`), for diagnostics; `None` on SQLite.
    pub async fn pg_setting(&mut self, name: &str) -> Result<Option<String>, StoreError> {
        if self.backend() == Backend::Sqlite {
            return Ok(None);
        }
        let rows = self.fetch_all("SELECT current_setting($1) AS v".into(), vec![Value::text(name)]).await?;
        rows.first().map(|r| r.text("v")).transpose()
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
            ConnRef::Sqlite(c) => bind_all!(sqlx::query(AssertSqlSafe(sql)), values, BindArray::json)
                .fetch_all(c)
                .await?
                .into_iter()
                .map(|r| Box::new(r) as Box<dyn RowGet + Send>)
                .collect(),
            ConnRef::Postgres(c) => {
                bind_all!(sqlx::query(AssertSqlSafe(sql)), values, std::convert::identity)
                    .fetch_all(c)
                    .await?
                    .into_iter()
                    .map(|r| Box::new(r) as Box<dyn RowGet + Send>)
                    .collect()
            }
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
            ConnRef::Sqlite(c) => bind_all!(sqlx::query(AssertSqlSafe(sql)), values, BindArray::json)
                .execute(c)
                .await?
                .rows_affected(),
            ConnRef::Postgres(c) => {
                bind_all!(sqlx::query(AssertSqlSafe(sql)), values, std::convert::identity)
                    .execute(c)
                    .await?
                    .rows_affected()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_write_what_serde_json_writes() {
        let rows = vec![
            vec![
                Value::int(-42),
                Value::text("plain"),
                Value::Text(None),
                Value::Int(None),
                Value::text("quote \" backslash \\ newline \n tab \t bell \u{7} é ✓ 😀"),
            ],
            vec![
                Value::int(i64::MAX),
                Value::text(""),
                Value::Ints(vec![Some(1), None]),
                Value::Texts(vec![Some("a\"b".into()), None]),
                Value::text("</script>"),
            ],
        ];
        let (select, json) = sqlite_bulk(5, &rows);
        let want: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| match v {
                        Value::Int(i) => serde_json::json!(i),
                        Value::Text(t) => serde_json::json!(t),
                        Value::Ints(a) => serde_json::json!(a),
                        Value::Texts(a) => serde_json::json!(a),
                    })
                    .collect()
            })
            .collect();
        let Value::Text(Some(json)) = json else { panic!("the rows bind as text") };
        assert_eq!(json, serde_json::Value::Array(want).to_string());
        assert!(select.contains("j.value ->> 4 FROM jsonb_each($1)"), "{select}");
        assert_eq!(sqlite_bulk(3, &[]).1, Value::text("[]"));
    }
}
