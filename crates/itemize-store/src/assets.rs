//! Storage of the asset register: assets (typed columns for everything a list filters or sorts on), their
//! append-only history, relationships, contracts, one-off costs and physical audits.

use crate::refdata::{self, SortValue, in_clause, keyset_order, keyset_tail, parse, sort_key, ts_req};
use crate::{RowGet, Session, StoreError, Value};
use itemize_core::assets::{
    Asset, AssetFields, Convention, Custody, Disposal, Method, StartBasis, State, Substate,
};
use itemize_core::clock::format_timestamp;
use jiff::Timestamp;
use rust_decimal::Decimal;
use std::str::FromStr;

fn opt<T: FromStr>(r: &dyn RowGet, col: &str) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    r.opt_text(col)?.map(|s| parse(col, s)).transpose()
}

fn ts(r: &dyn RowGet, col: &str) -> Result<Timestamp, StoreError> {
    ts_req(col, r.text(col)?)
}

fn opt_ts(r: &dyn RowGet, col: &str) -> Result<Option<Timestamp>, StoreError> {
    refdata::ts(col, r.opt_text(col)?)
}

fn t<D: ToString>(v: Option<D>) -> Value {
    Value::Text(v.map(|d| d.to_string()))
}

/// The asset columns written from an asset, in order.
pub const ASSET_COLUMNS: [&str; 38] = [
    "tag",
    "name",
    "class",
    "model",
    "manufacturer",
    "serial",
    "hostname",
    "resource_id",
    "state",
    "substate",
    "assignee_person_id",
    "location_id",
    "service_id",
    "expected_return",
    "cost_centre_id",
    "vendor_id",
    "purchase_date",
    "in_service_date",
    "purchase_cost",
    "currency",
    "po_number",
    "invoice_number",
    "depreciation_method",
    "depreciation_rate",
    "depreciation_convention",
    "depreciation_start",
    "useful_life_months",
    "salvage_value",
    "warranty_end",
    "end_of_life",
    "notes",
    "custom",
    "disposal",
    "last_audited_at",
    "version",
    "created_at",
    "updated_at",
    "id",
];

fn asset_values(a: &Asset) -> Vec<Value> {
    let f = &a.fields;
    vec![
        Value::text(&f.tag),
        Value::text(&f.name),
        Value::text(f.class.as_str()),
        Value::Text(f.model.clone()),
        Value::Text(f.manufacturer.clone()),
        Value::Text(f.serial.clone()),
        Value::Text(f.hostname.clone()),
        Value::Text(f.resource_id.clone()),
        Value::text(a.state.as_str()),
        t(a.substate.map(|s| s.as_str())),
        Value::Int(a.custody.assignee_person_id),
        // The location is one of the asset's fields; custody mirrors it.
        Value::Int(f.location_id),
        Value::Int(a.custody.service_id),
        t(a.custody.expected_return),
        Value::Int(f.cost_centre_id),
        Value::Int(f.vendor_id),
        t(f.purchase_date),
        t(f.in_service_date),
        t(f.purchase_cost),
        Value::text(f.currency.code()),
        Value::Text(f.po_number.clone()),
        Value::Text(f.invoice_number.clone()),
        Value::text(f.depreciation_method.as_str()),
        t(f.depreciation_rate),
        Value::text(f.depreciation_convention.as_str()),
        Value::text(f.depreciation_start.as_str()),
        Value::Int(f.useful_life_months.map(i64::from)),
        t(f.salvage_value),
        t(f.warranty_end),
        t(f.end_of_life),
        Value::Text(f.notes.clone()),
        Value::text(serde_json::Value::Object(f.custom.clone()).to_string()),
        Value::Text(a.disposal.as_ref().map(|d| serde_json::to_string(d).unwrap_or_default())),
        t(a.last_audited_at.map(format_timestamp)),
        Value::int(a.version),
        Value::text(format_timestamp(a.created_at)),
        Value::text(format_timestamp(a.updated_at)),
    ]
}

/// The statement inserting a chunk of assets and its parameters. Yields every few hundred rows, so a statement
/// already sent goes on being sent (see [`crate::overlap`]).
async fn asset_insert(backend: crate::Backend, chunk: &[Asset]) -> Result<(String, Vec<Value>), StoreError> {
    let width = ASSET_COLUMNS.len() - 1;
    let (select, values) = match backend {
        crate::Backend::Sqlite => {
            let mut json = crate::JsonRows::default();
            for (i, a) in chunk.iter().enumerate() {
                if i % 200 == 199 {
                    crate::yield_now().await;
                }
                json.push(&asset_values(a));
            }
            let (select, json) = json.finish(width);
            (select, vec![json])
        }
        crate::Backend::Postgres => {
            let mut rows = Vec::with_capacity(chunk.len());
            for (i, a) in chunk.iter().enumerate() {
                if i % 200 == 199 {
                    crate::yield_now().await;
                }
                rows.push(asset_values(a));
            }
            crate::pg_bulk(width, rows).map_err(|_| StoreError::Corrupt("asset columns".into()))?
        }
    };
    let sql = format!("INSERT INTO assets ({}) {select} RETURNING id", ASSET_COLUMNS[..width].join(", "));
    Ok((sql, values))
}

