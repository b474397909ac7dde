//! [`Values`] and serde: [`Values::parse`] reads a match's values into a
//! `#[derive(Deserialize)]` struct, [`Values::from_serialize`] makes build values from a
//! `#[derive(Serialize)]` one. Typed access by name is `values`' own; this module only
//! bridges to serde, with one error type, [`ValuesError`].

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer};
use serde::ser::{self, Impossible, Serialize};

use super::values::{FromValue, Value, Values};
use crate::HttpException;

/// Values that do not fit the type asked for: a field the rule has no value for, a value of
/// the wrong type, or (building) a struct that is not a flat list of names and values.
///
/// It is the application's mistake, not the client's: as an [`HttpException`] it is a 500
/// whose reason is logged, not shown.
///
/// # Examples
///
/// ```
/// use serde::Deserialize;
/// use zeug::routing::{Map, Method, Rule};
/// use zeug::HttpException;
///
/// #[derive(Deserialize)]
/// struct Show { idd: i64 } // misspelt
///
/// let map = Map::new([Rule::new("/show/<int:id>", "show")]);
/// let (_, values) = map.bind("localhost", "").match_("/show/3", &Method::GET).unwrap();
/// let err = values.parse::<Show>().err().unwrap();
/// assert!(err.to_string().contains("missing field `idd`"), "{err}");
/// assert_eq!(HttpException::from(err).status(), 500);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuesError {
    message: String,
}

impl fmt::Display for ValuesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "URL values do not fit: {}", self.message)
    }
}

impl std::error::Error for ValuesError {}

impl de::Error for ValuesError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValuesError {
            message: msg.to_string(),
        }
    }
}

impl ser::Error for ValuesError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValuesError {
            message: msg.to_string(),
        }
    }
}

impl From<ValuesError> for HttpException {
    /// A struct that does not fit its rule's values is a server bug: a 500, with the
    /// reason in the log and not in the response.
    fn from(e: ValuesError) -> Self {
        log::error!("routing: {e}");
        HttpException::internal_server_error()
    }
}

impl Values {
    /// Reads the values into `T`, usually a `#[derive(Deserialize)]` struct whose fields are
    /// the rule's variables (and defaults). A missing or misspelt field, or a value of
    /// another type, is an error; values the struct does not name are ignored (unless it
    /// says `#[serde(deny_unknown_fields)]`). Numbers convert as [`Values::get`] does, so a
    /// `u8` field takes an `int` value that fits, and `Option` fields may be absent.
    ///
    /// The error converts into a 500 [`HttpException`], so `?` works in a view.
    ///
    /// # Examples
    ///
    /// ```
    /// use serde::Deserialize;
    /// use zeug::routing::{Map, Rule};
    /// use zeug::test::EnvironBuilder;
    /// use zeug::{HttpException, Request, Response};
    ///
    /// #[derive(Deserialize)]
    /// struct Show { id: u32, slug: String }
    ///
    /// fn view(map: &Map<&'static str>, request: &Request) -> Result<Response, HttpException> {
    ///     let (_, values) = map.bind_to_environ(request.environ()).match_request()?;
    ///     let Show { id, slug } = values.parse()?;
    ///     Ok(Response::new(format!("{id}: {slug}")))
    /// }
    ///
    /// let map = Map::new([Rule::new("/show/<int:id>/<slug>", "show")]);
    /// let request = Request::new(EnvironBuilder::new("GET", "/show/7/hello").build());
    /// assert_eq!(view(&map, &request).unwrap().text().unwrap(), "7: hello");
    /// ```
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ValuesError> {
        let pairs = self.iter().map(|(k, v)| (k, ValueDeserializer(v)));
        T::deserialize(de::value::MapDeserializer::<_, ValuesError>::new(pairs))
    }

    /// Values from a `#[derive(Serialize)]` struct (or a map, or `(name, value)` pairs), to
    /// build a URL with: each field is a value; `None` fields are left out; a list field
    /// gives its name once per item (for the query string, as Werkzeug does with lists).
    ///
    /// # Examples
    ///
    /// ```
    /// use serde::Serialize;
    /// use zeug::routing::{Map, Rule, Values};
    ///
    /// #[derive(Serialize)]
    /// struct Post<'a> { year: u16, slug: &'a str, tag: Vec<&'a str>, page: Option<u32> }
    ///
    /// let map = Map::new([Rule::new("/blog/<int:year>/<slug>", "post")]);
    /// let a = map.bind("example.com", "");
    /// let post = Post { year: 2024, slug: "hello world", tag: vec!["a", "b"], page: None };
    /// let values = Values::from_serialize(&post).unwrap();
    /// assert_eq!(a.build(&"post", &values).unwrap(), "/blog/2024/hello%20world?tag=a&tag=b");
    /// ```
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Values, ValuesError> {
        let mut values = Values::new();
        value.serialize(TopSerializer {
            values: &mut values,
        })?;
        Ok(values)
    }
}

