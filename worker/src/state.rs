//! What every job can reach.

use std::sync::Arc;

use rieter::ingest::IngestConfig;
use rieter::storage::Storage;
use sqlx::PgPool;

use crate::config::WorkerConfig;

pub struct WorkerState {
    pub pool: PgPool,
    pub storage: Storage,
    pub config: WorkerConfig,
    pub ingest: IngestConfig,
}

pub type SharedState = Arc<WorkerState>;
