//! The booking use cases and policies on the in-memory store with scripted payments: given,
//! when a command or an event, then the booking, its events and the seats left.

use super::*;
use crate::adapters::inbound::events::policies;
use crate::domain::booking::BookingStatus;
use booking_contracts as contract;
use kernel::consumer::EventHandler as _;
use kernel::envelope::type_in;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use payment_contracts::checkout::CheckoutError;
use payment_contracts::client::{PaymentOutcome, ScriptedPayments};
use payment_contracts::events::{PaymentCanceled, RefundRequested};

struct Given {
    app: Arc<BookingService>,
    storage: Storage,
}

async fn given(payments: Arc<ScriptedPayments>) -> Given {
    let storage = Storage::memory("booking/booking").await.unwrap();
    let checkout = Checkout::new(storage.repository(), payments);
    let app = Arc::new(BookingService::new(Arc::new(checkout)));
    app.open_seats().await.unwrap();
    Given { app, storage }
}

fn small_hall() -> Seats {
    catalog::seats("frankenstein", "frankenstein-2030-04-02", "S").unwrap()
}

fn command(quantity: u32, key: Option<&str>) -> BookCommand {
    BookCommand {
        customer_id: "kim".into(),
        order: Order {
            seats: small_hall(),
            quantity,
            delivery_address: "서울시 종로구 1".into(),
            phone: "010-1234-5678".into(),
        },
        card_number: "4111111111111111".into(),
        idempotency_key: key.map(str::to_owned),
    }
}

impl Given {
    async fn seats_left(&self) -> i64 {
        self.app.available(&small_hall()).await.unwrap()
    }

    async fn published(&self, id: &str) -> Vec<String> {
        testkit::published(&self.storage, id).await
    }

    async fn deliver<E: IntegrationEvent>(&self, source: &str, event: &E, subject: &str) {
        let envelope = Envelope::of(source, event, subject);
        policies(self.app.clone()).handle(&envelope).await.unwrap();
    }
}

#[tokio::test]
async fn a_paid_booking_takes_its_seats_and_starts_once_however_often_it_is_retried() {
    let given = given(ScriptedPayments::answering(vec![
        ScriptedPayments::approved(),
    ]))
    .await;
    let booked = given.app.book(command(3, Some("k-1"))).await.unwrap();
    assert_eq!(booked.status, BookingStatus::Booked);
    assert_eq!(booked.order.amount(), 3 * 66_000);
    assert_eq!(given.seats_left().await, 1);
    let again = given.app.book(command(3, Some("k-1"))).await.unwrap();
    assert_eq!(again.id, booked.id, "the same key answers the same booking");
    assert_eq!(given.seats_left().await, 1);
    assert_eq!(
        given.published(&booked.id).await,
        vec![contract::BookingStarted::TYPE]
    );
}

#[tokio::test]
async fn more_tickets_than_seats_left_is_sold_out_and_nothing_is_charged() {
    let payments = ScriptedPayments::answering(vec![]);
    let given = given(payments.clone()).await;
    let error = given.app.book(command(5, None)).await.unwrap_err();
    assert!(
        matches!(error, BookError::Checkout(CheckoutError::Exhausted { .. })),
        "{error:?}"
    );
    assert_eq!(*payments.paid.lock().unwrap(), 0);
    assert_eq!(given.seats_left().await, 4);
    let error = given.app.book(command(9, None)).await.unwrap_err();
    assert!(matches!(
        error,
        BookError::Invalid {
            code: "invalid_quantity",
            ..
        }
    ));
}

#[tokio::test]
async fn a_declined_payment_fails_the_booking_and_frees_its_seats() {
    let declined = Ok(PaymentOutcome::Declined {
        reason: "card_declined".into(),
    });
    let given = given(ScriptedPayments::answering(vec![declined])).await;
    let error = given.app.book(command(2, None)).await.unwrap_err();
    let BookError::Checkout(CheckoutError::Declined { order_id, .. }) = error else {
        panic!("{error:?}");
    };
    assert_eq!(given.seats_left().await, 4);
    assert_eq!(
        given.published(&order_id).await,
        vec![contract::BookFailed::TYPE]
    );
}

#[tokio::test]
async fn a_cancel_asks_for_a_refund_and_completes_when_refunded_and_delivery_canceled() {
    let given = given(ScriptedPayments::answering(vec![
        ScriptedPayments::approved(),
    ]))
    .await;
    let booked = given.app.book(command(2, None)).await.unwrap();
    assert!(given.app.cancel(&booked.id, Some("lee")).await.is_err());
    let requested = given.app.cancel(&booked.id, Some("kim")).await.unwrap();
    assert_eq!(requested.status, BookingStatus::CancelRequested);
    let canceled = contract::DeliveryCanceled {
        booking_id: booked.id.clone(),
        customer_id: "kim".into(),
        voided: false,
    };
    given
        .deliver("booking/delivery", &canceled, &booked.id)
        .await;
    assert_eq!(
        given.seats_left().await,
        2,
        "seats stay taken until refunded"
    );
    let refunded = PaymentCanceled {
        payment_id: "p-1".into(),
        order_id: booked.id.clone(),
        customer_id: "kim".into(),
        amount: booked.order.amount(),
        paid_at: String::new(),
    };
    given
        .deliver("booking/payment", &refunded, &booked.id)
        .await;
    given
        .deliver("booking/payment", &refunded, &booked.id)
        .await;
    let done = given.app.get(&booked.id, None).await.unwrap();
    assert_eq!(done.status, BookingStatus::Canceled);
    assert_eq!(given.seats_left().await, 4);
    assert_eq!(
        given.published(&booked.id).await,
        vec![
            contract::BookingStarted::TYPE.to_owned(),
            contract::CancelRequested::TYPE.to_owned(),
            type_in("booking", RefundRequested::TYPE),
            contract::BookingCanceled::TYPE.to_owned(),
        ]
    );
}
