//! [`Rule`] and its builder options, the rule factories [`Submount`], [`Subdomain`] and
//! [`EndpointPrefix`], and compiling a rule into the parts the matcher walks and the ops the
//! builder writes. Matching and building themselves live in `matcher` and `adapter`.

use std::fmt;
use std::sync::Arc;

use http::Method;

use super::converters::{Converter, Registry};
use super::error::{BuildError, RuleError, RuleErrorKind};
use super::parser::{ConverterArgs, Token, tokenize};
use super::values::{BuildValues, Value, Values, intern};
use percent_encoding::{AsciiSet, utf8_percent_encode};

use crate::urls::{PATH_ENCODE_SET, SEGMENT_ENCODE_SET};

/// A function computing a redirect target from the adapter that matched (to build URLs
/// with) and the matched values.
pub type RedirectFn<E> = Arc<dyn Fn(&dyn UrlBuilder<E>, &Values) -> String + Send + Sync>;

/// What a [`Rule::redirect_to_fn`] function sees of the [`MapAdapter`](super::MapAdapter)
/// that matched: URL building, on the same host and script root.
pub trait UrlBuilder<E> {
    /// Builds the URL of `endpoint` with `values`, as
    /// [`MapAdapter::build`](super::MapAdapter::build).
    fn build(&self, endpoint: &E, values: &dyn BuildValues) -> Result<String, BuildError>;
}

/// Where a rule with `redirect_to` sends its requests.
#[derive(Clone)]
pub enum RedirectTo<E> {
    /// A URL template: `<name>` placeholders are replaced by the matched values, written
    /// by the rule's converters. Relative targets are joined to the bound script root.
    Template(String),
    /// A function of the adapter and the matched values.
    Func(RedirectFn<E>),
}

impl<E> fmt::Debug for RedirectTo<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectTo::Template(t) => write!(f, "Template({t:?})"),
            RedirectTo::Func(_) => f.write_str("Func(..)"),
        }
    }
}

/// One URL rule: a path pattern in Werkzeug's syntax, the endpoint it leads to, and options.
///
/// Variables are written `<name>` (the `string` converter), `<converter:name>` or
/// `<converter(arguments):name>`; a rule ending in `/` is a *branch* (Werkzeug's term): by
/// default a request without the slash is redirected to it.
///
/// # Examples
///
/// ```
/// use zeug::routing::{Map, Method, Rule};
///
/// #[derive(Debug, Clone, PartialEq, Eq, Hash)]
/// enum Ep { Index, Post, Edit }
///
/// let map = Map::new([
///     Rule::new("/", Ep::Index),
///     Rule::new("/blog/<int:year>/<slug>", Ep::Post),
///     Rule::new("/blog/<int:year>/<slug>/edit", Ep::Edit).methods(["GET", "POST"]),
/// ]);
/// let adapter = map.bind("example.com", "");
/// let (ep, values) = adapter.match_("/blog/2024/hello", &Method::GET).unwrap();
/// assert_eq!(ep, Ep::Post);
/// assert_eq!(values.get::<i64>("year"), Some(2024));
/// ```
#[derive(Clone)]
pub struct Rule<E> {
    pub(crate) path: String,
    pub(crate) endpoint: E,
    pub(crate) methods: Option<Vec<String>>,
    pub(crate) defaults: Values,
    pub(crate) build_only: bool,
    pub(crate) redirect_to: Option<RedirectTo<E>>,
    pub(crate) alias: bool,
    pub(crate) strict_slashes: Option<bool>,
    pub(crate) merge_slashes: Option<bool>,
    pub(crate) subdomain: Option<String>,
    pub(crate) host: Option<String>,
}

impl<E: fmt::Debug> fmt::Debug for Rule<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Rule {:?}", self.path)?;
        if let Some(m) = &self.methods {
            write!(f, " ({})", m.join(", "))?;
        }
        write!(f, " -> {:?}>", self.endpoint)
    }
}

