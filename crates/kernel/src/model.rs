//! What a service is made of, as its assembly declares it: the aggregates it keeps and the
//! contracts each publishes, the contracts its policy table or read model reacts to, and the
//! services it calls synchronously. [`crate::Service`] gathers this while a service is assembled,
//! so the living documentation (the event-storming board, the context map, AsyncAPI) is drawn
//! from the code that runs, never from a hand-kept list; and a repository refuses to publish a
//! contract its aggregate does not declare, so the declaration cannot drift from the code.

use crate::envelope::{IntegrationEvent, type_matches};
use std::borrow::Cow;
use utoipa::openapi::{RefOr, Schema};

/// A contract's schemas: its own, and the named schemas it refers to.
type Schemas = Vec<(String, RefOr<Schema>)>;

/// An integration event contract as data: its type, its name and its payload's JSON Schema (with
/// the description its doc comment gives).
#[derive(Clone, Copy)]
pub struct Contract {
    /// The contract's `TYPE` (`roaming.reservation.reserved.v1`, or a generic domain's
    /// `payment.approved.v1`).
    pub event_type: &'static str,
    name: fn() -> Cow<'static, str>,
    schema: fn() -> RefOr<Schema>,
    referenced: fn(&mut Schemas),
}

impl Contract {
    /// Contract `E` as data.
    pub const fn of<E: IntegrationEvent>() -> Self {
        Self {
            event_type: E::TYPE,
            name: <E as utoipa::ToSchema>::name,
            schema: <E as utoipa::PartialSchema>::schema,
            referenced: <E as utoipa::ToSchema>::schemas,
        }
    }

    /// The contract's name (the payload type's: `Reserved`).
    pub fn name(&self) -> String {
        (self.name)().into_owned()
    }

    /// The payload's JSON Schema.
    pub fn schema(&self) -> RefOr<Schema> {
        (self.schema)()
    }

    /// The named schemas the payload's schema refers to (`#/components/schemas/<name>`).
    pub fn referenced(&self) -> Schemas {
        let mut schemas = Vec::new();
        (self.referenced)(&mut schemas);
        schemas
    }

    /// Whether an event of type `event_type` (as it travels, in a system's stream) carries this
    /// contract.
    pub fn carries(&self, event_type: &str) -> bool {
        type_matches(event_type, self.event_type)
    }

    /// The event's own name inside its service (`reserved` of `roaming.reservation.reserved.v1`).
    pub fn event(&self) -> &'static str {
        let mut parts = self.event_type.rsplit('.');
        parts.next();
        parts.next().unwrap_or(self.event_type)
    }

    /// The publishing service's name as the type says it (`reservation`, `payment`).
    pub fn publisher(&self) -> &'static str {
        let mut parts = self.event_type.rsplit('.');
        parts.nth(2).unwrap_or_default()
    }
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.event_type)
    }
}

impl PartialEq for Contract {
    fn eq(&self, other: &Self) -> bool {
        self.event_type == other.event_type
    }
}

impl Eq for Contract {}

/// An aggregate a service keeps: its kind and the contracts its events publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggregateModel {
    /// [`crate::Aggregate::KIND`].
    pub kind: &'static str,
    /// [`crate::Aggregate::PUBLISHES`].
    pub publishes: &'static [Contract],
}

/// The aggregates a store was asked for, shared by the store's clones and the service it serves.
#[derive(Clone, Debug, Default)]
pub struct Kept(std::sync::Arc<std::sync::Mutex<Vec<AggregateModel>>>);

impl Kept {
    /// Notes that aggregates of `kind`, publishing `publishes`, are kept (once per kind).
    pub fn keep(&self, kind: &'static str, publishes: &'static [Contract]) {
        let mut kept = self.0.lock().expect("kept aggregates");
        if !kept.iter().any(|a| a.kind == kind) {
            kept.push(AggregateModel { kind, publishes });
        }
    }

    /// The aggregates noted so far, in order.
    pub fn list(&self) -> Vec<AggregateModel> {
        self.0.lock().expect("kept aggregates").clone()
    }
}

/// What kind of part a service plays, as its assembly says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Role {
    /// A bounded context with aggregates, commands and policies.
    #[default]
    Context,
    /// A read model folded from events (CQRS), answering queries only.
    ReadModel,
    /// A service that tells people what happened (notifications), keeping nothing else.
    Notifier,
}

