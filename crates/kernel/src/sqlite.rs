//! SQLite connection helpers shared by the stores and the embedded bus: WAL files opened with
//! retries, one writer queue per file and process, background checkpoints, in-memory databases
//! for application tests. No dependency on the stores or the buses (no import circle).

mod lite;

pub use lite::{Bind, LiteConn, LiteError, LitePool, LiteTx, connect_lite, connect_lite_memory};

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Pool, Sqlite};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Opens a SQLite file in WAL mode, creating it (and its directory) if missing.
pub async fn connect_sqlite(url: &str) -> anyhow::Result<Pool<Sqlite>> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("bad sqlite url {url:?}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .pragma("temp_store", "memory")
        // Checkpoints run in the background instead (see `checkpoint`).
        .pragma("wal_autocheckpoint", "0")
        .pragma("journal_size_limit", "33554432")
        // No memory map: SQLite maps the whole file and maps it afresh whenever the file grew,
        // which a log like the bus's does after every checkpoint; under load strace showed every
        // connection of every process unmapping and mapping the 35 MB bus file several times a
        // second (a TLB shootdown on every core each time). Reads through the page cache cost
        // the same CPU per reservation, within the noise, without that churn.
        .pragma("mmap_size", "0")
        .disable_statement_logging();
    let path = options.get_filename().to_owned();
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && path.to_str() != Some(":memory:")
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    // Several processes opening one file at once (a system's services and its embedded bus)
    // race to switch it to WAL. SQLite answers the loser "database is locked" at once, without
    // its busy handler, where waiting could deadlock; the loser tries again shortly.
    let mut attempt = 0;
    let pool = loop {
        let opened = SqlitePoolOptions::new()
            .max_connections(4)
            // A file on this machine does not go stale the way a network connection does; a
            // ping before each use was one more round trip to the connection's thread per
            // statement.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await;
        match opened {
            Ok(pool) => break pool,
            Err(error) if attempt < 40 && is_locked(&error) => {
                attempt += 1;
                let pause = 25 + fastrand::u64(0..50) * attempt.min(4);
                tracing::debug!(url, attempt, "the database is locked while opening; again");
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            Err(error) => {
                return Err(anyhow::Error::new(error))
                    .with_context(|| format!("cannot open sqlite database {url}"));
            }
        }
    };
    tokio::spawn(checkpoint(pool.clone(), sqlite_writer(&path)));
    Ok(pool)
}

/// SQLite's `SQLITE_BUSY` or `SQLITE_LOCKED` (primary codes 5 and 6, extended codes included).
fn is_locked(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

/// The writer queue of a SQLite file, shared by every pool and bus of this process on that file.
/// SQLite allows one writer at a time; writers that queue here, in order, never meet SQLite's
/// busy handler (which sleeps with backoff and turns contention into latency spikes). Writers of
/// other processes still do.
pub fn sqlite_writer(path: &std::path::Path) -> Arc<tokio::sync::Mutex<()>> {
    static WRITERS: std::sync::OnceLock<
        std::sync::Mutex<
            std::collections::HashMap<std::path::PathBuf, Arc<tokio::sync::Mutex<()>>>,
        >,
    > = std::sync::OnceLock::new();
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    WRITERS
        .get_or_init(Default::default)
        .lock()
        .expect("writer registry lock")
        .entry(key)
        .or_default()
        .clone()
}

/// Checkpoints and truncates the write-ahead log, waiting at most a moment for readers (this
/// process's writers are held back meanwhile, so the wait must stay short).
async fn truncate(pool: &Pool<Sqlite>) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    sqlx::query("PRAGMA busy_timeout = 250")
        .execute(&mut *conn)
        .await?;
    let result = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut *conn)
        .await;
    sqlx::query("PRAGMA busy_timeout = 10000")
        .execute(&mut *conn)
        .await?;
    result?;
    Ok(())
}

/// A write-ahead log this many pages long is reset under the writer lock.
const LARGE_WAL_PAGES: i64 = 4_096;

/// Moves the write-ahead log into the database file in the background, so that commits never
/// pay for a checkpoint themselves (SQLite's automatic checkpoint runs inside the commit that
/// crosses its threshold, and was the slowest percentile of every benchmark). A passive
/// checkpoint cannot finish while writes keep coming, so a log that grows past
/// `LARGE_WAL_PAGES` is checkpointed and truncated with this process's writers held back.
async fn checkpoint(pool: Pool<Sqlite>, writer: Arc<tokio::sync::Mutex<()>>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        let passive: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await;
        match passive {
            Ok((_, log, done)) if log > LARGE_WAL_PAGES && done < log => {
                let _writer = writer.lock().await;
                if let Err(error) = truncate(&pool).await {
                    tracing::debug!(
                        error = format!("{error:#}"),
                        "truncating checkpoint failed; retrying later"
                    );
                }
            }
            Ok(_) => {}
            Err(error) => tracing::debug!(%error, "checkpoint failed; retrying later"),
        }
    }
}

/// Opens a private in-memory SQLite database (one connection, so that every statement sees the
/// same database): the store of application tests.
pub async fn connect_sqlite_memory() -> anyhow::Result<Pool<Sqlite>> {
    let options = SqliteConnectOptions::from_str("sqlite::memory:")?
        .foreign_keys(true)
        .disable_statement_logging();
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .context("cannot open an in-memory sqlite database")
}
