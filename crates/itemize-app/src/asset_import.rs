//! Importing assets from CSV or XLSX: itemize's own columns or Snipe-IT's export format, with a header
//! mapping, a dry run, strict (any bad row rejects the file) or lenient (good rows in, bad rows reported), and
//! row-level errors naming the row, column, value and reason. One transaction: a half-written import never
//! exists. Snipe-IT files as they come out of the wild are read too: classic-Mac CR line endings, Mac Roman
//! text, duplicated and blank header cells, m/d/yy dates, warranty in months.

use crate::assets::{load_settings, store_err};
use crate::{App, AppError, ListParams};
use itemize_core::assets::{Asset, State};
use itemize_core::auth::{Action, Actor};
use itemize_core::refdata::{Location, LocationKind, Person, Vendor};
use itemize_ingest::RowError;
use itemize_store::Session;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// How to read and apply a file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `itemize` (column names are asset fields) or `snipe-it`; detected from the header when absent.
    pub format: Option<String>,
    pub dry_run: bool,
    pub lenient: bool,
    /// Extra header mapping: file column → itemize field (`--map "Asset No=tag"`).
    pub mapping: Vec<(String, String)>,
}

impl ImportOptions {
    pub fn from_params(p: &ListParams) -> Result<Self, AppError> {
        let flag = |name: &str| -> Result<bool, AppError> {
            match p.get(name) {
                None | Some("false") => Ok(false),
                Some("true") => Ok(true),
                Some(_) => Err(AppError::bad_param(name, "must be true or false")),
            }
        };
        let mut mapping = Vec::new();
        if let Some(m) = p.get("map") {
            for pair in m.split(';').filter(|s| !s.trim().is_empty()) {
                let (from, to) = pair.split_once('=').ok_or_else(|| {
                    AppError::bad_param("map", "is a list of `file column=field` separated by ;")
                })?;
                mapping.push((from.trim().to_string(), to.trim().to_string()));
            }
        }
        p.only(&["format", "dry_run", "lenient", "map"])?;
        Ok(Self {
            format: p.get("format").map(str::to_string),
            dry_run: flag("dry_run")?,
            lenient: flag("lenient")?,
            mapping,
        })
    }
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub format: String,
    pub dry_run: bool,
    pub lenient: bool,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub rejected: usize,
    /// Locations and vendors the import created because the file named them and they did not exist.
    pub created_locations: Vec<String>,
    pub created_vendors: Vec<String>,
    /// The first 100 problems in full.
    pub errors: Vec<RowError>,
    pub error_counts: HashMap<String, usize>,
    /// Things worth knowing that did not stop a row (encoding guessed, duplicate header ignored).
    pub warnings: Vec<String>,
    /// In a dry run, the first 20 assets as they would be written.
    pub preview: Vec<Value>,
    /// Whether anything was written.
    pub committed: bool,
}

impl ImportReport {
    /// Whether the file went in (or would, in a dry run): no errors, or lenient.
    pub fn ok(&self) -> bool {
        self.errors.is_empty() || self.lenient
    }

    fn error(&mut self, e: RowError) {
        *self.error_counts.entry(e.reason.split(':').next().unwrap_or_default().to_string()).or_default() +=
            1;
        if self.errors.len() < 100 {
            self.errors.push(e);
        }
    }
}

/// Snipe-IT's asset export columns (lower-cased) → itemize fields. `_`-prefixed are handled specially.
const SNIPE: &[(&str, &str)] = &[
    ("asset tag", "tag"),
    ("name", "name"),
    // Snipe-IT's own export of the asset list (its "Export" button) words some columns otherwise.
    ("asset name", "name"),
    ("model no.", "_model_number"),
    ("checked out to", "_person_name"),
    ("warranty expires", "warranty_end"),
    ("id", "_ignore"),
    ("created at", "_ignore"),
    ("updated at", "_ignore"),
    ("last audit", "_ignore"),
    ("next audit date", "_ignore"),
    ("checked out", "_ignore"),
    ("expected checkin", "_ignore"),
    ("current value", "_ignore"),
    ("depreciation", "_ignore"),
    ("default location", "_ignore"),
    // Snipe-IT's custom asset report words the purchase as "Purchased" and "Cost", the end of life "EOL", and
    // adds columns about the person and the depreciation it computed (itemize computes its own).
    ("purchased", "purchase_date"),
    ("cost", "purchase_cost"),
    ("eol", "end_of_life"),
    ("type", "_category"),
    ("employee no.", "_person_username"),
    ("manager", "_ignore"),
    ("department", "_ignore"),
    ("title", "_ignore"),
    ("value", "_ignore"),
    ("diff", "_ignore"),
    ("fully depreciated", "_ignore"),
    ("checkout date", "_ignore"),
    ("item name", "name"),
    ("serial", "serial"),
    ("serial number", "serial"),
    ("model", "model"),
    ("model name", "model"),
    ("model number", "_model_number"),
    ("manufacturer", "manufacturer"),
    ("category", "_category"),
    ("location", "_location"),
    ("supplier", "_vendor"),
    ("order number", "po_number"),
    ("purchase date", "purchase_date"),
    ("purchase cost", "purchase_cost"),
    ("warranty", "_warranty_months"),
    ("warranty months", "_warranty_months"),
    ("asset eol date", "end_of_life"),
    ("eol date", "end_of_life"),
    ("notes", "notes"),
    ("asset notes", "notes"),
    ("status", "_status"),
    ("email", "_person_email"),
    ("checked out to: email", "_person_email"),
    ("username", "_person_username"),
    ("checked out to: username", "_person_username"),
    ("full name", "_ignore"),
    ("checked out to: first name", "_ignore"),
    ("checked out to: last name", "_ignore"),
    ("checked out to: location", "_ignore"),
    ("checkout type", "_ignore"),
    ("company", "_ignore"),
    ("model notes", "_ignore"),
];

/// itemize's own columns besides the asset fields: references by natural key and the first state.
const OWN_EXTRA: &[&str] = &["location", "cost_centre", "vendor", "assignee", "state", "service"];

/// The one vendor whose name or an alias begins with `given` and a space (case aside), with its name.
fn vendor_by_prefix(vendors: &[itemize_core::refdata::Record<Vendor>], given: &str) -> Option<(i64, String)> {
    let stem = format!("{} ", given.trim().to_lowercase());
    let mut found = vendors.iter().filter(|v| {
        std::iter::once(&v.fields.name).chain(&v.fields.aliases).any(|n| n.to_lowercase().starts_with(&stem))
    });
    match (found.next(), found.next()) {
        (Some(v), None) => Some((v.id.into(), v.fields.name.clone())),
        _ => None,
    }
}

