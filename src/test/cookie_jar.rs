//! The test client's cookie jar: stores `Set-Cookie` answers and sends the matching cookies
//! back, honouring domain, path, expiry, `Secure` and deletion as a browser does
//! (RFC 6265 §5.3–5.4, without the public-suffix list).

use std::time::{Duration, SystemTime};

use cookie::Cookie;

/// One stored cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCookie {
    /// The cookie's name, as set.
    pub name: String,
    /// The value as a view reads it from [`Request::cookies`](crate::Request::cookies)
    /// (quotes removed, escapes undone).
    pub value: String,
    /// The value exactly as the `Set-Cookie` header carried it; this is what the jar sends
    /// back, as a browser does (RFC 6265 §5.4).
    pub raw_value: String,
    /// The domain it belongs to, lower-cased, without a leading dot.
    pub domain: String,
    /// Whether it is sent to `domain` only (no `Domain` attribute), not its subdomains.
    pub host_only: bool,
    /// The path it is sent under.
    pub path: String,
    /// When it expires; `None` for a session cookie.
    pub expires: Option<SystemTime>,
    /// Sent over HTTPS only.
    pub secure: bool,
    /// Hidden from scripts (kept for inspection; the client is not a script).
    pub http_only: bool,
}

impl StoredCookie {
    fn matches(&self, host: &str, path: &str, secure: bool, now: SystemTime) -> bool {
        if self.secure && !secure {
            return false;
        }
        if self.expires.is_some_and(|t| t <= now) {
            return false;
        }
        let domain_ok = if self.host_only {
            host == self.domain
        } else {
            domain_matches(host, &self.domain)
        };
        domain_ok && path_matches(path, &self.path)
    }
}

/// The cookies a [`Client`](super::Client) keeps between requests.
#[derive(Debug, Default, Clone)]
pub(super) struct CookieJar {
    cookies: Vec<StoredCookie>,
}

impl CookieJar {
    /// Stores (or deletes) the cookie of one `Set-Cookie` header received for `host`/`path`.
    pub(super) fn store(&mut self, header: &str, host: &str, request_path: &str) {
        // RFC 6265 §5.2: the name-value pair is everything before the first `;`, split at
        // the first `=`, kept verbatim; the `cookie` crate reads the attributes only (its
        // `value()` strips quotes, which a browser does not).
        let pair = header.split(';').next().unwrap_or("");
        let Some((raw_name, raw_value)) = pair.split_once('=') else {
            return;
        };
        let (raw_name, raw_value) = (raw_name.trim(), raw_value.trim());
        if raw_name.is_empty() || header.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return;
        }
        // The attributes, read with a placeholder pair so that a value the `cookie` crate
        // dislikes (a browser does not) still keeps its Path, Max-Age, ...
        let attributes = &header[pair.len()..];
        let cookie = match Cookie::parse(format!("x=x{attributes}")) {
            Ok(c) => c,
            Err(_) => Cookie::new("x", "x"),
        };
        let host = host.to_ascii_lowercase();
        let (domain, host_only) = match cookie.domain() {
            Some(d) if !d.trim_start_matches('.').is_empty() => {
                let d = d.trim_start_matches('.').to_ascii_lowercase();
                if !domain_matches(&host, &d) {
                    // A site may not set cookies for another one.
                    return;
                }
                (d, false)
            }
            _ => (host.clone(), true),
        };
        let path = match cookie.path() {
            Some(p) if p.starts_with('/') => p.to_owned(),
            _ => default_path(request_path),
        };
        let now = SystemTime::now();
        let expires = match cookie.max_age() {
            Some(age) => {
                let secs = age.whole_seconds();
                if secs <= 0 {
                    Some(SystemTime::UNIX_EPOCH)
                } else {
                    Some(now + Duration::from_secs(secs as u64))
                }
            }
            None => cookie.expires_datetime().map(|t| {
                let ts = t.unix_timestamp();
                if ts <= 0 {
                    SystemTime::UNIX_EPOCH
                } else {
                    SystemTime::UNIX_EPOCH + Duration::from_secs(ts as u64)
                }
            }),
        };
        let stored = StoredCookie {
            name: raw_name.to_owned(),
            value: crate::http_utils::decode_cookie_value(raw_value.as_bytes()),
            raw_value: raw_value.to_owned(),
            domain,
            host_only,
            path,
            expires,
            secure: cookie.secure().unwrap_or(false),
            http_only: cookie.http_only().unwrap_or(false),
        };
        self.cookies.retain(|c| {
            !(c.name == stored.name && c.domain == stored.domain && c.path == stored.path)
        });
        if stored.expires.is_none_or(|t| t > now) {
            self.cookies.push(stored);
        }
    }

    /// Adds a cookie directly.
    pub(super) fn insert(&mut self, cookie: StoredCookie) {
        self.cookies.retain(|c| {
            !(c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path)
        });
        self.cookies.push(cookie);
    }

    /// Removes cookies named `name` (for any domain and path).
    pub(super) fn remove(&mut self, name: &str) {
        self.cookies.retain(|c| c.name != name);
    }

    pub(super) fn clear(&mut self) {
        self.cookies.clear();
    }

    pub(super) fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// The live cookies.
    pub(super) fn cookies(&self) -> Vec<StoredCookie> {
        let now = SystemTime::now();
        self.cookies
            .iter()
            .filter(|c| c.expires.is_none_or(|t| t > now))
            .cloned()
            .collect()
    }

    /// The `Cookie` header value for a request, longest paths first; `None` when no cookie
    /// matches.
    pub(super) fn header_for(&mut self, host: &str, path: &str, secure: bool) -> Option<String> {
        let now = SystemTime::now();
        self.cookies.retain(|c| c.expires.is_none_or(|t| t > now));
        let host = host.to_ascii_lowercase();
        let mut matching: Vec<&StoredCookie> = self
            .cookies
            .iter()
            .filter(|c| c.matches(&host, path, secure, now))
            .collect();
        if matching.is_empty() {
            return None;
        }
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let mut out = String::new();
        for c in matching {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(&c.name);
            out.push('=');
            out.push_str(&c.raw_value);
        }
        Some(out)
    }
}

