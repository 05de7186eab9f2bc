//! Operations through `msa up`, the supervisor, for a sibling system: my page (customercenter)
//! frozen is replaced and catches up; then every service and the gateway rolled out under a
//! steady load of orders (each paid through payment) fails no order, and every order reaches
//! my page.

use crate::flows::{MANIFEST, MSA, request};
use nix::sys::signal::Signal;
use testkit::system::TestSystem;

#[tokio::test]
async fn a_frozen_service_is_replaced_and_a_rollout_of_everything_under_load_fails_no_order() {
    let mut system = TestSystem::supervised(MSA, MANIFEST).await;
    let kim = system.user_token("kim", "kim-password").await;
    let order = system.poster(&kim, "/api/orders", "order", request("americano", 1));

    system.signal_service("customercenter", Signal::SIGSTOP);
    let mut answers = Vec::new();
    for n in 0..3 {
        answers.push(order(n).await);
    }
    let reason = system.restarted("customercenter", 0).await;
    assert!(reason.contains("liveness probe"), "{reason}");

    let during = system.poster(&kim, "/api/orders", "rollout", request("cafe-latte", 1));
    answers.extend(
        system
            .roll_everything_under_load(30, move |n| during(n))
            .await,
    );
    assert!(answers.len() > 30, "the load ran through the rollout");
    for (status, order) in &answers {
        assert_eq!(*status, 201, "{order}");
        let id = order["id"].as_str().unwrap();
        system
            .mypage_until(&kim, "order", id, "ordered and paid", |v| {
                v["orderStatus"] == "Ordered" && v["paymentStatus"] == "Approved"
            })
            .await;
    }
    system.interrupt().await;
}
