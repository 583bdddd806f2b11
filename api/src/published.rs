//! The api's view of the manifest (`published_files`): every request for a repository file
//! resolves its name here. Lookups are cached, and the cache is emptied whenever the manifest
//! changes: Postgres announces every change on a channel (a trigger on the table), which this
//! process listens to. While the listening connection is down, nothing is cached, so a lookup
//! is never staler than the database.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rieter::db::manifest::{self, PublishedFile};
use rieter::names::{ArchName, DistroName, FileName, RepoName};
use sqlx::PgPool;

use crate::listen::{self, Listening};

/// The channel the `published_files_changed` trigger notifies.
const CHANNEL: &str = "rieter_published_files";
/// Lookups kept at most; the cache starts over beyond (names that do not exist are cached too,
/// and anyone can ask for those).
const CAPACITY: usize = 100_000;

#[derive(Default)]
pub struct PublishedFiles {
    /// By `distro/repo/arch/filename` (none of the names can hold a `/`).
    entries: std::sync::RwLock<HashMap<String, Option<PublishedFile>>>,
    /// Bumped by every invalidation, so a lookup that raced one does not cache what it read.
    generation: AtomicU64,
    /// Whether invalidations are being received.
    listening: AtomicBool,
}

impl PublishedFiles {
    /// Starts listening for manifest changes on a connection of its own.
    pub fn start(pool: PgPool) -> Arc<Self> {
        let files = Arc::new(Self::default());
        listen::spawn(pool, CHANNEL, Arc::downgrade(&files));
        files
    }

    /// The file `filename` of a repository architecture, if it is served now.
    pub async fn find(
        &self,
        reads: &PgPool,
        distro: &DistroName,
        repo: &RepoName,
        arch: &ArchName,
        filename: &FileName,
    ) -> Result<Option<PublishedFile>, sqlx::Error> {
        let now = chrono::Utc::now();
        let key = format!("{distro}/{repo}/{arch}/{filename}");
        let listening = self.listening.load(Ordering::Acquire);
        if listening && let Some(found) = self.entries.read().expect("cache lock").get(&key) {
            return Ok(found.clone().filter(|f| f.is_served_at(now)));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let found = manifest::find(reads, distro, repo, arch, filename).await?;
        if listening && self.generation.load(Ordering::Acquire) == generation {
            let mut entries = self.entries.write().expect("cache lock");
            // Checked again under the lock: an invalidation clears under it too.
            if self.generation.load(Ordering::Acquire) == generation {
                if entries.len() >= CAPACITY {
                    entries.clear();
                }
                entries.insert(key, found.clone());
            }
        }
        Ok(found.filter(|f| f.is_served_at(now)))
    }

    fn invalidate(&self) {
        let mut entries = self.entries.write().expect("cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

impl Listening for PublishedFiles {
    fn connected(&self) {
        // Whatever changed before the listener was up is unknown: start from nothing.
        self.invalidate();
        self.listening.store(true, Ordering::Release);
    }

    fn notified(&self, _: sqlx::postgres::PgNotification) {
        self.invalidate();
    }

    fn lost(&self, error: Option<&sqlx::Error>) {
        self.listening.store(false, Ordering::Release);
        self.invalidate();
        let error = error.map(ToString::to_string).unwrap_or_default();
        tracing::warn!(
            error,
            "lost the manifest change listener; not caching meanwhile"
        );
    }
}
