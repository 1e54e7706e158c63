//! RFC 3339 timestamps as Step Functions accepts them, and AWS's rendering of dates.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};

/// Parses an RFC 3339 timestamp (`2016-03-14T01:59:00Z`, offsets, fractional seconds).
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    // AWS requires an uppercase 'T' separator and a zone designator.
    if !s.contains('T') {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Converts a clock reading to a UTC date.
pub fn to_utc(t: SystemTime) -> DateTime<Utc> {
    DateTime::<Utc>::from(t)
}

/// A UTC date back to a clock reading.
pub fn to_system(d: DateTime<Utc>) -> SystemTime {
    let ms = d.timestamp_millis();
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH
    }
}

/// ISO-8601 with milliseconds and `Z`, as the context object renders times.
pub fn iso(t: SystemTime) -> String {
    to_utc(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Seconds since the epoch as a float, as the AWS JSON protocol renders dates.
pub fn epoch_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as f64 / 1000.0)
        .unwrap_or(0.0)
}
