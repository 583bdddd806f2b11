//! Distributions and their repositories.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use rieter::db::listing::distros;
use rieter::names::{DistroName, RepoName};

use super::Tag;
use crate::auth::MaybeCredentials;
use crate::error::ApiError;
use crate::pagination::{PageNumber, PageRequest, PerPage};
use crate::state::AppState;
use crate::views::{DistroPage, DistroView, RepoArchView, RepoDetailView, RepoPage};

#[derive(ApiResponse)]
pub enum DistroPageResponse {
    #[oai(status = 200)]
    Ok(Json<DistroPage>),
}

#[derive(ApiResponse)]
pub enum DistroResponse {
    #[oai(status = 200)]
    Ok(Json<DistroView>),
}

#[derive(ApiResponse)]
pub enum RepoPageResponse {
    #[oai(status = 200)]
    Ok(Json<RepoPage>),
}

#[derive(ApiResponse)]
pub enum RepoResponse {
    #[oai(status = 200)]
    Ok(Json<RepoDetailView>),
}

pub struct DistrosApi;

#[OpenApi(tag = "Tag::Catalogue")]
impl DistrosApi {
    /// The distributions, by name. Private distributions appear only to keys with access.
    #[oai(
        path = "/api/v1/distros",
        method = "get",
        operation_id = "list_distros"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Result<DistroPageResponse, ApiError> {
        let paging = PageRequest::new(page.0, per_page.0);
        let reader = state.auth.reader(&credentials).await?;
        let found = distros::list(&state.reads, &reader.hidden, paging.listing_window()?)
            .await
            .map_err(|e| ApiError::database("listing distributions", e))?;
        Ok(DistroPageResponse::Ok(Json(DistroPage {
            items: found.items.into_iter().map(Into::into).collect(),
            page: paging.page,
            per_page: paging.per_page,
            total: found.total,
        })))
    }

    /// A distribution.
    #[oai(
        path = "/api/v1/distros/:distro",
        method = "get",
        operation_id = "get_distro"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
        distro: Path<String>,
    ) -> Result<DistroResponse, ApiError> {
        let reader = state.auth.reader(&credentials).await?;
        let missing = || ApiError::not_found(format!("no distribution {}", distro.0));
        // A name that could not exist is simply not found.
        DistroName::parse(&distro).map_err(|_| missing())?;
        reader.check_named(&distro, missing)?;
        let found = distros::find(&state.reads, &reader.hidden, &distro)
            .await
            .map_err(|e| ApiError::database("loading a distribution", e))?
            .ok_or_else(missing)?;
        Ok(DistroResponse::Ok(Json(found.into())))
    }

    /// The repositories of a distribution, by name.
    #[oai(
        path = "/api/v1/distros/:distro/repos",
        method = "get",
        operation_id = "list_repos"
    )]
    async fn repos(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
        distro: Path<String>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Result<RepoPageResponse, ApiError> {
        let paging = PageRequest::new(page.0, per_page.0);
        let reader = state.auth.reader(&credentials).await?;
        let missing = || ApiError::not_found(format!("no distribution {}", distro.0));
        // A name that could not exist is simply not found.
        DistroName::parse(&distro).map_err(|_| missing())?;
        reader.check_named(&distro, missing)?;
        let found = distros::repos(
            &state.reads,
            &reader.hidden,
            &distro,
            paging.listing_window()?,
        )
        .await
        .map_err(|e| ApiError::database("listing repositories", e))?
        .ok_or_else(missing)?;
        Ok(RepoPageResponse::Ok(Json(RepoPage {
            items: found.items.into_iter().map(Into::into).collect(),
            page: paging.page,
            per_page: paging.per_page,
            total: found.total,
        })))
    }

    /// A repository: its architectures, how many packages each database lists, and when each
    /// was last published.
    #[oai(
        path = "/api/v1/distros/:distro/repos/:repo",
        method = "get",
        operation_id = "get_repo"
    )]
    async fn repo(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
        distro: Path<String>,
        repo: Path<String>,
    ) -> Result<RepoResponse, ApiError> {
        let reader = state.auth.reader(&credentials).await?;
        let missing = || ApiError::not_found(format!("no repository {}/{}", distro.0, repo.0));
        // Names that could not exist are simply not found.
        DistroName::parse(&distro).map_err(|_| missing())?;
        RepoName::parse(&repo).map_err(|_| missing())?;
        reader.check_repo(&distro, &repo, missing)?;
        let (found, arches) = distros::repo(&state.reads, &reader.hidden, &distro, &repo)
            .await
            .map_err(|e| ApiError::database("loading a repository", e))?
            .ok_or_else(missing)?;
        let arches = arches
            .into_iter()
            .map(|a| RepoArchView::new(&found.distro, &found.name, a))
            .collect();
        Ok(RepoResponse::Ok(Json(RepoDetailView {
            distro: found.distro,
            name: found.name,
            created_at: found.created_at,
            package_count: found.package_count,
            arches,
        })))
    }
}
