//! The httpbin example (`examples/httpbin/`) through the test client: one test per
//! endpoint, each checking the keys, shapes, status codes and headers the Python `httpbin`
//! package gives for the same request.

#[path = "../examples/httpbin/app.rs"]
#[allow(dead_code)]
mod app;

use std::io::Read;

use base64::Engine as _;
use serde_json::{Value, json};
use zeug::test::{Client, TestResponse};

fn client() -> Client {
    Client::new(app::HttpBin::new())
}

fn get(url: &str) -> TestResponse {
    client().get(url).send()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn cors(res: &TestResponse) {
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
}

#[test]
fn index_is_the_landing_page() {
    let res = get("/");
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(res.text().contains("/status/"));
    cors(&res);
}

#[test]
fn get_echoes_url_args_headers_origin() {
    let res = client()
        .get("/get?a=1&a=2&b=%C3%A9&c")
        .header("user-agent", "test/1")
        .header("x-custom_thing", "v")
        .send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert!(res.text().ends_with("}\n"), "jsonify ends with a newline");
    let v: Value = res.json();
    assert_eq!(keys(&v), ["args", "headers", "origin", "url"]);
    assert_eq!(v["args"], json!({"a": ["1", "2"], "b": "é", "c": ""}));
    assert_eq!(v["headers"]["User-Agent"], "test/1");
    assert_eq!(v["headers"]["Host"], "localhost");
    assert_eq!(v["headers"]["X-Custom-Thing"], "v");
    assert_eq!(v["origin"], "127.0.0.1");
    assert_eq!(v["url"], "http://localhost/get?a=1&a=2&b=é&c");
    // Non-ASCII is escaped and keys are sorted, as Flask writes JSON.
    assert!(res.text().contains(r#""b": "\u00e9""#));
    assert!(res.text().starts_with("{\n  \"args\": {\n"));
    cors(&res);
}

#[test]
fn get_refuses_post_with_405_and_allow() {
    let res = client().post("/get").send();
    assert_eq!(res.status(), 405);
    assert_eq!(res.header("allow"), Some("GET, HEAD, OPTIONS"));
    cors(&res);
}

#[test]
fn head_has_get_headers_and_no_body() {
    let res = client().head("/get").send();
    assert_eq!(res.status(), 200);
    assert!(res.bytes().is_empty());
    assert!(res.content_length_header() > 0);
}

trait ContentLength {
    fn content_length_header(&self) -> u64;
}
impl ContentLength for TestResponse {
    fn content_length_header(&self) -> u64 {
        self.header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

#[test]
fn options_answers_cors_preflight() {
    let res = client()
        .options("/post")
        .header("origin", "https://example.org")
        .header("access-control-request-headers", "X-Token")
        .send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("allow"), Some("OPTIONS, POST"));
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://example.org")
    );
    assert_eq!(
        res.header("access-control-allow-methods"),
        Some("GET, POST, PUT, DELETE, PATCH, OPTIONS")
    );
    assert_eq!(res.header("access-control-max-age"), Some("3600"));
    assert_eq!(res.header("access-control-allow-headers"), Some("X-Token"));
    assert!(res.bytes().is_empty());
}

#[test]
fn post_echoes_form_with_lists_for_repeated_keys() {
    let res = client()
        .post("/post?x=1")
        .form(&[("a", "1"), ("a", "2"), ("b", "✓")])
        .send();
    assert_eq!(res.status(), 200);
    let v: Value = res.json();
    assert_eq!(
        keys(&v),
        [
            "args", "data", "files", "form", "headers", "json", "origin", "url"
        ]
    );
    assert_eq!(v["form"], json!({"a": ["1", "2"], "b": "✓"}));
    assert_eq!(v["data"], "");
    assert_eq!(v["files"], json!({}));
    assert_eq!(v["json"], Value::Null);
    assert_eq!(v["args"], json!({"x": "1"}));
    assert_eq!(
        v["headers"]["Content-Type"],
        "application/x-www-form-urlencoded"
    );
}

#[test]
fn post_parses_json_bodies_whatever_the_content_type() {
    let res = client()
        .post("/post")
        .header("content-type", "text/plain")
        .body(r#"{"b": [1, 2.5, 1e100], "a": null}"#)
        .send();
    let v: Value = res.json();
    assert_eq!(v["json"], json!({"a": null, "b": [1, 2.5, 1e100]}));
    assert_eq!(v["data"], r#"{"b": [1, 2.5, 1e100], "a": null}"#);
    assert!(res.text().contains("1e+100"), "Python's float spelling");
    assert_eq!(v["form"], json!({}));
}

#[test]
fn post_shows_binary_bodies_as_data_urls() {
    let res = client().post("/post").body(vec![0xff, 0xfe, b'{']).send();
    let v: Value = res.json();
    assert_eq!(v["data"], "data:application/octet-stream;base64,//57");
    assert_eq!(v["json"], Value::Null);
}

#[test]
fn put_patch_delete_echo_like_post() {
    for method in ["PUT", "PATCH", "DELETE"] {
        let path = format!("/{}", method.to_ascii_lowercase());
        let res = client()
            .request(method, &path)
            .json(&json!({"k": "v"}))
            .send();
        assert_eq!(res.status(), 200, "{method}");
        let v: Value = res.json();
        assert_eq!(v["json"], json!({"k": "v"}), "{method}");
        assert!(v.get("method").is_none(), "{method}");
        assert_eq!(client().get(&path).send().status(), 405);
    }
}

#[test]
fn anything_accepts_any_method_and_path() {
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "TRACE"] {
        let res = client()
            .request(method, "/anything/a%20b/c?q=%E2%9C%93%26")
            .send();
        assert_eq!(res.status(), 200, "{method}");
        let v: Value = res.json();
        assert_eq!(v["method"], method);
        assert_eq!(keys(&v).len(), 9);
        assert_eq!(v["url"], "http://localhost/anything/a%20b/c?q=✓%26");
        assert_eq!(v["args"], json!({"q": "✓&"}));
    }
    assert_eq!(get("/anything").json::<Value>()["method"], "GET");
}

#[test]
fn headers_hide_proxy_headers_unless_show_env() {
    let res = client()
        .get("/headers")
        .header("x-forwarded-for", "1.2.3.4")
        .header("x-a", "1")
        .header("x-a", "2")
        .send();
    let v: Value = res.json();
    assert_eq!(keys(&v), ["headers"]);
    assert!(v["headers"].get("X-Forwarded-For").is_none());
    assert_eq!(v["headers"]["X-A"], "1,2");
    let v: Value = client()
        .get("/headers?show_env=1")
        .header("x-forwarded-for", "1.2.3.4")
        .send()
        .json();
    assert_eq!(v["headers"]["X-Forwarded-For"], "1.2.3.4");
}

#[test]
fn ip_prefers_x_forwarded_for() {
    assert_eq!(get("/ip").json::<Value>(), json!({"origin": "127.0.0.1"}));
    let v: Value = client()
        .get("/ip")
        .header("x-forwarded-for", "1.2.3.4, 10.0.0.1")
        .send()
        .json();
    assert_eq!(v, json!({"origin": "1.2.3.4, 10.0.0.1"}));
}

#[test]
fn url_follows_x_forwarded_proto() {
    let v: Value = client()
        .get("/get")
        .header("x-forwarded-proto", "https")
        .send()
        .json();
    assert_eq!(v["url"], "https://localhost/get");
}

#[test]
fn user_agent_is_echoed_or_null() {
    let v: Value = client()
        .get("/user-agent")
        .header("user-agent", "curl/8")
        .send()
        .json();
    assert_eq!(v, json!({"user-agent": "curl/8"}));
    assert_eq!(
        get("/user-agent").json::<Value>(),
        json!({"user-agent": null})
    );
}

#[test]
fn uuid_is_a_fresh_v4() {
    let a: Value = get("/uuid").json();
    let b: Value = get("/uuid").json();
    let id = uuid::Uuid::parse_str(a["uuid"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 4);
    assert_ne!(a, b);
}

#[test]
fn status_codes_and_their_special_cases() {
    let res = get("/status/201");
    assert_eq!(res.status(), 201);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(res.bytes().is_empty());

    let res = get("/status/418");
    assert_eq!(res.status(), 418);
    assert_eq!(
        res.header("x-more-info"),
        Some("http://tools.ietf.org/html/rfc2324")
    );
    assert!(res.header("content-type").is_none());
    assert!(res.text().contains("teapot"));

    let res = get("/status/302");
    assert_eq!(res.header("location"), Some("/redirect/1"));
    let res = get("/status/401");
    assert_eq!(
        res.header("www-authenticate"),
        Some("Basic realm=\"Fake Realm\"")
    );
    let res = get("/status/406");
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.json::<Value>()["accept"][0], "image/webp");
    let res = get("/status/407");
    assert!(res.header("proxy-authenticate").is_some());
    let res = get("/status/304");
    assert_eq!(res.status(), 304);
    assert!(res.bytes().is_empty());

    for method in ["POST", "PUT", "DELETE", "PATCH", "TRACE"] {
        let res = client().request(method, "/status/204").send();
        assert_eq!(res.status(), 204);
        assert!(res.header("content-length").is_none(), "none on 204");
    }
    for bad in ["/status/abc", "/status/99", "/status/200:x", "/status/200,"] {
        let res = get(bad);
        assert_eq!(res.status(), 400, "{bad}");
        assert_eq!(res.text(), "Invalid status code");
    }
}

#[test]
fn weighted_status_lists_pick_by_weight() {
    for _ in 0..50 {
        assert_eq!(get("/status/200:0,201:1,202:0").status(), 201);
    }
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        seen.insert(get("/status/200,201").status().as_u16());
    }
    assert_eq!(seen, [200, 201].into());
}

#[test]
fn redirect_n_chains_relative_then_to_get() {
    let res = get("/redirect/3");
    assert_eq!(res.status(), 302);
    assert_eq!(res.header("location"), Some("/relative-redirect/2"));
    assert!(res.text().contains("Redirecting..."));
    assert_eq!(get("/redirect/1").header("location"), Some("/get"));
    assert_eq!(
        get("/redirect/2?absolute=TRUE").header("location"),
        Some("http://localhost/absolute-redirect/1")
    );
    assert_eq!(
        get("/redirect/1?absolute=true").header("location"),
        Some("http://localhost/get")
    );
    assert_eq!(get("/redirect/0").status(), 400);
    assert_eq!(get("/redirect/x").status(), 404);
}

#[test]
fn relative_redirect_has_empty_body() {
    let res = get("/relative-redirect/2");
    assert_eq!(res.status(), 302);
    assert_eq!(res.header("location"), Some("/relative-redirect/1"));
    assert!(res.bytes().is_empty());
    assert_eq!(get("/relative-redirect/1").header("location"), Some("/get"));
}

#[test]
fn absolute_redirect_uses_the_host() {
    let res = client()
        .get("/absolute-redirect/2")
        .header("host", "example.com:8080")
        .send();
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.header("location"),
        Some("http://example.com:8080/absolute-redirect/1")
    );
    assert_eq!(
        get("/absolute-redirect/1").header("location"),
        Some("http://localhost/get")
    );
}

#[test]
fn redirect_to_any_method_and_status() {
    let res = get("/redirect-to?url=http://example.com/x%20y");
    assert_eq!(res.status(), 302);
    assert_eq!(res.header("location"), Some("http://example.com/x%20y"));
    assert!(res.bytes().is_empty());
    for method in ["POST", "PUT", "DELETE", "PATCH", "TRACE"] {
        let res = client()
            .request(method, "/redirect-to?url=/a&status_code=307")
            .send();
        assert_eq!(res.status(), 307, "{method}");
        assert_eq!(res.header("location"), Some("/a"));
    }
    assert_eq!(
        get("/redirect-to?url=/a&status_code=200").status(),
        302,
        "non-3xx codes fall back to 302"
    );
    assert_eq!(get("/redirect-to").status(), 400);
    assert_eq!(get("/redirect-to?url=/a&status_code=x").status(), 400);
}

#[test]
fn cookies_lists_first_values_and_hides_tracking_cookies() {
    let res = client()
        .get("/cookies")
        .header("cookie", "a=1; a=2; b=\"x y\"; __utma=9")
        .send();
    assert_eq!(
        res.json::<Value>(),
        json!({"cookies": {"a": "1", "b": "x y"}})
    );
    let v: Value = client()
        .get("/cookies?show_env")
        .header("cookie", "__utma=9")
        .send()
        .json();
    assert_eq!(v["cookies"]["__utma"], "9");
}

#[test]
fn cookies_set_from_query_redirects_to_cookies() {
    let res = get("/cookies/set?a=1&b=x%20y");
    assert_eq!(res.status(), 302);
    assert_eq!(res.header("location"), Some("/cookies"));
    let cookies: Vec<_> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(cookies.len(), 2);
    assert!(cookies[0].starts_with("a=1;"), "{cookies:?}");
    // Werkzeug 3.1.9 (httpbin's server) writes the same header.
    assert_eq!(cookies[1], "b=\"x y\"; Path=/");
    assert!(cookies.iter().all(|c| c.contains("Path=/")));
    // What was set reads back the same.
    let b = cookies[1].split(';').next().unwrap();
    let v: Value = client().get("/cookies").header("cookie", b).send().json();
    assert_eq!(v["cookies"]["b"], "x y");
    let secure = client().get("https://localhost/cookies/set?a=1").send();
    assert!(secure.header("set-cookie").unwrap().contains("Secure"));
}

/// `requests`' `test_cookie_quote_wrapped`: a value in RFC 6265's quoted form goes on the
/// wire as it is, so the client's jar holds `"bar:baz"`.
#[test]
fn cookies_quote_wrapped_values_are_sent_as_is() {
    let res = get("/cookies/set?foo=%22bar:baz%22");
    assert_eq!(res.header("set-cookie"), Some("foo=\"bar:baz\"; Path=/"));
    let client = client();
    client.get("/cookies/set?foo=%22bar:baz%22").send();
    let jar: Vec<_> = client.cookies().into_iter().map(|c| c.raw_value).collect();
    assert_eq!(jar, ["\"bar:baz\""]);
    // Read back as Werkzeug reads it: the quotes are the wire's, not the value's.
    let v: Value = client.get("/cookies").send().json();
    assert_eq!(v["cookies"]["foo"], "bar:baz");
}

#[test]
fn cookies_set_from_path() {
    let res = get("/cookies/set/name/value");
    assert_eq!(res.status(), 302);
    assert_eq!(res.header("location"), Some("/cookies"));
    assert!(res.header("set-cookie").unwrap().starts_with("name=value;"));
}

#[test]
fn cookies_delete_expires_them() {
    let res = get("/cookies/delete?a&b=");
    assert_eq!(res.status(), 302);
    let cookies: Vec<_> = res.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies.len(), 2);
    for c in cookies {
        let c = c.to_str().unwrap();
        assert!(c.contains("Max-Age=0"), "{c}");
        assert!(c.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT"), "{c}");
    }
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

#[test]
fn basic_auth_challenges_then_accepts() {
    let res = get("/basic-auth/user/passwd");
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.header("www-authenticate"),
        Some("Basic realm=\"Fake Realm\"")
    );
    let res = client()
        .get("/basic-auth/user/passwd")
        .header("authorization", &basic("user", "passwd"))
        .send();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>(),
        json!({"authenticated": true, "user": "user"})
    );
    let res = client()
        .get("/basic-auth/user/passwd")
        .header("authorization", &basic("user", "wrong"))
        .send();
    assert_eq!(res.status(), 401);
    let res = client()
        .get("/basic-auth/user/passwd")
        .header("authorization", "Basic %%%")
        .send();
    assert_eq!(res.status(), 401);
}

#[test]
fn hidden_basic_auth_says_404() {
    let res = get("/hidden-basic-auth/user/passwd");
    assert_eq!(res.status(), 404);
    assert!(res.header("www-authenticate").is_none());
    let res = client()
        .get("/hidden-basic-auth/user/passwd")
        .header("authorization", &basic("user", "passwd"))
        .send();
    assert_eq!(res.status(), 200);
}

#[test]
fn bearer_needs_a_token() {
    let res = get("/bearer");
    assert_eq!(res.status(), 401);
    assert_eq!(res.header("www-authenticate"), Some("Bearer"));
    let res = client()
        .get("/bearer")
        .header("authorization", "Bearer abc.def")
        .send();
    assert_eq!(
        res.json::<Value>(),
        json!({"authenticated": true, "token": "abc.def"})
    );
    let res = client()
        .get("/bearer")
        .header("authorization", &basic("a", "b"))
        .send();
    assert_eq!(res.status(), 401);
}

/// Parses a `WWW-Authenticate: Digest ...` challenge into its parameters.
fn challenge_params(header: &str) -> Vec<(String, String)> {
    let rest = header.strip_prefix("Digest ").expect("a Digest challenge");
    let mut out = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').unwrap();
        let (value, after) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap();
            (&q[..end], &q[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.push((key.trim().to_owned(), value.to_owned()));
        rest = after.trim_start_matches(',').trim();
    }
    out
}

/// Answers a Digest challenge the way a client library does.
fn digest_authorization(
    challenge: &[(String, String)],
    user: &str,
    pass: &str,
    method: &str,
    uri: &str,
    qop: &str,
    body: &[u8],
) -> String {
    let get = |k: &str| {
        challenge
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let alg = app::auth::Algorithm::from_name(Some(&get("algorithm")));
    let realm = get("realm");
    let nonce = get("nonce");
    let ha1 = alg.hash(format!("{user}:{realm}:{pass}").as_bytes());
    let ha2 = if qop == "auth-int" {
        alg.hash(format!("{method}:{uri}:{}", alg.hash(body)).as_bytes())
    } else {
        alg.hash(format!("{method}:{uri}").as_bytes())
    };
    let (nc, cnonce) = ("00000001", "0a4f113b");
    let response = alg.hash(format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}").as_bytes());
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         algorithm={}, response=\"{response}\", opaque=\"{}\", qop={qop}, nc={nc}, cnonce=\"{cnonce}\"",
        get("algorithm"),
        get("opaque")
    )
}

#[test]
fn digest_auth_challenge_and_success_for_each_algorithm() {
    for (algorithm, hex_len) in [("MD5", 32), ("SHA-256", 64), ("SHA-512", 128)] {
        let url = format!("/digest-auth/auth/user/passwd/{algorithm}");
        let res = get(&url);
        assert_eq!(res.status(), 401, "{algorithm}");
        let header = res.header("www-authenticate").unwrap().to_owned();
        let params = challenge_params(&header);
        let param = |k: &str| params.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(param("realm"), "me@kennethreitz.com");
        assert_eq!(param("qop"), "auth");
        assert_eq!(param("algorithm"), algorithm);
        assert_eq!(param("stale"), "False");
        assert_eq!(param("nonce").len(), hex_len);
        let cookies: Vec<_> = res.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies.len(), 2);

        let auth = digest_authorization(&params, "user", "passwd", "GET", &url, "auth", b"");
        let res = client().get(&url).header("authorization", &auth).send();
        assert_eq!(res.status(), 200, "{algorithm}: {}", res.text());
        assert_eq!(
            res.json::<Value>(),
            json!({"authenticated": true, "user": "user"})
        );

        let wrong = digest_authorization(&params, "user", "nope", "GET", &url, "auth", b"");
        let res = client().get(&url).header("authorization", &wrong).send();
        assert_eq!(res.status(), 401);
    }
}

#[test]
fn digest_auth_int_covers_the_body_and_query() {
    let url = "/digest-auth/auth-int/u/p?x=1";
    let params = challenge_params(get(url).header("www-authenticate").unwrap());
    assert!(params.iter().any(|(k, v)| k == "qop" && v == "auth-int"));
    let auth = digest_authorization(&params, "u", "p", "GET", url, "auth-int", b"");
    assert_eq!(
        client()
            .get(url)
            .header("authorization", &auth)
            .send()
            .status(),
        200
    );
    // A qop the URL leaves open offers both.
    let params = challenge_params(
        get("/digest-auth/any/u/p")
            .header("www-authenticate")
            .unwrap(),
    );
    assert!(
        params
            .iter()
            .any(|(k, v)| k == "qop" && v == "auth, auth-int")
    );
}

#[test]
fn digest_auth_stale_after_and_repeated_nonces() {
    let url = "/digest-auth/auth/u/p/MD5/1";
    let res = get(url);
    assert!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("stale_after=1;"))
    );
    let params = challenge_params(res.header("www-authenticate").unwrap());
    let auth = digest_authorization(&params, "u", "p", "GET", url, "auth", b"");
    // First use succeeds and counts stale_after down to 0.
    let res = client()
        .get(url)
        .header("authorization", &auth)
        .header("cookie", "stale_after=1; fake=fake_value")
        .send();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("stale_after=0;"))
    );
    // With stale_after=0 the nonce is stale: a new challenge with stale=True.
    let res = client()
        .get(url)
        .header("authorization", &auth)
        .header("cookie", "stale_after=0; fake=fake_value")
        .send();
    assert_eq!(res.status(), 401);
    assert!(
        res.header("www-authenticate")
            .unwrap()
            .ends_with("stale=True")
    );
    // Replaying the last nonce is also stale.
    let nonce = params.iter().find(|(k, _)| k == "nonce").unwrap().1.clone();
    let res = client()
        .get(url)
        .header("authorization", &auth)
        .header("cookie", &format!("last_nonce={nonce}"))
        .send();
    assert_eq!(res.status(), 401);
    assert!(
        res.header("www-authenticate")
            .unwrap()
            .ends_with("stale=True")
    );
}

