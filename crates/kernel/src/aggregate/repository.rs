//! The repository: loads an aggregate by id or key, lets the domain decide, applies and saves
//! the events with their keys, counters, outbox and inbox in one transaction, deciding again on
//! a conflict; read models kept in generations that a rebuild switches at once.

use super::*;
use std::marker::PhantomData;

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
        let events: Vec<NewEvent> = events
            .iter()
            .enumerate()
            .filter_map(|(i, event)| aggregate.integration_event(event, first + i as u64 + 1))
            .collect();
        for event in &events {
            crate::model::check_declared(A::KIND, A::PUBLISHES, &event.event_type)?;
        }
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
            events,
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
