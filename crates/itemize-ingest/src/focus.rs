//! A streaming reader of FOCUS cost-and-usage files (CSV, FOCUS 1.0 to 1.3, the version told by the header).
//! Every cost is an exact decimal; the quirks real exports carry are absorbed: literal `NULL`, datetimes
//! without `T` or `Z`, casing drift (`Usage-based`), numbers in scientific notation, a byte-order mark, CRLF,
//! and brace-less tag lists. Anything else wrong with a row is a [`RowError`] naming row, column, value and why.

use crate::cells::{Cells, Header, next_csv, open_csv, present};
pub use crate::cells::{parse_datetime, parse_decimal};
use crate::record::{ChargeCategory, ChargeFrequency, ContractCommitment, FocusRecord};
use crate::source::CostRows;
use crate::strmap::StrMap;
use crate::table::{CrlfToLf, RowError};
use itemize_core::Currency;
use jiff::Timestamp;
use rust_decimal::Decimal;
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

/// Declares the columns read into typed fields (the rest go to `other`): [`TYPED`], their names, and [`Col`],
/// each one's position in that list.
macro_rules! typed_columns {
    ($($name:ident),* $(,)?) => {
        const TYPED: &[&str] = &[$(stringify!($name)),*];

        #[derive(Debug, Clone, Copy)]
        enum Col {
            $($name),*
        }
    };
}

typed_columns!(
    BilledCost,
    EffectiveCost,
    ListCost,
    ContractedCost,
    BillingCurrency,
    BillingAccountId,
    BillingAccountName,
    SubAccountId,
    SubAccountName,
    ProviderName,
    PublisherName,
    InvoiceIssuerName,
    InvoiceId,
    BillingPeriodStart,
    BillingPeriodEnd,
    ChargePeriodStart,
    ChargePeriodEnd,
    ChargeCategory,
    ChargeClass,
    ChargeFrequency,
    ChargeDescription,
    PricingQuantity,
    PricingUnit,
    ConsumedQuantity,
    ConsumedUnit,
    PricingCategory,
    ListUnitPrice,
    ContractedUnitPrice,
    ServiceName,
    ServiceCategory,
    RegionId,
    ResourceId,
    ResourceName,
    SkuId,
    CommitmentDiscountId,
    Tags,
);

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

/// Where a file's columns are, looked up once per file rather than by name on every row.
#[derive(Debug, Clone)]
pub struct FocusLayout {
    /// The position of each of [`TYPED`]'s columns, none when the header lacks it.
    typed: [Option<usize>; TYPED.len()],
    /// The columns kept in `other`: position and name, in name order (the order `other` keeps), and whether the
    /// name sorts after the one before (false for the second of two columns of one name).
    extras: Vec<(usize, String, bool)>,
}

impl FocusLayout {
    pub fn new(header: &Header) -> Self {
        let mut typed = [None; TYPED.len()];
        for (k, name) in TYPED.iter().enumerate() {
            typed[k] = header.position(name);
        }
        let mut extras: Vec<(usize, String)> = header
            .names()
            .iter()
            .enumerate()
            .filter(|(_, h)| !TYPED.contains(&h.as_str()))
            .map(|(i, h)| (i, h.clone()))
            .collect();
        // Stable: of two columns of one name, the later is written last and wins, as in a map.
        extras.sort_by(|a, b| a.1.cmp(&b.1));
        let extras = extras
            .iter()
            .enumerate()
            .map(|(k, (i, name))| (*i, name.clone(), k == 0 || extras[k - 1].1 < *name))
            .collect();
        Self { typed, extras }
    }
}

/// What a reader remembers from row to row so that values repeated down a column (billing periods, charge
/// periods, the currency) are parsed once rather than on every row.
#[derive(Debug, Default)]
pub struct RowMemo {
    times: [(String, Option<Timestamp>); 4],
    currency: Option<(String, Currency)>,
}

