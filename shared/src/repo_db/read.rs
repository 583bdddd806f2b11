//! Reading a sync database someone else wrote (`{repo}.db` or `{repo}.files`, any compression
//! pacman reads), as pacman's `be_sync.c` does: per package a `{name}-{version}/` directory
//! with a `desc` file (`%KEY%` lines, each followed by its values, one per line, up to an
//! empty line), a `files` file in the `.files` database, and a `depends` file in databases
//! older than pacman 4.2. Unknown keys are skipped, as pacman skips them.
//!
//! The database is an upstream's, so it is read as hostile input: its decompressed size, each
//! member's size, the number of packages and the CPU time are bounded ([`ReadLimits`]); every
//! field a path, a URL or a query is made of goes through the validated types; a package
//! whose file name is not a package file's, whose directory disagrees with its `desc`, or that
//! lacks the SHA-256 a mirror verifies downloads against, makes the whole database refused.

use std::collections::HashMap;
use std::io::{self, Read};
use std::time::Duration;

use crate::blobs::Digest;
use crate::names::{ArchName, FileName, PackageName};
use crate::package::{PackageError, PkgInfo};
use crate::version::Version;

/// Bounds on reading one database.
#[derive(Debug, Clone)]
pub struct ReadLimits {
    /// Most packages it may list.
    pub max_packages: usize,
    /// Largest `desc` or `depends` member.
    pub max_desc_bytes: u64,
    /// Largest `files` member.
    pub max_files_bytes: u64,
    /// Largest decompressed size of the whole archive.
    pub max_unpacked_bytes: u64,
    /// Most memory the decompressor may use.
    pub max_decoder_memory_bytes: u64,
    /// Most CPU time the read may take.
    pub max_cpu: Duration,
}

