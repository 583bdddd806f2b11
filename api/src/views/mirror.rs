use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use rieter::db::mirrors::{MirrorRecord, SyncRecord};

use crate::pagination::page_of;

/// A new mirror: the repository `distro/repo` (created if needed, and empty) becomes a copy
/// of the upstream.
#[derive(Debug, Object)]
pub struct NewMirrorView {
    pub distro: String,
    pub repo: String,
    /// The upstream's URL template, as a `Server =` line of pacman.conf: `http(s)://` with
    /// pacman's `$repo` and `$arch` variables, e.g. `https://host/$repo/os/$arch`.
    pub upstream: String,
    /// The architectures to mirror (never `any`: its packages are in every database).
    pub arches: Vec<String>,
    /// Seconds between syncs (60 to 2592000).
    pub interval_secs: u32,
    /// Serve each package's signature as `{file}.sig` when its upstream entry carries one
    /// (default true). The upstream's database signatures are served whenever it has them.
    pub keep_signatures: Option<bool>,
    /// An armored keyring: the upstream's databases and packages must be signed by one of
    /// its keys, or the sync fails.
    pub verify_signatures: Option<String>,
    /// Packages downloaded at once (1 to 32, default 4).
    pub max_concurrent_downloads: Option<u32>,
    /// The most a sync downloads per second, over all its downloads (at least 1024).
    pub bandwidth_limit_bytes_per_sec: Option<u64>,
}

/// Changes to a mirror; fields left out keep their value. `verify_signatures` set to `null`
/// stops verifying, as `bandwidth_limit_bytes_per_sec` set to `null` lifts the limit.
#[derive(Debug, Object)]
pub struct MirrorChangeView {
    pub upstream: Option<String>,
    pub arches: Option<Vec<String>>,
    pub interval_secs: Option<u32>,
    pub keep_signatures: Option<bool>,
    pub verify_signatures: poem_openapi::types::MaybeUndefined<String>,
    pub max_concurrent_downloads: Option<u32>,
    pub bandwidth_limit_bytes_per_sec: poem_openapi::types::MaybeUndefined<u64>,
}

/// How a sync went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "SyncStatus", rename_all = "lowercase")]
pub enum SyncStatusView {
    Running,
    Succeeded,
    Failed,
}

/// One sync of a mirror.
#[derive(Debug, Object)]
#[oai(rename = "MirrorSync")]
pub struct SyncView {
    pub status: SyncStatusView,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed: the upstream's fault in full, or that it was ours.
    pub error: Option<String>,
    /// The packages the mirror lists, once it succeeded.
    pub packages: Option<i64>,
    /// Bytes downloaded from the upstream (packages already in any repository are not).
    pub downloaded_bytes: i64,
}

impl From<SyncRecord> for SyncView {
    fn from(s: SyncRecord) -> Self {
        let status = match s.status.as_str() {
            "running" => SyncStatusView::Running,
            "succeeded" => SyncStatusView::Succeeded,
            _ => SyncStatusView::Failed,
        };
        Self {
            status,
            started_at: s.started_at,
            finished_at: s.finished_at,
            error: s.error,
            packages: s.packages,
            downloaded_bytes: s.downloaded_bytes,
        }
    }
}

/// A mirror: a repository kept a verified copy of an upstream repository. Uploads and
/// removals into its repository are refused.
#[derive(Debug, Object)]
#[oai(rename = "Mirror")]
pub struct MirrorView {
    pub id: i64,
    pub distro: String,
    pub repo: String,
    pub upstream: String,
    pub arches: Vec<String>,
    pub interval_secs: u32,
    pub keep_signatures: bool,
    /// The armored keyring signatures are verified against, if any.
    pub verify_signatures: Option<String>,
    pub max_concurrent_downloads: u32,
    pub bandwidth_limit_bytes_per_sec: Option<u64>,
    /// Declared in a worker's configuration file, which re-applies its settings at each start.
    pub declared: bool,
    /// When the schedule next syncs it.
    pub next_sync_at: DateTime<Utc>,
    /// A sync is queued and has not started.
    pub sync_pending: bool,
    /// The most recent sync, running or finished.
    pub last_sync: Option<SyncView>,
    /// When a sync last succeeded.
    pub last_success_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<MirrorRecord> for MirrorView {
    fn from(m: MirrorRecord) -> Self {
        Self {
            id: m.id,
            distro: m.distro.to_string(),
            repo: m.repo.to_string(),
            upstream: m.spec.upstream.to_string(),
            arches: m.spec.arches.iter().map(ToString::to_string).collect(),
            interval_secs: m.spec.interval.as_secs() as u32,
            keep_signatures: m.spec.keep_signatures,
            verify_signatures: m.spec.verify.as_ref().map(|k| k.armored().to_owned()),
            max_concurrent_downloads: m.spec.max_concurrent_downloads,
            bandwidth_limit_bytes_per_sec: m.spec.bandwidth_limit_bytes_per_sec,
            declared: m.declared,
            next_sync_at: m.next_sync_at,
            sync_pending: m.sync_pending,
            last_sync: m.last_sync.map(Into::into),
            last_success_at: m.last_success_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

page_of!(
    /// A page of mirrors, oldest first.
    MirrorPage,
    MirrorView
);