#[test]
fn digest_auth_require_cookie() {
    let url = "/digest-auth/auth/u/p?require-cookie=true";
    let params = challenge_params(get(url).header("www-authenticate").unwrap());
    let auth = digest_authorization(&params, "u", "p", "GET", url, "auth", b"");
    // Credentials without the cookie get a fresh challenge.
    let res = client().get(url).header("authorization", &auth).send();
    assert_eq!(res.status(), 401);
    // The wrong cookie is a 403 explaining why.
    let res = client()
        .get(url)
        .header("authorization", &auth)
        .header("cookie", "other=1")
        .send();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<Value>(),
        json!({"errors": ["missing cookie set on challenge"]})
    );
    let res = client()
        .get(url)
        .header("authorization", &auth)
        .header("cookie", "fake=fake_value")
        .send();
    assert_eq!(res.status(), 200);
}

#[test]
fn stream_writes_n_json_lines_in_pythons_format() {
    let res = client()
        .get("/stream/3?x=1")
        .header("user-agent", "t")
        .send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert!(res.header("content-length").is_none(), "streamed");
    let text = res.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    for (i, line) in lines.iter().enumerate() {
        assert!(line.starts_with(
            "{\"url\": \"http://localhost/stream/3?x=1\", \"args\": {\"x\": \"1\"}, \"headers\": {"
        ));
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["id"], i);
        assert_eq!(v["origin"], "127.0.0.1");
    }
    assert_eq!(get("/stream/1000").text().lines().count(), 100);
}

