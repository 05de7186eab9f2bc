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
    /// The correlation key every event of one business case carries as its CloudEvents `subject`
    /// (`reservationId`): what links a case's events across services.
    pub correlation_key: String,
    /// The gateway.
    pub gateway: GatewayEntry,
    /// The services, in start order.
    pub services: Vec<ServiceEntry>,
    /// Who may call which public route.
    #[serde(default)]
    pub access: Access,
    /// Scoping claims the gateway forwards to services (`x-msa-<name>`).
    #[serde(default)]
    pub claims: Vec<ScopingClaim>,
    /// Demo accounts of the embedded issuer (Argon2id hashes only).
    #[serde(default)]
    pub demo_users: Vec<DemoUser>,
    /// The ubiquitous language in Korean: the name of each context, aggregate, command and event
    /// the living documentation shows (`"reservation.reserved" = "예약 확정"`), English being the
    /// code's own.
    #[serde(default)]
    pub glossary: std::collections::BTreeMap<String, String>,
}

/// A claim that scopes what a caller with `role` may see and do (a customer's own
/// reservations, a booth's own queue): the gateway forwards the token's `token_claim` as the
/// header `x-msa-<name>` to such callers, never to admins; services act only within it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopingClaim {
    /// Its name in services (`customer`, `booth`).
    pub name: String,
    /// The role it scopes.
    pub role: String,
    /// The token claim holding it (dotted path); default: `name`.
    #[serde(default)]
    pub token_claim: Option<String>,
    /// Without the token claim, use the token's subject.
    #[serde(default)]
    pub subject_fallback: bool,
}

/// A demo account of the embedded issuer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoUser {
    /// Login name.
    pub username: String,
    /// Argon2id PHC string (the passwords are in the README, never here).
    pub password_hash: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Token claims beside the roles (`booth = "ICN-T1"`).
    #[serde(default)]
    pub claims: std::collections::BTreeMap<String, String>,
}

/// Access rules for the gateway: routes anyone may call, and the roles other routes need.
/// A route is written `METHOD /path`, where `METHOD` may be `*`, a path segment `*` matches one
/// segment and a final `**` any rest. A route no rule names is refused to everyone.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// Routes callable without a token.
    #[serde(default)]
    pub public: Vec<String>,
    /// Routes and the roles that may call them.
    #[serde(default)]
    pub rules: Vec<AccessRule>,
}

/// Roles that may call some routes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// `METHOD /path` patterns.
    pub routes: Vec<String>,
    /// Any one of these roles is enough.
    pub roles: Vec<String>,
}

/// What the access rules say about one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Anyone may call it.
    Public,
    /// A token with one of these roles may.
    Roles(&'a [String]),
    /// No rule names it: nobody may.
    Unlisted,
}

