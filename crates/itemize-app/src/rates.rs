//! Exchange rates: imported from CSV (date, from, to, rate; or the ECB's reference-rate files), kept exact, and
//! looked up for a date. A missing rate is an error naming the currencies and the date, never a silent 1.0.

use itemize_core::Currency;
use itemize_ingest::RowError;
use itemize_ingest::cells::{Header, next_csv, parse_decimal, present};
use itemize_store::RateRow;
use jiff::civil::Date;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

/// How far back a rate is used when its day has none (weekends and bank holidays have no ECB fixing).
pub const RATE_LOOKBACK_DAYS: i64 = 7;

/// Every known rate, by currency pair and day.
#[derive(Debug, Clone, Default)]
pub struct RateTable {
    pairs: HashMap<(Currency, Currency), BTreeMap<Date, Decimal>>,
}

impl RateTable {
    pub fn from_rows(rows: &[RateRow]) -> Self {
        let mut t = RateTable::default();
        for r in rows {
            if let (Ok(from), Ok(to), Ok(date), Some(rate)) = (
                Currency::from_str(&r.from),
                Currency::from_str(&r.to),
                r.date.parse::<Date>(),
                parse_decimal(&r.rate),
            ) {
                t.insert(from, to, date, rate);
            }
        }
        t
    }