#[test]
fn stream_bytes_are_chunked_and_seeded_like_python() {
    let res = get("/stream-bytes/8?seed=1&chunk_size=3");
    assert_eq!(res.header("content-type"), Some("application/octet-stream"));
    assert!(res.header("content-length").is_none());
    // python3 -c 'import random; random.seed(1); print(bytes(random.randint(0,255) for _ in range(8)).hex())'
    assert_eq!(hex::encode(res.bytes()), "4420823cfde6f1c2");
    assert_eq!(get("/stream-bytes/200000").bytes().len(), 102_400);
}

#[test]
fn bytes_are_random_or_seeded() {
    let res = get("/bytes/8?seed=1");
    assert_eq!(res.header("content-type"), Some("application/octet-stream"));
    assert_eq!(res.header("content-length"), Some("8"));
    assert_eq!(hex::encode(res.bytes()), "4420823cfde6f1c2");
    assert_ne!(get("/bytes/32").bytes(), get("/bytes/32").bytes());
    assert_eq!(get("/bytes/999999").bytes().len(), 102_400);
    assert_eq!(get("/bytes/4?seed=x").status(), 400);
}

#[test]
fn delay_waits_then_echoes() {
    let start = std::time::Instant::now();
    let res = client().post("/delay/0.2").form(&[("a", "1")]).send();
    assert!(start.elapsed() >= std::time::Duration::from_millis(200));
    assert_eq!(res.status(), 200);
    let v: Value = res.json();
    assert_eq!(
        keys(&v),
        ["args", "data", "files", "form", "headers", "origin", "url"]
    );
    assert_eq!(v["form"], json!({"a": "1"}));
    assert_eq!(get("/delay/abc").status(), 400);
    assert_eq!(get("/delay/-1").status(), 400);
    assert_eq!(app::dynamic::capped_seconds(3600.0).unwrap().as_secs(), 10);
}

