//! Mirrors (admin only): create, list, read, change, delete, and queue a sync now. The sync
//! itself runs on a worker (`rieter::mirror::sync`).

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, OpenApi};
use rieter::db::mirrors;
use rieter::mirror::admin::{self, AdminError};
use rieter::mirror::{MirrorSpec, SpecInput, Upstream};
use rieter::names::{ArchName, DistroName, RepoName};

use super::Tag;
use crate::auth::{Action, Credentials};
use crate::error::ApiError;
use crate::pagination::{PageNumber, PageRequest, PerPage};
use crate::state::AppState;
use crate::views::{MirrorChangeView, MirrorPage, MirrorView, NewMirrorView};

#[derive(ApiResponse)]
pub enum MirrorCreated {
    /// The mirror; its first sync is queued.
    #[oai(status = 201)]
    Created(Json<MirrorView>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum MirrorResponse {
    #[oai(status = 200)]
    Ok(Json<MirrorView>),
}

#[derive(ApiResponse)]
pub enum MirrorPageResponse {
    #[oai(status = 200)]
    Ok(Json<MirrorPage>),
}

#[derive(ApiResponse)]
pub enum MirrorDeleted {
    /// Deleted: the repository keeps what it serves, as a local repository.
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
pub enum SyncQueued {
    /// A sync is queued (or already was); `last_sync` shows its progress.
    #[oai(status = 202)]
    Queued(Json<MirrorView>),
}

pub struct MirrorsApi;

#[OpenApi(tag = "Tag::Mirrors")]
impl MirrorsApi {
    /// Make a repository a mirror of an upstream pacman repository. The repository (created
    /// if needed) must hold no uploaded packages; from now on it holds exactly what the
    /// upstream's databases list, verified, and refuses uploads and removals. The first sync
    /// is queued at once. Needs an admin key.
    #[oai(
        path = "/api/v1/mirrors",
        method = "post",
        operation_id = "create_mirror"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        body: Json<NewMirrorView>,
    ) -> Result<MirrorCreated, ApiError> {
        authorize(&state, &credentials).await?;
        let body = body.0;
        let distro = DistroName::parse(&body.distro).map_err(bad_request)?;
        let repo = RepoName::parse(&body.repo).map_err(bad_request)?;
        let spec = MirrorSpec::validate(SpecInput {
            upstream: Upstream::parse(&body.upstream).map_err(bad_request)?,
            arches: arches(&body.arches)?,
            interval_secs: body.interval_secs,
            keep_signatures: body.keep_signatures,
            verify_signatures: body.verify_signatures,
            max_concurrent_downloads: body.max_concurrent_downloads,
            bandwidth_limit_bytes_per_sec: body.bandwidth_limit_bytes_per_sec,
        })
        .map_err(bad_request)?;
        let created = admin::create(&state.pool, &distro, &repo, &spec, false)
            .await
            .map_err(admin_error)?;
        tracing::info!(mirror.id = created.id, %distro, %repo, upstream = %spec.upstream, "mirror created");
        let location = format!("/api/v1/mirrors/{}", created.id);
        Ok(MirrorCreated::Created(Json(created.into()), location))
    }

    /// The mirrors, oldest first, each with its last sync. Needs an admin key.
    #[oai(
        path = "/api/v1/mirrors",
        method = "get",
        operation_id = "list_mirrors"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Result<MirrorPageResponse, ApiError> {
        let paging = PageRequest::new(page.0, per_page.0);
        authorize(&state, &credentials).await?;
        let w = paging.listing_window()?;
        let read = |e| ApiError::database("listing mirrors", e);
        let found = mirrors::list(&state.pool, w.limit, w.offset)
            .await
            .map_err(read)?;
        let total = mirrors::count(&state.pool).await.map_err(read)?;
        Ok(MirrorPageResponse::Ok(Json(MirrorPage {
            items: found.into_iter().map(Into::into).collect(),
            page: paging.page,
            per_page: paging.per_page,
            total,
        })))
    }

    /// A mirror, its settings, its last sync (`last_sync`) and when a sync last succeeded
    /// (`last_success_at`). Needs an admin key.
    #[oai(
        path = "/api/v1/mirrors/:id",
        method = "get",
        operation_id = "get_mirror"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
    ) -> Result<MirrorResponse, ApiError> {
        authorize(&state, &credentials).await?;
        Ok(MirrorResponse::Ok(Json(find(&state, id.0).await?.into())))
    }

    /// Change a mirror's settings; fields left out keep their value. A new upstream or new
    /// architectures queue a sync. Needs an admin key.
    #[oai(
        path = "/api/v1/mirrors/:id",
        method = "patch",
        operation_id = "update_mirror"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
        body: Json<MirrorChangeView>,
    ) -> Result<MirrorResponse, ApiError> {
        authorize(&state, &credentials).await?;
        let current = find(&state, id.0).await?;
        let change = body.0;
        let mut input = current.spec.to_input();
        if let Some(upstream) = change.upstream {
            input.upstream = Upstream::parse(&upstream).map_err(bad_request)?;
        }
        if let Some(list) = change.arches {
            input.arches = arches(&list)?;
        }
        if let Some(interval) = change.interval_secs {
            input.interval_secs = interval;
        }
        if let Some(keep) = change.keep_signatures {
            input.keep_signatures = Some(keep);
        }
        match change.verify_signatures {
            MaybeUndefined::Value(keyring) => input.verify_signatures = Some(keyring),
            MaybeUndefined::Null => input.verify_signatures = None,
            MaybeUndefined::Undefined => {}
        }
        if let Some(concurrency) = change.max_concurrent_downloads {
            input.max_concurrent_downloads = Some(concurrency);
        }
        match change.bandwidth_limit_bytes_per_sec {
            MaybeUndefined::Value(limit) => input.bandwidth_limit_bytes_per_sec = Some(limit),
            MaybeUndefined::Null => input.bandwidth_limit_bytes_per_sec = None,
            MaybeUndefined::Undefined => {}
        }
        let spec = MirrorSpec::validate(input).map_err(bad_request)?;
        // A change through the API makes a declared mirror the API's until the next start of
        // a worker declaring it.
        let updated = admin::update(&state.pool, id.0, &spec, current.declared)
            .await
            .map_err(admin_error)?;
        Ok(MirrorResponse::Ok(Json(updated.into())))
    }

