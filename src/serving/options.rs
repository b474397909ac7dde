//! [`Options`]: everything `run_simple` and `make_server` can be told, with Werkzeug's names
//! where Werkzeug has the option, and every limit and timeout with a documented default.
//!
//! This module owns the option values and their defaults only. The server core reads the
//! limits and timeouts; the reloader, worker processes, debugger and TLS read theirs.

use std::path::PathBuf;
use std::time::Duration;

/// Default [`Options::max_request_line`]: 8 KiB. A longer request line gets `414 URI Too Long`.
pub const DEFAULT_MAX_REQUEST_LINE: usize = 8 * 1024;

/// Default [`Options::max_header_size`]: 64 KiB for the header block (the request line not
/// counted). A bigger block gets `431 Request Header Fields Too Large`.
pub const DEFAULT_MAX_HEADER_SIZE: usize = 64 * 1024;

/// Default [`Options::max_header_count`]: 100 header fields. More get `431`.
pub const DEFAULT_MAX_HEADER_COUNT: usize = 100;

/// Default [`Options::header_timeout`]: 10 s to send a whole request head once its first
/// byte (or the connection) arrived. Slow clients (slowloris) are cut off after it.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Default [`Options::keep_alive_timeout`]: an idle keep-alive connection is closed after
/// 60 s without a new request.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(60);

/// Default [`Options::io_timeout`]: 30 s for a blocked read of a request body or a blocked
/// write of a response before the connection is given up.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Default [`Options::max_drain`]: up to 64 KiB of a request body the application did not
/// read are read and discarded to keep the connection; a bigger rest closes it.
pub const DEFAULT_MAX_DRAIN: u64 = 64 * 1024;

/// Default [`Options::shutdown_grace_period`]: on shutdown, requests in flight get 10 s to
/// finish.
pub const DEFAULT_SHUTDOWN_GRACE_PERIOD: Duration = Duration::from_secs(10);

/// Default [`Options::slow_handler_threshold`]: when one request has been handled for
/// 2 ms (wall clock; on Linux less the time its thread waited for a CPU) and other clients
/// are waiting, a spare thread takes over serving them (threaded mode only). Once a loop has seen a slow request, it hands itself over
/// before each request while other work waits, for a second after the last slow one.
pub const DEFAULT_SLOW_HANDLER_THRESHOLD: Duration = Duration::from_millis(2);

/// Default [`Options::max_threads`]: at most 1024 threads run requests at once besides the
/// event loops; beyond that, requests wait for one of them to finish.
pub const DEFAULT_MAX_THREADS: usize = 1024;

/// Default [`Options::request_queue_size`]: the listen backlog, 1024 pending connections
/// (Werkzeug uses 128; a burst of new connections then waits for SYN retries).
pub const DEFAULT_REQUEST_QUEUE_SIZE: u32 = 1024;

/// Default [`Options::max_connections`]: 10 000 open connections; beyond that new ones wait
/// in the listen backlog until others close.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Default [`Options::min_body_rate`]: after [`DEFAULT_BODY_RATE_GRACE`], a request body
/// must arrive at 240 bytes per second on average or the client gets `408` and the
/// connection is closed (Kestrel's `MinRequestBodyDataRate`).
pub const DEFAULT_MIN_BODY_RATE: u64 = 240;

/// Default [`Options::body_rate_grace`]: the first 5 s of a request body are not held to
/// [`Options::min_body_rate`].
pub const DEFAULT_BODY_RATE_GRACE: Duration = Duration::from_secs(5);

/// Default [`Options::body_timeout`]: a whole request body must arrive within 5 minutes.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(300);

/// Default [`Options::body_read_ahead`]: the event loop reads up to 64 KiB of a request
/// body before the application is called. A body that fits is handled without a thread
/// ever waiting for the client; a bigger one starts once this much has arrived.
pub const DEFAULT_BODY_READ_AHEAD: usize = 64 * 1024;

/// Default [`Options::max_buffered_heads`]: 32 MiB for all the bytes the event loops hold
/// for requests not handed to the application yet (partial heads and bodies read ahead).
/// A connection whose bytes would go beyond it gets `503` and is closed.
pub const DEFAULT_MAX_BUFFERED_HEADS: usize = 32 * 1024 * 1024;

/// Default [`Options::max_buffered_bodies`]: 64 MiB for all the request bodies read into
/// memory at once by [`Request::get_data`](crate::Request::get_data) and what builds on it
/// (`json`, `get_text`), and what [`Request::form`](crate::Request::form) keeps in memory;
/// a body that does not fit gets `413`.
pub const DEFAULT_MAX_BUFFERED_BODIES: u64 = 64 * 1024 * 1024;

