//! Entity tags, caching headers and conditional responses on [`Response`]: `add_etag`,
//! `set_etag`, `last_modified`, `cache_control`, and `make_conditional`, which answers
//! `304 Not Modified`, `412 Precondition Failed`, `206 Partial Content` or
//! `416 Range Not Satisfiable` from the request's `If-*` and `Range` headers.
//!
//! The rules themselves (RFC 9110 §13 and §14) are in [`crate::http_utils`]; this file
//! applies them to a response, narrowing file bodies without reading them.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LENGTH,
    CONTENT_RANGE, CONTENT_TYPE, DATE, ETAG, EXPIRES, HeaderName, HeaderValue, LAST_MODIFIED,
    RANGE, VARY,
};
use http::{HeaderMap, Method, StatusCode};

use super::response::{IntoHeaderName, InvalidHeader};
use super::{Request, Response};
use crate::HttpException;
use crate::body::Body;
use crate::datastructures::{CacheControl, ContentRange, Range};
use crate::http_utils::{self, Condition};

impl Response {
    /// The entity tag from the `ETag` header, unquoted, and whether it is weak.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut res = zeug::Response::new("x");
    /// res.set_etag("v1", true).unwrap();
    /// assert_eq!(res.headers()["etag"], "W/\"v1\"");
    /// assert_eq!(res.get_etag(), Some(("v1".to_string(), true)));
    /// ```
    pub fn get_etag(&self) -> Option<(String, bool)> {
        let value = self.headers().get(ETAG)?.to_str().ok()?;
        http_utils::unquote_etag(value).map(|(t, w)| (t.to_owned(), w))
    }

    /// Sets the `ETag` header to `etag` (quoted here; pass it unquoted). A tag containing
    /// `"` or a control character is refused ([`http_utils::quote_etag`]), and the header
    /// left as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut res = zeug::Response::new("x");
    /// res.set_etag("v2", false).unwrap();
    /// assert_eq!(res.headers()["etag"], "\"v2\"");
    /// assert!(res.set_etag("a\nb", false).is_err());
    /// assert!(res.set_etag("a\"b", false).is_err());
    /// assert_eq!(res.headers()["etag"], "\"v2\"");
    /// ```
    pub fn set_etag(&mut self, etag: &str, weak: bool) -> Result<(), InvalidHeader> {
        let value = http_utils::quote_etag(etag, weak)
            .ok()
            .and_then(|quoted| HeaderValue::try_from(quoted).ok())
            .ok_or_else(|| InvalidHeader::new("ETag"))?;
        self.headers_mut().insert(ETAG, value);
        Ok(())
    }

    /// Adds a strong `ETag` (the SHA-1 of the body, as Werkzeug) unless one is set. Only
    /// bodies held in memory are hashed; streams and files are left alone (give files an
    /// ETag from their size and modification time, as `send_file` does).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut res = zeug::Response::new("hello");
    /// res.add_etag();
    /// assert_eq!(res.headers()["etag"], "\"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\"");
    /// ```
    pub fn add_etag(&mut self) {
        self.add_etag_with(false, false);
    }

    /// [`add_etag`](Self::add_etag) with Werkzeug's options: replace an existing tag
    /// (`overwrite`) and mark it weak.
    pub fn add_etag_with(&mut self, overwrite: bool, weak: bool) {
        if !overwrite && self.headers().contains_key(ETAG) {
            return;
        }
        if let Some(bytes) = self.body().as_bytes() {
            let tag = http_utils::generate_etag(bytes);
            // A hex digest is always a valid entity tag.
            let _ = self.set_etag(&tag, weak);
        }
    }

    fn date_header(&self, name: HeaderName) -> Option<SystemTime> {
        http_utils::parse_date(self.headers().get(name)?.to_str().ok()?)
    }

    fn set_date_header(&mut self, name: HeaderName, time: SystemTime) {
        let value = HeaderValue::try_from(http_utils::http_date(time))
            .expect("HTTP dates are valid header values");
        self.headers_mut().insert(name, value);
    }

