//! JSON exactly as httpbin writes it.
//!
//! httpbin answers through Flask's `jsonify` (keys sorted, two-space indent, non-ASCII
//! escaped as `\uXXXX`, a trailing newline) and writes `/stream` lines with Python's
//! `json.dumps` (insertion order, `", "` and `": "` separators). `serde_json` can do neither
//! ordering choice nor Python's number spelling (`1e+100`), so this module keeps an
//! ordered [`Json`] value and writes it in either style. It owns no HTTP: the views turn
//! the text into responses with [`jsonify`].

use std::fmt::Write as _;

use zeug::Response;

/// A JSON value whose objects keep their keys in insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number as parsed (integers stay exact).
    Num(serde_json::Number),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, in insertion order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An object from `(key, value)` pairs.
    pub fn obj<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string value.
    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    /// An integer value.
    pub fn int(n: i64) -> Json {
        Json::Num(n.into())
    }
}

impl From<serde_json::Value> for Json {
    fn from(v: serde_json::Value) -> Self {
        use serde_json::Value;
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => Json::Num(n),
            Value::String(s) => Json::Str(s),
            Value::Array(a) => Json::Arr(a.into_iter().map(Json::from).collect()),
            Value::Object(o) => Json::Obj(o.into_iter().map(|(k, v)| (k, v.into())).collect()),
        }
    }
}

/// How to write a [`Json`] value.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Pretty-print with this many spaces per level (`None`: one line).
    pub indent: Option<usize>,
    /// Write object keys sorted (Flask's `jsonify`) instead of in insertion order.
    pub sort_keys: bool,
}

/// Flask's `jsonify`: sorted keys, indent 2.
pub const JSONIFY: Style = Style {
    indent: Some(2),
    sort_keys: true,
};

/// Python's `json.dumps(obj)`: one line, insertion order.
pub const DUMPS: Style = Style {
    indent: None,
    sort_keys: false,
};

/// Writes `value` in `style`, escaping non-ASCII like Python's `ensure_ascii=True`.
pub fn to_string(value: &Json, style: Style) -> String {
    let mut out = String::new();
    write_value(&mut out, value, style, 0);
    out
}

/// A `200 OK` `application/json` response written like Flask's `jsonify` (with its
/// trailing newline).
pub fn jsonify(value: &Json) -> Response {
    let mut text = to_string(value, JSONIFY);
    text.push('\n');
    Response::new(text).with_mimetype("application/json")
}

fn newline(out: &mut String, style: Style, level: usize) {
    if let Some(n) = style.indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * level));
    }
}

fn write_value(out: &mut String, value: &Json, style: Style, level: usize) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        Json::Num(n) => write_number(out, n),
        Json::Str(s) => write_str(out, s),
        Json::Arr(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(if style.indent.is_some() { "," } else { ", " });
                }
                newline(out, style, level + 1);
                write_value(out, item, style, level + 1);
            }
            newline(out, style, level);
            out.push(']');
        }
        Json::Obj(pairs) => {
            if pairs.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut refs: Vec<&(String, Json)> = pairs.iter().collect();
            if style.sort_keys {
                // Python sorts str keys by code point; for UTF-8 that is byte order.
                refs.sort_by(|a, b| a.0.cmp(&b.0));
            }
            out.push('{');
            for (i, (k, v)) in refs.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(if style.indent.is_some() { "," } else { ", " });
                }
                newline(out, style, level + 1);
                write_str(out, k);
                out.push_str(": ");
                write_value(out, v, style, level + 1);
            }
            newline(out, style, level);
            out.push('}');
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Numbers as Python's `repr`: integers as is; floats shortest round-trip, positional for
/// exponents in `-4..16` (always with a fraction), else `1e+100` / `1e-07`.
fn write_number(out: &mut String, n: &serde_json::Number) {
    if n.is_f64() {
        let f = n.as_f64().unwrap_or(0.0);
        out.push_str(&py_float_repr(f));
    } else {
        let _ = write!(out, "{n}");
    }
}

/// Python's `repr(float)`.
pub fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.25e-7", "1e100", "0e0".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let mut s = String::from(sign);
        if point <= 0 {
            s.push_str("0.");
            s.push_str(&"0".repeat((-point) as usize));
            s.push_str(&digits);
        } else if point as usize >= digits.len() {
            s.push_str(&digits);
            s.push_str(&"0".repeat(point as usize - digits.len()));
            s.push_str(".0");
        } else {
            s.push_str(&digits[..point as usize]);
            s.push('.');
            s.push_str(&digits[point as usize..]);
        }
        s
    } else {
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_spelled_like_python() {
        for (f, want) in [
            (1e100, "1e+100"),
            (2.5, "2.5"),
            (1.0, "1.0"),
            (1e-7, "1e-07"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (-123.456, "-123.456"),
            (0.0, "0.0"),
        ] {
            assert_eq!(py_float_repr(f), want, "{f}");
        }
    }

    #[test]
    fn jsonify_sorts_indents_and_escapes() {
        let v = Json::obj([
            ("b", Json::Arr(vec![Json::int(1), Json::str("é😀")])),
            ("a", Json::Obj(vec![])),
        ]);
        assert_eq!(
            to_string(&v, JSONIFY),
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    \"\\u00e9\\ud83d\\ude00\"\n  ]\n}"
        );
        assert_eq!(
            to_string(&v, DUMPS),
            "{\"b\": [1, \"\\u00e9\\ud83d\\ude00\"], \"a\": {}}"
        );
    }
}
