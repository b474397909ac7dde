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

pub use options::*;
