//! Fault isolation: with drink, sale and the customer center stopped, orders are still taken and
//! cancels still complete (the saga waits for the drink's answer, then refunds); they catch up
//! when they come back, each effect once.

use crate::flows::{MANIFEST, MSA, ordered, total_until};
use serde_json::json;
use testkit::eventually;
use testkit::system::{Options, PATIENCE, Profile, TestSystem};

scenario!(with_drink_sale_and_the_customer_center_down_orders_are_taken_and_all_catch_up);
async fn with_drink_sale_and_the_customer_center_down_orders_are_taken_and_all_catch_up(
    profile: Profile,
) {
    let mut system = TestSystem::start(MSA, MANIFEST, Options::of(profile)).await;
    let kim = system.user_token("kim", "kim-password").await;
    let barista = system.user_token("barista", "barista-password").await;
    for service in ["drink", "sale", "customercenter"] {
        system.stop(service).await;
    }
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(ordered(&system, &kim, "cold-brew", 1).await);
    }
    let (status, _) = system
        .post_as(&kim, &format!("/api/orders/{}/cancel", ids[0]), json!({}))
        .await;
    assert_eq!(
        status, 202,
        "a cancel is taken while the barista's service is down"
    );

    system.restart("drink").await;
    eventually(
        PATIENCE,
        "the cancel completes once the drink answers",
        || async {
            let (_, order) = system
                .get_as(&kim, &format!("/api/orders/{}", ids[0]))
                .await;
            (order["status"] == "Canceled").then_some(())
        },
    )
    .await;
    let mut expected = vec![ids[1].clone(), ids[2].clone()];
    expected.sort_unstable();
    eventually(PATIENCE, "each paid drink queued once", || async {
        let (_, queue) = system
            .get_as(&barista, "/api/drinks?status=Queued&limit=100")
            .await;
        let mut queued: Vec<String> = queue["drinks"]
            .as_array()?
            .iter()
            .filter_map(|d| d["orderId"].as_str().map(str::to_owned))
            .collect();
        queued.sort_unstable();
        (queued == expected).then_some(())
    })
    .await;
    let (_, all) = system.get_as(&barista, "/api/drinks?limit=100").await;
    assert_eq!(
        all["drinks"].as_array().unwrap().len(),
        3,
        "no drink twice: {all}"
    );

    system.restart("sale").await;
    system.restart("customercenter").await;
    total_until(&system, &kim, None, |t| t == 10_000).await;
    let view = system
        .mypage_until(&kim, "order", &ids[0], "caught up", |v| {
            v["orderStatus"] == "Canceled"
        })
        .await;
    assert_eq!(view["paymentStatus"], "Refunded");
    system.cleanup().await;
}
