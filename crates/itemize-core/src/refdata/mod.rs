//! Reference data that later capabilities hang on: cost centres, business services, people, locations and
//! vendors. Each kind is created, read, updated, archived (never hard-deleted) and listed the same way, so the
//! machinery is generic over [`RefKind`] and each kind only says what its fields are and how they validate.

mod kinds;

pub use kinds::{CostCentre, Criticality, Location, LocationKind, Person, PersonStatus, Service, Vendor};

use crate::FieldError;
use jiff::Timestamp;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use std::fmt;

/// The kinds of reference data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    CostCentre,
    Service,
    Person,
    Location,
    Vendor,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::CostCentre, Kind::Service, Kind::Person, Kind::Location, Kind::Vendor];

    /// The plural, URL-friendly name used in API paths, CLI arguments and file names.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::CostCentre => "cost-centres",
            Kind::Service => "services",
            Kind::Person => "people",
            Kind::Location => "locations",
            Kind::Vendor => "vendors",
        }
    }

    /// A human name for messages ("cost centre 12 not found").
    pub fn singular(self) -> &'static str {
        match self {
            Kind::CostCentre => "cost centre",
            Kind::Service => "business service",
            Kind::Person => "person",
            Kind::Location => "location",
            Kind::Vendor => "vendor",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::CostCentre => "Cost centres",
            Kind::Service => "Business services",
            Kind::Person => "People",
            Kind::Location => "Locations",
            Kind::Vendor => "Vendors",
        }
    }

    pub fn from_plural(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.plural() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.plural())
    }
}

/// The type of a filterable field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Id,
    Text,
}

/// What a list of one kind can be sorted, filtered and searched by. Field names are also column names.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    /// Sortable fields (non-null), the first being the default.
    pub sorts: &'static [&'static str],
    /// Fields that can be filtered by equality.
    pub filters: &'static [(&'static str, FieldType)],
    /// Fields that `q` searches (case-insensitive substring).
    pub search: &'static [&'static str],
}

/// A reference to another record, named by the field that holds it (for existence checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    pub field: &'static str,
    pub kind: Kind,
    pub id: i64,
}

/// A kind of reference data. Implemented by each kind's field struct.
pub trait RefKind: Serialize + Clone + PartialEq + fmt::Debug + Send + Sync + 'static {
    type Id: Copy + From<i64> + Into<i64> + Serialize + fmt::Display + fmt::Debug + PartialEq + Send + Sync;
    /// The raw input shape: every field optional, unknown fields refused.
    type Input: DeserializeOwned;

    const KIND: Kind;
    const LIST: ListSpec;
    /// The unique, human-meaningful key used to match CSV rows to records (code, employee id, name).
    const NATURAL_KEY: &'static str;

    /// Validates a raw input into fields, reporting every problem by field.
    fn validate(input: Self::Input) -> Result<Self, Vec<FieldError>>;

    /// The natural key's value, normalized for matching.
    fn natural_key(&self) -> String;

    /// Records of other kinds (or this one) that these fields point to.
    fn references(&self) -> Vec<Reference>;

    /// Parses a JSON object into validated fields. Type errors and unknown fields are field errors too.
    fn from_json(value: Value) -> Result<Self, Vec<FieldError>> {
        let input: Self::Input =
            serde_path_to_error::deserialize(value).map_err(|e| vec![json_field_error(&e)])?;
        Self::validate(input)
    }

    /// The fields as a JSON object in input shape (what `from_json` accepts).
    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Turns a deserialization error into a field error naming the field.
pub fn json_field_error(e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let msg = e.inner().to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    let path = e.path().to_string();
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        // The path already ends in the unknown field's name where there is one.
        let field = if path == "." { name.to_string() } else { path };
        return FieldError::new(field, "is not a known field");
    }
    // serde's words for a value of the wrong kind or not among the choices, in a user's: "invalid type: string
    // \"E00123\", expected i64" → "`E00123` is text where a whole number is expected"; "unknown variant `burn`,
    // expected one of `recycle`, …" → "`burn` is not one of recycle, …".
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        let given = rest.split('`').next().unwrap_or_default();
        let choices: Vec<&str> = rest
            .split("expected one of ")
            .nth(1)
            .unwrap_or_default()
            .split('`')
            .filter(|c| !c.trim().is_empty() && c.trim() != ",")
            .collect();
        let field = if path == "." { "(body)".to_string() } else { path };
        return FieldError::new(field, format!("`{given}` is not one of {}", choices.join(", ")));
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "another kind of value"));
        let found = match found.strip_prefix("string ") {
            Some(s) => format!("`{}` is text", s.trim_matches('"')),
            None => found.to_string(),
        };
        let expected = match expected {
            "i64" | "u64" | "i32" | "u32" | "u8" | "usize" => "a whole number (an id or a count)",
            "a string" => "text",
            "a boolean" => "true or false",
            other => other,
        };
        let field = if path == "." { "(body)".to_string() } else { path };
        return FieldError::new(field, format!("{found} where {expected} is expected"));
    }
    // A required field left out is named as itself (`disposal.reference: is required`), not as its object.
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let field = if path == "." { name.to_string() } else { format!("{path}.{name}") };
        return FieldError::new(field, "is required");
    }
    let field = if path == "." { "(body)".to_string() } else { path };
    FieldError::new(field, msg)
}

/// Bookkeeping every record carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meta {
    /// Incremented by every change; the basis of the record's ETag.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub archived_at: Option<Timestamp>,
}

/// A stored record of kind `K`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(bound = "")]
pub struct Record<K: RefKind> {
    pub id: K::Id,
    #[serde(flatten)]
    pub fields: K,
    #[serde(flatten)]
    pub meta: Meta,
}

impl<K: RefKind> Record<K> {
    /// A strong entity tag for optimistic concurrency: it changes whenever the record does.
    pub fn etag(&self) -> String {
        format!("\"{}-{}\"", self.id, self.meta.version)
    }
}

/// Applies an RFC 7386 JSON merge patch: members set to `null` are cleared, objects merge, the rest replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serde_refusals_are_said_in_a_users_words() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            assignee_person_id: Option<i64>,
            method: Option<crate::assets::DisposalMethod>,
            reference: String,
        }
        let err = |v: Value| {
            let e = serde_path_to_error::deserialize::<_, Body>(v).unwrap_err();
            let f = json_field_error(&e);
            (f.field, f.problem)
        };
        assert_eq!(
            err(json!({"assignee_person_id": "E00123", "reference": "x"})),
            (
                "assignee_person_id".into(),
                "`E00123` is text where a whole number (an id or a count) is expected".into()
            )
        );
        let (field, problem) = err(json!({"method": "burn", "reference": "x"}));
        assert_eq!(field, "method");
        assert!(problem.starts_with("`burn` is not one of recycle, resell, donate, destroy"), "{problem}");
        assert_eq!(err(json!({})), ("reference".into(), "is required".into()));
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        let mut t = json!({"aliases": ["x", "y"]});
        merge_patch(&mut t, &json!({"aliases": ["z"]}));
        assert_eq!(t, json!({"aliases": ["z"]}));
    }

    #[test]
    fn kinds_round_trip_their_names() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_plural(k.plural()), Some(k));
        }
    }
}
