//! The parse job: read an accepted upload, check it, and put its package in the catalogue.
//!
//! Idempotent: it starts by moving the upload to `processing` only if it is not past that, and
//! `ingest::record` commits only while the upload is still `processing`. Each delivery counts
//! as a start, so an upload whose parsing keeps killing the worker fails after
//! `ingest::MAX_PARSE_STARTS` instead of being re-delivered forever.

use std::path::PathBuf;
use std::time::Instant;

use apalis::prelude::{BoxDynError, Data};
use rieter::blobs::Digest;
use rieter::db::uploads::{self, Upload};
use rieter::ingest::{
    self, BlobFacts, IngestPackage, Outcome, ParseBlobError, ParsedBlob, Permissions,
    SignaturePolicy, Start,
};
use rieter::jobs::ParseUpload;
use rieter::signing::SignatureFile;
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
            return Ok(());
        }
    };
    retry_transient("parsing an upload", || handle(state, &upload)).await
}

async fn handle(state: &WorkerState, upload: &Upload) -> Result<(), JobError> {
    let id = upload.id;
    let started = Instant::now();
    let ParsedBlob {
        parsed,
        signature,
        members,
    } = match parse(state, upload).await? {
        Ok(parsed) => parsed,
        Err(reason) => {
            record_parse("refused", started);
            return refuse(state, upload, &reason).await;
        }
    };
    let outcome = ingest::record(
        &state.pool,
        &state.blobs,
        &IngestPackage {
            upload_id: id,
            distro: &upload.distro,
            repo: &upload.repo,
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
            signature: signature.as_ref(),
        },
        &state.ingest,
    )
    .await?;

    let info = &parsed.info;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    record_parse(
        match outcome {
            Outcome::Added { .. } => "recorded",
            Outcome::Unchanged { .. } => "unchanged",
            Outcome::Refused(_) => "refused",
            Outcome::AlreadyDone => "duplicate",
        },
        started,
    );
    match outcome {
        // Blobs nothing refers to any more (a replaced package's, a refused upload's) are
        // the sweep's to collect; published ones stay until their grace period ends.
        Outcome::Added {
            package_id,
            replaced,
        } => tracing::info!(
            upload.id = %id, package.id = package_id, package.name = %info.name,
            package.version = %info.version, package.arch = %info.arch,
            replaced, duration_ms, "package added"
        ),
        Outcome::Unchanged { package_id } => {
            tracing::info!(upload.id = %id, package.id = package_id, package.name = %info.name,
                package.version = %info.version, "identical package already current");
        }
        Outcome::Refused(reason) => {
            tracing::info!(upload.id = %id, package.name = %info.name, package.version = %info.version, reason, "upload refused");
        }
        Outcome::AlreadyDone => tracing::debug!(upload.id = %id, "finished by another delivery"),
    }
    Ok(())
}

/// Counts a finished parse and its duration (`rieter::metrics`).
fn record_parse(outcome: &'static str, started: Instant) {
    metrics::counter!(rieter::metrics::PARSES, "outcome" => outcome).increment(1);
    metrics::histogram!(rieter::metrics::PARSE_DURATION).record(started.elapsed().as_secs_f64());
}

/// Parses the upload's blob, settles its signature and renders its database entries, off the
/// async threads. The outer error is a fault of ours; the inner one is the package's, as a
/// reason for the uploader.
async fn parse(
    state: &WorkerState,
    upload: &Upload,
) -> Result<Result<ParsedBlob, String>, JobError> {
    let uploaded = match uploads::signature(&state.pool, upload.id).await? {
        Some(bytes) => match SignatureFile::parse(bytes) {
            Ok(signature) => Some(signature),
            Err(err) => return Ok(Err(err.to_string())),
        },
        None => None,
    };
    let policy = SignaturePolicy::load(
        &state.pool,
        &upload.distro,
        &upload.repo,
        uploaded.is_some(),
        state.kek.as_ref(),
    )
    .await?;
    let local = LocalBlob::of(state, &upload.sha256).await?;
    let path = local.path.clone();
    let limits = state.config.limits();
    let (size, md5, sha256) = (upload.size, upload.md5.clone(), upload.sha256.clone());
    let parsed = tokio::task::spawn_blocking(move || {
        let facts = BlobFacts {
            size,
            sha256: &sha256,
            md5: &md5,
        };
        match ingest::parse_blob(&path, &limits, facts, &policy, uploaded) {
            Ok(parsed) => Ok(Ok(parsed)),
            Err(ParseBlobError::Refused(err)) => Ok(Err(err.to_string())),
            Err(ParseBlobError::Signature(reason)) => Ok(Err(reason)),
            // The blob could not be read: a fault of ours, whatever the package holds.
            Err(ParseBlobError::Io(err)) => Err(JobError::Io(err)),
        }
    })
    .await?;
    drop(local);
    parsed
}

/// A blob as a local file: the store's own on the local backend, a scratch copy (removed when
/// dropped) otherwise.
struct LocalBlob {
    path: PathBuf,
    scratch: bool,
}

impl LocalBlob {
    async fn of(state: &WorkerState, digest: &Digest) -> Result<Self, JobError> {
        if let Some(path) = state.blobs.local_path(digest) {
            return Ok(Self {
                path,
                scratch: false,
            });
        }
        let blob = Self {
            path: state
                .storage
                .scratch_dir()
                .join(format!("{}.blob", Uuid::new_v4())),
            scratch: true,
        };
        state.blobs.download(digest, &blob.path).await?;
        Ok(blob)
    }
}

impl Drop for LocalBlob {
    fn drop(&mut self) {
        if self.scratch {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Fails the upload with `reason`; the catalogue is untouched.
async fn refuse(state: &WorkerState, upload: &Upload, reason: &str) -> Result<(), JobError> {
    tracing::info!(upload.id = %upload.id, distro = %upload.distro, repo = %upload.repo, reason, "upload refused");
    fail(state, upload.id, reason).await
}

/// Fails an upload still waiting or being parsed with `reason` (its blob, unless something
/// else refers to it, is then the sweep's to collect).
pub async fn fail(state: &WorkerState, id: Uuid, reason: &str) -> Result<(), JobError> {
    uploads::fail(&state.pool, id, reason).await?;
    Ok(())
}
