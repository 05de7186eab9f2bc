//! Rental's use cases: rent (from the catalog replica; the customer's idempotency key honoured),
//! list, one, cancel (delivery first, synchronously), return; the policies that follow delivery
//! and keep the catalog replica.

use crate::adapters::outbound::stored::{BY_IDEMPOTENCY_KEY, CATALOG};
use crate::domain::catalog::{CatalogEntry, CatalogEvent};
use crate::domain::rental::{Item, Order, Period, Rental, RentalError, RentalEvent};
use async_trait::async_trait;
use kernel::aggregate::{ChangeError, Repository, StoreError};
use kernel::remote::{Answer, RemoteFailure};
use kernel::{Cause, clock};
use office_contracts::ProductRegistered;
use std::sync::Arc;
use std::time::Duration;

/// Delivery's cancel command, as rental needs it (idempotent by rental id).
#[async_trait]
pub(crate) trait Deliveries: Send + Sync + 'static {
    /// Cancels the delivery of `rental_id` (its stock restored once).
    async fn cancel(&self, rental_id: &str, customer_id: &str)
    -> Result<Answer<()>, RemoteFailure>;
}

/// Why a command on a rental failed.
pub(crate) type CommandError = ChangeError<RentalError>;

/// Why a rent or cancel did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RentError {
    /// Rental has not heard of the product.
    #[error("product {0} is not in the catalog (GET /api/products)")]
    UnknownProduct(String),
    /// Delivery is slow, down or its breaker open: nothing changed; try again later.
    #[error("delivery is busy; the rental is unchanged, try again later")]
    DeliveryBusy {
        /// When to try again.
        retry_after: Duration,
    },
    /// Delivery refused the cancel with this code.
    #[error("delivery refused the cancel: {0}")]
    Refused(String),
    /// The rules or the store refused it.
    #[error(transparent)]
    Change(#[from] CommandError),
}

impl From<StoreError> for RentError {
    fn from(error: StoreError) -> Self {
        Self::Change(error.into())
    }
}

impl From<anyhow::Error> for RentError {
    fn from(error: anyhow::Error) -> Self {
        Self::Change(ChangeError::Unknown(error))
    }
}

/// A rental request, parsed at the edge.
#[derive(Debug, Clone)]
pub(crate) struct RentCommand {
    /// Who rents.
    pub customer_id: String,
    /// Which product.
    pub product_id: String,
    /// Units.
    pub qty: u32,
    /// When.
    pub period: Period,
    /// The client's idempotency key.
    pub idempotency_key: Option<String>,
}

/// The use cases.
pub(crate) struct RentalService {
    rentals: Repository<Rental>,
    catalog: Repository<CatalogEntry>,
    delivery: Arc<dyn Deliveries>,
}

impl std::fmt::Debug for RentalService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RentalService").finish_non_exhaustive()
    }
}

/// The customer's day: Asia/Seoul.
fn today() -> time::Date {
    (clock::now() + time::Duration::hours(9)).date()
}

impl RentalService {
    /// Wires the use cases to their stores (the catalog generational, for rebuilds) and delivery.
    pub(crate) fn new(
        rentals: Repository<Rental>,
        catalog: Repository<CatalogEntry>,
        delivery: Arc<dyn Deliveries>,
    ) -> Self {
        Self {
            rentals,
            catalog,
            delivery,
        }
    }

    /// Rents (렌탈 주문): the name and rate from the replica; the same key rents once.
    pub(crate) async fn rent(&self, command: RentCommand) -> Result<Rental, RentError> {
        let key = command
            .idempotency_key
            .map(|key| format!("{}/{key}", command.customer_id));
        let entry = self
            .catalog
            .get(&command.product_id)
            .await?
            .ok_or_else(|| RentError::UnknownProduct(command.product_id.clone()))?;
        let item = Item {
            product_id: entry.id,
            product_name: entry.name,
            daily_rate: entry.daily_rate,
            qty: command.qty,
        };
        let order = Order {
            customer_id: command.customer_id,
            item,
            period: command.period,
            idempotency_key: key.clone(),
        };
        let id = uuid::Uuid::now_v7().to_string();
        let (rental, events) = Rental::order(id, order, today(), clock::now())
            .map_err(|e| RentError::Change(ChangeError::Rejected(e)))?;
        let key = key.as_deref().map(|key| (BY_IDEMPOTENCY_KEY, key));
        Ok(self.rentals.create_once(rental, &events, key).await?)
    }

