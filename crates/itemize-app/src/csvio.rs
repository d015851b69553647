//! CSV import and export of reference data. Import is all-or-nothing: every row is checked first, every
//! problem is reported by row, column, value and reason, and nothing is written unless all rows are good.
//! Rows match existing records by natural key (code, employee id, vendor name); a column absent from the file
//! leaves that field of existing records untouched. Exported files import back unchanged.

use crate::auth::audit;
use crate::refdata::{allow, find_cycle, ids_by_key, vendor_conflicts, vendor_names, visible, visible_ids};
use crate::{App, AppError};
use itemize_core::FieldError;
use itemize_core::auth::{Action, Actor};
use itemize_core::refdata::{
    CostCentre, Kind, Location, Person, Record, RefKind, Service, Vendor, merge_patch,
};
use itemize_ingest::{CsvTable, RowError};
use itemize_store::{Session, StoreError, StoredKind};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};

/// How a CSV column maps to a field.
#[derive(Debug, Clone, Copy)]
pub enum ColumnMap {
    /// The field's value as text.
    Plain(&'static str),
    /// Another record named by its natural key, stored as its id in `field`.
    Ref { field: &'static str, kind: Kind },
    /// A list of text values separated by `;`.
    List(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub map: ColumnMap,
}

const fn plain(name: &'static str) -> Column {
    Column { name, map: ColumnMap::Plain(name) }
}

const fn refers(name: &'static str, field: &'static str, kind: Kind) -> Column {
    Column { name, map: ColumnMap::Ref { field, kind } }
}

const COST_CENTRE_COLUMNS: &[Column] = &[
    plain("code"),
    plain("name"),
    refers("parent_code", "parent_id", Kind::CostCentre),
    refers("owner_employee_id", "owner_id", Kind::Person),
    plain("currency"),
];
const SERVICE_COLUMNS: &[Column] = &[
    plain("code"),
    plain("name"),
    refers("owner_cost_centre_code", "owner_cost_centre_id", Kind::CostCentre),
    plain("criticality"),
    plain("description"),
];
const PERSON_COLUMNS: &[Column] = &[
    plain("employee_id"),
    plain("name"),
    plain("email"),
    plain("job_title"),
    refers("cost_centre_code", "cost_centre_id", Kind::CostCentre),
    refers("location_code", "location_id", Kind::Location),
    refers("manager_employee_id", "manager_id", Kind::Person),
    plain("status"),
    plain("leave_date"),
];
const LOCATION_COLUMNS: &[Column] = &[
    plain("code"),
    plain("name"),
    plain("kind"),
    refers("parent_code", "parent_id", Kind::Location),
    plain("country"),
    plain("city"),
];
const VENDOR_COLUMNS: &[Column] =
    &[plain("name"), Column { name: "aliases", map: ColumnMap::List("aliases") }, plain("website")];

/// The columns of each kind's CSV file; the first is the natural key that matches rows to records.
pub fn columns(kind: Kind) -> &'static [Column] {
    match kind {
        Kind::CostCentre => COST_CENTRE_COLUMNS,
        Kind::Service => SERVICE_COLUMNS,
        Kind::Person => PERSON_COLUMNS,
        Kind::Location => LOCATION_COLUMNS,
        Kind::Vendor => VENDOR_COLUMNS,
    }
}

fn field_of(c: &Column) -> &'static str {
    match c.map {
        ColumnMap::Plain(f) | ColumnMap::List(f) | ColumnMap::Ref { field: f, .. } => f,
    }
}

/// The column that carries `field` (`aliases[2]` is carried by `aliases`).
fn column_for(kind: Kind, field: &str) -> Option<&'static str> {
    let base = field.split('[').next().unwrap_or(field);
    columns(kind).iter().find(|c| field_of(c) == base).map(|c| c.name)
}

/// At most this many row errors are listed in full; the rest are counted.
pub const MAX_LISTED_ERRORS: usize = 100;

