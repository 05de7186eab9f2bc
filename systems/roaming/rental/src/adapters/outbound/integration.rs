//! Turns booth domain events into integration events.

use crate::domain::rental::{Rental, RentalEvent};
use kernel::NewEvent;
use roaming_contracts::events as contract;

/// The integration event for `event`, which moved `rental` to version `sequence`.
pub(crate) fn integration_event(rental: &Rental, event: &RentalEvent, sequence: u64) -> NewEvent {
    let subject = rental.reservation_id.as_str();
    let reservation_id = rental.reservation_id.clone();
    let customer_id = rental.customer_id.clone();
    let booth = rental.booth.clone();
    match event {
        RentalEvent::Accepted => NewEvent::new(
            &contract::RentalAccepted {
                reservation_id,
                customer_id,
                booth,
                device_model: rental.device_model.clone(),
                rental_date: rental.rental_date.clone(),
            },
            subject,
            sequence,
        ),
        RentalEvent::HandedOut { device_serial } => NewEvent::new(
            &contract::RentalHandedOut {
                reservation_id,
                customer_id,
                booth,
                device_serial: device_serial.clone(),
            },
            subject,
            sequence,
        ),
        RentalEvent::Canceled => NewEvent::new(
            &contract::RentalCanceled {
                reservation_id,
                customer_id,
                booth,
            },
            subject,
            sequence,
        ),
        RentalEvent::CancelRefused { reason } => NewEvent::new(
            &contract::RentalCancelRefused {
                reservation_id,
                customer_id,
                booth,
                reason: reason.clone(),
            },
            subject,
            sequence,
        ),
        RentalEvent::Returned => NewEvent::new(
            &contract::RentalReturned {
                reservation_id,
                customer_id,
                booth,
            },
            subject,
            sequence,
        ),
        RentalEvent::Collected => NewEvent::new(
            &contract::RentalCollected {
                reservation_id,
                customer_id,
                booth,
                device_serial: rental.device_serial.clone().unwrap_or_default(),
            },
            subject,
            sequence,
        ),
    }
}