/// Decodes a file's text: UTF-8 (a byte-order mark dropped), or else Mac Roman, the encoding of the classic-Mac
/// exports whose CR line endings come with it. Line endings become `\n`.
pub fn decode_text(bytes: &[u8], warnings: &mut Vec<String>) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.trim_start_matches('\u{feff}').to_string(),
        Err(e) => {
            warnings.push(format!(
                "the file is not UTF-8 (byte {:#04x} at offset {}); it was read as Mac Roman — check accented names",
                bytes[e.valid_up_to()],
                e.valid_up_to()
            ));
            bytes.iter().map(|b| mac_roman(*b)).collect()
        }
    };
    if text.contains('\r') {
        if !text.contains('\n') {
            warnings.push("the file's lines end in CR only (classic Mac); read as lines".into());
        }
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text
    }
}

fn mac_roman(b: u8) -> char {
    const HIGH: &str = "ÄÅÇÉÑÖÜáàâäãåçéèêëíìîïñóòôöõúùûü†°¢£§•¶ß®©™´¨≠ÆØ∞±≤≥¥µ∂∑∏π∫ªºΩæø¿¡¬√ƒ≈∆«»… ÀÃÕŒœ–—“”‘’÷◊ÿŸ⁄€‹›ﬁﬂ‡·‚„‰ÂÊÁËÈÍÎÏÌÓÔ\u{f8ff}ÒÚÛÙıˆ˜¯˘˙˚¸˝˛ˇ";
    if b < 0x80 { b as char } else { HIGH.chars().nth(usize::from(b - 0x80)).unwrap_or('\u{fffd}') }
}

/// Reads a CSV or XLSX file into a header and rows of cells, each row with its line number.
#[allow(clippy::type_complexity)]
fn read_grid(
    bytes: &[u8],
    warnings: &mut Vec<String>,
) -> Result<(Vec<String>, Vec<(u64, Vec<String>)>), RowError> {
    if bytes.starts_with(b"PK\x03\x04") {
        use calamine::{Reader, Xlsx};
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec()))
            .map_err(|e| RowError::new(1, None, None, format!("the XLSX file cannot be read: {e}")))?;
        let range = book
            .worksheet_range_at(0)
            .ok_or_else(|| RowError::new(1, None, None, "the XLSX file has no sheet"))?
            .map_err(|e| RowError::new(1, None, None, format!("the first sheet cannot be read: {e}")))?;
        // Numbered as the spreadsheet numbers its rows (the used range may start below row 1); empty rows
        // skipped, as a CSV's blank lines are.
        let first_row = range.start().map_or(0, |(row, _)| u64::from(row));
        let mut rows = range.rows().enumerate().map(|(i, r)| {
            (
                first_row + i as u64 + 1,
                r.iter().map(|c| itemize_ingest::generic::cell_text(c, false)).collect::<Vec<String>>(),
            )
        });
        let header = rows.next().map(|r| r.1).unwrap_or_default();
        return Ok((header, rows.filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty())).collect()));
    }
    // A PDF, an image, an archive or a program is not text to read as a table: said so, not as unknown columns.
    let head = &bytes[..bytes.len().min(8192)];
    let not_a_table = |kind: &str| format!("the file is {kind}, not a CSV or XLSX file of assets");
    let refused = if head.starts_with(b"%PDF") {
        Some(not_a_table("a PDF document"))
    } else if head.starts_with(b"\x89PNG") || head.starts_with(b"\xFF\xD8\xFF") || head.starts_with(b"GIF8") {
        Some(not_a_table("an image"))
    } else if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        Some("the file is UTF-16 text: save it as CSV UTF-8 and import that".to_string())
    } else if head.contains(&0) {
        Some(not_a_table("binary data"))
    } else {
        None
    };
    if let Some(why) = refused {
        return Err(RowError::new(1, None, None, why));
    }
    let text = decode_text(bytes, warnings);
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut header = None;
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            RowError::new(line, None, None, format!("the CSV cannot be read: {e}"))
        })?;
        // The reader's position is where it started reading, before any blank lines it skipped to the record.
        let line = rec.position().map_or(0, |p| {
            let from = usize::try_from(p.byte()).unwrap_or(usize::MAX).min(text.len());
            let blank = text.as_bytes()[from..]
                .iter()
                .take_while(|b| matches!(b, b'\n' | b'\r'))
                .filter(|b| **b == b'\n')
                .count();
            p.line() + blank as u64
        });
        let cells: Vec<String> = rec.iter().map(str::to_string).collect();
        if header.is_none() {
            header = Some(cells);
        } else if cells.iter().any(|c| !c.trim().is_empty()) {
            out.push((line, cells));
        }
    }
    Ok((header.unwrap_or_default(), out))
}

/// Maps a Snipe-IT category or itemize class name onto a class.
fn class_of(category: &str) -> &'static str {
    let c = category.to_lowercase();
    let has = |w: &[&str]| w.iter().any(|x| c.contains(x));
    if has(&["laptop", "notebook", "macbook"]) {
        "laptop"
    } else if has(&["desktop", "workstation", "imac"]) {
        "desktop"
    } else if has(&["server"]) {
        "server"
    } else if has(&["switch", "router", "firewall", "network", "access point"]) {
        "network"
    } else if has(&["storage", "nas", "san", "disk"]) {
        "storage"
    } else if has(&["phone", "mobile", "tablet", "ipad"]) {
        "mobile"
    } else if has(&["monitor", "display", "printer", "keyboard", "mouse", "dock", "headset", "peripheral"]) {
        "peripheral"
    } else if has(&["iot", "sensor", "camera"]) {
        "iot"
    } else {
        "other"
    }
}

fn state_of(status: &str) -> Option<&'static str> {
    let s = status.trim().to_lowercase();
    Some(match s.as_str() {
        "" => return None,
        "ready to deploy" | "ready" | "in stock" | "in-stock" => "in-stock",
        "deployed" | "in use" | "in-use" => "in-use",
        "pending" | "on order" | "on-order" => "on-order",
        "undeployable"
        | "broken"
        | "out for repair"
        | "in repair"
        | "in-repair"
        | "pending diagnostics"
        | "out for diagnostics" => "in-repair",
        "archived" | "retired" => "retired",
        "lost" | "lost/stolen" => "lost",
        "stolen" => "stolen",
        "requested" => "requested",
        _ => return None,
    })
}

/// A date in ISO or US m/d/yy(yy) form.
/// A row's tag as the row check reads it (the cell of the tag column, trimmed; empty or `null` is no tag).
fn tag_cell(cells: &[String], tag_at: Option<usize>) -> Option<&str> {
    tag_at
        .and_then(|at| cells.get(at))
        .map(|c| c.trim())
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("null"))
}