fn pattern_matches(pattern: &str, method: &str, path: &str) -> bool {
    let Some((pattern_method, pattern_path)) = pattern.split_once(' ') else {
        return false;
    };
    if pattern_method != "*" && !pattern_method.eq_ignore_ascii_case(method) {
        return false;
    }
    let mut want = pattern_path
        .trim()
        .split('/')
        .filter(|s| !s.is_empty())
        .peekable();
    let mut have = path.split('/').filter(|s| !s.is_empty());
    loop {
        match (want.next(), have.next()) {
            (Some("**"), _) => return true,
            (Some("*"), Some(_)) => {}
            (Some(w), Some(h)) if w == h => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

impl Access {
    /// The methods some rule or public route names for `path` (upper case, sorted, once each;
    /// empty when a `*` rule names it, since that lets every method through): what a request with
    /// another method is told it may use (`405` with `Allow`).
    pub fn methods(&self, path: &str) -> Vec<String> {
        let mut methods: Vec<String> = self
            .public
            .iter()
            .chain(self.rules.iter().flat_map(|rule| rule.routes.iter()))
            .filter_map(|pattern| pattern.split_once(' '))
            .filter(|(method, route)| {
                *method != "*" && pattern_matches(&format!("* {route}"), "", path)
            })
            .map(|(method, _)| method.to_ascii_uppercase())
            .collect();
        methods.sort();
        methods.dedup();
        methods
    }

    /// The verdict for `method` on `path` (no query string).
    pub fn verdict(&self, method: &str, path: &str) -> Verdict<'_> {
        if self.public.iter().any(|p| pattern_matches(p, method, path)) {
            return Verdict::Public;
        }
        self.rules
            .iter()
            .find(|rule| rule.routes.iter().any(|p| pattern_matches(p, method, path)))
            .map_or(Verdict::Unlisted, |rule| Verdict::Roles(&rule.roles))
    }
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
    /// What the bounded context is to the business (the context map's classification).
    pub domain: Domain,
    /// Default port.
    pub port: u16,
    /// Embedded store URL; `{data}` stands for the data directory.
    pub store: String,
    /// Production store URL (the `prod` profile); `{data}` as above.
    pub prod_store: String,
    /// Public path prefixes the gateway routes to this service.
    pub routes: Vec<String>,
    /// gRPC services (`package.Service`) the gateway routes to this service.
    #[serde(default)]
    pub grpc: Vec<String>,
    /// Services of the system it calls synchronously (remote commands); each gets a settings
    /// section named after it with the callee's `url`.
    #[serde(default)]
    pub calls: Vec<String>,
    /// Latency objectives in milliseconds by route prefix (one of `routes`, or a longer prefix
    /// under one): the 95th percentile of the service's requests under it should stay below.
    /// Monitoring raises an alert when it does not (`msa monitor rules`).
    #[serde(default)]
    pub latency_objectives_ms: std::collections::BTreeMap<String, u32>,
    /// How the supervisor (`msa up`) and Kubernetes probe its liveness.
    #[serde(default)]
    pub probe: Probe,
}

/// A liveness probe: every `period_ms` the supervisor asks `/health/live`, waiting up to
/// `timeout_ms`; `failure_threshold` failures in a row restart the process, but not within
/// `initial_delay_ms` of its start. Kubernetes' `livenessProbe` is rendered from the same values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Probe {
    /// Time between two probes.
    pub period_ms: u64,
    /// How long one probe may take.
    pub timeout_ms: u64,
    /// Failed probes in a row that restart the process.
    pub failure_threshold: u32,
    /// Time after a start during which failed probes do not count.
    pub initial_delay_ms: u64,
}

impl Probe {
    /// Time between two probes.
    pub fn period(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.period_ms)
    }

    /// How long one probe may take.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.timeout_ms)
    }

    /// Time after a start during which failed probes do not count.
    pub fn initial_delay(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.initial_delay_ms)
    }
}

impl Default for Probe {
    fn default() -> Self {
        Self {
            period_ms: 2_000,
            timeout_ms: 2_000,
            failure_threshold: 3,
            initial_delay_ms: 10_000,
        }
    }
}

/// A bounded context's classification on the context map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    /// Where the system earns its keep; built in house with the most care.
    Core,
    /// Needed by the core, specific to this business, not a differentiator.
    Supporting,
    /// Needed by any business (payment): would be bought or taken off the shelf.
    Generic,
}

impl Domain {
    /// Its name, as the manifest writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Core => "core",
            Self::Supporting => "supporting",
            Self::Generic => "generic",
        }
    }
}

/// Whether `name` may name a system, a service or a claim: lower-case letters, digits, `-` and
/// `_` (it becomes part of event types, stream names and header names).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Whether `path` is the route prefix `route` or lies under it (on a segment bound).
fn under_prefix(path: &str, route: &str) -> bool {
    path == route
        || path
            .strip_prefix(route)
            .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
}

impl SystemManifest {
    /// Parses and checks a manifest.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let manifest: Self = toml::from_str(text).context("the system manifest is not valid")?;
        anyhow::ensure!(
            valid_name(&manifest.name),
            "system name {:?} must be lower-case letters, digits, '-' or '_'",
            manifest.name
        );
        for service in &manifest.services {
            anyhow::ensure!(
                valid_name(&service.name),
                "service name {:?} of {} must be lower-case letters, digits, '-' or '_'",
                service.name,
                manifest.name
            );
            for route in &service.routes {
                anyhow::ensure!(
                    route.starts_with("/api/"),
                    "route {route} of {} must start with /api/",
                    service.name
                );
            }
            for (route, objective) in &service.latency_objectives_ms {
                anyhow::ensure!(
                    service.routes.iter().any(|r| under_prefix(route, r)),
                    "the latency objective of {route} names no route of {}",
                    service.name
                );
                anyhow::ensure!(
                    *objective > 0,
                    "the latency objective of {route} of {} must be above 0 ms",
                    service.name
                );
            }
        }
        for claim in &manifest.claims {
            anyhow::ensure!(
                valid_name(&claim.name) && !["subject", "roles"].contains(&claim.name.as_str()),
                "scoping claim {:?} must be lowercase letters, digits, '-' or '_', and not \"subject\" or \"roles\" (it becomes the header x-msa-<name>)",
                claim.name
            );
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
            .filter(|(route, _)| under_prefix(path, route))
            .max_by_key(|(route, _)| route.len())
            .map(|(_, service)| service)
    }
}

