//! The reservation's policies as a consumer group: reacts to the booth's and payment's events.

use crate::app::ReservationService;
use async_trait::async_trait;
use kernel::IntegrationEvent;
use kernel::consumer::{EventHandler, HandleError};
use roaming_contracts::events as contract;
use std::sync::Arc;

/// Event types the reservation reacts to.
pub fn subscribed_types() -> Vec<String> {
    [
        contract::RentalHandedOut::TYPE,
        contract::RentalCancelRefused::TYPE,
        contract::RentalCollected::TYPE,
        contract::PaymentCanceled::TYPE,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Runs [`ReservationService::on_event`] for each delivery.
pub struct ReservationPolicies(pub Arc<ReservationService>);

#[async_trait]
impl EventHandler for ReservationPolicies {
    async fn handle(&self, event: &kernel::Envelope) -> Result<(), HandleError> {
        self.0.on_event(event).await.map_err(HandleError::from)
    }
}