impl RowMemo {
    fn time(&mut self, slot: usize, text: &str) -> Option<Timestamp> {
        let (last, t) = &mut self.times[slot];
        if last.as_str() != text || t.is_none() {
            // FOCUS date-times, or dates as hand-made files write them (`5/1/25`), taken as UTC midnight.
            *t = parse_datetime(text).or_else(|| crate::cells::parse_loose_datetime(text));
            last.clear();
            last.push_str(text);
        }
        *t
    }

    fn currency(&mut self, text: &str) -> Result<Currency, String> {
        match &self.currency {
            Some((last, c)) if last == text => Ok(*c),
            _ => {
                let c = Currency::from_str(text).map_err(|e| e.to_string())?;
                self.currency = Some((text.to_string(), c));
                Ok(c)
            }
        }
    }
}

/// Reads one FOCUS file row by row. It fills one record in place per row ([`CostRows`]); [`Self::records`]
/// gives each row as a record of its own.
#[derive(Debug)]
pub struct FocusReader<R: Read> {
    reader: csv::Reader<CrlfToLf<R>>,
    header: Header,
    layout: FocusLayout,
    memo: RowMemo,
    version: FocusVersion,
    rec: csv::StringRecord,
}

impl<R: Read> FocusReader<R> {
    /// Reads the header and tells the version; a file that is not FOCUS is refused with the columns it lacks.
    pub fn open(input: R) -> Result<Self, RowError> {
        let (reader, header) = open_csv(input)?;
        let version = detect(&header)
            .map_err(|why| RowError::new(1, None, None, format!("not a FOCUS cost-and-usage file: {why}")))?;
        let layout = FocusLayout::new(&header);
        Ok(Self { reader, header, layout, memo: RowMemo::default(), version, rec: csv::StringRecord::new() })
    }

    pub fn version(&self) -> FocusVersion {
        self.version
    }

    pub fn headers(&self) -> &[String] {
        self.header.names()
    }

    /// The records, in file order, each of its own.
    pub fn records(&mut self) -> impl Iterator<Item = Result<FocusRecord, RowError>> + '_ {
        std::iter::from_fn(move || {
            let mut r = FocusRecord::blank(0, Currency::USD);
            self.read_into(&mut r).map(|res| res.map(|()| r))
        })
    }

    /// Reads the next row into `out`; none at the end of the file.
    pub fn read_into(&mut self, out: &mut FocusRecord) -> Option<Result<(), RowError>> {
        let line = match next_csv(&mut self.reader, &mut self.rec)? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        Some(parse_into(Cells::new(line, &self.rec, &self.header), &self.layout, &mut self.memo, out))
    }
}

impl<R: Read + Send> CostRows for FocusReader<R> {
    fn next_into(&mut self, out: &mut FocusRecord) -> Option<Result<(), RowError>> {
        self.read_into(out)
    }
}

/// One row's cells, read through the positions its file's [`FocusLayout`] looked up.
struct Row<'a> {
    cells: Cells<'a>,
    layout: &'a FocusLayout,
}

impl<'a> Row<'a> {
    fn pos(&self, k: Col) -> Option<usize> {
        self.layout.typed[k as usize]
    }

    fn raw(&self, k: Col) -> Option<&'a str> {
        self.cells.raw_at(self.pos(k))
    }

    fn err(&self, k: Col, value: Option<&str>, reason: impl Into<String>) -> RowError {
        self.cells.err(TYPED[k as usize], value, reason)
    }

    fn required(&self, k: Col) -> Result<&'a str, RowError> {
        self.cells.required_at(self.pos(k), TYPED[k as usize])
    }

    /// A FOCUS number, or, as hand-made files (the specification's own SaaS examples among them) write money,
    /// with a currency sign, thousands separators or accounting parentheses (see [`crate::cells::parse_money`]).
    fn decimal(&self, k: Col) -> Result<Decimal, RowError> {
        self.cells.decimal_at(self.pos(k), TYPED[k as usize]).or_else(|e| self.money(k).ok_or(e))
    }

    fn opt_decimal(&self, k: Col) -> Result<Option<Decimal>, RowError> {
        self.cells
            .opt_decimal_at(self.pos(k), TYPED[k as usize])
            .or_else(|e| self.money(k).map(Some).ok_or(e))
    }

    fn money(&self, k: Col) -> Option<Decimal> {
        self.raw(k).and_then(crate::cells::parse_money)
    }

    fn time(&self, k: Col, memo: &mut RowMemo) -> Result<Timestamp, RowError> {
        // The four period columns stand together, from BillingPeriodStart: one memo slot each.
        let slot = k as usize - Col::BillingPeriodStart as usize;
        self.cells.time_at(self.pos(k), TYPED[k as usize], |v| memo.time(slot, v))
    }

    /// Sets an optional text field, reusing its buffer.
    fn text_into(&self, k: Col, slot: &mut Option<String>) {
        set_text(slot, self.raw(k));
    }
}

