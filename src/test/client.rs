//! [`Client`], its [`RequestBuilder`] and [`TestResponse`]: requests in, whole responses
//! out, with a cookie jar and optional redirect following.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::header::{AUTHORIZATION, COOKIE, HOST, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::EnvironBuilder;
use super::cookie_jar::{CookieJar, StoredCookie};
use crate::{Application, Response};

/// How many redirects [`Client`] follows in one chain by default before giving up.
pub const DEFAULT_MAX_REDIRECTS: usize = 30;

/// Calls an application in-process, as a server would, without a socket.
///
/// It keeps a cookie jar (shared by clones of the client): cookies the app sets are sent
/// back on later requests when their domain, path, expiry and `Secure` flag allow, and a
/// `Max-Age=0` or past `Expires` deletes them. With [`follow_redirects`](Self::follow_redirects)
/// it follows `Location` like a browser: 301/302/303 become GET without a body (HEAD stays
/// HEAD), 307/308 repeat the method and body; the responses on the way are kept in
/// [`TestResponse::history`].
///
/// # Examples
///
/// ```
/// use zeug::{test::Client, utils::redirect, wrappers::CookieOptions, Environ, Request, Response};
///
/// fn app(environ: Environ) -> Response {
///     let req = Request::new(environ);
///     match req.path() {
///         "/login" => redirect("/", 303).with_cookie("user", "ann", CookieOptions::new()),
///         _ => Response::new(format!("hello {}", req.cookies().get("user").unwrap_or("stranger"))),
///     }
/// }
///
/// let client = Client::new(app).follow_redirects(true);
/// let res = client.post("/login").form(&[("name", "ann")]).send();
/// assert_eq!(res.status(), 200);
/// assert_eq!(res.text(), "hello ann");
/// assert_eq!(res.history().len(), 1);
/// assert_eq!(res.request().url, "http://localhost/");
/// ```
#[derive(Clone)]
pub struct Client {
    app: Arc<dyn Application>,
    jar: Option<Arc<Mutex<CookieJar>>>,
    follow_redirects: bool,
    max_redirects: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("cookies", &self.jar.as_ref().map(|j| lock(j).cookies()))
            .field("follow_redirects", &self.follow_redirects)
            .finish_non_exhaustive()
    }
}

fn lock(jar: &Mutex<CookieJar>) -> MutexGuard<'_, CookieJar> {
    jar.lock().unwrap_or_else(|e| e.into_inner())
}

impl Client {
    /// A client for `app`, with an empty cookie jar, not following redirects.
    pub fn new(app: impl Application) -> Self {
        Client {
            app: Arc::new(app),
            jar: Some(Arc::new(Mutex::new(CookieJar::default()))),
            follow_redirects: false,
            max_redirects: DEFAULT_MAX_REDIRECTS,
        }
    }

    /// Whether to keep cookies at all (default true; Werkzeug's `use_cookies`).
    ///
    /// # Examples
    ///
    /// ```
    /// let client = zeug::test::Client::new(|_env: zeug::Environ| {
    ///     zeug::Response::new("").with_header("set-cookie", "a=1")
    /// }).use_cookies(false);
    /// client.get("/").send();
    /// assert!(client.cookies().is_empty());
    /// ```
    pub fn use_cookies(mut self, use_cookies: bool) -> Self {
        self.jar = use_cookies.then(|| Arc::new(Mutex::new(CookieJar::default())));
        self
    }

    /// Whether every request follows redirects (default false; one request can ask with
    /// [`RequestBuilder::follow_redirects`]).
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// How many redirects one request may follow before the client panics (default
    /// [`DEFAULT_MAX_REDIRECTS`]).
    ///
    /// The client also panics early on a certain loop: the same request (method, URL and
    /// the cookies it carries) answered with a redirect twice in one chain. A URL visited
    /// again with different cookies is not a loop (a login bounce sets a cookie and comes
    /// back), so a chain that keeps changing cookies is stopped by this limit instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let client = zeug::test::Client::new(|_env: zeug::Environ| zeug::redirect("/", 302)).max_redirects(3);
    /// let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| client.get("/x").follow_redirects(true).send()));
    /// assert!(result.is_err()); // "/" redirects to itself: a loop
    /// ```
    pub fn max_redirects(mut self, max: usize) -> Self {
        self.max_redirects = max;
        self
    }

