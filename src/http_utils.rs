//! HTTP value helpers, as Werkzeug's `werkzeug.http`: dates, entity tags, ranges, header
//! parameter lists, cookies and the conditional-request logic ([`evaluate_conditions`],
//! [`is_resource_modified`]).
//!
//! Everything here is a pure function of strings and headers: it owns no request or
//! response. The parsed value types live in [`crate::datastructures`]; the `Request` and
//! `Response` accessors call into this module.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{
    IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use http::{HeaderMap, Method};

pub use crate::datastructures::IfRange;
use crate::datastructures::{ContentRange, ETags, InvalidETag, MultiDict, Range, Text};

/// The longest header value the list parsers here look at; longer values parse as empty.
pub const MAX_HEADER_VALUE_LEN: usize = 64 * 1024;

/// Formats a time as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`). Times before 1970
/// format as the epoch.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_secs(784111777);
/// assert_eq!(zeug::http_utils::http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn http_date(time: SystemTime) -> String {
    httpdate::fmt_http_date(time.max(UNIX_EPOCH))
}

/// Parses an HTTP date in any of the three formats RFC 9110 accepts (IMF-fixdate, RFC 850,
/// asctime); `None` when it does not parse.
///
/// When the strict parse fails, it is as lenient as Werkzeug (which uses Python's
/// `email.utils.parsedate_tz`): the weekday may be missing or wrong, the day and hour may
/// have one digit, seconds may be missing, the zone may be a numeric offset (`+0000`,
/// `-0500`), `UT`/`UTC`/`Z`, a US zone name (`EST`...) or absent (UTC), and two-digit years
/// are 1969–2068. Dates before 1970 give `None`.
///
/// # Examples
///
/// ```
/// use zeug::http_utils::{http_date, parse_date};
/// let t = parse_date("Sunday, 06-Nov-94 08:49:37 GMT").unwrap();
/// assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
/// assert_eq!(parse_date("Sun, 6 Nov 1994 8:49:37 +0000"), Some(t));
/// assert_eq!(parse_date("06 Nov 1994 10:49:37 +0200"), Some(t));
/// assert!(parse_date("yesterday").is_none());
/// ```
pub fn parse_date(value: &str) -> Option<SystemTime> {
    let value = value.trim();
    if value.is_empty() || value.len() > 64 {
        return None;
    }
    httpdate::parse_http_date(value)
        .ok()
        .or_else(|| parse_date_lenient(value))
}

/// The fallback of [`parse_date`], after the rules of `email.utils.parsedate_tz`.
fn parse_date_lenient(value: &str) -> Option<SystemTime> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let month_of = |t: &str| {
        let t = t.to_ascii_lowercase();
        MONTHS
            .iter()
            .position(|m| t.len() >= 3 && t.starts_with(m))
            .map(|i| i as u32 + 1)
    };
    let mut tokens: Vec<&str> = value
        .split([' ', '\t', ','])
        .filter(|t| !t.is_empty())
        .collect();
    // A leading weekday (any, even a wrong one) carries no information.
    if let Some(first) = tokens.first() {
        let lower = first.to_ascii_lowercase();
        if DAYS.iter().any(|d| lower.starts_with(d)) {
            tokens.remove(0);
        }
    }
    // RFC 850 writes the date as `06-Nov-94`.
    if let Some(first) = tokens.first().copied() {
        if first.matches('-').count() == 2 {
            let parts: Vec<&str> = first.split('-').collect();
            tokens.splice(0..1, parts);
        }
    }
    if tokens.len() < 4 {
        return None;
    }
    let (day, month, year, time, zone) = if let Some(m) = month_of(tokens[0]) {
        // asctime: `Nov 6 08:49:37 1994`, or `Nov 6 1994 08:49:37`.
        let (year, time) = if tokens[2].contains(':') {
            (tokens[3], tokens[2])
        } else {
            (tokens[2], tokens[3])
        };
        (tokens[1], m, year, time, tokens.get(4).copied())
    } else {
        let m = month_of(tokens[1])?;
        (tokens[0], m, tokens[2], tokens[3], tokens.get(4).copied())
    };
    if tokens.len() > 5 {
        return None;
    }
    let day: u32 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let mut year: i64 = year.parse().ok()?;
    if year.to_string().len() <= 2 && (0..100).contains(&year) {
        year += if year > 68 { 1900 } else { 2000 };
    }
    let mut hms = time.split(':');
    let hour: i64 = hms.next()?.parse().ok()?;
    let minute: i64 = hms.next()?.parse().ok()?;
    let second: i64 = match hms.next() {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    if hms.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let offset_minutes: i64 = match zone.map(str::to_ascii_uppercase).as_deref() {
        None | Some("GMT" | "UT" | "UTC" | "Z") => 0,
        Some("EST") => -5 * 60,
        Some("EDT") => -4 * 60,
        Some("CST") => -6 * 60,
        Some("CDT") => -5 * 60,
        Some("MST") => -7 * 60,
        Some("MDT") => -6 * 60,
        Some("PST") => -8 * 60,
        Some("PDT") => -7 * 60,
        Some(z) => {
            let (sign, digits) = match z.as_bytes().first()? {
                b'+' => (1, &z[1..]),
                b'-' => (-1, &z[1..]),
                _ => return None,
            };
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: i64 = digits.parse().ok()?;
            sign * ((n / 100) * 60 + n % 100)
        }
    };
    if !(1970..=9999).contains(&year) {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    let ts = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    u64::try_from(ts)
        .ok()
        .map(|ts| UNIX_EPOCH + Duration::from_secs(ts))
}

/// Days since 1970-01-01 of a proleptic Gregorian date; `None` for a day the month lacks.
fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_len = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day > month_len {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Truncates a time to whole seconds, the precision of HTTP dates.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_millis(1500);
/// assert_eq!(zeug::http_utils::truncate_to_seconds(t), UNIX_EPOCH + Duration::from_secs(1));
/// ```
pub fn truncate_to_seconds(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => UNIX_EPOCH,
    }
}

/// Quotes an entity tag for an `ETag` header: `"tag"` or `W/"tag"`. A tag containing `"`
/// (which would end it early) or a control character is refused, as Werkzeug refuses `"`.
///
/// # Examples
///
/// ```
/// use zeug::http_utils::quote_etag;
/// assert_eq!(quote_etag("abc", false).unwrap(), "\"abc\"");
/// assert_eq!(quote_etag("abc", true).unwrap(), "W/\"abc\"");
/// assert!(quote_etag("a\"b", false).is_err());
/// assert!(quote_etag("a\r\nb", false).is_err());
/// ```
pub fn quote_etag(etag: &str, weak: bool) -> Result<String, InvalidETag> {
    if etag.bytes().any(|b| b == b'"' || b.is_ascii_control()) {
        return Err(InvalidETag(etag.to_owned()));
    }
    Ok(if weak {
        format!("W/\"{etag}\"")
    } else {
        format!("\"{etag}\"")
    })
}

/// Splits a quoted entity tag into the tag and whether it is weak. Unquoted tags are
/// accepted as strong (as Werkzeug does); `None` for an empty value or `*`.
///
/// # Examples
///
/// ```
/// use zeug::http_utils::unquote_etag;
/// assert_eq!(unquote_etag("W/\"abc\""), Some(("abc", true)));
/// assert_eq!(unquote_etag("\"abc\""), Some(("abc", false)));
/// assert_eq!(unquote_etag("abc"), Some(("abc", false)));
/// assert_eq!(unquote_etag(""), None);
/// ```
pub fn unquote_etag(value: &str) -> Option<(&str, bool)> {
    let value = value.trim();
    let (weak, rest) = match value
        .strip_prefix("W/")
        .or_else(|| value.strip_prefix("w/"))
    {
        Some(r) => (true, r),
        None => (false, value),
    };
    let tag = match rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(t) => t,
        None => rest,
    };
    if (tag.is_empty() && !rest.starts_with('"')) || tag == "*" {
        return None;
    }
    Some((tag, weak))
}

