use anyhow::Context;
use rieter_worker::config::WorkerConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = WorkerConfig::load().context("loading the configuration")?;
    rieter::telemetry::init(config.log_format);
    tracing::info!(?config, "starting rieter-worker");
    let state = rieter_worker::build_state(config).await?;
    rieter_worker::run(state, rieter::shutdown::signal()).await
}
