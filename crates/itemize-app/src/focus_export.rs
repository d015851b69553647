//! Exporting a billing period of the ledger as FOCUS 1.2: the mandatory columns, the conditional ones the ledger
//! holds, the provider's extras as `x_` columns, and the reporting-currency equivalents as `x_` columns.
//!
//! Where the ledger does not know a mandatory value, the export says what it put there instead of hiding it:
//! a line whose source left ContractedCost out gets its BilledCost and `x_ContractedCostSource = BilledCost`;
//! one without a ChargeFrequency gets the category's (Usage-Based for usage, One-Time otherwise, as AWS's own
//! FOCUS conversion marks tax), one without a ServiceSubcategory gets `Other (<its ServiceCategory>)`, FOCUS's
//! value for a subcategory not told, and a provider's unit that is not in FOCUS's unit format (`GB-Mo`,
//! `10K Test Runs`, `Hrs`, `gibibyte month`) is written in it (`GB-Months`, `10000 Test Runs`, `Hours`,
//! `GiB-Months`) with the provider's spelling kept in `x_PricingUnitAsBilled` (`x_ConsumedUnitAsBilled` for the
//! consumed unit). `x_FilledByExport` names the columns so filled on each line.

use crate::{Actor, App, AppError};
use itemize_core::auth::Action;
use itemize_ingest::FocusRecord;
use itemize_ingest::lake::{self, Conversion};
use itemize_store::PartitionFilter;
use jiff::Timestamp;
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, FixedLenByteArray, FixedLenByteArrayType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Parquet,
}

/// How a FOCUS column is typed in Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Text,
    Decimal,
    Time,
}

/// The FOCUS 1.2 columns, in the specification's alphabetical order.
const FOCUS_12: &[(&str, Ty)] = &[
    ("AvailabilityZone", Ty::Text),
    ("BilledCost", Ty::Decimal),
    ("BillingAccountId", Ty::Text),
    ("BillingAccountName", Ty::Text),
    ("BillingAccountType", Ty::Text),
    ("BillingCurrency", Ty::Text),
    ("BillingPeriodEnd", Ty::Time),
    ("BillingPeriodStart", Ty::Time),
    ("CapacityReservationId", Ty::Text),
    ("CapacityReservationStatus", Ty::Text),
    ("ChargeCategory", Ty::Text),
    ("ChargeClass", Ty::Text),
    ("ChargeDescription", Ty::Text),
    ("ChargeFrequency", Ty::Text),
    ("ChargePeriodEnd", Ty::Time),
    ("ChargePeriodStart", Ty::Time),
    ("CommitmentDiscountCategory", Ty::Text),
    ("CommitmentDiscountId", Ty::Text),
    ("CommitmentDiscountName", Ty::Text),
    ("CommitmentDiscountQuantity", Ty::Decimal),
    ("CommitmentDiscountStatus", Ty::Text),
    ("CommitmentDiscountType", Ty::Text),
    ("CommitmentDiscountUnit", Ty::Text),
    ("ConsumedQuantity", Ty::Decimal),
    ("ConsumedUnit", Ty::Text),
    ("ContractedCost", Ty::Decimal),
    ("ContractedUnitPrice", Ty::Decimal),
    ("EffectiveCost", Ty::Decimal),
    ("InvoiceId", Ty::Text),
    ("InvoiceIssuerName", Ty::Text),
    ("ListCost", Ty::Decimal),
    ("ListUnitPrice", Ty::Decimal),
    ("PricingCategory", Ty::Text),
    ("PricingCurrency", Ty::Text),
    ("PricingCurrencyContractedUnitPrice", Ty::Decimal),
    ("PricingCurrencyEffectiveCost", Ty::Decimal),
    ("PricingCurrencyListUnitPrice", Ty::Decimal),
    ("PricingQuantity", Ty::Decimal),
    ("PricingUnit", Ty::Text),
    ("ProviderName", Ty::Text),
    ("PublisherName", Ty::Text),
    ("RegionId", Ty::Text),
    ("RegionName", Ty::Text),
    ("ResourceId", Ty::Text),
    ("ResourceName", Ty::Text),
    ("ResourceType", Ty::Text),
    ("ServiceCategory", Ty::Text),
    ("ServiceName", Ty::Text),
    ("ServiceSubcategory", Ty::Text),
    ("SkuId", Ty::Text),
    ("SkuMeter", Ty::Text),
    ("SkuPriceDetails", Ty::Text),
    ("SkuPriceId", Ty::Text),
    ("SubAccountId", Ty::Text),
    ("SubAccountName", Ty::Text),
    ("SubAccountType", Ty::Text),
    ("Tags", Ty::Text),
];

