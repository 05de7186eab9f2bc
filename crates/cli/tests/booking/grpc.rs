//! The gRPC adapter through the gateway, with the same token check: a tonic client books, reads
//! and cancels; someone else's booking is not found; the token is required.

use crate::flows::{MANIFEST, MSA};
use booking_contracts::grpc::v1 as pb;
use testkit::grpc::authorized;
use testkit::system::{Options, Profile, TestSystem};
use tonic::Code;

type Client = pb::booking_service_client::BookingServiceClient<testkit::grpc::Authorized>;

async fn client(system: &TestSystem, token: Option<String>) -> Client {
    Client::new(authorized(&system.gateway(), token).await)
}

fn book(key: &str) -> pb::BookRequest {
    pb::BookRequest {
        musical_id: "elisabeth".into(),
        performance_id: "elisabeth-2030-03-15".into(),
        grade: "R".into(),
        quantity: 2,
        delivery_address: "부산시 해운대구 1".into(),
        phone: "010-9876-5432".into(),
        card_number: "4242424242424242".into(),
        idempotency_key: key.into(),
    }
}

scenario!(a_grpc_client_books_reads_and_cancels_through_the_gateway);
async fn a_grpc_client_books_reads_and_cancels_through_the_gateway(profile: Profile) {
    let system = TestSystem::start(MSA, MANIFEST, Options::of(profile)).await;
    let kim = system.user_token("kim", "kim-password").await;
    let lee = system.user_token("lee", "lee-password").await;
    let refused = client(&system, None)
        .await
        .book(book(""))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");

    let mut kims = client(&system, Some(kim.clone())).await;
    let booked = kims.book(book("g-1")).await.unwrap().into_inner();
    assert_eq!((booked.status.as_str(), booked.amount), ("Booked", 280_000));
    let again = kims.book(book("g-1")).await.unwrap().into_inner();
    assert_eq!(again.id, booked.id, "the same idempotency key books once");
    let mut bad = book("");
    bad.grade = "Z".into();
    let invalid = kims.book(bad).await.unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert!(
        invalid.message().starts_with("unknown_grade"),
        "{invalid:?}"
    );

    let get = pb::GetRequest {
        id: booked.id.clone(),
    };
    let missing = client(&system, Some(lee))
        .await
        .get(get.clone())
        .await
        .unwrap_err();
    assert_eq!(
        missing.code(),
        Code::NotFound,
        "lee cannot see kim's booking"
    );
    assert_eq!(kims.get(get).await.unwrap().into_inner().id, booked.id);

    let cancel = pb::CancelRequest {
        id: booked.id.clone(),
    };
    let canceling = kims.cancel(cancel).await.unwrap().into_inner();
    assert_eq!(canceling.status, "CancelRequested");
    system
        .mypage_until(&kim, "booking", &booked.id, "canceled", |v| {
            v["bookingStatus"] == "Canceled"
        })
        .await;
    system.cleanup().await;
}
