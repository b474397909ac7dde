//! [`MapAdapter`]: a [`Map`] bound to one request's host, script root and scheme. It matches
//! paths (`match_`, `allowed_methods`, `dispatch`), turns Werkzeug's redirect cases into
//! [`RoutingError::RequestRedirect`], and builds URLs (`build`, `url_for`, and `build_into`
//! into a caller's buffer). It borrows the map and, with `bind_to_environ`, the environ:
//! binding costs no allocation in the common case.

use std::borrow::Cow;

use http::Method;
use percent_encoding::{AsciiSet, utf8_percent_encode};
use smallvec::SmallVec;

use super::converters::Builtin;
use super::error::{BuildError, RoutingError};
use super::map::{Endpoint, Map, provides_defaults_for};
use super::matcher::{DomainRouter, SmResult};
use super::rule::{
    BuildOp, Compiled, OTHER_METHODS, PlanVar, RedirectTo, Rule, Var, method_bit, push_clean,
    push_int,
};
use super::values::{BuildValues, Pair, PairsView, Value, Values, name_eq};
use crate::urls::{PATH_ENCODE_SET, SEGMENT_ENCODE_SET};
use crate::{Environ, HttpException, Request, Response};

/// What Werkzeug's `url_encode` leaves alone in query values: it escapes `&`, `=`, `+`, `#`
/// and spaces (written `+`), keeps `/`, `:`, `@`, `?`, `;` and `,`.
const QUERY_VALUE_SET: &AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The capacity a URL built by [`MapAdapter::build`] starts with; a longer one grows.
const URL_CAPACITY: usize = 64;

/// Whether `s` has an ASCII capital, eight bytes at a time: binding (which lower-cases the
/// host, as Werkzeug does) happens on every request.
fn has_upper(s: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        if v & HIGH != 0 {
            if c.iter().any(u8::is_ascii_uppercase) {
                return true;
            }
            continue;
        }
        // For ASCII bytes, the high bit of b + 0x3f says b >= 'A', of b + 0x25 b >= '['.
        let ge_a = v.wrapping_add(0x3f3f_3f3f_3f3f_3f3f);
        let ge_bracket = v.wrapping_add(0x2525_2525_2525_2525);
        if ge_a & !ge_bracket & HIGH != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(u8::is_ascii_uppercase)
}

fn lower(s: &str) -> Cow<'_, str> {
    if has_upper(s.as_bytes()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

impl<E: Endpoint> Map<E> {
    /// Binds the map to a server name (`host[:port]`) and script name (where the app is
    /// mounted, `""` at the root), for the default subdomain, `http` and `GET`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Rule};
    /// let map = Map::new([Rule::new("/a", "a")]);
    /// let a = map.bind("example.com", "/app");
    /// assert_eq!(a.build(&"a", &()).unwrap(), "/app/a");
    /// ```
    #[inline]
    pub fn bind<'a>(&'a self, server_name: &'a str, script_name: &'a str) -> MapAdapter<'a, E> {
        if self.host_matching {
            let server_name = lower(server_name);
            return MapAdapter {
                map: self,
                fast: self.fast_router(&server_name),
                server_name,
                script_name: script_name.trim_end_matches('/'),
                subdomain: None,
                url_scheme: "http",
                query_string: "",
                path_info: "/",
                default_method: Method::GET,
            };
        }
        MapAdapter {
            map: self,
            // Without host matching the server name only appears in built URLs: it is
            // lower-cased there, so binding (once per request) does not scan it.
            server_name: Cow::Borrowed(server_name),
            script_name: script_name.trim_end_matches('/'),
            subdomain: Some(Cow::Borrowed(self.default_subdomain.as_str())),
            url_scheme: "http",
            query_string: "",
            path_info: "/",
            default_method: Method::GET,
            fast: self.fast_router(&self.default_subdomain),
        }
    }

    /// The fast router's tree for `domain` (the subdomain, or the host with host
    /// matching), found once at binding so that matching need not.
    #[inline]
    fn fast_router(&self, domain: &str) -> Option<&DomainRouter> {
        self.fast.as_ref().and_then(|f| f.router(domain))
    }

    /// Like [`Map::bind`], for a given subdomain (`""` for none).
    pub fn bind_with_subdomain<'a>(
        &'a self,
        server_name: &'a str,
        script_name: &'a str,
        subdomain: &'a str,
    ) -> MapAdapter<'a, E> {
        let mut a = self.bind(server_name, script_name);
        if !self.host_matching {
            a.subdomain = Some(Cow::Borrowed(subdomain));
            a.fast = self.fast_router(subdomain);
        }
        a
    }

    /// Binds the map to a request's environ: its host (the `Host` header, default port
    /// dropped), script name, scheme, method and query string (kept on redirects).
    ///
    /// The subdomain is empty; for subdomain rules use [`Map::bind_to_environ_with`] and
    /// say what the server name is.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Rule};
    /// use zeug::test::EnvironBuilder;
    ///
    /// let map = Map::new([Rule::new("/items/", "items")]);
    /// let environ = EnvironBuilder::new("GET", "/items?page=2").build();
    /// let adapter = map.bind_to_environ(&environ);
    /// let err = adapter.match_("/items", &environ.method).unwrap_err();
    /// assert_eq!(err.redirect_location(), Some("http://localhost/items/?page=2"));
    /// ```
    pub fn bind_to_environ<'a>(&'a self, environ: &'a Environ) -> MapAdapter<'a, E> {
        self.bind_to_environ_with(environ, None, None)
    }

    /// Binds to an environ with the configured `server_name` (so the part of the host
    /// before it is the subdomain) and/or an explicit `subdomain`, as Werkzeug's
    /// `bind_to_environ(environ, server_name, subdomain)`. A host outside `server_name`
    /// gets the subdomain `"<invalid>"`, which only rules for any subdomain can match.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Method, Rule, Subdomain};
    /// use zeug::test::EnvironBuilder;
    ///
    /// let map = Map::new(Subdomain::new("<user>", [Rule::new("/", "home")]));
    /// let environ = EnvironBuilder::new("GET", "http://alice.example.com/").build();
    /// let a = map.bind_to_environ_with(&environ, Some("example.com"), None);
    /// let (_, values) = a.match_("/", &Method::GET).unwrap();
    /// assert_eq!(values.get::<&str>("user"), Some("alice"));
    /// ```
    pub fn bind_to_environ_with<'a>(
        &'a self,
        environ: &'a Environ,
        server_name: Option<&'a str>,
        subdomain: Option<&'a str>,
    ) -> MapAdapter<'a, E> {
        let scheme = environ.url_scheme.as_str();
        let host: Cow<'a, str> = match environ
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty())
        {
            Some(h) => {
                let h = match (scheme, h.rsplit_once(':')) {
                    ("http" | "ws", Some((name, "80")))
                    | ("https" | "wss", Some((name, "443")))
                        if !name.ends_with(']') || name.starts_with('[') =>
                    {
                        name
                    }
                    _ => h,
                };
                lower(h)
            }
            None => {
                let default_port = if scheme == "https" { 443 } else { 80 };
                if environ.server_port == default_port {
                    lower(&environ.server_name)
                } else {
                    Cow::Owned(
                        format!("{}:{}", environ.server_name, environ.server_port)
                            .to_ascii_lowercase(),
                    )
                }
            }
        };
        let (server_name, subdomain): (Cow<'a, str>, Option<Cow<'a, str>>) = if self.host_matching {
            (server_name.map(lower).unwrap_or(host), None)
        } else {
            match (server_name, subdomain) {
                (_, Some(sub)) => (
                    server_name.map(lower).unwrap_or(host),
                    Some(Cow::Borrowed(sub)),
                ),
                (None, None) => (host, Some(Cow::Borrowed(""))),
                (Some(name), None) => {
                    let name = lower(name);
                    // Werkzeug compares the host without its port to the server name.
                    let cur = host.split(':').next().unwrap_or("");
                    let real = name.split(':').next().unwrap_or("");
                    let sub = if cur == real {
                        Cow::Borrowed("")
                    } else if let Some(prefix) =
                        cur.strip_suffix(real).and_then(|p| p.strip_suffix('.'))
                    {
                        Cow::Owned(prefix.to_owned())
                    } else {
                        log::warn!(
                            "routing: current server name {cur:?} doesn't match configured server name {real:?}"
                        );
                        Cow::Borrowed("<invalid>")
                    };
                    (name, Some(sub))
                }
            }
        };
        let fast = match (&subdomain, self.host_matching) {
            (Some(s), false) => self.fast_router(s),
            _ => self.fast_router(&server_name),
        };
        MapAdapter {
            map: self,
            server_name,
            script_name: environ.script_name.trim_end_matches('/'),
            subdomain,
            url_scheme: scheme,
            query_string: environ.query_string.as_str(),
            path_info: environ.path_info.as_str(),
            default_method: environ.method.clone(),
            fast,
        }
    }

    /// Builds a URL for `endpoint` as seen from `request` (its host and script root): the
    /// `url_for` a view uses for the request it serves.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Rule};
    /// use zeug::test::EnvironBuilder;
    /// use zeug::Request;
    ///
    /// let map = Map::new([Rule::new("/<short_id>+", "details")]);
    /// let request = Request::new(EnvironBuilder::new("GET", "/").script_name("/app").build());
    /// assert_eq!(map.url_for(&request, &"details", &[("short_id", "abc")]).unwrap(), "/app/abc+");
    /// ```
    pub fn url_for(
        &self,
        request: &Request,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
    ) -> Result<String, BuildError> {
        self.bind_to_environ(request.environ())
            .build(endpoint, values)
    }
}