/// itemize's own columns after the FOCUS ones.
/// The rate and the amounts in the reporting currency are exact decimal text, in Parquet too: an inverse or cross
/// rate (1 / 1.0823) has 28 decimal places, more than a DECIMAL(38, 18) column holds without rounding.
const ITEMIZE_X: &[(&str, Ty)] = &[
    ("x_ReportingCurrency", Ty::Text),
    ("x_ExchangeRate", Ty::Text),
    ("x_ExchangeRateDate", Ty::Text),
    ("x_BilledCostInReportingCurrency", Ty::Text),
    ("x_EffectiveCostInReportingCurrency", Ty::Text),
    ("x_ContractedCostSource", Ty::Text),
    ("x_FilledByExport", Ty::Text),
    ("x_PricingUnitAsBilled", Ty::Text),
    ("x_ConsumedUnitAsBilled", Ty::Text),
];

/// A provider's unit in FOCUS's unit format: unchanged when it is in it, else rewritten where the meaning is
/// plain (`GB-Mo` → `GB-Months`, `Lambda-GB-Second` → `GB-Seconds`, `1 GB/Month` → `GB-Months`, `1/Month` →
/// `Units/Month`, `10K Test Runs` → `10000 Test Runs`).
fn focus_unit(u: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    const TIMES: [&str; 6] = ["Seconds", "Minutes", "Hours", "Days", "Months", "Years"];
    const SIZES: [&str; 6] = ["B", "MiB", "GiB", "TiB", "GB", "TB"];
    // Providers' words for FOCUS's units, whole or as the parts of a unit (`gibibyte month`).
    let word = |w: &str| -> Option<&'static str> {
        Some(match w.to_ascii_lowercase().as_str() {
            "hrs" | "hr" | "hour" | "hours" => "Hours",
            "month" | "months" | "mo" => "Months",
            "second" | "seconds" => "Seconds",
            "minute" | "minutes" => "Minutes",
            "day" | "days" => "Days",
            "year" | "years" => "Years",
            "byte" | "bytes" => "B",
            "gibibyte" | "gibibytes" => "GiB",
            "tebibyte" | "tebibytes" => "TiB",
            "mebibyte" | "mebibytes" => "MiB",
            "gigabyte" | "gigabytes" => "GB",
            "terabyte" | "terabytes" => "TB",
            _ => return None,
        })
    };
    // A time unit in FOCUS's plural (`Mo`, `Hour` → `Months`, `Hours`).
    let plural = |t: &str| word(t).filter(|w| TIMES.contains(w));
    let trimmed = u.trim();
    if let Some(w) = word(trimmed).filter(|w| *w != trimmed) {
        return Cow::Owned(w.to_string());
    }
    // `1 Hour`, `1 GB`: one of a unit is the unit.
    if let Some(rest) = trimmed.strip_prefix("1 ")
        && !rest.contains(['/', ' '])
    {
        return Cow::Owned(word(rest).map_or_else(|| rest.to_string(), str::to_string));
    }
    // `gibibyte month`, `gibibyte hour`: a size over a time, `GiB-Months`.
    if let Some((size, time)) = trimmed.split_once(' ')
        && let (Some(size), Some(time)) = (word(size), word(time))
        && SIZES.contains(&size)
        && TIMES.contains(&time)
    {
        return Cow::Owned(format!("{size}-{time}"));
    }
    // `Million Events`: a count in millions.
    if let Some(rest) = trimmed.strip_prefix("Million ") {
        return Cow::Owned(format!("1000000 {rest}"));
    }
    // `<n>K <unit>`, `<n>M <unit>`: a count in thousands or millions.
    if let Some((n, rest)) = u.split_once(' ')
        && let Some((digits, mult)) =
            n.strip_suffix('K').map(|d| (d, 1_000u64)).or_else(|| n.strip_suffix('M').map(|d| (d, 1_000_000)))
        && let Ok(k) = digits.parse::<u64>()
        && !rest.is_empty()
    {
        return Cow::Owned(format!("{} {rest}", k * mult));
    }
    // `1 <unit>/<time>` priced per unit and time: `<unit>-<times>`; `1/<time>`: so many per time.
    if let Some((left, time)) = u.rsplit_once('/')
        && let Some(times) = plural(time)
    {
        match left.strip_prefix("1 ") {
            Some(unit) if !unit.is_empty() => return Cow::Owned(format!("{unit}-{times}")),
            _ if left == "1" => return Cow::Owned(format!("Units/{time}")),
            _ => {}
        }
    }
    // `<unit>-<time abbreviation or singular>` (`GB-Mo`, `Lambda-GB-Second`): the last size or count with the
    // plural time.
    let parts: Vec<&str> = u.split('-').collect();
    if parts.len() >= 2
        && let Some(times) = plural(parts[parts.len() - 1])
        && times != parts[parts.len() - 1]
    {
        return Cow::Owned(format!("{}-{times}", parts[parts.len() - 2]));
    }
    Cow::Borrowed(u)
}

