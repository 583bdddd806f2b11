//! The data one database entry is rendered from.

use crate::package::PkgInfo;

/// Everything `repo-add` writes into a package's `desc` file, borrowed from wherever it is
/// stored (a freshly parsed package, or database rows).
///
/// Values are written as given: they are expected to be normalised already, the way
/// [`PkgInfo`] normalises `.PKGINFO` values. Empty strings and empty lists are left out of
/// `desc`, as `repo-add` leaves them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbEntry<'a> {
    /// The package file's name in the repository, e.g. `foo-1.0-1-x86_64.pkg.tar.zst`.
    pub filename: &'a str,
    pub name: &'a str,
    pub base: Option<&'a str>,
    /// The full version, `[epoch:]pkgver-pkgrel`.
    pub version: &'a str,
    pub description: Option<&'a str>,
    pub groups: &'a [String],
    /// Size of the package file in bytes.
    pub csize: i64,
    /// Installed size in bytes (`.PKGINFO`'s `size`).
    pub isize: i64,
    /// Lower-case hex MD5 of the package file.
    pub md5: &'a str,
    /// Lower-case hex SHA-256 of the package file.
    pub sha256: &'a str,
    /// The detached binary signature, base64 encoded without line breaks.
    pub pgpsig: Option<&'a str>,
    pub url: Option<&'a str>,
    pub licenses: &'a [String],
    pub arch: &'a str,
    /// Seconds since the Unix epoch.
    pub build_date: i64,
    pub packager: Option<&'a str>,
    pub replaces: &'a [String],
    pub conflicts: &'a [String],
    pub provides: &'a [String],
    pub depends: &'a [String],
    pub optdepends: &'a [String],
    pub makedepends: &'a [String],
    pub checkdepends: &'a [String],
}

impl<'a> DbEntry<'a> {
    /// The entry for a package file described by `info`, without a signature.
    pub fn new(
        info: &'a PkgInfo,
        filename: &'a str,
        csize: i64,
        md5: &'a str,
        sha256: &'a str,
    ) -> Self {
        Self {
            filename,
            name: info.name.as_str(),
            base: info.base.as_deref(),
            version: info.version.as_str(),
            description: info.description.as_deref(),
            groups: &info.groups,
            csize,
            isize: info.installed_size,
            md5,
            sha256,
            pgpsig: None,
            url: info.url.as_deref(),
            licenses: &info.licenses,
            arch: info.arch.as_str(),
            build_date: info.build_date,
            packager: info.packager.as_deref(),
            replaces: &info.replaces,
            conflicts: &info.conflicts,
            provides: &info.provides,
            depends: &info.depends,
            optdepends: &info.optdepends,
            makedepends: &info.makedepends,
            checkdepends: &info.checkdepends,
        }
    }

    /// The entry's directory in the database archive, `{name}-{version}`.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }
}
