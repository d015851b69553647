//! A streaming reader of Azure cost details exports (Cost Management "cost and usage details"): Enterprise
//! Agreement (PascalCase columns, `BillingCurrencyCode`) and Microsoft Customer Agreement (camelCase columns,
//! `billingCurrency`), actual cost and amortized cost alike. Column names are matched case-insensitively, and
//! the older EA spellings (`Cost`, `SubscriptionGuid`, `InstanceId`, `ResourceRate`, `ConsumedQuantity`) are
//! accepted too, so one mapping serves every variant.
//!
//! Each row becomes one FOCUS-shaped [`FocusRecord`], following Microsoft's own conversion of cost details to
//! FOCUS ("Convert Cost Management data to FOCUS", FinOps toolkit) as closely as a single file allows:
//!
//! - **ChargeCategory** from `ChargeType`: `Usage` → Usage; `Purchase` → Purchase; `Refund` → Credit (with
//!   ChargeClass `Correction`, as Microsoft marks refunds); `Tax` → Tax; `Credit` → Credit;
//!   `UnusedReservation` / `UnusedSavingsPlan` → Usage with PricingCategory `Committed` and
//!   `other["CommitmentDiscountStatus"] = "Unused"`; `RoundingAdjustment` → Adjustment. Anything else is a
//!   row error naming the value.
//! - **BilledCost / EffectiveCost.** Actual and amortized files have the same columns; they differ in where
//!   the cost of a reservation or savings plan sits. Actual: the purchase row carries it, covered usage costs
//!   nothing. Amortized: covered usage and `Unused*` rows carry it, the purchase is absent or zero. Per row,
//!   with `commitment` meaning `PricingModel` is `Reservation` or `SavingsPlan`:
//!   - commitment-covered usage and `UnusedReservation` / `UnusedSavingsPlan` rows: BilledCost = 0,
//!     EffectiveCost = cost (what was invoiced was the purchase; this is its amortized share);
//!   - `Purchase` / `Refund` rows of a commitment: BilledCost = cost, EffectiveCost = 0 (FOCUS puts the
//!     amortized cost on the usage instead);
//!   - every other row: BilledCost = EffectiveCost = cost.
//!
//!   These rules give the right answer for either kind of file, so the reader needs no "actual or amortized"
//!   switch. What one file cannot give is what it does not contain: an actual file alone has no amortized
//!   commitment cost, an amortized file alone has no commitment purchase. (Microsoft's own conversion joins
//!   the amortized file with the commitment purchases and refunds of the actual file; the ledger does the same
//!   when both files of a month are imported, keeping each file's usage and its purchases as partitions of their
//!   own.) One deliberate difference from Microsoft's
//!   table: Microsoft keeps BilledCost = cost on `Unused*` rows; here it is 0, since that money was invoiced
//!   as the purchase and counting it twice would overstate the invoice.
//! - **ListCost**: `PaygCostInBillingCurrency` when the file has it; else `PayGPrice` × `Quantity` (× the
//!   `ExchangeRatePricingToBilling` of MCA files, whose prices are in the pricing currency) when both are
//!   present; else cost. **ContractedCost**: `UnitPrice` × `Quantity` (× the same exchange rate) when both
//!   are present, else cost. Exact decimal arithmetic, nothing rounded. No pricing-block-size correction
//!   (`10K`, `100 Hours`) is applied: PricingQuantity is `Quantity` and PricingUnit is `UnitOfMeasure` as
//!   written.
//! - **BillingAccountId / Name**: EA: `BillingAccountId` / `BillingAccountName`. MCA (told by a
//!   `billingCurrency` column and no `billingCurrencyCode`): `billingProfileId` / `billingProfileName`, the
//!   scope an MCA invoice is issued for, as Microsoft maps it; the MCA billing account is kept as
//!   `x_BillingAccountId` / `x_BillingAccountName`. SubAccountId / Name = `SubscriptionId` /
//!   `SubscriptionName`.
//! - **Periods**: ChargePeriodStart = `Date`, End = `Date` + 1 day; BillingPeriodStart =
//!   `BillingPeriodStartDate`, End = `BillingPeriodEndDate` + 1 day (FOCUS ends are exclusive). Dates in any
//!   of `m/d/yyyy`, ISO 8601 or `yyyy-mm-dd`. A file without billing period columns gets the calendar month
//!   of the charge.
//! - **Provider**: ProviderName `Microsoft`; PublisherName = `PublisherName` or `Microsoft`;
//!   InvoiceIssuerName = `PartnerName` (CSP) or `Microsoft`; InvoiceId = `InvoiceId`.
//! - **Service**: ServiceName = `MeterCategory` (or `ConsumedService`); ServiceCategory is one of the FOCUS
//!   1.2 categories, mapped from the meter category (see [`service_category`]); ChargeDescription =
//!   `ProductName`.
//! - **Resource and SKU**: RegionId = `ResourceLocation` lower-cased without spaces (Microsoft's RegionId);
//!   ResourceId = `ResourceId` (or `InstanceId`); ResourceName = `ResourceName`, or the last segment of the
//!   resource id; SkuId = `ProductId` (MCA, as Microsoft maps it), else `MeterId`.
//! - **Pricing**: PricingCategory from `PricingModel` (`OnDemand` → Standard, `Spot` → Dynamic, `Reservation`
//!   / `SavingsPlan` → Committed); ListUnitPrice = `PayGPrice` (× exchange rate), ContractedUnitPrice =
//!   `UnitPrice` (× exchange rate); ConsumedQuantity / Unit = `Quantity` / `UnitOfMeasure` on usage rows
//!   only; ChargeFrequency from `Frequency` (`UsageBased`, `Recurring`, `OneTime`; another value is kept as
//!   `x_Frequency`).
//! - **Commitments**: CommitmentDiscountId = `benefitId`, else `ReservationId`; `other` gets
//!   `CommitmentDiscountName`, `CommitmentDiscountStatus` (`Used` / `Unused`), `CommitmentDiscountType`
//!   (`Reservation` / `Savings Plan`) and `CommitmentDiscountCategory` (`Usage` / `Spend`).
//! - **Tags**: the `Tags` column, brace-less (`"a": "b","c": "d"`) or a JSON object.
//! - **Extras** kept in `other`: `x_ResourceGroup`, `x_MeterCategory`, `x_MeterSubCategory`, `x_MeterName`,
//!   `x_MeterId`, `x_CostCenter`, `x_AdditionalInfo`, `x_ChargeType`, `x_PricingModel`, `x_BillingProfileId`,
//!   `x_BillingProfileName`, `x_InvoiceSectionName`, `x_EffectivePrice`.
//!
//! Row errors name the column as the header writes it.

