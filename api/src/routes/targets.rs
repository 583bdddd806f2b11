//! Build targets (admin, or a key with `build` on the target's distribution or repository):
//! create, list, read, change, delete. A target a key may not manage does not exist for it.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use rieter::build::admin::{self, AdminError};
use rieter::build::{InputError, TargetSpec};
use rieter::db::targets::{self, Reach};
use rieter::names::{DistroName, RepoName};

use super::Tag;
use crate::auth::{Action, Credentials, Principal};
use crate::error::ApiError;
use crate::pagination::{PageNumber, PageRequest, PerPage};
use crate::state::AppState;
use crate::views::{NewTarget, TargetChangeView, TargetPage, TargetView};

#[derive(ApiResponse)]
pub enum TargetCreated {
    #[oai(status = 201)]
    Created(Json<TargetView>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum TargetResponse {
    #[oai(status = 200)]
    Ok(Json<TargetView>),
}

#[derive(ApiResponse)]
pub enum TargetPageResponse {
    #[oai(status = 200)]
    Ok(Json<TargetPage>),
}

#[derive(ApiResponse)]
pub enum TargetDeleted {
    /// Deleted; the packages it published stay where they are.
    #[oai(status = 204)]
    Deleted,
}

pub struct TargetsApi;

#[OpenApi(tag = "Tag::Builds")]
impl TargetsApi {
    /// Create a build target. Its schedule, if any, is kept by the server: `next_run_at` says
    /// when it next comes due.
    #[oai(
        path = "/api/v1/targets",
        method = "post",
        operation_id = "create_target"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        body: Json<NewTarget>,
    ) -> Result<TargetCreated, ApiError> {
        let principal = state.auth.identify(credentials.key()).await?;
        let spec = TargetSpec::validate(body.0.into()).map_err(input_error)?;
        if !may_manage(&principal)(&spec.distro, &spec.repo) {
            return Err(ApiError::forbidden(format!(
                "the API key may not manage the targets of {}/{}",
                spec.distro, spec.repo
            )));
        }
        let record = admin::create(&state.pool, &spec)
            .await
            .map_err(admin_error)?;
        let location = format!("/api/v1/targets/{}", record.id);
        Ok(TargetCreated::Created(Json(record.into()), location))
    }

    /// The targets the key may manage, by name.
    #[oai(
        path = "/api/v1/targets",
        method = "get",
        operation_id = "list_targets"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Result<TargetPageResponse, ApiError> {
        let paging = PageRequest::new(page.0, per_page.0);
        let principal = state.auth.identify(credentials.key()).await?;
        let reach = reach(&principal)?;
        let found = targets::list(&state.pool, &reach, paging.listing_window()?)
            .await
            .map_err(|e| ApiError::database("listing targets", e))?;
        Ok(TargetPageResponse::Ok(Json(TargetPage {
            items: found.items.into_iter().map(Into::into).collect(),
            page: paging.page,
            per_page: paging.per_page,
            total: found.total,
        })))
    }

    /// A target.
    #[oai(
        path = "/api/v1/targets/:id",
        method = "get",
        operation_id = "get_target"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
    ) -> Result<TargetResponse, ApiError> {
        let principal = state.auth.identify(credentials.key()).await?;
        let may = may_manage(&principal);
        let record = targets::find(&state.pool, id.0)
            .await
            .map_err(|e| ApiError::database("reading a target", e))?
            .filter(|t| may(&t.spec.distro, &t.spec.repo))
            .ok_or_else(|| not_found(id.0))?;
        Ok(TargetResponse::Ok(Json(record.into())))
    }

    /// Change a target; fields left out keep their value, `null` clears an optional one
    /// (`{"schedule": null}` removes the schedule). A changed schedule's next run is computed
    /// again.
    #[oai(
        path = "/api/v1/targets/:id",
        method = "patch",
        operation_id = "update_target"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
        body: Json<TargetChangeView>,
    ) -> Result<TargetResponse, ApiError> {
        let principal = state.auth.identify(credentials.key()).await?;
        let record = admin::change(&state.pool, id.0, body.0.into(), may_manage(&principal))
            .await
            .map_err(admin_error)?;
        Ok(TargetResponse::Ok(Json(record.into())))
    }

    /// Delete a target.
    #[oai(
        path = "/api/v1/targets/:id",
        method = "delete",
        operation_id = "delete_target"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<i64>,
    ) -> Result<TargetDeleted, ApiError> {
        let principal = state.auth.identify(credentials.key()).await?;
        admin::delete(&state.pool, id.0, may_manage(&principal))
            .await
            .map_err(admin_error)?;
        Ok(TargetDeleted::Deleted)
    }
}

/// Whether `principal` may manage the targets publishing to a repository.
pub(super) fn may_manage(principal: &Principal) -> impl Fn(&DistroName, &RepoName) -> bool + '_ {
    move |distro, repo| principal.may(Action::ManageTargets { distro, repo })
}

/// Where `principal`'s targets are: 403 for a key without a `build` scope.
pub(super) fn reach(principal: &Principal) -> Result<Reach, ApiError> {
    match principal {
        Principal::Anonymous => Err(ApiError::key_required()),
        _ => principal.target_reach().ok_or_else(|| {
            ApiError::forbidden("the API key has no `build` scope: it manages no targets")
        }),
    }
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no target {id}"))
}

fn input_error(err: InputError) -> ApiError {
    ApiError::bad_request(err.to_string())
}

fn admin_error(err: AdminError) -> ApiError {
    match err {
        AdminError::Input(e) => input_error(e),
        AdminError::NotFound(id) => not_found(id),
        AdminError::Forbidden { .. } => ApiError::forbidden(err.to_string()),
        AdminError::NameTaken(_) => ApiError::conflict(err.to_string()),
        AdminError::Db(e) => ApiError::database("changing a target", e),
    }
}
