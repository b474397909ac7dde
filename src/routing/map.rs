//! [`Map`]: the immutable set of compiled rules with its matchers, and [`MapBuilder`] for
//! Werkzeug's map options and custom converters. Binding a map to a request is
//! `adapter`'s; compiling one rule is `rule`'s.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

use super::converters::{Converter, Registry};
use super::error::{RuleError, RuleErrorKind};
use super::matcher::{FastRouter, StateMachine};
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
    /// Each rule's endpoint, side by side: a match returns one without touching the rest
    /// of its (large) rule.
    pub(crate) endpoints: Vec<E>,
    pub(crate) by_endpoint: HashMap<E, Vec<usize>, FastHash>,
    /// The same lists, for building: one hash, one probe in most cases.
    pub(crate) build_index: EndpointIndex<E>,
    /// Per rule: whether an earlier rule of its endpoint could provide its values as
    /// defaults (so `redirect_defaults` has something to check).
    pub(crate) default_redirect_candidates: Vec<bool>,
    pub(crate) sm: StateMachine,
    pub(crate) fast: Option<FastRouter>,
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

    /// Whether matching uses the fast path, the segment tree (true unless the map needs Werkzeug's
    /// full backtracking; both give the same answers).
    #[doc(hidden)]
    pub fn uses_fast_path(&self) -> bool {
        self.fast.is_some()
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
        let mut by_endpoint: HashMap<E, Vec<usize>, FastHash> = HashMap::default();
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
        let mut default_redirect_candidates = vec![false; compiled.len()];
        for list in by_endpoint.values() {
            for (pos, &r) in list.iter().enumerate() {
                default_redirect_candidates[r] = list[..pos]
                    .iter()
                    .any(|&i| provides_defaults_for(&compiled[i], &compiled[r]));
            }
        }
        let sm = StateMachine::new(&compiled);
        let plain: Vec<bool> = compiled
            .iter()
            .enumerate()
            .map(|(i, c)| {
                c.rule.defaults.is_empty()
                    && !c.rule.alias
                    && c.rule.redirect_to.is_none()
                    && !default_redirect_candidates[i]
            })
            .collect();
        let fast = FastRouter::new(&compiled, &sm, &plain);
        Ok(Map {
            build_index: EndpointIndex::new(
                &by_endpoint,
                compiled.iter().map(|c| &c.rule.endpoint),
            ),
            endpoints: compiled.iter().map(|c| c.rule.endpoint.clone()).collect(),
            rules: compiled,
            by_endpoint,
            default_redirect_candidates,
            sm,
            fast,
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

/// Each endpoint's rules in build order, found with one hash of the endpoint: open
/// addressing with linear probing, in a power-of-two table at most half full.
pub(crate) struct EndpointIndex<E> {
    /// The endpoint, and where its rules start and end in `rules`.
    slots: Box<[Option<(E, u32, u32)>]>,
    rules: Box<[usize]>,
    /// For `&'static str` endpoints, the same by the text's address and length (empty
    /// otherwise): the endpoint a match returned, or a literal the compiler merged with the
    /// rule's, is found with one multiply and no read of the text. Another address with
    /// the same text misses here and is found in `slots`.
    by_address: Box<[AddressSlot]>,
}

/// A slot of [`EndpointIndex::by_address`]: address 0 (never a `&str`'s) when empty.
#[derive(Clone, Copy, Default)]
struct AddressSlot {
    address: usize,
    len: usize,
    start: u32,
    end: u32,
    /// `rules[start]`.
    first: u32,
}

impl<E: Endpoint> EndpointIndex<E> {
    /// The index of `by_endpoint`; `rule_endpoints` (every rule's endpoint) give the
    /// addresses of `&'static str` endpoints, which may be several for one text.
    fn new<'e>(
        by_endpoint: &HashMap<E, Vec<usize>, FastHash>,
        rule_endpoints: impl Iterator<Item = &'e E>,
    ) -> Self {
        let size = (by_endpoint.len() * 2).next_power_of_two().max(2);
        let mut slots: Vec<Option<(E, u32, u32)>> = (0..size).map(|_| None).collect();
        let mut rules = Vec::new();
        for (endpoint, list) in by_endpoint {
            let start = u32::try_from(rules.len()).expect("fewer than 2^32 rules");
            rules.extend_from_slice(list);
            let end = u32::try_from(rules.len()).expect("fewer than 2^32 rules");
            let mut i = Self::slot(endpoint, size - 1);
            while slots[i].is_some() {
                i = (i + 1) & (size - 1);
            }
            slots[i] = Some((endpoint.clone(), start, end));
        }
        let mut index = EndpointIndex {
            slots: slots.into_boxed_slice(),
            rules: rules.into_boxed_slice(),
            by_address: Box::new([]),
        };
        // Each address at which a rule's `&'static str` endpoint lives, once.
        let mut texts: Vec<&'static str> = rule_endpoints.filter_map(static_str).collect();
        texts.sort_unstable_by_key(|t| (t.as_ptr() as usize, t.len()));
        texts.dedup_by_key(|t| (t.as_ptr() as usize, t.len()));
        if !texts.is_empty() {
            // At most a quarter full: few addresses share a first slot.
            let size = (texts.len() * 4).next_power_of_two();
            let mut by_address = vec![AddressSlot::default(); size];
            for text in texts {
                let Some(endpoint) = (&text as &dyn Any).downcast_ref::<E>() else {
                    continue;
                };
                let Some((start, end)) = index.find_by_value(endpoint) else {
                    continue;
                };
                let mut i = address_slot(text, size - 1);
                while by_address[i].address != 0 {
                    i = (i + 1) & (size - 1);
                }
                by_address[i] = AddressSlot {
                    address: text.as_ptr() as usize,
                    len: text.len(),
                    start,
                    end,
                    first: u32::try_from(index.rules[start as usize])
                        .expect("fewer than 2^32 rules"),
                };
            }
            index.by_address = by_address.into_boxed_slice();
        }
        index
    }

    #[inline]
    fn slot(endpoint: &E, mask: usize) -> usize {
        let h = match endpoint_str(endpoint) {
            // Text endpoints (the commonest after enums): one short hash of the text,
            // rather than the `Hash` impl's word loop and terminator.
            Some(s) => short_str_hash(s),
            None => {
                let mut h = FxHasher(0);
                endpoint.hash(&mut h);
                h.0
            }
        };
        // The multiply leaves the high bits the best mixed.
        (h >> 32) as usize & mask
    }

    /// The rules of `endpoint`, in build order.
    #[inline]
    pub(crate) fn get(&self, endpoint: &E) -> Option<&[usize]> {
        let (start, end) = self.find(endpoint)?;
        self.rules.get(start as usize..end as usize)
    }

    /// The first of [`get`](Self::get).
    #[inline]
    pub(crate) fn first(&self, endpoint: &E) -> Option<usize> {
        if let Some(text) = static_str(endpoint) {
            if let Some(slot) = self.by_address(text) {
                return Some(slot.first as usize);
            }
        }
        let (start, end) = self.find_by_value(endpoint)?;
        if end > start {
            self.rules.get(start as usize).copied()
        } else {
            None
        }
    }

    /// The slot of a `&'static str` endpoint stored at `text`'s address, if it is one.
    #[inline(always)]
    fn by_address(&self, text: &'static str) -> Option<&AddressSlot> {
        let mask = self.by_address.len().wrapping_sub(1);
        let mut i = address_slot(text, mask);
        while let Some(slot) = self.by_address.get(i) {
            if slot.address == 0 {
                return None;
            }
            if slot.address == text.as_ptr() as usize && slot.len == text.len() {
                return Some(slot);
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// Where the rules of `endpoint` start and end in `rules`.
    #[inline(always)]
    fn find(&self, endpoint: &E) -> Option<(u32, u32)> {
        if let Some(slot) = static_str(endpoint).and_then(|text| self.by_address(text)) {
            return Some((slot.start, slot.end));
        }
        self.find_by_value(endpoint)
    }

    /// [`find`](Self::find) by the endpoint's value.
    #[inline(always)]
    fn find_by_value(&self, endpoint: &E) -> Option<(u32, u32)> {
        let mask = self.slots.len() - 1;
        let mut i = Self::slot(endpoint, mask);
        loop {
            match &self.slots[i] {
                None => return None,
                Some((e, start, end)) if same_endpoint(e, endpoint) => {
                    return Some((*start, *end));
                }
                Some(_) => i = (i + 1) & mask,
            }
        }
    }
}

/// The text of a `&'static str` endpoint (a type check the compiler resolves).
#[inline(always)]
fn static_str<E: Endpoint>(endpoint: &E) -> Option<&'static str> {
    (endpoint as &dyn Any)
        .downcast_ref::<&'static str>()
        .copied()
}

/// The slot of a text's address in [`EndpointIndex::by_address`].
#[inline(always)]
fn address_slot(text: &str, mask: usize) -> usize {
    let h = (text.as_ptr() as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    (h >> 32) as usize & mask
}

/// The text of a `&'static str` or `String` endpoint (a type check the compiler resolves
/// for each endpoint type: no cost for the others).
#[inline(always)]
fn endpoint_str<E: Endpoint>(endpoint: &E) -> Option<&str> {
    let any: &dyn Any = endpoint;
    if let Some(s) = any.downcast_ref::<&'static str>() {
        Some(s)
    } else {
        any.downcast_ref::<String>().map(String::as_str)
    }
}

/// `stored == given`, for `&'static str` endpoints first by address: the endpoint a match
/// returned, or a literal the compiler merged with the rule's, is the very text stored,
/// and needs no byte comparison. Different addresses still compare the bytes.
#[inline(always)]
fn same_endpoint<E: Endpoint>(stored: &E, given: &E) -> bool {
    let (a, b): (&dyn Any, &dyn Any) = (stored, given);
    if let (Some(a), Some(b)) = (
        a.downcast_ref::<&'static str>(),
        b.downcast_ref::<&'static str>(),
    ) {
        return a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b);
    }
    stored == given
}

/// A hash of a short text from its length and its first and last eight bytes (all of
/// it up to sixteen bytes; longer texts that differ only in the middle share a hash and
/// are told apart by the comparison after it).
#[inline(always)]
fn short_str_hash(s: &str) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let b = s.as_bytes();
    let n = b.len();
    let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default());
    let half = |at: usize| {
        u64::from(u32::from_le_bytes(
            b[at..at + 4].try_into().unwrap_or_default(),
        ))
    };
    let (x, y) = if n >= 8 {
        (word(0), word(n - 8))
    } else if n >= 4 {
        (half(0), half(n - 4))
    } else if n > 0 {
        (
            u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16,
            0,
        )
    } else {
        (0, 0)
    };
    (x.wrapping_mul(K).rotate_left(23) ^ y ^ (n as u64) << 56).wrapping_mul(K)
}

/// A small, fast hasher for endpoint lookups (FxHash's multiply-rotate). Endpoints are the
/// application's own values, so collision attacks are not a concern here.
#[derive(Clone, Copy, Default)]
pub(crate) struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

pub(crate) struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Words read straight from the bytes, the last ones overlapping the previous (a
        // hash only has to be deterministic, not to read each byte once).
        let n = bytes.len();
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
        if n >= 8 {
            let mut at = 0;
            while at + 8 < n {
                self.add(word(at));
                at += 8;
            }
            self.add(word(n - 8));
        } else if n >= 4 {
            let half = |at: usize| {
                u64::from(u32::from_le_bytes(
                    bytes[at..at + 4].try_into().unwrap_or_default(),
                ))
            };
            self.add(half(0) | half(n - 4) << 32);
        } else if n > 0 {
            self.add(
                u64::from(bytes[0]) | u64::from(bytes[n / 2]) << 8 | u64::from(bytes[n - 1]) << 16,
            );
        }
        self.add(n as u64);
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_index_finds_what_the_hash_map_has() {
        // Many endpoints (so probes collide and wrap), several rules for some.
        let names: Vec<String> = (0..300).map(|i| format!("endpoint_{i}")).collect();
        let mut rules = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let name: &'static str = Box::leak(name.clone().into_boxed_str());
            rules.push(Rule::new(format!("/e{i}"), name));
            if i % 7 == 0 {
                rules.push(Rule::new(format!("/e{i}/<int:n>"), name));
            }
        }
        let map: Map<&'static str> = Map::new(rules);
        for (endpoint, list) in &map.by_endpoint {
            assert_eq!(map.build_index.get(endpoint), Some(&list[..]));
            assert_eq!(map.build_index.first(endpoint), Some(list[0]));
        }
        assert_eq!(map.build_index.first(&"missing"), None);
        // The same texts at other addresses: found by comparing the bytes.
        for name in &names {
            let copy: &'static str = Box::leak(name.clone().into_boxed_str());
            let list = &map.by_endpoint[&copy];
            assert_eq!(map.build_index.get(&copy), Some(&list[..]));
            assert_eq!(map.build_index.first(&copy), Some(list[0]));
        }
        // Every rule's endpoint address is in the address table, once.
        let in_table = |map: &Map<&'static str>| {
            map.build_index
                .by_address
                .iter()
                .filter(|s| s.address != 0)
                .count()
        };
        assert_eq!(in_table(&map), names.len());
        // One endpoint text at two addresses (rules written from different strings): both
        // are found by address, with the endpoint's rules.
        let twice: Map<&'static str> = Map::new([
            Rule::new("/a", "x"),
            Rule::new("/b/<int:n>", Box::leak(String::from("x").into_boxed_str())),
            Rule::new("/c", "y"),
        ]);
        assert_eq!(in_table(&twice), 3);
        for rule in &twice.rules {
            let e = rule.rule.endpoint;
            assert_eq!(twice.build_index.get(&e), Some(&twice.by_endpoint[&e][..]));
            assert_eq!(twice.build_index.first(&e), Some(twice.by_endpoint[&e][0]));
        }
        assert_eq!(twice.build_index.first(&"x"), Some(1));
        // Same address, shorter: not the same endpoint.
        let stored: &'static str = map.rules[1].rule.endpoint;
        assert_eq!(map.build_index.get(&&stored[..9]), None);
        assert_eq!(map.build_index.get(&"missing"), None);
        assert_eq!(map.build_index.get(&""), None);
        // `String` endpoints hash the same way; other types through `Hash`.
        let strings: Map<String> =
            Map::new(names.iter().map(|n| Rule::new(format!("/{n}"), n.clone())));
        for (endpoint, list) in &strings.by_endpoint {
            assert_eq!(strings.build_index.get(&endpoint.clone()), Some(&list[..]));
        }
        assert_eq!(strings.build_index.get(&"endpoint_".to_owned()), None);
        let numbers: Map<u32> = Map::new((0..100).map(|i| Rule::new(format!("/{i}"), i)));
        for i in 0..100 {
            assert_eq!(numbers.build_index.get(&i), Some(&[i as usize][..]));
        }
        assert_eq!(numbers.build_index.get(&100), None);
        let empty: Map<&'static str> = Map::new([]);
        assert_eq!(empty.build_index.get(&"x"), None);
        assert_eq!(empty.build_index.first(&"x"), None);
    }
}
