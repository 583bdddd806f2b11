//! The agent's settings: `RIETER_*` environment variables over an optional TOML file
//! (`--config`), with the same keys in lower case (`server_url`, `agent_key`, ...).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use rieter::signing::ServerKey;

use crate::sandbox::Backend;

#[derive(Debug, Deserialize)]
struct Raw {
    server_url: Option<String>,
    agent_key: Option<String>,
    agent_arches: Option<Arches>,
    agent_capacity: Option<usize>,
    agent_sandbox: Option<String>,
    agent_labels: Option<Arches>,
    agent_name: Option<String>,
    agent_poll_secs: Option<u64>,
    agent_image: Option<String>,
    agent_chroot: Option<PathBuf>,
    agent_signing_key: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    log_format: Option<String>,
}

/// A list, written as a TOML array or as one comma-separated string (as in the environment).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Arches {
    List(Vec<String>),
    Text(String),
}

impl Arches {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::List(list) => list,
            Self::Text(text) => text.split(',').map(str::to_owned).collect(),
        }
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
    }
}

/// The agent's settings, checked.
#[derive(Clone)]
pub struct AgentConfig {
    /// The Rieter server, e.g. `https://repo.example.org`.
    pub server_url: String,
    /// A key with the `agent` permission. Never enters a sandbox.
    pub key: String,
    pub arches: Vec<String>,
    /// Builds run at once.
    pub capacity: usize,
    pub sandbox: Backend,
    /// Free-form labels, sent with every claim.
    pub labels: Vec<String>,
    /// The name builds show for this agent (default: the host name).
    pub name: String,
    /// How long to wait before asking again when there was nothing to build.
    pub poll: Duration,
    /// The work directory: one directory per running build.
    pub data_dir: PathBuf,
    /// The file the settings were read from (hidden from builds: it may hold the key).
    pub file: Option<PathBuf>,
    /// The OpenPGP secret key packages are signed with, and its file (hidden from builds).
    pub signing_key: Option<(ServerKey, PathBuf)>,
    pub json_logs: bool,
}

impl std::fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentConfig")
            .field("server_url", &self.server_url)
            .field("key", &"<hidden>")
            .field("arches", &self.arches)
            .field("capacity", &self.capacity)
            .field("sandbox", &self.sandbox)
            .field("labels", &self.labels)
            .field("name", &self.name)
            .field("data_dir", &self.data_dir)
            .field(
                "signing_key",
                &self.signing_key.as_ref().map(|(key, _)| key.fingerprint()),
            )
            .finish()
    }
}

impl AgentConfig {
    /// Reads the settings from `file` (when given) and the environment, which wins.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut builder = config::Config::builder();
        if let Some(file) = file {
            warn_if_readable_by_others(file);
            builder = builder.add_source(config::File::from(file).required(true));
        }
        let raw: Raw = builder
            .add_source(config::Environment::with_prefix("RIETER"))
            .build()
            .context("reading the agent's settings")?
            .try_deserialize()
            .context("reading the agent's settings")?;
        let mut config = Self::check(raw)?;
        config.file = file.map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.to_owned()));
        if let Some((_, path)) = &mut config.signing_key {
            *path = std::fs::canonicalize(&*path).unwrap_or_else(|_| path.clone());
        }
        Ok(config)
    }

    fn check(raw: Raw) -> anyhow::Result<Self> {
        let Some(server_url) = raw.server_url else {
            bail!("RIETER_SERVER_URL (server_url) is required: the Rieter server to build for");
        };
        let server_url = server_url.trim_end_matches('/').to_owned();
        if !(server_url.starts_with("http://") || server_url.starts_with("https://")) {
            bail!("RIETER_SERVER_URL must start with http:// or https://");
        }
        let Some(key) = raw.agent_key.filter(|k| !k.trim().is_empty()) else {
            bail!("RIETER_AGENT_KEY (agent_key) is required: a key with the `agent` permission");
        };
        let arches = raw.agent_arches.map(Arches::into_vec).unwrap_or_default();
        if arches.is_empty() {
            bail!("RIETER_AGENT_ARCHES (agent_arches) is required, e.g. `x86_64`");
        }
        let capacity = raw.agent_capacity.unwrap_or(1);
        if !(1..=64).contains(&capacity) {
            bail!("RIETER_AGENT_CAPACITY must be 1 to 64");
        }
        let sandbox = Backend::parse(
            raw.agent_sandbox.as_deref().unwrap_or("unshare"),
            raw.agent_image,
            raw.agent_chroot,
        )?;
        let poll = Duration::from_secs(raw.agent_poll_secs.unwrap_or(5).clamp(1, 300));
        let name = raw
            .agent_name
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "rieter-agent".to_owned());
        Ok(Self {
            server_url,
            key: key.trim().to_owned(),
            arches,
            capacity,
            sandbox,
            labels: raw.agent_labels.map(Arches::into_vec).unwrap_or_default(),
            name,
            poll,
            data_dir: raw
                .data_dir
                .unwrap_or_else(|| PathBuf::from("/var/lib/rieter-agent")),
            json_logs: raw.log_format.as_deref() == Some("json"),
            file: None,
            signing_key: raw
                .agent_signing_key
                .map(|path| load_signing_key(&path).map(|key| (key, path)))
                .transpose()?,
        })
    }
}

