//! Retention of the embedded bus: events that every known consumer group has consumed and that
//! are older than `bus.retention_ms` move from the hot log (`bus_log`) into compressed archive
//! segments (`bus_archive`: gzip'd JSON lines, one row per segment, in the same file).
//!
//! A segment is moved in one transaction (insert the segment, delete its rows), so a crash
//! leaves each event either in the hot log or in a segment, never in both and never in neither.
//! A segment is always a prefix of its partition's hot log, so per partition the segments and
//! then the hot log read as one gap-free sequence; readers whose position lies below the hot log
//! (a new group, a read-model rebuild) read the segments first through the same
//! `PartitionReader`, and replays from the start keep working.
//!
//! Segments live in the bus file rather than in files beside it so that moving one is a single
//! transaction and readers in every process see a consistent snapshot. What shrinks is the hot
//! table and its index, which every publish and every read touches; SQLite reuses the freed
//! pages for new events rather than giving them back to the file system.
//!
//! Which groups hold retention back: those with a committed offset on the stream (in any
//! partition), at their offset in each partition (a known group with no offset in a partition
//! holds that partition at its start). A group that has never committed does not hold it back:
//! it reads the archive when it starts. With no known group at all nothing is archived. A
//! retired group keeps holding retention back until it is deleted (`Bus::delete_group`).

use crate::clock::now_millis;
use crate::sqlite::{Bind, LitePool};
use anyhow::Context as _;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use rusqlite::{Connection, OptionalExtension as _};
use serde::{Deserialize, Serialize};
use std::io::{BufRead as _, BufReader, Write as _};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The archive's table. Its unique key serves readers (the first segment ending after a
/// position); its id, which only grows, serves the head watcher (segments archived since it last
/// looked).
pub(super) const SCHEMA: &[&str] = &["CREATE TABLE IF NOT EXISTS bus_archive (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        stream TEXT NOT NULL,
        partition INTEGER NOT NULL,
        first_position INTEGER NOT NULL,
        last_position INTEGER NOT NULL,
        events INTEGER NOT NULL,
        raw_bytes INTEGER NOT NULL,
        archived_at INTEGER NOT NULL,
        segment BLOB NOT NULL,
        UNIQUE (stream, partition, last_position)
    )"];

/// Events per segment at most: one segment is compressed, and later read, as a whole.
const SEGMENT_EVENTS: usize = 1024;

/// The lease (group and partition in `bus_leases`) that lets one process at a time run passes.
const LEASE_GROUP: &str = "$retention";

/// One archived event, a line of a segment.
#[derive(Serialize, Deserialize)]
struct Line {
    position: i64,
    #[serde(rename = "type")]
    event_type: String,
    envelope: String,
}

/// What a retention pass moved out of the hot log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Archived {
    /// Events moved.
    pub events: u64,
    /// Segments written.
    pub segments: u64,
    /// Bytes of the moved envelopes.
    pub raw_bytes: u64,
    /// Bytes of the segments written.
    pub compressed_bytes: u64,
}

impl std::ops::AddAssign for Archived {
    fn add_assign(&mut self, other: Self) {
        self.events += other.events;
        self.segments += other.segments;
        self.raw_bytes += other.raw_bytes;
        self.compressed_bytes += other.compressed_bytes;
    }
}

/// How much of a stream is in the hot log and how much in the archive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogSize {
    /// Events in the hot log.
    pub hot_events: u64,
    /// Events in archive segments.
    pub archived_events: u64,
    /// Archive segments.
    pub segments: u64,
    /// Bytes of the archived envelopes before compression.
    pub archived_raw_bytes: u64,
    /// Bytes of the archive segments.
    pub archived_bytes: u64,
}

/// The events of one segment that a reader wants, and where the segment ends.
pub(super) struct SegmentRead {
    pub(super) last: i64,
    pub(super) events: Vec<(i64, String)>,
}

