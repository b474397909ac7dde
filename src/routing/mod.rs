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
//! Underneath, `matchit` finds the candidate rules and Werkzeug's rules decide among them;
//! Werkzeug's state machine answers what `matchit` cannot express (see `matcher`). Modules,
//! each using only those before it: `parser`, `converters`, `values`, `error`, `rule`,
//! `matcher`, `map`, `adapter` (binding), `build`, `redirect`, `matching`. See
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
//!     let (view, values) = adapter.match_request()?;
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
//! assert_eq!(dispatch(&url_map, &request).unwrap().body_text().unwrap(), "details of /foo");
//! ```

// Routing is plain safe Rust: no `unsafe` anywhere below this module.
#![forbid(unsafe_code)]

mod adapter;
mod build;
mod converters;
mod error;
mod map;
mod matcher;
mod matching;
mod parser;
mod redirect;
mod rule;
mod values;
mod values_serde;

pub use adapter::MapAdapter;
pub use build::BuildOptions;
#[cfg(feature = "uuid")]
pub use converters::UuidConverter;
pub use converters::{
    AnyConverter, Converter, FloatConverter, IntConverter, PathConverter, Refusal, StringConverter,
};
pub use error::{BuildError, RoutingError, RuleError, RuleErrorKind};
pub use http::Method;
pub use map::{Endpoint, Map, MapBuilder};
pub use matcher::MAX_PART_CHECKS;
pub use parser::{ArgValue, ConverterArgs};
pub use rule::{EndpointPrefix, RedirectFn, RedirectTo, Rule, Subdomain, Submount, UrlBuilder};
pub use values::{BuildValues, FromValue, Text, Value, Values};
pub use values_serde::ValuesError;
