//! The payment store on SQL (SQLite embedded, MariaDB in production): `?` placeholders work on
//! both.

use super::integration::integration_event;
use crate::domain::payment::{Payment, PaymentEvent, PaymentStatus};
use crate::ports::{PaymentStore, StoreError};
use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use kernel::Envelope;
use kernel::sql::{Migration, SqlStore, is_unique_violation};
use kernel::sql::{from_millis, millis};
use sqlx::mysql::MySql;
use sqlx::sqlite::Sqlite;
use sqlx::{Database, Row as _};

/// The schema, applied at start.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "payments",
    sql: include_str!("../../../migrations/0001_payments.sql"),
}];

const COLUMNS: &str = "id, reservation_id, customer_id, amount, card_last4, status, decline_reason, version, created_at, updated_at";

/// [`PaymentStore`] on a SQL database.
#[derive(Debug, Clone)]
pub struct SqlPaymentStore<DB: Database> {
    store: SqlStore<DB>,
}

impl<DB: Database> SqlPaymentStore<DB> {
    /// Wraps a migrated kernel store.
    pub fn new(store: SqlStore<DB>) -> Self {
        Self { store }
    }
}

macro_rules! sql_payment_store {
    ($db:ty) => {
        impl SqlPaymentStore<$db> {
            fn decode(row: &<$db as Database>::Row) -> anyhow::Result<Payment> {
                let status: String = row.try_get(5)?;
                Ok(Payment {
                    id: row.try_get(0)?,
                    reservation_id: row.try_get(1)?,
                    customer_id: row.try_get(2)?,
                    amount: row.try_get(3)?,
                    card_last4: row.try_get(4)?,
                    status: PaymentStatus::parse(&status).ok_or_else(|| anyhow!("unknown payment status {status}"))?,
                    decline_reason: row.try_get(6)?,
                    version: row.try_get::<i64, _>(7)? as u64,
                    created_at: from_millis(row.try_get(8)?)?,
                    updated_at: from_millis(row.try_get(9)?)?,
                })
            }
        }

        #[async_trait]
        impl PaymentStore for SqlPaymentStore<$db> {
            async fn insert(&self, payment: &Payment, events: &[PaymentEvent]) -> Result<(), StoreError> {
                let mut tx = self.store.begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO payments (id, reservation_id, customer_id, amount, card_last4, status, \
                     decline_reason, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&payment.id)
                .bind(&payment.reservation_id)
                .bind(&payment.customer_id)
                .bind(payment.amount)
                .bind(payment.card_last4.as_deref())
                .bind(payment.status.as_str())
                .bind(payment.decline_reason.as_deref())
                .bind(payment.version as i64)
                .bind(millis(payment.created_at))
                .bind(millis(payment.updated_at))
                .execute(tx.conn())
                .await;
                match inserted {
                    Ok(_) => {}
                    Err(error) if is_unique_violation(&error) => return Err(StoreError::DuplicateReservation),
                    Err(error) => return Err(anyhow::Error::from(error).context("cannot store a payment").into()),
                }
                for (i, event) in events.iter().enumerate() {
                    tx.publish(integration_event(payment, event, i as u64 + 1)).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn update(
                &self,
                payment: &Payment,
                previous_version: u64,
                events: &[PaymentEvent],
                cause: Option<&Envelope>,
            ) -> Result<(), StoreError> {
                let Some(mut tx) = self.store.begin_for(cause).await? else {
                    return Err(StoreError::AlreadyHandled);
                };
                let updated = sqlx::query(
                    "UPDATE payments SET status = ?, decline_reason = ?, version = ?, updated_at = ? \
                     WHERE id = ? AND version = ?",
                )
                .bind(payment.status.as_str())
                .bind(payment.decline_reason.as_deref())
                .bind(payment.version as i64)
                .bind(millis(payment.updated_at))
                .bind(&payment.id)
                .bind(previous_version as i64)
                .execute(tx.conn())
                .await
                .context("cannot update a payment")?
                .rows_affected();
                if updated == 0 {
                    tx.rollback().await?;
                    return Err(StoreError::Conflict);
                }
                for (i, event) in events.iter().enumerate() {
                    tx.publish(integration_event(payment, event, previous_version + i as u64 + 1))
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn by_reservation(&self, reservation_id: &str) -> Result<Option<Payment>, StoreError> {
                let row = sqlx::query(&format!("SELECT {COLUMNS} FROM payments WHERE reservation_id = ?"))
                    .bind(reservation_id)
                    .fetch_optional(self.store.pool())
                    .await
                    .context("cannot read payments")?;
                Ok(row.as_ref().map(Self::decode).transpose()?)
            }
        }
    };
}

sql_payment_store!(Sqlite);
sql_payment_store!(MySql);
