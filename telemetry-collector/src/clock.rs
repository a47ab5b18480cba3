//! Today's date, in days since 1970-01-01 (UTC): from the system, or fixed by a test.

use std::time::{SystemTime, UNIX_EPOCH};

/// Where today's date comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Today {
    /// The system clock.
    #[default]
    System,
    /// Always this day (days since 1970-01-01).
    Fixed(i64),
}

impl Today {
    /// Today, in days since 1970-01-01.
    pub fn day(self) -> i64 {
        match self {
            Today::Fixed(day) => day,
            Today::System => {
                let secs = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                secs.div_euclid(86_400)
            }
        }
    }
}

/// `YYYY-MM-DD` of a day number.
pub(crate) fn date(day: i64) -> String {
    telemetry_runtime::Date::from_unix_days(day).to_string()
}
