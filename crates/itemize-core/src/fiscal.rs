//! Fiscal calendars. A fiscal year starts on the first day of a configurable month and is named after the
//! calendar year in which it ends (start month April: 1 April 2026 – 31 March 2027 is FY2027).

use jiff::civil::{Date, date};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiscalCalendar {
    start_month: i8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fiscal year start month must be 1 to 12, got {0}")]
pub struct BadStartMonth(pub i64);

/// One month of a fiscal year: `period` 1 is the fiscal year's first month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FiscalPeriod {
    pub year: i16,
    pub period: i8,
}

impl FiscalPeriod {
    pub fn quarter(&self) -> i8 {
        (self.period - 1) / 3 + 1
    }
}

impl fmt::Display for FiscalPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FY{}-P{:02}", self.year, self.period)
    }
}

impl Default for FiscalCalendar {
    fn default() -> Self {
        Self { start_month: 1 }
    }
}

impl FiscalCalendar {
    pub fn new(start_month: i64) -> Result<Self, BadStartMonth> {
        if (1..=12).contains(&start_month) {
            Ok(Self { start_month: start_month as i8 })
        } else {
            Err(BadStartMonth(start_month))
        }
    }

    pub fn start_month(&self) -> i8 {
        self.start_month
    }

    /// The fiscal period that contains `d`.
    pub fn period_of(&self, d: Date) -> FiscalPeriod {
        let months_in = (d.month() - self.start_month).rem_euclid(12);
        let starts_in_year = if d.month() >= self.start_month { d.year() } else { d.year() - 1 };
        let year = if self.start_month == 1 { starts_in_year } else { starts_in_year + 1 };
        FiscalPeriod { year, period: months_in + 1 }
    }

    /// First day of fiscal year `year`.
    pub fn year_start(&self, year: i16) -> Date {
        let start_year = if self.start_month == 1 { year } else { year - 1 };
        date(start_year, self.start_month, 1)
    }

    /// Last day of fiscal year `year`.
    pub fn year_end(&self, year: i16) -> Date {
        self.year_start(year + 1).yesterday().unwrap_or(Date::MAX)
    }

    /// First and last calendar day of a fiscal period.
    pub fn period_range(&self, p: FiscalPeriod) -> (Date, Date) {
        let start = self.year_start(p.year);
        let first = start.checked_add(jiff::Span::new().months(i64::from(p.period - 1))).unwrap_or(start);
        (first, first.last_of_month())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_year() {
        let cal = FiscalCalendar::default();
        assert_eq!(cal.period_of(date(2026, 1, 1)), FiscalPeriod { year: 2026, period: 1 });
        assert_eq!(cal.period_of(date(2026, 12, 31)), FiscalPeriod { year: 2026, period: 12 });
        assert_eq!(cal.year_end(2026), date(2026, 12, 31));
    }

    #[test]
    fn april_start_is_named_for_its_end() {
        let cal = FiscalCalendar::new(4).unwrap();
        assert_eq!(cal.period_of(date(2026, 4, 1)), FiscalPeriod { year: 2027, period: 1 });
        assert_eq!(cal.period_of(date(2026, 3, 31)), FiscalPeriod { year: 2026, period: 12 });
        let p = cal.period_of(date(2026, 11, 22));
        assert_eq!((p.period, p.quarter()), (8, 3));
        assert_eq!(cal.year_start(2027), date(2026, 4, 1));
        assert_eq!(cal.year_end(2027), date(2027, 3, 31));
        assert_eq!(cal.period_range(p), (date(2026, 11, 1), date(2026, 11, 30)));
        assert_eq!(p.to_string(), "FY2027-P08");
    }

    #[test]
    fn every_day_round_trips_through_its_period() {
        for m in 1..=12 {
            let cal = FiscalCalendar::new(m).unwrap();
            let mut d = date(2024, 1, 1);
            while d < date(2026, 1, 1) {
                let (first, last) = cal.period_range(cal.period_of(d));
                assert!(first <= d && d <= last, "start {m}: {d} not in {first}..{last}");
                d = d.tomorrow().unwrap();
            }
        }
        assert!(FiscalCalendar::new(13).is_err());
        assert!(FiscalCalendar::new(0).is_err());
    }
}
