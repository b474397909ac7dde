//! The server as a process: `examples/hello` on `HOST`/`PORT`, and `examples/dev_server`
//! with the reloader, worker processes, SIGINT/SIGTERM, the debugger and TLS.
//!
//! Each test starts the built example binary on a free loopback port, talks to it over
//! real sockets, and stops it (and every process it started) when the test ends, pass or
//! fail. The binaries are built once per run with the features this test was built with.
#![cfg(unix)]

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for a server to start, restart or stop before failing.
const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// Harness: building the examples, running one, talking to it.

/// The features this test binary was built with, passed on to the example build so the
/// library is not rebuilt with another feature set.
fn features() -> String {
    let mut f = Vec::new();
    if cfg!(feature = "tls") {
        f.push("tls");
    }
    if cfg!(feature = "security") {
        f.push("security");
    }
    if cfg!(feature = "sessions") {
        f.push("sessions");
    }
    if cfg!(feature = "brotli") {
        f.push("brotli");
    }
    f.join(",")
}

/// Builds the examples once and returns the directory holding them.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // target/<profile>/deps/<this test> -> target/<profile>/examples
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--quiet", "--example", "hello"])
            .args(["--example", "dev_server", "--features", &features()])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cargo.arg("--release");
        }
        // `cargo test` runs tests with the package's variables set and a longer
        // LD_LIBRARY_PATH; build scripts that watch them (ring's does) would rebuild for
        // this build, and again for the next `cargo test`.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_MANIFEST_")
                || key == "LD_LIBRARY_PATH"
            {
                cargo.env_remove(&*key);
            }
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "building the examples failed");
        profile_dir.join("examples")
    })
}

use common::free_port;

fn example(name: &str) -> PathBuf {
    examples_dir().join(name)
}

/// A running example; stopped (with its children) on drop.
struct ServerProcess {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
    /// Every process id seen answering, so none outlives the test.
    pids: Mutex<Vec<u32>>,
}

impl ServerProcess {
    fn start(binary: &Path, args: &[&str]) -> ServerProcess {
        Self::start_on("127.0.0.1", binary, args)
    }

    fn start_on(host: &str, binary: &Path, args: &[&str]) -> ServerProcess {
        let port = free_port();
        let mut child = Command::new(binary)
            .args(args)
            .env("HOST", host)
            .env("PORT", port.to_string())
            .env_remove("ZEUG_RUN_MAIN")
            .env_remove("ZEUG_SERVER_FD")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", binary.display()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let server = ServerProcess {
            child,
            port,
            stderr,
            pids: Mutex::new(Vec::new()),
        };
        server.wait_until_serving();
        server
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn wait_for_log(&self, needle: &str, count: usize) {
        common::wait_for(WAIT, || {
            let log = self.log();
            if log.matches(needle).count() >= count {
                Ok(())
            } else {
                Err(format!(
                    "{needle:?} did not appear {count} times in the log:\n{log}"
                ))
            }
        });
    }

    fn wait_until_serving(&self) {
        common::wait_for(WAIT, || {
            let last = match get(self.port, "/") {
                Ok(res) if res.status == 200 => return Ok(()),
                Ok(res) => format!("status {}", res.status),
                Err(e) => e.to_string(),
            };
            Err(format!(
                "the server did not start (last attempt: {last}); its log:\n{}",
                self.log()
            ))
        });
    }

    /// The process id in a `/` answer of `dev_server`, remembered for clean-up.
    fn answering_pid(&self) -> u32 {
        let res = get(self.port, "/").expect("the server answers");
        assert_eq!(res.status, 200, "{}", res.body);
        let pid = parse_pid(&res.body);
        self.pids.lock().unwrap().push(pid);
        pid
    }

    fn signal(&self, signal: libc::c_int) {
        send_signal(self.pid(), signal);
    }

    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {within:?}; its log:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            send_signal(self.pid(), libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && self.child.try_wait().ok().flatten().is_none() {
                thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for pid in self.pids.lock().unwrap().iter() {
            if alive(*pid) {
                send_signal(*pid, libc::SIGKILL);
            }
        }
    }
}

fn send_signal(pid: u32, signal: libc::c_int) {
    // SAFETY: `kill` has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// Whether a process exists and has not been reaped or become a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        // Not Linux: fall back to kill(pid, 0).
        Err(_) if !Path::new("/proc/self/stat").exists() => {
            // SAFETY: signal 0 only checks for existence.
            unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
        }
        Err(_) => false,
    }
}

