//! [`ETags`]: a parsed `If-Match` / `If-None-Match` header (a list of entity tags, weak or
//! strong, or `*`).
//!
//! Quoting and unquoting single tags is in [`crate::http_utils`]; deciding what a request's
//! conditions mean for a response is [`Response::make_conditional`](crate::Response::make_conditional)'s job.

use std::fmt;

/// The most entity tags kept from one header; further tags are ignored, so a hostile header
/// cannot make matching slow.
pub const MAX_ETAGS: usize = 256;

/// A set of entity tags from an `If-Match` or `If-None-Match` header.
///
/// Tags are stored unquoted; weak tags (`W/"x"`) are kept apart from strong ones. `*`
/// matches any tag. Unparseable items are skipped, never an error.
///
/// # Examples
///
/// ```
/// use zeug::datastructures::ETags;
///
/// let tags = ETags::parse(r#""v1", W/"v2""#);
/// assert!(tags.contains("v1"));          // strong comparison
/// assert!(!tags.contains("v2"));         // weak tags never match strongly
/// assert!(tags.contains_weak("v2"));     // weak comparison (If-None-Match)
/// assert!(ETags::parse("*").contains("anything"));
/// assert_eq!(tags.to_string(), r#""v1", W/"v2""#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ETags {
    strong: Vec<String>,
    weak: Vec<String>,
    star: bool,
}

impl ETags {
    /// An empty set (what a missing header parses to).
    pub fn new() -> Self {
        ETags::default()
    }

    /// The set matching everything (`*`).
    pub fn any() -> Self {
        ETags {
            star: true,
            ..ETags::default()
        }
    }

    /// A set of strong tags (unquoted).
    ///
    /// # Examples
    ///
    /// ```
    /// let tags = zeug::datastructures::ETags::from_strong(["a", "b"]);
    /// assert!(tags.contains("b"));
    /// ```
    pub fn from_strong<I: IntoIterator<Item = S>, S: Into<String>>(tags: I) -> Self {
        ETags {
            strong: tags.into_iter().map(Into::into).collect(),
            ..ETags::default()
        }
    }

    /// Parses a header value as Werkzeug's `parse_etags` does: `*` alone is the any-tag;
    /// otherwise a comma-separated list of quoted tags (`"x"`, `W/"x"`) and — leniently —
    /// bare tokens, taken as strong tags. An item that is neither (`W/ "x"` with a space,
    /// `"a"b`) is skipped up to the next comma. At most [`MAX_ETAGS`] items are read.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::datastructures::ETags;
    /// let tags = ETags::parse(r#""a", W/"b", c, W/ "d", "e"f"#);
    /// assert_eq!(tags.strong(), ["a", "c"]);
    /// assert_eq!(tags.weak(), ["b"]);
    /// assert!(ETags::parse("W/ \"abc\"").is_empty());
    /// ```
    pub fn parse(header: &str) -> Self {
        let header = header.trim();
        if header == "*" {
            return ETags::any();
        }
        let mut out = ETags::default();
        let bytes = header.as_bytes();
        let mut pos = 0;
        let mut count = 0;
        while pos < bytes.len() && count < MAX_ETAGS {
            count += 1;
            match etag_item_at(header, pos) {
                Some((tag, weak, next)) => {
                    if weak {
                        out.weak.push(tag.to_owned());
                    } else {
                        out.strong.push(tag.to_owned());
                    }
                    pos = next;
                }
                None => match memchr::memchr(b',', &bytes[pos..]) {
                    Some(n) => pos += n + 1,
                    None => break,
                },
            }
        }
        out
    }

    /// Whether the set is `*`.
    pub fn is_any(&self) -> bool {
        self.star
    }

    /// Whether the header named no tags at all (a missing or empty header).
    pub fn is_empty(&self) -> bool {
        !self.star && self.strong.is_empty() && self.weak.is_empty()
    }

    /// Whether `etag` (unquoted) is one of the strong tags, ignoring `*`.
    pub fn is_strong(&self, etag: &str) -> bool {
        self.strong.iter().any(|t| t == etag)
    }

    /// Whether `etag` (unquoted) is one of the weak tags, ignoring `*`.
    pub fn is_weak(&self, etag: &str) -> bool {
        self.weak.iter().any(|t| t == etag)
    }

    /// Strong comparison (RFC 9110 §8.8.3.2, used for `If-Match`): `*` or a strong tag equal
    /// to `etag`. Pass the tag unquoted; a weak response tag never matches strongly, so pass
    /// only strong tags here.
    pub fn contains(&self, etag: &str) -> bool {
        self.star || self.is_strong(etag)
    }

    /// Weak comparison (used for `If-None-Match` and `If-Range` dates): `*` or any tag, weak
    /// or strong, equal to `etag`.
    pub fn contains_weak(&self, etag: &str) -> bool {
        self.star || self.is_strong(etag) || self.is_weak(etag)
    }

