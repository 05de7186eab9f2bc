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
use std::marker::PhantomData;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

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
    /// Deletes every aggregate and key of `collection` (a discarded generation); returns how
    /// many aggregates went.
    async fn discard(&self, collection: &str) -> anyhow::Result<u64>;
}

/// What time it is, for the events a repository applies.
pub type Now = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// Which generation of a read model a repository reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Generation {
    /// Not a read model: aggregates are kept under their kind.
    None,
    /// The generation active now (looked up again after [`GENERATION_TTL`]).
    Active,
    /// A fixed generation (a rebuild fills one while readers stay on the active one).
    Pinned(String),
}

/// Counter holding the number of a read model's active generation.
const ACTIVE_GENERATION: &str = "msa.generation.active";
/// Counter numbering a read model's generations.
const LAST_GENERATION: &str = "msa.generation.last";

/// How long a read model's repository trusts the active generation it read; a rebuild keeps
/// folding into the new generation at least this long after the switch, so that no replica
/// still writing into the old one loses an event.
pub const GENERATION_TTL: std::time::Duration = std::time::Duration::from_secs(1);

type ActiveCache = Arc<std::sync::Mutex<Option<(String, std::time::Instant)>>>;

/// Loads, decides, applies and saves aggregates of kind `A`.
pub struct Repository<A> {
    store: Arc<dyn DocumentStore>,
    now: Now,
    generation: Generation,
    active: ActiveCache,
    _kind: PhantomData<fn() -> A>,
}

impl<A> Clone for Repository<A> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            now: self.now.clone(),
            generation: self.generation.clone(),
            active: self.active.clone(),
            _kind: PhantomData,
        }
    }
}

impl<A> std::fmt::Debug for Repository<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Repository")
    }
}

fn decode<A: Aggregate>(json: &str) -> anyhow::Result<A> {
    let record: A::Record = serde_json::from_str(json)
        .map_err(|error| anyhow::anyhow!("a stored {} does not decode: {error}", A::KIND))?;
    A::restore(record)
}

impl<A: Aggregate> Repository<A> {
    /// A repository on `store`, applying events at the kernel's [`crate::clock::now`].
    pub fn new(store: Arc<dyn DocumentStore>) -> Self {
        Self {
            store,
            now: Arc::new(crate::clock::now),
            generation: Generation::None,
            active: ActiveCache::default(),
            _kind: PhantomData,
        }
    }

    /// The same repository as a read model kept in generations: it reads and writes the active
    /// generation, and [`Self::pinned`] copies fill a new one that [`Self::activate`] switches
    /// readers to in one step.
    pub fn generational(mut self) -> Self {
        self.generation = Generation::Active;
        self
    }

    /// The same read model, reading and writing `generation` whatever is active.
    pub fn pinned(&self, generation: &str) -> Self {
        let mut pinned = self.clone();
        pinned.generation = Generation::Pinned(generation.to_owned());
        pinned
    }

    /// The generation readers use now (`g0` before any rebuild).
    pub async fn active_generation(&self) -> anyhow::Result<String> {
        let number = self.store.counter(ACTIVE_GENERATION, A::KIND).await?;
        let generation = format!("g{}", number.unwrap_or(0));
        *self.active.lock().expect("generation cache") =
            Some((generation.clone(), std::time::Instant::now()));
        Ok(generation)
    }

    /// The active generation as read at most [`GENERATION_TTL`] ago.
    async fn cached_generation(&self) -> anyhow::Result<String> {
        let cached = self.active.lock().expect("generation cache").clone();
        match cached {
            Some((generation, read)) if read.elapsed() < GENERATION_TTL => Ok(generation),
            _ => self.active_generation().await,
        }
    }

    /// A generation nobody used before.
    pub async fn new_generation(&self) -> anyhow::Result<String> {
        self.store
            .define_counter(LAST_GENERATION, A::KIND, 0)
            .await?;
        let number = self
            .store
            .adjust_counter(CounterChange::give(LAST_GENERATION, A::KIND, 1))
            .await
            .map_err(anyhow::Error::from)?;
        Ok(format!("g{number}"))
    }