/// Options for [`MapAdapter::build_with`], Werkzeug's `build` keyword arguments.
///
/// # Examples
///
/// ```
/// use zeug::routing::{BuildOptions, Map, Rule};
/// let map = Map::new([Rule::new("/a", "a")]);
/// let a = map.bind("example.com", "");
/// let url = a.build_with(&"a", &[("q", "1")], &BuildOptions::new().force_external(true)).unwrap();
/// assert_eq!(url, "http://example.com/a?q=1");
/// ```
#[derive(Debug, Clone)]
pub struct BuildOptions {
    method: Option<Method>,
    force_external: bool,
    append_unknown: bool,
    url_scheme: Option<String>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            method: None,
            force_external: false,
            append_unknown: true,
            url_scheme: None,
        }
    }
}

impl BuildOptions {
    /// The defaults: any method, relative URL, unknown values as a query string.
    pub fn new() -> Self {
        BuildOptions::default()
    }

    /// Only rules accepting `method` (when an endpoint has several rules that differ by
    /// method).
    pub fn method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// Always return an absolute URL (`scheme://host/...`).
    pub fn force_external(mut self, yes: bool) -> Self {
        self.force_external = yes;
        self
    }

    /// Append values the rule does not use as a query string (default true).
    pub fn append_unknown(mut self, yes: bool) -> Self {
        self.append_unknown = yes;
        self
    }

    /// The scheme of absolute URLs (default: the bound one).
    pub fn url_scheme(mut self, scheme: &str) -> Self {
        self.url_scheme = Some(scheme.to_owned());
        self
    }
}

/// A [`Map`] bound to a host, script name and scheme: matches paths and builds URLs.
///
/// # Examples
///
/// ```
/// use zeug::routing::{Map, Method, Rule};
/// use zeug::{HttpException, Response};
///
/// let map = Map::new([Rule::new("/hello/<name>", "hello")]);
/// let urls = map.bind("localhost", "");
///
/// fn view(urls: &zeug::routing::MapAdapter<'_, &'static str>, path: &str) -> Result<Response, HttpException> {
///     let (_, values) = urls.match_(path, &Method::GET)?;
///     Ok(Response::new(format!("Hello {}!", values.get::<&str>("name").unwrap())))
/// }
/// assert_eq!(view(&urls, "/hello/zeug").unwrap().text().unwrap(), "Hello zeug!");
/// assert_eq!(view(&urls, "/nope").unwrap_err().status(), 404);
/// ```
pub struct MapAdapter<'a, E> {
    map: &'a Map<E>,
    server_name: Cow<'a, str>,
    script_name: &'a str,
    subdomain: Option<Cow<'a, str>>,
    url_scheme: &'a str,
    query_string: &'a str,
    /// The path [`MapAdapter::match_request`] matches: the request's with
    /// `bind_to_environ`, otherwise `/`.
    path_info: &'a str,
    default_method: Method,
    /// The fast router's tree for this adapter's domain, found once at binding.
    fast: Option<&'a DomainRouter>,
}

impl<E> Clone for MapAdapter<'_, E> {
    fn clone(&self) -> Self {
        MapAdapter {
            map: self.map,
            server_name: self.server_name.clone(),
            script_name: self.script_name,
            subdomain: self.subdomain.clone(),
            url_scheme: self.url_scheme,
            query_string: self.query_string,
            path_info: self.path_info,
            default_method: self.default_method.clone(),
            fast: self.fast,
        }
    }
}

impl<E> std::fmt::Debug for MapAdapter<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapAdapter")
            .field("server_name", &self.server_name)
            .field("script_name", &self.script_name)
            .field("subdomain", &self.subdomain)
            .field("url_scheme", &self.url_scheme)
            .finish_non_exhaustive()
    }
}