/// Deserializes one [`Value`].
struct ValueDeserializer<'v>(&'v Value);

impl<'de> IntoDeserializer<'de, ValuesError> for ValueDeserializer<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl ValueDeserializer<'_> {
    fn typed<'a, T: FromValue<'a>>(&self, value: &'a Value, what: &str) -> Result<T, ValuesError> {
        T::from_value(value).ok_or_else(|| {
            de::Error::custom(format_args!("expected {what}, found the value {value:?}"))
        })
    }
}

macro_rules! deserialize_typed {
    ($($method:ident => $visit:ident($t:ty, $what:literal);)*) => {$(
        fn $method<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValuesError> {
            visitor.$visit(self.typed::<$t>(self.0, $what)?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'_> {
    type Error = ValuesError;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValuesError> {
        match self.0 {
            Value::Str(s) => visitor.visit_str(s),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(x) => visitor.visit_f64(*x),
            Value::Uuid(u) => visitor.visit_string(u.hyphenated().to_string()),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Custom(_) => Err(de::Error::custom(
                "a custom converter's value cannot be deserialized; read it with Values::get_custom",
            )),
        }
    }

    deserialize_typed! {
        deserialize_i8 => visit_i8(i8, "an i8");
        deserialize_i16 => visit_i16(i16, "an i16");
        deserialize_i32 => visit_i32(i32, "an i32");
        deserialize_i64 => visit_i64(i64, "an i64");
        deserialize_i128 => visit_i128(i128, "an i128");
        deserialize_u8 => visit_u8(u8, "a u8");
        deserialize_u16 => visit_u16(u16, "a u16");
        deserialize_u32 => visit_u32(u32, "a u32");
        deserialize_u64 => visit_u64(u64, "a u64");
        deserialize_u128 => visit_u128(u128, "a u128");
        deserialize_f32 => visit_f32(f32, "an f32");
        deserialize_f64 => visit_f64(f64, "an f64");
        deserialize_bool => visit_bool(bool, "a bool");
        deserialize_string => visit_string(String, "text");
    }

    fn deserialize_str<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValuesError> {
        match self.0 {
            Value::Str(s) => visitor.visit_str(s),
            other => visitor.visit_string(self.typed::<String>(other, "text")?),
        }
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValuesError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValuesError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValuesError> {
        // Unit variants by name: an `any(...)` value into a Rust enum.
        match self.0 {
            Value::Str(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => Err(de::Error::custom(format_args!(
                "expected the name of a variant, found the value {other:?}"
            ))),
        }
    }

    serde::forward_to_deserialize_any! {
        char bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

/// Serializes the top level (a struct, a map, or a sequence of pairs) into [`Values`].
struct TopSerializer<'a> {
    values: &'a mut Values,
}

fn not_flat<T>(what: &str) -> Result<T, ValuesError> {
    Err(ser::Error::custom(format_args!(
        "build values come from a struct, a map or (name, value) pairs, not {what}"
    )))
}

macro_rules! refuse {
    ($($method:ident($($arg:ty),*) -> $ok:ty, $what:literal;)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<$ok, ValuesError> {
            not_flat($what)
        }
    )*};
}

impl<'a> ser::Serializer for TopSerializer<'a> {
    type Ok = ();
    type Error = ValuesError;
    type SerializeSeq = PairsSerializer<'a>;
    type SerializeTuple = PairsSerializer<'a>;
    type SerializeTupleStruct = Impossible<(), ValuesError>;
    type SerializeTupleVariant = Impossible<(), ValuesError>;
    type SerializeMap = MapSerializer<'a>;
    type SerializeStruct = MapSerializer<'a>;
    type SerializeStructVariant = Impossible<(), ValuesError>;

    refuse! {
        serialize_bool(bool) -> (), "a bool";
        serialize_i8(i8) -> (), "a number";
        serialize_i16(i16) -> (), "a number";
        serialize_i32(i32) -> (), "a number";
        serialize_i64(i64) -> (), "a number";
        serialize_u8(u8) -> (), "a number";
        serialize_u16(u16) -> (), "a number";
        serialize_u32(u32) -> (), "a number";
        serialize_u64(u64) -> (), "a number";
        serialize_f32(f32) -> (), "a number";
        serialize_f64(f64) -> (), "a number";
        serialize_char(char) -> (), "a char";
        serialize_str(&str) -> (), "text";
        serialize_bytes(&[u8]) -> (), "bytes";
        serialize_unit_variant(&'static str, u32, &'static str) -> (), "an enum";
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct, "a tuple struct";
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant, "an enum";
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant, "an enum";
    }

    fn serialize_none(self) -> Result<(), ValuesError> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), ValuesError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), ValuesError> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), ValuesError> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), ValuesError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), ValuesError> {
        not_flat("an enum")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<PairsSerializer<'a>, ValuesError> {
        Ok(PairsSerializer {
            values: self.values,
        })
    }
    fn serialize_tuple(self, _: usize) -> Result<PairsSerializer<'a>, ValuesError> {
        Ok(PairsSerializer {
            values: self.values,
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSerializer<'a>, ValuesError> {
        Ok(MapSerializer {
            values: self.values,
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapSerializer<'a>, ValuesError> {
        Ok(MapSerializer {
            values: self.values,
            key: None,
        })
    }
}

/// The fields of a struct or the entries of a map.
struct MapSerializer<'a> {
    values: &'a mut Values,
    key: Option<String>,
}

impl MapSerializer<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, name: String, value: &T) -> Result<(), ValuesError> {
        let mut items = Vec::new();
        value.serialize(FieldSerializer {
            items: &mut items,
            in_list: false,
        })?;
        for item in items {
            self.values.push_owned(name.clone(), item);
        }
        Ok(())
    }
}

impl ser::SerializeStruct for MapSerializer<'_> {
    type Ok = ();
    type Error = ValuesError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ValuesError> {
        self.field(key.to_owned(), value)
    }
    fn end(self) -> Result<(), ValuesError> {
        Ok(())
    }
}

