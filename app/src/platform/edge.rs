//! The edge of the app: what every request's text must be before any handler, query, key or log line sees it, and
//! the HTTP status a server function's refusal answers with.
//!
//! Two middlewares, both in `server::router`:
//! - `input_guard` refuses a control character (a NUL byte, say) or an over-long value in the path, the query
//!   string or a server function's form body, with 400 and a Chinese message;
//! - `refusal_status` turns a server function's refusal, which Leptos answers with 500 (or, for a form posted
//!   without JavaScript, a bare redirect back that loses the message), into its true status (`AppError::status`)
//!   and, for a page, a page that says why.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::{ACCEPT, CONTENT_TYPE, LOCATION, REFERER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use crate::error::AppError;

/// The header server_fn marks a refusal's answer with.
const SERVER_FN_ERROR: &str = "serverfnerror";
/// Where server functions are mounted.
const API_PREFIX: &str = "/api/";
/// The largest form body a server function accepts; the console's file upload has its own route and limit.
pub const MAX_FORM_BYTES: usize = 64 * 1024;
/// How much of an over-long body is still read before it is refused: a client whose upload is cut off mid-send
/// may lose the answer in the connection reset, so the 400 page reaches it only if it finished sending.
const READ_BEFORE_REFUSING: usize = 1024 * 1024;
/// The most fields one form may carry (the quiz has one per question).
pub const MAX_FIELDS: usize = 200;
/// The longest field name.
pub const MAX_NAME_CHARS: usize = 64;
/// The longest value of a field not listed in `FIELD_CAPS`; far above any identifier, number or pass the app uses.
pub const DEFAULT_VALUE_CHARS: usize = 256;
/// The longest path, and the longest path segment.
pub const MAX_PATH_CHARS: usize = 1024;
/// Fields with a cap of their own, and whether they may hold line breaks (the console's free-text boxes).
const FIELD_CAPS: &[(&str, usize, bool)] = &[("reason", 500, true), ("note", 500, true)];

/// Why the edge refused a request; each reads as a message for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdgeRefusal {
    #[error("输入内容含有不允许的控制字符，请删除后重新提交")]
    ControlCharacter,
    #[error("输入内容过长，请删减后重新提交")]
    TooLong,
    #[error("提交的内容过多，请返回重试")]
    TooManyFields,
    #[error("提交的内容无法识别，请返回重试")]
    NotText,
}

impl From<EdgeRefusal> for AppError {
    fn from(refusal: EdgeRefusal) -> Self {
        AppError::Invalid(refusal.to_string())
    }
}

fn cap_of(name: &str) -> (usize, bool) {
    FIELD_CAPS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, cap, lines)| (cap, lines))
        .unwrap_or((DEFAULT_VALUE_CHARS, false))
}

/// Whether `c` may appear in a value: no control character, except a line break or tab where `lines` allows.
fn allowed(c: char, lines: bool) -> bool {
    !c.is_control() || (lines && matches!(c, '\n' | '\r' | '\t'))
}

/// Checks one decoded field.
pub fn check_field(name: &str, value: &str) -> Result<(), EdgeRefusal> {
    let (cap, lines) = cap_of(name);
    if !name.chars().all(|c| allowed(c, false)) || !value.chars().all(|c| allowed(c, lines)) {
        return Err(EdgeRefusal::ControlCharacter);
    }
    if name.chars().count() > MAX_NAME_CHARS || value.chars().count() > cap {
        return Err(EdgeRefusal::TooLong);
    }
    Ok(())
}

/// Checks an `application/x-www-form-urlencoded` text (a query string or a form body), as its reader will decode it.
/// Invalid UTF-8 in an escape is refused rather than replaced, since the reader would see something else.
pub fn check_form(encoded: &[u8]) -> Result<(), EdgeRefusal> {
    let mut fields = 0;
    for pair in encoded.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        fields += 1;
        if fields > MAX_FIELDS {
            return Err(EdgeRefusal::TooManyFields);
        }
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        check_field(&decode_component(name)?, &decode_component(value)?)?;
    }
    Ok(())
}

/// One form component decoded: `+` is a space, `%XX` a byte, and the bytes must be UTF-8.
fn decode_component(raw: &[u8]) -> Result<String, EdgeRefusal> {
    let plus_as_space: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|_| EdgeRefusal::NotText)
}

