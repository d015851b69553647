//! Storage of users, their cost-centre scopes, sessions, API tokens, sign-in failures and the audit log.
//! The audit log has an append and reads; nothing here (or in the database, by trigger) changes an entry.

use crate::{RowGet, Session, StoreError, Value};
use itemize_core::clock::format_timestamp;
use jiff::Timestamp;

fn ts(s: Option<String>) -> Result<Option<Timestamp>, StoreError> {
    s.map(ts_req).transpose()
}

fn ts_req(s: String) -> Result<Timestamp, StoreError> {
    itemize_core::clock::parse_timestamp(&s).map_err(|e| StoreError::Corrupt(format!("timestamp: {e}")))
}

fn stamp(t: Timestamp) -> Value {
    Value::text(format_timestamp(t))
}

fn opt_stamp(t: Option<Timestamp>) -> Value {
    Value::Text(t.map(format_timestamp))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub role: String,
    pub password_hash: String,
    pub disabled_at: Option<Timestamp>,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const USER_COLS: &str =
    "id, username, display_name, role, password_hash, disabled_at, version, created_at, updated_at";

fn user(r: &dyn RowGet) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        id: r.int("id")?,
        username: r.text("username")?,
        display_name: r.opt_text("display_name")?,
        role: r.text("role")?,
        password_hash: r.text("password_hash")?,
        disabled_at: ts(r.opt_text("disabled_at")?)?,
        version: r.int("version")?,
        created_at: ts_req(r.text("created_at")?)?,
        updated_at: ts_req(r.text("updated_at")?)?,
    })
}

#[derive(Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub address: Option<String>,
}

/// Debug output leaves out the CSRF token.
impl std::fmt::Debug for SessionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRow")
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    pub token_hash: String,
    pub read_only: bool,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

const TOKEN_COLS: &str =
    "id, user_id, name, prefix, token_hash, read_only, created_at, expires_at, revoked_at, last_used_at";

fn token(r: &dyn RowGet) -> Result<TokenRow, StoreError> {
    Ok(TokenRow {
        id: r.int("id")?,
        user_id: r.int("user_id")?,
        name: r.text("name")?,
        prefix: r.text("prefix")?,
        token_hash: r.text("token_hash")?,
        read_only: r.int("read_only")? != 0,
        created_at: ts_req(r.text("created_at")?)?,
        expires_at: ts(r.opt_text("expires_at")?)?,
        revoked_at: ts(r.opt_text("revoked_at")?)?,
        last_used_at: ts(r.opt_text("last_used_at")?)?,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFailure {
    pub failures: i64,
    pub last_failure_at: Timestamp,
    pub locked_until: Option<Timestamp>,
}

/// One audit entry: who did what to which record, from where, with the record before and after.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub via: String,
    pub address: Option<String>,
    pub action: String,
    pub kind: String,
    pub record_id: Option<i64>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Which audit entries to read: all filters optional, newest first, continuing below `before_id`.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor_id: Option<i64>,
    pub kind: Option<String>,
    pub record_id: Option<i64>,
    pub action: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

fn json(s: Option<String>) -> Result<Option<serde_json::Value>, StoreError> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("audit json: {e}"))))
        .transpose()
}

impl Session {
    // ----------------------------------------------------------------------------------------- users

