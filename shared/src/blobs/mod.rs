//! Content-addressed blobs: every package file and database archive Rieter serves is a blob,
//! named by its SHA-256, written once to the [`BlobStore`] and recorded in the `blobs` table.
//! Packages, uploads in flight and published files refer to blobs by digest, so a package can
//! come from an upload, a mirror or a build, and identical files are stored once.
//!
//! The invariants (docs/reliability.md explains why they hold):
//! 1. A `blobs` row exists only while its object is in the store: [`claim`] writes the object
//!    before its row commits, and [`collect_garbage`] deletes the row before the object, both
//!    under the blob's advisory lock.
//! 2. A blob that a package, a published file (live, or retired and still in its grace period)
//!    or an upload in flight refers to is never collected: foreign keys forbid deleting its row,
//!    and the collector's query skips it.
//! 3. A claim and the reference it makes are recorded in one transaction.

mod digest;
mod staging;
mod store;
pub mod upgrade;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use sqlx::{PgConnection, PgPool};

pub use digest::{Digest, DigestError};
pub use staging::{Staged, StagedObject, StagingUpload};
pub use store::{BlobStore, Location, LocationError, S3Options, StoreError};

use crate::db::blobs as rows;
use crate::db::locks::{self, Lock};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl BlobError {
    pub fn is_storage_full(&self) -> bool {
        matches!(self, Self::Store(err) if err.is_storage_full())
    }

    /// Faults that go away by themselves: the database or the object store being
    /// unreachable, the disk being full.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Db(err) => crate::db::is_unavailable(err),
            Self::Store(err) => err.is_transient(),
        }
    }
}

/// Opens the blob store `location` names (reached with `s3` on S3) and moves a 0.1.0 data
/// directory at `data_dir` into it ([`upgrade`]): what every process does before it serves or
/// parses anything.
pub async fn open(
    pool: &PgPool,
    location: &Location,
    s3: &S3Options,
    data_dir: &Path,
) -> anyhow::Result<BlobStore> {
    use anyhow::Context;
    let store = BlobStore::open(location, s3)
        .with_context(|| format!("opening the blob store {location}"))?;
    upgrade::run(pool, &store, data_dir)
        .await
        .context("moving the 0.1.0 data directory into the blob store")?;
    Ok(store)
}

/// Where a blob's bytes come from when the store does not have them yet.
pub enum Source<'a> {
    /// A complete, synced local file.
    File(&'a Path),
    Bytes(Bytes),
    /// An upload staged in the same (S3) store, copied inside it.
    Staged(&'a StagedObject),
}

impl<'a> From<&'a Staged> for Source<'a> {
    fn from(staged: &'a Staged) -> Self {
        match staged {
            Staged::Bytes(bytes) => Self::Bytes(bytes.clone()),
            Staged::Object(object) => Self::Staged(object),
        }
    }
}

/// Makes sure the store holds the blob `digest` and records it, refreshing its claim: call it
/// in the transaction that records the reference to it (an upload, a published file). The
/// blob's lock is held until that transaction ends, so the collector cannot delete it between
/// this check and the commit; the object is written only when the blob is not recorded yet.
pub async fn claim(
    tx: &mut PgConnection,
    store: &BlobStore,
    digest: &Digest,
    size: u64,
    source: Source<'_>,
) -> Result<(), BlobError> {
    locks::lock_for_transaction(tx, &Lock::Blob { digest }).await?;
    if rows::touch(tx, digest).await? {
        return Ok(());
    }
    match source {
        Source::File(path) => store.put_file(digest, path).await?,
        Source::Bytes(bytes) => store.put_bytes(digest, bytes).await?,
        Source::Staged(staged) => store.put_staged(digest, staged).await?,
    }
    rows::insert(tx, digest, size as i64).await?;
    Ok(())
}

/// How long a claimed blob is safe from the collector even with no reference. Every claim
/// records its reference in the same transaction, so this is a margin, not a requirement.
pub const CLAIM_HOLD: Duration = Duration::from_secs(5);

