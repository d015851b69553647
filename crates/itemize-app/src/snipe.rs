//! Snipe-IT's export files, read into itemize so a Snipe-IT user moves over in one command
//! (`itemize import snipe-it DIR`), all of the export in one transaction. Locations and users become reference
//! data: each file is translated into itemize's own CSV columns and goes through the same import as any other,
//! its problems reported by the Snipe-IT file's own row numbers and column names. Assets go through the asset
//! import, which reads Snipe-IT's asset columns itself. The rest of a Snipe-IT export (licences, accessories,
//! consumables, components, models) is not part of the asset register and is named as skipped, with why.

use crate::asset_import::ImportReport as AssetImportReport;
use crate::csvio::ImportReport;
use crate::{App, AppError};
use itemize_core::auth::Actor;
use itemize_core::refdata::{Kind, Location, Person};
use itemize_ingest::RowError;
use itemize_store::Session;
use std::collections::{HashMap, HashSet};

/// What a Snipe-IT export file holds, told by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnipeFile {
    Locations,
    Users,
    Assets,
    /// A file of Snipe-IT's that itemize does not import, and why.
    Skipped(&'static str),
}

/// Tells a Snipe-IT export by its header (names compared ignoring case, blanks and a byte-order mark); `None`
/// when the header is not one of Snipe-IT's.
pub fn snipe_file(header: &[String]) -> Option<SnipeFile> {
    let names: HashSet<String> =
        header.iter().map(|h| h.trim_start_matches('\u{feff}').trim().to_lowercase()).collect();
    let has = |n: &str| names.contains(n);
    Some(if has("asset tag") {
        SnipeFile::Assets
    } else if has("first name") && has("last name") && has("username") {
        SnipeFile::Users
    } else if has("name") && has("address") && has("city") && has("country") {
        SnipeFile::Locations
    } else if has("seats") || has("licensed to name") {
        SnipeFile::Skipped("software licences are not part of the asset register")
    } else if has("min amount") {
        SnipeFile::Skipped("accessories and consumables are counted stock, not tracked assets")
    } else if has("quantity") && has("item name") {
        SnipeFile::Skipped("components are counted stock, not tracked assets")
    } else if has("model number") && has("eol") {
        SnipeFile::Skipped("models: each asset carries its model; end of life is set per asset")
    } else {
        return None;
    })
}

/// What a Snipe-IT export file holds, told by the header at the start of its bytes.
pub fn snipe_file_of(bytes: &[u8]) -> Option<SnipeFile> {
    let header: Vec<String> = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bytes)
        .headers()
        .ok()?
        .iter()
        .map(str::to_string)
        .collect();
    snipe_file(&header)
}

/// A Snipe-IT file translated into itemize's CSV: the bytes, each translated row's line in the original file,
/// itemize's column → the Snipe-IT column it came from, and what was left out.
struct Translated {
    csv: Vec<u8>,
    lines: Vec<u64>,
    columns: HashMap<&'static str, &'static str>,
    notes: Vec<String>,
}

/// A file's header as it spells it, lower-cased (what the code looks names up by), and its records, each with
/// its line.
struct Grid {
    spelled: Vec<String>,
    header: Vec<String>,
    rows: Vec<(u64, csv::StringRecord)>,
}

fn read(bytes: &[u8]) -> Result<Grid, RowError> {
    let mut r =
        csv::ReaderBuilder::new().flexible(true).from_reader(itemize_ingest::table::CrlfToLf::new(bytes));
    let spelled: Vec<String> = r
        .headers()
        .map_err(|e| RowError::new(1, None, None, e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    let header = spelled.iter().map(|h| h.to_lowercase()).collect();
    let mut rows = Vec::new();
    // As the readers read: a row after blank lines is numbered by its own line.
    let mut rec = csv::StringRecord::new();
    while let Some(line) = itemize_ingest::cells::next_csv(&mut r, &mut rec) {
        rows.push((line?, std::mem::take(&mut rec)));
    }
    Ok(Grid { spelled, header, rows })
}

fn cell<'a>(header: &[String], rec: &'a csv::StringRecord, name: &str) -> &'a str {
    header.iter().position(|h| h == name).and_then(|i| rec.get(i)).map(str::trim).unwrap_or("")
}

/// A location code from a name: its letters and digits, upper-cased, at most 16.
fn code_of(name: &str) -> String {
    let c: String =
        name.chars().filter(char::is_ascii_alphanumeric).take(16).collect::<String>().to_uppercase();
    if c.is_empty() { "LOC".into() } else { c }
}

