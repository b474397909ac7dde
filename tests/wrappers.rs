//! Request and Response wrappers end to end: header accessors, cookies, ETags and
//! conditional responses, driven through the test client. Expected values marked
//! "Werkzeug" were checked against Werkzeug 3.1.8; where zeug follows RFC 9110 instead,
//! the test says so.

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use zeug::body::FileBody;
use zeug::datastructures::{Authorization, ByteRange, ETags, IfRange, Range};
use zeug::http_utils::{generate_etag, http_date};
use zeug::test::{Client, EnvironBuilder};
use zeug::wrappers::{CookieOptions, SameSite};
use zeug::{Environ, HttpException, Request, Response};

fn request(headers: &[(&str, &str)]) -> Request {
    let mut b = EnvironBuilder::new("GET", "/");
    for (k, v) in headers {
        b = b.header(k, v);
    }
    Request::new(b.build())
}

#[test]
fn accept_headers_negotiate() {
    let req = request(&[
        ("accept", "text/html;q=0.9, application/json, */*;q=0.1"),
        ("accept-language", "fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5"),
        ("accept-encoding", "gzip, deflate;q=0.5, br;q=0"),
        ("accept-charset", "utf-8, iso-8859-1;q=0.5"),
    ]);
    assert_eq!(
        req.accept_mimetypes()
            .best_match(&["text/html", "application/json"]),
        Some("application/json")
    );
    assert_eq!(req.accept_mimetypes().quality("image/png"), 0.1);
    assert_eq!(req.accept_languages().best_match(&["en", "fr"]), Some("fr"));
    assert!(!req.accept_encodings().accepts("br"));
    assert_eq!(req.accept_charsets().best(), Some("utf-8"));
}

#[test]
fn authorization_schemes() {
    let req = request(&[("authorization", "Basic YTpiOmM=")]);
    let auth = req.authorization().unwrap();
    // Werkzeug: username "a", password "b:c".
    assert_eq!((auth.username(), auth.password()), (Some("a"), Some("b:c")));

    let req = request(&[("authorization", "Bearer tok.en-1")]);
    assert_eq!(req.authorization().unwrap().token(), Some("tok.en-1"));

    // The header httpbin's digest endpoints receive from `requests`.
    let digest = r#"Digest username="user", realm="me@kennethreitz.com", nonce="0ab1", uri="/digest-auth/auth/user/passwd/MD5", response="6629fae4", opaque="5ccc", algorithm="MD5", qop="auth", nc=00000001, cnonce="e9a4c6""#;
    let req = request(&[("authorization", digest)]);
    let auth = req.authorization().unwrap();
    assert!(matches!(auth, Authorization::Digest(_)));
    for (k, v) in [
        ("username", "user"),
        ("realm", "me@kennethreitz.com"),
        ("nonce", "0ab1"),
        ("uri", "/digest-auth/auth/user/passwd/MD5"),
        ("response", "6629fae4"),
        ("opaque", "5ccc"),
        ("algorithm", "MD5"),
        ("qop", "auth"),
        ("nc", "00000001"),
        ("cnonce", "e9a4c6"),
    ] {
        assert_eq!(auth.param(k), Some(v), "{k}");
    }
    assert!(
        request(&[("authorization", "Basic %%%")])
            .authorization()
            .is_none()
    );
}

