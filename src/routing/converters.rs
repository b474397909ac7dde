//! Converters: the [`Converter`] trait and the built-in `string`/`default`, `int`, `float`,
//! `path`, `uuid` and `any`, with Werkzeug's arguments and weights. A converter decides what
//! text a variable accepts, what typed [`Value`] it becomes and how a value is written back
//! into a URL. Where in a rule a converter sits, and percent-encoding, are the map's business.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

#[cfg(feature = "uuid")]
use uuid::Uuid;

use super::parser::{ArgValue, ConverterArgs};
use super::values::Value;

/// Turns a variable's text into a typed [`Value`] and back. Implement it for custom
/// converters and register them with [`MapBuilder::converter`](super::MapBuilder::converter).
///
/// Matching works in two steps, like Werkzeug's regex-then-`to_python`: [`matches`] chooses
/// the rule (the converter's pattern; a rule whose pattern fails lets the next rule try),
/// then [`to_value`] converts. A `None` from `to_value` is Werkzeug's `ValidationError`:
/// the URL is not found, and no other rule is tried.
///
/// [`matches`]: Converter::matches
/// [`to_value`]: Converter::to_value
///
/// # Examples
///
/// ```
/// use zeug::routing::{Converter, Map, Method, Rule, Value};
///
/// /// Comma-separated integers: `/sum/1,2,3`.
/// struct IntList;
///
/// impl Converter for IntList {
///     fn matches(&self, text: &str) -> bool {
///         !text.is_empty() && text.split(',').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
///     }
///     fn to_value(&self, text: &str) -> Option<Value> {
///         let items: Option<Vec<i64>> = text.split(',').map(|p| p.parse().ok()).collect();
///         Some(Value::custom(items?))
///     }
///     fn to_url(&self, value: &Value, out: &mut String) -> bool {
///         let Some(items) = value.downcast_ref::<Vec<i64>>() else { return false };
///         let text: Vec<String> = items.iter().map(|i| i.to_string()).collect();
///         out.push_str(&text.join(","));
///         true
///     }
/// }
///
/// let map = Map::builder()
///     .converter("ints", |_args| Ok(IntList))
///     .build([Rule::new("/sum/<ints:items>", "sum")]);
/// let adapter = map.bind("example.com", "");
/// let (_, values) = adapter.match_("/sum/1,2,3", &Method::GET).unwrap();
/// assert_eq!(values.get_custom::<Vec<i64>>("items"), Some(&vec![1, 2, 3]));
/// assert_eq!(adapter.build(&"sum", &values).unwrap(), "/sum/1,2,3");
/// ```
pub trait Converter: Send + Sync + 'static {
    /// Whether `text` (percent-decoded; one path segment unless [`part_isolating`] is
    /// false) has this converter's shape. The default is Werkzeug's `[^/]+`: any non-empty
    /// text without a slash.
    ///
    /// [`part_isolating`]: Converter::part_isolating
    fn matches(&self, text: &str) -> bool {
        !text.is_empty() && !text.contains('/')
    }

    /// Converts matched text into a value; `None` makes the URL a 404.
    fn to_value(&self, text: &str) -> Option<Value>;

    /// Appends `value` as URL text (not yet percent-encoded) to `out`; `false` if the value
    /// is not one this converter can write, which makes `build` try the next rule.
    fn to_url(&self, value: &Value, out: &mut String) -> bool;

    /// The weight at one place in a rule: lighter converters are tried first (Werkzeug:
    /// numbers 50, strings 100, paths 200).
    fn weight(&self) -> u32 {
        100
    }

    /// Whether the value stays within one path segment (`false` for `path`-like
    /// converters, which may contain `/` and match lazily).
    fn part_isolating(&self) -> bool {
        true
    }

    /// Whether [`to_url`](Converter::to_url) only ever writes characters that never need
    /// percent-encoding (ASCII letters, digits, `-`, `.`, `_`, `~`), so building can skip
    /// checking its output. The default, `false`, is always correct.
    fn writes_plain_ascii(&self) -> bool {
        false
    }
}