use crate::cells::{Cells, Header, next_csv, open_csv};
use crate::focus::parse_tags;
use crate::record::{ChargeCategory, ChargeFrequency, FocusRecord};
use crate::strmap::StrMap;
use crate::table::{CrlfToLf, RowError};
use itemize_core::Currency;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::io::Read;
use std::str::FromStr;

/// The spellings accepted for each column, in order of preference; matched case-insensitively.
mod col {
    pub const COST: &[&str] = &["CostInBillingCurrency", "Cost"];
    pub const CHARGE_TYPE: &[&str] = &["ChargeType"];
    pub const DATE: &[&str] = &["Date", "UsageDate", "UsageDateTime"];
    pub const CURRENCY: &[&str] = &["BillingCurrencyCode", "BillingCurrency", "Currency"];
    pub const SUBSCRIPTION_ID: &[&str] = &["SubscriptionId", "SubscriptionGuid"];
    pub const SUBSCRIPTION_NAME: &[&str] = &["SubscriptionName"];
    pub const PRICING_MODEL: &[&str] = &["PricingModel"];
    pub const FREQUENCY: &[&str] = &["Frequency", "ChargeFrequency"];
    pub const BILLING_ACCOUNT_ID: &[&str] = &["BillingAccountId", "EnrollmentNumber"];
    pub const BILLING_ACCOUNT_NAME: &[&str] = &["BillingAccountName"];
    pub const BILLING_PROFILE_ID: &[&str] = &["BillingProfileId"];
    pub const BILLING_PROFILE_NAME: &[&str] = &["BillingProfileName"];
    pub const INVOICE_ID: &[&str] = &["InvoiceId"];
    pub const INVOICE_SECTION_NAME: &[&str] = &["InvoiceSectionName"];
    pub const PERIOD_START: &[&str] = &["BillingPeriodStartDate"];
    pub const PERIOD_END: &[&str] = &["BillingPeriodEndDate"];
    pub const PUBLISHER_NAME: &[&str] = &["PublisherName"];
    pub const PARTNER_NAME: &[&str] = &["PartnerName"];
    pub const METER_CATEGORY: &[&str] = &["MeterCategory"];
    pub const METER_SUBCATEGORY: &[&str] = &["MeterSubCategory"];
    pub const METER_NAME: &[&str] = &["MeterName"];
    pub const METER_ID: &[&str] = &["MeterId"];
    pub const CONSUMED_SERVICE: &[&str] = &["ConsumedService"];
    pub const PRODUCT_ID: &[&str] = &["ProductId"];
    pub const PRODUCT_NAME: &[&str] = &["ProductName", "Product"];
    pub const LOCATION: &[&str] = &["ResourceLocation", "Location"];
    pub const RESOURCE_ID: &[&str] = &["ResourceId", "InstanceId"];
    pub const RESOURCE_NAME: &[&str] = &["ResourceName"];
    pub const RESOURCE_GROUP: &[&str] = &["ResourceGroup", "ResourceGroupName"];
    pub const QUANTITY: &[&str] = &["Quantity", "ConsumedQuantity"];
    pub const UNIT: &[&str] = &["UnitOfMeasure"];
    pub const PAYG_PRICE: &[&str] = &["PayGPrice"];
    pub const PAYG_COST: &[&str] = &["PaygCostInBillingCurrency"];
    pub const EXCHANGE_RATE: &[&str] = &["ExchangeRatePricingToBilling"];
    pub const UNIT_PRICE: &[&str] = &["UnitPrice", "ResourceRate"];
    pub const EFFECTIVE_PRICE: &[&str] = &["EffectivePrice"];
    pub const BENEFIT_ID: &[&str] = &["BenefitId"];
    pub const BENEFIT_NAME: &[&str] = &["BenefitName"];
    pub const RESERVATION_ID: &[&str] = &["ReservationId"];
    pub const RESERVATION_NAME: &[&str] = &["ReservationName"];
    pub const TAGS: &[&str] = &["Tags"];
    pub const COST_CENTER: &[&str] = &["CostCenter"];
    pub const ADDITIONAL_INFO: &[&str] = &["AdditionalInfo"];
}

/// Columns without which a file is not Azure cost details, each with how the refusal names it.
const REQUIRED: &[(&[&str], &str)] = &[
    (col::COST, "CostInBillingCurrency (or costInBillingCurrency, Cost)"),
    (col::CHARGE_TYPE, "ChargeType"),
    (col::DATE, "Date"),
    (col::CURRENCY, "BillingCurrencyCode (or billingCurrency)"),
    (col::SUBSCRIPTION_ID, "SubscriptionId (or SubscriptionGuid)"),
];

/// The header's names by their lower-case form (the first of duplicates wins).
fn lower_index(header: &Header) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for n in header.names() {
        m.entry(n.to_ascii_lowercase()).or_insert_with(|| n.clone());
    }
    m
}

/// The first of `aliases` the header has, as the header writes it.
fn resolve(index: &HashMap<String, String>, aliases: &[&str]) -> Option<String> {
    aliases.iter().find_map(|a| index.get(&a.to_ascii_lowercase()).cloned())
}

/// Why a header is not Azure cost details (EA or MCA), if it is not.
pub fn detect(header: &Header) -> Result<(), String> {
    let index = lower_index(header);
    let missing: Vec<&str> =
        REQUIRED.iter().filter(|(aliases, _)| resolve(&index, aliases).is_none()).map(|(_, n)| *n).collect();
    if missing.is_empty() { Ok(()) } else { Err(format!("the header lacks {}", missing.join(", "))) }
}

/// Every column the reader uses, resolved once to the header's spelling.
#[derive(Debug)]
struct Columns {
    cost: String,
    charge_type: String,
    date: String,
    currency: String,
    subscription_id: Option<String>,
    subscription_name: Option<String>,
    pricing_model: Option<String>,
    frequency: Option<String>,
    billing_account_id: Option<String>,
    billing_account_name: Option<String>,
    billing_profile_id: Option<String>,
    billing_profile_name: Option<String>,
    invoice_id: Option<String>,
    invoice_section_name: Option<String>,
    period_start: Option<String>,
    period_end: Option<String>,
    publisher_name: Option<String>,
    partner_name: Option<String>,
    meter_category: Option<String>,
    meter_subcategory: Option<String>,
    meter_name: Option<String>,
    meter_id: Option<String>,
    consumed_service: Option<String>,
    product_id: Option<String>,
    product_name: Option<String>,
    location: Option<String>,
    resource_id: Option<String>,
    resource_name: Option<String>,
    resource_group: Option<String>,
    quantity: Option<String>,
    unit: Option<String>,
    payg_price: Option<String>,
    payg_cost: Option<String>,
    exchange_rate: Option<String>,
    unit_price: Option<String>,
    effective_price: Option<String>,
    benefit_id: Option<String>,
    benefit_name: Option<String>,
    reservation_id: Option<String>,
    reservation_name: Option<String>,
    tags: Option<String>,
    cost_center: Option<String>,
    additional_info: Option<String>,
    /// An MCA file: billing profile is the FOCUS billing account.
    mca: bool,
}

