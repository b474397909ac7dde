//! WebSockets from a view: in-process through the test client (no socket), and over real
//! loopback sockets against the development server with `tungstenite`'s client.
//!
//! Each socket test starts its own server on an ephemeral port and shuts it down at the
//! end. Timeouts are generous and only fail on a hang.
#![cfg(feature = "websocket")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zeug::serving::{Options, make_server};
use zeug::test::Client;
use zeug::websocket::tungstenite::{self, protocol::frame::Frame};
use zeug::websocket::{CloseCode, Error, Message, Sender, WebSocket, WebSocketUpgrade};
use zeug::{Application, Environ, HttpException, Request, Response};

/// How long a test waits for something that should happen at once.
const PATIENCE: Duration = Duration::from_secs(10);

// ------------------------------------------------------------------------------ the app

/// Rooms of a tiny broadcast hub, for the `Sender` test.
type Room = Arc<Mutex<Vec<Sender>>>;

fn echo(mut ws: WebSocket) {
    while let Ok(message) = ws.recv() {
        if ws.send(message).is_err() {
            break;
        }
    }
}

/// `/echo`, `/proto` (subprotocols), `/strict` (same-origin only), `/panic`, `/small`
/// (64-byte messages), `/quiet` (short read timeout), `/room` (broadcast), `/hello`
/// (not a WebSocket).
fn app(room: Room) -> impl Application {
    move |environ: Environ| -> Response {
        let request = Request::new(environ);
        let path = request.path().to_owned();
        if path == "/hello" {
            return Response::new("plain HTTP still works");
        }
        let upgrade = match WebSocketUpgrade::from_request(&request) {
            Ok(u) => u,
            Err(e) => return e.into_response(),
        };
        match path.as_str() {
            "/echo" => upgrade.on_upgrade(echo),
            "/proto" => upgrade
                .protocols(&["chat.v2", "chat.v1"])
                .on_upgrade(|mut ws| {
                    let picked = ws.protocol().unwrap_or("none").to_owned();
                    let _ = ws.send(picked);
                    echo(ws);
                }),
            "/strict" if !upgrade.is_same_origin() => HttpException::forbidden()
                .with_description(format!(
                    "WebSocket from origin {:?} refused",
                    upgrade.origin()
                ))
                .into_response(),
            "/strict" => upgrade.on_upgrade(echo),
            "/panic" => upgrade.on_upgrade(|mut ws| {
                let _ = ws.recv();
                panic!("the handler broke");
            }),
            "/small" => upgrade
                .max_message_size(64)
                .max_frame_size(64)
                .on_upgrade(echo),
            "/quiet" => upgrade
                .ping_interval(Duration::from_millis(50))
                .read_timeout(Duration::from_millis(300))
                .on_upgrade(|mut ws| {
                    let result = ws.recv();
                    let timed_out = matches!(&result, Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut);
                    assert!(timed_out, "expected a read timeout, got {result:?}");
                }),
            "/room" => {
                let room = Arc::clone(&room);
                upgrade.on_upgrade(move |mut ws| {
                    room.lock().unwrap().push(ws.sender());
                    while let Ok(message) = ws.recv() {
                        let members = room.lock().unwrap().clone();
                        for member in members {
                            let _ = member.send(message.clone());
                        }
                    }
                })
            }
            _ => HttpException::not_found().into_response(),
        }
    }
}

fn client() -> Client {
    Client::new(app(Room::default()))
}

