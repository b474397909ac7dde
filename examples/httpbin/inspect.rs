//! Request inspection: the standard `{args, data, files, form, headers, json, method,
//! origin, url}` object and the endpoints that echo it (`/get`, `/post`, `/put`, `/patch`,
//! `/delete`, `/anything`, `/headers`, `/ip`, `/user-agent`).
//!
//! This module owns how a [`Request`] is shown back to the client, httpbin's way: repeated
//! keys become lists, header names are title-cased as WSGI servers present them, proxy
//! headers are hidden unless `?show_env` is given, binary bodies become `data:` URLs. It does
//! not write JSON text (see `pyjson`).

use base64::Engine as _;
use zeug::datastructures::MultiDict;
use zeug::{HttpException, Request, Response};

use super::pyjson::{Json, jsonify};

/// Headers a hosting platform or proxy adds; httpbin hides them unless `?show_env` is given.
pub const ENV_HEADERS: &[&str] = &[
    "X-Varnish",
    "X-Request-Start",
    "X-Heroku-Queue-Depth",
    "X-Real-Ip",
    "X-Forwarded-Proto",
    "X-Forwarded-Protocol",
    "X-Forwarded-Ssl",
    "X-Heroku-Queue-Wait-Time",
    "X-Forwarded-For",
    "X-Heroku-Dynos-In-Use",
    "X-Forwarded-Port",
    "X-Request-Id",
    "Via",
    "Total-Route-Time",
    "Connect-Time",
];

/// The parts of the standard object, in the order httpbin lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `url`: the full URL, as an IRI, with the scheme a proxy reported.
    Url,
    /// `args`: the query arguments.
    Args,
    /// `form`: the form fields.
    Form,
    /// `data`: the raw body (empty when it was a form).
    Data,
    /// `origin`: `X-Forwarded-For` or the client address.
    Origin,
    /// `headers`: the request headers.
    Headers,
    /// `files`: uploaded files, first one per field.
    Files,
    /// `json`: the body parsed as JSON, whatever its content type, or `null`.
    Json,
    /// `method`: the request method.
    Method,
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::Url => "url",
            Key::Args => "args",
            Key::Form => "form",
            Key::Data => "data",
            Key::Origin => "origin",
            Key::Headers => "headers",
            Key::Files => "files",
            Key::Json => "json",
            Key::Method => "method",
        }
    }
}

/// The keys `/post`, `/put`, `/patch` and `/delete` answer with.
pub const BODY_KEYS: &[Key] = &[
    Key::Url,
    Key::Args,
    Key::Form,
    Key::Data,
    Key::Origin,
    Key::Headers,
    Key::Files,
    Key::Json,
];

/// The keys `/get`, `/cache` and `/etag` answer with.
pub const GET_KEYS: &[Key] = &[Key::Url, Key::Args, Key::Headers, Key::Origin];

/// Builds httpbin's request object with `keys`, in that order.
///
/// The body is read at most once: forms first (so `data` is empty for form posts, as in
/// Flask), then the raw bytes. A body over the limits is a 413, a truncated one a 400.
pub fn request_dict(req: &Request, keys: &[Key]) -> Result<Vec<(String, Json)>, HttpException> {
    let needs_body = keys
        .iter()
        .any(|k| matches!(k, Key::Form | Key::Files | Key::Data | Key::Json));
    let (form, files, data) = if needs_body {
        let form = semiflatten(req.form()?);
        let mut files: Vec<(String, Json)> = Vec::new();
        for (name, file) in req.files()?.iter() {
            if files.iter().any(|(k, _)| k == name) {
                continue; // httpbin shows the first file of a field only
            }
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(
                &mut file.reader().map_err(|_| HttpException::bad_request())?,
                &mut bytes,
            )
            .map_err(|_| HttpException::bad_request())?;
            let content_type = file.content_type().unwrap_or("application/octet-stream");
            files.push((name.to_owned(), Json::Str(json_safe(&bytes, content_type))));
        }
        (form, Json::Obj(files), req.get_data()?.clone())
    } else {
        (Json::Obj(vec![]), Json::Obj(vec![]), bytes::Bytes::new())
    };
    let mut out = Vec::with_capacity(keys.len());
    for &key in keys {
        let value = match key {
            Key::Url => Json::Str(url(req)),
            Key::Args => semiflatten(req.args()),
            Key::Form => form.clone(),
            Key::Data => Json::Str(json_safe(&data, "application/octet-stream")),
            Key::Origin => Json::Str(origin(req)),
            Key::Headers => headers_json(req),
            Key::Files => files.clone(),
            Key::Json => std::str::from_utf8(&data)
                .ok()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                .map(Json::from)
                .unwrap_or(Json::Null),
            Key::Method => Json::Str(req.method().as_str().to_owned()),
        };
        out.push((key.name().to_owned(), value));
    }
    Ok(out)
}

