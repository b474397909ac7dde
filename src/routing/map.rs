//! [`Map`]: the immutable set of compiled rules with its matcher, and [`MapBuilder`] for
//! Werkzeug's map options and custom converters. Binding a map to a request is
//! `adapter`'s (a map knows nothing of adapters); compiling one rule is `rule`'s.

use std::fmt;
use std::hash::Hash;

use rustc_hash::FxHashMap;

use super::converters::{Converter, Registry};
use super::error::{RuleError, RuleErrorKind};
use super::matcher::Matcher;
use super::parser::ConverterArgs;
use super::rule::{CompileOptions, Compiled, Rule, compile};

/// What an endpoint can be: any `Eq + Hash + Clone + Debug + Send + Sync + 'static` type.
/// An enum of views reads best; `&'static str` and `String` work too.
pub trait Endpoint: Eq + Hash + Clone + fmt::Debug + Send + Sync + 'static {}

impl<T: Eq + Hash + Clone + fmt::Debug + Send + Sync + 'static> Endpoint for T {}

/// The rules of an application, compiled once. Immutable, `Send + Sync`; bind it per
/// request with [`Map::bind_to_environ`] (cheap: it borrows) to match and build URLs.
///
/// # Examples
///
/// The Shortly rules from Werkzeug's tutorial:
///
/// ```
/// use zeug::routing::{Map, Method, Rule};
///
/// #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
/// enum View { NewUrl, FollowShortLink, ShortLinkDetails }
///
/// let url_map = Map::new([
///     Rule::new("/", View::NewUrl),
///     Rule::new("/<short_id>", View::FollowShortLink),
///     Rule::new("/<short_id>+", View::ShortLinkDetails),
/// ]);
/// let urls = url_map.bind("localhost", "");
/// let (view, values) = urls.match_("/abc+", &Method::GET).unwrap();
/// assert_eq!(view, View::ShortLinkDetails);
/// assert_eq!(values.get::<&str>("short_id"), Some("abc"));
/// assert_eq!(urls.build(&View::FollowShortLink, &[("short_id", "abc")]).unwrap(), "/abc");
/// ```
pub struct Map<E> {
    pub(crate) rules: Vec<Compiled<E>>,
    /// Each endpoint's rules, in the order building tries them.
    pub(crate) by_endpoint: FxHashMap<E, Vec<usize>>,
    /// Per rule: whether a match on it has work after the lookup (defaults, an alias, a
    /// `redirect_to`, or with `redirect_defaults` an earlier rule of its endpoint that could
    /// provide its values as defaults).
    pub(crate) finishes: Vec<bool>,
    pub(crate) matcher: Matcher,
    pub(crate) host_matching: bool,
    pub(crate) redirect_defaults: bool,
    pub(crate) default_subdomain: String,
    pub(crate) sort_parameters: bool,
}

impl<E: Endpoint> fmt::Debug for Map<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(|r| &r.rule))
            .finish()
    }
}

impl<E: Endpoint> Map<E> {
    /// Compiles `rules` with the default options.
    ///
    /// # Panics
    ///
    /// On a malformed or duplicate rule, with a message naming the rule and the problem.
    /// Use [`Map::try_new`] to get the error as a value.
    pub fn new(rules: impl IntoIterator<Item = Rule<E>>) -> Self {
        MapBuilder::default().build(rules)
    }

    /// Compiles `rules`, or says which rule is wrong and why.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Rule};
    /// let err = Map::try_new([Rule::new("/<nope:x>", ())]).unwrap_err();
    /// assert!(err.to_string().contains("unknown converter 'nope'"));
    /// ```
    pub fn try_new(rules: impl IntoIterator<Item = Rule<E>>) -> Result<Self, RuleError> {
        MapBuilder::default().try_build(rules)
    }

    /// The rules, in the order given.
    pub fn rules(&self) -> impl Iterator<Item = &Rule<E>> {
        self.rules.iter().map(|r| &r.rule)
    }

    /// Whether rules are matched against the full host rather than the subdomain.
    pub fn is_host_matching(&self) -> bool {
        self.host_matching
    }
}

impl Map<()> {
    /// Starts a map with options (host matching, slashes, custom converters...); the
    /// endpoint type comes from the rules given to [`MapBuilder::build`].
    pub fn builder() -> MapBuilder {
        MapBuilder::default()
    }
}

/// Options for a [`Map`], with Werkzeug's names and defaults.
///
/// # Examples
///
/// ```
/// use zeug::routing::{Map, Method, Rule};
/// let map = Map::builder()
///     .host_matching(true)
///     .build([
///         Rule::new("/", "www").host("www.example.com"),
///         Rule::new("/", "user").host("<user>.example.com"),
///     ]);
/// let a = map.bind("alice.example.com", "");
/// let (ep, values) = a.match_("/", &Method::GET).unwrap();
/// assert_eq!((ep, values.get::<&str>("user")), ("user", Some("alice")));
/// ```
#[derive(Debug, Clone)]
pub struct MapBuilder {
    registry: Registry,
    host_matching: bool,
    strict_slashes: bool,
    merge_slashes: bool,
    redirect_defaults: bool,
    default_subdomain: String,
    sort_parameters: bool,
}

impl Default for MapBuilder {
    fn default() -> Self {
        MapBuilder {
            registry: Registry::default(),
            host_matching: false,
            strict_slashes: true,
            merge_slashes: true,
            redirect_defaults: true,
            default_subdomain: String::new(),
            sort_parameters: false,
        }
    }
}

