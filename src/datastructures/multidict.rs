//! [`MultiDict`]: an ordered map where a key may have several values, as query strings
//! and forms do.

use std::fmt;
use std::str::FromStr;

use compact_str::CompactString;

use super::Text;

/// A key as stored: up to 24 bytes inline, so the short names of query strings, forms
/// and cookies cost no allocation of their own.
type Key = CompactString;

/// An ordered multi-map of string keys to values ([`Text`] by default).
///
/// [`get`](Self::get) returns the first value for a key, like Werkzeug's `MultiDict.get`;
/// [`get_all`](Self::get_all) returns every value in order. Keys and [`Text`] values of
/// up to 24 bytes are stored inline, so parsing a typical query string or form allocates
/// only the list of pairs.
///
/// # Examples
///
/// ```
/// use zeug::datastructures::MultiDict;
///
/// let args = MultiDict::from_query("tag=rust&tag=web&page=2");
/// assert_eq!(args.get("tag"), Some("rust"));
/// assert_eq!(args.get_all("tag").collect::<Vec<_>>(), ["rust", "web"]);
/// assert_eq!(args.get_as::<u32>("page"), Some(2));
/// assert_eq!(args.get("missing"), None);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct MultiDict<V = Text> {
    items: Vec<(Key, V)>,
}

impl<V> Default for MultiDict<V> {
    fn default() -> Self {
        MultiDict { items: Vec::new() }
    }
}

impl MultiDict<Text> {
    /// Parses an `application/x-www-form-urlencoded` string (a query string or form body).
    /// `+` is a space, bad escapes are kept literally and bytes that are not UTF-8 stay
    /// percent-encoded (`%FF`, as in Werkzeug), so
    /// hostile input never fails.
    pub fn from_query(query: &str) -> Self {
        Self::from_urlencoded(query.as_bytes())
    }

    /// Parses urlencoded bytes; see [`Self::from_query`].
    pub fn from_urlencoded(bytes: &[u8]) -> Self {
        // One allocation for the item list instead of repeated growth: a short input has
        // at most one pair per two bytes and nearly always fewer than one per eight (a
        // guess is cheaper than counting); a long one is counted.
        if bytes.is_empty() {
            return MultiDict::default();
        }
        let capacity = if bytes.len() <= 512 {
            bytes.len() / 8 + 1
        } else {
            memchr::memchr_iter(b'&', bytes).count() + 1
        };
        let mut items = Vec::with_capacity(capacity);
        crate::formparser::urlencoded::parse_into(bytes, &mut items);
        MultiDict { items }
    }
}

/// Text access for dicts of text values: [`Text`] (what parsing gives), `String`, `&str`.
impl<V: AsRef<str>> MultiDict<V> {
    /// The first value for `key`, as text.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::datastructures::MultiDict;
    ///
    /// let mut d: MultiDict<String> = MultiDict::new();
    /// d.add("lang", "en");
    /// assert_eq!(d.get("lang"), Some("en"));
    /// ```
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_value(key).map(AsRef::as_ref)
    }

    /// The first value for `key` parsed as `T`; `None` when missing or unparseable
    /// (Werkzeug's `args.get("page", type=int)`).
    pub fn get_as<T: FromStr>(&self, key: &str) -> Option<T> {
        self.get(key)?.parse().ok()
    }

    /// Encodes the pairs back as a urlencoded string.
    ///
    /// # Examples
    ///
    /// ```
    /// let d = zeug::datastructures::MultiDict::from_query("a=1&a=2&b=x+y");
    /// assert_eq!(d.to_urlencoded(), "a=1&a=2&b=x+y");
    /// ```
    pub fn to_urlencoded(&self) -> String {
        crate::urls::urlencode(self.items.iter().map(|(k, v)| (k.as_str(), v.as_ref())))
    }
}

impl<V> MultiDict<V> {
    /// An empty dict.
    pub fn new() -> Self {
        MultiDict { items: Vec::new() }
    }

    /// An empty dict with room for `capacity` pairs.
    pub fn with_capacity(capacity: usize) -> Self {
        MultiDict {
            items: Vec::with_capacity(capacity),
        }
    }

    /// Makes room for at least `additional` more pairs.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut d: zeug::datastructures::MultiDict = zeug::datastructures::MultiDict::new();
    /// d.reserve(10);
    /// d.add("a", "1");
    /// assert_eq!(d.get("a"), Some("1"));
    /// ```
    pub fn reserve(&mut self, additional: usize) {
        self.items.reserve(additional);
    }

