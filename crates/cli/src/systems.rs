//! The systems this binary can run: their manifests, the default settings of each service, and
//! how each service is built.

use anyhow::Context as _;
use kernel::config::Layers;
use kernel::manifest::{ServiceEntry, SystemManifest};
use std::fmt::Write as _;
use std::path::Path;

const ROAMING: &str = include_str!("../../../systems/roaming/system.toml");

/// The manifest of `system`.
pub fn manifest(system: &str) -> anyhow::Result<SystemManifest> {
    match system {
        "roaming" => SystemManifest::parse(ROAMING),
        other => anyhow::bail!("unknown system {other:?}; this build knows: roaming"),
    }
}

/// The bus of the `prod` profile: NATS JetStream on this machine.
pub const PROD_BUS: &str = "nats://127.0.0.1:4222";

/// A manifest port moved by the offset.
pub fn port(base: u16, offset: u16) -> anyhow::Result<u16> {
    base.checked_add(offset)
        .with_context(|| format!("port {base} + offset {offset} is out of range"))
}

/// The store URL of `service` in `profile`.
pub fn store_url(service: &ServiceEntry, data: &str, profile: &str) -> anyhow::Result<String> {
    match profile {
        "embedded" => Ok(service.store_in(data)),
        "prod" => Ok(service.prod_store_in(data)),
        other => anyhow::bail!("unknown profile {other:?}: use embedded or prod"),
    }
}

fn toml_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The built-in settings of a service, as TOML: its port, store and bus from the manifest, and
/// where the services it calls listen.
pub fn defaults(
    manifest: &SystemManifest,
    service: &str,
    data: &str,
    offset: u16,
    profile: &str,
) -> anyhow::Result<String> {
    let mut toml = String::new();
    let port_of = |name: &str| -> anyhow::Result<u16> {
        let entry = manifest
            .service(name)
            .with_context(|| format!("{} has no service {name}", manifest.name))?;
        port(entry.port, offset)
    };
    if service == "gateway" {
        let gateway_port = port(manifest.gateway.port, offset)?;
        writeln!(toml, "[http]\nport = {gateway_port}")?;
        writeln!(toml, "[auth]\nissuer = \"http://127.0.0.1:{gateway_port}\"")?;
        writeln!(
            toml,
            "[auth.embedded_issuer]\nkey_file = {}\nops_secret_file = {}\nweb_redirect_uris = [\"http://127.0.0.1:{gateway_port}/\", \"http://localhost:{gateway_port}/\"]",
            toml_string(&format!("{data}/auth/signing-key.pem")),
            toml_string(&format!("{data}/auth/ops-client-secret")),
        )?;
        writeln!(toml, "[upstreams]")?;
        for entry in &manifest.services {
            writeln!(
                toml,
                "{} = \"http://127.0.0.1:{}\"",
                entry.name,
                port(entry.port, offset)?
            )?;
        }
        return Ok(toml);
    }
    let entry = manifest.service(service).with_context(|| {
        let known: Vec<&str> = manifest.services.iter().map(|s| s.name.as_str()).collect();
        format!(
            "{} has no service {service:?}; it has gateway, {}",
            manifest.name,
            known.join(", ")
        )
    })?;
    writeln!(toml, "[http]\nport = {}", port(entry.port, offset)?)?;
    writeln!(
        toml,
        "[store]\nurl = {}",
        toml_string(&store_url(entry, data, profile)?)
    )?;
    writeln!(
        toml,
        "[bus]\nurl = {}\nsystem = {}\npartitions = {}",
        toml_string(&if profile == "prod" {
            PROD_BUS.to_owned()
        } else {
            format!("local://{data}/bus.db")
        }),
        toml_string(&manifest.name),
        manifest.partitions
    )?;
    if manifest.name == "roaming" && service == "reservation" {
        writeln!(
            toml,
            "[payment]\nurl = \"http://127.0.0.1:{}\"",
            port_of("payment")?
        )?;
    }
    Ok(toml)
}

/// The roaming system's API document and web UI, served by its gateway.
pub fn roaming_extras() -> gateway::Extras {
    let asset = |path, content_type, body| gateway::WebAsset {
        path,
        content_type,
        body,
    };
    gateway::Extras {
        openapi: gateway::openapi(
            "roaming",
            vec![
                roaming_reservation::openapi(),
                roaming_payment::openapi(),
                roaming_rental::openapi(),
                roaming_customer::openapi(),
            ],
        ),
        web: vec![
            asset(
                "/",
                "text/html; charset=utf-8",
                include_bytes!("../../../systems/roaming/web/index.html").as_slice(),
            ),
            asset(
                "/app.js",
                "text/javascript; charset=utf-8",
                include_bytes!("../../../systems/roaming/web/app.js").as_slice(),
            ),
            asset(
                "/app.css",
                "text/css; charset=utf-8",
                include_bytes!("../../../systems/roaming/web/app.css").as_slice(),
            ),
        ],
    }
}

/// The layered settings of `<system>/<service>`: defaults, then the file, then the environment.
pub fn settings(
    target: &str,
    data: &str,
    offset: u16,
    profile: &str,
    config: Option<&Path>,
) -> anyhow::Result<(SystemManifest, String, Layers)> {
    let (system, service) = target.split_once('/').with_context(|| {
        format!("name a service as <system>/<service>, e.g. roaming/reservation, not {target:?}")
    })?;
    let manifest = manifest(system)?;
    let mut layers = Layers::from_toml(&defaults(&manifest, service, data, offset, profile)?)?;
    if let Some(config) = config {
        layers = layers.with_file(config)?;
    }
    Ok((manifest, service.to_owned(), layers.with_env()))
}

/// Builds and runs `<system>/<service>` until it is stopped.
pub async fn serve(
    target: &str,
    data: &str,
    offset: u16,
    profile: &str,
    config: Option<&Path>,
) -> anyhow::Result<()> {
    let (manifest, service, layers) = settings(target, data, offset, profile, config)?;
    let system = manifest.name.clone();
    let (system, service) = (system.as_str(), service.as_str());
    let app = match (system, service) {
        ("roaming", "gateway") => {
            gateway::build(layers.build()?, manifest, roaming_extras()).await?
        }
        ("roaming", "reservation") => roaming_reservation::build(layers.build()?).await?,
        ("roaming", "payment") => roaming_payment::build(layers.build()?).await?,
        ("roaming", "rental") => roaming_rental::build(layers.build()?).await?,
        ("roaming", "customer") => roaming_customer::build(layers.build()?).await?,
        _ => anyhow::bail!("{target} is not a service this build can run"),
    };
    app.run_until_stopped().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_roaming_service_has_defaults_that_build() {
        let manifest = manifest("roaming").unwrap();
        for service in ["gateway", "reservation", "payment", "rental", "customer"] {
            let toml = defaults(&manifest, service, "data", 0, "embedded").unwrap();
            Layers::from_toml(&toml).unwrap();
        }
        let reservation = defaults(&manifest, "reservation", "d", 100, "embedded").unwrap();
        assert!(reservation.contains("port = 8181"), "{reservation}");
        assert!(
            reservation.contains("http://127.0.0.1:8182"),
            "{reservation}"
        );
        assert!(
            reservation.contains("sqlite://d/reservation.db"),
            "{reservation}"
        );
        assert!(defaults(&manifest, "nope", "d", 0, "embedded").is_err());
    }
}
