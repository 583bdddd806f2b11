//! The parse job: read an accepted upload, check it, and put its package in the catalogue.
//!
//! Idempotent: it starts by moving the upload to `processing` only if it is not past that, and
//! `ingest::record` commits only while the upload is still `processing`. Each delivery counts
//! as a start, so an upload whose parsing keeps killing the worker fails after
//! `ingest::MAX_PARSE_STARTS` instead of being re-delivered forever.

use std::time::Instant;

use apalis::prelude::{BoxDynError, Data};
use rieter::db::uploads::{self, Upload};
use rieter::ingest::{self, IngestPackage, Outcome, Permissions, Start};
use rieter::jobs::ParseUpload;
use rieter::names::{DistroName, RepoName};
use rieter::package::{self, ParsedPackage};
use rieter::repo_db::{self, DbEntry, EntryMembers};
use uuid::Uuid;

use crate::error::{JobError, retry_transient};
use crate::state::{SharedState, WorkerState};

pub async fn run(job: ParseUpload, state: Data<SharedState>) -> Result<(), BoxDynError> {
    let state: &WorkerState = &state;
    let id = job.upload_id;
    let Err(err) = deliver(state, id).await else {
        return Ok(());
    };
    tracing::error!(upload.id = %id, error = %err, transient = err.is_transient(), "parse job failed");
    if !err.is_transient() {
        // Our fault, not the package's: the public uploads list gets a generic reason, the
        // log above has the details. Should this fail too, the sweep fails the upload later.
        let reason = uploads::internal_error_reason(id);
        if let Err(err) = fail(state, id, &reason).await {
            tracing::warn!(upload.id = %id, error = %err, "could not fail the upload; the sweep will");
        }
    }
    Err(err.into_job_failure())
}

/// One delivery of the job: counts the start once, then parses, retrying transient faults.
async fn deliver(state: &WorkerState, id: Uuid) -> Result<(), JobError> {
    let start = retry_transient("starting to parse an upload", || async {
        Ok(ingest::start(&state.pool, id).await?)
    });
    let upload = match start.await? {
        Start::Parse(upload) => upload,
        Start::Finished => {
            tracing::debug!(upload.id = %id, "upload already past parsing");
            return Ok(());
        }
        Start::GaveUp => {
            tracing::warn!(upload.id = %id, starts = ingest::MAX_PARSE_STARTS,
                "parsing this upload never finished; failed it");
            return Ok(state.storage.remove_blob(id).await?);
        }
    };
    retry_transient("parsing an upload", || handle(state, &upload)).await
}

async fn handle(state: &WorkerState, upload: &Upload) -> Result<(), JobError> {
    let id = upload.id;
    let started = Instant::now();
    let (parsed, members) = match parse(state, upload).await? {
        Ok(parsed) => parsed,
        Err(reason) => return refuse(state, upload, &reason).await,
    };
    let (Ok(distro), Ok(repo)) = (
        DistroName::parse(&upload.distro),
        RepoName::parse(&upload.repo),
    ) else {
        // Names were validated when the upload was accepted.
        return refuse(state, upload, "the upload's repository name is invalid").await;
    };
    let outcome = ingest::record(
        &state.pool,
        &IngestPackage {
            upload_id: id,
            distro: &distro,
            repo: &repo,
            parsed: &parsed,
            size: upload.size,
            sha256: &upload.sha256,
            md5: &upload.md5,
            permissions: Permissions {
                allow_downgrade: upload.allow_downgrade,
                overwrite: upload.overwrite,
            },
            db_member: &members.db,
            files_member: &members.files,
        },
        &state.ingest,
    )
    .await?;

    let info = &parsed.info;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Outcome::Added {
            package_id,
            replaced_blobs,
        } => {
            tracing::info!(
                upload.id = %id, package.id = package_id, package.name = %info.name,
                package.version = %info.version, package.arch = %info.arch,
                replaced = replaced_blobs.len(), duration_ms, "package added"
            );
            for blob in replaced_blobs {
                // Published copies are hard links in the repository tree; they stay until
                // the grace period after the database stops naming them.
                state.storage.remove_blob(blob).await?;
            }
        }
        Outcome::Unchanged { package_id } => {
            tracing::info!(upload.id = %id, package.id = package_id, package.name = %info.name,
                package.version = %info.version, "identical package already current");
            state.storage.remove_blob(id).await?;
        }
        Outcome::Refused(reason) => {
            tracing::info!(upload.id = %id, package.name = %info.name, package.version = %info.version, reason, "upload refused");
            state.storage.remove_blob(id).await?;
        }
        Outcome::AlreadyDone => tracing::debug!(upload.id = %id, "finished by another delivery"),
    }
    Ok(())
}

/// Parses the upload's blob and renders its database entries, off the async threads. The
/// outer error is a fault of ours; the inner one is the package's, as a reason for the uploader.
async fn parse(
    state: &WorkerState,
    upload: &Upload,
) -> Result<Result<(ParsedPackage, EntryMembers), String>, JobError> {
    let path = state.storage.blob_path(upload.id);
    let limits = state.config.limits();
    let (size, md5, sha256) = (upload.size, upload.md5.clone(), upload.sha256.clone());
    tokio::task::spawn_blocking(move || {
        let parsed = match package::parse_file(&path, &limits) {
            Ok(parsed) => parsed,
            // The blob could not be read: a fault of ours, whatever the package holds.
            Err(package::PackageError::Io(err)) => return Err(JobError::Io(err)),
            Err(err) => return Ok(Err(err.to_string())),
        };
        let filename = parsed.filename();
        let entry = DbEntry::new(&parsed.info, &filename, size, &md5, &sha256);
        let members = repo_db::render_members(&entry, &parsed.files)?;
        Ok(Ok((parsed, members)))
    })
    .await?
}

/// Fails the upload with `reason` and drops its blob; the catalogue is untouched.
async fn refuse(state: &WorkerState, upload: &Upload, reason: &str) -> Result<(), JobError> {
    tracing::info!(upload.id = %upload.id, distro = %upload.distro, repo = %upload.repo, reason, "upload refused");
    fail(state, upload.id, reason).await
}

/// Fails an upload still waiting or being parsed with `reason`, and drops its blob.
pub async fn fail(state: &WorkerState, id: Uuid, reason: &str) -> Result<(), JobError> {
    // Only an upload still being parsed is failed, and only then is its blob ours to drop.
    if uploads::fail(&state.pool, id, reason).await? {
        state.storage.remove_blob(id).await?;
    }
    Ok(())
}
