//! The test client: cookie jar rules, redirects, uploads, auth and `TestResponse`.

use std::time::Duration;

use zeug::http::HeaderValue;
use zeug::test::{Client, EnvironBuilder};
use zeug::utils::redirect;
use zeug::wrappers::CookieOptions;
use zeug::{Environ, Request, Response};

/// Echoes the request: method, URL, body and the cookies it carried.
fn echo(environ: Environ) -> Response {
    let req = Request::new(environ);
    let body = req.get_text().unwrap_or_default();
    let cookies: Vec<String> = req
        .cookies()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    Response::json(&serde_json::json!({
        "method": req.method().as_str(),
        "url": req.url(),
        "body": body,
        "content_type": req.content_type(),
        "cookies": cookies.join("; "),
        "authorization": req.header("authorization"),
    }))
}

fn cookie_app(environ: Environ) -> Response {
    let req = Request::new(environ);
    let q = |k: &str| req.args().get(k).map(str::to_owned);
    match req.path() {
        "/set" => {
            let mut options = CookieOptions::new();
            if let Some(p) = q("path") {
                options = options.path(Some(&p));
            }
            if let Some(d) = q("domain") {
                options = options.domain(&d).unwrap();
            }
            if q("secure").is_some() {
                options = options.secure(true);
            }
            if let Some(age) = q("max_age") {
                options = options.max_age(Duration::from_secs(age.parse().unwrap()));
            }
            let mut res = Response::new("set");
            res.set_cookie(
                &q("name").unwrap(),
                &q("value").unwrap_or_default(),
                options,
            );
            res
        }
        "/delete" => {
            let mut res = Response::new("deleted");
            res.delete_cookie(&q("name").unwrap());
            res
        }
        "/expire" => {
            // An Expires date in the past, without Max-Age.
            let cookie = format!(
                "{}=x; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Path=/",
                q("name").unwrap()
            );
            Response::new("").with_header("set-cookie", HeaderValue::try_from(cookie).unwrap())
        }
        _ => echo(req_environ_dummy(&req)),
    }
}

/// Re-creates the echo for a request already wrapped (the cookie app's fallback).
fn req_environ_dummy(req: &Request) -> Environ {
    let mut b = EnvironBuilder::new(req.method().as_str(), &req.url());
    for (k, v) in req.headers() {
        b.headers_mut().append(k.clone(), v.clone());
    }
    b.build()
}

fn cookies_seen(client: &Client, url: &str) -> String {
    let v: serde_json::Value = client.get(url).send().json();
    v["cookies"].as_str().unwrap().to_owned()
}

#[test]
fn jar_keeps_and_sends_cookies() {
    let client = Client::new(cookie_app);
    client.get("/set?name=a&value=1").send();
    client.get("/set?name=b&value=x%3By").send();
    assert_eq!(cookies_seen(&client, "/"), "a=1; b=x;y");
    assert_eq!(client.get_cookie("b").as_deref(), Some("x;y"));
}

#[test]
fn jar_honours_paths() {
    let client = Client::new(cookie_app);
    client.get("/set?name=p&value=1&path=/admin").send();
    assert_eq!(cookies_seen(&client, "/"), "");
    assert_eq!(cookies_seen(&client, "/admin"), "p=1");
    assert_eq!(cookies_seen(&client, "/admin/users"), "p=1");
    assert_eq!(cookies_seen(&client, "/administrator"), "");
}

#[test]
fn jar_honours_domains() {
    let client = Client::new(cookie_app);
    client
        .get("http://www.example.com/set?name=d&value=1&domain=example.com")
        .send();
    client
        .get("http://www.example.com/set?name=h&value=2")
        .send();
    // A site cannot set cookies for another one.
    client
        .get("http://www.example.com/set?name=x&value=3&domain=other.org")
        .send();
    assert_eq!(cookies_seen(&client, "http://api.example.com/"), "d=1");
    assert_eq!(cookies_seen(&client, "http://www.example.com/"), "d=1; h=2");
    assert_eq!(cookies_seen(&client, "http://other.org/"), "");
    assert_eq!(cookies_seen(&client, "/"), "");
}

