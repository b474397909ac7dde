//! URL building on a [`MapAdapter`]: `build`, `build_with`, `build_into` and `url_for`,
//! with Werkzeug's choice among an endpoint's rules (method, values, defaults, host), its
//! query string for the values a rule does not use, and its `BuildError` suggestions.

use std::borrow::Cow;

use http::Method;
use percent_encoding::{AsciiSet, utf8_percent_encode};

use super::adapter::MapAdapter;
use super::error::BuildError;
use super::map::Endpoint;
use super::rule::{BuildOp, Compiled, UrlBuilder};
use super::values::{BuildValues, Value};

/// The capacity a URL built by [`MapAdapter::build`] starts with (most fit; longer ones grow).
const URL_CAPACITY: usize = 64;

/// What Werkzeug's `url_encode` leaves alone in query values: it escapes `&`, `=`, `+`, `#`
/// and spaces (written `+`), keeps `/`, `:`, `@`, `?`, `;` and `,`.
const QUERY_VALUE_SET: &AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Options for [`MapAdapter::build_with`], Werkzeug's `build` keyword arguments.
///
/// # Examples
///
/// ```
/// use zeug::routing::{BuildOptions, Map, Rule};
/// let map = Map::new([Rule::new("/a", "a")]);
/// let a = map.bind("example.com", "");
/// let url = a.build_with(&"a", &[("q", "1")], &BuildOptions::new().force_external(true)).unwrap();
/// assert_eq!(url, "http://example.com/a?q=1");
/// ```
#[derive(Debug, Clone)]
pub struct BuildOptions {
    method: Option<Method>,
    force_external: bool,
    append_unknown: bool,
    url_scheme: Option<String>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            method: None,
            force_external: false,
            append_unknown: true,
            url_scheme: None,
        }
    }
}

impl BuildOptions {
    /// The defaults: any method, relative URL, unknown values as a query string.
    pub fn new() -> Self {
        BuildOptions::default()
    }

    /// Only rules accepting `method` (when an endpoint has several rules that differ by
    /// method).
    pub fn method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// Always return an absolute URL (`scheme://host/...`).
    pub fn force_external(mut self, yes: bool) -> Self {
        self.force_external = yes;
        self
    }

    /// Append values the rule does not use as a query string (default true).
    pub fn append_unknown(mut self, yes: bool) -> Self {
        self.append_unknown = yes;
        self
    }

    /// The scheme of absolute URLs (default: the bound one).
    pub fn url_scheme(mut self, scheme: &str) -> Self {
        self.url_scheme = Some(scheme.to_owned());
        self
    }
}

impl<'a, E: Endpoint> MapAdapter<'a, E> {
    /// Builds the URL for `endpoint` with `values`: relative to the host (`/script/path`)
    /// unless the rule is on another subdomain or host. Values the rule does not use are
    /// appended as a query string; text is percent-encoded.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{Map, Rule};
    /// let map = Map::new([Rule::new("/blog/<int:year>/<slug>", "post")]);
    /// let a = map.bind("example.com", "");
    /// let url = a.build(&"post", &[("year", "2024"), ("slug", "hello world"), ("ref", "a&b")]).unwrap();
    /// assert_eq!(url, "/blog/2024/hello%20world?ref=a%26b");
    /// ```
    pub fn build(
        &self,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
    ) -> Result<String, BuildError> {
        self.build_with(endpoint, values, &BuildOptions::default())
    }

    /// Alias of [`build`](Self::build), under the name views know from Flask.
    pub fn url_for(
        &self,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
    ) -> Result<String, BuildError> {
        self.build(endpoint, values)
    }

    /// [`build`](Self::build) with options: method, `force_external`, `append_unknown`,
    /// scheme.
    pub fn build_with(
        &self,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
        options: &BuildOptions,
    ) -> Result<String, BuildError> {
        let mut url = String::with_capacity(URL_CAPACITY);
        self.build_into(&mut url, endpoint, values, options)?;
        Ok(url)
    }

