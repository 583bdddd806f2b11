//! One log line per request, naming the matched operation rather than the raw path, with the
//! request's id (also answered as `X-Request-Id`, and on every line logged while serving it)
//! and the client's address (from `X-Forwarded-For` only when the peer is a trusted proxy).

use std::net::IpAddr;
use std::time::Instant;

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;
use rieter::settings::proxies::{TrustedProxy, client_address};
use tracing::Instrument;

use crate::state::AppState;

const REQUEST_ID: &str = "x-request-id";
/// The longest request id taken from a client (or a proxy in front).
const MAX_REQUEST_ID: usize = 128;

pub async fn log_requests<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let method = req.method().clone();
    let id = request_id(&req);
    let trusted: &[TrustedProxy] = req
        .data::<AppState>()
        .map(|s| &s.trusted_proxies[..])
        .unwrap_or(&[]);
    let client = client(&req, trusted);
    let span = tracing::info_span!("request", request.id = %id);
    let mut resp = match next.call(req).instrument(span.clone()).await {
        Ok(resp) => resp.into_response(),
        Err(err) => err.into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, value);
    }
    let is_page = resp
        .headers()
        .get(poem::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let operation = resp
        .data::<OperationId>()
        .map(|id| id.0)
        .unwrap_or(if is_page { "page" } else { "other" });
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    record(operation, &method, status, elapsed, &resp);
    let client = client.map(|c| c.to_string()).unwrap_or_default();
    let _entered = span.enter();
    if status >= 500 {
        tracing::warn!(http.method = %method, http.operation = operation, http.status = status, duration_ms, client.address = %client, "request");
    } else {
        tracing::info!(http.method = %method, http.operation = operation, http.status = status, duration_ms, client.address = %client, "request");
    }
    Ok(resp)
}

/// Counts the request, its latency and the bytes its answer announced (`rieter::metrics`).
fn record(
    operation: &'static str,
    method: &poem::http::Method,
    status: u16,
    elapsed: std::time::Duration,
    resp: &Response,
) {
    use rieter::metrics::{HTTP_BYTES, HTTP_DURATION, HTTP_REQUESTS};
    metrics::counter!(HTTP_REQUESTS, "operation" => operation, "method" => method.to_string(),
        "status" => status.to_string())
    .increment(1);
    metrics::histogram!(HTTP_DURATION, "operation" => operation).record(elapsed.as_secs_f64());
    let bytes = resp
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(bytes) = bytes {
        metrics::counter!(HTTP_BYTES, "operation" => operation).increment(bytes);
    }
}

/// The id a proxy in front gave the request, if it is a sane one, else a new one.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= MAX_REQUEST_ID
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

fn client(req: &Request, trusted: &[TrustedProxy]) -> Option<IpAddr> {
    let peer = req.remote_addr().as_socket_addr()?.ip();
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(client_address(peer, &forwarded, trusted))
}
