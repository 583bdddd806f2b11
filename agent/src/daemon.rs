//! The agent's loop: claim builds for its architectures while it has capacity, run each in
//! its own task, and on shutdown stop claiming and stop its builds (their leases end and
//! the server queues them again). A server that refuses the agent's claims (its key) stops
//! the agent with the reason; one that is away is asked again, less and less often.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tracing::Instrument;

use crate::build::{self, BuildContext};
use crate::client::{CallError, Client};
use crate::config::AgentConfig;

pub async fn run(config: AgentConfig, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let client = Client::new(&config.server_url, &config.key)?;
    std::fs::create_dir_all(config.data_dir.join("builds"))?;
    let secret_files: Vec<&std::path::Path> = config
        .file
        .as_deref()
        .into_iter()
        .chain(config.signing_key.as_ref().map(|(_, path)| path.as_path()))
        .collect();
    let ctx = Arc::new(BuildContext {
        client: client.clone(),
        sandbox: config.sandbox.sandbox(&config.data_dir, &secret_files),
        signing_key: config.signing_key.as_ref().map(|(key, _)| key.clone()),
        data_dir: config.data_dir.clone(),
        shutdown: shutdown.clone(),
    });
    let slots = Arc::new(Semaphore::new(config.capacity));
    let mut stop = shutdown.clone();
    tracing::info!(
        server = %config.server_url,
        arches = ?config.arches,
        capacity = config.capacity,
        sandbox = ?config.sandbox,
        "agent started"
    );
    let mut pause = config.poll;
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot?,
            _ = stop.wait_for(|s| *s) => break,
        };
        let claimed = tokio::select! {
            claimed = client.claim(&config.name, &config.arches, &config.labels) => claimed,
            _ = stop.wait_for(|s| *s) => break,
        };
        let wait = match claimed {
            Ok(Some(claim)) => {
                pause = config.poll;
                let ctx = ctx.clone();
                let span = tracing::info_span!(
                    "build",
                    build.id = claim.build.id,
                    target = %claim.target.name,
                    arch = %claim.build.arch
                );
                tokio::spawn(
                    async move {
                        build::run(&ctx, claim).await;
                        drop(slot);
                    }
                    .instrument(span),
                );
                continue;
            }
            Ok(None) => config.poll,
            // A refusal of the claim itself (a wrong or revoked key, a key without the
            // `agent` permission, settings the server does not take) will not go away.
            Err(CallError::Refused { status, detail }) if status.is_client_error() => {
                anyhow::bail!("the server refused this agent ({status}): {detail}");
            }
            Err(err) => {
                tracing::warn!(error = %err, "could not ask the server for work");
                // Back off while the server is away or refuses, up to a minute.
                pause = (pause * 2).min(Duration::from_secs(60));
                pause
            }
        };
        drop(slot);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    // Running builds see the shutdown and stop; wait for them to clean up.
    let _ = tokio::time::timeout(
        Duration::from_secs(30),
        slots.acquire_many(config.capacity as u32),
    )
    .await;
    tracing::info!("agent stopped");
    Ok(())
}
