//! A mirror's settings, validated: what the API, the configuration file and the sync agree on.

use std::time::Duration;

use crate::names::ArchName;
use crate::signing::{KeyringError, PackagerKey, PackagerKeys};

use super::Upstream;

/// Why a mirror's settings were refused. The messages are for the admin who sent them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("a mirror needs at least one architecture")]
    NoArches,
    #[error("a mirror may have at most {MAX_ARCHES} architectures")]
    TooManyArches,
    #[error("`any` is not an architecture of its own: its packages are in every database")]
    AnyArch,
    #[error("the architecture {0} is listed twice")]
    DuplicateArch(String),
    #[error("interval_secs must be between {MIN_INTERVAL_SECS} and {MAX_INTERVAL_SECS}")]
    Interval,
    #[error("max_concurrent_downloads must be between 1 and {MAX_CONCURRENT_DOWNLOADS}")]
    Concurrency,
    #[error("bandwidth_limit_bytes_per_sec must be at least {MIN_BANDWIDTH_BYTES_PER_SEC}")]
    Bandwidth,
    #[error("verify_signatures: {0}")]
    Keyring(String),
}

pub const MAX_ARCHES: usize = 16;
/// Syncing more often than this would only load the upstream.
pub const MIN_INTERVAL_SECS: u32 = 60;
pub const MAX_INTERVAL_SECS: u32 = 30 * 24 * 3600;
pub const MAX_CONCURRENT_DOWNLOADS: u32 = 32;
pub const DEFAULT_CONCURRENT_DOWNLOADS: u32 = 4;
pub const MIN_BANDWIDTH_BYTES_PER_SEC: u64 = 1024;
/// The most an armored keyring may take.
pub const MAX_KEYRING_BYTES: usize = 1 << 20;

/// The keys the upstream's databases and packages must be signed by.
#[derive(Debug, Clone)]
pub struct Keyring {
    armored: String,
    keys: PackagerKeys,
}

impl Keyring {
    pub fn parse(armored: &str) -> Result<Self, SpecError> {
        if armored.len() > MAX_KEYRING_BYTES {
            return Err(SpecError::Keyring(format!(
                "the keyring is larger than {MAX_KEYRING_BYTES} bytes"
            )));
        }
        let keys = PackagerKey::parse_many(armored.as_bytes())
            .map_err(|e: KeyringError| SpecError::Keyring(e.to_string()))?;
        if keys.is_empty() {
            return Err(SpecError::Keyring("the keyring holds no key".into()));
        }
        Ok(Self {
            armored: armored.to_owned(),
            keys: PackagerKeys::new(keys),
        })
    }

    pub fn armored(&self) -> &str {
        &self.armored
    }

    pub fn keys(&self) -> &PackagerKeys {
        &self.keys
    }
}

impl PartialEq for Keyring {
    fn eq(&self, other: &Self) -> bool {
        self.armored == other.armored
    }
}

/// Everything a mirror is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorSpec {
    pub upstream: Upstream,
    pub arches: Vec<ArchName>,
    pub interval: Duration,
    pub keep_signatures: bool,
    pub verify: Option<Keyring>,
    pub max_concurrent_downloads: u32,
    pub bandwidth_limit_bytes_per_sec: Option<u64>,
}

/// The settings as sent, before validation; `None` takes the default.
#[derive(Debug, Clone)]
pub struct SpecInput {
    pub upstream: Upstream,
    pub arches: Vec<ArchName>,
    pub interval_secs: u32,
    pub keep_signatures: Option<bool>,
    pub verify_signatures: Option<String>,
    pub max_concurrent_downloads: Option<u32>,
    pub bandwidth_limit_bytes_per_sec: Option<u64>,
}

