//! Managing API keys (admin only): create (the secret is shown once), list, delete.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use rieter::db::keys::{self as key_db, KeyDbError};
use rieter::key_admin::{self, CreateKeyError};
use uuid::Uuid;

use super::Tag;
use crate::auth::{Action, Credentials};
use crate::error::ApiError;
use crate::pagination::{PageNumber, PageRequest, PerPage};
use crate::state::AppState;
use crate::views::{CreatedKeyView, KeyPage, KeyView, NewKeyView, ScopeView};

#[derive(ApiResponse)]
pub enum KeyCreated {
    /// The key, with its secret. Store the secret now: it is not shown again.
    #[oai(status = 201)]
    Created(Json<CreatedKeyView>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum KeyPageResponse {
    #[oai(status = 200)]
    Ok(Json<KeyPage>),
}

#[derive(ApiResponse)]
pub enum KeyResponse {
    #[oai(status = 200)]
    Ok(Json<KeyView>),
}

#[derive(ApiResponse)]
pub enum KeyDeleted {
    /// Deleted; the key no longer authenticates.
    #[oai(status = 204)]
    Deleted,
}

pub struct KeysApi;

#[OpenApi(tag = "Tag::Keys")]
impl KeysApi {
    /// Create an API key with one or more scopes. Needs an admin key.
    #[oai(path = "/api/v1/keys", method = "post", operation_id = "create_key")]
    async fn create(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        body: Json<NewKeyView>,
    ) -> Result<KeyCreated, ApiError> {
        state
            .auth
            .authorize(&credentials, Action::ManageKeys)
            .await?;
        let mut scopes = Vec::with_capacity(body.0.scopes.len());
        for scope in &body.0.scopes {
            scopes.push(
                scope
                    .to_scope()
                    .map_err(|e| ApiError::bad_request(e.to_string()))?,
            );
        }
        let created = key_admin::create(&state.pool, &body.0.name, &scopes)
            .await
            .map_err(create_error)?;
        let id = created.id;
        Ok(KeyCreated::Created(
            Json(CreatedKeyView {
                id,
                prefix: created.secret.prefix.clone(),
                scopes: created.scopes.iter().map(ScopeView::from).collect(),
                created_at: created.created_at,
                secret: created.secret.secret.clone(),
                name: created.name,
            }),
            format!("/api/v1/keys/{id}"),
        ))
    }

    /// The API keys, newest first, without their secrets. Needs an admin key.
    #[oai(path = "/api/v1/keys", method = "get", operation_id = "list_keys")]
    async fn list(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        page: Query<Option<PageNumber>>,
        per_page: Query<Option<PerPage>>,
    ) -> Result<KeyPageResponse, ApiError> {
        let paging = PageRequest::new(page.0, per_page.0);
        state
            .auth
            .authorize(&credentials, Action::ManageKeys)
            .await?;
        let w = paging.listing_window()?;
        let (found, total) =
            key_db::list(&state.pool, w.limit, w.offset)
                .await
                .map_err(|e| match e {
                    KeyDbError::Sql(e) => ApiError::database("listing API keys", e),
                    other => ApiError::internal("listing API keys", other),
                })?;
        Ok(KeyPageResponse::Ok(Json(KeyPage {
            items: found.into_iter().map(Into::into).collect(),
            page: paging.page,
            per_page: paging.per_page,
            total,
        })))
    }

    /// An API key, without its secret. Needs an admin key.
    #[oai(path = "/api/v1/keys/:id", method = "get", operation_id = "get_key")]
    async fn get(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<Uuid>,
    ) -> Result<KeyResponse, ApiError> {
        state
            .auth
            .authorize(&credentials, Action::ManageKeys)
            .await?;
        let found = key_db::find(&state.pool, id.0)
            .await
            .map_err(key_error)?
            .ok_or_else(|| ApiError::not_found(format!("no API key with id {}", id.0)))?;
        Ok(KeyResponse::Ok(Json(found.into())))
    }

    /// Delete an API key: it stops working at once. Needs an admin key.
    #[oai(
        path = "/api/v1/keys/:id",
        method = "delete",
        operation_id = "delete_key"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        id: Path<Uuid>,
    ) -> Result<KeyDeleted, ApiError> {
        state
            .auth
            .authorize(&credentials, Action::ManageKeys)
            .await?;
        let deleted = key_admin::revoke(&state.pool, id.0)
            .await
            .map_err(|e| ApiError::database("deleting an API key", e))?;
        if !deleted {
            return Err(ApiError::not_found(format!("no API key with id {}", id.0)));
        }
        Ok(KeyDeleted::Deleted)
    }
}

fn key_error(err: KeyDbError) -> ApiError {
    match err {
        KeyDbError::Sql(e) => ApiError::database("reading API keys", e),
        other => ApiError::internal("reading API keys", other),
    }
}

fn create_error(err: CreateKeyError) -> ApiError {
    match err {
        CreateKeyError::BadName | CreateKeyError::NoScopes => {
            ApiError::bad_request(err.to_string())
        }
        CreateKeyError::Random(e) => ApiError::internal("generating an API key", e),
        CreateKeyError::Sql(e) => ApiError::database("storing an API key", e),
    }
}
