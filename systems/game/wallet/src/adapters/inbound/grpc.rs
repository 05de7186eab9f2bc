//! The wallet API over gRPC: the same use cases as the REST adapter, another protocol at the
//! edge; errors map to gRPC status codes as they map to HTTP statuses.

use super::http::PLAYER_CLAIM;
use crate::app::WalletService;
use crate::domain::entry::Entry;
use game_contracts::grpc::v1 as pb;
use kernel::grpc::{caller, status};
use kernel::http::ApiError;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The gRPC service over [`WalletService`].
pub(crate) struct GrpcWallet(pub Arc<WalletService>);

fn to_pb(e: &Entry) -> pb::Entry {
    pb::Entry {
        id: e.id.clone(),
        mission_id: e.voucher.mission_id.clone(),
        reward_id: e.voucher.reward_id.clone(),
        tier: e.voucher.tier.as_str().to_owned(),
        points: e.voucher.points,
        status: e.status.as_str().to_owned(),
        gift_code: e.gift.as_ref().map(|g| g.code.clone()).unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl pb::wallet_service_server::WalletService for GrpcWallet {
    async fn list(
        &self,
        request: Request<pb::ListRequest>,
    ) -> Result<Response<pb::Entries>, Status> {
        let caller = caller(&request);
        let player = caller.acting_for(PLAYER_CLAIM, None).map_err(status)?;
        let limit = match request.get_ref().limit {
            0 => 20,
            n => n.min(100),
        };
        let entries = self
            .0
            .entries(player, 0, limit)
            .await
            .map_err(|e| status(ApiError::internal(e)))?;
        Ok(Response::new(pb::Entries {
            entries: entries.iter().map(to_pb).collect(),
        }))
    }

    async fn exchange(
        &self,
        request: Request<pb::ExchangeRequest>,
    ) -> Result<Response<pb::Entry>, Status> {
        let caller = caller(&request);
        let player = caller.acting_for(PLAYER_CLAIM, None).map_err(status)?;
        let r = request.get_ref();
        let entry = self
            .0
            .exchange(&r.entry_id, Some(player), &r.gift_code)
            .await
            .map_err(status)?;
        Ok(Response::new(to_pb(&entry)))
    }
}

/// The gRPC routes: the service, gRPC health checking and reflection.
pub(crate) fn routes(app: Arc<WalletService>) -> anyhow::Result<axum::Router> {
    kernel::grpc::with_health_and_reflection(
        tonic::service::Routes::new(pb::wallet_service_server::WalletServiceServer::new(
            GrpcWallet(app),
        )),
        pb::wallet_service_server::SERVICE_NAME,
        game_contracts::grpc::DESCRIPTOR_SET,
    )
}
