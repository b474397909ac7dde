//! [`CacheControl`]: a parsed `Cache-Control` header, for requests and responses alike.
//!
//! Werkzeug has separate request and response classes; one struct with every directive of
//! RFC 9111 (plus `immutable`, `stale-while-revalidate` and `stale-if-error`) serves both
//! here. Unknown directives are kept and written back.

use std::fmt;

use crate::http_utils::parse_header_params;

/// A `Cache-Control` header: typed directives plus the unknown ones.
///
/// # Examples
///
/// ```
/// use zeug::datastructures::CacheControl;
///
/// let cc = CacheControl::parse("public, max-age=3600, must-revalidate, x-custom=1");
/// assert!(cc.public);
/// assert_eq!(cc.max_age, Some(3600));
/// assert!(cc.must_revalidate);
/// assert_eq!(cc.to_string(), "public, max-age=3600, must-revalidate, x-custom=1");
///
/// let cc = CacheControl { no_store: true, ..CacheControl::default() };
/// assert_eq!(cc.to_string(), "no-store");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheControl {
    /// `no-cache`.
    pub no_cache: bool,
    /// `no-store`.
    pub no_store: bool,
    /// `max-age=N` (seconds).
    pub max_age: Option<u64>,
    /// `s-maxage=N` (responses).
    pub s_maxage: Option<u64>,
    /// `max-stale` (requests; `Some(None)` when given without a value).
    pub max_stale: Option<Option<u64>>,
    /// `min-fresh=N` (requests).
    pub min_fresh: Option<u64>,
    /// `only-if-cached` (requests).
    pub only_if_cached: bool,
    /// `no-transform`.
    pub no_transform: bool,
    /// `public` (responses).
    pub public: bool,
    /// `private` (responses).
    pub private: bool,
    /// `must-revalidate` (responses).
    pub must_revalidate: bool,
    /// `proxy-revalidate` (responses).
    pub proxy_revalidate: bool,
    /// `must-understand` (responses).
    pub must_understand: bool,
    /// `immutable` (responses, RFC 8246).
    pub immutable: bool,
    /// `stale-while-revalidate=N` (RFC 5861).
    pub stale_while_revalidate: Option<u64>,
    /// `stale-if-error=N` (RFC 5861).
    pub stale_if_error: Option<u64>,
    /// Directives not listed above, in order, with their values if any.
    pub extensions: Vec<(String, Option<String>)>,
}

impl CacheControl {
    /// An empty header.
    pub fn new() -> Self {
        CacheControl::default()
    }

    /// Parses a header value. Numbers that do not parse leave their directive unset (and
    /// `max-age` with a bad value counts as `0`, as RFC 9111 §4.2.1 advises caches).
    pub fn parse(header: &str) -> Self {
        let mut cc = CacheControl::default();
        for (name, value) in parse_header_params_with_flags(header) {
            let num = || value.as_deref().and_then(|v| v.trim().parse::<u64>().ok());
            match name.as_str() {
                "no-cache" => cc.no_cache = true,
                "no-store" => cc.no_store = true,
                "max-age" => cc.max_age = Some(num().unwrap_or(0)),
                "s-maxage" => cc.s_maxage = num(),
                "max-stale" => cc.max_stale = Some(num()),
                "min-fresh" => cc.min_fresh = num(),
                "only-if-cached" => cc.only_if_cached = true,
                "no-transform" => cc.no_transform = true,
                "public" => cc.public = true,
                "private" => cc.private = true,
                "must-revalidate" => cc.must_revalidate = true,
                "proxy-revalidate" => cc.proxy_revalidate = true,
                "must-understand" => cc.must_understand = true,
                "immutable" => cc.immutable = true,
                "stale-while-revalidate" => cc.stale_while_revalidate = num(),
                "stale-if-error" => cc.stale_if_error = num(),
                _ => cc.extensions.push((name, value)),
            }
        }
        cc
    }

    /// Whether no directive is set.
    pub fn is_empty(&self) -> bool {
        *self == CacheControl::default()
    }
}

/// Like [`parse_header_params`] but keeps bare flags (`no-store`) with no value.
fn parse_header_params_with_flags(header: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for item in crate::http_utils::split_header_list(header) {
        match item.split_once('=') {
            Some(_) => {
                if let Some((k, v)) = parse_header_params(item).into_iter().next() {
                    out.push((k, Some(v)));
                }
            }
            None => {
                let name = item.trim();
                if !name.is_empty() {
                    out.push((name.to_ascii_lowercase(), None));
                }
            }
        }
    }
    out
}

impl fmt::Display for CacheControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        let flags = [
            (self.public, "public"),
            (self.private, "private"),
            (self.no_cache, "no-cache"),
            (self.no_store, "no-store"),
            (self.no_transform, "no-transform"),
            (self.only_if_cached, "only-if-cached"),
        ];
        for (on, name) in flags {
            if on {
                parts.push(name.to_owned());
            }
        }
        let numbers = [
            (self.max_age, "max-age"),
            (self.s_maxage, "s-maxage"),
            (self.min_fresh, "min-fresh"),
        ];
        for (value, name) in numbers {
            if let Some(v) = value {
                parts.push(format!("{name}={v}"));
            }
        }
        match self.max_stale {
            Some(Some(v)) => parts.push(format!("max-stale={v}")),
            Some(None) => parts.push("max-stale".to_owned()),
            None => {}
        }
        let flags = [
            (self.must_revalidate, "must-revalidate"),
            (self.proxy_revalidate, "proxy-revalidate"),
            (self.must_understand, "must-understand"),
            (self.immutable, "immutable"),
        ];
        for (on, name) in flags {
            if on {
                parts.push(name.to_owned());
            }
        }
        let numbers = [
            (self.stale_while_revalidate, "stale-while-revalidate"),
            (self.stale_if_error, "stale-if-error"),
        ];
        for (value, name) in numbers {
            if let Some(v) = value {
                parts.push(format!("{name}={v}"));
            }
        }
        for (name, value) in &self.extensions {
            match value {
                Some(v) => parts.push(format!(
                    "{name}={}",
                    crate::http_utils::quote_header_value(v)
                )),
                None => parts.push(name.clone()),
            }
        }
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_directives() {
        let cc = CacheControl::parse("no-cache, max-stale, min-fresh=5, max-age=abc");
        assert!(cc.no_cache);
        assert_eq!(cc.max_stale, Some(None));
        assert_eq!(cc.min_fresh, Some(5));
        assert_eq!(cc.max_age, Some(0));
    }

    #[test]
    fn hostile_values_never_panic() {
        for h in [
            ",,,",
            "=",
            "max-age=",
            "x=\"",
            "max-age=99999999999999999999999",
            "é",
        ] {
            let _ = CacheControl::parse(h).to_string();
        }
    }
}