fn text(message: Result<Message, Error>) -> String {
    match message {
        Ok(Message::Text(t)) => t.to_string(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

// --------------------------------------------------------------------- in-process tests

#[test]
fn echoes_text_and_binary_in_process() {
    let client = client();
    let mut ws = client.websocket("/echo");
    assert_eq!(ws.status(), 101);
    ws.send("hello").unwrap();
    assert_eq!(text(ws.recv()), "hello");
    ws.send(vec![0u8, 159, 146, 150]).unwrap();
    assert_eq!(
        ws.recv().unwrap(),
        Message::binary(vec![0u8, 159, 146, 150])
    );
    ws.join().unwrap();
}

#[test]
fn wrong_handshakes_get_clear_refusals() {
    let client = client();
    let plain = client.get("/echo").send();
    assert_eq!(plain.status(), 426);
    assert_eq!(plain.header("upgrade"), Some("websocket"));
    assert!(
        plain.text().contains("Upgrade: websocket"),
        "{}",
        plain.text()
    );

    let old = client
        .get("/echo")
        .header("sec-websocket-version", "8")
        .websocket()
        .unwrap_err();
    assert_eq!(old.status(), 426);
    assert_eq!(old.header("sec-websocket-version"), Some("13"));

    let no_key = client
        .get("/echo")
        .header("sec-websocket-key", "not base64 of 16 bytes")
        .websocket()
        .unwrap_err();
    assert_eq!(no_key.status(), 400);
    assert!(
        no_key.text().contains("Sec-WebSocket-Key"),
        "{}",
        no_key.text()
    );

    let post = client
        .post("/echo")
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .send();
    assert_eq!(post.status(), 400);
    assert!(post.text().contains("GET"), "{}", post.text());
}

#[test]
fn the_server_picks_the_subprotocol() {
    let client = client();
    let mut ws = client
        .get("/proto")
        .header("sec-websocket-protocol", "chat.v1, chat.v2")
        .websocket()
        .unwrap();
    assert_eq!(ws.header("sec-websocket-protocol"), Some("chat.v2"));
    assert_eq!(ws.protocol(), Some("chat.v2"));
    assert_eq!(text(ws.recv()), "chat.v2");

    let mut none = client
        .get("/proto")
        .header("sec-websocket-protocol", "mqtt")
        .websocket()
        .unwrap();
    assert_eq!(none.header("sec-websocket-protocol"), None);
    assert_eq!(text(none.recv()), "none");
}

#[test]
fn the_view_sees_the_origin() {
    let client = client();
    let foreign = client
        .get("/strict")
        .header("origin", "https://evil.example")
        .websocket()
        .unwrap_err();
    assert_eq!(foreign.status(), 403);
    assert!(
        foreign.text().contains("evil.example"),
        "{}",
        foreign.text()
    );
    let mut own = client
        .get("/strict")
        .header("origin", "http://localhost")
        .websocket()
        .unwrap();
    own.send("ok").unwrap();
    assert_eq!(text(own.recv()), "ok");
}

#[test]
fn a_panicking_handler_closes_with_1011() {
    let client = client();
    let mut ws = client.websocket("/panic");
    ws.send("boom").unwrap();
    assert!(matches!(ws.recv(), Err(Error::ConnectionClosed)));
    assert_eq!(ws.close_frame().map(|f| f.code), Some(CloseCode::Error));
    let panic = ws.join().unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"the handler broke"));
}

#[test]
fn an_oversized_message_closes_with_1009() {
    let client = client();
    let mut ws = client.websocket("/small");
    ws.send("x".repeat(64)).unwrap();
    assert_eq!(text(ws.recv()).len(), 64);
    ws.send("x".repeat(65)).unwrap();
    assert!(matches!(ws.recv(), Err(Error::ConnectionClosed)));
    assert_eq!(ws.close_frame().map(|f| f.code), Some(CloseCode::Size));
}

#[test]
fn a_silent_client_is_pinged_then_closed_with_1001() {
    let client = client();
    let mut ws = client.websocket("/quiet");
    // The client reads nothing, so it answers no ping: the server gives up after its read
    // timeout (the handler checks that `recv` failed with `TimedOut`).
    ws.wait_for_handler().unwrap();
    // Reading now finds the ping, then the close.
    let result = ws.recv();
    assert!(matches!(result, Err(Error::ConnectionClosed)), "{result:?}");
    assert_eq!(ws.close_frame().map(|f| f.code), Some(CloseCode::Away));
}

#[test]
fn senders_broadcast_from_other_threads() {
    let client = client();
    let mut first = client.websocket("/room");
    // A member has joined once it heard its own first message back.
    first.send("first is here").unwrap();
    assert_eq!(text(first.recv()), "first is here");
    let mut second = client.websocket("/room");
    second.send("second is here").unwrap();
    assert_eq!(text(second.recv()), "second is here");
    assert_eq!(text(first.recv()), "second is here");
    first.send("hi all").unwrap();
    assert_eq!(text(first.recv()), "hi all");
    // `second` joined after "first is here" was sent: its next message is this one.
    assert_eq!(text(second.recv()), "hi all");
}

// --------------------------------------------------------------------- real sockets

/// Keeps the server's log lines (target `zeug`), so a test can find one.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target().starts_with("zeug")
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            self.0.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

/// The log lines kept so far (the logger is installed on first use).
fn logs() -> &'static Capture {
    static LOGGER: std::sync::OnceLock<&'static Capture> = std::sync::OnceLock::new();
    LOGGER.get_or_init(|| {
        let logger: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(logger).unwrap();
        log::set_max_level(log::LevelFilter::Info);
        logger
    })
}

