//! A streaming reader of the AWS Cost and Usage Report (CSV), both the legacy CUR (`lineItem/UnblendedCost`,
//! `resourceTags/user:env`, ...) and CUR 2.0 (`line_item_unblended_cost`, a `resource_tags` JSON map, ...),
//! the flavour told by the header. Each line item comes out as a FOCUS-shaped [`FocusRecord`], following AWS's
//! own CUR-to-FOCUS conversion (the "FOCUS 1.x with AWS columns" export and the amortized-cost rules of the
//! CUR query library). Every cost is an exact decimal; scientific notation, empty cells, a byte-order mark and
//! CRLF are absorbed. Anything else wrong with a row is a [`RowError`] naming row, column, value and why.
//!
//! Both flavours are read through one table of logical columns ([`Col`]: the legacy name and the CUR 2.0
//! name), so the row mapping below is written once.

use crate::cells::{Cells, Header, next_csv, open_csv, present};
use crate::record::{ChargeCategory, ChargeFrequency, FocusRecord};
use crate::table::{CrlfToLf, RowError};
use itemize_core::Currency;
use jiff::Timestamp;
use rust_decimal::Decimal;
use std::io::Read;
use std::str::FromStr;

/// Which Cost and Usage Report a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurVersion {
    /// The legacy CUR: `category/ColumnName` headers, one `resourceTags/...` column per tag.
    Legacy,
    /// CUR 2.0 (Data Exports): snake_case headers, tags and product attributes as JSON map columns.
    V2,
}

/// One logical CUR column: its legacy name and its CUR 2.0 name.
#[derive(Debug, Clone, Copy)]
struct Col {
    legacy: &'static str,
    v2: &'static str,
}

impl Col {
    const fn new(legacy: &'static str, v2: &'static str) -> Self {
        Col { legacy, v2 }
    }

    fn name(self, version: CurVersion) -> &'static str {
        match version {
            CurVersion::Legacy => self.legacy,
            CurVersion::V2 => self.v2,
        }
    }
}

const LINE_ITEM_ID: Col = Col::new("identity/LineItemId", "identity_line_item_id");
const BILL_TYPE: Col = Col::new("bill/BillType", "bill_bill_type");
const BILLING_ENTITY: Col = Col::new("bill/BillingEntity", "bill_billing_entity");
const INVOICING_ENTITY: Col = Col::new("bill/InvoicingEntity", "bill_invoicing_entity");
const INVOICE_ID: Col = Col::new("bill/InvoiceId", "bill_invoice_id");
const PAYER_ACCOUNT_ID: Col = Col::new("bill/PayerAccountId", "bill_payer_account_id");
const PAYER_ACCOUNT_NAME: Col = Col::new("bill/PayerAccountName", "bill_payer_account_name");
const BILLING_PERIOD_START: Col = Col::new("bill/BillingPeriodStartDate", "bill_billing_period_start_date");
const BILLING_PERIOD_END: Col = Col::new("bill/BillingPeriodEndDate", "bill_billing_period_end_date");
const USAGE_ACCOUNT_ID: Col = Col::new("lineItem/UsageAccountId", "line_item_usage_account_id");
const USAGE_ACCOUNT_NAME: Col = Col::new("lineItem/UsageAccountName", "line_item_usage_account_name");
const LINE_ITEM_TYPE: Col = Col::new("lineItem/LineItemType", "line_item_line_item_type");
const USAGE_START: Col = Col::new("lineItem/UsageStartDate", "line_item_usage_start_date");
const USAGE_END: Col = Col::new("lineItem/UsageEndDate", "line_item_usage_end_date");
const PRODUCT_CODE: Col = Col::new("lineItem/ProductCode", "line_item_product_code");
const USAGE_TYPE: Col = Col::new("lineItem/UsageType", "line_item_usage_type");
const OPERATION: Col = Col::new("lineItem/Operation", "line_item_operation");
const AVAILABILITY_ZONE: Col = Col::new("lineItem/AvailabilityZone", "line_item_availability_zone");
const RESOURCE_ID: Col = Col::new("lineItem/ResourceId", "line_item_resource_id");
const USAGE_AMOUNT: Col = Col::new("lineItem/UsageAmount", "line_item_usage_amount");
const CURRENCY: Col = Col::new("lineItem/CurrencyCode", "line_item_currency_code");
const UNBLENDED_COST: Col = Col::new("lineItem/UnblendedCost", "line_item_unblended_cost");
const BLENDED_COST: Col = Col::new("lineItem/BlendedCost", "line_item_blended_cost");
const DESCRIPTION: Col = Col::new("lineItem/LineItemDescription", "line_item_line_item_description");
const TAX_TYPE: Col = Col::new("lineItem/TaxType", "line_item_tax_type");
const LEGAL_ENTITY: Col = Col::new("lineItem/LegalEntity", "line_item_legal_entity");
const PRODUCT_NAME: Col = Col::new("product/ProductName", "product_product_name");
const REGION_CODE: Col = Col::new("product/regionCode", "product_region_code");
const REGION: Col = Col::new("product/region", "product_region");
const LOCATION: Col = Col::new("product/location", "product_location");
const SKU: Col = Col::new("product/sku", "product_sku");
const PUBLIC_ON_DEMAND_COST: Col = Col::new("pricing/publicOnDemandCost", "pricing_public_on_demand_cost");
const PUBLIC_ON_DEMAND_RATE: Col = Col::new("pricing/publicOnDemandRate", "pricing_public_on_demand_rate");
const PRICING_UNIT: Col = Col::new("pricing/unit", "pricing_unit");
const RI_ARN: Col = Col::new("reservation/ReservationARN", "reservation_reservation_a_r_n");
const RI_EFFECTIVE_COST: Col = Col::new("reservation/EffectiveCost", "reservation_effective_cost");
const RI_UNUSED_UPFRONT: Col = Col::new(
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
);
const RI_UNUSED_RECURRING: Col =
    Col::new("reservation/UnusedRecurringFee", "reservation_unused_recurring_fee");
const SP_ARN: Col = Col::new("savingsPlan/SavingsPlanARN", "savings_plan_savings_plan_a_r_n");
const SP_EFFECTIVE_COST: Col =
    Col::new("savingsPlan/SavingsPlanEffectiveCost", "savings_plan_savings_plan_effective_cost");
const SP_TOTAL_COMMITMENT: Col =
    Col::new("savingsPlan/TotalCommitmentToDate", "savings_plan_total_commitment_to_date");
const SP_USED_COMMITMENT: Col = Col::new("savingsPlan/UsedCommitment", "savings_plan_used_commitment");

/// CUR 2.0's map columns: product attributes without a column of their own, and the resource tags.
const V2_PRODUCT_MAP: &str = "product";
const V2_TAG_MAP: &str = "resource_tags";

/// Columns without which a file is not a Cost and Usage Report (`lineItem/UnblendedCost` tells the flavour).
const REQUIRED: &[Col] = &[
    UNBLENDED_COST,
    LINE_ITEM_TYPE,
    CURRENCY,
    PAYER_ACCOUNT_ID,
    BILLING_PERIOD_START,
    BILLING_PERIOD_END,
    USAGE_START,
    USAGE_END,
];

/// The CUR flavour a header follows, or (as one line) why it is not a Cost and Usage Report.
pub fn detect(header: &Header) -> Result<CurVersion, String> {
    let version = if header.has(UNBLENDED_COST.legacy) {
        CurVersion::Legacy
    } else if header.has(UNBLENDED_COST.v2) {
        CurVersion::V2
    } else {
        return Err(format!(
            "the header lacks {} (legacy) and {} (CUR 2.0)",
            UNBLENDED_COST.legacy, UNBLENDED_COST.v2
        ));
    };
    let names: Vec<&str> = REQUIRED.iter().map(|c| c.name(version)).collect();
    let missing = header.missing(&names);
    if missing.is_empty() {
        Ok(version)
    } else {
        Err(format!("the header has {} but lacks {}", UNBLENDED_COST.name(version), missing.join(", ")))
    }
}

/// What the header says about where tags are: one column per tag (legacy `resourceTags/user:team`, or the
/// flattened `resource_tags_user_team` some CUR 2.0 / Athena exports write), with the tag key each holds.
#[derive(Debug, Clone)]
struct Layout {
    version: CurVersion,
    tag_columns: Vec<(usize, String)>,
}

