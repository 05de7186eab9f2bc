//! Aggregates kept by the kernel: a [`Repository`] loads an aggregate by id or by a declared key,
//! lets the domain decide, applies the events, and saves the new state with its integration
//! events (outbox), the event it reacts to (inbox) and its counter changes in one transaction,
//! with optimistic versioning and a bounded retry on conflict.
//!
//! The store keeps each aggregate as a document (its [`Aggregate::Record`]) in the kernel's own
//! tables, on SQLite, PostgreSQL and MySQL/MariaDB alike; a SQLite `:memory:` store makes the
//! application testable in milliseconds with the same code.

use crate::envelope::{Envelope, NewEvent};
use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

mod repository;
pub use repository::{GENERATION_TTL, Now, Repository};

/// How many times a change is decided again when a concurrent change won.
const CONFLICT_RETRIES: usize = 8;

/// The event a change reacts to, opaque to application code: it carries the causation, the
/// correlation key and the trace of the event into the transaction that handles it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    pub(crate) event_id: Uuid,
    pub(crate) subject: String,
    pub(crate) traceparent: Option<String>,
    sequence: u64,
    time: OffsetDateTime,
    /// The inbox the event is recorded in, beside the service's own: a read model's generation
    /// has its own, so a rebuild folds in every event again.
    pub(crate) scope: Option<String>,
}

impl Cause {
    /// The cause of handling `event`.
    pub fn of(event: &Envelope) -> Self {
        Self {
            event_id: event.id,
            subject: event.subject.clone(),
            traceparent: event.traceparent.clone(),
            sequence: event.sequence,
            time: event.time,
            scope: None,
        }
    }

    /// A cause for tests and tools: a fresh event id about `subject`.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            subject: subject.into(),
            traceparent: None,
            sequence: 0,
            time: OffsetDateTime::now_utc(),
            scope: None,
        }
    }

    /// The correlation key of the event.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The event's id.
    pub fn event_id(&self) -> Uuid {
        self.event_id
    }

    /// The event's position in its source aggregate's history (its `sequence`).
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// When the event happened.
    pub fn time(&self) -> OffsetDateTime {
        self.time
    }
}

/// A lookup key an aggregate declares (derived from its state, kept in the same transaction).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// The key's name, e.g. `customer`.
    pub name: &'static str,
    /// The value.
    pub value: String,
    /// At most one aggregate of a kind may hold a unique key's value at a time.
    pub unique: bool,
    /// Aggregates found by a key come highest score first (then newest first).
    pub score: i64,
}

impl Key {
    /// A key many aggregates may share (`customer`, `status`, ...).
    pub fn index(name: &'static str, value: impl Into<String>) -> Self {
        Self {
            name,
            value: value.into(),
            unique: false,
            score: 0,
        }
    }

    /// The same key, ordering its holders by `score` (highest first).
    pub fn scored(mut self, score: i64) -> Self {
        self.score = score;
        self
    }

    /// A key only one aggregate may hold (an idempotency key, a natural id).
    pub fn unique(name: &'static str, value: impl Into<String>) -> Self {
        Self {
            name,
            value: value.into(),
            unique: true,
            score: 0,
        }
    }
}

/// A change of a counter with an invariant (seats, stock): `delta` is added only if the result
/// stays at or above zero; otherwise the whole transaction fails with
/// [`StoreError::Exhausted`], so contention never turns into a conflict loop or a 5xx.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterChange {
    /// The counter's name, e.g. `seats`.
    pub counter: &'static str,
    /// Which one, e.g. a performance and grade.
    pub key: String,
    /// Added to the counter (negative takes).
    pub delta: i64,
}

impl CounterChange {
    /// Takes `amount` from a counter.
    pub fn take(counter: &'static str, key: impl Into<String>, amount: i64) -> Self {
        Self {
            counter,
            key: key.into(),
            delta: -amount,
        }
    }

    /// Gives `amount` back to a counter.
    pub fn give(counter: &'static str, key: impl Into<String>, amount: i64) -> Self {
        Self {
            counter,
            key: key.into(),
            delta: amount,
        }
    }
}

/// Index of a work queue's items by status, oldest first (see [`queue_keys`]).
pub const QUEUE_STATUS: &str = "status";
/// Index of every item of a work queue, oldest first (value empty).
pub const QUEUE_ALL: &str = "all";

/// The keys of an item of a work queue (a delivery team's, a barista's) in `status`, made at
/// `created_at`: listed oldest first by [`Repository::queue`].
pub fn queue_keys(status: &str, created_at: OffsetDateTime) -> Vec<Key> {
    let oldest_first = -((created_at.unix_timestamp_nanos() / 1_000_000) as i64);
    vec![
        Key::index(QUEUE_STATUS, status).scored(oldest_first),
        Key::index(QUEUE_ALL, "").scored(oldest_first),
    ]
}

