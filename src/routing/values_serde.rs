//! [`Values`] and serde: [`Values::parse`] reads a match's values into a
//! `#[derive(Deserialize)]` struct, [`Values::from_serialize`] makes build values from a
//! `#[derive(Serialize)]` one (through `serde_urlencoded`). Typed access by name is
//! `values`' own; this module only bridges to serde, with one error type, [`ValuesError`].

use std::fmt;

use serde::Serialize;
use serde::de::{self, DeserializeOwned, IntoDeserializer};

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
/// #[derive(serde::Deserialize)]
/// struct Show { idd: i64 } // misspelt
///
/// let values: zeug::routing::Values = [("id", 3)].into_iter().collect();
/// let err = values.parse::<Show>().err().unwrap();
/// assert!(err.to_string().contains("missing field `idd`"), "{err}");
/// assert_eq!(zeug::HttpException::from(err).status(), 500);
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
    /// assert_eq!(view(&map, &request).unwrap().body_text().unwrap(), "7: hello");
    /// ```
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ValuesError> {
        let pairs = self.iter().map(|(k, v)| (k, ValueDeserializer(v)));
        T::deserialize(de::value::MapDeserializer::<_, ValuesError>::new(pairs))
    }

    /// Values from a `#[derive(Serialize)]` struct (or a map, or `(name, value)` pairs) of
    /// text, numbers and booleans, to build a URL with: `None` fields are left out, and
    /// each value is its text (which the rule's converters read, as they read defaults).
    /// The struct is flattened by `serde_urlencoded`, so nested structs and lists are
    /// errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use serde::Serialize;
    /// use zeug::routing::{Map, Rule, Values};
    ///
    /// #[derive(Serialize)]
    /// struct Post<'a> { year: u16, slug: &'a str, page: Option<u32>, tag: Option<&'a str> }
    ///
    /// let map = Map::new([Rule::new("/blog/<int:year>/<slug>", "post")]);
    /// let a = map.bind("example.com", "");
    /// let post = Post { year: 2024, slug: "hello world", page: Some(2), tag: None };
    /// let values = Values::from_serialize(&post).unwrap();
    /// assert_eq!(a.build(&"post", &values).unwrap(), "/blog/2024/hello%20world?page=2");
    /// ```
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Values, ValuesError> {
        let query = serde_urlencoded::to_string(value).map_err(|e| ValuesError {
            message: format!("build values come from a flat struct or map: {e}"),
        })?;
        Ok(form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect())
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
