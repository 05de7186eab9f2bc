//! The production stores: losing the connection to a store or the bus makes a service not ready
//! (never crashed), and it recovers by itself; my page can be rebuilt from the events into a fresh
//! Redis generation while readers keep seeing complete views.

use crate::helpers::{Options, PATIENCE, Profile, System};
use serde_json::Value;
use testkit::eventually;
use testkit::proxy::TcpProxy;

async fn readiness(system: &System, service: &str) -> (u16, Value) {
    let response = system
        .client
        .get(format!("{}/health/ready", system.url(service)))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Puts a proxy in front of `service`'s store (or bus), cuts it, and watches readiness.
async fn connection_loss(service: &str, what: &str) {
    let mut system = System::new(Options::of(Profile::Prod));
    let (key, url) = if what == "bus" {
        ("MSA__BUS__URL", testkit::nats_url())
    } else {
        (
            "MSA__STORE__URL",
            system.prod_store_url(service).expect("a server store"),
        )
    };
    let host = url
        .split("://")
        .nth(1)
        .unwrap()
        .split(['/', '?'])
        .next()
        .unwrap()
        .rsplit('@')
        .next()
        .unwrap()
        .to_owned();
    let proxy = TcpProxy::start(&host).await;
    let proxied = url.replacen(&host, &format!("127.0.0.1:{}", proxy.port()), 1);
    system.set_service_env(service, key, &proxied);
    system.start_all().await;
    assert_eq!(readiness(&system, service).await.0, 200);

    proxy.cut();
    let (_, report) = eventually(
        PATIENCE,
        &format!("{service} not ready without its {what}"),
        || async {
            let (status, body) = readiness(&system, service).await;
            (status == 503).then_some((status, body))
        },
    )
    .await;
    assert_ne!(report["checks"][what], "ok", "{report}");
    let live = system
        .client
        .get(format!("{}/health/live", system.url(service)))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status().as_u16(), 200, "{service} stays alive");
    // Callers balance over ready replicas: a replica that is not ready leaves the registry.
    eventually(PATIENCE, &format!("{service} withdrawn"), || async {
        (system.registered(service) == 0).then_some(())
    })
    .await;

    proxy.restore();
    eventually(PATIENCE, &format!("{service} ready again"), || async {
        (readiness(&system, service).await.0 == 200).then_some(())
    })
    .await;
    eventually(PATIENCE, &format!("{service} registered again"), || async {
        (system.registered(service) == 1).then_some(())
    })
    .await;
    let id = system.reserved("after-the-outage").await;
    system
        .mypage_until(&id, "the system works again", |v| {
            v["rentalStatus"] == "Accepted"
        })
        .await;
    system.cleanup().await;
}

#[tokio::test]
async fn reservation_loses_postgresql_turns_not_ready_and_recovers() {
    connection_loss("reservation", "store").await;
}

#[tokio::test]
async fn payment_loses_mariadb_turns_not_ready_and_recovers() {
    connection_loss("payment", "store").await;
}

#[tokio::test]
async fn customer_loses_redis_turns_not_ready_and_recovers() {
    connection_loss("customer", "store").await;
}

#[tokio::test]
async fn rental_loses_nats_turns_not_ready_and_recovers() {
    connection_loss("rental", "bus").await;
}

#[tokio::test]
async fn my_page_is_rebuilt_into_a_fresh_generation_with_no_gap_for_readers() {
    let system = System::start(Options::of(Profile::Prod)).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(system.reserved(&format!("rebuild-{i}")).await);
    }
    let mut before = Vec::new();
    for id in &ids {
        before.push(
            system
                .mypage_until(id, "projected", |v| v["rentalStatus"] == "Accepted")
                .await,
        );
    }
    // Readers keep reading while the rebuild runs and switches; none may see a gap.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let done = done.clone();
        let client = system.client.clone();
        let gateway = system.gateway();
        let token = system.admin_token.clone();
        let ids = ids.clone();
        tokio::spawn(async move {
            let mut reads = 0;
            loop {
                for id in &ids {
                    let response = client
                        .get(format!("{gateway}/api/mypage/reservations/{id}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(
                        response.status().as_u16(),
                        200,
                        "a reader saw no view for {id}"
                    );
                    let view: Value = response.json().await.unwrap();
                    assert_eq!(
                        view["rentalStatus"], "Accepted",
                        "a reader saw a partial view: {view}"
                    );
                    reads += 1;
                }
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    return reads;
                }
            }
        })
    };
    let printed = system.replay("customer").await;
    assert!(
        printed.contains("roaming/customer now reads generation g1"),
        "{printed}"
    );
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let reads = reader.await.expect("readers never saw a gap");
    assert!(
        reads > ids.len(),
        "readers read while the rebuild ran ({reads} reads)"
    );
    for (id, old) in ids.iter().zip(&before) {
        let (_, now) = system.get(&format!("/api/mypage/reservations/{id}")).await;
        assert_eq!(
            now["timeline"].as_array().unwrap().len(),
            old["timeline"].as_array().unwrap().len()
        );
        assert_eq!(now["reservationStatus"], old["reservationStatus"]);
    }
    // The live projection writes into the new generation from now on.
    let after = system.reserved("after-rebuild").await;
    system
        .mypage_until(&after, "projected into the new generation", |v| {
            v["rentalStatus"] == "Accepted"
        })
        .await;
    system.cleanup().await;
}

