//! The `rieter-api` process: receives uploads, serves the REST API and the repositories.
//! Domain logic lives in the `rieter` (shared) crate; this crate is HTTP wiring.

mod allow;
pub mod auth;
pub mod cli;
pub mod error;
mod file_read;
mod http_file;
mod listen;
mod pagination;
mod problems;
mod published;
mod routes;
mod server;
pub mod state;
mod telemetry;
mod ui;
mod upload_body;
mod upload_waits;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Endpoint, EndpointExt, Route};

use crate::published::PublishedFiles;
use crate::upload_waits::UploadWaits;
use rieter::storage::Storage;

pub use routes::openapi_service;

use crate::auth::Authenticator;
use crate::state::AppState;
use rieter::settings::ApiConfig;

/// The whole HTTP application for `state`.
pub fn app(state: AppState) -> impl Endpoint {
    let service = openapi_service();
    let spec = service.spec_yaml();
    let api = Route::new()
        .at(
            "/api/v1/openapi.yaml",
            poem::endpoint::make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/yaml")
                    .body(spec.clone())
            }),
        )
        .nest("/", service);
    ui::WithPages::new(api)
        .around(default_body_type)
        .around(problems::problem_responses)
        .around(telemetry::log_requests)
        .data(state)
}

/// Upload bodies are raw bytes; clients such as `curl -T` send no `Content-Type`, which
/// poem-openapi's binary payload would refuse, so a missing one means octet-stream.
async fn default_body_type<E: Endpoint>(
    next: E,
    mut req: poem::Request,
) -> poem::Result<poem::Response> {
    use poem::IntoResponse;
    use poem::http::{HeaderValue, Method, header::CONTENT_TYPE};
    if matches!(*req.method(), Method::POST | Method::PUT)
        && !req.headers().contains_key(CONTENT_TYPE)
    {
        req.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
    }
    next.call(req).await.map(IntoResponse::into_response)
}

/// Connects, migrates (or checks the schema) and builds the application state.
pub async fn build_state(config: ApiConfig) -> anyhow::Result<AppState> {
    let pool = rieter::db::open(
        config.database_url.expose(),
        config.db_max_connections,
        config.auto_migrate,
    )
    .await?;
    let reads = rieter::db::connect_reads(
        config.database_url.expose(),
        config.db_read_connections,
        Duration::from_millis(config.db_read_timeout_ms),
    )
    .await
    .context("connecting the read pool to the database (RIETER_DATABASE_URL)")?;
    let storage = Storage::open(&config.data_dir)
        .with_context(|| format!("opening the data directory {}", config.data_dir.display()))?;
    let blobs = rieter::blobs::open(
        &pool,
        &config.blob_location()?,
        &config.s3_options(),
        &config.data_dir,
    )
    .await?;
    let storage = rieter::scratch::claim(&pool, storage)
        .await
        .context("claiming a scratch directory for uploads")?;
    // Half-received uploads of apis that died are removed at once, not only by the next sweep.
    rieter::scratch::remove_dead(&pool, &storage)
        .await
        .context("removing the scratch directories of apis that are gone")?;
    let kek = config.key_encryption_key()?.map(Arc::new);
    let trusted_proxies = config.trusted_proxies()?.into();
    let metrics = rieter::metrics::install().context("installing the metrics recorder")?;
    Ok(AppState {
        kek,
        auth: Authenticator::new(
            &config.api_key,
            pool.clone(),
            config.private_distros.clone(),
        ),
        published: PublishedFiles::start(pool.clone()),
        upload_waits: UploadWaits::start(pool.clone()),
        pool,
        reads,
        storage,
        blobs,
        config: Arc::new(config),
        trusted_proxies,
        metrics,
    })
}

/// Serves until `shutdown` resolves, then gives in-flight requests the configured grace period.
pub async fn serve(
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let bind = state.config.bind;
    let grace = Duration::from_secs(state.config.shutdown_grace_secs);
    let acceptor = TcpListener::bind(bind)
        .into_acceptor()
        .await
        .with_context(|| format!("listening on {bind} (RIETER_BIND)"))?;
    serve_on(acceptor, state, shutdown, grace).await
}

/// Serves on an already bound acceptor (tests bind port 0 and read the address back).
pub async fn serve_on(
    acceptor: impl Acceptor + 'static,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> anyhow::Result<()> {
    let addrs: Vec<String> = acceptor
        .local_addr()
        .iter()
        .map(|a| a.to_string())
        .collect();
    tracing::info!(listen = ?addrs, "rieter-api serving");
    let timeouts = server::Timeouts {
        header_read: Duration::from_secs(state.config.header_read_timeout_secs),
        idle: Duration::from_secs(state.config.idle_timeout_secs),
    };
    server::run(acceptor, app(state), timeouts, shutdown, grace).await;
    Ok(())
}
