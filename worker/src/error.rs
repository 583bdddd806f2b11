//! Errors at the job boundary, and retrying the transient ones.

use std::future::Future;
use std::time::{Duration, Instant};

use apalis::prelude::{AbortError, BoxDynError};
use rieter::blobs::{BlobError, StoreError};
use rieter::db::DbError;
use rieter::ingest::RecordError;
use rieter::regenerate::RegenerateError;
use rieter::scratch::ScratchError;
use rieter::signing::distro_keys::DistroKeyError;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
    #[error("background task: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Regenerate(#[from] RegenerateError),
    #[error(transparent)]
    Scratch(#[from] ScratchError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Keys(#[from] DistroKeyError),
}

impl From<StoreError> for JobError {
    fn from(err: StoreError) -> Self {
        Self::Blob(err.into())
    }
}

impl From<sqlx::Error> for JobError {
    fn from(err: sqlx::Error) -> Self {
        Self::Db(DbError::Sql(err))
    }
}

impl JobError {
    /// Faults that go away by themselves: the database being unreachable, the disk being full.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Db(db) => db.is_unavailable(),
            Self::Io(io) => matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ),
            Self::Regenerate(err) => err.is_transient(),
            Self::Blob(err) => err.is_transient(),
            Self::Record(err) => err.is_transient(),
            Self::Keys(DistroKeyError::Db(err)) => err.is_unavailable(),
            _ => false,
        }
    }

    /// The error to hand to apalis: a transient fault is retried later (after the handler's
    /// own backing off ran out); any other would only fail the same way again, so the job
    /// ends after this attempt.
    pub fn into_job_failure(self) -> BoxDynError {
        if self.is_transient() {
            Box::new(self)
        } else {
            Box::new(AbortError::new(self))
        }
    }
}

/// How long a job keeps retrying a transient fault before handing the failure to apalis.
const TRANSIENT_RETRY_FOR: Duration = Duration::from_secs(600);

/// Runs `op` until it succeeds or fails for a reason that is not transient, backing off
/// between attempts. Only idempotent operations may be retried this way.
pub async fn retry_transient<T, F, Fut>(what: &str, mut op: F) -> Result<T, JobError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, JobError>>,
{
    let deadline = Instant::now() + TRANSIENT_RETRY_FOR;
    let mut delay = Duration::from_millis(250);
    loop {
        match op().await {
            Err(err) if err.is_transient() && Instant::now() < deadline => {
                tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "{what}: transient failure");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            result => return result,
        }
    }
}
