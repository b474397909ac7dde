//! Converters: the [`Converter`] trait and the built-in `string`/`default`, `int`, `float`,
//! `path`, `uuid` and `any`, with Werkzeug's arguments and weights. A converter decides what
//! text a variable accepts, what typed [`Value`] it becomes and how a value is written back
//! into a URL. Where in a rule a converter sits, and percent-encoding, are the map's business.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::num::IntErrorKind;
use std::sync::Arc;

#[cfg(feature = "uuid")]
use uuid::Uuid;

use super::parser::{ArgValue, ConverterArgs};
use super::values::Value;

/// Turns a variable's text into a typed [`Value`] and back. Implement it for custom
/// converters and register them with [`MapBuilder::converter`](super::MapBuilder::converter).
///
/// [`to_value`] does what Werkzeug splits between a converter's regex and its `to_python`,
/// in one call: it converts, or refuses with [`Refusal::Mismatch`] (not this converter's
/// shape: the next rule is tried) or [`Refusal::Invalid`] (the right shape but no valid
/// value, Werkzeug's `ValidationError`: the URL is not found and no other rule is tried).
///
/// [`to_value`]: Converter::to_value
///
/// # Examples
///
/// ```
/// use zeug::routing::{Converter, Map, Method, Refusal, Rule, Value};
///
/// /// Comma-separated integers: `/sum/1,2,3`.
/// struct IntList;
///
/// impl Converter for IntList {
///     fn to_value(&self, text: &str) -> Result<Value, Refusal> {
///         let items: Result<Vec<u32>, _> = text.split(',').map(str::parse).collect();
///         items.map(Value::custom).map_err(|_| Refusal::Mismatch)
///     }
///     fn to_url(&self, value: &Value, out: &mut String) -> bool {
///         let Some(items) = value.downcast_ref::<Vec<u32>>() else { return false };
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
/// assert_eq!(values.get_custom::<Vec<u32>>("items"), Some(&vec![1, 2, 3]));
/// assert_eq!(adapter.build(&"sum", &values).unwrap(), "/sum/1,2,3");
/// ```
pub trait Converter: Send + Sync + 'static {
    /// Converts a variable's text (percent-decoded, possibly empty; one path segment,
    /// without `/`, unless [`part_isolating`] is false) into a value, or says why not.
    ///
    /// [`part_isolating`]: Converter::part_isolating
    fn to_value(&self, text: &str) -> Result<Value, Refusal>;

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
}

/// Why a [`Converter`] refused a variable's text.
///
/// # Examples
///
/// ```
/// use zeug::routing::{Converter, ConverterArgs, IntConverter, Refusal, Value};
/// let int = IntConverter::from_args(&ConverterArgs::parse("max=5").unwrap()).unwrap();
/// assert_eq!(int.to_value("3"), Ok(Value::Int(3)));
/// assert_eq!(int.to_value("x"), Err(Refusal::Mismatch)); // `/<int:n>` does not fit: next rule
/// assert_eq!(int.to_value("7"), Err(Refusal::Invalid)); // fits, out of range: 404
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not this converter's shape (Werkzeug: its regex does not match): the next rule is
    /// tried.
    Mismatch,
    /// The converter's shape but no valid value, e.g. out of range (Werkzeug's
    /// `ValidationError`): the URL is not found, and no other rule is tried.
    Invalid,
}

/// Makes a converter from its arguments, e.g. `int(min=1)`; an `Err` names what is wrong.
pub(crate) type ConverterFactory =
    Arc<dyn Fn(&ConverterArgs) -> Result<Arc<dyn Converter>, String> + Send + Sync>;

/// The converters a map knows: the built-ins plus custom ones.
#[derive(Clone)]
pub(crate) struct Registry {
    factories: HashMap<String, ConverterFactory>,
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
        Registry { factories }
    }
}

impl Registry {
    pub(crate) fn insert<C: Converter>(
        &mut self,
        name: &str,
        f: impl Fn(&ConverterArgs) -> Result<C, String> + Send + Sync + 'static,
    ) {
        self.factories.insert(name.to_owned(), factory(f));
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
    fn to_value(&self, text: &str) -> Result<Value, Refusal> {
        // Byte length bounds the character count from above; count only when needed.
        let fits = text.len() >= self.min
            && (self.min <= 1 && self.max.is_none() || {
                let n = text.chars().count();
                n >= self.min && self.max.is_none_or(|m| n <= m)
            });
        fits.then(|| Value::Str(text.into()))
            .ok_or(Refusal::Mismatch)
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
    fn to_value(&self, text: &str) -> Result<Value, Refusal> {
        // Werkzeug's `[^/].*?`.
        let fits = !text.is_empty() && !text.starts_with('/');
        fits.then(|| Value::Str(text.into()))
            .ok_or(Refusal::Mismatch)
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
    fn to_value(&self, text: &str) -> Result<Value, Refusal> {
        // Werkzeug's `-?\d+` (with `signed`): `parse` also takes a `+` sign.
        if text.starts_with('+') || !self.signed && text.starts_with('-') {
            return Err(Refusal::Mismatch);
        }
        let n: i64 = text
            .parse()
            .map_err(|e: std::num::ParseIntError| match e.kind() {
                IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => Refusal::Invalid,
                _ => Refusal::Mismatch,
            })?;
        // Werkzeug counts the sign into `fixed_digits` too (`len(value)`).
        if self.fixed_digits != 0 && text.len() != self.fixed_digits {
            return Err(Refusal::Invalid);
        }
        if self.min.is_some_and(|m| n < m) || self.max.is_some_and(|m| n > m) {
            return Err(Refusal::Invalid);
        }
        Ok(Value::Int(n))
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
}

/// Writes an integer through `itoa` (no formatting machinery).
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
    fn to_value(&self, text: &str) -> Result<Value, Refusal> {
        match strip_sign(text, self.signed).split_once('.') {
            Some((a, b)) if is_digits(a) && is_digits(b) => {}
            _ => return Err(Refusal::Mismatch),
        }
        let x: f64 = text.parse().map_err(|_| Refusal::Invalid)?;
        if self.min.is_some_and(|m| x < m) || self.max.is_some_and(|m| x > m) {
            return Err(Refusal::Invalid);
        }
        Ok(Value::Float(x))
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
}

#[cfg(feature = "uuid")]
/// `uuid`: the 8-4-4-4-12 hexadecimal form, either case; the value is a [`Uuid`].
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
    fn to_value(&self, text: &str) -> Result<Value, Refusal> {
        // 8-4-4-4-12 hex digits: of the forms `uuid` parses, the only one 36 long.
        let uuid = (text.len() == 36).then(|| Uuid::try_parse(text).ok());
        uuid.flatten().map(Value::Uuid).ok_or(Refusal::Mismatch)
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
    fn to_value(&self, text: &str) -> Result<Value, Refusal> {
        let known = self.items.iter().any(|i| i == text);
        known
            .then(|| Value::Str(text.into()))
            .ok_or(Refusal::Mismatch)
    }
    fn to_url(&self, value: &Value, out: &mut String) -> bool {
        match value.as_str() {
            Some(s) if self.items.iter().any(|i| i == s) => {
                out.push_str(s);
                true
            }
            _ => false,
        }
    }
}
