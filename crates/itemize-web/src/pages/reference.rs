//! Reference-data forms: create and edit a cost centre, business service, person, location or vendor, and
//! archive or restore it. References to other records are typed as people know them (a code, an employee id, a
//! vendor's name); every problem is shown beside its field with what was typed kept; a record changed by someone
//! else since the form was read is not overwritten.

use super::{Me, NavItem, PageId, app_error, page_form, path_of, render, shell};
use crate::AppState;
use crate::auth::Auth;
use crate::routes::Reg;
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use itemize_app::AppError;
use itemize_core::auth::{Action, Resource, authorize};
use itemize_core::refdata::{CostCentre, Kind, Location, Person, Service, Vendor};
use itemize_store::StoredKind;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub fn routes(r: Reg) -> Reg {
    let r = kind_routes::<CostCentre>(r, "/cost-centres");
    let r = kind_routes::<Service>(r, "/services");
    let r = kind_routes::<Person>(r, "/people");
    let r = kind_routes::<Location>(r, "/locations");
    kind_routes::<Vendor>(r, "/vendors")
}

fn kind_routes<K: StoredKind>(r: Reg, base: &str) -> Reg {
    r.add(&format!("{base}/new"), &["GET", "POST"], get(new_form::<K>).post(create::<K>))
        .add(&format!("{base}/{{id}}"), &["GET", "POST"], get(edit_form::<K>).post(save::<K>))
        .add(&format!("{base}/{{id}}/archive"), &["POST"], post(archive::<K>))
        .add(&format!("{base}/{{id}}/restore"), &["POST"], post(restore::<K>))
}

/// How a field is typed in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    Text,
    Date,
    /// A reference to a record of this kind, typed as its natural key.
    Ref(Kind),
    /// Several values separated by `;`.
    List,
}

/// A kind's fields on the form: (field, label, input, hint).
fn fields(kind: Kind) -> &'static [(&'static str, &'static str, Input, &'static str)] {
    use Input::*;
    match kind {
        Kind::CostCentre => &[
            ("code", "Code", Text, "e.g. CC-1200"),
            ("name", "Name", Text, ""),
            ("parent_id", "Parent cost centre", Ref(Kind::CostCentre), "its code"),
            ("owner_id", "Owner", Ref(Kind::Person), "employee id"),
            ("currency", "Currency", Text, "ISO 4217, e.g. EUR"),
        ],
        Kind::Service => &[
            ("code", "Code", Text, "e.g. SVC-024"),
            ("name", "Name", Text, ""),
            ("owner_cost_centre_id", "Owning cost centre", Ref(Kind::CostCentre), "its code"),
            ("criticality", "Criticality", Text, "low, medium, high or critical"),
            ("description", "Description", Text, ""),
        ],
        Kind::Person => &[
            ("employee_id", "Employee id", Text, ""),
            ("name", "Name", Text, ""),
            ("email", "E-mail", Text, ""),
            ("job_title", "Job title", Text, ""),
            ("cost_centre_id", "Cost centre", Ref(Kind::CostCentre), "its code"),
            ("location_id", "Location", Ref(Kind::Location), "its code"),
            ("manager_id", "Manager", Ref(Kind::Person), "employee id"),
            ("status", "Status", Text, "active or leaver"),
            ("leave_date", "Leave date", Date, ""),
        ],
        Kind::Location => &[
            ("code", "Code", Text, ""),
            ("name", "Name", Text, ""),
            ("kind", "Kind", Text, "site, building, floor, room, data-centre or remote"),
            ("parent_id", "Parent location", Ref(Kind::Location), "its code"),
            ("country", "Country", Text, "ISO 3166 code, e.g. DE"),
            ("city", "City", Text, ""),
        ],
        Kind::Vendor => &[
            ("name", "Name", Text, ""),
            ("aliases", "Aliases", List, "other spellings on invoices, separated by ;"),
            ("website", "Website", Text, ""),
        ],
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::CostCentre => "cost centre",
        Kind::Service => "service",
        Kind::Person => "person",
        Kind::Location => "location",
        Kind::Vendor => "vendor",
    }
}

pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub date: bool,
    pub hint: &'static str,
    pub value: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage {
    me: Option<Me>,
    nav: Vec<NavItem>,
    csrf: String,
    title: String,
    list: &'static str,
    action: String,
    etag: String,
    fields: Vec<Field>,
    archived: Option<bool>,
    id: Option<i64>,
    form_error: Option<String>,
    message: Option<String>,
    can_write: bool,
    /// The register's assets of this record (a person's, a location's, …), for whoever may read them: the list's
    /// link, and for a person the assets themselves (tag, name, state), the first `HELD_SHOWN`.
    assets: Option<RelatedAssets>,
}

