//! A build target, validated: what to fetch (a git repository at a branch and path, or one
//! PKGBUILD by URL), where its packages are published, for which architectures, and when.

use std::time::Duration;

use crate::names::{ArchName, DistroName, RepoName};

use super::{Schedule, ScheduleError};

/// Why a target was refused. The messages are for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error(
        "a target's name is 1 to {MAX_NAME_LEN} letters, digits, `_`, `-`, `.`, `+` or `@`, not \
         starting with `.` or `-`"
    )]
    Name,
    #[error("unknown kind `{0}`; use `git` or `url`")]
    Kind(String),
    #[error("{0}")]
    Url(String),
    #[error(
        "a branch is a git ref name: no spaces, `..`, `~`, `^`, `:`, `\\`, and not starting with `-`"
    )]
    Branch,
    #[error("only a `git` target has a branch or a path")]
    GitOnly,
    #[error("path is a relative directory inside the repository, without `..`")]
    Path,
    #[error("a target needs at least one architecture")]
    NoArches,
    #[error("a target may have at most {MAX_ARCHES} architectures")]
    TooManyArches,
    #[error(
        "`any` is not an architecture to build on: an `any` package is built on one of the real ones"
    )]
    AnyArch,
    #[error("the architecture {0} is listed twice")]
    DuplicateArch(String),
    #[error("timeout_secs must be between {MIN_TIMEOUT_SECS} and {MAX_TIMEOUT_SECS}")]
    Timeout,
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
}

pub const MAX_NAME_LEN: usize = 100;
pub const MAX_ARCHES: usize = 16;
pub const MAX_URL_LEN: usize = 2048;
pub const MIN_TIMEOUT_SECS: u32 = 60;
pub const MAX_TIMEOUT_SECS: u32 = 2 * 24 * 3600;
pub const DEFAULT_TIMEOUT_SECS: u32 = 3600;

/// A target's unique name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetName(String);

