//! Rental's use cases and policies on the in-memory store, with delivery's cancel command
//! scripted: given the catalog and delivery's answers, when the customer acts, then the rental.

use super::*;
use crate::adapters::inbound::events::policies;
use crate::domain::rental::RentalStatus;
use kernel::consumer::EventHandler as _;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use office_contracts as contract;
use std::sync::Mutex;

/// Delivery's answers, in order; counts the calls.
#[derive(Default)]
struct Scripted(Mutex<Vec<Result<Answer<()>, RemoteFailure>>>, Mutex<u32>);

#[async_trait]
impl Deliveries for Scripted {
    async fn cancel(&self, _: &str, _: &str) -> Result<Answer<()>, RemoteFailure> {
        *self.1.lock().unwrap() += 1;
        self.0.lock().unwrap().remove(0)
    }
}

struct Given {
    app: Arc<RentalService>,
    delivery: Arc<Scripted>,
}

async fn catalog() -> Given {
    let storage = Storage::memory("office/rental").await.unwrap();
    let delivery = Arc::new(Scripted::default());
    let app = Arc::new(RentalService::new(
        storage.repository(),
        storage.repository().generational(),
        delivery.clone(),
    ));
    let given = Given { app, delivery };
    let registered = contract::ProductRegistered {
        product_id: "computer".into(),
        name: "computer".into(),
        daily_rate: 5_000,
        qty: 9,
    };
    given.deliver(&registered, "computer").await;
    given
}

impl Given {
    async fn deliver<E: IntegrationEvent>(&self, event: &E, subject: &str) {
        let envelope = Envelope::of("office/delivery", event, subject);
        policies(self.app.clone()).handle(&envelope).await.unwrap();
    }

    async fn rent(&self, product: &str, key: Option<&str>) -> Result<Rental, RentError> {
        let from = today() + time::Duration::days(1);
        self.app
            .rent(RentCommand {
                customer_id: "kim".into(),
                product_id: product.into(),
                qty: 3,
                period: Period {
                    from,
                    to: from + time::Duration::days(1),
                },
                idempotency_key: key.map(str::to_owned),
            })
            .await
    }

    fn answers(&self, answers: Vec<Result<Answer<()>, RemoteFailure>>) {
        *self.delivery.0.lock().unwrap() = answers;
    }
}

#[tokio::test]
async fn a_rental_takes_name_and_rate_from_the_replica_and_a_retry_rents_once() {
    let given = catalog().await;
    let rental = given.rent("computer", Some("k1")).await.unwrap();
    assert_eq!(rental.item.product_name, "computer");
    assert_eq!(rental.amount(), 5_000 * 3 * 2);
    let again = given.rent("computer", Some("k1")).await.unwrap();
    assert_eq!(again.id, rental.id);
    assert_eq!(
        given
            .app
            .rentals()
            .find_page(kernel::owned::BY_OWNER, "kim", 0, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        given.rent("unheard", None).await,
        Err(RentError::UnknownProduct(_))
    ));
}

#[tokio::test]
async fn out_of_stock_cancels_the_rental() {
    let given = catalog().await;
    let rental = given.rent("computer", None).await.unwrap();
    let out = contract::OutOfStock {
        rental_id: rental.id.clone(),
        customer_id: "kim".into(),
        product_id: "computer".into(),
        qty: 3,
    };
    given.deliver(&out, &rental.id).await;
    let rental = given.app.get(&rental.id, None).await.unwrap();
    assert_eq!(rental.status, RentalStatus::Canceled);
    assert_eq!(rental.cancel_reason, Some("out_of_stock"));
}

#[tokio::test]
async fn a_cancel_happens_only_when_delivery_canceled() {
    let given = catalog().await;
    let rental = given.rent("computer", None).await.unwrap();
    let busy = RemoteFailure::Unknown {
        retry_after: Duration::from_secs(1),
    };
    given.answers(vec![Err(busy), Ok(Answer::Done(()))]);
    assert!(matches!(
        given.app.cancel(&rental.id, Some("kim")).await,
        Err(RentError::DeliveryBusy { .. })
    ));
    let unchanged = given.app.get(&rental.id, None).await.unwrap();
    assert_eq!(unchanged.status, RentalStatus::Ordered);
    let canceled = given.app.cancel(&rental.id, Some("kim")).await.unwrap();
    assert_eq!(canceled.status, RentalStatus::Canceled);
    // Canceled already: delivery is not asked again.
    given.app.cancel(&rental.id, Some("kim")).await.unwrap();
    assert_eq!(*given.delivery.1.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_lost_cancel_answer_is_completed_by_deliverys_event() {
    let given = catalog().await;
    let rental = given.rent("computer", None).await.unwrap();
    let canceled = contract::DeliveryCanceled {
        rental_id: rental.id.clone(),
        customer_id: "kim".into(),
    };
    given.deliver(&canceled, &rental.id).await;
    let rental = given.app.get(&rental.id, None).await.unwrap();
    assert_eq!(rental.status, RentalStatus::Canceled);
}

#[tokio::test]
async fn a_delivered_rental_is_returned_not_canceled() {
    let given = catalog().await;
    let rental = given.rent("computer", None).await.unwrap();
    let id = rental.id.clone();
    let delivered = contract::Delivered {
        rental_id: id.clone(),
        customer_id: "kim".into(),
    };
    given.deliver(&delivered, &id).await;
    assert!(matches!(
        given.app.cancel(&id, Some("kim")).await,
        Err(RentError::Change(ChangeError::Rejected(
            RentalError::AlreadyDelivered
        )))
    ));
    given.app.request_return(&id, Some("kim")).await.unwrap();
    let collected = contract::Collected {
        rental_id: id.clone(),
        customer_id: "kim".into(),
    };
    given.deliver(&collected, &id).await;
    assert_eq!(
        given.app.get(&id, None).await.unwrap().status,
        RentalStatus::Completed
    );
}
