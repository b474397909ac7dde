//! Dynamic data: `/uuid`, `/base64/<value>`, `/bytes/<n>`, `/stream-bytes/<n>`,
//! `/stream/<n>`, `/delay/<n>`, `/drip`, `/range/<n>` and `/links/<n>[/<offset>]`.
//!
//! The streaming endpoints return [`Body::Stream`](zeug::Body) iterators that produce each
//! chunk only when the server pulls it, so a client sees the first line or byte before
//! the last one is made; their sleeps happen between chunks, inside the iterator. Every
//! size and time a client can ask for is capped by the constants below.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HeaderValue};
use zeug::{Body, HttpException, Request, Response};

use super::inspect::{Key, request_dict};
use super::pyjson::{self, Json, jsonify};
use super::pyrandom::PyRandom;
use super::redirects::arg_ci;

/// The most bytes `/bytes`, `/stream-bytes` and `/range` produce (100 KiB, as httpbin).
pub const MAX_BYTES: u64 = 100 * 1024;
/// The most lines `/stream/<n>` writes.
pub const MAX_STREAM_LINES: u64 = 100;
/// The most bytes `/drip` sends (10 MiB, as httpbin).
pub const MAX_DRIP_BYTES: u64 = 10 * 1024 * 1024;
/// The longest `/delay/<n>` waits, and the longest `/drip` waits before and while sending.
pub const MAX_DELAY: Duration = Duration::from_secs(10);
/// Default chunk size of `/stream-bytes` and `/range`.
pub const DEFAULT_CHUNK_SIZE: usize = 10 * 1024;
/// The most links `/links/<n>` shows.
pub const MAX_LINKS: i64 = 200;

fn bad_request(message: &str) -> HttpException {
    HttpException::bad_request().with_description(message.to_owned())
}

/// A query argument by case-insensitive name, parsed as `T` (400 when it does not parse).
fn arg<T: std::str::FromStr>(req: &Request, name: &str) -> Result<Option<T>, HttpException> {
    match arg_ci(req, name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| bad_request(&format!("Invalid value for '{name}'."))),
    }
}

/// Seconds as a [`Duration`] capped at [`MAX_DELAY`]; 400 for negative or NaN.
pub fn capped_seconds(seconds: f64) -> Result<Duration, HttpException> {
    if seconds.is_nan() || seconds < 0.0 {
        return Err(bad_request("A delay must be a non-negative number."));
    }
    Ok(Duration::from_secs_f64(
        seconds.min(MAX_DELAY.as_secs_f64()),
    ))
}

fn rng_from_args(req: &Request) -> Result<PyRandom, HttpException> {
    Ok(match arg::<i128>(req, "seed")? {
        Some(seed) => PyRandom::from_seed(seed),
        None => PyRandom::from_entropy(),
    })
}

/// `GET /uuid`: a fresh version-4 UUID.
pub fn uuid(_req: &Request) -> Result<Response, HttpException> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|_| HttpException::internal_server_error())?;
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    Ok(jsonify(&Json::obj([("uuid", Json::Str(id.to_string()))])))
}

/// What `/base64/<value>` answers for undecodable input.
pub const BASE64_HELP: &str = "Incorrect Base64 data try: SFRUUEJJTiBpcyBhd2Vzb21l";

/// `GET /base64/<value>`: the URL-safe base64 value decoded as UTF-8 text. Characters
/// outside the alphabet are skipped, as Python's decoder does; bad padding or non-UTF-8
/// output gives a hint instead.
pub fn base64_decode(_req: &Request, value: &str) -> Result<Response, HttpException> {
    let cleaned: String = value
        .chars()
        .filter_map(|c| match c {
            '-' => Some('+'),
            '_' => Some('/'),
            c if c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=') => Some(c),
            _ => None,
        })
        .collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireCanonical),
    );
    let text = engine
        .decode(cleaned)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| BASE64_HELP.to_owned());
    Ok(Response::html(text))
}

/// `GET /bytes/<n>`: `n` random bytes (at most [`MAX_BYTES`]); `?seed=` makes them the
/// same bytes Python's httpbin gives for that seed.
pub fn random_bytes(req: &Request, n: i64) -> Result<Response, HttpException> {
    let n = n.clamp(0, MAX_BYTES as i64) as usize;
    let mut rng = rng_from_args(req)?;
    let data: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
    Ok(Response::new(data).with_mimetype("application/octet-stream"))
}

