//! The store's statements on SQLite ([`Lite`]): each runs on the calling thread through the
//! rusqlite pool of [`crate::sqlite`] (`sqlite/lite.rs` says why and how a locked file is waited
//! for).

use super::Backend;
use super::DeadLetterRow;
use super::dialect::{self, Dialect};
use crate::sqlite::{Bind, LitePool, LiteTx};
use async_trait::async_trait;
use std::path::PathBuf;

/// SQLite through rusqlite, each statement on the calling thread.
#[derive(Clone, Copy, Debug)]
pub struct Lite;

#[async_trait]
impl Backend for Lite {
    const DIALECT: &'static Dialect = &dialect::SQLITE;
    type Pool = LitePool;
    type Tx = LiteTx;

    fn single_writer_file(pool: &LitePool) -> Option<PathBuf> {
        pool.path().map(ToOwned::to_owned)
    }

    async fn begin_tx(pool: &LitePool) -> Result<LiteTx, sqlx::Error> {
        pool.begin().await
    }

    async fn commit(tx: LiteTx) -> Result<(), sqlx::Error> {
        tx.commit().await
    }

    async fn rollback(tx: LiteTx) -> Result<(), sqlx::Error> {
        tx.rollback().await
    }

    async fn execute_on(
        pool: &LitePool,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<u64, sqlx::Error> {
        pool.execute(sql, binds).await
    }

    async fn execute_in(
        tx: &mut LiteTx,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<u64, sqlx::Error> {
        tx.execute(sql, binds).await
    }

    async fn integer_on(
        pool: &LitePool,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Option<i64>, sqlx::Error> {
        pool.integer(sql, binds).await
    }

    async fn integer_in(
        tx: &mut LiteTx,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Option<i64>, sqlx::Error> {
        tx.integer(sql, binds).await
    }

    async fn texts_on(
        pool: &LitePool,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<String>, sqlx::Error> {
        pool.rows(sql, binds, |row| row.get(0)).await
    }

    async fn pairs_on(
        pool: &LitePool,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<(i64, String)>, sqlx::Error> {
        pool.rows(sql, binds, |row| row.try_into()).await
    }

    async fn dead_letters_on(
        pool: &LitePool,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<DeadLetterRow>, sqlx::Error> {
        pool.rows(sql, binds, |row| row.try_into()).await
    }

    async fn raw_on(pool: &LitePool, sql: &str) -> Result<(), sqlx::Error> {
        pool.with(|c| c.execute_batch(sql)).await
    }

    async fn raw_in(tx: &mut LiteTx, sql: &str) -> Result<(), sqlx::Error> {
        tx.with(|c| c.execute_batch(sql)).await
    }
}
