//! SQLite for the stores and the embedded bus: the rusqlite pool they run on (`lite.rs`: WAL files
//! opened with retries, statements on the calling thread, background checkpoints, in-memory
//! databases for application tests), one writer queue per file and process, and an sqlx pool on a
//! file for tools and tests that read one. No dependency on the stores or the buses (no import
//! circle).

mod lite;

pub use lite::{Bind, LitePool, LiteTx, connect_lite, connect_lite_memory};

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Pool, Sqlite};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Opens a SQLite file in WAL mode through sqlx, creating it (and its directory) if missing: for
/// tools and tests that look into a store or bus file (the services run on [`connect_lite`]).
pub async fn connect_sqlite(url: &str) -> anyhow::Result<Pool<Sqlite>> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("bad sqlite url {url:?}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .pragma("temp_store", "memory")
        // The services' connections leave checkpoints to their background task (lite.rs).
        .pragma("wal_autocheckpoint", "0")
        .pragma("journal_size_limit", "33554432")
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