/// Default [`Options::reloader_interval`]: the reloader looks for changes every second.
pub const DEFAULT_RELOADER_INTERVAL: Duration = Duration::from_secs(1);

/// Where the TLS certificate comes from (Werkzeug's `ssl_context`).
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "tls")] {
/// use zeug::serving::{Options, SslContext};
///
/// let dev = Options::new().ssl_context(SslContext::Adhoc);
/// let real = Options::new().ssl_context(SslContext::files("cert.pem", "key.pem"));
/// # }
/// ```
#[cfg(feature = "tls")]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SslContext {
    /// A self-signed certificate for `localhost` made at start-up (Werkzeug's `"adhoc"`).
    Adhoc,
    /// A PEM certificate chain and private key read from files.
    Files {
        /// The certificate chain (PEM).
        cert: PathBuf,
        /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
}

#[cfg(feature = "tls")]
impl SslContext {
    /// A certificate chain and key from PEM files (Werkzeug's `(cert_file, key_file)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zeug::serving::SslContext::files("cert.pem", "key.pem");
    /// ```
    pub fn files(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        SslContext::Files {
            cert: cert.into(),
            key: key.into(),
        }
    }
}

/// The development server's options: `run_simple`'s keyword arguments as a builder.
///
/// Every field has a builder method of the same name; limits and timeouts default to the
/// `DEFAULT_*` constants of this module.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use zeug::serving::Options;
///
/// let options = Options::new()
///     .threaded(true)
///     .use_reloader(true)
///     .extra_files(["templates/index.html"])
///     .static_files([("/static", "static")])
///     .max_content_length(16 * 1024 * 1024)
///     .keep_alive_timeout(Duration::from_secs(5));
/// assert!(options.use_reloader);
/// assert_eq!(options.max_content_length, Some(16 * 1024 * 1024));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Serve requests concurrently: a request that takes longer than
    /// `slow_handler_threshold` no longer holds up the others. Default `true`. When off,
    /// requests are handled one at a time (`environ.multithread` is `false`).
    pub threaded: bool,
    /// Number of worker processes sharing the listening socket (Unix only). Default `1`.
    /// Workers are forked, so with more than one `run_simple` must be called before the
    /// program starts threads (on Linux it refuses to fork otherwise).
    pub processes: usize,
    /// Restart the server when the executable or one of `extra_files` changes.
    /// Default `false`.
    pub use_reloader: bool,
    /// More files the reloader watches.
    pub extra_files: Vec<PathBuf>,
    /// How often the reloader looks for changes. Default [`DEFAULT_RELOADER_INTERVAL`].
    pub reloader_interval: Duration,
    /// Show a debug page (panic message, backtrace, request summary) when a view panics,
    /// to loopback clients that name this machine in `Host` (`localhost`, `127.0.0.1`,
    /// `[::1]`) and come through no proxy. Default `false`.
    pub use_debugger: bool,
    /// URL prefixes served from directories, e.g. `("/static", "static")`, before the
    /// application sees the request.
    pub static_files: Vec<(String, PathBuf)>,
    /// Let a panicking view's panic through instead of answering `500`: the server stops
    /// and `serve_forever` resumes the panic. Default `false`.
    pub passthrough_errors: bool,
    /// The listen backlog. Default [`DEFAULT_REQUEST_QUEUE_SIZE`].
    pub request_queue_size: u32,
    /// Serve HTTPS with this certificate. Default `None` (plain HTTP).
    #[cfg(feature = "tls")]
    pub ssl_context: Option<SslContext>,
    /// Longest request line in bytes; longer gets `414`. Default [`DEFAULT_MAX_REQUEST_LINE`].
    pub max_request_line: usize,
    /// Largest header block in bytes; larger gets `431`. Default [`DEFAULT_MAX_HEADER_SIZE`].
    pub max_header_size: usize,
    /// Most header fields; more get `431`. Default [`DEFAULT_MAX_HEADER_COUNT`].
    pub max_header_count: usize,
    /// Largest request body in bytes; larger gets `413` (a `Content-Length` over it before
    /// the app is called, a chunked body as soon as it grows past it). Default `None`
    /// (no limit: the body is streamed to the app, which applies its own).
    pub max_content_length: Option<u64>,
    /// Time to receive a request head. Default [`DEFAULT_HEADER_TIMEOUT`].
    pub header_timeout: Duration,
    /// Time an idle keep-alive connection is kept. Default [`DEFAULT_KEEP_ALIVE_TIMEOUT`].
    pub keep_alive_timeout: Duration,
    /// Time a blocked body read or response write may wait. Default [`DEFAULT_IO_TIMEOUT`].
    pub io_timeout: Duration,
    /// Most bytes of an unread request body drained to keep the connection open.
    /// Default [`DEFAULT_MAX_DRAIN`].
    pub max_drain: u64,
    /// Time requests in flight get to finish after a shutdown is asked for.
    /// Default [`DEFAULT_SHUTDOWN_GRACE_PERIOD`].
    pub shutdown_grace_period: Duration,
    /// How long one request may hold the event loop before another thread takes it over.
    /// Default [`DEFAULT_SLOW_HANDLER_THRESHOLD`].
    pub slow_handler_threshold: Duration,
    /// Most open connections. Default [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// Most threads running requests handed off by the event loops (threaded mode); when
    /// all are busy, a loop keeps its slow request and the others wait.
    /// Default [`DEFAULT_MAX_THREADS`].
    pub max_threads: usize,
    /// Least average rate, in bytes per second, at which a request body must arrive once
    /// [`body_rate_grace`](Self::body_rate_grace) has passed; slower gets `408` and the
    /// connection is closed. 0 turns the check off. Default [`DEFAULT_MIN_BODY_RATE`].
    pub min_body_rate: u64,
    /// How long a request body may arrive below `min_body_rate`.
    /// Default [`DEFAULT_BODY_RATE_GRACE`].
    pub body_rate_grace: Duration,
    /// Time to receive a whole request body (`408` beyond it). Default
    /// [`DEFAULT_BODY_TIMEOUT`].
    pub body_timeout: Duration,
    /// Bytes of a request body the event loop reads before calling the application.
    /// Default [`DEFAULT_BODY_READ_AHEAD`].
    pub body_read_ahead: usize,
    /// Total bytes the event loops may hold in partial request heads and read-ahead bodies
    /// (`503` to the connection that would go beyond). Default [`DEFAULT_MAX_BUFFERED_HEADS`].
    pub max_buffered_heads: usize,
    /// Total bytes of request bodies read into memory at once by `Request::get_data` and
    /// `Request::json` across all requests (`413` beyond). Default
    /// [`DEFAULT_MAX_BUFFERED_BODIES`].
    pub max_buffered_bodies: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threaded: true,
            processes: 1,
            use_reloader: false,
            extra_files: Vec::new(),
            reloader_interval: DEFAULT_RELOADER_INTERVAL,
            use_debugger: false,
            static_files: Vec::new(),
            passthrough_errors: false,
            request_queue_size: DEFAULT_REQUEST_QUEUE_SIZE,
            #[cfg(feature = "tls")]
            ssl_context: None,
            max_request_line: DEFAULT_MAX_REQUEST_LINE,
            max_header_size: DEFAULT_MAX_HEADER_SIZE,
            max_header_count: DEFAULT_MAX_HEADER_COUNT,
            max_content_length: None,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            keep_alive_timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
            io_timeout: DEFAULT_IO_TIMEOUT,
            max_drain: DEFAULT_MAX_DRAIN,
            shutdown_grace_period: DEFAULT_SHUTDOWN_GRACE_PERIOD,
            slow_handler_threshold: DEFAULT_SLOW_HANDLER_THRESHOLD,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_threads: DEFAULT_MAX_THREADS,
            min_body_rate: DEFAULT_MIN_BODY_RATE,
            body_rate_grace: DEFAULT_BODY_RATE_GRACE,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            body_read_ahead: DEFAULT_BODY_READ_AHEAD,
            max_buffered_heads: DEFAULT_MAX_BUFFERED_HEADS,
            max_buffered_bodies: DEFAULT_MAX_BUFFERED_BODIES,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.$name = value;
                self
            }
        )*
    };
}

