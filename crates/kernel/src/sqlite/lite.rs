//! SQLite for the stores and the embedded bus, through rusqlite, with every statement run on the
//! calling thread.
//!
//! sqlx keeps a thread per SQLite connection and hands it every statement and every row over a
//! channel: two thread switches per statement at least, measured at 79 µs of CPU for a
//! `BEGIN IMMEDIATE; INSERT; COMMIT` against 22 µs on the calling thread, 22.5 µs against 4.3 µs
//! for a point `SELECT` (docs/scaling.md). A service runs on one thread, a statement on a local
//! file takes microseconds, so here it simply runs where it is asked for.
//!
//! What a thread of its own bought sqlx, waiting, is done here without blocking the thread:
//! connections have no busy handler (SQLite's sleeps inside the call), and a statement that
//! finds the file locked by another process (`SQLITE_BUSY`) is tried again after an async pause,
//! for up to [`BUSY_WAIT`]. Writers of this process queue on the file's writer lock before they
//! begin ([`super::sqlite_writer`]) and never meet each other here. The checkpoints, which write
//! and sync the database file, run on the blocking pool.
//!
//! Errors are sqlx's (`sqlx::Error::Database` carrying SQLite's extended code and its constraint
//! kind), so the store, the consumer's outage rule and the callers read them one way for every
//! database.

use super::sqlite_writer;
use anyhow::Context as _;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OpenFlags};
use sqlx::error::ErrorKind;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How long a statement keeps trying while another process holds the file's write lock.
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// How long a caller waits for one of the pool's connections.
const ACQUIRE_WAIT: Duration = Duration::from_secs(10);

/// Connections a file's pool keeps (a service runs on one thread; one connection is held by a
/// write transaction, the others serve reads meanwhile).
const CONNECTIONS: usize = 4;

/// A pool of connections to one SQLite file (or one private in-memory database).
#[derive(Clone)]
pub struct LitePool {
    inner: Arc<Inner>,
}

struct Inner {
    /// The file; `None` for the in-memory database.
    path: Option<PathBuf>,
    idle: std::sync::Mutex<Vec<Connection>>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for LitePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LitePool")
            .field("path", &self.inner.path)
            .finish()
    }
}

/// Opens a SQLite file in WAL mode, creating it (and its directory) if missing; checkpoints run
/// in the background. `url` is `sqlite://<path>` (a `?query` is ignored) or `sqlite::memory:`.
pub async fn connect_lite(url: &str) -> anyhow::Result<LitePool> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .with_context(|| format!("bad sqlite url {url:?}"))?;
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() {
        anyhow::bail!("sqlite url {url:?} names no file");
    }
    if path == ":memory:" {
        return connect_lite_memory().await;
    }
    let path = PathBuf::from(path);
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let pool = LitePool {
        inner: Arc::new(Inner {
            path: Some(path.clone()),
            idle: std::sync::Mutex::default(),
            permits: Arc::new(tokio::sync::Semaphore::new(CONNECTIONS)),
        }),
    };
    // The first connection switches the file to WAL and proves it can be opened.
    let first = pool
        .open()
        .await
        .with_context(|| format!("cannot open sqlite database {url}"))?;
    pool.give_back(first);
    let checkpointer = pool
        .open()
        .await
        .with_context(|| format!("cannot open sqlite database {url}"))?;
    tokio::spawn(checkpoint(
        Arc::downgrade(&pool.inner),
        checkpointer,
        sqlite_writer(&path),
    ));
    Ok(pool)
}

/// A private in-memory SQLite database (one connection, so that every statement sees the same
/// database): the store of application tests.
pub async fn connect_lite_memory() -> anyhow::Result<LitePool> {
    let conn = Connection::open_in_memory().context("cannot open an in-memory sqlite database")?;
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .context("cannot set up an in-memory sqlite database")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(LitePool {
        inner: Arc::new(Inner {
            path: None,
            idle: std::sync::Mutex::new(vec![conn]),
            permits: Arc::new(tokio::sync::Semaphore::new(1)),
        }),
    })
}

