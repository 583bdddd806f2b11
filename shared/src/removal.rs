//! Removing packages, architectures, repositories and distributions from the catalogue.
//!
//! Each removal is one transaction. Package removals go through the same coalesced
//! regeneration as uploads; removing a whole architecture, repository or distribution deletes
//! its rows and its manifest with them, so its files stop being served at once. Uploads whose
//! package is removed before any database listed it end `failed`. Every function returns how
//! many packages it removed, or `None` when the target does not exist. Blobs nothing refers to
//! any more are the garbage collector's (`crate::blobs::collect_garbage`).
//! Each removal by a key is also recorded in `removals`, which outlives what it removed.

use sqlx::{PgConnection, PgPool};

use crate::actor::Actor;
use crate::db::removals::{self, Removal};
use crate::db::{DbError, catalogue, events, mirrors, packages, regen, uploads};
use crate::mirror::Upstream;
use crate::names::{ArchName, DistroName, RepoName};

/// Why packages could not be removed (nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum RemovalError {
    /// A mirror's packages are the upstream's: they leave when the upstream drops them.
    #[error(
        "{distro}/{repo} is a mirror of {upstream}: its packages come from there and cannot be          removed here (delete the mirror to make it a local repository)"
    )]
    Mirrored {
        distro: DistroName,
        repo: RepoName,
        upstream: Upstream,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for RemovalError {
    fn from(err: sqlx::Error) -> Self {
        Self::Db(DbError::Sql(err))
    }
}

/// Refuses removals from a mirrored repository.
async fn refuse_mirrored(
    conn: &mut PgConnection,
    repo_id: i64,
    distro: &DistroName,
    repo: &RepoName,
) -> Result<(), RemovalError> {
    match mirrors::upstream_of_repo(&mut *conn, repo_id).await? {
        Some(upstream) => Err(RemovalError::Mirrored {
            distro: distro.clone(),
            repo: repo.clone(),
            upstream,
        }),
        None => Ok(()),
    }
}

const REMOVED: &str = "removed from the repository before a database listed it";

/// Why packages leave the catalogue.
#[derive(Clone, Copy)]
enum Why<'a> {
    /// This key removed them: uploads a database already listed stay `published`.
    Removed(&'a Actor),
    /// They cannot be published ([`reject_packages`]): their uploads end `failed` with this
    /// reason, listed before or not, since the package is gone from the databases either way.
    Rejected(&'a str),
}

/// Removes the package `name` of architecture `arch` (`any` for architecture-independent ones).
/// Every removal records `actor` in the package history.
pub async fn remove_package(
    pool: &PgPool,
    distro: &DistroName,
    repo: &RepoName,
    arch: &ArchName,
    name: &str,
    actor: &Actor,
) -> Result<Option<usize>, RemovalError> {
    let mut tx = pool.begin().await?;
    let Some(repo_id) = catalogue::find_repo(&mut *tx, distro, repo).await? else {
        return Ok(None);
    };
    refuse_mirrored(&mut tx, repo_id, distro, repo).await?;
    crate::ingest::lock_package_name(&mut tx, repo_id, name).await?;
    let ids: Vec<i64> = sqlx::query_scalar!(
        "select id from packages where repo_id = $1 and arch = $2 and name = $3",
        repo_id,
        arch.as_str(),
        name
    )
    .fetch_all(&mut *tx)
    .await?;
    if ids.is_empty() {
        return Ok(None);
    }
    let removed = delete_packages(&mut tx, &ids, Why::Removed(actor)).await?;
    let arch_ids = listing_arches(&mut tx, repo_id, arch).await?;
    regen::mark_dirty(&mut tx, &arch_ids).await?;
    let removal = Removal {
        distro,
        repo: Some(repo),
        arch: Some(arch),
        name: Some(name),
        packages: ids.len(),
        actor,
    };
    removals::record(&mut *tx, &removal).await?;
    tx.commit().await?;
    Ok(Some(removed))
}

/// Takes packages that keep their repository from being published out of the catalogue
/// (see [`crate::regenerate::RegenerateError::Unpublishable`]): their uploads end `failed`
/// with `reason`, the package history records why, and their repositories are rebuilt
/// without them. Packages already gone are skipped. Returns how many were taken out.
pub async fn reject_packages(
    pool: &PgPool,
    package_ids: &[i64],
    reason: &str,
) -> Result<usize, DbError> {
    let mut tx = pool.begin().await?;
    let mut rejected = 0;
    for package in packages::locate(&mut *tx, package_ids).await? {
        crate::ingest::lock_package_name(&mut tx, package.repo_id, &package.name).await?;
        // Under the name's lock: a package replaced meanwhile has left already, and the
        // upload of the old one must keep its status.
        if packages::still_current(&mut *tx, &[package.id])
            .await?
            .is_empty()
        {
            continue;
        }
        rejected += delete_packages(&mut tx, &[package.id], Why::Rejected(reason)).await?;
        let arch = ArchName::parse(&package.arch).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let arch_ids = listing_arches(&mut tx, package.repo_id, &arch).await?;
        regen::mark_dirty(&mut tx, &arch_ids).await?;
    }
    tx.commit().await?;
    Ok(rejected)
}

/// The architectures whose databases list packages of `arch`: all of the repository's for
/// `any`.
async fn listing_arches(
    conn: &mut PgConnection,
    repo_id: i64,
    arch: &ArchName,
) -> Result<Vec<i64>, sqlx::Error> {
    Ok(if arch.is_any() {
        catalogue::repo_arch_ids(&mut *conn, repo_id).await?
    } else {
        catalogue::find_repo_arch(&mut *conn, repo_id, arch)
            .await?
            .into_iter()
            .collect()
    })
}

/// Removes an architecture: its database and its packages. `any` removes the repository's
/// architecture-independent packages from every architecture instead.
pub async fn remove_arch(
    pool: &PgPool,
    distro: &DistroName,
    repo: &RepoName,
    arch: &ArchName,
    actor: &Actor,
) -> Result<Option<usize>, RemovalError> {
    let mut tx = pool.begin().await?;
    let Some(repo_id) = catalogue::find_repo(&mut *tx, distro, repo).await? else {
        return Ok(None);
    };
    refuse_mirrored(&mut tx, repo_id, distro, repo).await?;
    let ids: Vec<i64> = sqlx::query_scalar!(
        "select id from packages where repo_id = $1 and arch = $2",
        repo_id,
        arch.as_str()
    )
    .fetch_all(&mut *tx)
    .await?;
    let removal = Removal {
        distro,
        repo: Some(repo),
        arch: Some(arch),
        name: None,
        packages: ids.len(),
        actor,
    };
    if arch.is_any() {
        if ids.is_empty() {
            return Ok(None);
        }
        let removed = delete_packages(&mut tx, &ids, Why::Removed(actor)).await?;
        let arch_ids = catalogue::repo_arch_ids(&mut *tx, repo_id).await?;
        regen::mark_dirty(&mut tx, &arch_ids).await?;
        removals::record(&mut *tx, &removal).await?;
        tx.commit().await?;
        return Ok(Some(removed));
    }
    let deleted = sqlx::query!(
        "delete from repo_arches where repo_id = $1 and arch = $2",
        repo_id,
        arch.as_str()
    )
    .execute(&mut *tx)
    .await?;
    if deleted.rows_affected() == 0 {
        return Ok(None);
    }
    let removed = delete_packages(&mut tx, &ids, Why::Removed(actor)).await?;
    removals::record(&mut *tx, &removal).await?;
    tx.commit().await?;
    Ok(Some(removed))
}

/// Removes a repository with everything in it (a mirror of it too).
pub async fn remove_repo(
    pool: &PgPool,
    distro: &DistroName,
    repo: &RepoName,
    actor: &Actor,
) -> Result<Option<usize>, DbError> {
    let mut tx = pool.begin().await?;
    let Some(repo_id) = catalogue::find_repo(&mut *tx, distro, repo).await? else {
        return Ok(None);
    };
    let ids: Vec<i64> = sqlx::query_scalar!("select id from packages where repo_id = $1", repo_id)
        .fetch_all(&mut *tx)
        .await?;
    let removed = delete_packages(&mut tx, &ids, Why::Removed(actor)).await?;
    sqlx::query!("delete from repos where id = $1", repo_id)
        .execute(&mut *tx)
        .await?;
    let removal = Removal {
        distro,
        repo: Some(repo),
        arch: None,
        name: None,
        packages: ids.len(),
        actor,
    };
    removals::record(&mut *tx, &removal).await?;
    tx.commit().await?;
    Ok(Some(removed))
}

/// Removes a distribution with all its repositories.
pub async fn remove_distro(
    pool: &PgPool,
    distro: &DistroName,
    actor: &Actor,
) -> Result<Option<usize>, DbError> {
    let mut tx = pool.begin().await?;
    let Some(distro_id) =
        sqlx::query_scalar!("select id from distros where name = $1", distro.as_str())
            .fetch_optional(&mut *tx)
            .await?
    else {
        return Ok(None);
    };
    let ids: Vec<i64> = sqlx::query_scalar!(
        "select p.id from packages p join repos r on r.id = p.repo_id where r.distro_id = $1",
        distro_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let removed = delete_packages(&mut tx, &ids, Why::Removed(actor)).await?;
    sqlx::query!("delete from distros where id = $1", distro_id)
        .execute(&mut *tx)
        .await?;
    let removal = Removal {
        distro,
        repo: None,
        arch: None,
        name: None,
        packages: ids.len(),
        actor,
    };
    removals::record(&mut *tx, &removal).await?;
    tx.commit().await?;
    Ok(Some(removed))
}

/// Deletes packages (recording each in the package history) and returns how many.
async fn delete_packages(
    conn: &mut PgConnection,
    ids: &[i64],
    why: Why<'_>,
) -> Result<usize, DbError> {
    let (detail, actor) = match why {
        Why::Removed(actor) => {
            uploads::fail_for_removed_packages(&mut *conn, ids, REMOVED, false).await?;
            (None, Some(actor))
        }
        Why::Rejected(reason) => {
            uploads::fail_for_removed_packages(&mut *conn, ids, reason, true).await?;
            (Some(reason), None)
        }
    };
    let deleted = packages::delete(&mut *conn, ids).await?;
    for package in &deleted {
        events::record(
            &mut *conn,
            &events::Event {
                repo_id: package.repo_id,
                name: &package.name,
                arch: &package.arch,
                version: &package.version,
                action: events::Action::Removed,
                upload_id: package.upload_id,
                detail,
                actor,
            },
        )
        .await?;
    }
    Ok(deleted.len())
}
