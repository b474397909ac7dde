//! Header-derived [`Request`] accessors: content negotiation (`accept_*`), credentials
//! (`authorization`), conditional requests (`if_*`), `range` and `cache_control`.
//!
//! Each parses its header on first use and caches the result; a malformed header gives an
//! empty or `None` value, never an error. Acting on them (304/412/206/416) is
//! [`Response::make_conditional`](crate::Response::make_conditional)'s work.

use std::sync::OnceLock;
use std::time::SystemTime;

use http::header::{
    ACCEPT, ACCEPT_CHARSET, ACCEPT_ENCODING, ACCEPT_LANGUAGE, AUTHORIZATION, CACHE_CONTROL,
    HeaderName, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
    REFERER,
};

use super::Request;
use crate::HttpException;
use crate::datastructures::{Accept, Authorization, CacheControl, ETags, IfRange, Range};
use crate::http_utils::{self, Condition, joined_header};

/// The parsed headers a [`Request`] caches.
#[derive(Default)]
pub(super) struct ParsedHeaders {
    accept_mimetypes: OnceLock<Accept>,
    accept_languages: OnceLock<Accept>,
    accept_encodings: OnceLock<Accept>,
    accept_charsets: OnceLock<Accept>,
    authorization: OnceLock<Option<Authorization>>,
    if_match: OnceLock<ETags>,
    if_none_match: OnceLock<ETags>,
    range: OnceLock<Option<Range>>,
    cache_control: OnceLock<CacheControl>,
}

impl Request {
    /// The cache of parsed headers, allocated on first use so requests that never look at
    /// these headers stay small and cheap to drop.
    fn parsed(&self) -> &ParsedHeaders {
        self.parsed.get_or_init(Box::default)
    }

    fn accept_header<'a>(&'a self, cell: &'a OnceLock<Accept>, name: HeaderName) -> &'a Accept {
        cell.get_or_init(|| {
            joined_header(self.headers(), name)
                .map(|v| Accept::parse(&v))
                .unwrap_or_default()
        })
    }

    /// The `Accept` header: which mimetypes the client prefers.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("GET", "/")
    ///     .header("accept", "text/html, application/json;q=0.5").build());
    /// assert_eq!(req.accept_mimetypes().best_match(&["application/json", "text/html"]), Some("text/html"));
    /// ```
    pub fn accept_mimetypes(&self) -> &Accept {
        self.accept_header(&self.parsed().accept_mimetypes, ACCEPT)
    }

    /// The `Accept-Language` header.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("GET", "/").header("accept-language", "de-DE, en;q=0.8").build());
    /// assert_eq!(req.accept_languages().best_match(&["en", "de"]), Some("de"));
    /// ```
    pub fn accept_languages(&self) -> &Accept {
        self.accept_header(&self.parsed().accept_languages, ACCEPT_LANGUAGE)
    }

    /// The `Accept-Encoding` header.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("GET", "/").header("accept-encoding", "gzip, br;q=0").build());
    /// assert!(req.accept_encodings().accepts("gzip"));
    /// assert!(!req.accept_encodings().accepts("br"));
    /// ```
    pub fn accept_encodings(&self) -> &Accept {
        self.accept_header(&self.parsed().accept_encodings, ACCEPT_ENCODING)
    }

    /// The `Accept-Charset` header.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("GET", "/").header("accept-charset", "utf-8, iso-8859-1;q=0.5").build());
    /// assert_eq!(req.accept_charsets().best(), Some("utf-8"));
    /// ```
    pub fn accept_charsets(&self) -> &Accept {
        self.accept_header(&self.parsed().accept_charsets, ACCEPT_CHARSET)
    }

    /// The `Authorization` header, parsed: Basic, Bearer, Digest or another scheme; `None`
    /// when absent or malformed.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("GET", "/").header("authorization", "Basic dXNlcjpwYXNz").build());
    /// let auth = req.authorization().unwrap();
    /// assert_eq!((auth.username(), auth.password()), (Some("user"), Some("pass")));
    /// ```
    pub fn authorization(&self) -> Option<&Authorization> {
        self.parsed()
            .authorization
            .get_or_init(|| {
                let value = self.headers().get(AUTHORIZATION)?;
                Authorization::parse(&String::from_utf8_lossy(value.as_bytes()))
            })
            .as_ref()
    }

    /// The `If-Match` entity tags (empty when absent).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("PUT", "/").header("if-match", "\"v3\"").build());
    /// assert!(req.if_match().contains("v3"));
    /// ```
    pub fn if_match(&self) -> &ETags {
        self.parsed().if_match.get_or_init(|| {
            joined_header(self.headers(), IF_MATCH)
                .map(|v| ETags::parse(&v))
                .unwrap_or_default()
        })
    }

    /// The `If-None-Match` entity tags (empty when absent).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("GET", "/").header("if-none-match", "W/\"v3\", \"v4\"").build());
    /// assert!(req.if_none_match().contains_weak("v3"));
    /// assert!(req.if_none_match().contains("v4"));
    /// ```
    pub fn if_none_match(&self) -> &ETags {
        self.parsed().if_none_match.get_or_init(|| {
            joined_header(self.headers(), IF_NONE_MATCH)
                .map(|v| ETags::parse(&v))
                .unwrap_or_default()
        })
    }

