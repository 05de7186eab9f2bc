//! Monthly totals stay exact: concurrent orders and cancels of one customer, and redelivery; a
//! refund in the next month (the kernel's test clock offset) lowers the month of the payment.

use crate::flows::{MANIFEST, MSA, ordered, queued, total_until};
use serde_json::json;
use testkit::system::{Options, TestSystem};

#[tokio::test]
async fn concurrent_orders_and_cancels_keep_the_month_exact_and_a_late_refund_lowers_its_month() {
    let mut system = TestSystem::start(MSA, MANIFEST, Options::default()).await;
    let kim = system.user_token("kim", "kim-password").await;
    let barista = system.user_token("barista", "barista-password").await;
    let orders = (0..12).map(|_| {
        let (system, kim) = (&system, &kim);
        async move { ordered(system, kim, "americano", 1).await }
    });
    let ids = futures_util::future::join_all(orders).await;
    for id in &ids {
        queued(&system, &barista, id).await;
    }
    let cancels = ids.iter().take(5).map(|id| {
        let (system, kim) = (&system, &kim);
        async move {
            let path = format!("/api/orders/{id}/cancel");
            system.post_as(kim, &path, json!({})).await.0
        }
    });
    let answers = futures_util::future::join_all(cancels).await;
    assert!(answers.iter().all(|s| *s == 202), "{answers:?}");
    assert_eq!(
        total_until(&system, &kim, None, |t| t == 7 * 4_500).await,
        7 * 4_500,
        "12 paid, 5 refunded, each once"
    );
    let (_, ledger) = system.get_as(&kim, "/api/sales/ledger").await;
    assert_eq!(ledger["rows"].as_array().unwrap().len(), 17);

    // Next month (the services' clocks 40 days ahead): a cancel of this month's order lowers
    // this month, not the next.
    let month = ledger["month"].as_str().unwrap().to_owned();
    for service in ["order", "payment", "drink", "sale"] {
        system.stop(service).await;
        system.set_service_env(service, "MSA__CLOCK__OFFSET_SECONDS", "3456000");
        system.restart(service).await;
    }
    let late = &ids[11];
    let (status, _) = system
        .post_as(&kim, &format!("/api/orders/{late}/cancel"), json!({}))
        .await;
    assert_eq!(status, 202);
    total_until(&system, &kim, Some(&month), |t| t == 6 * 4_500).await;
    let (_, next) = system.get_as(&kim, "/api/sales").await;
    assert_ne!(
        next["month"],
        json!(month),
        "the services live in the next month"
    );
    assert_eq!(
        next["total"], 0,
        "the refund is not taken from the next month"
    );
    system.cleanup().await;
}
