use anyhow::Context;
use clap::Parser;
use rieter::settings::WorkerConfig;

/// Rieter's background worker: parses uploads and rebuilds repository databases.
///
/// Run as many as you like, on any host sharing the database and data directory. Configured
/// by the file named by RIETER_CONFIG (default ./rieter.toml) and RIETER_* environment
/// variables; deploy/rieter.example.toml lists every key.
#[derive(Debug, Parser)]
#[command(name = "rieter-worker", version)]
struct Cli {
    /// Serve this worker's metrics (`GET /metrics`, Prometheus's text format) on this address;
    /// overrides `metrics_bind`. No authentication: use an address only the scraper reaches.
    #[arg(long, value_name = "ADDR")]
    metrics_bind: Option<std::net::SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = WorkerConfig::load().context("loading the configuration")?;
    if cli.metrics_bind.is_some() {
        config.metrics_bind = cli.metrics_bind;
    }
    rieter::telemetry::init(config.log_format);
    tracing::info!(version = rieter::VERSION, ?config, "starting rieter-worker");
    let state = rieter_worker::build_state(config).await?;
    rieter_worker::run(state, rieter::shutdown::signal()).await
}
