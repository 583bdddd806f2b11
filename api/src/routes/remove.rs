//! Removing packages, architectures, repositories and distributions.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{ApiResponse, OpenApi};
use rieter::names::{ArchName, DistroName, NameError, PackageName, RepoName};
use rieter::removal;

use super::Tag;
use crate::auth::{Action, Credentials};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(ApiResponse)]
pub enum PackageRemoved {
    /// Removed from the catalogue; the repository databases are regenerated shortly.
    #[oai(status = 202)]
    Accepted,
}

#[derive(ApiResponse)]
pub enum TreeRemoved {
    /// Removed, with its databases and package files (no longer served from now on).
    #[oai(status = 204)]
    Removed,
}

pub struct RemoveApi;

#[OpenApi(tag = "Tag::Repository")]
impl RemoveApi {
    /// Remove a package from a repository (architecture-independent packages under arch `any`).
    #[oai(
        path = "/:distro/:repo/:arch/:name",
        method = "delete",
        operation_id = "remove_package"
    )]
    async fn remove_package(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        distro: Path<String>,
        repo: Path<String>,
        arch: Path<String>,
        name: Path<String>,
    ) -> Result<PackageRemoved, ApiError> {
        let (distro, repo, arch) = (distro_name(&distro)?, repo_name(&repo)?, arch_name(&arch)?);
        let package = PackageName::parse(&name).map_err(not_found)?;
        let actor = state
            .auth
            .authorize(
                &credentials,
                Action::Remove {
                    distro: &distro,
                    repo: Some(&repo),
                },
            )
            .await?;
        let removed =
            removal::remove_package(&state.pool, &distro, &repo, &arch, package.as_str(), &actor)
                .await
                .map_err(|e| removal_error("removing a package", e))?
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "no package {} ({arch}) in {distro}/{repo}",
                        name.0
                    ))
                })?;
        tracing::info!(%distro, %repo, %arch, package = %name.0, removed, actor.kind = actor.kind().as_str(), actor.prefix = actor.prefix(), "package removed");
        Ok(PackageRemoved::Accepted)
    }

    /// Remove an architecture of a repository with its packages (`any`: the repository's
    /// architecture-independent packages).
    #[oai(
        path = "/:distro/:repo/:arch",
        method = "delete",
        operation_id = "remove_arch"
    )]
    async fn remove_arch(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        distro: Path<String>,
        repo: Path<String>,
        arch: Path<String>,
    ) -> Result<TreeRemoved, ApiError> {
        let (distro, repo, arch) = (distro_name(&distro)?, repo_name(&repo)?, arch_name(&arch)?);
        let actor = state
            .auth
            .authorize(
                &credentials,
                Action::Remove {
                    distro: &distro,
                    repo: Some(&repo),
                },
            )
            .await?;
        let removed = removal::remove_arch(&state.pool, &distro, &repo, &arch, &actor)
            .await
            .map_err(|e| removal_error("removing an architecture", e))?
            .ok_or_else(|| {
                ApiError::not_found(format!("no architecture {arch} in {distro}/{repo}"))
            })?;
        tracing::info!(%distro, %repo, %arch, packages = removed, actor.kind = actor.kind().as_str(), actor.prefix = actor.prefix(), "architecture removed");
        Ok(TreeRemoved::Removed)
    }

    /// Remove a repository with everything in it.
    #[oai(
        path = "/:distro/:repo",
        method = "delete",
        operation_id = "remove_repo"
    )]
    async fn remove_repo(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        distro: Path<String>,
        repo: Path<String>,
    ) -> Result<TreeRemoved, ApiError> {
        let (distro, repo) = (distro_name(&distro)?, repo_name(&repo)?);
        let actor = state
            .auth
            .authorize(
                &credentials,
                Action::Remove {
                    distro: &distro,
                    repo: Some(&repo),
                },
            )
            .await?;
        let removed = removal::remove_repo(&state.pool, &distro, &repo, &actor)
            .await
            .map_err(|e| ApiError::database("removing a repository", e))?
            .ok_or_else(|| ApiError::not_found(format!("no repository {distro}/{repo}")))?;
        tracing::info!(%distro, %repo, packages = removed, actor.kind = actor.kind().as_str(), actor.prefix = actor.prefix(), "repository removed");
        Ok(TreeRemoved::Removed)
    }

    /// Remove a distribution with all its repositories.
    #[oai(path = "/:distro", method = "delete", operation_id = "remove_distro")]
    async fn remove_distro(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        distro: Path<String>,
    ) -> Result<TreeRemoved, ApiError> {
        let distro = distro_name(&distro)?;
        let actor = state
            .auth
            .authorize(
                &credentials,
                Action::Remove {
                    distro: &distro,
                    repo: None,
                },
            )
            .await?;
        let removed = removal::remove_distro(&state.pool, &distro, &actor)
            .await
            .map_err(|e| ApiError::database("removing a distribution", e))?
            .ok_or_else(|| ApiError::not_found(format!("no distribution {distro}")))?;
        tracing::info!(%distro, packages = removed, actor.kind = actor.kind().as_str(), actor.prefix = actor.prefix(), "distribution removed");
        Ok(TreeRemoved::Removed)
    }
}

/// Names that cannot exist are not found.
fn not_found(err: NameError) -> ApiError {
    ApiError::not_found(err.to_string())
}

fn distro_name(name: &str) -> Result<DistroName, ApiError> {
    DistroName::parse(name).map_err(not_found)
}

fn repo_name(name: &str) -> Result<RepoName, ApiError> {
    RepoName::parse(name).map_err(not_found)
}

fn arch_name(name: &str) -> Result<ArchName, ApiError> {
    ArchName::parse(name).map_err(not_found)
}

fn removal_error(context: &str, err: removal::RemovalError) -> ApiError {
    match err {
        removal::RemovalError::Mirrored { .. } => ApiError::conflict(err.to_string()),
        removal::RemovalError::Db(e) => ApiError::database(context, e),
    }
}