/// String equality that never calls `memcmp` for empty strings: glibc's AVX-512 `memcmp`
/// takes a slow microcode assist on the dangling pointer of an empty `String`, which cost
/// more than a whole match here.
#[inline]
pub(crate) fn same_str(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

fn same_value(a: &Value, b: &Value) -> bool {
    a == b || (!matches!(a, Value::Custom(_)) && a.to_string() == b.to_string())
}

impl<'a, E: Endpoint> MapAdapter<'a, E> {
    /// The map.
    pub fn map(&self) -> &'a Map<E> {
        self.map
    }

    /// The bound server name (`host[:port]`, lowercase).
    pub fn server_name(&self) -> Cow<'_, str> {
        lower(&self.server_name)
    }

    /// The bound script name, without a trailing slash.
    pub fn script_name(&self) -> &str {
        self.script_name
    }

    /// The bound subdomain (`None` with host matching).
    pub fn subdomain(&self) -> Option<&str> {
        self.subdomain.as_deref()
    }

    /// The URL scheme of absolute URLs (default `http`).
    pub fn url_scheme(&self) -> &str {
        self.url_scheme
    }

    /// Sets the URL scheme.
    pub fn with_url_scheme(mut self, scheme: &'a str) -> Self {
        self.url_scheme = scheme;
        self
    }

    /// Sets the query string kept on redirects (`bind_to_environ` takes the request's).
    pub fn with_query_string(mut self, query: &'a str) -> Self {
        self.query_string = query;
        self
    }

    /// Sets the path [`match_request`](Self::match_request) matches (`bind_to_environ`
    /// takes the request's `path_info`; otherwise `/`).
    pub fn with_path_info(mut self, path_info: &'a str) -> Self {
        self.path_info = path_info;
        self
    }

    /// Sets the method `build` prefers when given none (`bind_to_environ` takes the
    /// request's; otherwise `GET`).
    pub fn with_default_method(mut self, method: Method) -> Self {
        self.default_method = method;
        self
    }

    /// Matches the bound request: its path and method when the adapter came from
    /// [`Map::bind_to_environ`], as Werkzeug's `adapter.match()` with no arguments. Use
    /// [`match_`](Self::match_) to match another path or method.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Rule};
    /// use zeug::test::EnvironBuilder;
    /// use zeug::{HttpException, Request, Response};
    ///
    /// fn view(map: &Map<&'static str>, request: &Request) -> Result<Response, HttpException> {
    ///     let (endpoint, values) = map.bind_to_environ(request.environ()).match_request()?;
    ///     let id: i64 = values.get("id").unwrap_or(0);
    ///     Ok(Response::new(format!("{endpoint} {id}")))
    /// }
    ///
    /// let map = Map::new([Rule::new("/show/<int:id>", "show").methods(["GET"])]);
    /// let get = Request::new(EnvironBuilder::new("GET", "/show/7").build());
    /// assert_eq!(view(&map, &get).unwrap().text().unwrap(), "show 7");
    /// let post = Request::new(EnvironBuilder::new("POST", "/show/7").build());
    /// assert_eq!(view(&map, &post).unwrap_err().status(), 405);
    /// ```
    pub fn match_request(&self) -> Result<(E, Values), RoutingError> {
        self.match_(self.path_info, &self.default_method)
    }

    /// Matches a (decoded) path and method: the endpoint and the typed values, or why not
    /// (404, 405 with the allowed methods, or a 308 redirect).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Method, Rule, RoutingError};
    /// let map = Map::new([
    ///     Rule::new("/page/<int:id>", "by_id"),
    ///     Rule::new("/page/<name>", "by_name"),
    /// ]);
    /// let a = map.bind("localhost", "");
    /// assert_eq!(a.match_("/page/3", &Method::GET).unwrap().0, "by_id");
    /// assert_eq!(a.match_("/page/x", &Method::GET).unwrap().0, "by_name");
    /// assert_eq!(a.match_("/pages", &Method::GET).unwrap_err(), RoutingError::NotFound);
    /// ```
    pub fn match_(&self, path: &str, method: &Method) -> Result<(E, Values), RoutingError> {
        // Values are filled in place: they are a few hundred bytes, and moving them through
        // every layer cost more than the tree lookup.
        let mut values = Values::new();
        let idx = self.match_checked(path, method, &mut values)?;
        Ok((self.map.endpoints[idx].clone(), values))
    }

    /// Like [`match_`](Self::match_) but returns the matched [`Rule`].
    pub fn match_rule(
        &self,
        path: &str,
        method: &Method,
    ) -> Result<(&'a Rule<E>, Values), RoutingError> {
        let mut values = Values::new();
        let idx = self.match_checked(path, method, &mut values)?;
        Ok((&self.map.rules[idx].rule, values))
    }

    #[inline]
    fn match_checked(
        &self,
        path: &str,
        method: &Method,
        values: &mut Values,
    ) -> Result<usize, RoutingError> {
        // The common case, kept in the caller's frame: a standard method, a path that needs
        // no normalising, and a map with the fast router. Everything else (and whatever the
        // fast router leaves to the state machine) takes the general path below.
        let map = self.map;
        if let Some(fast) = self.fast {
            let b = path.as_bytes();
            let bit = method_bit(method);
            if bit != OTHER_METHODS && b.first() == Some(&b'/') && b.get(1) != Some(&b'/') {
                return match fast.lookup(&map.rules, path, method, bit, values) {
                    Some((r, true)) => Ok(r),
                    Some((r, false)) => self.finish(r, values, method),
                    None => {
                        values.clear();
                        self.slow_match(self.domain(), path, method, values)
                    }
                };
            }
        }
        self.match_general(path, method, values)
    }

    #[inline(never)]
    fn match_general(
        &self,
        path: &str,
        method: &Method,
        values: &mut Values,
    ) -> Result<usize, RoutingError> {
        if method_bit(method) == OTHER_METHODS
            && method.as_str().bytes().any(|b| b.is_ascii_lowercase())
        {
            // Werkzeug upper-cases the method.
            let upper = Method::from_bytes(method.as_str().to_ascii_uppercase().as_bytes())
                .unwrap_or_else(|_| method.clone());
            return self.match_index(path, &upper, values);
        }
        self.match_index(path, method, values)
    }

    /// Whether `path` matches (a redirect counts as a match), as Werkzeug's `test`.
    pub fn test(&self, path: &str, method: &Method) -> bool {
        matches!(
            self.match_(path, method),
            Ok(_) | Err(RoutingError::RequestRedirect { .. })
        )
    }

    /// The methods rules accept for `path`; empty when nothing matches or when a rule
    /// for the path accepts every method (as Werkzeug's `allowed_methods`).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Method, Rule};
    /// let map = Map::new([
    ///     Rule::new("/items", "list").methods(["GET"]),
    ///     Rule::new("/items", "create").methods(["POST"]),
    /// ]);
    /// let a = map.bind("localhost", "");
    /// assert_eq!(a.allowed_methods("/items"), [Method::GET, Method::HEAD, Method::POST]);
    /// ```
    pub fn allowed_methods(&self, path: &str) -> Vec<Method> {
        let probe = Method::from_bytes(b"--").expect("a valid token");
        match self.match_(path, &probe) {
            Err(RoutingError::MethodNotAllowed { allowed }) => allowed,
            _ => Vec::new(),
        }
    }

    /// Matches `path` and `method` and calls `view` with the endpoint and values; routing
    /// errors become their responses (redirect pages for redirects), and so do errors the
    /// view returns. Werkzeug's `MapAdapter.dispatch`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Method, Rule};
    /// use zeug::{HttpException, Response};
    ///
    /// let map = Map::new([Rule::new("/hi/<name>", "hi")]);
    /// let a = map.bind("localhost", "");
    /// let view = |_, values: zeug::routing::Values| -> Result<Response, HttpException> {
    ///     Ok(Response::new(format!("hi {}", values.get::<&str>("name").unwrap())))
    /// };
    /// assert_eq!(a.dispatch("/hi/you", &Method::GET, view).text().unwrap(), "hi you");
    /// assert_eq!(a.dispatch("/nope", &Method::GET, view).status(), 404);
    /// ```
    pub fn dispatch<R: Into<Response>>(
        &self,
        path: &str,
        method: &Method,
        view: impl FnOnce(E, Values) -> R,
    ) -> Response {
        match self.match_(path, method) {
            Ok((endpoint, values)) => view(endpoint, values).into(),
            Err(e) => e.into_response(),
        }
    }

    /// Matches with the state machine only (for tests and fuzzing the fast path).
    pub(crate) fn match_slow(
        &self,
        path_info: &str,
        method: &Method,
    ) -> Result<(E, Values), RoutingError> {
        let path = format!("/{}", path_info.trim_start_matches('/'));
        let path = if path_info.is_empty() {
            ""
        } else {
            path.as_str()
        };
        let mut values = Values::new();
        let r = self.slow_match(self.domain(), path, method, &mut values)?;
        Ok((self.map.rules[r].rule.endpoint.clone(), values))
    }

    fn domain(&self) -> &str {
        match (&self.subdomain, self.map.host_matching) {
            (Some(s), false) => s,
            _ => &self.server_name,
        }
    }

    fn match_index(
        &self,
        path_info: &str,
        method: &Method,
        values: &mut Values,
    ) -> Result<usize, RoutingError> {
        let map = self.map;
        let domain = self.domain();
        // Werkzeug matches `"/" + path_info.lstrip("/")`.
        let owned;
        let path: &str = if path_info.is_empty() {
            ""
        } else if path_info.starts_with('/') && !path_info[1..].starts_with('/') {
            path_info
        } else {
            owned = format!("/{}", path_info.trim_start_matches('/'));
            &owned
        };
        if let Some(fast) = self.fast {
            match fast.lookup(&map.rules, path, method, method_bit(method), values) {
                Some((r, true)) => return Ok(r),
                Some((r, false)) => return self.finish(r, values, method),
                None => values.clear(),
            }
        }
        self.slow_match(domain, path, method, values)
    }

    #[inline(never)]
    fn slow_match(
        &self,
        domain: &str,
        path: &str,
        method: &Method,
        values: &mut Values,
    ) -> Result<usize, RoutingError> {
        let map = self.map;
        let mut have = Vec::new();
        let no_match = |mut have: Vec<Method>| {
            if have.is_empty() {
                RoutingError::NotFound
            } else {
                have.sort_by(|a, b| a.as_str().cmp(b.as_str()));
                RoutingError::MethodNotAllowed { allowed: have }
            }
        };
        match map
            .sm
            .match_path(&map.rules, domain, path, method, &mut have)
        {
            SmResult::Match(r, texts) => {
                match convert(&map.rules[r], texts.iter().map(String::as_str), values) {
                    true => self.finish(r, values, method),
                    false => Err(no_match(have)),
                }
            }
            SmResult::SlashRequired => Err(self.redirect_to_path(&format!("{path}/"))),
            SmResult::NoMatch => {
                if !path.contains("//") {
                    return Err(no_match(have));
                }
                let merged = merge_slashes(path);
                match map
                    .sm
                    .match_path(&map.rules, domain, &merged, method, &mut have)
                {
                    SmResult::Match(r, _) if map.rules[r].merge_slashes => {
                        Err(self.redirect_to_path(&merged))
                    }
                    SmResult::SlashRequired => Err(self.redirect_to_path(&format!("{merged}/"))),
                    _ => Err(no_match(have)),
                }
            }
        }
    }

    fn redirect_to_path(&self, path: &str) -> RoutingError {
        let encoded = utf8_percent_encode(path, PATH_ENCODE_SET).to_string();
        RoutingError::RequestRedirect {
            location: self.make_redirect_url(&encoded, None),
        }
    }

    /// `scheme://host/script/path?query` (Werkzeug's `make_redirect_url`).
    fn make_redirect_url(&self, path: &str, domain_part: Option<&str>) -> String {
        let host = self.get_host(domain_part);
        let mut url = format!(
            "{}://{}{}/{}",
            self.url_scheme,
            host,
            self.script_name,
            path.trim_start_matches('/')
        );
        if !self.query_string.is_empty() {
            url.push('?');
            url.push_str(self.query_string);
        }
        url
    }

    fn get_host<'s>(&'s self, domain_part: Option<&'s str>) -> Cow<'s, str> {
        if self.map.host_matching {
            return Cow::Borrowed(domain_part.unwrap_or(&self.server_name));
        }
        let server_name = lower(&self.server_name);
        let sub = domain_part.or(self.subdomain.as_deref()).unwrap_or("");
        if sub.is_empty() {
            server_name
        } else {
            Cow::Owned(format!("{sub}.{server_name}"))
        }
    }

    /// Defaults, aliases, `redirect_defaults` and `redirect_to`, in Werkzeug's order.
    #[inline(never)]
    fn finish(
        &self,
        r: usize,
        values: &mut Values,
        method: &Method,
    ) -> Result<usize, RoutingError> {
        let map = self.map;
        let rule = &map.rules[r];
        for (k, v) in rule.rule.defaults.iter() {
            values.insert(k.to_owned(), v.clone());
        }
        if rule.rule.alias && map.redirect_defaults {
            let opts = BuildOptions::new()
                .method(method.clone())
                .append_unknown(false)
                .force_external(true);
            return match self.build_with(&rule.rule.endpoint, &*values, &opts) {
                Ok(mut url) => {
                    if !self.query_string.is_empty() {
                        url.push('?');
                        url.push_str(self.query_string);
                    }
                    Err(RoutingError::RequestRedirect { location: url })
                }
                Err(e) => {
                    log::error!(
                        "routing: alias rule {:?} has no canonical URL: {e}",
                        rule.rule.path
                    );
                    Err(RoutingError::NotFound)
                }
            };
        }
        if map.redirect_defaults && map.default_redirect_candidates[r] {
            if let Some(url) = self.default_redirect(r, method, values) {
                return Err(RoutingError::RequestRedirect { location: url });
            }
        }
        if let Some(target) = &rule.rule.redirect_to {
            let url = match target {
                RedirectTo::Template(t) => fill_template(rule, t, values),
                RedirectTo::Func(f) => f(self, values),
            };
            let netloc = self.get_host(None);
            let location = urljoin(self.url_scheme, &netloc, self.script_name, &url);
            return Err(RoutingError::RequestRedirect { location });
        }
        Ok(r)
    }

    fn default_redirect(&self, r: usize, method: &Method, values: &Values) -> Option<String> {
        let map = self.map;
        let rule = &map.rules[r];
        for &i in map.by_endpoint.get(&rule.rule.endpoint)? {
            if i == r {
                break;
            }
            let other = &map.rules[i];
            if provides_defaults_for(other, rule)
                && suitable_for(other, values, Some(method)).is_some()
            {
                let mut values = values.clone();
                for (k, v) in other.rule.defaults.iter() {
                    values.insert(k.to_owned(), v.clone());
                }
                let fit = suitable_for(other, &values, Some(method))?;
                let (domain, path) = self.build_rule(other, &values, true, fit)?;
                return Some(self.make_redirect_url(&path, Some(&domain)));
            }
        }
        None
    }

    /// Builds the URL for `endpoint` with `values`: relative to the host (`/script/path`)
    /// unless the rule is on another subdomain or host. Values the rule does not use are
    /// appended as a query string; text is percent-encoded.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Rule};
    /// let map = Map::new([Rule::new("/blog/<int:year>/<slug>", "post")]);
    /// let a = map.bind("example.com", "");
    /// let url = a.build(&"post", &[("year", "2024"), ("slug", "hello world"), ("ref", "a&b")]).unwrap();
    /// assert_eq!(url, "/blog/2024/hello%20world?ref=a%26b");
    /// ```
    pub fn build(
        &self,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
    ) -> Result<String, BuildError> {
        self.build_with(endpoint, values, &BuildOptions::default())
    }

    /// Alias of [`build`](Self::build), under the name views know from Flask.
    pub fn url_for(
        &self,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
    ) -> Result<String, BuildError> {
        self.build(endpoint, values)
    }

    /// [`build`](Self::build) with options: method, `force_external`, `append_unknown`,
    /// scheme.
    pub fn build_with(
        &self,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
        options: &BuildOptions,
    ) -> Result<String, BuildError> {
        // Allocated at once (most URLs fit), rather than grown from empty by the first
        // reservation, which costs a few dozen instructions more.
        let mut url = String::with_capacity(URL_CAPACITY);
        self.build_into(&mut url, endpoint, values, options)?;
        Ok(url)
    }

    /// [`build_with`](Self::build_with), appending the URL to `out` instead of returning a
    /// new `String`: the fast path when URLs go into a larger text (a page being rendered,
    /// a response body), or into one buffer reused for many URLs. Same URLs, same errors;
    /// on an error `out` is left as it was.
    ///
    /// A returned `String` costs an allocation and a free, which is most of what building
    /// one URL costs (see `docs/routing.md`, Performance).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{BuildOptions, Map, Rule};
    /// let map = Map::new([Rule::new("/user/<int:id>", "user"), Rule::new("/", "index")]);
    /// let a = map.bind("example.com", "");
    /// let mut page = String::from("<a href=\"");
    /// a.build_into(&mut page, &"user", &[("id", 7)], &BuildOptions::new()).unwrap();
    /// page.push_str("\">me</a>");
    /// assert_eq!(page, "<a href=\"/user/7\">me</a>");
    ///
    /// let mut url = String::new();
    /// assert!(a.build_into(&mut url, &"user", &(), &BuildOptions::new()).is_err());
    /// assert!(url.is_empty());
    /// ```
    pub fn build_into(
        &self,
        out: &mut String,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
        options: &BuildOptions,
    ) -> Result<(), BuildError> {
        // Werkzeug tries the bound method first, then any method, when given none.
        let method = options.method.as_ref().unwrap_or(&self.default_method);
        let bit = method_bit(method);
        if let Some(v) = values.as_values() {
            if self.build_by_position(out, endpoint, v, bit, options) {
                return Ok(());
            }
        }
        self.build_general(out, endpoint, values, (method, bit), options)
    }

    /// [`build_into`](Self::build_into) in the commonest case, which it answers as the
    /// general path would: values that are exactly the variables of the endpoint's first
    /// rule, in order (what matching that rule returned), for a standard method the rule
    /// accepts, no defaults, a relative URL on the bound subdomain. Then each value is
    /// taken by position and nothing is left for a query string. `false`, with `out` as
    /// it was, when the case does not apply (or a converter cannot write a value): the
    /// general path decides.
    #[inline(never)]
    fn build_by_position(
        &self,
        out: &mut String,
        endpoint: &E,
        values: &Values,
        bit: u32,
        options: &BuildOptions,
    ) -> bool {
        let map = self.map;
        if map.host_matching || options.force_external || bit == OTHER_METHODS {
            return false;
        }
        let Some(rule) = map
            .build_index
            .first(endpoint)
            .and_then(|i| map.rules.get(i))
        else {
            return false;
        };
        let Some(domain) = rule.position_domain.as_deref() else {
            return false;
        };
        if rule.method_bits & bit == 0
            || !self
                .subdomain
                .as_deref()
                .is_some_and(|s| same_str(domain, s))
        {
            return false;
        }
        let start = out.len();
        let written = match values.pairs() {
            PairsView::Inline(pairs) => {
                self.write_by_position(out, rule, |i| pairs.get(i).and_then(Option::as_ref))
            }
            PairsView::Heap(pairs) => self.write_by_position(out, rule, |i| pairs.get(i)),
        };
        if !written {
            out.truncate(start);
        }
        written
    }

    /// The writing part of [`build_by_position`](Self::build_by_position), with `pair(i)`
    /// the `i`th of `values`; `false`, with part of the URL written, if a value is missing,
    /// misnamed or unwritable, or one is left over.
    #[inline(always)]
    fn write_by_position<'v>(
        &self,
        out: &mut String,
        rule: &Compiled<E>,
        pair: impl Fn(usize) -> Option<&'v Pair>,
    ) -> bool {
        // No reservation for the whole URL: each piece reserves what it writes, and most
        // URLs fit what a buffer starts with (`URL_CAPACITY` for `build_with`).
        if !self.script_name.is_empty() {
            out.push_str(self.script_name);
        }
        rule.path_plan.head.push_to(out);
        for step in rule.path_plan.steps.iter() {
            let Some(i) = step.var.index() else {
                step.text.push_to(out);
                continue;
            };
            let written = match (pair(i), rule.vars.get(i)) {
                (Some((name, value)), Some(var)) if name_eq(name, step.name) => {
                    write_planned(step.var, var, value, out)
                }
                _ => false,
            };
            if !written {
                return false;
            }
            step.text.push_to(out);
        }
        // Each variable had its value (the plan writes them all: the domain is static and
        // no variable has a default); a value after them is one the rule does not use.
        pair(rule.vars.len()).is_none()
    }

    /// [`build_into`](Self::build_into) for any values and options, out of line.
    #[inline(never)]
    fn build_general(
        &self,
        out: &mut String,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
        method: (&Method, u32),
        options: &BuildOptions,
    ) -> Result<(), BuildError> {
        if self.build_first(out, endpoint, values, Some(method), options)
            || (options.method.is_none()
                && self.build_first_any_method(out, endpoint, values, options))
        {
            Ok(())
        } else {
            Err(self.build_error(endpoint, values, options.method.as_ref()))
        }
    }

    /// [`build_first`](Self::build_first) for any method, out of line: the second try
    /// when no method was given.
    #[inline(never)]
    fn build_first_any_method(
        &self,
        out: &mut String,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
        options: &BuildOptions,
    ) -> bool {
        self.build_first(out, endpoint, values, None, options)
    }

    /// Appends the URL of the first rule of `endpoint` that suits `values` and `method`
    /// and can write them; `false`, with `out` as it was, when none can.
    #[inline(always)]
    fn build_first(
        &self,
        out: &mut String,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
        method: BuildMethod<'_>,
        options: &BuildOptions,
    ) -> bool {
        let map = self.map;
        let Some(list) = map.build_index.get(endpoint) else {
            return false;
        };
        let Some((&first, rest)) = list.split_first() else {
            return false;
        };
        if map.host_matching {
            return self.build_first_host_matching(out, list, values, method, options);
        }
        // The first rule inline when its domain part is static (the common case); the
        // others, and domains with variables, out of line.
        let rule = &map.rules[first];
        let done = match rule.domain_ops.as_slice() {
            [] => self.build_static_domain(out, rule, "", values, method, options),
            [BuildOp::Text(t)] => self.build_static_domain(out, rule, t, values, method, options),
            _ => self.build_rule_into(out, rule, values, method, options, None),
        };
        done || rest
            .iter()
            .any(|&i| self.build_rule_into(out, &map.rules[i], values, method, options, None))
    }

    /// [`build_rule_into`](Self::build_rule_into) for a rule whose domain part is
    /// `domain`, inline.
    #[inline(always)]
    fn build_static_domain(
        &self,
        out: &mut String,
        rule: &Compiled<E>,
        domain: &str,
        values: &(impl BuildValues + ?Sized),
        method: BuildMethod<'_>,
        options: &BuildOptions,
    ) -> bool {
        match suitable_with_bit(rule, values, method) {
            Some(fit) => self.write_url(out, rule, domain, values, fit, options),
            None => false,
        }
    }

    /// [`build_first`](Self::build_first) with host matching: a rule for the bound host
    /// wins; otherwise the first rule that builds for another host.
    #[inline(never)]
    fn build_first_host_matching(
        &self,
        out: &mut String,
        list: &[usize],
        values: &(impl BuildValues + ?Sized),
        method: BuildMethod<'_>,
        options: &BuildOptions,
    ) -> bool {
        let start = out.len();
        let mut other_host: Option<String> = None;
        for &i in list {
            let rule = &self.map.rules[i];
            let mut this_host = true;
            if !self.build_rule_into(out, rule, values, method, options, Some(&mut this_host)) {
                continue;
            }
            if this_host {
                return true;
            }
            if other_host.is_none() {
                other_host = Some(out[start..].to_owned());
            }
            out.truncate(start);
        }
        match other_host {
            Some(url) => {
                out.push_str(&url);
                true
            }
            None => false,
        }
    }

    /// Appends the URL of `rule` if it suits `values` and `method` and can write them;
    /// `false`, with `out` as it was, otherwise. With host matching, `this_host` is set to
    /// whether the rule's host is the bound one.
    #[inline(never)]
    fn build_rule_into(
        &self,
        out: &mut String,
        rule: &Compiled<E>,
        values: &(impl BuildValues + ?Sized),
        method: BuildMethod<'_>,
        options: &BuildOptions,
        this_host: Option<&mut bool>,
    ) -> bool {
        let Some(fit) = suitable_with_bit(rule, values, method) else {
            return false;
        };
        let domain = match rule.domain_ops.as_slice() {
            [] => Cow::Borrowed(""),
            [BuildOp::Text(t)] => Cow::Borrowed(t.as_str()),
            ops => match write_domain(rule, ops, values) {
                Some(d) => Cow::Owned(d),
                None => return false,
            },
        };
        if let Some(this_host) = this_host {
            *this_host = same_str(&domain, &self.server_name);
        }
        self.write_url(out, rule, &domain, values, fit, options)
    }

    /// Appends the URL of `rule` (on `domain`) for `values`; `false`, with `out` as it
    /// was, when a converter cannot write a value.
    #[inline(always)]
    fn write_url(
        &self,
        out: &mut String,
        rule: &Compiled<E>,
        domain: &str,
        values: &(impl BuildValues + ?Sized),
        fit: Fit<'_>,
        options: &BuildOptions,
    ) -> bool {
        let start = out.len();
        out.reserve(rule.build_len_hint + self.script_name.len());
        self.write_prefix(out, domain, options);
        let sort = self.map.sort_parameters;
        if write_path(rule, values, options.append_unknown, fit, sort, out) {
            true
        } else {
            out.truncate(start);
            false
        }
    }

    /// What comes before a built path: the script name, after the scheme and host unless
    /// the rule's domain is the bound one (and the URL need not be external).
    #[inline]
    fn write_prefix(&self, out: &mut String, domain: &str, options: &BuildOptions) {
        let relative = !options.force_external
            && if self.map.host_matching {
                same_str(domain, &self.server_name)
            } else {
                self.subdomain
                    .as_deref()
                    .is_some_and(|s| same_str(domain, s))
            };
        if !relative {
            self.write_scheme_host(out, domain, options);
        }
        out.push_str(self.script_name);
    }

    #[cold]
    #[inline(never)]
    fn write_scheme_host(&self, out: &mut String, domain: &str, options: &BuildOptions) {
        let host = self.get_host(Some(domain));
        out.push_str(options.url_scheme.as_deref().unwrap_or(self.url_scheme));
        out.push_str("://");
        out.push_str(&host);
    }

    /// The domain part and the path (with query) of `rule` for `values`; `None` when a
    /// converter cannot write a value.
    fn build_rule(
        &self,
        rule: &'a Compiled<E>,
        values: &(impl BuildValues + ?Sized),
        append_unknown: bool,
        fit: Fit<'_>,
    ) -> Option<(Cow<'a, str>, String)> {
        let domain = rule_domain(rule, values)?;
        let mut path = String::with_capacity(rule.build_len_hint);
        write_path(
            rule,
            values,
            append_unknown,
            fit,
            self.map.sort_parameters,
            &mut path,
        )
        .then_some((domain, path))
    }

    #[cold]
    #[inline(never)]
    fn build_error(
        &self,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
        method: Option<&Method>,
    ) -> BuildError {
        let wanted = format!("{endpoint:?}");
        let mut names: Vec<String> = Vec::new();
        values.each(&mut |k, _| {
            if !names.iter().any(|n| n == k) {
                names.push(k.to_owned());
            }
        });
        names.sort();
        // Werkzeug's closest_rule: mostly the endpoint name's similarity, then whether the
        // values fit the rule's arguments and the method its methods.
        let mut best: Option<(f64, &Compiled<E>)> = None;
        for r in &self.map.rules {
            let ratio = similarity(&format!("{:?}", r.rule.endpoint), &wanted);
            let fits = names.iter().all(|n| r.has_argument(n));
            let method_ok =
                method.is_some_and(|m| r.methods.as_ref().is_some_and(|ms| ms.contains(m)));
            let score = 0.98 * ratio
                + 0.01 * f64::from(u8::from(fits))
                + 0.01 * f64::from(u8::from(method_ok));
            if best.is_none_or_lower(score) {
                best = Some((score, r));
            }
        }
        let suggestion = best.and_then(|(_, r)| {
            if r.rule.endpoint == *endpoint {
                if let (Some(m), Some(ms)) = (method, &r.methods) {
                    if !ms.contains(m) {
                        let mut list: Vec<&str> = ms.iter().map(Method::as_str).collect();
                        list.sort_unstable();
                        return Some(format!("Did you mean to use methods {list:?}?"));
                    }
                }
                let mut missing: Vec<&str> = r
                    .arguments
                    .iter()
                    .copied()
                    .chain(r.rule.defaults.iter().map(|(k, _)| k))
                    .filter(|a| !names.iter().any(|n| n == a))
                    .collect();
                missing.sort_unstable();
                missing.dedup();
                (!missing.is_empty())
                    .then(|| format!("Did you forget to specify values {missing:?}?"))
            } else if similarity(&format!("{:?}", r.rule.endpoint), &wanted) >= SUGGESTION_CUTOFF {
                Some(format!("Did you mean {:?} instead?", r.rule.endpoint))
            } else {
                None
            }
        });
        BuildError {
            endpoint: wanted,
            method: method.map(|m| m.as_str().to_owned()),
            values: names,
            suggestion,
        }
    }
}

