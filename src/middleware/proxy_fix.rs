//! [`ProxyFix`]: trust `X-Forwarded-*` headers set by a known number of proxies.
//!
//! This module owns rewriting the environ from the forwarded headers and keeping the
//! originals in [`ProxyFixOriginal`]. It does not parse the standard `Forwarded` header
//! (RFC 7239), which Werkzeug's `ProxyFix` ignores too.

use http::HeaderMap;
use http::header::{HOST, HeaderValue};

use crate::environ::Text;
use crate::{Application, Environ, Response};

/// The environ as the proxy's connection delivered it, before [`ProxyFix`] rewrote it;
/// kept in [`Environ::extensions`] (Werkzeug's `werkzeug.proxy_fix.orig`).
///
/// # Examples
///
/// ```
/// use zeug::middleware::{ProxyFix, ProxyFixOriginal};
/// use zeug::{test::Client, Environ, Response};
///
/// let app = ProxyFix::new(|env: Environ| {
///     let orig = env.extensions.get::<ProxyFixOriginal>().unwrap();
///     Response::new(format!("{:?} via {:?}", env.remote_addr, orig.remote_addr))
/// });
/// let res = Client::new(app).get("/").header("x-forwarded-for", "203.0.113.7").send();
/// assert_eq!(res.text(), r#"Some("203.0.113.7") via Some("127.0.0.1")"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyFixOriginal {
    /// `REMOTE_ADDR` before the rewrite (the proxy's address).
    pub remote_addr: Option<Text>,
    /// `REMOTE_PORT` before the rewrite.
    pub remote_port: Option<u16>,
    /// `wsgi.url_scheme` before the rewrite.
    pub url_scheme: Text,
    /// The `Host` header before the rewrite.
    pub host: Option<String>,
    /// `SERVER_NAME` before the rewrite.
    pub server_name: Text,
    /// `SERVER_PORT` before the rewrite.
    pub server_port: u16,
    /// `SCRIPT_NAME` before the rewrite.
    pub script_name: Text,
}

/// Makes an application behind reverse proxies see the client's address, scheme, host,
/// port and mount prefix, from the `X-Forwarded-*` headers the proxies add.
///
/// Each header is trusted for a given number of proxies: with `x_for(1)` the last
/// (right-most) value of `X-Forwarded-For` is taken, since that is the one the one proxy
/// in front appended; values further left came from the client and could be forged. With
/// `n` trusted, the `n`-th value from the right is taken, and if there are fewer than `n`
/// values the header is ignored. A count of 0 ignores the header. This is Werkzeug's
/// `ProxyFix`, with its defaults (`x_for = 1`, `x_proto = 1`, the rest 0):
///
/// | header | sets |
/// |---|---|
/// | `X-Forwarded-For` | `remote_addr` (and clears `remote_port`, which was the proxy's) |
/// | `X-Forwarded-Proto` | `url_scheme` |
/// | `X-Forwarded-Host` | the `Host` header, `server_name` and `server_port` |
/// | `X-Forwarded-Port` | the port in `Host`, `server_port` |
/// | `X-Forwarded-Prefix` | `script_name` |
///
/// A forwarded host with characters that would change a URL (`/`, `@`, spaces) is
/// ignored, an `X-Forwarded-Proto` other than `http`/`https` too, and a prefix gets exactly
/// one leading `/`. The values before the rewrite are kept as a [`ProxyFixOriginal`] in
/// the extensions.
/// Set the counts to match your proxies exactly: trusting more than you have lets a client
/// choose its own address. `docs/deployment.md` shows the nginx side.
///
/// # Examples
///
/// ```
/// use zeug::middleware::ProxyFix;
/// use zeug::{test::Client, Request, Response, Environ};
///
/// fn app(environ: Environ) -> Response {
///     let req = Request::new(environ);
///     Response::new(format!("{} {} {}", req.remote_addr().unwrap_or("-"), req.scheme(), req.host()))
/// }
/// // One nginx in front, setting -For, -Proto and -Host.
/// let app = ProxyFix::new(app).x_for(1).x_proto(1).x_host(1);
/// let res = Client::new(app)
///     .get("/")
///     .header("x-forwarded-for", "198.51.100.1, 203.0.113.7") // the first one is forged
///     .header("x-forwarded-proto", "https")
///     .header("x-forwarded-host", "example.com")
///     .send();
/// assert_eq!(res.text(), "203.0.113.7 https example.com");
/// ```
pub struct ProxyFix<A> {
    app: A,
    x_for: usize,
    x_proto: usize,
    x_host: usize,
    x_port: usize,
    x_prefix: usize,
}

