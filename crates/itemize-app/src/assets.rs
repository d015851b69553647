//! The asset register's use cases: create, read, edit (JSON merge patch with optimistic concurrency),
//! lifecycle transitions, check-out and check-in, lists with filters, sort and search, history, overdue
//! loans and leavers' offboarding. Every write appends to the asset's history in the same transaction.

use crate::listing::{keyset_cursor, parse_after, parse_limit, parse_sort};
use crate::refdata::if_match_ok;
use crate::{App, AppError, ListParams};
use itemize_core::FieldError;
use itemize_core::assets::{
    Asset, AssetClass, AssetFields, Custody, CustomField, Disposal, State, TransitionInput, check_state,
    check_transition,
};
use itemize_core::auth::{Action, Actor, Resource, authorize};
use itemize_core::refdata::{Kind, Person, merge_patch};
use itemize_core::validate::Problems;
use itemize_store::{AssetEvent, AssetQuery, Session, Value as SqlValue};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const KIND: &str = "asset";
const SETTINGS_KEY: &str = "assets.settings";

/// Sortable columns; the first is the default. Sorting by a date lists only assets that have one.
pub const SORTS: &[&str] = &[
    "tag",
    "name",
    "class",
    "state",
    "serial",
    "hostname",
    "model",
    "purchase_date",
    "warranty_end",
    "end_of_life",
    "updated_at",
    "id",
];

/// Equality filters: (parameter, column, is an id).
const FILTERS: &[(&str, &str, bool)] = &[
    ("class", "class", false),
    ("model", "model", false),
    ("manufacturer", "manufacturer", false),
    ("assignee_person_id", "assignee_person_id", true),
    ("location_id", "location_id", true),
    ("service_id", "service_id", true),
    ("cost_centre_id", "cost_centre_id", true),
    ("vendor_id", "vendor_id", true),
];

/// Date-range filters: (parameter, column, before?).
const RANGES: &[(&str, &str, bool)] = &[
    ("warranty_before", "warranty_end", true),
    ("warranty_from", "warranty_end", false),
    ("eol_before", "end_of_life", true),
    ("purchased_before", "purchase_date", true),
    ("purchased_from", "purchase_date", false),
];

/// State and custody: a create request may give them (the first state); afterwards they change only through
/// transitions.
const CUSTODY_KEYS: [&str; 5] = ["state", "substate", "assignee_person_id", "service_id", "expected_return"];

/// Fields a client may read but never write.
/// The fields an asset's book value comes from, closed once it is disposed of.
const BOOKS_CLOSED: &[&str] = &[
    "purchase_cost",
    "currency",
    "purchase_date",
    "in_service_date",
    "salvage_value",
    "useful_life_months",
    "depreciation_method",
    "depreciation_rate",
    "depreciation_convention",
    "depreciation_start",
];
const READ_ONLY: [&str; 6] = ["id", "version", "created_at", "updated_at", "disposal", "last_audited_at"];

/// Register-wide settings: custom fields and required-field policies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetSettings {
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
    /// Required fields per class (`*` for every class): names from `POLICY_FIELDS`, `owner`, or
    /// `custom.<key>`. Checked as a policy (a list of assets breaking it), not on every write.
    #[serde(default)]
    pub required_fields: BTreeMap<String, Vec<String>>,
}

/// One page of assets.
#[derive(Debug, Clone, Serialize)]
pub struct AssetPage {
    pub items: Vec<Asset>,
    pub next: Option<String>,
}

