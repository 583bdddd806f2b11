//! The data directory: where uploaded blobs and published repository trees live.
//!
//! ```text
//! <data_dir>/tmp/<instance>/<uuid>.part   an upload being received by one api process
//! <data_dir>/tmp/<instance>.lock          held (flock) by that process while it lives
//! <data_dir>/blobs/<upload id>            an accepted upload, later the package file itself
//! <data_dir>/repos/<distro>/<repo>/<arch> what pacman downloads: databases and hard links to blobs
//! <data_dir>/trash/                       removed trees waiting to be deleted
//! ```
//!
//! Every file is written under a temporary name on the same filesystem and renamed into place,
//! so a reader sees either the old file or the new one, never half of one.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::Md5;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::names::{ArchName, DistroName, RepoName};

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("the request body is empty; send the package file as the body")]
    Empty,
    #[error("the package is larger than the upload limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the server has no space left to store the upload")]
    StorageFull,
    #[error("reading the request body failed: {0}")]
    Body(#[source] io::Error),
    #[error("storing the upload failed: {0}")]
    Io(#[source] io::Error),
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

/// A completely received, flushed upload under a temporary name, with its digests.
#[derive(Debug)]
pub struct ReceivedBlob {
    temp_path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub md5: String,
}

#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
    scratch: Option<Arc<Scratch>>,
}

/// A process's own directory for uploads in progress, with the lock that proves the process is
/// alive. Whatever a dead process left there is garbage and is removed.
#[derive(Debug)]
struct Scratch {
    dir: PathBuf,
    _lock: std::fs::File,
}

impl Storage {
    /// Opens (and creates, if needed) the data directory layout under `root`.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let storage = Self {
            root: root.into(),
            scratch: None,
        };
        for dir in [
            storage.tmp_dir(),
            storage.blobs_dir(),
            storage.repos_dir(),
            storage.trash_dir(),
        ] {
            std::fs::create_dir_all(&dir).map_err(|e| {
                io::Error::new(e.kind(), format!("creating {}: {e}", dir.display()))
            })?;
        }
        Ok(storage)
    }

    /// Gives this process its own scratch directory for receiving uploads (held by a file lock
    /// for the life of the process), after removing those of processes that died.
    pub fn with_scratch(mut self) -> io::Result<Self> {
        self.remove_dead_scratch()?;
        let id = Uuid::new_v4();
        let dir = self.tmp_dir().join(id.to_string());
        std::fs::create_dir(&dir)?;
        let lock = std::fs::File::create(self.tmp_dir().join(format!("{id}.lock")))?;
        lock.lock()?;
        self.scratch = Some(Arc::new(Scratch { dir, _lock: lock }));
        Ok(self)
    }

    /// Removes the scratch directories of processes that no longer hold their lock, i.e. the
    /// half-received uploads of a process that was killed. Returns how many it removed.
    pub fn remove_dead_scratch(&self) -> io::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(self.tmp_dir())? {
            let path = entry?.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".lock"))
                .map(str::to_owned)
            else {
                continue;
            };
            let lock = match std::fs::File::open(&path) {
                Ok(lock) => lock,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            if lock.try_lock().is_ok() {
                match std::fs::remove_dir_all(self.tmp_dir().join(&id)) {
                    Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                    _ => {}
                }
                std::fs::remove_file(&path)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn scratch_dir(&self) -> PathBuf {
        self.scratch
            .as_ref()
            .map_or_else(|| self.tmp_dir(), |s| s.dir.clone())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs")
    }

    pub fn repos_dir(&self) -> PathBuf {
        self.root.join("repos")
    }

    pub fn trash_dir(&self) -> PathBuf {
        self.root.join("trash")
    }

    pub fn blob_path(&self, upload_id: Uuid) -> PathBuf {
        self.blobs_dir().join(upload_id.to_string())
    }

    pub fn distro_dir(&self, distro: &DistroName) -> PathBuf {
        self.repos_dir().join(distro.as_str())
    }

    pub fn repo_dir(&self, distro: &DistroName, repo: &RepoName) -> PathBuf {
        self.distro_dir(distro).join(repo.as_str())
    }

    pub fn arch_dir(&self, distro: &DistroName, repo: &RepoName, arch: &ArchName) -> PathBuf {
        self.repo_dir(distro, repo).join(arch.as_str())
    }

    /// Streams `body` to a temporary file while computing its size, SHA-256 and MD5, refusing
    /// more than `limit` bytes. The file is flushed to disk before this returns. On any error
    /// the temporary file is removed.
    pub async fn receive<S>(&self, body: S, limit: u64) -> Result<ReceivedBlob, ReceiveError>
    where
        S: Stream<Item = io::Result<Bytes>>,
    {
        let temp_path = self.scratch_dir().join(format!("{}.part", Uuid::new_v4()));
        let result = write_hashed(&temp_path, body, limit).await;
        match result {
            Ok((size, sha256, md5)) => Ok(ReceivedBlob {
                temp_path,
                size,
                sha256,
                md5,
            }),
            Err(err) => {
                let _ = tokio::fs::remove_file(&temp_path).await;
                Err(err)
            }
        }
    }

    /// Moves a received upload to its permanent blob name.
    pub async fn keep(&self, blob: &ReceivedBlob, upload_id: Uuid) -> io::Result<PathBuf> {
        let path = self.blob_path(upload_id);
        tokio::fs::rename(&blob.temp_path, &path).await?;
        sync_dir(self.blobs_dir()).await?;
        Ok(path)
    }

    /// Drops a received upload that will not be kept.
    pub async fn discard(&self, blob: ReceivedBlob) {
        let _ = tokio::fs::remove_file(&blob.temp_path).await;
    }

    /// Removes a blob; a blob already gone is not an error (deletion is retried by sweeps).
    pub async fn remove_blob(&self, upload_id: Uuid) -> io::Result<()> {
        match tokio::fs::remove_file(self.blob_path(upload_id)).await {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }

    /// Takes a published tree (a distribution, repository or architecture directory) out of
    /// service at once by moving it to the trash, which the sweep empties. A tree already gone
    /// is not an error.
    pub async fn discard_tree(&self, dir: &Path) -> io::Result<()> {
        let dest = self.trash_dir().join(Uuid::new_v4().to_string());
        match tokio::fs::rename(dir, &dest).await {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }

    /// Empties the trash.
    pub fn empty_trash(&self) -> io::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(self.trash_dir())? {
            let path = entry?.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
            removed += 1;
        }
        Ok(removed)
    }

    /// Deletes temporary files older than `age`, left behind by a process that died while
    /// receiving or writing them.
    pub fn clean_tmp(&self, age: Duration) -> io::Result<usize> {
        remove_older_than(&self.tmp_dir(), age)
    }
}

/// Bytes of an upload collected before they are hashed and written in one go. Together with
/// the chunk being received this bounds the memory an upload takes, whatever its size.
const WRITE_CHUNK: usize = 256 << 10;

/// The blocking half of receiving an upload: the file and the running digests. Hashing and
/// writing happen on the blocking pool, a chunk at a time, off the async threads.
struct HashedFile {
    file: std::fs::File,
    sha256: Sha256,
    md5: Md5,
}

impl HashedFile {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        use std::io::Write;
        self.sha256.update(data);
        self.md5.update(data);
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
    path: &Path,
    body: S,
    limit: u64,
) -> Result<(u64, String, String), ReceiveError>
where
    S: Stream<Item = io::Result<Bytes>>,
{
    let file = {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || std::fs::File::create(path))
            .await
            .map_err(|e| ReceiveError::Io(io::Error::other(e)))?
            .map_err(ReceiveError::from_write)?
    };
    let mut file = HashedFile {
        file,
        sha256: Sha256::new(),
        md5: Md5::new(),
    };
    let mut buffer = Vec::with_capacity(WRITE_CHUNK);
    let mut size = 0u64;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(ReceiveError::Body)?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(ReceiveError::TooLarge { limit });
        }
        if buffer.len() + chunk.len() > WRITE_CHUNK {
            (file, buffer) = on_blocking_pool(file, buffer, HashedFile::write).await?;
        }
        buffer.extend_from_slice(&chunk);
    }
    if size == 0 {
        return Err(ReceiveError::Empty);
    }
    (file, _) = on_blocking_pool(file, buffer, |file, rest| {
        file.write(rest)?;
        file.file.sync_all()
    })
    .await?;
    Ok((
        size,
        hex::encode(file.sha256.finalize()),
        hex::encode(file.md5.finalize()),
    ))
}

