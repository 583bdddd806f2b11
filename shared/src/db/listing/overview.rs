//! The catalogue at a glance, for the web UI's home page: every visible repository
//! architecture with its package count and last publication, and the latest packages.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::Hidden;
use super::packages::PackageSummary;
use crate::names::FileName;

/// One architecture of one repository.
#[derive(Debug, Clone)]
pub struct ArchEntry {
    pub distro: String,
    pub repo: String,
    /// `None` for a repository with no architecture yet.
    pub arch: Option<String>,
    /// Packages its live database lists: the architecture's own and the `any` ones (0 before
    /// its first publish).
    pub package_count: i64,
    pub published_at: Option<DateTime<Utc>>,
}

/// Every visible repository architecture, by distribution, repository and architecture.
pub async fn arches(
    executor: impl PgExecutor<'_>,
    hidden: &Hidden,
) -> Result<Vec<ArchEntry>, sqlx::Error> {
    sqlx::query_as!(
        ArchEntry,
        r#"select d.name as distro, r.name as repo, ra.arch as "arch?",
                  coalesce(ra.package_count, 0) as "package_count!",
                  ra.published_at as "published_at?"
           from distros d join repos r on r.distro_id = d.id
           left join repo_arches ra on ra.repo_id = r.id
           where d.name <> all($1)
              or (d.name, r.name) in (select * from unnest($2::text[], $3::text[]))
           order by d.name collate "C", r.name collate "C", ra.arch collate "C""#,
        hidden.restricted(),
        hidden.open_distros(),
        hidden.open_repos()
    )
    .fetch_all(executor)
    .await
}

/// The `limit` most recently published visible packages, newest first.
pub async fn recent(
    executor: impl PgExecutor<'_>,
    hidden: &Hidden,
    limit: i64,
) -> Result<Vec<PackageSummary>, sqlx::Error> {
    sqlx::query_as!(
        PackageSummary,
        r#"select p.id, d.name as distro, r.name as repo, p.arch, p.name, p.version,
                  p.description, p.build_date, p.compressed_size,
                  p.filename as "filename: FileName"
           from packages p join repos r on r.id = p.repo_id join distros d on d.id = r.distro_id
           where d.name <> all($1)
              or (d.name, r.name) in (select * from unnest($2::text[], $3::text[]))
           order by p.created_at desc, p.id desc
           limit $4"#,
        hidden.restricted(),
        hidden.open_distros(),
        hidden.open_repos(),
        limit
    )
    .fetch_all(executor)
    .await
}
