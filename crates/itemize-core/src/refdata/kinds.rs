//! The five reference-data kinds, their fields and their invariants.

use super::{FieldType, Kind, ListSpec, RefKind, Reference};
use crate::country::Country;
use crate::validate::{Problems, email};
use crate::{CostCentreId, Currency, FieldError, LocationId, PersonId, ServiceId, VendorId};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

const NAME_MAX: usize = 200;

/// Declares a closed set of lower-case values with `FromStr`, `Display` and serde in that spelling.
macro_rules! value_set {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let norm = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
                match norm.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "`{}` is not one of: {}",
                        s,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

value_set!(
    /// How much the business suffers when a service is down.
    Criticality { Critical => "critical", High => "high", Medium => "medium", Low => "low" }
);
value_set!(
    /// Whether a person still works here.
    PersonStatus { Active => "active", Leaver => "leaver" }
);
value_set!(
    /// What a location is.
    LocationKind {
        Site => "site", Building => "building", Floor => "floor", Room => "room",
        DataCentre => "data_centre", Remote => "remote"
    }
);

fn reference(out: &mut Vec<Reference>, field: &'static str, kind: Kind, id: Option<i64>) {
    if let Some(id) = id {
        out.push(Reference { field, kind, id });
    }
}

// ---------------------------------------------------------------------------------------------------------

/// A cost centre: where costs are budgeted and owned. Cost centres form a hierarchy through `parent_id`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostCentre {
    pub code: String,
    pub name: String,
    pub parent_id: Option<CostCentreId>,
    /// The person accountable for the cost centre's spend.
    pub owner_id: Option<PersonId>,
    /// The currency the cost centre budgets in.
    pub currency: Currency,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostCentreInput {
    code: Option<String>,
    name: Option<String>,
    parent_id: Option<i64>,
    owner_id: Option<i64>,
    currency: Option<String>,
}

impl RefKind for CostCentre {
    type Id = CostCentreId;
    type Input = CostCentreInput;
    const KIND: Kind = Kind::CostCentre;
    const NATURAL_KEY: &'static str = "code";
    const LIST: ListSpec = ListSpec {
        sorts: &["code", "name", "id", "updated_at"],
        filters: &[("parent_id", FieldType::Id), ("owner_id", FieldType::Id), ("currency", FieldType::Text)],
        search: &["code", "name"],
    };

    fn validate(i: CostCentreInput) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let code = p.code("code", i.code);
        let name = p.required_text("name", i.name, NAME_MAX);
        let parent_id = p.id("parent_id", i.parent_id);
        let owner_id = p.id("owner_id", i.owner_id);
        let currency = p.parsed::<Currency>("currency", i.currency, true);
        p.finish(|| CostCentre {
            code: code.unwrap_or_default(),
            name: name.unwrap_or_default(),
            parent_id: parent_id.map(CostCentreId::new),
            owner_id: owner_id.map(PersonId::new),
            currency: currency.unwrap_or(Currency::USD),
        })
    }

    fn natural_key(&self) -> String {
        self.code.to_lowercase()
    }

    fn references(&self) -> Vec<Reference> {
        let mut r = Vec::new();
        reference(&mut r, "parent_id", Kind::CostCentre, self.parent_id.map(i64::from));
        reference(&mut r, "owner_id", Kind::Person, self.owner_id.map(i64::from));
        r
    }
}

// ---------------------------------------------------------------------------------------------------------

/// A business service: what the business consumes (the engineering view). Owned by a cost centre.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub code: String,
    pub name: String,
    pub owner_cost_centre_id: CostCentreId,
    pub criticality: Criticality,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    code: Option<String>,
    name: Option<String>,
    owner_cost_centre_id: Option<i64>,
    criticality: Option<String>,
    description: Option<String>,
}

impl RefKind for Service {
    type Id = ServiceId;
    type Input = ServiceInput;
    const KIND: Kind = Kind::Service;
    const NATURAL_KEY: &'static str = "code";
    const LIST: ListSpec = ListSpec {
        sorts: &["code", "name", "criticality", "id", "updated_at"],
        filters: &[("owner_cost_centre_id", FieldType::Id), ("criticality", FieldType::Text)],
        search: &["code", "name"],
    };

