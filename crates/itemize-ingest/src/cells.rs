//! What every source reader shares: a header looked up by name, a row's cells read as typed values with the
//! quirks of real exports absorbed, and errors that name row, column, value and why.

use crate::table::{CrlfToLf, RowError, csv_reason};
use jiff::Timestamp;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::io::Read;
use std::str::FromStr;

/// A file's header: its column names (byte-order mark and surrounding blanks removed) and where each is.
#[derive(Debug, Clone)]
pub struct Header {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    pub fn new(names: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        let names: Vec<String> =
            names.into_iter().map(|h| h.as_ref().trim_start_matches('\u{feff}').trim().to_string()).collect();
        let mut index = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            index.entry(n.clone()).or_insert(i);
        }
        Self { names, index }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn has(&self, col: &str) -> bool {
        self.index.contains_key(col)
    }

    pub fn position(&self, col: &str) -> Option<usize> {
        self.index.get(col).copied()
    }

    /// The columns of `required` the header lacks, in that order.
    pub fn missing<'c>(&self, required: &[&'c str]) -> Vec<&'c str> {
        required.iter().copied().filter(|c| !self.has(c)).collect()
    }
}

/// Opens a CSV source: CRLF tolerated, ragged rows refused, the header read.
pub fn open_csv<R: Read>(input: R) -> Result<(csv::Reader<CrlfToLf<R>>, Header), RowError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(64 * 1024)
        .from_reader(CrlfToLf::new(input));
    let header =
        Header::new(reader.headers().map_err(|e| RowError::new(1, None, None, csv_reason(&e)))?.iter());
    Ok((reader, header))
}

/// The next record of a CSV reader as a row error when the file itself is broken (bad quoting, ragged row,
/// invalid UTF-8).
pub fn next_csv<R: Read>(
    reader: &mut csv::Reader<CrlfToLf<R>>,
    rec: &mut csv::StringRecord,
) -> Option<Result<u64, RowError>> {
    let read = reader.read_record(rec);
    let mut line = |at: Option<&csv::Position>| at.map(|p| reader.get_mut().line_of(p)).unwrap_or(0);
    match read {
        Ok(true) => Some(Ok(line(rec.position()))),
        Ok(false) => None,
        Err(e) => {
            let at = line(e.position());
            Some(Err(RowError::new(at, None, None, csv_reason(&e))))
        }
    }
}

/// A cell's text, with the spellings of "no value" real exports use taken as none.
pub fn present(v: &str) -> Option<&str> {
    // Most cells have nothing to trim: look at their ends before trimming.
    let edge = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_whitespace() || *b >= 0x80);
    let v = if edge(v.as_bytes().first()) || edge(v.as_bytes().last()) { v.trim() } else { v };
    if v.is_empty() || v == "NULL" || v == "null" { None } else { Some(v) }
}

/// One data row of a source, read by column name.
#[derive(Debug, Clone, Copy)]
pub struct Cells<'a> {
    /// The line of the file where the row starts (the header is line 1).
    pub line: u64,
    pub rec: &'a csv::StringRecord,
    pub header: &'a Header,
}

impl<'a> Cells<'a> {
    pub fn new(line: u64, rec: &'a csv::StringRecord, header: &'a Header) -> Self {
        Self { line, rec, header }
    }