/// Flushes a directory's entries, so a rename into it survives a crash.
pub async fn sync_dir(dir: impl AsRef<Path>) -> io::Result<()> {
    let dir = dir.as_ref().to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
        .await
        .map_err(io::Error::other)?
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
            .receive(chunks(&[b"hello ", b"world"]), 100)
            .await
            .unwrap();
        assert_eq!(blob.size, 11);
        assert_eq!(
            blob.sha256,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(blob.md5, "5eb63bbbe01eeed093cb22bb8f5acdc3");
        let id = Uuid::new_v4();
        let path = storage.keep(&blob, id).await.unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"hello world");
        assert_eq!(std::fs::read_dir(storage.tmp_dir()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn scratch_of_dead_processes_is_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let live = Storage::open(dir.path()).unwrap().with_scratch().unwrap();
        // A "dead" process: a scratch directory whose lock nobody holds, with a half upload.
        let dead = live.tmp_dir().join("dead");
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join("x.part"), b"half").unwrap();
        std::fs::write(live.tmp_dir().join("dead.lock"), b"").unwrap();

        let other = Storage::open(dir.path()).unwrap().with_scratch().unwrap();
        assert!(!dead.exists(), "the dead process's scratch survived");
        assert!(!live.tmp_dir().join("dead.lock").exists());
        let live_dir = live.scratch_dir();
        assert!(live_dir.is_dir(), "a live process's scratch was removed");
        assert_ne!(live_dir, other.scratch_dir());
        let blob = live.receive(chunks(&[b"data"]), 100).await.unwrap();
        assert!(blob.temp_path.starts_with(&live_dir));
        assert_eq!(other.remove_dead_scratch().unwrap(), 0);
    }

    #[tokio::test]
    async fn refuses_empty_and_oversized_bodies_without_leaving_files() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        assert!(matches!(
            storage.receive(chunks(&[]), 100).await,
            Err(ReceiveError::Empty)
        ));
        assert!(matches!(
            storage.receive(chunks(&[b"0123456789", b"x"]), 10).await,
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
            storage.receive(broken, 100).await,
            Err(ReceiveError::Body(_))
        ));
        assert_eq!(std::fs::read_dir(storage.tmp_dir()).unwrap().count(), 0);
    }
}
