//! `rieter-agent`: builds PKGBUILDs for a Rieter server in a sandbox. It claims builds over
//! HTTP with a key that has the `agent` permission, and never touches the database.

mod build;
mod client;
mod config;
mod daemon;
mod fetch;
mod log_sink;
mod sandbox;
mod srcinfo;

use std::path::PathBuf;

use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};

/// Build PKGBUILDs for a Rieter server. Settings come from `RIETER_*` variables
/// (`RIETER_SERVER_URL`, `RIETER_AGENT_KEY`, `RIETER_AGENT_ARCHES`, ...) over the TOML file.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// A TOML file with the same keys in lower case (`server_url = "..."`).
    #[arg(long, env = "RIETER_AGENT_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = config::AgentConfig::load(args.config.as_deref())?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if config.json_logs {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut term = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("stopping: no new builds; running ones are stopped");
        let _ = stop_tx.send(true);
    });
    daemon::run(config, stop_rx).await
}