/// How similar an endpoint name must be to be suggested (difflib's `get_close_matches`
/// default).
const SUGGESTION_CUTOFF: f64 = 0.6;

trait BestScore {
    fn is_none_or_lower(&self, score: f64) -> bool;
}

impl<T> BestScore for Option<(f64, T)> {
    fn is_none_or_lower(&self, score: f64) -> bool {
        match self {
            None => true,
            Some((s, _)) => *s < score,
        }
    }
}

/// `2 * LCS / (len(a) + len(b))`, close to difflib's `SequenceMatcher.ratio`.
fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in &a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    2.0 * prev[b.len()] as f64 / (a.len() + b.len()) as f64
}

/// How a rule suits the values `build` was given.
#[derive(Clone, Copy)]
struct Fit<'v> {
    /// How many of the rule's arguments the values name (so `build` knows whether any
    /// value is left for the query string).
    named: usize,
    /// The values, when they are exactly the rule's variables in order (what matching
    /// the rule returns): then each is read by position, without looking its name up,
    /// and none is left for the query string.
    by_position: Option<&'v Values>,
}

/// The method `build` was asked for, with its [`method_bit`]; `None` for any method.
type BuildMethod<'m> = Option<(&'m Method, u32)>;

/// Werkzeug's `Rule.suitable_for`: the method fits, every argument has a value or a
/// default, and given values agree with the defaults.
#[inline]
fn suitable_for<'v, E>(
    rule: &Compiled<E>,
    values: &'v (impl BuildValues + ?Sized),
    method: Option<&Method>,
) -> Option<Fit<'v>> {
    suitable_with_bit(rule, values, method.map(|m| (m, method_bit(m))))
}

