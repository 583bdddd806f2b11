//! The mirror sync job: one sync of one mirror (`rieter::mirror::sync`), at most one at a time
//! per mirror across all workers. The schedule lives in the database (the sweep queues syncs
//! that are due); this job only runs them.

use std::time::Duration;

use apalis::prelude::{BoxDynError, Data};
use rieter::jobs::SyncMirror;
use rieter::mirror::{self, SyncContext, SyncOutcome};
use rieter::repo_db::ReadLimits;

use crate::error::{JobError, retry_transient};
use crate::state::{SharedState, WorkerState};

/// How long a sync that found its mirror being synced waits before looking again.
const BUSY_RETRY: Duration = Duration::from_secs(30);

pub async fn run(job: SyncMirror, state: Data<SharedState>) -> Result<(), BoxDynError> {
    let state: &WorkerState = &state;
    let id = job.mirror_id;
    retry_transient("syncing a mirror", || handle(state, id))
        .await
        .map_err(|err| {
            tracing::error!(mirror.id = id, error = %err, "mirror sync job failed");
            err.into_job_failure()
        })
}

fn context(state: &WorkerState) -> SyncContext {
    SyncContext {
        pool: state.pool.clone(),
        store: state.blobs.clone(),
        scratch: state.storage.scratch_dir(),
        grace: Duration::from_secs(state.config.grace_period_secs),
        limits: ReadLimits::default(),
    }
}

async fn handle(state: &WorkerState, mirror_id: i64) -> Result<(), JobError> {
    match mirror::sync(&context(state), mirror_id).await? {
        SyncOutcome::Busy => {
            // The running sync started before this request: look again once it may be done,
            // keeping the pending flag's job alive.
            let mut conn = state.pool.acquire().await?;
            mirror::admin::requeue(&mut conn, mirror_id, BUSY_RETRY).await?;
        }
        SyncOutcome::Gone => {}
        SyncOutcome::Unchanged { packages } => {
            tracing::info!(mirror.id = mirror_id, packages, "mirror unchanged upstream");
        }
        SyncOutcome::Synced { .. } | SyncOutcome::Failed { .. } => {}
    }
    Ok(())
}
