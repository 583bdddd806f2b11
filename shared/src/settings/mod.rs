//! Loading a binary's typed configuration.
//!
//! Precedence, lowest first: the defaults in the binary's config struct, then the TOML file
//! named by `RIETER_CONFIG` (default `rieter.toml` in the working directory, if present), then
//! `RIETER_*` environment variables (`RIETER_DATABASE_URL` sets `database_url`), then
//! `RIETER_*_FILE` variables naming a file that holds the value (docker secrets:
//! `RIETER_API_KEY_FILE=/run/secrets/rieter_api_key`).
//!
//! Every binary reads the same namespace ([`namespace`]): a key another binary uses is
//! accepted and ignored, a key no binary uses is an error naming it. Environment values are
//! taken as the text they are, so `RIETER_API_KEY=0123…` stays a string; numbers and booleans
//! are parsed from that text where the field is one.

mod api;
pub mod namespace;
pub mod proxies;
mod worker;

pub use api::{ApiConfig, MIN_API_KEY_LEN, default_bind};
pub use worker::WorkerConfig;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use config::Source;
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub const ENV_PREFIX: &str = "RIETER";
pub const CONFIG_FILE_VAR: &str = "RIETER_CONFIG";
pub const DEFAULT_CONFIG_FILE: &str = "rieter.toml";
/// Keys whose environment variable holds a comma-separated list (`RIETER_PRIVATE_DISTROS=a,b`).
const LIST_KEYS: [&str; 2] = ["private_distros", "trusted_proxies"];
/// The suffix of a variable naming a file that holds a key's value.
const FILE_SUFFIX: &str = "_FILE";
/// Largest value read from a `RIETER_*_FILE` file.
const MAX_VALUE_FILE_BYTES: u64 = 64 << 10;

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
    #[error("unknown configuration key `{key}` in {path}{hint}")]
    UnknownKey {
        key: String,
        path: PathBuf,
        hint: Hint,
    },
    #[error("unknown configuration variable {var}{hint}")]
    UnknownVariable { var: String, hint: Hint },
    #[error("{var}: {reason}")]
    Variable { var: String, reason: String },
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

/// The known key closest to a misspelt one, printed after an unknown-key error.
#[derive(Debug)]
pub struct Hint(Option<&'static str>);

impl Hint {
    fn for_key(key: &str, known: &BTreeSet<&'static str>) -> Self {
        let closest = known
            .iter()
            .map(|k| (edit_distance(key, k), *k))
            .filter(|(d, k)| *d <= 2.max(k.len() / 4))
            .min();
        Self(closest.map(|(_, k)| k))
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(key) => write!(f, " (did you mean `{key}`?)"),
            None => f.write_str(" (deploy/rieter.example.toml lists every key)"),
        }
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}_{}", key.to_ascii_uppercase())
}

/// Loads `T` from the config file and the process environment.
pub fn load<T: DeserializeOwned>() -> Result<T, SettingsError> {
    load_from(std::env::vars_os())
}

/// Loads `T` from the config file and the given environment.
pub fn load_from<T: DeserializeOwned>(
    env: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<T, SettingsError> {
    let env: Vec<(OsString, OsString)> = env.into_iter().collect();
    let explicit = env
        .iter()
        .find(|(name, _)| name == CONFIG_FILE_VAR)
        .map(|(_, value)| PathBuf::from(value));
    let path = explicit
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
    if explicit.is_some() && !path.is_file() {
        return Err(SettingsError::File {
            path,
            reason: format!("not found (named by {CONFIG_FILE_VAR})"),
        });
    }
    let known = namespace::known_keys();
    // Read once: the keys checked are the values loaded.
    // Always TOML: without a format, `config` guesses it from the extension and quietly
    // reads nothing from a file that has none (`RIETER_CONFIG=/etc/rieter/config`).
    let file = config::File::from(path.clone())
        .format(config::FileFormat::Toml)
        .required(false)
        .collect()
        .map_err(|e| SettingsError::File {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let mut builder = config::Config::builder();
    for (key, value) in file {
        if !known.contains(key.as_str()) {
            return Err(SettingsError::UnknownKey {
                hint: Hint::for_key(&key, &known),
                key,
                path,
            });
        }
        // The file is the lowest layer set here (the struct's serde defaults are below it).
        builder = builder
            .set_default(key, value)
            .map_err(|e| SettingsError::Other(e.to_string()))?;
    }
    for (key, value) in env_values(&env, &known)? {
        builder = if LIST_KEYS.contains(&key) {
            let items: Vec<String> = value.split(',').map(str::to_owned).collect();
            builder.set_override(key, items)
        } else {
            builder.set_override(key, value)
        }
        .map_err(|e| SettingsError::Other(e.to_string()))?;
    }
    let config = builder
        .build()
        .map_err(|e| SettingsError::Other(e.to_string()))?;
    config.try_deserialize().map_err(describe)
}

/// The configuration values the environment sets, by key: `RIETER_<KEY>` as text, and
/// `RIETER_<KEY>_FILE` as the content of the file it names.
fn env_values(
    env: &[(OsString, OsString)],
    known: &BTreeSet<&'static str>,
) -> Result<Vec<(&'static str, String)>, SettingsError> {
    let prefix = format!("{ENV_PREFIX}_");
    let mut values: Vec<(&'static str, String, String)> = Vec::new();
    for (name, value) in env {
        let Some(var) = name.to_str() else { continue };
        let Some(rest) = var.strip_prefix(&prefix) else {
            continue;
        };
        if namespace::OTHER_VARIABLES.contains(&var) {
            continue;
        }
        let lower = rest.to_ascii_lowercase();
        let utf8 = |value: &OsString| {
            value
                .to_str()
                .map(str::to_owned)
                .ok_or(SettingsError::Variable {
                    var: var.to_owned(),
                    reason: "is not valid UTF-8".to_owned(),
                })
        };
        let (key, text) = if let Some(&key) = known.get(lower.as_str()) {
            (key, utf8(value)?)
        } else if let Some(&key) = lower
            .strip_suffix(&FILE_SUFFIX.to_ascii_lowercase())
            .and_then(|base| known.get(base))
        {
            (key, read_value_file(var, Path::new(value))?)
        } else {
            return Err(SettingsError::UnknownVariable {
                var: var.to_owned(),
                hint: Hint::for_key(&lower, known),
            });
        };
        if let Some((_, _, other)) = values.iter().find(|(k, _, _)| *k == key) {
            return Err(SettingsError::Variable {
                var: var.to_owned(),
                reason: format!("sets `{key}`, which {other} sets too; set one of them"),
            });
        }
        values.push((key, text, var.to_owned()));
    }
    Ok(values.into_iter().map(|(k, v, _)| (k, v)).collect())
}

/// A value kept in a file (a docker or systemd secret): its content without the final newline.
fn read_value_file(var: &str, path: &Path) -> Result<String, SettingsError> {
    use std::io::Read;
    let fail = |reason: String| SettingsError::Variable {
        var: var.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path)
        .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
    let mut text = String::new();
    file.take(MAX_VALUE_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
    if text.len() as u64 > MAX_VALUE_FILE_BYTES {
        return Err(fail(format!(
            "{} is larger than {MAX_VALUE_FILE_BYTES} bytes",
            path.display()
        )));
    }
    let value = text.strip_suffix('\n').unwrap_or(&text);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        return Err(fail(format!("{} is empty", path.display())));
    }
    Ok(value.to_owned())
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
