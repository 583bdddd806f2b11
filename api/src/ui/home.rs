//! `GET /`: the distributions, their repositories and architectures, a search box and the
//! latest packages.

use askama::Template;
use poem::web::Data;
use poem::{Request, Response, handler};
use rieter::db::listing::overview::{self, ArchEntry};

use super::links;
use super::page::{Layout, database_error, datetime, render, time};
use super::rows::{PackageRow, rows};
use super::session::visitor;
use crate::state::AppState;

/// How many of the latest packages the home page lists.
const RECENT: i64 = 20;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    distros: Vec<DistroGroup>,
    rows: Vec<PackageRow>,
}

struct DistroGroup {
    name: String,
    repos: Vec<RepoGroup>,
}

struct RepoGroup {
    name: String,
    href: String,
    arches: Vec<ArchLine>,
}

struct ArchLine {
    arch: String,
    package_count: i64,
    /// Empty before the first publication.
    published: String,
    published_datetime: String,
}

#[handler]
pub async fn home(state: Data<&AppState>, req: &Request) -> Response {
    let visitor = match visitor(&state, req).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    let hidden = state.auth.hidden_for(&visitor.principal);
    let found = tokio::try_join!(
        overview::arches(&state.reads, &hidden),
        overview::recent(&state.reads, &hidden, RECENT)
    );
    let (arches, recent) = match found {
        Ok(found) => found,
        Err(err) => return database_error("loading the home page", err),
    };
    render(&HomePage {
        layout: Layout::for_visitor(&visitor),
        distros: group(arches),
        rows: rows(recent),
    })
}

/// Groups the (ordered) entries by distribution and repository.
fn group(entries: Vec<ArchEntry>) -> Vec<DistroGroup> {
    let mut distros: Vec<DistroGroup> = Vec::new();
    for entry in entries {
        if distros.last().is_none_or(|d| d.name != entry.distro) {
            distros.push(DistroGroup {
                name: entry.distro.clone(),
                repos: Vec::new(),
            });
        }
        let distro = distros.last_mut().expect("pushed above");
        if distro.repos.last().is_none_or(|r| r.name != entry.repo) {
            distro.repos.push(RepoGroup {
                href: links::repo(&entry.distro, &entry.repo),
                name: entry.repo.clone(),
                arches: Vec::new(),
            });
        }
        let repo = distro.repos.last_mut().expect("pushed above");
        if let Some(arch) = entry.arch {
            repo.arches.push(ArchLine {
                arch,
                package_count: entry.package_count,
                published: entry.published_at.map(time).unwrap_or_default(),
                published_datetime: entry.published_at.map(datetime).unwrap_or_default(),
            });
        }
    }
    distros
}
