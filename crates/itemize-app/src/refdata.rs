//! Use cases over reference data: create, read, update (JSON merge patch with optimistic concurrency),
//! archive/restore and list, generic over the kind. Checks that need the database (references exist, no
//! hierarchy cycles, vendor aliases unique) live here, once, for every front end.

use crate::auth::audit;
use crate::listing::{encode_cursor, query_for};
use crate::{App, AppError, ListParams, Page};
use itemize_core::FieldError;
use itemize_core::auth::{Action, Actor, Resource, authorize, scope_column};
use itemize_core::refdata::{Kind, Record, RefKind, merge_patch};
use itemize_store::{Session, StoredKind};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Fields a client may read but never write.
const READ_ONLY: [&str; 5] = ["id", "version", "created_at", "updated_at", "archived_at"];

fn not_found<K: RefKind>(id: i64) -> AppError {
    AppError::NotFound { kind: K::KIND.singular(), id: id.to_string() }
}

fn store_err<K: RefKind>(e: itemize_store::StoreError) -> AppError {
    AppError::from_store(K::KIND.singular(), e)
}

/// Role and credential check for an action on kind `K`.
pub(crate) fn allow<K: RefKind>(actor: &Actor, action: Action) -> Result<(), AppError> {
    authorize(actor, Resource::RefData(K::KIND), action).map_err(|e| AppError::Forbidden(e.to_string()))
}

/// The cost centre that places a record of kind `K` (with id `id`) in a scope, if the kind is scoped.
pub(crate) fn scope_key<K: RefKind>(id: Option<i64>, fields: &K) -> Option<Option<i64>> {
    let col = scope_column(K::KIND)?;
    if col == "id" {
        return Some(id);
    }
    Some(fields.to_json()[col].as_i64())
}

/// Whether a scoped actor sees this record. Records of unscoped kinds are visible to every actor.
pub(crate) fn visible<K: RefKind>(actor: &Actor, id: Option<i64>, fields: &K) -> bool {
    match (&actor.scope, scope_key::<K>(id, fields)) {
        (None, _) | (_, None) => true,
        (Some(scope), Some(Some(cc))) => scope.contains(&cc),
        (Some(_), Some(None)) => false,
    }
}

/// For a scoped actor writing kind `K`: the record must land inside their cost centres. A new cost centre
/// lands where its parent is.
fn lands_in_scope<K: RefKind>(actor: &Actor, id: Option<i64>, fields: &K) -> Result<(), AppError> {
    let Some(scope) = &actor.scope else { return Ok(()) };
    let Some(col) = scope_column(K::KIND) else { return Ok(()) };
    let (field, key) = if col == "id" {
        match id {
            Some(i) => ("parent_id", fields.to_json()["parent_id"].as_i64().or(Some(i))),
            None => ("parent_id", fields.to_json()["parent_id"].as_i64()),
        }
    } else {
        (col, fields.to_json()[col].as_i64())
    };
    if key.is_some_and(|k| scope.contains(&k)) {
        Ok(())
    } else {
        Err(AppError::Validation(vec![FieldError::new(field, "must be one of your cost centres")]))
    }
}

fn require_object(v: &Value) -> Result<&serde_json::Map<String, Value>, AppError> {
    let obj = v.as_object().ok_or_else(|| {
        AppError::Validation(vec![FieldError::new("(body)", "must be a JSON object of fields")])
    })?;
    let read_only: Vec<FieldError> = obj
        .keys()
        .filter(|k| READ_ONLY.contains(&k.as_str()))
        .map(|k| FieldError::new(k.clone(), "is read-only"))
        .collect();
    if read_only.is_empty() { Ok(obj) } else { Err(AppError::Validation(read_only)) }
}

/// Whether `if_match` (an If-Match header value) matches `etag`. `*` matches any current record.
pub(crate) fn if_match_ok(if_match: &str, etag: &str) -> bool {
    if_match.split(',').map(str::trim).any(|t| t == "*" || t == etag)
}

impl App {
    pub async fn get<K: StoredKind>(&self, actor: &Actor, id: i64) -> Result<Record<K>, AppError> {
        allow::<K>(actor, Action::Read)?;
        let mut s = self.store().session().await?;
        let rec = s.get::<K>(id.into()).await.map_err(store_err::<K>)?.ok_or_else(|| not_found::<K>(id))?;
        // Outside a scoped actor's cost centres a record does not exist, as far as they can tell.
        if visible(actor, Some(id), &rec.fields) { Ok(rec) } else { Err(not_found::<K>(id)) }
    }

