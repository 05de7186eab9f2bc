//! The embedded bus: a SQLite file (WAL mode) shared by every process of one machine.
//!
//! It holds a partitioned log per system, each group's committed offset per partition, group
//! membership and partition leases with heartbeats. Each bus instance tracks the head of every
//! partition, so that an idle reader wakes only when its own partition grew: at once for
//! publishers in this process or in others (a doorbell datagram carries the heads a publish
//! committed, so nobody queries the log to learn them), within `poll_ms` otherwise (one query for
//! whatever no doorbell told). Readers fetch only the event types their group wants. Events every
//! group has consumed move, after `retention_ms`, into compressed archive segments that readers
//! still read ([`retention`]). It is meant for one machine; anything larger uses NATS JetStream.

mod doorbell;
pub mod retention;

use super::{
    AckHandle, Bus, BusSettings, Coordinator, Delivery, LeaseRecord, PartitionReader, RelayPermit,
    partition_of,
};
use crate::clock::now_millis;
use crate::envelope::Envelope;
use crate::sqlite::{Bind, LitePool, connect_lite, sqlite_writer};
use anyhow::Context as _;
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

use doorbell::Doorbell;
use retention::{Archived, LogSize, Retention};

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS bus_streams (
        stream TEXT PRIMARY KEY,
        partitions INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS bus_log (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        stream TEXT NOT NULL,
        partition INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        event_type TEXT NOT NULL,
        envelope TEXT NOT NULL,
        appended_at INTEGER NOT NULL,
        UNIQUE (stream, event_id)
    )",
    "CREATE INDEX IF NOT EXISTS bus_log_partition ON bus_log (stream, partition, position)",
    "CREATE TABLE IF NOT EXISTS bus_offsets (
        stream TEXT NOT NULL,
        grp TEXT NOT NULL,
        partition INTEGER NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (stream, grp, partition)
    )",
    "CREATE TABLE IF NOT EXISTS bus_members (
        stream TEXT NOT NULL,
        grp TEXT NOT NULL,
        member TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (stream, grp, member)
    )",
    "CREATE TABLE IF NOT EXISTS bus_leases (
        stream TEXT NOT NULL,
        grp TEXT NOT NULL,
        partition INTEGER NOT NULL,
        owner TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (stream, grp, partition)
    )",
];

/// The bus file's writer queue in this process (see [`crate::sqlite::sqlite_writer`]).
type Writer = Arc<tokio::sync::Mutex<()>>;

/// The SQLite-file bus.
pub struct LocalBus {
    pool: LitePool,
    stream: Arc<str>,
    partitions: u32,
    path: String,
    heads: Arc<Heads>,
    coordinator: Arc<LocalCoordinator>,
    writer: Writer,
    doorbell: Arc<Doorbell>,
    retention: Arc<Retention>,
    _watcher: Arc<DropGuard>,
}

impl std::fmt::Debug for LocalBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The last position of every partition of the stream, as this process knows it.
struct Heads {
    pool: LitePool,
    stream: Arc<str>,
    /// The highest position seen in any partition: the next query only looks beyond it.
    seen: AtomicI64,
    /// The last archive segment seen (its id): a partition's events may be archived before this
    /// process saw them in the hot log.
    archived: AtomicI64,
    sender: watch::Sender<Vec<i64>>,
    /// Heads a publish told about (here or through the doorbell), not sent to the readers yet.
    told: std::sync::Mutex<Vec<(u32, i64)>>,
    poke: Notify,
}

