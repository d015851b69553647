//! The IT asset register's domain: classes, the lifecycle state machine and what each state requires, custom
//! fields, depreciation, and the asset's own validated fields. Pure; the register's storage and use cases live
//! in the store and application crates.

pub mod depreciation;
mod fields;
mod lifecycle;

pub use depreciation::{Convention, Method, Month, Plan, PlanError, StartBasis};
pub use fields::{CustomField, CustomKind, validate_custom};
pub use lifecycle::{
    Custody, Disposal, DisposalMethod, Sanitization, State, Substate, Transition, TransitionInput,
    allowed_from, check_state, check_transition,
};

use crate::validate::Problems;
use crate::{Currency, FieldError};
use depreciation::text_enum;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::str::FromStr;

/// What kind of thing an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssetClass {
    Laptop,
    Desktop,
    Server,
    Network,
    Storage,
    Mobile,
    Peripheral,
    Iot,
    CloudResource,
    Other,
}

text_enum!(AssetClass,
    Laptop => "laptop", Desktop => "desktop", Server => "server", Network => "network",
    Storage => "storage", Mobile => "mobile", Peripheral => "peripheral", Iot => "iot",
    CloudResource => "cloud-resource", Other => "other");

impl AssetClass {
    pub const ALL: [AssetClass; 10] = [
        AssetClass::Laptop,
        AssetClass::Desktop,
        AssetClass::Server,
        AssetClass::Network,
        AssetClass::Storage,
        AssetClass::Mobile,
        AssetClass::Peripheral,
        AssetClass::Iot,
        AssetClass::CloudResource,
        AssetClass::Other,
    ];

    /// hardware, cloud or other.
    pub fn family(self) -> &'static str {
        match self {
            AssetClass::CloudResource => "cloud",
            AssetClass::Other => "other",
            _ => "hardware",
        }
    }

    /// Whether devices of this class hold data, so disposing of one needs a sanitization attestation: computers,
    /// storage and phones, and network gear and IoT devices too (configurations, keys and credentials, recorded
    /// footage; NIST SP 800-88 covers routers and switches). Peripherals, cloud resources and other assets don't.
    pub fn stores_data(self) -> bool {
        matches!(
            self,
            AssetClass::Laptop
                | AssetClass::Desktop
                | AssetClass::Server
                | AssetClass::Storage
                | AssetClass::Mobile
                | AssetClass::Network
                | AssetClass::Iot
        )
    }
}

/// An asset's own fields as a client writes them (custody and state change through transitions).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetInput {
    pub tag: Option<String>,
    pub name: Option<String>,
    pub class: Option<String>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    pub serial: Option<String>,
    pub hostname: Option<String>,
    pub resource_id: Option<String>,
    pub location_id: Option<i64>,
    pub cost_centre_id: Option<i64>,
    pub vendor_id: Option<i64>,
    pub purchase_date: Option<String>,
    pub in_service_date: Option<String>,
    pub purchase_cost: Option<Value>,
    pub currency: Option<String>,
    pub po_number: Option<String>,
    pub invoice_number: Option<String>,
    pub depreciation_method: Option<String>,
    pub depreciation_rate: Option<Value>,
    pub depreciation_convention: Option<String>,
    pub depreciation_start: Option<String>,
    pub useful_life_months: Option<i64>,
    pub salvage_value: Option<Value>,
    pub warranty_end: Option<String>,
    pub end_of_life: Option<String>,
    pub notes: Option<String>,
    pub custom: Option<Map<String, Value>>,
}

/// An asset's validated fields (custody and state are kept beside them, see [`Custody`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetFields {
    pub tag: String,
    pub name: String,
    pub class: AssetClass,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_centre_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_service_date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_cost: Option<Decimal>,
    pub currency: Currency,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub po_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
    pub depreciation_method: Method,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depreciation_rate: Option<Decimal>,
    pub depreciation_convention: Convention,
    pub depreciation_start: StartBasis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub useful_life_months: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salvage_value: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warranty_end: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_of_life: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub custom: Map<String, Value>,
}

