//! The HTTP surface: every operation is a poem-openapi operation, so the served document
//! describes all of it.

mod builds;
mod distros;
mod health;
mod keys;
mod merged;
mod metrics;
mod mirrors;
mod packages;
mod remove;
mod repo_files;
mod signing;
mod statuses;
mod targets;
mod upload;
mod upload_status;
mod uploads_list;

use poem_openapi::{OpenApiService, Tags};

use merged::MergedPaths;

#[derive(Tags)]
pub enum Tag {
    /// Liveness and readiness.
    Health,
    /// Distributions, repositories and packages.
    Catalogue,
    /// Publishing packages and following their progress.
    Uploads,
    /// What pacman downloads, and removing from repositories.
    Repository,
    /// API keys and their scopes (admin only).
    Keys,
    /// Signing keys, packager keys and package signing.
    Signing,
    /// Repositories kept in sync with an upstream repository (admin only).
    Mirrors,
    /// Build targets (what to build, where to publish it, and when), their builds, and the
    /// lease protocol of build agents.
    Builds,
}

pub type Api = MergedPaths<(
    health::HealthApi,
    distros::DistrosApi,
    packages::PackagesApi,
    upload::UploadApi,
    upload_status::UploadStatusApi,
    uploads_list::UploadsListApi,
    keys::KeysApi,
    repo_files::RepoFilesApi,
    remove::RemoveApi,
    signing::SigningApi,
    signing::PublicKeyApi,
    mirrors::MirrorsApi,
    targets::TargetsApi,
    builds::BuildsApi,
    metrics::MetricsApi,
)>;

/// The OpenAPI service of all operations, independent of any running state.
pub fn openapi_service() -> OpenApiService<Api, ()> {
    OpenApiService::new(
        MergedPaths((
            health::HealthApi,
            distros::DistrosApi,
            packages::PackagesApi,
            upload::UploadApi,
            upload_status::UploadStatusApi,
            uploads_list::UploadsListApi,
            keys::KeysApi,
            repo_files::RepoFilesApi,
            remove::RemoveApi,
            signing::SigningApi,
            signing::PublicKeyApi,
            mirrors::MirrorsApi,
            targets::TargetsApi,
            builds::BuildsApi,
            metrics::MetricsApi,
        )),
        "Rieter",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A self-hosted package repository server for pacman. Errors are RFC 9457 problem \
         documents (`application/problem+json`). Lists are paginated alike: `page` (from 1) \
         and `per_page` (default 50, at most 200) in the query; `items`, `page`, `per_page` \
         and `total` in the body. Reads are public except for private distributions, which \
         only keys with access to them can see.",
    )
}
