//! Checkout: how a caller's order is paid synchronously, written once for every system that takes
//! money (roaming's reservation, booking's booking, cafeteria's order).
//!
//! The order is stored pending payment with its first event, then payment is called behind the
//! guarded remote command, keyed by the order reference:
//! - approved → the order's `paid` decision; declined → `unpaid(Declined)`, answered as
//!   [`CheckoutError::Declined`];
//! - payment certainly not reached (breaker open, refused) → `unpaid(Unavailable)`: nothing was
//!   charged, the client's idempotency key is released for a fresh attempt;
//! - outcome unknown (timeout) → `unconfirmed`, answered as [`CheckoutError::Busy`]; the
//!   [`Checkout::reconcile`] task later asks payment and settles the order: an approval behind a
//!   crash is confirmed; an order whose customer was told to retry is voided (refunding a late
//!   approval). No order is paid without its payment, and no payment survives without its order.
//!
//! A repeated request with the same client idempotency key answers as the first did.

use crate::api::PaymentRequest;
use crate::client::{PaymentFailure, PaymentOutcome, PaymentState, Payments};
use kernel::Cause;
use kernel::aggregate::{Aggregate, ChangeError, Key, Repository, StoreError};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Index of orders waiting for their payment (scored so that the longest waiting come first).
pub const PENDING: &str = "status";
/// The value of [`PENDING`].
pub const PENDING_VALUE: &str = "PaymentPending";
/// Unique key of an order by its client's idempotency key.
pub const BY_IDEMPOTENCY_KEY: &str = "idempotency";
/// Crash point: payment approved, the order not yet updated.
pub const PAID_NOT_RECORDED: &str = "checkout.paid_not_recorded";

/// How often and after how long orders pending payment are reconciled.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReconcileSettings {
    /// An order pending payment this long (ms) is reconciled.
    pub after_ms: u64,
    /// How often the reconciler looks, in milliseconds.
    pub every_ms: u64,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        Self {
            after_ms: 10_000,
            every_ms: 2_000,
        }
    }
}

/// The settings of a service that pays through checkout: `[payment]` (the guarded remote
/// command) and `[reconcile]`; flattened into the service's settings.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CheckoutSettings {
    /// The payment service.
    #[serde(default)]
    pub payment: kernel::remote::RemoteSettings,
    /// The payment reconciler.
    #[serde(default)]
    pub reconcile: ReconcileSettings,
}

/// The settings of a service that takes payments: what every service has, and checkout's.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PayingSettings {
    /// What every service has.
    #[serde(flatten)]
    pub service: kernel::ServiceSettings,
    /// Payment and its reconciler.
    #[serde(flatten)]
    pub checkout: CheckoutSettings,
}

/// Why an order was not paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unpaid {
    /// The card was declined (payment's reason code).
    Declined(String),
    /// Payment was unavailable; nothing was charged.
    Unavailable,
    /// The outcome stayed unknown and the order was voided.
    TimedOut,
}

/// Where an order stands with its payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Waiting for payment's answer; `unconfirmed` once the customer was told to retry.
    Pending {
        /// The outcome could not be learned in time.
        unconfirmed: bool,
    },
    /// Not paid, for good.
    Failed(Unpaid),
    /// Paid (and whatever came after).
    Settled,
}

/// What checkout needs of a caller's order aggregate (implemented in the caller's adapters, next
/// to its `impl Aggregate`, mapping onto its domain commands).
pub trait Payable: Aggregate {
    /// The domain's refusal of a command.
    type Refusal: std::fmt::Display + Send + Sync + 'static;
    /// Who pays, and how much (KRW).
    fn bill(&self) -> (String, i64);
    /// Where the order stands with its payment.
    fn progress(&self) -> Progress;
    /// When the order last changed.
    fn changed_at(&self) -> OffsetDateTime;
    /// Payment approved.
    fn paid(&self, payment_id: &str) -> Result<Vec<Self::Event>, Self::Refusal>;
    /// Not paid, for good.
    fn unpaid(&self, why: &Unpaid) -> Result<Vec<Self::Event>, Self::Refusal>;
    /// The outcome could not be learned in time.
    fn unconfirmed(&self) -> Result<Vec<Self::Event>, Self::Refusal>;
}

/// The checkout keys of `order` (for its `Aggregate::keys`): pending payment, and its client
/// idempotency key unless a fresh attempt may take it.
pub fn keys<A: Payable>(order: &A, idempotency_key: Option<String>) -> Vec<Key> {
    let mut keys = Vec::new();
    let progress = order.progress();
    if let Progress::Pending { .. } = progress {
        let age = -(order.changed_at().unix_timestamp_nanos() / 1_000_000) as i64;
        keys.push(Key::index(PENDING, PENDING_VALUE).scored(age));
    }
    if progress != Progress::Failed(Unpaid::Unavailable)
        && let Some(key) = idempotency_key
    {
        keys.push(Key::unique(BY_IDEMPOTENCY_KEY, key));
    }
    keys
}