/// What an import did, or would have done.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub kind: Kind,
    pub dry_run: bool,
    /// Whether the rows were written (false for a dry run or a refused file).
    pub committed: bool,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// The first [`MAX_LISTED_ERRORS`] problems in full.
    pub errors: Vec<RowError>,
    pub error_count: u64,
    /// How many problems of each reason (with values left out, so alike problems group).
    pub errors_by_column: BTreeMap<String, u64>,
    /// What a translated file (Snipe-IT's) left out or filled in, row by row.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ImportReport {
    fn new(kind: Kind, dry_run: bool) -> Self {
        Self {
            kind,
            dry_run,
            committed: false,
            rows: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            errors: Vec::new(),
            error_count: 0,
            errors_by_column: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    fn error(&mut self, e: RowError) {
        self.error_count += 1;
        *self.errors_by_column.entry(e.column.clone().unwrap_or_else(|| "(row)".into())).or_default() += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(e);
        }
    }

    pub fn is_ok(&self) -> bool {
        self.error_count == 0
    }
}

struct Planned<K: RefKind> {
    line: u64,
    key: String,
    fields: K,
    existing: Option<Record<K>>,
    /// Self-references to records created by this same file: (field, column, natural key).
    deferred: Vec<(&'static str, &'static str, String)>,
    id: Option<i64>,
}

impl App {
    /// Imports a CSV file of `kind`. See the module documentation for the rules.
    /// Scoped users cannot import: a file may touch any cost centre.
    pub async fn import_csv(
        &self,
        actor: &Actor,
        kind: Kind,
        mut input: impl Read,
        dry_run: bool,
    ) -> Result<ImportReport, AppError> {
        unscoped(actor)?;
        // The file is read before the write transaction begins, so a slow reader never holds the database's
        // write lock.
        let mut bytes = Vec::new();
        if let Err(e) = input.read_to_end(&mut bytes) {
            let mut report = ImportReport::new(kind, dry_run);
            report.error(RowError::new(0, None, None, format!("the file could not be read: {e}")));
            return Ok(report);
        }
        let mut tx = self.store().transaction().await?;
        let mut report = self.import_csv_in(&mut tx, actor, kind, bytes.as_slice(), dry_run).await?;
        if report.is_ok() && !dry_run {
            tx.commit().await?;
            report.committed = true;
            self.after_write(kind);
        } else {
            tx.rollback().await?;
        }
        Ok(report)
    }

    /// [`App::import_csv`] inside a transaction the caller holds and ends (its report's `committed` stays
    /// false; after a commit the caller also calls `after_write`).
    pub(crate) async fn import_csv_in(
        &self,
        tx: &mut Session,
        actor: &Actor,
        kind: Kind,
        input: impl Read,
        dry_run: bool,
    ) -> Result<ImportReport, AppError> {
        unscoped(actor)?;
        match kind {
            Kind::CostCentre => self.import_kind::<CostCentre>(tx, actor, input, dry_run).await,
            Kind::Service => self.import_kind::<Service>(tx, actor, input, dry_run).await,
            Kind::Person => self.import_kind::<Person>(tx, actor, input, dry_run).await,
            Kind::Location => self.import_kind::<Location>(tx, actor, input, dry_run).await,
            Kind::Vendor => self.import_kind::<Vendor>(tx, actor, input, dry_run).await,
        }
    }

    /// Writes every record of `kind` the actor may see as CSV in the import format, ordered by natural key.
    pub async fn export_csv(
        &self,
        actor: &Actor,
        kind: Kind,
        out: impl Write,
        include_archived: bool,
    ) -> Result<u64, AppError> {
        match kind {
            Kind::CostCentre => self.export_kind::<CostCentre>(actor, out, include_archived).await,
            Kind::Service => self.export_kind::<Service>(actor, out, include_archived).await,
            Kind::Person => self.export_kind::<Person>(actor, out, include_archived).await,
            Kind::Location => self.export_kind::<Location>(actor, out, include_archived).await,
            Kind::Vendor => self.export_kind::<Vendor>(actor, out, include_archived).await,
        }
    }

