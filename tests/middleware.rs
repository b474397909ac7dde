//! Middleware across modules: SharedData, ProxyFix, Dispatcher, Lint and Compress, driven
//! through the test client (no sockets).

use std::io::Read;
use std::path::Path;

use bytes::Bytes;
use zeug::middleware::{
    Compress, Dispatcher, Lint, LintKind, LintWarnings, ProxyFix, ProxyFixOriginal, SharedData,
};
use zeug::test::{Client, EnvironBuilder};
use zeug::{Application, Body, Environ, Request, Response};

type BoxedApp = Box<dyn Fn(Environ) -> Response + Send + Sync>;

fn fallback(environ: Environ) -> Response {
    Response::new(format!("app saw {} {}", environ.method, environ.path_info)).with_status(404)
}

/// A static tree: `public/` is mounted, `secret.txt` sits beside it and must never leak.
fn static_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let public = dir.path().join("public");
    std::fs::create_dir_all(public.join("css")).unwrap();
    std::fs::create_dir_all(public.join("private")).unwrap();
    std::fs::write(public.join("css/site.css"), "body { color: red }\n").unwrap();
    std::fs::write(public.join("hello.txt"), "hello, static world\n").unwrap();
    std::fs::write(public.join("app.py"), "print('source')\n").unwrap();
    std::fs::write(public.join("private/key.pem"), "KEY").unwrap();
    std::fs::write(public.join("ünï.txt"), "unicode name").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "TOP SECRET").unwrap();
    std::fs::write(dir.path().join("favicon.ico"), [0u8, 0, 1, 0]).unwrap();
    dir
}

fn shared(dir: &Path) -> Client {
    Client::new(
        SharedData::new(fallback)
            .mount("/static", dir.join("public"))
            .mount("/favicon.ico", dir.join("favicon.ico"))
            .disallow("*.py")
            .disallow("private/*")
            .cache_timeout(600),
    )
}

// ---------------------------------------------------------------------------- SharedData

#[test]
fn shared_data_serves_files_with_caching_headers() {
    let dir = static_tree();
    let client = shared(dir.path());
    let res = client.get("/static/css/site.css").send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "body { color: red }\n");
    assert_eq!(res.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(res.header("content-length"), Some("20"));
    assert_eq!(res.header("cache-control"), Some("public, max-age=600"));
    assert!(res.header("etag").unwrap().starts_with('"'));
    assert!(res.header("last-modified").unwrap().ends_with("GMT"));
    assert!(res.header("content-disposition").is_none());

    let res = client.get("/static/%C3%BCn%C3%AF.txt").send();
    assert_eq!(res.text(), "unicode name");
    let res = client.get("/favicon.ico").send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().as_ref(), &[0u8, 0, 1, 0]);
}

#[test]
fn shared_data_keeps_the_body_a_file_for_sendfile() {
    let dir = static_tree();
    let app = SharedData::new(fallback).mount("/static", dir.path().join("public"));
    let res = app.call(EnvironBuilder::new("GET", "/static/hello.txt").build());
    assert!(matches!(res.body(), Body::File(_)), "{:?}", res.body());
}

#[test]
fn shared_data_answers_conditional_and_range_requests() {
    let dir = static_tree();
    let client = shared(dir.path());
    let first = client.get("/static/hello.txt").send();
    let etag = first.header("etag").unwrap().to_owned();
    let last_modified = first.header("last-modified").unwrap().to_owned();

    let res = client
        .get("/static/hello.txt")
        .header("if-none-match", &etag)
        .send();
    assert_eq!(res.status(), 304);
    assert!(res.bytes().is_empty());

    let res = client
        .get("/static/hello.txt")
        .header("if-modified-since", &last_modified)
        .send();
    assert_eq!(res.status(), 304);

    let res = client
        .get("/static/hello.txt")
        .header("range", "bytes=0-4")
        .send();
    assert_eq!(res.status(), 206);
    assert_eq!(res.text(), "hello");
    assert_eq!(res.header("content-range"), Some("bytes 0-4/20"));

    let res = client
        .get("/static/hello.txt")
        .header("range", "bytes=500-")
        .send();
    assert_eq!(res.status(), 416);
}

#[test]
fn shared_data_head_has_headers_and_no_body() {
    let dir = static_tree();
    let app = SharedData::new(fallback).mount("/static", dir.path().join("public"));
    let res = app.call(EnvironBuilder::new("HEAD", "/static/hello.txt").build());
    assert_eq!(res.status(), 200);
    assert_eq!(res.content_length(), Some(20));
    assert!(res.body().is_empty());
}

