//! Loading a binary's typed configuration.
//!
//! Precedence, lowest first: the defaults in the binary's config struct, then the TOML file
//! named by `RIETER_CONFIG` (default `rieter.toml` in the working directory, if present), then
//! `RIETER_*` environment variables (`RIETER_DATABASE_URL` sets `database_url`).

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::DeserializeOwned;

pub const ENV_PREFIX: &str = "RIETER";
pub const CONFIG_FILE_VAR: &str = "RIETER_CONFIG";
pub const DEFAULT_CONFIG_FILE: &str = "rieter.toml";
/// Keys whose environment variable holds a comma-separated list (`RIETER_PRIVATE_DISTROS=a,b`).
const LIST_KEYS: [&str; 1] = ["private_distros"];

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("missing configuration value `{key}`: set {env} or `{key}` in the config file")]
    Missing { key: String, env: String },
    #[error("invalid configuration value `{key}` (from {env} or the config file): {reason}")]
    Invalid {
        key: String,
        env: String,
        reason: String,
    },
    #[error("configuration file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("configuration: {0}")]
    Other(String),
}

impl SettingsError {
    /// For validation done after loading, naming the key the same way loading does.
    pub fn invalid(key: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.to_owned(),
            env: env_name(key),
            reason: reason.into(),
        }
    }
}

pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}_{}", key.to_ascii_uppercase())
}

/// Loads `T` from the config file and the environment.
pub fn load<T: DeserializeOwned>() -> Result<T, SettingsError> {
    let explicit = std::env::var_os(CONFIG_FILE_VAR).map(PathBuf::from);
    let path = explicit
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
    if explicit.is_some() && !path.is_file() {
        return Err(SettingsError::File {
            path,
            reason: format!("not found (named by {CONFIG_FILE_VAR})"),
        });
    }
    let config = config::Config::builder()
        .add_source(config::File::from(path.clone()).required(false))
        .add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("_")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key(LIST_KEYS[0]),
        )
        .build()
        .map_err(|e| SettingsError::File {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    config.try_deserialize().map_err(describe)
}

/// Turns the config crate's errors into ones that name the key and its variable.
fn describe(err: config::ConfigError) -> SettingsError {
    use config::ConfigError;
    let text = err.to_string();
    let missing = |key: &str| SettingsError::Missing {
        env: env_name(key),
        key: key.to_owned(),
    };
    let invalid = |key: &str| SettingsError::Invalid {
        env: env_name(key),
        key: key.to_owned(),
        reason: text.clone(),
    };
    match &err {
        ConfigError::NotFound(key) => missing(key),
        ConfigError::Type { key: Some(key), .. } | ConfigError::At { key: Some(key), .. } => {
            invalid(key)
        }
        _ => match between(&text, "missing field `", "`") {
            Some(key) => missing(key),
            None => match between(&text, "for key `", "`") {
                Some(key) => invalid(key),
                None => SettingsError::Other(text.clone()),
            },
        },
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// A value that must never reach a log: `Debug` and `Display` print `[redacted]`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let secret = Secret::new("hunter2".to_owned());
        assert_eq!(format!("{secret:?} {secret}"), "[redacted] [redacted]");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn errors_name_the_key_and_variable() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Needs {
            database_url: String,
            port: u16,
        }
        let missing = config::Config::builder()
            .set_override("port", 1)
            .unwrap()
            .build()
            .unwrap()
            .try_deserialize::<Needs>()
            .unwrap_err();
        let message = describe(missing).to_string();
        assert!(message.contains("`database_url`"), "{message}");
        assert!(message.contains("RIETER_DATABASE_URL"), "{message}");

        let wrong = config::Config::builder()
            .set_override("database_url", "x")
            .unwrap()
            .set_override("port", "not a number")
            .unwrap()
            .build()
            .unwrap()
            .try_deserialize::<Needs>()
            .unwrap_err();
        let message = describe(wrong).to_string();
        assert!(message.contains("RIETER_PORT"), "{message}");
    }
}
