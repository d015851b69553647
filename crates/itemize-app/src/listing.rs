//! Turning a caller's list parameters into a storage query: keyset (cursor) pagination, sort, filters and
//! search. Unknown parameters, bad values and limits out of range are refused, never silently adjusted.

use crate::AppError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use itemize_core::refdata::{FieldType, Record, RefKind};
use itemize_store::{Archived, ListQuery, SortValue, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 1000;

/// Raw list parameters as a caller sent them (query string, form, CLI flags).
#[derive(Debug, Clone, Default)]
pub struct ListParams(pub BTreeMap<String, String>);

impl ListParams {
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Self(pairs.into_iter().collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.insert(key.to_string(), value.into());
        self
    }

    /// Refuses a parameter outside `known`, naming the known ones: a misspelt `dayz=30` is an error, not a
    /// silent default.
    pub fn only(&self, known: &[&str]) -> Result<(), AppError> {
        let problem = if known.is_empty() {
            "is not known here; this takes no parameters".to_string()
        } else {
            format!("is not known here; known parameters: {}", known.join(", "))
        };
        let unknown: Vec<&str> = self.0.keys().map(String::as_str).filter(|k| !known.contains(k)).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = unknown.iter().map(|k| format!("`{k}`")).collect();
        Err(AppError::BadRequest {
            message: format!("query parameter {} {problem}", names.join(", ")),
            details: unknown
                .iter()
                .map(|k| itemize_core::validate::FieldError::new(*k, problem.clone()))
                .collect(),
        })
    }
}

/// One page of records and the cursor of the next page, if there is one.
#[derive(Debug, Clone, Serialize)]
#[serde(bound = "")]
pub struct Page<K: RefKind> {
    pub items: Vec<Record<K>>,
    pub next: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// sort field
    s: String,
    /// descending
    d: bool,
    /// last sort value (text), absent when sorting by id
    v: Option<String>,
    /// last id
    i: i64,
}

const RESERVED: [&str; 5] = ["limit", "cursor", "sort", "q", "archived"];

/// Builds the storage query for kind `K` from `params`.
pub fn query_for<K: RefKind>(params: &ListParams) -> Result<ListQuery, AppError> {
    let spec = K::LIST;
    for key in params.0.keys() {
        if !RESERVED.contains(&key.as_str()) && !spec.filters.iter().any(|(f, _)| f == key) {
            let mut known: Vec<&str> = RESERVED.to_vec();
            known.extend(spec.filters.iter().map(|(f, _)| *f));
            return Err(AppError::bad_param(
                key,
                format!("is not known here; known parameters: {}", known.join(", ")),
            ));
        }
    }
    let limit = parse_limit(params)?;
    let (sort_name, descending) = parse_sort(params, spec.sorts)?;
    let archived = match params.get("archived") {
        None | Some("false") => Archived::Exclude,
        Some("true") | Some("only") => Archived::Only,
        Some("all") => Archived::Include,
        Some(_) => {
            return Err(AppError::bad_param("archived", "must be false, true (only archived) or all"));
        }
    };
    let mut filters = Vec::new();
    for (field, ty) in spec.filters {
        if let Some(v) = params.get(field) {
            let value = match ty {
                FieldType::Id => Value::int(
                    v.parse::<i64>()
                        .map_err(|_| AppError::bad_param(field, format!("`{v}` is not an id")))?,
                ),
                FieldType::Text => Value::text(v),
            };
            filters.push((*field, value));
        }
    }
    let after = parse_after(params, sort_name, descending, false)?;
    Ok(ListQuery {
        filters,
        search: params.get("q").map(str::to_string),
        scope: None,
        archived,
        sort: sort_name,
        descending,
        after,
        limit,
    })
}

/// The `limit` parameter: 1 to {MAX_LIMIT}, {DEFAULT_LIMIT} when absent.
pub(crate) fn parse_limit(params: &ListParams) -> Result<u32, AppError> {
    Ok(match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(AppError::bad_param(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}"),
                ));
            }
        },
    })
}

