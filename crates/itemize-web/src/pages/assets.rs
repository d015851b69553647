//! The asset pages: the register with filters, sort, search and pages; an asset's detail with its history,
//! relationships, depreciation schedule and TCO; lifecycle transitions and check-out/in as forms that keep
//! what was typed and show each error beside its field; contracts and the renewal calendar; audits.

use super::{Me, NavItem, PageId, app_error, link, render, shell};
use crate::AppState;
use crate::auth::Auth;
use crate::charts::money_text;
use crate::extract::Params;
use crate::routes::Reg;
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use itemize_app::AppError;
use itemize_app::asset_import::ImportReport;
use itemize_app::asset_ops::{BILLING, CONTRACT_KINDS, RENEWALS};
use itemize_core::assets::{State as AssetState, allowed_from};
use itemize_core::refdata::Kind;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

pub fn routes(r: Reg) -> Reg {
    r.add("/assets", &["GET"], get(list))
        .add("/assets/governance", &["GET"], get(governance))
        .add("/assets/labels", &["GET"], get(labels_page))
        .add("/assets/new", &["GET", "POST"], get(new_form).post(create))
        .add(
            "/assets/import",
            &["GET", "POST"],
            get(import_form).post(import_upload).layer(axum::extract::DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .add("/assets/{id}", &["GET"], get(detail))
        .add("/assets/{id}/transition", &["POST"], axum::routing::post(transition))
        .add("/assets/{id}/check-out", &["POST"], axum::routing::post(check_out))
        .add("/assets/{id}/check-in", &["POST"], axum::routing::post(check_in))
        .add("/contracts", &["GET"], get(contracts))
        .add("/contracts/renewals", &["GET"], get(renewals))
        .add("/contracts/new", &["GET", "POST"], get(new_contract_form).post(create_contract))
        .add("/contracts/{id}", &["GET"], get(contract))
        .add("/contracts/{id}/edit", &["GET", "POST"], get(contract_edit_form).post(edit_contract))
        .add("/contracts/{id}/archive", &["POST"], axum::routing::post(archive_contract))
        .add("/assets/{id}/edit", &["GET", "POST"], get(edit_form).post(edit))
        .add("/audits", &["GET", "POST"], get(audits).post(start_audit))
        .add("/audits/{id}", &["GET"], get(audit))
        .add("/audits/{id}/scans", &["POST"], axum::routing::post(scan))
        .add("/audits/{id}/close", &["POST"], axum::routing::post(close_audit))
}

pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

const STATES: &[&str] = &[
    "requested",
    "on-order",
    "in-stock",
    "in-use",
    "in-repair",
    "in-transit",
    "on-loan",
    "retired",
    "disposed",
    "missing",
    "lost",
    "stolen",
];
const CLASSES: &[&str] = &[
    "laptop",
    "desktop",
    "server",
    "network",
    "storage",
    "mobile",
    "peripheral",
    "iot",
    "cloud-resource",
    "other",
];

fn opts(values: &[&str], current: &str, any: &str) -> Vec<Opt> {
    std::iter::once(Opt { value: String::new(), label: any.to_string(), selected: current.is_empty() })
        .chain(values.iter().map(|v| Opt {
            value: v.to_string(),
            label: v.to_string(),
            selected: *v == current,
        }))
        .collect()
}

/// Names of referenced records, looked up once per page.
pub(super) async fn names(s: &AppState, auth: &Auth, kind: Kind, ids: Vec<i64>) -> HashMap<i64, String> {
    if ids.is_empty() {
        return HashMap::new();
    }
    s.app.labels(&auth.actor, kind, &ids).await.unwrap_or_default()
}

// ------------------------------------------------------------------------------------------------ list

#[derive(Template)]
#[template(path = "assets.html")]
struct ListPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    q: String,
    states: Vec<Opt>,
    classes: Vec<Opt>,
    headings: Vec<super::Heading>,
    rows: Vec<(i64, Vec<String>)>,
    next: Option<String>,
    first: Option<String>,
    export: String,
    labels: String,
    /// Parameters the form has no field for (a location's list, a sort), kept when it is applied again.
    kept: Vec<(String, String)>,
    /// The filters among them, named, each with the list without it.
    chips: Vec<(String, String)>,
    /// Whether the reader may register assets, and import them.
    can_write: bool,
    can_import: bool,
}

const COLUMNS: &[(&str, Option<&str>)] = &[
    ("Tag", Some("tag")),
    ("Name", Some("name")),
    ("Class", None),
    ("Model", Some("model")),
    ("State", Some("state")),
    ("Assigned to", None),
    ("Location", None),
    ("Warranty ends", Some("warranty_end")),
    ("Purchased", Some("purchase_date")),
];

async fn list(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    let page = match s.app.list_assets(&auth.actor, &p).await {
        Ok(p) => p,
        Err(e) => return app_error(e),
    };
    let people = names(
        &s,
        &auth,
        Kind::Person,
        page.items.iter().filter_map(|a| a.custody.assignee_person_id).collect(),
    )
    .await;
    let places =
        names(&s, &auth, Kind::Location, page.items.iter().filter_map(|a| a.custody.location_id).collect())
            .await;
    let headings = super::headings("/assets", &p, p.get("sort").unwrap_or("tag"), COLUMNS.iter().copied());
    let rows = page
        .items
        .iter()
        .map(|a| {
            (
                a.id,
                vec![
                    a.fields.tag.clone(),
                    a.fields.name.clone(),
                    a.fields.class.to_string(),
                    a.fields.model.clone().unwrap_or_default(),
                    a.state.to_string(),
                    a.custody.assignee_person_id.and_then(|i| people.get(&i).cloned()).unwrap_or_default(),
                    a.custody.location_id.and_then(|i| places.get(&i).cloned()).unwrap_or_default(),
                    a.fields.warranty_end.map(|d| d.to_string()).unwrap_or_default(),
                    a.fields.purchase_date.map(|d| d.to_string()).unwrap_or_default(),
                ],
            )
        })
        .collect();
    let mut plain = p.clone();
    plain.0.remove("cursor");
    plain.0.remove("limit");
    // A list reached from a location, a cost centre or a person keeps that filter, named on the page and kept
    // when the form is applied (it was dropped by the form and never said).
    let kept: Vec<(String, String)> = plain
        .0
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "q" | "state" | "class"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut chips = Vec::new();
    for (k, v) in kept.iter().filter(|(k, _)| k != "sort") {
        let named = |kind: Kind, what: &str| {
            let s = &s;
            let auth = &auth;
            let what = what.to_string();
            async move {
                let id = v.parse::<i64>().unwrap_or_default();
                let name = names(s, auth, kind, vec![id]).await.remove(&id).unwrap_or_else(|| v.clone());
                format!("{what}: {name}")
            }
        };
        let label = match k.as_str() {
            "location_id" => named(Kind::Location, "Location").await,
            "cost_centre_id" => named(Kind::CostCentre, "Cost centre").await,
            "assignee_person_id" => named(Kind::Person, "Assigned to").await,
            "vendor_id" => named(Kind::Vendor, "Vendor").await,
            "service_id" => named(Kind::Service, "Service").await,
            _ => format!("{}: {v}", k.replace('_', " ")),
        };
        let mut without = plain.clone();
        without.0.remove(k);
        chips.push((label, link("/assets", &without)));
    }
    let (me, nav) = shell(&auth, "/assets");
    render(ListPage {
        kept,
        chips,
        can_write: can_write_assets(&auth),
        can_import: itemize_app::assets::allow_import(&auth.actor).is_ok(),
        me,
        nav,
        q: p.get("q").unwrap_or_default().to_string(),
        states: opts(STATES, p.get("state").unwrap_or(""), "any state"),
        classes: opts(CLASSES, p.get("class").unwrap_or(""), "any class"),
        headings,
        rows,
        next: page.next.map(|c| link("/assets", &p.clone().with("cursor", c))),
        first: p.get("cursor").map(|_| link("/assets", &plain)),
        export: link("/api/v1/assets/export", &plain.clone().with("format", "csv".to_string())),
        labels: link("/assets/labels", &plain),
    })
}

// ------------------------------------------------------------------------------------------------ labels

/// Labels one download holds at most.
const LABELS_AT_ONCE: usize = 2400;

#[derive(Template)]
#[template(path = "labels.html")]
struct LabelsPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    /// The sheets to download, when the filtered list fits in one: (PDF, SVG).
    sheets: Option<(String, String)>,
    message: String,
    back: String,
}

/// `GET /assets/labels?<the list's filters>`: how many labels the filtered list makes and its sheets to print, or,
/// past what one download holds, how to print it in parts.
async fn labels_page(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    let mut plain = p.clone();
    plain.0.remove("cursor");
    plain.0.remove("limit");
    let cap = Some((LABELS_AT_ONCE, "too many labels for one download"));
    let (sheets, message) = match s.app.all_matching(&auth.actor, plain.clone(), cap).await {
        Ok(all) if all.is_empty() => {
            (None, "No asset matches these filters: there is nothing to print.".to_string())
        }
        Ok(all) => (
            Some((
                link("/api/v1/assets/labels", &plain.clone().with("format", "pdf".to_string())),
                link("/api/v1/assets/labels", &plain.clone().with("format", "svg".to_string())),
            )),
            format!("{} label(s), each with its tag, name, serial and a QR code of its tag.", all.len()),
        ),
        Err(AppError::BadRequest { details, .. }) if details.iter().any(|d| d.field == "filters") => (
            None,
            format!(
                "More than {LABELS_AT_ONCE} assets match these filters, and one download holds at most {LABELS_AT_ONCE} \
                 labels: narrow the list (by location, state or class) and print it in parts."
            ),
        ),
        Err(e) => return app_error(e),
    };
    let (me, nav) = shell(&auth, "/assets");
    render(LabelsPage { me, nav, sheets, message, back: link("/assets", &plain) })
}