/// `text` with its thousands separators taken out, when it has any: commas only between groups of three digits
/// before the decimal point (`1,234.56`, `12,345`). `None` for any other comma (`899,00`, `1.234,56`, `1,2`),
/// which may be a decimal comma: read as a thousands separator it would make 899,00 into 89,900.
pub fn without_thousands(text: &str) -> Option<String> {
    if !text.contains(',') {
        return Some(text.to_string());
    }
    let (int, frac) = text.split_once('.').map_or((text, None), |(i, f)| (i, Some(f)));
    if frac.is_some_and(|f| f.contains(',')) {
        return None;
    }
    let digits = int.trim_start_matches(['-', '+']);
    let mut groups = digits.split(',');
    let first = groups.next().unwrap_or_default();
    let digit_group = |g: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit())
    };
    (digit_group(first, 1..=3) && groups.all(|g| digit_group(g, 3..=3))).then(|| text.replace(',', ""))
}

/// A money amount given as a JSON string or number (strings keep every digit).
fn amount(p: &mut Problems, field: &str, v: Option<Value>, scale: u32) -> Option<Decimal> {
    let text = match v? {
        Value::Null => return None,
        Value::String(s) if s.trim().is_empty() => return None,
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        other => {
            p.add(field, format!("must be a decimal amount, not {other}"));
            return None;
        }
    };
    let Some(cleaned) = without_thousands(text.trim()) else {
        p.add(
            field,
            format!(
                "`{text}`: a comma is read only between thousands (1,234.56); write decimals with a point"
            ),
        );
        return None;
    };
    match Decimal::from_str(&cleaned) {
        Ok(d) if d < Decimal::ZERO => {
            p.add(field, "must not be negative");
            None
        }
        Ok(d) if d.normalize().scale() > scale => {
            p.add(field, format!("has more than {scale} decimal places"));
            None
        }
        Ok(d) => Some(d.normalize()),
        Err(_) => {
            p.add(field, format!("`{text}` is not a decimal amount"));
            None
        }
    }
}

/// A money amount in `currency` (a JSON string or number, `1,234.50` allowed), non-negative, with no more
/// decimal places than the currency has and carried at exactly that many (1200 EUR is 1200.00). Absent or
/// empty is `None` without a problem; a caller that needs it says so.
pub fn money_amount(p: &mut Problems, field: &str, v: Option<Value>, currency: Currency) -> Option<Decimal> {
    let scale = currency.minor_units();
    let d = amount(p, field, v, scale)?;
    // No asset or contract costs a trillion in any currency: such a figure is digits typed twice or a pasted
    // number, and would swamp every total it enters.
    if d.abs() >= Decimal::from(MONEY_LIMIT) {
        p.add(
            field,
            format!("is {d}: more than any asset or contract costs (under 1,000,000,000,000 {currency})"),
        );
        return None;
    }
    let mut d = d;
    d.rescale(scale);
    Some(d)
}

/// Amounts of an asset or a contract are below this, in any currency.
const MONEY_LIMIT: i64 = 1_000_000_000_000;

fn date(p: &mut Problems, field: &str, v: Option<String>) -> Option<Date> {
    p.date(field, v, false)
}

fn text_enum_field<T: FromStr<Err = String>>(p: &mut Problems, field: &str, v: Option<String>) -> Option<T> {
    p.parsed::<T>(field, v, false)
}

impl AssetFields {
    /// Validates an input, collecting every problem. `defs` are the custom fields defined for the class.
    pub fn validate(
        input: AssetInput,
        default_currency: Currency,
        defs: &[CustomField],
    ) -> Result<AssetFields, Vec<FieldError>> {
        Self::validate_over(input, default_currency, defs, None)
    }