#[test]
fn shared_data_falls_through_when_nothing_matches() {
    let dir = static_tree();
    let client = shared(dir.path());
    for (method, path) in [
        ("GET", "/static/missing.css"),
        ("GET", "/static/css"),
        ("GET", "/static/"),
        ("GET", "/static"),
        ("GET", "/staticx/hello.txt"),
        ("GET", "/other"),
        ("POST", "/static/hello.txt"),
        ("GET", "/favicon.ico/x"),
    ] {
        let res = client.request(method, path).send();
        assert_eq!(
            res.text(),
            format!("app saw {method} {path}"),
            "{method} {path}"
        );
    }
}

#[test]
fn shared_data_disallowed_names_fall_through() {
    let dir = static_tree();
    let client = shared(dir.path());
    assert!(
        client
            .get("/static/app.py")
            .send()
            .text()
            .starts_with("app saw")
    );
    assert!(
        client
            .get("/static/private/key.pem")
            .send()
            .text()
            .starts_with("app saw")
    );
}

#[test]
fn shared_data_refuses_traversal() {
    let dir = static_tree();
    let client = shared(dir.path());
    let attempts = [
        "/static/../secret.txt",
        "/static/css/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/.%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%2Fsecret.txt",
        "/static/css%2f..%2f..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/..\\secret.txt",
        "/static//etc/passwd",
        "/static/%2fetc/passwd",
        "/static/C:/Windows/win.ini",
        "/static/c:secret.txt",
        "/static/hello.txt%00.png",
        "/static/con",
        "/static/AUX.txt",
        "/static/css/nul",
        "/static/COM1",
        "/static/lpt1.css",
        "/static/hello.txt.",
    ];
    for attempt in attempts {
        let res = client.get(attempt).send();
        assert_eq!(res.status(), 404, "{attempt}");
        assert!(
            !res.text().contains("TOP SECRET"),
            "{attempt} leaked the secret"
        );
        assert!(
            !res.text().contains("root:"),
            "{attempt} leaked /etc/passwd"
        );
    }
}

#[test]
fn shared_data_does_not_serve_a_file_named_as_a_directory() {
    let dir = static_tree();
    let client = shared(dir.path());
    for path in [
        "/static/hello.txt/",
        "/static/hello.txt/.",
        "/static/hello.txt//",
        "/static/hello.txt/./",
        "/static/hello.txt/x/..",
        "/static/css/site.css/",
        "/favicon.ico/",
    ] {
        let res = client.get(path).send();
        assert_eq!(res.status(), 404, "{path}");
        assert!(
            !res.text().contains("hello, static"),
            "{path} served the file"
        );
        assert!(!res.text().contains("color"), "{path} served the file");
    }
    // Directories still fall through, and `.` segments before a name are fine.
    assert_eq!(
        client.get("/static/css/").send().text(),
        "app saw GET /static/css/"
    );
    assert_eq!(client.get("/static/./hello.txt").send().status(), 200);
    assert_eq!(client.get("/static/css/../hello.txt").send().status(), 200);
}

#[cfg(unix)]
#[test]
fn shared_data_refuses_symlinks_that_leave_the_directory() {
    use std::os::unix::fs::symlink;
    let dir = static_tree();
    let public = dir.path().join("public");
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("lib.js"), "var shared = 1;\n").unwrap();
    // Out of the directory: a file, an absolute path, a directory.
    symlink(dir.path().join("secret.txt"), public.join("leak.txt")).unwrap();
    symlink("../secret.txt", public.join("relative-leak.txt")).unwrap();
    symlink(&outside, public.join("vendor")).unwrap();
    if Path::new("/etc/passwd").is_file() {
        symlink("/etc/passwd", public.join("passwd")).unwrap();
    }
    // Inside it: a file link (mimetype from the link's name) and a directory link.
    symlink("hello.txt", public.join("greeting.css")).unwrap();
    symlink("css", public.join("styles")).unwrap();
    // A link to a disallowed name is as disallowed as the name.
    symlink("app.py", public.join("innocent.txt")).unwrap();

    let client = shared(dir.path());
    for path in [
        "/static/leak.txt",
        "/static/relative-leak.txt",
        "/static/vendor/lib.js",
        "/static/passwd",
    ] {
        let res = client.get(path).send();
        assert_eq!(res.status(), 404, "{path}");
        let text = res.text();
        assert!(
            !text.contains("TOP SECRET") && !text.contains("root:"),
            "{path} leaked"
        );
        assert!(!text.contains("shared"), "{path} leaked");
        let res = client.head(path).send();
        assert_eq!(res.status(), 404, "HEAD {path}");
    }
    let res = client.get("/static/greeting.css").send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "hello, static world\n");
    assert_eq!(res.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(client.get("/static/styles/site.css").send().status(), 200);
    assert_eq!(
        client.get("/static/innocent.txt").send().text(),
        "app saw GET /static/innocent.txt"
    );

    // The mounted directory may itself be a link (a `current -> release` deployment).
    let current = dir.path().join("current");
    symlink(&public, &current).unwrap();
    let client = Client::new(SharedData::new(fallback).mount("/static", &current));
    assert_eq!(client.get("/static/hello.txt").send().status(), 200);
    assert_eq!(client.get("/static/leak.txt").send().status(), 404);

    // Opting in restores following every link.
    let client = Client::new(
        SharedData::new(fallback)
            .mount("/static", &public)
            .follow_symlinks(true),
    );
    assert_eq!(client.get("/static/leak.txt").send().text(), "TOP SECRET");
    assert_eq!(
        client.get("/static/vendor/lib.js").send().text(),
        "var shared = 1;\n"
    );
    // Traversal stays refused either way.
    assert_eq!(client.get("/static/../secret.txt").send().status(), 404);
}

