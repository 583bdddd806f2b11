use chrono::{DateTime, Utc};
use poem_openapi::Object;
use rieter::db::listing::distros::{Distro, Repo, RepoArch};

use crate::pagination::page_of;

/// A distribution: the first segment of its repositories' URLs.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Distro")]
pub struct DistroView {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub repo_count: i64,
    pub package_count: i64,
}

impl From<Distro> for DistroView {
    fn from(d: Distro) -> Self {
        Self {
            name: d.name,
            created_at: d.created_at,
            repo_count: d.repo_count,
            package_count: d.package_count,
        }
    }
}

/// A repository of a distribution.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Repo")]
pub struct RepoView {
    pub distro: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Packages in the repository (each `any` package counted once).
    pub package_count: i64,
    /// The architectures it publishes databases for.
    pub arches: Vec<String>,
}

impl From<Repo> for RepoView {
    fn from(r: Repo) -> Self {
        Self {
            distro: r.distro,
            name: r.name,
            created_at: r.created_at,
            package_count: r.package_count,
            arches: r.arches,
        }
    }
}

/// One architecture's database of a repository.
#[derive(Debug, Clone, Object)]
#[oai(rename = "RepoArch")]
pub struct RepoArchView {
    pub arch: String,
    /// Packages its live database lists: the architecture's own and the `any` ones (0 before
    /// its first publish; a change not yet published is counted once it is).
    pub package_count: i64,
    /// When its database was last published; null before the first build.
    #[oai(nullable)]
    pub published_at: Option<DateTime<Utc>>,
    /// How many times its database has been built.
    pub build_count: i64,
    /// A change waits for the next build.
    pub pending: bool,
    /// Path of its database file, e.g. `/arch/extra/x86_64/extra.db`.
    pub db_path: String,
}

impl RepoArchView {
    pub fn new(distro: &str, repo: &str, a: RepoArch) -> Self {
        Self {
            db_path: format!("/{distro}/{repo}/{}/{repo}.db", a.arch),
            arch: a.arch,
            package_count: a.package_count,
            published_at: a.published_at,
            build_count: a.build_count,
            pending: a.pending,
        }
    }
}

/// A repository with its architectures.
#[derive(Debug, Clone, Object)]
#[oai(rename = "RepoDetail")]
pub struct RepoDetailView {
    pub distro: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub package_count: i64,
    pub arches: Vec<RepoArchView>,
}

page_of!(
    /// A page of distributions, by name.
    DistroPage,
    DistroView
);
page_of!(
    /// A page of repositories, by name.
    RepoPage,
    RepoView
);
