//! The gRPC adapter through the gateway, with the same token check: a tonic client lists its
//! wallet and exchanges an entry; a low tier is a failed precondition.

use crate::flows::{MANIFEST, MSA, achieved, entry_of};
use game_contracts::grpc::v1 as pb;
use testkit::grpc::authorized;
use testkit::system::{Options, TestSystem};
use tonic::Code;

type Client = pb::wallet_service_client::WalletServiceClient<testkit::grpc::Authorized>;

#[tokio::test]
async fn a_grpc_client_lists_and_exchanges_through_the_gateway() {
    let system = TestSystem::start(MSA, MANIFEST, Options::default()).await;
    let kim = system.user_token("kim", "kim-password").await;
    let refused = Client::new(authorized(&system.gateway(), None).await)
        .list(pb::ListRequest { limit: 10 })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");

    let mission = achieved(&system, &kim, "boss-raid").await;
    entry_of(&system, &kim, &mission).await;
    let mut client = Client::new(authorized(&system.gateway(), Some(kim)).await);
    let entries = client
        .list(pb::ListRequest { limit: 10 })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].tier.as_str(), entries[0].status.as_str()),
        ("gold", "Issued")
    );
    let exchange = |gift: &str| pb::ExchangeRequest {
        entry_id: entries[0].id.clone(),
        gift_code: gift.into(),
    };
    let unknown = client.exchange(exchange("yacht")).await.unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument, "{unknown:?}");
    let done = client
        .exchange(exchange("game-console"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (done.status.as_str(), done.gift_code.as_str()),
        ("Exchanged", "game-console")
    );
    let again = client.exchange(exchange("game-console")).await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");
    assert!(
        again.message().starts_with("already_exchanged"),
        "{again:?}"
    );
    system.cleanup().await;
}
