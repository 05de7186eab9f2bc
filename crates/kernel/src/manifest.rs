//! The system manifest (`systems/<system>/system.toml`): the services of a system, their ports,
//! embedded and production stores, and the public route prefixes the gateway sends to each.

use anyhow::Context as _;
use serde::Deserialize;

/// A system's manifest.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemManifest {
    /// The system name (`roaming`).
    pub name: String,
    /// Partitions of the system's stream.
    pub partitions: u32,
    /// The gateway.
    pub gateway: GatewayEntry,
    /// The services, in start order.
    pub services: Vec<ServiceEntry>,
}

/// The gateway's entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayEntry {
    /// Default port.
    pub port: u16,
}

/// One service's entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceEntry {
    /// Service name within the system (`reservation`).
    pub name: String,
    /// Default port.
    pub port: u16,
    /// Embedded store URL; `{data}` stands for the data directory.
    pub store: String,
    /// Production store URL (the `prod` profile); `{data}` as above.
    pub prod_store: String,
    /// Public path prefixes the gateway routes to this service.
    pub routes: Vec<String>,
}

impl SystemManifest {
    /// Parses and checks a manifest.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let manifest: Self = toml::from_str(text).context("the system manifest is not valid")?;
        for service in &manifest.services {
            for route in &service.routes {
                anyhow::ensure!(
                    route.starts_with("/api/"),
                    "route {route} of {} must start with /api/",
                    service.name
                );
            }
        }
        Ok(manifest)
    }

    /// The entry of service `name`.
    pub fn service(&self, name: &str) -> Option<&ServiceEntry> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The service whose route prefix matches `path` best (longest prefix, on segment bounds).
    pub fn route(&self, path: &str) -> Option<&ServiceEntry> {
        self.services
            .iter()
            .flat_map(|s| s.routes.iter().map(move |r| (r, s)))
            .filter(|(route, _)| {
                path == route.as_str()
                    || path
                        .strip_prefix(route.as_str())
                        .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
            })
            .max_by_key(|(route, _)| route.len())
            .map(|(_, service)| service)
    }
}

impl ServiceEntry {
    /// The embedded store URL with the data directory filled in.
    pub fn store_in(&self, data_dir: &str) -> String {
        self.store.replace("{data}", data_dir)
    }

    /// The production store URL with the data directory filled in.
    pub fn prod_store_in(&self, data_dir: &str) -> String {
        self.prod_store.replace("{data}", data_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
name = "demo"
partitions = 4
[gateway]
port = 8080
[[services]]
name = "orders"
port = 8081
store = "sqlite://{data}/orders.db"
prod_store = "postgres://h/orders"
routes = ["/api/orders", "/api/catalog"]
[[services]]
name = "special"
port = 8082
store = "sqlite://{data}/special.db"
prod_store = "sqlite://{data}/special.db"
routes = ["/api/orders/special"]
"#;

    #[test]
    fn routes_match_whole_segments_and_prefer_the_longest_prefix() {
        let manifest = SystemManifest::parse(MANIFEST).unwrap();
        assert_eq!(manifest.route("/api/orders").unwrap().name, "orders");
        assert_eq!(manifest.route("/api/orders/12").unwrap().name, "orders");
        assert_eq!(
            manifest.route("/api/orders/special/1").unwrap().name,
            "special"
        );
        assert!(manifest.route("/api/ordersx").is_none());
        assert!(manifest.route("/health").is_none());
        assert_eq!(
            manifest.service("orders").unwrap().store_in("d"),
            "sqlite://d/orders.db"
        );
    }
}
