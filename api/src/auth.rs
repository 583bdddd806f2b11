//! Who is calling, and whether they may do what they ask.
//!
//! A key is accepted as `Authorization: Bearer <key>`, `X-Api-Key: <key>`, or as the password
//! of HTTP Basic auth (so `Server = https://_:KEY@host/...` works in pacman.conf).

use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey, Basic, Bearer};
use rieter::names::{DistroName, RepoName};
use rieter::settings::Secret;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// `Authorization: Bearer <key>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", rename = "bearerKey")]
pub struct BearerKey(Bearer);

/// `X-Api-Key: <key>`.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "X-Api-Key",
    key_in = "header",
    rename = "headerKey"
)]
pub struct HeaderKey(ApiKey);

/// HTTP Basic auth; the user name is ignored and the password is the key.
#[derive(SecurityScheme)]
#[oai(ty = "basic", rename = "basicKey")]
pub struct BasicKey(Basic);

/// Any of the accepted ways to present an API key.
#[derive(SecurityScheme)]
pub enum Credentials {
    Bearer(BearerKey),
    Header(HeaderKey),
    Basic(BasicKey),
}

impl Credentials {
    pub fn key(&self) -> &str {
        match self {
            Self::Bearer(b) => &b.0.token,
            Self::Header(h) => &h.0.key,
            Self::Basic(b) => &b.0.password,
        }
    }
}

/// Something a caller wants to do that needs a key.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    Publish {
        distro: &'a DistroName,
        repo: &'a RepoName,
    },
    /// Removing from a repository, or (without one) a whole distribution.
    Remove {
        distro: &'a DistroName,
        repo: Option<&'a RepoName>,
    },
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Admin,
}

#[derive(Clone)]
pub struct Authenticator {
    admin_key_digest: [u8; 32],
}

impl Authenticator {
    pub fn new(admin_key: &Secret<String>) -> Self {
        Self {
            admin_key_digest: digest(admin_key.expose()),
        }
    }

    pub fn authorize(
        &self,
        credentials: &Credentials,
        action: Action<'_>,
    ) -> Result<Principal, ApiError> {
        let presented = digest(credentials.key());
        if constant_time_eq(&presented, &self.admin_key_digest) {
            tracing::debug!(?action, "authorized admin");
            return Ok(Principal::Admin);
        }
        Err(ApiError::unauthorized("the API key is not valid"))
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Compares digests without an early exit, so timing does not reveal how much matched.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_digests_exactly() {
        let a = digest("correct horse battery staple");
        let b = digest("correct horse battery stapler");
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &b));
    }
}
