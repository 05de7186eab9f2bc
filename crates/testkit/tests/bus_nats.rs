//! The bus conformance suite against a real NATS JetStream server.

testkit::bus_conformance_suite!(testkit::conformance::Adapter::Nats);

/// A system's services start at once and each makes sure the stream and the lease bucket exist:
/// every one of them connects, whichever creates them first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_starting_at_once_all_connect_to_a_new_systems_stream() {
    for _ in 0..20 {
        let fixture = testkit::conformance::Fixture::new(testkit::conformance::Adapter::Nats);
        let starts = (0..16).map(|_| {
            let settings = fixture.bus.clone();
            tokio::spawn(async move { kernel::bus::connect(&settings).await.map(|_| ()) })
        });
        for started in futures_util::future::join_all(starts).await {
            if let Err(e) = started.expect("the start does not panic") {
                panic!("a service could not connect to the bus: {e:#}");
            }
        }
        fixture.cleanup().await;
    }
}
