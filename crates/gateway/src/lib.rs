//! The gateway: the single public entry point of a system.
//!
//! - routes `/api/...` by the system manifest's prefixes to the services (round-robin over
//!   replicas, failing over when a replica refuses the connection) — [`proxy`];
//! - guards every `/api/...` route with the manifest's access rules, a bearer-token check
//!   against the identity provider's keys and a per-client rate limit, and forwards the caller's
//!   identity as `x-msa-*` headers (removing any a client sent) — [`edge`], [`identity`];
//! - serves the embedded OAuth2 / OIDC issuer when configured (`auth.embedded`), the web UI, the
//!   OpenAPI document and the operator's system view — [`pages`];
//! - runs as several replicas when its settings name a store they share for the issuer's
//!   grants and the rate limit's budgets (`auth.store`, `rate_limit.store`) — [`shared`].

pub mod edge;
pub mod identity;
mod living;
mod pages;
mod proxy;
pub mod shared;

use edge::{CorsSettings, Edge, RateLimitSettings};
use identity::{AuthSettings, Verifier};
use kernel::manifest::SystemManifest;
use kernel::{Application, Service, ServiceSettings};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

pub use living::{Describe, LivingDocs};

/// The gateway's name.
pub const NAME: &str = "gateway";

/// The gateway's settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// What every service has (the gateway uses the HTTP part).
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// Base URLs per service name; several replicas are separated by commas.
    #[serde(default)]
    pub upstreams: BTreeMap<String, String>,
    /// Longest wait for a service's answer, in milliseconds.
    #[serde(default = "default_timeout")]
    pub upstream_timeout_ms: u64,
    /// Token checking and the embedded issuer.
    #[serde(default)]
    pub auth: AuthSettings,
    /// Per-client rate limit.
    #[serde(default)]
    pub rate_limit: RateLimitSettings,
    /// Cross-origin access for UIs served elsewhere.
    #[serde(default)]
    pub cors: CorsSettings,
}

fn default_timeout() -> u64 {
    30_000
}

/// A file of the web UI, embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct WebAsset {
    /// URL path (`/`, `/app.js`).
    pub path: &'static str,
    /// Content type.
    pub content_type: &'static str,
    /// Contents.
    pub body: &'static [u8],
}

/// What the gateway serves besides the services: the OpenAPI document of the whole system and
/// the web UI.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// OpenAPI 3 document of every service's API.
    pub openapi: serde_json::Value,
    /// The web UI's files.
    pub web: Vec<WebAsset>,
    /// Every system this binary runs on one machine, with its gateway's port: the landing page
    /// (`/systems`) links each one's web UI, system view and API document.
    pub systems: Vec<(String, u16)>,
    /// Draws the system's living documentation (board, context map, AsyncAPI) when first asked.
    pub living: Option<Describe>,
}

/// The OpenAPI description of a system's whole API: the services' documents merged with the
/// gateway's own routes, and the bearer-token scheme.
pub fn openapi(title: &str, services: Vec<utoipa::openapi::OpenApi>) -> serde_json::Value {
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    let mut document = <pages::ApiDoc as utoipa::OpenApi>::openapi();
    document.merge(<living::ApiDoc as utoipa::OpenApi>::openapi());
    for service in services {
        document.merge(service);
    }
    document.info = utoipa::openapi::InfoBuilder::new()
        .title(title)
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Every route needs a bearer token from the identity provider, except those marked public.",
        ))
        .build();
    document
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    kernel::apidoc::complete(&mut document);
    serde_json::to_value(document).unwrap_or_default()
}

/// Builds the gateway for `manifest`'s system.
pub async fn build(
    settings: Settings,
    manifest: SystemManifest,
    extras: Extras,
) -> anyhow::Result<Application> {
    let mut auth = settings.auth.clone();
    let name = format!("{}/{NAME}", manifest.name);
    let shared = shared::Shared::open(&auth, &settings.rate_limit, &name).await?;
    let issuer = if auth.embedded {
        auth.embedded_issuer.issuer = auth.issuer.clone();
        auth.embedded_issuer.audience = auth.audience.clone();
        let demo = manifest
            .demo_users
            .iter()
            .map(|user| auth::User {
                username: user.username.clone(),
                password_hash: user.password_hash.clone(),
                roles: user.roles.clone(),
                name: user.name.clone(),
                claims: user.claims.clone(),
            })
            .collect();
        let issuer = auth::Issuer::new(auth.embedded_issuer.clone(), demo)?;
        Some(match &shared.grants {
            Some(grants) => issuer.with_grants(grants.clone()),
            None => issuer,
        })
    } else {
        None
    };
    let verifier = Verifier::new(auth.clone(), manifest.claims.clone(), issuer.clone())?;
    let edge = Edge {
        manifest: Arc::new(manifest.clone()),
        verifier: verifier.clone(),
        limiter: shared.limiter.clone(),
        cors: Arc::new(settings.cors.clone()),
    };
    let upstreams = proxy::Upstreams::new(&settings, &manifest)?;
    let living = living::LivingState::new(&manifest.name, extras.living);
    let mut routes = pages::routes(pages::PagesState {
        upstreams: upstreams.clone(),
        verifier,
        extras: Arc::new(extras),
    })
    .merge(living::routes(living))
    .merge(proxy::routes(upstreams));
    if let Some(issuer) = &issuer {
        routes = routes.merge(issuer.routes());
    }
    let routes = routes
        .layer(axum::middleware::from_fn_with_state(
            edge.clone(),
            edge::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(edge, edge::cors));
    shared
        .attach(Service::new(&name, settings.service.clone()))
        .routes(routes)
        .build()
        .await
}
