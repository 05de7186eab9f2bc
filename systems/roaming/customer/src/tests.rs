//! The projection on the in-memory store: given events in any order, then my page.

use super::*;
use kernel::consumer::EventHandler as _;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use payment_contracts::events as payment;
use serde_json::Value;

struct Given {
    views: Arc<Views>,
    table: Policies<Views>,
    minute: i64,
}

async fn given() -> Given {
    let storage = Storage::memory("roaming/customer").await.unwrap();
    let views = Arc::new(Views::new(
        storage.repository(),
        ReservationPages::VIEW.names(),
    ));
    let table = projection(views.clone());
    Given {
        views,
        table,
        minute: 0,
    }
}

fn terms() -> contract::ReservationTerms {
    contract::ReservationTerms {
        reservation_id: "r1".into(),
        customer_id: "kim".into(),
        device_model: "egg-lte".into(),
        country: "JP".into(),
        rental_date: "2026-12-01".into(),
        return_date: "2026-12-04".into(),
        booth: "ICN-T1".into(),
        amount: 9_900,
    }
}

impl Given {
    /// Delivers `event` from `source` at its `sequence`, `minute` minutes into the day (events
    /// are given times in the order they happened, whatever order they arrive in).
    async fn deliver<E: IntegrationEvent>(
        &mut self,
        source: &str,
        sequence: u64,
        minute: i64,
        event: &E,
    ) {
        let mut envelope = Envelope::of(source, event, "r1");
        envelope.sequence = sequence;
        envelope.time =
            time::macros::datetime!(2026-11-22 10:00 UTC) + time::Duration::minutes(minute);
        self.minute = self.minute.max(minute);
        self.table.handle(&envelope).await.unwrap();
    }

    async fn page(&self) -> Value {
        self.views
            .get("r1")
            .await
            .unwrap()
            .unwrap()
            .to_json(self.views.names())
    }
}

#[tokio::test]
async fn the_page_shows_all_three_statuses_the_terms_and_a_timeline() {
    let mut given = given().await;
    let requested = contract::ReservationRequested { terms: terms() };
    given.deliver("roaming/reservation", 1, 0, &requested).await;
    let approved = payment::PaymentApproved {
        payment_id: "p1".into(),
        order_id: "r1".into(),
        customer_id: "kim".into(),
        amount: 9_900,
        card_last4: "4242".into(),
        paid_at: String::new(),
    };
    given.deliver("roaming/payment", 1, 1, &approved).await;
    let reserved = contract::Reserved {
        terms: terms(),
        payment_id: "p1".into(),
    };
    given.deliver("roaming/reservation", 2, 2, &reserved).await;
    let accepted = contract::RentalAccepted {
        reservation_id: "r1".into(),
        customer_id: "kim".into(),
        booth: "ICN-T1".into(),
        device_model: "egg-lte".into(),
        rental_date: "2026-12-01".into(),
    };
    given.deliver("roaming/rental", 1, 3, &accepted).await;
    let page = given.page().await;
    assert_eq!(page["reservationStatus"], "Reserved");
    assert_eq!(page["paymentStatus"], "Approved");
    assert_eq!(page["rentalStatus"], "Accepted");
    assert_eq!(
        (&page["customerId"], &page["amount"]),
        (&"kim".into(), &9_900.into())
    );
    let steps: Vec<&str> = page["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "reservation.requested",
            "payment.approved",
            "reservation.reserved",
            "rental.accepted"
        ]
    );
    assert_eq!(page["timeline"][1]["detail"], "card ending 4242");
    assert!(
        page["timeline"][1]["recordedAt"].is_string(),
        "the lag can be read: {page}"
    );
}

#[tokio::test]
async fn a_late_older_event_does_not_move_a_status_back_but_joins_the_timeline_in_order() {
    let mut given = given().await;
    let reserved = contract::Reserved {
        terms: terms(),
        payment_id: "p1".into(),
    };
    given.deliver("roaming/reservation", 2, 1, &reserved).await;
    let requested = contract::ReservationRequested { terms: terms() };
    given.deliver("roaming/reservation", 1, 0, &requested).await;
    let page = given.page().await;
    assert_eq!(page["reservationStatus"], "Reserved");
    assert_eq!(page["timeline"][0]["event"], "requested");
}

#[tokio::test]
async fn a_refused_cancel_shows_the_refusal_the_restored_status_and_keeps_the_serial() {
    let mut given = given().await;
    let handed_out = contract::RentalHandedOut {
        reservation_id: "r1".into(),
        customer_id: "kim".into(),
        booth: "ICN-T1".into(),
        device_serial: "SN-1".into(),
    };
    let returned = contract::RentalReturned {
        reservation_id: "r1".into(),
        customer_id: "kim".into(),
        booth: "ICN-T1".into(),
    };
    given.deliver("roaming/rental", 3, 9, &returned).await;
    given.deliver("roaming/rental", 2, 2, &handed_out).await;
    let refused = contract::CancelRefused {
        reservation_id: "r1".into(),
        customer_id: "kim".into(),
        reason: "the device was already handed out".into(),
        status: "HandedOut".into(),
    };
    given.deliver("roaming/reservation", 5, 5, &refused).await;
    let page = given.page().await;
    assert_eq!(page["reservationStatus"], "HandedOut");
    assert_eq!(
        page["cancelRefusedReason"],
        "the device was already handed out"
    );
    assert_eq!(
        page["rentalStatus"], "Returned",
        "the older hand-out moved no status back"
    );
    assert_eq!(
        page["deviceSerial"], "SN-1",
        "but its serial is a fact that holds"
    );
}
