//! Notifications through the webhook adapter (a local receiver that counts distinct event ids):
//! every order status change tells the customer once, also across a crash of the customer center
//! and a receiver that fails at first; a rebuild of my page tells no one again.

use crate::flows::{MANIFEST, MSA, ordered, queued};
use serde_json::{Value, json};
use testkit::eventually;
use testkit::system::{Options, PATIENCE, TestSystem};
use testkit::webhook::Receiver;

fn templates(receiver: &Receiver) -> Vec<String> {
    let mut templates: Vec<String> = receiver
        .taken()
        .values()
        .map(|body| {
            let message: Value = serde_json::from_str(body).unwrap();
            message["template"].as_str().unwrap().to_owned()
        })
        .collect();
    templates.sort_unstable();
    templates
}

async fn received(receiver: &Receiver, count: usize) {
    eventually(PATIENCE, &format!("{count} notifications"), || async {
        (receiver.taken().len() >= count).then_some(())
    })
    .await;
}

#[tokio::test]
async fn each_status_change_is_sent_once_across_a_crash_and_a_failing_receiver() {
    let receiver = Receiver::start(2).await;
    let mut system = TestSystem::new(MSA, MANIFEST, Options::default());
    system.set_service_env("customercenter", "MSA__WEBHOOK__URL", &receiver.url);
    system.set_service_env("customercenter", "MSA__WEBHOOK__BACKOFF_MS", "20");
    system.start_all().await;
    let kim = system.user_token("kim", "kim-password").await;
    let barista = system.user_token("barista", "barista-password").await;

    let first = ordered(&system, &kim, "green-tea-latte", 1).await;
    queued(&system, &barista, &first).await;
    for step in ["accept", "make"] {
        let path = format!("/api/drinks/{first}/{step}");
        assert_eq!(system.post_as(&barista, &path, json!({})).await.0, 200);
    }
    received(&receiver, 3).await;

    system.kill("customercenter").await;
    let second = ordered(&system, &kim, "americano", 3).await;
    let path = format!("/api/orders/{second}/cancel");
    assert_eq!(system.post_as(&kim, &path, json!({})).await.0, 202);
    system.restart("customercenter").await;
    received(&receiver, 5).await;
    eventually(PATIENCE, "the second order canceled", || async {
        let (_, order) = system.get_as(&kim, &format!("/api/orders/{second}")).await;
        (order["status"] == "Canceled").then_some(())
    })
    .await;

    let output = system.replay("customercenter").await;
    assert!(output.contains("now reads generation"), "{output}");
    assert_eq!(
        templates(&receiver),
        vec!["canceled", "made", "ordered", "ordered", "receipted"],
        "one message per status change, whatever was retried or replayed"
    );
    let keys = receiver.keys();
    assert!(
        keys.len() > receiver.taken().len(),
        "the first deliveries failed and were retried"
    );
    system.cleanup().await;
}
