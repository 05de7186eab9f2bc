//! The booth's policies as a consumer group.

use crate::app::BoothService;
use async_trait::async_trait;
use kernel::IntegrationEvent;
use kernel::consumer::{EventHandler, HandleError};
use roaming_contracts::events as contract;
use std::sync::Arc;

/// Event types the booth reacts to.
pub fn subscribed_types() -> Vec<String> {
    [
        contract::Reserved::TYPE,
        contract::CancelRequested::TYPE,
        contract::Returned::TYPE,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Runs [`BoothService::on_event`] for each delivery.
pub struct BoothPolicies(pub Arc<BoothService>);

#[async_trait]
impl EventHandler for BoothPolicies {
    async fn handle(&self, event: &kernel::Envelope) -> Result<(), HandleError> {
        self.0.on_event(event).await.map_err(HandleError::from)
    }
}
