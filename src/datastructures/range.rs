//! [`Range`], [`ByteRange`] and [`ContentRange`]: the `Range` request header and the
//! `Content-Range` response header.
//!
//! Parsing is strict about syntax (a malformed header parses to `None`, which a server
//! ignores, as RFC 9110 §14.2 asks) and careful with numbers: nothing here overflows or
//! panics on hostile input. Serving the range is
//! [`Response::make_conditional`](crate::Response::make_conditional)'s job.

use std::fmt;

/// The most ranges accepted in one `Range` header; more make the header invalid (a client
/// asking for thousands of ranges is an attack, not a download manager).
pub const MAX_RANGES: usize = 100;

/// One range of a `bytes=` range set.
///
/// # Examples
///
/// ```
/// use zeug::datastructures::ByteRange;
///
/// assert_eq!(ByteRange::FromTo(0, 9).resolve(100), Some((0, 10)));
/// assert_eq!(ByteRange::From(95).resolve(100), Some((95, 100)));
/// assert_eq!(ByteRange::Suffix(10).resolve(100), Some((90, 100)));
/// assert_eq!(ByteRange::From(100).resolve(100), None); // unsatisfiable
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `first-last`, both inclusive, as written in the header.
    FromTo(u64, u64),
    /// `first-`: from `first` to the end.
    From(u64),
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The half-open byte interval `(start, stop)` this range covers in a representation of
    /// `length` bytes, clipped to it; `None` when it is unsatisfiable.
    pub fn resolve(self, length: u64) -> Option<(u64, u64)> {
        match self {
            ByteRange::FromTo(first, last) => {
                (first < length).then(|| (first, last.saturating_add(1).min(length)))
            }
            ByteRange::From(first) => (first < length).then_some((first, length)),
            ByteRange::Suffix(n) => (n > 0 && length > 0).then(|| (length - n.min(length), length)),
        }
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ByteRange::FromTo(a, b) => write!(f, "{a}-{b}"),
            ByteRange::From(a) => write!(f, "{a}-"),
            ByteRange::Suffix(n) => write!(f, "-{n}"),
        }
    }
}

/// A parsed `Range` request header: a unit (`bytes`) and one or more ranges.
///
/// # Examples
///
/// ```
/// use zeug::datastructures::{ByteRange, Range};
///
/// let range = Range::parse("bytes=0-499, -100").unwrap();
/// assert_eq!(range.ranges(), [ByteRange::FromTo(0, 499), ByteRange::Suffix(100)]);
/// assert_eq!(range.resolve(1000), vec![(0, 500), (900, 1000)]);
/// assert_eq!(Range::parse("bytes=5-1"), None); // last before first
///
/// let one = Range::parse("bytes=10-").unwrap();
/// assert_eq!(one.range_for_length(100), Some((10, 100)));
/// assert_eq!(one.to_content_range(100).unwrap().to_string(), "bytes 10-99/100");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    unit: String,
    ranges: Vec<ByteRange>,
}

impl Range {
    /// A `bytes` range set.
    pub fn bytes(ranges: Vec<ByteRange>) -> Self {
        Range {
            unit: "bytes".to_owned(),
            ranges,
        }
    }