/// [`suitable_for`] with the method's bit already known.
#[inline(always)]
fn suitable_with_bit<'v, E>(
    rule: &Compiled<E>,
    values: &'v (impl BuildValues + ?Sized),
    method: BuildMethod<'_>,
) -> Option<Fit<'v>> {
    if let Some((m, bit)) = method {
        if rule.method_bits & bit == 0
            || (bit == OTHER_METHODS && rule.methods.as_ref().is_some_and(|ms| !ms.contains(m)))
        {
            return None;
        }
    }
    if let Some(v) = values.as_values() {
        // Without defaults, the arguments are the variables: each has its value.
        if !rule.has_defaults && same_names(v, &rule.vars) {
            return Some(Fit {
                named: v.len(),
                by_position: Some(v),
            });
        }
    }
    suitable_by_name(rule, values)
}

/// [`suitable_for`] for values in any order: each argument looked up by name.
#[inline(never)]
fn suitable_by_name<E>(
    rule: &Compiled<E>,
    values: &(impl BuildValues + ?Sized),
) -> Option<Fit<'static>> {
    let mut named = 0;
    for a in &rule.arguments {
        match values.value(a) {
            Some(given) => {
                if let Some(default) = rule.rule.defaults.raw(a) {
                    if !same_value(&given, default) {
                        return None;
                    }
                }
                named += 1;
            }
            None if rule.rule.defaults.contains(a) => {}
            None => return None,
        }
    }
    Some(Fit {
        named,
        by_position: None,
    })
}