impl<E> Rule<E> {
    /// A rule matching `path` and leading to `endpoint`, with Werkzeug's defaults: any
    /// method, strict and merged slashes as the map says, no defaults.
    pub fn new(path: impl Into<String>, endpoint: E) -> Self {
        Rule {
            path: path.into(),
            endpoint,
            methods: None,
            defaults: Values::new(),
            build_only: false,
            redirect_to: None,
            alias: false,
            strict_slashes: None,
            merge_slashes: None,
            subdomain: None,
            host: None,
        }
    }

    /// The methods this rule answers (case-insensitive); `HEAD` is added when `GET` is
    /// there. Without it, a rule answers every method.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Method, Rule};
    /// let map = Map::new([Rule::new("/items", "items").methods(["GET", "post"])]);
    /// let a = map.bind("localhost", "");
    /// assert!(a.match_("/items", &Method::HEAD).is_ok());
    /// assert!(a.match_("/items", &Method::DELETE).is_err());
    /// ```
    pub fn methods<I>(mut self, methods: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut list: Vec<String> = methods
            .into_iter()
            .map(|m| m.as_ref().to_ascii_uppercase())
            .collect();
        if list.iter().any(|m| m == "GET") && !list.iter().any(|m| m == "HEAD") {
            list.push("HEAD".into());
        }
        list.dedup();
        self.methods = Some(list);
        self
    }

    /// A default value for `name`: added to the match's values, and used when building
    /// (a rule providing defaults is preferred when the given values agree with them).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Method, Rule};
    /// let map = Map::new([
    ///     Rule::new("/users/", "users").default("page", 1),
    ///     Rule::new("/users/page/<int:page>", "users"),
    /// ]);
    /// let a = map.bind("localhost", "");
    /// let (_, values) = a.match_("/users/", &Method::GET).unwrap();
    /// assert_eq!(values.get::<i64>("page"), Some(1));
    /// assert_eq!(a.build(&"users", &[("page", 1)]).unwrap(), "/users/");
    /// assert_eq!(a.build(&"users", &[("page", 2)]).unwrap(), "/users/page/2");
    /// ```
    pub fn default(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.defaults.insert(name.to_owned(), value);
        self
    }

    /// Several defaults at once (see [`Rule::default`]).
    pub fn defaults<K: AsRef<str>, V: Into<Value>>(
        mut self,
        defaults: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (k, v) in defaults {
            self.defaults.insert(k.as_ref().to_owned(), v);
        }
        self
    }

    /// Only for building URLs, never matched (e.g. for static files served elsewhere).
    pub fn build_only(mut self, yes: bool) -> Self {
        self.build_only = yes;
        self
    }

    /// Redirects (308) requests for this rule to a template: `<name>` placeholders are
    /// replaced with the matched values. A relative target is resolved against the
    /// application root.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Method, Rule};
    /// let map = Map::new([
    ///     Rule::new("/old/<int:id>", "old").redirect_to("/new/<id>"),
    ///     Rule::new("/new/<int:id>", "new"),
    /// ]);
    /// let err = map.bind("example.com", "").match_("/old/3", &Method::GET).unwrap_err();
    /// assert_eq!(err.redirect_location(), Some("http://example.com/new/3"));
    /// ```
    pub fn redirect_to(mut self, template: impl Into<String>) -> Self {
        self.redirect_to = Some(RedirectTo::Template(template.into()));
        self
    }

    /// Redirects (308) requests for this rule to the URL `f` computes from the adapter
    /// (seen as a [`UrlBuilder`]) and the matched values.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Method, Rule};
    /// let map = Map::new([
    ///     Rule::new("/go/<int:id>", "go").redirect_to_fn(|urls, values| {
    ///         let id = values.get::<i64>("id").unwrap() + 1;
    ///         urls.build(&"item", &[("id", id)]).unwrap()
    ///     }),
    ///     Rule::new("/items/<int:id>", "item"),
    /// ]);
    /// let err = map.bind("example.com", "").match_("/go/1", &Method::GET).unwrap_err();
    /// assert_eq!(err.redirect_location(), Some("http://example.com/items/2"));
    /// ```
    pub fn redirect_to_fn(
        mut self,
        f: impl Fn(&dyn UrlBuilder<E>, &Values) -> String + Send + Sync + 'static,
    ) -> Self {
        self.redirect_to = Some(RedirectTo::Func(Arc::new(f)));
        self
    }

