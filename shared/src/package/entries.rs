//! Walking the tar archive: `.PKGINFO` and the file list as repo-add lists them.
//!
//! The tar crate reads a GNU long name or a PAX header whole into memory, whatever size its
//! header claims, before the caller sees it. So the archive is walked raw: header extensions
//! come to us as entries, are refused above `max_header_extension_bytes` before a byte of them
//! is read, and are applied to the entry that follows as the tar crate would apply them.

use std::borrow::Cow;
use std::io::Read;

use tar::{Archive, Entry, GnuHeader, Header, PaxExtensions};

use super::{Limits, PackageError, corrupt};

/// What the archive holds that Rieter keeps.
pub(super) struct Contents {
    pub pkginfo: Option<String>,
    /// Entries as `repo-add` lists them: no top-level dot files, directories end in `/`,
    /// byte-order sorted, no duplicates.
    pub files: Vec<String>,
}

/// Longest part of a file name quoted in an error message.
const QUOTED_NAME_CHARS: usize = 200;

pub(super) fn read(input: impl Read, limits: &Limits) -> Result<Contents, PackageError> {
    let mut archive = Archive::new(input);
    let mut pkginfo = None;
    let mut files = Vec::new();
    let mut pending = Pending::default();
    let (mut entries, mut name_bytes) = (0u64, 0u64);

    for entry in archive.entries().map_err(corrupt)?.raw(true) {
        let mut entry = entry.map_err(corrupt)?;
        if let Some(kind) = Extension::of(entry.header()) {
            pending.add(kind, &mut entry, limits.max_header_extension_bytes)?;
            continue;
        }
        let extensions = std::mem::take(&mut pending);
        check_supported(&entry)?;
        extensions.check_size(&entry)?;
        entries += 1;
        if entries > limits.max_entries {
            return Err(PackageError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let path = extensions.path(&entry);
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
        let mut name = listed_name(path.into_owned())?;
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
    if !pending.is_empty() {
        return Err(PackageError::Corrupt(
            "the archive ends with header extensions that describe no entry".to_owned(),
        ));
    }
    files.sort_unstable();
    files.dedup();
    Ok(Contents { pkginfo, files })
}

/// The kinds of entries that describe the entry after them rather than a file.
#[derive(Debug, Clone, Copy)]
enum Extension {
    LongName,
    LongLink,
    Pax,
    PaxGlobal,
}

impl Extension {
    fn of(header: &Header) -> Option<Self> {
        // As in the tar crate: only ustar and GNU headers carry extensions.
        if header.as_ustar().is_none() && header.as_gnu().is_none() {
            return None;
        }
        let kind = header.entry_type();
        if kind.is_gnu_longname() {
            Some(Self::LongName)
        } else if kind.is_gnu_longlink() {
            Some(Self::LongLink)
        } else if kind.is_pax_local_extensions() {
            Some(Self::Pax)
        } else if kind.is_pax_global_extensions() {
            Some(Self::PaxGlobal)
        } else {
            None
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::LongName => "GNU long name",
            Self::LongLink => "GNU long link",
            Self::Pax => "PAX",
            Self::PaxGlobal => "PAX global",
        }
    }
}

/// Extensions read so far for the next entry.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: bool,
    pax: Option<Vec<u8>>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.long_name.is_none() && !self.long_link && self.pax.is_none()
    }

    fn add(
        &mut self,
        kind: Extension,
        entry: &mut Entry<'_, impl Read>,
        limit: u64,
    ) -> Result<(), PackageError> {
        let size = entry.size();
        if size > limit {
            return Err(PackageError::HeaderExtensionTooLarge {
                kind: kind.describe(),
                size,
                limit,
            });
        }
        let twice = || {
            PackageError::Corrupt(format!(
                "two {} headers describe the same entry",
                kind.describe()
            ))
        };
        match kind {
            Extension::LongName if self.long_name.is_some() => return Err(twice()),
            Extension::LongName => self.long_name = Some(read_bounded(entry, limit)?),
            // A link's target is not part of the file list; it only must not come twice.
            Extension::LongLink if self.long_link => return Err(twice()),
            Extension::LongLink => self.long_link = true,
            Extension::Pax if self.pax.is_some() => return Err(twice()),
            Extension::Pax => self.pax = Some(read_bounded(entry, limit)?),
            // Global PAX headers set defaults for the whole archive; bsdtar does not list them
            // and nothing in them matters for a file list.
            Extension::PaxGlobal => {}
        }
        Ok(())
    }

    /// The entry's path: a GNU long name (less its closing NUL), else a PAX `path`, else the
    /// header's own name, in the tar crate's order.
    fn path<'a>(&'a self, entry: &'a Entry<'_, impl Read>) -> Cow<'a, [u8]> {
        if let Some(name) = &self.long_name {
            return Cow::Borrowed(name.strip_suffix(b"\0").unwrap_or(name));
        }
        self.pax_value(b"path")
            .map_or_else(|| entry.path_bytes(), Cow::Borrowed)
    }

    /// A PAX `size` must agree with the header: the archive is walked by the header's size,
    /// and libarchive, which writes every pacman package, always writes both the same
    /// (base-256 in the header when octal is too short). Where they differ, tar readers
    /// disagree on what the archive holds, so it is refused rather than guessed.
    fn check_size(&self, entry: &Entry<'_, impl Read>) -> Result<(), PackageError> {
        let pax_size = self
            .pax_value(b"size")
            .and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok());
        match pax_size {
            Some(size) if size != entry.size() => Err(PackageError::Corrupt(format!(
                "a PAX header gives an entry {size} bytes where its tar header gives {}",
                entry.size()
            ))),
            _ => Ok(()),
        }
    }

    fn pax_value(&self, key: &[u8]) -> Option<&[u8]> {
        PaxExtensions::new(self.pax.as_deref()?)
            .filter_map(Result::ok)
            .find(|record| record.key_bytes() == key)
            .map(|record| record.value_bytes())
    }
}

