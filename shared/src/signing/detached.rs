//! A detached package signature as pacman reads it (`{file}.sig`, and base64 in `%PGPSIG%`):
//! checked once when it arrives, then kept and served byte for byte.

use std::io::Read;

use base64::Engine as _;
use pgp::composed::{Deserializable, DetachedSignature};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{SignatureType, SignatureVersion};
use pgp::types::KeyId;

use super::PackagerKeys;

/// pacman refuses a signature file larger than this (`dload.c`, `sig->max_size`).
pub const MAX_SIGNATURE_BYTES: usize = 16 * 1024;

/// Why a signature was refused when it arrived. The messages are for the uploader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature is empty")]
    Empty,
    #[error("the signature is {size} bytes; pacman accepts at most {MAX_SIGNATURE_BYTES}")]
    TooLarge { size: usize },
    #[error(
        "the signature is ASCII-armored; send the binary signature (`gpg --detach-sign` \
         without `--armor`, or convert it with `gpg --dearmor`)"
    )]
    Armored,
    #[error("the signature is not an OpenPGP signature: {0}")]
    Malformed(String),
    #[error("the signature file holds {0} signatures; send exactly one")]
    NotOne(usize),
    #[error("the signature is OpenPGP version {0}; pacman verifies only version 4 signatures")]
    Version(u8),
    #[error("the signature is not a signature of a binary document (it is {0})")]
    NotBinary(String),
    #[error("the signature names no issuer key ID, which pacman needs to find its key")]
    NoIssuer,
    #[error("the signature uses the hash algorithm {0}, which is too weak; use SHA-256 or better")]
    WeakHash(String),
}

/// Why a signature did not verify against a distribution's packager keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "the signature was made by key {0}, which is not one of the distribution's packager keys"
    )]
    UnknownKey(String),
    #[error("the signature by key {key} does not match the package: {reason}")]
    Invalid { key: String, reason: String },
    #[error("reading the package to verify its signature: {0}")]
    Io(String),
}

/// One detached v4 signature over binary data, as the uploader sent it.
#[derive(Debug, Clone)]
pub struct SignatureFile {
    bytes: Vec<u8>,
    signature: DetachedSignature,
}

impl PartialEq for SignatureFile {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for SignatureFile {}

impl SignatureFile {
    /// Checks `bytes` the way pacman will read them: binary, one v4 binary-document
    /// signature with an issuer key ID, at most 16 KiB, a hash of at least 256 bits.
    pub fn parse(bytes: Vec<u8>) -> Result<Self, SignatureError> {
        if bytes.is_empty() {
            return Err(SignatureError::Empty);
        }
        if bytes.len() > MAX_SIGNATURE_BYTES {
            return Err(SignatureError::TooLarge { size: bytes.len() });
        }
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN PGP") {
            return Err(SignatureError::Armored);
        }
        // Every binary OpenPGP packet starts with a byte whose top bit is set.
        if bytes[0] & 0x80 == 0 {
            return Err(SignatureError::Malformed(
                "it does not start with an OpenPGP packet".into(),
            ));
        }
        let mut all = DetachedSignature::from_bytes_many(&bytes[..])
            .map_err(|e| SignatureError::Malformed(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SignatureError::Malformed(e.to_string()))?;
        if all.len() != 1 {
            return Err(SignatureError::NotOne(all.len()));
        }
        let signature = all.remove(0);
        let inner = &signature.signature;
        let version = inner.version();
        if version != SignatureVersion::V4 {
            return Err(SignatureError::Version(version.into()));
        }
        match inner.typ() {
            Some(SignatureType::Binary) => {}
            other => {
                return Err(SignatureError::NotBinary(
                    other.map_or_else(|| "of an unknown type".into(), |t| format!("{t:?}")),
                ));
            }
        }
        if inner.issuer_key_id().is_empty() {
            return Err(SignatureError::NoIssuer);
        }
        match inner.hash_alg() {
            Some(
                HashAlgorithm::Sha256
                | HashAlgorithm::Sha384
                | HashAlgorithm::Sha512
                | HashAlgorithm::Sha3_256
                | HashAlgorithm::Sha3_512,
            ) => {}
            other => {
                return Err(SignatureError::WeakHash(
                    other.map_or_else(|| "unknown".into(), |h| h.to_string()),
                ));
            }
        }
        Ok(Self { bytes, signature })
    }

    pub(super) fn from_signed(signature: DetachedSignature) -> Result<Self, SignatureError> {
        let bytes = pgp::ser::Serialize::to_bytes(&signature)
            .map_err(|e| SignatureError::Malformed(e.to_string()))?;
        Self::parse(bytes)
    }

    /// The signature file's bytes, exactly as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The value of `%PGPSIG%`: the same bytes, base64 on one line (as repo-add writes it).
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.bytes)
    }

    /// The key IDs the signature names as its issuer, in hex.
    pub fn issuers(&self) -> Vec<String> {
        self.issuer_ids().iter().map(|id| id.to_string()).collect()
    }

    fn issuer_ids(&self) -> Vec<KeyId> {
        self.signature
            .signature
            .issuer_key_id()
            .into_iter()
            .copied()
            .collect()
    }

    /// Checks the signature over `data` (read to its end) against `keys`; returns the
    /// fingerprint of the key that made it. Blocking: it reads all of `data`.
    pub fn verify(&self, keys: &PackagerKeys, data: impl Read) -> Result<String, VerifyError> {
        let issuers = self.issuer_ids();
        let Some((key, verifier)) = issuers.iter().find_map(|id| keys.signer(id)) else {
            return Err(VerifyError::UnknownKey(self.issuers().join(", ")));
        };
        match verifier.verify(&self.signature.signature, data) {
            Ok(()) => Ok(key.fingerprint.clone()),
            Err(err) => {
                if let pgp::errors::Error::IO { source, .. } = &err {
                    return Err(VerifyError::Io(source.to_string()));
                }
                Err(VerifyError::Invalid {
                    key: key.fingerprint.clone(),
                    reason: err.to_string(),
                })
            }
        }
    }
}
