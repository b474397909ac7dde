//! [`Lint`]: checks an application and its responses against the interface and HTTP.
//!
//! This module owns the checks and how they are reported (the `log` target `zeug::lint`,
//! and [`LintWarnings`] for tests). It never changes a request or a response: a linted
//! application behaves exactly as the unlinted one.

use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use http::{HeaderMap, Method, StatusCode};

use crate::body::ChunkStream;
use crate::{Application, Body, Environ, Response};

/// The `log` target lint warnings are logged under.
pub const LINT_LOG_TARGET: &str = "zeug::lint";

/// Headers that describe one connection, not the message; an application must not set
/// them (PEP 3333, RFC 9110 §7.6.1): the server manages the connection.
pub const HOP_BY_HOP_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// What a [`LintWarning`] is about.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LintKind {
    /// The environ handed to the application breaks the interface (e.g. a `path_info`
    /// not starting with `/`, a `script_name` ending with one, an unknown URL scheme).
    Environ,
    /// A status outside 200–599 as the final answer.
    Status,
    /// A header value with control characters, non-ASCII bytes or surrounding whitespace.
    HeaderValue,
    /// A header the application must leave to the server (`Connection`,
    /// `Transfer-Encoding`…).
    HopByHop,
    /// `Content-Length` missing, malformed, repeated or not matching the body.
    ContentLength,
    /// A body on a response that cannot have one (1xx, 204, 205, 304).
    BodyNotAllowed,
    /// A body on the answer to a HEAD request (the server discards it: wasted work).
    BodyOnHead,
    /// A body without a `Content-Type`.
    MissingContentType,
    /// An `ETag` that is not a quoted string (`"abc"` or `W/"abc"`).
    ETag,
    /// The body stream failed while it was being read.
    BodyError,
}

/// One problem [`Lint`] found.
///
/// # Examples
///
/// ```
/// use zeug::middleware::{LintKind, LintWarning};
///
/// let w = LintWarning::new(LintKind::Status, "status 99");
/// assert_eq!(w.to_string(), "Status: status 99");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintWarning {
    /// What it is about.
    pub kind: LintKind,
    /// A sentence saying what is wrong, naming the request.
    pub message: String,
}