impl MirrorSpec {
    pub fn validate(input: SpecInput) -> Result<Self, SpecError> {
        if input.arches.is_empty() {
            return Err(SpecError::NoArches);
        }
        if input.arches.len() > MAX_ARCHES {
            return Err(SpecError::TooManyArches);
        }
        for (i, arch) in input.arches.iter().enumerate() {
            if arch.is_any() {
                return Err(SpecError::AnyArch);
            }
            if input.arches[..i].contains(arch) {
                return Err(SpecError::DuplicateArch(arch.to_string()));
            }
        }
        if !(MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&input.interval_secs) {
            return Err(SpecError::Interval);
        }
        let concurrency = input
            .max_concurrent_downloads
            .unwrap_or(DEFAULT_CONCURRENT_DOWNLOADS);
        if !(1..=MAX_CONCURRENT_DOWNLOADS).contains(&concurrency) {
            return Err(SpecError::Concurrency);
        }
        if input
            .bandwidth_limit_bytes_per_sec
            .is_some_and(|b| b < MIN_BANDWIDTH_BYTES_PER_SEC || b > i64::MAX as u64)
        {
            return Err(SpecError::Bandwidth);
        }
        let verify = input
            .verify_signatures
            .as_deref()
            .map(Keyring::parse)
            .transpose()?;
        Ok(Self {
            upstream: input.upstream,
            arches: input.arches,
            interval: Duration::from_secs(u64::from(input.interval_secs)),
            keep_signatures: input.keep_signatures.unwrap_or(true),
            verify,
            max_concurrent_downloads: concurrency,
            bandwidth_limit_bytes_per_sec: input.bandwidth_limit_bytes_per_sec,
        })
    }

    /// The settings as they were given, for a change that alters some of them.
    pub fn to_input(&self) -> SpecInput {
        SpecInput {
            upstream: self.upstream.clone(),
            arches: self.arches.clone(),
            interval_secs: self.interval.as_secs() as u32,
            keep_signatures: Some(self.keep_signatures),
            verify_signatures: self.verify.as_ref().map(|k| k.armored().to_owned()),
            max_concurrent_downloads: Some(self.max_concurrent_downloads),
            bandwidth_limit_bytes_per_sec: self.bandwidth_limit_bytes_per_sec,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(arches: &[&str], interval_secs: u32) -> SpecInput {
        SpecInput {
            upstream: Upstream::parse("http://127.0.0.1/$repo/os/$arch").unwrap(),
            arches: arches.iter().map(|a| ArchName::parse(a).unwrap()).collect(),
            interval_secs,
            keep_signatures: None,
            verify_signatures: None,
            max_concurrent_downloads: None,
            bandwidth_limit_bytes_per_sec: None,
        }
    }

    #[test]
    fn defaults_and_bounds() {
        let spec = MirrorSpec::validate(input(&["x86_64"], 3600)).unwrap();
        assert!(spec.keep_signatures);
        assert_eq!(spec.max_concurrent_downloads, DEFAULT_CONCURRENT_DOWNLOADS);
        assert_eq!(spec.interval, Duration::from_secs(3600));
        assert_eq!(MirrorSpec::validate(spec.to_input()).unwrap(), spec);

        let cases = [
            (input(&[], 3600), SpecError::NoArches),
            (input(&["any"], 3600), SpecError::AnyArch),
            (
                input(&["x86_64", "x86_64"], 3600),
                SpecError::DuplicateArch("x86_64".into()),
            ),
            (input(&["x86_64"], 59), SpecError::Interval),
            (
                SpecInput {
                    max_concurrent_downloads: Some(0),
                    ..input(&["x86_64"], 3600)
                },
                SpecError::Concurrency,
            ),
            (
                SpecInput {
                    bandwidth_limit_bytes_per_sec: Some(10),
                    ..input(&["x86_64"], 3600)
                },
                SpecError::Bandwidth,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(MirrorSpec::validate(input).unwrap_err(), expected);
        }
        let bad_keyring = SpecInput {
            verify_signatures: Some("not a key".into()),
            ..input(&["x86_64"], 3600)
        };
        assert!(matches!(
            MirrorSpec::validate(bad_keyring),
            Err(SpecError::Keyring(_))
        ));
    }
}
