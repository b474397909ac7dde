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
/// space, malformed escapes are kept as written and invalid UTF-8 becomes U+FFFD. Never
/// fails; text without escapes is copied once.
///
/// # Examples
///
/// ```
/// use zeug::urls::decode_component;
/// assert_eq!(decode_component(b"a+b%20c", true), "a b c");
/// assert_eq!(decode_component(b"a+b", false), "a+b");
/// assert_eq!(decode_component(b"100%+%zz%4", true), "100% %zz%4");
/// assert_eq!(decode_component(b"%ff", true), "\u{fffd}");
/// ```
pub fn decode_component(input: &[u8], plus_as_space: bool) -> String {
    // Components are short: a plain scan beats a vectorised search set up per call.
    let special = |b: u8| b == b'%' || (plus_as_space && b == b'+');
    let Some(first) = input.iter().position(|&b| special(b)) else {
        return match std::str::from_utf8(input) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(input).into_owned(),
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
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// [`parse_urlencoded`] decoding straight into [`MultiDict`](crate::datastructures::MultiDict)'s
/// key and value types, appended to `out`.
///
/// One pass over the bytes splits and decodes together: each byte is classified once,
/// and a key or value that fits inline (24 bytes, nearly all of them) is decoded into a
/// stack buffer and never touches the heap.
pub(crate) fn parse_urlencoded_into(
    input: &[u8],
    out: &mut Vec<(compact_str::CompactString, crate::datastructures::Text)>,
) {
    use crate::datastructures::Text;
    let mut pos = 0;
    while pos < input.len() {
        if input[pos] == b'&' {
            pos += 1; // an empty piece
            continue;
        }
        let (key, end) = decode_piece(input, pos, &KEY_SPECIAL);
        if input.get(end) == Some(&b'=') {
            let (value, end) = decode_piece(input, end + 1, &VALUE_SPECIAL);
            out.push((key, Text::from_compact(value)));
            pos = end + 1;
        } else {
            out.push((key, Text::new()));
            pos = end + 1;
        }
    }
}

/// [`decode_component`] into a `CompactString`: keys and values that fit inline (24
/// bytes) are decoded on the stack and never touch the heap.
pub(crate) fn decode_compact(input: &[u8], plus_as_space: bool) -> compact_str::CompactString {
    let special = if plus_as_space {
        &PERCENT_PLUS
    } else {
        &PERCENT
    };
    decode_piece(input, 0, special).0
}

/// The bytes [`decode_piece`] stops at in a urlencoded key: separators and escapes.
const KEY_SPECIAL: [bool; 256] = special_bytes(b"&=%+");
/// The same for a urlencoded value, where `=` is an ordinary byte.
const VALUE_SPECIAL: [bool; 256] = special_bytes(b"&%+");
/// Escapes alone, for a whole component: `%` (cookies), or with `+` (forms).
const PERCENT: [bool; 256] = special_bytes(b"%");
const PERCENT_PLUS: [bool; 256] = special_bytes(b"%+");

const fn special_bytes(bytes: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
}

/// Decodes from `start` up to the first byte of `special` that is not an escape (`%`,
/// or `+` when it is in `special`, standing for a space) or to the end; returns the
/// decoded text and the index where it stopped.
fn decode_piece(
    input: &[u8],
    start: usize,
    special: &[bool; 256],
) -> (compact_str::CompactString, usize) {
    const INLINE: usize = 24;
    // `seen` is the OR of every output byte: below 0x80 means ASCII, so valid UTF-8
    // without a check.
    let mut seen = 0u8;
    // Most pieces need no decoding: find where the plain run ends and take it as it is.
    let mut i = start;
    while let Some(&b) = input.get(i) {
        if special[usize::from(b)] {
            break;
        }
        seen |= b;
        i += 1;
    }
    if !matches!(input.get(i), Some(b'%' | b'+')) {
        return (compact_text(&input[start..i], seen), i);
    }
    // An escape: decode from the start, on the stack while the output fits inline.
    let mut buf = [0u8; INLINE];
    let mut len = 0;
    let mut i = start;
    while let Some(&b) = input.get(i) {
        let out = if !special[usize::from(b)] {
            i += 1;
            b
        } else if b == b'%' {
            i += 1;
            match (input.get(i), input.get(i + 1)) {
                (Some(&h), Some(&l))
                    if HEX_VALUE[usize::from(h)] | HEX_VALUE[usize::from(l)] < 16 =>
                {
                    i += 2;
                    HEX_VALUE[usize::from(h)] << 4 | HEX_VALUE[usize::from(l)]
                }
                _ => b'%',
            }
        } else if b == b'+' {
            i += 1;
            b' '
        } else {
            break; // a separator
        };
        let Some(slot) = buf.get_mut(len) else {
            // Longer than fits inline (rare): decode the whole piece on the heap.
            let end = input[i..]
                .iter()
                .position(|&b| special[usize::from(b)] && b != b'%' && b != b'+')
                .map_or(input.len(), |n| i + n);
            let decoded = decode_component(&input[start..end], special[usize::from(b'+')]);
            return (decoded.into(), end);
        };
        *slot = out;
        len += 1;
        seen |= out;
    }
    (compact_text(&buf[..len], seen), i)
}

/// `bytes` as a `CompactString`; `seen` is the OR of all of them (below 0x80: ASCII).
fn compact_text(bytes: &[u8], seen: u8) -> compact_str::CompactString {
    use compact_str::CompactString;
    if seen < 0x80 {
        // SAFETY: no byte of `bytes` has its high bit set, so it is ASCII and thus UTF-8.
        return CompactString::from(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => CompactString::from(s),
        Err(_) => CompactString::from(String::from_utf8_lossy(bytes).as_ref()),
    }
}

/// Each byte's value as a hex digit, or 0xFF for a byte that is not one.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = match i as u8 {
            b @ b'0'..=b'9' => b - b'0',
            b @ b'a'..=b'f' => b - b'a' + 10,
            b @ b'A'..=b'F' => b - b'A' + 10,
            _ => 0xFF,
        };
        i += 1;
    }
    table
};

