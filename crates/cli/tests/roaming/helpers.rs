//! The roaming system of real processes, on the testkit's generic harness
//! ([`testkit::system::TestSystem`]), with the roaming helpers its scenarios share.

use serde_json::{Value, json};
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};
use testkit::eventually;
use testkit::system::TestSystem;
pub(crate) use testkit::system::{Bus, Options, Profile};

pub(crate) const MSA: &str = env!("CARGO_BIN_EXE_msa");
pub(crate) const MANIFEST: &str = include_str!("../../../../systems/roaming/system.toml");
pub(crate) const APPROVED_CARD: &str = "4242424242424242";
pub(crate) const DECLINED_CARD: &str = "4000000000000002";
pub(crate) const NO_FUNDS_CARD: &str = "4000000000009995";
pub(crate) const PATIENCE: Duration = testkit::system::PATIENCE;

/// A roaming system under test.
pub(crate) struct System(TestSystem);

impl Deref for System {
    type Target = TestSystem;

    fn deref(&self) -> &TestSystem {
        &self.0
    }
}

impl DerefMut for System {
    fn deref_mut(&mut self) -> &mut TestSystem {
        &mut self.0
    }
}

impl System {
    /// Starts every service and waits until each is ready.
    pub(crate) async fn start(options: Options) -> Self {
        Self(TestSystem::start(MSA, MANIFEST, options).await)
    }

    /// A system with nothing started yet.
    pub(crate) fn new(options: Options) -> Self {
        Self(TestSystem::new(MSA, MANIFEST, options))
    }

    /// Removes what the test left on shared servers.
    pub(crate) async fn cleanup(self) {
        self.0.cleanup().await;
    }

    /// `POST /api/reservations` through the gateway; the response with its status and headers.
    pub(crate) async fn reserve_raw(&self, customer: &str, card: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/api/reservations", self.gateway()))
            .bearer_auth(&self.admin_token)
            .json(&reservation_request(customer, card))
            .send()
            .await
            .unwrap()
    }

    /// Reserves and returns (status, body).
    pub(crate) async fn reserve(&self, customer: &str, card: &str) -> (u16, Value) {
        let response = self.reserve_raw(customer, card).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Reserves with an approved card and returns the reservation id.
    pub(crate) async fn reserved(&self, customer: &str) -> String {
        let (status, body) = self.reserve(customer, APPROVED_CARD).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["status"], "Reserved");
        body["id"].as_str().unwrap().to_owned()
    }

    /// My page's view of a reservation, once it satisfies `accept`.
    pub(crate) async fn mypage_until(
        &self,
        id: &str,
        what: &str,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(PATIENCE, &format!("my page of {id}: {what}"), || async {
            let (status, body) = self.get(&format!("/api/mypage/reservations/{id}")).await;
            (status == 200 && accept(&body)).then_some(body)
        })
        .await
    }

    /// The booth's view of a rental, once it satisfies `accept`.
    pub(crate) async fn rental_until(
        &self,
        id: &str,
        what: &str,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(PATIENCE, &format!("rental of {id}: {what}"), || async {
            let (status, body) = self.get(&format!("/api/rentals/{id}")).await;
            (status == 200 && accept(&body)).then_some(body)
        })
        .await
    }

    /// The reservation, once it satisfies `accept`.
    pub(crate) async fn reservation_until(
        &self,
        id: &str,
        what: &str,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(PATIENCE, &format!("reservation {id}: {what}"), || async {
            let (status, body) = self.get(&format!("/api/reservations/{id}")).await;
            (status == 200 && accept(&body)).then_some(body)
        })
        .await
    }

    /// Sets payment's injected faults directly on the payment service.
    pub(crate) async fn payment_faults(&self, latency_ms: u64, error_rate: f64) {
        self.faults("payment", latency_ms, error_rate).await;
    }

    /// Payment's record for a reservation.
    pub(crate) async fn payment_of(&self, id: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!(
                "{}/api/payments/by-order/{id}",
                self.url("payment")
            ))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// A valid reservation request a few days ahead.
pub(crate) fn reservation_request(customer: &str, card: &str) -> Value {
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap())
        .date();
    let format = time::macros::format_description!("[year]-[month]-[day]");
    json!({
        "customerId": customer,
        "deviceModel": "galaxy-s24",
        "country": "JP",
        "rentalDate": (today + time::Duration::days(3)).format(format).unwrap(),
        "returnDate": (today + time::Duration::days(7)).format(format).unwrap(),
        "booth": "ICN-T1",
        "cardNumber": card,
    })
}

/// Seconds since `start`, for reports.
pub(crate) fn elapsed_ms(start: Instant) -> u128 {
    start.elapsed().as_millis()
}
