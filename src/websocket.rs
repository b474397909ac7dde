//! WebSockets from a view (feature `websocket`), on `tungstenite`: the handshake checks,
//! subprotocol negotiation, and a blocking [`WebSocket`] for the handler.
//!
//! A view checks the handshake with [`WebSocketUpgrade::from_request`] (a wrong one is a
//! `400` or `426` with a message saying what is wrong), may look at the `Origin` and pick
//! a subprotocol, and returns [`WebSocketUpgrade::on_upgrade`]'s `101` response carrying its
//! handler. The development server then runs the handler on a thread of its own; the test
//! client runs it against an in-memory connection (`client.websocket("/ws")`).
//!
//! This module owns the handshake and the message API. The framing, masking, ping/pong
//! replies and the close handshake are `tungstenite`'s; moving the connection out of the
//! server is `crate::upgrade`'s and the server's.
//!
//! # Examples
//!
//! ```
//! use zeug::websocket::{Message, WebSocketUpgrade};
//! use zeug::{HttpException, Request, Response};
//!
//! fn echo(request: &Request) -> Result<Response, HttpException> {
//!     let upgrade = WebSocketUpgrade::from_request(request)?;
//!     Ok(upgrade.on_upgrade(|mut ws| {
//!         while let Ok(message) = ws.recv() {
//!             if ws.send(message).is_err() {
//!                 break;
//!             }
//!         }
//!     }))
//! }
//!
//! let client = zeug::test::Client::new(|environ| {
//!     echo(&Request::new(environ)).unwrap_or_else(|e| e.into_response())
//! });
//! let mut ws = client.websocket("/ws");
//! ws.send("hello").unwrap();
//! assert_eq!(ws.recv().unwrap(), Message::text("hello"));
//! // A plain GET is told to upgrade.
//! assert_eq!(client.get("/ws").send().status(), 426);
//! ```

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http::header::{
    CONNECTION, CONTENT_LENGTH, HOST, ORIGIN, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, TRANSFER_ENCODING, UPGRADE,
};
use http::{HeaderMap, HeaderValue, Method, Version};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::{Role, WebSocketConfig};

use crate::upgrade::{Upgrade, Upgraded};
use crate::{Environ, HttpException, Request, Response};

pub use tungstenite;
pub use tungstenite::protocol::CloseFrame;
pub use tungstenite::protocol::frame::coding::CloseCode;
pub use tungstenite::{Error, Message};

/// Default [`WebSocketUpgrade::max_message_size`]: 1 MiB. A bigger message closes the
/// connection with `1009 Message Too Big`.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1024 * 1024;

/// Default [`WebSocketUpgrade::max_frame_size`]: 1 MiB.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 1024 * 1024;

/// Default [`WebSocketUpgrade::ping_interval`]: after 20 s without hearing from the client,
/// the server sends a ping (which a live client answers).
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(20);

/// Default [`WebSocketUpgrade::read_timeout`]: after 60 s without a message, ping or pong
/// from the client, [`WebSocket::recv`] gives up and the connection is closed with
/// `1001 Going Away`.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Default [`WebSocketUpgrade::write_timeout`]: a send that cannot progress for 30 s fails.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The only WebSocket version (RFC 6455).
const VERSION: &str = "13";

/// Bytes read from the connection at a time: small, so that a thousand idle sockets cost
/// little memory (`tungstenite` allocates its read buffer up front).
const READ_BUFFER_SIZE: usize = 4 * 1024;

/// Limits and timeouts of one WebSocket connection.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_message_size: usize,
    max_frame_size: usize,
    ping_interval: Duration,
    read_timeout: Duration,
    write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            ping_interval: DEFAULT_PING_INTERVAL,
            read_timeout: DEFAULT_READ_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
        }
    }
}

impl Limits {
    fn tungstenite(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_SIZE)
            // Every message goes out when it is sent (the writes are whole frames).
            .write_buffer_size(0)
            .max_write_buffer_size(self.max_message_size.saturating_mul(2).max(64 * 1024))
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_frame_size))
    }
}