/// The ChargeFrequency of a line whose source gave none: usage is usage-based; a purchase, tax, credit or
/// adjustment without one is taken as one-time (AWS's own FOCUS conversion marks tax One-Time).
fn default_frequency(r: &FocusRecord) -> &'static str {
    if r.charge_category.as_str() == "Usage" { "Usage-Based" } else { "One-Time" }
}

/// The ServiceSubcategory a source gave, if any.
fn subcategory(r: &FocusRecord) -> Option<&str> {
    r.other.get("ServiceSubcategory").map(String::as_str).filter(|s| !s.trim().is_empty())
}

/// The columns the export filled or rewrote on a line (see the module's documentation).
fn filled(r: &FocusRecord) -> Option<String> {
    let mut out = Vec::new();
    if r.charge_frequency.is_none() {
        out.push("ChargeFrequency");
    }
    if subcategory(r).is_none() {
        out.push("ServiceSubcategory");
    }
    if r.pricing_unit.as_deref().is_some_and(|u| focus_unit(u) != u) {
        out.push("PricingUnit");
    }
    if r.consumed_unit.as_deref().is_some_and(|u| focus_unit(u) != u) {
        out.push("ConsumedUnit");
    }
    (!out.is_empty()).then(|| out.join(","))
}

/// Decimal places of Parquet DECIMAL columns: every amount the readers produce fits; more would be rounded,
/// and the export refuses rather than round.
const PARQUET_SCALE: u32 = 18;

fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Decimal text that always has a fractional part (`10.0`, not `10`): readers that guess types, the FOCUS
/// validator among them, would otherwise take a whole amount for an integer.
fn dec(d: Option<Decimal>) -> Option<String> {
    d.map(|d| if d.scale() == 0 { format!("{d}.0") } else { d.to_string() })
}

