//! A small key/value table for facts about this installation (for example, which demo it holds).

use crate::{Session, StoreError, Value};
use jiff::Timestamp;

impl Session {
    pub async fn setting(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .fetch_optional("SELECT value FROM settings WHERE key = $1".into(), vec![Value::text(key)])
            .await?;
        row.map(|r| r.text("value")).transpose()
    }

    pub async fn put_setting(&mut self, key: &str, value: &str, now: Timestamp) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
                .into(),
            vec![
                Value::text(key),
                Value::text(value),
                Value::text(itemize_core::clock::format_timestamp(now)),
            ],
        )
        .await?;
        Ok(())
    }

    /// Every setting whose key starts with `prefix`, by key.
    pub async fn settings_with_prefix(&mut self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT key, value FROM settings WHERE substr(key, 1, length($1)) = $1 ORDER BY key".into(),
                vec![Value::text(prefix)],
            )
            .await?;
        rows.iter().map(|r| Ok((r.text("key")?, r.text("value")?))).collect()
    }

    pub async fn delete_setting(&mut self, key: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM settings WHERE key = $1".into(), vec![Value::text(key)]).await?;
        Ok(())
    }
}