    /// Marks the rule as an alias: it matches, but redirects to the URL built for the same
    /// endpoint and values by the endpoint's canonical (non-alias) rule.
    pub fn alias(mut self, yes: bool) -> Self {
        self.alias = yes;
        self
    }

    /// Overrides the map's `strict_slashes`: when true, a branch rule (ending in `/`)
    /// requested without its slash redirects to it; when false, both forms match.
    pub fn strict_slashes(mut self, yes: bool) -> Self {
        self.strict_slashes = Some(yes);
        self
    }

    /// Overrides the map's `merge_slashes`: when true, a request with `//` that matches
    /// this rule once slashes are merged redirects to the merged URL.
    pub fn merge_slashes(mut self, yes: bool) -> Self {
        self.merge_slashes = Some(yes);
        self
    }

    /// Restricts the rule to a subdomain (a pattern like `"<user>"` or `"api"`; `""` is the
    /// bare server name). Ignored when the map uses host matching.
    pub fn subdomain(mut self, subdomain: impl Into<String>) -> Self {
        self.subdomain = Some(subdomain.into());
        self
    }

    /// Restricts the rule to a host pattern like `"<user>.example.com"` (needs
    /// [`MapBuilder::host_matching`](super::MapBuilder::host_matching)).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// The rule's path pattern.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The rule's endpoint.
    pub fn endpoint(&self) -> &E {
        &self.endpoint
    }
}

/// Prefixes the paths of its rules, like Werkzeug's `Submount`. Nest factories freely;
/// combine with other rules through `Iterator::chain`.
///
/// # Examples
///
/// ```
/// use zeug::routing::{Map, Method, Rule, Submount};
/// let map = Map::new(
///     [Rule::new("/", "index")].into_iter().chain(Submount::new("/blog", [
///         Rule::new("/", "blog/index"),
///         Rule::new("/entry/<slug>", "blog/show"),
///     ])),
/// );
/// let a = map.bind("localhost", "");
/// assert_eq!(a.match_("/blog/entry/hi", &Method::GET).unwrap().0, "blog/show");
/// ```
pub struct Submount<E> {
    rules: Vec<Rule<E>>,
}

impl<E> Submount<E> {
    /// Prefixes every rule's path with `path` (a trailing `/` is dropped).
    pub fn new(path: &str, rules: impl IntoIterator<Item = Rule<E>>) -> Self {
        let prefix = path.trim_end_matches('/');
        Submount {
            rules: rules
                .into_iter()
                .map(|mut r| {
                    r.path = format!("{prefix}{}", r.path);
                    r
                })
                .collect(),
        }
    }
}

/// Sets the subdomain of its rules, like Werkzeug's `Subdomain`.
///
/// # Examples
///
/// ```
/// use zeug::routing::{Map, Method, Rule, Subdomain};
/// let map = Map::builder().default_subdomain("www").build(
///     [Rule::new("/", "home")].into_iter().chain(Subdomain::new("<user>", [
///         Rule::new("/", "user/index"),
///     ])),
/// );
/// let a = map.bind_with_subdomain("example.com", "", "alice");
/// let (ep, values) = a.match_("/", &Method::GET).unwrap();
/// assert_eq!(ep, "user/index");
/// assert_eq!(values.get::<&str>("user"), Some("alice"));
/// ```
pub struct Subdomain<E> {
    rules: Vec<Rule<E>>,
}

impl<E> Subdomain<E> {
    /// Puts every rule on `subdomain` (a pattern; `<name>` variables allowed).
    pub fn new(subdomain: &str, rules: impl IntoIterator<Item = Rule<E>>) -> Self {
        Subdomain {
            rules: rules
                .into_iter()
                .map(|mut r| {
                    r.subdomain = Some(subdomain.to_owned());
                    r
                })
                .collect(),
        }
    }
}

