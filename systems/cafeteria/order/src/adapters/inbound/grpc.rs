//! The order API over gRPC: the same use cases as the REST adapter, another protocol at the edge;
//! errors map to gRPC status codes as they map to HTTP statuses.

use super::http::{CUSTOMER_CLAIM, OrderRequest};
use crate::app::OrderService;
use crate::domain::order::DrinkOrder;
use cafeteria_contracts::grpc::v1 as pb;
use kernel::grpc::{caller, status};
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The gRPC service over [`OrderService`].
pub(crate) struct GrpcOrders(pub Arc<OrderService>);

fn to_pb(o: &DrinkOrder) -> pb::DrinkOrder {
    pb::DrinkOrder {
        id: o.id.clone(),
        customer_id: o.customer_id.clone(),
        drink_id: o.drink.id.to_owned(),
        qty: o.qty,
        amount: o.amount(),
        status: o.status.as_str().to_owned(),
        failure_reason: o.failure.clone().unwrap_or_default(),
        version: o.version,
    }
}

#[tonic::async_trait]
impl pb::order_service_server::OrderService for GrpcOrders {
    async fn order(
        &self,
        request: Request<pb::OrderRequest>,
    ) -> Result<Response<pb::DrinkOrder>, Status> {
        let caller = caller(&request);
        let customer = caller.acting_for(CUSTOMER_CLAIM, None).map_err(status)?;
        let r = request.into_inner();
        let key = Some(r.idempotency_key).filter(|k| !k.is_empty());
        let command = OrderRequest {
            customer_id: None,
            drink_id: r.drink_id,
            qty: r.qty,
            card_number: r.card_number,
        }
        .command(customer, key)
        .map_err(status)?;
        let order = self.0.order(command).await.map_err(status)?;
        Ok(Response::new(to_pb(&order)))
    }

    async fn get(
        &self,
        request: Request<pb::GetRequest>,
    ) -> Result<Response<pb::DrinkOrder>, Status> {
        let caller = caller(&request);
        let order = self
            .0
            .get(&request.get_ref().id, caller.claim(CUSTOMER_CLAIM))
            .await
            .map_err(status)?;
        Ok(Response::new(to_pb(&order)))
    }

    async fn cancel(
        &self,
        request: Request<pb::CancelRequest>,
    ) -> Result<Response<pb::DrinkOrder>, Status> {
        let caller = caller(&request);
        let order = self
            .0
            .cancel(&request.get_ref().id, caller.claim(CUSTOMER_CLAIM))
            .await
            .map_err(status)?;
        Ok(Response::new(to_pb(&order)))
    }
}

/// The gRPC routes: the service, gRPC health checking and reflection.
pub(crate) fn routes(app: Arc<OrderService>) -> anyhow::Result<axum::Router> {
    kernel::grpc::with_health_and_reflection(
        tonic::service::Routes::new(pb::order_service_server::OrderServiceServer::new(
            GrpcOrders(app),
        )),
        pb::order_service_server::SERVICE_NAME,
        cafeteria_contracts::grpc::DESCRIPTOR_SET,
    )
}