    /// Validates an update: `before` is the asset's class and custom values before it (see [`validate_custom`]
    /// for what an update may leave as it was).
    pub fn validate_over(
        input: AssetInput,
        default_currency: Currency,
        defs: &[CustomField],
        before: Option<(AssetClass, &Map<String, Value>)>,
    ) -> Result<AssetFields, Vec<FieldError>> {
        let mut p = Problems::default();
        let tag = p.code("tag", input.tag);
        let name = p.required_text("name", input.name, 200);
        let class = match input.class {
            None => {
                p.add("class", "is required");
                None
            }
            v => text_enum_field::<AssetClass>(&mut p, "class", v),
        };
        let model = p.optional_text("model", input.model, 200);
        let manufacturer = p.optional_text("manufacturer", input.manufacturer, 200);
        let serial = p.optional_text("serial", input.serial, 100);
        let hostname = p.optional_text("hostname", input.hostname, 253).map(|h| h.to_lowercase());
        let resource_id = p.optional_text("resource_id", input.resource_id, 1000);
        let location_id = p.id("location_id", input.location_id);
        let cost_centre_id = p.id("cost_centre_id", input.cost_centre_id);
        let vendor_id = p.id("vendor_id", input.vendor_id);
        let purchase_date = date(&mut p, "purchase_date", input.purchase_date);
        let in_service_date = date(&mut p, "in_service_date", input.in_service_date);
        let currency = p.parsed::<Currency>("currency", input.currency, false).unwrap_or(default_currency);
        let purchase_cost = money_amount(&mut p, "purchase_cost", input.purchase_cost, currency);
        let salvage_value = money_amount(&mut p, "salvage_value", input.salvage_value, currency);
        let po_number = p.optional_text("po_number", input.po_number, 100);
        let invoice_number = p.optional_text("invoice_number", input.invoice_number, 100);
        let depreciation_method =
            text_enum_field::<Method>(&mut p, "depreciation_method", input.depreciation_method);
        let depreciation_rate = amount(&mut p, "depreciation_rate", input.depreciation_rate, 4);
        let depreciation_convention =
            text_enum_field::<Convention>(&mut p, "depreciation_convention", input.depreciation_convention)
                .unwrap_or(Convention::FullMonth);
        let depreciation_start =
            text_enum_field::<StartBasis>(&mut p, "depreciation_start", input.depreciation_start)
                .unwrap_or(StartBasis::Purchase);
        let useful_life_months = match input.useful_life_months {
            None => None,
            Some(n) if (1..=600).contains(&n) => Some(n as u32),
            Some(_) => {
                p.add("useful_life_months", "must be a whole number of months from 1 to 600");
                None
            }
        };
        let warranty_end = date(&mut p, "warranty_end", input.warranty_end);
        let end_of_life = date(&mut p, "end_of_life", input.end_of_life);
        // A life in the organisation that ends before the asset was bought is a typing mistake (a year off, day
        // and month swapped) that would put it on the refresh plan for ever. (A warranty may well have ended
        // before a second-hand asset was bought, and a leased one may be in service before it is bought out.)
        if let (Some(bought), Some(end)) = (purchase_date, end_of_life)
            && end < bought
        {
            p.add("end_of_life", format!("is {end}, before the purchase date ({bought})"));
        }
        let notes = input.notes.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if notes.as_ref().is_some_and(|n| n.chars().count() > 10_000) {
            p.add("notes", "must be at most 10000 characters");
        }
        let depreciation_method =
            depreciation_method.unwrap_or(if purchase_cost.is_some() && useful_life_months.is_some() {
                Method::StraightLine
            } else {
                Method::None
            });
        if depreciation_method != Method::None {
            if purchase_cost.is_none() && !p.has("purchase_cost") {
                p.add("purchase_cost", "is required to depreciate the asset");
            }
            if useful_life_months.is_none() && !p.has("useful_life_months") {
                p.add("useful_life_months", "is required to depreciate the asset");
            }
            let start_date = match depreciation_start {
                StartBasis::Purchase => ("purchase_date", purchase_date),
                StartBasis::InService => ("in_service_date", in_service_date),
            };
            if start_date.1.is_none() && !p.has(start_date.0) {
                p.add(start_date.0, "is required to depreciate the asset from it");
            }
        }
        // A multiple of the straight-line rate: 200 is double declining. At 100 % or less the asset would be
        // straight-line from the first month (40 meant as "40 % a year" is that); above 400 % most of it goes in
        // the first months.
        if depreciation_method == Method::DecliningBalance
            && depreciation_rate.is_some_and(|r| r <= Decimal::from(100) || r > Decimal::from(400))
        {
            p.add(
                "depreciation_rate",
                "must be more than 100 % and at most 400 % of the straight-line rate (200 = double declining)",
            );
        }
        if let (Some(c), Some(s)) = (purchase_cost, salvage_value)
            && s > c
        {
            p.add("salvage_value", "must not exceed the purchase cost");
        }
        if let (Some(b), Some(s)) = (purchase_date, in_service_date)
            && s < b
        {
            p.add("in_service_date", "must not be before the purchase date");
        }
        let custom = match class {
            Some(c) => match validate_custom(
                defs,
                c,
                input.custom.unwrap_or_default(),
                before.filter(|(was, _)| *was == c).map(|(_, kept)| kept),
            ) {
                Ok(m) => m,
                Err(errs) => {
                    for e in errs {
                        p.add(&e.field, e.problem);
                    }
                    Map::new()
                }
            },
            None => Map::new(),
        };
        p.finish(|| AssetFields {
            tag: tag.unwrap_or_default(),
            name: name.unwrap_or_default(),
            class: class.unwrap_or(AssetClass::Other),
            model,
            manufacturer,
            serial,
            hostname,
            resource_id,
            location_id,
            cost_centre_id,
            vendor_id,
            purchase_date,
            in_service_date,
            purchase_cost,
            currency,
            po_number,
            invoice_number,
            depreciation_method,
            depreciation_rate: if depreciation_method == Method::DecliningBalance {
                Some(depreciation_rate.unwrap_or(Decimal::from(200)))
            } else {
                None
            },
            depreciation_convention,
            depreciation_start,
            useful_life_months,
            salvage_value,
            warranty_end,
            end_of_life,
            notes,
            custom,
        })
    }