    fn validate(i: ServiceInput) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let code = p.code("code", i.code);
        let name = p.required_text("name", i.name, NAME_MAX);
        let owner = p.id("owner_cost_centre_id", i.owner_cost_centre_id);
        if i.owner_cost_centre_id.is_none() {
            p.add("owner_cost_centre_id", "is required");
        }
        let criticality = p.parsed::<Criticality>("criticality", i.criticality, true);
        let description =
            p.optional_text("description", i.description.map(|d| d.replace(['\r', '\n'], " ")), 2000);
        p.finish(|| Service {
            code: code.unwrap_or_default(),
            name: name.unwrap_or_default(),
            owner_cost_centre_id: CostCentreId::new(owner.unwrap_or_default()),
            criticality: criticality.unwrap_or(Criticality::Medium),
            description,
        })
    }

    fn natural_key(&self) -> String {
        self.code.to_lowercase()
    }

    fn references(&self) -> Vec<Reference> {
        let mut r = Vec::new();
        reference(&mut r, "owner_cost_centre_id", Kind::CostCentre, Some(self.owner_cost_centre_id.get()));
        r
    }
}

// ---------------------------------------------------------------------------------------------------------

/// A person: an employee or contractor who holds assets and belongs to a cost centre.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    pub employee_id: String,
    pub name: String,
    pub email: String,
    pub job_title: Option<String>,
    pub cost_centre_id: Option<CostCentreId>,
    pub location_id: Option<LocationId>,
    pub manager_id: Option<PersonId>,
    pub status: PersonStatus,
    /// The last working day. Required for a leaver; on an active person it is a scheduled departure.
    pub leave_date: Option<Date>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    employee_id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    job_title: Option<String>,
    cost_centre_id: Option<i64>,
    location_id: Option<i64>,
    manager_id: Option<i64>,
    status: Option<String>,
    leave_date: Option<String>,
}

impl RefKind for Person {
    type Id = PersonId;
    type Input = PersonInput;
    const KIND: Kind = Kind::Person;
    const NATURAL_KEY: &'static str = "employee_id";
    const LIST: ListSpec = ListSpec {
        sorts: &["name", "employee_id", "email", "status", "id", "updated_at"],
        filters: &[
            ("cost_centre_id", FieldType::Id),
            ("location_id", FieldType::Id),
            ("manager_id", FieldType::Id),
            ("status", FieldType::Text),
        ],
        search: &["name", "email", "employee_id"],
    };

    fn validate(i: PersonInput) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let employee_id = p.code("employee_id", i.employee_id);
        let name = p.required_text("name", i.name, NAME_MAX);
        let email = email(&mut p, "email", i.email);
        let job_title = p.optional_text("job_title", i.job_title, NAME_MAX);
        let cost_centre_id = p.id("cost_centre_id", i.cost_centre_id);
        let location_id = p.id("location_id", i.location_id);
        let manager_id = p.id("manager_id", i.manager_id);
        let status = i.status.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "active".into());
        let status = p.parsed::<PersonStatus>("status", Some(status), true);
        let leave_date = p.date("leave_date", i.leave_date, false);
        if status == Some(PersonStatus::Leaver) && leave_date.is_none() && !p.has("leave_date") {
            p.add("leave_date", "is required when status is leaver");
        }
        p.finish(|| Person {
            employee_id: employee_id.unwrap_or_default(),
            name: name.unwrap_or_default(),
            email: email.unwrap_or_default(),
            job_title,
            cost_centre_id: cost_centre_id.map(CostCentreId::new),
            location_id: location_id.map(LocationId::new),
            manager_id: manager_id.map(PersonId::new),
            status: status.unwrap_or(PersonStatus::Active),
            leave_date,
        })
    }

    fn natural_key(&self) -> String {
        self.employee_id.to_lowercase()
    }

    fn references(&self) -> Vec<Reference> {
        let mut r = Vec::new();
        reference(&mut r, "cost_centre_id", Kind::CostCentre, self.cost_centre_id.map(i64::from));
        reference(&mut r, "location_id", Kind::Location, self.location_id.map(i64::from));
        reference(&mut r, "manager_id", Kind::Person, self.manager_id.map(i64::from));
        r
    }
}

// ---------------------------------------------------------------------------------------------------------

/// A location: a site, building, floor, room or data centre, in a hierarchy through `parent_id`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Location {
    pub code: String,
    pub name: String,
    pub kind: LocationKind,
    pub parent_id: Option<LocationId>,
    pub country: Country,
    pub city: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    code: Option<String>,
    name: Option<String>,
    kind: Option<String>,
    parent_id: Option<i64>,
    country: Option<String>,
    city: Option<String>,
}

impl RefKind for Location {
    type Id = LocationId;
    type Input = LocationInput;
    const KIND: Kind = Kind::Location;
    const NATURAL_KEY: &'static str = "code";
    const LIST: ListSpec = ListSpec {
        sorts: &["code", "name", "country", "id", "updated_at"],
        filters: &[("parent_id", FieldType::Id), ("country", FieldType::Text), ("kind", FieldType::Text)],
        search: &["code", "name", "city"],
    };

