//! The kernel's clock: the machine's time, shifted by `MSA__CLOCK__OFFSET_SECONDS` when set, so
//! that month-end and expiry can be tested with real processes.

use std::sync::OnceLock;
use time::{Duration, OffsetDateTime};

/// The environment variable that shifts every service's clock (seconds, may be negative).
pub const OFFSET_VARIABLE: &str = "MSA__CLOCK__OFFSET_SECONDS";

fn offset() -> Duration {
    static OFFSET: OnceLock<Duration> = OnceLock::new();
    *OFFSET.get_or_init(|| {
        std::env::var(OFFSET_VARIABLE)
            .ok()
            .and_then(|value| value.trim().parse::<i64>().ok())
            .map(Duration::seconds)
            .unwrap_or(Duration::ZERO)
    })
}

/// Now, in UTC, as the services see it.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc() + offset()
}

/// Milliseconds since the Unix epoch, the kernel's timestamp column type.
pub fn now_millis() -> i64 {
    millis(time::OffsetDateTime::now_utc())
}

/// A moment as a timestamp column: milliseconds since the Unix epoch.
pub fn millis(at: time::OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// A timestamp column back as a moment.
pub fn from_millis(value: i64) -> anyhow::Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(value) * 1_000_000)
        .map_err(|error| anyhow::anyhow!("bad timestamp {value}: {error}"))
}
