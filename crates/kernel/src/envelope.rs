//! The CloudEvents 1.0 envelope (JSON structured mode) every integration event travels in.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// CloudEvents spec version this envelope implements.
pub const SPEC_VERSION: &str = "1.0";

/// An integration event contract: a versioned, serializable payload with a stable type name.
///
/// Contracts live in a system's `contracts` crate (or a generic service's), never in a domain
/// module. Their JSON Schema (`utoipa::ToSchema`, described by their doc comments) is what the
/// system's AsyncAPI document shows.
pub trait IntegrationEvent: Serialize + DeserializeOwned + utoipa::ToSchema {
    /// The CloudEvents `type`, `<system>.<service>.<event>.v<N>`; or, for the contract of a
    /// generic domain deployed into several systems (payment), `<service>.<event>.v<N>`: it travels
    /// as `<deploying system>.<service>.<event>.v<N>` in that system's stream (see [`type_in`]).
    const TYPE: &'static str;
}

/// Declares integration event contracts: a camelCase payload struct and its type name.
///
/// ```ignore
/// kernel::contract! {
///     /// A payment was approved.
///     PaymentApproved = "payment.approved.v1" { payment_id: String, amount: i64 }
/// }
/// ```
#[macro_export]
macro_rules! contract {
    ($(#[$meta:meta])* $name:ident = $type:literal { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty),*
        }

        impl $crate::IntegrationEvent for $name {
            const TYPE: &'static str = $type;
        }
    };
}

/// Whether `event_type` is a generic domain's system-relative type (`<service>.<event>.v<N>`).
fn is_generic(event_type: &str) -> bool {
    event_type.split('.').count() == 3
}

/// The full type a contract of type `event_type` travels under in `system`'s stream: a generic
/// domain's `payment.approved.v1` becomes `<system>.payment.approved.v1`; a full type is itself.
pub fn type_in(system: &str, event_type: &str) -> String {
    if is_generic(event_type) {
        format!("{system}.{event_type}")
    } else {
        event_type.to_owned()
    }
}

/// Whether an envelope of type `actual` carries the contract whose `TYPE` is `contract`: the same
/// type, or a generic contract deployed into any system.
pub fn type_matches(actual: &str, contract: &str) -> bool {
    actual == contract
        || (is_generic(contract)
            && actual
                .split_once('.')
                .is_some_and(|(_, rest)| rest == contract))
}

/// A CloudEvents 1.0 event in JSON structured mode, with the extensions msa relies on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Always `"1.0"`.
    pub specversion: String,
    /// A UUIDv7: unique per event and roughly time-ordered.
    pub id: Uuid,
    /// The producing service, `<system>/<service>`.
    pub source: String,
    /// `<system>.<service>.<event>.v<N>`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The correlation key: every event about one business case carries the same subject.
    pub subject: String,
    /// When the producing transaction wrote the event.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Always `application/json`.
    pub datacontenttype: String,
    /// The contract payload.
    pub data: serde_json::Value,
    /// W3C trace context of the request or event that caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// The id of the event whose handling produced this one, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causationid: Option<Uuid>,
    /// The producing aggregate's version after this event; consumers use it to ignore stale events.
    pub sequence: u64,
}

/// Errors turning envelopes into contract payloads and back.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The envelope's `type` is not the contract that was asked for.
    #[error("event type {actual} is not {expected}")]
    WrongType {
        /// The contract's type.
        expected: &'static str,
        /// The envelope's type.
        actual: String,
    },
    /// The payload does not match the contract.
    #[error("event {event_type} has a payload that does not match its contract: {source}")]
    BadPayload {
        /// The envelope's type.
        event_type: String,
        /// Why it did not match.
        #[source]
        source: serde_json::Error,
    },
    /// The bytes are not a CloudEvents JSON envelope.
    #[error("not a CloudEvents JSON envelope: {0}")]
    NotAnEnvelope(#[source] serde_json::Error),
    /// An event type does not follow `<system>.<service>.<event>.v<N>`.
    #[error("event type {0:?} does not follow <system>.<service>.<event>.v<N>")]
    BadType(String),
}

impl Envelope {
    /// Decodes the payload as contract `E`, checking the type first.
    pub fn decode<E: IntegrationEvent>(&self) -> Result<E, EnvelopeError> {
        if !type_matches(&self.event_type, E::TYPE) {
            return Err(EnvelopeError::WrongType {
                expected: E::TYPE,
                actual: self.event_type.clone(),
            });
        }
        serde_json::from_value(self.data.clone()).map_err(|source| EnvelopeError::BadPayload {
            event_type: self.event_type.clone(),
            source,
        })
    }

    /// Whether this envelope carries contract `E`.
    pub fn is<E: IntegrationEvent>(&self) -> bool {
        type_matches(&self.event_type, E::TYPE)
    }

    /// Serializes to the JSON structured-mode wire form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an envelope always serializes")
    }

    /// An envelope of contract `event` about `subject` from `source`, stamped now: what a
    /// consumer would receive (for application tests and tools).
    pub fn of<E: IntegrationEvent>(source: &str, event: &E, subject: &str) -> Self {
        NewEvent::new(event, subject, 1).into_envelope(source, None, None)
    }

    /// Parses the JSON structured-mode wire form.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        serde_json::from_slice(bytes).map_err(EnvelopeError::NotAnEnvelope)
    }
}

/// An event a transaction wants to publish; the outbox completes it into an [`Envelope`].
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub(crate) event_type: String,
    pub(crate) subject: String,
    pub(crate) sequence: u64,
    pub(crate) data: serde_json::Value,
}

