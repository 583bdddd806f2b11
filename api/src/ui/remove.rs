//! `POST /admin/remove/{distro}/{repo}/{arch}/{name}`: the package page's "Remove" button. The
//! same operation, under the same permission, as `DELETE /{distro}/{repo}/{arch}/{name}`
//! (`rieter::removal::remove_package`, `Action::Remove`).

use askama::Template;
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use rieter::names::{ArchName, DistroName, PackageName, RepoName};
use rieter::removal;

use super::links;
use super::page::{Layout, conflict, database_error, forbidden, not_found, render};
use super::session::{CsrfForm, form_poster};
use crate::auth::Action;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "notice.html")]
struct Removed {
    layout: Layout,
    title: String,
    message: String,
    link_href: String,
    link_text: String,
}

#[handler]
pub async fn remove_package(
    state: Data<&AppState>,
    req: &Request,
    Path((distro, repo, arch, name)): Path<(String, String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let visitor = match form_poster(&state, req, form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    let (Ok(distro), Ok(repo), Ok(arch), Ok(package)) = (
        DistroName::parse(&distro),
        RepoName::parse(&repo),
        ArchName::parse(&arch),
        PackageName::parse(&name),
    ) else {
        return not_found();
    };
    let access = Action::Remove {
        distro: &distro,
        repo: Some(&repo),
    };
    // A key that may remove from a distribution may also read it, so this 403 tells nothing
    // about a private distribution the key cannot see.
    let (true, Some(actor)) = (visitor.principal.may(access), visitor.principal.actor()) else {
        return forbidden();
    };
    match removal::remove_package(&state.pool, &distro, &repo, &arch, package.as_str(), &actor)
        .await
    {
        Ok(Some(removed)) => {
            tracing::info!(%distro, %repo, %arch, package = %package.as_str(), removed, actor.kind = actor.kind().as_str(), actor.prefix = actor.prefix(), "package removed");
            render(&Removed {
                layout: Layout::for_visitor(&visitor),
                title: format!("{} removed", package.as_str()),
                message: format!(
                    "{} ({arch}) is no longer in {distro}/{repo}. The repository's databases are \
                     rebuilt shortly without it.",
                    package.as_str()
                ),
                link_href: links::repo(distro.as_str(), repo.as_str()),
                link_text: format!("Back to {distro}/{repo}"),
            })
        }
        Ok(None) => not_found(),
        Err(err @ removal::RemovalError::Mirrored { .. }) => conflict(err.to_string()),
        Err(removal::RemovalError::Db(err)) => database_error("removing a package", err),
    }
}
