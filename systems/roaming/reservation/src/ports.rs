//! The ports the application needs beyond the kit, named by role: what time it is. (Reservations
//! are kept by the kernel's aggregate repository; payments are taken through payment's client.)

use time::{Date, OffsetDateTime};

/// What time it is.
pub(crate) trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> OffsetDateTime;
    /// Today where the booths are (Korea, UTC+9).
    fn today(&self) -> Date;
}