/// A checked WebSocket handshake request, before the view accepts it.
///
/// # Examples
///
/// ```
/// use zeug::websocket::WebSocketUpgrade;
/// use zeug::test::EnvironBuilder;
///
/// let environ = EnvironBuilder::new("GET", "/ws")
///     .header("connection", "Upgrade")
///     .header("upgrade", "websocket")
///     .header("sec-websocket-version", "13")
///     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
///     .header("sec-websocket-protocol", "chat.v2, chat.v1")
///     .header("origin", "http://localhost")
///     .build();
/// let upgrade = WebSocketUpgrade::from_environ(&environ).unwrap().protocols(&["chat.v1"]);
/// assert_eq!(upgrade.protocol(), Some("chat.v1"));
/// assert!(upgrade.is_same_origin());
/// let res = upgrade.on_upgrade(|_ws| {});
/// assert_eq!(res.status(), 101);
/// assert_eq!(res.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
#[derive(Debug, Clone)]
pub struct WebSocketUpgrade {
    key: String,
    requested: Vec<String>,
    protocol: Option<String>,
    origin: Option<String>,
    /// `scheme://host` of the request, to compare with `Origin`.
    own_origin: String,
    limits: Limits,
}

impl WebSocketUpgrade {
    /// Checks the handshake headers of `request`.
    ///
    /// A request that is not a WebSocket handshake at all (no `Upgrade: websocket`) or asks
    /// for another version than 13 gets `426 Upgrade Required` naming what to send; a
    /// broken handshake (not `GET`, not HTTP/1.1, no `Connection: upgrade`, a missing or
    /// malformed `Sec-WebSocket-Key`, a request body) gets `400` saying which part is wrong.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::websocket::WebSocketUpgrade;
    /// use zeug::{Request, test::EnvironBuilder};
    ///
    /// let plain = Request::new(EnvironBuilder::new("GET", "/ws").build());
    /// let err = WebSocketUpgrade::from_request(&plain).unwrap_err();
    /// assert_eq!(err.status(), 426);
    /// assert_eq!(err.headers()["upgrade"], "websocket");
    /// ```
    pub fn from_request(request: &Request) -> Result<Self, HttpException> {
        Self::from_environ(request.environ())
    }

