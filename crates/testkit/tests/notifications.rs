//! The notification port: messages in Korean and English, at most one per event and recipient,
//! kept in the service's store and served at `GET /api/notifications`, or posted to a webhook
//! with retries and the message id as `Idempotency-Key`.

#![allow(clippy::unwrap_used)]

use kernel::Cause;
use kernel::notify::{
    Notice, Notifier, StoredNotifier, Templates, WebhookNotifier, WebhookSettings,
};
use kernel::sql::Storage;

fn templates() -> Templates {
    Templates::new(&[(
        "reward_issued",
        "{player}님, {reward} 보상이 발급되었습니다",
        "{player}, your {reward} reward was issued",
    )])
}

fn issued(player: &str) -> Notice {
    Notice::new(player, "reward_issued")
        .with("player", player)
        .with("reward", "GOLD")
}

#[tokio::test]
async fn a_stored_message_is_kept_once_per_event_and_served_to_its_recipient_only() {
    let storage = Storage::memory("demo/notification").await.unwrap();
    let notifier = StoredNotifier::new(storage.repository(), templates());
    let first = Cause::new("m-1");
    notifier.notify(issued("kim"), &first).await.unwrap();
    notifier.notify(issued("kim"), &first).await.unwrap();
    notifier
        .notify(issued("kim"), &Cause::new("m-2"))
        .await
        .unwrap();
    notifier.notify(issued("lee"), &first).await.unwrap();
    let kims = notifier.messages("kim").await.unwrap();
    assert_eq!(kims.len(), 2, "one message per event");
    assert_eq!(kims[1].ko, "kim님, GOLD 보상이 발급되었습니다");
    assert_eq!(kims[1].en, "kim, your GOLD reward was issued");
    assert!(
        notifier
            .notify(Notice::new("kim", "nope"), &first)
            .await
            .is_err()
    );

    let service = kernel::Service::new(
        "demo/notification",
        kernel::config::Layers::from_toml("[http]\nport = 0\n")
            .unwrap()
            .build()
            .unwrap(),
    )
    .routes(kernel::notify::routes(notifier, "customer"))
    .build()
    .await
    .unwrap();
    let app = testkit::spawn(service);
    let client = reqwest::Client::new();
    let as_lee: serde_json::Value = client
        .get(format!("{}/api/notifications?recipient=kim", app.url))
        .header("x-msa-customer", "lee")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        as_lee.as_array().unwrap().len(),
        1,
        "a customer reads only their own"
    );
    assert_eq!(as_lee[0]["recipient"], "lee");
    let operator = client
        .get(format!("{}/api/notifications", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(operator.status(), 400, "an operator names the recipient");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_webhook_is_retried_with_the_same_idempotency_key_until_it_takes_the_message() {
    let receiver = testkit::webhook::Receiver::start(2).await;
    let webhook = WebhookNotifier::new(
        WebhookSettings {
            url: receiver.url.clone(),
            attempts: 4,
            backoff_ms: 10,
            timeout_ms: 2_000,
        },
        templates(),
    )
    .unwrap();
    let cause = Cause::new("m-1");
    webhook.notify(issued("kim"), &cause).await.unwrap();
    webhook.notify(issued("kim"), &cause).await.unwrap();
    let keys = receiver.keys();
    assert_eq!(keys.len(), 4, "two failures, a success, and the redelivery");
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "one key for one message: {keys:?}"
    );
    let taken = receiver.taken();
    assert_eq!(taken.len(), 1, "the receiver dedupes by key");
    let body = taken.values().next().unwrap();
    assert!(body.contains("your GOLD reward was issued"), "{body}");

    receiver.fail_next(10);
    let failed = webhook.notify(issued("lee"), &cause).await;
    assert!(
        failed.is_err(),
        "after its attempts the delivery fails, to be retried later"
    );
}
