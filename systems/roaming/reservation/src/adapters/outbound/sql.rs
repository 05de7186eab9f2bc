//! The reservation store on SQL (SQLite embedded, PostgreSQL in production): one row per
//! reservation, optimistic concurrency on `version`, events through the kernel's outbox and
//! reactions recorded in its inbox, all in the same transaction. The SQL text is shared by both
//! databases (`$n` placeholders, `ON CONFLICT`).

use super::integration::integration_event;
use crate::domain::catalog;
use crate::domain::reservation::{
    FailureReason, Reservation, ReservationEvent, ReservationStatus, Terms,
};
use crate::domain::values::{
    CustomerId, IdempotencyKey, Krw, RentalPeriod, format_date, parse_date,
};
use crate::ports::{ReservationStore, StoreError};
use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use kernel::Envelope;
use kernel::sql::{Migration, SqlStore, is_unique_violation};
use kernel::sql::{from_millis, millis};
use sqlx::postgres::Postgres;
use sqlx::sqlite::Sqlite;
use sqlx::{Database, Row as _};
use time::OffsetDateTime;

/// The schema, applied at start.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "reservations",
    sql: include_str!("../../../migrations/0001_reservations.sql"),
}];

const COLUMNS: &str = "id, customer_id, device_model, country, rental_date, return_date, booth, amount, status, \
     payment_id, failure_reason, cancel_refused_reason, handed_out, payment_unconfirmed, idempotency_key, \
     version, created_at, updated_at";

const INSERT: &str = "INSERT INTO reservations (id, customer_id, device_model, country, rental_date, return_date, \
     booth, amount, status, payment_id, failure_reason, cancel_refused_reason, handed_out, payment_unconfirmed, \
     idempotency_key, version, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";

const UPDATE: &str = "UPDATE reservations SET status = $1, payment_id = $2, failure_reason = $3, \
     cancel_refused_reason = $4, handed_out = $5, payment_unconfirmed = $6, version = $7, updated_at = $8 \
     WHERE id = $9 AND version = $10";

/// [`ReservationStore`] on a SQL database.
#[derive(Debug, Clone)]
pub struct SqlReservationStore<DB: Database> {
    store: SqlStore<DB>,
}

impl<DB: Database> SqlReservationStore<DB> {
    /// Wraps a migrated kernel store.
    pub fn new(store: SqlStore<DB>) -> Self {
        Self { store }
    }
}

