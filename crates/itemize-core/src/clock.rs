//! Time is a parameter. Only the binary's wiring reads the wall clock; everything else receives a [`Clock`].

use jiff::{Timestamp, civil::Date, tz::TimeZone};
use std::sync::Mutex;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;

    /// Today's date in UTC.
    fn today(&self) -> Date {
        self.now().to_zoned(TimeZone::UTC).date()
    }
}

/// A clock that says what it is told: for tests, the demo's `--as-of`, and replays.
#[derive(Debug)]
pub struct FixedClock(Mutex<Timestamp>);

impl FixedClock {
    pub fn new(at: Timestamp) -> Self {
        Self(Mutex::new(at))
    }

    /// Midnight UTC of `date`.
    pub fn at_date(date: Date) -> Self {
        let ts = date.to_zoned(TimeZone::UTC).map(|z| z.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH);
        Self::new(ts)
    }

    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Formats a timestamp as fixed-width RFC 3339 UTC with microseconds, so that text order is time order.
pub fn format_timestamp(ts: Timestamp) -> String {
    let dt = ts.to_zoned(TimeZone::UTC).datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.subsec_nanosecond() / 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_timestamps_sort_as_text() {
        let a: Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
        let b: Timestamp = "2026-01-02T03:04:05.5Z".parse().unwrap();
        assert_eq!(format_timestamp(a), "2026-01-02T03:04:05.000000Z");
        assert_eq!(format_timestamp(b), "2026-01-02T03:04:05.500000Z");
        assert!(format_timestamp(a) < format_timestamp(b));
        assert_eq!(format_timestamp(b).parse::<Timestamp>().unwrap(), b);
    }

    #[test]
    fn fixed_clock_today_is_utc_date() {
        let c = FixedClock::new("2026-03-31T23:30:00-05:00".parse().unwrap());
        assert_eq!(c.today(), jiff::civil::date(2026, 4, 1));
    }
}