/// Whether the pairs are named as the variables, in order.
#[inline(always)]
fn same_names(values: &Values, vars: &[Var]) -> bool {
    if values.len() != vars.len() {
        return false;
    }
    for (i, var) in vars.iter().enumerate() {
        match values.pair(i) {
            Some((name, _)) if name_eq(name, var.name) => {}
            _ => return false,
        }
    }
    true
}

/// The rule's domain part (subdomain, or host with host matching) for `values`; `None`
/// when a converter cannot write a value.
fn rule_domain<'r, E>(
    rule: &'r Compiled<E>,
    values: &(impl BuildValues + ?Sized),
) -> Option<Cow<'r, str>> {
    Some(match rule.domain_ops.as_slice() {
        [] => Cow::Borrowed(""),
        [BuildOp::Text(t)] => Cow::Borrowed(t.as_str()),
        ops => Cow::Owned(write_domain(rule, ops, values)?),
    })
}

/// A domain part with variables (`<user>.example.com`), for `values`.
#[inline(never)]
fn write_domain<E>(
    rule: &Compiled<E>,
    ops: &[BuildOp],
    values: &(impl BuildValues + ?Sized),
) -> Option<String> {
    let mut s = String::new();
    for op in ops {
        match op {
            BuildOp::Text(t) => s.push_str(t),
            BuildOp::Var(i) => {
                let var = &rule.vars[*i];
                if !write_var(var, &*values.value(var.name)?, &mut s) {
                    return None;
                }
            }
        }
    }
    Some(s)
}

/// Appends the rule's path for `values`, then the query string of the values the rule
/// does not use (with `append_unknown`); `false` when a converter cannot write a value,
/// with part of the path possibly written.
#[inline(always)]
fn write_path<E>(
    rule: &Compiled<E>,
    values: &(impl BuildValues + ?Sized),
    append_unknown: bool,
    fit: Fit<'_>,
    sort_parameters: bool,
    out: &mut String,
) -> bool {
    let by_position = fit.by_position;
    rule.path_plan.head.push_to(out);
    for step in rule.path_plan.steps.iter() {
        let Some(i) = step.var.index() else {
            step.text.push_to(out);
            continue;
        };
        let var = &rule.vars[i];
        let written = match by_position {
            Some(v) => match v.pair(i) {
                Some((_, value)) => write_planned(step.var, var, value, out),
                None => false,
            },
            None => match values.value(var.name) {
                Some(value) => write_planned(step.var, var, &value, out),
                None => false,
            },
        };
        if !written {
            return false;
        }
        step.text.push_to(out);
    }
    // Every pair names one of the rule's arguments (each named at least once): nothing
    // is left for a query string.
    if append_unknown && by_position.is_none() && values.pair_count() != Some(fit.named) {
        write_query(rule, values, sort_parameters, out);
    }
    true
}

/// Appends the values `rule` does not use as a query string (`?a=1&b=2`).
#[inline(never)]
fn write_query<E>(
    rule: &Compiled<E>,
    values: &(impl BuildValues + ?Sized),
    sort_parameters: bool,
    out: &mut String,
) {
    {
        let mut query: SmallVec<[(String, String); 4]> = SmallVec::new();
        values.each(&mut |name, v| {
            if !rule.has_argument(name) && !rule.rule.defaults.contains(name) {
                query.push((name.to_owned(), v.to_string()));
            }
        });
        if sort_parameters {
            query.sort_by(|a, b| a.0.cmp(&b.0));
        }
        for (i, (k, v)) in query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            push_query_part(out, k);
            out.push('=');
            push_query_part(out, v);
        }
    }
}

