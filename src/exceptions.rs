//! HTTP errors as values: [`HttpException`], one constructor per status, and [`abort`].
//!
//! Anything a client can cause (a bad form, a missing page, a body too large) becomes an
//! `HttpException`, which renders as a small HTML page (or JSON for clients that prefer it).
//! This module does not decide *when* to fail; parsers, routing and views do.

use std::borrow::Cow;
use std::fmt;

use http::header::{ALLOW, HeaderValue};
use http::{HeaderMap, Method, StatusCode};

use crate::Response;
use crate::wrappers::{IntoHeaderName, IntoHeaderValue, InvalidHeader};

#[doc(hidden)]
pub use crate::html::escape_html;

/// An HTTP error that can be returned from a view and turned into a response.
///
/// # Examples
///
/// ```
/// use zeug::{HttpException, Response};
///
/// fn view(id: &str) -> Result<Response, HttpException> {
///     if id != "42" {
///         return Err(HttpException::not_found().with_description("No such item."));
///     }
///     Ok(Response::new("found"))
/// }
/// let res = view("7").unwrap_or_else(|e| e.into_response());
/// assert_eq!(res.status(), 404);
/// assert!(res.body_text().unwrap().contains("No such item."));
/// ```
#[derive(Debug, Clone)]
pub struct HttpException {
    // Boxed so `Result<T, HttpException>` stays one pointer wide on the error side.
    inner: Box<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    status: StatusCode,
    description: Option<Cow<'static, str>>,
    headers: HeaderMap,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:expr;)*) => {
        $(
            $(#[$doc])*
            pub fn $name() -> Self {
                Self::new(StatusCode::from_u16($code).expect("valid status"))
            }
        )*
    };
}

impl HttpException {
    /// An error with `status` and its default description.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = zeug::HttpException::new(http::StatusCode::IM_A_TEAPOT);
    /// assert_eq!(e.status(), 418);
    /// ```
    pub fn new(status: StatusCode) -> Self {
        HttpException {
            inner: Box::new(Inner {
                status,
                description: None,
                headers: HeaderMap::new(),
            }),
        }
    }

    constructors! {
        /// 400: the request was malformed.
        bad_request => 400;
        /// 401: authentication is needed. Add a `WWW-Authenticate` header with [`Self::with_header`].
        unauthorized => 401;
        /// 403: the client may not access this resource.
        forbidden => 403;
        /// 404: no resource at this URL.
        not_found => 404;
        /// 406: no representation matches the `Accept*` headers.
        not_acceptable => 406;
        /// 408: the client took too long to send its request.
        request_timeout => 408;
        /// 409: the request conflicts with the resource's current state.
        conflict => 409;
        /// 410: the resource is gone for good.
        gone => 410;
        /// 411: a `Content-Length` is required.
        length_required => 411;
        /// 412: a precondition (`If-Match`, `If-Unmodified-Since`) failed.
        precondition_failed => 412;
        /// 413: the body (or a form part) is larger than allowed.
        request_entity_too_large => 413;
        /// 414: the request target is too long.
        request_uri_too_large => 414;
        /// 415: the body's media type is not supported here.
        unsupported_media_type => 415;
        /// 416: the requested range cannot be served.
        requested_range_not_satisfiable => 416;
        /// 417: the `Expect` header cannot be met.
        expectation_failed => 417;
        /// 418: I'm a teapot (RFC 2324).
        im_a_teapot => 418;
        /// 421: the request reached a server that cannot answer for this host.
        misdirected_request => 421;
        /// 422: the body was well-formed but its content is invalid.
        unprocessable_entity => 422;
        /// 423: the resource is locked.
        locked => 423;
        /// 424: an earlier request this one depends on failed.
        failed_dependency => 424;
        /// 428: the request must be conditional.
        precondition_required => 428;
        /// 429: too many requests; add `Retry-After` with [`Self::with_header`].
        too_many_requests => 429;
        /// 431: the request's header fields are too large.
        request_header_fields_too_large => 431;
        /// 451: unavailable for legal reasons.
        unavailable_for_legal_reasons => 451;
        /// 500: the server failed.
        internal_server_error => 500;
        /// 501: the server does not implement what was asked.
        not_implemented => 501;
        /// 502: an upstream server answered badly.
        bad_gateway => 502;
        /// 503: the service is temporarily unavailable.
        service_unavailable => 503;
        /// 504: an upstream server did not answer in time.
        gateway_timeout => 504;
        /// 505: the HTTP version is not supported.
        http_version_not_supported => 505;
    }

