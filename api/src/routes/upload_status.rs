use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use rieter::db::uploads;
use uuid::Uuid;

use super::Tag;
use crate::auth::MaybeCredentials;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::UploadView;

#[derive(ApiResponse)]
pub enum UploadStatusResponse {
    /// The upload.
    #[oai(status = 200)]
    Ok(Json<UploadView>),
}

pub struct UploadStatusApi;

#[OpenApi(tag = "Tag::Uploads")]
impl UploadStatusApi {
    /// An upload's status: `queued`, `processing`, `parsed`, `published` or `failed` (with the
    /// reason in `error`).
    #[oai(
        path = "/api/v1/uploads/:id",
        method = "get",
        operation_id = "get_upload"
    )]
    async fn get_upload(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
        id: Path<Uuid>,
    ) -> Result<UploadStatusResponse, ApiError> {
        let reader = state.auth.reader(&credentials).await?;
        let upload = uploads::find(&state.reads, id.0)
            .await
            .map_err(|e| ApiError::database("loading an upload", e))?
            .filter(|u| !reader.hidden.hides_repo(u.distro.as_str(), u.repo.as_str()))
            .ok_or_else(|| ApiError::not_found(format!("no upload with id {}", id.0)))?;
        Ok(UploadStatusResponse::Ok(Json(upload.into())))
    }
}
