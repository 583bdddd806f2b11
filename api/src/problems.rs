//! The outermost layer of the api: every error response gets the problem shape, including
//! those raised outside the OpenAPI operations (unknown routes, wrong methods with their
//! `Allow` header, panics caught by poem). It sits above the routes, so `error` (which the
//! routes use) does not depend on them.

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response};

use crate::allow;
use crate::error::{ApiError, MISSING_KEY, PROBLEM_CONTENT_TYPE, problem_response};

/// Middleware giving every error response the problem shape, including those raised outside
/// the OpenAPI operations (unknown routes, wrong methods, panics caught by poem).
pub async fn problem_responses<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let path = req.uri().path().to_owned();
    match next.call(req).await {
        Ok(resp) => Ok(resp.into_response()),
        Err(err) => {
            let status = err.status();
            let detail = err.to_string();
            let resp = err.into_response();
            // An `ApiError` is already a problem document, and a 500 among them was logged
            // where it was made.
            if resp.content_type() == Some(PROBLEM_CONTENT_TYPE) {
                return Ok(resp);
            }
            let detail = if status.is_server_error() {
                tracing::error!(error = %detail, "unhandled server error");
                "the server failed to handle this request; the cause is in its log".to_owned()
            } else {
                detail
            };
            if status == StatusCode::UNAUTHORIZED {
                // poem-openapi rejects a request without any credentials before the operation
                // runs; say how to send them.
                return Ok(ApiError::unauthorized(MISSING_KEY).into_response());
            }
            let mut resp = problem_response(status, detail);
            if status == StatusCode::METHOD_NOT_ALLOWED
                && let Some(methods) = allow::allowed(&path)
                && let Ok(value) = poem::http::HeaderValue::from_str(&methods)
            {
                resp.headers_mut().insert(poem::http::header::ALLOW, value);
            }
            Ok(resp)
        }
    }
}