/// `GET /stream-bytes/<n>`: like `/bytes`, streamed in `?chunk_size=` pieces (10 KiB).
pub fn stream_bytes(req: &Request, n: i64) -> Result<Response, HttpException> {
    let mut remaining = n.clamp(0, MAX_BYTES as i64) as usize;
    let chunk_size = arg::<i64>(req, "chunk_size")?
        .map(|c| c.clamp(1, MAX_BYTES as i64) as usize)
        .unwrap_or(DEFAULT_CHUNK_SIZE);
    let mut rng = rng_from_args(req)?;
    let chunks = std::iter::from_fn(move || {
        if remaining == 0 {
            return None;
        }
        let len = chunk_size.min(remaining);
        remaining -= len;
        Some(Bytes::from(
            (0..len).map(|_| rng.byte()).collect::<Vec<u8>>(),
        ))
    });
    Ok(Response::new(Body::from_iter(chunks)).with_mimetype("application/octet-stream"))
}

/// `GET /stream/<n>`: `n` (at most 100) JSON lines of url, args, headers and origin, each
/// with its `id`, written as Python's `json.dumps` writes them.
pub fn stream(req: &Request, n: i64) -> Result<Response, HttpException> {
    let n = n.clamp(0, MAX_STREAM_LINES as i64);
    let base = request_dict(req, &[Key::Url, Key::Args, Key::Headers, Key::Origin])?;
    let lines = (0..n).map(move |i| {
        let mut line = base.clone();
        line.push(("id".to_owned(), Json::int(i)));
        let mut text = pyjson::to_string(&Json::Obj(line), pyjson::DUMPS);
        text.push('\n');
        Bytes::from(text)
    });
    Ok(Response::new(Body::from_iter(lines)).with_mimetype("application/json"))
}

/// `/delay/<seconds>`, any method: waits (at most [`MAX_DELAY`]), then answers like
/// `/post` without `json`.
pub fn delay(req: &Request, seconds: &str) -> Result<Response, HttpException> {
    let seconds: f64 = seconds
        .trim()
        .parse()
        .map_err(|_| bad_request("The delay must be a number."))?;
    std::thread::sleep(capped_seconds(seconds)?);
    let keys = [
        Key::Url,
        Key::Args,
        Key::Form,
        Key::Data,
        Key::Origin,
        Key::Headers,
        Key::Files,
    ];
    Ok(jsonify(&Json::Obj(request_dict(req, &keys)?)))
}

/// `GET /drip?numbytes=10&duration=2&delay=0&code=200`: waits `delay`, then sends
/// `numbytes` asterisks one at a time, spread over `duration` seconds, with a
/// `Content-Length`. Both times are capped at [`MAX_DELAY`].
pub fn drip(req: &Request) -> Result<Response, HttpException> {
    let duration = capped_seconds(arg::<f64>(req, "duration")?.unwrap_or(2.0))?;
    let numbytes = arg::<i64>(req, "numbytes")?
        .unwrap_or(10)
        .min(MAX_DRIP_BYTES as i64);
    let code = arg::<u16>(req, "code")?.unwrap_or(200);
    let status =
        http::StatusCode::from_u16(code).map_err(|_| bad_request("Invalid status code."))?;
    if numbytes <= 0 {
        return Ok(Response::new("number of bytes must be positive").with_status(400));
    }
    let wait = capped_seconds(arg::<f64>(req, "delay")?.unwrap_or(0.0))?;
    if !wait.is_zero() {
        std::thread::sleep(wait);
    }
    let pause = duration / numbytes as u32;
    let mut sent = 0i64;
    let drops = std::iter::from_fn(move || {
        if sent == numbytes {
            return None;
        }
        if sent > 0 && !pause.is_zero() {
            std::thread::sleep(pause);
        }
        sent += 1;
        Some(Bytes::from_static(b"*"))
    });
    let mut res = Response::new(Body::from_iter(drops))
        .with_status(status)
        .with_mimetype("application/octet-stream");
    res.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(numbytes as u64));
    Ok(res)
}

/// httpbin's reading of a `Range` header: `(first, last)` with either side missing when
/// it does not parse (a multi-range reads as its first start to the end).
pub fn parse_range(header: Option<&str>) -> (Option<i64>, Option<i64>) {
    let Some(text) = header.map(str::trim) else {
        return (None, None);
    };
    if !text.starts_with("bytes") {
        return (None, None);
    }
    let parts: Vec<&str> = text.split('=').collect();
    if parts.len() != 2 {
        return (None, None);
    }
    let bounds: Vec<&str> = parts[1].split('-').collect();
    let int = |s: Option<&&str>| s.and_then(|s| s.trim().parse::<i64>().ok());
    (int(bounds.first()), int(bounds.get(1)))
}