fn parse_pid(body: &str) -> u32 {
    body.split_whitespace()
        .last()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no process id in {body:?}"))
}

#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

fn parse_answer(raw: &[u8]) -> io::Result<Answer> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| {
        io::Error::new(io::ErrorKind::UnexpectedEof, format!("no head: {text:?}"))
    })?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, head.to_owned()))?;
    Ok(Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}

/// One request on a fresh connection (`Connection: close`), read to the end.
fn request(addr: SocketAddr, path: &str, extra_headers: &str) -> io::Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra_headers}\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_answer(&raw)
}

fn get(port: u16, path: &str) -> io::Result<Answer> {
    request(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), path, "")
}

// ---------------------------------------------------------------------------------------
// examples/hello: `cargo run --example hello` serves on HOST/PORT.

#[test]
fn hello_example_serves_on_host_and_port_from_the_environment() {
    let server = ServerProcess::start(&example("hello"), &[]);
    let res = get(server.port, "/").unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.body, "Hello World!");
    let res = get(server.port, "/?name=zeug").unwrap();
    assert_eq!(res.body, "Hello zeug!");
    assert_eq!(get(server.port, "/nope").unwrap().status, 404);
    server.wait_for_log(
        &format!(" * Running on http://127.0.0.1:{}", server.port),
        1,
    );
}

// ---------------------------------------------------------------------------------------
// Signals: stop accepting, finish requests in flight, exit 0.

#[test]
fn sigterm_lets_requests_in_flight_finish_then_exits_0() {
    let mut server = ServerProcess::start(&example("dev_server"), &[]);
    let port = server.port;
    let slow = thread::spawn(move || get(port, "/slow?ms=800"));
    server.wait_for_log(" * /slow: sleeping 800 ms", 1);
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    let res = slow
        .join()
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(res.status, 200);
    assert!(res.body.starts_with("slept 800 ms"), "{}", res.body);
    let status = server.wait_exit(WAIT);
    assert_eq!(status.code(), Some(0), "{}", server.log());
    assert!(signalled.elapsed() < Duration::from_secs(5));
    // Nobody accepts any more.
    assert!(get(port, "/").is_err());
}

#[test]
fn sigint_exits_0() {
    let mut server = ServerProcess::start(&example("dev_server"), &[]);
    server.signal(libc::SIGINT);
    let status = server.wait_exit(WAIT);
    assert_eq!(status.code(), Some(0), "{}", server.log());
}

#[test]
fn the_grace_period_bounds_a_shutdown() {
    let mut server = ServerProcess::start(&example("dev_server"), &["--grace", "300"]);
    let port = server.port;
    let slow = thread::spawn(move || get(port, "/slow?ms=20000"));
    server.wait_for_log(" * /slow: sleeping 20000 ms", 1);
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", server.log());
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    // The cut-off request gets no answer.
    assert!(slow.join().unwrap().is_err());
}

// ---------------------------------------------------------------------------------------
// Worker processes.

#[test]
fn worker_processes_share_one_socket_and_stop_together() {
    let mut server = ServerProcess::start(&example("dev_server"), &["--processes", "3"]);
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + WAIT;
    // Slow requests keep a worker busy, so others must answer the next connections.
    while seen.len() < 2 && Instant::now() < deadline {
        let port = server.port;
        let busy: Vec<_> = (0..3)
            .map(|_| thread::spawn(move || get(port, "/slow?ms=100")))
            .collect();
        for b in busy {
            if let Ok(res) = b.join().unwrap() {
                let pid = parse_pid(&res.body);
                server.pids.lock().unwrap().push(pid);
                seen.insert(pid);
            }
        }
    }
    assert!(seen.len() >= 2, "only {seen:?} answered");
    assert!(!seen.contains(&server.pid()), "the parent must not serve");
    server.wait_for_log(" * Started 3 worker processes", 1);

    server.signal(libc::SIGTERM);
    let status = server.wait_exit(WAIT);
    assert_eq!(status.code(), Some(0), "{}", server.log());
    for pid in &seen {
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(*pid) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(*pid), "worker {pid} outlived the server");
    }
}

