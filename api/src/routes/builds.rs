//! Builds: queued for a target (admin, or a key with `build` where the target publishes),
//! listed, read and cancelled; and the lease protocol of agents (a key with `agent`): claim,
//! extend, finish. Agents talk to the server only through these.

use poem::web::Data;
use poem::{Body, Request};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, OpenApi};
use std::time::Duration;

use rieter::blobs::BlobError;
use rieter::build::log::{self, LogError};
use rieter::build::plan::{self, Report};
use rieter::build::queue::{self, QueueError, extend_every};
use rieter::db::builds::{self, BuildRecord, Filter};
use rieter::db::targets;
use rieter::names::{ArchName, DistroName, PackageName, RepoName};
use rieter::version::Version;
use uuid::Uuid;

use super::Tag;
use super::targets::{may_manage, reach};
use super::upload::{Destination, UploadAccepted, UploadOptions, store};
use crate::auth::{Action, Credentials, Principal};
use crate::error::ApiError;
use crate::pagination::{PageNumber, PageRequest, PerPage};
use crate::state::AppState;
use crate::upload_body::UploadBody;
use crate::views::{
    BuildPage, BuildReport, BuildStatusView, BuildView, ClaimRequest, ClaimView, Extended, Finish,
    LeaseRef, LogAppended, NewBuild, PlanView,
};

#[derive(ApiResponse)]
pub enum BuildQueued {
    /// Queued; or the build of this target and architecture already queued or running.
    #[oai(status = 202)]
    Accepted(Json<BuildView>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum BuildResponse {
    #[oai(status = 200)]
    Ok(Json<BuildView>),
}

#[derive(ApiResponse)]
pub enum CancelResponse {
    /// A queued build is cancelled; a running one stops when its agent next reports
    /// (`cancel_requested`); an ended one is as it was.
    #[oai(status = 202)]
    Accepted(Json<BuildView>),
}

#[derive(ApiResponse)]
pub enum BuildPageResponse {
    #[oai(status = 200)]
    Ok(Json<BuildPage>),
}

// Answered once per claim: the size of the empty variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(ApiResponse)]
pub enum ClaimResponse {
    /// A build, leased to the agent.
    #[oai(status = 200)]
    Claimed(Json<ClaimView>),
    /// Nothing to build for these architectures now; ask again later.
    #[oai(status = 204)]
    Nothing,
}

#[derive(ApiResponse)]
pub enum LogResponse {
    /// The log as it is; with `follow`, streamed until the build ends.
    #[oai(status = 200, content_type = "text/plain; charset=utf-8")]
    Ok(Binary<Body>),
}

#[derive(ApiResponse)]
pub enum LogAppendResponse {
    #[oai(status = 200)]
    Ok(Json<LogAppended>),
}

#[derive(ApiResponse)]
pub enum PlanResponse {
    #[oai(status = 200)]
    Ok(Json<PlanView>),
}

#[derive(ApiResponse)]
pub enum ExtendResponse {
    #[oai(status = 200)]
    Ok(Json<Extended>),
}

pub struct BuildsApi;

#[OpenApi(tag = "Tag::Builds")]
impl BuildsApi {
    /// Queue a build of a target for one of its architectures.
    #[oai(
        path = "/api/v1/targets/:id/builds",
        method = "post",
        operation_id = "request_build"
    )]
    async fn request(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
        body: Json<NewBuild>,
    ) -> Result<BuildQueued, ApiError> {
        let principal = state.auth.identify(credentials.key()).await?;
        let may = may_manage(&principal);
        let target = targets::find(&state.pool, id.0)
            .await
            .map_err(|e| ApiError::database("reading a target", e))?
            .filter(|t| may(&t.spec.distro, &t.spec.repo))
            .ok_or_else(|| ApiError::not_found(format!("no target {}", id.0)))?;
        let arch = ArchName::parse(&body.arch).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let (build, _) = queue::request(&state.pool, &target, &arch, body.force)
            .await
            .map_err(queue_error)?;
        let location = format!("/api/v1/builds/{}", build.id);
        Ok(BuildQueued::Accepted(Json(build.into()), location))
    }

