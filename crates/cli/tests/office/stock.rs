//! The stock is exact when rentals race for the last units: as many are scheduled as there are
//! units, the rest are canceled out of stock, the ledger ends at zero, and nobody gets a 5xx.

use crate::flows::{MANIFEST, MSA, registered, request, stock_until};
use testkit::eventually;
use testkit::system::{Options, PATIENCE, Profile, TestSystem};

scenario!(racing_rentals_for_the_last_units_schedule_exactly_the_stock);
async fn racing_rentals_for_the_last_units_schedule_exactly_the_stock(profile: Profile) {
    let system = TestSystem::start(MSA, MANIFEST, Options::of(profile)).await;
    let team = system.user_token("product", "product-password").await;
    let tokens = [
        system.user_token("kim", "kim-password").await,
        system.user_token("lee", "lee-password").await,
    ];
    let projector = registered(&system, &team, "projector", 5).await;
    let rentals = (0..12).map(|i| {
        let (system, token, body) = (&system, &tokens[i % 2], request(&projector, 1));
        async move { system.post_as(token, "/api/rentals", body).await }
    });
    let answers = futures_util::future::join_all(rentals).await;
    let ids: Vec<String> = answers
        .iter()
        .map(|(status, rental)| {
            assert_eq!(*status, 201, "{rental}");
            rental["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let settled = eventually(
        PATIENCE,
        "every rental scheduled or out of stock",
        || async {
            let mut statuses = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let (_, rental) = system
                    .get_as(&tokens[i % 2], &format!("/api/rentals/{id}"))
                    .await;
                match rental["status"].as_str()? {
                    "Scheduled" => statuses.push("Scheduled"),
                    "Canceled" if rental["cancelReason"] == "out_of_stock" => {
                        statuses.push("out_of_stock")
                    }
                    _ => return None,
                }
            }
            Some(statuses)
        },
    )
    .await;
    let scheduled = settled.iter().filter(|s| **s == "Scheduled").count();
    assert_eq!(
        (scheduled, settled.len() - scheduled),
        (5, 7),
        "{settled:?}"
    );
    assert_eq!(stock_until(&system, &projector, |n| n == 0).await, 0);
    system.cleanup().await;
}
