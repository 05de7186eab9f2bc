//! The booth API over gRPC, sharing the booth's application service with the REST adapter.

use crate::app::BoothService;
use crate::domain::rental::{Rental, RentalStatus};
use roaming_contracts::grpc::rental::v1 as pb;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The gRPC service over [`BoothService`].
pub(crate) struct GrpcBooth(pub Arc<BoothService>);

fn staff_booth<T>(request: &Request<T>) -> Option<String> {
    kernel::grpc::caller(request)
        .claim(super::http::BOOTH_CLAIM)
        .map(str::to_owned)
}

fn to_pb(r: &Rental) -> pb::Rental {
    pb::Rental {
        reservation_id: r.reservation_id.clone(),
        customer_id: r.customer_id.clone(),
        booth: r.booth.clone(),
        device_model: r.device_model.clone(),
        rental_date: r.rental_date.clone(),
        return_date: r.return_date.clone(),
        status: r.status.as_str().to_owned(),
        device_serial: r.device_serial.clone().unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl pb::booth_service_server::BoothService for GrpcBooth {
    async fn list_accepted(
        &self,
        request: Request<pb::ListAcceptedRequest>,
    ) -> Result<Response<pb::ListAcceptedResponse>, Status> {
        let own = staff_booth(&request);
        let asked = Some(request.into_inner().booth).filter(|b| !b.is_empty());
        let booth = match (own, asked) {
            (Some(own), Some(asked)) if own != asked => {
                return Err(Status::permission_denied(
                    "other_booth: staff see only their own booth",
                ));
            }
            (Some(own), _) => Some(own),
            (None, asked) => asked,
        };
        let rentals = self
            .0
            .queue(booth.as_deref(), Some(RentalStatus::Accepted))
            .await
            .map_err(|error| kernel::grpc::status(kernel::http::ApiError::internal(error)))?;
        Ok(Response::new(pb::ListAcceptedResponse {
            rentals: rentals.iter().map(to_pb).collect(),
        }))
    }

    async fn hand_out(
        &self,
        request: Request<pb::HandOutRequest>,
    ) -> Result<Response<pb::Rental>, Status> {
        let own = staff_booth(&request);
        let r = request.into_inner();
        let rental = self
            .0
            .hand_out(&r.reservation_id, &r.device_serial, own.as_deref())
            .await
            .map_err(kernel::grpc::status)?;
        Ok(Response::new(to_pb(&rental)))
    }

    async fn collect(
        &self,
        request: Request<pb::CollectRequest>,
    ) -> Result<Response<pb::Rental>, Status> {
        let own = staff_booth(&request);
        let rental = self
            .0
            .collect(&request.into_inner().reservation_id, own.as_deref())
            .await
            .map_err(kernel::grpc::status)?;
        Ok(Response::new(to_pb(&rental)))
    }
}

/// The gRPC routes: the service, gRPC health checking and reflection.
pub(crate) fn routes(app: Arc<BoothService>) -> anyhow::Result<axum::Router> {
    kernel::grpc::with_health_and_reflection(
        tonic::service::Routes::new(pb::booth_service_server::BoothServiceServer::new(
            GrpcBooth(app),
        )),
        pb::booth_service_server::SERVICE_NAME,
        roaming_contracts::grpc::DESCRIPTOR_SET,
    )
}
