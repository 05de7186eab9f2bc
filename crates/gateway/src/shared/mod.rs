//! What the gateway's replicas share when more than one serves a system: the embedded issuer's
//! codes and refresh tokens (`auth.store`) and the rate limit's budgets (`rate_limit.store`, by
//! default the same store), kept in the SQL database or Redis a URL names. Without a URL both
//! stay in the process's memory, which is enough for a single gateway. (The signing key is
//! shared as a file, the same Secret mounted into every replica.)
//!
//! The stores are opened with the kernel's connection helpers; the SQL adapters run on its
//! `Backend` and its placeholder style, so one text of each statement serves every database.

mod redis;
mod sql;

use crate::edge::{MemoryRateLimiter, RateLimitSettings, RateLimiter};
use crate::identity::AuthSettings;
use auth::GrantStore;
use kernel::redis::RedisStore;
use kernel::sql::{
    Backend, Lite, SqlStore, StoreKind, connect_lite, connect_mysql, connect_postgres, redact,
};
use sha2::{Digest as _, Sha256};
use sqlx::{MySql, Postgres};
use std::sync::Arc;
use std::time::Duration;

pub use self::redis::{RedisGrantStore, RedisRateLimiter};
pub use self::sql::{SqlGrantStore, SqlRateLimiter};

/// How often expired rows are deleted from a SQL store (Redis keys expire by themselves).
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// The hex SHA-256 of a secret or a name: what the stores keep instead of it, so that a copy of
/// the store holds no usable token.
fn digest(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A per-client budget as the generic cell rate algorithm keeps it: one timestamp per client
/// (its theoretical arrival time), which admits `burst` requests at once and one more every
/// `1 / per_second` — the token bucket of [`MemoryRateLimiter`], in one number a store can change
/// atomically.
#[derive(Clone, Copy, Debug)]
pub struct Gcra {
    interval_us: i64,
    tolerance_us: i64,
}

impl Gcra {
    /// The budget of `settings`.
    pub fn of(settings: &RateLimitSettings) -> Self {
        let interval_us = (1e6 / settings.per_second.max(1e-6)).round().max(1.0) as i64;
        Self {
            interval_us,
            tolerance_us: (settings.burst.max(1.0) * interval_us as f64) as i64,
        }
    }

    /// How many µs too early a request at `now` comes to a budget whose arrival time is
    /// `arrival` (zero or less: it fits).
    fn over(&self, arrival: i64, now: i64) -> i64 {
        arrival.max(now) + self.interval_us - now - self.tolerance_us
    }

    /// Whether a request at `now` fits a budget whose arrival time is `arrival`.
    fn fits(&self, arrival: i64, now: i64) -> bool {
        self.over(arrival, now) <= 0
    }

    /// The refusal of a request at `now` to a budget whose arrival time is `arrival`.
    fn refused(&self, arrival: i64, now: i64) -> crate::edge::Admission {
        crate::edge::Admission::Refused {
            retry_after_s: self.over(arrival, now).max(1) as f64 / 1e6,
        }
    }
}

/// A store the replicas share, opened from its URL.
#[derive(Clone, Debug)]
pub enum SharedStore {
    /// A SQLite file (replicas on one machine).
    Sqlite(SqlStore<Lite>),
    /// PostgreSQL.
    Postgres(SqlStore<Postgres>),
    /// MariaDB / MySQL.
    MySql(SqlStore<MySql>),
    /// Redis (keys under the URL's `?prefix=`).
    Redis(RedisStore),
}

async fn migrated<DB: Backend>(store: SqlStore<DB>) -> anyhow::Result<SqlStore<DB>> {
    store.migrate("gateway", sql::MIGRATIONS).await?;
    Ok(store)
}

impl SharedStore {
    /// Connects to the store at `url` and creates the gateway's tables there (for `name`, the
    /// gateway's qualified name).
    pub async fn open(url: &str, name: &str) -> anyhow::Result<Self> {
        tracing::info!(store = %redact(url), "the gateway shares grants and budgets");
        Ok(match StoreKind::of(url)? {
            StoreKind::Sqlite => {
                Self::Sqlite(migrated(SqlStore::<Lite>::new(connect_lite(url).await?, name)).await?)
            }
            StoreKind::Postgres => Self::Postgres(
                migrated(SqlStore::<Postgres>::new(
                    connect_postgres(url).await?,
                    name,
                ))
                .await?,
            ),
            StoreKind::MySql => Self::MySql(
                migrated(SqlStore::<MySql>::new(connect_mysql(url).await?, name)).await?,
            ),
            StoreKind::Redis => Self::Redis(RedisStore::connect(url, name).await?),
        })
    }

    /// The issuer's grants in this store.
    pub fn grants(&self) -> Arc<dyn GrantStore> {
        match self {
            Self::Sqlite(store) => Arc::new(SqlGrantStore::new(store.clone())),
            Self::Postgres(store) => Arc::new(SqlGrantStore::new(store.clone())),
            Self::MySql(store) => Arc::new(SqlGrantStore::new(store.clone())),
            Self::Redis(store) => Arc::new(RedisGrantStore::new(store.clone())),
        }
    }

    /// Budgets of `gcra` in this store.
    pub fn limiter(&self, gcra: Gcra) -> Arc<dyn RateLimiter> {
        match self {
            Self::Sqlite(store) => Arc::new(SqlRateLimiter::new(store.clone(), gcra)),
            Self::Postgres(store) => Arc::new(SqlRateLimiter::new(store.clone(), gcra)),
            Self::MySql(store) => Arc::new(SqlRateLimiter::new(store.clone(), gcra)),
            Self::Redis(store) => Arc::new(RedisRateLimiter::new(store.clone(), gcra)),
        }
    }

    /// Deletes expired grants and full budgets.
    pub async fn purge(&self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(store) => sql::purge(store).await,
            Self::Postgres(store) => sql::purge(store).await,
            Self::MySql(store) => sql::purge(store).await,
            Self::Redis(_) => Ok(()),
        }
    }
}

