//! The embedded bus: a SQLite file (WAL mode) shared by every process of one machine.
//!
//! It holds a partitioned log per system, each group's committed offset per partition, group
//! membership and partition leases with heartbeats. Readers notice new events by watching the
//! log's head: immediately for publishers in the same process, within `poll_ms` for others.
//! It is meant for one machine; anything larger uses NATS JetStream.

use super::{
    AckHandle, Bus, BusSettings, Coordinator, Delivery, LeaseRecord, PartitionReader, RelayPermit,
    partition_of,
};
use crate::envelope::Envelope;
use crate::sql::{connect_sqlite, now_millis};
use anyhow::Context as _;
use async_trait::async_trait;
use bytes::Bytes;
use sqlx::{Pool, Sqlite};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, DropGuard};

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

/// The SQLite-file bus.
pub struct LocalBus {
    pool: Pool<Sqlite>,
    stream: Arc<str>,
    partitions: u32,
    path: String,
    head: watch::Receiver<i64>,
    head_sender: Arc<watch::Sender<i64>>,
    coordinator: Arc<LocalCoordinator>,
    writer: Writer,
    doorbell: Arc<Doorbell>,
    _watcher: Arc<DropGuard>,
}

/// The bus file allows one writer at a time: writers of this process queue here (see
/// `SqlStore`), so that only other processes ever meet SQLite's busy handler.
type Writer = Arc<tokio::sync::Mutex<()>>;

impl std::fmt::Debug for LocalBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

async fn read_head(pool: &Pool<Sqlite>) -> anyhow::Result<i64> {
    let head: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM bus_log")
        .fetch_one(pool)
        .await
        .context("cannot read the bus head")?;
    Ok(head.unwrap_or(0))
}

impl LocalBus {
    /// Opens (creating if needed) the bus file at `path` for the settings' system.
    pub async fn open(path: &str, settings: &BusSettings) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !path.is_empty(),
            "local bus url needs a file path: local://data/bus.db"
        );
        let pool = connect_sqlite(&format!("sqlite://{path}")).await?;
        for statement in SCHEMA {
            sqlx::raw_sql(statement)
                .execute(&pool)
                .await
                .context("cannot create the bus tables")?;
        }
        sqlx::query(
            "INSERT INTO bus_streams (stream, partitions) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&settings.system)
        .bind(i64::from(settings.partitions))
        .execute(&pool)
        .await
        .context("cannot register the stream")?;
        let partitions: i64 =
            sqlx::query_scalar("SELECT partitions FROM bus_streams WHERE stream = ?")
                .bind(&settings.system)
                .fetch_one(&pool)
                .await
                .context("cannot read the stream")?;
        anyhow::ensure!(
            partitions == i64::from(settings.partitions),
            "stream {} on {path} has {partitions} partitions, but this process is configured with {}",
            settings.system,
            settings.partitions
        );
        let (sender, head) = watch::channel(read_head(&pool).await?);
        let sender = Arc::new(sender);
        let stop = CancellationToken::new();
        tokio::spawn(watch_head(
            pool.clone(),
            sender.clone(),
            Duration::from_millis(settings.poll_ms.max(1)),
            stop.clone(),
        ));
        let doorbell = Doorbell::open(path, pool.clone(), sender.clone(), stop.clone()).await;
        let stream: Arc<str> = settings.system.as_str().into();
        let writer = Writer::default();
        Ok(Self {
            coordinator: Arc::new(LocalCoordinator {
                pool: pool.clone(),
                stream: stream.clone(),
                writer: writer.clone(),
            }),
            writer,
            pool,
            stream,
            partitions: settings.partitions,
            path: path.to_owned(),
            head,
            head_sender: sender,
            doorbell: Arc::new(doorbell),
            _watcher: Arc::new(stop.drop_guard()),
        })
    }
}

fn advance(sender: &watch::Sender<i64>, head: i64) {
    sender.send_if_modified(|current| {
        if head > *current {
            *current = head;
            true
        } else {
            false
        }
    });
}

/// Wakes readers in other processes the moment events are appended: each bus instance binds a
/// Unix datagram socket in `<bus file>.wake/`, and a publisher rings all of them after its commit.
/// Polling the head (`poll_ms`) remains as the fallback when no socket can be bound.
struct Doorbell {
    dir: std::path::PathBuf,
    own: Option<std::path::PathBuf>,
    sender: Option<std::os::unix::net::UnixDatagram>,
}

