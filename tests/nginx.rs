//! A real deployment: nginx (with `deploy/nginx.conf`) in front of two instances of
//! `examples/behind_proxy` on Unix sockets, as `docs/deployment.md` describes.
//!
//! Needs `nginx`: `scripts/test.sh` installs it with apt. The test never skips itself: on
//! a machine without nginx it fails, saying to run `scripts/test.sh`. Everything the test
//! starts (nginx, the app instances) runs in its own process group and is stopped by
//! [`Deployment`]'s `Drop`, also when an assertion fails; sockets, logs and configs live
//! in a temporary directory removed afterwards.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime};

#[allow(dead_code)]
#[path = "../examples/behind_proxy.rs"]
mod behind_proxy;

/// How long an app instance or nginx may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopped process may take to exit before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Timeout for one HTTP request through nginx.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests in flight when one instance is stopped.
const IN_FLIGHT: usize = 1000;
/// Requests sent while that instance is shutting down (they must go to the other one).
const DURING_SHUTDOWN: usize = 200;
/// When the instance is stopped, after the in-flight requests start (all start within
/// 100 ms and take [`SLOW_MS`], so all are in flight then).
const STOP_AFTER_MS: u64 = 150;
/// How long each in-flight request takes in the app.
const SLOW_MS: u64 = 400;

// ------------------------------------------------------------------ the example, in-process

#[test]
fn behind_proxy_example_reports_what_proxy_fix_rebuilt() {
    let warnings = zeug::middleware::LintWarnings::new();
    let app = zeug::middleware::Lint::new(behind_proxy::app()).collect_into(warnings.clone());
    let client = zeug::test::Client::new(app);
    let res = client
        .get("/some/where?x=1")
        .header("x-forwarded-for", "6.6.6.6, 203.0.113.9")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "shop.example")
        .header("x-forwarded-prefix", "/shop")
        .send();
    assert_eq!(res.status(), 200);
    assert!(res.header("x-instance").is_some());
    let seen: serde_json::Value = res.json();
    assert_eq!(seen["remote_addr"], "203.0.113.9");
    assert_eq!(seen["scheme"], "https");
    assert_eq!(seen["host"], "shop.example");
    assert_eq!(seen["script_root"], "/shop");
    assert_eq!(seen["url"], "https://shop.example/shop/some/where?x=1");
    assert_eq!(seen["original_remote_addr"], "127.0.0.1");
    assert!(warnings.is_empty(), "{:?}", warnings.all());
}

// ------------------------------------------------------------------ the deployment

/// The processes and files of one test deployment; `Drop` stops and removes them all.
struct Deployment {
    dir: tempfile::TempDir,
    port: u16,
    nginx: Option<Child>,
    apps: Vec<(String, Child)>,
}

impl Deployment {
    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    fn socket(&self, n: usize) -> PathBuf {
        self.root().join(format!("run/app-{n}.sock"))
    }

    /// Starts instance `n` (`INSTANCE=name`) of the example on its Unix socket.
    fn start_app(&mut self, binary: &Path, n: usize, name: &str) {
        let socket = self.socket(n);
        let log = std::fs::File::create(self.root().join(format!("log/app-{n}.log"))).unwrap();
        let child = Command::new(binary)
            .env("HOST", format!("unix://{}", socket.display()))
            .env("INSTANCE", name)
            .env_remove("SOCKET")
            .env_remove("PORT")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        self.apps.push((name.to_owned(), child));
        common::wait_for(START_TIMEOUT, || {
            if UnixStream::connect(&socket).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.apps.last_mut().unwrap().1.try_wait().unwrap() {
                panic!(
                    "instance {name} exited with {status}\n{}",
                    self.diagnostics()
                );
            }
            Err(format!(
                "instance {name} did not listen on {}\n{}",
                socket.display(),
                self.diagnostics()
            ))
        });
    }