impl Layout {
    fn new(header: &Header, version: CurVersion) -> Self {
        let tag_columns = header
            .names()
            .iter()
            .enumerate()
            .filter_map(|(i, h)| tag_key_of_column(h).map(|k| (i, k)))
            .collect();
        Layout { version, tag_columns }
    }
}

/// The tag key a per-tag column holds: `resourceTags/user:team` → `team`, `resourceTags/aws:createdBy` →
/// `aws:createdBy`, `resource_tags_user_team` → `team`.
fn tag_key_of_column(h: &str) -> Option<String> {
    let key = if let Some(k) = h.strip_prefix("resourceTags/") {
        k.strip_prefix("user:").unwrap_or(k)
    } else if let Some(k) = h.strip_prefix("resource_tags_") {
        k.strip_prefix("user_").unwrap_or(k)
    } else {
        return None;
    };
    if key.is_empty() { None } else { Some(key.to_string()) }
}

/// Reads one Cost and Usage Report row by row; an iterator of FOCUS-shaped records in file order.
#[derive(Debug)]
pub struct CurReader<R: Read> {
    reader: csv::Reader<CrlfToLf<R>>,
    header: Header,
    layout: Layout,
    rec: csv::StringRecord,
}

impl<R: Read> CurReader<R> {
    /// Reads the header and tells the flavour; a file that is not a CUR is refused (row 1) saying why.
    pub fn open(input: R) -> Result<Self, RowError> {
        let (reader, header) = open_csv(input)?;
        let version = detect(&header).map_err(|why| {
            RowError::new(1, None, None, format!("not an AWS Cost and Usage Report: {why}"))
        })?;
        let layout = Layout::new(&header, version);
        Ok(Self { reader, header, layout, rec: csv::StringRecord::new() })
    }

    pub fn version(&self) -> CurVersion {
        self.layout.version
    }

    pub fn headers(&self) -> &[String] {
        self.header.names()
    }
}

impl<R: Read> Iterator for CurReader<R> {
    type Item = Result<FocusRecord, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = match next_csv(&mut self.reader, &mut self.rec)? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        Some(map_row(Cells::new(line, &self.rec, &self.header), &self.layout))
    }
}

/// AWS's line-item types (`lineItem/LineItemType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineItemType {
    Usage,
    DiscountedUsage,
    SavingsPlanCoveredUsage,
    SavingsPlanNegation,
    Fee,
    RiFee,
    SavingsPlanUpfrontFee,
    SavingsPlanRecurringFee,
    Tax,
    Credit,
    Refund,
    /// EdpDiscount, BundledDiscount, Discount, PrivateRateDiscount, DistributorDiscount, RiVolumeDiscount,
    /// SppDiscount.
    Discount,
}

const LINE_ITEM_TYPES: &[(&str, LineItemType)] = &[
    ("Usage", LineItemType::Usage),
    ("DiscountedUsage", LineItemType::DiscountedUsage),
    ("SavingsPlanCoveredUsage", LineItemType::SavingsPlanCoveredUsage),
    ("SavingsPlanNegation", LineItemType::SavingsPlanNegation),
    ("Fee", LineItemType::Fee),
    ("RIFee", LineItemType::RiFee),
    ("SavingsPlanUpfrontFee", LineItemType::SavingsPlanUpfrontFee),
    ("SavingsPlanRecurringFee", LineItemType::SavingsPlanRecurringFee),
    ("Tax", LineItemType::Tax),
    ("Credit", LineItemType::Credit),
    ("Refund", LineItemType::Refund),
    ("EdpDiscount", LineItemType::Discount),
    ("BundledDiscount", LineItemType::Discount),
    ("Discount", LineItemType::Discount),
    ("PrivateRateDiscount", LineItemType::Discount),
    ("DistributorDiscount", LineItemType::Discount),
    ("RiVolumeDiscount", LineItemType::Discount),
    ("SppDiscount", LineItemType::Discount),
];

impl LineItemType {
    /// AWS's spelling, matched case-insensitively; anything else is not guessed at.
    fn parse(v: &str) -> Option<Self> {
        LINE_ITEM_TYPES.iter().find(|(name, _)| name.eq_ignore_ascii_case(v.trim())).map(|&(_, t)| t)
    }

    /// ChargeCategory, as AWS's FOCUS conversion assigns it:
    /// - Usage, DiscountedUsage, SavingsPlanCoveredUsage, SavingsPlanNegation → Usage;
    /// - Fee, RIFee, SavingsPlanUpfrontFee, SavingsPlanRecurringFee → Purchase;
    /// - Tax → Tax;
    /// - Credit, Refund and every discount (EdpDiscount, BundledDiscount, Discount, PrivateRateDiscount,
    ///   DistributorDiscount, RiVolumeDiscount, SppDiscount) → Credit.
    fn category(self) -> ChargeCategory {
        use LineItemType as T;
        match self {
            T::Usage | T::DiscountedUsage | T::SavingsPlanCoveredUsage | T::SavingsPlanNegation => {
                ChargeCategory::Usage
            }
            T::Fee | T::RiFee | T::SavingsPlanUpfrontFee | T::SavingsPlanRecurringFee => {
                ChargeCategory::Purchase
            }
            T::Tax => ChargeCategory::Tax,
            T::Credit | T::Refund | T::Discount => ChargeCategory::Credit,
        }
    }
}

/// A row read through the logical columns of its flavour.
struct CurRow<'a> {
    c: Cells<'a>,
    version: CurVersion,
    /// CUR 2.0's `product` map (empty for legacy files and when the column is absent or empty).
    product: serde_json::Map<String, serde_json::Value>,
}

impl<'a> CurRow<'a> {
    fn new(c: Cells<'a>, version: CurVersion) -> Result<Self, RowError> {
        let product = match (version, c.raw(V2_PRODUCT_MAP)) {
            (CurVersion::V2, Some(text)) => parse_json_map(text).ok_or_else(|| {
                c.err(V2_PRODUCT_MAP, Some(text), "is not a JSON object of product attributes")
            })?,
            _ => serde_json::Map::new(),
        };
        Ok(CurRow { c, version, product })
    }

    fn name(&self, col: Col) -> &'static str {
        col.name(self.version)
    }

    fn raw(&self, col: Col) -> Option<&'a str> {
        self.c.raw(self.name(col))
    }

    fn text(&self, col: Col) -> Option<String> {
        self.c.text(self.name(col))
    }

    fn required(&self, col: Col) -> Result<&'a str, RowError> {
        self.c.required(self.name(col))
    }

    fn decimal(&self, col: Col) -> Result<Decimal, RowError> {
        self.c.decimal(self.name(col))
    }

    fn opt_decimal(&self, col: Col) -> Result<Option<Decimal>, RowError> {
        self.c.opt_decimal(self.name(col))
    }

    /// Whether the file has the column at all (a blank cell in it is then none of the amount: zero).
    fn has(&self, col: Col) -> bool {
        self.c.header.has(self.name(col))
    }

    fn time(&self, col: Col) -> Result<Timestamp, RowError> {
        self.c.time(self.name(col))
    }

    fn err(&self, col: Col, value: Option<&str>, reason: impl Into<String>) -> RowError {
        self.c.err(self.name(col), value, reason)
    }

    /// A product attribute: its own column when the file has one with a value, else (CUR 2.0) the `key` of the
    /// `product` map.
    fn product_attr(&self, col: Col, key: &str) -> Option<String> {
        self.text(col).or_else(|| self.product.get(key).and_then(json_text))
    }

    /// `a + b` or `a - b`, refused (rather than panicking) when it overflows.
    fn checked(&self, col: Col, r: Option<Decimal>) -> Result<Decimal, RowError> {
        r.ok_or_else(|| self.err(col, self.raw(col), "makes an amount too large to compute with"))
    }
}

/// A JSON object's text; `None` if the text is not one.
fn parse_json_map(text: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    serde_json::from_str(text).ok()
}

/// A JSON value as cell text: strings as they are, other scalars as their JSON text, null and empty as none.
fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => present(s).map(str::to_string),
        other => Some(other.to_string()),
    }
}

