//! Payment failing, then back (the testkit's scenario for every paying system): bookings answered
//! 503 `payment_busy`, fast once the breaker is open; reconciliation settles every booking whose
//! outcome was unknown; and no failed booking holds a seat.

use crate::flows::{MANIFEST, MSA, request, seats_left};
use testkit::paying::{PaidOrders, SETTINGS, payment_outage};
use testkit::system::{Options, TestSystem};

#[tokio::test]
async fn with_payment_failing_the_breaker_opens_reconciliation_settles_and_it_recovers() {
    let mut system = TestSystem::new(MSA, MANIFEST, Options::default());
    for (key, value) in SETTINGS {
        system.set_service_env("booking", key, value);
    }
    system.start_all().await;
    let kim = system.user_token("kim", "kim-password").await;
    let before = seats_left(&system, "elisabeth-2030-03-15", "S").await;
    let bookings = PaidOrders {
        service: "booking",
        create: "/api/bookings",
        request: request("S", 1),
        list: "bookings",
        failed: "BookFailed",
        paid: "Booked",
    };
    payment_outage(&system, &kim, &bookings).await;
    assert_eq!(
        seats_left(&system, "elisabeth-2030-03-15", "S").await,
        before - 1,
        "no failed booking holds a seat; the last one is booked"
    );
    system.cleanup().await;
}
