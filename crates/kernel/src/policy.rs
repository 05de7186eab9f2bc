//! A service's reactions to other services' events, declared in one table:
//!
//! ```ignore
//! Policies::new(app)
//!     .on(|app, event: contract::Reserved, cause| async move { app.accept(event, &cause).await })
//!     .on(|app, _: contract::Returned, cause| async move { app.note_returned(&cause).await })
//! ```
//!
//! The table is the subscription list; decoding happens here, at the edge, so application code
//! receives contract types and an opaque [`Cause`], never the envelope.

use crate::aggregate::{Cause, ChangeError, StoreError};
use crate::consumer::{EventHandler, HandleError};
use crate::envelope::{Envelope, IntegrationEvent, type_in};
use crate::model::Contract;
use async_trait::async_trait;
use futures_util::future::BoxFuture;
use std::future::Future;
use std::sync::Arc;

/// What a policy's result means for the delivery: done, ignored (acknowledged with a warning),
/// or failed (retried, then parked as a dead letter).
pub trait Outcome {
    /// The delivery's fate.
    fn handled(self, event: &Envelope) -> Result<(), HandleError>;
}

impl Outcome for anyhow::Result<()> {
    fn handled(self, _event: &Envelope) -> Result<(), HandleError> {
        self.map_err(HandleError::from)
    }
}

fn ignored(event: &Envelope, reason: &dyn std::fmt::Display) -> Result<(), HandleError> {
    // The event does not apply to the state as it stands (a refund for something never paid):
    // it is recorded in the log, not retried.
    tracing::warn!(subject = %event.subject, event_type = %event.event_type, %reason, "event ignored");
    Ok(())
}

impl<T, E: std::fmt::Display> Outcome for Result<T, ChangeError<E>> {
    fn handled(self, event: &Envelope) -> Result<(), HandleError> {
        match self {
            Ok(_) => Ok(()),
            Err(ChangeError::Rejected(reason)) => ignored(event, &reason),
            Err(error @ (ChangeError::Exhausted { .. } | ChangeError::Duplicate { .. })) => {
                ignored(event, &error)
            }
            Err(ChangeError::NotFound { kind, id }) => Err(HandleError::Transient(
                anyhow::anyhow!("event {} is about unknown {kind} {id}", event.id),
            )),
            Err(ChangeError::Unknown(error)) => Err(HandleError::Transient(error)),
        }
    }
}

impl Outcome for Result<(), StoreError> {
    fn handled(self, event: &Envelope) -> Result<(), HandleError> {
        match self {
            Ok(()) | Err(StoreError::AlreadyHandled) => Ok(()),
            // The inbox was checked first, so this is another event colliding on the id or a
            // unique key (an aggregate already made from another delivery of the same fact).
            Err(error @ (StoreError::Exhausted { .. } | StoreError::Duplicate { .. })) => {
                ignored(event, &error)
            }
            Err(error) => Err(HandleError::Transient(error.into())),
        }
    }
}

type Handler<S> =
    Box<dyn Fn(Arc<S>, &Envelope) -> BoxFuture<'static, Result<(), HandleError>> + Send + Sync>;

/// The policy table of a service whose application is `S`.
pub struct Policies<S> {
    app: Arc<S>,
    table: Vec<(Contract, Handler<S>)>,
}

impl<S> std::fmt::Debug for Policies<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.table.iter().map(|(contract, _)| contract.event_type))
            .finish()
    }
}

impl<S: Send + Sync + 'static> Policies<S> {
    /// An empty table over `app`.
    pub fn new(app: Arc<S>) -> Self {
        Self {
            app,
            table: Vec::new(),
        }
    }

    /// Reacts to contract `E` with `policy`.
    pub fn on<E, F, Fut>(mut self, policy: F) -> Self
    where
        E: IntegrationEvent + Send + 'static,
        F: Fn(Arc<S>, E, Cause) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Outcome,
    {
        let policy = Arc::new(policy);
        let handler: Handler<S> = Box::new(move |app, envelope| {
            let decoded = envelope.decode::<E>();
            let cause = Cause::of(envelope);
            let envelope = envelope.clone();
            let policy = policy.clone();
            Box::pin(async move {
                let event = decoded.map_err(HandleError::from)?;
                policy(app, event, cause).await.handled(&envelope)
            })
        });
        self.table.push((Contract::of::<E>(), handler));
        self
    }

    /// The event types the table reacts to in `system`'s stream: the subscription list.
    pub fn types(&self, system: &str) -> Vec<String> {
        self.table
            .iter()
            .map(|(contract, _)| type_in(system, contract.event_type))
            .collect()
    }

    /// The contracts the table reacts to, in table order (see [`crate::model`]).
    pub fn contracts(&self) -> Vec<Contract> {
        self.table.iter().map(|(contract, _)| *contract).collect()
    }

    /// Whether the table reacts to nothing.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

#[async_trait]
impl<S: Send + Sync + 'static> EventHandler for Policies<S> {
    async fn handle(&self, event: &Envelope) -> Result<(), HandleError> {
        match self
            .table
            .iter()
            .find(|(contract, _)| contract.carries(&event.event_type))
        {
            Some((_, handler)) => handler(self.app.clone(), event).await,
            None => Ok(()),
        }
    }
}
