//! Live responses in the test client: reading a streamed response (server-sent events) one
//! event at a time with [`RequestBuilder::stream`], and speaking WebSocket to a view with
//! [`Client::websocket`] (feature `websocket`), both in-process.
//!
//! A WebSocket view's upgrade function runs on a thread of its own against one end of an
//! in-memory connection ([`Upgraded::pair`]); the test holds a client-side [`WebSocket`] on
//! the other end. No socket is opened.

use std::io::{self, BufReader, Read};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::client::{RequestBuilder, RequestInfo};
use crate::body::ChunkStream;
use crate::sse::{Event, EventReader};

/// A response whose body is read as it comes: [`RequestBuilder::stream`]'s answer.
///
/// Events (`text/event-stream`) are read one at a time with
/// [`next_event`](Self::next_event) (or by iterating); other bodies through [`Read`].
/// Dropping it drops the body, as a client going away does: a stream fed by a channel
/// then ends and its sender's next `send` fails.
///
/// # Examples
///
/// ```
/// use zeug::sse::{Event, EventStream};
/// use zeug::test::Client;
///
/// let client = Client::new(|_| EventStream::new((1..=3).map(|n| Event::new(n.to_string()))).into_response());
/// let stream = client.get("/events").stream();
/// let data: Vec<String> = stream.map(|e| e.data().to_owned()).collect();
/// assert_eq!(data, ["1", "2", "3"]);
/// ```
pub struct TestStream {
    status: StatusCode,
    headers: HeaderMap,
    request: RequestInfo,
    reader: EventReader<BufReader<ChunkReader>>,
}

impl std::fmt::Debug for TestStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStream")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("url", &self.request.url)
            .finish_non_exhaustive()
    }
}

/// The body's chunks as a reader, pulled one at a time.
struct ChunkReader {
    chunks: ChunkStream,
    current: Bytes,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.next() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

impl RequestBuilder<'_> {
    /// Sends the request (without following redirects) and returns the response with its
    /// body unread, to read events or bytes as the app produces them.
    ///
    /// # Examples
    ///
    /// See [`TestStream`].
    pub fn stream(self) -> TestStream {
        let (response, request) = self.send_unread();
        let (status, headers, body) = response.into_parts();
        let body = if request.method == http::Method::HEAD {
            crate::Body::Empty
        } else {
            body
        };
        TestStream {
            status,
            headers,
            request,
            reader: EventReader::new(BufReader::new(ChunkReader {
                chunks: body.into_chunks(),
                current: Bytes::new(),
            })),
        }
    }
}

impl TestStream {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The request that produced this response.
    pub fn request(&self) -> &RequestInfo {
        &self.request
    }

    /// Waits for the next event; `None` when the stream ended. Panics, quoting the error,
    /// when the body is not a valid event stream or its producer failed.
    pub fn next_event(&mut self) -> Option<Event> {
        self.reader
            .next_event()
            .unwrap_or_else(|e| panic!("reading the event stream failed: {e}"))
    }

    /// The last `id` the stream set.
    pub fn last_event_id(&self) -> Option<&str> {
        self.reader.last_event_id()
    }

    /// How many comments (keep-alives) were skipped so far.
    pub fn comments(&self) -> u64 {
        self.reader.comments()
    }

    /// The last `retry` the stream set.
    pub fn retry(&self) -> Option<std::time::Duration> {
        self.reader.retry()
    }
}

impl Iterator for TestStream {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.next_event()
    }
}

#[cfg(feature = "websocket")]
pub use self::websocket::TestWebSocket;

#[cfg(feature = "websocket")]
mod websocket {
    use std::ops::{Deref, DerefMut};
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::thread::JoinHandle;

    use http::header::{
        CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
        SEC_WEBSOCKET_VERSION, UPGRADE,
    };
    use http::{HeaderMap, HeaderValue, StatusCode};

    use super::super::client::{Client, RequestBuilder, TestResponse};
    use crate::Body;
    use crate::upgrade::Upgraded;
    use crate::websocket::{CloseCode, WebSocket};

    /// The client side of a WebSocket opened in-process with [`Client::websocket`]: a
    /// [`WebSocket`] (it dereferences to one: `send`, `recv`, `close`, `sender`) whose
    /// server side is the view's handler, running on a thread of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::websocket::{Message, WebSocketUpgrade};
    /// use zeug::{test::Client, HttpException, Request, Response};
    ///
    /// let client = Client::new(|environ| {
    ///     let req = Request::new(environ);
    ///     match WebSocketUpgrade::from_request(&req) {
    ///         Ok(up) => up.protocols(&["shout"]).on_upgrade(|mut ws| {
    ///             while let Ok(msg) = ws.recv() {
    ///                 let loud = msg.to_text().unwrap_or_default().to_uppercase();
    ///                 if ws.send(loud).is_err() { break; }
    ///             }
    ///         }),
    ///         Err(e) => e.into_response(),
    ///     }
    /// });
    /// let mut ws = client.get("/ws").header("sec-websocket-protocol", "shout").websocket().unwrap();
    /// assert_eq!(ws.protocol(), Some("shout"));
    /// ws.send("hi").unwrap();
    /// assert_eq!(ws.recv().unwrap(), Message::text("HI"));
    /// ws.join().unwrap(); // closes, then waits for the handler to return
    /// ```
    pub struct TestWebSocket {
        ws: Option<WebSocket>,
        status: StatusCode,
        headers: HeaderMap,
        handler: Option<JoinHandle<std::thread::Result<()>>>,
    }

