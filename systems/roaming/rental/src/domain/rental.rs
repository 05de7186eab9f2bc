//! The rental aggregate: the booth's side of a reservation, from acceptance to collection.

use time::OffsetDateTime;

/// Where a rental stands at the booth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RentalStatus {
    /// The booth knows the reservation and prepares the device.
    Accepted,
    /// The customer has the device.
    HandedOut,
    /// The customer gave it back; staff still have to collect it.
    Returned,
    /// Collected: done.
    Collected,
    /// Canceled before hand-out.
    Canceled,
}

impl RentalStatus {
    /// The API and store name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "Accepted",
            Self::HandedOut => "HandedOut",
            Self::Returned => "Returned",
            Self::Collected => "Collected",
            Self::Canceled => "Canceled",
        }
    }

    /// Parses a name.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "Accepted" => Self::Accepted,
            "HandedOut" => Self::HandedOut,
            "Returned" => Self::Returned,
            "Collected" => Self::Collected,
            "Canceled" => Self::Canceled,
            _ => return None,
        })
    }
}

/// Something that happened at the booth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RentalEvent {
    /// Accepted from a reservation.
    Accepted,
    /// Device handed out.
    HandedOut {
        /// Its serial number.
        device_serial: String,
    },
    /// Canceled before hand-out.
    Canceled,
    /// A cancel was refused.
    CancelRefused {
        /// Why.
        reason: String,
    },
    /// The device came back.
    Returned,
    /// The device was collected.
    Collected,
}

/// A command the rental's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RentalError {
    /// Collecting a device that has not come back.
    #[error("the device has not been returned yet, so it cannot be collected")]
    NotReturned,
    /// A device serial that is empty or too long.
    #[error("deviceSerial must be 1 to 64 letters, digits or '-'")]
    BadSerial,
    /// Any other transition the status does not allow.
    #[error("a rental that is {status} cannot be {action}")]
    NotAllowed {
        /// Current status.
        status: &'static str,
        /// What was attempted.
        action: &'static str,
    },
}

/// Why the booth refuses a cancel once the device is out.
pub(crate) const REFUSED_HANDED_OUT: &str = "the device was already handed out";

/// The aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rental {
    /// The reservation (the rental's identity).
    pub reservation_id: String,
    /// The customer.
    pub customer_id: String,
    /// The booth.
    pub booth: String,
    /// The device model to prepare.
    pub device_model: String,
    /// Pickup day.
    pub rental_date: String,
    /// Due-back day.
    pub return_date: String,
    /// Where it stands.
    pub status: RentalStatus,
    /// The device handed out.
    pub device_serial: Option<String>,
    /// Events applied.
    pub version: u64,
    /// When it was accepted.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

fn not_allowed(status: RentalStatus, action: &'static str) -> RentalError {
    RentalError::NotAllowed {
        status: status.as_str(),
        action,
    }
}

/// What the booth learns from a reservation.
#[derive(Debug, Clone)]
pub(crate) struct Booking {
    /// Reservation id.
    pub reservation_id: String,
    /// Customer.
    pub customer_id: String,
    /// Booth code.
    pub booth: String,
    /// Device model id.
    pub device_model: String,
    /// Pickup day.
    pub rental_date: String,
    /// Due-back day.
    pub return_date: String,
}

