//! The gRPC adapter through the gateway, with the same token check: a tonic client orders, reads
//! and cancels; someone else's order is not found; the token is required.

use crate::flows::{MANIFEST, MSA};
use cafeteria_contracts::grpc::v1 as pb;
use testkit::grpc::authorized;
use testkit::system::{Options, Profile, TestSystem};
use tonic::Code;

type Client = pb::order_service_client::OrderServiceClient<testkit::grpc::Authorized>;

async fn client(system: &TestSystem, token: Option<String>) -> Client {
    Client::new(authorized(&system.gateway(), token).await)
}

fn order(key: &str) -> pb::OrderRequest {
    pb::OrderRequest {
        drink_id: "vanilla-latte".into(),
        qty: 2,
        card_number: "4242424242424242".into(),
        idempotency_key: key.into(),
    }
}

scenario!(a_grpc_client_orders_reads_and_cancels_through_the_gateway);
async fn a_grpc_client_orders_reads_and_cancels_through_the_gateway(profile: Profile) {
    let system = TestSystem::start(MSA, MANIFEST, Options::of(profile)).await;
    let kim = system.user_token("kim", "kim-password").await;
    let lee = system.user_token("lee", "lee-password").await;
    let refused = client(&system, None)
        .await
        .order(order(""))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");

    let mut kims = client(&system, Some(kim.clone())).await;
    let ordered = kims.order(order("g-1")).await.unwrap().into_inner();
    assert_eq!(
        (ordered.status.as_str(), ordered.amount),
        ("Ordered", 11_000)
    );
    let again = kims.order(order("g-1")).await.unwrap().into_inner();
    assert_eq!(again.id, ordered.id, "the same idempotency key orders once");
    let mut bad = order("");
    bad.drink_id = "espresso-tonic".into();
    let invalid = kims.order(bad).await.unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert!(
        invalid.message().starts_with("unknown_drink"),
        "{invalid:?}"
    );

    let get = pb::GetRequest {
        id: ordered.id.clone(),
    };
    let missing = client(&system, Some(lee))
        .await
        .get(get.clone())
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "lee cannot see kim's order");
    assert_eq!(kims.get(get).await.unwrap().into_inner().id, ordered.id);

    // The drink may not be queued yet: the barista's service answers the cancel whenever it is.
    let cancel = pb::CancelRequest {
        id: ordered.id.clone(),
    };
    let canceling = kims.cancel(cancel).await.unwrap().into_inner();
    assert_eq!(canceling.status, "CancelRequested");
    system
        .mypage_until(&kim, "order", &ordered.id, "canceled", |v| {
            v["orderStatus"] == "Canceled"
        })
        .await;
    system.cleanup().await;
}
