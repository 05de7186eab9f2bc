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

/// The gRPC status for an error answer: the same stable code (`code: message`), the status
/// mapped from HTTP the way Google's API design guide pairs them.
pub fn status(error: impl Into<crate::http::ApiError>) -> tonic::Status {
    use axum::http::StatusCode;
    use tonic::Code;
    let error = error.into();
    let code = match error.status() {
        StatusCode::CONFLICT if error.exists() => Code::AlreadyExists,
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => Code::InvalidArgument,
        StatusCode::UNAUTHORIZED => Code::Unauthenticated,
        StatusCode::FORBIDDEN => Code::PermissionDenied,
        StatusCode::NOT_FOUND => Code::NotFound,
        StatusCode::CONFLICT | StatusCode::PAYMENT_REQUIRED => Code::FailedPrecondition,
        StatusCode::TOO_MANY_REQUESTS => Code::ResourceExhausted,
        StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
        StatusCode::GATEWAY_TIMEOUT => Code::DeadlineExceeded,
        _ => Code::Internal,
    };
    tonic::Status::new(code, format!("{}: {}", error.code(), error.message()))
}

/// Who calls a gRPC method, from the identity metadata the gateway forwards.
pub fn caller<T>(request: &tonic::Request<T>) -> crate::http::Caller {
    crate::http::Caller::from_headers(&request.metadata().clone().into_headers())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ApiError;
    use tonic::Code;

    #[test]
    fn http_answers_map_to_grpc_codes_with_their_stable_code() {
        let used = status(ApiError::already_exists(
            "idempotency_key_used",
            "use a new key",
        ));
        assert_eq!(used.code(), Code::AlreadyExists);
        assert_eq!(used.message(), "idempotency_key_used: use a new key");
        let refused = status(ApiError::conflict("sold_out", "no seats"));
        assert_eq!(refused.code(), Code::FailedPrecondition);
        let busy = status(ApiError::unavailable("payment_busy", "later", 1));
        assert_eq!(busy.code(), Code::Unavailable);
    }
}
