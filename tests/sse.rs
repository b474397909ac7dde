//! Server-sent events: in-process through the test client, and over real loopback sockets
//! against the development server, read with `ureq` and with a bare `TcpStream`.
//!
//! Each socket test starts its own server on an ephemeral port and shuts it down at the
//! end. Timeouts are generous and only fail on a hang.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zeug::serving::Options;
use zeug::sse::{Event, EventReader, EventStream, last_event_id};
use zeug::test::Client;
use zeug::{Application, Environ, Request, Response};

/// How long a test waits for something that should happen at once.
const PATIENCE: Duration = Duration::from_secs(10);

/// The senders of the clients subscribed to `/live`.
type Subscribers = Arc<Mutex<Vec<mpsc::Sender<Event>>>>;

/// `/count` (five numbered events, resuming after `Last-Event-ID`), `/poem` (multi-line
/// data, a type and a retry), `/live` (a channel per client with 50 ms keep-alives).
fn app(subscribers: Subscribers) -> impl Application {
    move |environ: Environ| -> Response {
        let request = Request::new(environ);
        match request.path() {
            "/count" => {
                let after: u32 = last_event_id(&request)
                    .and_then(|id| id.parse().ok())
                    .unwrap_or(0);
                EventStream::new(
                    (after + 1..=5)
                        .map(|n| Event::new(format!("event {n}")).with_id(n.to_string())),
                )
                .into_response()
            }
            "/poem" => {
                EventStream::new([Event::new("roses are red\r\nviolets are blue\n\nthe end")
                    .with_event("poem")
                    .with_retry(Duration::from_millis(2500))])
                .into_response()
            }
            "/live" => {
                let (tx, rx) = mpsc::channel();
                subscribers.lock().unwrap().push(tx);
                EventStream::from_receiver(rx)
                    .keep_alive(Duration::from_millis(50))
                    .into_response()
            }
            _ => Response::new("not found").with_status(404),
        }
    }
}

// --------------------------------------------------------------------- in-process tests

#[test]
fn events_are_read_one_at_a_time_in_process() {
    let client = Client::new(app(Subscribers::default()));
    let mut stream = client.get("/count").stream();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    assert_eq!(stream.header("cache-control"), Some("no-cache"));
    let first = stream.next_event().unwrap();
    assert_eq!((first.data(), first.id()), ("event 1", Some("1")));
    let rest: Vec<String> = stream.map(|e| e.data().to_owned()).collect();
    assert_eq!(rest, ["event 2", "event 3", "event 4", "event 5"]);
}

#[test]
fn last_event_id_resumes_the_stream() {
    let client = Client::new(app(Subscribers::default()));
    let ids: Vec<String> = client
        .get("/count")
        .header("last-event-id", "3")
        .stream()
        .map(|e| e.id().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["4", "5"]);
}

#[test]
fn multi_line_data_type_and_retry_in_process() {
    let client = Client::new(app(Subscribers::default()));
    let mut stream = client.get("/poem").stream();
    let event = stream.next_event().unwrap();
    assert_eq!(event.data(), "roses are red\nviolets are blue\n\nthe end");
    assert_eq!(event.event(), Some("poem"));
    assert_eq!(stream.retry(), Some(Duration::from_millis(2500)));
    assert!(stream.next_event().is_none());
}

#[test]
fn a_client_going_away_ends_the_stream_in_process() {
    let subscribers = Subscribers::default();
    let client = Client::new(app(Arc::clone(&subscribers)));
    let mut stream = client.get("/live").stream();
    let tx = subscribers.lock().unwrap()[0].clone();
    tx.send(Event::new("hello")).unwrap();
    assert_eq!(stream.next_event().unwrap().data(), "hello");
    drop(stream);
    assert!(tx.send(Event::new("anyone?")).is_err());
}

// --------------------------------------------------------------------- real sockets

mod common;

use common::TestServer;

