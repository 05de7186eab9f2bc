//! The payment's policy as a consumer group: refund when the booth cancels a rental.

use crate::app::PaymentService;
use async_trait::async_trait;
use kernel::IntegrationEvent;
use kernel::consumer::{EventHandler, HandleError};
use roaming_contracts::events as contract;
use std::sync::Arc;

/// Event types payment reacts to.
pub fn subscribed_types() -> Vec<String> {
    vec![contract::RentalCanceled::TYPE.to_owned()]
}

/// Runs [`PaymentService::on_event`] for each delivery.
pub struct PaymentPolicies(pub Arc<PaymentService>);

#[async_trait]
impl EventHandler for PaymentPolicies {
    async fn handle(&self, event: &kernel::Envelope) -> Result<(), HandleError> {
        self.0.on_event(event).await.map_err(HandleError::from)
    }
}
