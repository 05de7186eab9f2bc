//! Gift failing, slow or stopped: an exchange answers 503 `gift_busy` (fast once the breaker is
//! open) and the entry stays `Issued`; a lost answer is completed by gift's `handed_out` event;
//! it recovers by itself; and in the end no gift is handed out without its exchange, and no
//! entry is exchanged without its gift.

use crate::flows::{MANIFEST, MSA, achieved, entry_of, exchange, stock};
use serde_json::Value;
use testkit::eventually;
use testkit::paying::{quick_breaker, refused_fast_once_open};
use testkit::system::{Options, PATIENCE, TestSystem};

/// Entry `id` once its status is `status`.
async fn entry_until(system: &TestSystem, token: &str, id: &str, status: &str) -> Value {
    eventually(
        PATIENCE,
        &format!("entry {id} becomes {status}"),
        || async {
            let (_, entry) = system.get_as(token, &format!("/api/wallet/{id}")).await;
            (entry["status"] == status).then_some(entry)
        },
    )
    .await
}

#[tokio::test]
async fn with_gift_failing_slow_or_stopped_an_entry_is_exchanged_only_with_its_gift() {
    let mut system = TestSystem::new(MSA, MANIFEST, Options::default());
    quick_breaker(&mut system, "wallet", "gift");
    system.start_all().await;
    let kim = system.user_token("kim", "kim-password").await;
    let admin = system.user_token("admin", "admin-password").await;
    let mut ids = Vec::new();
    for code in ["tutorial", "first-login", "daily-7"] {
        let mission = achieved(&system, &kim, code).await;
        let entry = entry_of(&system, &kim, &mission).await;
        ids.push(entry["id"].as_str().unwrap().to_owned());
    }
    let coupons = stock(&system, "coffee-coupon").await;

    // Gift failing: 503 gift_busy, fast once the breaker is open; the entry stays Issued.
    let first = || exchange(&system, &kim, &ids[0], "coffee-coupon");
    refused_fast_once_open(&system, ("wallet", "gift"), "gift_busy", first).await;
    entry_until(&system, &kim, &ids[0], "Issued").await;
    assert_eq!(
        stock(&system, "coffee-coupon").await,
        coupons,
        "no gift handed out"
    );

    // Gift back: recovers by itself.
    system.faults("gift", 0, 0.0).await;
    eventually(
        PATIENCE,
        "gift is back and the exchange goes through",
        || async {
            let (status, _) = exchange(&system, &kim, &ids[0], "coffee-coupon").await;
            (status == 200).then_some(())
        },
    )
    .await;

    // Gift slow: the answer is lost (503) but gift handed the gift out; its event completes the
    // exchange.
    system.faults("gift", 1_500, 0.0).await;
    let (status, answer) = exchange(&system, &kim, &ids[1], "coffee-coupon").await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (503, Some("gift_busy")),
        "{answer}"
    );
    let done = entry_until(&system, &kim, &ids[1], "Exchanged").await;
    assert_eq!(done["giftCode"], "coffee-coupon");
    system.faults("gift", 0, 0.0).await;

    // Gift stopped: refused at once, the entry unchanged; then back.
    system.stop("gift").await;
    let (status, answer) = exchange(&system, &kim, &ids[2], "coffee-coupon").await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (503, Some("gift_busy")),
        "{answer}"
    );
    entry_until(&system, &kim, &ids[2], "Issued").await;
    system.restart("gift").await;

    // No gift without its exchange, no exchange without its gift.
    for id in &ids {
        let (_, entry) = system.get_as(&kim, &format!("/api/wallet/{id}")).await;
        let (found, _) = system
            .get_as(&admin, &format!("/api/gifts/exchanges/{id}"))
            .await;
        let exchanged = entry["status"] == "Exchanged";
        assert_eq!(found == 200, exchanged, "entry {entry} and its gift agree");
    }
    assert_eq!(stock(&system, "coffee-coupon").await, coupons - 2);
    system.cleanup().await;
}
