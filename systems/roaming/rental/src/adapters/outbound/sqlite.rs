//! The rental store on a SQLite file: the booth's data stays on its own disk (a persistent
//! volume in Kubernetes) so that the booth works on its own.

use super::integration::integration_event;
use crate::domain::rental::{Rental, RentalEvent, RentalStatus};
use crate::ports::{RentalStore, StoreError};
use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use kernel::Envelope;
use kernel::sql::{Migration, SqlStore, is_unique_violation};
use kernel::sql::{from_millis, millis};
use sqlx::Row as _;
use sqlx::sqlite::{Sqlite, SqliteRow};

/// The schema, applied at start.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "rentals",
    sql: include_str!("../../../migrations/0001_rentals.sql"),
}];

const COLUMNS: &str = "reservation_id, customer_id, booth, device_model, rental_date, return_date, status, \
     device_serial, version, created_at, updated_at";

/// [`RentalStore`] on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteRentalStore {
    store: SqlStore<Sqlite>,
}

fn decode(row: &SqliteRow) -> anyhow::Result<Rental> {
    let status: String = row.try_get(6)?;
    Ok(Rental {
        reservation_id: row.try_get(0)?,
        customer_id: row.try_get(1)?,
        booth: row.try_get(2)?,
        device_model: row.try_get(3)?,
        rental_date: row.try_get(4)?,
        return_date: row.try_get(5)?,
        status: RentalStatus::parse(&status)
            .ok_or_else(|| anyhow!("unknown rental status {status}"))?,
        device_serial: row.try_get(7)?,
        version: row.try_get::<i64, _>(8)? as u64,
        created_at: from_millis(row.try_get(9)?)?,
        updated_at: from_millis(row.try_get(10)?)?,
    })
}

impl SqliteRentalStore {
    /// Wraps a migrated kernel store.
    pub fn new(store: SqlStore<Sqlite>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl RentalStore for SqliteRentalStore {
    async fn insert(
        &self,
        rental: &Rental,
        events: &[RentalEvent],
        cause: Option<&Envelope>,
    ) -> Result<(), StoreError> {
        let Some(mut tx) = self.store.begin_for(cause).await? else {
            return Err(StoreError::AlreadyHandled);
        };
        let inserted = sqlx::query(
            "INSERT INTO rentals (reservation_id, customer_id, booth, device_model, rental_date, return_date, \
             status, device_serial, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&rental.reservation_id)
        .bind(&rental.customer_id)
        .bind(&rental.booth)
        .bind(&rental.device_model)
        .bind(&rental.rental_date)
        .bind(&rental.return_date)
        .bind(rental.status.as_str())
        .bind(rental.device_serial.as_deref())
        .bind(rental.version as i64)
        .bind(millis(rental.created_at))
        .bind(millis(rental.updated_at))
        .execute(tx.conn())
        .await;
        match inserted {
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => return Err(StoreError::Duplicate),
            Err(error) => {
                return Err(anyhow::Error::from(error)
                    .context("cannot store a rental")
                    .into());
            }
        }
        for (i, event) in events.iter().enumerate() {
            tx.publish(integration_event(rental, event, i as u64 + 1))
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn update(
        &self,
        rental: &Rental,
        previous_version: u64,
        events: &[RentalEvent],
        cause: Option<&Envelope>,
    ) -> Result<(), StoreError> {
        let Some(mut tx) = self.store.begin_for(cause).await? else {
            return Err(StoreError::AlreadyHandled);
        };
        let updated = sqlx::query(
            "UPDATE rentals SET status = ?, device_serial = ?, version = ?, updated_at = ? \
             WHERE reservation_id = ? AND version = ?",
        )
        .bind(rental.status.as_str())
        .bind(rental.device_serial.as_deref())
        .bind(rental.version as i64)
        .bind(millis(rental.updated_at))
        .bind(&rental.reservation_id)
        .bind(previous_version as i64)
        .execute(tx.conn())
        .await
        .context("cannot update a rental")?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        for (i, event) in events.iter().enumerate() {
            tx.publish(integration_event(
                rental,
                event,
                previous_version + i as u64 + 1,
            ))
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get(&self, reservation_id: &str) -> Result<Option<Rental>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM rentals WHERE reservation_id = ?"
        ))
        .bind(reservation_id)
        .fetch_optional(self.store.pool())
        .await
        .context("cannot read rentals")?;
        Ok(row.as_ref().map(decode).transpose()?)
    }

    async fn queue(
        &self,
        booth: Option<&str>,
        status: Option<RentalStatus>,
    ) -> Result<Vec<Rental>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM rentals WHERE (?1 IS NULL OR booth = ?1) AND (?2 IS NULL OR status = ?2) \
             ORDER BY rental_date, created_at LIMIT 500"
        ))
        .bind(booth)
        .bind(status.map(RentalStatus::as_str))
        .fetch_all(self.store.pool())
        .await
        .context("cannot read the booth queue")?;
        rows.iter()
            .map(|row| decode(row).map_err(StoreError::from))
            .collect()
    }
}
