//! A build's log: appended by its agent in chunks, each stored as a blob (so logs live where
//! packages do, on any host's store), read back whole or followed while the build runs, and
//! removed once older than the retention (`max_log_age_days`).
//!
//! An agent sends each chunk with the byte offset it starts at. A chunk that does not start
//! at the log's end is refused with the length to send from, and a chunk sent again after a
//! lost answer is recognised and accepted once: retries neither lose nor double log lines.

use std::io;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sqlx::PgPool;
use uuid::Uuid;

use crate::blobs::{self, BlobError, BlobStore, Digest, Source};
use crate::db::build_logs::{self, Chunk};
use crate::db::builds;

/// The largest chunk an agent may send at once.
pub const MAX_CHUNK_BYTES: usize = 1 << 20;

/// The most log one build keeps; an agent stops sending once its log is this long.
pub const MAX_LOG_BYTES: i64 = 64 << 20;

/// How often a followed log looks for new chunks.
const FOLLOW_POLL: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("no build {0}")]
    NotFound(i64),
    #[error("this lease of build {0} has ended; stop working on it")]
    LeaseLost(i64),
    #[error("a log chunk is 1 to {MAX_CHUNK_BYTES} bytes")]
    ChunkSize,
    #[error("the chunk starts at byte {offset}, but the log has {length} bytes: send from there")]
    Gap { offset: u64, length: u64 },
    #[error("the log reached its limit of {MAX_LOG_BYTES} bytes; the rest is not kept")]
    Full,
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Appends `bytes`, starting at byte `offset` of the log, to the log of build `id` held under
/// `lease_id`: the log's length after it.
pub async fn append(
    pool: &PgPool,
    store: &BlobStore,
    id: i64,
    lease_id: Uuid,
    offset: u64,
    bytes: Bytes,
) -> Result<u64, LogError> {
    if bytes.is_empty() || bytes.len() > MAX_CHUNK_BYTES {
        return Err(LogError::ChunkSize);
    }
    let digest = Digest::of(&bytes);
    let mut tx = pool.begin().await?;
    let state = build_logs::lock_state(&mut tx, id, lease_id)
        .await?
        .ok_or(LogError::NotFound(id))?;
    if !state.running || !state.lease_held {
        return Err(LogError::LeaseLost(id));
    }
    let length = state.log_bytes as u64;
    if offset < length {
        // The same chunk again (its first answer was lost): already in the log.
        let again = build_logs::chunk_at(&mut *tx, id, offset as i64).await?;
        if again.is_some_and(|c| c.digest == digest && c.size as usize == bytes.len()) {
            return Ok(length);
        }
    }
    if offset != length {
        return Err(LogError::Gap { offset, length });
    }
    if state.log_bytes + bytes.len() as i64 > MAX_LOG_BYTES {
        return Err(LogError::Full);
    }
    let size = bytes.len();
    blobs::claim(&mut tx, store, &digest, size as u64, Source::Bytes(bytes)).await?;
    build_logs::append(&mut tx, id, offset as i64, size as i32, &digest).await?;
    tx.commit().await?;
    Ok(length + size as u64)
}

/// The log of build `id` from its start, as a stream: what it has now, or with `follow`,
/// also what is appended until the build ends.
pub fn read(
    pool: PgPool,
    store: BlobStore,
    id: i64,
    follow: bool,
) -> BoxStream<'static, io::Result<Bytes>> {
    struct Reader {
        pool: PgPool,
        store: BlobStore,
        id: i64,
        follow: bool,
        offset: i64,
        /// The build had ended when the log was last found to have no more chunks.
        ended: bool,
    }
    let reader = Reader {
        pool,
        store,
        id,
        follow,
        offset: 0,
        ended: false,
    };
    stream::try_unfold(reader, |mut r| async move {
        loop {
            let chunks = build_logs::chunks_from(&r.pool, r.id, r.offset, 16)
                .await
                .map_err(io::Error::other)?;
            if !chunks.is_empty() {
                let mut out = BytesMut::new();
                for chunk in &chunks {
                    out.extend_from_slice(&chunk_bytes(&r.store, chunk, r.offset).await?);
                    r.offset = chunk.start_offset + i64::from(chunk.size);
                }
                return Ok(Some((out.freeze(), r)));
            }
            if !r.follow || r.ended {
                return Ok(None);
            }
            // Chunks are only appended under a running build's lease: once it has ended, one
            // more look finds every chunk it will ever have.
            let status = builds::status(&r.pool, r.id)
                .await
                .map_err(io::Error::other)?;
            match status {
                Some(status) if !status.is_final() => tokio::time::sleep(FOLLOW_POLL).await,
                _ => r.ended = true,
            }
        }
    })
    .boxed()
}

/// A chunk's bytes from `from` (a byte offset of the log within or before the chunk).
async fn chunk_bytes(store: &BlobStore, chunk: &Chunk, from: i64) -> io::Result<Bytes> {
    let skip = (from - chunk.start_offset).max(0) as u64;
    let range = (skip > 0).then_some(skip..chunk.size as u64);
    let parts: Vec<Bytes> = store
        .read(&chunk.digest, range)
        .await
        .map_err(io::Error::other)?
        .try_collect()
        .await?;
    Ok(parts.concat().into())
}

/// Removes the logs of builds that ended more than `max_age` ago: how many builds lost
/// theirs. Their chunks' blobs are left to the collector.
pub async fn remove_old(pool: &PgPool, max_age: Duration) -> Result<u64, sqlx::Error> {
    let mut removed = 0;
    loop {
        let batch = build_logs::remove_older_than(pool, max_age.as_secs_f64(), 500).await?;
        removed += batch;
        if batch < 500 {
            if removed > 0 {
                tracing::info!(builds = removed, "old build logs removed");
            }
            return Ok(removed);
        }
    }
}
