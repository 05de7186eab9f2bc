//! The barista's use cases and the drink's policies on the in-memory store: given events, when a
//! command or a policy, then the drink and its events.

use super::*;
use crate::adapters::inbound::events::policies;
use crate::domain::drink::DrinkStatus;
use cafeteria_contracts as contract;
use kernel::consumer::EventHandler as _;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use std::sync::Arc;

struct Given {
    app: Arc<DrinkService>,
    storage: Storage,
}

async fn paid(order_id: &str) -> Given {
    let storage = Storage::memory("cafeteria/drink").await.unwrap();
    let given = Given {
        app: Arc::new(DrinkService::new(storage.repository())),
        storage,
    };
    let ordered = contract::Ordered {
        order_id: order_id.into(),
        customer_id: "kim".into(),
        drink_id: "americano".into(),
        drink_name: "아메리카노".into(),
        drink_name_en: "Americano".into(),
        qty: 2,
        amount: 9_000,
        paid_at: "2026-11-23T09:00:00+09:00".into(),
    };
    given.deliver(&ordered, order_id).await;
    given.deliver(&ordered, order_id).await;
    given
}

impl Given {
    async fn deliver<E: IntegrationEvent>(&self, event: &E, subject: &str) {
        let envelope = Envelope::of("cafeteria/order", event, subject);
        policies(self.app.clone()).handle(&envelope).await.unwrap();
    }

    async fn cancel_requested(&self, order_id: &str) {
        let requested = contract::CancelRequested {
            order_id: order_id.into(),
            customer_id: "kim".into(),
        };
        self.deliver(&requested, order_id).await;
    }

    async fn published(&self, id: &str) -> Vec<String> {
        testkit::published(&self.storage, id).await
    }
}

#[tokio::test]
async fn a_paid_order_is_queued_once_and_the_barista_accepts_and_makes_it() {
    let given = paid("o-1").await;
    let queue = given
        .app
        .store()
        .queue(Some(DrinkStatus::Queued.as_str()), 0, 10)
        .await
        .unwrap();
    assert_eq!(queue.len(), 1, "queued once however often delivered");
    let error = given.app.make("o-1").await.unwrap_err();
    assert!(matches!(
        error,
        CommandError::Rejected(DrinkError::NotReceipted)
    ));
    given.app.accept("o-1", "barista").await.unwrap();
    let made = given.app.make("o-1").await.unwrap();
    assert_eq!(made.status, DrinkStatus::Made);
    assert_eq!(
        given.published("o-1").await,
        vec![
            contract::DrinkQueued::TYPE,
            contract::DrinkReceipted::TYPE,
            contract::DrinkMade::TYPE
        ]
    );
}

#[tokio::test]
async fn a_cancel_is_granted_while_queued_and_refused_once_accepted() {
    let given = paid("o-1").await;
    given.cancel_requested("o-1").await;
    let drink = given.app.store().get("o-1").await.unwrap().unwrap();
    assert_eq!(drink.status, DrinkStatus::Canceled);
    assert!(given.app.accept("o-1", "barista").await.is_err());

    let given = paid("o-2").await;
    given.app.accept("o-2", "barista").await.unwrap();
    given.cancel_requested("o-2").await;
    let drink = given.app.store().get("o-2").await.unwrap().unwrap();
    assert_eq!(drink.status, DrinkStatus::Receipted, "the barista goes on");
    assert_eq!(
        given.published("o-2").await.last().map(String::as_str),
        Some(contract::CancelRefused::TYPE)
    );
}