/// Checks a request path as the router will decode its parameters.
pub fn check_path(path: &str) -> Result<(), EdgeRefusal> {
    if path.len() > MAX_PATH_CHARS {
        return Err(EdgeRefusal::TooLong);
    }
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8().map_err(|_| EdgeRefusal::NotText)?;
    if !decoded.chars().all(|c| allowed(c, false)) {
        return Err(EdgeRefusal::ControlCharacter);
    }
    if decoded.split('/').any(|segment| segment.chars().count() > DEFAULT_VALUE_CHARS) {
        return Err(EdgeRefusal::TooLong);
    }
    Ok(())
}

/// Whether the request is a browser's page request or plain form post, which should get a page back.
fn wants_page(headers: &HeaderMap) -> bool {
    headers.get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}

/// Where a refusal page's 返回 button leads: the path of the page the form was on, when it is one of ours.
fn back_link(headers: &HeaderMap) -> String {
    let referer = headers.get(REFERER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let path = referer.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..])).unwrap_or("/");
    if path.starts_with('/') && !path.starts_with("//") && path.chars().all(|c| !c.is_control()) {
        path.to_string()
    } else {
        "/".to_string()
    }
}

/// A page that says why a request was refused, with one button onwards.
pub fn refusal_page(status: StatusCode, message: &str, onward: &str, onward_label: &str) -> Response {
    use super::http::escape_html;
    let body = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>大连智慧交通</title>\
         <link rel=\"stylesheet\" href=\"/vendor/weui.min.css\"></head><body><main class=\"weui-msg\" role=\"alert\">\
         <div class=\"weui-msg__icon-area\"><i class=\"weui-icon-warn weui-icon_msg\" aria-hidden=\"true\"></i></div>\
         <div class=\"weui-msg__text-area\"><h1 class=\"weui-msg__title\">{}</h1></div>\
         <div class=\"weui-msg__opr-area\"><p class=\"weui-btn-area\">\
         <a class=\"weui-btn weui-btn_primary\" href=\"{}\">{}</a></p></div></main></body></html>",
        escape_html(message),
        escape_html(onward),
        escape_html(onward_label),
    );
    (status, Html(body)).into_response()
}

/// A refusal answered the way its asker reads it: a page for a browser, server_fn's encoded error otherwise.
fn refuse(headers: &HeaderMap, path: &str, error: &AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if wants_page(headers) {
        let (onward, label) = match error {
            AppError::NotSignedIn => ("/".to_string(), "返回首页"),
            AppError::StaffNotSignedIn => (crate::error::STAFF_LOGIN_PAGE.to_string(), "登录管理后台"),
            _ => (back_link(headers), "返回"),
        };
        return refusal_page(status, &error.to_string(), &onward, label);
    }
    let body = serde_json::to_vec(error).unwrap_or_default();
    let mut response = (status, body).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(path) = HeaderValue::from_str(path) {
        response.headers_mut().insert(SERVER_FN_ERROR, path);
    }
    response
}

