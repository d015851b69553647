//! Accounts and access: sign-in with back-off, sessions, API tokens, users with roles and cost-centre scopes,
//! and the audit log. Every decision is taken here, once, for the API, the pages and the CLI alike.

use crate::secrets::{self, TOKEN_PREFIX};
use crate::{App, AppError, ListParams};
use itemize_core::FieldError;
use itemize_core::auth::{Action, Actor, Credential, Resource, Role, authorize, expand_scope};
use itemize_core::refdata::Kind;
use itemize_store::{AuditEntry, AuditQuery, Session, SessionRow, StoreError, TokenRow, UserRow};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// How long an authenticated session or token is trusted without asking the database again. Changes made
/// through this process take effect at once (the cache is cleared); another process may lag by this much.
pub const AUTH_CACHE_TTL: SignedDuration = SignedDuration::from_secs(3);

/// An authentication this process has checked recently.
#[derive(Debug, Clone)]
pub struct CachedAuth {
    actor: Actor,
    csrf_token: Option<String>,
    valid_until: Timestamp,
}

/// How long an API token lives when its creator does not say; no token lives for ever.
pub const DEFAULT_TOKEN_LIFETIME: SignedDuration = SignedDuration::from_hours(24 * 90);

/// Failed sign-ins allowed before back-off starts, per account and per address.
pub const FREE_FAILURES_PER_ACCOUNT: i64 = 5;
pub const FREE_FAILURES_PER_ADDRESS: i64 = 20;
/// The longest wait back-off imposes.
pub const MAX_LOCKOUT: SignedDuration = SignedDuration::from_mins(15);
/// Failures older than this are forgotten.
const FAILURE_MEMORY: SignedDuration = SignedDuration::from_hours(1);
/// `last_seen_at` and `last_used_at` are refreshed at most this often (one write per minute, not per request).
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A user as shown to clients: never the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    /// Cost centres the user owns; a non-admin with any sees only them and what is below them.
    pub cost_centres: Vec<i64>,
    pub disabled: bool,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl UserView {
    pub fn etag(&self) -> String {
        format!("\"u{}-{}\"", self.id, self.version)
    }
}

/// An API token as listed: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenView {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// The first characters, to recognise a token without revealing it.
    pub prefix: String,
    pub read_only: bool,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

impl From<TokenRow> for TokenView {
    fn from(t: TokenRow) -> Self {
        TokenView {
            id: t.id,
            user_id: t.user_id,
            name: t.name,
            prefix: t.prefix,
            read_only: t.read_only,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            last_used_at: t.last_used_at,
        }
    }
}

/// A new token: shown once, here, and never again.
#[derive(Serialize)]
pub struct NewToken {
    pub token: String,
    #[serde(flatten)]
    pub view: TokenView,
}

/// A session just started. `id` goes into the cookie; only its digest is stored.
pub struct NewSession {
    pub id: String,
    pub csrf_token: String,
    pub expires_at: Timestamp,
    pub user: UserView,
}

/// What a request's session carries besides the actor.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub csrf_token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub cost_centres: Vec<i64>,
}

/// Changes to a user; absent fields stay.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub cost_centres: Option<Vec<i64>>,
    #[serde(default)]
    pub password: Option<String>,
}

// Secrets never appear in `Debug` output (and so never in a log line that formats one of these).
impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("id", &"[redacted]")
            .field("csrf_token", &"[redacted]")
            .field("user", &self.user)
            .finish()
    }
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("role", &self.role)
            .field("cost_centres", &self.cost_centres)
            .finish()
    }
}

impl std::fmt::Debug for UserPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserPatch")
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .field("cost_centres", &self.cost_centres)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken").field("token", &"[redacted]").field("view", &self.view).finish()
    }
}

fn denied(e: itemize_core::auth::Denied) -> AppError {
    AppError::Forbidden(e.to_string())
}

fn wrong_credentials() -> AppError {
    AppError::Unauthenticated("the username or password is wrong".into())
}