/// Reads the first segment of `partition` that ends after `cursor`, if the archive has one:
/// its events after `cursor` whose type is in `types` (empty: all).
pub(super) async fn segment_after(
    pool: &LitePool,
    stream: &str,
    partition: i64,
    cursor: i64,
    types: &[String],
) -> anyhow::Result<Option<SegmentRead>> {
    let found: Option<(i64, Vec<u8>)> = pool
        .rows(
            "SELECT last_position, segment FROM bus_archive
             WHERE stream = ? AND partition = ? AND last_position > ? ORDER BY last_position LIMIT 1",
            &[Bind::Text(stream), Bind::Int(partition), Bind::Int(cursor)],
            |row| row.try_into(),
        )
        .await
        .context("cannot read the bus archive")?
        .pop();
    let Some((last, segment)) = found else {
        return Ok(None);
    };
    let lines = tokio::task::spawn_blocking(move || decode(&segment))
        .await
        .context("the segment decoder stopped")??;
    let events = lines
        .into_iter()
        .filter(|line| line.position > cursor)
        .filter(|line| types.is_empty() || types.contains(&line.event_type))
        .map(|line| (line.position, line.envelope))
        .collect();
    Ok(Some(SegmentRead { last, events }))
}

/// The last archived position of each partition that has segments after segment `since` (an
/// id), and the last segment's id (`since` when there is none after it).
pub(super) async fn archived_heads(
    pool: &LitePool,
    stream: &str,
    since: i64,
) -> anyhow::Result<(Vec<(i64, i64)>, i64)> {
    // `+stream` keeps SQLite on the id range (new segments only).
    let rows: Vec<(i64, i64, i64)> = pool
        .rows(
            "SELECT partition, MAX(last_position), MAX(id) FROM bus_archive
             WHERE id > ? AND +stream = ? GROUP BY partition",
            &[Bind::Int(since), Bind::Text(stream)],
            |row| row.try_into(),
        )
        .await
        .context("cannot read the archived heads")?;
    let last = rows.iter().map(|row| row.2).fold(since, i64::max);
    Ok((rows.into_iter().map(|row| (row.0, row.1)).collect(), last))
}

/// How much of `stream` is hot and how much archived.
pub(super) async fn log_size(pool: &LitePool, stream: &str) -> anyhow::Result<LogSize> {
    let (hot, archived, segments, raw, compressed): (i64, i64, i64, i64, i64) = pool
        .rows(
            "SELECT (SELECT COUNT(*) FROM bus_log WHERE stream = ?1),
                    COALESCE(SUM(events), 0), COUNT(*), COALESCE(SUM(raw_bytes), 0),
                    COALESCE(SUM(LENGTH(segment)), 0)
             FROM bus_archive WHERE stream = ?1",
            &[Bind::Text(stream)],
            |row| row.try_into(),
        )
        .await
        .context("cannot measure the bus log")?
        .pop()
        .context("the bus log has no size")?;
    Ok(LogSize {
        hot_events: hot as u64,
        archived_events: archived as u64,
        segments: segments as u64,
        archived_raw_bytes: raw as u64,
        archived_bytes: compressed as u64,
    })
}

fn encode(lines: &[Line]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    for line in lines {
        serde_json::to_writer(&mut encoder, line).context("cannot encode an archived event")?;
        encoder.write_all(b"\n")?;
    }
    encoder.finish().context("cannot compress a segment")
}

fn decode(segment: &[u8]) -> anyhow::Result<Vec<Line>> {
    let mut lines = Vec::new();
    for text in BufReader::new(GzDecoder::new(segment)).lines() {
        let text = text.context("cannot decompress a segment")?;
        lines.push(serde_json::from_str(&text).context("a segment holds a malformed event")?);
    }
    Ok(lines)
}

