//! Relational stores (SQLite, PostgreSQL, MariaDB/MySQL): connections, migrations, and the
//! transaction type through which a service changes state, appends to its outbox and records its
//! inbox — all in one commit.
//!
//! There is no way to publish an event except [`Tx::publish`], so an event cannot leave without
//! the state change that caused it, nor a state change commit without its events.

mod dialect;
mod documents;

use crate::aggregate::{Cause, DocumentStore};
use crate::context;
use crate::deadletter::{DeadLetter, DeadLetterStore};
use crate::envelope::{Envelope, NewEvent};
use crate::health::ReadinessCheck;
use crate::outbox::OutboxSource;
use anyhow::Context as _;
use async_trait::async_trait;
use dialect::Dialect;
use documents::{Bind, DocumentSql, DocumentTx};
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, Postgres};
use sqlx::sqlite::Sqlite;
use sqlx::{ConnectOptions as _, Database, Executor as _, Pool, Row as _, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

// Their own modules now (no import circle through the buses); kept here for the services.
pub use crate::clock::{from_millis, millis, now_millis};
pub use crate::config::redact;
pub use crate::sqlite::{connect_sqlite, connect_sqlite_memory, sqlite_writer};

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

/// The file of a database that allows a single writer (SQLite), `None` for the others.
trait SingleWriter {
    fn single_writer_file(&self) -> Option<std::path::PathBuf>;
}

impl SingleWriter for Pool<Sqlite> {
    fn single_writer_file(&self) -> Option<std::path::PathBuf> {
        Some(self.connect_options().get_filename().to_owned())
    }
}

impl SingleWriter for Pool<Postgres> {
    fn single_writer_file(&self) -> Option<std::path::PathBuf> {
        None
    }
}

impl SingleWriter for Pool<MySql> {
    fn single_writer_file(&self) -> Option<std::path::PathBuf> {
        None
    }
}

fn single_writer_file(pool: &impl SingleWriter) -> Option<std::path::PathBuf> {
    pool.single_writer_file()
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
                Self::migrated(SqlStore::new(connect_sqlite(url).await?, name)).await
            }
            StoreKind::Postgres => {
                Self::migrated(SqlStore::new(connect_postgres(url).await?, name)).await
            }
            StoreKind::MySql => {
                Self::migrated(SqlStore::new(connect_mysql(url).await?, name)).await
            }
            StoreKind::Redis => {
                let store = Arc::new(crate::redis::RedisStore::connect(url, name).await?);
                Ok(Self {
                    name: name.into(),
                    documents: store.clone(),
                    outbox: None,
                    dead_letters: store.clone(),
                    check: store,
                })
            }
        }
    }

    /// A private in-memory store for service `name`: for application tests.
    pub async fn memory(name: &str) -> anyhow::Result<Self> {
        Self::migrated(SqlStore::new(connect_sqlite_memory().await?, name)).await
    }

    async fn migrated<DB: Database>(store: SqlStore<DB>) -> anyhow::Result<Self>
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
        })
    }

    /// A repository of aggregates of kind `A` in this store.
    pub fn repository<A: crate::aggregate::Aggregate>(&self) -> crate::aggregate::Repository<A> {
        crate::aggregate::Repository::new(self.documents.clone())
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
pub struct SqlStore<DB: Database> {
    pool: Pool<DB>,
    name: Arc<str>,
    wake: Arc<Notify>,
    /// The file's writer queue, for SQLite (see [`sqlite_writer`]).
    writer: Arc<std::sync::OnceLock<Arc<tokio::sync::Mutex<()>>>>,
}

impl<DB: Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            name: self.name.clone(),
            wake: self.wake.clone(),
            writer: self.writer.clone(),
        }
    }
}

impl<DB: Database> std::fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("name", &self.name)
            .finish()
    }
}

impl<DB: Database> SqlStore<DB> {
    /// Wraps `pool` for service `name` (`<system>/<service>`), which is the outbox `source` and
    /// the inbox consumer name.
    pub fn new(pool: Pool<DB>, name: &str) -> Self {
        Self {
            pool,
            name: name.into(),
            wake: Arc::new(Notify::new()),
            writer: Arc::default(),
        }
    }

