//! Readiness: what a service needs before it should receive traffic.

use async_trait::async_trait;

/// One dependency `/health/ready` checks.
#[async_trait]
pub trait ReadinessCheck: Send + Sync + 'static {
    /// The dependency's name on the health page (`store`, `bus`, ...).
    fn name(&self) -> &'static str;
    /// Succeeds when the dependency is usable.
    async fn check(&self) -> anyhow::Result<()>;
}