    impl std::fmt::Debug for TestWebSocket {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TestWebSocket")
                .field("ws", &self.ws)
                .field("headers", &self.headers)
                .finish_non_exhaustive()
        }
    }

    impl Client {
        /// Opens a WebSocket to `url` in-process: sends the handshake, checks the `101`
        /// answer and runs the view's handler against an in-memory connection. Panics,
        /// showing the response, when the view refuses the handshake; use
        /// [`RequestBuilder::websocket`] to add headers or to test refusals.
        ///
        /// # Examples
        ///
        /// See the [`websocket`](crate::websocket) module.
        pub fn websocket(&self, url: &str) -> TestWebSocket {
            self.get(url).websocket().unwrap_or_else(|res| {
                panic!(
                    "the WebSocket handshake to {url} was refused with {}: {}",
                    res.status(),
                    res.text()
                )
            })
        }
    }

    impl RequestBuilder<'_> {
        /// Sends this request as a WebSocket handshake (adding the `Upgrade`, `Connection`,
        /// `Sec-WebSocket-Version` and `Sec-WebSocket-Key` headers it does not have yet).
        /// `Ok` with the open socket on `101`; `Err` with the response when the view
        /// answered anything else. Panics when a `101` is not a valid WebSocket
        /// acceptance (wrong `Sec-WebSocket-Accept`, a subprotocol nobody asked for).
        ///
        /// # Examples
        ///
        /// See [`TestWebSocket`].
        #[allow(clippy::result_large_err)]
        pub fn websocket(self) -> Result<TestWebSocket, TestResponse> {
            let mut key = String::new();
            let mut requested = Vec::new();
            let builder = self.environ(|mut env| {
                let headers = &mut env.headers;
                let mut default = |name, value: &str| {
                    if !headers.contains_key(&name) {
                        headers.insert(name, HeaderValue::from_str(value).expect("ASCII"));
                    }
                };
                default(UPGRADE, "websocket");
                default(CONNECTION, "Upgrade");
                default(SEC_WEBSOCKET_VERSION, "13");
                default(
                    SEC_WEBSOCKET_KEY,
                    &tungstenite::handshake::client::generate_key(),
                );
                key = headers[SEC_WEBSOCKET_KEY].to_str().unwrap_or("").to_owned();
                requested = headers
                    .get_all(SEC_WEBSOCKET_PROTOCOL)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .map(|p| p.trim().to_owned())
                    .collect();
                env
            });
            let (response, request) = builder.send_unread();
            if response.status() != StatusCode::SWITCHING_PROTOCOLS
                || !matches!(response.body(), Body::Upgrade(_))
            {
                return Err(TestResponse::collect(response, request));
            }
            let (status, headers, body) = response.into_parts();
            let Body::Upgrade(upgrade) = body else {
                unreachable!("checked above");
            };
            let accept = headers
                .get(SEC_WEBSOCKET_ACCEPT)
                .and_then(|v| v.to_str().ok());
            let expected = tungstenite::handshake::derive_accept_key(key.as_bytes());
            assert_eq!(
                accept,
                Some(expected.as_str()),
                "the 101 answer's Sec-WebSocket-Accept does not match the key sent"
            );
            let protocol = headers
                .get(SEC_WEBSOCKET_PROTOCOL)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let Some(p) = &protocol {
                assert!(
                    requested.contains(p),
                    "the view picked the subprotocol {p:?}, which the client did not offer ({requested:?})"
                );
            }
            let (server, client) = Upgraded::pair();
            let handler = std::thread::Builder::new()
                .name("zeug-test-websocket".into())
                .spawn(move || catch_unwind(AssertUnwindSafe(|| upgrade.run(server))))
                .expect("a thread for the WebSocket handler");
            let ws = WebSocket::client(client, protocol)
                .expect("an in-memory connection takes timeouts");
            Ok(TestWebSocket {
                ws: Some(ws),
                status,
                headers,
                handler: Some(handler),
            })
        }
    }

    impl TestWebSocket {
        /// The `101` response's status.
        pub fn status(&self) -> StatusCode {
            self.status
        }

        /// A header of the `101` response.
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.get(name)?.to_str().ok()
        }

        /// Closes the connection from the client side (`1000`, unless the server closed it
        /// already) and waits for the view's handler to return: `Err` with the panic when
        /// it panicked (the client saw `1011` then).
        pub fn join(mut self) -> std::thread::Result<()> {
            if let Some(mut ws) = self.ws.take() {
                let _ = ws.close(CloseCode::Normal, "");
            }
            self.wait_for_handler()
        }

        /// Waits for the view's handler to return without closing the client side (what
        /// the server sent before is still there to [`recv`](WebSocket::recv)): `Err` with
        /// the panic when it panicked. Returns at once when it was waited for already.
        pub fn wait_for_handler(&mut self) -> std::thread::Result<()> {
            match self.handler.take() {
                Some(handler) => handler.join().and_then(|r| r),
                None => Ok(()),
            }
        }
    }

    impl Deref for TestWebSocket {
        type Target = WebSocket;

        fn deref(&self) -> &WebSocket {
            self.ws.as_ref().expect("the socket is open until join")
        }
    }

    impl DerefMut for TestWebSocket {
        fn deref_mut(&mut self) -> &mut WebSocket {
            self.ws.as_mut().expect("the socket is open until join")
        }
    }
}
