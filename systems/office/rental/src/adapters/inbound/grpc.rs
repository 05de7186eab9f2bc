//! The rental API over gRPC: the same use cases as the REST adapter, another protocol at the
//! edge; errors map to gRPC status codes as they map to HTTP statuses.

use super::http::{CUSTOMER_CLAIM, RentRequest};
use crate::adapters::outbound::stored::day;
use crate::app::RentalService;
use crate::domain::rental::Rental;
use kernel::grpc::{caller, status};
use office_contracts::grpc::v1 as pb;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The gRPC service over [`RentalService`].
pub(crate) struct GrpcRentals(pub Arc<RentalService>);

fn to_pb(r: &Rental) -> pb::Rental {
    pb::Rental {
        id: r.id.clone(),
        customer_id: r.customer_id.clone(),
        product_id: r.item.product_id.clone(),
        product_name: r.item.product_name.clone(),
        qty: r.item.qty,
        from: day(r.period.from),
        to: day(r.period.to),
        amount: r.amount(),
        status: r.status.as_str().to_owned(),
        cancel_reason: r.cancel_reason.unwrap_or_default().to_owned(),
        version: r.version,
    }
}

#[tonic::async_trait]
impl pb::rental_service_server::RentalService for GrpcRentals {
    async fn rent(
        &self,
        request: Request<pb::RentRequest>,
    ) -> Result<Response<pb::Rental>, Status> {
        let caller = caller(&request);
        let customer = caller.acting_for(CUSTOMER_CLAIM, None).map_err(status)?;
        let r = request.into_inner();
        let key = Some(r.idempotency_key).filter(|k| !k.is_empty());
        let command = RentRequest {
            customer_id: None,
            product_id: r.product_id,
            qty: r.qty,
            from: r.from,
            to: r.to,
        }
        .command(customer, key)
        .map_err(status)?;
        let rental = self.0.rent(command).await.map_err(status)?;
        Ok(Response::new(to_pb(&rental)))
    }

    async fn get(&self, request: Request<pb::GetRequest>) -> Result<Response<pb::Rental>, Status> {
        let caller = caller(&request);
        let rental = self
            .0
            .get(&request.get_ref().id, caller.claim(CUSTOMER_CLAIM))
            .await
            .map_err(status)?;
        Ok(Response::new(to_pb(&rental)))
    }

    async fn cancel(
        &self,
        request: Request<pb::CancelRequest>,
    ) -> Result<Response<pb::Rental>, Status> {
        let caller = caller(&request);
        let rental = self
            .0
            .cancel(&request.get_ref().id, caller.claim(CUSTOMER_CLAIM))
            .await
            .map_err(status)?;
        Ok(Response::new(to_pb(&rental)))
    }
}

/// The gRPC routes: the service, gRPC health checking and reflection.
pub(crate) fn routes(app: Arc<RentalService>) -> anyhow::Result<axum::Router> {
    kernel::grpc::with_health_and_reflection(
        tonic::service::Routes::new(pb::rental_service_server::RentalServiceServer::new(
            GrpcRentals(app),
        )),
        pb::rental_service_server::SERVICE_NAME,
        office_contracts::grpc::DESCRIPTOR_SET,
    )
}
