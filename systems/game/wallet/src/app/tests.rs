//! The wallet's use cases and policies on the in-memory store, with gift's answers scripted.

use super::*;
use crate::adapters::inbound::events::policies;
use crate::domain::entry::EntryStatus;
use game_contracts as contract;
use kernel::consumer::EventHandler as _;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use std::sync::Mutex;

/// Gift's answers, in order.
#[derive(Default)]
struct Scripted(Mutex<Vec<Result<Answer<Gift>, RemoteFailure>>>);

#[async_trait]
impl Gifts for Scripted {
    async fn exchange(&self, _: &ExchangeOrder) -> Result<Answer<Gift>, RemoteFailure> {
        self.0.lock().unwrap().remove(0)
    }
}

fn keyring() -> Gift {
    Gift {
        code: "keyring".into(),
        name: "키링 Keyring".into(),
    }
}

async fn issued(answers: Vec<Result<Answer<Gift>, RemoteFailure>>) -> (Arc<WalletService>, String) {
    let storage = Storage::memory("game/wallet").await.unwrap();
    let app = Arc::new(WalletService::new(
        storage.repository(),
        Arc::new(Scripted(Mutex::new(answers))),
    ));
    let allocated = contract::RewardAllocated {
        mission_id: "m1".into(),
        player_id: "kim".into(),
        reward_id: "r1".into(),
        tier: "silver".into(),
        points: 300,
    };
    deliver(&app, &allocated).await;
    deliver(&app, &allocated).await;
    let entries = app.entries("kim", 0, 10).await.unwrap();
    assert_eq!(entries.len(), 1, "one entry per reward");
    (app, entries[0].id.clone())
}

async fn deliver<E: IntegrationEvent>(app: &Arc<WalletService>, event: &E) {
    let envelope = Envelope::of("game/reward", event, "m1");
    policies(app.clone()).handle(&envelope).await.unwrap();
}

#[tokio::test]
async fn an_entry_is_exchanged_only_when_gift_hands_the_gift_out() {
    let busy = RemoteFailure::Unavailable {
        retry_after: Duration::from_secs(1),
    };
    let answers = vec![
        Ok(Answer::Refused("out_of_stock".into())),
        Err(busy),
        Ok(Answer::Done(keyring())),
    ];
    let (app, id) = issued(answers).await;
    let refused = app.exchange(&id, Some("kim"), "keyring").await;
    assert!(matches!(refused, Err(ExchangeError::Refused(code)) if code == "out_of_stock"));
    let busy = app.exchange(&id, Some("kim"), "keyring").await;
    assert!(matches!(busy, Err(ExchangeError::GiftBusy { .. })));
    assert_eq!(
        app.get(&id, None).await.unwrap().status,
        EntryStatus::Issued
    );
    let done = app.exchange(&id, Some("kim"), "keyring").await.unwrap();
    assert_eq!(done.status, EntryStatus::Exchanged);
    assert!(matches!(
        app.exchange(&id, Some("kim"), "keyring").await,
        Err(ExchangeError::Change(ChangeError::Rejected(
            EntryError::AlreadyExchanged
        )))
    ));
    assert!(app.exchange(&id, Some("lee"), "keyring").await.is_err());
}

#[tokio::test]
async fn a_lost_answer_is_completed_by_gifts_event() {
    let (app, id) = issued(vec![]).await;
    let handed = contract::HandedOut {
        mission_id: "m1".into(),
        player_id: "kim".into(),
        entry_id: id.clone(),
        gift_code: "keyring".into(),
        gift_name: "키링 Keyring".into(),
    };
    deliver(&app, &handed).await;
    let entry = app.get(&id, None).await.unwrap();
    assert_eq!(
        (entry.status, entry.gift),
        (EntryStatus::Exchanged, Some(keyring()))
    );
}
