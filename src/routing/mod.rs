//! Routing with Werkzeug's semantics: a [`Map`] of [`Rule`]s matches a request's path to an
//! endpoint with typed [`Values`], and builds URLs back from an endpoint and values.
//!
//! This module owns rule syntax (`/blog/<int:year>/<slug>`), converters, matching
//! priorities, slash and default redirects, host and subdomain rules, and URL building. It
//! does not own requests or responses: [`MapAdapter`] reads what it needs from an
//! [`Environ`](crate::Environ), and errors convert into
//! [`HttpException`](crate::HttpException)s. Paths are matched as WSGI hands them over:
//! `path_info`, already percent-decoded.
//!
//! Underneath is a tree of path segments built for Werkzeug's rules (`tree.rs`: static
//! segments, whole-segment parameters, a final catch-all, in `matchit`'s order and faster
//! than `matchit` on them); Werkzeug's state machine (static parts before dynamic ones,
//! lighter converters first, backtracking) decides wherever the two could differ. See
//! `docs/routing.md` for the guide.
//!
//! # Examples
//!
//! ```
//! use zeug::routing::{Map, Method, Rule};
//! use zeug::{HttpException, Request, Response};
//!
//! #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
//! enum View { NewUrl, FollowShortLink, ShortLinkDetails }
//!
//! let url_map = Map::new([
//!     Rule::new("/", View::NewUrl),
//!     Rule::new("/<short_id>", View::FollowShortLink),
//!     Rule::new("/<short_id>+", View::ShortLinkDetails),
//! ]);
//!
//! fn dispatch(map: &Map<View>, request: &Request) -> Result<Response, HttpException> {
//!     let adapter = map.bind_to_environ(request.environ());
//!     let (view, values) = adapter.match_(request.path(), request.method())?;
//!     let id: &str = values.get("short_id").unwrap_or("");
//!     Ok(match view {
//!         View::NewUrl => Response::new("new url form"),
//!         View::FollowShortLink => Response::new(format!("follow {id}")),
//!         View::ShortLinkDetails => {
//!             let link = adapter.build(&View::FollowShortLink, &[("short_id", id)])?;
//!             Response::new(format!("details of {link}"))
//!         }
//!     })
//! }
//!
//! let request = Request::new(zeug::test::EnvironBuilder::new("GET", "/foo+").build());
//! assert_eq!(dispatch(&url_map, &request).unwrap().text().unwrap(), "details of /foo");
//! ```

mod adapter;
mod converters;
mod error;
mod map;
mod matcher;
mod parser;
mod rule;
mod tree;
mod values;
mod values_serde;

pub use adapter::{BuildOptions, MapAdapter};
pub use converters::{
    AnyConverter, Converter, FloatConverter, IntConverter, PathConverter, StringConverter,
    UuidConverter,
};
pub use error::{BuildError, RoutingError, RuleError, RuleErrorKind};
pub use http::Method;
pub use map::{Endpoint, Map, MapBuilder};
pub use matcher::MAX_PART_CHECKS;
pub use parser::{ArgValue, ConverterArgs};
pub use rule::{EndpointPrefix, RedirectFn, RedirectTo, Rule, Subdomain, Submount};
pub use values::{BuildValues, FromValue, Text, Value, Values};
pub use values_serde::ValuesError;

