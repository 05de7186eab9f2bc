//! A ticket delivery: requested when a booking is paid, shipped by the delivery team, canceled
//! when the booking is (a ticket already shipped is voided).

use time::OffsetDateTime;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeliveryStatus {
    /// In the delivery team's queue.
    Requested,
    /// On its way.
    Shipped,
    /// Canceled (voided if it had shipped).
    Canceled,
}

impl DeliveryStatus {
    /// The API and store name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "Requested",
            Self::Shipped => "Shipped",
            Self::Canceled => "Canceled",
        }
    }

    /// Parses a name.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        [Self::Requested, Self::Shipped, Self::Canceled]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// What is to be delivered, from the paid booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parcel {
    /// Who booked.
    pub customer_id: String,
    /// The musical's title.
    pub musical_title: String,
    /// The performance's start (RFC 3339).
    pub starts_at: String,
    /// Seat grade.
    pub grade: String,
    /// Tickets.
    pub quantity: u32,
    /// Where to.
    pub address: String,
    /// Phone for the courier.
    pub phone: String,
}

/// Something that happened to a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeliveryEvent {
    /// Queued.
    Requested,
    /// Shipped by `shipper`.
    Shipped {
        /// Who ships.
        shipper: String,
    },
    /// Canceled.
    Canceled {
        /// It had shipped: the ticket is voided.
        voided: bool,
    },
}

/// A command the delivery's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DeliveryError {
    /// The booking was canceled.
    #[error("the booking was canceled; its ticket is not to be shipped")]
    Canceled,
    /// Already shipped by someone else.
    #[error("already shipped by {0}")]
    AlreadyShipped(String),
}

/// The aggregate (its id is the booking id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// The booking id.
    pub id: String,
    /// What.
    pub parcel: Parcel,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Who shipped.
    pub shipper: Option<String>,
    /// When it shipped.
    pub shipped_at: Option<OffsetDateTime>,
    /// A shipped ticket that was canceled.
    pub voided: bool,
    /// Events applied.
    pub version: u64,
    /// Queued at.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl Delivery {
    /// Queues the ticket of a paid booking.
    pub(crate) fn request(
        id: &str,
        parcel: Parcel,
        now: OffsetDateTime,
    ) -> (Self, Vec<DeliveryEvent>) {
        let mut delivery = Self {
            id: id.to_owned(),
            parcel,
            status: DeliveryStatus::Requested,
            shipper: None,
            shipped_at: None,
            voided: false,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let events = vec![DeliveryEvent::Requested];
        delivery.apply(&events[0], now);
        (delivery, events)
    }

    /// The delivery team ships it (repeating by the same shipper changes nothing).
    pub(crate) fn ship(&self, shipper: &str) -> Result<Vec<DeliveryEvent>, DeliveryError> {
        match (self.status, &self.shipper) {
            (DeliveryStatus::Requested, _) => Ok(vec![DeliveryEvent::Shipped {
                shipper: shipper.to_owned(),
            }]),
            (DeliveryStatus::Shipped, Some(by)) if by == shipper => Ok(vec![]),
            (DeliveryStatus::Shipped, by) => Err(DeliveryError::AlreadyShipped(
                by.clone().unwrap_or_default(),
            )),
            (DeliveryStatus::Canceled, _) => Err(DeliveryError::Canceled),
        }
    }

    /// The booking was canceled.
    pub(crate) fn cancel(&self) -> Result<Vec<DeliveryEvent>, DeliveryError> {
        Ok(match self.status {
            DeliveryStatus::Requested => vec![DeliveryEvent::Canceled { voided: false }],
            DeliveryStatus::Shipped => vec![DeliveryEvent::Canceled { voided: true }],
            DeliveryStatus::Canceled => vec![],
        })
    }

    /// Moves the state.
    pub(crate) fn apply(&mut self, event: &DeliveryEvent, at: OffsetDateTime) {
        match event {
            DeliveryEvent::Requested => self.status = DeliveryStatus::Requested,
            DeliveryEvent::Shipped { shipper } => {
                self.status = DeliveryStatus::Shipped;
                self.shipper = Some(shipper.clone());
                self.shipped_at = Some(at);
            }
            DeliveryEvent::Canceled { voided } => {
                self.status = DeliveryStatus::Canceled;
                self.voided = *voided;
            }
        }
        self.version += 1;
        self.updated_at = at;
    }
}