/// How old a staged upload must be before [`collect_orphans`] deletes it: far beyond how long
/// any upload takes to be received and accepted (staged objects of finished uploads are
/// deleted at once; only a crash leaves one).
pub const STAGING_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Deletes the objects of the store that no `blobs` row records and that were written more
/// than `min_age` ago (younger ones may belong to a claim whose transaction is still open).
/// Such objects are left when a transaction that stored a blob fails or its process dies.
/// Staged uploads older than [`STAGING_MAX_AGE`], left by a process that died while accepting
/// them, go too ([`collect_stale_staging`]).
pub async fn collect_orphans(
    pool: &PgPool,
    store: &BlobStore,
    min_age: Duration,
) -> Result<usize, BlobError> {
    let old: Vec<Digest> = store
        .list(min_age)
        .await?
        .into_iter()
        .filter(|(_, written)| written.elapsed().is_ok_and(|age| age > min_age))
        .map(|(digest, _)| digest)
        .collect();
    let mut conn = pool.acquire().await?;
    let mut deleted = collect_stale_staging(store, STAGING_MAX_AGE).await?;
    for chunk in old.chunks(1000) {
        for digest in rows::unrecorded(&mut *conn, chunk).await? {
            deleted +=
                usize::from(delete_locked(&mut conn, store, &digest, Check::Unrecorded).await?);
        }
    }
    Ok(deleted)
}

/// Deletes the staged uploads (S3 only) written more than `age` ago; how many. Incomplete
/// multipart uploads are not listed: the bucket's lifecycle rule removes them.
pub async fn collect_stale_staging(store: &BlobStore, age: Duration) -> Result<usize, BlobError> {
    Ok(store.delete_staged_older_than(age).await?)
}

/// Deletes up to `limit` blobs nothing refers to. Returns how many were deleted.
pub async fn collect_garbage(
    pool: &PgPool,
    store: &BlobStore,
    limit: i64,
) -> Result<usize, BlobError> {
    let mut conn = pool.acquire().await?;
    let mut deleted = 0;
    for digest in rows::unreferenced(&mut *conn, CLAIM_HOLD, limit).await? {
        deleted +=
            usize::from(delete_locked(&mut conn, store, &digest, Check::Unreferenced).await?);
    }
    Ok(deleted)
}

/// Why the collector may delete a blob, checked again under its lock.
#[derive(Clone, Copy)]
enum Check {
    /// Nothing refers to its row (then forgotten, committed at once: no transaction).
    Unreferenced,
    /// No row records it.
    Unrecorded,
}

/// Deletes a blob's object if `check` still holds under the blob's session lock, which every
/// claim also takes: no claim is between storing the object and recording it meanwhile. The
/// row goes before the object; should the object's deletion fail, an unrecorded object is
/// left, which a later claim of the same content reuses or overwrites.
async fn delete_locked(
    conn: &mut PgConnection,
    store: &BlobStore,
    digest: &Digest,
    check: Check,
) -> Result<bool, BlobError> {
    let lock = Lock::Blob { digest };
    locks::lock(conn, &lock).await?;
    let deletable = match check {
        Check::Unreferenced => rows::forget_unreferenced(&mut *conn, digest, CLAIM_HOLD).await,
        Check::Unrecorded => rows::unrecorded(&mut *conn, std::slice::from_ref(digest))
            .await
            .map(|still| !still.is_empty()),
    };
    let result = match deletable {
        Ok(true) => store
            .delete(digest)
            .await
            .map(|()| true)
            .map_err(BlobError::from),
        Ok(false) => Ok(false),
        Err(err) => Err(err.into()),
    };
    locks::unlock(conn, &lock).await?;
    if result.as_ref().is_ok_and(|deleted| *deleted) {
        tracing::debug!(blob = %digest, "deleted a blob");
    }
    result
}
