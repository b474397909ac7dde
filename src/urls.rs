//! Percent-encoding sets and small URL helpers shared by routing, the test client and
//! URL reconstruction. Owns no parsing of whole URLs (that is `http::Uri`'s job).

use percent_encoding::{AsciiSet, CONTROLS};

/// Characters escaped in a path: everything but unreserved characters, sub-delims, `:`,
/// `@` and `/` (RFC 3986 `pchar` plus `/`).
pub const PATH_ENCODE_SET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Characters escaped in one path segment: the path set plus `/`.
pub const SEGMENT_ENCODE_SET: &AsciiSet = &PATH_ENCODE_SET.add(b'/');

/// Characters escaped in a query component value (`application/x-www-form-urlencoded`
/// style, except that space becomes `%20`).
pub const QUERY_ENCODE_SET: &AsciiSet = &SEGMENT_ENCODE_SET.add(b'&').add(b'=').add(b'+').add(b';');

/// Percent-encodes a path, keeping `/`.
///
/// # Examples
///
/// ```
/// assert_eq!(zeug::urls::quote_path("/a b/ü"), "/a%20b/%C3%BC");
/// ```
pub fn quote_path(path: &str) -> String {
    percent_encoding::utf8_percent_encode(path, PATH_ENCODE_SET).to_string()
}

/// Percent-encodes one path segment, so a `/` inside it is kept as data.
///
/// # Examples
///
/// ```
/// assert_eq!(zeug::urls::quote_segment("a/b"), "a%2Fb");
/// ```
pub fn quote_segment(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, SEGMENT_ENCODE_SET).to_string()
}

/// Encodes pairs as an `application/x-www-form-urlencoded` string.
///
/// # Examples
///
/// ```
/// assert_eq!(zeug::urls::urlencode([("q", "a b"), ("x", "&")]), "q=a+b&x=%26");
/// ```
pub fn urlencode<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k.as_ref(), v.as_ref());
    }
    ser.finish()
}
