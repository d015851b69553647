//! Depreciation of an asset, month by month, exactly.
//!
//! A plan is the depreciable amount (cost − salvage) spread over the useful life in months:
//! - **straight-line**: the remaining depreciable amount over the remaining life, each month;
//! - **declining balance** at `rate` % (200 = double declining): each year of the asset's life, the book value
//!   at the start of that year × rate / life in years, spread evenly over the year's months (rounded so each
//!   year's months add up to the year's charge), switching to straight-line as soon as straight-line gives
//!   more (the usual switch, which also makes the asset reach its salvage value exactly at the end of its
//!   life). A year of life runs twelve months from the start of the life, not the calendar year.
//!
//! Conventions say how much of a month or year the first period counts:
//! - **full-month**: the month the asset starts counts whole;
//! - **mid-month**: it counts half, and the life ends with the other half one month later;
//! - **half-year**: the first calendar year counts six months whatever the start month (as if the asset
//!   started on 1 July); months before the actual start are charged in the start month, never earlier.
//!
//! Every monthly charge is rounded to the currency's minor units, and the last charge takes what is left, so a
//! schedule always sums to cost − salvage exactly and the book value never drops below salvage.

use jiff::civil::Date;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// How an asset loses value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    StraightLine,
    DecliningBalance,
    /// Not depreciated (land, assets expensed at purchase, cloud resources).
    None,
}

/// How the first period counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Convention {
    FullMonth,
    MidMonth,
    HalfYear,
}

/// Which date depreciation starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartBasis {
    Purchase,
    InService,
}

macro_rules! text_enum {
    ($t:ty, $($v:ident => $s:literal),+ $(,)?) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
        }
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim().to_ascii_lowercase().replace(['_', ' '], "-").as_str() {
                    $($s => Ok(Self::$v),)+
                    other => Err(format!("`{other}` is not one of {}", [$($s),+].join(", "))),
                }
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(Method, StraightLine => "straight-line", DecliningBalance => "declining-balance", None => "none");
text_enum!(Convention, FullMonth => "full-month", MidMonth => "mid-month", HalfYear => "half-year");
text_enum!(StartBasis, Purchase => "purchase", InService => "in-service");

/// Everything needed to depreciate one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub cost: Decimal,
    pub salvage: Decimal,
    pub life_months: u32,
    pub method: Method,
    /// Declining-balance rate in percent of straight-line (200 = double declining). Ignored otherwise.
    pub rate_percent: Decimal,
    pub convention: Convention,
    /// The first day of depreciation (purchase or in-service date, as the asset's basis says).
    pub start: Date,
    /// Decimal places of the currency (2 for EUR, 0 for JPY).
    pub scale: u32,
}

/// One month of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Month {
    /// The first day of the month.
    pub month: Date,
    pub opening: Decimal,
    pub expense: Decimal,
    pub closing: Decimal,
    /// Accumulated depreciation at the end of the month.
    pub accumulated: Decimal,
    /// Whether this month's charge was straight-line (declining balance switches).
    pub straight_line: bool,
}

/// A plan that cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the salvage value must be between zero and the cost")]
    Salvage,
    #[error("the useful life must be at least one month")]
    Life,
    #[error("the declining-balance rate must be more than 0 %")]
    Rate,
}

fn first_of_month(d: Date) -> Date {
    d.first_of_month()
}

fn add_months(d: Date, n: i32) -> Date {
    let total = i32::from(d.year()) * 12 + i32::from(d.month()) - 1 + n;
    Date::new((total.div_euclid(12)) as i16, (total.rem_euclid(12) + 1) as i8, 1).unwrap_or(d)
}

impl Plan {
    fn check(&self) -> Result<(), PlanError> {
        if self.salvage < Decimal::ZERO || self.salvage > self.cost {
            return Err(PlanError::Salvage);
        }
        if self.life_months == 0 {
            return Err(PlanError::Life);
        }
        if self.method == Method::DecliningBalance && self.rate_percent <= Decimal::ZERO {
            return Err(PlanError::Rate);
        }
        Ok(())
    }

    fn round(&self, d: Decimal) -> Decimal {
        d.round_dp_with_strategy(self.scale, RoundingStrategy::MidpointNearestEven)
    }