/// Appends one variable's value, percent-encoded; `false` if its converter cannot write
/// it. `<x>` with text and `<int:x>` with an integer (the commonest) are written without
/// a dynamic call, as their converters would write them.
#[inline(always)]
fn write_var(var: &Var, value: &Value, out: &mut String) -> bool {
    match (var.builtin, value) {
        (Builtin::Int, Value::Int(n)) => {
            push_int(out, *n);
            return true;
        }
        (Builtin::Segment, Value::Str(text)) => {
            push_encoded(out, text, SEGMENT_ENCODE_SET);
            return true;
        }
        (Builtin::Path, Value::Str(text)) => {
            push_encoded(out, text, PATH_ENCODE_SET);
            return true;
        }
        _ => {}
    }
    write_var_with_converter(var, value, out)
}

/// [`write_var`] for the variable of a [`PlanStep`](super::rule::PlanStep), whose kind
/// the step already says.
#[inline(always)]
fn write_planned(kind: PlanVar, var: &Var, value: &Value, out: &mut String) -> bool {
    match (kind, value) {
        (PlanVar::Int(_), Value::Int(n)) => {
            push_int(out, *n);
            true
        }
        (PlanVar::Segment(_), Value::Str(text)) => {
            push_encoded(out, text, SEGMENT_ENCODE_SET);
            true
        }
        _ => write_var(var, value, out),
    }
}

/// [`write_var`] through the variable's converter.
#[inline(never)]
fn write_var_with_converter(var: &Var, value: &Value, out: &mut String) -> bool {
    let start = out.len();
    if !var.converter.to_url(value, out) {
        return false;
    }
    if !var.converter.writes_plain_ascii() {
        let set = if var.converter.part_isolating() {
            SEGMENT_ENCODE_SET
        } else {
            PATH_ENCODE_SET
        };
        encode_tail(out, start, set);
    }
    true
}

/// Bytes that [`PATH_ENCODE_SET`] leaves alone (`SEGMENT_ENCODE_SET` also escapes `/`),
/// for every byte value: the common case (nothing to escape) is one load per byte.
const PATH_SAFE: [bool; 256] = safe_table(false);
/// Bytes that [`SEGMENT_ENCODE_SET`] leaves alone.
const SEGMENT_SAFE: [bool; 256] = safe_table(true);

const fn safe_table(segment: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0x21;
    while b < 0x7f {
        let escaped = matches!(
            b as u8,
            b'"' | b'#'
                | b'%'
                | b'<'
                | b'>'
                | b'?'
                | b'['
                | b'\\'
                | b']'
                | b'^'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
        ) || (segment && b == b'/' as usize);
        t[b] = !escaped;
        b += 1;
    }
    t
}

/// The table of bytes `set` leaves alone, if it is one of the two building uses.
#[inline]
fn safe_table_for(set: &'static AsciiSet) -> Option<&'static [bool; 256]> {
    if std::ptr::eq(set, SEGMENT_ENCODE_SET) {
        Some(&SEGMENT_SAFE)
    } else if std::ptr::eq(set, PATH_ENCODE_SET) {
        Some(&PATH_SAFE)
    } else {
        None
    }
}

/// Appends `text` percent-encoded with `set`: copied as it is when no byte needs it.
#[inline(always)]
fn push_encoded(out: &mut String, text: &str, set: &'static AsciiSet) {
    if is_clean(text, set) {
        push_clean(out, text);
    } else {
        out.extend(utf8_percent_encode(text, set));
    }
}

#[inline(always)]
fn is_clean(text: &str, set: &'static AsciiSet) -> bool {
    match safe_table_for(set) {
        Some(table) => all_safe(text.as_bytes(), table),
        None => utf8_percent_encode(text, set).to_string() == text,
    }
}

/// Whether `table` says every byte is safe. No early exit (a branch-free pass over a
/// short segment is cheaper), four bytes a step.
#[inline(always)]
fn all_safe(bytes: &[u8], table: &[bool; 256]) -> bool {
    let mut ok = true;
    let mut quads = bytes.chunks_exact(4);
    for q in &mut quads {
        ok &= table[usize::from(q[0])]
            & table[usize::from(q[1])]
            & table[usize::from(q[2])]
            & table[usize::from(q[3])];
    }
    for &b in quads.remainder() {
        ok &= table[usize::from(b)];
    }
    ok
}

/// Percent-encodes `out[start..]` in place, allocating only when something needs it.
fn encode_tail(out: &mut String, start: usize, set: &'static AsciiSet) {
    if !is_clean(&out[start..], set) {
        let raw = out.split_off(start);
        out.extend(utf8_percent_encode(&raw, set));
    }
}

fn push_query_part(out: &mut String, text: &str) {
    for chunk in utf8_percent_encode(text, QUERY_VALUE_SET) {
        if chunk == "%20" {
            out.push('+');
        } else {
            out.push_str(chunk);
        }
    }
}

/// Converts the matched texts with the rule's converters; `None` if one refuses.
fn convert<'t, E>(
    rule: &Compiled<E>,
    texts: impl Iterator<Item = &'t str>,
    values: &mut Values,
) -> bool {
    for (var, text) in rule.vars.iter().zip(texts) {
        match var.converter.to_value(text) {
            Some(v) => values.push_static(var.name, v),
            None => return false,
        }
    }
    true
}

fn merge_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut last_slash = false;
    for c in path.chars() {
        if c == '/' {
            if last_slash {
                continue;
            }
            last_slash = true;
        } else {
            last_slash = false;
        }
        out.push(c);
    }
    out
}

