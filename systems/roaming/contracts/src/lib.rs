//! The published language of the roaming system: versioned integration events (CloudEvents
//! `data`) and the payment API that reservation calls synchronously.
//!
//! Every event's CloudEvents `subject` is the reservation id, the correlation key that links the
//! events of one reservation across all services. A breaking change to a contract is a new `vN`
//! type beside the old one, never an edit.

pub mod events;
pub mod payment_api;

/// The system's name: stream name, subject prefix and first token of every event type.
pub const SYSTEM: &str = "roaming";
