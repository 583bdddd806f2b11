//! Reading a package file: its `.PKGINFO` and its file list, within explicit limits.
//!
//! The archive is read once, front to back, through the decoder its magic bytes call for.
//! Nothing but `.PKGINFO` and the entry names is kept in memory, and both are bounded, so a
//! hostile archive fails with a reason instead of exhausting memory or running forever.

mod compression;
mod entries;
pub(crate) mod guard;
mod pkginfo;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::time::Duration;

pub use compression::{Compression, SNIFF_LEN};
pub use pkginfo::{MAX_PKGREL_BYTES, MAX_PKGVER_BYTES, PkgInfo};

use crate::names::{FILE_NAME_MAX_BYTES, FileName, NameError};
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
    #[error("the archive holds a file name with the control character U+{code:04X}: `{name}`")]
    FileNameControlCharacter { code: u32, name: String },
    #[error(".PKGINFO line {line} holds the control character U+{code:04X}")]
    PkgInfoControlCharacter { line: usize, code: u32 },
    #[error("{field} is {len} bytes long; the limit is {max} bytes")]
    FieldTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error(
        "the package's file name would be {len} bytes long; with `.sig` appended it must fit \
         in {FILE_NAME_MAX_BYTES} bytes (shorten pkgname or pkgver)"
    )]
    FileNameTooLong { len: usize },
    #[error(
        "the archive has a {kind} header of {size} bytes; header extensions are limited to \
         {limit} bytes"
    )]
    HeaderExtensionTooLarge {
        kind: &'static str,
        size: u64,
        limit: u64,
    },
    #[error("the archive holds {0}, which pacman packages do not use and Rieter does not read")]
    UnsupportedEntry(&'static str),
    #[error(
        "decompressing the package needs more than the limit of {} MiB of memory (its \
         dictionary or window is too large)",
        .limit >> 20
    )]
    DecoderMemory { limit: u64 },
    #[error("reading the package took more than the limit of {limit_secs} s of CPU time")]
    TooSlow { limit_secs: f64 },
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
    /// Largest tar header extension (GNU long name or link, PAX header), refused before it
    /// is read.
    pub max_header_extension_bytes: u64,
    /// Most memory the decompressor may use: the xz memory limit, and the largest zstd
    /// window (the power of two at or below it).
    pub max_decoder_memory_bytes: u64,
    /// Most CPU time one parse may take.
    pub max_parse_cpu: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pkginfo_bytes: 1 << 20,
            max_entries: 500_000,
            max_file_list_bytes: 64 << 20,
            max_unpacked_bytes: 32 << 30,
            // Names in packages are at most a few hundred bytes; PATH_MAX is 4 KiB.
            max_header_extension_bytes: 64 << 10,
            // xz -9 needs 65 MiB; zstd up to level 21 (Arch uses --ultra -20) and --long=26
            // use a window of at most 64 MiB.
            max_decoder_memory_bytes: 96 << 20,
            max_parse_cpu: Duration::from_secs(120),
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
    /// The file name pacman expects, `{name}-{version}-{arch}.pkg.tar{.ext}`; there is room
    /// for its `.sig` beside it.
    filename: FileName,
}

impl ParsedPackage {
    /// The name the package is stored and served under.
    pub fn filename(&self) -> &FileName {
        &self.filename
    }
}

/// Parses the package stored at `path`. Blocking: call it from `spawn_blocking`.
pub fn parse_file(path: &Path, limits: &Limits) -> Result<ParsedPackage, PackageError> {
    let file = File::open(path).map_err(PackageError::Io)?;
    parse(file, limits)
}

/// Parses a package from any reader. Blocking.
pub fn parse(input: impl Read, limits: &Limits) -> Result<ParsedPackage, PackageError> {
    let (compression, mut unpacked) = unpack(input, limits)?;
    let result = entries::read(&mut unpacked, limits);
    if let Some(reason) = unpacked.stopped() {
        return Err(reason);
    }
    let contents = result?;
    let info = PkgInfo::parse(&contents.pkginfo.ok_or(PackageError::MissingPkgInfo)?)?;
    // The file is stored and served under this name, and clients keep it (and its signature)
    // under it too.
    let extension = compression.extension();
    let len = info.name.as_str().len()
        + info.version.as_str().len()
        + info.arch.as_str().len()
        + extension.len()
        + 2;
    if len + SIGNATURE_SUFFIX.len() > FILE_NAME_MAX_BYTES {
        return Err(PackageError::FileNameTooLong { len });
    }
    let filename = FileName::package(&info.name, &info.version, &info.arch, extension)
        .map_err(|_| PackageError::FileNameTooLong { len })?;
    Ok(ParsedPackage {
        info,
        files: contents.files,
        compression,
        filename,
    })
}

/// Recognises `input`'s compression and opens it decompressed, within `limits`' unpacked
/// size, decoder memory and CPU time ([`guard::Guarded::stopped`] says which stopped it).
pub(crate) fn unpack<'a>(
    mut input: impl Read + 'a,
    limits: &Limits,
) -> Result<(Compression, guard::Guarded<Box<dyn Read + 'a>>), PackageError> {
    let clock = guard::CpuClock::start(limits.max_parse_cpu);
    let mut head = Vec::with_capacity(SNIFF_LEN);
    (&mut input)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(PackageError::Io)?;
    let compression = Compression::detect(&head)?;
    let input = BufReader::with_capacity(256 * 1024, io::Cursor::new(head).chain(input));
    let decoder = compression
        .decoder(input, limits.max_decoder_memory_bytes)
        .map_err(corrupt)?;
    Ok((compression, guard::Guarded::new(decoder, limits, clock)))
}

const SIGNATURE_SUFFIX: &str = ".sig";

fn corrupt(err: io::Error) -> PackageError {
    PackageError::Corrupt(err.to_string())
}