    /// Checks a quoted tag as it appears in an `ETag` header (`"x"` or `W/"x"`): weak tags
    /// compare weakly, strong ones strongly.
    ///
    /// # Examples
    ///
    /// ```
    /// let tags = zeug::datastructures::ETags::parse(r#"W/"a""#);
    /// assert!(tags.contains_raw(r#"W/"a""#));
    /// assert!(!tags.contains_raw(r#""a""#));
    /// ```
    pub fn contains_raw(&self, etag: &str) -> bool {
        match crate::http_utils::unquote_etag(etag) {
            Some((tag, true)) => self.contains_weak(tag),
            Some((tag, false)) => self.contains(tag),
            None => false,
        }
    }

    /// The strong tags, unquoted.
    pub fn strong(&self) -> &[String] {
        &self.strong
    }

    /// The weak tags, unquoted.
    pub fn weak(&self) -> &[String] {
        &self.weak
    }
}

/// Matches one list item at `pos` as Werkzeug's pattern does
/// (`[ \t]*([Ww]/)?("[^"]*"|[^" \t,]+)[ \t]*(,|$)`): the tag, whether it is weak, and where
/// the next item starts.
fn etag_item_at(header: &str, mut pos: usize) -> Option<(&str, bool, usize)> {
    let bytes = header.as_bytes();
    let n = bytes.len();
    let blank = |b: u8| b == b' ' || b == b'\t';
    while pos < n && blank(bytes[pos]) {
        pos += 1;
    }
    let weak = matches!(bytes.get(pos..pos + 2), Some([b'W' | b'w', b'/']));
    if weak {
        pos += 2;
    }
    let tag = if bytes.get(pos) == Some(&b'"') {
        let end = pos + 1 + memchr::memchr(b'"', &bytes[pos + 1..])?;
        let tag = &header[pos + 1..end];
        pos = end + 1;
        tag
    } else {
        let start = pos;
        while pos < n && !matches!(bytes[pos], b'"' | b' ' | b'\t' | b',') {
            pos += 1;
        }
        if pos == start {
            return None;
        }
        &header[start..pos]
    };
    while pos < n && blank(bytes[pos]) {
        pos += 1;
    }
    match bytes.get(pos) {
        None => Some((tag, weak, n)),
        Some(b',') => Some((tag, weak, pos + 1)),
        Some(_) => None,
    }
}

/// An entity tag that cannot be quoted: it contains `"` or a control character.
///
/// # Examples
///
/// ```
/// let err = zeug::http_utils::quote_etag("a\"b", false).unwrap_err();
/// assert_eq!(err.to_string(), "invalid entity tag \"a\\\"b\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidETag(pub(crate) String);

impl fmt::Display for InvalidETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid entity tag {:?}", self.0)
    }
}

impl std::error::Error for InvalidETag {}

impl fmt::Display for ETags {
    /// Formats as a header value: `*` or the quoted tags, strong first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.star {
            return f.write_str("*");
        }
        let mut first = true;
        for (tag, weak) in self
            .strong
            .iter()
            .map(|t| (t, false))
            .chain(self.weak.iter().map(|t| (t, true)))
        {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            if weak {
                f.write_str("W/")?;
            }
            write!(f, "\"{tag}\"")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_werkzeug() {
        let t = ETags::parse(r#""foo", W/"bar", baz, "*""#);
        assert_eq!(t.strong(), ["foo", "baz", "*"]);
        assert_eq!(t.weak(), ["bar"]);
        assert!(!t.is_any());
        assert!(ETags::parse(" * ").is_any());
        // Werkzeug 3.1.9's `parse_etags`, recorded by running it.
        let t = ETags::parse(r#"W/ "abc""#);
        assert!(t.is_empty(), "{t:?}");
        let t = ETags::parse(r#""a"b, "c""#);
        assert_eq!((t.strong(), t.weak()), (&["c".to_owned()][..], &[][..]));
        let t = ETags::parse(r#""a", W/"b", c"#);
        assert_eq!(t.strong(), ["a", "c"]);
        assert_eq!(t.weak(), ["b"]);
        // `*` inside a list is a strong tag named `*`, as in Werkzeug.
        let t = ETags::parse("a, *");
        assert!(!t.is_any() && t.is_strong("*"));
        // An empty tag is kept as an empty tag (Werkzeug stores `None`).
        let t = ETags::parse(r#"W/"", "x""#);
        assert_eq!(
            (t.strong(), t.weak()),
            (&["x".to_owned()][..], &[String::new()][..])
        );
    }

    #[test]
    fn hostile_input_never_panics() {
        for h in [
            "\"",
            "W/",
            "W/\"",
            ",,,,",
            "\"a\"\"b\"",
            "é\"ü",
            "W/W/W/",
            "\u{0}",
        ] {
            let _ = ETags::parse(h);
        }
        let many = "\"x\",".repeat(10_000);
        assert_eq!(ETags::parse(&many).strong().len(), MAX_ETAGS);
    }

    #[test]
    fn empty_header_is_empty() {
        assert!(ETags::parse("").is_empty());
        assert!(!ETags::parse("").contains("x"));
    }
}