    async fn import_kind<K: StoredKind>(
        &self,
        tx: &mut Session,
        actor: &Actor,
        input: impl Read,
        dry_run: bool,
    ) -> Result<ImportReport, AppError> {
        allow::<K>(actor, Action::Write)?;
        let kind = K::KIND;
        let cols = columns(kind);
        let mut report = ImportReport::new(kind, dry_run);
        let known: Vec<&str> = cols.iter().map(|c| c.name).collect();
        let key_col = cols[0].name;
        let mut table = match CsvTable::open(input, &known, &[key_col]) {
            Ok(t) => t,
            Err(e) => {
                report.error(e);
                return Ok(report);
            }
        };
        let mut rows = Vec::new();
        for r in table.rows() {
            match r {
                Ok(row) => rows.push(row),
                Err(e) => report.error(e),
            }
        }
        report.rows = rows.len() as u64 + report.error_count;

        let existing: HashMap<String, Record<K>> =
            tx.all::<K>(true).await?.into_iter().map(|r| (r.fields.natural_key(), r)).collect();
        let mut ref_maps: HashMap<Kind, HashMap<String, i64>> = HashMap::new();
        for c in cols {
            if let ColumnMap::Ref { kind: rk, .. } = c.map
                && rk != kind
                && !ref_maps.contains_key(&rk)
            {
                ref_maps.insert(rk, ids_by_key(tx, rk).await?);
            }
        }
        let mut file_keys: HashMap<String, u64> = HashMap::new();
        for row in &rows {
            let key = row.get(key_col).unwrap_or_default().to_lowercase();
            if !key.is_empty() {
                file_keys.entry(key).or_insert(row.line);
            }
        }

        let mut planned: Vec<Planned<K>> = Vec::new();
        for row in &rows {
            let key_raw = row.get(key_col).unwrap_or_default();
            if key_raw.is_empty() {
                report.error(RowError::new(row.line, Some(key_col), Some(""), "is required"));
                continue;
            }
            let key = key_raw.to_lowercase();
            if file_keys.get(&key) != Some(&row.line) {
                let first = file_keys.get(&key).copied().unwrap_or_default();
                report.error(RowError::new(
                    row.line,
                    Some(key_col),
                    Some(key_raw),
                    format!("appears again; first at row {first}"),
                ));
                continue;
            }
            let mut patch = Map::new();
            let mut deferred = Vec::new();
            let mut row_ok = true;
            for c in cols {
                let Some(v) = row.get(c.name) else { continue };
                let value = match c.map {
                    ColumnMap::Plain(_) => {
                        if v.is_empty() {
                            Value::Null
                        } else {
                            Value::String(v.to_string())
                        }
                    }
                    ColumnMap::List(_) => Value::Array(
                        v.split(';')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(|s| Value::String(s.into()))
                            .collect(),
                    ),
                    ColumnMap::Ref { field, kind: rk } => {
                        if v.is_empty() {
                            Value::Null
                        } else if rk == kind {
                            match existing.get(&v.to_lowercase()) {
                                Some(r) => Value::from(r.id.into()),
                                None if file_keys.contains_key(&v.to_lowercase()) => {
                                    deferred.push((field, c.name, v.to_lowercase()));
                                    Value::Null
                                }
                                None => {
                                    report.error(no_such(row.line, c.name, v, rk));
                                    row_ok = false;
                                    continue;
                                }
                            }
                        } else {
                            match ref_maps.get(&rk).and_then(|m| m.get(&v.to_lowercase())) {
                                Some(id) => Value::from(*id),
                                None => {
                                    report.error(no_such(row.line, c.name, v, rk));
                                    row_ok = false;
                                    continue;
                                }
                            }
                        }
                    }
                };
                patch.insert(field_of(c).to_string(), value);
            }
            if !row_ok {
                continue;
            }
            let current = existing.get(&key).cloned();
            let merged = match &current {
                Some(cur) => {
                    let mut j = cur.fields.to_json();
                    merge_patch(&mut j, &Value::Object(patch));
                    j
                }
                None => {
                    let mut j = Value::Object(patch.into_iter().filter(|(_, v)| !v.is_null()).collect());
                    self.fill_defaults(kind, &mut j);
                    j
                }
            };
            match K::from_json(merged) {
                Ok(fields) => planned.push(Planned {
                    line: row.line,
                    key,
                    fields,
                    existing: current,
                    deferred,
                    id: None,
                }),
                Err(problems) => {
                    for p in problems {
                        report.error(field_error(row, kind, p));
                    }
                }
            }
        }
        if !report.is_ok() {
            return Ok(report);
        }

        let now = self.clock().now();
        // New records first, so that rows referring to records made by this file can find their ids.
        let mut key_ids: HashMap<String, i64> =
            existing.iter().map(|(k, r)| (k.clone(), r.id.into())).collect();
        for p in planned.iter_mut() {
            match &p.existing {
                Some(cur) => p.id = Some(cur.id.into()),
                None => {
                    let rec = match tx.insert(&p.fields, now).await {
                        Ok(r) => r,
                        Err(e) => return Ok(write_failed(report, p.line, kind, &p.fields, e)),
                    };
                    report.created += 1;
                    audit(
                        tx,
                        actor,
                        now,
                        "create",
                        kind.plural(),
                        Some(rec.id.into()),
                        None,
                        Some(&rec.fields.to_json()),
                    )
                    .await?;
                    p.id = Some(rec.id.into());
                    key_ids.insert(p.key.clone(), rec.id.into());
                }
            }
        }
        for p in planned.iter_mut() {
            let mut fields = p.fields.clone();
            if !p.deferred.is_empty() {
                let mut j = fields.to_json();
                for (field, _, key) in &p.deferred {
                    j[*field] = Value::from(key_ids.get(key).copied().unwrap_or_default());
                }
                fields = K::from_json(j).map_err(AppError::Validation)?;
            }
            let id = p.id.unwrap_or_default();
            let version = match &p.existing {
                Some(cur) if cur.fields == fields => {
                    report.unchanged += 1;
                    continue;
                }
                Some(cur) => {
                    report.updated += 1;
                    Some(cur.meta.version)
                }
                None if p.deferred.is_empty() => continue,
                None => None,
            };
            if let Err(e) = tx.update::<K>(id.into(), version, &fields, now).await {
                return Ok(write_failed(report, p.line, kind, &fields, e));
            }
            // A record this file created is updated here only to point at another record the file created.
            let before =
                p.existing.as_ref().map(|r| r.fields.to_json()).unwrap_or_else(|| p.fields.to_json());
            audit(tx, actor, now, "update", kind.plural(), Some(id), Some(&before), Some(&fields.to_json()))
                .await?;
        }

        self.check_written::<K>(tx, &planned, &mut report).await?;
        Ok(report)
    }

