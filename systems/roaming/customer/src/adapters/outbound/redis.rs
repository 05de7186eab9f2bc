//! The view store on Redis (production): one hash per reservation (`doc`, `rev`), a sorted set
//! per customer, and the inbox — every save is one Lua script, so the view, the customer index
//! and the inbox record change together or not at all.
//!
//! Keys live under a *generation* (`<prefix>:g<N>:...`); `<prefix>:active` names the one readers
//! and the live projection use. A rebuild fills a fresh generation from the start of the stream
//! and then switches `active` in one `SET`, so readers see either the old complete read model or
//! the new complete one, never a gap.

use crate::adapters::document::ViewDocument;
use crate::domain::view::ReservationView;
use crate::ports::{MyPageStore, StoreError};
use anyhow::Context as _;
use async_trait::async_trait;
use kernel::Envelope;
use kernel::redis::{INBOX_LUA, RedisStore};
use kernel::sql::millis;
use redis::Script;
use std::sync::{Arc, LazyLock};

/// How long inbox records are kept, in seconds (a redelivery later than this is not expected).
const INBOX_TTL_S: u64 = 7 * 24 * 3600;

const RESOLVE: &str = r#"
local base = ARGV[1]
local gen = ARGV[2]
if gen == '' then gen = redis.call('GET', base .. ':active') or 'g0' end
local root = base .. ':' .. gen
"#;

static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{INBOX_LUA}{RESOLVE}
local view = root .. ':view:' .. ARGV[5]
local rev = redis.call('HGET', view, 'rev')
if ARGV[6] == '' then
  if rev then return 'conflict' end
elseif rev ~= ARGV[6] then
  return 'conflict'
end
if not msa_first_delivery(root .. ':inbox:' .. ARGV[3], tonumber(ARGV[4])) then return 'duplicate' end
local next = 1
if rev then next = tonumber(rev) + 1 end
redis.call('HSET', view, 'doc', ARGV[7], 'rev', next)
if ARGV[8] ~= '' then redis.call('ZADD', root .. ':customer:' .. ARGV[8], ARGV[9], ARGV[5]) end
return 'ok'
"#
    ))
});

static LOAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{RESOLVE}
return redis.call('HMGET', root .. ':view:' .. ARGV[3], 'doc', 'rev')
"#
    ))
});

static BY_CUSTOMER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{RESOLVE}
local ids = redis.call('ZREVRANGE', root .. ':customer:' .. ARGV[3], 0, 499)
local docs = {{}}
for i, id in ipairs(ids) do docs[i] = redis.call('HGET', root .. ':view:' .. id, 'doc') or '' end
return docs
"#
    ))
});

/// [`MyPageStore`] on Redis.
#[derive(Clone, Debug)]
pub struct RedisMyPageStore {
    store: RedisStore,
    /// A fixed generation (a rebuild writes into one); `None` follows `active`.
    generation: Option<Arc<str>>,
}

fn decode(document: &str) -> anyhow::Result<ReservationView> {
    let doc: ViewDocument =
        serde_json::from_str(document).context("a stored view is not valid JSON")?;
    ReservationView::try_from(doc)
}

impl RedisMyPageStore {
    /// The store following the active generation.
    pub fn new(store: RedisStore) -> Self {
        Self {
            store,
            generation: None,
        }
    }

    /// The same store, writing and reading generation `generation` whatever is active.
    pub fn pinned(&self, generation: &str) -> Self {
        Self {
            store: self.store.clone(),
            generation: Some(generation.into()),
        }
    }

    fn generation_arg(&self) -> &str {
        self.generation.as_deref().unwrap_or("")
    }

    /// The generation readers use now.
    pub async fn active_generation(&self) -> anyhow::Result<String> {
        let active: Option<String> = redis::cmd("GET")
            .arg(self.store.key("active"))
            .query_async(&mut self.store.conn())
            .await
            .context("cannot read the active generation")?;
        Ok(active.unwrap_or_else(|| "g0".to_owned()))
    }

    /// A generation nobody used before.
    pub async fn new_generation(&self) -> anyhow::Result<String> {
        let number: i64 = redis::cmd("INCR")
            .arg(self.store.key("generations"))
            .query_async(&mut self.store.conn())
            .await
            .context("cannot number a generation")?;
        Ok(format!("g{number}"))
    }

    /// Makes `generation` the one readers and the live projection use, in one step.
    pub async fn activate(&self, generation: &str) -> anyhow::Result<()> {
        let _: () = redis::cmd("SET")
            .arg(self.store.key("active"))
            .arg(generation)
            .query_async(&mut self.store.conn())
            .await
            .context("cannot switch the active generation")?;
        Ok(())
    }

    /// Deletes every key of `generation`.
    pub async fn discard(&self, generation: &str) -> anyhow::Result<u64> {
        self.store.delete_under(&format!("{generation}:")).await
    }
}

#[async_trait]
impl MyPageStore for RedisMyPageStore {
    async fn load(
        &self,
        reservation_id: &str,
    ) -> Result<Option<(ReservationView, u64)>, StoreError> {
        let (doc, rev): (Option<String>, Option<u64>) = LOAD
            .arg(self.store.prefix())
            .arg(self.generation_arg())
            .arg(reservation_id)
            .invoke_async(&mut self.store.conn())
            .await
            .context("cannot read my page")?;
        match (doc, rev) {
            (Some(doc), Some(rev)) => Ok(Some((decode(&doc)?, rev))),
            _ => Ok(None),
        }
    }

    async fn save(
        &self,
        view: &ReservationView,
        previous_revision: Option<u64>,
        cause: &Envelope,
    ) -> Result<(), StoreError> {
        let document =
            serde_json::to_string(&ViewDocument::from(view)).context("a view always serializes")?;
        let outcome: String = SAVE
            .arg(self.store.prefix())
            .arg(self.generation_arg())
            .arg(format!("{}:{}", crate::NAME, cause.id))
            .arg(INBOX_TTL_S)
            .arg(&view.reservation_id)
            .arg(previous_revision.map(|r| r.to_string()).unwrap_or_default())
            .arg(document)
            .arg(view.customer_id.as_deref().unwrap_or(""))
            .arg(millis(view.created_at))
            .invoke_async(&mut self.store.conn())
            .await
            .context("cannot store a view")?;
        match outcome.as_str() {
            "ok" => Ok(()),
            "duplicate" => Err(StoreError::AlreadyHandled),
            "conflict" => Err(StoreError::Conflict),
            other => Err(StoreError::Unknown(anyhow::anyhow!(
                "unexpected answer {other}"
            ))),
        }
    }

    async fn by_customer(&self, customer_id: &str) -> Result<Vec<ReservationView>, StoreError> {
        let docs: Vec<String> = BY_CUSTOMER
            .arg(self.store.prefix())
            .arg(self.generation_arg())
            .arg(customer_id)
            .invoke_async(&mut self.store.conn())
            .await
            .context("cannot read my page")?;
        docs.iter()
            .filter(|d| !d.is_empty())
            .map(|d| decode(d).map_err(StoreError::from))
            .collect()
    }
}
