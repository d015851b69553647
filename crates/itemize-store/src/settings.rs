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
}