/// One CUR row as a FOCUS-shaped record. The rules, after AWS's CUR-to-FOCUS conversion:
///
/// - **ChargeCategory** from the line-item type (see [`LineItemType::category`]); an unknown type is an error.
/// - **ChargeFrequency**: Usage-Based for usage, negation and discount lines; Recurring for RIFee and
///   SavingsPlanRecurringFee; One-Time for SavingsPlanUpfrontFee, Tax, Credit and Refund (AWS's own FOCUS
///   export marks tax One-Time). A `Fee` is One-Time when it is an upfront payment (it carries a reservation
///   ARN, or its usage type or description says "upfront"), Recurring when its charge period is the whole
///   billing period (monthly fees such as support), One-Time otherwise.
/// - **BilledCost** = unblended cost; **ContractedCost** = unblended cost.
/// - **EffectiveCost** (amortized): SavingsPlanCoveredUsage → savings-plan effective cost; DiscountedUsage →
///   reservation effective cost; SavingsPlanNegation, SavingsPlanUpfrontFee and an RI upfront `Fee` (one
///   with a reservation ARN) → 0, as they are amortized into usage; SavingsPlanRecurringFee → total
///   commitment to date − used commitment (the unused part); RIFee → unused amortized upfront fee + unused
///   recurring fee. An empty cell in those columns is none of the fee (a savings plan with one of its two cells
///   empty is refused); only a file without the columns takes the fee's unblended cost.
/// - **ListCost** = public on-demand cost when present, else the unblended cost; **ListUnitPrice** = public
///   on-demand rate.
/// - **BillingAccountId/Name** = payer account; **SubAccountId/Name** = usage account.
/// - **ProviderName** and **InvoiceIssuerName** = `AWS`; **PublisherName** = `AWS`, except on lines whose
///   billing entity is `AWS Marketplace`, where it is the seller of record (`lineItem/LegalEntity`), or
///   `AWS Marketplace` when that is empty. **InvoiceId** = `bill/InvoiceId`.
/// - **BillingPeriod** from the bill columns; **ChargePeriod** from the usage start and end dates.
/// - **ServiceName** = product name (CUR 2.0: `product_product_name` or the `product` map's `product_name`),
///   else the product code; **ServiceCategory** from the product code (see [`service_category`]).
/// - **RegionId** = region code, else region; **RegionName** (in `other`) = location; **ResourceId**,
///   **SkuId**, **PricingUnit**, **ChargeDescription** from the like-named CUR columns.
/// - **CommitmentDiscountId** = the savings-plan ARN on savings-plan lines (covered usage, negation, fees) and
///   the reservation ARN on reservation lines (discounted usage, RIFee, RI upfront fee).
/// - **PricingQuantity** = usage amount; **ConsumedQuantity/Unit** = usage amount and pricing unit on usage
///   lines other than negations.
/// - **PricingCategory**: Committed for covered, discounted and negated usage; Dynamic for spot usage (the
///   usage type contains `SpotUsage`); Standard for other usage and purchases; none for tax and credits.
/// - **Tags**: legacy `resourceTags/user:team` → `team` (`aws:` keys kept as `aws:...`); CUR 2.0
///   `resource_tags` map `user_team` → `team`. Empty values are not tags.
/// - **other**: AvailabilityZone, RegionName, and the provider extras x_LineItemType, x_UsageType,
///   x_Operation, x_ProductCode, x_BillType, x_BillingEntity, x_InvoicingEntity, x_LegalEntity, x_TaxType,
///   x_BlendedCost (the cell's text, exact) and x_LineItemId.
fn map_row(c: Cells<'_>, layout: &Layout) -> Result<FocusRecord, RowError> {
    use LineItemType as T;
    let r = CurRow::new(c, layout.version)?;

    let type_text = r.required(LINE_ITEM_TYPE)?;
    let kind = LineItemType::parse(type_text).ok_or_else(|| {
        let known: Vec<&str> = LINE_ITEM_TYPES.iter().map(|(n, _)| *n).collect();
        r.err(
            LINE_ITEM_TYPE,
            Some(type_text),
            format!("is not a known AWS line-item type (expected one of {})", known.join(", ")),
        )
    })?;
    let currency_text = r.required(CURRENCY)?;
    let billing_currency =
        Currency::from_str(currency_text).map_err(|e| r.err(CURRENCY, Some(currency_text), e.to_string()))?;

    let mut rec = FocusRecord::blank(c.line, billing_currency);
    rec.charge_category = kind.category();

    // Costs.
    let unblended = r.decimal(UNBLENDED_COST)?;
    let ri_arn = r.text(RI_ARN);
    let sp_arn = r.text(SP_ARN);
    let usage_type = r.text(USAGE_TYPE);
    let description = r.text(DESCRIPTION);
    rec.billed_cost = unblended;
    rec.contracted_cost = Some(unblended);
    rec.effective_cost = match kind {
        T::SavingsPlanCoveredUsage => r.decimal(SP_EFFECTIVE_COST)?,
        T::DiscountedUsage => r.decimal(RI_EFFECTIVE_COST)?,
        T::SavingsPlanNegation | T::SavingsPlanUpfrontFee => Decimal::ZERO,
        T::Fee if ri_arn.is_some() => Decimal::ZERO,
        // The unused part of a commitment's fee; the used part is in the covered usage's effective cost. Only a
        // file without the amortization columns (where the usage carries no effective cost either) keeps the fee
        // whole; with them, a blank cell is none of it (before, it fell back to the whole fee: counted twice).
        T::SavingsPlanRecurringFee => {
            match (r.opt_decimal(SP_TOTAL_COMMITMENT)?, r.opt_decimal(SP_USED_COMMITMENT)?) {
                (Some(total), Some(used)) => r.checked(SP_USED_COMMITMENT, total.checked_sub(used))?,
                (None, None) if !r.has(SP_TOTAL_COMMITMENT) && !r.has(SP_USED_COMMITMENT) => unblended,
                (None, None) => Decimal::ZERO,
                (total, _) => {
                    let (col, v) = if total.is_none() {
                        (SP_TOTAL_COMMITMENT, r.raw(SP_USED_COMMITMENT))
                    } else {
                        (SP_USED_COMMITMENT, r.raw(SP_TOTAL_COMMITMENT))
                    };
                    return Err(r.err(
                        col,
                        None,
                        format!(
                            "is empty while the other commitment cell is {}: the fee's unused part cannot be told",
                            v.unwrap_or_default()
                        ),
                    ));
                }
            }
        }
        T::RiFee => match (r.opt_decimal(RI_UNUSED_UPFRONT)?, r.opt_decimal(RI_UNUSED_RECURRING)?) {
            (None, None) if !r.has(RI_UNUSED_UPFRONT) && !r.has(RI_UNUSED_RECURRING) => unblended,
            (upfront, recurring) => r.checked(
                RI_UNUSED_RECURRING,
                upfront.unwrap_or_default().checked_add(recurring.unwrap_or_default()),
            )?,
        },
        _ => unblended,
    };
    rec.list_cost = r.opt_decimal(PUBLIC_ON_DEMAND_COST)?.unwrap_or(unblended);
    rec.list_unit_price = r.opt_decimal(PUBLIC_ON_DEMAND_RATE)?;

    // Accounts, parties, invoice.
    rec.billing_account_id = r.required(PAYER_ACCOUNT_ID)?.to_string();
    rec.billing_account_name = r.text(PAYER_ACCOUNT_NAME);
    rec.sub_account_id = r.text(USAGE_ACCOUNT_ID);
    rec.sub_account_name = r.text(USAGE_ACCOUNT_NAME);
    rec.provider_name = Some("AWS".to_string());
    rec.invoice_issuer_name = Some("AWS".to_string());
    let billing_entity = r.text(BILLING_ENTITY);
    let legal_entity = r.text(LEGAL_ENTITY);
    rec.publisher_name = Some(match billing_entity.as_deref() {
        Some(e) if e.eq_ignore_ascii_case("AWS Marketplace") => {
            legal_entity.clone().unwrap_or_else(|| e.to_string())
        }
        _ => "AWS".to_string(),
    });
    rec.invoice_id = r.text(INVOICE_ID);

    // Periods.
    rec.billing_period_start = r.time(BILLING_PERIOD_START)?;
    rec.billing_period_end = r.time(BILLING_PERIOD_END)?;
    rec.charge_period_start = r.time(USAGE_START)?;
    rec.charge_period_end = r.time(USAGE_END)?;
    let mentions_upfront =
        |t: &Option<String>| t.as_deref().is_some_and(|s| s.to_ascii_lowercase().contains("upfront"));
    rec.charge_frequency = Some(match kind {
        T::Usage | T::DiscountedUsage | T::SavingsPlanCoveredUsage | T::SavingsPlanNegation | T::Discount => {
            ChargeFrequency::UsageBased
        }
        T::RiFee | T::SavingsPlanRecurringFee => ChargeFrequency::Recurring,
        T::SavingsPlanUpfrontFee | T::Tax | T::Credit | T::Refund => ChargeFrequency::OneTime,
        T::Fee if ri_arn.is_some() || mentions_upfront(&usage_type) || mentions_upfront(&description) => {
            ChargeFrequency::OneTime
        }
        T::Fee
            if rec.charge_period_start == rec.billing_period_start
                && rec.charge_period_end == rec.billing_period_end =>
        {
            ChargeFrequency::Recurring
        }
        T::Fee => ChargeFrequency::OneTime,
    });

    // Service, product, resource.
    let product_code = r.text(PRODUCT_CODE);
    rec.service_name = r.product_attr(PRODUCT_NAME, "product_name").or_else(|| product_code.clone());
    rec.service_category = Some(service_category(product_code.as_deref().unwrap_or("")).to_string());
    rec.region_id = r
        .product_attr(REGION_CODE, "region_code")
        .or_else(|| r.product_attr(REGION, "region"))
        .or_else(|| r.product.get("regionCode").and_then(json_text));
    rec.resource_id = r.text(RESOURCE_ID);
    rec.sku_id = r.product_attr(SKU, "sku");
    rec.charge_description = description;
    rec.commitment_discount_id = match kind {
        T::SavingsPlanCoveredUsage
        | T::SavingsPlanNegation
        | T::SavingsPlanUpfrontFee
        | T::SavingsPlanRecurringFee => sp_arn,
        T::DiscountedUsage | T::RiFee | T::Fee => ri_arn,
        _ => None,
    };
    // FOCUS requires a commitment's category with its id, and its status on usage; AWS's own FOCUS export names
    // them so: a savings plan is a Spend commitment, a reservation a Usage one; the usage it covers is Used.
    let commitment = rec.commitment_discount_id.as_ref().map(|_| match kind {
        T::DiscountedUsage | T::RiFee | T::Fee => ("Reserved Instance", "Usage"),
        _ => ("Savings Plan", "Spend"),
    });
    let commitment_status =
        (commitment.is_some() && rec.charge_category == ChargeCategory::Usage).then_some("Used");

    // Quantities and pricing.
    rec.pricing_quantity = r.opt_decimal(USAGE_AMOUNT)?;
    rec.pricing_unit = r.text(PRICING_UNIT);
    if rec.charge_category == ChargeCategory::Usage && kind != T::SavingsPlanNegation {
        rec.consumed_quantity = rec.pricing_quantity;
        rec.consumed_unit = rec.pricing_unit.clone();
    }
    let spot = usage_type.as_deref().is_some_and(|u| u.contains("SpotUsage"));
    rec.pricing_category = match rec.charge_category {
        ChargeCategory::Usage | ChargeCategory::Purchase => Some(
            match kind {
                T::SavingsPlanCoveredUsage | T::DiscountedUsage | T::SavingsPlanNegation => "Committed",
                _ if spot => "Dynamic",
                _ => "Standard",
            }
            .to_string(),
        ),
        _ => None,
    };

    // Tags.
    for (i, key) in &layout.tag_columns {
        if let Some(v) = c.rec.get(*i).and_then(present) {
            rec.tags.insert(key.clone(), v);
        }
    }
    if layout.version == CurVersion::V2
        && let Some(text) = c.raw(V2_TAG_MAP)
    {
        let map = parse_json_map(text)
            .ok_or_else(|| c.err(V2_TAG_MAP, Some(text), "is not a JSON object of resource tags"))?;
        for (k, v) in &map {
            let key = k.strip_prefix("user_").unwrap_or(k);
            if let Some(v) = json_text(v)
                && !key.is_empty()
            {
                rec.tags.insert(key, v);
            }
        }
    }

    // Provider extras.
    let other = &mut rec.other;
    let mut keep = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            other.insert(name, v);
        }
    };
    keep("AvailabilityZone", r.text(AVAILABILITY_ZONE));
    keep("RegionName", r.product_attr(LOCATION, "location"));
    keep("x_LineItemType", Some(type_text.to_string()));
    keep("x_UsageType", usage_type);
    keep("x_Operation", r.text(OPERATION));
    keep("x_ProductCode", product_code);
    keep("x_BillType", r.text(BILL_TYPE));
    keep("x_BillingEntity", billing_entity);
    keep("x_InvoicingEntity", r.text(INVOICING_ENTITY));
    keep("x_LegalEntity", legal_entity);
    keep("x_TaxType", r.text(TAX_TYPE));
    keep("x_BlendedCost", r.text(BLENDED_COST));
    keep("x_LineItemId", r.text(LINE_ITEM_ID));
    keep("CommitmentDiscountType", commitment.map(|(t, _)| t.to_string()));
    keep("CommitmentDiscountCategory", commitment.map(|(_, c)| c.to_string()));
    keep("CommitmentDiscountStatus", commitment_status.map(str::to_string));
    Ok(rec)
}