/// Sets an optional text field to `v`, reusing the field's buffer when it has one.
pub fn set_text(slot: &mut Option<String>, v: Option<&str>) {
    match (slot.as_mut(), v) {
        (Some(s), Some(v)) => {
            s.clear();
            s.push_str(v);
        }
        (None, Some(v)) => *slot = Some(v.to_string()),
        (_, None) => *slot = None,
    }
}

/// One FOCUS row read into `out`, whose earlier contents are all replaced (their buffers reused).
pub fn parse_into(
    cells: Cells<'_>,
    layout: &FocusLayout,
    memo: &mut RowMemo,
    out: &mut FocusRecord,
) -> Result<(), RowError> {
    let (line, rec) = (cells.line, cells.rec);
    let c = Row { cells, layout };
    out.line = line;
    let currency_text = c.required(Col::BillingCurrency)?;
    out.billing_currency =
        memo.currency(currency_text).map_err(|e| c.err(Col::BillingCurrency, Some(currency_text), e))?;
    let category_text = c.required(Col::ChargeCategory)?;
    out.charge_category = ChargeCategory::parse(category_text).ok_or_else(|| {
        c.err(
            Col::ChargeCategory,
            Some(category_text),
            "is not one of Usage, Purchase, Tax, Credit, Adjustment",
        )
    })?;
    out.charge_frequency = match c.raw(Col::ChargeFrequency) {
        None => None,
        Some(v) => Some(ChargeFrequency::parse(v).ok_or_else(|| {
            c.err(Col::ChargeFrequency, Some(v), "is not one of One-Time, Recurring, Usage-Based")
        })?),
    };
    out.tags.clear();
    if let Some(v) = c.raw(Col::Tags)
        && !parse_tags_into(v, &mut out.tags)
    {
        return Err(c.err(Col::Tags, Some(v), "is not a JSON object of tags"));
    }
    out.other.clear();
    for (i, name, after) in &layout.extras {
        if let Some(v) = rec.get(*i).and_then(present) {
            // Names in ascending order go on the end; a repeated name replaces what the one before it wrote.
            if *after {
                out.other.push_greatest(name, v);
            } else {
                out.other.insert_str(name, v);
            }
        }
    }
    let account = c.required(Col::BillingAccountId)?;
    out.billing_account_id.clear();
    out.billing_account_id.push_str(account);
    c.text_into(Col::BillingAccountName, &mut out.billing_account_name);
    c.text_into(Col::SubAccountId, &mut out.sub_account_id);
    c.text_into(Col::SubAccountName, &mut out.sub_account_name);
    c.text_into(Col::ProviderName, &mut out.provider_name);
    if out.provider_name.is_none() {
        // FOCUS 1.3 deprecates ProviderName for ServiceProviderName: a file that fills in only the new column
        // names its provider there.
        let v = out.other.get("ServiceProviderName").cloned();
        set_text(&mut out.provider_name, v.as_deref());
    }
    c.text_into(Col::PublisherName, &mut out.publisher_name);
    c.text_into(Col::InvoiceIssuerName, &mut out.invoice_issuer_name);
    c.text_into(Col::InvoiceId, &mut out.invoice_id);
    out.billing_period_start = c.time(Col::BillingPeriodStart, memo)?;
    out.billing_period_end = c.time(Col::BillingPeriodEnd, memo)?;
    out.charge_period_start = c.time(Col::ChargePeriodStart, memo)?;
    out.charge_period_end = c.time(Col::ChargePeriodEnd, memo)?;
    c.text_into(Col::ChargeClass, &mut out.charge_class);
    c.text_into(Col::ChargeDescription, &mut out.charge_description);
    out.billed_cost = c.decimal(Col::BilledCost)?;
    out.effective_cost = c.decimal(Col::EffectiveCost)?;
    out.list_cost = c.decimal(Col::ListCost)?;
    out.contracted_cost = c.opt_decimal(Col::ContractedCost)?;
    out.pricing_quantity = c.opt_decimal(Col::PricingQuantity)?;
    c.text_into(Col::PricingUnit, &mut out.pricing_unit);
    out.consumed_quantity = c.opt_decimal(Col::ConsumedQuantity)?;
    c.text_into(Col::ConsumedUnit, &mut out.consumed_unit);
    c.text_into(Col::PricingCategory, &mut out.pricing_category);
    out.list_unit_price = c.opt_decimal(Col::ListUnitPrice)?;
    out.contracted_unit_price = c.opt_decimal(Col::ContractedUnitPrice)?;
    c.text_into(Col::ServiceName, &mut out.service_name);
    c.text_into(Col::ServiceCategory, &mut out.service_category);
    c.text_into(Col::RegionId, &mut out.region_id);
    c.text_into(Col::ResourceId, &mut out.resource_id);
    c.text_into(Col::ResourceName, &mut out.resource_name);
    c.text_into(Col::SkuId, &mut out.sku_id);
    c.text_into(Col::CommitmentDiscountId, &mut out.commitment_discount_id);
    Ok(())
}

