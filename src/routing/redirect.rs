//! Werkzeug's redirect cases on a [`MapAdapter`]: a rule's defaults and aliases
//! (`redirect_defaults`), `redirect_to` templates and functions (resolved against the
//! application root by RFC 3986), and the slash redirects the matcher asks for. Finding the
//! rule is `matching`'s; writing URLs is `build`'s.

use http::Method;
use percent_encoding::utf8_percent_encode;

use super::adapter::MapAdapter;
use super::build::{BuildOptions, suitable_for};
use super::error::RoutingError;
use super::map::{Endpoint, provides_defaults_for};
use super::rule::{Compiled, RedirectTo, encode_tail};
use super::values::Values;
use crate::urls::{PATH_ENCODE_SET, SEGMENT_ENCODE_SET};

impl<E: Endpoint> MapAdapter<'_, E> {
    /// A redirect to `path` (decoded) on the bound host, keeping the query string
    /// (Werkzeug's `make_redirect_url`).
    pub(super) fn redirect_to_path(&self, path: &str) -> RoutingError {
        let path = utf8_percent_encode(path.trim_start_matches('/'), PATH_ENCODE_SET);
        let url = format!(
            "{}://{}{}/{path}",
            self.url_scheme,
            self.get_host(None),
            self.script_name
        );
        self.redirect_keeping_query(url)
    }

    /// A redirect to `url` with the request's query string.
    fn redirect_keeping_query(&self, mut url: String) -> RoutingError {
        if !self.query_string.is_empty() {
            url.push('?');
            url.push_str(self.query_string);
        }
        RoutingError::RequestRedirect { location: url }
    }

    /// Defaults, aliases, `redirect_defaults` and `redirect_to`, in Werkzeug's order.
    pub(super) fn finish(
        &self,
        r: usize,
        values: &mut Values,
        method: &Method,
    ) -> Result<usize, RoutingError> {
        let map = self.map;
        if !map.finishes[r] {
            return Ok(r);
        }
        let rule = &map.rules[r];
        for (k, v) in rule.rule.defaults.iter() {
            values.insert(k.to_owned(), v.clone());
        }
        if rule.rule.alias && map.redirect_defaults {
            let opts = BuildOptions::new()
                .method(method.clone())
                .append_unknown(false)
                .force_external(true);
            return match self.build_with(&rule.rule.endpoint, &*values, &opts) {
                Ok(url) => Err(self.redirect_keeping_query(url)),
                Err(e) => {
                    log::error!(
                        "routing: alias rule {:?} has no canonical URL: {e}",
                        rule.rule.path
                    );
                    Err(RoutingError::NotFound)
                }
            };
        }
        if map.redirect_defaults {
            if let Some(url) = self.default_redirect(r, method, values) {
                return Err(self.redirect_keeping_query(url));
            }
        }
        if let Some(target) = &rule.rule.redirect_to {
            let url = match target {
                RedirectTo::Template(t) => fill_template(rule, t, values),
                RedirectTo::Func(f) => f(self, values),
            };
            let netloc = self.get_host(None);
            let location = resolve_redirect(self.url_scheme, &netloc, self.script_name, &url);
            return Err(RoutingError::RequestRedirect { location });
        }
        Ok(r)
    }

    fn default_redirect(&self, r: usize, method: &Method, values: &Values) -> Option<String> {
        let map = self.map;
        let rule = &map.rules[r];
        for &i in map.by_endpoint.get(&rule.rule.endpoint)? {
            if i == r {
                break;
            }
            let other = &map.rules[i];
            if provides_defaults_for(other, rule)
                && suitable_for(other, values, Some(method)).is_some()
            {
                let mut values = values.clone();
                for (k, v) in other.rule.defaults.iter() {
                    values.insert(k.to_owned(), v.clone());
                }
                let mut url = String::new();
                let external = BuildOptions::new().force_external(true);
                let written = self.write_rule(&mut url, other, &values, Some(method), &external);
                return written.map(|_| url);
            }
        }
        None
    }
}

pub(super) fn merge_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c != '/' || !out.ends_with('/') {
            out.push(c);
        }
    }
    out
}

fn fill_template<E>(rule: &Compiled<E>, template: &str, values: &Values) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = &after[..close];
        if let Some(v) = values.raw(name) {
            let start = out.len();
            match rule.vars.iter().find(|x| x.name == name) {
                Some(var) => {
                    if !var.write(v, &mut out) {
                        out.push_str(&v.to_string());
                        encode_tail(&mut out, start, var.encode_set);
                    }
                }
                None => {
                    out.push_str(&v.to_string());
                    encode_tail(&mut out, start, SEGMENT_ENCODE_SET);
                }
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Resolves a `redirect_to` target against the application root
/// (`{scheme}://{netloc}{script_name}/`) by RFC 3986 reference resolution (section 5.2):
/// `../c` from `/app/` is `/c`. As Werkzeug (Python's `urljoin`), a target with a scheme
/// or a host of its own is taken as it is (a `//host/path` gets the bound scheme).
fn resolve_redirect(scheme: &str, netloc: &str, script_name: &str, target: &str) -> String {
    if has_scheme(target) {
        return target.to_owned();
    }
    if target.starts_with("//") {
        return format!("{scheme}:{target}");
    }
    let (rest, fragment) = match target.split_once('#') {
        Some((rest, f)) => (rest, Some(f)),
        None => (target, None),
    };
    let (path, query) = match rest.split_once('?') {
        Some((path, q)) => (path, Some(q)),
        None => (rest, None),
    };
    let path = if path.is_empty() {
        format!("{script_name}/")
    } else if path.starts_with('/') {
        remove_dot_segments(path)
    } else {
        // The base path ends in `/`: merging appends the reference to all of it.
        remove_dot_segments(&format!("{script_name}/{path}"))
    };
    let mut url = format!("{scheme}://{netloc}{path}");
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    if let Some(f) = fragment {
        url.push('#');
        url.push_str(f);
    }
    url
}

/// Whether `target` starts with a URI scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`
/// then `:`, RFC 3986 section 3.1).
fn has_scheme(target: &str) -> bool {
    let Some((scheme, _)) = target.split_once(':') else {
        return false;
    };
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// RFC 3986 section 5.2.4 on an absolute path: `.` segments dropped, `..` removes the
/// segment before it (never above the root); a final `.` or `..` leaves a trailing `/`.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut segments = path.strip_prefix('/').unwrap_or(path).split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match segment {
            "." => {}
            ".." => {
                out.pop();
            }
            s => {
                out.push(s);
                continue;
            }
        }
        if last {
            out.push("");
        }
    }
    format!("/{}", out.join("/"))
}