#[test]
fn worker_processes_refuse_new_connections_while_draining() {
    let mut server = ServerProcess::start(&example("dev_server"), &["--processes", "2"]);
    server.wait_for_log(" * Started 2 worker processes", 1);
    let port = server.port;
    // Keep both workers draining for a while after the signal.
    let slow: Vec<_> = (0..4)
        .map(|_| thread::spawn(move || get(port, "/slow?ms=1500")))
        .collect();
    server.wait_for_log(" * /slow: sleeping 1500 ms", 4);
    server.signal(libc::SIGTERM);
    // Every copy of the listening socket (the workers' and the parent's) is closed at
    // once: a new connection is refused, not queued until the workers have drained.
    let deadline = Instant::now() + Duration::from_secs(1);
    let refused = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => break true,
            _ if Instant::now() >= deadline => break false,
            _ => thread::sleep(Duration::from_millis(20)),
        }
    };
    assert!(refused, "new connections still accepted 1 s after SIGTERM");
    for s in slow {
        let res = s.join().unwrap().expect("requests in flight are answered");
        assert_eq!(res.status, 200);
    }
    let status = server.wait_exit(WAIT);
    assert_eq!(status.code(), Some(0), "{}", server.log());
}

#[test]
fn a_killed_worker_is_replaced() {
    let server = ServerProcess::start(&example("dev_server"), &["--processes", "2"]);
    let victim = server.answering_pid();
    send_signal(victim, libc::SIGKILL);
    server.wait_for_log(
        &format!("Worker {victim} was killed by signal 9; started worker"),
        1,
    );
    // Every request is still answered, never by the dead worker.
    for _ in 0..20 {
        assert_ne!(server.answering_pid(), victim);
    }
}

#[test]
fn workers_stop_when_their_parent_is_killed() {
    let mut server = ServerProcess::start(&example("dev_server"), &["--processes", "2"]);
    let worker = server.answering_pid();
    send_signal(server.pid(), libc::SIGKILL);
    server.wait_exit(WAIT);
    wait_until_gone(worker);
}