/// Why checkout did not produce a paid order.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// The card was declined; `code` is payment's reason.
    #[error("the payment was declined: {code}")]
    Declined {
        /// `card_declined`, `insufficient_funds`, ...
        code: String,
        /// The failed order.
        order_id: String,
    },
    /// Payment is busy or unreachable: try again shortly.
    #[error("payment is busy, try again shortly")]
    Busy {
        /// When to retry.
        retry_after: Duration,
        /// The order left behind (failed, or pending reconciliation).
        order_id: String,
    },
    /// A counter the order takes from (seats, stock) has not enough left: nothing was stored or
    /// charged.
    #[error("not enough {counter} left for {key}")]
    Exhausted {
        /// The counter.
        counter: &'static str,
        /// Which one.
        key: String,
    },
    /// The earlier attempt with this idempotency key failed for good.
    #[error("the order made with this idempotency key failed ({reason}); use a new key")]
    KeyUsedUp {
        /// The failure code.
        reason: String,
    },
    /// The store or something else failed.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl Unpaid {
    /// The reason a stored failure `code` names (the inverse of [`Self::code`]).
    pub fn parse(code: Option<&str>) -> Self {
        match code {
            Some("payment_unavailable") => Self::Unavailable,
            Some("payment_timeout") => Self::TimedOut,
            code => Self::Declined(code.unwrap_or_default().to_owned()),
        }
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        match self {
            Self::Declined(code) => code,
            Self::Unavailable => "payment_unavailable",
            Self::TimedOut => "payment_timeout",
        }
    }
}

/// Pays orders of kind `A` and reconciles unknown outcomes; tells watchers which orders changed.
pub struct Checkout<A: Payable> {
    store: Repository<A>,
    payments: Arc<dyn Payments>,
    changes: tokio::sync::broadcast::Sender<String>,
}

impl<A: Payable> std::fmt::Debug for Checkout<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Checkout<{}>", A::KIND)
    }
}

fn unknown<E: std::fmt::Display>(error: ChangeError<E>) -> CheckoutError {
    match error {
        ChangeError::Unknown(error) => CheckoutError::Unknown(error),
        other => CheckoutError::Unknown(anyhow::anyhow!("{other}")),
    }
}

impl<A: Payable> Checkout<A> {
    /// Checkout over the orders in `store`, paying through `payments`.
    pub fn new(store: Repository<A>, payments: Arc<dyn Payments>) -> Self {
        Self {
            store,
            payments,
            changes: tokio::sync::broadcast::channel(1024).0,
        }
    }

    /// Checkout for `service` over the orders in `store`: pays through payment's HTTP API (its
    /// breaker on the status page) and reconciles on schedule with the kernel's clock.
    pub fn serve(
        service: kernel::Service,
        store: Repository<A>,
        settings: &CheckoutSettings,
    ) -> anyhow::Result<(kernel::Service, Arc<Self>)> {
        let (service, payments) = service.remote("payment", &settings.payment)?;
        let checkout = Arc::new(Self::new(
            store,
            Arc::new(crate::client::HttpPayments(payments)),
        ));
        let reconciler = checkout.clone();
        let after = Duration::from_millis(settings.reconcile.after_ms);
        let every = Duration::from_millis(settings.reconcile.every_ms);
        let service = service.every(every, "reconciliation", move || {
            let reconciler = reconciler.clone();
            async move {
                let before = kernel::clock::now() - after;
                reconciler.reconcile(before).await.map(|_| ())
            }
        });
        Ok((service, checkout))
    }

    /// Opens service `name` on the store its settings name, with checkout over its orders (see
    /// [`Self::serve`]).
    pub async fn open(
        name: &str,
        settings: &PayingSettings,
    ) -> anyhow::Result<(kernel::Service, Arc<Self>)> {
        let (service, storage) = kernel::Service::open(name, settings.service.clone()).await?;
        Self::serve(service, storage.repository(), &settings.checkout)
    }

    /// The orders.
    pub fn store(&self) -> &Repository<A> {
        &self.store
    }

