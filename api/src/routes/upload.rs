use std::time::Duration;

use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use rieter::actor::Actor;
use rieter::blobs::BlobError;
use rieter::db::uploads::{self, NewUpload, UploadStatus};
use rieter::ingest::{self, AcceptError, Received};
use rieter::names::{DistroName, RepoName};
use rieter::signing::SignatureFile;
use rieter::storage::ReceiveError;
use uuid::Uuid;

use super::Tag;
use crate::auth::{Action, Credentials};
use crate::error::ApiError;
use crate::state::AppState;
use crate::upload_body::{self, PartStream, UploadBody};
use crate::views::{UploadFailure, UploadView};

#[derive(ApiResponse)]
pub enum UploadAccepted {
    /// With `wait`: the package is published (its repository's databases list it).
    #[oai(status = 201)]
    Published(Json<UploadView>, #[oai(header = "Location")] String),
    /// The package is stored and queued for parsing (with `wait`: and not final when the wait
    /// ran out). Follow it at `Location`.
    #[oai(status = 202)]
    Accepted(Json<UploadView>, #[oai(header = "Location")] String),
    /// With `wait`: the upload failed; `detail` says why, and the upload's fields are
    /// alongside (its `status` is implied: `failed`).
    #[oai(status = 422, content_type = "application/problem+json")]
    Failed(Json<UploadFailure>, #[oai(header = "Location")] String),
}

pub struct UploadApi;

#[OpenApi(tag = "Tag::Uploads")]
impl UploadApi {
    /// Publish a package file (`.pkg.tar.zst`, `.xz`, `.gz`, `.bz2` or `.tar`) to a repository,
    /// sent as the raw request body, e.g. `curl -T pkg.pkg.tar.zst -H "Authorization: Bearer
    /// $KEY" https://host/arch/extra`, or as `multipart/form-data` with the file as the part
    /// `package` and its detached signature as the part `signature`, e.g. `curl -F
    /// package=@pkg.pkg.tar.zst -F signature=@pkg.pkg.tar.zst.sig ...`. The signature is
    /// served as `{filename}.sig` and written into the database entry. When the distribution
    /// has packager keys, an upload without a signature by one of them fails. The
    /// distribution and repository are created on first upload. Parsing happens in the
    /// background: poll the returned upload until it is `published` or `failed`.
    #[oai(
        path = "/:distro/:repo",
        method = "post",
        operation_id = "upload_package"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn upload_post(
        &self,
        state: Data<&AppState>,
        req: &Request,
        credentials: Credentials,
        /// Distribution, e.g. `arch`.
        distro: Path<String>,
        /// Repository, e.g. `extra`.
        repo: Path<String>,
        /// Accept a version older than the current one.
        #[oai(default)]
        allow_downgrade: Query<bool>,
        /// Replace the current package of the same version with different content.
        #[oai(default)]
        overwrite: Query<bool>,
        /// Hold the answer up to this many seconds (1 to 300) until the upload is final:
        /// `201` when published, `422` when it failed, `202` when the time ran out.
        #[oai(validator(minimum(value = "1"), maximum(value = "300")))]
        wait: Query<Option<u32>>,
        body: UploadBody,
    ) -> Result<UploadAccepted, ApiError> {
        let request = UploadRequest {
            distro: distro.0,
            repo: repo.0,
            allow_downgrade: allow_downgrade.0,
            overwrite: overwrite.0,
            wait: wait.0.map(|secs| Duration::from_secs(u64::from(secs))),
        };
        receive(&state, req, &credentials, request, body).await
    }

    /// The same as `POST /{distro}/{repo}`, for clients that upload with PUT (`curl -T`).
    #[oai(
        path = "/:distro/:repo",
        method = "put",
        operation_id = "upload_package_put"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn upload_put(
        &self,
        state: Data<&AppState>,
        req: &Request,
        credentials: Credentials,
        /// Distribution, e.g. `arch`.
        distro: Path<String>,
        /// Repository, e.g. `extra`.
        repo: Path<String>,
        /// Accept a version older than the current one.
        #[oai(default)]
        allow_downgrade: Query<bool>,
        /// Replace the current package of the same version with different content.
        #[oai(default)]
        overwrite: Query<bool>,
        /// Hold the answer up to this many seconds (1 to 300) until the upload is final:
        /// `201` when published, `422` when it failed, `202` when the time ran out.
        #[oai(validator(minimum(value = "1"), maximum(value = "300")))]
        wait: Query<Option<u32>>,
        body: UploadBody,
    ) -> Result<UploadAccepted, ApiError> {
        let request = UploadRequest {
            distro: distro.0,
            repo: repo.0,
            allow_downgrade: allow_downgrade.0,
            overwrite: overwrite.0,
            wait: wait.0.map(|secs| Duration::from_secs(u64::from(secs))),
        };
        receive(&state, req, &credentials, request, body).await
    }
}

const DB_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

struct UploadRequest {
    distro: String,
    repo: String,
    allow_downgrade: bool,
    overwrite: bool,
    wait: Option<Duration>,
}

async fn receive(
    state: &AppState,
    req: &Request,
    credentials: &Credentials,
    request: UploadRequest,
    body: UploadBody,
) -> Result<UploadAccepted, ApiError> {
    let distro =
        DistroName::parse(&request.distro).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let repo = RepoName::parse(&request.repo).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let actor = state
        .auth
        .authorize(
            credentials,
            Action::Publish {
                distro: &distro,
                repo: &repo,
            },
        )
        .await?;
    let destination = Destination {
        distro,
        repo,
        actor,
        build_id: None,
    };
    store(state, req, destination, request.options(), body).await
}

/// Where an upload goes, and who sends it: checked by the caller.
pub(super) struct Destination {
    pub distro: DistroName,
    pub repo: RepoName,
    pub actor: Actor,
    /// The build whose package it is (an agent's upload).
    pub build_id: Option<i64>,
}

/// How an upload is recorded, and how long its answer waits.
pub(super) struct UploadOptions {
    pub allow_downgrade: bool,
    pub overwrite: bool,
    pub wait: Option<Duration>,
}

impl UploadRequest {
    fn options(&self) -> UploadOptions {
        UploadOptions {
            allow_downgrade: self.allow_downgrade,
            overwrite: self.overwrite,
            wait: self.wait,
        }
    }
}

/// Receives an upload's body into the store and records it, with its parse job (the upload
/// path every package takes, from a client or a build agent).
pub(super) async fn store(
    state: &AppState,
    req: &Request,
    destination: Destination,
    request: UploadOptions,
    body: UploadBody,
) -> Result<UploadAccepted, ApiError> {
    let Destination {
        distro,
        repo,
        actor,
        build_id,
    } = destination;

    // Refuse at once, before reading a possibly large body, when the upload could not be
    // queued anyway.
    if !rieter::db::is_reachable(&state.pool, DB_PROBE_TIMEOUT).await {
        return Err(ApiError::unavailable(
            "the database is unavailable, so uploads cannot be queued; retry shortly",
        ));
    }

    // A mirror's packages come from its upstream.
    if let Some(upstream) = rieter::db::mirrors::upstream_for(&state.pool, &distro, &repo)
        .await
        .map_err(|e| ApiError::database("looking up the repository", e))?
    {
        return Err(ApiError::conflict(rieter::mirror::read_only_reason(
            &distro, &repo, &upstream,
        )));
    }

    let limit = state.config.max_upload_bytes;
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large(limit));
    }

    let stall = Duration::from_secs(state.config.upload_stall_timeout_secs);
    let receive = |body: PartStream| async move {
        ingest::receive(&state.storage, &state.blobs, body, limit, stall)
            .await
            .map_err(receive_error)
    };
    let (blob, signature) = match body {
        UploadBody::Raw(body) => (receive(Box::new(body.into_bytes_stream())).await?, None),
        UploadBody::Form { body, boundary } => {
            upload_body::read_form(body, boundary, stall, receive).await?
        }
    };
    // Checked before anything is recorded: a signature pacman would refuse is refused now.
    let signature = signature
        .map(SignatureFile::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let id = Uuid::now_v7();
    let upload = NewUpload {
        id,
        distro,
        repo,
        size: blob.size() as i64,
        sha256: blob.sha256().clone(),
        md5: blob.md5().to_owned(),
        allow_downgrade: request.allow_downgrade,
        overwrite: request.overwrite,
        uploaded_by: actor,
        signature,
        build_id,
    };
    record(state, blob, &upload).await?;
    tracing::info!(
        upload.id = %id,
        distro = %upload.distro,
        repo = %upload.repo,
        size_bytes = upload.size,
        actor.kind = upload.uploaded_by.kind().as_str(),
        actor.prefix = upload.uploaded_by.prefix(),
        build.id = upload.build_id,
        "upload accepted"
    );

    let location = format!("/api/v1/uploads/{id}");
    let stored = match request.wait {
        Some(wait) => state.upload_waits.wait_final(&state.pool, id, wait).await,
        None => uploads::find(&state.pool, id).await.map_err(Into::into),
    }
    .map_err(|e| ApiError::database("reading back an accepted upload", e))?
    .ok_or_else(|| ApiError::internal("reading back an accepted upload", "row missing"))?;
    Ok(match stored.status {
        UploadStatus::Published if request.wait.is_some() => {
            UploadAccepted::Published(Json(stored.into()), location)
        }
        UploadStatus::Failed if request.wait.is_some() => UploadAccepted::Failed(
            Json(UploadFailure::from(UploadView::from(stored))),
            location,
        ),
        _ => UploadAccepted::Accepted(Json(stored.into()), location),
    })
}

/// Stores the blob and records the upload with its job ([`ingest::accept`]).
async fn record(state: &AppState, blob: Received, upload: &NewUpload) -> Result<(), ApiError> {
    ingest::accept(&state.pool, &state.blobs, blob, upload)
        .await
        .map_err(|err| match err {
            err if err.is_storage_full() => {
                ApiError::insufficient_storage("the server has no space left to store the upload")
            }
            AcceptError::Db(err) => ApiError::database("recording an upload", err),
            AcceptError::Blob(BlobError::Db(err)) => ApiError::database("recording an upload", err),
            AcceptError::Blob(err) => ApiError::internal("storing an upload", err),
        })
}

fn too_large(limit: u64) -> ApiError {
    ApiError::payload_too_large(format!(
        "the package is larger than the upload limit of {limit} bytes"
    ))
}

fn receive_error(err: ReceiveError) -> ApiError {
    match err {
        ReceiveError::Empty => ApiError::bad_request(err.to_string()),
        ReceiveError::TooLarge { limit } => too_large(limit),
        ReceiveError::StorageFull => ApiError::insufficient_storage(err.to_string()),
        ReceiveError::Body(_) | ReceiveError::Stalled { .. } => {
            ApiError::bad_request(err.to_string())
        }
        ReceiveError::Io(e) => ApiError::internal("receiving an upload", e),
        ReceiveError::Store(e) => ApiError::internal("receiving an upload", e),
    }
}