    /// Puts a cookie in the jar for `localhost`, path `/`.
    ///
    /// # Examples
    ///
    /// ```
    /// let client = zeug::test::Client::new(|env: zeug::Environ| {
    ///     zeug::Response::new(zeug::Request::new(env).cookies().get("k").unwrap_or("-").to_owned())
    /// });
    /// client.set_cookie("k", "v; w");
    /// assert_eq!(client.get("/").send().text(), "v; w");
    /// assert_eq!(client.get_cookie("k").as_deref(), Some("v; w"));
    /// ```
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.set_cookie_for(name, value, "localhost", "/");
    }

    /// Puts a cookie in the jar for `domain` (and its subdomains) under `path`.
    pub fn set_cookie_for(&self, name: &str, value: &str, domain: &str, path: &str) {
        if let Some(jar) = &self.jar {
            // Written as `Response::set_cookie` would write it.
            lock(jar).insert(StoredCookie {
                name: crate::http_utils::quote_cookie_name(name).into_owned(),
                value: value.to_owned(),
                raw_value: crate::http_utils::quote_cookie_value(value).into_owned(),
                domain: domain.trim_start_matches('.').to_ascii_lowercase(),
                host_only: false,
                path: path.to_owned(),
                expires: None,
                secure: false,
                http_only: false,
            });
        }
    }

    /// The value of a cookie in the jar (the first one with that name).
    pub fn get_cookie(&self, name: &str) -> Option<String> {
        let jar = self.jar.as_ref()?;
        let cookies = lock(jar).cookies();
        cookies
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| c.value)
    }

    /// Every live cookie in the jar.
    pub fn cookies(&self) -> Vec<StoredCookie> {
        self.jar
            .as_ref()
            .map(|j| lock(j).cookies())
            .unwrap_or_default()
    }

    /// Removes a cookie from the jar (every domain and path).
    pub fn delete_cookie(&self, name: &str) {
        if let Some(jar) = &self.jar {
            lock(jar).remove(name);
        }
    }

    /// Empties the jar.
    pub fn clear_cookies(&self) {
        if let Some(jar) = &self.jar {
            lock(jar).clear();
        }
    }

    /// Starts a request with any method.
    pub fn request(&self, method: &str, url: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            client: self,
            env: EnvironBuilder::new(method, url),
            follow_redirects: None,
        }
    }

    /// Starts a GET request.
    pub fn get(&self, url: &str) -> RequestBuilder<'_> {
        self.request("GET", url)
    }

    /// Starts a POST request.
    pub fn post(&self, url: &str) -> RequestBuilder<'_> {
        self.request("POST", url)
    }

    /// Starts a PUT request.
    pub fn put(&self, url: &str) -> RequestBuilder<'_> {
        self.request("PUT", url)
    }

    /// Starts a PATCH request.
    pub fn patch(&self, url: &str) -> RequestBuilder<'_> {
        self.request("PATCH", url)
    }

    /// Starts a DELETE request.
    pub fn delete(&self, url: &str) -> RequestBuilder<'_> {
        self.request("DELETE", url)
    }

    /// Starts a HEAD request.
    pub fn head(&self, url: &str) -> RequestBuilder<'_> {
        self.request("HEAD", url)
    }

    /// Starts an OPTIONS request.
    pub fn options(&self, url: &str) -> RequestBuilder<'_> {
        self.request("OPTIONS", url)
    }

    /// Sends a request built with [`EnvironBuilder`] (for what [`RequestBuilder`] lacks).
    pub fn send(&self, env: EnvironBuilder) -> TestResponse {
        self.run(env, self.follow_redirects)
    }

    /// Calls the app once: cookies in, cookies out.
    fn call_once(&self, env: EnvironBuilder) -> TestResponse {
        self.call_once_keyed(env).0
    }

    /// [`call_once`](Self::call_once), also returning the `Cookie` header the request
    /// carried (with the method and URL, what identifies a request in a redirect chain).
    fn call_once_keyed(&self, env: EnvironBuilder) -> (TestResponse, String) {
        let (response, request, cookie_header) = self.call_app(env);
        (TestResponse::collect(response, request), cookie_header)
    }

    /// Calls the app once, cookies in and out, leaving the body unread.
    fn call_app(&self, mut env: EnvironBuilder) -> (Response, RequestInfo, String) {
        if let Some(jar) = &self.jar {
            let mut jar = lock(jar);
            if !jar.is_empty() {
                let url = env.url();
                let (scheme, rest) = url.split_once("://").unwrap_or(("http", &url));
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let path = path.split('?').next().unwrap_or("/");
                let host = strip_port(authority);
                if let Some(header) = jar.header_for(host, path, scheme == "https") {
                    if let Ok(v) = HeaderValue::try_from(header) {
                        env.headers.append(COOKIE, v);
                    }
                }
            }
        }
        let environ = env.build();
        let method = environ.method.clone();
        let host = environ
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let mut url = String::with_capacity(
            environ.url_scheme.len() + 3 + host.len() + environ.request_uri.len(),
        );
        url.push_str(&environ.url_scheme);
        url.push_str("://");
        url.push_str(host);
        url.push_str(&environ.request_uri);
        let mut cookie_header = String::new();
        for v in environ.headers.get_all(COOKIE) {
            if !cookie_header.is_empty() {
                cookie_header.push_str("; ");
            }
            cookie_header.push_str(&String::from_utf8_lossy(v.as_bytes()));
        }
        let response = self.app.call(environ);
        if let Some(jar) = &self.jar {
            let mut set_cookies = response.headers().get_all(SET_COOKIE).iter().peekable();
            if set_cookies.peek().is_some() {
                let mut jar = lock(jar);
                let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let path = path.split('?').next().unwrap_or("/");
                for value in set_cookies {
                    jar.store(
                        &String::from_utf8_lossy(value.as_bytes()),
                        strip_port(authority),
                        path,
                    );
                }
            }
        }
        (response, RequestInfo { method, url }, cookie_header)
    }

    fn run(&self, mut env: EnvironBuilder, follow: bool) -> TestResponse {
        if !follow {
            return self.call_once(env);
        }
        let mut history: Vec<TestResponse> = Vec::new();
        // (method, URL, Cookie header) of each redirected request in the chain.
        let mut seen: Vec<(Method, String, String)> = Vec::new();
        loop {
            let next = env.replay();
            let (mut res, cookie_header) = self.call_once_keyed(env);
            let status = res.status.as_u16();
            let location = match (status, res.location()) {
                (301 | 302 | 303 | 307 | 308, Some(l)) => l.to_owned(),
                _ => {
                    res.history = history;
                    return res;
                }
            };
            let target = resolve_url(&res.request.url, &location);
            let mut method = res.request.method.clone();
            if !matches!(status, 307 | 308) && method != Method::HEAD {
                method = Method::GET;
            }
            if history.len() >= self.max_redirects {
                panic!(
                    "too many redirects: more than {} (last: {} {} -> {target})",
                    self.max_redirects, res.request.method, res.request.url
                );
            }
            // A loop is the same request (method, URL and cookies) redirected a second
            // time: the app will answer it the same way again. A request repeated with
            // different cookies (`/protected` -> `/login` sets a session -> `/protected`)
            // is progress; anything else is bounded by `max_redirects`.
            let key = (
                res.request.method.clone(),
                res.request.url.clone(),
                cookie_header,
            );
            if seen.contains(&key) {
                let chain: Vec<&str> = history.iter().map(|r| r.request.url.as_str()).collect();
                panic!(
                    "redirect loop detected: {} {} was redirected to {target} again with the same cookies ({} -> {})",
                    res.request.method,
                    res.request.url,
                    chain.join(" -> "),
                    res.request.url
                );
            }
            seen.push(key);
            let same_host = authority_of(&target) == authority_of(&res.request.url);
            history.push(res);
            let mut env_next = next;
            env_next.url = target;
            if env_next.method != method {
                env_next.method = method;
                env_next.clear_body();
            } else if !matches!(status, 307 | 308) {
                env_next.clear_body();
            }
            // The URL now carries its own query string.
            env_next = env_next.without_query_pairs();
            env_next.headers.remove(COOKIE);
            if !same_host {
                env_next.headers.remove(AUTHORIZATION);
            }
            env_next.headers.remove(HOST);
            env = env_next;
        }
    }
}

fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .split(']')
            .next()
            .map_or(authority, |h| &authority[..h.len() + 1]);
    }
    authority.split(':').next().unwrap_or(authority)
}

fn authority_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    &rest[..rest.find(['/', '?']).unwrap_or(rest.len())]
}

/// Resolves a `Location` against the URL it answered (RFC 3986 §5.2), dropping fragments.
///
/// # Examples
///
/// ```
/// use zeug::test::resolve_url;
/// assert_eq!(resolve_url("http://localhost/a/b?x=1", "c"), "http://localhost/a/c");
/// assert_eq!(resolve_url("http://localhost/a/b", "../c?y=2"), "http://localhost/c?y=2");
/// assert_eq!(resolve_url("http://localhost/a/b", "/d#top"), "http://localhost/d");
/// assert_eq!(resolve_url("http://localhost/a/b", "?q=1"), "http://localhost/a/b?q=1");
/// assert_eq!(resolve_url("https://localhost/a", "//example.com/x"), "https://example.com/x");
/// assert_eq!(resolve_url("http://localhost/a", "https://example.com"), "https://example.com/");
/// ```
pub fn resolve_url(base: &str, location: &str) -> String {
    let location = location.trim();
    let location = location.split('#').next().unwrap_or("");
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let authority = authority_of(base);
    let after_authority = &rest[authority.len()..];
    let (base_path, base_query) = match after_authority.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (after_authority, None),
    };
    let base_path = if base_path.is_empty() { "/" } else { base_path };
    if let Some(pos) = location.find("://") {
        let is_scheme = location[..pos]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
        if is_scheme && pos > 0 {
            let (s, r) = location.split_at(pos + 3);
            let auth_len = r.find(['/', '?']).unwrap_or(r.len());
            let (auth, tail) = r.split_at(auth_len);
            let (path, query) = split_query(tail);
            return join(
                &s[..s.len() - 3],
                auth,
                &remove_dot_segments(path_or_root(path)),
                query,
            );
        }
    }
    if let Some(r) = location.strip_prefix("//") {
        let auth_len = r.find(['/', '?']).unwrap_or(r.len());
        let (auth, tail) = r.split_at(auth_len);
        let (path, query) = split_query(tail);
        return join(
            scheme,
            auth,
            &remove_dot_segments(path_or_root(path)),
            query,
        );
    }
    if location.is_empty() {
        return join(scheme, authority, base_path, base_query);
    }
    if let Some(q) = location.strip_prefix('?') {
        return join(scheme, authority, base_path, Some(q));
    }
    let (path, query) = split_query(location);
    let merged = if path.starts_with('/') {
        path.to_owned()
    } else {
        let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{path}")
    };
    join(scheme, authority, &remove_dot_segments(&merged), query)
}

