//! The JSON document of a view: how it is stored and how the API shows it.

use crate::domain::view::{ReservationView, Source, Terms, TimelineEntry};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A view as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ViewDocument {
    /// Reservation id.
    pub reservation_id: String,
    /// Customer.
    pub customer_id: Option<String>,
    /// Device model id.
    pub device_model: Option<String>,
    /// Country code.
    pub country: Option<String>,
    /// Pickup day.
    pub rental_date: Option<String>,
    /// Due-back day.
    pub return_date: Option<String>,
    /// Booth code.
    pub booth: Option<String>,
    /// KRW.
    pub amount: Option<i64>,
    /// Reservation status.
    pub reservation_status: Option<String>,
    /// Payment status.
    pub payment_status: Option<String>,
    /// Rental status.
    pub rental_status: Option<String>,
    /// Payment id.
    pub payment_id: Option<String>,
    /// Device serial.
    pub device_serial: Option<String>,
    /// Failure reason.
    pub failure_reason: Option<String>,
    /// Why the last cancel was refused.
    pub cancel_refused_reason: Option<String>,
    /// Whether the device was handed out.
    pub handed_out: bool,
    /// Latest sequence seen from reservation, payment and rental.
    pub source_sequences: [u64; 3],
    /// Timeline.
    pub timeline: Vec<TimelineDocument>,
    /// First fact's time.
    pub created_at: String,
    /// Latest fact's time.
    pub updated_at: String,
}

/// A timeline line as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineDocument {
    /// RFC 3339 time.
    pub at: String,
    /// `reservation`, `payment` or `rental`.
    pub source: String,
    /// Event short name.
    pub event: String,
    /// Reason, serial...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When my page learned of it (RFC 3339).
    pub recorded_at: String,
}

fn format(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn parse(at: &str) -> anyhow::Result<OffsetDateTime> {
    OffsetDateTime::parse(at, &Rfc3339).with_context(|| format!("bad time {at}"))
}

impl From<&ReservationView> for ViewDocument {
    fn from(view: &ReservationView) -> Self {
        let terms = view.terms.as_ref();
        Self {
            reservation_id: view.reservation_id.clone(),
            customer_id: view.customer_id.clone(),
            device_model: terms.map(|t| t.device_model.clone()),
            country: terms.map(|t| t.country.clone()),
            rental_date: terms.map(|t| t.rental_date.clone()),
            return_date: terms.map(|t| t.return_date.clone()),
            booth: terms.map(|t| t.booth.clone()),
            amount: terms.map(|t| t.amount),
            reservation_status: view.reservation_status.clone(),
            payment_status: view.payment_status.clone(),
            rental_status: view.rental_status.clone(),
            payment_id: view.payment_id.clone(),
            device_serial: view.device_serial.clone(),
            failure_reason: view.failure_reason.clone(),
            cancel_refused_reason: view.cancel_refused_reason.clone(),
            handed_out: view.handed_out,
            source_sequences: view.seen,
            timeline: view
                .timeline
                .iter()
                .map(|e| TimelineDocument {
                    at: format(e.at),
                    source: e.source.as_str().to_owned(),
                    event: e.event.clone(),
                    detail: e.detail.clone(),
                    recorded_at: format(e.recorded_at),
                })
                .collect(),
            created_at: format(view.created_at),
            updated_at: format(view.updated_at),
        }
    }
}

impl TryFrom<ViewDocument> for ReservationView {
    type Error = anyhow::Error;

    fn try_from(doc: ViewDocument) -> anyhow::Result<Self> {
        let terms = match (
            doc.device_model,
            doc.country,
            doc.rental_date,
            doc.return_date,
            doc.booth,
            doc.amount,
        ) {
            (
                Some(device_model),
                Some(country),
                Some(rental_date),
                Some(return_date),
                Some(booth),
                Some(amount),
            ) => Some(Terms {
                device_model,
                country,
                rental_date,
                return_date,
                booth,
                amount,
            }),
            _ => None,
        };
        let timeline = doc
            .timeline
            .into_iter()
            .map(|e| {
                Ok(TimelineEntry {
                    at: parse(&e.at)?,
                    source: Source::parse(&e.source)
                        .with_context(|| format!("bad source {}", e.source))?,
                    event: e.event,
                    detail: e.detail,
                    recorded_at: parse(&e.recorded_at)?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(ReservationView {
            reservation_id: doc.reservation_id,
            customer_id: doc.customer_id,
            terms,
            reservation_status: doc.reservation_status,
            payment_status: doc.payment_status,
            rental_status: doc.rental_status,
            payment_id: doc.payment_id,
            device_serial: doc.device_serial,
            failure_reason: doc.failure_reason,
            cancel_refused_reason: doc.cancel_refused_reason,
            handed_out: doc.handed_out,
            seen: doc.source_sequences,
            timeline,
            created_at: parse(&doc.created_at)?,
            updated_at: parse(&doc.updated_at)?,
            revision: 0,
        })
    }
}
