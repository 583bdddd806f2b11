//! What every handler can reach.

use std::sync::Arc;

use rieter::blobs::BlobStore;
use rieter::signing::KeyEncryptionKey;
use rieter::storage::Storage;
use sqlx::PgPool;

use crate::auth::Authenticator;
use crate::published::PublishedFiles;
use crate::upload_waits::UploadWaits;
use rieter::settings::ApiConfig;
use rieter::settings::proxies::TrustedProxy;

#[derive(Clone)]
pub struct AppState {
    /// For uploads, key checks, removals and admin operations.
    pub pool: PgPool,
    /// For the reads anyone may trigger, with a statement timeout (`rieter::db::connect_reads`):
    /// however they are hammered, `pool` stays free.
    pub reads: PgPool,
    /// This process's data directory: its scratch space for uploads being received.
    pub storage: Storage,
    pub blobs: BlobStore,
    /// Resolves the names of served files (`published_files`, cached).
    pub published: Arc<PublishedFiles>,
    /// Wakes uploads waiting to be final (`?wait=`).
    pub upload_waits: Arc<UploadWaits>,
    pub auth: Authenticator,
    /// Seals and unseals distributions' signing keys (`key_encryption_key`).
    pub kek: Option<Arc<KeyEncryptionKey>>,
    pub config: Arc<ApiConfig>,
    /// `trusted_proxies`, parsed: whose `X-Forwarded-For` names the client in the logs.
    pub trusted_proxies: Arc<[TrustedProxy]>,
    /// Renders this process's metrics (`GET /metrics`).
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
}