/// FOCUS 1.2 ServiceCategory for an AWS product code (`lineItem/ProductCode`), matched case-insensitively;
/// `Other` for codes not listed.
fn service_category(product_code: &str) -> &'static str {
    const CATEGORIES: &[(&str, &[&str])] = &[
        (
            "Compute",
            &[
                "AmazonEC2",
                "AWSLambda",
                "AmazonECS",
                "AmazonEKS",
                "AmazonECR",
                "AmazonLightsail",
                "AWSBatch",
                "AWSAppRunner",
                "AWSElasticBeanstalk",
                "AmazonWorkSpaces",
                "AmazonAppStream",
                "AWSOutposts",
            ],
        ),
        (
            "Storage",
            &[
                "AmazonS3",
                "AmazonEFS",
                "AmazonGlacier",
                "AmazonS3GlacierDeepArchive",
                "AmazonFSx",
                "AWSBackup",
                "AWSStorageGateway",
                "AmazonEBS",
            ],
        ),
        (
            "Databases",
            &[
                "AmazonRDS",
                "AmazonDynamoDB",
                "AmazonElastiCache",
                "AmazonRedshift",
                "AmazonDocDB",
                "AmazonNeptune",
                "AmazonTimestream",
                "AmazonMemoryDB",
                "AmazonMCS",
                "AmazonQLDB",
            ],
        ),
        (
            "Networking",
            &[
                "AmazonCloudFront",
                "AmazonVPC",
                "AWSDataTransfer",
                "AmazonRoute53",
                "AWSELB",
                "AWSDirectConnect",
                "AWSGlobalAccelerator",
                "AWSCloudMap",
                "AWSNetworkFirewall",
            ],
        ),
        (
            "Management and Governance",
            &[
                "AmazonCloudWatch",
                "AWSCloudTrail",
                "AWSConfig",
                "AWSCostExplorer",
                "AWSSystemsManager",
                "AWSCloudFormation",
                "AWSServiceCatalog",
                "AWSXRay",
                "AmazonPrometheus",
                "AmazonGrafana",
                "AWSSupportBusiness",
                "AWSSupportEnterprise",
                "AWSDeveloperSupport",
                "OCBPremiumSupport",
                "AWSBudgets",
            ],
        ),
        (
            "Security",
            &[
                "awskms",
                "AWSSecretsManager",
                "AWSWAF",
                "AWSShield",
                "AmazonGuardDuty",
                "AWSSecurityHub",
                "AmazonInspector",
                "AmazonInspectorV2",
                "AmazonMacie",
                "AmazonDetective",
                "AWSCertificateManager",
                "AWSFMS",
                "AWSCloudHSM",
            ],
        ),
        ("Identity", &["AmazonCognito", "AWSDirectoryService", "AWSSSO", "AWSIAM"]),
        (
            "Integration",
            &["AWSQueueService", "AmazonSNS", "AmazonStates", "AmazonMQ", "AWSEvents", "AmazonAppFlow"],
        ),
        (
            "Analytics",
            &[
                "AWSGlue",
                "AmazonAthena",
                "AmazonKinesis",
                "AmazonKinesisFirehose",
                "AmazonKinesisAnalytics",
                "AmazonES",
                "AmazonOpenSearchService",
                "ElasticMapReduce",
                "AmazonQuickSight",
                "AmazonMSK",
                "AWSLakeFormation",
            ],
        ),
        (
            "AI and Machine Learning",
            &[
                "AmazonSageMaker",
                "AmazonBedrock",
                "AmazonRekognition",
                "comprehend",
                "AmazonPolly",
                "AmazonTextract",
                "transcribe",
                "translate",
                "AmazonLex",
                "AmazonKendra",
                "AmazonQ",
            ],
        ),
        (
            "Developer Tools",
            &[
                "AWSCodeCommit",
                "CodeBuild",
                "AWSCodePipeline",
                "AWSCodeDeploy",
                "AWSCodeArtifact",
                "AWSCloudShell",
                "AWSCloud9",
            ],
        ),
        (
            "Internet of Things",
            &["AWSIoT", "AWSIoTAnalytics", "AWSGreengrass", "AWSIoTDeviceManagement", "AWSIoTEvents"],
        ),
        (
            "Media",
            &["AWSElementalMediaConvert", "AWSElementalMediaLive", "AmazonElasticTranscoder", "AmazonIVS"],
        ),
        (
            "Migration",
            &[
                "AWSMigrationHubRefactorSpaces",
                "AWSDatabaseMigrationSvc",
                "AWSApplicationMigrationSvc",
                "AWSDataSync",
                "AWSSnowball",
                "AWSTransfer",
            ],
        ),
        ("Mobile", &["AWSDeviceFarm", "AmazonPinpoint"]),
        ("Business Applications", &["AmazonConnect", "AmazonChime", "AmazonWorkMail", "AmazonSES"]),
        ("Web", &["AmazonApiGateway", "AWSAmplify", "AWSAppSync"]),
    ];
    CATEGORIES
        .iter()
        .find(|(_, codes)| codes.iter().any(|c| c.eq_ignore_ascii_case(product_code.trim())))
        .map(|(category, _)| *category)
        .unwrap_or("Other")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cells::parse_decimal;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn fixture() -> PathBuf {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/aws-cur/sample-anonymous-aws-export-dataset.csv");
        assert!(
            p.exists(),
            "fixture {} is missing: the shared fixtures must sit beside the checkout",
            p.display()
        );
        p
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    type Totals = BTreeMap<String, (Decimal, Decimal, Decimal)>;

    /// Billed, effective and list cost per currency by a second, simpler path: the csv crate and the decimal
    /// parser over the raw CUR columns, nothing of the reader.
    fn independent_totals(path: &PathBuf) -> (Totals, usize, BTreeMap<String, usize>) {
        let mut r = csv::Reader::from_path(path).unwrap();
        let h: Vec<String> =
            r.headers().unwrap().iter().map(|s| s.trim_start_matches('\u{feff}').to_string()).collect();
        let col = |n: &str| h.iter().position(|x| x == n).unwrap();
        let (cost, kind, cur, od) = (
            col("lineItem/UnblendedCost"),
            col("lineItem/LineItemType"),
            col("lineItem/CurrencyCode"),
            col("pricing/publicOnDemandCost"),
        );
        let mut totals = Totals::new();
        let mut types: BTreeMap<String, usize> = BTreeMap::new();
        let mut rows = 0;
        for rec in r.records() {
            let rec = rec.unwrap();
            rows += 1;
            *types.entry(rec[kind].to_string()).or_default() += 1;
            let unblended = parse_decimal(&rec[cost]).unwrap();
            // Only Usage and Tax lines are in this fixture: their effective cost is the unblended cost.
            assert!(["Usage", "Tax"].contains(&&rec[kind]), "unexpected type {}", &rec[kind]);
            let list = if rec[od].trim().is_empty() { unblended } else { parse_decimal(&rec[od]).unwrap() };
            let t = totals.entry(rec[cur].to_string()).or_default();
            t.0 += unblended;
            t.1 += unblended;
            t.2 += list;
        }
        (totals, rows, types)
    }

    #[test]
    fn reads_the_legacy_fixture_exactly() {
        let path = fixture();
        let reader = CurReader::open(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.version(), CurVersion::Legacy);
        let records: Vec<FocusRecord> = reader.collect::<Result<_, _>>().unwrap_or_else(|e| panic!("{e}"));
        let (expected, rows, types) = independent_totals(&path);
        assert_eq!(records.len(), 1281);
        assert_eq!(rows, 1281);
        let mut totals = Totals::new();
        for r in &records {
            let t = totals.entry(r.billing_currency.code().to_string()).or_default();
            t.0 += r.billed_cost;
            t.1 += r.effective_cost;
            t.2 += r.list_cost;
        }
        assert_eq!(totals, expected, "totals to the last digit");
        assert!(totals["USD"].2 != totals["USD"].0, "list cost comes from the public on-demand cost");

        let first = &records[0];
        assert_eq!(first.line, 2);
        assert_eq!(first.billing_account_id, "123412340534");
        assert_eq!(first.sub_account_id.as_deref(), Some("123412340534"));
        assert_eq!(first.billing_period_start, ts("2023-11-01T00:00:00Z"));
        assert_eq!(first.billing_period_end, ts("2023-12-01T00:00:00Z"));
        assert_eq!(first.charge_period_start, ts("2023-11-01T00:00:00Z"));
        assert_eq!(first.charge_period_end, ts("2023-12-01T00:00:00Z"));
        assert_eq!(first.charge_category, ChargeCategory::Tax);
        assert_eq!(first.charge_frequency, Some(ChargeFrequency::OneTime));
        assert_eq!(first.pricing_category, None, "tax has no pricing category");
        assert!(first.tags.is_empty(), "the fixture has no tag columns");
        assert_eq!(first.service_name.as_deref(), Some("AWS CloudTrail"));
        assert_eq!(first.service_category.as_deref(), Some("Management and Governance"));
        assert_eq!(first.provider_name.as_deref(), Some("AWS"));
        assert_eq!(first.publisher_name.as_deref(), Some("AWS"));
        assert_eq!(first.invoice_id, None, "empty bill/InvoiceId is no value");
        assert_eq!(
            first.other.get("x_LegalEntity").map(String::as_str),
            Some("Amazon Web Services Canada, Inc.")
        );
        assert_eq!(first.other.get("x_BillType").map(String::as_str), Some("Anniversary"));

        let taxes = records.iter().filter(|r| r.charge_category == ChargeCategory::Tax).count();
        assert_eq!(taxes, types["Tax"]);
        assert_eq!(taxes, 12);
        assert_eq!(
            records.iter().filter(|r| r.charge_category == ChargeCategory::Usage).count(),
            types["Usage"]
        );

        // A usage line in scientific notation, every digit kept.
        let sci = records.iter().find(|r| r.billed_cost.to_string() == "0.0000000181").unwrap();
        assert_eq!(
            sci.other.get("x_BlendedCost").map(String::as_str),
            Some("1.81E-8"),
            "blended cost as text"
        );
        let s3 = records
            .iter()
            .find(|r| {
                r.charge_category == ChargeCategory::Usage
                    && r.other.get("x_ProductCode").map(String::as_str) == Some("AmazonS3")
            })
            .unwrap();
        assert_eq!(s3.service_category.as_deref(), Some("Storage"));
        assert_eq!(s3.charge_frequency, Some(ChargeFrequency::UsageBased));
        assert_eq!(s3.pricing_category.as_deref(), Some("Standard"));
        assert!(s3.region_id.is_some() && s3.sku_id.is_some() && s3.pricing_unit.is_some());
        assert_eq!(s3.contracted_cost, Some(s3.billed_cost));
    }

    #[test]
    fn legacy_tags_bom_and_crlf() {
        let data = "\u{feff}identity/LineItemId,bill/PayerAccountId,bill/BillingPeriodStartDate,\
                    bill/BillingPeriodEndDate,lineItem/UsageAccountId,lineItem/LineItemType,\
                    lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,lineItem/UsageType,\
                    lineItem/CurrencyCode,lineItem/UnblendedCost,pricing/publicOnDemandCost,\
                    resourceTags/user:team,resourceTags/aws:createdBy,resourceTags/user:env\r\n\
                    id1,111,2024-05-01T00:00:00.000Z,2024-06-01T00:00:00.000Z,222,Usage,\
                    2024-05-02T03:00:00.000Z,2024-05-02T04:00:00.000Z,AmazonEC2,USW2-SpotUsage:m5.large,\
                    USD,2.5E-3,,payments,IAMUser:x,\r\n";
        let reader = CurReader::open(data.as_bytes()).unwrap();
        assert_eq!(reader.version(), CurVersion::Legacy);
        let records: Vec<FocusRecord> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r.line, 2);
        assert_eq!(r.billed_cost.to_string(), "0.0025");
        assert_eq!(r.list_cost, r.billed_cost, "no public on-demand cost: the unblended cost");
        assert_eq!(r.charge_period_start, ts("2024-05-02T03:00:00Z"));
        assert_eq!(r.pricing_category.as_deref(), Some("Dynamic"), "spot usage");
        assert_eq!(r.service_name.as_deref(), Some("AmazonEC2"), "no product name: the product code");
        assert_eq!(r.service_category.as_deref(), Some("Compute"));
        let tags: Vec<(&str, &str)> = r.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(tags, [("aws:createdBy", "IAMUser:x"), ("team", "payments")], "empty env is no tag");
    }

    const V2_COLUMNS: &[&str] = &[
        "identity_line_item_id",
        "bill_bill_type",
        "bill_billing_entity",
        "bill_billing_period_start_date",
        "bill_billing_period_end_date",
        "bill_invoice_id",
        "bill_payer_account_id",
        "bill_payer_account_name",
        "line_item_usage_account_id",
        "line_item_usage_account_name",
        "line_item_line_item_type",
        "line_item_usage_start_date",
        "line_item_usage_end_date",
        "line_item_product_code",
        "line_item_usage_type",
        "line_item_operation",
        "line_item_availability_zone",
        "line_item_resource_id",
        "line_item_usage_amount",
        "line_item_currency_code",
        "line_item_unblended_cost",
        "line_item_blended_cost",
        "line_item_line_item_description",
        "line_item_legal_entity",
        "product",
        "product_region_code",
        "product_sku",
        "pricing_public_on_demand_cost",
        "pricing_public_on_demand_rate",
        "pricing_unit",
        "reservation_reservation_a_r_n",
        "reservation_effective_cost",
        "reservation_unused_amortized_upfront_fee_for_billing_period",
        "reservation_unused_recurring_fee",
        "savings_plan_savings_plan_a_r_n",
        "savings_plan_savings_plan_effective_cost",
        "savings_plan_total_commitment_to_date",
        "savings_plan_used_commitment",
        "resource_tags",
    ];

    const SP: &str = "arn:aws:savingsplans::111122223333:savingsplan/sp-1";
    const RI: &str = "arn:aws:ec2:us-east-1:111122223333:reserved-instances/ri-1";

    /// A CUR 2.0 row: typical EC2 usage, with `set` overriding cells.
    fn v2_row(set: &[(&str, &str)]) -> Vec<String> {
        let base: &[(&str, &str)] = &[
            ("identity_line_item_id", "li-1"),
            ("bill_bill_type", "Anniversary"),
            ("bill_billing_entity", "AWS"),
            ("bill_billing_period_start_date", "2024-05-01T00:00:00.000Z"),
            ("bill_billing_period_end_date", "2024-06-01T00:00:00.000Z"),
            ("bill_invoice_id", "INV-7"),
            ("bill_payer_account_id", "111122223333"),
            ("bill_payer_account_name", "Acme Payer"),
            ("line_item_usage_account_id", "444455556666"),
            ("line_item_usage_account_name", "acme-prod"),
            ("line_item_usage_start_date", "2024-05-03T10:00:00.000Z"),
            ("line_item_usage_end_date", "2024-05-03T11:00:00.000Z"),
            ("line_item_product_code", "AmazonEC2"),
            ("line_item_usage_type", "USE1-BoxUsage:m5.large"),
            ("line_item_operation", "RunInstances"),
            ("line_item_availability_zone", "us-east-1a"),
            ("line_item_resource_id", "i-0abc"),
            ("line_item_usage_amount", "1.0"),
            ("line_item_currency_code", "USD"),
            ("line_item_legal_entity", "Amazon Web Services, Inc."),
            (
                "product",
                r#"{"product_name":"Amazon Elastic Compute Cloud","region":"us-east-1","location":"US East (N. Virginia)"}"#,
            ),
            ("product_region_code", "us-east-1"),
            ("product_sku", "SKU123"),
            ("pricing_public_on_demand_rate", "0.096"),
            ("pricing_unit", "Hrs"),
        ];
        V2_COLUMNS
            .iter()
            .map(|c| {
                set.iter().chain(base).find(|(k, _)| k == c).map(|(_, v)| v.to_string()).unwrap_or_default()
            })
            .collect()
    }

    fn csv_text(header: &[&str], rows: &[Vec<String>]) -> String {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
        w.write_record(header).unwrap();
        for r in rows {
            w.write_record(r).unwrap();
        }
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    /// A line-item type, its cells, and the expected category, frequency, billed, effective and list cost.
    type Case = (
        &'static str,
        Vec<String>,
        ChargeCategory,
        ChargeFrequency,
        &'static str,
        &'static str,
        &'static str,
    );

    #[test]
    fn reads_cur_2_0_with_every_line_item_type() {
        let month = [
            ("line_item_usage_start_date", "2024-05-01T00:00:00.000Z"),
            ("line_item_usage_end_date", "2024-06-01T00:00:00.000Z"),
        ];
        let with = |base: &[(&'static str, &'static str)], more: &[(&'static str, &'static str)]| {
            let all: Vec<(&str, &str)> = more.iter().chain(base).copied().collect();
            v2_row(&all)
        };
        let mut cases: Vec<Case> = vec![
            (
                "Usage",
                v2_row(&[
                    ("line_item_line_item_type", "Usage"),
                    ("line_item_unblended_cost", "0.096"),
                    ("line_item_blended_cost", "0.0960000000"),
                    ("pricing_public_on_demand_cost", "0.096"),
                    (
                        "resource_tags",
                        r#"{"user_env":"prod","user_team":"payments","user_empty":"","aws_createdBy":"root"}"#,
                    ),
                ]),
                ChargeCategory::Usage,
                ChargeFrequency::UsageBased,
                "0.096",
                "0.096",
                "0.096",
            ),
            (
                "DiscountedUsage",
                v2_row(&[
                    ("line_item_line_item_type", "DiscountedUsage"),
                    ("line_item_unblended_cost", "0"),
                    ("pricing_public_on_demand_cost", "0.096"),
                    ("reservation_reservation_a_r_n", RI),
                    ("reservation_effective_cost", "0.061"),
                ]),
                ChargeCategory::Usage,
                ChargeFrequency::UsageBased,
                "0",
                "0.061",
                "0.096",
            ),
            (
                "SavingsPlanCoveredUsage",
                v2_row(&[
                    ("line_item_line_item_type", "SavingsPlanCoveredUsage"),
                    ("line_item_unblended_cost", "0.096"),
                    ("pricing_public_on_demand_cost", "0.096"),
                    ("savings_plan_savings_plan_a_r_n", SP),
                    ("savings_plan_savings_plan_effective_cost", "0.0672"),
                ]),
                ChargeCategory::Usage,
                ChargeFrequency::UsageBased,
                "0.096",
                "0.0672",
                "0.096",
            ),
            (
                "SavingsPlanNegation",
                v2_row(&[
                    ("line_item_line_item_type", "SavingsPlanNegation"),
                    ("line_item_unblended_cost", "-0.096"),
                    ("savings_plan_savings_plan_a_r_n", SP),
                ]),
                ChargeCategory::Usage,
                ChargeFrequency::UsageBased,
                "-0.096",
                "0",
                "-0.096",
            ),
            (
                "Fee",
                with(
                    &month,
                    &[
                        ("line_item_line_item_type", "Fee"),
                        ("line_item_unblended_cost", "8760"),
                        ("reservation_reservation_a_r_n", RI),
                        (
                            "line_item_line_item_description",
                            "Sign up charge for subscription: 123, planId: 456",
                        ),
                    ],
                ),
                ChargeCategory::Purchase,
                ChargeFrequency::OneTime,
                "8760",
                "0",
                "8760",
            ),
            (
                "RIFee",
                with(
                    &month,
                    &[
                        ("line_item_line_item_type", "RIFee"),
                        ("line_item_unblended_cost", "44.64"),
                        ("reservation_reservation_a_r_n", RI),
                        ("reservation_unused_amortized_upfront_fee_for_billing_period", "1.5"),
                        ("reservation_unused_recurring_fee", "2.25"),
                    ],
                ),
                ChargeCategory::Purchase,
                ChargeFrequency::Recurring,
                "44.64",
                "3.75",
                "44.64",
            ),
            (
                "SavingsPlanUpfrontFee",
                with(
                    &month,
                    &[
                        ("line_item_line_item_type", "SavingsPlanUpfrontFee"),
                        ("line_item_unblended_cost", "1000"),
                        ("savings_plan_savings_plan_a_r_n", SP),
                    ],
                ),
                ChargeCategory::Purchase,
                ChargeFrequency::OneTime,
                "1000",
                "0",
                "1000",
            ),
            (
                "SavingsPlanRecurringFee",
                with(
                    &month,
                    &[
                        ("line_item_line_item_type", "SavingsPlanRecurringFee"),
                        ("line_item_unblended_cost", "72"),
                        ("savings_plan_savings_plan_a_r_n", SP),
                        ("savings_plan_total_commitment_to_date", "72"),
                        ("savings_plan_used_commitment", "64.8"),
                    ],
                ),
                ChargeCategory::Purchase,
                ChargeFrequency::Recurring,
                "72",
                "7.2",
                "72",
            ),
            (
                "Tax",
                with(&month, &[("line_item_line_item_type", "Tax"), ("line_item_unblended_cost", "12.34")]),
                ChargeCategory::Tax,
                ChargeFrequency::OneTime,
                "12.34",
                "12.34",
                "12.34",
            ),
            (
                "Credit",
                with(&month, &[("line_item_line_item_type", "Credit"), ("line_item_unblended_cost", "-5")]),
                ChargeCategory::Credit,
                ChargeFrequency::OneTime,
                "-5",
                "-5",
                "-5",
            ),
            (
                "Refund",
                v2_row(&[("line_item_line_item_type", "Refund"), ("line_item_unblended_cost", "-1.5")]),
                ChargeCategory::Credit,
                ChargeFrequency::OneTime,
                "-1.5",
                "-1.5",
                "-1.5",
            ),
        ];
        for d in ["EdpDiscount", "BundledDiscount", "Discount", "PrivateRateDiscount", "DistributorDiscount"]
        {
            cases.push((
                d,
                v2_row(&[("line_item_line_item_type", d), ("line_item_unblended_cost", "-0.0048")]),
                ChargeCategory::Credit,
                ChargeFrequency::UsageBased,
                "-0.0048",
                "-0.0048",
                "-0.0048",
            ));
        }
        let rows: Vec<Vec<String>> = cases.iter().map(|c| c.1.clone()).collect();
        let text = csv_text(V2_COLUMNS, &rows);
        let reader = CurReader::open(text.as_bytes()).unwrap();
        assert_eq!(reader.version(), CurVersion::V2);
        let records: Vec<FocusRecord> = reader.collect::<Result<_, _>>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(records.len(), cases.len());
        for (i, (kind, _, category, frequency, billed, effective, list)) in cases.iter().enumerate() {
            let r = &records[i];
            assert_eq!(r.line, i as u64 + 2, "{kind}");
            assert_eq!(r.charge_category, *category, "{kind}");
            assert_eq!(r.charge_frequency, Some(*frequency), "{kind}");
            assert_eq!(r.billed_cost, parse_decimal(billed).unwrap(), "{kind}: billed");
            assert_eq!(r.effective_cost, parse_decimal(effective).unwrap(), "{kind}: effective");
            assert_eq!(r.list_cost, parse_decimal(list).unwrap(), "{kind}: list");
            assert_eq!(r.contracted_cost, Some(r.billed_cost), "{kind}: contracted");
            assert_eq!(r.other.get("x_LineItemType").map(String::as_str), Some(*kind));
        }

        let usage = &records[0];
        assert_eq!(usage.billing_account_id, "111122223333");
        assert_eq!(usage.billing_account_name.as_deref(), Some("Acme Payer"));
        assert_eq!(usage.sub_account_id.as_deref(), Some("444455556666"));
        assert_eq!(usage.sub_account_name.as_deref(), Some("acme-prod"));
        assert_eq!(usage.invoice_id.as_deref(), Some("INV-7"));
        assert_eq!(usage.billing_period_start, ts("2024-05-01T00:00:00Z"));
        assert_eq!(usage.charge_period_end, ts("2024-05-03T11:00:00Z"));
        assert_eq!(
            usage.service_name.as_deref(),
            Some("Amazon Elastic Compute Cloud"),
            "from the product map"
        );
        assert_eq!(usage.service_category.as_deref(), Some("Compute"));
        assert_eq!(usage.region_id.as_deref(), Some("us-east-1"));
        assert_eq!(usage.sku_id.as_deref(), Some("SKU123"));
        assert_eq!(usage.resource_id.as_deref(), Some("i-0abc"));
        assert_eq!(usage.pricing_quantity, Some(Decimal::ONE));
        assert_eq!(usage.pricing_unit.as_deref(), Some("Hrs"));
        assert_eq!(usage.list_unit_price, parse_decimal("0.096"));
        assert_eq!(usage.pricing_category.as_deref(), Some("Standard"));
        assert_eq!(usage.commitment_discount_id, None);
        assert_eq!(usage.other.get("AvailabilityZone").map(String::as_str), Some("us-east-1a"));
        assert_eq!(usage.other.get("RegionName").map(String::as_str), Some("US East (N. Virginia)"));
        assert_eq!(usage.other.get("x_BlendedCost").map(String::as_str), Some("0.0960000000"));
        assert_eq!(usage.other.get("x_UsageType").map(String::as_str), Some("USE1-BoxUsage:m5.large"));
        assert_eq!(usage.other.get("x_Operation").map(String::as_str), Some("RunInstances"));
        assert_eq!(usage.other.get("x_LineItemId").map(String::as_str), Some("li-1"));
        let tags: Vec<(&str, &str)> = usage.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(tags, [("aws_createdBy", "root"), ("env", "prod"), ("team", "payments")]);

        let discounted = &records[1];
        assert_eq!(discounted.commitment_discount_id.as_deref(), Some(RI));
        assert_eq!(discounted.pricing_category.as_deref(), Some("Committed"));
        let covered = &records[2];
        assert_eq!(covered.commitment_discount_id.as_deref(), Some(SP));
        assert_eq!(covered.pricing_category.as_deref(), Some("Committed"));
        assert_eq!(records[7].commitment_discount_id.as_deref(), Some(SP), "recurring fee");
        // The commitment's type and category with its id, and its status on the usage it covers, as AWS's own
        // FOCUS export names them.
        fn commitment(r: &FocusRecord) -> [Option<&str>; 3] {
            ["CommitmentDiscountType", "CommitmentDiscountCategory", "CommitmentDiscountStatus"]
                .map(|k| r.other.get(k).map(String::as_str))
        }
        assert_eq!(commitment(discounted), [Some("Reserved Instance"), Some("Usage"), Some("Used")]);
        assert_eq!(commitment(covered), [Some("Savings Plan"), Some("Spend"), Some("Used")]);
        assert_eq!(
            commitment(&records[7]),
            [Some("Savings Plan"), Some("Spend"), None],
            "a purchase has no status"
        );
        assert_eq!(commitment(usage), [None, None, None]);
        assert_eq!(records[5].pricing_category.as_deref(), Some("Standard"), "purchases are Standard");
        assert_eq!(records[8].pricing_category, None, "tax");
        assert_eq!(records[9].pricing_category, None, "credit");
    }

    #[test]
    fn cur_2_0_fallbacks_and_marketplace() {
        let rows = vec![
            // A monthly fee (charge period = billing period) from the Marketplace, without the product map.
            v2_row(&[
                ("line_item_line_item_type", "Fee"),
                ("line_item_unblended_cost", "300"),
                ("bill_billing_entity", "AWS Marketplace"),
                ("line_item_legal_entity", "Example Software LLC"),
                ("line_item_product_code", "prod-abc123"),
                ("line_item_usage_start_date", "2024-05-01T00:00:00.000Z"),
                ("line_item_usage_end_date", "2024-06-01T00:00:00.000Z"),
                ("product", ""),
                ("product_region_code", ""),
            ]),
            // A recurring fee and an RI fee with the commitment columns' cells empty: none of the fee unused (the
            // covered usage's effective cost holds it; the fee again would count it twice).
            v2_row(&[
                ("line_item_line_item_type", "SavingsPlanRecurringFee"),
                ("line_item_unblended_cost", "9"),
            ]),
            v2_row(&[("line_item_line_item_type", "RIFee"), ("line_item_unblended_cost", "7")]),
            // An RI fee with only the unused recurring part.
            v2_row(&[
                ("line_item_line_item_type", "rifee"),
                ("line_item_unblended_cost", "7"),
                ("reservation_unused_recurring_fee", "1.25"),
            ]),
        ];
        let text = csv_text(V2_COLUMNS, &rows);
        let records: Vec<FocusRecord> =
            CurReader::open(text.as_bytes()).unwrap().collect::<Result<_, _>>().unwrap();
        let fee = &records[0];
        assert_eq!(fee.charge_category, ChargeCategory::Purchase);
        assert_eq!(fee.charge_frequency, Some(ChargeFrequency::Recurring), "a monthly fee");
        assert_eq!(fee.effective_cost.to_string(), "300", "not an RI fee: not amortized away");
        assert_eq!(fee.publisher_name.as_deref(), Some("Example Software LLC"));
        assert_eq!(fee.invoice_issuer_name.as_deref(), Some("AWS"));
        assert_eq!(fee.service_name.as_deref(), Some("prod-abc123"));
        assert_eq!(fee.service_category.as_deref(), Some("Other"));
        assert_eq!(fee.region_id, None);
        assert_eq!(records[1].effective_cost.to_string(), "0");
        assert_eq!(records[2].effective_cost.to_string(), "0");
        assert_eq!(records[3].effective_cost.to_string(), "1.25");
        assert_eq!(records[3].charge_category, ChargeCategory::Purchase, "types match case-insensitively");

        // A file without the commitment columns at all (its usage carries no effective cost of a commitment
        // either): the fees are the unblended cost.
        let dropped = [
            "savings_plan_total_commitment_to_date",
            "savings_plan_used_commitment",
            "reservation_unused_amortized_upfront_fee_for_billing_period",
            "reservation_unused_recurring_fee",
        ];
        assert!(dropped.iter().all(|c| V2_COLUMNS.contains(c)), "the columns dropped are the reader's");
        let keep: Vec<usize> = (0..V2_COLUMNS.len()).filter(|&i| !dropped.contains(&V2_COLUMNS[i])).collect();
        let header: Vec<&str> = keep.iter().map(|&i| V2_COLUMNS[i]).collect();
        let rows: Vec<Vec<String>> =
            rows[1..3].iter().map(|r| keep.iter().map(|&i| r[i].clone()).collect()).collect();
        let records: Vec<FocusRecord> =
            CurReader::open(csv_text(&header, &rows).as_bytes()).unwrap().collect::<Result<_, _>>().unwrap();
        let effective: Vec<String> = records.iter().map(|r| r.effective_cost.to_string()).collect();
        assert_eq!(effective, ["9", "7"]);
        // One of the two commitment cells empty: the unused part cannot be told; refused, naming the cell.
        let half = v2_row(&[
            ("line_item_line_item_type", "SavingsPlanRecurringFee"),
            ("line_item_unblended_cost", "9"),
            ("savings_plan_total_commitment_to_date", "9"),
        ]);
        let e =
            CurReader::open(csv_text(V2_COLUMNS, &[half]).as_bytes()).unwrap().next().unwrap().unwrap_err();
        assert_eq!(e.column.as_deref(), Some("savings_plan_used_commitment"), "{e}");
    }

    fn errors_of(text: &str) -> Vec<(u64, String, String, String)> {
        let rows: Vec<_> = CurReader::open(text.as_bytes()).unwrap().collect();
        assert!(rows[0].is_ok(), "{:?}", rows[0]);
        rows[1..]
            .iter()
            .map(|r| {
                let e = r.as_ref().unwrap_err();
                (
                    e.row,
                    e.column.clone().unwrap_or_default(),
                    e.value.clone().unwrap_or_default(),
                    e.reason.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn bad_rows_are_named() {
        let header = "bill/PayerAccountId,bill/BillingPeriodStartDate,bill/BillingPeriodEndDate,\
                      lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,\
                      lineItem/CurrencyCode,lineItem/UnblendedCost";
        let period = "2024-05-01T00:00:00.000Z,2024-06-01T00:00:00.000Z";
        let hour = "2024-05-02T00:00:00.000Z,2024-05-02T01:00:00.000Z";
        let data = format!(
            "{header}\n1,{period},Usage,{hour},USD,1.5\n\
             1,{period},Mystery,{hour},USD,1.5\n\
             1,{period},Usage,{hour},USD,1.5x\n\
             1,{period},Usage,{hour},XYZ,1.5\n\
             1,{period},Usage,yesterday,2024-05-02T01:00:00.000Z,USD,1.5\n\
             1,{period},DiscountedUsage,{hour},USD,1.5\n"
        );
        let errs = errors_of(&data);
        let short: Vec<(u64, &str, &str)> = errs.iter().map(|e| (e.0, e.1.as_str(), e.2.as_str())).collect();
        assert_eq!(
            short,
            [
                (3, "lineItem/LineItemType", "Mystery"),
                (4, "lineItem/UnblendedCost", "1.5x"),
                (5, "lineItem/CurrencyCode", "XYZ"),
                (6, "lineItem/UsageStartDate", "yesterday"),
                (7, "reservation/EffectiveCost", ""),
            ]
        );
        assert!(
            errs[0].3.starts_with("is not a known AWS line-item type (expected one of Usage,"),
            "{}",
            errs[0].3
        );
        assert_eq!(errs[1].3, "is not a decimal number");
        assert!(errs[2].3.contains("ISO 4217"), "{}", errs[2].3);
        assert!(errs.iter().all(|e| !e.3.is_empty()));

        // The same in CUR 2.0 names, and a broken tag map.
        let rows = vec![
            v2_row(&[("line_item_line_item_type", "Usage"), ("line_item_unblended_cost", "1")]),
            v2_row(&[("line_item_line_item_type", "Bogus"), ("line_item_unblended_cost", "1")]),
            v2_row(&[("line_item_line_item_type", "Usage"), ("line_item_unblended_cost", "abc")]),
            v2_row(&[
                ("line_item_line_item_type", "Usage"),
                ("line_item_unblended_cost", "1"),
                ("line_item_currency_code", "US"),
            ]),
            v2_row(&[
                ("line_item_line_item_type", "Usage"),
                ("line_item_unblended_cost", "1"),
                ("resource_tags", "{not json"),
            ]),
        ];
        let errs = errors_of(&csv_text(V2_COLUMNS, &rows));
        let short: Vec<(u64, &str, &str)> = errs.iter().map(|e| (e.0, e.1.as_str(), e.2.as_str())).collect();
        assert_eq!(
            short,
            [
                (3, "line_item_line_item_type", "Bogus"),
                (4, "line_item_unblended_cost", "abc"),
                (5, "line_item_currency_code", "US"),
                (6, "resource_tags", "{not json"),
            ]
        );
    }

    #[test]
    fn non_cur_headers_are_refused() {
        let h = Header::new(["BilledCost", "EffectiveCost"]);
        assert_eq!(
            detect(&h).unwrap_err(),
            "the header lacks lineItem/UnblendedCost (legacy) and line_item_unblended_cost (CUR 2.0)"
        );
        let e = CurReader::open("a,b\n1,2\n".as_bytes()).unwrap_err();
        assert_eq!(e.row, 1);
        assert!(e.reason.starts_with("not an AWS Cost and Usage Report: the header lacks"), "{}", e.reason);

        let h = Header::new(["line_item_unblended_cost", "line_item_line_item_type"]);
        let why = detect(&h).unwrap_err();
        assert!(
            why.starts_with("the header has line_item_unblended_cost but lacks line_item_currency_code"),
            "{why}"
        );
        assert_eq!(detect(&Header::new(V2_COLUMNS)), Ok(CurVersion::V2));
        assert_eq!(detect(&Header::new(REQUIRED.iter().map(|c| c.legacy))), Ok(CurVersion::Legacy));
    }

    #[test]
    fn service_categories() {
        for (code, cat) in [
            ("AmazonEC2", "Compute"),
            ("AmazonS3", "Storage"),
            ("AmazonRDS", "Databases"),
            ("AWSLambda", "Compute"),
            ("AmazonCloudFront", "Networking"),
            ("AmazonVPC", "Networking"),
            ("AmazonCloudWatch", "Management and Governance"),
            ("awskms", "Security"),
            ("AWSQueueService", "Integration"),
            ("AWSGlue", "Analytics"),
            ("AWSIoT", "Internet of Things"),
            ("AWSMigrationHubRefactorSpaces", "Migration"),
            ("SomethingNew", "Other"),
        ] {
            assert_eq!(service_category(code), cat, "{code}");
        }
    }
}