impl Rental {
    /// Accepts a paid reservation at its booth.
    pub(crate) fn accept(booking: Booking, now: OffsetDateTime) -> (Self, Vec<RentalEvent>) {
        let mut rental = Self {
            reservation_id: booking.reservation_id,
            customer_id: booking.customer_id,
            booth: booking.booth,
            device_model: booking.device_model,
            rental_date: booking.rental_date,
            return_date: booking.return_date,
            status: RentalStatus::Accepted,
            device_serial: None,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let events = vec![RentalEvent::Accepted];
        rental.apply_all(&events, now);
        (rental, events)
    }

    /// Staff hand the device to the customer.
    pub(crate) fn hand_out(&self, device_serial: &str) -> Result<Vec<RentalEvent>, RentalError> {
        let serial_ok = !device_serial.is_empty()
            && device_serial.len() <= 64
            && device_serial
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !serial_ok {
            return Err(RentalError::BadSerial);
        }
        match self.status {
            RentalStatus::Accepted => Ok(vec![RentalEvent::HandedOut {
                device_serial: device_serial.to_owned(),
            }]),
            RentalStatus::HandedOut if self.device_serial.as_deref() == Some(device_serial) => {
                Ok(vec![])
            }
            status => Err(not_allowed(status, "handed out")),
        }
    }

    /// The customer asked to cancel: cancel if the device is still at the booth, refuse otherwise.
    pub(crate) fn decide_cancel(&self) -> Vec<RentalEvent> {
        match self.status {
            RentalStatus::Accepted => vec![RentalEvent::Canceled],
            RentalStatus::Canceled => vec![],
            RentalStatus::HandedOut | RentalStatus::Returned | RentalStatus::Collected => {
                vec![RentalEvent::CancelRefused {
                    reason: REFUSED_HANDED_OUT.to_owned(),
                }]
            }
        }
    }

    /// The customer returned the device at the booth.
    pub(crate) fn note_returned(&self) -> Result<Vec<RentalEvent>, RentalError> {
        match self.status {
            RentalStatus::HandedOut => Ok(vec![RentalEvent::Returned]),
            RentalStatus::Returned | RentalStatus::Collected => Ok(vec![]),
            status => Err(not_allowed(status, "returned")),
        }
    }

    /// Staff collect the returned device.
    pub(crate) fn collect(&self) -> Result<Vec<RentalEvent>, RentalError> {
        match self.status {
            RentalStatus::Returned => Ok(vec![RentalEvent::Collected]),
            RentalStatus::HandedOut => Err(RentalError::NotReturned),
            status => Err(not_allowed(status, "collected")),
        }
    }

    /// Moves the state by one event.
    pub(crate) fn apply(&mut self, event: &RentalEvent, at: OffsetDateTime) {
        match event {
            RentalEvent::Accepted => self.status = RentalStatus::Accepted,
            RentalEvent::HandedOut { device_serial } => {
                self.status = RentalStatus::HandedOut;
                self.device_serial = Some(device_serial.clone());
            }
            RentalEvent::Canceled => self.status = RentalStatus::Canceled,
            RentalEvent::CancelRefused { .. } => {}
            RentalEvent::Returned => self.status = RentalStatus::Returned,
            RentalEvent::Collected => self.status = RentalStatus::Collected,
        }
        self.version += 1;
        self.updated_at = at;
    }

    /// Applies events in order.
    pub(crate) fn apply_all(&mut self, events: &[RentalEvent], at: OffsetDateTime) {
        for event in events {
            self.apply(event, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn accepted() -> Rental {
        Rental::accept(
            Booking {
                reservation_id: "r1".into(),
                customer_id: "c1".into(),
                booth: "ICN-T1".into(),
                device_model: "egg-lte".into(),
                rental_date: "2026-12-01".into(),
                return_date: "2026-12-04".into(),
            },
            NOW,
        )
        .0
    }

    fn given(events: &[RentalEvent]) -> Rental {
        let mut rental = accepted();
        rental.apply_all(events, NOW);
        rental
    }

    #[test]
    fn a_rental_is_handed_out_returned_and_collected() {
        let handed = RentalEvent::HandedOut {
            device_serial: "SN-1".into(),
        };
        assert_eq!(accepted().hand_out("SN-1").unwrap(), vec![handed.clone()]);
        let r = given(std::slice::from_ref(&handed));
        assert_eq!(
            r.collect(),
            Err(RentalError::NotReturned),
            "collecting an unreturned device"
        );
        assert_eq!(r.note_returned().unwrap(), vec![RentalEvent::Returned]);
        let r = given(&[handed, RentalEvent::Returned]);
        assert_eq!(r.collect().unwrap(), vec![RentalEvent::Collected]);
    }

    #[test]
    fn the_booth_cancels_only_what_it_has_not_handed_out() {
        assert_eq!(accepted().decide_cancel(), vec![RentalEvent::Canceled]);
        let out = given(&[RentalEvent::HandedOut {
            device_serial: "SN".into(),
        }]);
        assert_eq!(
            out.decide_cancel(),
            vec![RentalEvent::CancelRefused {
                reason: REFUSED_HANDED_OUT.into()
            }]
        );
        let canceled = given(&[RentalEvent::Canceled]);
        assert!(canceled.decide_cancel().is_empty());
        assert!(
            canceled.hand_out("SN").is_err(),
            "a canceled rental is never handed out"
        );
    }

    #[test]
    fn serials_are_checked() {
        assert_eq!(accepted().hand_out(""), Err(RentalError::BadSerial));
        assert_eq!(accepted().hand_out("a b"), Err(RentalError::BadSerial));
    }
}