    fn date_header(&self, name: HeaderName) -> Option<SystemTime> {
        http_utils::parse_date(self.headers().get(name)?.to_str().ok()?)
    }

    /// The `If-Modified-Since` date; `None` when absent or not a valid HTTP date.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("GET", "/")
    ///     .header("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT").build());
    /// assert!(req.if_modified_since().is_some());
    /// ```
    pub fn if_modified_since(&self) -> Option<SystemTime> {
        self.date_header(IF_MODIFIED_SINCE)
    }

    /// The `If-Unmodified-Since` date; `None` when absent or invalid.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("PUT", "/").header("if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT").build());
    /// assert!(req.if_unmodified_since().is_some());
    /// ```
    pub fn if_unmodified_since(&self) -> Option<SystemTime> {
        self.date_header(IF_UNMODIFIED_SINCE)
    }

    /// The `If-Range` header: an entity tag or a date; `None` when absent or invalid.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{datastructures::IfRange, test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("GET", "/").header("if-range", "\"v1\"").build());
    /// assert_eq!(req.if_range(), Some(IfRange::ETag("v1".into(), false)));
    /// ```
    pub fn if_range(&self) -> Option<IfRange> {
        http_utils::parse_if_range_header(self.headers().get(IF_RANGE)?.to_str().ok()?)
    }

    /// The `Range` header; `None` when absent or malformed (which a server then ignores).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{datastructures::ByteRange, test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("GET", "/").header("range", "bytes=0-99, -10").build());
    /// let range = req.range().unwrap();
    /// assert_eq!(range.ranges(), [ByteRange::FromTo(0, 99), ByteRange::Suffix(10)]);
    /// ```
    pub fn range(&self) -> Option<&Range> {
        self.parsed()
            .range
            .get_or_init(|| Range::parse(self.headers().get(RANGE)?.to_str().ok()?))
            .as_ref()
    }

    /// The request's `Cache-Control` header (empty when absent).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("GET", "/").header("cache-control", "no-cache").build());
    /// assert!(req.cache_control().no_cache);
    /// ```
    pub fn cache_control(&self) -> &CacheControl {
        self.parsed().cache_control.get_or_init(|| {
            joined_header(self.headers(), CACHE_CONTROL)
                .map(|v| CacheControl::parse(&v))
                .unwrap_or_default()
        })
    }

    /// The `Referer` header as text.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("GET", "/").header("referer", "https://example.com/").build());
    /// assert_eq!(req.referrer(), Some("https://example.com/"));
    /// ```
    pub fn referrer(&self) -> Option<&str> {
        self.headers().get(REFERER)?.to_str().ok()
    }

    /// Checks `If-Match` / `If-Unmodified-Since` (and `If-None-Match` for unsafe methods)
    /// against the resource's current state *before* a view changes it: 412 when they do
    /// not hold. Use it in PUT/PATCH/DELETE views; for GET and HEAD use
    /// [`Response::make_conditional`](crate::Response::make_conditional), which also answers 304.
    ///
    /// `etag` is the current tag as sent in `ETag` (quoted, e.g. `"\"v3\""`).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{test::EnvironBuilder, Request};
    /// let req = Request::new(EnvironBuilder::new("PUT", "/doc").header("if-match", "\"v1\"").build());
    /// assert!(req.check_preconditions(Some("\"v1\""), None).is_ok());
    /// assert_eq!(req.check_preconditions(Some("\"v2\""), None).unwrap_err().status(), 412);
    /// ```
    pub fn check_preconditions(
        &self,
        etag: Option<&str>,
        last_modified: Option<SystemTime>,
    ) -> Result<(), HttpException> {
        match http_utils::evaluate_conditions(self.method(), self.headers(), etag, last_modified) {
            Condition::PreconditionFailed => Err(HttpException::precondition_failed()),
            Condition::Proceed | Condition::NotModified => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Request;
    use crate::test::EnvironBuilder;

    #[test]
    fn headers_split_over_lines_are_joined() {
        let req = Request::new(
            EnvironBuilder::new("GET", "/")
                .header("accept", "text/html;q=0.1")
                .header("accept", "application/json")
                .build(),
        );
        assert_eq!(req.accept_mimetypes().best(), Some("application/json"));
    }

    #[test]
    fn hostile_headers_give_empty_values() {
        let mut env = EnvironBuilder::new("GET", "/").build();
        for (name, value) in [
            ("authorization", &b"Basic \xff\xfe"[..]),
            ("range", b"bytes=\xff-"),
            ("if-match", b"\xff\""),
            ("if-modified-since", b"\xff"),
            ("accept", b"\xff;q=\xff"),
        ] {
            env.headers.insert(
                http::header::HeaderName::from_static(name),
                http::HeaderValue::from_bytes(value).unwrap(),
            );
        }
        let req = Request::new(env);
        assert!(req.authorization().is_none());
        assert!(req.range().is_none());
        assert!(req.if_match().is_empty());
        assert!(req.if_modified_since().is_none());
        assert!(req.accept_mimetypes().is_empty());
    }
}
