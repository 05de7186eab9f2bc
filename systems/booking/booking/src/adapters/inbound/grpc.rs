//! The booking API over gRPC: the same use cases as the REST adapter, another protocol at the
//! edge; errors map to gRPC status codes as they map to HTTP statuses.

use super::http::{BookRequest, CUSTOMER_CLAIM};
use crate::app::BookingService;
use crate::domain::booking::Booking;
use booking_contracts::grpc::v1 as pb;
use kernel::grpc::{caller, status};
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The gRPC service over [`BookingService`].
pub(crate) struct GrpcBookings(pub Arc<BookingService>);

fn to_pb(b: &Booking) -> pb::Booking {
    let seats = &b.order.seats;
    pb::Booking {
        id: b.id.clone(),
        customer_id: b.customer_id.clone(),
        musical_id: seats.musical.id.to_owned(),
        performance_id: seats.performance.id.to_owned(),
        grade: seats.grade.grade.to_owned(),
        quantity: b.order.quantity,
        amount: b.order.amount(),
        status: b.status.as_str().to_owned(),
        failure_reason: b.failure.clone().unwrap_or_default(),
        version: b.version,
    }
}

#[tonic::async_trait]
impl pb::booking_service_server::BookingService for GrpcBookings {
    async fn book(
        &self,
        request: Request<pb::BookRequest>,
    ) -> Result<Response<pb::Booking>, Status> {
        let caller = caller(&request);
        let customer = caller.acting_for(CUSTOMER_CLAIM, None).map_err(status)?;
        let r = request.into_inner();
        let key = Some(r.idempotency_key).filter(|k| !k.is_empty());
        let command = BookRequest {
            customer_id: None,
            musical_id: r.musical_id,
            performance_id: r.performance_id,
            grade: r.grade,
            quantity: r.quantity,
            delivery_address: r.delivery_address,
            phone: r.phone,
            card_number: r.card_number,
        }
        .command(customer, key)
        .map_err(status)?;
        let booking = self.0.book(command).await.map_err(status)?;
        Ok(Response::new(to_pb(&booking)))
    }

    async fn get(&self, request: Request<pb::GetRequest>) -> Result<Response<pb::Booking>, Status> {
        let caller = caller(&request);
        let customer = caller.claim(CUSTOMER_CLAIM);
        let booking = self
            .0
            .get(&request.get_ref().id, customer)
            .await
            .map_err(status)?;
        Ok(Response::new(to_pb(&booking)))
    }

    async fn cancel(
        &self,
        request: Request<pb::CancelRequest>,
    ) -> Result<Response<pb::Booking>, Status> {
        let caller = caller(&request);
        let customer = caller.claim(CUSTOMER_CLAIM);
        let booking = self
            .0
            .cancel(&request.get_ref().id, customer)
            .await
            .map_err(status)?;
        Ok(Response::new(to_pb(&booking)))
    }
}

/// The gRPC routes: the service, gRPC health checking and reflection.
pub(crate) fn routes(app: Arc<BookingService>) -> anyhow::Result<axum::Router> {
    kernel::grpc::with_health_and_reflection(
        tonic::service::Routes::new(pb::booking_service_server::BookingServiceServer::new(
            GrpcBookings(app),
        )),
        pb::booking_service_server::SERVICE_NAME,
        booking_contracts::grpc::DESCRIPTOR_SET,
    )
}
