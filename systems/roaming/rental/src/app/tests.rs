//! The booth use cases and policies on the in-memory store: given events, when a command or a
//! policy, then events or a domain error.

use super::*;
use crate::adapters::inbound::events::policies;
use kernel::consumer::EventHandler as _;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use std::sync::Arc;
use testkit::published;

async fn given() -> (Arc<BoothService>, Storage) {
    let storage = Storage::memory("roaming/rental").await.unwrap();
    (Arc::new(BoothService::new(storage.repository())), storage)
}

fn reserved(reservation: &str, booth: &str, day: &str) -> Envelope {
    let event = contract::Reserved {
        terms: contract::ReservationTerms {
            reservation_id: reservation.to_owned(),
            customer_id: "kim".to_owned(),
            device_model: "egg-lte".to_owned(),
            country: "JP".to_owned(),
            rental_date: day.to_owned(),
            return_date: "2026-12-20".to_owned(),
            booth: booth.to_owned(),
            amount: 10_000,
        },
        payment_id: "p".to_owned(),
    };
    Envelope::of("roaming/reservation", &event, reservation)
}

fn cancel_requested(reservation: &str) -> Envelope {
    let event = contract::CancelRequested {
        reservation_id: reservation.to_owned(),
        customer_id: "kim".to_owned(),
        booth: "ICN-T1".to_owned(),
    };
    Envelope::of("roaming/reservation", &event, reservation)
}

#[tokio::test]
async fn a_paid_reservation_becomes_one_rental_however_often_it_is_delivered() {
    let (app, storage) = given().await;
    let table = policies(app.clone());
    let event = reserved("r-1", "ICN-T1", "2026-12-02");
    table.handle(&event).await.unwrap();
    table.handle(&event).await.unwrap();
    let rental = app.get("r-1", Some("ICN-T1")).await.unwrap();
    assert_eq!(rental.status, RentalStatus::Accepted);
    assert_eq!(
        published(&storage, "r-1").await,
        vec![contract::RentalAccepted::TYPE]
    );
    let elsewhere = app.get("r-1", Some("GMP")).await.unwrap_err();
    assert!(
        matches!(elsewhere, CommandError::NotFound { .. }),
        "{elsewhere:?}"
    );
}

#[tokio::test]
async fn a_cancel_is_granted_before_hand_out_and_refused_after() {
    let (app, storage) = given().await;
    let table = policies(app.clone());
    for id in ["r-early", "r-late"] {
        table
            .handle(&reserved(id, "ICN-T1", "2026-12-02"))
            .await
            .unwrap();
    }
    app.hand_out("r-late", "SN-7", Some("ICN-T1"))
        .await
        .unwrap();
    for id in ["r-early", "r-late"] {
        table.handle(&cancel_requested(id)).await.unwrap();
    }
    assert_eq!(
        published(&storage, "r-early")
            .await
            .last()
            .map(String::as_str),
        Some(contract::RentalCanceled::TYPE)
    );
    assert_eq!(
        published(&storage, "r-late")
            .await
            .last()
            .map(String::as_str),
        Some(contract::RentalCancelRefused::TYPE)
    );
    let not_back = app.collect("r-late", None).await.unwrap_err();
    assert!(matches!(
        not_back,
        CommandError::Rejected(RentalError::NotReturned)
    ));
    let bad_serial = app
        .hand_out("r-early", "no spaces", None)
        .await
        .unwrap_err();
    assert!(matches!(
        bad_serial,
        CommandError::Rejected(RentalError::BadSerial)
    ));
}

#[tokio::test]
async fn the_queue_lists_a_booth_in_a_status_by_pickup_day() {
    let (app, _storage) = given().await;
    let table = policies(app.clone());
    table
        .handle(&reserved("r-b", "ICN-T1", "2026-12-09"))
        .await
        .unwrap();
    table
        .handle(&reserved("r-a", "ICN-T1", "2026-12-03"))
        .await
        .unwrap();
    table
        .handle(&reserved("r-gmp", "GMP", "2026-12-01"))
        .await
        .unwrap();
    app.hand_out("r-b", "SN-1", None).await.unwrap();
    let ids = |rentals: Vec<Rental>| {
        rentals
            .into_iter()
            .map(|r| r.reservation_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(app.queue(Some("ICN-T1"), None).await.unwrap()),
        vec!["r-a", "r-b"]
    );
    assert_eq!(
        ids(app
            .queue(Some("ICN-T1"), Some(RentalStatus::Accepted))
            .await
            .unwrap()),
        vec!["r-a"]
    );
    assert_eq!(
        ids(app.queue(None, Some(RentalStatus::Accepted)).await.unwrap()),
        vec!["r-gmp", "r-a"]
    );
    assert_eq!(app.queue(None, None).await.unwrap().len(), 3);
}

#[tokio::test]
async fn an_early_accepted_rental_stays_in_the_queue_behind_any_amount_of_history() {
    let (app, _storage) = given().await;
    let table = policies(app.clone());
    table
        .handle(&reserved("r-waiting", "ICN-T1", "2026-12-01"))
        .await
        .unwrap();
    for n in 0..510 {
        let id = format!("r-done-{n}");
        table
            .handle(&reserved(&id, "ICN-T1", "2026-12-02"))
            .await
            .unwrap();
        table.handle(&cancel_requested(&id)).await.unwrap();
    }
    let accepted = app
        .queue(Some("ICN-T1"), Some(RentalStatus::Accepted))
        .await
        .unwrap();
    let ids: Vec<&str> = accepted.iter().map(|r| r.reservation_id.as_str()).collect();
    assert_eq!(ids, vec!["r-waiting"]);
    assert_eq!(
        app.queue(None, Some(RentalStatus::Accepted))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.queue(Some("ICN-T1"), Some(RentalStatus::Canceled))
            .await
            .unwrap()
            .len(),
        500,
        "the history shows the newest 500"
    );
}
