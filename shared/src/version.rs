//! Package versions and pacman's version comparison (`alpm_pkg_vercmp`).
//!
//! The comparison is a byte-for-byte port of libalpm's `rpmvercmp` and `parseEVR`, because the
//! only ordering that matters is the one pacman applies when it decides what is an upgrade.
//! `tests/vercmp_oracle.rs` checks it against `/usr/bin/vercmp` on generated pairs.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a version string is not one pacman accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("version is empty")]
    Empty,
    #[error("version `{0}` has no pkgrel (expected pkgver-pkgrel)")]
    MissingPkgrel(String),
    #[error("epoch `{0}` is not a non-negative integer")]
    InvalidEpoch(String),
    #[error("pkgver `{0}` may not be empty or contain whitespace, `/`, `:` or `-`")]
    InvalidPkgver(String),
    #[error("pkgrel `{0}` must be a number with at most one `.` part (like 1 or 2.1)")]
    InvalidPkgrel(String),
}

/// A full package version, `[epoch:]pkgver-pkgrel`, as written in `.PKGINFO`'s `pkgver` field.
///
/// Equality is textual (`1:1.0-1` and `01:1.0-1` differ as values) while [`Version::cmp_pacman`]
/// gives pacman's ordering, so this type deliberately does not implement `Ord`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Version(String);

impl Version {
    pub fn parse(full: &str) -> Result<Self, VersionError> {
        if full.is_empty() {
            return Err(VersionError::Empty);
        }
        let (epoch, rest) = match full.split_once(':') {
            Some((epoch, rest)) => (Some(epoch), rest),
            None => (None, full),
        };
        if let Some(epoch) = epoch
            && (epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(VersionError::InvalidEpoch(epoch.to_owned()));
        }
        let (pkgver, pkgrel) = rest
            .rsplit_once('-')
            .ok_or_else(|| VersionError::MissingPkgrel(full.to_owned()))?;
        let pkgver_ok = !pkgver.is_empty()
            && pkgver
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '/' | ':' | '-'));
        if !pkgver_ok {
            return Err(VersionError::InvalidPkgver(pkgver.to_owned()));
        }
        if !is_valid_pkgrel(pkgrel) {
            return Err(VersionError::InvalidPkgrel(pkgrel.to_owned()));
        }
        Ok(Self(full.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The upstream version: between the epoch's `:` and the last `-`.
    pub fn pkgver(&self) -> &str {
        let (rest, _) = self.without_epoch().rsplit_once('-').unwrap_or_default();
        rest
    }

    /// The release: after the last `-`.
    pub fn pkgrel(&self) -> &str {
        let (_, pkgrel) = self.without_epoch().rsplit_once('-').unwrap_or_default();
        pkgrel
    }

    fn without_epoch(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(_, rest)| rest)
    }

    /// pacman's ordering of two versions.
    pub fn cmp_pacman(&self, other: &Self) -> Ordering {
        vercmp(&self.0, &other.0)
    }
}

fn is_valid_pkgrel(pkgrel: &str) -> bool {
    let mut parts = pkgrel.split('.');
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(major), None, None) => digits(major),
        (Some(major), Some(minor), None) => digits(major) && digits(minor),
        _ => false,
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Version {
    type Error = VersionError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Version> for String {
    fn from(value: Version) -> Self {
        value.0
    }
}

/// Compares two version strings exactly as `vercmp`/libalpm does. Accepts any strings, valid
/// package versions or not, because pacman does too.
pub fn vercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (epoch_a, ver_a, rel_a) = parse_evr(a.as_bytes());
    let (epoch_b, ver_b, rel_b) = parse_evr(b.as_bytes());
    rpmvercmp(epoch_a, epoch_b)
        .then_with(|| rpmvercmp(ver_a, ver_b))
        .then_with(|| match (rel_a, rel_b) {
            (Some(rel_a), Some(rel_b)) => rpmvercmp(rel_a, rel_b),
            _ => Ordering::Equal,
        })
}

/// libalpm's `parseEVR`: splits `[epoch:]version[-release]`; a missing or empty epoch is `0`.
fn parse_evr(evr: &[u8]) -> (&[u8], &[u8], Option<&[u8]>) {
    let digits = evr.iter().take_while(|b| b.is_ascii_digit()).count();
    let (epoch, rest) = if evr.get(digits) == Some(&b':') {
        let epoch = &evr[..digits];
        (
            if epoch.is_empty() { &b"0"[..] } else { epoch },
            &evr[digits + 1..],
        )
    } else {
        (&b"0"[..], evr)
    };
    // Epoch digits hold no `-`, so `strrchr(s, '-')` finds the last `-` of the whole string.
    match rest.iter().rposition(|&b| b == b'-') {
        Some(dash) => (epoch, &rest[..dash], Some(&rest[dash + 1..])),
        None => (epoch, rest, None),
    }
}

