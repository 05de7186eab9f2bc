//! Outbound adapters: how the kernel stores a reservation, the payment client, the clock, and the mapping of domain events
//! to integration events.

pub mod clock;
pub mod integration;
pub mod payment_client;
pub mod stored;