    pub async fn create<K: StoredKind>(&self, actor: &Actor, input: Value) -> Result<Record<K>, AppError> {
        allow::<K>(actor, Action::Write)?;
        let mut input = input;
        require_object(&input)?;
        self.fill_defaults(K::KIND, &mut input);
        let fields = K::from_json(input).map_err(AppError::Validation)?;
        lands_in_scope(actor, None, &fields)?;
        let mut tx = self.store().transaction().await?;
        check_fields(&mut tx, actor, None, &fields).await?;
        let now = self.clock().now();
        let rec = tx.insert(&fields, now).await.map_err(store_err::<K>)?;
        let after = rec.fields.to_json();
        audit(&mut tx, actor, now, "create", K::KIND.plural(), Some(rec.id.into()), None, Some(&after))
            .await?;
        tx.commit().await?;
        self.after_write(K::KIND);
        Ok(rec)
    }

    /// Applies a JSON merge patch. With `if_match`, only if the record's ETag still matches.
    pub async fn update<K: StoredKind>(
        &self,
        actor: &Actor,
        id: i64,
        if_match: Option<&str>,
        patch: Value,
    ) -> Result<Record<K>, AppError> {
        allow::<K>(actor, Action::Write)?;
        require_object(&patch)?;
        for _attempt in 0..3 {
            let mut tx = self.store().transaction().await?;
            let current =
                tx.get::<K>(id.into()).await.map_err(store_err::<K>)?.ok_or_else(|| not_found::<K>(id))?;
            if !visible(actor, Some(id), &current.fields) {
                return Err(not_found::<K>(id));
            }
            if let Some(m) = if_match
                && !if_match_ok(m, &current.etag())
            {
                return Err(AppError::PreconditionFailed {
                    kind: K::KIND.singular(),
                    current_etag: current.etag(),
                });
            }
            let mut merged = current.fields.to_json();
            merge_patch(&mut merged, &patch);
            if K::KIND == Kind::Vendor && patch.get("aliases").is_none() {
                keep_former_name(&current.fields.to_json(), &mut merged);
            }
            let fields = K::from_json(merged).map_err(AppError::Validation)?;
            if fields == current.fields {
                return Ok(current);
            }
            lands_in_scope(actor, Some(id), &fields)?;
            check_fields(&mut tx, actor, Some(id), &fields).await?;
            let now = self.clock().now();
            match tx.update(id.into(), Some(current.meta.version), &fields, now).await {
                Ok(rec) => {
                    let (before, after) = (current.fields.to_json(), rec.fields.to_json());
                    audit(
                        &mut tx,
                        actor,
                        now,
                        "update",
                        K::KIND.plural(),
                        Some(id),
                        Some(&before),
                        Some(&after),
                    )
                    .await?;
                    tx.commit().await?;
                    self.after_write(K::KIND);
                    return Ok(rec);
                }
                // Changed between our read and our write: with If-Match that is the caller's conflict,
                // without it we read again and re-apply the patch.
                Err(itemize_store::StoreError::VersionConflict { .. }) if if_match.is_none() => continue,
                Err(itemize_store::StoreError::VersionConflict { current }) => {
                    return Err(AppError::PreconditionFailed {
                        kind: K::KIND.singular(),
                        current_etag: format!("\"{id}-{current}\""),
                    });
                }
                Err(e) => return Err(store_err::<K>(e)),
            }
        }
        Err(AppError::PreconditionFailed { kind: K::KIND.singular(), current_etag: "(changing)".into() })
    }

    /// Archives (`archived = true`) or restores a record. Idempotent: archiving an archived record changes
    /// nothing.
    pub async fn set_archived<K: StoredKind>(
        &self,
        actor: &Actor,
        id: i64,
        archived: bool,
        if_match: Option<&str>,
    ) -> Result<Record<K>, AppError> {
        allow::<K>(actor, Action::Write)?;
        let mut tx = self.store().transaction().await?;
        let current =
            tx.get::<K>(id.into()).await.map_err(store_err::<K>)?.ok_or_else(|| not_found::<K>(id))?;
        if !visible(actor, Some(id), &current.fields) {
            return Err(not_found::<K>(id));
        }
        if let Some(m) = if_match
            && !if_match_ok(m, &current.etag())
        {
            return Err(AppError::PreconditionFailed {
                kind: K::KIND.singular(),
                current_etag: current.etag(),
            });
        }
        if current.meta.archived_at.is_some() == archived {
            return Ok(current);
        }
        let now = self.clock().now();
        let rec = tx
            .set_archived::<K>(id.into(), archived, Some(current.meta.version), now)
            .await
            .map_err(store_err::<K>)?;
        let action = if archived { "archive" } else { "restore" };
        let (before, after) = (serde_json::to_value(&current).ok(), serde_json::to_value(&rec).ok());
        audit(&mut tx, actor, now, action, K::KIND.plural(), Some(id), before.as_ref(), after.as_ref())
            .await?;
        tx.commit().await?;
        self.after_write(K::KIND);
        Ok(rec)
    }