impl<A: Application> ProxyFix<A> {
    /// Wraps `app`, trusting one proxy for `X-Forwarded-For` and `X-Forwarded-Proto` and
    /// none for the other headers (Werkzeug's defaults).
    pub fn new(app: A) -> Self {
        ProxyFix {
            app,
            x_for: 1,
            x_proto: 1,
            x_host: 0,
            x_port: 0,
            x_prefix: 0,
        }
    }

    /// How many proxies append to `X-Forwarded-For`.
    pub fn x_for(mut self, trusted: usize) -> Self {
        self.x_for = trusted;
        self
    }

    /// How many proxies append to `X-Forwarded-Proto`.
    pub fn x_proto(mut self, trusted: usize) -> Self {
        self.x_proto = trusted;
        self
    }

    /// How many proxies append to `X-Forwarded-Host`.
    pub fn x_host(mut self, trusted: usize) -> Self {
        self.x_host = trusted;
        self
    }

    /// How many proxies append to `X-Forwarded-Port`.
    pub fn x_port(mut self, trusted: usize) -> Self {
        self.x_port = trusted;
        self
    }

    /// How many proxies append to `X-Forwarded-Prefix`.
    pub fn x_prefix(mut self, trusted: usize) -> Self {
        self.x_prefix = trusted;
        self
    }

    /// Rewrites `environ` as [`call`](Application::call) does, without calling the app.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::middleware::ProxyFix;
    /// use zeug::test::EnvironBuilder;
    /// use zeug::{Environ, Response};
    ///
    /// let fix = ProxyFix::new(|_: Environ| Response::new("")).x_prefix(1);
    /// let mut environ = EnvironBuilder::new("GET", "/").header("x-forwarded-prefix", "/app").build();
    /// fix.fix_environ(&mut environ);
    /// assert_eq!(environ.script_name, "/app");
    /// ```
    pub fn fix_environ(&self, environ: &mut Environ) {
        let original = ProxyFixOriginal {
            remote_addr: environ.remote_addr.clone(),
            remote_port: environ.remote_port,
            url_scheme: environ.url_scheme.clone(),
            host: environ
                .headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned),
            server_name: environ.server_name.clone(),
            server_port: environ.server_port,
            script_name: environ.script_name.clone(),
        };