/// An aggregate the kernel can keep. Implemented outside `domain` (in the service's adapters),
/// delegating to the domain's own `apply`; the domain's commands decide and return events.
pub trait Aggregate: Sized + Send + Sync + 'static {
    /// The domain events that move it.
    type Event: Send + Sync;
    /// Its stored form (a wire type of the store, so the domain type needs no serde).
    type Record: Serialize + DeserializeOwned;
    /// The kind's stored name, e.g. `reservation`.
    const KIND: &'static str;
    /// Every contract its [`Self::integration_event`] can publish
    /// (`&[Contract::of::<contract::Reserved>(), …]`): the board's and AsyncAPI's source. The
    /// repository refuses to store a change whose event is not declared here.
    const PUBLISHES: &'static [crate::model::Contract];

    /// Its id.
    fn id(&self) -> &str;
    /// How many events it has applied; the sequence of its next event is `version() + 1`.
    fn version(&self) -> u64;
    /// Moves the state; cannot fail.
    fn apply(&mut self, event: &Self::Event, at: OffsetDateTime);
    /// The stored form.
    fn record(&self) -> Self::Record;
    /// Back from the stored form.
    fn restore(record: Self::Record) -> anyhow::Result<Self>;
    /// The keys it can be found by in its present state.
    fn keys(&self) -> Vec<Key> {
        Vec::new()
    }
    /// The integration event that `event` publishes (at aggregate version `sequence`), if any.
    fn integration_event(&self, event: &Self::Event, sequence: u64) -> Option<NewEvent>;
    /// The counter changes that `event` makes.
    fn counter_changes(&self, _event: &Self::Event) -> Vec<CounterChange> {
        Vec::new()
    }
}

/// Failures of an aggregate store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone changed the aggregate since it was read; decide again on fresh state.
    #[error("the {kind} changed concurrently")]
    Conflict {
        /// The aggregate kind.
        kind: &'static str,
    },
    /// Another aggregate of the kind holds this id or unique key.
    #[error("another {kind} holds this {key}")]
    Duplicate {
        /// The aggregate kind.
        kind: &'static str,
        /// `id` or the unique key's name.
        key: &'static str,
    },
    /// The event that caused this change was handled before: the change is already made.
    #[error("the event was handled before")]
    AlreadyHandled,
    /// A counter would fall below zero.
    #[error("not enough {counter} left for {key}")]
    Exhausted {
        /// The counter.
        counter: &'static str,
        /// Which one.
        key: String,
    },
    /// Anything else (store down, ...).
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Why a change of an existing aggregate was not made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError<E> {
    /// No aggregate with that id (for this caller).
    #[error("no {kind} {id}")]
    NotFound {
        /// The aggregate kind.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The domain refused: the aggregate's state does not allow it.
    #[error(transparent)]
    Rejected(E),
    /// A counter would fall below zero.
    #[error("not enough {counter} left for {key}")]
    Exhausted {
        /// The counter.
        counter: &'static str,
        /// Which one.
        key: String,
    },
    /// The change would give the aggregate a unique key another one holds.
    #[error("another {kind} holds this {key}")]
    Duplicate {
        /// The aggregate kind.
        kind: &'static str,
        /// The unique key's name.
        key: &'static str,
    },
    /// The store or something else failed.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl<E> ChangeError<E> {
    /// The error for a missing aggregate of kind `A`.
    pub fn not_found<A: Aggregate>(id: impl Into<String>) -> Self {
        Self::NotFound {
            kind: A::KIND,
            id: id.into(),
        }
    }
}

impl<E> From<StoreError> for ChangeError<E> {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Exhausted { counter, key } => Self::Exhausted { counter, key },
            StoreError::Duplicate { kind, key } => Self::Duplicate { kind, key },
            StoreError::Unknown(error) => Self::Unknown(error),
            other => Self::Unknown(anyhow::Error::new(other)),
        }
    }
}

/// One transaction's worth of change to one aggregate, as the store sees it.
#[derive(Debug)]
pub struct Change {
    /// The aggregate kind.
    pub kind: &'static str,
    /// Where aggregates of the kind are kept: the kind, or the kind in a generation of a read
    /// model (`<kind>@<generation>`).
    pub collection: String,
    /// Its id.
    pub id: String,
    /// The version it was read at; `None` for a new aggregate.
    pub expected_version: Option<u64>,
    /// Its version after the change.
    pub version: u64,
    /// Its stored form after the change (JSON).
    pub state: String,
    /// Keys it no longer has.
    pub removed_keys: Vec<Key>,
    /// Keys it now has.
    pub added_keys: Vec<Key>,
    /// Counter changes made by its events.
    pub counters: Vec<CounterChange>,
    /// Integration events to append to the outbox.
    pub events: Vec<NewEvent>,
    /// The event this change reacts to, recorded in the inbox.
    pub cause: Option<Cause>,
}

/// The port behind [`Repository`]: documents, keys, counters, outbox and inbox in one store.
#[async_trait]
pub trait DocumentStore: Send + Sync + 'static {
    /// The stored form of one aggregate of `collection`.
    async fn load(&self, collection: &str, id: &str) -> anyhow::Result<Option<String>>;
    /// The stored forms of the aggregates holding `key`, highest score and newest first.
    async fn find(&self, collection: &str, key: &Key, limit: u32) -> anyhow::Result<Vec<String>>;
    /// Makes the change, or none of it.
    async fn save(&self, change: Change) -> Result<(), StoreError>;
    /// Creates a counter at `value` unless it exists; returns whether it was created.
    async fn define_counter(&self, counter: &str, key: &str, value: i64) -> anyhow::Result<bool>;
    /// Adds `delta` to a counter outside any aggregate change (a restock); fails with
    /// [`StoreError::Exhausted`] if it would fall below zero or does not exist.
    async fn adjust_counter(&self, change: CounterChange) -> Result<i64, StoreError>;
    /// A counter's value.
    async fn counter(&self, counter: &str, key: &str) -> anyhow::Result<Option<i64>>;
    /// Every key of a counter with its value, in one read (a stock page).
    async fn counters(
        &self,
        counter: &str,
    ) -> anyhow::Result<std::collections::HashMap<String, i64>>;
    /// Deletes every aggregate and key of `collection` (a discarded generation); returns how
    /// many aggregates went.
    async fn discard(&self, collection: &str) -> anyhow::Result<u64>;
}