    /// Stop mirroring. The repository keeps the packages and databases it serves and becomes
    /// a local repository: uploads and removals are accepted again. Needs an admin key.
    #[oai(
        path = "/api/v1/mirrors/:id",
        method = "delete",
        operation_id = "delete_mirror"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
    ) -> Result<MirrorDeleted, ApiError> {
        authorize(&state, &credentials).await?;
        let deleted = admin::delete(&state.pool, id.0)
            .await
            .map_err(|e| ApiError::database("deleting a mirror", e))?;
        if !deleted {
            return Err(not_found(id.0));
        }
        tracing::info!(mirror.id = id.0, "mirror deleted");
        Ok(MirrorDeleted::Deleted)
    }

    /// Queue a sync of the mirror now (a sync already queued is not queued twice). Needs an
    /// admin key.
    #[oai(
        path = "/api/v1/mirrors/:id/sync",
        method = "post",
        operation_id = "sync_mirror"
    )]
    async fn sync(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
    ) -> Result<SyncQueued, ApiError> {
        authorize(&state, &credentials).await?;
        let queued = admin::queue_sync(&state.pool, id.0)
            .await
            .map_err(|e| ApiError::database("queueing a mirror sync", e))?
            .ok_or_else(|| not_found(id.0))?;
        Ok(SyncQueued::Queued(Json(queued.into())))
    }
}

async fn authorize(state: &AppState, credentials: &Credentials) -> Result<(), ApiError> {
    state
        .auth
        .authorize(credentials, Action::ManageMirrors)
        .await?;
    Ok(())
}

async fn find(state: &AppState, id: i64) -> Result<rieter::db::mirrors::MirrorRecord, ApiError> {
    mirrors::find(&state.pool, id)
        .await
        .map_err(|e| ApiError::database("reading a mirror", e))?
        .ok_or_else(|| not_found(id))
}

fn arches(list: &[String]) -> Result<Vec<ArchName>, ApiError> {
    list.iter()
        .map(|a| ArchName::parse(a).map_err(bad_request))
        .collect()
}

fn bad_request(err: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(err.to_string())
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no mirror {id}"))
}

fn admin_error(err: AdminError) -> ApiError {
    match err {
        AdminError::Spec(e) => ApiError::bad_request(e.to_string()),
        AdminError::AlreadyMirrored { .. } | AdminError::RepoInUse { .. } => {
            ApiError::conflict(err.to_string())
        }
        AdminError::NotFound(id) => not_found(id),
        AdminError::Db(e) => ApiError::database("changing a mirror", e),
    }
}
