//! Typed URL values: [`Value`] (one converted variable), [`Values`] (what a match yields and
//! what `build` reads), [`FromValue`] (typed access) and [`BuildValues`] (anything `build`
//! accepts). Converting text to values is the converters' job, not this module's.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use smallvec::SmallVec;
#[cfg(feature = "uuid")]
use uuid::Uuid;

/// The text of a URL value: the same [`Text`](crate::datastructures::Text) as query and
/// form values (up to [`Text::INLINE`] bytes inline, so matching a short segment does not
/// allocate).
pub use crate::datastructures::Text;

/// One URL value: what a converter made of a path segment, or a default.
///
/// # Examples
///
/// ```
/// use zeug::routing::Value;
///
/// assert_eq!(Value::from(3), Value::Int(3));
/// assert_eq!(Value::from("x").to_string(), "x");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Value {
    /// Text (`string`, `path`, `any`).
    Str(Text),
    /// An integer (`int`).
    Int(i64),
    /// A float (`float`).
    Float(f64),
    /// A UUID (`uuid`; with the `uuid` feature).
    #[cfg(feature = "uuid")]
    Uuid(Uuid),
    /// A boolean (from defaults).
    Bool(bool),
    /// A custom converter's value; read it with [`Value::downcast_ref`] or
    /// [`Values::get_custom`].
    Custom(Arc<dyn Any + Send + Sync>),
}

impl Value {
    /// Wraps a custom converter's value.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = zeug::routing::Value::custom(vec![1u8, 2]);
    /// assert_eq!(v.downcast_ref::<Vec<u8>>(), Some(&vec![1, 2]));
    /// ```
    pub fn custom<T: Any + Send + Sync>(value: T) -> Self {
        Value::Custom(Arc::new(value))
    }

    /// The custom value as `T`, if it is one.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        match self {
            Value::Custom(v) => v.downcast_ref(),
            _ => None,
        }
    }

    /// The text, if this is a `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => {
                (*a as f64) == *b
            }
            #[cfg(feature = "uuid")]
            (Value::Uuid(a), Value::Uuid(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Custom(a), Value::Custom(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s.as_str()),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            #[cfg(feature = "uuid")]
            Value::Uuid(u) => write!(f, "{}", u.hyphenated()),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Custom(_) => f.write_str("<custom>"),
        }
    }
}

macro_rules! value_from {
    ($($(#[$m:meta])* $t:ty => |$v:ident| $e:expr;)*) => {$(
        $(#[$m])*
        impl From<$t> for Value {
            fn from($v: $t) -> Self {
                $e
            }
        }
    )*};
}

value_from! {
    i8 => |v| Value::Int(v.into());
    i16 => |v| Value::Int(v.into());
    i32 => |v| Value::Int(v.into());
    i64 => |v| Value::Int(v);
    u8 => |v| Value::Int(v.into());
    u16 => |v| Value::Int(v.into());
    u32 => |v| Value::Int(v.into());
    u64 => |v| Value::Int(i64::try_from(v).unwrap_or(i64::MAX));
    usize => |v| Value::Int(i64::try_from(v).unwrap_or(i64::MAX));
    f64 => |v| Value::Float(v);
    f32 => |v| Value::Float(v.into());
    bool => |v| Value::Bool(v);
    #[cfg(feature = "uuid")]
    Uuid => |v| Value::Uuid(v);
    &str => |v| Value::Str(v.into());
    &&str => |v| Value::Str((*v).into());
    String => |v| Value::Str(v.into());
    &String => |v| Value::Str(v.as_str().into());
    Cow<'_, str> => |v| Value::Str(v.as_ref().into());
    Text => |v| Value::Str(v);
    &Value => |v| v.clone();
}

/// Typed access to a [`Value`]: `values.get::<i64>("id")`.
///
/// Numbers convert between widths when they fit; text that parses is accepted for numbers
/// and UUIDs (so defaults written as strings work). Implement it for your own types to read
/// custom converters' values.
///
/// # Examples
///
/// ```
/// use zeug::routing::{FromValue, Value};
///
/// assert_eq!(u8::from_value(&Value::Int(7)), Some(7));
/// assert_eq!(u8::from_value(&Value::Int(700)), None);
/// assert_eq!(<&str>::from_value(&Value::Str("a".into())), Some("a"));
/// ```
pub trait FromValue<'a>: Sized {
    /// Converts, or `None` if the value is of another kind.
    fn from_value(value: &'a Value) -> Option<Self>;
}

impl<'a> FromValue<'a> for &'a str {
    fn from_value(value: &'a Value) -> Option<Self> {
        value.as_str()
    }
}

impl<'a> FromValue<'a> for &'a Value {
    fn from_value(value: &'a Value) -> Option<Self> {
        Some(value)
    }
}

