//! A reservation as the customer sees it on my page: its terms, the reservation, payment and
//! rental status, and a timeline, folded from the events of three services. Events of different
//! services may arrive in any order and any of them may be redelivered, so each service's
//! status only moves forward by that service's `sequence`.

use time::OffsetDateTime;

/// The service a fact comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// roaming/reservation.
    Reservation,
    /// roaming/payment.
    Payment,
    /// roaming/rental.
    Rental,
}

impl Source {
    fn index(self) -> usize {
        match self {
            Self::Reservation => 0,
            Self::Payment => 1,
            Self::Rental => 2,
        }
    }

    /// The name used in the timeline.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reservation => "reservation",
            Self::Payment => "payment",
            Self::Rental => "rental",
        }
    }

    /// Parses a timeline name.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "reservation" => Self::Reservation,
            "payment" => Self::Payment,
            "rental" => Self::Rental,
            _ => return None,
        })
    }
}

/// The terms of a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// Device model id.
    pub device_model: String,
    /// Country code.
    pub country: String,
    /// Pickup day.
    pub rental_date: String,
    /// Due-back day.
    pub return_date: String,
    /// Booth code.
    pub booth: String,
    /// KRW.
    pub amount: i64,
}

/// What a fact says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactKind {
    /// Reservation taken, payment pending.
    Requested(Terms),
    /// Reservation holds.
    Reserved(Terms),
    /// Reservation failed.
    ReserveFailed(String),
    /// Payment outcome unknown; customer told to retry.
    PaymentUnconfirmed,
    /// Cancel asked for.
    CancelRequested,
    /// Canceled.
    Canceled,
    /// Cancel refused; the reservation stands.
    CancelRefused(String),
    /// The reservation noted the hand-out.
    ReservationHandedOut,
    /// Device returned.
    Returned,
    /// Reservation complete.
    Completed,
    /// Payment approved.
    PaymentApproved {
        /// Payment id.
        payment_id: String,
        /// Last card digits.
        card_last4: String,
    },
    /// Payment declined.
    PaymentDeclined(String),
    /// Payment refunded.
    PaymentCanceled,
    /// Payment voided.
    PaymentVoided,
    /// Booth accepted.
    RentalAccepted,
    /// Booth handed out the device.
    RentalHandedOut(String),
    /// Booth canceled the rental.
    RentalCanceled,
    /// Booth refused to cancel.
    RentalCancelRefused(String),
    /// Device back at the booth.
    RentalReturned,
    /// Device collected.
    RentalCollected,
}

impl FactKind {
    /// The service that states this kind of fact.
    pub fn source(&self) -> Source {
        match self {
            Self::PaymentApproved { .. }
            | Self::PaymentDeclined(_)
            | Self::PaymentCanceled
            | Self::PaymentVoided => Source::Payment,
            Self::RentalAccepted
            | Self::RentalHandedOut(_)
            | Self::RentalCanceled
            | Self::RentalCancelRefused(_)
            | Self::RentalReturned
            | Self::RentalCollected => Source::Rental,
            _ => Source::Reservation,
        }
    }

    /// Short name on the timeline.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Requested(_) => "requested",
            Self::Reserved(_) => "reserved",
            Self::ReserveFailed(_) => "reserve_failed",
            Self::PaymentUnconfirmed => "payment_unconfirmed",
            Self::CancelRequested => "cancel_requested",
            Self::Canceled => "canceled",
            Self::CancelRefused(_) => "cancel_refused",
            Self::ReservationHandedOut => "handed_out",
            Self::Returned => "returned",
            Self::Completed => "completed",
            Self::PaymentApproved { .. } => "approved",
            Self::PaymentDeclined(_) => "declined",
            Self::PaymentCanceled => "refunded",
            Self::PaymentVoided => "voided",
            Self::RentalAccepted => "accepted",
            Self::RentalHandedOut(_) => "handed_out",
            Self::RentalCanceled => "canceled",
            Self::RentalCancelRefused(_) => "cancel_refused",
            Self::RentalReturned => "returned",
            Self::RentalCollected => "collected",
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            Self::ReserveFailed(reason)
            | Self::CancelRefused(reason)
            | Self::PaymentDeclined(reason)
            | Self::RentalCancelRefused(reason) => Some(reason.clone()),
            Self::RentalHandedOut(serial) => Some(serial.clone()),
            Self::PaymentApproved { card_last4, .. } => Some(format!("card ending {card_last4}")),
            _ => None,
        }
    }
}

