//! The booking use cases: book (seats taken and paid in one go, see checkout), list, cancel, the
//! policies that complete a cancel, the seat counters and reconciliation.

use crate::adapters::outbound::stored::SEATS;
use crate::domain::booking::{Booking, BookingError, BookingEvent, MAX_QUANTITY, Order};
use crate::domain::catalog::{self, Seats};
use kernel::aggregate::ChangeError;
use kernel::{Cause, clock};
use payment_contracts::checkout::{Checkout, OrderError};
use std::sync::Arc;

/// A booking request, parsed at the edge.
#[derive(Debug, Clone)]
pub(crate) struct BookCommand {
    /// Who books.
    pub customer_id: String,
    /// What (quantity not yet checked).
    pub order: Order,
    /// Card to pay with.
    pub card_number: String,
    /// The client's idempotency key.
    pub idempotency_key: Option<String>,
}

/// Why a booking request produced no booking: invalid input, or checkout (sold out included).
pub(crate) type BookError = OrderError;

/// Why a command on an existing booking failed.
pub(crate) type CommandError = ChangeError<BookingError>;

/// The use cases.
#[derive(Debug)]
pub(crate) struct BookingService {
    checkout: Arc<Checkout<Booking>>,
}

impl BookingService {
    /// Wires the use cases to checkout (their store and payment).
    pub(crate) fn new(checkout: Arc<Checkout<Booking>>) -> Self {
        Self { checkout }
    }

    /// Opens a seat counter per performance and grade at its capacity (once; later starts keep
    /// what is left).
    pub(crate) async fn open_seats(&self) -> anyhow::Result<()> {
        let store = self.checkout.store().store();
        for seats in catalog::all_seats() {
            store
                .define_counter(SEATS, &seats.counter_key(), seats.grade.capacity)
                .await?;
        }
        Ok(())
    }

    /// Seats left for a pick.
    pub(crate) async fn available(&self, seats: &Seats) -> anyhow::Result<i64> {
        let store = self.checkout.store().store();
        Ok(store
            .counter(SEATS, &seats.counter_key())
            .await?
            .unwrap_or(seats.grade.capacity))
    }

    /// Books and pays.
    pub(crate) async fn book(&self, command: BookCommand) -> Result<Booking, BookError> {
        if !(1..=MAX_QUANTITY).contains(&command.order.quantity) {
            let message = format!("quantity must be 1 to {MAX_QUANTITY}");
            return Err(BookError::invalid("invalid_quantity", message));
        }
        if clock::now() >= command.order.seats.performance.starts_at {
            let message = "the performance has begun; pick a later one";
            return Err(BookError::invalid("performance_started", message));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let key = command.idempotency_key;
        let (booking, events) =
            Booking::request(id, &command.customer_id, command.order, key, clock::now());
        let key = booking.idempotency_key.clone();
        let card = &command.card_number;
        Ok(self
            .checkout
            .place(booking, &events, key.as_deref(), card)
            .await?)
    }

    /// Checkout: the store and payment.
    pub(crate) fn checkout(&self) -> Arc<Checkout<Booking>> {
        self.checkout.clone()
    }

    /// One booking, if `customer` (when given) owns it.
    pub(crate) async fn get(
        &self,
        id: &str,
        customer: Option<&str>,
    ) -> Result<Booking, CommandError> {
        self.checkout.order(id, customer).await
    }

    /// The customer cancels: payment refunds and delivery cancels.
    pub(crate) async fn cancel(
        &self,
        id: &str,
        customer: Option<&str>,
    ) -> Result<Booking, CommandError> {
        let now = clock::now();
        let cancel = |b: &Booking| b.request_cancel(now);
        self.checkout.command(id, customer, cancel).await
    }

    /// Policy: payment's or delivery's event `cause` moves its booking as `decide` says.
    pub(crate) async fn react<F>(&self, cause: &Cause, decide: F) -> Result<Booking, CommandError>
    where
        F: Fn(&Booking) -> Result<Vec<BookingEvent>, BookingError>,
    {
        self.checkout
            .change(cause.subject(), Some(cause), decide)
            .await
    }
}

#[cfg(test)]
mod tests;
