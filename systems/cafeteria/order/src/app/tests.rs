//! The order use cases and the cancel saga on the in-memory store with scripted payments: given,
//! when a command or an event, then the order and its events.

use super::*;
use crate::adapters::inbound::events::policies;
use crate::domain::menu::drink;
use crate::domain::order::OrderStatus;
use cafeteria_contracts as contract;
use kernel::consumer::EventHandler as _;
use kernel::envelope::type_in;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use payment_contracts::checkout::CheckoutError;
use payment_contracts::client::{PaymentOutcome, ScriptedPayments};
use payment_contracts::events::{PaymentCanceled, RefundRequested};

struct Given {
    app: Arc<OrderService>,
    storage: Storage,
}

async fn given(payments: Arc<ScriptedPayments>) -> Given {
    let storage = Storage::memory("cafeteria/order").await.unwrap();
    let checkout = Checkout::new(storage.repository(), payments);
    let app = Arc::new(OrderService::new(Arc::new(checkout)));
    Given { app, storage }
}

fn command(qty: u32, key: Option<&str>) -> OrderCommand {
    OrderCommand {
        customer_id: "kim".into(),
        drink: drink("cafe-latte").unwrap(),
        qty,
        card_number: "4111111111111111".into(),
        idempotency_key: key.map(str::to_owned),
    }
}

impl Given {
    async fn published(&self, id: &str) -> Vec<String> {
        testkit::published(&self.storage, id).await
    }

    async fn deliver<E: IntegrationEvent>(&self, source: &str, event: &E, subject: &str) {
        let envelope = Envelope::of(source, event, subject);
        policies(self.app.clone()).handle(&envelope).await.unwrap();
    }

    async fn paid(&self) -> DrinkOrder {
        self.app.order(command(2, None)).await.unwrap()
    }
}

#[tokio::test]
async fn a_paid_order_is_ordered_once_however_often_it_is_retried() {
    let given = given(ScriptedPayments::answering(vec![
        ScriptedPayments::approved(),
    ]))
    .await;
    let ordered = given.app.order(command(2, Some("k-1"))).await.unwrap();
    assert_eq!(ordered.status, OrderStatus::Ordered);
    assert_eq!(ordered.amount(), 10_000, "2 × the menu's 5,000");
    let again = given.app.order(command(2, Some("k-1"))).await.unwrap();
    assert_eq!(again.id, ordered.id, "the same key answers the same order");
    assert_eq!(
        given.published(&ordered.id).await,
        vec![contract::Ordered::TYPE]
    );
}

#[tokio::test]
async fn a_declined_card_fails_the_order_and_bad_quantities_are_refused() {
    let declined = Ok(PaymentOutcome::Declined {
        reason: "card_declined".into(),
    });
    let given = given(ScriptedPayments::answering(vec![declined])).await;
    let error = given.app.order(command(1, None)).await.unwrap_err();
    let OrderError::Checkout(CheckoutError::Declined { order_id, .. }) = error else {
        panic!("{error:?}");
    };
    assert_eq!(
        given.published(&order_id).await,
        vec![contract::OrderFailed::TYPE]
    );
    for qty in [0, 21] {
        let error = given.app.order(command(qty, None)).await.unwrap_err();
        assert!(
            matches!(
                error,
                OrderError::Invalid {
                    code: "invalid_qty",
                    ..
                }
            ),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn a_cancel_before_the_barista_accepts_refunds_and_cancels() {
    let given = given(ScriptedPayments::answering(vec![
        ScriptedPayments::approved(),
    ]))
    .await;
    let order = given.paid().await;
    assert!(given.app.cancel(&order.id, Some("lee")).await.is_err());
    let requested = given.app.cancel(&order.id, Some("kim")).await.unwrap();
    assert_eq!(requested.status, OrderStatus::CancelRequested);
    let canceled = contract::DrinkCanceled {
        order_id: order.id.clone(),
        customer_id: "kim".into(),
    };
    given.deliver("cafeteria/drink", &canceled, &order.id).await;
    let refunded = PaymentCanceled {
        payment_id: "p-1".into(),
        order_id: order.id.clone(),
        customer_id: "kim".into(),
        amount: order.amount(),
        paid_at: String::new(),
    };
    given
        .deliver("cafeteria/payment", &refunded, &order.id)
        .await;
    given
        .deliver("cafeteria/payment", &refunded, &order.id)
        .await;
    let done = given.app.get(&order.id, None).await.unwrap();
    assert_eq!(done.status, OrderStatus::Canceled);
    assert_eq!(
        given.published(&order.id).await,
        vec![
            contract::Ordered::TYPE.to_owned(),
            contract::CancelRequested::TYPE.to_owned(),
            type_in("cafeteria", RefundRequested::TYPE),
            contract::OrderCanceled::TYPE.to_owned(),
        ]
    );
}

#[tokio::test]
async fn a_cancel_the_barista_refuses_restores_the_order_without_a_refund() {
    let given = given(ScriptedPayments::answering(vec![
        ScriptedPayments::approved(),
    ]))
    .await;
    let order = given.paid().await;
    given.app.cancel(&order.id, None).await.unwrap();
    let refused = contract::CancelRefused {
        order_id: order.id.clone(),
        customer_id: "kim".into(),
        drink_name: "카페라테".into(),
        status: "Receipted".into(),
    };
    given.deliver("cafeteria/drink", &refused, &order.id).await;
    let restored = given.app.get(&order.id, None).await.unwrap();
    assert_eq!(restored.status, OrderStatus::Ordered);
    assert_eq!(
        given.published(&order.id).await,
        vec![
            contract::Ordered::TYPE,
            contract::CancelRequested::TYPE,
            contract::OrderRestored::TYPE,
        ]
    );
}