    /// [`build_with`](Self::build_with), appending the URL to `out` instead of returning a
    /// new `String`: for URLs that go into a larger text (a page being rendered), or into
    /// one buffer reused for many URLs. Same URLs, same errors; on an error `out` is left
    /// as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::routing::{BuildOptions, Map, Rule};
    /// let map = Map::new([Rule::new("/user/<int:id>", "user"), Rule::new("/", "index")]);
    /// let a = map.bind("example.com", "");
    /// let mut page = String::from("<a href=\"");
    /// a.build_into(&mut page, &"user", &[("id", 7)], &BuildOptions::new()).unwrap();
    /// page.push_str("\">me</a>");
    /// assert_eq!(page, "<a href=\"/user/7\">me</a>");
    ///
    /// let mut url = String::new();
    /// assert!(a.build_into(&mut url, &"user", &(), &BuildOptions::new()).is_err());
    /// assert!(url.is_empty());
    /// ```
    pub fn build_into(
        &self,
        out: &mut String,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
        options: &BuildOptions,
    ) -> Result<(), BuildError> {
        let rules = self
            .map
            .by_endpoint
            .get(endpoint)
            .map_or(&[][..], Vec::as_slice);
        // Werkzeug tries the bound method first, then any method, when given none.
        let bound = options.method.as_ref().unwrap_or(&self.default_method);
        let methods = match options.method {
            Some(_) => &[Some(bound)][..],
            None => &[Some(bound), None],
        };
        // With host matching, a rule for the bound host wins over one for another host.
        let start = out.len();
        let mut other_host: Option<String> = None;
        for &method in methods {
            for &i in rules {
                let rule = &self.map.rules[i];
                let Some(domain) = self.write_rule(out, rule, values, method, options) else {
                    continue;
                };
                if !self.map.host_matching || domain == self.server_name {
                    return Ok(());
                }
                if other_host.is_none() {
                    other_host = Some(out[start..].to_owned());
                }
                out.truncate(start);
            }
            if let Some(url) = other_host {
                out.push_str(&url);
                return Ok(());
            }
        }
        Err(self.build_error(endpoint, values, options.method.as_ref()))
    }

    /// Appends the URL of `rule` for `values` if the rule suits them and `method` and its
    /// converters can write them, and returns the rule's domain part (subdomain, or host
    /// with host matching); `None`, with `out` as it was, if not.
    pub(super) fn write_rule<'r>(
        &self,
        out: &mut String,
        rule: &'r Compiled<E>,
        values: &(impl BuildValues + ?Sized),
        method: Option<&Method>,
        options: &BuildOptions,
    ) -> Option<Cow<'r, str>> {
        let named = suitable_for(rule, values, method)?;
        let domain = match rule.domain_ops.as_slice() {
            [] => Cow::Borrowed(""),
            [BuildOp::Text(t)] => Cow::Borrowed(t.as_str()),
            ops => {
                let mut s = String::new();
                write_ops(rule, ops, values, &mut s).then_some(())?;
                Cow::Owned(s)
            }
        };
        let start = out.len();
        // Relative (just the script name) unless the rule's domain is another one, or the
        // URL must be external.
        let relative = !options.force_external
            && if self.map.host_matching {
                domain == self.server_name
            } else {
                self.subdomain.as_deref() == Some(&domain)
            };
        if !relative {
            out.push_str(options.url_scheme.as_deref().unwrap_or(self.url_scheme));
            out.push_str("://");
            out.push_str(&self.get_host(Some(&domain)));
        }
        out.push_str(self.script_name);
        if !write_ops(rule, &rule.path_ops, values, out) {
            out.truncate(start);
            return None;
        }
        // When every pair names one of the rule's arguments, none is left for a query.
        if options.append_unknown && values.pair_count() != Some(named) {
            write_query(out, rule, values, self.map.sort_parameters);
        }
        Some(domain)
    }

    fn build_error(
        &self,
        endpoint: &E,
        values: &(impl BuildValues + ?Sized),
        method: Option<&Method>,
    ) -> BuildError {
        let wanted = format!("{endpoint:?}");
        let mut names: Vec<String> = Vec::new();
        values.each(&mut |k, _| {
            if !names.iter().any(|n| n == k) {
                names.push(k.to_owned());
            }
        });
        names.sort();
        // Werkzeug's closest_rule: mostly the endpoint name's similarity, then whether the
        // values fit the rule's arguments and the method its methods.
        let mut best: Option<(f64, &Compiled<E>)> = None;
        for r in &self.map.rules {
            let ratio = similarity(&format!("{:?}", r.rule.endpoint), &wanted);
            let fits = names.iter().all(|n| r.has_argument(n));
            let method_ok =
                method.is_some_and(|m| r.methods.as_ref().is_some_and(|ms| ms.contains(m)));
            let score = 0.98 * ratio
                + 0.01 * f64::from(u8::from(fits))
                + 0.01 * f64::from(u8::from(method_ok));
            if best.as_ref().is_none_or(|(s, _)| *s < score) {
                best = Some((score, r));
            }
        }
        let suggestion = best.and_then(|(_, r)| {
            if r.rule.endpoint == *endpoint {
                if let (Some(m), Some(ms)) = (method, &r.methods) {
                    if !ms.contains(m) {
                        let mut list: Vec<&str> = ms.iter().map(Method::as_str).collect();
                        list.sort_unstable();
                        return Some(format!("Did you mean to use methods {list:?}?"));
                    }
                }
                let mut missing: Vec<&str> = r
                    .arguments
                    .iter()
                    .copied()
                    .chain(r.rule.defaults.iter().map(|(k, _)| k))
                    .filter(|a| !names.iter().any(|n| n == a))
                    .collect();
                missing.sort_unstable();
                missing.dedup();
                (!missing.is_empty())
                    .then(|| format!("Did you forget to specify values {missing:?}?"))
            } else if similarity(&format!("{:?}", r.rule.endpoint), &wanted) >= SUGGESTION_CUTOFF {
                Some(format!("Did you mean {:?} instead?", r.rule.endpoint))
            } else {
                None
            }
        });
        BuildError {
            endpoint: wanted,
            method: method.map(|m| m.as_str().to_owned()),
            values: names,
            suggestion,
        }
    }
}

