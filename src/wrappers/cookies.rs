//! Setting and deleting cookies on a [`Response`]: [`CookieOptions`], `set_cookie`,
//! `delete_cookie`.
//!
//! Cookies are written with the `cookie` crate; names and values are always
//! percent-encoded, so any text (`;`, `,`, quotes, spaces, non-ASCII) round-trips through
//! [`Request::cookies`](crate::Request::cookies), which decodes the same way. Reading
//! cookies is in `request.rs`; the test client's jar is in `crate::test`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cookie::{Cookie, CookieBuilder};
use http::header::{HeaderValue, SET_COOKIE};

use super::Response;

pub use cookie::SameSite;

/// The attributes of a `Set-Cookie` header, built like Werkzeug's `set_cookie` arguments.
/// The default is a session cookie for path `/`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use zeug::wrappers::{CookieOptions, SameSite};
///
/// let options = CookieOptions::new()
///     .max_age(Duration::from_secs(3600))
///     .http_only(true)
///     .secure(true)
///     .same_site(SameSite::Lax);
/// let mut res = zeug::Response::new("ok");
/// res.set_cookie("theme", "dark; bold", options);
/// let header = res.headers()["set-cookie"].to_str().unwrap();
/// assert!(header.starts_with("theme=dark%3B%20bold; "));
/// assert!(header.contains("Max-Age=3600"));
/// assert!(header.contains("HttpOnly"));
/// assert!(header.contains("SameSite=Lax"));
/// ```
#[derive(Debug, Clone)]
pub struct CookieOptions {
    max_age: Option<Duration>,
    expires: Option<SystemTime>,
    path: Option<String>,
    domain: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: Option<SameSite>,
    partitioned: bool,
    sync_expires: bool,
}

impl Default for CookieOptions {
    fn default() -> Self {
        CookieOptions {
            max_age: None,
            expires: None,
            path: Some("/".to_owned()),
            domain: None,
            secure: false,
            http_only: false,
            same_site: None,
            partitioned: false,
            sync_expires: true,
        }
    }
}

impl CookieOptions {
    /// A session cookie for path `/`.
    pub fn new() -> Self {
        CookieOptions::default()
    }

    /// `Max-Age`: how long the cookie lives. Unless [`expires`](Self::expires) is given, an
    /// `Expires` date this far in the future is added too, for old clients (as Werkzeug's
    /// `sync_expires`).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// `Expires`: when the cookie ends.
    pub fn expires(mut self, expires: SystemTime) -> Self {
        self.expires = Some(expires);
        self
    }

    /// Whether `max_age` also sets `Expires` (default true).
    pub fn sync_expires(mut self, sync: bool) -> Self {
        self.sync_expires = sync;
        self
    }

    /// `Path` (default `/`); `None` leaves it out, so the browser uses the request's directory.
    pub fn path(mut self, path: Option<&str>) -> Self {
        self.path = path.map(str::to_owned);
        self
    }

    /// `Domain`: share the cookie with subdomains of this domain.
    pub fn domain(mut self, domain: &str) -> Self {
        self.domain = Some(domain.to_owned());
        self
    }

    /// `Secure`: send only over HTTPS.
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// `HttpOnly`: hide the cookie from scripts.
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// `SameSite`: `Strict`, `Lax` or `None` (`None` implies `Secure`, as browsers require).
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = Some(same_site);
        self
    }

    /// `Partitioned` (CHIPS): a cookie kept per top-level site; implies `Secure`.
    pub fn partitioned(mut self, partitioned: bool) -> Self {
        self.partitioned = partitioned;
        self
    }

    /// Builds the `Set-Cookie` header value for `name=value` with these attributes (name
    /// and value percent-encoded).
    ///
    /// # Panics
    ///
    /// When the path or domain contains `;` or control characters: that is a programming
    /// error, and writing it would let the text inject other attributes.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::wrappers::CookieOptions;
    /// assert_eq!(CookieOptions::new().to_header("a b", "ü"), "a%20b=%C3%BC; Path=/");
    /// ```
    pub fn to_header(&self, name: &str, value: &str) -> String {
        self.apply(Cookie::build((name, value)))
            .build()
            .encoded()
            .to_string()
    }

    /// Applies these attributes to a `cookie` crate builder.
    pub fn apply<'c>(&self, mut builder: CookieBuilder<'c>) -> CookieBuilder<'c> {
        for (what, text) in [("path", &self.path), ("domain", &self.domain)] {
            if let Some(t) = text {
                assert!(
                    !t.bytes().any(|b| b == b';' || b.is_ascii_control()),
                    "invalid cookie {what} {t:?}: it may not contain ';' or control characters"
                );
            }
        }
        if let Some(path) = &self.path {
            builder = builder.path(path.clone());
        }
        if let Some(domain) = &self.domain {
            builder = builder.domain(domain.clone());
        }
        let expires = self.expires.or_else(|| {
            self.max_age
                .filter(|_| self.sync_expires)
                .map(|age| SystemTime::now() + age)
        });
        if let Some(age) = self.max_age {
            let secs = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
            builder = builder.max_age(cookie::time::Duration::seconds(secs));
        }
        if let Some(at) = expires {
            let secs = match at.duration_since(UNIX_EPOCH) {
                Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                Err(_) => 0,
            };
            // Dates past year 9999 cannot be written; clamp to the largest HTTP date.
            let secs = secs.min(253_402_300_799);
            if let Ok(t) = cookie::time::OffsetDateTime::from_unix_timestamp(secs) {
                builder = builder.expires(t);
            }
        }
        if self.secure || self.partitioned || self.same_site == Some(SameSite::None) {
            builder = builder.secure(true);
        }
        if self.http_only {
            builder = builder.http_only(true);
        }
        if let Some(s) = self.same_site {
            builder = builder.same_site(s);
        }
        if self.partitioned {
            builder = builder.partitioned(true);
        }
        builder
    }
}

