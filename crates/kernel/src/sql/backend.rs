//! The databases the kernel's SQL store runs on (SQLite, PostgreSQL, MySQL/MariaDB) and the few
//! kinds of statement it runs. PostgreSQL and MariaDB run on sqlx's generic API, whose bounds
//! are stated here, once, on a blanket implementation; SQLite runs on rusqlite ([`super::Lite`],
//! lite.rs). The store itself is plain generic code over `DB: Backend`.

use super::DeadLetterRow;
use super::dialect::{self, Dialect};
use crate::sqlite::Bind;
use async_trait::async_trait;
use sqlx::mysql::MySql;
use sqlx::postgres::Postgres;
use sqlx::{Database, Executor, Pool, Row as _, Transaction};
use std::path::PathBuf;

/// What sets one of sqlx's databases apart for the store: its SQL, how it begins a write
/// transaction, and how it counts changed rows. (SQLite runs on [`super::Lite`] instead.)
pub trait Flavor: Database {
    /// Its statements.
    const SQL: &'static Dialect;
    /// The statement that begins a write transaction; empty for the default `BEGIN`.
    const BEGIN: &'static str;
    /// The rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

impl Flavor for Postgres {
    const SQL: &'static Dialect = &dialect::POSTGRES;
    const BEGIN: &'static str = "";
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

impl Flavor for MySql {
    const SQL: &'static Dialect = &dialect::MYSQL;
    const BEGIN: &'static str = "";
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

/// A database the store runs on: its dialect, its pool and write transaction, and the
/// statements the store runs, with their parameters bound in order, on the pool or in a
/// transaction.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Its statements.
    const DIALECT: &'static Dialect;
    /// Its pool of connections.
    type Pool: Clone + Send + Sync + 'static;
    /// A write transaction on one of the pool's connections.
    type Tx: Send + 'static;
    /// The file of a database that allows a single writer (SQLite), `None` for the others.
    fn single_writer_file(pool: &Self::Pool) -> Option<PathBuf>;
    /// `sql` written with `$1, $2, ...` placeholders (each used once, in order), rewritten in this
    /// database's placeholder style.
    fn statement(sql: &str) -> String {
        super::documents::numbered(sql, Self::DIALECT.placeholder)
    }
    /// Begins a write transaction.
    async fn begin_tx(pool: &Self::Pool) -> Result<Self::Tx, sqlx::Error>;
    /// Commits it.
    async fn commit(tx: Self::Tx) -> Result<(), sqlx::Error>;
    /// Rolls it back.
    async fn rollback(tx: Self::Tx) -> Result<(), sqlx::Error>;
    /// Runs a statement on the pool; the rows it changed.
    async fn execute_on(
        pool: &Self::Pool,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<u64, sqlx::Error>;
    /// Runs a statement in a transaction; the rows it changed.
    async fn execute_in(
        tx: &mut Self::Tx,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<u64, sqlx::Error>;
    /// The first column of the first row, an integer, if there is a row.
    async fn integer_on(
        pool: &Self::Pool,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Option<i64>, sqlx::Error>;
    /// [`Self::integer_on`] in a transaction.
    async fn integer_in(
        tx: &mut Self::Tx,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Option<i64>, sqlx::Error>;
    /// The first column of every row, as text.
    async fn texts_on(
        pool: &Self::Pool,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<String>, sqlx::Error>;
    /// Rows of an integer and a text (outbox positions and envelopes).
    async fn pairs_on(
        pool: &Self::Pool,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<(i64, String)>, sqlx::Error>;
    /// Dead-letter rows.
    async fn dead_letters_on(
        pool: &Self::Pool,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<DeadLetterRow>, sqlx::Error>;
    /// Runs statements without parameters (a schema) on the pool.
    async fn raw_on(pool: &Self::Pool, sql: &str) -> Result<(), sqlx::Error>;
    /// Runs statements without parameters (a migration) in a transaction.
    async fn raw_in(tx: &mut Self::Tx, sql: &str) -> Result<(), sqlx::Error>;
}

/// A query with `binds` bound in order.
fn bound<'q, DB: Database>(
    sql: &'q str,
    binds: &'q [Bind<'q>],
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = match *bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(value) => query.bind(value),
            Bind::OptText(text) => query.bind(text),
        };
    }
    query
}

fn dead_letter<R: sqlx::Row>(row: &R) -> Result<DeadLetterRow, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok((
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
        row.try_get(5)?,
        row.try_get(6)?,
        row.try_get(7)?,
        row.try_get(8)?,
        row.try_get(9)?,
    ))
}

#[async_trait]
impl<DB> Backend for DB
where
    DB: Flavor + Sync,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: for<'r> sqlx::Decode<'r, DB>,
    String: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    Option<String>: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    Option<i64>: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    const DIALECT: &'static Dialect = <DB as Flavor>::SQL;
    type Pool = Pool<DB>;
    type Tx = Transaction<'static, DB>;

    fn single_writer_file(_: &Pool<DB>) -> Option<PathBuf> {
        None
    }

    async fn begin_tx(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, sqlx::Error> {
        if Self::BEGIN.is_empty() {
            pool.begin().await
        } else {
            pool.begin_with(Self::BEGIN).await
        }
    }

    async fn execute_on(
        pool: &Pool<Self>,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<u64, sqlx::Error> {
        let result = bound::<DB>(sql, binds).execute(pool).await?;
        Ok(DB::rows_affected(&result))
    }

    async fn commit(tx: Transaction<'static, DB>) -> Result<(), sqlx::Error> {
        tx.commit().await
    }

    async fn rollback(tx: Transaction<'static, DB>) -> Result<(), sqlx::Error> {
        tx.rollback().await
    }

    async fn execute_in(
        tx: &mut Transaction<'static, DB>,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<u64, sqlx::Error> {
        let result = bound::<DB>(sql, binds).execute(&mut **tx).await?;
        Ok(DB::rows_affected(&result))
    }

    async fn integer_on(
        pool: &Pool<Self>,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Option<i64>, sqlx::Error> {
        bound::<DB>(sql, binds)
            .fetch_optional(pool)
            .await?
            .map(|row| row.try_get(0))
            .transpose()
    }

    async fn integer_in(
        tx: &mut Transaction<'static, DB>,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Option<i64>, sqlx::Error> {
        bound::<DB>(sql, binds)
            .fetch_optional(&mut **tx)
            .await?
            .map(|row| row.try_get(0))
            .transpose()
    }

    async fn texts_on(
        pool: &Pool<Self>,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<String>, sqlx::Error> {
        bound::<DB>(sql, binds)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect()
    }

    async fn pairs_on(
        pool: &Pool<Self>,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<(i64, String)>, sqlx::Error> {
        bound::<DB>(sql, binds)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    async fn dead_letters_on(
        pool: &Pool<Self>,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<DeadLetterRow>, sqlx::Error> {
        bound::<DB>(sql, binds)
            .fetch_all(pool)
            .await?
            .iter()
            .map(dead_letter)
            .collect()
    }

    async fn raw_on(pool: &Pool<Self>, sql: &str) -> Result<(), sqlx::Error> {
        pool.execute(sqlx::raw_sql(sql)).await.map(|_| ())
    }

    async fn raw_in(tx: &mut Transaction<'static, DB>, sql: &str) -> Result<(), sqlx::Error> {
        (&mut **tx).execute(sqlx::raw_sql(sql)).await.map(|_| ())
    }
}
