//! Uploads as the API and the uploads page list them, newest first, and how many are in
//! each unfinished state.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::{Hidden, Page, Window};
use crate::blobs::Digest;
use crate::db::uploads::{Upload, UploadRow, UploadStatus};
use crate::names::{DistroName, RepoName};

pub async fn list(
    executor: impl PgExecutor<'_> + Copy,
    hidden: &Hidden,
    status: Option<UploadStatus>,
    window: Window,
) -> Result<Page<Upload>, sqlx::Error> {
    // Counted alongside the page (two connections), as for packages.
    let total = count(executor, hidden, status);
    let items = sqlx::query_as!(
        UploadRow,
        r#"with page as (
             select id, created_at from uploads
             where ($1::upload_status is null or status = $1)
               and (distro <> all($2)
                    or (distro, repo) in (select * from unnest($3::text[], $4::text[])))
             order by created_at desc, id desc
             limit $5 offset $6
           )
           select u.id, u.distro as "distro: DistroName", u.repo as "repo: RepoName", u.status as "status: UploadStatus", u.error, u.size,
                  u.sha256 as "sha256: Digest", u.md5, u.allow_downgrade, u.overwrite, u.package_id, u.package_name,
                  u.package_version, u.package_arch, u.uploaded_by_kind, u.uploaded_by_key_id,
                  u.uploaded_by_name, u.uploaded_by_prefix, u.created_at, u.updated_at
           from page join uploads u on u.id = page.id
           order by page.created_at desc, page.id desc"#,
        status as Option<UploadStatus>,
        hidden.restricted(),
        hidden.open_distros(),
        hidden.open_repos(),
        window.limit,
        window.offset
    )
    .fetch_all(executor);
    let (total, rows) = tokio::try_join!(total, items)?;
    let items = rows
        .into_iter()
        .map(UploadRow::into_upload)
        .collect::<Result<_, _>>()?;
    Ok(Page { items, total })
}

/// How many uploads (with `status`, or all) the caller may see.
async fn count(
    executor: impl PgExecutor<'_>,
    hidden: &Hidden,
    status: Option<UploadStatus>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from uploads
           where ($1::upload_status is null or status = $1)
             and (distro <> all($2)
                  or (distro, repo) in (select * from unnest($3::text[], $4::text[])))"#,
        status as Option<UploadStatus>,
        hidden.restricted(),
        hidden.open_distros(),
        hidden.open_repos()
    )
    .fetch_one(executor)
    .await
}

/// An upload as the uploads page shows it: where it went, how it stands, and the package file
/// it became.
#[derive(Debug, Clone)]
pub struct RecentUpload {
    pub id: uuid::Uuid,
    pub distro: String,
    pub repo: String,
    pub status: UploadStatus,
    pub error: Option<String>,
    pub size: i64,
    pub package_name: Option<String>,
    pub package_version: Option<String>,
    pub package_arch: Option<String>,
    /// The package file's name, while its package is in the catalogue.
    pub filename: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The latest uploads the caller may see, with their package files' names.
pub async fn recent(
    executor: impl PgExecutor<'_> + Copy,
    hidden: &Hidden,
    window: Window,
) -> Result<Page<RecentUpload>, sqlx::Error> {
    let total = count(executor, hidden, None);
    let items = sqlx::query_as!(
        RecentUpload,
        r#"with page as (
             select id, created_at from uploads
             where distro <> all($1)
                   or (distro, repo) in (select * from unnest($2::text[], $3::text[]))
             order by created_at desc, id desc
             limit $4 offset $5
           )
           select u.id, u.distro, u.repo, u.status as "status: UploadStatus", u.error, u.size,
                  u.package_name, u.package_version, u.package_arch,
                  p.filename as "filename?", u.created_at, u.updated_at
           from page join uploads u on u.id = page.id
           left join packages p on p.id = u.package_id
           order by page.created_at desc, page.id desc"#,
        hidden.restricted(),
        hidden.open_distros(),
        hidden.open_repos(),
        window.limit,
        window.offset
    )
    .fetch_all(executor);
    let (total, items) = tokio::try_join!(total, items)?;
    Ok(Page { items, total })
}

/// How many uploads the caller may see are in each state but `published`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub queued: i64,
    pub processing: i64,
    /// Parsed, waiting for the database that lists them.
    pub parsed: i64,
    pub failed: i64,
}

impl Counts {
    /// Whether any upload is still on its way (not published, not failed).
    pub fn in_flight(&self) -> bool {
        self.queued + self.processing + self.parsed > 0
    }
}

pub async fn counts(executor: impl PgExecutor<'_>, hidden: &Hidden) -> Result<Counts, sqlx::Error> {
    sqlx::query_as!(
        Counts,
        r#"select count(*) filter (where status = 'queued') as "queued!",
                  count(*) filter (where status = 'processing') as "processing!",
                  count(*) filter (where status = 'parsed') as "parsed!",
                  count(*) filter (where status = 'failed') as "failed!"
           from uploads
           where status in ('queued', 'processing', 'parsed', 'failed')
             and (distro <> all($1)
                  or (distro, repo) in (select * from unnest($2::text[], $3::text[])))"#,
        hidden.restricted(),
        hidden.open_distros(),
        hidden.open_repos()
    )
    .fetch_one(executor)
    .await
}
