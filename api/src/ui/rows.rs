//! A package as the listings of the pages (home, search, repository) show it.

use rieter::db::listing::packages::PackageSummary;

use super::links;
use super::page::{build_date, datetime, time};

pub struct PackageRow {
    pub href: String,
    pub name: String,
    pub version: String,
    pub distro: String,
    pub repo: String,
    pub repo_href: String,
    pub arch: String,
    pub description: String,
    pub built: String,
    pub built_datetime: String,
}

impl From<PackageSummary> for PackageRow {
    fn from(p: PackageSummary) -> Self {
        let built = build_date(p.build_date);
        Self {
            href: links::package(&p.distro, &p.repo, &p.arch, &p.name),
            repo_href: links::repo(&p.distro, &p.repo),
            built: time(built),
            built_datetime: datetime(built),
            name: p.name,
            version: p.version,
            distro: p.distro,
            repo: p.repo,
            arch: p.arch,
            description: p.description.unwrap_or_default(),
        }
    }
}

pub fn rows(items: Vec<PackageSummary>) -> Vec<PackageRow> {
    items.into_iter().map(Into::into).collect()
}