/// Waits (up to [`PATIENCE`]) for a log line containing `text`.
fn wait_for_log(text: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(line) = logs().0.lock().unwrap().iter().find(|l| l.contains(text)) {
            return line.clone();
        }
        assert!(Instant::now() < deadline, "no log line contains {text:?}");
        std::thread::yield_now();
    }
}

mod common;

use common::TestServer;

/// The app served by the development server on a free port; stopped when dropped.
fn serve(options: Options) -> TestServer {
    TestServer::start(app(Room::default()), options)
}

/// Opens a WebSocket to `path` with `tungstenite`'s client; `Err` when refused.
fn connect(
    server: &TestServer,
    path: &str,
) -> Result<tungstenite::WebSocket<TcpStream>, tungstenite::Error> {
    let stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let url = format!("ws://{}{path}", server.addr);
    match tungstenite::client(url, stream) {
        Ok((ws, _response)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(e)) => Err(e),
        Err(tungstenite::HandshakeError::Interrupted(_)) => panic!("blocking handshake"),
    }
}

/// A plain `GET`: status and body.
fn get(server: &TestServer, path: &str) -> (u16, String) {
    match ureq::get(&format!("http://{}{path}", server.addr)).call() {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
        Err(e) => panic!("GET {path}: {e}"),
    }
}

