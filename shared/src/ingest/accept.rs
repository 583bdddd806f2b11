//! Recording an accepted upload together with the job that will parse it.

use std::time::Duration;

use sqlx::PgPool;

use crate::db::DbError;
use crate::db::uploads::{self, NewUpload};
use crate::jobs::{self, ParseUpload};

/// Records the upload and queues its parse job in one transaction: either both exist or
/// neither does. The blob must already be stored under its final name.
pub async fn accept(pool: &PgPool, upload: &NewUpload) -> Result<(), DbError> {
    let mut tx = pool.begin().await?;
    let job = ParseUpload {
        upload_id: upload.id,
    };
    let job_id = jobs::enqueue(&mut tx, &job, Duration::ZERO).await?;
    uploads::insert(&mut *tx, upload, &job_id).await?;
    tx.commit().await?;
    Ok(())
}