// ---------------------------------------------------------------------------- ProxyFix

fn report(environ: Environ) -> Response {
    let original = environ.extensions.get::<ProxyFixOriginal>().cloned();
    let request = Request::new(environ);
    Response::json(&serde_json::json!({
        "remote_addr": request.remote_addr(),
        "scheme": request.scheme(),
        "host": request.host(),
        "url": request.url(),
        "server_port": request.environ().server_port,
        "script_root": request.script_root(),
        "original_addr": original.as_ref().and_then(|o| o.remote_addr.clone()),
        "original_host": original.as_ref().and_then(|o| o.host.clone()),
        "original_scheme": original.as_ref().map(|o| o.url_scheme.clone()),
    }))
}

#[test]
fn proxy_fix_defaults_trust_one_for_and_proto() {
    let client = Client::new(ProxyFix::new(report));
    let res: serde_json::Value = client
        .get("/a")
        .header("x-forwarded-for", "192.0.2.1")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "evil.example")
        .send()
        .json();
    assert_eq!(res["remote_addr"], "192.0.2.1");
    assert_eq!(res["scheme"], "https");
    // x_host is 0 by default: the header is ignored.
    assert_eq!(res["host"], "localhost");
    assert_eq!(res["original_addr"], "127.0.0.1");
    assert_eq!(res["original_scheme"], "http");
}

#[test]
fn proxy_fix_takes_values_from_the_right_and_ignores_forged_ones() {
    let client = Client::new(ProxyFix::new(report).x_for(2).x_host(1));
    // The client forged "6.6.6.6"; two proxies appended 192.0.2.1 and 10.0.0.1.
    let res: serde_json::Value = client
        .get("/")
        .header("x-forwarded-for", "6.6.6.6, 192.0.2.1")
        .header("x-forwarded-for", "10.0.0.1")
        .header("x-forwarded-host", "forged.example, example.com")
        .send()
        .json();
    assert_eq!(res["remote_addr"], "192.0.2.1");
    assert_eq!(res["host"], "example.com");
    assert_eq!(res["original_host"], "localhost");

    // Fewer values than trusted proxies: the header is ignored entirely.
    let res: serde_json::Value = client
        .get("/")
        .header("x-forwarded-for", "192.0.2.1")
        .send()
        .json();
    assert_eq!(res["remote_addr"], "127.0.0.1");
}

#[test]
fn proxy_fix_host_port_and_prefix() {
    let client = Client::new(
        ProxyFix::new(report)
            .x_proto(1)
            .x_host(1)
            .x_port(1)
            .x_prefix(1),
    );
    let res: serde_json::Value = client
        .get("/items?x=1")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "example.com:8080")
        .header("x-forwarded-port", "8443")
        .header("x-forwarded-prefix", "/shop/")
        .send()
        .json();
    assert_eq!(res["host"], "example.com:8443");
    assert_eq!(res["server_port"], 8443);
    assert_eq!(res["script_root"], "/shop");
    assert_eq!(res["url"], "https://example.com:8443/shop/items?x=1");

    // A bogus port or scheme is ignored rather than trusted blindly.
    let res: serde_json::Value = client
        .get("/")
        .header("x-forwarded-proto", "javascript")
        .header("x-forwarded-port", "99999")
        .send()
        .json();
    assert_eq!(res["scheme"], "http");
    assert_eq!(res["server_port"], 80);
}

#[test]
fn proxy_fix_ipv6_and_ports_in_for() {
    let client = Client::new(ProxyFix::new(report).x_host(1));
    let res: serde_json::Value = client
        .get("/")
        .header("x-forwarded-for", "[2001:db8::1]:4711")
        .header("x-forwarded-host", "[2001:db8::2]")
        .send()
        .json();
    assert_eq!(res["remote_addr"], "2001:db8::1");
    assert_eq!(res["host"], "[2001:db8::2]");
}

