//! The payment use cases and policy on the in-memory store: given events, when a command or a
//! policy, then events or an error. The service is deployed into a made-up system, `shop`: payment
//! knows no caller's domain.

use super::*;
use crate::adapters::inbound::events::policies;
use kernel::consumer::EventHandler as _;
use kernel::envelope::type_in;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use payment_contracts::events::{PaymentApproved, PaymentCanceled, PaymentVoided, RefundRequested};
use std::sync::Arc;
use testkit::published;

async fn given() -> (Arc<PaymentService>, Storage) {
    let storage = Storage::memory("shop/payment").await.unwrap();
    (Arc::new(PaymentService::new(storage.repository())), storage)
}

fn command(order: &str, card: &str) -> PayCommand {
    PayCommand {
        order_id: order.to_owned(),
        customer_id: "kim".to_owned(),
        amount: 12_000,
        card_number: card.to_owned(),
    }
}

fn refund_requested(order: &str) -> Envelope {
    let event = RefundRequested {
        order_id: order.to_owned(),
        reason: "canceled".to_owned(),
    };
    Envelope::of("shop/order", &event, order)
}

fn types<const N: usize>(types: [&str; N]) -> Vec<String> {
    types.iter().map(|t| type_in("shop", t)).collect()
}

#[tokio::test]
async fn a_repeated_payment_request_is_answered_as_the_first_and_charges_once() {
    let (app, storage) = given().await;
    let first = app.pay(command("o-1", "4111111111111111")).await.unwrap();
    let again = app.pay(command("o-1", "4111111111111111")).await.unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(
        published(&storage, "o-1").await,
        types([PaymentApproved::TYPE])
    );
    let other_amount = PayCommand {
        amount: 1,
        ..command("o-1", "4111111111111111")
    };
    assert!(matches!(
        app.pay(other_amount).await,
        Err(PayError::AmountMismatch(_))
    ));
}

#[tokio::test]
async fn a_refund_request_refunds_its_payment_once_however_often_it_comes() {
    let (app, storage) = given().await;
    app.pay(command("o-2", "4111111111111111")).await.unwrap();
    let event = refund_requested("o-2");
    let table = policies(app.clone());
    assert_eq!(table.types("shop"), types([RefundRequested::TYPE]));
    table.handle(&event).await.unwrap();
    table.handle(&event).await.unwrap();
    table.handle(&refund_requested("o-2")).await.unwrap();
    assert_eq!(
        published(&storage, "o-2").await,
        types([PaymentApproved::TYPE, PaymentCanceled::TYPE])
    );
    assert!(matches!(
        app.pay(command("o-2", "4111111111111111")).await,
        Err(PayError::Refunded)
    ));
}

#[tokio::test]
async fn a_refund_request_for_an_order_never_paid_makes_sure_it_never_is() {
    let (app, storage) = given().await;
    policies(app.clone())
        .handle(&refund_requested("o-unpaid"))
        .await
        .unwrap();
    assert!(matches!(
        app.pay(command("o-unpaid", "4111111111111111")).await,
        Err(PayError::Voided)
    ));
    assert_eq!(
        published(&storage, "o-unpaid").await,
        types([PaymentVoided::TYPE])
    );
}

#[tokio::test]
async fn a_voided_order_can_never_be_charged() {
    let (app, storage) = given().await;
    let voided = app.void("o-3", None).await.unwrap();
    assert_eq!(voided.status, PaymentStatus::Voided);
    assert!(matches!(
        app.pay(command("o-3", "4111111111111111")).await,
        Err(PayError::Voided)
    ));
    assert_eq!(
        app.void("o-3", None).await.unwrap().id,
        voided.id,
        "voiding is idempotent"
    );
    assert_eq!(
        published(&storage, "o-3").await,
        types([PaymentVoided::TYPE])
    );
}
