//! The record of removals: one row per removal, kept after what it removed is gone.

use sqlx::PgExecutor;

use crate::actor::Actor;
use crate::names::{ArchName, DistroName, RepoName};

/// What was removed, by whom: a distribution, a repository of it, an architecture of that, or
/// one package name in an architecture.
#[derive(Debug)]
pub struct Removal<'a> {
    pub distro: &'a DistroName,
    pub repo: Option<&'a RepoName>,
    pub arch: Option<&'a ArchName>,
    pub name: Option<&'a str>,
    /// How many packages went with it.
    pub packages: usize,
    pub actor: &'a Actor,
}

pub async fn record(
    executor: impl PgExecutor<'_>,
    removal: &Removal<'_>,
) -> Result<(), sqlx::Error> {
    let packages = i32::try_from(removal.packages).unwrap_or(i32::MAX);
    sqlx::query!(
        "insert into removals (distro, repo, arch, name, packages,
                               actor_kind, actor_key_id, actor_name, actor_prefix)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        removal.distro.as_str(),
        removal.repo.map(RepoName::as_str),
        removal.arch.map(ArchName::as_str),
        removal.name,
        packages,
        removal.actor.kind().as_str(),
        removal.actor.key_id(),
        removal.actor.name(),
        removal.actor.prefix(),
    )
    .execute(executor)
    .await?;
    Ok(())
}