/// Makes a converter from its arguments, e.g. `int(min=1)`; an `Err` names what is wrong.
pub(crate) type ConverterFactory =
    Arc<dyn Fn(&ConverterArgs) -> Result<Arc<dyn Converter>, String> + Send + Sync>;

/// The converters a map knows: the built-ins plus custom ones.
#[derive(Clone)]
pub(crate) struct Registry {
    factories: HashMap<String, ConverterFactory>,
    /// Names given a custom factory (which may replace a built-in).
    custom: Vec<String>,
}

/// A built-in converter without arguments, which matching checks and converts without a
/// dynamic call (the commonest variables: `<name>` and `<int:id>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    /// Any other converter: through `dyn Converter`.
    Other,
    /// `string` / the default, no arguments: `[^/]+`.
    Segment,
    /// `int`, no arguments: ASCII digits.
    Int,
    /// `path`: matched through `dyn Converter`, built without it.
    Path,
}

impl Builtin {
    /// `converter.matches(text)` and `converter.to_value(text)` in one step: `None` when the
    /// shape does not fit, `Some(None)` when the conversion fails. `one_segment` says that
    /// `text` has no `/` (the caller cut it at one), so that need not be checked again.
    #[inline]
    pub(crate) fn convert(
        self,
        converter: &dyn Converter,
        text: &str,
        one_segment: bool,
    ) -> Option<Option<Value>> {
        match self {
            Builtin::Segment => {
                if text.is_empty() || (!one_segment && has_slash(text)) {
                    return None;
                }
                Some(Some(Value::Str(text.into())))
            }
            Builtin::Int => {
                let digits = text.as_bytes();
                if digits.is_empty() {
                    return None;
                }
                if digits.len() > 18 {
                    // 19 digits and more may overflow: the checked parser decides.
                    if !is_digits(text) {
                        return None;
                    }
                    return Some(parse_i64(text).map(Value::Int));
                }
                // Shape and value in one pass.
                Some(Some(Value::Int(digits_value(digits)?)))
            }
            Builtin::Other | Builtin::Path => {
                if !converter.matches(text) {
                    return None;
                }
                Some(converter.to_value(text))
            }
        }
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.factories.keys().collect();
        names.sort();
        f.debug_struct("Registry").field("names", &names).finish()
    }
}

fn factory<C: Converter>(
    f: impl Fn(&ConverterArgs) -> Result<C, String> + Send + Sync + 'static,
) -> ConverterFactory {
    Arc::new(move |args| f(args).map(|c| Arc::new(c) as Arc<dyn Converter>))
}

impl Default for Registry {
    fn default() -> Self {
        let mut factories: HashMap<String, ConverterFactory> = HashMap::new();
        factories.insert("default".into(), factory(StringConverter::from_args));
        factories.insert("string".into(), factory(StringConverter::from_args));
        factories.insert("int".into(), factory(IntConverter::from_args));
        factories.insert("float".into(), factory(FloatConverter::from_args));
        factories.insert("path".into(), factory(PathConverter::from_args));
        #[cfg(feature = "uuid")]
        factories.insert("uuid".into(), factory(UuidConverter::from_args));
        factories.insert("any".into(), factory(AnyConverter::from_args));
        Registry {
            factories,
            custom: Vec::new(),
        }
    }
}

impl Registry {
    pub(crate) fn insert<C: Converter>(
        &mut self,
        name: &str,
        f: impl Fn(&ConverterArgs) -> Result<C, String> + Send + Sync + 'static,
    ) {
        self.factories.insert(name.to_owned(), factory(f));
        self.custom.push(name.to_owned());
    }