impl Response {
    /// Adds a `Set-Cookie` header for `name=value` (both percent-encoded) with `options`.
    /// Several cookies add several headers.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{wrappers::CookieOptions, Response};
    /// let mut res = Response::new("ok");
    /// res.set_cookie("user", "Zoë", CookieOptions::new().http_only(true));
    /// assert_eq!(res.headers()["set-cookie"], "user=Zo%C3%AB; HttpOnly; Path=/");
    /// ```
    pub fn set_cookie(&mut self, name: &str, value: &str, options: CookieOptions) {
        let header = options.to_header(name, value);
        self.append_set_cookie(header);
    }

    /// [`set_cookie`](Self::set_cookie), returning the response (for builder chains).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{wrappers::CookieOptions, Response};
    /// let res = Response::new("hi").with_cookie("a", "1", CookieOptions::new()).with_cookie("b", "2", CookieOptions::new());
    /// assert_eq!(res.headers().get_all("set-cookie").iter().count(), 2);
    /// ```
    pub fn with_cookie(mut self, name: &str, value: &str, options: CookieOptions) -> Self {
        self.set_cookie(name, value, options);
        self
    }

    /// Adds a `Set-Cookie` header for a cookie built with the `cookie` crate (its name and
    /// value are percent-encoded).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut res = zeug::Response::new("ok");
    /// res.add_cookie(&cookie::Cookie::build(("k", "v")).path("/app").build());
    /// assert_eq!(res.headers()["set-cookie"], "k=v; Path=/app");
    /// ```
    pub fn add_cookie(&mut self, cookie: &Cookie<'_>) {
        let header = cookie.encoded().to_string();
        self.append_set_cookie(header);
    }

    /// Tells the client to delete cookie `name` set for path `/`: an empty value with
    /// `Max-Age=0` and an `Expires` in 1970.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut res = zeug::Response::new("bye");
    /// res.delete_cookie("session");
    /// let header = res.headers()["set-cookie"].to_str().unwrap();
    /// assert!(header.starts_with("session=; "));
    /// assert!(header.contains("Max-Age=0"));
    /// assert!(header.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
    /// ```
    pub fn delete_cookie(&mut self, name: &str) {
        self.delete_cookie_with(name, CookieOptions::new());
    }

    /// Deletes a cookie that was set with other attributes: the path and domain (and
    /// `Secure`, `SameSite`, `Partitioned`) must match the ones it was set with.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::wrappers::CookieOptions;
    /// let mut res = zeug::Response::new("bye");
    /// res.delete_cookie_with("sid", CookieOptions::new().path(Some("/app")).domain("example.com"));
    /// let h = res.headers()["set-cookie"].to_str().unwrap();
    /// assert!(h.contains("Path=/app") && h.contains("Domain=example.com") && h.contains("Max-Age=0"));
    /// ```
    pub fn delete_cookie_with(&mut self, name: &str, options: CookieOptions) {
        let options = options.max_age(Duration::ZERO).expires(UNIX_EPOCH);
        self.set_cookie(name, "", options);
    }

    fn append_set_cookie(&mut self, header: String) {
        match HeaderValue::try_from(header) {
            Ok(v) => {
                self.headers_mut().append(SET_COOKIE, v);
            }
            // Encoding leaves only visible ASCII, so this cannot happen; never panic here.
            Err(e) => log::error!(target: "zeug", "dropping invalid Set-Cookie header: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Request;
    use crate::test::EnvironBuilder;

    #[test]
    fn values_round_trip_through_request_cookies() {
        let nasty = "a;b,c \"d\" \\ é % =\u{1}";
        let mut res = Response::new("");
        res.set_cookie("k=;", nasty, CookieOptions::new());
        let header = res.headers()["set-cookie"].to_str().unwrap();
        let pair = header.split(';').next().unwrap();
        let req = Request::new(
            EnvironBuilder::new("GET", "/")
                .header("cookie", pair)
                .build(),
        );
        assert_eq!(req.cookies().get("k=;"), Some(nasty));
    }

    #[test]
    fn attributes_like_werkzeug() {
        let opts = CookieOptions::new()
            .domain("example.com")
            .path(Some("/app"))
            .same_site(SameSite::None)
            .partitioned(true)
            .max_age(Duration::from_secs(60));
        let h = opts.to_header("a", "b");
        for part in [
            "Domain=example.com",
            "Path=/app",
            "SameSite=None",
            "Secure",
            "Partitioned",
            "Max-Age=60",
            "Expires=",
        ] {
            assert!(h.contains(part), "{h} lacks {part}");
        }
    }

    #[test]
    #[should_panic(expected = "invalid cookie path")]
    fn injected_attributes_are_refused() {
        CookieOptions::new()
            .path(Some("/; Domain=evil"))
            .to_header("a", "b");
    }

    #[test]
    fn far_future_expiry_is_clamped() {
        let h = CookieOptions::new()
            .max_age(Duration::from_secs(u64::MAX / 4))
            .to_header("a", "b");
        assert!(h.contains("9999"), "{h}");
    }
}
