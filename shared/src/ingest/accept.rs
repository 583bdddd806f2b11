//! Accepting a received upload: its blob into the store, its row and its parse job into
//! Postgres.

use std::time::Duration;

use sqlx::PgPool;

use crate::blobs::{self, BlobError, BlobStore, Source};
use crate::db::DbError;
use crate::db::uploads::{self, NewUpload};
use crate::jobs::{self, ParseUpload};
use crate::storage::ReceivedBlob;

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("storing the upload: {0}")]
    Blob(#[from] BlobError),
    #[error("recording the upload: {0}")]
    Db(#[from] DbError),
}

impl AcceptError {
    pub fn is_storage_full(&self) -> bool {
        matches!(self, Self::Blob(err) if err.is_storage_full())
    }
}

/// Stores the received file as the upload's blob (unless the store has that content already)
/// and records the upload and its parse job, all in one transaction: a committed upload always
/// has its blob, and a failure leaves no row. Should the transaction fail after the blob was
/// stored, the blob is unrecorded and a later claim of the same content reuses it.
pub async fn accept(
    pool: &PgPool,
    store: &BlobStore,
    received: &ReceivedBlob,
    upload: &NewUpload,
) -> Result<(), AcceptError> {
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    blobs::claim(
        &mut tx,
        store,
        &received.sha256,
        received.size,
        Source::File(received.path()),
    )
    .await?;
    let job = ParseUpload {
        upload_id: upload.id,
    };
    let job_id = jobs::enqueue(&mut tx, &job, Duration::ZERO)
        .await
        .map_err(DbError::from)?;
    uploads::insert(&mut *tx, upload, &job_id)
        .await
        .map_err(DbError::from)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}
