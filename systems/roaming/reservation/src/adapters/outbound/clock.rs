//! The system clock.

use crate::ports::Clock;
use time::{Date, OffsetDateTime, UtcOffset};

/// Reads the kernel's clock (the machine's, shifted in tests by `MSA__CLOCK__OFFSET_SECONDS`);
/// "today" is the date in Korea (UTC+9), where the booths are.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        kernel::clock::now()
    }

    fn today(&self) -> Date {
        let korea = UtcOffset::from_hms(9, 0, 0).expect("UTC+9 is a valid offset");
        kernel::clock::now().to_offset(korea).date()
    }
}
