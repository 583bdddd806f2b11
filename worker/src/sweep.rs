//! Periodic maintenance, run by one worker at a time: re-queue uploads and regenerations whose
//! job was lost, queue the mirror syncs and scheduled builds that are due, end build leases
//! that ran out, fail uploads whose job gave up, stop serving files past their grace period,
//! delete blobs nothing refers to and scratch files of dead processes, prune old job rows.

use std::time::Duration;

use rieter::blobs;
use rieter::db::locks::{self, Lock};
use rieter::db::{maintenance, manifest, regen, uploads};
use rieter::jobs::{self, ParseUpload};

use crate::error::JobError;
use crate::jobs::parse_upload;
use crate::state::{SharedState, WorkerState};

/// A temporary file younger than this may belong to a request still in flight.
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(600);
/// Blobs deleted per sweep at most.
const GC_BATCH: i64 = 1000;
/// Listing the whole store for unrecorded objects is costly (on S3, a request per thousand
/// blobs), and such objects are rare (a failed transaction, a crash): once an hour per worker.
const ORPHAN_SCAN_EVERY: Duration = Duration::from_secs(3600);
/// An unrecorded object younger than this may belong to a claim still in progress.
const ORPHAN_BLOB_MIN_AGE: Duration = Duration::from_secs(3600);
/// An unfinished upload untouched for this long, whose job is gone, is stranded.
const STRANDED_MIN_AGE_SECS: f64 = 30.0;
const FINISHED_JOB_RETENTION_DAYS: i32 = 7;

pub async fn run(state: SharedState) {
    let mut ticker = tokio::time::interval(Duration::from_secs(state.config.sweep_interval_secs));
    loop {
        ticker.tick().await;
        if let Err(err) = sweep_once(&state).await {
            tracing::warn!(error = %err, "maintenance sweep failed; retrying next interval");
        }
    }
}

/// One sweep, skipped when another worker is sweeping.
pub async fn sweep_once(state: &WorkerState) -> Result<(), JobError> {
    let mut lock_conn = state.pool.acquire().await?;
    if !locks::try_lock(&mut lock_conn, &Lock::Sweep).await? {
        return Ok(());
    }
    let result = sweep_locked(state).await;
    locks::unlock(&mut lock_conn, &Lock::Sweep).await?;
    result
}

async fn sweep_locked(state: &WorkerState) -> Result<(), JobError> {
    requeue_stranded_uploads(state).await?;
    requeue_stranded_regenerations(state).await?;
    let due = rieter::mirror::admin::queue_due(&state.pool).await?;
    if due > 0 {
        tracing::info!(mirrors = due, "queued the mirror syncs that are due");
    }
    let builds = rieter::build::queue::run_due(&state.pool).await?;
    if builds > 0 {
        tracing::info!(builds, "queued the scheduled builds that are due");
    }
    let ended = rieter::build::queue::expire(&state.pool).await?;
    if ended > 0 {
        tracing::info!(builds = ended, "ended the build leases that ran out");
    }
    if state.config.max_log_age_days > 0 {
        let max_age = Duration::from_secs(state.config.max_log_age_days * 24 * 3600);
        rieter::build::log::remove_old(&state.pool, max_age).await?;
    }
    let expired = manifest::expire_retired(&state.pool).await?;
    if expired > 0 {
        tracing::info!(
            files = expired,
            "stopped serving files past their grace period"
        );
    }
    let collected = blobs::collect_garbage(&state.pool, &state.blobs, GC_BATCH).await?;
    if collected > 0 {
        tracing::info!(blobs = collected, "deleted blobs nothing refers to");
    }
    if orphan_scan_due(state) {
        let orphans =
            blobs::collect_orphans(&state.pool, &state.blobs, ORPHAN_BLOB_MIN_AGE).await?;
        if orphans > 0 {
            tracing::info!(
                blobs = orphans,
                "deleted stored objects no blob row records"
            );
        }
    }
    let mut removed = rieter::scratch::remove_dead(&state.pool, &state.storage).await?;
    let storage = state.storage.clone();
    removed += tokio::task::spawn_blocking(move || storage.clean_tmp(ORPHAN_MIN_AGE)).await??;
    if removed > 0 {
        tracing::info!(files = removed, "removed abandoned temporary files");
    }
    let pruned = maintenance::prune_finished_jobs(&state.pool, FINISHED_JOB_RETENTION_DAYS).await?;
    if pruned > 0 {
        tracing::info!(jobs = pruned, "pruned finished job rows");
    }
    Ok(())
}

/// Whether this process should look for unrecorded objects now (and notes that it does).
fn orphan_scan_due(state: &WorkerState) -> bool {
    let mut last = state.orphans_scanned.lock().expect("orphan scan lock");
    if last.is_some_and(|at| at.elapsed() < ORPHAN_SCAN_EVERY) {
        return false;
    }
    *last = Some(std::time::Instant::now());
    true
}

async fn requeue_stranded_uploads(state: &WorkerState) -> Result<(), JobError> {
    for stranded in uploads::stranded(&state.pool, STRANDED_MIN_AGE_SECS, 1000).await? {
        if stranded.job_gave_up {
            // The job's last error is ours to read, not the public uploads list's.
            tracing::warn!(
                upload.id = %stranded.id,
                last_error = stranded.last_result.as_deref().unwrap_or("unknown"),
                "failing upload whose job gave up"
            );
            let reason = uploads::internal_error_reason(stranded.id);
            parse_upload::fail(state, stranded.id, &reason).await?;
            continue;
        }
        let mut tx = state.pool.begin().await?;
        let job = ParseUpload {
            upload_id: stranded.id,
        };
        let job_id = jobs::enqueue(&mut tx, &job, Duration::ZERO)
            .await
            .map_err(rieter::db::DbError::from)?;
        uploads::set_job(&mut *tx, stranded.id, &job_id).await?;
        tx.commit().await?;
        tracing::warn!(upload.id = %stranded.id, "re-queued upload whose parse job was lost");
    }
    Ok(())
}

/// Queues a regeneration for architectures with unpublished changes and no pending job (their
/// job died with a worker), skipping those being built right now.
async fn requeue_stranded_regenerations(state: &WorkerState) -> Result<(), JobError> {
    for id in regen::stranded(&state.pool).await? {
        let key = Lock::Regenerate { repo_arch_id: id };
        let mut conn = state.pool.acquire().await?;
        if locks::try_lock(&mut conn, &key).await? {
            let requeued = regen::requeue(&state.pool, id).await;
            locks::unlock(&mut conn, &key).await?;
            requeued?;
            tracing::warn!(repo_arch.id = id, "re-queued a lost regeneration");
        }
    }
    Ok(())
}