/// One FOCUS row as a record of its own.
pub fn parse_row(c: Cells<'_>, layout: &FocusLayout) -> Result<FocusRecord, RowError> {
    let mut out = FocusRecord::blank(c.line, Currency::USD);
    parse_into(c, layout, &mut RowMemo::default(), &mut out)?;
    Ok(out)
}

/// Tags as a JSON object, or the brace-less `"a": "b","c": "d"` some exports write. Non-text values keep
/// their JSON text.
pub fn parse_tags(v: &str) -> Option<StrMap> {
    let mut m = StrMap::new();
    parse_tags_into(v, &mut m).then_some(m)
}

/// [`parse_tags`] into `out` (emptied first); false when `v` is not a tag object.
pub fn parse_tags_into(v: &str, out: &mut StrMap) -> bool {
    out.clear();
    let t = v.trim();
    if simple_tags(t, out).is_some() {
        return true;
    }
    // Escapes, non-text values, or not JSON at all: the JSON parser decides.
    out.clear();
    let wrapped;
    let json = if t.starts_with('{') {
        t
    } else {
        wrapped = format!("{{{t}}}");
        &wrapped
    };
    let Ok(obj) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json) else {
        return false;
    };
    for (k, v) in obj {
        match v {
            serde_json::Value::String(s) => out.insert_str(&k, &s),
            other => out.insert_str(&k, &other.to_string()),
        };
    }
    true
}