        if let Some(addr) = trusted_value(&environ.headers, "x-forwarded-for", self.x_for) {
            environ.remote_addr = Some(Text::from(strip_addr_port(&addr)));
            environ.remote_port = None;
        }
        if let Some(proto) = trusted_value(&environ.headers, "x-forwarded-proto", self.x_proto) {
            let proto = proto.to_ascii_lowercase();
            if proto == "http" || proto == "https" {
                environ.url_scheme = proto.into();
            }
        }
        if let Some(host) =
            trusted_value(&environ.headers, "x-forwarded-host", self.x_host).filter(|h| is_host(h))
        {
            if let Ok(value) = HeaderValue::try_from(host.as_str()) {
                environ.headers.insert(HOST, value);
                let default_port = if environ.url_scheme == "https" {
                    443
                } else {
                    80
                };
                if host.contains(':') && !host.ends_with(']') {
                    let (name, port) = crate::environ::split_host_port(&host, default_port);
                    environ.server_name = name;
                    environ.server_port = port;
                } else {
                    environ.server_name = host.trim_matches(['[', ']']).into();
                }
            }
        }
        if let Some(port) = trusted_value(&environ.headers, "x-forwarded-port", self.x_port) {
            if let Ok(port) = port.parse::<u16>() {
                if let Some(host) = environ.headers.get(HOST).and_then(|h| h.to_str().ok()) {
                    let name = if host.contains(':') && !host.ends_with(']') {
                        host.rsplit_once(':').map_or(host, |(n, _)| n)
                    } else {
                        host
                    };
                    if let Ok(value) = HeaderValue::try_from(format!("{name}:{port}")) {
                        environ.headers.insert(HOST, value);
                    }
                }
                environ.server_port = port;
            }
        }
        if let Some(prefix) = trusted_value(&environ.headers, "x-forwarded-prefix", self.x_prefix) {
            // One leading slash, none trailing: `//evil.example` must not become a
            // scheme-relative URL root.
            let prefix = crate::environ::decode_path(&prefix);
            let prefix = prefix.trim_matches('/');
            environ.script_name = if prefix.is_empty() {
                Text::new()
            } else {
                format!("/{prefix}").into()
            };
        }
        environ.extensions.insert(original);
    }
}

impl<A: Application> Application for ProxyFix<A> {
    fn call(&self, mut environ: Environ) -> Response {
        self.fix_environ(&mut environ);
        self.app.call(environ)
    }
}

/// The `trusted`-th value from the right of a comma-separated header (all its lines
/// joined), or `None` when there are fewer values or `trusted` is 0.
fn trusted_value(headers: &HeaderMap, name: &str, trusted: usize) -> Option<String> {
    if trusted == 0 {
        return None;
    }
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if values.len() < trusted {
        return None;
    }
    let value = values[values.len() - trusted];
    (!value.is_empty()).then(|| value.to_owned())
}

/// Whether `value` looks like `host[:port]` (a name, an IPv4 address or a bracketed IPv6
/// address): no `/`, `@`, spaces or other characters that would change a URL built from it.
fn is_host(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 255
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']')
        })
}

/// `203.0.113.7:5000` → `203.0.113.7`, `[2001:db8::1]:5000` → `2001:db8::1`; a bare IPv6
/// address or anything else is returned as is.
fn strip_addr_port(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.split_once(':') {
        Some((ip, port)) if !port.contains(':') && port.parse::<u16>().is_ok() => ip,
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn takes_the_nth_value_from_the_right() {
        let h = headers(&[("x-forwarded-for", "a, b"), ("x-forwarded-for", "c")]);
        assert_eq!(
            trusted_value(&h, "x-forwarded-for", 1).as_deref(),
            Some("c")
        );
        assert_eq!(
            trusted_value(&h, "x-forwarded-for", 3).as_deref(),
            Some("a")
        );
        assert_eq!(trusted_value(&h, "x-forwarded-for", 4), None);
        assert_eq!(trusted_value(&h, "x-forwarded-for", 0), None);
    }

    #[test]
    fn strips_ports_from_addresses() {
        assert_eq!(strip_addr_port("1.2.3.4:80"), "1.2.3.4");
        assert_eq!(strip_addr_port("[::1]:80"), "::1");
        assert_eq!(strip_addr_port("2001:db8::1"), "2001:db8::1");
        assert_eq!(strip_addr_port("unknown"), "unknown");
    }

    #[test]
    fn hosts_that_would_change_a_url_are_refused() {
        assert!(is_host("example.com:8080"));
        assert!(is_host("[2001:db8::1]:443"));
        assert!(!is_host("evil.example/path"));
        assert!(!is_host("user@evil.example"));
        assert!(!is_host("a b"));
        assert!(!is_host(""));
    }
}