    /// Ids of orders as they change in this process (for watchers; a slow watcher may miss
    /// some and should look again).
    pub fn changes(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    /// Changes order `id` as `decide` says (deciding again on fresh state after a conflict), and
    /// tells watchers.
    pub async fn change<F>(
        &self,
        id: &str,
        cause: Option<&Cause>,
        decide: F,
    ) -> Result<A, ChangeError<A::Refusal>>
    where
        F: Fn(&A) -> Result<Vec<A::Event>, A::Refusal>,
    {
        let order = self.store.update(id, cause, decide).await?;
        let _ = self.changes.send(order.id().to_owned());
        Ok(order)
    }

    /// Stores `order` (new, pending payment, with its first `events`) and pays for it with
    /// `card_number`. With an `idempotency_key` (the value of [`BY_IDEMPOTENCY_KEY`] that
    /// `order` declares), an earlier attempt with the same key is answered or resumed instead.
    pub async fn start(
        &self,
        order: A,
        events: &[A::Event],
        idempotency_key: Option<&str>,
        card_number: &str,
    ) -> Result<A, CheckoutError> {
        if let Some(key) = idempotency_key
            && let Some(existing) = self.store.find_unique(BY_IDEMPOTENCY_KEY, key).await?
            && let Some(settled) = self.resume(existing, card_number).await?
        {
            return Ok(settled);
        }
        match self.store.create(&order, events, None).await {
            Ok(()) => {
                let _ = self.changes.send(order.id().to_owned());
            }
            Err(StoreError::Duplicate { .. }) if idempotency_key.is_some() => {
                // A concurrent request with the same key won; answer as that one does.
                let existing = self
                    .store
                    .find_unique(BY_IDEMPOTENCY_KEY, idempotency_key.unwrap_or_default())
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("idempotency key vanished"))?;
                return match self.resume(existing, card_number).await? {
                    Some(settled) => Ok(settled),
                    None => Err(CheckoutError::Busy {
                        retry_after: Duration::from_secs(1),
                        order_id: order.id().to_owned(),
                    }),
                };
            }
            Err(StoreError::Exhausted { counter, key }) => {
                return Err(CheckoutError::Exhausted { counter, key });
            }
            Err(error) => return Err(CheckoutError::Unknown(error.into())),
        }
        self.settle(order, card_number).await
    }

    /// Picks up an earlier attempt made with the same idempotency key. `None` means that attempt
    /// failed only because payment was unavailable, so a fresh attempt may take its key.
    async fn resume(&self, existing: A, card_number: &str) -> Result<Option<A>, CheckoutError> {
        match existing.progress() {
            Progress::Pending { .. } => self.settle(existing, card_number).await.map(Some),
            Progress::Failed(Unpaid::Unavailable) => Ok(None),
            Progress::Failed(Unpaid::Declined(code)) => Err(CheckoutError::Declined {
                code,
                order_id: existing.id().to_owned(),
            }),
            Progress::Failed(why) => Err(CheckoutError::KeyUsedUp {
                reason: why.code().to_owned(),
            }),
            Progress::Settled => Ok(Some(existing)),
        }
    }

    /// Calls payment and records its answer.
    async fn settle(&self, order: A, card_number: &str) -> Result<A, CheckoutError> {
        let id = order.id().to_owned();
        let (customer_id, amount) = order.bill();
        let request = PaymentRequest {
            order_id: id.clone(),
            customer_id,
            amount,
            card_number: card_number.to_owned(),
        };
        let (why, busy) = match self.payments.pay(&request).await {
            Ok(PaymentOutcome::Approved { payment_id }) => {
                // A crash here leaves a paid order pending: reconciliation confirms it.
                kernel::crash::point(PAID_NOT_RECORDED);
                return match self.change(&id, None, |o| o.paid(&payment_id)).await {
                    Err(ChangeError::Rejected(_)) => self.settled_meanwhile(&id, None).await,
                    other => other.map_err(unknown),
                };
            }
            Ok(PaymentOutcome::Declined { reason }) => (Unpaid::Declined(reason), None),
            Err(PaymentFailure::Unavailable { retry_after }) => {
                (Unpaid::Unavailable, Some(retry_after))
            }
            Err(PaymentFailure::Unknown { retry_after }) => {
                return match self.change(&id, None, A::unconfirmed).await {
                    Ok(_) => Err(CheckoutError::Busy {
                        retry_after,
                        order_id: id,
                    }),
                    Err(ChangeError::Rejected(_)) => {
                        self.settled_meanwhile(&id, Some(retry_after)).await
                    }
                    Err(error) => Err(unknown(error)),
                };
            }
            Err(PaymentFailure::Voided) => (Unpaid::TimedOut, None),
        };
        match self.change(&id, None, |o| o.unpaid(&why)).await {
            Ok(_) => {}
            Err(ChangeError::Rejected(_)) => return self.settled_meanwhile(&id, busy).await,
            Err(error) => return Err(unknown(error)),
        }
        Err(match (why, busy) {
            (_, Some(retry_after)) => CheckoutError::Busy {
                retry_after,
                order_id: id,
            },
            (Unpaid::Declined(code), None) => CheckoutError::Declined { code, order_id: id },
            (why, None) => CheckoutError::KeyUsedUp {
                reason: why.code().to_owned(),
            },
        })
    }

