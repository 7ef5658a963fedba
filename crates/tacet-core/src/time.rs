//! UTC timestamps from Unix milliseconds, without a date crate: the civil
//! calendar from a day count (Howard Hinnant's `civil_from_days`). The one
//! copy: the audit's FHIR records, the note's exports, the installation
//! report and the screens all format times here.

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    milli: u64,
}

/// The latest instant formatted (9999-12-31T23:59:59.999Z); later ones are
/// clamped to it, so a year never has five digits.
const MAX_MS: u64 = 253_402_300_799_999;

fn parts(unix_ms: u64) -> Parts {
    let unix_ms = unix_ms.min(MAX_MS);
    let secs = unix_ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let (year, month, day) = civil_from_days(days);
    let rem = secs % 86_400;
    Parts {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
        milli: unix_ms % 1000,
    }
}

/// A FHIR `instant` (and `dateTime`): `2024-05-01T14:03:07.250Z`.
pub fn format_instant(unix_ms: u64) -> String {
    let p = parts(unix_ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second, p.milli
    )
}

/// For people, to the second: `2023-11-14 22:13:20 UTC`.
pub fn format_utc_seconds(unix_ms: u64) -> String {
    let p = parts(unix_ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        p.year, p.month, p.day, p.hour, p.minute, p.second
    )
}

/// For people: `2024-05-01 14:03 UTC`.
pub fn format_utc_minutes(unix_ms: u64) -> String {
    let p = parts(unix_ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        p.year, p.month, p.day, p.hour, p.minute
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(format_instant(0), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (a leap day in a century leap year) 12:34:56.789.
        assert_eq!(format_instant(951_827_696_789), "2000-02-29T12:34:56.789Z");
        assert_eq!(
            format_instant(1_714_572_187_250),
            "2024-05-01T14:03:07.250Z"
        );
        assert_eq!(
            format_utc_minutes(1_714_572_187_250),
            "2024-05-01 14:03 UTC"
        );
    }

    #[test]
    fn no_time_panics_and_years_keep_four_digits() {
        assert_eq!(format_instant(u64::MAX), "9999-12-31T23:59:59.999Z");
        assert_eq!(format_utc_seconds(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            format_utc_seconds(1_700_000_000_000),
            "2023-11-14 22:13:20 UTC"
        );
    }
}