#[test]
fn drip_sends_numbytes_with_content_length() {
    let res = get("/drip?numbytes=5&duration=0.1&code=201");
    assert_eq!(res.status(), 201);
    assert_eq!(res.header("content-length"), Some("5"));
    assert_eq!(res.header("content-type"), Some("application/octet-stream"));
    assert_eq!(res.text(), "*****");
    let res = get("/drip?numbytes=0");
    assert_eq!(res.status(), 400);
    assert_eq!(res.text(), "number of bytes must be positive");
}

#[test]
fn drip_streams_lazily() {
    // The body is produced as it is pulled: the call returns and the first byte comes
    // before the first pause (5 s here). The bound is half the drip: it fails only if the
    // app waited, however slow the machine.
    let app = app::HttpBin::new();
    let start = std::time::Instant::now();
    let res = zeug::Application::call(
        &app,
        zeug::test::EnvironBuilder::new("GET", "/drip?numbytes=2&duration=10").build(),
    );
    let mut chunks = res.into_body().into_chunks();
    assert_eq!(&chunks.next().unwrap().unwrap()[..], b"*");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    drop(chunks);

    // Pulling the rest takes the pauses: 3 bytes over 0.6 s, two pauses of 0.2 s.
    let start = std::time::Instant::now();
    let res = zeug::Application::call(
        &app,
        zeug::test::EnvironBuilder::new("GET", "/drip?numbytes=3&duration=0.6").build(),
    );
    assert_eq!(res.into_body().into_chunks().count(), 3);
    assert!(start.elapsed() >= std::time::Duration::from_millis(350));
}