    /// The rentals (for the list's routes).
    pub(crate) fn rentals(&self) -> Repository<Rental> {
        self.rentals.clone()
    }

    /// Rental `id`, if `customer` (when given) rents it.
    pub(crate) async fn get(
        &self,
        id: &str,
        customer: Option<&str>,
    ) -> Result<Rental, CommandError> {
        let visible = |r: &Rental| customer.is_none_or(|c| c == r.customer_id);
        self.rentals.get_visible(id, visible).await
    }

    /// The customer cancels: delivery cancels first (synchronously, by rental id) and only then
    /// is the rental canceled. Delivery busy or its answer lost: nothing changes here and the
    /// caller is told to retry; if delivery did cancel, its `delivery_canceled` event completes
    /// the cancel (the event is the reconciliation: delivery's state by key, through its outbox).
    pub(crate) async fn cancel(
        &self,
        id: &str,
        customer: Option<&str>,
    ) -> Result<Rental, RentError> {
        let rental = self.get(id, customer).await?;
        if !rental
            .may_cancel()
            .map_err(|e| RentError::Change(ChangeError::Rejected(e)))?
        {
            return Ok(rental);
        }
        match self.delivery.cancel(id, &rental.customer_id).await {
            Ok(Answer::Done(())) => Ok(self.rentals.update(id, None, Rental::cancel).await?),
            Ok(Answer::Refused(code)) if code == "already_delivered" => Err(RentError::Change(
                ChangeError::Rejected(RentalError::AlreadyDelivered),
            )),
            Ok(Answer::Refused(code)) => Err(RentError::Refused(code)),
            Err(
                RemoteFailure::Unavailable { retry_after } | RemoteFailure::Unknown { retry_after },
            ) => Err(RentError::DeliveryBusy { retry_after }),
        }
    }

    /// The customer gives the delivered products back.
    pub(crate) async fn request_return(
        &self,
        id: &str,
        customer: Option<&str>,
    ) -> Result<Rental, CommandError> {
        self.get(id, customer).await?;
        self.rentals.update(id, None, Rental::request_return).await
    }

    /// Policy: delivery's event `cause` moves its rental as `decide` says.
    pub(crate) async fn follow<F>(&self, cause: &Cause, decide: F) -> Result<Rental, CommandError>
    where
        F: Fn(&Rental) -> Result<Vec<RentalEvent>, RentalError>,
    {
        self.rentals
            .update(cause.subject(), Some(cause), decide)
            .await
    }

    /// The catalog replica (for the replica's policies and page).
    pub(crate) fn catalog(&self) -> Catalog {
        Catalog(self.catalog.clone())
    }
}

/// Rental's replica of the catalog, kept in generations so that `msa replay` rebuilds it from
/// the start of the stream.
#[derive(Debug, Clone)]
pub(crate) struct Catalog(pub Repository<CatalogEntry>);

impl Catalog {
    /// Policy: a registered product is listed with its name and rate.
    pub(crate) async fn list(
        &self,
        e: ProductRegistered,
        cause: &Cause,
    ) -> Result<CatalogEntry, ChangeError<std::convert::Infallible>> {
        let listed = CatalogEvent::Listed {
            name: e.name,
            daily_rate: e.daily_rate,
        };
        let init = || CatalogEntry::unheard(&e.product_id);
        self.0
            .upsert(&e.product_id, Some(cause), init, |_| {
                Ok(vec![listed.clone()])
            })
            .await
    }

    /// Every product rental has heard of.
    pub(crate) async fn entries(&self) -> anyhow::Result<Vec<CatalogEntry>> {
        self.0.find(CATALOG, "", 1_000).await
    }
}

#[cfg(test)]
mod tests;