/// A service as its assembly declared it.
#[derive(Clone, Debug, Default)]
pub struct ServiceModel {
    /// `<system>/<service>`.
    pub name: String,
    /// Its part.
    pub role: Role,
    /// The aggregates it keeps, in the order the application first asked for them.
    pub aggregates: Vec<AggregateModel>,
    /// The contracts its policy table (or read model, or notices) reacts to, in table order.
    pub reacts_to: Vec<Contract>,
    /// The services it calls synchronously (guarded remote commands), by name.
    pub calls: Vec<String>,
}

impl ServiceModel {
    /// Every contract the service's aggregates publish, in declaration order.
    pub fn publishes(&self) -> Vec<Contract> {
        let mut contracts: Vec<Contract> = Vec::new();
        for contract in self.aggregates.iter().flat_map(|a| a.publishes) {
            if !contracts.contains(contract) {
                contracts.push(*contract);
            }
        }
        contracts
    }

    /// The service's own name (`reservation` of `roaming/reservation`).
    pub fn short_name(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }
}

/// The contracts nobody publishes that some service of `services` reacts to, with who reacts:
/// a policy waiting for an event that never comes is a broken flow.
pub fn unpublished(services: &[ServiceModel]) -> Vec<(String, &'static str)> {
    let published: Vec<Contract> = services.iter().flat_map(ServiceModel::publishes).collect();
    services
        .iter()
        .flat_map(|service| {
            service
                .reacts_to
                .iter()
                .filter(|wanted| !published.contains(wanted))
                .map(|wanted| (service.name.clone(), wanted.event_type))
        })
        .collect()
}

/// Why a repository refused to publish: the aggregate's declaration does not list the contract.
pub(crate) fn check_declared(
    kind: &str,
    publishes: &[Contract],
    event_type: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        publishes.iter().any(|c| c.event_type == event_type),
        "a {kind} published {event_type}, which its Aggregate::PUBLISHES does not declare; \
         add the contract there so the living documentation and AsyncAPI show it"
    );
    Ok(())
}

#[cfg(test)]
#[allow(unreachable_pub)] // `contract!` declares public contracts.
mod tests {
    use super::*;

    crate::contract! {
        /// Something was reserved.
        Reserved = "shop.order.reserved.v1" { order_id: String }
    }

    crate::contract! {
        /// Something was paid.
        Paid = "payment.approved.v1" { order_id: String }
    }

    fn service(name: &str, publishes: &'static [Contract], reacts_to: &[Contract]) -> ServiceModel {
        ServiceModel {
            name: name.to_owned(),
            aggregates: vec![AggregateModel {
                kind: "thing",
                publishes,
            }],
            reacts_to: reacts_to.to_vec(),
            ..ServiceModel::default()
        }
    }

    #[test]
    fn a_contract_knows_its_name_event_publisher_and_schema() {
        let contract = Contract::of::<Reserved>();
        assert_eq!(contract.name(), "Reserved");
        assert_eq!(contract.event(), "reserved");
        assert_eq!(contract.publisher(), "order");
        assert_eq!(Contract::of::<Paid>().publisher(), "payment");
        let schema = serde_json::to_value(contract.schema()).unwrap();
        assert_eq!(schema["description"], "Something was reserved.");
        assert_eq!(schema["properties"]["orderId"]["type"], "string");
        assert!(Contract::of::<Paid>().carries("shop.payment.approved.v1"));
    }

    #[test]
    fn a_reaction_to_an_event_nobody_publishes_is_found_and_one_nobody_consumes_is_legal() {
        const ORDER: &[Contract] = &[Contract::of::<Reserved>()];
        const NONE: &[Contract] = &[];
        let order = service("shop/order", ORDER, &[Contract::of::<Paid>()]);
        let payment = service("shop/payment", NONE, &[Contract::of::<Reserved>()]);
        assert_eq!(
            unpublished(&[order.clone(), payment]),
            vec![("shop/order".to_owned(), "payment.approved.v1")]
        );
        const PAID: &[Contract] = &[Contract::of::<Paid>()];
        let payment = service("shop/payment", PAID, &[]);
        assert!(unpublished(&[order, payment]).is_empty());
    }

    #[test]
    fn publishing_an_undeclared_contract_is_refused_with_what_to_do() {
        let error = check_declared(
            "order",
            &[Contract::of::<Reserved>()],
            "payment.approved.v1",
        )
        .unwrap_err();
        assert!(error.to_string().contains("PUBLISHES"), "{error}");
        check_declared("order", &[Contract::of::<Reserved>()], Reserved::TYPE).unwrap();
    }
}
