//! # zeug
//!
//! The parts a small web app is built from, in the spirit of Python's Werkzeug: a typed
//! gateway interface ([`Application`], modelled on WSGI), request and response wrappers,
//! HTTP errors as values, routing, a development server, an in-process test client and
//! middleware. zeug is a toolkit, not a framework: your program stays yours.
//!
//! ## A hello app
//!
//! ```
//! use zeug::{Environ, Request, Response};
//!
//! fn hello(environ: Environ) -> Response {
//!     let request = Request::new(environ);
//!     let name = request.args().get("name").unwrap_or("World");
//!     Response::new(format!("Hello {name}!"))
//! }
//!
//! // Unit-test it without a socket:
//! let client = zeug::test::Client::new(hello);
//! assert_eq!(client.get("/?name=zeug").send().text(), "Hello zeug!");
//! ```
//!
//! ## Routing
//!
//! ```
//! use zeug::{Map, Request, Rule};
//!
//! #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
//! enum View { Index, Post }
//!
//! let url_map = Map::new([
//!     Rule::new("/", View::Index),
//!     Rule::new("/blog/<int:year>/<slug>", View::Post),
//! ]);
//!
//! let request = Request::new(zeug::test::EnvironBuilder::new("GET", "/blog/2026/hello").build());
//! let adapter = url_map.bind_to_environ(request.environ());
//! let (view, values) = adapter.match_(request.path(), request.method()).unwrap();
//! assert_eq!(view, View::Post);
//! assert_eq!(values.get::<i64>("year"), Some(2026));
//! assert_eq!(adapter.build(&View::Post, &[("year", "2027"), ("slug", "next")]).unwrap(), "/blog/2027/next");
//! ```
//!
//! ## Serving
//!
//! ```no_run
//! fn hello(_: zeug::Environ) -> zeug::Response {
//!     zeug::Response::new("Hello World!")
//! }
//!
//! zeug::run_simple("127.0.0.1", 5000, hello).unwrap();
//! ```
//!
//! ## Errors are values
//!
//! ```
//! use zeug::{Application, Environ, HttpException, Request, Response};
//!
//! struct App;
//!
//! impl App {
//!     fn dispatch_request(&self, request: &Request) -> Result<Response, HttpException> {
//!         match request.path() {
//!             "/" => Ok(Response::new("index")),
//!             _ => Err(HttpException::not_found()),
//!         }
//!     }
//! }
//!
//! impl Application for App {
//!     fn call(&self, environ: Environ) -> Response {
//!         let request = Request::new(environ);
//!         self.dispatch_request(&request).unwrap_or_else(|e| e.into_response())
//!     }
//! }
//!
//! let client = zeug::test::Client::new(App);
//! assert_eq!(client.get("/nope").send().status(), 404);
//! ```
//!
//! ## A small app, without the boilerplate
//!
//! [`web::App`] is optional: it matches the URL, hands each view a [`web::Ctx`] (the
//! request, `url_for`, the matched values, the session), renders errors through your own
//! pages by status, and saves the session. See `docs/from-flask.md` and
//! `examples/pastebin/`.
//!
//! ```
//! use zeug::web::{App, Ctx};
//! use zeug::{HttpException, Map, Response, Rule};
//!
//! fn view(ctx: &mut Ctx<&'static str>, _: &'static str) -> Result<Response, HttpException> {
//!     Ok(Response::new(format!("you are at {}", ctx.url_for("home", &())?)))
//! }
//! let app = App::new(Map::new([Rule::new("/", "home")]), view)
//!     .error_handler(404, |_, e| e.into_response_with(Response::new("no such page")));
//! let client = zeug::test::Client::new(app);
//! assert_eq!(client.get("/").send().text(), "you are at /");
//! assert_eq!(client.get("/x").send().text(), "no such page");
//! ```
#![warn(missing_docs)]
// The only `unsafe` is for system calls, in `serving/sys.rs` (allowed there alone).
#![deny(unsafe_code)]
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod app;
pub mod body;
pub mod datastructures;
pub mod environ;
pub mod exceptions;
pub mod formparser;
pub mod html;
pub mod http_utils;
pub mod middleware;
pub(crate) mod rfc2231;
pub mod routing;
pub mod security;
#[cfg(feature = "server")]
pub mod serving;
#[cfg(feature = "sessions")]
pub mod sessions;
pub mod test;
pub mod urls;
pub mod utils;
pub mod web;
pub mod wrappers;

/// The `http` crate, whose types (`StatusCode`, `Method`, `HeaderMap`, `HeaderValue`...)
/// zeug's API uses, re-exported so `zeug::http::StatusCode` needs no extra dependency.
pub use http;

pub use app::Application;
pub use body::Body;
pub use environ::Environ;
pub use exceptions::{HttpException, abort};
pub use routing::{Map, Rule};
#[cfg(feature = "server")]
pub use serving::run_simple;
#[cfg(feature = "sessions")]
pub use sessions::{Session, SessionConfig};
pub use test::Client;
pub use utils::{redirect, send_file, send_from_directory};
pub use wrappers::{CookieOptions, IntoResponse, Request, Response};

// The README and every guide in `docs/`, compiled as doctests so they cannot drift from
// the crate.
#[cfg(doctest)]
mod docs;
