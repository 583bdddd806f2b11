//! Packages: listing, one package, and its file list.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use rieter::db::listing::Counting;
use rieter::db::listing::packages::{self, Filter, SortKey};

use super::Tag;
use crate::auth::MaybeCredentials;
use crate::error::ApiError;
use crate::pagination::{PageNumber, PageRequest, PerPage, window};
use crate::state::AppState;
use crate::views::{FilePage, PackagePage, PackageSort, PackageView, SortOrder};

#[derive(ApiResponse)]
pub enum PackagePageResponse {
    #[oai(status = 200)]
    Ok(Json<PackagePage>),
}

#[derive(ApiResponse)]
pub enum PackageResponse {
    #[oai(status = 200)]
    Ok(Json<PackageView>),
}

#[derive(ApiResponse)]
pub enum FilePageResponse {
    #[oai(status = 200)]
    Ok(Json<FilePage>),
}

pub struct PackagesApi;

#[OpenApi(tag = "Tag::Catalogue")]
impl PackagesApi {
    /// The packages of the catalogue (the current version of each), filtered and sorted.
    /// Packages of private distributions appear only to keys with access.
    #[oai(
        path = "/api/v1/packages",
        method = "get",
        operation_id = "list_packages"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
        /// Only packages of this distribution.
        #[oai(validator(max_length = 255))]
        distro: Query<Option<String>>,
        /// Only packages of repositories with this name.
        #[oai(validator(max_length = 255))]
        repo: Query<Option<String>>,
        /// Only packages of this architecture (`any` for architecture-independent ones).
        #[oai(validator(max_length = 255))]
        arch: Query<Option<String>>,
        /// Only packages with exactly this name.
        #[oai(validator(max_length = 255))]
        name: Query<Option<String>>,
        /// Only packages whose name, description or an entry of `provides` contains this text,
        /// ignoring case. `%`, `_` and `\` are ordinary characters here.
        #[oai(validator(max_length = 255))]
        q: Query<Option<String>>,
        /// Order by `name` (the default; bytewise), `build_date` or `relevance` (exact name
        /// matches of `q` first); ties are broken by id.
        sort: Query<Option<PackageSort>>,
        /// `asc` (the default) or `desc`.
        order: Query<Option<SortOrder>>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Result<PackagePageResponse, ApiError> {
        let paging = PageRequest::new(page.0, per_page.0);
        let reader = state.auth.reader(&credentials).await?;
        let filter = Filter {
            distro: text_filter("distro", distro.0)?,
            repo: text_filter("repo", repo.0)?,
            arch: text_filter("arch", arch.0)?,
            name: text_filter("name", name.0)?,
            query: text_filter("q", q.0)?,
            sort: match sort.0.unwrap_or_default() {
                PackageSort::Name => SortKey::Name,
                PackageSort::BuildDate => SortKey::BuildDate,
                PackageSort::Relevance => SortKey::Relevance,
            },
            descending: order.0 == Some(SortOrder::Desc),
        };
        let found = packages::list(
            &state.reads,
            &reader.hidden,
            &filter,
            paging.listing_window()?,
            Counting::Exact,
        )
        .await
        .map_err(|e| ApiError::database("listing packages", e))?;
        Ok(PackagePageResponse::Ok(Json(PackagePage {
            items: found.items.into_iter().map(Into::into).collect(),
            page: paging.page,
            per_page: paging.per_page,
            total: found.total,
        })))
    }

    /// A package: every field, its relations and where to download it.
    #[oai(
        path = "/api/v1/packages/:id",
        method = "get",
        operation_id = "get_package"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
        id: Path<i64>,
    ) -> Result<PackageResponse, ApiError> {
        let reader = state.auth.reader(&credentials).await?;
        let found = packages::find(&state.reads, &reader.hidden, id.0)
            .await
            .map_err(|e| ApiError::database("loading a package", e))?
            .ok_or_else(|| ApiError::not_found(format!("no package with id {}", id.0)))?;
        Ok(PackageResponse::Ok(Json(found.into())))
    }

    /// The files a package installs, in the order of its `files` database entry (directories
    /// end with `/`).
    #[oai(
        path = "/api/v1/packages/:id/files",
        method = "get",
        operation_id = "list_package_files"
    )]
    async fn files(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
        id: Path<i64>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Result<FilePageResponse, ApiError> {
        let paging = PageRequest::new(page.0, per_page.0);
        let reader = state.auth.reader(&credentials).await?;
        let found = packages::files(
            &state.reads,
            &reader.hidden,
            id.0,
            window(paging.page, paging.per_page),
        )
        .await
        .map_err(|e| ApiError::database("listing a package's files", e))?
        .ok_or_else(|| ApiError::not_found(format!("no package with id {}", id.0)))?;
        Ok(FilePageResponse::Ok(Json(FilePage {
            items: found.paths,
            page: paging.page,
            per_page: paging.per_page,
            total: found.total,
        })))
    }
}

/// A text filter, refused when it holds a NUL character (no text in the catalogue can, and
/// Postgres refuses it in a parameter).
fn text_filter(param: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if v.contains('\0') => Err(ApiError::bad_request(format!(
            "`{param}` may not contain a NUL character"
        ))),
        other => Ok(other),
    }
}
