//! gRPC clients for black-box tests: a channel to the gateway whose calls carry a bearer token,
//! as a client behind the token check would send them.

use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

/// Adds `authorization: Bearer <token>` to every call (none when `None`).
pub type Interceptor =
    Box<dyn FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Send>;
/// A channel whose calls go through [`Interceptor`]; generated clients take it with
/// `with_interceptor`-made constructors (see [`authorized`]).
pub type Authorized = tonic::service::interceptor::InterceptedService<Channel, Interceptor>;

/// A connected channel to `url` (e.g. the gateway).
pub async fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// The interceptor sending `token`.
pub fn bearer(token: Option<String>) -> Interceptor {
    Box::new(move |mut request: tonic::Request<()>| {
        if let Some(token) = &token {
            let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    })
}

/// A channel to `url` whose calls carry `token`.
pub async fn authorized(url: &str, token: Option<String>) -> Authorized {
    tonic::service::interceptor::InterceptedService::new(channel(url).await, bearer(token))
}