    /// Parses fields from JSON in input shape (what `to_json` gives back).
    pub fn from_json(
        value: Value,
        default_currency: Currency,
        defs: &[CustomField],
    ) -> Result<AssetFields, Vec<FieldError>> {
        Self::from_json_over(value, default_currency, defs, None)
    }

    /// Parses an update's fields from JSON: `before` as in [`AssetFields::validate_over`].
    pub fn from_json_over(
        value: Value,
        default_currency: Currency,
        defs: &[CustomField],
        before: Option<(AssetClass, &Map<String, Value>)>,
    ) -> Result<AssetFields, Vec<FieldError>> {
        let input: AssetInput = serde_path_to_error::deserialize(value)
            .map_err(|e| vec![crate::refdata::json_field_error(&e)])?;
        AssetFields::validate_over(input, default_currency, defs, before)
    }

    /// The fields as JSON in input shape.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        // Amounts travel as strings so no digit is lost.
        if let Value::Object(m) = &mut v {
            for k in ["purchase_cost", "salvage_value", "depreciation_rate"] {
                if let Some(Value::Number(n)) = m.get(k).cloned() {
                    m.insert(k.to_string(), Value::String(n.to_string()));
                }
            }
        }
        v
    }

    /// The depreciation plan, when the asset is depreciated and has what a plan needs.
    pub fn plan(&self) -> Option<Plan> {
        if self.depreciation_method == Method::None {
            return None;
        }
        let start = match self.depreciation_start {
            StartBasis::Purchase => self.purchase_date,
            StartBasis::InService => self.in_service_date.or(self.purchase_date),
        }?;
        Some(Plan {
            cost: self.purchase_cost?,
            salvage: self.salvage_value.unwrap_or_default(),
            life_months: self.useful_life_months?,
            method: self.depreciation_method,
            rate_percent: self.depreciation_rate.unwrap_or(Decimal::from(200)),
            convention: self.depreciation_convention,
            start,
            scale: self.currency.minor_units(),
        })
    }

    /// The value of a named field for required-field policies and data-quality measures.
    pub fn has_field(&self, field: &str) -> bool {
        match field {
            "model" => self.model.is_some(),
            "manufacturer" => self.manufacturer.is_some(),
            "serial" => self.serial.is_some(),
            "hostname" => self.hostname.is_some(),
            "resource_id" => self.resource_id.is_some(),
            "location_id" | "location" => self.location_id.is_some(),
            "cost_centre_id" | "cost_centre" => self.cost_centre_id.is_some(),
            "vendor_id" | "vendor" => self.vendor_id.is_some(),
            "purchase_date" => self.purchase_date.is_some(),
            "purchase_cost" => self.purchase_cost.is_some(),
            "po_number" => self.po_number.is_some(),
            "invoice_number" => self.invoice_number.is_some(),
            "warranty_end" => self.warranty_end.is_some(),
            "end_of_life" => self.end_of_life.is_some(),
            "useful_life_months" => self.useful_life_months.is_some(),
            other => match other.strip_prefix("custom.") {
                Some(k) => self.custom.get(k).is_some_and(|v| !v.is_null()),
                None => false,
            },
        }
    }
}

