//! The issuer's state between requests: authorization codes waiting to be redeemed and refresh
//! token families. [`GrantStore`] is the port; [`MemoryGrantStore`] keeps them in this process
//! (one embedded gateway), and the gateway supplies a shared store (SQL or Redis) when it runs
//! as several replicas, so that a code issued by one replica is redeemed at another.
//!
//! Both adapters keep the same promises: a code is redeemed at most once; a refresh token is
//! rotated at most once; a rotated token presented again revokes its whole family, including the
//! newest token of it.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What an authorization code stands for until it is redeemed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGrant {
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI of the authorization request; the token request must name it again.
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub challenge: String,
    /// Who signed in.
    pub username: String,
    /// The scope granted.
    pub scope: String,
    /// The OIDC nonce to put into the id token.
    pub nonce: Option<String>,
}

/// What a refresh token stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshGrant {
    /// The client it was issued to.
    pub client_id: String,
    /// Whose it is.
    pub username: String,
    /// The scope granted.
    pub scope: String,
    /// The chain of rotations it belongs to, revoked as a whole.
    pub family: String,
}

/// The outcome of presenting a refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// It was valid: it is used up now, and the next token holds the same grant.
    Rotated(RefreshGrant),
    /// It had been rotated before, so someone else has a copy: its family is revoked now.
    Reused,
    /// Unknown, expired, of another client, or of a revoked family.
    Refused,
}

/// Where the issuer keeps codes and refresh tokens.
#[async_trait]
pub trait GrantStore: Send + Sync + 'static {
    /// Keeps `code` for `ttl`.
    async fn put_code(&self, code: &str, grant: &CodeGrant, ttl: Duration) -> anyhow::Result<()>;
    /// Redeems `code`: its grant the first time (if it has not expired), `None` ever after, also
    /// when two redemptions race.
    async fn take_code(&self, code: &str) -> anyhow::Result<Option<CodeGrant>>;
    /// Keeps refresh `token` for `ttl`.
    async fn put_refresh(
        &self,
        token: &str,
        grant: &RefreshGrant,
        ttl: Duration,
    ) -> anyhow::Result<()>;
    /// Rotates refresh `token`, presented by `client_id`, to `next` (kept for `ttl`) — at most
    /// once; a second presentation revokes the family.
    async fn rotate(
        &self,
        token: &str,
        client_id: &str,
        next: &str,
        ttl: Duration,
    ) -> anyhow::Result<Rotation>;
    /// Revokes the family of refresh `token`, if it is known.
    async fn revoke(&self, token: &str, ttl: Duration) -> anyhow::Result<()>;
}

struct Expiring<T> {
    value: T,
    expires: Instant,
}

/// Refresh tokens with whether each was rotated already.
#[derive(Default)]
struct Grants {
    codes: HashMap<String, Expiring<CodeGrant>>,
    refresh: HashMap<String, Expiring<(RefreshGrant, bool)>>,
}

impl Grants {
    /// Forgets a family: its tokens go, so the newest is refused as well.
    fn revoke(&mut self, family: &str) {
        self.refresh.retain(|_, r| r.value.0.family != family);
    }
}

/// Codes and refresh tokens in this process's memory: a restart signs everyone out, and a second
/// replica knows nothing of them.
#[derive(Default)]
pub struct MemoryGrantStore {
    grants: Mutex<Grants>,
}

impl std::fmt::Debug for MemoryGrantStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryGrantStore").finish()
    }
}

impl MemoryGrantStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Grants> {
        self.grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl GrantStore for MemoryGrantStore {
    async fn put_code(&self, code: &str, grant: &CodeGrant, ttl: Duration) -> anyhow::Result<()> {
        let now = Instant::now();
        let mut grants = self.lock();
        grants.codes.retain(|_, c| c.expires > now);
        grants.codes.insert(
            code.to_owned(),
            Expiring {
                value: grant.clone(),
                expires: now + ttl,
            },
        );
        Ok(())
    }

    async fn take_code(&self, code: &str) -> anyhow::Result<Option<CodeGrant>> {
        let taken = self.lock().codes.remove(code);
        Ok(taken
            .filter(|c| c.expires > Instant::now())
            .map(|c| c.value))
    }

    async fn put_refresh(
        &self,
        token: &str,
        grant: &RefreshGrant,
        ttl: Duration,
    ) -> anyhow::Result<()> {
        let now = Instant::now();
        let mut grants = self.lock();
        grants.refresh.retain(|_, r| r.expires > now);
        grants.refresh.insert(
            token.to_owned(),
            Expiring {
                value: (grant.clone(), false),
                expires: now + ttl,
            },
        );
        Ok(())
    }

    async fn rotate(
        &self,
        token: &str,
        client_id: &str,
        next: &str,
        ttl: Duration,
    ) -> anyhow::Result<Rotation> {
        let now = Instant::now();
        let mut grants = self.lock();
        let Some(entry) = grants.refresh.get_mut(token) else {
            return Ok(Rotation::Refused);
        };
        if entry.value.0.client_id != client_id || entry.expires <= now {
            return Ok(Rotation::Refused);
        }
        if entry.value.1 {
            let family = entry.value.0.family.clone();
            grants.revoke(&family);
            return Ok(Rotation::Reused);
        }
        entry.value.1 = true;
        let grant = entry.value.0.clone();
        grants.refresh.insert(
            next.to_owned(),
            Expiring {
                value: (grant.clone(), false),
                expires: now + ttl,
            },
        );
        Ok(Rotation::Rotated(grant))
    }

    async fn revoke(&self, token: &str, _ttl: Duration) -> anyhow::Result<()> {
        let mut grants = self.lock();
        if let Some(family) = grants.refresh.get(token).map(|r| r.value.0.family.clone()) {
            grants.revoke(&family);
        }
        Ok(())
    }
}

/// The promises every [`GrantStore`] keeps, run by each adapter's tests (the gateway runs them
/// against its SQL and Redis stores).
pub mod promises {
    use super::*;

