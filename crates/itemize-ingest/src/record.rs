//! The ledger's one record shape, after FOCUS: whatever the source, a cost line comes out of its reader as a
//! [`FocusRecord`] with exact decimal costs.

use crate::strmap::StrMap;
use itemize_core::Currency;
use jiff::Timestamp;
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChargeCategory {
    Usage,
    Purchase,
    Tax,
    Credit,
    Adjustment,
}

impl ChargeCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeCategory::Usage => "Usage",
            ChargeCategory::Purchase => "Purchase",
            ChargeCategory::Tax => "Tax",
            ChargeCategory::Credit => "Credit",
            ChargeCategory::Adjustment => "Adjustment",
        }
    }

    /// FOCUS's spellings, case-insensitively.
    pub fn parse(v: &str) -> Option<Self> {
        [
            ChargeCategory::Usage,
            ChargeCategory::Purchase,
            ChargeCategory::Tax,
            ChargeCategory::Credit,
            ChargeCategory::Adjustment,
        ]
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(v))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChargeFrequency {
    OneTime,
    Recurring,
    UsageBased,
}

impl ChargeFrequency {
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeFrequency::OneTime => "One-Time",
            ChargeFrequency::Recurring => "Recurring",
            ChargeFrequency::UsageBased => "Usage-Based",
        }
    }

    /// FOCUS's spellings and the drift seen in real files (`Usage-based`, `UsageBased`, `one time`).
    pub fn parse(v: &str) -> Option<Self> {
        // Compared letter by letter with the separators left out, without building a lowered copy.
        let mut buf = [0u8; 10];
        let mut n = 0;
        for b in v.bytes().filter(|b| !matches!(b, b'-' | b' ' | b'_')).map(|b| b.to_ascii_lowercase()) {
            if n == buf.len() {
                return None;
            }
            buf[n] = b;
            n += 1;
        }
        Some(match &buf[..n] {
            b"onetime" => ChargeFrequency::OneTime,
            b"recurring" => ChargeFrequency::Recurring,
            b"usagebased" => ChargeFrequency::UsageBased,
            _ => return None,
        })
    }
}

/// One normalized cost line: the FOCUS 1.2 mandatory columns plus the conditional ones a source supplies.
#[derive(Debug, Clone, PartialEq)]
pub struct FocusRecord {
    /// The line of the file where the row starts (the header is line 1; for JSON lines, the line itself).
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
    pub pricing_quantity: Option<Decimal>,
    pub pricing_unit: Option<String>,
    pub consumed_quantity: Option<Decimal>,
    pub consumed_unit: Option<String>,
    /// `Standard`, `Dynamic`, `Committed` or `Other`.
    pub pricing_category: Option<String>,
    pub list_unit_price: Option<Decimal>,
    pub contracted_unit_price: Option<Decimal>,
    pub service_name: Option<String>,
    /// One of FOCUS's service categories (`Compute`, `Storage`, `Databases`, ... `Other`).
    pub service_category: Option<String>,
    pub region_id: Option<String>,
    pub resource_id: Option<String>,
    pub resource_name: Option<String>,
    pub sku_id: Option<String>,
    pub commitment_discount_id: Option<String>,
    pub tags: StrMap,
    /// Every other non-null column, by its FOCUS column name (`RegionName`, `AllocatedMethodId`, ...) or, for
    /// what FOCUS has no column for, by an `x_` name (`x_LineItemType`, `x_MeterCategory`, ...).
    pub other: StrMap,
}

impl FocusRecord {
    /// A usage line of zero cost with every optional column empty, for a reader to fill in.
    pub fn blank(line: u64, billing_currency: Currency) -> Self {
        let t = Timestamp::UNIX_EPOCH;
        FocusRecord {
            line,
            billing_account_id: String::new(),
            billing_account_name: None,
            sub_account_id: None,
            sub_account_name: None,
            provider_name: None,
            publisher_name: None,
            invoice_issuer_name: None,
            invoice_id: None,
            billing_period_start: t,
            billing_period_end: t,
            charge_period_start: t,
            charge_period_end: t,
            charge_category: ChargeCategory::Usage,
            charge_class: None,
            charge_frequency: None,
            charge_description: None,
            billing_currency,
            billed_cost: Decimal::ZERO,
            effective_cost: Decimal::ZERO,
            list_cost: Decimal::ZERO,
            contracted_cost: None,
            pricing_quantity: None,
            pricing_unit: None,
            consumed_quantity: None,
            consumed_unit: None,
            pricing_category: None,
            list_unit_price: None,
            contracted_unit_price: None,
            service_name: None,
            service_category: None,
            region_id: None,
            resource_id: None,
            resource_name: None,
            sku_id: None,
            commitment_discount_id: None,
            tags: StrMap::new(),
            other: StrMap::new(),
        }
    }
}

/// One row of the FOCUS 1.3 contract-commitment dataset: what was committed to, for how long, at what cost.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractCommitment {
    pub line: u64,
    pub commitment_id: String,
    /// `Reserved Instance`, `Savings Plan`, ...
    pub commitment_type: Option<String>,
    /// `Spend` or `Usage`.
    pub commitment_category: Option<String>,
    pub cost: Option<Decimal>,
    pub quantity: Option<Decimal>,
    pub unit: Option<String>,
    pub description: Option<String>,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub contract_id: Option<String>,
    pub contract_period_start: Option<Timestamp>,
    pub contract_period_end: Option<Timestamp>,
    pub billing_currency: Currency,
}
