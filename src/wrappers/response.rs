//! [`Response`]: status, headers and a [`Body`], with Werkzeug's conveniences.
//!
//! This file owns construction, status, headers, mimetype and body handling, and
//! [`IntoResponse`], what views may return. Cookies live in `cookies.rs` and conditional
//! requests (ETags, ranges, 304/412/206/416) in `conditional.rs`, as further `impl Response`
//! blocks.
//!
//! # Header text: one policy
//!
//! No setter panics on text that could have come from a request. Setters take header
//! names and values *typed* ([`HeaderName`], [`HeaderValue`], [`mime::Mime`], integers) or
//! as `&'static str` literals, which are checked like [`HeaderValue::from_static`]: a typo
//! in a literal is a programming mistake and panics the first time the line runs. Text made
//! at run time goes through `HeaderValue::try_from(text)?` (the error converts into a 500
//! [`HttpException`](crate::HttpException)), or a setter that returns a `Result`
//! ([`Response::set_etag`]).

use std::fs::File;
use std::io;

use std::fmt;

use bytes::Bytes;

use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, LOCATION};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::Body;
use crate::body::FileBody;

/// The mimetype given to responses that do not set one.
pub const DEFAULT_MIMETYPE: &str = "text/plain; charset=utf-8";

/// An HTTP response: what an [`Application`](crate::Application) returns.
///
/// Built from a body, it starts as `200 OK` with `Content-Type: text/plain; charset=utf-8`
/// and, for bodies of known length, a `Content-Length`.
///
/// # Examples
///
/// ```
/// use zeug::Response;
///
/// let res = Response::new("<h1>Hi</h1>")
///     .with_status(201)
///     .with_mimetype("text/html")
///     .with_header("x-powered-by", "zeug")
///     .with_header(http::header::CONTENT_LANGUAGE, http::HeaderValue::from_static("en"));
/// assert_eq!(res.status(), 201);
/// assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
/// assert_eq!(res.headers()["content-length"], "11");
/// ```
#[derive(Debug)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
}

impl Default for Response {
    fn default() -> Self {
        Response::new(Body::Empty)
    }
}

impl Response {
    /// A `200 OK` response with the default mimetype and `body`: a `String`, `Vec<u8>`,
    /// `Bytes`, a [`Body`], or a literal (`&'static str` or `&'static [u8]`, served without
    /// a copy). Borrowed text goes in as a `String`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::Response;
    ///
    /// let name = String::from("you");
    /// let borrowed: &str = &name;
    /// let hello = Response::new("Hello World!");
    /// let greeting = Response::new(format!("Hello {borrowed}!"));
    /// let echo = Response::new(borrowed.to_owned());
    /// assert_eq!(hello.body_text().unwrap(), "Hello World!");
    /// assert_eq!(greeting.body_text().unwrap(), "Hello you!");
    /// assert_eq!(echo.body_text().unwrap(), "you");
    /// ```
    pub fn new(body: impl Into<Body>) -> Self {
        let mut headers = HeaderMap::new();
        const DEFAULT_CONTENT_TYPE: HeaderValue = HeaderValue::from_static(DEFAULT_MIMETYPE);
        headers.insert(CONTENT_TYPE, DEFAULT_CONTENT_TYPE);
        let mut res = Response {
            status: StatusCode::OK,
            headers,
            body: Body::Empty,
        };
        res.set_body(body);
        res
    }

    /// A `200 OK` HTML response (`text/html; charset=utf-8`).
    ///
    /// # Examples
    ///
    /// ```
    /// let res = zeug::Response::html("<p>hi</p>");
    /// assert_eq!(res.mimetype(), "text/html");
    /// ```
    pub fn html(body: impl Into<Body>) -> Self {
        Response::new(body).with_mimetype("text/html")
    }

