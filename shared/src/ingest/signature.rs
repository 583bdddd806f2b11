//! Which signature a package is published with. An upload's own signature is kept byte for
//! byte; when its distribution trusts packager keys, it must verify against one of them (and
//! an upload without one fails). A repository with `sign_packages` has the server sign the
//! packages that arrive unsigned. The server never adds its signature to a packager's: pacman
//! would then need to trust both keys.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

use sqlx::PgPool;

use super::ParseBlobError;
use crate::db::catalogue;
use crate::names::{DistroName, RepoName};
use crate::signing::distro_keys::{self, DistroKeyError};
use crate::signing::{KeyEncryptionKey, PackagerKeys, ServerKey, SignatureFile, VerifyError};

/// What a distribution and repository ask of an upload's signature, loaded before parsing.
#[derive(Debug, Default)]
pub struct SignaturePolicy {
    /// Keys a signature must verify against; empty: any well-formed signature is kept.
    pub trusted: PackagerKeys,
    /// Signs a package that arrives unsigned.
    pub signer: Option<ServerKey>,
}

impl SignaturePolicy {
    /// The policy of `distro`/`repo` for an upload that has (or has not) a signature.
    pub async fn load(
        pool: &PgPool,
        distro: &DistroName,
        repo: &RepoName,
        signed: bool,
        kek: Option<&KeyEncryptionKey>,
    ) -> Result<Self, DistroKeyError> {
        let trusted = distro_keys::load_packager_keys(pool, distro).await?;
        let signer = if !signed && trusted.is_empty() {
            if catalogue::signs_packages(pool, distro, repo).await? {
                distro_keys::load_signing_key(pool, distro, kek).await?
            } else {
                None
            }
        } else {
            None
        };
        Ok(Self { trusted, signer })
    }
}

/// The signature the package at `path` is published with. Blocking: it reads the package.
pub fn settle(
    policy: &SignaturePolicy,
    uploaded: Option<SignatureFile>,
    path: &Path,
) -> Result<Option<SignatureFile>, ParseBlobError> {
    let read = || File::open(path).map(|f| BufReader::with_capacity(256 * 1024, f));
    match uploaded {
        Some(signature) if !policy.trusted.is_empty() => {
            match signature.verify(&policy.trusted, read()?) {
                Ok(_) => Ok(Some(signature)),
                Err(VerifyError::Io(err)) => Err(ParseBlobError::Io(io::Error::other(err))),
                Err(err) => Err(ParseBlobError::Signature(err.to_string())),
            }
        }
        Some(signature) => Ok(Some(signature)),
        None if !policy.trusted.is_empty() => Err(ParseBlobError::Signature(
            "the distribution accepts only packages signed by one of its packager keys, and \
             this upload has no signature (upload it as multipart/form-data with a \
             `signature` part)"
                .into(),
        )),
        None => match &policy.signer {
            Some(key) => key
                .sign(read()?)
                .map(Some)
                .map_err(|e| ParseBlobError::Io(io::Error::other(e))),
            None => Ok(None),
        },
    }
}