/// One Werkzeug `ProxyFix` run: trust counts (for, proto, host, port, prefix), the
/// `X-Forwarded-*` headers sent, and what Werkzeug 3.1's `ProxyFix` set: `REMOTE_ADDR`,
/// `wsgi.url_scheme`, `HTTP_HOST`, `SERVER_NAME`, `SERVER_PORT`, `SCRIPT_NAME`. The
/// environ started as `127.0.0.1`, `http`, `localhost`, port 80, no script name.
/// (`SERVER_NAME` of IPv6 hosts is given without brackets, zeug's convention for
/// `server_name`; Werkzeug keeps them.)
type ProxyFixCase = (
    [usize; 5],
    &'static [(&'static str, &'static str)],
    [&'static str; 6],
);

const WERKZEUG_PROXY_FIX: &[ProxyFixCase] = &[
    (
        [1, 1, 0, 0, 0],
        &[
            ("x-forwarded-for", "192.0.2.1"),
            ("x-forwarded-proto", "https"),
        ],
        ["192.0.2.1", "https", "localhost", "localhost", "80", ""],
    ),
    (
        [2, 1, 1, 0, 0],
        &[
            ("x-forwarded-for", "6.6.6.6, 192.0.2.1, 10.0.0.1"),
            ("x-forwarded-host", "a.example, b.example"),
        ],
        ["192.0.2.1", "http", "b.example", "b.example", "80", ""],
    ),
    (
        [3, 2, 0, 0, 0],
        &[
            ("x-forwarded-for", "192.0.2.1, 10.0.0.1"),
            ("x-forwarded-proto", "https"),
        ],
        ["127.0.0.1", "http", "localhost", "localhost", "80", ""],
    ),
    (
        [1, 1, 1, 1, 1],
        &[
            ("x-forwarded-host", "example.com:8080"),
            ("x-forwarded-port", "8443"),
            ("x-forwarded-prefix", "/shop"),
            ("x-forwarded-proto", "https"),
        ],
        [
            "127.0.0.1",
            "https",
            "example.com:8443",
            "example.com",
            "8443",
            "/shop",
        ],
    ),
    (
        [1, 1, 1, 0, 0],
        &[("x-forwarded-host", "example.com:8080")],
        [
            "127.0.0.1",
            "http",
            "example.com:8080",
            "example.com",
            "8080",
            "",
        ],
    ),
    (
        [1, 1, 0, 1, 0],
        &[("x-forwarded-port", "8443")],
        [
            "127.0.0.1",
            "http",
            "localhost:8443",
            "localhost",
            "8443",
            "",
        ],
    ),
    (
        [1, 1, 1, 0, 0],
        &[("x-forwarded-host", "[2001:db8::1]")],
        [
            "127.0.0.1",
            "http",
            "[2001:db8::1]",
            "2001:db8::1",
            "80",
            "",
        ],
    ),
    (
        [1, 1, 1, 1, 0],
        &[
            ("x-forwarded-host", "[2001:db8::1]:81"),
            ("x-forwarded-port", "444"),
        ],
        [
            "127.0.0.1",
            "http",
            "[2001:db8::1]:444",
            "2001:db8::1",
            "444",
            "",
        ],
    ),
    (
        [0, 0, 0, 0, 0],
        &[
            ("x-forwarded-for", "192.0.2.1"),
            ("x-forwarded-proto", "https"),
        ],
        ["127.0.0.1", "http", "localhost", "localhost", "80", ""],
    ),
];

#[test]
fn proxy_fix_matches_werkzeug() {
    for ([x_for, x_proto, x_host, x_port, x_prefix], headers, expected) in WERKZEUG_PROXY_FIX {
        let fix = ProxyFix::new(|_: Environ| Response::new(""))
            .x_for(*x_for)
            .x_proto(*x_proto)
            .x_host(*x_host)
            .x_port(*x_port)
            .x_prefix(*x_prefix);
        let mut builder = EnvironBuilder::new("GET", "/");
        for (k, v) in *headers {
            builder = builder.header(k, v);
        }
        let mut environ = builder.build();
        fix.fix_environ(&mut environ);
        let got = [
            environ
                .remote_addr
                .as_deref()
                .unwrap_or_default()
                .to_owned(),
            environ.url_scheme.to_string(),
            environ.headers["host"].to_str().unwrap().to_owned(),
            environ.server_name.to_string(),
            environ.server_port.to_string(),
            environ.script_name.to_string(),
        ];
        assert_eq!(got, expected.map(str::to_owned), "{headers:?}");
    }
}

// ---------------------------------------------------------------------------- Dispatcher

fn where_am_i(environ: Environ) -> Response {
    let request = Request::new(environ);
    Response::new(format!(
        "root={} path={} url_root={}",
        request.script_root(),
        request.path(),
        request.url_root()
    ))
}

#[test]
fn dispatcher_mounts_by_longest_segment_prefix() {
    let client = Client::new(
        Dispatcher::new(|e: Environ| Response::new(format!("default {}", e.path_info)))
            .mount("/api", where_am_i)
            .mount("/api/v2/", |_: Environ| Response::new("v2")),
    );
    assert_eq!(
        client.get("/api/users").send().text(),
        "root=/api path=/users url_root=http://localhost/api/"
    );
    assert_eq!(
        client.get("/api").send().text(),
        "root=/api path=/ url_root=http://localhost/api/"
    );
    assert_eq!(
        client.get("/api/").send().text(),
        "root=/api path=/ url_root=http://localhost/api/"
    );
    assert_eq!(client.get("/api/v2").send().text(), "v2");
    assert_eq!(client.get("/api/v2/x").send().text(), "v2");
    assert_eq!(
        client.get("/api/v2x").send().text(),
        "root=/api path=/v2x url_root=http://localhost/api/"
    );
    assert_eq!(client.get("/apix").send().text(), "default /apix");
    assert_eq!(client.get("/").send().text(), "default /");
}

#[test]
fn dispatcher_appends_to_an_existing_script_name() {
    let app = Dispatcher::new(fallback).mount("/blog", where_am_i);
    let environ = EnvironBuilder::new("GET", "/blog/post/1")
        .script_name("/site")
        .build();
    let res = app.call(environ);
    assert_eq!(
        res.body_text().unwrap(),
        "root=/site/blog path=/post/1 url_root=http://localhost/site/blog/"
    );
}

// ---------------------------------------------------------------------------- Lint

fn lint(app: impl Application) -> (Client, LintWarnings) {
    let warnings = LintWarnings::new();
    (
        Client::new(Lint::new(app).collect_into(warnings.clone())),
        warnings,
    )
}

#[test]
fn lint_passes_well_behaved_apps() {
    let dir = static_tree();
    let app = SharedData::new(|_: Environ| Response::html("<p>ok</p>"))
        .mount("/static", dir.path().join("public"));
    let (client, warnings) = lint(Compress::new(app));
    client.get("/").send();
    client.get("/static/hello.txt").send();
    client.head("/static/hello.txt").send();
    client
        .get("/static/hello.txt")
        .header("range", "bytes=1-2")
        .send();
    client.get("/x").header("accept-encoding", "gzip").send();
    client.get("/stream").send();
    let (client2, warnings2) = lint(|_: Environ| Response::stream(vec!["a", "b"]));
    client2.get("/").send();
    assert!(warnings.is_empty(), "{:?}", warnings.all());
    assert!(warnings2.is_empty(), "{:?}", warnings2.all());
}

#[test]
fn lint_reports_interface_and_http_problems() {
    let cases: Vec<(LintKind, BoxedApp)> = vec![
        (
            LintKind::Status,
            Box::new(|_| Response::new("x").with_status(103)),
        ),
        (
            LintKind::HopByHop,
            Box::new(|_| Response::new("x").with_header("transfer-encoding", "chunked")),
        ),
        (
            LintKind::HeaderValue,
            Box::new(|_| Response::new("x").with_header("x-note", " padded ")),
        ),
        (
            LintKind::ContentLength,
            Box::new(|_| Response::new("hello").with_header("content-length", "3")),
        ),
        (
            LintKind::ContentLength,
            Box::new(|_| Response::stream(vec!["abc", "def"]).with_header("content-length", "4")),
        ),
        (
            LintKind::BodyNotAllowed,
            Box::new(|_| Response::new("not modified?").with_status(304)),
        ),
        (
            LintKind::BodyNotAllowed,
            Box::new(|_| Response::new("no content?").with_status(204)),
        ),
        (
            LintKind::BodyNotAllowed,
            Box::new(|_| Response::new("reset?").with_status(205)),
        ),
        (
            LintKind::MissingContentType,
            Box::new(|_| {
                let mut r = Response::new("x");
                r.headers_mut().remove("content-type");
                r
            }),
        ),
        (
            LintKind::ETag,
            Box::new(|_| Response::new("x").with_header("etag", "unquoted")),
        ),
        (
            LintKind::BodyError,
            Box::new(|_| {
                Response::new(Body::from_results(vec![
                    Ok(Bytes::from("a")),
                    Err(std::io::Error::other("disk gone")),
                ]))
            }),
        ),
    ];
    for (kind, app) in cases {
        let (client, warnings) = lint(app);
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            client.get("/").send();
        }));
        let _ = res; // the body error case makes the test client panic on purpose
        assert!(
            warnings.kinds().contains(&kind),
            "expected {kind:?}, got {:?}",
            warnings.all()
        );
    }
}

