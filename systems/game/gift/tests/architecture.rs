//! The domain module imports no adapter, framework or I/O crate.

#[test]
fn the_domain_is_pure_rust() {
    testkit::architecture::assert_domain_is_pure(env!("CARGO_MANIFEST_DIR"));
}
