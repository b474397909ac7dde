//! [`MapAdapter`]: a [`Map`] bound to one request's host, script root, scheme, method and
//! path, and the binding itself (`Map::bind`, `Map::bind_to_environ`). It borrows the map
//! and, with `bind_to_environ`, the environ: binding allocates nothing in the common case.
//! What an adapter does is in the modules beside it: `matching` (match a path), `build`
//! (URLs for endpoints) and `redirect` (Werkzeug's redirect cases).

use std::borrow::Cow;

use http::Method;

use super::error::BuildError;
use super::map::{Endpoint, Map};
use super::matcher::DomainRouter;
use super::values::BuildValues;
use crate::{Environ, Request};

/// `s` lower-cased (ASCII), borrowed when it has no capital: Werkzeug lower-cases hosts.
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
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
    pub fn bind<'a>(&'a self, server_name: &'a str, script_name: &'a str) -> MapAdapter<'a, E> {
        // With host matching the host chooses rules, so it is lowered now; otherwise only
        // the URLs built with it lower it.
        let (server_name, subdomain) = match self.host_matching {
            true => (lower(server_name), None),
            false => (
                Cow::Borrowed(server_name),
                Some(self.default_subdomain.as_str()),
            ),
        };
        MapAdapter::new(self, server_name, script_name, subdomain.map(Cow::Borrowed))
    }

    /// Like [`Map::bind`], for a given subdomain (`""` for none).
    pub fn bind_with_subdomain<'a>(
        &'a self,
        server_name: &'a str,
        script_name: &'a str,
        subdomain: &'a str,
    ) -> MapAdapter<'a, E> {
        let (server_name, subdomain) = match self.host_matching {
            true => (lower(server_name), None),
            false => (Cow::Borrowed(server_name), Some(Cow::Borrowed(subdomain))),
        };
        MapAdapter::new(self, server_name, script_name, subdomain)
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
        MapAdapter {
            url_scheme: scheme,
            query_string: environ.query_string.as_str(),
            path_info: environ.path_info.as_str(),
            default_method: environ.method.clone(),
            ..MapAdapter::new(self, server_name, &environ.script_name, subdomain)
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
/// assert_eq!(view(&urls, "/hello/zeug").unwrap().body_text().unwrap(), "Hello zeug!");
/// assert_eq!(view(&urls, "/nope").unwrap_err().status(), 404);
/// ```
#[derive(Clone)]
pub struct MapAdapter<'a, E> {
    pub(super) map: &'a Map<E>,
    pub(super) server_name: Cow<'a, str>,
    pub(super) script_name: &'a str,
    pub(super) subdomain: Option<Cow<'a, str>>,
    pub(super) url_scheme: &'a str,
    pub(super) query_string: &'a str,
    /// The path [`MapAdapter::match_request`] matches: the request's with
    /// `bind_to_environ`, otherwise `/`.
    pub(super) path_info: &'a str,
    pub(super) default_method: Method,
    /// The `matchit` router of this adapter's domain, found once at binding.
    pub(super) router: Option<&'a DomainRouter>,
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

impl<'a, E: Endpoint> MapAdapter<'a, E> {
    /// An adapter for `http`, `GET` and the path `/`, on `subdomain` (`None` with host
    /// matching), with the router of its domain found once.
    fn new(
        map: &'a Map<E>,
        server_name: Cow<'a, str>,
        script_name: &'a str,
        subdomain: Option<Cow<'a, str>>,
    ) -> Self {
        MapAdapter {
            map,
            router: map
                .matcher
                .router(subdomain.as_deref().unwrap_or(&server_name)),
            server_name,
            script_name: script_name.trim_end_matches('/'),
            subdomain,
            url_scheme: "http",
            query_string: "",
            path_info: "/",
            default_method: Method::GET,
        }
    }

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

    /// The domain part rules are matched against: the subdomain, or the host with host
    /// matching.
    pub(super) fn domain(&self) -> &str {
        match (&self.subdomain, self.map.host_matching) {
            (Some(s), false) => s,
            _ => &self.server_name,
        }
    }

    /// The host of a URL on `domain_part` (a subdomain, or a host with host matching; the
    /// bound one when `None`).
    pub(super) fn get_host<'s>(&'s self, domain_part: Option<&'s str>) -> Cow<'s, str> {
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
}
