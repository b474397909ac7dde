//! RFC 2231 / RFC 8187 (formerly 5987) header parameter values: `key*=UTF-8''%E2%82%AC.txt`
//! (a charset, a language and percent-encoded bytes) and continuations
//! (`key*0*=...; key*1=...`), plus the charset labels zeug decodes.
//!
//! A leaf module: it splits no headers itself. The multipart parser
//! (`formparser::content_disposition`) and the public parameter parsers in
//! [`crate::http_utils`] hand it `(key, value)` pairs they have already split and unquoted.

use std::borrow::Cow;

/// The most continuation segments (`key*0`, `key*1`, ...) joined for one parameter.
pub(crate) const MAX_CONTINUATIONS: usize = 64;

/// A charset label a parameter or form part may declare, reduced to the two zeug decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    Utf8,
    Latin1,
}

impl Charset {
    /// `utf-8` and the Latin-1 family (`iso-8859-1`, `latin1`, `us-ascii`); `None` for
    /// others.
    pub(crate) fn from_label(label: &str) -> Option<Charset> {
        let l = label.trim().trim_matches('"').to_ascii_lowercase();
        match l.as_str() {
            "utf-8" | "utf8" => Some(Charset::Utf8),
            "iso-8859-1" | "iso8859-1" | "latin1" | "latin-1" | "l1" | "us-ascii" | "ascii" => {
                Some(Charset::Latin1)
            }
            _ => None,
        }
    }

    /// Decodes bytes: UTF-8 with invalid sequences replaced, or Latin-1 byte for byte.
    pub(crate) fn decode(self, bytes: Vec<u8>) -> String {
        match self {
            Charset::Utf8 => match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            },
            Charset::Latin1 => bytes.iter().map(|&b| b as char).collect(),
        }
    }
}

/// Raw header bytes as text: UTF-8 when valid (what browsers send), else Latin-1.
pub(crate) fn header_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| b as char).collect()),
    }
}

/// What the `charset'language'` prefix of an extended value says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    /// No prefix (`%E2%82%AC`, or a continuation segment after the first).
    Absent,
    /// A charset zeug decodes.
    Known(Charset),
    /// A charset zeug does not decode (`koi8-r`): the value is left as sent, as Werkzeug
    /// leaves it.
    Unknown,
}

/// Splits `charset'lang'rest`; a value without the two quotes is all `rest`. An empty
/// charset (`''%E2%82%AC`) counts as UTF-8, what every client that sends one means.
fn split_extended(value: &[u8]) -> (Prefix, &[u8]) {
    let Some(q1) = memchr::memchr(b'\'', value) else {
        return (Prefix::Absent, value);
    };
    let Some(q2) = memchr::memchr(b'\'', &value[q1 + 1..]) else {
        return (Prefix::Absent, value);
    };
    let label = String::from_utf8_lossy(&value[..q1]);
    let prefix = if label.trim().is_empty() {
        Prefix::Known(Charset::Utf8)
    } else {
        Charset::from_label(&label).map_or(Prefix::Unknown, Prefix::Known)
    };
    (prefix, &value[q1 + 1 + q2 + 1..])
}

/// Decodes one extended value (`UTF-8''%E2%82%AC.txt` → `€.txt`). Without a charset the
/// percent escapes are read as UTF-8; with a charset zeug does not know, the value after
/// the prefix is returned still percent-encoded (as Werkzeug returns it).
///
/// # Examples
///
/// ```ignore
/// assert_eq!(decode_extended(b"UTF-8''%E2%82%AC%20rates.txt"), "€ rates.txt");
/// ```
pub(crate) fn decode_extended(value: &[u8]) -> String {
    let (prefix, rest) = split_extended(value);
    let charset = match prefix {
        Prefix::Known(cs) => cs,
        Prefix::Absent => Charset::Utf8,
        Prefix::Unknown => return header_text(rest).into_owned(),
    };
    let bytes: Vec<u8> = percent_encoding::percent_decode(rest).collect();
    charset.decode(bytes)
}

/// Parameters already split and unquoted: `(key, value)` in header order, keys as sent
/// (`name`, `filename*`, `filename*0*`, ...).
pub(crate) struct Params<'a> {
    items: Vec<(&'a [u8], Cow<'a, [u8]>)>,
    /// Whether any key is RFC 2231-style (`key*`, `key*0`, ...).
    extended: bool,
}