/// A strong entity tag for `data`: the SHA-1 hex digest, as Werkzeug's `generate_etag`.
///
/// # Examples
///
/// ```
/// assert_eq!(zeug::http_utils::generate_etag(b"hello"), "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
/// ```
pub fn generate_etag(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

/// Parses an `If-Match` / `If-None-Match` value; see [`ETags::parse`].
pub fn parse_etags(value: &str) -> ETags {
    ETags::parse(value)
}

/// Parses a `Range` header; see [`Range::parse`].
pub fn parse_range_header(value: &str) -> Option<Range> {
    Range::parse(value)
}

/// Parses a `Content-Range` header; see [`ContentRange::parse`].
pub fn parse_content_range_header(value: &str) -> Option<ContentRange> {
    ContentRange::parse(value)
}

/// Whether a byte range `start..stop` (half-open, Werkzeug's convention) is valid for a
/// representation of `length` bytes, as Werkzeug's `is_byte_range_valid`: both ends or
/// neither (`bytes */length`), `start < stop`, and `start` inside the length. Unlike
/// Werkzeug, `stop` must not pass the length either (RFC 9110 §14.4: a `Content-Range`
/// whose last position is at or past the complete length is invalid), so `(0, 11, 5)` is
/// refused where Werkzeug accepts it.
///
/// # Examples
///
/// ```
/// use zeug::http_utils::is_byte_range_valid;
/// assert!(is_byte_range_valid(Some(0), Some(10), Some(20)));
/// assert!(is_byte_range_valid(Some(0), Some(10), None));
/// assert!(is_byte_range_valid(None, None, Some(5)));
/// assert!(!is_byte_range_valid(Some(5), Some(5), Some(10)));
/// assert!(!is_byte_range_valid(Some(0), None, Some(10)));
/// assert!(!is_byte_range_valid(Some(0), Some(11), Some(5)));
/// ```
pub fn is_byte_range_valid(start: Option<u64>, stop: Option<u64>, length: Option<u64>) -> bool {
    match (start, stop, length) {
        (None, None, _) => true,
        (Some(start), Some(stop), None) => start < stop,
        (Some(start), Some(stop), Some(length)) => start < stop && stop <= length,
        _ => false,
    }
}

/// Parses an `If-Range` header: an HTTP date or an entity tag.
///
/// # Examples
///
/// ```
/// use zeug::http_utils::{parse_if_range_header, IfRange};
/// assert_eq!(parse_if_range_header("\"v1\""), Some(IfRange::ETag("v1".into(), false)));
/// assert!(matches!(parse_if_range_header("Sun, 06 Nov 1994 08:49:37 GMT"), Some(IfRange::Date(_))));
/// assert_eq!(parse_if_range_header(""), None);
/// ```
pub fn parse_if_range_header(value: &str) -> Option<IfRange> {
    if let Some(date) = parse_date(value) {
        return Some(IfRange::Date(date));
    }
    let (tag, weak) = unquote_etag(value)?;
    Some(IfRange::ETag(tag.to_owned(), weak))
}

/// Splits a comma-separated header list, ignoring commas inside quoted strings; empty
/// items are dropped.
///
/// # Examples
///
/// ```
/// let items: Vec<_> = zeug::http_utils::split_header_list(r#"a, b="x,y", ,c"#).collect();
/// assert_eq!(items, ["a", r#"b="x,y""#, "c"]);
/// ```
pub fn split_header_list(value: &str) -> impl Iterator<Item = &str> {
    let value = if value.len() > MAX_HEADER_VALUE_LEN {
        ""
    } else {
        value
    };
    let mut rest = value;
    std::iter::from_fn(move || {
        loop {
            if rest.is_empty() {
                return None;
            }
            let bytes = rest.as_bytes();
            let mut in_quotes = false;
            let mut escaped = false;
            let mut end = bytes.len();
            for (i, &b) in bytes.iter().enumerate() {
                if escaped {
                    escaped = false;
                } else if in_quotes && b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_quotes = !in_quotes;
                } else if b == b',' && !in_quotes {
                    end = i;
                    break;
                }
            }
            let item = rest[..end].trim();
            rest = if end < rest.len() {
                &rest[end + 1..]
            } else {
                ""
            };
            if !item.is_empty() {
                return Some(item);
            }
        }
    })
}

