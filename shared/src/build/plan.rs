//! What a build does once its agent has fetched the target and read its `.SRCINFO` (after
//! `pkgver()`): **wait** while another target of the repository that provides something it
//! depends on is queued or running (the build goes back to the queue, at its place, and is
//! not claimed again until that one ends); **skip** when every package's full version
//! (`epoch:pkgver-pkgrel`) is already in the repository, unless forced; else **build**.
//! The agent reports; the decision, and the dependency facts kept on the target for the
//! claims to come, are the server's.

use sqlx::PgPool;
use uuid::Uuid;

use super::queue::{QueueError, Status};
use crate::db::{builds, targets};
use crate::depends::Dependency;
use crate::names::PackageName;
use crate::version::{Version, vercmp};

/// The most packages, and dependency names, one report may list.
pub const MAX_PACKAGES: usize = 256;
pub const MAX_NAMES: usize = 4096;

/// What a target's `.SRCINFO` says, as an agent reports it.
#[derive(Debug, Clone)]
pub struct Report {
    /// Every package it builds (`pkgname`), with its full version.
    pub packages: Vec<(PackageName, Version)>,
    /// What its packages need to build and run (`depends`, `makedepends`, `checkdepends`).
    pub depends: Vec<String>,
    /// What its packages provide besides their names (`provides`).
    pub provides: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("a build makes at least one package and at most {MAX_PACKAGES}")]
    Packages,
    #[error("at most {MAX_NAMES} dependency names")]
    TooManyNames,
    #[error("{0:?} is not a dependency: a package name with an optional version constraint")]
    BadDependency(String),
}

impl Report {
    /// Checks the counts, and turns dependencies (`foo>=1.2`, `libfoo.so=1-64`) into the names
    /// they are about.
    pub fn new(
        packages: Vec<(PackageName, Version)>,
        depends: &[String],
        provides: &[String],
    ) -> Result<Self, ReportError> {
        if packages.is_empty() || packages.len() > MAX_PACKAGES {
            return Err(ReportError::Packages);
        }
        if depends.len() + provides.len() > MAX_NAMES {
            return Err(ReportError::TooManyNames);
        }
        let names = |list: &[String]| -> Result<Vec<String>, ReportError> {
            let mut names = list
                .iter()
                .map(|d| dependency_name(d).ok_or_else(|| ReportError::BadDependency(d.clone())))
                .collect::<Result<Vec<_>, _>>()?;
            names.sort();
            names.dedup();
            Ok(names)
        };
        Ok(Self {
            depends: names(depends)?,
            provides: names(provides)?,
            packages,
        })
    }

    /// Every name its packages answer to: their own and what they provide.
    fn provided(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .packages
            .iter()
            .map(|(name, _)| name.as_str().to_owned())
            .chain(self.provides.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// `foo` of `foo`, `foo>=1.2`, `foo=1-2` (as pacman reads them, [`Dependency::parse`]);
/// `None` when that is not a package name.
fn dependency_name(dependency: &str) -> Option<String> {
    let name = PackageName::parse(Dependency::parse(dependency).name).ok()?;
    Some(name.as_str().to_owned())
}

/// What the agent is to do with the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Build,
    /// Every package's version is in the repository: the build ended as `skipped`.
    Skip,
    /// The build went back to the queue until the build of target `on` ends.
    Wait {
        on: String,
    },
}

/// Decides what build `id`, held under `lease_id`, does now that its agent reported `report`.
pub async fn plan(
    pool: &PgPool,
    id: i64,
    lease_id: Uuid,
    report: &Report,
) -> Result<Plan, QueueError> {
    let mut tx = pool.begin().await?;
    let held = builds::lock_held(&mut *tx, id, lease_id)
        .await?
        .ok_or(QueueError::LeaseLost(id))?;
    targets::set_srcinfo(
        &mut *tx,
        held.target_id,
        &report.depends,
        &report.provided(),
    )
    .await?;

    if let Some(on) = builds::waited_for(&mut *tx, id).await? {
        builds::defer(&mut *tx, id).await?;
        tx.commit().await?;
        tracing::info!(build.id = id, waits_for = %on, "build waits for a dependency");
        return Ok(Plan::Wait { on });
    }

    if !held.force {
        let names: Vec<String> = report
            .packages
            .iter()
            .map(|(n, _)| n.as_str().to_owned())
            .collect();
        let present =
            builds::versions_in_repo(&mut *tx, &held.distro, &held.repo, &held.arch, &names)
                .await?;
        let in_repo = |(name, version): &(PackageName, Version)| {
            present
                .iter()
                .any(|(n, v)| n == name.as_str() && vercmp(v, version.as_str()).is_eq())
        };
        if report.packages.iter().all(in_repo) {
            let ended =
                builds::finish(&mut *tx, id, lease_id, Status::Skipped.as_str(), None).await?;
            if !ended {
                return Err(QueueError::LeaseLost(id));
            }
            tx.commit().await?;
            tracing::info!(build.id = id, "build skipped: its versions are published");
            return Ok(Plan::Skip);
        }
    }
    tx.commit().await?;
    Ok(Plan::Build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_are_reduced_to_names() {
        assert_eq!(dependency_name("glibc>=2.38").as_deref(), Some("glibc"));
        assert_eq!(
            dependency_name("libfoo.so=1-64").as_deref(),
            Some("libfoo.so")
        );
        assert_eq!(dependency_name("bar<2").as_deref(), Some("bar"));
        assert_eq!(dependency_name("plain").as_deref(), Some("plain"));
        assert_eq!(dependency_name(">=1"), None);
        assert_eq!(dependency_name("a b"), None);
    }

    #[test]
    fn a_report_lists_names_once_and_counts_its_own_packages_as_provided() {
        let report = Report::new(
            vec![(
                PackageName::parse("app").unwrap(),
                Version::parse("1:2.0-1").unwrap(),
            )],
            &["lib>=1".into(), "lib".into(), "make".into()],
            &["app-bin=2".into()],
        )
        .unwrap();
        assert_eq!(report.depends, ["lib", "make"]);
        assert_eq!(report.provided(), ["app", "app-bin"]);
        assert!(matches!(
            Report::new(vec![], &[], &[]),
            Err(ReportError::Packages)
        ));
        assert!(matches!(
            Report::new(
                vec![(
                    PackageName::parse("x").unwrap(),
                    Version::parse("1-1").unwrap()
                )],
                &["=1".into()],
                &[]
            ),
            Err(ReportError::BadDependency(_))
        ));
    }
}