    /// The whole schedule, from the first month with a charge to the month the book value reaches salvage.
    pub fn schedule(&self) -> Result<Vec<Month>, PlanError> {
        self.check()?;
        let depreciable = self.cost - self.salvage;
        if self.method == Method::None || depreciable.is_zero() {
            return Ok(Vec::new());
        }
        let start_month = first_of_month(self.start);
        let half = Decimal::new(5, 1);
        // In half-month units when the convention splits months; whole months otherwise.
        let life = Decimal::from(self.life_months);
        // Where the accounting life begins and how much of the first month counts.
        let (life_begins, first_fraction) = match self.convention {
            Convention::FullMonth => (start_month, Decimal::ONE),
            Convention::MidMonth => (start_month, half),
            Convention::HalfYear => (Date::new(self.start.year(), 7, 1).unwrap_or(start_month), Decimal::ONE),
        };
        // The declining-balance charge of a year of life, per unit of its book value at the start of that year.
        let twelve = Decimal::from(12);
        let db_annual_rate = self.rate_percent / Decimal::from(100) * twelve / life;
        // The year of life being charged: its index, its whole charge (unrounded), and what of it is charged.
        let mut year: Option<(Decimal, Decimal)> = None;
        let mut book = self.cost;
        let mut elapsed = Decimal::ZERO; // months of life used
        let mut out: Vec<Month> = Vec::new();
        let mut month = life_begins;
        let mut carried = Decimal::ZERO; // half-year: charges of months before the real start
        let mut switched = self.method == Method::StraightLine;
        let mut first = true;
        let mut guard = 0u32;
        while book > self.salvage {
            guard += 1;
            if guard > self.life_months * 2 + 48 {
                break;
            }
            let fraction = if first { first_fraction } else { Decimal::ONE };
            first = false;
            let remaining_life = life - elapsed;
            let left = book - self.salvage;
            let charge = if remaining_life <= fraction {
                left
            } else {
                let sl = self.round(left * fraction / remaining_life);
                let db = if self.method == Method::DecliningBalance && !switched {
                    // The month's share of its year's charge (or of two years', where a half month is the last
                    // of one year and the first of the next), cumulatively rounded within each year.
                    let mut db = Decimal::ZERO;
                    let (mut from, to) = (elapsed, elapsed + fraction);
                    while from < to {
                        let index = (from / twelve).floor();
                        let annual = match year {
                            Some((i, annual)) if i == index => annual,
                            _ => {
                                let annual = (book - db) * db_annual_rate;
                                year = Some((index, annual));
                                annual
                            }
                        };
                        let year_start = index * twelve;
                        let until = to.min(year_start + twelve);
                        let through = |x: Decimal| self.round(annual * (x - year_start) / twelve);
                        db += through(until) - through(from);
                        from = until;
                    }
                    db
                } else {
                    Decimal::ZERO
                };
                let c = if self.method == Method::DecliningBalance && !switched && db > sl {
                    db
                } else {
                    switched = true;
                    sl
                };
                c.min(left)
            };
            elapsed += fraction;
            if month < start_month {
                // Half-year convention: the months before the asset started are charged when it starts.
                carried += charge;
                book -= charge;
                month = add_months(month, 1);
                continue;
            }
            let expense = charge + carried;
            carried = Decimal::ZERO;
            let opening = book + expense - charge;
            book -= charge;
            out.push(Month {
                month,
                opening,
                expense,
                closing: book,
                accumulated: self.cost - book,
                straight_line: switched,
            });
            month = add_months(month, 1);
        }
        if !carried.is_zero() {
            // The whole life fell before the start (a life shorter than the half-year catch-up).
            out.push(Month {
                month: start_month,
                opening: book + carried,
                expense: carried,
                closing: book,
                accumulated: self.cost - book,
                straight_line: switched,
            });
        }
        Ok(out)
    }

    /// The book value at the end of `date`'s month (the cost before the first charge).
    pub fn book_value_at(&self, date: Date) -> Result<Decimal, PlanError> {
        let month = first_of_month(date);
        let mut value = self.cost;
        for m in self.schedule()? {
            if m.month > month {
                break;
            }
            value = m.closing;
        }
        Ok(value)
    }

