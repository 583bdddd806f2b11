//! The api's view of the manifest (`published_files`): every request for a repository file
//! resolves its name here. Lookups are cached, and the cache is emptied whenever the manifest
//! changes: Postgres announces every change on a channel (a trigger on the table), which this
//! process listens to. While the listening connection is down, nothing is cached, so a lookup
//! is never staler than the database.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rieter::db::manifest::{self, PublishedFile};
use rieter::names::{ArchName, DistroName, FileName, RepoName};
use sqlx::PgPool;
use sqlx::postgres::PgListener;

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
        tokio::spawn(listen(Arc::downgrade(&files), pool));
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

async fn listen(files: std::sync::Weak<PublishedFiles>, pool: PgPool) {
    loop {
        let mut listener = match connect(&pool).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "listening for manifest changes failed; not caching meanwhile");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Whatever changed before the listener was up is unknown: start from nothing.
        let Some(cache) = files.upgrade() else { return };
        cache.invalidate();
        cache.listening.store(true, Ordering::Release);
        drop(cache);
        loop {
            let received = listener.try_recv().await;
            let Some(cache) = files.upgrade() else { return };
            match received {
                Ok(Some(_)) => cache.invalidate(),
                // The connection was lost: changes may be missed until a new one listens.
                lost => {
                    cache.listening.store(false, Ordering::Release);
                    cache.invalidate();
                    let error = lost.err().map(|e| e.to_string()).unwrap_or_default();
                    tracing::warn!(
                        error,
                        "lost the manifest change listener; not caching meanwhile"
                    );
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