fn iso_date(v: &str) -> Option<String> {
    if v.parse::<jiff::civil::Date>().is_ok() {
        return Some(v.to_string());
    }
    let parts: Vec<&str> = v.split('/').collect();
    if parts.len() != 3 {
        return None;
    }
    let (m, d, y): (i16, i16, i16) = (parts[0].parse().ok()?, parts[1].parse().ok()?, parts[2].parse().ok()?);
    let y = if parts[2].len() <= 2 { if y < 70 { 2000 + y } else { 1900 + y } } else { y };
    jiff::civil::Date::new(y, m as i8, d as i8).ok().map(|d| d.to_string())
}

impl App {
    /// Imports assets. Every row is checked first; then, unless it is a dry run or a strict import with
    /// errors, everything is written in one transaction.
    pub async fn import_assets(
        &self,
        actor: &Actor,
        bytes: &[u8],
        opts: &ImportOptions,
    ) -> Result<ImportReport, AppError> {
        self.import_assets_with(actor, bytes, opts, None).await
    }

    /// [`App::import_assets`], or with `outer` its reads and writes inside a transaction the caller holds and
    /// ends (so several files land together or not at all; the report's `committed` is then the caller's to set).
    pub(crate) async fn import_assets_with(
        &self,
        actor: &Actor,
        bytes: &[u8],
        opts: &ImportOptions,
        mut outer: Option<&mut Session>,
    ) -> Result<ImportReport, AppError> {
        crate::assets::allow(actor, Action::Write)?;
        let mut report = ImportReport { dry_run: opts.dry_run, lenient: opts.lenient, ..Default::default() };
        let (header, rows) = match read_grid(bytes, &mut report.warnings) {
            Ok(g) => g,
            Err(e) => {
                report.error(e);
                report.lenient = false;
                return Ok(report);
            }
        };
        let lower: Vec<String> =
            header.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase()).collect();
        let snipe = match opts.format.as_deref() {
            Some("snipe-it") => true,
            Some("itemize") => false,
            Some(other) => {
                return Err(AppError::bad_param("format", format!("`{other}` is not itemize or snipe-it")));
            }
            None => lower.iter().any(|h| h == "asset tag"),
        };
        report.format = if snipe { "snipe-it" } else { "itemize" }.into();
        // Column index → field.
        let mut fields: Vec<Option<String>> = Vec::with_capacity(lower.len());
        let own: Vec<&str> = [
            "tag",
            "name",
            "class",
            "model",
            "manufacturer",
            "serial",
            "hostname",
            "resource_id",
            "po_number",
            "invoice_number",
            "purchase_date",
            "in_service_date",
            "purchase_cost",
            "currency",
            "depreciation_method",
            "depreciation_rate",
            "depreciation_convention",
            "depreciation_start",
            "useful_life_months",
            "salvage_value",
            "warranty_end",
            "end_of_life",
            "notes",
            "location_id",
            "cost_centre_id",
            "vendor_id",
            "assignee_person_id",
            "service_id",
        ]
        .into_iter()
        .chain(OWN_EXTRA.iter().copied())
        .collect();
        for (i, h) in lower.iter().enumerate() {
            let mapped =
                opts.mapping.iter().find(|(from, _)| from.to_lowercase() == *h).map(|(_, to)| to.clone());
            let field = mapped.or_else(|| {
                if snipe {
                    SNIPE.iter().find(|(k, _)| k == h).map(|(_, f)| f.to_string())
                } else {
                    let n = h.replace([' ', '-'], "_");
                    if own.contains(&n.as_str()) {
                        Some(n)
                    } else {
                        n.strip_prefix("custom.").map(|k| format!("custom.{k}"))
                    }
                }
            });
            match (&field, h.is_empty()) {
                (_, true) => {
                    report.warnings.push(format!("column {} has no header and was ignored", i + 1));
                    fields.push(None);
                }
                (None, false) => {
                    report.error(RowError::new(
                        1,
                        Some(&header[i]),
                        None,
                        format!(
                            "unknown column: not a {} column (map it with map=\"{}=<field>\" or remove it)",
                            report.format,
                            header[i].trim()
                        ),
                    ));
                    fields.push(None);
                }
                (Some(f), false) => {
                    if fields.iter().flatten().any(|g| g == f) && f != "_ignore" {
                        report.warnings.push(format!(
                            "column {} ({}) repeats an earlier column; the first one is used",
                            i + 1,
                            header[i].trim()
                        ));
                        fields.push(None);
                    } else {
                        fields.push(Some(f.clone()));
                    }
                }
            }
        }
        if !report.errors.is_empty() {
            report.lenient = false;
            return Ok(report);
        }
        if !fields.iter().flatten().any(|f| f == "tag") {
            report.error(RowError::new(1, None, None, "missing column: the asset tag is required"));
            report.lenient = false;
            return Ok(report);
        }
        let mut own_session = None;
        let s: &mut Session = match outer.as_deref_mut() {
            Some(o) => o,
            None => own_session.insert(self.store().session().await?),
        };
        let settings = load_settings(s).await?;
        let locations = s.all::<Location>(true).await?;
        let vendors = s.all::<Vendor>(true).await?;
        let people = s.all::<Person>(true).await?;
        let cost_centres = s.all::<itemize_core::refdata::CostCentre>(true).await?;
        let services = s.all::<itemize_core::refdata::Service>(true).await?;
        // The file's tags already in the register (their rows update those assets).
        let tag_at = fields.iter().position(|f| f.as_deref() == Some("tag"));
        let mut tags: Vec<&str> = rows.iter().filter_map(|(_, cells)| tag_cell(cells, tag_at)).collect();
        tags.sort_unstable();
        tags.dedup();
        let tags: Vec<String> = tags.into_iter().map(str::to_string).collect();
        let existing = s.asset_ids_with_tags(&tags).await.map_err(store_err)?;
        // Their fields as the register has them: a row updating an asset changes what its cells give and keeps
        // the rest (a file without a column, or a blank cell, leaves the asset's value as it is).
        let current: HashMap<i64, (Map<String, Value>, Asset)> = {
            let ids: Vec<i64> = existing.values().copied().collect();
            s.assets_by_ids(&ids)
                .await
                .map_err(store_err)?
                .into_iter()
                .filter_map(|a| match a.fields.to_json() {
                    Value::Object(m) => Some((a.id, (m, a))),
                    _ => None,
                })
                .collect()
        };
        drop(own_session);
        let mut loc_by: HashMap<String, i64> = HashMap::new();
        for l in &locations {
            loc_by.insert(l.fields.code.to_lowercase(), l.id.into());
            loc_by.insert(l.fields.name.to_lowercase(), l.id.into());
        }
        let mut vendor_by: HashMap<String, i64> = HashMap::new();
        for v in &vendors {
            vendor_by.insert(v.fields.name.to_lowercase(), v.id.into());
            for a in &v.fields.aliases {
                vendor_by.insert(a.to_lowercase(), v.id.into());
            }
        }
        let mut person_by: HashMap<String, i64> = HashMap::new();
        // Leavers are people assets are recovered from: an import records what they still hold (the register as
        // it is), and says so.
        let leavers: std::collections::HashSet<i64> = people
            .iter()
            .filter(|p| p.fields.status == itemize_core::refdata::PersonStatus::Leaver)
            .map(|p| p.id.into())
            .collect();
        // Snipe-IT's export names whom an asset is checked out to by full name: the people of that name.
        let mut people_named: HashMap<String, Vec<i64>> = HashMap::new();
        for p in &people {
            person_by.insert(p.fields.email.to_lowercase(), p.id.into());
            person_by.insert(p.fields.employee_id.to_lowercase(), p.id.into());
            people_named.entry(p.fields.name.trim().to_lowercase()).or_default().push(p.id.into());
        }
        let cc_by: HashMap<String, i64> =
            cost_centres.iter().map(|c| (c.fields.code.to_lowercase(), c.id.into())).collect();
        let svc_by: HashMap<String, i64> =
            services.iter().map(|c| (c.fields.code.to_lowercase(), c.id.into())).collect();
        let ids = KnownIds {
            locations: locations.iter().map(|r| r.id.into()).collect(),
            vendors: vendors.iter().map(|r| r.id.into()).collect(),
            people: people.iter().map(|r| r.id.into()).collect(),
            cost_centres: cost_centres.iter().map(|r| r.id.into()).collect(),
            services: services.iter().map(|r| r.id.into()).collect(),
        };
        let mut new_locations: Vec<String> = Vec::new();
        let mut new_vendors: Vec<String> = Vec::new();
        // (line, asset, new location name, new vendor name, existing id)
        let mut good: Vec<Staged> = Vec::new();
        report.rows = rows.len();
        let ragged = |cells: &[String]| {
            cells.len() > header.len() && cells[header.len()..].iter().any(|c| !c.trim().is_empty())
        };
        // Each row's tag, when an earlier row has it (as the register compares tags): the row it repeats. One pass in
        // file order (ragged rows skipped, as the row check skips them).
        let mut seen_tags: HashMap<String, u64> = HashMap::new();
        let repeats: Vec<Option<u64>> = rows
            .iter()
            .map(|(line, cells)| {
                let tag = tag_cell(cells, tag_at).filter(|_| !ragged(cells))?;
                seen_tags.insert(tag.to_lowercase(), *line)
            })
            .collect();
        // Field → the file column it comes from, for naming the column in a row's errors.
        let index_of: HashMap<&str, usize> =
            fields.iter().enumerate().filter_map(|(i, f)| Some((f.as_deref()?, i))).collect();
        let column_of = |field: &str| index_of.get(field).map(|&i| header[i].trim());
        // The file column an asset field's problem comes from: the field itself (`custom.colour` mapped from
        // `Farbe`), its top-level name, or the column that gives it by natural key or in Snipe-IT's words.
        let source_of = |field: &str| -> Option<usize> {
            let top = field.split('.').next().unwrap_or_default();
            let by_key: &[&str] = match top {
                "assignee_person_id" => &["assignee", "_person_email", "_person_username", "_person_name"],
                "location_id" => &["location", "_location"],
                "vendor_id" => &["vendor", "_vendor"],
                "cost_centre_id" => &["cost_centre"],
                "service_id" => &["service"],
                "state" => &["_status"],
                "warranty_end" => &["_warranty_months"],
                _ => &[],
            };
            let underscored = format!("_{top}");
            [field, top, underscored.as_str()]
                .into_iter()
                .chain(by_key.iter().copied())
                .find_map(|f| index_of.get(f).copied())
        };
        // One row checked: its warnings, its errors, or the asset it stages. Reads only what was gathered above, so
        // the rows can be checked on two threads.
        let check = |(line, cells): &(u64, Vec<String>), repeat: Option<u64>| -> RowCheck {
            let line = *line;
            if ragged(cells) {
                let e = RowError::new(
                    line,
                    None,
                    None,
                    format!(
                        "ragged row: it has {} cells but the header has {} (a comma inside an unquoted value?)",
                        cells.len(),
                        header.len()
                    ),
                );
                return RowCheck { warnings: Vec::new(), errors: vec![e], staged: None };
            }
            let mut warnings: Vec<String> = Vec::new();
            let mut obj = Map::new();
            let mut first = Map::new();
            let mut row_errs: Vec<RowError> = Vec::new();
            let mut new_loc = None;
            let mut new_vendor = None;
            let mut warranty_months = None;
            // The person a cell names as holding the asset (the last such cell), and how it named them.
            let mut holder: Option<(i64, String)> = None;
            let mut category = None;
            let mut model_number = None;
            for (i, f) in fields.iter().enumerate() {
                let Some(f) = f else { continue };
                let v = cells.get(i).map(|c| c.trim()).unwrap_or_default();
                if v.is_empty() || v.eq_ignore_ascii_case("null") {
                    continue;
                }
                let col = header[i].trim();
                match f.as_str() {
                    "_ignore" => {}
                    "_model_number" => model_number = Some(v.to_string()),
                    "_category" => category = Some(v.to_string()),
                    "_warranty_months" => match v.parse::<i64>() {
                        Ok(n) if (0..=240).contains(&n) => warranty_months = Some(n),
                        _ => row_errs.push(RowError::new(line, Some(col), Some(v), "warranty: must be a number of months")),
                    },
                    "_status" => match state_of(v) {
                        Some(s) => {
                            first.insert("state".into(), json!(s));
                        }
                        None => row_errs.push(RowError::new(line, Some(col), Some(v), "status: is not a status itemize knows (Ready to Deploy, Deployed, Pending, Undeployable, Archived, Lost, Stolen)")),
                    },
                    "_location" | "location" => match loc_by.get(&v.to_lowercase()) {
                        Some(id) => {
                            obj.insert("location_id".into(), json!(id));
                        }
                        None if snipe => new_loc = Some(v.to_string()),
                        None => row_errs.push(RowError::new(line, Some(col), Some(v), "location: no location has this code or name")),
                    },
                    "_vendor" | "vendor" => match vendor_by.get(&v.to_lowercase()) {
                        Some(id) => {
                            obj.insert("vendor_id".into(), json!(id));
                        }
                        // A supplier Snipe-IT calls by the first words of a vendor's name ("Dell" for Dell
                        // Technologies) is that vendor when only one's name begins so; else a new vendor.
                        None if snipe => match vendor_by_prefix(&vendors, v) {
                            Some((id, name)) => {
                                obj.insert("vendor_id".into(), json!(id));
                                warnings.push(format!("row {line}: {col} `{v}` read as the vendor {name}"));
                            }
                            None => new_vendor = Some(v.to_string()),
                        },
                        None => row_errs.push(RowError::new(line, Some(col), Some(v), "vendor: no vendor has this name or alias")),
                    },
                    "_person_email" | "_person_username" | "assignee" => match person_by.get(&v.to_lowercase()) {
                        Some(id) => holder = Some((*id, format!("{col} `{v}`"))),
                        None if snipe => warnings.push(format!("row {line}: {col} `{v}` is nobody in itemize's people; the asset is imported unassigned")),
                        None => row_errs.push(RowError::new(line, Some(col), Some(v), "assignee: no person has this e-mail or employee id")),
                    },
                    "_person_name" => match people_named.get(&v.to_lowercase()).map(Vec::as_slice) {
                        Some([id]) => holder = Some((*id, format!("{col} `{v}`"))),
                        Some(more) => warnings.push(format!("row {line}: {col} `{v}` names {} people; the asset is imported unassigned (give an e-mail or username to tell them apart)", more.len())),
                        None => warnings.push(format!("row {line}: {col} `{v}` is nobody in itemize's people (or not a person: Snipe-IT also checks out to locations and assets); the asset is imported unassigned")),
                    },
                    "cost_centre" => match cc_by.get(&v.to_lowercase()) {
                        Some(id) => {
                            obj.insert("cost_centre_id".into(), json!(id));
                        }
                        None => row_errs.push(RowError::new(line, Some(col), Some(v), "cost_centre: no cost centre has this code")),
                    },
                    "service" => match svc_by.get(&v.to_lowercase()) {
                        Some(id) => {
                            first.insert("service_id".into(), json!(id));
                        }
                        None => row_errs.push(RowError::new(line, Some(col), Some(v), "service: no business service has this code")),
                    },
                    "state" => {
                        first.insert("state".into(), json!(v));
                    }
                    "purchase_date" | "in_service_date" | "warranty_end" | "end_of_life" => match iso_date(v) {
                        Some(d) => {
                            obj.insert(f.clone(), json!(d));
                        }
                        None => row_errs.push(RowError::new(line, Some(col), Some(v), format!("{f}: is not a date (YYYY-MM-DD or m/d/yy)"))),
                    },
                    "purchase_cost" | "salvage_value" | "depreciation_rate" => {
                        // Thousands separators are the asset's validation's to read (a decimal comma is refused).
                        obj.insert(f.clone(), json!(v.trim_start_matches(['$', '€', '£'])));
                    }
                    "location_id" | "cost_centre_id" | "vendor_id" | "assignee_person_id" | "service_id" => {
                        match v.parse::<i64>() {
                            Ok(n) if f == "assignee_person_id" || f == "service_id" => {
                                first.insert(f.clone(), json!(n));
                            }
                            Ok(n) => {
                                obj.insert(f.clone(), json!(n));
                            }
                            Err(_) => row_errs.push(RowError::new(line, Some(col), Some(v), format!("{f}: is not an id"))),
                        }
                    }
                    "useful_life_months" => match v.parse::<i64>() {
                        Ok(n) => {
                            obj.insert(f.clone(), json!(n));
                        }
                        Err(_) => row_errs.push(RowError::new(line, Some(col), Some(v), "useful_life_months: is not a whole number")),
                    },
                    other => {
                        if let Some(k) = other.strip_prefix("custom.") {
                            obj.entry("custom").or_insert_with(|| json!({}))[k] = json!(v);
                        } else {
                            obj.insert(other.to_string(), json!(v));
                        }
                    }
                }
            }
            if let Some((id, named)) = holder {
                if leavers.contains(&id) {
                    warnings.push(format!(
                        "row {line}: {named} is a leaver: the asset is recorded as still with them, among what to \
                         recover (Leavers)"
                    ));
                }
                first.insert("assignee_person_id".into(), json!(id));
            }
            let existing_id = obj.get("tag").and_then(Value::as_str).and_then(|t| existing.get(t).copied());
            let stored = existing_id.and_then(|id| current.get(&id));
            if let Some(mut base) = stored.map(|(m, _)| m.clone()) {
                // The tag found the asset regardless of case; the register's spelling stays.
                obj.remove("tag");
                for (k, v) in std::mem::take(&mut obj) {
                    match (base.get_mut(&k), v) {
                        (Some(Value::Object(have)), Value::Object(given)) if k == "custom" => {
                            have.extend(given)
                        }
                        (_, v) => {
                            base.insert(k, v);
                        }
                    }
                }
                obj = base;
            }
            if snipe {
                if !obj.contains_key("class") {
                    // A Snipe-IT category is free text: it decides when it names a kind of device, else the model.
                    let mut class = class_of(category.as_deref().unwrap_or_default());
                    if class == "other" {
                        class = class_of(obj.get("model").and_then(Value::as_str).unwrap_or_default());
                    }
                    obj.insert("class".into(), json!(class));
                }
                if !obj.contains_key("name") {
                    let n = obj.get("model").and_then(Value::as_str).map(str::to_string).or(category.clone());
                    if let Some(n) = n {
                        obj.insert("name".into(), json!(n));
                    }
                }
                if let (Some(months), Some(d)) =
                    (warranty_months, obj.get("purchase_date").and_then(Value::as_str))
                    && let Ok(d) = d.parse::<jiff::civil::Date>()
                {
                    let end = d.checked_add(jiff::Span::new().months(months)).unwrap_or(d);
                    obj.insert("warranty_end".into(), json!(end.to_string()));
                }
                if let Some(n) = model_number {
                    let note = format!("Model number: {n}");
                    let notes = match obj.get("notes").and_then(Value::as_str) {
                        // An update keeps the register's notes, which hold the line from the first import.
                        Some(t) if t.lines().any(|l| l == note) => t.to_string(),
                        Some(t) => format!("{t}\n{note}"),
                        None => note,
                    };
                    obj.insert("notes".into(), json!(notes));
                }
                // Deployed to someone itemize does not know: in stock where it is, rather than refused.
                if first.get("state") == Some(&json!("in-use"))
                    && !first.contains_key("assignee_person_id")
                    && obj.get("location_id").is_none_or(Value::is_null)
                    && new_loc.is_none()
                {
                    first.insert("state".into(), json!("in-stock"));
                    warnings.push(format!("row {line}: deployed to nobody itemize knows and without a location; imported in stock"));
                }
            }
            if let (Some(prev), Some(tag)) = (repeat, obj.get("tag").and_then(Value::as_str)) {
                row_errs.push(RowError::new(
                    line,
                    column_of("tag"),
                    Some(tag),
                    format!("tag: repeats row {prev}"),
                ));
            }
            // A placeholder location so a new one can satisfy "in use needs a location" before it exists.
            if new_loc.is_some() {
                obj.insert("location_id".into(), json!(i64::MAX));
            }
            // An update changes fields. The lifecycle state and custody change through transitions and
            // check-outs, which record why and by whom: a row giving another state, assignee or service than the
            // register's is refused, naming both; one giving the same (an export read back) passes. The asset is
            // then checked in the state and custody the register has it in.
            if let Some((_, was)) = stored {
                let differs = |field: &str, given: Option<&Value>, have: Value, how: &str| {
                    let given = given.filter(|g| **g != have)?;
                    let at = source_of(field);
                    let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                    let value = at
                        .and_then(|i| cells.get(i))
                        .map(|c| c.trim().to_string())
                        .unwrap_or_else(|| text(given));
                    let have = if have.is_null() { "none".to_string() } else { text(&have) };
                    Some(RowError::new(
                        line,
                        Some(at.map(|i| header[i].trim()).unwrap_or(field)),
                        Some(&value),
                        format!(
                            "{field}: the register has {have} (asset {}); an import changes fields only — {how}",
                            was.id
                        ),
                    ))
                };
                // A state as the row spells it (`In Use`), compared as a state; one that is none is refused as such.
                let given_state = match first.get("state").and_then(Value::as_str).map(str::parse::<State>) {
                    Some(Ok(st)) => Some(json!(st)),
                    Some(Err(e)) => {
                        let at = source_of("state");
                        row_errs.push(RowError::new(
                            line,
                            Some(at.map(|i| header[i].trim()).unwrap_or("state")),
                            at.and_then(|i| cells.get(i)).map(|c| c.trim()),
                            format!("state: {e}"),
                        ));
                        None
                    }
                    None => None,
                };
                row_errs.extend(differs(
                    "state",
                    given_state.as_ref(),
                    json!(was.state),
                    "transition the asset to change its state",
                ));
                row_errs.extend(differs(
                    "assignee_person_id",
                    first.get("assignee_person_id"),
                    json!(was.custody.assignee_person_id),
                    "check the asset out or in to change who has it",
                ));
                row_errs.extend(differs(
                    "service_id",
                    first.get("service_id"),
                    json!(was.custody.service_id),
                    "check the asset out or in to change the service it serves",
                ));
                first = match json!({
                    "state": was.state,
                    "substate": was.substate,
                    "assignee_person_id": was.custody.assignee_person_id,
                    "service_id": was.custody.service_id,
                    "expected_return": was.custody.expected_return,
                }) {
                    Value::Object(m) => m.into_iter().filter(|(_, v)| !v.is_null()).collect(),
                    _ => Map::new(),
                };
            }
            // An update keeps the custom values the row leaves as they were, as an edit does.
            let before = stored.map(|(_, was)| (was.fields.class, &was.fields.custom));
            let (asset, errs) = self.new_asset(
                Value::Object(obj),
                Value::Object(first),
                &settings.custom_fields,
                true,
                before,
                stored.and_then(|(_, was)| was.disposal.as_ref()),
            );
            for e in errs {
                let at = source_of(&e.field);
                let col = at.map(|i| header[i].trim());
                let value = at.and_then(|i| cells.get(i)).map(|c| c.trim()).filter(|c| !c.is_empty());
                row_errs.push(RowError::new(
                    line,
                    col.or(Some(e.field.as_str())),
                    value,
                    format!("{}: {}", e.field, e.problem),
                ));
            }
            // Ids the row gave directly must name records, checked against the lists read above.
            if let Some(a) = &asset {
                let refs: [(&str, &std::collections::HashSet<i64>, Option<i64>); 5] = [
                    ("location_id", &ids.locations, a.fields.location_id.filter(|_| new_loc.is_none())),
                    ("cost_centre_id", &ids.cost_centres, a.fields.cost_centre_id),
                    ("vendor_id", &ids.vendors, a.fields.vendor_id),
                    ("assignee_person_id", &ids.people, a.custody.assignee_person_id),
                    ("service_id", &ids.services, a.custody.service_id),
                ];
                for (field, known, id) in refs {
                    if let Some(id) = id.filter(|i| !known.contains(i)) {
                        let value = id.to_string();
                        row_errs.push(RowError::new(
                            line,
                            Some(column_of(field).unwrap_or(field)),
                            Some(&value),
                            format!("{field}: no such record"),
                        ));
                    }
                }
            }
            match (asset, row_errs.is_empty()) {
                (Some(a), true) => RowCheck {
                    warnings,
                    errors: Vec::new(),
                    staged: Some((line, a, new_loc, new_vendor, existing_id)),
                },
                _ => RowCheck { warnings, errors: row_errs, staged: None },
            }
        };
        // Past a few thousand rows, the second half is checked on another thread while this one checks the first.
        let checked: Vec<RowCheck> = if rows.len() >= PARALLEL_CHECK_ROWS {
            let mid = rows.len() / 2;
            std::thread::scope(|scope| {
                let second = scope.spawn(|| {
                    rows[mid..].iter().zip(&repeats[mid..]).map(|(r, p)| check(r, *p)).collect::<Vec<_>>()
                });
                let mut all: Vec<RowCheck> =
                    rows[..mid].iter().zip(&repeats[..mid]).map(|(r, p)| check(r, *p)).collect();
                all.extend(second.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
                all
            })
        } else {
            rows.iter().zip(&repeats).map(|(r, p)| check(r, *p)).collect()
        };
        drop(rows);
        // In file order, as if checked one by one.
        for row in checked {
            report.warnings.extend(row.warnings);
            match row.staged {
                Some(staged) => {
                    if let Some(l) = &staged.2
                        && !new_locations.iter().any(|x| x.eq_ignore_ascii_case(l))
                    {
                        new_locations.push(l.clone());
                    }
                    if let Some(v) = &staged.3
                        && !new_vendors.iter().any(|x| x.eq_ignore_ascii_case(v))
                    {
                        new_vendors.push(v.clone());
                    }
                    good.push(staged);
                }
                None => {
                    report.rejected += 1;
                    for e in row.errors {
                        report.error(e);
                    }
                }
            }
        }
        report.created_locations = new_locations.clone();
        report.created_vendors = new_vendors.clone();
        report.preview =
            good.iter().take(20).map(|(_, a, _, _, _)| serde_json::to_value(a).unwrap_or_default()).collect();
        if !report.errors.is_empty() && !opts.lenient {
            report.created = 0;
            return Ok(report);
        }
        // Write: new locations and vendors first, then assets, all or nothing.
        let now = self.clock().now();
        let mut own_tx = None;
        let tx: &mut Session = match outer {
            Some(o) => o,
            None => own_tx.insert(self.store().transaction().await?),
        };
        let mut new_loc_ids: HashMap<String, i64> = HashMap::new();
        let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (i, name) in new_locations.iter().enumerate() {
            // A code no location has yet (an earlier import may have made `IMP-BUILDING1-1` of "Building 1"
            // when this one meets "Building-1").
            let stem: String =
                name.chars().filter(char::is_ascii_alphanumeric).take(16).collect::<String>().to_uppercase();
            let mut n = i + 1;
            let code = loop {
                let code = format!("IMP-{stem}-{n}");
                let lower = code.to_lowercase();
                if !loc_by.contains_key(&lower) && !taken.contains(&lower) {
                    taken.insert(lower);
                    break code;
                }
                n += 1;
            };
            let loc = Location {
                code,
                name: name.clone(),
                kind: LocationKind::Site,
                parent_id: None,
                country: self.default_country(),
                city: None,
            };
            let rec = tx.insert(&loc, now).await.map_err(|e| AppError::from_store("location", e))?;
            new_loc_ids.insert(name.to_lowercase(), rec.id.into());
        }
        let mut new_vendor_ids: HashMap<String, i64> = HashMap::new();
        for name in &new_vendors {
            let v = Vendor { name: name.clone(), aliases: Vec::new(), website: None };
            let rec = tx.insert(&v, now).await.map_err(|e| AppError::from_store("vendor", e))?;
            new_vendor_ids.insert(name.to_lowercase(), rec.id.into());
        }
        let mut inserts: Vec<Asset> = Vec::new();
        let mut updates: Vec<(Asset, i64)> = Vec::new();
        for (_, mut a, nl, nv, existing_id) in good {
            if let Some(l) = nl {
                let id = new_loc_ids.get(&l.to_lowercase()).copied();
                a.fields.location_id = id;
                a.custody.location_id = id;
            }
            if let Some(v) = nv {
                a.fields.vendor_id = new_vendor_ids.get(&v.to_lowercase()).copied();
            }
            match existing_id {
                Some(id) => updates.push((a, id)),
                None => inserts.push(a),
            }
        }
        let actor_name = actor.name.clone();
        // The "imported" events' details are serialized on another thread while the assets are written.
        let inserts = std::sync::Arc::new(inserts);
        let details = {
            let (inserts, format) = (inserts.clone(), report.format.clone());
            tokio::task::spawn_blocking(move || {
                inserts
                    .iter()
                    .map(|a| {
                        json!({"format": format, "fields": a.fields.to_json(), "custody": crate::assets::custody_json(a)})
                            .to_string()
                    })
                    .collect::<Vec<String>>()
            })
        };
        let ids = tx.insert_assets(&inserts).await.map_err(store_err)?;
        let details = details.await.map_err(|e| AppError::Internal(format!("import events: {e}")))?;
        tx.append_asset_events_of_kind(
            now,
            &actor_name,
            "imported",
            ids.iter().copied().zip(details).collect(),
        )
        .await?;
        for (mut a, id) in updates {
            let current =
                tx.asset(id).await.map_err(store_err)?.ok_or_else(|| crate::assets::not_found(id))?;
            let changes = crate::assets::diff(&current.fields.to_json(), &a.fields.to_json());
            if changes.is_empty() {
                continue;
            }
            // Fields update; state and custody stay as the register has them.
            let mut next = current.clone();
            a.fields.location_id = a.fields.location_id.or(current.fields.location_id);
            next.fields = a.fields;
            next.custody.location_id = next.fields.location_id;
            next.version += 1;
            next.updated_at = now;
            tx.update_asset(&next, current.version).await.map_err(store_err)?;
            tx.append_asset_events(&[(
                id,
                now,
                &actor_name,
                "updated",
                json!({"changes": changes, "import": report.format}),
            )])
            .await?;
            report.updated += 1;
        }
        report.created = ids.len();
        if let Some(tx) = own_tx {
            if opts.dry_run {
                tx.rollback().await?;
            } else {
                tx.commit().await?;
                report.committed = true;
            }
        }
        Ok(report)
    }