    /// The `Last-Modified` date.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let mut res = zeug::Response::new("x");
    /// let t = UNIX_EPOCH + Duration::from_secs(784111777);
    /// res.set_last_modified(t);
    /// assert_eq!(res.last_modified(), Some(t));
    /// ```
    pub fn last_modified(&self) -> Option<SystemTime> {
        self.date_header(LAST_MODIFIED)
    }

    /// Sets `Last-Modified` (to whole seconds, the precision of HTTP dates).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let mut res = zeug::Response::new("x");
    /// res.set_last_modified(UNIX_EPOCH + Duration::from_secs(784111777));
    /// assert_eq!(res.headers()["last-modified"], "Sun, 06 Nov 1994 08:49:37 GMT");
    /// ```
    pub fn set_last_modified(&mut self, time: SystemTime) {
        self.set_date_header(LAST_MODIFIED, time);
    }

    /// The `Expires` date.
    pub fn expires(&self) -> Option<SystemTime> {
        self.date_header(EXPIRES)
    }

    /// Sets `Expires`.
    pub fn set_expires(&mut self, time: SystemTime) {
        self.set_date_header(EXPIRES, time);
    }

    /// The `Date` header.
    pub fn date(&self) -> Option<SystemTime> {
        self.date_header(DATE)
    }

    /// Sets the `Date` header.
    pub fn set_date(&mut self, time: SystemTime) {
        self.set_date_header(DATE, time);
    }

    /// The response's `Cache-Control` header, parsed (empty when absent).
    ///
    /// # Examples
    ///
    /// ```
    /// let res = zeug::Response::new("x").with_header("cache-control", "no-store");
    /// assert!(res.cache_control().no_store);
    /// ```
    pub fn cache_control(&self) -> CacheControl {
        crate::http_utils::joined_header(self.headers(), CACHE_CONTROL)
            .map(|v| CacheControl::parse(&v))
            .unwrap_or_default()
    }

    /// Replaces `Cache-Control` (removes it when `cc` is empty).
    pub fn set_cache_control(&mut self, cc: &CacheControl) {
        if cc.is_empty() {
            self.headers_mut().remove(CACHE_CONTROL);
            return;
        }
        match HeaderValue::try_from(cc.to_string()) {
            Ok(v) => {
                self.headers_mut().insert(CACHE_CONTROL, v);
            }
            Err(_) => panic!("invalid Cache-Control extension in {cc:?}"),
        }
    }

    /// Changes `Cache-Control` in place, the way Werkzeug users write
    /// `response.cache_control.max_age = 300`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut res = zeug::Response::new("x");
    /// res.update_cache_control(|cc| { cc.public = true; cc.max_age = Some(300); });
    /// assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    /// ```
    pub fn update_cache_control(&mut self, change: impl FnOnce(&mut CacheControl)) {
        let mut cc = self.cache_control();
        change(&mut cc);
        self.set_cache_control(&cc);
    }

    /// Adds a header name to `Vary` unless it is listed already.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut res = zeug::Response::new("x");
    /// res.add_vary("Accept-Encoding");
    /// res.add_vary("accept-encoding");
    /// res.add_vary("Cookie");
    /// assert_eq!(res.headers()["vary"], "Accept-Encoding, Cookie");
    /// ```
    pub fn add_vary(&mut self, header: impl IntoHeaderName) {
        let header = title_case(header.into_header_name().as_str());
        let current = crate::http_utils::joined_header(self.headers(), VARY).unwrap_or_default();
        if current
            .split(',')
            .any(|v| v.trim() == "*" || v.trim().eq_ignore_ascii_case(&header))
        {
            return;
        }
        let value = if current.is_empty() {
            header
        } else {
            format!("{current}, {header}")
        };
        // Header names and the current (valid) value joined by ", " are valid header text.
        if let Ok(v) = HeaderValue::try_from(value) {
            self.headers_mut().insert(VARY, v);
        }
    }

    /// The `Content-Range` header, parsed.
    ///
    /// # Examples
    ///
    /// ```
    /// let res = zeug::Response::new("x").with_header("content-range", "bytes 0-0/10");
    /// assert_eq!(res.content_range().unwrap().range(), Some((0, 1)));
    /// ```
    pub fn content_range(&self) -> Option<ContentRange> {
        ContentRange::parse(self.headers().get(CONTENT_RANGE)?.to_str().ok()?)
    }

