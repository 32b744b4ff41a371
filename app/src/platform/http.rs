//! HTTP helpers every area's routes and server functions share: the same-origin guard, the refusal page, the
//! request's client key and cookies, the response's cookies, and the development SMS outbox route.

use axum::extract::{Query, Request, State};
use axum::http::header::{HOST, ORIGIN, REFERER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::session::cookie_value;
use super::state::AppState;
use crate::domain::Mobile;
use crate::error::AppError;
use crate::platform::gateway::is_notify_path;

/// The development routes: the SMS outbox, when codes go to it.
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    if state.config.sms_provider == super::config::SmsProvider::DevOutbox {
        router = router.route("/dev/sms", get(dev_sms));
    }
    router
}

/// A plain refusal page with a way back home.
pub fn plain_error(status: StatusCode, message: &str) -> Response {
    super::edge::refusal_page(status, message, "/", "返回首页")
}

#[derive(Deserialize)]
struct DevSms {
    phone: Option<String>,
}

/// `GET /dev/sms?phone=NUMBER`: the development outbox for one phone, newest first.
async fn dev_sms(State(state): State<AppState>, Query(q): Query<DevSms>) -> Response {
    let Some(phone) = q.phone.as_deref().and_then(|p| Mobile::parse(p).ok()) else {
        return plain_error(StatusCode::BAD_REQUEST, "请提供正确的手机号：/dev/sms?phone=13800000000");
    };
    match super::sms::outbox(&state.db, &phone).await {
        Ok(messages) => {
            // Bodies carry what users typed elsewhere (names in a card application's message, say): escaped.
            let items: String = messages
                .iter()
                .map(|m| format!("<li data-sent-at=\"{}\">{}</li>", m.sent_at, escape_html(&m.body)))
                .collect();
            Html(format!(
                "<!doctype html><meta charset=utf-8><title>开发短信收件箱</title><h1>{}</h1><ol id=\"sms\">{items}</ol>",
                escape_html(phone.as_str())
            ))
            .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "reading the outbox failed");
            plain_error(StatusCode::SERVICE_UNAVAILABLE, &AppError::Unavailable.to_string())
        }
    }
}

/// Text made safe to place in HTML.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Refuses state-changing requests whose `Origin` (or, failing that, `Referer`) is not this site.
pub async fn same_origin_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) || is_notify_path(request.uri().path())
    {
        return next.run(request).await;
    }
    if is_same_origin(request.headers(), state.config.public_origin.as_deref()) {
        next.run(request).await
    } else {
        tracing::warn!(path = %request.uri().path(), "cross-site request refused");
        plain_error(StatusCode::FORBIDDEN, "请求来源无效，请从本站页面提交")
    }
}

/// Whether a request comes from a page of this site, by `Origin` or else `Referer`: the same scheme and host as
/// `PUBLIC_ORIGIN`, or without it plain `http://` and the request's `Host` (the app itself serves no TLS).
pub fn is_same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let source = headers
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|v| *v != "null")
        .or_else(|| headers.get(REFERER).and_then(|v| v.to_str().ok()));
    let Some((source_scheme, rest)) = source.and_then(|s| s.split_once("://")) else {
        return false;
    };
    let source_host = rest.split(['/', '?', '#']).next().unwrap_or("");
    match public_origin {
        Some(origin) => {
            let origin = origin.trim_end_matches('/');
            origin.split_once("://").is_some_and(|(scheme, host)| {
                scheme.eq_ignore_ascii_case(source_scheme) && host.eq_ignore_ascii_case(source_host)
            })
        }
        None => {
            source_scheme.eq_ignore_ascii_case("http")
                && headers.get(HOST).and_then(|v| v.to_str().ok()) == Some(source_host)
        }
    }
}

/// Inside a server function: the key per-client limits count under — the client's address as `TRUSTED_PROXIES`
/// allow it to be known (see `client::client_address`), an IPv6 client's /64.
pub fn client_key() -> String {
    let Some(state) = leptos::prelude::use_context::<AppState>() else {
        return "unknown".into();
    };
    leptos::prelude::with_context::<axum::http::request::Parts, _>(|parts| {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?.0.ip();
        let client = super::client::client_address(peer, &parts.headers, &state.config.trusted_proxies);
        Some(super::client::limit_key(client))
    })
    .flatten()
    .unwrap_or_else(|| "unknown".into())
}

/// Inside a server function: the value of the request's cookie `name`, if it sent one.
pub fn request_cookie(name: &str) -> Option<String> {
    leptos::prelude::with_context::<axum::http::request::Parts, _>(|parts| {
        cookie_value(&parts.headers, name).map(String::from)
    })
    .flatten()
}

/// Inside a server function: replaces the session cookie on the response.
pub fn set_response_cookie(value: &str) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(SET_COOKIE, HeaderValue::from_str(value).expect("ascii cookie"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(axum::http::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn same_site_posts_pass_and_cross_site_ones_do_not() {
        let ok = headers(&[(HOST, "127.0.0.1:3000"), (ORIGIN, "http://127.0.0.1:3000")]);
        assert!(is_same_origin(&ok, None));
        let evil = headers(&[(HOST, "127.0.0.1:3000"), (ORIGIN, "http://evil.example")]);
        assert!(!is_same_origin(&evil, None));
        let referer_only = headers(&[(HOST, "127.0.0.1:3000"), (REFERER, "http://127.0.0.1:3000/realname")]);
        assert!(is_same_origin(&referer_only, None));
        let neither = headers(&[(HOST, "127.0.0.1:3000")]);
        assert!(!is_same_origin(&neither, None));
        let behind_proxy = headers(&[(HOST, "10.0.0.5:3000"), (ORIGIN, "https://jt.example.cn")]);
        assert!(is_same_origin(&behind_proxy, Some("https://jt.example.cn")));
        assert!(!is_same_origin(&behind_proxy, Some("https://other.example.cn")));
    }

    #[test]
    fn the_same_origin_check_compares_the_scheme_too() {
        // A page on plain http (a hostile Wi-Fi's injected form, say) is not the https site.
        let downgraded = headers(&[(HOST, "jt.example.cn"), (ORIGIN, "http://jt.example.cn")]);
        assert!(!is_same_origin(&downgraded, Some("https://jt.example.cn")));
        let tls = headers(&[(HOST, "127.0.0.1:3000"), (ORIGIN, "https://127.0.0.1:3000")]);
        assert!(!is_same_origin(&tls, None), "the app serves http itself");
        let referer = headers(&[(HOST, "jt.example.cn"), (REFERER, "http://jt.example.cn/realname")]);
        assert!(!is_same_origin(&referer, Some("https://jt.example.cn")));
        let query_host = headers(&[(HOST, "127.0.0.1:3000"), (REFERER, "http://127.0.0.1:3000?x=1")]);
        assert!(is_same_origin(&query_host, None));
    }
}
