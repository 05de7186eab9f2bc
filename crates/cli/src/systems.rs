//! The systems this binary can run — the registry: one entry per system, naming its manifest,
//! its services' declarations and its web UI — and what follows from a manifest: each service's
//! default settings, how it is served, the gateway's API document and pages.

use anyhow::Context as _;
use kernel::ServiceDef;
use kernel::config::Layers;
use kernel::manifest::{ServiceEntry, SystemManifest};
use std::fmt::Write as _;
use std::path::Path;

/// A system this binary runs.
pub(crate) struct System {
    /// `systems/<name>/system.toml`.
    pub manifest: &'static str,
    /// Its services' declarations.
    pub services: &'static [ServiceDef],
    /// Its web UI: path, content type, body.
    pub web: &'static [(&'static str, &'static str, &'static [u8])],
}

/// The system commands act on when none is named.
pub(crate) const SYSTEMS_DEFAULT: &str = "roaming";

/// The registry.
pub(crate) const SYSTEMS: &[System] = &[
    System {
        manifest: include_str!("../../../systems/roaming/system.toml"),
        services: &[
            roaming_reservation::SERVICE,
            payment::SERVICE,
            roaming_rental::SERVICE,
            roaming_customer::SERVICE,
        ],
        web: &[
            (
                "/",
                HTML,
                include_bytes!("../../../systems/roaming/web/index.html"),
            ),
            (
                "/app.js",
                JS,
                include_bytes!("../../../systems/roaming/web/app.js"),
            ),
        ],
    },
    System {
        manifest: include_str!("../../../systems/booking/system.toml"),
        services: &[
            booking_booking::SERVICE,
            payment::SERVICE,
            booking_delivery::SERVICE,
            booking_mypage::SERVICE,
        ],
        web: &[
            (
                "/",
                HTML,
                include_bytes!("../../../systems/booking/web/index.html"),
            ),
            (
                "/app.js",
                JS,
                include_bytes!("../../../systems/booking/web/app.js"),
            ),
        ],
    },
    System {
        manifest: include_str!("../../../systems/cafeteria/system.toml"),
        services: &[
            cafeteria_order::SERVICE,
            payment::SERVICE,
            cafeteria_drink::SERVICE,
            cafeteria_sale::SERVICE,
            cafeteria_customercenter::SERVICE,
        ],
        web: &[
            (
                "/",
                HTML,
                include_bytes!("../../../systems/cafeteria/web/index.html"),
            ),
            (
                "/app.js",
                JS,
                include_bytes!("../../../systems/cafeteria/web/app.js"),
            ),
        ],
    },
    System {
        manifest: include_str!("../../../systems/game/system.toml"),
        services: &[
            game_mission::SERVICE,
            game_reward::SERVICE,
            game_wallet::SERVICE,
            game_gift::SERVICE,
            game_mypage::SERVICE,
            game_notification::SERVICE,
        ],
        web: &[
            (
                "/",
                HTML,
                include_bytes!("../../../systems/game/web/index.html"),
            ),
            (
                "/app.js",
                JS,
                include_bytes!("../../../systems/game/web/app.js"),
            ),
        ],
    },
    System {
        manifest: include_str!("../../../systems/office/system.toml"),
        services: &[
            office_product::SERVICE,
            office_rental::SERVICE,
            office_delivery::SERVICE,
            office_information::SERVICE,
        ],
        web: &[
            (
                "/",
                HTML,
                include_bytes!("../../../systems/office/web/index.html"),
            ),
            (
                "/app.js",
                JS,
                include_bytes!("../../../systems/office/web/app.js"),
            ),
        ],
    },
];

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// The registry entry and manifest of `system`.
pub(crate) fn system(name: &str) -> anyhow::Result<(&'static System, SystemManifest)> {
    let mut known = Vec::new();
    for system in SYSTEMS {
        let manifest = SystemManifest::parse(system.manifest)?;
        if manifest.name == name {
            return Ok((system, manifest));
        }
        known.push(manifest.name);
    }
    anyhow::bail!(
        "unknown system {name:?}; this build knows: {}",
        known.join(", ")
    )
}

