//! Readers of the Google Cloud billing export as BigQuery exports it (the standard usage cost table, and the
//! detailed one with `resource.*` and `price.*`), in both the forms a table leaves BigQuery in:
//!
//! - **CSV** ([`GcpCsvReader`]): nested records flattened to dotted column names (`service.description`),
//!   repeated fields (`labels`, `credits`) as JSON text in one cell, timestamps as `2026-05-01 07:00:00 UTC`.
//! - **Newline-delimited JSON** ([`GcpJsonReader`]): one row a line, nested records as objects, repeated
//!   fields as arrays, timestamps as `2026-05-01T07:00:00Z` (or the CSV spelling).
//!
//! Both map rows through one function, so the same row gives the same records in either form. JSON numbers
//! are taken from their text, never through a float: serde_json (without its `arbitrary_precision` feature)
//! turns every non-integer into an `f64`, whose shortest rendering keeps 15–17 significant digits and no
//! more, so each line is first checked to be valid JSON and then has its number literals turned into strings
//! before it is parsed (see [`exact_json`]).
//!
//! Mapping to FOCUS:
//! - BillingAccountId = `billing_account_id`; SubAccountId / Name = `project.id` / `project.name`.
//! - BillingPeriodStart = the first day of `invoice.month` (`YYYYMM`), End = the first day of the next month
//!   (UTC); a row without an invoice month takes the month of its usage start.
//! - ChargePeriodStart / End = `usage_start_time` / `usage_end_time`.
//! - ChargeCategory from `cost_type`: `regular` → Usage (ChargeFrequency Usage-Based), `tax` → Tax,
//!   `adjustment` and `rounding_error` → Adjustment; a row without `cost_type` (exports from before it
//!   existed) is `regular`; another value is a row error.
//! - BilledCost = EffectiveCost = ContractedCost = `cost`; ListCost = `cost_at_list`, else `cost`.
//!   ContractedUnitPrice = `price.effective_price`, ListUnitPrice = `price.list_price` when present.
//! - Credits: each entry of `credits` becomes a record of its own (same `line`) with ChargeCategory Credit,
//!   BilledCost = EffectiveCost = ListCost = ContractedCost = its `amount` (negative), ChargeDescription =
//!   its `full_name` or `name`, `other["x_CreditType"]` = its `type` (and `x_CreditId`, `x_CreditName`), and
//!   the row's account, project, periods, service, SKU, region, resource and tags. Credit records carry no
//!   quantities, so that summing PricingQuantity does not count a row's usage twice. The credit records
//!   follow their row's own record.
//! - ProviderName / PublisherName / InvoiceIssuerName `Google Cloud`; ServiceName = `service.description`,
//!   ServiceCategory mapped from it (see [`service_category`]); ChargeDescription = `sku.description`.
//! - SkuId = `sku.id`; RegionId = `location.region`; ResourceId = `resource.global_name`, else
//!   `resource.name`; ResourceName = `resource.name`.
//! - PricingQuantity / Unit = `usage.amount_in_pricing_units` / `usage.pricing_unit`; ConsumedQuantity / Unit
//!   = `usage.amount` / `usage.unit`.
//! - Tags = `labels` (`[{key, value}]`; a JSON object of key → value is accepted too).
//! - `other`: `x_ServiceId`, `x_SkuDescription`, `x_CostType`, `x_CurrencyConversionRate`, `x_Zone`,
//!   `x_Location`, `x_ProjectNumber`, `x_InvoiceMonth`.
//!
//! Row errors name the column by its dotted name (`cost`, `usage_start_time`, `invoice.month`); the line is
//! the file line where the row starts (CSV: the header is line 1; JSON lines: the line itself).

use crate::cells::{Header, next_csv, open_csv, parse_datetime, parse_decimal, present};
use crate::record::{ChargeCategory, ChargeFrequency, FocusRecord};
use crate::strmap::StrMap;
use crate::table::{CrlfToLf, RowError};
use itemize_core::Currency;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, Read};
use std::str::FromStr;

/// Columns without which a file is not a GCP billing export.
const REQUIRED: &[&str] =
    &["billing_account_id", "service.description", "usage_start_time", "usage_end_time", "cost", "currency"];

const PROVIDER: &str = "Google Cloud";

/// Why a CSV header is not a GCP billing export, if it is not. Column names are matched case-insensitively.
pub fn detect(header: &Header) -> Result<(), String> {
    let names: Vec<String> = header.names().iter().map(|n| n.to_ascii_lowercase()).collect();
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|c| !names.iter().any(|n| n == c)).collect();
    if missing.is_empty() { Ok(()) } else { Err(format!("the header lacks {}", missing.join(", "))) }
}

/// Why the first non-empty line of a JSON-lines file is not a row of a GCP billing export, if it is not.
pub fn detect_json(first_line: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(first_line.trim().trim_start_matches('\u{feff}'))
        .map_err(|e| format!("the first line is not JSON: {e}"))?;
    if !v.is_object() {
        return Err("the first line is not a JSON object".to_string());
    }
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|c| lookup(&v, c).is_none()).collect();
    if missing.is_empty() { Ok(()) } else { Err(format!("the first line lacks {}", missing.join(", "))) }
}

/// The value at a dotted path of nested objects (`service.description`), or at a flat key of that name.
fn lookup<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = v;
    let mut nested = true;
    for seg in path.split('.') {
        match cur.get(seg) {
            Some(next) => cur = next,
            None => {
                nested = false;
                break;
            }
        }
    }
    if nested { Some(cur) } else { v.get(path) }
}

