//! The aggregate store on SQL: each aggregate a JSON document in `msa_aggregates`, its declared
//! keys in `msa_keys` / `msa_unique_keys`, counters with an invariant in `msa_counters`, all
//! written in the transaction that appends the aggregate's events to the outbox and records the
//! event it reacts to in the inbox. The logic is written once; each database supplies only the
//! few primitives of [`DocumentSql`].

use super::{SqlStore, is_unique_violation, now_millis};
use crate::aggregate::{Cause, Change, CounterChange, DocumentStore, Key, StoreError};
use crate::envelope::NewEvent;
use anyhow::Context as _;
use async_trait::async_trait;

use crate::sqlite::Bind;

/// (Sealed: the module is private.) What a database supplies for documents: statements with bound parameters, and transactions
/// that carry the outbox and the inbox. Written with `$n` placeholders; each database rewrites
/// them in [`DocumentSql::statement`].
#[async_trait]
pub trait DocumentSql: Send + Sync + 'static {
    type Tx: DocumentTx;
    /// `INSERT` of a counter that does nothing when it exists: name, key, amount.
    const DEFINE_COUNTER: &'static str;
    const COUNTERS_READ: &'static str;
    fn statement(sql: &str) -> String;
    async fn texts(&self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<String>, sqlx::Error>;
    async fn integer(&self, sql: &str, binds: &[Bind<'_>]) -> Result<Option<i64>, sqlx::Error>;
    async fn pairs(&self, sql: &str, binds: &[Bind<'_>])
    -> Result<Vec<(i64, String)>, sqlx::Error>;
    async fn execute(&self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, sqlx::Error>;
    /// Creates the kernel's tables where missing.
    async fn migrate_kernel(&self) -> anyhow::Result<()>;
    /// A write transaction; `None` when `cause` was handled before.
    async fn begin_caused(&self, cause: Option<&Cause>) -> anyhow::Result<Option<Self::Tx>>;
}

/// A transaction of [`DocumentSql`].
#[async_trait]
pub trait DocumentTx: Send {
    async fn execute(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, sqlx::Error>;
    async fn integer(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Option<i64>, sqlx::Error>;
    async fn append(&mut self, event: NewEvent) -> anyhow::Result<()>;
    async fn finish(self) -> anyhow::Result<()>;
    async fn abandon(self) -> anyhow::Result<()>;
}

/// Rewrites `$1, $2, ...` with `placeholder(n)`.
pub(crate) fn numbered(sql: &str, placeholder: fn(usize) -> String) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut n = 0usize;
        let mut digits = 0;
        while let Some((_, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
            n = n * 10 + d.to_digit(10).unwrap_or_default() as usize;
            digits += 1;
            chars.next();
        }
        if digits == 0 {
            out.push('$');
        } else {
            out.push_str(&placeholder(n));
        }
    }
    out
}

const LOAD: &str = "SELECT state FROM msa_aggregates WHERE kind = $1 AND id = $2";
const FIND: &str = "SELECT a.state FROM msa_aggregates a JOIN msa_keys k ON k.kind = a.kind AND k.id = a.id \
     WHERE k.kind = $1 AND k.key_name = $2 AND k.key_value = $3 ORDER BY k.score DESC, a.created_at DESC, a.id DESC LIMIT $4";
const FIND_UNIQUE: &str = "SELECT a.state FROM msa_aggregates a JOIN msa_unique_keys k ON k.kind = a.kind AND k.id = a.id \
     WHERE k.kind = $1 AND k.key_name = $2 AND k.key_value = $3 ORDER BY a.created_at DESC, a.id DESC LIMIT $4";
const INSERT: &str = "INSERT INTO msa_aggregates (kind, id, version, state, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const UPDATE: &str = "UPDATE msa_aggregates SET version = $1, state = $2, updated_at = $3 \
     WHERE kind = $4 AND id = $5 AND version = $6";
const KEY_INSERT: &str =
    "INSERT INTO msa_keys (kind, key_name, key_value, id, score) VALUES ($1, $2, $3, $4, $5)";
const KEY_DELETE: &str =
    "DELETE FROM msa_keys WHERE kind = $1 AND key_name = $2 AND key_value = $3 AND id = $4";
const UNIQUE_INSERT: &str =
    "INSERT INTO msa_unique_keys (kind, key_name, key_value, id) VALUES ($1, $2, $3, $4)";
const UNIQUE_DELETE: &str =
    "DELETE FROM msa_unique_keys WHERE kind = $1 AND key_name = $2 AND key_value = $3 AND id = $4";
const COUNTER_ADJUST: &str = "UPDATE msa_counters SET amount = amount + $1 \
     WHERE counter = $2 AND counter_key = $3 AND amount + $4 >= 0";
const COUNTER_READ: &str =
    "SELECT amount FROM msa_counters WHERE counter = $1 AND counter_key = $2";
const DISCARD: [&str; 3] = [
    "DELETE FROM msa_keys WHERE kind = $1",
    "DELETE FROM msa_unique_keys WHERE kind = $1",
    "DELETE FROM msa_aggregates WHERE kind = $1",
];

/// Whether `error` is a deadlock or serialization failure (SQLSTATE 40001, 40P01): the
/// transaction lost to a concurrent one and may simply be decided again.
fn retryable(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .filter_map(sqlx::Error::as_database_error)
        .any(|db| {
            db.code()
                .is_some_and(|code| code == "40001" || code == "40P01")
        })
}

fn key_binds<'a>(collection: &'a str, key: &'a Key, id: &'a str) -> [Bind<'a>; 4] {
    [
        Bind::Text(collection),
        Bind::Text(key.name),
        Bind::Text(&key.value),
        Bind::Text(id),
    ]
}

impl<DB: super::Backend> SqlStore<DB>
where
    Self: DocumentSql,
{
    async fn adjust(
        tx: &mut <Self as DocumentSql>::Tx,
        change: &CounterChange,
    ) -> Result<i64, StoreError> {
        let binds = [
            Bind::Int(change.delta),
            Bind::Text(change.counter),
            Bind::Text(&change.key),
            Bind::Int(change.delta),
        ];
        let updated = tx
            .execute(&Self::statement(COUNTER_ADJUST), &binds)
            .await
            .context("cannot change a counter")?;
        if updated == 0 {
            return Err(StoreError::Exhausted {
                counter: change.counter,
                key: change.key.clone(),
            });
        }
        let read = [Bind::Text(change.counter), Bind::Text(&change.key)];
        let value = tx
            .integer(&Self::statement(COUNTER_READ), &read)
            .await
            .context("cannot read a counter")?;
        Ok(value.unwrap_or_default())
    }

    /// Writes everything of `change` but the commit.
    async fn write(tx: &mut <Self as DocumentSql>::Tx, change: Change) -> Result<(), StoreError> {
        let now = now_millis();
        let version = change.version as i64;
        let written = match change.expected_version {
            None => {
                let binds = [
                    Bind::Text(&change.collection),
                    Bind::Text(&change.id),
                    Bind::Int(version),
                    Bind::Text(&change.state),
                    Bind::Int(now),
                    Bind::Int(now),
                ];
                match tx.execute(&Self::statement(INSERT), &binds).await {
                    Err(error) if is_unique_violation(&error) => {
                        return Err(StoreError::Duplicate {
                            kind: change.kind,
                            key: "id",
                        });
                    }
                    other => other,
                }
            }
            Some(expected) => {
                let binds = [
                    Bind::Int(version),
                    Bind::Text(&change.state),
                    Bind::Int(now),
                    Bind::Text(&change.collection),
                    Bind::Text(&change.id),
                    Bind::Int(expected as i64),
                ];
                tx.execute(&Self::statement(UPDATE), &binds).await
            }
        }
        .with_context(|| format!("cannot store a {}", change.kind))?;
        if written == 0 {
            return Err(StoreError::Conflict { kind: change.kind });
        }
        for key in &change.removed_keys {
            let sql = if key.unique {
                UNIQUE_DELETE
            } else {
                KEY_DELETE
            };
            let binds = key_binds(&change.collection, key, &change.id);
            tx.execute(&Self::statement(sql), &binds)
                .await
                .context("cannot remove a key")?;
        }
        for key in &change.added_keys {
            let binds = key_binds(&change.collection, key, &change.id);
            let inserted = if key.unique {
                tx.execute(&Self::statement(UNIQUE_INSERT), &binds).await
            } else {
                let scored = [binds[0], binds[1], binds[2], binds[3], Bind::Int(key.score)];
                tx.execute(&Self::statement(KEY_INSERT), &scored).await
            };
            match inserted {
                Ok(_) => {}
                Err(error) if is_unique_violation(&error) => {
                    return Err(StoreError::Duplicate {
                        kind: change.kind,
                        key: key.name,
                    });
                }
                Err(error) => {
                    return Err(anyhow::Error::from(error)
                        .context("cannot add a key")
                        .into());
                }
            }
        }
        for counter in &change.counters {
            Self::adjust(tx, counter).await?;
        }
        for event in change.events {
            tx.append(event).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl<DB: super::Backend> DocumentStore for SqlStore<DB>
where
    Self: DocumentSql,
{
    async fn load(&self, kind: &str, id: &str) -> anyhow::Result<Option<String>> {
        let rows = self
            .texts(&Self::statement(LOAD), &[Bind::Text(kind), Bind::Text(id)])
            .await
            .with_context(|| format!("cannot read a {kind}"))?;
        Ok(rows.into_iter().next())
    }

    async fn find(&self, kind: &str, key: &Key, limit: u32) -> anyhow::Result<Vec<String>> {
        let sql = if key.unique { FIND_UNIQUE } else { FIND };
        let binds = [
            Bind::Text(kind),
            Bind::Text(key.name),
            Bind::Text(&key.value),
            Bind::Int(i64::from(limit)),
        ];
        self.texts(&Self::statement(sql), &binds)
            .await
            .with_context(|| format!("cannot look up {kind}s by {}", key.name))
    }

    async fn save(&self, change: Change) -> Result<(), StoreError> {
        let kind = change.kind;
        let Some(mut tx) = self.begin_caused(change.cause.as_ref()).await? else {
            return Err(StoreError::AlreadyHandled);
        };
        let saved = match Self::write(&mut tx, change).await {
            Ok(()) => tx.finish().await.map_err(StoreError::from),
            Err(error) => {
                let _ = tx.abandon().await;
                Err(error)
            }
        };
        // A deadlock or a serialization failure lost to a concurrent change: decide again.
        match saved {
            Err(StoreError::Unknown(error)) if retryable(&error) => {
                Err(StoreError::Conflict { kind })
            }
            other => other,
        }
    }

    async fn define_counter(&self, counter: &str, key: &str, value: i64) -> anyhow::Result<bool> {
        let binds = [Bind::Text(counter), Bind::Text(key), Bind::Int(value)];
        let created = self
            .execute(&Self::statement(Self::DEFINE_COUNTER), &binds)
            .await
            .context("cannot define a counter")?;
        Ok(created > 0)
    }

    async fn adjust_counter(&self, change: CounterChange) -> Result<i64, StoreError> {
        let mut tx = self
            .begin_caused(None)
            .await?
            .context("a transaction without a cause always begins")?;
        match Self::adjust(&mut tx, &change).await {
            Ok(value) => {
                tx.finish().await?;
                Ok(value)
            }
            Err(error) => {
                tx.abandon().await?;
                Err(error)
            }
        }
    }

    async fn discard(&self, collection: &str) -> anyhow::Result<u64> {
        let mut deleted = 0;
        for sql in DISCARD {
            deleted = self
                .execute(&Self::statement(sql), &[Bind::Text(collection)])
                .await
                .with_context(|| format!("cannot discard {collection}"))?;
        }
        Ok(deleted)
    }

    async fn counter(&self, counter: &str, key: &str) -> anyhow::Result<Option<i64>> {
        self.integer(
            &Self::statement(COUNTER_READ),
            &[Bind::Text(counter), Bind::Text(key)],
        )
        .await
        .context("cannot read a counter")
    }

    async fn counters(
        &self,
        counter: &str,
    ) -> anyhow::Result<std::collections::HashMap<String, i64>> {
        let rows = self
            .pairs(
                &Self::statement(Self::COUNTERS_READ),
                &[Bind::Text(counter)],
            )
            .await
            .context("cannot read a counter's keys")?;
        Ok(rows
            .into_iter()
            .map(|(amount, key)| (key, amount))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_placeholders_are_rewritten_in_order() {
        assert_eq!(
            numbered("a = $1 AND b = $2 AND c = '$x' AND d = $10", |_| "?"
                .to_owned()),
            "a = ? AND b = ? AND c = '$x' AND d = ?"
        );
        assert_eq!(numbered("a = $1, $2", |n| format!("${n}")), "a = $1, $2");
    }
}
