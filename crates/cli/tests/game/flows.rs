//! The seed's functional requirements through the gateway: a player achieves a mission (once; a
//! retried POST is the same achievement), its reward is allocated and recorded on the mission,
//! issued to the wallet, and exchanged for a gift (tier and stock checked by gift); my page and
//! the notifications at each step; my page rebuilt by `msa replay`.

use serde_json::{Value, json};
use testkit::eventually;
use testkit::system::{Options, PATIENCE, Profile, TestSystem};

pub(crate) const MSA: &str = env!("CARGO_BIN_EXE_msa");
pub(crate) const MANIFEST: &str = include_str!("../../../../systems/game/system.toml");

/// Achieves `code` as `token` and returns the achievement id.
pub(crate) async fn achieved(system: &TestSystem, token: &str, code: &str) -> String {
    let (status, mission) = system
        .post_as(token, "/api/missions", json!({"missionCode": code}))
        .await;
    assert_eq!(
        (status, &mission["status"]),
        (201, &json!("Achieved")),
        "{mission}"
    );
    mission["id"].as_str().unwrap().to_owned()
}

/// The wallet entry issued for achievement `mission`, once it is there.
pub(crate) async fn entry_of(system: &TestSystem, token: &str, mission: &str) -> Value {
    eventually(PATIENCE, &format!("the entry of {mission}"), || async {
        let (_, wallet) = system.get_as(token, "/api/wallet?limit=100").await;
        wallet["entries"]
            .as_array()?
            .iter()
            .find(|e| e["missionId"] == mission)
            .cloned()
    })
    .await
}

/// Exchanges entry `id` for `gift` as `token`.
pub(crate) async fn exchange(
    system: &TestSystem,
    token: &str,
    id: &str,
    gift: &str,
) -> (u16, Value) {
    let path = format!("/api/wallet/{id}/exchange");
    system
        .post_as(token, &path, json!({"giftCode": gift}))
        .await
}

/// The units of `gift` left.
pub(crate) async fn stock(system: &TestSystem, gift: &str) -> i64 {
    let (_, gifts) = system.get("/api/gifts").await;
    gifts
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["giftCode"] == gift)
        .unwrap()["stock"]
        .as_i64()
        .unwrap()
}

/// My page of achievement `id`, once `accept` holds.
pub(crate) async fn page_until(
    system: &TestSystem,
    token: &str,
    id: &str,
    what: &str,
    accept: impl Fn(&Value) -> bool,
) -> Value {
    system
        .mypage_until(token, "mission", id, what, accept)
        .await
}

