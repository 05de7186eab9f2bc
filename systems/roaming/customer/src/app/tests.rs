//! My page on the in-memory store: given events in any order, when the projection folds them,
//! then one view per reservation with each source's latest status, each event folded once.

use super::*;
use crate::adapters::inbound::events::policies;
use kernel::Envelope;
use kernel::consumer::EventHandler as _;
use kernel::sql::Storage;
use roaming_contracts::events as contract;
use std::sync::Arc;

fn terms() -> contract::ReservationTerms {
    contract::ReservationTerms {
        reservation_id: "r-1".to_owned(),
        customer_id: "kim".to_owned(),
        device_model: "egg-lte".to_owned(),
        country: "JP".to_owned(),
        rental_date: "2026-12-01".to_owned(),
        return_date: "2026-12-05".to_owned(),
        booth: "ICN-T1".to_owned(),
        amount: 12_000,
    }
}

fn envelope<E: kernel::IntegrationEvent>(source: &str, event: &E, sequence: u64) -> Envelope {
    let mut envelope = Envelope::of(source, event, "r-1");
    envelope.sequence = sequence;
    envelope
}

#[tokio::test]
async fn events_in_any_order_make_one_view_with_each_sources_latest_status_once() {
    let storage = Storage::memory("roaming/customer").await.unwrap();
    let app = Arc::new(MyPage::new(storage.repository().generational()));
    let table = policies(app.clone());
    let reserved = envelope(
        "roaming/reservation",
        &contract::Reserved {
            terms: terms(),
            payment_id: "p-1".to_owned(),
        },
        2,
    );
    let requested = envelope(
        "roaming/reservation",
        &contract::ReservationRequested { terms: terms() },
        1,
    );
    let accepted = envelope(
        "roaming/rental",
        &contract::RentalAccepted {
            reservation_id: "r-1".to_owned(),
            customer_id: "kim".to_owned(),
            booth: "ICN-T1".to_owned(),
            device_model: "egg-lte".to_owned(),
            rental_date: "2026-12-01".to_owned(),
        },
        1,
    );
    for event in [&accepted, &reserved, &requested, &reserved, &accepted] {
        table.handle(event).await.unwrap();
    }
    let view = app.reservation("r-1").await.unwrap().unwrap();
    assert_eq!(
        view.reservation_status.as_deref(),
        Some("Reserved"),
        "the later fact wins"
    );
    assert_eq!(view.rental_status.as_deref(), Some("Accepted"));
    assert_eq!(
        view.timeline.len(),
        3,
        "each event folded once: {:?}",
        view.timeline
    );
    let page = app.customer("kim").await.unwrap();
    assert_eq!(page.len(), 1);
    assert!(app.customer("lee").await.unwrap().is_empty());
}
