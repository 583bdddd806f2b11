use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use rieter::db::listing::uploads;

use super::Tag;
use crate::auth::MaybeCredentials;
use crate::error::ApiError;
use crate::pagination::{default_page, default_per_page, listing_window};
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
        /// Page number, from 1; `page` × `per_page` may not exceed 100000 (narrow the listing with
        /// its filters to reach further).
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "1000000"))
        )]
        page: Query<i64>,
        /// Items per page (default 50, at most 200).
        #[oai(
            default = "default_per_page",
            validator(minimum(value = "1"), maximum(value = "200"))
        )]
        per_page: Query<i64>,
    ) -> Result<UploadPageResponse, ApiError> {
        let reader = state.auth.reader(&credentials).await?;
        let found = uploads::list(
            &state.reads,
            &reader.hidden,
            status.0.map(Into::into),
            listing_window(page.0, per_page.0)?,
        )
        .await
        .map_err(|e| ApiError::database("listing uploads", e))?;
        Ok(UploadPageResponse::Ok(Json(UploadPage {
            items: found.items.into_iter().map(Into::into).collect(),
            page: page.0,
            per_page: per_page.0,
            total: found.total,
        })))
    }
}
