//! Storage of reference data, generic over the kind: each kind names its table and columns and converts its
//! fields to and from column values; the SQL is shared.

use crate::{RowGet, Session, StoreError, Value};
use itemize_core::clock::format_timestamp;
use itemize_core::refdata::{CostCentre, Kind, Location, Meta, Person, Record, RefKind, Service, Vendor};
use jiff::Timestamp;
use std::collections::{HashMap, HashSet};

use std::str::FromStr;

/// A reference-data kind that knows its table.
pub trait StoredKind: RefKind {
    const TABLE: &'static str;
    /// The field columns, in the order of [`StoredKind::to_values`].
    const COLUMNS: &'static [&'static str];
    fn to_values(&self) -> Vec<Value>;
    fn from_row(r: &dyn RowGet) -> Result<Self, StoreError>;
}

/// The column holding a kind's natural key (code, employee id, vendor name).
fn natural_key_of(kind: Kind) -> &'static str {
    match kind {
        Kind::CostCentre => CostCentre::NATURAL_KEY,
        Kind::Service => Service::NATURAL_KEY,
        Kind::Person => Person::NATURAL_KEY,
        Kind::Location => Location::NATURAL_KEY,
        Kind::Vendor => Vendor::NATURAL_KEY,
    }
}

pub fn table_of(kind: Kind) -> &'static str {
    match kind {
        Kind::CostCentre => CostCentre::TABLE,
        Kind::Service => Service::TABLE,
        Kind::Person => Person::TABLE,
        Kind::Location => Location::TABLE,
        Kind::Vendor => Vendor::TABLE,
    }
}

pub(crate) fn parse<T: FromStr>(col: &str, s: String) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn id_val<I: Into<i64>>(id: Option<I>) -> Value {
    Value::Int(id.map(Into::into))
}

pub(crate) fn ts(col: &str, s: Option<String>) -> Result<Option<Timestamp>, StoreError> {
    s.map(|s| ts_req(col, s)).transpose()
}

pub(crate) fn ts_req(col: &str, s: String) -> Result<Timestamp, StoreError> {
    itemize_core::clock::parse_timestamp(&s).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

impl StoredKind for CostCentre {
    const TABLE: &'static str = "cost_centres";
    const COLUMNS: &'static [&'static str] = &["code", "name", "parent_id", "owner_id", "currency"];
    fn to_values(&self) -> Vec<Value> {
        vec![
            Value::text(&self.code),
            Value::text(&self.name),
            id_val(self.parent_id),
            id_val(self.owner_id),
            Value::text(self.currency.code()),
        ]
    }
    fn from_row(r: &dyn RowGet) -> Result<Self, StoreError> {
        Ok(CostCentre {
            code: r.text("code")?,
            name: r.text("name")?,
            parent_id: r.opt_int("parent_id")?.map(Into::into),
            owner_id: r.opt_int("owner_id")?.map(Into::into),
            currency: parse("currency", r.text("currency")?)?,
        })
    }
}

impl StoredKind for Service {
    const TABLE: &'static str = "services";
    const COLUMNS: &'static [&'static str] =
        &["code", "name", "owner_cost_centre_id", "criticality", "description"];
    fn to_values(&self) -> Vec<Value> {
        vec![
            Value::text(&self.code),
            Value::text(&self.name),
            Value::int(self.owner_cost_centre_id.get()),
            Value::text(self.criticality.as_str()),
            Value::Text(self.description.clone()),
        ]
    }
    fn from_row(r: &dyn RowGet) -> Result<Self, StoreError> {
        Ok(Service {
            code: r.text("code")?,
            name: r.text("name")?,
            owner_cost_centre_id: r.int("owner_cost_centre_id")?.into(),
            criticality: parse("criticality", r.text("criticality")?)?,
            description: r.opt_text("description")?,
        })
    }
}