    /// The cell's trimmed text, or none when the column is absent, empty or `NULL`.
    pub fn raw(&self, col: &str) -> Option<&'a str> {
        self.raw_at(self.header.position(col))
    }

    /// [`Self::raw`] for a column whose position was looked up beforehand (none: the header lacks it).
    pub fn raw_at(&self, pos: Option<usize>) -> Option<&'a str> {
        pos.and_then(|i| self.rec.get(i)).and_then(present)
    }

    pub fn err(&self, col: &str, value: Option<&str>, reason: impl Into<String>) -> RowError {
        RowError::new(self.line, Some(col), value, reason)
    }

    pub fn text(&self, col: &str) -> Option<String> {
        self.raw(col).map(str::to_string)
    }

    pub fn required(&self, col: &str) -> Result<&'a str, RowError> {
        self.required_at(self.header.position(col), col)
    }

    /// [`Self::required`] at a position looked up beforehand; `col` names the column in the error.
    pub fn required_at(&self, pos: Option<usize>, col: &str) -> Result<&'a str, RowError> {
        self.raw_at(pos).ok_or_else(|| self.err(col, Some(""), "is required"))
    }

    pub fn decimal(&self, col: &str) -> Result<Decimal, RowError> {
        self.decimal_at(self.header.position(col), col)
    }

    /// [`Self::decimal`] at a position looked up beforehand.
    pub fn decimal_at(&self, pos: Option<usize>, col: &str) -> Result<Decimal, RowError> {
        let v = self.required_at(pos, col)?;
        self.decimal_of(col, v)
    }

    pub fn opt_decimal(&self, col: &str) -> Result<Option<Decimal>, RowError> {
        self.opt_decimal_at(self.header.position(col), col)
    }

    /// [`Self::opt_decimal`] at a position looked up beforehand.
    pub fn opt_decimal_at(&self, pos: Option<usize>, col: &str) -> Result<Option<Decimal>, RowError> {
        self.raw_at(pos).map(|v| self.decimal_of(col, v)).transpose()
    }

    fn decimal_of(&self, col: &str, v: &str) -> Result<Decimal, RowError> {
        parse_decimal(v).ok_or_else(|| self.err(col, Some(v), "is not a decimal number"))
    }

    /// A decimal that may be written as money: `$1,234.56`, `€ 12.00`, `(12.00)` for a negative.
    pub fn money(&self, col: &str) -> Result<Decimal, RowError> {
        let v = self.required(col)?;
        parse_money(v).ok_or_else(|| self.err(col, Some(v), "is not an amount of money (such as 1234.56)"))
    }

    pub fn time(&self, col: &str) -> Result<Timestamp, RowError> {
        self.time_at(self.header.position(col), col, parse_datetime)
    }

    /// [`Self::time`] at a position looked up beforehand, the text read by `parse` (a memo, say).
    pub fn time_at(
        &self,
        pos: Option<usize>,
        col: &str,
        parse: impl FnOnce(&str) -> Option<Timestamp>,
    ) -> Result<Timestamp, RowError> {
        let v = self.required_at(pos, col)?;
        parse(v).ok_or_else(|| {
            self.err(col, Some(v), "is not a date-time (expected ISO 8601, such as 2026-05-01T00:00:00Z)")
        })
    }

    /// A date or date-time in any of the spellings non-FOCUS sources use (ISO 8601, m/d/yyyy, m/d/yy), as the
    /// start of that day in UTC when no time is given.
    pub fn loose_time(&self, col: &str) -> Result<Timestamp, RowError> {
        let v = self.required(col)?;
        parse_loose_datetime(v).ok_or_else(|| {
            self.err(
                col,
                Some(v),
                "is not a date (expected 2026-05-01, 5/1/2026, 5/1/26 or an ISO 8601 date-time)",
            )
        })
    }
}

/// An exact decimal from plain (`-12.5`) or scientific (`1.2E-7`) notation. Never through a float.
pub fn parse_decimal(v: &str) -> Option<Decimal> {
    let v = v.trim();
    Decimal::from_str(v)
        .ok()
        .or_else(|| if v.contains(['e', 'E']) { Decimal::from_scientific(v).ok() } else { None })
}

/// Money as people write it: an optional currency symbol or code, thousands separators (`,`), a leading minus
/// or accounting parentheses for a negative, a trailing `CR` (a credit: negative) or `DR`. Exact. Any other
/// letters (`12k`, `1.2M`, `DR 80`) make it no amount, rather than a number read without them.
pub fn parse_money(v: &str) -> Option<Decimal> {
    money_parts(v).map(|(d, _)| d)
}

/// The currency an amount names by its code (`USD 10`, `10 eur`) or by a symbol that names one currency (`€`,
/// `£`), upper-cased; `$` and `¥` name several and are taken as the row's.
pub type MoneyCurrency = Option<String>;

