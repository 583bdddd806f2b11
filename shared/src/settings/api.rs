//! The api's configuration (see `rieter::settings` for where values come from).

use std::net::SocketAddr;
use std::path::PathBuf;

use super::proxies::TrustedProxy;
use super::{LogFormat, Secret, SettingsError};
use crate::blobs::{Location, S3Options};
use crate::names::DistroName;
use crate::signing::KeyEncryptionKey;
use serde::Deserialize;

/// The shortest admin key accepted: 32 characters, e.g. 16 random bytes in hex.
pub const MIN_API_KEY_LEN: usize = 32;
/// How the example configuration's placeholder keys begin.
const PLACEHOLDER_PREFIX: &str = "change-me";

#[derive(Debug, Clone, Deserialize)]
pub struct ApiConfig {
    /// Postgres connection URL (`RIETER_DATABASE_URL`).
    pub database_url: Secret<String>,
    /// This process's scratch space, and the local blob store unless `storage` says otherwise
    /// (`RIETER_DATA_DIR`).
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
    /// Address to listen on, host:port (`RIETER_BIND`).
    #[serde(default = "default_bind")]
    pub bind: SocketAddr,
    /// The administrator's API key (`RIETER_API_KEY` or `RIETER_API_KEY_FILE`), at least
    /// [`MIN_API_KEY_LEN`] characters, not the example's placeholder.
    pub api_key: Secret<String>,
    /// Largest package accepted, in bytes (`RIETER_MAX_UPLOAD_BYTES`, default 2 GiB).
    #[serde(default = "default_max_upload_bytes")]
    pub max_upload_bytes: u64,
    /// Apply pending migrations at start; when false, refuse to start on an old schema.
    #[serde(default = "default_true")]
    pub auto_migrate: bool,
    /// Database connections the api may hold.
    #[serde(default = "default_db_connections")]
    pub db_max_connections: u32,
    /// Database connections for the reads anyone may trigger (listings, details, file lists),
    /// on top of `db_max_connections`, which uploads, key checks and removals keep to
    /// themselves.
    #[serde(default = "default_db_read_connections")]
    pub db_read_connections: u32,
    /// Milliseconds a read statement may run before it is cancelled (the request is a 503).
    #[serde(default = "default_db_read_timeout_ms")]
    pub db_read_timeout_ms: u64,
    /// Seconds a client has to send a request's whole header, counted from when the connection
    /// opens or its previous response was sent (so also how long an idle HTTP/1.1 keep-alive
    /// connection is kept).
    #[serde(default = "default_header_read_timeout_secs")]
    pub header_read_timeout_secs: u64,
    /// Seconds a connection may go without a byte read or written before it is closed.
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    /// Seconds an upload may go without sending any data before it is abandoned (400) and its
    /// partial file removed (`RIETER_UPLOAD_STALL_TIMEOUT_SECS`).
    #[serde(default = "default_upload_stall_timeout_secs")]
    pub upload_stall_timeout_secs: u64,
    /// Seconds in-flight requests get to finish after SIGTERM.
    #[serde(default = "default_shutdown_grace_secs")]
    pub shutdown_grace_secs: u64,
    #[serde(default)]
    pub log_format: LogFormat,
    /// On an S3 blob store: answer a package download with a redirect (307) to a presigned URL
    /// valid this many seconds, so the bytes come from the object store rather than through
    /// the api (`RIETER_PRESIGNED_URL_SECS`; unset: the api streams them).
    #[serde(default)]
    pub presigned_url_secs: Option<u64>,
    /// Distributions whose databases, package files and API data only callers with a key for
    /// them may read (`RIETER_PRIVATE_DISTROS=a,b`).
    #[serde(default)]
    pub private_distros: Vec<String>,
    /// Reverse proxies (addresses or networks, `10.0.0.0/8`) whose `X-Forwarded-For` names
    /// the client in request logs (`RIETER_TRUSTED_PROXIES=127.0.0.1,::1`). Unset: the peer
    /// address is the client, whatever the header says.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Serve `GET /metrics` to anyone (`RIETER_METRICS_PUBLIC`, default false: an admin key or
    /// a key with the `metrics` permission).
    #[serde(default)]
    pub metrics_public: bool,
    /// Clients reach the api over HTTPS (a TLS-terminating proxy in front): the web UI's
    /// cookies are marked `Secure`, so browsers never send them over plain HTTP
    /// (`RIETER_BEHIND_TLS`, default false).
    #[serde(default)]
    pub behind_tls: bool,
    /// How long a build agent's lease lasts without an extension: an agent that stops
    /// reporting for this long loses the build to the queue (`RIETER_BUILD_LEASE_SECS`,
    /// default 60, at least 5; agents extend at a quarter of it).
    #[serde(default = "default_build_lease_secs")]
    pub build_lease_secs: u64,
}