/// Prefixes the endpoints of its rules, like Werkzeug's `EndpointPrefix` (string endpoints).
///
/// # Examples
///
/// ```
/// use zeug::routing::{EndpointPrefix, Map, Method, Rule, Submount};
/// let map: Map<String> = Map::new(EndpointPrefix::new("blog/", Submount::new("/blog", [
///     Rule::new("/", "index".to_string()),
/// ])));
/// let a = map.bind("localhost", "");
/// assert_eq!(a.match_("/blog/", &Method::GET).unwrap().0, "blog/index");
/// ```
pub struct EndpointPrefix {
    rules: Vec<Rule<String>>,
}

impl EndpointPrefix {
    /// Prefixes every rule's endpoint with `prefix`.
    pub fn new(prefix: &str, rules: impl IntoIterator<Item = Rule<String>>) -> Self {
        EndpointPrefix {
            rules: rules
                .into_iter()
                .map(|mut r| {
                    r.endpoint = format!("{prefix}{}", r.endpoint);
                    r
                })
                .collect(),
        }
    }
}

/// The factories are iterators of their rules, so they nest and chain.
macro_rules! rules_iter {
    ($([$($e:ident)?] $factory:ty => $endpoint:ty;)*) => {$(
        impl$(<$e>)? IntoIterator for $factory {
            type Item = Rule<$endpoint>;
            type IntoIter = std::vec::IntoIter<Rule<$endpoint>>;
            fn into_iter(self) -> Self::IntoIter {
                self.rules.into_iter()
            }
        }
    )*};
}

rules_iter! {
    [E] Submount<E> => E;
    [E] Subdomain<E> => E;
    [] EndpointPrefix => String;
}

/// Werkzeug's `Weighting`: parts with more static text sort first, then parts with more
/// variables, then lighter converters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Weighting {
    neg_statics: i64,
    static_weights: Vec<(i64, i64)>,
    neg_args: i64,
    arg_weights: Vec<u32>,
}

/// One piece of a part: static text or a variable (index into the rule's converters).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Static(String),
    Var(usize),
}

/// One part of a rule: a path segment, or (once a `path`-like converter appears) the
/// rest of the path.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub(crate) pieces: Vec<Piece>,
    /// The static text of a static part.
    pub(crate) text: String,
    pub(crate) is_static: bool,
    pub(crate) is_final: bool,
    pub(crate) suffixed: bool,
    pub(crate) weight: Weighting,
    /// Identity for sharing a state between rules (Werkzeug compares the part's regex).
    pub(crate) key: String,
}

/// One step of building a URL.
#[derive(Debug, Clone)]
pub(crate) enum BuildOp {
    /// Already-encoded text.
    Text(String),
    /// A variable: index into the rule's converters.
    Var(usize),
}

/// A converter bound to a variable of a rule.
#[derive(Clone)]
pub(crate) struct Var {
    pub(crate) name: &'static str,
    pub(crate) converter: Arc<dyn Converter>,
    /// What to percent-encode in the variable's URL text: `/` too, unless the converter
    /// spans segments.
    pub(crate) encode_set: &'static AsciiSet,
}

impl Var {
    /// Appends `value` as the converter writes it, percent-encoded; `false` (appending
    /// nothing) if the converter cannot write it.
    #[inline]
    pub(crate) fn write(&self, value: &Value, out: &mut String) -> bool {
        let start = out.len();
        if !self.converter.to_url(value, out) {
            out.truncate(start);
            return false;
        }
        encode_tail(out, start, self.encode_set);
        true
    }
}

/// Percent-encodes `out[start..]` in place, allocating only when something needs it.
#[inline]
pub(crate) fn encode_tail(out: &mut String, start: usize, set: &'static AsciiSet) {
    let tail = &out[start..];
    // The encoder yields the longest unchanged run first: all of it when nothing needs it.
    let clean = utf8_percent_encode(tail, set)
        .next()
        .is_none_or(|run| run.len() == tail.len());
    if !clean {
        let raw = out.split_off(start);
        out.extend(utf8_percent_encode(&raw, set));
    }
}

