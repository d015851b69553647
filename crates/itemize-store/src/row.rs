use crate::StoreError;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

/// Typed column access over a row of either backend.
pub trait RowGet {
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
}

macro_rules! row_get {
    ($row:ty) => {
        impl RowGet for $row {
            fn int(&self, col: &str) -> Result<i64, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn text(&self, col: &str) -> Result<String, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
                Ok(self.try_get(col)?)
            }
        }
    };
}

row_get!(SqliteRow);
row_get!(PgRow);

/// A row unpacked from a JSON array (see [`crate::Backend::packed_rows`]); columns are named by `names`.
pub(crate) struct JsonRow {
    /// Column name → position, shared by every row of a page.
    pub names: std::sync::Arc<std::collections::HashMap<String, usize>>,
    pub values: Vec<serde_json::Value>,
}

impl JsonRow {
    fn value(&self, col: &str) -> Result<&serde_json::Value, StoreError> {
        self.names
            .get(col)
            .and_then(|&i| self.values.get(i))
            .ok_or_else(|| StoreError::Corrupt(format!("no column {col} in a packed row")))
    }
}

impl RowGet for JsonRow {
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.opt_int(col)?.ok_or_else(|| StoreError::Corrupt(format!("{col} is null")))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        match self.value(col)? {
            serde_json::Value::Null => Ok(None),
            v => v.as_i64().map(Some).ok_or_else(|| StoreError::Corrupt(format!("{col} is not an integer"))),
        }
    }
    fn text(&self, col: &str) -> Result<String, StoreError> {
        self.opt_text(col)?.ok_or_else(|| StoreError::Corrupt(format!("{col} is null")))
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self.value(col)? {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(s) => Ok(Some(s.clone())),
            _ => Err(StoreError::Corrupt(format!("{col} is not text"))),
        }
    }
}
