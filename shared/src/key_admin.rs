//! Creating and revoking API keys: the one implementation behind `POST/DELETE /api/v1/keys`
//! and the web UI's key pages. Who may call them is the caller's decision
//! (`keys::Access::ManageKeys`).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::actor::MAX_NAME_CHARS;
use crate::db::keys::{self as key_db, NewKey};
use crate::keys::{self, NewSecret, Scope};

#[derive(Debug, thiserror::Error)]
pub enum CreateKeyError {
    #[error(
        "a key needs a name of at most {MAX_NAME_CHARS} characters, without control characters"
    )]
    BadName,
    #[error("a key needs at least one scope")]
    NoScopes,
    #[error("generating a key secret: {0}")]
    Random(#[from] getrandom::Error),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// A key just made: the only moment its secret exists outside the caller's hands.
#[derive(Debug)]
pub struct CreatedKey {
    pub id: Uuid,
    /// The name as stored (trimmed).
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub secret: NewSecret,
}

/// Makes a key named `name` (trimmed) with `scopes` (duplicates dropped) and stores it.
pub async fn create(
    pool: &PgPool,
    name: &str,
    scopes: &[Scope],
) -> Result<CreatedKey, CreateKeyError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(CreateKeyError::BadName);
    }
    let mut unique: Vec<Scope> = Vec::with_capacity(scopes.len());
    for scope in scopes {
        if !unique.contains(scope) {
            unique.push(scope.clone());
        }
    }
    if unique.is_empty() {
        return Err(CreateKeyError::NoScopes);
    }
    let secret = keys::generate()?;
    let id = Uuid::now_v7();
    let created_at = key_db::insert(
        pool,
        &NewKey {
            id,
            name,
            prefix: &secret.prefix,
            secret_sha256: &secret.digest,
            scopes: &unique,
        },
    )
    .await?;
    tracing::info!(key.id = %id, key.prefix = %secret.prefix, "API key created");
    Ok(CreatedKey {
        id,
        name: name.to_owned(),
        scopes: unique,
        created_at,
        secret,
    })
}

/// Deletes a key: it stops authenticating at once, and its web sessions end with it (the
/// `ui_sessions` rows go in the same statement, by cascade). False when there was no such key.
pub async fn revoke(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let deleted = key_db::delete(pool, id).await?;
    if deleted {
        tracing::info!(key.id = %id, "API key deleted");
    }
    Ok(deleted)
}
