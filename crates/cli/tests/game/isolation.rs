//! Fault isolation: with reward, wallet and my page stopped, missions are still achieved; on
//! restart everything catches up, each mission with exactly one reward and one entry; and racing
//! exchanges of the last units hand out exactly the stock.

use crate::flows::{MANIFEST, MSA, achieved, entry_of, exchange, page_until, stock};
use testkit::eventually;
use testkit::system::{Options, PATIENCE, Profile, TestSystem};

scenario!(with_reward_wallet_and_my_page_down_missions_are_achieved_and_all_catch_up);
async fn with_reward_wallet_and_my_page_down_missions_are_achieved_and_all_catch_up(
    profile: Profile,
) {
    let mut system = TestSystem::start(MSA, MANIFEST, Options::of(profile)).await;
    let kim = system.user_token("kim", "kim-password").await;
    let admin = system.user_token("admin", "admin-password").await;
    for service in ["reward", "wallet", "mypage"] {
        system.stop(service).await;
    }
    let mut missions = Vec::new();
    for code in ["tutorial", "first-login", "pvp-10"] {
        missions.push(achieved(&system, &kim, code).await);
    }
    for service in ["reward", "wallet", "mypage"] {
        system.restart(service).await;
    }
    for mission in &missions {
        entry_of(&system, &kim, mission).await;
        page_until(&system, &kim, mission, "caught up", |v| {
            v["rewardStatus"] == "Issued"
        })
        .await;
    }
    let (_, wallet) = system.get_as(&kim, "/api/wallet?limit=100").await;
    assert_eq!(
        wallet["entries"].as_array().unwrap().len(),
        3,
        "one entry per mission: {wallet}"
    );
    eventually(PATIENCE, "one reward per mission, each issued", || async {
        let (_, rewards) = system.get_as(&admin, "/api/rewards?limit=100").await;
        let all = rewards["rewards"].as_array()?.clone();
        (all.len() == 3 && all.iter().all(|r| r["status"] == "Issued")).then_some(())
    })
    .await;
    system.cleanup().await;
}

scenario!(racing_exchanges_of_the_last_units_hand_out_exactly_the_stock);
async fn racing_exchanges_of_the_last_units_hand_out_exactly_the_stock(profile: Profile) {
    let system = TestSystem::start(MSA, MANIFEST, Options::of(profile)).await;
    let players = [
        system.user_token("kim", "kim-password").await,
        system.user_token("lee", "lee-password").await,
    ];
    let mut entries = Vec::new();
    for token in &players {
        for code in ["tutorial", "first-login", "daily-7", "pvp-10", "boss-raid"] {
            let mission = achieved(&system, token, code).await;
            let entry = entry_of(&system, token, &mission).await;
            entries.push((token, entry["id"].as_str().unwrap().to_owned()));
        }
    }
    assert_eq!(stock(&system, "keyring").await, 3);
    let racing = entries
        .iter()
        .map(|(token, id)| exchange(&system, token, id, "keyring"));
    let answers = futures_util::future::join_all(racing).await;
    let handed = answers.iter().filter(|(status, _)| *status == 200).count();
    let refused = answers
        .iter()
        .filter(|(status, body)| *status == 409 && body["code"] == "out_of_stock")
        .count();
    assert_eq!((handed, refused), (3, 7), "{answers:?}");
    assert_eq!(stock(&system, "keyring").await, 0);
    system.cleanup().await;
}
