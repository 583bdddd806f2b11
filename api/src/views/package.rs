use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use rieter::db::listing::packages::{PackageDetail, PackageSummary};
use uuid::Uuid;

use crate::pagination::page_of;

fn build_time(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// A package in a listing.
#[derive(Debug, Clone, Object)]
#[oai(rename = "PackageSummary")]
pub struct PackageSummaryView {
    pub id: i64,
    pub distro: String,
    pub repo: String,
    /// `any` for architecture-independent packages.
    pub arch: String,
    pub name: String,
    /// Full version, `[epoch:]pkgver-pkgrel`.
    pub version: String,
    #[oai(nullable)]
    pub description: Option<String>,
    pub build_date: DateTime<Utc>,
    /// Size of the package file in bytes.
    pub compressed_size: i64,
    pub filename: String,
}

impl From<PackageSummary> for PackageSummaryView {
    fn from(p: PackageSummary) -> Self {
        Self {
            id: p.id,
            distro: p.distro,
            repo: p.repo,
            arch: p.arch,
            name: p.name,
            version: p.version,
            description: p.description,
            build_date: build_time(p.build_date),
            compressed_size: p.compressed_size,
            filename: p.filename.into(),
        }
    }
}

/// An optional dependency: `name: description` in `.PKGINFO`, split.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct OptDepend {
    /// The dependency, possibly with a version constraint.
    pub name: String,
    /// What it is needed for; null when the package gives no reason.
    #[oai(nullable)]
    pub description: Option<String>,
}

impl OptDepend {
    pub fn parse(entry: &str) -> Self {
        match entry.split_once(": ") {
            Some((name, description)) => Self {
                name: name.trim().to_owned(),
                description: Some(description.trim().to_owned()),
            },
            None => Self {
                name: entry.trim().to_owned(),
                description: None,
            },
        }
    }
}

/// A package with every field of its `.PKGINFO`, its relations and where to download it.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Package")]
pub struct PackageView {
    pub id: i64,
    pub distro: String,
    pub repo: String,
    pub arch: String,
    pub name: String,
    /// The `pkgbase` it was built from.
    #[oai(nullable)]
    pub base: Option<String>,
    pub version: String,
    #[oai(nullable)]
    pub description: Option<String>,
    #[oai(nullable)]
    pub url: Option<String>,
    pub build_date: DateTime<Utc>,
    #[oai(nullable)]
    pub packager: Option<String>,
    /// Installed size in bytes.
    pub installed_size: i64,
    /// Size of the package file in bytes.
    pub compressed_size: i64,
    pub filename: String,
    pub sha256: String,
    pub md5: String,
    /// The package's detached signature, base64: the same bytes as `{filename}.sig`.
    #[oai(nullable)]
    pub pgpsig: Option<String>,
    pub licenses: Vec<String>,
    pub groups: Vec<String>,
    pub depends: Vec<String>,
    pub optdepends: Vec<OptDepend>,
    pub makedepends: Vec<String>,
    pub checkdepends: Vec<String>,
    pub provides: Vec<String>,
    pub conflicts: Vec<String>,
    pub replaces: Vec<String>,
    /// Configuration files pacman keeps on upgrade.
    pub backup: Vec<String>,
    /// Extra `key=value` data (`pkgtype=...`).
    pub xdata: Vec<String>,
    /// The upload that brought this version; none for a package from a mirror's upstream.
    pub upload_id: Option<Uuid>,
    /// When this version entered the catalogue.
    pub created_at: DateTime<Utc>,
    /// Where to download the package file: `/{distro}/{repo}/{arch}/{filename}` for each
    /// architecture whose database lists it (its own, or every architecture of the repository
    /// for an `any` package; the same file is served under each). Empty until the repository
    /// has an architecture.
    pub downloads: Vec<String>,
}

impl From<PackageDetail> for PackageView {
    fn from(p: PackageDetail) -> Self {
        let downloads = p
            .published_arches
            .iter()
            .map(|arch| format!("/{}/{}/{arch}/{}", p.distro, p.repo, p.filename))
            .collect();
        Self {
            id: p.id,
            downloads,
            distro: p.distro,
            repo: p.repo,
            arch: p.arch,
            name: p.name,
            base: p.base,
            version: p.version,
            description: p.description,
            url: p.url,
            build_date: build_time(p.build_date),
            packager: p.packager,
            installed_size: p.installed_size,
            compressed_size: p.compressed_size,
            filename: p.filename.into(),
            sha256: p.sha256,
            md5: p.md5,
            pgpsig: p.pgpsig,
            licenses: p.licenses,
            groups: p.groups,
            depends: p.depends,
            optdepends: p.optdepends.iter().map(|o| OptDepend::parse(o)).collect(),
            makedepends: p.makedepends,
            checkdepends: p.checkdepends,
            provides: p.provides,
            conflicts: p.conflicts,
            replaces: p.replaces,
            backup: p.backup,
            xdata: p.xdata,
            upload_id: p.upload_id,
            created_at: p.created_at,
        }
    }
}

/// How a package listing is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Default)]
#[oai(rename_all = "snake_case")]
pub enum PackageSort {
    /// By name (then id).
    #[default]
    Name,
    /// By build date (then id).
    BuildDate,
    /// With `q`: exact name matches first, then names starting with `q`, then the other
    /// matches, each by name; `order` does not apply. Without `q`, as `name`.
    Relevance,
}

/// Direction of a listing's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Default)]
#[oai(rename_all = "lowercase")]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

page_of!(
    /// A page of packages.
    PackagePage,
    PackageSummaryView
);

page_of!(
    /// A page of a package's file list, in the order of the package's `files` entry.
    FilePage,
    String
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optdepends_split_at_the_first_colon_space() {
        assert_eq!(
            OptDepend::parse("python: scripting support"),
            OptDepend {
                name: "python".into(),
                description: Some("scripting support".into())
            }
        );
        assert_eq!(
            OptDepend::parse("qt5-base>=5.15: the GUI: optional"),
            OptDepend {
                name: "qt5-base>=5.15".into(),
                description: Some("the GUI: optional".into())
            }
        );
        assert_eq!(
            OptDepend::parse("zstd"),
            OptDepend {
                name: "zstd".into(),
                description: None
            }
        );
    }
}