#[test]
fn lint_reports_bodies_on_head_and_bad_environs() {
    let (client, warnings) = lint(|_: Environ| Response::new("body"));
    client.head("/").send();
    assert_eq!(warnings.kinds(), vec![LintKind::BodyOnHead]);

    let warnings = LintWarnings::new();
    let app = Lint::new(|_: Environ| Response::new("x")).collect_into(warnings.clone());
    let mut environ = EnvironBuilder::new("GET", "/").build();
    environ.path_info = "no-slash".into();
    environ.script_name = "/app/".into();
    environ.url_scheme = "gopher".into();
    app.call(environ);
    let kinds = warnings.kinds();
    assert_eq!(
        kinds.iter().filter(|k| **k == LintKind::Environ).count(),
        3,
        "{:?}",
        warnings.all()
    );
    assert!(warnings.all()[0].message.contains("GET"));
}

// ---------------------------------------------------------------------------- Compress

fn gunzip(data: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(data)
        .read_to_string(&mut out)
        .unwrap();
    out
}

fn page(_: Environ) -> Response {
    Response::html("<li>an item that repeats</li>\n".repeat(200)).with_header("etag", "\"v1\"")
}

#[test]
fn compress_gzips_for_clients_that_accept_it() {
    let client = Client::new(Compress::new(page));
    let res = client
        .get("/")
        .header("accept-encoding", "deflate, gzip;q=0.8")
        .send();
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert_eq!(res.header("vary"), Some("Accept-Encoding"));
    assert_eq!(res.header("etag"), Some("W/\"v1\""));
    assert_eq!(
        res.header("content-length").unwrap(),
        res.bytes().len().to_string()
    );
    assert!(res.bytes().len() < 1000);
    assert_eq!(
        gunzip(res.bytes()),
        "<li>an item that repeats</li>\n".repeat(200)
    );

    // Not accepted: identity, but still Vary.
    for accept in [
        None,
        Some("gzip;q=0"),
        Some("identity"),
        Some("br;q=0, gzip;q=0"),
    ] {
        let mut req = client.get("/");
        if let Some(a) = accept {
            req = req.header("accept-encoding", a);
        }
        let res = req.send();
        assert_eq!(res.header("content-encoding"), None, "{accept:?}");
        assert_eq!(res.header("vary"), Some("Accept-Encoding"));
        assert_eq!(res.header("etag"), Some("\"v1\""));
    }
}

