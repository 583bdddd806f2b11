//! The api's one error type. It owns the mapping to HTTP statuses, renders every error as an
//! RFC 9457 problem document, logs a server error once with its cause, and never shows
//! internal error text to the client.

use std::fmt::Display;

use poem::Response;
use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use rieter::db::{DbError, is_statement_timeout};

/// An RFC 9457 problem details document, the body of every 4xx and 5xx response.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[oai(rename = "Problem")]
pub struct Problem {
    /// A URI reference identifying the problem type; `about:blank` when the status says it all.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type (the HTTP status phrase).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for a human.
    pub detail: String,
}

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }
}

#[derive(Debug, ApiResponse)]
#[oai(bad_request_handler = "from_poem_error")]
pub enum ApiError {
    /// The request is malformed: an invalid name, parameter or body.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No valid API key was presented.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>, #[oai(header = "WWW-Authenticate")] String),
    /// The API key is valid but may not do this.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// The resource does not exist.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The request conflicts with the current state.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The body is larger than the server accepts.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// The request body's content type is not one the operation accepts.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// The server failed; the cause is in its log.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
    /// A dependency (the database) is unavailable; retry later.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>, #[oai(header = "Retry-After")] String),
    /// The server has no space left to store the upload.
    #[oai(status = 507, content_type = "application/problem+json")]
    InsufficientStorage(Json<Problem>),
}

pub(crate) const MISSING_KEY: &str = "an API key is required: send `Authorization: Bearer <key>`, \
    `X-Api-Key: <key>` or HTTP Basic auth with the key as password";

const WWW_AUTHENTICATE: &str = r#"Bearer realm="rieter", Basic realm="rieter""#;

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest(Json(Problem::new(StatusCode::BAD_REQUEST, detail)))
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::Unauthorized(
            Json(Problem::new(StatusCode::UNAUTHORIZED, detail)),
            WWW_AUTHENTICATE.to_owned(),
        )
    }

    /// No key was presented where one is needed.
    pub fn key_required() -> Self {
        Self::unauthorized(MISSING_KEY)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden(Json(Problem::new(StatusCode::FORBIDDEN, detail)))
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound(Json(Problem::new(StatusCode::NOT_FOUND, detail)))
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict(Json(Problem::new(StatusCode::CONFLICT, detail)))
    }

    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::PayloadTooLarge(Json(Problem::new(StatusCode::PAYLOAD_TOO_LARGE, detail)))
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::UnsupportedMediaType(Json(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            detail,
        )))
    }

    pub fn insufficient_storage(detail: impl Into<String>) -> Self {
        Self::InsufficientStorage(Json(Problem::new(StatusCode::INSUFFICIENT_STORAGE, detail)))
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::Unavailable(
            Json(Problem::new(StatusCode::SERVICE_UNAVAILABLE, detail)),
            "5".to_owned(),
        )
    }

    /// A server-side failure: logged here, once, with its cause; the client sees a generic
    /// message.
    pub fn internal(context: &str, cause: impl Display) -> Self {
        tracing::error!(error = %cause, "{context}");
        Self::Internal(Json(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed to handle this request; the cause is in its log",
        )))
    }

    /// A database failure: `503` while the database is unreachable or when a read ran past
    /// its time limit, else a logged `500`.
    pub fn database(context: &str, err: impl Into<DbError>) -> Self {
        let err = err.into();
        if err.as_sql().is_some_and(is_statement_timeout) {
            tracing::warn!("{context}: cancelled by the read statement timeout");
            return Self::unavailable(
                "this request needed more database time than the server allows; \
                 narrow it (a distribution, repository or architecture, a longer `q`) \
                 or retry later",
            );
        }
        if err.is_unavailable() {
            tracing::warn!(error = %err, "{context}: database unavailable");
            Self::unavailable("the database is unavailable; retry shortly")
        } else {
            Self::internal(context, err)
        }
    }
}

/// Turns errors raised while extracting the request (poem-openapi's parameter, body and
/// authorization errors) into problem documents.
fn from_poem_error(err: poem::Error) -> ApiError {
    let status = err.status();
    let detail = err.to_string();
    match status {
        StatusCode::UNAUTHORIZED => ApiError::unauthorized(MISSING_KEY),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(detail),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::unsupported_media_type(detail),
        s if s.is_server_error() => ApiError::internal("request extraction failed", detail),
        _ => ApiError::bad_request(detail),
    }
}

pub fn problem_response(status: StatusCode, detail: impl Into<String>) -> Response {
    let body = serde_json::to_vec(&Problem::new(status, detail)).unwrap_or_default();
    Response::builder()
        .status(status)
        .content_type(PROBLEM_CONTENT_TYPE)
        .body(body)
}
