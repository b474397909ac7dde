//! Response formats: `/` (the landing page), `/html`, `/json`, `/xml`, `/encoding/utf8`,
//! `/robots.txt`, `/deny`, `/forms/post`, and the compressed `/gzip`, `/deflate` and
//! `/brotli`.
//!
//! The documents are compiled in from `pages/`. The compressed endpoints always compress,
//! whatever `Accept-Encoding` says, as httpbin does — they exist to test a client's
//! decoders — so they use `flate2` and `brotli` directly rather than a compression
//! middleware that negotiates.

use std::io::Write as _;

use http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderValue, VARY};
use zeug::{HttpException, Request, Response};

use super::inspect::{Key, request_dict};
use super::pyjson::{Json, jsonify};

const INDEX: &str = include_str!("pages/index.html");
const MOBY: &str = include_str!("pages/moby.html");
const UTF8_DEMO: &str = include_str!("pages/utf8-demo.txt");
const SAMPLE_XML: &str = include_str!("pages/sample.xml");
const FORMS_POST: &str = include_str!("pages/forms-post.html");

/// What `/robots.txt` says.
pub const ROBOTS_TXT: &str = "User-agent: *\nDisallow: /deny\n";

/// What `/deny` (the page robots are told to avoid) shows.
pub const ANGRY_ASCII: &str = r#"
          .-------.
         /  x   x  \
        |     ^     |
        |   .---.   |
         \ '     ' /
          '-------'
     YOU SHOULDN'T BE HERE
"#;

/// The gzip level httpbin uses.
pub const GZIP_LEVEL: u32 = 4;

/// A response with exactly this `Content-Type` (no charset added).
fn typed(body: &'static str, content_type: &'static str) -> Response {
    let mut res = Response::new(body);
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// `GET /`: the landing page listing the endpoints.
pub fn index(_req: &Request) -> Result<Response, HttpException> {
    Ok(Response::html(INDEX))
}

/// `GET /html`: a page of Moby-Dick.
pub fn html(_req: &Request) -> Result<Response, HttpException> {
    Ok(Response::html(MOBY))
}

/// `GET /encoding/utf8`: a page of characters from many scripts, as `text/html; charset=utf-8`.
pub fn utf8(_req: &Request) -> Result<Response, HttpException> {
    Ok(Response::html(UTF8_DEMO))
}

/// `GET /xml`: the slide show as `application/xml`.
pub fn xml(_req: &Request) -> Result<Response, HttpException> {
    Ok(typed(SAMPLE_XML, "application/xml"))
}

/// `GET /robots.txt`.
pub fn robots_txt(_req: &Request) -> Result<Response, HttpException> {
    Ok(typed(ROBOTS_TXT, "text/plain"))
}

/// `GET /deny`.
pub fn deny(_req: &Request) -> Result<Response, HttpException> {
    Ok(typed(ANGRY_ASCII, "text/plain"))
}

/// `GET /forms/post`: an HTML form that posts to `/post`.
pub fn forms_post(req: &Request) -> Result<Response, HttpException> {
    let action = zeug::utils::escape_html(&format!("{}/post", req.script_root()));
    Ok(Response::html(FORMS_POST.replace("{{post_url}}", &action)))
}

/// `GET /json`: the slide show as JSON.
pub fn json(_req: &Request) -> Result<Response, HttpException> {
    let slide = |title: &str, items: Option<&[&str]>| {
        let mut pairs = vec![("type", Json::str("all")), ("title", Json::str(title))];
        if let Some(items) = items {
            pairs.push((
                "items",
                Json::Arr(items.iter().map(|i| Json::str(*i)).collect()),
            ));
        }
        Json::obj(pairs)
    };
    Ok(jsonify(&Json::obj([(
        "slideshow",
        Json::obj([
            ("title", Json::str("Sample Slide Show")),
            ("date", Json::str("date of publication")),
            ("author", Json::str("Yours Truly")),
            (
                "slides",
                Json::Arr(vec![
                    slide("Wake up to WonderWidgets!", None),
                    slide(
                        "Overview",
                        Some(&[
                            "Why <em>WonderWidgets</em> are great",
                            "Who <em>buys</em> WonderWidgets",
                        ]),
                    ),
                ]),
            ),
        ]),
    )])))
}

/// The JSON the compressed endpoints carry: origin, headers, method and `flag: true`.
fn compressed_body(req: &Request, flag: &str) -> Result<Response, HttpException> {
    let mut dict = request_dict(req, &[Key::Origin, Key::Headers])?;
    dict.push(("method".into(), Json::Str(req.method().as_str().to_owned())));
    dict.push((flag.into(), Json::Bool(true)));
    Ok(jsonify(&Json::Obj(dict)))
}

/// Replaces the body of `res` with `encoded` and labels it `encoding`.
fn encoded(
    mut res: Response,
    encoded: std::io::Result<Vec<u8>>,
    encoding: &'static str,
) -> Result<Response, HttpException> {
    let data = encoded.map_err(|_| HttpException::internal_server_error())?;
    res.set_body(data);
    res.headers_mut()
        .insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
    // The body echoes the request's `Accept-Encoding`, and a cache must not hand an encoded
    // answer to a client that did not ask for one (REDbot: CONNEG_NO_VARY).
    res.headers_mut()
        .append(VARY, HeaderValue::from_static("Accept-Encoding"));
    Ok(res)
}

fn body_bytes(res: &Response) -> Vec<u8> {
    res.body().as_bytes().unwrap_or_default().to_vec()
}

/// `GET /gzip`: gzip-encoded JSON, whatever the client accepts.
pub fn gzip(req: &Request) -> Result<Response, HttpException> {
    let res = compressed_body(req, "gzipped")?;
    let plain = body_bytes(&res);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
    let data = enc.write_all(&plain).and_then(|_| enc.finish());
    encoded(res, data, "gzip")
}

/// `GET /deflate`: zlib-wrapped deflate JSON (what HTTP calls `deflate`).
pub fn deflate(req: &Request) -> Result<Response, HttpException> {
    let res = compressed_body(req, "deflated")?;
    let plain = body_bytes(&res);
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let data = enc.write_all(&plain).and_then(|_| enc.finish());
    encoded(res, data, "deflate")
}

/// `GET /brotli`: brotli-encoded JSON (quality 11, as Python's `brotli.compress`).
#[cfg(feature = "brotli")]
pub fn brotli(req: &Request) -> Result<Response, HttpException> {
    let res = compressed_body(req, "brotli")?;
    let plain = body_bytes(&res);
    let mut out = Vec::new();
    let params = ::brotli::enc::BrotliEncoderParams::default();
    let data = ::brotli::BrotliCompress(&mut &plain[..], &mut out, &params).map(|_| out);
    encoded(res, data, "br")
}

/// `GET /brotli` in a build without the `brotli` feature: a 501 that says how to get it.
#[cfg(not(feature = "brotli"))]
pub fn brotli(_req: &Request) -> Result<Response, HttpException> {
    Err(HttpException::not_implemented().with_description(
        "This httpbin was built without brotli: run it with `--features brotli`.",
    ))
}