    /// Makes the response conditional on the request, for GET and HEAD (other methods get
    /// it back unchanged; check their preconditions before acting with
    /// [`Request::check_preconditions`]):
    ///
    /// - adds `Date` if missing;
    /// - `412 Precondition Failed` when `If-Match` does not strongly match the `ETag`, or the
    ///   resource changed after `If-Unmodified-Since`;
    /// - `304 Not Modified` (no body; `ETag`, `Cache-Control`, `Expires`, `Vary`, `Date`,
    ///   `Content-Location` and cookies kept, content headers dropped) when `If-None-Match`
    ///   matches weakly, or, without it, nothing changed since `If-Modified-Since`;
    /// - for a `200` GET whose body length is known (bytes or a file): `Accept-Ranges:
    ///   bytes`, and with a `bytes` `Range` (and a holding `If-Range`), `206 Partial Content`
    ///   with `Content-Range` for one satisfiable range — a file body is narrowed without
    ///   being read, bytes are sliced — or `416 Range Not Satisfiable` with
    ///   `Content-Range: bytes */length` when no range can be served. Several ranges that
    ///   join into one are served as one; disjoint ranges get the whole body with `200`
    ///   (RFC 9110 §14.2 lets a server ignore `Range`; multipart/byteranges is not
    ///   generated). Malformed `Range` headers and other units are ignored.
    ///
    /// The `ETag` and `Last-Modified` headers set on the response are what the request is
    /// compared with, so set them (or call [`add_etag`](Self::add_etag)) first.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request, Response};
    ///
    /// let req = Request::new(EnvironBuilder::new("GET", "/").header("range", "bytes=0-4").build());
    /// let res = Response::new("hello world").make_conditional(&req);
    /// assert_eq!(res.status(), 206);
    /// assert_eq!(res.headers()["content-range"], "bytes 0-4/11");
    /// assert_eq!(res.body_text().unwrap(), "hello");
    ///
    /// let mut res = Response::new("hello world");
    /// res.add_etag();
    /// let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    /// let req = Request::new(EnvironBuilder::new("GET", "/").header("if-none-match", &etag).build());
    /// let res = res.make_conditional(&req);
    /// assert_eq!(res.status(), 304);
    /// assert!(res.body().is_empty());
    /// ```
    pub fn make_conditional(self, request: &Request) -> Response {
        self.conditional(request.method(), request.headers(), &RangeOptions::new())
    }

