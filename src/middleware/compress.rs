//! [`Compress`]: response compression (`gzip`, and `br` with the `brotli` feature).
//!
//! This module owns choosing a coding from `Accept-Encoding`, deciding which responses are
//! worth compressing, and compressing full, file and streamed bodies. It does not
//! decompress request bodies.

use std::io::{self, Write};

use bytes::Bytes;
use flate2::write::GzEncoder;
use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE,
    ETAG, HeaderValue, VARY,
};
use http::{HeaderMap, Method, StatusCode};

use crate::body::ChunkStream;
use crate::{Application, Body, Environ, Response};

/// Bodies shorter than this many bytes are sent as they are by default: below about one
/// packet, the coding's overhead and the CPU time outweigh the saving.
pub const DEFAULT_MIN_SIZE: u64 = 500;

/// Bodies of known length up to this many bytes are compressed in memory and sent with a
/// `Content-Length`; longer ones (large files) are compressed as a stream, chunk by chunk.
pub const MAX_BUFFERED_SIZE: u64 = 4 * 1024 * 1024;

/// The gzip level used by default (zlib's default, a good speed/size balance).
pub const DEFAULT_GZIP_LEVEL: u32 = 6;

/// The brotli quality used by default: 4 compresses better than gzip 6 at a similar speed
/// (11, the maximum, is for precompressing static files, not for live responses).
pub const DEFAULT_BROTLI_QUALITY: u32 = 4;

/// Mimetypes (or `type/` prefixes) that are already compressed, or opaque, and are not
/// compressed again. SVG (`image/svg+xml`) is text and is compressed.
pub const INCOMPRESSIBLE_TYPES: &[&str] = &[
    "image/",
    "audio/",
    "video/",
    "font/woff",
    "font/woff2",
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-7z-compressed",
    "application/x-rar-compressed",
    "application/vnd.rar",
    "application/zstd",
    "application/octet-stream",
    "application/pdf",
    "text/event-stream",
];

/// A content coding [`Compress`] can produce.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// `gzip` (RFC 1952), through `flate2`.
    Gzip,
    /// `br` (RFC 7932), through the `brotli` crate; needs the `brotli` feature.
    #[cfg(feature = "brotli")]
    Brotli,
}

impl Coding {
    /// The token used in `Accept-Encoding` and `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            #[cfg(feature = "brotli")]
            Coding::Brotli => "br",
        }
    }
}

/// Compresses responses for clients that accept it, like nginx's `gzip on`.
///
/// The coding is chosen from the request's `Accept-Encoding`, honouring q-values
/// (`gzip;q=0` refuses gzip, `*` stands for codings not listed); on a tie `br` is
/// preferred over `gzip`. Every response that could have been compressed gets
/// `Vary: Accept-Encoding`, so caches keep the variants apart.
///
/// Left alone: 1xx, 204, 206 and 304 answers; responses that already
/// have a `Content-Encoding` or a `Content-Range`; `Cache-Control: no-transform`; types
/// in [`INCOMPRESSIBLE_TYPES`] (images, archives, …); bodies of known length below the
/// minimum size ([`DEFAULT_MIN_SIZE`]). Streamed bodies are compressed chunk by chunk and
/// flushed after each chunk, so a streaming response keeps streaming. A strong `ETag`
/// becomes weak (`W/"…"`): the bytes differ, the meaning does not. `Accept-Ranges` is
/// removed, since ranges would apply to the compressed bytes.
///
/// A `HEAD` gets the headers the `GET` would get (`Content-Encoding`, `Vary`, the weak
/// `ETag`) without anything being compressed. Its `Content-Length` is dropped when the
/// `GET` would be compressed, since the compressed length is not known without doing the
/// work (as nginx does); the length that decides is the app's `Content-Length`, else the
/// body's, and a streamed body counts as long.
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use zeug::middleware::Compress;
/// use zeug::{test::Client, Environ, Response};
///
/// let app = Compress::new(|_: Environ| Response::html("<p>hello</p>".repeat(100)));
/// let res = Client::new(app).get("/").header("accept-encoding", "gzip, deflate").send();
/// assert_eq!(res.header("content-encoding"), Some("gzip"));
/// assert_eq!(res.header("vary"), Some("Accept-Encoding"));
///
/// let mut html = String::new();
/// flate2::read::GzDecoder::new(&res.bytes()[..]).read_to_string(&mut html).unwrap();
/// assert_eq!(html, "<p>hello</p>".repeat(100));
/// ```
pub struct Compress<A> {
    app: A,
    min_size: u64,
    gzip_level: u32,
    gzip: bool,
    #[cfg(feature = "brotli")]
    brotli: bool,
    #[cfg(feature = "brotli")]
    brotli_quality: u32,
}