    /// A `200 OK` JSON response of `value` (`application/json`).
    ///
    /// # Examples
    ///
    /// ```
    /// let res = zeug::Response::json(&serde_json::json!({"ok": true}));
    /// assert_eq!(res.mimetype(), "application/json");
    /// assert_eq!(res.body_text().unwrap(), r#"{"ok":true}"#);
    /// ```
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(bytes) => Response::new(bytes).with_mimetype("application/json"),
            Err(e) => {
                log::error!(target: "zeug", "could not serialize JSON response: {e}");
                crate::HttpException::internal_server_error().into_response()
            }
        }
    }

    /// A streaming response from an iterator of chunks; sent chunked by the server.
    ///
    /// # Examples
    ///
    /// ```
    /// let res = zeug::Response::stream((0..3).map(|i| format!("line {i}\n")));
    /// assert!(res.headers().get("content-length").is_none());
    /// ```
    pub fn stream<I, T>(chunks: I) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
        T: Into<Bytes>,
    {
        Response::new(Body::from_iter(chunks))
    }

    /// A response serving a whole open file (`application/octet-stream` unless changed).
    /// See [`crate::utils::send_file`] for mimetype guessing and conditional requests.
    pub fn file(file: File) -> io::Result<Self> {
        Ok(Response::new(FileBody::whole(file)?).with_mimetype("application/octet-stream"))
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Sets the status code.
    pub fn set_status(&mut self, status: impl IntoStatus) {
        self.status = status.into_status();
    }

    /// Returns the response with another status code. Accepts `u16` or `StatusCode`; an
    /// invalid number becomes 500.
    pub fn with_status(mut self, status: impl IntoStatus) -> Self {
        self.set_status(status);
        self
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Returns the response with a header set (replacing earlier values).
    ///
    /// Names and values are typed or literals (see [`IntoHeaderName`], [`IntoHeaderValue`]);
    /// text made at run time is validated first, with `HeaderValue::try_from(text)?`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{HttpException, Response};
    /// use http::HeaderValue;
    ///
    /// fn download(name: &str) -> Result<Response, HttpException> {
    ///     let disposition = HeaderValue::try_from(format!("attachment; filename={name}"))?;
    ///     Ok(Response::new("data")
    ///         .with_header("content-disposition", disposition)
    ///         .with_header("x-frame-options", "DENY"))
    /// }
    /// assert_eq!(download("a.txt").unwrap().headers()["content-disposition"], "attachment; filename=a.txt");
    /// // A name from the request carrying a line break is a 500, not a panic or a split header.
    /// assert_eq!(download("a\r\nSet-Cookie: x=1").unwrap_err().status(), 500);
    /// ```
    ///
    /// # Panics
    ///
    /// Only on an invalid `&'static str` literal, as [`HeaderValue::from_static`] does.
    pub fn with_header(mut self, name: impl IntoHeaderName, value: impl IntoHeaderValue) -> Self {
        self.headers
            .insert(name.into_header_name(), value.into_header_value());
        self
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The body, to change in place.
    pub fn body_mut(&mut self) -> &mut Body {
        &mut self.body
    }

    /// Replaces the body and updates `Content-Length` to match (removed for streams).
    pub fn set_body(&mut self, body: impl Into<Body>) {
        self.body = body.into();
        match self.body.len() {
            Some(n) => {
                self.headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
            }
            None => {
                self.headers.remove(CONTENT_LENGTH);
            }
        }
    }

    /// Takes the body out, leaving an empty one (headers are not touched).
    pub fn take_body(&mut self) -> Body {
        std::mem::take(&mut self.body)
    }

    /// Consumes the response, returning its body.
    pub fn into_body(self) -> Body {
        self.body
    }

    /// Splits the response into status, headers and body (what `start_response` and the
    /// iterable carry in WSGI).
    pub fn into_parts(self) -> (StatusCode, HeaderMap, Body) {
        (self.status, self.headers, self.body)
    }

    /// Builds a response from parts, keeping the headers as given.
    pub fn from_parts(status: StatusCode, headers: HeaderMap, body: Body) -> Self {
        Response {
            status,
            headers,
            body,
        }
    }

    /// The body as text, if it is held in memory (lossy UTF-8); `None` for streams and files,
    /// which only the server (or [`Body::into_bytes`]) reads. The test client's
    /// [`TestResponse::text`](crate::test::TestResponse::text) always has the whole body and
    /// returns a `String`.
    ///
    /// # Examples
    ///
    /// ```
    /// let res = zeug::Response::new("hi");
    /// assert_eq!(res.body_text().as_deref(), Some("hi"));
    /// assert_eq!(zeug::Response::stream(["a", "b"]).body_text(), None);
    /// ```
    pub fn body_text(&self) -> Option<String> {
        self.body
            .as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// The old name of [`body_text`](Self::body_text).
    #[deprecated(
        note = "renamed to `body_text` (it is `None` for streams, unlike `TestResponse::text`)"
    )]
    pub fn text(&self) -> Option<String> {
        self.body_text()
    }

    /// The `Content-Length` header, parsed.
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }

    /// The mimetype without parameters, lower-cased, e.g. `"text/html"`.
    pub fn mimetype(&self) -> String {
        crate::http_utils::mimetype_of(&self.headers)
    }

    /// The `charset` parameter of the content type, if any.
    pub fn charset(&self) -> Option<String> {
        let ct = self.headers.get(CONTENT_TYPE)?.to_str().ok()?;
        let m: mime::Mime = ct.parse().ok()?;
        m.get_param(mime::CHARSET).map(|c| c.as_str().to_owned())
    }

    /// Sets the content type. Textual types (`text/*`, and XML or JavaScript types) get
    /// `; charset=utf-8` unless `mimetype` already has parameters, as Werkzeug does.
    ///
    /// Takes a literal or a parsed [`mime::Mime`] (see [`IntoMimetype`]): text made at run
    /// time is parsed first, `text.parse::<mime::Mime>()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut res = zeug::Response::new("a,b");
    /// res.set_mimetype("text/csv");
    /// assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    /// res.set_mimetype(mime::IMAGE_PNG);
    /// assert_eq!(res.mimetype(), "image/png");
    /// ```
    pub fn set_mimetype(&mut self, mimetype: impl IntoMimetype) {
        let mimetype = mimetype.into_mimetype();
        let value = if !mimetype.contains(';') && needs_charset(&mimetype) {
            HeaderValue::try_from(format!("{mimetype}; charset=utf-8"))
        } else {
            HeaderValue::try_from(mimetype.as_str())
        };
        match value {
            Ok(v) => {
                self.headers.insert(CONTENT_TYPE, v);
            }
            // Unreachable for literals (checked in `into_mimetype`) and parsed mimetypes.
            Err(_) => log::error!(target: "zeug", "invalid mimetype {mimetype:?} not set"),
        }
    }

    /// Returns the response with another content type; see [`Self::set_mimetype`].
    pub fn with_mimetype(mut self, mimetype: impl IntoMimetype) -> Self {
        self.set_mimetype(mimetype);
        self
    }

    /// The `Location` header, if any.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION)?.to_str().ok()
    }
}

