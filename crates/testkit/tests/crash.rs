//! Crash tests: real processes killed at the points where a naive event pipeline loses or
//! duplicates events — between the state commit and the publish, between the publish and the
//! outbox mark, and between the handler's commit and the acknowledgement — on both buses.

use std::process::{Command, ExitStatus};
use testkit::conformance::{Adapter, Fixture};
use testkit::node::Effects;

const NODE: &str = env!("CARGO_BIN_EXE_msa-testnode");
const EVENTS: usize = 40;

fn node(args: &[&str], crash_at: Option<(&str, u32)>) -> ExitStatus {
    let mut command = Command::new(NODE);
    command.args(args).env("MSA_LOG", "warn");
    if let Some((point, after)) = crash_at {
        command
            .env("MSA_CRASH_AT", point)
            .env("MSA_CRASH_AFTER", after.to_string());
    }
    command.status().expect("the test node runs")
}

fn produce(fixture: &Fixture, count: usize, crash_at: Option<(&str, u32)>) -> ExitStatus {
    node(
        &[
            "produce",
            &fixture.producer_url,
            &fixture.bus.url,
            &fixture.bus.system,
            &count.to_string(),
            "8",
        ],
        crash_at,
    )
}

fn consume(fixture: &Fixture, expected: usize, crash_at: Option<(&str, u32)>) -> ExitStatus {
    node(
        &[
            "consume",
            &fixture.effects_url,
            &fixture.bus.url,
            &fixture.bus.system,
            "crashers",
            &expected.to_string(),
        ],
        crash_at,
    )
}

async fn assert_each_event_applied_once(fixture: &Fixture) -> Effects {
    let effects = fixture.effects().await;
    let applied = effects.of("crashers").await;
    let distinct: std::collections::HashSet<_> = applied.iter().map(|e| e.event_id).collect();
    assert_eq!(applied.len(), EVENTS, "every event applied, none twice");
    assert_eq!(distinct.len(), EVENTS);
    effects
}

async fn crash_between_commit_and_publish(adapter: Adapter) {
    let fixture = Fixture::new(adapter);
    let died = produce(
        &fixture,
        EVENTS,
        Some((kernel::crash::RELAY_BEFORE_PUBLISH, 0)),
    );
    assert!(
        !died.success(),
        "the producer should have died at the crash point"
    );
    // The events are committed in the outbox and nowhere else; a restarted relay publishes them.
    assert!(produce(&fixture, 0, None).success());
    assert!(consume(&fixture, EVENTS, None).success());
    assert_each_event_applied_once(&fixture).await;
    fixture.cleanup().await;
}

async fn crash_between_publish_and_mark(adapter: Adapter) {
    let fixture = Fixture::new(adapter);
    let died = produce(
        &fixture,
        EVENTS,
        Some((kernel::crash::RELAY_AFTER_PUBLISH, 0)),
    );
    assert!(
        !died.success(),
        "the producer should have died at the crash point"
    );
    // The restarted relay publishes the same events again; bus and inbox recognise them.
    assert!(produce(&fixture, 0, None).success());
    assert_eq!(
        fixture.bus_messages().await,
        EVENTS as u64,
        "the bus kept one copy of each event"
    );
    assert!(consume(&fixture, EVENTS, None).success());
    let effects = assert_each_event_applied_once(&fixture).await;
    assert!(effects.deliveries("crashers").await >= EVENTS);
    fixture.cleanup().await;
}

async fn crash_between_handle_and_ack(adapter: Adapter) {
    let fixture = Fixture::new(adapter);
    assert!(produce(&fixture, EVENTS, None).success());
    let died = consume(
        &fixture,
        EVENTS,
        Some((kernel::crash::CONSUMER_AFTER_COMMIT, 5)),
    );
    assert!(
        !died.success(),
        "the consumer should have died at the crash point"
    );
    // The sixth commit trips the crash point; another partition's handler, already queued for
    // the file's writer lock, may commit before the process is gone.
    let effects = fixture.effects().await;
    let committed = effects.count("crashers").await;
    assert!(
        (6..EVENTS).contains(&committed),
        "at least six effects, and not all, committed before the crash: {committed}"
    );
    assert!(consume(&fixture, EVENTS, None).success());
    let effects = assert_each_event_applied_once(&fixture).await;
    assert!(
        effects.deliveries("crashers").await > EVENTS,
        "the unacknowledged event must have been delivered again (and ignored by the inbox)"
    );
    fixture.cleanup().await;
}

#[tokio::test]
async fn local_bus_loses_nothing_when_the_relay_dies_before_publishing() {
    crash_between_commit_and_publish(Adapter::Local).await;
}

#[tokio::test]
async fn local_bus_duplicates_nothing_when_the_relay_dies_before_marking() {
    crash_between_publish_and_mark(Adapter::Local).await;
}

#[tokio::test]
async fn local_bus_applies_nothing_twice_when_a_consumer_dies_before_acking() {
    crash_between_handle_and_ack(Adapter::Local).await;
}

#[tokio::test]
async fn nats_loses_nothing_when_the_relay_dies_before_publishing() {
    crash_between_commit_and_publish(Adapter::Nats).await;
}

#[tokio::test]
async fn nats_duplicates_nothing_when_the_relay_dies_before_marking() {
    crash_between_publish_and_mark(Adapter::Nats).await;
}

#[tokio::test]
async fn nats_applies_nothing_twice_when_a_consumer_dies_before_acking() {
    crash_between_handle_and_ack(Adapter::Nats).await;
}