impl<A: Application> Compress<A> {
    /// Wraps `app` with gzip (and brotli, with the `brotli` feature) enabled and the
    /// documented defaults.
    pub fn new(app: A) -> Self {
        Compress {
            app,
            min_size: DEFAULT_MIN_SIZE,
            gzip_level: DEFAULT_GZIP_LEVEL,
            gzip: true,
            #[cfg(feature = "brotli")]
            brotli: true,
            #[cfg(feature = "brotli")]
            brotli_quality: DEFAULT_BROTLI_QUALITY,
        }
    }

    /// Bodies of known length below `bytes` are not compressed (default
    /// [`DEFAULT_MIN_SIZE`]).
    pub fn min_size(mut self, bytes: u64) -> Self {
        self.min_size = bytes;
        self
    }

    /// The gzip level, 0–9 (default [`DEFAULT_GZIP_LEVEL`]).
    pub fn gzip_level(mut self, level: u32) -> Self {
        self.gzip_level = level.min(9);
        self
    }

    /// Whether gzip is offered (default on).
    pub fn gzip(mut self, enabled: bool) -> Self {
        self.gzip = enabled;
        self
    }

    /// Whether brotli is offered (default on).
    #[cfg(feature = "brotli")]
    pub fn brotli(mut self, enabled: bool) -> Self {
        self.brotli = enabled;
        self
    }

    /// The brotli quality, 0–11 (default [`DEFAULT_BROTLI_QUALITY`]).
    #[cfg(feature = "brotli")]
    pub fn brotli_quality(mut self, quality: u32) -> Self {
        self.brotli_quality = quality.min(11);
        self
    }

    /// The codings offered, best first.
    fn offered(&self) -> Vec<Coding> {
        let mut out = Vec::new();
        #[cfg(feature = "brotli")]
        if self.brotli {
            out.push(Coding::Brotli);
        }
        if self.gzip {
            out.push(Coding::Gzip);
        }
        out
    }

    fn encoder(&self, coding: Coding) -> Encoder {
        match coding {
            Coding::Gzip => Encoder::Gzip(Box::new(GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(self.gzip_level),
            ))),
            #[cfg(feature = "brotli")]
            Coding::Brotli => Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                4096,
                self.brotli_quality,
                22,
            ))),
        }
    }
}

impl<A: Application> Application for Compress<A> {
    fn call(&self, environ: Environ) -> Response {
        let is_head = environ.method == Method::HEAD;
        let coding = choose_coding(&environ.headers, &self.offered());
        let response = self.app.call(environ);
        let (status, mut headers, body) = response.into_parts();

        if !is_compressible(status, &headers) {
            return Response::from_parts(status, headers, body);
        }
        add_vary(&mut headers);
        let Some(coding) = coding else {
            return Response::from_parts(status, headers, body);
        };
        if is_head {
            // The app may answer HEAD with an empty body and the GET's `Content-Length`
            // (as `send_file` does) or with the full body; the server drops the body.
            let length = content_length(&headers).or_else(|| body.len());
            if length.is_some_and(|n| n < self.min_size) {
                return Response::from_parts(status, headers, body);
            }
            headers.remove(CONTENT_LENGTH);
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.token()));
            headers.remove(ACCEPT_RANGES);
            weaken_etag(&mut headers);
            // A body of unknown length, so no server fills in the uncompressed one.
            let nothing = Body::from_iter(std::iter::empty::<Bytes>());
            return Response::from_parts(status, headers, nothing);
        }
        if body.len().is_some_and(|n| n < self.min_size) {
            return Response::from_parts(status, headers, body);
        }

        let body = match body.len() {
            Some(n) if n <= MAX_BUFFERED_SIZE => {
                let compressed = body
                    .into_bytes()
                    .and_then(|bytes| self.encoder(coding).compress_all(&bytes));
                match compressed {
                    Ok(bytes) => {
                        headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
                        Body::Bytes(bytes)
                    }
                    Err(e) => {
                        log::error!(target: "zeug::middleware", "compression failed: {e}");
                        return crate::HttpException::internal_server_error().into_response();
                    }
                }
            }
            _ => {
                headers.remove(CONTENT_LENGTH);
                // A stream's chunks are meant to reach the client as they come (events,
                // progress): flush each. A large file only needs the output bounded.
                let flush_each = body.is_stream();
                Body::Stream(Box::new(CompressStream {
                    inner: body.into_chunks(),
                    encoder: Some(self.encoder(coding)),
                    flush_each,
                }) as ChunkStream)
            }
        };
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.token()));
        headers.remove(ACCEPT_RANGES);
        weaken_etag(&mut headers);
        Response::from_parts(status, headers, body)
    }
}