/// The `sort` parameter (a name from `sorts`, `-` for descending); the first of `sorts` when absent.
pub(crate) fn parse_sort(
    params: &ListParams,
    sorts: &'static [&'static str],
) -> Result<(&'static str, bool), AppError> {
    Ok(match params.get("sort") {
        None => (sorts[0], false),
        Some(s) => {
            let (name, desc) = match s.strip_prefix('-') {
                Some(n) => (n, true),
                None => (s, false),
            };
            let known = sorts.iter().find(|k| **k == name).ok_or_else(|| {
                AppError::bad_param(
                    "sort",
                    format!(
                        "`{s}` is not sortable; sort by one of {} (prefix - for descending)",
                        sorts.join(", ")
                    ),
                )
            })?;
            (*known, desc)
        }
    })
}

/// The `cursor` parameter, checked against the sort it must belong to. `nullable`: the sort column may be empty,
/// so a cursor may continue after a record without a value.
pub(crate) fn parse_after(
    params: &ListParams,
    sort_name: &str,
    descending: bool,
    nullable: bool,
) -> Result<Option<(SortValue, i64)>, AppError> {
    Ok(match params.get("cursor") {
        None => None,
        Some(c) => {
            let cur = decode_cursor(c)?;
            if cur.s != sort_name || cur.d != descending {
                return Err(AppError::bad_param(
                    "cursor",
                    "belongs to a different sort order; start again without it",
                ));
            }
            let v = match (cur.v, sort_name) {
                (None, "id") => SortValue::Int(cur.i),
                (Some(t), s) if s != "id" => SortValue::Text(t),
                (None, _) if nullable => SortValue::Null,
                _ => return Err(AppError::bad_param("cursor", "is not a cursor this server issued")),
            };
            Some((v, cur.i))
        }
    })
}

fn decode_cursor(c: &str) -> Result<Cursor, AppError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| AppError::bad_param("cursor", "is not a cursor this server issued"))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| AppError::bad_param("cursor", "is not a cursor this server issued"))
}

/// The cursor that continues after a record with the given sort value.
pub fn encode_cursor(q: &ListQuery, last_id: i64, last_value: &SortValue) -> String {
    keyset_cursor(q.sort, q.descending, last_id, last_value)
}

/// The cursor continuing after (`last_value`, `last_id`) in a list sorted by `sort`.
pub(crate) fn keyset_cursor(sort: &str, descending: bool, last_id: i64, last_value: &SortValue) -> String {
    let v = match last_value {
        SortValue::Text(t) => Some(t.clone()),
        SortValue::Int(_) | SortValue::Null => None,
    };
    let c = Cursor { s: sort.to_string(), d: descending, v, i: last_id };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use itemize_core::refdata::Person;

    fn params(pairs: &[(&str, &str)]) -> ListParams {
        ListParams::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        assert!(query_for::<Person>(&params(&[("colour", "red")])).is_err());
        assert!(query_for::<Person>(&params(&[("limit", "1001")])).is_err());
        assert!(query_for::<Person>(&params(&[("limit", "0")])).is_err());
        assert!(query_for::<Person>(&params(&[("sort", "salary")])).is_err());
        assert!(query_for::<Person>(&params(&[("cost_centre_id", "x")])).is_err());
        assert!(query_for::<Person>(&params(&[("cursor", "garbage!")])).is_err());
    }

    #[test]
    fn cursor_round_trips_and_is_bound_to_its_sort() {
        let q = query_for::<Person>(&params(&[("sort", "-email"), ("limit", "1000")])).unwrap();
        assert_eq!((q.sort, q.descending, q.limit), ("email", true, 1000));
        let c = encode_cursor(&q, 42, &SortValue::Text("a@b.example".into()));
        let q2 = query_for::<Person>(&params(&[("sort", "-email"), ("cursor", &c)])).unwrap();
        assert_eq!(q2.after, Some((SortValue::Text("a@b.example".into()), 42)));
        assert!(query_for::<Person>(&params(&[("sort", "email"), ("cursor", &c)])).is_err());
        // A hand-made cursor whose value does not fit its sort is refused, not sent to the database.
        let forged = URL_SAFE_NO_PAD.encode(br#"{"s":"name","d":false,"v":null,"i":5}"#);
        assert!(query_for::<Person>(&params(&[("cursor", &forged)])).is_err());
        let forged = URL_SAFE_NO_PAD.encode(br#"{"s":"id","d":false,"v":"x","i":5}"#);
        assert!(query_for::<Person>(&params(&[("sort", "id"), ("cursor", &forged)])).is_err());
    }
}
