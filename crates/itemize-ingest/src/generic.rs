//! Generic spend files: everything that is not a cloud bill (GL extracts, SaaS invoices, managed services,
//! telecom, on-premise maintenance), as CSV or XLSX, read through a small TOML [`Mapping`] that says which
//! column is what. Each row becomes one [`FocusRecord`] with exact decimal costs; a row that cannot be read is a
//! [`RowError`] naming the row (file line or spreadsheet row; the header is row 1), the file's column, the value
//! and why.
//!
//! The mapping, in full (every key but `name`, `columns.amount` and one of `columns.date`/`columns.period` is
//! optional; any other key is refused):
//!
//! ```toml
//! name = "SaaS invoices"            # the source's name: x_Source, the BillingAccountId when no account
//!                                   # column says otherwise, and the ProviderName when no vendor does
//! sheet = "Invoices"                # XLSX only; default the workbook's first sheet
//! delimiter = ";"                   # CSV only; one character, default ","
//! replaces = "invoice"              # what a newer file of the same period and account replaces: "invoice"
//!                                   # (the lines of the invoices it holds; other invoices add up; the default
//!                                   # with an invoice column), "period" (all of the period's lines: a GL
//!                                   # extract run again; the default without one) or "nothing" (every file
//!                                   # adds; only the same bytes twice is a no-op)
//! [columns]                         # the file's header names (matched exactly, else ignoring case and
//!                                   # repeated blanks when that finds exactly one column)
//! date = "Invoice Date"             # a date column ...
//! # period = "Period"               # ... or a period column (2026-05, 202605, 05/2026, May 2026, May-26)
//! amount = "Amount"                 # 1234.56, $1,234.56, (250.00), -250, 1.234,56 with decimal_comma
//! currency = "Currency"             # ISO 4217; optional when [defaults].currency is set
//! vendor = "Supplier"               # ProviderName, PublisherName, InvoiceIssuerName (after vendor_aliases)
//! gl_account = "GL Account"         # x_GlAccount
//! cost_centre = "Cost Center"       # SubAccountId and x_CostCentre (`cost_center` is accepted too)
//! description = "Description"       # ChargeDescription
//! invoice = "Invoice No"            # InvoiceId
//! account = "Entity"                # BillingAccountId (an empty cell falls back to the mapping's name)
//! service = "Product"               # ServiceName (default: the vendor)
//! category = "Type"                 # per-row ChargeCategory: Usage, Purchase, Tax, Credit, Adjustment
//! tags = ["Project", "Environment"] # tag key = column name lower-cased, blanks as `_`; empty cells skipped
//! [defaults]
//! currency = "EUR"                  # for rows whose currency cell is empty, or when no currency column
//! charge_category = "Purchase"      # the default when no category column or its cell is empty
//! charge_frequency = "Recurring"    # One-Time, Recurring, Usage-Based; default: none (unknown)
//! service_category = "Other"        # a FOCUS 1.2 ServiceCategory; default Other
//! day_first = false                 # 02/09/2023 is 9 February (false, default) or 2 September (true)
//! decimal_comma = false             # amounts written 1.234,56
//! [vendor_aliases]                  # exact text (ignoring case and surrounding blanks) -> vendor name
//! "AMAZON WEB SERVICES EMEA SARL" = "Amazon Web Services"
//! "MSFT*AZURE" = "Microsoft"        # `*` is a literal character here, not a wildcard
//! ```
//!
//! Rules: the billing period is the calendar month of the row's date (UTC) and the charge period the day; a
//! period column makes both the whole month. A negative amount keeps the default category: credits are told
//! by a category column (`Credit`), never guessed from the sign. Rows whose cells are all empty are skipped.
//! XLSX numbers become exact decimals through their shortest round-trip text, never through arithmetic.

use crate::cells::{Cells, Header, MoneyCurrency, money_parts, next_csv, parse_datetime, present};
use crate::record::{ChargeCategory, ChargeFrequency, FocusRecord};
use crate::strmap::StrMap;
use crate::table::{CrlfToLf, RowError, csv_reason};
use calamine::{Data, Reader, Xlsx};
use itemize_core::Currency;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, Read};
use std::path::Path;
use std::str::FromStr;

/// FOCUS 1.2's ServiceCategory values.
const SERVICE_CATEGORIES: &[&str] = &[
    "AI and Machine Learning",
    "Analytics",
    "Business Applications",
    "Compute",
    "Databases",
    "Developer Tools",
    "Multicloud",
    "Identity",
    "Integration",
    "Internet of Things",
    "Management and Governance",
    "Media",
    "Migration",
    "Mobile",
    "Networking",
    "Security",
    "Storage",
    "Web",
    "Other",
];

/// Significant digits an Excel number cell holds.
const EXCEL_DIGITS: u32 = 15;
/// The most decimal places an Excel number is rounded to when its text shows float noise.
const EXCEL_MAX_DP: u32 = 10;

/// The mapping file as written, before it is checked.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    name: String,
    #[serde(default)]
    sheet: Option<String>,
    #[serde(default)]
    delimiter: Option<String>,
    #[serde(default)]
    replaces: Option<String>,
    columns: RawColumns,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    vendor_aliases: BTreeMap<String, String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumns {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    period: Option<String>,
    amount: String,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    gl_account: Option<String>,
    #[serde(default, alias = "cost_center")]
    cost_centre: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    invoice: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    charge_category: Option<String>,
    #[serde(default)]
    charge_frequency: Option<String>,
    #[serde(default)]
    service_category: Option<String>,
    #[serde(default)]
    day_first: bool,
    #[serde(default)]
    decimal_comma: bool,
}

/// Where a row's time comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum When {
    Date(String),
    Period(String),
}

/// A checked mapping from a generic spend file's columns to the ledger's record. Built by
/// [`Mapping::from_toml`] (or any serde deserializer, which runs the same checks).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(try_from = "RawMapping")]
pub struct Mapping {
    name: String,
    sheet: Option<String>,
    delimiter: u8,
    when: When,
    amount: String,
    currency_column: Option<String>,
    vendor: Option<String>,
    gl_account: Option<String>,
    cost_centre: Option<String>,
    description: Option<String>,
    invoice: Option<String>,
    account: Option<String>,
    service: Option<String>,
    category: Option<String>,
    /// Tag columns and their tag keys.
    tags: Vec<(String, String)>,
    currency: Option<Currency>,
    charge_category: ChargeCategory,
    charge_frequency: Option<ChargeFrequency>,
    service_category: String,
    day_first: bool,
    decimal_comma: bool,
    /// Alias (trimmed, lower-cased) to vendor name.
    aliases: HashMap<String, String>,
    replaces: Replaces,
}

/// What a newer file of a generic source replaces in the ledger, within one billing period and account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaces {
    /// Every line of the period (a GL extract run again for a month).
    Period,
    /// The lines of the invoices the newer file holds (a corrected invoice); other invoices add up.
    Invoice,
    /// Nothing: every file adds (only the same bytes twice is a no-op).
    Nothing,
}

impl TryFrom<RawMapping> for Mapping {
    type Error = String;

