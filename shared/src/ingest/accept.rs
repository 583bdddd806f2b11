//! Accepting a received upload ([`super::receive`]): its blob into the store, its row and its
//! parse job into Postgres.

use std::time::Duration;

use sqlx::PgPool;

use super::Received;
use crate::blobs::{self, BlobError, BlobStore};
use crate::db::DbError;
use crate::db::uploads::{self, NewUpload};
use crate::jobs::{self, ParseUpload};

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

/// Stores the received upload as its blob (unless the store has that content already) and
/// records the upload and its parse job, all in one transaction: a committed upload always has
/// its blob, and a failure leaves no row. Should the transaction fail after the blob was
/// stored, the blob is unrecorded and a later claim of the same content reuses it. What was
/// received (scratch file, staged object) is removed either way.
pub async fn accept(
    pool: &PgPool,
    store: &BlobStore,
    received: Received,
    upload: &NewUpload,
) -> Result<(), AcceptError> {
    let result = record(pool, store, &received, upload).await;
    received.discard().await;
    result
}

async fn record(
    pool: &PgPool,
    store: &BlobStore,
    received: &Received,
    upload: &NewUpload,
) -> Result<(), AcceptError> {
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    blobs::claim(
        &mut tx,
        store,
        received.sha256(),
        received.size(),
        received.source(),
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
