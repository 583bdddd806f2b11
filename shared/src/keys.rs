//! API keys: what a key may do (scopes), the decision whether it may do something, and making
//! and recognising secrets. Pure functions; storage is `db::keys`.
//!
//! A secret is `rieter_` followed by 64 hex digits (32 bytes from the operating system's
//! CSPRNG). Only its SHA-256 digest is stored; a SHA-256 is enough for a secret of this
//! entropy (nobody can brute-force 256 random bits), unlike a password. The first
//! [`PREFIX_LEN`] characters are stored in clear to identify the key in listings and to find
//! its row, after which the digests are compared in constant time.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::names::{DistroName, NameError, RepoName};

const SECRET_MARK: &str = "rieter_";
const SECRET_BYTES: usize = 32;
/// Characters of the secret kept in clear: the mark and 8 hex digits (32 bits).
pub const PREFIX_LEN: usize = SECRET_MARK.len() + 8;

/// What a scope lets a key do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Everything, including managing keys and reading private distributions.
    Admin,
    /// Uploading packages.
    Publish,
    /// Removing packages, architectures, repositories (and, scoped to a distribution, it).
    Remove,
    /// Reading (downloading from, listing) a private distribution or one of its repositories.
    Read,
    /// Reading the api's metrics (`GET /metrics`), and nothing else: a scraper's key.
    Metrics,
    /// Managing the build targets of a distribution (or of one repository), and their builds.
    Build,
    /// Claiming, extending and finishing builds: a build agent's key, which does nothing else.
    Agent,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Publish => "publish",
            Self::Remove => "remove",
            Self::Read => "read",
            Self::Metrics => "metrics",
            Self::Build => "build",
            Self::Agent => "agent",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Self::Admin),
            "publish" => Some(Self::Publish),
            "remove" => Some(Self::Remove),
            "read" => Some(Self::Read),
            "metrics" => Some(Self::Metrics),
            "build" => Some(Self::Build),
            "agent" => Some(Self::Agent),
            _ => None,
        }
    }
}

/// Where a publish, remove or read scope applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Every repository of a distribution (and, for removal, the distribution itself).
    Distro(DistroName),
    /// One repository of a distribution.
    Repo(DistroName, RepoName),
}

impl Target {
    pub fn distro(&self) -> &DistroName {
        match self {
            Self::Distro(d) | Self::Repo(d, _) => d,
        }
    }

    pub fn repo(&self) -> Option<&RepoName> {
        match self {
            Self::Distro(_) => None,
            Self::Repo(_, r) => Some(r),
        }
    }
}