/// The columns of one stored reservation, in `COLUMNS` order.
struct Stored {
    id: String,
    customer_id: String,
    device_model: String,
    country: String,
    rental_date: String,
    return_date: String,
    booth: String,
    amount: i64,
    status: String,
    payment_id: Option<String>,
    failure_reason: Option<String>,
    cancel_refused_reason: Option<String>,
    handed_out: i32,
    payment_unconfirmed: i32,
    idempotency_key: Option<String>,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

impl Stored {
    fn into_reservation(self) -> anyhow::Result<Reservation> {
        let id = self.id;
        let lost =
            |what: &str| anyhow!("reservation {id} refers to {what} no longer in the catalog");
        let device_model =
            catalog::device_model(&self.device_model).ok_or_else(|| lost("a device model"))?;
        let country = catalog::country(&self.country).ok_or_else(|| lost("a country"))?;
        let booth = catalog::booth(&self.booth).ok_or_else(|| lost("a booth"))?;
        let period = RentalPeriod::restore(
            parse_date(&self.rental_date, "rental_date")?,
            parse_date(&self.return_date, "return_date")?,
        );
        Ok(Reservation {
            customer: CustomerId::parse(&self.customer_id)?,
            terms: Terms {
                device_model,
                country,
                period,
                booth,
                amount: Krw::new(self.amount),
            },
            status: ReservationStatus::parse(&self.status)
                .ok_or_else(|| anyhow!("reservation {id} has unknown status {}", self.status))?,
            payment_id: self.payment_id,
            failure: self.failure_reason.as_deref().map(FailureReason::from_code),
            cancel_refused_reason: self.cancel_refused_reason,
            handed_out: self.handed_out != 0,
            payment_unconfirmed: self.payment_unconfirmed != 0,
            idempotency_key: self
                .idempotency_key
                .as_deref()
                .map(IdempotencyKey::parse)
                .transpose()?,
            version: self.version as u64,
            created_at: from_millis(self.created_at)?,
            updated_at: from_millis(self.updated_at)?,
            id,
        })
    }
}

macro_rules! sql_reservation_store {
    ($db:ty) => {
        impl SqlReservationStore<$db> {
            fn decode(row: &<$db as Database>::Row) -> anyhow::Result<Reservation> {
                let stored = Stored {
                    id: row.try_get(0)?,
                    customer_id: row.try_get(1)?,
                    device_model: row.try_get(2)?,
                    country: row.try_get(3)?,
                    rental_date: row.try_get(4)?,
                    return_date: row.try_get(5)?,
                    booth: row.try_get(6)?,
                    amount: row.try_get(7)?,
                    status: row.try_get(8)?,
                    payment_id: row.try_get(9)?,
                    failure_reason: row.try_get(10)?,
                    cancel_refused_reason: row.try_get(11)?,
                    handed_out: row.try_get(12)?,
                    payment_unconfirmed: row.try_get(13)?,
                    idempotency_key: row.try_get(14)?,
                    version: row.try_get(15)?,
                    created_at: row.try_get(16)?,
                    updated_at: row.try_get(17)?,
                };
                stored.into_reservation()
            }

            async fn select(&self, filter: &str, binds: &[&str], limit: Option<i64>) -> Result<Vec<Reservation>, StoreError> {
                let sql = format!("SELECT {COLUMNS} FROM reservations WHERE {filter}");
                let mut query = sqlx::query(&sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                if let Some(limit) = limit {
                    query = query.bind(limit);
                }
                let rows = query
                    .fetch_all(self.store.pool())
                    .await
                    .context("cannot read reservations")?;
                rows.iter().map(|row| Self::decode(row).map_err(StoreError::from)).collect()
            }

            fn publish_events<'a>(
                reservation: &'a Reservation,
                previous_version: u64,
                events: &'a [ReservationEvent],
            ) -> impl Iterator<Item = kernel::NewEvent> + 'a {
                events
                    .iter()
                    .enumerate()
                    .map(move |(i, event)| integration_event(reservation, event, previous_version + i as u64 + 1))
            }
        }

        #[async_trait]
        impl ReservationStore for SqlReservationStore<$db> {
            async fn create(
                &self,
                reservation: &Reservation,
                events: &[ReservationEvent],
                takes_key_from: Option<&str>,
            ) -> Result<(), StoreError> {
                let mut tx = self.store.begin().await?;
                if let Some(previous) = takes_key_from {
                    sqlx::query("UPDATE reservations SET idempotency_key = NULL WHERE id = $1")
                        .bind(previous)
                        .execute(tx.conn())
                        .await
                        .context("cannot release an idempotency key")?;
                }
                let terms = &reservation.terms;
                let inserted = sqlx::query(INSERT)
                    .bind(&reservation.id)
                    .bind(reservation.customer.as_str())
                    .bind(terms.device_model.id)
                    .bind(terms.country.code)
                    .bind(format_date(terms.period.rental_date()))
                    .bind(format_date(terms.period.return_date()))
                    .bind(terms.booth.code)
                    .bind(terms.amount.value())
                    .bind(reservation.status.as_str())
                    .bind(reservation.payment_id.as_deref())
                    .bind(reservation.failure.as_ref().map(|f| f.code().to_owned()))
                    .bind(reservation.cancel_refused_reason.as_deref())
                    .bind(i32::from(reservation.handed_out))
                    .bind(i32::from(reservation.payment_unconfirmed))
                    .bind(reservation.idempotency_key.as_ref().map(|k| k.as_str().to_owned()))
                    .bind(reservation.version as i64)
                    .bind(millis(reservation.created_at))
                    .bind(millis(reservation.updated_at))
                    .execute(tx.conn())
                    .await;
                match inserted {
                    Ok(_) => {}
                    Err(error) if is_unique_violation(&error) => return Err(StoreError::DuplicateKey),
                    Err(error) => return Err(anyhow::Error::from(error).context("cannot store a reservation").into()),
                }
                for event in Self::publish_events(reservation, 0, events) {
                    tx.publish(event).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn update(
                &self,
                reservation: &Reservation,
                previous_version: u64,
                events: &[ReservationEvent],
                cause: Option<&Envelope>,
            ) -> Result<(), StoreError> {
                let Some(mut tx) = self.store.begin_for(cause).await? else {
                    return Err(StoreError::AlreadyHandled);
                };
                let updated = sqlx::query(UPDATE)
                    .bind(reservation.status.as_str())
                    .bind(reservation.payment_id.as_deref())
                    .bind(reservation.failure.as_ref().map(|f| f.code().to_owned()))
                    .bind(reservation.cancel_refused_reason.as_deref())
                    .bind(i32::from(reservation.handed_out))
                    .bind(i32::from(reservation.payment_unconfirmed))
                    .bind(reservation.version as i64)
                    .bind(millis(reservation.updated_at))
                    .bind(&reservation.id)
                    .bind(previous_version as i64)
                    .execute(tx.conn())
                    .await
                    .context("cannot update a reservation")?
                    .rows_affected();
                if updated == 0 {
                    tx.rollback().await?;
                    return Err(StoreError::Conflict);
                }
                for event in Self::publish_events(reservation, previous_version, events) {
                    tx.publish(event).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn get(&self, id: &str) -> Result<Option<Reservation>, StoreError> {
                Ok(self.select("id = $1", &[id], None).await?.pop())
            }

            async fn by_customer(&self, customer: &CustomerId) -> Result<Vec<Reservation>, StoreError> {
                self.select("customer_id = $1 ORDER BY created_at DESC, id DESC", &[customer.as_str()], None)
                    .await
            }

            async fn by_idempotency_key(
                &self,
                customer: &CustomerId,
                key: &IdempotencyKey,
            ) -> Result<Option<Reservation>, StoreError> {
                Ok(self
                    .select("customer_id = $1 AND idempotency_key = $2", &[customer.as_str(), key.as_str()], None)
                    .await?
                    .pop())
            }

            async fn payment_pending_before(
                &self,
                before: OffsetDateTime,
                limit: u32,
            ) -> Result<Vec<Reservation>, StoreError> {
                let sql = format!(
                    "SELECT {COLUMNS} FROM reservations WHERE status = 'PaymentPending' AND updated_at < $1 \
                     ORDER BY updated_at LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(millis(before))
                    .bind(i64::from(limit))
                    .fetch_all(self.store.pool())
                    .await
                    .context("cannot read pending reservations")?;
                rows.iter().map(|row| Self::decode(row).map_err(StoreError::from)).collect()
            }
        }
    };
}

sql_reservation_store!(Sqlite);
sql_reservation_store!(Postgres);
