//! The HTTP surface: every operation is a poem-openapi operation, so the served document
//! describes all of it.

mod health;
mod remove;
mod repo_files;
mod upload;
mod upload_status;

use poem_openapi::{OpenApiService, Tags};

#[derive(Tags)]
pub enum Tag {
    /// Liveness and readiness.
    Health,
    /// Publishing packages and following their progress.
    Uploads,
    /// What pacman downloads, and removing from repositories.
    Repository,
}

pub type Api = (
    health::HealthApi,
    upload::UploadApi,
    upload_status::UploadStatusApi,
    repo_files::RepoFilesApi,
    remove::RemoveApi,
);

/// The OpenAPI service of all operations, independent of any running state.
pub fn openapi_service() -> OpenApiService<Api, ()> {
    OpenApiService::new(
        (
            health::HealthApi,
            upload::UploadApi,
            upload_status::UploadStatusApi,
            repo_files::RepoFilesApi,
            remove::RemoveApi,
        ),
        "Rieter",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A self-hosted package repository server for pacman. Errors are RFC 9457 problem \
         documents (`application/problem+json`).",
    )
}
