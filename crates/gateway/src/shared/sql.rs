//! The shared grants and rate limits on a SQL database (SQLite file, PostgreSQL, MariaDB/MySQL),
//! written once over the kernel's `Backend`: every statement has bound parameters and is atomic
//! on its own, so no transaction spans a round trip.
//!
//! - a code is redeemed by the one `DELETE` that removes its row;
//! - a refresh token is rotated by the one `UPDATE` that sets `used_at` on a row that had none;
//!   whoever finds it set again marks the family revoked, and every rotation checks that mark,
//!   so a token a rotation stored after the revocation is refused too;
//! - a budget is one row per client holding its theoretical arrival time (GCRA), moved on by a
//!   conditional `UPDATE` (or created by an `INSERT`) only while the budget allows.

use super::{Gcra, digest};
use crate::edge::{Admission, RateLimiter};
use anyhow::Context as _;
use async_trait::async_trait;
use auth::{CodeGrant, GrantStore, RefreshGrant, Rotation};
use kernel::sql::{Backend, Bind, Migration, SqlStore, is_unique_violation, now_millis};
use std::time::Duration;

/// The gateway's tables. One text for every database: keys are hex digests (so a
/// case-insensitive collation cannot merge two of them), times are milliseconds.
pub(super) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "shared grants and rate limits",
    sql: "CREATE TABLE IF NOT EXISTS msa_gateway_codes (
            code_hash VARCHAR(64) NOT NULL PRIMARY KEY,
            details TEXT NOT NULL,
            expires_at BIGINT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS msa_gateway_refresh_tokens (
            token_hash VARCHAR(64) NOT NULL PRIMARY KEY,
            details TEXT NOT NULL,
            used_at BIGINT NULL,
            expires_at BIGINT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS msa_gateway_revoked_families (
            family_hash VARCHAR(64) NOT NULL PRIMARY KEY,
            expires_at BIGINT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS msa_gateway_rate_limits (
            client_hash VARCHAR(64) NOT NULL PRIMARY KEY,
            arrival_us BIGINT NOT NULL
        )",
}];

const CODE_INSERT: &str =
    "INSERT INTO msa_gateway_codes (code_hash, details, expires_at) VALUES ($1, $2, $3)";
const CODE_READ: &str =
    "SELECT details FROM msa_gateway_codes WHERE code_hash = $1 AND expires_at > $2";
const CODE_DELETE: &str = "DELETE FROM msa_gateway_codes WHERE code_hash = $1";
const REFRESH_INSERT: &str =
    "INSERT INTO msa_gateway_refresh_tokens (token_hash, details, expires_at) VALUES ($1, $2, $3)";
const REFRESH_READ: &str =
    "SELECT details FROM msa_gateway_refresh_tokens WHERE token_hash = $1 AND expires_at > $2";
const REFRESH_USE: &str = "UPDATE msa_gateway_refresh_tokens SET used_at = $1 \
     WHERE token_hash = $2 AND used_at IS NULL";
const FAMILY_REVOKED: &str =
    "SELECT COUNT(*) FROM msa_gateway_revoked_families WHERE family_hash = $1";
const FAMILY_REVOKE: &str =
    "INSERT INTO msa_gateway_revoked_families (family_hash, expires_at) VALUES ($1, $2)";
/// Moves the client's arrival time on by one interval if that stays within the tolerance:
/// `max(arrival, now) + interval <= now + tolerance`.
const BUDGET_TAKE: &str = "UPDATE msa_gateway_rate_limits \
     SET arrival_us = (CASE WHEN arrival_us > $1 THEN arrival_us ELSE $2 END) + $3 \
     WHERE client_hash = $4 AND (CASE WHEN arrival_us > $5 THEN arrival_us ELSE $6 END) + $7 <= $8";
const BUDGET_INSERT: &str =
    "INSERT INTO msa_gateway_rate_limits (client_hash, arrival_us) VALUES ($1, $2)";
const BUDGET_READ: &str = "SELECT arrival_us FROM msa_gateway_rate_limits WHERE client_hash = $1";
/// Grants that have expired.
const PURGE_GRANTS: [&str; 3] = [
    "DELETE FROM msa_gateway_codes WHERE expires_at < $1",
    "DELETE FROM msa_gateway_refresh_tokens WHERE expires_at < $1",
    "DELETE FROM msa_gateway_revoked_families WHERE expires_at < $1",
];
/// Budgets whose arrival time has passed: they are full again, as if they had no row.
const PURGE_BUDGETS: &str = "DELETE FROM msa_gateway_rate_limits WHERE arrival_us < $1";

