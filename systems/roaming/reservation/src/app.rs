//! The application service: the reservation use cases and the policies that react to the other
//! services' events. It owns the transactions (through the store port) and the synchronous
//! payment call.

use crate::adapters::outbound::stored::{
    BY_CUSTOMER, BY_IDEMPOTENCY_KEY, BY_STATUS, idempotency_key,
};
use crate::domain::catalog::{self, Booth, Country, DeviceModel};
use crate::domain::reservation::{
    FailureReason, Reservation, ReservationError, ReservationEvent, ReservationStatus, Terms,
};
use crate::domain::values::{CustomerId, IdempotencyKey, RentalPeriod, ValueError};
use crate::ports::{Clock, PaymentFailure, PaymentGateway, PaymentOutcome, PaymentState};
use kernel::Cause;
use kernel::aggregate::{ChangeError, Repository, StoreError};
use std::sync::Arc;
use std::time::Duration;
use time::Date;

/// A reservation request, parsed at the edge into domain values; only the period is checked
/// here, against today's date on the service's clock.
#[derive(Debug, Clone)]
pub struct ReserveCommand {
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
pub struct Choice {
    /// The device model.
    pub device_model: &'static DeviceModel,
    /// The destination.
    pub country: &'static Country,
    /// The pickup booth.
    pub booth: &'static Booth,
}

/// Why a reservation request did not produce a reservation.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    /// The request is invalid; `code` is stable, `message` says what to fix.
    #[error("{message}")]
    Invalid {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The card was declined; `code` is the payment's reason.
    #[error("the payment was declined: {code}")]
    Declined {
        /// `card_declined`, `insufficient_funds`, ...
        code: String,
        /// The failed reservation.
        reservation_id: String,
    },
    /// Payment is busy or unreachable: try again shortly.
    #[error("payment is busy, try again shortly")]
    PaymentBusy {
        /// When to retry.
        retry_after: Duration,
        /// The reservation left behind (failed, or pending reconciliation).
        reservation_id: String,
    },
    /// The earlier attempt with this idempotency key failed for good.
    #[error("the reservation made with this idempotency key failed ({reason}); use a new key")]
    KeyUsedUp {
        /// The failure code.
        reason: String,
    },
    /// The store or something else failed.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Why a command on an existing reservation failed.
pub type CommandError = ChangeError<ReservationError>;

/// At most this many reservations are listed for one customer.
const LIST_LIMIT: u32 = 10_000;

/// Tuning of the use cases.
#[derive(Debug, Clone)]
pub struct ReservationPolicy {
    /// Reservations pending payment longer than this are reconciled.
    pub reconcile_after: Duration,
}

/// The use cases.
pub struct ReservationService {
    store: Repository<Reservation>,
    payments: Arc<dyn PaymentGateway>,
    clock: Arc<dyn Clock>,
    policy: ReservationPolicy,
    changes: tokio::sync::broadcast::Sender<String>,
}

impl std::fmt::Debug for ReservationService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReservationService")
    }
}

/// A refusal of invalid input with its stable code.
pub fn invalid(code: &'static str, error: impl std::fmt::Display) -> ReserveError {
    ReserveError::Invalid {
        code,
        message: error.to_string(),
    }
}

