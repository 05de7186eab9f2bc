//! Relational stores (SQLite, PostgreSQL, MariaDB/MySQL): connections, migrations, and the
//! transaction type through which a service changes state, appends to its outbox and records its
//! inbox — all in one commit.
//!
//! There is no way to publish an event except [`Tx::publish`], so an event cannot leave without
//! the state change that caused it, nor a state change commit without its events.

mod backend;
mod dialect;
mod documents;
mod lite;
mod store;

use crate::aggregate::{Cause, DocumentStore};
use crate::context;
use crate::deadletter::{DeadLetter, DeadLetterStore};
use crate::envelope::{Envelope, NewEvent};
use crate::health::ReadinessCheck;
use crate::outbox::OutboxSource;
pub use crate::sqlite::{Bind, LitePool, LiteTx, connect_lite, connect_lite_memory};
use anyhow::Context as _;
use async_trait::async_trait;
pub use backend::{Backend, Flavor};
use documents::{DocumentSql, DocumentTx};
pub use lite::Lite;
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, Postgres};
use sqlx::{ConnectOptions as _, Pool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

// Their own modules now (no import circle through the buses); kept here for the services.
pub use crate::clock::{from_millis, millis, now_millis};
pub use crate::config::redact;
pub use crate::sqlite::{connect_sqlite, sqlite_writer};

/// One schema change of a component, applied once and recorded in `msa_migrations`.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// Increasing version within the component.
    pub version: i64,
    /// A short description.
    pub name: &'static str,
    /// The statements, separated by `;` at line ends.
    pub sql: &'static str,
}

/// The kind of store a URL points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// `sqlite://path` or `sqlite::memory:`.
    Sqlite,
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `mysql://` or `mariadb://`.
    MySql,
    /// `redis://`.
    Redis,
}

impl StoreKind {
    /// Tells the kind of a store URL, or says clearly why the URL is not understood.
    pub fn of(url: &str) -> anyhow::Result<Self> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "mysql" | "mariadb" => Ok(Self::MySql),
            "redis" | "rediss" => Ok(Self::Redis),
            _ => anyhow::bail!(
                "store url {url:?} has an unknown scheme; use sqlite://, postgres://, mysql:// or redis://"
            ),
        }
    }
}

/// A service's store on whichever SQL database its URL names, with the kernel's tables
/// migrated: aggregates (see [`crate::aggregate`]), outbox, inbox and dead letters.
#[derive(Clone)]
pub struct Storage {
    name: Arc<str>,
    documents: Arc<dyn DocumentStore>,
    outbox: Option<Arc<dyn OutboxSource>>,
    dead_letters: Arc<dyn DeadLetterStore>,
    check: Arc<dyn ReadinessCheck>,
    kept: crate::model::Kept,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("service", &self.name)
            .finish()
    }
}

impl Storage {
    /// Connects service `name`'s store at `url` (SQLite, PostgreSQL or MySQL/MariaDB, with the
    /// kernel's tables migrated; or Redis, for read models, which publish nothing).
    pub async fn open(url: &str, name: &str) -> anyhow::Result<Self> {
        match StoreKind::of(url)? {
            StoreKind::Sqlite => {
                Self::migrated(SqlStore::<Lite>::new(connect_lite(url).await?, name)).await
            }
            StoreKind::Postgres => {
                Self::migrated(SqlStore::<Postgres>::new(
                    connect_postgres(url).await?,
                    name,
                ))
                .await
            }
            StoreKind::MySql => {
                Self::migrated(SqlStore::<MySql>::new(connect_mysql(url).await?, name)).await
            }
            StoreKind::Redis => {
                let store = Arc::new(crate::redis::RedisStore::connect(url, name).await?);
                Ok(Self {
                    name: name.into(),
                    documents: store.clone(),
                    outbox: None,
                    dead_letters: store.clone(),
                    check: store,
                    kept: crate::model::Kept::default(),
                })
            }
        }
    }

    /// A private in-memory store for service `name`: for application tests.
    pub async fn memory(name: &str) -> anyhow::Result<Self> {
        Self::migrated(SqlStore::<Lite>::new(connect_lite_memory().await?, name)).await
    }