impl StoredKind for Person {
    const TABLE: &'static str = "people";
    const COLUMNS: &'static [&'static str] = &[
        "employee_id",
        "name",
        "email",
        "job_title",
        "cost_centre_id",
        "location_id",
        "manager_id",
        "status",
        "leave_date",
    ];
    fn to_values(&self) -> Vec<Value> {
        vec![
            Value::text(&self.employee_id),
            Value::text(&self.name),
            Value::text(&self.email),
            Value::Text(self.job_title.clone()),
            id_val(self.cost_centre_id),
            id_val(self.location_id),
            id_val(self.manager_id),
            Value::text(self.status.as_str()),
            Value::Text(self.leave_date.map(|d| d.to_string())),
        ]
    }
    fn from_row(r: &dyn RowGet) -> Result<Self, StoreError> {
        Ok(Person {
            employee_id: r.text("employee_id")?,
            name: r.text("name")?,
            email: r.text("email")?,
            job_title: r.opt_text("job_title")?,
            cost_centre_id: r.opt_int("cost_centre_id")?.map(Into::into),
            location_id: r.opt_int("location_id")?.map(Into::into),
            manager_id: r.opt_int("manager_id")?.map(Into::into),
            status: parse("status", r.text("status")?)?,
            leave_date: r.opt_text("leave_date")?.map(|d| parse("leave_date", d)).transpose()?,
        })
    }
}

impl StoredKind for Location {
    const TABLE: &'static str = "locations";
    const COLUMNS: &'static [&'static str] = &["code", "name", "kind", "parent_id", "country", "city"];
    fn to_values(&self) -> Vec<Value> {
        vec![
            Value::text(&self.code),
            Value::text(&self.name),
            Value::text(self.kind.as_str()),
            id_val(self.parent_id),
            Value::text(self.country.code()),
            Value::Text(self.city.clone()),
        ]
    }
    fn from_row(r: &dyn RowGet) -> Result<Self, StoreError> {
        Ok(Location {
            code: r.text("code")?,
            name: r.text("name")?,
            kind: parse("kind", r.text("kind")?)?,
            parent_id: r.opt_int("parent_id")?.map(Into::into),
            country: parse("country", r.text("country")?)?,
            city: r.opt_text("city")?,
        })
    }
}

impl StoredKind for Vendor {
    const TABLE: &'static str = "vendors";
    const COLUMNS: &'static [&'static str] = &["name", "aliases", "website"];
    fn to_values(&self) -> Vec<Value> {
        let aliases = serde_json::to_string(&self.aliases).unwrap_or_else(|_| "[]".into());
        vec![Value::text(&self.name), Value::text(aliases), Value::Text(self.website.clone())]
    }
    fn from_row(r: &dyn RowGet) -> Result<Self, StoreError> {
        let aliases = serde_json::from_str(&r.text("aliases")?)
            .map_err(|e| StoreError::Corrupt(format!("aliases: {e}")))?;
        Ok(Vendor { name: r.text("name")?, aliases, website: r.opt_text("website")? })
    }
}

/// The bookkeeping columns every reference-data table has, read before the kind's own.
const META_COLUMNS: [&str; 5] = ["id", "version", "created_at", "updated_at", "archived_at"];

fn select_list<K: StoredKind>() -> String {
    format!("{}, {}", META_COLUMNS.join(", "), K::COLUMNS.join(", "))
}

fn record<K: StoredKind>(r: &dyn RowGet) -> Result<Record<K>, StoreError> {
    Ok(Record {
        id: r.int("id")?.into(),
        fields: K::from_row(r)?,
        meta: Meta {
            version: r.int("version")?,
            created_at: ts_req("created_at", r.text("created_at")?)?,
            updated_at: ts_req("updated_at", r.text("updated_at")?)?,
            archived_at: ts("archived_at", r.opt_text("archived_at")?)?,
        },
    })
}

/// Which records a list includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Archived {
    #[default]
    Exclude,
    Only,
    Include,
}

/// A value of the sort column, as carried in a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    Int(i64),
    Text(String),
    /// A record without a value in a sort column that may be empty (listed after those with one, by id).
    Null,
}

