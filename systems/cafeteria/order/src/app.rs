//! The order use cases: order (paid in one go, see checkout), list, one, cancel, and the policies
//! of the cancel saga.

use crate::domain::menu::Drink;
use crate::domain::order::{DrinkOrder, MAX_QTY, NotAllowed, OrderEvent};
use kernel::aggregate::ChangeError;
use kernel::{Cause, clock};
use payment_contracts::checkout::{Checkout, OrderError};
use std::sync::Arc;

/// An order request, parsed at the edge.
#[derive(Debug, Clone)]
pub(crate) struct OrderCommand {
    /// Who orders.
    pub customer_id: String,
    /// What, from the menu.
    pub drink: &'static Drink,
    /// How many cups (not yet checked).
    pub qty: u32,
    /// Card to pay with.
    pub card_number: String,
    /// The client's idempotency key.
    pub idempotency_key: Option<String>,
}

/// Why a command on an existing order failed.
pub(crate) type CommandError = ChangeError<NotAllowed>;

/// The use cases.
#[derive(Debug)]
pub(crate) struct OrderService {
    checkout: Arc<Checkout<DrinkOrder>>,
}

impl OrderService {
    /// Wires the use cases to checkout (their store and payment).
    pub(crate) fn new(checkout: Arc<Checkout<DrinkOrder>>) -> Self {
        Self { checkout }
    }

    /// Orders and pays.
    pub(crate) async fn order(&self, command: OrderCommand) -> Result<DrinkOrder, OrderError> {
        if !(1..=MAX_QTY).contains(&command.qty) {
            let message = format!("qty must be 1 to {MAX_QTY}");
            return Err(OrderError::invalid("invalid_qty", message));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let (customer, drink, qty) = (&command.customer_id, command.drink, command.qty);
        let key = command.idempotency_key;
        let (order, events) = DrinkOrder::place(id, customer, drink, qty, key, clock::now());
        let key = order.idempotency_key.clone();
        let card = &command.card_number;
        Ok(self
            .checkout
            .place(order, &events, key.as_deref(), card)
            .await?)
    }

    /// Checkout: the store and payment.
    pub(crate) fn checkout(&self) -> Arc<Checkout<DrinkOrder>> {
        self.checkout.clone()
    }

    /// One order, if `customer` (when given) owns it.
    pub(crate) async fn get(
        &self,
        id: &str,
        customer: Option<&str>,
    ) -> Result<DrinkOrder, CommandError> {
        self.checkout.order(id, customer).await
    }

    /// The customer cancels: the drink is canceled unless the barista accepted it.
    pub(crate) async fn cancel(
        &self,
        id: &str,
        customer: Option<&str>,
    ) -> Result<DrinkOrder, CommandError> {
        let cancel = DrinkOrder::request_cancel;
        self.checkout.command(id, customer, cancel).await
    }

    /// Policy: drink's or payment's event `cause` moves its order as `decide` says.
    pub(crate) async fn react<F>(
        &self,
        cause: &Cause,
        decide: F,
    ) -> Result<DrinkOrder, CommandError>
    where
        F: Fn(&DrinkOrder) -> Result<Vec<OrderEvent>, NotAllowed>,
    {
        self.checkout
            .change(cause.subject(), Some(cause), decide)
            .await
    }
}

#[cfg(test)]
mod tests;
