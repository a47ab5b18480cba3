//! Random ids and the hour: the only identifiers and the only time that leave the machine.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::base::calendar::Date;
use crate::base::random;
use crate::wire::json::{Json, ToJson};

/// A random UUID v4. Never derived from anything about the machine or the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Id(uuid::Uuid);

impl Id {
    /// A fresh random id; `None` if the OS random source failed (then nothing is sent).
    pub(crate) fn random() -> Option<Id> {
        random::uuid_v4().map(Id)
    }

    /// An id as a receiver reads one: `8-4-4-4-12` hex digits, either case.
    pub(crate) fn parse_hyphenated(s: &str) -> Option<Id> {
        let hyphenated = s.len() == 36
            && s.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
        Id::parse(s).filter(|_| hyphenated)
    }

    /// An id read back from a file; only a well-formed UUID is accepted.
    pub(crate) fn parse(s: &str) -> Option<Id> {
        uuid::Uuid::try_parse(s).ok().map(Id)
    }
}

impl From<uuid::Uuid> for Id {
    fn from(id: uuid::Uuid) -> Id {
        Id(id)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl ToJson for Id {
    fn to_json(&self) -> Json {
        Json::str(self.to_string())
    }
}

/// A time truncated to the hour (UTC), shown as `2026-11-21T04:00:00Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Hour(i64);

impl Hour {
    /// The current hour.
    pub(crate) fn now() -> Hour {
        let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        Hour::from_unix_secs(secs)
    }

    /// The hour that contains `secs` seconds after the Unix epoch.
    pub(crate) fn from_unix_secs(secs: i64) -> Hour {
        Hour(secs.div_euclid(3600))
    }

    /// Hours since 1970-01-01 (UTC).
    pub(crate) fn hours(self) -> i64 {
        self.0
    }

    /// `s` if it is what an hour prints, as hours since 1970-01-01.
    pub(crate) fn parse(s: &str) -> Option<Hour> {
        if !Hour::is_printed_form(s) {
            return None;
        }
        let (date, time) = s.split_once('T')?;
        let date: Date = date.parse().ok()?;
        let h: i64 = time.get(..2)?.parse().ok()?;
        Some(Hour(date.to_unix_days() * 24 + h))
    }

    /// Whether `s` is what an hour prints: `YYYY-MM-DDTHH:00:00Z`, a real date, never
    /// minutes or seconds.
    pub(crate) fn is_printed_form(s: &str) -> bool {
        s.split_once('T').is_some_and(|(date, time)| {
            date.parse::<Date>().is_ok_and(|d| d.to_string() == date)
                && (0..24).any(|h| time == format!("{h:02}:00:00Z"))
        })
    }
}

impl fmt::Display for Hour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = Date::from_unix_days(self.0.div_euclid(24));
        write!(f, "{date}T{:02}:00:00Z", self.0.rem_euclid(24))
    }
}

impl ToJson for Hour {
    fn to_json(&self) -> Json {
        Json::str(self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_truncated_and_formatted() {
        assert_eq!(Hour::from_unix_secs(0).to_string(), "1970-01-01T00:00:00Z");
        // 2026-11-21 04:59:59 UTC
        assert_eq!(
            Hour::from_unix_secs(1_795_237_199).to_string(),
            "2026-11-21T04:00:00Z"
        );
        assert_eq!(
            Hour::from_unix_secs(1_795_237_200).to_string(),
            "2026-11-21T05:00:00Z"
        );
        assert_eq!(Hour::from_unix_secs(-1).to_string(), "1969-12-31T23:00:00Z");
        assert!(Hour::is_printed_form("2026-11-21T05:00:00Z"));
        assert!(!Hour::is_printed_form("2026-11-21T05:13:00Z"));
    }
}
