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
struct Cli {}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Cli::parse();
    let config = WorkerConfig::load().context("loading the configuration")?;
    rieter::telemetry::init(config.log_format);
    tracing::info!(version = rieter::VERSION, ?config, "starting rieter-worker");
    let state = rieter_worker::build_state(config).await?;
    rieter_worker::run(state, rieter::shutdown::signal()).await
}
