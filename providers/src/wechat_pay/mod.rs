//! WeChat Pay API v3, JSAPI payments.