#[cfg(feature = "brotli")]
#[test]
fn compress_prefers_brotli_when_enabled() {
    let client = Client::new(Compress::new(page));
    let res = client.get("/").header("accept-encoding", "gzip, br").send();
    assert_eq!(res.header("content-encoding"), Some("br"));
    let mut out = String::new();
    brotli::Decompressor::new(&res.bytes()[..], 4096)
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "<li>an item that repeats</li>\n".repeat(200));
    let res = client
        .get("/")
        .header("accept-encoding", "gzip, br;q=0.1")
        .send();
    assert_eq!(res.header("content-encoding"), Some("gzip"));
}

#[test]
fn compress_skips_what_should_not_be_compressed() {
    let big = "x".repeat(5000);
    let cases: Vec<(&str, BoxedApp)> = {
        let b = big.clone();
        let b2 = big.clone();
        let b3 = big.clone();
        let b4 = big.clone();
        let b5 = big.clone();
        let b6 = big.clone();
        vec![
            ("small", Box::new(|_| Response::html("<p>tiny</p>"))),
            (
                "png",
                Box::new(move |_| Response::new(b.clone()).with_mimetype("image/png")),
            ),
            (
                "zip",
                Box::new(move |_| Response::new(b2.clone()).with_mimetype("application/zip")),
            ),
            (
                "encoded",
                Box::new(move |_| Response::new(b3.clone()).with_header("content-encoding", "br")),
            ),
            (
                "no-transform",
                Box::new(move |_| {
                    Response::new(b4.clone()).with_header("cache-control", "public, no-transform")
                }),
            ),
            (
                "304",
                Box::new(move |_| Response::new(Body::Empty).with_status(304)),
            ),
            (
                "206",
                Box::new(move |_| {
                    Response::new(b5.clone())
                        .with_status(206)
                        .with_header("content-range", "bytes 0-4999/10000")
                }),
            ),
            (
                "204",
                Box::new(move |_| {
                    let _ = &b6;
                    Response::new(Body::Empty).with_status(204)
                }),
            ),
        ]
    };
    for (name, app) in cases {
        let client = Client::new(Compress::new(app));
        let res = client.get("/").header("accept-encoding", "gzip").send();
        assert_ne!(res.header("content-encoding"), Some("gzip"), "{name}");
    }
}

