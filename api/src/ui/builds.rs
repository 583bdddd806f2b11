//! `GET /admin/builds`: the builds of the targets the signed-in key manages, newest first,
//! by status; `GET /admin/builds/{id}`: one build, its packages and the end of its log
//! (reloading while it runs); `POST /admin/builds/{id}/cancel` (`rieter::build::queue`).

use askama::Template;
use futures::TryStreamExt;
use poem::web::{Data, Form, Path, Query, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use rieter::build::queue::Status;
use rieter::build::{log, queue};
use rieter::db::builds::{self, BuildRecord, Filter};
use rieter::db::listing::Window;
use serde::Deserialize;

use super::links::{self, Pager, page_number};
use super::page::{Layout, database_error, datetime, forbidden, not_found, render, time};
use super::session::{CsrfForm, Visitor, form_poster, signed_in};
use crate::auth::Principal;
use crate::pagination::MAX_DEPTH;
use crate::state::AppState;

const PER_PAGE: i64 = 50;

/// The end of a log a build's page shows; the whole log is `GET /api/v1/builds/{id}/log`.
const LOG_TAIL_BYTES: usize = 256 << 10;

/// A build as a line of the list, and the head of its page.
pub struct BuildLine {
    pub id: i64,
    pub href: String,
    pub target: String,
    pub repo: String,
    pub repo_href: String,
    pub arch: String,
    pub status: &'static str,
    pub forced: bool,
    pub queued: String,
    pub queued_datetime: String,
    pub started: String,
    pub finished: String,
    pub agent: String,
    pub attempts: i32,
    pub error: String,
    pub active: bool,
    pub cancel_requested: bool,
}

impl From<&BuildRecord> for BuildLine {
    fn from(b: &BuildRecord) -> Self {
        Self {
            id: b.id,
            href: format!("/admin/builds/{}", b.id),
            target: b.target.clone(),
            repo: format!("{}/{}", b.distro, b.repo),
            repo_href: links::repo(&b.distro, &b.repo),
            arch: b.arch.clone(),
            status: b.status.as_str(),
            forced: b.force,
            queued: time(b.queued_at),
            queued_datetime: datetime(b.queued_at),
            started: b.started_at.map(time).unwrap_or_default(),
            finished: b.finished_at.map(time).unwrap_or_default(),
            agent: b.agent.clone().unwrap_or_default(),
            attempts: b.attempts,
            error: b.error.clone().unwrap_or_default(),
            active: !b.status.is_final(),
            cancel_requested: b.cancel_requested,
        }
    }
}

#[derive(Template)]
#[template(path = "builds.html")]
struct BuildsPage {
    layout: Layout,
    builds: Vec<BuildLine>,
    total: i64,
    status: String,
    statuses: Vec<&'static str>,
    pager: Pager,
}

#[derive(Template)]
#[template(path = "build.html")]
struct BuildPage {
    layout: Layout,
    build: BuildLine,
    packages: Vec<String>,
    log: String,
    log_bytes: i64,
    truncated: bool,
    log_removed: String,
    cancel_href: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct BuildsParams {
    status: Option<String>,
    page: Option<String>,
}

#[handler]
pub async fn list_builds(
    state: Data<&AppState>,
    req: &Request,
    Query(params): Query<BuildsParams>,
) -> Response {
    let visitor = match signed_in(&state, req).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    let Some(reach) = visitor.principal.target_reach() else {
        return forbidden();
    };
    let status = params.status.as_deref().and_then(Status::parse);
    let page = page_number(params.page.as_deref(), MAX_DEPTH / PER_PAGE);
    let filter = Filter {
        status,
        ..Filter::default()
    };
    let window = Window {
        limit: PER_PAGE,
        offset: (page - 1) * PER_PAGE,
    };
    let found = match builds::list(&state.pool, &reach, &filter, window).await {
        Ok(found) => found,
        Err(err) => return database_error("listing builds", err),
    };
    let status = status.map(Status::as_str).unwrap_or_default();
    let mut layout = Layout::for_visitor(&visitor);
    layout.refresh = found.items.iter().any(|b| !b.status.is_final());
    render(&BuildsPage {
        layout,
        builds: found.items.iter().map(BuildLine::from).collect(),
        total: found.total,
        status: status.to_owned(),
        statuses: Status::ALL.iter().map(|s| s.as_str()).collect(),
        pager: Pager::new(page, PER_PAGE, found.total, MAX_DEPTH, |p| {
            links::href(
                "/admin/builds",
                &[("status", status), ("page", &p.to_string())],
            )
        }),
    })
}

#[handler]
pub async fn show_build(state: Data<&AppState>, req: &Request, Path(id): Path<String>) -> Response {
    let visitor = match signed_in(&state, req).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    let build = match managed_build(&state, &visitor.principal, &id).await {
        Ok(build) => build,
        Err(resp) => return resp,
    };
    let text: Result<Vec<bytes::Bytes>, _> =
        log::read(state.pool.clone(), state.blobs.clone(), build.id, false)
            .try_collect()
            .await;
    let text = match text {
        Ok(parts) => parts.concat(),
        Err(err) => {
            tracing::error!(build.id = build.id, error = %err, "reading a build log");
            return super::page::server_error();
        }
    };
    let truncated = text.len() > LOG_TAIL_BYTES;
    let tail = &text[text.len().saturating_sub(LOG_TAIL_BYTES)..];
    let mut layout = Layout::for_visitor(&visitor);
    layout.refresh = !build.status.is_final();
    render(&BuildPage {
        layout,
        packages: build.packages.iter().map(ToString::to_string).collect(),
        log: String::from_utf8_lossy(tail).into_owned(),
        log_bytes: build.log_bytes,
        truncated,
        log_removed: build.log_removed_at.map(time).unwrap_or_default(),
        cancel_href: format!("/admin/builds/{}/cancel", build.id),
        build: BuildLine::from(&build),
    })
}

#[handler]
pub async fn cancel_build(
    state: Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let visitor: Visitor = match form_poster(&state, req, form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    let build = match managed_build(&state, &visitor.principal, &id).await {
        Ok(build) => build,
        Err(resp) => return resp,
    };
    match queue::cancel(&state.pool, build.id).await {
        Ok(_) => {
            tracing::info!(build.id = build.id, "build cancel asked from the web UI");
            Redirect::see_other(format!("/admin/builds/{}", build.id)).into_response()
        }
        Err(queue::QueueError::Db(err)) => database_error("cancelling a build", err),
        Err(_) => not_found(),
    }
}

/// Build `id` when `principal` manages its target; a 404 page otherwise, as for one that
/// does not exist.
async fn managed_build(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<BuildRecord, Response> {
    let Ok(id) = id.parse::<i64>() else {
        return Err(not_found());
    };
    let build = match builds::find(&state.pool, id).await {
        Ok(Some(build)) => build,
        Ok(None) => return Err(not_found()),
        Err(err) => return Err(database_error("reading a build", err)),
    };
    if principal.manages_build(&build) {
        Ok(build)
    } else {
        Err(not_found())
    }
}
