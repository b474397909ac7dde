//! [`Request`]: an [`Environ`] with lazy, parse-once accessors.
//!
//! This file owns URL reconstruction, query arguments, the body (`get_data`, `json`) and
//! forms. Header-derived values (`accept_*`, `authorization`, `if_*`, `range`) are in
//! `request_headers.rs`. Nothing here reads the body until asked to.

use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, COOKIE, USER_AGENT};
use http::{HeaderMap, Method};
use serde::de::DeserializeOwned;

use crate::body::{BodyBudget, Reservation};
use crate::datastructures::{FileStorage, MultiDict};
use crate::environ::Input;
use crate::formparser::{self, FormData, Limits};
use crate::{Environ, HttpException};

/// A request, wrapping the [`Environ`] a server handed over.
///
/// Every accessor parses on first use and caches the result, so calling `args()` twice
/// parses once. The body is read at most once: by [`get_data`](Self::get_data),
/// [`json`](Self::json) or [`form`](Self::form)/[`files`](Self::files).
///
/// # Examples
///
/// ```
/// use zeug::test::EnvironBuilder;
/// use zeug::Request;
///
/// let environ = EnvironBuilder::new("POST", "/search?q=rust&page=2")
///     .form(&[("lang", "en")])
///     .build();
/// let request = Request::new(environ);
/// assert_eq!(request.path(), "/search");
/// assert_eq!(request.args().get("q"), Some("rust"));
/// assert_eq!(request.form().unwrap().get("lang"), Some("en"));
/// assert_eq!(request.url(), "http://localhost/search?q=rust&page=2");
/// ```
pub struct Request {
    environ: Environ,
    input: Mutex<Option<Input>>,
    limits: Limits,
    args: OnceLock<MultiDict>,
    cookies: OnceLock<MultiDict>,
    data: OnceLock<Result<Bytes, HttpException>>,
    /// What [`get_data`](Self::get_data) took from the server's budget for buffered bodies.
    held: Mutex<Option<Reservation>>,
    form: OnceLock<Result<FormData, HttpException>>,
    pub(super) parsed: OnceLock<Box<super::request_headers::ParsedHeaders>>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<Request {} {}>", self.method(), self.url())
    }
}

impl Request {
    /// Wraps an environ. Limits come from a [`Limits`] in the environ's extensions (put
    /// there per app by a server or middleware), else [`Limits::default`].
    pub fn new(mut environ: Environ) -> Self {
        let input = std::mem::take(&mut environ.input);
        let limits = environ
            .extensions
            .get::<Limits>()
            .copied()
            .unwrap_or_default();
        Request {
            environ,
            input: Mutex::new(Some(input)),
            limits,
            args: OnceLock::new(),
            cookies: OnceLock::new(),
            data: OnceLock::new(),
            held: Mutex::new(None),
            form: OnceLock::new(),
            parsed: OnceLock::new(),
        }
    }

    /// Replaces the limits for this request; call it before the body is read.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{formparser::Limits, test::EnvironBuilder, Request};
    ///
    /// let mut req = Request::new(EnvironBuilder::new("POST", "/").body("0123456789").build());
    /// req.set_limits(Limits { max_content_length: Some(4), ..Limits::default() });
    /// assert_eq!(req.get_data().unwrap_err().status(), 413);
    /// ```
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The wrapped environ (its `input` has been taken over by the request).
    pub fn environ(&self) -> &Environ {
        &self.environ
    }

    /// The wrapped environ, to change (e.g. for middleware-style rewriting in a view).
    pub fn environ_mut(&mut self) -> &mut Environ {
        &mut self.environ
    }

    /// Unwraps the environ again, with its body: the stream if nothing read it, the bytes
    /// [`get_data`](Self::get_data) kept if it did (a form parser that consumed the stream
    /// leaves it empty). What was parsed is dropped. This is how a middleware looks at a
    /// request (a header, a cookie, the body) and then hands the environ on to the
    /// application it wraps.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use zeug::test::EnvironBuilder;
    /// use zeug::Request;
    ///
    /// let environ = EnvironBuilder::new("POST", "/?lang=en").body("payload").build();
    /// let request = Request::new(environ);
    /// assert_eq!(request.args().get("lang"), Some("en"));
    ///
    /// assert_eq!(request.get_data().unwrap().as_ref(), b"payload");
    ///
    /// let mut environ = request.into_environ();
    /// let mut body = String::new();
    /// environ.input.read_to_string(&mut body).unwrap();
    /// assert_eq!(body, "payload");
    /// ```
    pub fn into_environ(self) -> Environ {
        let mut environ = self.environ;
        let input = self.input.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(input) = input {
            environ.input = input;
        } else if let Some(Ok(data)) = self.data.into_inner() {
            environ.input = Input::from_bytes(data);
        }
        environ
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.environ.method
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.environ.headers
    }

