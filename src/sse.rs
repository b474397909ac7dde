//! Server-sent events: a `text/event-stream` response built from events, and a reader that
//! parses such a stream back into events (for tests and clients).
//!
//! An [`EventStream`] is an ordinary streamed [`Response`] body, so every server zeug has
//! (the development server, the test client, a proxy in front) serves it without knowing
//! about events. Fed by a channel ([`EventStream::from_receiver`]), it writes a keep-alive
//! comment whenever no event came for a while: a client that went away is noticed at the
//! next write, the stream ends and the thread serving it is free again, and proxies do not
//! close a quiet connection. This module does not keep any list of subscribers: fan-out is
//! the app's business (one channel per client).
//!
//! # Examples
//!
//! ```
//! use zeug::sse::{Event, EventStream, last_event_id};
//! use zeug::{Request, Response};
//!
//! fn progress(request: &Request) -> Response {
//!     let start = last_event_id(request).and_then(|id| id.parse::<u32>().ok()).map_or(0, |n| n + 1);
//!     EventStream::new((start..=3).map(|n| Event::new(format!("{n}/3")).with_id(n.to_string())))
//!         .into_response()
//! }
//!
//! let client = zeug::test::Client::new(|environ| progress(&Request::new(environ)));
//! let mut stream = client.get("/progress").header("last-event-id", "1").stream();
//! assert_eq!(stream.header("content-type"), Some("text/event-stream"));
//! let event = stream.next_event().unwrap();
//! assert_eq!((event.data(), event.id()), ("2/3", Some("2")));
//! assert_eq!(stream.next_event().unwrap().data(), "3/3");
//! assert!(stream.next_event().is_none());
//! ```

use std::fmt::Write as _;
use std::io::{self, BufRead};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};

use crate::{Body, Request, Response};

/// Default [`EventStream::keep_alive`]: a comment line after 15 s without an event (well
/// under the 60 s after which nginx and many load balancers close a quiet connection).
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Longest line [`EventReader`] accepts; a longer one is an `InvalidData` error (memory
/// stays bounded whatever the server sends).
pub const MAX_LINE: usize = 1024 * 1024;

/// Largest event (all its `data` lines) [`EventReader`] accepts.
pub const MAX_EVENT: usize = 8 * 1024 * 1024;

/// One server-sent event: `data` (any text, several lines included), and optionally an
/// `id`, an `event` type and a `retry` delay for the client's reconnection.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use zeug::sse::Event;
///
/// let event = Event::new("line one\nline two").with_event("update").with_id("7").with_retry(Duration::from_secs(3));
/// assert_eq!(
///     event.to_bytes(),
///     "id: 7\nevent: update\nretry: 3000\ndata: line one\ndata: line two\n\n"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    id: Option<String>,
    event: Option<String>,
    data: String,
    retry: Option<Duration>,
    comment: Option<String>,
}

impl Event {
    /// An event carrying `data` (`\n`, `\r\n` and `\r` separate its lines; the client joins
    /// them back with `\n`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zeug::sse::Event::new("hi").to_bytes(), "data: hi\n\n");
    /// ```
    pub fn new(data: impl Into<String>) -> Self {
        Event {
            data: data.into(),
            ..Event::default()
        }
    }

    /// An event whose data is `value` as JSON (one line).
    ///
    /// # Examples
    ///
    /// ```
    /// let e = zeug::sse::Event::json(&serde_json::json!({"n": 1}));
    /// assert_eq!(e.data(), r#"{"n":1}"#);
    /// ```
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Self {
        Event::new(serde_json::to_string(value).unwrap_or_else(|e| {
            // Serialising to a string fails only for maps with non-string keys and the like:
            // a programmer's mistake, reported in the stream rather than as a panic.
            format!("{{\"error\":\"cannot serialise the event: {e}\"}}")
        }))
    }

    /// A comment line (`: text`), which clients ignore: what keep-alives are made of.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zeug::sse::Event::comment("ping").to_bytes(), ": ping\n\n");
    /// ```
    pub fn comment(text: impl Into<String>) -> Self {
        Event {
            comment: Some(text.into()),
            ..Event::default()
        }
    }