    /// [`make_conditional`](Self::make_conditional) with Werkzeug's `accept_ranges` and
    /// `complete_length` arguments: ranges switched off or announced with another
    /// `Accept-Ranges` value, or the complete length given for a streamed body (or declared
    /// unknown). See [`RangeOptions`].
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, wrappers::RangeOptions, Body, Request, Response};
    ///
    /// let req = Request::new(EnvironBuilder::new("GET", "/").header("range", "bytes=2-4").build());
    /// // A stream whose length is known: served as a 206 without buffering it.
    /// let res = Response::new(Body::from_iter(["0123", "456789"]))
    ///     .make_conditional_with(&req, &RangeOptions::new().complete_length(Some(10)));
    /// assert_eq!(res.status(), 206);
    /// assert_eq!(res.headers()["content-range"], "bytes 2-4/10");
    /// assert_eq!(res.into_body().into_bytes().unwrap(), "234");
    ///
    /// // Ranges switched off: the whole body, no `Accept-Ranges`.
    /// let res = Response::new("0123456789").make_conditional_with(&req, &RangeOptions::new().accept_ranges(None));
    /// assert_eq!(res.status(), 200);
    /// assert!(!res.headers().contains_key("accept-ranges"));
    /// ```
    pub fn make_conditional_with(self, request: &Request, options: &RangeOptions) -> Response {
        self.conditional(request.method(), request.headers(), options)
    }

    /// [`make_conditional`](Self::make_conditional) from a method and request headers, for
    /// middleware that holds an [`Environ`](crate::Environ) rather than a [`Request`].
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Response};
    /// let environ = EnvironBuilder::new("GET", "/").header("range", "bytes=1-").build();
    /// let res = Response::new("abc").make_conditional_for(&environ.method, &environ.headers);
    /// assert_eq!(res.body_text().unwrap(), "bc");
    /// ```
    pub fn make_conditional_for(self, method: &Method, request_headers: &HeaderMap) -> Response {
        self.conditional(method, request_headers, &RangeOptions::new())
    }

    fn conditional(
        mut self,
        method: &Method,
        request_headers: &HeaderMap,
        options: &RangeOptions,
    ) -> Response {
        if *method != Method::GET && *method != Method::HEAD {
            return self;
        }
        if !self.headers().contains_key(DATE) {
            self.set_date(SystemTime::now());
        }
        if !self.status().is_success() {
            return self;
        }
        let etag = self
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let last_modified = self.last_modified();
        match http_utils::evaluate_conditions(
            method,
            request_headers,
            etag.as_deref(),
            last_modified,
        ) {
            Condition::NotModified => return self.into_not_modified(),
            Condition::PreconditionFailed => {
                let mut res = HttpException::precondition_failed().into_response();
                for name in [ETAG, LAST_MODIFIED, DATE] {
                    if let Some(v) = self.headers().get(&name) {
                        res.headers_mut().insert(name, v.clone());
                    }
                }
                return res;
            }
            Condition::Proceed => {}
        }
        let Some(accept_ranges) = options.accept_ranges.clone() else {
            return self;
        };
        let body_length = match options.complete_length {
            Some(given) => given,
            None => match self.body() {
                Body::Bytes(_) | Body::File(_) => self.body().len(),
                _ => None,
            },
        };
        let rangeable = self.status() == StatusCode::OK
            && !matches!(self.body(), Body::Empty)
            && !self.headers().contains_key(CONTENT_RANGE);
        if !rangeable {
            return self;
        }
        let Some(length) = body_length.filter(|&n| n > 0) else {
            return self;
        };
        let serves_bytes = accept_ranges
            .to_str()
            .is_ok_and(|v| v.split(',').any(|u| u.trim().eq_ignore_ascii_case("bytes")));
        self.headers_mut().insert(ACCEPT_RANGES, accept_ranges);
        if *method != Method::GET || !serves_bytes {
            return self;
        }
        let Some(range) = request_headers
            .get(RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Range::parse)
        else {
            return self;
        };
        if !range.is_bytes()
            || !http_utils::if_range_holds(request_headers, etag.as_deref(), last_modified)
        {
            return self;
        }
        let mut intervals = range.resolve(length);
        if intervals.is_empty() {
            let mut res = HttpException::range_not_satisfiable(length).into_response();
            for name in [ETAG, LAST_MODIFIED, DATE, ACCEPT_RANGES] {
                if let Some(v) = self.headers().get(&name) {
                    res.headers_mut().insert(name, v.clone());
                }
            }
            return res;
        }
        let Some((start, stop)) = coalesce(&mut intervals) else {
            return self;
        };
        self.into_partial(start, stop, length)
    }

    /// Turns the response into a `206` for `start..stop` of `length` bytes.
    fn into_partial(mut self, start: u64, stop: u64, length: u64) -> Response {
        let body = match self.take_body() {
            Body::Bytes(b) => Body::Bytes(slice(b, start, stop)),
            Body::File(f) => Body::File(f.narrow(start, stop - start)),
            Body::Stream(chunks) => Body::Stream(Box::new(NarrowedStream {
                chunks,
                skip: start,
                left: stop - start,
            })),
            other => other,
        };
        self.set_body(body);
        self.set_status(StatusCode::PARTIAL_CONTENT);
        let cr = ContentRange::new(start, stop, Some(length)).to_string();
        self.headers_mut().insert(
            CONTENT_RANGE,
            HeaderValue::try_from(cr).expect("a content range is a valid header"),
        );
        self
    }

    /// Turns the response into a bodiless `304`, keeping the headers RFC 9110 §15.4.5 asks for.
    fn into_not_modified(mut self) -> Response {
        self.set_status(StatusCode::NOT_MODIFIED);
        drop(self.take_body());
        let has_etag = self.headers().contains_key(ETAG);
        let headers = self.headers_mut();
        for name in [
            CONTENT_TYPE,
            CONTENT_LENGTH,
            CONTENT_RANGE,
            CONTENT_ENCODING,
            CONTENT_LANGUAGE,
            ACCEPT_RANGES,
        ] {
            headers.remove(name);
        }
        headers.remove("content-md5");
        if has_etag {
            headers.remove(LAST_MODIFIED);
        }
        self
    }
}

