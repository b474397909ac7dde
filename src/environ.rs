//! [`Environ`]: the request exactly as a server hands it to an application.
//!
//! This is PEP 3333's `environ` dict made into a struct: every key has a typed field or a
//! documented home (see `docs/interface.md`). It owns no parsing beyond what a server must
//! do; query strings, forms and cookies are parsed lazily by [`crate::Request`].

use std::fmt;
use std::io::{self, Read};

use bytes::Bytes;
use http::{Extensions, HeaderMap, Method, Version};

pub use crate::datastructures::Text;

/// The request body as a blocking byte stream (`wsgi.input`).
///
/// A server hands over a stream that is already de-chunked and limited to the request's
/// length, so reading to the end never reads into the next request. Reading it may send
/// `100 Continue` to the client first; a server does that, not the app.
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use zeug::environ::Input;
///
/// let mut input = Input::from_bytes("name=zeug");
/// let mut s = String::new();
/// input.read_to_string(&mut s).unwrap();
/// assert_eq!(s, "name=zeug");
/// ```
pub struct Input {
    source: Source,
}

/// Where an [`Input`]'s bytes come from: memory (the test client, `http::Request<Bytes>`)
/// is kept as `Bytes`, so a parser can take it whole without copying or boxing.
enum Source {
    Memory(Bytes),
    Stream(Box<dyn Read + Send>),
}

impl Input {
    /// An input with no bytes.
    pub fn empty() -> Self {
        Input::from_bytes(Bytes::new())
    }

    /// An input that yields `bytes`.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Input {
            source: Source::Memory(bytes.into()),
        }
    }

    /// An input reading from any stream (a server's de-chunking reader, a file, a pipe).
    pub fn new(reader: impl Read + Send + 'static) -> Self {
        Input {
            source: Source::Stream(Box::new(reader)),
        }
    }

    /// The unread bytes, taken whole, when the input is in memory; `None` for a stream.
    pub(crate) fn take_buffered(&mut self) -> Option<Bytes> {
        match &mut self.source {
            Source::Memory(bytes) => Some(std::mem::take(bytes)),
            Source::Stream(_) => None,
        }
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.source {
            Source::Memory(bytes) => {
                let n = buf.len().min(bytes.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                bytes::Buf::advance(bytes, n);
                Ok(n)
            }
            Source::Stream(reader) => reader.read(buf),
        }
    }
}

impl Default for Input {
    fn default() -> Self {
        Input::empty()
    }
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Input(..)")
    }
}

/// One request as a server hands it over: WSGI's `environ`, typed.
///
/// `path_info` and `script_name` are percent-decoded, as in PEP 3333; the raw request
/// target is kept in `request_uri`. Headers (including `Content-Type` and
/// `Content-Length`, WSGI's `CONTENT_TYPE` and `CONTENT_LENGTH`) live in `headers`.
///
/// The string fields are [`Text`]: values up to [`Text::INLINE`] bytes (24 on 64-bit
/// targets) are stored inline, so a typical request (`"http"`, `"127.0.0.1"`, a short
/// path) costs a server no allocation for them. A `Text` reads as a `&str` (`Deref`),
/// compares with `&str` and `String`, and is assigned from either with `.into()`.
///
/// # Examples
///
/// ```
/// use zeug::Environ;
///
/// let req = http::Request::builder()
///     .uri("http://example.com/blog/hello?page=2")
///     .body(bytes::Bytes::new())
///     .unwrap();
/// let environ = Environ::from(req);
/// assert_eq!(environ.path_info, "/blog/hello");
/// assert_eq!(environ.query_string, "page=2");
/// assert_eq!(environ.server_name, "example.com");
///
/// // Middleware rewrites a field by assigning a new value.
/// let mut environ = environ;
/// environ.path_info = format!("{}/", environ.path_info).into();
/// assert_eq!(environ.path_info, "/blog/hello/");
/// let owned: String = environ.path_info.to_string();
/// assert_eq!(owned, "/blog/hello/");
/// ```
#[derive(Debug)]
pub struct Environ {
    /// `REQUEST_METHOD`.
    pub method: Method,
    /// `SCRIPT_NAME`: where the application is mounted, decoded, without a trailing slash
    /// (empty at the root).
    pub script_name: Text,
    /// `PATH_INFO`: the path below `script_name`, decoded; starts with `/` unless empty.
    pub path_info: Text,
    /// `QUERY_STRING`: the raw query string, without the `?`.
    pub query_string: Text,
    /// `REQUEST_URI` / `RAW_URI`: the request target exactly as the client sent it.
    pub request_uri: Text,
    /// `SERVER_PROTOCOL`.
    pub version: Version,
    /// Every `HTTP_*` key, plus `CONTENT_TYPE` and `CONTENT_LENGTH`.
    pub headers: HeaderMap,
    /// `wsgi.input`: the body stream.
    pub input: Input,
    /// `wsgi.url_scheme`: `"http"` or `"https"`.
    pub url_scheme: Text,
    /// `REMOTE_ADDR`: the client's IP address, if the transport has one (not for Unix sockets).
    pub remote_addr: Option<Text>,
    /// `REMOTE_PORT`.
    pub remote_port: Option<u16>,
    /// `SERVER_NAME`.
    pub server_name: Text,
    /// `SERVER_PORT`.
    pub server_port: u16,
    /// `wsgi.multithread`: the app may be called from several threads at once.
    pub multithread: bool,
    /// `wsgi.multiprocess`: the app may be running in several processes at once.
    pub multiprocess: bool,
    /// `wsgi.run_once`: the app will be called only once in this process (CGI).
    pub run_once: bool,
    /// Anything else a server or middleware adds (`werkzeug.*` / `wsgi.*` extension keys):
    /// e.g. [`crate::middleware`]'s original values, TLS details, limits.
    pub extensions: Extensions,
}

