//! Fuzzes the header parsers of `Request` and `http_utils`, conditional responses, the test
//! client's cookie jar and session cookies: arbitrary header values must never panic, and
//! `make_conditional` must never answer with a 5xx.
//!
//! Input layout: byte 0 picks which header the rest is sent as (all of them when it is
//! 255); the rest is the header value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zeug::datastructures::{Authorization, CacheControl, ContentRange, ETags, Range};
use zeug::http_utils;
use zeug::test::{Client, EnvironBuilder};
use zeug::{Environ, Request, Response};

const HEADERS: &[&str] = &[
    "accept",
    "accept-language",
    "authorization",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
    "range",
    "cookie",
    "cache-control",
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, value)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(value);
    let _ = Authorization::parse(&text);
    let _ = ETags::parse(&text).to_string();
    let _ = Range::parse(&text).map(|r| (r.resolve(1000), r.to_string()));
    let _ = ContentRange::parse(&text).map(|c| c.to_string());
    let _ = CacheControl::parse(&text).to_string();
    let _ = http_utils::parse_if_range_header(&text);
    let _ = http_utils::parse_header_params(&text);
    let _ = zeug::urls::decode_component(value, true);

    let Ok(header) = http::HeaderValue::from_bytes(value) else {
        return;
    };
    let mut env = EnvironBuilder::new("GET", "/").build();
    for (i, name) in HEADERS.iter().enumerate() {
        if which == 255 || usize::from(which) % HEADERS.len() == i {
            env.headers
                .insert(http::header::HeaderName::from_static(name), header.clone());
        }
    }
    let req = Request::new(env);
    let _ = req.accept_mimetypes().best_match(&["text/html", "application/json"]);
    let _ = req.accept_languages().best_match(&["en", "de-DE"]);
    let _ = req.authorization();
    let _ = req.cookies().len();
    let mut res = Response::new("0123456789");
    res.add_etag();
    let res = res.make_conditional(&req);
    assert!(res.status().as_u16() < 500);

    // The same bytes as a Set-Cookie the client's jar has to store.
    let cookie = header.clone();
    let client = Client::new(move |_env: Environ| {
        let mut res = Response::new("");
        res.headers_mut().append("set-cookie", cookie.clone());
        res
    });
    client.get("/").send();
    client.get("/").send();
});
