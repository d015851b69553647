//! Exact money: a decimal amount in one ISO 4217 currency. There is no conversion to or from binary floating
//! point anywhere in this type; amounts enter as text or integers and leave as text.

use crate::Currency;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Serialized as a decimal string, never a JSON number, so no client parses it into a float by accident.
    pub amount: Decimal,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("cannot combine {0} with {1}: convert to one currency first")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount overflows the exact decimal range")]
    Overflow,
    #[error("`{0}` is not a decimal amount")]
    NotAnAmount(String),
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(Decimal::ZERO, currency)
    }

    /// Parses a plain decimal amount such as `-1234.5678`. Grouping separators and currency symbols are the
    /// ingest readers' business, not this type's.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, MoneyError> {
        let d = Decimal::from_str(amount.trim()).map_err(|_| MoneyError::NotAnAmount(amount.to_string()))?;
        Ok(Self::new(d, currency))
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let amount = self.amount.checked_add(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.checked_add(Money::new(-other.amount, other.currency))
    }

    /// Sums exactly; an empty iterator gives zero in `currency`.
    pub fn sum<I: IntoIterator<Item = Money>>(currency: Currency, items: I) -> Result<Money, MoneyError> {
        items.into_iter().try_fold(Money::zero(currency), Money::checked_add)
    }

    /// Rounded to the currency's minor unit, half away from zero (for display and invoices, never for storage).
    pub fn rounded(self) -> Money {
        let dp = self.currency.minor_units();
        Money::new(
            self.amount.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero),
            self.currency,
        )
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(s: &str) -> Money {
        Money::parse(s, Currency::USD).unwrap()
    }

    #[test]
    fn sums_exactly_where_floats_drift() {
        let tenths = std::iter::repeat_n(usd("0.1"), 10);
        assert_eq!(Money::sum(Currency::USD, tenths).unwrap(), usd("1.0"));
        let tiny = std::iter::repeat_n(usd("0.0000000001"), 1_000);
        assert_eq!(Money::sum(Currency::USD, tiny).unwrap().amount.to_string(), "0.0000001000");
    }

    #[test]
    fn refuses_mixed_currencies() {
        let eur = Money::parse("1", Currency::EUR).unwrap();
        assert_eq!(
            usd("1").checked_add(eur),
            Err(MoneyError::CurrencyMismatch(Currency::USD, Currency::EUR))
        );
    }

    #[test]
    fn rounds_to_minor_units() {
        assert_eq!(usd("2.345").rounded(), usd("2.35"));
        assert_eq!(usd("-2.345").rounded(), usd("-2.35"));
        let jpy = Money::parse("1234.5", "JPY".parse().unwrap()).unwrap();
        assert_eq!(jpy.rounded().amount.to_string(), "1235");
    }

    #[test]
    fn serializes_amount_as_string() {
        let json = serde_json::to_string(&usd("12.30")).unwrap();
        assert_eq!(json, r#"{"amount":"12.30","currency":"USD"}"#);
        assert!(Money::parse("12,30", Currency::USD).is_err());
    }
}