fn needs_charset(mimetype: &str) -> bool {
    let m = mimetype.trim().to_ascii_lowercase();
    m.starts_with("text/")
        || m.ends_with("+xml")
        || matches!(
            m.as_str(),
            "application/xml" | "application/javascript" | "application/ecmascript"
        )
}

/// A header name given to a setter: a typed [`HeaderName`] (or a reference to one), or a
/// `&'static str` literal.
///
/// # Examples
///
/// ```
/// let res = zeug::Response::new("")
///     .with_header("x-one", "1")
///     .with_header(http::header::CACHE_CONTROL, "no-store");
/// assert_eq!(res.headers()["cache-control"], "no-store");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a header name zeug can take without checking it",
    note = "pass a `HeaderName` (`http::header::CONTENT_TYPE`, or `HeaderName::try_from(text)?` for text made at run time) or a string literal"
)]
pub trait IntoHeaderName {
    /// The name.
    ///
    /// # Panics
    ///
    /// For a `&'static str` that is not a valid header name (a typo in a literal), as
    /// [`HeaderName::from_static`] does for lower-case literals.
    fn into_header_name(self) -> HeaderName;
}

impl IntoHeaderName for HeaderName {
    fn into_header_name(self) -> HeaderName {
        self
    }
}

impl IntoHeaderName for &HeaderName {
    fn into_header_name(self) -> HeaderName {
        self.clone()
    }
}

