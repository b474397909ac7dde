//! Cookies: `/cookies` (what the client sent), `/cookies/set?name=value`,
//! `/cookies/set/<name>/<value>` and `/cookies/delete?name`, each of the last three a
//! `302` back to `/cookies`.
//!
//! Cookies are written with [`Response::set_cookie`] and [`Response::delete_cookie`] and
//! read with [`Request::cookies`].

use zeug::wrappers::CookieOptions;
use zeug::{HttpException, Request, Response, redirect};

use super::pyjson::{Json, jsonify};

/// Tracking cookies httpbin hides from `/cookies` unless `?show_env` is given.
pub const ENV_COOKIES: &[&str] = &[
    "_gauges_unique",
    "_gauges_unique_year",
    "_gauges_unique_month",
    "_gauges_unique_day",
    "_gauges_unique_hour",
    "__utmz",
    "__utma",
    "__utmb",
];

/// Adds `Set-Cookie: name=value; Path=/` (plus `Secure` over HTTPS, as httpbin does).
/// [`Response::set_cookie`] quotes a value that is not plain RFC 6265 cookie-octets the way
/// Werkzeug does (`b="x y"`), and [`Request::cookies`] unquotes it again.
pub fn set_cookie(res: &mut Response, name: &str, value: &str, secure: bool) {
    res.set_cookie(name, value, CookieOptions::new().secure(secure));
}

/// `GET /cookies`: `{"cookies": {name: value}}`, first value per name.
pub fn cookies(req: &Request) -> Result<Response, HttpException> {
    let show_env = req.args().contains_key("show_env");
    let mut out: Vec<(String, Json)> = Vec::new();
    for (name, value) in req.cookies().iter() {
        if out.iter().any(|(k, _)| k == name) || (!show_env && ENV_COOKIES.contains(&name)) {
            continue;
        }
        out.push((name.to_owned(), Json::str(value)));
    }
    Ok(jsonify(&Json::obj([("cookies", Json::Obj(out))])))
}

fn back_to_cookies(req: &Request) -> Response {
    redirect(&format!("{}/cookies", req.script_root()), 302)
}

/// `GET /cookies/set?name=value&...`: sets each (first value per name), then redirects.
pub fn set_cookies(req: &Request) -> Result<Response, HttpException> {
    let mut res = back_to_cookies(req);
    for name in req.args().keys() {
        let value = req.args().get(name).unwrap_or_default();
        set_cookie(&mut res, name, value, req.is_secure());
    }
    Ok(res)
}

/// `GET /cookies/set/<name>/<value>`.
pub fn set_one_cookie(req: &Request, name: &str, value: &str) -> Result<Response, HttpException> {
    let mut res = back_to_cookies(req);
    set_cookie(&mut res, name, value, req.is_secure());
    Ok(res)
}

/// `GET /cookies/delete?name&...`: expires each named cookie, then redirects.
pub fn delete_cookies(req: &Request) -> Result<Response, HttpException> {
    let mut res = back_to_cookies(req);
    for name in req.args().keys() {
        res.delete_cookie(name);
    }
    Ok(res)
}
