//! A drink to make (음료): queued when its order is paid, accepted (접수) and made (제조) by the
//! barista; a cancel is granted only while it is still queued.

use time::OffsetDateTime;

/// Where a drink stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DrinkStatus {
    /// Waiting for the barista.
    Queued,
    /// Accepted by the barista (접수): no cancel any more.
    Receipted,
    /// Made (제조 완료).
    Made,
    /// Canceled before the barista accepted it.
    Canceled,
}

const ALL_STATUSES: [DrinkStatus; 4] = [
    DrinkStatus::Queued,
    DrinkStatus::Receipted,
    DrinkStatus::Made,
    DrinkStatus::Canceled,
];

impl DrinkStatus {
    /// The API and store name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "Queued",
            Self::Receipted => "Receipted",
            Self::Made => "Made",
            Self::Canceled => "Canceled",
        }
    }

    /// Parses a name.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        ALL_STATUSES.into_iter().find(|s| s.as_str() == value)
    }
}

/// What the barista makes, from the paid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cup {
    /// Who ordered.
    pub customer_id: String,
    /// The menu's drink id.
    pub drink_id: String,
    /// Its Korean name.
    pub drink_name: String,
    /// How many cups.
    pub qty: u32,
}

/// Something that happened to a drink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DrinkEvent {
    /// In the queue.
    Queued,
    /// Accepted by `barista`.
    Receipted {
        /// Who accepted it.
        barista: String,
    },
    /// Made.
    Made,
    /// Canceled while queued.
    Canceled,
    /// A cancel came after the barista accepted it.
    CancelRefused,
}

/// A barista's command the drink's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DrinkError {
    /// The order was canceled.
    #[error("the order was canceled; the drink is not to be made")]
    Canceled,
    /// Made before it was accepted.
    #[error("accept the order before making the drink")]
    NotReceipted,
}

/// The aggregate (its id is the order id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Drink {
    /// The order id.
    pub id: String,
    /// What.
    pub cup: Cup,
    /// Where it stands.
    pub status: DrinkStatus,
    /// Who accepted it.
    pub barista: Option<String>,
    /// Events applied.
    pub version: u64,
    /// Queued at.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl Drink {
    /// Queues the drink of a paid order.
    pub(crate) fn queue(id: &str, cup: Cup, now: OffsetDateTime) -> (Self, Vec<DrinkEvent>) {
        let mut drink = Self {
            id: id.to_owned(),
            cup,
            status: DrinkStatus::Queued,
            barista: None,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let events = vec![DrinkEvent::Queued];
        drink.apply(&events[0], now);
        (drink, events)
    }

    /// The barista accepts the order (again: nothing changes).
    pub(crate) fn accept(&self, barista: &str) -> Result<Vec<DrinkEvent>, DrinkError> {
        match self.status {
            DrinkStatus::Queued => Ok(vec![DrinkEvent::Receipted {
                barista: barista.to_owned(),
            }]),
            DrinkStatus::Receipted | DrinkStatus::Made => Ok(vec![]),
            DrinkStatus::Canceled => Err(DrinkError::Canceled),
        }
    }

    /// The barista made the drink (again: nothing changes).
    pub(crate) fn make(&self) -> Result<Vec<DrinkEvent>, DrinkError> {
        match self.status {
            DrinkStatus::Receipted => Ok(vec![DrinkEvent::Made]),
            DrinkStatus::Made => Ok(vec![]),
            DrinkStatus::Queued => Err(DrinkError::NotReceipted),
            DrinkStatus::Canceled => Err(DrinkError::Canceled),
        }
    }

    /// The customer asked to cancel: granted while queued, refused once accepted.
    pub(crate) fn cancel(&self) -> Result<Vec<DrinkEvent>, DrinkError> {
        Ok(match self.status {
            DrinkStatus::Queued => vec![DrinkEvent::Canceled],
            DrinkStatus::Receipted | DrinkStatus::Made => vec![DrinkEvent::CancelRefused],
            DrinkStatus::Canceled => vec![],
        })
    }

    /// Moves the state.
    pub(crate) fn apply(&mut self, event: &DrinkEvent, at: OffsetDateTime) {
        match event {
            DrinkEvent::Queued => self.status = DrinkStatus::Queued,
            DrinkEvent::Receipted { barista } => {
                self.status = DrinkStatus::Receipted;
                self.barista = Some(barista.clone());
            }
            DrinkEvent::Made => self.status = DrinkStatus::Made,
            DrinkEvent::Canceled => self.status = DrinkStatus::Canceled,
            DrinkEvent::CancelRefused => {}
        }
        self.version += 1;
        self.updated_at = at;
    }
}
