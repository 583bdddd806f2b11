//! What every page shares: the layout's data, rendering a template into a response, and the
//! error pages (a generic one for server failures, so no internal text reaches a visitor).

use askama::Template;
use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use rieter::db::DbError;

use super::assets::stylesheet_href;
use super::session::Visitor;

/// The layout's data (`base.html`).
pub struct Layout {
    pub stylesheet: String,
    pub version: &'static str,
    /// The search box's text in the header.
    pub query: String,
    /// Signed in: the header offers Admin and Sign out instead of Sign in.
    pub signed_in: bool,
    /// The sign-out form's CSRF token.
    pub csrf: String,
    /// Reload the page every few seconds (something on it is still changing).
    pub refresh: bool,
}

impl Layout {
    /// The layout of a page for nobody in particular (error pages).
    pub fn new() -> Self {
        Self::with_query(String::new())
    }

    pub fn with_query(query: String) -> Self {
        Self {
            stylesheet: stylesheet_href(),
            version: rieter::VERSION,
            query,
            signed_in: false,
            csrf: String::new(),
            refresh: false,
        }
    }

    /// The layout of a page shown to `visitor`.
    pub fn for_visitor(visitor: &Visitor) -> Self {
        Self::with_query(String::new()).visited_by(visitor)
    }

    pub fn visited_by(mut self, visitor: &Visitor) -> Self {
        self.signed_in = visitor.signed_in();
        self.csrf = visitor.csrf();
        self
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    title: &'static str,
    message: std::borrow::Cow<'static, str>,
}

/// A rendered page, or the generic error page if rendering failed.
pub fn render(template: &impl Template) -> Response {
    render_with_status(template, StatusCode::OK)
}

pub fn render_with_status(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => html_response(status, html),
        Err(err) => {
            tracing::error!(error = %err, "rendering a page");
            server_error()
        }
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .body(html)
}

fn error_page(
    status: StatusCode,
    title: &'static str,
    message: impl Into<std::borrow::Cow<'static, str>>,
) -> Response {
    let page = ErrorPage {
        layout: Layout::new(),
        status: status.as_u16(),
        title,
        message: message.into(),
    };
    match page.render() {
        Ok(html) => html_response(status, html),
        // The error page has nothing that can fail to render; this is a last resort.
        Err(_) => status.into_response(),
    }
}

pub fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing at this address. It may have been removed, or never existed.",
    )
}

/// A form posted without this session's CSRF token (or without a session).
pub fn forged_form() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Form not accepted",
        "This form did not come from a page of this site in your current session, or the \
         session has ended. Nothing was changed. Open the page again (signing in if needed) \
         and resubmit.",
    )
}

/// A signed-in principal asking for what its key may not do.
/// The request conflicts with the state of what it targets; `message` says how.
pub fn conflict(message: String) -> Response {
    error_page(StatusCode::CONFLICT, "Not done", message)
}

pub fn forbidden() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Not allowed",
        "The key you are signed in with may not do this. Nothing was changed.",
    )
}

pub fn server_error() -> Response {
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server failed to show this page. The cause is in its log; please try again later.",
    )
}

pub fn unavailable() -> Response {
    let mut resp = error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "The server cannot reach its database right now, or the page took too long to \
         prepare. Please try again in a moment.",
    );
    resp.headers_mut().insert(
        poem::http::header::RETRY_AFTER,
        poem::http::HeaderValue::from_static("5"),
    );
    resp
}

/// The page for a failed database read, logged once here.
pub fn database_error(context: &str, err: impl Into<DbError>) -> Response {
    let err = err.into();
    if err.as_sql().is_some_and(rieter::db::is_statement_timeout) {
        tracing::warn!("{context}: cancelled by the read statement timeout");
        return unavailable();
    }
    if err.is_unavailable() {
        tracing::warn!(error = %err, "{context}: database unavailable");
        return unavailable();
    }
    tracing::error!(error = %err, "{context}");
    server_error()
}

/// The page for an error poem raised before or around a handler (no route, a method the
/// page does not take, a bad query string).
pub fn for_status(status: StatusCode) -> Response {
    match status {
        s if s.is_server_error() => server_error(),
        StatusCode::METHOD_NOT_ALLOWED => error_page(
            status,
            "Method not allowed",
            "This page does not take this kind of request.",
        ),
        s if s.is_client_error() && s != StatusCode::NOT_FOUND => error_page(
            status,
            "Bad request",
            "The address or the submitted form is malformed.",
        ),
        _ => not_found(),
    }
}

/// A time as pages show it, in UTC.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A machine-readable time for `<time datetime>`.
pub fn datetime(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A `.PKGINFO` build date (seconds since the epoch).
pub fn build_date(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// A size in bytes, in binary units as pacman prints them.
pub fn size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_binary_units() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(5 * 1024 * 1024), "5.0 MiB");
    }

    #[test]
    fn error_pages_are_html_without_internals() {
        let resp = server_error();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(resp.content_type(), Some("text/html; charset=utf-8"));
        assert_eq!(not_found().status(), StatusCode::NOT_FOUND);
        assert_eq!(
            for_status(StatusCode::BAD_REQUEST).status(),
            StatusCode::BAD_REQUEST
        );
    }
}