fn wait_until_gone(pid: u32) {
    let deadline = Instant::now() + WAIT;
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "process {pid} outlived its parent"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------
// The reloader.

/// Hammers the server with fresh connections until `stop`, counting refusals and other
/// failures.
fn hammer(port: u16, stop: Arc<AtomicBool>) -> thread::JoinHandle<(usize, usize, Vec<String>)> {
    thread::spawn(move || {
        let (mut ok, mut refused, mut errors) = (0, 0, Vec::new());
        while !stop.load(Ordering::SeqCst) {
            match get(port, "/") {
                Ok(res) if res.status == 200 => ok += 1,
                Ok(res) => errors.push(format!("status {}", res.status)),
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => refused += 1,
                Err(e) => errors.push(e.to_string()),
            }
            thread::sleep(Duration::from_millis(5));
        }
        (ok, refused, errors)
    })
}

fn wait_for_new_pid(server: &ServerProcess, old: u32) -> u32 {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(res) = get(server.port, "/").and_then(|res| {
            if res.status == 200 {
                Ok(res)
            } else {
                Err(io::Error::other(format!("status {}", res.status)))
            }
        }) {
            let pid = parse_pid(&res.body);
            server.pids.lock().unwrap().push(pid);
            if pid != old {
                return pid;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the server was not restarted; its log:\n{}",
            server.log()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_reloader_restarts_on_an_extra_file_change_without_refusing_connections() {
    let dir = tempfile::tempdir().unwrap();
    let greeting = dir.path().join("greeting.txt");
    std::fs::write(&greeting, "Hello\n").unwrap();
    let mut server = ServerProcess::start(
        &example("dev_server"),
        &[
            "--reload",
            "--greeting-file",
            greeting.to_str().unwrap(),
            "--interval",
            "100",
        ],
    );
    server.wait_for_log(" * Restarting with stat", 1);
    let first = server.answering_pid();
    assert_ne!(first, server.pid(), "a child serves, the parent watches");

    let stop = Arc::new(AtomicBool::new(false));
    let load = hammer(server.port, stop.clone());
    thread::sleep(Duration::from_millis(200));
    std::fs::write(&greeting, "Bonjour\n").unwrap();
    let second = wait_for_new_pid(&server, first);
    thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    let (ok, refused, errors) = load.join().unwrap();

    assert_ne!(second, server.pid());
    assert!(
        get(server.port, "/")
            .unwrap()
            .body
            .starts_with("Bonjour from process")
    );
    assert_eq!(refused, 0, "connections were refused during the restart");
    // The old child answers every request that reached it (a request already sent is
    // not closed as idle), and the parent keeps the socket for the next child.
    assert!(
        errors.is_empty(),
        "requests failed during the restart: {errors:?}"
    );
    assert!(ok > 10, "only {ok} requests went through");
    server.wait_for_log(" * Detected change in", 1);
    server.wait_for_log(" * Restarting with stat", 2);
    assert!(server.log().contains("greeting.txt"), "{}", server.log());
    assert!(!alive(first), "the old child was not stopped");
    // The banner is printed once, by the parent.
    assert_eq!(
        server.log().matches(" * Running on").count(),
        1,
        "{}",
        server.log()
    );

    server.signal(libc::SIGTERM);
    let status = server.wait_exit(WAIT);
    assert_eq!(status.code(), Some(0), "{}", server.log());
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(second) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(second), "the child outlived the reloader");
}

#[test]
fn the_reloader_restarts_when_the_executable_is_rebuilt() {
    // Run a copy, so "rebuilding" it (a new file renamed over the old, as the linker's
    // output is) does not disturb the other tests.
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("dev_server");
    std::fs::copy(example("dev_server"), &exe).unwrap();
    let server = ServerProcess::start(&exe, &["--reload", "--interval", "100"]);
    let first = server.answering_pid();

    let fresh = dir.path().join("dev_server.new");
    std::fs::copy(example("dev_server"), &fresh).unwrap();
    // A modification time the reloader sees as new, without waiting for the clock to move
    // past the copy's.
    std::fs::File::options()
        .write(true)
        .open(&fresh)
        .unwrap()
        .set_modified(std::time::SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    std::fs::rename(&fresh, &exe).unwrap();

    let second = wait_for_new_pid(&server, first);
    assert_ne!(second, server.pid());
    server.wait_for_log(" * Detected change in", 1);
}

#[test]
fn the_child_stops_when_the_reloader_is_killed() {
    let mut server = ServerProcess::start(&example("dev_server"), &["--reload"]);
    let child = server.answering_pid();
    assert_ne!(child, server.pid());
    send_signal(server.pid(), libc::SIGKILL);
    server.wait_exit(WAIT);
    wait_until_gone(child);
}

/// Linux: the value of `name` in the environment `pid` was started with.
fn initial_env(pid: u32, name: &str) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    raw.split(|&b| b == 0).find_map(|entry| {
        let entry = String::from_utf8_lossy(entry);
        entry
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('='))
            .map(str::to_owned)
    })
}

#[test]
fn the_child_makes_its_inherited_socket_close_on_exec_again() {
    if !Path::new("/proc/self/fdinfo").exists() {
        eprintln!("skipped: no /proc/<pid>/fdinfo here");
        return;
    }
    let server = ServerProcess::start(&example("dev_server"), &["--reload"]);
    let child = server.answering_pid();
    let fd = initial_env(child, "ZEUG_SERVER_FD").expect("the child was given the socket");
    let flags = |pid: u32| {
        let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .map(|f| u32::from_str_radix(f.trim(), 8).unwrap())
            .unwrap()
    };
    const O_CLOEXEC: u32 = 0o2000000;
    assert_ne!(flags(child) & O_CLOEXEC, 0, "fd {fd} of the child");
    // The parent's copy stays inheritable: it starts the next child with it.
    assert_eq!(flags(server.pid()) & O_CLOEXEC, 0, "fd {fd} of the parent");
}

#[test]
fn a_failing_child_gets_503_answers_and_restarts_with_back_off() {
    let dir = tempfile::tempdir().unwrap();
    let greeting = dir.path().join("greeting.txt");
    std::fs::write(&greeting, "Hello\n").unwrap();
    let server = ServerProcess::start(
        &example("dev_server"),
        &[
            "--reload",
            "--greeting-file",
            greeting.to_str().unwrap(),
            "--interval",
            "50",
        ],
    );
    let first = server.answering_pid();

    // An edit that breaks start-up: the new child exits at once.
    std::fs::write(&greeting, "").unwrap();
    server.wait_for_log("the greeting is empty", 1);
    server.wait_for_log("restarting it in 500ms or on the next change", 1);
    // Nobody is left waiting on a socket that nobody serves: the parent answers.
    let res = get(server.port, "/").unwrap();
    assert_eq!(res.status, 503, "{res:?}");
    assert!(
        res.head.to_ascii_lowercase().contains("retry-after: 1"),
        "{}",
        res.head
    );
    assert!(res.body.contains("exited with status"), "{}", res.body);
    // It is restarted without a change, each time a little later.
    server.wait_for_log("restarting it in 1s or on the next change", 1);

    // Fixing the file brings the server back at once.
    std::fs::write(&greeting, "Fixed\n").unwrap();
    let second = wait_for_new_pid(&server, first);
    assert!(!alive(first));
    let res = get(server.port, "/").unwrap();
    assert_eq!(res.body, format!("Fixed from process {second}\n"));
}

// ---------------------------------------------------------------------------------------
// Stopping under load: a burst of requests while SIGTERM arrives.

/// How a burst went: answered, refused at connect (the server had stopped listening), and
/// anything else (a reset or an end of stream without a response, a timeout).
#[derive(Debug, Default)]
struct Burst {
    answered: usize,
    refused: usize,
    failed: Vec<String>,
}

/// Sends `total` requests, each on a fresh connection, from a few threads; sends SIGTERM
/// to `pid` once `signal_after` have been answered. Every request that was accepted must
/// be answered.
fn burst_with_sigterm(port: u16, pid: u32, total: usize, signal_after: usize) -> Burst {
    use std::sync::atomic::AtomicUsize;
    const CLIENTS: usize = 8;
    let next = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let signalled = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (next, answered, signalled) = (next.clone(), answered.clone(), signalled.clone());
            thread::spawn(move || {
                let mut mine = Burst::default();
                while next.fetch_add(1, Ordering::SeqCst) < total {
                    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                    match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
                        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                            mine.refused += 1;
                            continue;
                        }
                        Err(e) => {
                            mine.failed.push(format!("connect: {e}"));
                            continue;
                        }
                        Ok(mut stream) => {
                            stream
                                .set_read_timeout(Some(Duration::from_secs(15)))
                                .unwrap();
                            let outcome = stream
                                .write_all(
                                    b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                                )
                                .and_then(|()| {
                                    let mut raw = Vec::new();
                                    stream.read_to_end(&mut raw).map(|_| raw)
                                })
                                .and_then(|raw| parse_answer(&raw));
                            match outcome {
                                Ok(res) if res.status == 200 => {
                                    mine.answered += 1;
                                    let n = answered.fetch_add(1, Ordering::SeqCst) + 1;
                                    if n == signal_after && !signalled.swap(true, Ordering::SeqCst)
                                    {
                                        send_signal(pid, libc::SIGTERM);
                                    }
                                }
                                Ok(res) => mine.failed.push(format!("status {}", res.status)),
                                Err(e) => mine.failed.push(e.to_string()),
                            }
                        }
                    }
                }
                mine
            })
        })
        .collect();
    let mut all = Burst::default();
    for t in threads {
        let part = t.join().unwrap();
        all.answered += part.answered;
        all.refused += part.refused;
        all.failed.extend(part.failed);
    }
    assert!(
        signalled.load(Ordering::SeqCst),
        "only {} of {total} requests were answered before the signal was due: {all:?}",
        all.answered
    );
    all
}

