//! The gRPC adapter through the gateway, with the same token check: a tonic client rents, reads
//! and cancels (delivery cancels synchronously); an unknown product is an invalid argument;
//! someone else's rental is not found.

use crate::flows::{MANIFEST, MSA, registered, rental_until, stock_until};
use office_contracts::grpc::v1 as pb;
use testkit::grpc::authorized;
use testkit::system::{Options, TestSystem};
use tonic::Code;

type Client = pb::rental_service_client::RentalServiceClient<testkit::grpc::Authorized>;

#[tokio::test]
async fn a_grpc_client_rents_reads_and_cancels_through_the_gateway() {
    let system = TestSystem::start(MSA, MANIFEST, Options::default()).await;
    let kim = system.user_token("kim", "kim-password").await;
    let lee = system.user_token("lee", "lee-password").await;
    let team = system.user_token("product", "product-password").await;
    let printer = registered(&system, &team, "printer", 6).await;
    let client = |token: Option<String>| {
        let gateway = system.gateway();
        async move { Client::new(authorized(&gateway, token).await) }
    };
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::hours(33)).date();
    let rent = |product: &str, key: &str| pb::RentRequest {
        product_id: product.into(),
        qty: 2,
        from: tomorrow.to_string(),
        to: (tomorrow + time::Duration::days(2)).to_string(),
        idempotency_key: key.into(),
    };
    let refused = client(None)
        .await
        .rent(rent(&printer, ""))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");

    let mut kims = client(Some(kim.clone())).await;
    let rental = kims.rent(rent(&printer, "g-1")).await.unwrap().into_inner();
    assert_eq!(
        (rental.status.as_str(), rental.amount),
        ("Ordered", 5_000 * 2 * 3)
    );
    let again = kims.rent(rent(&printer, "g-1")).await.unwrap().into_inner();
    assert_eq!(again.id, rental.id, "the same idempotency key rents once");
    let unknown = kims.rent(rent("product-22", "")).await.unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument);
    assert!(
        unknown.message().starts_with("unknown_product"),
        "{unknown:?}"
    );

    let get = pb::GetRequest {
        id: rental.id.clone(),
    };
    let missing = client(Some(lee)).await.get(get.clone()).await.unwrap_err();
    assert_eq!(
        missing.code(),
        Code::NotFound,
        "lee cannot see kim's rental"
    );
    assert_eq!(kims.get(get).await.unwrap().into_inner().id, rental.id);

    rental_until(&system, &kim, &rental.id, "Scheduled").await;
    let cancel = pb::CancelRequest {
        id: rental.id.clone(),
    };
    let canceled = kims.cancel(cancel).await.unwrap().into_inner();
    assert_eq!(
        (canceled.status.as_str(), canceled.cancel_reason.as_str()),
        ("Canceled", "customer")
    );
    stock_until(&system, &printer, |n| n == 6).await;
    system.cleanup().await;
}
