//! `GET /metrics`: this api's metrics in Prometheus's text format (`rieter::metrics` names
//! them). Needs an admin key or a key with the `metrics` permission, unless `metrics_public`
//! is set.

use poem::web::Data;
use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, OpenApi};

use super::Tag;
use crate::auth::{Action, MaybeCredentials};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(ApiResponse)]
pub enum MetricsResponse {
    /// The metrics, in Prometheus's text exposition format.
    #[oai(
        status = 200,
        content_type = "text/plain; version=0.0.4; charset=utf-8"
    )]
    Ok(PlainText<String>),
}

pub struct MetricsApi;

#[OpenApi(tag = "Tag::Health")]
impl MetricsApi {
    /// This api's metrics for Prometheus: requests by operation and status with their
    /// latency, bytes served, uploads by status, job queues' depth and oldest job's age,
    /// database pool use. Each worker serves its own (parses, rebuilds, mirror syncs) on its
    /// `metrics_bind` address. Needs an admin key or a key with the `metrics` permission,
    /// unless the server sets `metrics_public`.
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
    ) -> Result<MetricsResponse, ApiError> {
        if !state.config.metrics_public {
            let key = credentials.key().ok_or_else(ApiError::key_required)?;
            let principal = state.auth.identify(key).await?;
            if !principal.may(Action::ReadMetrics) {
                return Err(ApiError::forbidden(
                    "the API key may not read metrics (it needs the `metrics` permission)",
                ));
            }
        }
        rieter::metrics::record_pool("main", &state.pool);
        rieter::metrics::record_pool("reads", &state.reads);
        rieter::metrics::record_database(&state.reads).await;
        Ok(MetricsResponse::Ok(PlainText(state.metrics.render())))
    }
}
