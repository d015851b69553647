use thiserror::Error;

/// What can go wrong in storage. Callers map these to their own errors; database text never reaches a client.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// The record changed since the caller read it.
    #[error("the record has changed (now at version {current})")]
    VersionConflict { current: i64 },
    /// A unique index refused the write; `field` is the field it guards.
    #[error("another record already has this {field}")]
    Unique { field: String },
    #[error("a referenced record does not exist")]
    ForeignKey,
    #[error(
        "the database schema is at version {database}, newer than this itemize binary knows ({binary}); \
         upgrade itemize — downgrading a database is not supported"
    )]
    SchemaTooNew { database: i64, binary: i64 },
    #[error(
        "the database schema is not current: migrations {pending:?} are pending (run `itemize db migrate`)"
    )]
    SchemaNotCurrent { pending: Vec<i64> },
    #[error(
        "migration {version} ({name}) was changed after it was applied; migrations are never edited, only added"
    )]
    MigrationEdited { version: i64, name: String },
    #[error("{0}")]
    BadUrl(String),
    #[error("a stored value is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
                return StoreError::Unique { field: unique_field(&text) };
            }
            if db.is_foreign_key_violation() {
                return StoreError::ForeignKey;
            }
        }
        StoreError::Database(e)
    }
}

/// Unique indexes are named `uq_<table>__<field>`; both databases name the index in their error.
fn unique_field(text: &str) -> String {
    text.split("uq_")
        .nth(1)
        .and_then(|rest| rest.split("__").nth(1))
        .map(|f| f.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
        .or_else(|| {
            // SQLite names plain-column constraints as `table.column`.
            text.rsplit("failed: ").next().and_then(|t| t.split('.').nth(1)).map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "key".to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_field_from_either_database() {
        assert_eq!(super::unique_field("uq_people__email duplicate key value"), "email");
        assert_eq!(
            super::unique_field(" UNIQUE constraint failed: index 'uq_people__employee_id'"),
            "employee_id"
        );
        assert_eq!(super::unique_field(" UNIQUE constraint failed: settings.key"), "key");
    }
}