/// An unprotected OpenPGP secret key (armored or binary), checked to sign as pacman verifies.
fn load_signing_key(path: &Path) -> anyhow::Result<ServerKey> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading RIETER_AGENT_SIGNING_KEY {}", path.display()))?;
    ServerKey::import(&bytes)
        .with_context(|| format!("RIETER_AGENT_SIGNING_KEY {}", path.display()))
}

/// The file holds the agent's key: say so when other users may read it.
fn warn_if_readable_by_others(file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(file)
        && meta.permissions().mode() & 0o004 != 0
    {
        eprintln!(
            "warning: {} is readable by every user, and may hold the agent's key: chmod 600 it",
            file.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> Raw {
        Raw {
            server_url: Some("http://127.0.0.1:8000/".into()),
            agent_key: Some("rtr_x".into()),
            agent_arches: Some(Arches::Text("x86_64, aarch64".into())),
            agent_capacity: None,
            agent_sandbox: None,
            agent_labels: None,
            agent_name: Some("builder-1".into()),
            agent_poll_secs: None,
            agent_image: None,
            agent_chroot: None,
            agent_signing_key: None,
            data_dir: None,
            log_format: None,
        }
    }

    #[test]
    fn defaults_and_lists() {
        let config = AgentConfig::check(raw()).unwrap();
        assert_eq!(config.server_url, "http://127.0.0.1:8000");
        assert_eq!(config.arches, ["x86_64", "aarch64"]);
        assert_eq!(config.capacity, 1);
        assert!(matches!(config.sandbox, Backend::Unshare));
        assert!(!format!("{config:?}").contains("rtr_x"));
    }

    #[test]
    fn missing_or_wrong_settings_are_named() {
        let mut r = raw();
        r.agent_key = None;
        let err = AgentConfig::check(r).err().unwrap().to_string();
        assert!(err.contains("RIETER_AGENT_KEY"), "{err}");
        let mut r = raw();
        r.agent_arches = Some(Arches::List(vec![]));
        let err = AgentConfig::check(r).err().unwrap().to_string();
        assert!(err.contains("RIETER_AGENT_ARCHES"), "{err}");
        let mut r = raw();
        r.agent_sandbox = Some("chroot".into());
        let err = AgentConfig::check(r).err().unwrap().to_string();
        assert!(err.contains("unshare"), "{err}");
        let mut r = raw();
        r.agent_capacity = Some(0);
        assert!(AgentConfig::check(r).is_err());
        let mut r = raw();
        r.agent_signing_key = Some("/nonexistent/key.asc".into());
        let err = format!("{:#}", AgentConfig::check(r).err().unwrap());
        assert!(err.contains("RIETER_AGENT_SIGNING_KEY"), "{err}");
    }
}
