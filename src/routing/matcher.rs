//! Finding the rule for a path. Two engines give the same answers:
//!
//! - [`StateMachine`] is Werkzeug's `StateMachineMatcher` made Rust: a tree of parts (the
//!   domain, then one per path segment) walked depth-first, static transitions before
//!   dynamic ones, dynamic ones by weight, with backtracking, the strict-slash and
//!   non-strict-slash cases, and methods checked at the leaves. It is the reference.
//! - [`FastRouter`] is a [`SegmentTree`] of each rule's skeleton (`/user/{}/edit`: static
//!   segments, parameters, a final catch-all), with the rules that share a skeleton kept in
//!   Werkzeug's order and checked (converter shapes, methods) after the tree lookup. It is
//!   used only for maps where it provably agrees with the state machine (decided when the
//!   map is built), and only for successful matches: anything else (no route, converters
//!   or methods refusing, slash cases) is answered by the state machine, so errors and
//!   redirects are always Werkzeug's.
//!
//! What happens after a rule is found (conversion, defaults, redirects) is the adapter's.

use std::collections::HashMap;

use http::Method;
use smallvec::SmallVec;

use super::rule::{Compiled, OTHER_METHODS, Part, Piece, Var, Weighting, method_bit};
use super::tree::{MAX_PARAMS, ParamSpans, Segment, SegmentTree, TreeBuilder};
use super::values::Values;

/// Byte spans of captured variables.
pub(crate) type Spans = SmallVec<[(usize, usize); 4]>;

/// How many converter checks matching one part may make. A part with several variables
/// (`<a>-<b>-<int:c>`) backtracks over split points, which on a hostile segment of many
/// separators is polynomial in its length; past this budget the part does not match.
/// Ordinary parts use a handful of checks.
pub const MAX_PART_CHECKS: usize = 10_000;

/// Matches `pieces` against all of `text`, pushing each variable's span. Greedy
/// converters try the longest text first, `path`-like ones the shortest, as the regexes
/// Werkzeug builds would.
pub(crate) fn match_pieces(pieces: &[Piece], vars: &[Var], text: &str, caps: &mut Spans) -> bool {
    let mut budget = MAX_PART_CHECKS;
    match_from(pieces, vars, text, 0, caps, &mut budget)
}

fn match_from(
    pieces: &[Piece],
    vars: &[Var],
    text: &str,
    start: usize,
    caps: &mut Spans,
    budget: &mut usize,
) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return start == text.len();
    };
    match first {
        Piece::Static(s) => {
            text[start..].starts_with(s.as_str())
                && match_from(rest, vars, text, start + s.len(), caps, budget)
        }
        Piece::Var(i) => {
            let conv = &vars[*i].converter;
            if rest.is_empty() {
                if conv.matches(&text[start..]) {
                    caps.push((start, text.len()));
                    return true;
                }
                return false;
            }
            let next_static = match rest.first() {
                Some(Piece::Static(s)) => Some(s.as_str()),
                _ => None,
            };
            let mut ends: SmallVec<[usize; 16]> = SmallVec::new();
            for (off, _) in text[start..].char_indices().skip(1) {
                ends.push(start + off);
            }
            ends.push(text.len());
            if conv.part_isolating() {
                ends.reverse();
            }
            for e in ends {
                if let Some(s) = next_static {
                    if !text[e..].starts_with(s) {
                        continue;
                    }
                }
                if *budget == 0 {
                    return false;
                }
                *budget -= 1;
                if conv.matches(&text[start..e]) {
                    caps.push((start, e));
                    if match_from(rest, vars, text, e, caps, budget) {
                        return true;
                    }
                    caps.pop();
                }
            }
            false
        }
    }
}

#[derive(Default, Debug)]
struct State {
    statics: HashMap<String, usize>,
    dynamic: Vec<Transition>,
    rules: Vec<usize>,
}

#[derive(Debug)]
struct Transition {
    key: String,
    /// A rule and part index whose pieces stand for this transition.
    rule: usize,
    part: usize,
    weight: Weighting,
    target: usize,
}