/// Hooks for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use super::{Map, Method, RoutingError, Rule, Values};

    /// Compiles a rule string the way a map does; when it compiles, matches and builds with
    /// it. Returns whether the rule was accepted. Must never panic.
    pub fn parse_rule(rule: &str) -> bool {
        let Ok(map) = Map::try_new([Rule::new(rule, 0u8)]) else {
            return false;
        };
        let adapter = map.bind("example.com", "");
        let _ = adapter.match_(rule, &Method::GET);
        let _ = adapter.allowed_methods(rule);
        if let Ok((_, values)) = adapter.match_(rule, &Method::GET) {
            let _ = adapter.build(&0, &values);
        }
        true
    }

    /// Matches with Werkzeug's state machine alone, bypassing the fast path (the segment tree).
    pub fn slow_match<E: super::Endpoint>(
        map: &Map<E>,
        server_name: &str,
        path: &str,
        method: &Method,
    ) -> Result<(E, Values), RoutingError> {
        map.bind(server_name, "").match_slow(path, method)
    }

    /// A map with every kind of rule the fast path serves.
    pub fn sample_map() -> Map<&'static str> {
        Map::new([
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
            Rule::new("/u/<uuid:u>", "uuid"),
            Rule::new("/a/<any(x, y, 'z w'):v>", "any"),
            Rule::new("/x-<a>.<int:b>", "mixed"),
            Rule::new("/loose", "loose").strict_slashes(false),
            Rule::new("/users/", "users").default("page", 1),
            Rule::new("/users/page/<int:page>", "users"),
        ])
    }

    /// Matches `path` with both engines of [`sample_map`] and panics if they disagree.
    pub fn check_path(map: &Map<&'static str>, path: &str, method: &Method) {
        let adapter = map.bind("example.com", "");
        let fast = adapter.match_(path, method);
        let slow = slow_match(map, "example.com", path, method);
        assert_eq!(fast, slow, "engines disagree on {method} {path:?}");
        if let Ok((endpoint, values)) = fast {
            // Building the match back must work and must not panic.
            assert!(adapter.build(&endpoint, &values).is_ok(), "{path:?}");
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// A map whose tree has joined static chains, a wide node indexed by first byte,
        /// long segments, and parameters beside statics at several depths.
        fn tree_map() -> Map<&'static str> {
            let mut rules = vec![
                Rule::new("/api/v1/items", "items"),
                Rule::new("/api/v1/items/<int:id>", "item"),
                Rule::new("/api/v1/items/<int:id>/tags/<tag>", "item_tag"),
                Rule::new("/api/v2/<name>", "v2"),
                Rule::new("/<section>/about", "section_about"),
                Rule::new("/notifications-and-more/x", "long"),
                Rule::new("/notifications-and-mor/y", "long2"),
                Rule::new("/files/<path:p>", "files"),
                Rule::new("/o/<uuid:id>", "uuid"),
                Rule::new("/b/<int:y>/<slug>/c/<int:n>", "deep"),
                Rule::new("/", "index"),
            ];
            for name in [
                "about", "admin", "apple", "blog", "cart", "contact", "docs", "help", "login",
                "logout", "shop", "search", "settings", "static",
            ] {
                rules.push(Rule::new(format!("/{name}"), "wide"));
            }
            Map::new(rules)
        }

        #[test]
        fn engines_agree_on_random_paths() {
            let tokens = [
                "api",
                "v1",
                "v2",
                "items",
                "tags",
                "7",
                "007",
                "x",
                "y",
                "about",
                "admin",
                "ab",
                "a",
                "",
                "notifications-and-more",
                "notifications-and-mor",
                "notifications",
                "files",
                "o",
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "b",
                "2024",
                "c",
                "page",
                "new",
                "blog",
                "users",
                "é",
                "+",
                "x-a.1",
                "loose",
                "static",
                "settings",
                "search",
                "u",
                "f",
                "%",
                // Statics with more after them, which must not match as the shorter one.
                "abouts",
                "itemsx",
                "v10",
                "xy",
                "logins",
                "newer",
                "blog2",
                "api-x",
            ];
            let maps = [sample_map(), tree_map()];
            let mut state = 0x9e37_79b9u32;
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state
            };
            for _ in 0..20_000 {
                let mut path = String::new();
                for _ in 0..1 + next() % 6 {
                    path.push('/');
                    path.push_str(tokens[(next() as usize) % tokens.len()]);
                }
                if next() % 8 == 0 {
                    path.push('/');
                }
                let method =
                    [Method::GET, Method::POST, Method::PUT][(next() % 3) as usize].clone();
                for map in &maps {
                    assert!(map.uses_fast_path());
                    check_path(map, &path, &method);
                }
            }
        }

        #[test]
        fn engines_agree_on_tricky_paths() {
            let map = sample_map();
            assert!(map.uses_fast_path());
            for path in [
                "",
                "/",
                "//",
                "/abc",
                "/abc+",
                "/abc++",
                "/+",
                "/page/3",
                "/page/007",
                "/page/new",
                "/page/x",
                "/page/1.5",
                "/page/",
                "/page",
                "/f/007",
                "/f/7",
                "/f/600",
                "/blog",
                "/blog/",
                "/blog/2024",
                "/blog/2024/",
                "/blog/2024/x",
                "/blog/x/y",
                "/files/a/b",
                "/files/",
                "/files//a",
                "/u/a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "/u/nope",
                "/a/x",
                "/a/z w",
                "/a/q",
                "/x-a.1",
                "/x-a.b",
                "/loose/",
                "/loose",
                "/users/",
                "/users/page/1",
                "/users/page/2",
                "//blog//2024//x",
                "/é",
                "/%",
            ] {
                for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
                    check_path(&map, path, &method);
                }
            }
            for rule in [
                "/<a",
                "/x/<int(:a>",
                "/{x}",
                "/<path:p>/<q>",
                "/<any(a,b):x>",
                "x",
            ] {
                let _ = parse_rule(rule);
            }
        }
    }
}
