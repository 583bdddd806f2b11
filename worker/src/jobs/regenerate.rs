//! The regeneration job: once a repository architecture is quiet, rebuild its databases from
//! the catalogue and publish them.
//!
//! Coalescing: every change marks the architecture dirty but queues a job only when none is
//! pending, so a burst of uploads queues one job, due at once. That job sleeps until no change
//! came for the quiet period and no upload of the repository is still being parsed, or until
//! the maximum delay is reached, and then builds: a lone upload is published right when the
//! quiet period ends. (On shutdown a sleeping job re-queues itself for the rest of its wait.) Builds of one architecture are serialised across all
//! workers by an advisory lock, and each publishes the snapshot it read, so a change arriving
//! during a build causes exactly one more build.

use std::time::{Duration, Instant};

use apalis::prelude::{BoxDynError, Data};
use rieter::db::locks::{self, Lock};
use rieter::db::{DbError, regen};
use rieter::jobs::{self, Regenerate};
use rieter::regenerate::{self, PackageFault, Rebuild, RegenerateError};
use rieter::removal;

use crate::error::{JobError, retry_transient};
use crate::state::{SharedState, WorkerState};

pub async fn run(job: Regenerate, state: Data<SharedState>) -> Result<(), BoxDynError> {
    let state: &WorkerState = &state;
    let id = job.repo_arch_id;
    let Err(err) = retry_transient("regenerating a repository", || handle(state, id)).await else {
        return Ok(());
    };
    tracing::error!(repo_arch.id = id, error = %err, transient = err.is_transient(), "regeneration failed");
    if !err.is_transient() {
        // Not retried by apalis: the sweep queues the repository again, as for any
        // architecture with unpublished changes and no job, after a pause that grows with
        // each failure in a row.
        match regen::failed(&state.pool, id).await {
            Ok(retry_at) => {
                tracing::warn!(
                    repo_arch.id = id,
                    ?retry_at,
                    "the sweep tries this rebuild again then"
                );
            }
            Err(e) => {
                tracing::warn!(repo_arch.id = id, error = %e, "could not record the failed rebuild")
            }
        }
    }
    Err(err.into_job_failure())
}

async fn handle(state: &WorkerState, repo_arch_id: i64) -> Result<(), JobError> {
    let timing = regen::Timing {
        quiet: state.config.quiet_period(),
        max_delay: state.config.max_regen_delay(),
        poll: POLL_WHILE_PARSING,
        hold: state.config.quiet_period().max(POLL_WHILE_PARSING),
    };
    loop {
        let Some(wait) = plan_and_build(state, repo_arch_id, timing).await? else {
            return Ok(());
        };
        tracing::debug!(
            repo_arch.id = repo_arch_id,
            wait_ms = wait.as_millis() as u64,
            "repository not quiet yet"
        );
        if stopping_within(state, wait).await {
            // Shutting down: hand the rest of the wait to whichever worker runs next.
            let mut conn = state.pool.acquire().await?;
            jobs::enqueue(&mut conn, &Regenerate { repo_arch_id }, wait)
                .await
                .map_err(DbError::from)?;
            return Ok(());
        }
    }
}

/// Sleeps for `wait`, or less if the process starts shutting down: returns whether it did.
async fn stopping_within(state: &WorkerState, wait: Duration) -> bool {
    let mut stopping = state.stopping.subscribe();
    let stop = async move {
        if stopping.wait_for(|stopping| *stopping).await.is_err() {
            // The sender lives as long as the state; without it, just sleep.
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = tokio::time::sleep(wait) => false,
        () = stop => true,
    }
}

/// How often a job looks again while uploads of its repository are still being parsed.
const POLL_WHILE_PARSING: Duration = Duration::from_millis(500);

/// Plans and, when the repository is quiet, builds. Returns how long to sleep before looking
/// again, if the job should. Planning and building happen under the lock, so the sweep (which
/// requeues only architectures whose lock is free) never mistakes a build in progress for a
/// lost one; the lock is not held while sleeping, when the pending flag guards the job.
async fn plan_and_build(
    state: &WorkerState,
    repo_arch_id: i64,
    timing: regen::Timing,
) -> Result<Option<Duration>, JobError> {
    let key = Lock::Regenerate { repo_arch_id };
    let mut lock = state.pool.acquire().await?;
    locks::lock(&mut lock, &key).await?;
    let result = match regen::plan(&state.pool, repo_arch_id, timing).await {
        Ok(regen::Plan::Build(target)) => build(state, &target).await.map(|()| None),
        Ok(regen::Plan::Wait {
            wait,
            requeued: false,
        }) => Ok(Some(wait)),
        Ok(_) => Ok(None),
        Err(err) => Err(err.into()),
    };
    locks::unlock(&mut lock, &key).await?;
    result
}

async fn build(state: &WorkerState, target: &regen::BuildTarget) -> Result<(), JobError> {
    let started = Instant::now();
    let grace = Duration::from_secs(state.config.grace_period_secs);
    let scratch = state.storage.scratch_dir();
    let kek = state.kek.as_ref();
    let rebuilt =
        match regenerate::rebuild(&state.pool, &state.blobs, scratch, target, grace, kek).await {
            Err(RegenerateError::Unpublishable { package_ids, fault }) => {
                return reject(state, target, &package_ids, fault).await;
            }
            rebuilt => rebuilt?,
        };
    match rebuilt {
        Rebuild::Published {
            packages,
            change_seq,
            retired,
            phases,
        } => {
            let labels = [
                ("distro", target.distro.to_string()),
                ("repo", target.repo.to_string()),
                ("arch", target.arch.to_string()),
            ];
            metrics::counter!(rieter::metrics::REBUILDS, &labels).increment(1);
            metrics::histogram!(rieter::metrics::REBUILD_DURATION, &labels)
                .record(started.elapsed().as_secs_f64());
            tracing::info!(
            distro = %target.distro, repo = %target.repo, arch = %target.arch,
            packages, change_seq, retired,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            snapshot_ms = phases.snapshot.as_secs_f64() * 1000.0,
            write_ms = phases.write.as_secs_f64() * 1000.0,
            finish_ms = phases.finish.as_secs_f64() * 1000.0,
            "repository database published"
            )
        }
        // Replaced or removed after the snapshot: that change queued the next build.
        Rebuild::Superseded { missing } => tracing::warn!(
            repo_arch.id = target.repo_arch_id, packages = ?missing,
            "package files vanished during the build; not publishing this snapshot"
        ),
        Rebuild::Gone => {}
        Rebuild::Held => tracing::warn!(
            repo_arch.id = target.repo_arch_id, distro = %target.distro, repo = %target.repo,
            arch = %target.arch,
            "this architecture has served signed databases and its distribution has no signing \
             key now: not publishing unsigned ones (give the distribution a signing key)"
        ),
    }
    Ok(())
}

/// Takes packages that keep the repository from being published out of the catalogue. That
/// queues the next build (after the quiet period), which publishes the rest without them.
async fn reject(
    state: &WorkerState,
    target: &regen::BuildTarget,
    package_ids: &[i64],
    fault: PackageFault,
) -> Result<(), JobError> {
    let reason = fault.to_string();
    let rejected = removal::reject_packages(&state.pool, package_ids, &reason).await?;
    tracing::warn!(
        distro = %target.distro, repo = %target.repo, arch = %target.arch,
        packages = ?package_ids, rejected, reason, "took out packages that cannot be published"
    );
    Ok(())
}