    /// [`from_request`](Self::from_request) on the bare environ.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::websocket::WebSocketUpgrade;
    /// let environ = zeug::test::EnvironBuilder::new("POST", "/ws").build();
    /// assert!(WebSocketUpgrade::from_environ(&environ).is_err());
    /// ```
    pub fn from_environ(environ: &Environ) -> Result<Self, HttpException> {
        let headers = &environ.headers;
        if !has_token(headers, UPGRADE, "websocket") {
            return Err(upgrade_required(
                "This resource speaks the WebSocket protocol: send `Upgrade: websocket` and \
                 `Connection: Upgrade`.",
            ));
        }
        if environ.method != Method::GET {
            return Err(bad_request(format!(
                "A WebSocket handshake must be a GET request, not {}.",
                environ.method
            )));
        }
        if environ.version != Version::HTTP_11 {
            return Err(bad_request(format!(
                "A WebSocket handshake needs HTTP/1.1, not {:?}.",
                environ.version
            )));
        }
        if !has_token(headers, CONNECTION, "upgrade") {
            return Err(bad_request(
                "A WebSocket handshake must send `Connection: Upgrade`.",
            ));
        }
        let version = headers
            .get(SEC_WEBSOCKET_VERSION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        if version != Some(VERSION) {
            return Err(upgrade_required(
                "This server speaks WebSocket version 13 only (`Sec-WebSocket-Version: 13`).",
            )
            .with_header("sec-websocket-version", VERSION));
        }
        let key = headers
            .get(SEC_WEBSOCKET_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| is_valid_key(k))
            .ok_or_else(|| {
                bad_request(
                    "A WebSocket handshake needs a `Sec-WebSocket-Key` of 16 bytes in base64.",
                )
            })?
            .to_owned();
        let has_body = headers.contains_key(TRANSFER_ENCODING)
            || headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim() != "0");
        if has_body {
            return Err(bad_request("A WebSocket handshake cannot carry a body."));
        }
        let requested = headers
            .get_all(SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        let origin = headers
            .get(ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let host = headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .map_or_else(|| environ.host(), str::to_owned);
        Ok(WebSocketUpgrade {
            key,
            requested,
            protocol: None,
            origin,
            own_origin: format!(
                "{}://{}",
                environ.url_scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            ),
            limits: Limits::default(),
        })
    }

    /// The `Origin` header the client sent (browsers always send one), for the view to
    /// check: a page on another site may open a WebSocket to yours with the user's cookies.
    ///
    /// # Examples
    ///
    /// ```
    /// # let environ = zeug::test::EnvironBuilder::new("GET", "/ws").header("connection", "upgrade")
    /// #     .header("upgrade", "websocket").header("sec-websocket-version", "13")
    /// #     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==").header("origin", "https://evil.example").build();
    /// let upgrade = zeug::websocket::WebSocketUpgrade::from_environ(&environ).unwrap();
    /// assert_eq!(upgrade.origin(), Some("https://evil.example"));
    /// assert!(!upgrade.is_same_origin());
    /// ```
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// Whether `Origin` is this request's own `scheme://host[:port]` (false without one).
    /// Behind a proxy, apply `ProxyFix` first so scheme and host are the public ones.
    ///
    /// # Examples
    ///
    /// See [`origin`](Self::origin).
    pub fn is_same_origin(&self) -> bool {
        self.origin.as_deref().is_some_and(|o| {
            let o = o.trim().to_ascii_lowercase();
            o == self.own_origin
                || o.strip_suffix(":80")
                    .is_some_and(|o| o == self.own_origin && o.starts_with("http:"))
                || o.strip_suffix(":443")
                    .is_some_and(|o| o == self.own_origin && o.starts_with("https:"))
        })
    }

    /// The subprotocols the client asked for, in its order of preference.
    ///
    /// # Examples
    ///
    /// See [`WebSocketUpgrade`].
    pub fn requested_protocols(&self) -> &[String] {
        &self.requested
    }

    /// Picks the subprotocol: the first of `supported` (the server's order of preference)
    /// that the client asked for; none when they share none (the client then decides
    /// whether to go on without one).
    ///
    /// # Examples
    ///
    /// See [`WebSocketUpgrade`].
    pub fn protocols(mut self, supported: &[&str]) -> Self {
        self.protocol = supported
            .iter()
            .find(|s| self.requested.iter().any(|r| r == *s))
            .map(|s| (*s).to_owned());
        self
    }

    /// The subprotocol picked by [`protocols`](Self::protocols), if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Largest message accepted from the client; a bigger one closes the connection with
    /// `1009`. Default [`DEFAULT_MAX_MESSAGE_SIZE`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let environ = zeug::test::EnvironBuilder::new("GET", "/ws").header("connection", "upgrade")
    /// #     .header("upgrade", "websocket").header("sec-websocket-version", "13")
    /// #     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==").build();
    /// use std::time::Duration;
    /// let upgrade = zeug::websocket::WebSocketUpgrade::from_environ(&environ)
    ///     .unwrap()
    ///     .max_message_size(64 * 1024)
    ///     .max_frame_size(16 * 1024)
    ///     .ping_interval(Duration::from_secs(10))
    ///     .read_timeout(Duration::from_secs(30))
    ///     .write_timeout(Duration::from_secs(5));
    /// ```
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.limits.max_message_size = bytes;
        self
    }

    /// Largest frame accepted from the client. Default [`DEFAULT_MAX_FRAME_SIZE`].
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.limits.max_frame_size = bytes;
        self
    }