fn asset_from_row(r: &dyn RowGet) -> Result<Asset, StoreError> {
    let custom = match serde_json::from_str(&r.text("custom")?) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => return Err(StoreError::Corrupt("custom: not a JSON object".into())),
    };
    let disposal: Option<Disposal> = r
        .opt_text("disposal")?
        .map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("disposal: {e}"))))
        .transpose()?;
    let location_id = r.opt_int("location_id")?;
    Ok(Asset {
        id: r.int("id")?,
        fields: AssetFields {
            tag: r.text("tag")?,
            name: r.text("name")?,
            class: parse("class", r.text("class")?)?,
            model: r.opt_text("model")?,
            manufacturer: r.opt_text("manufacturer")?,
            serial: r.opt_text("serial")?,
            hostname: r.opt_text("hostname")?,
            resource_id: r.opt_text("resource_id")?,
            location_id,
            cost_centre_id: r.opt_int("cost_centre_id")?,
            vendor_id: r.opt_int("vendor_id")?,
            purchase_date: opt(r, "purchase_date")?,
            in_service_date: opt(r, "in_service_date")?,
            purchase_cost: opt::<Decimal>(r, "purchase_cost")?,
            currency: parse("currency", r.text("currency")?)?,
            po_number: r.opt_text("po_number")?,
            invoice_number: r.opt_text("invoice_number")?,
            depreciation_method: parse::<Method>("depreciation_method", r.text("depreciation_method")?)?,
            depreciation_rate: opt::<Decimal>(r, "depreciation_rate")?,
            depreciation_convention: parse::<Convention>(
                "depreciation_convention",
                r.text("depreciation_convention")?,
            )?,
            depreciation_start: parse::<StartBasis>("depreciation_start", r.text("depreciation_start")?)?,
            useful_life_months: r.opt_int("useful_life_months")?.map(|n| n as u32),
            salvage_value: opt::<Decimal>(r, "salvage_value")?,
            warranty_end: opt(r, "warranty_end")?,
            end_of_life: opt(r, "end_of_life")?,
            notes: r.opt_text("notes")?,
            custom,
        },
        state: parse::<State>("state", r.text("state")?)?,
        substate: opt::<Substate>(r, "substate")?,
        custody: Custody {
            assignee_person_id: r.opt_int("assignee_person_id")?,
            location_id,
            service_id: r.opt_int("service_id")?,
            expected_return: opt(r, "expected_return")?,
        },
        disposal,
        last_audited_at: opt_ts(r, "last_audited_at")?,
        version: r.int("version")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

fn select() -> String {
    ASSET_COLUMNS.join(", ")
}

/// What an asset list asks for. Column names come from static lists in the application, never from a caller.
#[derive(Debug, Clone, Default)]
pub struct AssetQuery {
    /// `column = value` filters.
    pub filters: Vec<(&'static str, Value)>,
    /// Any of these states (empty: any).
    pub states: Vec<String>,
    /// `column < value` (dates: warranty ending before, end of life before, return overdue).
    pub before: Vec<(&'static str, String)>,
    /// `column >= value`.
    pub from: Vec<(&'static str, String)>,
    /// A case-insensitive prefix of the tag, serial or hostname, or one of these people's assets.
    pub search: Option<String>,
    pub search_people: Vec<i64>,
    /// Only assets in these cost centres (a scoped user).
    pub scope: Option<Vec<i64>>,
    pub sort: &'static str,
    pub descending: bool,
    pub after: Option<(SortValue, i64)>,
    pub limit: u32,
}

/// Whether assets may have no value in the sort column: such a list gives those without one last.
pub fn asset_sort_nullable(sort: &str) -> bool {
    !matches!(sort, "id" | "tag" | "name" | "state" | "class")
}

/// Which assets a page reads, by whether they have a value in the sort column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    All,
    Valued,
    Empty,
}

/// The first string after every string starting with `prefix` (for an index range scan).
fn prefix_end(prefix: &str) -> String {
    let mut s = prefix.to_string();
    s.push(char::MAX);
    s
}

/// One row of an asset's history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AssetEvent {
    pub id: i64,
    pub asset_id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub kind: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RelationRow {
    pub id: i64,
    pub asset_id: i64,
    pub kind: String,
    pub to_asset_id: Option<i64>,
    pub to_service_id: Option<i64>,
    pub created_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AssetCostRow {
    pub id: i64,
    pub asset_id: i64,
    pub cost_date: String,
    pub kind: String,
    pub amount: String,
    pub currency: String,
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ContractRow {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub kind: String,
    pub vendor_id: Option<i64>,
    pub value: String,
    pub currency: String,
    pub billing_frequency: String,
    pub start_date: String,
    pub end_date: String,
    pub renewal: String,
    pub notice_days: i64,
    pub owner_person_id: Option<i64>,
    pub cost_centre_id: Option<i64>,
    pub notes: Option<String>,
    pub version: i64,
    pub archived_at: Option<String>,
    /// The assets the contract covers.
    pub asset_ids: Vec<i64>,
}

const CONTRACT_COLUMNS: [&str; 14] = [
    "number",
    "name",
    "kind",
    "vendor_id",
    "value",
    "currency",
    "billing_frequency",
    "start_date",
    "end_date",
    "renewal",
    "notice_days",
    "owner_person_id",
    "cost_centre_id",
    "notes",
];

fn contract_values(c: &ContractRow) -> Vec<Value> {
    vec![
        Value::text(&c.number),
        Value::text(&c.name),
        Value::text(&c.kind),
        Value::Int(c.vendor_id),
        Value::text(&c.value),
        Value::text(&c.currency),
        Value::text(&c.billing_frequency),
        Value::text(&c.start_date),
        Value::text(&c.end_date),
        Value::text(&c.renewal),
        Value::int(c.notice_days),
        Value::Int(c.owner_person_id),
        Value::Int(c.cost_centre_id),
        Value::Text(c.notes.clone()),
    ]
}

fn contract_from_row(r: &dyn RowGet) -> Result<ContractRow, StoreError> {
    Ok(ContractRow {
        id: r.int("id")?,
        number: r.text("number")?,
        name: r.text("name")?,
        kind: r.text("kind")?,
        vendor_id: r.opt_int("vendor_id")?,
        value: r.text("value")?,
        currency: r.text("currency")?,
        billing_frequency: r.text("billing_frequency")?,
        start_date: r.text("start_date")?,
        end_date: r.text("end_date")?,
        renewal: r.text("renewal")?,
        notice_days: r.int("notice_days")?,
        owner_person_id: r.opt_int("owner_person_id")?,
        cost_centre_id: r.opt_int("cost_centre_id")?,
        notes: r.opt_text("notes")?,
        version: r.int("version")?,
        archived_at: r.opt_text("archived_at")?,
        asset_ids: Vec::new(),
    })
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub location_id: i64,
    pub status: String,
    pub started_by: String,
    pub started_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub expected: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScanRow {
    pub id: i64,
    pub audit_id: i64,
    pub input: String,
    pub asset_id: Option<i64>,
    pub result: String,
    pub scanned_at: Timestamp,
}

/// Rows in the first statement of a bulk insert of assets (see `insert_asset_rows`).
const FIRST_BULK_ROWS: usize = 5_000;

impl Session {
    /// Inserts assets (ids are assigned; `a.id` is ignored) and returns their ids in order. A load at least as
    /// large as the register builds the table's indexes afresh after writing the rows instead of inserting into
    /// each of them row by row (see [`Session::rebuild_indexes_for`]).
    pub async fn insert_assets(&mut self, assets: &[Asset]) -> Result<Vec<i64>, StoreError> {
        let restore = self.prepare_bulk_load("assets", assets.len()).await?;
        let ids = self.insert_asset_rows(assets).await?;
        self.create_indexes(restore).await?;
        Ok(ids)
    }

    /// Writes the rows a chunk at a time (one JSONB array on SQLite, one array per column on PostgreSQL), each
    /// chunk prepared while the database writes the one before.
    async fn insert_asset_rows(&mut self, assets: &[Asset]) -> Result<Vec<i64>, StoreError> {
        let backend = self.backend();
        let per = match backend {
            crate::Backend::Sqlite => crate::SQLITE_BULK_ROWS,
            crate::Backend::Postgres => crate::PG_BULK_ROWS,
        };
        // A short first statement, so the database starts writing soon and the long ones after it are prepared
        // while it writes.
        let (first, rest) = assets.split_at(assets.len().min(per.min(FIRST_BULK_ROWS)));
        let mut chunks = std::iter::once(first).filter(|c| !c.is_empty()).chain(rest.chunks(per));
        let mut ids = Vec::with_capacity(assets.len());
        let mut next = match chunks.next() {
            Some(c) => Some(asset_insert(backend, c).await?),
            None => None,
        };
        while let Some((sql, values)) = next.take() {
            let following = chunks.next();
            let (rows, prepared) = crate::overlap(self.fetch_all(sql, values), async {
                match following {
                    Some(c) => asset_insert(backend, c).await.map(Some),
                    None => Ok(None),
                }
            })
            .await;
            let mut got: Vec<i64> = rows?.iter().map(|r| r.int("id")).collect::<Result<_, _>>()?;
            // Rows are inserted in the arrays' order and ids assigned increasing within one statement.
            got.sort_unstable();
            ids.extend(got);
            next = prepared?;
        }
        Ok(ids)
    }

    pub async fn asset(&mut self, id: i64) -> Result<Option<Asset>, StoreError> {
        let sql = format!("SELECT {} FROM assets WHERE id = $1", select());
        self.fetch_optional(sql, vec![Value::int(id)]).await?.map(|r| asset_from_row(&*r)).transpose()
    }

    /// The asset whose tag or serial is `key` (case-insensitive), tag first.
    pub async fn asset_by_key(&mut self, key: &str) -> Result<Option<Asset>, StoreError> {
        let k = key.trim().to_lowercase();
        let sql = format!("SELECT {} FROM assets WHERE lower(tag) = $1", select());
        if let Some(r) = self.fetch_optional(sql, vec![Value::text(&k)]).await? {
            return asset_from_row(&*r).map(Some);
        }
        let sql = format!("SELECT {} FROM assets WHERE lower(serial) = $1 ORDER BY id LIMIT 1", select());
        self.fetch_optional(sql, vec![Value::text(&k)]).await?.map(|r| asset_from_row(&*r)).transpose()
    }

    /// Ids of the assets with these tags (lower-cased), for imports.
    pub async fn asset_ids_by_tag(&mut self) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        let rows = self.fetch_all("SELECT id, tag FROM assets".into(), vec![]).await?;
        rows.iter().map(|r| Ok((r.text("tag")?.to_lowercase(), r.int("id")?))).collect()
    }

    /// The registered assets among `tags`: each tag as given, with the id of the asset whose tag equals it as the
    /// register compares tags (case-insensitively, by the unique index's own `lower`). One indexed lookup per tag
    /// instead of reading every tag of the register. (On PostgreSQL the lookup sits in a fenced `LATERAL`
    /// subquery: joined plainly, 50,000 tags made the planner hash every tag of a million-asset register, 335 ms
    /// a chunk against 50 ms.)
    pub async fn asset_ids_with_tags(
        &mut self,
        tags: &[String],
    ) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        let sql = match self.backend() {
            crate::Backend::Sqlite => {
                "SELECT j.value AS k, a.id FROM json_each($1) AS j JOIN assets AS a ON lower(a.tag) = lower(j.value)"
            }
            crate::Backend::Postgres => {
                "SELECT u.k, a.id FROM unnest($1::text[]) AS u(k) \
                 CROSS JOIN LATERAL (SELECT id FROM assets WHERE lower(tag) = lower(u.k) OFFSET 0) AS a"
            }
        };
        let mut out = std::collections::HashMap::new();
        for chunk in tags.chunks(50_000) {
            let values = vec![Value::Texts(chunk.iter().cloned().map(Some).collect())];
            for r in self.fetch_all(sql.into(), values).await?.iter() {
                out.insert(r.text("k")?, r.int("id")?);
            }
        }
        Ok(out)
    }

    /// People whose name or e-mail starts with `prefix` (case-insensitive), or whose employee id it is: at most
    /// `limit`, each through an index.
    pub async fn people_ids_by_prefix(&mut self, prefix: &str, limit: u32) -> Result<Vec<i64>, StoreError> {
        let p = prefix.trim().to_lowercase();
        let sql = format!(
            "SELECT id FROM people WHERE lower(name) >= $1 AND lower(name) < $2 \
             UNION SELECT id FROM people WHERE lower(email) >= $1 AND lower(email) < $2 \
             UNION SELECT id FROM people WHERE lower(employee_id) = $1 LIMIT {limit}"
        );
        let rows = self.fetch_all(sql, vec![Value::text(&p), Value::text(prefix_end(&p))]).await?;
        if !rows.is_empty() {
            return rows.iter().map(|r| r.int("id")).collect();
        }
        // Nobody's name starts so: a later word of it may (a surname). This reads every name, so it runs only
        // when the indexed ranges found no one.
        let escaped: String = p
            .chars()
            .flat_map(|c| match c {
                '\\' | '%' | '_' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let sql =
            format!("SELECT id FROM people WHERE lower(name) LIKE $1 ESCAPE '\\' ORDER BY id LIMIT {limit}");
        let rows = self.fetch_all(sql, vec![Value::text(format!("% {escaped}%"))]).await?;
        rows.iter().map(|r| r.int("id")).collect()
    }

    /// Replaces an asset's columns if it is still at `expected_version`; false when it moved on.
    pub async fn update_asset(&mut self, a: &Asset, expected_version: i64) -> Result<bool, StoreError> {
        let width = ASSET_COLUMNS.len() - 1;
        let sets: Vec<String> =
            ASSET_COLUMNS[..width].iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
        let sql = format!(
            "UPDATE assets SET {} WHERE id = ${} AND version = ${}",
            sets.join(", "),
            width + 1,
            width + 2
        );
        let mut values = asset_values(a);
        values.push(Value::int(a.id));
        values.push(Value::int(expected_version));
        Ok(self.execute(sql, values).await? == 1)
    }

    /// One page of assets and whether more follow. Sorted by a column that may be empty, the assets that have a
    /// value come first, in the sort's order; then those without one, by id (in the sort's direction), so that
    /// walking the pages lists every asset once whatever the sort.
    pub async fn list_assets(
        &mut self,
        q: &AssetQuery,
    ) -> Result<(Vec<(Asset, SortValue)>, bool), StoreError> {
        if !asset_sort_nullable(q.sort) {
            return self.asset_page(q, Part::All, q.after.as_ref(), q.limit).await;
        }
        match &q.after {
            Some((SortValue::Null, id)) => {
                self.asset_page(q, Part::Empty, Some(&(SortValue::Null, *id)), q.limit).await
            }
            after => {
                let (mut rows, more) = self.asset_page(q, Part::Valued, after.as_ref(), q.limit).await?;
                if more {
                    return Ok((rows, true));
                }
                // The assets with a value are all listed: the page goes on with those without one.
                let room = q.limit - rows.len() as u32;
                let (empty, more) = self.asset_page(q, Part::Empty, None, room.max(1)).await?;
                let more = more || (room == 0 && !empty.is_empty());
                rows.extend(empty.into_iter().take(room as usize));
                Ok((rows, more))
            }
        }
    }

    /// One page of the assets of `part`, continuing after `after`.
    async fn asset_page(
        &mut self,
        q: &AssetQuery,
        part: Part,
        after: Option<&(SortValue, i64)>,
        limit: u32,
    ) -> Result<(Vec<(Asset, SortValue)>, bool), StoreError> {
        let mut values: Vec<Value> = Vec::new();
        let pg = self.backend() == crate::Backend::Postgres;
        // Serials sort case-insensitively, in the order of the one index that also finds them.
        let sort = if q.sort == "serial" { "lower(serial)" } else { q.sort };
        let head = format!("SELECT {}, {sort} AS sort_key FROM assets WHERE 1 = 1", select());
        // The filters, as " AND …" conditions.
        let mut cond = String::new();
        for (col, v) in &q.filters {
            values.push(v.clone());
            cond.push_str(&format!(" AND {col} = ${}", values.len()));
        }
        if !q.states.is_empty() {
            let start = values.len();
            values.extend(q.states.iter().map(Value::text));
            let ph: Vec<String> = (start + 1..=values.len()).map(|i| format!("${i}")).collect();
            cond.push_str(&format!(" AND state IN ({})", ph.join(", ")));
        }
        for (col, v) in &q.before {
            values.push(Value::text(v));
            cond.push_str(&format!(" AND {col} < ${}", values.len()));
        }
        for (col, v) in &q.from {
            values.push(Value::text(v));
            cond.push_str(&format!(" AND {col} >= ${}", values.len()));
        }
        if let Some(ids) = &q.scope {
            cond.push_str(" AND ");
            cond.push_str(&in_clause("cost_centre_id", ids, &mut values));
        }
        // The search: one index range per column (an OR of ranges would make the planners walk the sort
        // order's index and test every row).
        let mut matches: Vec<String> = Vec::new();
        if let Some(s) = q.search.as_ref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()) {
            values.push(Value::text(&s));
            values.push(Value::text(prefix_end(&s)));
            let (a, b) = (values.len() - 1, values.len());
            matches = vec![
                format!("lower(tag) >= ${a} AND lower(tag) < ${b}"),
                format!("lower(serial) >= ${a} AND lower(serial) < ${b}"),
                format!("hostname >= ${a} AND hostname < ${b}"),
            ];
            if !q.search_people.is_empty() {
                if pg {
                    // One array parameter, so the statement's text (and its plan, made once per connection) is
                    // the same however many people match.
                    values.push(Value::Ints(q.search_people.iter().copied().map(Some).collect()));
                    matches.push(format!("assignee_person_id = ANY(${}::bigint[])", values.len()));
                } else {
                    matches.push(in_clause("assignee_person_id", &q.search_people, &mut values));
                }
            }
        }
        match part {
            Part::All => {}
            Part::Valued => cond.push_str(&format!(" AND {sort} IS NOT NULL")),
            Part::Empty => cond.push_str(&format!(" AND {sort} IS NULL")),
        }
        // Among assets without a value, the order is the id's.
        let sort = if part == Part::Empty { "id" } else { sort };
        let mut sql = format!("{head}{cond}");
        let order = if matches.is_empty() {
            keyset_tail(&mut sql, &mut values, sort, q.descending, after, limit)
        } else if pg {
            // PostgreSQL: the matches of each range, each asset once (a range takes only what the ranges
            // before it did not), read as the rows they are; the page is found among them by the filters and
            // the sort, and only its rows are read again whole. Fetching every match by id after finding it (a
            // `UNION` of ids) read each matching row twice: a tag prefix matching a thousand assets took
            // 2.2 ms against 0.8 ms now. `OFFSET 0` keeps the filters out of the ranges, so each range is read
            // through its own index whatever the filters are: the statement is planned once for any values
            // (`Store::planned_reads`), and a plan that read a location's assets to find a tag prefix among
            // them would be ruinous for the largest location.
            let branches: Vec<String> = matches
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let mut b = format!("SELECT * FROM assets WHERE {m}");
                    for earlier in &matches[..i] {
                        b.push_str(&format!(" AND ({earlier}) IS NOT TRUE"));
                    }
                    b
                })
                .collect();
            let mut page = format!(
                "SELECT id FROM (SELECT * FROM ({}) AS matched OFFSET 0) AS assets WHERE 1 = 1{cond}",
                branches.join(" UNION ALL ")
            );
            let order = keyset_tail(&mut page, &mut values, sort, q.descending, after, limit);
            sql = format!("{head} AND id IN ({page}) ORDER BY {}", keyset_order(sort, q.descending));
            order
        } else {
            let parts: Vec<String> =
                matches.iter().map(|m| format!("SELECT id FROM assets WHERE {m}")).collect();
            sql.push_str(&format!(" AND id IN ({})", parts.join(" UNION ")));
            keyset_tail(&mut sql, &mut values, sort, q.descending, after, limit)
        };
        let mut cols: Vec<&str> = ASSET_COLUMNS.to_vec();
        cols.push("sort_key");
        let rows = self.fetch_page(sql, values, &cols, &order).await?;
        let more = rows.len() > limit as usize;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows.iter().take(limit as usize) {
            let key = if part == Part::Empty { SortValue::Null } else { sort_key(&**r, q.sort)? };
            out.push((asset_from_row(&**r)?, key));
        }
        Ok((out, more))
    }

    /// Every asset matching the filters of `q` (no paging), in id order; for exports, reports and KPIs.
    pub async fn all_assets(&mut self, scope: Option<&[i64]>) -> Result<Vec<Asset>, StoreError> {
        let mut values = Vec::new();
        let mut sql = format!("SELECT {} FROM assets", select());
        if let Some(ids) = scope {
            sql.push_str(" WHERE ");
            sql.push_str(&in_clause("cost_centre_id", ids, &mut values));
        }
        sql.push_str(" ORDER BY id");
        let rows = self.fetch_page(sql, values, &ASSET_COLUMNS, "id").await?;
        rows.iter().map(|r| asset_from_row(&**r)).collect()
    }

    /// Assets whose warranty ends from `from` to `to` (ISO dates, inclusive), through the warranty index;
    /// `scope` limits them to cost centres.
    pub async fn assets_warranty_between(
        &mut self,
        from: &str,
        to: &str,
        scope: Option<&[i64]>,
    ) -> Result<Vec<Asset>, StoreError> {
        let mut values = vec![Value::text(from), Value::text(to)];
        let mut sql =
            format!("SELECT {} FROM assets WHERE warranty_end >= $1 AND warranty_end <= $2", select());
        if let Some(ids) = scope {
            sql.push_str(" AND ");
            sql.push_str(&in_clause("cost_centre_id", ids, &mut values));
        }
        sql.push_str(" ORDER BY warranty_end, id");
        let rows = self.fetch_page(sql, values, &ASSET_COLUMNS, "warranty_end, id").await?;
        rows.iter().map(|r| asset_from_row(&**r)).collect()
    }

    pub async fn assets_by_ids(&mut self, ids: &[i64]) -> Result<Vec<Asset>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(200) {
            let mut values = Vec::new();
            let sql = format!(
                "SELECT {} FROM assets WHERE {} ORDER BY id",
                select(),
                in_clause("id", chunk, &mut values)
            );
            for r in self.fetch_all(sql, values).await?.iter() {
                out.push(asset_from_row(&**r)?);
            }
        }
        Ok(out)
    }

    pub async fn count_assets(&mut self) -> Result<i64, StoreError> {
        let r = self.fetch_optional("SELECT COUNT(*) AS n FROM assets".into(), vec![]).await?;
        r.map_or(Ok(0), |r| r.int("n"))
    }

    pub async fn append_asset_events(
        &mut self,
        events: &[(i64, Timestamp, &str, &str, serde_json::Value)],
    ) -> Result<(), StoreError> {
        let rows = events
            .iter()
            .map(|(asset, at, actor, kind, detail)| {
                vec![
                    Value::int(*asset),
                    Value::text(format_timestamp(*at)),
                    Value::text(*actor),
                    Value::text(*kind),
                    Value::text(detail.to_string()),
                ]
            })
            .collect();
        self.insert_many("INSERT INTO asset_events (asset_id, at, actor, kind, detail)", 5, rows).await
    }

    /// Appends one event per asset, all of one kind at one time by one actor (an import's "imported" events),
    /// each with its detail already serialized as JSON. The rows travel as one array per chunk; a load at least as
    /// large as the history builds its indexes afresh (see [`Session::rebuild_indexes_for`]).
    pub async fn append_asset_events_of_kind(
        &mut self,
        at: Timestamp,
        actor: &str,
        kind: &str,
        events: Vec<(i64, String)>,
    ) -> Result<(), StoreError> {
        let restore = self.prepare_bulk_load("asset_events", events.len()).await?;
        self.insert_events_of_kind(at, actor, kind, events).await?;
        self.create_indexes(restore).await
    }

    async fn insert_events_of_kind(
        &mut self,
        at: Timestamp,
        actor: &str,
        kind: &str,
        events: Vec<(i64, String)>,
    ) -> Result<(), StoreError> {
        let consts = [Value::text(format_timestamp(at)), Value::text(actor), Value::text(kind)];
        if self.backend() == crate::Backend::Sqlite {
            for chunk in events.chunks(crate::SQLITE_BULK_ROWS) {
                let rows: Vec<Vec<Value>> =
                    chunk.iter().map(|(a, d)| vec![Value::int(*a), Value::text(d)]).collect();
                let (_, json) = crate::sqlite_bulk(2, &rows);
                let mut values = vec![json];
                values.extend(consts.iter().cloned());
                self.execute(
                    "INSERT INTO asset_events (asset_id, at, actor, kind, detail) \
                     SELECT j.value ->> 0, $2, $3, $4, j.value ->> 1 FROM jsonb_each($1) AS j ORDER BY j.key"
                        .into(),
                    values,
                )
                .await?;
            }
            return Ok(());
        }
        let mut events = events.into_iter();
        loop {
            let (ids, details): (Vec<Option<i64>>, Vec<Option<String>>) =
                events.by_ref().take(crate::PG_BULK_ROWS).map(|(a, d)| (Some(a), Some(d))).unzip();
            if ids.is_empty() {
                return Ok(());
            }
            let mut values = vec![Value::Ints(ids), Value::Texts(details)];
            values.extend(consts.iter().cloned());
            self.execute(
                "INSERT INTO asset_events (asset_id, at, actor, kind, detail) \
                 SELECT u.a, $3, $4, $5, u.d FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS u(a, d, n) \
                 ORDER BY u.n"
                    .into(),
                values,
            )
            .await?;
        }
    }

    pub async fn asset_events(&mut self, asset_id: i64) -> Result<Vec<AssetEvent>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT id, asset_id, at, actor, kind, detail FROM asset_events WHERE asset_id = $1 ORDER BY id"
                    .into(),
                vec![Value::int(asset_id)],
            )
            .await?;
        rows.iter().map(|r| event_from_row(&**r)).collect()
    }

    /// Events of one kind, oldest first (custody history across assets, check-ins of a leaver's assets).
    pub async fn asset_events_of_kind(&mut self, kinds: &[&str]) -> Result<Vec<AssetEvent>, StoreError> {
        let mut values = Vec::new();
        let ph: Vec<String> = kinds
            .iter()
            .map(|k| {
                values.push(Value::text(*k));
                format!("${}", values.len())
            })
            .collect();
        let sql = format!(
            "SELECT id, asset_id, at, actor, kind, detail FROM asset_events WHERE kind IN ({}) ORDER BY id",
            ph.join(", ")
        );
        let rows = self.fetch_all(sql, values).await?;
        rows.iter().map(|r| event_from_row(&**r)).collect()
    }

    pub async fn insert_relation(
        &mut self,
        asset_id: i64,
        kind: &str,
        to_asset: Option<i64>,
        to_service: Option<i64>,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let r = self
            .fetch_optional(
                "INSERT INTO asset_relations (asset_id, kind, to_asset_id, to_service_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id"
                    .into(),
                vec![
                    Value::int(asset_id),
                    Value::text(kind),
                    Value::Int(to_asset),
                    Value::Int(to_service),
                    Value::text(format_timestamp(now)),
                ],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        r.int("id")
    }

    pub async fn end_relation(&mut self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        Ok(self
            .execute(
                "UPDATE asset_relations SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL".into(),
                vec![Value::text(format_timestamp(now)), Value::int(id)],
            )
            .await?
            == 1)
    }

    /// Relationships in force (not ended).
    /// Active relationships from any of `assets` (`from`) or to any of them (not `from`), through the indexes
    /// on either end; a graph walk asks for one level at a time.
    pub async fn relations_of(&mut self, assets: &[i64], from: bool) -> Result<Vec<RelationRow>, StoreError> {
        let col = if from { "asset_id" } else { "to_asset_id" };
        let mut out = Vec::new();
        for chunk in assets.chunks(500) {
            let mut values = Vec::new();
            let cond = in_clause(col, chunk, &mut values);
            out.extend(self.relations_where(&cond, values).await?);
        }
        Ok(out)
    }

    async fn relations_where(
        &mut self,
        cond: &str,
        values: Vec<Value>,
    ) -> Result<Vec<RelationRow>, StoreError> {
        let rows = self
            .fetch_all(
                format!(
                    "SELECT id, asset_id, kind, to_asset_id, to_service_id, created_at, ended_at FROM asset_relations \
                     WHERE ended_at IS NULL AND {cond} ORDER BY id"
                ),
                values,
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RelationRow {
                    id: r.int("id")?,
                    asset_id: r.int("asset_id")?,
                    kind: r.text("kind")?,
                    to_asset_id: r.opt_int("to_asset_id")?,
                    to_service_id: r.opt_int("to_service_id")?,
                    created_at: ts(&**r, "created_at")?,
                    ended_at: opt_ts(&**r, "ended_at")?,
                })
            })
            .collect()
    }

    pub async fn insert_asset_cost(&mut self, c: &AssetCostRow, now: Timestamp) -> Result<i64, StoreError> {
        let r = self
            .fetch_optional(
                "INSERT INTO asset_costs (asset_id, cost_date, kind, amount, currency, reference, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
                    .into(),
                vec![
                    Value::int(c.asset_id),
                    Value::text(&c.cost_date),
                    Value::text(&c.kind),
                    Value::text(&c.amount),
                    Value::text(&c.currency),
                    Value::Text(c.reference.clone()),
                    Value::text(format_timestamp(now)),
                ],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        r.int("id")
    }

    pub async fn asset_costs(&mut self, asset_id: Option<i64>) -> Result<Vec<AssetCostRow>, StoreError> {
        let (filter, values) = match asset_id {
            Some(a) => (" WHERE asset_id = $1", vec![Value::int(a)]),
            None => ("", vec![]),
        };
        let sql = format!(
            "SELECT id, asset_id, cost_date, kind, amount, currency, reference FROM asset_costs{filter} ORDER BY id"
        );
        let rows = self.fetch_all(sql, values).await?;
        rows.iter()
            .map(|r| {
                Ok(AssetCostRow {
                    id: r.int("id")?,
                    asset_id: r.int("asset_id")?,
                    cost_date: r.text("cost_date")?,
                    kind: r.text("kind")?,
                    amount: r.text("amount")?,
                    currency: r.text("currency")?,
                    reference: r.opt_text("reference")?,
                })
            })
            .collect()
    }

    pub async fn insert_contract(&mut self, c: &ContractRow, now: Timestamp) -> Result<i64, StoreError> {
        let n = CONTRACT_COLUMNS.len();
        let ph: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO contracts ({}, version, created_at, updated_at) VALUES ({}, 1, ${}, ${}) RETURNING id",
            CONTRACT_COLUMNS.join(", "),
            ph.join(", "),
            n + 1,
            n + 1
        );
        let mut values = contract_values(c);
        values.push(Value::text(format_timestamp(now)));
        let r = self.fetch_optional(sql, values).await?.ok_or(StoreError::NotFound)?;
        let id = r.int("id")?;
        self.set_contract_assets(id, &c.asset_ids).await?;
        Ok(id)
    }

    pub async fn update_contract(&mut self, c: &ContractRow, now: Timestamp) -> Result<bool, StoreError> {
        let n = CONTRACT_COLUMNS.len();
        let sets: Vec<String> =
            CONTRACT_COLUMNS.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
        let sql = format!(
            "UPDATE contracts SET {}, version = version + 1, updated_at = ${} WHERE id = ${} AND version = ${}",
            sets.join(", "),
            n + 1,
            n + 2,
            n + 3
        );
        let mut values = contract_values(c);
        values.push(Value::text(format_timestamp(now)));
        values.push(Value::int(c.id));
        values.push(Value::int(c.version));
        if self.execute(sql, values).await? != 1 {
            return Ok(false);
        }
        self.set_contract_assets(c.id, &c.asset_ids).await?;
        Ok(true)
    }

    /// Archives a contract (`at` set) or restores it (`None`); false when it changed since `version`.
    pub async fn set_contract_archived(
        &mut self,
        id: i64,
        version: i64,
        at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE contracts SET archived_at = $1, version = version + 1, updated_at = $2 WHERE id = $3 \
                 AND version = $4"
                    .into(),
                vec![
                    Value::Text(at.map(format_timestamp)),
                    Value::text(format_timestamp(now)),
                    Value::int(id),
                    Value::int(version),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn set_contract_assets(&mut self, id: i64, assets: &[i64]) -> Result<(), StoreError> {
        self.execute("DELETE FROM contract_assets WHERE contract_id = $1".into(), vec![Value::int(id)])
            .await?;
        let rows = assets.iter().map(|a| vec![Value::int(id), Value::int(*a)]).collect();
        self.insert_many("INSERT INTO contract_assets (contract_id, asset_id)", 2, rows).await
    }

    pub async fn contracts(&mut self) -> Result<Vec<ContractRow>, StoreError> {
        let sql = format!(
            "SELECT id, {}, version, archived_at FROM contracts ORDER BY end_date, id",
            CONTRACT_COLUMNS.join(", ")
        );
        let rows = self.fetch_all(sql, vec![]).await?;
        let mut out: Vec<ContractRow> =
            rows.iter().map(|r| contract_from_row(&**r)).collect::<Result<_, _>>()?;
        let links = self
            .fetch_all(
                "SELECT contract_id, asset_id FROM contract_assets ORDER BY contract_id, asset_id".into(),
                vec![],
            )
            .await?;
        let mut by: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
        for l in links.iter() {
            by.entry(l.int("contract_id")?).or_default().push(l.int("asset_id")?);
        }
        for c in &mut out {
            c.asset_ids = by.remove(&c.id).unwrap_or_default();
        }
        Ok(out)
    }

    pub async fn start_audit(
        &mut self,
        location_id: i64,
        by: &str,
        expected: &[i64],
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let r = self
            .fetch_optional(
                "INSERT INTO asset_audits (location_id, status, started_by, started_at, expected) \
                 VALUES ($1, 'open', $2, $3, $4) RETURNING id"
                    .into(),
                vec![
                    Value::int(location_id),
                    Value::text(by),
                    Value::text(format_timestamp(now)),
                    Value::text(serde_json::to_string(expected).unwrap_or_default()),
                ],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        r.int("id")
    }

    pub async fn close_audit(&mut self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        Ok(self
            .execute(
                "UPDATE asset_audits SET status = 'closed', closed_at = $1 WHERE id = $2 AND status = 'open'"
                    .into(),
                vec![Value::text(format_timestamp(now)), Value::int(id)],
            )
            .await?
            == 1)
    }

    pub async fn audits(&mut self, id: Option<i64>) -> Result<Vec<AuditRow>, StoreError> {
        let (filter, values) = match id {
            Some(i) => (" WHERE id = $1", vec![Value::int(i)]),
            None => ("", vec![]),
        };
        let sql = format!(
            "SELECT id, location_id, status, started_by, started_at, closed_at, expected FROM asset_audits{filter} ORDER BY id"
        );
        let rows = self.fetch_all(sql, values).await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRow {
                    id: r.int("id")?,
                    location_id: r.int("location_id")?,
                    status: r.text("status")?,
                    started_by: r.text("started_by")?,
                    started_at: ts(&**r, "started_at")?,
                    closed_at: opt_ts(&**r, "closed_at")?,
                    expected: serde_json::from_str(&r.text("expected")?)
                        .map_err(|e| StoreError::Corrupt(format!("expected: {e}")))?,
                })
            })
            .collect()
    }

    pub async fn insert_scan(&mut self, s: &ScanRow) -> Result<i64, StoreError> {
        let r = self
            .fetch_optional(
                "INSERT INTO asset_audit_scans (audit_id, input, asset_id, result, scanned_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id"
                    .into(),
                vec![
                    Value::int(s.audit_id),
                    Value::text(&s.input),
                    Value::Int(s.asset_id),
                    Value::text(&s.result),
                    Value::text(format_timestamp(s.scanned_at)),
                ],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        r.int("id")
    }

    pub async fn scans(&mut self, audit_id: i64) -> Result<Vec<ScanRow>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT id, audit_id, input, asset_id, result, scanned_at FROM asset_audit_scans WHERE audit_id = $1 ORDER BY id"
                    .into(),
                vec![Value::int(audit_id)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ScanRow {
                    id: r.int("id")?,
                    audit_id: r.int("audit_id")?,
                    input: r.text("input")?,
                    asset_id: r.opt_int("asset_id")?,
                    result: r.text("result")?,
                    scanned_at: ts(&**r, "scanned_at")?,
                })
            })
            .collect()
    }

    /// Asset ids at a location that should be found there (for an audit's expected list): in stock, in use, or
    /// missing from there. An asset on loan, in repair or in transit is away by its state, and is not expected.
    pub async fn asset_ids_at(&mut self, location_id: i64) -> Result<Vec<i64>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT id FROM assets WHERE location_id = $1 AND state IN ('in-stock', 'in-use', 'missing') ORDER BY id"
                    .into(),
                vec![Value::int(location_id)],
            )
            .await?;
        rows.iter().map(|r| r.int("id")).collect()
    }

    /// Refreshes the planner's statistics after a bulk load.
    pub async fn analyze_assets(&mut self) -> Result<(), StoreError> {
        self.execute("ANALYZE assets".into(), vec![]).await.map(|_| ())
    }
}

fn event_from_row(r: &dyn RowGet) -> Result<AssetEvent, StoreError> {
    Ok(AssetEvent {
        id: r.int("id")?,
        asset_id: r.int("asset_id")?,
        at: ts(r, "at")?,
        actor: r.text("actor")?,
        kind: r.text("kind")?,
        detail: serde_json::from_str(&r.text("detail")?)
            .map_err(|e| StoreError::Corrupt(format!("detail: {e}")))?,
    })
}