impl Heads {
    /// Looks for positions appended since the last look, and with `archive` also for segments
    /// archived since: one query (two) whatever the partition count.
    async fn refresh(&self, archive: bool) -> anyhow::Result<i64> {
        let since = self.seen.load(Ordering::SeqCst);
        // `+stream` keeps SQLite on the rowid range (new rows only) instead of walking the
        // stream's whole index.
        let grown: Vec<(i64, i64)> = self
            .pool
            .rows(
                "SELECT partition, MAX(position) FROM bus_log WHERE position > ? AND +stream = ? GROUP BY partition",
                &[Bind::Int(since), Bind::Text(&self.stream)],
                pair,
            )
            .await
            .context("cannot read the bus heads")?;
        // Retention only archives events every group consumed long ago, so a head that moved
        // by archiving alone (events this process never saw hot) is news the periodic look
        // brings soon enough; a publish's poke looks at the hot log only.
        let archived = if archive {
            let (archived, segment) = retention::archived_heads(
                &self.pool,
                &self.stream,
                self.archived.load(Ordering::SeqCst),
            )
            .await?;
            self.archived.fetch_max(segment, Ordering::SeqCst);
            archived
        } else {
            Vec::new()
        };
        let top = grown.iter().map(|(_, position)| *position).max();
        self.seen.fetch_max(top.unwrap_or(since), Ordering::SeqCst);
        let moved = self.raise(grown.iter().chain(&archived).copied());
        Ok(moved)
    }

    /// Raises the heads the readers see to `positions` (partition, position) where higher;
    /// returns by how much in all.
    fn raise(&self, positions: impl Iterator<Item = (i64, i64)>) -> i64 {
        let mut moved = 0;
        self.sender.send_if_modified(|heads| {
            for (partition, position) in positions {
                if let Some(head) = usize::try_from(partition)
                    .ok()
                    .and_then(|partition| heads.get_mut(partition))
                    && position > *head
                {
                    moved += position - *head;
                    *head = position;
                }
            }
            moved > 0
        });
        moved
    }

    /// A publish committed events up to these positions (partition, position): the readers
    /// learn it without a look at the log. `seen` stays where the last look left it, so the
    /// periodic look still finds a partition whose publish nobody told about.
    fn tell(&self, positions: &[(u32, i64)]) {
        self.told
            .lock()
            .expect("told heads")
            .extend_from_slice(positions);
        self.poke.notify_one();
    }

    /// Sends what publishes told about; `None` when nothing was told (a bare poke: look).
    fn deliver_told(&self) -> Option<i64> {
        let told = std::mem::take(&mut *self.told.lock().expect("told heads"));
        if told.is_empty() {
            return None;
        }
        Some(
            self.raise(
                told.into_iter()
                    .map(|(p, position)| (i64::from(p), position)),
            ),
        )
    }
}

/// Passes on the heads publishes told about (here, or in another process through the doorbell)
/// when poked, looks at the log when poked without them, and every `every` in case a doorbell was
/// missed. When a poke brought several new events (the bus is busy) it lets `coalesce` pass
/// before the next one, so that under load the publishes of a moment wake the readers once (one
/// fetch of several events) instead of once per event; a quiet bus answers every poke at once.
async fn watch_heads(
    heads: Arc<Heads>,
    every: Duration,
    coalesce: Duration,
    stop: CancellationToken,
) {
    loop {
        let poked = tokio::select! {
            _ = stop.cancelled() => return,
            _ = heads.poke.notified() => true,
            _ = tokio::time::sleep(every) => false,
        };
        let told = if poked { heads.deliver_told() } else { None };
        let moved = match told {
            Some(moved) => moved,
            None => match heads.refresh(!poked).await {
                Ok(moved) => moved,
                Err(error) => {
                    tracing::debug!(error = format!("{error:#}"), "cannot refresh the bus heads");
                    0
                }
            },
        };
        if poked && moved > 1 && !coalesce.is_zero() {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(coalesce) => {}
            }
        }
    }
}