/// A leaver and the assets to recover from them.
#[derive(Debug, Clone, Serialize)]
pub struct Offboarding {
    pub person_id: i64,
    pub name: String,
    pub email: String,
    pub leave_date: Option<Date>,
    /// Assets still assigned to the person.
    pub outstanding: Vec<OffboardingItem>,
    /// Assets the person returned (checked in or moved to someone else) since their leave was known.
    pub recovered: Vec<OffboardingItem>,
    /// Assets that left the person's hands without coming back: missing, lost or stolen now (their state is the
    /// item's status). Not recovered, not to recover from the person either.
    pub not_recovered: Vec<OffboardingItem>,
    /// done when nothing is outstanding; overdue when the leave date has passed with something outstanding;
    /// not-leaving for someone asked for by id who is neither a leaver nor has a leave date.
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct OffboardingItem {
    pub asset_id: i64,
    pub tag: String,
    pub name: String,
    pub class: AssetClass,
    pub state: State,
    /// to-recover, overdue, missing (still assigned to the person, not found where it should be) or recovered;
    /// for an asset not recovered, its state (lost, stolen; missing when it went missing in other hands).
    pub status: &'static str,
}

/// What a disposal says that must fit the asset and the calendar: not dated after today or before the asset was
/// bought, its data wiped no later than it left, its proceeds in the asset's currency (a `€`, `£` or `$` sign
/// names it) and to its minor units.
fn disposal_fits(
    d: &Disposal,
    asset: &Asset,
    proceeds_text: Option<&str>,
    today: Date,
) -> Result<(), Vec<FieldError>> {
    let mut errs = Vec::new();
    if d.date > today {
        errs.push(FieldError::new("disposal.date", format!("is {}, after today ({today})", d.date)));
    }
    if let Some(bought) = asset.fields.purchase_date.filter(|b| d.date < *b) {
        errs.push(FieldError::new(
            "disposal.date",
            format!("is {}, before the asset was bought ({bought})", d.date),
        ));
    }
    if let Some(s) = d.sanitization.as_ref().filter(|s| s.date > d.date) {
        errs.push(FieldError::new(
            "disposal.sanitization.date",
            format!(
                "is {}, after the disposal ({}): the data is wiped before the device leaves",
                s.date, d.date
            ),
        ));
    }
    let currency = asset.fields.currency;
    // `€` and `£` name one currency each; `$` names many (dollars, pesos), so it is taken as the asset's.
    let sign = proceeds_text.and_then(|t| t.chars().next()).and_then(|c| match c {
        '€' => Some("EUR"),
        '£' => Some("GBP"),
        _ => None,
    });
    if let Some(code) = sign.filter(|code| *code != currency.code()) {
        errs.push(FieldError::new(
            "disposal.proceeds",
            format!("is in {code} but the asset's currency is {}", currency.code()),
        ));
    }
    if let Some(x) = d.proceeds.as_deref().and_then(|p| p.parse::<rust_decimal::Decimal>().ok())
        && x.scale() > currency.minor_units()
        && x.normalize().scale() > currency.minor_units()
    {
        errs.push(FieldError::new(
            "disposal.proceeds",
            format!("has more decimals than {} has ({})", currency.code(), currency.minor_units()),
        ));
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

pub(crate) fn allow(actor: &Actor, action: Action) -> Result<(), AppError> {
    authorize(actor, Resource::Assets, action).map_err(|e| AppError::Forbidden(e.to_string()))
}

pub(crate) fn not_found(id: impl ToString) -> AppError {
    AppError::NotFound { kind: KIND, id: id.to_string() }
}

pub(crate) fn store_err(e: itemize_store::StoreError) -> AppError {
    AppError::from_store(KIND, e)
}

/// Whether an actor sees an asset: scoped actors see the assets of their cost centres only.
pub(crate) fn sees(actor: &Actor, a: &Asset) -> bool {
    match &actor.scope {
        None => true,
        Some(s) => a.fields.cost_centre_id.is_some_and(|c| s.contains(&c)),
    }
}

/// The changes between two JSON objects: `{field: [before, after]}`.
pub(crate) fn diff(before: &Value, after: &Value) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let (x, y) = (b.get(k).cloned().unwrap_or(Value::Null), a.get(k).cloned().unwrap_or(Value::Null));
        if x != y {
            out.insert(k.clone(), json!([x, y]));
        }
    }
    out
}

pub(crate) fn custody_json(a: &Asset) -> Value {
    json!({
        "state": a.state, "substate": a.substate,
        "assignee_person_id": a.custody.assignee_person_id, "location_id": a.custody.location_id,
        "service_id": a.custody.service_id, "expected_return": a.custody.expected_return,
    })
}

impl App {
    /// The register's settings (custom fields, required-field policies).
    pub async fn asset_settings(&self, actor: &Actor) -> Result<AssetSettings, AppError> {
        allow(actor, Action::Read)?;
        let mut s = self.store().session().await?;
        load_settings(&mut s).await
    }