/// A multi-dict as httpbin shows it: one value as a string, repeated keys as a list.
pub fn semiflatten(multi: &MultiDict) -> Json {
    let mut out: Vec<(String, Json)> = Vec::new();
    for key in multi.keys() {
        let values: Vec<Json> = multi.get_all(key).map(Json::str).collect();
        let value = if values.len() == 1 {
            values.into_iter().next().unwrap_or(Json::Null)
        } else {
            Json::Arr(values)
        };
        out.push((key.to_owned(), value));
    }
    Json::Obj(out)
}

/// Text as is when it is UTF-8, else a `data:<content_type>;base64,...` URL (RFC 2397).
pub fn json_safe(bytes: &[u8], content_type: &str) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => format!(
            "data:{content_type};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
    }
}

/// `X-Forwarded-For` as sent, else the client's address.
pub fn origin(req: &Request) -> String {
    req.header("x-forwarded-for")
        .map(str::to_owned)
        .or_else(|| req.remote_addr().map(str::to_owned))
        .unwrap_or_default()
}

/// The request URL as Werkzeug shows it (an IRI: UTF-8 and unreserved escapes decoded),
/// with the scheme from `X-Forwarded-Proto` / `X-Forwarded-Protocol` / `X-Forwarded-Ssl`.
pub fn url(req: &Request) -> String {
    let url = uri_to_iri(&req.url());
    let scheme = req
        .header("x-forwarded-proto")
        .or_else(|| req.header("x-forwarded-protocol"))
        .map(str::to_owned)
        .or_else(|| (req.header("x-forwarded-ssl") == Some("on")).then(|| "https".to_owned()));
    match (scheme, url.split_once("://")) {
        (Some(scheme), Some((_, rest))) => format!("{}://{rest}", scheme.to_ascii_lowercase()),
        _ => url,
    }
}