/// Parses `key=value` parameters separated by commas (as in `WWW-Authenticate`, Digest
/// credentials and `Cache-Control`): keys lower-cased, quoted values unescaped. Items
/// without `=` or with an empty key are skipped.
///
/// # Examples
///
/// ```
/// let p = zeug::http_utils::parse_header_params(r#"Realm="a, b", qop=auth, bad"#);
/// assert_eq!(p, [("realm".to_string(), "a, b".to_string()), ("qop".into(), "auth".into())]);
/// ```
pub fn parse_header_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for item in split_header_list(value) {
        let Some((key, val)) = item.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() {
            continue;
        }
        let val = val.trim();
        match key.strip_suffix('*') {
            // RFC 8187 `title*=UTF-8''%E2%82%AC`, as Werkzeug's `parse_dict_header`.
            Some(base) if !base.is_empty() => out.push((
                base.to_ascii_lowercase(),
                crate::rfc2231::decode_extended(unquote_header_value(val).as_bytes()),
            )),
            _ => out.push((key.to_ascii_lowercase(), unquote_header_value(val))),
        }
    }
    out
}

/// Parses a header made of a value and `;`-separated parameters (`Content-Type`,
/// `Content-Disposition`), as Werkzeug's `parse_options_header`: the value trimmed, the
/// parameter names lower-cased, quoted values unquoted (`\"` and the `%22` browsers send
/// both become `"`), and RFC 2231/8187 parameters decoded — `filename*=UTF-8''%E2%82%AC.txt`
/// comes out as `filename` = `€.txt`, continuations (`filename*0*=...; filename*1=...`)
/// are joined. Only UTF-8 and Latin-1/ASCII charsets are decoded (as in Werkzeug); other
/// values stay percent-encoded. When both `filename` and `filename*` are given, the
/// extended one wins wherever it stands (RFC 6266 §4.3). Items without `=` are skipped;
/// each name appears once, in first-seen order.
///
/// # Examples
///
/// ```
/// use zeug::http_utils::parse_options_header;
/// let (value, params) = parse_options_header(
///     "attachment; filename=\"rates.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt",
/// );
/// assert_eq!(value, "attachment");
/// assert_eq!(params, [("filename".to_owned(), "€ rates.txt".to_owned())]);
/// let (_, params) = parse_options_header("text/html; Charset=\"utf-8\"; x");
/// assert_eq!(params, [("charset".to_owned(), "utf-8".to_owned())]);
/// ```
pub fn parse_options_header(header: &str) -> (String, Vec<(String, String)>) {
    let header = if header.len() > MAX_HEADER_VALUE_LEN {
        ""
    } else {
        header
    };
    let (value, mut rest) = header.split_once(';').unwrap_or((header, ""));
    let mut items: Vec<(&[u8], std::borrow::Cow<'_, [u8]>)> = Vec::new();
    while !rest.is_empty() && items.len() < 64 {
        let (item, after) = split_semicolon_item(rest);
        rest = after;
        let Some((key, val)) = item.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() {
            continue;
        }
        let val = val.trim();
        let val = if key.ends_with('*') {
            // Extended values are tokens; decoded (percent escapes) by `rfc2231`.
            unquote_header_value(val)
        } else {
            unquote_header_value(val).replace("%22", "\"")
        };
        items.push((key.as_bytes(), std::borrow::Cow::Owned(val.into_bytes())));
    }
    let params = crate::rfc2231::Params::new(items);
    let out = params
        .names()
        .into_iter()
        .filter_map(|name| {
            let v = params.resolve(name.as_bytes())?;
            Some((name, v))
        })
        .collect();
    (value.trim().to_owned(), out)
}

/// The text up to the next `;` outside a quoted string, and the rest after it.
fn split_semicolon_item(s: &str) -> (&str, &str) {
    let bytes = s.as_bytes();
    let mut in_quotes = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quotes => i += 1,
            b'"' => in_quotes = !in_quotes,
            b';' if !in_quotes => return (&s[..i], &s[i + 1..]),
            _ => {}
        }
        i += 1;
    }
    (s, "")
}

