//! The delivery team's use cases (the queue, deliver, collect), rental's cancel command, the stock
//! ledger, and the policies that keep the ledger and schedule rental orders.

use crate::adapters::outbound::stored::STOCK;
use crate::domain::delivery::{Delivery, DeliveryError, Parcel};
use crate::domain::stock::StockItem;
use kernel::aggregate::{ChangeError, Repository, StoreError};
use kernel::{Cause, clock};
use office_contracts::{ProductRegistered, RentalOrdered};

/// Why a command on a delivery failed.
pub(crate) type CommandError = ChangeError<DeliveryError>;

/// Most products the stock page shows.
pub(crate) const STOCK_LIMIT: u32 = 500;

/// The use cases.
#[derive(Debug)]
pub(crate) struct DeliveryService {
    deliveries: Repository<Delivery>,
    stock: Repository<StockItem>,
}

impl DeliveryService {
    /// Wires the use cases to their stores (one database).
    pub(crate) fn new(deliveries: Repository<Delivery>, stock: Repository<StockItem>) -> Self {
        Self { deliveries, stock }
    }

    /// The deliveries (for the queue's routes).
    pub(crate) fn deliveries(&self) -> Repository<Delivery> {
        self.deliveries.clone()
    }

    /// The stock ledger: every product delivery knows, with the units left.
    pub(crate) async fn stock(&self) -> anyhow::Result<Vec<(StockItem, i64)>> {
        let left = self.stock.store().counters(STOCK).await?;
        let items = self.stock.queue(None, 0, STOCK_LIMIT).await?;
        Ok(items
            .into_iter()
            .map(|item| {
                let units = left.get(&item.id).copied().unwrap_or(0);
                (item, units)
            })
            .collect())
    }

    /// The team delivers.
    pub(crate) async fn deliver(&self, rental_id: &str) -> Result<Delivery, CommandError> {
        self.deliveries
            .update(rental_id, None, Delivery::deliver)
            .await
    }

    /// The team collects returned products: the stock comes back.
    pub(crate) async fn collect(&self, rental_id: &str) -> Result<Delivery, CommandError> {
        self.deliveries
            .update(rental_id, None, Delivery::collect)
            .await
    }

    /// Rental's cancel command (by rental id, idempotent): granted until delivered, the stock
    /// restored once; before the order it leaves a tombstone.
    pub(crate) async fn cancel(
        &self,
        rental_id: &str,
        customer_id: &str,
    ) -> Result<Delivery, CommandError> {
        let unknown = || {
            let mut delivery = Delivery::unknown(rental_id, clock::now());
            delivery.parcel.customer_id = customer_id.to_owned();
            delivery
        };
        self.deliveries
            .upsert(rental_id, None, unknown, Delivery::cancel)
            .await
    }

    /// Policy: a registered product's first units join the ledger.
    pub(crate) async fn register(
        &self,
        e: ProductRegistered,
        cause: &Cause,
    ) -> Result<(), StoreError> {
        let store = self.stock.store();
        store.define_counter(STOCK, &e.product_id, 0).await?;
        let (item, events) = StockItem::register(&e.product_id, &e.name, e.qty, clock::now());
        self.stock.create(&item, &events, Some(cause)).await
    }

    /// Policy: restocked units join the ledger.
    pub(crate) async fn restock(
        &self,
        qty: u32,
        cause: &Cause,
    ) -> Result<StockItem, ChangeError<std::convert::Infallible>> {
        let restock = |item: &StockItem| Ok(item.restock(qty));
        self.stock
            .update(cause.subject(), Some(cause), restock)
            .await
    }

    /// Policy: a rental order takes its stock and is scheduled, or is out of stock (재고부족).
    /// A product not heard of yet is retried later: its registration may still be on its way.
    pub(crate) async fn schedule(&self, e: RentalOrdered, cause: &Cause) -> anyhow::Result<()> {
        if self.stock.get(&e.product_id).await?.is_none() {
            anyhow::bail!("product {} is not in the stock ledger yet", e.product_id);
        }
        let parcel = Parcel {
            customer_id: e.customer_id,
            product_id: e.product_id,
            product_name: e.product_name,
            qty: e.qty,
        };
        let now = clock::now();
        let (delivery, events) = Delivery::schedule(&e.rental_id, parcel.clone(), now);
        let outcome = match self
            .deliveries
            .create(&delivery, &events, Some(cause))
            .await
        {
            Err(StoreError::Exhausted { .. }) => {
                let (delivery, events) = Delivery::out_of_stock(&e.rental_id, parcel, now);
                self.deliveries
                    .create(&delivery, &events, Some(cause))
                    .await
            }
            other => other,
        };
        match outcome {
            // A tombstone (canceled before the order) holds the id: the order moves no stock.
            Ok(()) | Err(StoreError::AlreadyHandled | StoreError::Duplicate { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Policy: the customer gives the products back; the team is to collect them.
    pub(crate) async fn request_return(&self, cause: &Cause) -> Result<Delivery, CommandError> {
        self.deliveries
            .update(cause.subject(), Some(cause), Delivery::request_return)
            .await
    }
}

#[cfg(test)]
mod tests;
