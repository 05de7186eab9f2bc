//! The reservation domain: pure Rust, no I/O. Sticker map: [`reservation::Reservation`] is the
//! aggregate (yellow), its methods the commands (blue), [`reservation::ReservationEvent`] the
//! domain events (orange); [`catalog`] and [`values`] hold the value objects.

pub(crate) mod catalog;
pub(crate) mod reservation;
pub(crate) mod values;