/// The mimetype of a `Content-Type` value: without parameters, trimmed, lower-cased
/// (`""` when absent). One place for what requests, responses, the test client and
/// middleware all need.
///
/// # Examples
///
/// ```
/// let mut h = http::HeaderMap::new();
/// h.insert("content-type", "Text/HTML ; charset=utf-8".parse().unwrap());
/// assert_eq!(zeug::http_utils::mimetype_of(&h), "text/html");
/// assert_eq!(zeug::http_utils::mimetype_of(&http::HeaderMap::new()), "");
/// ```
pub fn mimetype_of(headers: &HeaderMap) -> String {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// The `Content-Length` header parsed as a number; `None` when absent or invalid.
///
/// # Examples
///
/// ```
/// let mut h = http::HeaderMap::new();
/// h.insert("content-length", " 42".parse().unwrap());
/// assert_eq!(zeug::http_utils::content_length_of(&h), Some(42));
/// ```
pub fn content_length_of(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Removes the quotes and backslash escapes of a quoted-string; other values are returned
/// as they are.
///
/// # Examples
///
/// ```
/// assert_eq!(zeug::http_utils::unquote_header_value(r#""a\"b""#), "a\"b");
/// assert_eq!(zeug::http_utils::unquote_header_value("token"), "token");
/// ```
pub fn unquote_header_value(value: &str) -> String {
    let Some(inner) = value
        .strip_prefix('"')
        .map(|v| v.strip_suffix('"').unwrap_or(v))
    else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Quotes a header parameter value when it is not a plain token.
///
/// # Examples
///
/// ```
/// use zeug::http_utils::quote_header_value;
/// assert_eq!(quote_header_value("auth"), "auth");
/// assert_eq!(quote_header_value("a b\"c"), r#""a b\"c""#);
/// ```
pub fn quote_header_value(value: &str) -> String {
    let is_token = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if is_token {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Whether `b` is an RFC 6265 `cookie-octet`: visible ASCII except `"`, `,`, `;` and `\`
/// (the same set as Werkzeug's unquoted values).
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// Quotes a cookie value for `Set-Cookie` the way Werkzeug's `dump_cookie` does, so a
/// Flask service reading the cookie gets the same text.
///
/// A value made only of RFC 6265 cookie-octets goes as it is, and so does one that is
/// already in RFC 6265's quoted form (`"bar:baz"`; Werkzeug would escape its quotes, but
/// clients keep it verbatim either way). Any other value is put in double quotes with `"`
/// and `\` backslash-escaped and every control byte, `,`, `;` and non-ASCII byte (of its
/// UTF-8) written as a three-digit octal escape `\ooo`, as Python's `http.cookies` does.
/// [`parse_cookie_into`] undoes exactly this.
///
/// # Examples
///
/// ```
/// use zeug::http_utils::quote_cookie_value;
/// assert_eq!(quote_cookie_value("abc:/="), "abc:/=");
/// assert_eq!(quote_cookie_value("\"bar:baz\""), "\"bar:baz\"");
/// assert_eq!(quote_cookie_value("a b;é"), r#""a b\073\303\251""#);
/// ```
pub fn quote_cookie_value(value: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let bytes = value.as_bytes();
    let plain = bytes.iter().all(|&b| is_cookie_octet(b));
    let quoted_form = bytes.len() >= 2
        && bytes[0] == b'"'
        && bytes[bytes.len() - 1] == b'"'
        && bytes[1..bytes.len() - 1]
            .iter()
            .all(|&b| is_cookie_octet(b));
    if plain || quoted_form {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x00..=0x1F | b',' | b';' | 0x7F..=0xFF => {
                out.push('\\');
                out.push(char::from(b'0' + (b >> 6)));
                out.push(char::from(b'0' + ((b >> 3) & 7)));
                out.push(char::from(b'0' + (b & 7)));
            }
            _ => out.push(char::from(b)),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

/// A cookie name for `Set-Cookie`: as it is when it is an RFC 9110 token (what names
/// should be), otherwise every byte outside the token set percent-encoded, so a name can
/// never break the header. Werkzeug writes names verbatim and trusts them to be tokens;
/// neither decodes names when reading them.
///
/// # Examples
///
/// ```
/// use zeug::http_utils::quote_cookie_name;
/// assert_eq!(quote_cookie_name("__Host-session"), "__Host-session");
/// assert_eq!(quote_cookie_name("a b;c"), "a%20b%3Bc");
/// ```
pub fn quote_cookie_name(name: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let is_tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !name.is_empty() && name.bytes().all(is_tchar) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        if is_tchar(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Cow::Owned(out)
}

/// Parses `Cookie` header values into `out`: `name=value` pairs separated by `;`, read
/// exactly as Werkzeug's `parse_cookie` reads them.
///
/// A quoted value (`"a\054b"`) has its quotes removed and its backslash escapes undone
/// (`\ooo` octal bytes, `\c` for any other character), which is what
/// [`quote_cookie_value`] writes; other values are taken as they are. **Names and values
/// are never percent-decoded**: `%5F%5FHost-id` is not the `__Host-id` cookie, so the
/// `__Host-`/`__Secure-` prefixes cannot be forged. A bare `name` is a cookie with an empty
/// value; a pair with an empty name, a space inside an unquoted value or an unterminated
/// quote is skipped up to the next `;`. Never fails.
///
/// # Examples
///
/// ```
/// let mut jar = zeug::datastructures::MultiDict::new();
/// zeug::http_utils::parse_cookie_into("a=1; b=%E2%9C%93; c=\"x\\054y\"; junk; %5F%5FHost-k=v", &mut jar);
/// assert_eq!(jar.get("a"), Some("1"));
/// assert_eq!(jar.get("b"), Some("%E2%9C%93"));
/// assert_eq!(jar.get("c"), Some("x,y"));
/// assert_eq!(jar.get("junk"), Some(""));
/// assert_eq!(jar.get("__Host-k"), None);
/// assert_eq!(jar.get("%5F%5FHost-k"), Some("v"));
/// assert_eq!(jar.len(), 5);
/// ```
pub fn parse_cookie_into(header: &str, out: &mut MultiDict) {
    let bytes = header.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        match cookie_pair_at(bytes, pos) {
            Some((name, value, next)) => {
                out.add_key(header[name].into(), cookie_value(&bytes[value]));
                pos = next;
            }
            // Skip invalid text up to the next `;`.
            None => match memchr::memchr(b';', &bytes[pos..]) {
                Some(n) => pos += n + 1,
                None => break,
            },
        }
    }
}

/// Matches one `name[=value]` pair at `pos` as Werkzeug's cookie pattern does: the name
/// and value ranges and where the next pair starts; `None` when the text there is not a
/// pair.
fn cookie_pair_at(
    bytes: &[u8],
    mut pos: usize,
) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>, usize)> {
    let n = bytes.len();
    let blank = |b: u8| b == b' ' || b == b'\t';
    while pos < n && blank(bytes[pos]) {
        pos += 1;
    }
    let name_start = pos;
    while pos < n && !matches!(bytes[pos], b' ' | b'\t' | b'=' | b'"' | b';') {
        pos += 1;
    }
    if pos == name_start {
        return None;
    }
    let name = name_start..pos;
    let mut value = pos..pos;
    // An optional `=value`, with blanks allowed around `=`.
    let mut p = pos;
    while p < n && blank(bytes[p]) {
        p += 1;
    }
    if p < n && bytes[p] == b'=' {
        p += 1;
        while p < n && blank(bytes[p]) {
            p += 1;
        }
        let start = p;
        if p < n && bytes[p] == b'"' {
            p += 1;
            loop {
                match bytes.get(p) {
                    None => return None,
                    Some(b'"') => break,
                    Some(b'\\') if p + 1 < n && bytes[p + 1] != b'\n' => p += 2,
                    Some(b'\\') => return None,
                    Some(_) => p += 1,
                }
            }
            p += 1;
        } else {
            while p < n && !matches!(bytes[p], b' ' | b'\t' | b'"' | b';') {
                p += 1;
            }
        }
        value = start..p;
        pos = p;
    }
    while pos < n && blank(bytes[pos]) {
        pos += 1;
    }
    match bytes.get(pos) {
        None => Some((name, value, n)),
        Some(b';') => Some((name, value, pos + 1)),
        Some(_) => None,
    }
}

/// A raw cookie value as a view reads it: a quoted value unquoted and unescaped (bytes that
/// are not UTF-8 replaced), anything else as it is.
fn cookie_value(raw: &[u8]) -> Text {
    match raw {
        [b'"', quoted @ .., b'"'] => Text::from(unescape_cookie(quoted)),
        other => Text::from(String::from_utf8_lossy(other).as_ref()),
    }
}

/// Decodes one raw cookie value as [`parse_cookie_into`] does (for the test client's jar).
pub(crate) fn decode_cookie_value(raw: &[u8]) -> String {
    cookie_value(raw).into_string()
}

/// Undoes [`quote_cookie_value`]'s escapes: `\ooo` (first digit 0-3) is a byte, `\c` is `c`.
fn unescape_cookie(quoted: &[u8]) -> String {
    let mut out = Vec::with_capacity(quoted.len());
    let mut i = 0;
    while i < quoted.len() {
        if quoted[i] == b'\\' && i + 1 < quoted.len() {
            let oct = &quoted[i + 1..(i + 4).min(quoted.len())];
            if oct.len() == 3
                && (b'0'..=b'3').contains(&oct[0])
                && oct[1..].iter().all(|b| (b'0'..=b'7').contains(b))
            {
                out.push(((oct[0] - b'0') << 6) | ((oct[1] - b'0') << 3) | (oct[2] - b'0'));
                i += 4;
            } else {
                out.push(quoted[i + 1]);
                i += 2;
            }
        } else {
            out.push(quoted[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a request's conditional headers decide for a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Serve the response as it is (with its range, if [`if_range_holds`] allows one).
    Proceed,
    /// `304 Not Modified`: the client's copy is current (GET and HEAD only).
    NotModified,
    /// `412 Precondition Failed`: `If-Match` or `If-Unmodified-Since` did not hold.
    PreconditionFailed,
}

/// Evaluates `If-Match`, `If-Unmodified-Since`, `If-None-Match` and `If-Modified-Since` in
/// the order RFC 9110 §13.2.2 gives, for a resource whose current entity tag (as sent in
/// `ETag`, quoted) and modification time are given.
///
/// Strong comparison for `If-Match`, weak for `If-None-Match`; `If-Unmodified-Since` is
/// ignored when `If-Match` is present and `If-Modified-Since` when `If-None-Match` is, or
/// when the method is not GET or HEAD. A failing `If-None-Match` on other methods is a 412.
///
/// # Examples
///
/// ```
/// use zeug::http_utils::{evaluate_conditions, Condition};
/// let mut headers = http::HeaderMap::new();
/// headers.insert("if-none-match", "W/\"v1\"".parse().unwrap());
/// assert_eq!(evaluate_conditions(&http::Method::GET, &headers, Some("\"v1\""), None), Condition::NotModified);
/// headers.insert("if-match", "\"v2\"".parse().unwrap());
/// assert_eq!(evaluate_conditions(&http::Method::GET, &headers, Some("\"v1\""), None), Condition::PreconditionFailed);
/// ```
pub fn evaluate_conditions(
    method: &Method,
    headers: &HeaderMap,
    etag: Option<&str>,
    last_modified: Option<SystemTime>,
) -> Condition {
    let etag = etag.and_then(unquote_etag);
    let last_modified = last_modified.map(truncate_to_seconds);
    let header = |name| joined_header(headers, name);

    // Step 1 and 2: If-Match, else If-Unmodified-Since.
    if let Some(if_match) = header(IF_MATCH) {
        let tags = ETags::parse(&if_match);
        let ok = if tags.is_any() {
            true
        } else {
            matches!(etag, Some((tag, false)) if tags.is_strong(tag))
        };
        if !ok {
            return Condition::PreconditionFailed;
        }
    } else if let (Some(since), Some(lm)) = (
        headers
            .get(IF_UNMODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_date),
        last_modified,
    ) {
        if lm > since {
            return Condition::PreconditionFailed;
        }
    }

    let safe = *method == Method::GET || *method == Method::HEAD;
    // Step 3 and 4: If-None-Match, else If-Modified-Since.
    if let Some(if_none_match) = header(IF_NONE_MATCH) {
        let tags = ETags::parse(&if_none_match);
        let matched = tags.is_any() || etag.is_some_and(|(tag, _)| tags.contains_weak(tag));
        if matched {
            return if safe {
                Condition::NotModified
            } else {
                Condition::PreconditionFailed
            };
        }
    } else if safe {
        if let (Some(since), Some(lm)) = (
            headers
                .get(IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_date),
            last_modified,
        ) {
            if lm <= since {
                return Condition::NotModified;
            }
        }
    }
    Condition::Proceed
}

/// Whether the `Range` header should be honoured given `If-Range` (RFC 9110 §13.1.5): true
/// without `If-Range`; with an entity tag, only when it strongly matches `etag`; with a date,
/// only when it equals `last_modified` exactly.
///
/// # Examples
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("if-range", "\"v1\"".parse().unwrap());
/// assert!(zeug::http_utils::if_range_holds(&headers, Some("\"v1\""), None));
/// assert!(!zeug::http_utils::if_range_holds(&headers, Some("W/\"v1\""), None));
/// ```
pub fn if_range_holds(
    headers: &HeaderMap,
    etag: Option<&str>,
    last_modified: Option<SystemTime>,
) -> bool {
    let Some(value) = headers.get(IF_RANGE) else {
        return true;
    };
    let Some(if_range) = value.to_str().ok().and_then(parse_if_range_header) else {
        return false;
    };
    match if_range {
        IfRange::ETag(tag, false) => {
            matches!(etag.and_then(unquote_etag), Some((current, false)) if current == tag)
        }
        IfRange::ETag(_, true) => false,
        IfRange::Date(date) => last_modified.map(truncate_to_seconds) == Some(date),
    }
}

/// Werkzeug's `is_resource_modified`: whether a GET for a resource with this `etag`
/// (quoted, as in the `ETag` header) and `last_modified` must be answered in full, i.e. the
/// client's `If-None-Match` / `If-Modified-Since` do not show its copy is current. With
/// `ignore_if_range` false and a `Range` present, a failing `If-Range` also counts as
/// modified.
///
/// # Examples
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("if-none-match", "\"abc\"".parse().unwrap());
/// assert!(!zeug::http_utils::is_resource_modified(&headers, Some("\"abc\""), None, true));
/// assert!(zeug::http_utils::is_resource_modified(&headers, Some("\"xyz\""), None, true));
/// ```
pub fn is_resource_modified(
    headers: &HeaderMap,
    etag: Option<&str>,
    last_modified: Option<SystemTime>,
    ignore_if_range: bool,
) -> bool {
    if !ignore_if_range && headers.contains_key(RANGE) && headers.contains_key(IF_RANGE) {
        return !if_range_holds(headers, etag, last_modified);
    }
    evaluate_conditions(&Method::GET, headers, etag, last_modified) == Condition::Proceed
}

/// All values of a header joined with `", "` (lists may be split over several lines);
/// `None` when absent. Values that are not visible ASCII are skipped.
pub(crate) fn joined_header(headers: &HeaderMap, name: http::header::HeaderName) -> Option<String> {
    let mut values = headers.get_all(name).iter().filter_map(|v| v.to_str().ok());
    let first = values.next()?;
    let mut out = first.to_owned();
    for v in values {
        out.push_str(", ");
        out.push_str(v);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn conditions_follow_rfc_order() {
        let t = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let date = http_date(t);
        let earlier = http_date(t - Duration::from_secs(10));
        let get = Method::GET;
        let tag = Some("\"v1\"");
        // If-None-Match wins over If-Modified-Since.
        let h = headers(&[("if-none-match", "\"v2\""), ("if-modified-since", &date)]);
        assert_eq!(
            evaluate_conditions(&get, &h, tag, Some(t)),
            Condition::Proceed
        );
        let h = headers(&[("if-modified-since", &date)]);
        assert_eq!(
            evaluate_conditions(&get, &h, tag, Some(t)),
            Condition::NotModified
        );
        let h = headers(&[("if-modified-since", &earlier)]);
        assert_eq!(
            evaluate_conditions(&get, &h, tag, Some(t)),
            Condition::Proceed
        );
        let h = headers(&[("if-unmodified-since", &earlier)]);
        assert_eq!(
            evaluate_conditions(&get, &h, tag, Some(t)),
            Condition::PreconditionFailed
        );
        let h = headers(&[("if-match", "*")]);
        assert_eq!(
            evaluate_conditions(&get, &h, tag, Some(t)),
            Condition::Proceed
        );
        let h = headers(&[("if-match", "W/\"v1\"")]);
        assert_eq!(
            evaluate_conditions(&get, &h, Some("W/\"v1\""), None),
            Condition::PreconditionFailed
        );
        let h = headers(&[("if-none-match", "*")]);
        assert_eq!(
            evaluate_conditions(&Method::PUT, &h, tag, None),
            Condition::PreconditionFailed
        );
        // Several header lines form one list.
        let h = headers(&[("if-none-match", "\"a\""), ("if-none-match", "\"v1\"")]);
        assert_eq!(
            evaluate_conditions(&get, &h, tag, None),
            Condition::NotModified
        );
        // Bad dates are ignored.
        let h = headers(&[("if-modified-since", "garbage")]);
        assert_eq!(
            evaluate_conditions(&get, &h, tag, Some(t)),
            Condition::Proceed
        );
    }

    #[test]
    fn if_range_dates_must_match_exactly() {
        let t = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let h = headers(&[("if-range", &http_date(t))]);
        assert!(if_range_holds(
            &h,
            None,
            Some(t + Duration::from_millis(300))
        ));
        assert!(!if_range_holds(&h, None, Some(t + Duration::from_secs(1))));
        let h = headers(&[("if-range", "garbage\"")]);
        assert!(!if_range_holds(&h, Some("\"x\""), None));
    }

    /// Werkzeug 3.1.9's `parse_cookie`, recorded by running it
    /// (`scripts/werkzeug_parity.py`).
    #[test]
    fn cookies_are_read_as_werkzeug_reads_them() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("a=1; b=2", &[("a", "1"), ("b", "2")]),
            ("b=\"x y\"", &[("b", "x y")]),
            (r#"c="a\054b\"q\\""#, &[("c", "a,b\"q\\")]),
            (
                "%5F%5FHost-session=attacker",
                &[("%5F%5FHost-session", "attacker")],
            ),
            ("theme=dark%3B%20bold", &[("theme", "dark%3B%20bold")]),
            ("junk; a=1", &[("junk", ""), ("a", "1")]),
            ("=x; a=1", &[("a", "1")]),
            ("a=b c; d=e", &[("d", "e")]),
            (r#"q="\303\251""#, &[("q", "é")]),
            ("f=\"bar:baz\"", &[("f", "bar:baz")]),
            ("a=1;a=2", &[("a", "1"), ("a", "2")]),
            (" sp = x ", &[("sp", "x")]),
            ("u=\"unterminated; v=1", &[("v", "1")]),
        ];
        for (header, werkzeug) in cases {
            let mut jar = MultiDict::new();
            parse_cookie_into(header, &mut jar);
            let ours: Vec<(String, String)> =
                jar.into_iter().map(|(k, v)| (k, v.into_string())).collect();
            let theirs: Vec<(String, String)> = werkzeug
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(ours, theirs, "{header:?}");
        }
    }

    #[test]
    fn quoting_round_trips_every_byte() {
        let all: String = (0u32..0x250).filter_map(char::from_u32).collect();
        for value in [
            all.as_str(),
            "\"",
            "\"\"",
            "\"a",
            "a\"",
            "\\",
            "\\\\\"",
            "\\400",
        ] {
            let quoted = quote_cookie_value(value);
            assert!(
                quoted
                    .bytes()
                    .all(|b| (0x21..0x7f).contains(&b) || b == b' ')
            );
            let mut jar = MultiDict::new();
            parse_cookie_into(&format!("k={quoted}"), &mut jar);
            let expected = match value.as_bytes() {
                // The RFC 6265 quoted form is sent as is, and read without its quotes.
                [b'"', .., b'"'] if value.len() >= 2 && quoted == value => {
                    &value[1..value.len() - 1]
                }
                _ => value,
            };
            assert_eq!(jar.get("k"), Some(expected), "{value:?} as {quoted}");
        }
    }

    /// Werkzeug 3.1.9's `is_byte_range_valid`, recorded by running it; the one row where
    /// zeug answers differently is marked.
    #[test]
    fn byte_ranges_validated_as_werkzeug() {
        for (args, werkzeug, zeug) in [
            ((Some(0), Some(10), Some(20)), true, true),
            ((Some(0), Some(10), None), true, true),
            ((None, None, Some(5)), true, true),
            ((None, None, None), true, true),
            ((Some(5), Some(5), Some(10)), false, false),
            ((Some(10), Some(20), Some(10)), false, false),
            ((Some(0), None, Some(10)), false, false),
            ((Some(19), Some(20), Some(20)), true, true),
            // RFC 9110 §14.4: the range may not pass the complete length.
            ((Some(0), Some(11), Some(5)), true, false),
        ] {
            let _ = werkzeug;
            assert_eq!(
                is_byte_range_valid(args.0, args.1, args.2),
                zeug,
                "{args:?}"
            );
        }
    }

    /// Werkzeug 3.1.9's `parse_options_header` and `parse_dict_header`, recorded by
    /// running it.
    #[test]
    fn header_parameters_as_werkzeug() {
        let own = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        for (header, value, werkzeug) in [
            (
                "attachment; filename*=UTF-8''%E2%82%AC%20rates.txt",
                "attachment",
                &[("filename", "€ rates.txt")][..],
            ),
            (
                "attachment; filename=\"a.txt\"; filename*=UTF-8''%E2%82%AC.txt",
                "attachment",
                &[("filename", "€.txt")],
            ),
            (
                "attachment; filename*=iso-8859-1'en'%A3%20rates",
                "attachment",
                &[("filename", "£ rates")],
            ),
            (
                "attachment; filename*0*=UTF-8''%E2%82%AC; filename*1=%20a.txt",
                "attachment",
                &[("filename", "€%20a.txt")],
            ),
            (
                "attachment; filename*=koi8-r''%C1",
                "attachment",
                &[("filename", "%C1")],
            ),
            (
                "text/html; charset=\"utf-8\"; a=b",
                "text/html",
                &[("charset", "utf-8"), ("a", "b")],
            ),
            (
                "form-data; name=\"a%22b\"",
                "form-data",
                &[("name", "a\"b")],
            ),
            (
                "attachment; filename*0=\"a b\"; filename*1=\" c\"",
                "attachment",
                &[("filename", "a b c")],
            ),
            ("attachment; FileName=x", "attachment", &[("filename", "x")]),
            ("text/plain; x", "text/plain", &[]),
        ] {
            assert_eq!(
                parse_options_header(header),
                (value.to_owned(), own(werkzeug)),
                "{header}"
            );
        }
        // RFC 6266 §4.3: the extended form wins wherever it stands (Werkzeug: the last).
        let (_, p) =
            parse_options_header("attachment; filename*=UTF-8''%E2%82%AC.txt; filename=\"a.txt\"");
        assert_eq!(p, own(&[("filename", "€.txt")]));
        assert_eq!(
            parse_header_params("title*=UTF-8''%E2%82%AC, realm=\"x\\\"y\""),
            own(&[("title", "€"), ("realm", "x\"y")])
        );
    }

    #[test]
    fn hostile_parameters_and_cookies_never_panic() {
        let tokens = [
            "é", "\"", "\\", ";", "=", "*", "*0*", "'", "%", "%E2", " ", "\t", "a", "W/", ",",
        ];
        let mut state = 0x9e37_79b9u32;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                text.push_str(tokens[(state % tokens.len() as u32) as usize]);
            }
            let _ = parse_options_header(&text);
            let _ = parse_header_params(&text);
            let _ = ETags::parse(&text);
            let mut jar = MultiDict::new();
            parse_cookie_into(&text, &mut jar);
            let quoted = quote_cookie_value(&text);
            let mut back = MultiDict::new();
            parse_cookie_into(&format!("k={quoted}"), &mut back);
            assert!(back.get("k").is_some(), "{text:?} as {quoted}");
        }
    }

    #[test]
    fn header_lists_tolerate_garbage() {
        assert_eq!(split_header_list("\"unterminated, x").count(), 1);
        assert!(parse_header_params("=,=,\"").is_empty());
        assert_eq!(unquote_header_value("\"\\"), "");
        assert_eq!(unquote_etag("W/"), None);
    }

    #[test]
    fn lenient_dates_like_werkzeug() {
        let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
        for ok in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 +0000",
            "06 Nov 1994 08:49:37 GMT",
            "Sun, 6 Nov 1994 8:49:37 GMT",
            "Mon, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 10:49:37 +0200",
            "Sun, 06 Nov 1994 03:49:37 EST",
            "Sun, 06 Nov 1994 08:49:37 UT",
            "sun, 06 nov 1994 08:49:37 gmt",
        ] {
            assert_eq!(parse_date(ok), Some(t), "{ok}");
        }
        assert_eq!(
            parse_date("Sun, 06 Nov 1994 08:49 GMT"),
            Some(t - Duration::from_secs(37))
        );
        for bad in [
            "06 Nov 1994",
            "garbage",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 +02",
            "Sun, 06 Nov 1960 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "1 1 1 1 1 1 1 1",
            "Nov 99999999999999999999 1994 1:1:1",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(days_from_civil(2000, 3, 1), Some(11_017));
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
    }
}