#[test]
fn compress_head_carries_the_headers_get_would() {
    let client = Client::new(Compress::new(page));
    let get = client.get("/").header("accept-encoding", "gzip").send();
    let res = client.head("/").header("accept-encoding", "gzip").send();
    assert_eq!(res.status(), 200);
    for name in ["content-encoding", "vary", "etag", "content-type"] {
        assert_eq!(res.header(name), get.header(name), "{name}");
    }
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert_eq!(res.header("etag"), Some("W/\"v1\""));
    // The compressed length is not known without compressing: no Content-Length.
    assert_eq!(res.header("content-length"), None);
    assert!(res.bytes().is_empty());

    // Nothing is compressed for a HEAD: the body handed on is an empty stream.
    let environ = EnvironBuilder::new("HEAD", "/")
        .header("accept-encoding", "gzip")
        .build();
    let res = Compress::new(page).call(environ);
    assert!(res.body().is_stream());
    assert_eq!(res.into_body().into_bytes().unwrap().len(), 0);

    // What GET would not compress, HEAD does not announce either.
    let small = Client::new(Compress::new(|_: Environ| Response::html("<p>tiny</p>")));
    let res = small.head("/").header("accept-encoding", "gzip").send();
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(res.header("content-length"), Some("11"));
    assert_eq!(res.header("vary"), Some("Accept-Encoding"));
    let res = client
        .head("/")
        .header("accept-encoding", "identity")
        .send();
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(res.header("etag"), Some("\"v1\""));
    assert_eq!(res.header("content-length"), Some("6000"));
}

#[test]
fn compress_head_of_a_static_file_matches_its_get() {
    let dir = static_tree();
    std::fs::write(
        dir.path().join("public/big.txt"),
        "line of text\n".repeat(1000),
    )
    .unwrap();
    let warnings = LintWarnings::new();
    let app = Lint::new(Compress::new(
        SharedData::new(fallback).mount("/static", dir.path().join("public")),
    ))
    .collect_into(warnings.clone());
    let client = Client::new(app);
    let get = client
        .get("/static/big.txt")
        .header("accept-encoding", "gzip")
        .send();
    let head = client
        .head("/static/big.txt")
        .header("accept-encoding", "gzip")
        .send();
    assert_eq!(head.status(), 200);
    for name in [
        "content-encoding",
        "vary",
        "etag",
        "content-type",
        "accept-ranges",
    ] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    assert_eq!(head.header("content-encoding"), Some("gzip"));
    assert_eq!(head.header("content-length"), None);
    // SharedData answers HEAD with no body and the file's length; a small file keeps it.
    let head = client
        .head("/static/hello.txt")
        .header("accept-encoding", "gzip")
        .send();
    assert_eq!(head.header("content-encoding"), None);
    assert_eq!(head.header("content-length"), Some("20"));
    assert!(warnings.all().is_empty(), "{:?}", warnings.all());
}