/// One line's value of a FOCUS column, as text; `None` is null.
fn value(r: &FocusRecord, c: &Conversion, col: &str) -> Option<String> {
    let t = |v: &Option<String>| v.clone();
    match col {
        "BilledCost" => dec(Some(r.billed_cost)),
        "BillingAccountId" => Some(r.billing_account_id.clone()),
        "BillingAccountName" => t(&r.billing_account_name),
        "BillingCurrency" => Some(r.billing_currency.code().to_string()),
        "BillingPeriodEnd" => Some(time(r.billing_period_end)),
        "BillingPeriodStart" => Some(time(r.billing_period_start)),
        "ChargeCategory" => Some(r.charge_category.as_str().to_string()),
        "ChargeClass" => r
            .charge_class
            .clone()
            .filter(|c| c.eq_ignore_ascii_case("correction"))
            .map(|_| "Correction".into()),
        "ChargeDescription" => t(&r.charge_description),
        "ChargeFrequency" => {
            Some(r.charge_frequency.map_or_else(|| default_frequency(r), |f| f.as_str()).to_string())
        }
        "ChargePeriodEnd" => Some(time(r.charge_period_end)),
        "ChargePeriodStart" => Some(time(r.charge_period_start)),
        "CommitmentDiscountId" => t(&r.commitment_discount_id),
        "ConsumedQuantity" => dec(r.consumed_quantity),
        "ConsumedUnit" => r.consumed_unit.as_deref().map(|u| focus_unit(u).into_owned()),
        "ContractedCost" => dec(Some(r.contracted_cost.unwrap_or(r.billed_cost))),
        "ContractedUnitPrice" => dec(r.contracted_unit_price),
        "EffectiveCost" => dec(Some(r.effective_cost)),
        "InvoiceId" => t(&r.invoice_id),
        "InvoiceIssuerName" => t(&r.invoice_issuer_name).or_else(|| t(&r.provider_name)),
        "ListCost" => dec(Some(r.list_cost)),
        "ListUnitPrice" => dec(r.list_unit_price),
        "PricingCategory" => t(&r.pricing_category),
        "PricingQuantity" => dec(r.pricing_quantity),
        "PricingUnit" => r.pricing_unit.as_deref().map(|u| focus_unit(u).into_owned()),
        "ProviderName" => t(&r.provider_name),
        "PublisherName" => t(&r.publisher_name).or_else(|| t(&r.provider_name)),
        "RegionId" => t(&r.region_id),
        "ResourceId" => t(&r.resource_id),
        "ResourceName" => t(&r.resource_name),
        "ServiceCategory" => Some(r.service_category.clone().unwrap_or_else(|| "Other".into())),
        "ServiceName" => t(&r.service_name).or_else(|| t(&r.provider_name)),
        "ServiceSubcategory" => Some(
            subcategory(r)
                .map(str::to_string)
                .unwrap_or_else(|| format!("Other ({})", r.service_category.as_deref().unwrap_or("Other"))),
        ),
        "SkuId" => t(&r.sku_id),
        "SubAccountId" => t(&r.sub_account_id),
        "SubAccountName" => t(&r.sub_account_name),
        "Tags" => {
            if r.tags.is_empty() {
                None
            } else {
                serde_json::to_string(&r.tags).ok()
            }
        }
        "x_ReportingCurrency" => Some(c.reporting_currency.code().to_string()),
        "x_ExchangeRate" => dec(Some(c.rate)),
        "x_ExchangeRateDate" => c.rate_date.map(|d| d.to_string()),
        "x_BilledCostInReportingCurrency" => dec(Some(c.convert(r.billed_cost))),
        "x_EffectiveCostInReportingCurrency" => dec(Some(c.convert(r.effective_cost))),
        "x_ContractedCostSource" => r.contracted_cost.is_none().then(|| "BilledCost".to_string()),
        "x_FilledByExport" => filled(r),
        "x_PricingUnitAsBilled" => r.pricing_unit.clone().filter(|u| focus_unit(u) != u.as_str()),
        "x_ConsumedUnitAsBilled" => r.consumed_unit.clone().filter(|u| focus_unit(u) != u.as_str()),
        other => r.other.get(other).cloned(),
    }
}

