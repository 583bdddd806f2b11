use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::Tag;
use rieter::db::is_unavailable;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Object)]
pub struct HealthStatus {
    /// `ok`.
    pub status: String,
    /// The server's version.
    pub version: String,
}

impl HealthStatus {
    fn ok() -> Self {
        Self {
            status: "ok".to_owned(),
            version: rieter::VERSION.to_owned(),
        }
    }
}

#[derive(ApiResponse)]
pub enum HealthResponse {
    /// The server is up.
    #[oai(status = 200)]
    Ok(Json<HealthStatus>),
}

pub struct HealthApi;

#[OpenApi(tag = "Tag::Health")]
impl HealthApi {
    /// Liveness: answers 200 whenever the server can serve requests.
    #[oai(path = "/api/v1/health", method = "get", operation_id = "health")]
    async fn health(&self) -> HealthResponse {
        HealthResponse::Ok(Json(HealthStatus::ok()))
    }

    /// Readiness: 200 when the database answers, 503 when it does not.
    #[oai(path = "/api/v1/ready", method = "get", operation_id = "ready")]
    async fn ready(&self, state: Data<&AppState>) -> Result<HealthResponse, ApiError> {
        match sqlx::query("select 1").execute(&state.pool).await {
            Ok(_) => Ok(HealthResponse::Ok(Json(HealthStatus::ok()))),
            Err(err) if is_unavailable(&err) => {
                Err(ApiError::unavailable("the database is unreachable"))
            }
            Err(err) => Err(ApiError::internal("readiness check failed", err)),
        }
    }
}