    pub async fn insert_user(
        &mut self,
        username: &str,
        display_name: Option<&str>,
        role: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<UserRow, StoreError> {
        let sql = format!(
            "INSERT INTO users (username, display_name, role, password_hash, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING {USER_COLS}"
        );
        let vals = vec![
            Value::text(username),
            Value::Text(display_name.map(str::to_string)),
            Value::text(role),
            Value::text(password_hash),
            stamp(now),
        ];
        let row = self.fetch_optional(sql, vals).await?.ok_or(StoreError::NotFound)?;
        user(&*row)
    }

    pub async fn user(&mut self, id: i64) -> Result<Option<UserRow>, StoreError> {
        let row = self
            .fetch_optional(format!("SELECT {USER_COLS} FROM users WHERE id = $1"), vec![Value::int(id)])
            .await?;
        row.map(|r| user(&*r)).transpose()
    }

    pub async fn user_by_name(&mut self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE lower(username) = lower($1)");
        let row = self.fetch_optional(sql, vec![Value::text(username)]).await?;
        row.map(|r| user(&*r)).transpose()
    }

    pub async fn users(&mut self) -> Result<Vec<UserRow>, StoreError> {
        let rows =
            self.fetch_all(format!("SELECT {USER_COLS} FROM users ORDER BY lower(username)"), vec![]).await?;
        rows.iter().map(|r| user(&**r)).collect()
    }

    /// Replaces a user's role, display name, password hash and disabled mark, at `expected_version` if given.
    pub async fn update_user(
        &mut self,
        u: &UserRow,
        expected_version: Option<i64>,
        now: Timestamp,
    ) -> Result<UserRow, StoreError> {
        let mut sql = "UPDATE users SET display_name = $1, role = $2, password_hash = $3, disabled_at = $4, \
             version = version + 1, updated_at = $5 WHERE id = $6"
            .to_string();
        let mut vals = vec![
            Value::Text(u.display_name.clone()),
            Value::text(&u.role),
            Value::text(&u.password_hash),
            opt_stamp(u.disabled_at),
            stamp(now),
            Value::int(u.id),
        ];
        if let Some(v) = expected_version {
            vals.push(Value::int(v));
            sql.push_str(" AND version = $7");
        }
        sql.push_str(&format!(" RETURNING {USER_COLS}"));
        match self.fetch_optional(sql, vals).await? {
            Some(r) => user(&*r),
            None => match self.user(u.id).await? {
                Some(cur) => Err(StoreError::VersionConflict { current: cur.version }),
                None => Err(StoreError::NotFound),
            },
        }
    }

    pub async fn user_scopes(&mut self, user_id: i64) -> Result<Vec<i64>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT cost_centre_id FROM user_scopes WHERE user_id = $1 ORDER BY cost_centre_id".into(),
                vec![Value::int(user_id)],
            )
            .await?;
        rows.iter().map(|r| r.int("cost_centre_id")).collect()
    }

    pub async fn set_user_scopes(&mut self, user_id: i64, cost_centres: &[i64]) -> Result<(), StoreError> {
        self.execute("DELETE FROM user_scopes WHERE user_id = $1".into(), vec![Value::int(user_id)]).await?;
        for cc in cost_centres {
            self.execute(
                "INSERT INTO user_scopes (user_id, cost_centre_id) VALUES ($1, $2)".into(),
                vec![Value::int(user_id), Value::int(*cc)],
            )
            .await?;
        }
        Ok(())
    }

    pub async fn count_users(&mut self) -> Result<i64, StoreError> {
        let row = self
            .fetch_optional("SELECT COUNT(*) AS n FROM users".into(), vec![])
            .await?
            .ok_or(StoreError::NotFound)?;
        row.int("n")
    }

    // -------------------------------------------------------------------------------------- sessions

    pub async fn insert_session(&mut self, s: &SessionRow) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, address) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
                .into(),
            vec![
                Value::text(&s.id_hash),
                Value::int(s.user_id),
                Value::text(&s.csrf_token),
                stamp(s.created_at),
                stamp(s.last_seen_at),
                stamp(s.expires_at),
                Value::Text(s.address.clone()),
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn session_by_hash(&mut self, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = self
            .fetch_optional(
                "SELECT id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, address \
                 FROM sessions WHERE id_hash = $1"
                    .into(),
                vec![Value::text(id_hash)],
            )
            .await?;
        row.map(|r| {
            Ok(SessionRow {
                id_hash: r.text("id_hash")?,
                user_id: r.int("user_id")?,
                csrf_token: r.text("csrf_token")?,
                created_at: ts_req(r.text("created_at")?)?,
                last_seen_at: ts_req(r.text("last_seen_at")?)?,
                expires_at: ts_req(r.text("expires_at")?)?,
                address: r.opt_text("address")?,
            })
        })
        .transpose()
    }

    pub async fn touch_session(&mut self, id_hash: &str, now: Timestamp) -> Result<(), StoreError> {
        self.execute(
            "UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2".into(),
            vec![stamp(now), Value::text(id_hash)],
        )
        .await?;
        Ok(())
    }

    pub async fn delete_session(&mut self, id_hash: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM sessions WHERE id_hash = $1".into(), vec![Value::text(id_hash)]).await?;
        Ok(())
    }

    /// Ends every session of a user (disabled, password reset).
    pub async fn delete_user_sessions(&mut self, user_id: i64) -> Result<u64, StoreError> {
        self.execute("DELETE FROM sessions WHERE user_id = $1".into(), vec![Value::int(user_id)]).await
    }

    // ---------------------------------------------------------------------------------------- tokens

    pub async fn insert_token(&mut self, t: &TokenRow) -> Result<TokenRow, StoreError> {
        let sql = format!(
            "INSERT INTO api_tokens (user_id, name, prefix, token_hash, read_only, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {TOKEN_COLS}"
        );
        let vals = vec![
            Value::int(t.user_id),
            Value::text(&t.name),
            Value::text(&t.prefix),
            Value::text(&t.token_hash),
            Value::int(i64::from(t.read_only)),
            stamp(t.created_at),
            opt_stamp(t.expires_at),
        ];
        let row = self.fetch_optional(sql, vals).await?.ok_or(StoreError::NotFound)?;
        token(&*row)
    }

    pub async fn token_by_hash(&mut self, token_hash: &str) -> Result<Option<TokenRow>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1");
        let row = self.fetch_optional(sql, vec![Value::text(token_hash)]).await?;
        row.map(|r| token(&*r)).transpose()
    }

    pub async fn token(&mut self, id: i64) -> Result<Option<TokenRow>, StoreError> {
        let row = self
            .fetch_optional(
                format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1"),
                vec![Value::int(id)],
            )
            .await?;
        row.map(|r| token(&*r)).transpose()
    }

    /// Tokens of one user, or of everyone.
    pub async fn tokens(&mut self, user_id: Option<i64>) -> Result<Vec<TokenRow>, StoreError> {
        let (filter, vals) = match user_id {
            Some(u) => (" WHERE user_id = $1", vec![Value::int(u)]),
            None => ("", vec![]),
        };
        let rows =
            self.fetch_all(format!("SELECT {TOKEN_COLS} FROM api_tokens{filter} ORDER BY id"), vals).await?;
        rows.iter().map(|r| token(&**r)).collect()
    }

    pub async fn revoke_token(&mut self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.execute(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL".into(),
            vec![stamp(now), Value::int(id)],
        )
        .await?;
        Ok(())
    }

    pub async fn touch_token(&mut self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.execute(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2".into(),
            vec![stamp(now), Value::int(id)],
        )
        .await?;
        Ok(())
    }

    // --------------------------------------------------------------------------------- sign-in back-off

    pub async fn login_failure(&mut self, key: &str) -> Result<Option<LoginFailure>, StoreError> {
        let row = self
            .fetch_optional(
                "SELECT failures, last_failure_at, locked_until FROM login_failures WHERE key = $1".into(),
                vec![Value::text(key)],
            )
            .await?;
        row.map(|r| {
            Ok(LoginFailure {
                failures: r.int("failures")?,
                last_failure_at: ts_req(r.text("last_failure_at")?)?,
                locked_until: ts(r.opt_text("locked_until")?)?,
            })
        })
        .transpose()
    }

    /// Sets a key's failure count to `failures` only if it is still `expected` (`None`: no row yet).
    /// Returns whether it did: the compare-and-swap that lets concurrent attempts each count.
    pub async fn swap_login_failure(
        &mut self,
        key: &str,
        expected: Option<i64>,
        failures: i64,
        locked_until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = match expected {
            None => {
                self.execute(
                    "INSERT INTO login_failures (key, failures, last_failure_at, locked_until) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (key) DO NOTHING"
                        .into(),
                    vec![Value::text(key), Value::int(failures), stamp(now), opt_stamp(locked_until)],
                )
                .await?
            }
            Some(old) => {
                self.execute(
                    "UPDATE login_failures SET failures = $1, last_failure_at = $2, locked_until = $3 \
                     WHERE key = $4 AND failures = $5"
                        .into(),
                    vec![Value::int(failures), stamp(now), opt_stamp(locked_until), Value::text(key), Value::int(old)],
                )
                .await?
            }
        };
        Ok(changed == 1)
    }

    pub async fn clear_login_failures(&mut self, key: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM login_failures WHERE key = $1".into(), vec![Value::text(key)]).await?;
        Ok(())
    }

    // ------------------------------------------------------------------------------------- audit log

    /// Appends one entry. There is no other write to the audit log.
    #[allow(clippy::too_many_arguments)]
    pub async fn append_audit(
        &mut self,
        at: Timestamp,
        actor_id: Option<i64>,
        actor: &str,
        via: &str,
        address: Option<&str>,
        action: &str,
        kind: &str,
        record_id: Option<i64>,
        before: Option<&serde_json::Value>,
        after: Option<&serde_json::Value>,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO audit_log (at, actor_id, actor, via, address, action, kind, record_id, before_json, after_json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                .into(),
            vec![
                stamp(at),
                Value::Int(actor_id),
                Value::text(actor),
                Value::text(via),
                Value::Text(address.map(str::to_string)),
                Value::text(action),
                Value::text(kind),
                Value::Int(record_id),
                Value::Text(before.map(|v| v.to_string())),
                Value::Text(after.map(|v| v.to_string())),
            ],
        )
        .await?;
        Ok(())
    }

    /// Audit entries, newest first, and whether more follow.
    pub async fn audit(&mut self, q: &AuditQuery) -> Result<(Vec<AuditEntry>, bool), StoreError> {
        let mut sql =
            "SELECT id, at, actor_id, actor, via, address, action, kind, record_id, before_json, after_json \
                       FROM audit_log WHERE 1 = 1"
                .to_string();
        let mut vals = Vec::new();
        let mut add = |sql: &mut String, cond: &str, v: Value| {
            vals.push(v);
            sql.push_str(&format!(" AND {cond} ${}", vals.len()));
        };
        if let Some(a) = q.actor_id {
            add(&mut sql, "actor_id =", Value::int(a));
        }
        if let Some(k) = &q.kind {
            add(&mut sql, "kind =", Value::text(k));
        }
        if let Some(r) = q.record_id {
            add(&mut sql, "record_id =", Value::int(r));
        }
        if let Some(a) = &q.action {
            add(&mut sql, "action =", Value::text(a));
        }
        if let Some(f) = q.from {
            add(&mut sql, "at >=", stamp(f));
        }
        if let Some(t) = q.to {
            add(&mut sql, "at <", stamp(t));
        }
        if let Some(b) = q.before_id {
            add(&mut sql, "id <", Value::int(b));
        }
        vals.push(Value::int(i64::from(q.limit) + 1));
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", vals.len()));
        let rows = self.fetch_all(sql, vals).await?;
        let more = rows.len() > q.limit as usize;
        let entries = rows
            .iter()
            .take(q.limit as usize)
            .map(|r| {
                Ok(AuditEntry {
                    id: r.int("id")?,
                    at: ts_req(r.text("at")?)?,
                    actor_id: r.opt_int("actor_id")?,
                    actor: r.text("actor")?,
                    via: r.text("via")?,
                    address: r.opt_text("address")?,
                    action: r.text("action")?,
                    kind: r.text("kind")?,
                    record_id: r.opt_int("record_id")?,
                    before: json(r.opt_text("before_json")?)?,
                    after: json(r.opt_text("after_json")?)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((entries, more))
    }
}
