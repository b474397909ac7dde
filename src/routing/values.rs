//! Typed URL values: [`Value`] (one converted variable), [`Values`] (what a match yields and
//! what `build` reads), [`FromValue`] (typed access) and [`BuildValues`] (anything `build`
//! accepts). Converting text to values is the converters' job, not this module's.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex, OnceLock};

use uuid::Uuid;

/// The text of a URL value: the same [`Text`](crate::datastructures::Text) as query and
/// form values, so a path segment of up to [`Text::INLINE`] bytes is kept inline and
/// matching it does not allocate.
///
/// # Examples
///
/// ```
/// use zeug::routing::Text;
///
/// let t = Text::from("hello");
/// assert_eq!(&*t, "hello");
/// assert_eq!(t, "hello");
/// assert_eq!(Text::from("a much longer piece of text, kept on the heap").len(), 45);
/// ```
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
    /// A UUID (`uuid`).
    Uuid(Uuid),
    /// A boolean (from defaults).
    Bool(bool),
    /// A custom converter's value; read it with [`Value::downcast_ref`] or
    /// [`Values::get_custom`].
    Custom(Arc<dyn Any + Send + Sync>),
}

impl Value {
    /// Whether dropping this value frees memory.
    #[inline]
    fn owns_heap(&self) -> bool {
        match self {
            Value::Str(t) => t.is_on_heap(),
            Value::Custom(_) => true,
            // Listed one by one so that a new variant must be decided here.
            Value::Int(_) | Value::Float(_) | Value::Uuid(_) | Value::Bool(_) => false,
        }
    }

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
            Value::Uuid(u) => write!(f, "{}", u.hyphenated()),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Custom(_) => f.write_str("<custom>"),
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Int(v as i64)
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(v as f64)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<Uuid> for Value {
    fn from(v: Uuid) -> Self {
        Value::Uuid(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.into())
    }
}
impl From<&&str> for Value {
    fn from(v: &&str) -> Self {
        Value::Str((*v).into())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v.into())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Str(v.as_str().into())
    }
}
impl From<Cow<'_, str>> for Value {
    fn from(v: Cow<'_, str>) -> Self {
        Value::Str(v.as_ref().into())
    }
}
impl From<Text> for Value {
    fn from(v: Text) -> Self {
        Value::Str(v)
    }
}
impl From<&Value> for Value {
    fn from(v: &Value) -> Self {
        v.clone()
    }
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

impl FromValue<'_> for String {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Custom(_) => None,
            v => Some(v.to_string()),
        }
    }
}

macro_rules! from_value_int {
    ($($t:ty),*) => {$(
        impl FromValue<'_> for $t {
            fn from_value(value: &Value) -> Option<Self> {
                match value {
                    Value::Int(i) => <$t>::try_from(*i).ok(),
                    Value::Str(s) => s.parse().ok(),
                    _ => None,
                }
            }
        }
    )*};
}
from_value_int!(
    i8, i16, i32, i64, i128, u8, u16, u32, u64, u128, usize, isize
);

impl FromValue<'_> for f64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Float(x) => Some(*x),
            Value::Int(i) => Some(*i as f64),
            Value::Str(s) => s.parse().ok(),
            _ => None,
        }
    }
}

impl FromValue<'_> for f32 {
    fn from_value(value: &Value) -> Option<Self> {
        f64::from_value(value).map(|x| x as f32)
    }
}

impl FromValue<'_> for bool {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl FromValue<'_> for Uuid {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Uuid(u) => Some(*u),
            Value::Str(s) => Uuid::parse_str(s).ok(),
            _ => None,
        }
    }
}

/// Name equality with a pointer check first: names from rules are interned, so the
/// common case needs no byte comparison.
#[inline]
pub(crate) fn name_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b)
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

/// A value's name: a rule's (interned, `'static`) or one given at run time. Sixteen bytes
/// (an owned name is boxed twice), so a pair is 40 and `Values` small to move.
#[derive(Clone)]
pub(crate) enum Name {
    Static(&'static str),
    Owned(Box<Box<str>>),
}

impl std::ops::Deref for Name {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        match self {
            Name::Static(s) => s,
            Name::Owned(s) => s,
        }
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        name_eq(self, other)
    }
}

