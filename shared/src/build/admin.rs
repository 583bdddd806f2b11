//! Creating, changing and deleting targets: the one place each is done, for the API (and
//! later the CLI's import of Vieter targets).

use sqlx::PgPool;

use crate::db::targets::{self, TargetRecord, WriteError};
use crate::names::{DistroName, RepoName};

use super::{InputError, TargetChange, TargetSpec};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("no target {0}")]
    NotFound(i64),
    /// The caller may not manage targets publishing to `distro/repo`.
    #[error("the API key may not manage the targets of {distro}/{repo}")]
    Forbidden { distro: DistroName, repo: RepoName },
    #[error("a target named {0} exists already")]
    NameTaken(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<WriteError> for AdminError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::NameTaken(name) => Self::NameTaken(name),
            WriteError::Sql(e) => Self::Db(e),
        }
    }
}

/// Stores a new target.
pub async fn create(pool: &PgPool, spec: &TargetSpec) -> Result<TargetRecord, AdminError> {
    let record = targets::insert(pool, spec).await?;
    tracing::info!(
        target.id = record.id,
        target.name = record.spec.name.as_str(),
        "target created"
    );
    Ok(record)
}

/// Applies `change` to target `id` when `may` allows managing targets both where it
/// publishes now and where it would publish; a target the caller may not manage is
/// `NotFound`, as if it did not exist.
pub async fn change(
    pool: &PgPool,
    id: i64,
    change: TargetChange,
    may: impl Fn(&DistroName, &RepoName) -> bool,
) -> Result<TargetRecord, AdminError> {
    let mut tx = pool.begin().await?;
    let current = reachable(&mut tx, id, &may).await?;
    let spec = current.spec.changed(change)?;
    if !may(&spec.distro, &spec.repo) {
        return Err(AdminError::Forbidden {
            distro: spec.distro,
            repo: spec.repo,
        });
    }
    let record = targets::update(&mut *tx, id, &spec)
        .await?
        .ok_or(AdminError::NotFound(id))?;
    tx.commit().await?;
    tracing::info!(
        target.id = id,
        target.name = spec.name.as_str(),
        "target changed"
    );
    Ok(record)
}

/// Deletes target `id` when `may` allows managing it.
pub async fn delete(
    pool: &PgPool,
    id: i64,
    may: impl Fn(&DistroName, &RepoName) -> bool,
) -> Result<(), AdminError> {
    let mut tx = pool.begin().await?;
    reachable(&mut tx, id, &may).await?;
    targets::delete(&mut *tx, id).await?;
    tx.commit().await?;
    tracing::info!(target.id = id, "target deleted");
    Ok(())
}

/// Target `id`, locked for the rest of the transaction, if it exists and `may` reaches it.
pub async fn reachable(
    conn: &mut sqlx::PgConnection,
    id: i64,
    may: impl Fn(&DistroName, &RepoName) -> bool,
) -> Result<TargetRecord, AdminError> {
    let record = targets::find_for_update(conn, id)
        .await?
        .filter(|t| may(&t.spec.distro, &t.spec.repo))
        .ok_or(AdminError::NotFound(id))?;
    Ok(record)
}
