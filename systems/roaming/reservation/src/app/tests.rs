//! The reservation use cases and policies on the in-memory store, with a scripted payment
//! gateway: given events, when a command or a policy, then events or a domain error.

use super::*;
use crate::adapters::inbound::events::policies;
use crate::domain::reservation::ReservationStatus;
use kernel::consumer::EventHandler as _;
use kernel::envelope::type_in;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use payment_contracts::checkout::{Checkout, CheckoutError};
use payment_contracts::client::{PaymentFailure, PaymentOutcome, PaymentState, ScriptedPayments};
use payment_contracts::events::{PaymentCanceled, RefundRequested};
use roaming_contracts::events as contract;
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;
use time::macros::{date, datetime};

const CARD: &str = "4111111111111111";

/// A clock that moves only when the test moves it.
#[derive(Clone)]
struct TestClock(Arc<Mutex<OffsetDateTime>>);

impl TestClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
    fn today(&self) -> time::Date {
        self.now().date()
    }
}

struct Given {
    clock: TestClock,
    app: Arc<ReservationService>,
    checkout: Arc<Checkout<Reservation>>,
    reconcile_after: Duration,
    storage: Storage,
    payments: Arc<ScriptedPayments>,
}

async fn given(payments: Arc<ScriptedPayments>, reconcile_after: Duration) -> Given {
    let storage = Storage::memory("roaming/reservation").await.unwrap();
    let clock = TestClock(Arc::new(Mutex::new(datetime!(2026-11-22 09:00 UTC))));
    let repository_clock = clock.clone();
    let store = storage
        .repository()
        .with_clock(Arc::new(move || repository_clock.now()));
    let checkout = Arc::new(Checkout::new(store, payments.clone()));
    let app = Arc::new(ReservationService::new(
        checkout.clone(),
        Arc::new(clock.clone()),
    ));
    Given {
        clock,
        app,
        checkout,
        reconcile_after,
        storage,
        payments,
    }
}

impl Given {
    /// What checkout's scheduled reconciler does: settle what stayed pending too long.
    async fn reconcile(&self) -> usize {
        let before = self.clock.now() - self.reconcile_after;
        self.checkout.reconcile(before).await.unwrap()
    }
}

fn command(key: Option<&str>) -> ReserveCommand {
    ReserveCommand {
        customer: CustomerId::parse("kim").unwrap(),
        choice: Choice {
            device_model: catalog::device_model("egg-lte").unwrap(),
            country: catalog::country("JP").unwrap(),
            booth: catalog::booth("ICN-T1").unwrap(),
        },
        days: (date!(2026 - 12 - 01), date!(2026 - 12 - 05)),
        card_number: CARD.to_owned(),
        idempotency_key: key.map(|k| IdempotencyKey::parse(k).unwrap()),
    }
}

fn approved() -> Result<PaymentOutcome, PaymentFailure> {
    ScriptedPayments::approved()
}

impl Given {
    /// The event types this reservation published, in order.
    async fn published(&self, id: &str) -> Vec<String> {
        testkit::published(&self.storage, id).await
    }

    async fn deliver<E: IntegrationEvent>(&self, event: &E, subject: &str) -> Envelope {
        let envelope = Envelope::of("roaming/rental", event, subject);
        policies(self.app.clone()).handle(&envelope).await.unwrap();
        envelope
    }
}