impl NewEvent {
    /// Wraps contract `event` about `subject` (the correlation key) at aggregate version `sequence`.
    pub fn new<E: IntegrationEvent>(event: &E, subject: impl Into<String>, sequence: u64) -> Self {
        Self {
            event_type: E::TYPE.to_owned(),
            subject: subject.into(),
            sequence,
            data: serde_json::to_value(event).expect("contracts always serialize"),
        }
    }

    /// Builds an event from an already-encoded payload; used by tools and benchmarks.
    pub fn raw(
        event_type: impl Into<String>,
        subject: impl Into<String>,
        sequence: u64,
        data: serde_json::Value,
    ) -> Result<Self, EnvelopeError> {
        let event_type = event_type.into();
        EventType::parse(&event_type)?;
        Ok(Self {
            event_type,
            subject: subject.into(),
            sequence,
            data,
        })
    }

    /// The event's type.
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// The event's correlation key.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Completes the event into an envelope from `source` (`<system>/<service>`), stamped now; a
    /// generic contract's type is placed in the source's system.
    pub(crate) fn into_envelope(
        self,
        source: &str,
        traceparent: Option<String>,
        causationid: Option<Uuid>,
    ) -> Envelope {
        let system = source.split('/').next().unwrap_or_default();
        Envelope {
            specversion: SPEC_VERSION.to_owned(),
            id: Uuid::now_v7(),
            source: source.to_owned(),
            event_type: type_in(system, &self.event_type),
            subject: self.subject,
            time: OffsetDateTime::now_utc(),
            datacontenttype: "application/json".to_owned(),
            data: self.data,
            traceparent,
            causationid,
            sequence: self.sequence,
        }
    }
}

/// The parts of an event type, `<system>.<service>.<event>.v<N>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventType<'a> {
    /// The system, e.g. `roaming`.
    pub system: &'a str,
    /// The producing service, e.g. `reservation`.
    pub service: &'a str,
    /// The event name, e.g. `reserved`.
    pub event: &'a str,
    /// The contract version.
    pub version: u32,
}

impl<'a> EventType<'a> {
    /// Splits a type name, rejecting anything that is not `<system>.<service>.<event>.v<N>`.
    pub fn parse(name: &'a str) -> Result<Self, EnvelopeError> {
        let bad = || EnvelopeError::BadType(name.to_owned());
        let mut parts = name.split('.');
        let (Some(system), Some(service), Some(event), Some(version), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let token_ok = |t: &str| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        };
        if !(token_ok(system) && token_ok(service) && token_ok(event)) {
            return Err(bad());
        }
        let version = version
            .strip_prefix('v')
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|v| *v > 0)
            .ok_or_else(bad)?;
        Ok(Self {
            system,
            service,
            event,
            version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq, utoipa::ToSchema)]
    struct Reserved {
        amount: i64,
    }
    impl IntegrationEvent for Reserved {
        const TYPE: &'static str = "roaming.reservation.reserved.v1";
    }

    #[test]
    fn an_envelope_round_trips_through_json_with_its_extensions() {
        let envelope = NewEvent::new(&Reserved { amount: 3 }, "r-1", 2).into_envelope(
            "roaming/reservation",
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
            Some(Uuid::now_v7()),
        );
        let json = envelope.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["specversion"], "1.0");
        assert_eq!(value["type"], "roaming.reservation.reserved.v1");
        assert_eq!(value["subject"], "r-1");
        assert_eq!(value["sequence"], 2);
        assert!(value["traceparent"].is_string());
        let back = Envelope::from_json(json.as_bytes()).unwrap();
        assert_eq!(back, envelope);
        assert_eq!(back.decode::<Reserved>().unwrap(), Reserved { amount: 3 });
        assert_eq!(back.id.get_version_num(), 7);
    }

    #[test]
    fn decoding_as_the_wrong_contract_is_an_error() {
        let envelope = NewEvent::raw(
            "roaming.payment.approved.v1",
            "r-1",
            1,
            serde_json::json!({}),
        )
        .unwrap()
        .into_envelope("roaming/payment", None, None);
        assert!(matches!(
            envelope.decode::<Reserved>(),
            Err(EnvelopeError::WrongType { .. })
        ));
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, utoipa::ToSchema)]
    struct Approved {
        amount: i64,
    }
    impl IntegrationEvent for Approved {
        const TYPE: &'static str = "payment.approved.v1";
    }

    #[test]
    fn a_generic_contract_travels_in_the_deploying_system_and_decodes_in_any() {
        let roaming = Envelope::of("roaming/payment", &Approved { amount: 5 }, "r-1");
        assert_eq!(roaming.event_type, "roaming.payment.approved.v1");
        assert_eq!(
            roaming.decode::<Approved>().unwrap(),
            Approved { amount: 5 }
        );
        let booking = Envelope::of("booking/payment", &Approved { amount: 6 }, "b-1");
        assert_eq!(booking.event_type, "booking.payment.approved.v1");
        assert!(booking.is::<Approved>());
        assert!(!booking.is::<Reserved>());
        assert_eq!(type_in("game", Approved::TYPE), "game.payment.approved.v1");
        assert_eq!(type_in("game", Reserved::TYPE), Reserved::TYPE);
        assert!(!type_matches("roaming.payment.approved.v2", Approved::TYPE));
        assert!(!type_matches(
            "x.roaming.payment.approved.v1",
            Approved::TYPE
        ));
    }

    #[test]
    fn event_types_must_name_system_service_event_and_version() {
        let parsed = EventType::parse("roaming.rental.handed_out.v2").unwrap();
        assert_eq!(parsed.service, "rental");
        assert_eq!(parsed.version, 2);
        for bad in [
            "roaming.rental.handed_out",
            "roaming.rental.handed_out.2",
            "roaming..x.v1",
            "Roaming.rental.x.v1",
            "a.b.c.v0",
            "a.b.c.d.v1",
        ] {
            assert!(EventType::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
