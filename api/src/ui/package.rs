//! `GET /packages/{distro}/{repo}/{arch}/{name}`: every field of a package, its relations
//! linked within its repository, what requires it, its files, where else it is and its
//! history.

use askama::Template;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use rieter::db::listing::package_page::{
    self, HistoryEntry, PackageKey, REQUIRED_BY_LIMIT, RelationGroup, RelationKind,
};
use rieter::names::{ArchName, DistroName, RepoName};

use super::links;
use super::page::{Layout, build_date, database_error, datetime, not_found, render, size, time};
use super::session::visitor;
use crate::auth::Action;
use crate::state::AppState;

/// File lists longer than this are collapsed.
const OPEN_FILES: i64 = 20;

#[derive(Template)]
#[template(path = "package.html")]
struct PackagePage {
    layout: Layout,
    name: String,
    version: String,
    distro: String,
    repo: String,
    repo_href: String,
    arch: String,
    base: String,
    description: String,
    /// The upstream URL, linked only when it is http(s).
    url: String,
    url_is_link: bool,
    licenses: Vec<String>,
    groups: Vec<String>,
    packager: String,
    built: String,
    built_datetime: String,
    compressed_size: String,
    installed_size: String,
    sha256: String,
    filename: String,
    /// (architecture, link) of the file in each database listing it.
    downloads: Vec<(String, String)>,
    /// Whether a detached signature is published beside the file (`{file}.sig`).
    signed: bool,
    relations: Vec<RelationView>,
    required_by: Vec<LinkLine>,
    required_by_limit: i64,
    required_by_more: bool,
    elsewhere: Vec<LinkLine>,
    files: Vec<String>,
    file_total: i64,
    files_collapsed: bool,
    files_api: String,
    /// Where the "Remove" button posts; empty when the visitor may not remove the package.
    remove_href: String,
    history: Vec<HistoryLine>,
}

struct RelationView {
    title: &'static str,
    entries: Vec<RelationLine>,
}

struct RelationLine {
    text: String,
    href: String,
    target: String,
    via: String,
    missing: bool,
}

struct LinkLine {
    href: String,
    label: String,
    note: String,
}

struct HistoryLine {
    at: String,
    datetime: String,
    action: String,
    version: String,
    arch: String,
    actor: String,
    detail: String,
}

#[handler]
pub async fn show_package(
    state: Data<&AppState>,
    req: &Request,
    Path((distro, repo, arch, name)): Path<(String, String, String, String)>,
) -> Response {
    let (Ok(distro_name), Ok(repo_name), Ok(_)) = (
        DistroName::parse(&distro),
        RepoName::parse(&repo),
        ArchName::parse(&arch),
    ) else {
        return not_found();
    };
    if name.is_empty() || name.contains('\0') {
        return not_found();
    }
    let key = PackageKey {
        distro: &distro,
        repo: &repo,
        arch: &arch,
        name: &name,
    };
    let visitor = match visitor(&state, req).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    let hidden = state.auth.hidden_for(&visitor.principal);
    let found = match package_page::load(&state.reads, &hidden, key).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(err) => return database_error("loading a package page", err),
    };
    let d = found.detail;
    let built = build_date(d.build_date);
    let link = |name: &str, arch: &str| links::package(&d.distro, &d.repo, arch, name);
    let url = d.url.clone().unwrap_or_default();
    let may_remove = visitor.principal.may(Action::Remove {
        distro: &distro_name,
        repo: Some(&repo_name),
    });
    render(&PackagePage {
        layout: Layout::for_visitor(&visitor),
        remove_href: if may_remove {
            links::remove_package(&d.distro, &d.repo, &d.arch, &d.name)
        } else {
            String::new()
        },
        repo_href: links::repo(&d.distro, &d.repo),
        base: d.base.clone().filter(|b| *b != d.name).unwrap_or_default(),
        description: d.description.clone().unwrap_or_default(),
        url_is_link: url.starts_with("https://") || url.starts_with("http://"),
        url,
        packager: d.packager.clone().unwrap_or_default(),
        built: time(built),
        built_datetime: datetime(built),
        compressed_size: size(d.compressed_size),
        installed_size: size(d.installed_size),
        downloads: d
            .published_arches
            .iter()
            .map(|a| (a.clone(), links::file(&d.distro, &d.repo, a, &d.filename)))
            .collect(),
        signed: d.pgpsig.is_some(),
        relations: found
            .relations
            .iter()
            .filter(|g| !g.entries.is_empty())
            .map(|g| relation_view(g, &link))
            .collect(),
        required_by: found
            .required_by
            .iter()
            .map(|r| LinkLine {
                href: link(&r.name, &r.arch),
                label: r.name.clone(),
                note: format!("{} ({})", r.arch, r.fields.join(", ")),
            })
            .collect(),
        required_by_limit: REQUIRED_BY_LIMIT,
        required_by_more: found.required_by_more,
        elsewhere: found
            .elsewhere
            .iter()
            .map(|p| LinkLine {
                href: links::package(&p.distro, &p.repo, &p.arch, &d.name),
                label: format!("{}/{} {}", p.distro, p.repo, p.arch),
                note: p.version.clone(),
            })
            .collect(),
        files_collapsed: found.files.total > OPEN_FILES,
        file_total: found.files.total,
        files: found.files.paths,
        files_api: format!("/api/v1/packages/{}/files", d.id),
        history: found.history.into_iter().map(history_line).collect(),
        name: d.name,
        version: d.version,
        distro: d.distro,
        repo: d.repo,
        arch: d.arch,
        licenses: d.licenses,
        groups: d.groups,
        sha256: d.sha256,
        filename: d.filename.into(),
    })
}

fn relation_view(group: &RelationGroup, link: &impl Fn(&str, &str) -> String) -> RelationView {
    let title = match group.field {
        "depend" => "Dependencies",
        "optdepend" => "Optional dependencies",
        "makedepend" => "Build dependencies",
        "checkdepend" => "Test dependencies",
        "provides" => "Provides",
        "conflict" => "Conflicts with",
        _ => "Replaces",
    };
    RelationView {
        title,
        entries: group
            .entries
            .iter()
            .map(|e| RelationLine {
                text: e.text.clone(),
                href: e
                    .target
                    .as_ref()
                    .map(|t| link(&t.name, &t.arch))
                    .unwrap_or_default(),
                target: e
                    .target
                    .as_ref()
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                via: e
                    .target
                    .as_ref()
                    .and_then(|t| t.via.clone())
                    .unwrap_or_default(),
                missing: group.kind == RelationKind::Needed && e.target.is_none(),
            })
            .collect(),
    }
}

fn history_line(e: HistoryEntry) -> HistoryLine {
    let actor = match (e.actor_kind.as_deref(), e.actor_name, e.actor_prefix) {
        (Some("key"), Some(name), Some(prefix)) => format!("{name} (key {prefix}…)"),
        (Some("config"), _, _) => "the configured admin key".to_owned(),
        (_, Some(name), _) => name,
        _ => "the server".to_owned(),
    };
    HistoryLine {
        at: time(e.created_at),
        datetime: datetime(e.created_at),
        action: e.action,
        version: e.version,
        arch: e.arch,
        actor,
        detail: e.detail.unwrap_or_default(),
    }
}
