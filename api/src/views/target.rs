use chrono::{DateTime, Utc};
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Enum, Object};
use rieter::build::{Kind, TargetChange, TargetInput};
use rieter::db::targets::TargetRecord;

use crate::pagination::page_of;

/// Where a target's PKGBUILD comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "TargetKind", rename_all = "lowercase")]
pub enum KindView {
    /// A git repository, cloned at `branch`, with the PKGBUILD in `path`.
    Git,
    /// One PKGBUILD, downloaded from `url`.
    Url,
}

impl KindView {
    fn as_str(self) -> &'static str {
        match self {
            Self::Git => "git",
            Self::Url => "url",
        }
    }
}

/// A new build target: what to build, where its packages are published, for which
/// architectures and when.
#[derive(Debug, Object)]
pub struct NewTarget {
    /// A unique name: letters, digits, `_`, `-`, `.`, `+`, `@` (at most 100).
    pub name: String,
    pub kind: KindView,
    /// `https://`, `http://` (and for `git`, `git://` or `ssh://`); no credentials.
    pub url: String,
    /// The git branch to build (the repository's default when left out).
    pub branch: Option<String>,
    /// The PKGBUILD's directory inside the git repository (its root when left out).
    pub path: Option<String>,
    /// The distribution the packages are published to.
    pub distro: String,
    /// The repository the packages are published to (created on first publish).
    pub repo: String,
    /// The architectures to build for (not `any`).
    pub arches: Vec<String>,
    /// When to build, as a five-field cron expression in UTC, e.g. `0 3 * * *`.
    pub schedule: Option<String>,
    /// How long a build may take (60 to 172800 seconds, default 3600).
    pub timeout_secs: Option<u32>,
}

impl From<NewTarget> for TargetInput {
    fn from(t: NewTarget) -> Self {
        Self {
            name: t.name,
            kind: t.kind.as_str().to_owned(),
            url: t.url,
            branch: t.branch,
            path: t.path,
            distro: t.distro,
            repo: t.repo,
            arches: t.arches,
            schedule: t.schedule,
            timeout_secs: t.timeout_secs,
        }
    }
}

/// Changes to a target; fields left out keep their value, and `null` clears an optional one
/// (`{"schedule": null}` removes the schedule).
#[derive(Debug, Object)]
pub struct TargetChangeView {
    pub name: Option<String>,
    pub kind: Option<KindView>,
    pub url: Option<String>,
    pub branch: MaybeUndefined<String>,
    pub path: MaybeUndefined<String>,
    pub distro: Option<String>,
    pub repo: Option<String>,
    pub arches: Option<Vec<String>>,
    pub schedule: MaybeUndefined<String>,
    pub timeout_secs: Option<u32>,
}

fn optional(value: MaybeUndefined<String>) -> Option<Option<String>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

impl From<TargetChangeView> for TargetChange {
    fn from(c: TargetChangeView) -> Self {
        Self {
            name: c.name,
            kind: c.kind.map(|k| k.as_str().to_owned()),
            url: c.url,
            branch: optional(c.branch),
            path: optional(c.path),
            distro: c.distro,
            repo: c.repo,
            arches: c.arches,
            schedule: optional(c.schedule),
            timeout_secs: c.timeout_secs,
        }
    }
}

/// A build target.
#[derive(Debug, Object)]
#[oai(rename = "Target")]
pub struct TargetView {
    pub id: i64,
    pub name: String,
    pub kind: KindView,
    pub url: String,
    pub branch: Option<String>,
    pub path: Option<String>,
    pub distro: String,
    pub repo: String,
    pub arches: Vec<String>,
    pub schedule: Option<String>,
    /// When the schedule next comes due (UTC); null without a schedule.
    pub next_run_at: Option<DateTime<Utc>>,
    pub timeout_secs: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<TargetRecord> for TargetView {
    fn from(t: TargetRecord) -> Self {
        let spec = t.spec;
        Self {
            id: t.id,
            name: spec.name.as_str().to_owned(),
            kind: match spec.kind {
                Kind::Git => KindView::Git,
                Kind::Url => KindView::Url,
            },
            url: spec.url,
            branch: spec.branch,
            path: spec.path,
            distro: spec.distro.as_str().to_owned(),
            repo: spec.repo.as_str().to_owned(),
            arches: spec.arches.iter().map(|a| a.as_str().to_owned()).collect(),
            schedule: spec.schedule.map(|s| s.as_str().to_owned()),
            next_run_at: t.next_run_at,
            timeout_secs: spec.timeout.as_secs(),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

page_of!(
    /// A page of build targets, by name.
    TargetPage,
    TargetView
);