fn default_build_lease_secs() -> u64 {
    60
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

/// The api's default address, also what `rieter-api healthcheck` asks when none is configured.
pub fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8000))
}

fn default_max_upload_bytes() -> u64 {
    2 << 30
}

fn default_true() -> bool {
    true
}

fn default_db_connections() -> u32 {
    16
}

fn default_db_read_connections() -> u32 {
    8
}

fn default_db_read_timeout_ms() -> u64 {
    5_000
}

fn default_header_read_timeout_secs() -> u64 {
    30
}

fn default_idle_timeout_secs() -> u64 {
    60
}

fn default_upload_stall_timeout_secs() -> u64 {
    60
}

fn default_shutdown_grace_secs() -> u64 {
    30
}

impl ApiConfig {
    pub fn load() -> Result<Self, SettingsError> {
        let mut config: Self = super::load()?;
        // `RIETER_PRIVATE_DISTROS=` (empty) or `a, b` mean what they look like.
        config.private_distros = config
            .private_distros
            .iter()
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty())
            .collect();
        config.validate()?;
        Ok(config)
    }

    /// `trusted_proxies`, parsed.
    pub fn trusted_proxies(&self) -> Result<Vec<TrustedProxy>, SettingsError> {
        self.trusted_proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| {
                TrustedProxy::parse(p).map_err(|e| SettingsError::invalid("trusted_proxies", e))
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
        let key = self.api_key.expose();
        if key.trim().chars().count() < MIN_API_KEY_LEN {
            return Err(SettingsError::invalid(
                "api_key",
                format!(
                    "must be at least {MIN_API_KEY_LEN} characters long \
                     (make one with `openssl rand -hex 32`)"
                ),
            ));
        }
        if key.to_ascii_lowercase().starts_with(PLACEHOLDER_PREFIX) {
            return Err(SettingsError::invalid(
                "api_key",
                "is the example configuration's placeholder; set a secret of your own \
                 (make one with `openssl rand -hex 32`)",
            ));
        }
        if !(5..=3600).contains(&self.build_lease_secs) {
            return Err(SettingsError::invalid(
                "build_lease_secs",
                "must be between 5 and 3600",
            ));
        }
        if self.max_upload_bytes == 0 {
            return Err(SettingsError::invalid(
                "max_upload_bytes",
                "must be positive",
            ));
        }
        // S3 accepts presigned URLs valid for up to seven days.
        if self
            .presigned_url_secs
            .is_some_and(|secs| secs == 0 || secs > 7 * 24 * 3600)
        {
            return Err(SettingsError::invalid(
                "presigned_url_secs",
                "must be between 1 and 604800 (seven days)",
            ));
        }
        self.trusted_proxies()?;
        for name in &self.private_distros {
            DistroName::parse(name)
                .map_err(|e| SettingsError::invalid("private_distros", e.to_string()))?;
        }
        if self.upload_stall_timeout_secs == 0 {
            return Err(SettingsError::invalid(
                "upload_stall_timeout_secs",
                "must be positive",
            ));
        }
        if self.db_max_connections == 0 {
            return Err(SettingsError::invalid(
                "db_max_connections",
                "must be positive",
            ));
        }
        for (key, value) in [
            ("db_read_connections", u64::from(self.db_read_connections)),
            ("db_read_timeout_ms", self.db_read_timeout_ms),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
        ] {
            if value == 0 {
                return Err(SettingsError::invalid(key, "must be positive"));
            }
        }
        Ok(())
    }
}
