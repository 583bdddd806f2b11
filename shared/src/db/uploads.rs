//! Uploads: accepted package files and where each stands on its way into a repository.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::actor::{Actor, ActorError};
use crate::blobs::Digest;
use crate::names::{DistroName, RepoName};
use crate::signing::SignatureFile;

/// Where an upload stands. `published` and `failed` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "upload_status", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum UploadStatus {
    /// Stored and waiting for a worker.
    Queued,
    /// A worker is parsing it.
    Processing,
    /// In the catalogue; waiting for the repository database that lists it.
    Parsed,
    /// Listed by a live repository database: pacman can install it.
    Published,
    /// Refused; `error` says why. Nothing of it is left in the catalogue.
    Failed,
}

impl UploadStatus {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Published | Self::Failed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::Parsed => "parsed",
            Self::Published => "published",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Upload {
    pub id: Uuid,
    pub distro: DistroName,
    pub repo: RepoName,
    pub status: UploadStatus,
    pub error: Option<String>,
    pub size: i64,
    pub sha256: Digest,
    pub md5: String,
    pub allow_downgrade: bool,
    pub overwrite: bool,
    pub package_id: Option<i64>,
    pub package_name: Option<String>,
    pub package_version: Option<String>,
    pub package_arch: Option<String>,
    /// The key that uploaded it; `None` for uploads from before this was recorded.
    pub uploaded_by: Option<Actor>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An `uploads` row as selected, before its actor columns become an [`Actor`].
pub(crate) struct UploadRow {
    pub id: Uuid,
    pub distro: DistroName,
    pub repo: RepoName,
    pub status: UploadStatus,
    pub error: Option<String>,
    pub size: i64,
    pub sha256: Digest,
    pub md5: String,
    pub allow_downgrade: bool,
    pub overwrite: bool,
    pub package_id: Option<i64>,
    pub package_name: Option<String>,
    pub package_version: Option<String>,
    pub package_arch: Option<String>,
    pub uploaded_by_kind: Option<String>,
    pub uploaded_by_key_id: Option<Uuid>,
    pub uploaded_by_name: Option<String>,
    pub uploaded_by_prefix: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl UploadRow {
    pub(crate) fn into_upload(self) -> Result<Upload, sqlx::Error> {
        let uploaded_by = Actor::from_columns(
            self.uploaded_by_kind.as_deref(),
            self.uploaded_by_key_id,
            self.uploaded_by_name.as_deref(),
            self.uploaded_by_prefix.as_deref(),
        )
        .map_err(|e: ActorError| sqlx::Error::Decode(Box::new(e)))?;
        Ok(Upload {
            id: self.id,
            distro: self.distro,
            repo: self.repo,
            status: self.status,
            error: self.error,
            size: self.size,
            sha256: self.sha256,
            md5: self.md5,
            allow_downgrade: self.allow_downgrade,
            overwrite: self.overwrite,
            package_id: self.package_id,
            package_name: self.package_name,
            package_version: self.package_version,
            package_arch: self.package_arch,
            uploaded_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// An upload about to be recorded.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub id: Uuid,
    pub distro: DistroName,
    pub repo: RepoName,
    pub size: i64,
    pub sha256: Digest,
    pub md5: String,
    pub allow_downgrade: bool,
    pub overwrite: bool,
    /// The key uploading it.
    pub uploaded_by: Actor,
    /// The detached signature it came with.
    pub signature: Option<SignatureFile>,
    /// The build whose package it is, when an agent uploaded it.
    pub build_id: Option<i64>,
}

pub async fn insert(
    executor: impl PgExecutor<'_>,
    upload: &NewUpload,
    job_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into uploads (id, distro, repo, size, sha256, md5, allow_downgrade, overwrite, job_id,
                              uploaded_by_kind, uploaded_by_key_id, uploaded_by_name,
                              uploaded_by_prefix, signature, build_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        upload.id,
        upload.distro.as_str(),
        upload.repo.as_str(),
        upload.size,
        &upload.sha256 as &Digest,
        upload.md5,
        upload.allow_downgrade,
        upload.overwrite,
        job_id,
        upload.uploaded_by.kind().as_str(),
        upload.uploaded_by.key_id(),
        upload.uploaded_by.name(),
        upload.uploaded_by.prefix(),
        upload.signature.as_ref().map(SignatureFile::as_bytes),
        upload.build_id,
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// The detached signature an upload came with, as received.
pub async fn signature(
    executor: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let found = sqlx::query_scalar!("select signature from uploads where id = $1", id)
        .fetch_optional(executor)
        .await?;
    Ok(found.flatten())
}

pub async fn find(executor: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Upload>, sqlx::Error> {
    sqlx::query_as!(
        UploadRow,
        r#"select id, distro as "distro: DistroName", repo as "repo: RepoName", status as "status: UploadStatus", error, size, sha256 as "sha256: Digest", md5,
                  allow_downgrade, overwrite, package_id, package_name, package_version,
                  package_arch, uploaded_by_kind, uploaded_by_key_id, uploaded_by_name,
                  uploaded_by_prefix, created_at, updated_at
           from uploads where id = $1"#,
        id
    )
    .fetch_optional(executor)
    .await?
    .map(UploadRow::into_upload)
    .transpose()
}

/// Locks an upload row for the rest of the transaction.
pub async fn lock(executor: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Upload>, sqlx::Error> {
    sqlx::query_as!(
        UploadRow,
        r#"select id, distro as "distro: DistroName", repo as "repo: RepoName", status as "status: UploadStatus", error, size, sha256 as "sha256: Digest", md5,
                  allow_downgrade, overwrite, package_id, package_name, package_version,
                  package_arch, uploaded_by_kind, uploaded_by_key_id, uploaded_by_name,
                  uploaded_by_prefix, created_at, updated_at
           from uploads where id = $1 for update"#,
        id
    )
    .fetch_optional(executor)
    .await?
    .map(UploadRow::into_upload)
    .transpose()
}

/// Moves a queued (or re-delivered) upload to `processing` and counts the start. Returns how
/// many times parsing it has started, this one included, or `None` when the upload is already
/// past parsing, i.e. this delivery of the job has nothing left to do.
pub async fn start_processing(
    executor: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!(
        "update uploads
         set status = 'processing', parse_attempts = parse_attempts + 1, updated_at = now()
         where id = $1 and status in ('queued', 'processing')
         returning parse_attempts",
        id
    )
    .fetch_optional(executor)
    .await
}

/// The reason recorded for an upload that failed because of a fault of the server's rather
/// than of the package. The uploads list is public, so the fault itself is only logged; the
/// id lets an operator find it in the log.
pub fn internal_error_reason(id: Uuid) -> String {
    format!(
        "internal error while processing the upload; the server log has the details \
         (upload id {id})"
    )
}

/// Fails an upload that is still waiting or being parsed. Returns false if it had already
/// moved on (another delivery of its job finished it).
pub async fn fail(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update uploads set status = 'failed', error = $2, package_id = null, updated_at = now()
         where id = $1 and status in ('queued', 'processing')",
        id,
        reason
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records which package an upload became, and its status (`parsed`, or `published` when the
/// upload repeated a package that is already live).
pub async fn set_package(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    package_id: i64,
    name: &str,
    version: &str,
    arch: &str,
    status: UploadStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update uploads set status = $2, package_id = $3, package_name = $4, package_version = $5,
                            package_arch = $6, error = null, updated_at = now()
         where id = $1",
        id,
        status as UploadStatus,
        package_id,
        name,
        version,
        arch
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// Replaces the job recorded for an upload (when a lost job is queued again).
pub async fn set_job(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    job_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update uploads set job_id = $2, updated_at = now() where id = $1",
        id,
        job_id
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// An unfinished upload whose parse job will not finish it.
#[derive(Debug, Clone)]
pub struct StrandedUpload {
    pub id: Uuid,
    /// The job gave up (attempts exhausted or killed) rather than vanished.
    pub job_gave_up: bool,
    pub last_result: Option<String>,
}

/// Unfinished uploads whose parse job is gone, finished without finishing them, or gave up,
/// older than `min_age_secs` so an upload being queued right now is never mistaken for one.
pub async fn stranded(
    executor: impl PgExecutor<'_>,
    min_age_secs: f64,
    limit: i64,
) -> Result<Vec<StrandedUpload>, sqlx::Error> {
    sqlx::query_as!(
        StrandedUpload,
        r#"select u.id,
                  coalesce(j.status = 'Killed'
                           or (j.status = 'Failed' and j.attempts >= j.max_attempts), false)
                      as "job_gave_up!",
                  j.last_result::text as last_result
           from uploads u
           left join apalis.jobs j on j.id = u.job_id
           where u.status in ('queued', 'processing')
             and u.updated_at < now() - make_interval(secs => $1)
             and (j.id is null
                  or j.status in ('Done', 'Killed')
                  or (j.status = 'Failed' and j.attempts >= j.max_attempts))
           order by u.created_at
           limit $2"#,
        min_age_secs,
        limit
    )
    .fetch_all(executor)
    .await
}

/// Whether any upload for this repository is still waiting to be parsed.
pub async fn has_unfinished(
    executor: impl PgExecutor<'_>,
    distro: &str,
    repo: &str,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        r#"select exists (
             select 1 from uploads
             where distro = $1 and repo = $2 and status in ('queued', 'processing')
           ) as "found!""#,
        distro,
        repo
    )
    .fetch_one(executor)
    .await?;
    Ok(found)
}

/// Ends the uploads of packages that leave the catalogue: those no database listed yet, and
/// with `published_too` also those a database listed (when the package is taken out because
/// it cannot be published any more).
pub async fn fail_for_removed_packages(
    executor: impl PgExecutor<'_>,
    package_ids: &[i64],
    reason: &str,
    published_too: bool,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "update uploads set status = 'failed', error = $2, updated_at = now()
         where package_id = any($1)
           and (status = 'parsed' or ($3 and status = 'published'))",
        package_ids,
        reason,
        published_too
    )
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}
