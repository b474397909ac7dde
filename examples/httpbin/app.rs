//! The httpbin application: its URL rules, the dispatch from endpoint to view, and what
//! httpbin does around every view (CORS headers, automatic `OPTIONS` answers).
//!
//! The views live in one module per group of endpoints, as httpbin's documentation groups
//! them; this module owns only the wiring. Include it from a test with
//! `#[path = "../examples/httpbin/app.rs"] mod app;` and drive [`HttpBin`] through
//! `zeug::test::Client`.

#[path = "auth.rs"]
pub mod auth;
#[path = "caching.rs"]
pub mod caching;
#[path = "cookies.rs"]
pub mod cookies;
#[path = "dynamic.rs"]
pub mod dynamic;
#[path = "formats.rs"]
pub mod formats;
#[path = "inspect.rs"]
pub mod inspect;
#[path = "pyjson.rs"]
pub mod pyjson;
#[path = "pyrandom.rs"]
pub mod pyrandom;
#[path = "redirects.rs"]
pub mod redirects;
#[path = "status.rs"]
pub mod status;

use http::header::HeaderValue;
use http::Method;
use zeug::{Application, Environ, HttpException, Request, Response};

/// Every view of httpbin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/`
    Index,
    /// `/get`
    Get,
    /// `/post`, `/put`, `/patch`, `/delete`
    WithBody,
    /// `/anything`, `/anything/<path>`
    Anything,
    /// `/headers`
    Headers,
    /// `/ip`
    Ip,
    /// `/user-agent`
    UserAgent,
    /// `/uuid`
    Uuid,
    /// `/status/<codes>`
    Status,
    /// `/redirect/<n>`
    Redirect,
    /// `/relative-redirect/<n>`
    RelativeRedirect,
    /// `/absolute-redirect/<n>`
    AbsoluteRedirect,
    /// `/redirect-to`
    RedirectTo,
    /// `/cookies`
    Cookies,
    /// `/cookies/set`
    SetCookies,
    /// `/cookies/set/<name>/<value>`
    SetCookie,
    /// `/cookies/delete`
    DeleteCookies,
    /// `/basic-auth/<user>/<passwd>`
    BasicAuth,
    /// `/hidden-basic-auth/<user>/<passwd>`
    HiddenBasicAuth,
    /// `/bearer`
    Bearer,
    /// `/digest-auth/<qop>/<user>/<passwd>[/<algorithm>[/<stale_after>]]`
    DigestAuth,
    /// `/stream/<n>`
    Stream,
    /// `/stream-bytes/<n>`
    StreamBytes,
    /// `/delay/<delay>`
    Delay,
    /// `/drip`
    Drip,
    /// `/bytes/<n>`
    Bytes,
    /// `/range/<numbytes>`
    Range,
    /// `/links/<n>/<offset>`
    Links,
    /// `/links/<n>`
    LinksStart,
    /// `/base64/<value>`
    Base64,
    /// `/gzip`
    Gzip,
    /// `/deflate`
    Deflate,
    /// `/brotli`
    Brotli,
    /// `/encoding/utf8`
    Utf8,
    /// `/html`
    Html,
    /// `/json`
    Json,
    /// `/xml`
    Xml,
    /// `/robots.txt`
    Robots,
    /// `/deny`
    Deny,
    /// `/cache`
    Cache,
    /// `/cache/<n>`
    CacheControl,
    /// `/etag/<etag>`
    Etag,
    /// `/response-headers`
    ResponseHeaders,
    /// `/forms/post`
    FormsPost,
}

const GET: &[&str] = &["GET"];
/// The methods httpbin's "any method" endpoints accept.
pub const ANY: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "TRACE"];