/// Opens one connection to `path` with the stores' settings.
fn open_file(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    // No busy handler: a locked file answers at once and the caller waits without blocking its
    // thread (`retry`).
    conn.busy_timeout(Duration::ZERO)?;
    // A new file gets 1 KiB pages (SQLite's default is 4 KiB; an existing file keeps its own).
    // Every commit writes each page it touched into the log again, and a store's commit touches
    // a few small rows in a few indexes: with 4 KiB pages the roaming system wrote 350 KiB to the
    // disk per reservation, with 1 KiB pages 125 KiB (512 bytes: 86 KiB, but more CPU as rows
    // overflow), and the disk, not the CPU, is what bounds a machine like this one under load
    // (docs/scaling.md).
    conn.execute_batch("PRAGMA page_size = 1024")?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    // Checkpoints run in the background (`checkpoint`). No memory map: SQLite maps the whole
    // file and maps it afresh whenever the file grew, which a log like the bus's does after every
    // checkpoint; under load strace showed every connection of every process unmapping and mapping
    // the 35 MB bus file several times a second (a TLB shootdown on every core each time). Reads
    // through the page cache cost the same CPU per reservation, within the noise.
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = memory; \
         PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 134217728; PRAGMA mmap_size = 0;",
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl LitePool {
    /// Opens a connection, waiting while another process holds the file (switching it to WAL).
    async fn open(&self) -> Result<Connection, sqlx::Error> {
        let Some(path) = &self.inner.path else {
            return Err(sqlx::Error::PoolClosed);
        };
        let started = Instant::now();
        let mut attempt = 0u64;
        loop {
            match open_file(path) {
                Ok(conn) => return Ok(conn),
                Err(error) if is_busy(&error) && started.elapsed() < BUSY_WAIT => {
                    attempt += 1;
                    let pause = 5 + fastrand::u64(0..20) * attempt.min(4);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                Err(error) => return Err(to_sqlx(error)),
            }
        }
    }

    /// One of the pool's connections, for as long as the guard lives.
    async fn acquire(&self) -> Result<LiteConn, sqlx::Error> {
        let permit = tokio::time::timeout(ACQUIRE_WAIT, self.inner.permits.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.take_idle();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open().await?,
        };
        Ok(LiteConn {
            conn: Some(conn),
            pool: self.clone(),
            _permit: permit,
        })
    }

    /// Runs `work` on one of the pool's connections, on this thread, again after a pause while
    /// another process holds the file (`work` must be safe to repeat: one statement, or a
    /// transaction it begins and ends itself).
    pub async fn with<T>(
        &self,
        work: impl FnMut(&mut Connection) -> rusqlite::Result<T> + Send,
    ) -> Result<T, sqlx::Error> {
        let mut conn = self.acquire().await?;
        retry(conn.conn(), work).await
    }

    /// Runs one statement; the rows it changed.
    pub async fn execute(&self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, sqlx::Error> {
        self.with(|c| execute(c, sql, binds)).await
    }

    /// The integer the first column of the first row holds, if there is a row (and it is not
    /// `NULL`).
    pub async fn integer(&self, sql: &str, binds: &[Bind<'_>]) -> Result<Option<i64>, sqlx::Error> {
        self.with(|c| integer(c, sql, binds)).await
    }

    /// Every row of one statement, each made by `row`.
    pub async fn rows<T>(
        &self,
        sql: &str,
        binds: &[Bind<'_>],
        mut row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T> + Send,
    ) -> Result<Vec<T>, sqlx::Error> {
        self.with(|c| rows(c, sql, binds, &mut row)).await
    }

    /// Begins a write transaction.
    pub async fn begin(&self) -> Result<LiteTx, sqlx::Error> {
        let mut conn = self.acquire().await?;
        // Takes the write lock at once: a deferred transaction that writes later can fail busy.
        retry(conn.conn(), |c| c.execute_batch("BEGIN IMMEDIATE")).await?;
        Ok(LiteTx { conn })
    }

    fn take_idle(&self) -> Option<Connection> {
        self.inner.idle.lock().ok().and_then(|mut idle| idle.pop())
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.inner.idle.lock() {
            idle.push(conn);
        }
    }

    /// The file, `None` for the in-memory database.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }
}

/// A connection taken from a [`LitePool`]; back to the pool when dropped (a transaction left
/// open is rolled back first).
struct LiteConn {
    conn: Option<Connection>,
    pool: LitePool,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl LiteConn {
    fn conn(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("a connection until dropped")
    }
}

impl Drop for LiteConn {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
                // A connection that cannot say where its transaction stands is not reused.
                return;
            }
            self.pool.give_back(conn);
        }
    }
}

/// A write transaction (`BEGIN IMMEDIATE`) on one of the pool's connections; rolled back when
/// dropped without a commit.
pub struct LiteTx {
    conn: LiteConn,
}

impl LiteTx {
    /// Runs `work` in the transaction, again after a pause while another process holds the file.
    pub async fn with<T>(
        &mut self,
        work: impl FnMut(&mut Connection) -> rusqlite::Result<T> + Send,
    ) -> Result<T, sqlx::Error> {
        retry(self.conn.conn(), work).await
    }

    /// Runs one statement in the transaction; the rows it changed.
    pub async fn execute(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, sqlx::Error> {
        self.with(|c| execute(c, sql, binds)).await
    }

    /// Every row of one statement in the transaction, each made by `row`.
    pub async fn rows<T>(
        &mut self,
        sql: &str,
        binds: &[Bind<'_>],
        mut row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T> + Send,
    ) -> Result<Vec<T>, sqlx::Error> {
        self.with(|c| rows(c, sql, binds, &mut row)).await
    }

    /// The integer the first column of the first row holds, if there is a row (and it is not
    /// `NULL`), read in the transaction.
    pub async fn integer(
        &mut self,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Option<i64>, sqlx::Error> {
        self.with(|c| integer(c, sql, binds)).await
    }

    /// Commits.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        retry(self.conn.conn(), |c| c.execute_batch("COMMIT")).await
    }

    /// Rolls back.
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.conn.conn().execute_batch("ROLLBACK").map_err(to_sqlx)
    }
}

/// Runs `statement` on `conn`, again after a pause while another process holds the file.
async fn retry<T>(
    conn: &mut Connection,
    mut statement: impl FnMut(&mut Connection) -> rusqlite::Result<T> + Send,
) -> Result<T, sqlx::Error> {
    let started = Instant::now();
    let mut pause = Duration::from_micros(500);
    loop {
        match statement(conn) {
            Err(error) if is_busy(&error) && started.elapsed() < BUSY_WAIT => {
                let jitter = Duration::from_micros(fastrand::u64(0..=pause.as_micros() as u64));
                tokio::time::sleep(pause + jitter).await;
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            result => return result.map_err(to_sqlx),
        }
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// A bound parameter of a statement: of the SQL stores on any of their databases (the `sql`
/// module's `Backend`) and of the embedded bus.
#[derive(Clone, Copy, Debug)]
pub enum Bind<'a> {
    /// Text.
    Text(&'a str),
    /// An integer.
    Int(i64),
    /// Text or `NULL`.
    OptText(Option<&'a str>),
}

impl rusqlite::ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Bind::Text(text) | Bind::OptText(Some(text)) => {
                ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes()))
            }
            Bind::Int(value) => ToSqlOutput::Owned(Value::Integer(value)),
            Bind::OptText(None) => ToSqlOutput::Owned(Value::Null),
        })
    }
}

/// Runs one statement to its end; the rows it changed (none for a statement that only reads).
fn execute(conn: &mut Connection, sql: &str, binds: &[Bind<'_>]) -> rusqlite::Result<u64> {
    let mut statement = conn.prepare_cached(sql)?;
    let reads = statement.readonly();
    let mut rows = statement.query(rusqlite::params_from_iter(binds))?;
    while rows.next()?.is_some() {}
    drop(rows);
    drop(statement);
    Ok(if reads { 0 } else { conn.changes() })
}

/// Every row of `sql`, each made by `row`.
fn rows<T>(
    conn: &mut Connection,
    sql: &str,
    binds: &[Bind<'_>],
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let found = statement.query_map(rusqlite::params_from_iter(binds), row)?;
    found.collect()
}

/// The first column of the first row, if there is a row (and it is not `NULL`).
fn integer(conn: &mut Connection, sql: &str, binds: &[Bind<'_>]) -> rusqlite::Result<Option<i64>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut found = statement.query(rusqlite::params_from_iter(binds))?;
    match found.next()? {
        Some(row) => row.get::<_, Option<i64>>(0),
        None => Ok(None),
    }
}

/// A write-ahead log longer than this is started over under the writer lock (1 MiB in the unit
/// tests, so that one shows it in a second).
#[cfg(not(test))]
const RESTART_BYTES: i64 = 64 << 20;
#[cfg(test)]
const RESTART_BYTES: i64 = 1 << 20;

/// How long a restart waits, with this process's writers held back, for the file's write lock
/// (another process's transaction) and for readers still reading from the log; past it the
/// restart is left for the next round.
const RESTART_WAIT: Duration = Duration::from_millis(20);

/// Moves the write-ahead log into the database file every half second on the blocking pool, so
/// that neither a commit nor the service's thread pays for it (SQLite's automatic checkpoint runs
/// inside the commit that crosses its threshold, and was the slowest percentile of every
/// benchmark).
///
/// A passive checkpoint copies the log into the database but never starts the log over: SQLite
/// does that only when a writer begins while the whole log is copied and no reader is reading
/// from it, which under steady writes does not happen, so the log grows for as long as the load
/// lasts (measured at 500 reservations/s: the roaming system's logs reached 5 GB in 60 s, and a
/// longer log is slower to look pages up in). So once a log is past [`RESTART_BYTES`] it is
/// started over: right after a passive round (so that little is left to copy), with this
/// process's writers held back, a `RESTART` checkpoint copies the rest, syncs, waits briefly for
/// readers to leave the log, and the next writer writes from the log's start again. The file
/// keeps its length (nothing to truncate, no blocks to allocate again). The hold costs a sync of
/// the database file, 10–50 ms on this machine under load, which is why it is not done every
/// round.
async fn checkpoint(pool: Weak<Inner>, conn: Connection, writer: Arc<tokio::sync::Mutex<()>>) {
    /// Runs a passive checkpoint on the blocking pool: the log's pages and those copied (both
    /// -1 when another connection was checkpointing the file).
    async fn passive(conn: Connection) -> Option<(Connection, rusqlite::Result<(i64, i64)>)> {
        tokio::task::spawn_blocking(move || {
            let pages = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
            });
            (conn, pages)
        })
        .await
        .ok()
    }
    /// The restart's busy handler: polls every 100 µs (SQLite's own sleeps 1, 2, 5, 10 ms…, far
    /// longer than a reader stays) for up to [`RESTART_WAIT`].
    fn restart_busy(count: i32) -> bool {
        const POLL: Duration = Duration::from_micros(100);
        if POLL * u32::try_from(count).unwrap_or(u32::MAX) >= RESTART_WAIT {
            return false;
        }
        std::thread::sleep(POLL);
        true
    }
    let page: i64 = conn
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .unwrap_or(4096);
    let restart_pages = RESTART_BYTES / page.max(512);
    let mut conn = Some(conn);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.strong_count() == 0 {
            return;
        }
        let Some(taken) = conn.take() else { return };
        let Some((mut taken, pages)) = passive(taken).await else {
            return;
        };
        match pages {
            Ok((log, _)) if log > restart_pages => {
                let _writer = writer.lock().await;
                let held = Instant::now();
                let restarted = tokio::task::spawn_blocking(move || {
                    let result = taken.busy_handler(Some(restart_busy)).and_then(|()| {
                        taken.query_row("PRAGMA wal_checkpoint(RESTART)", [], |row| {
                            row.get::<_, i64>(0)
                        })
                    });
                    let reset = taken.busy_handler(None);
                    (taken, result.and_then(|busy| reset.map(|()| busy)))
                })
                .await;
                let Ok((restarted, result)) = restarted else {
                    return;
                };
                tracing::debug!(
                    log,
                    held_ms = held.elapsed().as_secs_f64() * 1000.0,
                    ?result,
                    "write-ahead log restart (busy = 1: a writer or reader stayed; next round)"
                );
                taken = restarted;
            }
            Ok(_) => {}
            Err(error) => tracing::debug!(%error, "checkpoint failed; retrying later"),
        }
        conn = Some(taken);
    }
}

/// A SQLite error as sqlx carries a database's: the message, the extended result code, the
/// constraint kind.
#[derive(Debug)]
struct LiteError {
    code: i32,
    message: String,
}

impl std::fmt::Display for LiteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for LiteError {}

impl sqlx::error::DatabaseError for LiteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use rusqlite::ffi;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

/// rusqlite's error as sqlx's: what SQLite answered is a database error, a value of the wrong
/// type a decoding error.
fn to_sqlx(error: rusqlite::Error) -> sqlx::Error {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => {
            sqlx::Error::Database(Box::new(LiteError {
                code: failure.extended_code,
                message: message.unwrap_or_else(|| failure.to_string()),
            }))
        }
        other => sqlx::Error::Decode(Box::new(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_unique_violation_reads_as_one() {
        let pool = connect_lite_memory().await.unwrap();
        pool.with(|c| c.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY)"))
            .await
            .unwrap();
        let insert = "INSERT INTO t (k) VALUES (?)";
        assert_eq!(pool.execute(insert, &[Bind::Text("a")]).await.unwrap(), 1);
        let error = pool.execute(insert, &[Bind::Text("a")]).await.unwrap_err();
        assert!(
            error
                .as_database_error()
                .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_dropped_transaction_leaves_nothing_and_the_connection_usable() {
        let pool = connect_lite_memory().await.unwrap();
        pool.with(|c| c.execute_batch("CREATE TABLE t (k TEXT)"))
            .await
            .unwrap();
        let mut tx = pool.begin().await.unwrap();
        tx.execute("INSERT INTO t (k) VALUES (?)", &[Bind::Text("a")])
            .await
            .unwrap();
        drop(tx);
        let count = pool.integer("SELECT COUNT(*) FROM t", &[]).await.unwrap();
        assert_eq!(count, Some(0));
        let mut tx = pool.begin().await.unwrap();
        tx.execute("INSERT INTO t (k) VALUES (?)", &[Bind::Text("b")])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let texts = pool
            .rows("SELECT k FROM t", &[], |row| row.get::<_, String>(0))
            .await
            .unwrap();
        assert_eq!(texts, vec!["b".to_owned()]);
    }

    #[tokio::test]
    async fn a_writer_of_another_process_is_waited_for_without_blocking_the_thread() {
        let dir = std::env::temp_dir().join(format!("lite-busy-{}", uuid::Uuid::now_v7()));
        let url = format!("sqlite://{}/x.db", dir.display());
        let pool = connect_lite(&url).await.unwrap();
        pool.with(|c| c.execute_batch("CREATE TABLE t (k TEXT)"))
            .await
            .unwrap();
        // Another "process": a connection of its own, holding the write lock for a while.
        let other = open_file(&dir.join("x.db")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let holder = tokio::task::spawn_blocking(move || {
            let _ = released.blocking_recv();
            other.execute_batch("COMMIT").unwrap();
        });
        let ticks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let waiting = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.execute("INSERT INTO t (k) VALUES (?)", &[Bind::Text("a")])
                    .await
            }
        });
        // The thread keeps running other tasks while the insert waits for the lock.
        let before = ticks.load(std::sync::atomic::Ordering::Relaxed);
        crate::testing::eventually(Duration::from_secs(5), || {
            let ticked = ticks.load(std::sync::atomic::Ordering::Relaxed) >= before + 10;
            async move { ticked }
        })
        .await;
        assert!(
            !waiting.is_finished(),
            "the insert went through a held lock"
        );
        release.send(()).unwrap();
        holder.await.unwrap();
        assert_eq!(waiting.await.unwrap().unwrap(), 1);
        ticker.abort();
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_new_file_has_small_pages_and_its_log_starts_over_under_steady_writes() {
        let dir = std::env::temp_dir().join(format!("lite-wal-{}", uuid::Uuid::now_v7()));
        let url = format!("sqlite://{}/x.db", dir.display());
        let pool = connect_lite(&url).await.unwrap();
        let page = pool.integer("PRAGMA page_size", &[]).await.unwrap();
        assert_eq!(page, Some(1024));
        pool.with(|c| c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT)"))
            .await
            .unwrap();
        // Steady writes, a few MB a second, never a pause long enough for a checkpoint to catch
        // up: 8 KiB rows rewritten in place, so the database stays small and only the log could
        // grow (the file keeps the length the log reached between two restarts).
        let row = "x".repeat(8 * 1024);
        let wal = dir.join("x.db-wal");
        let started = Instant::now();
        let mut written = 0usize;
        while written < 12 << 20 || started.elapsed() < Duration::from_secs(2) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the writes took too long"
            );
            let id = (written / row.len()) as i64 % 16;
            pool.execute(
                "INSERT OR REPLACE INTO t (id, k) VALUES (?, ?)",
                &[Bind::Int(id), Bind::Text(&row)],
            )
            .await
            .unwrap();
            written += row.len();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let log = std::fs::metadata(&wal).unwrap().len();
        assert!(
            log < 8 << 20,
            "the log is {log} bytes after {written} bytes of rows: it was never started over"
        );
        let rows = pool.integer("SELECT COUNT(*) FROM t", &[]).await.unwrap();
        assert_eq!(rows, Some(16));
        drop(pool);
        let _ = std::fs::remove_dir_all(dir);
    }
}