impl MapBuilder {
    /// Match rules' `host` patterns against the whole host instead of `subdomain`s
    /// against the part before the server name. Default: false.
    pub fn host_matching(mut self, yes: bool) -> Self {
        self.host_matching = yes;
        self
    }

    /// The default for rules' `strict_slashes`. Default: true.
    pub fn strict_slashes(mut self, yes: bool) -> Self {
        self.strict_slashes = yes;
        self
    }

    /// The default for rules' `merge_slashes`. Default: true.
    pub fn merge_slashes(mut self, yes: bool) -> Self {
        self.merge_slashes = yes;
        self
    }

    /// Redirect a match to the endpoint's rule that provides its values as defaults, and
    /// alias rules to their canonical rule. Default: true.
    pub fn redirect_defaults(mut self, yes: bool) -> Self {
        self.redirect_defaults = yes;
        self
    }

    /// The subdomain of rules that set none. Default: `""` (the bare server name).
    pub fn default_subdomain(mut self, subdomain: &str) -> Self {
        self.default_subdomain = subdomain.to_owned();
        self
    }

    /// Sort unknown values by name when appending them as a query string. Default: false
    /// (the order given).
    pub fn sort_parameters(mut self, yes: bool) -> Self {
        self.sort_parameters = yes;
        self
    }

    /// Registers a custom converter under `name`; `factory` makes one from the rule's
    /// arguments or says what is wrong with them. See [`Converter`] for an example.
    pub fn converter<C: Converter>(
        mut self,
        name: &str,
        factory: impl Fn(&ConverterArgs) -> Result<C, String> + Send + Sync + 'static,
    ) -> Self {
        self.registry.insert(name, factory);
        self
    }

    /// Compiles `rules`.
    ///
    /// # Panics
    ///
    /// On a malformed or duplicate rule, naming it (see [`MapBuilder::try_build`]).
    pub fn build<E: Endpoint>(&self, rules: impl IntoIterator<Item = Rule<E>>) -> Map<E> {
        match self.try_build(rules) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    /// Compiles `rules`, or returns the first problem found.
    pub fn try_build<E: Endpoint>(
        &self,
        rules: impl IntoIterator<Item = Rule<E>>,
    ) -> Result<Map<E>, RuleError> {
        let opts = CompileOptions {
            registry: &self.registry,
            host_matching: self.host_matching,
            strict_slashes: self.strict_slashes,
            merge_slashes: self.merge_slashes,
            default_subdomain: &self.default_subdomain,
        };
        let mut compiled: Vec<Compiled<E>> = Vec::new();
        for rule in rules {
            let c = compile(rule, &opts)?;
            if !c.rule.build_only {
                let dup = compiled.iter().any(|o| {
                    !o.rule.build_only
                        && o.identity == c.identity
                        && match (&o.methods, &c.methods) {
                            (Some(a), Some(b)) => a.iter().any(|m| b.contains(m)),
                            _ => true,
                        }
                });
                if dup {
                    return Err(RuleError::new(&c.rule.path, RuleErrorKind::Duplicate));
                }
            }
            compiled.push(c);
        }
        let mut by_endpoint: FxHashMap<E, Vec<usize>> = FxHashMap::default();
        for (i, c) in compiled.iter().enumerate() {
            by_endpoint
                .entry(c.rule.endpoint.clone())
                .or_default()
                .push(i);
        }
        for list in by_endpoint.values_mut() {
            // Werkzeug's build_compare_key: canonical rules first, then more arguments,
            // then more defaults; ties keep the map's order.
            list.sort_by_key(|&i| {
                let c = &compiled[i];
                (
                    c.rule.alias,
                    std::cmp::Reverse(c.arguments.len()),
                    std::cmp::Reverse(c.rule.defaults.len()),
                )
            });
        }
        for c in &compiled {
            if c.rule.alias
                && !by_endpoint[&c.rule.endpoint]
                    .iter()
                    .any(|&i| !compiled[i].rule.alias)
            {
                return Err(RuleError::new(
                    &c.rule.path,
                    RuleErrorKind::AliasWithoutCanonical,
                ));
            }
        }
        let mut finishes = vec![false; compiled.len()];
        for list in by_endpoint.values() {
            for (pos, &r) in list.iter().enumerate() {
                let rule = &compiled[r].rule;
                finishes[r] = !rule.defaults.is_empty()
                    || rule.alias
                    || rule.redirect_to.is_some()
                    || self.redirect_defaults
                        && list[..pos]
                            .iter()
                            .any(|&i| provides_defaults_for(&compiled[i], &compiled[r]));
            }
        }
        let matcher = Matcher::new(&compiled);
        Ok(Map {
            rules: compiled,
            by_endpoint,
            finishes,
            matcher,
            host_matching: self.host_matching,
            redirect_defaults: self.redirect_defaults,
            default_subdomain: self.default_subdomain.clone(),
            sort_parameters: self.sort_parameters,
        })
    }
}

/// Werkzeug's `Rule.provides_defaults_for`: `other` has defaults and the same arguments as
/// `rule` (both rules of one endpoint).
pub(crate) fn provides_defaults_for<E>(other: &Compiled<E>, rule: &Compiled<E>) -> bool {
    !other.rule.build_only
        && !other.rule.defaults.is_empty()
        && other.arguments.len() == rule.arguments.len()
        && other.arguments.iter().all(|a| rule.has_argument(a))
}