/// One file of a Snipe-IT export and what became of it.
#[derive(Debug)]
pub enum SnipeStep {
    /// Locations or users, imported as reference data.
    Refdata(ImportReport),
    Assets(AssetImportReport),
    /// A file itemize does not import, and why.
    Skipped(&'static str),
}

/// A whole Snipe-IT export's import: each file's step in the order taken, and whether it all landed.
#[derive(Debug)]
pub struct SnipeImport {
    /// (file name, its step), locations first, then users, then assets, then the skipped files; a run that
    /// fails stops at the failed file.
    pub steps: Vec<(String, SnipeStep)>,
    pub committed: bool,
}

impl SnipeStep {
    fn ok(&self) -> bool {
        match self {
            SnipeStep::Refdata(r) => r.is_ok(),
            SnipeStep::Assets(r) => r.ok(),
            SnipeStep::Skipped(_) => true,
        }
    }
}

impl App {
    /// Imports a Snipe-IT export — its locations, users and assets files, whatever order they come in — in one
    /// transaction: every file lands or none does, and each step sees what the steps before it wrote (a dry run
    /// checks users against the locations file and assets against both, as the real run would, then rolls all
    /// of it back). A file that is not one of Snipe-IT's is refused before anything is read.
    pub async fn import_snipe_it(
        &self,
        actor: &Actor,
        files: Vec<(String, Vec<u8>)>,
        dry_run: bool,
        lenient: bool,
    ) -> Result<SnipeImport, AppError> {
        let mut plan = Vec::new();
        for (name, bytes) in files {
            let Some(kind) = snipe_file_of(&bytes) else {
                return Err(AppError::Refused(format!(
                    "{name}: not one of Snipe-IT's export files (locations, users, assets, licences, accessories, \
                     consumables, components, models)"
                )));
            };
            let order = match kind {
                SnipeFile::Locations => 0,
                SnipeFile::Users => 1,
                SnipeFile::Assets => 2,
                SnipeFile::Skipped(_) => 3,
            };
            plan.push((order, name, kind, bytes));
        }
        plan.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut tx = self.store().transaction().await?;
        let mut steps = Vec::new();
        for (_, name, kind, bytes) in plan {
            let step = match kind {
                SnipeFile::Skipped(why) => SnipeStep::Skipped(why),
                SnipeFile::Locations | SnipeFile::Users => SnipeStep::Refdata(
                    self.import_snipe_refdata_in(&mut tx, actor, &bytes, dry_run, lenient).await?,
                ),
                SnipeFile::Assets => {
                    let opts = crate::asset_import::ImportOptions {
                        format: Some("snipe-it".into()),
                        dry_run,
                        lenient,
                        mapping: Vec::new(),
                    };
                    SnipeStep::Assets(self.import_assets_with(actor, &bytes, &opts, Some(&mut tx)).await?)
                }
            };
            let ok = step.ok();
            steps.push((name, step));
            if !ok {
                tx.rollback().await?;
                return Ok(SnipeImport { steps, committed: false });
            }
        }
        if dry_run {
            tx.rollback().await?;
            return Ok(SnipeImport { steps, committed: false });
        }
        tx.commit().await?;
        self.after_write(Kind::Location);
        self.after_write(Kind::Person);
        for (_, step) in steps.iter_mut() {
            match step {
                SnipeStep::Refdata(r) => r.committed = true,
                SnipeStep::Assets(r) => r.committed = true,
                SnipeStep::Skipped(_) => {}
            }
        }
        Ok(SnipeImport { steps, committed: true })
    }

