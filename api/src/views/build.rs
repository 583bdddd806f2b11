use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use rieter::build::queue::{Outcome, Status};
use rieter::db::builds::{BuildRecord, Claimed};
use uuid::Uuid;

use super::TargetView;
use crate::pagination::page_of;

/// A build's state: `queued` → `running` → `succeeded`, `skipped` (every package's version was
/// already in the repository), `failed` or `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "BuildStatus", rename_all = "lowercase")]
pub enum BuildStatusView {
    Queued,
    Running,
    Succeeded,
    Skipped,
    Failed,
    Cancelled,
}

impl From<Status> for BuildStatusView {
    fn from(s: Status) -> Self {
        match s {
            Status::Queued => Self::Queued,
            Status::Running => Self::Running,
            Status::Succeeded => Self::Succeeded,
            Status::Skipped => Self::Skipped,
            Status::Failed => Self::Failed,
            Status::Cancelled => Self::Cancelled,
        }
    }
}

impl From<BuildStatusView> for Status {
    fn from(s: BuildStatusView) -> Self {
        match s {
            BuildStatusView::Queued => Self::Queued,
            BuildStatusView::Running => Self::Running,
            BuildStatusView::Succeeded => Self::Succeeded,
            BuildStatusView::Skipped => Self::Skipped,
            BuildStatusView::Failed => Self::Failed,
            BuildStatusView::Cancelled => Self::Cancelled,
        }
    }
}

/// Asking for a build of a target.
#[derive(Debug, Object)]
pub struct NewBuild {
    /// One of the target's architectures.
    pub arch: String,
    /// Build even when every package's version is already in the repository.
    #[oai(default)]
    pub force: bool,
}

/// One run of a target for one architecture.
#[derive(Debug, Object)]
#[oai(rename = "Build")]
pub struct BuildView {
    pub id: i64,
    pub target_id: i64,
    /// The target's name.
    pub target: String,
    pub distro: String,
    pub repo: String,
    pub arch: String,
    pub force: bool,
    pub status: BuildStatusView,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The agent that holds (or last held) it.
    pub agent: Option<String>,
    /// How many times an agent claimed it.
    pub attempts: i32,
    /// A cancel was asked for; the running build stops when its agent next reports.
    pub cancel_requested: bool,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
}

impl From<BuildRecord> for BuildView {
    fn from(b: BuildRecord) -> Self {
        Self {
            id: b.id,
            target_id: b.target_id,
            target: b.target,
            distro: b.distro,
            repo: b.repo,
            arch: b.arch,
            force: b.force,
            status: b.status.into(),
            queued_at: b.queued_at,
            started_at: b.started_at,
            finished_at: b.finished_at,
            agent: b.agent,
            attempts: b.attempts,
            cancel_requested: b.cancel_requested,
            error: b.error,
        }
    }
}

page_of!(
    /// A page of builds, newest first.
    BuildPage,
    BuildView
);

/// An agent asking for work.
#[derive(Debug, Object)]
pub struct ClaimRequest {
    /// The agent's name, shown on its builds (1 to 100 printable characters).
    pub name: String,
    /// The architectures it builds for.
    pub arches: Vec<String>,
}

/// A build handed to an agent, with its lease.
#[derive(Debug, Object)]
#[oai(rename = "Claim")]
pub struct ClaimView {
    pub build: BuildView,
    /// What to build.
    pub target: TargetView,
    /// Names this lease in every later call about the build.
    pub lease_id: Uuid,
    /// The lease ends this long after the claim or the last extension.
    pub lease_secs: u64,
    /// Extend the lease this often.
    pub extend_every_secs: u64,
}

impl ClaimView {
    pub fn new(claimed: Claimed, lease_secs: u64, extend_every_secs: u64) -> Self {
        Self {
            build: claimed.build.into(),
            target: claimed.target.into(),
            lease_id: claimed.lease_id,
            lease_secs,
            extend_every_secs,
        }
    }
}

/// The lease a call is about.
#[derive(Debug, Object)]
pub struct LeaseRef {
    pub lease_id: Uuid,
}

/// The answer to an extension.
#[derive(Debug, Object)]
pub struct Extended {
    /// The build was cancelled: stop it and finish it as `cancelled`.
    pub cancel: bool,
}

/// How the build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "BuildOutcome", rename_all = "lowercase")]
pub enum OutcomeView {
    Succeeded,
    Skipped,
    Failed,
    Cancelled,
}

impl From<OutcomeView> for Outcome {
    fn from(o: OutcomeView) -> Self {
        match o {
            OutcomeView::Succeeded => Self::Succeeded,
            OutcomeView::Skipped => Self::Skipped,
            OutcomeView::Failed => Self::Failed,
            OutcomeView::Cancelled => Self::Cancelled,
        }
    }
}

/// An agent ending a build.
#[derive(Debug, Object)]
pub struct Finish {
    pub lease_id: Uuid,
    pub outcome: OutcomeView,
    /// For `failed` or `cancelled`: why, in a line (at most 1000 characters).
    pub error: Option<String>,
}