    /// Sets the id, which the client sends back as `Last-Event-ID` when it reconnects.
    /// Line breaks cannot be part of a field and are removed, as is NUL (which makes
    /// browsers ignore the id).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zeug::sse::Event::new("x").with_id("4\n2").id(), Some("42"));
    /// ```
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(single_line(id.into(), true));
        self
    }

    /// Sets the event type (a browser's `EventSource` dispatches it to listeners of that
    /// name instead of `onmessage`). Line breaks are removed.
    pub fn with_event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(single_line(event.into(), false));
        self
    }

    /// Sets how long the client waits before reconnecting (whole milliseconds).
    pub fn with_retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }

    /// The event's data (lines joined with `\n`).
    pub fn data(&self) -> &str {
        &self.data
    }

    /// The id: the one set, or for a parsed event the last id the stream set (the
    /// browser's `lastEventId`).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The event type, if any (`message` when absent).
    pub fn event(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// The reconnection delay, if the event set one.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The event in the `text/event-stream` format, ending with the blank line.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = String::with_capacity(self.data.len() + 32);
        if let Some(comment) = &self.comment {
            for line in split_lines(comment) {
                out.push_str(": ");
                out.push_str(line);
                out.push('\n');
            }
        }
        if let Some(id) = &self.id {
            let _ = writeln!(out, "id: {id}");
        }
        if let Some(event) = &self.event {
            let _ = writeln!(out, "event: {event}");
        }
        if let Some(retry) = self.retry {
            let _ = writeln!(out, "retry: {}", retry.as_millis());
        }
        if self.comment.is_none() || !self.data.is_empty() {
            for line in split_lines(&self.data) {
                out.push_str("data: ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push('\n');
        Bytes::from(out)
    }
}

fn single_line(mut s: String, strip_nul: bool) -> String {
    s.retain(|c| c != '\n' && c != '\r' && !(strip_nul && c == '\0'));
    s
}

/// Lines of `s` split at `\r\n`, `\n` or `\r` (at least one, possibly empty).
fn split_lines(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\r', '\n']) {
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

/// The `Last-Event-ID` a reconnecting client sent: the id of the last event it received.
///
/// # Examples
///
/// ```
/// use zeug::{Request, test::EnvironBuilder};
/// let request = Request::new(EnvironBuilder::new("GET", "/").header("last-event-id", "41").build());
/// assert_eq!(zeug::sse::last_event_id(&request), Some("41"));
/// ```
pub fn last_event_id(request: &Request) -> Option<&str> {
    request
        .header("last-event-id")
        .map(str::trim)
        .filter(|id| !id.is_empty())
}

enum Source {
    Events(Box<dyn Iterator<Item = Event> + Send>),
    Channel(Receiver<Event>),
}

/// A `text/event-stream` response body: events from an iterator or a channel, with
/// keep-alive comments when a channel is quiet.
///
/// # Examples
///
/// ```
/// use std::sync::mpsc;
/// use std::time::Duration;
/// use zeug::sse::{Event, EventStream};
///
/// let (tx, rx) = mpsc::channel();
/// let response = EventStream::from_receiver(rx)
///     .keep_alive(Duration::from_secs(10))
///     .retry(Duration::from_secs(2))
///     .into_response();
/// assert_eq!(response.headers()["cache-control"], "no-cache");
/// // Elsewhere: `tx.send(Event::new("news"))`; an `Err` means the client went away.
/// # drop(tx);
/// ```
pub struct EventStream {
    source: Source,
    keep_alive: Option<Duration>,
    retry: Option<Duration>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("keep_alive", &self.keep_alive)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// A stream of the events `events` yields, ending when it ends.
    ///
    /// The iterator runs on the thread writing the response: while `next` blocks, nothing
    /// is written, so no keep-alive goes out and a departed client is noticed only at the
    /// next event. Iterators that wait for events should be channels
    /// ([`from_receiver`](Self::from_receiver)).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::sse::{Event, EventStream};
    /// let res = EventStream::new(vec![Event::new("a"), Event::new("b")]).into_response();
    /// let body = res.into_body().into_bytes().unwrap();
    /// assert_eq!(body, ": stream opened\n\ndata: a\n\ndata: b\n\n");
    /// ```
    pub fn new<I>(events: I) -> Self
    where
        I: IntoIterator<Item = Event>,
        I::IntoIter: Send + 'static,
    {
        EventStream {
            source: Source::Events(Box::new(events.into_iter())),
            keep_alive: Some(DEFAULT_KEEP_ALIVE),
            retry: None,
        }
    }

    /// A stream of the events received on `events`, ending when every sender is dropped.
    /// When none comes for the keep-alive interval, a comment is written: if the client has
    /// gone away, that write fails, the stream ends and the receiver is dropped, so the
    /// app's next `send` to it fails too.
    ///
    /// # Examples
    ///
    /// See [`EventStream`].
    pub fn from_receiver(events: Receiver<Event>) -> Self {
        EventStream {
            source: Source::Channel(events),
            keep_alive: Some(DEFAULT_KEEP_ALIVE),
            retry: None,
        }
    }

    /// How long a channel may be quiet before a keep-alive comment is written. Default
    /// [`DEFAULT_KEEP_ALIVE`].
    pub fn keep_alive(mut self, interval: Duration) -> Self {
        self.keep_alive = Some(interval.max(Duration::from_millis(1)));
        self
    }

    /// No keep-alive comments: a quiet channel is waited on for as long as it takes.
    pub fn without_keep_alive(mut self) -> Self {
        self.keep_alive = None;
        self
    }

    /// Tells the client, before the first event, how long to wait before reconnecting.
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }

    /// The response: `200`, `Content-Type: text/event-stream`, `Cache-Control: no-cache`,
    /// `X-Accel-Buffering: no` (nginx passes each event on at once) and the events as a
    /// streamed body. The head and a first comment go out at once, so the client's
    /// `EventSource` opens before the first event.
    pub fn into_response(self) -> Response {
        let mut response = Response::new(Body::from_iter(self.into_chunks()));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        response
    }

    fn into_chunks(self) -> impl Iterator<Item = Bytes> + Send + 'static {
        let opening = match self.retry {
            Some(retry) => {
                Bytes::from(format!(": stream opened\nretry: {}\n\n", retry.as_millis()))
            }
            None => Bytes::from_static(b": stream opened\n\n"),
        };
        let keep_alive = self.keep_alive;
        let mut source = self.source;
        std::iter::once(opening).chain(std::iter::from_fn(move || match &mut source {
            Source::Events(events) => events.next().map(|e| e.to_bytes()),
            Source::Channel(rx) => match keep_alive {
                None => rx.recv().ok().map(|e| e.to_bytes()),
                Some(interval) => match rx.recv_timeout(interval) {
                    Ok(e) => Some(e.to_bytes()),
                    Err(RecvTimeoutError::Timeout) => Some(Bytes::from_static(b":\n\n")),
                    Err(RecvTimeoutError::Disconnected) => None,
                },
            },
        }))
    }
}

/// Parses a `text/event-stream` into [`Event`]s, as a browser's `EventSource` does: `data`
/// lines joined with `\n`, the last `id` remembered across events, comments skipped, events
/// without data not dispatched. Lines end with `\n`, `\r\n` or `\r`.
///
/// # Examples
///
/// ```
/// use zeug::sse::EventReader;
///
/// let stream = ": hi\nid: 1\nevent: greet\ndata: a\ndata:b\n\nretry: 500\ndata: c\r\n\r\n";
/// let mut reader = EventReader::new(stream.as_bytes());
/// let first = reader.next_event().unwrap().unwrap();
/// assert_eq!((first.data(), first.id(), first.event()), ("a\nb", Some("1"), Some("greet")));
/// let second = reader.next_event().unwrap().unwrap();
/// assert_eq!((second.data(), second.id()), ("c", Some("1")));
/// assert_eq!(reader.retry(), Some(std::time::Duration::from_millis(500)));
/// assert_eq!(reader.comments(), 1);
/// assert!(reader.next_event().unwrap().is_none());
/// ```
#[derive(Debug)]
pub struct EventReader<R> {
    input: R,
    line: Vec<u8>,
    /// The previous line ended with `\r`: a `\n` first on the next one belongs to it.
    after_cr: bool,
    last_id: Option<String>,
    retry: Option<Duration>,
    comments: u64,
}

impl<R: BufRead> EventReader<R> {
    /// A reader of the stream `input`.
    pub fn new(input: R) -> Self {
        EventReader {
            input,
            line: Vec::new(),
            after_cr: false,
            last_id: None,
            retry: None,
            comments: 0,
        }
    }

    /// The last `id` the stream set (what a browser sends back as `Last-Event-ID`).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// The last `retry` the stream set.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// How many comment lines (keep-alives) were skipped so far.
    pub fn comments(&self) -> u64 {
        self.comments
    }

    /// Reads up to the next dispatched event; `None` at the end of the stream.
    pub fn next_event(&mut self) -> io::Result<Option<Event>> {
        let mut data = String::new();
        let mut has_data = false;
        let mut event_type: Option<String> = None;
        loop {
            let Some(line) = self.read_line()? else {
                // An event not ended by a blank line is dropped, as browsers do.
                return Ok(None);
            };
            if line.is_empty() {
                if has_data {
                    return Ok(Some(Event {
                        id: self.last_id.clone(),
                        event: event_type,
                        data,
                        retry: None,
                        comment: None,
                    }));
                }
                event_type = None;
                continue;
            }
            if line.starts_with(':') {
                self.comments += 1;
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line.as_str(), ""),
            };
            match field {
                "data" => {
                    if has_data {
                        data.push('\n');
                    }
                    data.push_str(value);
                    has_data = true;
                    if data.len() > MAX_EVENT {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "an event is larger than MAX_EVENT",
                        ));
                    }
                }
                "event" => event_type = Some(value.to_owned()),
                "id" if !value.contains('\0') => {
                    self.last_id = Some(value.to_owned()).filter(|v| !v.is_empty());
                }
                "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                    self.retry = value.parse().ok().map(Duration::from_millis);
                }
                _ => {}
            }
        }
    }

    /// One line without its ending; `None` at the end of the stream.
    fn read_line(&mut self) -> io::Result<Option<String>> {
        self.line.clear();
        loop {
            let buf = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                if self.line.is_empty() {
                    return Ok(None);
                }
                break;
            }
            if self.after_cr {
                self.after_cr = false;
                if buf[0] == b'\n' {
                    self.input.consume(1);
                    continue;
                }
            }
            match buf.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(i) => {
                    self.after_cr = buf[i] == b'\r';
                    self.line.extend_from_slice(&buf[..i]);
                    self.input.consume(i + 1);
                    if self.line.len() > MAX_LINE {
                        return Err(overlong());
                    }
                    break;
                }
                None => {
                    let n = buf.len();
                    self.line.extend_from_slice(buf);
                    self.input.consume(n);
                }
            }
            if self.line.len() > MAX_LINE {
                return Err(overlong());
            }
        }
        String::from_utf8(std::mem::take(&mut self.line))
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

