//! `GET /search?q=&distro=&repo=&arch=&page=`: one box over names, descriptions and
//! provides, exact name matches first, with filters; the URL holds the whole query.
//!
//! Packages named exactly as the query come first, in a section of their own; then every
//! match by name, the order an index keeps, so a query matching most of a large catalogue
//! reads one page of the index rather than ranking every match. Matches are counted and listed
//! to a depth of [`DEPTH`]: past it, the query wants narrowing, not paging.

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{Request, Response, handler};
use rieter::db::listing::packages::{self, Filter, SortKey};
use rieter::db::listing::{Counting, Window, overview};
use serde::Deserialize;

use super::links::{self, Pager, page_number};
use super::page::{Layout, database_error, for_status, render};
use super::rows::{PackageRow, rows};
use super::session::visitor;
use crate::state::AppState;

const PER_PAGE: i64 = 50;
/// How many matches a search counts and pages through.
const DEPTH: i64 = 1_000;

#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    distro: Option<String>,
    repo: Option<String>,
    arch: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    query: String,
    distro: Choice,
    repo: Choice,
    arch: Choice,
    /// Matches, counted to one past [`DEPTH`].
    total: i64,
    depth: i64,
    /// Packages named exactly as the query (first page only).
    exact: Vec<PackageRow>,
    rows: Vec<PackageRow>,
    pager: Pager,
}

/// A filter's options and the one chosen (empty for all).
struct Choice {
    options: Vec<String>,
    chosen: String,
}

impl Choice {
    fn new(mut options: Vec<String>, chosen: &str) -> Self {
        options.sort_unstable();
        options.dedup();
        Self {
            options,
            chosen: chosen.to_owned(),
        }
    }
}

/// A filter's value: `None` when empty.
fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

#[handler]
pub async fn search(
    state: Data<&AppState>,
    req: &Request,
    Query(params): Query<SearchParams>,
) -> Response {
    let fields = [&params.q, &params.distro, &params.repo, &params.arch];
    // No text in the catalogue holds a NUL, and Postgres refuses one in a parameter.
    if fields
        .iter()
        .any(|f| f.as_deref().is_some_and(|v| v.contains('\0')))
    {
        return for_status(StatusCode::BAD_REQUEST);
    }
    let query = given(&params.q);
    let filter = Filter {
        distro: given(&params.distro),
        repo: given(&params.repo),
        arch: given(&params.arch),
        name: None,
        query: query.clone(),
        sort: SortKey::Name,
        descending: false,
    };
    let page = page_number(params.page.as_deref(), DEPTH / PER_PAGE);
    let window = Window {
        limit: PER_PAGE,
        offset: (page - 1) * PER_PAGE,
    };
    let visitor = match visitor(&state, req).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    let hidden = state.auth.hidden_for(&visitor.principal);
    let exact = Filter {
        name: query.clone().filter(|_| page == 1),
        query: None,
        ..filter.clone()
    };
    let first = Window {
        limit: PER_PAGE,
        offset: 0,
    };
    let found = tokio::try_join!(
        packages::list(
            &state.reads,
            &hidden,
            &filter,
            window,
            Counting::UpTo(DEPTH + 1)
        ),
        async {
            if exact.name.is_none() {
                return Ok(Vec::new());
            }
            // The section shows no total, so nothing is counted for it.
            let named = packages::list(&state.reads, &hidden, &exact, first, Counting::Known(0));
            Ok(named.await?.items)
        },
        overview::arches(&state.reads, &hidden)
    );
    let (found, exact, arches) = match found {
        Ok(found) => found,
        Err(err) => return database_error("searching packages", err),
    };
    let q = query.clone().unwrap_or_default();
    let distro = filter.distro.clone().unwrap_or_default();
    let repo = filter.repo.clone().unwrap_or_default();
    let arch = filter.arch.clone().unwrap_or_default();
    let link = |page: i64| {
        let page = page.to_string();
        links::href(
            "/search",
            &[
                ("q", &q),
                ("distro", &distro),
                ("repo", &repo),
                ("arch", &arch),
                ("page", &page),
            ],
        )
    };
    let pager = Pager::new(page, PER_PAGE, found.total, DEPTH, link);
    render(&SearchPage {
        layout: Layout::with_query(q.clone()).visited_by(&visitor),
        distro: Choice::new(arches.iter().map(|a| a.distro.clone()).collect(), &distro),
        repo: Choice::new(arches.iter().map(|a| a.repo.clone()).collect(), &repo),
        arch: Choice::new(
            arches
                .iter()
                .filter_map(|a| a.arch.clone())
                .chain(["any".to_owned()])
                .collect(),
            &arch,
        ),
        query: q,
        total: found.total,
        depth: DEPTH,
        exact: rows(exact),
        rows: rows(found.items),
        pager,
    })
}