/// RFC 6265 §5.1.3: `host` is `domain` or a subdomain of it (never for IP addresses).
fn domain_matches(host: &str, domain: &str) -> bool {
    if host == domain {
        return true;
    }
    host.parse::<std::net::IpAddr>().is_err()
        && host.len() > domain.len()
        && host.ends_with(domain)
        && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
}

/// RFC 6265 §5.1.4: the cookie path is a prefix of the request path at a `/` boundary.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    if request_path == cookie_path {
        return true;
    }
    request_path.starts_with(cookie_path)
        && (cookie_path.ends_with('/')
            || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/'))
}

/// RFC 6265 §5.1.4: the directory of the request path.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => request_path[..i].to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_and_path_rules() {
        let mut jar = CookieJar::default();
        jar.store(
            "a=1; Domain=example.com; Path=/docs",
            "www.example.com",
            "/",
        );
        jar.store("b=2", "www.example.com", "/docs/page");
        jar.store("evil=1; Domain=other.com", "www.example.com", "/");
        assert_eq!(
            jar.header_for("api.example.com", "/docs/x", false)
                .as_deref(),
            Some("a=1")
        );
        assert_eq!(jar.header_for("api.example.com", "/docsx", false), None);
        assert_eq!(
            jar.header_for("www.example.com", "/docs/x", false)
                .as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(jar.cookies().len(), 2);
    }

    #[test]
    fn secure_expiry_and_deletion() {
        let mut jar = CookieJar::default();
        jar.store("s=1; Secure", "localhost", "/");
        assert_eq!(jar.header_for("localhost", "/", false), None);
        assert_eq!(
            jar.header_for("localhost", "/", true).as_deref(),
            Some("s=1")
        );
        jar.store("s=; Max-Age=0; Secure", "localhost", "/");
        assert!(jar.is_empty());
        jar.store(
            "old=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "localhost",
            "/",
        );
        assert!(jar.is_empty());
        jar.store(r#"enc="a\073b"; Path=/"#, "localhost", "/");
        assert_eq!(jar.cookies()[0].value, "a;b");
        assert_eq!(jar.cookies()[0].raw_value, r#""a\073b""#);
        assert_eq!(
            jar.header_for("localhost", "/", false).as_deref(),
            Some(r#"enc="a\073b""#)
        );
        jar.store("pct=a%3Bb", "localhost", "/");
        let pct = jar.cookies().into_iter().find(|c| c.name == "pct").unwrap();
        assert_eq!(pct.value, "a%3Bb");
        jar.store("sp=a b\"c; Path=/p; Max-Age=60", "localhost", "/");
        let sp = jar.cookies().into_iter().find(|c| c.name == "sp").unwrap();
        assert_eq!((sp.raw_value.as_str(), sp.path.as_str()), ("a b\"c", "/p"));
        assert!(sp.expires.is_some());
        jar.store("; ; =", "localhost", "/");
        jar.store("\u{1}", "localhost", "/");
    }
}