#[tokio::test]
async fn an_approved_payment_reserves_and_publishes_requested_then_reserved() {
    let given = given(
        ScriptedPayments::answering(vec![approved()]),
        Duration::ZERO,
    )
    .await;
    let reserved = given.app.reserve(command(None)).await.unwrap();
    assert_eq!(reserved.status, ReservationStatus::Reserved);
    assert_eq!(reserved.payment_id.as_deref(), Some("p-1"));
    assert_eq!(
        given.published(&reserved.id).await,
        vec![
            contract::ReservationRequested::TYPE,
            contract::Reserved::TYPE
        ]
    );
    let listed = given.app.list("kim").await.unwrap();
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn a_declined_card_fails_for_good_and_a_retry_with_its_key_is_answered_without_paying() {
    let declined = Ok(PaymentOutcome::Declined {
        reason: "card_declined".to_owned(),
    });
    let given = given(ScriptedPayments::answering(vec![declined]), Duration::ZERO).await;
    for _ in 0..2 {
        let error = given.app.reserve(command(Some("k-1"))).await.unwrap_err();
        assert!(
            matches!(&error, ReserveError::Checkout(CheckoutError::Declined { code, .. }) if code == "card_declined"),
            "{error:?}"
        );
    }
    assert_eq!(
        *given.payments.paid.lock().unwrap(),
        1,
        "the retry was answered from the store"
    );
}

#[tokio::test]
async fn payment_unavailable_fails_the_attempt_and_frees_its_key_for_a_fresh_one() {
    let busy = Err(PaymentFailure::Unavailable {
        retry_after: Duration::from_secs(1),
    });
    let given = given(
        ScriptedPayments::answering(vec![busy, approved()]),
        Duration::ZERO,
    )
    .await;
    let error = given.app.reserve(command(Some("k-2"))).await.unwrap_err();
    let ReserveError::Checkout(CheckoutError::Busy {
        order_id: reservation_id,
        ..
    }) = error
    else {
        panic!("{error:?}")
    };
    let failed = given.app.get(&reservation_id, None).await.unwrap();
    assert_eq!(failed.status, ReservationStatus::ReserveFailed);
    let retried = given.app.reserve(command(Some("k-2"))).await.unwrap();
    assert_eq!(retried.status, ReservationStatus::Reserved);
    assert_ne!(
        retried.id, reservation_id,
        "the retry is a fresh reservation"
    );
}

#[tokio::test]
async fn an_unknown_payment_outcome_is_voided_by_reconciliation_and_never_confirmed() {
    let unknown = Err(PaymentFailure::Unknown {
        retry_after: Duration::from_secs(1),
    });
    let given = given(
        ScriptedPayments::answering(vec![unknown]),
        Duration::from_secs(30),
    )
    .await;
    let error = given.app.reserve(command(None)).await.unwrap_err();
    let ReserveError::Checkout(CheckoutError::Busy {
        order_id: reservation_id,
        ..
    }) = error
    else {
        panic!("{error:?}")
    };
    // Payment did take the money, behind the customer's back: it must be voided, not kept.
    *given.payments.state.lock().unwrap() = Some(PaymentState::Approved {
        payment_id: "p-late".to_owned(),
    });
    assert_eq!(given.reconcile().await, 0, "not pending long enough yet");
    given.clock.advance(Duration::from_secs(60));
    assert_eq!(given.reconcile().await, 1);
    let settled = given.app.get(&reservation_id, None).await.unwrap();
    assert_eq!(settled.status, ReservationStatus::ReserveFailed);
    assert_eq!(*given.payments.voided.lock().unwrap(), 1);
    assert_eq!(given.reconcile().await, 0, "nothing is left pending");
}

#[tokio::test]
async fn a_handed_out_device_is_noted_once_however_often_the_event_comes() {
    let given = given(
        ScriptedPayments::answering(vec![approved()]),
        Duration::ZERO,
    )
    .await;
    let reserved = given.app.reserve(command(None)).await.unwrap();
    let handed_out = contract::RentalHandedOut {
        reservation_id: reserved.id.clone(),
        customer_id: "kim".to_owned(),
        booth: "ICN-T1".to_owned(),
        device_serial: "SN-1".to_owned(),
    };
    let envelope = given.deliver(&handed_out, &reserved.id).await;
    policies(given.app.clone()).handle(&envelope).await.unwrap();
    let noted = given.app.get(&reserved.id, None).await.unwrap();
    assert_eq!(noted.status, ReservationStatus::HandedOut);
    assert_eq!(
        given
            .published(&reserved.id)
            .await
            .last()
            .map(String::as_str),
        Some(contract::ReservationHandedOut::TYPE)
    );
    assert_eq!(
        given.published(&reserved.id).await.len(),
        3,
        "one event for two deliveries"
    );
    let late_cancel = given
        .app
        .cancel(&reserved.id, Some("kim"))
        .await
        .unwrap_err();
    assert!(matches!(
        late_cancel,
        CommandError::Rejected(ReservationError::AlreadyHandedOut)
    ));
}

#[tokio::test]
async fn the_cancel_saga_asks_payment_to_refund_then_ends_canceled_when_it_has() {
    let given = given(
        ScriptedPayments::answering(vec![approved()]),
        Duration::ZERO,
    )
    .await;
    let reserved = given.app.reserve(command(None)).await.unwrap();
    let someone_else = given
        .app
        .cancel(&reserved.id, Some("lee"))
        .await
        .unwrap_err();
    assert!(
        matches!(someone_else, CommandError::NotFound { .. }),
        "{someone_else:?}"
    );
    let requested = given.app.cancel(&reserved.id, Some("kim")).await.unwrap();
    assert_eq!(requested.status, ReservationStatus::CancelRequested);
    let rental_canceled = contract::RentalCanceled {
        reservation_id: reserved.id.clone(),
        customer_id: "kim".to_owned(),
        booth: "ICN-T1".to_owned(),
    };
    given.deliver(&rental_canceled, &reserved.id).await;
    assert_eq!(
        given.published(&reserved.id).await.last(),
        Some(&type_in("roaming", RefundRequested::TYPE)),
        "the refund is requested in roaming's stream"
    );
    let refunded = PaymentCanceled {
        payment_id: "p-1".to_owned(),
        order_id: reserved.id.clone(),
        customer_id: "kim".to_owned(),
        amount: reserved.terms.amount.value(),
        paid_at: String::new(),
    };
    given.deliver(&refunded, &reserved.id).await;
    let canceled = given.app.get(&reserved.id, None).await.unwrap();
    assert_eq!(canceled.status, ReservationStatus::Canceled);
    assert_eq!(
        given
            .published(&reserved.id)
            .await
            .last()
            .map(String::as_str),
        Some(contract::ReservationCanceled::TYPE)
    );
}

#[tokio::test]
async fn a_rental_date_in_the_past_is_refused_before_anything_is_stored() {
    let given = given(ScriptedPayments::answering(vec![]), Duration::ZERO).await;
    let mut past = command(None);
    past.days.0 = date!(2026 - 11 - 01);
    let error = given.app.reserve(past).await.unwrap_err();
    assert!(
        matches!(
            error,
            ReserveError::Invalid {
                code: "rental_date_in_past",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(given.app.list("kim").await.unwrap().is_empty());
}