impl From<Cow<'static, str>> for Name {
    fn from(name: Cow<'static, str>) -> Self {
        match name {
            Cow::Borrowed(s) => Name::Static(s),
            Cow::Owned(s) => Name::Owned(Box::new(s.into_boxed_str())),
        }
    }
}

/// A name and its value.
pub(crate) type Pair = (Name, Value);

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
#[derive(Clone, Default)]
pub struct Values {
    // Two pairs inline keep `Values` small to move (a match returns it); more go to the
    // heap. Dropped by hand (see `Drop`), only when dropping it frees something.
    items: ManuallyDrop<Items>,
    // Whether some pair may own memory (an owned name, text longer than `Text::INLINE`, a
    // custom value). Never cleared except by `clear`; while false, dropping the pairs is
    // a no-op, which `Drop` skips.
    owns_heap: bool,
}

impl PartialEq for Values {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

impl Drop for Values {
    #[inline]
    fn drop(&mut self) {
        // A match's values are usually a few numbers and short texts with interned names,
        // inline: nothing to free, so nothing is dropped (no per-pair drop glue, no call).
        if self.owns_heap || matches!(*self.items, Items::Heap(_)) {
            // What is left behind is empty and inline: not dropping it leaks nothing.
            drop(std::mem::take(&mut *self.items));
        }
    }
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
        self.items
            .iter()
            .find(|(k, _)| name_eq(k, name))
            .map(|(_, v)| v)
    }