impl IntoHeaderName for &'static str {
    fn into_header_name(self) -> HeaderName {
        HeaderName::from_bytes(self.as_bytes())
            .unwrap_or_else(|_| panic!("invalid header name literal {self:?}"))
    }
}

/// A header value given to a setter: a typed [`HeaderValue`], an integer, or a
/// `&'static str` literal. Text made at run time is validated first with
/// `HeaderValue::try_from(text)`, whose error converts into a 500
/// [`HttpException`](crate::HttpException) with `?`.
///
/// # Examples
///
/// ```
/// let res = zeug::Response::new("")
///     .with_header("retry-after", 120u64)
///     .with_header("x-request-id", http::HeaderValue::try_from(String::from("a1")).unwrap());
/// assert_eq!(res.headers()["retry-after"], "120");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a header value zeug can take without checking it",
    note = "text made at run time may hold a line break: validate it with `HeaderValue::try_from(text)?` (a 500 on failure), or pass a string literal or an integer"
)]
pub trait IntoHeaderValue {
    /// The value.
    ///
    /// # Panics
    ///
    /// For a `&'static str` that is not a valid header value (a typo in a literal), as
    /// [`HeaderValue::from_static`] does.
    fn into_header_value(self) -> HeaderValue;
}

impl IntoHeaderValue for HeaderValue {
    fn into_header_value(self) -> HeaderValue {
        self
    }
}

impl IntoHeaderValue for &HeaderValue {
    fn into_header_value(self) -> HeaderValue {
        self.clone()
    }
}

impl IntoHeaderValue for &'static str {
    fn into_header_value(self) -> HeaderValue {
        HeaderValue::from_static(self)
    }
}

macro_rules! integer_header_values {
    ($($t:ty)*) => {$(
        impl IntoHeaderValue for $t {
            fn into_header_value(self) -> HeaderValue {
                HeaderValue::from(self)
            }
        }
    )*};
}
integer_header_values!(u16 u32 u64 usize i16 i32 i64 isize);

/// A mimetype given to [`Response::set_mimetype`]: a parsed [`mime::Mime`], or a
/// `&'static str` literal.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a mimetype zeug can take without checking it",
    note = "parse text made at run time first, `text.parse::<mime::Mime>()`, or pass a string literal"
)]
pub trait IntoMimetype {
    /// The mimetype as text.
    ///
    /// # Panics
    ///
    /// For a `&'static str` that is not valid header text (a typo in a literal).
    fn into_mimetype(self) -> String;
}

impl IntoMimetype for &'static str {
    fn into_mimetype(self) -> String {
        // Checked here so that a bad literal fails loudly, like `HeaderValue::from_static`.
        HeaderValue::from_static(self);
        self.to_owned()
    }
}

impl IntoMimetype for mime::Mime {
    fn into_mimetype(self) -> String {
        self.as_ref().to_owned()
    }
}

impl IntoMimetype for &mime::Mime {
    fn into_mimetype(self) -> String {
        self.as_ref().to_owned()
    }
}

/// Header text that is not valid in a header (a control character, a line break, a `"` in
/// an entity tag), from a setter that returns a `Result`. Converts into a 500
/// [`HttpException`](crate::HttpException) with `?`.
///
/// # Examples
///
/// ```
/// let mut res = zeug::Response::new("x");
/// let err = res.set_etag("bad\"tag", false).unwrap_err();
/// assert!(err.to_string().contains("ETag"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidHeader {
    what: &'static str,
}

impl InvalidHeader {
    pub(crate) fn new(what: &'static str) -> Self {
        InvalidHeader { what }
    }
}

impl fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid text for the {} header", self.what)
    }
}

impl std::error::Error for InvalidHeader {}

