//! `application/x-www-form-urlencoded` bodies: the same parser as query strings
//! ([`MultiDict::from_urlencoded`]): pairs split on `&`, empty pairs skipped, a key without
//! `=` has an empty value, `+` is a space, bad escapes are kept literally and invalid UTF-8
//! is replaced. Keys and values of up to 24 bytes are decoded inline, so a form of short
//! fields allocates only its list of pairs.

use crate::datastructures::MultiDict;

/// Parses a urlencoded body.
pub(crate) fn parse(body: &[u8]) -> MultiDict {
    MultiDict::from_urlencoded(body)
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
            let theirs: Vec<(String, String)> = form_urlencoded::parse(case)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let ours: Vec<(String, String)> = parse(case)
                .into_iter()
                .map(|(k, v)| (k, v.into_string()))
                .collect();
            assert_eq!(ours, theirs, "{case:?}");
        }
    }
}