/// One thing a key may do. A key holds one or more.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Admin,
    /// Only reading the metrics; applies everywhere, like `admin`.
    Metrics,
    Publish(Target),
    Remove(Target),
    /// Only reading: never implies publishing or removing.
    Read(Target),
    /// Managing the build targets that publish to its target, and their builds.
    Build(Target),
    /// Running builds as an agent; applies everywhere, like `metrics`.
    Agent,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error(
        "unknown permission `{0}`; use `admin`, `publish`, `remove`, `read`, `metrics`, `build` \
         or `agent`"
    )]
    UnknownPermission(String),
    #[error("an `admin` scope applies everywhere; give it no distribution or repository")]
    AdminWithTarget,
    #[error("a `metrics` scope applies to the whole server; give it no distribution or repository")]
    MetricsWithTarget,
    #[error("an `agent` scope applies to the whole server; give it no distribution or repository")]
    AgentWithTarget,
    #[error("a `{0}` scope needs a distribution (and optionally a repository)")]
    MissingDistro(&'static str),
    #[error("a scope with a repository needs its distribution")]
    RepoWithoutDistro,
    #[error(transparent)]
    Name(#[from] NameError),
}

impl Scope {
    /// Builds a scope from its stored or submitted parts, checking they fit together.
    pub fn from_parts(
        permission: &str,
        distro: Option<&str>,
        repo: Option<&str>,
    ) -> Result<Self, ScopeError> {
        let permission = Permission::parse(permission)
            .ok_or_else(|| ScopeError::UnknownPermission(permission.to_owned()))?;
        let target = match (distro, repo) {
            (None, None) => None,
            (None, Some(_)) => return Err(ScopeError::RepoWithoutDistro),
            (Some(d), None) => Some(Target::Distro(DistroName::parse(d)?)),
            (Some(d), Some(r)) => Some(Target::Repo(DistroName::parse(d)?, RepoName::parse(r)?)),
        };
        match (permission, target) {
            (Permission::Admin, None) => Ok(Self::Admin),
            (Permission::Admin, Some(_)) => Err(ScopeError::AdminWithTarget),
            (Permission::Metrics, None) => Ok(Self::Metrics),
            (Permission::Metrics, Some(_)) => Err(ScopeError::MetricsWithTarget),
            (Permission::Agent, None) => Ok(Self::Agent),
            (Permission::Agent, Some(_)) => Err(ScopeError::AgentWithTarget),
            (p, None) => Err(ScopeError::MissingDistro(p.as_str())),
            (Permission::Publish, Some(t)) => Ok(Self::Publish(t)),
            (Permission::Remove, Some(t)) => Ok(Self::Remove(t)),
            (Permission::Read, Some(t)) => Ok(Self::Read(t)),
            (Permission::Build, Some(t)) => Ok(Self::Build(t)),
        }
    }

    pub fn permission(&self) -> Permission {
        match self {
            Self::Admin => Permission::Admin,
            Self::Metrics => Permission::Metrics,
            Self::Publish(_) => Permission::Publish,
            Self::Remove(_) => Permission::Remove,
            Self::Read(_) => Permission::Read,
            Self::Build(_) => Permission::Build,
            Self::Agent => Permission::Agent,
        }
    }

    pub fn target(&self) -> Option<&Target> {
        match self {
            Self::Admin | Self::Metrics | Self::Agent => None,
            Self::Publish(t) | Self::Remove(t) | Self::Read(t) | Self::Build(t) => Some(t),
        }
    }
}

/// Something a caller asks to do that a key must allow.
#[derive(Debug, Clone, Copy)]
pub enum Access<'a> {
    /// Upload to a repository.
    Publish {
        distro: &'a DistroName,
        repo: &'a RepoName,
    },
    /// Remove from (or remove) a repository; without a repository, the whole distribution.
    Remove {
        distro: &'a DistroName,
        repo: Option<&'a RepoName>,
    },
    /// Read a private distribution: one repository of it, or (without a repository) all of it.
    Read {
        distro: &'a str,
        repo: Option<&'a str>,
    },
    /// Create, list or delete keys.
    ManageKeys,
    /// Create, list, change or delete mirrors, and queue their syncs (admin only).
    ManageMirrors,
    /// Read the api's metrics (admin, or a `metrics` scope).
    ReadMetrics,
    /// Create, read, change or delete the build targets that publish to a repository, and
    /// queue, read and cancel their builds.
    ManageTargets {
        distro: &'a DistroName,
        repo: &'a RepoName,
    },
    /// Claim builds, extend their leases and finish them (an agent).
    RunBuilds,
    /// Change a distribution's settings: its signing key, its packager keys, whether its
    /// repositories sign packages (admin only).
    ConfigureDistro { distro: &'a DistroName },
}

/// Whether a key with `scopes` may do `access`.
///
/// A distribution scope covers all its repositories; a repository scope covers only that
/// repository, so it can never remove the whole distribution. A publish or remove scope lets
/// the key read all of its distribution (a key that may publish to a private repository may see
/// what it published); a read scope lets it read its target and nothing else, and allows
/// nothing but reading. Only `admin` may manage keys.
pub fn permits(scopes: &[Scope], access: Access<'_>) -> bool {
    scopes.iter().any(|scope| scope_permits(scope, access))
}

fn scope_permits(scope: &Scope, access: Access<'_>) -> bool {
    let covers = |target: &Target, distro: &DistroName, repo: Option<&RepoName>| match target {
        Target::Distro(d) => d == distro,
        Target::Repo(d, r) => d == distro && repo == Some(r),
    };
    match (scope, access) {
        (Scope::Admin, _) => true,
        (Scope::Metrics, Access::ReadMetrics) => true,
        (Scope::Agent, Access::RunBuilds) => true,
        (Scope::Build(t), Access::ManageTargets { distro, repo }) => covers(t, distro, Some(repo)),
        (Scope::Publish(t), Access::Publish { distro, repo }) => covers(t, distro, Some(repo)),
        (Scope::Remove(t), Access::Remove { distro, repo }) => covers(t, distro, repo),
        (Scope::Publish(t) | Scope::Remove(t) | Scope::Build(t), Access::Read { distro, .. }) => {
            t.distro().as_str() == distro
        }
        (Scope::Read(t), Access::Read { distro, repo }) => match t {
            Target::Distro(d) => d.as_str() == distro,
            Target::Repo(d, r) => d.as_str() == distro && repo == Some(r.as_str()),
        },
        _ => false,
    }
}

/// How much of a private distribution a key may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// All of it.
    All,
    /// Only these repositories (never empty).
    Repos(Vec<RepoName>),
    /// Nothing: it does not exist for this key.
    Nothing,
}

