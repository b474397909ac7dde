//! The development server over real loopback sockets: every request is written as raw
//! bytes, so malformed input is tested exactly as a hostile client would send it.
//!
//! Each test starts its own server on an ephemeral port (`make_server(.., 0, ..)`), serves
//! it on a thread and shuts it down at the end. Timing checks are functional, with generous
//! bounds; the tight latency figures belong to `bench/serve.sh`.

mod common;

use common::{Gate, TestServer};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use zeug::serving::{Options, make_server};
use zeug::{Application, Body, Environ, Response};

// ---------------------------------------------------------------------------------------
// A logger that keeps every `zeug` record, so tests can look at access lines.

struct Capture(Mutex<Vec<(log::Level, String)>>);

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target().starts_with("zeug")
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            self.0
                .lock()
                .unwrap()
                .push((r.level(), r.args().to_string()));
        }
    }
    fn flush(&self) {}
}

fn logs() -> &'static Capture {
    static LOGGER: OnceLock<&'static Capture> = OnceLock::new();
    LOGGER.get_or_init(|| {
        let logger: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(logger).unwrap();
        log::set_max_level(log::LevelFilter::Debug);
        logger
    })
}

/// Waits (briefly) for a log line containing every one of `parts`.
fn wait_for_log(parts: &[&str]) -> (log::Level, String) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(found) = logs()
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|(_, line)| parts.iter().all(|p| line.contains(p)))
        {
            return found.clone();
        }
        assert!(Instant::now() < deadline, "no log line with {parts:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------
// Servers and raw clients.

/// The raw client side of a [`TestServer`].
trait Connect {
    fn connect(&self) -> Conn;

    /// Sends `raw` on a fresh connection and returns the first response.
    fn send(&self, raw: &str) -> Res {
        let mut conn = self.connect();
        conn.write(raw.as_bytes());
        conn.response()
    }
}

impl Connect for TestServer {
    fn connect(&self) -> Conn {
        Conn::new(TcpStream::connect(self.addr).unwrap())
    }
}

fn serve_with(app: impl Application, options: Options) -> TestServer {
    logs();
    TestServer::start(app, options)
}

fn serve(app: impl Application) -> TestServer {
    serve_with(app, Options::new())
}

/// `app`, except that `/slow` is held at `gate` until the test opens it: the test knows
/// when the slow view is running and decides when it ends, without sleeping.
fn gated_app(gate: &Arc<Gate>) -> impl Application + use<> {
    let gate = Arc::clone(gate);
    move |environ: Environ| {
        if environ.path_info == "/slow" {
            assert!(gate.pass(), "the test never opened the gate");
            Response::new("slow")
        } else {
            app(environ)
        }
    }
}

/// The test app: a few views exercising the interface.
fn app(mut environ: Environ) -> Response {
    match environ.path_info.as_str() {
        "/echo" => {
            let mut body = Vec::new();
            match environ.input.read_to_end(&mut body) {
                Ok(_) => Response::new(body),
                Err(e) => Response::new(format!("read error: {e}")).with_status(500),
            }
        }
        "/environ" => Response::new(format!(
            "remote={:?} port={} server={}:{} scheme={} uri={} path={} query={} mt={} mp={} host={}",
            environ.remote_addr,
            environ.remote_port.is_some_and(|p| p > 0),
            environ.server_name,
            environ.server_port,
            environ.url_scheme,
            environ.request_uri,
            environ.path_info,
            environ.query_string,
            environ.multithread,
            environ.multiprocess,
            environ
                .headers
                .get("host")
                .map_or("-", |h| h.to_str().unwrap()),
        )),
        "/stream" => Response::stream(vec!["one ", "two ", "three"]),
        "/slow" => {
            thread::sleep(Duration::from_secs(1));
            Response::new("slow")
        }
        "/panic" => panic!("the view failed on purpose"),
        _ => Response::new("Hello World!"),
    }
}

struct Res {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Res {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Conn {
            reader: BufReader::new(stream),
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    fn head(&mut self) -> String {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).unwrap();
            assert!(n > 0, "connection closed before a response head ({head:?})");
            if line == "\r\n" {
                return head;
            }
            head.push_str(&line);
        }
    }

    /// Reads one response; `head_request` means no body follows.
    fn response_to(&mut self, head_request: bool) -> Res {
        let head = self.head();
        let status: u16 = head[9..12].parse().unwrap();
        let mut res = Res {
            status,
            head,
            body: Vec::new(),
        };
        if head_request || status == 204 || status == 304 || status < 200 {
            return res;
        }
        if let Some(len) = res.header("content-length") {
            let mut body = vec![0; len.parse().unwrap()];
            self.reader.read_exact(&mut body).unwrap();
            res.body = body;
        } else if res.header("transfer-encoding").as_deref() == Some("chunked") {
            loop {
                let mut line = String::new();
                self.reader.read_line(&mut line).unwrap();
                let size = usize::from_str_radix(line.trim_end(), 16).unwrap();
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).unwrap();
                if size == 0 {
                    break;
                }
                res.body.extend_from_slice(&chunk[..size]);
            }
        } else {
            self.reader.read_to_end(&mut res.body).unwrap();
        }
        res
    }

    fn response(&mut self) -> Res {
        self.response_to(false)
    }

    /// Whether the server closed the connection (EOF) within the read timeout.
    fn is_closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => rest.is_empty(),
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}

// ---------------------------------------------------------------------------------------
// 1. The API: make_server, port 0, environ, shutdown, hosts.

#[test]
fn serves_hello_world_with_date_and_server_headers() {
    let server = serve(app);
    let res = server.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "Hello World!");
    assert_eq!(res.header("content-length").as_deref(), Some("12"));
    assert!(res.header("date").unwrap().ends_with(" GMT"));
    assert_eq!(
        res.header("server").unwrap(),
        format!("zeug/{}", env!("CARGO_PKG_VERSION"))
    );
    let (level, line) = wait_for_log(&["\"GET / HTTP/1.1\" 200 12"]);
    assert_eq!(level, log::Level::Info);
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
}