#[test]
fn range_serves_whole_partial_and_unsatisfiable() {
    let res = get("/range/30");
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "abcdefghijklmnopqrstuvwxyzabcd");
    assert_eq!(res.header("etag"), Some("range30"));
    assert_eq!(res.header("accept-ranges"), Some("bytes"));
    assert_eq!(res.header("content-range"), Some("bytes 0-29/30"));
    assert_eq!(res.header("content-length"), Some("30"));

    let res = client()
        .get("/range/30?chunk_size=2")
        .header("range", "bytes=10-14")
        .send();
    assert_eq!(res.status(), 206);
    assert_eq!(res.text(), "klmno");
    assert_eq!(res.header("content-range"), Some("bytes 10-14/30"));
    assert_eq!(res.header("content-length"), Some("5"));

    let res = client().get("/range/30").header("range", "bytes=-3").send();
    assert_eq!(res.text(), "bcd");
    let res = client()
        .get("/range/30")
        .header("range", "bytes=28-")
        .send();
    assert_eq!(res.text(), "cd");

    let res = client()
        .get("/range/30")
        .header("range", "bytes=40-50")
        .send();
    assert_eq!(res.status(), 416);
    assert_eq!(res.header("content-range"), Some("bytes */30"));
    assert!(res.bytes().is_empty());

    let res = get("/range/0");
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.text(),
        "number of bytes must be in the range (0, 102400]"
    );
}