    /// Which [`Builtin`] the converter `name` with the argument text `args` is.
    pub(crate) fn builtin(&self, name: &str, args: &str) -> Builtin {
        if !args.trim().is_empty() || self.custom.iter().any(|c| c == name) {
            return Builtin::Other;
        }
        match name {
            "default" | "string" => Builtin::Segment,
            "int" => Builtin::Int,
            "path" => Builtin::Path,
            _ => Builtin::Other,
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&ConverterFactory> {
        self.factories.get(name)
    }
}

fn arg_uint(args: &ConverterArgs, name: &str, pos: usize) -> Result<Option<usize>, String> {
    match args.arg(name, pos) {
        None | Some(ArgValue::None) => Ok(None),
        Some(ArgValue::Int(i)) if *i >= 0 => Ok(Some(*i as usize)),
        Some(v) => Err(format!("'{name}' must be a non-negative integer, got {v}")),
    }
}

fn arg_int(args: &ConverterArgs, name: &str, pos: usize) -> Result<Option<i64>, String> {
    match args.arg(name, pos) {
        None | Some(ArgValue::None) => Ok(None),
        Some(ArgValue::Int(i)) => Ok(Some(*i)),
        Some(v) => Err(format!("'{name}' must be an integer, got {v}")),
    }
}

fn arg_float(args: &ConverterArgs, name: &str, pos: usize) -> Result<Option<f64>, String> {
    match args.arg(name, pos) {
        None | Some(ArgValue::None) => Ok(None),
        Some(ArgValue::Int(i)) => Ok(Some(*i as f64)),
        Some(ArgValue::Float(x)) => Ok(Some(*x)),
        Some(v) => Err(format!("'{name}' must be a number, got {v}")),
    }
}

fn arg_bool(args: &ConverterArgs, name: &str, pos: usize) -> Result<bool, String> {
    match args.arg(name, pos) {
        None => Ok(false),
        Some(ArgValue::Bool(b)) => Ok(*b),
        Some(v) => Err(format!("'{name}' must be True or False, got {v}")),
    }
}

/// `string` (the default): one segment, with `minlength` (default 1), `maxlength` and
/// `length` counted in characters.
#[derive(Debug, Clone)]
pub struct StringConverter {
    min: usize,
    max: Option<usize>,
}

impl StringConverter {
    /// From `string(minlength, maxlength, length)`.
    pub fn from_args(args: &ConverterArgs) -> Result<Self, String> {
        args.expect(&["minlength", "maxlength", "length"], 3)?;
        let min = arg_uint(args, "minlength", 0)?.unwrap_or(1);
        let max = arg_uint(args, "maxlength", 1)?;
        match arg_uint(args, "length", 2)? {
            Some(len) => Ok(StringConverter {
                min: len,
                max: Some(len),
            }),
            None => {
                if let Some(max) = max {
                    if max < min {
                        return Err(format!("maxlength {max} is below minlength {min}"));
                    }
                }
                Ok(StringConverter { min, max })
            }
        }
    }
}

impl Converter for StringConverter {
    fn matches(&self, text: &str) -> bool {
        if has_slash(text) {
            return false;
        }
        // Byte length bounds the character count from above; count only when needed.
        if text.len() < self.min {
            return false;
        }
        if self.min <= 1 && self.max.is_none() {
            return !text.is_empty() || self.min == 0;
        }
        let n = text.chars().count();
        n >= self.min && self.max.is_none_or(|m| n <= m)
    }
    fn to_value(&self, text: &str) -> Option<Value> {
        Some(Value::Str(text.into()))
    }
    fn to_url(&self, value: &Value, out: &mut String) -> bool {
        write_display(value, out)
    }
}

fn write_display(value: &Value, out: &mut String) -> bool {
    match value {
        Value::Str(s) => out.push_str(s),
        Value::Custom(_) => return false,
        v => {
            let _ = write!(out, "{v}");
        }
    }
    true
}

/// `path`: like `string` but may contain slashes; weight 200, matched lazily.
#[derive(Debug, Clone)]
pub struct PathConverter;

impl PathConverter {
    /// From `path` (takes no arguments).
    pub fn from_args(args: &ConverterArgs) -> Result<Self, String> {
        args.expect(&[], 0)?;
        Ok(PathConverter)
    }
}

impl Converter for PathConverter {
    fn matches(&self, text: &str) -> bool {
        // Werkzeug's `[^/].*?`.
        !text.is_empty() && !text.starts_with('/')
    }
    fn to_value(&self, text: &str) -> Option<Value> {
        Some(Value::Str(text.into()))
    }
    fn to_url(&self, value: &Value, out: &mut String) -> bool {
        write_display(value, out)
    }
    fn weight(&self) -> u32 {
        200
    }
    fn part_isolating(&self) -> bool {
        false
    }
}

/// Whether `text` contains `/`: segments are short, where a plain loop beats `memchr`'s
/// set-up.
#[inline]
#[allow(clippy::manual_contains)] // `contains` is `memchr`, which is what this avoids
fn has_slash(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() < 32 {
        b.iter().any(|&c| c == b'/')
    } else {
        memchr::memchr(b'/', b).is_some()
    }
}

/// ASCII decimal digits with an optional leading `-` as an `i64`; `None` for anything else
/// or on overflow (what `str::parse` does, without its general set-up).
#[inline]
fn parse_i64(text: &str) -> Option<i64> {
    let (neg, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        [b'+', ..] => return text.parse().ok(),
        b => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 {
        // 19 digits and more may overflow: let the checked parser decide.
        return text.parse().ok();
    }
    let n = digits_value(digits)?;
    Some(if neg { -n } else { n })
}

/// The value of up to 18 ASCII digits (so no overflow); `None` if a byte is not a digit.
#[inline]
fn digits_value(digits: &[u8]) -> Option<i64> {
    let mut n: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + i64::from(d);
    }
    Some(n)
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn strip_sign(text: &str, signed: bool) -> &str {
    if signed {
        text.strip_prefix('-').unwrap_or(text)
    } else {
        text
    }
}

/// `int`: ASCII digits (`-` allowed with `signed=True`), with `fixed_digits`, `min` and
/// `max`; weight 50. Leading zeros match (`/007` is 7), as in Werkzeug.
#[derive(Debug, Clone)]
pub struct IntConverter {
    fixed_digits: usize,
    min: Option<i64>,
    max: Option<i64>,
    signed: bool,
}

impl IntConverter {
    /// From `int(fixed_digits, min, max, signed)`.
    pub fn from_args(args: &ConverterArgs) -> Result<Self, String> {
        args.expect(&["fixed_digits", "min", "max", "signed"], 4)?;
        Ok(IntConverter {
            fixed_digits: arg_uint(args, "fixed_digits", 0)?.unwrap_or(0),
            min: arg_int(args, "min", 1)?,
            max: arg_int(args, "max", 2)?,
            signed: arg_bool(args, "signed", 3)?,
        })
    }
}

impl Converter for IntConverter {
    fn matches(&self, text: &str) -> bool {
        is_digits(strip_sign(text, self.signed))
    }
    fn to_value(&self, text: &str) -> Option<Value> {
        // Werkzeug counts the sign into `fixed_digits` too (`len(value)`).
        if self.fixed_digits != 0 && text.len() != self.fixed_digits {
            return None;
        }
        let n = parse_i64(text)?;
        if self.min.is_some_and(|m| n < m) || self.max.is_some_and(|m| n > m) {
            return None;
        }
        Some(Value::Int(n))
    }
    fn to_url(&self, value: &Value, out: &mut String) -> bool {
        let n = match value {
            Value::Int(i) => *i,
            Value::Float(x) if x.is_finite() => x.trunc() as i64,
            Value::Str(s) => match s.trim().parse() {
                Ok(n) => n,
                Err(_) => return false,
            },
            Value::Bool(b) => *b as i64,
            _ => return false,
        };
        if self.fixed_digits == 0 {
            push_int(out, n);
        } else if n < 0 {
            // Python's zfill keeps the sign first: "-5".zfill(3) == "-05".
            let _ = write!(
                out,
                "-{:0width$}",
                n.unsigned_abs(),
                width = self.fixed_digits.saturating_sub(1)
            );
        } else {
            let _ = write!(out, "{n:0width$}", width = self.fixed_digits);
        }
        true
    }
    fn weight(&self) -> u32 {
        50
    }
    fn writes_plain_ascii(&self) -> bool {
        true
    }
}

/// Writes an integer without the formatting machinery (URL building is hot): `itoa`
/// writes the digits two at a time and hands them over as a `&str` without a UTF-8 check.
#[inline]
pub(crate) fn push_int(out: &mut String, n: i64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// `float`: `digits.digits` (`-` allowed with `signed=True`), with `min` and `max`;
/// weight 50. `1` does not match (it needs a `.`), as in Werkzeug.
#[derive(Debug, Clone)]
pub struct FloatConverter {
    min: Option<f64>,
    max: Option<f64>,
    signed: bool,
}

impl FloatConverter {
    /// From `float(min, max, signed)`.
    pub fn from_args(args: &ConverterArgs) -> Result<Self, String> {
        args.expect(&["min", "max", "signed"], 3)?;
        Ok(FloatConverter {
            min: arg_float(args, "min", 0)?,
            max: arg_float(args, "max", 1)?,
            signed: arg_bool(args, "signed", 2)?,
        })
    }
}

impl Converter for FloatConverter {
    fn matches(&self, text: &str) -> bool {
        match strip_sign(text, self.signed).split_once('.') {
            Some((a, b)) => is_digits(a) && is_digits(b),
            None => false,
        }
    }
    fn to_value(&self, text: &str) -> Option<Value> {
        let x: f64 = text.parse().ok()?;
        if self.min.is_some_and(|m| x < m) || self.max.is_some_and(|m| x > m) {
            return None;
        }
        Some(Value::Float(x))
    }
    fn to_url(&self, value: &Value, out: &mut String) -> bool {
        let x = match value {
            Value::Float(x) => *x,
            Value::Int(i) => *i as f64,
            Value::Str(s) => match s.trim().parse() {
                Ok(x) => x,
                Err(_) => return false,
            },
            _ => return false,
        };
        if !x.is_finite() {
            return false;
        }
        // Python's str(float) writes 1.0, 0.5, -2.25; Rust's Debug does the same (and
        // `1e20` for large values: still plain ASCII).
        let _ = write!(out, "{x:?}");
        true
    }
    fn weight(&self) -> u32 {
        50
    }
    fn writes_plain_ascii(&self) -> bool {
        true
    }
}

/// `uuid`: the 8-4-4-4-12 hexadecimal form, either case; the value is a [`Uuid`].
#[cfg(feature = "uuid")]
#[derive(Debug, Clone)]
pub struct UuidConverter;

#[cfg(feature = "uuid")]
impl UuidConverter {
    /// From `uuid` (takes no arguments).
    pub fn from_args(args: &ConverterArgs) -> Result<Self, String> {
        args.expect(&[], 0)?;
        Ok(UuidConverter)
    }
}

#[cfg(feature = "uuid")]
impl Converter for UuidConverter {
    fn matches(&self, text: &str) -> bool {
        let b = text.as_bytes();
        // 8-4-4-4-12 hex digits.
        b.len() == 36
            && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
            && [&b[..8], &b[9..13], &b[14..18], &b[19..23], &b[24..]]
                .iter()
                .all(|group| group.iter().all(u8::is_ascii_hexdigit))
    }
    fn to_value(&self, text: &str) -> Option<Value> {
        Uuid::parse_str(text).ok().map(Value::Uuid)
    }
    fn to_url(&self, value: &Value, out: &mut String) -> bool {
        let u = match value {
            Value::Uuid(u) => *u,
            Value::Str(s) => match Uuid::parse_str(s) {
                Ok(u) => u,
                Err(_) => return false,
            },
            _ => return false,
        };
        out.push_str(u.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
        true
    }
    fn writes_plain_ascii(&self) -> bool {
        true
    }
}

/// `any(a, b, c)`: exactly one of the given items.
#[derive(Debug, Clone)]
pub struct AnyConverter {
    items: Vec<String>,
}

impl AnyConverter {
    /// From `any(item, ...)`: at least one item, each a word or a quoted string.
    pub fn from_args(args: &ConverterArgs) -> Result<Self, String> {
        args.expect(&[], usize::MAX)?;
        let mut items = Vec::new();
        for v in args.positional() {
            let item = match v {
                ArgValue::Str(s) => s.clone(),
                ArgValue::Int(i) => i.to_string(),
                ArgValue::Float(x) => format!("{x:?}"),
                other => return Err(format!("items must be strings, got {other}")),
            };
            if item.is_empty() || item.contains('/') {
                return Err(format!(
                    "item {item:?} must be non-empty and contain no '/'"
                ));
            }
            items.push(item);
        }
        if items.is_empty() {
            return Err("needs at least one item, e.g. any(about, help)".into());
        }
        Ok(AnyConverter { items })
    }
}

impl Converter for AnyConverter {
    fn matches(&self, text: &str) -> bool {
        self.items.iter().any(|i| i == text)
    }
    fn to_value(&self, text: &str) -> Option<Value> {
        Some(Value::Str(text.into()))
    }
    fn to_url(&self, value: &Value, out: &mut String) -> bool {
        let Some(s) = value.as_str() else {
            return false;
        };
        if self.matches(s) {
            out.push_str(s);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_int_writes_what_to_string_does() {
        let mut cases = vec![
            0, 1, 9, 10, 99, 100, 101, 999, 1000, 65535, -1, -10, -99, -100,
        ];
        cases.extend([i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1]);
        let mut p = 1i64;
        while let Some(next) = p.checked_mul(10) {
            cases.extend([p - 1, p, p + 1, -p, next - 1]);
            p = next;
        }
        for n in cases {
            let mut out = String::from("x");
            push_int(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }

    #[test]
    fn builtins_agree_with_their_converters() {
        let args = ConverterArgs::parse("").unwrap();
        let int = IntConverter::from_args(&args).unwrap();
        let string = StringConverter::from_args(&args).unwrap();
        for t in [
            "",
            "0",
            "007",
            "42",
            "-1",
            "+1",
            "1a",
            "a",
            "a b",
            "x/y",
            "ü",
            "999999999999999999",
            "9999999999999999999",
            "99999999999999999999",
            "00000000000000000000001",
        ] {
            let slow = |c: &dyn Converter| c.matches(t).then(|| c.to_value(t));
            assert_eq!(Builtin::Int.convert(&int, t, false), slow(&int), "{t:?}");
            assert_eq!(
                Builtin::Segment.convert(&string, t, false),
                slow(&string),
                "{t:?}"
            );
            if !t.contains('/') {
                assert_eq!(Builtin::Int.convert(&int, t, true), slow(&int), "{t:?}");
                assert_eq!(
                    Builtin::Segment.convert(&string, t, true),
                    slow(&string),
                    "{t:?}"
                );
            }
        }
    }

    #[test]
    fn parse_i64_agrees_with_str_parse() {
        for t in [
            "",
            "-",
            "+",
            "+5",
            "0",
            "-0",
            "007",
            "42",
            "-42",
            "12a",
            "a1",
            " 1",
            "1 ",
            "999999999999999999",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "00000000000000000001",
            "1/2",
            "١٢",
        ] {
            assert_eq!(parse_i64(t), t.parse::<i64>().ok(), "{t:?}");
        }
    }

    #[test]
    #[cfg(feature = "uuid")]
    fn slash_and_uuid_shapes() {
        assert!(has_slash("a/b"));
        assert!(!has_slash("ab"));
        assert!(has_slash(&format!("{}/", "x".repeat(40))));
        assert!(!has_slash(&"x".repeat(40)));
        let u = UuidConverter;
        assert!(u.matches("a8098c1a-f86e-11da-bd1a-00112444be1e"));
        assert!(u.matches("A8098C1A-F86E-11DA-BD1A-00112444BE1E"));
        assert!(!u.matches("a8098c1a-f86e-11da-bd1a-00112444be1"));
        assert!(!u.matches("a8098c1af-86e-11da-bd1a-00112444be1e"));
        assert!(!u.matches("a8098c1a-f86e-11da-bd1a-00112444be1g"));
        assert!(!u.matches("a8098c1a-f86e-11da-bd1a-00112444bé1"));
    }

    fn make(name: &str, args: &str) -> Result<Arc<dyn Converter>, String> {
        let reg = Registry::default();
        let args = ConverterArgs::parse(args)?;
        (reg.get(name).unwrap())(&args)
    }

    fn url(c: &dyn Converter, v: impl Into<Value>) -> Option<String> {
        let mut s = String::new();
        c.to_url(&v.into(), &mut s).then_some(s)
    }

    #[test]
    fn string_lengths() {
        let c = make("string", "length=2").unwrap();
        assert!(c.matches("de") && !c.matches("d") && !c.matches("deu"));
        assert!(c.matches("éà"));
        let c = make("string", "minlength=2, maxlength=3").unwrap();
        assert!(!c.matches("a") && c.matches("ab") && c.matches("abc") && !c.matches("abcd"));
        let c = make("default", "").unwrap();
        assert!(!c.matches("") && c.matches("x") && !c.matches("a/b"));
        assert!(make("string", "maxlength=1, minlength=2").is_err());
        assert!(make("string", "bogus=1").is_err());
        assert!(make("string", "minlength='x'").is_err());
    }

    #[test]
    fn int_like_werkzeug() {
        let c = make("int", "").unwrap();
        assert!(c.matches("007") && !c.matches("-1") && !c.matches("1.0") && !c.matches(""));
        assert_eq!(c.to_value("007"), Some(Value::Int(7)));
        assert_eq!(c.to_value("99999999999999999999"), None);
        let c = make("int", "fixed_digits=4").unwrap();
        assert_eq!(c.to_value("123"), None);
        assert_eq!(c.to_value("0123"), Some(Value::Int(123)));
        assert_eq!(url(&*c, 5).as_deref(), Some("0005"));
        let plain = make("int", "signed=True").unwrap();
        for n in [0, 7, -7, 1234567890, i64::MIN, i64::MAX] {
            assert_eq!(url(&*plain, n), Some(n.to_string()));
        }
        let c = make("int", "signed=True, min=-3, max=3").unwrap();
        assert!(c.matches("-2"));
        assert_eq!(c.to_value("-4"), None);
        assert_eq!(c.to_value("-3"), Some(Value::Int(-3)));
        let c = make("int", "3, signed=True").unwrap();
        assert_eq!(url(&*c, -5).as_deref(), Some("-05"));
        assert_eq!(url(&*c, "x"), None);
        assert!(make("int", "signed=1").is_err());
    }

    #[test]
    fn float_like_werkzeug() {
        let c = make("float", "").unwrap();
        assert!(c.matches("1.5") && !c.matches("1") && !c.matches(".5") && !c.matches("1."));
        assert!(!c.matches("-1.5") && !c.matches("1e5") && !c.matches("inf"));
        assert_eq!(url(&*c, 1.0).as_deref(), Some("1.0"));
        assert_eq!(url(&*c, 2).as_deref(), Some("2.0"));
        let c = make("float", "signed=True, max=0.5").unwrap();
        assert!(c.matches("-1.5"));
        assert_eq!(c.to_value("0.75"), None);
        assert_eq!(url(&*c, f64::NAN), None);
    }

    #[test]
    #[cfg(feature = "uuid")]
    fn plain_ascii_claims_hold() {
        let plain = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        };
        let values = [
            Value::Int(-42),
            Value::Int(i64::MIN),
            Value::Float(-1.5),
            Value::Float(1e300),
            Value::Float(f64::MIN_POSITIVE),
            Value::Str("17".into()),
            Value::Uuid(Uuid::nil()),
        ];
        for (name, args) in [
            ("int", "signed=True"),
            ("int", "fixed_digits=5"),
            ("float", ""),
            ("uuid", ""),
        ] {
            let c = make(name, args).unwrap();
            assert!(c.writes_plain_ascii());
            for v in &values {
                if let Some(text) = url(&*c, v) {
                    assert!(plain(&text), "{name}: {text}");
                }
            }
        }
        assert!(!make("string", "").unwrap().writes_plain_ascii());
    }

    #[test]
    #[cfg(feature = "uuid")]
    fn uuid_any_path() {
        let c = make("uuid", "").unwrap();
        assert!(c.matches("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"));
        assert!(!c.matches("a0eebc999c0b4ef8bb6d6bb9bd380a11"));
        assert!(!c.matches("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g"));
        let c = make("any", "about, 'foo,bar'").unwrap();
        assert!(c.matches("foo,bar") && c.matches("about") && !c.matches("foo"));
        assert_eq!(url(&*c, "nope"), None);
        assert!(make("any", "").is_err());
        let c = make("path", "").unwrap();
        assert!(c.matches("a/b") && !c.matches("/a") && !c.matches(""));
        assert!(!c.part_isolating());
        assert!(make("path", "x=1").is_err());
    }
}