    fn code(client_id: &str) -> CodeGrant {
        CodeGrant {
            client_id: client_id.to_owned(),
            redirect_uri: "http://127.0.0.1/".to_owned(),
            challenge: "c".repeat(43),
            username: "kim".to_owned(),
            scope: "openid".to_owned(),
            nonce: Some("n".to_owned()),
        }
    }

    fn refresh(family: &str) -> RefreshGrant {
        RefreshGrant {
            client_id: "msa-web".to_owned(),
            username: "kim".to_owned(),
            scope: "openid".to_owned(),
            family: family.to_owned(),
        }
    }

    /// A unique token for one run (stores may be shared between runs).
    fn fresh(what: &str) -> String {
        format!("{what}-{}", uuid::Uuid::now_v7())
    }

    /// A code is redeemed once, even by racing redemptions, and an expired one never.
    pub async fn codes_are_redeemed_once(store: &dyn GrantStore) -> anyhow::Result<()> {
        let issued = fresh("code");
        store
            .put_code(&issued, &code("msa-web"), Duration::from_secs(60))
            .await?;
        let (a, b, c) = tokio::join!(
            store.take_code(&issued),
            store.take_code(&issued),
            store.take_code(&issued)
        );
        let won: Vec<CodeGrant> = [a?, b?, c?].into_iter().flatten().collect();
        anyhow::ensure!(won == vec![code("msa-web")], "exactly one wins: {won:?}");
        let short = fresh("code");
        store
            .put_code(&short, &code("msa-web"), Duration::from_millis(1))
            .await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
        anyhow::ensure!(store.take_code(&short).await?.is_none(), "expired");
        Ok(())
    }

    /// A refresh token rotates once, even when presented twice at the same moment; a reuse
    /// revokes the family, newest token included.
    pub async fn refresh_tokens_rotate_once(store: &dyn GrantStore) -> anyhow::Result<()> {
        let ttl = Duration::from_secs(60);
        let family = fresh("family");
        let first = fresh("refresh");
        store.put_refresh(&first, &refresh(&family), ttl).await?;
        anyhow::ensure!(
            store.rotate(&first, "msa-ops", &fresh("x"), ttl).await? == Rotation::Refused,
            "another client's token is refused"
        );
        let (second, rival) = (fresh("refresh"), fresh("refresh"));
        let (a, b) = tokio::join!(
            store.rotate(&first, "msa-web", &second, ttl),
            store.rotate(&first, "msa-web", &rival, ttl)
        );
        let outcomes = [a?, b?];
        let rotated = outcomes
            .iter()
            .filter(|o| matches!(o, Rotation::Rotated(g) if *g == refresh(&family)))
            .count();
        anyhow::ensure!(rotated == 1, "exactly one rotation: {outcomes:?}");
        anyhow::ensure!(
            outcomes.contains(&Rotation::Reused),
            "the other is a reuse: {outcomes:?}"
        );
        for newest in [&second, &rival] {
            let outcome = store.rotate(newest, "msa-web", &fresh("x"), ttl).await?;
            anyhow::ensure!(
                outcome == Rotation::Refused,
                "the revoked family's newest token is refused: {outcome:?}"
            );
        }
        Ok(())
    }

    /// Revocation takes the whole family; an unknown token is refused.
    pub async fn revocation_ends_the_family(store: &dyn GrantStore) -> anyhow::Result<()> {
        let ttl = Duration::from_secs(60);
        let family = fresh("family");
        let (first, second) = (fresh("refresh"), fresh("refresh"));
        store.put_refresh(&first, &refresh(&family), ttl).await?;
        let rotated = store.rotate(&first, "msa-web", &second, ttl).await?;
        anyhow::ensure!(matches!(rotated, Rotation::Rotated(_)), "{rotated:?}");
        store.revoke(&first, ttl).await?;
        let after = store.rotate(&second, "msa-web", &fresh("x"), ttl).await?;
        anyhow::ensure!(after == Rotation::Refused, "revoked: {after:?}");
        let unknown = store
            .rotate(&fresh("unknown"), "msa-web", &fresh("x"), ttl)
            .await?;
        anyhow::ensure!(unknown == Rotation::Refused, "unknown: {unknown:?}");
        Ok(())
    }

    /// Every promise, in turn.
    pub async fn all(store: &dyn GrantStore) -> anyhow::Result<()> {
        codes_are_redeemed_once(store).await?;
        refresh_tokens_rotate_once(store).await?;
        revocation_ends_the_family(store).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_store_keeps_every_promise() {
        promises::all(&MemoryGrantStore::default()).await.unwrap();
    }
}