impl Doorbell {
    async fn open(
        bus_path: &str,
        pool: Pool<Sqlite>,
        head: Arc<watch::Sender<i64>>,
        stop: CancellationToken,
    ) -> Self {
        let dir = std::path::PathBuf::from(format!("{bus_path}.wake"));
        let own = dir.join(format!("{}-{:08x}", std::process::id(), fastrand::u32(..)));
        let bound =
            std::fs::create_dir_all(&dir).and_then(|()| tokio::net::UnixDatagram::bind(&own));
        let sender = std::os::unix::net::UnixDatagram::unbound().and_then(|s| {
            s.set_nonblocking(true)?;
            Ok(s)
        });
        match (bound, sender) {
            (Ok(socket), Ok(sender)) => {
                let path = own.clone();
                tokio::spawn(async move {
                    let mut buffer = [0u8; 16];
                    loop {
                        tokio::select! {
                            _ = stop.cancelled() => break,
                            received = socket.recv(&mut buffer) => {
                                if received.is_err() {
                                    break;
                                }
                                if let Ok(position) = read_head(&pool).await {
                                    advance(&head, position);
                                }
                            }
                        }
                    }
                    let _ = std::fs::remove_file(path);
                });
                Self {
                    dir,
                    own: Some(own),
                    sender: Some(sender),
                }
            }
            (bound, sender) => {
                let error = bound
                    .err()
                    .or(sender.err())
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                tracing::debug!(%error, "no doorbell for the local bus; readers poll instead");
                Self {
                    dir,
                    own: None,
                    sender: None,
                }
            }
        }
    }

    /// Wakes every other bus instance of this file.
    fn ring(&self) {
        let Some(sender) = &self.sender else { return };
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if Some(&path) == self.own.as_ref() {
                continue;
            }
            if let Err(error) = sender.send_to(b"!", &path) {
                // Nobody listens there any more (a process that was killed): forget it.
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
                ) {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }
}

/// Follows the log head so that idle readers wake when another process appends.
async fn watch_head(
    pool: Pool<Sqlite>,
    sender: Arc<watch::Sender<i64>>,
    every: Duration,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        if let Ok(head) = read_head(&pool).await {
            advance(&sender, head);
        }
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
        let _writer = self.writer.lock().await;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("cannot begin a bus transaction")?;
        let now = now_millis();
        for event in events {
            sqlx::query(
                "INSERT INTO bus_log (stream, partition, event_id, subject, event_type, envelope, appended_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(&*self.stream)
            .bind(i64::from(partition_of(&event.subject, self.partitions)))
            .bind(event.id.to_string())
            .bind(&event.subject)
            .bind(&event.event_type)
            .bind(event.to_json())
            .bind(now)
            .execute(&mut *tx)
            .await
            .context("cannot append to the bus log")?;
        }
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM bus_log")
            .fetch_one(&mut *tx)
            .await
            .context("cannot read the bus head")?;
        tx.commit().await.context("cannot commit to the bus log")?;
        advance(&self.head_sender, head.unwrap_or(0));
        self.doorbell.ring();
        Ok(())
    }

    async fn open(&self, group: &str, partition: u32) -> anyhow::Result<Box<dyn PartitionReader>> {
        let committed: Option<i64> = sqlx::query_scalar(
            "SELECT position FROM bus_offsets WHERE stream = ? AND grp = ? AND partition = ?",
        )
        .bind(&*self.stream)
        .bind(group)
        .bind(i64::from(partition))
        .fetch_optional(&self.pool)
        .await
        .context("cannot read the group offset")?;
        Ok(Box::new(LocalReader {
            pool: self.pool.clone(),
            stream: self.stream.clone(),
            group: group.to_owned(),
            partition: i64::from(partition),
            cursor: committed.unwrap_or(0),
            buffer: VecDeque::new(),
            head: self.head.clone(),
            writer: self.writer.clone(),
            acked: None,
            unflushed: 0,
            flushed: std::time::Instant::now(),
        }))
    }

    fn coordinator(&self) -> Arc<dyn Coordinator> {
        self.coordinator.clone()
    }

    async fn lag(&self, group: &str, partition: u32) -> anyhow::Result<u64> {
        let lag: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bus_log WHERE stream = ?1 AND partition = ?3 AND position >
               COALESCE((SELECT position FROM bus_offsets WHERE stream = ?1 AND grp = ?2 AND partition = ?3), 0)",
        )
        .bind(&*self.stream)
        .bind(group)
        .bind(i64::from(partition))
        .fetch_one(&self.pool)
        .await
        .context("cannot compute consumer lag")?;
        Ok(lag as u64)
    }

    async fn check(&self) -> anyhow::Result<()> {
        read_head(&self.pool).await.map(|_| ())
    }

    fn describe(&self) -> String {
        format!(
            "local bus {} (stream {}, {} partitions)",
            self.path, self.stream, self.partitions
        )
    }
}

/// Offsets are committed after this many acknowledgements, or this long after the last commit
/// (also when the partition is idle), or when the reader closes. A crash in between redelivers a few events, which
/// the consumers' inboxes recognise; in exchange the bus is not written once per event.
const OFFSET_BATCH: u32 = 256;
const OFFSET_EVERY: Duration = Duration::from_millis(200);

struct LocalReader {
    pool: Pool<Sqlite>,
    stream: Arc<str>,
    group: String,
    partition: i64,
    cursor: i64,
    buffer: VecDeque<(i64, String)>,
    head: watch::Receiver<i64>,
    writer: Writer,
    acked: Option<i64>,
    unflushed: u32,
    flushed: std::time::Instant,
}

