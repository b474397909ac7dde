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

use http::Method;
use http::header::HeaderValue;
use zeug::routing::{Map, Rule, Values};
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

/// A text value the rule matched (`""` for a variable the rule does not have).
fn text<'a>(values: &'a Values, name: &str) -> &'a str {
    values.get::<&str>(name).unwrap_or("")
}

/// An `int` value the rule matched.
fn int(values: &Values, name: &str) -> Result<i64, HttpException> {
    values.get::<i64>(name).ok_or_else(HttpException::not_found)
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
    map: Map<Endpoint>,
}

impl Default for HttpBin {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpBin {
    /// Builds the application and its URL map. Every rule also accepts `OPTIONS`, which
    /// [`handle`](Self::handle) answers itself, as Flask does.
    pub fn new() -> Self {
        let rules = rules().into_iter().map(|(path, endpoint, methods)| {
            Rule::new(path, endpoint).methods(methods.iter().copied().chain(["OPTIONS"]))
        });
        HttpBin {
            map: Map::new(rules),
        }
    }

    /// Routes and answers one request, without the CORS headers: 404 for unknown URLs,
    /// 405 with `Allow` for a method a rule does not take, and `OPTIONS` answered with the
    /// allowed methods.
    pub fn handle(&self, req: &Request) -> Response {
        let adapter = self.map.bind_to_environ(req.environ());
        match adapter.match_(req.path(), req.method()) {
            Ok(_) if req.method() == Method::OPTIONS => {
                options_response(&adapter.allowed_methods(req.path()))
            }
            Ok((endpoint, values)) => {
                dispatch(req, endpoint, &values).unwrap_or_else(HttpException::into_response)
            }
            Err(e) => HttpException::from(e).into_response(),
        }
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
        E::Status => status::status(req, text(v, "codes")),
        E::Redirect => redirects::redirect_n(req, int(v, "n")?),
        E::RelativeRedirect => redirects::relative_redirect(req, int(v, "n")?),
        E::AbsoluteRedirect => redirects::absolute_redirect(req, int(v, "n")?),
        E::RedirectTo => redirects::redirect_to(req),
        E::Cookies => cookies::cookies(req),
        E::SetCookies => cookies::set_cookies(req),
        E::SetCookie => cookies::set_one_cookie(req, text(v, "name"), text(v, "value")),
        E::DeleteCookies => cookies::delete_cookies(req),
        E::BasicAuth => auth::basic_auth(req, text(v, "user"), text(v, "passwd")),
        E::HiddenBasicAuth => auth::hidden_basic_auth(req, text(v, "user"), text(v, "passwd")),
        E::Bearer => auth::bearer(req),
        E::DigestAuth => auth::digest_auth(
            req,
            text(v, "qop"),
            text(v, "user"),
            text(v, "passwd"),
            v.get::<&str>("algorithm").unwrap_or("MD5"),
            v.get::<&str>("stale_after").unwrap_or("never"),
        ),
        E::Stream => dynamic::stream(req, int(v, "n")?),
        E::StreamBytes => dynamic::stream_bytes(req, int(v, "n")?),
        E::Delay => dynamic::delay(req, text(v, "delay")),
        E::Drip => dynamic::drip(req),
        E::Bytes => dynamic::random_bytes(req, int(v, "n")?),
        E::Range => dynamic::range(req, int(v, "numbytes")?),
        E::Links => dynamic::links(req, int(v, "n")?, int(v, "offset")?),
        E::LinksStart => dynamic::links_start(req, int(v, "n")?),
        E::Base64 => dynamic::base64_decode(req, text(v, "value")),
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
        E::CacheControl => caching::cache_control(req, int(v, "value")?),
        E::Etag => caching::etag(req, text(v, "etag")),
        E::ResponseHeaders => caching::response_headers(req),
        E::FormsPost => formats::forms_post(req),
    }
}

/// Flask's automatic `OPTIONS` answer: empty, with `Allow`.
fn options_response(allowed: &[Method]) -> Response {
    let mut list: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    list.sort_unstable();
    list.dedup();
    match HeaderValue::try_from(list.join(", ")) {
        Ok(allow) => Response::html("").with_header("allow", allow),
        // Method names are tokens, so this does not happen.
        Err(_) => HttpException::internal_server_error().into_response(),
    }
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