/// A rule ready for matching and building.
pub(crate) struct Compiled<E> {
    pub(crate) rule: Rule<E>,
    /// `parts[0]` is the domain part (subdomain, or host when host matching).
    pub(crate) parts: Vec<Part>,
    pub(crate) vars: Vec<Var>,
    pub(crate) methods: Option<Box<[Method]>>,
    /// The standard methods among `methods`, one bit each ([`standard_bit`]).
    pub(crate) standard_methods: u16,
    pub(crate) strict_slashes: bool,
    pub(crate) merge_slashes: bool,
    pub(crate) domain_ops: Vec<BuildOp>,
    pub(crate) path_ops: Vec<BuildOp>,
    /// Names of the rule's variables and defaults (Werkzeug's `arguments`).
    pub(crate) arguments: Vec<&'static str>,
    /// Rule identity for duplicate detection.
    pub(crate) identity: String,
}

impl<E> Compiled<E> {
    #[inline]
    pub(crate) fn allows(&self, method: &Method) -> bool {
        match &self.methods {
            None => true,
            Some(m) => match standard_bit(method) {
                Some(bit) => self.standard_methods & bit != 0,
                None => m.contains(method),
            },
        }
    }

    pub(crate) fn has_argument(&self, name: &str) -> bool {
        self.arguments.contains(&name)
    }
}

/// The bit of a method `http` knows, for a rule's set of methods; `None` for extensions.
pub(crate) fn standard_bit(method: &Method) -> Option<u16> {
    let i = match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::PATCH => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::CONNECT => 8,
        _ => return None,
    };
    Some(1 << i)
}

/// Options from the map that rules inherit.
pub(crate) struct CompileOptions<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) host_matching: bool,
    pub(crate) strict_slashes: bool,
    pub(crate) merge_slashes: bool,
    pub(crate) default_subdomain: &'a str,
}

fn err<E>(rule: &Rule<E>, kind: RuleErrorKind) -> RuleError {
    RuleError::new(&rule.path, kind)
}

