//! The application service: the reservation use cases and the policies that react to the other
//! services' events. It owns the transactions (through the store port) and the synchronous
//! payment call.

use crate::adapters::outbound::stored::{BY_CUSTOMER, idempotency_key};
use crate::domain::catalog::{self, Booth, Country, DeviceModel};
use crate::domain::reservation::{Reservation, ReservationError, ReservationEvent, Terms};
use crate::domain::values::{CustomerId, IdempotencyKey, RentalPeriod, ValueError};
use crate::ports::Clock;
use kernel::Cause;
use kernel::aggregate::ChangeError;
use payment_contracts::checkout::{Checkout, OrderError};
use std::sync::Arc;
use time::Date;

/// A reservation request, parsed at the edge into domain values; only the period is checked
/// here, against today's date on the service's clock.
#[derive(Debug, Clone)]
pub(crate) struct ReserveCommand {
    /// Who reserves.
    pub customer: CustomerId,
    /// The device model, the destination and the pickup booth, from the catalog.
    pub choice: Choice,
    /// Pickup and due-back days, not yet checked against today.
    pub days: (Date, Date),
    /// Card to pay with: 12 to 19 digits.
    pub card_number: String,
    /// Client key that makes retries safe.
    pub idempotency_key: Option<IdempotencyKey>,
}

/// What the customer chose from the catalog.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Choice {
    /// The device model.
    pub device_model: &'static DeviceModel,
    /// The destination.
    pub country: &'static Country,
    /// The pickup booth.
    pub booth: &'static Booth,
}

/// Why a reservation request did not produce a reservation: invalid input, or checkout.
pub(crate) type ReserveError = OrderError;

/// Why a command on an existing reservation failed.
pub(crate) type CommandError = ChangeError<ReservationError>;

/// At most this many reservations are listed for one customer.
const LIST_LIMIT: u32 = 10_000;

/// The use cases.
pub(crate) struct ReservationService {
    checkout: Arc<Checkout<Reservation>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ReservationService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReservationService")
    }
}

/// A refusal of invalid input with its stable code.
pub(crate) fn invalid(code: &'static str, error: impl std::fmt::Display) -> ReserveError {
    ReserveError::invalid(code, error)
}

/// A refusal of an invalid value.
pub(crate) fn value_error(error: ValueError) -> ReserveError {
    let code = match error {
        ValueError::BadCustomerId => "invalid_customer_id",
        ValueError::RentalDateInPast(_) => "rental_date_in_past",
        ValueError::ReturnNotAfterRental => "return_before_rental",
        ValueError::TooLong { .. } => "rental_too_long",
        ValueError::BadDate { .. } => "invalid_date",
        ValueError::BadIdempotencyKey => "invalid_idempotency_key",
    };
    invalid(code, error)
}

impl ReservationService {
    /// Wires the use cases to their ports.
    pub(crate) fn new(checkout: Arc<Checkout<Reservation>>, clock: Arc<dyn Clock>) -> Self {
        Self { checkout, clock }
    }

    /// Ids of reservations as they change in this process (for watchers; a slow watcher may
    /// miss some and should look again).
    pub(crate) fn changes(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.checkout.changes()
    }

    fn terms(&self, command: &ReserveCommand) -> Result<Terms, ReserveError> {
        let (rental_date, return_date) = command.days;
        let period =
            RentalPeriod::new(rental_date, return_date, self.clock.today()).map_err(value_error)?;
        let Choice {
            device_model,
            country,
            booth,
        } = command.choice;
        Ok(Terms {
            device_model,
            country,
            period,
            booth,
            amount: catalog::price(device_model, &period),
        })
    }

    /// Takes a reservation and pays for it synchronously (see [`Checkout`]).
    pub(crate) async fn reserve(
        &self,
        command: ReserveCommand,
    ) -> Result<Reservation, ReserveError> {
        let terms = self.terms(&command)?;
        let key = command.idempotency_key.as_ref();
        let (reservation, events) = Reservation::request(
            uuid::Uuid::now_v7().to_string(),
            command.customer.clone(),
            terms,
            key.cloned(),
            self.clock.now(),
        );
        let key = key.map(|key| idempotency_key(&command.customer, key));
        Ok(self
            .checkout
            .start(reservation, &events, key.as_deref(), &command.card_number)
            .await?)
    }

    /// One reservation, if `customer` (when given) owns it.
    pub(crate) async fn get(
        &self,
        id: &str,
        customer: Option<&str>,
    ) -> Result<Reservation, CommandError> {
        let visible = |r: &Reservation| customer.is_none_or(|c| c == r.customer.as_str());
        self.checkout.store().get_visible(id, visible).await
    }

    /// A customer's reservations, newest first.
    pub(crate) async fn list(&self, customer_id: &str) -> Result<Vec<Reservation>, ReserveError> {
        let customer = CustomerId::parse(customer_id).map_err(value_error)?;
        Ok(self
            .checkout
            .store()
            .find(BY_CUSTOMER, customer.as_str(), LIST_LIMIT)
            .await?)
    }

    /// The customer asks to cancel: starts the cancel saga.
    pub(crate) async fn cancel(
        &self,
        id: &str,
        customer: Option<&str>,
    ) -> Result<Reservation, CommandError> {
        self.get(id, customer).await?;
        self.mutate(id, None, Reservation::request_cancel).await
    }

    /// The customer returns the device at the booth.
    pub(crate) async fn return_device(
        &self,
        id: &str,
        customer: Option<&str>,
    ) -> Result<Reservation, CommandError> {
        self.get(id, customer).await?;
        self.mutate(id, None, Reservation::return_device).await
    }

    /// Policy: the booth's or payment's event `cause` moves its reservation (the event's
    /// subject) as `decide` says.
    pub(crate) async fn react<F>(
        &self,
        cause: &Cause,
        decide: F,
    ) -> Result<Reservation, CommandError>
    where
        F: Fn(&Reservation) -> Result<Vec<ReservationEvent>, ReservationError>,
    {
        self.mutate(cause.subject(), Some(cause), decide).await
    }

    async fn mutate<F>(
        &self,
        id: &str,
        cause: Option<&Cause>,
        decide: F,
    ) -> Result<Reservation, CommandError>
    where
        F: Fn(&Reservation) -> Result<Vec<ReservationEvent>, ReservationError>,
    {
        self.checkout.change(id, cause, decide).await
    }
}

#[cfg(test)]
mod tests;
