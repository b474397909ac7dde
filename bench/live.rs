//! WebSockets and server-sent events under load: zeug's development server side by side
//! with a plain thread-per-connection server built on `tungstenite` (WebSockets) or on
//! `std::net` (events), each in a process of its own so its memory and threads can be read.
//!
//! WebSockets: `--connections` idle sockets are opened and held, then `--echoers` clients
//! each send `--messages` messages of 32 bytes and wait for each echo. Reported: messages
//! per second (all echoers together), the round trip's median and 99th percentile, and the
//! server's RSS and thread count with every socket still open.
//!
//! Server-sent events: `--sse-clients` streams are opened; the server sends every stream
//! an event stamped with the time every `--interval-ms` for `--duration` seconds. Reported:
//! events delivered per second, the delay from stamp to receipt (median, p99), and the
//! server's RSS and threads with every stream open.
//!
//! A load program, not a criterion benchmark: it takes figures only when asked.
//!
//! ```text
//! # the full run (on a quiet machine; about a minute):
//! cargo bench -p zeug-bench --bench live -- --connections 1000 --echoers 100 --sse-clients 1000
//! # a smoke run:
//! cargo bench -p zeug-bench --bench live -- --connections 50 --echoers 5 --messages 100 --sse-clients 50 --duration 2
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use zeug::serving::{Options, make_server};
use zeug::sse::{Event, EventReader, EventStream};
use zeug::websocket::WebSocketUpgrade;
use zeug::websocket::tungstenite::{self, Message};
use zeug::{Environ, Request, Response};

/// Stack of each client thread (they only read sockets).
const CLIENT_STACK: usize = 128 * 1024;

/// The servers compared.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    ZeugWs,
    PlainWs,
    ZeugSse,
    PlainSse,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::ZeugWs => "zeug-ws",
            Kind::PlainWs => "plain-ws",
            Kind::ZeugSse => "zeug-sse",
            Kind::PlainSse => "plain-sse",
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        [Kind::ZeugWs, Kind::PlainWs, Kind::ZeugSse, Kind::PlainSse]
            .into_iter()
            .find(|k| k.name() == name)
    }

    fn label(self) -> &'static str {
        match self {
            Kind::ZeugWs => "zeug (WebSocketUpgrade, dev server)",
            Kind::PlainWs => "tungstenite, a thread per connection",
            Kind::ZeugSse => "zeug (EventStream, dev server)",
            Kind::PlainSse => "std::net, a thread per connection",
        }
    }
}

#[derive(Debug, Clone)]
struct Config {
    connections: usize,
    echoers: usize,
    messages: usize,
    sse_clients: usize,
    duration: Duration,
    interval: Duration,
}

impl Config {
    fn from_args(args: &[String]) -> Config {
        let mut config = Config {
            connections: 1000,
            echoers: 100,
            messages: 1000,
            sse_clients: 1000,
            duration: Duration::from_secs(10),
            interval: Duration::from_millis(100),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |what: &str| -> u64 {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{arg} needs a number ({what})"))
            };
            match arg.as_str() {
                "--connections" => config.connections = value("idle WebSockets") as usize,
                "--echoers" => config.echoers = value("echoing clients") as usize,
                "--messages" => config.messages = value("messages per echoer") as usize,
                "--sse-clients" => config.sse_clients = value("event streams") as usize,
                "--duration" => config.duration = Duration::from_secs(value("seconds")),
                "--interval-ms" => config.interval = Duration::from_millis(value("ms")),
                // What `cargo bench` passes.
                "--bench" => {}
                other => panic!("unknown argument {other}; see the header of bench/live.rs"),
            }
        }
        config
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        let kind = args
            .get(i + 1)
            .and_then(|k| Kind::parse(k))
            .expect("--serve KIND");
        serve(kind);
        return;
    }
    let config = Config::from_args(&args);
    let needed = (config.connections + config.echoers).max(config.sse_clients) + 64;
    if let Some(limit) = open_files_limit() {
        assert!(
            limit >= needed as u64,
            "at least {needed} open files are needed, the limit is {limit}: run `ulimit -n {}` first",
            needed * 2
        );
    }
    println!(
        "# bench/live.rs: {config:?}\n# load average before: {}",
        load_average()
    );
    let mut rows = Vec::new();
    for kind in [Kind::ZeugWs, Kind::PlainWs] {
        rows.push(websockets(kind, &config));
    }
    for kind in [Kind::ZeugSse, Kind::PlainSse] {
        rows.push(events(kind, &config));
    }
    println!("# load average after: {}\n", load_average());
    println!("| server | what | per second | median | p99 | server RSS | server threads |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for row in rows {
        println!("{row}");
    }
}

