//! The published language of the roaming system: versioned integration events (CloudEvents
//! `data`) and its gRPC APIs. Payment is the generic service's (`payment-contracts`); its order
//! reference is roaming's reservation id.
//!
//! Every event's CloudEvents `subject` is the reservation id, the correlation key that links the
//! events of one reservation across all services. A breaking change to a contract is a new `vN`
//! type beside the old one, never an edit.

pub mod events;

/// The gRPC contracts (`proto/`), compiled with protox at build time.
pub mod grpc {
    /// `roaming.reservation.v1`.
    pub mod reservation {
        /// Version 1.
        #[allow(missing_docs, clippy::all, clippy::pedantic)]
        pub mod v1 {
            tonic::include_proto!("roaming.reservation.v1");
        }
    }

    /// `roaming.rental.v1`.
    pub mod rental {
        /// Version 1.
        #[allow(missing_docs, clippy::all, clippy::pedantic)]
        pub mod v1 {
            tonic::include_proto!("roaming.rental.v1");
        }
    }

    /// The encoded descriptor set of every roaming .proto, for gRPC reflection.
    pub const DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/roaming_descriptor.bin"));
}

/// The system's name: stream name, subject prefix and first token of every event type.
pub const SYSTEM: &str = "roaming";
