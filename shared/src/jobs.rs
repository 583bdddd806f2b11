//! Job payloads and how they are queued. A job carries identifiers only; its handler re-reads
//! the state it acts on, so running a job twice (apalis delivers at least once) is harmless.

use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

/// A kind of job: its payload, the queue it travels on and how often apalis may run it.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// Set explicitly: apalis's default queue name is the Rust type name, which would silently
    /// change with a rename.
    const QUEUE: &'static str;
    /// Attempts before apalis gives up on a job that keeps failing for a transient reason
    /// (each attempt backs off for minutes itself). Any other error ends the job after one
    /// attempt. A worker dying mid-job does not count: apalis re-delivers such jobs without
    /// limit, so the parse job counts its own starts (`ingest::MAX_PARSE_STARTS`).
    const MAX_ATTEMPTS: usize;
}

/// Parse an accepted upload and put its package in the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ParseUpload {
    pub upload_id: Uuid,
}

impl Job for ParseUpload {
    const QUEUE: &'static str = "rieter.parse_upload";
    const MAX_ATTEMPTS: usize = 10;
}

/// Rebuild and publish the databases of one repository architecture, once it is quiet.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Regenerate {
    pub repo_arch_id: i64,
}

impl Job for Regenerate {
    const QUEUE: &'static str = "rieter.regenerate";
    const MAX_ATTEMPTS: usize = 10;
}

/// Sync a mirror with its upstream.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncMirror {
    pub mirror_id: i64,
}

impl Job for SyncMirror {
    const QUEUE: &'static str = "rieter.mirror_sync";
    /// A sync records its own failures and the schedule retries it; only the database being
    /// away fails the job itself.
    const MAX_ATTEMPTS: usize = 3;
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("encoding the job: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("queueing the job: {0}")]
    Queue(#[from] apalis_postgres::Error),
}

/// Queues `job` on `conn`, typically inside the transaction whose writes call for it, so the
/// job exists exactly when those writes do. Returns the apalis task id.
pub async fn enqueue<J: Job>(
    conn: &mut PgConnection,
    job: &J,
    delay: Duration,
) -> Result<String, EnqueueError> {
    let id = ulid::Ulid::generate();
    let task = TaskBuilder::new(serde_json::to_vec(job)?)
        .task_id(TaskId::from_ulid(id))
        .max_attempts(J::MAX_ATTEMPTS)
        .run_after(delay)
        .build();
    apalis_postgres::queries::push_tasks(conn, J::QUEUE, vec![task]).await?;
    Ok(id.to_string())
}