fn overlong() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "a line of the event stream is longer than MAX_LINE",
    )
}

impl<R: BufRead> Iterator for EventReader<R> {
    type Item = io::Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(stream: &str) -> Vec<Event> {
        EventReader::new(stream.as_bytes())
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn multi_line_data_round_trips_whatever_the_line_ends() {
        for data in [
            "a\nb",
            "a\r\nb",
            "a\rb",
            "\nstarts empty",
            "ends empty\n",
            " spaced ",
        ] {
            let events = parse(std::str::from_utf8(&Event::new(data).to_bytes()).unwrap());
            let expected = data.replace("\r\n", "\n").replace('\r', "\n");
            assert_eq!(events.len(), 1, "{data:?}");
            assert_eq!(events[0].data(), expected, "{data:?}");
        }
    }

    #[test]
    fn fields_cannot_be_injected_through_id_or_event() {
        let bytes = Event::new("x")
            .with_id("1\ndata: injected")
            .with_event("a\rb")
            .to_bytes();
        let events = parse(std::str::from_utf8(&bytes).unwrap());
        assert_eq!(events[0].data(), "x");
        assert_eq!(events[0].event(), Some("ab"));
    }

    #[test]
    fn events_without_data_are_not_dispatched_but_ids_stick() {
        let events = parse("id: 5\n\ndata: a\n\nid\ndata: b\n\n");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].id(), Some("5"));
        assert_eq!(events[1].id(), None);
    }

    #[test]
    fn an_unfinished_event_is_dropped() {
        assert!(parse("data: partial").is_empty());
    }

    #[test]
    fn bad_retry_values_are_ignored() {
        let mut reader = EventReader::new("retry: 1s\ndata: x\n\n".as_bytes());
        reader.next_event().unwrap();
        assert_eq!(reader.retry(), None);
    }

    #[test]
    fn overlong_lines_are_errors() {
        let long = format!("data: {}\n\n", "x".repeat(MAX_LINE + 1));
        let result = EventReader::new(long.as_bytes()).next_event();
        assert!(
            matches!(&result, Err(e) if e.kind() == io::ErrorKind::InvalidData),
            "an overlong line was accepted"
        );
    }

    #[test]
    fn a_quiet_channel_gets_keep_alives_and_ends_with_its_senders() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut chunks = EventStream::from_receiver(rx)
            .keep_alive(Duration::from_millis(1))
            .into_chunks();
        assert_eq!(chunks.next().unwrap(), ": stream opened\n\n");
        assert_eq!(chunks.next().unwrap(), ":\n\n");
        tx.send(Event::new("e")).unwrap();
        assert_eq!(chunks.next().unwrap(), "data: e\n\n");
        drop(tx);
        assert!(chunks.next().is_none());
    }

    #[test]
    fn dropping_the_stream_tells_the_sender() {
        let (tx, rx) = std::sync::mpsc::channel();
        let response = EventStream::from_receiver(rx).into_response();
        drop(response);
        assert!(tx.send(Event::new("anyone?")).is_err());
    }
}