    /// Writes `deploy/nginx.conf` with this deployment's paths and port, and starts nginx.
    fn start_nginx(&mut self, nginx: &Path) {
        let root = self.root().to_path_buf();
        let template = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx.conf"),
        )
        .unwrap();
        let r = |p: &str| root.join(p).display().to_string();
        let mut config = template
            .replace("/run/zeug/", &format!("{}/", r("run")))
            .replace("/srv/zeug/static/", &format!("{}/", r("static")))
            .replace("/var/log/zeug/", &format!("{}/", r("log")))
            .replace("/var/cache/zeug/", &format!("{}/", r("cache")))
            .replace("listen 80;", &format!("listen 127.0.0.1:{};", self.port))
            // Keep the test's own footprint small on a shared machine.
            .replace("worker_processes auto;", "worker_processes 2;");
        if !Path::new("/etc/nginx/mime.types").exists() {
            config = config.replace(
                "include /etc/nginx/mime.types;",
                "types { text/plain txt; text/css css; text/html html; }",
            );
        }
        for (needle, what) in [
            ("/run/zeug", "run"),
            ("/srv/zeug", "static"),
            ("/var/log/zeug", "log"),
            ("/var/cache/zeug", "cache"),
            ("listen 80;", "port"),
        ] {
            let live = config
                .lines()
                .map(|l| l.split('#').next().unwrap_or(""))
                .any(|l| l.contains(needle));
            assert!(!live, "{what} not substituted in nginx.conf");
        }
        let conf = root.join("nginx.conf");
        std::fs::write(&conf, config).unwrap();

        let mut globals = "daemon off;".to_owned();
        // As root, workers would switch to `nobody` and could not reach the sockets or the
        // temporary directory; keep them as the test's user.
        if unsafe { libc::geteuid() } == 0 {
            globals.push_str(" user root root;");
        }
        let log = std::fs::File::create(root.join("log/nginx-stdout.log")).unwrap();
        let child = Command::new(nginx)
            .arg("-p")
            .arg(&root)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(root.join("log/nginx-startup.log"))
            .arg("-g")
            .arg(globals)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", nginx.display()));
        self.nginx = Some(child);
        common::wait_for(START_TIMEOUT, || {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.nginx.as_mut().unwrap().try_wait().unwrap() {
                panic!("nginx exited with {status}\n{}", self.diagnostics());
            }
            Err(format!("nginx did not listen\n{}", self.diagnostics()))
        });
    }

    /// The logs, for failure messages.
    fn diagnostics(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(self.root().join("log")) {
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                out.push_str(&format!("--- {} (last lines)\n", path.display()));
                for line in tail.into_iter().rev() {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// Sends `signal` to a child and waits up to `timeout` for it to exit; then kills its whole
/// process group.
fn stop(child: &mut Child, signal: libc::c_int, timeout: Duration) {
    let pid = child.id() as libc::pid_t;
    if child.try_wait().ok().flatten().is_none() {
        unsafe { libc::kill(pid, signal) };
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // Whatever is left of the group (nginx workers, forked app workers) goes too.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Deployment {
    fn drop(&mut self) {
        if let Some(mut nginx) = self.nginx.take() {
            stop(&mut nginx, libc::SIGTERM, STOP_TIMEOUT);
        }
        for (_, child) in &mut self.apps {
            stop(child, libc::SIGTERM, STOP_TIMEOUT);
        }
        if std::thread::panicking() {
            eprintln!("{}", self.diagnostics());
        }
        // The temporary directory (sockets, config, logs, static files) goes with `dir`.
    }
}

fn nginx_binary() -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("nginx"))
            .find(|p| p.is_file())
    });
    from_path.or_else(|| {
        let p = PathBuf::from("/usr/sbin/nginx");
        p.is_file().then_some(p)
    })
}

/// The newest modification time among the files that make up the example binary.
fn newest_source() -> SystemTime {
    fn walk(dir: &Path, newest: &mut SystemTime) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, newest);
            } else if let Ok(t) = entry.metadata().and_then(|m| m.modified()) {
                *newest = (*newest).max(t);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut newest = SystemTime::UNIX_EPOCH;
    walk(&root.join("src"), &mut newest);
    for file in ["examples/behind_proxy.rs", "Cargo.toml"] {
        if let Ok(t) = std::fs::metadata(root.join(file)).and_then(|m| m.modified()) {
            newest = newest.max(t);
        }
    }
    newest
}

