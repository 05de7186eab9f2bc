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
