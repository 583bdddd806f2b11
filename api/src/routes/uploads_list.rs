use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use rieter::db::listing::uploads;

use super::Tag;
use crate::auth::MaybeCredentials;
use crate::error::ApiError;
use crate::pagination::{PageNumber, PageRequest, PerPage};
use crate::state::AppState;
use crate::views::{UploadPage, UploadStatusView};

#[derive(ApiResponse)]
pub enum UploadPageResponse {
    #[oai(status = 200)]
    Ok(Json<UploadPage>),
}

pub struct UploadsListApi;

#[OpenApi(tag = "Tag::Uploads")]
impl UploadsListApi {
    /// Uploads, newest first. Uploads to private distributions appear only to keys with access.
    #[oai(
        path = "/api/v1/uploads",
        method = "get",
        operation_id = "list_uploads"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
        /// Only uploads with this status.
        status: Query<Option<UploadStatusView>>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Result<UploadPageResponse, ApiError> {
        let paging = PageRequest::new(page.0, per_page.0);
        let reader = state.auth.reader(&credentials).await?;
        let found = uploads::list(
            &state.reads,
            &reader.hidden,
            status.0.map(Into::into),
            paging.listing_window()?,
        )
        .await
        .map_err(|e| ApiError::database("listing uploads", e))?;
        Ok(UploadPageResponse::Ok(Json(UploadPage {
            items: found.items.into_iter().map(Into::into).collect(),
            page: paging.page,
            per_page: paging.per_page,
            total: found.total,
        })))
    }
}