    fn try_from(raw: RawMapping) -> Result<Self, String> {
        let name = raw.name.trim().to_string();
        if name.is_empty() {
            return Err("`name` is empty: give the source a name (such as \"SaaS invoices\")".into());
        }
        let column = |key: &str, v: Option<String>| -> Result<Option<String>, String> {
            match v {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Err(format!(
                    "[columns] {key} is empty: give the column's header name, or leave the key out"
                )),
                Some(v) => Ok(Some(v.trim().to_string())),
            }
        };
        let c = raw.columns;
        let when = match (column("date", c.date)?, column("period", c.period)?) {
            (Some(d), None) => When::Date(d),
            (None, Some(p)) => When::Period(p),
            (Some(_), Some(_)) => {
                return Err("[columns] has both `date` and `period`: give exactly one of them".into());
            }
            (None, None) => {
                return Err("[columns] has neither `date` nor `period`: give exactly one of them".into());
            }
        };
        let amount = column("amount", Some(c.amount))?.unwrap_or_default();
        let d = raw.defaults;
        let currency = match d.currency.as_deref() {
            None => None,
            Some(v) => Some(Currency::from_str(v).map_err(|e| format!("[defaults] currency: {e}"))?),
        };
        let currency_column = column("currency", c.currency)?;
        if currency_column.is_none() && currency.is_none() {
            return Err(
                "no currency: give [columns] currency or [defaults] currency (such as \"EUR\")".into()
            );
        }
        let charge_category = match d.charge_category.as_deref() {
            None => ChargeCategory::Purchase,
            Some(v) => ChargeCategory::parse(v.trim()).ok_or_else(|| {
                format!(
                    "[defaults] charge_category `{v}` is not one of Usage, Purchase, Tax, Credit, Adjustment"
                )
            })?,
        };
        let charge_frequency = match d.charge_frequency.as_deref() {
            None => None,
            Some(v) => Some(ChargeFrequency::parse(v.trim()).ok_or_else(|| {
                format!("[defaults] charge_frequency `{v}` is not one of One-Time, Recurring, Usage-Based")
            })?),
        };
        let service_category = match d.service_category.as_deref() {
            None => "Other",
            Some(v) => SERVICE_CATEGORIES
                .iter()
                .copied()
                .find(|s| s.eq_ignore_ascii_case(v.trim()))
                .ok_or_else(|| {
                    format!(
                        "[defaults] service_category `{v}` is not a FOCUS service category; use one of {}",
                        SERVICE_CATEGORIES.join(", ")
                    )
                })?,
        }
        .to_string();
        let delimiter = match raw.delimiter.as_deref() {
            None => b',',
            Some(v) => match v.as_bytes() {
                [b] if b.is_ascii() && *b != b'"' && *b != b'\n' && *b != b'\r' => *b,
                _ => {
                    return Err(format!(
                        "`delimiter` `{v}` is not one character such as \",\", \";\", \"|\" or \"\\t\""
                    ));
                }
            },
        };
        let mut tags: Vec<(String, String)> = Vec::with_capacity(c.tags.len());
        for t in c.tags {
            let col = column("tags", Some(t))?.unwrap_or_default();
            let key = tag_key(&col);
            if let Some((other, _)) = tags.iter().find(|(_, k)| *k == key) {
                return Err(format!(
                    "[columns] tags: `{other}` and `{col}` both become the tag `{key}`; list each once"
                ));
            }
            tags.push((col, key));
        }
        let replaces = match raw.replaces.as_deref().map(str::trim) {
            None if c.invoice.is_some() => Replaces::Invoice,
            None => Replaces::Period,
            Some("invoice") if c.invoice.is_none() => {
                return Err("`replaces = \"invoice\"` needs an invoice column: give [columns] invoice".into());
            }
            Some("invoice") => Replaces::Invoice,
            Some("period") => Replaces::Period,
            Some("nothing") => Replaces::Nothing,
            Some(v) => {
                return Err(format!("`replaces` `{v}` is not one of \"invoice\", \"period\", \"nothing\""));
            }
        };
        let mut aliases = HashMap::with_capacity(raw.vendor_aliases.len());
        for (alias, vendor) in raw.vendor_aliases {
            let key = alias.trim().to_lowercase();
            let vendor = vendor.trim().to_string();
            if key.is_empty() || vendor.is_empty() {
                return Err(format!("[vendor_aliases] `{alias}` = `{vendor}`: neither side may be empty"));
            }
            if let Some(prev) = aliases.insert(key, vendor.clone())
                && prev != vendor
            {
                return Err(format!(
                    "[vendor_aliases] `{alias}` is given twice (ignoring case), as `{prev}` and `{vendor}`"
                ));
            }
        }
        Ok(Mapping {
            replaces,
            name,
            sheet: raw.sheet.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
            delimiter,
            when,
            amount,
            currency_column,
            vendor: column("vendor", c.vendor)?,
            gl_account: column("gl_account", c.gl_account)?,
            cost_centre: column("cost_centre", c.cost_centre)?,
            description: column("description", c.description)?,
            invoice: column("invoice", c.invoice)?,
            account: column("account", c.account)?,
            service: column("service", c.service)?,
            category: column("category", c.category)?,
            tags,
            currency,
            charge_category,
            charge_frequency,
            service_category,
            day_first: d.day_first,
            decimal_comma: d.decimal_comma,
            aliases,
        })
    }
}

impl Mapping {
    /// Reads and checks a mapping. The message says what is wrong and where (TOML errors carry the line and
    /// column, unknown keys are named).
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let raw: RawMapping = toml::from_str(text).map_err(|e| format!("the mapping is not valid: {e}"))?;
        Mapping::try_from(raw).map_err(|e| format!("the mapping is not valid: {e}"))
    }

    /// The source's name.
    /// What a newer file of this source replaces.
    pub fn replaces(&self) -> Replaces {
        self.replaces
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The XLSX sheet to read, if the mapping names one.
    pub fn sheet(&self) -> Option<&str> {
        self.sheet.as_deref()
    }

    /// The CSV delimiter.
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The vendor name an alias stands for (ignoring case and surrounding blanks); an unknown name as given,
    /// trimmed.
    pub fn resolve_vendor<'a>(&'a self, raw: &'a str) -> &'a str {
        let raw = raw.trim();
        self.aliases.get(&raw.to_lowercase()).map(String::as_str).unwrap_or(raw)
    }

    /// Every column the mapping names, each with its key, in mapping order.
    pub fn columns(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![match &self.when {
            When::Date(c) => ("date", c.as_str()),
            When::Period(c) => ("period", c.as_str()),
        }];
        out.push(("amount", self.amount.as_str()));
        for (key, col) in [
            ("currency", &self.currency_column),
            ("vendor", &self.vendor),
            ("gl_account", &self.gl_account),
            ("cost_centre", &self.cost_centre),
            ("description", &self.description),
            ("invoice", &self.invoice),
            ("account", &self.account),
            ("service", &self.service),
            ("category", &self.category),
        ] {
            if let Some(c) = col {
                out.push((key, c.as_str()));
            }
        }
        out.extend(self.tags.iter().map(|(c, _)| ("tags", c.as_str())));
        out
    }
}

/// A tag's key from its column's name: lower-cased, runs of blanks as one `_`.
fn tag_key(col: &str) -> String {
    col.split_whitespace().collect::<Vec<_>>().join("_").to_lowercase()
}

/// The header's own spelling of a mapped column: the exact name, else the one column equal to it ignoring
/// case and repeated blanks.
fn find_column(header: &Header, col: &str) -> Option<String> {
    if header.has(col) {
        return Some(col.to_string());
    }
    let fold = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let want = fold(col);
    let mut hits = header.names().iter().filter(|h| fold(h) == want);
    match (hits.next(), hits.next()) {
        (Some(h), None) => Some(h.clone()),
        _ => None,
    }
}

/// Whether a header has every column a mapping names; `Err` says which it lacks and lists the header's.
pub fn detect(header: &Header, mapping: &Mapping) -> Result<(), String> {
    resolve(header, mapping).map(|_| ())
}

