//! The reservation API over gRPC: the same application service as the REST adapter, another
//! protocol at the edge. Domain errors map to gRPC status codes as they map to HTTP statuses.

use super::http::ReserveRequest;
use crate::app::ReservationService;
use crate::domain::reservation::{Reservation, ReservationStatus};
use crate::domain::values::format_date;
use futures_util::Stream;
use roaming_contracts::grpc::reservation::v1 as pb;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tonic::{Request, Response, Status};

/// The gRPC service over [`ReservationService`].
pub(crate) struct GrpcReservations(pub Arc<ReservationService>);

fn customer<T>(request: &Request<T>) -> Option<String> {
    kernel::grpc::caller(request)
        .claim(super::http::CUSTOMER_CLAIM)
        .map(str::to_owned)
}

fn to_pb(r: &Reservation) -> pb::Reservation {
    pb::Reservation {
        id: r.id.clone(),
        customer_id: r.customer.as_str().to_owned(),
        device_model: r.terms.device_model.id.to_owned(),
        country: r.terms.country.code.to_owned(),
        rental_date: format_date(r.terms.period.rental_date()),
        return_date: format_date(r.terms.period.return_date()),
        booth: r.terms.booth.code.to_owned(),
        amount: r.terms.amount.value(),
        status: r.status.as_str().to_owned(),
        payment_id: r.payment_id.clone().unwrap_or_default(),
        failure_reason: r
            .failure
            .as_ref()
            .map(|f| f.code().to_owned())
            .unwrap_or_default(),
        cancel_refused_reason: r.cancel_refused_reason.clone().unwrap_or_default(),
        handed_out: r.handed_out,
        version: r.version,
    }
}

fn is_final(status: ReservationStatus) -> bool {
    matches!(
        status,
        ReservationStatus::ReserveFailed
            | ReservationStatus::Canceled
            | ReservationStatus::Completed
    )
}

/// How often a watcher looks again when no change was announced in this process (changes made
/// by another replica are not announced here).
const WATCH_POLL: Duration = Duration::from_millis(500);

#[tonic::async_trait]
impl pb::reservation_service_server::ReservationService for GrpcReservations {
    async fn reserve(
        &self,
        request: Request<pb::ReserveRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let authenticated = customer(&request);
        let r = request.into_inner();
        let reservation = self
            .0
            .reserve(
                ReserveRequest {
                    customer_id: None,
                    device_model: r.device_model,
                    country: r.country,
                    rental_date: r.rental_date,
                    return_date: r.return_date,
                    booth: r.booth,
                    card_number: r.card_number,
                }
                .command(
                    &authenticated.unwrap_or(r.customer_id),
                    Some(r.idempotency_key.as_str()).filter(|k| !k.is_empty()),
                )
                .map_err(kernel::grpc::status)?,
            )
            .await
            .map_err(kernel::grpc::status)?;
        Ok(Response::new(to_pb(&reservation)))
    }

    async fn get(
        &self,
        request: Request<pb::GetRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let who = customer(&request);
        let reservation = self
            .0
            .get(&request.into_inner().id, who.as_deref())
            .await
            .map_err(kernel::grpc::status)?;
        Ok(Response::new(to_pb(&reservation)))
    }

    async fn cancel(
        &self,
        request: Request<pb::CancelRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let who = customer(&request);
        let reservation = self
            .0
            .cancel(&request.into_inner().id, who.as_deref())
            .await
            .map_err(kernel::grpc::status)?;
        Ok(Response::new(to_pb(&reservation)))
    }

    async fn r#return(
        &self,
        request: Request<pb::ReturnRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        let who = customer(&request);
        let reservation = self
            .0
            .return_device(&request.into_inner().id, who.as_deref())
            .await
            .map_err(kernel::grpc::status)?;
        Ok(Response::new(to_pb(&reservation)))
    }

    type WatchReservationStream =
        Pin<Box<dyn Stream<Item = Result<pb::Reservation, Status>> + Send + 'static>>;

    async fn watch_reservation(
        &self,
        request: Request<pb::WatchReservationRequest>,
    ) -> Result<Response<Self::WatchReservationStream>, Status> {
        let who = customer(&request);
        let id = request.into_inner().id;
        let app = self.0.clone();
        let changes = app.changes();
        // The first look answers NOT_FOUND at once rather than as a stream error.
        let first = app
            .get(&id, who.as_deref())
            .await
            .map_err(kernel::grpc::status)?;
        let state = (app, id, who, changes, Some(first), 0u64, false);
        let stream = futures_util::stream::unfold(
            state,
            |(app, id, who, mut changes, mut pending, last, done)| async move {
                if done {
                    return None;
                }
                loop {
                    let current = match pending.take() {
                        Some(current) => current,
                        None => {
                            tokio::select! {
                                _ = async {
                                    loop {
                                        match changes.recv().await {
                                            Ok(changed) if changed == id => return,
                                            Ok(_) => {}
                                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                                            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                                                std::future::pending::<()>().await
                                            }
                                        }
                                    }
                                } => {}
                                _ = tokio::time::sleep(WATCH_POLL) => {}
                            }
                            match app.get(&id, who.as_deref()).await {
                                Ok(current) => current,
                                Err(error) => {
                                    return Some((
                                        Err(kernel::grpc::status(error)),
                                        (app, id, who, changes, None, last, true),
                                    ));
                                }
                            }
                        }
                    };
                    if current.version > last {
                        let finished = is_final(current.status);
                        let version = current.version;
                        return Some((
                            Ok(to_pb(&current)),
                            (app, id, who, changes, None, version, finished),
                        ));
                    }
                }
            },
        );
        Ok(Response::new(Box::pin(stream)))
    }
}

/// The gRPC routes: the service, gRPC health checking and reflection.
pub(crate) fn routes(app: Arc<ReservationService>) -> anyhow::Result<axum::Router> {
    kernel::grpc::with_health_and_reflection(
        tonic::service::Routes::new(
            pb::reservation_service_server::ReservationServiceServer::new(GrpcReservations(app)),
        ),
        pb::reservation_service_server::SERVICE_NAME,
        roaming_contracts::grpc::DESCRIPTOR_SET,
    )
}
