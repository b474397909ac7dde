//! Rule syntax: turns `"/blog/<int(min=1):year>/<slug>"` into tokens, and parses converter
//! arguments (`min=1`, `"a,b"`, `True`). It knows nothing about converters' meaning or about
//! matching; `rule` compiles tokens into parts.

use std::fmt;

/// One token of a rule string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// A `/`.
    Slash,
    /// Static text (never contains `/` or `<`).
    Static(String),
    /// A `<converter(args):name>` variable.
    Var {
        converter: String,
        args: String,
        name: String,
    },
}

/// What is wrong with a rule string (the caller adds which rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SyntaxError {
    Unclosed(usize),
    Malformed(usize, &'static str),
    MatchitStyle(String),
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxError::Unclosed(at) => write!(f, "'<' at byte {at} is never closed with '>'"),
            SyntaxError::Malformed(at, why) => write!(f, "malformed variable at byte {at}: {why}"),
            SyntaxError::MatchitStyle(found) => write!(
                f,
                "'{found}' looks like another router's syntax; zeug rules write variables as <name> or <converter:name>"
            ),
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn ident_end(s: &str, from: usize) -> usize {
    let bytes = s.as_bytes();
    let mut i = from;
    if i < bytes.len() && is_ident_start(bytes[i] as char) {
        i += 1;
        while i < bytes.len() && is_ident(bytes[i] as char) {
            i += 1;
        }
    }
    i
}

/// Splits a rule into tokens, as Werkzeug's `_part_re` does, and rejects `{id}`, `:id` and
/// `*rest` segments that were meant as variables of another router.
pub(crate) fn tokenize(rule: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut tokens = Vec::new();
    let bytes = rule.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        match bytes[pos] {
            b'/' => {
                tokens.push(Token::Slash);
                pos += 1;
            }
            b'<' => {
                let start = pos;
                let close = match rule[pos..].find('>') {
                    Some(i) => pos + i,
                    None => return Err(SyntaxError::Unclosed(start)),
                };
                // `<a/b>` or `<a<b>`: the variable was never closed before the next part.
                if let Some(bad) = rule[pos + 1..close].find(['/', '<']) {
                    let _ = bad;
                    return Err(SyntaxError::Unclosed(start));
                }
                let inner = &rule[pos + 1..close];
                tokens.push(parse_var(inner, start)?);
                pos = close + 1;
            }
            _ => {
                let end = rule[pos..].find(['/', '<']).map_or(rule.len(), |i| pos + i);
                let text = &rule[pos..end];
                check_static(text)?;
                tokens.push(Token::Static(text.to_owned()));
                pos = end;
            }
        }
    }
    Ok(tokens)
}

fn check_static(text: &str) -> Result<(), SyntaxError> {
    if let Some(open) = text.find('{') {
        if let Some(close) = text[open..].find('}') {
            return Err(SyntaxError::MatchitStyle(
                text[open..open + close + 1].to_owned(),
            ));
        }
    }
    let first = text.chars().next();
    if matches!(first, Some(':') | Some('*')) && text.len() > 1 {
        let rest = &text[1..];
        if ident_end(rest, 0) == rest.len() {
            return Err(SyntaxError::MatchitStyle(text.to_owned()));
        }
    }
    Ok(())
}

fn parse_var(inner: &str, at: usize) -> Result<Token, SyntaxError> {
    // `<name>` or `<conv:name>` or `<conv(args):name>`.
    let inner_trim = inner;
    let conv_end = ident_end(inner_trim, 0);
    if conv_end == 0 {
        return Err(SyntaxError::Malformed(
            at,
            "a variable name must start with a letter or '_'",
        ));
    }
    if conv_end == inner_trim.len() {
        return Ok(Token::Var {
            converter: "default".to_owned(),
            args: String::new(),
            name: inner_trim.to_owned(),
        });
    }
    let converter = &inner_trim[..conv_end];
    let mut rest = &inner_trim[conv_end..];
    let mut args = String::new();
    if let Some(after) = rest.strip_prefix('(') {
        let close = find_args_close(after).ok_or(SyntaxError::Malformed(
            at,
            "converter arguments are missing their ')'",
        ))?;
        args = after[..close].to_owned();
        rest = &after[close + 1..];
    }
    let name = rest.strip_prefix(':').ok_or(SyntaxError::Malformed(
        at,
        "expected ':' between the converter and the variable name",
    ))?;
    if name.is_empty() || ident_end(name, 0) != name.len() {
        return Err(SyntaxError::Malformed(
            at,
            "a variable name must be letters, digits and '_', starting with a letter or '_'",
        ));
    }
    Ok(Token::Var {
        converter: converter.to_owned(),
        args,
        name: name.to_owned(),
    })
}

/// Index of the `)` closing converter arguments, skipping quoted strings.
fn find_args_close(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, ')') => return Some(i),
            _ => {}
        }
    }
    None
}

