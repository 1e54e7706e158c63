//! Quota periods: DAY, WEEK and MONTH in UTC, shifted by AWS's `offset` in days.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};

/// The length of a quota period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaPeriod {
    /// A UTC day.
    Day,
    /// Seven UTC days starting on the weekday given by the offset (0 = Sunday).
    Week,
    /// A calendar month starting on day `offset + 1`.
    Month,
}

impl QuotaPeriod {
    /// Parses AWS's spelling: `DAY`, `WEEK` or `MONTH`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "DAY" => Some(QuotaPeriod::Day),
            "WEEK" => Some(QuotaPeriod::Week),
            "MONTH" => Some(QuotaPeriod::Month),
            _ => None,
        }
    }

    /// AWS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaPeriod::Day => "DAY",
            QuotaPeriod::Week => "WEEK",
            QuotaPeriod::Month => "MONTH",
        }
    }

    /// The largest offset AWS accepts for this period.
    pub fn max_offset(self) -> u32 {
        match self {
            QuotaPeriod::Day => 0,
            QuotaPeriod::Week => 6,
            QuotaPeriod::Month => 27,
        }
    }

    /// The first day of the period that contains `day`.
    pub fn start_of(self, day: NaiveDate, offset: u32) -> NaiveDate {
        let offset = offset.min(self.max_offset());
        match self {
            QuotaPeriod::Day => day,
            QuotaPeriod::Week => {
                let since_sunday = day.weekday().num_days_from_sunday();
                let back = (since_sunday + 7 - offset) % 7;
                day - TimeDelta::days(i64::from(back))
            }
            QuotaPeriod::Month => {
                let this_month = day.with_day(offset + 1).unwrap_or(day);
                if day.day() > offset {
                    this_month
                } else {
                    this_month
                        .checked_sub_months(Months::new(1))
                        .unwrap_or(this_month)
                }
            }
        }
    }

    /// The first day after the period that starts on `start`.
    pub fn end_after(self, start: NaiveDate) -> NaiveDate {
        match self {
            QuotaPeriod::Day => start + TimeDelta::days(1),
            QuotaPeriod::Week => start + TimeDelta::days(7),
            QuotaPeriod::Month => start
                .checked_add_months(Months::new(1))
                .unwrap_or(start + TimeDelta::days(28)),
        }
    }

    /// The `[start, end)` instants of the period that contains `now`.
    pub fn bounds(self, now: SystemTime, offset: u32) -> (SystemTime, SystemTime) {
        let start = self.start_of(utc_day(now), offset);
        (day_start(start), day_start(self.end_after(start)))
    }
}

/// The UTC calendar day of `time`.
pub fn utc_day(time: SystemTime) -> NaiveDate {
    DateTime::<Utc>::from(time).date_naive()
}

/// The instant a UTC day begins.
pub fn day_start(day: NaiveDate) -> SystemTime {
    let secs = day
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn week_starts_on_the_offset_weekday() {
        // 2024-05-15 is a Wednesday.
        assert_eq!(
            QuotaPeriod::Week.start_of(d(2024, 5, 15), 0),
            d(2024, 5, 12)
        );
        assert_eq!(
            QuotaPeriod::Week.start_of(d(2024, 5, 15), 1),
            d(2024, 5, 13)
        );
        assert_eq!(
            QuotaPeriod::Week.start_of(d(2024, 5, 15), 3),
            d(2024, 5, 15)
        );
        assert_eq!(QuotaPeriod::Week.start_of(d(2024, 5, 15), 4), d(2024, 5, 9));
    }

    #[test]
    fn month_starts_on_offset_plus_one() {
        assert_eq!(QuotaPeriod::Month.start_of(d(2024, 3, 1), 0), d(2024, 3, 1));
        assert_eq!(
            QuotaPeriod::Month.start_of(d(2024, 3, 10), 14),
            d(2024, 2, 15)
        );
        assert_eq!(
            QuotaPeriod::Month.start_of(d(2024, 3, 15), 14),
            d(2024, 3, 15)
        );
        assert_eq!(QuotaPeriod::Month.end_after(d(2024, 1, 28)), d(2024, 2, 28));
        assert_eq!(
            QuotaPeriod::Month.start_of(d(2024, 1, 5), 27),
            d(2023, 12, 28)
        );
    }

    #[test]
    fn bounds_cover_now() {
        let now = UNIX_EPOCH + Duration::from_secs(1_715_774_400); // 2024-05-15T12:00Z
        let (start, end) = QuotaPeriod::Day.bounds(now, 0);
        assert_eq!(start, day_start(d(2024, 5, 15)));
        assert_eq!(end, day_start(d(2024, 5, 16)));
        assert!(start <= now && now < end);
    }
}