/// Something another service said about a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// The customer, when the fact names them.
    pub customer_id: Option<String>,
    /// The source's aggregate version after the fact.
    pub sequence: u64,
    /// When the source committed it.
    pub at: OffsetDateTime,
    /// What it says.
    pub kind: FactKind,
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// When.
    pub at: OffsetDateTime,
    /// Which service.
    pub source: Source,
    /// What (short name).
    pub event: String,
    /// Reason, serial, card digits...
    pub detail: Option<String>,
    /// When my page learned of it (the difference to `at` is the event lag).
    pub recorded_at: OffsetDateTime,
}

/// A reservation on my page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationView {
    /// The reservation.
    pub reservation_id: String,
    /// The customer.
    pub customer_id: Option<String>,
    /// The terms, once known.
    pub terms: Option<Terms>,
    /// Reservation status.
    pub reservation_status: Option<String>,
    /// Payment status.
    pub payment_status: Option<String>,
    /// Rental (booth) status.
    pub rental_status: Option<String>,
    /// The payment.
    pub payment_id: Option<String>,
    /// The device handed out.
    pub device_serial: Option<String>,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Why the last cancel was refused.
    pub cancel_refused_reason: Option<String>,
    /// Whether the device was handed out.
    pub handed_out: bool,
    /// Latest sequence seen per source.
    pub seen: [u64; 3],
    /// Everything that happened, by time.
    pub timeline: Vec<TimelineEntry>,
    /// When the first fact happened.
    pub created_at: OffsetDateTime,
    /// When the latest fact happened.
    pub updated_at: OffsetDateTime,
    /// How many facts were folded in.
    pub revision: u64,
}

impl ReservationView {
    /// An empty view, before any fact.
    pub fn new(reservation_id: &str, at: OffsetDateTime) -> Self {
        Self {
            reservation_id: reservation_id.to_owned(),
            customer_id: None,
            terms: None,
            reservation_status: None,
            payment_status: None,
            rental_status: None,
            payment_id: None,
            device_serial: None,
            failure_reason: None,
            cancel_refused_reason: None,
            handed_out: false,
            seen: [0; 3],
            timeline: Vec::new(),
            created_at: at,
            updated_at: at,
            revision: 0,
        }
    }