#[test]
fn jar_honours_secure_and_expiry() {
    let client = Client::new(cookie_app);
    client
        .get("https://localhost/set?name=s&value=1&secure=1")
        .send();
    assert_eq!(cookies_seen(&client, "http://localhost/"), "");
    assert_eq!(cookies_seen(&client, "https://localhost/"), "s=1");

    client.get("/set?name=t&value=1&max_age=3600").send();
    assert_eq!(cookies_seen(&client, "/"), "t=1");
    client.get("/delete?name=t").send();
    assert_eq!(cookies_seen(&client, "/"), "");

    client.get("/set?name=e&value=1").send();
    client.get("/expire?name=e").send();
    assert_eq!(cookies_seen(&client, "/"), "");
}

#[test]
fn jar_can_be_managed_and_disabled() {
    let client = Client::new(cookie_app);
    client.set_cookie("manual", "v w");
    assert_eq!(cookies_seen(&client, "/"), "manual=v w");
    client.delete_cookie("manual");
    assert_eq!(cookies_seen(&client, "/"), "");
    client.set_cookie("a", "1");
    client.clear_cookies();
    assert!(client.cookies().is_empty());

    let client = Client::new(cookie_app).use_cookies(false);
    client.get("/set?name=a&value=1").send();
    assert_eq!(cookies_seen(&client, "/"), "");
}

fn redirector(environ: Environ) -> Response {
    let path = environ.path_info.clone();
    if let Some(code) = path.strip_prefix("/code/") {
        return redirect("/target", code.parse().unwrap());
    }
    match path.as_str() {
        "/chain/1" => redirect("2", 302),
        "/chain/2" => redirect("../chain/3?x=1#frag", 302),
        "/chain/3" => redirect("http://other.test/final", 301),
        "/loop" => redirect("/loop", 302),
        "/ping" => redirect("/pong", 302),
        "/pong" => redirect("/ping", 302),
        _ => echo(environ),
    }
}

#[test]
fn redirects_change_method_like_browsers() {
    let client = Client::new(redirector).follow_redirects(true);
    for code in [301, 302, 303] {
        let res = client
            .post(&format!("/code/{code}"))
            .form(&[("a", "1")])
            .send();
        let v: serde_json::Value = res.json();
        assert_eq!(v["method"], "GET", "{code}");
        assert_eq!(v["body"], "", "{code}");
        assert_eq!(v["content_type"], serde_json::Value::Null, "{code}");
        assert_eq!(res.history().len(), 1);
        assert_eq!(res.history()[0].status(), code);
    }
    for code in [307, 308] {
        let res = client.put(&format!("/code/{code}")).body("payload").send();
        let v: serde_json::Value = res.json();
        assert_eq!(v["method"], "PUT", "{code}");
        assert_eq!(v["body"], "payload", "{code}");
    }
    let res = client.head("/code/302").send();
    assert_eq!(res.request().method, "HEAD");
    assert_eq!(res.status(), 200);
}

#[test]
fn redirects_resolve_relative_and_absolute_locations() {
    let client = Client::new(redirector);
    let res = client.get("/chain/1").follow_redirects(true).send();
    assert_eq!(res.url(), "http://other.test/final");
    let urls: Vec<&str> = res.history().iter().map(|r| r.url()).collect();
    assert_eq!(
        urls,
        [
            "http://localhost/chain/1",
            "http://localhost/chain/2",
            "http://localhost/chain/3?x=1"
        ]
    );
    let v: serde_json::Value = res.json();
    assert_eq!(v["url"], "http://other.test/final");
    // Without following, the redirect itself comes back.
    let res = client.get("/chain/1").send();
    assert_eq!(res.status(), 302);
    assert!(res.is_redirect());
    assert!(res.history().is_empty());
}

#[test]
fn credentials_are_not_sent_to_other_hosts() {
    let client = Client::new(redirector).follow_redirects(true);
    let res = client.get("/chain/1").basic_auth("u", "p").send();
    let v: serde_json::Value = res.json();
    assert_eq!(v["authorization"], serde_json::Value::Null);
    let res = client.get("/code/302").basic_auth("u", "p").send();
    let v: serde_json::Value = res.json();
    assert_eq!(v["authorization"], "Basic dTpw");
}