/// JSON text parsed with every number literal kept as its exact text (`{"cost": 0.1}` gives
/// `{"cost": "0.1"}`). The text is first checked to be valid JSON, so a malformed number is refused rather
/// than quoted.
pub fn exact_json(text: &str) -> Result<Value, String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| e.to_string())?;
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(ch) = chars.next() {
        if in_string {
            out.push(ch);
            match ch {
                '\\' => {
                    if let Some(escaped) = chars.next() {
                        out.push(escaped);
                    }
                }
                '"' => in_string = false,
                _ => {}
            }
        } else if ch == '"' {
            in_string = true;
            out.push(ch);
        } else if ch == '-' || ch.is_ascii_digit() {
            out.push('"');
            out.push(ch);
            while let Some(&next) = chars.peek() {
                if next.is_ascii_digit() || matches!(next, '.' | 'e' | 'E' | '+' | '-') {
                    out.push(next);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push('"');
        } else {
            out.push(ch);
        }
    }
    serde_json::from_str(&out).map_err(|e| e.to_string())
}

/// One input row, whichever form it came in.
enum Fields<'a> {
    Csv { rec: &'a csv::StringRecord, cols: &'a HashMap<String, usize>, names: &'a [String] },
    Json(&'a Value),
}

/// A field's content: a cell's text, or a JSON value.
enum Field<'a> {
    Text(&'a str),
    Json(&'a Value),
}

/// Reads the fields of one row by dotted name, with errors that name line, column, value and why.
struct Row<'a> {
    line: u64,
    fields: Fields<'a>,
}

impl<'a> Row<'a> {
    fn err(&self, col: &str, value: Option<&str>, reason: impl Into<String>) -> RowError {
        RowError::new(self.line, Some(col), value, reason)
    }

    fn get(&self, path: &str) -> Option<Field<'a>> {
        match &self.fields {
            Fields::Csv { rec, cols, .. } => {
                let i = *cols.get(&path.to_ascii_lowercase())?;
                rec.get(i).and_then(present).map(Field::Text)
            }
            Fields::Json(v) => match lookup(v, path)? {
                Value::Null => None,
                Value::String(s) => present(s).map(Field::Text),
                other => Some(Field::Json(other)),
            },
        }
    }

    /// The column as the file names it: the CSV header's spelling, else the dotted path.
    fn column(&self, path: &str) -> String {
        match &self.fields {
            Fields::Csv { cols, names, .. } => cols
                .get(&path.to_ascii_lowercase())
                .and_then(|&i| names.get(i))
                .cloned()
                .unwrap_or_else(|| path.to_string()),
            Fields::Json(_) => path.to_string(),
        }
    }

    /// A single value as text; an object or array where one value belongs is an error.
    fn text(&self, path: &str) -> Result<Option<String>, RowError> {
        match self.get(path) {
            None => Ok(None),
            Some(Field::Text(s)) => Ok(Some(s.to_string())),
            Some(Field::Json(Value::Bool(b))) => Ok(Some(b.to_string())),
            Some(Field::Json(Value::Number(n))) => Ok(Some(n.to_string())),
            Some(Field::Json(v)) => {
                Err(self.err(&self.column(path), Some(&v.to_string()), "is not a single value"))
            }
        }
    }

    fn required(&self, path: &str) -> Result<String, RowError> {
        self.text(path)?.ok_or_else(|| self.err(&self.column(path), Some(""), "is required"))
    }

    fn opt_decimal(&self, path: &str) -> Result<Option<Decimal>, RowError> {
        match self.text(path)? {
            None => Ok(None),
            Some(v) => parse_decimal(&v)
                .map(Some)
                .ok_or_else(|| self.err(&self.column(path), Some(&v), "is not a decimal number")),
        }
    }

    fn decimal(&self, path: &str) -> Result<Decimal, RowError> {
        self.opt_decimal(path)?.ok_or_else(|| self.err(&self.column(path), Some(""), "is required"))
    }

    fn time(&self, path: &str) -> Result<Timestamp, RowError> {
        let v = self.required(path)?;
        parse_gcp_time(&v).ok_or_else(|| {
            self.err(
                &self.column(path),
                Some(&v),
                "is not a timestamp (expected 2026-05-01 07:00:00 UTC or 2026-05-01T07:00:00Z)",
            )
        })
    }

    /// A repeated field: a JSON array, given as an array (JSON lines) or as JSON text (CSV).
    fn list(&self, path: &str) -> Result<Vec<Value>, RowError> {
        let parsed;
        let v = match self.get(path) {
            None => return Ok(Vec::new()),
            Some(Field::Json(v)) => v,
            Some(Field::Text(s)) => {
                parsed = exact_json(s).map_err(|e| {
                    self.err(&self.column(path), Some(s), format!("is not a JSON array: {e}"))
                })?;
                &parsed
            }
        };
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => Ok(items.clone()),
            // Labels are sometimes written as one object of key → value.
            Value::Object(map) if path.ends_with("labels") => {
                Ok(map.iter().map(|(k, v)| serde_json::json!({ "key": k, "value": v })).collect())
            }
            other => Err(self.err(&self.column(path), Some(&other.to_string()), "is not a JSON array")),
        }
    }
}

/// A BigQuery timestamp: `2026-05-01 07:00:00 UTC`, `2026-05-01 07:00:00.123456 UTC`, RFC 3339, or the same
/// without a zone (taken as UTC).
fn parse_gcp_time(v: &str) -> Option<Timestamp> {
    let v = v.trim();
    let v = v.strip_suffix(" UTC").or_else(|| v.strip_suffix(" +00:00")).unwrap_or(v);
    parse_datetime(v)
}

/// The first instant of a month in UTC.
fn month_start(year: i16, month: i8) -> Option<Timestamp> {
    jiff::civil::Date::new(year, month, 1).ok()?.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp())
}

/// The billing period of an invoice month `YYYYMM`: its first day to the first day of the next month.
fn invoice_period(month: &str) -> Option<(Timestamp, Timestamp)> {
    if month.len() != 6 || !month.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i16 = month[..4].parse().ok()?;
    let m: i8 = month[4..].parse().ok()?;
    let (ny, nm) = if m == 12 { (y.checked_add(1)?, 1) } else { (y, m + 1) };
    Some((month_start(y, m)?, month_start(ny, nm)?))
}

/// A scalar member of a JSON object (a label or credit entry) as text.
fn member(entry: &Value, key: &str) -> Option<String> {
    match entry.get(key)? {
        Value::Null => None,
        Value::String(s) => present(s).map(str::to_string),
        other => Some(other.to_string()),
    }
}