impl Default for ReadLimits {
    /// Generous for the largest real repositories (Arch's `extra.files` lists about 15,000
    /// packages and unpacks to a few hundred MiB), small enough that a hostile database cannot
    /// exhaust a worker.
    fn default() -> Self {
        Self {
            max_packages: 200_000,
            max_desc_bytes: 1 << 20,
            max_files_bytes: 64 << 20,
            max_unpacked_bytes: 4 << 30,
            max_decoder_memory_bytes: 256 << 20,
            max_cpu: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Decompression, the tar structure, or a bound of [`ReadLimits`] the archive broke.
    #[error(transparent)]
    Archive(#[from] PackageError),
    #[error("the database lists more than {limit} packages")]
    TooManyPackages { limit: usize },
    #[error("`{member}` is larger than {limit} bytes")]
    MemberTooLarge { member: String, limit: u64 },
    #[error("`{member}` is not a package entry (`{{name}}-{{version}}/desc`)")]
    UnexpectedMember { member: String },
    #[error("the entry `{dir}`: {reason}")]
    Entry { dir: String, reason: String },
    #[error("the package `{name}` is listed twice (`{first}` and `{second}`)")]
    Duplicate {
        name: String,
        first: String,
        second: String,
    },
}

/// One package as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncEntry {
    /// Its fields, as `.PKGINFO` would give them (a database has no `backup` or `xdata`).
    pub info: PkgInfo,
    pub filename: FileName,
    /// `%CSIZE%`: the package file's size.
    pub compressed_size: i64,
    pub sha256: Digest,
    pub md5: Option<String>,
    /// `%PGPSIG%`: the detached signature, base64.
    pub pgpsig: Option<String>,
    /// The file list, from a `.files` database; `None` from a `.db`.
    pub files: Option<Vec<String>>,
}

/// Reads every package of a database. Blocking: call it from `spawn_blocking`.
pub fn read_database(input: impl Read, limits: &ReadLimits) -> Result<Vec<SyncEntry>, ReadError> {
    read_database_with(input, limits, &|_| true)
}

/// As [`read_database`], reading the `files` member only of the package directories
/// (`{name}-{version}`) `files_of` accepts; the others' `files` are left `None` unread. A
/// mirror reads the file lists of the packages it does not hold yet, not the whole `.files`
/// database's.
pub fn read_database_with(
    input: impl Read,
    limits: &ReadLimits,
    files_of: &dyn Fn(&str) -> bool,
) -> Result<Vec<SyncEntry>, ReadError> {
    let package_limits = crate::package::Limits {
        max_unpacked_bytes: limits.max_unpacked_bytes,
        max_decoder_memory_bytes: limits.max_decoder_memory_bytes,
        max_parse_cpu: limits.max_cpu,
        ..crate::package::Limits::default()
    };
    let (_, mut unpacked) = crate::package::unpack(input, &package_limits)?;
    let result = read_members(&mut unpacked, limits, files_of);
    if let Some(reason) = unpacked.stopped() {
        return Err(reason.into());
    }
    let members = result?;
    members
        .into_iter()
        .map(|(dir, raw)| raw.into_entry(&dir))
        .collect::<Result<Vec<_>, _>>()
        .and_then(refuse_duplicates)
}

/// The index of package directory `dir` in `dirs`, added if new.
fn register(
    dirs: &mut Vec<(String, RawEntry)>,
    index: &mut HashMap<String, usize>,
    dir: &str,
    limits: &ReadLimits,
) -> Result<usize, ReadError> {
    if let Some(&at) = index.get(dir) {
        return Ok(at);
    }
    if dirs.len() == limits.max_packages {
        return Err(ReadError::TooManyPackages {
            limit: limits.max_packages,
        });
    }
    index.insert(dir.to_owned(), dirs.len());
    dirs.push((dir.to_owned(), RawEntry::default()));
    Ok(dirs.len() - 1)
}

/// The members of one package directory, as text.
#[derive(Default)]
struct RawEntry {
    desc: Option<String>,
    depends: Option<String>,
    files: Option<String>,
}

/// Reads the archive into its package directories, in archive order.
fn read_members(
    input: impl Read,
    limits: &ReadLimits,
    files_of: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, RawEntry)>, ReadError> {
    let mut archive = tar::Archive::new(input);
    let mut dirs: Vec<(String, RawEntry)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let corrupt = |e: io::Error| ReadError::Archive(PackageError::Corrupt(e.to_string()));
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let kind = entry.header().entry_type();
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if kind.is_dir() {
            continue;
        }
        let (dir, member) = match path.split_once('/') {
            Some((dir, member)) if !dir.is_empty() && !member.contains('/') => (dir, member),
            _ => {
                return Err(ReadError::UnexpectedMember {
                    member: quoted(&path),
                });
            }
        };
        let limit = match member {
            "desc" | "depends" => limits.max_desc_bytes,
            "files" if files_of(dir) => limits.max_files_bytes,
            "files" => {
                // Not wanted, so not read; its directory still counts as a package.
                register(&mut dirs, &mut index, dir, limits)?;
                continue;
            }
            // pacman ignores what it does not know; so do we, without reading it.
            _ => continue,
        };
        if !kind.is_file() {
            return Err(ReadError::UnexpectedMember {
                member: quoted(&path),
            });
        }
        let too_large = || ReadError::MemberTooLarge {
            member: quoted(&path),
            limit,
        };
        if entry.size() > limit {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        (&mut entry)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(corrupt)?;
        if bytes.len() as u64 > limit {
            return Err(too_large());
        }
        let text = String::from_utf8(bytes).map_err(|_| ReadError::Entry {
            dir: quoted(dir),
            reason: format!("`{member}` is not UTF-8"),
        })?;
        let at = register(&mut dirs, &mut index, dir, limits)?;
        let raw = &mut dirs[at].1;
        let slot = match member {
            "desc" => &mut raw.desc,
            "depends" => &mut raw.depends,
            _ => &mut raw.files,
        };
        if slot.replace(text).is_some() {
            return Err(ReadError::Entry {
                dir: quoted(dir),
                reason: format!("`{member}` appears twice"),
            });
        }
    }
    Ok(dirs)
}

/// The `%KEY%` sections of a `desc`, `depends` or `files` member: each key with its values.
fn sections(text: &str) -> Vec<(&str, Vec<&str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        if line.is_empty() {
            current = None;
        } else if let Some(key) = line
            .strip_prefix('%')
            .and_then(|l| l.strip_suffix('%'))
            .filter(|k| current.is_none() && !k.is_empty())
        {
            out.push((key, Vec::new()));
            current = Some(out.len() - 1);
        } else if let Some(at) = current {
            out[at].1.push(line);
        }
        // A line outside any section is ignored, as pacman ignores it.
    }
    out
}

impl RawEntry {
    fn into_entry(self, dir: &str) -> Result<SyncEntry, ReadError> {
        let fail = |reason: String| ReadError::Entry {
            dir: quoted(dir),
            reason,
        };
        let desc = self
            .desc
            .ok_or_else(|| fail("it has no `desc`".to_owned()))?;
        let mut fields: HashMap<&str, Vec<&str>> = HashMap::new();
        for text in [Some(desc.as_str()), self.depends.as_deref()]
            .into_iter()
            .flatten()
        {
            for (key, values) in sections(text) {
                if fields.insert(key, values).is_some() {
                    return Err(fail(format!("`%{key}%` appears twice")));
                }
            }
        }
        let many = |key: &str| -> Vec<String> {
            fields
                .get(key)
                .map(|v| v.iter().map(|s| (*s).to_owned()).collect())
                .unwrap_or_default()
        };
        let one = |key: &str| -> Result<Option<String>, ReadError> {
            match fields.get(key).map(Vec::as_slice) {
                None | Some([]) => Ok(None),
                Some([value]) => Ok(Some((*value).to_owned())),
                Some(_) => Err(fail(format!("`%{key}%` has more than one value"))),
            }
        };
        let required = |key: &str| -> Result<String, ReadError> {
            one(key)?.ok_or_else(|| fail(format!("it has no `%{key}%`")))
        };
        let number = |key: &str| -> Result<i64, ReadError> {
            let text = required(key)?;
            text.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| fail(format!("`%{key}%` is not a size: `{}`", quoted(&text))))
        };

