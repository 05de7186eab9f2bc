//! Payment failing, then back (the testkit's scenario for every paying system): orders answered
//! 503 `payment_busy`, fast once the breaker is open; reconciliation settles every order whose
//! outcome was unknown, none is counted in the month's sales; it recovers by itself.

use crate::flows::{MANIFEST, MSA, request, total_until};
use testkit::paying::{PaidOrders, SETTINGS, payment_outage};
use testkit::system::{Options, TestSystem};

#[tokio::test]
async fn with_payment_failing_the_breaker_opens_reconciliation_settles_and_it_recovers() {
    let mut system = TestSystem::new(MSA, MANIFEST, Options::default());
    for (key, value) in SETTINGS {
        system.set_service_env("order", key, value);
    }
    system.start_all().await;
    let kim = system.user_token("kim", "kim-password").await;
    let orders = PaidOrders {
        service: "order",
        create: "/api/orders",
        request: request("cafe-latte", 2),
        list: "orders",
        failed: "OrderFailed",
        paid: "Ordered",
    };
    payment_outage(&system, &kim, &orders).await;
    total_until(&system, &kim, None, |t| t == 10_000).await;
    system.cleanup().await;
}