    /// A Snipe-IT locations or users export imported as reference data through `tx` (see the module
    /// documentation).
    async fn import_snipe_refdata_in(
        &self,
        tx: &mut Session,
        actor: &Actor,
        bytes: &[u8],
        dry_run: bool,
        lenient: bool,
    ) -> Result<ImportReport, AppError> {
        let Grid { spelled, header, rows } = match read(bytes) {
            Ok(r) => r,
            Err(e) => return Err(AppError::Refused(format!("row {}: {}", e.row, e.reason))),
        };
        let (kind, t) = match snipe_file(&header) {
            Some(SnipeFile::Locations) => (Kind::Location, self.snipe_locations(tx, &header, &rows).await?),
            Some(SnipeFile::Users) => (Kind::Person, self.snipe_users(tx, &header, &rows, lenient).await?),
            _ => {
                return Err(AppError::Refused(
                    "not a Snipe-IT locations or users export (its header has neither name, address, city and \
                     country nor first name, last name and username)"
                        .into(),
                ));
            }
        };
        let mut report = self.import_csv_in(tx, actor, kind, t.csv.as_slice(), dry_run).await?;
        // Problems by the Snipe-IT file's own rows and columns, spelled as its header spells them.
        let relabel = |e: &mut RowError| {
            if e.row >= 2 {
                e.row = t.lines.get(e.row as usize - 2).copied().unwrap_or(e.row);
            }
            let theirs = e.column.as_deref().and_then(|c| t.columns.get(c));
            if let Some(i) = theirs.and_then(|c| header.iter().position(|h| h == c)) {
                e.column = Some(spelled[i].clone());
            } else if let Some(c) = theirs {
                e.column = Some(c.to_string());
            }
        };
        report.errors.iter_mut().for_each(relabel);
        report.notes = t.notes;
        Ok(report)
    }

    async fn snipe_locations(
        &self,
        s: &mut Session,
        header: &[String],
        rows: &[(u64, csv::StringRecord)],
    ) -> Result<Translated, AppError> {
        let existing = s.all::<Location>(true).await?;
        // Snipe-IT allows two locations of one name (two sites in one town); itemize gives each its own code.
        // The k-th location of a name in the file is the k-th of that name already here (so importing the file
        // again updates them), else a new one with a code from its name.
        let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
        for l in &existing {
            by_name.entry(l.fields.name.to_lowercase()).or_default().push(l.fields.code.clone());
        }
        let mut taken: HashSet<String> = existing.iter().map(|l| l.fields.code.to_uppercase()).collect();
        let mut w = csv::Writer::from_writer(Vec::new());
        let ours = ["code", "name", "kind", "country", "city"];
        w.write_record(ours).map_err(csv_err)?;
        let mut lines = Vec::new();
        let mut notes = Vec::new();
        let mut occurrences: HashMap<String, usize> = HashMap::new();
        for (line, rec) in rows {
            let name = cell(header, rec, "name");
            let k = occurrences.entry(name.to_lowercase()).or_default();
            *k += 1;
            let code = match by_name.get(&name.to_lowercase()).and_then(|codes| codes.get(*k - 1)) {
                Some(c) => c.clone(),
                None => {
                    let base = code_of(name);
                    let mut code = base.clone();
                    let mut n = 2;
                    while taken.contains(&code) {
                        code = format!("{base}-{n}");
                        n += 1;
                    }
                    taken.insert(code.clone());
                    code
                }
            };
            if *k > 1 {
                notes.push(format!(
                    "row {line}: another location named {name:?} ({}); its code is {code}, and assets and users \
                     naming {name:?} go to the first",
                    cell(header, rec, "address")
                ));
            }
            let mut country = cell(header, rec, "country").to_string();
            if country.is_empty() {
                country = "US".into();
                notes.push(format!("row {line}: {name:?} has no country; set to US"));
            }
            w.write_record([code.as_str(), name, "site", country.as_str(), cell(header, rec, "city")])
                .map_err(csv_err)?;
            lines.push(*line);
        }
        let columns =
            HashMap::from([("code", "name"), ("name", "name"), ("country", "country"), ("city", "city")]);
        Ok(Translated { csv: w.into_inner().map_err(|e| csv_err(e.into_error()))?, lines, columns, notes })
    }