impl Columns {
    fn resolve(header: &Header) -> Result<Self, String> {
        detect(header)?;
        let ix = lower_index(header);
        let r = |aliases: &[&str]| resolve(&ix, aliases);
        let need = |aliases: &[&str]| r(aliases).ok_or_else(|| format!("the header lacks {}", aliases[0]));
        let mca = ix.contains_key("billingcurrency") && !ix.contains_key("billingcurrencycode");
        Ok(Self {
            cost: need(col::COST)?,
            charge_type: need(col::CHARGE_TYPE)?,
            date: need(col::DATE)?,
            currency: need(col::CURRENCY)?,
            subscription_id: r(col::SUBSCRIPTION_ID),
            subscription_name: r(col::SUBSCRIPTION_NAME),
            pricing_model: r(col::PRICING_MODEL),
            frequency: r(col::FREQUENCY),
            billing_account_id: r(col::BILLING_ACCOUNT_ID),
            billing_account_name: r(col::BILLING_ACCOUNT_NAME),
            billing_profile_id: r(col::BILLING_PROFILE_ID),
            billing_profile_name: r(col::BILLING_PROFILE_NAME),
            invoice_id: r(col::INVOICE_ID),
            invoice_section_name: r(col::INVOICE_SECTION_NAME),
            period_start: r(col::PERIOD_START),
            period_end: r(col::PERIOD_END),
            publisher_name: r(col::PUBLISHER_NAME),
            partner_name: r(col::PARTNER_NAME),
            meter_category: r(col::METER_CATEGORY),
            meter_subcategory: r(col::METER_SUBCATEGORY),
            meter_name: r(col::METER_NAME),
            meter_id: r(col::METER_ID),
            consumed_service: r(col::CONSUMED_SERVICE),
            product_id: r(col::PRODUCT_ID),
            product_name: r(col::PRODUCT_NAME),
            location: r(col::LOCATION),
            resource_id: r(col::RESOURCE_ID),
            resource_name: r(col::RESOURCE_NAME),
            resource_group: r(col::RESOURCE_GROUP),
            quantity: r(col::QUANTITY),
            unit: r(col::UNIT),
            payg_price: r(col::PAYG_PRICE),
            payg_cost: r(col::PAYG_COST),
            exchange_rate: r(col::EXCHANGE_RATE),
            unit_price: r(col::UNIT_PRICE),
            effective_price: r(col::EFFECTIVE_PRICE),
            benefit_id: r(col::BENEFIT_ID),
            benefit_name: r(col::BENEFIT_NAME),
            reservation_id: r(col::RESERVATION_ID),
            reservation_name: r(col::RESERVATION_NAME),
            tags: r(col::TAGS),
            cost_center: r(col::COST_CENTER),
            additional_info: r(col::ADDITIONAL_INFO),
            mca,
        })
    }
}

/// Reads one Azure cost details file (EA or MCA, actual or amortized) row by row; an iterator of records in
/// file order.
#[derive(Debug)]
pub struct AzureReader<R: Read> {
    reader: csv::Reader<CrlfToLf<R>>,
    header: Header,
    cols: Columns,
    rec: csv::StringRecord,
}

impl<R: Read> AzureReader<R> {
    /// Reads the header; a file that is not Azure cost details is refused with the columns it lacks.
    pub fn open(input: R) -> Result<Self, RowError> {
        let (reader, header) = open_csv(input)?;
        let cols = Columns::resolve(&header)
            .map_err(|why| RowError::new(1, None, None, format!("not an Azure cost details file: {why}")))?;
        Ok(Self { reader, header, cols, rec: csv::StringRecord::new() })
    }

    pub fn headers(&self) -> &[String] {
        self.header.names()
    }

    /// Whether the file is a Microsoft Customer Agreement export (else Enterprise Agreement).
    pub fn is_mca(&self) -> bool {
        self.cols.mca
    }
}

impl<R: Read> Iterator for AzureReader<R> {
    type Item = Result<FocusRecord, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = match next_csv(&mut self.reader, &mut self.rec)? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        Some(parse_row(Cells::new(line, &self.rec, &self.header), &self.cols))
    }
}

/// Azure's charge types, as FOCUS sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChargeType {
    Usage,
    Purchase,
    Refund,
    Tax,
    Credit,
    UnusedCommitment,
    RoundingAdjustment,
}

impl ChargeType {
    fn parse(v: &str) -> Option<Self> {
        Some(match v.to_ascii_lowercase().as_str() {
            "usage" => ChargeType::Usage,
            "purchase" => ChargeType::Purchase,
            "refund" => ChargeType::Refund,
            "tax" => ChargeType::Tax,
            "credit" => ChargeType::Credit,
            "unusedreservation" | "unusedsavingsplan" => ChargeType::UnusedCommitment,
            "roundingadjustment" => ChargeType::RoundingAdjustment,
            _ => return None,
        })
    }

    fn category(self) -> ChargeCategory {
        match self {
            ChargeType::Usage | ChargeType::UnusedCommitment => ChargeCategory::Usage,
            ChargeType::Purchase => ChargeCategory::Purchase,
            ChargeType::Refund | ChargeType::Credit => ChargeCategory::Credit,
            ChargeType::Tax => ChargeCategory::Tax,
            ChargeType::RoundingAdjustment => ChargeCategory::Adjustment,
        }
    }
}

fn one_day_later(c: &Cells<'_>, col: &str, t: Timestamp) -> Result<Timestamp, RowError> {
    t.checked_add(Span::new().hours(24))
        .map_err(|e| c.err(col, c.raw(col), format!("is out of range for a date: {e}")))
}

/// `a × b`, exactly, or a row error when the product does not fit.
fn product(c: &Cells<'_>, col: &str, a: Decimal, b: Decimal) -> Result<Decimal, RowError> {
    a.checked_mul(b).ok_or_else(|| c.err(col, c.raw(col), "is too large: the product overflows a decimal"))
}