// ------------------------------------------------------------------------------ servers

/// Runs a server of `kind` on a free port, prints `PORT n` and serves until killed.
fn serve(kind: Kind) {
    match kind {
        Kind::ZeugWs => {
            let app = |environ: Environ| -> Response {
                match WebSocketUpgrade::from_request(&Request::new(environ)) {
                    Ok(upgrade) => upgrade.on_upgrade(|mut ws| {
                        while let Ok(message) = ws.recv() {
                            if ws.send(message).is_err() {
                                break;
                            }
                        }
                    }),
                    Err(e) => e.into_response(),
                }
            };
            let server = make_server("127.0.0.1", 0, app, zeug_options()).unwrap();
            announce(server.local_addr().port().unwrap());
            server.serve_forever().unwrap();
        }
        Kind::ZeugSse => {
            let subscribers: Arc<Mutex<Vec<mpsc::Sender<Event>>>> = Arc::default();
            let hub = Arc::clone(&subscribers);
            let app = move |_: Environ| -> Response {
                let (tx, rx) = mpsc::channel();
                hub.lock().unwrap().push(tx);
                EventStream::from_receiver(rx).into_response()
            };
            let server = make_server("127.0.0.1", 0, app, zeug_options()).unwrap();
            announce(server.local_addr().port().unwrap());
            std::thread::spawn(move || {
                ticker(|stamp| {
                    subscribers
                        .lock()
                        .unwrap()
                        .retain(|s| s.send(Event::new(stamp.to_string())).is_ok())
                })
            });
            server.serve_forever().unwrap();
        }
        Kind::PlainWs => {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            announce(listener.local_addr().unwrap().port());
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let _ = stream.set_nodelay(true);
                    let Ok(mut ws) = tungstenite::accept(stream) else {
                        return;
                    };
                    while let Ok(message) = ws.read() {
                        if (message.is_text() || message.is_binary()) && ws.send(message).is_err() {
                            break;
                        }
                    }
                });
            }
        }
        Kind::PlainSse => {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            announce(listener.local_addr().unwrap().port());
            let subscribers: Arc<Mutex<Vec<mpsc::Sender<String>>>> = Arc::default();
            let hub = Arc::clone(&subscribers);
            std::thread::spawn(move || {
                ticker(|stamp| {
                    hub.lock()
                        .unwrap()
                        .retain(|s| s.send(stamp.to_string()).is_ok())
                })
            });
            for stream in listener.incoming().flatten() {
                let (tx, rx) = mpsc::channel::<String>();
                subscribers.lock().unwrap().push(tx);
                std::thread::spawn(move || plain_stream(stream, rx));
            }
        }
    }
}

fn zeug_options() -> Options {
    // Every upgraded socket and every open stream holds a thread.
    Options::new().max_threads(8192).max_connections(20_000)
}

fn announce(port: u16) {
    println!("PORT {port}");
    std::io::stdout().flush().unwrap();
}

