//! Secret keys at rest: sealed with ChaCha20-Poly1305 under a key derived from the operator's
//! `key_encryption_key` setting, so a copy of the database alone signs nothing. The sealed
//! form is `nonce (12 bytes) || ciphertext || tag`, bound to what it belongs to (the
//! distribution) as associated data, so a sealed key moved to another row does not open.

use ring::aead::{self, Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};

/// The shortest secret accepted: 32 characters (`openssl rand -base64 32` gives 44).
pub const MIN_SECRET_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "the key encryption key is {0} characters; use at least {MIN_SECRET_LEN} random ones \
         (`openssl rand -base64 32`)"
    )]
    TooShort(usize),
    #[error(
        "a stored signing key could not be decrypted: the key encryption key differs from the \
         one it was sealed with, or the row was altered"
    )]
    Open,
    #[error("the system random number generator failed")]
    Random,
}

/// The key that seals signing keys, derived from the configured secret.
pub struct KeyEncryptionKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey(..)")
    }
}

/// HKDF-SHA256 parameters: changing them makes every sealed key unreadable.
const SALT: &[u8] = b"rieter key encryption";
const INFO: &[u8] = b"signing keys v1";

struct KeyLen;

impl hkdf::KeyType for KeyLen {
    fn len(&self) -> usize {
        CHACHA20_POLY1305.key_len()
    }
}

impl KeyEncryptionKey {
    pub fn from_secret(secret: &str) -> Result<Self, SealError> {
        let secret = secret.trim();
        if secret.chars().count() < MIN_SECRET_LEN {
            return Err(SealError::TooShort(secret.chars().count()));
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(secret.as_bytes());
        let mut bytes = [0u8; 32];
        prk.expand(&[INFO], KeyLen)
            .and_then(|okm| okm.fill(&mut bytes))
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes).expect("a 32-byte key");
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// Seals `plaintext`, bound to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + plaintext.len() + aead::MAX_TAG_LEN);
        sealed.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut body,
            )
            .map_err(|_| SealError::Random)?;
        sealed.extend_from_slice(&body);
        Ok(sealed)
    }

    /// Opens what [`Self::seal`] sealed with the same `context`.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut body)
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn sealed_keys_open_only_with_the_same_secret_and_context() {
        let kek = KeyEncryptionKey::from_secret(SECRET).unwrap();
        let sealed = kek.seal(b"secret key", b"distro 1").unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"secret key"));
        assert_eq!(kek.open(&sealed, b"distro 1").unwrap(), b"secret key");
        assert_eq!(kek.open(&sealed, b"distro 2"), Err(SealError::Open));
        let other = KeyEncryptionKey::from_secret(&SECRET.replace('0', "x")).unwrap();
        assert_eq!(other.open(&sealed, b"distro 1"), Err(SealError::Open));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(kek.open(&tampered, b"distro 1"), Err(SealError::Open));
        // A fresh nonce each time.
        assert_ne!(kek.seal(b"secret key", b"distro 1").unwrap(), sealed);
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            KeyEncryptionKey::from_secret("short").unwrap_err(),
            SealError::TooShort(5)
        );
    }
}