fn until(ttl: Duration) -> i64 {
    now_millis() + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)
}

/// Runs `sql` on the pool; the rows it changed.
async fn execute<DB: Backend>(
    store: &SqlStore<DB>,
    sql: &str,
    binds: &[Bind<'_>],
) -> Result<u64, sqlx::Error> {
    DB::execute_on(store.pool(), &DB::statement(sql), binds).await
}

/// The details column of the row `sql` finds, if any.
async fn details<DB: Backend>(
    store: &SqlStore<DB>,
    sql: &str,
    key: &str,
) -> anyhow::Result<Option<String>> {
    let rows = DB::texts_on(
        store.pool(),
        &DB::statement(sql),
        &[Bind::Text(key), Bind::Int(now_millis())],
    )
    .await?;
    Ok(rows.into_iter().next())
}

/// Deletes what has expired (the gateway runs it every minute).
pub(super) async fn purge<DB: Backend>(store: &SqlStore<DB>) -> anyhow::Result<()> {
    let now = now_millis();
    for sql in PURGE_GRANTS {
        execute(store, sql, &[Bind::Int(now)])
            .await
            .context("cannot delete expired grants")?;
    }
    execute(
        store,
        PURGE_BUDGETS,
        &[Bind::Int(now.saturating_mul(1_000))],
    )
    .await
    .context("cannot delete full budgets")?;
    Ok(())
}

/// The issuer's codes and refresh tokens in a SQL database.
#[derive(Clone, Debug)]
pub struct SqlGrantStore<DB: Backend> {
    store: SqlStore<DB>,
}

impl<DB: Backend> SqlGrantStore<DB> {
    /// Grants in `store` (migrated by the caller).
    pub(super) fn new(store: SqlStore<DB>) -> Self {
        Self { store }
    }

    async fn revoke_family(&self, family: &str, ttl: Duration) -> anyhow::Result<()> {
        let family = digest(family);
        match execute(
            &self.store,
            FAMILY_REVOKE,
            &[Bind::Text(&family), Bind::Int(until(ttl))],
        )
        .await
        {
            Err(error) if is_unique_violation(&error) => Ok(()),
            other => other.map(|_| ()).context("cannot revoke a token family"),
        }
    }

    async fn refresh_grant(&self, token_hash: &str) -> anyhow::Result<Option<RefreshGrant>> {
        details(&self.store, REFRESH_READ, token_hash)
            .await
            .context("cannot read a refresh token")?
            .map(|json| serde_json::from_str(&json).context("a stored refresh grant is not JSON"))
            .transpose()
    }
}

#[async_trait]
impl<DB: Backend> GrantStore for SqlGrantStore<DB> {
    async fn put_code(&self, code: &str, grant: &CodeGrant, ttl: Duration) -> anyhow::Result<()> {
        let json = serde_json::to_string(grant)?;
        let binds = [
            Bind::Text(&digest(code)),
            Bind::Text(&json),
            Bind::Int(until(ttl)),
        ];
        execute(&self.store, CODE_INSERT, &binds)
            .await
            .context("cannot keep an authorization code")?;
        Ok(())
    }

    async fn take_code(&self, code: &str) -> anyhow::Result<Option<CodeGrant>> {
        let hash = digest(code);
        let Some(json) = details(&self.store, CODE_READ, &hash)
            .await
            .context("cannot read an authorization code")?
        else {
            return Ok(None);
        };
        // Whoever deletes the row redeems the code; a racing redemption deletes nothing.
        let deleted = execute(&self.store, CODE_DELETE, &[Bind::Text(&hash)])
            .await
            .context("cannot redeem an authorization code")?;
        if deleted == 0 {
            return Ok(None);
        }
        serde_json::from_str(&json)
            .map(Some)
            .context("a stored code grant is not JSON")
    }

    async fn put_refresh(
        &self,
        token: &str,
        grant: &RefreshGrant,
        ttl: Duration,
    ) -> anyhow::Result<()> {
        let json = serde_json::to_string(grant)?;
        let binds = [
            Bind::Text(&digest(token)),
            Bind::Text(&json),
            Bind::Int(until(ttl)),
        ];
        execute(&self.store, REFRESH_INSERT, &binds)
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
        let hash = digest(token);
        let Some(grant) = self
            .refresh_grant(&hash)
            .await?
            .filter(|g| g.client_id == client_id)
        else {
            return Ok(Rotation::Refused);
        };
        let revoked = DB::integer_on(
            self.store.pool(),
            &DB::statement(FAMILY_REVOKED),
            &[Bind::Text(&digest(&grant.family))],
        )
        .await
        .context("cannot read a token family")?;
        if revoked.unwrap_or(0) > 0 {
            return Ok(Rotation::Refused);
        }
        let used = execute(
            &self.store,
            REFRESH_USE,
            &[Bind::Int(now_millis()), Bind::Text(&hash)],
        )
        .await
        .context("cannot rotate a refresh token")?;
        if used == 0 {
            self.revoke_family(&grant.family, ttl).await?;
            return Ok(Rotation::Reused);
        }
        self.put_refresh(next, &grant, ttl).await?;
        Ok(Rotation::Rotated(grant))
    }

    async fn revoke(&self, token: &str, ttl: Duration) -> anyhow::Result<()> {
        if let Some(grant) = self.refresh_grant(&digest(token)).await? {
            self.revoke_family(&grant.family, ttl).await?;
        }
        Ok(())
    }
}

/// Budgets in a SQL database.
#[derive(Clone, Debug)]
pub struct SqlRateLimiter<DB: Backend> {
    store: SqlStore<DB>,
    gcra: Gcra,
}

impl<DB: Backend> SqlRateLimiter<DB> {
    /// Budgets of `gcra` in `store` (migrated by the caller).
    pub(super) fn new(store: SqlStore<DB>, gcra: Gcra) -> Self {
        Self { store, gcra }
    }

    /// Takes one request from the budget of `client` (a digest) if it allows one.
    async fn take(&self, client: &str, now: i64) -> Result<bool, sqlx::Error> {
        let Gcra {
            interval_us,
            tolerance_us,
        } = self.gcra;
        let binds = [
            Bind::Int(now),
            Bind::Int(now),
            Bind::Int(interval_us),
            Bind::Text(client),
            Bind::Int(now),
            Bind::Int(now),
            Bind::Int(interval_us),
            Bind::Int(now.saturating_add(tolerance_us)),
        ];
        Ok(execute(&self.store, BUDGET_TAKE, &binds).await? == 1)
    }

    /// Starts `client`'s budget with this request; false when another replica started it first.
    async fn start(&self, client: &str, now: i64) -> anyhow::Result<bool> {
        let first = [
            Bind::Text(client),
            Bind::Int(now.saturating_add(self.gcra.interval_us)),
        ];
        match execute(&self.store, BUDGET_INSERT, &first).await {
            Ok(_) => Ok(true),
            Err(error) if is_unique_violation(&error) => Ok(false),
            Err(error) => Err(error).context("cannot start a budget"),
        }
    }

    /// The arrival time of `client`'s budget, if it has a row.
    async fn arrival(&self, client: &str) -> anyhow::Result<Option<i64>> {
        DB::integer_on(
            self.store.pool(),
            &DB::statement(BUDGET_READ),
            &[Bind::Text(client)],
        )
        .await
        .context("cannot read a budget")
    }
}

#[async_trait]
impl<DB: Backend> RateLimiter for SqlRateLimiter<DB> {
    async fn admit(&self, client: &str) -> anyhow::Result<Admission> {
        let client = digest(client);
        let now = now_millis().saturating_mul(1_000);
        // A budget that another replica starts (or the purge ends) between two statements is
        // looked at again; a budget only moves further from `now` otherwise, so a few rounds
        // settle every race.
        for _ in 0..3 {
            if self
                .take(&client, now)
                .await
                .context("cannot take from a budget")?
            {
                return Ok(Admission::Admitted);
            }
            match self.arrival(&client).await? {
                Some(arrival) if !self.gcra.fits(arrival, now) => {
                    return Ok(self.gcra.refused(arrival, now));
                }
                Some(_) => {}
                None if self.start(&client, now).await? => return Ok(Admission::Admitted),
                None => {}
            }
        }
        Ok(self.gcra.refused(now, now))
    }
}