/// [`parse_money`], with the currency the amount's text names, for checking against the row's currency.
pub fn money_parts(v: &str) -> Option<(Decimal, MoneyCurrency)> {
    let mut t = v.trim();
    let mut negative = false;
    let mut named: MoneyCurrency = None;
    let name = |c: String, named: &mut MoneyCurrency| match named {
        Some(n) if *n != c => false,
        _ => {
            *named = Some(c);
            true
        }
    };
    // Credit and debit markers of accounting exports, after the amount.
    for (suffix, credit) in [(" CR", true), (" DR", false), ("CR", true), ("DR", false)] {
        if let Some(rest) =
            t.strip_suffix(suffix).filter(|r| r.ends_with(|c: char| c.is_ascii_digit() || c == ' '))
        {
            negative = credit;
            t = rest.trim();
            break;
        }
    }
    if let Some(inner) = t.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        negative = !negative;
        t = inner.trim();
    }
    if let Some(rest) = t.strip_prefix('-') {
        negative = !negative;
        t = rest.trim();
    }
    // A currency symbol or a three-letter code, before or after the number.
    let code = |w: &str| {
        (w.len() == 3 && w.bytes().all(|b| b.is_ascii_alphabetic())).then(|| w.to_ascii_uppercase())
    };
    for _ in 0..2 {
        if let Some(c) = t.chars().next().filter(|c| "$€£¥".contains(*c)) {
            if let Some(n) = symbol_currency(c)
                && !name(n.into(), &mut named)
            {
                return None;
            }
            t = t[c.len_utf8()..].trim_start();
        } else if let Some(c) =
            t.get(..3).and_then(code).filter(|_| t[3..].starts_with([' ', '$', '€', '£', '¥']))
        {
            if !name(c, &mut named) {
                return None;
            }
            t = t[3..].trim_start();
        }
        if let Some(c) = t.chars().last().filter(|c| "$€£¥".contains(*c)) {
            if let Some(n) = symbol_currency(c)
                && !name(n.into(), &mut named)
            {
                return None;
            }
            t = t[..t.len() - c.len_utf8()].trim_end();
        } else if let Some(c) = t.len().checked_sub(3).and_then(|i| t.get(i..)).and_then(code) {
            if !name(c, &mut named) {
                return None;
            }
            t = t[..t.len() - 3].trim_end();
        }
    }
    if t.is_empty() || t.starts_with('-') {
        return None;
    }
    // Thousands separators only where they group three digits (and never after a leading zero: `0,125`).
    let cleaned: String = if t.contains(',') {
        let int_part = t.split('.').next().unwrap_or("");
        let groups: Vec<&str> = int_part.split(',').collect();
        let well_grouped = groups.len() > 1
            && !groups[0].is_empty()
            && groups[0].len() <= 3
            && !groups[0].starts_with('0')
            && groups[1..].iter().all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()));
        if !well_grouped {
            return None;
        }
        t.replace(',', "")
    } else {
        t.to_string()
    };
    let d = parse_decimal(&cleaned)?;
    Some((if negative { -d } else { d }, named))
}

/// The one currency a symbol names, if it names one.
fn symbol_currency(c: char) -> Option<&'static str> {
    match c {
        '€' => Some("EUR"),
        '£' => Some("GBP"),
        _ => None,
    }
}