    /// Folds one fact in. Facts may come in any order across sources; a source's status never
    /// goes back to an older one.
    pub fn apply(&mut self, fact: &Fact, recorded_at: OffsetDateTime) {
        self.revision += 1;
        let source = fact.kind.source();
        let entry = TimelineEntry {
            at: fact.at,
            source,
            event: fact.kind.name().to_owned(),
            detail: fact.kind.detail(),
            recorded_at,
        };
        let position = self.timeline.partition_point(|e| e.at <= entry.at);
        self.timeline.insert(position, entry);
        if self.customer_id.is_none() {
            self.customer_id = fact.customer_id.clone();
        }
        self.created_at = self.created_at.min(fact.at);
        self.updated_at = self.updated_at.max(fact.at);
        match &fact.kind {
            FactKind::Requested(terms) | FactKind::Reserved(terms) if self.terms.is_none() => {
                self.terms = Some(terms.clone());
            }
            FactKind::RentalHandedOut(serial) => {
                self.device_serial = Some(serial.clone());
                self.handed_out = true;
            }
            FactKind::ReservationHandedOut => self.handed_out = true,
            FactKind::PaymentApproved { payment_id, .. } => {
                self.payment_id = Some(payment_id.clone())
            }
            _ => {}
        }
        let slot = &mut self.seen[source.index()];
        if fact.sequence <= *slot {
            return;
        }
        *slot = fact.sequence;
        let status = |s: &str| Some(s.to_owned());
        match &fact.kind {
            FactKind::Requested(_) => self.reservation_status = status("PaymentPending"),
            FactKind::Reserved(_) => self.reservation_status = status("Reserved"),
            FactKind::ReserveFailed(reason) => {
                self.reservation_status = status("ReserveFailed");
                self.failure_reason = Some(reason.clone());
            }
            FactKind::PaymentUnconfirmed => {}
            FactKind::CancelRequested => self.reservation_status = status("CancelRequested"),
            FactKind::Canceled => self.reservation_status = status("Canceled"),
            FactKind::CancelRefused(reason) => {
                self.reservation_status = status(if self.handed_out {
                    "HandedOut"
                } else {
                    "Reserved"
                });
                self.cancel_refused_reason = Some(reason.clone());
            }
            FactKind::ReservationHandedOut => {
                if self.reservation_status.as_deref() != Some("CancelRequested") {
                    self.reservation_status = status("HandedOut");
                }
            }
            FactKind::Returned => self.reservation_status = status("Returned"),
            FactKind::Completed => self.reservation_status = status("Completed"),
            FactKind::PaymentApproved { .. } => self.payment_status = status("Approved"),
            FactKind::PaymentDeclined(_) => self.payment_status = status("Declined"),
            FactKind::PaymentCanceled => self.payment_status = status("Refunded"),
            FactKind::PaymentVoided => self.payment_status = status("Voided"),
            FactKind::RentalAccepted => self.rental_status = status("Accepted"),
            FactKind::RentalHandedOut(_) => self.rental_status = status("HandedOut"),
            FactKind::RentalCanceled => self.rental_status = status("Canceled"),
            FactKind::RentalCancelRefused(_) => {}
            FactKind::RentalReturned => self.rental_status = status("Returned"),
            FactKind::RentalCollected => self.rental_status = status("Collected"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn terms() -> Terms {
        Terms {
            device_model: "egg-lte".into(),
            country: "JP".into(),
            rental_date: "2026-12-01".into(),
            return_date: "2026-12-04".into(),
            booth: "ICN-T1".into(),
            amount: 9_900,
        }
    }

    const NOW: OffsetDateTime = datetime!(2026-11-22 11:00 UTC);

    fn fact(sequence: u64, minute: u8, kind: FactKind) -> Fact {
        Fact {
            customer_id: Some("c1".into()),
            sequence,
            at: datetime!(2026-11-22 10:00 UTC) + time::Duration::minutes(i64::from(minute)),
            kind,
        }
    }

    #[test]
    fn the_view_shows_all_three_statuses_and_a_timeline() {
        let mut view = ReservationView::new("r1", datetime!(2026-11-22 10:00 UTC));
        view.apply(&fact(1, 0, FactKind::Requested(terms())), NOW);
        view.apply(
            &fact(
                1,
                1,
                FactKind::PaymentApproved {
                    payment_id: "p1".into(),
                    card_last4: "4242".into(),
                },
            ),
            NOW,
        );
        view.apply(&fact(2, 1, FactKind::Reserved(terms())), NOW);
        view.apply(&fact(1, 2, FactKind::RentalAccepted), NOW);
        assert_eq!(view.reservation_status.as_deref(), Some("Reserved"));
        assert_eq!(view.payment_status.as_deref(), Some("Approved"));
        assert_eq!(view.rental_status.as_deref(), Some("Accepted"));
        assert_eq!(view.terms, Some(terms()));
        assert_eq!(view.timeline.len(), 4);
        assert_eq!(view.customer_id.as_deref(), Some("c1"));
    }

    #[test]
    fn a_late_older_fact_does_not_move_a_status_back() {
        let mut view = ReservationView::new("r1", datetime!(2026-11-22 10:00 UTC));
        view.apply(&fact(2, 1, FactKind::Reserved(terms())), NOW);
        view.apply(&fact(1, 0, FactKind::Requested(terms())), NOW);
        assert_eq!(view.reservation_status.as_deref(), Some("Reserved"));
        assert_eq!(
            view.timeline[0].event, "requested",
            "the timeline is in time order"
        );
    }

    #[test]
    fn a_refused_cancel_shows_the_refusal_and_the_restored_status() {
        let mut view = ReservationView::new("r1", datetime!(2026-11-22 10:00 UTC));
        view.apply(&fact(2, 1, FactKind::Reserved(terms())), NOW);
        view.apply(&fact(2, 2, FactKind::RentalHandedOut("SN-1".into())), NOW);
        view.apply(&fact(3, 3, FactKind::CancelRequested), NOW);
        view.apply(&fact(4, 4, FactKind::ReservationHandedOut), NOW);
        view.apply(
            &fact(
                5,
                5,
                FactKind::CancelRefused("the device was already handed out".into()),
            ),
            NOW,
        );
        assert_eq!(view.reservation_status.as_deref(), Some("HandedOut"));
        assert_eq!(
            view.cancel_refused_reason.as_deref(),
            Some("the device was already handed out")
        );
        assert_eq!(view.device_serial.as_deref(), Some("SN-1"));
    }
}