impl Default for Environ {
    fn default() -> Self {
        Environ {
            method: Method::GET,
            script_name: Text::new(),
            path_info: Text::from("/"),
            query_string: Text::new(),
            request_uri: Text::from("/"),
            version: Version::HTTP_11,
            headers: HeaderMap::new(),
            input: Input::empty(),
            url_scheme: Text::from("http"),
            remote_addr: None,
            remote_port: None,
            server_name: Text::from("localhost"),
            server_port: 80,
            multithread: false,
            multiprocess: false,
            run_once: false,
            extensions: Extensions::new(),
        }
    }
}

impl Environ {
    /// The `Host` header if present, else `server_name` with `server_port`, normalised as
    /// Werkzeug's `get_host` does: lower-cased, and without the scheme's default port
    /// (`:80` for http, `:443` for https). IPv6 literals keep their brackets.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut environ = zeug::Environ::default();
    /// environ.server_port = 5000;
    /// assert_eq!(environ.host(), "localhost:5000");
    /// environ.headers.insert("host", "Example.COM:80".parse().unwrap());
    /// assert_eq!(environ.host(), "example.com");
    /// environ.headers.insert("host", "[::1]:8080".parse().unwrap());
    /// assert_eq!(environ.host(), "[::1]:8080");
    /// ```
    pub fn host(&self) -> String {
        let default_port = if self.url_scheme.eq_ignore_ascii_case("https") {
            "443"
        } else {
            "80"
        };
        if let Some(h) = self
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
        {
            let h = h.trim();
            if !h.is_empty() {
                return normalize_host(h, default_port);
            }
        }
        let port = self.server_port.to_string();
        if port == default_port {
            self.server_name.to_ascii_lowercase()
        } else {
            let mut host = self.server_name.to_ascii_lowercase();
            if host.contains(':') && !host.starts_with('[') {
                // A bare IPv6 address as SERVER_NAME.
                host = format!("[{host}]");
            }
            format!("{host}:{port}")
        }
    }
}

/// Lower-cases `host` and drops `:default_port`, keeping IPv6 brackets.
fn normalize_host(host: &str, default_port: &str) -> String {
    let mut host = host.to_ascii_lowercase();
    let port_start = if host.starts_with('[') {
        host.rfind("]:").map(|i| i + 1)
    } else {
        host.rfind(':')
    };
    if let Some(i) = port_start {
        if &host[i + 1..] == default_port {
            host.truncate(i);
        }
    }
    host
}

/// Percent-decodes a path for `PATH_INFO`; invalid UTF-8 is replaced (U+FFFD), as
/// Werkzeug does. A short path without escapes is copied inline, with no allocation.
///
/// # Examples
///
/// ```
/// assert_eq!(zeug::environ::decode_path("/a%20b/%E2%9C%93"), "/a b/✓");
/// ```
pub fn decode_path(raw: &str) -> Text {
    Text::from(percent_encoding::percent_decode_str(raw).decode_utf8_lossy())
}