fn check_password(p: &str) -> Result<(), AppError> {
    if p.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::Validation(vec![FieldError::new(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        )]));
    }
    if p.len() > 1024 {
        return Err(AppError::Validation(vec![FieldError::new("password", "must be at most 1024 bytes")]));
    }
    Ok(())
}

fn check_username(u: &str) -> Result<String, AppError> {
    let u = u.trim();
    let ok = !u.is_empty()
        && u.len() <= 64
        && u.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(u.to_string())
    } else {
        Err(AppError::Validation(vec![FieldError::new(
            "username",
            "must be 1–64 letters, digits or . _ - @",
        )]))
    }
}

fn parse_role(r: &str) -> Result<Role, AppError> {
    r.parse().map_err(|e: String| AppError::Validation(vec![FieldError::new("role", e)]))
}

/// The unit sign-in back-off counts per address: an IPv4 address, or an IPv6 /64 (one end user typically holds
/// a whole /64, so counting single IPv6 addresses would give an attacker 2^64 tries).
pub fn address_group(address: &str) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(ip) => ip.to_string(),
        Err(_) => address.to_string(),
    }
}

/// How long back-off makes the next attempt wait after `failures` failures.
pub fn backoff(failures: i64, free: i64) -> Option<SignedDuration> {
    if failures < free {
        return None;
    }
    let exp = (failures - free).min(20) as u32;
    let secs = 2i64.saturating_pow(exp).min(MAX_LOCKOUT.as_secs());
    Some(SignedDuration::from_secs(secs))
}

impl App {
    // ------------------------------------------------------------------------------------------ sign-in

