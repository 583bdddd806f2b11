//! API keys and their scopes. Secrets are never stored, only their digests (see `crate::keys`).

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::actor::ActorError;
use crate::keys::{Scope, ScopeError};

/// A key as listed: everything but its secret.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
}

/// A key that might be the one presented: its digest, to compare, and its scopes.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub secret_sha256: Vec<u8>,
    pub scopes: Vec<Scope>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyDbError {
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// A stored scope that no longer parses (a name rule got stricter): the key is unusable.
    #[error("key {id} has an invalid stored scope: {source}")]
    BadScope { id: Uuid, source: ScopeError },
    /// A stored name that no longer makes an actor (`Actor::key`): the key is unusable.
    #[error("key {id} has an invalid stored name: {source}")]
    BadActor { id: Uuid, source: ActorError },
}

pub struct NewKey<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_sha256: &'a [u8],
    pub scopes: &'a [Scope],
}

/// Records a key with its scopes, in one transaction.
pub async fn insert(pool: &PgPool, key: &NewKey<'_>) -> Result<DateTime<Utc>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let created_at = sqlx::query_scalar!(
        "insert into api_keys (id, name, prefix, secret_sha256) values ($1, $2, $3, $4)
         returning created_at",
        key.id,
        key.name,
        key.prefix,
        key.secret_sha256
    )
    .fetch_one(&mut *tx)
    .await?;
    for scope in key.scopes {
        let target = scope.target();
        sqlx::query!(
            "insert into api_key_scopes (key_id, permission, distro, repo) values ($1, $2, $3, $4)",
            key.id,
            scope.permission().as_str(),
            target.map(|t| t.distro().as_str()),
            target.and_then(|t| t.repo()).map(|r| r.as_str()),
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(created_at)
}

/// Scopes as stored: (permission, distro, repo) triples, aggregated per key.
struct StoredScopes {
    permissions: Vec<String>,
    distros: Vec<Option<String>>,
    repos: Vec<Option<String>>,
}

impl StoredScopes {
    fn parse(self, id: Uuid) -> Result<Vec<Scope>, KeyDbError> {
        self.permissions
            .iter()
            .zip(&self.distros)
            .zip(&self.repos)
            .map(|((p, d), r)| {
                Scope::from_parts(p, d.as_deref(), r.as_deref())
                    .map_err(|source| KeyDbError::BadScope { id, source })
            })
            .collect()
    }
}

/// Keys whose secret starts with `prefix`: usually none or one.
pub async fn candidates(
    executor: impl PgExecutor<'_>,
    prefix: &str,
) -> Result<Vec<Candidate>, KeyDbError> {
    let rows = sqlx::query!(
        r#"select k.id, k.name, k.prefix, k.secret_sha256,
                  array_agg(s.permission order by s.permission, s.distro, s.repo) as "permissions!",
                  array_agg(s.distro order by s.permission, s.distro, s.repo) as "distros!: Vec<Option<String>>",
                  array_agg(s.repo order by s.permission, s.distro, s.repo) as "repos!: Vec<Option<String>>"
           from api_keys k join api_key_scopes s on s.key_id = k.id
           where k.prefix = $1
           group by k.id"#,
        prefix
    )
    .fetch_all(executor)
    .await?;
    rows.into_iter()
        .map(|row| {
            let scopes = StoredScopes {
                permissions: row.permissions,
                distros: row.distros,
                repos: row.repos,
            }
            .parse(row.id)?;
            Ok(Candidate {
                id: row.id,
                name: row.name,
                prefix: row.prefix,
                secret_sha256: row.secret_sha256,
                scopes,
            })
        })
        .collect()
}

/// One page of keys, newest first, and how many there are.
pub async fn list(
    pool: &PgPool,
    limit: i64,
    offset: i64,
) -> Result<(Vec<ApiKey>, i64), KeyDbError> {
    let total = sqlx::query_scalar!(r#"select count(*) as "n!" from api_keys"#)
        .fetch_one(pool)
        .await?;
    let rows = sqlx::query!(
        r#"with page as (
             select id from api_keys order by created_at desc, id desc limit $1 offset $2
           )
           select k.id, k.name, k.prefix, k.created_at,
                  array_agg(s.permission order by s.permission, s.distro, s.repo) as "permissions!",
                  array_agg(s.distro order by s.permission, s.distro, s.repo) as "distros!: Vec<Option<String>>",
                  array_agg(s.repo order by s.permission, s.distro, s.repo) as "repos!: Vec<Option<String>>"
           from page join api_keys k on k.id = page.id join api_key_scopes s on s.key_id = k.id
           group by k.id
           order by k.created_at desc, k.id desc"#,
        limit,
        offset
    )
    .fetch_all(pool)
    .await?;
    let keys = rows
        .into_iter()
        .map(|row| {
            let scopes = StoredScopes {
                permissions: row.permissions,
                distros: row.distros,
                repos: row.repos,
            }
            .parse(row.id)?;
            Ok(ApiKey {
                id: row.id,
                name: row.name,
                prefix: row.prefix,
                scopes,
                created_at: row.created_at,
            })
        })
        .collect::<Result<_, KeyDbError>>()?;
    Ok((keys, total))
}

/// One key, without its secret.
pub async fn find(executor: impl PgExecutor<'_>, id: Uuid) -> Result<Option<ApiKey>, KeyDbError> {
    let row = sqlx::query!(
        r#"select k.id, k.name, k.prefix, k.created_at,
                  array_agg(s.permission order by s.permission, s.distro, s.repo) as "permissions!",
                  array_agg(s.distro order by s.permission, s.distro, s.repo) as "distros!: Vec<Option<String>>",
                  array_agg(s.repo order by s.permission, s.distro, s.repo) as "repos!: Vec<Option<String>>"
           from api_keys k join api_key_scopes s on s.key_id = k.id
           where k.id = $1
           group by k.id"#,
        id
    )
    .fetch_optional(executor)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let scopes = StoredScopes {
        permissions: row.permissions,
        distros: row.distros,
        repos: row.repos,
    }
    .parse(row.id)?;
    Ok(Some(ApiKey {
        id: row.id,
        name: row.name,
        prefix: row.prefix,
        scopes,
        created_at: row.created_at,
    }))
}

/// Deletes a key (its scopes go with it). Returns false when there was no such key.
pub async fn delete(executor: impl PgExecutor<'_>, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!("delete from api_keys where id = $1", id)
        .execute(executor)
        .await?;
    Ok(done.rows_affected() == 1)
}