impl<B: Into<Bytes>> From<http::Request<B>> for Environ {
    /// Builds an environ from an `http::Request`: the URI's authority (or the `Host`
    /// header) gives `server_name`/`server_port`, its scheme `url_scheme`.
    fn from(req: http::Request<B>) -> Self {
        let (parts, body) = req.into_parts();
        let uri = parts.uri;
        let url_scheme = Text::from(uri.scheme_str().unwrap_or("http"));
        let default_port = if url_scheme == "https" { 443 } else { 80 };
        let mut headers = parts.headers;
        let authority = uri.authority().map(|a| a.as_str().to_owned()).or_else(|| {
            headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        });
        let (server_name, server_port) = match &authority {
            Some(a) => split_host_port(a, default_port),
            None => (Text::from("localhost"), default_port),
        };
        if let (Some(a), false) = (&authority, headers.contains_key(http::header::HOST)) {
            if let Ok(v) = a.parse() {
                headers.insert(http::header::HOST, v);
            }
        }
        let request_uri = Text::from(uri.path_and_query().map_or("/", |p| p.as_str()));
        let body: Bytes = body.into();
        if !body.is_empty() && !headers.contains_key(http::header::CONTENT_LENGTH) {
            headers.insert(http::header::CONTENT_LENGTH, body.len().into());
        }
        Environ {
            method: parts.method,
            script_name: Text::new(),
            path_info: decode_path(uri.path()),
            query_string: Text::from(uri.query().unwrap_or("")),
            request_uri,
            version: parts.version,
            headers,
            input: Input::from_bytes(body),
            url_scheme,
            server_name,
            server_port,
            extensions: parts.extensions,
            ..Environ::default()
        }
    }
}

impl From<Environ> for http::Request<Input> {
    /// Turns the environ back into an `http::Request` whose body is the input stream; the
    /// URI is the full URL from scheme, host and the request target. The target is the raw
    /// `request_uri` when it still decodes to `script_name + path_info` and carries
    /// `query_string` (so an encoded `%2F` stays `%2F`); when a middleware changed those, it
    /// is rebuilt from them, percent-encoded.
    ///
    /// # Examples
    ///
    /// ```
    /// let env = zeug::Environ::from(http::Request::get("/a%2Fb?x=1").body(bytes::Bytes::new()).unwrap());
    /// assert_eq!(env.path_info, "/a/b");
    /// let back: http::Request<zeug::environ::Input> = env.into();
    /// assert_eq!(back.uri(), "http://localhost/a%2Fb?x=1");
    /// ```
    fn from(env: Environ) -> Self {
        let host = env.host();
        let target = request_target(&env);
        let uri = format!("{}://{}{}", env.url_scheme, host, target);
        let mut builder = http::Request::builder()
            .method(env.method)
            .version(env.version);
        builder = match uri.parse::<http::Uri>() {
            Ok(u) => builder.uri(u),
            Err(_) => builder.uri(target),
        };
        let mut req = builder.body(env.input).unwrap_or_default();
        *req.headers_mut() = env.headers;
        *req.extensions_mut() = env.extensions;
        req
    }
}

/// The origin-form target for `env`: `request_uri` if it is consistent with the decoded
/// fields, else the path and query rebuilt from them.
fn request_target(env: &Environ) -> String {
    let raw = env.request_uri.as_str();
    if raw.starts_with('/') {
        let (raw_path, raw_query) = match raw.split_once('?') {
            Some((p, q)) => (p, q),
            None => (raw, ""),
        };
        if raw_query == env.query_string {
            let decoded = decode_path(raw_path);
            if decoded.len() == env.script_name.len() + env.path_info.len()
                && decoded.starts_with(env.script_name.as_str())
                && decoded.ends_with(env.path_info.as_str())
            {
                return raw.to_owned();
            }
        }
    }
    let path = format!("{}{}", env.script_name, env.path_info);
    let mut target =
        percent_encoding::utf8_percent_encode(&path, crate::urls::PATH_ENCODE_SET).to_string();
    if target.is_empty() {
        target.push('/');
    }
    if !env.query_string.is_empty() {
        target.push('?');
        target.push_str(&env.query_string);
    }
    target
}

