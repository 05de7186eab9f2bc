//! The reservation aggregate: a customer's booking of a roaming device for a trip, from payment
//! to the device's return. Commands decide (`&self`, returning events or an error); `apply` moves
//! the state and cannot fail.

use super::catalog::{Booth, Country, DeviceModel};
use super::values::{CustomerId, IdempotencyKey, Krw, RentalPeriod};
use time::OffsetDateTime;

/// Where a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReservationStatus {
    /// Stored, payment not confirmed yet.
    PaymentPending,
    /// Paid: the booth will prepare the device.
    Reserved,
    /// Never came about (declined, payment unavailable or timed out).
    ReserveFailed,
    /// The customer asked to cancel; waiting for the booth and the refund.
    CancelRequested,
    /// Canceled and refunded.
    Canceled,
    /// The customer has the device.
    HandedOut,
    /// The customer gave the device back at the booth.
    Returned,
    /// The booth collected the device: done.
    Completed,
}

impl ReservationStatus {
    /// The name used in the API and the store.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::PaymentPending => "PaymentPending",
            Self::Reserved => "Reserved",
            Self::ReserveFailed => "ReserveFailed",
            Self::CancelRequested => "CancelRequested",
            Self::Canceled => "Canceled",
            Self::HandedOut => "HandedOut",
            Self::Returned => "Returned",
            Self::Completed => "Completed",
        }
    }

    /// Parses a stored name.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "PaymentPending" => Self::PaymentPending,
            "Reserved" => Self::Reserved,
            "ReserveFailed" => Self::ReserveFailed,
            "CancelRequested" => Self::CancelRequested,
            "Canceled" => Self::Canceled,
            "HandedOut" => Self::HandedOut,
            "Returned" => Self::Returned,
            "Completed" => Self::Completed,
            _ => return None,
        })
    }
}

/// What was reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Terms {
    /// The device model.
    pub device_model: &'static DeviceModel,
    /// The destination.
    pub country: &'static Country,
    /// Pickup and due-back days.
    pub period: RentalPeriod,
    /// The pickup booth.
    pub booth: &'static Booth,
    /// The price.
    pub amount: Krw,
}

/// Why a reservation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FailureReason {
    /// The card was declined (the payment's reason code).
    Declined(String),
    /// Payment could not be reached or was overloaded; nothing was charged.
    PaymentUnavailable,
    /// The payment outcome stayed unknown and the payment was voided by reconciliation.
    PaymentTimedOut,
}

impl FailureReason {
    /// The stable code used in events and the API.
    pub(crate) fn code(&self) -> &str {
        match self {
            Self::Declined(code) => code,
            Self::PaymentUnavailable => "payment_unavailable",
            Self::PaymentTimedOut => "payment_timeout",
        }
    }

    /// Reads a stored code back.
    pub(crate) fn from_code(code: &str) -> Self {
        match code {
            "payment_unavailable" => Self::PaymentUnavailable,
            "payment_timeout" => Self::PaymentTimedOut,
            other => Self::Declined(other.to_owned()),
        }
    }
}

/// Something that happened to a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReservationEvent {
    /// Taken, waiting for payment.
    Requested,
    /// Payment approved.
    Reserved {
        /// The approved payment.
        payment_id: String,
    },
    /// Did not come about.
    ReserveFailed {
        /// Why.
        reason: FailureReason,
    },
    /// The payment's outcome could not be learned in time; the customer was told to retry.
    PaymentUnconfirmed,
    /// Cancel asked for.
    CancelRequested,
    /// The booth canceled the rental: the payment is to be refunded.
    RefundRequested,
    /// Cancel done (rental canceled, payment refunded).
    Canceled,
    /// Cancel refused by the booth; the reservation stands as before.
    CancelRefused {
        /// The booth's reason.
        reason: String,
    },
    /// The booth handed out the device.
    HandedOut,
    /// The device came back to the booth.
    Returned,
    /// The booth collected the device.
    Completed,
}

/// A command that the reservation's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReservationError {
    /// The device is already with the customer: too late to cancel.
    #[error("the device was already handed out; the reservation can no longer be canceled")]
    AlreadyHandedOut,
    /// A return before the device was handed out.
    #[error("the device has not been handed out yet, so it cannot be returned")]
    NotHandedOut,
    /// Any other transition the status does not allow.
    #[error("a reservation that is {status} cannot be {action}")]
    NotAllowed {
        /// The current status.
        status: &'static str,
        /// What was attempted.
        action: &'static str,
    },
}