pub struct RelatedAssets {
    href: String,
    rows: Vec<(i64, String, String, String)>,
    more: bool,
}

/// A person's assets shown on their page at most.
const HELD_SHOWN: usize = 50;

fn blank<K: StoredKind>(auth: &Auth) -> RecordPage {
    let kind = K::KIND;
    let (me, nav) = shell(auth, path_of(kind));
    RecordPage {
        me,
        nav,
        csrf: auth.csrf.clone().unwrap_or_default(),
        title: format!("New {}", kind_name(kind)),
        list: path_of(kind),
        action: format!("{}/new", path_of(kind)),
        etag: String::new(),
        fields: fields(kind)
            .iter()
            .map(|(name, label, input, hint)| Field {
                name,
                label,
                date: *input == Input::Date,
                hint,
                value: String::new(),
                error: None,
            })
            .collect(),
        archived: None,
        id: None,
        form_error: None,
        message: None,
        can_write: authorize(&auth.actor, Resource::RefData(kind), Action::Write).is_ok(),
        assets: None,
    }
}

/// The form filled with a record's current values, references shown by their natural keys.
async fn filled<K: StoredKind>(s: &AppState, auth: &Auth, id: i64) -> Result<RecordPage, AppError> {
    let rec = s.app.get::<K>(&auth.actor, id).await?;
    let j = rec.fields.to_json();
    let mut page = blank::<K>(auth);
    page.title = match j.get("name").and_then(Value::as_str) {
        Some(n) => n.to_string(),
        None => format!("{} {id}", kind_name(K::KIND)),
    };
    page.action = format!("{}/{id}", path_of(K::KIND));
    page.etag = rec.etag();
    page.id = Some(id);
    page.archived = Some(rec.meta.archived_at.is_some());
    for (f, (_, _, input, _)) in page.fields.iter_mut().zip(fields(K::KIND)) {
        f.value = match (&j[f.name], input) {
            (Value::Number(n), Input::Ref(kind)) => match n.as_i64() {
                Some(rid) => s
                    .app
                    .keys_by_id(&auth.actor, *kind, &[rid])
                    .await
                    .ok()
                    .and_then(|m| m.get(&rid).cloned())
                    // A record outside a scoped user's cost centres is not named (and an untouched field
                    // is not sent back, so saving keeps it).
                    .unwrap_or_default(),
                None => n.to_string(),
            },
            (Value::Array(a), _) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "),
            (Value::String(t), _) => t.clone(),
            (Value::Null, _) => String::new(),
            (other, _) => other.to_string(),
        };
    }
    let filter = match K::KIND {
        Kind::Person => "assignee_person_id",
        Kind::Location => "location_id",
        Kind::Service => "service_id",
        Kind::CostCentre => "cost_centre_id",
        Kind::Vendor => "vendor_id",
    };
    if authorize(&auth.actor, Resource::Assets, Action::Read).is_ok() {
        let params = itemize_app::ListParams::from_pairs([(filter.to_string(), id.to_string())]);
        // Only a person's assets are listed here (a cost centre or a site holds thousands); the link leads to
        // the register filtered either way.
        let held = if K::KIND == Kind::Person {
            s.app.list_assets(&auth.actor, &params.clone().with("limit", HELD_SHOWN.to_string())).await.ok()
        } else {
            None
        };
        page.assets = Some(RelatedAssets {
            href: super::link("/assets", &params),
            more: held.as_ref().is_some_and(|p| p.next.is_some()),
            rows: held
                .map(|p| {
                    p.items
                        .iter()
                        .map(|a| (a.id, a.fields.tag.clone(), a.fields.name.clone(), a.state.to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    Ok(page)
}

/// The form's fields as JSON for the use case; references resolved from natural keys. `patch`: only fields
/// that changed, an emptied one as null; otherwise every filled field.
async fn to_json<K: StoredKind>(
    s: &AppState,
    auth: &Auth,
    page: &mut RecordPage,
    form: &BTreeMap<String, String>,
    patch: bool,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (f, (_, _, input, _)) in page.fields.iter_mut().zip(fields(K::KIND)) {
        let Some(sent) = form.get(f.name).map(|v| v.trim().to_string()) else { continue };
        if patch && sent == f.value {
            continue;
        }
        f.value = sent.clone();
        if sent.is_empty() {
            if patch {
                out.insert(f.name.to_string(), Value::Null);
            }
            continue;
        }
        let v = match input {
            Input::Ref(kind) => match sent.parse::<i64>() {
                Ok(n) => json!(n),
                Err(_) => match s.app.id_by_key(&auth.actor, *kind, &sent).await {
                    Ok(Some(id)) => json!(id),
                    _ => {
                        f.error = Some(format!("no {} has the key `{sent}`", kind_name(*kind)));
                        continue;
                    }
                },
            },
            Input::List => {
                json!(sent.split(';').map(str::trim).filter(|x| !x.is_empty()).collect::<Vec<_>>())
            }
            Input::Text | Input::Date => json!(sent),
        };
        out.insert(f.name.to_string(), v);
    }
    out
}

/// The use case's refusal shown on the form: each problem beside its field, the rest at the top.
fn refused(page: &mut RecordPage, e: &AppError) -> StatusCode {
    let mut elsewhere = Vec::new();
    for d in e.details() {
        match page.fields.iter_mut().find(|f| f.name == d.field) {
            Some(f) => f.error = Some(d.problem.clone()),
            None => elsewhere.push(format!("{}: {}", d.field, d.problem)),
        }
    }
    page.form_error = Some(if elsewhere.is_empty() {
        format!("{} Nothing was saved.", super::public(e))
    } else {
        format!("{} ({}). Nothing was saved.", super::public(e), elsewhere.join("; "))
    });
    crate::error::status_of(e)
}

async fn new_form<K: StoredKind>(auth: Auth) -> Response {
    render(blank::<K>(&auth))
}

async fn create<K: StoredKind>(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let mut page = blank::<K>(&auth);
    let input = to_json::<K>(&s, &auth, &mut page, &form, false).await;
    if page.fields.iter().any(|f| f.error.is_some()) {
        page.form_error = Some("Nothing was saved: see the fields marked below.".into());
        return (StatusCode::UNPROCESSABLE_ENTITY, render(page)).into_response();
    }
    match s.app.create::<K>(&auth.actor, Value::Object(input)).await {
        Ok(rec) => Redirect::to(&format!("{}/{}?done=created", path_of(K::KIND), Into::<i64>::into(rec.id)))
            .into_response(),
        Err(e) => {
            let status = refused(&mut page, &e);
            (status, render(page)).into_response()
        }
    }
}

async fn edit_form<K: StoredKind>(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    crate::extract::Params(p): crate::extract::Params,
) -> Response {
    match filled::<K>(&s, &auth, id).await {
        Ok(mut page) => {
            page.message = p.get("done").map(|d| format!("{}.", capitalise(d)));
            render(page)
        }
        Err(e) => app_error(e),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

async fn save<K: StoredKind>(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match page_form(&auth, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let mut page = match filled::<K>(&s, &auth, id).await {
        Ok(p) => p,
        Err(e) => return app_error(e),
    };
    let patch = to_json::<K>(&s, &auth, &mut page, &form, true).await;
    if page.fields.iter().any(|f| f.error.is_some()) {
        page.form_error = Some("Nothing was saved: see the fields marked below.".into());
        return (StatusCode::UNPROCESSABLE_ENTITY, render(page)).into_response();
    }
    let etag = form.get("etag").map(String::as_str);
    match s.app.update::<K>(&auth.actor, id, etag, Value::Object(patch)).await {
        Ok(_) => Redirect::to(&format!("{}/{id}?done=saved", path_of(K::KIND))).into_response(),
        Err(e) => {
            let status = refused(&mut page, &e);
            (status, render(page)).into_response()
        }
    }
}

async fn archive<K: StoredKind>(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    set_archived::<K>(s, auth, id, &headers, &body, true).await
}

async fn restore<K: StoredKind>(
    State(s): State<AppState>,
    auth: Auth,
    PageId(id): PageId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    set_archived::<K>(s, auth, id, &headers, &body, false).await
}

async fn set_archived<K: StoredKind>(
    s: AppState,
    auth: Auth,
    id: i64,
    headers: &HeaderMap,
    body: &[u8],
    archived: bool,
) -> Response {
    let form = match page_form(&auth, headers, body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    match s.app.set_archived::<K>(&auth.actor, id, archived, form.get("etag").map(String::as_str)).await {
        Ok(_) => {
            let done = if archived { "archived" } else { "restored" };
            Redirect::to(&format!("{}/{id}?done={done}", path_of(K::KIND))).into_response()
        }
        Err(e) => app_error(e),
    }
}