/// The outcome of the state machine.
pub(crate) enum SmResult {
    /// A rule and the texts of its variables, in order.
    Match(usize, Vec<String>),
    /// No rule; `have_match_for` lists methods that would have matched.
    NoMatch,
    /// A branch rule matches with a trailing slash added (strict slashes).
    SlashRequired,
}

/// Werkzeug's state machine matcher.
#[derive(Debug)]
pub(crate) struct StateMachine {
    states: Vec<State>,
}

impl StateMachine {
    pub(crate) fn new<E>(rules: &[Compiled<E>]) -> Self {
        let mut sm = StateMachine {
            states: vec![State::default()],
        };
        for (i, r) in rules.iter().enumerate() {
            if r.rule.build_only {
                continue;
            }
            sm.add(i, &r.parts);
        }
        for s in &mut sm.states {
            s.dynamic.sort_by(|a, b| a.weight.cmp(&b.weight));
        }
        sm
    }

    fn add(&mut self, rule: usize, parts: &[Part]) {
        let mut state = 0;
        for (pi, part) in parts.iter().enumerate() {
            if part.is_static {
                state = match self.states[state].statics.get(&part.text) {
                    Some(&s) => s,
                    None => {
                        let s = self.states.len();
                        self.states.push(State::default());
                        self.states[state].statics.insert(part.text.clone(), s);
                        s
                    }
                };
            } else {
                let found = self.states[state]
                    .dynamic
                    .iter()
                    .find(|t| t.key == part.key && t.weight == part.weight)
                    .map(|t| t.target);
                state = match found {
                    Some(s) => s,
                    None => {
                        let s = self.states.len();
                        self.states.push(State::default());
                        self.states[state].dynamic.push(Transition {
                            key: part.key.clone(),
                            rule,
                            part: pi,
                            weight: part.weight.clone(),
                            target: s,
                        });
                        s
                    }
                };
            }
        }
        self.states[state].rules.push(rule);
    }

    /// Whether, at every state, at most one single-segment dynamic transition leads on to
    /// further segments. When two do, Werkzeug may backtrack between them in an order that
    /// one merged tree parameter cannot reproduce.
    pub(crate) fn merges_cleanly<E>(&self, rules: &[Compiled<E>]) -> bool {
        self.states.iter().all(|s| {
            s.dynamic
                .iter()
                .filter(|t| {
                    let part = &rules[t.rule].parts[t.part];
                    let target = &self.states[t.target];
                    !part.is_final
                        && (!target.dynamic.is_empty()
                            || target.statics.keys().any(|k| !k.is_empty()))
                })
                .count()
                <= 1
        })
    }

    /// Matches `domain` and `path` (which starts with `/`, or is empty) for `method`.
    pub(crate) fn match_path<E>(
        &self,
        rules: &[Compiled<E>],
        domain: &str,
        path: &str,
        method: &Method,
        have_match_for: &mut Vec<Method>,
    ) -> SmResult {
        let mut parts: Vec<&str> = Vec::with_capacity(8);
        parts.push(domain);
        parts.extend(path.split('/'));
        let mut values = Vec::new();
        let mut ctx = Ctx {
            sm: self,
            rules,
            method,
            have_match_for,
        };
        match ctx.walk(0, &parts, &mut values) {
            Ok(Some(rule)) => SmResult::Match(rule, values),
            Ok(None) => SmResult::NoMatch,
            Err(SlashRequired) => SmResult::SlashRequired,
        }
    }
}

struct SlashRequired;

struct Ctx<'a, E> {
    sm: &'a StateMachine,
    rules: &'a [Compiled<E>],
    method: &'a Method,
    have_match_for: &'a mut Vec<Method>,
}