/// One export row as its records: the row's own, then one for each of its credits.
fn map_row(row: &Row<'_>) -> Result<Vec<FocusRecord>, RowError> {
    let currency_text = row.required("currency")?;
    let billing_currency = Currency::from_str(&currency_text)
        .map_err(|e| row.err(&row.column("currency"), Some(&currency_text), e.to_string()))?;

    let cost_type = row.text("cost_type")?;
    let charge_category = match cost_type.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("regular") => ChargeCategory::Usage,
        Some("tax") => ChargeCategory::Tax,
        Some("adjustment" | "rounding_error") => ChargeCategory::Adjustment,
        Some(_) => {
            return Err(row.err(
                &row.column("cost_type"),
                cost_type.as_deref(),
                "is not a GCP cost type (regular, tax, adjustment, rounding_error)",
            ));
        }
    };

    let cost = row.decimal("cost")?;
    let cost_at_list = row.opt_decimal("cost_at_list")?;
    let charge_period_start = row.time("usage_start_time")?;
    let charge_period_end = row.time("usage_end_time")?;
    let invoice_month = row.text("invoice.month")?;
    let (billing_period_start, billing_period_end) = match invoice_month.as_deref() {
        Some(m) => invoice_period(m).ok_or_else(|| {
            row.err(
                &row.column("invoice.month"),
                Some(m),
                "is not an invoice month (expected YYYYMM, such as 202605)",
            )
        })?,
        None => {
            let d = charge_period_start.to_zoned(TimeZone::UTC).date();
            invoice_period(&format!("{:04}{:02}", d.year(), d.month())).ok_or_else(|| {
                row.err(&row.column("usage_start_time"), None, "is out of range for a billing period")
            })?
        }
    };

    let mut tags = StrMap::new();
    for (i, label) in row.list("labels")?.iter().enumerate() {
        let key = member(label, "key").ok_or_else(|| {
            row.err(&row.column("labels"), Some(&label.to_string()), format!("label {} has no key", i + 1))
        })?;
        tags.insert(key, member(label, "value").unwrap_or_default());
    }

    let service_name = row.text("service.description")?;
    let mut other = StrMap::new();
    for (key, path) in [
        ("x_ServiceId", "service.id"),
        ("x_SkuDescription", "sku.description"),
        ("x_CostType", "cost_type"),
        ("x_CurrencyConversionRate", "currency_conversion_rate"),
        ("x_Zone", "location.zone"),
        ("x_Location", "location.location"),
        ("x_ProjectNumber", "project.number"),
        ("x_InvoiceMonth", "invoice.month"),
    ] {
        if let Some(v) = row.text(path)? {
            other.insert(key, v);
        }
    }
    let resource_name = row.text("resource.name")?;

    let mut base = FocusRecord::blank(row.line, billing_currency);
    base.billing_account_id = row.required("billing_account_id")?;
    base.sub_account_id = row.text("project.id")?;
    base.sub_account_name = row.text("project.name")?;
    base.provider_name = Some(PROVIDER.to_string());
    base.publisher_name = Some(PROVIDER.to_string());
    base.invoice_issuer_name = Some(PROVIDER.to_string());
    base.billing_period_start = billing_period_start;
    base.billing_period_end = billing_period_end;
    base.charge_period_start = charge_period_start;
    base.charge_period_end = charge_period_end;
    base.service_category = service_name.as_deref().map(|s| service_category(s).to_string());
    base.service_name = service_name;
    base.region_id = row.text("location.region")?;
    base.resource_id = row.text("resource.global_name")?.or_else(|| resource_name.clone());
    base.resource_name = resource_name;
    base.sku_id = row.text("sku.id")?;
    base.tags = tags;
    base.other = other;

    let mut own = base.clone();
    own.charge_category = charge_category;
    own.charge_frequency = (charge_category == ChargeCategory::Usage).then_some(ChargeFrequency::UsageBased);
    own.charge_description = row.text("sku.description")?;
    own.billed_cost = cost;
    own.effective_cost = cost;
    own.list_cost = cost_at_list.unwrap_or(cost);
    own.contracted_cost = Some(cost);
    own.pricing_quantity = row.opt_decimal("usage.amount_in_pricing_units")?;
    own.pricing_unit = row.text("usage.pricing_unit")?;
    own.consumed_quantity = row.opt_decimal("usage.amount")?;
    own.consumed_unit = row.text("usage.unit")?;
    own.contracted_unit_price = row.opt_decimal("price.effective_price")?;
    own.list_unit_price = row.opt_decimal("price.list_price")?;

    let mut out = vec![own];
    for (i, credit) in row.list("credits")?.iter().enumerate() {
        let col = row.column("credits");
        let amount_text = member(credit, "amount").ok_or_else(|| {
            row.err(&col, Some(&credit.to_string()), format!("credit {} has no amount", i + 1))
        })?;
        let amount = parse_decimal(&amount_text).ok_or_else(|| {
            row.err(&col, Some(&amount_text), format!("credit {}: amount is not a decimal number", i + 1))
        })?;
        let mut r = base.clone();
        r.charge_category = ChargeCategory::Credit;
        r.charge_frequency = out[0].charge_frequency;
        r.charge_description = member(credit, "full_name").or_else(|| member(credit, "name"));
        r.billed_cost = amount;
        r.effective_cost = amount;
        r.list_cost = amount;
        r.contracted_cost = Some(amount);
        for (key, field) in [("x_CreditType", "type"), ("x_CreditId", "id"), ("x_CreditName", "name")] {
            if let Some(v) = member(credit, field) {
                r.other.insert(key, v);
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// Reads a GCP billing export in CSV (as BigQuery exports it); an iterator of records in file order, a row's
/// credits right after it.
#[derive(Debug)]
pub struct GcpCsvReader<R: Read> {
    reader: csv::Reader<CrlfToLf<R>>,
    header: Header,
    /// Lower-cased column name → position.
    cols: HashMap<String, usize>,
    rec: csv::StringRecord,
    queue: VecDeque<FocusRecord>,
}

impl<R: Read> GcpCsvReader<R> {
    /// Reads the header; a file that is not a GCP billing export is refused with the columns it lacks.
    pub fn open(input: R) -> Result<Self, RowError> {
        let (reader, header) = open_csv(input)?;
        detect(&header)
            .map_err(|why| RowError::new(1, None, None, format!("not a GCP billing export: {why}")))?;
        let mut cols = HashMap::new();
        for (i, n) in header.names().iter().enumerate() {
            cols.entry(n.to_ascii_lowercase()).or_insert(i);
        }
        Ok(Self { reader, header, cols, rec: csv::StringRecord::new(), queue: VecDeque::new() })
    }

    pub fn headers(&self) -> &[String] {
        self.header.names()
    }
}

impl<R: Read> Iterator for GcpCsvReader<R> {
    type Item = Result<FocusRecord, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(r) = self.queue.pop_front() {
            return Some(Ok(r));
        }
        let line = match next_csv(&mut self.reader, &mut self.rec)? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        let fields = Fields::Csv { rec: &self.rec, cols: &self.cols, names: self.header.names() };
        match map_row(&Row { line, fields }) {
            Ok(records) => {
                self.queue.extend(records);
                self.queue.pop_front().map(Ok)
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// Reads a GCP billing export in newline-delimited JSON; an iterator of records in file order, a row's
/// credits right after it. Blank lines are skipped.
#[derive(Debug)]
pub struct GcpJsonReader<R: BufRead> {
    input: R,
    /// The number of the last line read.
    line: u64,
    /// The first non-empty line, read by `open` to tell the format, not yet mapped.
    first: Option<(u64, String)>,
    queue: VecDeque<FocusRecord>,
    done: bool,
}

impl<R: BufRead> GcpJsonReader<R> {
    /// Reads up to the first non-empty line and refuses a file whose first row is not a GCP billing row.
    /// An empty file is accepted (it has no rows).
    pub fn open(input: R) -> Result<Self, RowError> {
        let mut reader = Self { input, line: 0, first: None, queue: VecDeque::new(), done: false };
        loop {
            match reader.read_line() {
                None => return Ok(reader),
                Some(Err(e)) => return Err(e),
                Some(Ok(text)) if text.trim().is_empty() => continue,
                Some(Ok(text)) => {
                    let text = text.trim_start_matches('\u{feff}').to_string();
                    detect_json(&text).map_err(|why| {
                        RowError::new(reader.line, None, None, format!("not a GCP billing export: {why}"))
                    })?;
                    reader.first = Some((reader.line, text));
                    return Ok(reader);
                }
            }
        }
    }

    /// The next line without its line end, or an error naming it when it cannot be read as UTF-8 text.
    fn read_line(&mut self) -> Option<Result<String, RowError>> {
        if self.done {
            return None;
        }
        let mut buf = Vec::new();
        match self.input.read_until(b'\n', &mut buf) {
            Ok(0) => {
                self.done = true;
                None
            }
            Ok(_) => {
                self.line += 1;
                while buf.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                    buf.pop();
                }
                Some(String::from_utf8(buf).map_err(|_| {
                    RowError::new(self.line, None, None, "is not valid UTF-8 text (save the file as UTF-8)")
                }))
            }
            Err(e) => {
                self.done = true;
                Some(Err(RowError::new(self.line + 1, None, None, format!("could not be read: {e}"))))
            }
        }
    }
}

/// One JSON line as its records.
fn map_json_line(line: u64, text: &str) -> Result<Vec<FocusRecord>, RowError> {
    let v =
        exact_json(text.trim()).map_err(|e| RowError::new(line, None, None, format!("is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(RowError::new(line, None, None, "is not a JSON object"));
    }
    map_row(&Row { line, fields: Fields::Json(&v) })
}

impl<R: BufRead> Iterator for GcpJsonReader<R> {
    type Item = Result<FocusRecord, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(r) = self.queue.pop_front() {
            return Some(Ok(r));
        }
        let (line, text) = match self.first.take() {
            Some(first) => first,
            None => loop {
                match self.read_line()? {
                    Err(e) => return Some(Err(e)),
                    Ok(t) if t.trim().is_empty() => continue,
                    Ok(t) => break (self.line, t),
                }
            },
        };
        match map_json_line(line, &text) {
            Ok(records) => {
                self.queue.extend(records);
                self.queue.pop_front().map(Ok)
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// The FOCUS 1.2 ServiceCategory of a Google Cloud service (its `service.description`). Unknown services are
/// `Other`.
pub fn service_category(description: &str) -> &'static str {
    let d = description.trim().to_ascii_lowercase();
    const EXACT: &[(&str, &str)] = &[
        ("compute engine", "Compute"),
        ("kubernetes engine", "Compute"),
        ("google kubernetes engine", "Compute"),
        ("app engine", "Compute"),
        ("cloud run", "Compute"),
        ("cloud run functions", "Compute"),
        ("cloud functions", "Compute"),
        ("batch", "Compute"),
        ("vmware engine", "Compute"),
        ("google cloud vmware engine", "Compute"),
        ("bare metal solution", "Compute"),
        ("cloud storage", "Storage"),
        ("filestore", "Storage"),
        ("cloud filestore", "Storage"),
        ("backup and dr service", "Storage"),
        ("netapp volumes", "Storage"),
        ("bigquery", "Analytics"),
        ("bigquery storage api", "Analytics"),
        ("bigquery reservation api", "Analytics"),
        ("bigquery bi engine", "Analytics"),
        ("bigquery data transfer service", "Analytics"),
        ("dataflow", "Analytics"),
        ("cloud dataflow", "Analytics"),
        ("dataproc", "Analytics"),
        ("cloud dataproc", "Analytics"),
        ("looker", "Analytics"),
        ("looker studio", "Analytics"),
        ("dataplex", "Analytics"),
        ("data catalog", "Analytics"),
        ("cloud sql", "Databases"),
        ("cloud spanner", "Databases"),
        ("spanner", "Databases"),
        ("cloud bigtable", "Databases"),
        ("bigtable", "Databases"),
        ("firestore", "Databases"),
        ("cloud firestore", "Databases"),
        ("cloud datastore", "Databases"),
        ("datastore", "Databases"),
        ("memorystore", "Databases"),
        ("cloud memorystore for redis", "Databases"),
        ("memorystore for redis", "Databases"),
        ("alloydb", "Databases"),
        ("alloydb for postgresql", "Databases"),
        ("networking", "Networking"),
        ("cloud dns", "Networking"),
        ("cloud cdn", "Networking"),
        ("cloud load balancing", "Networking"),
        ("cloud nat", "Networking"),
        ("cloud vpn", "Networking"),
        ("cloud interconnect", "Networking"),
        ("network intelligence center", "Networking"),
        ("network connectivity center", "Networking"),
        ("cloud armor", "Networking"),
        ("virtual private cloud", "Networking"),
        ("serverless vpc access", "Networking"),
        ("media cdn", "Networking"),
        ("vertex ai", "AI and Machine Learning"),
        ("cloud vision api", "AI and Machine Learning"),
        ("cloud natural language api", "AI and Machine Learning"),
        ("cloud translation api", "AI and Machine Learning"),
        ("cloud speech api", "AI and Machine Learning"),
        ("cloud text-to-speech api", "AI and Machine Learning"),
        ("dialogflow", "AI and Machine Learning"),
        ("document ai", "AI and Machine Learning"),
        ("gemini api", "AI and Machine Learning"),
        ("cloud automl", "AI and Machine Learning"),
        ("ai platform", "AI and Machine Learning"),
        ("recommendations ai", "AI and Machine Learning"),
        ("contact center ai", "AI and Machine Learning"),
        ("cloud logging", "Management and Governance"),
        ("cloud monitoring", "Management and Governance"),
        ("stackdriver logging", "Management and Governance"),
        ("stackdriver monitoring", "Management and Governance"),
        ("cloud trace", "Management and Governance"),
        ("error reporting", "Management and Governance"),
        ("cloud asset inventory", "Management and Governance"),
        ("recommender", "Management and Governance"),
        ("secret manager", "Security"),
        ("cloud key management service (kms)", "Security"),
        ("cloud kms", "Security"),
        ("security command center", "Security"),
        ("certificate authority service", "Security"),
        ("recaptcha enterprise", "Security"),
        ("binary authorization", "Security"),
        ("cloud data loss prevention", "Security"),
        ("sensitive data protection", "Security"),
        ("identity platform", "Identity"),
        ("cloud identity", "Identity"),
        ("identity and access management", "Identity"),
        ("identity-aware proxy", "Identity"),
        ("managed service for microsoft active directory", "Identity"),
        ("cloud build", "Developer Tools"),
        ("artifact registry", "Developer Tools"),
        ("container registry", "Developer Tools"),
        ("cloud source repositories", "Developer Tools"),
        ("cloud deploy", "Developer Tools"),
        ("cloud workstations", "Developer Tools"),
        ("cloud pub/sub", "Integration"),
        ("pub/sub", "Integration"),
        ("cloud composer", "Integration"),
        ("cloud data fusion", "Integration"),
        ("cloud scheduler", "Integration"),
        ("cloud tasks", "Integration"),
        ("workflows", "Integration"),
        ("apigee", "Integration"),
        ("api gateway", "Integration"),
        ("eventarc", "Integration"),
        ("application integration", "Integration"),
        ("cloud endpoints", "Integration"),
        ("cloud iot core", "Internet of Things"),
        ("iot core", "Internet of Things"),
        ("transcoder api", "Media"),
        ("live stream api", "Media"),
        ("video stitcher api", "Media"),
        ("database migration service", "Migration"),
        ("migrate to virtual machines", "Migration"),
        ("migration center", "Migration"),
        ("storage transfer service", "Migration"),
        ("transfer appliance", "Migration"),
        ("firebase", "Mobile"),
        ("anthos", "Multicloud"),
        ("gke enterprise", "Multicloud"),
        ("google distributed cloud", "Multicloud"),
        ("google workspace", "Business Applications"),
        ("appsheet", "Business Applications"),
        ("maps api", "Web"),
        ("google maps platform", "Web"),
    ];
    if let Some((_, cat)) = EXACT.iter().find(|(k, _)| *k == d) {
        return cat;
    }
    const KEYWORDS: &[(&str, &str)] = &[
        ("bigquery", "Analytics"),
        ("sql", "Databases"),
        ("database", "Databases"),
        ("storage", "Storage"),
        ("compute", "Compute"),
        ("kubernetes", "Compute"),
        ("network", "Networking"),
        ("cdn", "Networking"),
        ("dns", "Networking"),
        ("load balanc", "Networking"),
        ("vpn", "Networking"),
        ("interconnect", "Networking"),
        ("vertex", "AI and Machine Learning"),
        ("gemini", "AI and Machine Learning"),
        ("vision", "AI and Machine Learning"),
        ("speech", "AI and Machine Learning"),
        ("translat", "AI and Machine Learning"),
        ("natural language", "AI and Machine Learning"),
        ("automl", "AI and Machine Learning"),
        ("logging", "Management and Governance"),
        ("monitoring", "Management and Governance"),
        ("security", "Security"),
        ("key management", "Security"),
        ("secret", "Security"),
        ("identity", "Identity"),
        ("firebase", "Mobile"),
        ("iot", "Internet of Things"),
        ("maps", "Web"),
    ];
    KEYWORDS.iter().find(|(k, _)| d.contains(k)).map(|(_, cat)| *cat).unwrap_or("Other")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const CSV_HEADER: &str = "billing_account_id,service.id,service.description,sku.id,sku.description,\
        usage_start_time,usage_end_time,project.id,project.name,labels,location.location,location.region,\
        location.zone,cost,currency,currency_conversion_rate,usage.amount,usage.unit,\
        usage.amount_in_pricing_units,usage.pricing_unit,credits,invoice.month,cost_type,cost_at_list,\
        resource.name,resource.global_name";

    /// Five rows in CSV, as BigQuery writes them: regular usage with two credits, tax, an adjustment, a row
    /// with labels and a rounding error.
    fn csv_rows() -> String {
        let rows = [
            r#"01A2B3-C4D5E6-F7A8B9,6F81-5844-456A,Compute Engine,2E27-4F9A-6E0B,N1 Predefined Instance Core running in Americas,2026-05-01 07:00:00 UTC,2026-05-01 08:00:00 UTC,proj-a,Project A,[],us-central1,us-central1,us-central1-a,0.031611,USD,1,3600,seconds,1,hour,"[{""name"":""Sustained usage discount"",""amount"":-0.006322,""full_name"":""Sustained Usage Discount"",""id"":""sud-1"",""type"":""SUSTAINED_USAGE_DISCOUNT""},{""name"":""FreeTrial:abc"",""amount"":-0.025289,""full_name"":""Free Trial credit"",""id"":""ft-1"",""type"":""PROMOTION""}]",202605,regular,0.0331915,vm-1,//compute.googleapis.com/projects/proj-a/zones/us-central1-a/instances/123"#,
            r#"01A2B3-C4D5E6-F7A8B9,,Invoice,,Tax,2026-05-01 00:00:00 UTC,2026-06-01 00:00:00 UTC,,,[],,,,12.48,USD,1,,,,,[],202605,tax,,,"#,
            r#"01A2B3-C4D5E6-F7A8B9,95FF-2EF5-5EA1,Cloud Storage,E5F0-6A5D-7BAD,Standard Storage US Multi-region,2026-04-01 00:00:00 UTC,2026-05-01 00:00:00 UTC,proj-a,Project A,[],us,,,-1.5,USD,1,,,,,[],202605,adjustment,,,"#,
            r#"01A2B3-C4D5E6-F7A8B9,24E6-581D-38E5,BigQuery,0AA5-B7AE-8C5D,Analysis,2026-05-02 10:00:00.250000 UTC,2026-05-02 11:00:00 UTC,proj-b,Project B,"[{""key"":""env"",""value"":""prod""},{""key"":""team"",""value"":""data""}]",US,us,,12345678.123456,EUR,0.92,1099511627776,bytes,1,tebibyte,[],202605,regular,,,"#,
            r#"01A2B3-C4D5E6-F7A8B9,,Invoice,,Rounding,2026-05-01 00:00:00 UTC,2026-06-01 00:00:00 UTC,,,[],,,,0.000123456789,EUR,0.92,,,,,[],202605,rounding_error,,,"#,
        ];
        format!("{CSV_HEADER}\n{}\n", rows.join("\n"))
    }

    /// The same five rows as newline-delimited JSON, nested, with a blank line between two of them.
    fn json_rows() -> String {
        [
            r#"{"billing_account_id":"01A2B3-C4D5E6-F7A8B9","service":{"id":"6F81-5844-456A","description":"Compute Engine"},"sku":{"id":"2E27-4F9A-6E0B","description":"N1 Predefined Instance Core running in Americas"},"usage_start_time":"2026-05-01T07:00:00Z","usage_end_time":"2026-05-01T08:00:00Z","project":{"id":"proj-a","name":"Project A","labels":[]},"labels":[],"system_labels":[{"key":"compute.googleapis.com/machine_spec","value":"n1-standard-1"}],"location":{"location":"us-central1","country":"US","region":"us-central1","zone":"us-central1-a"},"cost":0.031611,"currency":"USD","currency_conversion_rate":1,"usage":{"amount":3600,"unit":"seconds","amount_in_pricing_units":1,"pricing_unit":"hour"},"credits":[{"name":"Sustained usage discount","amount":-0.006322,"full_name":"Sustained Usage Discount","id":"sud-1","type":"SUSTAINED_USAGE_DISCOUNT"},{"name":"FreeTrial:abc","amount":-0.025289,"full_name":"Free Trial credit","id":"ft-1","type":"PROMOTION"}],"invoice":{"month":"202605"},"cost_type":"regular","cost_at_list":0.0331915,"resource":{"name":"vm-1","global_name":"//compute.googleapis.com/projects/proj-a/zones/us-central1-a/instances/123"}}"#,
            r#"{"billing_account_id":"01A2B3-C4D5E6-F7A8B9","service":{"id":null,"description":"Invoice"},"sku":{"id":null,"description":"Tax"},"usage_start_time":"2026-05-01T00:00:00Z","usage_end_time":"2026-06-01T00:00:00Z","project":null,"labels":[],"location":null,"cost":12.48,"currency":"USD","currency_conversion_rate":1,"usage":null,"credits":[],"invoice":{"month":"202605"},"cost_type":"tax"}"#,
            "",
            r#"{"billing_account_id":"01A2B3-C4D5E6-F7A8B9","service":{"id":"95FF-2EF5-5EA1","description":"Cloud Storage"},"sku":{"id":"E5F0-6A5D-7BAD","description":"Standard Storage US Multi-region"},"usage_start_time":"2026-04-01T00:00:00Z","usage_end_time":"2026-05-01T00:00:00Z","project":{"id":"proj-a","name":"Project A"},"labels":[],"location":{"location":"us","region":null,"zone":null},"cost":-1.5,"currency":"USD","currency_conversion_rate":1,"credits":[],"invoice":{"month":"202605"},"cost_type":"adjustment"}"#,
            r#"{"billing_account_id":"01A2B3-C4D5E6-F7A8B9","service":{"id":"24E6-581D-38E5","description":"BigQuery"},"sku":{"id":"0AA5-B7AE-8C5D","description":"Analysis"},"usage_start_time":"2026-05-02T10:00:00.25Z","usage_end_time":"2026-05-02T11:00:00Z","project":{"id":"proj-b","name":"Project B"},"labels":[{"key":"env","value":"prod"},{"key":"team","value":"data"}],"location":{"location":"US","region":"us"},"cost":12345678.123456,"currency":"EUR","currency_conversion_rate":0.92,"usage":{"amount":1099511627776,"unit":"bytes","amount_in_pricing_units":1,"pricing_unit":"tebibyte"},"credits":[],"invoice":{"month":"202605"},"cost_type":"regular"}"#,
            r#"{"billing_account_id":"01A2B3-C4D5E6-F7A8B9","service":{"description":"Invoice"},"sku":{"description":"Rounding"},"usage_start_time":"2026-05-01 00:00:00 UTC","usage_end_time":"2026-06-01 00:00:00 UTC","cost":0.000123456789,"currency":"EUR","currency_conversion_rate":0.92,"credits":[],"invoice":{"month":"202605"},"cost_type":"rounding_error"}"#,
        ]
        .join("\n")
    }

    fn read_csv(data: &str) -> Vec<Result<FocusRecord, RowError>> {
        GcpCsvReader::open(data.as_bytes()).unwrap().collect()
    }

    fn read_json(data: &str) -> Vec<Result<FocusRecord, RowError>> {
        GcpJsonReader::open(data.as_bytes()).unwrap().collect()
    }

    /// cost + credit amounts per currency by a second path: serde_json's own parse of each line (its floats
    /// print back exactly for numbers of at most 15 significant digits, as all of these are) and the decimal
    /// parser, nothing of the readers.
    fn independent_totals(jsonl: &str) -> BTreeMap<String, Decimal> {
        let num = |v: &Value| match v {
            Value::Number(n) => parse_decimal(&n.to_string()).unwrap(),
            other => panic!("not a number: {other}"),
        };
        let mut out: BTreeMap<String, Decimal> = BTreeMap::new();
        for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).unwrap();
            let t = out.entry(v["currency"].as_str().unwrap().to_string()).or_default();
            *t += num(&v["cost"]);
            for credit in v["credits"].as_array().unwrap() {
                *t += num(&credit["amount"]);
            }
        }
        out
    }

    #[test]
    fn csv_and_json_give_the_same_records() {
        let csv: Vec<FocusRecord> = read_csv(&csv_rows()).into_iter().map(|r| r.unwrap()).collect();
        let json: Vec<FocusRecord> = read_json(&json_rows()).into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(csv.len(), 7, "five rows, two credits");
        assert_eq!(json.len(), 7);
        for (i, (c, j)) in csv.iter().zip(&json).enumerate() {
            // CSV lines count the header; the JSON file has a blank line after its second row.
            let mut j = j.clone();
            if j.line < 3 {
                j.line += 1;
            }
            assert_eq!(c, &j, "record {i}");
        }
        let lines: Vec<u64> = json.iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 1, 1, 2, 4, 5, 6], "a row's credits share its line; the blank line counts");
        assert_eq!(csv.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 2, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn maps_rows_and_credits() {
        let r: Vec<FocusRecord> = read_json(&json_rows()).into_iter().map(|r| r.unwrap()).collect();
        let cats: Vec<ChargeCategory> = r.iter().map(|x| x.charge_category).collect();
        use ChargeCategory::*;
        assert_eq!(cats, [Usage, Credit, Credit, Tax, Adjustment, Usage, Adjustment]);

        let vm = &r[0];
        assert_eq!(vm.billing_account_id, "01A2B3-C4D5E6-F7A8B9");
        assert_eq!(vm.sub_account_id.as_deref(), Some("proj-a"));
        assert_eq!(vm.sub_account_name.as_deref(), Some("Project A"));
        assert_eq!(vm.provider_name.as_deref(), Some("Google Cloud"));
        assert_eq!(vm.billing_period_start, ts("2026-05-01T00:00:00Z"));
        assert_eq!(vm.billing_period_end, ts("2026-06-01T00:00:00Z"));
        assert_eq!(vm.charge_period_start, ts("2026-05-01T07:00:00Z"));
        assert_eq!(vm.charge_period_end, ts("2026-05-01T08:00:00Z"));
        assert_eq!(vm.billed_cost.to_string(), "0.031611");
        assert_eq!(vm.effective_cost, vm.billed_cost);
        assert_eq!(vm.list_cost.to_string(), "0.0331915", "cost_at_list");
        assert_eq!(vm.service_name.as_deref(), Some("Compute Engine"));
        assert_eq!(vm.service_category.as_deref(), Some("Compute"));
        assert_eq!(vm.sku_id.as_deref(), Some("2E27-4F9A-6E0B"));
        assert_eq!(vm.region_id.as_deref(), Some("us-central1"));
        assert_eq!(
            vm.resource_id.as_deref(),
            Some("//compute.googleapis.com/projects/proj-a/zones/us-central1-a/instances/123")
        );
        assert_eq!(vm.resource_name.as_deref(), Some("vm-1"));
        assert_eq!(vm.pricing_quantity, Some(Decimal::ONE));
        assert_eq!(vm.pricing_unit.as_deref(), Some("hour"));
        assert_eq!(vm.consumed_quantity.map(|d| d.to_string()).as_deref(), Some("3600"));
        assert_eq!(vm.consumed_unit.as_deref(), Some("seconds"));
        assert_eq!(vm.charge_frequency, Some(ChargeFrequency::UsageBased));
        assert_eq!(vm.other.get("x_Zone").map(String::as_str), Some("us-central1-a"));
        assert_eq!(vm.other.get("x_ServiceId").map(String::as_str), Some("6F81-5844-456A"));
        assert_eq!(vm.other.get("x_CostType").map(String::as_str), Some("regular"));
        assert_eq!(vm.other.get("x_CurrencyConversionRate").map(String::as_str), Some("1"));

        let sud = &r[1];
        assert_eq!(sud.billed_cost.to_string(), "-0.006322");
        assert_eq!(
            (sud.effective_cost, sud.list_cost, sud.contracted_cost),
            (sud.billed_cost, sud.billed_cost, Some(sud.billed_cost))
        );
        assert_eq!(sud.charge_description.as_deref(), Some("Sustained Usage Discount"));
        assert_eq!(sud.other.get("x_CreditType").map(String::as_str), Some("SUSTAINED_USAGE_DISCOUNT"));
        assert_eq!(
            (sud.resource_id.as_ref(), sud.sku_id.as_ref()),
            (vm.resource_id.as_ref(), vm.sku_id.as_ref())
        );
        assert_eq!(sud.pricing_quantity, None, "credits carry no quantity");
        assert_eq!(r[2].other.get("x_CreditType").map(String::as_str), Some("PROMOTION"));

        assert_eq!(r[3].service_category.as_deref(), Some("Other"));
        assert_eq!(r[3].sub_account_id, None);
        assert_eq!(r[4].billed_cost.to_string(), "-1.5");
        assert_eq!(r[4].service_category.as_deref(), Some("Storage"));

        let bq = &r[5];
        assert_eq!(bq.tags.len(), 2);
        assert_eq!(bq.tags.get("env").map(String::as_str), Some("prod"));
        assert_eq!(bq.service_category.as_deref(), Some("Analytics"));
        assert_eq!(bq.charge_period_start, ts("2026-05-02T10:00:00.25Z"));
        assert_eq!(bq.billing_currency.code(), "EUR");
    }

    #[test]
    fn totals_are_cost_plus_credits() {
        let expected = independent_totals(&json_rows());
        assert_eq!(
            expected.get("USD"),
            Some(&Decimal::new(1098, 2)),
            "0.031611 - 0.006322 - 0.025289 + 12.48 - 1.5"
        );
        for records in [read_csv(&csv_rows()), read_json(&json_rows())] {
            let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
            for r in records {
                let r = r.unwrap();
                *totals.entry(r.billing_currency.code().to_string()).or_default() += r.billed_cost;
            }
            assert_eq!(totals, expected);
        }
    }

    #[test]
    fn json_numbers_keep_every_digit() {
        let r: Vec<FocusRecord> = read_json(&json_rows()).into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(r[5].billed_cost.to_string(), "12345678.123456");
        assert_eq!(r[6].billed_cost.to_string(), "0.000123456789");
        assert_eq!(r[5].consumed_quantity.map(|d| d.to_string()).as_deref(), Some("1099511627776"));
        // More digits than a float holds: the f64 route loses them, the reader does not.
        let long = "0.12345678901234567891";
        let through_float: serde_json::Number = serde_json::from_str(long).unwrap();
        assert_ne!(through_float.to_string(), long, "serde_json without arbitrary_precision rounds");
        let line = json_rows().lines().last().unwrap().replace("0.000123456789", long);
        let rec = read_json(&line).remove(0).unwrap();
        assert_eq!(rec.billed_cost.to_string(), long);
        let v = exact_json(r#"{"a":[-1.5e-7,"x\"1",{"b":2}],"c":true}"#).unwrap();
        assert_eq!(v, serde_json::json!({"a": ["-1.5e-7", "x\"1", {"b": "2"}], "c": true}));
    }

    #[test]
    fn bad_rows_are_named() {
        let good = json_rows().lines().next().unwrap().to_string();
        let lines = [
            good.clone(),
            good.replace(r#""cost_type":"regular""#, r#""cost_type":"discount""#),
            good.replace(r#""cost":0.031611"#, r#""cost":"abc""#),
            good.replace("2026-05-01T07:00:00Z", "yesterday"),
            "{not json".to_string(),
            good.replace(r#""month":"202605""#, r#""month":"2026-05""#),
            "[1,2]".to_string(),
        ];
        let rows = read_json(&lines.join("\n"));
        assert_eq!(rows.len(), 3 + 6, "the good row and its credits, then six errors");
        let errs: Vec<(u64, Option<String>, Option<String>)> = rows[3..]
            .iter()
            .map(|r| {
                let e = r.as_ref().unwrap_err();
                (e.row, e.column.clone(), e.value.clone())
            })
            .collect();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            errs,
            vec![
                (2, some("cost_type"), some("discount")),
                (3, some("cost"), some("abc")),
                (4, some("usage_start_time"), some("yesterday")),
                (5, None, None),
                (6, some("invoice.month"), some("2026-05")),
                (7, None, None),
            ]
        );
        assert!(rows[4].as_ref().unwrap_err().reason.contains("is not a decimal number"));
        assert!(rows[6].as_ref().unwrap_err().reason.starts_with("is not JSON"));

        // The same in CSV, where the line counts from the header.
        let csv = csv_rows();
        let first = csv.lines().nth(1).unwrap();
        let data = format!(
            "{CSV_HEADER}\n{}\n{}\n{}\n",
            first.replace(",regular,", ",discount,"),
            first.replace(",0.031611,", ",0.03l611,"),
            first.replacen("2026-05-01 08:00:00 UTC", "2026-13-01 08:00:00 UTC", 1),
        );
        let errs: Vec<(u64, String, String)> = read_csv(&data)
            .into_iter()
            .map(|r| {
                let e = r.unwrap_err();
                (e.row, e.column.unwrap_or_default(), e.value.unwrap_or_default())
            })
            .collect();
        assert_eq!(
            errs,
            vec![
                (2, "cost_type".into(), "discount".into()),
                (3, "cost".into(), "0.03l611".into()),
                (4, "usage_end_time".into(), "2026-13-01 08:00:00 UTC".into()),
            ]
        );
        let bad_credit = first.replace("-0.006322", "\"\"lots\"\"");
        let e = read_csv(&format!("{CSV_HEADER}\n{bad_credit}\n")).remove(0).unwrap_err();
        assert_eq!((e.row, e.column.as_deref(), e.value.as_deref()), (2, Some("credits"), Some("lots")));
    }

    #[test]
    fn other_formats_are_refused() {
        let cur = "identity/LineItemId,bill/PayerAccountId,lineItem/UnblendedCost,lineItem/CurrencyCode";
        let e = GcpCsvReader::open(format!("{cur}\n").as_bytes()).unwrap_err();
        assert_eq!(e.row, 1);
        assert!(
            e.reason.starts_with("not a GCP billing export: the header lacks billing_account_id"),
            "{}",
            e.reason
        );
        let focus = "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingAccountId,ChargePeriodStart";
        assert!(detect(&Header::new(focus.split(','))).is_err());
        assert!(detect(&Header::new(CSV_HEADER.split(','))).is_ok());
        assert!(detect_json(json_rows().lines().next().unwrap()).is_ok());
        assert!(detect_json(r#"{"BilledCost": 1}"#).unwrap_err().starts_with("the first line lacks"));
        assert!(detect_json("not json").unwrap_err().starts_with("the first line is not JSON"));
        assert!(detect_json("[1]").is_err());
        let e = GcpJsonReader::open(r#"{"BilledCost": 1}"#.as_bytes()).unwrap_err();
        assert_eq!(e.row, 1);
        assert_eq!(read_json("\n\n").len(), 0, "an empty export has no rows");
    }
}