impl TargetName {
    pub fn parse(name: &str) -> Result<Self, SpecError> {
        let ok = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && !name.starts_with(['.', '-'])
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.+@".contains(&b));
        ok.then(|| Self(name.to_owned())).ok_or(SpecError::Name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a target's PKGBUILD comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A git repository, cloned at `branch`, the PKGBUILD in `path`.
    Git,
    /// One PKGBUILD file, downloaded.
    Url,
}

impl Kind {
    pub fn parse(kind: &str) -> Result<Self, SpecError> {
        match kind {
            "git" => Ok(Self::Git),
            "url" => Ok(Self::Url),
            other => Err(SpecError::Kind(other.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Git => "git",
            Self::Url => "url",
        }
    }
}

/// A target's settings as sent, before validation.
#[derive(Debug, Clone)]
pub struct TargetInput {
    pub name: String,
    pub kind: String,
    pub url: String,
    pub branch: Option<String>,
    pub path: Option<String>,
    pub distro: String,
    pub repo: String,
    pub arches: Vec<String>,
    pub schedule: Option<String>,
    pub timeout_secs: Option<u32>,
}

/// A validated target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    pub name: TargetName,
    pub kind: Kind,
    pub url: String,
    pub branch: Option<String>,
    pub path: Option<String>,
    pub distro: DistroName,
    pub repo: RepoName,
    pub arches: Vec<ArchName>,
    pub schedule: Option<Schedule>,
    pub timeout: Duration,
}

/// Why a name of the target was refused.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Name(#[from] crate::names::NameError),
}

impl TargetSpec {
    pub fn validate(input: TargetInput) -> Result<Self, InputError> {
        let kind = Kind::parse(&input.kind)?;
        let url = source_url(kind, &input.url)?;
        if kind == Kind::Url && (input.branch.is_some() || input.path.is_some()) {
            return Err(SpecError::GitOnly.into());
        }
        let branch = input
            .branch
            .filter(|b| !b.is_empty())
            .map(branch)
            .transpose()?;
        let path = input.path.filter(|p| !p.is_empty()).map(path).transpose()?;
        let timeout_secs = input.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
        if !(MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS).contains(&timeout_secs) {
            return Err(SpecError::Timeout.into());
        }
        Ok(Self {
            name: TargetName::parse(&input.name)?,
            kind,
            url,
            branch,
            path,
            distro: DistroName::parse(&input.distro)?,
            repo: RepoName::parse(&input.repo)?,
            arches: arches(&input.arches)?,
            schedule: input
                .schedule
                .as_deref()
                .map(Schedule::parse)
                .transpose()
                .map_err(SpecError::from)?,
            timeout: Duration::from_secs(timeout_secs.into()),
        })
    }
}

/// A change to a target: each field present replaces the stored one; `Some(None)` clears an
/// optional one (`{"schedule": null}` removes the schedule).
#[derive(Debug, Clone, Default)]
pub struct TargetChange {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub url: Option<String>,
    pub branch: Option<Option<String>>,
    pub path: Option<Option<String>>,
    pub distro: Option<String>,
    pub repo: Option<String>,
    pub arches: Option<Vec<String>>,
    pub schedule: Option<Option<String>>,
    pub timeout_secs: Option<u32>,
}

impl TargetSpec {
    /// The settings as they would be sent.
    pub fn to_input(&self) -> TargetInput {
        TargetInput {
            name: self.name.as_str().to_owned(),
            kind: self.kind.as_str().to_owned(),
            url: self.url.clone(),
            branch: self.branch.clone(),
            path: self.path.clone(),
            distro: self.distro.as_str().to_owned(),
            repo: self.repo.as_str().to_owned(),
            arches: self.arches.iter().map(|a| a.as_str().to_owned()).collect(),
            schedule: self.schedule.as_ref().map(|s| s.as_str().to_owned()),
            timeout_secs: Some(self.timeout.as_secs() as u32),
        }
    }

    /// This target with `change` applied, validated whole.
    pub fn changed(&self, change: TargetChange) -> Result<Self, InputError> {
        let current = self.to_input();
        Self::validate(TargetInput {
            name: change.name.unwrap_or(current.name),
            kind: change.kind.unwrap_or(current.kind),
            url: change.url.unwrap_or(current.url),
            branch: change.branch.unwrap_or(current.branch),
            path: change.path.unwrap_or(current.path),
            distro: change.distro.unwrap_or(current.distro),
            repo: change.repo.unwrap_or(current.repo),
            arches: change.arches.unwrap_or(current.arches),
            schedule: change.schedule.unwrap_or(current.schedule),
            timeout_secs: change.timeout_secs.or(current.timeout_secs),
        })
    }
}

/// `http(s)` for a PKGBUILD; also `git://` and `ssh://` for a repository. No credentials in
/// the URL: targets are listed to everyone who may manage them.
fn source_url(kind: Kind, url: &str) -> Result<String, SpecError> {
    let schemes: &[&str] = match kind {
        Kind::Git => &["https://", "http://", "git://", "ssh://"],
        Kind::Url => &["https://", "http://"],
    };
    let Some(rest) = schemes.iter().find_map(|s| url.strip_prefix(s)) else {
        return Err(SpecError::Url(format!(
            "a `{}` target's url starts with {}",
            kind.as_str(),
            schemes.join(", ")
        )));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if url.len() > MAX_URL_LEN
        || authority.is_empty()
        || url.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(SpecError::Url(format!("`{url}` is not a usable URL")));
    }
    if authority.contains('@') && !url.starts_with("ssh://") {
        return Err(SpecError::Url(
            "the url may not carry credentials: targets are shown to everyone who manages them"
                .to_owned(),
        ));
    }
    Ok(url.to_owned())
}

fn branch(branch: String) -> Result<String, SpecError> {
    let ok = branch.len() <= 255
        && !branch.starts_with(['-', '/'])
        && !branch.ends_with(['/', '.'])
        && !branch.contains("..")
        && !branch.contains("@{")
        && !branch
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c));
    ok.then_some(branch).ok_or(SpecError::Branch)
}

fn path(path: String) -> Result<String, SpecError> {
    let trimmed = path.trim_end_matches('/').to_owned();
    let ok = trimmed.len() <= 1024
        && !trimmed.starts_with('/')
        && !trimmed.chars().any(char::is_control)
        && trimmed
            .split('/')
            .all(|part| !part.is_empty() && part != ".." && part != ".");
    ok.then_some(trimmed).ok_or(SpecError::Path)
}