impl<E: Endpoint> UrlBuilder<E> for MapAdapter<'_, E> {
    fn build(&self, endpoint: &E, values: &dyn BuildValues) -> Result<String, BuildError> {
        MapAdapter::build(self, endpoint, values)
    }
}

/// How similar an endpoint name must be to be suggested (difflib's `get_close_matches`
/// default).
const SUGGESTION_CUTOFF: f64 = 0.6;

/// `2 * LCS / (len(a) + len(b))`, close to difflib's `SequenceMatcher.ratio`.
fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in &a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    2.0 * prev[b.len()] as f64 / (a.len() + b.len()) as f64
}

/// Werkzeug's `Rule.suitable_for`: the method fits, every argument has a value or a
/// default, and given values agree with the defaults. Returns how many of the rule's
/// arguments the values name (so building knows whether any value is left over).
#[inline]
pub(super) fn suitable_for<E>(
    rule: &Compiled<E>,
    values: &(impl BuildValues + ?Sized),
    method: Option<&Method>,
) -> Option<usize> {
    if method.is_some_and(|m| !rule.allows(m)) {
        return None;
    }
    let mut named = 0;
    for a in &rule.arguments {
        match (values.value(a), rule.rule.defaults.raw(a)) {
            (Some(given), Some(default)) if !same_value(&given, default) => return None,
            (Some(_), _) => named += 1,
            (None, Some(_)) => {}
            (None, None) => return None,
        }
    }
    Some(named)
}

/// A given value agrees with a default: equal, or written the same (`"1"` and `1`).
fn same_value(a: &Value, b: &Value) -> bool {
    a == b || (!matches!(a, Value::Custom(_)) && a.to_string() == b.to_string())
}

/// Appends `ops` (a rule's domain or path) for `values`; `false` when a value is missing
/// or its converter cannot write it, with part of the text possibly written.
fn write_ops<E>(
    rule: &Compiled<E>,
    ops: &[BuildOp],
    values: &(impl BuildValues + ?Sized),
    out: &mut String,
) -> bool {
    for op in ops {
        match op {
            BuildOp::Text(t) => out.push_str(t),
            BuildOp::Var(i) => {
                let var = &rule.vars[*i];
                match values.value(var.name) {
                    Some(value) if var.write(&value, out) => {}
                    _ => return false,
                }
            }
        }
    }
    true
}

/// Appends the query string of the values `rule` does not use.
fn write_query<E>(
    out: &mut String,
    rule: &Compiled<E>,
    values: &(impl BuildValues + ?Sized),
    sort_parameters: bool,
) {
    let mut query: Vec<(String, String)> = Vec::new();
    values.each(&mut |name, v| {
        if !rule.has_argument(name) {
            query.push((name.to_owned(), v.to_string()));
        }
    });
    if sort_parameters {
        query.sort_by(|a, b| a.0.cmp(&b.0));
    }
    for (i, (k, v)) in query.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        push_query_part(out, k);
        out.push('=');
        push_query_part(out, v);
    }
}

/// Appends a query name or value as Werkzeug's `url_encode` writes it (spaces as `+`).
fn push_query_part(out: &mut String, text: &str) {
    for chunk in utf8_percent_encode(text, QUERY_VALUE_SET) {
        out.push_str(if chunk == "%20" { "+" } else { chunk });
    }
}
