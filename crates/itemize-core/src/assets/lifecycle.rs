//! The lifecycle as an enforced state machine.
//!
//! ```text
//! requested → on order → in stock (received → tagged) ⇄ in use ⇄ in repair / in transit / on loan
//!                              ↓                          ↓
//!                           retired  ←───────────────────┘  → disposed (terminal)
//! any active state → missing / lost / stolen; missing → found again (in stock or in use) or lost / stolen;
//! lost / stolen → recovered (in stock) or written off (retired)
//! ```
//!
//! Each state says what it needs: in use an assignee, a location or a service; on loan a person and a return
//! date; disposed the method, date, reference and, for devices that store data, a sanitization attestation.

use super::AssetClass;
use super::depreciation::text_enum;
use crate::FieldError;
use crate::validate::Problems;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Requested,
    OnOrder,
    InStock,
    InUse,
    InRepair,
    InTransit,
    OnLoan,
    Retired,
    Disposed,
    Missing,
    Lost,
    Stolen,
}

text_enum!(State,
    Requested => "requested", OnOrder => "on-order", InStock => "in-stock", InUse => "in-use",
    InRepair => "in-repair", InTransit => "in-transit", OnLoan => "on-loan", Retired => "retired",
    Disposed => "disposed", Missing => "missing", Lost => "lost", Stolen => "stolen");

/// The sub-states of in stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Substate {
    Received,
    Tagged,
}

text_enum!(Substate, Received => "received", Tagged => "tagged");

impl State {
    pub const ALL: [State; 12] = [
        State::Requested,
        State::OnOrder,
        State::InStock,
        State::InUse,
        State::InRepair,
        State::InTransit,
        State::OnLoan,
        State::Retired,
        State::Disposed,
        State::Missing,
        State::Lost,
        State::Stolen,
    ];

    /// Held by the organisation and in circulation (from these an asset can go missing).
    pub fn is_active(self) -> bool {
        matches!(self, State::InStock | State::InUse | State::InRepair | State::InTransit | State::OnLoan)
    }

    /// Counted in the register's active estate (owned and not written off).
    pub fn is_owned(self) -> bool {
        !matches!(self, State::Requested | State::OnOrder | State::Disposed | State::Lost | State::Stolen)
    }
}

/// Where an asset may go from `from`.
pub fn allowed_from(from: State) -> &'static [State] {
    use State::*;
    match from {
        Requested => &[OnOrder, Retired],
        OnOrder => &[InStock, Retired],
        InStock => &[InStock, InUse, InRepair, InTransit, OnLoan, Retired, Missing, Lost, Stolen],
        InUse => &[InStock, InRepair, InTransit, OnLoan, Retired, Missing, Lost, Stolen],
        InRepair => &[InStock, InUse, Retired, Missing, Lost, Stolen],
        InTransit => &[InStock, InUse, Missing, Lost, Stolen],
        OnLoan => &[InStock, InUse, Missing, Lost, Stolen],
        Retired => &[Disposed, InStock],
        Disposed => &[],
        Missing => &[InStock, InUse, Lost, Stolen],
        Lost | Stolen => &[InStock, Retired],
    }
}

/// How a device left the organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DisposalMethod {
    Recycle,
    Resell,
    Donate,
    Destroy,
    ReturnToLessor,
}

text_enum!(DisposalMethod, Recycle => "recycle", Resell => "resell", Donate => "donate", Destroy => "destroy",
    ReturnToLessor => "return-to-lessor");

/// An attestation that a device's data was destroyed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sanitization {
    /// The standard or method (e.g. "NIST 800-88 purge", "degauss + shred").
    pub method: String,
    pub attested_by: String,
    pub date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

/// How, when and with what evidence an asset was disposed of. A field it does not know is refused, not dropped
/// (a `certificate` given here would otherwise be lost: it is the reference, or the sanitization's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disposal {
    pub method: DisposalMethod,
    pub date: Date,
    /// A reference or certificate number from the recycler, buyer or lessor (left out, it is refused as
    /// required beside any other problem of the disposal).
    #[serde(default)]
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proceeds: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sanitization: Option<Sanitization>,
}

