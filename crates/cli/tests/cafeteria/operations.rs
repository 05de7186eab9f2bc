//! Operations through `msa up`, the supervisor: my page (customercenter) frozen is replaced and
//! catches up; every service and the gateway rolled out under a steady load of orders (each paid
//! through payment) fails no order, and every order reaches my page.

use crate::flows::{MANIFEST, MSA, request};
use testkit::system::{Drill, TestSystem};

#[tokio::test]
async fn a_frozen_service_is_replaced_and_a_rollout_of_everything_under_load_fails_no_order() {
    let mut system = TestSystem::supervised(MSA, MANIFEST).await;
    let kim = system.user_token("kim", "kim-password").await;
    let drill = Drill {
        command: system.poster(&kim, "/api/orders", "order", request("americano", 1)),
        token: kim,
        view_service: "customercenter",
        view: |order| format!("/api/mypage/orders/{}", order["id"].as_str().unwrap()),
        settled: |v| v["orderStatus"] == "Ordered" && v["paymentStatus"] == "Approved",
    };
    system.heal_and_roll(drill, 15).await;
}