    /// Whole-table rules checked after the rows are written, inside the same transaction.
    async fn check_written<K: StoredKind>(
        &self,
        tx: &mut Session,
        planned: &[Planned<K>],
        report: &mut ImportReport,
    ) -> Result<(), AppError> {
        let kind = K::KIND;
        let line_of = |id: i64| planned.iter().find(|p| p.id == Some(id)).map(|p| p.line);
        if let Some(member) = find_cycle(&tx.hierarchy(kind).await?) {
            let col = columns(kind)
                .iter()
                .find(|c| matches!(c.map, ColumnMap::Ref { kind: rk, .. } if rk == kind))
                .map(|c| c.name);
            report.error(RowError::new(
                line_of(member).unwrap_or(0),
                col,
                None,
                format!("makes a cycle: the {} would end up below itself", kind.singular()),
            ));
        }
        if kind == Kind::Vendor {
            let vendors = vendor_names(tx).await?;
            for p in planned {
                for (field, problem) in vendor_conflicts(&vendors, p.id.unwrap_or_default()) {
                    report.error(RowError::new(p.line, column_for(kind, &field), None, problem));
                }
            }
        }
        Ok(())
    }

    async fn export_kind<K: StoredKind>(
        &self,
        actor: &Actor,
        out: impl Write,
        include_archived: bool,
    ) -> Result<u64, AppError> {
        allow::<K>(actor, Action::Read)?;
        let kind = K::KIND;
        let cols = columns(kind);
        let mut s = self.store().session().await?;
        let mut labels: HashMap<Kind, HashMap<i64, String>> = HashMap::new();
        for c in cols {
            if let ColumnMap::Ref { kind: rk, .. } = c.map
                && !labels.contains_key(&rk)
            {
                let mut keys: HashMap<i64, String> = s.natural_keys(rk).await?.into_iter().collect();
                // A scoped actor's export names no record outside their cost centres.
                if let Some(allowed) = visible_ids(&mut s, actor, rk).await? {
                    keys.retain(|id, _| allowed.contains(id));
                }
                labels.insert(rk, keys);
            }
        }
        let mut records = s.all::<K>(include_archived).await?;
        records.retain(|r| visible(actor, Some(r.id.into()), &r.fields));
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
        let io = |e: csv::Error| AppError::Internal(format!("writing CSV: {e}"));
        w.write_record(cols.iter().map(|c| c.name)).map_err(io)?;
        for r in &records {
            let j = r.fields.to_json();
            let cells: Vec<String> = cols
                .iter()
                .map(|c| {
                    let v = &j[field_of(c)];
                    match c.map {
                        ColumnMap::Plain(_) => match v {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => other.to_string(),
                        },
                        ColumnMap::List(_) => v
                            .as_array()
                            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(";"))
                            .unwrap_or_default(),
                        ColumnMap::Ref { kind: rk, .. } => v
                            .as_i64()
                            .and_then(|id| labels.get(&rk).and_then(|m| m.get(&id)).cloned())
                            .unwrap_or_default(),
                    }
                })
                .collect();
            w.write_record(&cells).map_err(io)?;
        }
        w.flush().map_err(|e| AppError::Internal(format!("writing CSV: {e}")))?;
        Ok(records.len() as u64)
    }
}