        let name = required("NAME")?;
        let name = PackageName::parse(&name).map_err(|e| fail(e.to_string()))?;
        let version = Version::parse(&required("VERSION")?).map_err(|e| fail(e.to_string()))?;
        if dir != format!("{name}-{}", version.as_str()) {
            return Err(fail(format!(
                "its `desc` names `{name}` {}, not its directory",
                version.as_str()
            )));
        }
        let arch = ArchName::parse(&required("ARCH")?).map_err(|e| fail(e.to_string()))?;
        let filename = required("FILENAME")?;
        let filename = FileName::parse(&filename)
            .ok()
            .filter(|f| is_package_file_name(f.as_str()))
            .ok_or_else(|| {
                fail(format!(
                    "`{}` is not a package file name (`….pkg.tar` and a compression suffix)",
                    quoted(&filename)
                ))
            })?;
        let sha256 = required("SHA256SUM")?;
        let sha256 = Digest::parse(&sha256).map_err(|e| fail(e.to_string()))?;
        let md5 = one("MD5SUM")?;
        if let Some(md5) = md5
            .as_deref()
            .filter(|m| m.len() != 32 || !m.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(fail(format!(
                "`%MD5SUM%` is not an MD5 sum: `{}`",
                quoted(md5)
            )));
        }
        let build_date = number("BUILDDATE")?;
        let compressed_size = number("CSIZE")?;
        let installed_size = match one("ISIZE")? {
            Some(_) => number("ISIZE")?,
            None => 0,
        };
        let files = self.files.map(|text| {
            sections(&text)
                .into_iter()
                .filter(|(key, _)| *key == "FILES")
                .flat_map(|(_, values)| values.into_iter().map(str::to_owned))
                .collect()
        });
        let info = PkgInfo {
            name,
            base: one("BASE")?,
            version,
            description: one("DESC")?,
            url: one("URL")?,
            build_date,
            packager: one("PACKAGER")?,
            installed_size,
            arch,
            licenses: many("LICENSE"),
            replaces: many("REPLACES"),
            groups: many("GROUPS"),
            conflicts: many("CONFLICTS"),
            provides: many("PROVIDES"),
            backup: Vec::new(),
            depends: many("DEPENDS"),
            optdepends: many("OPTDEPENDS"),
            makedepends: many("MAKEDEPENDS"),
            checkdepends: many("CHECKDEPENDS"),
            xdata: many("XDATA"),
        };
        Ok(SyncEntry {
            info,
            filename,
            compressed_size,
            sha256,
            md5: md5.map(|m| m.to_ascii_lowercase()),
            pgpsig: one("PGPSIG")?,
            files,
        })
    }
}

/// Whether `name` is what makepkg names a package file: `….pkg.tar`, then a compression
/// suffix or none. A database naming anything else (`core.db`, say) could otherwise make a
/// mirror serve it in place of one of its own files.
pub fn is_package_file_name(name: &str) -> bool {
    const SUFFIXES: [&str; 10] = [
        "", ".gz", ".bz2", ".xz", ".zst", ".lrz", ".lzo", ".Z", ".lz4", ".lz",
    ];
    SUFFIXES.iter().any(|suffix| {
        name.strip_suffix(suffix)
            .and_then(|stem| stem.strip_suffix(".pkg.tar"))
            .is_some_and(|base| !base.is_empty())
    })
}

fn refuse_duplicates(entries: Vec<SyncEntry>) -> Result<Vec<SyncEntry>, ReadError> {
    let mut seen: HashMap<&str, &FileName> = HashMap::with_capacity(entries.len());
    for entry in &entries {
        if let Some(first) = seen.insert(entry.info.name.as_str(), &entry.filename) {
            return Err(ReadError::Duplicate {
                name: entry.info.name.to_string(),
                first: first.to_string(),
                second: entry.filename.to_string(),
            });
        }
    }
    Ok(entries)
}

/// At most 200 characters of `text`, control characters escaped, for an error message.
fn quoted(text: &str) -> String {
    text.chars()
        .take(200)
        .flat_map(char::escape_debug)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_follow_pacman() {
        let text = "%NAME%\nfoo\n\n%DEPENDS%\na\nb>=1\n\nstray\n%EMPTY%\n\n";
        assert_eq!(
            sections(text),
            vec![
                ("NAME", vec!["foo"]),
                ("DEPENDS", vec!["a", "b>=1"]),
                ("EMPTY", vec![])
            ]
        );
    }

    #[test]
    fn package_file_names() {
        for good in [
            "a-1-1-x86_64.pkg.tar.zst",
            "a-1-1-any.pkg.tar",
            "a.pkg.tar.xz",
        ] {
            assert!(is_package_file_name(good), "{good}");
        }
        for bad in [
            "core.db",
            "core.db.tar.gz",
            ".pkg.tar.zst",
            "a.pkg.tar.zst.sig",
            "a.tar.gz",
        ] {
            assert!(!is_package_file_name(bad), "{bad}");
        }
    }
}
