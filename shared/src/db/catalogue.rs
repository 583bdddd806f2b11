//! Distributions, repositories and the architectures they publish.
//!
//! The `ensure_*` functions look a row up and insert it only when missing (`on conflict do
//! nothing`), so concurrent ingests into one repository never queue on a row lock here.

use sqlx::{PgConnection, PgExecutor};

use crate::names::{ArchName, DistroName, RepoName};

/// Returns the distribution's id, creating it if needed.
pub async fn ensure_distro(
    conn: &mut PgConnection,
    distro: &DistroName,
) -> Result<i64, sqlx::Error> {
    sqlx::query!(
        "insert into distros (name) values ($1) on conflict (name) do nothing",
        distro.as_str()
    )
    .execute(&mut *conn)
    .await?;
    find_distro(&mut *conn, distro)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

pub async fn find_distro(
    executor: impl PgExecutor<'_>,
    distro: &DistroName,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!("select id from distros where name = $1", distro.as_str())
        .fetch_optional(executor)
        .await
}

/// Returns the repository's id, creating the distribution and repository if needed.
pub async fn ensure_repo(
    conn: &mut PgConnection,
    distro: &DistroName,
    repo: &RepoName,
) -> Result<i64, sqlx::Error> {
    if let Some(id) = find_repo(&mut *conn, distro, repo).await? {
        return Ok(id);
    }
    sqlx::query!(
        "insert into distros (name) values ($1) on conflict (name) do nothing",
        distro.as_str()
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into repos (distro_id, name)
         select id, $2 from distros where name = $1
         on conflict (distro_id, name) do nothing",
        distro.as_str(),
        repo.as_str()
    )
    .execute(&mut *conn)
    .await?;
    find_repo(&mut *conn, distro, repo)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

pub async fn find_repo(
    executor: impl PgExecutor<'_>,
    distro: &DistroName,
    repo: &RepoName,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select r.id from repos r join distros d on d.id = r.distro_id
         where d.name = $1 and r.name = $2",
        distro.as_str(),
        repo.as_str()
    )
    .fetch_optional(executor)
    .await
}

/// Whether the server signs the packages that arrive unsigned in a repository (false for a
/// repository that does not exist yet).
pub async fn signs_packages(
    executor: impl PgExecutor<'_>,
    distro: &DistroName,
    repo: &RepoName,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        "select r.sign_packages from repos r join distros d on d.id = r.distro_id
         where d.name = $1 and r.name = $2",
        distro.as_str(),
        repo.as_str()
    )
    .fetch_optional(executor)
    .await?;
    Ok(found.unwrap_or(false))
}

/// Sets whether the server signs the packages that arrive unsigned in a repository (created
/// if needed).
pub async fn set_sign_packages(
    conn: &mut PgConnection,
    distro: &DistroName,
    repo: &RepoName,
    sign: bool,
) -> Result<(), sqlx::Error> {
    let repo_id = ensure_repo(&mut *conn, distro, repo).await?;
    sqlx::query!(
        "update repos set sign_packages = $2 where id = $1",
        repo_id,
        sign
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns the id of a concrete architecture of a repository, creating it if needed. A new
/// architecture starts dirty, so its first database gets built.
pub async fn ensure_repo_arch(
    conn: &mut PgConnection,
    repo_id: i64,
    arch: &ArchName,
) -> Result<i64, sqlx::Error> {
    debug_assert!(!arch.is_any(), "`any` is not a database architecture");
    if let Some(id) = find_repo_arch(&mut *conn, repo_id, arch).await? {
        return Ok(id);
    }
    sqlx::query!(
        "insert into repo_arches (repo_id, arch) values ($1, $2)
         on conflict (repo_id, arch) do nothing",
        repo_id,
        arch.as_str()
    )
    .execute(&mut *conn)
    .await?;
    find_repo_arch(&mut *conn, repo_id, arch)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

pub async fn find_repo_arch(
    executor: impl PgExecutor<'_>,
    repo_id: i64,
    arch: &ArchName,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from repo_arches where repo_id = $1 and arch = $2",
        repo_id,
        arch.as_str()
    )
    .fetch_optional(executor)
    .await
}

/// Whether a repository publishes databases for `arch`.
pub async fn arch_exists(
    executor: impl PgExecutor<'_>,
    distro: &DistroName,
    repo: &RepoName,
    arch: &ArchName,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        r#"select exists (select 1 from repo_arches ra
                          join repos r on r.id = ra.repo_id join distros d on d.id = r.distro_id
                          where d.name = $1 and r.name = $2 and ra.arch = $3) as "found!""#,
        distro.as_str(),
        repo.as_str(),
        arch.as_str()
    )
    .fetch_one(executor)
    .await?;
    Ok(found)
}

/// The concrete architectures of a repository, by id.
pub async fn repo_arch_ids(
    executor: impl PgExecutor<'_>,
    repo_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from repo_arches where repo_id = $1 order by id",
        repo_id
    )
    .fetch_all(executor)
    .await
}

/// The repository's packages in the catalogue.
pub async fn package_count(
    executor: impl PgExecutor<'_>,
    repo_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!("select package_count from repos where id = $1", repo_id)
        .fetch_one(executor)
        .await
}

/// Locks a repository's row and returns its package count: what recording a package locks
/// too, so no package arrives while the caller decides on an empty repository.
pub async fn lock_package_count(conn: &mut PgConnection, repo_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "select package_count from repos where id = $1 for update",
        repo_id
    )
    .fetch_one(conn)
    .await
}