/// One Azure cost details row as a record.
fn parse_row(c: Cells<'_>, k: &Columns) -> Result<FocusRecord, RowError> {
    let text = |col: &Option<String>| col.as_deref().and_then(|n| c.text(n));
    let opt_decimal = |col: &Option<String>| match col.as_deref() {
        Some(n) => c.opt_decimal(n),
        None => Ok(None),
    };

    let currency_text = c.required(&k.currency)?;
    let billing_currency = Currency::from_str(currency_text)
        .map_err(|e| c.err(&k.currency, Some(currency_text), e.to_string()))?;

    let charge_type_text = c.required(&k.charge_type)?;
    let charge_type = ChargeType::parse(charge_type_text).ok_or_else(|| {
        c.err(
            &k.charge_type,
            Some(charge_type_text),
            "is not an Azure charge type (Usage, Purchase, Refund, Tax, UnusedReservation, \
             UnusedSavingsPlan, RoundingAdjustment)",
        )
    })?;
    let pricing_model = text(&k.pricing_model);
    let model = pricing_model.as_deref().map(|m| m.to_ascii_lowercase().replace(' ', ""));
    let commitment = matches!(model.as_deref(), Some("reservation" | "savingsplan"));

    let cost = c.decimal(&k.cost)?;
    let (billed_cost, effective_cost) = match charge_type {
        ChargeType::UnusedCommitment => (Decimal::ZERO, cost),
        ChargeType::Usage if commitment => (Decimal::ZERO, cost),
        ChargeType::Purchase | ChargeType::Refund if commitment => (cost, Decimal::ZERO),
        _ => (cost, cost),
    };

    let quantity = opt_decimal(&k.quantity)?;
    let rate = opt_decimal(&k.exchange_rate)?.unwrap_or(Decimal::ONE);
    let in_billing = |col: &Option<String>| -> Result<Option<Decimal>, RowError> {
        match (opt_decimal(col)?, col.as_deref()) {
            (Some(p), Some(n)) => Ok(Some(product(&c, n, p, rate)?)),
            _ => Ok(None),
        }
    };
    let list_unit_price = in_billing(&k.payg_price)?;
    let contracted_unit_price = in_billing(&k.unit_price)?;
    let list_cost = match (opt_decimal(&k.payg_cost)?, list_unit_price, quantity) {
        (Some(v), _, _) => v,
        (None, Some(p), Some(q)) => product(&c, k.payg_price.as_deref().unwrap_or(&k.cost), p, q)?,
        _ => cost,
    };
    let contracted_cost = match (contracted_unit_price, quantity) {
        (Some(p), Some(q)) => product(&c, k.unit_price.as_deref().unwrap_or(&k.cost), p, q)?,
        _ => cost,
    };

    let date = c.loose_time(&k.date)?;
    let charge_period_end = one_day_later(&c, &k.date, date)?;
    let (billing_period_start, billing_period_end) = billing_period(&c, k, date)?;

    let (account_id_col, account_name_col) = if k.mca && k.billing_profile_id.is_some() {
        (&k.billing_profile_id, &k.billing_profile_name)
    } else {
        (&k.billing_account_id, &k.billing_account_name)
    };
    let billing_account_id = match account_id_col.as_deref() {
        Some(n) => c.required(n)?.to_string(),
        None => return Err(c.err("BillingAccountId", None, "is required but the file has no such column")),
    };

    let charge_frequency_text = text(&k.frequency);
    let charge_frequency = charge_frequency_text.as_deref().and_then(ChargeFrequency::parse);

    let tags = match k.tags.as_deref().and_then(|n| c.raw(n).map(|v| (n, v))) {
        None => StrMap::new(),
        Some((n, v)) => parse_tags(v).ok_or_else(|| {
            c.err(n, Some(v), "is not a list of tags (expected \"key\": \"value\" pairs, braces optional)")
        })?,
    };

    let meter_category = text(&k.meter_category);
    let service_name = meter_category.clone().or_else(|| text(&k.consumed_service));
    let resource_id = text(&k.resource_id);
    let resource_name = text(&k.resource_name).or_else(|| {
        resource_id
            .as_deref()
            .and_then(|id| id.rsplit('/').next())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    });
    let benefit_id = text(&k.benefit_id);
    let commitment_discount_id = benefit_id.clone().or_else(|| text(&k.reservation_id));
    let is_usage = charge_type == ChargeType::Usage;

    let mut other = StrMap::new();
    let mut keep = |key: &str, v: Option<String>| {
        if let Some(v) = v {
            other.insert(key, v);
        }
    };
    keep("x_ResourceGroup", text(&k.resource_group));
    keep("x_MeterCategory", meter_category.clone());
    keep("x_MeterSubCategory", text(&k.meter_subcategory));
    keep("x_MeterName", text(&k.meter_name));
    keep("x_MeterId", text(&k.meter_id));
    keep("x_CostCenter", text(&k.cost_center));
    keep("x_AdditionalInfo", text(&k.additional_info));
    keep("x_ChargeType", Some(charge_type_text.to_string()));
    keep("x_PricingModel", pricing_model.clone());
    keep("x_InvoiceSectionName", text(&k.invoice_section_name));
    keep("x_EffectivePrice", text(&k.effective_price));
    if charge_frequency.is_none() {
        keep("x_Frequency", charge_frequency_text);
    }
    if k.mca {
        keep("x_BillingAccountId", text(&k.billing_account_id));
        keep("x_BillingAccountName", text(&k.billing_account_name));
    }
    keep("x_BillingProfileId", text(&k.billing_profile_id));
    keep("x_BillingProfileName", text(&k.billing_profile_name));
    keep("CommitmentDiscountName", text(&k.benefit_name).or_else(|| text(&k.reservation_name)));
    let status = if charge_type == ChargeType::UnusedCommitment {
        Some("Unused")
    } else if commitment && is_usage {
        Some("Used")
    } else {
        None
    };
    keep("CommitmentDiscountStatus", status.map(str::to_string));
    let kind = commitment_kind(benefit_id.as_deref(), model.as_deref(), charge_type_text);
    keep("CommitmentDiscountType", kind.map(|(t, _)| t.to_string()));
    keep("CommitmentDiscountCategory", kind.map(|(_, c)| c.to_string()));

    let pricing_category = if charge_type == ChargeType::UnusedCommitment || commitment {
        Some("Committed")
    } else {
        match model.as_deref() {
            Some("ondemand") => Some("Standard"),
            Some("spot") => Some("Dynamic"),
            _ => None,
        }
    };

    Ok(FocusRecord {
        line: c.line,
        billing_account_id,
        billing_account_name: text(account_name_col),
        sub_account_id: text(&k.subscription_id),
        sub_account_name: text(&k.subscription_name),
        provider_name: Some("Microsoft".to_string()),
        publisher_name: Some(text(&k.publisher_name).unwrap_or_else(|| "Microsoft".to_string())),
        invoice_issuer_name: Some(text(&k.partner_name).unwrap_or_else(|| "Microsoft".to_string())),
        invoice_id: text(&k.invoice_id),
        billing_period_start,
        billing_period_end,
        charge_period_start: date,
        charge_period_end,
        charge_category: charge_type.category(),
        charge_class: (charge_type == ChargeType::Refund).then(|| "Correction".to_string()),
        charge_frequency,
        charge_description: text(&k.product_name),
        billing_currency,
        billed_cost,
        effective_cost,
        list_cost,
        contracted_cost: Some(contracted_cost),
        pricing_quantity: quantity,
        pricing_unit: text(&k.unit),
        consumed_quantity: if is_usage { quantity } else { None },
        consumed_unit: if is_usage { text(&k.unit) } else { None },
        pricing_category: pricing_category.map(str::to_string),
        list_unit_price,
        contracted_unit_price,
        service_category: service_name.as_deref().map(|s| service_category(s).to_string()),
        service_name,
        region_id: text(&k.location).map(|l| l.to_ascii_lowercase().replace(' ', "")),
        resource_id,
        resource_name,
        sku_id: text(&k.product_id).or_else(|| text(&k.meter_id)),
        commitment_discount_id,
        tags,
        other,
    })
}