#[test]
fn conditional_request_headers() {
    let date = "Sun, 06 Nov 1994 08:49:37 GMT";
    let req = request(&[
        ("if-match", r#""a", W/"b", c"#),
        ("if-none-match", "*"),
        ("if-modified-since", date),
        ("if-unmodified-since", "not a date"),
        ("if-range", r#"W/"x""#),
        ("range", "bytes=0-499, -500"),
        ("user-agent", "curl/8.0"),
    ]);
    // Werkzeug: strong {a, c}, weak {b}.
    assert_eq!(req.if_match().strong(), ["a", "c"]);
    assert_eq!(req.if_match().weak(), ["b"]);
    assert!(req.if_none_match().is_any());
    assert_eq!(
        req.if_modified_since(),
        Some(UNIX_EPOCH + Duration::from_secs(784111777))
    );
    assert_eq!(req.if_unmodified_since(), None);
    assert_eq!(req.if_range(), Some(IfRange::ETag("x".into(), true)));
    let range = req.range().unwrap();
    assert_eq!(
        range.ranges(),
        [ByteRange::FromTo(0, 499), ByteRange::Suffix(500)]
    );
    assert_eq!(req.user_agent(), Some("curl/8.0"));
}

#[test]
fn range_parsing_matches_werkzeug() {
    // (header, Werkzeug's range_for_length(1000))
    let cases: [(&str, Option<(u64, u64)>); 6] = [
        ("bytes=0-499", Some((0, 500))),
        ("bytes=-500", Some((500, 1000))),
        ("bytes=500-", Some((500, 1000))),
        ("bytes=0-0,-1", None),
        ("items=0-5", None),
        ("bytes=0-499, 500-999", None),
    ];
    for (h, expected) in cases {
        let r = Range::parse(h).unwrap();
        assert_eq!(r.range_for_length(1000), expected, "{h}");
    }
    for h in ["bytes=5-1", "bytes=", "bytes=a-b"] {
        assert_eq!(Range::parse(h), None, "{h}");
    }
}

#[test]
fn hostile_headers_never_panic() {
    let junk: &[&[u8]] = &[
        b"",
        b"\xff\xfe\xfd",
        b"bytes=-",
        b"bytes=18446744073709551616-",
        b"Digest =, =, \"",
        b"Basic \xff",
        b"W/\"",
        b";;;;q=;;",
        b"*/*;q=1e999",
        b"%zz%",
        b"a=\"\\",
    ];
    for value in junk {
        let mut env = EnvironBuilder::new("GET", "/").build();
        for name in [
            "accept",
            "accept-language",
            "authorization",
            "if-match",
            "if-none-match",
            "if-modified-since",
            "if-range",
            "range",
            "cookie",
            "cache-control",
        ] {
            env.headers.insert(
                http::header::HeaderName::from_static(name),
                http::HeaderValue::from_bytes(value).unwrap(),
            );
        }
        let req = Request::new(env);
        let _ = req.accept_mimetypes().best();
        let _ = req.accept_languages().best_match(&["en"]);
        let _ = req.authorization();
        let _ = req.if_match().contains("x");
        let _ = req.if_none_match().contains_weak("x");
        let _ = req.if_modified_since();
        let _ = req.if_range();
        let _ = req.range();
        let _ = req.cookies().len();
        let _ = req.cache_control();
        let res = Response::new("body").make_conditional(&req);
        assert!(res.status().as_u16() < 500, "{value:?}");
    }
}

#[test]
fn bad_json_and_bad_percent_escapes() {
    let req = Request::new(
        EnvironBuilder::new("POST", "/?a=%zz&b=%ff")
            .header("content-type", "application/json")
            .body(&b"{\"a\": \xff}"[..])
            .build(),
    );
    assert_eq!(req.args().get("a"), Some("%zz"));
    // Werkzeug (since 2.3) keeps bytes that are not UTF-8 percent-encoded.
    assert_eq!(req.args().get("b"), Some("%FF"));
    assert_eq!(req.json::<serde_json::Value>().unwrap_err().status(), 400);
}

#[test]
fn cookies_round_trip_through_the_client() {
    let client = Client::new(|environ: Environ| {
        let req = Request::new(environ);
        match req.path() {
            "/set" => {
                let mut res = Response::new("set");
                res.set_cookie(
                    "prefs",
                    "a=1; b=\"two\", ü",
                    CookieOptions::new()
                        .http_only(true)
                        .same_site(SameSite::Strict),
                );
                res
            }
            "/delete" => {
                let mut res = Response::new("deleted");
                res.delete_cookie("prefs");
                res
            }
            _ => Response::new(req.cookies().get("prefs").unwrap_or("<none>").to_owned()),
        }
    });
    let set = client.get("/set").send();
    let header = set.header("set-cookie").unwrap();
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Strict"));
    assert_eq!(client.get("/").send().text(), "a=1; b=\"two\", ü");
    client.get("/delete").send();
    assert_eq!(client.get("/").send().text(), "<none>");
}

#[test]
fn werkzeug_quoted_cookie_values_are_read() {
    // What Werkzeug's set_cookie("a", "x;y é") sends.
    let req = request(&[("cookie", r#"a="x\073y \303\251""#)]);
    assert_eq!(req.cookies().get("a"), Some("x;y é"));
}

#[test]
fn delete_cookie_matches_werkzeug() {
    let mut res = Response::new("");
    res.delete_cookie("a");
    // Werkzeug 3.1.9's delete_cookie("a"), byte for byte.
    assert_eq!(
        res.headers()["set-cookie"],
        "a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"
    );
}

/// Cookie hardening end to end: a percent-encoded name is not the prefixed cookie it
/// spells, and a `cookie::Cookie` path cannot inject a `Domain`.
#[test]
fn cookie_prefixes_cannot_be_forged_and_attributes_not_injected() {
    let client = Client::new(|environ: Environ| {
        let req = Request::new(environ);
        if req.path() == "/set" {
            let mut res = Response::new("");
            let path = req.args().get("path").unwrap_or("/").to_owned();
            let c = cookie::Cookie::build(("k", "v")).path(path).build();
            return match res.add_cookie(&c) {
                Ok(()) => res,
                Err(e) => HttpException::bad_request()
                    .with_description(e.to_string())
                    .into_response(),
            };
        }
        Response::new(format!("{:?}", req.cookies().get("__Host-session")))
    });
    let res = client
        .get("/")
        .header("cookie", "%5F%5FHost-session=attacker")
        .send();
    assert_eq!(res.text(), "None");
    let res = client.get("/set?path=/%3B%20Domain%3Devil.com").send();
    assert_eq!(
        res.header("set-cookie"),
        Some("k=v; Path=/%3B%20Domain=evil.com")
    );
}

fn resource(environ: Environ) -> Response {
    let req = Request::new(environ);
    let mut res = Response::new("0123456789");
    res.set_etag("v1", false).unwrap();
    res.set_last_modified(UNIX_EPOCH + Duration::from_secs(1_000_000));
    res.make_conditional(&req)
}

#[test]
fn conditional_statuses() {
    let client = Client::new(resource);
    let lm = http_date(UNIX_EPOCH + Duration::from_secs(1_000_000));
    let cases: &[(&[(&str, &str)], u16)] = &[
        (&[], 200),
        (&[("if-none-match", "\"v1\"")], 304),
        (&[("if-none-match", "W/\"v1\"")], 304),
        (&[("if-none-match", "\"v0\"")], 200),
        (&[("if-modified-since", &lm)], 304),
        (&[("if-match", "\"v2\"")], 412),
        // RFC 9110: `*` matches any current representation (Werkzeug answers 412 here).
        (&[("if-match", "*")], 200),
        (
            &[("if-unmodified-since", "Thu, 01 Jan 1970 00:00:00 GMT")],
            412,
        ),
        (&[("range", "bytes=0-4")], 206),
        (&[("range", "bytes=20-")], 416),
        (&[("range", "bytes=x")], 200),
    ];
    for (headers, status) in cases {
        let mut req = client.get("/");
        for (k, v) in headers.iter() {
            req = req.header(k, v);
        }
        let res = req.send();
        assert_eq!(res.status(), *status, "{headers:?}");
    }
    let res = client.get("/").header("range", "bytes=-3").send();
    assert_eq!(res.header("content-range"), Some("bytes 7-9/10"));
    assert_eq!(res.header("accept-ranges"), Some("bytes"));
    assert_eq!(res.text(), "789");
    let res = client.get("/").header("range", "bytes=20-").send();
    assert_eq!(res.header("content-range"), Some("bytes */10"));
    let res = client.head("/").header("if-none-match", "\"v1\"").send();
    assert_eq!(res.status(), 304);
    assert_eq!(res.header("etag"), Some("\"v1\""));
}

#[test]
fn file_ranges_are_served_from_the_file() {
    let mut file = tempfile::tempfile().unwrap();
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    file.write_all(&data).unwrap();
    let req = request(&[("range", "bytes=50000-50009")]);
    let res = Response::new(FileBody::whole(file).unwrap()).make_conditional(&req);
    assert_eq!(res.status(), 206);
    assert_eq!(res.content_length(), Some(10));
    assert_eq!(
        res.into_body().into_bytes().unwrap().as_ref(),
        &data[50000..50010]
    );
}

#[test]
fn etags_like_werkzeug() {
    // Werkzeug's generate_etag(b"hello").
    assert_eq!(
        generate_etag(b"hello"),
        "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
    );
    let mut res = Response::new("hello");
    res.add_etag();
    assert_eq!(
        res.get_etag(),
        Some(("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d".into(), false))
    );
    let tags = ETags::parse(r#""a", W/"b", c"#);
    assert!(tags.contains("a") && !tags.contains("b") && tags.contains_weak("b"));
}

#[test]
fn cache_control_helpers() {
    let mut res = Response::new("");
    res.update_cache_control(|cc| {
        cc.public = true;
        cc.max_age = Some(600);
        cc.immutable = true;
    });
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=600, immutable"
    );
    assert_eq!(res.cache_control().max_age, Some(600));
    res.set_expires(UNIX_EPOCH + Duration::from_secs(784111777));
    assert_eq!(res.headers()["expires"], "Sun, 06 Nov 1994 08:49:37 GMT");
}

#[test]
fn errors_render_as_json_for_json_clients() {
    let app = |environ: Environ| {
        let headers = environ.headers.clone();
        HttpException::method_not_allowed(&[http::Method::GET]).into_response_for(&headers)
    };
    let client = Client::new(app);
    let res = client.post("/").header("accept", "application/json").send();
    assert_eq!(res.status(), 405);
    assert_eq!(res.header("allow"), Some("GET, HEAD"));
    let body: serde_json::Value = res.json();
    assert_eq!(body["code"], 405);
    let res = client.post("/").header("accept", "text/html").send();
    assert_eq!(res.mimetype(), "text/html");
}

/// Random header values built from the characters parsers care about: no parser panics and
/// `make_conditional` never answers 5xx.
#[test]
fn random_headers_never_panic() {
    use rand::{Rng, SeedableRng};
    let alphabet: &[&str] = &[
        "bytes",
        "=",
        "-",
        ",",
        ";",
        " ",
        "\"",
        "W/",
        "*",
        "q",
        "0",
        "1",
        "9",
        "18446744073709551615",
        "%",
        "%2",
        "%zz",
        "+",
        "\\",
        "é",
        "\u{0}",
        "Basic ",
        "Digest ",
        "Bearer ",
        "a",
        "/",
        ":",
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "max-age",
        "text/html",
        "\u{fffd}",
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..3000 {
        let mut value = String::new();
        for _ in 0..rng.gen_range(0..12) {
            value.push_str(alphabet[rng.gen_range(0..alphabet.len())]);
        }
        let mut env = EnvironBuilder::new("GET", "/").build();
        let header = match http::HeaderValue::from_bytes(value.as_bytes()) {
            Ok(h) => h,
            Err(_) => continue,
        };
        for name in [
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
        ] {
            env.headers
                .insert(http::header::HeaderName::from_static(name), header.clone());
        }
        let req = Request::new(env);
        let _ = req.accept_languages().best_match(&["en", "de-DE", "é"]);
        let _ = req.accept_mimetypes().quality("text/html");
        let _ = req.authorization().map(|a| a.username().map(str::len));
        let _ = req.cookies().len();
        let _ = req.cache_control().to_string();
        let _ = req.range().map(|r| (r.resolve(10), r.to_string()));
        let _ = zeug::datastructures::ContentRange::parse(&value);
        let mut res = Response::new("0123456789");
        res.add_etag();
        res.set_last_modified(UNIX_EPOCH + Duration::from_secs(784111777));
        let res = res.make_conditional(&req);
        assert!(res.status().as_u16() < 500, "{value:?}");
    }
}

/// The spec-shaped application shown in `docs/interface.md`.
#[test]
fn interface_doc_example_runs() {
    use zeug::Body;

    fn simple_app(environ: Environ) -> Response {
        let status = http::StatusCode::OK;
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "text/plain".parse().unwrap());
        let who = environ.remote_addr.unwrap_or_default();
        Response::from_parts(status, headers, Body::from(format!("Hello {who}!\n")))
    }

    let res = Client::new(simple_app).get("/").send();
    assert_eq!(res.text(), "Hello 127.0.0.1!\n");
    assert_eq!(res.header("content-type"), Some("text/plain"));
}

/// Audit #6: headers Werkzeug 3.1.8 reads leniently, and zeug now does too.
#[test]
fn lenient_headers_like_werkzeug() {
    let modified = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
    for since in [
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "06 Nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 8:49:37 GMT",
        "Mon, 06 Nov 1994 08:49:37 GMT",
    ] {
        let req = request(&[("if-modified-since", since)]);
        assert_eq!(req.if_modified_since(), Some(modified), "{since}");
        let mut res = Response::new("body");
        res.set_last_modified(modified);
        assert_eq!(res.make_conditional(&req).status(), 304, "{since}");
    }

    // Basic with a user name only (Werkzeug: user, "") and with extra padding.
    let req = request(&[("authorization", "Basic dXNlcg==")]);
    let auth = req.authorization().unwrap();
    assert_eq!((auth.username(), auth.password()), (Some("user"), Some("")));
    let req = request(&[("authorization", "Basic dXNlcjpwYXNz==")]);
    let auth = req.authorization().unwrap();
    assert_eq!(
        (auth.username(), auth.password()),
        (Some("user"), Some("pass"))
    );

    // A bare cookie name is an empty value (Werkzeug: f="").
    let req = request(&[("cookie", "a=1; f; b=2")]);
    assert_eq!(req.cookies().get("f"), Some(""));
    assert_eq!(req.cookies().len(), 3);

    // An Accept header that lists nothing accepts nothing; a missing one, anything.
    let req = request(&[("accept", "")]);
    assert_eq!(req.accept_mimetypes().best_match(&["text/html"]), None);
    let req = request(&[]);
    assert_eq!(
        req.accept_mimetypes().best_match(&["text/html"]),
        Some("text/html")
    );
    // Media-type parameters distinguish items; invalid q values drop the item.
    let req = request(&[(
        "accept",
        "text/html;level=1;q=0.5, text/html;q=0.9, */*;q=1.5",
    )]);
    assert_eq!(req.accept_mimetypes().quality("text/html;level=1"), 0.5);
    assert_eq!(req.accept_mimetypes().quality("text/html"), 0.9);
    assert_eq!(req.accept_mimetypes().quality("image/png"), 0.0);

    // Spaces before `;` in Content-Type keep the parameters.
    let req = request(&[("content-type", "text/html ; charset=utf-8")]);
    assert_eq!(req.mimetype(), "text/html");
    assert_eq!(
        req.mimetype_params(),
        [("charset".to_owned(), "utf-8".to_owned())]
    );
}

/// Audit #4: host and URLs normalised as Werkzeug's `get_host`.
#[test]
fn host_and_urls_are_normalised() {
    let client = Client::new(|env: Environ| {
        let req = Request::new(env);
        Response::new(format!("{} {} {}", req.host(), req.url(), req.url_root()))
    });
    let res = client
        .get("/get?x=1")
        .header("host", "Example.COM:80")
        .send();
    assert_eq!(
        res.text(),
        "example.com http://example.com/get?x=1 http://example.com/"
    );
    let res = client.get("https://H.com:443/get").send();
    assert_eq!(res.text(), "h.com https://h.com/get https://h.com/");
    let res = client.get("/").header("host", "[::1]:8080").send();
    assert_eq!(
        res.text(),
        "[::1]:8080 http://[::1]:8080/ http://[::1]:8080/"
    );
}
