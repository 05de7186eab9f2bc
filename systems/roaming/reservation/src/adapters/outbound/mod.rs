//! Outbound adapters: how the kernel stores a reservation (and how checkout pays for it), the
//! clock, and the mapping of domain events to integration events.

pub(crate) mod clock;
pub(crate) mod integration;
pub(crate) mod stored;
