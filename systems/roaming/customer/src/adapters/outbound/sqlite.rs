//! The view store on SQLite (embedded default): one JSON document per reservation.

use crate::adapters::document::ViewDocument;
use crate::domain::view::ReservationView;
use crate::ports::{MyPageStore, StoreError};
use anyhow::Context as _;
use async_trait::async_trait;
use kernel::Envelope;
use kernel::sql::millis;
use kernel::sql::{Migration, SqlStore, is_unique_violation};
use sqlx::sqlite::Sqlite;

/// The schema, applied at start.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "mypage",
    sql: include_str!("../../../migrations/0001_mypage.sql"),
}];

/// [`MyPageStore`] on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteMyPageStore {
    store: SqlStore<Sqlite>,
}

impl SqliteMyPageStore {
    /// Wraps a migrated kernel store.
    pub fn new(store: SqlStore<Sqlite>) -> Self {
        Self { store }
    }
}

fn decode(document: &str) -> anyhow::Result<ReservationView> {
    let doc: ViewDocument =
        serde_json::from_str(document).context("a stored view is not valid JSON")?;
    ReservationView::try_from(doc)
}

#[async_trait]
impl MyPageStore for SqliteMyPageStore {
    async fn load(
        &self,
        reservation_id: &str,
    ) -> Result<Option<(ReservationView, u64)>, StoreError> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT document, revision FROM mypage WHERE reservation_id = ?")
                .bind(reservation_id)
                .fetch_optional(self.store.pool())
                .await
                .context("cannot read my page")?;
        Ok(row
            .map(|(doc, revision)| decode(&doc).map(|view| (view, revision as u64)))
            .transpose()?)
    }

    async fn save(
        &self,
        view: &ReservationView,
        previous_revision: Option<u64>,
        cause: &Envelope,
    ) -> Result<(), StoreError> {
        let Some(mut tx) = self.store.begin_handling(cause).await? else {
            return Err(StoreError::AlreadyHandled);
        };
        let document =
            serde_json::to_string(&ViewDocument::from(view)).context("a view always serializes")?;
        let written = match previous_revision {
            None => {
                let inserted = sqlx::query(
                    "INSERT INTO mypage (reservation_id, customer_id, created_at, revision, document) VALUES (?, ?, ?, 1, ?)",
                )
                .bind(&view.reservation_id)
                .bind(view.customer_id.as_deref())
                .bind(millis(view.created_at))
                .bind(&document)
                .execute(tx.conn())
                .await;
                match inserted {
                    Ok(result) => result.rows_affected(),
                    Err(error) if is_unique_violation(&error) => 0,
                    Err(error) => return Err(anyhow::Error::from(error).context("cannot store a view").into()),
                }
            }
            Some(revision) => sqlx::query(
                "UPDATE mypage SET customer_id = ?, created_at = ?, revision = revision + 1, document = ? \
                 WHERE reservation_id = ? AND revision = ?",
            )
            .bind(view.customer_id.as_deref())
            .bind(millis(view.created_at))
            .bind(&document)
            .bind(&view.reservation_id)
            .bind(revision as i64)
            .execute(tx.conn())
            .await
            .context("cannot update a view")?
            .rows_affected(),
        };
        if written == 0 {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn by_customer(&self, customer_id: &str) -> Result<Vec<ReservationView>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT document FROM mypage WHERE customer_id = ? ORDER BY created_at DESC, reservation_id DESC LIMIT 500",
        )
        .bind(customer_id)
        .fetch_all(self.store.pool())
        .await
        .context("cannot read my page")?;
        rows.iter()
            .map(|(doc,)| decode(doc).map_err(StoreError::from))
            .collect()
    }
}