impl LocalBus {
    /// Opens (creating if needed) the bus file at `path` for the settings' system.
    pub async fn open(path: &str, settings: &BusSettings) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !path.is_empty(),
            "local bus url needs a file path: local://data/bus.db"
        );
        let pool = connect_lite(&format!("sqlite://{path}")).await?;
        let writer = sqlite_writer(std::path::Path::new(path));
        {
            let _writer = writer.lock().await;
            for statement in SCHEMA.iter().chain(retention::SCHEMA) {
                pool.with(|c| c.execute_batch(statement))
                    .await
                    .context("cannot create the bus tables")?;
            }
            pool.execute(
                "INSERT INTO bus_streams (stream, partitions) VALUES (?, ?) ON CONFLICT DO NOTHING",
                &[
                    Bind::Text(&settings.system),
                    Bind::Int(i64::from(settings.partitions)),
                ],
            )
            .await
            .context("cannot register the stream")?;
        }
        let partitions = pool
            .integer(
                "SELECT partitions FROM bus_streams WHERE stream = ?",
                &[Bind::Text(&settings.system)],
            )
            .await
            .context("cannot read the stream")?
            .context("the stream was not registered")?;
        anyhow::ensure!(
            partitions == i64::from(settings.partitions),
            "stream {} on {path} has {partitions} partitions, but this process is configured with {}",
            settings.system,
            settings.partitions
        );
        let stream: Arc<str> = settings.system.as_str().into();
        let heads = Arc::new(Heads {
            pool: pool.clone(),
            stream: stream.clone(),
            seen: AtomicI64::new(0),
            archived: AtomicI64::new(0),
            sender: watch::Sender::new(vec![0; settings.partitions as usize]),
            told: std::sync::Mutex::new(Vec::new()),
            poke: Notify::new(),
        });
        heads.refresh(true).await?;
        let stop = CancellationToken::new();
        tokio::spawn(watch_heads(
            heads.clone(),
            Duration::from_millis(settings.poll_ms.max(1)),
            Duration::from_millis(settings.coalesce_ms),
            stop.clone(),
        ));
        let doorbell = Doorbell::open(path, heads.clone(), stop.clone()).await;
        let coordinator = Arc::new(LocalCoordinator {
            pool: pool.clone(),
            stream: stream.clone(),
            writer: writer.clone(),
        });
        let retention = Arc::new(Retention {
            pool: pool.clone(),
            stream: stream.clone(),
            partitions: settings.partitions,
            writer: writer.clone(),
            keep: Duration::from_millis(settings.retention_ms),
        });
        if settings.retention_ms > 0 {
            tokio::spawn(retention::run(
                retention.clone(),
                coordinator.clone(),
                stop.clone(),
            ));
        }
        Ok(Self {
            coordinator,
            retention,
            writer,
            pool,
            stream,
            partitions: settings.partitions,
            path: path.to_owned(),
            heads,
            doorbell: Arc::new(doorbell),
            _watcher: Arc::new(stop.drop_guard()),
        })
    }

    /// Runs a retention pass now, whatever `retention_ms` says about the background passes
    /// (with their age limit, or none when it is 0); returns what moved to the archive.
    pub async fn retain(&self) -> anyhow::Result<Archived> {
        self.retention.pass().await
    }

    /// How many of the stream's events are in the hot log and how many archived.
    pub async fn log_size(&self) -> anyhow::Result<LogSize> {
        retention::log_size(&self.pool, &self.stream).await
    }
}

#[async_trait]
impl Bus for LocalBus {
    fn partitions(&self) -> u32 {
        self.partitions
    }

