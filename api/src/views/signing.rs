use chrono::{DateTime, Utc};
use poem_openapi::Object;
use rieter::signing::distro_keys::{PackagerKeyInfo, SigningKeyInfo};

/// A distribution's signing key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "SigningKey")]
pub struct SigningKeyView {
    /// Upper-case hex, as `gpg --fingerprint` prints it without spaces: what
    /// `pacman-key --lsign-key` takes.
    pub fingerprint: String,
    /// The armored public key, for `pacman-key --add` (also served at `/{distro}/key`).
    pub public_key: String,
    pub created_at: DateTime<Utc>,
}

impl From<SigningKeyInfo> for SigningKeyView {
    fn from(k: SigningKeyInfo) -> Self {
        Self {
            fingerprint: k.fingerprint,
            public_key: k.public_key,
            created_at: k.created_at,
        }
    }
}

/// Creating a signing key: empty to generate one, or an existing key to import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Object)]
#[oai(rename = "NewSigningKey")]
pub struct NewSigningKeyView {
    /// An armored OpenPGP v4 secret key without a passphrase (`gpg --armor
    /// --export-secret-keys KEYID`) to use instead of generating an Ed25519 key.
    #[oai(default)]
    pub import: Option<String>,
}

/// A packager key a distribution trusts.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "PackagerKey")]
pub struct PackagerKeyView {
    /// Upper-case hex fingerprint of the primary key.
    pub fingerprint: String,
    pub added_at: DateTime<Utc>,
}

impl From<PackagerKeyInfo> for PackagerKeyView {
    fn from(k: PackagerKeyInfo) -> Self {
        Self {
            fingerprint: k.fingerprint,
            added_at: k.added_at,
        }
    }
}

/// The packager keys of a distribution, by fingerprint. Empty: uploads need no signature.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "PackagerKeyList")]
pub struct PackagerKeyList {
    pub items: Vec<PackagerKeyView>,
}

/// A repository's settings.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "RepoSettings")]
pub struct RepoSettingsView {
    /// Sign packages that arrive without a signature with the distribution's signing key.
    pub sign_packages: bool,
}
