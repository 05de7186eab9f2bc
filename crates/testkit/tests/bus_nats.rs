//! The bus conformance suite against a real NATS JetStream server.

testkit::bus_conformance_suite!(testkit::conformance::Adapter::Nats);
