//! The aggregate store on Redis, for read models: each view a hash
//! (`<prefix>:doc:<collection>:<id>`), each index key a sorted set, each unique key a string,
//! counters in hashes, and the inbox — every change is one Lua script, so the view, its keys,
//! its counters and the inbox record change together or not at all. Redis keeps no outbox: a
//! change that would publish events is refused.

use crate::aggregate::{Change, CounterChange, DocumentStore, Key, StoreError};
use crate::redis::RedisStore;
use anyhow::Context as _;
use async_trait::async_trait;
use redis::Script;
use std::sync::LazyLock;

/// How long inbox records are kept, in seconds (a redelivery later than this is not expected).
const INBOX_TTL_S: u64 = 7 * 24 * 3600;

static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local p, coll, id, expected = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local version, state, now, inbox, ttl = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
if inbox ~= '' and redis.call('EXISTS', inbox) == 1 then return 'handled' end
local doc = p .. ':doc:' .. coll .. ':' .. id
local current = redis.call('HGET', doc, 'version')
if expected == '' then
  if current then return 'duplicate:id' end
elseif current ~= expected then
  return 'conflict'
end
local i = 10
local removed, added, counters = {}, {}, {}
for n = 1, tonumber(ARGV[i]) do removed[n] = {ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]}; i = i + 3 end
i = i + 1
for n = 1, tonumber(ARGV[i]) do
  added[n] = {ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]}; i = i + 4
end
i = i + 1
for n = 1, tonumber(ARGV[i]) do
  counters[n] = {ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])}; i = i + 3
end
local function key_of(k) return p .. ':' .. (k[1] == '1' and 'uniq:' or 'idx:') .. coll .. ':' .. k[2] .. ':' .. k[3] end
for _, k in ipairs(added) do
  if k[1] == '1' then
    local holder = redis.call('GET', key_of(k))
    if holder and holder ~= id then return 'duplicate:' .. k[2] end
  end
end
for _, c in ipairs(counters) do
  local amount = redis.call('HGET', p .. ':counter:' .. c[1], c[2])
  if not amount or tonumber(amount) + c[3] < 0 then return 'exhausted:' .. c[1] end
end
for _, k in ipairs(removed) do
  if k[1] == '1' then redis.call('DEL', key_of(k)) else redis.call('ZREM', key_of(k), id) end
end
for _, k in ipairs(added) do
  if k[1] == '1' then redis.call('SET', key_of(k), id) else redis.call('ZADD', key_of(k), k[4], id) end
end
for _, c in ipairs(counters) do redis.call('HINCRBY', p .. ':counter:' .. c[1], c[2], c[3]) end
if expected == '' then redis.call('HSET', doc, 'created', now) end
redis.call('HSET', doc, 'state', state, 'version', version, 'updated', now)
if inbox ~= '' then redis.call('SET', inbox, '1', 'EX', ttl) end
return 'ok'
"#,
    )
});

static FIND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local ids
if ARGV[3] == '1' then
  local id = redis.call('GET', ARGV[1] .. ':uniq:' .. ARGV[2] .. ':' .. ARGV[4] .. ':' .. ARGV[5])
  ids = id and {id} or {}
else
  ids = redis.call('ZREVRANGE', ARGV[1] .. ':idx:' .. ARGV[2] .. ':' .. ARGV[4] .. ':' .. ARGV[5], 0, tonumber(ARGV[6]) - 1)
end
local docs = {}
for _, id in ipairs(ids) do
  local state = redis.call('HGET', ARGV[1] .. ':doc:' .. ARGV[2] .. ':' .. id, 'state')
  if state then docs[#docs + 1] = state end
end
return docs
"#,
    )
});

static ADJUST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local amount = redis.call('HGET', KEYS[1], ARGV[1])
if not amount or tonumber(amount) + tonumber(ARGV[2]) < 0 then return nil end
return redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
"#,
    )
});

fn push_key(script: &mut redis::ScriptInvocation<'_>, key: &Key, scored: bool) {
    script
        .arg(if key.unique { "1" } else { "0" })
        .arg(key.name)
        .arg(&key.value);
    if scored {
        script.arg(key.score);
    }
}

#[async_trait]
impl DocumentStore for RedisStore {
    async fn load(&self, collection: &str, id: &str) -> anyhow::Result<Option<String>> {
        redis::cmd("HGET")
            .arg(self.key(&format!("doc:{collection}:{id}")))
            .arg("state")
            .query_async(&mut self.conn())
            .await
            .with_context(|| format!("cannot read {collection} {id}"))
    }