/// One page of a keyset-paginated list. Column names come from the kind's `ListSpec`, never from a caller.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filters: Vec<(&'static str, Value)>,
    /// Case-insensitive substring over the kind's search fields.
    pub search: Option<String>,
    /// Only records whose column is one of these ids (a scoped user's cost centres).
    pub scope: Option<(&'static str, Vec<i64>)>,
    pub archived: Archived,
    pub sort: &'static str,
    pub descending: bool,
    /// Continue after this (sort value, id).
    pub after: Option<(SortValue, i64)>,
    pub limit: u32,
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `col IN ($a, $b, …)` binding `ids`; an empty set matches nothing.
pub(crate) fn in_clause(col: &str, ids: &[i64], values: &mut Vec<Value>) -> String {
    if ids.is_empty() {
        return "1 = 0".to_string();
    }
    let start = values.len();
    values.extend(ids.iter().map(|i| Value::int(*i)));
    let ph: Vec<String> = (start + 1..=values.len()).map(|i| format!("${i}")).collect();
    format!("{col} IN ({})", ph.join(", "))
}

/// ` AND col IN ($a, $b, …)` binding `ids`; an empty set matches nothing.
fn in_list(col: &str, ids: &[i64], values: &mut Vec<Value>) -> String {
    format!(" AND {}", in_clause(col, ids, values))
}

/// The `ORDER BY` terms of a keyset page over `sort` (then id, which breaks ties).
pub(crate) fn keyset_order(sort: &str, descending: bool) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    if sort == "id" { format!("id {dir}") } else { format!("{sort} {dir}, id {dir}") }
}

/// Appends a keyset page's tail to `sql`: continue after `after` in (`sort`, id) order, then `ORDER BY` and
/// `LIMIT limit + 1` (the extra row says whether more follow). Returns the order over the output columns
/// (`sort_key`, id) for [`Session::fetch_page`].
pub(crate) fn keyset_tail(
    sql: &mut String,
    values: &mut Vec<Value>,
    sort: &str,
    descending: bool,
    after: Option<&(SortValue, i64)>,
    limit: u32,
) -> String {
    let cmp = if descending { "<" } else { ">" };
    if let Some((v, id)) = after {
        // After a record without a value (listed by id, after those with one), the page goes on by id.
        let value = match v {
            _ if sort == "id" => None,
            SortValue::Null => None,
            SortValue::Int(i) => Some(Value::int(*i)),
            SortValue::Text(t) => Some(Value::text(t)),
        };
        match value {
            None => {
                values.push(Value::int(*id));
                sql.push_str(&format!(" AND id {cmp} ${}", values.len()));
            }
            Some(value) => {
                values.push(value);
                values.push(Value::int(*id));
                let n = values.len();
                sql.push_str(&format!(" AND ({sort}, id) {cmp} (${}, ${n})", n - 1));
            }
        }
    }
    sql.push_str(&format!(" ORDER BY {}", keyset_order(sort, descending)));
    // The limit is written into the statement, not bound: a plan made for any values (see
    // `Store::planned_reads`) would otherwise assume a bound limit could ask for a tenth of the rows.
    sql.push_str(&format!(" LIMIT {}", u64::from(limit) + 1));
    keyset_order(if sort == "id" { "id" } else { "sort_key" }, descending)
}

/// A row's `sort_key` column as the cursor's sort value.
pub(crate) fn sort_key(r: &dyn RowGet, sort: &str) -> Result<SortValue, StoreError> {
    if sort == "id" {
        Ok(SortValue::Int(r.int("sort_key")?))
    } else {
        Ok(SortValue::Text(r.text("sort_key")?))
    }
}

impl Session {
    pub async fn get<K: StoredKind>(&mut self, id: K::Id) -> Result<Option<Record<K>>, StoreError> {
        let sql = format!("SELECT {} FROM {} WHERE id = $1", select_list::<K>(), K::TABLE);
        let row = self.fetch_optional(sql, vec![Value::int(id.into())]).await?;
        row.map(|r| record::<K>(&*r)).transpose()
    }

