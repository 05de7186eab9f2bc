//! The barista's use cases (the queue, accept, make) and the policies that queue the drinks of
//! paid orders and answer cancel requests.

use crate::domain::drink::{Cup, Drink, DrinkError};
use cafeteria_contracts::Ordered;
use kernel::aggregate::{ChangeError, Repository, StoreError};
use kernel::{Cause, clock};

/// Why a command on a drink failed.
pub(crate) type CommandError = ChangeError<DrinkError>;

/// The use cases.
#[derive(Debug)]
pub(crate) struct DrinkService {
    store: Repository<Drink>,
}

impl DrinkService {
    /// Wires the use cases to their store.
    pub(crate) fn new(store: Repository<Drink>) -> Self {
        Self { store }
    }

    /// The store (for the queue's routes).
    pub(crate) fn store(&self) -> Repository<Drink> {
        self.store.clone()
    }

    /// The barista accepts an order (접수).
    pub(crate) async fn accept(
        &self,
        order_id: &str,
        barista: &str,
    ) -> Result<Drink, CommandError> {
        self.store
            .update(order_id, None, |d| d.accept(barista))
            .await
    }

    /// The barista made the drink (제조).
    pub(crate) async fn make(&self, order_id: &str) -> Result<Drink, CommandError> {
        self.store.update(order_id, None, Drink::make).await
    }

    /// Policy: a paid order's drink joins the queue.
    pub(crate) async fn queue_paid(
        &self,
        ordered: Ordered,
        cause: &Cause,
    ) -> Result<(), StoreError> {
        let cup = Cup {
            customer_id: ordered.customer_id,
            drink_id: ordered.drink_id,
            drink_name: ordered.drink_name,
            qty: ordered.qty,
        };
        let (drink, events) = Drink::queue(&ordered.order_id, cup, clock::now());
        self.store.create(&drink, &events, Some(cause)).await
    }

    /// Policy: the customer asked to cancel; granted while queued, refused once accepted.
    pub(crate) async fn cancel(&self, cause: &Cause) -> Result<Drink, CommandError> {
        self.store
            .update(cause.subject(), Some(cause), Drink::cancel)
            .await
    }
}

#[cfg(test)]
mod tests;
