//! One log line per request, naming the matched operation rather than the raw path.

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;

pub async fn log_requests<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let method = req.method().clone();
    let resp = next.call(req).await?.into_response();
    let operation = resp
        .data::<OperationId>()
        .map(|id| id.0)
        .unwrap_or("unmatched");
    let status = resp.status().as_u16();
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(http.method = %method, http.operation = operation, http.status = status, duration_ms, "request");
    } else {
        tracing::info!(http.method = %method, http.operation = operation, http.status = status, duration_ms, "request");
    }
    Ok(resp)
}
