//! The `.PKGINFO` file: `key = value` lines written by makepkg.

use serde::{Deserialize, Serialize};

use super::PackageError;
use crate::names::{ArchName, PackageName};
use crate::version::Version;

/// Every field of `.PKGINFO`. Values are normalised the way `repo-add` reads them: surrounding
/// whitespace trimmed and every run of whitespace collapsed to one space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PkgInfo {
    pub name: PackageName,
    pub base: Option<String>,
    pub version: Version,
    pub description: Option<String>,
    pub url: Option<String>,
    /// Seconds since the Unix epoch.
    pub build_date: i64,
    pub packager: Option<String>,
    /// Installed size in bytes (`size`).
    pub installed_size: i64,
    pub arch: ArchName,
    pub licenses: Vec<String>,
    pub replaces: Vec<String>,
    pub groups: Vec<String>,
    pub conflicts: Vec<String>,
    pub provides: Vec<String>,
    pub backup: Vec<String>,
    pub depends: Vec<String>,
    pub optdepends: Vec<String>,
    pub makedepends: Vec<String>,
    pub checkdepends: Vec<String>,
    /// Extended data (`xdata`, e.g. `pkgtype=pkg`).
    pub xdata: Vec<String>,
}

#[derive(Default)]
struct Raw {
    name: Option<String>,
    base: Option<String>,
    version: Option<String>,
    description: Option<String>,
    url: Option<String>,
    build_date: Option<String>,
    packager: Option<String>,
    size: Option<String>,
    arch: Option<String>,
    licenses: Vec<String>,
    replaces: Vec<String>,
    groups: Vec<String>,
    conflicts: Vec<String>,
    provides: Vec<String>,
    backup: Vec<String>,
    depends: Vec<String>,
    optdepends: Vec<String>,
    makedepends: Vec<String>,
    checkdepends: Vec<String>,
    xdata: Vec<String>,
}

/// Longest pkgver accepted. makepkg sets none, but the version is part of the file name
/// (255 bytes with `.sig`); real ones are far shorter (VCS versions run to about 50 bytes).
pub const MAX_PKGVER_BYTES: usize = 128;
/// Longest pkgrel accepted (`1`, `2.1`).
pub const MAX_PKGREL_BYTES: usize = 16;

/// `[[:space:]]` in the C locale: ASCII whitespace and the vertical tab.
fn is_space(c: char) -> bool {
    c.is_ascii_whitespace() || c == '\x0b'
}