    /// How long the connection may be silent before the server pings the client.
    /// Default [`DEFAULT_PING_INTERVAL`].
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.limits.ping_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// How long the client may send nothing at all (no message, no pong) before
    /// [`WebSocket::recv`] fails and the connection is closed. Default
    /// [`DEFAULT_READ_TIMEOUT`].
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a send may wait for the client to read. Default [`DEFAULT_WRITE_TIMEOUT`].
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.limits.write_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Accepts the handshake: the `101 Switching Protocols` response (with
    /// `Sec-WebSocket-Accept` and the picked subprotocol) whose body runs `handler` on the
    /// connection once the server has sent it.
    ///
    /// When `handler` panics, the connection is closed with `1011 Internal Error` and the
    /// panic is logged by the server (the test client passes it on).
    ///
    /// # Examples
    ///
    /// See [`WebSocketUpgrade`].
    pub fn on_upgrade(self, handler: impl FnOnce(WebSocket) + Send + 'static) -> Response {
        let accept = tungstenite::handshake::derive_accept_key(self.key.as_bytes());
        let protocol_header = self
            .protocol
            .as_deref()
            .and_then(|p| HeaderValue::from_str(p).ok());
        let protocol = self.protocol;
        let limits = self.limits;
        let mut response =
            Upgrade::new(
                move |conn| match WebSocket::new(conn, Role::Server, limits, protocol) {
                    Ok(ws) => handler(ws),
                    Err(e) => log::error!(
                        target: "zeug",
                        "cannot set up an upgraded WebSocket connection: {e}"
                    ),
                },
            )
            .into_response("websocket");
        let headers = response.headers_mut();
        headers.insert(
            SEC_WEBSOCKET_ACCEPT,
            HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
        );
        if let Some(p) = protocol_header {
            headers.insert(SEC_WEBSOCKET_PROTOCOL, p);
        }
        response
    }
}

fn has_token(headers: &HeaderMap, name: http::header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn is_valid_key(key: &str) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .is_ok_and(|k| k.len() == 16)
}

fn bad_request(message: impl Into<std::borrow::Cow<'static, str>>) -> HttpException {
    HttpException::bad_request().with_description(message)
}

fn upgrade_required(message: &'static str) -> HttpException {
    HttpException::new(http::StatusCode::UPGRADE_REQUIRED)
        .with_description(message)
        .with_header("upgrade", "websocket")
        .with_header("connection", "Upgrade")
}

/// The writing side, shared by the socket and its [`Sender`]s: every write is a whole
/// buffer of whole frames, written under the lock, so frames from several threads never
/// interleave.
#[derive(Clone)]
struct SharedWriter(Arc<Mutex<Upgraded>>);

impl SharedWriter {
    fn lock(&self) -> MutexGuard<'_, Upgraded> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The stream `tungstenite` sees: reads from one handle, writes through the shared one.
struct Duplex {
    reader: Upgraded,
    writer: SharedWriter,
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut writer = self.writer.lock();
        writer.write_all(buf)?;
        writer.flush()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.lock().flush()
    }
}

/// One WebSocket connection, as its handler sees it: blocking [`recv`](Self::recv) and
/// [`send`](Self::send), pings while the peer is quiet, and a close handshake when it is
/// dropped (`1000`, or `1011` when the handler panicked).
///
/// # Examples
///
/// ```
/// use zeug::websocket::{CloseCode, Message, WebSocketUpgrade};
/// # let environ = zeug::test::EnvironBuilder::new("GET", "/ws").header("connection", "upgrade")
/// #     .header("upgrade", "websocket").header("sec-websocket-version", "13")
/// #     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==").build();
///
/// let response = WebSocketUpgrade::from_environ(&environ).unwrap().on_upgrade(|mut ws| {
///     let name = ws.recv().unwrap();
///     ws.send(format!("hello {}", name.to_text().unwrap())).unwrap();
///     ws.close(CloseCode::Normal, "bye").unwrap();
/// });
/// # drop(response);
/// ```
pub struct WebSocket {
    socket: tungstenite::WebSocket<Duplex>,
    writer: SharedWriter,
    role: Role,
    protocol: Option<String>,
    limits: Limits,
    /// Set once a close frame went out or came in: senders stop then.
    closed: Arc<AtomicBool>,
    close_frame: Option<CloseFrame>,
    /// The peer's close frame arrived.
    peer_closed: bool,
    last_heard: Instant,
    pinged: bool,
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.role)
            .field("protocol", &self.protocol)
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl WebSocket {
    fn new(
        conn: Upgraded,
        role: Role,
        limits: Limits,
        protocol: Option<String>,
    ) -> io::Result<Self> {
        conn.set_read_timeout(Some(limits.ping_interval.min(limits.read_timeout)))?;
        conn.set_write_timeout(Some(limits.write_timeout))?;
        let writer = SharedWriter(Arc::new(Mutex::new(conn.try_clone()?)));
        let duplex = Duplex {
            reader: conn,
            writer: writer.clone(),
        };
        Ok(WebSocket {
            socket: tungstenite::WebSocket::from_raw_socket(
                duplex,
                role,
                Some(limits.tungstenite()),
            ),
            writer,
            role,
            protocol,
            limits,
            closed: Arc::new(AtomicBool::new(false)),
            close_frame: None,
            peer_closed: false,
            last_heard: Instant::now(),
            pinged: false,
        })
    }

    /// The client side of an in-memory connection (the test client's).
    pub(crate) fn client(conn: Upgraded, protocol: Option<String>) -> io::Result<Self> {
        let limits = Limits {
            max_message_size: usize::MAX / 4,
            max_frame_size: usize::MAX / 4,
            ..Limits::default()
        };
        Self::new(conn, Role::Client, limits, protocol)
    }

    /// Waits for the next text or binary message (pings are answered and pongs noted on the
    /// way).
    ///
    /// Fails with [`Error::ConnectionClosed`] once the peer closed the connection (its code
    /// and reason are in [`close_frame`](Self::close_frame)), with a capacity or protocol
    /// error for an oversized or malformed message (the connection is closed with `1009`
    /// or `1002`), and with an I/O `TimedOut` error when the peer sent nothing, not even a
    /// pong to the server's ping, for the read timeout (the connection is closed with
    /// `1001`).
    ///
    /// # Examples
    ///
    /// See [`WebSocket`].
    pub fn recv(&mut self) -> Result<Message, Error> {
        loop {
            match self.socket.read() {
                Ok(Message::Text(t)) => {
                    self.heard();
                    return Ok(Message::Text(t));
                }
                Ok(Message::Binary(b)) => {
                    self.heard();
                    return Ok(Message::Binary(b));
                }
                Ok(Message::Close(frame)) => {
                    self.closed.store(true, Ordering::SeqCst);
                    self.peer_closed = true;
                    self.close_frame = frame;
                    // `tungstenite` queued the reply; the next read sends it and ends.
                }
                // The peer closed and went away before our answer reached it: the
                // connection ended as the peer wanted.
                Err(Error::Io(_)) if self.peer_closed => return Err(Error::ConnectionClosed),
                Ok(_) => self.heard(),
                Err(Error::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    self.on_quiet()?;
                }
                Err(e) => {
                    self.closed.store(true, Ordering::SeqCst);
                    self.fail(&e);
                    return Err(e);
                }
            }
        }
    }

    fn heard(&mut self) {
        self.last_heard = Instant::now();
        self.pinged = false;
    }

    /// The read timed out: ping once, and give up when the peer stays silent.
    fn on_quiet(&mut self) -> Result<(), Error> {
        let silent = self.last_heard.elapsed();
        if silent >= self.limits.read_timeout {
            let reason = format!("nothing received for {} s", silent.as_secs());
            let _ = self.close(CloseCode::Away, &reason);
            return Err(Error::Io(io::Error::new(io::ErrorKind::TimedOut, reason)));
        }
        if !self.pinged && silent >= self.limits.ping_interval {
            self.pinged = true;
            self.socket.send(Message::Ping(Default::default()))?;
        }
        Ok(())
    }

    /// After a read error: tells the peer why, when the connection can still carry it.
    fn fail(&mut self, error: &Error) {
        let code = match error {
            Error::Capacity(_) => CloseCode::Size,
            Error::Protocol(_) => CloseCode::Protocol,
            Error::Utf8(_) => CloseCode::Invalid,
            _ => return,
        };
        if self.socket.can_write() {
            let frame = CloseFrame {
                code,
                reason: error
                    .to_string()
                    .chars()
                    .take(100)
                    .collect::<String>()
                    .into(),
            };
            let _ = self.socket.close(Some(frame));
            let _ = self.socket.flush();
        }
        let _ = self.writer.lock().shutdown();
    }

    /// Sends a text (`&str`, `String`) or binary (`Vec<u8>`, `Bytes`) message, or any
    /// [`Message`].
    ///
    /// # Examples
    ///
    /// See [`WebSocket`].
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.socket.send(message.into())
    }

