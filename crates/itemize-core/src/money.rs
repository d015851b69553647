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

/// `d` rounded to cents, halves away from zero (as amounts are shown).
pub fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// `parts` in cents that add up to `total` in cents: each rounded, then the cents the rounding gained or lost
/// given back one at a time to the parts whose rounding moved them most (largest remainder).
pub fn cents_adding_up(parts: &[Decimal], total: Decimal) -> Vec<Decimal> {
    let mut out: Vec<Decimal> = parts.iter().map(|&d| cents(d)).collect();
    let cent = Decimal::new(1, 2);
    let mut off = cents(total) - out.iter().copied().sum::<Decimal>();
    // Residuals: how far rounding moved each part (positive: rounded down).
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| (parts[b] - out[b]).cmp(&(parts[a] - out[a])).then(a.cmp(&b)));
    let mut up = order.iter();
    let mut down = order.iter().rev();
    while off >= cent {
        let Some(&i) = up.next() else { break };
        out[i] += cent;
        off -= cent;
    }
    while off <= -cent {
        let Some(&i) = down.next() else { break };
        out[i] -= cent;
        off += cent;
    }
    // Only a total further from the parts than a cent for each of them is left short: no caller gives one.
    debug_assert!(
        parts.is_empty() || out.iter().copied().sum::<Decimal>() == cents(total),
        "{parts:?} {total}"
    );
    out
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

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn cents_add_up_to_the_rounded_total() {
        let thirds = [d("0.333"), d("0.333"), d("0.334")];
        assert_eq!(cents_adding_up(&thirds, d("1.000")), [d("0.33"), d("0.33"), d("0.34")]);
        // Rounded alone the rows make 1.02 against a total of 1.01 (1.005): the extra cent goes from a row rounded
        // up (all three were, by as much; the last gives it).
        let parts = [d("0.205"), d("0.395"), d("0.405")];
        let total: Decimal = parts.iter().sum();
        let shown = cents_adding_up(&parts, total);
        assert_eq!(shown.iter().sum::<Decimal>(), cents(total));
        assert_eq!(shown, [d("0.21"), d("0.40"), d("0.40")]);
        // Negative parts (credits) and a total of zero.
        let parts = [d("-0.335"), d("0.335"), d("-0.004"), d("0.004")];
        assert_eq!(cents_adding_up(&parts, Decimal::ZERO).iter().sum::<Decimal>(), Decimal::ZERO);
        // Every part within a cent of its exact amount, on many small parts.
        let parts: Vec<Decimal> = (1..200).map(|i| Decimal::new(i * 37 % 1000, 3)).collect();
        let total: Decimal = parts.iter().sum();
        let shown = cents_adding_up(&parts, total);
        assert_eq!(shown.iter().sum::<Decimal>(), cents(total));
        assert!(shown.iter().zip(&parts).all(|(s, p)| (*s - *p).abs() < d("0.01")));
    }
}