/// Old GNU sparse files whose block map continues in further header blocks are positioned by
/// those blocks, which a raw walk does not see. makepkg (bsdtar) never writes them.
fn check_supported(entry: &Entry<'_, impl Read>) -> Result<(), PackageError> {
    let header = entry.header();
    if header.entry_type().is_gnu_sparse() && header.as_gnu().is_some_and(GnuHeader::is_extended) {
        return Err(PackageError::UnsupportedEntry(
            "an old GNU sparse file with an extended block map",
        ));
    }
    Ok(())
}

fn read_bounded(entry: &mut Entry<'_, impl Read>, limit: u64) -> Result<Vec<u8>, PackageError> {
    let mut buf = Vec::new();
    entry.take(limit).read_to_end(&mut buf).map_err(corrupt)?;
    Ok(buf)
}

/// A listed file name as text. Control characters (a newline, a NUL) would break the
/// line-based `files` database, and bsdtar would list them escaped, not as they are.
fn listed_name(path: Vec<u8>) -> Result<String, PackageError> {
    let name = String::from_utf8(path).map_err(|_| PackageError::FileNameNotUtf8)?;
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(PackageError::FileNameControlCharacter {
            code: u32::from(c),
            name: name
                .chars()
                .take(QUOTED_NAME_CHARS)
                .flat_map(char::escape_debug)
                .collect(),
        });
    }
    Ok(name)
}

fn read_pkginfo(entry: &mut Entry<'_, impl Read>, limit: u64) -> Result<String, PackageError> {
    let too_large = PackageError::PkgInfoTooLarge { limit };
    if entry.size() > limit {
        return Err(too_large);
    }
    // The size can lie (sparse entries), so bound the read itself too.
    let buf = read_bounded(entry, limit + 1)?;
    if buf.len() as u64 > limit {
        return Err(too_large);
    }
    String::from_utf8(buf).map_err(|_| PackageError::PkgInfoNotUtf8)
}
