//! A streaming reader of FOCUS cost-and-usage files (CSV, FOCUS 1.0 to 1.3, the version told by the header).
//! Every cost is an exact decimal; the quirks real exports carry are absorbed: literal `NULL`, datetimes
//! without `T` or `Z`, casing drift (`Usage-based`), numbers in scientific notation, a byte-order mark, CRLF,
//! and brace-less tag lists. Anything else wrong with a row is a [`RowError`] naming row, column, value and why.

use crate::cells::{Cells, Header, next_csv, open_csv, present};
pub use crate::cells::{parse_datetime, parse_decimal};
use crate::record::{ChargeCategory, ChargeFrequency, ContractCommitment, FocusRecord};
use crate::table::{CrlfToLf, RowError};
use itemize_core::Currency;
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
    "PricingQuantity",
    "PricingUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "PricingCategory",
    "ListUnitPrice",
    "ContractedUnitPrice",
    "ServiceName",
    "ServiceCategory",
    "RegionId",
    "ResourceId",
    "ResourceName",
    "SkuId",
    "CommitmentDiscountId",
    "Tags",
];

/// The FOCUS version a header follows, or why it is not a FOCUS cost-and-usage header.
pub fn detect(header: &Header) -> Result<FocusVersion, String> {
    let missing = header.missing(REQUIRED);
    if !missing.is_empty() {
        return Err(format!("the header lacks {}", missing.join(", ")));
    }
    let has = |c: &str| header.has(c);
    Ok(if has("ServiceProviderName") || has("HostProviderName") || has("AllocatedMethodId") {
        FocusVersion::V1_3
    } else if has("InvoiceId") || has("PricingCurrency") {
        FocusVersion::V1_2
    } else if has("ServiceSubcategory") || has("SkuPriceDetails") || has("CommitmentDiscountQuantity") {
        FocusVersion::V1_1
    } else {
        FocusVersion::V1_0
    })
}

/// For each column of the header, whether it is kept in `other` (not read into a typed field).
pub fn extra_columns(header: &Header) -> Vec<bool> {
    header.names().iter().map(|h| !TYPED.contains(&h.as_str())).collect()
}

/// Reads one FOCUS file row by row; an iterator of records in file order.
#[derive(Debug)]
pub struct FocusReader<R: Read> {
    reader: csv::Reader<CrlfToLf<R>>,
    header: Header,
    /// For each column, whether it goes to `other`.
    extra: Vec<bool>,
    version: FocusVersion,
    rec: csv::StringRecord,
}

impl<R: Read> FocusReader<R> {
    /// Reads the header and tells the version; a file that is not FOCUS is refused with the columns it lacks.
    pub fn open(input: R) -> Result<Self, RowError> {
        let (reader, header) = open_csv(input)?;
        let version = detect(&header)
            .map_err(|why| RowError::new(1, None, None, format!("not a FOCUS cost-and-usage file: {why}")))?;
        let extra = extra_columns(&header);
        Ok(Self { reader, header, extra, version, rec: csv::StringRecord::new() })
    }

    pub fn version(&self) -> FocusVersion {
        self.version
    }

    pub fn headers(&self) -> &[String] {
        self.header.names()
    }

    /// The records, in file order.
    pub fn records(&mut self) -> &mut Self {
        self
    }
}

impl<R: Read> Iterator for FocusReader<R> {
    type Item = Result<FocusRecord, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = match next_csv(&mut self.reader, &mut self.rec)? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        Some(parse_row(Cells::new(line, &self.rec, &self.header), &self.extra))
    }
}