    /// Starts the close handshake with `code` and `reason` and waits (up to the read
    /// timeout) for the peer's answer.
    ///
    /// # Examples
    ///
    /// See [`WebSocket`].
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.closed.store(true, Ordering::SeqCst);
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        match self.socket.close(Some(frame)) {
            Ok(()) => {}
            Err(Error::ConnectionClosed | Error::AlreadyClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
        let deadline = Instant::now() + self.limits.read_timeout;
        loop {
            match self.socket.read() {
                Ok(_) => {}
                Err(Error::ConnectionClosed | Error::AlreadyClosed) => return Ok(()),
                Err(Error::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) && Instant::now() < deadline => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The code and reason the peer closed with, once [`recv`](Self::recv) saw it.
    pub fn close_frame(&self) -> Option<&CloseFrame> {
        self.close_frame.as_ref()
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// A handle that sends messages on this connection from other threads (a chat room
    /// broadcasting to everyone) while this one waits in [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # let environ = zeug::test::EnvironBuilder::new("GET", "/ws").header("connection", "upgrade")
    /// #     .header("upgrade", "websocket").header("sec-websocket-version", "13")
    /// #     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==").build();
    /// let res = zeug::websocket::WebSocketUpgrade::from_environ(&environ).unwrap().on_upgrade(|mut ws| {
    ///     let sender = ws.sender();
    ///     std::thread::spawn(move || sender.send("tick"));
    ///     while ws.recv().is_ok() {}
    /// });
    /// # drop(res);
    /// ```
    pub fn sender(&self) -> Sender {
        Sender {
            writer: self.writer.clone(),
            role: self.role,
            closed: Arc::clone(&self.closed),
        }
    }
}

impl Drop for WebSocket {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::SeqCst);
        if self.socket.can_write() {
            let frame = if std::thread::panicking() {
                CloseFrame {
                    code: CloseCode::Error,
                    reason: "internal error".into(),
                }
            } else {
                CloseFrame {
                    code: CloseCode::Normal,
                    reason: "".into(),
                }
            };
            let _ = self.socket.close(Some(frame));
            let _ = self.socket.flush();
        }
        let _ = self.writer.lock().shutdown();
    }
}

/// Sends messages on a [`WebSocket`] from any thread. Cloneable; sending fails once the
/// connection is closing or closed.
///
/// # Examples
///
/// See [`WebSocket::sender`].
#[derive(Clone)]
pub struct Sender {
    writer: SharedWriter,
    role: Role,
    closed: Arc<AtomicBool>,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// Sends a text or binary message (other kinds are refused: pings, pongs and closes
    /// belong to the connection's own thread).
    pub fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::AlreadyClosed);
        }
        let (payload, data) = match message.into() {
            Message::Text(t) => (tungstenite::Bytes::from(t), Data::Text),
            Message::Binary(b) => (b, Data::Binary),
            _ => {
                return Err(Error::Io(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a Sender sends text and binary messages only",
                )));
            }
        };
        let mut frame = Frame::message(payload, OpCode::Data(data), true);
        if self.role == Role::Client {
            let mut mask = [0u8; 4];
            getrandom::getrandom(&mut mask)
                .map_err(|e| Error::Io(io::Error::other(e.to_string())))?;
            frame.header_mut().mask = Some(mask);
        }
        let mut bytes = Vec::with_capacity(frame.len());
        frame.format(&mut bytes)?;
        let mut writer = self.writer.lock();
        writer.write_all(&bytes)?;
        writer.flush()?;
        Ok(())
    }

    /// Whether the connection is closing or closed (sends fail then).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake() -> crate::test::EnvironBuilder {
        handshake_with("GET")
    }

    fn handshake_with(method: &str) -> crate::test::EnvironBuilder {
        crate::test::EnvironBuilder::new(method, "/ws")
            .header("connection", "keep-alive, Upgrade")
            .header("upgrade", "WebSocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    }

    /// The handshake with one header replaced.
    fn with(name: &'static str, value: &'static str) -> crate::test::EnvironBuilder {
        let mut env = handshake();
        env.headers_mut()
            .insert(name, HeaderValue::from_static(value));
        env
    }

    fn refusal(env: crate::test::EnvironBuilder) -> HttpException {
        WebSocketUpgrade::from_environ(&env.build()).unwrap_err()
    }

    #[test]
    fn tokens_are_matched_in_lists_and_without_case() {
        assert!(WebSocketUpgrade::from_environ(&handshake().build()).is_ok());
    }

    #[test]
    fn broken_handshakes_say_what_is_wrong() {
        let e = refusal(with("sec-websocket-version", "8"));
        assert_eq!(e.status(), 426);
        assert_eq!(e.headers()["sec-websocket-version"], "13");
        let e = refusal(with("sec-websocket-key", "c2hvcnQ="));
        assert_eq!(e.status(), 400);
        assert!(e.description().contains("Sec-WebSocket-Key"));
        let e = refusal(with("connection", "keep-alive"));
        assert_eq!(e.status(), 400);
        assert!(e.description().contains("Connection"));
        let e = refusal(handshake_with("POST"));
        assert_eq!(e.status(), 400);
        assert!(e.description().contains("GET"));
        let e = refusal(handshake().header("content-length", "5"));
        assert!(e.description().contains("body"));
    }

    #[test]
    fn the_servers_preference_picks_the_subprotocol() {
        let env = handshake().header("sec-websocket-protocol", "b, a").build();
        let up = WebSocketUpgrade::from_environ(&env).unwrap();
        assert_eq!(up.requested_protocols(), ["b", "a"]);
        assert_eq!(up.clone().protocols(&["a", "b"]).protocol(), Some("a"));
        assert_eq!(up.clone().protocols(&["c"]).protocol(), None);
        let res = up.protocols(&["b"]).on_upgrade(|_| {});
        assert_eq!(res.headers()["sec-websocket-protocol"], "b");
    }

    #[test]
    fn same_origin_allows_default_ports() {
        let env = handshake()
            .header("host", "example.com")
            .header("origin", "http://example.com:80")
            .build();
        assert!(
            WebSocketUpgrade::from_environ(&env)
                .unwrap()
                .is_same_origin()
        );
        let env = handshake()
            .header("host", "example.com")
            .header("origin", "http://example.com.evil")
            .build();
        assert!(
            !WebSocketUpgrade::from_environ(&env)
                .unwrap()
                .is_same_origin()
        );
    }
}
