//! Reading a package file: its `.PKGINFO` and its file list, within explicit limits.
//!
//! The archive is read once, front to back, through the decoder its magic bytes call for.
//! Nothing but `.PKGINFO` and the entry names is kept in memory, and both are bounded, so a
//! hostile archive fails with a reason instead of exhausting memory or running forever.

mod compression;
mod pkginfo;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

pub use compression::{Compression, SNIFF_LEN};
pub use pkginfo::PkgInfo;

use crate::names::NameError;
use crate::version::VersionError;

/// Why a package was refused. Messages are shown to the uploader as the failure reason.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("the upload is empty")]
    Empty,
    #[error("not a package: the content is neither a tar archive nor a compression pacman uses")]
    NotAnArchive,
    #[error("{0} compressed packages are not supported (use zstd, xz, gzip, bzip2 or plain tar)")]
    UnsupportedCompression(&'static str),
    #[error("the archive is corrupt or truncated: {0}")]
    Corrupt(String),
    #[error("the package has no .PKGINFO file")]
    MissingPkgInfo,
    #[error("the package has more than one .PKGINFO file")]
    DuplicatePkgInfo,
    #[error(".PKGINFO is larger than the limit of {limit} bytes")]
    PkgInfoTooLarge { limit: u64 },
    #[error(".PKGINFO is not valid UTF-8")]
    PkgInfoNotUtf8,
    #[error(".PKGINFO has no `{0}` field")]
    MissingField(&'static str),
    #[error(".PKGINFO field `{field}` has an invalid value `{value}`")]
    InvalidField { field: &'static str, value: String },
    #[error("invalid name in .PKGINFO: {0}")]
    InvalidName(#[from] NameError),
    #[error("invalid version in .PKGINFO: {0}")]
    InvalidVersion(#[from] VersionError),
    #[error("the archive has more than {limit} entries")]
    TooManyEntries { limit: u64 },
    #[error("the archive's file names take more than {limit} bytes")]
    FileListTooLarge { limit: u64 },
    #[error("the archive unpacks to more than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the archive holds a file name that is not valid UTF-8")]
    FileNameNotUtf8,
    #[error("could not read the package file: {0}")]
    Io(#[source] io::Error),
}

/// Bounds applied while reading an untrusted archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `.PKGINFO` accepted.
    pub max_pkginfo_bytes: u64,
    /// Most archive entries (files, directories, links) accepted.
    pub max_entries: u64,
    /// Largest total length of all entry names.
    pub max_file_list_bytes: u64,
    /// Largest decompressed size of the whole archive.
    pub max_unpacked_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pkginfo_bytes: 1 << 20,
            max_entries: 500_000,
            max_file_list_bytes: 64 << 20,
            max_unpacked_bytes: 32 << 30,
        }
    }
}

/// What Rieter learns from a package file itself.
#[derive(Debug, Clone)]
pub struct ParsedPackage {
    pub info: PkgInfo,
    /// Entries as `repo-add` lists them: no top-level dot files, directories end in `/`,
    /// byte-order sorted, no duplicates.
    pub files: Vec<String>,
    pub compression: Compression,
}

impl ParsedPackage {
    /// The file name pacman expects: `{name}-{version}-{arch}.pkg.tar{.ext}`.
    pub fn filename(&self) -> String {
        package_filename(
            self.info.name.as_str(),
            self.info.version.as_str(),
            self.info.arch.as_str(),
            self.compression,
        )
    }
}

pub fn package_filename(name: &str, version: &str, arch: &str, compression: Compression) -> String {
    format!("{name}-{version}-{arch}{}", compression.extension())
}

/// Parses the package stored at `path`. Blocking: call it from `spawn_blocking`.
pub fn parse_file(path: &Path, limits: &Limits) -> Result<ParsedPackage, PackageError> {
    let file = File::open(path).map_err(PackageError::Io)?;
    parse(file, limits)
}

/// Parses a package from any reader. Blocking.
pub fn parse(mut input: impl Read, limits: &Limits) -> Result<ParsedPackage, PackageError> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    (&mut input)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(PackageError::Io)?;
    let compression = Compression::detect(&head)?;
    let input = BufReader::with_capacity(256 * 1024, io::Cursor::new(head).chain(input));
    let mut unpacked = LimitedReader {
        inner: compression.decoder(input).map_err(corrupt)?,
        remaining: limits.max_unpacked_bytes,
        exceeded: false,
    };
    let result = read_entries(&mut unpacked, limits);
    if unpacked.exceeded {
        return Err(PackageError::TooLarge {
            limit: limits.max_unpacked_bytes,
        });
    }
    let (pkginfo, files) = result?;
    Ok(ParsedPackage {
        info: PkgInfo::parse(&pkginfo.ok_or(PackageError::MissingPkgInfo)?)?,
        files,
        compression,
    })
}

/// Fails reads once more than `remaining` bytes have come through.
struct LimitedReader<R> {
    inner: R,
    remaining: u64,
    exceeded: bool,
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.remaining.checked_sub(n as u64) {
            Some(left) => {
                self.remaining = left;
                Ok(n)
            }
            None => {
                self.exceeded = true;
                Err(io::Error::other("unpacked size limit exceeded"))
            }
        }
    }
}

fn read_entries(
    input: &mut impl Read,
    limits: &Limits,
) -> Result<(Option<String>, Vec<String>), PackageError> {
    let mut archive = tar::Archive::new(input);
    let mut pkginfo = None;
    let mut files = Vec::new();
    let (mut entries, mut name_bytes) = (0u64, 0u64);

    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        entries += 1;
        if entries > limits.max_entries {
            return Err(PackageError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let path = entry.path_bytes();
        if path.as_ref() == b".PKGINFO" {
            if pkginfo.is_some() {
                return Err(PackageError::DuplicatePkgInfo);
            }
            pkginfo = Some(read_pkginfo(&mut entry, limits.max_pkginfo_bytes)?);
            continue;
        }
        // repo-add lists entries with `bsdtar --exclude='^.*'`: anything starting with a dot.
        if path.first() == Some(&b'.') || path.is_empty() {
            continue;
        }
        let mut name =
            String::from_utf8(path.into_owned()).map_err(|_| PackageError::FileNameNotUtf8)?;
        if entry.header().entry_type().is_dir() && !name.ends_with('/') {
            name.push('/');
        }
        name_bytes += name.len() as u64;
        if name_bytes > limits.max_file_list_bytes {
            return Err(PackageError::FileListTooLarge {
                limit: limits.max_file_list_bytes,
            });
        }
        files.push(name);
    }
    files.sort_unstable();
    files.dedup();
    Ok((pkginfo, files))
}

fn read_pkginfo(entry: &mut tar::Entry<'_, impl Read>, limit: u64) -> Result<String, PackageError> {
    let too_large = PackageError::PkgInfoTooLarge { limit };
    if entry.header().size().map_err(corrupt)? > limit {
        return Err(too_large);
    }
    // The header's size can lie (sparse or PAX entries), so bound the read itself too.
    let mut buf = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(corrupt)?;
    if buf.len() as u64 > limit {
        return Err(too_large);
    }
    String::from_utf8(buf).map_err(|_| PackageError::PkgInfoNotUtf8)
}

fn corrupt(err: io::Error) -> PackageError {
    PackageError::Corrupt(err.to_string())
}
