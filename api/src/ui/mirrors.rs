//! `GET /admin/mirrors`: every mirror with its last sync, and `POST
//! /admin/mirrors/{id}/sync` to queue one now (`rieter::mirror::admin::queue_sync`). Admin
//! only, as in the API.

use askama::Template;
use poem::web::{Data, Form, Path, Query, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use rieter::db::mirrors::{self, MirrorRecord};
use rieter::mirror::admin;
use serde::Deserialize;

use super::links::{self, Pager, page_number};
use super::page::{Layout, database_error, datetime, forbidden, not_found, render, time};
use super::session::{CsrfForm, form_poster, signed_in};
use crate::auth::Action;
use crate::pagination::MAX_DEPTH;
use crate::state::AppState;

const PER_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "mirrors.html")]
struct MirrorsPage {
    layout: Layout,
    mirrors: Vec<MirrorLine>,
    total: i64,
    pager: Pager,
}

/// A mirror as a line of the page (and of a repository's page).
pub struct MirrorLine {
    pub repo: String,
    pub repo_href: String,
    pub upstream: String,
    pub arches: String,
    /// `running`, `succeeded`, `failed`, or empty before the first sync.
    pub status: String,
    pub error: String,
    pub last_success: String,
    pub last_success_datetime: String,
    pub next_sync: String,
    pub next_sync_datetime: String,
    pub pending: bool,
    pub sync_href: String,
}

impl From<MirrorRecord> for MirrorLine {
    fn from(m: MirrorRecord) -> Self {
        let sync = m.last_sync.as_ref();
        Self {
            repo: format!("{}/{}", m.distro, m.repo),
            repo_href: links::repo(m.distro.as_str(), m.repo.as_str()),
            upstream: m.spec.upstream.to_string(),
            arches: m
                .spec
                .arches
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            status: sync.map(|s| s.status.clone()).unwrap_or_default(),
            error: sync.and_then(|s| s.error.clone()).unwrap_or_default(),
            last_success: m.last_success_at.map(time).unwrap_or_default(),
            last_success_datetime: m.last_success_at.map(datetime).unwrap_or_default(),
            next_sync: time(m.next_sync_at),
            next_sync_datetime: datetime(m.next_sync_at),
            pending: m.sync_pending,
            sync_href: format!("/admin/mirrors/{}/sync", m.id),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct MirrorsParams {
    page: Option<String>,
}

#[handler]
pub async fn list_mirrors(
    state: Data<&AppState>,
    req: &Request,
    Query(params): Query<MirrorsParams>,
) -> Response {
    let visitor = match signed_in(&state, req).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    if !visitor.principal.may(Action::ManageMirrors) {
        return forbidden();
    }
    let page = page_number(params.page.as_deref(), MAX_DEPTH / PER_PAGE);
    let listed = mirrors::list(&state.pool, PER_PAGE, (page - 1) * PER_PAGE).await;
    let total = mirrors::count(&state.pool).await;
    let (found, total) = match (listed, total) {
        (Ok(found), Ok(total)) => (found, total),
        (Err(err), _) | (_, Err(err)) => return database_error("listing mirrors", err),
    };
    render(&MirrorsPage {
        layout: Layout::for_visitor(&visitor),
        mirrors: found.into_iter().map(MirrorLine::from).collect(),
        total,
        pager: Pager::new(page, PER_PAGE, total, MAX_DEPTH, |p| {
            format!("/admin/mirrors?page={p}")
        }),
    })
}

#[handler]
pub async fn sync_mirror(
    state: Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let visitor = match form_poster(&state, req, form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    if !visitor.principal.may(Action::ManageMirrors) {
        return forbidden();
    }
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    match admin::queue_sync(&state.pool, id).await {
        Ok(Some(_)) => {
            tracing::info!(mirror.id = id, "mirror sync queued from the web UI");
            Redirect::see_other("/admin/mirrors").into_response()
        }
        Ok(None) => not_found(),
        Err(err) => database_error("queueing a mirror sync", err),
    }
}
