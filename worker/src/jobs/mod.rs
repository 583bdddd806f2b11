//! Job handlers and their registration. Queue names and payloads live in `rieter::jobs`;
//! concurrency and polling are decided here, in one place.

pub mod parse_upload;
pub mod regenerate;
pub mod sync_mirror;

use std::time::Duration;

use apalis::prelude::*;
use apalis_postgres::{Config, PostgresStorage};
use rieter::jobs::{Job, ParseUpload, Regenerate, SyncMirror};

use crate::state::SharedState;

/// Polls for due jobs at least this often. LISTEN/NOTIFY wakes workers at once for jobs due
/// now; delayed and retried jobs are only found by polling.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

fn queue_config<J: Job>(state: &SharedState, batch: usize) -> Config {
    Config::default()
        .queue(J::QUEUE)
        .batch_size(batch)
        .heartbeat_interval(Duration::from_secs(state.config.heartbeat_secs))
        .missed_heartbeats(3)
}

/// Registers every worker of this process with the monitor.
pub fn register(monitor: Monitor, state: SharedState) -> Monitor {
    let name = state.config.worker_name();
    let parse_state = state.clone();
    let parse_name = name.clone();
    let regen_state = state.clone();
    let regen_name = name.clone();
    let mirror_state = state;
    let mirror_name = name;
    monitor
        .register(move |restarts| {
            let concurrency = regen_state.config.regen_concurrency;
            let backend = PostgresStorage::<Regenerate>::new(&regen_state.pool)
                .with_config(queue_config::<Regenerate>(&regen_state, concurrency))
                .with_pubsub()
                .poll_with_interval(POLL_INTERVAL);
            WorkerBuilder::new(format!("{regen_name}-regen-{restarts}"))
                .backend(backend)
                .data(regen_state.clone())
                .concurrency(concurrency)
                .catch_panic()
                .build(regenerate::run)
        })
        .register(move |restarts| {
            let concurrency = parse_state.config.parse_concurrency();
            let backend = PostgresStorage::<ParseUpload>::new(&parse_state.pool)
                .with_config(queue_config::<ParseUpload>(&parse_state, concurrency))
                .with_pubsub()
                .poll_with_interval(POLL_INTERVAL);
            WorkerBuilder::new(format!("{parse_name}-parse-{restarts}"))
                .backend(backend)
                .data(parse_state.clone())
                .concurrency(concurrency)
                .catch_panic()
                .build(parse_upload::run)
        })
        .register(move |restarts| {
            let concurrency = mirror_state.config.mirror_concurrency;
            let backend = PostgresStorage::<SyncMirror>::new(&mirror_state.pool)
                .with_config(queue_config::<SyncMirror>(&mirror_state, concurrency))
                .with_pubsub()
                .poll_with_interval(POLL_INTERVAL);
            WorkerBuilder::new(format!("{mirror_name}-mirror-{restarts}"))
                .backend(backend)
                .data(mirror_state.clone())
                .concurrency(concurrency)
                .catch_panic()
                .build(sync_mirror::run)
        })
}