    pub fn insert(&mut self, from: Currency, to: Currency, date: Date, rate: Decimal) {
        self.pairs.entry((from, to)).or_default().insert(date, rate);
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The newest day on or before `date` that has any rate: where an estimate "at today's rates" looks when
    /// the rates have not been imported up to today (it says which day it used).
    pub fn latest_day(&self, date: Date) -> Option<Date> {
        self.pairs.values().filter_map(|series| series.range(..=date).next_back().map(|(d, _)| *d)).max()
    }

    /// The newest rate of one stored pair on or before `date`, within the look-back window.
    fn direct(&self, from: Currency, to: Currency, date: Date) -> Option<(Decimal, Date)> {
        let series = self.pairs.get(&(from, to))?;
        let (d, r) = series.range(..=date).next_back()?;
        (date.since(*d).ok()?.get_days() as i64 <= RATE_LOOKBACK_DAYS).then_some((*r, *d))
    }

    /// A stored pair either way round.
    fn either_way(&self, from: Currency, to: Currency, date: Date) -> Option<(Decimal, Date)> {
        if let Some(x) = self.direct(from, to, date) {
            return Some(x);
        }
        let (r, d) = self.direct(to, from, date)?;
        if r.is_zero() { None } else { Some((Decimal::ONE / r, d)) }
    }

    /// Units of `to` per unit of `from` on `date`: the pair itself, its inverse, or a cross rate through a
    /// common currency (the ECB publishes everything against EUR). The date returned is that of the rate used
    /// (the older of the two legs for a cross rate).
    pub fn rate(&self, from: Currency, to: Currency, date: Date) -> Result<(Decimal, Date), String> {
        if from == to {
            return Ok((Decimal::ONE, date));
        }
        if let Some(x) = self.either_way(from, to, date) {
            return Ok(x);
        }
        let mut bases: Vec<Currency> =
            self.pairs.keys().flat_map(|(a, b)| [*a, *b]).filter(|c| *c != from && *c != to).collect();
        bases.sort_by(|a, b| a.code().cmp(b.code()));
        bases.dedup();
        for base in bases {
            if let (Some((r1, d1)), Some((r2, d2))) =
                (self.either_way(from, base, date), self.either_way(base, to, date))
            {
                return Ok((r1 * r2, d1.min(d2)));
            }
        }
        Err(format!(
            "no exchange rate from {from} to {to} on or within {RATE_LOOKBACK_DAYS} days before {date}; \
             import rates first (the rates upload, POST /api/v1/cost/rates, or itemize import rates FILE)"
        ))
    }
}

impl crate::App {
    /// Every rate imported.
    pub(crate) async fn rate_table(&self) -> Result<RateTable, crate::AppError> {
        Ok(RateTable::from_rows(&self.store().session().await?.rates().await?))
    }
}

/// A rate as shown to people: to six places (a cross rate has 28); sums use it whole.
pub fn rate_text(rate: &str) -> String {
    rate.parse::<Decimal>().map_or_else(|_| rate.to_string(), |r| r.round_dp(6).normalize().to_string())
}

/// Rates read from a file.
#[derive(Debug, Clone, Default)]
pub struct ParsedRates {
    pub rows: Vec<RateRow>,
    /// `itemize` (date, from, to, rate) or `ecb`.
    pub layout: &'static str,
}

/// Reads a rates CSV: either `date,from,to,rate` (any column order, case-insensitive; `base`/`quote` also
/// accepted) or the ECB's reference-rate layout (`Date, USD, JPY, ...`, rates per euro, daily or historical,
/// `N/A` where a currency had no fixing). All rows or none: the first problems are returned with row, column,
/// value and why.
pub fn parse_rates(text: &str) -> Result<ParsedRates, Vec<RowError>> {
    // Through the readers' line-end filter, so a row is numbered by its line (CRLF, blank lines) as theirs are.
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(itemize_ingest::table::CrlfToLf::new(text.as_bytes()));
    let header = match reader.headers() {
        Ok(h) => Header::new(h.iter()),
        Err(e) => return Err(vec![RowError::new(1, None, None, e.to_string())]),
    };
    let lower: Vec<String> = header.names().iter().map(|h| h.to_ascii_lowercase()).collect();
    let pos = |names: &[&str]| lower.iter().position(|h| names.contains(&h.as_str()));
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    if let (Some(d), Some(f), Some(t), Some(r)) = (
        pos(&["date"]),
        pos(&["from", "base", "from_currency"]),
        pos(&["to", "quote", "to_currency"]),
        pos(&["rate"]),
    ) {
        let mut rec = csv::StringRecord::new();
        while let Some(next) = next_csv(&mut reader, &mut rec) {
            let line = match next {
                Ok(line) => line,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let cell = |i: usize| rec.get(i).unwrap_or("");
            match check_rate(line, &header, d, cell(d), (f, cell(f)), (t, cell(t)), r, cell(r)) {
                Ok(row) => rows.push(row),
                Err(e) => errors.push(e),
            }
        }
        return finish(rows, errors, "itemize");
    }
    if lower.first().map(String::as_str) == Some("date") && header.names().len() > 1 {
        let currencies: Vec<(usize, &str)> = header
            .names()
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, h)| !h.is_empty())
            .map(|(i, h)| (i, h.as_str()))
            .collect();
        let mut rec = csv::StringRecord::new();
        while let Some(next) = next_csv(&mut reader, &mut rec) {
            let line = match next {
                Ok(line) => line,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let date_text = rec.get(0).unwrap_or("");
            for &(i, code) in &currencies {
                let v = rec.get(i).unwrap_or("");
                if present(v).is_none() || v.eq_ignore_ascii_case("N/A") {
                    continue;
                }
                match check_rate(line, &header, 0, date_text, (usize::MAX, "EUR"), (i, code), i, v) {
                    Ok(row) => rows.push(row),
                    Err(e) => errors.push(e),
                }
            }
        }
        return finish(rows, errors, "ecb");
    }
    Err(vec![RowError::new(
        1,
        None,
        None,
        "not a rates file: expected the columns date, from, to, rate, or the ECB layout (Date, USD, JPY, ...)",
    )])
}

fn finish(
    rows: Vec<RateRow>,
    errors: Vec<RowError>,
    layout: &'static str,
) -> Result<ParsedRates, Vec<RowError>> {
    if !errors.is_empty() {
        return Err(errors);
    }
    if rows.is_empty() {
        return Err(vec![RowError::new(1, None, None, "the file holds no rates")]);
    }
    Ok(ParsedRates { rows, layout })
}

/// A date as rates files write it: ISO (`2026-11-20`) or the ECB daily file's `20 November 2026`.
fn parse_rate_date(v: &str) -> Option<Date> {
    let v = v.trim();
    if let Ok(d) = v.parse::<Date>() {
        return Some(d);
    }
    jiff::fmt::strtime::parse("%d %B %Y", v).ok().and_then(|t| t.to_date().ok())
}

#[allow(clippy::too_many_arguments)]
fn check_rate(
    line: u64,
    header: &Header,
    date_col: usize,
    date: &str,
    from: (usize, &str),
    to: (usize, &str),
    rate_col: usize,
    rate: &str,
) -> Result<RateRow, RowError> {
    let name = |i: usize| header.names().get(i).map(String::as_str);
    let d = parse_rate_date(date).ok_or_else(|| {
        RowError::new(
            line,
            name(date_col),
            Some(date),
            "is not a date (expected 2026-11-20 or 20 November 2026)",
        )
    })?;
    let cur = |(i, v): (usize, &str)| {
        Currency::from_str(v.trim())
            .map_err(|e| RowError::new(line, name(i).or(Some("currency")), Some(v), e.to_string()))
    };
    let (f, t) = (cur(from)?, cur(to)?);
    if f == t {
        // A currency against itself is 1 by definition; a row saying so (or saying otherwise) is a mistake.
        return Err(RowError::new(
            line,
            name(to.0).or(Some("to")),
            Some(to.1),
            format!("is the same currency as from ({}): a rate converts one currency into another", f.code()),
        ));
    }
    let r = parse_decimal(rate)
        .filter(|r| r.is_sign_positive() && !r.is_zero())
        .ok_or_else(|| RowError::new(line, name(rate_col), Some(rate), "is not a positive decimal rate"))?;
    Ok(RateRow {
        date: d.to_string(),
        from: f.code().to_string(),
        to: t.code().to_string(),
        rate: r.normalize().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn ecb_layouts_and_cross_rates() {
        let daily = "Date, USD, JPY, GBP, \n20 November 2026, 1.0512, 162.11, N/A, \n";
        let p = parse_rates(daily).unwrap();
        assert_eq!(p.layout, "ecb");
        assert_eq!(p.rows.len(), 2, "N/A and the trailing empty column are skipped");
        let hist = "Date,USD,GBP\n2026-11-20,1.0500,0.8400\n2026-11-17,1.0400,0.8300\n";
        let t = RateTable::from_rows(&parse_rates(hist).unwrap().rows);
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(
            t.rate(Currency::EUR, Currency::USD, d("2026-11-20")).unwrap(),
            (dec("1.05"), d("2026-11-20"))
        );
        // Sunday: Friday's fixing.
        assert_eq!(t.rate(Currency::EUR, Currency::USD, d("2026-11-22")).unwrap().1, d("2026-11-20"));
        // Inverse and cross rates.
        let (usd_eur, _) = t.rate(Currency::USD, Currency::EUR, d("2026-11-20")).unwrap();
        assert!(
            (usd_eur - dec("0.952380952380952380952380952")).abs() < dec("0.000000000000000000000000001")
        );
        let (usd_gbp, _) = t.rate(Currency::USD, Currency::GBP, d("2026-11-20")).unwrap();
        assert_eq!(usd_gbp.round_dp(10), dec("0.8000000000"));
        // Too old and unknown: errors that name the pair and the date.
        let e = t.rate(Currency::EUR, Currency::USD, d("2026-12-05")).unwrap_err();
        assert!(e.contains("EUR to USD") && e.contains("2026-12-05"), "{e}");
        assert!(
            t.rate(Currency::EUR, Currency::USD, d("2026-11-16")).is_err(),
            "no rate before the first fixing"
        );
        let cad: Currency = "CAD".parse().unwrap();
        assert!(t.rate(cad, Currency::USD, d("2026-11-20")).is_err());
    }

    #[test]
    fn plain_layout_and_its_errors() {
        let ok = "date,from,to,rate\n2026-05-01,CAD,USD,0.7312\n";
        let p = parse_rates(ok).unwrap();
        assert_eq!((p.layout, p.rows[0].rate.as_str()), ("itemize", "0.7312"));
        let bad =
            "Date,From,To,Rate\n2026-13-01,CAD,USD,0.7\n2026-05-01,XXX,USD,0.7\n2026-05-01,CAD,USD,-1\n";
        let errs = parse_rates(bad).unwrap_err();
        let got: Vec<(u64, Option<String>, Option<String>)> =
            errs.iter().map(|e| (e.row, e.column.clone(), e.value.clone())).collect();
        assert_eq!(
            got,
            vec![
                (2, Some("Date".into()), Some("2026-13-01".into())),
                (3, Some("From".into()), Some("XXX".into())),
                (4, Some("Rate".into()), Some("-1".into())),
            ]
        );
        assert!(parse_rates("a,b\n1,2\n").is_err());
        // A currency against itself is no rate.
        let errs = parse_rates("date,from,to,rate\n2026-05-01,EUR,eur,1\n").unwrap_err();
        assert_eq!(
            (errs[0].row, errs[0].column.as_deref(), errs[0].value.as_deref()),
            (2, Some("to"), Some("eur"))
        );
        assert!(errs[0].reason.contains("same currency"), "{:?}", errs[0]);
        // A row after blank lines, in a CRLF file, is named by its own line.
        let errs =
            parse_rates("date,from,to,rate\r\n2026-05-01,CAD,USD,0.7\r\n\r\n\r\n2026-05-02,CAD,USD,x\r\n")
                .unwrap_err();
        assert_eq!((errs.len(), errs[0].row, errs[0].column.as_deref()), (1, 5, Some("rate")));
    }
}