fn url(server: &TestServer, path: &str) -> String {
    format!("http://{}{path}", server.addr)
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout_read(PATIENCE).build()
}

#[test]
fn events_stream_over_a_real_socket() {
    let served = TestServer::start(app(Subscribers::default()), Options::new());
    let response = agent()
        .get(&url(&served, "/count"))
        .set("last-event-id", "2")
        .call()
        .unwrap();
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    let events: Vec<Event> = EventReader::new(BufReader::new(response.into_reader()))
        .map(Result::unwrap)
        .collect();
    let data: Vec<&str> = events.iter().map(Event::data).collect();
    assert_eq!(data, ["event 3", "event 4", "event 5"]);
    assert_eq!(events[2].id(), Some("5"));
}

#[test]
fn multi_line_data_survives_a_real_socket() {
    let served = TestServer::start(app(Subscribers::default()), Options::new());
    let response = agent().get(&url(&served, "/poem")).call().unwrap();
    let mut reader = EventReader::new(BufReader::new(response.into_reader()));
    let event = reader.next_event().unwrap().unwrap();
    assert_eq!(event.data(), "roses are red\nviolets are blue\n\nthe end");
    assert_eq!(event.event(), Some("poem"));
    assert_eq!(reader.retry(), Some(Duration::from_millis(2500)));
}

/// Waits until `/live` has `n` subscribers and returns the newest one's sender.
fn subscriber(subscribers: &Subscribers, n: usize) -> mpsc::Sender<Event> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(tx) = subscribers.lock().unwrap().get(n - 1) {
            return tx.clone();
        }
        assert!(Instant::now() < deadline, "nobody subscribed");
        std::thread::yield_now();
    }
}

#[test]
fn keep_alives_flow_and_a_departed_client_ends_the_stream() {
    let subscribers = Subscribers::default();
    let served = TestServer::start(app(Arc::clone(&subscribers)), Options::new());
    let mut stream = TcpStream::connect(served.addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        stream,
        "GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let tx = subscriber(&subscribers, 1);
    let mut body = agent_free_reader(stream.try_clone().unwrap());
    tx.send(Event::new("first")).unwrap();
    let mut lines = Vec::new();
    // Then quiet: keep-alive comments (`:`) arrive every 50 ms.
    while lines.iter().filter(|l: &&String| l.as_str() == ":").count() < 2 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut body, &mut line).unwrap();
        assert!(!line.is_empty(), "the stream ended early: {lines:?}");
        lines.push(line.trim_end().to_owned());
    }
    assert_eq!(lines[..2], [": stream opened", ""]);
    assert!(lines.iter().any(|l| l == "data: first"), "{lines:?}");
    let reader = EventReader::new(body);
    // The client goes away; the next keep-alive write fails, the stream ends and drops
    // its receiver: the app's sends fail from then on.
    drop(reader);
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    drop(stream);
    let deadline = Instant::now() + PATIENCE;
    while tx.send(Event::new("anyone?")).is_ok() {
        assert!(Instant::now() < deadline, "the stream outlived its client");
        std::thread::yield_now();
    }
}

/// The body of a raw HTTP/1.1 response with chunked framing, read from `stream` after
/// skipping its head (just enough HTTP for this test; `ureq` would hide the socket).
fn agent_free_reader(stream: TcpStream) -> impl std::io::BufRead {
    use std::io::{BufRead, Read};
    let mut input = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        input.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "the connection ended in the head");
        if line == "\r\n" {
            break;
        }
    }
    /// De-chunks the body as it arrives.
    struct Chunked<R> {
        input: R,
        left: usize,
    }
    impl<R: BufRead> Read for Chunked<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                let mut size = String::new();
                self.input.read_line(&mut size)?;
                if size.trim().is_empty() {
                    // The CRLF ending the previous chunk.
                    size.clear();
                    self.input.read_line(&mut size)?;
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
    BufReader::new(Chunked { input, left: 0 })
}