    /// The charge booked in `date`'s month.
    pub fn expense_in(&self, date: Date) -> Result<Decimal, PlanError> {
        let month = first_of_month(date);
        Ok(self.schedule()?.into_iter().find(|m| m.month == month).map_or(Decimal::ZERO, |m| m.expense))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn plan(method: Method, convention: Convention, start: Date) -> Plan {
        Plan {
            cost: dec("1200.00"),
            salvage: Decimal::ZERO,
            life_months: 36,
            method,
            rate_percent: Decimal::from(200),
            convention,
            start,
            scale: 2,
        }
    }

    #[test]
    fn straight_line_full_month_is_even() {
        let s = plan(Method::StraightLine, Convention::FullMonth, date(2025, 3, 17)).schedule().unwrap();
        assert_eq!(s.len(), 36);
        assert_eq!(s[0].month, date(2025, 3, 1));
        assert!(s.iter().all(|m| m.expense == dec("33.33") || m.expense == dec("33.34")));
        assert_eq!(s.iter().map(|m| m.expense).sum::<Decimal>(), dec("1200.00"));
        assert_eq!(s.last().unwrap().month, date(2028, 2, 1));
        assert_eq!(s.last().unwrap().closing, Decimal::ZERO);
    }

    #[test]
    fn mid_month_charges_half_first_and_ends_a_month_later() {
        let s = plan(Method::StraightLine, Convention::MidMonth, date(2025, 3, 17)).schedule().unwrap();
        assert_eq!(s.len(), 37);
        assert_eq!(s[0].expense, dec("16.67"));
        assert_eq!(s[1].expense, dec("33.33"));
        assert_eq!(s.last().unwrap().month, date(2028, 3, 1));
        assert_eq!(s.iter().map(|m| m.expense).sum::<Decimal>(), dec("1200.00"));
    }

    #[test]
    fn half_year_gives_six_months_in_the_first_year() {
        // Bought in March: nothing until July, then normal charges.
        let s = plan(Method::StraightLine, Convention::HalfYear, date(2025, 3, 17)).schedule().unwrap();
        assert_eq!(s[0].month, date(2025, 7, 1));
        let first_year: Decimal = s.iter().filter(|m| m.month.year() == 2025).map(|m| m.expense).sum();
        // Six monthly charges of 1200/36, each rounded to the cent.
        assert_eq!(first_year, dec("199.98"));
        // Bought in November: July–November caught up in November, never before the purchase.
        let s = plan(Method::StraightLine, Convention::HalfYear, date(2025, 11, 2)).schedule().unwrap();
        assert_eq!(s[0].month, date(2025, 11, 1));
        assert_eq!(s[0].expense, dec("166.65"));
        let first_year: Decimal = s.iter().filter(|m| m.month.year() == 2025).map(|m| m.expense).sum();
        assert_eq!(first_year, dec("199.98"));
        assert_eq!(s.last().unwrap().month, date(2028, 6, 1));
    }

    #[test]
    fn declining_balance_switches_to_straight_line_and_ends_at_salvage() {
        let mut p = plan(Method::DecliningBalance, Convention::FullMonth, date(2024, 1, 1));
        p.salvage = dec("100.00");
        let s = p.schedule().unwrap();
        // Double declining over three years: the first year 1200 × 2/3 = 800.00, 66.67 a month (more than
        // straight-line's 1100/36 = 30.56), its twelve months adding up to 800.00 exactly.
        assert_eq!(s[0].expense, dec("66.67"));
        assert!(!s[0].straight_line);
        let year = |y: i16| s.iter().filter(|m| m.month.year() == y).map(|m| m.expense).sum::<Decimal>();
        assert_eq!(year(2024), dec("800.00"));
        // The second year starts from 400.00: 400 × 2/3 = 266.67 (22.22 a month), more than straight-line's
        // (400 − 100) / 24 = 12.50. The third starts from 133.33: 88.89 a year is more than straight-line's
        // 33.33, so it stays declining and stops at the salvage value, in the fifth month.
        assert_eq!(year(2025), dec("266.67"));
        assert_eq!(year(2026), dec("33.33"));
        assert!(s.iter().all(|m| !m.straight_line));
        assert_eq!((s.len(), s.last().unwrap().month), (29, date(2026, 5, 1)));
        assert_eq!(s.last().unwrap().closing, dec("100.00"));
        assert_eq!(p.book_value_at(date(2023, 12, 31)).unwrap(), dec("1200.00"));
        assert_eq!(p.book_value_at(date(2024, 1, 15)).unwrap(), dec("1133.33"));
        assert_eq!(p.book_value_at(date(2024, 12, 31)).unwrap(), dec("400.00"));
        assert_eq!(p.book_value_at(date(2030, 1, 1)).unwrap(), dec("100.00"));
        // Without salvage the third year's straight-line (133.33 over 12 months) beats 88.89: it switches there
        // and ends at zero with the life.
        p.salvage = Decimal::ZERO;
        let s = p.schedule().unwrap();
        let year = |y: i16| s.iter().filter(|m| m.month.year() == y).map(|m| m.expense).sum::<Decimal>();
        assert_eq!((year(2024), year(2025), year(2026)), (dec("800.00"), dec("266.67"), dec("133.33")));
        assert_eq!(s.iter().position(|m| m.straight_line), Some(24));
        assert!(s[24..].windows(2).all(|w| (w[0].expense - w[1].expense).abs() <= Decimal::new(1, 2)));
        assert_eq!((s.len(), s.last().unwrap().closing), (36, Decimal::ZERO));
        // 3000.00 over five years at 200 %: 1200.00 the first year, 720.00 the second (40 % of 1800.00).
        let p = Plan {
            cost: dec("3000.00"),
            life_months: 60,
            ..plan(Method::DecliningBalance, Convention::FullMonth, date(2024, 4, 9))
        };
        let s = p.schedule().unwrap();
        let first: Decimal = s[..12].iter().map(|m| m.expense).sum();
        let second: Decimal = s[12..24].iter().map(|m| m.expense).sum();
        assert_eq!((first, second), (dec("1200.00"), dec("720.00")));
        // Mid-month: the year of life ends half-way through a month, which takes half of each year's rate.
        let p = Plan {
            cost: dec("3000.00"),
            life_months: 60,
            ..plan(Method::DecliningBalance, Convention::MidMonth, date(2024, 4, 9))
        };
        let s = p.schedule().unwrap();
        assert_eq!(s[0].expense, dec("50.00"), "half of 100.00");
        assert_eq!(
            s[12].expense,
            dec("50.00") + dec("30.00"),
            "the last half of year one, the first of year two"
        );
    }

    #[test]
    fn bad_plans_are_refused() {
        let mut p = plan(Method::StraightLine, Convention::FullMonth, date(2024, 1, 1));
        p.salvage = dec("2000.00");
        assert_eq!(p.schedule(), Err(PlanError::Salvage));
        p.salvage = Decimal::ZERO;
        p.life_months = 0;
        assert_eq!(p.schedule(), Err(PlanError::Life));
        let none = plan(Method::None, Convention::FullMonth, date(2024, 1, 1));
        assert!(none.schedule().unwrap().is_empty());
        assert_eq!(none.book_value_at(date(2030, 1, 1)).unwrap(), dec("1200.00"));
    }

    proptest! {
        #[test]
        fn schedules_sum_exactly_and_never_go_below_salvage(
            cost in 1i64..100_000_000,
            salvage_pct in 0i64..60,
            life in 1u32..120,
            method in prop_oneof![Just(Method::StraightLine), Just(Method::DecliningBalance)],
            convention in prop_oneof![Just(Convention::FullMonth), Just(Convention::MidMonth), Just(Convention::HalfYear)],
            rate in 100i64..300,
            month in 1i8..=12,
            scale in prop_oneof![Just(0u32), Just(2u32)],
        ) {
            let cost = Decimal::new(cost, scale);
            let salvage = (cost * Decimal::new(salvage_pct, 2)).round_dp(scale);
            let p = Plan { cost, salvage, life_months: life, method, rate_percent: Decimal::from(rate), convention,
                start: date(2024, month, 10), scale };
            let s = p.schedule().unwrap();
            let total: Decimal = s.iter().map(|m| m.expense).sum();
            prop_assert_eq!(total, cost - salvage);
            for m in &s {
                prop_assert!(m.expense >= Decimal::ZERO);
                prop_assert!(m.closing >= salvage);
                prop_assert_eq!(m.opening - m.expense, m.closing);
                prop_assert!(m.month >= date(2024, month, 1));
            }
            prop_assert!(s.windows(2).all(|w| w[0].month < w[1].month));
            if !s.is_empty() {
                prop_assert_eq!(s.last().unwrap().closing, salvage);
                // The life is respected: never more months than the life plus the convention's extra one.
                prop_assert!(s.len() as u32 <= life + 1);
            }
        }
    }
}