/// A converter argument value, as Werkzeug's `_pythonize` reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgValue {
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An integer such as `4` or `-2`.
    Int(i64),
    /// A float such as `0.5`.
    Float(f64),
    /// A quoted string or a bare word.
    Str(String),
}

impl fmt::Display for ArgValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgValue::None => f.write_str("None"),
            ArgValue::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            ArgValue::Int(i) => write!(f, "{i}"),
            ArgValue::Float(x) => write!(f, "{x:?}"),
            ArgValue::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// The parsed arguments of a converter: positional values, then `name=value` pairs.
///
/// # Examples
///
/// ```
/// use zeug::routing::{ArgValue, ConverterArgs};
///
/// let args = ConverterArgs::parse("4, max=10, name='a,b'").unwrap();
/// assert_eq!(args.positional(), &[ArgValue::Int(4)]);
/// assert_eq!(args.get("max"), Some(&ArgValue::Int(10)));
/// assert_eq!(args.get("name"), Some(&ArgValue::Str("a,b".into())));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConverterArgs {
    positional: Vec<ArgValue>,
    keyword: Vec<(String, ArgValue)>,
}

impl ConverterArgs {
    /// Parses `a, b, key=value` as Werkzeug does: `True`/`False`/`None`, integers, floats,
    /// quoted strings and bare words.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut out = ConverterArgs::default();
        let mut rest = s.trim();
        while !rest.is_empty() {
            // Optional `name =`.
            let mut name = None;
            let id_end = ident_end(rest, 0);
            if id_end > 0 {
                let after = rest[id_end..].trim_start();
                if let Some(v) = after.strip_prefix('=') {
                    name = Some(rest[..id_end].to_owned());
                    rest = v.trim_start();
                }
            }
            let (value, after) = parse_value(rest)?;
            match name {
                Some(n) => {
                    if out.keyword.iter().any(|(k, _)| *k == n) {
                        return Err(format!("argument '{n}' given twice"));
                    }
                    out.keyword.push((n, value));
                }
                None => {
                    if !out.keyword.is_empty() {
                        return Err("a positional argument follows a keyword argument".into());
                    }
                    out.positional.push(value);
                }
            }
            let after = after.trim_start();
            if after.is_empty() {
                break;
            }
            rest = after
                .strip_prefix(',')
                .ok_or_else(|| format!("cannot parse converter argument '{after}'"))?
                .trim_start();
        }
        Ok(out)
    }

    /// The positional arguments.
    pub fn positional(&self) -> &[ArgValue] {
        &self.positional
    }

    /// The keyword arguments in order.
    pub fn keyword(&self) -> &[(String, ArgValue)] {
        &self.keyword
    }

    /// A keyword argument by name.
    pub fn get(&self, name: &str) -> Option<&ArgValue> {
        self.keyword.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Checks that only `allowed` keyword names appear and at most `max_positional`
    /// positional arguments; converters call this first.
    pub fn expect(&self, allowed: &[&str], max_positional: usize) -> Result<(), String> {
        if self.positional.len() > max_positional {
            return Err(format!(
                "takes at most {max_positional} positional argument(s), {} given",
                self.positional.len()
            ));
        }
        for (k, _) in &self.keyword {
            if !allowed.contains(&k.as_str()) {
                return Err(if allowed.is_empty() {
                    format!("takes no argument, got '{k}'")
                } else {
                    format!("has no argument '{k}' (it takes {})", allowed.join(", "))
                });
            }
        }
        Ok(())
    }

    /// The argument `name`, looked up by keyword or else at `position`.
    pub fn arg(&self, name: &str, position: usize) -> Option<&ArgValue> {
        self.get(name).or_else(|| self.positional.get(position))
    }
}

fn parse_value(s: &str) -> Result<(ArgValue, &str), String> {
    let first = s.chars().next().ok_or("a converter argument is empty")?;
    if first == '"' || first == '\'' {
        let end = s[1..]
            .find(first)
            .ok_or_else(|| format!("unterminated string in converter arguments: {s}"))?;
        return Ok((ArgValue::Str(s[1..1 + end].to_owned()), &s[end + 2..]));
    }
    let end = s
        .find(|c: char| c == ',' || c.is_whitespace())
        .unwrap_or(s.len());
    let word = &s[..end];
    if word.is_empty() {
        return Err(format!("cannot parse converter argument '{s}'"));
    }
    if !word
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '-' || c == '+')
    {
        return Err(format!("cannot parse converter argument '{word}'"));
    }
    let value = match word {
        "None" => ArgValue::None,
        "True" => ArgValue::Bool(true),
        "False" => ArgValue::Bool(false),
        _ => {
            if let Ok(i) = word.parse::<i64>() {
                ArgValue::Int(i)
            } else if word.bytes().any(|b| b.is_ascii_digit())
                && word.parse::<f64>().is_ok_and(f64::is_finite)
            {
                ArgValue::Float(word.parse().unwrap_or_default())
            } else {
                ArgValue::Str(word.to_owned())
            }
        }
    };
    Ok((value, &s[end..]))
}