    /// 405 with the `Allow` header listing `allowed` (HEAD is listed when GET is).
    ///
    /// # Examples
    ///
    /// ```
    /// use http::Method;
    /// let e = zeug::HttpException::method_not_allowed(&[Method::GET, Method::POST]);
    /// assert_eq!(e.headers()["allow"], "GET, HEAD, POST");
    /// ```
    pub fn method_not_allowed(allowed: &[Method]) -> Self {
        let mut names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        if names.contains(&"GET") && !names.contains(&"HEAD") {
            names.push("HEAD");
        }
        names.sort_unstable();
        names.dedup();
        let mut e = Self::new(StatusCode::METHOD_NOT_ALLOWED);
        if let Ok(v) = HeaderValue::from_str(&names.join(", ")) {
            e.inner.headers.insert(ALLOW, v);
        }
        e
    }

    /// 416 with `Content-Range: bytes */length`, the answer to a `Range` that starts past the
    /// end of a `length`-byte representation (Werkzeug's `RequestedRangeNotSatisfiable(length)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let e = zeug::HttpException::range_not_satisfiable(1000);
    /// assert_eq!(e.status(), 416);
    /// assert_eq!(e.headers()["content-range"], "bytes */1000");
    /// ```
    pub fn range_not_satisfiable(length: u64) -> Self {
        let mut e = Self::new(StatusCode::RANGE_NOT_SATISFIABLE);
        if let Ok(v) = HeaderValue::try_from(format!("bytes */{length}")) {
            e.inner.headers.insert(http::header::CONTENT_RANGE, v);
        }
        e
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    /// The reason phrase, e.g. `"Not Found"`: the one the server writes on the status line.
    pub fn name(&self) -> &'static str {
        self.inner
            .status
            .canonical_reason()
            .unwrap_or("Unknown Error")
    }

    /// The human-readable explanation shown on the error page.
    pub fn description(&self) -> &str {
        match &self.inner.description {
            Some(d) => d,
            None => default_description(self.inner.status.as_u16()),
        }
    }

    /// Replaces the description (plain text; it is escaped when rendered as HTML).
    pub fn with_description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        self.inner.description = Some(description.into());
        self
    }

    /// Adds a header to the error response (`WWW-Authenticate`, `Retry-After`, ...).
    ///
    /// Same policy as [`Response::with_header`]: names and values are typed or literals;
    /// text made at run time is validated first with `HeaderValue::try_from(text)?`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::HttpException;
    /// let e = HttpException::unauthorized().with_header("www-authenticate", "Basic realm=\"x\"");
    /// assert!(e.headers().contains_key("www-authenticate"));
    /// let e = HttpException::too_many_requests().with_header(http::header::RETRY_AFTER, 30u64);
    /// assert_eq!(e.headers()["retry-after"], "30");
    /// ```
    pub fn with_header(mut self, name: impl IntoHeaderName, value: impl IntoHeaderValue) -> Self {
        self.inner
            .headers
            .append(name.into_header_name(), value.into_header_value());
        self
    }

    /// The extra headers the error response carries.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// Renders the HTML error page.
    ///
    /// # Examples
    ///
    /// ```
    /// let res = zeug::HttpException::not_found().into_response();
    /// assert_eq!(res.status(), 404);
    /// assert_eq!(res.mimetype(), "text/html");
    /// ```
    pub fn into_response(self) -> Response {
        let body = format!(
            "<!doctype html>\n<html lang=en>\n<title>{code} {name}</title>\n<h1>{name}</h1>\n<p>{desc}</p>\n",
            code = self.inner.status.as_u16(),
            name = self.name(),
            desc = escape_html(self.description()),
        );
        self.finish(Response::new(body).with_mimetype("text/html; charset=utf-8"))
    }

    /// Renders the error as JSON: `{"code": 404, "name": "Not Found", "description": "..."}`.
    ///
    /// # Examples
    ///
    /// ```
    /// let res = zeug::HttpException::bad_request().into_json_response();
    /// assert_eq!(res.mimetype(), "application/json");
    /// ```
    pub fn into_json_response(self) -> Response {
        let body = serde_json::json!({
            "code": self.inner.status.as_u16(),
            "name": self.name(),
            "description": self.description(),
        });
        self.finish(Response::json(&body))
    }

    /// Renders as JSON when the client's `Accept` header prefers `application/json` over
    /// `text/html`, else as HTML.
    ///
    /// # Examples
    ///
    /// ```
    /// let client_headers = {
    ///     let mut h = http::HeaderMap::new();
    ///     h.insert("accept", "application/json".parse().unwrap());
    ///     h
    /// };
    /// let res = zeug::HttpException::not_found().into_response_for(&client_headers);
    /// assert_eq!(res.mimetype(), "application/json");
    /// ```
    pub fn into_response_for(self, request_headers: &HeaderMap) -> Response {
        if prefers_json(request_headers) {
            self.into_json_response()
        } else {
            self.into_response()
        }
    }

    /// Renders the error with the application's own page: `response` gets this error's
    /// status and its headers (`Allow`, `WWW-Authenticate`, `Retry-After`, `Location`...),
    /// so a custom 404 or 405 page is one call and loses nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use http::Method;
    /// use zeug::{HttpException, Response};
    ///
    /// let e = HttpException::method_not_allowed(&[Method::GET]);
    /// let page = format!("<h1>{} is not allowed here</h1>", "POST");
    /// let res = e.into_response_with(Response::html(page));
    /// assert_eq!(res.status(), 405);
    /// assert_eq!(res.headers()["allow"], "GET, HEAD");
    /// assert_eq!(res.mimetype(), "text/html");
    /// ```
    pub fn into_response_with(self, response: Response) -> Response {
        self.finish(response)
    }

    /// A 500 for an error the client did not cause: `error` is logged (target `zeug`) with
    /// `context`, and the response shows only the generic description. This is what the
    /// `From` conversions of common errors (`std::io::Error`, `serde_json::Error`, a poisoned
    /// lock...) do, so `?` on them never leaks a path or a message to the client.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = zeug::HttpException::internal("reading the template", "no such file: /srv/x");
    /// assert_eq!(e.status(), 500);
    /// assert!(!e.description().contains("/srv"));
    /// ```
    pub fn internal(context: &str, error: impl fmt::Display) -> Self {
        log::error!(target: "zeug", "500 Internal Server Error: {context}: {error}");
        Self::internal_server_error()
    }

    fn finish(self, mut res: Response) -> Response {
        res.set_status(self.inner.status);
        for (name, value) in &self.inner.headers {
            res.headers_mut().append(name.clone(), value.clone());
        }
        res
    }
}