// ------------------------------------------------------------------------------------------------ detail

#[derive(Template)]
#[template(path = "asset.html")]
struct DetailPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    csrf: String,
    id: i64,
    tag: String,
    name: String,
    state: String,
    etag: String,
    facts: Vec<(String, String)>,
    history: Vec<Vec<String>>,
    relations: Vec<Relation>,
    schedule: Vec<Vec<String>>,
    book_value: String,
    tco: Vec<(String, String)>,
    /// A cloud resource's cost from the ledger: (month, effective, billed), and the totals.
    resource_cost: Vec<(String, String, String)>,
    resource_total: String,
    /// Whether the check-out and check-in forms apply to the asset's state.
    check_out: bool,
    check_in: bool,
    targets: Vec<Opt>,
    /// What the user typed into the transition form, and the errors by field.
    typed: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    form_error: Option<String>,
    message: Option<String>,
    can_write: bool,
}

/// A relationship of an asset: its kind, both ends as (link, label), and when it ended.
pub struct Relation {
    pub kind: String,
    pub from: (String, String),
    pub to: (String, String),
    pub ended: String,
}

impl DetailPage {
    fn typed(&self, k: &str) -> &str {
        self.typed.get(k).map(String::as_str).unwrap_or("")
    }
    fn error(&self, k: &str) -> Option<&str> {
        self.errors.get(k).map(String::as_str)
    }
}

