//! The sale's policies on the in-memory store: given payment events (redelivered, refunded in a
//! later month), then the monthly totals and the ledger.

use super::*;
use crate::adapters::inbound::events::policies;
use kernel::consumer::EventHandler as _;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use payment_contracts::events::{PaymentApproved, PaymentCanceled};
use std::sync::Arc;

async fn given() -> Arc<SaleService> {
    let storage = Storage::memory("cafeteria/sale").await.unwrap();
    Arc::new(SaleService::new(storage.repository()))
}

async fn deliver<E: IntegrationEvent>(app: &Arc<SaleService>, event: &E, order: &str) {
    let envelope = Envelope::of("cafeteria/payment", event, order);
    policies(app.clone()).handle(&envelope).await.unwrap();
    policies(app.clone()).handle(&envelope).await.unwrap();
}

fn approved(order: &str, amount: i64, paid_at: &str) -> PaymentApproved {
    PaymentApproved {
        payment_id: format!("p-{order}"),
        order_id: order.into(),
        customer_id: "kim".into(),
        amount,
        card_last4: "1111".into(),
        paid_at: paid_at.into(),
    }
}

#[tokio::test]
async fn payments_count_once_in_their_seoul_month_and_a_later_refund_lowers_that_month() {
    let app = given().await;
    // 23:30 UTC on the last of October is already November in Seoul.
    deliver(&app, &approved("o-1", 7_000, "2026-10-31T23:30:00Z"), "o-1").await;
    deliver(
        &app,
        &approved("o-2", 5_000, "2026-11-02T10:00:00+09:00"),
        "o-2",
    )
    .await;
    deliver(
        &app,
        &approved("o-3", 4_500, "2026-10-15T10:00:00+09:00"),
        "o-3",
    )
    .await;
    assert_eq!(app.month("kim", "2026-11").await.unwrap().total, 12_000);
    assert_eq!(app.month("kim", "2026-10").await.unwrap().total, 4_500);

    let refund = PaymentCanceled {
        payment_id: "p-o-3".into(),
        order_id: "o-3".into(),
        customer_id: "kim".into(),
        amount: 4_500,
        paid_at: "2026-10-15T10:00:00+09:00".into(),
    };
    deliver(&app, &refund, "o-3").await;
    let october = app.month("kim", "2026-10").await.unwrap();
    assert_eq!(
        october.total, 0,
        "the month of the payment, not of the refund"
    );
    assert_eq!(october.rows.len(), 2, "a correcting row is appended");
    assert_eq!(app.month("kim", "2026-11").await.unwrap().total, 12_000);
    let shop = app.shop("2026-11").await.unwrap();
    assert_eq!(shop.iter().map(|m| m.total).sum::<i64>(), 12_000);
}
