//! [`Authorization`]: a parsed `Authorization` request header (Basic, Bearer, Digest or any
//! other scheme), and [`AuthParams`], the `key=value` parameters of a challenge or answer.
//!
//! This module only parses; checking a password or a digest response is the view's work
//! (see `examples/httpbin` for Digest).

use base64::Engine as _;

use crate::http_utils::parse_header_params;

/// The longest `Authorization` header value parsed; longer ones are ignored.
pub const MAX_AUTHORIZATION_LEN: usize = 16 * 1024;

/// The `key=value` parameters of an auth scheme (`realm="x", nonce="y", qop=auth`), keys
/// lower-cased, quoted values unescaped, in header order.
///
/// # Examples
///
/// ```
/// use zeug::datastructures::AuthParams;
///
/// let p = AuthParams::parse(r#"realm="me@example.com", qop=auth, nonce="a\"b""#);
/// assert_eq!(p.get("Realm"), Some("me@example.com"));
/// assert_eq!(p.get("qop"), Some("auth"));
/// assert_eq!(p.get("nonce"), Some("a\"b"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthParams {
    params: Vec<(String, String)>,
}

impl AuthParams {
    /// Parses a comma-separated parameter list; malformed items are skipped.
    pub fn parse(s: &str) -> Self {
        AuthParams {
            params: parse_header_params(s),
        }
    }

    /// A parameter's value, by case-insensitive name (the first one if repeated).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every parameter, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}

/// A parsed `Authorization` header.
///
/// Basic credentials are base64-decoded (UTF-8, falling back to Latin-1 as browsers send
/// it); a Bearer token is kept as sent; Digest parameters are available by name. Anything
/// that does not parse is `None` from [`Request::authorization`](crate::Request::authorization),
/// never an error.
///
/// # Examples
///
/// ```
/// use zeug::datastructures::Authorization;
///
/// let basic = Authorization::parse("Basic dXNlcjpwYXNz").unwrap();
/// assert_eq!(basic.username(), Some("user"));
/// assert_eq!(basic.password(), Some("pass"));
///
/// let bearer = Authorization::parse("Bearer abc.def").unwrap();
/// assert_eq!(bearer.token(), Some("abc.def"));
///
/// let digest = Authorization::parse(
///     r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html",
///        algorithm=MD5, nonce="7ypf", nc=00000001, cnonce="f2/wE4q", qop=auth,
///        response="8ca523f5", opaque="FQhe""#,
/// ).unwrap();
/// assert_eq!(digest.scheme(), "digest");
/// assert_eq!(digest.username(), Some("Mufasa"));
/// assert_eq!(digest.param("nc"), Some("00000001"));
/// assert_eq!(digest.param("response"), Some("8ca523f5"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Authorization {
    /// `Basic base64(username:password)`.
    Basic {
        /// The user name (before the first `:`).
        username: String,
        /// The password (after the first `:`; may contain `:`).
        password: String,
    },
    /// `Bearer token` (RFC 6750).
    Bearer {
        /// The token as sent.
        token: String,
    },
    /// `Digest k=v, ...` (RFC 7616): `username`, `realm`, `nonce`, `uri`, `response`, `qop`,
    /// `nc`, `cnonce`, `opaque`, `algorithm`, ... through [`Authorization::param`].
    Digest(AuthParams),
    /// Any other scheme: either a single token (`Negotiate abc==`) or parameters.
    Other {
        /// The scheme, lower-cased.
        scheme: String,
        /// The token, when the credentials are one token rather than parameters.
        token: Option<String>,
        /// The parameters, when they are parameters.
        params: AuthParams,
    },
}

