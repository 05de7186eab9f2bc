//! Dead letters: deliveries a consumer gave up on, kept with their error until someone replays them.

use crate::envelope::Envelope;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A parked delivery.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeadLetter {
    /// Store-assigned id, used to replay it.
    pub id: i64,
    /// The consumer (service) that parked it.
    pub consumer: String,
    /// The event id, when the payload was an envelope at all.
    pub event_id: Option<String>,
    /// The event's correlation key, when known.
    pub subject: Option<String>,
    /// The event's type, when known.
    pub event_type: Option<String>,
    /// The delivery as received.
    pub payload: String,
    /// The last error.
    pub error: String,
    /// How many times the handler ran.
    pub attempts: u32,
    /// When it was parked, in Unix milliseconds.
    pub parked_at: i64,
    /// When it was replayed successfully, if it was.
    pub replayed_at: Option<i64>,
}

/// Where a consumer keeps its dead letters: the consumer's own store.
#[async_trait]
pub trait DeadLetterStore: Send + Sync + 'static {
    /// Parks a delivery with the error of its last attempt.
    async fn park(
        &self,
        payload: &str,
        envelope: Option<&Envelope>,
        error: &str,
        attempts: u32,
    ) -> anyhow::Result<()>;
    /// Every dead letter of this consumer, oldest first.
    async fn list(&self) -> anyhow::Result<Vec<DeadLetter>>;
    /// One dead letter.
    async fn get(&self, id: i64) -> anyhow::Result<Option<DeadLetter>>;
    /// Records a successful replay.
    async fn mark_replayed(&self, id: i64) -> anyhow::Result<()>;
    /// How many dead letters wait for a replay.
    async fn parked(&self) -> anyhow::Result<u64>;
}
