use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use rieter::settings::ApiConfig;
use rieter_api::cli::{Cli, Command};

// glibc's allocator spends a measurable share of a small response's time (BENCHMARKS.md,
// serving); mimalloc's thread-local free lists suit many short-lived request allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Healthcheck { addr, timeout_secs } => {
            rieter_api::cli::healthcheck(addr, Duration::from_secs(timeout_secs)).await
        }
        Command::Openapi => {
            print!("{}", rieter_api::openapi_service().spec_yaml());
            Ok(())
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = ApiConfig::load().context("loading the configuration")?;
    rieter::telemetry::init(config.log_format);
    tracing::info!(version = rieter::VERSION, ?config, "starting rieter-api");
    let state = rieter_api::build_state(config).await?;
    rieter_api::serve(state, rieter::shutdown::signal()).await
}