/// The system's embedded bus file, opened directly.
async fn bus_file(system: &System) -> sqlx::SqlitePool {
    let path = system.dir.path().join("roaming").join("bus.db");
    kernel::sql::connect_sqlite(&format!("sqlite://{}", path.display()))
        .await
        .unwrap()
}

/// Events of the system's stream in the bus file's hot log and in its archive.
async fn bus_log_size(system: &System) -> (i64, i64) {
    let pool = bus_file(system).await;
    let sizes = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM bus_log WHERE stream = ?1),
                (SELECT COALESCE(SUM(events), 0) FROM bus_archive WHERE stream = ?1)",
    )
    .bind(system.bus_system())
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    sizes
}

/// Events about `subjects` in the system's hot log.
async fn hot_events_of(system: &System, subjects: &[String]) -> i64 {
    let pool = bus_file(system).await;
    let mut count = 0;
    for subject in subjects {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM bus_log WHERE stream = ? AND subject = ?")
                .bind(system.bus_system())
                .bind(subject)
                .fetch_one(&pool)
                .await
                .unwrap();
        count += n;
    }
    pool.close().await;
    count
}

#[tokio::test]
async fn with_retention_on_my_page_catches_up_and_rebuilds_from_archived_events() {
    let options = Options {
        env: vec![("MSA__BUS__RETENTION_MS".to_owned(), "300".to_owned())],
        ..Options::default()
    };
    let mut system = System::start(options).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(system.reserved(&format!("retained-{i}")).await);
    }
    for id in &ids {
        system
            .mypage_until(id, "projected", |v| v["rentalStatus"] == "Accepted")
            .await;
    }
    // My page is down while retention runs: what it has not consumed stays hot, and it catches up.
    system.stop("customer").await;
    for i in 4..6 {
        ids.push(system.reserved(&format!("retained-{i}")).await);
    }
    // Retention runs meanwhile, but every event of the reservations my page missed (requested,
    // approved, reserved, accepted) stays hot until my page has read it.
    eventually(
        PATIENCE,
        "retention to run and keep what my page missed",
        || async {
            let (_, archived) = bus_log_size(&system).await;
            let missed = hot_events_of(&system, &ids[4..]).await;
            (archived > 0 && missed == 8).then_some(())
        },
    )
    .await;
    system.restart("customer").await;
    let mut before = Vec::new();
    for id in &ids {
        before.push(
            system
                .mypage_until(id, "caught up", |v| v["rentalStatus"] == "Accepted")
                .await,
        );
    }
    let (hot, archived) = eventually(PATIENCE, "every event archived", || async {
        let (hot, archived) = bus_log_size(&system).await;
        (hot == 0 && archived > 0).then_some((hot, archived))
    })
    .await;
    eprintln!("hot log {hot} events, archive {archived} events");

    let printed = system.replay("customer").await;
    assert!(printed.contains("now reads generation g1"), "{printed}");
    for (id, old) in ids.iter().zip(&before) {
        let (_, now) = system.get(&format!("/api/mypage/reservations/{id}")).await;
        assert_eq!(
            without_recording_times(now),
            without_recording_times(old.clone()),
            "my page of {id} is the same after the rebuild"
        );
    }
    system.cleanup().await;
}

/// A my page document without the times its projection recorded each step (the rebuild records
/// them anew); everything else comes from the events.
fn without_recording_times(mut view: Value) -> Value {
    for step in view["timeline"].as_array_mut().into_iter().flatten() {
        step.as_object_mut().unwrap().remove("recordedAt");
    }
    view
}