/// Refuses a request whose path, query string or (for a server function) form body holds a control character or
/// an over-long value, before any handler reads it.
pub async fn input_guard(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let checked = check_path(&path).and_then(|()| check_form(request.uri().query().unwrap_or("").as_bytes()));
    if let Err(refusal) = checked {
        return refuse(request.headers(), &path, &refusal.into());
    }
    if !path.starts_with(API_PREFIX) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, READ_BEFORE_REFUSING).await {
        Ok(bytes) if bytes.len() <= MAX_FORM_BYTES => bytes,
        _ => return refuse(&parts.headers, &path, &EdgeRefusal::TooLong.into()),
    };
    // Server functions read their arguments as a form whatever the declared type, so every body is checked as one.
    if let Err(refusal) = check_form(&bytes) {
        tracing::info!(path = %path, reason = ?refusal, "request refused at the edge");
        return refuse(&parts.headers, &path, &refusal.into());
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Gives a server function's refusal its true status (and, to a browser, a page saying why) in place of Leptos'
/// 500 or bare redirect back.
pub async fn refusal_status(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(API_PREFIX) {
        return next.run(request).await;
    }
    let headers = request.headers().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    if !response.headers().contains_key(SERVER_FN_ERROR) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES).await.unwrap_or_default();
    let Ok(error) = serde_json::from_slice::<AppError>(&bytes) else {
        tracing::error!(path = %path, "a server function failed with an unreadable error");
        parts.headers.remove(LOCATION);
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        return Response::from_parts(parts, Body::from(bytes));
    };
    let mut answer = refuse(&headers, &path, &error);
    // Cookies the function set before refusing (a new guest session, say) still reach the browser.
    for cookie in parts.headers.get_all(axum::http::header::SET_COOKIE) {
        answer.headers_mut().append(axum::http::header::SET_COOKIE, cookie.clone());
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_or_other_control_character_is_refused_wherever_it_hides() {
        assert_eq!(check_form(b"plate=%E8%BE%BDB12345&plate_type=02"), Ok(()));
        assert_eq!(check_form(b"plate=B1%002345"), Err(EdgeRefusal::ControlCharacter));
        assert_eq!(check_form(b"pla%00te=B12345"), Err(EdgeRefusal::ControlCharacter));
        assert_eq!(check_form(b"name=%1B%5B31m"), Err(EdgeRefusal::ControlCharacter));
        assert_eq!(check_form(b"name=a%0Ab"), Err(EdgeRefusal::ControlCharacter));
        assert_eq!(check_form(b"name=%C2%85"), Err(EdgeRefusal::ControlCharacter), "C1 controls too");
        assert_eq!(
            check_form(b"reason=%E4%B8%8D%E7%AC%A6%0D%0A%E9%87%8D%E5%A1%AB"),
            Ok(()),
            "a line break in a reason"
        );
        assert_eq!(check_form(b"reason=%00"), Err(EdgeRefusal::ControlCharacter));
        assert_eq!(check_path("/violations/record/%00"), Err(EdgeRefusal::ControlCharacter));
        assert_eq!(check_path("/evidence/R%0A1"), Err(EdgeRefusal::ControlCharacter));
        assert_eq!(check_path("/evidence/R2026"), Ok(()));
    }

    #[test]
    fn every_value_has_a_cap() {
        let at_cap = format!("code={}", "9".repeat(DEFAULT_VALUE_CHARS));
        assert_eq!(check_form(at_cap.as_bytes()), Ok(()));
        let over = format!("code={}", "9".repeat(DEFAULT_VALUE_CHARS + 1));
        assert_eq!(check_form(over.as_bytes()), Err(EdgeRefusal::TooLong));
        // Counted in characters: 256 Chinese characters are as long as 256 digits.
        let chinese = format!("name={}", "张".repeat(DEFAULT_VALUE_CHARS));
        assert_eq!(check_form(chinese.as_bytes()), Ok(()));
        assert_eq!(check_form(format!("note={}", "注".repeat(500)).as_bytes()), Ok(()));
        assert_eq!(check_form(format!("note={}", "注".repeat(501)).as_bytes()), Err(EdgeRefusal::TooLong));
        assert_eq!(check_form(format!("{}=1", "n".repeat(65)).as_bytes()), Err(EdgeRefusal::TooLong));
        let many: Vec<String> = (0..=MAX_FIELDS).map(|n| format!("a{n}=1")).collect();
        assert_eq!(check_form(many.join("&").as_bytes()), Err(EdgeRefusal::TooManyFields));
        assert_eq!(
            check_path(&format!("/evidence/{}", "R".repeat(DEFAULT_VALUE_CHARS + 1))),
            Err(EdgeRefusal::TooLong)
        );
    }

    #[test]
    fn an_escape_that_is_not_utf8_is_refused_not_guessed() {
        assert_eq!(check_form(b"name=%FF%FE"), Err(EdgeRefusal::NotText));
        assert_eq!(check_path("/evidence/%C3"), Err(EdgeRefusal::NotText));
        assert_eq!(check_form(b"a=%zz&b=+x+"), Ok(()), "a stray percent sign is kept as text, as the reader keeps it");
    }

    #[test]
    fn statuses_say_what_happened() {
        assert_eq!(AppError::BadRequest.status(), 400);
        assert_eq!(AppError::Invalid("x".into()).status(), 400);
        assert_eq!(AppError::NotSignedIn.status(), 401);
        assert_eq!(AppError::StaffNotSignedIn.status(), 401);
        assert_eq!(AppError::NotAuthenticated.status(), 403);
        assert_eq!(AppError::Forbidden.status(), 403);
        assert_eq!(AppError::not_found("未找到该处罚决定书").status(), 404);
        assert_eq!(AppError::rejected("请先阅读使用须知").status(), 409);
        assert_eq!(AppError::TooMany("x".into()).status(), 429);
        assert_eq!(AppError::Unavailable.status(), 503);
    }

    #[test]
    fn the_back_link_stays_on_this_site() {
        let headers = |referer: &str| {
            let mut h = HeaderMap::new();
            h.insert(REFERER, HeaderValue::from_str(referer).unwrap());
            h
        };
        assert_eq!(back_link(&headers("http://127.0.0.1:3000/fines?x=1")), "/fines?x=1");
        assert_eq!(back_link(&headers("http://127.0.0.1:3000")), "/");
        assert_eq!(back_link(&headers("https://evil.example//evil.example/x")), "/");
        assert_eq!(back_link(&HeaderMap::new()), "/");
    }
}
