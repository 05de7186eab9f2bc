//! The players' REST API: the mission board (public), achieve, the caller's achievements, one.

use crate::app::{AchieveError, MissionService};
use crate::domain::mission::{BOARD, Mission};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kernel::http::{ApiError, Caller, ErrorBody, IdempotencyKey, Json};
use kernel::owned::{BY_OWNER, OwnedApi};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// The scoping claim of players: a player sees and achieves their own missions only.
pub(crate) const PLAYER_CLAIM: &str = "player";

/// The routes.
pub(crate) fn routes(app: Arc<MissionService>) -> Router {
    Router::new()
        .route("/api/missions/catalog", get(board))
        .route("/api/missions", post(achieve))
        .with_state(app.clone())
        .merge(MISSIONS.routes(app.store()))
}

/// The player's achievements: the list and one.
const MISSIONS: OwnedApi<Mission> = OwnedApi {
    base: "/api/missions",
    plural: "missions",
    claim: PLAYER_CLAIM,
    index: BY_OWNER,
    owner: |m| m.player_id.clone(),
    show: |m| serde_json::to_value(MissionDto::from(m)).unwrap_or_default(),
};

/// The API document: these routes and the achievements' list and one.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = <ApiDoc as utoipa::OpenApi>::openapi();
    document.merge(MISSIONS.openapi("mission", "MissionDto"));
    document
}

/// `POST /api/missions` body. The player is the token's, never the body's.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AchieveRequest {
    /// A mission of the board.
    pub mission_code: String,
}

/// An achievement.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MissionDto {
    id: String,
    player_id: String,
    #[schema(value_type = String)]
    mission_code: &'static str,
    #[schema(value_type = String)]
    title: &'static str,
    #[schema(value_type = String)]
    tier: &'static str,
    points: i64,
    /// Always `Achieved`.
    #[schema(value_type = String)]
    status: &'static str,
    /// The reward allocated for it, once reward has allocated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    reward_id: Option<String>,
    achieved_at: String,
}

impl From<&Mission> for MissionDto {
    fn from(m: &Mission) -> Self {
        Self {
            id: m.id.clone(),
            player_id: m.player_id.clone(),
            mission_code: m.def.code,
            title: m.def.title_ko,
            tier: m.def.tier.as_str(),
            points: m.def.points,
            status: "Achieved",
            reward_id: m.reward_id.clone(),
            achieved_at: m.created_at.format(&Rfc3339).unwrap_or_default(),
        }
    }
}

/// A mission of the board.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct BoardDto {
    #[schema(value_type = String)]
    mission_code: &'static str,
    #[schema(value_type = String)]
    title_ko: &'static str,
    #[schema(value_type = String)]
    title_en: &'static str,
    /// `bronze`, `silver` or `gold`.
    #[schema(value_type = String)]
    tier: &'static str,
    points: i64,
}

impl From<AchieveError> for ApiError {
    fn from(error: AchieveError) -> Self {
        let message = error.to_string();
        match error {
            AchieveError::UnknownMission(_) => ApiError::unprocessable("unknown_mission", message),
            AchieveError::AlreadyAchieved => ApiError::conflict("already_achieved", message),
            AchieveError::Store(error) => ApiError::internal(error),
        }
    }
}

#[utoipa::path(get, path = "/api/missions/catalog", tag = "mission",
    summary = "The mission board and the reward each earns (public)",
    responses((status = 200, body = Vec<BoardDto>)))]
async fn board() -> Json<Vec<BoardDto>> {
    Json(
        BOARD
            .iter()
            .map(|m| BoardDto {
                mission_code: m.code,
                title_ko: m.title_ko,
                title_en: m.title_en,
                tier: m.tier.as_str(),
                points: m.points,
            })
            .collect(),
    )
}

#[utoipa::path(post, path = "/api/missions", tag = "mission",
    summary = "Achieve a mission (미션 달성): its reward is allocated and issued to the wallet",
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key, same achievement: makes retries safe")),
    request_body = AchieveRequest,
    responses((status = 201, body = MissionDto),
        (status = 403, description = "players only", body = ErrorBody),
        (status = 409, description = "already_achieved", body = ErrorBody),
        (status = 422, description = "unknown_mission, unknown field", body = ErrorBody)),
    security(("bearer" = [])))]
async fn achieve(
    State(app): State<Arc<MissionService>>,
    caller: Caller,
    IdempotencyKey(key): IdempotencyKey,
    Json(request): Json<AchieveRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let player = caller.acting_for(PLAYER_CLAIM, None)?;
    let mission = app
        .achieve(player, &request.mission_code, key.as_deref())
        .await?;
    kernel::http::record_correlation(&mission.id);
    let location = format!("/api/missions/{}", mission.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(MissionDto::from(&mission)),
    ))
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(board, achieve), components(schemas(MissionDto)))]
pub(crate) struct ApiDoc;