impl ser::SerializeMap for MapSerializer<'_> {
    type Ok = ();
    type Error = ValuesError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ValuesError> {
        let mut items = Vec::new();
        key.serialize(FieldSerializer {
            items: &mut items,
            in_list: true,
        })?;
        match items.as_slice() {
            [Value::Str(s)] => self.key = Some(s.to_string()),
            _ => return not_flat("a map with keys other than text"),
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValuesError> {
        match self.key.take() {
            Some(key) => self.field(key, value),
            None => not_flat("a map value without a key"),
        }
    }
    fn end(self) -> Result<(), ValuesError> {
        Ok(())
    }
}

/// A sequence of `(name, value)` pairs.
struct PairsSerializer<'a> {
    values: &'a mut Values,
}

impl ser::SerializeSeq for PairsSerializer<'_> {
    type Ok = ();
    type Error = ValuesError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, pair: &T) -> Result<(), ValuesError> {
        let mut items = Vec::new();
        pair.serialize(FieldSerializer {
            items: &mut items,
            in_list: false,
        })?;
        match <[Value; 2]>::try_from(items) {
            Ok([Value::Str(name), value]) => {
                self.values.push_owned(name.to_string(), value);
                Ok(())
            }
            _ => not_flat("a sequence of anything but (name, value) pairs"),
        }
    }
    fn end(self) -> Result<(), ValuesError> {
        Ok(())
    }
}

impl ser::SerializeTuple for PairsSerializer<'_> {
    type Ok = ();
    type Error = ValuesError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, pair: &T) -> Result<(), ValuesError> {
        ser::SerializeSeq::serialize_element(self, pair)
    }
    fn end(self) -> Result<(), ValuesError> {
        Ok(())
    }
}

/// One field: a scalar, `None` (nothing), or a list of scalars (one item each). Also
/// serializes a `(name, value)` pair as its two items.
struct FieldSerializer<'a> {
    items: &'a mut Vec<Value>,
    /// Inside a list or pair already: no further nesting.
    in_list: bool,
}

macro_rules! scalar {
    ($($method:ident($t:ty) => $make:expr;)*) => {$(
        fn $method(self, v: $t) -> Result<(), ValuesError> {
            #[allow(clippy::redundant_closure_call)]
            self.items.push(($make)(v));
            Ok(())
        }
    )*};
}

impl<'a> ser::Serializer for FieldSerializer<'a> {
    type Ok = ();
    type Error = ValuesError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Impossible<(), ValuesError>;
    type SerializeTupleVariant = Impossible<(), ValuesError>;
    type SerializeMap = Impossible<(), ValuesError>;
    type SerializeStruct = Impossible<(), ValuesError>;
    type SerializeStructVariant = Impossible<(), ValuesError>;

    scalar! {
        serialize_bool(bool) => Value::Bool;
        serialize_i8(i8) => Value::from;
        serialize_i16(i16) => Value::from;
        serialize_i32(i32) => Value::from;
        serialize_i64(i64) => Value::from;
        serialize_u8(u8) => Value::from;
        serialize_u16(u16) => Value::from;
        serialize_u32(u32) => Value::from;
        serialize_f32(f32) => Value::from;
        serialize_f64(f64) => Value::from;
        serialize_char(char) => |c: char| Value::from(c.to_string());
        serialize_str(&str) => Value::from;
    }