/// Decodes the percent-escapes of a URI that stand for unreserved ASCII characters or
/// valid UTF-8, keeping reserved, unsafe and invalid ones escaped (Werkzeug's `uri_to_iri`).
pub fn uri_to_iri(uri: &str) -> String {
    fn hex_at(b: &[u8], i: usize) -> Option<u8> {
        if b.get(i) != Some(&b'%') {
            return None;
        }
        let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
        u8::from_str_radix(h, 16).ok()
    }
    let b = uri.as_bytes();
    let mut out = String::with_capacity(uri.len());
    let mut i = 0;
    while i < b.len() {
        let Some(first) = hex_at(b, i) else {
            let ch = uri[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        };
        if first.is_ascii_alphanumeric() || b"-._~".contains(&first) {
            out.push(first as char);
            i += 3;
            continue;
        }
        let width = match first {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 0,
        };
        let seq: Option<Vec<u8>> = (0..width).map(|k| hex_at(b, i + 3 * k)).collect();
        match seq.as_deref().map(std::str::from_utf8) {
            Some(Ok(s)) if width > 0 => {
                out.push_str(s);
                i += 3 * width;
            }
            _ => {
                out.push_str(&uri[i..i + 3]);
                i += 3;
            }
        }
    }
    out
}

/// A header name as a WSGI server presents it: `_` as `-`, then Python's `str.title()`
/// (`x-b3-traceid` → `X-B3-Traceid`).
pub fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut prev_cased = false;
    for c in name.chars() {
        let c = if c == '_' { '-' } else { c };
        if c.is_alphabetic() {
            if prev_cased {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            prev_cased = true;
        } else {
            out.push(c);
            prev_cased = false;
        }
    }
    out
}

/// The request headers in arrival order, names title-cased, repeated headers joined with
/// `,` (as Werkzeug's server does), values decoded as Latin-1 so no byte is lost.
pub fn header_pairs(req: &Request) -> Vec<(String, String)> {
    let headers = req.headers();
    headers
        .keys()
        .map(|name| {
            let value = headers
                .get_all(name)
                .iter()
                .map(|v| v.as_bytes().iter().map(|&b| b as char).collect::<String>())
                .collect::<Vec<_>>()
                .join(",");
            (title_case(name.as_str()), value)
        })
        .collect()
}

/// [`header_pairs`] without [`ENV_HEADERS`], unless the query has `show_env`.
pub fn visible_headers(req: &Request) -> Vec<(String, String)> {
    let show_env = req.args().get("show_env").is_some();
    header_pairs(req)
        .into_iter()
        .filter(|(k, _)| show_env || !ENV_HEADERS.iter().any(|e| e.eq_ignore_ascii_case(k)))
        .collect()
}

fn headers_json(req: &Request) -> Json {
    Json::Obj(
        visible_headers(req)
            .into_iter()
            .map(|(k, v)| (k, Json::Str(v)))
            .collect(),
    )
}

/// `GET /get`: url, args, headers and origin.
pub fn get(req: &Request) -> Result<Response, HttpException> {
    Ok(jsonify(&Json::Obj(request_dict(req, GET_KEYS)?)))
}

/// `POST /post`, `PUT /put`, `PATCH /patch`, `DELETE /delete`: everything but the method.
pub fn with_body(req: &Request) -> Result<Response, HttpException> {
    Ok(jsonify(&Json::Obj(request_dict(req, BODY_KEYS)?)))
}

/// `/anything` and `/anything/<path>`, any method: everything, method included.
pub fn anything(req: &Request) -> Result<Response, HttpException> {
    let mut keys = BODY_KEYS.to_vec();
    keys.push(Key::Method);
    Ok(jsonify(&Json::Obj(request_dict(req, &keys)?)))
}

/// `GET /headers`.
pub fn headers(req: &Request) -> Result<Response, HttpException> {
    Ok(jsonify(&Json::obj([("headers", headers_json(req))])))
}

/// `GET /ip`.
pub fn ip(req: &Request) -> Result<Response, HttpException> {
    Ok(jsonify(&Json::obj([("origin", Json::Str(origin(req)))])))
}

/// `GET /user-agent`: the header, or `null`.
pub fn user_agent(req: &Request) -> Result<Response, HttpException> {
    let ua = visible_headers(req)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| Json::Str(v))
        .unwrap_or(Json::Null);
    Ok(jsonify(&Json::obj([("user-agent", ua)])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iri_keeps_reserved_escapes_and_decodes_the_rest() {
        assert_eq!(
            uri_to_iri("http://h/a%41%20%C3%A9?q=%41%26%2B%20%7E%C3%A9+z%FF%E2%9C"),
            "http://h/aA%20é?q=A%26%2B%20~é+z%FF%E2%9C"
        );
    }

    #[test]
    fn header_names_are_title_cased_like_python() {
        assert_eq!(title_case("x-b3-traceid"), "X-B3-Traceid");
        assert_eq!(title_case("user-agent"), "User-Agent");
        assert_eq!(title_case("x_custom_1a"), "X-Custom-1A");
    }

    #[test]
    fn binary_is_a_data_url() {
        assert_eq!(json_safe(b"ok", "x/y"), "ok");
        assert_eq!(
            json_safe(&[0xff, 0xfe, b'{'], "image/png"),
            "data:image/png;base64,//57"
        );
    }
}