/// Collapses whitespace runs like repo-add's `${val//+([[:space:]])/ }`.
fn normalise(value: &str) -> String {
    value
        .split(is_space)
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Refuses control characters other than whitespace (which values collapse to a space): a
/// NUL cannot pass through repo-add (bash drops it) nor be stored in Postgres text.
fn check_controls(number: usize, line: &str) -> Result<(), PackageError> {
    match line.chars().find(|c| c.is_control() && !is_space(*c)) {
        Some(c) => Err(PackageError::PkgInfoControlCharacter {
            line: number + 1,
            code: u32::from(c),
        }),
        None => Ok(()),
    }
}

impl PkgInfo {
    pub fn parse(text: &str) -> Result<Self, PackageError> {
        let mut raw = Raw::default();
        for (number, line) in text.lines().enumerate() {
            check_controls(number, line)?;
            let line = line.trim_start_matches(' ');
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = normalise(value);
            let list = |list: &mut Vec<String>, value: String| {
                if !value.is_empty() {
                    list.push(value);
                }
            };
            // A repeated single-valued key keeps its last value, as in repo-add.
            let scalar = |slot: &mut Option<String>, value: String| *slot = Some(value);
            match key.trim() {
                "pkgname" => scalar(&mut raw.name, value),
                "pkgbase" => scalar(&mut raw.base, value),
                "pkgver" => scalar(&mut raw.version, value),
                "pkgdesc" => scalar(&mut raw.description, value),
                "url" => scalar(&mut raw.url, value),
                "builddate" => scalar(&mut raw.build_date, value),
                "packager" => scalar(&mut raw.packager, value),
                "size" => scalar(&mut raw.size, value),
                "arch" => scalar(&mut raw.arch, value),
                "license" => list(&mut raw.licenses, value),
                "replaces" => list(&mut raw.replaces, value),
                "group" => list(&mut raw.groups, value),
                "conflict" => list(&mut raw.conflicts, value),
                "provides" => list(&mut raw.provides, value),
                "backup" => list(&mut raw.backup, value),
                "depend" => list(&mut raw.depends, value),
                "optdepend" => list(&mut raw.optdepends, value),
                "makedepend" => list(&mut raw.makedepends, value),
                "checkdepend" => list(&mut raw.checkdepends, value),
                "xdata" => list(&mut raw.xdata, value),
                _ => {}
            }
        }
        raw.validate()
    }
}

fn required(field: &'static str, value: Option<String>) -> Result<String, PackageError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or(PackageError::MissingField(field))
}

fn optional(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

fn integer(field: &'static str, value: Option<String>) -> Result<i64, PackageError> {
    match optional(value) {
        None => Ok(0),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or(PackageError::InvalidField { field, value: v }),
    }
}

fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), PackageError> {
    if value.len() > max {
        return Err(PackageError::FieldTooLong {
            field,
            len: value.len(),
            max,
        });
    }
    Ok(())
}

impl Raw {
    fn validate(self) -> Result<PkgInfo, PackageError> {
        let name = PackageName::parse(&required("pkgname", self.name)?)?;
        let version = Version::parse(&required("pkgver", self.version)?)?;
        check_len("pkgver", version.pkgver(), MAX_PKGVER_BYTES)?;
        check_len("pkgrel", version.pkgrel(), MAX_PKGREL_BYTES)?;
        let arch = ArchName::parse(&required("arch", self.arch)?)?;
        let base = optional(self.base);
        if let Some(base) = &base {
            PackageName::parse(base)?;
        }
        Ok(PkgInfo {
            name,
            base,
            version,
            description: optional(self.description),
            url: optional(self.url),
            build_date: integer("builddate", self.build_date)?,
            packager: optional(self.packager),
            installed_size: integer("size", self.size)?,
            arch,
            licenses: self.licenses,
            replaces: self.replaces,
            groups: self.groups,
            conflicts: self.conflicts,
            provides: self.provides,
            backup: self.backup,
            depends: self.depends,
            optdepends: self.optdepends,
            makedepends: self.makedepends,
            checkdepends: self.checkdepends,
            xdata: self.xdata,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Generated by makepkg 6.0.2
# using fakeroot version 1.31
pkgname = hello
pkgbase = hello-base
xdata = pkgtype=pkg
pkgver = 1:2.0-3
pkgdesc = A   friendly\tgreeting =  tool
url = https://example.org/hello
builddate = 1700000000
packager = Jane Doe <jane@example.org>
size = 12345
arch = x86_64
license = MIT
license = custom:Foo
depend = glibc
depend = bash>=5
optdepend = python: for the  scripts
provides = hi=2.0
backup = etc/hello.conf
";

    #[test]
    fn parses_every_field() {
        let info = PkgInfo::parse(SAMPLE).unwrap();
        assert_eq!(info.name.as_str(), "hello");
        assert_eq!(info.base.as_deref(), Some("hello-base"));
        assert_eq!(info.version.as_str(), "1:2.0-3");
        assert_eq!(
            info.description.as_deref(),
            Some("A friendly greeting = tool")
        );
        assert_eq!(info.build_date, 1_700_000_000);
        assert_eq!(info.installed_size, 12345);
        assert_eq!(info.arch.as_str(), "x86_64");
        assert_eq!(info.licenses, ["MIT", "custom:Foo"]);
        assert_eq!(info.depends, ["glibc", "bash>=5"]);
        assert_eq!(info.optdepends, ["python: for the scripts"]);
        assert_eq!(info.provides, ["hi=2.0"]);
        assert_eq!(info.backup, ["etc/hello.conf"]);
        assert_eq!(info.xdata, ["pkgtype=pkg"]);
        assert!(info.conflicts.is_empty());
    }

    #[test]
    fn refuses_missing_or_invalid_fields() {
        let without_pkgver = SAMPLE.replace("pkgver = 1:2.0-3\n", "");
        assert!(matches!(
            PkgInfo::parse(&without_pkgver),
            Err(PackageError::MissingField("pkgver"))
        ));
        let bad_name = SAMPLE.replace("pkgname = hello", "pkgname = he/llo");
        assert!(matches!(
            PkgInfo::parse(&bad_name),
            Err(PackageError::InvalidName(_))
        ));
        let bad_size = SAMPLE.replace("size = 12345", "size = lots");
        assert!(matches!(
            PkgInfo::parse(&bad_size),
            Err(PackageError::InvalidField { field: "size", .. })
        ));
        let bad_version = SAMPLE.replace("pkgver = 1:2.0-3", "pkgver = 2.0");
        assert!(matches!(
            PkgInfo::parse(&bad_version),
            Err(PackageError::InvalidVersion(_))
        ));
    }
}