fn path_or_root(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

fn split_query(s: &str) -> (&str, Option<&str>) {
    match s.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (s, None),
    }
}

fn join(scheme: &str, authority: &str, path: &str, query: Option<&str>) -> String {
    match query {
        Some(q) => format!("{scheme}://{authority}{path}?{q}"),
        None => format!("{scheme}://{authority}{path}"),
    }
}

/// RFC 3986 §5.2.4, on `/`-separated segments.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

/// A request being built by a [`Client`]; finish it with [`send`](Self::send).
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder<'c> {
    client: &'c Client,
    env: EnvironBuilder,
    follow_redirects: Option<bool>,
}

impl RequestBuilder<'_> {
    /// Adds query arguments.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        self.env = self.env.query(pairs);
        self
    }

    /// Adds a header. The test client is where requests are *written*, not received: an
    /// invalid name or value is the test's mistake and panics with the offending text,
    /// failing the test where it was made.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.env = self.env.header(name, value);
        self
    }

    /// Sets `Content-Type`.
    pub fn content_type(mut self, content_type: &str) -> Self {
        self.env = self.env.content_type(content_type);
        self
    }

    /// Sends form fields (urlencoded, or multipart parts when a file is added).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        self.env = self.env.form(pairs);
        self
    }

    /// Adds a file upload (the body becomes `multipart/form-data`).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::Client, Environ, Request, Response};
    ///
    /// let client = Client::new(|env: Environ| {
    ///     let req = Request::new(env);
    ///     Response::new(format!("{} {}", req.mimetype(), req.get_text().unwrap().contains("filename=\"a.txt\"")))
    /// });
    /// let res = client.post("/").file("upload", "a.txt", "hello", "text/plain").send();
    /// assert_eq!(res.text(), "multipart/form-data true");
    /// ```
    pub fn file(
        mut self,
        field: &str,
        filename: &str,
        data: impl Into<Bytes>,
        content_type: &str,
    ) -> Self {
        self.env = self.env.file(field, filename, data, content_type);
        self
    }

    /// Sends a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.env = self.env.json(value);
        self
    }

    /// Sends a raw body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.env = self.env.body(body);
        self
    }

    /// Sends HTTP Basic credentials.
    ///
    /// # Examples
    ///
    /// ```
    /// let client = zeug::test::Client::new(|env: zeug::Environ| {
    ///     let req = zeug::Request::new(env);
    ///     zeug::Response::new(req.authorization().and_then(|a| a.username()).unwrap_or("-").to_owned())
    /// });
    /// assert_eq!(client.get("/").basic_auth("ann", "pw").send().text(), "ann");
    /// ```
    pub fn basic_auth(mut self, username: &str, password: &str) -> Self {
        self.env = self.env.basic_auth(username, password);
        self
    }

    /// Sends `Authorization: Bearer token`.
    pub fn bearer_auth(mut self, token: &str) -> Self {
        self.env = self.env.bearer_auth(token);
        self
    }

    /// Changes anything else about the request through its [`EnvironBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// let client = zeug::test::Client::new(|env: zeug::Environ| zeug::Response::new(env.url_scheme));
    /// assert_eq!(client.get("/").environ(|b| b.url_scheme("https")).send().text(), "https");
    /// ```
    pub fn environ(mut self, change: impl FnOnce(EnvironBuilder) -> EnvironBuilder) -> Self {
        self.env = change(self.env);
        self
    }

    /// Whether this request follows redirects, whatever the client's setting (the same name
    /// and argument as [`Client::follow_redirects`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let client = zeug::test::Client::new(|env: zeug::Environ| match env.path_info.as_str() {
    ///     "/old" => zeug::redirect("/new", 301),
    ///     _ => zeug::Response::new("new"),
    /// });
    /// assert_eq!(client.get("/old").send().status(), 301);
    /// assert_eq!(client.get("/old").follow_redirects(true).send().text(), "new");
    /// let client = client.follow_redirects(true);
    /// assert_eq!(client.get("/old").follow_redirects(false).send().status(), 301);
    /// ```
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = Some(follow);
        self
    }

    /// Calls the app once (no redirects) and returns the response with its body unread,
    /// for the streaming and WebSocket helpers in `live.rs`.
    pub(super) fn send_unread(self) -> (Response, RequestInfo) {
        let (response, request, _) = self.client.call_app(self.env);
        (response, request)
    }

    /// Sends the request and collects the whole response.
    pub fn send(self) -> TestResponse {
        let follow = self
            .follow_redirects
            .unwrap_or(self.client.follow_redirects);
        self.client.run(self.env, follow)
    }
}

