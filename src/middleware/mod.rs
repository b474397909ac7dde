//! Middleware: applications that wrap applications.
//!
//! Every type here implements [`Application`](crate::Application) and takes the
//! application it wraps in its constructor, so they stack like WSGI middleware:
//!
//! ```
//! use zeug::middleware::{Compress, Dispatcher, Lint, ProxyFix, SharedData};
//! use zeug::{test::Client, Environ, Response};
//!
//! fn frontend(_: Environ) -> Response { Response::html("<h1>home</h1>") }
//! fn api(_: Environ) -> Response { Response::json(&serde_json::json!({"ok": true})) }
//!
//! let app = ProxyFix::new(
//!     Compress::new(
//!         SharedData::new(Dispatcher::new(frontend).mount("/api", api)).mount("/static", "src"),
//!     ),
//! );
//! let client = Client::new(Lint::new(app));
//! assert_eq!(client.get("/api").send().json::<serde_json::Value>()["ok"], true);
//! assert_eq!(client.get("/static/lib.rs").send().status(), 200);
//! ```
//!
//! | middleware | does |
//! |---|---|
//! | [`SharedData`] | static files under URL prefixes (ETag, 304, ranges, cache timeout) |
//! | [`ProxyFix`] | trusts `X-Forwarded-*` from a known number of proxies |
//! | [`Dispatcher`] | mounts applications under path prefixes |
//! | [`Lint`] | checks the interface and HTTP rules, for tests |
//! | [`Compress`] | gzip (and brotli with the `brotli` feature) response compression |
//!
//! This module owns only these wrappers; the server's own options (`static_files`, …)
//! live in [`crate::serving`].

mod compress;
mod dispatcher;
mod lint;
mod proxy_fix;
mod shared_data;

pub use compress::{
    Coding, Compress, DEFAULT_BROTLI_QUALITY, DEFAULT_GZIP_LEVEL, DEFAULT_MIN_SIZE,
    INCOMPRESSIBLE_TYPES, MAX_BUFFERED_SIZE,
};
pub use dispatcher::Dispatcher;
pub use lint::{HOP_BY_HOP_HEADERS, LINT_LOG_TARGET, Lint, LintKind, LintWarning, LintWarnings};
pub use proxy_fix::{ProxyFix, ProxyFixOriginal};
pub(crate) use shared_data::Served;
pub use shared_data::{DEFAULT_CACHE_TIMEOUT, SharedData, glob_match};