/// Moves consumed, old events of one stream from the hot log into archive segments.
pub(super) struct Retention {
    pub(super) pool: LitePool,
    pub(super) stream: Arc<str>,
    pub(super) partitions: u32,
    pub(super) writer: super::Writer,
    /// How long a consumed event stays hot.
    pub(super) keep: Duration,
}

impl Retention {
    /// How often the background task looks for events to archive.
    fn every(&self) -> Duration {
        (self.keep / 4).clamp(Duration::from_millis(50), Duration::from_secs(60))
    }

    /// Archives what every known group has consumed and what is older than the retention, in
    /// every partition.
    pub(super) async fn pass(&self) -> anyhow::Result<Archived> {
        let cutoff = now_millis() - self.keep.as_millis() as i64;
        let mut archived = Archived::default();
        for partition in 0..i64::from(self.partitions) {
            loop {
                let moved = self.move_segment(partition, cutoff).await?;
                archived += moved;
                if moved.events < SEGMENT_EVENTS as u64 {
                    break;
                }
            }
        }
        Ok(archived)
    }

    /// Moves the oldest archivable events of `partition` (at most a segment's worth) into a
    /// segment, in one transaction.
    async fn move_segment(&self, partition: i64, cutoff: i64) -> anyhow::Result<Archived> {
        // A look without the write lock first: most passes find nothing to do.
        let stream = &*self.stream;
        let first_look = self
            .pool
            .with(|c| bound(c, stream, partition, cutoff))
            .await
            .context("cannot read the group offsets and the hot log")?;
        if first_look.is_none() {
            return Ok(Archived::default());
        }
        let _writer = self.writer.lock().await;
        let mut tx = self
            .pool
            .begin()
            .await
            .context("cannot begin a retention transaction")?;
        // Again under the lock: a group may have appeared meanwhile.
        let Some(bound) = tx
            .with(|c| bound(c, stream, partition, cutoff))
            .await
            .context("cannot read the group offsets and the hot log")?
        else {
            return Ok(Archived::default());
        };
        let rows: Vec<(i64, String, String)> = tx
            .rows(
                "SELECT position, event_type, envelope FROM bus_log
                 WHERE stream = ? AND partition = ? AND position <= ? ORDER BY position LIMIT ?",
                &[
                    Bind::Text(stream),
                    Bind::Int(partition),
                    Bind::Int(bound),
                    Bind::Int(SEGMENT_EVENTS as i64),
                ],
                |row| row.try_into(),
            )
            .await
            .context("cannot read events to archive")?;
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(Archived::default());
        };
        let (first, last) = (first.0, last.0);
        let lines: Vec<Line> = rows
            .into_iter()
            .map(|(position, event_type, envelope)| Line {
                position,
                event_type,
                envelope,
            })
            .collect();
        let events = lines.len() as u64;
        let raw_bytes: u64 = lines.iter().map(|line| line.envelope.len() as u64).sum();
        let segment = tokio::task::spawn_blocking(move || encode(&lines))
            .await
            .context("the segment encoder stopped")??;
        let compressed_bytes = segment.len() as u64;
        let now = now_millis();
        tx.with(|c| {
            c.prepare_cached(
                "INSERT INTO bus_archive (stream, partition, first_position, last_position, events, raw_bytes, archived_at, segment)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )?
            .execute(rusqlite::params![
                stream,
                partition,
                first,
                last,
                events as i64,
                raw_bytes as i64,
                now,
                segment.as_slice()
            ])
        })
        .await
        .context("cannot write an archive segment")?;
        let deleted = tx
            .execute(
                "DELETE FROM bus_log WHERE stream = ? AND partition = ? AND position BETWEEN ? AND ?",
                &[
                    Bind::Text(stream),
                    Bind::Int(partition),
                    Bind::Int(first),
                    Bind::Int(last),
                ],
            )
            .await
            .context("cannot remove archived events from the hot log")?;
        // Rolled back (the transaction is dropped) if the segment does not hold exactly the rows.
        anyhow::ensure!(
            deleted == events,
            "archived {events} events of partition {partition} but would remove {deleted}"
        );
        tx.commit()
            .await
            .context("cannot commit an archive segment")?;
        Ok(Archived {
            events,
            segments: 1,
            raw_bytes,
            compressed_bytes,
        })
    }
}