    /// Parses a `Range` header value; `None` for anything malformed, an empty set, or more
    /// than [`MAX_RANGES`] ranges. Units other than `bytes` parse only as far as the unit
    /// (with no ranges), so a caller can tell "unknown unit" from "malformed".
    pub fn parse(header: &str) -> Option<Self> {
        let (unit, set) = header.trim().split_once('=')?;
        let unit = unit.trim();
        if unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return None;
        }
        if !unit.eq_ignore_ascii_case("bytes") {
            return Some(Range {
                unit: unit.to_ascii_lowercase(),
                ranges: Vec::new(),
            });
        }
        let mut ranges = Vec::new();
        for spec in set.split(',') {
            let spec = spec.trim();
            if spec.is_empty() {
                // RFC 9110 allows empty list elements.
                continue;
            }
            if ranges.len() == MAX_RANGES {
                return None;
            }
            let (first, last) = spec.split_once('-')?;
            let (first, last) = (first.trim(), last.trim());
            let range = match (first.is_empty(), last.is_empty()) {
                (true, true) => return None,
                (true, false) => ByteRange::Suffix(parse_digits(last)?),
                (false, true) => ByteRange::From(parse_digits(first)?),
                (false, false) => {
                    let (a, b) = (parse_digits(first)?, parse_digits(last)?);
                    if b < a {
                        return None;
                    }
                    ByteRange::FromTo(a, b)
                }
            };
            ranges.push(range);
        }
        if ranges.is_empty() {
            return None;
        }
        Some(Range {
            unit: "bytes".to_owned(),
            ranges,
        })
    }

    /// The range unit, lower-cased (`"bytes"`).
    pub fn unit(&self) -> &str {
        &self.unit
    }

    /// Whether the unit is `bytes`, the only one zeug serves.
    pub fn is_bytes(&self) -> bool {
        self.unit == "bytes"
    }

    /// The ranges as written.
    pub fn ranges(&self) -> &[ByteRange] {
        &self.ranges
    }

    /// Every satisfiable range as a half-open `(start, stop)` interval in a representation
    /// of `length` bytes, in header order; unsatisfiable ones are dropped.
    pub fn resolve(&self, length: u64) -> Vec<(u64, u64)> {
        if !self.is_bytes() {
            return Vec::new();
        }
        self.ranges
            .iter()
            .filter_map(|r| r.resolve(length))
            .collect()
    }

    /// The one `(start, stop)` interval to serve, as Werkzeug's `range_for_length`: `Some`
    /// only when the header holds exactly one satisfiable byte range.
    pub fn range_for_length(&self, length: u64) -> Option<(u64, u64)> {
        match (self.is_bytes(), self.ranges.as_slice()) {
            (true, [one]) => one.resolve(length),
            _ => None,
        }
    }

    /// Whether at least one range can be served from `length` bytes.
    pub fn is_satisfiable(&self, length: u64) -> bool {
        self.is_bytes() && self.ranges.iter().any(|r| r.resolve(length).is_some())
    }

    /// The `Content-Range` answering this request for `length` bytes, when
    /// [`range_for_length`](Self::range_for_length) gives one interval.
    pub fn to_content_range(&self, length: u64) -> Option<ContentRange> {
        let (start, stop) = self.range_for_length(length)?;
        Some(ContentRange::new(start, stop, Some(length)))
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}=", self.unit)?;
        for (i, r) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// A `Content-Range` header: the part served and the complete length.
///
/// `range` is a half-open `(start, stop)` interval (Werkzeug's convention); it displays as
/// the inclusive `start-(stop-1)` HTTP uses. An unsatisfied range (`bytes */1000`) has no
/// interval.
///
/// # Examples
///
/// ```
/// use zeug::datastructures::ContentRange;
///
/// let cr = ContentRange::parse("bytes 0-499/1234").unwrap();
/// assert_eq!(cr.range(), Some((0, 500)));
/// assert_eq!(cr.length(), Some(1234));
/// assert_eq!(ContentRange::unsatisfied(1234).to_string(), "bytes */1234");
/// assert_eq!(ContentRange::parse("bytes 5-1/10"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRange {
    unit: String,
    range: Option<(u64, u64)>,
    length: Option<u64>,
}

impl ContentRange {
    /// `bytes start-(stop-1)/length` (`length` `None` prints `*`). `stop` must be greater
    /// than `start`; an empty interval is treated as unsatisfied.
    pub fn new(start: u64, stop: u64, length: Option<u64>) -> Self {
        ContentRange {
            unit: "bytes".to_owned(),
            range: (stop > start).then_some((start, stop)),
            length,
        }
    }

    /// `bytes */length`, sent with `416 Range Not Satisfiable`.
    pub fn unsatisfied(length: u64) -> Self {
        ContentRange {
            unit: "bytes".to_owned(),
            range: None,
            length: Some(length),
        }
    }

