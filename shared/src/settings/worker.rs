//! The worker's configuration (see `rieter::settings` for where values come from).

use std::path::PathBuf;
use std::time::Duration;

use super::{LogFormat, Secret, SettingsError};
use crate::blobs::{Location, S3Options};
use crate::mirror::admin::Declared;
use crate::mirror::{MirrorSpec, SpecInput, Upstream};
use crate::names::{ArchName, DistroName, RepoName};
use crate::package::Limits;
use crate::signing::KeyEncryptionKey;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerConfig {
    /// Postgres connection URL (`RIETER_DATABASE_URL`).
    pub database_url: Secret<String>,
    /// This process's scratch space, and the local blob store unless `storage` says otherwise
    /// (`RIETER_DATA_DIR`): with a local blob store, api and workers share it.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Where blobs (package files, database archives) are stored (`RIETER_STORAGE`): unset
    /// for the directory `blobs` of the data directory, `file:///absolute/path`, or
    /// `s3://bucket/optional/prefix` for an S3-compatible object store, whose endpoint,
    /// region and credentials come from the `s3_*` keys and, for those unset, the standard
    /// variables (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`, ...).
    #[serde(default)]
    pub storage: Option<String>,
    /// With an S3 `storage`: the service's URL, e.g. `https://s3.example.com`
    /// (`RIETER_S3_ENDPOINT`; unset: `AWS_ENDPOINT_URL`, or AWS itself).
    #[serde(default)]
    pub s3_endpoint: Option<String>,
    /// With an S3 `storage`: the region (`RIETER_S3_REGION`; unset: `AWS_REGION`).
    #[serde(default)]
    pub s3_region: Option<String>,
    /// With an S3 `storage`: the access key id (`RIETER_S3_ACCESS_KEY_ID`; unset:
    /// `AWS_ACCESS_KEY_ID`).
    #[serde(default)]
    pub s3_access_key_id: Option<String>,
    /// With an S3 `storage`: the secret access key (`RIETER_S3_SECRET_ACCESS_KEY` or
    /// `RIETER_S3_SECRET_ACCESS_KEY_FILE`; unset: `AWS_SECRET_ACCESS_KEY`).
    #[serde(default)]
    pub s3_secret_access_key: Option<Secret<String>>,
    /// With an S3 `storage`: allow an `http://` endpoint (`RIETER_S3_ALLOW_HTTP`; unset:
    /// `AWS_ALLOW_HTTP`, else false).
    #[serde(default)]
    pub s3_allow_http: Option<bool>,
    /// With an S3 `storage`: address the bucket as a host name (`BUCKET.endpoint`) rather
    /// than a path (`RIETER_S3_VIRTUAL_HOSTED_STYLE`; unset:
    /// `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`, else false).
    #[serde(default)]
    pub s3_virtual_hosted_style: Option<bool>,
    /// The secret that seals distributions' signing keys in the database
    /// (`RIETER_KEY_ENCRYPTION_KEY` or `RIETER_KEY_ENCRYPTION_KEY_FILE`): at least 32
    /// characters (`openssl rand -base64 32`), the same for the api and every worker. Without
    /// it, signing keys cannot be created, and a distribution that has one publishes no
    /// databases.
    #[serde(default)]
    pub key_encryption_key: Option<Secret<String>>,
    /// Uploads parsed at once by this process (default: the number of CPUs; three times that
    /// with an S3 `storage`, where each parse first waits for its download). Read it through
    /// [`WorkerConfig::parse_concurrency`].
    #[serde(default)]
    pub parse_concurrency: Option<usize>,
    /// Repository architectures regenerated at once by this process.
    #[serde(default = "default_regen_concurrency")]
    pub regen_concurrency: usize,
    /// Where this worker serves its metrics (`GET /metrics`, Prometheus's text format;
    /// `RIETER_METRICS_BIND`, or `--metrics-bind`). Unset: nowhere. It has no authentication:
    /// bind it to an address only the scraper reaches.
    #[serde(default)]
    pub metrics_bind: Option<std::net::SocketAddr>,
    /// Mirror syncs run at once by this process.
    #[serde(default = "default_mirror_concurrency")]
    pub mirror_concurrency: usize,
    /// Mirrors that exist with these settings, applied at each start of a worker
    /// (`[[mirrors]]` tables in the configuration file; see docs/mirrors.md). Mirrors created
    /// through the API are left alone.
    #[serde(default)]
    pub mirrors: Vec<MirrorDeclaration>,
    /// Seconds without a new package (and with no upload of the repository waiting to be
    /// parsed) before its databases are rebuilt.
    #[serde(default = "default_quiet_period_secs")]
    pub quiet_period_secs: f64,
    /// Longest a steady stream of changes may postpone a rebuild, in seconds.
    #[serde(default = "default_max_regen_delay_secs")]
    pub max_regen_delay_secs: f64,
    /// How long a package file stays downloadable after the database stopped listing it, in
    /// seconds (clients holding the previous database still fetch it).
    #[serde(default = "default_grace_period_secs")]
    pub grace_period_secs: u64,
    /// The architecture that receives `any` packages of a repository with no other
    /// architecture yet.
    #[serde(default = "default_arch")]
    pub default_arch: ArchName,
    #[serde(default = "default_max_pkginfo_bytes")]
    pub max_pkginfo_bytes: u64,
    #[serde(default = "default_max_entries")]
    pub max_entries: u64,
    #[serde(default = "default_max_file_list_bytes")]
    pub max_file_list_bytes: u64,
    #[serde(default = "default_max_unpacked_bytes")]
    pub max_unpacked_bytes: u64,
    /// Largest tar header extension (GNU long name or link, PAX header) in a package.
    #[serde(default = "default_max_header_extension_bytes")]
    pub max_header_extension_bytes: u64,
    /// Memory one parse's decompressor may use (xz dictionary, zstd window).
    #[serde(default = "default_max_decoder_memory_bytes")]
    pub max_decoder_memory_bytes: u64,
    /// CPU seconds one parse may take before the package is refused.
    #[serde(default = "default_max_parse_cpu_secs")]
    pub max_parse_cpu_secs: u64,
    /// Apply pending migrations at start; when false, refuse to start on an old schema.
    #[serde(default = "default_true")]
    pub auto_migrate: bool,
    /// Seconds between worker heartbeats; jobs of a worker silent for three heartbeats are
    /// handed to another worker.
    #[serde(default = "default_heartbeat_secs")]
    pub heartbeat_secs: u64,
    /// Seconds between maintenance sweeps (stranded uploads, orphaned files).
    #[serde(default = "default_sweep_interval_secs")]
    pub sweep_interval_secs: u64,
    /// Days a build's log is kept after the build ended (Vieter's `max_log_age`); 0 keeps
    /// logs for ever.
    #[serde(default = "default_max_log_age_days")]
    pub max_log_age_days: u64,
    /// Seconds running jobs get to finish after SIGTERM.
    #[serde(default = "default_shutdown_grace_secs")]
    pub shutdown_grace_secs: u64,
    /// Database connections this worker may hold (default: `parse_concurrency` +
    /// `regen_concurrency` + `mirror_concurrency` + 4, for the job queues' polling, heartbeats and the sweep). Fewer
    /// makes jobs wait for a connection.
    pub worker_db_connections: Option<u32>,
    /// Unique name of this process among the workers (default: host name and pid).
    pub worker_name: Option<String>,
    #[serde(default)]
    pub log_format: LogFormat,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}
