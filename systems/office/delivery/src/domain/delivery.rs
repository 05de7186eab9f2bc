//! A delivery (배송), one per rental: scheduled when the stock covers the order (the stock is
//! taken with it), out of stock (재고부족) when it does not, delivered and collected by the
//! delivery team, canceled at the customer's request before delivery (the stock comes back). A
//! cancel that arrives before the order leaves a tombstone, so the late order moves no stock.

use time::OffsetDateTime;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeliveryStatus {
    /// Nothing known yet (only ever in memory, before a first event).
    Unknown,
    /// Stock reserved; to be delivered.
    Scheduled,
    /// At the customer's.
    Delivered,
    /// The customer gives it back; to be collected.
    ReturnRequested,
    /// Back in stock.
    Collected,
    /// Canceled: out of stock, or by the customer before delivery.
    Canceled,
}

const ALL_STATUSES: [DeliveryStatus; 5] = [
    DeliveryStatus::Scheduled,
    DeliveryStatus::Delivered,
    DeliveryStatus::ReturnRequested,
    DeliveryStatus::Collected,
    DeliveryStatus::Canceled,
];

impl DeliveryStatus {
    /// The API and store name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "Unknown",
            Self::Scheduled => "Scheduled",
            Self::Delivered => "Delivered",
            Self::ReturnRequested => "ReturnRequested",
            Self::Collected => "Collected",
            Self::Canceled => "Canceled",
        }
    }

    /// Parses a name.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        ALL_STATUSES.into_iter().find(|s| s.as_str() == value)
    }
}

/// What is delivered, from the rental order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Parcel {
    /// Who rents.
    pub customer_id: String,
    /// The product.
    pub product_id: String,
    /// Its name.
    pub product_name: String,
    /// Units.
    pub qty: u32,
}

/// Something that happened to a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeliveryEvent {
    /// Stock taken, delivery scheduled.
    Scheduled,
    /// Too little stock: the rental is to be canceled.
    OutOfStock,
    /// Delivered.
    Delivered,
    /// The customer asked to return it.
    ReturnRequested,
    /// Collected: stock given back.
    Collected,
    /// Canceled before delivery: stock given back.
    Canceled,
    /// Canceled before the order arrived: no stock was taken, and none will be.
    Tombstoned,
}

/// A command the delivery's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DeliveryError {
    /// Delivered already: return it instead.
    #[error("the products are delivered already; return them instead")]
    AlreadyDelivered,
    /// The delivery was canceled.
    #[error("the delivery was canceled")]
    Canceled,
    /// Not delivered yet.
    #[error("the products are not delivered yet")]
    NotDelivered,
    /// The customer has not asked to return it.
    #[error("the customer has not asked to return the products")]
    NotReturned,
}

/// The aggregate (its id is the rental id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// The rental id.
    pub id: String,
    /// What (empty for a tombstone).
    pub parcel: Parcel,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Why it was canceled (`out_of_stock`, `customer`).
    pub cancel_reason: Option<&'static str>,
    /// Events applied.
    pub version: u64,
    /// First known at.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// The reasons a delivery is canceled.
pub(crate) mod reason {
    /// Too little stock.
    pub(crate) const OUT_OF_STOCK: &str = "out_of_stock";
    /// The customer canceled.
    pub(crate) const CUSTOMER: &str = "customer";
}

impl Delivery {
    /// A delivery nothing is known of yet (what a cancel finds before the order).
    pub(crate) fn unknown(id: &str, now: OffsetDateTime) -> Self {
        Self {
            id: id.to_owned(),
            parcel: Parcel::default(),
            status: DeliveryStatus::Unknown,
            cancel_reason: None,
            version: 0,
            created_at: now,
            updated_at: now,
        }
    }

    /// A rental order: scheduled, taking its stock (the store refuses it when the stock is
    /// short; then [`Self::out_of_stock`]).
    pub(crate) fn schedule(
        id: &str,
        parcel: Parcel,
        now: OffsetDateTime,
    ) -> (Self, Vec<DeliveryEvent>) {
        Self::first(id, parcel, DeliveryEvent::Scheduled, now)
    }

    /// A rental order the stock does not cover.
    pub(crate) fn out_of_stock(
        id: &str,
        parcel: Parcel,
        now: OffsetDateTime,
    ) -> (Self, Vec<DeliveryEvent>) {
        Self::first(id, parcel, DeliveryEvent::OutOfStock, now)
    }