    pub async fn list<K: StoredKind>(&self, actor: &Actor, params: &ListParams) -> Result<Page<K>, AppError> {
        allow::<K>(actor, Action::Read)?;
        let mut q = query_for::<K>(params)?;
        if let (Some(scope), Some(col)) = (&actor.scope, scope_column(K::KIND)) {
            q.scope = Some((col, scope.iter().copied().collect()));
        }
        let mut s = self.store().session().await?;
        let (rows, more) = s.list::<K>(&q).await.map_err(store_err::<K>)?;
        let next = match (more, rows.last()) {
            (true, Some((rec, key))) => Some(encode_cursor(&q, rec.id.into(), key)),
            _ => None,
        };
        Ok(Page { items: rows.into_iter().map(|(r, _)| r).collect(), next })
    }

    /// How many live records of each kind the actor can see.
    pub async fn counts(&self, actor: &Actor) -> Result<Vec<(Kind, i64)>, AppError> {
        let mut s = self.store().session().await?;
        let scope: Option<Vec<i64>> = actor.scope.as_ref().map(|s| s.iter().copied().collect());
        let mut out = Vec::new();
        for k in Kind::ALL {
            let filter = scope.as_deref().and_then(|ids| scope_column(k).map(|c| (c, ids)));
            out.push((k, s.count_scoped(k, false, filter).await?));
        }
        Ok(out)
    }

    /// Display labels for records of `kind` (for showing references by name), of the records the actor sees.
    pub async fn labels(
        &self,
        actor: &Actor,
        kind: Kind,
        ids: &[i64],
    ) -> Result<HashMap<i64, String>, AppError> {
        let mut s = self.store().session().await?;
        let scope: Option<Vec<i64>> = actor.scope.as_ref().map(|s| s.iter().copied().collect());
        let filter = scope.as_deref().and_then(|ids| scope_column(kind).map(|c| (c, ids)));
        Ok(s.labels(kind, ids, filter).await?)
    }

    /// Cost centres define scopes: a change to them changes what scoped users see.
    pub(crate) fn after_write(&self, kind: Kind) {
        if kind == Kind::CostCentre {
            self.invalidate_auth_cache();
        }
    }

    /// Organisation defaults for fields a caller left out.
    pub(crate) fn fill_defaults(&self, kind: Kind, input: &mut Value) {
        if kind == Kind::CostCentre
            && let Some(obj) = input.as_object_mut()
            && obj.get("currency").is_none_or(Value::is_null)
        {
            obj.insert("currency".into(), Value::String(self.config().reporting_currency.code().into()));
        }
    }
}

