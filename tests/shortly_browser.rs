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

use std::thread::JoinHandle;

use common::webdriver::{Browser, Driver};
use serde_json::json;
use zeug::serving::{Options, ShutdownHandle, make_server};
use zeug::{Application, Environ, Response};

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
