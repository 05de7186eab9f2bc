//! The published language of the generic payment service (a PSP stand-in deployed into every
//! system that takes money): the API its callers use synchronously, and its events.
//!
//! Payment knows no caller's domain. A caller pays for an *order*, an opaque reference that is
//! the caller's correlation key (roaming's reservation id, booking's booking id): it is the
//! payment's idempotency key and the `subject` of every payment event, so the caller's views
//! join payment events to their own. The event types leave the system out
//! (`payment.approved.v1`): they travel as `<system>.payment.approved.v1` in the stream of the
//! system that deploys payment.
//!
//! Besides the published language, the caller's kit: [`client`] (the port and its HTTP adapter)
//! and [`checkout`] (paying for an order synchronously and reconciling unknown outcomes).

pub mod api;
pub mod checkout;
pub mod client;
pub mod events;
pub mod orders;
pub mod view;
