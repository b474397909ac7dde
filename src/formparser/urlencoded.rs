//! A fast `application/x-www-form-urlencoded` body parser with the semantics of
//! [`form_urlencoded::parse`] (and so of [`MultiDict::from_urlencoded`]): pairs split on
//! `&`, empty pairs skipped, a key without `=` has an empty value, `+` is a space, bad
//! escapes are kept literally and invalid UTF-8 is replaced. It allocates one `String`
//! per key and value and copies untouched text in one go.

use crate::datastructures::MultiDict;

/// Parses a urlencoded body.
pub(crate) fn parse(body: &[u8]) -> MultiDict {
    let mut pairs = Vec::with_capacity(memchr::memchr_iter(b'&', body).count() + 1);
    let mut start = 0;
    for end in memchr::memchr_iter(b'&', body).chain(std::iter::once(body.len())) {
        let pair = &body[start..end];
        start = end + 1;
        if pair.is_empty() {
            continue;
        }
        let (key, value) = match memchr::memchr(b'=', pair) {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        pairs.push((decode(key), decode(value)));
    }
    pairs.into_iter().collect()
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
}