impl Authorization {
    /// Parses a header value; `None` when it is empty, over-long, or Basic credentials are
    /// not valid base64. Like Werkzeug, Basic credentials without a `:` are a user name
    /// with an empty password, and missing or extra `=` padding is tolerated.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::datastructures::Authorization;
    /// let a = Authorization::parse("Basic dXNlcg==").unwrap(); // "user"
    /// assert_eq!((a.username(), a.password()), (Some("user"), Some("")));
    /// let a = Authorization::parse("Basic dXNlcjpwYXNz==").unwrap();
    /// assert_eq!((a.username(), a.password()), (Some("user"), Some("pass")));
    /// ```
    pub fn parse(header: &str) -> Option<Self> {
        if header.len() > MAX_AUTHORIZATION_LEN {
            return None;
        }
        let header = header.trim();
        let (scheme, rest) = match header.split_once([' ', '\t']) {
            Some((s, r)) => (s, r.trim()),
            None => (header, ""),
        };
        if scheme.is_empty() {
            return None;
        }
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "basic" => {
                // As Werkzeug: extra or missing `=` padding is tolerated.
                const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
                    &base64::alphabet::STANDARD,
                    base64::engine::GeneralPurposeConfig::new()
                        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
                );
                let rest = rest.trim_end_matches('=');
                if rest.is_empty() {
                    return None;
                }
                let raw = LENIENT.decode(rest).ok()?;
                let text = match String::from_utf8(raw) {
                    Ok(s) => s,
                    Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
                };
                // No `:` is a user name without a password (Werkzeug reads it so).
                let (username, password) = text.split_once(':').unwrap_or((&text, ""));
                Some(Authorization::Basic {
                    username: username.to_owned(),
                    password: password.to_owned(),
                })
            }
            "bearer" => {
                if rest.is_empty() {
                    return None;
                }
                Some(Authorization::Bearer {
                    token: rest.to_owned(),
                })
            }
            "digest" => {
                let params = AuthParams::parse(rest);
                if params.is_empty() {
                    return None;
                }
                Some(Authorization::Digest(params))
            }
            _ => {
                let is_token68 = !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b) || b == b'=')
                    && !rest.trim_end_matches('=').contains('=');
                if is_token68 || rest.is_empty() {
                    Some(Authorization::Other {
                        scheme,
                        token: (!rest.is_empty()).then(|| rest.to_owned()),
                        params: AuthParams::default(),
                    })
                } else {
                    Some(Authorization::Other {
                        scheme,
                        token: None,
                        params: AuthParams::parse(rest),
                    })
                }
            }
        }
    }

    /// Basic credentials for a header value: `Basic base64(user:pass)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = zeug::datastructures::Authorization::basic_header("user", "pass");
    /// assert_eq!(h, "Basic dXNlcjpwYXNz");
    /// ```
    pub fn basic_header(username: &str, password: &str) -> String {
        let raw = format!("{username}:{password}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// The scheme, lower-cased: `"basic"`, `"bearer"`, `"digest"`, ...
    pub fn scheme(&self) -> &str {
        match self {
            Authorization::Basic { .. } => "basic",
            Authorization::Bearer { .. } => "bearer",
            Authorization::Digest(_) => "digest",
            Authorization::Other { scheme, .. } => scheme,
        }
    }

    /// The user name of Basic or Digest credentials.
    pub fn username(&self) -> Option<&str> {
        match self {
            Authorization::Basic { username, .. } => Some(username),
            Authorization::Digest(p) => p.get("username"),
            Authorization::Other { params, .. } => params.get("username"),
            Authorization::Bearer { .. } => None,
        }
    }

    /// The password of Basic credentials.
    pub fn password(&self) -> Option<&str> {
        match self {
            Authorization::Basic { password, .. } => Some(password),
            _ => None,
        }
    }

    /// The token of Bearer credentials (or of another single-token scheme).
    pub fn token(&self) -> Option<&str> {
        match self {
            Authorization::Bearer { token } => Some(token),
            Authorization::Other { token, .. } => token.as_deref(),
            _ => None,
        }
    }

    /// A parameter of Digest (or another parameter-style scheme), by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        match self {
            Authorization::Digest(p) => p.get(name),
            Authorization::Other { params, .. } => params.get(name),
            _ => None,
        }
    }

    /// The parameters of Digest or another parameter-style scheme (empty otherwise).
    pub fn params(&self) -> Option<&AuthParams> {
        match self {
            Authorization::Digest(p) => Some(p),
            Authorization::Other { params, .. } => Some(params),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_edge_cases() {
        assert_eq!(Authorization::parse("Basic"), None);
        assert_eq!(Authorization::parse("Basic !!!"), None);
        assert_eq!(Authorization::parse("Basic ==="), None);
        // base64("nocolon"): a user name alone
        let a = Authorization::parse("Basic bm9jb2xvbg==").unwrap();
        assert_eq!((a.username(), a.password()), (Some("nocolon"), Some("")));
        // Extra and missing padding
        for h in [
            "Basic dXNlcjpwYXNz===",
            "Basic dXNlcjpwYXNz",
            "Basic YTpiOmM",
        ] {
            assert!(Authorization::parse(h).is_some(), "{h}");
        }
        assert_eq!(Authorization::parse("Basic dXNlcjpwYXNz=x"), None);
        // base64("a:b:c") — the password keeps its colon
        let a = Authorization::parse("basic YTpiOmM=").unwrap();
        assert_eq!((a.username(), a.password()), (Some("a"), Some("b:c")));
        // Latin-1 bytes: base64 of b"\xe9:x"
        let a = Authorization::parse("Basic 6Tp4").unwrap();
        assert_eq!(a.username(), Some("é"));
    }

    #[test]
    fn other_schemes() {
        let a = Authorization::parse("Negotiate YIIG==").unwrap();
        assert_eq!(a.scheme(), "negotiate");
        assert_eq!(a.token(), Some("YIIG=="));
        let a = Authorization::parse("Custom a=1, b=\"2\"").unwrap();
        assert_eq!(a.param("b"), Some("2"));
        assert_eq!(Authorization::parse("Bearer "), None);
        assert_eq!(Authorization::parse(""), None);
    }

    #[test]
    fn hostile_digest_never_panics() {
        for h in [
            "Digest",
            "Digest ,,,",
            "Digest a=\"",
            "Digest a=\"\\",
            "Digest =x",
            "Digest a==b",
            "Digest é=ü, \u{0}",
        ] {
            let _ = Authorization::parse(h);
        }
        assert!(Authorization::parse(&"x".repeat(MAX_AUTHORIZATION_LEN + 1)).is_none());
    }
}
