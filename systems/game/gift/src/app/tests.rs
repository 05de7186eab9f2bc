//! Gift's use cases on the in-memory store: tiers, stock, one hand-out per entry.

use super::*;
use game_contracts::Tier;
use kernel::sql::Storage;
use std::sync::Arc;

async fn service() -> Arc<GiftService> {
    let storage = Storage::memory("game/gift").await.unwrap();
    let app = Arc::new(GiftService::new(storage.repository()));
    app.open_stock().await.unwrap();
    app
}

fn request(entry: &str, tier: Tier, gift: &str) -> Request {
    Request {
        entry_id: entry.into(),
        mission_id: format!("m-{entry}"),
        player_id: "kim".into(),
        tier,
        gift_code: gift.into(),
    }
}

fn left(catalog: &[(&'static GiftDef, i64)], code: &str) -> i64 {
    catalog.iter().find(|(g, _)| g.code == code).unwrap().1
}

#[tokio::test]
async fn racing_exchanges_of_the_last_units_hand_out_exactly_the_stock_once_per_entry() {
    let app = service().await;
    let mut racing = tokio::task::JoinSet::new();
    for i in 0..8 {
        let app = app.clone();
        racing.spawn(async move {
            app.exchange(request(&format!("e{i}"), Tier::Bronze, "keyring"))
                .await
        });
    }
    let mut handed = 0;
    while let Some(done) = racing.join_next().await {
        match done.unwrap() {
            Ok(_) => handed += 1,
            Err(ExchangeError::OutOfStock) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(handed, 3);
    assert_eq!(left(&app.catalog().await.unwrap(), "keyring"), 0);
    // The same entry asked again gets its first answer, and no more stock moves.
    app.restock("keyring", 2).await.unwrap();
    let first = app
        .exchange(request("x", Tier::Bronze, "keyring"))
        .await
        .unwrap();
    let again = app
        .exchange(request("x", Tier::Bronze, "coffee-coupon"))
        .await
        .unwrap();
    assert_eq!(again.gift.code, first.gift.code);
    assert_eq!(left(&app.catalog().await.unwrap(), "keyring"), 1);
}

#[tokio::test]
async fn a_low_tier_or_an_unknown_gift_is_refused_and_takes_no_stock() {
    let app = service().await;
    let low = app
        .exchange(request("e", Tier::Silver, "game-console"))
        .await;
    assert!(matches!(
        low,
        Err(ExchangeError::Refused(GiftError::TierTooLow))
    ));
    assert_eq!(left(&app.catalog().await.unwrap(), "game-console"), 1);
    assert!(matches!(
        app.restock("yacht", 1).await,
        Err(ExchangeError::Refused(_))
    ));
    assert!(matches!(
        app.restock("keyring", 0).await,
        Err(ExchangeError::InvalidQuantity)
    ));
}
