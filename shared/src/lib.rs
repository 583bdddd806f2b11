//! Rieter's domain library, shared by the `rieter-api` and `rieter-worker` binaries.
//!
//! It owns everything that is not HTTP or process wiring: validated names, pacman version
//! ordering, package parsing, repository database rendering, blob storage, database access and
//! the job payloads both binaries agree on.

pub mod actor;
pub mod blobs;
pub mod build;
pub mod db;
pub mod depends;
pub mod ingest;
pub mod jobs;
pub mod key_admin;
pub mod keys;
pub mod metrics;
pub mod mirror;
pub mod names;
pub mod package;
pub mod publish;
pub mod regenerate;
pub mod removal;
pub mod repo_db;
pub mod schedule;
pub mod scratch;
pub mod sessions;
pub mod settings;
pub mod shutdown;
pub mod signing;
pub mod storage;
pub mod telemetry;
pub mod version;

/// This build's version, as in the workspace's Cargo.toml (`--version`, logs, `/api/v1/health`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
