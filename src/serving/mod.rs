//! The development server: [`run_simple`] and the HTTP/1.1 server behind it.
//!
//! ```no_run
//! use zeug::{Environ, Response};
//!
//! fn hello(_: Environ) -> Response {
//!     Response::new("Hello World!")
//! }
//!
//! zeug::serving::run_simple("127.0.0.1", 5000, hello).unwrap();
//! ```
//!
//! Event loops (one per core) read requests without blocking and call the app inline; a
//! watchdog hands a loop to a fresh thread when a view is slow, so neither idle connections
//! nor slow views hold up other clients (see `server.rs`). HTTP/1.1 is parsed
//! with `httparse` and framed strictly (`http1.rs`); a request's life, from its body to the
//! access log line, is in `conn.rs`. `docs/serving.md` is the guide.
//!
//! Processes: `signals.rs` (SIGINT/SIGTERM/SIGCHLD through `signal-hook`), `workers.rs`
//! (`processes > 1`: a supervisor without threads that forks workers), `reloader.rs` (the
//! parent that restarts a child on changes) and `sys.rs`, the one module with `unsafe`
//! (adopting an inherited socket, `fork`, the environment), each block with its safety
//! argument; everything else reaches the OS through `rustix`, `socket2` and `mio`.
//!
//! Hook points between the server core and the reloader, worker processes, TLS and the
//! debugger (all `pub(crate)`):
//! - `listener::Listener` (`bind(host, port, &Options)`, `inherited(fd)` for a checked
//!   inherited socket, `AsFd`, `try_clone`) and `Server::from_listener(listener, app, options)`.
//! - `debugger::install_panic_hook()`, `RequestSummary::capture(&environ)` and
//!   `panic_response(payload, &summary)`, called by `conn.rs` when `use_debugger` is on.
//! - `tls::server_config(&SslContext)` (once per server) and `tls::TlsStream` (per accepted
//!   connection).

mod conn;
mod http1;
mod listener;
mod logging;
mod options;
mod server;
// The one module with `unsafe`: system calls whose soundness depends on the whole process.
#[cfg(unix)]
#[allow(unsafe_code)]
mod sys;

pub(crate) mod debugger;
#[cfg(unix)]
pub(crate) mod reloader;
#[cfg(unix)]
pub(crate) mod signals;
#[cfg(feature = "tls")]
pub(crate) mod tls;
#[cfg(unix)]
pub(crate) mod workers;
#[cfg(unix)]
pub use reloader::{RUN_MAIN_ENV, SERVER_FD_ENV, is_running_from_reloader};

pub use listener::ServerAddr;
pub use logging::LOG_TARGET;
pub use options::*;
#[cfg(unix)]
#[doc(hidden)]
pub use server::serve_connection;
pub use server::{Server, ShutdownHandle, make_server};

use std::io;
use std::sync::Arc;

use crate::Application;
use crate::app::SharedApp;
use listener::Listener;

/// Serves `app` on `host`:`port` with the default [`Options`] until Ctrl+C: Werkzeug's
/// `run_simple(hostname, port, application)`.
///
/// `host` is an IPv4 or IPv6 address (`"127.0.0.1"`, `"::1"`, `"0.0.0.0"`, `"::"`), a name
/// (`"localhost"`), or `"unix:///path/to.sock"`; port 0 picks a free port, which the banner
/// shows. Request lines are logged through `log` (target `zeug`), on stderr when the
/// program installed no logger.
///
/// # Examples
///
/// ```no_run
/// use zeug::{Environ, Response};
///
/// zeug::serving::run_simple("127.0.0.1", 5000, |_: Environ| Response::new("Hello World!"))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn run_simple(host: &str, port: u16, app: impl Application) -> io::Result<()> {
    run_simple_with(host, port, app, Options::default())
}

/// [`run_simple`] with [`Options`]: threads, processes, the reloader, the debugger, TLS,
/// limits and timeouts.
///
/// # Examples
///
/// ```no_run
/// use zeug::serving::{run_simple_with, Options};
/// use zeug::{Environ, Response};
///
/// let options = Options::new().use_reloader(true).use_debugger(true);
/// run_simple_with("127.0.0.1", 5000, |_: Environ| Response::new("Hi"), options)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn run_simple_with(
    host: &str,
    port: u16,
    app: impl Application,
    options: Options,
) -> io::Result<()> {
    logging::init();
    let app: SharedApp = Arc::new(app);
    #[cfg(unix)]
    if let Some(fd) = reloader::inherited_fd() {
        let listener = Listener::inherited(fd)?;
        return serve_listener(listener, app, options);
    }
    let listener = Listener::bind(host, port, &options)?;
    // Workers and reloader children build their own TLS config; a bad certificate must
    // fail here, once, not in every child (which would crash-loop or wait for a change).
    #[cfg(feature = "tls")]
    if let Some(context) = &options.ssl_context {
        tls::server_config(context)?;
    }
    logging::banner(&server::banner_lines(
        &listener.local_addr()?,
        options.url_scheme(),
    ));
    #[cfg(unix)]
    if options.use_reloader {
        return reloader::run_with_reloader(listener, &options);
    }
    serve_listener(listener, app, options)
}

/// Serves a bound socket in this process, or in `processes` forked workers.
fn serve_listener(listener: Listener, app: SharedApp, options: Options) -> io::Result<()> {
    #[cfg(unix)]
    if options.processes > 1 {
        return workers::run_workers(options.processes, listener, |listener| {
            serve_here(listener, Arc::clone(&app), options.clone())
        });
    }
    serve_here(listener, app, options)
}

fn serve_here(listener: Listener, app: SharedApp, options: Options) -> io::Result<()> {
    let grace = options.shutdown_grace_period;
    let server = Server::from_listener(listener, app, options)?;
    // SIGINT/SIGTERM stop the server while it serves; afterwards they act as usual again.
    #[cfg(unix)]
    let _signals = {
        let handle = server.shutdown_handle();
        signals::shutdown_on_signal(move || handle.shutdown(), grace)?
    };
    #[cfg(not(unix))]
    let _ = grace;
    server.serve_forever()
}