#[test]
fn links_pages() {
    let res = get("/links/3/1");
    assert_eq!(
        res.text(),
        "<html><head><title>Links</title></head><body><a href='/links/3/0'>0</a> 1 <a href='/links/3/2'>2</a> </body></html>"
    );
    assert_eq!(get("/links/3").header("location"), Some("/links/3/0"));
}

#[test]
fn base64_decodes_url_safe_values() {
    let res = get("/base64/SFRUUEJJTiBpcyBhd2Vzb21l");
    assert_eq!(res.text(), "HTTPBIN is awesome");
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    // URL-safe alphabet; "ü?" encodes to "w7w_".
    assert_eq!(get("/base64/w7w_").text(), "ü?");
    assert_eq!(
        get("/base64/YQ").text(),
        "Incorrect Base64 data try: SFRUUEJJTiBpcyBhd2Vzb21l"
    );
    assert_eq!(get("/base64/__8=").text(), app::dynamic::BASE64_HELP);
}

fn decoded_json(mut reader: impl Read) -> Value {
    let mut text = String::new();
    reader.read_to_string(&mut text).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn gzip_always_compresses() {
    let res = client()
        .get("/gzip")
        .header("accept-encoding", "identity")
        .send();
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert_eq!(res.header("content-type"), Some("application/json"));
    // Negotiated (it echoes Accept-Encoding): caches must key on it.
    assert_eq!(res.header("vary"), Some("Accept-Encoding"));
    assert_eq!(
        res.header("content-length"),
        Some(res.bytes().len().to_string().as_str())
    );
    let v = decoded_json(flate2::read::GzDecoder::new(&res.bytes()[..]));
    assert_eq!(v["gzipped"], true);
    assert_eq!(v["method"], "GET");
    assert_eq!(keys(&v), ["gzipped", "headers", "method", "origin"]);
}

#[test]
fn deflate_is_zlib_wrapped() {
    let res = get("/deflate");
    assert_eq!(res.header("content-encoding"), Some("deflate"));
    assert_eq!(res.header("vary"), Some("Accept-Encoding"));
    let v = decoded_json(flate2::read::ZlibDecoder::new(&res.bytes()[..]));
    assert_eq!(v["deflated"], true);
}

#[test]
#[cfg(feature = "brotli")]
fn brotli_compresses() {
    let res = get("/brotli");
    assert_eq!(res.header("content-encoding"), Some("br"));
    assert_eq!(res.header("vary"), Some("Accept-Encoding"));
    let v = decoded_json(brotli::Decompressor::new(&res.bytes()[..], 4096));
    assert_eq!(v["brotli"], true);
}

#[test]
fn encoding_utf8_is_utf8_html() {
    let res = get("/encoding/utf8");
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    let text = std::str::from_utf8(res.bytes()).unwrap();
    assert!(text.contains("Съешь") && text.contains("😀"));
}

#[test]
fn html_is_moby_dick() {
    let res = get("/html");
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(res.text().contains("<h1>Herman Melville - Moby-Dick</h1>"));
}

#[test]
fn json_is_the_slideshow() {
    let res = get("/json");
    assert_eq!(res.header("content-type"), Some("application/json"));
    let v: Value = res.json();
    assert_eq!(v["slideshow"]["title"], "Sample Slide Show");
    assert_eq!(
        v["slideshow"]["slides"][1]["items"][0],
        "Why <em>WonderWidgets</em> are great"
    );
}

#[test]
fn xml_is_application_xml() {
    let res = get("/xml");
    assert_eq!(res.header("content-type"), Some("application/xml"));
    assert!(
        res.text()
            .starts_with("<?xml version='1.0' encoding='us-ascii'?>")
    );
    assert!(res.text().contains("<slideshow"));
}

#[test]
fn robots_txt_disallows_deny() {
    let res = get("/robots.txt");
    assert_eq!(res.header("content-type"), Some("text/plain"));
    assert_eq!(res.text(), "User-agent: *\nDisallow: /deny\n");
}

#[test]
fn deny_is_plain_text() {
    let res = get("/deny");
    assert_eq!(res.header("content-type"), Some("text/plain"));
    assert!(res.text().contains("YOU SHOULDN'T BE HERE"));
}

#[test]
fn cache_answers_304_to_any_conditional_request() {
    let res = get("/cache");
    assert_eq!(res.status(), 200);
    assert!(res.header("last-modified").unwrap().ends_with(" GMT"));
    assert_eq!(res.header("etag").unwrap().len(), 32);
    assert_eq!(
        keys(&res.json::<Value>()),
        ["args", "headers", "origin", "url"]
    );
    for (name, value) in [
        ("if-none-match", "\"whatever\""),
        ("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT"),
    ] {
        let res = client().get("/cache").header(name, value).send();
        assert_eq!(res.status(), 304, "{name}");
        assert!(res.bytes().is_empty());
    }
}

#[test]
fn cache_n_sets_cache_control() {
    let res = get("/cache/60");
    assert_eq!(res.header("cache-control"), Some("public, max-age=60"));
    assert_eq!(res.json::<Value>()["url"], "http://localhost/cache/60");
}

#[test]
fn etag_honours_if_none_match_and_if_match() {
    let res = get("/etag/abc");
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("etag"), Some("abc"));
    let res = client()
        .get("/etag/abc")
        .header("if-none-match", "\"x\", W/\"abc\"")
        .send();
    assert_eq!(res.status(), 304);
    assert_eq!(res.header("etag"), Some("abc"));
    let res = client()
        .get("/etag/abc")
        .header("if-none-match", "\"x\"")
        .send();
    assert_eq!(res.status(), 200);
    let res = client().get("/etag/abc").header("if-match", "\"x\"").send();
    assert_eq!(res.status(), 412);
    let res = client().get("/etag/abc").header("if-match", "*").send();
    assert_eq!(res.status(), 200);
}