macro_rules! from_value {
    ($($(#[$m:meta])* $t:ty => |$v:ident| $e:expr;)*) => {$(
        $(#[$m])*
        impl FromValue<'_> for $t {
            fn from_value($v: &Value) -> Option<Self> {
                $e
            }
        }
    )*};
}

macro_rules! from_value_int {
    ($($t:ty),*) => {
        from_value! {$(
            $t => |value| match value {
                Value::Int(i) => <$t>::try_from(*i).ok(),
                Value::Str(s) => s.parse().ok(),
                _ => None,
            };
        )*}
    };
}

from_value_int!(
    i8, i16, i32, i64, i128, u8, u16, u32, u64, u128, usize, isize
);

from_value! {
    String => |value| (!matches!(value, Value::Custom(_))).then(|| value.to_string());
    f64 => |value| match value {
        Value::Float(x) => Some(*x),
        Value::Int(i) => Some(*i as f64),
        Value::Str(s) => s.parse().ok(),
        _ => None,
    };
    f32 => |value| f64::from_value(value).map(|x| x as f32);
    bool => |value| match value {
        Value::Bool(b) => Some(*b),
        _ => None,
    };
    #[cfg(feature = "uuid")]
    Uuid => |value| match value {
        Value::Uuid(u) => Some(*u),
        Value::Str(s) => Uuid::parse_str(s).ok(),
        _ => None,
    };
}

/// A name interned for the life of the process, so matching never allocates names.
/// Rule variable names are few and fixed at start-up.
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(s) = set.get(name) {
        return s;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// The values of one match (converted variables plus the rule's defaults), or the values
/// given to `build`.
///
/// # Examples
///
/// ```
/// use zeug::routing::Values;
///
/// let mut values = Values::new();
/// values.insert("year", 2024);
/// values.insert("slug", "hello");
/// assert_eq!(values.get::<i64>("year"), Some(2024));
/// assert_eq!(values.get::<&str>("slug"), Some("hello"));
/// assert_eq!(values.get::<i64>("slug"), None);
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct Values {
    // Names from rules are interned (`Cow::Borrowed`); most matches have at most two
    // values, which stay inline (and `Values` small to return).
    items: SmallVec<[(Cow<'static, str>, Value); 2]>,
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.items.iter().map(|(k, v)| (&**k, v)))
            .finish()
    }
}

impl Values {
    /// No values.
    #[inline]
    pub fn new() -> Self {
        Values::default()
    }

    /// The value `name` as `T`; `None` if it is missing or of another type.
    pub fn get<'a, T: FromValue<'a>>(&'a self, name: &str) -> Option<T> {
        self.raw(name).and_then(T::from_value)
    }

    /// The custom converter value `name` as `&T`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Value, Values};
    /// let mut values = Values::new();
    /// values.insert("point", Value::custom((1, 2)));
    /// assert_eq!(values.get_custom::<(i32, i32)>("point"), Some(&(1, 2)));
    /// ```
    pub fn get_custom<T: Any>(&self, name: &str) -> Option<&T> {
        self.raw(name).and_then(Value::downcast_ref)
    }

    /// The untyped value `name`.
    #[inline]
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.items.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    /// Sets `name`, replacing an existing value.
    pub fn insert(&mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        let name = name.into();
        let value = value.into();
        match self.items.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.items.push((name, value)),
        }
    }

    /// Appends `name` even if present (repeated query values, a rule's variables).
    #[inline]
    pub(crate) fn push(&mut self, name: impl Into<Cow<'static, str>>, value: Value) {
        self.items.push((name.into(), value));
    }

    /// Keeps the first `len` values.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.items.truncate(len);
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.items.iter().position(|(k, _)| k == name)?;
        Some(self.items.remove(i).1)
    }

    /// The pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.items.iter().map(|(k, v)| (&**k, v))
    }

    /// How many values there are.
    #[inline]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl<K: Into<Cow<'static, str>>, V: Into<Value>> FromIterator<(K, V)> for Values {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut values = Values::new();
        for (k, v) in iter {
            values.insert(k, v);
        }
        values
    }
}

/// Values of mixed types from `(name, value)` pairs whose values are [`Value`]s, so that
/// `.into()` can name them: `Values::from([("id", 1.into()), ("name", "x".into())])`.
///
/// # Examples
///
/// ```
/// use zeug::routing::{Map, Rule, Values};
/// let map = Map::new([Rule::new("/u/<int:id>/<name>", "user")]);
/// let a = map.bind("example.com", "");
/// let values = Values::from([("id", 1.into()), ("name", "x".into())]);
/// assert_eq!(a.build(&"user", &values).unwrap(), "/u/1/x");
/// ```
impl<K: Into<Cow<'static, str>>, const N: usize> From<[(K, Value); N]> for Values {
    fn from(pairs: [(K, Value); N]) -> Self {
        pairs.into_iter().collect()
    }
}

