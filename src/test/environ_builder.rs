//! [`EnvironBuilder`]: builds an [`Environ`] by hand, the way a server would.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{HeaderMap, Method};
use serde::Serialize;

use crate::environ::{decode_path, Input};
use crate::Environ;

/// Builds an [`Environ`] for tests and tools: method, URL (path and query), headers and
/// body, with the same defaults a server would fill in (`Host: localhost`, HTTP/1.1).
///
/// # Examples
///
/// ```
/// use zeug::test::EnvironBuilder;
///
/// let environ = EnvironBuilder::new("PUT", "/items/1?verbose=1")
///     .header("x-token", "abc")
///     .json(&serde_json::json!({"name": "x"}))
///     .build();
/// assert_eq!(environ.method, "PUT");
/// assert_eq!(environ.query_string, "verbose=1");
/// assert_eq!(environ.headers["content-type"], "application/json");
/// ```
#[derive(Debug)]
pub struct EnvironBuilder {
    method: Method,
    url: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
    script_name: String,
    url_scheme: String,
    remote_addr: Option<String>,
}

impl EnvironBuilder {
    /// Starts a request for `method` and `url`. `url` is a path with an optional query
    /// string, or a full `http(s)://host/path` URL (which sets the scheme and `Host`).
    /// An invalid method becomes an extension method as written.
    pub fn new(method: &str, url: &str) -> Self {
        EnvironBuilder {
            method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
            url: url.to_owned(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            script_name: String::new(),
            url_scheme: "http".to_owned(),
            remote_addr: Some("127.0.0.1".to_owned()),
        }
    }

    /// Adds query arguments (appended to any in the URL).
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        self.query.extend(
            pairs
                .iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned())),
        );
        self
    }

    /// Appends a header. Invalid names or values panic: this is test set-up.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name =
            HeaderName::try_from(name).unwrap_or_else(|_| panic!("invalid header name {name:?}"));
        let value = HeaderValue::try_from(value)
            .unwrap_or_else(|_| panic!("invalid header value {value:?}"));
        self.headers.append(name, value);
        self
    }

    /// Headers added so far, to change directly.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Sets the raw body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a urlencoded form body and its content type.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        self.body =
            crate::urls::urlencode(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))).into();
        self.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.body = serde_json::to_vec(value)
            .expect("serializable JSON test body")
            .into();
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self
    }

    /// Sets `SCRIPT_NAME` (where the app is mounted).
    pub fn script_name(mut self, script_name: &str) -> Self {
        self.script_name = script_name.trim_end_matches('/').to_owned();
        self
    }

    /// Sets the URL scheme (`"https"` makes `is_secure` true).
    pub fn url_scheme(mut self, scheme: &str) -> Self {
        self.url_scheme = scheme.to_owned();
        self
    }

    /// Sets `REMOTE_ADDR` (default `127.0.0.1`).
    pub fn remote_addr(mut self, addr: Option<&str>) -> Self {
        self.remote_addr = addr.map(str::to_owned);
        self
    }

    /// Builds the environ.
    pub fn build(self) -> Environ {
        let mut url = self.url.as_str();
        let mut scheme = self.url_scheme;
        let mut headers = self.headers;
        for prefix in ["http://", "https://"] {
            if let Some(rest) = url.strip_prefix(prefix) {
                scheme = prefix.trim_end_matches("://").to_owned();
                let end = rest.find(['/', '?']).unwrap_or(rest.len());
                if let Ok(v) = HeaderValue::try_from(&rest[..end]) {
                    headers.insert(HOST, v);
                }
                url = &rest[end..];
            }
        }
        let (path, query) = match url.split_once('?') {
            Some((p, q)) => (p, q.to_owned()),
            None => (url, String::new()),
        };
        let mut query = query;
        if !self.query.is_empty() {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&crate::urls::urlencode(
                self.query.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            ));
        }
        let path = if path.is_empty() { "/" } else { path };
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| "localhost".to_owned());
        if !headers.contains_key(HOST) {
            headers.insert(HOST, HeaderValue::from_static("localhost"));
        }
        let default_port = if scheme == "https" { 443 } else { 80 };
        let (server_name, server_port) = crate::environ::split_host_port(&host, default_port);
        if !self.body.is_empty() && !headers.contains_key(CONTENT_LENGTH) {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(self.body.len()));
        }
        let mut request_uri = path.to_owned();
        if !query.is_empty() {
            request_uri.push('?');
            request_uri.push_str(&query);
        }
        Environ {
            method: self.method,
            script_name: decode_path(&self.script_name),
            path_info: decode_path(path),
            query_string: query,
            request_uri,
            headers,
            input: Input::from_bytes(self.body),
            url_scheme: scheme,
            remote_addr: self.remote_addr,
            server_name,
            server_port,
            ..Environ::default()
        }
    }
}
