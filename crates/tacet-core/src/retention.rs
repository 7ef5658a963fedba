//! The bounds of the retention settings, whoever sets them (`tacet
//! settings`, the admin screen) and in whatever unit: unexported sessions
//! are kept at least one hour, and an exported session's grace period is at
//! most 72 hours. The vault enforces them; the front ends say so first.

/// The shortest time an unexported session is kept.
pub const MIN_UNEXPORTED_LIMIT_MS: u64 = HOUR_MS;
/// The longest grace period after an export.
pub const MAX_EXPORT_GRACE_MS: u64 = 72 * HOUR_MS;

pub const HOUR_MS: u64 = 3_600_000;
pub const DAY_MS: u64 = 24 * HOUR_MS;

/// [`MIN_UNEXPORTED_LIMIT_MS`] in days (about 0.042).
pub const MIN_RETENTION_DAYS: f64 = MIN_UNEXPORTED_LIMIT_MS as f64 / DAY_MS as f64;
/// [`MAX_EXPORT_GRACE_MS`] in hours.
pub const MAX_GRACE_HOURS: f64 = (MAX_EXPORT_GRACE_MS / HOUR_MS) as f64;

/// Why a setting is refused, in words a person can act on (lower case; a
/// screen capitalises it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetentionProblem {
    #[error("the retention period must be a number of days, at least one hour (0.042 days)")]
    RetentionTooShort,
    #[error("the grace period after export must be between 0 and 72 hours")]
    GraceOutOfRange,
}

/// Checks a retention period given in days.
pub fn check_retention_days(days: f64) -> Result<(), RetentionProblem> {
    if days.is_finite() && days >= MIN_RETENTION_DAYS {
        Ok(())
    } else {
        Err(RetentionProblem::RetentionTooShort)
    }
}

/// Checks a grace period given in hours.
pub fn check_grace_hours(hours: f64) -> Result<(), RetentionProblem> {
    if hours.is_finite() && (0.0..=MAX_GRACE_HOURS).contains(&hours) {
        Ok(())
    } else {
        Err(RetentionProblem::GraceOutOfRange)
    }
}

/// Checks the settings as the vault stores them, in milliseconds.
pub fn check_ms(unexported_limit_ms: u64, export_grace_ms: u64) -> Result<(), RetentionProblem> {
    if export_grace_ms > MAX_EXPORT_GRACE_MS {
        return Err(RetentionProblem::GraceOutOfRange);
    }
    if unexported_limit_ms < MIN_UNEXPORTED_LIMIT_MS {
        return Err(RetentionProblem::RetentionTooShort);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_agree_in_every_unit() {
        assert!(check_retention_days(MIN_RETENTION_DAYS).is_ok());
        assert!(check_retention_days(0.04).is_err());
        assert!(check_retention_days(f64::NAN).is_err());
        assert!(check_grace_hours(0.0).is_ok() && check_grace_hours(72.0).is_ok());
        assert!(check_grace_hours(72.01).is_err() && check_grace_hours(-1.0).is_err());
        assert!(check_ms(HOUR_MS, MAX_EXPORT_GRACE_MS).is_ok());
        assert_eq!(
            check_ms(HOUR_MS - 1, 0),
            Err(RetentionProblem::RetentionTooShort)
        );
        assert_eq!(
            check_ms(DAY_MS, MAX_EXPORT_GRACE_MS + 1),
            Err(RetentionProblem::GraceOutOfRange)
        );
    }
}
