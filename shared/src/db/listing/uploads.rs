//! Uploads as the API lists them, newest first.

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
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from uploads
           where ($1::upload_status is null or status = $1)
             and (distro <> all($2)
                  or (distro, repo) in (select * from unnest($3::text[], $4::text[])))"#,
        status as Option<UploadStatus>,
        hidden.restricted(),
        hidden.open_distros(),
        hidden.open_repos()
    )
    .fetch_one(executor);
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