    async fn find(&self, collection: &str, key: &Key, limit: u32) -> anyhow::Result<Vec<String>> {
        FIND.arg(self.prefix())
            .arg(collection)
            .arg(if key.unique { "1" } else { "0" })
            .arg(key.name)
            .arg(&key.value)
            .arg(limit.max(1))
            .invoke_async(&mut self.conn())
            .await
            .with_context(|| format!("cannot look up {collection} by {}", key.name))
    }

    async fn save(&self, change: Change) -> Result<(), StoreError> {
        if !change.events.is_empty() {
            return Err(StoreError::Unknown(anyhow::anyhow!(
                "a Redis store keeps read models only and cannot publish {} events",
                change.kind
            )));
        }
        let inbox = change
            .cause
            .as_ref()
            .map(|cause| {
                let scope = cause.scope.as_deref().unwrap_or(&change.collection);
                self.key(&format!("inbox:{scope}:{}", cause.event_id))
            })
            .unwrap_or_default();
        let mut script = SAVE.prepare_invoke();
        script
            .arg(self.prefix())
            .arg(&change.collection)
            .arg(&change.id)
            .arg(
                change
                    .expected_version
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            )
            .arg(change.version)
            .arg(&change.state)
            .arg(crate::clock::now_millis())
            .arg(inbox)
            .arg(INBOX_TTL_S)
            .arg(change.removed_keys.len());
        for key in &change.removed_keys {
            push_key(&mut script, key, false);
        }
        script.arg(change.added_keys.len());
        for key in &change.added_keys {
            push_key(&mut script, key, true);
        }
        script.arg(change.counters.len());
        for counter in &change.counters {
            script
                .arg(counter.counter)
                .arg(&counter.key)
                .arg(counter.delta);
        }
        let outcome: String = script
            .invoke_async(&mut self.conn())
            .await
            .with_context(|| format!("cannot store {} {}", change.kind, change.id))?;
        let kind = change.kind;
        match outcome.split_once(':') {
            None if outcome == "ok" => Ok(()),
            None if outcome == "handled" => Err(StoreError::AlreadyHandled),
            None if outcome == "conflict" => Err(StoreError::Conflict { kind }),
            Some(("duplicate", "id")) => Err(StoreError::Duplicate { kind, key: "id" }),
            Some(("duplicate", name)) => {
                let key = change
                    .added_keys
                    .iter()
                    .find(|k| k.name == name)
                    .map_or("id", |k| k.name);
                Err(StoreError::Duplicate { kind, key })
            }
            Some(("exhausted", counter)) => {
                let change = change.counters.iter().find(|c| c.counter == counter);
                Err(StoreError::Exhausted {
                    counter: change.map_or("counter", |c| c.counter),
                    key: change.map(|c| c.key.clone()).unwrap_or_default(),
                })
            }
            _ => Err(StoreError::Unknown(anyhow::anyhow!(
                "unexpected answer {outcome:?} from the store script"
            ))),
        }
    }

    async fn define_counter(&self, counter: &str, key: &str, value: i64) -> anyhow::Result<bool> {
        redis::cmd("HSETNX")
            .arg(self.key(&format!("counter:{counter}")))
            .arg(key)
            .arg(value)
            .query_async(&mut self.conn())
            .await
            .context("cannot define a counter")
    }

    async fn adjust_counter(&self, change: CounterChange) -> Result<i64, StoreError> {
        let value: Option<i64> = ADJUST
            .key(self.key(&format!("counter:{}", change.counter)))
            .arg(&change.key)
            .arg(change.delta)
            .invoke_async(&mut self.conn())
            .await
            .context("cannot change a counter")?;
        value.ok_or(StoreError::Exhausted {
            counter: change.counter,
            key: change.key,
        })
    }

    async fn counter(&self, counter: &str, key: &str) -> anyhow::Result<Option<i64>> {
        redis::cmd("HGET")
            .arg(self.key(&format!("counter:{counter}")))
            .arg(key)
            .query_async(&mut self.conn())
            .await
            .context("cannot read a counter")
    }

    async fn counters(
        &self,
        counter: &str,
    ) -> anyhow::Result<std::collections::HashMap<String, i64>> {
        redis::cmd("HGETALL")
            .arg(self.key(&format!("counter:{counter}")))
            .query_async(&mut self.conn())
            .await
            .context("cannot read a counter's keys")
    }

    async fn discard(&self, collection: &str) -> anyhow::Result<u64> {
        let mut deleted = 0;
        for part in ["doc", "idx", "uniq", "inbox"] {
            let removed = self.delete_under(&format!("{part}:{collection}:")).await?;
            if part == "doc" {
                deleted = removed;
            }
        }
        Ok(deleted)
    }
}