async fn achieve_issue_exchange(profile: Profile) {
    let mut system = TestSystem::start(MSA, MANIFEST, Options::of(profile)).await;
    let kim = system.user_token("kim", "kim-password").await;
    let lee = system.user_token("lee", "lee-password").await;

    let (status, board) = system.get("/api/missions/catalog").await;
    assert_eq!(status, 200);
    assert!(
        board
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["missionCode"] == "boss-raid" && m["tier"] == "gold")
    );
    let (status, refused) = system
        .post_as(
            &kim,
            "/api/missions",
            json!({"missionCode": "boss-raid", "customerId": "lee"}),
        )
        .await;
    assert_eq!(
        (status, &refused["code"]),
        (422, &json!("invalid_body")),
        "the player is the token's"
    );
    let (status, refused) = system
        .post_as(
            &kim,
            "/api/missions",
            json!({"missionCode": "moon-landing"}),
        )
        .await;
    assert_eq!((status, &refused["code"]), (422, &json!("unknown_mission")));

    // Achieved once; a retry with the same key is the same achievement; a second one is refused.
    let body = json!({"missionCode": "daily-7"});
    let (status, first) = system
        .post_keyed(&kim, "/api/missions", "game-1", &body)
        .await;
    assert_eq!(status, 201, "{first}");
    let (_, again) = system
        .post_keyed(&kim, "/api/missions", "game-1", &body)
        .await;
    assert_eq!(again["id"], first["id"], "a retry achieves once");
    let (status, twice) = system.post_as(&kim, "/api/missions", body.clone()).await;
    assert_eq!((status, &twice["code"]), (409, &json!("already_achieved")));
    let mission = first["id"].as_str().unwrap().to_owned();
    let (status, _) = system
        .get_as(&lee, &format!("/api/missions/{mission}"))
        .await;
    assert_eq!(status, 404, "lee cannot see kim's achievement");

    // Allocated (the mission records the reward), issued to the wallet.
    let recorded = eventually(PATIENCE, "the mission records its reward", || async {
        let (_, m) = system
            .get_as(&kim, &format!("/api/missions/{mission}"))
            .await;
        m["rewardId"].as_str().map(str::to_owned)
    })
    .await;
    let entry = entry_of(&system, &kim, &mission).await;
    assert_eq!(
        (&entry["status"], &entry["tier"], &entry["points"]),
        (&json!("Issued"), &json!("silver"), &json!(300))
    );
    assert_eq!(
        entry["rewardId"],
        recorded.as_str(),
        "one reward id along the chain"
    );
    let id = entry["id"].as_str().unwrap().to_owned();
    page_until(&system, &kim, &mission, "issued", |v| {
        v["rewardStatus"] == "Issued"
    })
    .await;

    // A gold gift is refused (tier too low), an unknown one too; then exchanged for a movie ticket.
    let (status, low) = exchange(&system, &kim, &id, "game-console").await;
    assert_eq!((status, &low["code"]), (409, &json!("tier_too_low")));
    let (status, unknown) = exchange(&system, &kim, &id, "yacht").await;
    assert_eq!((status, &unknown["code"]), (422, &json!("unknown_gift")));
    let (status, _) = exchange(&system, &lee, &id, "movie-ticket").await;
    assert_eq!(status, 404, "lee cannot exchange kim's entry");
    let before = stock(&system, "movie-ticket").await;
    let (status, done) = exchange(&system, &kim, &id, "movie-ticket").await;
    assert_eq!(
        (status, &done["status"]),
        (200, &json!("Exchanged")),
        "{done}"
    );
    assert_eq!(stock(&system, "movie-ticket").await, before - 1);
    let (status, twice) = exchange(&system, &kim, &id, "movie-ticket").await;
    assert_eq!((status, &twice["code"]), (409, &json!("already_exchanged")));
    let page = page_until(&system, &kim, &mission, "exchanged", |v| {
        v["rewardStatus"] == "Exchanged" && v["giftStatus"] == "HandedOut"
    })
    .await;
    assert_eq!(
        (&page["entryStatus"], &page["giftCode"]),
        (&json!("Exchanged"), &json!("movie-ticket"))
    );
    testkit::assert_timeline(
        &page,
        &[
            "mission.achieved",
            "reward.allocated",
            "wallet.issued",
            "gift.handed_out",
            "wallet.exchanged",
        ],
    );
    let admin = system.user_token("admin", "admin-password").await;
    eventually(PATIENCE, "the reward follows the exchange", || async {
        let (_, rewards) = system.get_as(&admin, "/api/rewards?status=Exchanged").await;
        (rewards["rewards"].as_array()?.len() == 1).then_some(())
    })
    .await;

    // The notifications: issued, then exchanged; none for lee.
    let messages = eventually(PATIENCE, "two notifications", || async {
        let (_, messages) = system.get_as(&kim, "/api/notifications").await;
        let messages = messages.as_array()?.clone();
        (messages.len() >= 2).then_some(messages)
    })
    .await;
    let mut templates: Vec<&str> = messages
        .iter()
        .map(|m| m["template"].as_str().unwrap())
        .collect();
    templates.sort_unstable();
    assert_eq!(templates, ["exchanged", "issued"], "{messages:?}");
    let (_, lees) = system.get_as(&lee, "/api/notifications").await;
    assert!(lees.as_array().unwrap().is_empty(), "{lees}");

    // My page rebuilt from the stream reads the same.
    system.replay("mypage").await;
    let rebuilt = page_until(&system, &kim, &mission, "rebuilt", |v| {
        v["entryStatus"] == "Exchanged"
    })
    .await;
    assert_eq!(rebuilt["giftStatus"], "HandedOut");
    let walked = system.walk_routes().await;
    assert!(
        walked >= 12,
        "the route table has all the API's routes ({walked})"
    );
    system.cleanup().await;
}

scenario!(achieve_issue_exchange);