pub(crate) fn compile<E>(
    rule: Rule<E>,
    opts: &CompileOptions<'_>,
) -> Result<Compiled<E>, RuleError> {
    if !rule.path.starts_with('/') {
        return Err(err(&rule, RuleErrorKind::NoLeadingSlash));
    }
    let path_tokens =
        tokenize(&rule.path).map_err(|e| err(&rule, RuleErrorKind::Syntax(e.to_string())))?;
    let domain_rule: String = if opts.host_matching {
        rule.host.clone().unwrap_or_default()
    } else {
        rule.subdomain
            .clone()
            .unwrap_or_else(|| opts.default_subdomain.to_owned())
    };
    let domain_tokens = tokenize(&domain_rule)
        .map_err(|e| err(&rule, RuleErrorKind::Syntax(format!("in its domain: {e}"))))?;
    if domain_tokens.contains(&Token::Slash) {
        return Err(err(
            &rule,
            RuleErrorKind::Syntax(format!("its domain {domain_rule:?} contains '/'")),
        ));
    }

    let mut vars: Vec<Var> = Vec::new();
    let mut make_var =
        |converter: &str, args: &str, name: &str| -> Result<(usize, u32, bool), RuleErrorKind> {
            if vars.iter().any(|v| v.name == name) {
                return Err(RuleErrorKind::DuplicateVariable(name.to_owned()));
            }
            let factory = opts
                .registry
                .get(converter)
                .ok_or_else(|| RuleErrorKind::UnknownConverter(converter.to_owned()))?;
            let bad = |message: String| RuleErrorKind::BadConverterArguments {
                converter: converter.to_owned(),
                message,
            };
            let parsed = ConverterArgs::parse(args).map_err(bad)?;
            let conv = factory(&parsed).map_err(bad)?;
            let info = (conv.weight(), conv.part_isolating());
            vars.push(Var {
                name: intern(name),
                converter: conv,
                encode_set: match info.1 {
                    true => SEGMENT_ENCODE_SET,
                    false => PATH_ENCODE_SET,
                },
            });
            Ok((vars.len() - 1, info.0, info.1))
        };

    let mut parts = Vec::new();
    if domain_tokens.is_empty() {
        parts.push(Part {
            pieces: Vec::new(),
            text: String::new(),
            is_static: true,
            is_final: false,
            suffixed: false,
            weight: Weighting::default(),
            key: String::new(),
        });
    } else {
        split_parts(&domain_tokens, &mut make_var, &mut parts).map_err(|k| err(&rule, k))?;
    }
    split_parts(&path_tokens, &mut make_var, &mut parts).map_err(|k| err(&rule, k))?;

    // Build ops.
    let mut domain_ops = Vec::new();
    let mut path_ops = Vec::new();
    {
        let mut idx = 0;
        for (ops, tokens) in [
            (&mut domain_ops, &domain_tokens),
            (&mut path_ops, &path_tokens),
        ] {
            for t in tokens {
                match t {
                    Token::Slash => push_text(ops, "/"),
                    Token::Static(s) => {
                        push_text(ops, &utf8_percent_encode(s, PATH_ENCODE_SET).to_string())
                    }
                    Token::Var { .. } => {
                        let var = &vars[idx];
                        idx += 1;
                        if let Some(default) = rule.defaults.raw(var.name) {
                            let mut text = String::new();
                            if !var.write(default, &mut text) {
                                let kind = RuleErrorKind::BadDefault(var.name.to_owned());
                                return Err(err(&rule, kind));
                            }
                            push_text(ops, &text);
                        } else {
                            ops.push(BuildOp::Var(idx - 1));
                        }
                    }
                }
            }
        }
    }

    let methods = match &rule.methods {
        None => None,
        Some(list) => {
            let bad = |m: &str| err(&rule, RuleErrorKind::InvalidMethod(m.to_owned()));
            let parse = |m: &String| Method::from_bytes(m.as_bytes()).map_err(|_| bad(m));
            let out: Box<[Method]> = list.iter().map(parse).collect::<Result<_, _>>()?;
            if out.is_empty() {
                return Err(bad(""));
            }
            Some(out)
        }
    };

    // redirect_to templates may only name known values.
    if let Some(RedirectTo::Template(t)) = &rule.redirect_to {
        for name in template_names(t) {
            if !vars.iter().any(|v| v.name == name) && !rule.defaults.contains(name) {
                return Err(err(
                    &rule,
                    RuleErrorKind::UnknownRedirectVariable(name.to_owned()),
                ));
            }
        }
    }

    let identity = parts
        .iter()
        .map(|p| p.key.as_str())
        .collect::<Vec<_>>()
        .join("/");

    // Werkzeug's `arguments`: the defaults' names and the variables.
    let mut arguments: Vec<&'static str> = vars.iter().map(|v| v.name).collect();
    for (k, _) in rule.defaults.iter() {
        if !arguments.contains(&k) {
            arguments.push(intern(k));
        }
    }
    let standard_methods = methods
        .iter()
        .flatten()
        .filter_map(standard_bit)
        .fold(0, |bits, bit| bits | bit);
    Ok(Compiled {
        standard_methods,
        strict_slashes: rule.strict_slashes.unwrap_or(opts.strict_slashes),
        merge_slashes: rule.merge_slashes.unwrap_or(opts.merge_slashes),
        rule,
        parts,
        vars,
        methods,
        domain_ops,
        path_ops,
        arguments,
        identity,
    })
}

fn push_text(ops: &mut Vec<BuildOp>, text: &str) {
    if let Some(BuildOp::Text(t)) = ops.last_mut() {
        t.push_str(text);
    } else {
        ops.push(BuildOp::Text(text.to_owned()));
    }
}