impl<E> Ctx<'_, E> {
    fn note_methods(&mut self, rule: usize) {
        if let Some(ms) = &self.rules[rule].methods {
            for m in ms {
                if !self.have_match_for.contains(m) {
                    self.have_match_for.push(m.clone());
                }
            }
        }
    }

    fn walk(
        &mut self,
        state: usize,
        parts: &[&str],
        values: &mut Vec<String>,
    ) -> Result<Option<usize>, SlashRequired> {
        let st = &self.sm.states[state];
        if parts.is_empty() {
            for &r in &st.rules {
                if self.rules[r].allows(self.method) {
                    return Ok(Some(r));
                }
                self.note_methods(r);
            }
            if let Some(&slash) = st.statics.get("") {
                for &r in &self.sm.states[slash].rules {
                    if self.rules[r].allows(self.method) {
                        if self.rules[r].strict_slashes {
                            return Err(SlashRequired);
                        }
                        return Ok(Some(r));
                    }
                }
            }
            return Ok(None);
        }
        let part = parts[0];
        if let Some(&next) = st.statics.get(part) {
            if let Some(r) = self.walk(next, &parts[1..], values)? {
                return Ok(Some(r));
            }
        }
        for t in &st.dynamic {
            let tp = &self.rules[t.rule].parts[t.part];
            let vars = &self.rules[t.rule].vars;
            let joined;
            let (target, mut remaining): (&str, &[&str]) = if tp.is_final {
                joined = parts.join("/");
                (&joined, &[])
            } else {
                (part, &parts[1..])
            };
            let mut caps = Spans::new();
            let text = if tp.suffixed {
                match target.strip_suffix('/') {
                    Some(t) if !t.ends_with('/') => {
                        remaining = &[""];
                        t
                    }
                    Some(_) => continue,
                    None => target,
                }
            } else {
                target
            };
            if !match_pieces(&tp.pieces, vars, text, &mut caps) {
                continue;
            }
            let before = values.len();
            values.extend(caps.iter().map(|&(a, b)| text[a..b].to_owned()));
            if let Some(r) = self.walk(t.target, remaining, values)? {
                return Ok(Some(r));
            }
            values.truncate(before);
        }
        if parts.len() == 1 && parts[0].is_empty() {
            for &r in &st.rules {
                if !self.rules[r].strict_slashes {
                    if self.rules[r].allows(self.method) {
                        return Ok(Some(r));
                    }
                    self.note_methods(r);
                }
            }
        }
        Ok(None)
    }
}

/// A set of methods as bits for the standard ones, so checking one is a mask test.
#[derive(Debug, Clone, Default)]
pub(crate) struct MethodSet {
    any: bool,
    /// Standard methods by [`method_bit`]; never [`OTHER_METHODS`].
    bits: u32,
    others: Vec<Method>,
}

impl MethodSet {
    fn new(methods: Option<&[Method]>) -> Self {
        match methods {
            None => MethodSet {
                any: true,
                ..Default::default()
            },
            Some(list) => {
                let mut set = MethodSet::default();
                for m in list {
                    match method_bit(m) {
                        OTHER_METHODS => set.others.push(m.clone()),
                        b => set.bits |= b,
                    }
                }
                set
            }
        }
    }

    #[inline]
    fn allows(&self, method: &Method, bit: u32) -> bool {
        self.any || self.bits & bit != 0 || (bit == OTHER_METHODS && self.others.contains(method))
    }
}

/// How one route parameter of a candidate is checked and converted.
enum ParamCheck {
    /// The whole segment is one variable.
    Var {
        converter: std::sync::Arc<dyn super::converters::Converter>,
        name: &'static str,
        builtin: super::converters::Builtin,
    },
    /// A segment with static text or several variables: the rule's part `part`.
    Pieces { part: u16 },
}

impl std::fmt::Debug for ParamCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamCheck::Var { name, .. } => write!(f, "Var({name})"),
            ParamCheck::Pieces { part } => write!(f, "Pieces({part})"),
        }
    }
}

/// A rule at a route, with what checking it needs kept together (one cache line or two).
#[derive(Debug)]
struct Candidate {
    rule: u32,
    /// No defaults, alias, redirects: a match needs no further work.
    plain: bool,
    methods: MethodSet,
    params: SmallVec<[Param; 3]>,
}

/// A route parameter: the `n`-th parameter span the tree found (a catch-all is the rest
/// of the path), and how to check it.
#[derive(Debug)]
struct Param {
    rest: bool,
    check: ParamCheck,
}

