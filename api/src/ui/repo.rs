//! `GET /{distro}/{repo}`: a repository's packages (by name or build date), its
//! architectures and database files, and the `pacman.conf` lines that use it.

use askama::Template;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, handler};
use rieter::db::listing::packages::{self, Filter, SortKey};
use rieter::db::listing::{Counting, Window, distros};
use rieter::names::{DistroName, RepoName};
use serde::Deserialize;

use super::links::{self, Pager, page_number};
use super::mirrors::MirrorLine;
use super::page::{Layout, database_error, datetime, not_found, render, time};
use super::rows::{PackageRow, rows};
use super::session::visitor;
use crate::auth::Action;
use crate::pagination::MAX_DEPTH;
use crate::state::AppState;
use rieter::db::mirrors;

const PER_PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct RepoParams {
    sort: Option<String>,
    order: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "repo.html")]
struct RepoPage {
    layout: Layout,
    distro: String,
    name: String,
    package_count: i64,
    arches: Vec<ArchLine>,
    pacman_conf: String,
    /// The other orders, as (label, link, current).
    orders: Vec<(&'static str, String, bool)>,
    rows: Vec<PackageRow>,
    pager: Pager,
    /// Set when the repository is a mirror.
    mirror: Option<MirrorLine>,
    /// The visitor may read a failed sync's reason and sync it now.
    may_manage_mirrors: bool,
}

struct ArchLine {
    arch: String,
    package_count: i64,
    published: String,
    published_datetime: String,
    pending: bool,
    db_href: String,
    files_href: String,
}

#[handler]
pub async fn show_repo(
    state: Data<&AppState>,
    Path((distro, name)): Path<(String, String)>,
    Query(params): Query<RepoParams>,
    req: &Request,
) -> Response {
    // Names that could not exist, and private distributions, are simply not found.
    let (Ok(distro_name), Ok(repo_name)) = (DistroName::parse(&distro), RepoName::parse(&name))
    else {
        return not_found();
    };
    let repo_name = (distro_name, repo_name);
    let visitor = match visitor(&state, req).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    let hidden = state.auth.hidden_for(&visitor.principal);
    let (sort, descending) = match (params.sort.as_deref(), params.order.as_deref()) {
        (Some("build_date"), Some("asc")) => (SortKey::BuildDate, false),
        (Some("build_date"), _) => (SortKey::BuildDate, true),
        (_, Some("desc")) => (SortKey::Name, true),
        _ => (SortKey::Name, false),
    };
    let page = page_number(params.page.as_deref(), MAX_DEPTH / PER_PAGE);
    let filter = Filter {
        distro: Some(distro.clone()),
        repo: Some(name.clone()),
        sort,
        descending,
        ..Filter::default()
    };
    let window = Window {
        limit: PER_PAGE,
        offset: (page - 1) * PER_PAGE,
    };
    // The repository's kept package count is the listing's total: nothing is counted.
    let found = match distros::repo(&state.reads, &hidden, &distro, &name).await {
        Ok(found) => found,
        Err(err) => return database_error("loading a repository page", err),
    };
    let Some((repo, arches)) = found else {
        return not_found();
    };
    let mirror = match mirrors::for_repo(&state.reads, &repo_name.0, &repo_name.1).await {
        Ok(mirror) => mirror.map(MirrorLine::from),
        Err(err) => return database_error("loading a repository page", err),
    };
    let counting = Counting::Known(repo.package_count);
    let listed = match packages::list(&state.reads, &hidden, &filter, window, counting).await {
        Ok(listed) => listed,
        Err(err) => return database_error("loading a repository page", err),
    };
    let path = links::repo(&repo.distro, &repo.name);
    let (sort_name, order_name) = match (sort, descending) {
        (SortKey::BuildDate, true) => ("build_date", "desc"),
        (SortKey::BuildDate, false) => ("build_date", "asc"),
        (_, true) => ("name", "desc"),
        (_, false) => ("name", "asc"),
    };
    let order_link = |sort: &str, order: &str, page: i64| {
        let page = page.to_string();
        let page = if page == "1" { "" } else { &page };
        links::href(&path, &[("sort", sort), ("order", order), ("page", page)])
    };
    let orders = [
        ("name, A to Z", "name", "asc"),
        ("name, Z to A", "name", "desc"),
        ("newest build first", "build_date", "desc"),
        ("oldest build first", "build_date", "asc"),
    ]
    .into_iter()
    .map(|(label, s, o)| {
        (
            label,
            order_link(s, o, 1),
            s == sort_name && o == order_name,
        )
    })
    .collect();
    let pager = Pager::new(page, PER_PAGE, listed.total, MAX_DEPTH, |p| {
        order_link(sort_name, order_name, p)
    });
    let arches = arches
        .into_iter()
        .map(|a| ArchLine {
            db_href: format!("{path}/{}/{}.db", a.arch, repo.name),
            files_href: format!("{path}/{}/{}.files", a.arch, repo.name),
            published: a.published_at.map(time).unwrap_or_default(),
            published_datetime: a.published_at.map(datetime).unwrap_or_default(),
            arch: a.arch,
            package_count: a.package_count,
            pending: a.pending,
        })
        .collect();
    render(&RepoPage {
        layout: Layout::for_visitor(&visitor),
        pacman_conf: pacman_conf(&public_host(req), &repo.distro, &repo.name),
        distro: repo.distro,
        name: repo.name,
        package_count: repo.package_count,
        arches,
        orders,
        rows: rows(listed.items),
        pager,
        mirror,
        may_manage_mirrors: visitor.principal.may(Action::ManageMirrors),
    })
}

/// The host clients reach this server at: the request's `Host`, as the browser used it.
fn public_host(req: &Request) -> String {
    req.headers()
        .get(poem::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("HOST")
        .to_owned()
}

/// The `pacman.conf` section for a repository.
fn pacman_conf(host: &str, distro: &str, repo: &str) -> String {
    format!("[{repo}]\nServer = https://{host}/{distro}/{repo}/$arch")
}

#[cfg(test)]
mod tests {
    #[test]
    fn pacman_conf_names_the_repository_and_its_url() {
        assert_eq!(
            super::pacman_conf("pkgs.example.org", "arch", "extra"),
            "[extra]\nServer = https://pkgs.example.org/arch/extra/$arch"
        );
    }
}