fn period_bounds(period: &str) -> Result<(), AppError> {
    if crate::ledger::is_billing_period(period) {
        Ok(())
    } else {
        Err(AppError::BadRequest {
            message: format!("{period:?} is not a billing period (expected YYYY-MM)"),
            details: vec![],
        })
    }
}

impl App {
    /// Writes the current lines of a billing period as FOCUS 1.2; returns how many lines were written.
    pub async fn export_focus_file(
        &self,
        actor: &Actor,
        period: &str,
        format: ExportFormat,
        out: &Path,
    ) -> Result<u64, AppError> {
        self.cost_allow(actor, Action::Read)?;
        period_bounds(period)?;
        let filter = PartitionFilter {
            period_from: Some(period.into()),
            period_to: Some(period.into()),
            ..Default::default()
        };
        let parts = self.store().session().await?.current_partitions(&filter).await?;
        let paths: Vec<_> = parts.iter().map(|p| self.lake_dir().join(&p.lake_path)).collect();
        let out = out.to_path_buf();
        tokio::task::spawn_blocking(move || write_export(&paths, format, &out))
            .await
            .map_err(|e| AppError::Refused(format!("export: {e}")))?
    }
}

fn refused(e: impl std::fmt::Display) -> AppError {
    AppError::Refused(format!("export: {e}"))
}

fn write_export(paths: &[std::path::PathBuf], format: ExportFormat, out: &Path) -> Result<u64, AppError> {
    // First pass: the provider extras present, so every x_ column gets a place in the header.
    let mut extras: BTreeSet<String> = BTreeSet::new();
    for p in paths {
        lake::for_each_batch(p, &["other"], |b| {
            for row in 0..b.rows {
                if let Some(s) = b.columns[0].text(row)
                    && let Ok(m) = serde_json::from_str::<std::collections::BTreeMap<String, String>>(s)
                {
                    extras.extend(m.into_keys().filter(|k| k.starts_with("x_")));
                }
            }
            Ok(())
        })
        .map_err(refused)?;
    }
    let mut cols: Vec<(String, Ty)> = FOCUS_12.iter().map(|(n, t)| (n.to_string(), *t)).collect();
    cols.extend(ITEMIZE_X.iter().map(|(n, t)| (n.to_string(), *t)));
    cols.extend(extras.into_iter().filter(|x| !ITEMIZE_X.iter().any(|(n, _)| n == x)).map(|x| (x, Ty::Text)));
    let tmp = out.with_extension("part");
    let written = match format {
        ExportFormat::Csv => write_csv(paths, &cols, &tmp),
        ExportFormat::Parquet => write_parquet(paths, &cols, &tmp),
    };
    // A refused export leaves no partial file behind.
    let n = written.inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    std::fs::rename(&tmp, out).map_err(refused)?;
    Ok(n)
}

fn for_each_record(
    paths: &[std::path::PathBuf],
    mut f: impl FnMut(&FocusRecord, &Conversion) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let names: Vec<&str> = lake::COLUMNS.iter().map(|(n, _)| *n).collect();
    for p in paths {
        let mut failure = None;
        lake::for_each_batch(p, &names, |b| {
            for row in 0..b.rows {
                let (r, c) = lake::record_at(&b, row)?;
                if let Err(e) = f(&r, &c) {
                    failure = Some(e);
                    return Err(parquet::errors::ParquetError::General("stopped".into()));
                }
            }
            Ok(())
        })
        .map_err(|e| failure.take().unwrap_or_else(|| refused(e)))?;
    }
    Ok(())
}

fn write_csv(paths: &[std::path::PathBuf], cols: &[(String, Ty)], out: &Path) -> Result<u64, AppError> {
    let mut w = csv::Writer::from_path(out).map_err(refused)?;
    w.write_record(cols.iter().map(|(n, _)| n.as_str())).map_err(refused)?;
    let mut n = 0u64;
    for_each_record(paths, |r, c| {
        w.write_record(cols.iter().map(|(name, _)| value(r, c, name).unwrap_or_default()))
            .map_err(refused)?;
        n += 1;
        Ok(())
    })?;
    w.flush().map_err(refused)?;
    Ok(n)
}