/// What [`Response::make_conditional_with`] does about ranges: Werkzeug's
/// `make_conditional(accept_ranges=..., complete_length=...)`.
///
/// The default ([`RangeOptions::new`]) is what [`Response::make_conditional`] does:
/// `Accept-Ranges: bytes` and byte ranges served for bodies whose length is known (bytes
/// and files). Streams are ranged only when their complete length is given.
///
/// # Examples
///
/// ```
/// use http::HeaderValue;
/// use zeug::wrappers::RangeOptions;
///
/// let off = RangeOptions::new().accept_ranges(None);
/// let none = RangeOptions::new().accept_ranges(Some(HeaderValue::from_static("none")));
/// let unknown = RangeOptions::new().complete_length(None);
/// # let _ = (off, none, unknown);
/// ```
#[derive(Debug, Clone)]
pub struct RangeOptions {
    accept_ranges: Option<HeaderValue>,
    /// `None`: from the body; `Some(None)`: unknown; `Some(Some(n))`: given.
    complete_length: Option<Option<u64>>,
}

impl Default for RangeOptions {
    fn default() -> Self {
        RangeOptions {
            accept_ranges: Some(HeaderValue::from_static("bytes")),
            complete_length: None,
        }
    }
}

impl RangeOptions {
    /// `Accept-Ranges: bytes`, the complete length taken from the body.
    pub fn new() -> Self {
        RangeOptions::default()
    }

    /// The `Accept-Ranges` value to announce; `None` switches ranges off (no header, `Range`
    /// ignored, as Werkzeug's `accept_ranges=False`). Byte ranges are served only when the
    /// value lists `bytes`, so `none` (RFC 9110 §14.3) announces that none are served —
    /// Werkzeug would still answer `206` there.
    pub fn accept_ranges(mut self, value: Option<HeaderValue>) -> Self {
        self.accept_ranges = value;
        self
    }

    /// The representation's complete length: `Some(n)` for a streamed body of exactly `n`
    /// bytes (it is then ranged by skipping and cutting chunks as they are pulled), `None`
    /// when it is unknown (no `Accept-Ranges`, `Range` ignored: RFC 9110 §14.2 lets a
    /// server ignore it, and a suffix range cannot be resolved without the length).
    pub fn complete_length(mut self, length: Option<u64>) -> Self {
        self.complete_length = Some(length);
        self
    }
}

/// A stream with its first `skip` bytes dropped and cut after `left` more.
struct NarrowedStream {
    chunks: crate::body::ChunkStream,
    skip: u64,
    left: u64,
}

impl Iterator for NarrowedStream {
    type Item = std::io::Result<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.left > 0 {
            let mut chunk = match self.chunks.next()? {
                Ok(c) => c,
                Err(e) => return Some(Err(e)),
            };
            let n = chunk.len() as u64;
            if self.skip >= n {
                self.skip -= n;
                continue;
            }
            chunk = chunk.slice(self.skip as usize..);
            self.skip = 0;
            if chunk.len() as u64 > self.left {
                chunk.truncate(self.left as usize);
            }
            self.left -= chunk.len() as u64;
            if !chunk.is_empty() {
                return Some(Ok(chunk));
            }
        }
        None
    }
}

fn slice(bytes: Bytes, start: u64, stop: u64) -> Bytes {
    let len = bytes.len() as u64;
    let (start, stop) = (start.min(len) as usize, stop.min(len) as usize);
    bytes.slice(start..stop.max(start))
}