    fn validate(i: LocationInput) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let code = p.code("code", i.code);
        let name = p.required_text("name", i.name, NAME_MAX);
        let kind = i.kind.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "site".into());
        let kind = p.parsed::<LocationKind>("kind", Some(kind), true);
        let parent_id = p.id("parent_id", i.parent_id);
        let country = p.parsed::<Country>("country", i.country, true);
        let city = p.optional_text("city", i.city, NAME_MAX);
        p.finish(|| Location {
            code: code.unwrap_or_default(),
            name: name.unwrap_or_default(),
            kind: kind.unwrap_or(LocationKind::Site),
            parent_id: parent_id.map(LocationId::new),
            country: country.unwrap_or_else(|| "US".parse().unwrap_or_else(|_| unreachable!())),
            city,
        })
    }

    fn natural_key(&self) -> String {
        self.code.to_lowercase()
    }

    fn references(&self) -> Vec<Reference> {
        let mut r = Vec::new();
        reference(&mut r, "parent_id", Kind::Location, self.parent_id.map(i64::from));
        r
    }
}

// ---------------------------------------------------------------------------------------------------------

/// A vendor: who we buy from. Aliases are the other spellings a bill or invoice uses for the same vendor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vendor {
    pub name: String,
    pub aliases: Vec<String>,
    pub website: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorInput {
    name: Option<String>,
    aliases: Option<Vec<String>>,
    website: Option<String>,
}

impl RefKind for Vendor {
    type Id = VendorId;
    type Input = VendorInput;
    const KIND: Kind = Kind::Vendor;
    const NATURAL_KEY: &'static str = "name";
    const LIST: ListSpec =
        ListSpec { sorts: &["name", "id", "updated_at"], filters: &[], search: &["name", "aliases"] };

    fn validate(i: VendorInput) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let name = p.required_text("name", i.name, NAME_MAX);
        let mut aliases: Vec<String> = Vec::new();
        for (n, a) in i.aliases.unwrap_or_default().into_iter().enumerate() {
            let field = format!("aliases[{n}]");
            if let Some(a) = p.optional_text(&field, Some(a), NAME_MAX) {
                if a.contains(';') {
                    p.add(&field, "must not contain `;` (it separates aliases in CSV files)");
                } else if !aliases.iter().any(|x| x.eq_ignore_ascii_case(&a))
                    && name.as_ref().is_none_or(|nm| !nm.eq_ignore_ascii_case(&a))
                {
                    aliases.push(a);
                }
            }
        }
        let website = p.optional_text("website", i.website, 500);
        if let Some(w) = &website
            && !(w.starts_with("https://") || w.starts_with("http://"))
        {
            p.add("website", "must start with https:// or http://");
        }
        p.finish(|| Vendor { name: name.unwrap_or_default(), aliases, website })
    }

    fn natural_key(&self) -> String {
        self.name.to_lowercase()
    }

    fn references(&self) -> Vec<Reference> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn person_reports_every_problem_by_field() {
        let errs = Person::from_json(json!({
            "employee_id": "E 1", "email": "nope", "status": "gone", "leave_date": "2026-02-30"
        }))
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["employee_id", "name", "email", "status", "leave_date"]);
    }

    #[test]
    fn leaver_needs_a_leave_date() {
        let errs = Person::from_json(json!({
            "employee_id": "E1", "name": "Ann", "email": "ann@corp.example", "status": "Leaver"
        }))
        .unwrap_err();
        assert_eq!(errs, vec![FieldError::new("leave_date", "is required when status is leaver")]);
    }

    #[test]
    fn unknown_and_mistyped_fields_are_named() {
        let errs = CostCentre::from_json(json!({"code": "X", "nme": "typo"})).unwrap_err();
        assert_eq!(errs, vec![FieldError::new("nme", "is not a known field")]);
        let errs = CostCentre::from_json(json!({"code": "X", "parent_id": "seven"})).unwrap_err();
        assert_eq!(errs[0].field, "parent_id");
    }

    #[test]
    fn fields_round_trip_through_json() {
        let v = Vendor::from_json(json!({
            "name": "Amazon Web Services", "aliases": ["AWS", "aws", " Amazon Web Services EMEA SARL "]
        }))
        .unwrap();
        assert_eq!(v.aliases, ["AWS", "Amazon Web Services EMEA SARL"]);
        assert_eq!(Vendor::from_json(v.to_json()).unwrap(), v);
        let l = Location::from_json(
            json!({"code": "LON", "name": "London", "country": "gb", "kind": "Data Centre"}),
        )
        .unwrap();
        assert_eq!((l.country.code(), l.kind), ("GB", LocationKind::DataCentre));
        assert_eq!(Location::from_json(l.to_json()).unwrap(), l);
    }
}