#[test]
fn compress_head_over_a_real_connection_has_no_content_length() {
    use std::io::Write;
    let server = zeug::serving::make_server(
        "127.0.0.1",
        0,
        Compress::new(page),
        zeug::serving::Options::new(),
    )
    .unwrap();
    let addr = server.local_addr().inet().unwrap();
    let handle = server.shutdown_handle();
    let thread = std::thread::spawn(move || server.serve_forever());
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(
            b"HEAD / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    handle.shutdown();
    let _ = thread.join();
    let lower = reply.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 200"), "{reply}");
    assert!(lower.contains("content-encoding: gzip\r\n"), "{reply}");
    assert!(!lower.contains("content-length"), "{reply}");
    assert!(!lower.contains("transfer-encoding"), "{reply}");
    assert!(
        lower.ends_with("\r\n\r\n"),
        "a HEAD answer has no body: {reply}"
    );
}

#[test]
fn compress_streams_chunk_by_chunk() {
    let app = Compress::new(|_: Environ| Response::stream((0..5).map(|i| format!("event {i}\n"))));
    let environ = EnvironBuilder::new("GET", "/")
        .header("accept-encoding", "gzip")
        .build();
    let res = app.call(environ);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert!(res.content_length().is_none());
    let chunks: Vec<Bytes> = res.into_body().into_chunks().map(Result::unwrap).collect();
    // One compressed chunk per input chunk (each flushed), plus the gzip trailer.
    assert_eq!(chunks.len(), 6, "{chunks:?}");
    // What has arrived after the first chunk already decodes to the first event.
    let mut partial = Vec::new();
    let _ = flate2::read::GzDecoder::new(&chunks[0][..]).read_to_end(&mut partial);
    assert_eq!(partial, b"event 0\n");
    let all: Vec<u8> = chunks.concat();
    assert_eq!(
        gunzip(&all),
        (0..5).map(|i| format!("event {i}\n")).collect::<String>()
    );
}

#[test]
fn compress_files_keep_working_with_ranges_disabled() {
    let dir = static_tree();
    std::fs::write(
        dir.path().join("public/big.txt"),
        "line of text\n".repeat(1000),
    )
    .unwrap();
    let client = Client::new(Compress::new(
        SharedData::new(fallback).mount("/static", dir.path().join("public")),
    ));
    let res = client
        .get("/static/big.txt")
        .header("accept-encoding", "gzip")
        .send();
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert_eq!(res.header("accept-ranges"), None);
    assert!(res.header("etag").unwrap().starts_with("W/"));
    assert_eq!(gunzip(res.bytes()), "line of text\n".repeat(1000));
}

#[test]
fn compress_streams_large_files() {
    let dir = static_tree();
    let line = "a line of a large log file, repeated\n";
    let text = line.repeat((5 * 1024 * 1024) / line.len() + 1);
    std::fs::write(dir.path().join("public/large.log"), &text).unwrap();
    let app = Compress::new(SharedData::new(fallback).mount("/static", dir.path().join("public")));
    let environ = EnvironBuilder::new("GET", "/static/large.log")
        .header("accept-encoding", "gzip")
        .build();
    let res = app.call(environ);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert!(res.content_length().is_none());
    assert!(res.body().is_stream());
    let compressed = res.into_body().into_bytes().unwrap();
    assert!(compressed.len() < text.len() / 20, "{}", compressed.len());
    assert_eq!(gunzip(&compressed), text);
}

#[test]
fn proxy_fix_refuses_values_that_would_rewrite_urls() {
    let client = Client::new(ProxyFix::new(report).x_host(1).x_prefix(1));
    let res: serde_json::Value = client
        .get("/x")
        .header("x-forwarded-host", "evil.example/phish")
        .header("x-forwarded-prefix", "//evil.example/")
        .send()
        .json();
    assert_eq!(res["host"], "localhost");
    assert_eq!(res["script_root"], "/evil.example");
    assert_eq!(res["url"], "http://localhost/evil.example/x");
}

/// Werkzeug 3.1's `DispatcherMiddleware(default, {"/api": api, "/api/v2": v2,
/// "/static/files": files})` called with `SCRIPT_NAME="/root"` and these `PATH_INFO`s:
/// which app answered, and the `SCRIPT_NAME` / `PATH_INFO` it saw.
const WERKZEUG_DISPATCH: &[(&str, [&str; 3])] = &[
    ("/", ["default", "/root", "/"]),
    ("", ["default", "/root", ""]),
    ("/api", ["api", "/root/api", ""]),
    ("/api/", ["api", "/root/api", "/"]),
    ("/api/users/1", ["api", "/root/api", "/users/1"]),
    ("/apix", ["default", "/root", "/apix"]),
    ("/api/v2", ["v2", "/root/api/v2", ""]),
    ("/api/v2/", ["v2", "/root/api/v2", "/"]),
    ("/api/v2x/y", ["api", "/root/api", "/v2x/y"]),
    ("/api//x", ["api", "/root/api", "//x"]),
    ("/static", ["default", "/root", "/static"]),
    ("/static/files/a/b", ["files", "/root/static/files", "/a/b"]),
    ("/API", ["default", "/root", "/API"]),
];

#[test]
fn dispatcher_matches_werkzeug() {
    fn named(name: &'static str) -> impl Fn(Environ) -> Response + Send + Sync {
        move |e: Environ| Response::new(format!("{name}|{}|{}", e.script_name, e.path_info))
    }
    let app = Dispatcher::new(named("default"))
        .mount("/api", named("api"))
        .mount("/api/v2", named("v2"))
        .mount("/static/files", named("files"));
    for (path, expected) in WERKZEUG_DISPATCH {
        let mut environ = EnvironBuilder::new("GET", "/").script_name("/root").build();
        environ.path_info = (*path).into();
        let res = app.call(environ);
        assert_eq!(res.body_text().unwrap(), expected.join("|"), "{path:?}");
    }
}
