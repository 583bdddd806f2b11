//! The web UI: server-rendered pages for browsing and searching the catalogue, following
//! uploads, and (signed in with an API key) managing keys and removing packages, as plain links
//! and forms without JavaScript. Queries live in `rieter::db::listing`, operations in `rieter`
//! (the same ones the JSON API calls); handlers here only read the request, find who is asking
//! (`session`), call them with what that principal may see and do, and render a template
//! (`api/templates/`).
//!
//! The pages share paths with pacman's files and the JSON API only where those have no `GET`:
//! `/{distro}/{repo}` takes uploads (`POST`/`PUT`) and removals (`DELETE`), and its `GET` is the
//! repository page. Their other first segments (`search`, `packages`, `static`, `uploads`,
//! `login`, `logout`, `admin`) are reserved distribution names (`rieter::names`), so every form
//! posts under `/login`, `/logout` or `/admin/...`, never to a repository's upload path.

mod admin;
mod assets;
mod builds;
mod home;
mod keys;
mod links;
mod login;
mod mirrors;
mod package;
mod page;
mod remove;
mod repo;
mod rows;
mod search;
mod session;
mod uploads;

use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, post};

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
            .at("/uploads", get(uploads::show_uploads))
            .at("/login", get(login::show_login).post(login::sign_in))
            .at("/logout", post(login::sign_out))
            .at("/admin", get(admin::admin))
            .at("/admin/keys", get(keys::list_keys).post(keys::create_key))
            .at("/admin/keys/:id/revoke", post(keys::revoke_key))
            .at("/admin/builds", get(builds::list_builds))
            .at("/admin/builds/:id", get(builds::show_build))
            .at("/admin/builds/:id/cancel", post(builds::cancel_build))
            .at("/admin/mirrors", get(mirrors::list_mirrors))
            .at("/admin/mirrors/:id/sync", post(mirrors::sync_mirror))
            .at(
                "/admin/remove/:distro/:repo/:arch/:name",
                post(remove::remove_package),
            )
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
        if is_page(req.method(), req.uri().path()) {
            self.pages.call(req).await
        } else {
            self.api.call(req).await.map(IntoResponse::into_response)
        }
    }
}

/// Whether a request for `path` is for a page rather than the JSON API or a repository file.
/// Pages answer `GET`; the sign-in, sign-out and admin paths take every method (their forms
/// post there, and their first segments are reserved distribution names, so no upload can be
/// meant). Runs for every request pacman makes, so it looks at the first segments without
/// allocating.
fn is_page(method: &Method, path: &str) -> bool {
    let read = matches!(*method, Method::GET | Method::HEAD);
    let mut segments = path.trim_start_matches('/').split('/');
    let first = segments.next().unwrap_or_default();
    match first {
        "login" | "logout" | "admin" => true,
        "static" | "packages" => read,
        "api" => false,
        _ if !read => false,
        _ => match (segments.next(), segments.next()) {
            (None, _) => matches!(first, "" | "search" | "uploads"),
            // `/{distro}/key` is the distribution's public key, not a repository.
            (Some(repo), None) => !first.is_empty() && !repo.is_empty() && repo != "key",
            (Some(_), Some(_)) => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use poem::http::Method;

    use super::is_page;

    #[test]
    fn pages_and_the_rest_are_told_apart() {
        for page in [
            "/",
            "/search",
            "/uploads",
            "/login",
            "/admin",
            "/admin/keys",
            "/static/style-0123.css",
            "/packages/arch/core/x86_64/glibc",
            "/packages/anything",
            "/static",
            "/arch/core",
            "/search/x",
        ] {
            assert!(is_page(&Method::GET, page), "{page}");
            assert!(is_page(&Method::HEAD, page), "{page}");
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
            assert!(!is_page(&Method::GET, other), "{other}");
        }
    }

    #[test]
    fn forms_post_to_pages_and_uploads_stay_with_the_api() {
        for form in [
            "/login",
            "/logout",
            "/admin/keys",
            "/admin/keys/0190f5a0-0000-7000-8000-000000000000/revoke",
            "/admin/remove/arch/core/x86_64/glibc",
        ] {
            assert!(is_page(&Method::POST, form), "{form}");
        }
        for api in [
            "/arch/core",
            "/",
            "/search",
            "/uploads",
            "/packages/arch/core/x86_64/glibc",
            "/static/style-0123.css",
            "/api/v1/keys",
        ] {
            assert!(!is_page(&Method::POST, api), "{api}");
        }
        assert!(!is_page(&Method::PUT, "/arch/core"));
        assert!(!is_page(&Method::DELETE, "/arch/core/x86_64/glibc"));
    }
}
