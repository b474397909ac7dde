//! [`EnvironBuilder`]: builds an [`Environ`] by hand, the way a server would — method, URL,
//! headers, and a body given as bytes, a urlencoded form, JSON, multipart files or a stream.

use std::fmt;
use std::io::Read;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use http::{Extensions, HeaderMap, Method, Version};
use serde::Serialize;

use crate::Environ;
use crate::environ::{Input, Text, decode_path};

/// One file of a multipart body built by [`EnvironBuilder::file`].
#[derive(Debug, Clone)]
struct FilePart {
    field: String,
    filename: String,
    content_type: String,
    data: Bytes,
}

/// What the body is made of; encoded when the environ is built.
#[derive(Clone, Default)]
enum BodySource {
    #[default]
    None,
    Bytes(Bytes),
}

/// Builds an [`Environ`] for tests and tools: method, URL (path and query), headers and
/// body, with the same defaults a server would fill in (`Host: localhost`, HTTP/1.1,
/// `REMOTE_ADDR` `127.0.0.1`, `wsgi.multithread`).
///
/// Form fields and files are encoded when [`build`](Self::build) runs: as
/// `application/x-www-form-urlencoded` when there are only fields, as `multipart/form-data`
/// (with a random boundary) as soon as one [`file`](Self::file) is added.
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
///
/// let upload = EnvironBuilder::new("POST", "/upload")
///     .form(&[("title", "notes")])
///     .file("doc", "notes.txt", "hello", "text/plain")
///     .build();
/// let ct = upload.headers["content-type"].to_str().unwrap();
/// assert!(ct.starts_with("multipart/form-data; boundary="));
/// // `Request::files()` parses it back into a `FileStorage` named "notes.txt".
/// ```
pub struct EnvironBuilder {
    pub(super) method: Method,
    pub(super) url: String,
    query: Vec<(String, String)>,
    pub(super) headers: HeaderMap,
    body: BodySource,
    input: Option<(Input, Option<u64>)>,
    pub(super) form: Vec<(String, String)>,
    files: Vec<FilePart>,
    script_name: String,
    url_scheme: String,
    remote_addr: Option<Text>,
    remote_port: Option<u16>,
    version: Version,
    multithread: bool,
    multiprocess: bool,
    run_once: bool,
    extensions: Extensions,
}