/// What a view or application may return: a [`Response`], an
/// [`HttpException`](crate::HttpException), or a `Result` of one with an error that
/// converts into a response.
///
/// Any `Fn(Environ) -> R` with `R: IntoResponse` is an [`Application`](crate::Application),
/// so `fn app(environ: Environ) -> Result<Response, HttpException>` can be served as is,
/// and `?` works inside it.
///
/// # Examples
///
/// ```
/// use zeug::{Environ, HttpException, Response};
///
/// fn app(environ: Environ) -> Result<Response, HttpException> {
///     let text = std::fs::read_to_string(format!("/definitely/missing{}", environ.path_info))?;
///     Ok(Response::new(text))
/// }
/// let client = zeug::test::Client::new(app);
/// let res = client.get("/x").send();
/// assert_eq!(res.status(), 500);
/// assert!(!res.text().contains("missing")); // the io::Error is logged, not shown
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned as a response",
    note = "return a `Response`, an `HttpException`, or a `Result<Response, E>` where `E: Into<Response>`"
)]
pub trait IntoResponse {
    /// The response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for crate::HttpException {
    fn into_response(self) -> Response {
        crate::HttpException::into_response(self)
    }
}

impl<R: IntoResponse, E: Into<Response>> IntoResponse for Result<R, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(r) => r.into_response(),
            Err(e) => e.into(),
        }
    }
}

/// Something that names a status code: `u16` or `http::StatusCode`.
pub trait IntoStatus {
    /// The status; invalid numbers become 500.
    fn into_status(self) -> StatusCode;
}

impl IntoStatus for StatusCode {
    fn into_status(self) -> StatusCode {
        self
    }
}

impl IntoStatus for u16 {
    fn into_status(self) -> StatusCode {
        StatusCode::from_u16(self).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<&'static str> for Response {
    fn from(s: &'static str) -> Self {
        Response::new(s)
    }
}

impl From<String> for Response {
    fn from(s: String) -> Self {
        Response::new(s)
    }
}

impl From<Vec<u8>> for Response {
    fn from(b: Vec<u8>) -> Self {
        Response::new(b)
    }
}

impl From<Bytes> for Response {
    fn from(b: Bytes) -> Self {
        Response::new(b)
    }
}

impl From<Body> for Response {
    fn from(b: Body) -> Self {
        Response::new(b)
    }
}

impl From<StatusCode> for Response {
    /// An empty response with that status.
    fn from(s: StatusCode) -> Self {
        Response::new(Body::Empty).with_status(s)
    }
}

impl From<Response> for http::Response<Body> {
    fn from(res: Response) -> Self {
        let mut out = http::Response::new(res.body);
        *out.status_mut() = res.status;
        *out.headers_mut() = res.headers;
        out
    }
}

impl<B: Into<Body>> From<http::Response<B>> for Response {
    fn from(res: http::Response<B>) -> Self {
        let (parts, body) = res.into_parts();
        Response {
            status: parts.status,
            headers: parts.headers,
            body: body.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_utf8_text_with_length() {
        let res = Response::new("héllo");
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], DEFAULT_MIMETYPE);
        assert_eq!(res.content_length(), Some(6));
        assert_eq!(res.charset().as_deref(), Some("utf-8"));
    }

    #[test]
    fn mimetype_gets_charset_only_when_textual() {
        assert_eq!(
            Response::new("").with_mimetype("image/png").headers()["content-type"],
            "image/png"
        );
        assert_eq!(
            Response::new("").with_mimetype("text/csv").headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        assert_eq!(
            Response::new("")
                .with_mimetype("text/html; charset=latin-1")
                .headers()["content-type"],
            "text/html; charset=latin-1"
        );
    }

    #[test]
    fn streams_have_no_length() {
        let mut res = Response::new("abc");
        res.set_body(Body::from_iter(vec!["a"]));
        assert_eq!(res.content_length(), None);
    }

    #[test]
    fn converts_to_http_response() {
        let res: http::Response<Body> = Response::new("x").with_status(404).into();
        assert_eq!(res.status(), 404);
    }
}
