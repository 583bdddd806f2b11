//! What every job can reach.

use std::sync::Arc;

use rieter::blobs::BlobStore;
use rieter::ingest::IngestConfig;
use rieter::signing::KeyEncryptionKey;
use rieter::storage::Storage;
use sqlx::PgPool;

use rieter::settings::WorkerConfig;

pub struct WorkerState {
    pub pool: PgPool,
    /// This process's data directory: its scratch space.
    pub storage: Storage,
    pub blobs: BlobStore,
    pub config: WorkerConfig,
    pub ingest: IngestConfig,
    /// Unseals distributions' signing keys (`key_encryption_key`).
    pub kek: Option<KeyEncryptionKey>,
    /// Becomes true when the process starts shutting down, so jobs that are only waiting can
    /// hand their work back instead of holding up the exit.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// When this process last looked for objects no `blobs` row records (see the sweep).
    pub orphans_scanned: std::sync::Mutex<Option<std::time::Instant>>,
}

pub type SharedState = Arc<WorkerState>;
