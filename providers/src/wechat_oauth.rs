//! WeChat web sign-in (公众号网页授权, `snsapi_base`).