#[test]
fn sigterm_during_a_burst_to_worker_processes_loses_no_accepted_request() {
    let mut server = ServerProcess::start(&example("dev_server"), &["--processes", "2"]);
    server.wait_for_log(" * Started 2 worker processes", 1);
    let burst = burst_with_sigterm(server.port, server.pid(), 2000, 500);
    assert!(burst.failed.is_empty(), "{burst:?}");
    assert!(burst.answered >= 500, "{burst:?}");
    let status = server.wait_exit(WAIT);
    assert_eq!(status.code(), Some(0), "{}", server.log());
}

#[test]
fn sigterm_during_a_burst_to_the_reloader_loses_no_accepted_request() {
    let mut server = ServerProcess::start(&example("dev_server"), &["--reload"]);
    let child = server.answering_pid();
    let burst = burst_with_sigterm(server.port, server.pid(), 2000, 500);
    assert!(burst.failed.is_empty(), "{burst:?}");
    let status = server.wait_exit(WAIT);
    assert_eq!(status.code(), Some(0), "{}", server.log());
    wait_until_gone(child);
}

#[test]
fn an_idle_server_stops_at_once_on_sigterm() {
    // A reloader that looks at its files every 10 s must not take that long to stop, nor
    // must worker processes or a plain server.
    for args in [
        &["--reload", "--interval", "10000"][..],
        &["--processes", "2"],
        &[],
    ] {
        let mut server = ServerProcess::start(&example("dev_server"), args);
        let child = server.answering_pid();
        let signalled = Instant::now();
        server.signal(libc::SIGTERM);
        let status = server.wait_exit(WAIT);
        let took = signalled.elapsed();
        assert_eq!(status.code(), Some(0), "{args:?}: {}", server.log());
        // Generous (a loaded machine); on a quiet one this is a few milliseconds.
        assert!(
            took < Duration::from_secs(5),
            "{args:?}: stopping took {took:?}"
        );
        wait_until_gone(child);
    }
}

