//! The development server: [`run_simple`] and the HTTP/1.1 server behind it.
//!
//! (in progress: the server core lands in `server.rs`, `conn.rs`, `http1.rs`.)
//!
//! Hook points for the reloader, worker processes, TLS and the debugger (all `pub(crate)`):
//! - `server::Listener` (`bind(host, port, &Options)`, `from_raw_fd(fd)` for an inherited
//!   socket, `AsRawFd`) and `Server::from_listener(listener, app, options)`: the reloader
//!   and worker processes build their servers from the socket the parent bound.
//! - `debugger::install_panic_hook()`, `RequestSummary::capture(&environ)` and
//!   `panic_response(payload, &summary)`: called by the connection code when
//!   `use_debugger` is on.
//! - `tls::server_config(&SslContext) -> io::Result<Arc<rustls::ServerConfig>>`: the
//!   connection code wraps accepted streams in a `rustls::ServerConnection` made from it.

mod options;

// Owned by the "serving" helper (reloader, processes, TLS, debugger, signals).
#[allow(dead_code)] // hook for server core: the connection code calls it
pub(crate) mod debugger;
#[cfg(unix)]
#[allow(dead_code)] // hook for server core: `run_simple` calls it
pub(crate) mod reloader;
#[cfg(unix)]
#[allow(dead_code)] // hook for server core: `run_simple` calls it
pub(crate) mod signals;
#[cfg(feature = "tls")]
#[allow(dead_code)] // hook for server core: `make_server` and the connection code call it
pub(crate) mod tls;
#[cfg(unix)]
#[allow(dead_code)] // hook for server core: `run_simple` calls it
pub(crate) mod workers;
#[cfg(unix)]
pub use reloader::{is_running_from_reloader, RUN_MAIN_ENV, SERVER_FD_ENV};

pub use options::*;
