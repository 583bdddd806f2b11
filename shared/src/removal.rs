//! Removing packages, architectures, repositories and distributions from the catalogue.
//!
//! Each removal is one transaction. Package removals go through the same coalesced
//! regeneration as uploads; removing a whole architecture, repository or distribution deletes
//! its rows, and the caller then takes its published tree out of service. Uploads whose package
//! is removed before any database listed it end `failed`. Every function returns the blobs the
//! removed packages owned (to delete after the commit), or `None` when the target does not exist.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::db::{DbError, catalogue, events, regen, uploads};
use crate::names::{ArchName, DistroName, RepoName};

const REMOVED: &str = "removed from the repository before a database listed it";

/// Removes the package `name` of architecture `arch` (`any` for architecture-independent ones).
pub async fn remove_package(
    pool: &PgPool,
    distro: &DistroName,
    repo: &RepoName,
    arch: &ArchName,
    name: &str,
) -> Result<Option<Vec<Uuid>>, DbError> {
    let mut tx = pool.begin().await?;
    let Some(repo_id) = catalogue::find_repo(&mut *tx, distro, repo).await? else {
        return Ok(None);
    };
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
    let blobs = delete_packages(&mut tx, &ids).await?;
    let arch_ids = if arch.is_any() {
        catalogue::repo_arch_ids(&mut *tx, repo_id).await?
    } else {
        catalogue::find_repo_arch(&mut *tx, repo_id, arch)
            .await?
            .into_iter()
            .collect()
    };
    regen::mark_dirty(&mut tx, &arch_ids).await?;
    tx.commit().await?;
    Ok(Some(blobs))
}

/// Removes an architecture: its database and its packages. `any` removes the repository's
/// architecture-independent packages from every architecture instead.
pub async fn remove_arch(
    pool: &PgPool,
    distro: &DistroName,
    repo: &RepoName,
    arch: &ArchName,
) -> Result<Option<Vec<Uuid>>, DbError> {
    let mut tx = pool.begin().await?;
    let Some(repo_id) = catalogue::find_repo(&mut *tx, distro, repo).await? else {
        return Ok(None);
    };
    let ids: Vec<i64> = sqlx::query_scalar!(
        "select id from packages where repo_id = $1 and arch = $2",
        repo_id,
        arch.as_str()
    )
    .fetch_all(&mut *tx)
    .await?;
    if arch.is_any() {
        if ids.is_empty() {
            return Ok(None);
        }
        let blobs = delete_packages(&mut tx, &ids).await?;
        let arch_ids = catalogue::repo_arch_ids(&mut *tx, repo_id).await?;
        regen::mark_dirty(&mut tx, &arch_ids).await?;
        tx.commit().await?;
        return Ok(Some(blobs));
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
    let blobs = delete_packages(&mut tx, &ids).await?;
    tx.commit().await?;
    Ok(Some(blobs))
}

/// Removes a repository with everything in it.
pub async fn remove_repo(
    pool: &PgPool,
    distro: &DistroName,
    repo: &RepoName,
) -> Result<Option<Vec<Uuid>>, DbError> {
    let mut tx = pool.begin().await?;
    let Some(repo_id) = catalogue::find_repo(&mut *tx, distro, repo).await? else {
        return Ok(None);
    };
    let ids: Vec<i64> = sqlx::query_scalar!("select id from packages where repo_id = $1", repo_id)
        .fetch_all(&mut *tx)
        .await?;
    let blobs = delete_packages(&mut tx, &ids).await?;
    sqlx::query!("delete from repos where id = $1", repo_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(blobs))
}

/// Removes a distribution with all its repositories.
pub async fn remove_distro(
    pool: &PgPool,
    distro: &DistroName,
) -> Result<Option<Vec<Uuid>>, DbError> {
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
    let blobs = delete_packages(&mut tx, &ids).await?;
    sqlx::query!("delete from distros where id = $1", distro_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(blobs))
}

/// Deletes packages (recording each in the package history) and returns their blobs.
async fn delete_packages(conn: &mut PgConnection, ids: &[i64]) -> Result<Vec<Uuid>, DbError> {
    uploads::fail_unpublished(&mut *conn, ids, REMOVED).await?;
    let deleted = crate::db::packages::delete(&mut *conn, ids).await?;
    for package in &deleted {
        events::record(
            &mut *conn,
            &events::Event {
                repo_id: package.repo_id,
                name: &package.name,
                arch: &package.arch,
                version: &package.version,
                action: events::Action::Removed,
                upload_id: Some(package.upload_id),
                detail: None,
            },
        )
        .await?;
    }
    Ok(deleted.into_iter().map(|d| d.upload_id).collect())
}