// ---------------------------------------------------------------------------------------
// The debugger.

#[test]
fn the_debug_page_is_shown_to_loopback_clients() {
    let server = ServerProcess::start(&example("dev_server"), &["--debug"]);
    let res = get(server.port, "/boom?id=%3Cb%3E7").unwrap();
    assert_eq!(res.status, 500);
    assert!(
        res.head
            .to_ascii_lowercase()
            .contains("content-type: text/html")
    );
    assert!(
        res.body.contains("the view for item &lt;b&gt;7 failed"),
        "{}",
        res.body
    );
    assert!(!res.body.contains("<b>7"), "unescaped: {}", res.body);
    assert!(res.body.contains("Backtrace"));
    assert!(res.body.contains("dev_server.rs"), "{}", res.body);
    assert!(res.body.contains("GET /boom?id=%3Cb%3E7 HTTP/1.1"));
    // The server keeps serving.
    assert_eq!(get(server.port, "/").unwrap().status, 200);
}

#[test]
fn proxied_requests_get_the_plain_500() {
    let server = ServerProcess::start(&example("dev_server"), &["--debug"]);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port));
    let res = request(addr, "/boom?id=7", "X-Forwarded-For: 203.0.113.9\r\n").unwrap();
    assert_eq!(res.status, 500);
    assert!(!res.body.contains("the view for item"), "{}", res.body);
    assert!(res.body.contains("Internal Server Error"));
}

