//! Validated names. Every name that reaches a file path, a URL or a query is one of these types,
//! so none of them can hold `/`, `..`, an empty string or a reserved word.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a name was refused. The message names the kind of name and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{kind} name may not be empty")]
    Empty { kind: &'static str },
    #[error("{kind} name `{value}` is longer than {max} characters")]
    TooLong {
        kind: &'static str,
        value: String,
        max: usize,
    },
    #[error("{kind} name `{value}` may only contain {allowed}")]
    InvalidCharacter {
        kind: &'static str,
        value: String,
        allowed: &'static str,
    },
    #[error("{kind} name `{value}` may not start with `{first}`")]
    InvalidStart {
        kind: &'static str,
        value: String,
        first: char,
    },
    #[error("`{value}` is reserved and cannot be used as a {kind} name")]
    Reserved { kind: &'static str, value: String },
}

struct Rule {
    kind: &'static str,
    max: usize,
    allowed: &'static str,
    is_allowed: fn(char) -> bool,
    bad_start: &'static [char],
    reserved: &'static [&'static str],
}

impl Rule {
    fn check(&self, value: &str) -> Result<(), NameError> {
        let kind = self.kind;
        let first = value.chars().next().ok_or(NameError::Empty { kind })?;
        if value.len() > self.max {
            return Err(NameError::TooLong {
                kind,
                value: value.to_owned(),
                max: self.max,
            });
        }
        if !value.chars().all(self.is_allowed) {
            return Err(NameError::InvalidCharacter {
                kind,
                value: value.to_owned(),
                allowed: self.allowed,
            });
        }
        if self.bad_start.contains(&first) {
            return Err(NameError::InvalidStart {
                kind,
                value: value.to_owned(),
                first,
            });
        }
        if self.reserved.iter().any(|r| r.eq_ignore_ascii_case(value)) {
            return Err(NameError::Reserved {
                kind,
                value: value.to_owned(),
            });
        }
        Ok(())
    }
}