    /// The builds of the targets the key may manage, newest first.
    #[oai(path = "/api/v1/builds", method = "get", operation_id = "list_builds")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        /// Only builds of this target.
        target: Query<Option<i64>>,
        /// Only builds in this state.
        status: Query<Option<BuildStatusView>>,
        /// Only builds for this architecture.
        arch: Query<Option<String>>,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Result<BuildPageResponse, ApiError> {
        let paging = PageRequest::new(page.0, per_page.0);
        let principal = state.auth.identify(credentials.key()).await?;
        let reach = reach(&principal)?;
        let filter = Filter {
            target: target.0,
            status: status.0.map(Into::into),
            arch: arch
                .0
                .as_deref()
                .map(ArchName::parse)
                .transpose()
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        };
        let found = builds::list(&state.pool, &reach, &filter, paging.listing_window()?)
            .await
            .map_err(|e| ApiError::database("listing builds", e))?;
        Ok(BuildPageResponse::Ok(Json(BuildPage {
            items: found.items.into_iter().map(Into::into).collect(),
            page: paging.page,
            per_page: paging.per_page,
            total: found.total,
        })))
    }

    /// A build.
    #[oai(
        path = "/api/v1/builds/:id",
        method = "get",
        operation_id = "get_build"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
    ) -> Result<BuildResponse, ApiError> {
        let principal = state.auth.identify(credentials.key()).await?;
        let build = reachable_build(&state, &principal, id.0).await?;
        Ok(BuildResponse::Ok(Json(build.into())))
    }

    /// Cancel a build: a queued one at once, a running one within an extension interval of
    /// its agent.
    #[oai(
        path = "/api/v1/builds/:id/cancel",
        method = "post",
        operation_id = "cancel_build"
    )]
    async fn cancel(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
    ) -> Result<CancelResponse, ApiError> {
        let principal = state.auth.identify(credentials.key()).await?;
        reachable_build(&state, &principal, id.0).await?;
        let build = queue::cancel(&state.pool, id.0)
            .await
            .map_err(queue_error)?;
        Ok(CancelResponse::Accepted(Json(build.into())))
    }

    /// Agents: claim the oldest queued build for one of `arches`, with a lease to extend
    /// every `extend_every_secs`. `204` when there is none.
    #[oai(
        path = "/api/v1/agent/claim",
        method = "post",
        operation_id = "claim_build"
    )]
    async fn claim(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        body: Json<ClaimRequest>,
    ) -> Result<ClaimResponse, ApiError> {
        agent(&state, &credentials).await?;
        let name = body.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "an agent's name is 1 to 100 printable characters",
            ));
        }
        if body.arches.is_empty() {
            return Err(ApiError::bad_request(
                "an agent builds for at least one architecture",
            ));
        }
        let arches = body
            .arches
            .iter()
            .map(|a| ArchName::parse(a))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        if body.labels.len() > 32 || body.labels.iter().any(|l| l.len() > 100) {
            return Err(ApiError::bad_request(
                "an agent has at most 32 labels of at most 100 bytes",
            ));
        }
        let lease = Duration::from_secs(state.config.build_lease_secs);
        tracing::debug!(agent = name, labels = ?body.labels, "an agent asks for work");
        let claimed = queue::claim(&state.pool, name, &arches, lease)
            .await
            .map_err(queue_error)?;
        Ok(match claimed {
            Some(claimed) => ClaimResponse::Claimed(Json(ClaimView::new(
                claimed,
                lease.as_secs(),
                extend_every(lease).as_secs().max(1),
            ))),
            None => ClaimResponse::Nothing,
        })
    }

    /// Agents: extend the lease of a build; `cancel` says to stop it. `409` when the lease
    /// has ended (the build went back to the queue): stop working on it.
    #[oai(
        path = "/api/v1/agent/builds/:id/extend",
        method = "post",
        operation_id = "extend_build"
    )]
    async fn extend(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
        body: Json<LeaseRef>,
    ) -> Result<ExtendResponse, ApiError> {
        agent(&state, &credentials).await?;
        let lease = Duration::from_secs(state.config.build_lease_secs);
        let cancel = queue::extend(&state.pool, id.0, body.lease_id, lease)
            .await
            .map_err(queue_error)?;
        Ok(ExtendResponse::Ok(Json(Extended { cancel })))
    }

    /// Agents: end a build with its outcome. `409` when the lease has ended.
    #[oai(
        path = "/api/v1/agent/builds/:id/finish",
        method = "post",
        operation_id = "finish_build"
    )]
    async fn finish(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
        body: Json<Finish>,
    ) -> Result<BuildResponse, ApiError> {
        agent(&state, &credentials).await?;
        let error: Option<String> = body
            .error
            .as_deref()
            .map(|e| e.chars().filter(|c| !c.is_control()).take(1000).collect());
        let build = queue::finish(
            &state.pool,
            id.0,
            body.lease_id,
            body.outcome.into(),
            error.as_deref(),
        )
        .await
        .map_err(queue_error)?;
        Ok(BuildResponse::Ok(Json(build.into())))
    }

    /// A build's log (plain text): what it has so far, or with `follow=true`, streamed as
    /// it is written until the build ends.
    #[oai(
        path = "/api/v1/builds/:id/log",
        method = "get",
        operation_id = "get_build_log"
    )]
    async fn log(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
        /// Keep the answer open and send what is written until the build ends.
        #[oai(default)]
        follow: Query<bool>,
    ) -> Result<LogResponse, ApiError> {
        let principal = state.auth.identify(credentials.key()).await?;
        reachable_build(&state, &principal, id.0).await?;
        let stream = log::read(state.pool.clone(), state.blobs.clone(), id.0, follow.0);
        Ok(LogResponse::Ok(Binary(Body::from_bytes_stream(stream))))
    }

    /// Agents: append a chunk (the raw request body, at most 1 MiB) to a build's log, at byte
    /// `offset`: the log's length, which each answer gives. Sending a chunk again after a
    /// lost answer is harmless. `409` when the lease has ended or the offset is not the log's
    /// end (the answer says where it is); `413` when the log is full.
    #[oai(
        path = "/api/v1/agent/builds/:id/log",
        method = "post",
        operation_id = "append_build_log"
    )]
    async fn append_log(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
        lease_id: Query<Uuid>,
        /// Where the chunk starts in the log, in bytes.
        offset: Query<u64>,
        body: Binary<Body>,
    ) -> Result<LogAppendResponse, ApiError> {
        agent(&state, &credentials).await?;
        let bytes = body
            .0
            .into_bytes_limit(log::MAX_CHUNK_BYTES)
            .await
            .map_err(|_| {
                ApiError::payload_too_large(format!(
                    "a log chunk is at most {} bytes",
                    log::MAX_CHUNK_BYTES
                ))
            })?;
        let length = log::append(&state.pool, &state.blobs, id.0, lease_id.0, offset.0, bytes)
            .await
            .map_err(|err| match err {
                LogError::NotFound(_) => ApiError::not_found(err.to_string()),
                LogError::LeaseLost(_) | LogError::Gap { .. } => {
                    ApiError::conflict(err.to_string())
                }
                LogError::ChunkSize => ApiError::bad_request(err.to_string()),
                LogError::Full => ApiError::payload_too_large(err.to_string()),
                LogError::Db(e) => ApiError::database("appending to a build log", e),
                LogError::Blob(BlobError::Db(e)) => {
                    ApiError::database("appending to a build log", e)
                }
                LogError::Blob(e) => ApiError::internal("storing a build log chunk", e),
            })?;
        Ok(LogAppendResponse::Ok(Json(LogAppended {
            log_bytes: length,
        })))
    }

    /// Agents: report what the fetched target's `.SRCINFO` says (after `pkgver()`); the
    /// answer says whether to build it, or that it was skipped (every version is in the
    /// repository) or waits for a dependency's build (it went back to the queue). `409` when
    /// the lease has ended.
    #[oai(
        path = "/api/v1/agent/builds/:id/report",
        method = "post",
        operation_id = "report_build"
    )]
    async fn report(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
        body: Json<BuildReport>,
    ) -> Result<PlanResponse, ApiError> {
        agent(&state, &credentials).await?;
        let bad = |e: String| ApiError::bad_request(e);
        let packages = body
            .packages
            .iter()
            .map(|p| {
                Ok((
                    PackageName::parse(&p.name).map_err(|e| bad(e.to_string()))?,
                    Version::parse(&p.version).map_err(|e| bad(e.to_string()))?,
                ))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let report =
            Report::new(packages, &body.depends, &body.provides).map_err(|e| bad(e.to_string()))?;
        let plan = plan::plan(&state.pool, id.0, body.lease_id, &report)
            .await
            .map_err(queue_error)?;
        Ok(PlanResponse::Ok(Json(plan.into())))
    }

    /// Agents: upload a package the build made, as `POST /{distro}/{repo}` takes it (raw
    /// body, or a form with `package` and `signature`), to the target's repository; the
    /// upload is tied to the build (its `packages`). A forced build's package replaces the
    /// same version's. `409` when the lease has ended.
    #[oai(
        path = "/api/v1/agent/builds/:id/packages",
        method = "post",
        operation_id = "upload_build_package"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn upload_package(
        &self,
        state: Data<&AppState>,
        req: &Request,
        credentials: Credentials,
        id: Path<i64>,
        lease_id: Query<Uuid>,
        /// Hold the answer up to this many seconds (1 to 300) until the upload is final.
        #[oai(validator(minimum(value = "1"), maximum(value = "300")))]
        wait: Query<Option<u32>>,
        body: UploadBody,
    ) -> Result<UploadAccepted, ApiError> {
        let actor = state
            .auth
            .authorize(&credentials, Action::RunBuilds)
            .await?;
        let held = builds::lock_held(&state.pool, id.0, lease_id.0)
            .await
            .map_err(|e| ApiError::database("reading a build", e))?
            .ok_or_else(|| ApiError::conflict(QueueError::LeaseLost(id.0).to_string()))?;
        let destination = Destination {
            distro: DistroName::parse(&held.distro)
                .map_err(|e| ApiError::internal("reading a build's target", e))?,
            repo: RepoName::parse(&held.repo)
                .map_err(|e| ApiError::internal("reading a build's target", e))?,
            actor,
            build_id: Some(id.0),
        };
        // A forced build rebuilds a version the repository has: its package replaces it.
        let options = UploadOptions {
            allow_downgrade: false,
            overwrite: held.force,
            wait: wait.0.map(|secs| Duration::from_secs(u64::from(secs))),
        };
        store(&state, req, destination, options, body).await
    }
}

/// Build `id` if the caller may manage its target; else, as when it does not exist, `404`.
async fn reachable_build(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> Result<BuildRecord, ApiError> {
    let build = builds::find(&state.pool, id)
        .await
        .map_err(|e| ApiError::database("reading a build", e))?
        .ok_or_else(|| ApiError::not_found(format!("no build {id}")))?;
    if principal.manages_build(&build) {
        Ok(build)
    } else {
        Err(ApiError::not_found(format!("no build {id}")))
    }
}

/// Checks that the caller is an agent.
async fn agent(state: &AppState, credentials: &Credentials) -> Result<(), ApiError> {
    state.auth.authorize(credentials, Action::RunBuilds).await?;
    Ok(())
}

fn queue_error(err: QueueError) -> ApiError {
    match err {
        QueueError::NotAnArch { .. } => ApiError::bad_request(err.to_string()),
        QueueError::NotFound(_) => ApiError::not_found(err.to_string()),
        QueueError::LeaseLost(_) => ApiError::conflict(err.to_string()),
        QueueError::Db(e) => ApiError::database("changing a build", e),
    }
}
