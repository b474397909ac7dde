//! Headless Chromium driven over WebDriver (chromedriver's HTTP + JSON protocol, spoken
//! with `ureq`), for the browser tests. Needs `chromium` and `chromedriver` (Debian:
//! `chromium`, `chromium-driver`; `scripts/test.sh` installs them); `CHROMIUM` and
//! `CHROMEDRIVER` override where they are looked for.
//!
//! One [`Driver`] (a chromedriver process group, killed on drop) runs one [`Browser`] (a
//! session; several pages are several windows of it, which keeps a test to one browser
//! process on a small machine).
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long chromedriver may take to answer `/status` after it is started.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest one WebDriver command may take (starting a browser is the slow one).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to wait for a page to reach an expected state.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(15);
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

/// chromedriver on a free port, in its own process group so that it and the browsers it
/// starts are all ended on drop.
pub struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Driver {
    pub fn start() -> Driver {
        let binary = tool("CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = super::free_port();
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
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        loop {
            let ready = driver
                .agent
                .get(&format!("{}/status", driver.base))
                .call()
                .ok()
                .and_then(|r| r.into_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == json!(true));
            if ready {
                return driver;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
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

/// One headless Chromium session; closed on drop.
pub struct Browser<'d> {
    driver: &'d Driver,
    session: String,
    _profile: tempfile::TempDir,
}

impl<'d> Browser<'d> {
    pub fn open(driver: &'d Driver) -> Browser<'d> {
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
            // Background tabs keep running their timers and sockets at full speed.
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
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

    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn current_url(&self) -> String {
        self.command("GET", "/url", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The current window's handle.
    pub fn window(&self) -> String {
        self.command("GET", "/window", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Opens a new tab and returns its handle (the current window does not change).
    pub fn new_tab(&self) -> String {
        let value = self.command("POST", "/window/new", Some(json!({ "type": "tab" })));
        value["handle"].as_str().unwrap().to_owned()
    }

    /// Makes the window `handle` the one commands go to.
    pub fn switch_to(&self, handle: &str) {
        self.command("POST", "/window", Some(json!({ "handle": handle })));
    }

    /// The element matching `css`, waiting for it to appear.
    pub fn find(&self, css: &str) -> String {
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

    pub fn text(&self, css: &str) -> String {
        let element = self.find(css);
        let text = self.command("GET", &format!("/element/{element}/text"), None);
        text.as_str().unwrap().to_owned()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    pub fn script(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// The current page's title.
    pub fn title(&self) -> String {
        self.command("GET", "/title", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Saves a PNG of the current page at `path` (its folder is created).
    pub fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine as _;
        let png = self.command("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Waits until `check` holds for the current page.
    pub fn wait_until(&self, what: &str, check: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        while !check(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the page is {}",
                self.current_url(),
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.driver.base, self.session);
        let _ = self.driver.agent.delete(&url).call();
    }
}