/// Splits urlencoded bytes into decoded `(name, value)` pairs, as
/// [`form_urlencoded::parse`] does (pairs split on `&`, empty pieces skipped, a piece without
/// `=` is a name with an empty value), with [`decode_component`] for each part.
///
/// # Examples
///
/// ```
/// let pairs: Vec<_> = zeug::urls::parse_urlencoded(b"a=1&&b&c=x+y=z").collect();
/// assert_eq!(pairs, [("a".into(), "1".into()), ("b".into(), "".into()), ("c".into(), "x y=z".into())]);
/// ```
pub fn parse_urlencoded(input: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    input
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|piece| match memchr::memchr(b'=', piece) {
            Some(eq) => (
                decode_component(&piece[..eq], true),
                decode_component(&piece[eq + 1..], true),
            ),
            None => (decode_component(piece, true), String::new()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `parse_urlencoded_into` against `form_urlencoded::parse` on pseudo-random bodies
    /// rich in the bytes that matter: separators, escapes (valid, broken, non-ASCII),
    /// invalid UTF-8, and pieces on both sides of the 24-byte inline limit.
    #[test]
    fn fused_parser_agrees_with_form_urlencoded() {
        let tokens: [&[u8]; 22] = [
            b"a",
            b"=",
            b"&",
            b"+",
            b"%",
            b"2",
            b"f",
            b"%41",
            b"%7f",
            b"%80",
            b"%c3%a9",
            b"%C3",
            "\u{e9}".as_bytes(),
            "\u{20ac}".as_bytes(),
            b"%2B",
            b"%26",
            b"%3D",
            b"\xff",
            b"0123456789",
            b"abcdefghijklmnopqrstuvwxyz",
            b"%zz",
            b"%4",
        ];
        let mut state = 0x2545_f491u32;
        for round in 0..20_000 {
            let mut body = Vec::new();
            for _ in 0..(state % 16) {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                body.extend_from_slice(tokens[(state % tokens.len() as u32) as usize]);
            }
            state = state.wrapping_add(round);
            let theirs: Vec<(String, String)> = form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let mut ours = Vec::new();
            parse_urlencoded_into(&body, &mut ours);
            let ours: Vec<(String, String)> = ours
                .into_iter()
                .map(|(k, v)| (k.into_string(), v.into_string()))
                .collect();
            assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(&body));
        }
    }

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
        ];
        for s in samples {
            let ours: Vec<(String, String)> = parse_urlencoded(s).collect();
            let theirs: Vec<(String, String)> = form_urlencoded::parse(s)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(s));
        }
        for s in samples {
            let plain: Vec<(String, String)> = parse_urlencoded(s).collect();
            let mut keyed = Vec::new();
            parse_urlencoded_into(s, &mut keyed);
            let keyed: Vec<(String, String)> = keyed
                .into_iter()
                .map(|(k, v)| (k.into_string(), v.into_string()))
                .collect();
            assert_eq!(plain, keyed);
        }
        let long = [b"%41+".repeat(7), b"=1&".to_vec(), b"\xff".repeat(30)].concat();
        let plain: Vec<(String, String)> = parse_urlencoded(&long).collect();
        let mut keyed = Vec::new();
        parse_urlencoded_into(&long, &mut keyed);
        let keyed: Vec<(String, String)> = keyed
            .into_iter()
            .map(|(k, v)| (k.into_string(), v.into_string()))
            .collect();
        assert_eq!(plain, keyed);
        let raw: Vec<u8> = (0..=255u8).collect();
        let ours: Vec<_> = parse_urlencoded(&raw).collect();
        let theirs: Vec<(String, String)> = form_urlencoded::parse(&raw)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(ours, theirs);
    }
}
