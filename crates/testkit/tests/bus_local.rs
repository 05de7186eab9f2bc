//! The bus conformance suite against the embedded SQLite bus.

testkit::bus_conformance_suite!(testkit::conformance::Adapter::Local);