impl<'a> Params<'a> {
    /// Collects the pairs.
    pub(crate) fn new(items: Vec<(&'a [u8], Cow<'a, [u8]>)>) -> Self {
        let extended = items.iter().any(|(k, _)| k.contains(&b'*'));
        Params { items, extended }
    }

    /// The parameter names, lower-cased and without RFC 2231 markers, in first-seen order
    /// and each once.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (k, _) in &self.items {
            let base = match memchr::memchr(b'*', k) {
                Some(star) => &k[..star],
                None => k,
            };
            let base = String::from_utf8_lossy(base).to_ascii_lowercase();
            if !base.is_empty() && !out.contains(&base) {
                out.push(base);
            }
        }
        out
    }

    /// The value of `key` followed by `suffix` (`""`, `*`, `*0`, `*0*`, ...); the key is
    /// compared ASCII case-insensitively, the first occurrence wins.
    fn get(&self, key: &[u8], suffix: &str) -> Option<&[u8]> {
        self.items
            .iter()
            .find(|(k, _)| {
                k.len() == key.len() + suffix.len()
                    && k[..key.len()].eq_ignore_ascii_case(key)
                    && &k[key.len()..] == suffix.as_bytes()
            })
            .map(|(_, v)| v.as_ref())
    }

    /// The decoded value of parameter `key`: `key*` (extended) when present, else the
    /// `key*0`.. continuations, else plain `key` (RFC 8187 §4.2 and RFC 6266 §4.3: the
    /// extended form wins wherever it stands).
    pub(crate) fn resolve(&self, key: &[u8]) -> Option<String> {
        if self.extended {
            if let Some(ext) = self.get(key, "*") {
                return Some(decode_extended(ext));
            }
            if self.get(key, "*0").is_some() || self.get(key, "*0*").is_some() {
                return Some(self.join_continuations(key));
            }
        }
        self.get(key, "").map(|v| header_text(v).into_owned())
    }

    fn join_continuations(&self, key: &[u8]) -> String {
        let mut prefix = Prefix::Absent;
        let mut bytes = Vec::new();
        for n in 0..MAX_CONTINUATIONS {
            if let Some(seg) = self.get(key, &format!("*{n}*")) {
                let seg = if n == 0 {
                    let (p, rest) = split_extended(seg);
                    prefix = p;
                    rest
                } else {
                    seg
                };
                if prefix == Prefix::Unknown {
                    bytes.extend_from_slice(seg);
                } else {
                    bytes.extend(percent_encoding::percent_decode(seg));
                }
            } else if let Some(seg) = self.get(key, &format!("*{n}")) {
                bytes.extend_from_slice(seg);
            } else {
                break;
            }
        }
        match prefix {
            Prefix::Known(cs) => cs.decode(bytes),
            Prefix::Absent | Prefix::Unknown => header_text(&bytes).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(pairs: &[(&'a str, &'a str)]) -> Params<'a> {
        Params::new(
            pairs
                .iter()
                .map(|(k, v)| (k.as_bytes(), Cow::Borrowed(v.as_bytes())))
                .collect(),
        )
    }

    #[test]
    fn extended_values_and_continuations() {
        assert_eq!(
            decode_extended(b"UTF-8''%E2%82%AC%20rates.txt"),
            "€ rates.txt"
        );
        assert_eq!(decode_extended(b"iso-8859-1'en'%A3%20rates"), "£ rates");
        assert_eq!(decode_extended(b"''%E2%82%AC"), "€");
        assert_eq!(decode_extended(b"%E2%82%AC"), "€");
        // A charset zeug does not decode: left encoded, as Werkzeug leaves it.
        assert_eq!(decode_extended(b"koi8-r''%C1"), "%C1");
        let p = params(&[("filename", "a.txt"), ("filename*", "UTF-8''%E2%82%AC.txt")]);
        assert_eq!(p.resolve(b"filename").as_deref(), Some("€.txt"));
        let p = params(&[
            ("filename*0*", "UTF-8''%E2%82%AC"),
            ("filename*1", "%20a.txt"),
        ]);
        assert_eq!(p.resolve(b"filename").as_deref(), Some("€%20a.txt"));
        assert_eq!(p.names(), ["filename"]);
        let many: Vec<(String, String)> =
            (0..200).map(|n| (format!("k*{n}"), "x".into())).collect();
        let p = Params::new(
            many.iter()
                .map(|(k, v)| (k.as_bytes(), Cow::Borrowed(v.as_bytes())))
                .collect(),
        );
        assert_eq!(p.resolve(b"k").unwrap().len(), MAX_CONTINUATIONS);
    }
}
