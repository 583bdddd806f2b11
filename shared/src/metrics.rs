//! Prometheus metrics (issue 15). Both binaries record through the `metrics` facade; each
//! process installs one recorder ([`install`]) and renders it at its scrape endpoint (the
//! api's `GET /metrics`, a worker's `metrics_bind` listener). The names recorded are here, in
//! one place, with what they mean.

use std::time::Duration;

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;

/// Requests by operation (the OpenAPI operation id; `page` for the web UI, `other` for
/// anything else), method and status.
pub const HTTP_REQUESTS: &str = "rieter_http_requests_total";
/// Request latency by operation, in seconds.
pub const HTTP_DURATION: &str = "rieter_http_request_duration_seconds";
/// Response body bytes by operation (what `Content-Length` announced).
pub const HTTP_BYTES: &str = "rieter_http_response_bytes_total";
/// Uploads by status, as the database holds them (a gauge read at each scrape).
pub const UPLOADS: &str = "rieter_uploads";
/// Jobs due and not started, by queue, and the age of the oldest (gauges read at each scrape).
pub const JOBS_QUEUED: &str = "rieter_jobs_queued";
pub const JOBS_OLDEST_AGE: &str = "rieter_jobs_oldest_queued_age_seconds";
/// Parses finished by a worker, by outcome (`recorded`, `unchanged`, `refused`, `failed`).
pub const PARSES: &str = "rieter_parses_total";
/// Parse duration, in seconds.
pub const PARSE_DURATION: &str = "rieter_parse_duration_seconds";
/// Databases published, by distribution, repository and architecture.
pub const REBUILDS: &str = "rieter_rebuilds_total";
/// Rebuild duration by distribution, repository and architecture, in seconds.
pub const REBUILD_DURATION: &str = "rieter_rebuild_duration_seconds";
/// Mirror syncs by distribution, repository and outcome (`synced`, `unchanged`, `failed`).
pub const MIRROR_SYNCS: &str = "rieter_mirror_syncs_total";
/// Bytes mirrors downloaded, by distribution and repository.
pub const MIRROR_BYTES: &str = "rieter_mirror_downloaded_bytes_total";
/// Connections of a database pool (`pool` is `main` or `reads`), by `state` (`idle`, `in_use`),
/// and the most it may open.
pub const DB_CONNECTIONS: &str = "rieter_db_pool_connections";
pub const DB_MAX_CONNECTIONS: &str = "rieter_db_pool_max_connections";
/// 1 when the last scrape could query the database, 0 when it could not.
pub const DB_UP: &str = "rieter_database_up";

/// Latency buckets: from a cached file (a millisecond) to a large upload or rebuild.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// This process's recorder, installed once ([`install`]).
static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();

/// Installs this process's recorder, or returns the one installed (a process that builds its
/// state twice, as tests do, records into one). Histograms are kept with the buckets above;
/// their upkeep runs in the background. Call it inside the Tokio runtime.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    if let Err(err) = metrics::set_global_recorder(recorder) {
        // Another thread installed one first: record into that.
        return HANDLE
            .get()
            .cloned()
            .ok_or(BuildError::FailedToSetGlobalRecorder(err));
    }
    let _ = HANDLE.set(handle.clone());
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(5));
        loop {
            ticker.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// Records a pool's connections, as of now.
pub fn record_pool(name: &'static str, pool: &PgPool) {
    let size = f64::from(pool.size());
    let idle = pool.num_idle() as f64;
    metrics::gauge!(DB_CONNECTIONS, "pool" => name, "state" => "idle").set(idle);
    metrics::gauge!(DB_CONNECTIONS, "pool" => name, "state" => "in_use")
        .set((size - idle).max(0.0));
    metrics::gauge!(DB_MAX_CONNECTIONS, "pool" => name)
        .set(f64::from(pool.options().get_max_connections()));
}

/// Records what the database says of the queues and the uploads; `rieter_database_up` says
/// whether it could.
pub async fn record_database(pool: &PgPool) {
    match crate::db::observe::snapshot(pool).await {
        Ok(snapshot) => {
            for queue in snapshot.queues {
                metrics::gauge!(JOBS_QUEUED, "queue" => queue.queue.clone())
                    .set(queue.queued as f64);
                metrics::gauge!(JOBS_OLDEST_AGE, "queue" => queue.queue).set(queue.oldest_age_secs);
            }
            for (status, count) in snapshot.uploads {
                metrics::gauge!(UPLOADS, "status" => status).set(count as f64);
            }
            metrics::gauge!(DB_UP).set(1.0);
        }
        Err(err) => {
            tracing::warn!(error = %err, "reading the database's figures for metrics failed");
            metrics::gauge!(DB_UP).set(0.0);
        }
    }
}