    /// Replaces the register's settings (administrators only).
    pub async fn put_asset_settings(
        &self,
        actor: &Actor,
        settings: Value,
    ) -> Result<AssetSettings, AppError> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden("only administrators change custom fields and policies".into()));
        }
        allow(actor, Action::Write)?;
        let settings: AssetSettings = serde_path_to_error::deserialize(settings)
            .map_err(|e| AppError::Validation(vec![itemize_core::refdata::json_field_error(&e)]))?;
        let mut errs = Vec::new();
        for (i, d) in settings.custom_fields.iter().enumerate() {
            if let Err(es) = d.check() {
                errs.extend(
                    es.into_iter()
                        .map(|e| FieldError::new(format!("custom_fields[{i}].{}", e.field), e.problem)),
                );
            }
            if settings.custom_fields[..i]
                .iter()
                .any(|o| o.key == d.key && (o.class.is_none() || d.class.is_none() || o.class == d.class))
            {
                errs.push(FieldError::new(
                    format!("custom_fields[{i}].key"),
                    format!("`{}` is defined twice", d.key),
                ));
            }
        }
        for (class, fields) in &settings.required_fields {
            if class != "*" && class.parse::<AssetClass>().is_err() {
                errs.push(FieldError::new(
                    format!("required_fields.{class}"),
                    "is not an asset class (or * for all)",
                ));
            }
            for f in fields {
                let known = f == "owner"
                    || itemize_core::assets::POLICY_FIELDS.contains(&f.as_str())
                    || f.strip_prefix("custom.")
                        .is_some_and(|k| settings.custom_fields.iter().any(|d| d.key == k));
                if !known {
                    errs.push(FieldError::new(
                        format!("required_fields.{class}"),
                        format!("`{f}` is not a field assets have"),
                    ));
                }
            }
        }
        if !errs.is_empty() {
            return Err(AppError::Validation(errs));
        }
        let mut tx = self.store().transaction().await?;
        let before = load_settings(&mut tx).await?;
        let now = self.clock().now();
        let text = serde_json::to_string(&settings).map_err(|e| AppError::Internal(e.to_string()))?;
        tx.put_setting(SETTINGS_KEY, &text, now).await?;
        crate::auth::audit(
            &mut tx,
            actor,
            now,
            "update",
            "asset-settings",
            None,
            Some(&serde_json::to_value(&before).unwrap_or_default()),
            Some(&serde_json::to_value(&settings).unwrap_or_default()),
        )
        .await?;
        tx.commit().await?;
        Ok(settings)
    }

    /// Registers an asset. Besides its fields a request may give its first state (requested, on-order,
    /// in-stock (the default) or in-use) with the custody that state needs.
    pub async fn create_asset(&self, actor: &Actor, input: Value) -> Result<Asset, AppError> {
        self.register_asset(actor, input, true).await
    }

    /// Checks an asset as [`App::create_asset`] would, every rule, and writes nothing: a form whose references
    /// could not be resolved still learns its other problems at once.
    pub async fn check_new_asset(&self, actor: &Actor, input: Value) -> Result<(), AppError> {
        self.register_asset(actor, input, false).await.map(|_| ())
    }

    async fn register_asset(&self, actor: &Actor, input: Value, write: bool) -> Result<Asset, AppError> {
        allow(actor, Action::Write)?;
        let Value::Object(mut obj) = input else {
            return Err(AppError::Validation(vec![FieldError::new(
                "(body)",
                "must be a JSON object of fields",
            )]));
        };
        for k in READ_ONLY {
            if obj.contains_key(k) {
                return Err(AppError::Validation(vec![FieldError::new(k, "is read-only")]));
            }
        }
        let mut first = serde_json::Map::new();
        for k in CUSTODY_KEYS {
            if let Some(v) = obj.remove(k) {
                first.insert(k.to_string(), v);
            }
        }
        let mut tx = self.store().transaction().await?;
        let settings = load_settings(&mut tx).await?;
        // Handed out at registration, as at a check-out: not to a leaver, and to someone leaving only with a
        // return date by their last day. Said with the form's other problems.
        let mut custody_errs = Vec::new();
        let handed = matches!(first.get("state").and_then(Value::as_str), Some("in-use" | "on-loan"));
        let due_back =
            first.get("expected_return").and_then(Value::as_str).and_then(|d| d.parse::<Date>().ok());
        if let Some(p) = first.get("assignee_person_id").and_then(Value::as_i64)
            && let Some(person) = tx.get::<Person>(p.into()).await?
        {
            let name = &person.fields.name;
            if person.fields.status == itemize_core::refdata::PersonStatus::Leaver {
                let left = person.fields.leave_date.map(|d| format!(" (left {d})")).unwrap_or_default();
                custody_errs.push(FieldError::new(
                    "assignee_person_id",
                    format!(
                        "{name} is a leaver{left}: assets are recovered from leavers, not handed to them"
                    ),
                ));
            } else if let Some(leaves) = person.fields.leave_date.filter(|l| *l >= self.today())
                && handed
            {
                match due_back {
                    None => custody_errs.push(FieldError::new(
                        "expected_return",
                        format!("{name} leaves on {leaves}: give the date it is due back, on or before then"),
                    )),
                    Some(back) if back > leaves => custody_errs.push(FieldError::new(
                        "expected_return",
                        format!("is {back}, after {name} leaves ({leaves}): give a date before they go"),
                    )),
                    Some(_) => {}
                }
            }
        }
        let (asset, mut errs) = self.new_asset(
            Value::Object(obj),
            Value::Object(first),
            &settings.custom_fields,
            false,
            None,
            None,
        );
        errs.extend(custody_errs);
        let mut asset = match (asset, errs.is_empty()) {
            (Some(a), true) => a,
            _ => return Err(AppError::Validation(errs)),
        };
        in_scope(actor, &asset)?;
        check_references(&mut tx, &asset).await?;
        if !write {
            return Ok(asset);
        }
        let ids = tx.insert_assets(std::slice::from_ref(&asset)).await.map_err(store_err)?;
        asset.id = ids[0];
        let detail = json!({"fields": asset.fields.to_json(), "custody": custody_json(&asset)});
        tx.append_asset_events(&[(asset.id, asset.created_at, &actor.name, "created", detail)]).await?;
        tx.commit().await?;
        Ok(asset)
    }

    /// Builds a new asset from its fields and first-state JSON, collecting every problem. Imports bring
    /// assets in whatever state the old register had them (`any_state`); other new assets start early.
    /// `before` is what an import's update row starts from (the asset's class and custom values).
    pub(crate) fn new_asset(
        &self,
        fields: Value,
        first: Value,
        defs: &[CustomField],
        any_state: bool,
        before: Option<(AssetClass, &serde_json::Map<String, Value>)>,
        disposal: Option<&Disposal>,
    ) -> (Option<Asset>, Vec<FieldError>) {
        let mut errs = Vec::new();
        let fields = match AssetFields::from_json_over(fields, self.config().reporting_currency, defs, before)
        {
            Ok(f) => Some(f),
            Err(e) => {
                errs.extend(e);
                None
            }
        };
        let mut p = Problems::default();
        let first: FirstState = match serde_path_to_error::deserialize(first) {
            Ok(f) => f,
            Err(e) => {
                errs.push(itemize_core::refdata::json_field_error(&e));
                FirstState::default()
            }
        };
        let state = p.parsed::<State>("state", first.state, false).unwrap_or(State::InStock);
        if !any_state && !matches!(state, State::Requested | State::OnOrder | State::InStock | State::InUse) {
            p.add(
                "state",
                "a new asset starts requested, on-order, in-stock or in-use; transition it from there",
            );
        }
        let substate = p.parsed("substate", first.substate, false);
        let custody = Custody {
            assignee_person_id: p.id("assignee_person_id", first.assignee_person_id),
            location_id: fields.as_ref().and_then(|f| f.location_id),
            service_id: p.id("service_id", first.service_id),
            expected_return: p.parsed("expected_return", first.expected_return, false),
        };
        let substate = if state == State::InStock {
            Some(substate.unwrap_or(itemize_core::assets::Substate::Tagged))
        } else {
            substate
        };
        if let Some(f) = &fields {
            check_state(
                &mut p,
                state,
                if state == State::InStock { None } else { substate },
                &custody,
                disposal,
                f.class,
            );
        }
        if let Err(e) = p.finish(|| ()) {
            errs.extend(e);
        }
        let now = self.clock().now();
        let asset = fields.map(|fields| Asset {
            id: 0,
            fields,
            state,
            substate,
            custody,
            disposal: None,
            last_audited_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        });
        (asset, errs)
    }

    pub async fn get_asset(&self, actor: &Actor, id: i64) -> Result<Asset, AppError> {
        allow(actor, Action::Read)?;
        let mut s = self.store().session().await?;
        let a = s.asset(id).await.map_err(store_err)?.ok_or_else(|| not_found(id))?;
        if sees(actor, &a) { Ok(a) } else { Err(not_found(id)) }
    }

    /// The assets with these ids that exist and the actor may read, in id order (one query per 200 ids).
    pub async fn assets_by_ids(&self, actor: &Actor, ids: &[i64]) -> Result<Vec<Asset>, AppError> {
        allow(actor, Action::Read)?;
        let mut s = self.store().session().await?;
        Ok(s.assets_by_ids(ids).await.map_err(store_err)?.into_iter().filter(|a| sees(actor, a)).collect())
    }

    /// The asset whose tag or serial is `key` (what a scanner reads).
    pub async fn find_asset(&self, actor: &Actor, key: &str) -> Result<Asset, AppError> {
        allow(actor, Action::Read)?;
        let mut s = self.store().session().await?;
        let a = s.asset_by_key(key).await.map_err(store_err)?.ok_or_else(|| not_found(key))?;
        if sees(actor, &a) { Ok(a) } else { Err(not_found(key)) }
    }

    /// Edits an asset's fields with a JSON merge patch; state and custody change through transitions.
    pub async fn update_asset(
        &self,
        actor: &Actor,
        id: i64,
        if_match: Option<&str>,
        patch: Value,
    ) -> Result<Asset, AppError> {
        allow(actor, Action::Write)?;
        let obj = patch.as_object().ok_or_else(|| {
            AppError::Validation(vec![FieldError::new("(body)", "must be a JSON object of fields")])
        })?;
        let errs: Vec<FieldError> = obj
            .keys()
            .filter_map(|k| {
                if CUSTODY_KEYS.contains(&k.as_str()) {
                    Some(FieldError::new(
                        k.clone(),
                        "changes through a transition or a check-out (POST …/transition, …/check-out)",
                    ))
                } else {
                    READ_ONLY.contains(&k.as_str()).then(|| FieldError::new(k.clone(), "is read-only"))
                }
            })
            .collect();
        if !errs.is_empty() {
            return Err(AppError::Validation(errs));
        }
        let mut tx = self.store().transaction().await?;
        let settings = load_settings(&mut tx).await?;
        let current = tx.asset(id).await.map_err(store_err)?.ok_or_else(|| not_found(id))?;
        if !sees(actor, &current) {
            return Err(not_found(id));
        }
        if let Some(m) = if_match
            && !if_match_ok(m, &current.etag())
        {
            return Err(AppError::PreconditionFailed { kind: KIND, current_etag: current.etag() });
        }
        // Disposed of, its books are closed: the figures it was written off with stay as they were (a correction
        // to them is a restatement for finance, not an edit of the register).
        if current.state == State::Disposed {
            let closed: Vec<FieldError> = obj
                .keys()
                .filter(|k| BOOKS_CLOSED.contains(&k.as_str()))
                .map(|k| {
                    FieldError::new(
                        k.clone(),
                        format!("is closed: {} was disposed of and written off with it", current.fields.tag),
                    )
                })
                .collect();
            if !closed.is_empty() {
                return Err(AppError::Validation(closed));
            }
        }
        let before = current.fields.to_json();
        let mut merged = before.clone();
        merge_patch(&mut merged, &patch);
        let fields = AssetFields::from_json_over(
            merged,
            self.config().reporting_currency,
            &settings.custom_fields,
            Some((current.fields.class, &current.fields.custom)),
        )
        .map_err(AppError::Validation)?;
        let mut next = current.clone();
        next.fields = fields;
        next.custody.location_id = next.fields.location_id;
        let mut p = Problems::default();
        check_state(
            &mut p,
            next.state,
            if next.state == State::InStock { None } else { next.substate },
            &next.custody,
            next.disposal.as_ref(),
            next.fields.class,
        );
        p.finish(|| ()).map_err(AppError::Validation)?;
        in_scope(actor, &next)?;
        let changes = diff(&before, &next.fields.to_json());
        if changes.is_empty() {
            return Ok(current);
        }
        check_references(&mut tx, &next).await?;
        next.version += 1;
        next.updated_at = self.clock().now();
        if !tx.update_asset(&next, current.version).await.map_err(store_err)? {
            return Err(AppError::PreconditionFailed { kind: KIND, current_etag: current.etag() });
        }
        tx.append_asset_events(&[(id, next.updated_at, &actor.name, "updated", json!({"changes": changes}))])
            .await?;
        tx.commit().await?;
        Ok(next)
    }

    /// Moves an asset through its lifecycle. An invalid move is refused with the allowed ones listed.
    pub async fn transition_asset(
        &self,
        actor: &Actor,
        id: i64,
        if_match: Option<&str>,
        input: Value,
    ) -> Result<Asset, AppError> {
        allow(actor, Action::Write)?;
        let input: TransitionInput = serde_path_to_error::deserialize(input)
            .map_err(|e| AppError::Validation(vec![itemize_core::refdata::json_field_error(&e)]))?;
        self.apply_transition(actor, id, if_match, input, "transition").await
    }

    pub(crate) async fn apply_transition(
        &self,
        actor: &Actor,
        id: i64,
        if_match: Option<&str>,
        input: TransitionInput,
        event: &str,
    ) -> Result<Asset, AppError> {
        let mut tx = self.store().transaction().await?;
        let next = self.transition_in(&mut tx, actor, id, if_match, input, event).await?;
        tx.commit().await?;
        Ok(next)
    }

    /// A transition inside the caller's transaction (which commits it, with whatever else it does).
    pub(crate) async fn transition_in(
        &self,
        tx: &mut Session,
        actor: &Actor,
        id: i64,
        if_match: Option<&str>,
        input: TransitionInput,
        event: &str,
    ) -> Result<Asset, AppError> {
        let current = tx.asset(id).await.map_err(store_err)?.ok_or_else(|| not_found(id))?;
        if !sees(actor, &current) {
            return Err(not_found(id));
        }
        if let Some(m) = if_match
            && !if_match_ok(m, &current.etag())
        {
            return Err(AppError::PreconditionFailed { kind: KIND, current_etag: current.etag() });
        }
        // The proceeds as written, for their currency sign (the check below strips it).
        let proceeds_text = input
            .disposal
            .as_ref()
            .and_then(|d| d.get("proceeds"))
            .and_then(Value::as_str)
            .map(|v| v.trim().to_string());
        let t =
            check_transition(current.state, current.substate, current.fields.class, &current.custody, input)
                .map_err(AppError::Validation)?;
        if let Some(d) = &t.disposal {
            disposal_fits(d, &current, proceeds_text.as_deref(), self.today())
                .map_err(AppError::Validation)?;
        }
        // Custody given now: a return date already past would put the asset on the overdue list the moment it
        // is handed out, and a leaver is someone assets are recovered from, not handed to.
        let today = self.today();
        let mut errs = Vec::new();
        if let Some(d) =
            t.expected_return.filter(|d| *d < today && current.custody.expected_return != Some(*d))
        {
            errs.push(FieldError::new(
                "expected_return",
                format!("is {d}, before today ({today}): give the date the asset is due back"),
            ));
        }
        if let Some(p) = t.assignee_person_id.filter(|p| current.custody.assignee_person_id != Some(*p))
            && let Some(person) = tx.get::<Person>(p.into()).await?
            && person.fields.status == itemize_core::refdata::PersonStatus::Leaver
        {
            let left = person.fields.leave_date.map(|d| format!(" (left {d})")).unwrap_or_default();
            errs.push(FieldError::new(
                "assignee_person_id",
                format!(
                    "{} is a leaver{left}: assets are recovered from leavers, not handed to them",
                    person.fields.name
                ),
            ));
        }
        // Handed to someone who is leaving: due back by their last day, said when the person is given.
        if let Some(p) = t.assignee_person_id.filter(|p| current.custody.assignee_person_id != Some(*p))
            && t.expected_return.is_none()
            && matches!(t.to, State::InUse | State::OnLoan)
            && let Some(person) = tx.get::<Person>(p.into()).await?
            && person.fields.status != itemize_core::refdata::PersonStatus::Leaver
            && let Some(leaves) = person.fields.leave_date.filter(|l| *l >= today)
        {
            errs.push(FieldError::new(
                "expected_return",
                format!(
                    "{} leaves on {leaves}: give the date it is due back, on or before then",
                    person.fields.name
                ),
            ));
        }
        // Due back after the person has left: the return would never come (said when the date or the person is
        // given, not of a loan made before the leave date was known).
        let handed = t.expected_return != current.custody.expected_return
            || t.assignee_person_id != current.custody.assignee_person_id;
        if let (Some(p), Some(back), true) = (t.assignee_person_id, t.expected_return, handed)
            && let Some(person) = tx.get::<Person>(p.into()).await?
            && let Some(leaves) = person.fields.leave_date.filter(|l| back > *l)
        {
            errs.push(FieldError::new(
                "expected_return",
                format!(
                    "is {back}, after {} leaves ({leaves}): give a date before they go",
                    person.fields.name
                ),
            ));
        }
        if !errs.is_empty() {
            return Err(AppError::Validation(errs));
        }
        let mut next = current.clone();
        next.state = t.to;
        next.substate = t.substate;
        next.custody = Custody {
            assignee_person_id: t.assignee_person_id,
            location_id: t.location_id,
            service_id: t.service_id,
            expected_return: t.expected_return,
        };
        next.fields.location_id = t.location_id;
        if t.disposal.is_some() {
            next.disposal = t.disposal.clone();
        }
        next.version += 1;
        next.updated_at = self.clock().now();
        check_references(tx, &next).await?;
        if !tx.update_asset(&next, current.version).await.map_err(store_err)? {
            return Err(AppError::PreconditionFailed { kind: KIND, current_etag: current.etag() });
        }
        let detail = json!({
            "from": {"state": current.state, "substate": current.substate},
            "to": {"state": next.state, "substate": next.substate},
            "reason": t.reason,
            "custody": diff(&custody_json(&current), &custody_json(&next)),
            "disposal": t.disposal,
        });
        tx.append_asset_events(&[(id, next.updated_at, &actor.name, event, detail)]).await?;
        Ok(next)
    }

    /// Checks an asset out to a person, location or service (in use), optionally until a return date.
    pub async fn check_out_asset(&self, actor: &Actor, id: i64, input: Value) -> Result<Asset, AppError> {
        allow(actor, Action::Write)?;
        let mut req: CheckOut = serde_path_to_error::deserialize(input)
            .map_err(|e| AppError::Validation(vec![itemize_core::refdata::json_field_error(&e)]))?;
        if req.assignee_person_id.is_none() && req.location_id.is_none() && req.service_id.is_none() {
            return Err(AppError::Validation(vec![FieldError::new(
                "assignee_person_id",
                "check out to a person, a location or a business service",
            )]));
        }
        // Already out: said as such, not as a lifecycle move from in use to in use.
        let current = self.get_asset(actor, id).await?;
        if matches!(current.state, State::InUse | State::OnLoan) {
            return Err(AppError::Validation(vec![FieldError::new(
                "assignee_person_id",
                format!(
                    "{} is already checked out ({}): check it in first",
                    current.fields.tag, current.state
                ),
            )]));
        }
        // Not in hand: a missing, lost or stolen asset is found (checked in) before it is handed to anyone.
        if matches!(current.state, State::Missing | State::Lost | State::Stolen) {
            return Err(AppError::Validation(vec![FieldError::new(
                "assignee_person_id",
                format!(
                    "{} is {}: check it in when it is found, then check it out",
                    current.fields.tag, current.state
                ),
            )]));
        }
        let to = if req.loan.unwrap_or(false) { "on-loan" } else { "in-use" };
        let t = TransitionInput {
            to: Some(to.into()),
            reason: req.reason.take().or(Some("checked out".into())),
            assignee_person_id: req.assignee_person_id,
            location_id: req.location_id,
            service_id: req.service_id,
            expected_return: req.expected_return,
            ..TransitionInput::default()
        };
        self.apply_transition(actor, id, None, t, "check-out").await
    }

    /// Takes an asset back into stock, optionally at a location.
    pub async fn check_in_asset(&self, actor: &Actor, id: i64, input: Value) -> Result<Asset, AppError> {
        allow(actor, Action::Write)?;
        let req: CheckIn = serde_path_to_error::deserialize(input)
            .map_err(|e| AppError::Validation(vec![itemize_core::refdata::json_field_error(&e)]))?;
        let t = TransitionInput {
            to: Some("in-stock".into()),
            substate: Some("tagged".into()),
            reason: req.reason.or(Some("checked in".into())),
            location_id: req.location_id,
            ..TransitionInput::default()
        };
        self.apply_transition(actor, id, None, t, "check-in").await
    }

    pub async fn asset_history(&self, actor: &Actor, id: i64) -> Result<Vec<AssetEvent>, AppError> {
        self.get_asset(actor, id).await?;
        let mut s = self.store().session().await?;
        Ok(s.asset_events(id).await?)
    }

    /// A page of assets: filters (`class`, `state` (comma-separated), `model`, `manufacturer`, ids of
    /// assignee, location, service, cost centre, vendor, date ranges), `q` (a prefix of the tag, serial or
    /// hostname, or a person's name or e-mail), `sort` and `cursor`.
    pub async fn list_assets(&self, actor: &Actor, params: &ListParams) -> Result<AssetPage, AppError> {
        allow(actor, Action::Read)?;
        // A search's statements (people by a prefix, then the union of ranges) cost PostgreSQL more to plan
        // than to run: planned once per connection instead.
        let mut s = if params.get("q").is_some_and(|q| !q.trim().is_empty()) {
            self.store().planned_reads().await?
        } else {
            self.store().session().await?
        };
        let q = self.asset_query(&mut s, actor, params).await?;
        let (rows, more) = s.list_assets(&q).await?;
        let next =
            if more { rows.last().map(|(a, v)| keyset_cursor(q.sort, q.descending, a.id, v)) } else { None };
        Ok(AssetPage { items: rows.into_iter().map(|(a, _)| a).collect(), next })
    }

    pub(crate) async fn asset_query(
        &self,
        s: &mut Session,
        actor: &Actor,
        params: &ListParams,
    ) -> Result<AssetQuery, AppError> {
        const RESERVED: [&str; 5] = ["limit", "cursor", "sort", "q", "state"];
        let mut known: Vec<&str> = RESERVED.to_vec();
        known.extend(FILTERS.iter().map(|f| f.0));
        known.extend(RANGES.iter().map(|f| f.0));
        known.push("overdue");
        params.only(&known)?;
        let limit = parse_limit(params)?;
        let (sort, descending) = parse_sort(params, SORTS)?;
        let after = parse_after(params, sort, descending, itemize_store::asset_sort_nullable(sort))?;
        let mut q = AssetQuery { sort, descending, after, limit, ..AssetQuery::default() };
        for (param, col, is_id) in FILTERS {
            if let Some(v) = params.get(param) {
                let value = if *is_id {
                    SqlValue::int(
                        v.parse::<i64>()
                            .map_err(|_| AppError::bad_param(param, format!("`{v}` is not an id")))?,
                    )
                } else if *param == "class" {
                    SqlValue::text(
                        v.parse::<AssetClass>().map_err(|e| AppError::bad_param(param, e))?.as_str(),
                    )
                } else {
                    SqlValue::text(v)
                };
                q.filters.push((col, value));
            }
        }
        if let Some(states) = params.get("state") {
            for st in states.split(',') {
                q.states.push(
                    st.parse::<State>().map_err(|e| AppError::bad_param("state", e))?.as_str().to_string(),
                );
            }
        }
        for (param, col, before) in RANGES {
            if let Some(v) = params.get(param) {
                let d: Date = v
                    .parse()
                    .map_err(|_| AppError::bad_param(param, format!("`{v}` is not a date (YYYY-MM-DD)")))?;
                if *before { q.before.push((col, d.to_string())) } else { q.from.push((col, d.to_string())) }
            }
        }
        if params.get("overdue").is_some() {
            q.before.push(("expected_return", self.today().to_string()));
            if q.states.is_empty() {
                q.states = vec!["in-use".into(), "on-loan".into()];
            }
        }
        if let Some(text) = params.get("q") {
            q.search = Some(text.to_string());
            q.search_people = people_matching(s, text).await?;
        }
        q.scope = actor.scope.as_ref().map(|s| s.iter().copied().collect());
        Ok(q)
    }

    /// Assets out on loan or checked out past their expected return date.
    /// Assets whose expected return has passed, the longest overdue first (then by id).
    pub async fn overdue_assets(&self, actor: &Actor) -> Result<Vec<Asset>, AppError> {
        let params = ListParams::default().with("overdue", "1").with("sort", "id");
        let mut all = self.all_matching(actor, params, None).await?;
        all.sort_by_key(|a| (a.custody.expected_return, a.id));
        Ok(all)
    }

    /// Every asset a list's filters match, page after page. With `cap` (a count and the refusal's message),
    /// more than that many is refused.
    pub async fn all_matching(
        &self,
        actor: &Actor,
        params: ListParams,
        cap: Option<(usize, &'static str)>,
    ) -> Result<Vec<Asset>, AppError> {
        let mut all = Vec::new();
        let mut params = params.with("limit", "1000");
        loop {
            let page = self.list_assets(actor, &params).await?;
            all.extend(page.items);
            // Named as the filters' doing: the caller gave no `limit`.
            if let Some((n, why)) = cap
                && all.len() > n
            {
                return Err(AppError::BadRequest {
                    message: why.to_string(),
                    details: vec![FieldError::new("filters", why)],
                });
            }
            match page.next {
                Some(c) => params = params.with("cursor", c),
                None => break,
            }
        }
        Ok(all)
    }

    /// Leavers (and people with a leave date) with the assets to recover from them; for a scoped user, the
    /// leavers of their cost centres.
    pub async fn offboarding(
        &self,
        actor: &Actor,
        person_id: Option<i64>,
    ) -> Result<Vec<Offboarding>, AppError> {
        allow(actor, Action::Read)?;
        let today = self.today();
        let mut s = self.store().session().await?;
        let people = s.all::<Person>(false).await?;
        let assets = s
            .all_assets(actor.scope.as_ref().map(|s| s.iter().copied().collect::<Vec<_>>()).as_deref())
            .await?;
        let handovers = s.asset_events_of_kind(&["check-in", "check-out", "transition"]).await?;
        let by_id: std::collections::HashMap<i64, &Asset> = assets.iter().map(|a| (a.id, a)).collect();
        let mut out = Vec::new();
        for p in people {
            let pid: i64 = p.id.into();
            // A scoped user sees the leavers of their cost centres, as the people list shows them, and no one
            // else's name or email.
            if person_id.is_some_and(|x| x != pid) || !crate::refdata::visible(actor, Some(pid), &p.fields) {
                continue;
            }
            let leaving = p.fields.status == itemize_core::refdata::PersonStatus::Leaver
                || p.fields.leave_date.is_some();
            if !leaving && person_id.is_none() {
                continue;
            }
            let item = |a: &Asset, status| OffboardingItem {
                asset_id: a.id,
                tag: a.fields.tag.clone(),
                name: a.fields.name.clone(),
                class: a.fields.class,
                state: a.state,
                status,
            };
            let overdue = p.fields.leave_date.is_some_and(|d| d < today);
            let outstanding: Vec<OffboardingItem> = assets
                .iter()
                .filter(|a| a.custody.assignee_person_id == Some(pid) && a.state.is_owned())
                // Missing (not found where it should be) is still to recover: the person may well have it.
                .map(|a| match (a.state, overdue) {
                    (State::Missing, _) => item(a, "missing"),
                    (_, true) => item(a, "overdue"),
                    (_, false) => item(a, "to-recover"),
                })
                .collect();
            // Returned: the person was the assignee before a hand-over and is not any more.
            let since = p.fields.leave_date.map(|d| d.saturating_sub(jiff::Span::new().days(90)));
            let mut recovered: Vec<OffboardingItem> = Vec::new();
            let mut not_recovered: Vec<OffboardingItem> = Vec::new();
            for e in &handovers {
                let before = e.detail.pointer("/custody/assignee_person_id/0").and_then(Value::as_i64);
                let after = e.detail.pointer("/custody/assignee_person_id/1").and_then(Value::as_i64);
                let date = e.at.to_zoned(jiff::tz::TimeZone::UTC).date();
                if before == Some(pid)
                    && after != Some(pid)
                    && since.is_none_or(|s| date >= s)
                    && let Some(a) = by_id.get(&e.asset_id)
                    && a.custody.assignee_person_id != Some(pid)
                    && !recovered.iter().chain(&not_recovered).any(|r| r.asset_id == a.id)
                {
                    // Reported missing, lost or stolen is a hand-over that recovered nothing (unless it has
                    // been found since: then the asset's state says so).
                    if matches!(a.state, State::Missing | State::Lost | State::Stolen) {
                        not_recovered.push(item(a, a.state.as_str()));
                    } else {
                        recovered.push(item(a, "recovered"));
                    }
                }
            }
            // Lost or stolen while still the person's (the move kept the assignee): not outstanding either.
            for a in assets.iter().filter(|a| {
                a.custody.assignee_person_id == Some(pid) && matches!(a.state, State::Lost | State::Stolen)
            }) {
                if !not_recovered.iter().any(|r| r.asset_id == a.id) {
                    not_recovered.push(item(a, a.state.as_str()));
                }
            }
            if outstanding.is_empty()
                && recovered.is_empty()
                && not_recovered.is_empty()
                && person_id.is_none()
            {
                continue;
            }
            let status = if !leaving {
                "not-leaving"
            } else if outstanding.is_empty() {
                "done"
            } else if overdue {
                "overdue"
            } else {
                "open"
            };
            out.push(Offboarding {
                person_id: pid,
                name: p.fields.name.clone(),
                email: p.fields.email.clone(),
                leave_date: p.fields.leave_date,
                outstanding,
                recovered,
                not_recovered,
                status,
            });
        }
        // What needs chasing first: overdue, then open, then done; the earliest leave date first in each.
        let rank = |s: &str| match s {
            "overdue" => 0,
            "open" => 1,
            "done" => 2,
            _ => 3,
        };
        out.sort_by_key(|o| (rank(o.status), o.leave_date.is_none(), o.leave_date, o.person_id));
        Ok(out)
    }

    /// Today in UTC by the app's clock (a demo or a test may set the clock).
    pub fn today(&self) -> Date {
        self.clock().now().to_zoned(jiff::tz::TimeZone::UTC).date()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FirstState {
    state: Option<String>,
    substate: Option<String>,
    assignee_person_id: Option<i64>,
    service_id: Option<i64>,
    expected_return: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckOut {
    assignee_person_id: Option<i64>,
    location_id: Option<i64>,
    service_id: Option<i64>,
    expected_return: Option<String>,
    /// A loan (on-loan: a person and a return date) rather than a normal assignment.
    loan: Option<bool>,
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckIn {
    location_id: Option<i64>,
    reason: Option<String>,
}

pub(crate) async fn load_settings(s: &mut Session) -> Result<AssetSettings, AppError> {
    match s.setting(SETTINGS_KEY).await? {
        None => Ok(AssetSettings::default()),
        Some(t) => serde_json::from_str(&t).map_err(|e| AppError::Internal(format!("asset settings: {e}"))),
    }
}

/// A scoped actor's writes must leave the asset in one of their cost centres.
fn in_scope(actor: &Actor, a: &Asset) -> Result<(), AppError> {
    if sees(actor, a) {
        Ok(())
    } else {
        Err(AppError::Validation(vec![FieldError::new("cost_centre_id", "must be one of your cost centres")]))
    }
}

/// People whose name or e-mail starts with `text`, or whose employee id it is (for searching assets by person).
async fn people_matching(s: &mut Session, text: &str) -> Result<Vec<i64>, AppError> {
    let t = text.trim().to_lowercase();
    if t.len() < 2 {
        return Ok(Vec::new());
    }
    Ok(s.people_ids_by_prefix(&t, 500).await?)
}

/// Checks that every record an asset points to exists.
pub(crate) async fn check_references(s: &mut Session, a: &Asset) -> Result<(), AppError> {
    let refs: [(&str, Kind, Option<i64>); 5] = [
        ("location_id", Kind::Location, a.fields.location_id),
        ("cost_centre_id", Kind::CostCentre, a.fields.cost_centre_id),
        ("vendor_id", Kind::Vendor, a.fields.vendor_id),
        ("assignee_person_id", Kind::Person, a.custody.assignee_person_id),
        ("service_id", Kind::Service, a.custody.service_id),
    ];
    let mut errs = Vec::new();
    for (field, kind, id) in refs {
        if let Some(id) = id
            && s.existing_ids(kind, &[id]).await?.is_empty()
        {
            errs.push(FieldError::new(field, format!("{} {id} does not exist", kind.singular())));
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(AppError::Validation(errs)) }
}

/// Imports write many assets at once: asset managers and administrators, never a scoped user.
pub fn allow_import(actor: &Actor) -> Result<(), AppError> {
    allow(actor, Action::Write)?;
    if actor.scope.is_some() {
        return Err(AppError::Forbidden("users limited to cost centres cannot import".into()));
    }
    Ok(())
}