/// The mapping with its column names in the header's spelling, or why the header does not fit.
fn resolve(header: &Header, mapping: &Mapping) -> Result<Mapping, String> {
    let missing: Vec<String> = mapping
        .columns()
        .into_iter()
        .filter(|(_, c)| find_column(header, c).is_none())
        .map(|(k, c)| format!("\"{c}\" ({k})"))
        .collect();
    if !missing.is_empty() {
        let names: Vec<String> = header.names().iter().map(|n| format!("\"{n}\"")).collect();
        return Err(format!(
            "the header lacks the mapped column{} {}; its columns are: {}",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            names.join(", ")
        ));
    }
    let fix = |c: &str| find_column(header, c).unwrap_or_else(|| c.to_string());
    let fix_opt = |c: &Option<String>| c.as_deref().map(fix);
    let mut m = mapping.clone();
    m.when = match &mapping.when {
        When::Date(c) => When::Date(fix(c)),
        When::Period(c) => When::Period(fix(c)),
    };
    m.amount = fix(&mapping.amount);
    m.currency_column = fix_opt(&mapping.currency_column);
    m.vendor = fix_opt(&mapping.vendor);
    m.gl_account = fix_opt(&mapping.gl_account);
    m.cost_centre = fix_opt(&mapping.cost_centre);
    m.description = fix_opt(&mapping.description);
    m.invoice = fix_opt(&mapping.invoice);
    m.account = fix_opt(&mapping.account);
    m.service = fix_opt(&mapping.service);
    m.category = fix_opt(&mapping.category);
    m.tags = mapping.tags.iter().map(|(c, _)| fix(c)).map(|c| (c.clone(), tag_key(&c))).collect();
    Ok(m)
}

/// The header checked against the mapping, as a row-1 error naming the first missing column.
fn open_with(header: &Header, mapping: &Mapping, what: &str) -> Result<Mapping, RowError> {
    resolve(header, mapping).map_err(|why| {
        let first = mapping.columns().into_iter().map(|(_, c)| c).find(|c| find_column(header, c).is_none());
        RowError::new(1, first, None, format!("not a \"{}\" {what}: {why}", mapping.name))
    })
}

/// Reads a generic spend CSV through a mapping; an iterator of records in file order.
#[derive(Debug)]
pub struct GenericCsvReader<R: Read> {
    reader: csv::Reader<CrlfToLf<R>>,
    header: Header,
    mapping: Mapping,
    rec: csv::StringRecord,
}

impl<R: Read> GenericCsvReader<R> {
    /// Reads the header; a file lacking a mapped column is refused, naming it and listing the header.
    pub fn open(input: R, mapping: Mapping) -> Result<Self, RowError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .delimiter(mapping.delimiter)
            .from_reader(CrlfToLf::new(input));
        let header =
            Header::new(reader.headers().map_err(|e| RowError::new(1, None, None, csv_reason(&e)))?.iter());
        let mapping = open_with(&header, &mapping, "file")?;
        Ok(Self { reader, header, mapping, rec: csv::StringRecord::new() })
    }

    pub fn headers(&self) -> &[String] {
        self.header.names()
    }

    /// The mapping, with column names in the file's spelling.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }
}

impl<R: Read> Iterator for GenericCsvReader<R> {
    type Item = Result<FocusRecord, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = match next_csv(&mut self.reader, &mut self.rec)? {
                Ok(line) => line,
                Err(e) => return Some(Err(e)),
            };
            if self.rec.iter().all(|v| present(v).is_none()) {
                continue;
            }
            return Some(map_row(Cells::new(line, &self.rec, &self.header), &self.mapping));
        }
    }
}

/// Reads one sheet of a generic spend workbook (.xlsx) through a mapping; an iterator of records in sheet
/// order, numbered by spreadsheet row.
#[derive(Debug)]
pub struct GenericXlsxReader {
    range: calamine::Range<Data>,
    /// The spreadsheet row number (1-based) of the range's first row, the header.
    first_row: u64,
    /// The next data row, relative to the range.
    next: usize,
    header: Header,
    mapping: Mapping,
    rec: csv::StringRecord,
}

/// The sheet a mapping names (exactly, else the one sheet matching it ignoring case and surrounding blanks), or
/// the first.
fn find_sheet(names: &[String], wanted: Option<&str>) -> Option<String> {
    match wanted {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .or_else(|| {
                let mut hits = names.iter().filter(|n| n.trim().eq_ignore_ascii_case(s));
                match (hits.next(), hits.next()) {
                    (Some(n), None) => Some(n),
                    _ => None,
                }
            })
            .cloned(),
        None => names.first().cloned(),
    }
}

/// A sheet's header and its rows as text, each with its spreadsheet row number.
pub type SheetRows = (Vec<String>, Vec<(u64, Vec<String>)>);

/// A sheet's rows as text, numbered by spreadsheet row (the header's first): its header and every row after it.
pub fn xlsx_rows(path: &Path, sheet: Option<&str>) -> Result<SheetRows, String> {
    let mut book: Xlsx<BufReader<std::fs::File>> = calamine::open_workbook(path)
        .map_err(|e| format!("{} could not be read as an .xlsx workbook: {e}", path.display()))?;
    let names = book.sheet_names();
    let sheet = find_sheet(&names, sheet).ok_or("the workbook has no such sheet")?;
    let range =
        book.worksheet_range(&sheet).map_err(|e| format!("sheet \"{sheet}\" could not be read: {e}"))?;
    let Some((start_row, _)) = range.start() else { return Ok((Vec::new(), Vec::new())) };
    let row = |r: usize| -> Vec<String> {
        (0..range.width())
            .map(|c| range.get((r, c)).map(|d| cell_text(d, false)).unwrap_or_default())
            .collect()
    };
    let first = u64::from(start_row) + 1;
    let rows = (1..range.height()).map(|r| (first + r as u64, row(r))).collect();
    Ok((row(0), rows))
}

impl GenericXlsxReader {
    /// Opens the workbook and reads the mapping's sheet (else the first) and its header, the sheet's first
    /// row; a sheet lacking a mapped column is refused, naming it and listing the header.
    pub fn open(path: &Path, mapping: Mapping) -> Result<Self, RowError> {
        let fail = |why: String| RowError::new(1, None, None, why);
        let mut book: Xlsx<BufReader<std::fs::File>> = calamine::open_workbook(path)
            .map_err(|e| fail(format!("{} could not be read as an .xlsx workbook: {e}", path.display())))?;
        let names = book.sheet_names();
        let Some(sheet) = find_sheet(&names, mapping.sheet.as_deref()) else {
            return Err(match &mapping.sheet {
                Some(s) => {
                    fail(format!("the workbook has no sheet \"{s}\"; its sheets are: {}", names.join(", ")))
                }
                None => fail("the workbook has no sheets".to_string()),
            });
        };
        let range = book
            .worksheet_range(&sheet)
            .map_err(|e| fail(format!("sheet \"{sheet}\" could not be read: {e}")))?;
        let Some((start_row, _)) = range.start() else {
            return Err(fail(format!("sheet \"{sheet}\" is empty: it has no header row")));
        };
        let header = Header::new(
            (0..range.width()).map(|c| range.get((0, c)).map(|d| cell_text(d, false)).unwrap_or_default()),
        );
        let mapping = open_with(&header, &mapping, &format!("workbook (sheet \"{sheet}\")"))?;
        Ok(Self {
            range,
            first_row: u64::from(start_row) + 1,
            next: 1,
            header,
            mapping,
            rec: csv::StringRecord::new(),
        })
    }

    pub fn headers(&self) -> &[String] {
        self.header.names()
    }

    /// The mapping, with column names in the sheet's spelling.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }
}

impl Iterator for GenericXlsxReader {
    type Item = Result<FocusRecord, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.next < self.range.height() {
            let r = self.next;
            self.next += 1;
            self.rec.clear();
            for c in 0..self.range.width() {
                match self.range.get((r, c)) {
                    Some(d) => self.rec.push_field(&cell_text(d, self.mapping.decimal_comma)),
                    None => self.rec.push_field(""),
                }
            }
            if self.rec.iter().all(|v| present(v).is_none()) {
                continue;
            }
            let line = self.first_row + r as u64;
            return Some(map_row(Cells::new(line, &self.rec, &self.header), &self.mapping));
        }
        None
    }
}