/// The best coding in `offered` (ordered by preference) that the request's
/// `Accept-Encoding` allows, by q-value.
fn choose_coding(headers: &HeaderMap, offered: &[Coding]) -> Option<Coding> {
    let mut listed: Vec<(String, f32)> = Vec::new();
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let token = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            if token.is_empty() {
                continue;
            }
            let mut q = 1.0f32;
            for param in parts {
                if let Some((k, v)) = param.split_once('=') {
                    if k.trim().eq_ignore_ascii_case("q") {
                        q = v.trim().parse::<f32>().unwrap_or(0.0).clamp(0.0, 1.0);
                    }
                }
            }
            listed.push((token, q));
        }
    }
    let q_of = |token: &str| -> f32 {
        let alias = if token == "gzip" { "x-gzip" } else { token };
        listed
            .iter()
            .find(|(t, _)| t == token || t == alias)
            .or_else(|| listed.iter().find(|(t, _)| t == "*"))
            .map_or(0.0, |(_, q)| *q)
    };
    let mut best: Option<(Coding, f32)> = None;
    for &coding in offered {
        let q = q_of(coding.token());
        if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
            best = Some((coding, q));
        }
    }
    best.map(|(c, _)| c)
}

/// The `Content-Length` header, parsed.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    crate::http_utils::content_length_of(headers)
}

/// Whether the response may be compressed at all (status, headers, type).
fn is_compressible(status: StatusCode, headers: &HeaderMap) -> bool {
    if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || status == StatusCode::PARTIAL_CONTENT
        || headers.contains_key(CONTENT_ENCODING)
        || headers.contains_key(CONTENT_RANGE)
    {
        return false;
    }
    let no_transform = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-transform"));
    if no_transform {
        return false;
    }
    let mimetype = crate::http_utils::mimetype_of(headers);
    if mimetype == "image/svg+xml" {
        return true;
    }
    !INCOMPRESSIBLE_TYPES.iter().any(|t| {
        if t.ends_with('/') {
            mimetype.starts_with(t)
        } else {
            mimetype == *t
        }
    })
}

