//! Outbound adapters: how the kernel keeps a booking (keys, seat counters, integration events)
//! and how checkout pays for it.

pub(crate) mod stored;