/// The common shape of a tag object, read without the JSON parser: text keys and text values with no escapes,
/// braces optional. None for anything else (which the JSON parser then reads or refuses).
fn simple_tags(t: &str, out: &mut StrMap) -> Option<()> {
    let b = t.as_bytes();
    let braced = b.first() == Some(&b'{');
    let mut i = usize::from(braced);
    let end = if braced {
        if b.last() != Some(&b'}') || b.len() < 2 {
            return None;
        }
        b.len() - 1
    } else {
        b.len()
    };
    let ws = |i: &mut usize| {
        while *i < end && matches!(b[*i], b' ' | b'\t' | b'\n' | b'\r') {
            *i += 1;
        }
    };
    // A string without escapes or control characters: its text.
    let string = |i: &mut usize| -> Option<&str> {
        if *i >= end || b[*i] != b'"' {
            return None;
        }
        let start = *i + 1;
        let mut j = start;
        while j < end && b[j] != b'"' {
            if b[j] == b'\\' || b[j] < 0x20 {
                return None;
            }
            j += 1;
        }
        if j >= end {
            return None;
        }
        *i = j + 1;
        t.get(start..j)
    };
    ws(&mut i);
    if i == end {
        return braced.then_some(());
    }
    loop {
        let k = string(&mut i)?;
        ws(&mut i);
        if i >= end || b[i] != b':' {
            return None;
        }
        i += 1;
        ws(&mut i);
        let v = string(&mut i)?;
        out.insert_str(k, v);
        ws(&mut i);
        if i == end {
            return Some(());
        }
        if b[i] != b',' {
            return None;
        }
        i += 1;
        ws(&mut i);
    }
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
    use std::collections::BTreeMap;
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

    /// A FOCUS 1.3 file that leaves the deprecated ProviderName empty, or out, names its provider in
    /// ServiceProviderName; ProviderName wins where both are given.
    #[test]
    fn service_provider_name_stands_in_for_a_missing_provider_name() {
        let head = "BilledCost,EffectiveCost,ListCost,ContractedCost,BillingCurrency,BillingAccountId,\
                    BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,";
        let row = "1,1,1,1,USD,A,2026-05-01,2026-06-01,2026-05-01,2026-05-02,Usage,";
        for (cols, vals, want) in [
            ("ServiceProviderName", "Acme Cloud", Some("Acme Cloud")),
            ("ProviderName,ServiceProviderName", ",Acme Cloud", Some("Acme Cloud")),
            ("ProviderName,ServiceProviderName", "Old Name,Acme Cloud", Some("Old Name")),
            ("HostProviderName", "Acme Cloud", None),
        ] {
            let text = format!("{head}{cols}\n{row}{vals}\n");
            let rows: Vec<FocusRecord> =
                FocusReader::open(text.as_bytes()).unwrap().records().collect::<Result<_, _>>().unwrap();
            assert_eq!(rows[0].provider_name.as_deref(), want, "{cols}");
        }
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

    /// A reader that fills one record in place must leave nothing of a row in the next: every fixture read
    /// into one reused record gives the same records as fresh ones, and so does a file whose rows alternate
    /// between having every optional value and having none.
    #[test]
    fn a_reused_record_carries_nothing_over() {
        let header =
            format!("{},Tags,ChargeFrequency,PricingQuantity,ResourceId,x_Extra,Zed", REQUIRED.join(","));
        let full = "1.5,1.5,1.5,1.5,USD,A1,2026-05-01,2026-06-01,2026-05-01,2026-05-02,Usage,\
                    \"{\"\"team\"\":\"\"a\"\"}\",Recurring,2,r-1,e,z";
        let bare = "2.5,2.5,2.5,,EUR,A2,2026-06-01,2026-07-01,2026-06-01,2026-06-02,Tax,,,,,,";
        let synthetic = format!("{header}\n{full}\n{bare}\n{full}\n{bare}\n");
        let mut inputs: Vec<Vec<u8>> = vec![synthetic.into_bytes()];
        for rel in ["focus-1.0/focus_sample.csv", "focus-1.3/aws/focus_1_3_cost_and_usage_aws.csv"] {
            inputs.push(std::fs::read(fixture(rel)).unwrap());
        }
        for bytes in inputs {
            let fresh: Vec<FocusRecord> =
                FocusReader::open(&bytes[..]).unwrap().records().collect::<Result<_, _>>().unwrap();
            let mut reader = FocusReader::open(&bytes[..]).unwrap();
            let mut reused = FocusRecord::blank(0, Currency::USD);
            let mut n = 0;
            while let Some(r) = reader.next_into(&mut reused) {
                r.unwrap();
                assert_eq!(reused, fresh[n], "row {n}");
                n += 1;
            }
            assert_eq!(n, fresh.len());
        }
        let rows: Vec<FocusRecord> = FocusReader::open(format!("{header}\n{full}\n{bare}\n").as_bytes())
            .unwrap()
            .records()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows[0].tags, StrMap::from([("team", "a")]));
        assert_eq!(rows[0].other, StrMap::from([("Zed", "z"), ("x_Extra", "e")]), "extras in name order");
        assert!(rows[1].tags.is_empty() && rows[1].other.is_empty() && rows[1].resource_id.is_none());
        assert_eq!((rows[1].billing_currency, rows[1].contracted_cost), (Currency::EUR, None));
    }

    proptest::proptest! {
        /// Extra columns in any order, some of one name, any of them empty, give the map a `BTreeMap` filled
        /// column by column would hold (of two columns of one name, the later non-empty one wins), row after row
        /// into one reused record.
        #[test]
        fn extra_columns_fill_the_map_as_a_btreemap_would(
            names in proptest::collection::vec("x_[a-c]{1,2}|Zed|[A-B]", 1..8),
            rows in proptest::collection::vec(proptest::collection::vec("|[a-z]{1,3}", 8), 1..6),
        ) {
            let header = format!("{},{}", REQUIRED.join(","), names.join(","));
            let mut text = header.clone();
            for r in &rows {
                text.push_str("\n1,1,1,1,USD,A1,2026-05-01,2026-06-01,2026-05-01,2026-05-02,Usage,");
                text.push_str(&r[..names.len()].join(","));
            }
            let mut reader = FocusReader::open(text.as_bytes()).unwrap();
            let mut rec = FocusRecord::blank(0, Currency::USD);
            for r in &rows {
                reader.next_into(&mut rec).unwrap().unwrap();
                let mut want = BTreeMap::new();
                for (name, v) in names.iter().zip(r) {
                    if !v.is_empty() && !REQUIRED.contains(&name.as_str()) {
                        want.insert(name.clone(), v.clone());
                    }
                }
                let got: BTreeMap<String, String> =
                    rec.other.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                proptest::prop_assert_eq!(got, want);
                proptest::prop_assert!(rec.other.keys().zip(rec.other.keys().skip(1)).all(|(a, b)| a < b));
            }
        }
    }

    proptest::proptest! {
        /// The quick reading of plain tag objects agrees with the JSON parser on every object it is given,
        /// braced or not, escaped or not; and what is not a tag object is refused by both.
        #[test]
        fn tags_read_quickly_read_as_json_does(
            tags in proptest::collection::btree_map("[a-zA-Z_\" é\\\\]{0,6}", "[a-z0-9 \"\n/é\\\\]{0,8}", 0..5),
            braced: bool,
            spaced: bool,
        ) {
            let mut json = serde_json::to_string(&tags).unwrap();
            if spaced {
                json = json.replace(',', " , ").replace(':', ": ");
            }
            let text = if braced { json.clone() } else { json[1..json.len() - 1].to_string() };
            if text.trim().is_empty() {
                return Ok(()); // an empty cell is no value, and never reaches the tag reader
            }
            let read = parse_tags(&text);
            proptest::prop_assert!(read.is_some(), "{text}");
            let want: Vec<(&String, &String)> = tags.iter().collect();
            let got: Vec<(String, String)> = read.unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            proptest::prop_assert_eq!(got.iter().map(|(k, v)| (k, v)).collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn tag_objects_that_are_not_are_refused() {
        for bad in
            [r#"{"a":"b",}"#, r#"{"a":"b"}}"#, "{", r#"{"a" "b"}"#, "a=b", r#"{"a":"b""#, "{\"a\":\"\u{1}\"}"]
        {
            assert_eq!(parse_tags(bad), None, "{bad}");
        }
        assert_eq!(parse_tags(r#"{"n": 5, "t": true}"#).unwrap(), StrMap::from([("n", "5"), ("t", "true")]));
        assert_eq!(parse_tags(r#"{"a":"1","a":"2"}"#).unwrap(), StrMap::from([("a", "2")]), "the last wins");
        assert_eq!(parse_tags("{}").unwrap(), StrMap::new());
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