    /// With `lenient`, users without an e-mail address (itemize needs one for each person) are left out, each
    /// named in a note; without it they are errors like any other.
    async fn snipe_users(
        &self,
        s: &mut Session,
        header: &[String],
        rows: &[(u64, csv::StringRecord)],
        lenient: bool,
    ) -> Result<Translated, AppError> {
        let locations = s.all::<Location>(false).await?;
        let people = s.all::<Person>(true).await?;
        let location_code = |v: &str| {
            locations
                .iter()
                .find(|l| l.fields.name.eq_ignore_ascii_case(v) || l.fields.code.eq_ignore_ascii_case(v))
                .map(|l| l.fields.code.clone())
        };
        let employee_id = |rec: &csv::StringRecord| {
            let n = cell(header, rec, "employee number");
            if n.is_empty() { cell(header, rec, "username").to_string() } else { n.to_string() }
        };
        let full_name = |rec: &csv::StringRecord| {
            format!("{} {}", cell(header, rec, "first name"), cell(header, rec, "last name"))
                .trim()
                .to_string()
        };
        // Managers are named by full name: someone in the file, else someone in itemize.
        let mut by_name: HashMap<String, String> =
            people.iter().map(|p| (p.fields.name.to_lowercase(), p.fields.employee_id.clone())).collect();
        for (_, rec) in rows {
            // Not someone a lenient import leaves out: a manager must be a person who will be there.
            if !(lenient && cell(header, rec, "email").is_empty()) {
                by_name.insert(full_name(rec).to_lowercase(), employee_id(rec));
            }
        }
        let today = self.today();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "employee_id",
            "name",
            "email",
            "job_title",
            "location_code",
            "manager_employee_id",
            "status",
            "leave_date",
        ])
        .map_err(csv_err)?;
        let mut lines = Vec::new();
        let mut notes = Vec::new();
        for (line, rec) in rows {
            if lenient && cell(header, rec, "email").is_empty() {
                notes.push(format!(
                    "row {line}: {} ({}) has no e-mail address, which itemize needs for each person; left out",
                    full_name(rec),
                    cell(header, rec, "username")
                ));
                continue;
            }
            let loc = cell(header, rec, "location");
            let location = match loc {
                "" => String::new(),
                v => location_code(v).unwrap_or_else(|| {
                    notes.push(format!("row {line}: location {v:?} is not in itemize; left empty"));
                    String::new()
                }),
            };
            let manager = match cell(header, rec, "manager") {
                "" => String::new(),
                m => match by_name.get(&m.to_lowercase()) {
                    Some(id) if *id != employee_id(rec) => id.clone(),
                    Some(_) => {
                        notes.push(format!("row {line}: {m:?} is named as their own manager; left empty"));
                        String::new()
                    }
                    None => {
                        notes.push(format!("row {line}: manager {m:?} is not a person here; left empty"));
                        String::new()
                    }
                },
            };
            // Snipe-IT's end date: past, a leaver; ahead, a scheduled departure.
            let end = cell(header, rec, "end date");
            let status = match end.parse::<jiff::civil::Date>() {
                Ok(d) if d <= today => "leaver",
                _ => "active",
            };
            w.write_record([
                employee_id(rec).as_str(),
                full_name(rec).as_str(),
                cell(header, rec, "email"),
                cell(header, rec, "job title"),
                location.as_str(),
                manager.as_str(),
                status,
                end,
            ])
            .map_err(csv_err)?;
            lines.push(*line);
        }
        let columns = HashMap::from([
            ("employee_id", "employee number"),
            ("name", "first name"),
            ("email", "email"),
            ("job_title", "job title"),
            ("location_code", "location"),
            ("manager_employee_id", "manager"),
            ("leave_date", "end date"),
        ]);
        Ok(Translated { csv: w.into_inner().map_err(|e| csv_err(e.into_error()))?, lines, columns, notes })
    }
}

fn csv_err(e: impl std::fmt::Display) -> AppError {
    AppError::Refused(format!("translating the Snipe-IT file: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_after_blank_lines_keep_their_own_line_numbers() {
        let g = read(b"Name,Email\r\nAda,ada@example.com\r\n\r\n\r\nBo,bo@example.com\r\n").unwrap();
        assert_eq!(g.rows.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [2, 5]);
        assert_eq!(&g.rows[1].1[0], "Bo");
    }

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn snipe_files_are_told_by_their_header() {
        let users = header(&["\u{feff}First Name", "Last Name", "Email", "Username", "Location"]);
        assert_eq!(snipe_file(&users), Some(SnipeFile::Users));
        let locations = header(&["name", "address", "address2", "city", "state", "country", "zip"]);
        assert_eq!(snipe_file(&locations), Some(SnipeFile::Locations));
        assert_eq!(snipe_file(&header(&["Company", "Name", "Asset Tag"])), Some(SnipeFile::Assets));
        assert!(matches!(snipe_file(&header(&["Item name", "seats"])), Some(SnipeFile::Skipped(_))));
        assert_eq!(snipe_file(&header(&["code", "name", "country"])), None);
        assert_eq!(code_of("Peace River"), "PEACERIVER");
        assert_eq!(code_of("Zürich – HQ"), "ZRICHHQ");
        assert_eq!(code_of("!!"), "LOC");
    }
}