impl LintWarning {
    /// A warning of `kind` with `message`.
    pub fn new(kind: LintKind, message: impl Into<String>) -> Self {
        LintWarning {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for LintWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

/// A shared list [`Lint`] appends its warnings to, for tests.
///
/// Warnings about a streamed body arrive while the body is read, so read the list after
/// the response has been consumed (the test client's `send()` does that).
///
/// # Examples
///
/// ```
/// use zeug::middleware::{Lint, LintKind, LintWarnings};
/// use zeug::{test::Client, Environ, Response};
///
/// let warnings = LintWarnings::new();
/// let app = Lint::new(|_: Environ| Response::new("").with_status(204).with_header("content-length", "3"))
///     .collect_into(warnings.clone());
/// Client::new(app).get("/").send();
/// assert!(warnings.kinds().contains(&LintKind::ContentLength));
/// ```
#[derive(Debug, Clone, Default)]
pub struct LintWarnings {
    inner: Arc<Mutex<Vec<LintWarning>>>,
}

impl LintWarnings {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the warnings so far.
    pub fn all(&self) -> Vec<LintWarning> {
        self.lock().clone()
    }

    /// Takes the warnings so far, leaving the list empty.
    pub fn take(&self) -> Vec<LintWarning> {
        std::mem::take(&mut *self.lock())
    }

    /// The kinds of the warnings so far, in order.
    pub fn kinds(&self) -> Vec<LintKind> {
        self.lock().iter().map(|w| w.kind).collect()
    }

    /// Whether no warning was reported.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn push(&self, warning: LintWarning) {
        self.lock().push(warning);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<LintWarning>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where warnings go: the log, and optionally a collector.
#[derive(Clone)]
struct Reporter {
    collector: Option<LintWarnings>,
    request: Arc<str>,
}

impl Reporter {
    fn warn(&self, kind: LintKind, message: impl fmt::Display) {
        let warning = LintWarning::new(kind, format!("{} ({})", message, self.request));
        log::warn!(target: LINT_LOG_TARGET, "{warning}");
        if let Some(c) = &self.collector {
            c.push(warning);
        }
    }
}

/// Checks the environ an application receives and every response it returns against the
/// gateway interface and HTTP, and reports problems as warnings: the tool to run a
/// middleware or an app under in tests (Werkzeug's `LintMiddleware`).
///
/// Checked: the environ (`path_info` and `script_name` shapes, URL scheme, server name);
/// the status (a final status in 200–599); header values (no control characters,
/// non-ASCII bytes or surrounding whitespace); hop-by-hop headers (`Connection`,
/// `Transfer-Encoding`…, the server's business); `Content-Length` (well-formed, single,
/// and equal to the bytes of the body, counted as a streamed body is read); bodies on 1xx,
/// 204, 205 and 304 answers and on answers to HEAD; a `Content-Type` for every body; `ETag`
/// syntax. Warnings are logged through `log` with the target [`LINT_LOG_TARGET`] and,
/// with [`collect_into`](Self::collect_into), added to a [`LintWarnings`] list.
///
/// The response passes through unchanged (streamed bodies are wrapped to be counted).
///
/// # Examples
///
/// ```
/// use zeug::middleware::{Lint, LintKind, LintWarnings};
/// use zeug::{test::Client, Environ, Response};
///
/// let warnings = LintWarnings::new();
/// let app = Lint::new(|_: Environ| Response::new("hello").with_header("connection", "close"))
///     .collect_into(warnings.clone());
/// let res = Client::new(app).get("/").send();
/// assert_eq!(res.text(), "hello");
/// assert_eq!(warnings.kinds(), vec![LintKind::HopByHop]);
/// ```
pub struct Lint<A> {
    app: A,
    collector: Option<LintWarnings>,
}

impl<A: Application> Lint<A> {
    /// Wraps `app`, logging warnings under [`LINT_LOG_TARGET`].
    pub fn new(app: A) -> Self {
        Lint {
            app,
            collector: None,
        }
    }

    /// Also appends every warning to `warnings`.
    pub fn collect_into(mut self, warnings: LintWarnings) -> Self {
        self.collector = Some(warnings);
        self
    }
}

impl<A: Application> Application for Lint<A> {
    fn call(&self, environ: Environ) -> Response {
        let reporter = Reporter {
            collector: self.collector.clone(),
            request: format!(
                "{} {}{}",
                environ.method, environ.script_name, environ.path_info
            )
            .into(),
        };
        check_environ(&environ, &reporter);
        let is_head = environ.method == Method::HEAD;
        let response = self.app.call(environ);
        check_response(response, is_head, &reporter)
    }
}

fn check_environ(env: &Environ, r: &Reporter) {
    if !env.path_info.is_empty() && !env.path_info.starts_with('/') {
        r.warn(
            LintKind::Environ,
            format_args!(
                "path_info {:?} must be empty or start with '/'",
                env.path_info
            ),
        );
    }
    if env.script_name.ends_with('/') {
        r.warn(
            LintKind::Environ,
            format_args!("script_name {:?} must not end with '/'", env.script_name),
        );
    }
    if !env.script_name.is_empty() && !env.script_name.starts_with('/') {
        r.warn(
            LintKind::Environ,
            format_args!(
                "script_name {:?} must be empty or start with '/'",
                env.script_name
            ),
        );
    }
    if env.script_name.is_empty() && env.path_info.is_empty() {
        r.warn(
            LintKind::Environ,
            "script_name and path_info are both empty; path_info should be '/'",
        );
    }
    if env.url_scheme != "http" && env.url_scheme != "https" {
        r.warn(
            LintKind::Environ,
            format_args!("url_scheme {:?} is neither http nor https", env.url_scheme),
        );
    }
    if env.server_name.is_empty() {
        r.warn(LintKind::Environ, "server_name is empty");
    }
    if env.query_string.contains(['#', ' ']) {
        r.warn(
            LintKind::Environ,
            format_args!("query_string {:?} holds '#' or a space", env.query_string),
        );
    }
}

fn check_response(response: Response, is_head: bool, r: &Reporter) -> Response {
    let (status, headers, body) = response.into_parts();
    let code = status.as_u16();
    if !(200..=599).contains(&code) {
        r.warn(
            LintKind::Status,
            format_args!("status {code} is not a valid final status (200-599)"),
        );
    }
    check_headers(&headers, r);
    // RFC 9110 §15.3.6: a 205 carries no content either.
    let no_body_status = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::RESET_CONTENT
        || status == StatusCode::NOT_MODIFIED;

    let declared = declared_length(&headers, r);
    // `Content-Length: 0` on a 204 is what `Response::new` gives and servers drop it;
    // any other value contradicts the status.
    if status == StatusCode::NO_CONTENT && declared.is_some_and(|d| d != 0) {
        r.warn(
            LintKind::ContentLength,
            "a 204 response must not have a Content-Length",
        );
    }
    match body.len() {
        Some(n) if n > 0 => {
            if no_body_status {
                r.warn(
                    LintKind::BodyNotAllowed,
                    format_args!("a {code} response must not have a body ({n} bytes)"),
                );
            } else if is_head {
                r.warn(
                    LintKind::BodyOnHead,
                    format_args!("a body of {n} bytes on a HEAD response is discarded"),
                );
            }
        }
        _ => {}
    }
    // A stream that declares it yields nothing (`size_hint` of 0) is how a HEAD answer
    // says "no body, length unknown" (`Compress` does this); it is no body.
    let known_empty = matches!(&body, Body::Stream(s) if s.size_hint().1 == Some(0));
    let has_body = body.len() != Some(0) && !known_empty;
    if has_body && !headers.contains_key(CONTENT_TYPE) && !no_body_status {
        r.warn(
            LintKind::MissingContentType,
            "a body without a Content-Type",
        );
    }
    // 304 and HEAD answers describe the GET's body; their Content-Length is not this one's.
    let length_applies = !is_head && status != StatusCode::NOT_MODIFIED;
    let body = match (declared, body.len()) {
        (Some(d), Some(n)) if length_applies && d != n && !(is_head && n == 0) => {
            r.warn(
                LintKind::ContentLength,
                format_args!("Content-Length says {d} but the body has {n} bytes"),
            );
            body
        }
        (_, None) => {
            if known_empty {
                // Nothing will be generated.
            } else if is_head {
                r.warn(
                    LintKind::BodyOnHead,
                    "a streamed body on a HEAD response is generated and discarded",
                );
            } else if no_body_status {
                r.warn(
                    LintKind::BodyNotAllowed,
                    format_args!("a {code} response must not have a (streamed) body"),
                );
            }
            let expected = declared.filter(|_| length_applies);
            Body::Stream(Box::new(CountingStream {
                inner: body.into_chunks(),
                seen: 0,
                expected,
                reporter: r.clone(),
                done: false,
            }) as ChunkStream)
        }
        _ => body,
    };
    Response::from_parts(status, headers, body)
}

fn check_headers(headers: &HeaderMap, r: &Reporter) {
    for (name, value) in headers {
        if HOP_BY_HOP_HEADERS.contains(&name.as_str()) {
            r.warn(
                LintKind::HopByHop,
                format_args!("the hop-by-hop header {name} is the server's to set"),
            );
        }
        let bytes = value.as_bytes();
        if bytes
            .iter()
            .any(|&b| b >= 0x80 || (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            r.warn(
                LintKind::HeaderValue,
                format_args!("header {name} has control or non-ASCII bytes: {value:?}"),
            );
        } else if bytes.first().is_some_and(|b| b.is_ascii_whitespace())
            || bytes.last().is_some_and(|b| b.is_ascii_whitespace())
        {
            r.warn(
                LintKind::HeaderValue,
                format_args!("header {name} has surrounding whitespace: {value:?}"),
            );
        }
    }
    for etag in headers.get_all(ETAG) {
        let v = etag.to_str().unwrap_or("");
        let opaque = v.strip_prefix("W/").unwrap_or(v);
        if opaque.len() < 2 || !opaque.starts_with('"') || !opaque.ends_with('"') {
            r.warn(
                LintKind::ETag,
                format_args!("ETag {v:?} must be a quoted string"),
            );
        } else if v.starts_with("w/") {
            r.warn(
                LintKind::ETag,
                format_args!("weak ETag {v:?} must use 'W/'"),
            );
        }
    }
}

fn declared_length(headers: &HeaderMap, r: &Reporter) -> Option<u64> {
    let mut values = headers.get_all(CONTENT_LENGTH).iter();
    let first = values.next()?;
    if values.next().is_some() {
        r.warn(
            LintKind::ContentLength,
            "Content-Length appears more than once",
        );
    }
    let text = first.to_str().unwrap_or("");
    match text.parse::<u64>() {
        Ok(n) if text.bytes().all(|b| b.is_ascii_digit()) => Some(n),
        _ => {
            r.warn(
                LintKind::ContentLength,
                format_args!("Content-Length {text:?} is not a number"),
            );
            None
        }
    }
}

/// Counts a streamed body's bytes and compares them with the declared length at the end.
struct CountingStream {
    inner: ChunkStream,
    seen: u64,
    expected: Option<u64>,
    reporter: Reporter,
    done: bool,
}

impl Iterator for CountingStream {
    type Item = std::io::Result<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.inner.next() {
            Some(Ok(chunk)) => {
                self.seen += chunk.len() as u64;
                if let Some(e) = self.expected.filter(|&e| self.seen > e) {
                    self.reporter.warn(
                        LintKind::ContentLength,
                        format_args!("the body goes past its Content-Length of {e}"),
                    );
                    self.expected = None;
                }
                Some(Ok(chunk))
            }
            Some(Err(e)) => {
                self.done = true;
                self.reporter.warn(
                    LintKind::BodyError,
                    format_args!("the body stream failed after {} bytes: {e}", self.seen),
                );
                Some(Err(e))
            }
            None => {
                self.done = true;
                if let Some(e) = self.expected.filter(|&e| self.seen != e) {
                    self.reporter.warn(
                        LintKind::ContentLength,
                        format_args!(
                            "Content-Length says {e} but the body has {} bytes",
                            self.seen
                        ),
                    );
                }
                None
            }
        }
    }
}