/// Checks that need the database, for one record about to be written (`id` is `None` for a new one).
async fn check_fields<K: StoredKind>(
    s: &mut Session,
    actor: &Actor,
    id: Option<i64>,
    fields: &K,
) -> Result<(), AppError> {
    let mut problems = Vec::new();
    for r in fields.references() {
        if r.kind == K::KIND && Some(r.id) == id {
            problems
                .push(FieldError::new(r.field, format!("cannot point to the {} itself", K::KIND.singular())));
            continue;
        }
        // For a scoped actor a record outside their cost centres does not exist, here as everywhere.
        if s.existing_ids(r.kind, &[r.id]).await?.is_empty() || !sees(s, actor, r.kind, r.id).await? {
            problems.push(FieldError::new(r.field, format!("no {} has id {}", r.kind.singular(), r.id)));
            continue;
        }
        // A new parent must not be one of this record's descendants.
        if r.kind == K::KIND
            && let Some(me) = id
        {
            let edges = s.hierarchy(K::KIND).await?;
            let mut cur = Some(r.id);
            let mut seen = HashSet::new();
            while let Some(c) = cur {
                if c == me {
                    problems.push(FieldError::new(
                        r.field,
                        format!("would make a cycle: {} {} is below this one", r.kind.singular(), r.id),
                    ));
                    break;
                }
                if !seen.insert(c) {
                    break;
                }
                cur = edges.get(&c).copied();
            }
        }
    }
    if K::KIND == Kind::Vendor {
        let mut vendors = vendor_names(s).await?;
        vendors.retain(|(vid, _, _)| Some(*vid) != id);
        let json = fields.to_json();
        let name = json["name"].as_str().unwrap_or_default().to_string();
        let aliases: Vec<String> = serde_json::from_value(json["aliases"].clone()).unwrap_or_default();
        vendors.push((id.unwrap_or(0), name, aliases));
        for (field, problem) in vendor_conflicts(&vendors, id.unwrap_or(0)) {
            problems.push(FieldError::new(field, problem));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(AppError::Validation(problems)) }
}

impl App {
    /// The record of `kind` whose natural key (code, employee id, vendor name) is `key`, case-insensitively:
    /// what a person types where a form refers to another record.
    pub async fn id_by_key(&self, actor: &Actor, kind: Kind, key: &str) -> Result<Option<i64>, AppError> {
        authorize(actor, Resource::RefData(kind), Action::Read)
            .map_err(|e| AppError::Forbidden(e.to_string()))?;
        let wanted = key.trim().to_lowercase();
        let Some(id) = ({
            let mut s = self.store().session().await?;
            match ids_by_key(&mut s, kind).await?.get(&wanted).copied() {
                Some(id) => Some(id),
                // A vendor is also known by the other spellings its invoices use (its aliases).
                None if kind == Kind::Vendor => s
                    .all::<itemize_core::refdata::Vendor>(false)
                    .await?
                    .into_iter()
                    .find(|v| v.fields.aliases.iter().any(|a| a.trim().to_lowercase() == wanted))
                    .map(|v| v.id.get()),
                None => None,
            }
        }) else {
            return Ok(None);
        };
        // Outside a scoped actor's cost centres a record does not exist, as far as they can tell.
        Ok(self.labels(actor, kind, &[id]).await?.contains_key(&id).then_some(id))
    }

    /// The natural keys of some records of `kind`, to show references as people type them.
    pub async fn keys_by_id(
        &self,
        actor: &Actor,
        kind: Kind,
        ids: &[i64],
    ) -> Result<HashMap<i64, String>, AppError> {
        authorize(actor, Resource::RefData(kind), Action::Read)
            .map_err(|e| AppError::Forbidden(e.to_string()))?;
        let visible = self.labels(actor, kind, ids).await?;
        let mut s = self.store().session().await?;
        Ok(s.natural_keys(kind).await?.into_iter().filter(|(id, _)| visible.contains_key(id)).collect())
    }
}

/// Natural key, lower-cased (as rows and codes are matched) → id, for every record of `kind`.
pub(crate) async fn ids_by_key(s: &mut Session, kind: Kind) -> Result<HashMap<String, i64>, AppError> {
    Ok(s.natural_keys(kind).await?.into_iter().map(|(id, k)| (k.to_lowercase(), id)).collect())
}

/// The ids of `kind` a scoped actor may see; `None` when they see them all.
pub(crate) async fn visible_ids(
    s: &mut Session,
    actor: &Actor,
    kind: Kind,
) -> Result<Option<HashSet<i64>>, AppError> {
    use itemize_core::refdata::{CostCentre, Person, Service};
    if actor.scope.is_none() || scope_column(kind).is_none() {
        return Ok(None);
    }
    fn ids<K: RefKind>(actor: &Actor, records: Vec<Record<K>>) -> HashSet<i64> {
        records
            .into_iter()
            .filter(|r| visible(actor, Some(r.id.into()), &r.fields))
            .map(|r| r.id.into())
            .collect()
    }
    Ok(Some(match kind {
        Kind::CostCentre => ids(actor, s.all::<CostCentre>(true).await?),
        Kind::Service => ids(actor, s.all::<Service>(true).await?),
        Kind::Person => ids(actor, s.all::<Person>(true).await?),
        Kind::Location | Kind::Vendor => return Ok(None),
    }))
}

/// Whether `actor` may see record `id` of `kind`.
async fn sees(s: &mut Session, actor: &Actor, kind: Kind, id: i64) -> Result<bool, AppError> {
    use itemize_core::refdata::{CostCentre, Location, Person, Service, Vendor};
    if actor.scope.is_none() || scope_column(kind).is_none() {
        return Ok(true);
    }
    Ok(match kind {
        Kind::CostCentre => {
            s.get::<CostCentre>(id.into()).await?.is_some_and(|r| visible(actor, Some(id), &r.fields))
        }
        Kind::Service => {
            s.get::<Service>(id.into()).await?.is_some_and(|r| visible(actor, Some(id), &r.fields))
        }
        Kind::Person => {
            s.get::<Person>(id.into()).await?.is_some_and(|r| visible(actor, Some(id), &r.fields))
        }
        Kind::Location => s.get::<Location>(id.into()).await?.is_some(),
        Kind::Vendor => s.get::<Vendor>(id.into()).await?.is_some(),
    })
}

/// A vendor renamed keeps its former name as an alias, so the spend, invoices and files that spell it the old way
/// still resolve to it (and a corrected invoice restates the one read under the old name). Not when the name
/// changes only in case (spellings match case-insensitively), and not when the patch sets the aliases itself.
fn keep_former_name(before: &Value, after: &mut Value) {
    let (Some(old), Some(new)) = (before["name"].as_str(), after["name"].as_str()) else { return };
    let known = |a: &str| a.trim().eq_ignore_ascii_case(old.trim());
    if known(new) {
        return;
    }
    match after.get_mut("aliases") {
        Some(Value::Array(aliases)) => {
            if !aliases.iter().any(|a| a.as_str().is_some_and(known)) {
                aliases.push(Value::String(old.to_string()));
            }
        }
        _ => after["aliases"] = Value::Array(vec![Value::String(old.to_string())]),
    }
}

/// (id, name, aliases) of every vendor, archived ones included.
pub(crate) async fn vendor_names(s: &mut Session) -> Result<Vec<(i64, String, Vec<String>)>, AppError> {
    Ok(s.all::<itemize_core::refdata::Vendor>(true)
        .await?
        .into_iter()
        .map(|r| (r.id.get(), r.fields.name, r.fields.aliases))
        .collect())
}

/// Names and aliases must identify one vendor: a spelling used by two vendors cannot match spend lines.
/// Returns (field, problem) for the vendor `focus`'s conflicts.
pub(crate) fn vendor_conflicts(vendors: &[(i64, String, Vec<String>)], focus: i64) -> Vec<(String, String)> {
    // Every spelling (name or alias, case-insensitively) → the vendors using it.
    let mut owner: HashMap<String, Vec<(i64, &str)>> = HashMap::new();
    for (id, name, aliases) in vendors {
        for spelling in std::iter::once(name).chain(aliases) {
            owner.entry(spelling.to_lowercase()).or_default().push((*id, name));
        }
    }
    let mut out = Vec::new();
    for (id, name, aliases) in vendors.iter().filter(|v| v.0 == focus) {
        if let Some((_, other_name)) =
            owner.get(&name.to_lowercase()).and_then(|o| o.iter().find(|(oid, _)| oid != id))
        {
            out.push(("name".to_string(), format!("`{name}` already identifies the vendor {other_name}")));
        }
        for (n, a) in aliases.iter().enumerate() {
            let clash = owner.get(&a.to_lowercase()).and_then(|o| o.iter().find(|(oid, _)| oid != id));
            if let Some((_, o)) = clash {
                out.push((format!("aliases[{n}]"), format!("`{a}` already identifies the vendor {o}")));
            }
        }
    }
    out
}

/// Finds a cycle in a hierarchy given as child → parent edges; returns a member of it.
pub(crate) fn find_cycle(edges: &HashMap<i64, i64>) -> Option<i64> {
    let mut done: HashSet<i64> = HashSet::new();
    for &start in edges.keys() {
        let mut path = HashSet::new();
        let mut cur = start;
        loop {
            if done.contains(&cur) {
                break;
            }
            if !path.insert(cur) {
                return Some(cur);
            }
            match edges.get(&cur) {
                Some(&p) => cur = p,
                None => break,
            }
        }
        done.extend(path);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cycles_and_only_cycles() {
        let tree: HashMap<i64, i64> = [(2, 1), (3, 1), (4, 3)].into();
        assert_eq!(find_cycle(&tree), None);
        let looped: HashMap<i64, i64> = [(2, 1), (3, 4), (4, 5), (5, 3)].into();
        assert!(matches!(find_cycle(&looped), Some(3..=5)));
    }

    #[test]
    fn vendor_spellings_must_be_unique() {
        let v = vec![
            (1, "Amazon Web Services".to_string(), vec!["AWS".to_string()]),
            (2, "Awesome Co".to_string(), vec!["aws".to_string(), "Awesome".to_string()]),
        ];
        assert_eq!(
            vendor_conflicts(&v, 2),
            vec![("aliases[0]".into(), "`aws` already identifies the vendor Amazon Web Services".into())]
        );
        assert!(vendor_conflicts(&v[..1], 1).is_empty());
    }

    #[test]
    fn if_match_accepts_star_and_lists() {
        assert!(if_match_ok("*", "\"1-2\""));
        assert!(if_match_ok("\"1-1\", \"1-2\"", "\"1-2\""));
        assert!(!if_match_ok("W/\"1-2\"", "\"1-2\""));
        assert!(!if_match_ok("\"1-1\"", "\"1-2\""));
    }
}