/// Splits `host[:port]` (IPv6 literals in brackets) into name and port.
pub(crate) fn split_host_port(authority: &str, default_port: u16) -> (Text, u16) {
    if let Some(rest) = authority.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let name = Text::from(&rest[..end]);
            let port = rest[end + 1..]
                .strip_prefix(':')
                .and_then(|p| p.parse().ok())
                .unwrap_or(default_port);
            return (name, port);
        }
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => {
            (Text::from(name), port.parse().unwrap_or(default_port))
        }
        _ => (Text::from(authority), default_port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_http_request_fills_the_wsgi_keys() {
        let req = http::Request::builder()
            .method("POST")
            .uri("https://example.com:8443/a%20b?x=1")
            .header("content-type", "text/plain")
            .body("hello")
            .unwrap();
        let mut env = Environ::from(req);
        assert_eq!(env.method, Method::POST);
        assert_eq!(env.path_info, "/a b");
        assert_eq!(env.query_string, "x=1");
        assert_eq!(env.request_uri, "/a%20b?x=1");
        assert_eq!(env.url_scheme, "https");
        assert_eq!(env.server_name, "example.com");
        assert_eq!(env.server_port, 8443);
        assert_eq!(env.headers["content-length"], "5");
        let mut body = String::new();
        env.input.read_to_string(&mut body).unwrap();
        assert_eq!(body, "hello");
    }

    #[test]
    fn round_trips_to_http_request() {
        let mut env = Environ {
            path_info: "/a b".into(),
            query_string: "q=1".into(),
            ..Environ::default()
        };
        env.headers.insert("host", "example.org".parse().unwrap());
        let req: http::Request<Input> = env.into();
        assert_eq!(req.uri().to_string(), "http://example.org/a%20b?q=1");
    }

    #[test]
    fn splits_ipv6_hosts() {
        assert_eq!(split_host_port("[::1]:5000", 80), ("::1".into(), 5000));
        assert_eq!(
            split_host_port("example.com", 80),
            ("example.com".into(), 80)
        );
        assert_eq!(split_host_port("::1", 80), ("::1".into(), 80));
    }

    #[test]
    fn raw_target_survives_the_round_trip() {
        let req = http::Request::get("/a%2Fb/%7Ec?x=%20")
            .body(Bytes::new())
            .unwrap();
        let env = Environ::from(req);
        assert_eq!(env.path_info, "/a/b/~c");
        let back: http::Request<Input> = env.into();
        assert_eq!(back.uri(), "http://localhost/a%2Fb/%7Ec?x=%20");

        // A middleware moved the prefix into SCRIPT_NAME: still consistent.
        let mut env = Environ::from(http::Request::get("/api/x%2Fy").body(Bytes::new()).unwrap());
        env.script_name = "/api".into();
        env.path_info = "/x/y".into();
        let back: http::Request<Input> = env.into();
        assert_eq!(back.uri(), "http://localhost/api/x%2Fy");

        // The path was rewritten: the target is rebuilt from the decoded fields.
        let mut env = Environ::from(http::Request::get("/a%2Fb?q=1").body(Bytes::new()).unwrap());
        env.path_info = "/other".into();
        let back: http::Request<Input> = env.into();
        assert_eq!(back.uri(), "http://localhost/other?q=1");
        let mut env = Environ::from(http::Request::get("/a?q=1").body(Bytes::new()).unwrap());
        env.query_string = "q=2".into();
        let back: http::Request<Input> = env.into();
        assert_eq!(back.uri(), "http://localhost/a?q=2");
    }

    #[test]
    fn host_is_normalised_like_werkzeug() {
        let mut env = Environ::default();
        for (scheme, header, want) in [
            ("http", "Example.COM:80", "example.com"),
            ("https", "example.com:443", "example.com"),
            ("https", "example.com:80", "example.com:80"),
            ("http", "EXAMPLE.com:8080", "example.com:8080"),
            ("http", "[::1]:80", "[::1]"),
            ("http", "[::1]:8080", "[::1]:8080"),
            ("http", "[::1]", "[::1]"),
        ] {
            env.url_scheme = scheme.into();
            env.headers.insert("host", header.parse().unwrap());
            assert_eq!(env.host(), want, "{scheme} {header}");
        }
        env.headers.remove("host");
        env.url_scheme = "https".into();
        env.server_name = "::1".into();
        env.server_port = 8443;
        assert_eq!(env.host(), "[::1]:8443");
        env.server_port = 443;
        env.server_name = "Srv".into();
        assert_eq!(env.host(), "srv");
    }
}