/// A decimal as Parquet DECIMAL(38, 18) bytes (16, big-endian two's complement); refuses what would round.
fn decimal_bytes(d: Decimal) -> Result<FixedLenByteArray, AppError> {
    let mut x = d;
    if x.scale() > PARQUET_SCALE {
        let r = x.round_dp(PARQUET_SCALE);
        if r != x {
            return Err(AppError::Refused(format!(
                "export: {d} has more than {PARQUET_SCALE} decimal places and would be rounded in Parquet; \
                 export CSV instead"
            )));
        }
        x = r;
    }
    // The unscaled value at 18 places, computed (`rescale` would quietly keep fewer places for a large value,
    // and its mantissa written as if at 18 would divide it by a power of ten).
    let m = 10i128
        .checked_pow(PARQUET_SCALE - x.scale())
        .and_then(|f| x.mantissa().checked_mul(f))
        .filter(|m| m.unsigned_abs() < 10u128.pow(38))
        .ok_or_else(|| {
            AppError::Refused(format!(
                "export: {d} is too large for a Parquet DECIMAL(38, {PARQUET_SCALE}) column; export CSV instead"
            ))
        })?;
    Ok(FixedLenByteArray::from(m.to_be_bytes().to_vec()))
}

const PARQUET_GROUP: usize = 32_768;