/// A FOCUS date-time: RFC 3339, or the same without `T` or without a zone (taken as UTC, as FOCUS requires).
pub fn parse_datetime(v: &str) -> Option<Timestamp> {
    let v = v.trim();
    if let Ok(t) = v.parse::<Timestamp>() {
        return Some(t);
    }
    let civil = v.trim_end_matches('Z').replacen(' ', "T", 1);
    if let Ok(dt) = civil.parse::<jiff::civil::DateTime>() {
        return dt.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    None
}

/// A date or date-time from a non-FOCUS source: everything [`parse_datetime`] takes, a bare ISO date, and the
/// US spellings `m/d/yyyy` and `m/d/yy` (years 00–69 are 20xx, 70–99 are 19xx), optionally followed by a time.
pub fn parse_loose_datetime(v: &str) -> Option<Timestamp> {
    let v = v.trim();
    if let Some(t) = parse_datetime(v) {
        return Some(t);
    }
    let utc = |d: jiff::civil::Date| d.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp());
    if let Ok(d) = v.parse::<jiff::civil::Date>() {
        return utc(d);
    }
    let (date_part, time_part) = match v.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (v, None),
    };
    let mut parts = date_part.split('/');
    let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let m: i8 = m.parse().ok()?;
    let d: i8 = d.parse().ok()?;
    let y: i16 = match y.len() {
        4 => y.parse().ok()?,
        2 => {
            let yy: i16 = y.parse().ok()?;
            if yy < 70 { 2000 + yy } else { 1900 + yy }
        }
        _ => return None,
    };
    let date = jiff::civil::Date::new(y, m, d).ok()?;
    match time_part {
        None => utc(date),
        Some(t) => {
            let t = t.parse::<jiff::civil::Time>().ok()?;
            date.to_datetime(t).to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cost_file_row_after_blank_lines_is_numbered_by_its_line() {
        let (mut reader, _) = open_csv("Cost,Vendor\r\n\r\n\r\n1.00,A\r\n2.00\r\n".as_bytes()).unwrap();
        let mut rec = csv::StringRecord::new();
        assert_eq!(next_csv(&mut reader, &mut rec).unwrap().unwrap(), 4);
        let e = next_csv(&mut reader, &mut rec).unwrap().unwrap_err();
        assert_eq!((e.row, e.reason.as_str()), (5, "has 1 fields but the header has 2"));
        assert!(next_csv(&mut reader, &mut rec).is_none());
    }

    #[test]
    fn money_as_people_write_it() {
        let d = |s: &str| parse_money(s).map(|d| d.to_string());
        assert_eq!(d("$1,234.56").as_deref(), Some("1234.56"));
        assert_eq!(d("(1,234.50)").as_deref(), Some("-1234.50"));
        assert_eq!(d("-€ 12.00").as_deref(), Some("-12.00"));
        assert_eq!(d("12 EUR").as_deref(), Some("12"));
        assert_eq!(d("1.5E-7").as_deref(), Some("0.00000015"));
        assert_eq!(d("1,23.4"), None, "badly grouped thousands are refused, not guessed");
        assert_eq!(d("12,5"), None, "a decimal comma is not silently read as thousands");
        assert_eq!(d("abc"), None);
        assert_eq!(d("--5"), None);
        // Credit and debit markers; a first group of zero; letters that are no currency.
        assert_eq!(d("1,250.00 CR").as_deref(), Some("-1250.00"));
        assert_eq!(d("80.00DR").as_deref(), Some("80.00"));
        assert_eq!(d("(12.00) CR").as_deref(), Some("12.00"), "a credit in parentheses twice over");
        assert_eq!(d("0,125"), None, "no thousands group starts with a zero");
        for v in ["$12k", "1.2M", "DR 80.00", "12 dollars", "USD10x"] {
            assert_eq!(d(v), None, "{v}");
        }
        // The currency the text names, when it names one.
        let c = |s: &str| money_parts(s).map(|(d, c)| (d.to_string(), c));
        assert_eq!(c("€99.00"), Some(("99.00".into(), Some("EUR".into()))));
        assert_eq!(c("GBP 10"), Some(("10".into(), Some("GBP".into()))));
        assert_eq!(c("10 usd"), Some(("10".into(), Some("USD".into()))));
        assert_eq!(c("$5"), Some(("5".into(), None)), "$ names several currencies");
        assert_eq!(c("€5 EUR"), Some(("5".into(), Some("EUR".into()))));
        assert_eq!(c("€5 GBP"), None, "two currencies in one amount");
    }

    #[test]
    fn dates_in_non_focus_spellings() {
        let t = |s: &str| parse_loose_datetime(s).map(|t| t.to_string());
        assert_eq!(t("9/2/2023").as_deref(), Some("2023-09-02T00:00:00Z"));
        assert_eq!(t("9/2/23").as_deref(), Some("2023-09-02T00:00:00Z"));
        assert_eq!(t("12/31/99").as_deref(), Some("1999-12-31T00:00:00Z"));
        assert_eq!(t("2026-05-01").as_deref(), Some("2026-05-01T00:00:00Z"));
        assert_eq!(t("2026-05-01 13:00:00").as_deref(), Some("2026-05-01T13:00:00Z"));
        assert_eq!(t("2026-05-01T13:00:00+02:00").as_deref(), Some("2026-05-01T11:00:00Z"));
        assert_eq!(t("13/1/2026"), None, "month 13");
        assert_eq!(t("2/30/2026"), None);
        assert_eq!(t("yesterday"), None);
    }
}