/// libalpm's `rpmvercmp`, on bytes with C-locale character classes.
fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut one, mut two) = (0usize, 0usize);
    // Ends of the previous segment, used to compare separator lengths.
    let (mut seg_end_a, mut seg_end_b) = (0usize, 0usize);
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);

    while at(a, one) != 0 && at(b, two) != 0 {
        while at(a, one) != 0 && !at(a, one).is_ascii_alphanumeric() {
            one += 1;
        }
        while at(b, two) != 0 && !at(b, two).is_ascii_alphanumeric() {
            two += 1;
        }
        if at(a, one) == 0 || at(b, two) == 0 {
            break;
        }
        if one - seg_end_a != two - seg_end_b {
            return (one - seg_end_a).cmp(&(two - seg_end_b));
        }

        let is_num = at(a, one).is_ascii_digit();
        let class = |c: u8| {
            if is_num {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (mut end_a, mut end_b) = (one, two);
        while at(a, end_a) != 0 && class(at(a, end_a)) {
            end_a += 1;
        }
        while at(b, end_b) != 0 && class(at(b, end_b)) {
            end_b += 1;
        }
        if two == end_b {
            // One segment is numeric and the other alphabetic: numeric is newer.
            return if is_num {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }

        let (mut seg_a, mut seg_b) = (&a[one..end_a], &b[two..end_b]);
        if is_num {
            while seg_a.first() == Some(&b'0') {
                seg_a = &seg_a[1..];
            }
            while seg_b.first() == Some(&b'0') {
                seg_b = &seg_b[1..];
            }
            if seg_a.len() != seg_b.len() {
                return seg_a.len().cmp(&seg_b.len());
            }
        }
        match seg_a.cmp(seg_b) {
            Ordering::Equal => {}
            other => return other,
        }
        one = end_a;
        two = end_b;
        seg_end_a = end_a;
        seg_end_b = end_b;
    }

    let (rest_a, rest_b) = (at(a, one), at(b, two));
    if rest_a == 0 && rest_b == 0 {
        return Ordering::Equal;
    }
    // A remaining alphabetic part never beats an empty string (1.0a < 1.0 < 1.0.1).
    if (rest_a == 0 && !rest_b.is_ascii_alphabetic()) || rest_a.is_ascii_alphabetic() {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, expected: Ordering) {
        assert_eq!(vercmp(a, b), expected, "vercmp({a}, {b})");
        assert_eq!(vercmp(b, a), expected.reverse(), "vercmp({b}, {a})");
    }

    #[test]
    fn orders_like_pacman() {
        // Cases from pacman's test/util/vercmptest.sh.
        check("1.5.0", "1.5.0", Ordering::Equal);
        check("1.5.1", "1.5.0", Ordering::Greater);
        check("1.5.1", "1.5", Ordering::Greater);
        check("1.5.b", "1.5.a", Ordering::Greater);
        check("1.0a", "1.0", Ordering::Less);
        check("1.0", "1.0.a", Ordering::Less);
        check("1.0.a", "1.0.1", Ordering::Less);
        check("1.0b", "1.0a", Ordering::Greater);
        check("1.0rc", "1.0", Ordering::Less);
        check("1.0.1rc1", "1.0.1", Ordering::Less);
        check("1.0+1", "1.0.1", Ordering::Equal);
        check("1.0..1", "1.0.1", Ordering::Greater);
        check("1.5-1", "1.5", Ordering::Equal);
        check("1.5-1", "1.5-2", Ordering::Less);
        check("1:1.0-1", "2.0-1", Ordering::Greater);
        check("0:1.0-1", "1.0-1", Ordering::Equal);
        check(":1.0-1", "1.0-1", Ordering::Equal);
        check("1.0-1", "1.0-1.1", Ordering::Less);
        check("1.0-1.1", "1.0-1.2", Ordering::Less);
        check("009", "10", Ordering::Less);
        check("a", "1", Ordering::Less);
    }

    #[test]
    fn parses_valid_versions() {
        for v in ["1.0-1", "2:1.2.3-4", "1.0_rc1+git.abc-2.1", "0:a-1"] {
            assert_eq!(Version::parse(v).unwrap().as_str(), v);
        }
    }

    #[test]
    fn rejects_what_pacman_rejects() {
        assert_eq!(Version::parse(""), Err(VersionError::Empty));
        assert!(matches!(
            Version::parse("1.0"),
            Err(VersionError::MissingPkgrel(_))
        ));
        assert!(matches!(
            Version::parse("x:1.0-1"),
            Err(VersionError::InvalidEpoch(_))
        ));
        assert!(matches!(
            Version::parse(":1.0-1"),
            Err(VersionError::InvalidEpoch(_))
        ));
        assert!(matches!(
            Version::parse("1 0-1"),
            Err(VersionError::InvalidPkgver(_))
        ));
        assert!(matches!(
            Version::parse("1/0-1"),
            Err(VersionError::InvalidPkgver(_))
        ));
        assert!(matches!(
            Version::parse("-1"),
            Err(VersionError::InvalidPkgver(_))
        ));
        assert!(matches!(
            Version::parse("1.0-a"),
            Err(VersionError::InvalidPkgrel(_))
        ));
        assert!(matches!(
            Version::parse("1.0-1.2.3"),
            Err(VersionError::InvalidPkgrel(_))
        ));
        assert!(matches!(
            Version::parse("1.0-"),
            Err(VersionError::InvalidPkgrel(_))
        ));
    }
}
