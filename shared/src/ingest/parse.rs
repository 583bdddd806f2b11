//! Reading a package blob into what the catalogue records about it: the parsed package and its
//! pre-rendered database entries. The parse job and the benchmarks both run this.

use std::io;
use std::path::Path;

use crate::blobs::Digest;
use crate::package::{self, Limits, PackageError, ParsedPackage};
use crate::repo_db::{self, DbEntry, EntryMembers};

#[derive(Debug, thiserror::Error)]
pub enum ParseBlobError {
    /// The package's fault: the reason its upload fails with.
    #[error(transparent)]
    Refused(PackageError),
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

/// Parses the package file at `path` within `limits` and renders its entries. Blocking.
pub fn parse_blob(
    path: &Path,
    limits: &Limits,
    facts: BlobFacts<'_>,
) -> Result<(ParsedPackage, EntryMembers), ParseBlobError> {
    let parsed = match package::parse_file(path, limits) {
        Ok(parsed) => parsed,
        Err(PackageError::Io(err)) => return Err(ParseBlobError::Io(err)),
        Err(err) => return Err(ParseBlobError::Refused(err)),
    };
    let members = render(&parsed, facts)?;
    Ok((parsed, members))
}

/// A parsed package's `desc` and `files` entries.
pub fn render(parsed: &ParsedPackage, facts: BlobFacts<'_>) -> io::Result<EntryMembers> {
    let entry = DbEntry::new(
        &parsed.info,
        parsed.filename().as_str(),
        facts.size,
        facts.md5,
        facts.sha256.as_str(),
    );
    repo_db::render_members(&entry, &parsed.files)
}
