//! The payment use cases and policy on the in-memory store: given events, when a command or a
//! policy, then events or an error.

use super::*;
use crate::adapters::inbound::events::policies;
use kernel::consumer::EventHandler as _;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use roaming_contracts::events as contract;
use std::sync::Arc;
use testkit::published;

async fn given() -> (Arc<PaymentService>, Storage) {
    let storage = Storage::memory("roaming/payment").await.unwrap();
    (Arc::new(PaymentService::new(storage.repository())), storage)
}

fn command(reservation: &str, card: &str) -> PayCommand {
    PayCommand {
        reservation_id: reservation.to_owned(),
        customer_id: "kim".to_owned(),
        amount: 12_000,
        card_number: card.to_owned(),
    }
}

fn rental_canceled(reservation: &str) -> Envelope {
    let event = contract::RentalCanceled {
        reservation_id: reservation.to_owned(),
        customer_id: "kim".to_owned(),
        booth: "ICN-T1".to_owned(),
    };
    Envelope::of("roaming/rental", &event, reservation)
}

#[tokio::test]
async fn a_repeated_payment_request_is_answered_as_the_first_and_charges_once() {
    let (app, storage) = given().await;
    let first = app.pay(command("r-1", "4111111111111111")).await.unwrap();
    let again = app.pay(command("r-1", "4111111111111111")).await.unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(
        published(&storage, "r-1").await,
        vec![contract::PaymentApproved::TYPE]
    );
    let other_amount = PayCommand {
        amount: 1,
        ..command("r-1", "4111111111111111")
    };
    assert!(matches!(
        app.pay(other_amount).await,
        Err(PayError::AmountMismatch(_))
    ));
}

#[tokio::test]
async fn a_canceled_rental_refunds_its_payment_once_however_often_the_event_comes() {
    let (app, storage) = given().await;
    app.pay(command("r-2", "4111111111111111")).await.unwrap();
    let event = rental_canceled("r-2");
    let table = policies(app.clone());
    table.handle(&event).await.unwrap();
    table.handle(&event).await.unwrap();
    assert_eq!(
        published(&storage, "r-2").await,
        vec![
            contract::PaymentApproved::TYPE,
            contract::PaymentCanceled::TYPE
        ]
    );
    assert!(matches!(
        app.pay(command("r-2", "4111111111111111")).await,
        Err(PayError::Refunded)
    ));
}

#[tokio::test]
async fn a_canceled_rental_without_a_payment_is_retried_not_dropped() {
    let (app, _storage) = given().await;
    let failed = policies(app).handle(&rental_canceled("r-unknown")).await;
    assert!(
        failed.is_err(),
        "the delivery fails, so it is retried and then parked"
    );
}

#[tokio::test]
async fn a_voided_reservation_can_never_be_charged() {
    let (app, storage) = given().await;
    let voided = app.void("r-3").await.unwrap();
    assert_eq!(voided.status, PaymentStatus::Voided);
    assert!(matches!(
        app.pay(command("r-3", "4111111111111111")).await,
        Err(PayError::Voided)
    ));
    assert_eq!(
        app.void("r-3").await.unwrap().id,
        voided.id,
        "voiding is idempotent"
    );
    assert_eq!(
        published(&storage, "r-3").await,
        vec![contract::PaymentVoided::TYPE]
    );
}