/// The manifest of `system`.
pub(crate) fn manifest(system: &str) -> anyhow::Result<SystemManifest> {
    self::system(system).map(|(_, manifest)| manifest)
}

/// The declaration of `service` in `system`.
pub(crate) fn service(
    system: &System,
    manifest: &SystemManifest,
    service: &str,
) -> anyhow::Result<ServiceDef> {
    system
        .services
        .iter()
        .find(|s| s.name == service)
        .copied()
        .with_context(|| {
            format!(
                "{} has no service {service:?} this build can run",
                manifest.name
            )
        })
}

/// The bus of the `prod` profile: NATS JetStream on this machine.
pub(crate) const PROD_BUS: &str = "nats://127.0.0.1:4222";

/// A manifest port moved by the offset.
pub(crate) fn port(base: u16, offset: u16) -> anyhow::Result<u16> {
    base.checked_add(offset)
        .with_context(|| format!("port {base} + offset {offset} is out of range"))
}

/// The store URL of `service` in `profile`.
pub(crate) fn store_url(
    service: &ServiceEntry,
    data: &str,
    profile: &str,
) -> anyhow::Result<String> {
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
pub(crate) fn defaults(
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
        writeln!(
            toml,
            "[discovery]\nregistry = {}",
            toml_string(&registry(data))
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
    writeln!(toml, "system = {}", toml_string(&manifest.name))?;
    writeln!(toml, "[http]\nport = {}", port(entry.port, offset)?)?;
    writeln!(
        toml,
        "[discovery]\nregistry = {}",
        toml_string(&registry(data))
    )?;
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
    for callee in &entry.calls {
        writeln!(
            toml,
            "[{callee}]\nurl = \"http://127.0.0.1:{}\"",
            port_of(callee)?
        )?;
    }
    Ok(toml)
}

/// Every system of the registry with its gateway's port (shifted by `offset`).
pub(crate) fn gateways(offset: u16) -> anyhow::Result<Vec<(String, u16)>> {
    SYSTEMS
        .iter()
        .map(|system| {
            let manifest = SystemManifest::parse(system.manifest)?;
            Ok((manifest.name, port(manifest.gateway.port, offset)?))
        })
        .collect()
}

/// The names of every system of the registry.
pub(crate) fn names() -> anyhow::Result<Vec<String>> {
    Ok(gateways(0)?.into_iter().map(|(name, _)| name).collect())
}

/// A system's API document and web UI, served by its gateway (with the landing page's links to
/// every system's gateway, ports shifted by `offset`).
pub(crate) fn extras(
    system: &System,
    manifest: &SystemManifest,
    offset: u16,
) -> anyhow::Result<gateway::Extras> {
    Ok(gateway::Extras {
        openapi: gateway::openapi(
            &manifest.name,
            system.services.iter().map(|s| (s.openapi)()).collect(),
        ),
        web: system
            .web
            .iter()
            .map(|&(path, content_type, body)| gateway::WebAsset {
                path,
                content_type,
                body,
            })
            .collect(),
        systems: gateways(offset)?,
        living: Some(crate::docs::living),
    })
}

/// Where a system keeps its files inside the data directory, so systems run side by side from
/// one data directory.
pub(crate) fn system_data(data: &str, system: &str) -> String {
    format!("{}/{system}", data.trim_end_matches('/'))
}

/// The registry of a system's replicas (see `kernel::discovery`), given the system's own data
/// directory ([`system_data`]).
pub(crate) fn registry(system_data: &str) -> String {
    format!("{system_data}/registry")
}

/// The layered settings of `<system>/<service>`: defaults, then the file, then the environment.
pub(crate) fn settings(
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
    let data = system_data(data, &manifest.name);
    let mut layers = Layers::from_toml(&defaults(&manifest, service, &data, offset, profile)?)?;
    if let Some(config) = config {
        layers = layers.with_file(config)?;
    }
    Ok((manifest, service.to_owned(), layers.with_env()))
}

/// Files the data directory held at its root before the kit (dc2212f), when roaming was the
/// only system; today every system keeps its files under `<data>/<system>/`.
const OLD_LAYOUT: &[&str] = &[
    "bus.db",
    "reservation.db",
    "payment.db",
    "rental.db",
    "customer.db",
    "auth/signing-key.pem",
];

/// Refuses a data directory of the layout before the kit, saying what to do (the README's
/// "Upgrading a data directory from before the kit"): its tables are not read by this release.
pub(crate) fn refuse_old_layout(data: &str) -> anyhow::Result<()> {
    let root = Path::new(data);
    let Some(old) = OLD_LAYOUT.iter().map(|f| root.join(f)).find(|f| f.exists()) else {
        return Ok(());
    };
    anyhow::bail!(
        "{data} is a data directory of an earlier release ({} is at its root; this release keeps \
         each system under {data}/<system>/ and does not read the earlier tables). Start from a \
         fresh one: `mv {data} {data}.old` (to keep the sign-in key and the operator's secret, then \
         `mkdir -p {data}/roaming && cp -r {data}.old/auth {data}/roaming/`), or pass --data with \
         another directory. See the README, \"Upgrading a data directory from before the kit\".",
        old.display()
    )
}

/// The gateway settings of the release before the kit, `MSA__AUTH__<NAME>_CLAIM` (the token
/// claim of scoping claim `<name>`, e.g. `MSA__AUTH__BOOTH_CLAIM`), kept as aliases of the
/// manifest's `[[claims]] token_claim` for one release, with a warning.
fn claim_aliases(manifest: &mut SystemManifest) {
    for claim in &mut manifest.claims {
        let variable = format!("MSA__AUTH__{}_CLAIM", claim.name.to_uppercase());
        if let Ok(value) = std::env::var(&variable) {
            eprintln!(
                "{variable} is deprecated: set token_claim of [[claims]] {} in system.toml",
                claim.name
            );
            claim.token_claim = Some(value);
        }
    }
}

/// Builds and runs `<system>/<service>` until it is stopped.
pub(crate) async fn serve(
    target: &str,
    data: &str,
    offset: u16,
    profile: &str,
    config: Option<&Path>,
) -> anyhow::Result<()> {
    refuse_old_layout(data)?;
    let (mut manifest, service, layers) = settings(target, data, offset, profile, config)?;
    let (system, _) = system(&manifest.name)?;
    let app = if service == "gateway" {
        claim_aliases(&mut manifest);
        let extras = extras(system, &manifest, offset)?;
        gateway::build(layers.build()?, manifest.clone(), extras).await?
    } else {
        (self::service(system, &manifest, &service)?.build)(layers)
            .await?
            .build()
            .await?
    };
    let name = format!("{}/{service}", manifest.name);
    if let Some(settings) = kernel::trace::ExportSettings::from_env(&name) {
        kernel::trace::install(settings, app.metrics());
    }
    let stopped = app.run_until_stopped().await;
    kernel::trace::flush().await;
    stopped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_system_has_a_service_declaration_for_each_manifest_entry() {
        for system in SYSTEMS {
            let manifest = SystemManifest::parse(system.manifest).unwrap();
            for entry in &manifest.services {
                service(system, &manifest, &entry.name).unwrap();
            }
        }
    }

    #[test]
    fn the_demo_accounts_match_the_documented_passwords() {
        let manifest = manifest("roaming").unwrap();
        let check = |name: &str, password: &str| {
            let user = manifest
                .demo_users
                .iter()
                .find(|u| u.username == name)
                .unwrap();
            assert!(
                auth::verify_password(&user.password_hash, password),
                "{name}"
            );
        };
        check("kim", "kim-password");
        check("lee", "lee-password");
        check("booth-icn-t1", "booth-password");
        check("admin", "admin-password");
    }

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
        assert_eq!(system_data("data/", "roaming"), "data/roaming");
        assert!(defaults(&manifest, "nope", "d", 0, "embedded").is_err());
    }
}