    fn serialize_u64(self, v: u64) -> Result<(), ValuesError> {
        match i64::try_from(v) {
            Ok(i) => self.items.push(Value::Int(i)),
            Err(_) => self.items.push(Value::from(v.to_string())),
        }
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), ValuesError> {
        not_flat("bytes")
    }
    fn serialize_none(self) -> Result<(), ValuesError> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), ValuesError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), ValuesError> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), ValuesError> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), ValuesError> {
        self.items.push(Value::from(variant));
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), ValuesError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), ValuesError> {
        not_flat("an enum with data")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, ValuesError> {
        if self.in_list {
            return not_flat("nested lists");
        }
        Ok(FieldSerializer {
            items: self.items,
            in_list: true,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Self, ValuesError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, ValuesError> {
        not_flat("a tuple struct")
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ValuesError> {
        not_flat("an enum with data")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, ValuesError> {
        not_flat("a nested map")
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, ValuesError> {
        not_flat("a nested struct")
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ValuesError> {
        not_flat("an enum with data")
    }
}

impl ser::SerializeSeq for FieldSerializer<'_> {
    type Ok = ();
    type Error = ValuesError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValuesError> {
        value.serialize(FieldSerializer {
            items: self.items,
            in_list: true,
        })
    }
    fn end(self) -> Result<(), ValuesError> {
        Ok(())
    }
}

impl ser::SerializeTuple for FieldSerializer<'_> {
    type Ok = ();
    type Error = ValuesError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValuesError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), ValuesError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[test]
    fn parses_into_structs_strictly() {
        #[derive(Deserialize, Debug, PartialEq)]
        enum Kind {
            #[serde(rename = "a")]
            A,
            #[serde(rename = "b")]
            B,
        }
        #[derive(Deserialize, Debug, PartialEq)]
        struct All {
            id: u8,
            name: String,
            kind: Kind,
            ratio: f64,
            page: Option<u32>,
            missing: Option<u32>,
        }
        let mut v = Values::new();
        v.insert("id", 7);
        v.insert("name", "x y");
        v.insert("kind", "b");
        v.insert("ratio", 2);
        v.insert("page", "3");
        v.insert("extra", true);
        let all: All = v.parse().unwrap();
        assert_eq!(
            all,
            All {
                id: 7,
                name: "x y".into(),
                kind: Kind::B,
                ratio: 2.0,
                page: Some(3),
                missing: None
            }
        );
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Small {
            id: u8,
        }
        v.insert("id", 700);
        let e = v.parse::<Small>().unwrap_err();
        assert!(e.to_string().contains("expected a u8"), "{e}");
        v.insert("kind", "c");
        assert!(v.parse::<All>().is_err());
        v.insert("id", Value::custom(1));
        assert!(v.parse::<Small>().is_err());
        assert_eq!(
            HttpException::from(v.parse::<Small>().unwrap_err()).status(),
            500
        );
    }

    #[test]
    fn serializes_flat_values() {
        #[derive(Serialize)]
        struct Args<'a> {
            id: u64,
            big: u64,
            name: &'a str,
            tags: Vec<&'a str>,
            skip: Option<i32>,
            flag: bool,
        }
        let v = Values::from_serialize(&Args {
            id: 3,
            big: u64::MAX,
            name: "n",
            tags: vec!["a", "b"],
            skip: None,
            flag: true,
        })
        .unwrap();
        let pairs: Vec<(String, String)> =
            v.iter().map(|(k, v)| (k.into(), v.to_string())).collect();
        let expected = [
            ("id", "3"),
            ("big", "18446744073709551615"),
            ("name", "n"),
            ("tags", "a"),
            ("tags", "b"),
            ("flag", "true"),
        ];
        assert_eq!(pairs.len(), expected.len());
        for ((k, v), (ek, ev)) in pairs.iter().zip(expected) {
            assert_eq!((k.as_str(), v.as_str()), (ek, ev));
        }
        let pairs = Values::from_serialize(&[("a", 1), ("b", 2)]).unwrap();
        assert_eq!(pairs.get::<i64>("b"), Some(2));
        let map: std::collections::BTreeMap<&str, &str> = [("k", "v")].into_iter().collect();
        assert_eq!(
            Values::from_serialize(&map).unwrap().get::<&str>("k"),
            Some("v")
        );
        assert!(Values::from_serialize(&3).is_err());
        assert!(Values::from_serialize(&[1, 2]).is_err());
        #[derive(Serialize)]
        struct Nested {
            inner: Args<'static>,
        }
        let inner = Args {
            id: 1,
            big: 1,
            name: "",
            tags: vec![],
            skip: None,
            flag: false,
        };
        assert!(Values::from_serialize(&Nested { inner }).is_err());
    }
}
