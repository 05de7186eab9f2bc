//! Turns domain events into the system's integration events (the published language).

use crate::domain::reservation::{Reservation, ReservationEvent};
use crate::domain::values::format_date;
use kernel::NewEvent;
use payment_contracts::events::RefundRequested;
use roaming_contracts::events as contract;

fn terms(reservation: &Reservation) -> contract::ReservationTerms {
    let terms = &reservation.terms;
    contract::ReservationTerms {
        reservation_id: reservation.id.clone(),
        customer_id: reservation.customer.as_str().to_owned(),
        device_model: terms.device_model.id.to_owned(),
        country: terms.country.code.to_owned(),
        rental_date: format_date(terms.period.rental_date()),
        return_date: format_date(terms.period.return_date()),
        booth: terms.booth.code.to_owned(),
        amount: terms.amount.value(),
    }
}

/// The integration event for `event`, which moved `reservation` to version `sequence`.
pub(crate) fn integration_event(
    reservation: &Reservation,
    event: &ReservationEvent,
    sequence: u64,
) -> NewEvent {
    let id = reservation.id.clone();
    let customer_id = reservation.customer.as_str().to_owned();
    let subject = reservation.id.as_str();
    match event {
        ReservationEvent::Requested => NewEvent::new(
            &contract::ReservationRequested {
                terms: terms(reservation),
            },
            subject,
            sequence,
        ),
        ReservationEvent::Reserved { payment_id } => NewEvent::new(
            &contract::Reserved {
                terms: terms(reservation),
                payment_id: payment_id.clone(),
            },
            subject,
            sequence,
        ),
        ReservationEvent::ReserveFailed { reason } => NewEvent::new(
            &contract::ReserveFailed {
                reservation_id: id,
                customer_id,
                reason: reason.code().to_owned(),
            },
            subject,
            sequence,
        ),
        ReservationEvent::PaymentUnconfirmed => NewEvent::new(
            &contract::PaymentUnconfirmed {
                reservation_id: id,
                customer_id,
            },
            subject,
            sequence,
        ),
        ReservationEvent::CancelRequested => NewEvent::new(
            &contract::CancelRequested {
                reservation_id: id,
                customer_id,
                booth: reservation.terms.booth.code.to_owned(),
            },
            subject,
            sequence,
        ),
        ReservationEvent::Canceled => NewEvent::new(
            &contract::ReservationCanceled {
                reservation_id: id,
                customer_id,
            },
            subject,
            sequence,
        ),
        ReservationEvent::RefundRequested => NewEvent::new(
            &RefundRequested {
                order_id: id,
                reason: "canceled".to_owned(),
            },
            subject,
            sequence,
        ),
        ReservationEvent::CancelRefused { reason } => NewEvent::new(
            &contract::CancelRefused {
                reservation_id: id,
                customer_id,
                reason: reason.clone(),
                status: reservation.status.as_str().to_owned(),
            },
            subject,
            sequence,
        ),
        ReservationEvent::HandedOut => NewEvent::new(
            &contract::ReservationHandedOut {
                reservation_id: id,
                customer_id,
                status: reservation.status.as_str().to_owned(),
            },
            subject,
            sequence,
        ),
        ReservationEvent::Returned => NewEvent::new(
            &contract::Returned {
                reservation_id: id,
                customer_id,
                booth: reservation.terms.booth.code.to_owned(),
            },
            subject,
            sequence,
        ),
        ReservationEvent::Completed => NewEvent::new(
            &contract::Completed {
                reservation_id: id,
                customer_id,
            },
            subject,
            sequence,
        ),
    }
}
