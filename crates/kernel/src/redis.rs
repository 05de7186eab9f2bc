//! Redis as a service store (read models): connection with automatic reconnection, a key prefix
//! per deployment, readiness, and dead letters. A Redis store has no transactions across round
//! trips, so a handler's effect and its inbox record are one Lua script: see [`INBOX_LUA`].
//!
//! URLs are `redis://host:port/db?prefix=some:prefix`; the prefix (default `msa`) starts every key.

use crate::deadletter::{DeadLetter, DeadLetterStore};
use crate::envelope::Envelope;
use crate::health::ReadinessCheck;
use anyhow::Context as _;
use async_trait::async_trait;
use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;
use std::time::Duration;

/// Lua that a script runs first to make its effect idempotent: `msa_first_delivery(key, ttl)`
/// returns false when the inbox key exists (the event was handled), and otherwise sets it with a
/// time to live in seconds and returns true. The script's writes and the inbox record are one
/// atomic unit because Redis runs a script without interleaving.
pub const INBOX_LUA: &str = r#"
local function msa_first_delivery(key, ttl)
  if redis.call('EXISTS', key) == 1 then return false end
  redis.call('SET', key, '1', 'EX', ttl)
  return true
end
"#;

/// A service's Redis store.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    consumer: String,
    url: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.url)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Splits `?prefix=` off a Redis URL.
fn split_prefix(url: &str) -> (String, String) {
    match url.split_once('?') {
        None => (url.to_owned(), "msa".to_owned()),
        Some((base, query)) => {
            let mut prefix = "msa".to_owned();
            let mut rest = Vec::new();
            for pair in query.split('&') {
                match pair.strip_prefix("prefix=") {
                    Some(value) => prefix = value.to_owned(),
                    None if !pair.is_empty() => rest.push(pair),
                    None => {}
                }
            }
            let base = if rest.is_empty() {
                base.to_owned()
            } else {
                format!("{base}?{}", rest.join("&"))
            };
            (base, prefix)
        }
    }
}

impl RedisStore {
    /// Connects (reconnecting by itself later) for consumer `consumer` (the service name).
    pub async fn connect(url: &str, consumer: &str) -> anyhow::Result<Self> {
        let (base, prefix) = split_prefix(url);
        anyhow::ensure!(
            !prefix.is_empty() && !prefix.contains(char::is_whitespace),
            "the redis key prefix must be non-empty and without spaces"
        );
        let client = redis::Client::open(base.as_str())
            .with_context(|| format!("bad redis url {}", crate::config::redact(&base)))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(3))
            .set_response_timeout(Duration::from_secs(3))
            .set_number_of_retries(2)
            .set_max_delay(1_000);
        let conn = client
            .get_connection_manager_with_config(config)
            .await
            .with_context(|| {
                format!(
                    "cannot connect to redis at {}",
                    crate::config::redact(&base)
                )
            })?;
        Ok(Self {
            conn,
            prefix,
            consumer: consumer.to_owned(),
            url: crate::config::redact(&base),
        })
    }

    /// A connection (cheap to clone; it reconnects by itself).
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>:<suffix>`.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.prefix)
    }

    fn dead_letters_key(&self) -> String {
        self.key(&format!("deadletters:{}", self.consumer))
    }

    /// Deletes every key under `<prefix>:<suffix>` (for discarding an old generation).
    pub async fn delete_under(&self, suffix: &str) -> anyhow::Result<u64> {
        let pattern = format!("{}:{suffix}*", self.prefix);
        let mut conn = self.conn();
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await
                .context("cannot scan keys")?;
            if !keys.is_empty() {
                deleted += keys.len() as u64;
                let _: () = redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async(&mut conn)
                    .await
                    .context("cannot delete keys")?;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }
}

#[async_trait]
impl ReadinessCheck for RedisStore {
    fn name(&self) -> &'static str {
        "store"
    }

    async fn check(&self) -> anyhow::Result<()> {
        let mut conn = self.conn();
        let answer: String = tokio::time::timeout(
            Duration::from_secs(2),
            redis::cmd("PING").query_async(&mut conn),
        )
        .await
        .context("redis did not answer in time")?
        .context("redis unreachable")?;
        anyhow::ensure!(answer == "PONG", "redis answered {answer}");
        Ok(())
    }
}

#[async_trait]
impl DeadLetterStore for RedisStore {
    async fn park(
        &self,
        payload: &str,
        envelope: Option<&Envelope>,
        error: &str,
        attempts: u32,
    ) -> anyhow::Result<()> {
        let mut conn = self.conn();
        let id: i64 = conn
            .incr(self.key(&format!("deadletters:{}:seq", self.consumer)), 1)
            .await
            .context("cannot number a dead letter")?;
        let letter = DeadLetter {
            id,
            consumer: self.consumer.clone(),
            event_id: envelope.map(|e| e.id.to_string()),
            subject: envelope.map(|e| e.subject.clone()),
            event_type: envelope.map(|e| e.event_type.clone()),
            payload: payload.to_owned(),
            error: error.to_owned(),
            attempts,
            parked_at: crate::clock::now_millis(),
            replayed_at: None,
        };
        let _: () = conn
            .hset(self.dead_letters_key(), id, serde_json::to_string(&letter)?)
            .await
            .context("cannot park a dead letter")?;
        Ok(())
    }

    async fn list(&self) -> anyhow::Result<Vec<DeadLetter>> {
        let mut conn = self.conn();
        let all: Vec<(i64, String)> = conn
            .hgetall(self.dead_letters_key())
            .await
            .context("cannot list dead letters")?;
        let mut letters = all
            .into_iter()
            .map(|(_, json)| {
                serde_json::from_str::<DeadLetter>(&json).context("a dead letter is not JSON")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        letters.sort_by_key(|l| l.id);
        Ok(letters)
    }

    async fn get(&self, id: i64) -> anyhow::Result<Option<DeadLetter>> {
        let mut conn = self.conn();
        let json: Option<String> = conn
            .hget(self.dead_letters_key(), id)
            .await
            .context("cannot read a dead letter")?;
        json.map(|j| serde_json::from_str(&j).context("a dead letter is not JSON"))
            .transpose()
    }

    async fn mark_replayed(&self, id: i64) -> anyhow::Result<()> {
        if let Some(mut letter) = self.get(id).await? {
            letter.replayed_at = Some(crate::clock::now_millis());
            let mut conn = self.conn();
            let _: () = conn
                .hset(self.dead_letters_key(), id, serde_json::to_string(&letter)?)
                .await
                .context("cannot mark a dead letter replayed")?;
        }
        Ok(())
    }

    async fn parked(&self) -> anyhow::Result<u64> {
        Ok(self
            .list()
            .await?
            .iter()
            .filter(|l| l.replayed_at.is_none())
            .count() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_comes_from_the_url_query() {
        assert_eq!(
            split_prefix("redis://h:6379/0?prefix=msa:roaming:mypage"),
            (
                "redis://h:6379/0".to_owned(),
                "msa:roaming:mypage".to_owned()
            )
        );
        assert_eq!(
            split_prefix("redis://h"),
            ("redis://h".to_owned(), "msa".to_owned())
        );
        assert_eq!(
            split_prefix("redis://h/1?protocol=resp3&prefix=x"),
            ("redis://h/1?protocol=resp3".to_owned(), "x".to_owned())
        );
    }
}
