//! Operations through `msa up`, the supervisor: my orders (information) frozen is replaced and
//! catches up; every service and the gateway rolled out under a steady load of rentals fails no
//! rental, and every rental reaches my orders, scheduled for delivery.

use crate::flows::{MANIFEST, MSA, registered, request};
use testkit::system::{Drill, TestSystem};

#[tokio::test]
async fn a_frozen_service_is_replaced_and_a_rollout_of_everything_under_load_fails_no_rental() {
    let mut system = TestSystem::supervised(MSA, MANIFEST).await;
    let kim = system.user_token("kim", "kim-password").await;
    let team = system.user_token("product", "product-password").await;
    let product = registered(&system, &team, "노트북 Laptop", 5_000).await;
    let drill = Drill {
        command: system.poster(&kim, "/api/rentals", "rental", request(&product, 1)),
        token: kim,
        view_service: "information",
        view: |rental| format!("/api/myorders/rentals/{}", rental["id"].as_str().unwrap()),
        settled: |v| v["deliveryStatus"] == "Scheduled",
    };
    system.heal_and_roll(drill, 15).await;
}
