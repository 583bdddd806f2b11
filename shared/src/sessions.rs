//! Web UI sessions: their tokens, the CSRF token each one implies, and how a session of the
//! configured admin key is bound to that key. Pure functions; storage is `db::sessions`.
//!
//! A session token is 32 bytes of the operating system's CSPRNG, in hex. The browser holds it
//! in an `HttpOnly` cookie; the database holds only its SHA-256 (as for API keys, a plain digest
//! is enough for 256 random bits). The CSRF token of a session is a digest of its token under
//! a separate label: forms carry it, a page on another site can neither read the cookie nor
//! compute it, and nothing more needs storing.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::keys::digests_match;

/// How long a session lasts from signing in (12 hours).
pub const LIFETIME_SECS: i64 = 12 * 60 * 60;

const TOKEN_BYTES: usize = 32;
const CSRF_LABEL: &[u8] = b"rieter ui csrf\0";
const ADMIN_LABEL: &[u8] = b"rieter ui admin session\0";

/// A random token: a session's, or the one a sign-in form is paired with.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// A fresh token from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(hex::encode(bytes)))
    }

    /// A presented token, if it has the shape of one (so junk never reaches a query).
    pub fn parse(presented: &str) -> Option<Self> {
        (presented.len() == TOKEN_BYTES * 2
            && presented
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Self(presented.to_owned()))
    }

    /// The text the cookie holds.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database stores.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// The CSRF token of forms shown in this session.
    pub fn csrf(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(CSRF_LABEL);
        hasher.update(self.0.as_bytes());
        hex::encode(hasher.finalize())
    }

    /// Whether a form's CSRF token is this session's, compared in constant time.
    pub fn csrf_matches(&self, presented: &str) -> bool {
        digests_match(self.csrf().as_bytes(), presented.as_bytes())
    }

    /// Whether `other` (a token paired with a sign-in form) is this one, in constant time.
    pub fn matches(&self, other: &str) -> bool {
        digests_match(self.0.as_bytes(), other.as_bytes())
    }

    /// Binds a session of the configured admin key to that key (its digest): stored with the
    /// session and recomputed on every request, so changing the key ends its sessions.
    pub fn admin_binding(&self, admin_key_digest: &[u8; 32]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(ADMIN_LABEL);
        hasher.update(self.0.as_bytes());
        hasher.update(admin_key_digest);
        hasher.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_never_printed() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 64);
        assert_eq!(Token::parse(a.expose()), Some(a.clone()));
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn only_well_formed_tokens_parse() {
        assert!(Token::parse(&"0".repeat(64)).is_some());
        assert!(Token::parse(&"0".repeat(63)).is_none());
        assert!(Token::parse(&"A".repeat(64)).is_none());
        assert!(Token::parse(&format!("{}g", "0".repeat(63))).is_none());
        assert!(Token::parse("").is_none());
    }

    #[test]
    fn the_stored_digest_is_the_tokens_sha256() {
        let token = Token::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(
            token.digest(),
            <[u8; 32]>::from(Sha256::digest("ab".repeat(32)))
        );
        assert_ne!(token.digest().to_vec(), token.expose().as_bytes().to_vec());
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_eq!(a.csrf(), a.csrf());
        assert_ne!(a.csrf(), b.csrf());
        assert_ne!(
            a.csrf(),
            a.expose(),
            "the form never shows the session token"
        );
        assert!(a.csrf_matches(&a.csrf()));
        assert!(!a.csrf_matches(&b.csrf()));
        assert!(!a.csrf_matches(""));
        assert!(!a.csrf_matches(&a.csrf()[..63]));
        assert!(a.matches(a.expose()) && !a.matches(b.expose()));
    }

    #[test]
    fn admin_sessions_are_bound_to_the_configured_key() {
        let token = Token::generate().unwrap();
        let (old, new) = ([1u8; 32], [2u8; 32]);
        assert_eq!(token.admin_binding(&old), token.admin_binding(&old));
        assert_ne!(token.admin_binding(&old), token.admin_binding(&new));
        let other = Token::generate().unwrap();
        assert_ne!(token.admin_binding(&old), other.admin_binding(&old));
    }
}
