//! Integration events, grouped by the service that publishes them.

use kernel::contract;
use serde::{Deserialize, Serialize};

/// The terms of a reservation, carried by the events that create it so that consumers need not
/// ask the reservation service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReservationTerms {
    /// The reservation id (also the event subject).
    pub reservation_id: String,
    /// Who reserved.
    pub customer_id: String,
    /// Catalog id of the device model.
    pub device_model: String,
    /// ISO 3166-1 alpha-2 destination country.
    pub country: String,
    /// First day of the rental (`YYYY-MM-DD`).
    pub rental_date: String,
    /// Day the device is due back (`YYYY-MM-DD`).
    pub return_date: String,
    /// Pickup booth code.
    pub booth: String,
    /// Price in KRW.
    pub amount: i64,
}

contract! {
    /// A reservation was taken and waits for its payment.
    ReservationRequested = "roaming.reservation.requested.v1" {
        terms: ReservationTerms,
    }
}

contract! {
    /// The payment was approved: the reservation holds.
    Reserved = "roaming.reservation.reserved.v1" {
        terms: ReservationTerms,
        payment_id: String,
    }
}

contract! {
    /// The reservation did not come about (card declined, payment unavailable, ...).
    ReserveFailed = "roaming.reservation.reserve_failed.v1" {
        reservation_id: String,
        customer_id: String,
        reason: String,
    }
}

contract! {
    /// Payment did not answer in time; the customer was told to retry, and reconciliation will
    /// settle the reservation (it is never confirmed behind the customer's back).
    PaymentUnconfirmed = "roaming.reservation.payment_unconfirmed.v1" {
        reservation_id: String,
        customer_id: String,
    }
}

contract! {
    /// The customer asked to cancel; the booth decides whether it still can.
    CancelRequested = "roaming.reservation.cancel_requested.v1" {
        reservation_id: String,
        customer_id: String,
        booth: String,
    }
}

contract! {
    /// The cancellation went through: rental canceled and payment refunded.
    ReservationCanceled = "roaming.reservation.canceled.v1" {
        reservation_id: String,
        customer_id: String,
    }
}

contract! {
    /// The cancellation was refused (the device was already handed out); the reservation stands.
    CancelRefused = "roaming.reservation.cancel_refused.v1" {
        reservation_id: String,
        customer_id: String,
        reason: String,
        /// The reservation's status after the refusal (`Reserved` or `HandedOut`; empty in
        /// events written before it was added).
        #[serde(default)]
        status: String,
    }
}

contract! {
    /// The reservation noted that the booth handed out the device.
    ReservationHandedOut = "roaming.reservation.handed_out.v1" {
        reservation_id: String,
        customer_id: String,
        /// The reservation's status after it (`HandedOut`, or `CancelRequested` while a cancel
        /// waits for the booth; empty in events written before it was added).
        #[serde(default)]
        status: String,
    }
}

contract! {
    /// The customer returned the device at the booth.
    Returned = "roaming.reservation.returned.v1" {
        reservation_id: String,
        customer_id: String,
        booth: String,
    }
}

contract! {
    /// The booth collected the returned device: the reservation is complete.
    Completed = "roaming.reservation.completed.v1" {
        reservation_id: String,
        customer_id: String,
    }
}

contract! {
    /// The booth accepted the rental and will prepare the device.
    RentalAccepted = "roaming.rental.accepted.v1" {
        reservation_id: String,
        customer_id: String,
        booth: String,
        device_model: String,
        rental_date: String,
    }
}

contract! {
    /// The booth handed the device to the customer.
    RentalHandedOut = "roaming.rental.handed_out.v1" {
        reservation_id: String,
        customer_id: String,
        booth: String,
        device_serial: String,
    }
}

contract! {
    /// The booth canceled the rental before hand-out.
    RentalCanceled = "roaming.rental.canceled.v1" {
        reservation_id: String,
        customer_id: String,
        booth: String,
    }
}

contract! {
    /// The booth refused to cancel (the device is already out).
    RentalCancelRefused = "roaming.rental.cancel_refused.v1" {
        reservation_id: String,
        customer_id: String,
        booth: String,
        reason: String,
    }
}

contract! {
    /// The device is back at the booth, waiting to be collected.
    RentalReturned = "roaming.rental.returned.v1" {
        reservation_id: String,
        customer_id: String,
        booth: String,
    }
}

contract! {
    /// The booth collected the returned device.
    RentalCollected = "roaming.rental.collected.v1" {
        reservation_id: String,
        customer_id: String,
        booth: String,
        device_serial: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::IntegrationEvent;
    use kernel::envelope::EventType;

    #[test]
    fn every_contract_type_is_well_formed_and_belongs_to_roaming() {
        for name in [
            ReservationRequested::TYPE,
            Reserved::TYPE,
            ReserveFailed::TYPE,
            PaymentUnconfirmed::TYPE,
            CancelRequested::TYPE,
            ReservationCanceled::TYPE,
            CancelRefused::TYPE,
            ReservationHandedOut::TYPE,
            Returned::TYPE,
            Completed::TYPE,
            RentalAccepted::TYPE,
            RentalHandedOut::TYPE,
            RentalCanceled::TYPE,
            RentalCancelRefused::TYPE,
            RentalReturned::TYPE,
            RentalCollected::TYPE,
        ] {
            let parsed = EventType::parse(name).unwrap();
            assert_eq!(parsed.system, crate::SYSTEM);
        }
    }

    #[test]
    fn payloads_use_camel_case_on_the_wire() {
        let json = serde_json::to_value(RentalHandedOut {
            reservation_id: "r".into(),
            customer_id: "c".into(),
            booth: "ICN-T1".into(),
            device_serial: "SN1".into(),
        })
        .unwrap();
        assert_eq!(json["deviceSerial"], "SN1");
        assert_eq!(json["reservationId"], "r");
    }
}
