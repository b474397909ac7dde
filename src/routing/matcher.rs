//! Finding the rule for a path: `matchit` finds the candidates, Werkzeug's rules decide.
//!
//! Each rule's skeleton (`/user/{p2}/edit`: static segments, one parameter per dynamic
//! segment, a final catch-all for `path`) is a route of a `matchit::Router` per domain; the
//! rules sharing it are kept in Werkzeug's order and checked after the lookup (converters,
//! methods). What `matchit` cannot express is left to [`StateMachine`], Werkzeug's
//! `StateMachineMatcher` (static before dynamic, by weight, with backtracking): answers that
//! depend on the rules that did *not* match (404 or 405 and its `Allow` list, slash
//! redirects, a converter refusing so that a later rule wins), dynamic hosts or subdomains,
//! and maps whose backtracking one merged tree cannot reproduce (decided when the map is
//! built). What happens after a rule is found (defaults, aliases, redirects) is the
//! adapter's.

use std::collections::HashMap;

use http::Method;
use smallvec::SmallVec;

use super::converters::{Converter, Refusal};
use super::rule::{Compiled, Part, Piece, Var, Weighting};
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
            let conv = &*vars[*i].converter;
            // A part-isolating variable stays within one segment (Werkzeug's `[^/]`).
            let limit = match conv.part_isolating() {
                true => text[start..].find('/').map_or(text.len(), |p| start + p),
                false => text.len(),
            };
            if rest.is_empty() {
                if limit == text.len() && fits(conv, &text[start..]) {
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
            for (off, _) in text[start..limit].char_indices().skip(1) {
                ends.push(start + off);
            }
            ends.push(limit);
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
                if fits(conv, &text[start..e]) {
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

/// Converts `text` by `var`'s converter and appends the value to `values`.
#[inline]
fn convert(var: &Var, text: &str, values: &mut Values) -> Result<(), Refusal> {
    values.push(var.name, var.converter.to_value(text)?);
    Ok(())
}

/// Whether `text` has the converter's shape (the converter may still find it invalid).
fn fits(conv: &dyn Converter, text: &str) -> bool {
    !matches!(conv.to_value(text), Err(Refusal::Mismatch))
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

/// A rule at a route, and the rule's part that each route parameter (by its name) stands
/// for.
#[derive(Debug)]
struct Candidate {
    rule: usize,
    params: SmallVec<[(usize, Box<str>); 4]>,
}

/// One `matchit` route: the rules sharing its skeleton, in Werkzeug's order.
#[derive(Debug, Default)]
pub(crate) struct Entry {
    candidates: SmallVec<[Candidate; 1]>,
    /// A slash case lives here (a branch rule without its slash, a non-strict rule with
    /// one): left to the state machine.
    fallback: bool,
}

/// The matcher of a map: `matchit` routers per static domain, when the map allows them,
/// and the state machine.
#[derive(Debug)]
pub(crate) struct Matcher {
    pub(crate) sm: StateMachine,
    routers: Vec<DomainRouter>,
}

/// The router of one domain (subdomain, or host with host matching).
#[derive(Debug)]
pub(crate) struct DomainRouter {
    domain: String,
    router: matchit::Router<Entry>,
}

/// The `matchit` route for a rule's path parts, or `None` if a part cannot be one (a
/// `path` variable with text around it, or followed by more of the rule).
fn skeleton(parts: &[Part]) -> Option<String> {
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate().skip(1) {
        if i > 1 {
            out.push('/');
        }
        if p.is_static {
            out.push_str(&p.text.replace('{', "{{").replace('}', "}}"));
        } else if p.is_final {
            if p.suffixed || p.pieces.len() != 1 || i != parts.len() - 1 {
                return None;
            }
            out.push_str(&format!("{{*p{i}}}"));
        } else {
            out.push_str(&format!("{{p{i}}}"));
        }
    }
    Some(out)
}

impl Matcher {
    pub(crate) fn new<E>(rules: &[Compiled<E>]) -> Self {
        let sm = StateMachine::new(rules);
        let routers = Self::routers(rules, &sm).unwrap_or_default();
        Matcher { sm, routers }
    }

    /// The routers, or `None` when the map needs the state machine's full backtracking or
    /// has a rule `matchit` cannot hold (see the module docs).
    fn routers<E>(rules: &[Compiled<E>], sm: &StateMachine) -> Option<Vec<DomainRouter>> {
        if !sm.merges_cleanly(rules) {
            return None;
        }
        // (domain, route) -> the rules there.
        let mut by_route: Vec<((String, String), Vec<usize>)> = Vec::new();
        let mut fallbacks = std::collections::HashSet::new();
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
            let branch = r.parts.len() > 2
                && r.parts
                    .last()
                    .is_some_and(|p| p.is_static && p.text.is_empty());
            if branch && route.len() > 1 {
                fallbacks.insert((domain.clone(), route[..route.len() - 1].to_owned()));
            }
            if !r.strict_slashes {
                fallbacks.insert((domain.clone(), format!("{route}/")));
            }
            let key = (domain, route);
            match by_route.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(i),
                None => by_route.push((key, vec![i])),
            }
        }
        for key in &fallbacks {
            if !by_route.iter().any(|(k, _)| k == key) {
                by_route.push((key.clone(), Vec::new()));
            }
        }
        let mut routers: Vec<DomainRouter> = Vec::new();
        for ((domain, route), mut list) in by_route {
            // Werkzeug's order among rules of one skeleton: by the parts' weights, then
            // the map's order.
            list.sort_by(|&a, &b| {
                let wa = rules[a].parts.iter().map(|p| &p.weight);
                let wb = rules[b].parts.iter().map(|p| &p.weight);
                wa.cmp(wb).then(a.cmp(&b))
            });
            let entry = Entry {
                fallback: fallbacks.contains(&(domain.clone(), route.clone())),
                candidates: list
                    .iter()
                    .map(|&rule| Candidate {
                        rule,
                        params: (1..rules[rule].parts.len())
                            .filter(|&p| !rules[rule].parts[p].is_static)
                            .map(|p| (p, format!("p{p}").into()))
                            .collect(),
                    })
                    .collect(),
            };
            let pos = match routers.iter().position(|r| r.domain == domain) {
                Some(p) => p,
                None => {
                    routers.push(DomainRouter {
                        domain,
                        router: matchit::Router::new(),
                    });
                    routers.len() - 1
                }
            };
            if let Err(e) = routers[pos].router.insert(route, entry) {
                log::debug!("routing: matchit refused a route ({e}); using the state machine");
                return None;
            }
        }
        Some(routers)
    }

    /// The router for `domain`, if the map has one there.
    pub(crate) fn router(&self, domain: &str) -> Option<&DomainRouter> {
        self.routers.iter().find(|r| r.domain == domain)
    }
}

impl DomainRouter {
    /// The first rule that matches `path` with `method`, its converted variables pushed to
    /// `values`. `None` (with `values` possibly partly filled) leaves the answer to the
    /// state machine: no route, no candidate, a slash case, or a converter refusing a value
    /// (where Werkzeug's answer depends on the methods of the rules seen).
    #[inline]
    pub(crate) fn lookup<E>(
        &self,
        rules: &[Compiled<E>],
        path: &str,
        method: &Method,
        values: &mut Values,
    ) -> Option<usize> {
        let found = self.router.at(path).ok()?;
        let entry = found.value;
        if entry.fallback {
            return None;
        }
        let first = values.len();
        'candidates: for c in &entry.candidates {
            let r = c.rule;
            let rule = &rules[r];
            if !rule.allows(method) {
                // Werkzeug notes the methods and goes on to the next rule in order.
                continue;
            }
            for (part, key) in &c.params {
                let part = &rule.parts[*part];
                let text = found.params.get(key)?;
                let converted = match part.pieces.as_slice() {
                    [Piece::Var(v)] => convert(&rule.vars[*v], text, values),
                    pieces => {
                        let mut caps = Spans::new();
                        if match_pieces(pieces, &rule.vars, text, &mut caps) {
                            let vars = pieces.iter().filter_map(|p| match p {
                                Piece::Var(v) => Some(&rule.vars[*v]),
                                Piece::Static(_) => None,
                            });
                            vars.zip(&caps)
                                .try_for_each(|(var, &(a, b))| convert(var, &text[a..b], values))
                        } else {
                            Err(Refusal::Mismatch)
                        }
                    }
                };
                // A value whose shape does not fit drops this rule's values and moves on to
                // the next rule; one that fits but is invalid leaves the answer to the state
                // machine (a 404 or a 405, depending on the rules seen).
                match converted {
                    Ok(()) => {}
                    Err(Refusal::Mismatch) => {
                        values.truncate(first);
                        continue 'candidates;
                    }
                    Err(Refusal::Invalid) => return None,
                }
            }
            return Some(r);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::{Map, Rule, Value};

    /// Whenever the `matchit` lookup answers, the state machine gives the same rule and
    /// values: random paths over maps with statics beside parameters at several depths,
    /// several rules per skeleton, converters that refuse, methods and slash cases.
    #[test]
    fn matchit_lookup_agrees_with_the_state_machine() {
        let sample = Map::new([
            Rule::new("/", "index"),
            Rule::new("/<short_id>", "follow"),
            Rule::new("/<short_id>+", "details"),
            Rule::new("/page/<int:id>", "page_id"),
            Rule::new("/page/<name>", "page_name"),
            Rule::new("/page/new", "page_new").methods(["POST"]),
            Rule::new("/page/<float:f>", "page_float"),
            Rule::new("/f/<int(fixed_digits=3, max=500):n>", "fixed"),
            Rule::new("/blog/", "blog"),
            Rule::new("/blog/<int:year>/", "year"),
            Rule::new("/blog/<int:year>/<slug>", "post").methods(["GET", "PUT"]),
            Rule::new("/files/<path:p>", "files"),
            #[cfg(feature = "uuid")]
            Rule::new("/u/<uuid:u>", "uuid"),
            Rule::new("/a/<any(x, y, 'z w'):v>", "any"),
            Rule::new("/x-<a>.<int:b>", "mixed"),
            Rule::new("/loose", "loose").strict_slashes(false),
            Rule::new("/api/v1/items/<int:id>/tags/<tag>", "item_tag"),
            Rule::new("/<section>/about", "section_about"),
        ]);
        assert!(sample.matcher.router("").is_some());
        // Path segments, comma-separated (the first is empty).
        let tokens: Vec<&str> = ",page,new,3,007,1.5,x,y,z w,q,blog,2024,files,f,500,501,u,\
            a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,a,x-a.1,loose,api,v1,items,tags,about,+,abc+,é"
            .split(',')
            .collect();
        let mut state = 0x9e37_79b9u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as usize
        };
        let mut answered = 0;
        for _ in 0..20_000 {
            let mut path = String::new();
            for _ in 0..1 + next() % 6 {
                path.push('/');
                path.push_str(tokens[next() % tokens.len()]);
            }
            let method = [Method::GET, Method::POST, Method::PUT][next() % 3].clone();
            let mut values = Values::new();
            let router = sample.matcher.router("").unwrap();
            let Some(rule) = router.lookup(&sample.rules, &path, &method, &mut values) else {
                continue;
            };
            answered += 1;
            let mut have = Vec::new();
            match sample
                .matcher
                .sm
                .match_path(&sample.rules, "", &path, &method, &mut have)
            {
                SmResult::Match(r, texts) => {
                    assert_eq!(r, rule, "{method} {path}");
                    let converted: Vec<Value> = sample.rules[r]
                        .vars
                        .iter()
                        .zip(&texts)
                        .map(|(v, t)| v.converter.to_value(t).unwrap())
                        .collect();
                    let got: Vec<&Value> = values.iter().map(|(_, v)| v).collect();
                    assert_eq!(got, converted.iter().collect::<Vec<_>>(), "{path}");
                }
                _ => panic!("the state machine does not match {method} {path}"),
            }
        }
        assert!(answered > 2_000, "{answered}");
    }
}