/// Fields a required-field policy may name (besides `custom.<key>` and `owner`).
pub const POLICY_FIELDS: [&str; 15] = [
    "model",
    "manufacturer",
    "serial",
    "hostname",
    "location_id",
    "cost_centre_id",
    "vendor_id",
    "purchase_date",
    "purchase_cost",
    "po_number",
    "invoice_number",
    "warranty_end",
    "end_of_life",
    "useful_life_months",
    "resource_id",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eur() -> Currency {
        "EUR".parse().unwrap()
    }

    #[test]
    fn commas_only_separate_thousands() {
        for (given, read) in [
            ("1,234.56", "1234.56"),
            ("12,345", "12345.00"),
            ("899", "899.00"),
            ("1,234,567.5", "1234567.50"),
        ] {
            let a = AssetFields::from_json(
                json!({"tag": "A1", "name": "A", "class": "laptop", "purchase_cost": given}),
                eur(),
                &[],
            )
            .unwrap_or_else(|e| panic!("{given}: {e:?}"));
            assert_eq!(a.purchase_cost.unwrap().to_string(), read, "{given}");
        }
        // A decimal comma is refused, never read as a thousands separator (899,00 would become 89,900).
        for given in ["899,00", "1.234,56", "1,2", ",5", "12,34,567"] {
            let e = AssetFields::from_json(
                json!({"tag": "A1", "name": "A", "class": "laptop", "purchase_cost": given}),
                eur(),
                &[],
            )
            .unwrap_err();
            assert!(e[0].field == "purchase_cost" && e[0].problem.contains("comma"), "{given}: {e:?}");
        }
    }

    #[test]
    fn validates_every_field_at_once() {
        let err = AssetFields::from_json(
            json!({"tag": "bad tag!", "class": "toaster", "purchase_cost": "-3", "useful_life_months": 0,
                   "purchase_date": "2025-02-30", "depreciation_method": "straight-line"}),
            eur(),
            &[],
        )
        .unwrap_err();
        let fields: Vec<&str> = err.iter().map(|e| e.field.as_str()).collect();
        for f in ["tag", "name", "class", "purchase_cost", "useful_life_months", "purchase_date"] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
        let unknown = AssetFields::from_json(json!({"tag": "A1", "colour": "red"}), eur(), &[]).unwrap_err();
        assert_eq!(unknown[0].field, "colour");
        // An end of life before the purchase is refused; a warranty that ended before (a second-hand asset) is not.
        let base = json!({"tag": "A1", "name": "A", "class": "laptop", "purchase_date": "2026-03-01"});
        let with = |k: &str, v: &str| {
            let mut b = base.clone();
            b[k] = json!(v);
            AssetFields::from_json(b, eur(), &[])
        };
        let e = with("end_of_life", "2025-03-01").unwrap_err();
        assert_eq!(
            (e[0].field.as_str(), e[0].problem.as_str()),
            ("end_of_life", "is 2025-03-01, before the purchase date (2026-03-01)")
        );
        assert!(with("end_of_life", "2030-03-01").is_ok());
        assert!(with("warranty_end", "2025-03-01").is_ok());
        // A cost no asset has (digits typed twice) is refused; a large one in a currency of small units is not.
        let e = with("purchase_cost", "99999999999999999999").unwrap_err();
        assert_eq!(e[0].field, "purchase_cost");
        assert!(e[0].problem.contains("more than any asset or contract costs"), "{e:?}");
        let mut b = base.clone();
        b["purchase_cost"] = json!("95000000");
        b["currency"] = json!("KRW");
        assert!(AssetFields::from_json(b, eur(), &[]).is_ok());
    }

    #[test]
    fn round_trips_through_json_and_builds_a_plan() {
        let a = AssetFields::from_json(
            json!({"tag": "LT-0001", "name": "Laptop", "class": "laptop", "purchase_cost": "1,499.00",
                   "purchase_date": "2025-01-15", "useful_life_months": 36, "hostname": "LT-0001.Corp"}),
            eur(),
            &[],
        )
        .unwrap();
        assert_eq!(a.purchase_cost.unwrap().to_string(), "1499.00");
        assert_eq!(a.hostname.as_deref(), Some("lt-0001.corp"));
        assert_eq!(a.depreciation_method, Method::StraightLine);
        assert_eq!(AssetFields::from_json(a.to_json(), eur(), &[]).unwrap(), a);
        let plan = a.plan().unwrap();
        assert_eq!(plan.schedule().unwrap().len(), 36);
        assert!(
            AssetFields::from_json(
                json!({"tag": "X", "name": "x", "class": "other",
            "purchase_cost": "1.005"}),
                eur(),
                &[]
            )
            .is_err()
        );
    }
}

/// A stored asset: its fields, lifecycle state, custody and bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Asset {
    pub id: i64,
    #[serde(flatten)]
    pub fields: AssetFields,
    pub state: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub substate: Option<Substate>,
    #[serde(flatten)]
    pub custody: Custody,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposal: Option<Disposal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_audited_at: Option<jiff::Timestamp>,
    pub version: i64,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

impl Asset {
    pub fn etag(&self) -> String {
        format!("\"{}-{}\"", self.id, self.version)
    }
}