/// A refusal of an invalid value.
pub fn value_error(error: ValueError) -> ReserveError {
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

/// Crash point: payment approved, reservation not yet updated.
pub const PAID_NOT_RECORDED: &str = "reservation.paid_not_recorded";

impl ReservationService {
    /// Wires the use cases to their ports.
    pub fn new(
        store: Repository<Reservation>,
        payments: Arc<dyn PaymentGateway>,
        clock: Arc<dyn Clock>,
        policy: ReservationPolicy,
    ) -> Self {
        Self {
            store,
            payments,
            clock,
            policy,
            changes: tokio::sync::broadcast::channel(1024).0,
        }
    }

    /// Ids of reservations as they change in this process (for watchers; a slow watcher may
    /// miss some and should look again).
    pub fn changes(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.changes.subscribe()
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

    /// Takes a reservation and pays for it synchronously.
    pub async fn reserve(&self, command: ReserveCommand) -> Result<Reservation, ReserveError> {
        let customer = command.customer.clone();
        let key = command.idempotency_key.clone();
        let terms = self.terms(&command)?;
        if let Some(key) = &key
            && let Some(existing) = self.by_idempotency_key(&customer, key).await?
            && let Some(settled) = self.resume(existing, &command.card_number).await?
        {
            return Ok(settled);
        }
        let id = uuid::Uuid::now_v7().to_string();
        let (reservation, events) =
            Reservation::request(id, customer.clone(), terms, key.clone(), self.clock.now());
        match self.store.create(&reservation, &events, None).await {
            Ok(()) => {
                let _ = self.changes.send(reservation.id.clone());
            }
            Err(StoreError::Duplicate { .. }) => {
                // A concurrent request with the same key won; answer as that one does.
                let key = key.expect("only keyed reservations collide");
                let existing = self
                    .by_idempotency_key(&customer, &key)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("idempotency key vanished"))?;
                return match self.resume(existing, &command.card_number).await? {
                    Some(settled) => Ok(settled),
                    None => Err(ReserveError::PaymentBusy {
                        retry_after: Duration::from_secs(1),
                        reservation_id: reservation.id,
                    }),
                };
            }
            Err(error) => return Err(ReserveError::Unknown(error.into())),
        }
        self.settle(reservation, &command.card_number).await
    }

    async fn by_idempotency_key(
        &self,
        customer: &CustomerId,
        key: &IdempotencyKey,
    ) -> anyhow::Result<Option<Reservation>> {
        self.store
            .find_unique(BY_IDEMPOTENCY_KEY, &idempotency_key(customer, key))
            .await
    }

    /// Picks up an earlier attempt made with the same idempotency key. `None` means that attempt
    /// failed only because payment was unavailable, so a fresh attempt may take its key.
    async fn resume(
        &self,
        existing: Reservation,
        card_number: &str,
    ) -> Result<Option<Reservation>, ReserveError> {
        match existing.status {
            ReservationStatus::PaymentPending => self.settle(existing, card_number).await.map(Some),
            ReservationStatus::ReserveFailed => match existing.failure {
                Some(FailureReason::PaymentUnavailable) => Ok(None),
                Some(FailureReason::Declined(code)) => Err(ReserveError::Declined {
                    code,
                    reservation_id: existing.id,
                }),
                Some(reason) => Err(ReserveError::KeyUsedUp {
                    reason: reason.code().to_owned(),
                }),
                None => Err(ReserveError::KeyUsedUp {
                    reason: "unknown".to_owned(),
                }),
            },
            _ => Ok(Some(existing)),
        }
    }

    /// Calls payment and records its answer.
    async fn settle(
        &self,
        reservation: Reservation,
        card_number: &str,
    ) -> Result<Reservation, ReserveError> {
        let id = reservation.id.clone();
        match self.payments.pay(&reservation, card_number).await {
            Ok(PaymentOutcome::Approved { payment_id }) => {
                // A crash here leaves a paid reservation pending: reconciliation confirms it.
                kernel::crash::point(PAID_NOT_RECORDED);
                let reserved = self
                    .mutate(&id, None, |r| r.confirm_payment(&payment_id))
                    .await
                    .map_err(command_to_reserve)?;
                Ok(reserved)
            }
            Ok(PaymentOutcome::Declined { reason }) => {
                self.mutate(&id, None, |r| {
                    r.fail(FailureReason::Declined(reason.clone()))
                })
                .await
                .map_err(command_to_reserve)?;
                Err(ReserveError::Declined {
                    code: reason,
                    reservation_id: id,
                })
            }
            Err(PaymentFailure::Unavailable { retry_after }) => {
                self.mutate(&id, None, |r| r.fail(FailureReason::PaymentUnavailable))
                    .await
                    .map_err(command_to_reserve)?;
                Err(ReserveError::PaymentBusy {
                    retry_after,
                    reservation_id: id,
                })
            }
            Err(PaymentFailure::Unknown { retry_after }) => {
                self.mutate(&id, None, Reservation::report_payment_unconfirmed)
                    .await
                    .map_err(command_to_reserve)?;
                Err(ReserveError::PaymentBusy {
                    retry_after,
                    reservation_id: id,
                })
            }
            Err(PaymentFailure::Voided) => {
                self.mutate(&id, None, |r| r.fail(FailureReason::PaymentTimedOut))
                    .await
                    .map_err(command_to_reserve)?;
                Err(ReserveError::KeyUsedUp {
                    reason: FailureReason::PaymentTimedOut.code().to_owned(),
                })
            }
        }
    }

    /// One reservation, if `customer` (when given) owns it.
    pub async fn get(&self, id: &str, customer: Option<&str>) -> Result<Reservation, CommandError> {
        self.store
            .get(id)
            .await?
            .filter(|r| customer.is_none_or(|c| c == r.customer.as_str()))
            .ok_or_else(|| CommandError::not_found::<Reservation>(id))
    }

    /// A customer's reservations, newest first.
    pub async fn list(&self, customer_id: &str) -> Result<Vec<Reservation>, ReserveError> {
        let customer = CustomerId::parse(customer_id).map_err(value_error)?;
        Ok(self
            .store
            .find(BY_CUSTOMER, customer.as_str(), LIST_LIMIT)
            .await?)
    }

    /// The customer asks to cancel: starts the cancel saga.
    pub async fn cancel(
        &self,
        id: &str,
        customer: Option<&str>,
    ) -> Result<Reservation, CommandError> {
        self.get(id, customer).await?;
        self.mutate(id, None, Reservation::request_cancel).await
    }

    /// The customer returns the device at the booth.
    pub async fn return_device(
        &self,
        id: &str,
        customer: Option<&str>,
    ) -> Result<Reservation, CommandError> {
        self.get(id, customer).await?;
        self.mutate(id, None, Reservation::return_device).await
    }

    /// Policy: the booth's or payment's event `cause` moves its reservation (the event's
    /// subject) as `decide` says.
    pub async fn react<F>(&self, cause: &Cause, decide: F) -> Result<Reservation, CommandError>
    where
        F: Fn(&Reservation) -> Result<Vec<ReservationEvent>, ReservationError>,
    {
        self.mutate(cause.subject(), Some(cause), decide).await
    }

    /// Settles reservations whose payment outcome stayed unknown: confirms those paid behind a
    /// crash, and voids (refunding if needed) those the customer was told to retry.
    pub async fn reconcile(&self) -> anyhow::Result<usize> {
        let before = self.clock.now() - self.policy.reconcile_after;
        let mut pending: Vec<Reservation> = self
            .store
            .find(
                BY_STATUS,
                ReservationStatus::PaymentPending.as_str(),
                LIST_LIMIT,
            )
            .await?
            .into_iter()
            .filter(|r| r.updated_at < before)
            .collect();
        pending.sort_by_key(|r| r.updated_at);
        pending.truncate(100);
        let mut settled = 0;
        for reservation in pending {
            let id = reservation.id.clone();
            let state = match self.payments.state(&id).await {
                Ok(state) => state,
                Err(error) => {
                    tracing::warn!(reservation = %id, error = format!("{error:#}"), "cannot reconcile yet");
                    continue;
                }
            };
            let result = match state {
                PaymentState::Approved { payment_id } if !reservation.payment_unconfirmed => {
                    self.mutate(&id, None, |r| r.confirm_payment(&payment_id))
                        .await
                }
                PaymentState::Declined { reason } => {
                    self.mutate(&id, None, |r| {
                        r.fail(FailureReason::Declined(reason.clone()))
                    })
                    .await
                }
                _ => match self.payments.void(&id).await {
                    Ok(PaymentState::Declined { reason }) => {
                        self.mutate(&id, None, |r| {
                            r.fail(FailureReason::Declined(reason.clone()))
                        })
                        .await
                    }
                    Ok(_) => {
                        self.mutate(&id, None, |r| r.fail(FailureReason::PaymentTimedOut))
                            .await
                    }
                    Err(error) => {
                        tracing::warn!(reservation = %id, error = format!("{error:#}"), "cannot void yet");
                        continue;
                    }
                },
            };
            match result {
                Ok(done) => {
                    tracing::info!(reservation = %id, status = done.status.as_str(), "reconciled a pending payment");
                    settled += 1;
                }
                Err(error) => tracing::warn!(reservation = %id, %error, "reconciliation failed"),
            }
        }
        Ok(settled)
    }

    /// Loads, decides and stores (the kernel decides again on fresh state when a concurrent
    /// change won), then tells watchers.
    async fn mutate<F>(
        &self,
        id: &str,
        cause: Option<&Cause>,
        decide: F,
    ) -> Result<Reservation, CommandError>
    where
        F: Fn(&Reservation) -> Result<Vec<ReservationEvent>, ReservationError>,
    {
        let reservation = self.store.update(id, cause, decide).await?;
        let _ = self.changes.send(reservation.id.clone());
        Ok(reservation)
    }
}

fn command_to_reserve(error: CommandError) -> ReserveError {
    match error {
        CommandError::Unknown(error) => ReserveError::Unknown(error),
        other => ReserveError::Unknown(anyhow::anyhow!("{other}")),
    }
}

#[cfg(test)]
mod tests;
