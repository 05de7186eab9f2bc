//! The gRPC inbound adapters, through the gateway with the same token check: a tonic client
//! reserves, watches the status stream and cancels; booth staff use the booth service; a second
//! client lists the services by reflection and asks the health service, as grpcurl would.

use crate::helpers::{Options, PATIENCE, Profile, System, reservation_request};
use roaming_contracts::grpc::rental::v1 as booth;
use roaming_contracts::grpc::reservation::v1 as pb;
use testkit::grpc::{Authorized, bearer, channel};
use tonic::Code;

async fn reservations(
    system: &System,
    token: Option<String>,
) -> pb::reservation_service_client::ReservationServiceClient<Authorized> {
    pb::reservation_service_client::ReservationServiceClient::with_interceptor(
        channel(&system.gateway()).await,
        bearer(token),
    )
}

async fn booths(
    system: &System,
    token: Option<String>,
) -> booth::booth_service_client::BoothServiceClient<Authorized> {
    booth::booth_service_client::BoothServiceClient::with_interceptor(
        channel(&system.gateway()).await,
        bearer(token),
    )
}

fn reserve_request(customer: &str) -> pb::ReserveRequest {
    let json = reservation_request(customer, crate::helpers::APPROVED_CARD);
    pb::ReserveRequest {
        customer_id: customer.to_owned(),
        device_model: json["deviceModel"].as_str().unwrap().to_owned(),
        country: json["country"].as_str().unwrap().to_owned(),
        rental_date: json["rentalDate"].as_str().unwrap().to_owned(),
        return_date: json["returnDate"].as_str().unwrap().to_owned(),
        booth: json["booth"].as_str().unwrap().to_owned(),
        card_number: json["cardNumber"].as_str().unwrap().to_owned(),
        idempotency_key: String::new(),
    }
}

scenario!(a_grpc_client_reserves_watches_the_status_stream_and_cancels);
async fn a_grpc_client_reserves_watches_the_status_stream_and_cancels(profile: Profile) {
    let system = System::start(Options::of(profile)).await;
    let kim = system.user_token("kim", "kim-password").await;
    let lee = system.user_token("lee", "lee-password").await;
    let staff = system.user_token("booth-icn-t1", "booth-password").await;

    // The token check applies to gRPC as to REST.
    let refused = reservations(&system, None)
        .await
        .reserve(reserve_request("kim"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let refused = reservations(&system, Some("not-a-token".to_owned()))
        .await
        .get(pb::GetRequest { id: "x".into() })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    let wrong_role = booths(&system, Some(kim.clone()))
        .await
        .list_accepted(booth::ListAcceptedRequest {
            booth: "ICN-T1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong_role.code(), Code::PermissionDenied);

    let mut client = reservations(&system, Some(kim.clone())).await;
    let reserved = client
        .reserve(reserve_request("someone-else"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reserved.status, "Reserved");
    assert_eq!(
        reserved.customer_id, "kim",
        "the customer comes from the token"
    );
    let declined = client
        .reserve(pb::ReserveRequest {
            card_number: "4000000000000002".into(),
            ..reserve_request("kim")
        })
        .await
        .unwrap_err();
    assert_eq!(declined.code(), Code::FailedPrecondition);
    assert!(
        declined.message().starts_with("card_declined"),
        "{}",
        declined.message()
    );
    let invalid = client
        .reserve(pb::ReserveRequest {
            booth: "ICN-T9".into(),
            ..reserve_request("kim")
        })
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    let someone_elses = reservations(&system, Some(lee))
        .await
        .get(pb::GetRequest {
            id: reserved.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(someone_elses.code(), Code::NotFound);

    // The booth sees it accepted.
    let queue = testkit::eventually(PATIENCE, "the booth accepted the rental", || async {
        let listed = booths(&system, Some(staff.clone()))
            .await
            .list_accepted(booth::ListAcceptedRequest {
                booth: String::new(),
            })
            .await
            .ok()?
            .into_inner();
        listed
            .rentals
            .iter()
            .any(|r| r.reservation_id == reserved.id)
            .then_some(listed)
    })
    .await;
    assert!(queue.rentals.iter().all(|r| r.booth == "ICN-T1"));

    // Watch the reservation while cancelling it: the stream shows each change and ends.
    let mut stream = client
        .watch_reservation(pb::WatchReservationRequest {
            id: reserved.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert_eq!(first.status, "Reserved");
    let canceling = client
        .cancel(pb::CancelRequest {
            id: reserved.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(canceling.status, "CancelRequested");
    let mut seen = vec![first.status.clone()];
    let finished = tokio::time::timeout(PATIENCE, async {
        while let Some(update) = stream.message().await.unwrap() {
            seen.push(update.status.clone());
        }
    })
    .await;
    assert!(
        finished.is_ok(),
        "the stream ends at a final status: {seen:?}"
    );
    assert_eq!(seen.first().map(String::as_str), Some("Reserved"));
    assert_eq!(
        seen.last().map(String::as_str),
        Some("Canceled"),
        "{seen:?}"
    );
    assert!(seen.contains(&"CancelRequested".to_owned()), "{seen:?}");

    let again = client
        .cancel(pb::CancelRequest {
            id: reserved.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        again.code(),
        Code::FailedPrecondition,
        "a canceled reservation is not canceled again"
    );
    system.cleanup().await;
}

#[tokio::test]
async fn a_second_client_lists_the_services_by_reflection_and_checks_their_health() {
    use tokio_stream::StreamExt as _;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let system = System::start(Options::default()).await;
    for (service, expected) in [
        ("reservation", "roaming.reservation.v1.ReservationService"),
        ("rental", "roaming.rental.v1.BoothService"),
    ] {
        let mut reflection = ServerReflectionClient::new(channel(&system.url(service)).await);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut answers = reflection
            .server_reflection_info(tokio_stream::iter(vec![request]))
            .await
            .unwrap()
            .into_inner();
        let answer = answers.next().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(listed)) = answer.message_response else {
            panic!("not a service list: {answer:?}");
        };
        let names: Vec<String> = listed.service.into_iter().map(|s| s.name).collect();
        for name in [
            expected,
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
        ] {
            assert!(
                names.contains(&name.to_owned()),
                "{service} lists {name}: {names:?}"
            );
        }
        let health =
            tonic_health::pb::health_client::HealthClient::new(channel(&system.url(service)).await);
        let status = testkit::eventually(PATIENCE, "health says serving", || async {
            let answer = health
                .clone()
                .check(tonic_health::pb::HealthCheckRequest {
                    service: expected.to_owned(),
                })
                .await
                .ok()?
                .into_inner();
            (answer.status
                == tonic_health::pb::health_check_response::ServingStatus::Serving as i32)
                .then_some(answer)
        })
        .await;
        assert_eq!(status.status, 1);
    }
    system.cleanup().await;
}
