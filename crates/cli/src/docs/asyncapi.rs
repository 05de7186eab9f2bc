//! The system's AsyncAPI 3.0 document: a channel per event type (its NATS JetStream subject), a
//! message per contract in the CloudEvents envelope with its payload's schema, the correlation
//! key as the envelope's `subject`, and an operation per publishing and per reacting service.

use super::{SystemModel, event_key, event_words};
use kernel::envelope::type_in;
use kernel::model::Contract;
use serde_json::{Map, Value, json};

/// The CloudEvents 1.0 envelope of contract `contract`, whose `data` is the payload schema
/// `data`.
fn envelope(model: &SystemModel, event_type: &str, data: &str) -> Value {
    json!({
        "type": "object",
        "required": ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data", "sequence"],
        "properties": {
            "specversion": { "type": "string", "const": "1.0" },
            "id": { "type": "string", "format": "uuid", "description": "A UUIDv7, unique per event; consumers dedupe by it (the inbox)." },
            "source": { "type": "string", "description": "The producing service, <system>/<service>." },
            "type": { "type": "string", "const": event_type },
            "subject": {
                "type": "string",
                "description": format!("The correlation key ({}): every event of one business case carries it.", model.manifest.correlation_key),
            },
            "time": { "type": "string", "format": "date-time" },
            "datacontenttype": { "type": "string", "const": "application/json" },
            "data": { "$ref": format!("#/components/schemas/{data}") },
            "traceparent": { "type": "string", "description": "W3C trace context of the request or event that caused this one." },
            "causationid": { "type": "string", "format": "uuid", "description": "The event whose handling produced this one." },
            "sequence": { "type": "integer", "minimum": 1, "description": "The producing aggregate's version after this event; consumers ignore stale events by it." },
        },
    })
}

/// The AsyncAPI document of `model`.
pub(crate) fn render(model: &SystemModel) -> Value {
    let system = &model.manifest.name;
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    let mut schemas = Map::new();
    let mut contracts: Vec<Contract> = Vec::new();
    for part in &model.parts {
        for contract in part.model.publishes() {
            if !contracts.contains(&contract) {
                contracts.push(contract);
            }
        }
    }
    for contract in &contracts {
        let event_type = type_in(system, contract.event_type);
        let key = event_key(contract);
        let (service, rest) = event_type
            .strip_prefix(&format!("{system}."))
            .unwrap_or(&event_type)
            .split_once('.')
            .unwrap_or_default();
        schemas.insert(
            key.clone(),
            serde_json::to_value(contract.schema()).unwrap_or_default(),
        );
        for (name, schema) in contract.referenced() {
            schemas.insert(name, serde_json::to_value(schema).unwrap_or_default());
        }
        let description = schemas[&key]["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        messages.insert(
            key.clone(),
            json!({
                "name": contract.name(),
                "title": event_words(contract),
                "summary": description,
                "contentType": "application/cloudevents+json",
                "correlationId": { "$ref": "#/components/correlationIds/subject" },
                "payload": envelope(model, &event_type, &key),
            }),
        );
        channels.insert(
            event_type.clone(),
            json!({
                "address": format!("{system}.{{partition}}.{service}.{rest}"),
                "title": format!("{} · {}", event_words(contract), model.korean(&key)),
                "description": format!("Events of type {event_type}, in stream {} on subject {system}.p<NN>.{service}.{rest}, NN being the partition of their subject.", system.to_uppercase()),
                "parameters": { "partition": { "description": "p00 … p<partitions-1>: the partition of the event's subject (FNV-1a), so one case's events keep their order." } },
                "messages": { key.clone(): { "$ref": format!("#/components/messages/{key}") } },
            }),
        );
        let reference = json!({ "$ref": format!("#/channels/{event_type}") });
        let message = json!([{ "$ref": format!("#/channels/{event_type}/messages/{key}") }]);
        for publisher in model.publishers(contract) {
            operations.insert(
                format!("{}.sends.{key}", publisher.name()),
                json!({
                    "action": "send",
                    "channel": reference,
                    "summary": format!("{} publishes it through its outbox, in the transaction of the change.", publisher.name()),
                    "messages": message,
                }),
            );
        }
        for part in &model.parts {
            if part.model.reacts_to.contains(contract) {
                operations.insert(
                    format!("{}.receives.{key}", part.name()),
                    json!({
                        "action": "receive",
                        "channel": reference,
                        "summary": format!("{} reacts to it as consumer group {system}/{} (idempotent inbox, per-subject order).", part.name(), part.name()),
                        "messages": message,
                    }),
                );
            }
        }
    }
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": format!("{system} events"),
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!("Every integration event of the {system} system, generated from the services' declarations. Each travels as a CloudEvents 1.0 JSON envelope whose subject is the correlation key ({}).", model.manifest.correlation_key),
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "nats": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": format!("NATS JetStream, stream {} (the embedded profile runs a SQLite-file bus with the same types instead).", system.to_uppercase()),
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": schemas,
            "correlationIds": {
                "subject": {
                    "description": format!("The {} every event of one case carries.", model.manifest.correlation_key),
                    "location": "$message.payload#/subject",
                }
            }
        }
    })
}