async fn detail_page(s: &AppState, auth: &Auth, id: i64) -> Result<DetailPage, AppError> {
    let a = s.app.get_asset(&auth.actor, id).await?;
    let history = s.app.asset_history(&auth.actor, id).await?;
    // The people, places, services, cost centres and vendors the history names by id, by name instead.
    let mut ids: HashMap<&'static str, Vec<i64>> = HashMap::new();
    for e in &history {
        collect_ids(&e.detail, &mut ids);
    }
    let mut known = Names::new();
    for (field, kind) in HISTORY_IDS {
        let found = names(s, auth, *kind, ids.remove(field).unwrap_or_default()).await;
        known.insert(field, found);
    }
    let relations = s.app.asset_relations(&auth.actor, id).await.unwrap_or_default();
    let mut related: Vec<i64> =
        relations.iter().flat_map(|r| std::iter::once(r.asset_id).chain(r.to_asset_id)).collect();
    related.sort_unstable();
    related.dedup();
    let asset_names: HashMap<i64, String> = asset_tags(s, auth, &related).await.into_iter().collect();
    let service_names =
        names(s, auth, Kind::Service, relations.iter().filter_map(|r| r.to_service_id).collect()).await;
    let schedule = s.app.depreciation_schedule(&auth.actor, id, None).await.ok();
    let tco = s.app.tco(&auth.actor, id).await.ok();
    let resource = match &a.fields.resource_id {
        Some(_) => s.app.asset_resource_cost(&auth.actor, id).await.ok(),
        None => None,
    };
    let person = names(s, auth, Kind::Person, a.custody.assignee_person_id.into_iter().collect()).await;
    let place = names(
        s,
        auth,
        Kind::Location,
        a.custody.location_id.into_iter().chain(a.fields.location_id).collect(),
    )
    .await;
    let cc = names(s, auth, Kind::CostCentre, a.fields.cost_centre_id.into_iter().collect()).await;
    let vendor = names(s, auth, Kind::Vendor, a.fields.vendor_id.into_iter().collect()).await;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let facts = vec![
        ("Class".to_string(), a.fields.class.to_string()),
        ("State".into(), format!("{}{}", a.state, a.substate.map(|s| format!(" ({s})")).unwrap_or_default())),
        (
            "Model".into(),
            format!("{} {}", opt(&a.fields.manufacturer), opt(&a.fields.model)).trim().to_string(),
        ),
        ("Serial".into(), opt(&a.fields.serial)),
        ("Hostname".into(), opt(&a.fields.hostname)),
        (
            "Assigned to".into(),
            a.custody.assignee_person_id.and_then(|i| person.get(&i).cloned()).unwrap_or_default(),
        ),
        ("Location".into(), a.custody.location_id.and_then(|i| place.get(&i).cloned()).unwrap_or_default()),
        ("Expected back".into(), a.custody.expected_return.map(|d| d.to_string()).unwrap_or_default()),
        ("Cost centre".into(), a.fields.cost_centre_id.and_then(|i| cc.get(&i).cloned()).unwrap_or_default()),
        ("Vendor".into(), a.fields.vendor_id.and_then(|i| vendor.get(&i).cloned()).unwrap_or_default()),
        ("Purchased".into(), a.fields.purchase_date.map(|d| d.to_string()).unwrap_or_default()),
        (
            "Cost".into(),
            a.fields
                .purchase_cost
                .map(|c| format!("{} {}", money_text(&c.to_string()), a.fields.currency))
                .unwrap_or_default(),
        ),
        (
            "PO / invoice".into(),
            format!("{} {}", opt(&a.fields.po_number), opt(&a.fields.invoice_number)).trim().to_string(),
        ),
        ("Warranty ends".into(), a.fields.warranty_end.map(|d| d.to_string()).unwrap_or_default()),
        ("End of life".into(), a.fields.end_of_life.map(|d| d.to_string()).unwrap_or_default()),
        ("Resource id".into(), opt(&a.fields.resource_id)),
        (
            "Last audited".into(),
            a.last_audited_at.map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_default(),
        ),
        ("Notes".into(), opt(&a.fields.notes)),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let (me, nav) = shell(auth, "/assets");
    Ok(DetailPage {
        me,
        nav,
        csrf: auth.csrf.clone().unwrap_or_default(),
        id,
        tag: a.fields.tag.clone(),
        name: a.fields.name.clone(),
        state: a.state.to_string(),
        etag: a.etag(),
        facts,
        history: history
            .iter()
            .rev()
            .map(|e| {
                vec![
                    e.at.strftime("%Y-%m-%d %H:%M").to_string(),
                    e.actor.clone(),
                    e.kind.clone(),
                    summarise(&e.detail, &known),
                ]
            })
            .collect(),
        relations: relations
            .iter()
            .map(|r| {
                let asset = |id: i64| {
                    (format!("/assets/{id}"), asset_names.get(&id).cloned().unwrap_or_else(|| id.to_string()))
                };
                let to = match (r.to_asset_id, r.to_service_id) {
                    (Some(a), _) => asset(a),
                    (None, Some(svc)) => (
                        format!("/services/{svc}"),
                        service_names.get(&svc).cloned().unwrap_or_else(|| svc.to_string()),
                    ),
                    (None, None) => (String::new(), String::new()),
                };
                Relation {
                    kind: r.kind.clone(),
                    from: asset(r.asset_id),
                    to,
                    ended: r.ended_at.map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_default(),
                }
            })
            .collect(),
        schedule: schedule
            .as_ref()
            .map(|sc| {
                sc.months
                    .iter()
                    .map(|m| {
                        vec![
                            m.month.strftime("%Y-%m").to_string(),
                            money_text(&m.opening.to_string()),
                            money_text(&m.expense.to_string()),
                            money_text(&m.closing.to_string()),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default(),
        book_value: schedule
            .as_ref()
            .map(|sc| match &sc.written_off {
                Some(w) => format!(
                    "{} {} (written off as {} in {}: {} {})",
                    money_text(&sc.book_value_today),
                    sc.currency,
                    w.how,
                    w.month,
                    money_text(&w.book_value),
                    sc.currency
                ),
                None => format!("{} {}", money_text(&sc.book_value_today), sc.currency),
            })
            .unwrap_or_default(),
        tco: tco
            .map(|t| {
                let mut v = vec![("Purchase".to_string(), money_text(&t.purchase))];
                for c in &t.contracts {
                    let name = c["name"].as_str().or(c["number"].as_str()).unwrap_or("contract").to_string();
                    let share = c["share"].as_str().map(money_text).unwrap_or_else(|| c["share"].to_string());
                    // Each amount with its currency: a contract in another currency than the asset's is not
                    // part of the asset-currency total below.
                    let share = format!("{share} {}", c["currency"].as_str().unwrap_or(""));
                    v.push((format!("Contract: {name}"), share));
                }
                for c in &t.one_off {
                    let c = serde_json::to_value(c).unwrap_or_default();
                    v.push((
                        format!(
                            "{}: {}",
                            c["kind"].as_str().unwrap_or("cost"),
                            c["description"].as_str().unwrap_or("")
                        ),
                        c["amount"].as_str().map(money_text).unwrap_or_default(),
                    ));
                }
                if let Some(c) = &t.cloud {
                    v.push((
                        format!(
                            "Cloud cost in the ledger, {} month(s) ({})",
                            c["months"],
                            c["currency"].as_str().unwrap_or("")
                        ),
                        c["effective"].as_str().map(money_text).unwrap_or_default(),
                    ));
                }
                if t.other_currencies.is_empty() {
                    v.push((format!("Total ({})", t.currency), money_text(&t.total)));
                } else {
                    v.push((format!("Subtotal in {}", t.currency), money_text(&t.total)));
                    for (cur, amount) in &t.other_currencies {
                        v.push((format!("Subtotal in {cur}"), money_text(amount)));
                    }
                    v.push((
                        format!("Total in {} at today's rates ({})", t.currency, t.rates.join("; ")),
                        t.total_converted.as_deref().map(money_text).unwrap_or_else(|| "no rate".into()),
                    ));
                }
                v
            })
            .unwrap_or_default(),
        resource_total: resource
            .as_ref()
            .map(|r| format!("{} {} ({} lines)", money_text(&r.effective_total), r.currency, r.lines))
            .unwrap_or_default(),
        resource_cost: resource
            .map(|r| r.months.iter().map(|(p, e, b)| (p.clone(), money_text(e), money_text(b))).collect())
            .unwrap_or_default(),
        // Offered only where the lifecycle allows them: a disposed, lost or retired asset is neither handed out
        // nor checked in.
        check_out: !matches!(
            a.state,
            AssetState::InUse
                | AssetState::OnLoan
                | AssetState::Missing
                | AssetState::Lost
                | AssetState::Stolen
        ) && allowed_from(a.state).contains(&AssetState::InUse),
        check_in: a.state != AssetState::InStock && allowed_from(a.state).contains(&AssetState::InStock),
        targets: allowed_from(a.state)
            .iter()
            .map(|s| Opt { value: s.to_string(), label: s.to_string(), selected: false })
            .collect(),
        typed: BTreeMap::new(),
        errors: BTreeMap::new(),
        form_error: None,
        message: None,
        can_write: itemize_core::auth::authorize(
            &auth.actor,
            itemize_core::auth::Resource::Assets,
            itemize_core::auth::Action::Write,
        )
        .is_ok(),
    })
}

/// A person by employee id or e-mail, or a location by code or name, as typed into a form.
async fn resolve(s: &AppState, auth: &Auth, field: &str, v: &str) -> Option<i64> {
    let params = itemize_app::ListParams::from_pairs([
        ("q".to_string(), v.to_string()),
        ("limit".to_string(), "50".to_string()),
    ]);
    if field == "location_id" {
        let page = s.app.list::<itemize_core::refdata::Location>(&auth.actor, &params).await.ok()?;
        page.items
            .iter()
            .find(|l| l.fields.code.eq_ignore_ascii_case(v) || l.fields.name.eq_ignore_ascii_case(v))
            .map(|l| l.id.get())
    } else {
        let page = s.app.list::<itemize_core::refdata::Person>(&auth.actor, &params).await.ok()?;
        page.items
            .iter()
            .find(|p| p.fields.employee_id.eq_ignore_ascii_case(v) || p.fields.email.eq_ignore_ascii_case(v))
            .map(|p| p.id.get())
    }
}

/// Fields of an event's detail that hold a record's id, and the kind of record.
const HISTORY_IDS: &[(&str, Kind)] = &[
    ("assignee_person_id", Kind::Person),
    ("location_id", Kind::Location),
    ("service_id", Kind::Service),
    ("cost_centre_id", Kind::CostCentre),
    ("vendor_id", Kind::Vendor),
];

/// Names by id, per id field.
type Names = HashMap<&'static str, HashMap<i64, String>>;

/// The ids `detail` holds in the fields of `HISTORY_IDS`, anywhere in it.
fn collect_ids(detail: &Value, out: &mut HashMap<&'static str, Vec<i64>>) {
    match detail {
        Value::Object(m) => {
            for (k, v) in m {
                if let Some((field, _)) = HISTORY_IDS.iter().find(|(f, _)| f == k) {
                    let ids = match v {
                        Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
                        other => other.as_i64().into_iter().collect::<Vec<_>>(),
                    };
                    out.entry(field).or_default().extend(ids);
                } else {
                    collect_ids(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}

/// A detail field and its value as people read them: `assignee Jane Doe` rather than `assignee_person_id 1427`;
/// a `[before, after]` pair as `before → after`.
fn named(k: &str, v: &Value, known: &Names) -> (String, String) {
    let names = known.get(k);
    let label = match names {
        Some(_) => k.trim_end_matches("_id").trim_end_matches("_person").replace('_', " "),
        None => k.to_string(),
    };
    let one = |v: &Value| match (names, v.as_i64()) {
        (Some(names), Some(id)) => names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
        _ => plain(v),
    };
    let text = match v {
        Value::Array(p) if p.len() == 2 => format!("{} → {}", one(&p[0]), one(&p[1])),
        other => one(other),
    };
    (label, text)
}

/// One line of an event's detail, for people.
fn summarise(detail: &Value, known: &Names) -> String {
    match detail {
        Value::Object(m) if m.get("to").is_some_and(Value::is_object) => {
            let state = |v: &Value| {
                let st = plain(&v["state"]);
                match v["substate"].as_str() {
                    Some(sub) => format!("{st} ({sub})"),
                    None => st,
                }
            };
            let mut out = format!("{} → {}", state(&m["from"]), state(&m["to"]));
            if let Some(r) = m.get("reason").and_then(Value::as_str) {
                out.push_str(&format!(": {r}"));
            }
            if let Some(Value::Object(c)) = m.get("custody") {
                let moved: Vec<String> = c
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "state" | "substate"))
                    .map(|(k, v)| {
                        let (k, v) = named(k, v, known);
                        format!("{k} {v}")
                    })
                    .collect();
                if !moved.is_empty() {
                    out.push_str(&format!(" ({})", moved.join("; ")));
                }
            }
            if let Some(d) = m.get("disposal").filter(|d| d.is_object()) {
                out.push_str(&format!("; disposal {}", summarise(d, known)));
            }
            out
        }
        Value::Object(m) => {
            if let Some(Value::Object(changes)) = m.get("changes") {
                return changes
                    .iter()
                    .map(|(k, v)| {
                        let (k, v) = named(k, v, known);
                        format!("{k}: {v}")
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
            }
            m.iter()
                .filter(|(k, _)| *k != "fields")
                .map(|(k, v)| match v {
                    // `custody: assignee Jane Doe, location London`
                    Value::Object(inner) => {
                        let parts: Vec<String> = inner
                            .iter()
                            .filter(|(_, v)| !v.is_null())
                            .map(|(k, v)| {
                                let (k, v) = named(k, v, known);
                                format!("{k} {v}")
                            })
                            .collect();
                        format!("{k}: {}", parts.join(", "))
                    }
                    _ => {
                        let (k, v) = named(k, v, known);
                        format!("{k}: {v}")
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
        other => plain(other),
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        // An object reads as its set fields: `state in-stock, location_id 1`.
        Value::Object(m) => m
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k} {}", plain(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

async fn detail(State(s): State<AppState>, auth: Auth, PageId(id): PageId, Params(p): Params) -> Response {
    match detail_page(&s, &auth, id).await {
        Ok(mut page) => {
            page.message = p.get("done").map(|d| match d {
                "transition" => "The asset moved.".to_string(),
                "check-out" => "Checked out.".to_string(),
                "check-in" => "Checked in.".to_string(),
                "edit" => "Saved.".to_string(),
                "created" => "Registered.".to_string(),
                _ => String::new(),
            });
            render(page)
        }
        Err(e) => app_error(e),
    }
}

const ID_FIELDS: &[&str] = &["assignee_person_id", "location_id", "service_id"];
const DISPOSAL_FIELDS: &[&str] = &["method", "date", "reference", "proceeds"];
const SANITIZATION_FIELDS: &[&str] = &["method", "attested_by", "date", "certificate"];

/// A form's fields as the JSON a use case takes: empty fields left out, ids as numbers, `disposal_*` fields
/// gathered into `disposal` and `disposal_sanitization_*` into its `sanitization`.
fn form_json(form: &BTreeMap<String, String>) -> Result<Value, (String, String)> {
    let mut m = Map::new();
    let mut disposal = Map::new();
    let mut sanitization = Map::new();
    for (k, v) in form {
        let v = v.trim();
        if v.is_empty() || k == "csrf" || k == "etag" {
            continue;
        }
        if let Some(d) = k.strip_prefix("disposal_sanitization_") {
            if SANITIZATION_FIELDS.contains(&d) {
                sanitization.insert(d.to_string(), json!(v));
            }
            continue;
        }
        if let Some(d) = k.strip_prefix("disposal_") {
            if DISPOSAL_FIELDS.contains(&d) {
                disposal.insert(d.to_string(), json!(v));
            }
            continue;
        }
        if ID_FIELDS.contains(&k.as_str()) {
            let n: i64 =
                v.parse().map_err(|_| (k.clone(), format!("`{v}` is not an id (a whole number)")))?;
            m.insert(k.clone(), json!(n));
        } else if k == "loan" {
            m.insert(k.clone(), json!(v == "on" || v == "true"));
        } else {
            m.insert(k.clone(), json!(v));
        }
    }
    if !sanitization.is_empty() {
        disposal.insert("sanitization".into(), Value::Object(sanitization));
    }
    if !disposal.is_empty() {
        m.insert("disposal".into(), Value::Object(disposal));
    }
    Ok(Value::Object(m))
}

async fn transition(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    asset_form(s, auth, id, &headers, &body, "transition").await
}

async fn check_out(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    asset_form(s, auth, id, &headers, &body, "check-out").await
}

async fn check_in(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    asset_form(s, auth, id, &headers, &body, "check-in").await
}

/// Runs a transition, check-out or check-in from a form; on success back to the asset, otherwise the page
/// again with what was typed and each problem beside its field.
async fn asset_form(
    s: AppState,
    auth: Auth,
    id: i64,
    headers: &HeaderMap,
    body: &[u8],
    what: &str,
) -> Response {
    let f = match super::page_form(&auth, headers, body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    // What was typed, shown again on a refusal (not the ids it was resolved to).
    let typed = f.clone();
    let mut f = f;
    let mut unresolved = None;
    for field in ["assignee_person_id", "location_id"] {
        let Some(v) = f.get(field).map(|v| v.trim().to_string()) else { continue };
        // People and places are typed as people know them; a number is an employee id or a code like any other,
        // never a database id.
        if v.is_empty() {
            continue;
        }
        match resolve(&s, &auth, field, &v).await {
            Some(id) => {
                f.insert(field.to_string(), id.to_string());
            }
            None => {
                let what = if field == "location_id" {
                    "location has the code or name"
                } else {
                    "person has the employee id or e-mail"
                };
                unresolved = Some((field.to_string(), format!("no {what} `{v}`")));
            }
        }
    }
    let result = match unresolved.map_or_else(|| form_json(&f), Err) {
        Err((field, problem)) => {
            Err(AppError::Validation(vec![itemize_core::FieldError::new(&field, problem)]))
        }
        Ok(input) => match what {
            "transition" => {
                s.app.transition_asset(&auth.actor, id, f.get("etag").map(String::as_str), input).await
            }
            "check-out" => s.app.check_out_asset(&auth.actor, id, input).await,
            _ => s.app.check_in_asset(&auth.actor, id, input).await,
        },
    };
    match result {
        Ok(_) => Redirect::to(&format!("/assets/{id}?done={what}")).into_response(),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let mut page = match detail_page(&s, &auth, id).await {
                Ok(p) => p,
                Err(e) => return app_error(e),
            };
            page.typed = typed
                .into_iter()
                .filter(|(k, _)| k != "csrf")
                .map(|(k, v)| (format!("{what}.{k}"), v))
                .collect();
            let details = e.details();
            if details.is_empty() {
                page.form_error = Some(super::public(&e));
            } else {
                for d in &details {
                    // `disposal.sanitization.date` is the form's `disposal_sanitization_date`.
                    let key = format!("{what}.{}", d.field.replace('.', "_"));
                    page.errors.insert(key, d.problem.clone());
                }
                // Every problem is also named here, with its field: none is lost for want of a place beside one.
                let all: Vec<String> =
                    details.iter().map(|d| format!("{}: {}", d.field, d.problem)).collect();
                page.form_error = Some(format!(
                    "The {what} was refused ({}); see the fields marked below.",
                    all.join("; ")
                ));
            }
            (status, render(page)).into_response()
        }
    }
}

// ------------------------------------------------------------------------------------------------ governance

#[derive(Template)]
#[template(path = "governance.html")]
struct GovernancePage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    assets: usize,
    coverage: Vec<(String, String)>,
    by_state: Vec<(String, usize)>,
    violations: Vec<(String, String, String)>,
    accuracy: String,
}

async fn governance(State(s): State<AppState>, auth: Auth) -> Response {
    let g = match s.app.asset_governance(&auth.actor).await {
        Ok(g) => g,
        Err(e) => return app_error(e),
    };
    let (me, nav) = shell(&auth, "/assets");
    render(GovernancePage {
        me,
        nav,
        assets: g.assets,
        coverage: g.coverage.into_iter().collect(),
        by_state: g.by_state.into_iter().collect(),
        violations: g
            .violations
            .iter()
            .take(200)
            .map(|v| {
                let missing = v["missing"].as_array().map_or_else(
                    || plain(&v["missing"]),
                    |m| m.iter().map(plain).collect::<Vec<_>>().join(", "),
                );
                (plain(&v["asset_id"]), plain(&v["tag"]), missing)
            })
            .collect(),
        accuracy: g.inventory_accuracy.unwrap_or_else(|| "—".into()),
    })
}

// ------------------------------------------------------------------------------------------------ contracts

#[derive(Template)]
#[template(path = "contracts.html")]
struct ContractsPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    title: String,
    head: Vec<&'static str>,
    rows: Vec<(String, Vec<String>)>,
    windows: Vec<(String, bool)>,
    filter: Option<ContractFilter>,
    /// Whether the reader may register contracts.
    can_write: bool,
}

/// The contract list's filter form.
pub struct ContractFilter {
    pub q: String,
    /// `false` (active contracts, the default), `true` (archived ones) or `all`.
    pub archived: String,
    pub kinds: Vec<Opt>,
    pub sorts: Vec<Opt>,
}

/// `GET /contracts[?kind=K][&q=TEXT][&sort=end_date|-end_date|name|value|-value]`.
async fn contracts(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    let mut list = match s.app.contracts(&auth.actor).await {
        Ok(l) => l,
        Err(e) => return app_error(e),
    };
    let kind = p.get("kind").unwrap_or("").to_string();
    if !kind.is_empty() && !CONTRACT_KINDS.contains(&kind.as_str()) {
        return app_error(AppError::bad_param(
            "kind",
            format!("`{kind}` is not one of {}", CONTRACT_KINDS.join(", ")),
        ));
    }
    let q = p.get("q").unwrap_or("").trim().to_lowercase();
    let archived = match p.get("archived").unwrap_or("false") {
        a @ ("false" | "true" | "all") => a.to_string(),
        other => {
            return app_error(AppError::bad_param(
                "archived",
                format!("`{other}` is not false, true or all"),
            ));
        }
    };
    let shown = |c: &itemize_store::ContractRow| match archived.as_str() {
        "false" => c.archived_at.is_none(),
        "true" => c.archived_at.is_some(),
        _ => true,
    };
    list.retain(|c| shown(c) && (kind.is_empty() || c.kind == kind));
    if !q.is_empty() {
        list.retain(|c| c.number.to_lowercase().contains(&q) || c.name.to_lowercase().contains(&q));
    }
    let sort = p.get("sort").unwrap_or("end_date").to_string();
    let value = |c: &itemize_store::ContractRow| c.value.parse::<rust_decimal::Decimal>().unwrap_or_default();
    match sort.trim_start_matches('-') {
        // By the end of the current term: an auto-renewing contract past the end it was entered with comes up
        // again at its renewed end.
        "end_date" => {
            let end = |c: &itemize_store::ContractRow| {
                s.app.contract_term(c).map_or_else(|| c.end_date.clone(), |(_, end, _)| end.to_string())
            };
            list.sort_by_cached_key(|c| (end(c), c.id))
        }
        "name" => {
            list.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)))
        }
        "value" => list.sort_by(|a, b| value(a).cmp(&value(b)).then(a.id.cmp(&b.id))),
        other => {
            return app_error(AppError::bad_param(
                "sort",
                format!("`{other}` is not end_date, name or value"),
            ));
        }
    }
    if sort.starts_with('-') {
        list.reverse();
    }
    let (me, nav) = shell(&auth, "/contracts");
    render(ContractsPage {
        me,
        nav,
        title: "Contracts".into(),
        head: vec![
            "Number",
            "Name",
            "Kind",
            "Value",
            "Billing",
            "Start",
            "End",
            "Renewal",
            "Notice (days)",
            "Assets",
        ],
        rows: list
            .iter()
            .map(|c| {
                (
                    format!("/contracts/{}", c.id),
                    vec![
                        c.number.clone(),
                        if c.archived_at.is_some() {
                            format!("{} (archived)", c.name)
                        } else {
                            c.name.clone()
                        },
                        c.kind.clone(),
                        format!("{} {}", money_text(&c.value), c.currency),
                        c.billing_frequency.clone(),
                        c.start_date.clone(),
                        s.app.contract_term(c).map_or_else(
                            || c.end_date.clone(),
                            |(_, end, renewed)| match renewed {
                                0 => end.to_string(),
                                n => format!("{end} (renewed {n}×)"),
                            },
                        ),
                        c.renewal.clone(),
                        c.notice_days.to_string(),
                        c.asset_ids.len().to_string(),
                    ],
                )
            })
            .collect(),
        windows: Vec::new(),
        can_write: allow_contracts(&auth).is_ok(),
        filter: Some(ContractFilter {
            q: p.get("q").unwrap_or("").to_string(),
            archived,
            kinds: opts(&CONTRACT_KINDS, &kind, "any kind"),
            sorts: [
                ("end_date", "ending first"),
                ("-end_date", "ending last"),
                ("name", "name"),
                ("-value", "largest value"),
            ]
            .iter()
            .map(|(v, l)| Opt { value: v.to_string(), label: l.to_string(), selected: *v == sort })
            .collect(),
        }),
    })
}

async fn renewals(State(s): State<AppState>, auth: Auth, Params(p): Params) -> Response {
    // As the API reads it: 1 to 3650 days.
    let days = match super::reports::bounded(&p, "days", 90, 1, 3650, "days") {
        Ok(d) => d,
        Err(e) => return app_error(e),
    };
    let list = match s.app.renewal_calendar(&auth.actor, days).await {
        Ok(l) => l,
        Err(e) => return app_error(e),
    };
    let (me, nav) = shell(&auth, "/contracts");
    render(ContractsPage {
        me,
        nav,
        title: format!("Renewals in the next {days} days"),
        head: vec![
            "Number",
            "Name",
            "Kind",
            "Value",
            "Renewal",
            "Notice by",
            "Days to notice",
            "Ends",
            "Assets",
        ],
        rows: list
            .iter()
            .map(|r| {
                (
                    format!("/contracts/{}", r.contract_id),
                    vec![
                        r.number.clone(),
                        r.name.clone(),
                        r.kind.clone(),
                        format!("{} {}", money_text(&r.value), r.currency),
                        r.renewal.clone(),
                        format!("{}{}", r.notice_deadline, if r.notice_passed { " (passed)" } else { "" }),
                        r.days_to_notice.to_string(),
                        match r.terms_renewed {
                            0 => r.end_date.to_string(),
                            1 => format!("{} (renewed once)", r.end_date),
                            n => format!("{} (renewed {n} times)", r.end_date),
                        },
                        r.assets.to_string(),
                    ],
                )
            })
            .collect(),
        windows: [30u32, 60, 90, 180, 365].iter().map(|d| (d.to_string(), *d == days)).collect(),
        can_write: false,
        filter: None,
    })
}

#[derive(Template)]
#[template(path = "contract.html")]
struct ContractPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    number: String,
    name: String,
    facts: Vec<(String, String)>,
    assets: Vec<(i64, String)>,
    /// How many assets it covers (the list shows the first `LISTED_ASSETS`).
    covered: usize,
    id: i64,
    csrf: String,
    can_write: bool,
    archived: bool,
    message: Option<&'static str>,
}

async fn contract(State(s): State<AppState>, auth: Auth, PageId(id): PageId, Params(p): Params) -> Response {
    let c = match s.app.contract(&auth.actor, id).await {
        Ok(c) => c,
        Err(e) => return app_error(e),
    };
    let assets = asset_tags(&s, &auth, &c.asset_ids).await;
    let vendor = names(&s, &auth, Kind::Vendor, c.vendor_id.into_iter().collect()).await;
    let owner = names(&s, &auth, Kind::Person, c.owner_person_id.into_iter().collect()).await;
    let cc = names(&s, &auth, Kind::CostCentre, c.cost_centre_id.into_iter().collect()).await;
    let (me, nav) = shell(&auth, "/contracts");
    render(ContractPage {
        me,
        nav,
        id,
        csrf: auth.csrf.clone().unwrap_or_default(),
        can_write: allow_contracts(&auth).is_ok(),
        archived: c.archived_at.is_some(),
        message: p.get("done").and_then(|d| match d {
            "created" => Some("Registered."),
            "edit" => Some("Saved."),
            "archived" => Some("Archived: it has left the renewal calendar and the refresh plan."),
            "restored" => Some("Restored."),
            _ => None,
        }),
        number: c.number.clone(),
        name: c.name.clone(),
        facts: vec![
            ("Kind".to_string(), c.kind.clone()),
            ("Vendor".into(), c.vendor_id.and_then(|v| vendor.get(&v).cloned()).unwrap_or_default()),
            ("Value".into(), format!("{} {}", money_text(&c.value), c.currency)),
            ("Billing".into(), c.billing_frequency.clone()),
            ("Term".into(), term_text(&s, &c)),
            ("Renewal".into(), c.renewal.clone()),
            ("Notice".into(), notice_text(&s, &c)),
            ("Owner".into(), c.owner_person_id.and_then(|v| owner.get(&v).cloned()).unwrap_or_default()),
            ("Cost centre".into(), c.cost_centre_id.and_then(|v| cc.get(&v).cloned()).unwrap_or_default()),
            ("Notes".into(), c.notes.clone().unwrap_or_default()),
            ("Archived".into(), c.archived_at.clone().unwrap_or_else(|| "no".into())),
        ],
        assets,
        covered: c.asset_ids.len(),
    })
}

// ------------------------------------------------------------------------------------------------ new and edit

/// How a field of the asset forms is typed in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    Text,
    Date,
    /// A whole number.
    Number,
    /// One of these values, chosen from a list.
    Choice(&'static [&'static str]),
    /// Another record, typed as people know it: a code, an employee id, a vendor's name.
    Ref(Kind),
    /// Assets by tag or serial, separated by `;`: given to the use case as `asset_ids`.
    Tags,
}

/// A field of an asset form: (field, label, entry, hint).
type FormField = (&'static str, &'static str, Entry, &'static str);

/// The states a new asset may start in (later ones are reached by transitions).
const NEW_STATES: &[&str] = &["in-stock", "requested", "on-order", "in-use"];
const METHODS: &[&str] = &["straight-line", "declining-balance", "none"];

/// The new-asset form.
const NEW_FIELDS: &[FormField] = &[
    ("tag", "Asset tag", Entry::Text, "unique in the register, e.g. LT-04211"),
    ("name", "Name", Entry::Text, ""),
    ("class", "Class", Entry::Choice(CLASSES), ""),
    ("state", "First state", Entry::Choice(NEW_STATES), "in use needs an assignee or a location"),
    ("assignee_person_id", "Assigned to", Entry::Ref(Kind::Person), "employee id"),
    (
        "expected_return",
        "Due back",
        Entry::Date,
        "for an asset handed out for a while, or to someone leaving",
    ),
    ("location_id", "Location", Entry::Ref(Kind::Location), "its code"),
    ("cost_centre_id", "Cost centre", Entry::Ref(Kind::CostCentre), "its code"),
    ("model", "Model", Entry::Text, ""),
    ("manufacturer", "Manufacturer", Entry::Text, ""),
    ("serial", "Serial", Entry::Text, ""),
    ("hostname", "Hostname", Entry::Text, ""),
    ("vendor_id", "Vendor", Entry::Ref(Kind::Vendor), "its name"),
    ("purchase_date", "Purchase date", Entry::Date, ""),
    ("purchase_cost", "Purchase cost", Entry::Text, "e.g. 1299.00"),
    ("currency", "Currency", Entry::Text, "ISO 4217, e.g. EUR; the reporting currency when empty"),
    ("po_number", "PO number", Entry::Text, ""),
    ("invoice_number", "Invoice number", Entry::Text, ""),
    ("warranty_end", "Warranty ends", Entry::Date, ""),
    ("end_of_life", "End of life", Entry::Date, ""),
    ("depreciation_method", "Depreciation", Entry::Choice(METHODS), ""),
    ("useful_life_months", "Useful life (months)", Entry::Number, ""),
    ("salvage_value", "Salvage value", Entry::Text, ""),
    ("notes", "Notes", Entry::Text, ""),
];

/// The fields the edit form offers: the new-asset form's, but the tag, the class (which decide the asset's
/// custom fields and labels) and the state and custody, which change through a transition or a check-out.
fn editable() -> impl Iterator<Item = &'static FormField> {
    NEW_FIELDS.iter().filter(|f| {
        !matches!(f.0, "tag" | "class" | "state" | "assignee_person_id" | "expected_return" | "location_id")
    })
}

pub struct Input {
    pub name: &'static str,
    pub label: &'static str,
    /// The HTML input's type: text, date or number (a text input with a numeric keyboard); a choice is a list.
    pub kind: &'static str,
    pub hint: &'static str,
    /// A choice's values (the form shows a list), empty for the other entries.
    pub options: Vec<Opt>,
    pub value: String,
    pub error: Option<String>,
}

impl Input {
    fn new(field: &FormField, value: String) -> Self {
        let (name, label, entry, hint) = *field;
        let options = match entry {
            Entry::Choice(values) => values
                .iter()
                .map(|v| Opt { value: v.to_string(), label: v.to_string(), selected: *v == value })
                .collect(),
            _ => Vec::new(),
        };
        let kind = match entry {
            Entry::Date => "date",
            Entry::Number => "number",
            _ => "text",
        };
        Input { name, label, kind, hint, options, value, error: None }
    }

    /// Keeps what was typed, a choice's list showing it.
    fn set(&mut self, sent: String) {
        for o in &mut self.options {
            o.selected = o.value == sent;
        }
        self.value = sent;
    }
}

/// Who is meant by a reference and how they are typed, for a problem with one.
fn key_words(kind: Kind) -> &'static str {
    match kind {
        Kind::Person => "no person has the employee id",
        Kind::Location => "no location has the code",
        Kind::CostCentre => "no cost centre has the code",
        Kind::Service => "no service has the code",
        Kind::Vendor => "no vendor is named",
    }
}

/// The JSON a value typed into a form stands for, or what is wrong with it.
async fn entered(s: &AppState, auth: &Auth, entry: Entry, sent: &str) -> Result<Value, String> {
    match entry {
        Entry::Number => {
            sent.parse::<i64>().map(|n| json!(n)).map_err(|_| format!("`{sent}` is not a whole number"))
        }
        Entry::Ref(kind) => match s.app.id_by_key(&auth.actor, kind, sent).await {
            Ok(Some(id)) => Ok(json!(id)),
            _ => Err(format!("{} `{sent}`", key_words(kind))),
        },
        Entry::Choice(values) if !values.contains(&sent) => {
            Err(format!("`{sent}` is not one of {}", values.join(", ")))
        }
        Entry::Tags => {
            let mut ids = Vec::new();
            let mut unknown = Vec::new();
            for tag in sent.split(';').map(str::trim).filter(|t| !t.is_empty()) {
                match s.app.find_asset(&auth.actor, tag).await {
                    Ok(a) => ids.push(a.id),
                    Err(_) => unknown.push(format!("`{tag}`")),
                }
            }
            if unknown.is_empty() {
                Ok(json!(ids))
            } else {
                Err(format!("no asset has the tag or serial {}", unknown.join(", ")))
            }
        }
        _ => Ok(json!(sent)),
    }
}

/// A form's fields as JSON for its use case, each typed value checked and resolved ([`entered`]), every problem
/// beside its field and what was typed kept. `patch`: only the fields that changed, an emptied one as null (a
/// merge patch); otherwise every filled field.
async fn read_form(
    s: &AppState,
    auth: &Auth,
    inputs: &mut [Input],
    fields: impl IntoIterator<Item = &'static FormField>,
    f: &BTreeMap<String, String>,
    patch: bool,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (input, field) in inputs.iter_mut().zip(fields) {
        let Some(sent) = f.get(input.name).map(|v| v.trim().to_string()) else { continue };
        if patch && sent == input.value {
            continue;
        }
        input.set(sent.clone());
        let key = if field.2 == Entry::Tags { "asset_ids" } else { input.name };
        if sent.is_empty() {
            if patch {
                out.insert(key.to_string(), Value::Null);
            }
            continue;
        }
        match entered(s, auth, field.2, &sent).await {
            Ok(v) => {
                out.insert(key.to_string(), v);
            }
            Err(problem) => input.error = Some(problem),
        }
    }
    out
}

/// A refusal of the use case shown on a form: each problem beside its field, the others in the summary.
fn refused_on(inputs: &mut [Input], e: &AppError) -> String {
    let mut elsewhere = Vec::new();
    for d in e.details() {
        match inputs.iter_mut().find(|i| i.name == d.field) {
            Some(i) => i.error = Some(d.problem.clone()),
            None => elsewhere.push(format!("{}: {}", d.field, d.problem)),
        }
    }
    let said = super::public(e);
    let said = said.trim_end_matches('.');
    if elsewhere.is_empty() {
        format!("{said}. Nothing was saved.")
    } else {
        format!("{said} ({}). Nothing was saved.", elsewhere.join("; "))
    }
}

#[derive(Template)]
#[template(path = "asset_edit.html")]
struct EditPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    csrf: String,
    title: String,
    /// Where the form posts, and where Cancel leads.
    action: String,
    cancel: String,
    etag: String,
    inputs: Vec<Input>,
    form_error: Option<String>,
    /// A line under the form.
    note: Option<&'static str>,
}

fn new_page(auth: &Auth) -> EditPage {
    let (me, nav) = shell(auth, "/assets");
    EditPage {
        me,
        nav,
        csrf: auth.csrf.clone().unwrap_or_default(),
        title: "New asset".into(),
        action: "/assets/new".into(),
        cancel: "/assets".into(),
        etag: String::new(),
        inputs: NEW_FIELDS
            .iter()
            .map(|f| {
                // The first state is chosen for the user (in stock); the class and the depreciation are theirs to
                // choose (left empty, the register's default applies, as in an import).
                let first = match f.2 {
                    Entry::Choice(values) if f.0 == "state" => values[0].to_string(),
                    _ => String::new(),
                };
                Input::new(f, first)
            })
            .collect(),
        form_error: None,
        note: None,
    }
}

async fn new_form(auth: Auth) -> Response {
    if let Err(e) = allow_write(&auth) {
        return app_error(e);
    }
    render(new_page(&auth))
}

/// Registers an asset from the form: every filled field, references by their natural keys; a refusal keeps
/// what was typed and names each problem beside its field.
async fn create(State(s): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> Response {
    let f = match super::page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if let Err(e) = allow_write(&auth) {
        return app_error(e);
    }
    let mut page = new_page(&auth);
    let input = read_form(&s, &auth, &mut page.inputs, NEW_FIELDS, &f, false).await;
    let status = if page.inputs.iter().any(|i| i.error.is_some()) {
        // The rest of the form is checked too, so every problem is named at once (not the next one only after
        // the first is fixed); a rule that needs what could not be resolved (in use without its assignee) is
        // left to the resolved value.
        let unresolved: Vec<&str> =
            page.inputs.iter().filter(|i| i.error.is_some()).map(|i| i.name).collect();
        let custody_typed = unresolved.iter().any(|n| matches!(*n, "assignee_person_id" | "location_id"));
        if let Err(e) = s.app.check_new_asset(&auth.actor, Value::Object(input)).await {
            for d in e.details() {
                if custody_typed && d.field == "assignee_person_id" {
                    continue;
                }
                if let Some(i) = page.inputs.iter_mut().find(|i| i.name == d.field && i.error.is_none()) {
                    i.error = Some(d.problem.clone());
                }
            }
        }
        page.form_error = Some("Nothing was saved: see the fields marked below.".into());
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        match s.app.create_asset(&auth.actor, Value::Object(input)).await {
            Ok(a) => return Redirect::to(&format!("/assets/{}?done=created", a.id)).into_response(),
            Err(e) => {
                page.form_error = Some(refused_on(&mut page.inputs, &e));
                crate::error::status_of(&e)
            }
        }
    };
    (status, render(page)).into_response()
}

fn allow_write(auth: &Auth) -> Result<(), AppError> {
    if can_write_assets(auth) {
        Ok(())
    } else {
        Err(AppError::Forbidden("your role may not change assets".into()))
    }
}

async fn edit_page(s: &AppState, auth: &Auth, id: i64) -> Result<EditPage, AppError> {
    let a = s.app.get_asset(&auth.actor, id).await?;
    let j = a.fields.to_json();
    let (me, nav) = shell(auth, "/assets");
    let mut inputs = Vec::new();
    for field in editable() {
        let value = match (field.2, j[field.0].as_i64()) {
            // A reference shows as it is typed; one outside a scoped user's cost centres is left blank (and an
            // untouched field is not sent back, so saving keeps it).
            (Entry::Ref(kind), Some(rid)) => {
                s.app.keys_by_id(&auth.actor, kind, &[rid]).await?.remove(&rid).unwrap_or_default()
            }
            _ => plain(&j[field.0]).replace('—', ""),
        };
        inputs.push(Input::new(field, value));
    }
    Ok(EditPage {
        me,
        nav,
        csrf: auth.csrf.clone().unwrap_or_default(),
        title: format!("Edit {}", a.fields.tag),
        action: format!("/assets/{id}/edit"),
        cancel: format!("/assets/{id}"),
        etag: a.etag(),
        inputs,
        form_error: None,
        note: Some(
            "State, assignee and location change through a transition or a check-out on the asset's page.",
        ),
    })
}

async fn edit_form(State(s): State<AppState>, auth: Auth, PageId(id): PageId) -> Response {
    super::show(edit_page(&s, &auth, id).await)
}

/// Saves the edit form as a merge patch of the fields that changed (an emptied field is cleared), guarded by
/// the version the form was read at: a change made meanwhile by someone else is not overwritten.
async fn edit(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = match super::page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let mut page = match edit_page(&s, &auth, id).await {
        Ok(p) => p,
        Err(e) => return app_error(e),
    };
    let patch = read_form(&s, &auth, &mut page.inputs, editable(), &f, true).await;
    let status = if page.inputs.iter().any(|i| i.error.is_some()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        match s
            .app
            .update_asset(&auth.actor, id, f.get("etag").map(String::as_str), Value::Object(patch))
            .await
        {
            Ok(_) => return Redirect::to(&format!("/assets/{id}?done=edit")).into_response(),
            Err(e) => {
                for d in e.details() {
                    if let Some(i) = page.inputs.iter_mut().find(|i| i.name == d.field) {
                        i.error = Some(d.problem.clone());
                    }
                }
                page.form_error = Some(super::explain(&e));
                crate::error::status_of(&e)
            }
        }
    };
    if page.form_error.is_none() {
        page.form_error = Some("Nothing was saved: see the fields marked below.".into());
    }
    (status, render(page)).into_response()
}

// ------------------------------------------------------------------------------------------------ contract forms

/// The contract form: (field, label, entry, hint). `assets` is the covered assets' tags.
const CONTRACT_FIELDS: &[FormField] = &[
    ("number", "Number", Entry::Text, "the vendor's or your reference, e.g. MSA-2026-014"),
    ("name", "Name", Entry::Text, ""),
    ("kind", "Kind", Entry::Choice(&CONTRACT_KINDS), ""),
    ("vendor_id", "Vendor", Entry::Ref(Kind::Vendor), "its name"),
    ("value", "Value per term", Entry::Text, "e.g. 12000.00"),
    ("currency", "Currency", Entry::Text, "ISO 4217, e.g. EUR; the reporting currency when empty"),
    ("billing_frequency", "Billing", Entry::Choice(&BILLING), ""),
    ("start_date", "Starts", Entry::Date, ""),
    ("end_date", "Ends", Entry::Date, ""),
    ("renewal", "Renewal", Entry::Choice(&RENEWALS), ""),
    ("notice_days", "Notice (days)", Entry::Number, "days before the end by which to give notice"),
    ("owner_person_id", "Owner", Entry::Ref(Kind::Person), "employee id"),
    ("cost_centre_id", "Cost centre", Entry::Ref(Kind::CostCentre), "its code"),
    ("assets", "Assets covered", Entry::Tags, "asset tags, separated by ;"),
    ("notes", "Notes", Entry::Text, ""),
];

fn contract_form(auth: &Auth, title: String, action: String, cancel: String) -> EditPage {
    let (me, nav) = shell(auth, "/contracts");
    EditPage {
        me,
        nav,
        csrf: auth.csrf.clone().unwrap_or_default(),
        title,
        action,
        cancel,
        etag: String::new(),
        inputs: CONTRACT_FIELDS
            .iter()
            .map(|f| {
                let first = match f.0 {
                    "billing_frequency" => "annual",
                    "renewal" => "manual",
                    _ => "",
                };
                Input::new(f, first.to_string())
            })
            .collect(),
        form_error: None,
        note: None,
    }
}

fn allow_contracts(auth: &Auth) -> Result<(), AppError> {
    itemize_core::auth::authorize(
        &auth.actor,
        itemize_core::auth::Resource::Contracts,
        itemize_core::auth::Action::Write,
    )
    .map_err(|e| AppError::Forbidden(e.to_string()))
}

async fn new_contract_form(auth: Auth) -> Response {
    if let Err(e) = allow_contracts(&auth) {
        return app_error(e);
    }
    render(contract_form(&auth, "New contract".into(), "/contracts/new".into(), "/contracts".into()))
}

async fn create_contract(State(s): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> Response {
    let f = match super::page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if let Err(e) = allow_contracts(&auth) {
        return app_error(e);
    }
    let mut page = contract_form(&auth, "New contract".into(), "/contracts/new".into(), "/contracts".into());
    let input = read_form(&s, &auth, &mut page.inputs, CONTRACT_FIELDS, &f, false).await;
    let status = if page.inputs.iter().any(|i| i.error.is_some()) {
        page.form_error = Some("Nothing was saved: see the fields marked below.".into());
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        match s.app.create_contract(&auth.actor, Value::Object(input)).await {
            Ok(c) => return Redirect::to(&format!("/contracts/{}?done=created", c.id)).into_response(),
            Err(e) => {
                page.form_error = Some(refused_on(&mut page.inputs, &e));
                crate::error::status_of(&e)
            }
        }
    };
    (status, render(page)).into_response()
}

/// The edit form filled with the contract as it is, references and assets as they are typed.
async fn contract_edit_page(s: &AppState, auth: &Auth, id: i64) -> Result<EditPage, AppError> {
    allow_contracts(auth)?;
    let c = s.app.contract(&auth.actor, id).await?;
    let mut page = contract_form(
        auth,
        format!("Edit {}", c.number),
        format!("/contracts/{id}/edit"),
        format!("/contracts/{id}"),
    );
    page.etag = c.version.to_string();
    let j = serde_json::to_value(&c).unwrap_or_default();
    let tags: Vec<String> =
        s.app.assets_by_ids(&auth.actor, &c.asset_ids).await?.into_iter().map(|a| a.fields.tag).collect();
    for (input, field) in page.inputs.iter_mut().zip(CONTRACT_FIELDS) {
        let value = match (field.2, &j[field.0]) {
            (Entry::Tags, _) => tags.join("; "),
            (Entry::Ref(kind), v) => match v.as_i64() {
                Some(rid) => {
                    s.app.keys_by_id(&auth.actor, kind, &[rid]).await?.remove(&rid).unwrap_or_default()
                }
                None => String::new(),
            },
            (_, Value::Null) => String::new(),
            (_, Value::String(t)) => t.clone(),
            (_, v) => v.to_string(),
        };
        input.set(value);
    }
    Ok(page)
}

async fn contract_edit_form(State(s): State<AppState>, auth: Auth, PageId(id): PageId) -> Response {
    super::show(contract_edit_page(&s, &auth, id).await)
}

/// Saves the contract form as a patch of what changed, guarded by the version the form was read at.
async fn edit_contract(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = match super::page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let mut page = match contract_edit_page(&s, &auth, id).await {
        Ok(p) => p,
        Err(e) => return app_error(e),
    };
    let version = f.get("etag").and_then(|v| v.parse::<i64>().ok());
    let patch = read_form(&s, &auth, &mut page.inputs, CONTRACT_FIELDS, &f, true).await;
    let status = if page.inputs.iter().any(|i| i.error.is_some()) {
        page.form_error = Some("Nothing was saved: see the fields marked below.".into());
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        match s.app.update_contract_at(&auth.actor, id, version, Value::Object(patch)).await {
            Ok(_) => return Redirect::to(&format!("/contracts/{id}?done=edit")).into_response(),
            Err(e) => {
                page.form_error = Some(refused_on(&mut page.inputs, &e));
                crate::error::status_of(&e)
            }
        }
    };
    (status, render(page)).into_response()
}

/// Archives a contract (or restores it) from its page; nothing is deleted.
async fn archive_contract(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = match super::page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let archive = match f.get("archived").map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => return app_error(AppError::bad_param("archived", "is true or false")),
    };
    match s.app.set_contract_archived(&auth.actor, id, archive).await {
        Ok(_) => {
            let done = if archive { "archived" } else { "restored" };
            Redirect::to(&format!("/contracts/{id}?done={done}")).into_response()
        }
        Err(e) => app_error(e),
    }
}

// ------------------------------------------------------------------------------------------------ import

/// Largest asset file the import page takes (a register of a few hundred thousand rows).
const IMPORT_LIMIT: usize = 64 << 20;

#[derive(Template)]
#[template(path = "asset_import.html")]
struct ImportPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    csrf: String,
    /// What the form was last sent with, kept: the format, the header mapping, lenient.
    format: Vec<Opt>,
    map: String,
    lenient: bool,
    error: Option<String>,
    /// The previewed or imported file: its name and where the page keeps it for the import.
    file_name: String,
    staged: String,
    report: Option<ImportReport>,
    /// A preview's first assets as they would be written: tag, name, class, state, serial, model, purchase.
    preview: Vec<Vec<String>>,
    counts: Vec<(String, usize)>,
}

fn import_page(auth: &Auth) -> ImportPage {
    let (me, nav) = shell(auth, "/assets");
    ImportPage {
        me,
        nav,
        csrf: auth.csrf.clone().unwrap_or_default(),
        format: import_formats(""),
        map: String::new(),
        lenient: false,
        error: None,
        file_name: String::new(),
        staged: String::new(),
        report: None,
        preview: Vec::new(),
        counts: Vec::new(),
    }
}

fn import_formats(current: &str) -> Vec<Opt> {
    [
        ("", "told by the header"),
        ("itemize", "itemize (columns named as fields)"),
        ("snipe-it", "Snipe-IT export"),
    ]
    .iter()
    .map(|(v, l)| Opt { value: v.to_string(), label: l.to_string(), selected: *v == current })
    .collect()
}

async fn import_form(auth: Auth) -> Response {
    if let Err(e) = itemize_app::assets::allow_import(&auth.actor) {
        return app_error(e);
    }
    render(import_page(&auth))
}

/// `POST /assets/import` (multipart: `csrf`, `file` or the `staged` file of a preview, `format`, `map`,
/// `lenient`, and `action`: `preview`, the default, checks the file and writes nothing; `import` writes it).
async fn import_upload(State(s): State<AppState>, auth: Auth, req: axum::extract::Request) -> Response {
    if let Err(r) = super::require_browser(&auth) {
        return *r;
    }
    if let Err(e) = itemize_app::assets::allow_import(&auth.actor) {
        return app_error(e);
    }
    let mut page = import_page(&auth);
    let header_csrf =
        req.headers().get(crate::auth::CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut csrf_ok = header_csrf.is_some_and(|h| crate::auth::form_csrf_ok(&auth, &h));
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut file: Option<Vec<u8>> = None;
    let read = async {
        let mut form =
            <axum::extract::Multipart as axum::extract::FromRequest<AppState>>::from_request(req, &s)
                .await
                .map_err(|e| e.body_text())?;
        while let Some(field) = form.next_field().await.map_err(|e| e.body_text())? {
            let name = field.name().unwrap_or_default().to_string();
            if name == "file" {
                let file_name =
                    field.file_name().map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).to_string());
                let bytes = field.bytes().await.map_err(|e| e.body_text())?;
                // A form sent without a file chosen still carries an empty `file` part.
                if !bytes.is_empty() {
                    fields.insert("file_name".into(), file_name.unwrap_or_else(|| "upload".into()));
                    file = Some(bytes.to_vec());
                }
            } else {
                fields.insert(name, field.text().await.map_err(|e| e.body_text())?);
            }
        }
        Ok::<_, String>(())
    }
    .await;
    let field = |k: &str| fields.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    page.format = import_formats(&field("format"));
    page.map = field("map");
    page.lenient = matches!(field("lenient").as_str(), "on" | "true");
    page.file_name = field("file_name");
    if let Err(e) = read {
        page.error = Some(format!("The upload could not be read ({e}). Nothing was imported."));
        return (StatusCode::BAD_REQUEST, render(page)).into_response();
    }
    csrf_ok = csrf_ok || fields.get("csrf").is_some_and(|v| crate::auth::form_csrf_ok(&auth, v));
    if !csrf_ok {
        page.error = Some("The form expired: reload the page. Nothing was imported.".into());
        return (StatusCode::FORBIDDEN, render(page)).into_response();
    }
    let write = match field("action").as_str() {
        "" | "preview" => false,
        "import" => true,
        other => {
            page.error = Some(format!("`{other}` is not an action of this form (preview or import)."));
            return (StatusCode::UNPROCESSABLE_ENTITY, render(page)).into_response();
        }
    };
    let bytes = match (file, field("staged")) {
        (Some(b), _) => b,
        (None, staged) if !staged.is_empty() => match s.app.staged_asset_file(&auth.actor, &staged).await {
            Ok(b) => b,
            Err(e) => {
                page.error = Some(super::explain(&e));
                return (crate::error::status_of(&e), render(page)).into_response();
            }
        },
        _ => {
            page.error = Some("Choose a CSV or XLSX file of assets.".into());
            return (StatusCode::UNPROCESSABLE_ENTITY, render(page)).into_response();
        }
    };
    let params = itemize_app::ListParams::from_pairs(
        [
            ("format", field("format")),
            ("map", page.map.clone()),
            ("lenient", page.lenient.to_string()),
            ("dry_run", (!write).to_string()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v)),
    );
    let report = match itemize_app::asset_import::ImportOptions::from_params(&params) {
        Ok(opts) => {
            // The import confirmed from a preview writes what the preview said, or nothing: checked again first,
            // a register changed meanwhile (an asset of the file's added since) is said, not overwritten.
            let expected = field("expect");
            let mut changed = None;
            if write && !expected.is_empty() {
                let dry = itemize_app::asset_import::ImportOptions { dry_run: true, ..opts.clone() };
                match s.app.import_assets(&auth.actor, &bytes, &dry).await {
                    Ok(r) if format!("{},{}", r.created, r.updated) != expected => {
                        changed = Some(format!(
                            "The register changed since the preview: the file would now add {} and update {} \
                             (the preview said {}). Nothing was imported; preview it again.",
                            r.created,
                            r.updated,
                            expected.replacen(',', " new, ", 1) + " updated"
                        ))
                    }
                    Ok(_) => {}
                    Err(e) => changed = Some(format!("{} Nothing was imported.", super::explain(&e))),
                }
            }
            match changed {
                Some(why) => {
                    page.error = Some(why);
                    return (StatusCode::CONFLICT, render(page)).into_response();
                }
                None => s.app.import_assets(&auth.actor, &bytes, &opts).await,
            }
        }
        Err(e) => Err(e),
    };
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            page.error = Some(format!("{} Nothing was imported.", super::explain(&e)));
            return (crate::error::status_of(&e), render(page)).into_response();
        }
    };
    if write && report.committed {
        s.app.drop_staged_asset_file(&field("staged")).await;
    } else if report.ok() {
        match s.app.stage_asset_file(&auth.actor, &bytes).await {
            Ok(name) => page.staged = name,
            Err(e) => page.error = Some(super::explain(&e)),
        }
    }
    let status = if report.ok() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    page.preview = report
        .preview
        .iter()
        .map(|a| {
            let t = |k: &str| plain(&a[k]).replace('—', "");
            let cost = match t("purchase_cost").as_str() {
                "" => String::new(),
                c => format!("{c} {}", t("currency")),
            };
            vec![
                t("tag"),
                t("name"),
                t("class"),
                t("state"),
                t("serial"),
                t("model"),
                t("purchase_date"),
                cost,
            ]
        })
        .collect();
    let mut counts: Vec<(String, usize)> = report.error_counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    page.counts = counts;
    page.report = Some(report);
    (status, render(page)).into_response()
}

// ------------------------------------------------------------------------------------------------ audits

#[derive(Template)]
#[template(path = "audits.html")]
struct AuditsPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    csrf: String,
    rows: Vec<(i64, Vec<String>)>,
    locations: Vec<Opt>,
    error: Option<String>,
    can_write: bool,
}

fn can_write_assets(auth: &Auth) -> bool {
    itemize_core::auth::authorize(
        &auth.actor,
        itemize_core::auth::Resource::Assets,
        itemize_core::auth::Action::Write,
    )
    .is_ok()
}

async fn audits_page(s: &AppState, auth: &Auth, error: Option<String>) -> Result<AuditsPage, AppError> {
    let list = s.app.audits(&auth.actor).await?;
    let locations = s
        .app
        .list::<itemize_core::refdata::Location>(
            &auth.actor,
            &itemize_app::ListParams::from_pairs([("limit".to_string(), "1000".to_string())]),
        )
        .await?;
    let names = names(s, auth, Kind::Location, list.iter().map(|a| a.location_id).collect()).await;
    let (me, nav) = shell(auth, "/audits");
    Ok(AuditsPage {
        me,
        nav,
        csrf: auth.csrf.clone().unwrap_or_default(),
        rows: list
            .iter()
            .rev()
            .map(|a| {
                (
                    a.id,
                    vec![
                        a.id.to_string(),
                        names.get(&a.location_id).cloned().unwrap_or_else(|| a.location_id.to_string()),
                        a.status.clone(),
                        a.started_at.strftime("%Y-%m-%d").to_string(),
                        a.closed_at.map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_default(),
                        a.expected.to_string(),
                        a.found.len().to_string(),
                        a.missing.len().to_string(),
                        a.unexpected.len().to_string(),
                        format!("{}%", a.accuracy),
                    ],
                )
            })
            .collect(),
        locations: locations
            .items
            .iter()
            .map(|l| Opt {
                value: l.id.get().to_string(),
                label: format!("{} ({})", l.fields.name, l.fields.code),
                selected: false,
            })
            .collect(),
        error,
        can_write: can_write_assets(auth),
    })
}

async fn audits(State(s): State<AppState>, auth: Auth) -> Response {
    super::show(audits_page(&s, &auth, None).await)
}

async fn start_audit(State(s): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> Response {
    let f = match super::page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let location: i64 = f.get("location_id").and_then(|v| v.parse().ok()).unwrap_or(0);
    match s.app.start_audit(&auth.actor, location).await {
        Ok(a) => Redirect::to(&format!("/audits/{}", a.id)).into_response(),
        Err(e) => {
            let status = crate::error::status_of(&e);
            match audits_page(&s, &auth, Some(super::explain(&e))).await {
                Ok(p) => (status, render(p)).into_response(),
                Err(e) => app_error(e),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    csrf: String,
    id: i64,
    location: String,
    open: bool,
    expected: usize,
    accuracy: String,
    found: Vec<(i64, String)>,
    missing: Vec<(i64, String)>,
    unexpected: Vec<(i64, String)>,
    disposed: Vec<(i64, String)>,
    unknown: Vec<String>,
    last: Option<String>,
    error: Option<String>,
    can_write: bool,
}

/// The notice period and, for a contract that renews or ends, the day by which notice must be given for the
/// current term (its end less the notice period).
fn notice_text(s: &AppState, c: &itemize_store::ContractRow) -> String {
    let days = format!("{} day{}", c.notice_days, if c.notice_days == 1 { "" } else { "s" });
    match s.app.contract_term(c) {
        Some((_, end, _)) if c.renewal != "none" => {
            let by = end.checked_sub(jiff::Span::new().days(c.notice_days)).unwrap_or(end);
            let today = s.app.today();
            if end < today {
                return format!("{days}: the term ended {end}");
            }
            if by < today {
                return format!("{days}: the notice deadline, {by}, has passed; the term ends {end}");
            }
            if c.renewal == "auto" {
                format!("{days}: give notice by {by}, or the term ending {end} renews itself")
            } else {
                format!("{days}: decide by {by} whether to renew the term ending {end}")
            }
        }
        _ => days,
    }
}

/// A contract's term as the page shows it: the current one, and the term entered when it has renewed since.
fn term_text(s: &AppState, c: &itemize_store::ContractRow) -> String {
    match s.app.contract_term(c) {
        Some((_, end, renewed)) if renewed > 0 => format!(
            "current term ends {end} (renewed {renewed} time{}; entered as {} to {})",
            if renewed == 1 { "" } else { "s" },
            c.start_date,
            c.end_date
        ),
        _ => format!("{} to {}", c.start_date, c.end_date),
    }
}

/// Assets listed on a page at most (a contract or an audit may hold thousands); the page says how many more.
const LISTED_ASSETS: usize = 5_000;

/// Each asset's id and "TAG name", for lists of links (the first `LISTED_ASSETS`, in the order given), read in
/// one query.
async fn asset_tags(s: &AppState, auth: &Auth, ids: &[i64]) -> Vec<(i64, String)> {
    let wanted = &ids[..ids.len().min(LISTED_ASSETS)];
    let found: HashMap<i64, String> = s
        .app
        .assets_by_ids(&auth.actor, wanted)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.id, format!("{} {}", a.fields.tag, a.fields.name)))
        .collect();
    wanted.iter().filter_map(|i| found.get(i).map(|t| (*i, t.clone()))).collect()
}

async fn audit_page(s: &AppState, auth: &Auth, id: i64) -> Result<AuditPage, AppError> {
    let v = s.app.audit_view(&auth.actor, id).await?;
    let place = names(s, auth, Kind::Location, vec![v.location_id]).await;
    let (me, nav) = shell(auth, "/audits");
    Ok(AuditPage {
        me,
        nav,
        csrf: auth.csrf.clone().unwrap_or_default(),
        id,
        location: place.get(&v.location_id).cloned().unwrap_or_default(),
        open: v.status == "open",
        expected: v.expected,
        accuracy: v.accuracy.clone(),
        found: asset_tags(s, auth, &v.found).await,
        missing: asset_tags(s, auth, &v.missing).await,
        unexpected: asset_tags(s, auth, &v.unexpected).await,
        disposed: asset_tags(s, auth, &v.disposed).await,
        unknown: v.unknown.clone(),
        last: None,
        error: None,
        can_write: can_write_assets(auth),
    })
}

async fn audit(State(s): State<AppState>, auth: Auth, PageId(id): PageId, Params(p): Params) -> Response {
    match audit_page(&s, &auth, id).await {
        Ok(mut page) => {
            page.last = p.get("scanned").map(str::to_string);
            render(page)
        }
        Err(e) => app_error(e),
    }
}

/// One scan (a barcode scanner types the tag and presses Enter): back to the audit with the result, the
/// input focused again for the next one.
async fn scan(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = match super::page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let input = f.get("input").cloned().unwrap_or_default();
    match s.app.scan(&auth.actor, id, &input).await {
        Ok(row) => {
            let what = match row.result.as_str() {
                "disposed" => "on record as disposed of: look into it (the audit leaves its record as it is)",
                other => other,
            };
            let q = serde_urlencoded::to_string([("scanned", format!("{}: {what}", row.input))])
                .unwrap_or_default();
            Redirect::to(&format!("/audits/{id}?{q}")).into_response()
        }
        Err(e) => {
            let status = crate::error::status_of(&e);
            super::again(audit_page(&s, &auth, id).await, status, |p| p.error = Some(super::explain(&e)))
        }
    }
}

async fn close_audit(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = match super::page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let mark = f.get("mark_missing").is_some_and(|v| v == "on" || v == "true");
    match s.app.close_audit(&auth.actor, id, mark).await {
        Ok(_) => Redirect::to(&format!("/audits/{id}")).into_response(),
        Err(e) => app_error(e),
    }
}