    async fn publish(&self, _permit: RelayPermit, events: &[Envelope]) -> anyhow::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        // The head of every partition this publish appended to.
        let mut appended: Vec<(u32, i64)> = Vec::new();
        let now = now_millis();
        let rows: Vec<Appended> = events
            .iter()
            .map(|event| Appended::of(event, self.partitions))
            .collect();
        let mut inserted = Vec::with_capacity(events.len());
        {
            let _writer = self.writer.lock().await;
            if let [row] = rows.as_slice() {
                // One event (a quiet system's every publish) is one statement, its own commit.
                inserted.extend(
                    self.pool
                        .rows(APPEND, &row.binds(&self.stream, now), pair)
                        .await
                        .context("cannot append to the bus log")?,
                );
            } else {
                let mut tx = self
                    .pool
                    .begin()
                    .await
                    .context("cannot begin a bus transaction")?;
                for row in &rows {
                    inserted.extend(
                        tx.rows(APPEND, &row.binds(&self.stream, now), pair)
                            .await
                            .context("cannot append to the bus log")?,
                    );
                }
                tx.commit().await.context("cannot commit to the bus log")?;
            }
        }
        // A duplicate (a relay publishing again after a crash) appends nothing and returns no row.
        for (partition, position) in inserted {
            let partition = u32::try_from(partition).context("a partition out of range")?;
            match appended.iter_mut().find(|(p, _)| *p == partition) {
                Some((_, head)) => *head = (*head).max(position),
                None => appended.push((partition, position)),
            }
        }
        if !appended.is_empty() {
            self.heads.tell(&appended);
            self.doorbell.ring(&self.stream, &appended);
        }
        Ok(())
    }

    async fn open(
        &self,
        group: &str,
        partition: u32,
        types: &[String],
    ) -> anyhow::Result<Box<dyn PartitionReader>> {
        let committed = self
            .pool
            .integer(
                "SELECT position FROM bus_offsets WHERE stream = ? AND grp = ? AND partition = ?",
                &[
                    Bind::Text(&self.stream),
                    Bind::Text(group),
                    Bind::Int(i64::from(partition)),
                ],
            )
            .await
            .context("cannot read the group offset")?;
        let filter = if types.is_empty() {
            String::new()
        } else {
            format!(" AND event_type IN ({})", vec!["?"; types.len()].join(", "))
        };
        Ok(Box::new(LocalReader {
            pool: self.pool.clone(),
            stream: self.stream.clone(),
            group: group.to_owned(),
            partition: i64::from(partition),
            fetch: format!(
                "SELECT position, envelope FROM bus_log WHERE stream = ? AND partition = ? AND position > ? \
                 AND position <= ?{filter} ORDER BY position LIMIT {FETCH}"
            ),
            types: types.to_vec(),
            cursor: committed.unwrap_or(0),
            covered: None,
            in_archive: true,
            buffer: VecDeque::new(),
            heads: self.heads.sender.subscribe(),
            writer: self.writer.clone(),
            acked: committed,
            unflushed: 0,
            flushed: Instant::now(),
            // A reader opened on an offset looks at the archive first (`in_archive`), after
            // the offset was written.
            known: committed.is_some(),
            offset_written: committed.is_some(),
        }))
    }

    fn coordinator(&self) -> Arc<dyn Coordinator> {
        self.coordinator.clone()
    }

    async fn lag(&self, group: &str, partition: u32) -> anyhow::Result<u64> {
        // Archived events count by whole segments: a segment the group is halfway through
        // counts in full, so the lag never reads 0 before the group has read everything.
        let lag = self
            .pool
            .integer(
                "WITH o AS (SELECT COALESCE((SELECT position FROM bus_offsets
                             WHERE stream = ?1 AND grp = ?2 AND partition = ?3), 0) AS position)
                 SELECT (SELECT COUNT(*) FROM bus_log, o
                         WHERE stream = ?1 AND partition = ?3 AND bus_log.position > o.position)
                      + (SELECT COALESCE(SUM(events), 0) FROM bus_archive, o
                         WHERE stream = ?1 AND partition = ?3 AND last_position > o.position)",
                &[
                    Bind::Text(&self.stream),
                    Bind::Text(group),
                    Bind::Int(i64::from(partition)),
                ],
            )
            .await
            .context("cannot compute consumer lag")?;
        Ok(lag.unwrap_or(0) as u64)
    }

    async fn check(&self) -> anyhow::Result<()> {
        self.pool
            .execute("SELECT 1", &[])
            .await
            .context("the bus file is not readable")?;
        Ok(())
    }

    async fn delete_group(&self, group: &str) -> anyhow::Result<()> {
        let _writer = self.writer.lock().await;
        for table in ["bus_offsets", "bus_leases", "bus_members"] {
            self.pool
                .execute(
                    &format!("DELETE FROM {table} WHERE stream = ? AND grp = ?"),
                    &[Bind::Text(&self.stream), Bind::Text(group)],
                )
                .await
                .with_context(|| format!("cannot forget group {group}"))?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "local bus {} (stream {}, {} partitions)",
            self.path, self.stream, self.partitions
        )
    }
}

/// The statement appending an event to a stream's log: the row's partition and position, or no
/// row when the event is there already.
const APPEND: &str =
    "INSERT INTO bus_log (stream, partition, event_id, subject, event_type, envelope, appended_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING partition, position";