/// Sorts and joins overlapping or adjacent intervals; `Some` when they form one interval.
fn coalesce(intervals: &mut [(u64, u64)]) -> Option<(u64, u64)> {
    intervals.sort_unstable();
    let mut iter = intervals.iter().copied();
    let (start, mut stop) = iter.next()?;
    for (a, b) in iter {
        if a > stop {
            return None;
        }
        stop = stop.max(b);
    }
    Some((start, stop))
}

/// `accept-encoding` → `Accept-Encoding`, as header names are usually written in `Vary`.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::body::FileBody;
    use crate::test::EnvironBuilder;

    fn req(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = EnvironBuilder::new(method, "/");
        for (k, v) in headers {
            b = b.header(k, v);
        }
        Request::new(b.build())
    }

    fn res() -> Response {
        let mut r = Response::new("0123456789");
        r.set_etag("v1", false).unwrap();
        r.set_last_modified(UNIX_EPOCH + Duration::from_secs(1_000_000));
        r.update_cache_control(|c| c.max_age = Some(60));
        r
    }

    #[test]
    fn not_modified_keeps_validators_and_drops_content_headers() {
        let r = res().make_conditional(&req("GET", &[("if-none-match", "\"v1\"")]));
        assert_eq!(r.status(), 304);
        assert!(r.body().is_empty());
        let h = r.headers();
        assert!(
            h.contains_key("etag") && h.contains_key("cache-control") && h.contains_key("date")
        );
        assert!(!h.contains_key("content-type") && !h.contains_key("content-length"));
        let date = http_utils::http_date(UNIX_EPOCH + Duration::from_secs(1_000_000));
        assert_eq!(
            res()
                .make_conditional(&req("HEAD", &[("if-modified-since", &date)]))
                .status(),
            304
        );
    }

    #[test]
    fn failing_if_match_is_412_and_post_is_untouched() {
        let r = res().make_conditional(&req("GET", &[("if-match", "\"v2\"")]));
        assert_eq!(r.status(), 412);
        assert_eq!(r.headers()["etag"], "\"v1\"");
        let r = res().make_conditional(&req("POST", &[("if-match", "\"v2\"")]));
        assert_eq!(r.status(), 200);
    }

    #[test]
    fn ranges() {
        let r = res().make_conditional(&req("GET", &[("range", "bytes=-3")]));
        assert_eq!(r.status(), 206);
        assert_eq!(r.body_text().unwrap(), "789");
        assert_eq!(r.headers()["content-length"], "3");
        assert_eq!(r.headers()["accept-ranges"], "bytes");
        let r = res().make_conditional(&req("GET", &[("range", "bytes=20-")]));
        assert_eq!(r.status(), 416);
        assert_eq!(r.headers()["content-range"], "bytes */10");
        let r = res().make_conditional(&req("GET", &[("range", "bytes=0-1,2-3")]));
        assert_eq!(
            (r.status().as_u16(), r.body_text().unwrap()),
            (206, "0123".into())
        );
        let r = res().make_conditional(&req("GET", &[("range", "bytes=0-1,5-6")]));
        assert_eq!(r.status(), 200);
        let r = res().make_conditional(&req("GET", &[("range", "bytes=x")]));
        assert_eq!(r.status(), 200);
        // If-Range with another tag: the whole body.
        let r = res().make_conditional(&req(
            "GET",
            &[("range", "bytes=0-1"), ("if-range", "\"v0\"")],
        ));
        assert_eq!(r.status(), 200);
        let r = res().make_conditional(&req(
            "GET",
            &[("range", "bytes=0-1"), ("if-range", "\"v1\"")],
        ));
        assert_eq!(r.status(), 206);
        // HEAD never gets a 206.
        let r = res().make_conditional(&req("HEAD", &[("range", "bytes=0-1")]));
        assert_eq!(r.status(), 200);
        // Streams are not ranged.
        let r =
            Response::stream(vec!["abc"]).make_conditional(&req("GET", &[("range", "bytes=0-1")]));
        assert_eq!(r.status(), 200);
    }

    /// Werkzeug 3.1.9's `make_conditional(environ, accept_ranges=..., complete_length=...)`
    /// on a 10-byte body with a `Range: bytes=0-4`, recorded by running it.
    #[test]
    fn range_options_like_werkzeug() {
        let range = [("range", "bytes=0-4")];
        // accept_ranges=False: 200, no Accept-Ranges (Werkzeug: the same).
        let r = res().make_conditional_with(
            &req("GET", &range),
            &RangeOptions::new().accept_ranges(None),
        );
        assert_eq!(r.status(), 200);
        assert!(!r.headers().contains_key("accept-ranges"));
        assert_eq!(r.body_text().unwrap(), "0123456789");
        // accept_ranges="none": Werkzeug answers 206 anyway; RFC 9110 §14.3 says `none`
        // means no ranges, so the whole body.
        let none = RangeOptions::new().accept_ranges(Some(HeaderValue::from_static("none")));
        let r = res().make_conditional_with(&req("GET", &range), &none);
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["accept-ranges"], "none");
        // A custom value that lists bytes serves ranges.
        let both =
            RangeOptions::new().accept_ranges(Some(HeaderValue::from_static("bytes, items")));
        let r = res().make_conditional_with(&req("GET", &range), &both);
        assert_eq!(
            (r.status().as_u16(), r.body_text().unwrap()),
            (206, "01234".into())
        );
        // Unknown complete length: Werkzeug 200 with `Accept-Ranges: bytes`; zeug does not
        // announce ranges it cannot serve.
        let unknown = RangeOptions::new().complete_length(None);
        let r = res().make_conditional_with(&req("GET", &range), &unknown);
        assert_eq!(r.status(), 200);
        assert!(!r.headers().contains_key("accept-ranges"));
        // A stream with a given length is ranged chunk by chunk.
        let stream = || {
            let mut r = Response::stream(vec!["01", "234", "", "56789"]);
            r.set_etag("v1", false).unwrap();
            r
        };
        for (header, body) in [
            ("bytes=0-4", "01234"),
            ("bytes=3-3", "3"),
            ("bytes=-2", "89"),
            ("bytes=2-", "23456789"),
        ] {
            let r = stream().make_conditional_with(
                &req("GET", &[("range", header)]),
                &RangeOptions::new().complete_length(Some(10)),
            );
            assert_eq!(r.status(), 206, "{header}");
            assert_eq!(r.into_body().into_bytes().unwrap(), body, "{header}");
        }
        let r = stream().make_conditional_with(
            &req("GET", &[("range", "bytes=10-")]),
            &RangeOptions::new().complete_length(Some(10)),
        );
        assert_eq!(r.status(), 416);
    }

    /// Where Werkzeug 3.1.9's `make_conditional` answers differently, on purpose.
    #[test]
    fn deliberate_differences_from_werkzeug() {
        // A malformed Range, or several disjoint ranges: Werkzeug 416; RFC 9110 §14.2 lets
        // a server ignore a Range it will not serve, so the whole body with 200.
        for header in ["bytes=x", "bytes=0-1,5-6"] {
            let r = res().make_conditional(&req("GET", &[("range", header)]));
            assert_eq!(r.status(), 200, "{header}");
        }
        // If-Unmodified-Since fails before If-None-Match is looked at (RFC 9110 §13.2.2):
        // 412 where Werkzeug answers 304.
        let r = res().make_conditional(&req(
            "GET",
            &[
                ("if-unmodified-since", "Sat, 10 Jan 1970 00:00:00 GMT"),
                ("if-none-match", "\"v1\""),
            ],
        ));
        assert_eq!(r.status(), 412);
    }

    #[test]
    fn file_bodies_are_narrowed_not_read() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"abcdefghij").unwrap();
        let r = Response::new(FileBody::whole(f).unwrap())
            .make_conditional(&req("GET", &[("range", "bytes=2-4")]));
        assert_eq!(r.status(), 206);
        match r.body() {
            Body::File(fb) => assert_eq!((fb.offset(), fb.len()), (2, 3)),
            other => panic!("expected a file body, got {other:?}"),
        }
        assert_eq!(r.into_body().into_bytes().unwrap(), "cde");
    }
}
