//! A product of delivery's stock ledger (재고수량): known from the product team's events; its
//! units are a counter the deliveries take from and give back to, never below zero.

use time::OffsetDateTime;

/// Something that moved a product's stock from the product team's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StockEvent {
    /// Registered with `qty` units.
    Registered {
        /// Units.
        qty: u32,
    },
    /// `qty` more units.
    Restocked {
        /// Units.
        qty: u32,
    },
}

/// The aggregate (its id is the product id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StockItem {
    /// The product id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Events applied.
    pub version: u64,
    /// Registered at.
    pub created_at: OffsetDateTime,
}

impl StockItem {
    /// A registered product with its first units.
    pub(crate) fn register(
        id: &str,
        name: &str,
        qty: u32,
        now: OffsetDateTime,
    ) -> (Self, Vec<StockEvent>) {
        let item = Self {
            id: id.to_owned(),
            name: name.to_owned(),
            version: 1,
            created_at: now,
        };
        (item, vec![StockEvent::Registered { qty }])
    }

    /// More units.
    pub(crate) fn restock(&self, qty: u32) -> Vec<StockEvent> {
        vec![StockEvent::Restocked { qty }]
    }
}
