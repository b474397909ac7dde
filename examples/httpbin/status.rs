//! Status codes: `/status/<codes>` (one code, or a weighted list like `200:3,500:1`), and
//! [`status_response`], the canned response httpbin gives for a code (also used by the
//! auth and caching endpoints).
//!
//! It owns the special cases (redirects pointing at `/redirect/1`, `401` with a Basic
//! challenge, `406` with the accepted media types, `418`); the random choice comes from
//! `pyrandom`.

use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use zeug::{HttpException, Request, Response};

use super::pyjson::{self, Json};
use super::pyrandom::PyRandom;

/// Where httpbin's canned redirects (301, 302, 303, 305, 307) point.
pub const REDIRECT_LOCATION: &str = "/redirect/1";

/// The media types `/status/406` says it accepts (those of httpbin's `/image`).
pub const ACCEPTED_MEDIA_TYPES: &[&str] = &[
    "image/webp",
    "image/svg+xml",
    "image/jpeg",
    "image/png",
    "image/*",
];

const TEAPOT: &str = r#"
       I'm a little teapot
         ___
      __/___\__    _
     /  .   .  \  //
    (     ---   )//
     \_________/
"#;

/// The text body of `/status/400` answers to a code that is not a number.
pub const INVALID_STATUS: &str = "Invalid status code";

/// httpbin's response for `code`: an empty `text/html` body, except for the special cases,
/// which replace the headers with their own. `None` for numbers that are not an HTTP
/// status (outside 100–999).
pub fn status_response(code: u16) -> Option<Response> {
    let status = http::StatusCode::from_u16(code).ok()?;
    let mut res = Response::html("").with_status(status);
    // Flask replaces all headers (Content-Type too) when a special case sets its own.
    let replace = |res: &mut Response, headers: &[(&'static str, &'static str)]| {
        res.headers_mut().remove(CONTENT_TYPE);
        for (k, v) in headers {
            res.headers_mut().insert(*k, HeaderValue::from_static(v));
        }
    };
    match code {
        301 | 302 | 303 | 305 | 307 => replace(&mut res, &[("location", REDIRECT_LOCATION)]),
        304 => {
            res.headers_mut().remove(CONTENT_TYPE);
        }
        401 => replace(
            &mut res,
            &[("www-authenticate", "Basic realm=\"Fake Realm\"")],
        ),
        402 => {
            res.set_body("Payment required: this endpoint costs nothing, but asks anyway.");
            replace(&mut res, &[("x-more-info", "http://vimeo.com/22053820")]);
        }
        406 => {
            let body = Json::obj([
                (
                    "message",
                    Json::str("Client did not request a supported media type."),
                ),
                (
                    "accept",
                    Json::Arr(ACCEPTED_MEDIA_TYPES.iter().map(|m| Json::str(*m)).collect()),
                ),
            ]);
            res.set_body(pyjson::to_string(&body, pyjson::DUMPS));
            replace(&mut res, &[("content-type", "application/json")]);
        }
        407 => replace(
            &mut res,
            &[("proxy-authenticate", "Basic realm=\"Fake Realm\"")],
        ),
        418 => {
            res.set_body(TEAPOT);
            replace(
                &mut res,
                &[("x-more-info", "http://tools.ietf.org/html/rfc2324")],
            );
        }
        _ => {}
    }
    if code < 200 || code == 204 || code == 304 {
        // These responses have no body by definition; RFC 9110 forbids a Content-Length on
        // 1xx and 204, and Werkzeug drops it from 304 too.
        res.headers_mut().remove(CONTENT_LENGTH);
    }
    Some(res)
}

fn invalid() -> Response {
    Response::new(INVALID_STATUS).with_status(400)
}

/// Parses `/status/` values: `"418"`, or `"200,500"`, or `"200:0.9,500:0.1"` (weights
/// default to 1). `None` when any part is malformed or no weight is positive.
pub fn parse_choices(codes: &str) -> Option<Vec<(u16, f64)>> {
    let mut choices = Vec::new();
    for choice in codes.split(',') {
        let (code, weight) = match choice.split_once(':') {
            Some((c, w)) => (c, w.trim().parse::<f64>().ok()?),
            None => (choice, 1.0),
        };
        if !weight.is_finite() || weight < 0.0 {
            return None;
        }
        choices.push((code.trim().parse::<u16>().ok()?, weight));
    }
    if choices.iter().map(|c| c.1).sum::<f64>() <= 0.0 {
        return None;
    }
    Some(choices)
}

/// Picks a code by weight, as httpbin's `weighted_choice` (uniform in `[0, total)`, then
/// the first cumulative weight above it).
pub fn weighted_choice(choices: &[(u16, f64)], rng: &mut PyRandom) -> u16 {
    let total: f64 = choices.iter().map(|c| c.1).sum();
    let x = rng.random() * total;
    let mut cumulative = 0.0;
    for &(code, weight) in choices {
        cumulative += weight;
        if x < cumulative {
            return code;
        }
    }
    choices.last().map(|c| c.0).unwrap_or(200)
}

/// `/status/<codes>`, any method.
pub fn status(_req: &Request, codes: &str) -> Result<Response, HttpException> {
    let Some(choices) = parse_choices(codes) else {
        return Ok(invalid());
    };
    let code = if choices.len() == 1 {
        choices[0].0
    } else {
        weighted_choice(&choices, &mut PyRandom::from_entropy())
    };
    Ok(status_response(code).unwrap_or_else(invalid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_like_httpbin() {
        assert_eq!(parse_choices("418"), Some(vec![(418, 1.0)]));
        assert_eq!(
            parse_choices("200:0.5,500"),
            Some(vec![(200, 0.5), (500, 1.0)])
        );
        assert_eq!(parse_choices("abc"), None);
        assert_eq!(parse_choices("200:x"), None);
        assert_eq!(parse_choices("200:0,201:0"), None);
    }

    #[test]
    fn zero_weights_are_never_chosen() {
        let mut rng = PyRandom::from_entropy();
        for _ in 0..200 {
            assert_eq!(weighted_choice(&[(200, 0.0), (201, 1.0)], &mut rng), 201);
        }
    }
}