/// `GET /range/<n>`: `n` bytes of `abc...zabc...`, honouring `Range` (206, or 416 with
/// `Content-Range: bytes */n`), streamed in `?chunk_size=` pieces over `?duration=`
/// seconds. Every answer carries `ETag: range<n>` and `Accept-Ranges: bytes`.
pub fn range(req: &Request, numbytes: i64) -> Result<Response, HttpException> {
    let common = |res: Response| {
        // Digits only: always header text.
        let etag = HeaderValue::try_from(format!("range{numbytes}"));
        res.with_header("etag", etag.expect("an integer is header text"))
            .with_header("accept-ranges", "bytes")
    };
    if numbytes <= 0 || numbytes > MAX_BYTES as i64 {
        return Ok(common(
            Response::new("number of bytes must be in the range (0, 102400]").with_status(404),
        ));
    }
    let chunk_size = arg::<i64>(req, "chunk_size")?
        .map(|c| c.clamp(1, MAX_BYTES as i64) as usize)
        .unwrap_or(DEFAULT_CHUNK_SIZE);
    let duration = capped_seconds(arg::<f64>(req, "duration")?.unwrap_or(0.0))?;
    let (first, last) = match parse_range(req.header("range")) {
        (None, None) => (0, numbytes - 1),
        (None, Some(suffix)) => ((numbytes - suffix).max(0), numbytes - 1),
        (Some(first), None) => (first, numbytes - 1),
        (Some(first), Some(last)) => (first, last),
    };
    if first > last || !(0..numbytes).contains(&first) || !(0..numbytes).contains(&last) {
        return Ok(
            common(Response::new(Body::Empty).with_status(416)).with_header(
                "content-range",
                HeaderValue::try_from(format!("bytes */{numbytes}"))?,
            ),
        );
    }
    let pause_per_byte = duration.as_secs_f64() / numbytes as f64;
    let pause = move |bytes: usize| {
        if pause_per_byte > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(pause_per_byte * bytes as f64));
        }
    };
    let mut next = first;
    let mut owed = 0; // bytes whose pause is due before the next chunk
    let chunks = std::iter::from_fn(move || {
        if next > last {
            pause(std::mem::take(&mut owed));
            return None;
        }
        // As httpbin: a full chunk goes out at once and its pause follows it; the final,
        // shorter chunk waits for its pause first.
        pause(std::mem::take(&mut owed));
        let end = (next + chunk_size as i64 - 1).min(last);
        let chunk: Vec<u8> = (next..=end).map(|i| b'a' + (i % 26) as u8).collect();
        if chunk.len() == chunk_size {
            owed = chunk.len();
        } else {
            pause(chunk.len());
        }
        next = end + 1;
        Some(Bytes::from(chunk))
    });
    let status = if first == 0 && last == numbytes - 1 {
        200
    } else {
        206
    };
    let mut res = common(
        Response::new(Body::from_iter(chunks))
            .with_status(status)
            .with_mimetype("application/octet-stream"),
    )
    .with_header(
        "content-range",
        HeaderValue::try_from(format!("bytes {first}-{last}/{numbytes}"))?,
    );
    res.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from((last + 1 - first) as u64));
    Ok(res)
}

/// `GET /links/<n>/<offset>`: a page of `n` links to its siblings (at most 200).
pub fn links(req: &Request, n: i64, offset: i64) -> Result<Response, HttpException> {
    let n = n.clamp(1, MAX_LINKS);
    let mut html = String::from("<html><head><title>Links</title></head><body>");
    for i in 0..n {
        if i == offset {
            html.push_str(&format!("{i} "));
        } else {
            html.push_str(&format!(
                "<a href='{}/links/{n}/{i}'>{i}</a> ",
                req.script_root()
            ));
        }
    }
    html.push_str("</body></html>");
    Ok(Response::html(html))
}

/// `GET /links/<n>`: redirects to the first page.
pub fn links_start(req: &Request, n: i64) -> Result<Response, HttpException> {
    Ok(zeug::redirect(
        &format!("{}/links/{n}/0", req.script_root()),
        302,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_headers_read_like_httpbin() {
        assert_eq!(parse_range(Some("bytes=10-20")), (Some(10), Some(20)));
        assert_eq!(parse_range(Some("bytes=-5")), (None, Some(5)));
        assert_eq!(parse_range(Some("bytes=5-")), (Some(5), None));
        assert_eq!(parse_range(Some("bytes=0-1,3-4")), (Some(0), None));
        assert_eq!(parse_range(Some("items=1-2")), (None, None));
        assert_eq!(parse_range(None), (None, None));
    }

    #[test]
    fn delays_are_capped() {
        assert_eq!(capped_seconds(99.0).unwrap(), MAX_DELAY);
        assert_eq!(capped_seconds(f64::INFINITY).unwrap(), MAX_DELAY);
        assert!(capped_seconds(-1.0).is_err());
        assert!(capped_seconds(f64::NAN).is_err());
    }
}