/// Anything [`MapAdapter::build`](super::MapAdapter::build) accepts as values: [`Values`],
/// arrays, slices or vectors of `(name, value)` pairs of one value type, tuples of pairs
/// of mixed types, or `()` for none. A `#[derive(Serialize)]` struct becomes values with
/// [`Values::from_serialize`]; mixed pairs written with `.into()` with [`Values::from`].
///
/// A name may repeat in pairs: the first occurrence fills the rule's variable, and every
/// occurrence of a name the rule does not use goes to the query string.
///
/// # Examples
///
/// ```
/// use zeug::routing::{BuildValues, Values};
///
/// fn names(v: &(impl BuildValues + ?Sized)) -> Vec<String> {
///     let mut out = Vec::new();
///     v.each(&mut |name, _| out.push(name.to_owned()));
///     out
/// }
/// assert_eq!(names(&[("id", 3)]), ["id"]);
/// assert_eq!(names(&[("a", "1"), ("b", "2")][..]), ["a", "b"]);
/// assert_eq!(names(&(("id", 3), ("name", "x"))), ["id", "name"]);
/// assert!(names(&()).is_empty());
/// ```
pub trait BuildValues {
    /// The first value for `name`.
    fn value(&self, name: &str) -> Option<Cow<'_, Value>>;
    /// Calls `f` with every pair in order.
    fn each(&self, f: &mut dyn FnMut(&str, Cow<'_, Value>));
    /// How many pairs there are, when that is cheap to know: when every pair names one of
    /// the rule's values, `build` then knows without looking that none is left for a query
    /// string. The default, `None`, is always correct.
    fn pair_count(&self) -> Option<usize> {
        None
    }
}

impl BuildValues for Values {
    #[inline]
    fn value(&self, name: &str) -> Option<Cow<'_, Value>> {
        self.raw(name).map(Cow::Borrowed)
    }
    fn each(&self, f: &mut dyn FnMut(&str, Cow<'_, Value>)) {
        for (k, v) in self.items.iter() {
            f(k, Cow::Borrowed(v));
        }
    }
    #[inline]
    fn pair_count(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl BuildValues for () {
    fn value(&self, _: &str) -> Option<Cow<'_, Value>> {
        None
    }
    fn each(&self, _: &mut dyn FnMut(&str, Cow<'_, Value>)) {}
    fn pair_count(&self) -> Option<usize> {
        Some(0)
    }
}

impl<K: AsRef<str>, V: Clone + Into<Value>> BuildValues for [(K, V)] {
    fn value(&self, name: &str) -> Option<Cow<'_, Value>> {
        self.iter()
            .find(|(k, _)| k.as_ref() == name)
            .map(|(_, v)| Cow::Owned(v.clone().into()))
    }
    fn each(&self, f: &mut dyn FnMut(&str, Cow<'_, Value>)) {
        for (k, v) in self {
            f(k.as_ref(), Cow::Owned(v.clone().into()));
        }
    }
    fn pair_count(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<K: AsRef<str>, V: Clone + Into<Value>, const N: usize> BuildValues for [(K, V); N] {
    fn value(&self, name: &str) -> Option<Cow<'_, Value>> {
        self[..].value(name)
    }
    fn each(&self, f: &mut dyn FnMut(&str, Cow<'_, Value>)) {
        self[..].each(f)
    }
    fn pair_count(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<K: AsRef<str>, V: Clone + Into<Value>> BuildValues for Vec<(K, V)> {
    fn value(&self, name: &str) -> Option<Cow<'_, Value>> {
        self[..].value(name)
    }
    fn each(&self, f: &mut dyn FnMut(&str, Cow<'_, Value>)) {
        self[..].each(f)
    }
    fn pair_count(&self) -> Option<usize> {
        Some(self.len())
    }
}

/// Tuples of `(name, value)` pairs, each value of its own type:
/// `&(("id", 1), ("name", "x"))`.
macro_rules! tuple_values {
    ($(($($t:ident $v:ident $i:tt),+))*) => {$(
        impl<$($t: Clone + Into<Value>, $v: AsRef<str>),+> BuildValues for ($(($v, $t),)+) {
            fn value(&self, name: &str) -> Option<Cow<'_, Value>> {
                $(
                    if self.$i.0.as_ref() == name {
                        return Some(Cow::Owned(self.$i.1.clone().into()));
                    }
                )+
                None
            }
            fn each(&self, f: &mut dyn FnMut(&str, Cow<'_, Value>)) {
                $(f(self.$i.0.as_ref(), Cow::Owned(self.$i.1.clone().into()));)+
            }
            fn pair_count(&self) -> Option<usize> {
                Some([$($i),+].len())
            }
        }
    )*};
}

tuple_values! {
    (A KA 0)
    (A KA 0, B KB 1)
    (A KA 0, B KB 1, C KC 2)
    (A KA 0, B KB 1, C KC 2, D KD 3)
    (A KA 0, B KB 1, C KC 2, D KD 3, F KF 4)
    (A KA 0, B KB 1, C KC 2, D KD 3, F KF 4, G KG 5)
    (A KA 0, B KB 1, C KC 2, D KD 3, F KF 4, G KG 5, H KH 6)
    (A KA 0, B KB 1, C KC 2, D KD 3, F KF 4, G KG 5, H KH 6, I KI 7)
}

impl<T: BuildValues + ?Sized> BuildValues for &T {
    fn value(&self, name: &str) -> Option<Cow<'_, Value>> {
        (**self).value(name)
    }
    fn each(&self, f: &mut dyn FnMut(&str, Cow<'_, Value>)) {
        (**self).each(f)
    }
    fn pair_count(&self) -> Option<usize> {
        (**self).pair_count()
    }
}