    /// Parses a header value; `None` when malformed or inconsistent (a range past the
    /// complete length, `last` before `first`).
    pub fn parse(header: &str) -> Option<Self> {
        let (unit, rest) = header.trim().split_once(' ')?;
        let unit = unit.trim();
        if unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return None;
        }
        let (range, length) = rest.trim().split_once('/')?;
        let length = match length.trim() {
            "*" => None,
            n => Some(parse_digits(n)?),
        };
        let range = match range.trim() {
            "*" => {
                length?;
                None
            }
            r => {
                let (a, b) = r.split_once('-')?;
                let (a, b) = (parse_digits(a.trim())?, parse_digits(b.trim())?);
                if b < a || length.is_some_and(|l| b >= l) {
                    return None;
                }
                Some((a, b.checked_add(1)?))
            }
        };
        Some(ContentRange {
            unit: unit.to_ascii_lowercase(),
            range,
            length,
        })
    }

    /// The unit (`"bytes"`).
    pub fn unit(&self) -> &str {
        &self.unit
    }

    /// The half-open interval served, if any.
    pub fn range(&self) -> Option<(u64, u64)> {
        self.range
    }

    /// The complete length, if known.
    pub fn length(&self) -> Option<u64> {
        self.length
    }
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.unit)?;
        match self.range {
            Some((a, b)) => write!(f, "{a}-{}", b - 1)?,
            None => f.write_str("*")?,
        }
        match self.length {
            Some(l) => write!(f, "/{l}"),
            None => f.write_str("/*"),
        }
    }
}

/// A parsed `If-Range` header: an entity tag or a date.
///
/// # Examples
///
/// ```
/// use zeug::datastructures::IfRange;
/// use zeug::http_utils::parse_if_range_header;
///
/// assert_eq!(parse_if_range_header("W/\"x\""), Some(IfRange::ETag("x".into(), true)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfRange {
    /// An entity tag, unquoted, and whether it was weak (a weak tag never matches).
    ETag(String, bool),
    /// A date; matches only a `Last-Modified` exactly equal to it.
    Date(std::time::SystemTime),
}

/// Parses ASCII digits only (no sign, no `+`), refusing overflow.
fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_several_forms() {
        let r = Range::parse("bytes=0-0,-1, 5- ,").unwrap();
        assert_eq!(
            r.ranges(),
            [
                ByteRange::FromTo(0, 0),
                ByteRange::Suffix(1),
                ByteRange::From(5)
            ]
        );
        assert_eq!(r.to_string(), "bytes=0-0,-1,5-");
        assert_eq!(r.range_for_length(10), None);
        assert_eq!(r.resolve(10), vec![(0, 1), (9, 10), (5, 10)]);
    }

    #[test]
    fn hostile_ranges_are_none_or_unsatisfiable() {
        for h in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=1-2-3",
            "bytes=99999999999999999999-",
            "bytes=--1",
            "bytes=10-5",
            "=0-1",
            "bytes=\u{0}",
        ] {
            assert_eq!(Range::parse(h), None, "{h:?}");
        }
        let many = format!("bytes={}", "0-1,".repeat(MAX_RANGES + 1));
        assert_eq!(Range::parse(&many), None);
        let huge = Range::parse("bytes=0-18446744073709551615").unwrap();
        assert_eq!(huge.range_for_length(10), Some((0, 10)));
        let suffix0 = Range::parse("bytes=-0").unwrap();
        assert!(!suffix0.is_satisfiable(10));
        assert_eq!(ByteRange::Suffix(50).resolve(10), Some((0, 10)));
    }

    #[test]
    fn other_units_are_kept_but_not_served() {
        let r = Range::parse("items=0-5").unwrap();
        assert_eq!(r.unit(), "items");
        assert!(!r.is_bytes());
        assert_eq!(r.range_for_length(10), None);
    }

    #[test]
    fn content_range_round_trips() {
        for h in ["bytes 0-0/1", "bytes 10-19/*", "bytes */5"] {
            assert_eq!(ContentRange::parse(h).unwrap().to_string(), h);
        }
        assert_eq!(ContentRange::parse("bytes 0-10/10"), None);
        assert_eq!(ContentRange::parse("bytes */*"), None);
        assert_eq!(ContentRange::parse("bytes 0-18446744073709551615/*"), None);
    }
}
