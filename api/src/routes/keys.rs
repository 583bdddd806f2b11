//! Managing API keys (admin only): create (the secret is shown once), list, delete.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use rieter::db::keys::{self as key_db, KeyDbError, NewKey};
use rieter::keys;
use uuid::Uuid;

use super::Tag;
use crate::auth::{Action, Credentials};
use crate::error::ApiError;
use crate::pagination::{default_page, default_per_page, listing_window};
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
        let name = body.0.name.trim();
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "a key needs a name without control characters",
            ));
        }
        let mut scopes = Vec::new();
        for scope in &body.0.scopes {
            let scope = scope
                .to_scope()
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        let secret =
            keys::generate().map_err(|e| ApiError::internal("generating an API key", e))?;
        let id = Uuid::now_v7();
        let created_at = key_db::insert(
            &state.pool,
            &NewKey {
                id,
                name,
                prefix: &secret.prefix,
                secret_sha256: &secret.digest,
                scopes: &scopes,
            },
        )
        .await
        .map_err(|e| ApiError::database("storing an API key", e))?;
        tracing::info!(key.id = %id, key.prefix = %secret.prefix, "API key created");
        Ok(KeyCreated::Created(
            Json(CreatedKeyView {
                id,
                name: name.to_owned(),
                prefix: secret.prefix.clone(),
                scopes: scopes.iter().map(ScopeView::from).collect(),
                created_at,
                secret: secret.secret.clone(),
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
        /// Page number, from 1; `page` × `per_page` may not exceed 100000 (narrow the listing with
        /// its filters to reach further).
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "1000000"))
        )]
        page: Query<i64>,
        /// Items per page (default 50, at most 200).
        #[oai(
            default = "default_per_page",
            validator(minimum(value = "1"), maximum(value = "200"))
        )]
        per_page: Query<i64>,
    ) -> Result<KeyPageResponse, ApiError> {
        state
            .auth
            .authorize(&credentials, Action::ManageKeys)
            .await?;
        let w = listing_window(page.0, per_page.0)?;
        let (found, total) =
            key_db::list(&state.pool, w.limit, w.offset)
                .await
                .map_err(|e| match e {
                    KeyDbError::Sql(e) => ApiError::database("listing API keys", e),
                    other => ApiError::internal("listing API keys", other),
                })?;
        Ok(KeyPageResponse::Ok(Json(KeyPage {
            items: found.into_iter().map(Into::into).collect(),
            page: page.0,
            per_page: per_page.0,
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
        let deleted = key_db::delete(&state.pool, id.0)
            .await
            .map_err(|e| ApiError::database("deleting an API key", e))?;
        if !deleted {
            return Err(ApiError::not_found(format!("no API key with id {}", id.0)));
        }
        tracing::info!(key.id = %id.0, "API key deleted");
        Ok(KeyDeleted::Deleted)
    }
}

fn key_error(err: KeyDbError) -> ApiError {
    match err {
        KeyDbError::Sql(e) => ApiError::database("reading API keys", e),
        other => ApiError::internal("reading API keys", other),
    }
}