/// A non-loopback address of this machine, if it has one.
fn lan_address() -> Option<Ipv4Addr> {
    // Connecting a UDP socket sends nothing; it only picks the outgoing interface.
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    match socket.local_addr().ok()?.ip() {
        std::net::IpAddr::V4(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}

#[test]
fn remote_clients_get_the_plain_500() {
    let Some(ip) = lan_address() else {
        eprintln!("skipped: this machine has no non-loopback IPv4 address");
        return;
    };
    let server = ServerProcess::start_on("0.0.0.0", &example("dev_server"), &["--debug"]);
    let res = request(SocketAddr::from((ip, server.port)), "/boom?id=7", "").unwrap();
    assert_eq!(res.status, 500);
    assert!(!res.body.contains("the view for item"), "{}", res.body);
    assert!(!res.body.contains("Backtrace"));
    // The same request from loopback sees the page.
    let res = get(server.port, "/boom?id=7").unwrap();
    assert!(res.body.contains("the view for item 7 failed"));
}

#[test]
fn without_the_debugger_everyone_gets_the_plain_500() {
    let server = ServerProcess::start(&example("dev_server"), &[]);
    let res = get(server.port, "/boom?id=7").unwrap();
    assert_eq!(res.status, 500);
    assert!(!res.body.contains("the view for item"), "{}", res.body);
}

// ---------------------------------------------------------------------------------------
// TLS.

#[cfg(feature = "tls")]
mod tls {
    use super::*;
    use crate::common::tls::{Insecure, provider};
    use rustls::pki_types::ServerName;
    use rustls::{ClientConfig, ClientConnection, RootCertStore};

    fn https_get(port: u16, config: Arc<ClientConfig>, path: &str) -> io::Result<Answer> {
        let sock = TcpStream::connect(("127.0.0.1", port))?;
        sock.set_read_timeout(Some(Duration::from_secs(10)))?;
        let conn = ClientConnection::new(config, ServerName::try_from("localhost").unwrap())
            .map_err(io::Error::other)?;
        let mut tls = rustls::StreamOwned::new(conn, sock);
        write!(
            tls,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )?;
        let mut raw = Vec::new();
        match tls.read_to_end(&mut raw) {
            Ok(_) => {}
            // A server closing without close_notify after a complete answer.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
            Err(e) => return Err(e),
        }
        parse_answer(&raw)
    }

    /// TLS servers are started with the plain-HTTP readiness probe off: it would fail.
    fn start_tls(args: &[&str]) -> ServerProcess {
        let port = free_port();
        let mut child = Command::new(example("dev_server"))
            .args(args)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env_remove("ZEUG_RUN_MAIN")
            .env_remove("ZEUG_SERVER_FD")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let server = ServerProcess {
            child,
            port,
            stderr,
            pids: Mutex::new(Vec::new()),
        };
        server.wait_for_log(" * Running on https://", 1);
        server
    }

    #[test]
    fn adhoc_certificates_serve_https() {
        let server = start_tls(&["--adhoc"]);
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Insecure(provider())))
            .with_no_client_auth();
        let res = https_get(server.port, Arc::new(config), "/").unwrap();
        assert_eq!(res.status, 200);
        assert!(res.body.starts_with("Hello from process"), "{}", res.body);
        server.wait_for_log(
            &format!(" * Running on https://127.0.0.1:{}", server.port),
            1,
        );
        // Plain HTTP on the TLS port is not served.
        let plain = get(server.port, "/");
        assert!(plain.map(|a| a.status != 200).unwrap_or(true));
    }

    #[test]
    fn certificate_files_serve_verified_https() {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
        let server = start_tls(&[
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ]);
        let mut roots = RootCertStore::empty();
        roots.add(certified.cert.der().clone()).unwrap();
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let res = https_get(server.port, Arc::new(config), "/slow?ms=1").unwrap();
        assert_eq!(res.status, 200);
        assert!(res.body.starts_with("slept 1 ms"), "{}", res.body);
    }

    /// Big and streamed bodies over TLS: the encrypted writes outrun the socket buffer, so
    /// the server must keep flushing until everything went out.
    #[test]
    fn large_and_streamed_bodies_arrive_whole_over_tls() {
        use zeug::serving::{Options, SslContext, make_server};
        use zeug::{Environ, Response};

        const BIG: usize = 3 * 1024 * 1024;
        let app = |env: Environ| match env.path_info.as_str() {
            "/big" => Response::new(vec![b'x'; BIG]),
            _ => Response::stream((0..1000).map(|i| format!("line {i:04}\n"))),
        };
        let server = make_server(
            "127.0.0.1",
            0,
            app,
            Options::new().ssl_context(SslContext::Adhoc),
        )
        .unwrap();
        let port = server.local_addr().port().unwrap();
        let handle = server.shutdown_handle();
        let serving = thread::spawn(move || server.serve_forever());

        let config = Arc::new(
            ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Insecure(provider())))
                .with_no_client_auth(),
        );
        let big = https_get(port, config.clone(), "/big").unwrap();
        assert_eq!(big.status, 200);
        assert_eq!(big.body.len(), BIG);
        assert!(big.body.bytes().all(|b| b == b'x'));
        let streamed = https_get(port, config, "/stream").unwrap();
        assert_eq!(streamed.status, 200);
        assert!(
            streamed
                .head
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked")
        );
        // De-chunk: every line must be there, in order.
        let lines: Vec<&str> = streamed
            .body
            .lines()
            .filter(|l| l.starts_with("line "))
            .collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[999], "line 0999");

        handle.shutdown();
        serving.join().unwrap().unwrap();
    }

    /// Keep-alive and pipelining over TLS: a second request can sit decrypted inside the
    /// TLS layer with nothing left on the socket, and must still be answered.
    #[test]
    fn pipelined_requests_are_answered_over_tls() {
        use zeug::serving::{Options, SslContext, make_server};
        use zeug::{Environ, Response};

        let app = |env: Environ| Response::new(format!("you asked for {}", env.path_info));
        let server = make_server(
            "127.0.0.1",
            0,
            app,
            Options::new().ssl_context(SslContext::Adhoc),
        )
        .unwrap();
        let port = server.local_addr().port().unwrap();
        let handle = server.shutdown_handle();
        let serving = thread::spawn(move || server.serve_forever());

        let config = Arc::new(
            ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Insecure(provider())))
                .with_no_client_auth(),
        );
        let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let conn =
            ClientConnection::new(config, ServerName::try_from("localhost").unwrap()).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, sock);
        // Two requests in one TLS record, then a third after the answers.
        tls.write_all(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut got = String::new();
        let mut buf = [0u8; 4096];
        while got.matches("you asked for").count() < 2 {
            let n = tls.read(&mut buf).expect("both pipelined answers arrive");
            assert!(n > 0, "closed early: {got}");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert!(got.contains("you asked for /one") && got.contains("you asked for /two"));
        tls.write_all(b"GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut rest = Vec::new();
        let _ = tls.read_to_end(&mut rest);
        assert!(String::from_utf8_lossy(&rest).contains("you asked for /three"));

        handle.shutdown();
        serving.join().unwrap().unwrap();
    }

    #[test]
    fn a_missing_certificate_fails_at_start_up() {
        // Alone, with worker processes and with the reloader: one error, at once.
        for extra in [&[][..], &["--processes", "2"][..], &["--reload"][..]] {
            let started = Instant::now();
            let out = Command::new(example("dev_server"))
                .args(["--cert", "/nonexistent/cert.pem"])
                .args(["--key", "/nonexistent/key.pem"])
                .args(extra)
                .env("HOST", "127.0.0.1")
                .env("PORT", free_port().to_string())
                .env_remove("ZEUG_RUN_MAIN")
                .output()
                .unwrap();
            assert!(!out.status.success(), "{extra:?}");
            assert!(started.elapsed() < Duration::from_secs(5), "{extra:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("/nonexistent/cert.pem"),
                "{extra:?}: {stderr}"
            );
            assert!(!stderr.contains("Running on"), "{extra:?}: {stderr}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// examples/dev_server's app and flags, through the test client (no process, no socket).

#[path = "../examples/dev_server.rs"]
#[allow(dead_code)]
mod dev_server;

mod dev_server_app {
    use super::dev_server::{DevApp, options_from_args, read_greeting};
    use zeug::test::Client;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn routes_answer_through_the_test_client() {
        let client = Client::new(DevApp {
            greeting: "Howdy".into(),
        });
        let res = client.get("/").send();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.text(),
            format!("Howdy from process {}\n", std::process::id())
        );
        let res = client.get("/slow?ms=1").send();
        assert!(res.text().starts_with("slept 1 ms in process"));
        assert_eq!(client.get("/elsewhere").send().status(), 404);
    }

    #[test]
    fn boom_panics_for_the_server_to_catch() {
        let client = Client::new(DevApp {
            greeting: "Hello".into(),
        });
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            client.get("/boom?id=9").send()
        }))
        .unwrap_err();
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert_eq!(message, "the view for item 9 failed");
    }

    #[test]
    fn flags_become_options() {
        let (o, greeting) = options_from_args(args(&[
            "--reload",
            "--interval",
            "250",
            "--extra-file",
            "a.toml",
            "--debug",
            "--processes",
            "3",
            "--grace",
            "1500",
            "--greeting-file",
            "greeting.txt",
        ]))
        .unwrap();
        assert!(o.use_reloader && o.use_debugger);
        assert_eq!(o.reloader_interval, std::time::Duration::from_millis(250));
        assert_eq!(o.processes, 3);
        assert_eq!(
            o.shutdown_grace_period,
            std::time::Duration::from_millis(1500)
        );
        assert_eq!(greeting.as_deref(), Some("greeting.txt"));
        // The greeting file is watched too.
        let watched: Vec<_> = o.extra_files.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(watched, ["a.toml", "greeting.txt"]);

        let (defaults, none) = options_from_args(args(&[])).unwrap();
        assert!(!defaults.use_reloader && defaults.processes == 1 && none.is_none());
    }

    #[test]
    fn bad_flags_are_start_up_errors() {
        for bad in [
            &["--nope"][..],
            &["--processes"][..],
            &["--processes", "many"][..],
            &["--interval", "-1"][..],
        ] {
            assert!(options_from_args(args(bad)).is_err(), "{bad:?}");
        }
        #[cfg(feature = "tls")]
        assert!(options_from_args(args(&["--cert", "c.pem"])).is_err());
    }

    #[test]
    fn the_greeting_file_is_read_at_start_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.txt");
        assert_eq!(read_greeting(None).unwrap(), "Hello");
        std::fs::write(&path, "  Bonjour  \nignored\n").unwrap();
        assert_eq!(read_greeting(path.to_str()).unwrap(), "Bonjour");
        std::fs::write(&path, "\n").unwrap();
        assert!(read_greeting(path.to_str()).unwrap_err().contains("empty"));
        let missing = dir.path().join("missing.txt");
        assert!(read_greeting(missing.to_str()).is_err());
    }
}
