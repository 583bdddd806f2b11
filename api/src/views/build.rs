use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use rieter::build::plan::Plan;
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
    /// The uploads of the packages it built (`/api/v1/uploads/{id}`).
    pub packages: Vec<Uuid>,
    /// How long its log is, in bytes (`/api/v1/builds/{id}/log`).
    pub log_bytes: i64,
    /// When its log was removed, being older than the server keeps logs.
    pub log_removed_at: Option<DateTime<Utc>>,
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
            packages: b.packages,
            log_bytes: b.log_bytes,
            log_removed_at: b.log_removed_at,
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
    /// The agent's labels (shown in the server's log of the claim).
    #[oai(default)]
    pub labels: Vec<String>,
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

/// A package a build makes, as its `.SRCINFO` says after `pkgver()`.
#[derive(Debug, Object)]
pub struct ReportedPackage {
    /// A `pkgname`.
    pub name: String,
    /// Its full version, `epoch:pkgver-pkgrel` (no epoch when it has none).
    pub version: String,
}

/// What an agent read of the target it fetched.
#[derive(Debug, Object)]
pub struct BuildReport {
    pub lease_id: Uuid,
    /// Every package the build makes.
    pub packages: Vec<ReportedPackage>,
    /// What they need to build and run (`depends`, `makedepends`, `checkdepends`), with or
    /// without version constraints.
    #[oai(default)]
    pub depends: Vec<String>,
    /// What they provide besides their names (`provides`).
    #[oai(default)]
    pub provides: Vec<String>,
}

/// What to do with a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "BuildPlan", rename_all = "lowercase")]
pub enum PlanKind {
    /// Build it and upload its packages.
    Build,
    /// Every package's version is in the repository: the build ended as `skipped`.
    Skip,
    /// It waits for the build of a target it depends on: it went back to the queue; stop
    /// working on it.
    Wait,
}

/// The server's answer to a report.
#[derive(Debug, Object)]
pub struct PlanView {
    pub plan: PlanKind,
    /// For `wait`: the target whose build it waits for.
    pub waits_for: Option<String>,
}

impl From<Plan> for PlanView {
    fn from(plan: Plan) -> Self {
        match plan {
            Plan::Build => Self {
                plan: PlanKind::Build,
                waits_for: None,
            },
            Plan::Skip => Self {
                plan: PlanKind::Skip,
                waits_for: None,
            },
            Plan::Wait { on } => Self {
                plan: PlanKind::Wait,
                waits_for: Some(on),
            },
        }
    }
}

/// The log after a chunk was appended.
#[derive(Debug, Object)]
pub struct LogAppended {
    /// The log's length: where the next chunk starts.
    pub log_bytes: u64,
}