    /// The first value for `key`.
    pub fn get_value(&self, key: &str) -> Option<&V> {
        self.items.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Every value for `key`, in order (Werkzeug's `getlist`).
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a V> + 'a {
        self.items
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Whether `key` has at least one value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.items.iter().any(|(k, _)| k == key)
    }

    /// Appends a value for `key`, keeping earlier ones.
    ///
    /// # Examples
    ///
    /// ```
    /// // The value type is needed where nothing else tells it: `MultiDict` alone is
    /// // `MultiDict<Text>`, what parsing gives.
    /// let mut d: zeug::datastructures::MultiDict = zeug::datastructures::MultiDict::new();
    /// d.add("tag", "rust");
    /// d.add("tag", String::from("web"));
    /// assert_eq!(d.get_all("tag").collect::<Vec<_>>(), ["rust", "web"]);
    /// ```
    pub fn add(&mut self, key: impl AsRef<str>, value: impl Into<V>) {
        self.items.push((Key::new(key.as_ref()), value.into()));
    }

    /// [`add`](Self::add) for the crate's parsers, which decode keys straight into the
    /// stored form.
    pub(crate) fn add_key(&mut self, key: Key, value: V) {
        self.items.push((key, value));
    }

    /// Replaces every value for `key` with `value`.
    pub fn set(&mut self, key: impl AsRef<str>, value: impl Into<V>) {
        let key = Key::new(key.as_ref());
        self.items.retain(|(k, _)| *k != key);
        self.items.push((key, value.into()));
    }

    /// Removes every value for `key`, returning them.
    pub fn remove(&mut self, key: &str) -> Vec<V> {
        let mut removed = Vec::new();
        let mut kept = Vec::with_capacity(self.items.len());
        for (k, v) in self.items.drain(..) {
            if k == key {
                removed.push(v);
            } else {
                kept.push((k, v));
            }
        }
        self.items = kept;
        removed
    }

    /// All pairs in order, a key repeated once per value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.items.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Each distinct key once, in first-seen order.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for (k, _) in &self.items {
            if !keys.contains(&k.as_str()) {
                keys.push(k.as_str());
            }
        }
        keys
    }

    /// Number of pairs (not of distinct keys).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds every pair of `other` after the existing ones (how `values` merges args and form).
    pub fn extend<K: AsRef<str>, T: Into<V>>(&mut self, other: impl IntoIterator<Item = (K, T)>) {
        self.items.extend(
            other
                .into_iter()
                .map(|(k, v)| (Key::new(k.as_ref()), v.into())),
        );
    }

    /// The first value for `key`, to change in place.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut d = zeug::datastructures::MultiDict::from_query("n=1");
    /// *d.get_value_mut("n").unwrap() = "2".into();
    /// assert_eq!(d.get("n"), Some("2"));
    /// ```
    pub fn get_value_mut(&mut self, key: &str) -> Option<&mut V> {
        self.items
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Replaces every value for `key` with `values`, in order (Werkzeug's `setlist`); no
    /// values removes the key.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut d = zeug::datastructures::MultiDict::from_query("tag=a&page=1&tag=b");
    /// d.set_all("tag", ["x", "y", "z"]);
    /// assert_eq!(d.get_all("tag").collect::<Vec<_>>(), ["x", "y", "z"]);
    /// assert_eq!(d.get("page"), Some("1"));
    /// ```
    pub fn set_all<T: Into<V>>(
        &mut self,
        key: impl AsRef<str>,
        values: impl IntoIterator<Item = T>,
    ) {
        let key = Key::new(key.as_ref());
        self.items.retain(|(k, _)| *k != key);
        self.items
            .extend(values.into_iter().map(|v| (key.clone(), v.into())));
    }

    /// Keeps only the pairs for which `keep(key, value)` is true, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut d = zeug::datastructures::MultiDict::from_query("a=1&b=&c=3");
    /// d.retain(|_, v| !v.is_empty());
    /// assert_eq!(d.keys(), ["a", "c"]);
    /// ```
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &V) -> bool) {
        self.items.retain(|(k, v)| keep(k, v));
    }

    /// Removes every pair.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Each distinct key once, in first-seen order, with all its values in order
    /// (Werkzeug's `lists()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let d = zeug::datastructures::MultiDict::from_query("a=1&b=2&a=3");
    /// let lists = d.lists();
    /// assert_eq!(lists[0].0, "a");
    /// assert_eq!(lists[0].1, ["1", "3"]);
    /// assert_eq!(lists[1].1, ["2"]);
    /// ```
    pub fn lists(&self) -> Vec<(&str, Vec<&V>)> {
        let mut out: Vec<(&str, Vec<&V>)> = Vec::new();
        for (k, v) in self.iter() {
            match out.iter_mut().find(|(seen, _)| *seen == k) {
                Some((_, values)) => values.push(v),
                None => out.push((k, vec![v])),
            }
        }
        out
    }

    /// The pairs as a vector.
    pub fn into_vec(self) -> Vec<(String, V)> {
        self.into_iter().collect()
    }
}