/// Whether an `Accept` header ranks JSON above HTML.
fn prefers_json(headers: &HeaderMap) -> bool {
    let accept = match headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    {
        Some(a) => a,
        None => return false,
    };
    let accept = crate::datastructures::Accept::parse(accept);
    accept.quality("application/json") > accept.quality("text/html")
}

impl fmt::Display for HttpException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.inner.status.as_u16(),
            self.name(),
            self.description()
        )
    }
}

impl std::error::Error for HttpException {}

impl From<std::io::Error> for HttpException {
    /// A logged 500 (the message may name server paths, so it is not shown).
    fn from(e: std::io::Error) -> Self {
        HttpException::internal("I/O error", e)
    }
}

impl From<fmt::Error> for HttpException {
    /// A logged 500.
    fn from(e: fmt::Error) -> Self {
        HttpException::internal("formatting error", e)
    }
}

impl From<serde_json::Error> for HttpException {
    /// A logged 500: a JSON error that reaches `?` in a view is the server's (request
    /// bodies are parsed by [`Request::json`](crate::Request::json), which answers 400).
    fn from(e: serde_json::Error) -> Self {
        HttpException::internal("JSON error", e)
    }
}

impl<T> From<std::sync::PoisonError<T>> for HttpException {
    /// A logged 500: another request panicked while holding the lock.
    fn from(e: std::sync::PoisonError<T>) -> Self {
        HttpException::internal("poisoned lock", e)
    }
}

impl From<http::header::InvalidHeaderValue> for HttpException {
    /// A logged 500: the application tried to send text that is not valid in a header.
    fn from(e: http::header::InvalidHeaderValue) -> Self {
        HttpException::internal("invalid header value", e)
    }
}

impl From<http::header::InvalidHeaderName> for HttpException {
    /// A logged 500: the application tried to send an invalid header name.
    fn from(e: http::header::InvalidHeaderName) -> Self {
        HttpException::internal("invalid header name", e)
    }
}

impl From<InvalidHeader> for HttpException {
    /// A logged 500, as [`http::header::InvalidHeaderValue`].
    fn from(e: InvalidHeader) -> Self {
        HttpException::internal("invalid header", e)
    }
}

impl From<HttpException> for Response {
    fn from(e: HttpException) -> Self {
        e.into_response()
    }
}

impl From<Result<Response, HttpException>> for Response {
    fn from(r: Result<Response, HttpException>) -> Self {
        r.unwrap_or_else(HttpException::into_response)
    }
}

/// Returns an [`HttpException`] for `code` (a 4xx or 5xx status), for use with `?` or
/// `return Err(...)`. Codes outside 400–599 become a 500.
///
/// # Examples
///
/// ```
/// use zeug::{abort, HttpException, Response};
///
/// fn admin_only(is_admin: bool) -> Result<Response, HttpException> {
///     if !is_admin {
///         return Err(abort(403));
///     }
///     Ok(Response::new("welcome"))
/// }
/// assert_eq!(admin_only(false).unwrap_err().status(), 403);
/// ```
pub fn abort(code: u16) -> HttpException {
    match StatusCode::from_u16(code) {
        Ok(s) if (400..600).contains(&code) => HttpException::new(s),
        _ => HttpException::internal_server_error(),
    }
}