    async fn migrated<DB: Backend>(store: SqlStore<DB>) -> anyhow::Result<Self>
    where
        SqlStore<DB>: DocumentSql + DocumentStore + OutboxSource + DeadLetterStore + ReadinessCheck,
    {
        DocumentSql::migrate_kernel(&store).await?;
        let store = Arc::new(store);
        Ok(Self {
            name: store.name().into(),
            documents: store.clone(),
            outbox: Some(store.clone()),
            dead_letters: store.clone(),
            check: store,
            kept: crate::model::Kept::default(),
        })
    }

    /// A repository of aggregates of kind `A` in this store.
    pub fn repository<A: crate::aggregate::Aggregate>(&self) -> crate::aggregate::Repository<A> {
        self.kept.keep(A::KIND, A::PUBLISHES);
        crate::aggregate::Repository::new(self.documents.clone())
    }

    /// The aggregates asked for so far (see [`crate::model`]).
    pub fn kept(&self) -> &crate::model::Kept {
        &self.kept
    }

    /// The documents, keys and counters.
    pub fn documents(&self) -> &Arc<dyn DocumentStore> {
        &self.documents
    }

    /// The outbox, for the relay (a Redis store has none).
    pub fn outbox(&self) -> Option<&Arc<dyn OutboxSource>> {
        self.outbox.as_ref()
    }

    /// Where this service's failing deliveries are parked.
    pub fn dead_letters(&self) -> &Arc<dyn DeadLetterStore> {
        &self.dead_letters
    }

    /// The store's readiness check.
    pub fn check(&self) -> &Arc<dyn ReadinessCheck> {
        &self.check
    }
}

/// Connects to PostgreSQL, creating the database named in the URL if it does not exist yet.
pub async fn connect_postgres(url: &str) -> anyhow::Result<Pool<Postgres>> {
    let options = PgConnectOptions::from_str(url)
        .with_context(|| format!("bad postgres url {url:?}"))?
        .disable_statement_logging();
    if let Some(database) = options.get_database().map(str::to_owned) {
        let admin = options.clone().database("postgres");
        let mut conn = admin
            .connect()
            .await
            .context("cannot connect to postgres to create the database")?;
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(&database)
                .fetch_optional(&mut conn)
                .await
                .context("cannot look up the postgres database")?;
        if exists.is_none() {
            let create = format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\""));
            if let Err(error) = sqlx::raw_sql(&create).execute(&mut conn).await {
                // Another replica may have created it first.
                let raced = error
                    .as_database_error()
                    .and_then(|e| e.code())
                    .is_some_and(|code| code == "42P04" || code == "23505");
                if !raced {
                    return Err(error).context("cannot create the postgres database");
                }
            }
        }
    }
    PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .with_context(|| format!("cannot connect to postgres at {}", redact(url)))
}

/// Connects to MariaDB / MySQL, creating the database named in the URL if it does not exist yet.
pub async fn connect_mysql(url: &str) -> anyhow::Result<Pool<MySql>> {
    let url = url.replacen("mariadb://", "mysql://", 1);
    let options = MySqlConnectOptions::from_str(&url)
        .with_context(|| format!("bad mysql url {:?}", redact(&url)))?
        .disable_statement_logging();
    let database = url
        .rsplit_once('/')
        .map(|(_, db)| db.split('?').next().unwrap_or_default().to_owned())
        .filter(|db| !db.is_empty() && !db.contains('@'));
    if let Some(database) = database {
        let mut conn = MySqlConnectOptions::from_str(&url)?
            .database("mysql")
            .connect()
            .await
            .context("cannot connect to mysql to create the database")?;
        let create = format!(
            "CREATE DATABASE IF NOT EXISTS `{}` CHARACTER SET utf8mb4",
            database.replace('`', "``")
        );
        sqlx::raw_sql(&create)
            .execute(&mut conn)
            .await
            .context("cannot create the mysql database")?;
    }
    MySqlPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .with_context(|| format!("cannot connect to mysql at {}", redact(&url)))
}

/// A service's relational store: a pool, the service's name (outbox source and inbox consumer),
/// and the relay to wake after each commit.
pub struct SqlStore<DB: Backend> {
    pool: DB::Pool,
    name: Arc<str>,
    wake: Arc<Notify>,
    /// The file's writer queue, for SQLite (see [`sqlite_writer`]).
    writer: Arc<std::sync::OnceLock<Arc<tokio::sync::Mutex<()>>>>,
}