/// One route of the tree: the rules sharing its skeleton, in Werkzeug's order.
#[derive(Debug, Default)]
pub(crate) struct Entry {
    candidates: SmallVec<[Candidate; 1]>,
    /// Slash cases live here: leave this path to the state machine.
    fallback: bool,
}

/// A [`SegmentTree`] of each rule's skeleton (`/user/{}/edit`) per (static) domain.
#[derive(Debug)]
pub(crate) struct FastRouter {
    routers: Vec<DomainRouter>,
}

/// The tree and entries of one domain.
#[derive(Debug)]
pub(crate) struct DomainRouter {
    domain: String,
    tree: SegmentTree,
    entries: Vec<Entry>,
}

/// The tree route for a rule's path parts (after the leading `/`), or `None` if a part
/// cannot be one (a `path` variable with text around it, or followed by more of the rule).
fn skeleton(parts: &[Part]) -> Option<Vec<Segment>> {
    match parts.get(1) {
        Some(p) if p.is_static && p.text.is_empty() => {}
        _ => return None,
    }
    let mut out = Vec::with_capacity(parts.len().saturating_sub(2));
    for (i, p) in parts.iter().enumerate().skip(2) {
        out.push(if p.is_static {
            Segment::Static(p.text.clone())
        } else if p.is_final {
            if p.suffixed || p.pieces.len() != 1 || i != parts.len() - 1 {
                return None;
            }
            Segment::CatchAll
        } else {
            Segment::Param
        });
    }
    Some(out)
}

fn candidate<E>(i: usize, r: &Compiled<E>, plain: bool) -> Candidate {
    let params = r
        .parts
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, p)| !p.is_static)
        .map(|(pi, p)| Param {
            rest: p.is_final,
            check: match p.pieces.as_slice() {
                [Piece::Var(v)] => ParamCheck::Var {
                    converter: r.vars[*v].converter.clone(),
                    name: r.vars[*v].name,
                    builtin: r.vars[*v].builtin,
                },
                _ => ParamCheck::Pieces { part: pi as u16 },
            },
        })
        .collect();
    Candidate {
        rule: i as u32,
        plain,
        methods: MethodSet::new(r.methods.as_deref()),
        params,
    }
}

impl FastRouter {
    /// Builds the routers, or `None` when the map needs the state machine's full
    /// backtracking (see the module docs). `plain[i]` says rule `i` needs no work after
    /// matching.
    pub(crate) fn new<E>(
        rules: &[Compiled<E>],
        sm: &StateMachine,
        plain: &[bool],
    ) -> Option<FastRouter> {
        if !sm.merges_cleanly(rules) {
            return None;
        }
        type Key = (String, Vec<Segment>);
        let mut by_route: Vec<(Key, Vec<usize>)> = Vec::new();
        let mut markers: Vec<Key> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.rule.build_only {
                continue;
            }
            let domain = &r.parts[0];
            if !domain.is_static {
                return None;
            }
            let route = skeleton(&r.parts)?;
            let domain = domain.text.clone();
            // Slash cases: a branch rule's route without the slash, and a non-strict
            // rule's route with one, are answered by the state machine.
            if route.len() > 1 && route.last() == Some(&Segment::Static(String::new())) {
                markers.push((domain.clone(), route[..route.len() - 1].to_vec()));
            }
            if !r.strict_slashes {
                if route.last() == Some(&Segment::CatchAll) {
                    return None;
                }
                let mut slashed = route.clone();
                slashed.push(Segment::Static(String::new()));
                markers.push((domain.clone(), slashed));
            }
            let key = (domain, route);
            match by_route.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(i),
                None => by_route.push((key, vec![i])),
            }
        }
        for (_, list) in &mut by_route {
            list.sort_by(|&a, &b| {
                let wa = rules[a].parts.iter().map(|p| &p.weight);
                let wb = rules[b].parts.iter().map(|p| &p.weight);
                wa.cmp(wb).then(a.cmp(&b))
            });
        }
        let fallbacks: std::collections::HashSet<Key> = markers.into_iter().collect();
        for key in &fallbacks {
            if !by_route.iter().any(|(k, _)| k == key) {
                by_route.push((key.clone(), Vec::new()));
            }
        }
        // Per domain: its tree being built and its entries.
        let mut building: Vec<(String, TreeBuilder, Vec<Entry>)> = Vec::new();
        for (key, list) in &by_route {
            let (domain, route) = key;
            let pos = match building.iter().position(|(d, _, _)| d == domain) {
                Some(p) => p,
                None => {
                    building.push((domain.clone(), TreeBuilder::default(), Vec::new()));
                    building.len() - 1
                }
            };
            let (_, tree, entries) = &mut building[pos];
            let index = u32::try_from(entries.len()).ok()?;
            entries.push(Entry {
                candidates: list
                    .iter()
                    .map(|&i| candidate(i, &rules[i], plain[i]))
                    .collect(),
                fallback: fallbacks.contains(key),
            });
            if let Err(e) = tree.insert(route, index) {
                log::debug!(
                    "routing: the path tree refused a route ({e:?}); using the state machine"
                );
                return None;
            }
        }
        let routers = building
            .into_iter()
            .map(|(domain, tree, entries)| DomainRouter {
                domain,
                tree: tree.finish(),
                entries,
            })
            .collect();
        Some(FastRouter { routers })
    }

    /// The router for `domain` (see `same_str` on why not `==`), if the map has rules
    /// there. Most maps have one domain, usually "".
    pub(crate) fn router(&self, domain: &str) -> Option<&DomainRouter> {
        let same = |d: &str| super::adapter::same_str(d, domain);
        self.routers.iter().find(|r| same(&r.domain))
    }
}

