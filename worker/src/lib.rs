//! The `rieter-worker` process: runs the jobs (parsing uploads, regenerating repository
//! databases) and periodic maintenance. Any number of these may run against one database.

mod error;
mod jobs;
mod metrics_listener;
pub mod state;
pub mod sweep;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use apalis::prelude::Monitor;
use rieter::ingest::IngestConfig;
use rieter::storage::Storage;

use crate::state::{SharedState, WorkerState};
use rieter::settings::WorkerConfig;

/// Connects, migrates (or checks the schema) and builds the worker state.
pub async fn build_state(config: WorkerConfig) -> anyhow::Result<SharedState> {
    let pool = rieter::db::open(
        config.database_url.expose(),
        config.db_connections(),
        config.auto_migrate,
    )
    .await?;
    let storage = Storage::open(&config.data_dir)
        .with_context(|| format!("opening the data directory {}", config.data_dir.display()))?;
    let blobs = rieter::blobs::open(
        &pool,
        &config.blob_location()?,
        &config.s3_options(),
        &config.data_dir,
    )
    .await?;
    // Archives being written and blobs being parsed live in a scratch directory of its own.
    let storage = rieter::scratch::claim(&pool, storage)
        .await
        .context("claiming a scratch directory")?;
    let declared = config.declared_mirrors()?;
    rieter::mirror::admin::declare(&pool, &declared)
        .await
        .context("declaring the configured mirrors")?;
    let ingest = IngestConfig {
        default_arch: config.default_arch.clone(),
    };
    let kek = config.key_encryption_key()?;
    Ok(Arc::new(WorkerState {
        kek,
        pool,
        storage,
        blobs,
        config,
        ingest,
        stopping: tokio::sync::watch::Sender::new(false),
        orphans_scanned: std::sync::Mutex::new(None),
    }))
}

/// Runs the jobs and the maintenance sweep until `shutdown` resolves; running jobs then get
/// the configured grace period to finish, and whatever is left is picked up by another worker.
pub async fn run(
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!(
        worker = %state.config.worker_name(),
        parse_concurrency = state.config.parse_concurrency(),
        regen_concurrency = state.config.regen_concurrency,
        mirror_concurrency = state.config.mirror_concurrency,
        "rieter-worker running"
    );
    let sweeper = tokio::spawn(sweep::run(state.clone()));
    let metrics = rieter::metrics::install().context("installing the metrics recorder")?;
    let listener = match state.config.metrics_bind {
        Some(addr) => {
            let serving = metrics_listener::serve(addr, metrics, state.pool.clone());
            Some(tokio::spawn(async move {
                if let Err(err) = serving.await {
                    tracing::error!(error = format!("{err:#}"), "the metrics listener stopped");
                }
            }))
        }
        None => None,
    };
    let monitor = jobs::register(Monitor::new(), state.clone())
        .shutdown_timeout(Duration::from_secs(state.config.shutdown_grace_secs))
        .should_restart(|worker, error| {
            tracing::warn!(worker = %worker.name(), %error, "worker stopped; restarting it");
            true
        });
    let stopping = state.clone();
    let result = monitor
        .run_with_signal(async move {
            shutdown.await;
            stopping.stopping.send_replace(true);
            Ok(())
        })
        .await;
    sweeper.abort();
    if let Some(listener) = listener {
        listener.abort();
    }
    result.context("running the job workers")
}