/// The aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reservation {
    /// Id (a UUIDv7), also the correlation key of every event about it.
    pub id: String,
    /// Who reserved.
    pub customer: CustomerId,
    /// What was reserved.
    pub terms: Terms,
    /// Where it stands.
    pub status: ReservationStatus,
    /// The approved payment.
    pub payment_id: Option<String>,
    /// Why it failed, if it did.
    pub failure: Option<FailureReason>,
    /// Why the last cancel was refused, if one was.
    pub cancel_refused_reason: Option<String>,
    /// Whether the booth handed out the device.
    pub handed_out: bool,
    /// Whether the customer was told the payment is busy while its outcome was unknown; such a
    /// reservation is never confirmed behind the customer's back.
    pub payment_unconfirmed: bool,
    /// The client's key for safe retries.
    pub idempotency_key: Option<IdempotencyKey>,
    /// Number of events applied: the `sequence` of the last one.
    pub version: u64,
    /// When it was requested.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

fn not_allowed(status: ReservationStatus, action: &'static str) -> ReservationError {
    ReservationError::NotAllowed {
        status: status.as_str(),
        action,
    }
}

impl Reservation {
    /// Takes a reservation: it starts waiting for its payment.
    pub(crate) fn request(
        id: String,
        customer: CustomerId,
        terms: Terms,
        idempotency_key: Option<IdempotencyKey>,
        now: OffsetDateTime,
    ) -> (Self, Vec<ReservationEvent>) {
        let mut reservation = Self {
            id,
            customer,
            terms,
            status: ReservationStatus::PaymentPending,
            payment_id: None,
            failure: None,
            cancel_refused_reason: None,
            handed_out: false,
            payment_unconfirmed: false,
            idempotency_key,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let events = vec![ReservationEvent::Requested];
        reservation.apply_all(&events, now);
        (reservation, events)
    }

    /// Payment approved: the reservation holds.
    pub(crate) fn confirm_payment(
        &self,
        payment_id: &str,
    ) -> Result<Vec<ReservationEvent>, ReservationError> {
        match self.status {
            ReservationStatus::PaymentPending => Ok(vec![ReservationEvent::Reserved {
                payment_id: payment_id.to_owned(),
            }]),
            ReservationStatus::Reserved if self.payment_id.as_deref() == Some(payment_id) => {
                Ok(vec![])
            }
            status => Err(not_allowed(status, "confirmed")),
        }
    }

    /// Payment refused or impossible: the reservation does not come about.
    pub(crate) fn fail(
        &self,
        reason: FailureReason,
    ) -> Result<Vec<ReservationEvent>, ReservationError> {
        match self.status {
            ReservationStatus::PaymentPending => {
                Ok(vec![ReservationEvent::ReserveFailed { reason }])
            }
            ReservationStatus::ReserveFailed => Ok(vec![]),
            status => Err(not_allowed(status, "failed")),
        }
    }

    /// The payment did not answer in time: its outcome is unknown and the customer is told to retry.
    pub(crate) fn report_payment_unconfirmed(
        &self,
    ) -> Result<Vec<ReservationEvent>, ReservationError> {
        match self.status {
            ReservationStatus::PaymentPending if !self.payment_unconfirmed => {
                Ok(vec![ReservationEvent::PaymentUnconfirmed])
            }
            ReservationStatus::PaymentPending => Ok(vec![]),
            status => Err(not_allowed(status, "left unconfirmed")),
        }
    }

    /// The customer cancels; the booth has the last word if the device may be out already.
    pub(crate) fn request_cancel(&self) -> Result<Vec<ReservationEvent>, ReservationError> {
        match self.status {
            ReservationStatus::Reserved => Ok(vec![ReservationEvent::CancelRequested]),
            ReservationStatus::CancelRequested => Ok(vec![]),
            ReservationStatus::HandedOut
            | ReservationStatus::Returned
            | ReservationStatus::Completed => Err(ReservationError::AlreadyHandedOut),
            status => Err(not_allowed(status, "canceled")),
        }
    }

    /// The booth canceled the rental: ask payment to refund (payment refunds once, however often
    /// it is asked).
    pub(crate) fn request_refund(&self) -> Result<Vec<ReservationEvent>, ReservationError> {
        match self.status {
            ReservationStatus::CancelRequested => Ok(vec![ReservationEvent::RefundRequested]),
            ReservationStatus::Canceled => Ok(vec![]),
            status => Err(not_allowed(status, "refunded")),
        }
    }

    /// The refund went through: the cancel is complete.
    pub(crate) fn complete_cancel(&self) -> Result<Vec<ReservationEvent>, ReservationError> {
        match self.status {
            ReservationStatus::CancelRequested => Ok(vec![ReservationEvent::Canceled]),
            ReservationStatus::Canceled => Ok(vec![]),
            status => Err(not_allowed(status, "marked canceled")),
        }
    }

    /// The booth refused the cancel: the reservation goes back to where it was (compensation).
    pub(crate) fn refuse_cancel(
        &self,
        reason: &str,
    ) -> Result<Vec<ReservationEvent>, ReservationError> {
        match self.status {
            ReservationStatus::CancelRequested => Ok(vec![ReservationEvent::CancelRefused {
                reason: reason.to_owned(),
            }]),
            _ => Ok(vec![]),
        }
    }

    /// The booth handed out the device.
    pub(crate) fn note_handed_out(&self) -> Result<Vec<ReservationEvent>, ReservationError> {
        match self.status {
            _ if self.handed_out => Ok(vec![]),
            ReservationStatus::Reserved | ReservationStatus::CancelRequested => {
                Ok(vec![ReservationEvent::HandedOut])
            }
            status => Err(not_allowed(status, "handed out")),
        }
    }

    /// The customer returns the device at the booth.
    pub(crate) fn return_device(&self) -> Result<Vec<ReservationEvent>, ReservationError> {
        match self.status {
            ReservationStatus::HandedOut => Ok(vec![ReservationEvent::Returned]),
            ReservationStatus::Reserved | ReservationStatus::CancelRequested
                if !self.handed_out =>
            {
                Err(ReservationError::NotHandedOut)
            }
            status => Err(not_allowed(status, "returned")),
        }
    }

    /// The booth collected the returned device.
    pub(crate) fn complete(&self) -> Result<Vec<ReservationEvent>, ReservationError> {
        match self.status {
            ReservationStatus::Returned => Ok(vec![ReservationEvent::Completed]),
            ReservationStatus::Completed => Ok(vec![]),
            status => Err(not_allowed(status, "completed")),
        }
    }

    /// Moves the state by one event.
    pub(crate) fn apply(&mut self, event: &ReservationEvent, at: OffsetDateTime) {
        match event {
            ReservationEvent::Requested => self.status = ReservationStatus::PaymentPending,
            ReservationEvent::Reserved { payment_id } => {
                self.status = ReservationStatus::Reserved;
                self.payment_id = Some(payment_id.clone());
            }
            ReservationEvent::ReserveFailed { reason } => {
                self.status = ReservationStatus::ReserveFailed;
                self.failure = Some(reason.clone());
            }
            ReservationEvent::PaymentUnconfirmed => self.payment_unconfirmed = true,
            ReservationEvent::CancelRequested => {
                self.status = ReservationStatus::CancelRequested;
                self.cancel_refused_reason = None;
            }
            ReservationEvent::RefundRequested => {}
            ReservationEvent::Canceled => self.status = ReservationStatus::Canceled,
            ReservationEvent::CancelRefused { reason } => {
                self.status = if self.handed_out {
                    ReservationStatus::HandedOut
                } else {
                    ReservationStatus::Reserved
                };
                self.cancel_refused_reason = Some(reason.clone());
            }
            ReservationEvent::HandedOut => {
                self.handed_out = true;
                if self.status == ReservationStatus::Reserved {
                    self.status = ReservationStatus::HandedOut;
                }
            }
            ReservationEvent::Returned => self.status = ReservationStatus::Returned,
            ReservationEvent::Completed => self.status = ReservationStatus::Completed,
        }
        self.version += 1;
        self.updated_at = at;
    }

    /// Applies events in order.
    pub(crate) fn apply_all(&mut self, events: &[ReservationEvent], at: OffsetDateTime) {
        for event in events {
            self.apply(event, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn requested() -> Reservation {
        let period = RentalPeriod::new(
            date!(2026 - 12 - 01),
            date!(2026 - 12 - 04),
            date!(2026 - 11 - 22),
        )
        .unwrap();
        let model = catalog::device_model("egg-lte").unwrap();
        let terms = Terms {
            device_model: model,
            country: catalog::country("JP").unwrap(),
            period,
            booth: catalog::booth("ICN-T1").unwrap(),
            amount: catalog::price(model, &period),
        };
        Reservation::request(
            "r1".into(),
            CustomerId::parse("c1").unwrap(),
            terms,
            None,
            NOW,
        )
        .0
    }

    /// Given the reservation after `events`, when `command` runs, then these events result.
    fn given(events: &[ReservationEvent]) -> Reservation {
        let mut reservation = requested();
        reservation.apply_all(events, NOW);
        reservation
    }

    #[test]
    fn a_new_reservation_waits_for_its_payment() {
        let (reservation, events) = Reservation::request(
            "r1".into(),
            CustomerId::parse("c1").unwrap(),
            requested().terms,
            None,
            NOW,
        );
        assert_eq!(events, vec![ReservationEvent::Requested]);
        assert_eq!(reservation.status, ReservationStatus::PaymentPending);
        assert_eq!(reservation.version, 1);
        assert_eq!(reservation.terms.amount, Krw::new(9_900));
    }

    #[test]
    fn an_approved_payment_reserves_and_a_decline_fails_it() {
        let r = given(&[]);
        assert_eq!(
            r.confirm_payment("p1").unwrap(),
            vec![ReservationEvent::Reserved {
                payment_id: "p1".into()
            }]
        );
        let failed = r
            .fail(FailureReason::Declined("card_declined".into()))
            .unwrap();
        let mut r2 = r.clone();
        r2.apply_all(&failed, NOW);
        assert_eq!(r2.status, ReservationStatus::ReserveFailed);
        assert!(
            r2.confirm_payment("p1").is_err(),
            "a failed reservation never becomes reserved"
        );
    }

    #[test]
    fn cancel_before_hand_out_is_a_saga_that_ends_canceled() {
        let r = given(&[ReservationEvent::Reserved {
            payment_id: "p".into(),
        }]);
        assert_eq!(
            r.request_cancel().unwrap(),
            vec![ReservationEvent::CancelRequested]
        );
        let r = given(&[
            ReservationEvent::Reserved {
                payment_id: "p".into(),
            },
            ReservationEvent::CancelRequested,
        ]);
        assert_eq!(
            r.complete_cancel().unwrap(),
            vec![ReservationEvent::Canceled]
        );
    }

    #[test]
    fn a_refused_cancel_restores_the_reservation_as_it_was() {
        let reserved = ReservationEvent::Reserved {
            payment_id: "p".into(),
        };
        let mut r = given(&[
            reserved.clone(),
            ReservationEvent::CancelRequested,
            ReservationEvent::HandedOut,
        ]);
        assert_eq!(r.status, ReservationStatus::CancelRequested);
        let events = r.refuse_cancel("device already handed out").unwrap();
        r.apply_all(&events, NOW);
        assert_eq!(r.status, ReservationStatus::HandedOut);
        assert_eq!(
            r.cancel_refused_reason.as_deref(),
            Some("device already handed out")
        );
    }

    #[test]
    fn a_handed_out_device_cannot_be_canceled_and_must_be_returned_first() {
        let r = given(&[
            ReservationEvent::Reserved {
                payment_id: "p".into(),
            },
            ReservationEvent::HandedOut,
        ]);
        assert_eq!(r.status, ReservationStatus::HandedOut);
        assert_eq!(r.request_cancel(), Err(ReservationError::AlreadyHandedOut));
        assert_eq!(r.return_device().unwrap(), vec![ReservationEvent::Returned]);
        let r = given(&[ReservationEvent::Reserved {
            payment_id: "p".into(),
        }]);
        assert_eq!(r.return_device(), Err(ReservationError::NotHandedOut));
    }

    #[test]
    fn collection_completes_a_returned_reservation() {
        let r = given(&[
            ReservationEvent::Reserved {
                payment_id: "p".into(),
            },
            ReservationEvent::HandedOut,
            ReservationEvent::Returned,
        ]);
        assert_eq!(r.complete().unwrap(), vec![ReservationEvent::Completed]);
        assert_eq!(r.version, 4);
    }

    #[test]
    fn repeated_notices_have_no_second_effect() {
        let r = given(&[
            ReservationEvent::Reserved {
                payment_id: "p".into(),
            },
            ReservationEvent::HandedOut,
        ]);
        assert_eq!(r.note_handed_out().unwrap(), vec![]);
        assert_eq!(
            r.confirm_payment("p").unwrap_err(),
            not_allowed(ReservationStatus::HandedOut, "confirmed")
        );
    }
}
