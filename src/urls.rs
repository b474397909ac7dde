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

/// Decodes one `application/x-www-form-urlencoded` component (or, with `plus_as_space`
/// false, one percent-encoded value such as a cookie): `%XX` escapes become bytes, `+` a
/// space, malformed escapes are kept as written, and bytes that are not UTF-8 stay
/// percent-encoded (`%E9`), as Werkzeug keeps them since 2.3: nothing is lost, and the
/// result is always text. Never fails; text without escapes is copied once.
///
/// # Examples
///
/// ```
/// use zeug::urls::decode_component;
/// assert_eq!(decode_component(b"a+b%20c", true), "a b c");
/// assert_eq!(decode_component(b"a+b", false), "a+b");
/// assert_eq!(decode_component(b"100%+%zz%4", true), "100% %zz%4");
/// assert_eq!(decode_component(b"%ff", true), "%FF");
/// assert_eq!(decode_component(b"caf%C3%A9+%e9t%e9", true), "café %E9t%E9");
/// ```
pub fn decode_component(input: &[u8], plus_as_space: bool) -> String {
    // Components are short: a plain scan beats a vectorised search set up per call.
    let special = |b: u8| b == b'%' || (plus_as_space && b == b'+');
    let Some(first) = input.iter().position(|&b| special(b)) else {
        return match std::str::from_utf8(input) {
            Ok(s) => s.to_owned(),
            Err(_) => quote_invalid_utf8(input),
        };
    };
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first]);
    let mut i = first;
    while i < input.len() {
        let b = input[i];
        if !special(b) {
            out.push(b);
            i += 1;
        } else if b == b'+' {
            out.push(b' ');
            i += 1;
        } else {
            match (
                input.get(i + 1).and_then(|&b| hex(b)),
                input.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push((hi << 4) | lo);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => quote_invalid_utf8(e.as_bytes()),
    }
}

/// `bytes` as text, each byte that is not part of valid UTF-8 written as `%XX` (upper
/// case): Werkzeug's `werkzeug.url_quote` decoding error handler.
pub(crate) fn quote_invalid_utf8(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits urlencoded bytes into decoded `(name, value)` pairs, as
/// [`form_urlencoded::parse`] does (pairs split on `&`, empty pieces skipped, a piece without
/// `=` is a name with an empty value), each part decoded as [`decode_component`] does. The
/// same parser as [`MultiDict::from_urlencoded`](crate::datastructures::MultiDict::from_urlencoded).
///
/// # Examples
///
/// ```
/// let pairs: Vec<_> = zeug::urls::parse_urlencoded(b"a=1&&b&c=x+y=z").collect();
/// assert_eq!(pairs, [("a".into(), "1".into()), ("b".into(), "".into()), ("c".into(), "x y=z".into())]);
/// ```
pub fn parse_urlencoded(input: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    crate::datastructures::MultiDict::from_urlencoded(input)
        .into_iter()
        .map(|(k, v)| (k, v.into_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_agrees_with_form_urlencoded() {
        let samples: &[&[u8]] = &[
            b"a=1&b=%20x+y",
            b"%zz=%&=%%41",
            b"k=%e2%9c%93&k2=%E2%9C",
            b"\xff\xfe=\x00",
            b"&&&=&a",
            b"x=%2",
            b"%C3%A9t%C3%A9=ok",
            b"x=%e9t%e9&y=%F0%9F&z=%F0%9F%98%80",
        ];
        let raw: Vec<u8> = (0..=255u8).collect();
        for s in samples.iter().copied().chain([&raw[..]]) {
            let ours: Vec<(String, String)> = parse_urlencoded(s).collect();
            assert_eq!(
                ours,
                reference::pairs(s),
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
        assert_eq!(
            parse_urlencoded(b"x=%e9t%e9&y=%F0%9F").collect::<Vec<_>>(),
            [
                ("x".into(), "%E9t%E9".into()),
                ("y".into(), "%F0%9F".into())
            ]
        );
    }
}

/// The reference the urlencoded parsers are tested against: `form_urlencoded`'s splitting
/// and `percent_encoding`'s decoding, with bytes that are not UTF-8 kept percent-encoded
/// (Werkzeug's handling) instead of replaced; on text that decodes to valid UTF-8 it is
/// checked to be exactly `form_urlencoded::parse`.
#[cfg(test)]
pub(crate) mod reference {
    /// Decoded `(key, value)` pairs of a urlencoded body.
    pub(crate) fn pairs(body: &[u8]) -> Vec<(String, String)> {
        let ours: Vec<(String, String)> = body
            .split(|&b| b == b'&')
            .filter(|p| !p.is_empty())
            .map(|piece| match piece.iter().position(|&b| b == b'=') {
                Some(i) => (decode(&piece[..i]), decode(&piece[i + 1..])),
                None => (decode(piece), String::new()),
            })
            .collect();
        let theirs: Vec<(String, String)> = form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let lossy = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .any(|(k, v)| k.contains('\u{fffd}') || v.contains('\u{fffd}'))
        };
        if !lossy(&theirs) {
            assert_eq!(ours, theirs, "the reference left form_urlencoded");
        }
        ours
    }

    fn decode(bytes: &[u8]) -> String {
        let plus: Vec<u8> = bytes
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        let decoded: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
        super::quote_invalid_utf8(&decoded)
    }
}