impl<DB: Backend> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            name: self.name.clone(),
            wake: self.wake.clone(),
            writer: self.writer.clone(),
        }
    }
}

impl<DB: Backend> std::fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("name", &self.name)
            .finish()
    }
}

impl<DB: Backend> SqlStore<DB> {
    /// Wraps `pool` for service `name` (`<system>/<service>`), which is the outbox `source` and
    /// the inbox consumer name.
    pub fn new(pool: DB::Pool, name: &str) -> Self {
        Self {
            pool,
            name: name.into(),
            wake: Arc::new(Notify::new()),
            writer: Arc::default(),
        }
    }

    /// The pool, for queries that only read.
    pub fn pool(&self) -> &DB::Pool {
        &self.pool
    }

    /// The service name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A database transaction of a service: its state changes, its outbox appends and its inbox
/// record commit together or not at all.
pub struct Tx<DB: Backend> {
    tx: DB::Tx,
    source: Arc<str>,
    wake: Arc<Notify>,
    traceparent: Option<String>,
    causation: Option<Uuid>,
    published: usize,
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<DB: Backend> std::fmt::Debug for Tx<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").field("source", &self.source).finish()
    }
}

impl<DB: Backend> Tx<DB> {
    /// Runs one of the service's own statements in the transaction (written with this
    /// database's placeholders, or with `$n` through [`Backend::statement`]); the rows it changed.
    pub async fn exec(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, sqlx::Error> {
        DB::execute_in(&mut self.tx, sql, binds).await
    }

    /// The integer the first column of the first row holds, if there is a row, read in the
    /// transaction.
    pub async fn scalar(
        &mut self,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Option<i64>, sqlx::Error> {
        DB::integer_in(&mut self.tx, sql, binds).await
    }

    /// Events appended so far.
    pub fn published(&self) -> usize {
        self.published
    }
}

fn split_statements(sql: &'static str) -> impl Iterator<Item = &'static str> {
    sql.split(";\n")
        .flat_map(|chunk| chunk.split(";\r\n"))
        .map(|s| s.trim().trim_end_matches(';').trim())
        .filter(|s| {
            !s.is_empty()
                && !s
                    .lines()
                    .all(|l| l.trim().is_empty() || l.trim().starts_with("--"))
        })
}

fn decode_dead_letter(row: DeadLetterRow) -> DeadLetter {
    let (
        id,
        consumer,
        event_id,
        subject,
        event_type,
        payload,
        error,
        attempts,
        parked_at,
        replayed_at,
    ) = row;
    DeadLetter {
        id,
        consumer,
        event_id,
        subject,
        event_type,
        payload,
        error,
        attempts: attempts as u32,
        parked_at,
        replayed_at,
    }
}

pub(crate) type DeadLetterRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
    i64,
    Option<i64>,
);

/// Whether `error` is a unique-constraint violation (a concurrent insert won).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_split_at_line_end_semicolons() {
        let sql = "CREATE TABLE a (x INT);\n-- comment only\n;\nCREATE INDEX i ON a (x);\n";
        let parts: Vec<&str> = split_statements(sql).collect();
        assert_eq!(
            parts,
            vec!["CREATE TABLE a (x INT)", "CREATE INDEX i ON a (x)"]
        );
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn store_kinds_follow_the_url_scheme() {
        assert_eq!(StoreKind::of("sqlite://x.db").unwrap(), StoreKind::Sqlite);
        assert_eq!(
            StoreKind::of("postgresql://h/db").unwrap(),
            StoreKind::Postgres
        );
        assert_eq!(StoreKind::of("mariadb://h/db").unwrap(), StoreKind::MySql);
        assert!(StoreKind::of("ftp://x").is_err());
    }
}

#[cfg(test)]
mod send_checks {
    use super::*;
    fn assert_send<T: Send>(_: T) {}
    #[allow(dead_code)]
    fn futures_are_send(
        store: SqlStore<Lite>,
        tx: Tx<Lite>,
        mut tx2: Tx<Lite>,
        e: Envelope,
        n: NewEvent,
    ) {
        assert_send(store.migrate("x", &[]));
        assert_send(store.begin_handling(&e));
        assert_send(store.begin());
        assert_send(tx.commit());
        assert_send(tx2.publish(n));
        assert_send(store.ping());
        assert_send(store.has_handled(e.id));
    }
}