/// A transition as a client asks for it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    pub to: Option<String>,
    pub substate: Option<String>,
    pub reason: Option<String>,
    pub assignee_person_id: Option<i64>,
    pub location_id: Option<i64>,
    pub service_id: Option<i64>,
    pub expected_return: Option<String>,
    pub disposal: Option<serde_json::Value>,
}

/// A validated transition: the new state and custody.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub to: State,
    pub substate: Option<Substate>,
    pub reason: Option<String>,
    pub assignee_person_id: Option<i64>,
    pub location_id: Option<i64>,
    pub service_id: Option<i64>,
    pub expected_return: Option<Date>,
    pub disposal: Option<Disposal>,
}

/// Where an asset is and who has it, as stored beside its fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Custody {
    pub assignee_person_id: Option<i64>,
    /// The asset's location, which its fields also carry (and an asset's JSON gives once, from them).
    #[serde(skip_serializing)]
    pub location_id: Option<i64>,
    pub service_id: Option<i64>,
    pub expected_return: Option<Date>,
}

fn list(states: &[State]) -> String {
    if states.is_empty() {
        return "none: disposed is final".to_string();
    }
    states.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// Checks that a state's requirements hold for a custody (used by transitions and by edits).
pub fn check_state(
    p: &mut Problems,
    state: State,
    substate: Option<Substate>,
    custody: &Custody,
    disposal: Option<&Disposal>,
    class: AssetClass,
) {
    match state {
        State::InUse
            if custody.assignee_person_id.is_none()
                && custody.location_id.is_none()
                && custody.service_id.is_none() =>
        {
            p.add("assignee_person_id", "in use needs an assignee, a location or a business service");
        }
        State::OnLoan => {
            if custody.assignee_person_id.is_none() {
                p.add("assignee_person_id", "on loan needs the person who has it");
            }
            if custody.expected_return.is_none() {
                p.add("expected_return", "on loan needs the expected return date");
            }
        }
        State::Disposed => match disposal {
            None => p.add("disposal", "disposed needs the method, date and reference or certificate"),
            Some(d) if class.stores_data() && d.sanitization.is_none() => p.add(
                "disposal.sanitization",
                format!("a {} stores data: disposing of it needs a data-sanitization attestation", class),
            ),
            Some(_) => {}
        },
        _ => {}
    }
    if substate.is_some() && state != State::InStock {
        p.add("substate", "only in stock has sub-states (received, tagged)");
    }
}

/// Validates a transition from `from` for an asset of `class` with its current custody.
pub fn check_transition(
    from: State,
    from_substate: Option<Substate>,
    class: AssetClass,
    current: &Custody,
    input: TransitionInput,
) -> Result<Transition, Vec<FieldError>> {
    let mut p = Problems::default();
    let to = match input.to {
        None => {
            p.add(
                "to",
                format!("is required; from {from} the asset may go to: {}", list(allowed_from(from))),
            );
            None
        }
        v => p.parsed::<State>("to", v, true),
    };
    let substate = p.parsed::<Substate>("substate", input.substate, false);
    let reason = p.optional_text("reason", input.reason, 1000);
    let expected_return = p.date("expected_return", input.expected_return, false);
    let assignee = p.id("assignee_person_id", input.assignee_person_id);
    let location = p.id("location_id", input.location_id);
    let service = p.id("service_id", input.service_id);
    let disposal = match input.disposal {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => match serde_path_to_error::deserialize::<_, Disposal>(v) {
            Ok(mut d) => {
                d.reference = d.reference.trim().to_string();
                if d.reference.is_empty() {
                    p.add("disposal.reference", "is required (a reference or certificate number)");
                }
                if let Some(v) = &d.proceeds {
                    match super::without_thousands(v.trim().trim_start_matches(['$', '€', '£']))
                        .and_then(|t| t.parse::<rust_decimal::Decimal>().ok())
                    {
                        Some(x) if !x.is_sign_negative() => d.proceeds = Some(x.to_string()),
                        _ => p.add(
                            "disposal.proceeds",
                            "must be an amount of money (like 1,150.00), not negative; a comma only between \
                             thousands",
                        ),
                    }
                }
                if let Some(s) = &d.sanitization
                    && (s.method.trim().is_empty() || s.attested_by.trim().is_empty())
                {
                    p.add("disposal.sanitization", "needs the method and who attests it");
                }
                Some(d)
            }
            Err(e) => {
                let fe = crate::refdata::json_field_error(&e);
                p.add(&format!("disposal.{}", fe.field.trim_start_matches('.')), fe.problem);
                None
            }
        },
    };
    let Some(to) = to else { return Err(p.finish(|| ()).unwrap_err()) };
    if !allowed_from(from).contains(&to) {
        p.add("to", format!("an asset cannot go from {from} to {to}; allowed: {}", list(allowed_from(from))));
    }
    // In stock without a sub-state: received when it arrives from an order, tagged otherwise (a received
    // asset moving within stock is being tagged).
    let substate = match to {
        State::InStock => Some(substate.unwrap_or(if from == State::OnOrder {
            Substate::Received
        } else {
            Substate::Tagged
        })),
        _ => substate,
    };
    if to == State::InStock && from == State::InStock && substate == from_substate {
        p.add("substate", format!("the asset is already in stock ({})", substate.map_or("", |s| s.as_str())));
    }
    // Custody after the move: in stock and beyond drop the person unless one is given; a location given
    // replaces the old one. An asset gone missing, lost or stolen keeps its last holder and service: who to ask,
    // and a leaver's checklist still lists it as not returned.
    let keeps_person = matches!(
        to,
        State::InUse
            | State::InRepair
            | State::InTransit
            | State::OnLoan
            | State::Missing
            | State::Lost
            | State::Stolen
    );
    let custody = Custody {
        assignee_person_id: assignee.or(if keeps_person { current.assignee_person_id } else { None }),
        location_id: location.or(current.location_id),
        service_id: service.or(if keeps_person { current.service_id } else { None }),
        expected_return: if to == State::OnLoan { expected_return.or(current.expected_return) } else { None },
    };
    if expected_return.is_some() && to != State::OnLoan && to != State::InUse {
        p.add("expected_return", "only a loan or a check-out has an expected return date");
    }
    check_state(
        &mut p,
        to,
        if to == State::InStock { None } else { substate },
        &custody,
        disposal.as_ref(),
        class,
    );
    if disposal.is_some() && to != State::Disposed {
        p.add("disposal", "only a disposal records disposal details");
    }
    if matches!(to, State::Missing | State::Lost | State::Stolen | State::Disposed | State::Retired)
        && reason.is_none()
    {
        p.add("reason", format!("is required when an asset becomes {to}"));
    }
    p.finish(|| Transition {
        to,
        substate: if to == State::InStock { substate } else { None },
        reason,
        assignee_person_id: custody.assignee_person_id,
        location_id: custody.location_id,
        service_id: custody.service_id,
        expected_return: if to == State::InUse { expected_return } else { custody.expected_return },
        disposal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: serde_json::Value) -> TransitionInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn invalid_moves_list_the_allowed_ones() {
        let e = check_transition(
            State::Requested,
            None,
            AssetClass::Laptop,
            &Custody::default(),
            input(json!({"to": "in-use", "assignee_person_id": 1})),
        )
        .unwrap_err();
        assert_eq!(e[0].field, "to");
        assert!(e[0].problem.contains("allowed: on-order, retired"), "{}", e[0].problem);
        let e = check_transition(
            State::Disposed,
            None,
            AssetClass::Laptop,
            &Custody::default(),
            input(json!({"to": "in-stock"})),
        )
        .unwrap_err();
        assert!(e[0].problem.contains("disposed is final"));
    }

    #[test]
    fn states_require_their_fields() {
        let none = Custody::default();
        let e = check_transition(
            State::InStock,
            Some(Substate::Tagged),
            AssetClass::Laptop,
            &none,
            input(json!({"to": "in-use"})),
        )
        .unwrap_err();
        assert_eq!(e[0].field, "assignee_person_id");
        let ok = check_transition(
            State::InStock,
            Some(Substate::Tagged),
            AssetClass::Laptop,
            &none,
            input(json!({"to": "in-use", "assignee_person_id": 7})),
        )
        .unwrap();
        assert_eq!(ok.assignee_person_id, Some(7));
        let e = check_transition(
            State::InUse,
            None,
            AssetClass::Laptop,
            &none,
            input(json!({"to": "on-loan", "assignee_person_id": 7})),
        )
        .unwrap_err();
        assert_eq!(e[0].field, "expected_return");
        // A laptop stores data: its disposal needs an attestation; a monitor's does not.
        let disposal = json!({"method": "recycle", "date": "2026-05-01", "reference": "WEEE-1"});
        let e = check_transition(
            State::Retired,
            None,
            AssetClass::Laptop,
            &none,
            input(json!({"to": "disposed", "reason": "end of life", "disposal": disposal})),
        )
        .unwrap_err();
        assert_eq!(e[0].field, "disposal.sanitization");
        // So do a switch (its configuration and keys) and an IoT camera.
        for class in [AssetClass::Network, AssetClass::Iot] {
            let e = check_transition(
                State::Retired,
                None,
                class,
                &none,
                input(json!({"to": "disposed", "reason": "end of life", "disposal": disposal})),
            )
            .unwrap_err();
            assert_eq!(e[0].field, "disposal.sanitization", "{class}");
        }
        check_transition(
            State::Retired,
            None,
            AssetClass::Peripheral,
            &none,
            input(json!({"to": "disposed", "reason": "end of life", "disposal": disposal})),
        )
        .unwrap();
        let with = json!({"method": "recycle", "date": "2026-05-01", "reference": "WEEE-1",
            "sanitization": {"method": "NIST 800-88 purge", "attested_by": "Recycler Ltd", "date": "2026-04-30"}});
        check_transition(
            State::Retired,
            None,
            AssetClass::Laptop,
            &none,
            input(json!({"to": "disposed", "reason": "end of life", "disposal": with})),
        )
        .unwrap();
        let e = check_transition(
            State::InUse,
            None,
            AssetClass::Laptop,
            &Custody { assignee_person_id: Some(1), ..none.clone() },
            input(json!({"to": "stolen"})),
        )
        .unwrap_err();
        assert_eq!(e[0].field, "reason");
    }

    #[test]
    fn receiving_then_tagging_are_in_stock_sub_states() {
        let none = Custody::default();
        let r = check_transition(
            State::OnOrder,
            None,
            AssetClass::Laptop,
            &none,
            input(json!({"to": "in-stock"})),
        )
        .unwrap();
        assert_eq!(r.substate, Some(Substate::Received));
        let t = check_transition(
            State::InStock,
            Some(Substate::Received),
            AssetClass::Laptop,
            &none,
            input(json!({"to": "in-stock"})),
        )
        .unwrap();
        assert_eq!(t.substate, Some(Substate::Tagged));
        assert!(
            check_transition(
                State::InStock,
                Some(Substate::Tagged),
                AssetClass::Laptop,
                &none,
                input(json!({"to": "in-stock", "substate": "tagged"}))
            )
            .is_err()
        );
    }

    #[test]
    fn every_state_is_reachable_from_requested() {
        let mut seen = vec![State::Requested];
        let mut i = 0;
        while i < seen.len() {
            for s in allowed_from(seen[i]) {
                if !seen.contains(s) {
                    seen.push(*s);
                }
            }
            i += 1;
        }
        assert_eq!(seen.len(), State::ALL.len());
    }
}