    /// The answer for an order that reconciliation settled while this request was still waiting
    /// for payment (a slow answer on a loaded machine), so that the request's own record of the
    /// outcome no longer applies: the order as it stands now, never an internal error.
    async fn settled_meanwhile(
        &self,
        id: &str,
        retry_after: Option<Duration>,
    ) -> Result<A, CheckoutError> {
        let order = self
            .store
            .get(id)
            .await
            .map_err(CheckoutError::Unknown)?
            .ok_or_else(|| CheckoutError::Unknown(anyhow::anyhow!("order {id} vanished")))?;
        let retry_after = retry_after.unwrap_or(Duration::from_secs(1));
        match order.progress() {
            Progress::Settled => Ok(order),
            Progress::Failed(Unpaid::Declined(code)) => Err(CheckoutError::Declined {
                code,
                order_id: id.to_owned(),
            }),
            // Failed for want of payment's answer (a retry makes a fresh attempt), or still
            // pending: the customer tries again shortly.
            _ => Err(CheckoutError::Busy {
                retry_after,
                order_id: id.to_owned(),
            }),
        }
    }

    /// Settles orders pending payment since before `before` (at most 100 a call, the longest
    /// waiting first): confirms those paid behind a crash, fails the declined, and voids (refunding
    /// if needed) those the customer was told to retry. Returns how many were settled.
    pub async fn reconcile(&self, before: OffsetDateTime) -> anyhow::Result<usize> {
        let pending = self.store.find(PENDING, PENDING_VALUE, 100).await?;
        let mut settled = 0;
        for order in pending.into_iter().filter(|o| o.changed_at() < before) {
            let id = order.id().to_owned();
            let state = match self.payments.state(&id).await {
                Ok(state) => state,
                Err(error) => {
                    tracing::warn!(order = %id, error = format!("{error:#}"), "cannot reconcile yet");
                    continue;
                }
            };
            let unconfirmed = order.progress() == Progress::Pending { unconfirmed: true };
            let result = match state {
                PaymentState::Approved { payment_id } if !unconfirmed => {
                    self.change(&id, None, |o| o.paid(&payment_id)).await
                }
                PaymentState::Declined { reason } => {
                    let why = Unpaid::Declined(reason);
                    self.change(&id, None, |o| o.unpaid(&why)).await
                }
                _ => match self.payments.void(&id).await {
                    Ok(voided) => {
                        let why = match voided {
                            PaymentState::Declined { reason } => Unpaid::Declined(reason),
                            _ => Unpaid::TimedOut,
                        };
                        self.change(&id, None, |o| o.unpaid(&why)).await
                    }
                    Err(error) => {
                        tracing::warn!(order = %id, error = format!("{error:#}"), "cannot void yet");
                        continue;
                    }
                },
            };
            match result {
                Ok(_) => {
                    tracing::info!(order = %id, "reconciled a pending payment");
                    settled += 1;
                }
                Err(error) => tracing::warn!(order = %id, %error, "reconciliation failed"),
            }
        }
        Ok(settled)
    }
}

/// Why a request for an order produced none: its input was refused before anything was stored,
/// or checkout did not produce a paid order.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// The request is invalid; `code` is stable, `message` says what to fix.
    #[error("{message}")]
    Invalid {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Checkout did not produce a paid order (sold out included).
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
}

impl OrderError {
    /// A refusal of invalid input with its stable code.
    pub fn invalid(code: &'static str, message: impl std::fmt::Display) -> Self {
        Self::Invalid {
            code,
            message: message.to_string(),
        }
    }
}

impl From<anyhow::Error> for OrderError {
    fn from(error: anyhow::Error) -> Self {
        Self::Checkout(CheckoutError::Unknown(error))
    }
}

impl From<OrderError> for kernel::http::ApiError {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::Invalid { code, message } => Self::unprocessable(code, message),
            OrderError::Checkout(error) => error.into(),
        }
    }
}

impl From<CheckoutError> for kernel::http::ApiError {
    fn from(error: CheckoutError) -> Self {
        use kernel::http::ApiError;
        match error {
            CheckoutError::Declined { code, order_id } => {
                let message = format!("the payment was declined ({code}); {order_id} was not made");
                ApiError::payment_required(code, message)
            }
            CheckoutError::Busy { retry_after, .. } => ApiError::unavailable(
                "payment_busy",
                "payment is busy, try again shortly",
                retry_after.as_secs().max(1),
            ),
            CheckoutError::Exhausted { .. } => ApiError::conflict("sold_out", error.to_string()),
            // The key's first use failed for good: what it would create exists (as a failure).
            CheckoutError::KeyUsedUp { reason } => ApiError::already_exists(
                "idempotency_key_used",
                format!(
                    "the order made with this Idempotency-Key failed ({reason}); send a new key"
                ),
            ),
            CheckoutError::Unknown(error) => ApiError::internal(error),
        }
    }
}
