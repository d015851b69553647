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

/// Parses what [`format_timestamp`] writes (`2026-11-22T09:00:00.000000Z`) without a general-purpose parser,
/// falling back to one for any other RFC 3339 text. Storage reads many of these per page.
pub fn parse_timestamp(s: &str) -> Result<Timestamp, jiff::Error> {
    let b = s.as_bytes();
    let fixed = b.len() == 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[26] == b'Z';
    if fixed {
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            b[r].iter().try_fold(0i64, |acc, c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
        };
        if let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec), Some(us)) =
            (num(0..4), num(5..7), num(8..10), num(11..13), num(14..16), num(17..19), num(20..26))
            && (1..=12).contains(&mo)
            && (1..=31).contains(&d)
            && h < 24
            && mi < 60
            && sec < 60
        {
            // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
            let y2 = if mo <= 2 { y - 1 } else { y };
            let era = y2.div_euclid(400);
            let yoe = y2 - era * 400;
            let mp = (mo + 9) % 12;
            let doy = (153 * mp + 2) / 5 + d - 1;
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
            let days = era * 146_097 + doe - 719_468;
            let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
            if let Ok(ts) = Timestamp::new(secs, (us * 1000) as i32) {
                return Ok(ts);
            }
        }
    }
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_parse_agrees_with_jiff() {
        for text in [
            "1970-01-01T00:00:00.000000Z",
            "2000-02-29T23:59:59.999999Z",
            "2026-11-22T09:00:00.123456Z",
            "1969-12-31T23:59:59.000001Z",
            "2100-03-01T00:00:00.000000Z",
        ] {
            assert_eq!(parse_timestamp(text).unwrap(), text.parse::<Timestamp>().unwrap(), "{text}");
        }
        assert_eq!(
            parse_timestamp("2026-11-22T09:00:00Z").unwrap(),
            "2026-11-22T09:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(parse_timestamp("2026-13-22T09:00:00.000000Z").is_err());
        let now: Timestamp = "2026-05-06T07:08:09.5Z".parse().unwrap();
        assert_eq!(parse_timestamp(&format_timestamp(now)).unwrap(), now);
    }

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