/// The `behind_proxy` example binary: the one `cargo test` built beside this test when it
/// is up to date (a full `cargo test` builds examples), else built now with a nested
/// `cargo build` into the same target directory (cargo releases its build lock before it
/// runs the tests).
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/nginx-<hash>
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let binary = profile_dir.join("examples/behind_proxy");
    let fresh = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= newest_source())
    };
    if fresh(&binary) {
        return binary;
    }
    let target_dir = profile_dir.parent().unwrap();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--quiet",
            "--example",
            "behind_proxy",
            "--target-dir",
        ])
        .arg(target_dir);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cannot run cargo");
    assert!(
        status.success(),
        "cargo build --example behind_proxy failed"
    );
    assert!(binary.is_file(), "{} was not built", binary.display());
    binary
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(REQUEST_TIMEOUT).build()
}

fn get_json(agent: &ureq::Agent, url: &str, headers: &[(&str, &str)]) -> serde_json::Value {
    let mut req = agent.get(url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let res = req.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(res.status(), 200);
    res.into_json().unwrap()
}

fn deploy() -> Deployment {
    let binary = example_binary();
    let mut d = prepare();
    d.start_app(&binary, 1, "a");
    d.start_app(&binary, 2, "b");
    d.start_nginx(&nginx());
    d
}

fn nginx() -> PathBuf {
    nginx_binary().unwrap_or_else(|| {
        panic!(
            "nginx is not installed (not on PATH, not /usr/sbin/nginx): \
             run scripts/test.sh, which installs it with apt and then runs the tests"
        )
    })
}

/// The directories of a deployment and a free port; nothing started yet.
fn prepare() -> Deployment {
    let dir = tempfile::Builder::new()
        .prefix("zeug-nginx-")
        .tempdir()
        .unwrap();
    for sub in ["run", "static", "log", "cache"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    std::fs::write(dir.path().join("static/hello.txt"), "hello from nginx\n").unwrap();
    Deployment {
        dir,
        port: common::free_port(),
        nginx: None,
        apps: Vec::new(),
    }
}

#[test]
fn nginx_in_front_of_two_instances() {
    let mut d = deploy();
    let agent = agent();

    // Requests are spread over both instances.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for _ in 0..20 {
        let v = get_json(&agent, &d.url("/spread"), &[]);
        *seen
            .entry(v["instance"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(
        seen.len(),
        2,
        "one instance got everything: {seen:?}\n{}",
        d.diagnostics()
    );

    // The app sees the client's address, scheme and host through ProxyFix; what the client
    // forges in the same headers is not trusted.
    let v = get_json(
        &agent,
        &d.url("/whoami?x=1"),
        &[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-prefix", "/forged"),
        ],
    );
    assert_eq!(v["remote_addr"], "127.0.0.1", "{v}");
    assert_eq!(v["x_forwarded_for"], "6.6.6.6, 127.0.0.1", "{v}");
    assert_eq!(v["scheme"], "http", "{v}");
    assert_eq!(v["x_forwarded_proto"], "http", "{v}");
    assert_eq!(v["host"], format!("127.0.0.1:{}", d.port), "{v}");
    assert_eq!(v["script_root"], "", "{v}");
    assert_eq!(
        v["url"],
        format!("http://127.0.0.1:{}/whoami?x=1", d.port),
        "{v}"
    );
    // Over a Unix socket the transport has no client address: only ProxyFix gave one.
    assert_ne!(v["original_remote_addr"], "127.0.0.1", "{v}");

    // A static file comes from nginx, not from an instance.
    let res = agent.get(&d.url("/static/hello.txt")).call().unwrap();
    assert_eq!(res.header("server"), Some("nginx"));
    assert!(res.header("x-instance").is_none());
    assert!(res.header("expires").is_some());
    let mut body = String::new();
    res.into_reader().read_to_string(&mut body).unwrap();
    assert_eq!(body, "hello from nginx\n");
    let app_res = agent.get(&d.url("/")).call().unwrap();
    assert!(app_res.header("x-instance").is_some());

    // `disable_symlinks if_not_owner`: a link in the tree to a file of the same owner is
    // served; a link to someone else's file is refused, as SharedData refuses it.
    let static_dir = d.root().join("static");
    std::os::unix::fs::symlink("hello.txt", static_dir.join("same-owner.txt")).unwrap();
    let res = agent.get(&d.url("/static/same-owner.txt")).call().unwrap();
    let mut body = String::new();
    res.into_reader().read_to_string(&mut body).unwrap();
    assert_eq!(body, "hello from nginx\n");
    let secret = d.root().join("secret.txt");
    std::fs::write(&secret, "TOP SECRET\n").unwrap();
    let link = static_dir.join("leak.txt");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    // Owners must differ: as root, hand the link to `nobody`.
    if std::fs::metadata(&secret).unwrap().uid() == 0 {
        std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).unwrap();
    } else {
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
    }
    match agent.get(&d.url("/static/leak.txt")).call() {
        Err(ureq::Error::Status(code, _)) => assert!(code == 403 || code == 404, "{code}"),
        Ok(res) => panic!(
            "nginx served a link to someone else's file: {}",
            res.status()
        ),
        Err(e) => panic!("GET /static/leak.txt: {e}"),
    }

    // Stopping one instance gracefully while IN_FLIGHT requests are in flight loses none:
    // it finishes what it accepted, and nginx retries what it refuses on the other one —
    // including DURING_SHUTDOWN more requests sent while it is going down.
    let total = IN_FLIGHT + DURING_SHUTDOWN;
    let barrier = Arc::new(Barrier::new(total + 1));
    let url = d.url(&format!("/slow?delay_ms={SLOW_MS}"));
    let workers: Vec<_> = (0..total)
        .map(|i| {
            let barrier = barrier.clone();
            let agent = agent.clone();
            let url = url.clone();
            let start = if i < IN_FLIGHT {
                (i % 100) as u64
            } else {
                STOP_AFTER_MS + 5 + ((i - IN_FLIGHT) % 200) as u64
            };
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    barrier.wait();
                    std::thread::sleep(Duration::from_millis(start));
                    match agent.get(&url).call() {
                        Ok(res) => {
                            let status = res.status();
                            let instance = res.header("x-instance").unwrap_or("?").to_owned();
                            Ok((status, instance))
                        }
                        Err(e) => Err(e.to_string()),
                    }
                })
                .expect("spawn a client thread")
        })
        .collect();
    barrier.wait();
    std::thread::sleep(Duration::from_millis(STOP_AFTER_MS));
    let stopped = d.apps[0].1.id() as libc::pid_t;
    unsafe { libc::kill(stopped, libc::SIGTERM) };

    let mut by_instance: HashMap<String, usize> = HashMap::new();
    let mut failures = Vec::new();
    for w in workers {
        match w.join().expect("client thread panicked") {
            Ok((200, instance)) => *by_instance.entry(instance).or_default() += 1,
            Ok((status, instance)) => failures.push(format!("{status} from {instance}")),
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} requests failed while instance a stopped: {:?}\n{}",
        failures.len(),
        &failures[..failures.len().min(10)],
        d.diagnostics()
    );
    assert_eq!(by_instance.values().sum::<usize>(), total);
    eprintln!("in-flight requests answered per instance: {by_instance:?}");
    // Instance a answered what it had accepted before it stopped: the drain was graceful.
    assert!(
        by_instance.get("a").copied().unwrap_or(0) > 0,
        "instance a answered none of its requests: {by_instance:?}\n{}",
        d.diagnostics()
    );

    // The stopped instance exits by itself, cleanly, and the other serves on.
    let deadline = Instant::now() + STOP_TIMEOUT;
    let status = loop {
        if let Some(status) = d.apps[0].1.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "instance a did not exit after SIGTERM\n{}",
            d.diagnostics()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.success(),
        "instance a exited with {status}\n{}",
        d.diagnostics()
    );
    for _ in 0..10 {
        assert_eq!(get_json(&agent, &d.url("/after"), &[])["instance"], "b");
    }
}

// ------------------------------------------------------------------ WebSockets and events

#[cfg(feature = "websocket")]
#[allow(dead_code)]
#[path = "../examples/chat/main.rs"]
mod chat;

/// The chat example served in this process on both instance sockets, sharing one room;
/// stopped when dropped.
#[cfg(feature = "websocket")]
struct ChatInstances {
    servers: Vec<(
        zeug::serving::ShutdownHandle,
        std::thread::JoinHandle<std::io::Result<()>>,
    )>,
}

#[cfg(feature = "websocket")]
impl ChatInstances {
    fn start(d: &Deployment) -> ChatInstances {
        let hub = Arc::new(chat::Hub::default());
        let servers = (1..=2)
            .map(|n| {
                let host = format!("unix://{}", d.socket(n).display());
                let app = chat::Chat::with_hub(Arc::clone(&hub));
                // Open event streams count as requests in flight at shutdown: do not
                // wait the default 10 s for them at the end of the test.
                let options =
                    zeug::serving::Options::new().shutdown_grace_period(Duration::from_millis(200));
                let server = zeug::serving::make_server(&host, 0, app, options).unwrap();
                let shutdown = server.shutdown_handle();
                (shutdown, std::thread::spawn(move || server.serve_forever()))
            })
            .collect();
        ChatInstances { servers }
    }
}

#[cfg(feature = "websocket")]
impl Drop for ChatInstances {
    fn drop(&mut self) {
        for (shutdown, _) in &self.servers {
            shutdown.shutdown();
        }
        for (_, thread) in self.servers.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(feature = "websocket")]
#[test]
fn websockets_and_event_streams_through_nginx() {
    use zeug::sse::EventReader;
    use zeug::websocket::Message;
    use zeug::websocket::tungstenite::{self, client::IntoClientRequest};

    let mut d = prepare();
    let _instances = ChatInstances::start(&d);
    d.start_nginx(&nginx());

    // A WebSocket through the `/ws` location: the upgrade reaches zeug and frames flow
    // both ways.
    let stream = std::net::TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    stream.set_read_timeout(Some(REQUEST_TIMEOUT)).unwrap();
    let mut request = format!("ws://127.0.0.1:{}/ws", d.port)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "chat.v1".parse().unwrap());
    let (mut ws, response) = tungstenite::client(request, stream)
        .unwrap_or_else(|e| panic!("WebSocket through nginx: {e}\n{}", d.diagnostics()));
    assert_eq!(response.status(), 101);
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v1");
    let mut next_text = || loop {
        match ws.read().unwrap() {
            Message::Text(t) => {
                return serde_json::from_str::<serde_json::Value>(&t).unwrap()["text"]
                    .as_str()
                    .unwrap()
                    .to_owned();
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };

    // An event stream through the `/events` location: each event arrives while the
    // response is still open (nginx does not hold it back in a buffer).
    let agent = ureq::AgentBuilder::new()
        .timeout_read(REQUEST_TIMEOUT)
        .build();
    let events = agent.get(&d.url("/events")).call().unwrap();
    assert_eq!(events.header("content-type"), Some("text/event-stream"));
    let mut events = EventReader::new(std::io::BufReader::new(events.into_reader()));

    // Said over the socket: heard on the socket and on the stream.
    let ws_sender = {
        let (mut ws2, _) = tungstenite::client(
            format!("ws://127.0.0.1:{}/ws", d.port),
            std::net::TcpStream::connect(("127.0.0.1", d.port)).unwrap(),
        )
        .unwrap();
        ws2.send(Message::text("hello through nginx")).unwrap();
        ws2
    };
    assert_eq!(next_text(), "hello through nginx");
    let event = events.next_event().unwrap().unwrap();
    assert_eq!(event.event(), Some("chat"));
    assert!(
        event.data().contains("hello through nginx"),
        "{}",
        event.data()
    );

    // Said over POST (the page's fallback): heard on both again.
    let sent = agent
        .post(&d.url("/send"))
        .send_form(&[("text", "and back through nginx")])
        .unwrap();
    assert_eq!(sent.status(), 204);
    assert_eq!(next_text(), "and back through nginx");
    let event = events.next_event().unwrap().unwrap();
    assert!(
        event.data().contains("and back through nginx"),
        "{}",
        event.data()
    );
    assert_eq!(event.id(), Some("2"));
    drop(ws_sender);
}
