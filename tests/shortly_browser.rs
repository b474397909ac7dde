//! Shortly in a real browser: headless Chromium, driven over WebDriver (chromedriver's
//! HTTP + JSON protocol, spoken with `ureq`), against the app served by zeug's own server.
//!
//! One scenario: submit the form, follow the short link to a second local page (so no
//! outside network is needed), come back to the details page and read the click count.
//! A screenshot of that page is saved as `shortly-browser.png` in the Cargo target directory
//! (`CARGO_TARGET_DIR`, or `target/` when it is unset).
//!
//! Needs `chromium` and `chromedriver` (Debian: `chromium`, `chromium-driver`; `scripts/test.sh`
//! installs them). `CHROMIUM` and `CHROMEDRIVER` override where they are looked for.

mod common;

#[path = "../examples/shortly/main.rs"]
#[allow(dead_code)]
mod shortly;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use zeug::serving::{Options, ShutdownHandle, make_server};
use zeug::{Application, Environ, Response};

/// How long chromedriver may take to answer `/status` after it is started.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest one WebDriver command may take (starting a browser is the slow one).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to wait for a page to reach an expected state.
const PAGE_TIMEOUT: Duration = Duration::from_secs(15);
/// The W3C WebDriver key under which an element reference is returned.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

fn tool(env_var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(env_var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.exists(),
        "{} not found; install chromium and chromium-driver (scripts/test.sh does) or set {env_var}",
        path.display()
    );
    path
}

/// An app served by zeug's real server on a free port, in a thread; shut down when dropped.
struct Served {
    port: u16,
    shutdown: ShutdownHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Served {
    fn start(app: impl Application) -> Served {
        let server = make_server("127.0.0.1", 0, app, Options::new()).unwrap();
        let port = server.local_addr().port().expect("a TCP server");
        let shutdown = server.shutdown_handle();
        let thread = std::thread::spawn(move || server.serve_forever());
        Served {
            port,
            shutdown,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// chromedriver on a free port, in its own process group so that it and the browsers it
/// starts are all ended on drop.
struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Driver {
    fn start() -> Driver {
        let binary = tool("CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = common::free_port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent: ureq::AgentBuilder::new().timeout(COMMAND_TIMEOUT).build(),
        };
        common::wait_until("chromedriver to become ready", DRIVER_START_TIMEOUT, || {
            driver
                .agent
                .get(&format!("{}/status", driver.base))
                .call()
                .ok()
                .and_then(|r| r.into_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == json!(true))
        });
        driver
    }

    /// Sends one command and returns its `value`; WebDriver errors become panics that
    /// quote the driver's message.
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let request = self.agent.request(method, &url);
        let result = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        match result {
            Ok(response) => response.into_json::<Value>().unwrap()["value"].take(),
            Err(ureq::Error::Status(code, response)) => {
                let text = response.into_string().unwrap_or_default();
                panic!("WebDriver {method} {path} failed with {code}: {text}")
            }
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SAFETY: kill only sends a signal, to the process group we created at spawn.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// One headless Chromium window; closed on drop.
struct Browser<'d> {
    driver: &'d Driver,
    session: String,
    _profile: tempfile::TempDir,
}

impl<'d> Browser<'d> {
    fn open(driver: &'d Driver) -> Browser<'d> {
        let profile = tempfile::tempdir().unwrap();
        let chromium = tool("CHROMIUM", "/usr/bin/chromium");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1024,768",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": chromium, "args": args },
            }}
        });
        let value = driver.command("POST", "/session", Some(capabilities));
        let session = value["sessionId"].as_str().unwrap().to_owned();
        Browser {
            driver,
            session,
            _profile: profile,
        }
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.driver.command(method, &path, body)
    }

    fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    fn current_url(&self) -> String {
        self.command("GET", "/url", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn title(&self) -> String {
        self.command("GET", "/title", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The element matching `css`, waiting for it to appear.
    fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let found = self.command(
                "POST",
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            );
            if let Some(id) = found[0][ELEMENT_KEY].as_str() {
                return id.to_owned();
            }
            assert!(Instant::now() < deadline, "no element matches {css:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn text(&self, css: &str) -> String {
        let element = self.find(css);
        let text = self.command("GET", &format!("/element/{element}/text"), None);
        text.as_str().unwrap().to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    fn script(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Waits until `check` holds for the current page.
    fn wait_until(&self, what: &str, check: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        while !check(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the page is {} ({})",
                self.current_url(),
                self.title()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn screenshot(&self, path: &Path) {
        let png = self.command("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.driver.base, self.session);
        let _ = self.driver.agent.delete(&url).call();
    }
}

/// The page the short link points at: a second small zeug app.
fn target_page(_environ: Environ) -> Response {
    Response::html(
        "<!doctype html><title>Target page</title><h1 id=\"arrived\">You followed a short link</h1>",
    )
}

#[test]
fn shorten_follow_and_count_in_a_real_browser() {
    let data = tempfile::tempdir().unwrap();
    let store = shortly::storage::FileStore::open(data.path().join("shortly.db")).unwrap();
    let app = Served::start(shortly::create_app(Box::new(store), true));
    let target = Served::start(target_page);
    let target_url = target.url("/landing?from=shortly");

    let driver = Driver::start();
    let browser = Browser::open(&driver);

    // Submit the form.
    browser.goto(&app.url("/"));
    assert_eq!(browser.title(), "Create a short URL | shortly");
    browser.type_into("input[name=url]", &target_url);
    browser.click("input[type=submit]");
    browser.wait_until("the details page", |b| b.current_url().ends_with("/1+"));
    assert_eq!(browser.text("#link-target"), target_url);
    assert_eq!(browser.text("#click-count"), "0");

    // Follow the short link: the app redirects, the browser lands on the target page.
    browser.click("#short-link");
    browser.wait_until("the target page", |b| b.title() == "Target page");
    assert_eq!(browser.current_url(), target_url);
    assert_eq!(browser.text("#arrived"), "You followed a short link");

    // Back on the details page, the click was counted, and the stylesheet applies.
    browser.goto(&app.url("/1+"));
    assert_eq!(browser.text("#click-count"), "1");
    assert_eq!(
        browser.text("#target-host"),
        format!("127.0.0.1:{}", target.port)
    );
    let card =
        browser.script("return getComputedStyle(document.querySelector('.box')).backgroundColor");
    assert_eq!(card, json!("rgb(255, 255, 255)"), "style.css was applied");

    let shot = common::target_dir().join("shortly-browser.png");
    browser.screenshot(&shot);
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);
}