fn is_segment_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+')
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $rule:expr) => {
        $(#[$doc])*
        // Read from the database as is: every column holding one was written from a parsed
        // name, so reading it back does not parse it again.
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
        )]
        #[serde(try_from = "String", into = "String")]
        #[sqlx(transparent)]
        pub struct $name(String);

        impl $name {
            const RULE: Rule = $rule;

            pub fn parse(value: &str) -> Result<Self, NameError> {
                Self::RULE.check(value)?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::RULE.check(&value)?;
                Ok(Self(value))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

/// Distribution names that would shadow a first path segment the server routes itself, now or
/// soon, or that clients of Vieter (Rieter's predecessor) send there. A distribution is
/// `/{distro}`, so any of these as a distribution would make a page or an API unreachable, or
/// make a misdirected client's request land in a repository. Compared case-insensitively.
pub const RESERVED_DISTRO_NAMES: &[&str] = &[
    // The JSON API (`/api/v1/...`), and Vieter's API at the same place.
    "api",
    // Vieter's upload route is `POST /{repo}/publish`; reserved at both levels, so no URL
    // holding it is ever ambiguous between a name and that route.
    "publish",
    // Signing keys: `/{distro}/key` serves a distribution's public key, and `/key` is where
    // a server-wide one belongs.
    "key",
    "keys",
    // Operations endpoints: liveness/readiness and Prometheus metrics.
    "health",
    "metrics",
    // The API description.
    "openapi",
    "docs",
    // The web UI lives at `/`: its pages and assets are first segments.
    "ui",
    "static",
    "assets",
    "search",
    "uploads",
    "packages",
    "login",
    "logout",
    "admin",
    "mirrors",
    "builds",
    // Files browsers and crawlers ask every host for.
    "favicon.ico",
    "robots.txt",
];

/// Repository names that would shadow a second path segment the server routes (or will
/// route) under a distribution, or that Vieter-era clients send there. A repository is
/// `/{distro}/{repo}`. Compared case-insensitively.
pub const RESERVED_REPO_NAMES: &[&str] = &[
    // `/{distro}/key` serves the distribution's signing public key.
    "key", "keys",
    // Vieter clients upload with `POST /{repo}/publish`: pointed at Rieter, that request must
    // be refused, not create a repository called `publish` in a distribution named after
    // the Vieter repository.
    "publish",
    // Vieter's API lived under `/api`; a Vieter client using a distribution as its base URL
    // would reach `/{distro}/api/...`.
    "api",
];

name_type!(
    /// A distribution, the first segment of every repository URL (`arch` in `/arch/extra/x86_64`).
    DistroName,
    Rule {
        kind: "distribution",
        max: 64,
        allowed: "ASCII letters, digits, `_`, `-`, `.` and `+`",
        is_allowed: is_segment_char,
        bad_start: &['.', '-'],
        reserved: RESERVED_DISTRO_NAMES,
    }
);

name_type!(
    /// A repository inside a distribution; also the stem of its database files (`extra.db`).
    RepoName,
    Rule {
        kind: "repository",
        max: 64,
        allowed: "ASCII letters, digits, `_`, `-`, `.` and `+`",
        is_allowed: is_segment_char,
        bad_start: &['.', '-'],
        reserved: RESERVED_REPO_NAMES,
    }
);

name_type!(
    /// A package architecture as written in `.PKGINFO` (`x86_64`, `aarch64`, `any`).
    ArchName,
    Rule {
        kind: "architecture",
        max: 32,
        allowed: "ASCII letters, digits and `_`",
        is_allowed: |c| c.is_ascii_alphanumeric() || c == '_',
        bad_start: &[],
        reserved: &[],
    }
);

name_type!(
    /// A package name with makepkg's rules: letters, digits and `@._+-`, not starting with `-` or `.`.
    PackageName,
    Rule {
        kind: "package",
        max: 255,
        allowed: "ASCII letters, digits, `@`, `.`, `_`, `+` and `-`",
        is_allowed: |c| c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | '+' | '-'),
        bad_start: &['.', '-'],
        reserved: &[],
    }
);

name_type!(
    /// A file a repository architecture serves (`extra.db`, a package file, a signature): one
    /// path segment, at most `NAME_MAX` bytes, as Linux file systems and pacman's cache take it.
    /// Every name the manifest holds is one, and a request for anything else cannot exist.
    FileName,
    Rule {
        kind: "file",
        max: FILE_NAME_MAX_BYTES,
        allowed: "characters other than `/` and control characters",
        is_allowed: |c| c != '/' && !c.is_control(),
        bad_start: &['.'],
        reserved: &[],
    }
);

/// The longest file name Linux file systems take (`NAME_MAX`).
pub const FILE_NAME_MAX_BYTES: usize = 255;

impl FileName {
    /// The name pacman expects of a package file, `{name}-{version}-{arch}{extension}`; refused
    /// only when it is too long (none of its parts can hold a `/` or a control character).
    pub fn package(
        name: &PackageName,
        version: &crate::version::Version,
        arch: &ArchName,
        extension: &str,
    ) -> Result<Self, NameError> {
        Self::parse(&format!("{name}-{}-{arch}{extension}", version.as_str()))
    }

    /// A database file of `repo`: `{repo}{suffix}`, as in `extra.db.tar.gz`. A repository
    /// name is at most 64 bytes of path-safe characters, so the result is always valid.
    pub fn database(repo: &RepoName, suffix: &'static str) -> Self {
        let name = format!("{repo}{suffix}");
        debug_assert!(Self::RULE.check(&name).is_ok(), "{name}");
        Self(name)
    }

    /// The name of `file`'s detached signature, `{file}.sig`; refused when it would be too
    /// long (package files are refused at parsing when it would).
    pub fn signature_of(file: &FileName) -> Result<Self, NameError> {
        Self::parse(&format!("{file}.sig"))
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

impl ArchName {
    pub const ANY: &'static str = "any";

    pub fn any() -> Self {
        Self(Self::ANY.to_owned())
    }

    pub fn is_any(&self) -> bool {
        self.0 == Self::ANY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["arch", "endeavouros", "core-testing", "my_repo.v2", "a+b"] {
            assert!(DistroName::parse(name).is_ok(), "{name}");
            assert!(RepoName::parse(name).is_ok(), "{name}");
        }
        assert!(ArchName::parse("x86_64").is_ok());
        assert!(PackageName::parse("lib32-glibc").is_ok());
        assert!(PackageName::parse("gtk2+extra@1").is_ok());
    }

    #[test]
    fn refuses_path_tricks_and_reserved_words() {
        for bad in [
            "", ".", "..", "a/b", "../etc", ".hidden", "-x", "a b", "a%2fb", "é",
        ] {
            assert!(DistroName::parse(bad).is_err(), "{bad:?}");
            assert!(RepoName::parse(bad).is_err(), "{bad:?}");
            assert!(PackageName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            DistroName::parse("api"),
            Err(NameError::Reserved { .. })
        ));
        assert!(matches!(
            DistroName::parse("API"),
            Err(NameError::Reserved { .. })
        ));
        // A name reserved for one level only is free at the other.
        assert!(RepoName::parse("search").is_ok());
        assert!(DistroName::parse("core").is_ok());
        assert!(ArchName::parse("x86-64").is_err());
        assert!(DistroName::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn names_that_shadow_routes_or_vieter_clients_are_reserved() {
        for name in [
            "api", "publish", "key", "keys", "search", "uploads", "login", "admin", "static",
            "mirrors", "builds", "packages", "metrics", "Metrics",
        ] {
            let err = DistroName::parse(name).unwrap_err();
            assert!(matches!(err, NameError::Reserved { .. }), "{name}: {err}");
        }
        for name in ["api", "publish", "key", "keys", "KEY"] {
            let err = RepoName::parse(name).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("`{name}` is reserved and cannot be used as a repository name")
            );
        }
        // Names merely containing a reserved word are fine.
        assert!(RepoName::parse("keyring").is_ok());
        assert!(DistroName::parse("apis").is_ok());
    }

    #[test]
    fn file_names_are_one_path_segment() {
        for ok in [
            "extra.db",
            "a b-1:2.0-1-x86_64.pkg.tar.zst",
            "é.sig",
            &"a".repeat(255),
        ] {
            assert!(FileName::parse(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "a\0b",
            "a\nb",
            &"a".repeat(256),
        ] {
            assert!(FileName::parse(bad).is_err(), "{bad:?}");
        }
        let repo = RepoName::parse("extra").unwrap();
        assert_eq!(
            FileName::database(&repo, ".db.tar.gz").as_str(),
            "extra.db.tar.gz"
        );
        let version = crate::version::Version::parse("1:2.0-3").unwrap();
        let name = PackageName::parse("zsh").unwrap();
        let arch = ArchName::parse("x86_64").unwrap();
        assert_eq!(
            FileName::package(&name, &version, &arch, ".pkg.tar.zst")
                .unwrap()
                .as_str(),
            "zsh-1:2.0-3-x86_64.pkg.tar.zst"
        );
        let long = PackageName::parse(&"z".repeat(250)).unwrap();
        assert!(matches!(
            FileName::package(&long, &version, &arch, ".pkg.tar.zst"),
            Err(NameError::TooLong { .. })
        ));
    }

    #[test]
    fn error_messages_name_the_kind_and_value() {
        let err = RepoName::parse("a/b").unwrap_err().to_string();
        assert!(err.contains("repository name `a/b`"), "{err}");
    }
}