/// A spreadsheet cell as the text a CSV export of it would hold: strings as they are, numbers as their exact
/// shortest decimal text (with a decimal comma when the mapping reads amounts so), date cells as ISO dates.
pub fn cell_text(d: &Data, decimal_comma: bool) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Float(f) => number_text(*f, decimal_comma),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::Error(e) => e.to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{m:02}-{d:02}")
            } else {
                format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
            }
        }
        Data::DateTime(dt) => number_text(dt.as_f64(), decimal_comma),
    }
}

/// An Excel number as exact decimal text, from the float's shortest round-trip text: no arithmetic on the
/// float. Excel holds 15 significant digits, so text with more (`0.30000000000000004`, the noise of a binary
/// float written by a non-Excel tool) is rounded to 15 significant digits and at most 10 decimal places.
fn number_text(f: f64, decimal_comma: bool) -> String {
    let text = format!("{f}");
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len() as u32;
    let text = if significant > EXCEL_DIGITS
        && let Ok(d) = Decimal::from_str(&text)
    {
        let int_digits = text.split('.').next().unwrap_or("").trim_start_matches(['-', '0']).len() as u32;
        let dp = EXCEL_DIGITS.saturating_sub(int_digits).min(EXCEL_MAX_DP);
        d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero).normalize().to_string()
    } else {
        text
    };
    if decimal_comma { text.replace('.', ",") } else { text }
}

/// An amount as written: `parse_money`'s spellings, or with `decimal_comma` the same with `.` and `,`
/// swapped (`1.234,56`, `(250,00)`, `-12,5`).
fn parse_amount(v: &str, decimal_comma: bool) -> Option<(Decimal, MoneyCurrency)> {
    if decimal_comma {
        let swapped: String = v
            .chars()
            .map(|ch| {
                if ch == '.' {
                    ','
                } else if ch == ',' {
                    '.'
                } else {
                    ch
                }
            })
            .collect();
        money_parts(&swapped)
    } else {
        money_parts(v)
    }
}

/// A month's number from its English name or three-letter (or `Sept`) abbreviation.
fn month_number(v: &str) -> Option<i8> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let v = v.trim().trim_end_matches('.').to_lowercase();
    if v.len() < 3 {
        return None;
    }
    let n = MONTHS
        .iter()
        .position(|m| *m == v || (v.len() == 3 && m.starts_with(&v)) || (v == "sept" && *m == "september"))?;
    i8::try_from(n + 1).ok()
}

/// A year of four digits, or two (00–69 are 20xx, 70–99 are 19xx, as for US dates elsewhere).
fn year(v: &str) -> Option<i16> {
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match v.len() {
        4 => v.parse().ok(),
        2 => {
            let yy: i16 = v.parse().ok()?;
            Some(if yy < 70 { 2000 + yy } else { 1900 + yy })
        }
        _ => None,
    }
}

/// A number of one or two digits.
fn small(v: &str) -> Option<i8> {
    if (1..=2).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) { v.parse().ok() } else { None }
}

/// A row's date: ISO 8601 (a date-time is taken at its UTC date), `m/d/yyyy` / `m/d/yy` (or with `day_first`,
/// `d/m/yyyy` / `d/m/yy`; `.` and `-` also separate), `yyyy/mm/dd`, and month names (`31-May-2026`,
/// `May 31, 2026`, `31 May 26`). A time after the date is allowed and dropped.
fn parse_day(v: &str, day_first: bool) -> Option<Date> {
    let v = v.trim();
    if let Some(t) = parse_datetime(v) {
        return Some(t.to_zoned(TimeZone::UTC).date());
    }
    if let Ok(d) = v.parse::<Date>() {
        return Some(d);
    }
    // A time after the date (`13:00`, `1:00:00 PM`) is allowed and dropped.
    let tokens: Vec<&str> = v.split_whitespace().collect();
    let time_at = tokens.iter().position(|t| t.contains(':')).unwrap_or(tokens.len());
    let time_ok = tokens[time_at..].iter().all(|t| {
        t.chars().all(|c| c.is_ascii_digit() || ":.".contains(c))
            || ["AM", "PM"].contains(&t.to_ascii_uppercase().as_str())
    });
    if !time_ok || time_at == 0 {
        return None;
    }
    let date_part = tokens[..time_at].join(" ");
    // Month names.
    let words: Vec<&str> = date_part.split([' ', ',', '-', '/', '.']).filter(|s| !s.is_empty()).collect();
    if words.len() == 3
        && let Some(i) = words.iter().position(|w| month_number(w).is_some())
    {
        let m = month_number(words[i])?;
        let (d, y) = match i {
            0 => (small(words[1])?, year(words[2])?),
            1 => (small(words[0])?, year(words[2])?),
            _ if words[0].len() == 4 => (small(words[2])?, year(words[0])?),
            _ => return None,
        };
        return Date::new(y, m, d).ok();
    }
    let sep = ['/', '.', '-'].into_iter().find(|s| date_part.contains(*s))?;
    let parts: Vec<&str> = date_part.split(sep).collect();
    let [a, b, c] = parts[..] else {
        return None;
    };
    if a.len() == 4 {
        return Date::new(year(a)?, small(b)?, small(c)?).ok();
    }
    let (d, m) = if day_first { (small(a)?, small(b)?) } else { (small(b)?, small(a)?) };
    Date::new(year(c)?, m, d).ok()
}

/// A period's year and month: `2026-05`, `2026/05`, `202605`, `05/2026`, `May 2026`, `May-26`, or a whole
/// date (its month).
fn parse_period(v: &str, day_first: bool) -> Option<(i16, i8)> {
    let v = v.trim();
    let ym = |y: i16, m: i8| if (1..=12).contains(&m) { Some((y, m)) } else { None };
    if v.len() == 6 && v.bytes().all(|b| b.is_ascii_digit()) {
        return ym(year(&v[..4])?, small(&v[4..])?);
    }
    let words: Vec<&str> = v.split([' ', ',', '-', '/', '.']).filter(|s| !s.is_empty()).collect();
    if let [a, b] = words[..] {
        if let Some(m) = month_number(a) {
            return ym(year(b)?, m);
        }
        if let Some(m) = month_number(b) {
            return (a.len() == 4).then_some(()).and_then(|_| ym(year(a)?, m));
        }
        if a.len() == 4 {
            return ym(year(a)?, small(b)?);
        }
        if b.len() == 4 {
            return ym(year(b)?, small(a)?);
        }
        return None;
    }
    parse_day(v, day_first).map(|d| (d.year(), d.month()))
}

/// The start of a day, UTC.
fn utc(d: Date) -> Option<Timestamp> {
    d.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp())
}

/// The first day of a month and of the next.
fn month_bounds(y: i16, m: i8) -> Option<(Timestamp, Timestamp)> {
    let start = Date::new(y, m, 1).ok()?;
    let end = start.last_of_month().tomorrow().ok()?;
    Some((utc(start)?, utc(end)?))
}