#[test]
fn response_headers_sets_and_lists_them() {
    let res = get("/response-headers?a=1&a=2&X-Test=t");
    assert_eq!(res.status(), 200);
    let a: Vec<_> = res.headers().get_all("a").iter().collect();
    assert_eq!(a, ["1", "2"]);
    assert_eq!(res.header("x-test"), Some("t"));
    let v: Value = res.json();
    assert_eq!(v["a"], json!(["1", "2"]));
    assert_eq!(v["X-Test"], "t");
    assert_eq!(v["Content-Type"], "application/json");
    // The body states its own length.
    assert_eq!(v["Content-Length"], res.bytes().len().to_string());
    assert_eq!(client().post("/response-headers?a=1").send().status(), 200);
    assert_eq!(get("/response-headers?bad%20name=1").status(), 400);
    assert_eq!(get("/response-headers?Content-Length=1").status(), 400);
}

#[test]
fn forms_post_points_at_post() {
    let res = get("/forms/post");
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(res.text().contains("action=\"/post\""));
    assert!(res.text().contains("name=\"custname\""));
}

#[test]
fn unknown_urls_are_404_with_cors() {
    let res = get("/nope");
    assert_eq!(res.status(), 404);
    cors(&res);
}

#[test]
fn mounted_under_a_prefix_builds_urls_with_it() {
    let app = app::HttpBin::new();
    let env = zeug::test::EnvironBuilder::new("GET", "/redirect/2")
        .script_name("/bin")
        .build();
    let res = zeug::Application::call(&app, env);
    assert_eq!(res.location(), Some("/bin/relative-redirect/1"));
}

