//! The data directory: this process's own scratch space. Blobs live in the blob store
//! ([`crate::blobs`]), which is a directory here only on the local backend.
//!
//! ```text
//! <data_dir>/tmp/<instance>/   uploads being received, archives being written and blobs
//!                              being parsed by one process, which holds a lock on
//!                              <instance> in Postgres (`crate::scratch`)
//! <data_dir>/blobs/            the local blob store, unless `storage` says otherwise
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::Md5;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::blobs::{Digest, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("the request body is empty; send the package file as the body")]
    Empty,
    #[error("the package is larger than the upload limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the server has no space left to store the upload")]
    StorageFull,
    #[error("the upload stalled: no data arrived for {secs} s")]
    Stalled { secs: u64 },
    #[error("reading the request body failed: {0}")]
    Body(#[source] io::Error),
    #[error("storing the upload failed: {0}")]
    Io(#[source] io::Error),
    #[error("storing the upload failed: {0}")]
    Store(#[source] StoreError),
}

impl ReceiveError {
    fn from_write(err: io::Error) -> Self {
        if err.kind() == io::ErrorKind::StorageFull || err.kind() == io::ErrorKind::QuotaExceeded {
            Self::StorageFull
        } else {
            Self::Io(err)
        }
    }
}

/// A completely received, flushed upload under a temporary name, with its digests. Dropping it
/// without keeping it removes the file.
#[derive(Debug)]
pub struct ReceivedBlob {
    part: Arc<PartFile>,
    pub size: u64,
    pub sha256: Digest,
    pub md5: String,
}

impl ReceivedBlob {
    /// The complete, synced file; removed when this is dropped.
    pub fn path(&self) -> &Path {
        &self.part.path
    }
}

/// An upload's temporary file, removed when the last owner lets go of it unless it was settled
/// (kept or removed) before. Whatever ends a receive early cleans up through this: an error, or
/// the request future being dropped because the client went away (hyper drops it on an HTTP/2
/// `RST_STREAM` or a closed connection, wherever it is waiting, even on a write in progress on
/// the blocking pool). The blocking task creating the file holds a clone, so the removal cannot
/// run before the file exists.
#[derive(Debug)]
struct PartFile {
    path: PathBuf,
    settled: AtomicBool,
}

impl PartFile {
    /// Removes the file now (an error response is sent only once it is gone).
    async fn remove(&self) {
        let path = self.path.clone();
        let _ = tokio::task::spawn_blocking(move || remove_part(&path)).await;
        self.settled.store(true, Ordering::Relaxed);
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if *self.settled.get_mut() {
            return;
        }
        let path = std::mem::take(&mut self.path);
        // Unlinking a large file takes a while on some file systems: not on an async thread.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(move || remove_part(&path))),
            Err(_) => remove_part(&path),
        }
    }
}

fn remove_part(path: &Path) {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => {
            tracing::warn!(file = %path.display(), error = %err, "removing a partial upload failed");
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
    /// This process's directory for uploads in progress (see `crate::scratch`).
    scratch: Option<PathBuf>,
}

impl Storage {
    /// Opens (and creates, if needed) the data directory layout under `root`.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let storage = Self {
            root: root.into(),
            scratch: None,
        };
        let dir = storage.tmp_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| io::Error::new(e.kind(), format!("creating {}: {e}", dir.display())))?;
        Ok(storage)
    }

    /// Receives uploads in `tmp/<instance>/` from now on, creating it. Only the owner of the
    /// instance id may do this (`crate::scratch::claim`).
    pub fn with_scratch(mut self, instance: Uuid) -> io::Result<Self> {
        self.scratch = Some(self.tmp_dir().join(instance.to_string()));
        self.touch_scratch()?;
        Ok(self)
    }

    /// Creates this process's scratch directory if it is missing (someone removed it by hand)
    /// and sets its modification time to now: the heartbeat that shows a sweep it is alive
    /// even while its database lock is gone (see `crate::scratch`).
    pub fn touch_scratch(&self) -> io::Result<()> {
        let Some(dir) = &self.scratch else {
            return Ok(());
        };
        std::fs::create_dir_all(dir)?;
        let now = std::fs::FileTimes::new().set_modified(SystemTime::now());
        std::fs::File::open(dir)?.set_times(now)
    }

    /// How long ago an instance's scratch directory (or 0.1.0's lock file) last showed a sign
    /// of life; `None` when it is gone.
    pub fn scratch_idle(&self, instance: Uuid) -> io::Result<Option<Duration>> {
        let dir = self.tmp_dir().join(instance.to_string());
        let lock = self.tmp_dir().join(format!("{instance}.lock"));
        let mut newest = None;
        for path in [dir, lock] {
            match std::fs::symlink_metadata(&path) {
                Ok(meta) => newest = newest.max(Some(meta.modified()?)),
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
        Ok(newest.map(|t| t.elapsed().unwrap_or(Duration::ZERO)))
    }

    /// The instance ids that have a scratch directory (or the lock file 0.1.0 kept beside it).
    pub fn scratch_owners(&self) -> io::Result<Vec<Uuid>> {
        let mut owners = Vec::new();
        for entry in std::fs::read_dir(self.tmp_dir())? {
            let name = entry?.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Ok(id) = Uuid::parse_str(name.strip_suffix(".lock").unwrap_or(name)) {
                owners.push(id);
            }
        }
        owners.sort_unstable();
        owners.dedup();
        Ok(owners)
    }

    /// Removes an instance's scratch directory with whatever half-received uploads it holds.
    /// Only for instances known to be dead.
    pub fn remove_scratch(&self, instance: Uuid) -> io::Result<()> {
        let dir = self.tmp_dir().join(instance.to_string());
        let lock = self.tmp_dir().join(format!("{instance}.lock"));
        for result in [std::fs::remove_dir_all(dir), std::fs::remove_file(lock)] {
            match result {
                Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                _ => {}
            }
        }
        Ok(())
    }

    /// This process's scratch directory (the shared `tmp` before one is claimed).
    pub fn scratch_dir(&self) -> PathBuf {
        self.scratch.clone().unwrap_or_else(|| self.tmp_dir())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Streams `body` to a temporary file while computing its size, SHA-256 and MD5, refusing
    /// more than `limit` bytes and a body that sends nothing for `stall`. The file is flushed to
    /// disk before this returns. On any error, or if this future is dropped, the temporary file
    /// is removed.
    pub async fn receive<S>(
        &self,
        body: S,
        limit: u64,
        stall: Duration,
    ) -> Result<ReceivedBlob, ReceiveError>
    where
        S: Stream<Item = io::Result<Bytes>>,
    {
        let part = Arc::new(PartFile {
            path: self.scratch_dir().join(format!("{}.part", Uuid::new_v4())),
            settled: AtomicBool::new(false),
        });
        match write_hashed(&part, body, limit, stall).await {
            Ok((size, sha256, md5)) => Ok(ReceivedBlob {
                part,
                size,
                sha256,
                md5,
            }),
            Err(err) => {
                part.remove().await;
                Err(err)
            }
        }
    }

    /// Deletes temporary files older than `age`, left behind by a process that died while
    /// receiving or writing them.
    pub fn clean_tmp(&self, age: Duration) -> io::Result<usize> {
        remove_older_than(&self.tmp_dir(), age)
    }
}

/// Bytes of an upload collected before they are hashed and written in one go. Together with
/// the chunk being received this bounds the memory an upload takes, whatever its size.
pub(crate) const WRITE_CHUNK: usize = 256 << 10;

/// The running digests of an upload: SHA-256 names its blob, MD5 goes into the databases.
pub(crate) struct Hashes {
    sha256: Sha256,
    md5: Md5,
}

impl Hashes {
    pub(crate) fn new() -> Self {
        Self {
            sha256: Sha256::new(),
            md5: Md5::new(),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        self.md5.update(data);
    }

    /// The SHA-256 and the MD5 (lowercase hex).
    pub(crate) fn finish(self) -> (Digest, String) {
        (
            Digest::from_hasher(self.sha256),
            hex::encode(self.md5.finalize()),
        )
    }
}

/// An upload's body, read in batches of up to [`WRITE_CHUNK`] bytes (or one larger chunk),
/// refusing more than `limit` bytes in all and a body that sends nothing for `stall`.
pub(crate) struct BodyBatches<S> {
    body: std::pin::Pin<Box<S>>,
    /// A chunk that did not fit in the previous batch.
    pending: Option<Bytes>,
    limit: u64,
    stall: Duration,
    size: u64,
}

impl<S: Stream<Item = io::Result<Bytes>>> BodyBatches<S> {
    pub(crate) fn new(body: S, limit: u64, stall: Duration) -> Self {
        Self {
            body: Box::pin(body),
            pending: None,
            limit,
            stall,
            size: 0,
        }
    }

    /// Bytes received so far.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Appends the next batch to the empty `buffer`; false once the body is over.
    pub(crate) async fn fill(&mut self, buffer: &mut Vec<u8>) -> Result<bool, ReceiveError> {
        loop {
            let chunk = match self.pending.take() {
                Some(chunk) => chunk,
                None => {
                    let next = tokio::time::timeout(self.stall, self.body.next())
                        .await
                        .map_err(|_| ReceiveError::Stalled {
                            secs: self.stall.as_secs(),
                        })?;
                    let Some(chunk) = next else {
                        return Ok(!buffer.is_empty());
                    };
                    let chunk = chunk.map_err(ReceiveError::Body)?;
                    self.size += chunk.len() as u64;
                    if self.size > self.limit {
                        return Err(ReceiveError::TooLarge { limit: self.limit });
                    }
                    chunk
                }
            };
            if !buffer.is_empty() && buffer.len() + chunk.len() > WRITE_CHUNK {
                self.pending = Some(chunk);
                return Ok(true);
            }
            buffer.extend_from_slice(&chunk);
            if buffer.len() >= WRITE_CHUNK {
                return Ok(true);
            }
        }
    }
}

/// The blocking half of receiving an upload: the file and the running digests. Hashing and
/// writing happen on the blocking pool, a chunk at a time, off the async threads.
struct HashedFile {
    file: std::fs::File,
    hashes: Hashes,
}

impl HashedFile {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        use std::io::Write;
        self.hashes.update(data);
        self.file.write_all(data)
    }
}

/// Runs `op` on the file on the blocking pool; the buffer travels along so it is reused.
async fn on_blocking_pool(
    mut file: HashedFile,
    mut buffer: Vec<u8>,
    op: fn(&mut HashedFile, &[u8]) -> io::Result<()>,
) -> Result<(HashedFile, Vec<u8>), ReceiveError> {
    tokio::task::spawn_blocking(move || {
        op(&mut file, &buffer)?;
        buffer.clear();
        Ok((file, buffer))
    })
    .await
    .map_err(|e| ReceiveError::Io(io::Error::other(e)))?
    .map_err(ReceiveError::from_write)
}

async fn write_hashed<S>(
    part: &Arc<PartFile>,
    body: S,
    limit: u64,
    stall: Duration,
) -> Result<(u64, Digest, String), ReceiveError>
where
    S: Stream<Item = io::Result<Bytes>>,
{
    let file = {
        let part = Arc::clone(part);
        tokio::task::spawn_blocking(move || std::fs::File::create(&part.path))
            .await
            .map_err(|e| ReceiveError::Io(io::Error::other(e)))?
            .map_err(ReceiveError::from_write)?
    };
    let mut file = HashedFile {
        file,
        hashes: Hashes::new(),
    };
    let mut buffer = Vec::with_capacity(WRITE_CHUNK);
    let mut body = BodyBatches::new(body, limit, stall);
    while body.fill(&mut buffer).await? {
        (file, buffer) = on_blocking_pool(file, buffer, HashedFile::write).await?;
    }
    if body.size() == 0 {
        return Err(ReceiveError::Empty);
    }
    (file, _) = on_blocking_pool(file, buffer, |file, _| file.file.sync_all()).await?;
    let (sha256, md5) = file.hashes.finish();
    Ok((body.size(), sha256, md5))
}

/// Removes the files directly in `dir` last modified more than `age` ago.
pub fn remove_older_than(dir: &Path, age: Duration) -> io::Result<usize> {
    let cutoff = SystemTime::now() - age;
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_file() && meta.modified()? < cutoff {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;

    const STALL: Duration = Duration::from_secs(60);

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = io::Result<Bytes>> {
        stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn receives_and_hashes_a_stream() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        let blob = storage
            .receive(chunks(&[b"hello ", b"world"]), 100, STALL)
            .await
            .unwrap();
        assert_eq!(blob.size, 11);
        assert_eq!(
            blob.sha256.as_str(),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(blob.md5, "5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert_eq!(std::fs::read(blob.path()).unwrap(), b"hello world");
        drop(blob);
        wait_empty(&storage.tmp_dir()).await;
    }

    #[tokio::test]
    async fn scratch_directories_are_listed_and_removed_by_owner() {
        let dir = tempfile::tempdir().unwrap();
        let (live, dead, legacy) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let storage = Storage::open(dir.path())
            .unwrap()
            .with_scratch(live)
            .unwrap();
        let blob = storage
            .receive(chunks(&[b"data"]), 100, STALL)
            .await
            .unwrap();
        assert!(
            blob.part
                .path
                .starts_with(storage.tmp_dir().join(live.to_string()))
        );
        let tmp = storage.tmp_dir();
        std::fs::create_dir(tmp.join(dead.to_string())).unwrap();
        std::fs::write(tmp.join(dead.to_string()).join("x.part"), b"half").unwrap();
        // What 0.1.0 left: a directory and a lock file beside it.
        std::fs::create_dir(tmp.join(legacy.to_string())).unwrap();
        std::fs::write(tmp.join(format!("{legacy}.lock")), b"").unwrap();
        std::fs::write(tmp.join("not-an-instance"), b"").unwrap();
        let mut expected = vec![live, dead, legacy];
        expected.sort_unstable();
        assert_eq!(storage.scratch_owners().unwrap(), expected);
        assert!(storage.scratch_idle(live).unwrap().unwrap() < Duration::from_secs(60));
        assert!(storage.scratch_idle(legacy).unwrap().is_some());

        storage.remove_scratch(dead).unwrap();
        storage.remove_scratch(legacy).unwrap();
        storage.remove_scratch(legacy).unwrap();
        assert_eq!(storage.scratch_owners().unwrap(), vec![live]);
        assert_eq!(storage.scratch_idle(dead).unwrap(), None);
        assert!(tmp.join("not-an-instance").exists());
    }

    /// A body that sends `first` and then waits forever, like a client gone silent.
    fn silent_after(first: usize) -> impl Stream<Item = io::Result<Bytes>> {
        stream::iter([Ok(Bytes::from(vec![7u8; first]))]).chain(stream::pending())
    }

    async fn wait_empty(dir: &Path) {
        for _ in 0..500 {
            if std::fs::read_dir(dir).unwrap().count() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{} still holds a partial upload", dir.display());
    }

    #[tokio::test]
    async fn a_receive_dropped_midway_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        // Dropped while waiting for the body (more than a write chunk went to the file), as
        // hyper drops a request whose HTTP/2 stream was reset.
        let receive = storage.receive(silent_after(WRITE_CHUNK + 1), 1 << 30, STALL);
        let cut = tokio::time::timeout(Duration::from_millis(300), receive).await;
        assert!(cut.is_err());
        wait_empty(&storage.tmp_dir()).await;
        // A received upload that is never kept is removed too.
        let blob = storage
            .receive(chunks(&[b"data"]), 100, STALL)
            .await
            .unwrap();
        drop(blob);
        wait_empty(&storage.tmp_dir()).await;
    }

    #[tokio::test]
    async fn refuses_empty_and_oversized_bodies_without_leaving_files() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        assert!(matches!(
            storage.receive(chunks(&[]), 100, STALL).await,
            Err(ReceiveError::Empty)
        ));
        assert!(matches!(
            storage
                .receive(chunks(&[b"0123456789", b"x"]), 10, STALL)
                .await,
            Err(ReceiveError::TooLarge { limit: 10 })
        ));
        let broken = stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "client went away",
            )),
        ]);
        assert!(matches!(
            storage.receive(broken, 100, STALL).await,
            Err(ReceiveError::Body(_))
        ));
        assert!(matches!(
            storage
                .receive(silent_after(10), 100, Duration::from_millis(100))
                .await,
            Err(ReceiveError::Stalled { .. })
        ));
        assert_eq!(std::fs::read_dir(storage.tmp_dir()).unwrap().count(), 0);
    }
}
