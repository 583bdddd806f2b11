//! The packager keys a distribution trusts: OpenPGP v4 public keys, sent armored by an
//! administrator, stored in binary, and used to verify the signatures uploads come with.

use pgp::composed::{Deserializable, PublicOrSecret, SignedPublicKey};
use pgp::packet::Signature;
use pgp::ser::Serialize;
use pgp::types::{KeyDetails, KeyId, KeyVersion};

use super::fingerprint_hex;

/// Keys one request may set; a distribution's packagers fit many times over.
pub const MAX_PACKAGER_KEYS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    #[error("no public key found: send armored OpenPGP public keys (`gpg --armor --export KEYID`)")]
    Empty,
    #[error("the keys could not be read: {0}")]
    Malformed(String),
    #[error("this is a secret key; send only the public key (`gpg --armor --export KEYID`)")]
    SecretKey,
    #[error(
        "key {fingerprint} is OpenPGP version {version}; pacman and GnuPG 2.2 use version 4 keys"
    )]
    Version { fingerprint: String, version: u8 },
    #[error("key {fingerprint} has a self-signature that does not verify: {reason}")]
    BadBinding { fingerprint: String, reason: String },
    #[error("key {0} is revoked")]
    Revoked(String),
    #[error("more than {MAX_PACKAGER_KEYS} keys at once")]
    TooMany,
}

/// One trusted key.
#[derive(Debug, Clone)]
pub struct PackagerKey {
    /// Upper-case hex, as `gpg --fingerprint` prints it without spaces.
    pub fingerprint: String,
    pub key: SignedPublicKey,
}

impl PackagerKey {
    /// The key in binary OpenPGP form, for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.key
            .to_bytes()
            .expect("serialising a parsed key to memory")
    }

    /// A key as [`Self::to_bytes`] stored it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyringError> {
        let key = SignedPublicKey::from_bytes(bytes)
            .map_err(|e| KeyringError::Malformed(e.to_string()))?;
        Ok(Self {
            fingerprint: fingerprint_hex(&key.fingerprint()),
            key,
        })
    }

    /// Parses the armored (or binary) public keys an administrator sent, each checked: v4,
    /// self-signatures valid, not revoked. Duplicates are kept once.
    pub fn parse_many(input: &[u8]) -> Result<Vec<Self>, KeyringError> {
        let (keys, _) = PublicOrSecret::from_reader_many(input)
            .map_err(|e| KeyringError::Malformed(e.to_string()))?;
        let mut parsed: Vec<Self> = Vec::new();
        for key in keys {
            let key = match key.map_err(|e| KeyringError::Malformed(e.to_string()))? {
                PublicOrSecret::Public(key) => key,
                PublicOrSecret::Secret(_) => return Err(KeyringError::SecretKey),
            };
            let fingerprint = fingerprint_hex(&key.fingerprint());
            if key.version() != KeyVersion::V4 {
                return Err(KeyringError::Version {
                    fingerprint,
                    version: key.version().into(),
                });
            }
            key.verify_bindings()
                .map_err(|e| KeyringError::BadBinding {
                    fingerprint: fingerprint.clone(),
                    reason: e.to_string(),
                })?;
            if !key.details.revocation_signatures.is_empty() {
                return Err(KeyringError::Revoked(fingerprint));
            }
            if parsed.iter().any(|k| k.fingerprint == fingerprint) {
                continue;
            }
            if parsed.len() == MAX_PACKAGER_KEYS {
                return Err(KeyringError::TooMany);
            }
            parsed.push(Self { fingerprint, key });
        }
        if parsed.is_empty() {
            return Err(KeyringError::Empty);
        }
        Ok(parsed)
    }
}

/// A distribution's trusted keys, as a verification looks them up.
#[derive(Debug, Clone, Default)]
pub struct PackagerKeys {
    keys: Vec<PackagerKey>,
}

impl PackagerKeys {
    pub fn new(keys: Vec<PackagerKey>) -> Self {
        Self { keys }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key whose primary key, or one of whose signing subkeys, has the key ID `id`, with
    /// the (sub)key that verifies.
    pub(super) fn signer(&self, id: &KeyId) -> Option<(&PackagerKey, Verifier<'_>)> {
        self.keys.iter().find_map(|k| {
            if k.key.legacy_key_id() == *id {
                return Some((k, Verifier::Primary(&k.key)));
            }
            k.key
                .public_subkeys
                .iter()
                .find(|s| {
                    s.key.legacy_key_id() == *id
                        && s.signatures.iter().any(|b| b.key_flags().sign())
                })
                .map(|s| (k, Verifier::Subkey(&s.key)))
        })
    }
}

/// The key material a signature is checked with.
pub(super) enum Verifier<'a> {
    Primary(&'a SignedPublicKey),
    Subkey(&'a pgp::packet::PublicSubkey),
}

impl Verifier<'_> {
    pub(super) fn verify(
        &self,
        signature: &Signature,
        data: impl std::io::Read,
    ) -> pgp::errors::Result<()> {
        match self {
            Self::Primary(key) => signature.verify(*key, data),
            Self::Subkey(key) => signature.verify(*key, data),
        }
    }
}
