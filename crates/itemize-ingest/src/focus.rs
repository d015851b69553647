//! A streaming reader of FOCUS cost-and-usage files (CSV, FOCUS 1.0 to 1.3, the version told by the header).
//! Every cost is an exact decimal; the quirks real exports carry are absorbed: literal `NULL`, datetimes
//! without `T` or `Z`, casing drift (`Usage-based`), numbers in scientific notation, a byte-order mark, CRLF,
//! and brace-less tag lists. Anything else wrong with a row is a [`RowError`] naming row, column, value and why.

use crate::table::{CrlfToLf, RowError, csv_reason};
use itemize_core::Currency;
use jiff::Timestamp;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::io::Read;
use std::str::FromStr;

/// The FOCUS specification version a file follows, as far as its columns tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FocusVersion {
    V1_0,
    V1_1,
    V1_2,
    V1_3,
}

impl FocusVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            FocusVersion::V1_0 => "1.0",
            FocusVersion::V1_1 => "1.1",
            FocusVersion::V1_2 => "1.2",
            FocusVersion::V1_3 => "1.3",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChargeCategory {
    Usage,
    Purchase,
    Tax,
    Credit,
    Adjustment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChargeFrequency {
    OneTime,
    Recurring,
    UsageBased,
}

/// One normalized cost line.
#[derive(Debug, Clone, PartialEq)]
pub struct FocusRecord {
    /// The line of the file where the row starts (the header is line 1).
    pub line: u64,
    pub billing_account_id: String,
    pub billing_account_name: Option<String>,
    pub sub_account_id: Option<String>,
    pub sub_account_name: Option<String>,
    pub provider_name: Option<String>,
    pub publisher_name: Option<String>,
    pub invoice_issuer_name: Option<String>,
    pub invoice_id: Option<String>,
    pub billing_period_start: Timestamp,
    pub billing_period_end: Timestamp,
    pub charge_period_start: Timestamp,
    pub charge_period_end: Timestamp,
    pub charge_category: ChargeCategory,
    /// `Correction` when the line corrects an earlier period.
    pub charge_class: Option<String>,
    pub charge_frequency: Option<ChargeFrequency>,
    pub charge_description: Option<String>,
    pub billing_currency: Currency,
    pub billed_cost: Decimal,
    pub effective_cost: Decimal,
    pub list_cost: Decimal,
    /// Mandatory in FOCUS, yet missing on some lines of real exports (the FinOps Foundation's own 1.0 sample
    /// among them): unknown stays unknown rather than becoming zero.
    pub contracted_cost: Option<Decimal>,
    pub service_name: Option<String>,
    pub service_category: Option<String>,
    pub region_id: Option<String>,
    pub resource_id: Option<String>,
    pub resource_name: Option<String>,
    pub sku_id: Option<String>,
    pub commitment_discount_id: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Every other non-null column, by its header name (provider `x_` columns among them).
    pub other: BTreeMap<String, String>,
}

/// Columns without which a file is not a FOCUS cost-and-usage file.
const REQUIRED: &[&str] = &[
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingCurrency",
    "BillingAccountId",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
];

/// Columns read into typed fields; the rest go to `other`.
const TYPED: &[&str] = &[
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingCurrency",
    "BillingAccountId",
    "BillingAccountName",
    "SubAccountId",
    "SubAccountName",
    "ProviderName",
    "PublisherName",
    "InvoiceIssuerName",
    "InvoiceId",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeFrequency",
    "ChargeDescription",
    "ServiceName",
    "ServiceCategory",
    "RegionId",
    "ResourceId",
    "ResourceName",
    "SkuId",
    "CommitmentDiscountId",
    "Tags",
];

/// Reads one FOCUS file row by row.
#[derive(Debug)]
pub struct FocusReader<R: Read> {
    reader: csv::Reader<CrlfToLf<R>>,
    headers: Vec<String>,
    index: BTreeMap<&'static str, usize>,
    version: FocusVersion,
}

impl<R: Read> FocusReader<R> {
    /// Reads the header and tells the version; a file that is not FOCUS is refused with the columns it lacks.
    pub fn open(input: R) -> Result<Self, RowError> {
        let mut reader =
            csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(CrlfToLf::new(input));
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| RowError::new(1, None, None, csv_reason(&e)))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let missing: Vec<&str> =
            REQUIRED.iter().copied().filter(|c| !headers.iter().any(|h| h == c)).collect();
        if !missing.is_empty() {
            return Err(RowError::new(
                1,
                None,
                None,
                format!("not a FOCUS cost-and-usage file: the header lacks {}", missing.join(", ")),
            ));
        }
        let has = |c: &str| headers.iter().any(|h| h == c);
        let version = if has("ServiceProviderName") || has("HostProviderName") || has("AllocatedMethodId") {
            FocusVersion::V1_3
        } else if has("InvoiceId") || has("PricingCurrency") {
            FocusVersion::V1_2
        } else if has("ServiceSubcategory") || has("SkuPriceDetails") || has("CommitmentDiscountQuantity") {
            FocusVersion::V1_1
        } else {
            FocusVersion::V1_0
        };
        let index =
            TYPED.iter().filter_map(|c| headers.iter().position(|h| h == c).map(|i| (*c, i))).collect();
        Ok(Self { reader, headers, index, version })
    }

    pub fn version(&self) -> FocusVersion {
        self.version
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The records, in file order.
    pub fn records(&mut self) -> impl Iterator<Item = Result<FocusRecord, RowError>> + '_ {
        let headers = self.headers.clone();
        let index = self.index.clone();
        self.reader.records().map(move |rec| {
            let rec = rec.map_err(|e| {
                RowError::new(e.position().map(|p| p.line()).unwrap_or(0), None, None, csv_reason(&e))
            })?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            Row { line, rec: &rec, headers: &headers, index: &index }.parse()
        })
    }
}