#[test]
fn environ_fields_are_filled() {
    let server = serve(app);
    let res = server.send("GET /environ?a=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
    let port = server.addr.port();
    assert_eq!(
        res.text(),
        format!(
            "remote=Some(\"127.0.0.1\") port=true server=127.0.0.1:{port} scheme=http \
             uri=/environ?a=1 path=/environ query=a=1 mt=true mp=false host=example.com"
        )
    );
    let single = serve_with(app, Options::new().threaded(false));
    assert!(
        single
            .send("GET /environ HTTP/1.1\r\nHost: h\r\n\r\n")
            .text()
            .contains("mt=false")
    );
}

#[test]
fn shutdown_stops_accepting_and_returns() {
    let server = serve(app);
    let addr = server.addr;
    assert_eq!(server.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
    server.stop().unwrap().unwrap();
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn shutdown_lets_requests_in_flight_finish() {
    let gate = Gate::new();
    let server = serve(gated_app(&gate));
    let mut conn = server.connect();
    conn.write(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
    gate.wait_arrivals(1);
    let handle = server.handle.clone();
    handle.shutdown();
    gate.open();
    let res = conn.response();
    assert_eq!(res.text(), "slow");
    assert_eq!(res.header("connection").as_deref(), Some("close"));
    server.stop().unwrap().unwrap();
}

#[test]
fn shutdown_closes_the_listener_at_once_while_requests_finish() {
    // A burst bigger than a loop accepts at once, so the loops are still working through
    // it (each slow view holds its loop for the watchdog threshold) when the shutdown
    // comes: they must not go on accepting until they are through. The slow views are
    // held at a gate until new connections are refused, so "at once" means "while every
    // view is still running", whatever the machine's speed.
    const BURST: usize = 64;
    let gate = Gate::new();
    let views = Arc::clone(&gate);
    let started = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&started);
    let server = serve(move |environ: Environ| {
        if environ.path_info != "/slow" {
            return Response::new("quick");
        }
        counter.fetch_add(1, Ordering::SeqCst);
        assert!(views.pass(), "the test never opened the gate");
        Response::new("done")
    });
    let addr = server.addr;
    // An idle keep-alive connection: the shutdown closes it.
    let mut idle = server.connect();
    idle.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(idle.response().text(), "quick");
    let clients: Vec<_> = (0..BURST)
        .map(|_| {
            thread::spawn(move || -> Option<String> {
                let mut stream = TcpStream::connect(addr).ok()?;
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .ok()?;
                // Keep-alive on purpose: the answer must still say the connection ends.
                let request = b"POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi";
                stream.write_all(request).ok()?;
                let mut answer = Vec::new();
                stream.read_to_end(&mut answer).ok()?;
                // Not accepted before the shutdown: reset or closed without an answer.
                (!answer.is_empty()).then(|| String::from_utf8_lossy(&answer).into_owned())
            })
        })
        .collect();
    gate.wait_arrivals(1);

    let asked = Instant::now();
    server.handle.shutdown();
    let in_flight_then = started.load(Ordering::SeqCst);
    // No loop gets to notice first: a new connection is refused (or reset) at once.
    // The gate holds every slow view until this loop ends: the listener is closed while
    // they all still run.
    loop {
        let elapsed = asked.elapsed();
        match TcpStream::connect(addr) {
            Err(_) => break,
            Ok(mut stream) => {
                stream
                    .set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
                let mut byte = [0u8; 1];
                match stream.read(&mut byte) {
                    Ok(0) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                        break;
                    }
                    // Generous: fails only if the listener stays open until the views end,
                    // which the gate holds back until after this loop.
                    other => assert!(
                        asked.elapsed() < common::START_TIMEOUT,
                        "a connection made {elapsed:?} after the shutdown was not refused: {other:?}"
                    ),
                }
            }
        }
    }
    gate.open();
    assert!(idle.is_closed());

    // Every request that reached the app is answered in full, with `Connection: close`.
    let answers: Vec<String> = clients
        .into_iter()
        .filter_map(|c| c.join().unwrap())
        .collect();
    for answer in &answers {
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\ndone"), "{answer}");
    }
    assert_eq!(answers.len(), started.load(Ordering::SeqCst));
    assert!(answers.len() >= in_flight_then);
    server.stop().unwrap().unwrap();
}

#[test]
fn a_request_that_arrived_before_the_shutdown_is_answered_not_reset() {
    // One loop, no watchdog: while the slow view runs nothing polls, so the idle
    // connection's new request is still unnoticed when the shutdown comes.
    let gate = Gate::new();
    let server = serve_with(gated_app(&gate), Options::new().threaded(false));
    let mut idle = server.connect();
    idle.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(idle.response().status, 200);
    let mut slow = server.connect();
    slow.write(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
    gate.wait_arrivals(1);
    // On loopback the bytes are in the server's socket when `write` returns; the loop
    // sees them only after the slow view, which ends after the shutdown.
    idle.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    server.handle.shutdown();
    gate.open();
    assert_eq!(slow.response().text(), "slow");
    let res = idle.response();
    assert_eq!((res.status, res.text().as_str()), (200, "Hello World!"));
    assert_eq!(res.header("connection").as_deref(), Some("close"));
    assert!(idle.is_closed());
    server.stop().unwrap().unwrap();
}

#[test]
fn connections_waiting_in_the_backlog_at_shutdown_are_answered_not_reset() {
    // One loop, busy with the slow view: new connections wait unaccepted in the kernel's
    // backlog when the shutdown comes. Closing the listener would reset them; they are
    // accepted first and answered, with `Connection: close`.
    let gate = Gate::new();
    let server = serve_with(gated_app(&gate), Options::new().threaded(false));
    let mut slow = server.connect();
    slow.write(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
    gate.wait_arrivals(1);
    // `connect` returns once the kernel has completed the handshake: the connections
    // are in the backlog, their requests in their sockets.
    let mut waiting: Vec<_> = (0..8)
        .map(|_| {
            let mut conn = server.connect();
            conn.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
            conn
        })
        .collect();
    server.handle.shutdown();
    gate.open();
    assert_eq!(slow.response().text(), "slow");
    for conn in &mut waiting {
        let res = conn.response();
        assert_eq!((res.status, res.text().as_str()), (200, "Hello World!"));
        assert_eq!(res.header("connection").as_deref(), Some("close"));
    }
    server.stop().unwrap().unwrap();
}

#[test]
fn serves_on_ipv6_loopback() {
    let Ok(server) = make_server("::1", 0, app, Options::new()) else {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    };
    let addr = server.local_addr().inet().unwrap();
    assert!(addr.is_ipv6());
    let handle = server.shutdown_handle();
    let t = thread::spawn(move || server.serve_forever());
    let mut conn = Conn::new(TcpStream::connect(addr).unwrap());
    conn.write(b"GET /environ HTTP/1.1\r\nHost: [::1]\r\n\r\n");
    let text = conn.response().text();
    assert!(text.contains("remote=Some(\"::1\")"), "{text}");
    assert!(text.contains("server=::1:"), "{text}");
    handle.shutdown();
    t.join().unwrap().unwrap();
}

#[test]
fn serves_on_a_unix_socket_replacing_a_stale_one() {
    use std::os::unix::net::{UnixListener, UnixStream};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sock");
    // A socket file nobody listens on any more.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = make_server(
        &format!("unix://{}", path.display()),
        0,
        app,
        Options::new(),
    )
    .unwrap();
    assert_eq!(
        server.local_addr().to_string(),
        format!("unix://{}", path.display())
    );
    // Binding the same path while it is served is refused.
    assert!(
        make_server(
            &format!("unix://{}", path.display()),
            0,
            app,
            Options::new()
        )
        .is_err()
    );
    let handle = server.shutdown_handle();
    let t = thread::spawn(move || server.serve_forever());
    let mut stream = UnixStream::connect(&path).unwrap();
    stream.write_all(b"GET /environ HTTP/1.0\r\n\r\n").unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.0 200 OK\r\n"), "{out}");
    assert!(out.contains("remote=None"), "{out}");
    handle.shutdown();
    t.join().unwrap().unwrap();
}

#[test]
fn resolves_host_names() {
    let server = make_server("localhost", 0, app, Options::new()).unwrap();
    assert!(server.local_addr().inet().unwrap().ip().is_loopback());
}

// ---------------------------------------------------------------------------------------
// 2. HTTP/1.1.

#[test]
fn keep_alive_and_pipelining() {
    let server = serve(app);
    let mut conn = server.connect();
    conn.write(
        b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(conn.response().text(), "Hello World!");
    assert_eq!(conn.response().text(), "hello");
    let third = conn.response();
    assert_eq!(third.text(), "Hello World!");
    assert_eq!(third.header("connection"), None);
    conn.write(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    let last = conn.response();
    assert_eq!(last.header("connection").as_deref(), Some("close"));
    assert!(conn.is_closed());
}

#[test]
fn http10_closes_unless_keep_alive_is_asked_for() {
    let server = serve(app);
    let mut conn = server.connect();
    conn.write(b"GET / HTTP/1.0\r\n\r\n");
    let res = conn.response();
    assert!(res.head.starts_with("HTTP/1.0 200 OK"));
    assert!(conn.is_closed());

    let mut conn = server.connect();
    conn.write(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(
        conn.response().header("connection").as_deref(),
        Some("keep-alive")
    );
    conn.write(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(conn.response().status, 200);
}

#[test]
fn chunked_request_bodies_are_dechunked() {
    let server = serve(app);
    let res = server.send(
        "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    assert_eq!(res.text(), "hello world");
}

#[test]
fn streams_are_chunked_on_http11_and_close_delimited_on_http10() {
    let server = serve(app);
    let mut conn = server.connect();
    conn.write(b"GET /stream HTTP/1.1\r\nHost: h\r\n\r\n");
    let res = conn.response();
    assert_eq!(res.header("transfer-encoding").as_deref(), Some("chunked"));
    assert_eq!(res.text(), "one two three");
    conn.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(conn.response().status, 200, "still usable after chunks");

    let mut conn = server.connect();
    conn.write(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let res = conn.response();
    assert_eq!(res.header("transfer-encoding"), None);
    assert_eq!(res.header("connection").as_deref(), Some("close"));
    assert_eq!(res.text(), "one two three");
}

#[test]
fn continue_is_sent_once_and_only_when_the_body_is_read() {
    let server = serve(app);
    let mut conn = server.connect();
    conn.write(
        b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    );
    let interim = conn.head();
    assert!(interim.starts_with("HTTP/1.1 100 Continue"), "{interim}");
    conn.write(b"ping");
    let res = conn.response();
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "ping");
    // Exactly one interim response: the next thing on the wire is the next answer.
    conn.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(conn.response().status, 200);

    // A view that does not read: no 100, and the connection closes (the body never came).
    let mut conn = server.connect();
    conn.write(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    let res = conn.response();
    assert_eq!(res.status, 200);
    assert_eq!(res.header("connection").as_deref(), Some("close"));
    assert!(conn.is_closed());
}

/// Answers `/status/<code>` with that status and a body the status may not carry.
fn status_app(environ: Environ) -> Response {
    let code: u16 = environ.path_info["/status/".len()..].parse().unwrap();
    let response = if environ.query_string == "stream" {
        Response::stream(vec!["body", "!"])
    } else {
        Response::new("body!")
    };
    response.with_status(code)
}

#[test]
fn an_informational_status_from_the_app_becomes_a_500() {
    let server = serve(status_app);
    for code in [100, 101, 103] {
        let mut conn = server.connect();
        // Pipelined: the second answer must not be taken for the first one's.
        conn.write(
            format!(
                "GET /status/{code} HTTP/1.1\r\nHost: h\r\n\r\n\
                 GET /status/200 HTTP/1.1\r\nHost: h\r\n\r\n"
            )
            .as_bytes(),
        );
        let res = conn.response();
        assert_eq!(res.status, 500, "for {code}");
        assert!(res.text().contains("Internal Server Error"));
        let next = conn.response();
        assert_eq!((next.status, next.text().as_str()), (200, "body!"));
        let (level, _) = wait_for_log(&[
            &format!("GET /status/{code} HTTP/1.1"),
            &format!("informational status {code}"),
        ]);
        assert_eq!(level, log::Level::Error);
    }
}

#[test]
fn no_content_statuses_carry_no_body() {
    let server = serve(status_app);
    let mut conn = server.connect();
    for query in ["", "?stream"] {
        conn.write(
            format!(
                "GET /status/204{query} HTTP/1.1\r\nHost: h\r\n\r\n\
                 GET /status/304{query} HTTP/1.1\r\nHost: h\r\n\r\n\
                 GET /status/205{query} HTTP/1.1\r\nHost: h\r\n\r\n\
                 GET /status/200 HTTP/1.1\r\nHost: h\r\n\r\n"
            )
            .as_bytes(),
        );
        for code in [204, 304] {
            let res = conn.response();
            assert_eq!(res.status, code);
            assert_eq!(res.header("transfer-encoding"), None, "{code}{query}");
            if code == 204 {
                assert_eq!(res.header("content-length"), None, "{code}{query}");
            }
        }
        let reset = conn.response();
        assert_eq!(reset.status, 205);
        assert_eq!(reset.header("content-length").as_deref(), Some("0"));
        assert_eq!(reset.header("transfer-encoding"), None);
        assert!(reset.body.is_empty());
        // Had any of them sent "body!", it would be read here as a status line.
        let next = conn.response();
        assert_eq!((next.status, next.text().as_str()), (200, "body!"));
    }
}

#[test]
fn head_requests_get_no_body() {
    let server = serve(app);
    let mut conn = server.connect();
    conn.write(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
    let res = conn.response_to(true);
    assert_eq!(res.header("content-length").as_deref(), Some("12"));
    conn.write(b"HEAD /stream HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let res = conn.response_to(true);
    assert_eq!(res.header("transfer-encoding"), None);
    // The next bytes are the next response, not a body.
    assert_eq!(conn.response().text(), "Hello World!");
}

#[test]
fn absolute_form_and_options_star() {
    let server = serve(app);
    let res =
        server.send("GET http://example.org:8000/environ?x=1 HTTP/1.1\r\nHost: other\r\n\r\n");
    let text = res.text();
    assert!(text.contains("path=/environ query=x=1"), "{text}");
    assert!(text.contains("host=example.org:8000"), "{text}");
    let res = server.send("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(res.status, 200);
}

#[test]
fn unread_bodies_are_drained_or_the_connection_closed() {
    let server = serve_with(app, Options::new().max_drain(1024));
    let mut conn = server.connect();
    // The body looks like a request; it must not be served as one.
    let body = "GET /environ HTTP/1.1\r\nHost: h\r\n\r\n";
    conn.write(
        format!(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n{body}GET / HTTP/1.1\r\nHost: h\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(conn.response().text(), "Hello World!");
    assert_eq!(conn.response().text(), "Hello World!");

    // Larger than max_drain: answered, then closed. (The app is called once the read-ahead
    // part of the body has arrived.)
    let mut conn = server.connect();
    conn.write(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n");
    conn.write(&[b'a'; 70_000]);
    let res = conn.response();
    assert_eq!(res.status, 200);
    assert_eq!(res.header("connection").as_deref(), Some("close"));
    assert!(conn.is_closed());
}

#[test]
fn file_bodies_are_sent_whole() {
    let mut file = tempfile::tempfile().unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    file.write_all(&data).unwrap();
    let file = Arc::new(Mutex::new(Some(file)));
    let server = serve(move |_: Environ| {
        let f = file.lock().unwrap().take().unwrap();
        Response::file(f).unwrap()
    });
    let res = server.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(res.header("content-length").as_deref(), Some("300000"));
    assert!(res.body == data);
}

// ---------------------------------------------------------------------------------------
// 3. Strict framing: a clear status, a short body, `Connection: close`.

fn expect_refused(server: &TestServer, raw: &str, status: u16) {
    let mut conn = server.connect();
    conn.write(raw.as_bytes());
    let res = conn.response();
    assert_eq!(res.status, status, "for {raw:?}");
    assert_eq!(
        res.header("connection").as_deref(),
        Some("close"),
        "for {raw:?}"
    );
    assert!(!res.body.is_empty() && res.body.len() < 1024);
    assert!(conn.is_closed(), "not closed after {raw:?}");
}

#[test]
fn malformed_requests_get_400() {
    let server = serve(app);
    for raw in [
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3x\r\n\r\nabc",
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: -3\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcde\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX-Bad: a\x07b\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\x7f\x03\x03\r\n\r\n",
        "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: user@h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h:80x\r\n\r\n",
        "GET / HTTP/1.0\r\nHost: [::1\r\n\r\n",
    ] {
        expect_refused(&server, raw, 400);
    }
    wait_for_log(&["code 400, message"]);
}

#[test]
fn unsupported_codings_versions_and_oversized_input() {
    let server = serve_with(app, Options::new().max_content_length(10));
    expect_refused(
        &server,
        "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
    );
    expect_refused(&server, "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
    expect_refused(&server, "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505);
    expect_refused(
        &server,
        &format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(9000)),
        414,
    );
    let many: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
    expect_refused(
        &server,
        &format!("GET / HTTP/1.1\r\nHost: h\r\n{many}\r\n"),
        431,
    );
    expect_refused(
        &server,
        &format!(
            "GET / HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
            "v".repeat(70_000)
        ),
        431,
    );
    expect_refused(
        &server,
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world",
        413,
    );
    expect_refused(
        &server,
        "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n",
        413,
    );
    // Within the limit it is served.
    assert_eq!(
        server
            .send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
            .text(),
        "hello"
    );
}

#[test]
fn limits_are_options() {
    let server = serve_with(
        app,
        Options::new()
            .max_request_line(100)
            .max_header_count(3)
            .max_header_size(200),
    );
    expect_refused(
        &server,
        &format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(120)),
        414,
    );
    expect_refused(
        &server,
        "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
        431,
    );
    expect_refused(
        &server,
        &format!(
            "GET / HTTP/1.1\r\nHost: h\r\nA: {}\r\n\r\n",
            "a".repeat(300)
        ),
        431,
    );
    assert_eq!(server.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
}

// ---------------------------------------------------------------------------------------
// 4. Bounded resources.

#[test]
fn slow_request_heads_are_cut_off() {
    let server = serve_with(
        app,
        Options::new().header_timeout(Duration::from_millis(300)),
    );
    let mut conn = server.connect();
    let started = Instant::now();
    conn.write(b"GET / HTTP/1.1\r\nHost: h\r\n");
    thread::sleep(Duration::from_millis(100));
    conn.write(b"X-Slow: 1\r\n");
    let res = conn.response();
    assert_eq!(res.status, 408);
    assert!(conn.is_closed());
    assert!(started.elapsed() < Duration::from_secs(3));

    // A connection that never sends anything is closed too.
    let mut silent = server.connect();
    assert!(silent.is_closed());
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let server = serve_with(
        app,
        Options::new().keep_alive_timeout(Duration::from_millis(300)),
    );
    let mut conn = server.connect();
    conn.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(conn.response().status, 200);
    let started = Instant::now();
    assert!(conn.is_closed());
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_thousand_idle_connections_do_not_delay_a_new_client() {
    let server = serve(app);
    let mut idle = Vec::new();
    for _ in 0..1000 {
        let mut conn = server.connect();
        conn.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        idle.push(conn);
    }
    for conn in &mut idle {
        assert_eq!(conn.response().status, 200);
    }
    let started = Instant::now();
    let res = server.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(res.status, 200);
    // Hang-only bound: a loop blocked on an idle connection would wait for `io_timeout`
    // (30 s). How quick the answer is belongs to the benchmarks, not to this test.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    // The idle ones are still served.
    idle[999].write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(idle[999].response().status, 200);
}

#[test]
fn a_slow_view_does_not_block_other_clients() {
    // The slow view is held until the quick requests are answered: if they waited behind
    // it, they would time out (each connection reads with a 10 s timeout).
    let gate = Gate::new();
    let server = serve(gated_app(&gate));
    let mut slow = server.connect();
    slow.write(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
    gate.wait_arrivals(1);
    for _ in 0..5 {
        assert_eq!(server.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
    }
    gate.open();
    assert_eq!(slow.response().text(), "slow");
    // The slow connection is served again afterwards (handed back to the loop).
    slow.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(slow.response().status, 200);
}

#[test]
fn a_burst_of_new_connections_is_accepted_without_waiting_for_a_sweep() {
    // The loops share new connections by load; one that leaves a connection to another
    // must make sure the other takes it, or it waits in the backlog for the next sweep
    // (up to a second). Rounds of bursts, so loads shift while connections arrive.
    let server = serve(app);
    let addr = server.addr;
    let mut slowest = Duration::ZERO;
    let mut kept = Vec::new();
    for _ in 0..4 {
        let clients: Vec<_> = (0..128)
            .map(|_| {
                thread::spawn(move || {
                    let started = Instant::now();
                    let mut conn = Conn::new(TcpStream::connect(addr).unwrap());
                    conn.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
                    assert_eq!(conn.response().status, 200);
                    (started.elapsed(), conn)
                })
            })
            .collect();
        // Keep the connections open: they weigh on the loads of the next round.
        for (i, client) in clients.into_iter().enumerate() {
            let (took, conn) = client.join().unwrap();
            slowest = slowest.max(took);
            if i % 2 == 0 {
                kept.push(conn);
            }
        }
    }
    // Hang-only bound: a client left in the accept queue or behind a blocked loop would
    // wait for a timeout (30 s); latency under load is measured by `bench/serve.sh`.
    assert!(
        slowest < Duration::from_secs(10),
        "a request waited {slowest:?}"
    );
}

#[test]
fn many_slow_views_run_concurrently() {
    // The views are held until all four run at once: served one after the other, the
    // first would wait for the others forever (and fail after the gate's timeout).
    let gate = Gate::quorum(4);
    let server = serve(gated_app(&gate));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let mut conn = server.connect();
            thread::spawn(move || {
                conn.write(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
                conn.response().text()
            })
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().unwrap(), "slow");
    }
}

// ---------------------------------------------------------------------------------------
// 6. Faults.

#[test]
fn a_panicking_view_is_a_500_and_the_server_goes_on() {
    let server = serve(app);
    let res = server.send("GET /panic HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(res.status, 500);
    let (level, _) = wait_for_log(&[
        "Error on request \"GET /panic HTTP/1.1\"",
        "the view failed on purpose",
    ]);
    assert_eq!(level, log::Level::Error);
    wait_for_log(&["\"GET /panic HTTP/1.1\" 500"]);
    assert_eq!(server.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
}

#[test]
fn passthrough_errors_stops_the_server_with_the_panic() {
    let server = serve_with(app, Options::new().passthrough_errors(true));
    let mut conn = server.connect();
    conn.write(b"GET /panic HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(conn.is_closed());
    let joined = server.stop();
    let payload = joined.expect_err("serve_forever should resume the panic");
    assert_eq!(
        payload.downcast_ref::<&str>().copied(),
        Some("the view failed on purpose")
    );
}

#[test]
fn a_client_leaving_mid_response_is_logged_at_debug() {
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let server = serve(move |_: Environ| {
        let counter = counter.clone();
        Response::from(Body::from_iter((0..10_000).map(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(1));
            vec![b'x'; 16 * 1024]
        })))
    });
    let mut conn = server.connect();
    conn.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let _ = conn.head();
    drop(conn);
    let (level, _) = wait_for_log(&["client disconnected during the response"]);
    assert_eq!(level, log::Level::Debug);
    assert!(sent.load(Ordering::SeqCst) < 10_000);
    assert_eq!(server.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
}

#[test]
fn body_read_errors_reach_the_app_and_the_client() {
    let server = serve_with(app, Options::new().io_timeout(Duration::from_millis(300)));
    // The client promises 10 bytes and sends 3: the read times out, the answer is 408.
    let mut conn = server.connect();
    conn.write(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
    let res = conn.response();
    assert_eq!(res.status, 408);
    assert!(conn.is_closed());
}

// ---------------------------------------------------------------------------------------
// Hostile byte streams (what `fuzz/fuzz_targets/connection.rs` does at scale).

/// Runs `input` as one client's whole byte stream through the connection handler.
fn serve_bytes(input: &[u8]) -> Vec<u8> {
    use std::os::unix::net::UnixStream;
    let (client, server) = UnixStream::pair().unwrap();
    let mut writer = client.try_clone().unwrap();
    let input = input.to_vec();
    let feeding = thread::spawn(move || {
        let _ = writer.write_all(&input);
        let _ = writer.shutdown(std::net::Shutdown::Write);
    });
    let mut client = client;
    let reading = thread::spawn(move || {
        let mut out = Vec::new();
        let _ = client.read_to_end(&mut out);
        out
    });
    let options = Options::new()
        .header_timeout(Duration::from_millis(200))
        .keep_alive_timeout(Duration::from_millis(200))
        .io_timeout(Duration::from_millis(200))
        .max_content_length(4096);
    zeug::serving::serve_connection(server, app, options).unwrap();
    feeding.join().unwrap();
    reading.join().unwrap()
}

#[test]
fn hostile_byte_streams_get_http_answers_or_nothing() {
    let seeds: [&[u8]; 5] = [
        b"GET /environ?x=1 HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.0\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
        b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"HEAD /stream HTTP/1.1\r\nHost: h\r\n\r\nGET /stream HTTP/1.1\r\nHost: h\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    ];
    let mut rng = common::TestRng::seed_from_u64(4);
    for round in 0..300 {
        let mut input = seeds[round % seeds.len()].to_vec();
        for _ in 0..rng.gen_range(0..6) {
            let at = rng.gen_range(0..=input.len());
            match rng.gen_range(0..4) {
                0 if at < input.len() => input[at] = rng.byte(),
                1 => input.insert(
                    at,
                    *b"\r\n :;0fF\t\x00\x7f".get(rng.gen_range(0..11)).unwrap(),
                ),
                2 => input.truncate(at),
                _ => {
                    let copy = input[at..].to_vec();
                    input.extend_from_slice(&copy);
                }
            }
        }
        let started = Instant::now();
        let out = serve_bytes(&input);
        assert!(
            out.is_empty() || out.starts_with(b"HTTP/1."),
            "for {:?}: {:?}",
            String::from_utf8_lossy(&input),
            String::from_utf8_lossy(&out)
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "hung on {input:?}"
        );
    }
    // The well-formed seed is answered in full.
    let out = String::from_utf8(serve_bytes(seeds[0])).unwrap();
    assert_eq!(out.matches("HTTP/1.").count(), 2, "{out}");
}

#[test]
fn static_files_are_served_before_the_app() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("style.css"), "body{}").unwrap();
    let server = serve_with(app, Options::new().static_files([("/static", dir.path())]));
    let res = server.send("GET /static/style.css HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "body{}");
    assert!(res.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(
        server
            .send("GET /static/../Cargo.toml HTTP/1.1\r\nHost: h\r\n\r\n")
            .status,
        404
    );
    assert_eq!(
        server.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n").text(),
        "Hello World!"
    );
}

#[test]
fn the_debugger_shows_local_clients_the_panic() {
    let server = serve_with(app, Options::new().use_debugger(true));
    let res = server.send("GET /panic HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(res.status, 500);
    assert!(
        res.text().contains("the view failed on purpose"),
        "{}",
        res.text()
    );
    assert_eq!(server.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
}

#[test]
fn a_flood_of_empty_lines_is_refused() {
    let server = serve(app);
    let mut conn = server.connect();
    let flood = "\r\n".repeat(60_000);
    let writer = {
        let mut stream = conn.reader.get_ref().try_clone().unwrap();
        thread::spawn(move || {
            let _ = stream.write_all(flood.as_bytes());
        })
    };
    let res = conn.response();
    assert_eq!(res.status, 400);
    writer.join().unwrap();
    // Leading empty lines before a request are fine (RFC 9112 §2.2).
    assert_eq!(
        server
            .send("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
            .status,
        200
    );
}

#[test]
fn a_panic_while_streaming_ends_that_response_only() {
    let server = serve(|_: Environ| {
        Response::from(Body::from_iter((0..3).map(|i| {
            if i == 2 {
                panic!("the stream failed on purpose");
            }
            format!("chunk {i}\n")
        })))
    });
    for _ in 0..3 {
        let mut conn = server.connect();
        conn.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        let head = conn.head();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        // The body is cut short: no terminating chunk, then the connection closes.
        let mut rest = String::new();
        let _ = conn.reader.read_to_string(&mut rest);
        assert!(
            rest.contains("chunk 1") && !rest.ends_with("0\r\n\r\n"),
            "{rest:?}"
        );
    }
    wait_for_log(&["the response body panicked", "the stream failed on purpose"]);
}

// ---------------------------------------------------------------------------------------
// Slow views and lingering close.

#[test]
fn many_concurrent_slow_requests_all_run_at_once() {
    // Each view is held until all 500 run at once (handed off to spare threads): if they
    // ran in turns, the first would wait for the rest forever and answer 500 after the
    // gate's timeout.
    let gate = Gate::quorum(500);
    let views = Arc::clone(&gate);
    let server = serve(move |_environ: Environ| {
        if views.pass() {
            Response::new("slow")
        } else {
            Response::new("not all at once").with_status(500)
        }
    });
    let addr = server.addr;
    let clients: Vec<_> = (0..500)
        .map(|_| {
            thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                stream
                    .write_all(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                    .unwrap();
                let mut out = String::new();
                stream.read_to_string(&mut out).unwrap();
                out
            })
        })
        .collect();
    for client in clients {
        let out = client.join().unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.ends_with("slow"), "{out}");
    }
    assert_eq!(gate.arrived(), 500);
    server.stop().unwrap().unwrap();
}

#[test]
fn beyond_max_threads_slow_requests_wait_rather_than_fail() {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, m) = (Arc::clone(&running), Arc::clone(&most));
    let server = serve_with(
        move |_environ: Environ| {
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(100));
            r.fetch_sub(1, Ordering::SeqCst);
            Response::new("slow")
        },
        Options::new().max_threads(2),
    );
    let addr = server.addr;
    let clients: Vec<_> = (0..12)
        .map(|_| {
            thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream
                    .write_all(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                    .unwrap();
                let mut out = String::new();
                stream.read_to_string(&mut out).unwrap();
                out
            })
        })
        .collect();
    for client in clients {
        assert!(client.join().unwrap().ends_with("slow"));
    }
    // Each event loop's own thread plus at most two spare threads ran views at once.
    let loops = thread::available_parallelism().map_or(1, |n| n.get());
    let most = most.load(Ordering::SeqCst);
    assert!(most <= loops + 2, "{most} views ran at once");
    assert!(most >= 2, "{most} views ran at once");
    server.stop().unwrap().unwrap();
}

/// Writes `head` and then up to `body_len` bytes of body without reading, as a client
/// that sends its whole upload before looking at the answer; returns what it reads after.
fn upload_then_read(addr: SocketAddr, head: &str, body_len: usize, chunked: bool) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let block = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < body_len {
        let n = block.len().min(body_len - sent);
        let result = if chunked {
            stream
                .write_all(format!("{n:x}\r\n").as_bytes())
                .and_then(|()| stream.write_all(&block[..n]))
                .and_then(|()| stream.write_all(b"\r\n"))
        } else {
            stream.write_all(&block[..n])
        };
        // Like Python's `http.client`, this client reads nothing before its upload is
        // sent: a reset here loses the answer already on the wire.
        if let Err(e) = result {
            return format!("reset while sending, after {sent} bytes: {e}");
        }
        sent += n;
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn an_early_answer_to_a_large_upload_reaches_the_client() {
    // Content-Length over max_content_length: the server's own 413, before the body.
    let server = serve_with(app, Options::new().max_content_length(1024));
    let out = upload_then_read(
        server.addr,
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 33554432\r\n\r\n",
        32 << 20,
        false,
    );
    assert!(out.starts_with("HTTP/1.1 413 "), "{out:.200}");
    assert!(
        out.to_ascii_lowercase().contains("connection: close"),
        "{out:.300}"
    );
    server.stop().unwrap().unwrap();

    // The app answers without reading the body, as a 405 from routing would.
    let server = serve(|environ: Environ| {
        if environ.method == http::Method::PUT {
            return Response::new("no").with_status(405);
        }
        Response::new("ok")
    });
    for (head, chunked) in [
        (
            "PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
            true,
        ),
        (
            "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 33554432\r\n\r\n",
            false,
        ),
    ] {
        let out = upload_then_read(server.addr, head, 32 << 20, chunked);
        assert!(out.starts_with("HTTP/1.1 405 "), "{out:.200}");
        assert!(
            out.to_ascii_lowercase().contains("connection: close"),
            "{out:.300}"
        );
        assert!(out.ends_with("no"), "{out:.300}");
    }
    server.stop().unwrap().unwrap();
}

// ---------------------------------------------------------------------------------------
// Hostile clients: slow bodies, budgets, non-blocking answers, stopping under load.

/// An app that reads the whole body and answers with its length.
fn body_length(mut environ: Environ) -> Response {
    let mut body = Vec::new();
    match environ.input.read_to_end(&mut body) {
        Ok(n) => Response::new(n.to_string()),
        Err(e) => Response::new(format!("read error: {e}")).with_status(500),
    }
}

#[test]
fn a_body_below_the_minimum_rate_gets_408_and_the_connection_closes() {
    let server = serve_with(
        body_length,
        Options::new()
            .min_body_rate(1000)
            .body_rate_grace(Duration::from_millis(200))
            .header_timeout(Duration::from_millis(400)),
    );
    // Read ahead on the loop: the app never sees it.
    let mut conn = server.connect();
    conn.write(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 30000000\r\n\r\nx");
    let res = conn.response();
    assert_eq!(res.status, 408);
    assert!(res.text().contains("too slowly"), "{}", res.text());
    assert!(conn.is_closed());

    // Past the read-ahead, while the app reads: the read gives up in time, 408 too.
    let server = serve_with(
        body_length,
        Options::new()
            .min_body_rate(1000)
            .body_rate_grace(Duration::from_millis(200))
            .body_read_ahead(16),
    );
    let mut conn = server.connect();
    conn.write(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 30000000\r\n\r\n");
    conn.write(&[b'x'; 64]);
    let res = conn.response();
    assert_eq!(res.status, 408);
    assert!(conn.is_closed());
}

#[test]
fn a_body_past_its_deadline_gets_408() {
    let server = serve_with(
        body_length,
        Options::new()
            .min_body_rate(0)
            .body_timeout(Duration::from_millis(300))
            .header_timeout(Duration::from_millis(400)),
    );
    let mut conn = server.connect();
    conn.write(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
    let res = conn.response();
    assert_eq!(res.status, 408);
    assert!(conn.is_closed());
}

#[test]
fn small_bodies_are_read_before_the_app_runs() {
    // A view that would notice a body read that has to wait: with the body read ahead,
    // every read is served from memory, even when the client sends it in pieces.
    let server = serve(body_length);
    let mut conn = server.connect();
    conn.write(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
    thread::sleep(Duration::from_millis(50));
    conn.write(b"defghij");
    assert_eq!(conn.response().text(), "10");
    conn.write(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    thread::sleep(Duration::from_millis(50));
    conn.write(b"2\r\nde\r\n0\r\n\r\n");
    assert_eq!(conn.response().text(), "5");
    // A chunked body with bad framing is refused by the loop.
    let res = server.send(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    );
    assert_eq!(res.status, 400);
}

#[test]
fn slow_bodies_hold_no_thread_and_a_new_client_is_answered_at_once() {
    // Many clients declaring a large upload and sending a byte: they wait in the loops
    // (far more of them than threads), and a GET is still answered right away.
    let server = serve_with(app, Options::new().max_threads(4));
    let mut slow = Vec::new();
    for _ in 0..1_100 {
        let mut conn = server.connect();
        conn.write(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 30000000\r\n\r\nx");
        slow.push(conn);
    }
    // Bodies past the read-ahead that then stall need a thread each: beyond `max_threads`
    // they wait (paused) in the loop, which goes on serving.
    for _ in 0..8 {
        let mut conn = server.connect();
        conn.write(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 30000000\r\n\r\n");
        conn.write(&[b'x'; 70_000]);
        slow.push(conn);
    }
    for _ in 0..5 {
        let started = Instant::now();
        let res = server.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(res.status, 200);
        let took = started.elapsed();
        eprintln!("GET with {} slow bodies open: {took:?}", slow.len());
        assert!(took < Duration::from_secs(5), "took {took:?}");
    }
    drop(slow);
}

#[test]
fn pipelined_requests_then_a_malformed_one_do_not_stall_other_clients() {
    let server = serve_with(app, Options::new().io_timeout(Duration::from_secs(3)));
    let mut others: Vec<Conn> = (0..4).map(|_| server.connect()).collect();
    for conn in &mut others {
        conn.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(conn.response().status, 200);
    }
    // A client with a small receive buffer pipelines requests it never reads, then a head
    // with two Host headers.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&server.addr.into()).unwrap();
    let mut hostile: TcpStream = socket.into();
    let mut burst = Vec::new();
    for _ in 0..3_000 {
        burst.extend_from_slice(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    }
    burst.extend_from_slice(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    let writer = thread::spawn(move || {
        let _ = hostile.write_all(&burst);
        hostile
    });
    // The other keep-alive clients are answered throughout.
    let until = Instant::now() + Duration::from_secs(4);
    let mut rounds = 0;
    while Instant::now() < until {
        for conn in &mut others {
            let started = Instant::now();
            conn.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
            assert_eq!(conn.response().status, 200);
            let took = started.elapsed();
            assert!(
                took < Duration::from_secs(2),
                "a keep-alive client waited {took:?}"
            );
        }
        rounds += 1;
        thread::sleep(Duration::from_millis(20));
    }
    assert!(rounds > 10);
    // The hostile connection is given up (closed or reset), not kept forever.
    let mut hostile = writer.join().unwrap();
    hostile
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut sink = [0u8; 65536];
    loop {
        match hostile.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

#[test]
fn partial_heads_beyond_the_budget_get_503_and_timed_out_ones_give_theirs_back() {
    let server = serve_with(
        app,
        Options::new()
            .max_buffered_heads(100 * 1024)
            .header_timeout(Duration::from_millis(500)),
    );
    let partial = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: {}",
        "p".repeat(40 * 1024)
    );
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..4 {
        let mut conn = server.connect();
        conn.write(partial.as_bytes());
        held.push(conn);
    }
    for conn in &mut held {
        let res = conn.response();
        if res.status == 503 {
            refused += 1;
        } else {
            assert_eq!(res.status, 408);
        }
    }
    assert!(refused >= 1, "no connection was refused");
    // Timed out and closed: their buffers are free again.
    let mut conn = server.connect();
    conn.write(partial.as_bytes());
    conn.write(b"\r\n\r\n");
    assert_eq!(conn.response().status, 200);
}

#[test]
fn bodies_buffered_by_get_data_share_a_budget() {
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let entered = Mutex::new(entered_tx);
    let release = Mutex::new(release_rx);
    let server = serve_with(
        move |environ: Environ| {
            let hold = environ.path_info == "/hold";
            let form = environ.path_info == "/form";
            let request = zeug::Request::new(environ);
            if form {
                return match request.form() {
                    Ok(fields) => Response::new(fields.len().to_string()),
                    Err(e) => e.into_response(),
                };
            }
            let response = match request.get_data() {
                Ok(data) => Response::new(data.len().to_string()),
                Err(e) => return e.into_response(),
            };
            if hold {
                entered.lock().unwrap().send(()).unwrap();
                release.lock().unwrap().recv().unwrap();
            }
            response
        },
        Options::new().max_buffered_bodies(150 * 1024),
    );
    let body = "b".repeat(100 * 1024);
    let post = |path: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let mut holder = server.connect();
    holder.write(post("/hold").as_bytes());
    entered_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    // The first body is held: a second does not fit, nor a form of that size.
    assert_eq!(server.send(&post("/")).status, 413);
    let form = format!("a={}", "f".repeat(60 * 1024));
    let form_post = format!(
        "POST /form HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    assert_eq!(server.send(&form_post).status, 413);
    release_tx.send(()).unwrap();
    assert_eq!(holder.response().text(), (100 * 1024).to_string());
    // Given back when the request ended.
    let res = server.send(&post("/"));
    assert_eq!(res.status, 200);
    assert_eq!(server.send(&form_post).text(), "1");
    // A chunked body is counted as it arrives.
    let mut chunked = String::new();
    for _ in 0..4 {
        chunked.push_str(&format!("{:x}\r\n{}\r\n", 50 * 1024, "c".repeat(50 * 1024)));
    }
    chunked.push_str("0\r\n\r\n");
    let res = server.send(&format!(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}"
    ));
    assert_eq!(res.status, 413);
}

#[test]
fn requests_sent_while_the_server_stops_are_all_answered() {
    let server = serve(app);
    let addr = server.addr;
    let answered = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (answered, failures) = (Arc::clone(&answered), Arc::clone(&failures));
            thread::spawn(move || {
                for _ in 0..500 {
                    let Ok(mut stream) = TcpStream::connect(addr) else {
                        return; // refused: the server has stopped listening
                    };
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    let sent =
                        stream.write_all(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
                    let mut out = Vec::new();
                    let read = stream.read_to_end(&mut out);
                    let text = String::from_utf8_lossy(&out);
                    if sent.is_ok() && read.is_ok() && text.ends_with("Hello World!") {
                        answered.fetch_add(1, Ordering::SeqCst);
                    } else {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{sent:?} {read:?} {text:?}"));
                    }
                }
            })
        })
        .collect();
    while answered.load(Ordering::SeqCst) < 200 {
        thread::sleep(Duration::from_millis(1));
    }
    let started = Instant::now();
    server.stop().unwrap().unwrap();
    let stopped = started.elapsed();
    for client in clients {
        client.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} lost: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(stopped < Duration::from_secs(5), "took {stopped:?} to stop");
}

#[test]
fn an_idle_server_stops_at_once() {
    let server = serve(app);
    assert_eq!(
        server
            .send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
            .status,
        200
    );
    let started = Instant::now();
    server.stop().unwrap().unwrap();
    let took = started.elapsed();
    eprintln!("an idle server stopped in {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn keep_alive_clients_of_views_around_the_slow_threshold_never_stall() {
    // Views taking about the watchdog's threshold make the loops move between threads
    // while requests run; every keep-alive client must still get every answer.
    let server = serve_with(
        |environ: Environ| {
            let n: u64 = environ.query_string.parse().unwrap_or(0);
            thread::sleep(Duration::from_micros(n % 5 * 1000));
            Response::new("ok")
        },
        Options::new().keep_alive_timeout(Duration::from_secs(60)),
    );
    let addr = server.addr;
    let clients: Vec<_> = (0..4)
        .map(|c| {
            thread::spawn(move || {
                let mut conn = Conn::new(TcpStream::connect(addr).unwrap());
                for i in 0..300 {
                    conn.write(format!("GET /?{} HTTP/1.1\r\nHost: h\r\n\r\n", i + c).as_bytes());
                    assert_eq!(conn.response().text(), "ok", "request {i} of client {c}");
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
}

#[test]
fn requests_paused_for_a_thread_all_run_with_a_single_spare() {
    // Bodies past the read-ahead need a thread each; with one spare thread they take
    // turns (paused in the loop meanwhile), and every one is answered.
    let server = serve_with(body_length, Options::new().max_threads(1));
    let mut conns: Vec<Conn> = (0..4).map(|_| server.connect()).collect();
    for conn in &mut conns {
        conn.write(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n");
        conn.write(&[b'x'; 70_000]);
    }
    for conn in &mut conns {
        conn.write(&[b'y'; 30_000]);
    }
    for conn in &mut conns {
        assert_eq!(conn.response().text(), "100000");
    }
    // The server still answers at once afterwards.
    assert_eq!(server.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
}