/// An event as [`APPEND`] writes it.
struct Appended<'a> {
    partition: i64,
    id: String,
    event: &'a Envelope,
    json: String,
}

impl<'a> Appended<'a> {
    fn of(event: &'a Envelope, partitions: u32) -> Self {
        Self {
            partition: i64::from(partition_of(&event.subject, partitions)),
            id: event.id.to_string(),
            event,
            json: event.to_json(),
        }
    }

    fn binds<'b>(&'b self, stream: &'b str, now: i64) -> [Bind<'b>; 7] {
        [
            Bind::Text(stream),
            Bind::Int(self.partition),
            Bind::Text(&self.id),
            Bind::Text(&self.event.subject),
            Bind::Text(&self.event.event_type),
            Bind::Text(&self.json),
            Bind::Int(now),
        ]
    }
}

/// A row of two integers.
fn pair(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, i64)> {
    row.try_into()
}

/// Rows fetched per query.
const FETCH: usize = 128;

/// Offsets are committed after this many acknowledgements, or this long after the last commit
/// (also when the partition is idle), or when the reader closes. A crash in between redelivers
/// a few events, which the consumers' inboxes recognise; in exchange the bus is not written once
/// per event.
const OFFSET_BATCH: u32 = 256;
const OFFSET_EVERY: Duration = Duration::from_millis(200);

struct LocalReader {
    pool: LitePool,
    stream: Arc<str>,
    group: String,
    partition: i64,
    fetch: String,
    types: Vec<String>,
    /// Everything up to here was fetched (or skipped as unwanted).
    cursor: i64,
    /// The end of the last fetch, which counts as handled once its rows are.
    covered: Option<i64>,
    /// The last fetch came from the archive.
    in_archive: bool,
    buffer: VecDeque<(i64, String)>,
    heads: watch::Receiver<Vec<i64>>,
    writer: Writer,
    acked: Option<i64>,
    unflushed: u32,
    flushed: Instant,
    /// The group has a committed offset here, which retention waits for, and the archive was
    /// looked at since it was written: no segment can start after the cursor.
    known: bool,
    /// This reader has written the group's offset.
    offset_written: bool,
}

impl LocalReader {
    /// Buffers the next events after the cursor, up to `head`: from the archive while the
    /// cursor is below the hot log, from the hot log otherwise.
    async fn fetch(&mut self, head: i64) -> anyhow::Result<()> {
        // While reading through the archive, the next segment is most likely there too.
        if self.in_archive && self.read_segment().await? {
            return Ok(());
        }
        let mut binds = vec![
            Bind::Text(&self.stream),
            Bind::Int(self.partition),
            Bind::Int(self.cursor),
            Bind::Int(head),
        ];
        binds.extend(self.types.iter().map(|event_type| Bind::Text(event_type)));
        let rows: Vec<(i64, String)> = self
            .pool
            .rows(&self.fetch, &binds, |row| row.try_into())
            .await
            .context("cannot read the bus log")?;
        // Looked for after the hot log: whatever retention moved before that read is in the
        // archive by now, so finding no segment here means the rows have no gap. Retention
        // archives only what every group with an offset has consumed, so once this group has
        // one, no segment can start after the cursor and the look is skipped; but a pass that
        // committed just before the group's first offset did not wait for it, so the look stops
        // only after one more made once that offset was written.
        if !self.known {
            if self.read_segment().await? {
                return Ok(());
            }
            self.known = self.offset_written;
        }
        let end = if rows.len() < FETCH {
            head
        } else {
            rows.last().map_or(head, |(position, _)| *position)
        };
        self.cursor = end;
        self.covered = Some(end);
        self.buffer.extend(rows);
        Ok(())
    }

    /// Buffers the archive segment that ends after the cursor, if there is one.
    async fn read_segment(&mut self) -> anyhow::Result<bool> {
        let segment = retention::segment_after(
            &self.pool,
            &self.stream,
            self.partition,
            self.cursor,
            &self.types,
        )
        .await?;
        self.in_archive = segment.is_some();
        let Some(segment) = segment else {
            return Ok(false);
        };
        self.cursor = segment.last;
        self.covered = Some(segment.last);
        self.buffer.extend(segment.events);
        Ok(true)
    }

