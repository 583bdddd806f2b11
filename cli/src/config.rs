//! Which server to talk to and with which key: `--url`/`--api-key` (or `RIETER_URL`/
//! `RIETER_API_KEY`), else a named server of `~/.config/rieter/config.toml`:
//!
//! ```toml
//! default = "prod"
//!
//! [servers.prod]
//! url = "https://repo.example.com"
//! api_key = "..."            # or api_key_file = "/run/secrets/rieter"
//!
//! [servers.local]
//! url = "http://127.0.0.1:8000"
//! ```
//!
//! A configured server's key is sent only to that server's URL: `--url` pointing elsewhere
//! goes without it unless a key is given too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use serde::Deserialize;

/// Where requests go.
#[derive(Debug, Clone)]
pub struct Server {
    pub url: String,
    pub api_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The server used when none is named.
    pub default: Option<String>,
    #[serde(default)]
    pub servers: BTreeMap<String, ServerEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerEntry {
    pub url: String,
    pub api_key: Option<String>,
    pub api_key_file: Option<PathBuf>,
}

/// What the command line (and its environment variables) said.
#[derive(Debug, Default)]
pub struct Choice<'a> {
    pub url: Option<&'a str>,
    pub api_key: Option<&'a str>,
    pub server: Option<&'a str>,
    pub config: Option<&'a Path>,
}

/// The configuration file's path when `--config` (`RIETER_CONFIG`) names none:
/// `$XDG_CONFIG_HOME/rieter/config.toml`,
/// else `~/.config/rieter/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("rieter/config.toml"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config/rieter/config.toml"))
}

impl ConfigFile {
    /// Reads `path`; a missing file is an empty configuration unless it was named explicitly.
    pub fn load(path: &Path, explicit: bool) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("reading {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
}

/// The server and key to use.
pub fn resolve(choice: &Choice<'_>) -> anyhow::Result<Server> {
    let (path, explicit) = match choice.config {
        Some(path) => (Some(path.to_path_buf()), true),
        None => (default_path(), false),
    };
    let file = match &path {
        Some(path) => ConfigFile::load(path, explicit)?,
        None => ConfigFile::default(),
    };
    let named = choice.server.or(file.default.as_deref());
    let entry = match named {
        Some(name) => Some(file.servers.get(name).ok_or_else(|| {
            anyhow!(
                "no server {name:?} in {}",
                path.as_deref()
                    .map_or("the configuration".into(), |p| p.display().to_string())
            )
        })?),
        None => None,
    };
    // An empty variable (`RIETER_API_KEY=`) is no value.
    let given = |v: Option<&str>| v.filter(|v| !v.is_empty()).map(str::to_owned);
    let url = match (given(choice.url), entry) {
        (Some(url), _) => url,
        (None, Some(entry)) => entry.url.clone(),
        (None, None) => bail!(
            "no server: pass --url (or set RIETER_URL), or name one with --server from {}",
            path.as_deref()
                .map_or("a configuration file".into(), |p| p.display().to_string())
        ),
    };
    let api_key = match (given(choice.api_key), entry) {
        (Some(key), _) => Some(key),
        (None, Some(entry)) if same_server(&entry.url, &url) => entry_key(entry)?,
        _ => None,
    };
    Ok(Server { url, api_key })
}

fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn entry_key(entry: &ServerEntry) -> anyhow::Result<Option<String>> {
    match (&entry.api_key, &entry.api_key_file) {
        (Some(_), Some(_)) => bail!("a server has both api_key and api_key_file"),
        (Some(key), None) => Ok(Some(key.clone())),
        (None, Some(file)) => {
            let key = std::fs::read_to_string(file)
                .with_context(|| format!("reading the API key from {}", file.display()))?;
            Ok(Some(key.trim().to_owned()))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    const FILE: &str = r#"
default = "prod"
[servers.prod]
url = "https://prod.example/"
api_key = "prod-key"
[servers.local]
url = "http://127.0.0.1:8000"
"#;

    #[test]
    fn the_default_server_and_its_key() {
        let (_dir, path) = write(FILE);
        let choice = Choice {
            config: Some(&path),
            ..Choice::default()
        };
        let server = resolve(&choice).unwrap();
        assert_eq!(server.url, "https://prod.example/");
        assert_eq!(server.api_key.as_deref(), Some("prod-key"));
    }

    #[test]
    fn a_named_server_and_flags_over_the_file() {
        let (_dir, path) = write(FILE);
        let local = resolve(&Choice {
            server: Some("local"),
            config: Some(&path),
            ..Choice::default()
        })
        .unwrap();
        assert_eq!(
            (local.url.as_str(), local.api_key),
            ("http://127.0.0.1:8000", None)
        );
        let flagged = resolve(&Choice {
            url: Some("https://prod.example"),
            api_key: Some("other"),
            config: Some(&path),
            ..Choice::default()
        })
        .unwrap();
        assert_eq!(flagged.api_key.as_deref(), Some("other"));
        assert!(
            resolve(&Choice {
                server: Some("nope"),
                config: Some(&path),
                ..Choice::default()
            })
            .is_err()
        );
    }

    #[test]
    fn a_configured_key_never_goes_to_another_url() {
        let (_dir, path) = write(FILE);
        let elsewhere = resolve(&Choice {
            url: Some("https://attacker.example"),
            config: Some(&path),
            ..Choice::default()
        })
        .unwrap();
        assert_eq!(elsewhere.api_key, None);
        let same = resolve(&Choice {
            url: Some("https://prod.example"),
            config: Some(&path),
            ..Choice::default()
        })
        .unwrap();
        assert_eq!(same.api_key.as_deref(), Some("prod-key"));
    }

    #[test]
    fn a_named_file_must_exist_and_be_valid() {
        let missing = PathBuf::from("/nonexistent/rieter.toml");
        assert!(
            resolve(&Choice {
                config: Some(&missing),
                ..Choice::default()
            })
            .is_err()
        );
        let (_dir, path) = write("[servers.x]\nurl = 1\n");
        assert!(
            resolve(&Choice {
                config: Some(&path),
                ..Choice::default()
            })
            .is_err()
        );
    }
}
