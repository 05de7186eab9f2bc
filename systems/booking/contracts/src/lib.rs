//! The published language of the booking system (seed 001, musical concert tickets): versioned
//! integration events and the gRPC contract. Every event's CloudEvents `subject` is the booking id, the correlation key
//! that links booking, payment (its order reference) and delivery. Event tokens drop the service's
//! own name: the short name `booking_started` is `booking.booking.started.v1`,
//! `delivery_canceled` is `booking.delivery.canceled.v1`. Payment's events are the generic
//! payment's (`payment-contracts`), in booking's stream as `booking.payment.<event>.v1`.

use kernel::contract;

/// The gRPC contract (`proto/booking/v1/booking.proto`), compiled with protox at build time.
pub mod grpc {
    /// `booking.v1`.
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("booking.v1");
    }

    /// The encoded descriptor set of the .proto, for gRPC reflection.
    pub const DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/booking_descriptor.bin"));
}

contract! {
    /// A paid booking: the seats are the customer's and the ticket is to be delivered (emitted
    /// only after payment approved).
    BookingStarted = "booking.booking.started.v1" {
        booking_id: String,
        customer_id: String,
        musical_id: String,
        /// Korean title.
        musical_title: String,
        performance_id: String,
        /// RFC 3339, Asia/Seoul.
        starts_at: String,
        grade: String,
        quantity: u32,
        /// KRW.
        amount: i64,
        delivery_address: String,
        phone: String,
    }
}

contract! {
    /// The booking did not come about (card declined, payment unavailable or voided); its seats
    /// are free again.
    BookFailed = "booking.booking.failed.v1" {
        booking_id: String,
        customer_id: String,
        reason: String,
    }
}

contract! {
    /// The customer asked to cancel: the payment is to be refunded and the delivery canceled.
    CancelRequested = "booking.booking.cancel_requested.v1" {
        booking_id: String,
        customer_id: String,
    }
}

contract! {
    /// Canceled: refunded, delivery canceled, seats free again.
    BookingCanceled = "booking.booking.canceled.v1" {
        booking_id: String,
        customer_id: String,
    }
}

contract! {
    /// The delivery team has the ticket in its queue.
    DeliveryRequested = "booking.delivery.requested.v1" {
        booking_id: String,
        customer_id: String,
    }
}

contract! {
    /// The delivery team shipped the ticket.
    DeliveryShipped = "booking.delivery.shipped.v1" {
        booking_id: String,
        customer_id: String,
        shipper: String,
        /// RFC 3339.
        shipped_at: String,
    }
}

contract! {
    /// The delivery was canceled; a ticket already shipped is voided.
    DeliveryCanceled = "booking.delivery.canceled.v1" {
        booking_id: String,
        customer_id: String,
        voided: bool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::IntegrationEvent;
    use kernel::envelope::EventType;

    #[test]
    fn every_contract_type_belongs_to_booking() {
        for name in [
            BookingStarted::TYPE,
            BookFailed::TYPE,
            CancelRequested::TYPE,
            BookingCanceled::TYPE,
            DeliveryRequested::TYPE,
            DeliveryShipped::TYPE,
            DeliveryCanceled::TYPE,
        ] {
            assert_eq!(EventType::parse(name).unwrap().system, "booking");
        }
    }
}
