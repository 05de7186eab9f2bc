//! The shared grants and rate limits on Redis: every change that must happen once is one Lua
//! script (Redis runs a script without interleaving), and every key expires by itself.
//!
//! Keys, under the store's prefix: `gateway:code:<digest>` (the code's grant),
//! `gateway:refresh:<digest>` (a hash: `grant`, and `used` once rotated),
//! `gateway:revoked:<digest of the family>`, `gateway:budget:<digest of the client>` (the
//! budget's theoretical arrival time in microseconds).

use super::{Gcra, digest};
use crate::edge::{Admission, RateLimiter};
use anyhow::Context as _;
use async_trait::async_trait;
use auth::{CodeGrant, GrantStore, RefreshGrant, Rotation};
use kernel::redis::RedisStore;
use redis::Script;
use std::sync::LazyLock;
use std::time::Duration;

/// Redeems a code: its grant, deleted in the same step.
static TAKE_CODE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local grant = redis.call('GET', KEYS[1])
        if grant then redis.call('DEL', KEYS[1]) end
        return grant",
    )
});

/// Keeps a refresh token: KEYS[1] the token, ARGV[1] its grant, ARGV[2] its lifetime in ms.
static PUT_REFRESH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"redis.call('HSET', KEYS[1], 'grant', ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1",
    )
});

/// Rotates a refresh token: KEYS[1] the token, KEYS[2] its family's revocation mark, KEYS[3]
/// the next token; ARGV[1] lifetime in ms. Answers `rotated`, `reused` or `refused`.
static ROTATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local grant = redis.call('HGET', KEYS[1], 'grant')
        if not grant or redis.call('EXISTS', KEYS[2]) == 1 then return 'refused' end
        if redis.call('HSETNX', KEYS[1], 'used', '1') == 0 then
          redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
          return 'reused'
        end
        redis.call('HSET', KEYS[3], 'grant', grant)
        redis.call('PEXPIRE', KEYS[3], ARGV[1])
        return 'rotated'",
    )
});

/// Takes from a budget (GCRA): KEYS[1] the budget; ARGV now, interval and tolerance in µs.
/// Answers 0 when admitted, else the µs until a request fits.
static TAKE_BUDGET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local now = tonumber(ARGV[1])
        local arrival = tonumber(redis.call('GET', KEYS[1]) or '0')
        if arrival < now then arrival = now end
        local later = arrival + tonumber(ARGV[2])
        local over = later - now - tonumber(ARGV[3])
        if over > 0 then return over end
        redis.call('SET', KEYS[1], string.format('%d', later), 'PX', math.ceil((later - now) / 1000) + 1)
        return 0",
    )
});

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The issuer's codes and refresh tokens in Redis.
#[derive(Clone, Debug)]
pub struct RedisGrantStore {
    store: RedisStore,
}

impl RedisGrantStore {
    /// Grants under `store`'s prefix.
    pub(super) fn new(store: RedisStore) -> Self {
        Self { store }
    }

    fn key(&self, kind: &str, secret: &str) -> String {
        self.store
            .key(&format!("gateway:{kind}:{}", digest(secret)))
    }

    async fn refresh_grant(&self, token: &str) -> anyhow::Result<Option<RefreshGrant>> {
        let json: Option<String> = redis::cmd("HGET")
            .arg(self.key("refresh", token))
            .arg("grant")
            .query_async(&mut self.store.conn())
            .await
            .context("cannot read a refresh token")?;
        json.map(|j| serde_json::from_str(&j).context("a stored refresh grant is not JSON"))
            .transpose()
    }
}

#[async_trait]
impl GrantStore for RedisGrantStore {
    async fn put_code(&self, code: &str, grant: &CodeGrant, ttl: Duration) -> anyhow::Result<()> {
        let () = redis::cmd("SET")
            .arg(self.key("code", code))
            .arg(serde_json::to_string(grant)?)
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.store.conn())
            .await
            .context("cannot keep an authorization code")?;
        Ok(())
    }

    async fn take_code(&self, code: &str) -> anyhow::Result<Option<CodeGrant>> {
        let json: Option<String> = TAKE_CODE
            .key(self.key("code", code))
            .invoke_async(&mut self.store.conn())
            .await
            .context("cannot redeem an authorization code")?;
        json.map(|j| serde_json::from_str(&j).context("a stored code grant is not JSON"))
            .transpose()
    }

    async fn put_refresh(
        &self,
        token: &str,
        grant: &RefreshGrant,
        ttl: Duration,
    ) -> anyhow::Result<()> {
        let _: i64 = PUT_REFRESH
            .key(self.key("refresh", token))
            .arg(serde_json::to_string(grant)?)
            .arg(millis(ttl))
            .invoke_async(&mut self.store.conn())
            .await
            .context("cannot keep a refresh token")?;
        Ok(())
    }

    async fn rotate(
        &self,
        token: &str,
        client_id: &str,
        next: &str,
        ttl: Duration,
    ) -> anyhow::Result<Rotation> {
        let Some(grant) = self
            .refresh_grant(token)
            .await?
            .filter(|g| g.client_id == client_id)
        else {
            return Ok(Rotation::Refused);
        };
        let outcome: String = ROTATE
            .key(self.key("refresh", token))
            .key(self.key("revoked", &grant.family))
            .key(self.key("refresh", next))
            .arg(millis(ttl))
            .invoke_async(&mut self.store.conn())
            .await
            .context("cannot rotate a refresh token")?;
        Ok(match outcome.as_str() {
            "rotated" => Rotation::Rotated(grant),
            "reused" => Rotation::Reused,
            _ => Rotation::Refused,
        })
    }

    async fn revoke(&self, token: &str, ttl: Duration) -> anyhow::Result<()> {
        if let Some(grant) = self.refresh_grant(token).await? {
            let () = redis::cmd("SET")
                .arg(self.key("revoked", &grant.family))
                .arg("1")
                .arg("PX")
                .arg(millis(ttl))
                .query_async(&mut self.store.conn())
                .await
                .context("cannot revoke a token family")?;
        }
        Ok(())
    }
}

/// Budgets in Redis.
#[derive(Clone, Debug)]
pub struct RedisRateLimiter {
    store: RedisStore,
    gcra: Gcra,
}

impl RedisRateLimiter {
    /// Budgets of `gcra` under `store`'s prefix.
    pub(super) fn new(store: RedisStore, gcra: Gcra) -> Self {
        Self { store, gcra }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn admit(&self, client: &str) -> anyhow::Result<Admission> {
        let now = kernel::clock::now_millis().saturating_mul(1_000);
        let over: i64 = TAKE_BUDGET
            .key(
                self.store
                    .key(&format!("gateway:budget:{}", digest(client))),
            )
            .arg(now)
            .arg(self.gcra.interval_us)
            .arg(self.gcra.tolerance_us)
            .invoke_async(&mut self.store.conn())
            .await
            .context("cannot take from a budget")?;
        Ok(if over > 0 {
            Admission::Refused {
                retry_after_s: over as f64 / 1e6,
            }
        } else {
            Admission::Admitted
        })
    }
}