/// The grants and budgets as the settings place them, with the stores they opened.
pub(crate) struct Shared {
    /// The issuer's grants, when they are shared.
    pub(crate) grants: Option<Arc<dyn GrantStore>>,
    /// The rate limit's budgets.
    pub(crate) limiter: Arc<dyn RateLimiter>,
    stores: Vec<SharedStore>,
}

/// The store at `url`: one of `stores` already open, or opened now and added to them.
async fn store_at(
    stores: &mut Vec<(String, SharedStore)>,
    url: &str,
    name: &str,
) -> anyhow::Result<SharedStore> {
    if let Some((_, store)) = stores.iter().find(|(opened, _)| opened == url) {
        return Ok(store.clone());
    }
    let store = SharedStore::open(url, name).await?;
    stores.push((url.to_owned(), store.clone()));
    Ok(store)
}

/// `rate_limit.store = "memory"`: this process's memory even when `auth.store` names a store
/// (one gateway process, as `msa up` runs: a budget check per request costs no write).
pub(crate) const MEMORY: &str = "memory";

impl Shared {
    /// Opens the stores `auth.store` and `rate.store` name (each URL once) for gateway `name`.
    pub(crate) async fn open(
        auth: &AuthSettings,
        rate: &RateLimitSettings,
        name: &str,
    ) -> anyhow::Result<Self> {
        let mut stores = Vec::new();
        let grants = if auth.embedded && !auth.store.is_empty() {
            Some(store_at(&mut stores, &auth.store, name).await?.grants())
        } else {
            None
        };
        let budgets = if rate.store.is_empty() {
            &auth.store
        } else {
            &rate.store
        };
        let limiter = if budgets.is_empty() || budgets == MEMORY {
            Arc::new(MemoryRateLimiter::new(rate.clone())) as Arc<dyn RateLimiter>
        } else {
            store_at(&mut stores, budgets, name)
                .await?
                .limiter(Gcra::of(rate))
        };
        Ok(Self {
            grants,
            limiter,
            stores: stores.into_iter().map(|(_, store)| store).collect(),
        })
    }

    /// `service` with the purge of expired rows from every shared store.
    ///
    /// A shared store is not a readiness check: while it is out of reach only signing in and
    /// refreshing fail (and the rate limit lets requests through), whereas an unready gateway
    /// would refuse every call, also those with valid access tokens.
    pub(crate) fn attach(self, mut service: kernel::Service) -> kernel::Service {
        for store in self.stores {
            service = service.every(PURGE_EVERY, "gateway store purge", move || {
                let store = store.clone();
                async move { store.purge().await }
            });
        }
        service
    }
}

#[cfg(test)]
mod tests;