    /// Signs in. Unknown users, wrong passwords and disabled accounts get the same answer in the same time;
    /// repeated failures back off per account and per address.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        address: Option<&str>,
    ) -> Result<NewSession, AppError> {
        let now = self.clock().now();
        let account_key = format!("account:{}", username.trim().to_lowercase());
        let address_key = address.map(|a| format!("address:{}", address_group(a)));
        // The address is refused while it is locked out; its failures are counted after the check.
        if let Some(k) = &address_key
            && let Some(f) = self.store().session().await?.login_failure(k).await?
            && let Some(until) = f.locked_until.filter(|u| *u > now)
        {
            return Err(AppError::TooManyAttempts {
                retry_after_secs: until.duration_since(now).as_secs().max(1) as u64,
            });
        }
        // The account's attempt is counted before the password is checked, atomically, so parallel guesses
        // cannot share one count; a correct password clears it.
        self.count_attempt(&account_key, FREE_FAILURES_PER_ACCOUNT, now, true).await?;
        let user = self.store().session().await?.user_by_name(username.trim()).await?;
        let hash = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| secrets::dummy_hash().to_string());
        let attempt = password.to_string();
        // argon2id is deliberately slow: off the async threads, and with no transaction (or lock) held.
        let password_ok = tokio::task::spawn_blocking(move || secrets::verify_password(&attempt, &hash))
            .await
            .map_err(|e| AppError::Internal(format!("password check: {e}")))?;
        let user = match user {
            Some(u) if password_ok && u.disabled_at.is_none() => u,
            _ => {
                if let Some(k) = &address_key {
                    self.count_attempt(k, FREE_FAILURES_PER_ADDRESS, now, false).await?;
                }
                return Err(wrong_credentials());
            }
        };
        let mut tx = self.store().transaction().await?;
        tx.clear_login_failures(&account_key).await?;
        let id = secrets::random_secret();
        let csrf_token = secrets::random_secret();
        let expires_at = now + self.config().session_absolute;
        tx.insert_session(&SessionRow {
            id_hash: secrets::digest(&id),
            user_id: user.id,
            csrf_token: csrf_token.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at,
            address: address.map(str::to_string),
        })
        .await?;
        let actor = actor_for(&mut tx, &user, Credential::Session, address).await?;
        audit(&mut tx, &actor, now, "sign-in", "session", Some(user.id), None, None).await?;
        let view = user_view(&mut tx, user).await?;
        tx.commit().await?;
        Ok(NewSession { id, csrf_token, expires_at, user: view })
    }

    /// Counts one sign-in attempt against `key` (compare-and-swap, so concurrent attempts each count) and sets
    /// the back-off once `free` attempts are used up. With `enforce`, a key that is locked out is refused.
    async fn count_attempt(
        &self,
        key: &str,
        free: i64,
        now: Timestamp,
        enforce: bool,
    ) -> Result<(), AppError> {
        for _ in 0..50 {
            let mut tx = self.store().transaction().await?;
            let current = tx.login_failure(key).await?;
            if enforce && let Some(until) = current.as_ref().and_then(|f| f.locked_until).filter(|u| *u > now)
            {
                let wait = until.duration_since(now).as_secs().max(1) as u64;
                return Err(AppError::TooManyAttempts { retry_after_secs: wait });
            }
            let before = match &current {
                Some(f) if now.duration_since(f.last_failure_at) < FAILURE_MEMORY => f.failures,
                _ => 0,
            };
            let n = before + 1;
            let locked_until = backoff(n, free).map(|d| now + d);
            let swapped = tx
                .swap_login_failure(key, current.as_ref().map(|f| f.failures), n, locked_until, now)
                .await?;
            tx.commit().await?;
            if swapped {
                return Ok(());
            }
        }
        Err(AppError::TooManyAttempts { retry_after_secs: 1 })
    }

    /// Ends a session (its cookie stops working at once).
    pub async fn logout(&self, session_id: &str) -> Result<(), AppError> {
        let mut tx = self.store().transaction().await?;
        let hash = secrets::digest(session_id);
        if let Some(s) = tx.session_by_hash(&hash).await?
            && let Some(u) = tx.user(s.user_id).await?
        {
            let actor = actor_for(&mut tx, &u, Credential::Session, s.address.as_deref()).await?;
            audit(&mut tx, &actor, self.clock().now(), "sign-out", "session", Some(u.id), None, None).await?;
        }
        tx.delete_session(&hash).await?;
        tx.commit().await?;
        self.invalidate_auth_cache();
        Ok(())
    }

    /// The actor behind a session cookie, if the session is live (idle and absolute expiry enforced).
    pub async fn session_actor(
        &self,
        session_id: &str,
        address: Option<&str>,
    ) -> Result<(Actor, SessionInfo), AppError> {
        let now = self.clock().now();
        let hash = secrets::digest(session_id);
        if let Some((actor, csrf)) = self.cached_auth(&format!("s:{hash}"), now, address) {
            return Ok((actor, SessionInfo { csrf_token: csrf.unwrap_or_default() }));
        }
        let generation = self.auth_generation();
        let mut s = self.store().session().await?;
        let expired = || AppError::Unauthenticated("your session has expired; sign in again".into());
        let row = s.session_by_hash(&hash).await?.ok_or_else(expired)?;
        if now >= row.expires_at || now >= row.last_seen_at + self.config().session_idle {
            s.delete_session(&hash).await?;
            return Err(expired());
        }
        let user = s.user(row.user_id).await?.ok_or_else(expired)?;
        if user.disabled_at.is_some() {
            return Err(expired());
        }
        if now.duration_since(row.last_seen_at) >= TOUCH_EVERY {
            s.touch_session(&hash, now).await?;
        }
        let actor = actor_for(&mut s, &user, Credential::Session, address).await?;
        let until = (now + AUTH_CACHE_TTL).min(row.expires_at).min(now + self.config().session_idle);
        self.cache_auth(generation, format!("s:{hash}"), &actor, Some(row.csrf_token.clone()), until);
        Ok((actor, SessionInfo { csrf_token: row.csrf_token }))
    }

    /// The actor behind an API token.
    pub async fn token_actor(&self, token: &str, address: Option<&str>) -> Result<Actor, AppError> {
        let now = self.clock().now();
        let invalid = || AppError::Unauthenticated("the API token is not valid".into());
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(invalid());
        }
        let hash = secrets::digest(token);
        if let Some((actor, _)) = self.cached_auth(&format!("t:{hash}"), now, address) {
            return Ok(actor);
        }
        let generation = self.auth_generation();
        let mut s = self.store().session().await?;
        let row = s.token_by_hash(&hash).await?.ok_or_else(invalid)?;
        if !secrets::constant_time_eq(row.token_hash.as_bytes(), hash.as_bytes()) {
            return Err(invalid());
        }
        if row.revoked_at.is_some() {
            return Err(AppError::Unauthenticated("the API token has been revoked".into()));
        }
        if row.expires_at.is_some_and(|e| now >= e) {
            return Err(AppError::Unauthenticated("the API token has expired".into()));
        }
        let user = s.user(row.user_id).await?.ok_or_else(invalid)?;
        if user.disabled_at.is_some() {
            return Err(invalid());
        }
        if row.last_used_at.is_none_or(|t| now.duration_since(t) >= TOUCH_EVERY) {
            s.touch_token(row.id, now).await?;
        }
        let actor = actor_for(&mut s, &user, Credential::Token { read_only: row.read_only }, address).await?;
        let until = row.expires_at.map_or(now + AUTH_CACHE_TTL, |e| e.min(now + AUTH_CACHE_TTL));
        self.cache_auth(generation, format!("t:{hash}"), &actor, None, until);
        Ok(actor)
    }

    fn cached_auth(
        &self,
        key: &str,
        now: Timestamp,
        address: Option<&str>,
    ) -> Option<(Actor, Option<String>)> {
        let cache = self.auth_cache.lock().unwrap_or_else(|e| e.into_inner());
        let hit = cache.get(key).filter(|c| now < c.valid_until)?;
        let mut actor = hit.actor.clone();
        actor.address = address.map(str::to_string);
        Some((actor, hit.csrf_token.clone()))
    }

    /// Caches what a lookup read, unless an invalidation happened since the lookup began (`generation`).
    fn cache_auth(
        &self,
        generation: u64,
        key: String,
        actor: &Actor,
        csrf_token: Option<String>,
        valid_until: Timestamp,
    ) {
        let mut cache = self.auth_cache.lock().unwrap_or_else(|e| e.into_inner());
        if self.auth_generation() != generation {
            return;
        }
        if cache.len() >= 10_000 {
            cache.clear();
        }
        cache.insert(key, CachedAuth { actor: actor.clone(), csrf_token, valid_until });
    }

    /// The signed-in user.
    pub async fn me(&self, actor: &Actor) -> Result<UserView, AppError> {
        let id = actor.user_id.ok_or_else(|| AppError::NotFound { kind: "user", id: "(system)".into() })?;
        let mut s = self.store().session().await?;
        let u =
            s.user(id.get()).await?.ok_or_else(|| AppError::NotFound { kind: "user", id: id.to_string() })?;
        user_view(&mut s, u).await
    }

    // -------------------------------------------------------------------------------------------- users

    pub async fn create_user(&self, actor: &Actor, input: NewUser) -> Result<UserView, AppError> {
        authorize(actor, Resource::Users, Action::Write).map_err(denied)?;
        let username = check_username(&input.username)?;
        let role = parse_role(&input.role)?;
        check_password(&input.password)?;
        let hash = secrets::hash_password(&input.password).map_err(AppError::Internal)?;
        let now = self.clock().now();
        let mut tx = self.store().transaction().await?;
        check_cost_centres(&mut tx, &input.cost_centres).await?;
        let display = input.display_name.as_deref().map(str::trim).filter(|d| !d.is_empty());
        let u = tx.insert_user(&username, display, role.as_str(), &hash, now).await.map_err(|e| match e {
            StoreError::Unique { .. } => AppError::Conflict { kind: "user", field: "username".into() },
            other => other.into(),
        })?;
        tx.set_user_scopes(u.id, &input.cost_centres).await?;
        let view = user_view(&mut tx, u).await?;
        audit(
            &mut tx,
            actor,
            now,
            "create",
            "user",
            Some(view.id),
            None,
            Some(&serde_json::to_value(&view).unwrap_or_default()),
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// [`App::create_user`] from a JSON body: the caller's right is checked before the body is looked at.
    pub async fn create_user_json(
        &self,
        actor: &Actor,
        body: serde_json::Value,
    ) -> Result<UserView, AppError> {
        authorize(actor, Resource::Users, Action::Write).map_err(denied)?;
        self.create_user(actor, parse_json(body)?).await
    }

    /// [`App::update_user`] from a JSON body, rights first.
    pub async fn update_user_json(
        &self,
        actor: &Actor,
        id: i64,
        body: serde_json::Value,
        if_match: Option<&str>,
    ) -> Result<UserView, AppError> {
        authorize(actor, Resource::Users, Action::Write).map_err(denied)?;
        self.update_user(actor, id, parse_json(body)?, if_match).await
    }

    /// [`App::create_token`] from a JSON body (`name`, `read_only`, `expires_in_days`, `user_id`), rights first.
    pub async fn create_token_json(
        &self,
        actor: &Actor,
        body: serde_json::Value,
    ) -> Result<NewToken, AppError> {
        authorize(actor, Resource::Tokens, Action::Write).map_err(denied)?;
        refuse_token_minting(actor)?;
        let t: TokenRequest = parse_json(body)?;
        let expires = match t.expires_in_days {
            Some(d) if !(1..=732).contains(&d) => {
                return Err(AppError::Validation(vec![FieldError::new(
                    "expires_in_days",
                    "must be 1 to 732 days",
                )]));
            }
            Some(d) => Some(SignedDuration::from_hours(24 * d)),
            None => None,
        };
        self.create_token(actor, t.user_id, &t.name, t.read_only, expires).await
    }

    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<UserView>, AppError> {
        authorize(actor, Resource::Users, Action::Read).map_err(denied)?;
        let mut s = self.store().session().await?;
        let mut out = Vec::new();
        for u in s.users().await? {
            out.push(user_view(&mut s, u).await?);
        }
        Ok(out)
    }

    pub async fn get_user(&self, actor: &Actor, id: i64) -> Result<UserView, AppError> {
        authorize(actor, Resource::Users, Action::Read).map_err(denied)?;
        let mut s = self.store().session().await?;
        let u = s.user(id).await?.ok_or_else(|| AppError::NotFound { kind: "user", id: id.to_string() })?;
        user_view(&mut s, u).await
    }

    pub async fn find_user(&self, actor: &Actor, username: &str) -> Result<UserView, AppError> {
        authorize(actor, Resource::Users, Action::Read).map_err(denied)?;
        let mut s = self.store().session().await?;
        let u = s
            .user_by_name(username)
            .await?
            .ok_or_else(|| AppError::NotFound { kind: "user", id: username.to_string() })?;
        user_view(&mut s, u).await
    }

    /// Changes a user (role, display name, disabled, cost centres, password). Disabling or resetting the
    /// password ends the user's sessions.
    pub async fn update_user(
        &self,
        actor: &Actor,
        id: i64,
        patch: UserPatch,
        if_match: Option<&str>,
    ) -> Result<UserView, AppError> {
        authorize(actor, Resource::Users, Action::Write).map_err(denied)?;
        let now = self.clock().now();
        let mut tx = self.store().transaction().await?;
        let mut u =
            tx.user(id).await?.ok_or_else(|| AppError::NotFound { kind: "user", id: id.to_string() })?;
        let before = user_view(&mut tx, u.clone()).await?;
        if let Some(m) = if_match
            && !crate::refdata::if_match_ok(m, &before.etag())
        {
            return Err(AppError::PreconditionFailed { kind: "user", current_etag: before.etag() });
        }
        if Some(id) == actor.user_id.map(|u| u.get())
            && (patch.disabled == Some(true) || patch.role.as_deref().is_some_and(|r| r != "admin"))
        {
            return Err(AppError::Refused(
                "you cannot disable yourself or take away your own admin role".into(),
            ));
        }
        let mut end_sessions = false;
        if let Some(d) = patch.display_name {
            u.display_name = Some(d.trim().to_string()).filter(|d| !d.is_empty());
        }
        if let Some(r) = patch.role {
            u.role = parse_role(&r)?.as_str().to_string();
        }
        if let Some(dis) = patch.disabled {
            end_sessions |= dis;
            u.disabled_at = if dis { u.disabled_at.or(Some(now)) } else { None };
        }
        let password_changed = patch.password.is_some();
        if let Some(p) = patch.password {
            check_password(&p)?;
            u.password_hash = secrets::hash_password(&p).map_err(AppError::Internal)?;
            end_sessions = true;
        }
        if let Some(cc) = &patch.cost_centres {
            check_cost_centres(&mut tx, cc).await?;
            tx.set_user_scopes(id, cc).await?;
        }
        let u = tx.update_user(&u, Some(before.version), now).await?;
        if end_sessions {
            tx.delete_user_sessions(id).await?;
        }
        let after = user_view(&mut tx, u).await?;
        let mut after_json = serde_json::to_value(&after).unwrap_or_default();
        if password_changed {
            // The audit says that the password changed, never what it is or hashes to.
            after_json["password_changed"] = serde_json::Value::Bool(true);
        }
        let action = if password_changed { "reset-password" } else { "update" };
        let before_json = serde_json::to_value(&before).unwrap_or_default();
        audit(&mut tx, actor, now, action, "user", Some(id), Some(&before_json), Some(&after_json)).await?;
        tx.commit().await?;
        self.invalidate_auth_cache();
        Ok(after)
    }

    /// Ids of cost centres named by code (for assigning scopes by code).
    pub async fn cost_centre_ids(&self, actor: &Actor, codes: &[String]) -> Result<Vec<i64>, AppError> {
        authorize(actor, Resource::Users, Action::Write).map_err(denied)?;
        let mut s = self.store().session().await?;
        let keys = crate::refdata::ids_by_key(&mut s, Kind::CostCentre).await?;
        codes
            .iter()
            .enumerate()
            .map(|(n, c)| {
                keys.get(&c.to_lowercase()).copied().ok_or_else(|| {
                    AppError::Validation(vec![FieldError::new(
                        format!("cost_centres[{n}]"),
                        format!("no cost centre has code `{c}`"),
                    )])
                })
            })
            .collect()
    }

    // ------------------------------------------------------------------------------------------- tokens

    /// Creates an API token for the actor, or (admin) for another user. The token is in the answer only.
    pub async fn create_token(
        &self,
        actor: &Actor,
        for_user: Option<i64>,
        name: &str,
        read_only: bool,
        expires_in: Option<SignedDuration>,
    ) -> Result<NewToken, AppError> {
        authorize(actor, Resource::Tokens, Action::Write).map_err(denied)?;
        let own = actor.user_id.map(|u| u.get());
        let user_id = match (for_user, own) {
            (Some(u), _) if Some(u) != own && !actor.is_admin() => {
                return Err(AppError::Forbidden("only admins create tokens for other users".into()));
            }
            (Some(u), _) => u,
            (None, Some(u)) => u,
            (None, None) => return Err(AppError::bad_request("name the user the token is for")),
        };
        refuse_token_minting(actor)?;
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(AppError::Validation(vec![FieldError::new("name", "must be 1–100 characters")]));
        }
        if let Some(e) = expires_in
            && (e.is_negative() || e.is_zero() || e > SignedDuration::from_hours(24 * 366 * 2))
        {
            return Err(AppError::Validation(vec![FieldError::new(
                "expires_in_days",
                "must be 1 to 732 days",
            )]));
        }
        let now = self.clock().now();
        let token = secrets::new_token();
        let mut tx = self.store().transaction().await?;
        let u = tx
            .user(user_id)
            .await?
            .ok_or_else(|| AppError::NotFound { kind: "user", id: user_id.to_string() })?;
        if u.disabled_at.is_some() {
            return Err(AppError::Refused(format!("the user {} is disabled", u.username)));
        }
        let row = tx
            .insert_token(&TokenRow {
                id: 0,
                user_id,
                name: name.to_string(),
                prefix: token[..TOKEN_PREFIX.len() + 6].to_string(),
                token_hash: secrets::digest(&token),
                read_only,
                created_at: now,
                expires_at: Some(now + expires_in.unwrap_or(DEFAULT_TOKEN_LIFETIME)),
                revoked_at: None,
                last_used_at: None,
            })
            .await?;
        let view = TokenView::from(row);
        audit(
            &mut tx,
            actor,
            now,
            "create",
            "token",
            Some(view.id),
            None,
            Some(&serde_json::to_value(&view).unwrap_or_default()),
        )
        .await?;
        tx.commit().await?;
        Ok(NewToken { token, view })
    }

    /// The actor's tokens; an admin sees everyone's.
    pub async fn list_tokens(&self, actor: &Actor) -> Result<Vec<TokenView>, AppError> {
        authorize(actor, Resource::Tokens, Action::Read).map_err(denied)?;
        let mut s = self.store().session().await?;
        let filter = if actor.is_admin() { None } else { Some(actor.user_id.map(|u| u.get()).unwrap_or(-1)) };
        Ok(s.tokens(filter).await?.into_iter().map(TokenView::from).collect())
    }

    /// Revokes a token: it stops working at once. Others' tokens are invisible to non-admins (404).
    pub async fn revoke_token(&self, actor: &Actor, id: i64) -> Result<TokenView, AppError> {
        authorize(actor, Resource::Tokens, Action::Write).map_err(denied)?;
        let now = self.clock().now();
        let mut tx = self.store().transaction().await?;
        let not_found = || AppError::NotFound { kind: "token", id: id.to_string() };
        let t = tx.token(id).await?.ok_or_else(not_found)?;
        if !actor.is_admin() && Some(t.user_id) != actor.user_id.map(|u| u.get()) {
            return Err(not_found());
        }
        tx.revoke_token(id, now).await?;
        let after = TokenView::from(tx.token(id).await?.ok_or_else(not_found)?);
        audit(
            &mut tx,
            actor,
            now,
            "revoke",
            "token",
            Some(id),
            Some(&serde_json::to_value(TokenView::from(t)).unwrap_or_default()),
            Some(&serde_json::to_value(&after).unwrap_or_default()),
        )
        .await?;
        tx.commit().await?;
        self.invalidate_auth_cache();
        Ok(after)
    }

    // ---------------------------------------------------------------------------------------- audit log

    /// A page of the audit log, newest first. Parameters: `actor_id`, `kind`, `record_id`, `action`,
    /// `from`, `to` (RFC 3339 or YYYY-MM-DD), `limit` (1–1000), `cursor`.
    pub async fn audit_log(
        &self,
        actor: &Actor,
        params: &ListParams,
    ) -> Result<(Vec<AuditEntry>, Option<String>), AppError> {
        authorize(actor, Resource::AuditLog, Action::Read).map_err(denied)?;
        let mut q = audit_query(params)?;
        if q.limit == 0 {
            q.limit = 100;
        }
        let mut s = self.store().session().await?;
        let (entries, more) = s.audit(&q).await?;
        let next = if more { entries.last().map(|e| e.id.to_string()) } else { None };
        Ok((entries, next))
    }

    /// Every audit entry matching `params` (ignoring `limit` and `cursor`), oldest first is not promised:
    /// newest first, as listed.
    pub async fn audit_all(&self, actor: &Actor, params: &ListParams) -> Result<Vec<AuditEntry>, AppError> {
        authorize(actor, Resource::AuditLog, Action::Read).map_err(denied)?;
        let mut q = audit_query(params)?;
        q.limit = 1000;
        q.before_id = None;
        let mut s = self.store().session().await?;
        let mut all = Vec::new();
        loop {
            let (page, more) = s.audit(&q).await?;
            q.before_id = page.last().map(|e| e.id);
            all.extend(page);
            if !more {
                return Ok(all);
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    name: String,
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    expires_in_days: Option<i64>,
    #[serde(default)]
    user_id: Option<i64>,
}

/// Parses a JSON body into `T`; a type error or unknown field is a validation error naming the field.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(body)
        .map_err(|e| AppError::Validation(vec![itemize_core::refdata::json_field_error(&e)]))
}

/// A token that could mint tokens would outlive its own revocation.
fn refuse_token_minting(actor: &Actor) -> Result<(), AppError> {
    if matches!(actor.credential, Credential::Token { .. }) {
        return Err(AppError::Forbidden("API tokens cannot create API tokens; sign in to create one".into()));
    }
    Ok(())
}

fn audit_query(p: &ListParams) -> Result<AuditQuery, AppError> {
    p.only(&["actor_id", "kind", "record_id", "action", "from", "to", "limit", "cursor", "format"])?;
    let int = |k: &str| -> Result<Option<i64>, AppError> {
        p.get(k)
            .map(|v| v.parse::<i64>().map_err(|_| AppError::bad_param(k, format!("`{v}` is not a number"))))
            .transpose()
    };
    let time = |k: &str| -> Result<Option<Timestamp>, AppError> {
        p.get(k)
            .map(|v| {
                v.parse::<Timestamp>()
                    .or_else(|_| {
                        v.parse::<jiff::civil::Date>()
                            .map(|d| d.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp()))
                            .and_then(|r| r)
                    })
                    .map_err(|_| {
                        AppError::bad_param(k, format!("`{v}` is not a date (YYYY-MM-DD) or RFC 3339 time"))
                    })
            })
            .transpose()
    };
    let limit = match p.get("limit") {
        None => 100,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => return Err(AppError::bad_param("limit", "must be a whole number from 1 to 1000")),
        },
    };
    Ok(AuditQuery {
        actor_id: int("actor_id")?,
        kind: p.get("kind").map(str::to_string),
        record_id: int("record_id")?,
        action: p.get("action").map(str::to_string),
        from: time("from")?,
        to: time("to")?,
        before_id: int("cursor")?,
        limit,
    })
}