/// Adds `Accept-Encoding` to `Vary` unless it is there already (or `Vary: *`).
fn add_vary(headers: &mut HeaderMap) {
    let present = headers
        .get_all(VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| {
            let v = v.trim();
            v == "*" || v.eq_ignore_ascii_case("accept-encoding")
        });
    if !present {
        headers.append(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

/// `"abc"` → `W/"abc"`; weak tags stay as they are.
fn weaken_etag(headers: &mut HeaderMap) {
    let Some(etag) = headers.get(ETAG).and_then(|v| v.to_str().ok()) else {
        return;
    };
    if etag.starts_with('"') {
        if let Ok(v) = HeaderValue::try_from(format!("W/{etag}")) {
            headers.insert(ETAG, v);
        }
    }
}

/// A compressor writing into a buffer that is drained after every flush.
enum Encoder {
    Gzip(Box<GzEncoder<Vec<u8>>>),
    #[cfg(feature = "brotli")]
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
}

impl Encoder {
    fn compress_all(mut self, data: &[u8]) -> io::Result<Bytes> {
        self.write_all(data)?;
        self.finish()
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.write_all(data),
            #[cfg(feature = "brotli")]
            Encoder::Brotli(e) => e.write_all(data),
        }
    }

    /// Takes the compressed bytes produced so far; with `flush`, first flushes everything
    /// written into whole bytes a client can decode now.
    fn take(&mut self, flush: bool) -> io::Result<Bytes> {
        let buf = match self {
            Encoder::Gzip(e) => {
                if flush {
                    e.flush()?;
                }
                e.get_mut()
            }
            #[cfg(feature = "brotli")]
            Encoder::Brotli(e) => {
                if flush {
                    e.flush()?;
                }
                e.get_mut()
            }
        };
        Ok(Bytes::from(std::mem::take(buf)))
    }

    fn finish(self) -> io::Result<Bytes> {
        let buf = match self {
            Encoder::Gzip(e) => (*e).finish()?,
            #[cfg(feature = "brotli")]
            Encoder::Brotli(e) => e.into_inner(),
        };
        Ok(Bytes::from(buf))
    }
}

/// Compresses a chunk stream, flushing after each input chunk when `flush_each`.
struct CompressStream {
    inner: ChunkStream,
    encoder: Option<Encoder>,
    flush_each: bool,
}

impl Iterator for CompressStream {
    type Item = io::Result<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let encoder = self.encoder.as_mut()?;
            match self.inner.next() {
                Some(Ok(chunk)) => {
                    if chunk.is_empty() {
                        continue;
                    }
                    let flush = self.flush_each;
                    let out = encoder.write_all(&chunk).and_then(|_| encoder.take(flush));
                    match out {
                        Ok(bytes) if bytes.is_empty() => continue,
                        Ok(bytes) => return Some(Ok(bytes)),
                        Err(e) => {
                            self.encoder = None;
                            return Some(Err(e));
                        }
                    }
                }
                Some(Err(e)) => {
                    self.encoder = None;
                    return Some(Err(e));
                }
                None => {
                    let encoder = self.encoder.take()?;
                    return match encoder.finish() {
                        Ok(bytes) if bytes.is_empty() => None,
                        other => Some(other),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_ENCODING, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn honours_q_values() {
        let offered = [Coding::Gzip];
        assert_eq!(choose_coding(&accept("gzip"), &offered), Some(Coding::Gzip));
        assert_eq!(choose_coding(&accept("gzip;q=0"), &offered), None);
        assert_eq!(
            choose_coding(&accept("GZIP; Q=0.5"), &offered),
            Some(Coding::Gzip)
        );
        assert_eq!(choose_coding(&accept("*"), &offered), Some(Coding::Gzip));
        assert_eq!(choose_coding(&accept("*, gzip;q=0"), &offered), None);
        assert_eq!(choose_coding(&accept("identity"), &offered), None);
        assert_eq!(
            choose_coding(&accept("x-gzip"), &offered),
            Some(Coding::Gzip)
        );
        assert_eq!(choose_coding(&HeaderMap::new(), &offered), None);
    }

    #[cfg(feature = "brotli")]
    #[test]
    fn prefers_brotli_on_a_tie_and_follows_q_otherwise() {
        let offered = [Coding::Brotli, Coding::Gzip];
        assert_eq!(
            choose_coding(&accept("gzip, br"), &offered),
            Some(Coding::Brotli)
        );
        assert_eq!(
            choose_coding(&accept("gzip, br;q=0.5"), &offered),
            Some(Coding::Gzip)
        );
    }

    #[test]
    fn streams_decode_after_every_chunk() {
        use std::io::Read;
        let mut stream = CompressStream {
            inner: Body::from_iter(vec!["first ", "second"]).into_chunks(),
            flush_each: true,
            encoder: Some(Encoder::Gzip(Box::new(GzEncoder::new(
                Vec::new(),
                flate2::Compression::default(),
            )))),
        };
        let first = stream.next().unwrap().unwrap();
        // The first chunk alone already decodes to the first input (sync flush).
        let mut partial = Vec::new();
        let mut decoder = flate2::read::GzDecoder::new(&first[..]);
        let _ = decoder.read_to_end(&mut partial);
        assert_eq!(partial, b"first ");
        let rest: Vec<Bytes> = stream.map(|c| c.unwrap()).collect();
        let mut all = first.to_vec();
        rest.iter().for_each(|c| all.extend_from_slice(c));
        let mut text = String::new();
        flate2::read::GzDecoder::new(&all[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "first second");
    }
}
