//! Redirects: `/redirect/<n>`, `/relative-redirect/<n>`, `/absolute-redirect/<n>` (chains
//! that end at `/get`) and `/redirect-to?url=...&status_code=...` (any method).
//!
//! It owns the shape of httpbin's redirects: which ones carry Flask's HTML body
//! ([`zeug::redirect`]) and which an empty one, and when the `Location` is absolute. URLs
//! are built from the request's script root, so the app works mounted under a prefix.

use http::header::{HeaderValue, LOCATION};
use zeug::{HttpException, Request, Response, redirect};

/// `url_for(path)`, relative or (`external`) with scheme and host.
fn url_for(req: &Request, path: &str, external: bool) -> String {
    let path = format!("{}{}", req.script_root(), path);
    if external {
        format!("{}://{}{}", req.scheme(), req.host(), path)
    } else {
        path
    }
}

fn positive(n: i64) -> Result<i64, HttpException> {
    if n > 0 {
        Ok(n)
    } else {
        Err(HttpException::bad_request().with_description("n must be a positive number."))
    }
}

/// An empty-bodied `302` with a raw `Location`, as `/relative-redirect` and
/// `/redirect-to` answer.
fn bare_redirect(location: &str, status: u16) -> Result<Response, HttpException> {
    let value = HeaderValue::try_from(zeug::utils::iri_to_uri(location)).map_err(|_| {
        HttpException::bad_request()
            .with_description("The redirect URL is not a valid header value.")
    })?;
    let mut res = Response::html("").with_status(status);
    res.headers_mut().insert(LOCATION, value);
    Ok(res)
}

/// `GET /redirect/<n>`: `n` redirects, relative unless `?absolute=true`.
pub fn redirect_n(req: &Request, n: i64) -> Result<Response, HttpException> {
    let n = positive(n)?;
    let absolute = req
        .args()
        .get("absolute")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if n == 1 {
        return Ok(redirect(&url_for(req, "/get", absolute), 302));
    }
    let kind = if absolute { "absolute" } else { "relative" };
    Ok(redirect(
        &url_for(req, &format!("/{kind}-redirect/{}", n - 1), absolute),
        302,
    ))
}

/// `GET /relative-redirect/<n>`: relative `Location`s, empty bodies.
pub fn relative_redirect(req: &Request, n: i64) -> Result<Response, HttpException> {
    let n = positive(n)?;
    let target = if n == 1 {
        url_for(req, "/get", false)
    } else {
        url_for(req, &format!("/relative-redirect/{}", n - 1), false)
    };
    bare_redirect(&target, 302)
}

/// `GET /absolute-redirect/<n>`: absolute `Location`s with Flask's HTML body.
pub fn absolute_redirect(req: &Request, n: i64) -> Result<Response, HttpException> {
    let n = positive(n)?;
    let target = if n == 1 {
        url_for(req, "/get", true)
    } else {
        url_for(req, &format!("/absolute-redirect/{}", n - 1), true)
    };
    Ok(redirect(&target, 302))
}

/// A query argument by case-insensitive name (httpbin's `CaseInsensitiveDict` of the args).
pub fn arg_ci<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.args()
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `/redirect-to?url=&status_code=`, any method: a `302` (or the given 3xx) to `url`.
pub fn redirect_to(req: &Request) -> Result<Response, HttpException> {
    let url = arg_ci(req, "url").ok_or_else(|| {
        HttpException::bad_request().with_description("The 'url' query argument is required.")
    })?;
    let mut status = 302;
    if let Some(code) = arg_ci(req, "status_code") {
        let code: i64 = code.trim().parse().map_err(|_| {
            HttpException::bad_request().with_description("status_code must be an integer.")
        })?;
        if (300..400).contains(&code) {
            status = code as u16;
        }
    }
    bare_redirect(url, status)
}