/// The highest position of `partition` that may be archived: consumed by every known group and,
/// like every event before it, appended before `cutoff`. `None` when nothing may be.
fn bound(
    c: &mut Connection,
    stream: &str,
    partition: i64,
    cutoff: i64,
) -> rusqlite::Result<Option<i64>> {
    let consumed: Option<i64> = c
        .prepare_cached(
            "SELECT MIN(COALESCE(o.position, 0))
             FROM (SELECT DISTINCT grp FROM bus_offsets WHERE stream = ?1) AS g
             LEFT JOIN bus_offsets AS o ON o.stream = ?1 AND o.grp = g.grp AND o.partition = ?2",
        )?
        .query_row(rusqlite::params![stream, partition], |row| row.get(0))?;
    let Some(consumed) = consumed.filter(|position| *position > 0) else {
        return Ok(None);
    };
    // The first event that is too young stops the segment, whatever comes after it, so that a
    // segment is always a prefix of the hot log.
    let young: Option<i64> = c
        .prepare_cached(
            "SELECT position FROM bus_log WHERE stream = ? AND partition = ? AND position <= ?
             AND appended_at > ? ORDER BY position LIMIT 1",
        )?
        .query_row(
            rusqlite::params![stream, partition, consumed, cutoff],
            |row| row.get(0),
        )
        .optional()?;
    let bound = young.map_or(consumed, |young| young - 1);
    let any: bool = c
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM bus_log WHERE stream = ? AND partition = ? AND position <= ?)",
        )?
        .query_row(rusqlite::params![stream, partition, bound], |row| row.get(0))?;
    Ok(any.then_some(bound))
}

/// Runs retention passes every little while in whichever process holds the retention lease, so
/// that one process at a time does the work (two at once would be safe, only wasteful: each
/// segment is moved in one serialised transaction that reads its bounds afresh).
pub(super) async fn run(
    retention: Arc<Retention>,
    coordinator: Arc<dyn super::Coordinator>,
    stop: CancellationToken,
) {
    let every = retention.every();
    let member = format!("{}-{:08x}", std::process::id(), fastrand::u32(..));
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
        match coordinator
            .acquire(LEASE_GROUP, 0, &member, every * 3)
            .await
        {
            Ok(true) => match retention.pass().await {
                Ok(archived) if archived.events > 0 => tracing::info!(
                    stream = &*retention.stream,
                    events = archived.events,
                    segments = archived.segments,
                    raw_bytes = archived.raw_bytes,
                    compressed_bytes = archived.compressed_bytes,
                    "archived consumed events of the hot log"
                ),
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "a retention pass failed");
                }
            },
            Ok(false) => {}
            Err(error) => {
                tracing::debug!(
                    error = format!("{error:#}"),
                    "cannot take the retention lease"
                );
            }
        }
    }
    let _ = coordinator.release(LEASE_GROUP, 0, &member).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_reads_back_exactly_what_was_written() {
        let lines = vec![
            Line {
                position: 3,
                event_type: "t.a.v1".to_owned(),
                envelope: "{\"id\":\"x\",\"data\":\"two\\nlines\"}".to_owned(),
            },
            Line {
                position: 9,
                event_type: "t.b.v1".to_owned(),
                envelope: "{}".to_owned(),
            },
        ];
        let segment = encode(&lines).unwrap();
        let read = decode(&segment).unwrap();
        assert_eq!(read.len(), 2);
        for (a, b) in lines.iter().zip(&read) {
            assert_eq!(
                (a.position, &a.event_type, &a.envelope),
                (b.position, &b.event_type, &b.envelope)
            );
        }
    }
}
