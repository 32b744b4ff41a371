//! A request id for every request: the caller's `X-Request-Id` when it is a short plain token (a reverse proxy's or
//! a load balancer's), otherwise a new one. It names the tracing span around the request, so every log line the
//! request causes carries it, and it goes back in the response's `X-Request-Id`.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header that carries the id both ways.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id taken from a caller.
const MAX_LEN: usize = 64;

/// This request's id, for a handler that wants to name it (an error page, a call to an outside system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Whether a caller's id is safe to log and echo: 1 to 64 letters, digits, `-`, `_` or `.` (no spaces, no
/// control characters, nothing that could forge a log line, nothing long enough to carry data).
pub fn is_sane(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A new id: 16 random hex digits.
pub fn generate() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Gives the request its id and runs it inside a span named by it (with the method and the route's pattern, never
/// the path, which can carry a decision number or a plate).
pub async fn trace_requests(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_sane(id))
        .map(str::to_string)
        .unwrap_or_else(generate);
    let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or(super::metrics::UNMATCHED);
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), route = %route);
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).instrument(span).await;
    let value = HeaderValue::from_str(&id).expect("a sane or generated id is a valid header value");
    response.headers_mut().insert(HEADER, value);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_tokens_are_taken_from_the_caller() {
        for good in ["abc", "0f3c9a7e-1d2b-4c5d-8e9f-0a1b2c3d4e5f", "req_1.2", &"a".repeat(64)] {
            assert!(is_sane(good), "{good}");
        }
        for bad in ["", "a b", "x\ny", "13804110001 张三", &"a".repeat(65), "a=b", "{\"x\":1}"] {
            assert!(!is_sane(bad), "{bad}");
        }
    }

    #[test]
    fn generated_ids_are_sane_and_differ() {
        let (a, b) = (generate(), generate());
        assert!(is_sane(&a) && a.len() == 16, "{a}");
        assert_ne!(a, b);
    }
}