impl fmt::Debug for EnvironBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvironBuilder")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl EnvironBuilder {
    /// Starts a request for `method` and `url`. `url` is a path with an optional query
    /// string, or a full `http(s)://host/path` URL (which sets the scheme and `Host`).
    /// A method that is not a valid token becomes GET.
    pub fn new(method: &str, url: &str) -> Self {
        EnvironBuilder {
            method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
            url: url.to_owned(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: BodySource::None,
            input: None,
            form: Vec::new(),
            files: Vec::new(),
            script_name: String::new(),
            url_scheme: "http".to_owned(),
            remote_addr: Some(Text::from("127.0.0.1")),
            remote_port: None,
            version: Version::HTTP_11,
            multithread: true,
            multiprocess: false,
            run_once: false,
            extensions: Extensions::new(),
        }
    }

    /// A copy of this request's method, URL, headers and in-memory body (not a stream
    /// [`input`](Self::input) nor extensions), for replaying it (the test client's redirects).
    pub(super) fn replay(&self) -> Self {
        let mut copy = EnvironBuilder::new(self.method.as_str(), &self.url);
        copy.method = self.method.clone();
        copy.query = self.query.clone();
        copy.headers = self.headers.clone();
        copy.body = self.body.clone();
        copy.form = self.form.clone();
        copy.files = self.files.clone();
        copy.script_name = self.script_name.clone();
        copy.url_scheme = self.url_scheme.clone();
        copy.remote_addr = self.remote_addr.clone();
        copy.remote_port = self.remote_port;
        copy.version = self.version;
        copy
    }

    /// Drops the body and the headers describing it (a redirect turned into a GET).
    pub(super) fn clear_body(&mut self) {
        self.body = BodySource::None;
        self.input = None;
        self.form.clear();
        self.files.clear();
        self.headers.remove(CONTENT_TYPE);
        self.headers.remove(CONTENT_LENGTH);
    }

    /// Forgets the query pairs added with [`query`](Self::query) (the URL keeps its own).
    pub(super) fn without_query_pairs(mut self) -> Self {
        self.query.clear();
        self
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

    /// Headers added so far, to change directly (raw bytes, several values...).
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Sets `Content-Type`.
    pub fn content_type(mut self, content_type: &str) -> Self {
        let value = HeaderValue::try_from(content_type)
            .unwrap_or_else(|_| panic!("invalid content type {content_type:?}"));
        self.headers.insert(CONTENT_TYPE, value);
        self
    }

    /// Sends HTTP Basic credentials (`Authorization: Basic ...`).
    ///
    /// # Examples
    ///
    /// ```
    /// let req = zeug::Request::new(zeug::test::EnvironBuilder::new("GET", "/").basic_auth("ann", "s3cr:t").build());
    /// assert_eq!(req.authorization().unwrap().password(), Some("s3cr:t"));
    /// ```
    pub fn basic_auth(mut self, username: &str, password: &str) -> Self {
        let value = crate::datastructures::Authorization::basic_header(username, password);
        self.headers.insert(
            AUTHORIZATION,
            HeaderValue::try_from(value).expect("base64 is a valid header value"),
        );
        self
    }

    /// Sends `Authorization: Bearer token`.
    pub fn bearer_auth(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Sets the raw body (replacing a form, JSON or stream set before).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = BodySource::Bytes(body.into());
        self.input = None;
        self
    }

    /// Sets the body to a stream (`wsgi.input` as a server would hand it over), with its
    /// length when known (sent as `Content-Length`).
    ///
    /// # Examples
    ///
    /// ```
    /// let env = zeug::test::EnvironBuilder::new("POST", "/")
    ///     .input(std::io::Cursor::new(b"streamed".to_vec()), Some(8))
    ///     .build();
    /// assert_eq!(zeug::Request::new(env).get_data().unwrap(), "streamed");
    /// ```
    pub fn input(mut self, reader: impl Read + Send + 'static, length: Option<u64>) -> Self {
        self.input = Some((Input::new(reader), length));
        self.body = BodySource::None;
        self
    }

    /// Adds form fields, sent urlencoded — or as multipart parts once a file is added.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        self.form.extend(
            pairs
                .iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned())),
        );
        self
    }

    /// Adds a file upload; the body becomes `multipart/form-data` with a random boundary,
    /// holding the form fields and files in the order they were added (fields first).
    pub fn file(
        mut self,
        field: &str,
        filename: &str,
        data: impl Into<Bytes>,
        content_type: &str,
    ) -> Self {
        self.files.push(FilePart {
            field: field.to_owned(),
            filename: filename.to_owned(),
            content_type: content_type.to_owned(),
            data: data.into(),
        });
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.body = BodySource::Bytes(
            serde_json::to_vec(value)
                .expect("serializable JSON test body")
                .into(),
        );
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
        self.remote_addr = addr.map(Text::from);
        self
    }

    /// Sets `REMOTE_PORT`.
    pub fn remote_port(mut self, port: u16) -> Self {
        self.remote_port = Some(port);
        self
    }

    /// Sets the HTTP version (`SERVER_PROTOCOL`; default HTTP/1.1).
    pub fn version(mut self, version: Version) -> Self {
        self.version = version;
        self
    }

    /// Sets `wsgi.multithread`, `wsgi.multiprocess` and `wsgi.run_once`.
    pub fn flags(mut self, multithread: bool, multiprocess: bool, run_once: bool) -> Self {
        self.multithread = multithread;
        self.multiprocess = multiprocess;
        self.run_once = run_once;
        self
    }

    /// Puts a value into the environ's extensions (what a server or middleware would add).
    ///
    /// # Examples
    ///
    /// ```
    /// let env = zeug::test::EnvironBuilder::new("GET", "/").extension(42u32).build();
    /// assert_eq!(env.extensions.get::<u32>(), Some(&42));
    /// ```
    pub fn extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.extensions.insert(value);
        self
    }

    /// The URL this request goes to, `scheme://host/script/path?query` (the default host is
    /// `localhost`).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = zeug::test::EnvironBuilder::new("GET", "/a?x=1").query(&[("y", "2")]);
    /// assert_eq!(b.url(), "http://localhost/a?x=1&y=2");
    /// ```
    pub fn url(&self) -> String {
        let (scheme, host, path, query) = self.split_url();
        let mut out = format!("{scheme}://{host}");
        out.push_str(&crate::urls::quote_path(&self.script_name));
        out.push_str(path);
        if !query.is_empty() {
            out.push('?');
            out.push_str(&query);
        }
        out
    }

    /// Scheme, host, raw path and full query string.
    fn split_url(&self) -> (&str, String, &str, String) {
        let mut url = self.url.as_str();
        let mut scheme = self.url_scheme.as_str();
        let mut host = None;
        for prefix in ["http://", "https://"] {
            if let Some(rest) = url.strip_prefix(prefix) {
                scheme = prefix.trim_end_matches("://");
                let end = rest.find(['/', '?']).unwrap_or(rest.len());
                host = Some(rest[..end].to_owned());
                url = &rest[end..];
            }
        }
        let url = url.split('#').next().unwrap_or("");
        let host = host.filter(|h| !h.is_empty()).unwrap_or_else(|| {
            self.headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost")
                .to_owned()
        });
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
        (scheme, host, path, query)
    }

    /// Encodes the form fields and files, if any, into the body and its content type.
    fn encode_body(&mut self) -> Option<Bytes> {
        if !self.files.is_empty() {
            let boundary = random_boundary();
            let body = encode_multipart(&boundary, &self.form, &self.files);
            let ct = format!("multipart/form-data; boundary={boundary}");
            self.headers.insert(
                CONTENT_TYPE,
                HeaderValue::try_from(ct).expect("boundary is a valid header value"),
            );
            return Some(body);
        }
        if !self.form.is_empty() {
            self.headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            return Some(
                crate::urls::urlencode(self.form.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .into(),
            );
        }
        match &self.body {
            BodySource::Bytes(b) => Some(b.clone()),
            BodySource::None => None,
        }
    }

    /// Builds the environ.
    pub fn build(mut self) -> Environ {
        let body = self.encode_body();
        let (scheme, host, path, query) = self.split_url();
        let scheme = Text::from(scheme);
        let path = path.to_owned();
        let mut headers = std::mem::take(&mut self.headers);
        match HeaderValue::try_from(host.as_str()) {
            Ok(v) => {
                headers.insert(HOST, v);
            }
            Err(_) => panic!("invalid host {host:?}"),
        }
        let default_port = if scheme == "https" { 443 } else { 80 };
        let (server_name, server_port) = crate::environ::split_host_port(&host, default_port);
        let input = match (body, self.input.take()) {
            (Some(body), _) => {
                if !headers.contains_key(CONTENT_LENGTH)
                    && (!body.is_empty() || self.method != Method::GET)
                {
                    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
                }
                Input::from_bytes(body)
            }
            (None, Some((input, len))) => {
                if let Some(len) = len {
                    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
                }
                input
            }
            (None, None) => Input::empty(),
        };
        let mut request_uri = if self.script_name.is_empty() {
            String::with_capacity(path.len() + 1 + query.len())
        } else {
            crate::urls::quote_path(&self.script_name)
        };
        request_uri.push_str(&path);
        if !query.is_empty() {
            request_uri.push('?');
            request_uri.push_str(&query);
        }
        Environ {
            method: self.method,
            script_name: if self.script_name.is_empty() {
                Text::new()
            } else {
                decode_path(&self.script_name)
            },
            path_info: decode_path(&path),
            query_string: query.into(),
            request_uri: request_uri.into(),
            version: self.version,
            headers,
            input,
            url_scheme: scheme,
            remote_addr: self.remote_addr,
            remote_port: self.remote_port,
            server_name,
            server_port,
            multithread: self.multithread,
            multiprocess: self.multiprocess,
            run_once: self.run_once,
            extensions: self.extensions,
        }
    }
}