#[test]
fn range_duration_paces_the_chunks_like_httpbin() {
    // The first chunk at once: before the first pause (5 s for 2 chunks over 10 s; the
    // bound fails only if the app waited).
    let app = app::HttpBin::new();
    let start = std::time::Instant::now();
    let res = zeug::Application::call(
        &app,
        zeug::test::EnvironBuilder::new("GET", "/range/30?chunk_size=15&duration=10").build(),
    );
    let mut chunks = res.into_body().into_chunks();
    assert_eq!(&chunks.next().unwrap().unwrap()[..], b"abcdefghijklmno");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    drop(chunks);

    // 3 chunks over 0.6 s: one every 0.2 s, the end after the last pause.
    let start = std::time::Instant::now();
    let res = zeug::Application::call(
        &app,
        zeug::test::EnvironBuilder::new("GET", "/range/30?chunk_size=10&duration=0.6").build(),
    );
    assert_eq!(res.into_body().into_chunks().count(), 3);
    assert!(start.elapsed() >= std::time::Duration::from_millis(550));
}

#[test]
fn post_shows_multipart_fields_and_first_file_per_field() {
    let res = client()
        .post("/post")
        .form(&[("x", "1"), ("x", "2")])
        .file("f", "a.txt", "hello\n", "text/plain")
        .file("f", "b.txt", "second", "text/plain")
        .file("g", "p.png", vec![0xff, 0xfe, b'{'], "image/png")
        .send();
    assert_eq!(res.status(), 200, "{}", res.text());
    let v: Value = res.json();
    assert_eq!(v["form"], json!({"x": ["1", "2"]}));
    assert_eq!(
        v["files"],
        json!({"f": "hello\n", "g": "data:image/png;base64,//57"})
    );
    assert_eq!(v["data"], "");
    assert!(
        v["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("multipart/form-data; boundary=")
    );
}

#[test]
fn hostile_values_are_client_errors_not_panics() {
    assert_eq!(get("/etag/a%0Ab").status(), 400);
    assert_eq!(
        get("/range/30?chunk_size=9223372036854775807").status(),
        200
    );
    assert_eq!(
        get("/stream-bytes/10?chunk_size=-5").bytes().len(),
        10,
        "chunk sizes below 1 are 1"
    );
    assert_eq!(get("/bytes/99999999999999999999999").status(), 404);
    assert_eq!(get("/drip?numbytes=2&duration=nan").status(), 400);
    assert_eq!(get("/drip?code=99").status(), 400);
    assert_eq!(get("/cookies/set?a%3Bb=c%0D%0A").status(), 302);
    assert_eq!(get("/redirect-to?url=/a%0D%0Ab").status(), 302);
    assert_eq!(get("/links/5/-1").status(), 404);
    assert_eq!(get("/base64/%FF%FE").status(), 200);
}