impl Options {
    /// The defaults: threaded, one process, no reloader, no debugger, default limits.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = zeug::serving::Options::new();
    /// assert!(options.threaded);
    /// assert_eq!(options.max_header_count, zeug::serving::DEFAULT_MAX_HEADER_COUNT);
    /// ```
    pub fn new() -> Self {
        Options::default()
    }

    setters! {
        /// Serve requests concurrently (default `true`).
        ///
        /// ```
        /// assert!(!zeug::serving::Options::new().threaded(false).threaded);
        /// ```
        threaded: bool;
        /// Number of worker processes sharing the socket (Unix; default 1).
        ///
        /// ```
        /// assert_eq!(zeug::serving::Options::new().processes(4).processes, 4);
        /// ```
        processes: usize;
        /// Restart on code changes (default `false`).
        ///
        /// ```
        /// assert!(zeug::serving::Options::new().use_reloader(true).use_reloader);
        /// ```
        use_reloader: bool;
        /// How often the reloader polls (default 1 s).
        ///
        /// ```
        /// use std::time::Duration;
        /// let o = zeug::serving::Options::new().reloader_interval(Duration::from_millis(200));
        /// assert_eq!(o.reloader_interval, Duration::from_millis(200));
        /// ```
        reloader_interval: Duration;
        /// Show the debug page to local clients when a view panics (default `false`).
        ///
        /// ```
        /// assert!(zeug::serving::Options::new().use_debugger(true).use_debugger);
        /// ```
        use_debugger: bool;
        /// Let panics through and stop the server (default `false`).
        ///
        /// ```
        /// assert!(zeug::serving::Options::new().passthrough_errors(true).passthrough_errors);
        /// ```
        passthrough_errors: bool;
        /// The listen backlog (default 1024).
        ///
        /// ```
        /// assert_eq!(zeug::serving::Options::new().request_queue_size(64).request_queue_size, 64);
        /// ```
        request_queue_size: u32;
        /// Longest request line (default 8 KiB; longer → 414).
        ///
        /// ```
        /// assert_eq!(zeug::serving::Options::new().max_request_line(100).max_request_line, 100);
        /// ```
        max_request_line: usize;
        /// Largest header block (default 64 KiB; larger → 431).
        ///
        /// ```
        /// assert_eq!(zeug::serving::Options::new().max_header_size(1024).max_header_size, 1024);
        /// ```
        max_header_size: usize;
        /// Most header fields (default 100; more → 431).
        ///
        /// ```
        /// assert_eq!(zeug::serving::Options::new().max_header_count(10).max_header_count, 10);
        /// ```
        max_header_count: usize;
        /// Time to receive a request head (default 10 s).
        ///
        /// ```
        /// use std::time::Duration;
        /// let o = zeug::serving::Options::new().header_timeout(Duration::from_secs(2));
        /// assert_eq!(o.header_timeout, Duration::from_secs(2));
        /// ```
        header_timeout: Duration;
        /// Time an idle keep-alive connection is kept (default 60 s).
        ///
        /// ```
        /// use std::time::Duration;
        /// let o = zeug::serving::Options::new().keep_alive_timeout(Duration::from_secs(5));
        /// assert_eq!(o.keep_alive_timeout, Duration::from_secs(5));
        /// ```
        keep_alive_timeout: Duration;
        /// Time a blocked body read or response write may wait (default 30 s).
        ///
        /// ```
        /// use std::time::Duration;
        /// let o = zeug::serving::Options::new().io_timeout(Duration::from_secs(5));
        /// assert_eq!(o.io_timeout, Duration::from_secs(5));
        /// ```
        io_timeout: Duration;
        /// Most unread body bytes drained to keep a connection (default 64 KiB).
        ///
        /// ```
        /// assert_eq!(zeug::serving::Options::new().max_drain(0).max_drain, 0);
        /// ```
        max_drain: u64;
        /// Time in-flight requests get on shutdown (default 10 s).
        ///
        /// ```
        /// use std::time::Duration;
        /// let o = zeug::serving::Options::new().shutdown_grace_period(Duration::from_secs(1));
        /// assert_eq!(o.shutdown_grace_period, Duration::from_secs(1));
        /// ```
        shutdown_grace_period: Duration;
        /// How long a request may hold the event loop (default 2 ms).
        ///
        /// ```
        /// use std::time::Duration;
        /// let o = zeug::serving::Options::new().slow_handler_threshold(Duration::from_millis(5));
        /// assert_eq!(o.slow_handler_threshold, Duration::from_millis(5));
        /// ```
        slow_handler_threshold: Duration;
        /// Most open connections (default 10 000).
        ///
        /// ```
        /// assert_eq!(zeug::serving::Options::new().max_connections(10).max_connections, 10);
        /// ```
        max_connections: usize;
        /// Most threads running handed-off requests (default 1024).
        ///
        /// ```
        /// assert_eq!(zeug::serving::Options::new().max_threads(64).max_threads, 64);
        /// ```
        max_threads: usize;
        /// Least request body rate in bytes per second after the grace period (default
        /// 240; 0 turns it off).
        ///
        /// ```
        /// assert_eq!(zeug::serving::Options::new().min_body_rate(1024).min_body_rate, 1024);
        /// ```
        min_body_rate: u64;
        /// How long a body may arrive below `min_body_rate` (default 5 s).
        ///
        /// ```
        /// use std::time::Duration;
        /// let o = zeug::serving::Options::new().body_rate_grace(Duration::from_secs(1));
        /// assert_eq!(o.body_rate_grace, Duration::from_secs(1));
        /// ```
        body_rate_grace: Duration;
        /// Time to receive a whole request body (default 5 min).
        ///
        /// ```
        /// use std::time::Duration;
        /// let o = zeug::serving::Options::new().body_timeout(Duration::from_secs(60));
        /// assert_eq!(o.body_timeout, Duration::from_secs(60));
        /// ```
        body_timeout: Duration;
        /// Body bytes read by the event loop before the app is called (default 64 KiB).
        ///
        /// ```
        /// assert_eq!(zeug::serving::Options::new().body_read_ahead(4096).body_read_ahead, 4096);
        /// ```
        body_read_ahead: usize;
        /// Total bytes of partial heads and read-ahead bodies (default 32 MiB; beyond → 503).
        ///
        /// ```
        /// let o = zeug::serving::Options::new().max_buffered_heads(1 << 20);
        /// assert_eq!(o.max_buffered_heads, 1 << 20);
        /// ```
        max_buffered_heads: usize;
        /// Total bytes of bodies buffered by `get_data`/`json` at once (default 64 MiB;
        /// beyond → 413).
        ///
        /// ```
        /// let o = zeug::serving::Options::new().max_buffered_bodies(1 << 20);
        /// assert_eq!(o.max_buffered_bodies, 1 << 20);
        /// ```
        max_buffered_bodies: u64;
    }