    /// Whether `name` is present.
    #[inline]
    pub fn contains(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    /// Sets `name`, replacing an existing value.
    pub fn insert(&mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        let name = Name::from(name.into());
        let value = value.into();
        self.owns_heap |= matches!(name, Name::Owned(_)) || value.owns_heap();
        if let Some(slot) = self.items.iter_mut().find(|(k, _)| *k == name) {
            slot.1 = value;
            return;
        }
        self.items.push((name, value));
    }

    /// Appends `name` even if present (for repeated query values).
    pub(crate) fn push_owned(&mut self, name: String, value: Value) {
        self.owns_heap = true;
        self.items
            .push((Name::from(Cow::<'static, str>::Owned(name)), value));
    }

    #[inline]
    pub(crate) fn push_static(&mut self, name: &'static str, value: Value) {
        self.owns_heap |= value.owns_heap();
        self.items.push((Name::Static(name), value));
    }

    /// The `i`th pair.
    #[inline]
    pub(crate) fn pair(&self, i: usize) -> Option<&Pair> {
        self.items.get(i)
    }

    /// The pairs as building reads them by position: the inline ones (the present ones
    /// first, then `None`s), or the heap ones. Looking the storage up once, a loop over
    /// the variables indexes a slice.
    #[inline]
    pub(crate) fn pairs(&self) -> PairsView<'_> {
        match &*self.items {
            Items::Inline(a) => PairsView::Inline(a),
            Items::Heap(v) => PairsView::Heap(v),
        }
    }

    /// Keeps the first `len` pairs.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.items.truncate(len);
    }

    pub(crate) fn clear(&mut self) {
        *self.items = Items::default();
        self.owns_heap = false;
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.items.iter().position(|(k, _)| **k == *name)?;
        Some(self.items.remove(i).1)
    }

    /// The pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.items.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// How many values there are.
    #[inline]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.items.len() == 0
    }
}

/// What [`Values::pairs`] returns.
pub(crate) enum PairsView<'a> {
    Inline(&'a [Option<Pair>; 2]),
    Heap(&'a [Pair]),
}

/// The pairs of a [`Values`]: two inline (most matches have at most two variables), more
/// on the heap. Written as arrays of `Option`s rather than a `SmallVec` so that it needs no
/// tag of its own (the enum's lives in a spare value of the first pair): 80 bytes, where a
/// `SmallVec` of two pairs is 96, and a match returns it by value. In `Inline`, the pairs
/// present come first.
#[derive(Clone)]
enum Items {
    Inline([Option<Pair>; 2]),
    Heap(Vec<Pair>),
}

impl Default for Items {
    #[inline]
    fn default() -> Self {
        Items::Inline([None, None])
    }
}

impl PartialEq for Items {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl Items {
    #[inline]
    fn len(&self) -> usize {
        match self {
            Items::Inline([None, _]) => 0,
            Items::Inline([Some(_), None]) => 1,
            Items::Inline([Some(_), Some(_)]) => 2,
            Items::Heap(v) => v.len(),
        }
    }

    #[inline]
    fn get(&self, i: usize) -> Option<&Pair> {
        match self {
            Items::Inline(a) => a.get(i)?.as_ref(),
            Items::Heap(v) => v.get(i),
        }
    }

    #[inline]
    fn push(&mut self, pair: Pair) {
        match self {
            Items::Inline([first @ None, _]) => *first = Some(pair),
            Items::Inline([Some(_), second @ None]) => *second = Some(pair),
            Items::Inline([a @ Some(_), b @ Some(_)]) => {
                let mut v = Vec::with_capacity(4);
                v.extend(a.take());
                v.extend(b.take());
                v.push(pair);
                *self = Items::Heap(v);
            }
            Items::Heap(v) => v.push(pair),
        }
    }

    fn truncate(&mut self, len: usize) {
        match self {
            Items::Inline(a) => {
                for slot in a.iter_mut().skip(len) {
                    *slot = None;
                }
            }
            Items::Heap(v) => v.truncate(len),
        }
    }

    fn remove(&mut self, i: usize) -> Pair {
        match self {
            Items::Inline([a, b]) => {
                let removed = if i == 0 { a.take() } else { b.take() };
                if a.is_none() {
                    *a = b.take();
                }
                removed.expect("an index below len")
            }
            Items::Heap(v) => v.remove(i),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Pair> {
        let (inline, heap): (&[Option<Pair>], &[Pair]) = match self {
            Items::Inline(a) => (a, &[]),
            Items::Heap(v) => (&[], v),
        };
        inline.iter().map_while(Option::as_ref).chain(heap)
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Pair> {
        let (inline, heap): (&mut [Option<Pair>], &mut [Pair]) = match self {
            Items::Inline(a) => (a, &mut []),
            Items::Heap(v) => (&mut [], v),
        };
        inline.iter_mut().map_while(Option::as_mut).chain(heap)
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
    /// How many pairs there are, when that is cheap to know: lets `build` see that no
    /// value is left over for a query string without looking at each.
    fn pair_count(&self) -> Option<usize> {
        None
    }
    /// These values as a [`Values`], when they are one: lets `build` take a match's values
    /// by position instead of looking each name up. The default, `None`, is always correct.
    ///
    /// ```
    /// use zeug::routing::{BuildValues, Values};
    ///
    /// let values: Values = [("id", 3)].into_iter().collect();
    /// assert_eq!(values.as_values().map(Values::len), Some(1));
    /// assert!([("id", 3)].as_values().is_none());
    /// ```
    fn as_values(&self) -> Option<&Values> {
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
        Some(self.items.len())
    }
    #[inline]
    fn as_values(&self) -> Option<&Values> {
        Some(self)
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
    #[inline]
    fn as_values(&self) -> Option<&Values> {
        (**self).as_values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_access() {
        let mut v = Values::new();
        v.insert("n", 5);
        v.insert("f", 1.5);
        v.insert("s", "7");
        let id = Uuid::nil();
        v.insert("u", id);
        assert_eq!(v.get::<u8>("n"), Some(5));
        assert_eq!(v.get::<f64>("n"), Some(5.0));
        assert_eq!(v.get::<f64>("f"), Some(1.5));
        assert_eq!(v.get::<i64>("s"), Some(7));
        assert_eq!(v.get::<String>("n").as_deref(), Some("5"));
        assert_eq!(v.get::<Uuid>("u"), Some(id));
        assert_eq!(v.get::<bool>("n"), None);
        v.insert("n", 6);
        assert_eq!(v.len(), 4);
        assert_eq!(v.remove("n"), Some(Value::Int(6)));
        assert!(!v.contains("n"));
    }

    #[test]
    fn text_inline_and_heap() {
        for s in [
            "",
            "a",
            "é",
            &"x".repeat(Text::INLINE),
            &"x".repeat(Text::INLINE + 1),
            &"é".repeat(Text::INLINE / 2),
            &"é".repeat(Text::INLINE / 2 + 1),
            "ünïcödé/ẞ",
        ] {
            let t = Text::from(s);
            assert_eq!(t.as_str(), s);
            assert_eq!(Text::from(s.to_owned()), t);
            assert_eq!(t.to_string(), s);
            assert_eq!(format!("{t:?}"), format!("{s:?}"));
        }
        assert!(!Text::from("x".repeat(Text::INLINE).as_str()).is_on_heap());
        assert!(Text::from("x".repeat(Text::INLINE + 1).as_str()).is_on_heap());
        assert!(!Text::from("x".repeat(Text::INLINE)).is_on_heap());
        assert_eq!(std::mem::size_of::<Value>(), 24);
    }

    #[test]
    fn values_free_what_they_own() {
        let shared = Arc::new(5u8);
        let custom = Value::Custom(shared.clone());
        let mut v = Values::new();
        v.push_static("a", Value::Int(1));
        v.push_static("b", custom);
        let copy = v.clone();
        assert_eq!(Arc::strong_count(&shared), 3);
        drop(v);
        drop(copy);
        assert_eq!(Arc::strong_count(&shared), 1);
        // Spilled to the heap with inline-only values, and owned names.
        let mut v = Values::new();
        for i in 0..5 {
            v.insert(format!("n{i}"), i);
        }
        v.insert("long", "x".repeat(100));
        assert_eq!(v.get::<&str>("long").map(str::len), Some(100));
        drop(v);
        let mut v = Values::new();
        v.push_static("a", Value::Int(1));
        assert!(!v.owns_heap);
        v.clear();
        assert!(v.is_empty());
    }

    #[test]
    fn items_behave_like_a_vec() {
        // Deterministic pseudo-random pushes, removals, truncations and replacements,
        // checked against a plain `Vec` of the same pairs.
        let mut seed = 12345u32;
        let mut next = move |n: u32| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 16) % n
        };
        for _ in 0..200 {
            let mut values = Values::new();
            let mut model: Vec<(String, Value)> = Vec::new();
            for _ in 0..next(12) {
                let name = ["a", "b", "c", "d", "e"][next(5) as usize];
                match next(4) {
                    0 if !model.is_empty() => {
                        let i = next(model.len() as u32) as usize;
                        values.truncate(i);
                        model.truncate(i);
                    }
                    1 => {
                        let removed = values.remove(name);
                        let at = model.iter().position(|(k, _)| k == name);
                        assert_eq!(removed, at.map(|i| model.remove(i).1));
                    }
                    _ => {
                        let value = Value::Int(i64::from(next(100)));
                        values.insert(name, value.clone());
                        match model.iter_mut().find(|(k, _)| k == name) {
                            Some(slot) => slot.1 = value,
                            None => model.push((name.to_owned(), value)),
                        }
                    }
                }
                let got: Vec<(String, Value)> = values
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.clone()))
                    .collect();
                assert_eq!(got, model);
                assert_eq!(values.len(), model.len());
                assert_eq!(values.is_empty(), model.is_empty());
                for (i, (k, v)) in model.iter().enumerate() {
                    let pair = values.pair(i).unwrap();
                    assert_eq!((&*pair.0, &pair.1), (k.as_str(), v));
                }
                assert!(values.pair(model.len()).is_none());
                let viewed: Vec<&Pair> = match values.pairs() {
                    PairsView::Inline(a) => a.iter().map_while(Option::as_ref).collect(),
                    PairsView::Heap(v) => v.iter().collect(),
                };
                assert_eq!(viewed.len(), model.len());
                for (i, pair) in viewed.iter().enumerate() {
                    assert!(std::ptr::eq(*pair, values.pair(i).unwrap()));
                }
                let copy = values.clone();
                assert_eq!(copy, values);
            }
        }
        assert_eq!(std::mem::size_of::<Items>(), 80);
    }

    #[test]
    fn interning_returns_the_same_str() {
        let a = intern("some_name");
        let b = intern(&String::from("some_name"));
        assert!(std::ptr::eq(a, b));
    }
}
