//! [`Text`]: the string type of parsed query, form and cookie values.
//!
//! Nearly every value a browser sends is short (`page=2`, `lang=en`, a session id), so
//! [`Text`] keeps up to 24 bytes inline and only longer values on the heap. Parsing a
//! request with fifty short values then costs no allocation per value. It reads as a
//! `str` everywhere ([`Deref`]), compares with `&str` and `String`, and converts into a
//! `String` for free when the value was long enough to be on the heap.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use compact_str::CompactString;

/// An immutable string that stores up to 24 bytes inline: the value type of
/// [`MultiDict`](super::MultiDict) for query arguments, form fields and cookies.
///
/// # Examples
///
/// ```
/// use zeug::datastructures::{MultiDict, Text};
///
/// let args = MultiDict::from_query("tag=rust&tag=web");
/// let tags: Vec<&Text> = args.get_all("tag").collect();
/// assert_eq!(tags, ["rust", "web"]);
/// assert_eq!(tags[0].len(), 4); // every `str` method, through `Deref`
///
/// let owned: String = Text::from("a value").into();
/// assert_eq!(owned, "a value");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(CompactString);

impl Text {
    /// The longest text kept inline: 24 bytes on 64-bit targets.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::datastructures::Text;
    /// assert_eq!(Text::INLINE, std::mem::size_of::<String>());
    /// ```
    pub const INLINE: usize = std::mem::size_of::<CompactString>();

    /// An empty text; no allocation.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(zeug::datastructures::Text::new().is_empty());
    /// ```
    pub const fn new() -> Self {
        Text(CompactString::const_new(""))
    }

    /// The text as a `&str`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zeug::datastructures::Text::from("x").as_str(), "x");
    /// ```
    #[inline]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Converts into a `String`, reusing the heap buffer of a long text.
    ///
    /// # Examples
    ///
    /// ```
    /// let s: String = zeug::datastructures::Text::from("x").into_string();
    /// assert_eq!(s, "x");
    /// ```
    pub fn into_string(self) -> String {
        self.0.into_string()
    }

    /// Whether the text is stored inline (no heap buffer); for tests of allocation-free paths.
    #[cfg(test)]
    pub(crate) fn is_inline(&self) -> bool {
        !self.0.is_heap_allocated()
    }

    /// Wraps a decoded `CompactString` from the crate's parsers.
    pub(crate) fn from_compact(s: CompactString) -> Self {
        Text(s)
    }
}

impl Deref for Text {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<str> for Text {
    #[inline]
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Borrow<str> for Text {
    #[inline]
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0.as_str(), f)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl From<&str> for Text {
    #[inline]
    fn from(s: &str) -> Self {
        Text(CompactString::new(s))
    }
}

impl From<String> for Text {
    /// Keeps a long string's buffer; a short one is moved inline.
    fn from(s: String) -> Self {
        Text(CompactString::from(s))
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text(CompactString::new(s))
    }
}

impl From<std::borrow::Cow<'_, str>> for Text {
    fn from(s: std::borrow::Cow<'_, str>) -> Self {
        match s {
            std::borrow::Cow::Borrowed(s) => Text::from(s),
            std::borrow::Cow::Owned(s) => Text::from(s),
        }
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.into_string()
    }
}

impl From<&Text> for String {
    fn from(t: &Text) -> Self {
        t.as_str().to_owned()
    }
}

impl FromStr for Text {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Text::from(s))
    }
}

impl PartialEq<str> for Text {
    #[inline]
    fn eq(&self, other: &str) -> bool {
        self.0.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    #[inline]
    fn eq(&self, other: &&str) -> bool {
        self.0.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.0.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text::from(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text::from(v))
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_texts_read_alike() {
        let short = Text::from("lang");
        let long = Text::from("x".repeat(100));
        assert_eq!(short, "lang");
        assert_eq!("lang", short);
        assert_eq!(long.len(), 100);
        assert_eq!(long.clone().into_string(), "x".repeat(100));
        assert_eq!(format!("{short} {short:?}"), "lang \"lang\"");
        assert!(short.is_inline() && Text::from("x".repeat(Text::INLINE)).is_inline());
        assert!(!long.is_inline());
    }

    #[test]
    fn serde_round_trip() {
        let t: Text = serde_json::from_str("\"caf\\u00e9\"").unwrap();
        assert_eq!(t, "café");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"café\"");
    }

    #[test]
    fn borrows_as_str_in_maps() {
        let mut m = std::collections::HashMap::new();
        m.insert(Text::from("k"), 1);
        assert_eq!(m.get("k"), Some(&1));
    }
}