/// The billing period: the file's dates (end made exclusive), or the calendar month of the charge.
fn billing_period(c: &Cells<'_>, k: &Columns, date: Timestamp) -> Result<(Timestamp, Timestamp), RowError> {
    let start_col = k.period_start.as_deref().filter(|n| c.raw(n).is_some());
    let end_col = k.period_end.as_deref().filter(|n| c.raw(n).is_some());
    let month_of = |t: Timestamp| -> Result<(Timestamp, Timestamp), RowError> {
        let first = t.to_zoned(TimeZone::UTC).date().first_of_month();
        let next = first.checked_add(Span::new().months(1));
        let utc = |d: jiff::civil::Date| d.to_zoned(TimeZone::UTC).map(|z| z.timestamp());
        match next.map(|n| (utc(first), utc(n))) {
            Ok((Ok(s), Ok(e))) => Ok((s, e)),
            _ => Err(c.err(&k.date, c.raw(&k.date), "is out of range for a date")),
        }
    };
    match (start_col, end_col) {
        (Some(s), Some(e)) => {
            let start = c.loose_time(s)?;
            let end = one_day_later(c, e, c.loose_time(e)?)?;
            Ok((start, end))
        }
        (Some(s), None) => {
            let start = c.loose_time(s)?;
            Ok((start, month_of(start)?.1))
        }
        (None, Some(e)) => {
            let end = one_day_later(c, e, c.loose_time(e)?)?;
            Ok((month_of(date)?.0, end))
        }
        (None, None) => month_of(date),
    }
}

/// The commitment's FOCUS type and category: from the benefit id's provider as Microsoft does
/// (`/microsoft.capacity/` → Reservation / Usage, `/microsoft.billingbenefits/` → Savings Plan / Spend), else
/// from the pricing model or charge type.
fn commitment_kind(
    benefit_id: Option<&str>,
    model: Option<&str>,
    charge_type: &str,
) -> Option<(&'static str, &'static str)> {
    const RESERVATION: (&str, &str) = ("Reservation", "Usage");
    const SAVINGS_PLAN: (&str, &str) = ("Savings Plan", "Spend");
    if let Some(id) = benefit_id.map(str::to_ascii_lowercase) {
        if id.contains("/microsoft.capacity/") {
            return Some(RESERVATION);
        }
        if id.contains("/microsoft.billingbenefits/") {
            return Some(SAVINGS_PLAN);
        }
    }
    match (model, charge_type.to_ascii_lowercase().as_str()) {
        (_, "unusedreservation") | (Some("reservation"), _) => Some(RESERVATION),
        (_, "unusedsavingsplan") | (Some("savingsplan"), _) => Some(SAVINGS_PLAN),
        _ => None,
    }
}