fn default_description(code: u16) -> &'static str {
    match code {
        400 => "The browser (or proxy) sent a request that this server could not understand.",
        401 => "This resource needs credentials, and the request did not carry valid ones.",
        403 => "You do not have permission to access this resource.",
        404 => "Nothing was found at this URL. If you typed it by hand, please check the spelling.",
        405 => "This method is not allowed for the requested URL.",
        406 => "The resource cannot produce a response the client says it accepts.",
        408 => "The server stopped waiting for the rest of the request.",
        409 => "The request conflicts with the current state of the resource.",
        410 => "This resource is no longer available and will not be available again.",
        411 => "A request with this method must carry a Content-Length header.",
        412 => "A precondition given in the request headers did not hold.",
        413 => "The data sent in the request is larger than this server accepts.",
        414 => "The request URL is longer than this server accepts.",
        415 => "The server does not accept the media type of the request body.",
        416 => "The requested range of the resource cannot be served.",
        417 => "The server cannot meet the expectation given in the Expect header.",
        418 => "This server is a teapot and refuses to brew coffee.",
        421 => "This server is not able to answer for the requested host.",
        422 => "The request was well-formed but its content could not be processed.",
        423 => "The resource is locked.",
        424 => "The request depended on another request that failed.",
        428 => "This request must be conditional (send If-Match or If-Unmodified-Since).",
        429 => "Too many requests were sent in a given time. Please slow down.",
        431 => "The request's header fields are larger than this server accepts.",
        451 => "This resource is unavailable for legal reasons.",
        500 => "The server hit an internal error and could not complete the request.",
        501 => "The server does not support the action requested.",
        502 => "A server upstream of this one gave an invalid response.",
        503 => "The service is temporarily unable to handle the request. Please try again later.",
        504 => "A server upstream of this one did not answer in time.",
        505 => "The HTTP version of the request is not supported.",
        _ => "The request could not be handled.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_werkzeug_status_has_a_description() {
        for code in [
            400, 401, 403, 404, 405, 406, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418,
            421, 422, 423, 424, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505,
        ] {
            assert_ne!(abort(code).description(), default_description(0), "{code}");
        }
    }

    #[test]
    fn descriptions_are_escaped_in_html() {
        let res = HttpException::bad_request()
            .with_description("<script>")
            .into_response();
        let text = res.body_text().unwrap();
        assert!(text.contains("&lt;script&gt;"));
        assert!(!text.contains("<script>"));
    }

    #[test]
    fn common_errors_are_500s_without_detail() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "/srv/secret/db.sqlite");
        let json = serde_json::from_str::<u8>("oops").unwrap_err();
        let lock = std::sync::Mutex::new(());
        let poisoned = std::thread::scope(|s| {
            s.spawn(|| {
                let _guard = lock.lock().unwrap();
                panic!("poison the lock");
            })
            .join()
            .unwrap_err();
            HttpException::from(lock.lock().unwrap_err())
        });
        for e in [HttpException::from(io), HttpException::from(json), poisoned] {
            assert_eq!(e.status(), 500);
            let text = e.into_response().body_text().unwrap();
            assert!(!text.contains("/srv") && !text.contains("oops"), "{text}");
        }
    }

    #[test]
    fn own_pages_keep_status_and_headers() {
        let cases = [
            HttpException::unauthorized().with_header("www-authenticate", "Basic realm=\"x\""),
            HttpException::service_unavailable().with_header(http::header::RETRY_AFTER, 120u64),
            HttpException::method_not_allowed(&[Method::POST]),
        ];
        for e in cases {
            let (status, headers) = (e.status(), e.headers().clone());
            let res = e.into_response_with(Response::html("<p>ours</p>"));
            assert_eq!(res.status(), status);
            assert_eq!(res.body_text().unwrap(), "<p>ours</p>");
            for (name, value) in &headers {
                assert_eq!(res.headers().get(name), Some(value), "{name}");
            }
        }
    }

    #[test]
    fn names_are_the_reason_phrases_the_server_sends() {
        // The server writes `StatusCode::canonical_reason` on the status line.
        let e = HttpException::request_entity_too_large();
        assert_eq!(e.name(), "Payload Too Large");
        assert_eq!(Some(e.name()), e.status().canonical_reason());
    }

    #[test]
    fn abort_outside_error_range_is_500() {
        assert_eq!(abort(200).status(), 500);
        assert_eq!(abort(999).status(), 500);
    }
}