    fn first(
        id: &str,
        parcel: Parcel,
        event: DeliveryEvent,
        now: OffsetDateTime,
    ) -> (Self, Vec<DeliveryEvent>) {
        let mut delivery = Self {
            parcel,
            ..Self::unknown(id, now)
        };
        delivery.apply(&event, now);
        (delivery, vec![event])
    }

    /// The customer cancels (again: nothing changes): granted until delivered.
    pub(crate) fn cancel(&self) -> Result<Vec<DeliveryEvent>, DeliveryError> {
        match self.status {
            DeliveryStatus::Unknown => Ok(vec![DeliveryEvent::Tombstoned]),
            DeliveryStatus::Scheduled => Ok(vec![DeliveryEvent::Canceled]),
            DeliveryStatus::Canceled => Ok(vec![]),
            DeliveryStatus::Delivered
            | DeliveryStatus::ReturnRequested
            | DeliveryStatus::Collected => Err(DeliveryError::AlreadyDelivered),
        }
    }

    /// The team delivers (again: nothing changes).
    pub(crate) fn deliver(&self) -> Result<Vec<DeliveryEvent>, DeliveryError> {
        match self.status {
            DeliveryStatus::Scheduled => Ok(vec![DeliveryEvent::Delivered]),
            DeliveryStatus::Canceled | DeliveryStatus::Unknown => Err(DeliveryError::Canceled),
            _ => Ok(vec![]),
        }
    }

    /// The customer asked to return the products (only delivered ones; again: nothing).
    pub(crate) fn request_return(&self) -> Result<Vec<DeliveryEvent>, DeliveryError> {
        match self.status {
            DeliveryStatus::Delivered => Ok(vec![DeliveryEvent::ReturnRequested]),
            DeliveryStatus::ReturnRequested | DeliveryStatus::Collected => Ok(vec![]),
            _ => Err(DeliveryError::NotDelivered),
        }
    }

    /// The team collects returned products (again: nothing changes).
    pub(crate) fn collect(&self) -> Result<Vec<DeliveryEvent>, DeliveryError> {
        match self.status {
            DeliveryStatus::ReturnRequested => Ok(vec![DeliveryEvent::Collected]),
            DeliveryStatus::Collected => Ok(vec![]),
            DeliveryStatus::Delivered => Err(DeliveryError::NotReturned),
            DeliveryStatus::Scheduled => Err(DeliveryError::NotDelivered),
            DeliveryStatus::Canceled | DeliveryStatus::Unknown => Err(DeliveryError::Canceled),
        }
    }

    /// Moves the state.
    pub(crate) fn apply(&mut self, event: &DeliveryEvent, at: OffsetDateTime) {
        self.status = match event {
            DeliveryEvent::Scheduled => DeliveryStatus::Scheduled,
            DeliveryEvent::Delivered => DeliveryStatus::Delivered,
            DeliveryEvent::ReturnRequested => DeliveryStatus::ReturnRequested,
            DeliveryEvent::Collected => DeliveryStatus::Collected,
            DeliveryEvent::OutOfStock => {
                self.cancel_reason = Some(reason::OUT_OF_STOCK);
                DeliveryStatus::Canceled
            }
            DeliveryEvent::Canceled | DeliveryEvent::Tombstoned => {
                self.cancel_reason = Some(reason::CUSTOMER);
                DeliveryStatus::Canceled
            }
        };
        self.version += 1;
        self.updated_at = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheduled() -> Delivery {
        let parcel = Parcel {
            qty: 2,
            ..Parcel::default()
        };
        Delivery::schedule("r1", parcel, OffsetDateTime::UNIX_EPOCH).0
    }

    #[test]
    fn a_cancel_before_delivery_is_granted_and_after_it_refused() {
        assert_eq!(scheduled().cancel().unwrap(), [DeliveryEvent::Canceled]);
        let mut delivered = scheduled();
        delivered.apply(&DeliveryEvent::Delivered, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            delivered.cancel().unwrap_err(),
            DeliveryError::AlreadyDelivered
        );
    }

    #[test]
    fn a_cancel_before_the_order_leaves_a_tombstone() {
        let unknown = Delivery::unknown("r1", OffsetDateTime::UNIX_EPOCH);
        assert_eq!(unknown.cancel().unwrap(), [DeliveryEvent::Tombstoned]);
    }

    #[test]
    fn collecting_needs_a_return() {
        let mut delivery = scheduled();
        delivery.apply(&DeliveryEvent::Delivered, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(delivery.collect().unwrap_err(), DeliveryError::NotReturned);
        delivery.apply(&DeliveryEvent::ReturnRequested, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(delivery.collect().unwrap(), [DeliveryEvent::Collected]);
    }
}