/// The FOCUS 1.2 ServiceCategory of an Azure meter category (or consumed service), after the categories
/// Microsoft's FinOps toolkit gives its services. Unknown services are `Other`.
pub fn service_category(meter_category: &str) -> &'static str {
    let m = meter_category.trim().to_ascii_lowercase();
    let m = m.strip_prefix("microsoft.").unwrap_or(&m);
    const EXACT: &[(&str, &str)] = &[
        ("virtual machines", "Compute"),
        ("virtual machines licenses", "Compute"),
        ("virtual machine licenses", "Compute"),
        ("virtual machine scale sets", "Compute"),
        ("cloud services", "Compute"),
        ("azure app service", "Web"),
        ("app service", "Web"),
        ("azure container instances", "Compute"),
        ("container instances", "Compute"),
        ("container registry", "Compute"),
        ("azure container apps", "Compute"),
        ("azure kubernetes service", "Compute"),
        ("functions", "Compute"),
        ("azure functions", "Compute"),
        ("batch", "Compute"),
        ("azure vmware solution", "Compute"),
        ("azure dedicated host", "Compute"),
        ("azure spring apps", "Compute"),
        ("service fabric", "Compute"),
        ("azure virtual desktop", "Compute"),
        ("windows virtual desktop", "Compute"),
        ("storage", "Storage"),
        ("backup", "Storage"),
        ("azure netapp files", "Storage"),
        ("azure data lake storage", "Storage"),
        ("data lake store", "Storage"),
        ("azure data box", "Storage"),
        ("site recovery", "Storage"),
        ("azure site recovery", "Storage"),
        ("sql database", "Databases"),
        ("sql managed instance", "Databases"),
        ("azure database for mysql", "Databases"),
        ("azure database for postgresql", "Databases"),
        ("azure database for mariadb", "Databases"),
        ("azure cosmos db", "Databases"),
        ("redis cache", "Databases"),
        ("azure cache for redis", "Databases"),
        ("sql server", "Databases"),
        ("azure confidential ledger", "Databases"),
        ("virtual network", "Networking"),
        ("bandwidth", "Networking"),
        ("load balancer", "Networking"),
        ("vpn gateway", "Networking"),
        ("application gateway", "Networking"),
        ("azure dns", "Networking"),
        ("dns", "Networking"),
        ("network watcher", "Networking"),
        ("expressroute", "Networking"),
        ("azure front door service", "Networking"),
        ("azure front door", "Networking"),
        ("content delivery network", "Networking"),
        ("ip addresses", "Networking"),
        ("virtual wan", "Networking"),
        ("nat gateway", "Networking"),
        ("traffic manager", "Networking"),
        ("azure bastion", "Networking"),
        ("azure private link", "Networking"),
        ("azure firewall", "Networking"),
        ("azure ddos protection", "Networking"),
        ("azure synapse analytics", "Analytics"),
        ("sql data warehouse", "Analytics"),
        ("azure databricks", "Analytics"),
        ("hdinsight", "Analytics"),
        ("azure data explorer", "Analytics"),
        ("stream analytics", "Analytics"),
        ("power bi embedded", "Analytics"),
        ("power bi", "Analytics"),
        ("azure analysis services", "Analytics"),
        ("data lake analytics", "Analytics"),
        ("azure managed grafana", "Analytics"),
        ("microsoft fabric", "Analytics"),
        ("azure data factory", "Integration"),
        ("azure data factory v2", "Integration"),
        ("data factory", "Integration"),
        ("event hubs", "Integration"),
        ("service bus", "Integration"),
        ("event grid", "Integration"),
        ("logic apps", "Integration"),
        ("api management", "Integration"),
        ("azure communication services", "Integration"),
        ("automation", "Integration"),
        ("cognitive services", "AI and Machine Learning"),
        ("azure ai services", "AI and Machine Learning"),
        ("azure openai", "AI and Machine Learning"),
        ("azure openai service", "AI and Machine Learning"),
        ("azure machine learning", "AI and Machine Learning"),
        ("machine learning studio", "AI and Machine Learning"),
        ("azure bot service", "AI and Machine Learning"),
        ("azure cognitive search", "AI and Machine Learning"),
        ("azure ai search", "AI and Machine Learning"),
        ("signalr", "Web"),
        ("azure signalr service", "Web"),
        ("azure web pubsub", "Web"),
        ("azure maps", "Web"),
        ("static web apps", "Web"),
        ("azure monitor", "Management and Governance"),
        ("log analytics", "Management and Governance"),
        ("insight and analytics", "Management and Governance"),
        ("application insights", "Management and Governance"),
        ("advisor", "Management and Governance"),
        ("azure policy", "Management and Governance"),
        ("azure lighthouse", "Management and Governance"),
        ("azure chaos studio", "Management and Governance"),
        ("azure reservations", "Management and Governance"),
        ("microsoft defender for cloud", "Security"),
        ("azure defender", "Security"),
        ("security center", "Security"),
        ("key vault", "Security"),
        ("azure key vault", "Security"),
        ("sentinel", "Security"),
        ("microsoft sentinel", "Security"),
        ("azure sentinel", "Security"),
        ("azure active directory", "Identity"),
        ("azure active directory b2c", "Identity"),
        ("azure active directory domain services", "Identity"),
        ("microsoft entra id", "Identity"),
        ("microsoft entra domain services", "Identity"),
        ("multi-factor authentication", "Identity"),
        ("iot hub", "Internet of Things"),
        ("azure iot hub", "Internet of Things"),
        ("iot central", "Internet of Things"),
        ("azure iot central", "Internet of Things"),
        ("azure digital twins", "Internet of Things"),
        ("time series insights", "Internet of Things"),
        ("azure sphere", "Internet of Things"),
        ("media services", "Media"),
        ("azure media services", "Media"),
        ("video indexer", "Media"),
        ("azure video indexer", "Media"),
        ("azure migrate", "Migration"),
        ("azure database migration service", "Migration"),
        ("notification hubs", "Mobile"),
        ("azure devops", "Developer Tools"),
        ("visual studio", "Developer Tools"),
        ("github", "Developer Tools"),
        ("azure devtest labs", "Developer Tools"),
        ("app configuration", "Developer Tools"),
        ("azure load testing", "Developer Tools"),
        ("app center", "Developer Tools"),
        ("azure arc", "Multicloud"),
        ("azure stack", "Multicloud"),
        ("azure stack hci", "Multicloud"),
        ("dynamics 365", "Business Applications"),
        ("power platform", "Business Applications"),
        ("power apps", "Business Applications"),
        ("power automate", "Business Applications"),
    ];
    if let Some((_, cat)) = EXACT.iter().find(|(k, _)| *k == m) {
        return cat;
    }
    // Consumed services (`Microsoft.Compute`) and meter categories not in the table, by keyword.
    const KEYWORDS: &[(&str, &str)] = &[
        ("synapse", "Analytics"),
        ("databricks", "Analytics"),
        ("analytics", "Analytics"),
        ("datafactory", "Integration"),
        ("data factory", "Integration"),
        ("eventhub", "Integration"),
        ("servicebus", "Integration"),
        ("sql", "Databases"),
        ("database", "Databases"),
        ("cosmos", "Databases"),
        ("redis", "Databases"),
        ("cache", "Databases"),
        ("storage", "Storage"),
        ("backup", "Storage"),
        ("recoveryservices", "Storage"),
        ("compute", "Compute"),
        ("virtual machine", "Compute"),
        ("kubernetes", "Compute"),
        ("container", "Compute"),
        ("network", "Networking"),
        ("gateway", "Networking"),
        ("bandwidth", "Networking"),
        ("cdn", "Networking"),
        ("front door", "Networking"),
        ("openai", "AI and Machine Learning"),
        ("cognitive", "AI and Machine Learning"),
        ("machine learning", "AI and Machine Learning"),
        ("machinelearning", "AI and Machine Learning"),
        ("web", "Web"),
        ("insights", "Management and Governance"),
        ("monitor", "Management and Governance"),
        ("operationalinsights", "Management and Governance"),
        ("security", "Security"),
        ("defender", "Security"),
        ("keyvault", "Security"),
        ("key vault", "Security"),
        ("aad", "Identity"),
        ("active directory", "Identity"),
        ("entra", "Identity"),
        ("iot", "Internet of Things"),
        ("media", "Media"),
        ("migrat", "Migration"),
        ("devops", "Developer Tools"),
    ];
    KEYWORDS.iter().find(|(k, _)| m.contains(k)).map(|(_, cat)| *cat).unwrap_or("Other")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cells::parse_decimal;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn fixture() -> PathBuf {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/azure-ea/sample-anonymous-ea-export-dataset.csv");
        assert!(p.exists(), "fixture {} is missing", p.display());
        p
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn read(data: &str) -> Vec<Result<FocusRecord, RowError>> {
        AzureReader::open(data.as_bytes()).unwrap().collect()
    }

    /// BilledCost and EffectiveCost per currency by a second, simpler path: the csv crate and the decimal
    /// parser over the raw cost column, with the documented commitment rules written out again.
    fn independent_totals(path: &PathBuf) -> BTreeMap<String, (Decimal, Decimal)> {
        let mut r = csv::Reader::from_path(path).unwrap();
        let h: Vec<String> =
            r.headers().unwrap().iter().map(|s| s.trim_start_matches('\u{feff}').to_string()).collect();
        let col = |n: &str| h.iter().position(|x| x == n).unwrap();
        let (cost, cur, ct, pm) = (
            col("CostInBillingCurrency"),
            col("BillingCurrencyCode"),
            col("ChargeType"),
            col("PricingModel"),
        );
        let mut out: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
        for rec in r.records() {
            let rec = rec.unwrap();
            let v = parse_decimal(&rec[cost]).unwrap();
            let committed = &rec[pm] == "Reservation" || &rec[pm] == "SavingsPlan";
            let t = out.entry(rec[cur].to_string()).or_default();
            match &rec[ct] {
                "UnusedReservation" | "UnusedSavingsPlan" => t.1 += v,
                "Usage" if committed => t.1 += v,
                "Purchase" | "Refund" if committed => t.0 += v,
                _ => {
                    t.0 += v;
                    t.1 += v;
                }
            }
        }
        out
    }

    #[test]
    fn reads_the_ea_fixture_exactly() {
        let path = fixture();
        let reader = AzureReader::open(std::fs::File::open(&path).unwrap()).unwrap();
        assert!(!reader.is_mca());
        let records: Vec<FocusRecord> = reader.collect::<Result<_, _>>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(records.len(), 27);
        let mut totals: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
        for r in &records {
            let t = totals.entry(r.billing_currency.code().to_string()).or_default();
            t.0 += r.billed_cost;
            t.1 += r.effective_cost;
        }
        let expected = independent_totals(&path);
        assert_eq!(expected.len(), 1);
        assert!(expected.contains_key("CAD"));
        assert_eq!(totals, expected, "totals to the last digit");

        let first = &records[0];
        assert_eq!(first.line, 2);
        assert_eq!(first.tags.len(), 3);
        assert_eq!(first.tags.get("tagA").map(String::as_str), Some("valueA"));
        assert_eq!(first.tags.get("tagC").map(String::as_str), Some("valueC"));
        assert_eq!(first.charge_period_start, ts("2023-09-02T00:00:00Z"));
        assert_eq!(first.charge_period_end, ts("2023-09-03T00:00:00Z"));
        assert_eq!(first.billing_period_start, ts("2023-09-01T00:00:00Z"));
        assert_eq!(first.billing_period_end, ts("2023-10-01T00:00:00Z"), "exclusive end");
        assert_eq!(first.charge_category, ChargeCategory::Usage);
        assert_eq!(first.charge_frequency, Some(ChargeFrequency::UsageBased));
        assert_eq!(first.billing_account_id, "12345678");
        assert_eq!(first.billing_account_name.as_deref(), Some("Example LTD."));
        assert_eq!(first.sub_account_id.as_deref(), Some("e18e1552-c6dd-45d1-973c-999999999999"));
        assert_eq!(first.sub_account_name.as_deref(), Some("sub-example"));
        assert_eq!(first.provider_name.as_deref(), Some("Microsoft"));
        assert_eq!(first.publisher_name.as_deref(), Some("Microsoft"), "empty PublisherName");
        assert_eq!(first.service_name.as_deref(), Some("Virtual Network"));
        assert_eq!(first.service_category.as_deref(), Some("Networking"));
        assert_eq!(first.region_id.as_deref(), Some("centralus"));
        assert_eq!(first.sku_id.as_deref(), Some("59bc01e3-9d3e-4b9f-baef-35e696aad6c4"));
        assert_eq!(first.pricing_unit.as_deref(), Some("1 GB"));
        assert_eq!(first.pricing_category.as_deref(), Some("Standard"));
        assert_eq!(first.billed_cost.to_string(), "0.000305367");
        // ListCost = PayGPrice × Quantity = 0.40000 × 0.027265128; ContractedCost = 0.1 × 0.027265128.
        assert_eq!(first.list_cost.to_string(), "0.01090605120000");
        assert_eq!(first.contracted_cost.map(|d| d.to_string()).as_deref(), Some("0.0027265128"));
        assert_eq!(first.other.get("x_ResourceGroup").map(String::as_str), Some("rg-example"));
        assert_eq!(first.other.get("x_ChargeType").map(String::as_str), Some("Usage"));
        assert!(first.other.get("x_AdditionalInfo").is_some_and(|v| v.contains("meta-data")));
        assert!(!first.other.contains_key("x_CostCenter"), "empty CostCenter stays out");

        let second = &records[1];
        assert_eq!(second.billed_cost.to_string(), "0.0000564902", "scientific notation, exact");
        assert_eq!(second.service_category.as_deref(), Some("Storage"));
        let spot = records.iter().find(|r| r.other.get("x_PricingModel").map(String::as_str) == Some("Spot"));
        assert_eq!(spot.and_then(|r| r.pricing_category.as_deref()), Some("Dynamic"));
        assert!(records.iter().any(|r| r.service_category.as_deref() == Some("Compute")));
    }

    const MCA_HEADER: &str = "invoiceId,billingAccountId,billingAccountName,billingProfileId,\
        billingProfileName,billingPeriodStartDate,billingPeriodEndDate,date,subscriptionId,subscriptionName,\
        meterCategory,meterId,productId,productName,resourceLocation,resourceId,quantity,unitOfMeasure,\
        paygPrice,unitPrice,exchangeRatePricingToBilling,costInBillingCurrency,billingCurrency,chargeType,\
        pricingModel,frequency,publisherName,benefitId,benefitName,tags";

    #[test]
    fn mca_casing_and_every_charge_type() {
        let ri = "/providers/Microsoft.Capacity/reservationOrders/o1/reservations/r1";
        let rows = [
            // Purchase of a reservation, actual cost.
            format!(
                "INV-1,acct:1,Contoso,BP-1,Contoso Profile,2026-05-01,2026-05-31,05/01/2026,sub-1,Prod,\
                 Virtual Machines,m1,p1,Reservation D2s,eastus,,1,1 Unit,,,1,1200.00,USD,Purchase,\
                 Reservation,OneTime,Microsoft,{ri},ri-one,"
            ),
            // Refund of the same reservation.
            format!(
                "INV-1,acct:1,Contoso,BP-1,Contoso Profile,2026-05-01,2026-05-31,05/02/2026,sub-1,Prod,\
                 Virtual Machines,m1,p1,Reservation D2s,eastus,,1,1 Unit,,,1,-300.00,USD,Refund,Reservation,\
                 OneTime,Microsoft,{ri},ri-one,"
            ),
            // Unused reservation hours, amortized cost.
            format!(
                "INV-1,acct:1,Contoso,BP-1,Contoso Profile,2026-05-01,2026-05-31,05/03/2026,sub-1,Prod,\
                 Virtual Machines,m2,p2,D2s v5,eastus,,4,1 Hour,0.10,0.08,1,0.25,USD,UnusedReservation,\
                 Reservation,UsageBased,Microsoft,{ri},ri-one,"
            ),
            // Usage covered by the reservation, amortized cost, with a resource and tags.
            format!(
                "INV-1,acct:1,Contoso,BP-1,Contoso Profile,2026-05-01,2026-05-31,05/03/2026,sub-1,Prod,\
                 Virtual Machines,m2,p2,D2s v5,East US,/subscriptions/sub-1/resourceGroups/rg/providers/\
                 Microsoft.Compute/virtualMachines/vm-7,20,1 Hour,0.10,0.08,1.5,1.25,USD,Usage,Reservation,\
                 UsageBased,Microsoft,{ri},ri-one,\"\"\"env\"\": \"\"prod\"\"\""
            ),
            // Rounding adjustment.
            "INV-1,acct:1,Contoso,BP-1,Contoso Profile,2026-05-01,2026-05-31,05/31/2026,sub-1,Prod,\
             ,,,,,,,,,,,0.01,USD,RoundingAdjustment,,,,,,"
                .to_string(),
            // Tax.
            "INV-1,acct:1,Contoso,BP-1,Contoso Profile,2026-05-01,2026-05-31,05/31/2026,,,,,,,,,,,,,,\
             96.40,USD,Tax,,OneTime,,,,"
                .to_string(),
        ];
        let data = format!("{MCA_HEADER}\n{}\n", rows.join("\n"));
        let reader = AzureReader::open(data.as_bytes()).unwrap();
        assert!(reader.is_mca());
        let r: Vec<FocusRecord> = reader.collect::<Result<_, _>>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.len(), 6);

        let cat: Vec<ChargeCategory> = r.iter().map(|x| x.charge_category).collect();
        use ChargeCategory::*;
        assert_eq!(cat, [Purchase, Credit, Usage, Usage, Adjustment, Tax]);
        let costs: Vec<(String, String)> =
            r.iter().map(|x| (x.billed_cost.to_string(), x.effective_cost.to_string())).collect();
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            costs,
            [
                pair("1200.00", "0"),
                pair("-300.00", "0"),
                pair("0", "0.25"),
                pair("0", "1.25"),
                pair("0.01", "0.01"),
                pair("96.40", "96.40"),
            ]
        );

        // MCA: the billing profile is the FOCUS billing account.
        assert_eq!(r[0].billing_account_id, "BP-1");
        assert_eq!(r[0].billing_account_name.as_deref(), Some("Contoso Profile"));
        assert_eq!(r[0].other.get("x_BillingAccountId").map(String::as_str), Some("acct:1"));
        assert_eq!(r[0].invoice_id.as_deref(), Some("INV-1"));
        assert_eq!(r[0].charge_frequency, Some(ChargeFrequency::OneTime));
        assert_eq!(r[0].commitment_discount_id.as_deref(), Some(ri));
        assert_eq!(r[0].other.get("CommitmentDiscountType").map(String::as_str), Some("Reservation"));
        assert_eq!(r[0].billing_period_end, ts("2026-06-01T00:00:00Z"));
        assert_eq!(r[0].charge_period_start, ts("2026-05-01T00:00:00Z"));
        assert_eq!(r[0].sku_id.as_deref(), Some("p1"), "MCA SkuId is the product id");

        assert_eq!(r[1].charge_class.as_deref(), Some("Correction"), "a refund corrects");

        assert_eq!(r[2].pricing_category.as_deref(), Some("Committed"));
        assert_eq!(r[2].other.get("CommitmentDiscountStatus").map(String::as_str), Some("Unused"));
        assert_eq!(r[2].other.get("CommitmentDiscountCategory").map(String::as_str), Some("Usage"));
        assert_eq!(r[2].consumed_quantity, None, "unused hours are not consumption");

        let used = &r[3];
        assert_eq!(used.other.get("CommitmentDiscountStatus").map(String::as_str), Some("Used"));
        assert_eq!(used.region_id.as_deref(), Some("eastus"), "lower-cased, spaces removed");
        assert_eq!(used.resource_name.as_deref(), Some("vm-7"), "last segment of the resource id");
        assert_eq!(used.tags.get("env").map(String::as_str), Some("prod"));
        // Prices in the pricing currency, turned into the billing currency by the exchange rate.
        assert_eq!(used.list_unit_price.map(|d| d.to_string()).as_deref(), Some("0.150"));
        assert_eq!(used.list_cost.to_string(), "3.000");
        assert_eq!(used.contracted_cost.map(|d| d.to_string()).as_deref(), Some("2.400"));
        assert_eq!(used.consumed_quantity.map(|d| d.to_string()).as_deref(), Some("20"));

        assert_eq!(r[4].list_cost.to_string(), "0.01", "no prices: list cost is the cost");
        assert_eq!(r[4].service_name, None);
        assert_eq!(r[5].sub_account_id, None);
    }

    #[test]
    fn bad_rows_are_named_and_other_files_refused() {
        let e = AzureReader::open("BilledCost,ChargeCategory\n1,Usage\n".as_bytes()).unwrap_err();
        assert_eq!(e.row, 1);
        assert_eq!(
            e.reason,
            "not an Azure cost details file: the header lacks CostInBillingCurrency (or \
             costInBillingCurrency, Cost), ChargeType, Date, BillingCurrencyCode (or billingCurrency), \
             SubscriptionId (or SubscriptionGuid)"
        );
        let header = "SubscriptionGuid,Date,Cost,BillingCurrencyCode,ChargeType,BillingAccountId";
        assert!(detect(&Header::new(header.split(','))).is_ok(), "older EA spellings");
        let data = format!(
            "{header}\r\ns1,9/2/2023,1.5,CAD,Usage,A\r\ns1,9/2/2023,1.5,CAD,Discount,A\r\n\
             s1,9/2/2023,1.5x,CAD,Usage,A\r\ns1,9/31/2023,1.5,CAD,Usage,A\r\ns1,9/2/2023,1.5,XXX,Usage,A\r\n"
        );
        let rows = read(&data);
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
                (3, "ChargeType".into(), "Discount".into()),
                (4, "Cost".into(), "1.5x".into()),
                (5, "Date".into(), "9/31/2023".into()),
                (6, "BillingCurrencyCode".into(), "XXX".into()),
            ]
        );
        let e = rows[1].as_ref().unwrap_err();
        assert!(e.reason.starts_with("is not an Azure charge type"), "{}", e.reason);
        assert_eq!(rows[2].as_ref().unwrap_err().reason, "is not a decimal number");
        assert!(rows[3].as_ref().unwrap_err().reason.starts_with("is not a date"));

        // camelCase names are reported as written.
        let data = format!(
            "{MCA_HEADER}\n{}\n",
            "I,a,A,B,P,2026-05-01,2026-05-31,05/01/2026,s,S,,,,,,,,,,,,oops,USD,Usage,,,,,,"
        );
        let e = read(&data).remove(0).unwrap_err();
        assert_eq!(
            (e.row, e.column.as_deref(), e.value.as_deref()),
            (2, Some("costInBillingCurrency"), Some("oops"))
        );
    }

    #[test]
    fn service_categories_are_focus_values() {
        assert_eq!(service_category("Virtual Machines"), "Compute");
        assert_eq!(service_category("SQL Database"), "Databases");
        assert_eq!(service_category("Bandwidth"), "Networking");
        assert_eq!(service_category("Azure Data Factory v2"), "Integration");
        assert_eq!(service_category("Event Hubs"), "Integration");
        assert_eq!(service_category("Microsoft.Storage"), "Storage");
        assert_eq!(service_category("Something New"), "Other");
    }
}