fn cpus() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}
fn default_regen_concurrency() -> usize {
    2
}
fn default_mirror_concurrency() -> usize {
    2
}

/// A mirror as the configuration file declares it (the API's fields; the keyring is read from
/// a file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorDeclaration {
    pub distro: DistroName,
    pub repo: RepoName,
    pub upstream: String,
    pub arches: Vec<ArchName>,
    pub interval_secs: u32,
    pub keep_signatures: Option<bool>,
    /// An armored keyring the upstream's databases and packages must be signed by.
    pub verify_keyring_file: Option<PathBuf>,
    pub max_concurrent_downloads: Option<u32>,
    pub bandwidth_limit_bytes_per_sec: Option<u64>,
}
fn default_quiet_period_secs() -> f64 {
    3.0
}
fn default_max_regen_delay_secs() -> f64 {
    60.0
}
fn default_grace_period_secs() -> u64 {
    900
}
fn default_arch() -> ArchName {
    ArchName::parse("x86_64").expect("valid default architecture")
}
fn default_max_pkginfo_bytes() -> u64 {
    Limits::default().max_pkginfo_bytes
}
fn default_max_entries() -> u64 {
    Limits::default().max_entries
}
fn default_max_file_list_bytes() -> u64 {
    Limits::default().max_file_list_bytes
}
fn default_max_unpacked_bytes() -> u64 {
    Limits::default().max_unpacked_bytes
}
fn default_max_header_extension_bytes() -> u64 {
    Limits::default().max_header_extension_bytes
}
fn default_max_decoder_memory_bytes() -> u64 {
    Limits::default().max_decoder_memory_bytes
}
fn default_max_parse_cpu_secs() -> u64 {
    Limits::default().max_parse_cpu.as_secs()
}
fn default_true() -> bool {
    true
}
fn default_heartbeat_secs() -> u64 {
    5
}
fn default_max_log_age_days() -> u64 {
    90
}
fn default_sweep_interval_secs() -> u64 {
    30
}
fn default_shutdown_grace_secs() -> u64 {
    60
}

impl WorkerConfig {
    pub fn load() -> Result<Self, SettingsError> {
        let config: Self = super::load()?;
        config.validate()?;
        Ok(config)
    }

