//! Reading a package blob into what the catalogue records about it: the parsed package and its
//! pre-rendered database entries. The parse job and the benchmarks both run this.

use std::io;
use std::path::Path;

use super::signature::{self, SignaturePolicy};
use crate::blobs::Digest;
use crate::package::{self, Limits, PackageError, ParsedPackage};
use crate::repo_db::{self, DbEntry, EntryMembers};
use crate::signing::SignatureFile;

#[derive(Debug, thiserror::Error)]
pub enum ParseBlobError {
    /// The package's fault: the reason its upload fails with.
    #[error(transparent)]
    Refused(PackageError),
    /// The package's too: its signature is missing, or does not verify.
    #[error("{0}")]
    Signature(String),
    /// Ours: the blob could not be read, or the entries not rendered.
    #[error("reading the package: {0}")]
    Io(#[from] io::Error),
}

/// The blob's identity as the database lists it.
#[derive(Debug, Clone, Copy)]
pub struct BlobFacts<'a> {
    pub size: i64,
    pub sha256: &'a Digest,
    pub md5: &'a str,
}

/// A package blob as the catalogue records it.
#[derive(Debug)]
pub struct ParsedBlob {
    pub parsed: ParsedPackage,
    /// The signature it is published with: the uploader's, or one the server made.
    pub signature: Option<SignatureFile>,
    pub members: EntryMembers,
}

/// Parses the package file at `path` within `limits`, settles its signature as `policy` asks
/// ([`signature::settle`]) and renders its entries. Blocking.
pub fn parse_blob(
    path: &Path,
    limits: &Limits,
    facts: BlobFacts<'_>,
    policy: &SignaturePolicy,
    uploaded: Option<SignatureFile>,
) -> Result<ParsedBlob, ParseBlobError> {
    let parsed = match package::parse_file(path, limits) {
        Ok(parsed) => parsed,
        Err(PackageError::Io(err)) => return Err(ParseBlobError::Io(err)),
        Err(err) => return Err(ParseBlobError::Refused(err)),
    };
    let signature = signature::settle(policy, uploaded, path)?;
    let members = render(&parsed, facts, signature.as_ref())?;
    Ok(ParsedBlob {
        parsed,
        signature,
        members,
    })
}

/// A parsed package's `desc` and `files` entries.
pub fn render(
    parsed: &ParsedPackage,
    facts: BlobFacts<'_>,
    signature: Option<&SignatureFile>,
) -> io::Result<EntryMembers> {
    let pgpsig = signature.map(SignatureFile::to_base64);
    let mut entry = DbEntry::new(
        &parsed.info,
        parsed.filename().as_str(),
        facts.size,
        facts.md5,
        facts.sha256.as_str(),
    );
    entry.pgpsig = pgpsig.as_deref();
    repo_db::render_members(&entry, &parsed.files)
}