impl<V: Clone> MultiDict<V> {
    /// Every value per key, in order, as Werkzeug's `to_dict(flat=False)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let d = zeug::datastructures::MultiDict::from_query("a=1&b=2&a=3");
    /// let all = d.to_dict_lists();
    /// assert_eq!(all["a"], ["1", "3"]);
    /// ```
    pub fn to_dict_lists(&self) -> std::collections::BTreeMap<String, Vec<V>> {
        let mut out: std::collections::BTreeMap<String, Vec<V>> = std::collections::BTreeMap::new();
        for (k, v) in self.iter() {
            out.entry(k.to_owned()).or_default().push(v.clone());
        }
        out
    }

    /// One value per key (the first), as Werkzeug's `to_dict()`.
    pub fn to_dict(&self) -> std::collections::BTreeMap<String, V> {
        let mut out = std::collections::BTreeMap::new();
        for (k, v) in &self.items {
            out.entry(k.to_string()).or_insert_with(|| v.clone());
        }
        out
    }
}

impl<V: fmt::Debug> fmt::Debug for MultiDict<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.items.iter()).finish()
    }
}

/// Collects `(key, value)` pairs, values converted as [`add`](MultiDict::add) does.
///
/// # Examples
///
/// ```
/// use zeug::datastructures::MultiDict;
///
/// let d: MultiDict = [("a", "1"), ("a", "2")].into_iter().collect();
/// assert_eq!(d.get_all("a").collect::<Vec<_>>(), ["1", "2"]);
/// ```
impl<K: AsRef<str>, V, T: Into<V>> FromIterator<(K, T)> for MultiDict<V> {
    fn from_iter<I: IntoIterator<Item = (K, T)>>(iter: I) -> Self {
        MultiDict {
            items: iter
                .into_iter()
                .map(|(k, v)| (Key::new(k.as_ref()), v.into()))
                .collect(),
        }
    }
}

/// The owning iterator of a [`MultiDict`]: `(String, V)` pairs in order.
pub struct MultiDictIntoIter<V> {
    inner: std::vec::IntoIter<(Key, V)>,
}

impl<V> Iterator for MultiDictIntoIter<V> {
    type Item = (String, V);
    fn next(&mut self) -> Option<(String, V)> {
        self.inner.next().map(|(k, v)| (k.into_string(), v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<V> ExactSizeIterator for MultiDictIntoIter<V> {}

impl<V> DoubleEndedIterator for MultiDictIntoIter<V> {
    fn next_back(&mut self) -> Option<(String, V)> {
        self.inner.next_back().map(|(k, v)| (k.into_string(), v))
    }
}

impl<V: fmt::Debug> fmt::Debug for MultiDictIntoIter<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.inner.as_slice()).finish()
    }
}

impl<V> IntoIterator for MultiDict<V> {
    type Item = (String, V);
    type IntoIter = MultiDictIntoIter<V>;
    /// Consumes the dict, yielding `(key, value)` pairs in order.
    ///
    /// # Examples
    ///
    /// ```
    /// let d = zeug::datastructures::MultiDict::from_query("a=1&b=2");
    /// let pairs: Vec<(String, _)> = d.into_iter().collect();
    /// assert_eq!(pairs, [("a".to_owned(), "1".into()), ("b".into(), "2".into())]);
    /// ```
    fn into_iter(self) -> Self::IntoIter {
        MultiDictIntoIter {
            inner: self.items.into_iter(),
        }
    }
}

impl<V: serde::Serialize> serde::Serialize for MultiDict<V> {
    /// Serializes as a sequence of `[key, value]` pairs, so `serde_urlencoded` and
    /// `serde_json` keep repeated keys.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.items.len()))?;
        for (k, v) in &self.items {
            seq.serialize_element(&(k.as_str(), v))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_queries_do_not_fail() {
        let d = MultiDict::from_query("a=%zz&b=%FF%FE&=x&c&&d=1=2");
        assert_eq!(d.get("a"), Some("%zz"));
        assert_eq!(d.get("b"), Some("%FF%FE"));
        assert_eq!(d.get(""), Some("x"));
        assert_eq!(d.get("c"), Some(""));
        assert_eq!(d.get("d"), Some("1=2"));
    }

    #[test]
    fn set_remove_and_keys() {
        let mut d: MultiDict = MultiDict::from_query("a=1&b=2&a=3");
        assert_eq!(d.keys(), ["a", "b"]);
        d.set("a", "9");
        assert_eq!(d.get_all("a").collect::<Vec<_>>(), ["9"]);
        assert_eq!(d.remove("b"), ["2"]);
        assert_eq!(d.len(), 1);
        assert_eq!(d.to_dict().get("a").map(Text::as_str), Some("9"));
    }
}