    fn default_country(&self) -> itemize_core::country::Country {
        "US".parse().unwrap_or_else(|_| unreachable!("US is a country"))
    }

    /// Every asset a list's filters match, as CSV (itemize's import columns, so an export re-imports) or XLSX.
    pub async fn export_assets(
        &self,
        actor: &Actor,
        params: &ListParams,
        format: &str,
    ) -> Result<Vec<u8>, AppError> {
        if !matches!(format, "csv" | "xlsx") {
            return Err(AppError::bad_param("format", "must be csv or xlsx"));
        }
        let rows = self.all_matching(actor, params.clone(), None).await?;
        let own = [
            "tag",
            "name",
            "class",
            "state",
            "model",
            "manufacturer",
            "serial",
            "hostname",
            "location",
            "cost_centre",
            "assignee",
            "service",
            "vendor",
            "purchase_date",
            "purchase_cost",
            "currency",
            "po_number",
            "invoice_number",
            "warranty_end",
            "end_of_life",
            "useful_life_months",
            "depreciation_method",
            "depreciation_rate",
            "depreciation_convention",
            "depreciation_start",
            "salvage_value",
            "in_service_date",
            "resource_id",
            "notes",
        ];
        // Every field an asset has, custom ones as `custom.<key>` columns (those any exported asset has), so an
        // export re-imports without losing a value.
        let custom: std::collections::BTreeSet<String> =
            rows.iter().flat_map(|a| a.fields.custom.keys().cloned()).collect();
        let cols: Vec<String> =
            own.iter().map(|c| c.to_string()).chain(custom.iter().map(|k| format!("custom.{k}"))).collect();
        let text = |v: &Value| match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        // Records by their natural keys, as people know them and as an import reads them back (a location's and
        // a cost centre's code, a person's employee id, a service's code, a vendor's name), not database ids.
        let mut s = self.store().session().await?;
        let keys = |pairs: Vec<(i64, String)>| pairs.into_iter().collect::<HashMap<i64, String>>();
        let locations =
            keys(s.all::<Location>(true).await?.into_iter().map(|r| (r.id.into(), r.fields.code)).collect());
        let centres = keys(
            s.all::<itemize_core::refdata::CostCentre>(true)
                .await?
                .into_iter()
                .map(|r| (r.id.into(), r.fields.code))
                .collect(),
        );
        let people = keys(
            s.all::<Person>(true).await?.into_iter().map(|r| (r.id.into(), r.fields.employee_id)).collect(),
        );
        let services = keys(
            s.all::<itemize_core::refdata::Service>(true)
                .await?
                .into_iter()
                .map(|r| (r.id.into(), r.fields.code))
                .collect(),
        );
        let vendors =
            keys(s.all::<Vendor>(true).await?.into_iter().map(|r| (r.id.into(), r.fields.name)).collect());
        drop(s);
        let key = |map: &HashMap<i64, String>, id: Option<i64>| json!(id.and_then(|i| map.get(&i)));
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|a| {
                let mut j = a.fields.to_json();
                j["state"] = json!(a.state);
                j["location"] = key(&locations, a.fields.location_id);
                j["cost_centre"] = key(&centres, a.fields.cost_centre_id);
                j["assignee"] = key(&people, a.custody.assignee_person_id);
                j["service"] = key(&services, a.custody.service_id);
                j["vendor"] = key(&vendors, a.fields.vendor_id);
                own.iter()
                    .map(|c| text(&j[*c]))
                    .chain(custom.iter().map(|k| a.fields.custom.get(k).map(text).unwrap_or_default()))
                    .collect()
            })
            .collect();
        if format == "xlsx" {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            let err = |e: rust_xlsxwriter::XlsxError| AppError::Internal(e.to_string());
            for (c, h) in cols.iter().enumerate() {
                sheet.write_string(0, c as u16, h).map_err(err)?;
            }
            // Amounts, counts and dates as the spreadsheet's own numbers and dates (summed, sorted, filtered as
            // such); everything else, codes with leading zeros included, as text.
            let money = rust_xlsxwriter::Format::new().set_num_format("#,##0.00");
            let day = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
            let kind = |h: &str| match h {
                "purchase_cost" | "salvage_value" => 'm',
                "useful_life_months" | "depreciation_rate" => 'n',
                "purchase_date" | "in_service_date" | "warranty_end" | "end_of_life" | "expected_return" => {
                    'd'
                }
                _ => 't',
            };
            for (r, row) in table.iter().enumerate() {
                let r = r as u32 + 1;
                for (c, v) in row.iter().enumerate() {
                    let col = c as u16;
                    let number =
                        || v.parse::<rust_decimal::Decimal>().ok().and_then(|d| f64::try_from(d).ok());
                    let date = || {
                        let d = v.parse::<jiff::civil::Date>().ok()?;
                        rust_xlsxwriter::ExcelDateTime::from_ymd(
                            d.year() as u16,
                            d.month() as u8,
                            d.day() as u8,
                        )
                        .ok()
                    };
                    match (cols.get(c).map_or('t', |h| kind(h)), v.is_empty()) {
                        (_, true) => {}
                        ('m', _) if let Some(n) = number() => {
                            sheet.write_number_with_format(r, col, n, &money).map_err(err)?;
                        }
                        ('n', _) if let Some(n) = number() => {
                            sheet.write_number(r, col, n).map_err(err)?;
                        }
                        ('d', _) if let Some(d) = date() => {
                            sheet.write_datetime_with_format(r, col, &d, &day).map_err(err)?;
                        }
                        _ => {
                            sheet.write_string(r, col, v).map_err(err)?;
                        }
                    }
                }
            }
            return book.save_to_buffer().map_err(err);
        }
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        w.write_record(&cols).map_err(|e| AppError::Internal(e.to_string()))?;
        for row in &table {
            w.write_record(row).map_err(|e| AppError::Internal(e.to_string()))?;
        }
        w.into_inner().map_err(|e| AppError::Internal(e.to_string()))
    }
}

