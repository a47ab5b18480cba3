//! Dates at day precision, and the clock that gives today's.
//!
//! Files written by consent hold dates only, never times: they are local, but kept coarse.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A calendar date (UTC), shown as `YYYY-MM-DD`.
///
/// ```
/// use telemetry::config::Date;
///
/// let date: Date = "2024-02-29".parse().unwrap();
/// assert_eq!(date.to_string(), "2024-02-29");
/// assert!("2023-02-29".parse::<Date>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// The date `year-month-day`, if it exists.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    /// The date `days` days after 1970-01-01 (H. Hinnant's `civil_from_days`).
    pub fn from_unix_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Days from 1970-01-01 to this date (H. Hinnant's `days_from_civil`): the inverse of
    /// [`from_unix_days`](Self::from_unix_days).
    ///
    /// ```
    /// use telemetry::config::Date;
    ///
    /// let day = Date::new(2026, 11, 30).unwrap();
    /// assert_eq!(Date::from_unix_days(day.to_unix_days()), day);
    /// assert_eq!(Date::new(1970, 1, 2).unwrap().to_unix_days(), 1);
    /// ```
    pub fn to_unix_days(self) -> i64 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let month = i64::from(self.month);
        let mp = if month > 2 { month - 3 } else { month + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Today, in UTC, from the system clock.
    pub fn today() -> Date {
        let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        Date::from_unix_days(secs.div_euclid(86_400))
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The error of parsing a [`Date`] that is not `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadDate;

impl fmt::Display for BadDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a date of the form YYYY-MM-DD")
    }
}

impl std::error::Error for BadDate {}

impl FromStr for Date {
    type Err = BadDate;
    fn from_str(s: &str) -> Result<Date, BadDate> {
        let mut parts = s.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(BadDate);
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(BadDate);
        }
        let parse = |p: &str| p.parse::<u16>().map_err(|_| BadDate);
        Date::new(i32::from(parse(y)?), parse(m)? as u8, parse(d)? as u8).ok_or(BadDate)
    }
}

/// Where consent gets today's date from: the system clock, or a fixed date (tests).
///
/// ```
/// use telemetry::config::{Clock, Date};
///
/// let day = Date::new(2030, 1, 2).unwrap();
/// assert_eq!(Clock::fixed(day).today(), day);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub enum Clock {
    /// The system clock, in UTC.
    #[default]
    System,
    /// Always the same day.
    Fixed(Date),
    /// The day a test sets, as days since 1970-01-01: a running process's clock a test
    /// moves (a long-running host asks its collector for its config again on a new day).
    Following(&'static AtomicI64),
}

impl PartialEq for Clock {
    fn eq(&self, other: &Clock) -> bool {
        match (self, other) {
            (Clock::System, Clock::System) => true,
            (Clock::Fixed(a), Clock::Fixed(b)) => a == b,
            (Clock::Following(a), Clock::Following(b)) => std::ptr::eq(*a, *b),
            _ => false,
        }
    }
}

impl Eq for Clock {}

impl Clock {
    /// A clock stuck on `date`.
    pub fn fixed(date: Date) -> Clock {
        Clock::Fixed(date)
    }

    /// A clock on the day `day` holds (days since 1970-01-01), read each time it is asked.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicI64, Ordering};
    /// use telemetry::config::{Clock, Date};
    ///
    /// static DAY: AtomicI64 = AtomicI64::new(20_000);
    /// let clock = Clock::following(&DAY);
    /// DAY.store(20_001, Ordering::Relaxed);
    /// assert_eq!(clock.today(), Date::from_unix_days(20_001));
    /// ```
    pub fn following(day: &'static AtomicI64) -> Clock {
        Clock::Following(day)
    }

    /// Today's date.
    pub fn today(&self) -> Date {
        match self {
            Clock::System => Date::today(),
            Clock::Fixed(date) => *date,
            Clock::Following(day) => Date::from_unix_days(day.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_days_convert_to_dates() {
        let cases = [
            (0, "1970-01-01"),
            (-1, "1969-12-31"),
            (11_016, "2000-02-29"),
            (19_782, "2024-02-29"),
            (20_454, "2026-01-01"),
        ];
        for (days, expected) in cases {
            assert_eq!(Date::from_unix_days(days).to_string(), expected, "{days}");
        }
    }

    #[test]
    fn dates_convert_back_to_days() {
        for days in [-800_000, -1, 0, 1, 11_016, 19_782, 20_454, 800_000] {
            assert_eq!(Date::from_unix_days(days).to_unix_days(), days, "{days}");
        }
    }

    #[test]
    fn parsing_rejects_what_is_not_a_date() {
        for bad in [
            "",
            "2024",
            "2024-1-01",
            "2024-13-01",
            "2024-00-10",
            "2023-02-29",
            "x-y-z",
            "2024-01-01-01",
            "2024-04-31",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "2000-02-29".parse::<Date>(),
            Ok(Date::new(2000, 2, 29).unwrap())
        );
    }
}