/// A boundary that does not occur in any sane body: a fixed prefix and 24 random characters.
fn random_boundary() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut raw = [0u8; 24];
    if getrandom::getrandom(&mut raw).is_err() {
        // No OS randomness (never seen in practice): fall back on the clock.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (i, b) in raw.iter_mut().enumerate() {
            *b = (nanos >> (i % 16 * 8)) as u8 ^ i as u8;
        }
    }
    let mut out = String::from("----zeugFormBoundary");
    out.extend(
        raw.iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char),
    );
    out
}

/// Escapes a name for a `Content-Disposition` parameter the way browsers do (HTML spec):
/// `"` as `%22`, CR as `%0D`, LF as `%0A`.
fn escape_disposition(name: &str) -> String {
    name.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn encode_multipart(boundary: &str, fields: &[(String, String)], files: &[FilePart]) -> Bytes {
    let size: usize = fields
        .iter()
        .map(|(k, v)| k.len() + v.len() + 100)
        .sum::<usize>()
        + files
            .iter()
            .map(|f| f.data.len() + f.field.len() + f.filename.len() + 150)
            .sum::<usize>();
    let mut out = Vec::with_capacity(size + boundary.len() * (fields.len() + files.len() + 1));
    for (name, value) in fields {
        out.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n",
                escape_disposition(name)
            )
            .as_bytes(),
        );
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for file in files {
        let content_type = if file.content_type.is_empty() {
            "application/octet-stream"
        } else {
            &file.content_type
        };
        out.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                escape_disposition(&file.field),
                escape_disposition(&file.filename),
                content_type.replace(['\r', '\n'], ""),
            )
            .as_bytes(),
        );
        out.extend_from_slice(&file.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_random() {
        assert_ne!(random_boundary(), random_boundary());
    }

    #[test]
    fn multipart_layout() {
        let files = [FilePart {
            field: "f".into(),
            filename: "a\"b.txt".into(),
            content_type: "text/plain".into(),
            data: Bytes::from_static(b"x\r\ny"),
        }];
        let body = encode_multipart("B", &[("k".into(), "v".into())], &files);
        assert_eq!(
            body,
            "--B\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a%22b.txt\"\r\nContent-Type: text/plain\r\n\r\nx\r\ny\r\n--B--\r\n"
        );
    }

    #[test]
    fn script_name_is_part_of_the_request_uri() {
        let env = EnvironBuilder::new("GET", "https://example.com:8443/x?q=1")
            .script_name("/app")
            .build();
        assert_eq!(env.request_uri, "/app/x?q=1");
        assert_eq!(
            (env.server_name.as_str(), env.server_port),
            ("example.com", 8443)
        );
        assert_eq!(env.url_scheme, "https");
    }
}
