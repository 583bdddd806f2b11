//! `GET /uploads?page=`: the latest uploads (where to, what they became, how they stand and
//! why one failed), how many are in each unfinished state, and a page that reloads itself
//! while any is still on its way. Uploads into private distributions are listed only to
//! principals that may read them.

use askama::Template;
use chrono::{DateTime, Utc};
use poem::web::{Data, Query};
use poem::{Request, Response, handler};
use rieter::db::listing::Window;
use rieter::db::listing::uploads::{self, Counts, RecentUpload};
use serde::Deserialize;

use super::links::{self, Pager, page_number};
use super::page::{Layout, database_error, datetime, render, time};
use super::session::visitor;
use crate::pagination::MAX_DEPTH;
use crate::state::AppState;

const PER_PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct UploadsParams {
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "uploads.html")]
struct UploadsPage {
    layout: Layout,
    counts: Counts,
    rows: Vec<UploadLine>,
    pager: Pager,
}

struct UploadLine {
    target: String,
    /// Empty for a repository that does not exist (any more).
    repo_href: String,
    package: String,
    filename: String,
    status: &'static str,
    reason: String,
    created: String,
    created_datetime: String,
    updated: String,
    updated_datetime: String,
    took: String,
}

#[handler]
pub async fn show_uploads(
    state: Data<&AppState>,
    req: &Request,
    Query(params): Query<UploadsParams>,
) -> Response {
    let visitor = match visitor(&state, req).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    let hidden = state.auth.hidden_for(&visitor.principal);
    let page = page_number(params.page.as_deref(), MAX_DEPTH / PER_PAGE);
    let window = Window {
        limit: PER_PAGE,
        offset: (page - 1) * PER_PAGE,
    };
    let found = tokio::try_join!(
        uploads::recent(&state.reads, &hidden, window),
        uploads::counts(&state.reads, &hidden)
    );
    let (listed, counts) = match found {
        Ok(found) => found,
        Err(err) => return database_error("loading the uploads page", err),
    };
    let mut layout = Layout::for_visitor(&visitor);
    layout.refresh = counts.in_flight();
    render(&UploadsPage {
        layout,
        counts,
        pager: Pager::new(page, PER_PAGE, listed.total, MAX_DEPTH, |p| {
            links::href("/uploads", &[("page", &p.to_string())])
        }),
        rows: listed.items.into_iter().map(line).collect(),
    })
}

fn line(u: RecentUpload) -> UploadLine {
    let package = match (&u.package_name, &u.package_version, &u.package_arch) {
        (Some(name), Some(version), Some(arch)) => format!("{name} {version} ({arch})"),
        (Some(name), _, _) => name.clone(),
        _ => String::new(),
    };
    UploadLine {
        repo_href: links::repo(&u.distro, &u.repo),
        target: format!("{}/{}", u.distro, u.repo),
        package,
        filename: u.filename.unwrap_or_default(),
        status: u.status.as_str(),
        reason: u.error.unwrap_or_default(),
        created: time(u.created_at),
        created_datetime: datetime(u.created_at),
        updated: time(u.updated_at),
        updated_datetime: datetime(u.updated_at),
        took: duration(u.created_at, u.updated_at),
    }
}

/// The time between receiving an upload and its last change, as a person reads it.
fn duration(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let secs = (to - from).num_milliseconds().max(0) as f64 / 1000.0;
    match secs {
        s if s < 60.0 => format!("{s:.1} s after receipt"),
        s if s < 3600.0 => format!("{:.0} min after receipt", s / 60.0),
        s => format!("{:.1} h after receipt", s / 3600.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let after = |ms| t0 + chrono::Duration::milliseconds(ms);
        assert_eq!(duration(t0, after(1_240)), "1.2 s after receipt");
        assert_eq!(duration(t0, after(125_000)), "2 min after receipt");
        assert_eq!(duration(t0, after(5_400_000)), "1.5 h after receipt");
        assert_eq!(duration(after(10), t0), "0.0 s after receipt");
    }
}