#[test]
#[should_panic(expected = "redirect loop detected")]
fn self_redirects_are_loops() {
    Client::new(redirector)
        .get("/loop")
        .follow_redirects(true)
        .send();
}

#[test]
#[should_panic(expected = "redirect loop detected")]
fn ping_pong_is_a_loop() {
    Client::new(redirector)
        .get("/ping")
        .follow_redirects(true)
        .send();
}

#[test]
#[should_panic(expected = "too many redirects")]
fn redirect_limit() {
    let app = |environ: Environ| {
        let n: u32 = environ
            .path_info
            .trim_start_matches('/')
            .parse()
            .unwrap_or(0);
        redirect(&format!("/{}", n + 1), 302)
    };
    Client::new(app)
        .max_redirects(5)
        .get("/0")
        .follow_redirects(true)
        .send();
}

#[test]
fn cookies_set_during_redirects_are_kept() {
    let app = |environ: Environ| {
        let req = Request::new(environ);
        if req.path() == "/login" {
            return redirect("/home", 302).with_cookie("sid", "abc", CookieOptions::new());
        }
        Response::new(req.cookies().get("sid").unwrap_or("-").to_owned())
    };
    let client = Client::new(app).follow_redirects(true);
    assert_eq!(client.post("/login").send().text(), "abc");
}

/// Audit #1: `/protected` -> `/login` (sets a cookie) -> `/protected` is not a loop.
#[test]
fn login_bounce_back_to_the_same_url_is_not_a_loop() {
    fn app(env: Environ) -> Response {
        let req = Request::new(env);
        match req.path() {
            "/protected" if req.cookies().get("s").is_none() => redirect("/login", 302),
            "/protected" => Response::new("secret"),
            _ => redirect("/protected", 302).with_cookie("s", "1", CookieOptions::new()),
        }
    }
    let res = Client::new(app)
        .get("/protected")
        .follow_redirects(true)
        .send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "secret");
    let urls: Vec<&str> = res.history().iter().map(|r| r.url()).collect();
    assert_eq!(
        urls,
        ["http://localhost/protected", "http://localhost/login"]
    );
}

/// A loop that keeps changing a cookie is not detected early; `max_redirects` stops it.
#[test]
#[should_panic(expected = "too many redirects")]
fn a_loop_that_changes_cookies_hits_the_limit() {
    let app = |env: Environ| {
        let req = Request::new(env);
        let n: u32 = req
            .cookies()
            .get("n")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        redirect("/again", 302).with_cookie("n", &(n + 1).to_string(), CookieOptions::new())
    };
    Client::new(app)
        .max_redirects(4)
        .get("/again")
        .follow_redirects(true)
        .send();
}

/// Audit #11: the jar sends a cookie back exactly as it was set, as a browser does, so the
/// view parses it the way it would parse a browser's.
#[test]
fn jar_replays_cookie_values_verbatim() {
    let app = |env: Environ| {
        let req = Request::new(env);
        if req.path() == "/set" {
            let mut res = Response::new("");
            for raw in ["q=\"quoted value\"; Path=/", "x=\"a\\\"b\"", "p=a%3Bb"] {
                res.headers_mut().append("set-cookie", raw.parse().unwrap());
            }
            return res;
        }
        Response::json(&serde_json::json!({
            "header": req.header("cookie"),
            "q": req.cookies().get("q"),
            "x": req.cookies().get("x"),
            "p": req.cookies().get("p"),
        }))
    };
    let client = Client::new(app);
    client.get("/set").send();
    let v: serde_json::Value = client.get("/read").send().json();
    assert_eq!(v["header"], "q=\"quoted value\"; x=\"a\\\"b\"; p=a%3Bb");
    assert_eq!(v["q"], "quoted value");
    assert_eq!(v["x"], "a\"b");
    // Read as Werkzeug reads it: percent escapes are not cookie quoting.
    assert_eq!(v["p"], "a%3Bb");
    // Inspection shows the value the view sees.
    assert_eq!(client.get_cookie("q").as_deref(), Some("quoted value"));
    let q = client
        .cookies()
        .into_iter()
        .find(|c| c.name == "q")
        .unwrap();
    assert_eq!(q.raw_value, "\"quoted value\"");
}