    /// The pool, for queries that only read.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// The service name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A database transaction of a service: its state changes, its outbox appends and its inbox
/// record commit together or not at all.
pub struct Tx<DB: Database> {
    tx: Transaction<'static, DB>,
    source: Arc<str>,
    wake: Arc<Notify>,
    traceparent: Option<String>,
    causation: Option<Uuid>,
    published: usize,
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<DB: Database> std::fmt::Debug for Tx<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").field("source", &self.source).finish()
    }
}

impl<DB: Database> Tx<DB> {
    /// The connection inside the transaction, for the service's own statements.
    pub fn conn(&mut self) -> &mut DB::Connection {
        &mut self.tx
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

type DeadLetterRow = (
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

macro_rules! sql_backend {
    ($db:ty, $dialect:expr, $begin:literal) => {
        impl SqlStore<$db> {
            const DIALECT: &'static Dialect = &$dialect;

            /// Takes the in-process writer lock where the database has a single writer.
            async fn write_guard(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
                let file = single_writer_file(&self.pool)?;
                let writer = self.writer.get_or_init(|| sqlite_writer(&file)).clone();
                Some(writer.lock_owned().await)
            }

            /// Starts a write transaction; events published in it carry the ambient trace context.
            pub async fn begin(&self) -> anyhow::Result<Tx<$db>> {
                let writer = self.write_guard().await;
                let tx = if $begin.is_empty() {
                    self.pool.begin().await
                } else {
                    self.pool.begin_with($begin).await
                }
                .context("cannot begin a transaction")?;
                let ambient = context::current();
                Ok(Tx {
                    tx,
                    source: self.name.clone(),
                    wake: self.wake.clone(),
                    traceparent: ambient.traceparent,
                    causation: ambient.causation,
                    published: 0,
                    _writer: writer,
                })
            }

            /// Starts the transaction that handles `event`, recording it in the inbox first.
            ///
            /// Returns `None` when this service already handled the event: a redelivery has no
            /// second effect. Events published in the transaction are caused by `event`.
            pub async fn begin_handling(
                &self,
                event: &Envelope,
            ) -> anyhow::Result<Option<Tx<$db>>> {
                self.begin_caused_by(&Cause::of(event)).await
            }

            /// Starts the transaction that handles the event behind `cause` (see
            /// [`Self::begin_handling`]).
            pub async fn begin_caused_by(&self, event: &Cause) -> anyhow::Result<Option<Tx<$db>>> {
                let mut tx = self.begin().await?;
                let consumer = match &event.scope {
                    Some(scope) => format!("{}#{scope}", self.name),
                    None => self.name.to_string(),
                };
                let inserted = sqlx::query(Self::DIALECT.inbox_insert)
                    .bind(consumer)
                    .bind(event.event_id.to_string())
                    .bind(now_millis())
                    .execute(&mut *tx.tx)
                    .await
                    .context("cannot record the event in the inbox")?
                    .rows_affected();
                if inserted == 0 {
                    tx.tx.rollback().await.context("cannot roll back")?;
                    return Ok(None);
                }
                tx.causation = Some(event.event_id);
                if event.traceparent.is_some() {
                    tx.traceparent = event.traceparent.clone();
                }
                Ok(Some(tx))
            }

            /// Starts the transaction of a command (`cause` is `None`) or of the handling of an
            /// event (see [`Self::begin_handling`]); `None` when the event was handled before.
            pub async fn begin_for(
                &self,
                cause: Option<&Envelope>,
            ) -> anyhow::Result<Option<Tx<$db>>> {
                match cause {
                    Some(event) => self.begin_handling(event).await,
                    None => self.begin().await.map(Some),
                }
            }

            /// Whether this service has handled `event_id` (for tests and diagnostics).
            pub async fn has_handled(&self, event_id: Uuid) -> anyhow::Result<bool> {
                let sql = format!(
                    "SELECT COUNT(*) FROM msa_inbox WHERE consumer = {} AND event_id = {}",
                    (Self::DIALECT.placeholder)(1),
                    (Self::DIALECT.placeholder)(2)
                );
                let count: i64 = sqlx::query_scalar(&sql)
                    .bind(&*self.name)
                    .bind(event_id.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .context("cannot read the inbox")?;
                Ok(count > 0)
            }

            /// Creates the kernel's tables, then applies `component`'s migrations not applied yet.
            pub async fn migrate(
                &self,
                component: &str,
                migrations: &[Migration],
            ) -> anyhow::Result<()> {
                self.migrate_kernel().await?;
                for migration in migrations {
                    let mut tx = self.begin().await?;
                    let applied: i64 = sqlx::query_scalar(Self::DIALECT.migration_applied)
                        .bind(component)
                        .bind(migration.version)
                        .fetch_one(&mut *tx.tx)
                        .await
                        .context("cannot read applied migrations")?;
                    if applied > 0 {
                        continue;
                    }
                    let statements: Vec<&'static str> = split_statements(migration.sql).collect();
                    for statement in statements {
                        let conn: &mut <$db as Database>::Connection = &mut tx.tx;
                        if let Err(error) = conn.execute(sqlx::raw_sql(statement)).await {
                            return Err(error).with_context(|| {
                                format!(
                                    "migration {component} v{} ({}) failed",
                                    migration.version, migration.name
                                )
                            });
                        }
                    }
                    let recorded = sqlx::query(Self::DIALECT.migration_record)
                        .bind(component)
                        .bind(migration.version)
                        .bind(migration.name)
                        .bind(now_millis())
                        .execute(&mut *tx.tx)
                        .await;
                    match recorded {
                        Ok(_) => tx.tx.commit().await.context("cannot commit a migration")?,
                        // A replica starting at the same time applied it first.
                        Err(error) if is_unique_violation(&error) => {}
                        Err(error) => return Err(error).context("cannot record a migration"),
                    }
                    tracing::info!(
                        component,
                        version = migration.version,
                        name = migration.name,
                        "applied migration"
                    );
                }
                Ok(())
            }

            /// Creates the kernel's tables where missing.
            pub async fn migrate_kernel(&self) -> anyhow::Result<()> {
                for statement in Self::DIALECT.schema.iter().chain(Self::DIALECT.documents) {
                    (&self.pool)
                        .execute(sqlx::raw_sql(statement))
                        .await
                        .context("cannot create the kernel tables")?;
                }
                Ok(())
            }

            /// Answers whether the store is reachable.
            pub async fn ping(&self) -> anyhow::Result<()> {
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .context("store unreachable")?;
                Ok(())
            }
        }

        impl Tx<$db> {
            /// Appends `event` to the outbox, to be published after (and only if) this commits.
            pub async fn publish(&mut self, event: NewEvent) -> anyhow::Result<Envelope> {
                let envelope =
                    event.into_envelope(&self.source, self.traceparent.clone(), self.causation);
                sqlx::query(SqlStore::<$db>::DIALECT.outbox_insert)
                    .bind(envelope.id.to_string())
                    .bind(&envelope.subject)
                    .bind(&envelope.event_type)
                    .bind(envelope.to_json())
                    .bind(now_millis())
                    .execute(&mut *self.tx)
                    .await
                    .context("cannot append to the outbox")?;
                self.published += 1;
                Ok(envelope)
            }

            /// Commits state, outbox and inbox together, then wakes the relay.
            pub async fn commit(self) -> anyhow::Result<()> {
                self.tx.commit().await.context("cannot commit")?;
                if self.published > 0 {
                    self.wake.notify_one();
                }
                Ok(())
            }

            /// Abandons the transaction.
            pub async fn rollback(self) -> anyhow::Result<()> {
                self.tx.rollback().await.context("cannot roll back")
            }
        }

        #[async_trait]
        impl OutboxSource for SqlStore<$db> {
            fn name(&self) -> &str {
                &self.name
            }

            fn wake(&self) -> Arc<Notify> {
                self.wake.clone()
            }

            async fn try_lease(
                &self,
                lease: &str,
                owner: &str,
                ttl: Duration,
            ) -> anyhow::Result<bool> {
                let _writer = self.write_guard().await;
                let now = now_millis();
                let expires = now + ttl.as_millis() as i64;
                let renewed = sqlx::query(Self::DIALECT.lease_renew)
                    .bind(owner)
                    .bind(expires)
                    .bind(lease)
                    .bind(owner)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .context("cannot renew the relay lease")?
                    .rows_affected();
                if renewed > 0 {
                    return Ok(true);
                }
                let inserted = sqlx::query(Self::DIALECT.lease_insert)
                    .bind(lease)
                    .bind(owner)
                    .bind(expires)
                    .execute(&self.pool)
                    .await
                    .context("cannot take the relay lease")?
                    .rows_affected();
                Ok(inserted > 0)
            }

            async fn unpublished(&self, limit: u32) -> anyhow::Result<Vec<(i64, Envelope)>> {
                let rows: Vec<(i64, String)> = sqlx::query_as(Self::DIALECT.outbox_unpublished)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .context("cannot read the outbox")?;
                rows.into_iter()
                    .map(|(position, json)| {
                        let envelope = Envelope::from_json(json.as_bytes())
                            .with_context(|| format!("outbox row {position} is not an envelope"))?;
                        Ok((position, envelope))
                    })
                    .collect()
            }

            async fn mark_published(&self, positions: &[i64]) -> anyhow::Result<()> {
                let _writer = self.write_guard().await;
                if positions.is_empty() {
                    return Ok(());
                }
                let placeholders: Vec<String> = (0..positions.len())
                    .map(|i| (Self::DIALECT.placeholder)(i + 2))
                    .collect();
                let sql = format!(
                    "{}{})",
                    Self::DIALECT.outbox_mark_prefix,
                    placeholders.join(", ")
                );
                let mut query = sqlx::query(&sql).bind(now_millis());
                for position in positions {
                    query = query.bind(*position);
                }
                query
                    .execute(&self.pool)
                    .await
                    .context("cannot mark outbox rows published")?;
                Ok(())
            }

            async fn backlog(&self) -> anyhow::Result<u64> {
                let count: i64 = sqlx::query_scalar(Self::DIALECT.outbox_backlog)
                    .fetch_one(&self.pool)
                    .await
                    .context("cannot count the outbox backlog")?;
                Ok(count as u64)
            }

            async fn purge(&self, before_millis: i64) -> anyhow::Result<()> {
                let _writer = self.write_guard().await;
                sqlx::query(Self::DIALECT.outbox_purge)
                    .bind(before_millis)
                    .execute(&self.pool)
                    .await
                    .context("cannot purge the outbox")?;
                sqlx::query(Self::DIALECT.inbox_purge)
                    .bind(before_millis)
                    .execute(&self.pool)
                    .await
                    .context("cannot purge the inbox")?;
                Ok(())
            }
        }

        #[async_trait]
        impl DeadLetterStore for SqlStore<$db> {
            async fn park(
                &self,
                payload: &str,
                envelope: Option<&Envelope>,
                error: &str,
                attempts: u32,
            ) -> anyhow::Result<()> {
                let _writer = self.write_guard().await;
                sqlx::query(Self::DIALECT.dead_letter_insert)
                    .bind(&*self.name)
                    .bind(envelope.map(|e| e.id.to_string()))
                    .bind(envelope.map(|e| e.subject.clone()))
                    .bind(envelope.map(|e| e.event_type.clone()))
                    .bind(payload)
                    .bind(error)
                    .bind(i64::from(attempts))
                    .bind(now_millis())
                    .execute(&self.pool)
                    .await
                    .context("cannot park a dead letter")?;
                Ok(())
            }

            async fn list(&self) -> anyhow::Result<Vec<DeadLetter>> {
                let rows: Vec<DeadLetterRow> = sqlx::query_as(Self::DIALECT.dead_letter_list)
                    .bind(&*self.name)
                    .fetch_all(&self.pool)
                    .await
                    .context("cannot list dead letters")?;
                Ok(rows.into_iter().map(decode_dead_letter).collect())
            }

            async fn get(&self, id: i64) -> anyhow::Result<Option<DeadLetter>> {
                let row: Option<DeadLetterRow> = sqlx::query_as(Self::DIALECT.dead_letter_get)
                    .bind(&*self.name)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .context("cannot read a dead letter")?;
                Ok(row.map(decode_dead_letter))
            }

            async fn mark_replayed(&self, id: i64) -> anyhow::Result<()> {
                let _writer = self.write_guard().await;
                sqlx::query(Self::DIALECT.dead_letter_mark_replayed)
                    .bind(now_millis())
                    .bind(&*self.name)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .context("cannot mark a dead letter replayed")?;
                Ok(())
            }

            async fn parked(&self) -> anyhow::Result<u64> {
                let count: i64 = sqlx::query_scalar(Self::DIALECT.dead_letter_count)
                    .bind(&*self.name)
                    .fetch_one(&self.pool)
                    .await
                    .context("cannot count dead letters")?;
                Ok(count as u64)
            }
        }

        #[async_trait]
        impl DocumentSql for SqlStore<$db> {
            type Tx = Tx<$db>;
            const DEFINE_COUNTER: &'static str = Self::DIALECT.counter_define;

            fn statement(sql: &str) -> String {
                documents::numbered(sql, Self::DIALECT.placeholder)
            }

            async fn texts(
                &self,
                sql: &str,
                binds: &[Bind<'_>],
            ) -> Result<Vec<String>, sqlx::Error> {
                bound::<$db>(sql, binds)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|row| row.try_get(0))
                    .collect()
            }

            async fn integer(
                &self,
                sql: &str,
                binds: &[Bind<'_>],
            ) -> Result<Option<i64>, sqlx::Error> {
                bound::<$db>(sql, binds)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|row| row.try_get(0))
                    .transpose()
            }

            async fn execute(&self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, sqlx::Error> {
                let _writer = self.write_guard().await;
                Ok(bound::<$db>(sql, binds)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            async fn migrate_kernel(&self) -> anyhow::Result<()> {
                SqlStore::<$db>::migrate_kernel(self).await
            }

            async fn begin_caused(&self, cause: Option<&Cause>) -> anyhow::Result<Option<Tx<$db>>> {
                match cause {
                    Some(cause) => self.begin_caused_by(cause).await,
                    None => self.begin().await.map(Some),
                }
            }
        }

        #[async_trait]
        impl DocumentTx for Tx<$db> {
            async fn execute(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, sqlx::Error> {
                Ok(bound::<$db>(sql, binds)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected())
            }

            async fn integer(
                &mut self,
                sql: &str,
                binds: &[Bind<'_>],
            ) -> Result<Option<i64>, sqlx::Error> {
                bound::<$db>(sql, binds)
                    .fetch_optional(&mut *self.tx)
                    .await?
                    .map(|row| row.try_get(0))
                    .transpose()
            }

            async fn append(&mut self, event: NewEvent) -> anyhow::Result<()> {
                self.publish(event).await.map(|_| ())
            }

            async fn finish(self) -> anyhow::Result<()> {
                self.commit().await
            }

            async fn abandon(self) -> anyhow::Result<()> {
                self.rollback().await
            }
        }

        #[async_trait]
        impl ReadinessCheck for SqlStore<$db> {
            fn name(&self) -> &'static str {
                "store"
            }

            async fn check(&self) -> anyhow::Result<()> {
                self.ping().await
            }
        }
    };
}

sql_backend!(Sqlite, dialect::SQLITE, "BEGIN IMMEDIATE");
sql_backend!(Postgres, dialect::POSTGRES, "");
sql_backend!(MySql, dialect::MYSQL, "");

/// A query with `binds` bound in order.
fn bound<'q, DB: Database>(
    sql: &'q str,
    binds: &'q [Bind<'q>],
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = match *bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(value) => query.bind(value),
        };
    }
    query
}

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
        store: SqlStore<Sqlite>,
        tx: Tx<Sqlite>,
        mut tx2: Tx<Sqlite>,
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