    /// Makes `generation` the one readers and the live projection use, in one step.
    pub async fn activate(&self, generation: &str) -> anyhow::Result<()> {
        let number: i64 = generation
            .strip_prefix('g')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("{generation:?} is not a generation"))?;
        self.store
            .define_counter(ACTIVE_GENERATION, A::KIND, 0)
            .await?;
        let current = self
            .store
            .counter(ACTIVE_GENERATION, A::KIND)
            .await?
            .unwrap_or(0);
        self.store
            .adjust_counter(CounterChange::give(
                ACTIVE_GENERATION,
                A::KIND,
                number - current,
            ))
            .await
            .map_err(anyhow::Error::from)?;
        *self.active.lock().expect("generation cache") =
            Some((generation.to_owned(), std::time::Instant::now()));
        Ok(())
    }

    /// Deletes every view of `generation`; returns how many went.
    pub async fn discard(&self, generation: &str) -> anyhow::Result<u64> {
        self.store
            .discard(&format!("{}@{generation}", A::KIND))
            .await
    }

    /// Where this repository's aggregates are kept now.
    async fn collection(&self) -> anyhow::Result<String> {
        Ok(match &self.generation {
            Generation::None => A::KIND.to_owned(),
            Generation::Active => format!("{}@{}", A::KIND, self.cached_generation().await?),
            Generation::Pinned(generation) => format!("{}@{generation}", A::KIND),
        })
    }

    /// The same repository applying events at the time `now` tells (a test's fixed clock).
    pub fn with_clock(mut self, now: Now) -> Self {
        self.now = now;
        self
    }

    /// The store underneath (for counters).
    pub fn store(&self) -> &Arc<dyn DocumentStore> {
        &self.store
    }

    /// One aggregate.
    pub async fn get(&self, id: &str) -> anyhow::Result<Option<A>> {
        match self.store.load(&self.collection().await?, id).await? {
            Some(json) => decode(&json).map(Some),
            None => Ok(None),
        }
    }

    /// Aggregate `id` if `visible` says the caller may see it; [`ChangeError::NotFound`] both
    /// when it does not exist and when it is someone else's (so ids of others do not leak).
    pub async fn get_visible<E>(
        &self,
        id: &str,
        visible: impl FnOnce(&A) -> bool,
    ) -> Result<A, ChangeError<E>> {
        self.get(id)
            .await?
            .filter(visible)
            .ok_or_else(|| ChangeError::not_found::<A>(id))
    }

    /// A page of a work queue (see [`queue_keys`]), oldest first: `limit` items in `status` (all
    /// when `None`) after the first `offset`.
    pub async fn queue(
        &self,
        status: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> anyhow::Result<Vec<A>> {
        let (key, value) = status.map_or((QUEUE_ALL, ""), |s| (QUEUE_STATUS, s));
        self.find_page(key, value, offset, limit).await
    }

    /// A page of the aggregates holding the key `name = value` (in the key's order): `limit`
    /// after the first `offset`.
    pub async fn find_page(
        &self,
        name: &'static str,
        value: &str,
        offset: u32,
        limit: u32,
    ) -> anyhow::Result<Vec<A>> {
        let found = self.find(name, value, offset.saturating_add(limit)).await?;
        Ok(found.into_iter().skip(offset as usize).collect())
    }

    /// The aggregates holding the key `name = value`, newest first (at most `limit`).
    pub async fn find(
        &self,
        name: &'static str,
        value: &str,
        limit: u32,
    ) -> anyhow::Result<Vec<A>> {
        let key = Key::index(name, value);
        let rows = self
            .store
            .find(&self.collection().await?, &key, limit)
            .await?;
        rows.iter().map(|json| decode(json)).collect()
    }

    /// The aggregate holding the unique key `name = value`.
    pub async fn find_unique(&self, name: &'static str, value: &str) -> anyhow::Result<Option<A>> {
        let key = Key::unique(name, value);
        let rows = self.store.find(&self.collection().await?, &key, 1).await?;
        rows.first().map(|json| decode(json)).transpose()
    }

    fn change(
        collection: String,
        aggregate: &A,
        expected_version: Option<u64>,
        old_keys: Vec<Key>,
        events: &[A::Event],
        cause: Option<&Cause>,
    ) -> Result<Change, StoreError> {
        let first = aggregate
            .version()
            .checked_sub(events.len() as u64)
            .ok_or_else(|| anyhow::anyhow!("a {} applied an event without counting it", A::KIND))?;
        let mut new_keys = aggregate.keys();
        new_keys.sort();
        new_keys.dedup();
        let removed_keys = old_keys
            .iter()
            .filter(|key| !new_keys.contains(key))
            .cloned()
            .collect();
        let added_keys = new_keys
            .iter()
            .filter(|key| !old_keys.contains(key))
            .cloned()
            .collect();
        let state = serde_json::to_string(&aggregate.record())
            .map_err(|error| anyhow::anyhow!("a {} does not encode: {error}", A::KIND))?;
        let cause = cause.map(|cause| Cause {
            scope: Some(collection.clone()),
            ..cause.clone()
        });
        // One change per counter, in a fixed order: checked cumulatively, and two changes
        // taking the same counters lock them in the same order.
        let mut counters: Vec<CounterChange> = Vec::new();
        for change in events
            .iter()
            .flat_map(|event| aggregate.counter_changes(event))
        {
            match counters
                .iter_mut()
                .find(|c| c.counter == change.counter && c.key == change.key)
            {
                Some(merged) => merged.delta += change.delta,
                None => counters.push(change),
            }
        }
        counters.sort_by(|a, b| (a.counter, &a.key).cmp(&(b.counter, &b.key)));
        Ok(Change {
            kind: A::KIND,
            collection,
            id: aggregate.id().to_owned(),
            expected_version,
            version: aggregate.version(),
            state,
            removed_keys,
            added_keys,
            counters,
            events: events
                .iter()
                .enumerate()
                .filter_map(|(i, event)| aggregate.integration_event(event, first + i as u64 + 1))
                .collect(),
            cause,
        })
    }

    /// Stores a new aggregate that has applied `events` (its first ones).
    ///
    /// Fails with [`StoreError::Duplicate`] when its id or a unique key is taken, and with
    /// [`StoreError::AlreadyHandled`] when `cause` was handled before.
    pub async fn create(
        &self,
        aggregate: &A,
        events: &[A::Event],
        cause: Option<&Cause>,
    ) -> Result<(), StoreError> {
        let collection = self.collection().await?;
        let change = Self::change(collection, aggregate, None, Vec::new(), events, cause)?;
        self.store.save(change).await
    }

    /// Creates `aggregate` (see [`Self::create`]) unless the unique key `name = value` (a
    /// client's idempotency key) is held already: then, as for a create that loses the race to a
    /// concurrent one with the same key, the aggregate holding it is returned instead.
    pub async fn create_once(
        &self,
        aggregate: A,
        events: &[A::Event],
        key: Option<(&'static str, &str)>,
    ) -> Result<A, StoreError> {
        if let Some((name, value)) = key
            && let Some(existing) = self.find_unique(name, value).await?
        {
            return Ok(existing);
        }
        match self.create(&aggregate, events, None).await {
            Ok(()) => Ok(aggregate),
            Err(duplicate @ StoreError::Duplicate { .. }) => match key {
                Some((name, value)) => self.find_unique(name, value).await?.ok_or(duplicate),
                None => Err(duplicate),
            },
            Err(error) => Err(error),
        }
    }

    /// Loads aggregate `id`, lets `decide` return the events, applies and saves them; decides
    /// again on fresh state when a concurrent change won. A change whose `cause` was handled
    /// before is not made again (the state as decided now is returned).
    pub async fn update<E, F>(
        &self,
        id: &str,
        cause: Option<&Cause>,
        decide: F,
    ) -> Result<A, ChangeError<E>>
    where
        F: Fn(&A) -> Result<Vec<A::Event>, E>,
    {
        self.change_or_create(id, cause, None::<fn() -> A>, decide)
            .await
    }

    /// Like [`Self::update`], but starts from `init()` when there is no aggregate `id` yet: how
    /// a read model folds events in by correlation key, whichever arrives first.
    pub async fn upsert<E, F, I>(
        &self,
        id: &str,
        cause: Option<&Cause>,
        init: I,
        decide: F,
    ) -> Result<A, ChangeError<E>>
    where
        F: Fn(&A) -> Result<Vec<A::Event>, E>,
        I: Fn() -> A,
    {
        self.change_or_create(id, cause, Some(init), decide).await
    }

    async fn change_or_create<E, F, I>(
        &self,
        id: &str,
        cause: Option<&Cause>,
        init: Option<I>,
        decide: F,
    ) -> Result<A, ChangeError<E>>
    where
        F: Fn(&A) -> Result<Vec<A::Event>, E>,
        I: Fn() -> A,
    {
        for _ in 0..CONFLICT_RETRIES {
            let collection = self.collection().await?;
            let stored = match self.store.load(&collection, id).await? {
                Some(json) => Some(decode::<A>(&json)?),
                None => None,
            };
            let (mut aggregate, expected_version, mut old_keys) = match (stored, &init) {
                (Some(aggregate), _) => {
                    let keys = aggregate.keys();
                    let version = aggregate.version();
                    (aggregate, Some(version), keys)
                }
                (None, Some(init)) => (init(), None, Vec::new()),
                (None, None) => return Err(ChangeError::not_found::<A>(id)),
            };
            let events = decide(&aggregate).map_err(ChangeError::Rejected)?;
            if events.is_empty() {
                return Ok(aggregate);
            }
            old_keys.sort();
            old_keys.dedup();
            let at = (self.now)();
            for event in &events {
                aggregate.apply(event, at);
            }
            let change = Self::change(
                collection,
                &aggregate,
                expected_version,
                old_keys,
                &events,
                cause,
            )?;
            match self.store.save(change).await {
                Ok(()) | Err(StoreError::AlreadyHandled) => return Ok(aggregate),
                Err(StoreError::Conflict { .. }) => continue,
                Err(StoreError::Duplicate { key: "id", .. }) if expected_version.is_none() => {
                    continue;
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(ChangeError::Unknown(anyhow::anyhow!(
            "{} {id} kept changing concurrently",
            A::KIND
        )))
    }
}