/// One FOCUS row as a record; `extra` says which columns are kept in `other`.
pub fn parse_row(c: Cells<'_>, extra: &[bool]) -> Result<FocusRecord, RowError> {
    let currency_text = c.required("BillingCurrency")?;
    let billing_currency = Currency::from_str(currency_text)
        .map_err(|e| c.err("BillingCurrency", Some(currency_text), e.to_string()))?;
    let category_text = c.required("ChargeCategory")?;
    let charge_category = ChargeCategory::parse(category_text).ok_or_else(|| {
        c.err("ChargeCategory", Some(category_text), "is not one of Usage, Purchase, Tax, Credit, Adjustment")
    })?;
    let charge_frequency = match c.raw("ChargeFrequency") {
        None => None,
        Some(v) => Some(ChargeFrequency::parse(v).ok_or_else(|| {
            c.err("ChargeFrequency", Some(v), "is not one of One-Time, Recurring, Usage-Based")
        })?),
    };
    let tags = match c.raw("Tags") {
        None => BTreeMap::new(),
        Some(v) => parse_tags(v).ok_or_else(|| c.err("Tags", Some(v), "is not a JSON object of tags"))?,
    };
    let mut other = BTreeMap::new();
    for (i, h) in c.header.names().iter().enumerate() {
        if extra.get(i).copied().unwrap_or(false)
            && let Some(v) = c.rec.get(i).and_then(present)
        {
            other.insert(h.clone(), v.to_string());
        }
    }
    Ok(FocusRecord {
        line: c.line,
        billing_account_id: c.required("BillingAccountId")?.to_string(),
        billing_account_name: c.text("BillingAccountName"),
        sub_account_id: c.text("SubAccountId"),
        sub_account_name: c.text("SubAccountName"),
        provider_name: c.text("ProviderName"),
        publisher_name: c.text("PublisherName"),
        invoice_issuer_name: c.text("InvoiceIssuerName"),
        invoice_id: c.text("InvoiceId"),
        billing_period_start: c.time("BillingPeriodStart")?,
        billing_period_end: c.time("BillingPeriodEnd")?,
        charge_period_start: c.time("ChargePeriodStart")?,
        charge_period_end: c.time("ChargePeriodEnd")?,
        charge_category,
        charge_class: c.text("ChargeClass"),
        charge_frequency,
        charge_description: c.text("ChargeDescription"),
        billing_currency,
        billed_cost: c.decimal("BilledCost")?,
        effective_cost: c.decimal("EffectiveCost")?,
        list_cost: c.decimal("ListCost")?,
        contracted_cost: c.opt_decimal("ContractedCost")?,
        pricing_quantity: c.opt_decimal("PricingQuantity")?,
        pricing_unit: c.text("PricingUnit"),
        consumed_quantity: c.opt_decimal("ConsumedQuantity")?,
        consumed_unit: c.text("ConsumedUnit"),
        pricing_category: c.text("PricingCategory"),
        list_unit_price: c.opt_decimal("ListUnitPrice")?,
        contracted_unit_price: c.opt_decimal("ContractedUnitPrice")?,
        service_name: c.text("ServiceName"),
        service_category: c.text("ServiceCategory"),
        region_id: c.text("RegionId"),
        resource_id: c.text("ResourceId"),
        resource_name: c.text("ResourceName"),
        sku_id: c.text("SkuId"),
        commitment_discount_id: c.text("CommitmentDiscountId"),
        tags,
        other,
    })
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

/// The columns of the FOCUS 1.3 contract-commitment dataset without which a file is not one.
const CONTRACT_REQUIRED: &[&str] = &[
    "ContractCommitmentId",
    "ContractCommitmentPeriodStart",
    "ContractCommitmentPeriodEnd",
    "BillingCurrency",
];

/// Why a header is not the FOCUS 1.3 contract-commitment dataset, if it is not.
pub fn detect_contract(header: &Header) -> Result<(), String> {
    let missing = header.missing(CONTRACT_REQUIRED);
    if missing.is_empty() { Ok(()) } else { Err(format!("the header lacks {}", missing.join(", "))) }
}

/// Reads the FOCUS 1.3 contract-commitment dataset.
#[derive(Debug)]
pub struct ContractReader<R: Read> {
    reader: csv::Reader<CrlfToLf<R>>,
    header: Header,
    rec: csv::StringRecord,
}

impl<R: Read> ContractReader<R> {
    pub fn open(input: R) -> Result<Self, RowError> {
        let (reader, header) = open_csv(input)?;
        detect_contract(&header).map_err(|why| {
            RowError::new(1, None, None, format!("not a FOCUS contract-commitment file: {why}"))
        })?;
        Ok(Self { reader, header, rec: csv::StringRecord::new() })
    }
}

impl<R: Read> Iterator for ContractReader<R> {
    type Item = Result<ContractCommitment, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = match next_csv(&mut self.reader, &mut self.rec)? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        let c = Cells::new(line, &self.rec, &self.header);
        let opt_time = |col: &str| c.raw(col).map(|_| c.time(col)).transpose();
        Some((|| {
            let currency_text = c.required("BillingCurrency")?;
            Ok(ContractCommitment {
                line,
                commitment_id: c.required("ContractCommitmentId")?.to_string(),
                commitment_type: c.text("ContractCommitmentType"),
                commitment_category: c.text("ContractCommitmentCategory"),
                cost: c.opt_decimal("ContractCommitmentCost")?,
                quantity: c.opt_decimal("ContractCommitmentQuantity")?,
                unit: c.text("ContractCommitmentUnit"),
                description: c.text("ContractCommitmentDescription"),
                period_start: c.time("ContractCommitmentPeriodStart")?,
                period_end: c.time("ContractCommitmentPeriodEnd")?,
                contract_id: c.text("ContractId"),
                contract_period_start: opt_time("ContractPeriodStart")?,
                contract_period_end: opt_time("ContractPeriodEnd")?,
                billing_currency: Currency::from_str(currency_text)
                    .map_err(|e| c.err("BillingCurrency", Some(currency_text), e.to_string()))?,
            })
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use rust_decimal::Decimal;
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