    /// More files for the reloader to watch, besides the executable.
    ///
    /// # Examples
    ///
    /// ```
    /// let o = zeug::serving::Options::new().extra_files(["config.toml"]);
    /// assert_eq!(o.extra_files.len(), 1);
    /// ```
    pub fn extra_files<I, P>(mut self, files: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        self.extra_files = files.into_iter().map(Into::into).collect();
        self
    }

    /// URL prefixes served from directories before the app sees the request, like
    /// Werkzeug's `static_files={"/static": "static"}`.
    ///
    /// # Examples
    ///
    /// ```
    /// let o = zeug::serving::Options::new().static_files([("/static", "static")]);
    /// assert_eq!(o.static_files[0].0, "/static");
    /// ```
    pub fn static_files<I, S, P>(mut self, mounts: I) -> Self
    where
        I: IntoIterator<Item = (S, P)>,
        S: Into<String>,
        P: Into<PathBuf>,
    {
        self.static_files = mounts
            .into_iter()
            .map(|(prefix, dir)| (prefix.into(), dir.into()))
            .collect();
        self
    }

    /// Largest request body in bytes (`413` beyond it). Default: no limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let o = zeug::serving::Options::new().max_content_length(1024);
    /// assert_eq!(o.max_content_length, Some(1024));
    /// ```
    pub fn max_content_length(mut self, bytes: u64) -> Self {
        self.max_content_length = Some(bytes);
        self
    }

    /// Serve HTTPS with `context` (cert and key files, or [`SslContext::Adhoc`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::serving::{Options, SslContext};
    /// let o = Options::new().ssl_context(SslContext::Adhoc);
    /// assert_eq!(o.ssl_context, Some(SslContext::Adhoc));
    /// ```
    #[cfg(feature = "tls")]
    pub fn ssl_context(mut self, context: SslContext) -> Self {
        self.ssl_context = Some(context);
        self
    }

    /// The URL scheme the server speaks: `"https"` with an `ssl_context`, else `"http"`.
    pub(crate) fn url_scheme(&self) -> &'static str {
        #[cfg(feature = "tls")]
        if self.ssl_context.is_some() {
            return "https";
        }
        "http"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_werkzeug_and_the_documented_constants() {
        let o = Options::new();
        assert!(o.threaded);
        assert_eq!(o.processes, 1);
        assert!(!o.use_reloader && !o.use_debugger && !o.passthrough_errors);
        assert_eq!(o.max_request_line, DEFAULT_MAX_REQUEST_LINE);
        assert_eq!(o.max_header_size, DEFAULT_MAX_HEADER_SIZE);
        assert_eq!(o.max_content_length, None);
        assert_eq!(o.url_scheme(), "http");
    }
}