    /// The mirrors `mirrors` declares, validated.
    pub fn declared_mirrors(&self) -> Result<Vec<Declared>, SettingsError> {
        self.mirrors
            .iter()
            .map(|m| {
                let invalid = |reason: String| {
                    SettingsError::invalid("mirrors", format!("{}/{}: {reason}", m.distro, m.repo))
                };
                let verify_signatures = m
                    .verify_keyring_file
                    .as_ref()
                    .map(|path| {
                        std::fs::read_to_string(path)
                            .map_err(|e| invalid(format!("reading {}: {e}", path.display())))
                    })
                    .transpose()?;
                let spec = MirrorSpec::validate(SpecInput {
                    upstream: Upstream::parse(&m.upstream).map_err(|e| invalid(e.to_string()))?,
                    arches: m.arches.clone(),
                    interval_secs: m.interval_secs,
                    keep_signatures: m.keep_signatures,
                    verify_signatures,
                    max_concurrent_downloads: m.max_concurrent_downloads,
                    bandwidth_limit_bytes_per_sec: m.bandwidth_limit_bytes_per_sec,
                })
                .map_err(|e| invalid(e.to_string()))?;
                Ok(Declared {
                    distro: m.distro.clone(),
                    repo: m.repo.clone(),
                    spec,
                })
            })
            .collect()
    }

    /// The blob store `storage` names.
    pub fn blob_location(&self) -> Result<Location, SettingsError> {
        Location::parse(self.storage.as_deref(), &self.data_dir)
            .map_err(|e| SettingsError::invalid("storage", e.to_string()))
    }

    /// The key that seals signing keys, if `key_encryption_key` is set.
    pub fn key_encryption_key(&self) -> Result<Option<KeyEncryptionKey>, SettingsError> {
        self.key_encryption_key
            .as_ref()
            .map(|secret| KeyEncryptionKey::from_secret(secret.expose()))
            .transpose()
            .map_err(|e| SettingsError::invalid("key_encryption_key", e.to_string()))
    }

    /// How to reach the S3 blob store: the `s3_*` keys.
    pub fn s3_options(&self) -> S3Options {
        S3Options {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone(),
            allow_http: self.s3_allow_http,
            virtual_hosted_style: self.s3_virtual_hosted_style,
        }
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        self.blob_location()?;
        self.key_encryption_key()?;
        let positive = |key: &str, ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(SettingsError::invalid(key, "must be positive"))
            }
        };
        positive("parse_concurrency", self.parse_concurrency() > 0)?;
        positive("regen_concurrency", self.regen_concurrency > 0)?;
        positive("mirror_concurrency", self.mirror_concurrency > 0)?;
        self.declared_mirrors()?;
        positive("heartbeat_secs", self.heartbeat_secs > 0)?;
        positive("sweep_interval_secs", self.sweep_interval_secs > 0)?;
        positive("max_parse_cpu_secs", self.max_parse_cpu_secs > 0)?;
        if self.worker_db_connections.is_some_and(|n| n < 2) {
            return Err(SettingsError::invalid(
                "worker_db_connections",
                "must be at least 2 (one for the job queues, one for a job)",
            ));
        }
        if !(self.quiet_period_secs >= 0.0 && self.quiet_period_secs.is_finite()) {
            return Err(SettingsError::invalid(
                "quiet_period_secs",
                "must be zero or more",
            ));
        }
        if !(self.max_regen_delay_secs >= self.quiet_period_secs
            && self.max_regen_delay_secs.is_finite())
        {
            return Err(SettingsError::invalid(
                "max_regen_delay_secs",
                "must be at least quiet_period_secs",
            ));
        }
        if self.default_arch.is_any() {
            return Err(SettingsError::invalid(
                "default_arch",
                "must be a concrete architecture, not `any`",
            ));
        }
        Ok(())
    }

    /// Uploads parsed at once: as configured, else one per CPU, or three per CPU when the blob
    /// store is S3 (measured: a parse there spends most of its time on its download, and a
    /// 1,000-upload burst parsed in half the time with three per CPU; see BENCHMARKS.md).
    pub fn parse_concurrency(&self) -> usize {
        self.parse_concurrency
            .unwrap_or_else(|| match self.blob_location() {
                Ok(Location::S3 { .. }) => 3 * cpus(),
                _ => cpus(),
            })
    }

    /// The size of this worker's connection pool.
    pub fn db_connections(&self) -> u32 {
        self.worker_db_connections.unwrap_or_else(|| {
            let jobs =
                self.parse_concurrency() + self.regen_concurrency + self.mirror_concurrency + 4;
            u32::try_from(jobs).unwrap_or(u32::MAX)
        })
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_pkginfo_bytes: self.max_pkginfo_bytes,
            max_entries: self.max_entries,
            max_file_list_bytes: self.max_file_list_bytes,
            max_unpacked_bytes: self.max_unpacked_bytes,
            max_header_extension_bytes: self.max_header_extension_bytes,
            max_decoder_memory_bytes: self.max_decoder_memory_bytes,
            max_parse_cpu: Duration::from_secs(self.max_parse_cpu_secs),
        }
    }

    pub fn quiet_period(&self) -> Duration {
        Duration::from_secs_f64(self.quiet_period_secs)
    }

    pub fn max_regen_delay(&self) -> Duration {
        Duration::from_secs_f64(self.max_regen_delay_secs)
    }

    /// A name unique across worker processes: apalis registers workers by name and a second
    /// process with the same one would be refused.
    pub fn worker_name(&self) -> String {
        self.worker_name.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "host".to_owned());
            format!("{host}-{}", std::process::id())
        })
    }
}