struct Row<'a> {
    line: u64,
    rec: &'a csv::StringRecord,
    headers: &'a [String],
    index: &'a BTreeMap<&'static str, usize>,
}

/// A cell's text, with FOCUS's spellings of "no value" taken as none.
fn present(v: &str) -> Option<&str> {
    let v = v.trim();
    if v.is_empty() || v == "NULL" { None } else { Some(v) }
}

impl Row<'_> {
    fn raw(&self, col: &str) -> Option<&str> {
        self.index.get(col).and_then(|&i| self.rec.get(i)).and_then(present)
    }

    fn err(&self, col: &str, value: Option<&str>, reason: impl Into<String>) -> RowError {
        RowError::new(self.line, Some(col), value, reason)
    }

    fn text(&self, col: &str) -> Option<String> {
        self.raw(col).map(str::to_string)
    }

    fn required(&self, col: &str) -> Result<&str, RowError> {
        self.raw(col).ok_or_else(|| self.err(col, Some(""), "is required"))
    }

    fn decimal(&self, col: &str) -> Result<Decimal, RowError> {
        let v = self.required(col)?;
        parse_decimal(v).ok_or_else(|| self.err(col, Some(v), "is not a decimal number"))
    }

    fn time(&self, col: &str) -> Result<Timestamp, RowError> {
        let v = self.required(col)?;
        parse_datetime(v).ok_or_else(|| {
            self.err(col, Some(v), "is not a date-time (expected ISO 8601, such as 2026-05-01T00:00:00Z)")
        })
    }

    fn parse(&self) -> Result<FocusRecord, RowError> {
        let currency_text = self.required("BillingCurrency")?;
        let billing_currency = Currency::from_str(currency_text)
            .map_err(|e| self.err("BillingCurrency", Some(currency_text), e.to_string()))?;
        let category_text = self.required("ChargeCategory")?;
        let charge_category = match category_text.to_ascii_lowercase().as_str() {
            "usage" => ChargeCategory::Usage,
            "purchase" => ChargeCategory::Purchase,
            "tax" => ChargeCategory::Tax,
            "credit" => ChargeCategory::Credit,
            "adjustment" => ChargeCategory::Adjustment,
            _ => {
                return Err(self.err(
                    "ChargeCategory",
                    Some(category_text),
                    "is not one of Usage, Purchase, Tax, Credit, Adjustment",
                ));
            }
        };
        let charge_frequency = match self.raw("ChargeFrequency") {
            None => None,
            Some(v) => Some(match v.to_ascii_lowercase().replace(['-', ' ', '_'], "").as_str() {
                "onetime" => ChargeFrequency::OneTime,
                "recurring" => ChargeFrequency::Recurring,
                "usagebased" => ChargeFrequency::UsageBased,
                _ => {
                    return Err(self.err(
                        "ChargeFrequency",
                        Some(v),
                        "is not one of One-Time, Recurring, Usage-Based",
                    ));
                }
            }),
        };
        let tags = match self.raw("Tags") {
            None => BTreeMap::new(),
            Some(v) => {
                parse_tags(v).ok_or_else(|| self.err("Tags", Some(v), "is not a JSON object of tags"))?
            }
        };
        let mut other = BTreeMap::new();
        for (i, h) in self.headers.iter().enumerate() {
            if !TYPED.contains(&h.as_str())
                && let Some(v) = self.rec.get(i).and_then(present)
            {
                other.insert(h.clone(), v.to_string());
            }
        }
        Ok(FocusRecord {
            line: self.line,
            billing_account_id: self.required("BillingAccountId")?.to_string(),
            billing_account_name: self.text("BillingAccountName"),
            sub_account_id: self.text("SubAccountId"),
            sub_account_name: self.text("SubAccountName"),
            provider_name: self.text("ProviderName"),
            publisher_name: self.text("PublisherName"),
            invoice_issuer_name: self.text("InvoiceIssuerName"),
            invoice_id: self.text("InvoiceId"),
            billing_period_start: self.time("BillingPeriodStart")?,
            billing_period_end: self.time("BillingPeriodEnd")?,
            charge_period_start: self.time("ChargePeriodStart")?,
            charge_period_end: self.time("ChargePeriodEnd")?,
            charge_category,
            charge_class: self.text("ChargeClass"),
            charge_frequency,
            charge_description: self.text("ChargeDescription"),
            billing_currency,
            billed_cost: self.decimal("BilledCost")?,
            effective_cost: self.decimal("EffectiveCost")?,
            list_cost: self.decimal("ListCost")?,
            contracted_cost: match self.raw("ContractedCost") {
                None => None,
                Some(v) => Some(
                    parse_decimal(v)
                        .ok_or_else(|| self.err("ContractedCost", Some(v), "is not a decimal number"))?,
                ),
            },
            service_name: self.text("ServiceName"),
            service_category: self.text("ServiceCategory"),
            region_id: self.text("RegionId"),
            resource_id: self.text("ResourceId"),
            resource_name: self.text("ResourceName"),
            sku_id: self.text("SkuId"),
            commitment_discount_id: self.text("CommitmentDiscountId"),
            tags,
            other,
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

/// A FOCUS date-time: RFC 3339, or the same without `T` or without a zone (taken as UTC, as FOCUS requires).
pub fn parse_datetime(v: &str) -> Option<Timestamp> {
    let v = v.trim();
    if let Ok(t) = v.parse::<Timestamp>() {
        return Some(t);
    }
    let civil = v.trim_end_matches('Z').replacen(' ', "T", 1);
    civil
        .parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
}

/// Tags as a JSON object, or the brace-less `"a": "b","c": "d"` some exports write. Non-text values keep
/// their JSON text.
pub fn parse_tags(v: &str) -> Option<BTreeMap<String, String>> {
    let t = v.trim();
    let wrapped;
    let json = if t.starts_with('{') {
        t
    } else {
        wrapped = format!("{{{t}}}");
        &wrapped
    };
    let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).ok()?;
    Some(
        obj.into_iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(rel: &str) -> PathBuf {
        // The shared fixtures sit beside the project's checkout.
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures").join(rel);
        assert!(
            p.exists(),
            "fixture {} is missing: the shared fixtures must sit beside the checkout",
            p.display()
        );
        p
    }

    /// BilledCost and EffectiveCost summed per currency by a second, simpler path: the csv crate and the
    /// decimal parser, nothing of the reader.
    fn independent_totals(path: &PathBuf) -> BTreeMap<String, (Decimal, Decimal)> {
        let mut r = csv::Reader::from_path(path).unwrap();
        let h: Vec<String> =
            r.headers().unwrap().iter().map(|s| s.trim_start_matches('\u{feff}').to_string()).collect();
        let col = |n: &str| h.iter().position(|x| x == n).unwrap();
        let (b, e, c) = (col("BilledCost"), col("EffectiveCost"), col("BillingCurrency"));
        let mut out: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
        for rec in r.records() {
            let rec = rec.unwrap();
            let t = out.entry(rec[c].to_string()).or_default();
            t.0 += parse_decimal(&rec[b]).unwrap();
            t.1 += parse_decimal(&rec[e]).unwrap();
        }
        out
    }

    #[test]
    fn reads_every_fixture_exactly() {
        for (rel, version) in [
            ("focus-1.0/focus_sample.csv", FocusVersion::V1_0),
            ("focus-1.3/aws/focus_1_3_cost_and_usage_aws.csv", FocusVersion::V1_3),
            ("focus-1.3/azure/focus_1_3_cost_and_usage_azure.csv", FocusVersion::V1_3),
            ("focus-1.3/gcp/focus_1_3_cost_and_usage_gcp.csv", FocusVersion::V1_3),
        ] {
            let path = fixture(rel);
            let mut reader = FocusReader::open(std::fs::File::open(&path).unwrap()).unwrap();
            assert_eq!(reader.version(), version, "{rel}");
            let records: Vec<FocusRecord> =
                reader.records().collect::<Result<_, _>>().unwrap_or_else(|e| panic!("{rel}: {e}"));
            assert_eq!(records.len(), 1000, "{rel}");
            let mut totals: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
            for r in &records {
                let t = totals.entry(r.billing_currency.code().to_string()).or_default();
                t.0 += r.billed_cost;
                t.1 += r.effective_cost;
            }
            assert_eq!(totals, independent_totals(&path), "{rel}: totals to the last digit");
        }
    }

    #[test]
    fn absorbs_the_quirks_of_real_exports() {
        let path = fixture("focus-1.0/focus_sample.csv");
        let mut reader = FocusReader::open(std::fs::File::open(&path).unwrap()).unwrap();
        let records: Vec<FocusRecord> = reader.records().map(Result::unwrap).collect();
        let first = &records[0];
        assert_eq!(first.line, 2);
        assert_eq!(
            first.charge_period_start,
            "2024-09-18T22:00:00Z".parse::<Timestamp>().unwrap(),
            "no T, no Z: UTC"
        );
        assert_eq!(first.billed_cost.to_string(), "0.00000080000", "every digit kept");
        assert_eq!(
            (first.charge_class.as_ref(), first.resource_name.as_ref()),
            (None, None),
            "literal NULL is no value"
        );
        assert!(records.iter().all(|r| r.charge_frequency.is_some()));
        let drifted =
            records.iter().filter(|r| r.charge_frequency == Some(ChargeFrequency::UsageBased)).count();
        assert!(drifted > 0, "Usage-based and Usage-Based both read as usage-based");
        assert_eq!(records[1].tags.get("environment").map(String::as_str), Some("dev"));
        assert_eq!(first.other.get("Id").map(String::as_str), Some("11472"), "unknown columns are kept");
        assert_eq!(parse_tags(r#""tagA": "valueA","tagB": "valueB""#).unwrap().len(), 2, "brace-less tags");
        assert_eq!(parse_decimal("1.5E-7").unwrap().to_string(), "0.00000015");
        assert_eq!(
            records.iter().filter(|r| r.contracted_cost.is_none()).count(),
            7,
            "NULL ContractedCost kept as unknown"
        );
        assert_eq!(records[925].line, 927);
        assert_eq!(records[925].contracted_cost, None);
    }

    #[test]
    fn bad_rows_are_named_and_non_focus_files_refused() {
        let e = FocusReader::open("a,b\n1,2\n".as_bytes()).unwrap_err();
        assert!(
            e.reason.starts_with("not a FOCUS cost-and-usage file: the header lacks BilledCost"),
            "{}",
            e.reason
        );
        let header = REQUIRED.join(",");
        let good =
            "1.5,1.5,1.5,1.5,USD,A1,2026-05-01,2026-06-01,2026-05-01 00:00:00,2026-05-02T00:00:00Z,Usage";
        let data = format!(
            "{header}\r\n{good}\r\n1.5,oops,1.5,1.5,USD,A1,2026-05-01,2026-06-01,2026-05-01,2026-05-02,Usage\r\n\
             1.5,1.5,1.5,1.5,XXX,A1,2026-05-01,2026-06-01,2026-05-01,2026-05-02,Usage\r\n\
             1.5,1.5,1.5,1.5,USD,A1,2026-05-01,2026-06-01,yesterday,2026-05-02,Usage\r\n\
             1.5,1.5,1.5,1.5,USD,A1,2026-05-01,2026-06-01,2026-05-01,2026-05-02,Refund\r\n"
        );
        let mut reader = FocusReader::open(data.as_bytes()).unwrap();
        let rows: Vec<_> = reader.records().collect();
        assert!(rows[0].is_ok());
        let errs: Vec<(u64, String, String)> = rows[1..]
            .iter()
            .map(|r| {
                let e = r.as_ref().unwrap_err();
                (e.row, e.column.clone().unwrap_or_default(), e.value.clone().unwrap_or_default())
            })
            .collect();
        assert_eq!(
            errs,
            vec![
                (3, "EffectiveCost".into(), "oops".into()),
                (4, "BillingCurrency".into(), "XXX".into()),
                (5, "ChargePeriodStart".into(), "yesterday".into()),
                (6, "ChargeCategory".into(), "Refund".into()),
            ]
        );
    }
}