    /// A header's value as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.environ.headers.get(name)?.to_str().ok()
    }

    /// The path below the application root, decoded, always starting with `/`.
    pub fn path(&self) -> &str {
        if self.environ.path_info.is_empty() {
            "/"
        } else {
            &self.environ.path_info
        }
    }

    /// The path and the query string: `/search?q=rust` (Werkzeug's `full_path`; always
    /// has the `?`, as Werkzeug does).
    pub fn full_path(&self) -> String {
        format!(
            "{}?{}",
            crate::urls::quote_path(self.path()),
            self.environ.query_string
        )
    }

    /// Where the application is mounted (`SCRIPT_NAME`), without a trailing slash.
    pub fn script_root(&self) -> &str {
        self.environ.script_name.trim_end_matches('/')
    }

    /// The URL scheme, `"http"` or `"https"`.
    pub fn scheme(&self) -> &str {
        &self.environ.url_scheme
    }

    /// Whether the request came over HTTPS.
    pub fn is_secure(&self) -> bool {
        self.environ.url_scheme == "https"
    }

    /// The host the client asked for, lower-cased, with the port only when it is not the
    /// scheme's default: `example.com:8080` (see [`Environ::host`](crate::Environ::host)).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("GET", "/p?q=1").header("host", "Example.COM:80").build());
    /// assert_eq!(req.host(), "example.com");
    /// assert_eq!(req.url(), "http://example.com/p?q=1");
    /// assert_eq!(req.host_url(), "http://example.com/");
    /// ```
    pub fn host(&self) -> String {
        self.environ.host()
    }

    /// `scheme://host/`.
    pub fn host_url(&self) -> String {
        format!("{}://{}/", self.scheme(), self.host())
    }

    /// `scheme://host/script_root/`: the application's root URL.
    pub fn url_root(&self) -> String {
        format!(
            "{}://{}{}/",
            self.scheme(),
            self.host(),
            crate::urls::quote_path(self.script_root())
        )
    }

    /// The URL without the query string.
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}{}{}",
            self.scheme(),
            self.host(),
            crate::urls::quote_path(self.script_root()),
            crate::urls::quote_path(self.path())
        )
    }

    /// The full URL, percent-encoded, with the query string if there is one.
    pub fn url(&self) -> String {
        let mut url = self.base_url();
        if !self.environ.query_string.is_empty() {
            url.push('?');
            url.push_str(&self.environ.query_string);
        }
        url
    }

    /// The client's address as the transport saw it (`REMOTE_ADDR`).
    pub fn remote_addr(&self) -> Option<&str> {
        self.environ.remote_addr.as_deref()
    }

    /// The addresses the request passed through: `X-Forwarded-For` (client first) if
    /// present, else the remote address. Only trust it behind a proxy you control; see
    /// [`crate::middleware::ProxyFix`].
    pub fn access_route(&self) -> Vec<String> {
        let forwarded: Vec<String> = self
            .environ
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if !forwarded.is_empty() {
            return forwarded;
        }
        self.remote_addr()
            .map(|a| vec![a.to_owned()])
            .unwrap_or_default()
    }

    /// The raw query string.
    pub fn query_string(&self) -> &str {
        &self.environ.query_string
    }

    /// The query arguments, `+` and percent-escapes decoded.
    ///
    /// Bytes that are not UTF-8 after decoding (`?q=%FF`, `?q=%e9t%e9`) stay
    /// percent-encoded (`%FF`, `%E9t%E9`), as Werkzeug keeps them since 2.3: every value is
    /// text and nothing is lost. The undecoded text is in
    /// [`query_string`](Self::query_string).
    ///
    /// # Examples
    ///
    /// ```
    /// let req = zeug::Request::new(zeug::test::EnvironBuilder::new("GET", "/?a=x+y&a=%E2%9C%93&b=%FF").build());
    /// assert_eq!(req.args().get_all("a").collect::<Vec<_>>(), ["x y", "✓"]);
    /// assert_eq!(req.args().get("b"), Some("%FF"));
    /// ```
    pub fn args(&self) -> &MultiDict {
        self.args
            .get_or_init(|| MultiDict::from_query(&self.environ.query_string))
    }

    /// The query arguments deserialized into `T` (400 with the reason when they do not fit).
    ///
    /// # Examples
    ///
    /// ```
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Page { page: u32, per_page: Option<u32> }
    ///
    /// let req = zeug::Request::new(zeug::test::EnvironBuilder::new("GET", "/?page=3").build());
    /// let p: Page = req.args_as().unwrap();
    /// assert_eq!((p.page, p.per_page), (3, None));
    /// let bad = zeug::Request::new(zeug::test::EnvironBuilder::new("GET", "/?page=x").build());
    /// assert_eq!(bad.args_as::<Page>().unwrap_err().status(), 400);
    /// ```
    pub fn args_as<T: DeserializeOwned>(&self) -> Result<T, HttpException> {
        // From the parsed arguments, encoded again, so the values are exactly those of
        // `args()` (bytes that are not UTF-8 kept percent-encoded, not replaced).
        serde_urlencoded::from_str(&self.args().to_urlencoded()).map_err(|e| {
            HttpException::bad_request().with_description(format!("Invalid query arguments: {e}"))
        })
    }

    /// The `Content-Type` header.
    pub fn content_type(&self) -> Option<&str> {
        self.environ.headers.get(CONTENT_TYPE)?.to_str().ok()
    }

    /// The content type without parameters, lower-cased (`""` when absent).
    pub fn mimetype(&self) -> String {
        crate::http_utils::mimetype_of(&self.environ.headers)
    }

    /// The content type's parameters (`charset`, `boundary`, ...), names lower-cased,
    /// quoted values unquoted. Lenient like Werkzeug's `parse_options_header`: spaces
    /// around `;` and `=` and empty items are allowed; items without `=` are skipped.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("POST", "/")
    ///     .header("content-type", "text/plain ; Charset=\"utf-8\";; a = b").build());
    /// assert_eq!(req.mimetype(), "text/plain");
    /// assert_eq!(req.mimetype_params(), [("charset".to_owned(), "utf-8".to_owned()), ("a".into(), "b".into())]);
    /// ```
    pub fn mimetype_params(&self) -> Vec<(String, String)> {
        let Some(ct) = self.content_type() else {
            return Vec::new();
        };
        let Some((_, mut rest)) = ct.split_once(';') else {
            return Vec::new();
        };
        let mut out = Vec::new();
        while !rest.is_empty() && out.len() < 64 {
            // One `name=value` item; a quoted value may contain `;`.
            let (item, after) = split_param(rest);
            rest = after;
            if let Some((k, v)) = item.split_once('=') {
                let k = k.trim();
                let v = v.trim();
                if k.is_empty() {
                    continue;
                }
                let v = crate::http_utils::unquote_header_value(v);
                out.push((k.to_ascii_lowercase(), v));
            }
        }
        out
    }

    /// The declared body length; `None` when absent or invalid.
    pub fn content_length(&self) -> Option<u64> {
        crate::http_utils::content_length_of(&self.environ.headers)
    }

    /// The `User-Agent` header as text.
    pub fn user_agent(&self) -> Option<&str> {
        self.environ.headers.get(USER_AGENT)?.to_str().ok()
    }

    /// The cookies the client sent, read as Werkzeug reads them: quoted values unquoted
    /// and unescaped (what [`Response::set_cookie`](crate::Response::set_cookie) writes),
    /// nothing percent-decoded (not even names, so `__Host-`/`__Secure-` prefixes cannot be
    /// forged), malformed pairs skipped (see
    /// [`http_utils::parse_cookie_into`](crate::http_utils::parse_cookie_into)).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("GET", "/").header("cookie", "theme=\"dark\\073 bold\"; n=1").build());
    /// assert_eq!(req.cookies().get("theme"), Some("dark; bold"));
    /// ```
    pub fn cookies(&self) -> &MultiDict {
        self.cookies.get_or_init(|| {
            let pairs: usize = self
                .environ
                .headers
                .get_all(COOKIE)
                .iter()
                .map(|h| memchr::memchr_iter(b';', h.as_bytes()).count() + 1)
                .sum();
            let mut out = MultiDict::with_capacity(pairs);
            for header in self.environ.headers.get_all(COOKIE) {
                match header.to_str() {
                    Ok(text) => crate::http_utils::parse_cookie_into(text, &mut out),
                    Err(_) => crate::http_utils::parse_cookie_into(
                        &String::from_utf8_lossy(header.as_bytes()),
                        &mut out,
                    ),
                }
            }
            out
        })
    }

    fn take_input(&self) -> Option<Input> {
        self.input.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Checks the declared length against `max_content_length` (413) without reading.
    fn check_content_length(&self) -> Result<(), HttpException> {
        if let (Some(len), Some(max)) = (self.content_length(), self.limits.max_content_length) {
            if len > max {
                return Err(HttpException::request_entity_too_large());
            }
        }
        Ok(())
    }

    /// The raw body, read once and cached (413 beyond `max_content_length`, 400 if it ends
    /// early). Empty if a form parser already consumed the stream.
    ///
    /// Under zeug's server the bytes count against the server's budget for bodies held in
    /// memory (`Options::max_buffered_bodies`) until the request is dropped: a body that
    /// does not fit while others are held gets 413. (So does what a form may keep in
    /// memory, up to `max_form_memory_size`, when [`form`](Self::form) parses the body.)
    pub fn get_data(&self) -> Result<&Bytes, HttpException> {
        self.data
            .get_or_init(|| {
                self.check_content_length()?;
                let Some(mut input) = self.take_input() else {
                    return Ok(Bytes::new());
                };
                let max = self
                    .limits
                    .max_content_length
                    .unwrap_or(formparser::DEFAULT_MAX_BUFFERED);
                let length = self.content_length();
                let Some(budget) = self.environ.extensions.get::<BodyBudget>() else {
                    return formparser::read_input_limited(&mut input, length, Some(max));
                };
                let mut held = budget.reservation();
                let data = read_budgeted(&mut input, length, max, &mut held)?;
                *self.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(held);
                Ok(data)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The body as text (lossy UTF-8).
    pub fn get_text(&self) -> Result<String, HttpException> {
        Ok(String::from_utf8_lossy(self.get_data()?).into_owned())
    }

    /// Whether the content type is JSON (`application/json` or `application/*+json`).
    pub fn is_json(&self) -> bool {
        let m = self.mimetype();
        m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
    }

    /// The body parsed as JSON into `T`: 415 when the content type is not JSON, 400 with
    /// the parser's reason when the body is malformed or does not fit `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::test::EnvironBuilder;
    /// #[derive(serde::Deserialize)]
    /// struct Todo { title: String }
    ///
    /// let req = zeug::Request::new(EnvironBuilder::new("POST", "/").json(&serde_json::json!({"title": "x"})).build());
    /// assert_eq!(req.json::<Todo>().unwrap().title, "x");
    /// let req = zeug::Request::new(EnvironBuilder::new("POST", "/").body("{}").build());
    /// assert_eq!(req.json::<serde_json::Value>().unwrap_err().status(), 415);
    /// ```
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpException> {
        if !self.is_json() {
            return Err(HttpException::unsupported_media_type()
                .with_description("Did not attempt to load JSON data because the request Content-Type was not 'application/json'."));
        }
        let data = self.get_data()?;
        serde_json::from_slice(data).map_err(|e| {
            HttpException::bad_request()
                .with_description(format!("Failed to decode JSON object: {e}"))
        })
    }

    fn form_data(&self) -> Result<&FormData, HttpException> {
        self.form
            .get_or_init(|| {
                let content_type = self.content_type().unwrap_or_default();
                let essence = content_type.split(';').next().unwrap_or("").trim();
                if !formparser::is_form_mimetype(essence) {
                    return Ok(FormData::default());
                }
                self.check_content_length()?;
                if let Some(Ok(data)) = self.data.get() {
                    let mut reader: &[u8] = data;
                    return formparser::parse_form(
                        &mut reader,
                        content_type,
                        Some(data.len() as u64),
                        &self.limits,
                    );
                }
                let Some(mut input) = self.take_input() else {
                    return Ok(FormData::default());
                };
                // What the parser may keep in memory (the text fields; files spool to
                // disk) counts against the server's budget for buffered bodies.
                if let Some(budget) = self.environ.extensions.get::<BodyBudget>() {
                    let most = self
                        .limits
                        .max_form_memory_size
                        .unwrap_or(formparser::DEFAULT_MAX_BUFFERED);
                    let mut held = budget.reservation();
                    if !held.grow(self.content_length().map_or(most, |n| n.min(most))) {
                        return Err(over_budget());
                    }
                    *self.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(held);
                }
                formparser::parse_form_input(
                    &mut input,
                    content_type,
                    self.content_length(),
                    &self.limits,
                )
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The form's text fields (urlencoded or multipart bodies; empty for other content
    /// types). Errors are limits (413) or malformed bodies (400).
    pub fn form(&self) -> Result<&MultiDict, HttpException> {
        self.form_data().map(|f| &f.form)
    }

    /// The uploaded files of a multipart form.
    pub fn files(&self) -> Result<&MultiDict<FileStorage>, HttpException> {
        self.form_data().map(|f| &f.files)
    }

    /// The query arguments followed by the form fields (Werkzeug's `values`).
    pub fn values(&self) -> Result<MultiDict, HttpException> {
        let mut out = self.args().clone();
        if self.environ.method != Method::GET && self.environ.method != Method::HEAD {
            out.extend(self.form()?.clone());
        }
        Ok(out)
    }
}

/// Splits off the first `;`-separated item, not splitting inside a quoted string.
fn split_param(s: &str) -> (&str, &str) {
    let mut quoted = false;
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b';' if !quoted => return (&s[..i], &s[i + 1..]),
            _ => {}
        }
    }
    (s, "")
}

/// 413 for a body that does not fit in the server's budget for buffered bodies.
fn over_budget() -> HttpException {
    HttpException::request_entity_too_large().with_description(
        "The server is holding too many request bodies in memory to take this one now.",
    )
}

/// Reads a whole body (at most `max` bytes) into memory, taking its bytes from `held`'s
/// budget first: the declared length up front, a chunked body as it arrives.
fn read_budgeted(
    input: &mut Input,
    length: Option<u64>,
    max: u64,
    held: &mut Reservation,
) -> Result<Bytes, HttpException> {
    if let Some(length) = length {
        if length > max {
            return Err(HttpException::request_entity_too_large());
        }
        if !held.grow(length) {
            return Err(over_budget());
        }
        return formparser::read_input_limited(input, Some(length), Some(max));
    }
    /// Takes each read's bytes from the budget before handing them on.
    struct Budgeted<'a> {
        input: &'a mut Input,
        held: &'a mut Reservation,
        over: bool,
    }
    impl std::io::Read for Budgeted<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.input.read(buf)?;
            if !self.held.grow(n as u64) {
                self.over = true;
                return Err(std::io::Error::other("over the buffered body budget"));
            }
            Ok(n)
        }
    }
    let mut reader = Budgeted {
        input,
        held,
        over: false,
    };
    match formparser::read_limited(&mut reader, None, Some(max)) {
        Err(_) if reader.over => Err(over_budget()),
        result => result.map(Bytes::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test::EnvironBuilder;

    #[test]
    fn url_parts_follow_werkzeug() {
        let mut env = EnvironBuilder::new("GET", "/a b?x=1").build();
        env.script_name = "/app".into();
        env.headers
            .insert("host", "example.com:8080".parse().unwrap());
        let req = Request::new(env);
        assert_eq!(req.path(), "/a b");
        assert_eq!(req.full_path(), "/a%20b?x=1");
        assert_eq!(req.script_root(), "/app");
        assert_eq!(req.host(), "example.com:8080");
        assert_eq!(req.host_url(), "http://example.com:8080/");
        assert_eq!(req.url_root(), "http://example.com:8080/app/");
        assert_eq!(req.base_url(), "http://example.com:8080/app/a%20b");
        assert_eq!(req.url(), "http://example.com:8080/app/a%20b?x=1");

        let mut env = EnvironBuilder::new("GET", "https://localhost/x").build();
        env.headers.insert("host", "H.com:443".parse().unwrap());
        let req = Request::new(env);
        assert_eq!(req.host(), "h.com");
        assert_eq!(req.url(), "https://h.com/x");
        assert_eq!(req.url_root(), "https://h.com/");
        assert_eq!(req.base_url(), "https://h.com/x");
    }

    #[test]
    fn mimetype_params_are_lenient() {
        let params = |ct: &str| {
            Request::new(
                EnvironBuilder::new("POST", "/")
                    .header("content-type", ct)
                    .build(),
            )
            .mimetype_params()
        };
        assert_eq!(
            params("text/html ; q=1"),
            [("q".to_owned(), "1".to_owned())]
        );
        assert_eq!(
            params("a/b; x=\"1;2\\\"\"; y"),
            [("x".to_owned(), "1;2\"".to_owned())]
        );
        assert!(params("a/b").is_empty());
        assert!(params(";\"").is_empty());
        assert!(params("a/b; =1;;").is_empty());
    }

    #[test]
    fn cookies_are_lenient() {
        let env = EnvironBuilder::new("GET", "/")
            .header(
                "cookie",
                "a=1; b=\"two\"; junk; c=%E2%9C%93; =x; %5F%5FHost-s=1",
            )
            .build();
        let req = Request::new(env);
        assert_eq!(req.cookies().get("a"), Some("1"));
        assert_eq!(req.cookies().get("b"), Some("two"));
        assert_eq!(req.cookies().get("c"), Some("%E2%9C%93"));
        assert_eq!(req.cookies().get("junk"), Some(""));
        // Names are never percent-decoded: no forged `__Host-` cookie.
        assert_eq!(req.cookies().get("__Host-s"), None);
        assert_eq!(req.cookies().len(), 5);
    }

    #[test]
    fn content_length_over_limit_is_413_before_reading() {
        let env = EnvironBuilder::new("POST", "/")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("a=1")
            .build();
        let mut req = Request::new(env);
        req.set_limits(Limits {
            max_content_length: Some(2),
            ..Limits::default()
        });
        assert_eq!(req.form().unwrap_err().status(), 413);
    }

    /// An in-memory body is taken without copying, under the same checks as a stream.
    #[test]
    fn in_memory_bodies_are_checked_like_streams() {
        let short = |ct: &str| {
            let mut env = EnvironBuilder::new("POST", "/")
                .header("content-type", ct)
                .body("a=1")
                .build();
            env.headers.insert("content-length", "10".parse().unwrap());
            Request::new(env)
        };
        let req = short("application/x-www-form-urlencoded");
        assert_eq!(req.form().unwrap_err().status(), 400);
        assert_eq!(short("text/plain").get_data().unwrap_err().status(), 400);

        let mixed_case = || {
            let env = EnvironBuilder::new("POST", "/")
                .header(
                    "content-type",
                    "Application/X-WWW-Form-Urlencoded; charset=utf-8",
                )
                .body("a=1&b=%C3%A9")
                .build();
            Request::new(env)
        };
        let mut req = mixed_case();
        req.set_limits(Limits {
            max_form_memory_size: Some(5),
            ..Limits::default()
        });
        assert_eq!(req.form().unwrap_err().status(), 413);

        let req = mixed_case();
        assert_eq!(req.form().unwrap().get("b"), Some("é"));
        // The body was taken by the form parser.
        assert_eq!(req.get_data().unwrap().len(), 0);
    }

    #[test]
    fn into_environ_gives_back_the_unread_stream_or_nothing_after_a_form() {
        let mut env = EnvironBuilder::new("POST", "/").build();
        env.input = Input::new(std::io::Cursor::new(b"streamed".to_vec()));
        let req = Request::new(env);
        assert_eq!(req.args().len(), 0);
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut req.into_environ().input, &mut body).unwrap();
        assert_eq!(body, b"streamed");

        let env = EnvironBuilder::new("POST", "/").form(&[("a", "1")]).build();
        let req = Request::new(env);
        assert_eq!(req.form().unwrap().get("a"), Some("1"));
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut req.into_environ().input, &mut body).unwrap();
        assert!(body.is_empty());
    }

    #[test]
    fn args_as_sees_what_args_sees() {
        #[derive(serde::Deserialize)]
        struct Q {
            q: String,
            n: u8,
        }
        let req = Request::new(EnvironBuilder::new("GET", "/?q=caf%C3%A9+%e9t&n=7&x").build());
        let parsed: Q = req.args_as().unwrap();
        assert_eq!(parsed.q, "café %E9t");
        assert_eq!(parsed.q, req.args().get("q").unwrap());
        assert_eq!(parsed.n, 7);
    }

    #[test]
    fn data_then_form_parses_cached_bytes() {
        let env = EnvironBuilder::new("POST", "/").form(&[("a", "1")]).build();
        let req = Request::new(env);
        assert_eq!(req.get_data().unwrap(), "a=1");
        assert_eq!(req.form().unwrap().get("a"), Some("1"));
    }

    #[test]
    fn malformed_json_is_400() {
        let env = EnvironBuilder::new("POST", "/")
            .header("content-type", "application/json")
            .body("{nope")
            .build();
        let req = Request::new(env);
        let err = req.json::<serde_json::Value>().unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn access_route_prefers_forwarded_for() {
        let mut env = EnvironBuilder::new("GET", "/")
            .header("x-forwarded-for", "1.2.3.4, 10.0.0.1")
            .build();
        env.remote_addr = Some("127.0.0.1".into());
        assert_eq!(Request::new(env).access_route(), ["1.2.3.4", "10.0.0.1"]);
    }
}
