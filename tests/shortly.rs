//! The Shortly example (`examples/shortly/`), driven through the test client: every route,
//! both storage backends (the Redis one against a real `redis-server` started here),
//! persistence across a restart, and the tutorial's code kept identical to the example.
//!
//! The example's own unit tests (`storage.rs`, `views.rs`) run here too, since the example
//! is compiled into this test as a module.

mod common;

#[path = "../examples/shortly/main.rs"]
#[allow(dead_code)]
mod shortly;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shortly::storage::{FileStore, RedisStore, Store};
use shortly::{Shortly, create_app};
use zeug::test::Client;

/// `text` as the autoescaping templates print it (minijinja escapes `/` and `'` too).
fn esc(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2f;"),
            c => out.push(c),
        }
    }
    out
}

fn file_client(dir: &Path) -> Client {
    let store = FileStore::open(dir.join("shortly.db")).unwrap();
    Client::new(create_app(Box::new(store), true))
}

/// Every route of the app, as a user meets them, on a fresh store of any kind.
fn check_every_route(client: &Client) {
    // The form.
    let res = client.get("/").send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.mimetype(), "text/html");
    let page = res.text();
    assert!(
        page.contains("<title>Create a short URL | shortly</title>"),
        "{page}"
    );
    assert!(page.contains(r#"<form action="" method="post">"#), "{page}");
    assert!(page.contains(r#"href="/static/style.css""#), "{page}");
    assert!(!page.contains("Error:"), "{page}");

    // Validation: the form again, with the message and the value kept (escaped).
    for bad in [
        "",
        "example.com",
        "ftp://example.com/file",
        "javascript:alert(1)",
    ] {
        let res = client.post("/").form(&[("url", bad)]).send();
        assert_eq!(res.status(), 200, "{bad:?}");
        let page = res.text();
        assert!(page.contains("Please enter a valid URL"), "{bad:?}: {page}");
        let kept = format!(r#"value="{}""#, esc(bad));
        assert!(page.contains(&kept), "{bad:?}: {page}");
    }
    let res = client
        .post("/")
        .form(&[("url", r#""><script>alert(1)</script>"#)])
        .send();
    let page = res.text();
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&quot;&gt;&lt;script&gt;"), "{page}");

    // Creation: a redirect to the details page; ids count up in base 36.
    let res = client
        .post("/")
        .form(&[("url", "https://example.com/some/long/path?q=1")])
        .send();
    assert_eq!(res.status(), 303);
    assert_eq!(res.header("location"), Some("/1+"));
    let res = client
        .post("/")
        .form(&[("url", "  http://zeug.example:8080/  ")])
        .send();
    assert_eq!(res.header("location"), Some("/2+"));

    // Reuse: the same URL gets the same id.
    let res = client
        .post("/")
        .form(&[("url", "https://example.com/some/long/path?q=1")])
        .send();
    assert_eq!(res.status(), 303);
    assert_eq!(res.header("location"), Some("/1+"));

    // Details: target, host, clicks.
    let res = client.get("/1+").send();
    assert_eq!(res.status(), 200);
    let page = res.text();
    assert!(
        page.contains("<title>Details about /1 | shortly</title>"),
        "{page}"
    );
    assert!(
        page.contains(r#"<a href="/1" id="short-link">/1</a>"#),
        "{page}"
    );
    assert!(page.contains(">example.com</a>"), "{page}");
    let target = esc("https://example.com/some/long/path?q=1");
    assert!(page.contains(&format!("{target}</div>")), "{page}");
    assert!(page.contains(r#"<dd id="click-count">0</dd>"#), "{page}");
    let page = client.get("/2+").send().text();
    assert!(page.contains(">zeug.example:8080</a>"), "{page}");

    // Following a link: a 302 to the target, and a click counted each time.
    for _ in 0..3 {
        let res = client.get("/1").send();
        assert_eq!(res.status(), 302);
        assert_eq!(
            res.header("location"),
            Some("https://example.com/some/long/path?q=1")
        );
    }
    let page = client.get("/1+").send().text();
    assert!(page.contains(r#"<dd id="click-count">3</dd>"#), "{page}");
    let page = client.get("/2+").send().text();
    assert!(page.contains(r#"<dd id="click-count">0</dd>"#), "{page}");

    // Unknown ids and unknown paths: the custom 404 page, with status 404.
    for path in ["/zz", "/zz+", "/1/2", "/01", "/static/nope.css"] {
        let res = client.get(path).send();
        assert_eq!(res.status(), 404, "{path}");
        assert_eq!(res.mimetype(), "text/html", "{path}");
        if !path.starts_with("/static/") {
            let page = res.text();
            assert!(page.contains("<h2>Page not found</h2>"), "{path}: {page}");
        }
    }
    // The stylesheet, served by SharedData.
    let res = client.get("/static/style.css").send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.mimetype(), "text/css");
    assert!(res.text().contains(".box"));
}

#[test]
fn every_route_with_the_file_store() {
    let dir = tempfile::tempdir().unwrap();
    check_every_route(&file_client(dir.path()));
}

#[test]
fn other_methods_on_the_form_are_not_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let client = file_client(dir.path());
    let res = client
        .put("/")
        .form(&[("url", "https://example.com/")])
        .send();
    assert_eq!(res.status(), 405);
    let allow = res.header("allow").unwrap_or_default().to_owned();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    assert_eq!(client.head("/").send().status(), 200);
}

#[test]
fn links_and_clicks_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let client = file_client(dir.path());
        let res = client
            .post("/")
            .form(&[("url", "https://persist.example/")])
            .send();
        assert_eq!(res.header("location"), Some("/1+"));
        assert_eq!(client.get("/1").send().status(), 302);
        assert_eq!(client.get("/1").send().status(), 302);
    }
    // A new Shortly on the same file: same links, same counts, the counter goes on.
    let client = Client::new(Shortly::new(Box::new(
        FileStore::open(dir.path().join("shortly.db")).unwrap(),
    )));
    let page = client.get("/1+").send().text();
    let target = esc("https://persist.example/");
    assert!(page.contains(&format!("{target}</div>")), "{page}");
    assert!(page.contains(r#"<dd id="click-count">2</dd>"#), "{page}");
    let res = client
        .post("/")
        .form(&[("url", "https://persist.example/")])
        .send();
    assert_eq!(res.header("location"), Some("/1+"));
    let res = client
        .post("/")
        .form(&[("url", "https://next.example/")])
        .send();
    assert_eq!(res.header("location"), Some("/2+"));
}

#[test]
fn a_broken_store_is_a_500_not_a_panic() {
    struct Broken;
    impl Store for Broken {
        fn insert_url(&self, _: &str) -> Result<String, shortly::storage::StoreError> {
            Err(std::io::Error::other("disk on fire").into())
        }
        fn get_target(&self, _: &str) -> Result<Option<String>, shortly::storage::StoreError> {
            Err(std::io::Error::other("disk on fire").into())
        }
        fn incr_clicks(&self, _: &str) -> Result<(), shortly::storage::StoreError> {
            Err(std::io::Error::other("disk on fire").into())
        }
        fn click_count(&self, _: &str) -> Result<u64, shortly::storage::StoreError> {
            Err(std::io::Error::other("disk on fire").into())
        }
    }
    let client = Client::new(Shortly::new(Box::new(Broken)));
    assert_eq!(client.get("/").send().status(), 200);
    let res = client
        .post("/")
        .form(&[("url", "https://a.example/")])
        .send();
    assert_eq!(res.status(), 500);
    assert_eq!(client.get("/1").send().status(), 500);
    assert_eq!(client.get("/1+").send().status(), 500);
}

// ---------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------

/// How long a freshly started `redis-server` may take to answer.
const REDIS_START_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` of our own on a free loopback port, in a temp dir, with persistence
/// off; killed when dropped.
struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    fn start() -> RedisServer {
        // A port picked by binding to 0 may be taken again before redis binds it: retry.
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = common::free_port();
            let child = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start redis-server ({e}); scripts/test.sh installs it (apt)")
                });
            let mut server = RedisServer {
                child,
                port,
                _dir: dir,
            };
            if server.wait_ready() {
                return server;
            }
        }
        panic!("redis-server did not come up on a free port");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + REDIS_START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false; // exited: most likely the port was taken
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && RedisStore::open(&self.url()).is_ok()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn every_route_with_the_redis_store() {
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url()).unwrap();
    check_every_route(&Client::new(create_app(Box::new(store), true)));
}

#[test]
fn the_redis_store_uses_the_tutorials_keys() {
    use redis::Commands;
    let server = RedisServer::start();
    let client = Client::new(create_app(
        Box::new(RedisStore::open(&server.url()).unwrap()),
        false,
    ));
    client
        .post("/")
        .form(&[("url", "https://a.example/")])
        .send();
    client
        .post("/")
        .form(&[("url", "https://b.example/")])
        .send();
    client.get("/2").send();
    let mut conn = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let get =
        |conn: &mut redis::Connection, key: &str| -> Option<String> { conn.get(key).unwrap() };
    assert_eq!(get(&mut conn, "last-url-id").as_deref(), Some("2"));
    assert_eq!(
        get(&mut conn, "url-target:1").as_deref(),
        Some("https://a.example/")
    );
    assert_eq!(
        get(&mut conn, "reverse-url:https://b.example/").as_deref(),
        Some("2")
    );
    assert_eq!(get(&mut conn, "click-count:2").as_deref(), Some("1"));
    assert_eq!(get(&mut conn, "click-count:1"), None);

    // Links shortened by another program (the Python tutorial, say) work here too.
    let _: () = conn.set("url-target:zz", "https://py.example/").unwrap();
    let res = client.get("/zz").send();
    assert_eq!(res.header("location"), Some("https://py.example/"));
}

#[test]
fn the_redis_store_shortens_each_url_once_under_concurrency() {
    let server = RedisServer::start();
    let store = std::sync::Arc::new(RedisStore::open(&server.url()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                (0..20)
                    .map(|i| store.insert_url(&format!("https://c.example/{i}")).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<Vec<String>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for other in &results[1..] {
        assert_eq!(other, &results[0], "every thread sees the same id per URL");
    }
    for id in &results[0] {
        store.incr_clicks(id).unwrap();
    }
    assert_eq!(store.click_count(&results[0][0]).unwrap(), 1);
}

#[test]
fn a_wrong_redis_url_fails_at_start_up() {
    let port = common::free_port(); // nothing listens there
    let err = RedisStore::open(&format!("redis://127.0.0.1:{port}/"))
        .err()
        .expect("no server, no store");
    assert!(err.to_string().starts_with("redis:"), "{err}");
}

// ---------------------------------------------------------------------------------------
// The tutorial
// ---------------------------------------------------------------------------------------

/// The code blocks of a Markdown file that follow a `<!-- file: PATH -->` line (a copy of
/// part of that file; Rust ones are `ignore`d by the doctests, being compiled there):
/// `(line, file, code)`.
fn file_blocks(markdown: &str) -> Vec<(usize, String, String)> {
    let mut blocks = Vec::new();
    let mut file = None;
    let mut lines = markdown.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if let Some(path) = line
            .trim()
            .strip_prefix("<!-- file: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        {
            file = Some(path.to_owned());
            continue;
        }
        if !line.trim_start().starts_with("```") {
            file = None;
            continue;
        }
        let mut body = String::new();
        for (_, line) in lines.by_ref() {
            if line.trim_start().starts_with("```") {
                break;
            }
            body.push_str(line);
            body.push('\n');
        }
        if let Some(file) = file.take() {
            blocks.push((n + 1, file, body));
        }
    }
    blocks
}

/// Checks that every file-tagged block of `doc` appears verbatim in its file, so the docs
/// cannot drift from code that is compiled and tested. Returns the files shown.
fn check_doc_blocks(doc: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let markdown = std::fs::read_to_string(root.join(doc)).unwrap();
    let blocks = file_blocks(&markdown);
    for (line, file, body) in &blocks {
        assert!(!body.trim().is_empty(), "{doc}:{line}: empty block");
        let source = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("{doc}:{line}: cannot read {file}: {e}"));
        // Code inside a module or an `impl` may be shown without its indentation.
        let found = ["", "    ", "        "].iter().any(|indent| {
            let indented: String = body
                .lines()
                .map(|l| {
                    if l.is_empty() {
                        "\n".to_owned()
                    } else {
                        format!("{indent}{l}\n")
                    }
                })
                .collect();
            source.contains(indented.as_str())
        });
        assert!(
            found,
            "{doc}:{line}: this block is not in {file} as written:\n{body}"
        );
    }
    let mut files: Vec<String> = blocks.into_iter().map(|(_, f, _)| f).collect();
    files.sort_unstable();
    files.dedup();
    files
}

#[test]
fn the_tutorials_code_is_the_examples_code() {
    let files = check_doc_blocks("docs/tutorial.md");
    for expected in [
        "examples/shortly/main.rs",
        "examples/shortly/views.rs",
        "examples/shortly/storage.rs",
        "examples/shortly/storage/file_store.rs",
        "examples/shortly/storage/redis_store.rs",
        "tests/shortly/steps.rs",
        "examples/shortly/templates/layout.html",
        "examples/shortly/templates/new_url.html",
        "examples/shortly/templates/short_link_details.html",
        "examples/shortly/templates/404.html",
        "examples/shortly/static/style.css",
        "tests/shortly.rs",
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "the tutorial shows no code from {expected}"
        );
    }
}

#[test]
fn every_block_marked_as_a_copy_in_the_guides_is_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec!["README.md".to_owned()];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            docs.push(format!("docs/{name}"));
        }
    }
    for doc in docs {
        check_doc_blocks(&doc);
    }
}

#[test]
fn the_toy_server_in_how_it_works_is_tested_code() {
    let files = check_doc_blocks("docs/how-it-works.md");
    assert_eq!(
        files,
        ["examples/shortly/main.rs", "tests/shortly/toy_server.rs"]
    );
}

// Step 0 of the tutorial: the plain hello app, before Shortly exists.
use zeug::{Environ, Request, Response};

fn application(environ: Environ) -> Response {
    let request = Request::new(environ);
    let name = request.args().get("name").unwrap_or("World");
    Response::new(format!("Hello {name}!"))
}

#[test]
fn the_hello_app_of_step_0() {
    let client = Client::new(application);
    assert_eq!(client.get("/").send().text(), "Hello World!");
    assert_eq!(client.get("/?name=zeug").send().text(), "Hello zeug!");
}

// The test the tutorial shows under "Testing it".
use shortly::storage::MemoryStore;

#[test]
fn shortening_then_following_a_link() {
    let client = Client::new(create_app(Box::new(MemoryStore::default()), true));
    let res = client
        .post("/")
        .form(&[("url", "https://example.com/")])
        .send();
    assert_eq!(res.status(), 303);
    assert_eq!(res.header("location"), Some("/1+"));
    let res = client.get("/1").send();
    assert_eq!(res.status(), 302);
    assert_eq!(res.header("location"), Some("https://example.com/"));
    assert!(
        client
            .get("/1+")
            .send()
            .text()
            .contains("<dd id=\"click-count\">1</dd>")
    );
}

// The tutorial's first versions, which later steps replace.
#[path = "shortly/steps.rs"]
mod steps;

#[test]
fn the_first_version_of_step_2_says_hello() {
    let client = Client::new(steps::step2::Shortly {});
    assert_eq!(client.get("/anything").send().text(), "Hello World!");
}

#[test]
fn the_first_store_of_step_3_keeps_links_in_memory() {
    let client = Client::new(create_app(steps::step3::store_from_env().unwrap(), false));
    let res = client
        .post("/")
        .form(&[("url", "https://example.com/")])
        .send();
    assert_eq!(res.header("location"), Some("/1+"));
    assert!(client.get("/1+").send().text().contains("example.com"));
}

// The toy server of docs/how-it-works.md ("How would I write my own server on zeug?").
#[path = "shortly/toy_server.rs"]
mod toy_server;