/// The request that produced a [`TestResponse`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestInfo {
    /// The method sent.
    pub method: Method,
    /// The full URL requested, `scheme://host/path?query`.
    pub url: String,
}

/// A response collected by the test client: status, headers, the whole body, the request
/// that produced it and, when redirects were followed, the responses on the way.
#[derive(Debug)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    request: RequestInfo,
    history: Vec<TestResponse>,
}

impl TestResponse {
    pub(super) fn collect(response: Response, request: RequestInfo) -> Self {
        let (status, headers, body) = response.into_parts();
        let body = if request.method == Method::HEAD {
            Bytes::new()
        } else {
            body.into_bytes()
                .unwrap_or_else(|e| panic!("the response body failed while being read: {e}"))
        };
        TestResponse {
            status,
            headers,
            body,
            request,
            history: Vec::new(),
        }
    }

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

    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// Whether the status is a redirect (3xx with a `Location`).
    pub fn is_redirect(&self) -> bool {
        self.status.is_redirection() && self.headers.contains_key(LOCATION)
    }

    /// The body bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; panics with the body when it is not valid JSON for `T`.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not the expected JSON ({e}): {}",
                self.text()
            )
        })
    }

    /// The mimetype without parameters.
    pub fn mimetype(&self) -> String {
        crate::http_utils::mimetype_of(&self.headers)
    }

    /// The request that produced this response (after redirects, the last one).
    pub fn request(&self) -> &RequestInfo {
        &self.request
    }

    /// The URL this response answered (after redirects, the final URL).
    pub fn url(&self) -> &str {
        &self.request.url
    }

    /// The redirect responses followed to get here, oldest first (empty without redirects).
    pub fn history(&self) -> &[TestResponse] {
        &self.history
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments() {
        assert_eq!(remove_dot_segments("/a/b/../../../c"), "/c");
        assert_eq!(remove_dot_segments("/a/./b/."), "/a/b/");
        assert_eq!(remove_dot_segments("/a/.."), "/");
    }

    #[test]
    fn ports_and_ipv6() {
        assert_eq!(strip_port("localhost:5000"), "localhost");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(
            resolve_url("http://[::1]:8080/a", "b"),
            "http://[::1]:8080/b"
        );
    }
}