/// httpbin's URL rules in Werkzeug syntax, with their endpoint and methods (`HEAD` is
/// implied by `GET`, `OPTIONS` is answered for every rule).
pub fn rules() -> Vec<(&'static str, Endpoint, &'static [&'static str])> {
    use Endpoint as E;
    vec![
        ("/", E::Index, GET),
        ("/get", E::Get, GET),
        ("/post", E::WithBody, &["POST"]),
        ("/put", E::WithBody, &["PUT"]),
        ("/patch", E::WithBody, &["PATCH"]),
        ("/delete", E::WithBody, &["DELETE"]),
        ("/anything", E::Anything, ANY),
        ("/anything/<path:anything>", E::Anything, ANY),
        ("/headers", E::Headers, GET),
        ("/ip", E::Ip, GET),
        ("/user-agent", E::UserAgent, GET),
        ("/uuid", E::Uuid, GET),
        ("/status/<codes>", E::Status, ANY),
        ("/redirect/<int:n>", E::Redirect, GET),
        ("/relative-redirect/<int:n>", E::RelativeRedirect, GET),
        ("/absolute-redirect/<int:n>", E::AbsoluteRedirect, GET),
        ("/redirect-to", E::RedirectTo, ANY),
        ("/cookies", E::Cookies, GET),
        ("/cookies/set", E::SetCookies, GET),
        ("/cookies/set/<name>/<value>", E::SetCookie, GET),
        ("/cookies/delete", E::DeleteCookies, GET),
        ("/basic-auth/<user>/<passwd>", E::BasicAuth, GET),
        (
            "/hidden-basic-auth/<user>/<passwd>",
            E::HiddenBasicAuth,
            GET,
        ),
        ("/bearer", E::Bearer, GET),
        ("/digest-auth/<qop>/<user>/<passwd>", E::DigestAuth, GET),
        (
            "/digest-auth/<qop>/<user>/<passwd>/<algorithm>",
            E::DigestAuth,
            GET,
        ),
        (
            "/digest-auth/<qop>/<user>/<passwd>/<algorithm>/<stale_after>",
            E::DigestAuth,
            GET,
        ),
        ("/stream/<int:n>", E::Stream, GET),
        ("/stream-bytes/<int:n>", E::StreamBytes, GET),
        ("/delay/<delay>", E::Delay, ANY),
        ("/drip", E::Drip, GET),
        ("/bytes/<int:n>", E::Bytes, GET),
        ("/range/<int:numbytes>", E::Range, GET),
        ("/links/<int:n>/<int:offset>", E::Links, GET),
        ("/links/<int:n>", E::LinksStart, GET),
        ("/base64/<value>", E::Base64, GET),
        ("/gzip", E::Gzip, GET),
        ("/deflate", E::Deflate, GET),
        ("/brotli", E::Brotli, GET),
        ("/encoding/utf8", E::Utf8, GET),
        ("/html", E::Html, GET),
        ("/json", E::Json, GET),
        ("/xml", E::Xml, GET),
        ("/robots.txt", E::Robots, GET),
        ("/deny", E::Deny, GET),
        ("/cache", E::Cache, GET),
        ("/cache/<int:value>", E::CacheControl, GET),
        ("/etag/<etag>", E::Etag, GET),
        ("/response-headers", E::ResponseHeaders, &["GET", "POST"]),
        ("/forms/post", E::FormsPost, GET),
    ]
}

/// The values a rule matched, by name.
#[derive(Debug, Default, Clone)]
pub struct Values(Vec<(&'static str, String)>);

impl Values {
    /// A text value (`""` when the rule has no such variable).
    pub fn str(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// An optional text value.
    pub fn opt(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An `int` value; 404 when it does not fit (as a rule that did not match).
    pub fn int(&self, name: &str) -> Result<i64, HttpException> {
        self.str(name)
            .parse()
            .map_err(|_| HttpException::not_found())
    }
}

/// The httpbin application.
///
/// # Examples
///
/// ```ignore
/// let client = zeug::test::Client::new(HttpBin::new());
/// assert_eq!(client.get("/status/418").send().status(), 418);
/// ```
pub struct HttpBin {
    router: Router,
}

impl Default for HttpBin {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpBin {
    /// Builds the application and its URL map.
    pub fn new() -> Self {
        HttpBin {
            router: Router::new(rules()),
        }
    }

    /// Routes and answers one request, without the CORS headers.
    pub fn handle(&self, req: &Request) -> Response {
        let path = req.path();
        let method = req.method();
        let Some((endpoint, methods, values)) = self.router.find(path) else {
            return HttpException::not_found().into_response();
        };
        if method == Method::OPTIONS {
            return options_response(methods);
        }
        let allowed = methods.iter().any(|m| *m == method.as_str())
            || (method == Method::HEAD && methods.contains(&"GET"));
        if !allowed {
            let mut list: Vec<Method> = methods
                .iter()
                .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
                .collect();
            list.push(Method::OPTIONS);
            return HttpException::method_not_allowed(&list).into_response();
        }
        dispatch(req, endpoint, &values).unwrap_or_else(HttpException::into_response)
    }
}

impl Application for HttpBin {
    fn call(&self, environ: Environ) -> Response {
        let req = Request::new(environ);
        let mut res = self.handle(&req);
        add_cors_headers(&req, &mut res);
        res
    }
}

/// Calls the view for `endpoint`.
pub fn dispatch(req: &Request, endpoint: Endpoint, v: &Values) -> Result<Response, HttpException> {
    use Endpoint as E;
    match endpoint {
        E::Index => formats::index(req),
        E::Get => inspect::get(req),
        E::WithBody => inspect::with_body(req),
        E::Anything => inspect::anything(req),
        E::Headers => inspect::headers(req),
        E::Ip => inspect::ip(req),
        E::UserAgent => inspect::user_agent(req),
        E::Uuid => dynamic::uuid(req),
        E::Status => status::status(req, v.str("codes")),
        E::Redirect => redirects::redirect_n(req, v.int("n")?),
        E::RelativeRedirect => redirects::relative_redirect(req, v.int("n")?),
        E::AbsoluteRedirect => redirects::absolute_redirect(req, v.int("n")?),
        E::RedirectTo => redirects::redirect_to(req),
        E::Cookies => cookies::cookies(req),
        E::SetCookies => cookies::set_cookies(req),
        E::SetCookie => cookies::set_one_cookie(req, v.str("name"), v.str("value")),
        E::DeleteCookies => cookies::delete_cookies(req),
        E::BasicAuth => auth::basic_auth(req, v.str("user"), v.str("passwd")),
        E::HiddenBasicAuth => auth::hidden_basic_auth(req, v.str("user"), v.str("passwd")),
        E::Bearer => auth::bearer(req),
        E::DigestAuth => auth::digest_auth(
            req,
            v.str("qop"),
            v.str("user"),
            v.str("passwd"),
            v.opt("algorithm").unwrap_or("MD5"),
            v.opt("stale_after").unwrap_or("never"),
        ),
        E::Stream => dynamic::stream(req, v.int("n")?),
        E::StreamBytes => dynamic::stream_bytes(req, v.int("n")?),
        E::Delay => dynamic::delay(req, v.str("delay")),
        E::Drip => dynamic::drip(req),
        E::Bytes => dynamic::random_bytes(req, v.int("n")?),
        E::Range => dynamic::range(req, v.int("numbytes")?),
        E::Links => dynamic::links(req, v.int("n")?, v.int("offset")?),
        E::LinksStart => dynamic::links_start(req, v.int("n")?),
        E::Base64 => dynamic::base64_decode(req, v.str("value")),
        E::Gzip => formats::gzip(req),
        E::Deflate => formats::deflate(req),
        E::Brotli => formats::brotli(req),
        E::Utf8 => formats::utf8(req),
        E::Html => formats::html(req),
        E::Json => formats::json(req),
        E::Xml => formats::xml(req),
        E::Robots => formats::robots_txt(req),
        E::Deny => formats::deny(req),
        E::Cache => caching::cache(req),
        E::CacheControl => caching::cache_control(req, v.int("value")?),
        E::Etag => caching::etag(req, v.str("etag")),
        E::ResponseHeaders => caching::response_headers(req),
        E::FormsPost => formats::forms_post(req),
    }
}

/// Flask's automatic `OPTIONS` answer: empty, with `Allow`.
fn options_response(methods: &[&str]) -> Response {
    let mut list: Vec<&str> = methods.to_vec();
    if list.contains(&"GET") {
        list.push("HEAD");
    }
    list.push("OPTIONS");
    list.sort_unstable();
    list.dedup();
    Response::html("").with_header("allow", &list.join(", "))
}

/// What httpbin adds to every response: `Access-Control-Allow-Origin` (the request's
/// `Origin`, or `*`) and `-Credentials`, and for `OPTIONS` the preflight answers.
pub fn add_cors_headers(req: &Request, res: &mut Response) {
    let headers = res.headers_mut();
    let origin = req
        .headers()
        .get("origin")
        .cloned()
        .unwrap_or(HeaderValue::from_static("*"));
    headers.insert("access-control-allow-origin", origin);
    headers.insert(
        "access-control-allow-credentials",
        HeaderValue::from_static("true"),
    );
    if req.method() == Method::OPTIONS {
        headers.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("GET, POST, PUT, DELETE, PATCH, OPTIONS"),
        );
        headers.insert("access-control-max-age", HeaderValue::from_static("3600"));
        if let Some(requested) = req.headers().get("access-control-request-headers") {
            headers.insert("access-control-allow-headers", requested.clone());
        }
    }
}

/// A minimal matcher for the rule table, until `zeug::routing` takes over: static
/// segments, `<name>` (one non-empty segment), `<int:name>` (digits) and `<path:name>`
/// (the rest). Static rules win over dynamic ones, as in Werkzeug.
struct Router {
    rules: Vec<(Vec<Segment>, Endpoint, &'static [&'static str])>,
}

enum Segment {
    Static(&'static str),
    Str(&'static str),
    Int(&'static str),
    Path(&'static str),
}

impl Router {
    fn new(rules: Vec<(&'static str, Endpoint, &'static [&'static str])>) -> Self {
        let mut parsed: Vec<_> = rules
            .into_iter()
            .map(|(path, ep, methods)| {
                let segments = path
                    .trim_start_matches('/')
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(
                        |s| match s.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                            None => Segment::Static(s),
                            Some(var) => match var.split_once(':') {
                                Some(("int", name)) => Segment::Int(name),
                                Some(("path", name)) => Segment::Path(name),
                                Some((other, _)) => panic!("unknown converter {other} in {path}"),
                                None => Segment::Str(var),
                            },
                        },
                    )
                    .collect::<Vec<_>>();
                (segments, ep, methods)
            })
            .collect();
        // Rules with fewer variables first, so `/cookies/set` beats `/cookies/<x>`-like rules.
        parsed.sort_by_key(|(segs, _, _)| {
            segs.iter()
                .filter(|s| !matches!(s, Segment::Static(_)))
                .count()
        });
        Router { rules: parsed }
    }

    fn find(&self, path: &str) -> Option<(Endpoint, &'static [&'static str], Values)> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let parts: Vec<&str> = if parts == [""] { vec![] } else { parts };
        'rules: for (segments, ep, methods) in &self.rules {
            let mut values = Vec::new();
            for (i, seg) in segments.iter().enumerate() {
                match seg {
                    Segment::Path(name) => {
                        let rest = parts.get(i..).unwrap_or(&[]).join("/");
                        if rest.is_empty() {
                            continue 'rules;
                        }
                        values.push((*name, rest));
                        return Some((*ep, methods, Values(values)));
                    }
                    _ if i >= parts.len() => continue 'rules,
                    Segment::Static(s) if *s == parts[i] => {}
                    Segment::Str(name) if !parts[i].is_empty() => {
                        values.push((*name, parts[i].to_owned()))
                    }
                    Segment::Int(name)
                        if !parts[i].is_empty() && parts[i].bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        values.push((*name, parts[i].to_owned()))
                    }
                    _ => continue 'rules,
                }
            }
            if segments.len() == parts.len() {
                return Some((*ep, methods, Values(values)));
            }
        }
        None
    }
}
