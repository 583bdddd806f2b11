//! The queue of builds and the lease protocol agents follow over HTTP: an agent *claims* a
//! queued build for one of its architectures and gets a lease; it *extends* the lease every
//! quarter of the lease while it builds (the answer says whether the build was cancelled);
//! it *finishes* the build with its outcome. A lease that is not extended in time (the api's
//! `build_lease_secs`) ends: the build goes back to the front of the queue, up to
//! [`MAX_ATTEMPTS`] claims, then fails.
//! Every step names the lease, so an agent that lost its lease (expired and claimed again by
//! another) can change nothing.

use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::builds::{self, BuildRecord, Claimed};
use crate::db::targets::{self, TargetRecord};
use crate::names::ArchName;

/// How often an agent should extend a lease of `lease`: three missed extensions in a row do
/// not end it.
pub fn extend_every(lease: Duration) -> Duration {
    lease / 4
}

/// Claims of one build before a lease that ends fails it.
pub const MAX_ATTEMPTS: i32 = 3;

/// A build's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Skipped,
    Failed,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Skipped,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(status: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == status)
    }

    /// Whether the build has ended (it changes no more).
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// How an agent says a build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Every package's version was already in the repository.
    Skipped,
    Failed,
    /// Stopped because it was cancelled.
    Cancelled,
}

impl Outcome {
    fn status(self) -> Status {
        match self {
            Self::Succeeded => Status::Succeeded,
            Self::Skipped => Status::Skipped,
            Self::Failed => Status::Failed,
            Self::Cancelled => Status::Cancelled,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("{arch} is not one of the target's architectures ({arches})")]
    NotAnArch { arch: String, arches: String },
    #[error("no build {0}")]
    NotFound(i64),
    /// The lease named is not the build's current one: it ended, and the build was queued
    /// again or ended.
    #[error("this lease of build {0} has ended; stop working on it")]
    LeaseLost(i64),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Queues a build of `target` for `arch`, or returns the one already queued or running
/// (`false`).
pub async fn request(
    pool: &PgPool,
    target: &TargetRecord,
    arch: &ArchName,
    force: bool,
) -> Result<(BuildRecord, bool), QueueError> {
    if !target.spec.arches.contains(arch) {
        return Err(QueueError::NotAnArch {
            arch: arch.as_str().to_owned(),
            arches: target
                .spec
                .arches
                .iter()
                .map(ArchName::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let (build, created) = builds::request(pool, target.id, arch, force).await?;
    if created {
        tracing::info!(build.id = build.id, target.id = target.id, %arch, force, "build queued");
    }
    Ok((build, created))
}

/// Queues a build for each architecture of every target whose schedule is due, and moves
/// its next run past now, in one transaction per batch: with several workers sweeping, a due
/// run is queued once (the rows are locked, others skip them), and a crash queues nothing
/// and moves nothing. A build still queued or running from the last run is not doubled.
pub async fn run_due(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let mut queued = 0;
    loop {
        let mut tx = pool.begin().await?;
        let due = targets::due_for_update(&mut tx, 100).await?;
        if due.is_empty() {
            return Ok(queued);
        }
        let now = Utc::now();
        for target in &due {
            for arch in &target.spec.arches {
                if builds::enqueue(&mut *tx, target.id, arch).await? {
                    queued += 1;
                }
            }
            let next = target
                .spec
                .schedule
                .as_ref()
                .and_then(|s| s.next_after(now));
            targets::set_next_run(&mut *tx, target.id, next).await?;
            tracing::info!(target.id = target.id, next_run_at = ?next, "scheduled run queued");
        }
        tx.commit().await?;
    }
}

/// Hands the oldest queued build for one of `arches` to the agent `agent`, with a new lease;
/// ended leases are dealt with first.
pub async fn claim(
    pool: &PgPool,
    agent: &str,
    arches: &[ArchName],
    lease: Duration,
) -> Result<Option<Claimed>, QueueError> {
    expire(pool).await?;
    let claimed = builds::claim(pool, agent, arches, lease).await?;
    if let Some(c) = &claimed {
        tracing::info!(
            build.id = c.build.id,
            agent,
            attempt = c.build.attempts,
            "build claimed"
        );
    }
    Ok(claimed)
}

/// Extends the lease `lease_id` of build `id`: whether the build was cancelled.
pub async fn extend(
    pool: &PgPool,
    id: i64,
    lease_id: Uuid,
    lease: Duration,
) -> Result<bool, QueueError> {
    builds::extend(pool, id, lease_id, lease)
        .await?
        .ok_or(QueueError::LeaseLost(id))
}

/// Ends build `id` held under `lease_id` with `outcome` (and for a failure, why).
pub async fn finish(
    pool: &PgPool,
    id: i64,
    lease_id: Uuid,
    outcome: Outcome,
    error: Option<&str>,
) -> Result<BuildRecord, QueueError> {
    let error = match outcome {
        Outcome::Failed => Some(error.unwrap_or("the build failed")),
        Outcome::Cancelled => Some(error.unwrap_or("cancelled")),
        Outcome::Succeeded | Outcome::Skipped => None,
    };
    if !builds::finish(pool, id, lease_id, outcome.status().as_str(), error).await? {
        return Err(QueueError::LeaseLost(id));
    }
    tracing::info!(
        build.id = id,
        status = outcome.status().as_str(),
        "build finished"
    );
    builds::find(pool, id)
        .await?
        .ok_or(QueueError::NotFound(id))
}

/// Cancels build `id`: a queued one at once, a running one when its agent next extends its
/// lease (it then stops the build and finishes it as cancelled). An ended build stays as it
/// was.
pub async fn cancel(pool: &PgPool, id: i64) -> Result<BuildRecord, QueueError> {
    builds::cancel(pool, id).await?;
    let build = builds::find(pool, id)
        .await?
        .ok_or(QueueError::NotFound(id))?;
    tracing::info!(
        build.id = id,
        status = build.status.as_str(),
        "build cancel requested"
    );
    Ok(build)
}

/// Ends the leases that were not extended in time: their builds are queued again, or fail
/// after [`MAX_ATTEMPTS`] claims (or end as cancelled when a cancel was asked for).
pub async fn expire(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let expired = builds::expire(pool, MAX_ATTEMPTS).await?;
    for (id, status) in &expired {
        tracing::warn!(
            build.id = id,
            status = status.as_str(),
            "a build's lease ended"
        );
    }
    Ok(expired.len())
}