/// One row of a generic spend file as a record. Shared by the CSV and XLSX readers; `m` names columns in the
/// file's own spelling.
fn map_row(c: Cells<'_>, m: &Mapping) -> Result<FocusRecord, RowError> {
    let amount_text = c.required(&m.amount)?;
    let (amount, named) = parse_amount(amount_text, m.decimal_comma).ok_or_else(|| {
        let example = if m.decimal_comma {
            "such as 1234,56 or 1.234,56: the mapping says decimal_comma = true"
        } else {
            "such as 1234.56, $1,234.56 or (250.00)"
        };
        c.err(&m.amount, Some(amount_text), format!("is not an amount of money ({example})"))
    })?;
    let currency_cell = m.currency_column.as_deref().and_then(|col| c.raw(col).map(|v| (col, v)));
    let billing_currency = match (currency_cell, m.currency) {
        (Some((col, v)), _) => Currency::from_str(v).map_err(|e| c.err(col, Some(v), e.to_string()))?,
        (None, Some(cur)) => cur,
        // No currency column or default: the currency the amount itself names.
        (None, None) if named.is_some() => {
            let code = named.as_deref().unwrap_or_default();
            Currency::from_str(code).map_err(|e| c.err(&m.amount, Some(amount_text), e.to_string()))?
        }
        (None, None) => {
            return Err(c.err(
                m.currency_column.as_deref().unwrap_or("currency"),
                Some(""),
                "is empty and the mapping has no [defaults] currency",
            ));
        }
    };
    // An amount that names a currency (`€12.00`, `12.00 GBP`) must name the row's: never counted as another.
    if let Some(code) = named.as_deref().filter(|c| *c != billing_currency.code()) {
        return Err(c.err(
            &m.amount,
            Some(amount_text),
            format!("names {code} but the row's currency is {}", billing_currency.code()),
        ));
    }
    let (billing_period_start, billing_period_end, charge_period_start, charge_period_end) = match &m.when {
        When::Date(col) => {
            let v = c.required(col)?;
            let reason = if m.day_first {
                "is not a date (expected 2026-05-31, 31/5/2026, 31/5/26 or 31-May-2026: the mapping says \
                 day_first = true)"
            } else {
                "is not a date (expected 2026-05-31, 5/31/2026, 5/31/26 or 31-May-2026; for 31/5/2026 set \
                 day_first = true)"
            };
            let day = parse_day(v, m.day_first).ok_or_else(|| c.err(col, Some(v), reason))?;
            let bounds = (|| {
                let (bs, be) = month_bounds(day.year(), day.month())?;
                Some((bs, be, utc(day)?, utc(day.tomorrow().ok()?)?))
            })();
            bounds.ok_or_else(|| c.err(col, Some(v), "is a date out of range"))?
        }
        When::Period(col) => {
            let v = c.required(col)?;
            let (y, mo) = parse_period(v, m.day_first).ok_or_else(|| {
                c.err(col, Some(v), "is not a month (expected 2026-05, 202605, 05/2026 or May 2026)")
            })?;
            let (s, e) = month_bounds(y, mo).ok_or_else(|| c.err(col, Some(v), "is a month out of range"))?;
            (s, e, s, e)
        }
    };
    let charge_category = match m.category.as_deref().and_then(|col| c.raw(col).map(|v| (col, v))) {
        None => m.charge_category,
        Some((col, v)) => ChargeCategory::parse(v)
            .ok_or_else(|| c.err(col, Some(v), "is not one of Usage, Purchase, Tax, Credit, Adjustment"))?,
    };
    let text = |col: &Option<String>| col.as_deref().and_then(|col| c.text(col));
    let vendor_raw = m.vendor.as_deref().and_then(|col| c.raw(col));
    let vendor = vendor_raw.map(|v| m.resolve_vendor(v).to_string());
    let cost_centre = text(&m.cost_centre);
    let mut other = StrMap::new();
    other.insert("x_Source", m.name.clone());
    if let Some(v) = vendor_raw {
        other.insert("x_Vendor", v);
    }
    if let Some(v) = text(&m.gl_account) {
        other.insert("x_GlAccount", v);
    }
    if let Some(v) = &cost_centre {
        other.insert("x_CostCentre", v.clone());
    }
    let tags = m.tags.iter().filter_map(|(col, key)| c.text(col).map(|v| (key.clone(), v))).collect();
    let mut r = FocusRecord::blank(c.line, billing_currency);
    r.billing_account_id = text(&m.account).unwrap_or_else(|| m.name.clone());
    r.sub_account_id = cost_centre;
    r.provider_name = Some(vendor.clone().unwrap_or_else(|| m.name.clone()));
    r.publisher_name = vendor.clone();
    r.invoice_issuer_name = vendor.clone();
    r.invoice_id = text(&m.invoice);
    r.billing_period_start = billing_period_start;
    r.billing_period_end = billing_period_end;
    r.charge_period_start = charge_period_start;
    r.charge_period_end = charge_period_end;
    r.charge_category = charge_category;
    r.charge_frequency = m.charge_frequency;
    r.charge_description = text(&m.description);
    r.billed_cost = amount;
    r.effective_cost = amount;
    r.list_cost = amount;
    r.contracted_cost = Some(amount);
    r.service_name = text(&m.service).or(vendor);
    r.service_category = Some(m.service_category.clone());
    r.tags = tags;
    r.other = other;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const MAPPING: &str = r#"
name = "SaaS invoices"
sheet = "Invoices"
[columns]
date = "Invoice Date"
amount = "Amount"
currency = "Currency"
vendor = "Supplier"
gl_account = "GL Account"
cost_centre = "Cost Center"
description = "Description"
invoice = "Invoice No"
category = "Type"
tags = ["Project"]
[defaults]
currency = "EUR"
charge_frequency = "Recurring"
service_category = "business applications"
[vendor_aliases]
"AMAZON WEB SERVICES EMEA SARL" = "Amazon Web Services"
"MSFT*AZURE" = "Microsoft"
"#;

    const HEADER: &str =
        "Invoice Date,Supplier,Amount,Currency,GL Account,Cost Center,Description,Invoice No,Project,Type";

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn totals(records: &[FocusRecord]) -> BTreeMap<String, Decimal> {
        let mut out: BTreeMap<String, Decimal> = BTreeMap::new();
        for r in records {
            *out.entry(r.billing_currency.code().to_string()).or_default() += r.billed_cost;
        }
        out
    }

    fn fixture() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/generic_invoices.xlsx")
    }

    /// (row, column, value) of each error, and the records.
    fn read_csv(mapping: &str, data: &str) -> (Vec<FocusRecord>, Vec<RowError>) {
        let m = Mapping::from_toml(mapping).unwrap();
        let (ok, err): (Vec<_>, Vec<_>) =
            GenericCsvReader::open(data.as_bytes(), m).unwrap().partition(Result::is_ok);
        (ok.into_iter().map(Result::unwrap).collect(), err.into_iter().map(Result::unwrap_err).collect())
    }

    #[test]
    fn gl_extract_csv_gives_exact_records() {
        let data = format!(
            "\u{feff}{HEADER}\r\n\
             3/15/26,AMAZON WEB SERVICES EMEA SARL,\"$1,234.56\",USD,6100,CC-100,Cloud support,INV-1001,Apollo,\r\n\
             3/31/26,Atlassian,(250.00),usd,6200,CC-200,Jira refund,INV-1002,,\r\n\
             4/1/26, msft*azure ,99.99,,6100,CC-100,Azure,INV-1003,Apollo,Usage\r\n\
             12/31/25,Slack,\"1,000\",GBP,6300,,Slack,,Hermes,credit\r\n\
             ,,,,,,,,,\r\n"
        );
        let (records, errors) = read_csv(MAPPING, &data);
        assert_eq!(errors, vec![]);
        assert_eq!(
            records.iter().map(|r| r.line).collect::<Vec<_>>(),
            [2, 3, 4, 5],
            "the all-empty row is skipped"
        );

        let mut first = FocusRecord::blank(2, Currency::USD);
        first.billing_account_id = "SaaS invoices".into();
        first.sub_account_id = Some("CC-100".into());
        first.provider_name = Some("Amazon Web Services".into());
        first.publisher_name = Some("Amazon Web Services".into());
        first.invoice_issuer_name = Some("Amazon Web Services".into());
        first.invoice_id = Some("INV-1001".into());
        first.billing_period_start = ts("2026-03-01T00:00:00Z");
        first.billing_period_end = ts("2026-04-01T00:00:00Z");
        first.charge_period_start = ts("2026-03-15T00:00:00Z");
        first.charge_period_end = ts("2026-03-16T00:00:00Z");
        first.charge_category = ChargeCategory::Purchase;
        first.charge_frequency = Some(ChargeFrequency::Recurring);
        first.charge_description = Some("Cloud support".into());
        first.billed_cost = dec("1234.56");
        first.effective_cost = dec("1234.56");
        first.list_cost = dec("1234.56");
        first.contracted_cost = Some(dec("1234.56"));
        first.service_name = Some("Amazon Web Services".into());
        first.service_category = Some("Business Applications".into());
        first.tags = StrMap::from([("project".to_string(), "Apollo".to_string())]);
        first.other = StrMap::from([
            ("x_CostCentre".to_string(), "CC-100".to_string()),
            ("x_GlAccount".to_string(), "6100".to_string()),
            ("x_Source".to_string(), "SaaS invoices".to_string()),
            ("x_Vendor".to_string(), "AMAZON WEB SERVICES EMEA SARL".to_string()),
        ]);
        assert_eq!(records[0], first);

        let credit_note = &records[1];
        assert_eq!(credit_note.billed_cost, dec("-250.00"));
        assert_eq!(
            credit_note.charge_category,
            ChargeCategory::Purchase,
            "a negative amount keeps the default"
        );
        assert_eq!(credit_note.billing_currency, Currency::USD, "currency codes in any case");
        assert!(credit_note.tags.is_empty(), "an empty tag cell is no tag");
        assert_eq!(credit_note.provider_name.as_deref(), Some("Atlassian"), "no alias: the name as given");

        let azure = &records[2];
        assert_eq!(azure.billing_currency, Currency::EUR, "an empty currency cell takes the default");
        assert_eq!(azure.provider_name.as_deref(), Some("Microsoft"), "alias ignoring case and blanks");
        assert_eq!(azure.other.get("x_Vendor").map(String::as_str), Some("msft*azure"));
        assert_eq!(azure.charge_category, ChargeCategory::Usage);
        assert_eq!(azure.charge_period_start, ts("2026-04-01T00:00:00Z"));

        let slack = &records[3];
        assert_eq!(slack.charge_category, ChargeCategory::Credit);
        assert_eq!(slack.billed_cost, dec("1000"));
        assert_eq!(
            (slack.billing_period_start, slack.billing_period_end, slack.charge_period_end),
            (ts("2025-12-01T00:00:00Z"), ts("2026-01-01T00:00:00Z"), ts("2026-01-01T00:00:00Z")),
            "periods across the year's end"
        );
        assert_eq!((slack.sub_account_id.as_ref(), slack.invoice_id.as_ref()), (None, None));
        assert!(!slack.other.contains_key("x_CostCentre"));

        // Summed by hand from the file's cells: USD 1234.56 - 250.00; EUR 99.99; GBP 1000.
        let expected = BTreeMap::from([
            ("EUR".to_string(), dec("99.99")),
            ("GBP".to_string(), dec("1000")),
            ("USD".to_string(), dec("984.56")),
        ]);
        assert_eq!(totals(&records), expected);
    }

    #[test]
    fn an_amount_naming_another_currency_or_with_stray_letters_is_refused() {
        let data = format!(
            "{HEADER}\n\
             3/15/26,Acme,€99.00,USD,6100,CC-100,Support,INV-1,,\n\
             3/15/26,Acme,12k,USD,6100,CC-100,Support,INV-2,,\n\
             3/15/26,Acme,\"1,250.00 CR\",USD,6100,CC-100,Refund,INV-3,,\n\
             3/15/26,Acme,USD 10.00,usd,6100,CC-100,Support,INV-4,,\n"
        );
        let (records, errors) = read_csv(MAPPING, &data);
        let got: Vec<(u64, Option<&str>, Option<&str>)> =
            errors.iter().map(|e| (e.row, e.column.as_deref(), e.value.as_deref())).collect();
        assert_eq!(got, [(2, Some("Amount"), Some("€99.00")), (3, Some("Amount"), Some("12k"))]);
        assert!(errors[0].reason.contains("names EUR but the row's currency is USD"), "{}", errors[0].reason);
        assert_eq!(
            records.iter().map(|r| r.billed_cost).collect::<Vec<_>>(),
            [dec("-1250.00"), dec("10.00")]
        );
    }

    #[test]
    fn period_column_decimal_comma_and_semicolons() {
        let mapping = r#"
name = "Telekom Rechnungen"
delimiter = ";"
[columns]
period = "periode"
amount = "Betrag"
vendor = "Lieferant"
cost_center = "Kostenstelle"
[defaults]
currency = "eur"
decimal_comma = true
[vendor_aliases]
" Deutsche Telekom AG " = "Telekom"
"#;
        let data = "Periode;Lieferant;Betrag;Kostenstelle\n\
                    2026-05;Deutsche Telekom AG;1.234,56;KS-1\n\
                    202606;deutsche telekom ag ;(250,00);KS-1\n\
                    May 2026;Vodafone;12,5;\n\
                    05/2026;Vodafone;\"-0,10\";KS-2\n\
                    Dec-26;Vodafone;1.000;KS-2\n";
        let (records, errors) = read_csv(mapping, data);
        assert_eq!(errors, vec![]);
        let got: Vec<(u64, String, String, String, Option<String>)> = records
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.billing_period_start.to_string(),
                    r.billed_cost.to_string(),
                    r.provider_name.clone().unwrap_or_default(),
                    r.sub_account_id.clone(),
                )
            })
            .collect();
        let row = |line: u64, start: &str, cost: &str, vendor: &str, cc: Option<&str>| {
            (line, start.to_string(), cost.to_string(), vendor.to_string(), cc.map(str::to_string))
        };
        assert_eq!(
            got,
            vec![
                row(2, "2026-05-01T00:00:00Z", "1234.56", "Telekom", Some("KS-1")),
                row(3, "2026-06-01T00:00:00Z", "-250.00", "Telekom", Some("KS-1")),
                row(4, "2026-05-01T00:00:00Z", "12.5", "Vodafone", None),
                row(5, "2026-05-01T00:00:00Z", "-0.10", "Vodafone", Some("KS-2")),
                row(6, "2026-12-01T00:00:00Z", "1000", "Vodafone", Some("KS-2")),
            ]
        );
        for r in &records {
            assert_eq!(r.charge_period_start, r.billing_period_start, "a period row spans its month");
            assert_eq!(r.charge_period_end, r.billing_period_end);
            assert_eq!(r.billing_account_id, "Telekom Rechnungen");
            assert_eq!(r.charge_category, ChargeCategory::Purchase, "the default category");
            assert_eq!(r.charge_frequency, None);
            assert_eq!(r.service_category.as_deref(), Some("Other"));
        }
        assert_eq!(records[1].billing_period_end, ts("2026-07-01T00:00:00Z"));
        assert_eq!(records[4].billing_period_end, ts("2027-01-01T00:00:00Z"));
        // By hand: 1234.56 - 250.00 + 12.5 - 0.10 + 1000.
        assert_eq!(totals(&records), BTreeMap::from([("EUR".to_string(), dec("1996.96"))]));
    }

    #[test]
    fn xlsx_fixture_reads_like_the_csv() {
        let m = Mapping::from_toml(MAPPING).unwrap();
        let reader = GenericXlsxReader::open(&fixture(), m).unwrap();
        let records: Vec<FocusRecord> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(
            records.iter().map(|r| r.line).collect::<Vec<_>>(),
            [2, 3, 4, 5, 6, 7],
            "spreadsheet rows"
        );
        let got: Vec<(String, String, &str, String)> = records
            .iter()
            .map(|r| {
                (
                    r.charge_period_start.to_string(),
                    r.billed_cost.to_string(),
                    r.billing_currency.code(),
                    r.provider_name.clone().unwrap_or_default(),
                )
            })
            .collect();
        let row = |start: &str, cost: &str, cur: &'static str, vendor: &str| {
            (format!("{start}T00:00:00Z"), cost.to_string(), cur, vendor.to_string())
        };
        assert_eq!(
            got,
            vec![
                row("2026-03-15", "1234.56", "USD", "Amazon Web Services"),
                row("2026-03-31", "0.3", "EUR", "Atlassian"),
                row("2026-04-01", "1234.56", "USD", "Microsoft"),
                row("2026-04-15", "-250", "USD", "Slack"),
                row("2026-04-30", "0.3", "EUR", "Zoom"),
                row("2026-04-20", "1234.56", "USD", "Datadog"),
            ]
        );
        let excel_date = &records[1];
        assert_eq!(excel_date.billing_period_start, ts("2026-03-01T00:00:00Z"), "an Excel date cell");
        assert_eq!(excel_date.charge_period_end, ts("2026-04-01T00:00:00Z"));
        assert_eq!(excel_date.billed_cost, dec("0.3"), "numeric 0.3 stays exactly 0.3");
        assert_eq!(excel_date.other.get("x_GlAccount").map(String::as_str), Some("6200"), "a number as text");
        assert!(excel_date.tags.is_empty(), "empty tag cell");
        assert_eq!(records[0].tags.get("project").map(String::as_str), Some("Apollo"));
        assert_eq!(records[2].other.get("x_Vendor").map(String::as_str), Some("msft*azure"));
        assert_eq!(records[3].charge_category, ChargeCategory::Credit);
        assert_eq!(records[4].charge_category, ChargeCategory::Usage);
        assert_eq!(records[0].charge_category, ChargeCategory::Purchase);
        // By hand: USD 1234.56 + 1234.56 - 250 + 1234.56; EUR 0.3 + 0.3.
        assert_eq!(
            totals(&records),
            BTreeMap::from([("EUR".to_string(), dec("0.6")), ("USD".to_string(), dec("3453.68"))])
        );
    }

    #[test]
    fn xlsx_sheet_choice_is_checked() {
        let first_sheet = MAPPING.replace("sheet = \"Invoices\"\n", "");
        let e = GenericXlsxReader::open(&fixture(), Mapping::from_toml(&first_sheet).unwrap()).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (1, Some("Invoice Date")), "{e}");
        assert!(e.reason.contains("its columns are: \"Total\", \"2469.12\""), "{}", e.reason);
        let e = GenericXlsxReader::open(
            &fixture(),
            Mapping::from_toml(&MAPPING.replace("\"Invoices\"", "\"Nope\"")).unwrap(),
        )
        .unwrap_err();
        assert!(e.reason.contains("no sheet \"Nope\"; its sheets are: Summary, Invoices"), "{}", e.reason);
        let e = GenericXlsxReader::open(Path::new("/nonexistent.xlsx"), Mapping::from_toml(MAPPING).unwrap())
            .unwrap_err();
        assert!(e.reason.contains("could not be read as an .xlsx workbook"), "{}", e.reason);
    }

    #[test]
    fn bad_mappings_are_refused_saying_where() {
        let e = Mapping::from_toml(&format!("colour = \"red\"\n{MAPPING}")).unwrap_err();
        assert!(e.contains("unknown field `colour`") && e.contains("line 1"), "{e}");
        let e = Mapping::from_toml(&MAPPING.replace("amount = ", "amonut = ")).unwrap_err();
        assert!(e.contains("unknown field `amonut`"), "{e}");
        let e = Mapping::from_toml(
            &MAPPING.replace("day_first", "dayfirst").replace("[defaults]", "[defaults]\ndayfirst = true"),
        )
        .unwrap_err();
        assert!(e.contains("unknown field `dayfirst`"), "{e}");
        let e = Mapping::from_toml(&MAPPING.replace("[columns]", "[columns]\nperiod = \"P\"")).unwrap_err();
        assert!(e.contains("both `date` and `period`"), "{e}");
        let e = Mapping::from_toml(&MAPPING.replace("date = \"Invoice Date\"\n", "")).unwrap_err();
        assert!(e.contains("neither `date` nor `period`"), "{e}");
        let e =
            Mapping::from_toml(&MAPPING.replace("currency = \"EUR\"", "currency = \"EURO\"")).unwrap_err();
        assert!(e.contains("[defaults] currency") && e.contains("EURO"), "{e}");
        let no_currency =
            MAPPING.replace("currency = \"EUR\"\n", "").replace("currency = \"Currency\"\n", "");
        assert!(Mapping::from_toml(&no_currency).unwrap_err().contains("no currency"));
        let e = Mapping::from_toml(&MAPPING.replace("business applications", "SaaS")).unwrap_err();
        assert!(e.contains("service_category `SaaS`") && e.contains("Business Applications"), "{e}");
        let e = Mapping::from_toml(&MAPPING.replace("[defaults]", "[defaults]\ncharge_category = \"Spend\""))
            .unwrap_err();
        assert!(e.contains("charge_category `Spend`"), "{e}");
        let e = Mapping::from_toml(&format!("{MAPPING}\"msft*azure\" = \"Azure\"\n")).unwrap_err();
        assert!(e.contains("given twice"), "{e}");
        let e =
            Mapping::from_toml(&MAPPING.replace("tags = [\"Project\"]", "tags = [\"Project\", \"project\"]"))
                .unwrap_err();
        assert!(e.contains("both become the tag `project`"), "{e}");
        assert!(Mapping::from_toml("name = \"x\"").unwrap_err().contains("missing field `columns`"));
        // Deserializing by any other route runs the same checks.
        assert!(
            toml::from_str::<Mapping>(&MAPPING.replace("[columns]", "[columns]\nperiod = \"P\"")).is_err()
        );
        let m: Mapping = toml::from_str(MAPPING).unwrap();
        assert_eq!(m.name(), "SaaS invoices");
        assert_eq!(m.sheet(), Some("Invoices"));
    }

    #[test]
    fn a_header_lacking_a_mapped_column_is_refused() {
        let m = Mapping::from_toml(MAPPING).unwrap();
        let header = Header::new(["Date", "Supplier", "amount", "Currency"]);
        let why = detect(&header, &m).unwrap_err();
        assert!(
            why.starts_with("the header lacks the mapped columns \"Invoice Date\" (date), \"GL Account\""),
            "{why}"
        );
        assert!(why.ends_with("its columns are: \"Date\", \"Supplier\", \"amount\", \"Currency\""), "{why}");
        assert!(!why.contains("\"Amount\" (amount)"), "a column matching but for case is found: {why}");
        let e =
            GenericCsvReader::open("Date,Supplier,amount\n1/1/26,X,1\n".as_bytes(), m.clone()).unwrap_err();
        assert_eq!((e.row, e.column.as_deref()), (1, Some("Invoice Date")));
        assert!(e.reason.starts_with("not a \"SaaS invoices\" file: the header lacks"), "{}", e.reason);
        assert!(detect(&Header::new(HEADER.split(',')), &m).is_ok());
    }

    #[test]
    fn bad_rows_name_row_column_value_and_why() {
        let mapping = MAPPING.replace("amount = \"Amount\"", "amount = \"AMOUNT\"");
        let data = format!(
            "{HEADER}\r\n\
             3/15/26,X,12.34.56,USD,1,C,D,I,P,\r\n\
             31/12/2026,X,1,USD,1,C,D,I,P,\r\n\
             3/15/26,X,1,ABC,1,C,D,I,P,\r\n\
             3/15/26,X,1,USD,1,C,D,I,P,Refund\r\n\
             3/15/26,X,,USD,1,C,D,I,P,\r\n\
             3/15/26,X,1\r\n\
             3/15/26,X,1,USD,1,C,D,I,P,\r\n"
        );
        let (records, errors) = read_csv(&mapping, &data);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].line, 8, "reading goes on after a bad row");
        let got: Vec<(u64, Option<&str>, Option<&str>)> =
            errors.iter().map(|e| (e.row, e.column.as_deref(), e.value.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                (2, Some("Amount"), Some("12.34.56")),
                (3, Some("Invoice Date"), Some("31/12/2026")),
                (4, Some("Currency"), Some("ABC")),
                (5, Some("Type"), Some("Refund")),
                (6, Some("Amount"), Some("")),
                (7, None, None),
            ],
            "columns in the file's own spelling"
        );
        assert!(errors[0].reason.starts_with("is not an amount of money"), "{}", errors[0].reason);
        assert!(errors[1].reason.contains("day_first = true"), "{}", errors[1].reason);
        assert!(errors[2].reason.contains("ISO 4217"), "{}", errors[2].reason);
        assert!(
            errors[3].reason.contains("Usage, Purchase, Tax, Credit, Adjustment"),
            "{}",
            errors[3].reason
        );
        assert_eq!(errors[4].reason, "is required");
        assert_eq!(errors[5].reason, "has 3 fields but the header has 10");

        // No currency anywhere for a row.
        let no_default = MAPPING.replace("currency = \"EUR\"\n", "");
        let (_, errors) = read_csv(&no_default, &format!("{HEADER}\n3/15/26,X,1,,1,C,D,I,P,\n"));
        assert_eq!(
            (errors[0].row, errors[0].column.as_deref(), errors[0].value.as_deref()),
            (2, Some("Currency"), Some(""))
        );
        assert!(errors[0].reason.contains("no [defaults] currency"));

        // A bad period and a decimal-comma amount written the other way.
        let mapping = "name = \"T\"\n[columns]\nperiod = \"P\"\namount = \"A\"\n[defaults]\ncurrency = \"EUR\"\n\
                       decimal_comma = true\n";
        let (_, errors) = read_csv(mapping, "P,A\n2026-13,1\n2026-05,\"1,234.56\"\n");
        let got: Vec<(u64, Option<&str>, Option<&str>)> =
            errors.iter().map(|e| (e.row, e.column.as_deref(), e.value.as_deref())).collect();
        assert_eq!(got, vec![(2, Some("P"), Some("2026-13")), (3, Some("A"), Some("1,234.56"))]);
        assert!(errors[1].reason.contains("decimal_comma = true"), "{}", errors[1].reason);
    }

    #[test]
    fn account_service_and_defaults_columns() {
        let mapping = r#"
name = "Managed services"
[columns]
date = "Date"
amount = "Amount"
account = "Entity"
service = "Product"
[defaults]
currency = "GBP"
charge_category = "usage"
charge_frequency = "one time"
service_category = "Management and Governance"
day_first = true
"#;
        let data = "Date,Amount,Entity,Product\n02/09/2023,10,ACME-UK,Backup\n03/09/2023,5,,\n";
        let (records, errors) = read_csv(mapping, data);
        assert_eq!(errors, vec![]);
        let got: Vec<(&str, Option<&str>, Option<&str>, String)> = records
            .iter()
            .map(|r| {
                (
                    r.billing_account_id.as_str(),
                    r.service_name.as_deref(),
                    r.provider_name.as_deref(),
                    r.charge_period_start.to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("ACME-UK", Some("Backup"), Some("Managed services"), "2023-09-02T00:00:00Z".to_string()),
                ("Managed services", None, Some("Managed services"), "2023-09-03T00:00:00Z".to_string()),
            ],
            "an empty account cell falls back to the mapping's name; day_first dates"
        );
        for r in &records {
            assert_eq!(r.billing_currency, Currency::GBP);
            assert_eq!(r.charge_category, ChargeCategory::Usage);
            assert_eq!(r.charge_frequency, Some(ChargeFrequency::OneTime));
            assert_eq!(r.service_category.as_deref(), Some("Management and Governance"));
            assert_eq!((r.publisher_name.as_ref(), r.invoice_issuer_name.as_ref()), (None, None));
            assert_eq!(r.other, StrMap::from([("x_Source".to_string(), "Managed services".to_string())]));
        }
    }

    #[test]
    fn dates_periods_vendors_and_numbers() {
        let d = |s: &str, day_first: bool| parse_day(s, day_first).map(|d| d.to_string());
        assert_eq!(d("02/09/2023", false).as_deref(), Some("2023-02-09"));
        assert_eq!(d("02/09/2023", true).as_deref(), Some("2023-09-02"));
        assert_eq!(d("31.05.26", true).as_deref(), Some("2026-05-31"));
        assert_eq!(d("2026/05/31", false).as_deref(), Some("2026-05-31"));
        assert_eq!(d("31-May-2026", false).as_deref(), Some("2026-05-31"));
        assert_eq!(d("May 31, 2026", true).as_deref(), Some("2026-05-31"));
        assert_eq!(d("5/31/2026 1:15:00 PM", false).as_deref(), Some("2026-05-31"));
        assert_eq!(d("2026-05-31T23:30:00-02:00", false).as_deref(), Some("2026-06-01"), "UTC date");
        assert_eq!(d("2026-05-31 13:00", false).as_deref(), Some("2026-05-31"));
        assert_eq!(d("5/31/2026 soon", false), None);
        assert_eq!(d("31/5/2026", false), None);
        assert_eq!(d("2/30/2026", false), None);
        assert_eq!(d("Mayday 3, 2026", false), None);
        let p = |s: &str| parse_period(s, false);
        for s in ["2026-05", "202605", "2026/5", "05/2026", "May 2026", "may-26", "Sept 2026", "2026-05-17"] {
            let want = if s.starts_with("Sept") { (2026, 9) } else { (2026, 5) };
            assert_eq!(p(s), Some(want), "{s}");
        }
        for s in ["2026-13", "202600", "13/2026", "Mai 2026", "2026", "May"] {
            assert_eq!(p(s), None, "{s}");
        }

        let m = Mapping::from_toml(MAPPING).unwrap();
        assert_eq!(m.resolve_vendor("  Amazon Web Services EMEA SARL "), "Amazon Web Services");
        assert_eq!(m.resolve_vendor("MSFT*AZURE"), "Microsoft");
        assert_eq!(m.resolve_vendor(" Unknown Ltd "), "Unknown Ltd");
        assert_eq!(m.resolve_vendor("MSFT*AZURE EU"), "MSFT*AZURE EU", "no partial or wildcard matches");

        assert_eq!(number_text(0.1 + 0.2, false), "0.3", "float noise beyond Excel's 15 digits");
        assert_eq!(number_text(1234.56, false), "1234.56");
        assert_eq!(number_text(1234.56, true), "1234,56");
        assert_eq!(number_text(-250.0, false), "-250");
        assert_eq!(number_text(6100.0, false), "6100");
        assert_eq!(number_text("12345678.900000001".parse().unwrap(), false), "12345678.9");
        assert_eq!(number_text(0.000001, false), "0.000001");
        assert_eq!(number_text(123456789012.345, false), "123456789012.345", "15 digits are kept");
        assert_eq!(number_text(1e-12, false), "0.000000000001", "few digits are never rounded");
    }
}
