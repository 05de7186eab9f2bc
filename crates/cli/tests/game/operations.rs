//! Operations through `msa up`, the supervisor. A player achieves each mission once, so the
//! steady load here reads (the player's wallet, through the gateway to wallet) while achievements
//! are made before, during the freeze and after the rollout: my page frozen is replaced and
//! catches up; every service and the gateway rolled out under that load fail no request; every
//! achievement gets its reward on my page.

use crate::flows::{MANIFEST, MSA, achieved, page_until};
use nix::sys::signal::Signal;
use testkit::system::TestSystem;

#[tokio::test]
async fn a_frozen_service_is_replaced_and_a_rollout_of_everything_under_load_fails_no_request() {
    let mut system = TestSystem::supervised(MSA, MANIFEST).await;
    let kim = system.user_token("kim", "kim-password").await;
    let mut ids = vec![achieved(&system, &kim, "tutorial").await];
    system.signal_service("mypage", Signal::SIGSTOP);
    ids.push(achieved(&system, &kim, "first-login").await);
    let reason = system.restarted("mypage", 0).await;
    assert!(reason.contains("liveness probe"), "{reason}");

    let wallet = system.getter(&kim, "/api/wallet");
    let reads = system
        .roll_everything_under_load(15, move |n| wallet(n))
        .await;
    assert!(reads.len() > 30, "the load ran through the rollout");
    for code in ["daily-7", "pvp-10", "boss-raid"] {
        ids.push(achieved(&system, &kim, code).await);
    }
    for id in &ids {
        page_until(&system, &kim, id, "rewarded", |v| {
            v["rewardStatus"] == "Issued"
        })
        .await;
    }
    system.interrupt().await;
}