    fn advance(&mut self, position: i64) {
        if self.acked.is_none_or(|acked| position > acked) {
            self.acked = Some(position);
            self.unflushed += 1;
        }
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        let Some(position) = self.acked else {
            return Ok(());
        };
        if self.unflushed == 0 {
            return Ok(());
        }
        let _writer = self.writer.lock().await;
        self.pool
            .execute(
                "INSERT INTO bus_offsets (stream, grp, partition, position) VALUES (?, ?, ?, ?)
                 ON CONFLICT (stream, grp, partition) DO UPDATE SET position = MAX(position, excluded.position)",
                &[
                    Bind::Text(&self.stream),
                    Bind::Text(&self.group),
                    Bind::Int(self.partition),
                    Bind::Int(position),
                ],
            )
            .await
            .context("cannot commit the group offset")?;
        self.unflushed = 0;
        self.flushed = Instant::now();
        self.offset_written = true;
        Ok(())
    }
}

#[async_trait]
impl PartitionReader for LocalReader {
    async fn next(&mut self) -> anyhow::Result<Delivery> {
        loop {
            if let Some((position, envelope)) = self.buffer.pop_front() {
                return Ok(Delivery::new(
                    Bytes::from(envelope),
                    position as u64,
                    AckHandle::Local,
                ));
            }
            // Deliveries are handled one at a time, so everything fetched before is done now,
            // including the unwanted events the fetch skipped.
            if let Some(covered) = self.covered.take() {
                self.advance(covered);
                if self.unflushed >= OFFSET_BATCH {
                    self.flush().await?;
                }
            }
            let head = self.heads.borrow_and_update()[self.partition as usize];
            if head > self.cursor {
                self.fetch(head).await?;
                continue;
            }
            // Caught up: the offset becomes current once the partition stays idle a moment.
            let idle_flush = if self.unflushed > 0 {
                self.flushed + OFFSET_EVERY
            } else {
                Instant::now() + Duration::from_secs(1)
            };
            tokio::select! {
                changed = self.heads.changed() => {
                    if changed.is_err() {
                        anyhow::bail!("the local bus was closed");
                    }
                }
                _ = tokio::time::sleep_until(idle_flush.into()) => self.flush().await?,
            }
        }
    }

    async fn ack(&mut self, delivery: &Delivery) -> anyhow::Result<()> {
        self.advance(delivery.position as i64);
        if self.unflushed >= OFFSET_BATCH || self.flushed.elapsed() >= OFFSET_EVERY {
            self.flush().await?;
        }
        Ok(())
    }

    async fn in_progress(&mut self, _delivery: &Delivery) -> anyhow::Result<()> {
        Ok(())
    }

    async fn release(&mut self, _delivery: &Delivery) -> anyhow::Result<()> {
        // The offset was not advanced, so the next reader of the partition starts at this delivery.
        Ok(())
    }

    async fn close(&mut self) -> anyhow::Result<()> {
        self.flush().await
    }
}

struct LocalCoordinator {
    pool: LitePool,
    stream: Arc<str>,
    writer: Writer,
}

#[async_trait]
impl Coordinator for LocalCoordinator {
    async fn heartbeat(
        &self,
        group: &str,
        member: &str,
        ttl: Duration,
    ) -> anyhow::Result<Vec<String>> {
        let _writer = self.writer.lock().await;
        let now = now_millis();
        self.pool
            .execute(
                "INSERT INTO bus_members (stream, grp, member, expires_at) VALUES (?, ?, ?, ?)
                 ON CONFLICT (stream, grp, member) DO UPDATE SET expires_at = excluded.expires_at",
                &[
                    Bind::Text(&self.stream),
                    Bind::Text(group),
                    Bind::Text(member),
                    Bind::Int(now + ttl.as_millis() as i64),
                ],
            )
            .await
            .context("cannot record the heartbeat")?;
        let members: Vec<String> = self
            .pool
            .rows(
                "SELECT member FROM bus_members WHERE stream = ? AND grp = ? AND expires_at >= ? ORDER BY member",
                &[Bind::Text(&self.stream), Bind::Text(group), Bind::Int(now)],
                |row| row.get(0),
            )
            .await
            .context("cannot list group members")?;
        Ok(members)
    }