fn arches(given: &[String]) -> Result<Vec<ArchName>, InputError> {
    if given.is_empty() {
        return Err(SpecError::NoArches.into());
    }
    if given.len() > MAX_ARCHES {
        return Err(SpecError::TooManyArches.into());
    }
    let mut arches: Vec<ArchName> = Vec::with_capacity(given.len());
    for arch in given {
        let arch = ArchName::parse(arch)?;
        if arch.is_any() {
            return Err(SpecError::AnyArch.into());
        }
        if arches.contains(&arch) {
            return Err(SpecError::DuplicateArch(arch.as_str().to_owned()).into());
        }
        arches.push(arch);
    }
    Ok(arches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> TargetInput {
        TargetInput {
            name: "hello".into(),
            kind: "git".into(),
            url: "https://git.example.org/pkgs.git".into(),
            branch: Some("main".into()),
            path: Some("hello/".into()),
            distro: "arch".into(),
            repo: "acme".into(),
            arches: vec!["x86_64".into(), "aarch64".into()],
            schedule: Some("0 3 * * *".into()),
            timeout_secs: None,
        }
    }

    fn refused(edit: impl FnOnce(&mut TargetInput)) -> String {
        let mut i = input();
        edit(&mut i);
        TargetSpec::validate(i).unwrap_err().to_string()
    }

    #[test]
    fn a_git_target_is_validated_whole() {
        let spec = TargetSpec::validate(input()).unwrap();
        assert_eq!(spec.kind, Kind::Git);
        assert_eq!(spec.path.as_deref(), Some("hello"));
        assert_eq!(spec.arches.len(), 2);
        assert_eq!(spec.schedule.unwrap().as_str(), "0 3 * * *");
        assert_eq!(spec.timeout, Duration::from_secs(3600));
    }

    #[test]
    fn bad_fields_are_refused_with_their_reason() {
        assert!(refused(|i| i.kind = "svn".into()).contains("unknown kind `svn`"));
        assert!(refused(|i| i.url = "file:///etc".into()).contains("starts with"));
        assert!(refused(|i| i.url = "https://user:pw@host/x.git".into()).contains("credentials"));
        assert!(refused(|i| i.branch = Some("-x".into())).contains("branch"));
        assert!(refused(|i| i.branch = Some("a..b".into())).contains("branch"));
        assert!(refused(|i| i.path = Some("../up".into())).contains("without `..`"));
        assert!(refused(|i| i.path = Some("/abs".into())).contains("relative"));
        assert!(refused(|i| i.arches = vec![]).contains("at least one"));
        assert!(refused(|i| i.arches = vec!["any".into()]).contains("`any`"));
        assert!(refused(|i| i.arches = vec!["x86_64".into(), "x86_64".into()]).contains("twice"));
        assert!(refused(|i| i.schedule = Some("nightly".into())).contains("five fields"));
        assert!(refused(|i| i.timeout_secs = Some(5)).contains("timeout_secs"));
        assert!(refused(|i| i.name = "-x".into()).contains("target's name"));
        assert!(refused(|i| i.distro = "api".into()).contains("api"));
        assert!(
            refused(|i| {
                i.kind = "url".into();
                i.url = "https://example.org/PKGBUILD".into();
            })
            .contains("only a `git` target")
        );
    }

    #[test]
    fn a_change_replaces_what_it_names_and_null_clears() {
        let spec = TargetSpec::validate(input()).unwrap();
        let changed = spec
            .changed(TargetChange {
                schedule: Some(None),
                arches: Some(vec!["x86_64".into()]),
                ..TargetChange::default()
            })
            .unwrap();
        assert_eq!(changed.schedule, None);
        assert_eq!(changed.arches.len(), 1);
        assert_eq!(changed.url, spec.url);
        assert_eq!(spec.changed(TargetChange::default()).unwrap(), spec);
        let refused = spec.changed(TargetChange {
            kind: Some("url".into()),
            ..TargetChange::default()
        });
        assert!(
            refused
                .unwrap_err()
                .to_string()
                .contains("only a `git` target")
        );
    }

    #[test]
    fn a_url_target_has_no_branch_or_path() {
        let mut i = input();
        i.kind = "url".into();
        i.url = "https://example.org/PKGBUILD".into();
        i.branch = None;
        i.path = None;
        i.schedule = None;
        let spec = TargetSpec::validate(i).unwrap();
        assert_eq!(
            (spec.kind, spec.branch, spec.schedule),
            (Kind::Url, None, None)
        );
    }
}
