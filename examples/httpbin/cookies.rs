//! Cookies: `/cookies` (what the client sent), `/cookies/set?name=value`,
//! `/cookies/set/<name>/<value>` and `/cookies/delete?name`, each of the last three a
//! `302` back to `/cookies`.
//!
//! Cookies are written with [`set_cookie`] / [`delete_cookie`] below (`Path=/`, `Secure`
//! over HTTPS, as httpbin does); reading them is [`Request::cookies`]' job.

use http::header::{HeaderValue, SET_COOKIE};
use zeug::{redirect, HttpException, Request, Response};

use super::pyjson::{jsonify, Json};

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

/// Characters a cookie value may carry without encoding (RFC 6265 `cookie-octet`).
const COOKIE_VALUE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%');

/// Appends `Set-Cookie: name=value; Path=/` (plus `Secure` when asked). The value is
/// percent-encoded where RFC 6265 does not allow it raw, which [`Request::cookies`]
/// decodes again. A name that cannot be a header token is a 400.
pub fn set_cookie(
    res: &mut Response,
    name: &str,
    value: &str,
    secure: bool,
) -> Result<(), HttpException> {
    let value = percent_encoding::utf8_percent_encode(value, COOKIE_VALUE);
    let mut header = format!("{name}={value}; Path=/");
    if secure {
        header.push_str("; Secure");
    }
    append(res, name, header)
}

/// Appends a `Set-Cookie` that expires `name` at once.
pub fn delete_cookie(res: &mut Response, name: &str) -> Result<(), HttpException> {
    append(
        res,
        name,
        format!("{name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"),
    )
}

fn append(res: &mut Response, name: &str, header: String) -> Result<(), HttpException> {
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
    let value = HeaderValue::try_from(header)
        .ok()
        .filter(|_| valid_name)
        .ok_or_else(|| HttpException::bad_request().with_description("Invalid cookie name."))?;
    res.headers_mut().append(SET_COOKIE, value);
    Ok(())
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
        set_cookie(&mut res, name, value, req.is_secure())?;
    }
    Ok(res)
}

/// `GET /cookies/set/<name>/<value>`.
pub fn set_one_cookie(req: &Request, name: &str, value: &str) -> Result<Response, HttpException> {
    let mut res = back_to_cookies(req);
    set_cookie(&mut res, name, value, req.is_secure())?;
    Ok(res)
}

/// `GET /cookies/delete?name&...`: expires each named cookie, then redirects.
pub fn delete_cookies(req: &Request) -> Result<Response, HttpException> {
    let mut res = back_to_cookies(req);
    for name in req.args().keys() {
        delete_cookie(&mut res, name)?;
    }
    Ok(res)
}