    pub async fn insert<K: StoredKind>(
        &mut self,
        fields: &K,
        now: Timestamp,
    ) -> Result<Record<K>, StoreError> {
        let n = K::COLUMNS.len();
        let placeholders: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {t} ({cols}, version, created_at, updated_at) VALUES ({ph}, 1, ${now}, ${now}) RETURNING {sel}",
            t = K::TABLE,
            cols = K::COLUMNS.join(", "),
            ph = placeholders.join(", "),
            now = n + 1,
            sel = select_list::<K>(),
        );
        let mut values = fields.to_values();
        values.push(Value::text(format_timestamp(now)));
        let row = self.fetch_optional(sql, values).await?.ok_or(StoreError::NotFound)?;
        record::<K>(&*row)
    }

    /// Replaces a record's fields. With `expected_version`, only if the record is still at that version.
    pub async fn update<K: StoredKind>(
        &mut self,
        id: K::Id,
        expected_version: Option<i64>,
        fields: &K,
        now: Timestamp,
    ) -> Result<Record<K>, StoreError> {
        let n = K::COLUMNS.len();
        let sets: Vec<String> =
            K::COLUMNS.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
        let mut values = fields.to_values();
        values.push(Value::text(format_timestamp(now)));
        values.push(Value::int(id.into()));
        let mut sql = format!(
            "UPDATE {t} SET {sets}, version = version + 1, updated_at = ${now} WHERE id = ${id}",
            t = K::TABLE,
            sets = sets.join(", "),
            now = n + 1,
            id = n + 2,
        );
        if let Some(v) = expected_version {
            values.push(Value::int(v));
            sql.push_str(&format!(" AND version = ${}", n + 3));
        }
        sql.push_str(&format!(" RETURNING {}", select_list::<K>()));
        match self.fetch_optional(sql, values).await? {
            Some(row) => record::<K>(&*row),
            None => Err(self.why_unchanged::<K>(id).await),
        }
    }

    /// Archives (or restores) a record. Archived records stay, are hidden from lists by default, and can be
    /// restored; nothing is ever hard-deleted.
    pub async fn set_archived<K: StoredKind>(
        &mut self,
        id: K::Id,
        archived: bool,
        expected_version: Option<i64>,
        now: Timestamp,
    ) -> Result<Record<K>, StoreError> {
        let stamp = format_timestamp(now);
        let mut values =
            vec![Value::Text(archived.then(|| stamp.clone())), Value::text(stamp), Value::int(id.into())];
        let mut sql = format!(
            "UPDATE {} SET archived_at = $1, version = version + 1, updated_at = $2 WHERE id = $3",
            K::TABLE
        );
        if let Some(v) = expected_version {
            values.push(Value::int(v));
            sql.push_str(" AND version = $4");
        }
        sql.push_str(&format!(" RETURNING {}", select_list::<K>()));
        match self.fetch_optional(sql, values).await? {
            Some(row) => record::<K>(&*row),
            None => Err(self.why_unchanged::<K>(id).await),
        }
    }

    async fn why_unchanged<K: StoredKind>(&mut self, id: K::Id) -> StoreError {
        match self.get::<K>(id).await {
            Ok(Some(current)) => StoreError::VersionConflict { current: current.meta.version },
            Ok(None) => StoreError::NotFound,
            Err(e) => e,
        }
    }

    /// One page: up to `limit` records, each with its sort value (for the next cursor), plus whether more follow.
    #[allow(clippy::type_complexity)]
    pub async fn list<K: StoredKind>(
        &mut self,
        q: &ListQuery,
    ) -> Result<(Vec<(Record<K>, SortValue)>, bool), StoreError> {
        let mut sql =
            format!("SELECT {}, {} AS sort_key FROM {} WHERE 1 = 1", select_list::<K>(), q.sort, K::TABLE);
        let mut values: Vec<Value> = Vec::new();
        match q.archived {
            Archived::Exclude => sql.push_str(" AND archived_at IS NULL"),
            Archived::Only => sql.push_str(" AND archived_at IS NOT NULL"),
            Archived::Include => {}
        }
        for (col, v) in &q.filters {
            values.push(v.clone());
            sql.push_str(&format!(" AND {col} = ${}", values.len()));
        }
        if let Some((col, ids)) = &q.scope {
            sql.push_str(&in_list(col, ids, &mut values));
        }
        if let Some(s) = q.search.as_ref().filter(|s| !s.trim().is_empty()) {
            values.push(Value::text(format!("%{}%", escape_like(&s.trim().to_lowercase()))));
            let n = values.len();
            let ors: Vec<String> =
                K::LIST.search.iter().map(|c| format!("lower({c}) LIKE ${n} ESCAPE '\\'")).collect();
            sql.push_str(&format!(" AND ({})", ors.join(" OR ")));
        }
        let order = keyset_tail(&mut sql, &mut values, q.sort, q.descending, q.after.as_ref(), q.limit);
        let mut cols: Vec<&str> = META_COLUMNS.to_vec();
        cols.extend(K::COLUMNS);
        cols.push("sort_key");
        let rows = self.fetch_page(sql, values, &cols, &order).await?;
        let more = rows.len() > q.limit as usize;
        let mut out = Vec::with_capacity(rows.len().min(q.limit as usize));
        for r in rows.iter().take(q.limit as usize) {
            let key = sort_key(&**r, q.sort)?;
            out.push((record::<K>(&**r)?, key));
        }
        Ok((out, more))
    }

    /// Every record of a kind ordered by natural key, archived ones included when asked (exports).
    pub async fn all<K: StoredKind>(&mut self, include_archived: bool) -> Result<Vec<Record<K>>, StoreError> {
        let filter = if include_archived { "" } else { " WHERE archived_at IS NULL" };
        let sql = format!(
            "SELECT {} FROM {}{filter} ORDER BY lower({}), id",
            select_list::<K>(),
            K::TABLE,
            K::NATURAL_KEY
        );
        let rows = self.fetch_all(sql, vec![]).await?;
        rows.iter().map(|r| record::<K>(&**r)).collect()
    }

    /// (id, natural key as stored) for every record of a kind, archived ones included.
    pub async fn natural_keys(&mut self, kind: Kind) -> Result<Vec<(i64, String)>, StoreError> {
        let col = natural_key_of(kind);
        let sql = format!("SELECT id, {col} AS k FROM {}", table_of(kind));
        let rows = self.fetch_all(sql, vec![]).await?;
        rows.iter().map(|r| Ok((r.int("id")?, r.text("k")?))).collect()
    }

    /// Which of `ids` exist as records of `kind`.
    pub async fn existing_ids(&mut self, kind: Kind, ids: &[i64]) -> Result<HashSet<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let mut values = Vec::new();
        let sql = format!("SELECT id FROM {} WHERE 1 = 1{}", table_of(kind), in_list("id", ids, &mut values));
        let rows = self.fetch_all(sql, values).await?;
        rows.iter().map(|r| r.int("id")).collect()
    }

    /// (id, parent) edges of a self-referencing hierarchy (`parent_id` or `manager_id`), for cycle checks.
    pub async fn hierarchy(&mut self, kind: Kind) -> Result<HashMap<i64, i64>, StoreError> {
        let col = match kind {
            Kind::Person => "manager_id",
            Kind::CostCentre | Kind::Location => "parent_id",
            Kind::Service | Kind::Vendor => return Ok(HashMap::new()),
        };
        let sql = format!("SELECT id, {col} AS parent FROM {} WHERE {col} IS NOT NULL", table_of(kind));
        let rows = self.fetch_all(sql, vec![]).await?;
        rows.iter().map(|r| Ok((r.int("id")?, r.int("parent")?))).collect()
    }

    pub async fn count(&mut self, kind: Kind, include_archived: bool) -> Result<i64, StoreError> {
        self.count_scoped(kind, include_archived, None).await
    }

    /// Counts records, optionally only those whose `column` is one of `ids`.
    pub async fn count_scoped(
        &mut self,
        kind: Kind,
        include_archived: bool,
        scope: Option<(&str, &[i64])>,
    ) -> Result<i64, StoreError> {
        let mut sql = format!("SELECT COUNT(*) AS n FROM {} WHERE 1 = 1", table_of(kind));
        if !include_archived {
            sql.push_str(" AND archived_at IS NULL");
        }
        let mut values = Vec::new();
        if let Some((col, ids)) = scope {
            sql.push_str(&in_list(col, ids, &mut values));
        }
        let row = self.fetch_optional(sql, values).await?.ok_or(StoreError::NotFound)?;
        row.int("n")
    }
}

impl Session {
    /// Display labels ("Name (KEY)") for the given ids of a kind.
    pub async fn labels(
        &mut self,
        kind: Kind,
        ids: &[i64],
        scope: Option<(&str, &[i64])>,
    ) -> Result<HashMap<i64, String>, StoreError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let key = natural_key_of(kind);
        let mut values = Vec::new();
        let mut sql = format!("SELECT id, {key} AS k, name FROM {} WHERE 1 = 1", table_of(kind));
        sql.push_str(&in_list("id", &ids, &mut values));
        if let Some((col, allowed)) = scope {
            sql.push_str(&in_list(col, allowed, &mut values));
        }
        let rows = self.fetch_all(sql, values).await?;
        rows.iter()
            .map(|r| {
                let (k, name) = (r.text("k")?, r.text("name")?);
                Ok((r.int("id")?, if k == name { name } else { format!("{name} ({k})") }))
            })
            .collect()
    }
}