/// Calls `tick` with the time (µs since the epoch) at a fixed interval, forever.
fn ticker(mut tick: impl FnMut(u128)) {
    let interval = std::env::var("LIVE_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_millis(100), Duration::from_millis);
    let mut next = Instant::now();
    loop {
        next += interval;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        tick(now_micros());
    }
}

/// One event stream written by hand: read the request head, send a head and the events.
fn plain_stream(stream: TcpStream, events: mpsc::Receiver<String>) {
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut out = &stream;
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
    if out.write_all(head.as_bytes()).is_err() {
        return;
    }
    for stamp in events {
        if write!(out, "data: {stamp}\n\n").is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------- the runs

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(kind: Kind, config: &Config) -> Server {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--serve", kind.name()])
            .env("LIVE_INTERVAL_MS", config.interval.as_millis().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the {} server said {line:?}", kind.name()));
        Server { child, port }
    }

    /// `(RSS in KiB, threads)` from `/proc`.
    fn usage(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("Threads:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn connect_ws(port: u16) -> tungstenite::WebSocket<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let (ws, _) = tungstenite::client(format!("ws://127.0.0.1:{port}/"), stream)
        .unwrap_or_else(|e| panic!("WebSocket handshake: {e}"));
    ws
}

fn websockets(kind: Kind, config: &Config) -> String {
    let server = Server::start(kind, config);
    let port = server.port;
    let idle: Vec<_> = (0..config.connections).map(|_| connect_ws(port)).collect();
    let barrier = Arc::new(Barrier::new(config.echoers + 1));
    let echoers: Vec<_> = (0..config.echoers)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            let messages = config.messages;
            std::thread::Builder::new()
                .stack_size(CLIENT_STACK)
                .spawn(move || {
                    let mut ws = connect_ws(port);
                    let payload = "x".repeat(32);
                    let mut rtts = Vec::with_capacity(messages);
                    barrier.wait();
                    for _ in 0..messages {
                        let sent = Instant::now();
                        ws.send(Message::text(payload.clone())).unwrap();
                        loop {
                            match ws.read().unwrap() {
                                Message::Text(_) => break,
                                _ => continue,
                            }
                        }
                        rtts.push(sent.elapsed());
                    }
                    let _ = ws.close(None);
                    rtts
                })
                .unwrap()
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    let mut rtts: Vec<Duration> = echoers
        .into_iter()
        .flat_map(|e| e.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    let (rss, threads) = server.usage();
    drop(idle);
    rtts.sort();
    format!(
        "| {} | {} idle + {} echoing WebSockets | {:.0} msg/s | {} | {} | {:.1} MiB | {threads} |",
        kind.label(),
        config.connections,
        config.echoers,
        rtts.len() as f64 / elapsed.as_secs_f64(),
        micros(percentile(&rtts, 50)),
        micros(percentile(&rtts, 99)),
        rss as f64 / 1024.0,
    )
}

fn events(kind: Kind, config: &Config) -> String {
    let server = Server::start(kind, config);
    let port = server.port;
    let stop_at = Arc::new(Mutex::new(None::<Instant>));
    let opened = Arc::new(Barrier::new(config.sse_clients + 1));
    let clients: Vec<_> = (0..config.sse_clients)
        .map(|_| {
            let stop_at = Arc::clone(&stop_at);
            let opened = Arc::clone(&opened);
            std::thread::Builder::new()
                .stack_size(CLIENT_STACK)
                .spawn(move || {
                    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(30)))
                        .unwrap();
                    write!(
                        stream,
                        "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
                    )
                    .unwrap();
                    let mut reader = EventReader::new(BufReader::new(Unchunk::new(stream)));
                    opened.wait();
                    let mut delays = Vec::new();
                    while let Ok(Some(event)) = reader.next_event() {
                        let received = now_micros();
                        if let Ok(stamp) = event.data().parse::<u128>() {
                            delays.push(Duration::from_micros(
                                received.saturating_sub(stamp) as u64,
                            ));
                        }
                        if stop_at.lock().unwrap().is_some_and(|t| Instant::now() >= t) {
                            break;
                        }
                    }
                    delays
                })
                .unwrap()
        })
        .collect();
    opened.wait();
    let started = Instant::now();
    *stop_at.lock().unwrap() = Some(started + config.duration);
    std::thread::sleep(config.duration / 2);
    let (rss, threads) = server.usage();
    let mut delays: Vec<Duration> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    delays.sort();
    format!(
        "| {} | {} event streams, an event each every {} ms | {:.0} events/s | {} | {} | {:.1} MiB | {threads} |",
        kind.label(),
        config.sse_clients,
        config.interval.as_millis(),
        delays.len() as f64 / elapsed.as_secs_f64(),
        micros(percentile(&delays, 50)),
        micros(percentile(&delays, 99)),
        rss as f64 / 1024.0,
    )
}

/// The body of an HTTP/1.1 response after its head: de-chunked when the head says
/// `transfer-encoding: chunked` (zeug), as is otherwise (the plain server closes instead).
struct Unchunk<R> {
    input: BufReader<R>,
    chunked: Option<bool>,
    left: usize,
}

impl<R: Read> Unchunk<R> {
    fn new(input: R) -> Self {
        Unchunk {
            input: BufReader::new(input),
            chunked: None,
            left: 0,
        }
    }
}

impl<R: Read> Read for Unchunk<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.chunked.is_none() {
            let mut chunked = false;
            loop {
                let mut line = String::new();
                if self.input.read_line(&mut line)? == 0 {
                    return Ok(0);
                }
                if line == "\r\n" {
                    break;
                }
                chunked |= line
                    .to_ascii_lowercase()
                    .starts_with("transfer-encoding: chunked");
            }
            self.chunked = Some(chunked);
        }
        if self.chunked == Some(false) {
            return self.input.read(buf);
        }
        if self.left == 0 {
            let mut size = String::new();
            while size.trim().is_empty() {
                size.clear();
                if self.input.read_line(&mut size)? == 0 {
                    return Ok(0);
                }
            }
            self.left = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if self.left == 0 {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.left);
        let n = self.input.read(&mut buf[..n])?;
        self.left -= n;
        Ok(n)
    }
}

// ----------------------------------------------------------------------------- helpers

fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) * p / 100).min(sorted.len() - 1)]
}

fn micros(d: Duration) -> String {
    if d >= Duration::from_millis(10) {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{} µs", d.as_micros())
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn open_files_limit() -> Option<u64> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}