fn read_text(ws: &mut tungstenite::WebSocket<TcpStream>) -> String {
    loop {
        match ws.read().unwrap() {
            Message::Text(t) => return t.to_string(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected text, got {other:?}"),
        }
    }
}

/// Reads until the server's close frame; returns its code.
fn close_code(ws: &mut tungstenite::WebSocket<TcpStream>) -> Option<CloseCode> {
    loop {
        match ws.read() {
            Ok(Message::Close(frame)) => return frame.map(|f| f.code),
            Ok(_) => continue,
            Err(e) => panic!("expected a close frame, got {e}"),
        }
    }
}

#[test]
fn echoes_over_a_real_socket() {
    let served = serve(Options::new());
    let mut ws = connect(&served, "/echo").unwrap();
    for i in 0..20 {
        ws.send(Message::text(format!("message {i}"))).unwrap();
        assert_eq!(read_text(&mut ws), format!("message {i}"));
    }
    ws.send(Message::Ping("are you there".into())).unwrap();
    match ws.read().unwrap() {
        Message::Pong(p) => assert_eq!(&p[..], b"are you there"),
        other => panic!("expected the pong, got {other:?}"),
    }
    ws.close(None).unwrap();
    assert!(matches!(
        close_code(&mut ws),
        None | Some(CloseCode::Normal)
    ));
}

#[test]
fn refusals_travel_over_a_real_socket() {
    let served = serve(Options::new());
    assert_eq!(get(&served, "/echo").0, 426);
    match connect(&served, "/nowhere") {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!("expected a 404 refusal, got {other:?}"),
    }
}

#[test]
fn a_panicking_handler_does_not_stop_the_server() {
    logs();
    let served = serve(Options::new());
    let mut ws = connect(&served, "/panic").unwrap();
    ws.send(Message::text("boom")).unwrap();
    assert_eq!(close_code(&mut ws), Some(CloseCode::Error));
    let line = wait_for_log("handler panicked: the handler broke");
    assert!(line.contains("GET /panic"), "{line}");
    assert_eq!(
        get(&served, "/hello"),
        (200, "plain HTTP still works".to_owned())
    );
    let mut again = connect(&served, "/echo").unwrap();
    again.send(Message::text("still here")).unwrap();
    assert_eq!(read_text(&mut again), "still here");
}

#[test]
fn oversized_messages_close_with_1009_over_a_real_socket() {
    let served = serve(Options::new());
    let mut ws = connect(&served, "/small").unwrap();
    ws.send(Message::binary(vec![1u8; 1000])).unwrap();
    assert_eq!(close_code(&mut ws), Some(CloseCode::Size));
}

#[test]
fn upgraded_connections_count_against_max_threads() {
    let served = serve(Options::new().max_threads(1));
    let mut first = connect(&served, "/echo").unwrap();
    first.send(Message::text("one")).unwrap();
    assert_eq!(read_text(&mut first), "one");
    // The only thread is taken: the next upgrade is refused, plain requests are served.
    match connect(&served, "/echo") {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("expected 503, got {other:?}"),
    }
    assert_eq!(get(&served, "/hello").0, 200);
    // Once the first connection is closed, its thread is given back.
    first.close(None).unwrap();
    let _ = close_code(&mut first);
    let deadline = Instant::now() + PATIENCE;
    loop {
        match connect(&served, "/echo") {
            Ok(mut ws) => {
                ws.send(Message::text("two")).unwrap();
                assert_eq!(read_text(&mut ws), "two");
                break;
            }
            Err(tungstenite::Error::Http(r)) if r.status() == 503 => {
                assert!(Instant::now() < deadline, "the thread was never given back");
                std::thread::yield_now();
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn a_frame_sent_right_after_the_handshake_is_not_lost() {
    let served = serve(Options::new());
    let mut stream = TcpStream::connect(served.addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut frame = Frame::message(
        "early bird",
        tungstenite::protocol::frame::coding::OpCode::Data(
            tungstenite::protocol::frame::coding::Data::Text,
        ),
        true,
    );
    frame.header_mut().mask = Some([1, 2, 3, 4]);
    let mut bytes = format!(
        "GET /echo HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        served.addr
    )
    .into_bytes();
    frame.format(&mut bytes).unwrap();
    // Head and frame in one write: the server reads both before it hands the socket over.
    stream.write_all(&bytes).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    let mut ws =
        tungstenite::WebSocket::from_raw_socket(stream, tungstenite::protocol::Role::Client, None);
    assert_eq!(read_text(&mut ws), "early bird");
}

// --------------------------------------------------------------------- over TLS

/// Over TLS a connection's reads and writes share the TLS session: the handler's `recv`
/// waits in short slices so a `Sender` on another thread still gets its turn.
#[cfg(feature = "tls")]
mod tls {
    use super::*;
    use rustls::pki_types::ServerName;
    use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

    type TlsSocket = tungstenite::WebSocket<StreamOwned<ClientConnection, TcpStream>>;

    fn connect(port: u16, config: &Arc<ClientConfig>, path: &str) -> TlsSocket {
        let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
        sock.set_read_timeout(Some(PATIENCE)).unwrap();
        let conn = ClientConnection::new(
            Arc::clone(config),
            ServerName::try_from("localhost").unwrap(),
        )
        .unwrap();
        let stream = StreamOwned::new(conn, sock);
        let url = format!("ws://localhost:{port}{path}");
        match tungstenite::client(url, stream) {
            Ok((ws, _)) => ws,
            Err(e) => panic!("WebSocket handshake over TLS: {e}"),
        }
    }

    fn text(ws: &mut TlsSocket) -> String {
        loop {
            match ws.read().unwrap() {
                Message::Text(t) => return t.to_string(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected text, got {other:?}"),
            }
        }
    }

    #[test]
    fn echo_and_broadcast_over_tls() {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
        let options = Options::new().ssl_context(zeug::serving::SslContext::files(&cert, &key));
        let served = serve(options);
        let mut roots = RootCertStore::empty();
        roots.add(certified.cert.der().clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = Arc::new(
            ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );

        let mut echo = connect(served.addr.port(), &config, "/echo");
        echo.send(Message::text("over tls")).unwrap();
        assert_eq!(text(&mut echo), "over tls");

        // The second member's handler waits in `recv` while the first one's handler
        // sends to it through its `Sender`.
        let mut first = connect(served.addr.port(), &config, "/room");
        first.send(Message::text("first is here")).unwrap();
        assert_eq!(text(&mut first), "first is here");
        let mut second = connect(served.addr.port(), &config, "/room");
        second.send(Message::text("second is here")).unwrap();
        assert_eq!(text(&mut second), "second is here");
        assert_eq!(text(&mut first), "second is here");
        first.send(Message::text("to everyone")).unwrap();
        assert_eq!(text(&mut second), "to everyone");
        assert_eq!(text(&mut first), "to everyone");
    }
}

#[test]
fn stopping_the_server_ends_its_websockets() {
    let server = make_server("127.0.0.1", 0, app(Room::default()), Options::new()).unwrap();
    let addr = server.local_addr().inet().unwrap();
    let shutdown = server.shutdown_handle();
    let serving = std::thread::spawn(move || server.serve_forever());
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let (mut ws, _) = tungstenite::client(format!("ws://{addr}/echo"), stream).unwrap();
    ws.send(Message::text("before")).unwrap();
    assert_eq!(read_text(&mut ws), "before");
    shutdown.shutdown();
    serving.join().unwrap().unwrap();
    // The server shut the socket down: the client sees the end (a reset or end of stream,
    // not a timeout after PATIENCE).
    let result = ws.read();
    let timed_out = matches!(&result, Err(tungstenite::Error::Io(e))
        if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
    assert!(result.is_err() && !timed_out, "{result:?}");
}