fn no_such(line: u64, column: &str, value: &str, kind: Kind) -> RowError {
    let key = columns(kind)[0].name.replace('_', " ");
    RowError::new(line, Some(column), Some(value), format!("no {} has {key} `{value}`", kind.singular()))
}

fn field_error(row: &itemize_ingest::Row, kind: Kind, p: FieldError) -> RowError {
    let column = column_for(kind, &p.field);
    let value = column.and_then(|c| row.get(c));
    RowError::new(row.line, Some(column.unwrap_or(p.field.as_str())), value, p.problem)
}

/// A write the database refused (a unique e-mail, say): reported against the row, and nothing is kept.
/// Imports are for users not limited to some cost centres: a file may touch any of them.
fn unscoped(actor: &Actor) -> Result<(), AppError> {
    match actor.scope {
        Some(_) => {
            Err(AppError::Forbidden("imports are for users who are not limited to some cost centres".into()))
        }
        None => Ok(()),
    }
}

fn write_failed<K: RefKind>(
    mut report: ImportReport,
    line: u64,
    kind: Kind,
    fields: &K,
    e: StoreError,
) -> ImportReport {
    match e {
        StoreError::Unique { field } => {
            let value = fields.to_json()[field.as_str()].as_str().map(str::to_string);
            report.error(RowError::new(
                line,
                column_for(kind, &field),
                value.as_deref(),
                format!("another {} already has this {}", kind.singular(), field.replace('_', " ")),
            ));
        }
        other => report.error(RowError::new(line, None, None, format!("could not be written: {other}"))),
    }
    report
}
