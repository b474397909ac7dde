//! Response inspection: `/cache`, `/cache/<n>`, `/etag/<etag>` and `/response-headers`.
//!
//! httpbin's caching endpoints are deliberately simple-minded and clients' tests rely on
//! that: `/cache` answers 304 to *any* `If-Modified-Since` or `If-None-Match`, and
//! `/etag/<etag>` compares the raw tag (quotes and `W/` stripped) with `If-None-Match` /
//! `If-Match`. So this module reads the headers itself instead of using
//! `Response::make_conditional`, which implements the full RFC 9110 rules.

use http::header::{HeaderName, HeaderValue};
use zeug::{HttpException, Request, Response};

use super::inspect::{GET_KEYS, request_dict};
use super::pyjson::{Json, jsonify};
use super::status::status_response;

fn get_response(req: &Request) -> Result<Response, HttpException> {
    Ok(jsonify(&Json::Obj(request_dict(req, GET_KEYS)?)))
}

/// `GET /cache`: 304 for a conditional request, else `/get`'s answer with a fresh
/// `Last-Modified` and `ETag`.
pub fn cache(req: &Request) -> Result<Response, HttpException> {
    let conditional = req
        .header("if-modified-since")
        .is_some_and(|v| !v.is_empty())
        || req.header("if-none-match").is_some_and(|v| !v.is_empty());
    if conditional {
        return Ok(status_response(304).expect("304 is a status"));
    }
    let mut tag = [0u8; 16];
    getrandom::getrandom(&mut tag).map_err(|_| HttpException::internal_server_error())?;
    let etag = uuid::Builder::from_random_bytes(tag)
        .into_uuid()
        .simple()
        .to_string();
    Ok(get_response(req)?
        .with_header(
            "last-modified",
            HeaderValue::try_from(httpdate::fmt_http_date(std::time::SystemTime::now()))?,
        )
        .with_header("etag", HeaderValue::try_from(etag)?))
}

/// `GET /cache/<n>`: `/get`'s answer with `Cache-Control: public, max-age=<n>`.
pub fn cache_control(req: &Request, seconds: i64) -> Result<Response, HttpException> {
    Ok(get_response(req)?.with_header(
        "cache-control",
        HeaderValue::try_from(format!("public, max-age={seconds}"))?,
    ))
}

/// The entity tags of an `If-Match` / `If-None-Match` header, quotes and `W/` removed.
pub fn parse_etags(header: Option<&str>) -> Vec<String> {
    header
        .unwrap_or("")
        .split(',')
        .filter(|_| header.is_some_and(|h| !h.is_empty()))
        .map(|part| {
            let part = part.trim_start();
            let part = part.strip_prefix("W/").unwrap_or(part);
            let part = part.strip_prefix('"').unwrap_or(part);
            part.split('"').next().unwrap_or("").trim_end().to_owned()
        })
        .collect()
}

/// `GET /etag/<etag>`: 304 when `If-None-Match` has the tag (or `*`), 412 when `If-Match`
/// lacks it, else `/get`'s answer; every 200 and 304 carries `ETag: <etag>`.
pub fn etag(req: &Request, etag: &str) -> Result<Response, HttpException> {
    let tag = HeaderValue::try_from(etag).map_err(|_| {
        HttpException::bad_request().with_description("The ETag is not a valid header value.")
    })?;
    let with_tag = |mut res: Response| {
        res.headers_mut().insert(http::header::ETAG, tag.clone());
        res
    };
    let if_none_match = parse_etags(req.header("if-none-match"));
    let if_match = parse_etags(req.header("if-match"));
    let has = |tags: &[String]| tags.iter().any(|t| t == etag || t == "*");
    if !if_none_match.is_empty() {
        if has(&if_none_match) {
            return Ok(with_tag(status_response(304).expect("304 is a status")));
        }
    } else if !if_match.is_empty() && !has(&if_match) {
        return Ok(status_response(412).expect("412 is a status"));
    }
    Ok(with_tag(get_response(req)?))
}

/// Headers `/response-headers` refuses to set, because they decide where the response
/// ends on the connection (httpbin would send them and break the framing).
pub const FRAMING_HEADERS: &[&str] = &["content-length", "transfer-encoding", "connection"];

/// `GET|POST /response-headers?name=value...`: answers with those headers added, and a
/// JSON body listing every header of the response — including its own `Content-Length`,
/// found by writing the body until its length stops changing, as httpbin does.
pub fn response_headers(req: &Request) -> Result<Response, HttpException> {
    let mut extra: Vec<(HeaderName, HeaderValue, String)> = Vec::new();
    for (name, value) in req.args().iter() {
        if FRAMING_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
            return Err(HttpException::bad_request()
                .with_description(format!("{name} cannot be set: it frames the response.")));
        }
        let header_name = HeaderName::try_from(name).map_err(|_| {
            HttpException::bad_request().with_description(format!("Invalid header name {name:?}."))
        })?;
        let header_value = HeaderValue::try_from(value.as_str()).map_err(|_| {
            HttpException::bad_request()
                .with_description(format!("Invalid value for header {name:?}."))
        })?;
        extra.push((header_name, header_value, name.to_owned()));
    }
    let mut length = 0usize;
    let mut res;
    loop {
        // The response's own headers as Flask lists them, then the requested ones.
        let mut listed: Vec<(String, String)> = vec![
            ("Content-Type".into(), "application/json".into()),
            ("Content-Length".into(), length.to_string()),
        ];
        listed.extend(extra.iter().map(|(_, v, n)| {
            (
                n.clone(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        }));
        let mut body: Vec<(String, Json)> = Vec::new();
        for (name, _) in &listed {
            if body.iter().any(|(k, _)| k == name) {
                continue;
            }
            let values: Vec<Json> = listed
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| Json::str(v))
                .collect();
            let value = if values.len() == 1 {
                values.into_iter().next().unwrap_or(Json::Null)
            } else {
                Json::Arr(values)
            };
            body.push((name.clone(), value));
        }
        res = jsonify(&Json::Obj(body));
        let new_length = res.content_length().unwrap_or(0) as usize;
        if new_length == length {
            break;
        }
        length = new_length;
    }
    for (name, value, _) in extra {
        res.headers_mut().append(name, value);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_lists_parse_like_httpbin() {
        assert_eq!(parse_etags(Some(r#""a", W/"b",c"#)), ["a", "b", "c"]);
        assert_eq!(parse_etags(Some("*")), ["*"]);
        assert!(parse_etags(None).is_empty());
        assert!(parse_etags(Some("")).is_empty());
    }
}
