//! Receiving an upload's body: hashed while it arrives, into a scratch file on the local
//! backend (then linked into the store by [`super::accept`]) or straight into the object store
//! on S3 (then copied to its blob's key by [`super::accept`]).

use std::io;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;

use crate::blobs::{BlobStore, Digest, Source, Staged};
use crate::storage::{BodyBatches, Hashes, ReceiveError, ReceivedBlob, Storage, WRITE_CHUNK};

/// A completely received upload with its digests, not yet accepted. Dropping it removes what
/// it holds (the scratch file, the staged object).
#[derive(Debug)]
pub enum Received {
    /// A synced file in this process's scratch directory (local backend).
    File(ReceivedBlob),
    /// In the object store at a staging key, or in memory if small (S3).
    Staged {
        size: u64,
        sha256: Digest,
        md5: String,
        staged: Staged,
    },
}

impl Received {
    pub fn size(&self) -> u64 {
        match self {
            Self::File(file) => file.size,
            Self::Staged { size, .. } => *size,
        }
    }

    pub fn sha256(&self) -> &Digest {
        match self {
            Self::File(file) => &file.sha256,
            Self::Staged { sha256, .. } => sha256,
        }
    }

    pub fn md5(&self) -> &str {
        match self {
            Self::File(file) => &file.md5,
            Self::Staged { md5, .. } => md5,
        }
    }

    /// Where [`crate::blobs::claim`] takes the blob's bytes from.
    pub(super) fn source(&self) -> Source<'_> {
        match self {
            Self::File(file) => Source::File(file.path()),
            Self::Staged { staged, .. } => Source::from(staged),
        }
    }

    /// Removes the staged object now (a scratch file goes when dropped).
    pub(super) async fn discard(self) {
        if let Self::Staged {
            staged: Staged::Object(object),
            ..
        } = self
        {
            object.discard().await;
        }
    }
}

impl From<ReceivedBlob> for Received {
    fn from(file: ReceivedBlob) -> Self {
        Self::File(file)
    }
}

/// Receives `body`, computing its size, SHA-256 and MD5, refusing more than `limit` bytes and
/// a body that sends nothing for `stall`. On the local backend the body goes to a scratch file
/// of `storage`; on S3 it streams into `store` (a multipart upload, memory bounded by a few
/// parts). On any error, or if this future is dropped, nothing is left behind.
pub async fn receive<S>(
    storage: &Storage,
    store: &BlobStore,
    body: S,
    limit: u64,
    stall: Duration,
) -> Result<Received, ReceiveError>
where
    S: Stream<Item = io::Result<Bytes>>,
{
    if store.is_local() {
        return Ok(Received::File(storage.receive(body, limit, stall).await?));
    }
    let mut upload = store.start_staging();
    let mut body = BodyBatches::new(body, limit, stall);
    let received = stage(&mut upload, &mut body).await;
    let (sha256, md5, staged) = match received {
        Ok(received) => received,
        Err(err) => {
            // The error answer goes out once the parts are gone.
            upload.abort().await;
            return Err(err);
        }
    };
    Ok(Received::Staged {
        size: body.size(),
        sha256,
        md5,
        staged,
    })
}

async fn stage<S>(
    upload: &mut crate::blobs::StagingUpload,
    body: &mut BodyBatches<S>,
) -> Result<(Digest, String, Staged), ReceiveError>
where
    S: Stream<Item = io::Result<Bytes>>,
{
    let mut hashes = Hashes::new();
    let mut buffer = Vec::with_capacity(WRITE_CHUNK);
    while body.fill(&mut buffer).await? {
        // Hashing a batch takes a while: not on an async thread.
        (hashes, buffer) = tokio::task::spawn_blocking(move || {
            hashes.update(&buffer);
            (hashes, buffer)
        })
        .await
        .map_err(|e| ReceiveError::Io(io::Error::other(e)))?;
        upload.write(&buffer).await.map_err(ReceiveError::Store)?;
        buffer.clear();
    }
    if body.size() == 0 {
        return Err(ReceiveError::Empty);
    }
    let staged = upload.finish().await.map_err(ReceiveError::Store)?;
    let (sha256, md5) = hashes.finish();
    Ok((sha256, md5, staged))
}
