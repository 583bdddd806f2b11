//! The web UI: server-rendered pages for browsing and searching the catalogue, as plain links
//! and forms without JavaScript. Queries live in `rieter::db::listing`; handlers here only
//! read the request, call them with the anonymous visitor's view, and render a template
//! (`api/templates/`).
//!
//! The pages share paths with pacman's files and the JSON API only where those have no `GET`:
//! `/{distro}/{repo}` takes uploads (`POST`/`PUT`) and removals (`DELETE`), and its `GET` is the
//! repository page. Their other first segments (`search`, `packages`, `static`) are reserved
//! distribution names (`rieter::names`).

mod assets;
mod home;
mod links;
mod package;
mod page;
mod repo;
mod rows;
mod search;

use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get};

/// The JSON API and repository files, with the pages in front of them.
pub struct WithPages<E> {
    api: E,
    pages: BoxEndpoint<'static, Response>,
}

impl<E: Endpoint> WithPages<E> {
    pub fn new(api: E) -> Self {
        let pages = Route::new()
            .at("/", get(home::home))
            .at("/search", get(search::search))
            .at("/static/:file", get(assets::asset))
            .at(
                "/packages/:distro/:repo/:arch/:name",
                get(package::show_package),
            )
            .at("/:distro/:repo", get(repo::show_repo))
            .catch_all_error(|err: poem::Error| async move { page::for_status(err.status()) })
            .map_to_response()
            .boxed();
        Self { api, pages }
    }
}

impl<E: Endpoint> Endpoint for WithPages<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if matches!(*req.method(), Method::GET | Method::HEAD) && is_page(req.uri().path()) {
            self.pages.call(req).await
        } else {
            self.api.call(req).await.map(IntoResponse::into_response)
        }
    }
}

/// Whether a `GET` of `path` is a page rather than the JSON API or a repository file.
/// Runs for every request pacman makes, so it looks at the first segments without allocating.
fn is_page(path: &str) -> bool {
    let mut segments = path.trim_start_matches('/').split('/');
    let first = segments.next().unwrap_or_default();
    match first {
        "static" | "packages" => true,
        "api" => false,
        _ => match (segments.next(), segments.next()) {
            (None, _) => first.is_empty() || first == "search",
            // `/{distro}/key` is the distribution's public key, not a repository.
            (Some(repo), None) => !first.is_empty() && !repo.is_empty() && repo != "key",
            (Some(_), Some(_)) => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::is_page;

    #[test]
    fn pages_and_the_rest_are_told_apart() {
        for page in [
            "/",
            "/search",
            "/static/style-0123.css",
            "/packages/arch/core/x86_64/glibc",
            "/packages/anything",
            "/static",
            "/arch/core",
            "/search/x",
        ] {
            assert!(is_page(page), "{page}");
        }
        for other in [
            "/api/v1/packages",
            "/api/v1",
            "/arch/core/x86_64/core.db",
            "/arch/core/x86_64",
            "/arch/key",
            "/arch",
            "/arch/",
            "//core",
            "/api",
        ] {
            assert!(!is_page(other), "{other}");
        }
    }
}
