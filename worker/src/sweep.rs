//! Periodic maintenance, run by one worker at a time: re-queue uploads whose parse job was lost,
//! fail those whose job gave up, delete files nothing refers to, prune old job rows.

use std::time::Duration;

use rieter::db::maintenance;
use rieter::db::uploads;
use rieter::jobs::{self, ParseUpload};
use uuid::Uuid;

use crate::error::JobError;
use crate::state::{SharedState, WorkerState};

const SWEEP_LOCK: &str = "rieter.sweep";
/// A blob or temporary file younger than this may belong to a request still in flight.
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(600);
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
    if !maintenance::try_lock(&mut lock_conn, SWEEP_LOCK).await? {
        return Ok(());
    }
    let result = sweep_locked(state).await;
    maintenance::unlock(&mut lock_conn, SWEEP_LOCK).await?;
    result
}

async fn sweep_locked(state: &WorkerState) -> Result<(), JobError> {
    requeue_stranded_uploads(state).await?;
    remove_orphaned_blobs(state).await?;
    let storage = state.storage.clone();
    let removed = tokio::task::spawn_blocking(move || storage.clean_tmp(ORPHAN_MIN_AGE)).await??;
    if removed > 0 {
        tracing::info!(files = removed, "removed abandoned temporary files");
    }
    let pruned = maintenance::prune_finished_jobs(&state.pool, FINISHED_JOB_RETENTION_DAYS).await?;
    if pruned > 0 {
        tracing::info!(jobs = pruned, "pruned finished job rows");
    }
    Ok(())
}

async fn requeue_stranded_uploads(state: &WorkerState) -> Result<(), JobError> {
    for stranded in uploads::stranded(&state.pool, STRANDED_MIN_AGE_SECS, 1000).await? {
        if stranded.job_gave_up {
            let reason = format!(
                "processing failed repeatedly; last error: {}",
                stranded.last_result.as_deref().unwrap_or("unknown")
            );
            tracing::warn!(upload.id = %stranded.id, reason, "failing upload whose job gave up");
            if uploads::fail(&state.pool, stranded.id, &reason).await? {
                state.storage.remove_blob(stranded.id).await?;
            }
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

async fn remove_orphaned_blobs(state: &WorkerState) -> Result<(), JobError> {
    let dir = state.storage.blobs_dir();
    let candidates = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<Uuid>> {
        let cutoff = std::time::SystemTime::now() - ORPHAN_MIN_AGE;
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let old = entry.metadata()?.modified()? < cutoff;
            if let (true, Some(id)) = (
                old,
                entry
                    .file_name()
                    .to_str()
                    .and_then(|n| Uuid::parse_str(n).ok()),
            ) {
                ids.push(id);
            }
        }
        Ok(ids)
    })
    .await??;
    for chunk in candidates.chunks(1000) {
        for id in maintenance::unreferenced_blobs(&state.pool, chunk).await? {
            tracing::info!(blob = %id, "removing orphaned blob");
            state.storage.remove_blob(id).await?;
        }
    }
    Ok(())
}