/// What of the private distribution `distro` a key with `scopes` may read.
pub fn visibility(scopes: &[Scope], distro: &str) -> Visibility {
    if permits(scopes, Access::Read { distro, repo: None }) {
        return Visibility::All;
    }
    let mut repos: Vec<RepoName> = scopes
        .iter()
        .filter_map(|scope| match scope {
            Scope::Read(Target::Repo(d, r)) if d.as_str() == distro => Some(r.clone()),
            _ => None,
        })
        .collect();
    repos.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    repos.dedup();
    if repos.is_empty() {
        Visibility::Nothing
    } else {
        Visibility::Repos(repos)
    }
}

/// A freshly made key secret. Shown to its owner once; never stored.
pub struct NewSecret {
    pub secret: String,
    pub prefix: String,
    pub digest: [u8; 32],
}

impl fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSecret")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Makes a secret from 32 bytes of the operating system's CSPRNG.
pub fn generate() -> Result<NewSecret, getrandom::Error> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes)?;
    let secret = format!("{SECRET_MARK}{}", hex::encode(bytes));
    Ok(NewSecret {
        prefix: secret[..PREFIX_LEN].to_owned(),
        digest: digest(&secret),
        secret,
    })
}

/// The stored prefix of a presented secret, or `None` when it cannot be one of our secrets
/// (such as the configured admin key).
pub fn prefix_of(presented: &str) -> Option<&str> {
    (presented.starts_with(SECRET_MARK) && presented.len() > PREFIX_LEN)
        .then(|| presented.get(..PREFIX_LEN))
        .flatten()
}

pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Compares two digests without an early exit, so timing does not reveal how much matched.
pub fn digests_match(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(name: &str) -> DistroName {
        DistroName::parse(name).unwrap()
    }

    fn r(name: &str) -> RepoName {
        RepoName::parse(name).unwrap()
    }

    fn scope(permission: &str, distro: Option<&str>, repo: Option<&str>) -> Scope {
        Scope::from_parts(permission, distro, repo).unwrap()
    }

    fn publish<'a>(distro: &'a DistroName, repo: &'a RepoName) -> Access<'a> {
        Access::Publish { distro, repo }
    }

    fn remove<'a>(distro: &'a DistroName, repo: Option<&'a RepoName>) -> Access<'a> {
        Access::Remove { distro, repo }
    }

    fn read<'a>(distro: &'a str, repo: Option<&'a str>) -> Access<'a> {
        Access::Read { distro, repo }
    }

    #[test]
    fn admin_may_do_everything() {
        let (arch, extra) = (d("arch"), r("extra"));
        let scopes = [Scope::Admin];
        assert!(permits(&scopes, publish(&arch, &extra)));
        assert!(permits(&scopes, remove(&arch, None)));
        assert!(permits(&scopes, read("arch", None)));
        assert!(permits(&scopes, Access::ManageKeys));
    }

    #[test]
    fn a_distribution_scope_covers_its_repositories_only() {
        let (arch, other, extra, core) = (d("arch"), d("other"), r("extra"), r("core"));
        let scopes = [scope("publish", Some("arch"), None)];
        assert!(permits(&scopes, publish(&arch, &extra)));
        assert!(permits(&scopes, publish(&arch, &core)));
        assert!(!permits(&scopes, publish(&other, &extra)));
        assert!(!permits(&scopes, remove(&arch, Some(&extra))));
        assert!(!permits(&scopes, Access::ManageKeys));
    }

    #[test]
    fn a_repository_scope_covers_that_repository_only() {
        let (arch, extra, core) = (d("arch"), r("extra"), r("core"));
        let scopes = [scope("publish", Some("arch"), Some("extra"))];
        assert!(permits(&scopes, publish(&arch, &extra)));
        assert!(!permits(&scopes, publish(&arch, &core)));

        let scopes = [scope("remove", Some("arch"), Some("extra"))];
        assert!(permits(&scopes, remove(&arch, Some(&extra))));
        assert!(!permits(&scopes, remove(&arch, Some(&core))));
        // Removing the distribution needs the whole distribution.
        assert!(!permits(&scopes, remove(&arch, None)));
        assert!(!permits(&scopes, publish(&arch, &extra)));
    }

    #[test]
    fn a_distribution_remove_scope_may_remove_the_distribution() {
        let arch = d("arch");
        assert!(permits(
            &[scope("remove", Some("arch"), None)],
            remove(&arch, None)
        ));
    }

    #[test]
    fn scopes_add_up() {
        let (arch, extra) = (d("arch"), r("extra"));
        let scopes = [
            scope("publish", Some("arch"), Some("extra")),
            scope("remove", Some("arch"), None),
        ];
        assert!(permits(&scopes, publish(&arch, &extra)));
        assert!(permits(&scopes, remove(&arch, None)));
        assert!(!permits(&[], publish(&arch, &extra)));
    }

    #[test]
    fn any_scope_on_a_distribution_may_read_it() {
        // Today's behaviour for publish and remove keys: the whole distribution, whatever
        // repository they are scoped to.
        let scopes = [scope("publish", Some("secret"), Some("main"))];
        assert!(permits(&scopes, read("secret", None)));
        assert!(permits(&scopes, read("secret", Some("other"))));
        assert!(!permits(&scopes, read("other", None)));
        let scopes = [scope("remove", Some("secret"), None)];
        assert!(permits(&scopes, read("secret", Some("main"))));
        assert_eq!(visibility(&scopes, "secret"), Visibility::All);
    }

    #[test]
    fn a_distribution_read_scope_reads_all_of_it_and_nothing_else() {
        let scopes = [scope("read", Some("secret"), None)];
        assert!(permits(&scopes, read("secret", None)));
        assert!(permits(&scopes, read("secret", Some("main"))));
        assert!(!permits(&scopes, read("other", None)));
        assert!(!permits(&scopes, read("other", Some("main"))));
        assert_eq!(visibility(&scopes, "secret"), Visibility::All);
        assert_eq!(visibility(&scopes, "other"), Visibility::Nothing);
    }

    #[test]
    fn a_read_scope_never_publishes_removes_or_manages_keys() {
        let (secret, main) = (d("secret"), r("main"));
        for scopes in [
            [scope("read", Some("secret"), None)],
            [scope("read", Some("secret"), Some("main"))],
        ] {
            assert!(!permits(&scopes, publish(&secret, &main)));
            assert!(!permits(&scopes, remove(&secret, Some(&main))));
            assert!(!permits(&scopes, remove(&secret, None)));
            assert!(!permits(&scopes, Access::ManageKeys));
        }
    }

    #[test]
    fn a_repository_read_scope_reads_that_repository_only() {
        let scopes = [scope("read", Some("secret"), Some("main"))];
        assert!(permits(&scopes, read("secret", Some("main"))));
        assert!(!permits(&scopes, read("secret", Some("testing"))));
        // Not the distribution as a whole: its other repositories stay hidden.
        assert!(!permits(&scopes, read("secret", None)));
        assert!(!permits(&scopes, read("other", Some("main"))));
        assert_eq!(
            visibility(&scopes, "secret"),
            Visibility::Repos(vec![r("main")])
        );
        assert_eq!(visibility(&scopes, "other"), Visibility::Nothing);
    }

    #[test]
    fn read_scopes_add_up() {
        let scopes = [
            scope("read", Some("secret"), Some("testing")),
            scope("read", Some("secret"), Some("main")),
            scope("read", Some("secret"), Some("main")),
        ];
        assert_eq!(
            visibility(&scopes, "secret"),
            Visibility::Repos(vec![r("main"), r("testing")])
        );
        let scopes = [
            scope("read", Some("secret"), Some("main")),
            scope("read", Some("secret"), None),
        ];
        assert_eq!(visibility(&scopes, "secret"), Visibility::All);
    }

    #[test]
    fn inconsistent_scopes_are_refused() {
        assert_eq!(
            Scope::from_parts("admin", Some("arch"), None),
            Err(ScopeError::AdminWithTarget)
        );
        assert_eq!(
            Scope::from_parts("publish", None, None),
            Err(ScopeError::MissingDistro("publish"))
        );
        assert_eq!(
            Scope::from_parts("remove", None, Some("extra")),
            Err(ScopeError::RepoWithoutDistro)
        );
        assert_eq!(
            Scope::from_parts("read", None, None),
            Err(ScopeError::MissingDistro("read"))
        );
        assert!(matches!(
            Scope::from_parts("write", Some("arch"), None),
            Err(ScopeError::UnknownPermission(_))
        ));
        assert!(matches!(
            Scope::from_parts("publish", Some("../x"), None),
            Err(ScopeError::Name(_))
        ));
    }

    #[test]
    fn secrets_are_random_and_recognised_by_their_prefix() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.secret.len(), SECRET_MARK.len() + 64);
        assert_eq!(prefix_of(&a.secret), Some(a.prefix.as_str()));
        assert_eq!(a.digest, digest(&a.secret));
        assert!(!format!("{a:?}").contains(&a.secret));
        assert_eq!(prefix_of("an-admin-key-from-the-config"), None);
        assert_eq!(prefix_of("rieter_abc"), None);
    }

    #[test]
    fn digests_compare_exactly() {
        let a = digest("correct horse battery staple");
        let b = digest("correct horse battery stapler");
        assert!(digests_match(&a, &a.clone()));
        assert!(!digests_match(&a, &b));
        assert!(!digests_match(&a, &a[..31]));
    }

    #[test]
    fn a_build_scope_manages_the_targets_of_its_target_and_reads_its_distribution() {
        let (arch, other) = (d("arch"), d("other"));
        let (extra, core) = (
            RepoName::parse("extra").unwrap(),
            RepoName::parse("core").unwrap(),
        );
        let distro_wide = Scope::from_parts("build", Some("arch"), None).unwrap();
        let one_repo = Scope::from_parts("build", Some("arch"), Some("extra")).unwrap();
        assert_eq!(one_repo.permission().as_str(), "build");
        assert_eq!(
            Scope::from_parts("build", None, None),
            Err(ScopeError::MissingDistro("build"))
        );
        let manage = |distro, repo| Access::ManageTargets { distro, repo };
        let (distro_wide, one_repo) = ([distro_wide], [one_repo]);
        assert!(permits(&distro_wide, manage(&arch, &core)));
        assert!(permits(&one_repo, manage(&arch, &extra)));
        assert!(!permits(&one_repo, manage(&arch, &core)));
        assert!(!permits(&distro_wide, manage(&other, &core)));
        assert!(permits(&[Scope::Admin], manage(&other, &core)));
        let read = Access::Read {
            distro: "arch",
            repo: None,
        };
        assert!(permits(&one_repo, read));
        // It publishes nothing itself: the build's uploads are the agent's.
        assert!(!permits(
            &distro_wide,
            Access::Publish {
                distro: &arch,
                repo: &extra
            }
        ));
        assert!(!permits(&one_repo, Access::ManageKeys));
        assert!(!permits(&one_repo, Access::RunBuilds));
    }

    #[test]
    fn an_agent_scope_runs_builds_and_nothing_else() {
        let scope = Scope::from_parts("agent", None, None).unwrap();
        assert_eq!(scope, Scope::Agent);
        assert_eq!(
            Scope::from_parts("agent", Some("arch"), None),
            Err(ScopeError::AgentWithTarget)
        );
        let scopes = [Scope::Agent];
        assert!(permits(&scopes, Access::RunBuilds));
        let arch = DistroName::parse("arch").unwrap();
        let extra = RepoName::parse("extra").unwrap();
        assert!(!permits(
            &scopes,
            Access::Publish {
                distro: &arch,
                repo: &extra
            }
        ));
        assert!(!permits(
            &scopes,
            Access::ManageTargets {
                distro: &arch,
                repo: &extra
            }
        ));
        assert!(!permits(
            &scopes,
            Access::Read {
                distro: "arch",
                repo: None
            }
        ));
        assert!(!permits(&scopes, Access::ReadMetrics));
    }

    #[test]
    fn a_metrics_scope_reads_the_metrics_and_nothing_else() {
        let scope = Scope::from_parts("metrics", None, None).unwrap();
        assert_eq!(scope, Scope::Metrics);
        assert_eq!(scope.permission().as_str(), "metrics");
        assert_eq!(
            Scope::from_parts("metrics", Some("arch"), None),
            Err(ScopeError::MetricsWithTarget)
        );
        let scopes = [Scope::Metrics];
        assert!(permits(&scopes, Access::ReadMetrics));
        assert!(!permits(&scopes, Access::ManageKeys));
        assert!(!permits(&scopes, Access::ManageMirrors));
        let arch = DistroName::parse("arch").unwrap();
        assert!(!permits(
            &scopes,
            Access::Read {
                distro: "arch",
                repo: None
            }
        ));
        assert!(!permits(
            &scopes,
            Access::Remove {
                distro: &arch,
                repo: None
            }
        ));
        // Admin reads them too; a publish key does not.
        assert!(permits(&[Scope::Admin], Access::ReadMetrics));
        let publish = Scope::from_parts("publish", Some("arch"), None).unwrap();
        assert!(!permits(&[publish], Access::ReadMetrics));
    }
}
