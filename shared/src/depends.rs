//! Dependency strings as pacman writes them (`name`, `name>=1.0`, optdepends' `name: why`,
//! provides' `name=1.0`) and which package satisfies one, by libalpm's rules
//! (`_alpm_depcmp`): the package itself when its name matches and its version fits, or a
//! package that provides the name, where a versioned dependency needs a versioned provide.

use std::cmp::Ordering;

use crate::version::vercmp;

/// A version comparison in a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Op {
    fn admits(self, ordering: Ordering) -> bool {
        match self {
            Self::Lt => ordering == Ordering::Less,
            Self::Le => ordering != Ordering::Greater,
            Self::Eq => ordering == Ordering::Equal,
            Self::Ge => ordering != Ordering::Less,
            Self::Gt => ordering == Ordering::Greater,
        }
    }
}

/// One parsed dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency<'a> {
    pub name: &'a str,
    /// The version it requires, if any.
    pub constraint: Option<(Op, &'a str)>,
    /// An optional dependency's reason (the text after `: `).
    pub reason: Option<&'a str>,
}

impl<'a> Dependency<'a> {
    pub fn parse(text: &'a str) -> Self {
        let (spec, reason) = match text.split_once(": ") {
            Some((spec, reason)) => (spec, Some(reason.trim())),
            None => (text, None),
        };
        let spec = spec.trim();
        let Some(at) = spec.find(['<', '>', '=']) else {
            return Self {
                name: spec,
                constraint: None,
                reason,
            };
        };
        let (name, rest) = spec.split_at(at);
        let (op, version) = if let Some(v) = rest.strip_prefix(">=") {
            (Op::Ge, v)
        } else if let Some(v) = rest.strip_prefix("<=") {
            (Op::Le, v)
        } else if let Some(v) = rest.strip_prefix('>') {
            (Op::Gt, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Op::Lt, v)
        } else {
            (Op::Eq, &rest[1..])
        };
        Self {
            name,
            constraint: Some((op, version)),
            reason,
        }
    }

    fn admits_version(&self, version: &str) -> bool {
        match self.constraint {
            None => true,
            Some((op, wanted)) => op.admits(vercmp(version, wanted)),
        }
    }

    /// Whether `candidate` satisfies this dependency, and how.
    pub fn satisfied_by(&self, candidate: &Candidate) -> Option<Via> {
        if candidate.name == self.name && self.admits_version(&candidate.version) {
            return Some(Via::Name);
        }
        candidate.provides.iter().find_map(|provide| {
            let provided = Dependency::parse(provide);
            if provided.name != self.name {
                return None;
            }
            let fits = match (self.constraint, provided.constraint) {
                (None, _) => true,
                // A versioned dependency needs a versioned provide (`name=version`).
                (Some(_), Some((Op::Eq, version))) => self.admits_version(version),
                (Some(_), _) => false,
            };
            fits.then(|| Via::Provides(provide.clone()))
        })
    }
}

/// A package that might satisfy a dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub arch: String,
    pub version: String,
    pub provides: Vec<String>,
}

/// How a candidate satisfies a dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// It is the package named.
    Name,
    /// Through this entry of its `provides`.
    Provides(String),
}

/// The candidate that satisfies `dependency`: one of that name first (as pacman prefers),
/// else the first provider in `candidates`' order.
pub fn resolve<'c>(dependency: &str, candidates: &'c [Candidate]) -> Option<(&'c Candidate, Via)> {
    let dependency = Dependency::parse(dependency);
    let by_name = candidates
        .iter()
        .filter(|c| c.name == dependency.name)
        .find_map(|c| dependency.satisfied_by(c).map(|via| (c, via)));
    by_name.or_else(|| {
        candidates
            .iter()
            .find_map(|c| dependency.satisfied_by(c).map(|via| (c, via)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, version: &str, provides: &[&str]) -> Candidate {
        Candidate {
            name: name.to_owned(),
            arch: "x86_64".to_owned(),
            version: version.to_owned(),
            provides: provides.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn parses_each_form() {
        let plain = Dependency::parse("glibc");
        assert_eq!(
            (plain.name, plain.constraint, plain.reason),
            ("glibc", None, None)
        );
        let versioned = Dependency::parse("glibc>=2.38");
        assert_eq!(versioned.name, "glibc");
        assert_eq!(versioned.constraint, Some((Op::Ge, "2.38")));
        assert_eq!(Dependency::parse("a<=1").constraint, Some((Op::Le, "1")));
        assert_eq!(Dependency::parse("a<1").constraint, Some((Op::Lt, "1")));
        assert_eq!(Dependency::parse("a>1").constraint, Some((Op::Gt, "1")));
        assert_eq!(
            Dependency::parse("a=1:2-3").constraint,
            Some((Op::Eq, "1:2-3"))
        );
        let optional = Dependency::parse("python-foo>=2: for the foo plugin");
        assert_eq!(optional.name, "python-foo");
        assert_eq!(optional.constraint, Some((Op::Ge, "2")));
        assert_eq!(optional.reason, Some("for the foo plugin"));
    }

    #[test]
    fn a_package_satisfies_its_name_within_the_constraint() {
        let lib = pkg("libfoo", "1.5-1", &[]);
        assert_eq!(
            resolve("libfoo", std::slice::from_ref(&lib)).map(|r| r.1),
            Some(Via::Name)
        );
        assert!(resolve("libfoo>=1.2", std::slice::from_ref(&lib)).is_some());
        assert!(resolve("libfoo>=2", std::slice::from_ref(&lib)).is_none());
        assert!(resolve("libfoo<1.5", std::slice::from_ref(&lib)).is_none());
        assert!(resolve("libfoo=1.5", std::slice::from_ref(&lib)).is_some());
        assert!(resolve("libbar", &[lib]).is_none());
    }

    #[test]
    fn provides_satisfy_by_the_rules_of_pacman() {
        let unversioned = pkg("foo-git", "9-1", &["foo"]);
        let versioned = pkg("foo-ng", "1-1", &["foo=3.0", "libfoo.so=3-64"]);
        assert_eq!(
            resolve("foo", std::slice::from_ref(&unversioned)).map(|r| r.1),
            Some(Via::Provides("foo".to_owned()))
        );
        // An unversioned provide does not satisfy a versioned dependency.
        assert!(resolve("foo>=1", std::slice::from_ref(&unversioned)).is_none());
        let both = [unversioned, versioned.clone()];
        let found = resolve("foo>=2", &both).unwrap();
        assert_eq!(found.0.name, "foo-ng");
        assert_eq!(found.1, Via::Provides("foo=3.0".to_owned()));
        assert!(resolve("foo>3.0", std::slice::from_ref(&versioned)).is_none());
        assert!(resolve("libfoo.so=3-64", &[versioned]).is_some());
    }

    #[test]
    fn the_named_package_wins_over_providers() {
        let provider = pkg("aaa-foo", "1-1", &["foo"]);
        let real = pkg("foo", "1-1", &[]);
        let candidates = [provider, real];
        let found = resolve("foo", &candidates).unwrap();
        assert_eq!((found.0.name.as_str(), found.1), ("foo", Via::Name));
    }
}
