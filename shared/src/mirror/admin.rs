//! Creating, changing, deleting mirrors and asking for syncs: the operations the API and the
//! configuration file's declared mirrors both go through.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};

use super::{MirrorSpec, SpecError};
use crate::db::locks::{self, Lock};
use crate::db::mirrors::{self, MirrorRecord};
use crate::db::{DbError, catalogue, uploads};
use crate::jobs::{self, SyncMirror};
use crate::names::{DistroName, RepoName};

/// Why a mirror could not be created or changed. The messages are for the admin.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{distro}/{repo} is already a mirror (mirror {id})")]
    AlreadyMirrored {
        distro: DistroName,
        repo: RepoName,
        id: i64,
    },
    #[error(
        "{distro}/{repo} holds uploaded packages (or uploads in progress): a mirror's \
         repository holds only the upstream's packages, so mirror into a new repository"
    )]
    RepoInUse { distro: DistroName, repo: RepoName },
    #[error("no mirror {0}")]
    NotFound(i64),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for AdminError {
    fn from(err: sqlx::Error) -> Self {
        Self::Db(DbError::Sql(err))
    }
}

/// Makes `distro/repo` (created if needed) a mirror and queues its first sync.
pub async fn create(
    pool: &PgPool,
    distro: &DistroName,
    repo: &RepoName,
    spec: &MirrorSpec,
    declared: bool,
) -> Result<MirrorRecord, AdminError> {
    let mut tx = pool.begin().await?;
    let repo_id = catalogue::ensure_repo(&mut tx, distro, repo).await?;
    let package_count = catalogue::lock_package_count(&mut tx, repo_id).await?;
    if let Some(existing) = mirrors::for_repo(&mut *tx, distro, repo).await? {
        return Err(AdminError::AlreadyMirrored {
            distro: distro.clone(),
            repo: repo.clone(),
            id: existing.id,
        });
    }
    if package_count > 0
        || uploads::has_unfinished(&mut *tx, distro.as_str(), repo.as_str()).await?
    {
        return Err(AdminError::RepoInUse {
            distro: distro.clone(),
            repo: repo.clone(),
        });
    }
    let id = mirrors::insert(&mut tx, repo_id, spec, declared).await?;
    queue_in(&mut tx, id).await?;
    let created = mirrors::find(&mut *tx, id)
        .await?
        .ok_or(AdminError::NotFound(id))?;
    tx.commit().await?;
    Ok(created)
}

/// Replaces a mirror's settings. A sync is queued when the upstream or its architectures
/// changed.
pub async fn update(
    pool: &PgPool,
    id: i64,
    spec: &MirrorSpec,
    declared: bool,
) -> Result<MirrorRecord, AdminError> {
    let mut tx = pool.begin().await?;
    let before = mirrors::find(&mut *tx, id)
        .await?
        .ok_or(AdminError::NotFound(id))?;
    mirrors::update(&mut tx, id, spec, declared).await?;
    if before.spec.upstream != spec.upstream || before.spec.arches != spec.arches {
        queue_in(&mut tx, id).await?;
    }
    let updated = mirrors::find(&mut *tx, id)
        .await?
        .ok_or(AdminError::NotFound(id))?;
    tx.commit().await?;
    Ok(updated)
}

/// Stops mirroring: the repository keeps what it serves, as a local repository that accepts
/// uploads again. False if there was no such mirror.
pub async fn delete(pool: &PgPool, id: i64) -> Result<bool, DbError> {
    Ok(mirrors::delete(pool, id).await?)
}

/// Queues a sync of mirror `id` now, unless one is queued already; the mirror as it is then,
/// or `None` if there is no such mirror.
pub async fn queue_sync(pool: &PgPool, id: i64) -> Result<Option<MirrorRecord>, DbError> {
    let mut tx = pool.begin().await?;
    // Marking a mirror that is gone changes nothing; reading it back tells.
    queue_in(&mut tx, id).await?;
    let queued = mirrors::find(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(queued)
}

/// Queues the syncs that are due by their schedule; returns how many. A mirror being synced
/// right now (its sync lock is held) is not due yet: its schedule moves when the sync ends. One
/// whose sync died with its worker is (the lock went with the worker's connection).
pub async fn queue_due(pool: &PgPool) -> Result<usize, DbError> {
    let mut queued = 0;
    let mut lock_conn = pool.acquire().await?;
    for id in mirrors::due(pool).await? {
        let key = Lock::MirrorSync { mirror_id: id };
        if !locks::try_lock(&mut lock_conn, &key).await? {
            continue;
        }
        locks::unlock(&mut lock_conn, &key).await?;
        let mut tx = pool.begin().await?;
        queue_in(&mut tx, id).await?;
        tx.commit().await?;
        queued += 1;
    }
    Ok(queued)
}

/// Queues a sync job in the caller's transaction unless one is pending.
async fn queue_in(conn: &mut PgConnection, id: i64) -> Result<(), DbError> {
    if mirrors::mark_pending(conn, id).await? {
        jobs::enqueue(conn, &SyncMirror { mirror_id: id }, Duration::ZERO).await?;
    }
    Ok(())
}

/// Queues the job again after `delay` for a sync that found another sync of its mirror
/// running: the pending flag stays set, so exactly one job keeps it.
pub async fn requeue(conn: &mut PgConnection, id: i64, delay: Duration) -> Result<(), DbError> {
    jobs::enqueue(conn, &SyncMirror { mirror_id: id }, delay).await?;
    Ok(())
}

/// A mirror declared in a configuration file.
#[derive(Debug, Clone)]
pub struct Declared {
    pub distro: DistroName,
    pub repo: RepoName,
    pub spec: MirrorSpec,
}

/// Makes the declared mirrors exist with their declared settings (idempotent: every worker
/// applies its configuration at start).
pub async fn declare(pool: &PgPool, declared: &[Declared]) -> Result<(), AdminError> {
    for mirror in declared {
        match mirrors::for_repo(pool, &mirror.distro, &mirror.repo).await? {
            Some(existing) if existing.spec == mirror.spec && existing.declared => {}
            Some(existing) => {
                update(pool, existing.id, &mirror.spec, true).await?;
            }
            None => match create(pool, &mirror.distro, &mirror.repo, &mirror.spec, true).await {
                // Another worker declared it at the same moment.
                Err(AdminError::AlreadyMirrored { .. }) => {}
                other => {
                    other?;
                }
            },
        }
    }
    Ok(())
}
