//! A blob's name: the SHA-256 of its content, as 64 lowercase hex digits.

use std::fmt;

use serde::Serialize;

/// The SHA-256 of a blob. Valid by construction: parsed from text, computed from bytes, or
/// read from a column whose check constraint admits nothing else (`blobs_digest_is_sha256`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, sqlx::Type)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct Digest(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a SHA-256 digest (64 lowercase hexadecimal digits)")]
pub struct DigestError(pub String);

impl Digest {
    pub fn parse(text: &str) -> Result<Self, DigestError> {
        if text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(text.to_owned()))
        } else {
            Err(DigestError(text.chars().take(80).collect()))
        }
    }

    /// The digest a finished hasher computed.
    pub fn from_hasher(hasher: sha2::Sha256) -> Self {
        use sha2::Digest as _;
        Self(hex::encode(hasher.finalize()))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        let mut hasher = sha2::Sha256::new();
        hasher.update(bytes);
        Self::from_hasher(hasher)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", &self.0[..12.min(self.0.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_lowercase_sha256_hex() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(Digest::parse(empty).unwrap(), Digest::of(b""));
        for bad in [
            "",
            &empty[1..],
            &empty.to_uppercase(),
            &format!("{empty}0"),
            "../../../../etc/passwd/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }
}
