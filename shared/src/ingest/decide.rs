//! The version rules for a new package, as a pure function of what the repository holds.

use std::cmp::Ordering;

use crate::blobs::Digest;
use crate::db::packages::Current;
use crate::version::{Version, vercmp};

/// What a new package does to its repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Record it, replacing these packages (older versions, or the same version when
    /// overwriting).
    Insert { replace: Vec<i64> },
    /// The identical file is already the current package: nothing changes.
    Unchanged { package_id: i64, published: bool },
    /// Refuse the upload, for this reason.
    Refuse(String),
}

/// The request's wishes about replacing what is there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Permissions {
    pub allow_downgrade: bool,
    pub overwrite: bool,
}

pub fn decide(
    name: &str,
    version: &Version,
    sha256: &Digest,
    current: &[Current],
    permissions: Permissions,
) -> Decision {
    if let Some(same) = current.iter().find(|c| c.sha256 == *sha256) {
        return Decision::Unchanged {
            package_id: same.id,
            published: same.published,
        };
    }
    for existing in current {
        match vercmp(version.as_str(), &existing.version) {
            Ordering::Less if !permissions.allow_downgrade => {
                return Decision::Refuse(format!(
                    "{name} {version} is older than the current {name} {}; upload with \
                     allow_downgrade=true to replace it",
                    existing.version
                ));
            }
            Ordering::Equal if !permissions.overwrite => {
                return Decision::Refuse(format!(
                    "{name} {} is already in the repository with different content; upload \
                     with overwrite=true to replace it",
                    existing.version
                ));
            }
            _ => {}
        }
    }
    Decision::Insert {
        replace: current.iter().map(|c| c.id).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current(id: i64, version: &str, sha: &str) -> Current {
        Current {
            id,
            upload_id: None,
            arch: "x86_64".into(),
            version: version.into(),
            sha256: d(sha),
            published: true,
        }
    }

    fn d(s: &str) -> Digest {
        Digest::of(s.as_bytes())
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    const NONE: Permissions = Permissions {
        allow_downgrade: false,
        overwrite: false,
    };

    #[test]
    fn new_names_are_inserted() {
        assert_eq!(
            decide("a", &v("1.0-1"), &d("s"), &[], NONE),
            Decision::Insert { replace: vec![] }
        );
    }

    #[test]
    fn newer_versions_replace_older_ones() {
        let cur = [current(7, "1.0-1", "old")];
        assert_eq!(
            decide("a", &v("1.0-2"), &d("new"), &cur, NONE),
            Decision::Insert { replace: vec![7] }
        );
        assert_eq!(
            decide("a", &v("1:0.1-1"), &d("new"), &cur, NONE),
            Decision::Insert { replace: vec![7] }
        );
    }

    #[test]
    fn identical_files_change_nothing() {
        let cur = [current(7, "1.0-1", "same")];
        assert_eq!(
            decide("a", &v("1.0-1"), &d("same"), &cur, NONE),
            Decision::Unchanged {
                package_id: 7,
                published: true
            }
        );
    }

    #[test]
    fn downgrades_need_permission() {
        let cur = [current(7, "2.0-1", "old")];
        let Decision::Refuse(reason) = decide("a", &v("1.0-1"), &d("new"), &cur, NONE) else {
            panic!("downgrade accepted");
        };
        assert!(
            reason.contains("older than the current a 2.0-1"),
            "{reason}"
        );
        let allowed = Permissions {
            allow_downgrade: true,
            ..NONE
        };
        assert_eq!(
            decide("a", &v("1.0-1"), &d("new"), &cur, allowed),
            Decision::Insert { replace: vec![7] }
        );
    }

    #[test]
    fn same_version_with_other_content_needs_overwrite() {
        let cur = [current(7, "1.0-1", "old")];
        let Decision::Refuse(reason) = decide("a", &v("1.0-1"), &d("new"), &cur, NONE) else {
            panic!("overwrite accepted");
        };
        assert!(reason.contains("overwrite=true"), "{reason}");
        let allowed = Permissions {
            overwrite: true,
            ..NONE
        };
        assert_eq!(
            decide("a", &v("1.0-1"), &d("new"), &cur, allowed),
            Decision::Insert { replace: vec![7] }
        );
    }
}
