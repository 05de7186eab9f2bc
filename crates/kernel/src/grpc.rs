//! gRPC inbound adapters share this: gRPC health checking and reflection beside the service, all
//! served on the service's HTTP port (HTTP/2).

use anyhow::Context as _;

/// Adds gRPC health checking (the service reported serving) and reflection (listing the
/// service, health and reflection, described by `descriptor_set`) to `routes`, as an axum router.
pub fn with_health_and_reflection(
    routes: tonic::service::Routes,
    service_name: &'static str,
    descriptor_set: &'static [u8],
) -> anyhow::Result<axum::Router> {
    let (reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(async move {
        reporter
            .set_service_status(service_name, tonic_health::ServingStatus::Serving)
            .await;
    });
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(descriptor_set)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name(service_name)
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .build_v1()
        .context("cannot describe the gRPC services")?;
    Ok(routes
        .add_service(health)
        .add_service(reflection)
        .into_axum_router())
}