    async fn acquire(
        &self,
        group: &str,
        partition: u32,
        member: &str,
        ttl: Duration,
    ) -> anyhow::Result<bool> {
        let _writer = self.writer.lock().await;
        let now = now_millis();
        let record = LeaseRecord {
            owner: member.to_owned(),
            expires_at: now + ttl.as_millis() as i64,
        };
        let taken = self
            .pool
            .execute(
                "INSERT INTO bus_leases (stream, grp, partition, owner, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (stream, grp, partition) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                 WHERE bus_leases.owner = excluded.owner OR bus_leases.expires_at < ?6",
                &[
                    Bind::Text(&self.stream),
                    Bind::Text(group),
                    Bind::Int(i64::from(partition)),
                    Bind::Text(&record.owner),
                    Bind::Int(record.expires_at),
                    Bind::Int(now),
                ],
            )
            .await
            .context("cannot take a partition lease")?;
        Ok(taken > 0)
    }

    async fn release(&self, group: &str, partition: u32, member: &str) -> anyhow::Result<()> {
        self.pool
            .execute(
                "UPDATE bus_leases SET expires_at = 0 WHERE stream = ? AND grp = ? AND partition = ? AND owner = ?",
                &[
                    Bind::Text(&self.stream),
                    Bind::Text(group),
                    Bind::Int(i64::from(partition)),
                    Bind::Text(member),
                ],
            )
            .await
            .context("cannot release a partition lease")?;
        Ok(())
    }

    async fn leave(&self, group: &str, member: &str) -> anyhow::Result<()> {
        let _writer = self.writer.lock().await;
        self.pool
            .execute(
                "DELETE FROM bus_members WHERE stream = ? AND grp = ? AND member = ?",
                &[
                    Bind::Text(&self.stream),
                    Bind::Text(group),
                    Bind::Text(member),
                ],
            )
            .await
            .context("cannot leave the group")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::NewEvent;

    /// A reader in one bus instance learns of another instance's publish from the doorbell alone,
    /// without a look at the log (the periodic look is an hour away).
    #[tokio::test]
    async fn a_publish_wakes_a_reader_of_another_instance_through_the_doorbell() {
        let dir = std::env::temp_dir().join(format!(
            "msa-doorbell-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let path = dir.join("bus.db").display().to_string();
        let settings = BusSettings {
            system: "doorbell".to_owned(),
            partitions: 2,
            poll_ms: 3_600_000,
            ..BusSettings::default()
        };
        let publisher = LocalBus::open(&path, &settings).await.unwrap();
        let reading = LocalBus::open(&path, &settings).await.unwrap();
        // Another stream on the same file hears the datagram and leaves it alone.
        let elsewhere = LocalBus::open(
            &path,
            &BusSettings {
                system: "elsewhere".to_owned(),
                ..settings.clone()
            },
        )
        .await
        .unwrap();
        let event = NewEvent::raw("doorbell.test.rang.v1", "k1", 1, serde_json::json!({}))
            .unwrap()
            .into_envelope("doorbell/test", None, None);
        let partition = partition_of("k1", 2);
        let mut reader = reading.open("g", partition, &[]).await.unwrap();
        let mut other = elsewhere.open("g", partition, &[]).await.unwrap();
        publisher
            .publish(RelayPermit::new(), std::slice::from_ref(&event))
            .await
            .unwrap();
        let delivery = tokio::time::timeout(Duration::from_secs(5), reader.next())
            .await
            .expect("the doorbell woke the reader")
            .unwrap();
        assert_eq!(delivery.envelope.unwrap().id, event.id);
        assert_eq!(
            reading.heads.seen.load(Ordering::SeqCst),
            0,
            "the reader's instance queried the log instead of taking the heads from the datagram"
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(200), other.next())
                .await
                .is_err(),
            "a reader of another stream got a delivery"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
