//! The time formats AWS writes, formatted by hand: they are produced on every request, and
//! chrono's strftime interpreter costs more than the rest of the event building.

/// `12/Mar/2020:19:03:58 +0000`: API Gateway's `requestTime`.
pub fn clf(epoch_ms: u64) -> String {
    thread_local! {
        // Every request formats its second; most requests share it with the previous one.
        static LAST: std::cell::RefCell<(u64, String)> =
            const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    let second = epoch_ms / 1000;
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != second {
            *last = (second, format_clf(second));
        }
        last.1.clone()
    })
}

fn format_clf(epoch_secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d, hh, mm, ss) = civil(epoch_secs);
    let mut s = String::with_capacity(26);
    push2(&mut s, d);
    s.push('/');
    s.push_str(MONTHS[(m - 1) as usize]);
    s.push('/');
    push4(&mut s, y);
    s.push(':');
    push2(&mut s, hh);
    s.push(':');
    push2(&mut s, mm);
    s.push(':');
    push2(&mut s, ss);
    s.push_str(" +0000");
    s
}

/// `2020-03-12T19:03:58.123Z`: the timestamps of Lambda's logs.
pub fn iso8601_millis(epoch_ms: u64) -> String {
    let (y, m, d, hh, mm, ss) = civil(epoch_ms / 1000);
    let mut s = String::with_capacity(24);
    push4(&mut s, y);
    s.push('-');
    push2(&mut s, m);
    s.push('-');
    push2(&mut s, d);
    s.push('T');
    push2(&mut s, hh);
    s.push(':');
    push2(&mut s, mm);
    s.push(':');
    push2(&mut s, ss);
    s.push('.');
    let ms = (epoch_ms % 1000) as u32;
    s.push(char::from(b'0' + (ms / 100) as u8));
    push2(&mut s, ms % 100);
    s.push('Z');
    s
}

/// `2020/03/12`: the date prefix of Lambda log stream names.
pub fn slash_date(epoch_ms: u64) -> String {
    let (y, m, d, ..) = civil(epoch_ms / 1000);
    let mut s = String::with_capacity(10);
    push4(&mut s, y);
    s.push('/');
    push2(&mut s, m);
    s.push('/');
    push2(&mut s, d);
    s
}

/// Year, month, day, hour, minute, second of a Unix time (UTC), by Howard Hinnant's
/// days-to-civil algorithm.
fn civil(epoch_secs: u64) -> (u32, u32, u32, u32, u32, u32) {
    let days = (epoch_secs / 86_400) as i64;
    let secs = (epoch_secs % 86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as u32;
    (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
}

fn push2(s: &mut String, v: u32) {
    s.push(char::from(b'0' + (v / 10 % 10) as u8));
    s.push(char::from(b'0' + (v % 10) as u8));
}

fn push4(s: &mut String, v: u32) {
    push2(s, v / 100);
    push2(s, v % 100);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_chrono_across_dates() {
        for ms in [
            0u64,
            951_782_400_123,
            1_583_348_638_390,
            1_709_251_199_999,
            4_102_444_800_000,
        ] {
            let dt = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms as i64).unwrap();
            assert_eq!(clf(ms), dt.format("%d/%b/%Y:%H:%M:%S +0000").to_string());
            assert_eq!(
                iso8601_millis(ms),
                dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            );
            assert_eq!(slash_date(ms), dt.format("%Y/%m/%d").to_string());
        }
        // The second formatted last is reused within that second only.
        assert_eq!(clf(1_583_348_638_001), "04/Mar/2020:19:03:58 +0000");
        assert_eq!(clf(1_583_348_638_999), "04/Mar/2020:19:03:58 +0000");
        assert_eq!(clf(1_583_348_639_000), "04/Mar/2020:19:03:59 +0000");
    }
}
