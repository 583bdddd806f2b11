//! What every job can reach.

use std::sync::Arc;

use rieter::ingest::IngestConfig;
use rieter::storage::Storage;
use sqlx::PgPool;

use rieter::settings::WorkerConfig;

pub struct WorkerState {
    pub pool: PgPool,
    pub storage: Storage,
    pub config: WorkerConfig,
    pub ingest: IngestConfig,
    /// Becomes true when the process starts shutting down, so jobs that are only waiting can
    /// hand their work back instead of holding up the exit.
    pub stopping: tokio::sync::watch::Sender<bool>,
}

pub type SharedState = Arc<WorkerState>;
