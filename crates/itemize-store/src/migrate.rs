//! Embedded migrations, applied in order, each in its own transaction. Migrations are only ever added: an
//! applied migration whose text changed is refused, and so is a database newer than this binary.

use crate::{Session, Store, StoreError, Value};
use itemize_core::clock::format_timestamp;
use jiff::Timestamp;

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration this binary knows, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "reference_data",
        sql: include_str!("../migrations/0001_reference_data.sql"),
    },
    Migration {
        version: 2,
        name: "accounts_and_audit",
        sql: include_str!("../migrations/0002_accounts_and_audit.sql"),
    },
    Migration { version: 3, name: "cost_ledger", sql: include_str!("../migrations/0003_cost_ledger.sql") },
    Migration { version: 4, name: "allocation", sql: include_str!("../migrations/0004_allocation.sql") },
    Migration { version: 5, name: "restatements", sql: include_str!("../migrations/0005_restatements.sql") },
    Migration { version: 6, name: "assets", sql: include_str!("../migrations/0006_assets.sql") },
    Migration { version: 7, name: "search", sql: include_str!("../migrations/0007_search.sql") },
    Migration {
        version: 8,
        name: "cost_centre_state",
        sql: include_str!("../migrations/0008_cost_centre_state.sql"),
    },
    Migration { version: 9, name: "serial_index", sql: include_str!("../migrations/0009_serial_index.sql") },
    Migration {
        version: 10,
        name: "partition_slices",
        sql: include_str!("../migrations/0010_partition_slices.sql"),
    },
    Migration {
        version: 11,
        name: "charges_until",
        sql: include_str!("../migrations/0011_charges_until.sql"),
    },
    Migration { version: 12, name: "run_catalogs", sql: include_str!("../migrations/0012_run_catalogs.sql") },
    Migration {
        version: 13,
        name: "closed_translations",
        sql: include_str!("../migrations/0013_closed_translations.sql"),
    },
];

impl Migration {
    /// FNV-1a over the migration's text: enough to notice an edit.
    pub fn checksum(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.sql.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// Where a database stands against this binary's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// (version, name, applied at) of each applied migration.
    pub applied: Vec<(i64, String, String)>,
    /// Versions this binary would apply.
    pub pending: Vec<i64>,
    /// The newest version this binary knows.
    pub binary_version: i64,
}

impl MigrationStatus {
    pub fn database_version(&self) -> i64 {
        self.applied.iter().map(|a| a.0).max().unwrap_or(0)
    }

    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.database_version() <= self.binary_version
    }
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS itemize_migrations (\
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)";

fn binary_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// The applied migrations. Reading never creates anything: a database without the table has none applied.
async fn applied(s: &mut Session) -> Result<Vec<(i64, String, String, String)>, StoreError> {
    let exists = s
        .fetch_optional(s.backend().table_exists_sql().into(), vec![Value::text("itemize_migrations")])
        .await?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let rows = s
        .fetch_all(
            "SELECT version, name, checksum, applied_at FROM itemize_migrations ORDER BY version".into(),
            vec![],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.int("version")?, r.text("name")?, r.text("checksum")?, r.text("applied_at")?)))
        .collect()
}

fn check(applied: &[(i64, String, String, String)]) -> Result<(), StoreError> {
    let binary = binary_version();
    if let Some(newest) = applied.iter().map(|a| a.0).max()
        && newest > binary
    {
        return Err(StoreError::SchemaTooNew { database: newest, binary });
    }
    for (version, name, checksum, _) in applied {
        if let Some(m) = MIGRATIONS.iter().find(|m| m.version == *version)
            && m.checksum() != *checksum
        {
            return Err(StoreError::MigrationEdited { version: *version, name: name.clone() });
        }
    }
    Ok(())
}

impl Store {
    /// Where the database stands. Refuses a database newer than this binary.
    pub async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        let mut s = self.session().await?;
        let applied = applied(&mut s).await?;
        check(&applied)?;
        let pending = MIGRATIONS
            .iter()
            .filter(|m| !applied.iter().any(|a| a.0 == m.version))
            .map(|m| m.version)
            .collect();
        Ok(MigrationStatus {
            applied: applied.into_iter().map(|(v, n, _, at)| (v, n, at)).collect(),
            pending,
            binary_version: binary_version(),
        })
    }

    /// Fails unless every migration is applied (what a server checks before it says it is ready).
    pub async fn require_current_schema(&self) -> Result<(), StoreError> {
        let st = self.migration_status().await?;
        if st.pending.is_empty() { Ok(()) } else { Err(StoreError::SchemaNotCurrent { pending: st.pending }) }
    }

    /// Applies every pending migration, each in its own transaction. Returns the versions applied.
    pub async fn migrate(&self, now: Timestamp) -> Result<Vec<i64>, StoreError> {
        let mut done = Vec::new();
        for m in MIGRATIONS {
            let mut tx = self.transaction().await?;
            if let Some(lock) = tx.backend().migration_lock() {
                tx.execute(lock.into(), vec![]).await?;
            }
            tx.execute(CREATE_TABLE.into(), vec![]).await?;
            let applied = applied(&mut tx).await?;
            check(&applied)?;
            if applied.iter().any(|a| a.0 == m.version) {
                tx.rollback().await?;
                continue;
            }
            tracing::info!(version = m.version, name = m.name, "applying migration");
            tx.execute_script(tx.backend().render_migration(m.sql)).await?;
            tx.execute(
                "INSERT INTO itemize_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)".into(),
                vec![
                    Value::int(m.version),
                    Value::text(m.name),
                    Value::text(m.checksum()),
                    Value::text(format_timestamp(now)),
                ],
            )
            .await?;
            tx.commit().await?;
            done.push(m.version);
        }
        Ok(done)
    }
}