#[test]
fn multipart_uploads_are_well_formed() {
    let client = Client::new(echo);
    let res = client
        .post("/upload")
        .form(&[("title", "a \"quoted\" name")])
        .file("doc", "notes.txt", "line 1\r\nline 2", "text/plain")
        .file("img", "pic.png", vec![0u8, 255, 13, 10], "image/png")
        .send();
    let v: serde_json::Value = res.json();
    let ct = v["content_type"].as_str().unwrap();
    let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
    assert!(boundary.len() >= 30);
    let body = v["body"].as_str().unwrap();
    let parts: Vec<&str> = body.split(&format!("--{boundary}")).collect();
    // preamble, three parts, and the closing "--\r\n"
    assert_eq!(parts.len(), 5);
    assert!(parts[1].contains("name=\"title\"\r\n\r\na \"quoted\" name\r\n"));
    assert!(parts[2].contains("name=\"doc\"; filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n"));
    assert!(parts[3].contains("filename=\"pic.png\"\r\nContent-Type: image/png"));
    assert_eq!(parts[4], "--\r\n");
    // Each request gets its own boundary.
    let other: serde_json::Value = client.post("/").file("f", "a", "b", "").send().json();
    assert_ne!(other["content_type"], v["content_type"]);
}

#[test]
fn test_response_accessors() {
    let client = Client::new(|environ: Environ| {
        Response::json(&serde_json::json!({"path": environ.path_info, "q": environ.query_string}))
            .with_header("x-extra", "1")
    });
    let res = client.get("/a b").query(&[("k", "v w")]).send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("x-extra"), Some("1"));
    assert_eq!(res.mimetype(), "application/json");
    #[derive(serde::Deserialize)]
    struct Echo {
        path: String,
        q: String,
    }
    let e: Echo = res.json();
    assert_eq!((e.path.as_str(), e.q.as_str()), ("/a b", "k=v+w"));
    assert!(res.text().contains("\"path\""));
    assert_eq!(res.bytes().len(), res.text().len());
    assert_eq!(res.request().method, "GET");
    assert_eq!(res.url(), "http://localhost/a b?k=v+w");
}

#[test]
fn environ_builder_is_complete() {
    let env = EnvironBuilder::new("POST", "https://example.org:8443/app/x?a=1")
        .script_name("/app")
        .remote_addr(Some("10.0.0.7"))
        .remote_port(5555)
        .version(http::Version::HTTP_10)
        .flags(false, true, true)
        .basic_auth("u", "p")
        .json(&serde_json::json!([1, 2]))
        .extension("marker")
        .build();
    assert_eq!(env.url_scheme, "https");
    assert_eq!(
        (env.server_name.as_str(), env.server_port),
        ("example.org", 8443)
    );
    assert_eq!(env.remote_addr.as_deref(), Some("10.0.0.7"));
    assert_eq!(env.remote_port, Some(5555));
    assert_eq!(env.version, http::Version::HTTP_10);
    assert!(!env.multithread && env.multiprocess && env.run_once);
    assert_eq!(env.headers["content-length"], "5");
    assert_eq!(env.extensions.get::<&str>(), Some(&"marker"));
}

#[test]
fn uploads_parse_back_into_files() {
    let client = Client::new(|environ: Environ| {
        let req = Request::new(environ);
        let form = req.form().unwrap();
        let files = req.files().unwrap();
        let mut out = vec![format!("title={}", form.get("title").unwrap_or("-"))];
        for (field, file) in files.iter() {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut file.reader().unwrap(), &mut data).unwrap();
            out.push(format!(
                "{field}:{}:{}:{}",
                file.filename().unwrap_or("-"),
                file.content_type().unwrap_or("-"),
                data.len()
            ));
        }
        Response::new(out.join("\n"))
    });
    let big = vec![b'x'; 300_000];
    let res = client
        .post("/")
        .form(&[("title", "Zoë's \"notes\"")])
        .file("doc", "notes.txt", "a\r\n--b", "text/plain")
        .file("blob", "big.bin", big, "application/octet-stream")
        .send();
    assert_eq!(
        res.text(),
        "title=Zoë's \"notes\"\ndoc:notes.txt:text/plain:6\nblob:big.bin:application/octet-stream:300000"
    );
}