impl DomainRouter {
    /// The first rule that matches `path` with `method` (whose [`method_bit`] is `bit`), its
    /// converted variables pushed to `values`, and whether it is plain. `None` (with
    /// `values` possibly partly filled) leaves the answer to the state machine: no route,
    /// no candidate, a slash case, or a converter refusing a value (where Werkzeug's answer
    /// depends on methods seen).
    #[inline]
    pub(crate) fn lookup<E>(
        &self,
        rules: &[Compiled<E>],
        path: &str,
        method: &Method,
        bit: u32,
        values: &mut Values,
    ) -> Option<(usize, bool)> {
        let router = self;
        let mut spans: ParamSpans = [(0, 0); MAX_PARAMS];
        let entry = router
            .entries
            .get(router.tree.at(path, &mut spans)? as usize)?;
        if entry.fallback {
            return None;
        }
        let first = values.len();
        'candidates: for c in &entry.candidates {
            if !c.methods.allows(method, bit) {
                // Werkzeug notes the methods and goes on to the next rule in order.
                continue;
            }
            // Each value is converted as soon as its shape is checked. A later shape that
            // does not fit drops them and moves on; a conversion that fails returns `None`
            // (the state machine decides), so the rule is still chosen by shapes alone.
            let mut var = 0usize;
            for (p, &(start, end)) in c.params.iter().zip(&spans) {
                let text = path.get(start as usize..end as usize)?;
                match &p.check {
                    ParamCheck::Var {
                        converter,
                        name,
                        builtin,
                    } => {
                        let Some(value) = builtin.convert(&**converter, text, !p.rest) else {
                            if var != 0 {
                                values.truncate(first);
                            }
                            continue 'candidates;
                        };
                        values.push_static(name, value?);
                        var += 1;
                    }
                    ParamCheck::Pieces { part } => {
                        let rule = &rules[c.rule as usize];
                        let mut caps = Spans::new();
                        let pieces = &rule.parts[*part as usize].pieces;
                        if !match_pieces(pieces, &rule.vars, text, &mut caps) {
                            if var != 0 {
                                values.truncate(first);
                            }
                            continue 'candidates;
                        }
                        for &(a, b) in &caps {
                            let v = rule.vars.get(var)?;
                            values.push_static(v.name, v.converter.to_value(&text[a..b])?);
                            var += 1;
                        }
                    }
                }
            }
            return Some((c.rule as usize, c.plain));
        }
        None
    }
}
