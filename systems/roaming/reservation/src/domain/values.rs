//! Value objects: parsed once at the edge, valid from then on.

use time::Date;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ValueError {
    /// The customer id is empty, too long or has odd characters.
    #[error("customerId must be 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    BadCustomerId,
    /// The rental date is before today.
    #[error("rentalDate {0} is in the past")]
    RentalDateInPast(Date),
    /// The return date is not after the rental date.
    #[error("returnDate must be after rentalDate")]
    ReturnNotAfterRental,
    /// The rental is longer than allowed.
    #[error("a rental lasts at most {max} days, this one {days}")]
    TooLong {
        /// Requested days.
        days: i64,
        /// The limit.
        max: i64,
    },
    /// A date is not `YYYY-MM-DD`.
    #[error("{field} must be a date like 2026-12-01")]
    BadDate {
        /// The field.
        field: &'static str,
    },
    /// The idempotency key is empty or too long.
    #[error("Idempotency-Key must be 1 to 128 visible characters")]
    BadIdempotencyKey,
}

/// Who rents: an opaque id from the identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CustomerId(String);

impl CustomerId {
    /// Accepts 1–64 characters of `[A-Za-z0-9._@-]`.
    pub(crate) fn parse(value: &str) -> Result<Self, ValueError> {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValueError::BadCustomerId)
        }
    }

    /// The id.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client-chosen key that makes retrying a reservation request safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Accepts 1–128 visible ASCII characters.
    pub(crate) fn parse(value: &str) -> Result<Self, ValueError> {
        if !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValueError::BadIdempotencyKey)
        }
    }

    /// The key.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Longest rental, in days.
pub(crate) const MAX_RENTAL_DAYS: i64 = 90;

/// From the day the device is picked up to the day it is due back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RentalPeriod {
    rental_date: Date,
    return_date: Date,
}

impl RentalPeriod {
    /// A period that starts today or later, ends after it starts and lasts at most 90 days.
    pub(crate) fn new(
        rental_date: Date,
        return_date: Date,
        today: Date,
    ) -> Result<Self, ValueError> {
        if rental_date < today {
            return Err(ValueError::RentalDateInPast(rental_date));
        }
        if return_date <= rental_date {
            return Err(ValueError::ReturnNotAfterRental);
        }
        let days = (return_date - rental_date).whole_days();
        if days > MAX_RENTAL_DAYS {
            return Err(ValueError::TooLong {
                days,
                max: MAX_RENTAL_DAYS,
            });
        }
        Ok(Self {
            rental_date,
            return_date,
        })
    }

    /// Rebuilds a stored period without re-checking "not in the past".
    pub(crate) fn restore(rental_date: Date, return_date: Date) -> Self {
        Self {
            rental_date,
            return_date,
        }
    }

    /// Pickup day.
    pub(crate) fn rental_date(&self) -> Date {
        self.rental_date
    }

    /// Due-back day.
    pub(crate) fn return_date(&self) -> Date {
        self.return_date
    }

    /// Days charged: nights between pickup and return.
    pub(crate) fn days(&self) -> i64 {
        (self.return_date - self.rental_date).whole_days()
    }
}

/// Parses `YYYY-MM-DD`.
pub(crate) fn parse_date(value: &str, field: &'static str) -> Result<Date, ValueError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value, format).map_err(|_| ValueError::BadDate { field })
}

/// Formats `YYYY-MM-DD`.
pub(crate) fn format_date(date: Date) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    date.format(format).expect("a date always formats")
}

/// An amount of Korean won (integer, KRW has no minor unit in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Krw(i64);

impl Krw {
    /// Wraps an amount.
    pub(crate) const fn new(amount: i64) -> Self {
        Self(amount)
    }

    /// The amount.
    pub(crate) fn value(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_period_must_start_today_or_later_end_after_it_starts_and_last_at_most_90_days() {
        let today = date!(2026 - 12 - 01);
        assert_eq!(
            RentalPeriod::new(today, date!(2026 - 12 - 04), today)
                .unwrap()
                .days(),
            3
        );
        assert_eq!(
            RentalPeriod::new(date!(2026 - 11 - 30), date!(2026 - 12 - 04), today),
            Err(ValueError::RentalDateInPast(date!(2026 - 11 - 30)))
        );
        assert_eq!(
            RentalPeriod::new(today, today, today),
            Err(ValueError::ReturnNotAfterRental)
        );
        assert!(RentalPeriod::new(today, date!(2027 - 03 - 01), today).is_ok());
        assert!(matches!(
            RentalPeriod::new(today, date!(2027 - 03 - 02), today),
            Err(ValueError::TooLong { days: 91, .. })
        ));
    }

    #[test]
    fn customer_ids_are_short_and_plain() {
        assert!(CustomerId::parse("kim.minsu@example.com").is_ok());
        assert!(CustomerId::parse("").is_err());
        assert!(CustomerId::parse("a b").is_err());
        assert!(CustomerId::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn dates_are_iso_days() {
        assert_eq!(
            parse_date("2026-12-01", "rentalDate").unwrap(),
            date!(2026 - 12 - 01)
        );
        assert!(parse_date("2026-13-01", "rentalDate").is_err());
        assert!(parse_date("01/12/2026", "rentalDate").is_err());
        assert_eq!(format_date(date!(2026 - 01 - 05)), "2026-01-05");
    }
}