impl LocalReader {
    async fn flush(&mut self) -> anyhow::Result<()> {
        let Some(position) = self.acked else {
            return Ok(());
        };
        if self.unflushed == 0 {
            return Ok(());
        }
        let _writer = self.writer.lock().await;
        sqlx::query(
            "INSERT INTO bus_offsets (stream, grp, partition, position) VALUES (?, ?, ?, ?)
             ON CONFLICT (stream, grp, partition) DO UPDATE SET position = MAX(position, excluded.position)",
        )
        .bind(&*self.stream)
        .bind(&self.group)
        .bind(self.partition)
        .bind(position)
        .execute(&self.pool)
        .await
        .context("cannot commit the group offset")?;
        self.unflushed = 0;
        self.flushed = std::time::Instant::now();
        Ok(())
    }
}

#[async_trait]
impl PartitionReader for LocalReader {
    async fn next(&mut self) -> anyhow::Result<Delivery> {
        loop {
            if let Some((position, envelope)) = self.buffer.pop_front() {
                self.cursor = position;
                return Ok(Delivery::new(
                    Bytes::from(envelope),
                    position as u64,
                    AckHandle::Local,
                ));
            }
            self.head.mark_unchanged();
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT position, envelope FROM bus_log
                 WHERE stream = ? AND partition = ? AND position > ? ORDER BY position LIMIT 128",
            )
            .bind(&*self.stream)
            .bind(self.partition)
            .bind(self.cursor)
            .fetch_all(&self.pool)
            .await
            .context("cannot read the bus log")?;
            if rows.is_empty() {
                // Caught up: the offset becomes current once the partition stays idle a moment.
                let idle_flush = if self.unflushed > 0 {
                    self.flushed + OFFSET_EVERY
                } else {
                    std::time::Instant::now() + Duration::from_millis(500)
                };
                tokio::select! {
                    changed = self.head.changed() => {
                        if changed.is_err() {
                            anyhow::bail!("the local bus was closed");
                        }
                    }
                    _ = tokio::time::sleep_until(idle_flush.into()) => self.flush().await?,
                }
            } else {
                self.buffer.extend(rows);
            }
        }
    }

    async fn ack(&mut self, delivery: &Delivery) -> anyhow::Result<()> {
        let position = delivery.position as i64;
        self.acked = Some(self.acked.map_or(position, |acked| acked.max(position)));
        self.unflushed += 1;
        if self.unflushed >= OFFSET_BATCH || self.flushed.elapsed() >= OFFSET_EVERY {
            self.flush().await?;
        }
        Ok(())
    }

    async fn close(&mut self) -> anyhow::Result<()> {
        self.flush().await
    }

    async fn in_progress(&mut self, _delivery: &Delivery) -> anyhow::Result<()> {
        Ok(())
    }

    async fn release(&mut self, _delivery: &Delivery) -> anyhow::Result<()> {
        let _writer = self.writer.lock().await;
        // The offset was not advanced, so the next reader of the partition starts at this delivery.
        Ok(())
    }
}

struct LocalCoordinator {
    pool: Pool<Sqlite>,
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
        sqlx::query(
            "INSERT INTO bus_members (stream, grp, member, expires_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (stream, grp, member) DO UPDATE SET expires_at = excluded.expires_at",
        )
        .bind(&*self.stream)
        .bind(group)
        .bind(member)
        .bind(now + ttl.as_millis() as i64)
        .execute(&self.pool)
        .await
        .context("cannot record the heartbeat")?;
        let members: Vec<String> = sqlx::query_scalar(
            "SELECT member FROM bus_members WHERE stream = ? AND grp = ? AND expires_at >= ? ORDER BY member",
        )
        .bind(&*self.stream)
        .bind(group)
        .bind(now)
        .fetch_all(&self.pool)
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
        let taken = sqlx::query(
            "INSERT INTO bus_leases (stream, grp, partition, owner, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (stream, grp, partition) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
             WHERE bus_leases.owner = excluded.owner OR bus_leases.expires_at < ?6",
        )
        .bind(&*self.stream)
        .bind(group)
        .bind(i64::from(partition))
        .bind(&record.owner)
        .bind(record.expires_at)
        .bind(now)
        .execute(&self.pool)
        .await
        .context("cannot take a partition lease")?
        .rows_affected();
        Ok(taken > 0)
    }

    async fn release(&self, group: &str, partition: u32, member: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE bus_leases SET expires_at = 0 WHERE stream = ? AND grp = ? AND partition = ? AND owner = ?",
        )
        .bind(&*self.stream)
        .bind(group)
        .bind(i64::from(partition))
        .bind(member)
        .execute(&self.pool)
        .await
        .context("cannot release a partition lease")?;
        Ok(())
    }

    async fn leave(&self, group: &str, member: &str) -> anyhow::Result<()> {
        let _writer = self.writer.lock().await;
        sqlx::query("DELETE FROM bus_members WHERE stream = ? AND grp = ? AND member = ?")
            .bind(&*self.stream)
            .bind(group)
            .bind(member)
            .execute(&self.pool)
            .await
            .context("cannot leave the group")?;
        Ok(())
    }
}