impl SystemManifest {
    /// The service serving gRPC path `/package.Service/Method`, if any.
    pub fn grpc_route(&self, path: &str) -> Option<&ServiceEntry> {
        let name = path.strip_prefix('/')?.split('/').next()?;
        self.services
            .iter()
            .find(|s| s.grpc.iter().any(|g| g == name))
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
correlation_key = "orderId"
[gateway]
port = 8080
[[services]]
name = "orders"
domain = "core"
port = 8081
store = "sqlite://{data}/orders.db"
prod_store = "postgres://h/orders"
routes = ["/api/orders", "/api/catalog"]
[[services]]
name = "special"
domain = "supporting"
port = 8082
store = "sqlite://{data}/special.db"
prod_store = "sqlite://{data}/special.db"
routes = ["/api/orders/special"]
[access]
public = ["GET /api/catalog", "GET /api/orders/special/**"]
[[access.rules]]
routes = ["* /api/orders/*", "POST /api/orders/*/ship"]
roles = ["clerk", "admin"]
"#;

    #[test]
    fn the_methods_of_a_path_are_those_its_rules_name() {
        let manifest = SystemManifest::parse(MANIFEST).unwrap();
        assert_eq!(manifest.access.methods("/api/catalog"), ["GET"]);
        assert_eq!(manifest.access.methods("/api/orders/7/ship"), ["POST"]);
        assert!(
            manifest.access.methods("/api/orders/7").is_empty(),
            "a * rule lets every method through to the service"
        );
    }

    #[test]
    fn a_latency_objective_must_name_a_route_of_its_service() {
        let with = |route: &str| {
            MANIFEST.replace(
                "routes = [\"/api/orders/special\"]",
                &format!(
                    "routes = [\"/api/orders/special\"]\nlatency_objectives_ms = {{ \"{route}\" = 250 }}"
                ),
            )
        };
        let manifest = SystemManifest::parse(&with("/api/orders/special/items")).unwrap();
        assert_eq!(
            manifest.service("special").unwrap().latency_objectives_ms["/api/orders/special/items"],
            250
        );
        assert!(SystemManifest::parse(&with("/api/orders")).is_err());
        assert!(SystemManifest::parse(&with("/api/orders/specialty")).is_err());
    }

    #[test]
    fn scoping_claims_must_make_header_names() {
        let with = |name: &str| {
            format!("{MANIFEST}\n[[claims]]\nname = \"{name}\"\nrole = \"customer\"\n")
        };
        assert!(SystemManifest::parse(&with("customer")).is_ok());
        assert!(SystemManifest::parse(&with("boothCode")).is_err());
        assert!(SystemManifest::parse(&with("roles")).is_err());
    }

    #[test]
    fn routes_match_whole_segments_and_prefer_the_longest_prefix() {
        let manifest = SystemManifest::parse(MANIFEST).unwrap();
        assert_eq!(manifest.route("/api/orders").unwrap().name, "orders");
        assert_eq!(
            manifest.access.verdict("GET", "/api/catalog"),
            Verdict::Public
        );
        assert_eq!(
            manifest.access.verdict("POST", "/api/catalog"),
            Verdict::Unlisted
        );
        let clerks = vec!["clerk".to_owned(), "admin".to_owned()];
        assert_eq!(
            manifest.access.verdict("POST", "/api/orders/7/ship"),
            Verdict::Roles(&clerks)
        );
        assert_eq!(
            manifest.access.verdict("GET", "/api/orders/7"),
            Verdict::Roles(&clerks)
        );
        assert_eq!(
            manifest.access.verdict("GET", "/api/orders/7/8/9"),
            Verdict::Unlisted
        );
        assert_eq!(
            manifest.access.verdict("GET", "/api/orders/special/x/y"),
            Verdict::Public
        );
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
