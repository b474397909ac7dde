//! [`Response`]: status, headers and a [`Body`], with Werkzeug's conveniences.
//!
//! This file owns construction, status, headers, mimetype and body handling. Cookies live
//! in `cookies.rs` and conditional requests (ETags, ranges, 304/412/206/416) in
//! `conditional.rs`, as further `impl Response` blocks.

use std::fs::File;
use std::io;

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
///     .with_header("x-powered-by", "zeug");
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
    /// A `200 OK` response with the default mimetype and `body`.
    pub fn new(body: impl Into<Body>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(DEFAULT_MIMETYPE));
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
    /// assert_eq!(res.text().unwrap(), r#"{"ok":true}"#);
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

    /// Returns the response with a header set (replacing earlier values). An invalid name or
    /// value is a programming error and panics with the offending text.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        let name =
            HeaderName::try_from(name).unwrap_or_else(|_| panic!("invalid header name {name:?}"));
        let value = HeaderValue::try_from(value)
            .unwrap_or_else(|_| panic!("invalid header value {value:?}"));
        self.headers.insert(name, value);
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

    /// The body as text, if it is held in memory (lossy UTF-8); `None` for streams and files.
    pub fn text(&self) -> Option<String> {
        self.body
            .as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
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
    pub fn set_mimetype(&mut self, mimetype: &str) {
        let value = if !mimetype.contains(';') && needs_charset(mimetype) {
            format!("{mimetype}; charset=utf-8")
        } else {
            mimetype.to_owned()
        };
        match HeaderValue::try_from(value) {
            Ok(v) => {
                self.headers.insert(CONTENT_TYPE, v);
            }
            Err(_) => panic!("invalid mimetype {mimetype:?}"),
        }
    }

    /// Returns the response with another content type; see [`Self::set_mimetype`].
    pub fn with_mimetype(mut self, mimetype: &str) -> Self {
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

impl From<&str> for Response {
    fn from(s: &str) -> Self {
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