fn fill_template<E>(rule: &Compiled<E>, template: &str, values: &Values) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = &after[..close];
        if let Some(v) = values.raw(name) {
            let start = out.len();
            match rule.vars.iter().find(|x| x.name == name) {
                Some(var) => {
                    if !var.converter.to_url(v, &mut out) {
                        out.push_str(&v.to_string());
                    }
                    let set = if var.converter.part_isolating() {
                        SEGMENT_ENCODE_SET
                    } else {
                        PATH_ENCODE_SET
                    };
                    encode_tail(&mut out, start, set);
                }
                None => {
                    out.push_str(&v.to_string());
                    encode_tail(&mut out, start, SEGMENT_ENCODE_SET);
                }
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// `urljoin(f"{scheme}://{netloc}{script_name}", target)` for the targets redirects use.
fn urljoin(scheme: &str, netloc: &str, script_name: &str, target: &str) -> String {
    if let Some((s, _)) = target.split_once("://") {
        if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return target.to_owned();
        }
    }
    if let Some(rest) = target.strip_prefix("//") {
        return format!("{scheme}://{rest}");
    }
    if target.starts_with('/') {
        return format!("{scheme}://{netloc}{target}");
    }
    // Relative: resolved against the application root (Werkzeug's base URL ends in the
    // script name and a slash).
    format!("{scheme}://{netloc}{script_name}/{target}")
}

impl<E: Endpoint> MapAdapter<'_, E> {
    /// Matches and converts the error for `?` in views returning `HttpException`s.
    #[doc(hidden)]
    pub fn match_or_exception(
        &self,
        path: &str,
        method: &Method,
    ) -> Result<(E, Values), HttpException> {
        self.match_(path, method).map_err(HttpException::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_is_like_difflib() {
        assert_eq!(similarity("abc", "abc"), 1.0);
        assert!(similarity("user_show", "user_shwo") > 0.8);
        assert!(similarity("index", "zzz") < 0.2);
    }

    #[test]
    fn urljoin_cases() {
        assert_eq!(urljoin("http", "h", "/app", "/x"), "http://h/x");
        assert_eq!(urljoin("http", "h", "/app", "x"), "http://h/app/x");
        assert_eq!(urljoin("http", "h", "", "x"), "http://h/x");
        assert_eq!(urljoin("http", "h", "", "https://o/p"), "https://o/p");
        assert_eq!(urljoin("https", "h", "", "//o/p"), "https://o/p");
    }

    #[test]
    fn builtin_writes_agree_with_their_converters() {
        let map = Map::new([Rule::new("/<a>/<int:b>/<path:c>", "x")]);
        let rule = &map.rules[0];
        let texts = [
            "",
            "a",
            "a b",
            "a/b",
            "ü",
            "%",
            "?#",
            "~-._",
            "x".repeat(40).leak(),
        ];
        let mut values: Vec<Value> = texts.iter().map(|t| Value::from(*t)).collect();
        values.extend([0, -5, 12345, i64::MIN].map(Value::Int));
        values.extend([Value::Float(2.5), Value::Bool(true)]);
        for var in &rule.vars {
            assert_ne!(var.builtin, Builtin::Other);
            for value in &values {
                let mut fast = String::from("/");
                let mut slow = String::from("/");
                let a = write_var(var, value, &mut fast);
                let b = write_var_with_converter(var, value, &mut slow);
                assert_eq!(a, b, "{} {value:?}", var.name);
                if a {
                    assert_eq!(fast, slow, "{} {value:?}", var.name);
                }
            }
        }
    }

    #[test]
    fn building_by_position_agrees_with_the_general_path() {
        let map = Map::builder().default_subdomain("www").build([
            Rule::new("/u/<int:id>/<name>", "user"),
            Rule::new("/u/<int:id>", "user_post").methods(["POST"]),
            Rule::new("/u/<int:id>/get", "user_post").methods(["GET"]),
            Rule::new("/f/<path:p>/<float:x>", "file"),
            Rule::new("/d/<int:id>", "defaults").default("lang", "en"),
            Rule::new("/s/<int:id>", "sub").subdomain("api"),
            Rule::new("/x/<uuid:u>", "uuid"),
            Rule::new("/p/<any(a, b):which>", "any"),
            Rule::new("/", "index"),
            Rule::new("/c/<int:y>/<int:m>/<int:d>", "day"),
        ]);
        let value = |pairs: &[(&'static str, Value)]| -> Values {
            let mut v = Values::new();
            for (k, x) in pairs {
                v.push_static(k, x.clone());
            }
            v
        };
        let cases: Vec<(&str, Values)> = vec![
            (
                "user",
                value(&[("id", Value::Int(3)), ("name", "a b/ü".into())]),
            ),
            (
                "user",
                value(&[("name", "x".into()), ("id", Value::Int(3))]),
            ),
            ("user", value(&[("id", Value::Int(3))])),
            (
                "user",
                value(&[
                    ("id", Value::Int(3)),
                    ("name", "n".into()),
                    ("q", "x y".into()),
                ]),
            ),
            (
                "user",
                value(&[("id", "3".into()), ("name", Value::Int(4))]),
            ),
            (
                "user",
                value(&[("id", Value::Float(1.5)), ("name", "n".into())]),
            ),
            (
                "user",
                value(&[("idx", Value::Int(3)), ("name", "n".into())]),
            ),
            ("user_post", value(&[("id", Value::Int(-1))])),
            (
                "file",
                value(&[("p", "a/b c".into()), ("x", Value::Float(0.5))]),
            ),
            ("defaults", value(&[("id", Value::Int(1))])),
            (
                "defaults",
                value(&[("id", Value::Int(1)), ("lang", "en".into())]),
            ),
            ("sub", value(&[("id", Value::Int(9))])),
            ("uuid", value(&[("u", Value::Uuid(uuid::Uuid::nil()))])),
            ("any", value(&[("which", "b".into())])),
            ("any", value(&[("which", "c".into())])),
            ("index", Values::new()),
            ("missing", Values::new()),
            // More than two values are kept on the heap.
            (
                "day",
                value(&[
                    ("y", Value::Int(2024)),
                    ("m", Value::Int(2)),
                    ("d", Value::Int(29)),
                ]),
            ),
            (
                "day",
                value(&[
                    ("y", Value::Int(2024)),
                    ("d", Value::Int(2)),
                    ("m", Value::Int(29)),
                ]),
            ),
            (
                "day",
                value(&[
                    ("y", Value::Int(1)),
                    ("m", Value::Int(2)),
                    ("d", Value::Int(3)),
                    ("x", Value::Int(4)),
                ]),
            ),
        ];
        let methods = [
            None,
            Some(Method::GET),
            Some(Method::POST),
            Some(Method::from_bytes(b"PURGE").unwrap()),
        ];
        let mut built = 0;
        for (server, script, subdomain) in [
            ("example.com", "", "www"),
            ("example.com", "/app/", "www"),
            ("example.com", "", "api"),
        ] {
            let a = map.bind_with_subdomain(server, script, subdomain);
            for (endpoint, values) in &cases {
                for method in &methods {
                    for external in [false, true] {
                        let mut options = BuildOptions::new().force_external(external);
                        if let Some(m) = method {
                            options = options.method(m.clone());
                        }
                        let mut fast = String::from("<");
                        let got = a.build_into(&mut fast, endpoint, values, &options);
                        let mut general = String::from("<");
                        let m = options.method.as_ref().unwrap_or(&a.default_method);
                        let want = a.build_general(
                            &mut general,
                            endpoint,
                            values,
                            (m, method_bit(m)),
                            &options,
                        );
                        assert_eq!(
                            got.is_ok(),
                            want.is_ok(),
                            "{endpoint} {values:?} {method:?}"
                        );
                        assert_eq!(fast, general, "{endpoint} {values:?} {method:?}");
                        built += usize::from(got.is_ok());
                    }
                }
            }
        }
        // Most of them build, on both paths.
        assert!(built > 100, "{built}");
    }

    #[test]
    fn builds_by_standard_and_other_methods() {
        let map = Map::new([
            Rule::new("/purge/<int:id>", "x").methods(["PURGE"]),
            Rule::new("/get/<int:id>", "x").methods(["GET", "PROPFIND"]),
            Rule::new("/any/<int:id>", "y"),
        ]);
        let a = map.bind("localhost", "");
        let with = |m: &str| {
            let options = BuildOptions::new().method(Method::from_bytes(m.as_bytes()).unwrap());
            a.build_with(&"x", &[("id", 1)], &options).ok()
        };
        assert_eq!(with("PURGE").as_deref(), Some("/purge/1"));
        assert_eq!(with("PROPFIND").as_deref(), Some("/get/1"));
        assert_eq!(with("GET").as_deref(), Some("/get/1"));
        assert_eq!(with("HEAD").as_deref(), Some("/get/1"));
        assert_eq!(with("POST"), None);
        assert_eq!(with("MKCOL"), None);
        let options = BuildOptions::new().method(Method::from_bytes(b"MKCOL").unwrap());
        assert_eq!(
            a.build_with(&"y", &[("id", -7)], &options).as_deref(),
            Ok("/any/-7")
        );
    }

    #[test]
    fn clean_check_agrees_with_percent_encoding() {
        for set in [PATH_ENCODE_SET, SEGMENT_ENCODE_SET] {
            for b in 0u8..=255 {
                let s = String::from_utf8_lossy(&[b]).into_owned();
                let encoded = utf8_percent_encode(&s, set).to_string();
                assert_eq!(is_clean(&s, set), encoded == s, "{b}");
            }
        }
    }

    #[test]
    fn finds_capitals_like_the_plain_loop() {
        for s in [
            "",
            "localhost",
            "LOCALHOST",
            "example.com:8080",
            "exAmple.com",
            "a.b.c.d.e.f.g.Z",
            "ü.example.Com",
            "@[`{",
            "abcdefgh",
            "abcdefgH",
            "Ωmega",
        ] {
            assert_eq!(
                has_upper(s.as_bytes()),
                s.bytes().any(|b| b.is_ascii_uppercase()),
                "{s}"
            );
        }
        for b in 0u8..=255 {
            let s = [b'a', b'b', b'c', b'd', b'e', b'f', b'g', b];
            assert_eq!(has_upper(&s), b.is_ascii_uppercase(), "{b}");
        }
    }

    #[test]
    fn merges_slashes() {
        assert_eq!(merge_slashes("//a///b/"), "/a/b/");
    }

    #[test]
    fn query_encoding_like_werkzeug() {
        let mut s = String::new();
        push_query_part(&mut s, "a b&c=d/e:f+g");
        assert_eq!(s, "a+b%26c%3Dd/e:f%2Bg");
    }
}
