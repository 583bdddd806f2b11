//! OpenPGP as pacman uses it: packagers' detached package signatures, the packager keys a
//! distribution trusts, and the server's own signing key for its databases.
//!
//! pacman 6 verifies with GnuPG 2.2 through GPGME, so everything here is OpenPGP v4: v4 keys
//! (Ed25519 as the legacy EdDSA algorithm, RSA, ECDSA), v4 signatures over binary data,
//! binary (never armored) signature files of at most 16 KiB with an issuer key ID. See
//! `design/research/signing.md` of the kit for what was checked against real pacman.

mod detached;
pub mod distro_keys;
mod keyring;
mod sealed;
mod server_key;

pub use detached::{MAX_SIGNATURE_BYTES, SignatureError, SignatureFile, VerifyError};
pub use keyring::{KeyringError, PackagerKey, PackagerKeys};
pub use sealed::{KeyEncryptionKey, SealError};
pub use server_key::{ServerKey, ServerKeyError};

/// A key's fingerprint as GnuPG prints it: upper-case hex, no spaces.
pub fn fingerprint_hex(fingerprint: &pgp::types::Fingerprint) -> String {
    format!("{fingerprint:X}")
}
