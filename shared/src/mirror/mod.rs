//! Mirroring (issue 13): a repository kept a verified copy of an upstream pacman repository.
//!
//! - [`Upstream`]: where the upstream's files are (a URL template with `$repo` and `$arch`).
//! - [`MirrorSpec`]: a mirror's validated settings.
//! - [`admin`]: creating, changing, deleting mirrors and queueing syncs.
//! - [`sync`]: one sync, from the cheap check to the switch; its databases are read by
//!   [`crate::repo_db::read_database`], its files fetched by [`fetch`], and the new state made
//!   live all at once by [`publish`].

pub mod admin;
pub mod fetch;
pub mod publish;
mod spec;
pub mod sync;
mod upstream;

pub use spec::{
    Keyring, MAX_CONCURRENT_DOWNLOADS, MIN_INTERVAL_SECS, MirrorSpec, SpecError, SpecInput,
};
pub use sync::{SyncContext, SyncError, SyncOutcome, sync};
pub use upstream::{Upstream, UpstreamError};

use crate::names::{DistroName, RepoName};

/// Why an upload into a mirrored repository is refused, as its uploader reads it.
pub fn read_only_reason(distro: &DistroName, repo: &RepoName, upstream: &Upstream) -> String {
    format!(
        "{distro}/{repo} is a mirror of {upstream}: its packages come from there, so uploads \
         into it are refused (delete the mirror to make it a local repository)"
    )
}