/// A checked row: its line, the asset, a location and vendor to create for it, and the asset it updates.
type Staged = (u64, Asset, Option<String>, Option<String>, Option<i64>);

/// One checked row: the warnings it raised, and either the asset it stages or its errors.
struct RowCheck {
    warnings: Vec<String>,
    errors: Vec<RowError>,
    staged: Option<Staged>,
}

/// Rows from which an import checks its rows on two threads.
const PARALLEL_CHECK_ROWS: usize = 4096;

/// The ids of the records an import may refer to.
struct KnownIds {
    locations: std::collections::HashSet<i64>,
    vendors: std::collections::HashSet<i64>,
    people: std::collections::HashSet<i64>,
    cost_centres: std::collections::HashSet<i64>,
    services: std::collections::HashSet<i64>,
}

/// Files kept between an import's preview and the import itself.
const STAGED: &str = "staged-asset-imports";

/// How long a previewed file is kept for the import that follows.
const STAGED_FOR: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

impl App {
    /// Keeps an uploaded asset file for the import its preview leads to, named by the SHA-256 of its content (a
    /// file previewed twice is kept once). Files kept longer than a day are removed as new ones arrive.
    pub async fn stage_asset_file(&self, actor: &Actor, bytes: &[u8]) -> Result<String, AppError> {
        crate::assets::allow_import(actor)?;
        use sha2::{Digest, Sha256};
        let name: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        let dir = self.config().data_dir.join(STAGED);
        let io = |e: std::io::Error| AppError::Internal(format!("the file could not be kept: {e}"));
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        if let Ok(mut entries) = tokio::fs::read_dir(&dir).await {
            while let Ok(Some(e)) = entries.next_entry().await {
                let old =
                    e.metadata().await.ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok());
                if old.is_some_and(|age| age > STAGED_FOR) {
                    let _ = tokio::fs::remove_file(e.path()).await;
                }
            }
        }
        let tmp = dir.join(format!("{name}.part"));
        tokio::fs::write(&tmp, bytes).await.map_err(io)?;
        tokio::fs::rename(&tmp, dir.join(&name)).await.map_err(io)?;
        Ok(name)
    }

    /// The content of a file kept by [`App::stage_asset_file`].
    pub async fn staged_asset_file(&self, actor: &Actor, name: &str) -> Result<Vec<u8>, AppError> {
        crate::assets::allow_import(actor)?;
        let gone = || {
            AppError::Validation(vec![itemize_core::FieldError::new(
                "file",
                "the previewed file is no longer kept: choose it again",
            )])
        };
        if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(gone());
        }
        tokio::fs::read(self.config().data_dir.join(STAGED).join(name)).await.map_err(|_| gone())
    }

    /// Forgets a kept file once its import is written.
    pub async fn drop_staged_asset_file(&self, name: &str) {
        if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            let _ = tokio::fs::remove_file(self.config().data_dir.join(STAGED).join(name)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_mac_roman_with_cr_lines() {
        let mut w = Vec::new();
        let t = decode_text(b"a,b\rLuts\x8ek,2\r", &mut w);
        assert_eq!(t, "a,b\nLutsék,2\n");
        assert_eq!(w.len(), 2);
        let mut w = Vec::new();
        assert_eq!(decode_text("\u{feff}x\r\ny".as_bytes(), &mut w), "x\ny");
        assert!(w.is_empty());
    }

    #[test]
    fn reads_us_dates_and_snipe_statuses() {
        assert_eq!(iso_date("4/5/16").as_deref(), Some("2016-04-05"));
        assert_eq!(iso_date("10/27/28").as_deref(), Some("2028-10-27"));
        assert_eq!(iso_date("2024-01-31").as_deref(), Some("2024-01-31"));
        assert_eq!(iso_date("31/31/20"), None);
        assert_eq!(state_of("Ready to Deploy"), Some("in-stock"));
        assert_eq!(state_of("Undeployable"), Some("in-repair"));
        assert_eq!(class_of("Laptops"), "laptop");
        assert_eq!(class_of("Ornamental Railings"), "other");
    }
}
