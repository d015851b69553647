//! Custom fields an administrator defines per asset class: typed (text, number, date, choice) and validated
//! like the built-in ones.

use super::AssetClass;
use crate::FieldError;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::str::FromStr;

/// A custom field's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum CustomKind {
    Text,
    Number,
    Date,
    Enum { options: Vec<String> },
}

/// A custom field's definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    /// The key in an asset's `custom` object: lower-case letters, digits and `_`.
    pub key: String,
    pub label: String,
    /// The class it belongs to; none means every class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<AssetClass>,
    #[serde(flatten)]
    pub kind: CustomKind,
    #[serde(default)]
    pub required: bool,
}

impl CustomField {
    /// Checks a definition's own shape.
    pub fn check(&self) -> Result<(), Vec<FieldError>> {
        let mut errs = Vec::new();
        let ok_key = !self.key.is_empty()
            && self.key.len() <= 40
            && self.key.starts_with(|c: char| c.is_ascii_lowercase())
            && self.key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok_key {
            errs.push(FieldError::new(
                "key",
                "must be 1–40 lower-case letters, digits or _, starting with a letter",
            ));
        }
        if self.label.trim().is_empty() {
            errs.push(FieldError::new("label", "is required"));
        }
        if let CustomKind::Enum { options } = &self.kind
            && (options.is_empty() || options.iter().any(|o| o.trim().is_empty()))
        {
            errs.push(FieldError::new("options", "a choice field needs at least one non-empty option"));
        }
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }

    fn applies_to(&self, class: AssetClass) -> bool {
        self.class.is_none_or(|c| c == class)
    }
}

/// Validates an asset's custom values against the definitions for its class, normalizing each value
/// (numbers as decimal strings, dates as `YYYY-MM-DD`). Unknown keys are refused; required ones must be there.
///
/// `kept` is what an update starts from (the asset's values, when its class stays the same): a value it leaves as
/// it was stays, even one a later change of the definitions no longer accepts (the governance lists show it), and
/// a field made required after the asset was registered is not demanded of it until someone sets it — so
/// changing the custom fields never locks an asset against edits of its other fields.
pub fn validate_custom(
    defs: &[CustomField],
    class: AssetClass,
    values: Map<String, Value>,
    kept: Option<&Map<String, Value>>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut out = Map::new();
    let mut errs = Vec::new();
    for (key, value) in values {
        if !value.is_null() && kept.and_then(|k| k.get(&key)) == Some(&value) {
            out.insert(key, value);
            continue;
        }
        let field = format!("custom.{key}");
        let Some(def) = defs.iter().find(|d| d.key == key && d.applies_to(class)) else {
            errs.push(FieldError::new(field, format!("is not a custom field of class {class}")));
            continue;
        };
        let text = match &value {
            Value::Null => continue,
            Value::String(s) if s.trim().is_empty() => continue,
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                errs.push(FieldError::new(field, "must be a single value"));
                continue;
            }
        };
        let normalized = match &def.kind {
            CustomKind::Text if text.chars().count() > 1000 => {
                Err("must be at most 1000 characters".to_string())
            }
            CustomKind::Text => Ok(text),
            CustomKind::Number => Decimal::from_str(&text)
                .map(|d| d.normalize().to_string())
                .map_err(|_| format!("`{text}` is not a number")),
            CustomKind::Date => Date::from_str(&text)
                .map(|d| d.to_string())
                .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD)")),
            CustomKind::Enum { options } => options
                .iter()
                .find(|o| o.eq_ignore_ascii_case(&text))
                .cloned()
                .ok_or_else(|| format!("`{text}` is not one of {}", options.join(", "))),
        };
        match normalized {
            Ok(v) => {
                out.insert(key, Value::String(v));
            }
            Err(msg) => errs.push(FieldError::new(field, msg)),
        }
    }
    for d in defs.iter().filter(|d| d.required && d.applies_to(class)) {
        let never_had = kept.is_some_and(|k| k.get(&d.key).is_none_or(Value::is_null));
        if !out.contains_key(&d.key)
            && !never_had
            && !errs.iter().any(|e| e.field == format!("custom.{}", d.key))
        {
            errs.push(FieldError::new(format!("custom.{}", d.key), format!("is required for class {class}")));
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> Vec<CustomField> {
        serde_json::from_value(json!([
            {"key": "ram_gb", "label": "RAM (GB)", "class": "laptop", "type": "number", "required": true},
            {"key": "imei", "label": "IMEI", "class": "mobile", "type": "text"},
            {"key": "keyboard", "label": "Keyboard", "class": "laptop", "type": "enum", "options": ["UK", "US", "DE"]},
            {"key": "lease_end", "label": "Lease end", "type": "date"}
        ]))
        .unwrap()
    }

    #[test]
    fn values_are_typed_and_normalized() {
        let m = validate_custom(
            &defs(),
            AssetClass::Laptop,
            json!({"ram_gb": 16, "keyboard": "uk", "lease_end": "2027-01-31"}).as_object().unwrap().clone(),
            None,
        )
        .unwrap();
        assert_eq!(m["ram_gb"], "16");
        assert_eq!(m["keyboard"], "UK");
        let e = validate_custom(
            &defs(),
            AssetClass::Laptop,
            json!({"ram_gb": "lots", "keyboard": "FR", "imei": "1", "lease_end": "31/01/2027"})
                .as_object()
                .unwrap()
                .clone(),
            None,
        )
        .unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["custom.imei", "custom.keyboard", "custom.lease_end", "custom.ram_gb"]);
        let e = validate_custom(&defs(), AssetClass::Laptop, Map::new(), None).unwrap_err();
        assert_eq!(e[0].problem, "is required for class laptop");
        assert!(validate_custom(&defs(), AssetClass::Mobile, Map::new(), None).is_ok());
    }

    /// An update keeps what it leaves as it was, though the definitions changed since; what it changes, and a
    /// required field it clears, are checked as ever.
    #[test]
    fn an_update_keeps_values_the_definitions_no_longer_accept() {
        let obj = |v: Value| v.as_object().unwrap().clone();
        // Stored when the keyboard could be FR and before ram_gb was required.
        let kept = obj(json!({"keyboard": "FR", "old_field": "x"}));
        let m = validate_custom(&defs(), AssetClass::Laptop, kept.clone(), Some(&kept)).unwrap();
        assert_eq!(m, kept);
        // Changing it to a value that is not an option is refused.
        let e = validate_custom(&defs(), AssetClass::Laptop, obj(json!({"keyboard": "IT"})), Some(&kept))
            .unwrap_err();
        assert_eq!(e[0].field, "custom.keyboard");
        // A required field the asset had cannot be cleared.
        let had = obj(json!({"ram_gb": "16"}));
        let e = validate_custom(&defs(), AssetClass::Laptop, obj(json!({"ram_gb": null})), Some(&had))
            .unwrap_err();
        assert_eq!(
            (e[0].field.as_str(), e[0].problem.as_str()),
            ("custom.ram_gb", "is required for class laptop")
        );
    }

    #[test]
    fn definitions_are_checked() {
        let bad = CustomField {
            key: "Bad Key".into(),
            label: " ".into(),
            class: None,
            kind: CustomKind::Enum { options: vec![] },
            required: false,
        };
        assert_eq!(bad.check().unwrap_err().len(), 3);
    }
}
