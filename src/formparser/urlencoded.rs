//! A fast `application/x-www-form-urlencoded` body parser with the semantics of
//! [`form_urlencoded::parse`] (and so of [`MultiDict::from_urlencoded`]): pairs split on
//! `&`, empty pairs skipped, a key without `=` has an empty value, `+` is a space, bad
//! escapes are kept literally and invalid UTF-8 is replaced.
//!
//! It allocates exactly one `String` per non-empty key and value and nothing per pair
//! besides. The body is checked for UTF-8 once; when it is valid (as nearly every body
//! is), a key or value without `+` or `%` is copied in one go, and one whose escapes all
//! decode to ASCII is built without validating it again. Only a value with an escaped
//! non-ASCII byte (`%C3%A9`), or a body that is not UTF-8, takes the byte-wise path with
//! its own validation.

use std::ops::Range;

use crate::datastructures::MultiDict;

/// Parses a urlencoded body.
pub(crate) fn parse(body: &[u8]) -> MultiDict {
    let mut pairs = Vec::with_capacity(memchr::memchr_iter(b'&', body).count() + 1);
    match std::str::from_utf8(body) {
        // `&` and `=` are ASCII, so the pieces lie on character boundaries.
        Ok(text) => split(body, |key, value| {
            pairs.push((decode_str(&text[key]), decode_str(&text[value])));
        }),
        Err(_) => split(body, |key, value| {
            pairs.push((decode(&body[key]), decode(&body[value])));
        }),
    }
    pairs.into_iter().collect()
}

/// Calls `f(key_range, value_range)` for each non-empty `&`-separated pair.
fn split(body: &[u8], mut f: impl FnMut(Range<usize>, Range<usize>)) {
    let mut start = 0;
    for end in memchr::memchr_iter(b'&', body).chain(std::iter::once(body.len())) {
        let pair = start..end;
        start = end + 1;
        if pair.is_empty() {
            continue;
        }
        match memchr::memchr(b'=', &body[pair.clone()]) {
            Some(i) => f(pair.start..pair.start + i, pair.start + i + 1..pair.end),
            None => f(pair.clone(), pair.end..pair.end),
        }
    }
}

/// Decodes a piece of a body known to be UTF-8.
fn decode_str(s: &str) -> String {
    let bytes = s.as_bytes();
    // Keys and values are short: a plain loop beats `memchr2`'s set-up here.
    let Some(first) = bytes.iter().position(|&b| b == b'+' || b == b'%') else {
        return s.to_owned();
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..first]);
    let mut run = first;
    let mut i = first;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push_str(&s[run..i]);
                out.push(' ');
                i += 1;
                run = i;
            }
            b'%' if i + 2 < bytes.len() => {
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) if h < 8 => {
                        out.push_str(&s[run..i]);
                        out.push(char::from(h << 4 | l));
                        i += 3;
                        run = i;
                    }
                    // An escaped byte of a multi-byte character: decode bytes, then validate.
                    (Some(_), Some(_)) => return decode(bytes),
                    _ => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    out.push_str(&s[run..]);
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

fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut run = 0;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => {
                out.extend_from_slice(&s[run..i]);
                out.push(b' ');
                i += 1;
                run = i;
            }
            b'%' if i + 2 < s.len() => {
                if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                    out.extend_from_slice(&s[run..i]);
                    out.push(h << 4 | l);
                    i += 3;
                    run = i;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out.extend_from_slice(&s[run..]);
    into_string(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_form_urlencoded() {
        let cases: &[&[u8]] = &[
            b"a=1&b=2&a=3",
            b"&&a&=x&b=&c==d&",
            b"sp+ace=%20x%2",
            b"bad=%zz%4%",
            b"pct=%e2%82%AC&raw=\xe2\x82\xac&broken=%ff\xff",
            b"%",
            b"k%3Dv=1%3d2",
            b"",
        ];
        for case in cases {
            assert_eq!(parse(case), MultiDict::from_urlencoded(case), "{case:?}");
        }
        // Pseudo-random bodies from an alphabet rich in the special bytes.
        let alphabet = b"ab=&+%2f0F\xc3\xa9\xff";
        let mut state = 0x1234_5678u32;
        for _ in 0..2000 {
            let mut body = Vec::new();
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                body.push(alphabet[(state % alphabet.len() as u32) as usize]);
            }
            assert_eq!(parse(&body), MultiDict::from_urlencoded(&body), "{body:?}");
        }
    }

    #[test]
    fn utf8_bodies_take_the_str_path_and_still_match() {
        let cases: &[&str] = &[
            "plain=value&other=thing",
            "k=a+b+c&e=%21%7e%7E%41&n=%00%7f",
            "x=%C3%A9t%C3%A9&y=caf%c3%a9+%E2%82%AC&z=%e2%82",
            "\u{e9}t\u{e9}=\u{20ac}+%41&%zz=%%&end=%2",
            "%80=%ff%fe",
        ];
        for case in cases {
            assert!(std::str::from_utf8(case.as_bytes()).is_ok());
            assert_eq!(
                parse(case.as_bytes()),
                MultiDict::from_urlencoded(case.as_bytes()),
                "{case:?}"
            );
        }
        // Pseudo-random valid UTF-8 bodies built from tokens rich in escapes.
        let tokens = [
            "a", "=", "&", "+", "%", "2", "f", "0", "C", "3", "%41", "%7f", "%80", "%c3%a9", "%C3",
            "\u{e9}", "\u{20ac}", "%2B", "%26", "%3D",
        ];
        let mut state = 0x9e37_79b9u32;
        for _ in 0..3000 {
            let mut body = String::new();
            for _ in 0..(state % 20) {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                body.push_str(tokens[(state % tokens.len() as u32) as usize]);
            }
            let body = body.as_bytes();
            assert_eq!(parse(body), MultiDict::from_urlencoded(body), "{body:?}");
        }
    }
}