/// The `<name>` placeholders of a redirect template.
pub(crate) fn template_names(t: &str) -> impl Iterator<Item = &str> {
    t.split('<')
        .skip(1)
        .filter_map(|s| s.split_once('>').map(|(n, _)| n))
}

/// Makes a rule variable from `(converter, args, name)`: its index, weight and whether it
/// is part-isolating.
type MakeVar<'a> = dyn FnMut(&str, &str, &str) -> Result<(usize, u32, bool), RuleErrorKind> + 'a;

/// Werkzeug's `_parse_rule`: groups tokens into parts at slashes, except that once a
/// non-part-isolating converter appears the rest of the rule is one final part.
fn split_parts(
    tokens: &[Token],
    make_var: &mut MakeVar<'_>,
    parts: &mut Vec<Part>,
) -> Result<(), RuleErrorKind> {
    struct Acc {
        pieces: Vec<Piece>,
        is_static: bool,
        is_final: bool,
        static_weights: Vec<(i64, i64)>,
        arg_weights: Vec<u32>,
        key: String,
    }
    impl Acc {
        fn new() -> Self {
            Acc {
                pieces: Vec::new(),
                is_static: true,
                is_final: false,
                static_weights: Vec::new(),
                arg_weights: Vec::new(),
                key: String::new(),
            }
        }
        fn push_static(&mut self, s: &str) {
            if let Some(Piece::Static(t)) = self.pieces.last_mut() {
                t.push_str(s);
            } else {
                self.pieces.push(Piece::Static(s.to_owned()));
            }
            self.key
                .push_str(&s.replace('\\', "\\\\").replace('<', "\\<"));
        }
        fn finish(self, suffixed: bool) -> Part {
            let weight = Weighting {
                neg_statics: -(self.static_weights.len() as i64),
                static_weights: self.static_weights,
                neg_args: -(self.arg_weights.len() as i64),
                arg_weights: self.arg_weights,
            };
            let text = if self.is_static {
                match self.pieces.first() {
                    Some(Piece::Static(s)) => s.clone(),
                    _ => String::new(),
                }
            } else {
                String::new()
            };
            let key = format!(
                "{}{}{}",
                if self.is_final { "F" } else { "" },
                if suffixed { "S" } else { "" },
                self.key
            );
            Part {
                pieces: self.pieces,
                text,
                is_static: self.is_static,
                is_final: self.is_final,
                suffixed,
                weight,
                key,
            }
        }
    }
    let mut acc = Acc::new();
    for t in tokens {
        match t {
            Token::Static(s) => {
                let n = acc.static_weights.len() as i64;
                acc.static_weights.push((n, -(s.chars().count() as i64)));
                acc.push_static(s);
            }
            Token::Var {
                converter,
                args,
                name,
            } => {
                let (idx, weight, isolating) = make_var(converter, args, name)?;
                acc.is_static = false;
                acc.pieces.push(Piece::Var(idx));
                let canonical = if converter == "default" {
                    "string"
                } else {
                    converter
                };
                acc.key.push_str(&format!("<{canonical}({})>", args.trim()));
                if !isolating {
                    acc.is_final = true;
                }
                acc.arg_weights.push(weight);
            }
            Token::Slash => {
                if acc.is_final {
                    acc.push_static("/");
                } else {
                    let done = std::mem::replace(&mut acc, Acc::new());
                    parts.push(done.finish(false));
                }
            }
        }
    }
    let mut suffixed = false;
    if acc.is_final {
        if let Some(Piece::Static(s)) = acc.pieces.last_mut() {
            if s.ends_with('/') {
                s.pop();
                if s.is_empty() {
                    acc.pieces.pop();
                }
                suffixed = true;
            }
        }
    }
    parts.push(acc.finish(suffixed));
    if suffixed {
        let weight = parts.last().map(|p| p.weight.clone()).unwrap_or_default();
        parts.push(Part {
            pieces: Vec::new(),
            text: String::new(),
            is_static: true,
            is_final: false,
            suffixed: false,
            weight,
            key: String::new(),
        });
    }
    Ok(())
}
