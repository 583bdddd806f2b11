//! The worker's metrics listener (`metrics_bind`, or `--metrics-bind`): `GET /metrics` in
//! Prometheus's text format, what this worker recorded (parses, rebuilds, mirror syncs, its
//! database pool). It has no authentication: bind it to an address only the scraper reaches.

use std::net::SocketAddr;

use anyhow::Context;
use metrics_exporter_prometheus::PrometheusHandle;
use poem::listener::TcpListener;
use poem::web::Data;
use poem::{EndpointExt, Route, Server, get, handler};
use sqlx::PgPool;

#[handler]
fn render(handle: Data<&PrometheusHandle>, pool: Data<&PgPool>) -> String {
    rieter::metrics::record_pool("main", &pool);
    handle.render()
}

/// Serves the metrics on `addr` until the process ends.
pub async fn serve(addr: SocketAddr, handle: PrometheusHandle, pool: PgPool) -> anyhow::Result<()> {
    let app = Route::new()
        .at("/metrics", get(render))
        .data(handle)
        .data(pool);
    let acceptor = poem::listener::Listener::into_acceptor(TcpListener::bind(addr))
        .await
        .with_context(|| format!("listening for metrics scrapes on {addr}"))?;
    tracing::info!(%addr, "serving metrics");
    Server::new_with_acceptor(acceptor)
        .run(app)
        .await
        .context("serving metrics")
}