async fn check_cost_centres(tx: &mut Session, ids: &[i64]) -> Result<(), AppError> {
    let found = tx.existing_ids(Kind::CostCentre, ids).await?;
    let missing: Vec<FieldError> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !found.contains(id))
        .map(|(n, id)| FieldError::new(format!("cost_centres[{n}]"), format!("no cost centre has id {id}")))
        .collect();
    if missing.is_empty() { Ok(()) } else { Err(AppError::Validation(missing)) }
}

async fn user_view(s: &mut Session, u: UserRow) -> Result<UserView, AppError> {
    let cost_centres = s.user_scopes(u.id).await?;
    Ok(UserView {
        id: u.id,
        username: u.username,
        display_name: u.display_name,
        role: u.role.parse().map_err(AppError::Internal)?,
        cost_centres,
        disabled: u.disabled_at.is_some(),
        version: u.version,
        created_at: u.created_at,
        updated_at: u.updated_at,
    })
}

/// Builds the actor for a user: role, and (for non-admins owning cost centres) the expanded scope.
async fn actor_for(
    s: &mut Session,
    u: &UserRow,
    credential: Credential,
    address: Option<&str>,
) -> Result<Actor, AppError> {
    let role: Role = u.role.parse().map_err(AppError::Internal)?;
    let owned = s.user_scopes(u.id).await?;
    let scope = if role == Role::Admin || owned.is_empty() {
        None
    } else {
        Some(expand_scope(&owned, &s.hierarchy(Kind::CostCentre).await?))
    };
    Ok(Actor {
        user_id: Some(u.id.into()),
        name: u.username.clone(),
        role,
        scope,
        credential,
        address: address.map(str::to_string),
    })
}

/// Appends to the audit log, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn audit(
    tx: &mut Session,
    actor: &Actor,
    at: Timestamp,
    action: &str,
    kind: &str,
    record_id: Option<i64>,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<(), AppError> {
    tx.append_audit(
        at,
        actor.user_id.map(|u| u.get()),
        &actor.name,
        actor.credential.label(),
        actor.address.as_deref(),
        action,
        kind,
        record_id,
        before,
        after,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_group_ipv6_by_64() {
        assert_eq!(address_group("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(address_group("2001:db8:1:2:ffff::1"), "2001:db8:1:2::/64");
        assert_eq!(address_group("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(address_group("192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        assert_eq!(backoff(4, 5), None);
        assert_eq!(backoff(5, 5), Some(SignedDuration::from_secs(1)));
        assert_eq!(backoff(6, 5), Some(SignedDuration::from_secs(2)));
        assert_eq!(backoff(9, 5), Some(SignedDuration::from_secs(16)));
        assert_eq!(backoff(50, 5), Some(MAX_LOCKOUT));
    }
}