fn write_parquet(paths: &[std::path::PathBuf], cols: &[(String, Ty)], out: &Path) -> Result<u64, AppError> {
    let mut schema = String::from("message focus {\n");
    for (name, ty) in cols {
        schema.push_str(&match ty {
            Ty::Text => format!("  OPTIONAL BYTE_ARRAY {name} (UTF8);\n"),
            Ty::Decimal => {
                format!("  OPTIONAL FIXED_LEN_BYTE_ARRAY (16) {name} (DECIMAL(38,{PARQUET_SCALE}));\n")
            }
            Ty::Time => format!("  OPTIONAL INT64 {name} (TIMESTAMP(MICROS,true));\n"),
        });
    }
    schema.push('}');
    let schema = Arc::new(parse_message_type(&schema).map_err(refused)?);
    let props = Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
    let file = std::fs::File::create(out).map_err(refused)?;
    let mut w = SerializedFileWriter::new(file, schema, props).map_err(refused)?;
    // Buffered values per column: text, decimal bytes or micros, with definition levels.
    let mut text: Vec<Vec<ByteArray>> = vec![Vec::new(); cols.len()];
    let mut decs: Vec<Vec<FixedLenByteArray>> = vec![Vec::new(); cols.len()];
    let mut ints: Vec<Vec<i64>> = vec![Vec::new(); cols.len()];
    let mut defs: Vec<Vec<i16>> = vec![Vec::new(); cols.len()];
    let mut rows = 0usize;
    let mut n = 0u64;
    let flush = |w: &mut SerializedFileWriter<std::fs::File>,
                 text: &mut Vec<Vec<ByteArray>>,
                 decs: &mut Vec<Vec<FixedLenByteArray>>,
                 ints: &mut Vec<Vec<i64>>,
                 defs: &mut Vec<Vec<i16>>|
     -> Result<(), AppError> {
        let mut rg = w.next_row_group().map_err(refused)?;
        let mut i = 0;
        while let Some(mut col) = rg.next_column().map_err(refused)? {
            match cols[i].1 {
                Ty::Text => col.typed::<ByteArrayType>().write_batch(&text[i], Some(&defs[i]), None),
                Ty::Decimal => {
                    col.typed::<FixedLenByteArrayType>().write_batch(&decs[i], Some(&defs[i]), None)
                }
                Ty::Time => {
                    col.typed::<parquet::data_type::Int64Type>().write_batch(&ints[i], Some(&defs[i]), None)
                }
            }
            .map_err(refused)?;
            col.close().map_err(refused)?;
            text[i].clear();
            decs[i].clear();
            ints[i].clear();
            defs[i].clear();
            i += 1;
        }
        rg.close().map_err(refused)?;
        Ok(())
    };
    for_each_record(paths, |r, c| {
        for (i, (name, ty)) in cols.iter().enumerate() {
            let v = value(r, c, name);
            match (ty, v) {
                (_, None) => defs[i].push(0),
                (Ty::Text, Some(s)) => {
                    text[i].push(ByteArray::from(s.as_str()));
                    defs[i].push(1);
                }
                (Ty::Decimal, Some(s)) => match itemize_ingest::cells::parse_decimal(&s) {
                    Some(d) => {
                        decs[i].push(decimal_bytes(d)?);
                        defs[i].push(1);
                    }
                    None => defs[i].push(0),
                },
                (Ty::Time, Some(s)) => match s.parse::<Timestamp>() {
                    Ok(t) => {
                        ints[i].push(t.as_microsecond());
                        defs[i].push(1);
                    }
                    Err(_) => defs[i].push(0),
                },
            }
        }
        rows += 1;
        n += 1;
        if rows >= PARQUET_GROUP {
            flush(&mut w, &mut text, &mut decs, &mut ints, &mut defs)?;
            rows = 0;
        }
        Ok(())
    })?;
    if rows > 0 {
        flush(&mut w, &mut text, &mut decs, &mut ints, &mut defs)?;
    }
    w.close().map_err(refused)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unscaled(d: &str) -> i128 {
        let b = decimal_bytes(d.parse().unwrap()).unwrap();
        i128::from_be_bytes(b.data().try_into().unwrap())
    }

    #[test]
    fn provider_units_are_written_in_focus_unit_format() {
        for (given, focus) in [
            ("GB-Mo", "GB-Months"),
            ("Lambda-GB-Second", "GB-Seconds"),
            ("1 GB/Month", "GB-Months"),
            ("1/Month", "Units/Month"),
            ("10K Test Runs", "10000 Test Runs"),
            ("1K Sessions", "1000 Sessions"),
            ("2M Requests", "2000000 Requests"),
            // Providers' words for FOCUS's units.
            ("Hrs", "Hours"),
            ("hour", "Hours"),
            ("1 Hour", "Hours"),
            ("1 GB", "GB"),
            ("gibibyte", "GiB"),
            ("tebibyte", "TiB"),
            ("gibibyte month", "GiB-Months"),
            ("gibibyte hour", "GiB-Hours"),
            ("Million Events", "1000000 Events"),
            // Already in the format: as they are.
            ("Hours", "Hours"),
            ("GB-Hours", "GB-Hours"),
            ("GB/Hour", "GB/Hour"),
            ("vCPU-Hours", "vCPU-Hours"),
            ("Requests", "Requests"),
            ("WriteRequestUnits", "WriteRequestUnits"),
        ] {
            assert_eq!(focus_unit(given), focus, "{given}");
        }
    }

    #[test]
    fn decimals_are_written_at_18_places_whatever_their_size() {
        assert_eq!(unscaled("1.5"), 15 * 10i128.pow(17));
        assert_eq!(unscaled("-0.000000000000000001"), -1);
        // Past what rust_decimal can hold at 18 places (2^96): computed, not quietly scaled down.
        assert_eq!(unscaled("100000000000"), 10i128.pow(29));
        assert_eq!(unscaled("80000000000.50"), 8 * 10i128.pow(28) + 5 * 10i128.pow(17));
        assert!(decimal_bytes("100000000000000000000".parse().unwrap()).is_err(), "21 digits and 18 places");
        assert!(decimal_bytes("0.0000000000000000001".parse().unwrap()).is_err(), "would round");
    }
}
