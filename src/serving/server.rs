//! [`Server`]: the event loops and the watchdog that keeps a slow view from holding
//! everyone up.
//!
//! A threaded server runs one event loop per core (one loop otherwise). A loop is a `mio`
//! poller, its connection table and one read buffer; all loops watch the listening socket
//! and a loop leaves new connections to another that has clearly fewer. A loop reads
//! request heads without blocking and calls the application inline, which costs no context
//! switch per request. Before calling the app it puts itself where the watchdog can reach
//! it; when a request has run longer than `slow_handler_threshold` (wall clock: a sleeping
//! view must be moved too) and the loop has other work, the watchdog hands the loop to a
//! spare thread (a pool of at most `max_threads`, so a handoff is a wake-up, not a thread
//! start), and the slow thread, once its response is written, hands its connection back
//! and becomes a spare. For a second after a slow request (`SLOW_MODE_WINDOW`) the loop
//! hands itself over before each request while other work waits, without waiting for the
//! watchdog: a loop then starts slow requests as fast as it reads them. Idle connections
//! cost a table entry and a socket, never a thread.
//!
//! A loop never waits on a socket. Bodies up to `body_read_ahead` are read by the loop
//! before the app is called; a request whose body is still arriving runs on a spare thread
//! (the loop moves first), and waits paused in the loop while none is free. Bodies that
//! arrive below `min_body_rate` or past `body_timeout` get `408`. The loop's own answers
//! (`400`, `408`, `413`, `431`, `503`…) are written without blocking, and lingering closes
//! are read on the loop. The bytes loops hold for requests not handed to the app yet count
//! against `max_buffered_heads`.
//!
//! On shutdown the listener closes at once, after the connections already in its backlog
//! are accepted: they are answered (with `Connection: close`), not reset.
//!
//! This module owns the [`Server`] itself: building it on a bound socket (`listener.rs`),
//! starting its loops and the watchdog, and shutting down. The event loop (accepting,
//! reading heads and bodies ahead, deadlines, running requests) is in
//! `server/event_loop.rs`, moving loops between threads (spare threads, the watchdog,
//! slow mode) in `server/handoff.rs`. Request heads are parsed in `http1.rs`; a request's
//! life (body, app, response) is in `conn.rs`.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

// Formats an IP address straight into an inline `Text`, with no allocation.
use compact_str::ToCompactString as _;
use http::Version;
use log::Level;
use mio::{Events, Interest, Poll, Token, Waker};

use super::Options;
use super::conn::{self, ConnIo, Handler, LINGER_MAX_BYTES, LINGER_TIMEOUT, Outcome, Stream};
use super::http1::{
    ChunkedDecoder, ConnInfo, Framing, Head, HeadLimits, Parsed, Reject, parse_head,
};
use super::listener::{Listener, ServerAddr};
use super::logging;
use crate::Application;
use crate::app::SharedApp;
use crate::environ::Text;

mod event_loop;
mod handoff;

use event_loop::LoopState;
use handoff::{Spares, loop_thread, watchdog};

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);

/// Slack in the loop's read buffer beyond the head limits.
const BUFFER_SLACK: usize = 4096;

/// Bounds of the period at which connection deadlines are checked.
/// On shutdown, how long TCP handshakes already under way get to complete (into the listen
/// queue, which is emptied once more) after new ones are refused: several loopback round
/// trips.
const HANDSHAKES_SETTLE: Duration = Duration::from_millis(2);

const MIN_SWEEP: Duration = Duration::from_millis(10);
const MAX_SWEEP: Duration = Duration::from_secs(1);

enum MioListener {
    Tcp(mio::net::TcpListener),
    #[cfg(unix)]
    Unix(mio::net::UnixListener),
}

impl MioListener {
    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            MioListener::Tcp(l) => l,
            #[cfg(unix)]
            MioListener::Unix(l) => l,
        }
    }
}

/// A running-to-be server: bound, not yet serving. Made by [`make_server`].
///
/// # Examples
///
/// ```
/// use zeug::serving::{make_server, Options};
/// use zeug::{Environ, Response};
///
/// let server = make_server("127.0.0.1", 0, |_: Environ| Response::new("hi"), Options::new())?;
/// let port = server.local_addr().port().unwrap();
/// let handle = server.shutdown_handle();
/// let serving = std::thread::spawn(move || server.serve_forever());
///
/// let body = ureq::get(&format!("http://127.0.0.1:{port}/")).call().unwrap().into_string()?;
/// assert_eq!(body, "hi");
///
/// handle.shutdown();
/// serving.join().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server {
    shared: Arc<Shared>,
    /// Boxed: a loop moves between threads and through the watchdog's slot as a box.
    #[allow(clippy::vec_box)]
    states: Vec<Box<LoopState>>,
    addr: ServerAddr,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

/// Asks a server to stop, from any thread. Cloneable.
///
/// [`shutdown`](Self::shutdown) makes the server stop accepting, close idle connections and
/// give requests in flight up to `shutdown_grace_period` before `serve_forever` returns.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShutdownHandle")
    }
}

impl ShutdownHandle {
    /// Starts a graceful shutdown and returns at once (calling it again does nothing).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::serving::{make_server, Options};
    /// use zeug::{Environ, Response};
    ///
    /// let server = make_server("127.0.0.1", 0, |_: Environ| Response::new(""), Options::new())?;
    /// let handle = server.shutdown_handle();
    /// handle.shutdown();
    /// server.serve_forever()?; // returns promptly: nothing was in flight
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self) {
        self.shared.begin_shutdown();
    }
}

/// Everything the loop threads, the watchdog and handlers share.
struct Shared {
    handler: Handler,
    limits: HeadLimits,
    template: ConnInfo,
    options: Options,
    threaded: bool,
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ServerConfig>>,
    /// One per event loop.
    loops: Vec<LoopShared>,
    shutdown: AtomicBool,
    /// Loops still running.
    running: Mutex<usize>,
    done_cv: Condvar,
    panic: Mutex<Option<Box<dyn std::any::Any + Send>>>,
    watchdog: OnceLock<thread::Thread>,
    epoch: Instant,
    /// Spare threads that take loops over from threads running slow requests.
    spares: Mutex<Spares>,
    spares_cv: Condvar,
    /// Bytes the loops hold for requests not handed to the app yet (partial heads, bodies
    /// read ahead), against `Options::max_buffered_heads`.
    held: AtomicUsize,
    /// Connections paused until a thread is free, over all loops.
    paused: AtomicUsize,
    /// Connections handed over after a `101` (WebSockets), ended by a shutdown.
    handed_over: super::upgrade::HandedOver,
}

/// What becomes of a connection after its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    KeepAlive,
    Close,
    Linger,
}

/// What one event loop shares with the watchdog and with handlers that outlived their turn.
struct LoopShared {
    /// The loop while its owner runs an app; the watchdog may take it from here.
    slot: Mutex<Option<Box<LoopState>>>,
    /// When the current handler started (nanoseconds since `epoch`, at least 1), or 0.
    busy_since: AtomicU64,
    /// Connections whose handlers finished after the loop moved on.
    returned: Mutex<Vec<(Token, After)>>,
    waker: Waker,
    /// This loop's handle to the listening socket. It lives here, not in [`LoopState`], so
    /// a shutdown closes every loop's handle at once, whichever thread holds the loop or
    /// however long its current request runs: the socket stops accepting immediately.
    listener: Mutex<Option<MioListener>>,
    /// The loop's registry, to take the listener out of its poller from any thread.
    registry: mio::Registry,
    /// Set (and the waker woken) by a loop that left new connections to this one.
    accept_hint: AtomicBool,
    /// Until when (nanoseconds since `epoch`) the loop hands itself over before each
    /// request while other work waits: it recently ran a slow one.
    slow_until: AtomicU64,
    /// When the request the watchdog last moved off this loop started, while it runs
    /// (nanoseconds since `epoch`), or 0: the watchdog puts the loop in slow mode once it
    /// has run [`SLOW_MODE_ENTRY`].
    handed_since: AtomicU64,
    /// Connections accepted from the backlog at shutdown, for this loop to answer.
    adopted: Mutex<Vec<(Stream, Option<SocketAddr>)>>,
    /// The OS thread running the current handler (Linux), so that the watchdog can tell a
    /// slow handler from one whose thread merely waits for a CPU.
    thread_id: AtomicI32,
}

/// Makes the kernel drop new connection attempts (a TCP segment with SYN and without ACK)
/// to `listener`, with a socket filter, while handshakes under way still complete: the
/// clients retry a moment later and find the port closed, instead of being reset after
/// their connection was set up. Linux only. Under the reloader the next child serves the
/// same socket and takes the filter off when it starts: a client that connects during the
/// restart retries its SYN after a second and is served by it. Returns whether it did.
fn refuse_new_connections(listener: &MioListener) -> bool {
    #[cfg(target_os = "linux")]
    if let MioListener::Tcp(l) = listener {
        // Classic BPF on the TCP header: load the flags byte; ACK set → keep; else SYN
        // set → drop; else keep.
        let filter = [
            socket2::SockFilter::new(0x30, 0, 0, 13),       // ldb [13]
            socket2::SockFilter::new(0x45, 2, 0, 0x10),     // jset #ACK, keep
            socket2::SockFilter::new(0x45, 0, 1, 0x02),     // jset #SYN, drop
            socket2::SockFilter::new(0x06, 0, 0, 0),        // drop: ret #0
            socket2::SockFilter::new(0x06, 0, 0, u32::MAX), // keep: ret #-1
        ];
        return socket2::SockRef::from(l).attach_filter(&filter).is_ok();
    }
    let _ = listener;
    false
}

impl Shared {
    fn begin_shutdown(&self) {
        // Close the listening socket before anything else: once the last handle in this
        // process is closed, the kernel refuses new connections instead of queueing
        // requests nobody will answer. The connections already waiting in the backlog
        // would be reset by the close: accept them first, and answer them (with
        // `Connection: close`) within the grace period. Under the reloader or with worker
        // processes another process keeps the socket open, so later connections wait in
        // the backlog for the next server instead.
        let mut taken = Vec::new();
        for lp in &self.loops {
            let listener = lp.listener.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(mut listener) = listener {
                let _ = lp.registry.deregister(listener.source());
                taken.push(listener);
            }
        }
        if !taken.is_empty() && self.panic.lock().map(|p| p.is_none()).unwrap_or(false) {
            // Closing a listening socket resets the connections still in its queue. So no
            // new handshake may complete first (new clients are refused a moment later,
            // their connection never having been accepted), then the queue is emptied,
            // and once more after the handshakes already under way have completed.
            let refusing = refuse_new_connections(&taken[0]);
            let mut accepted = Vec::new();
            for listener in &mut taken {
                accepted.extend(self.drain_backlog(listener));
            }
            if refusing {
                thread::sleep(HANDSHAKES_SETTLE);
                for listener in &mut taken {
                    accepted.extend(self.drain_backlog(listener));
                }
            }
            for (next, connection) in accepted.into_iter().enumerate() {
                self.loops[next % self.loops.len()]
                    .adopted
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(connection);
            }
        }
        drop(taken);
        self.shutdown.store(true, Ordering::SeqCst);
        self.handed_over.shut_down_all();
        for lp in &self.loops {
            let _ = lp.waker.wake();
        }
        if let Some(w) = self.watchdog.get() {
            w.unpark();
        }
    }

    /// Accepts what waits in the listen backlog, without blocking.
    fn drain_backlog(&self, listener: &mut MioListener) -> Vec<(Stream, Option<SocketAddr>)> {
        let mut accepted = Vec::new();
        loop {
            let next = match listener {
                MioListener::Tcp(l) => l.accept().map(|(s, a)| {
                    let _ = s.set_nodelay(true);
                    (wrap_tcp(self, s), Some(a))
                }),
                #[cfg(unix)]
                MioListener::Unix(l) => l.accept().map(|(s, _)| (Ok(Stream::Unix(s)), None)),
            };
            match next {
                Ok((Ok(stream), peer)) => accepted.push((stream, peer)),
                Ok((Err(_), _)) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(_) => return accepted,
            }
        }
    }

    fn is_done(&self) -> bool {
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) == 0
    }

    /// One loop ended; the last one wakes `serve_forever` and the watchdog.
    fn finish(&self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        *running = running.saturating_sub(1);
        if *running == 0 {
            self.done_cv.notify_all();
            self.spares_cv.notify_all();
            if let Some(w) = self.watchdog.get() {
                w.unpark();
            }
        }
    }

    fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// Binds `host`/`port` and makes a [`Server`] for `app` without serving yet: the serving
/// tests' way in, and Werkzeug's `make_server`.
///
/// Port 0 picks a free port; [`Server::local_addr`] says which. Unlike
/// [`run_simple`](crate::serving::run_simple), it prints no banner and installs no stderr
/// logger: records go to whatever logger the program (or test) installed.
///
/// # Examples
///
/// ```
/// use zeug::serving::{make_server, Options};
/// use zeug::{Environ, Response};
///
/// let server = make_server("127.0.0.1", 0, |_: Environ| Response::new("hi"), Options::new())?;
/// assert_ne!(server.local_addr().port(), Some(0));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn make_server(
    host: &str,
    port: u16,
    app: impl Application,
    options: Options,
) -> io::Result<Server> {
    let listener = Listener::bind(host, port, &options)?;
    Server::from_listener(listener, Arc::new(app), options)
}

impl Server {
    /// A server on an already bound socket (the reloader's child and worker processes
    /// use this with the inherited socket).
    pub(crate) fn from_listener(
        listener: Listener,
        app: SharedApp,
        options: Options,
    ) -> io::Result<Server> {
        let addr = listener.local_addr()?;
        let app: SharedApp = if options.static_files.is_empty() {
            app
        } else {
            let mut shared_data = crate::middleware::SharedData::new(app);
            for (prefix, dir) in &options.static_files {
                shared_data = shared_data.mount(prefix, dir);
            }
            Arc::new(shared_data)
        };
        // One loop per core, shared out between worker processes.
        let loops = if options.threaded {
            let cores = thread::available_parallelism().map_or(1, |n| n.get());
            (cores / options.processes.max(1)).max(1)
        } else {
            1
        };
        // Every loop watches its own handle to the socket; whichever is free accepts.
        let mut handles = Vec::with_capacity(loops);
        for _ in 1..loops {
            handles.push(listener.try_clone()?);
        }
        handles.push(listener);
        let mut listeners = Vec::with_capacity(loops);
        for handle in handles {
            listeners.push(match handle {
                Listener::Tcp(l) => {
                    l.set_nonblocking(true)?;
                    // A server that stopped before on this socket (a reloader child) may
                    // have left its filter refusing new connections.
                    #[cfg(target_os = "linux")]
                    let _ = socket2::SockRef::from(&l).detach_filter();
                    MioListener::Tcp(mio::net::TcpListener::from_std(l))
                }
                #[cfg(unix)]
                Listener::Unix(l, _) => {
                    l.set_nonblocking(true)?;
                    MioListener::Unix(mio::net::UnixListener::from_std(l))
                }
            });
        }
        let (server_name, server_port) = match &addr {
            ServerAddr::Inet(a) => (Text::from_compact(a.ip().to_compact_string()), a.port()),
            ServerAddr::Unix(_) => (Text::from("localhost"), 80),
        };
        let listeners = listeners.into_iter().map(Some).collect();
        let mut server = Server::new(app, options, listeners, server_name, server_port)?;
        server.addr = addr;
        Ok(server)
    }

    fn new(
        app: SharedApp,
        options: Options,
        listeners: Vec<Option<MioListener>>,
        server_name: Text,
        server_port: u16,
    ) -> io::Result<Server> {
        if options.use_debugger {
            super::debugger::install_panic_hook();
        }
        #[cfg(feature = "tls")]
        let tls = match &options.ssl_context {
            Some(ctx) => Some(super::tls::server_config(ctx)?),
            None => None,
        };
        let limits = HeadLimits {
            max_request_line: options.max_request_line,
            max_header_size: options.max_header_size,
            max_header_count: options.max_header_count,
        };
        let template = ConnInfo {
            remote_addr: None,
            remote_port: None,
            server_name,
            server_port,
            url_scheme: Text::from(options.url_scheme()),
            multithread: options.threaded,
            multiprocess: options.processes > 1,
        };
        let sweep_every = (options.header_timeout.min(options.keep_alive_timeout) / 4)
            .clamp(MIN_SWEEP, MAX_SWEEP);
        let loads: Arc<[AtomicUsize]> = (0..listeners.len()).map(|_| AtomicUsize::new(0)).collect();
        let mut states = Vec::with_capacity(listeners.len());
        let mut loops = Vec::with_capacity(listeners.len());
        for (index, mut listener) in listeners.into_iter().enumerate() {
            let poll = Poll::new()?;
            if let Some(l) = listener.as_mut() {
                poll.registry()
                    .register(l.source(), LISTENER, Interest::READABLE)?;
            }
            loops.push(LoopShared {
                slot: Mutex::new(None),
                busy_since: AtomicU64::new(0),
                returned: Mutex::new(Vec::new()),
                waker: Waker::new(poll.registry(), WAKER)?,
                listener: Mutex::new(listener),
                registry: poll.registry().try_clone()?,
                accept_hint: AtomicBool::new(false),
                slow_until: AtomicU64::new(0),
                handed_since: AtomicU64::new(0),
                adopted: Mutex::new(Vec::new()),
                thread_id: AtomicI32::new(0),
            });
            states.push(Box::new(LoopState {
                index,
                poll,
                conns: Vec::new(),
                free: Vec::new(),
                open: 0,
                loads: Arc::clone(&loads),
                buf: vec![
                    0;
                    (options.max_request_line + options.max_header_size)
                        .max(options.body_read_ahead)
                        + BUFFER_SLACK
                ],
                ready: VecDeque::new(),
                accept_paused: false,
                next_sweep: Instant::now() + sweep_every,
                sweep_every,
                shutdown_deadline: None,
                fresh_until: None,
                stop_when_empty: false,
                paused: Vec::new(),
                served_since_wait: false,
            }));
        }
        let handler = Handler {
            app,
            max_content_length: options.max_content_length,
            min_body_rate: options.min_body_rate,
            body_rate_grace: options.body_rate_grace,
            body_timeout: options.body_timeout,
            body_budget: crate::body::BodyBudget::new(options.max_buffered_bodies),
            max_drain: options.max_drain,
            max_trailer_bytes: options.max_header_size,
            use_debugger: options.use_debugger,
            passthrough_errors: options.passthrough_errors,
        };
        let shared = Arc::new(Shared {
            handler,
            limits,
            template,
            threaded: options.threaded,
            options,
            #[cfg(feature = "tls")]
            tls,
            running: Mutex::new(loops.len()),
            loops,
            shutdown: AtomicBool::new(false),
            done_cv: Condvar::new(),
            panic: Mutex::new(None),
            watchdog: OnceLock::new(),
            epoch: Instant::now(),
            spares: Mutex::new(Spares::default()),
            spares_cv: Condvar::new(),
            held: AtomicUsize::new(0),
            paused: AtomicUsize::new(0),
            handed_over: super::upgrade::HandedOver::default(),
        });
        Ok(Server {
            shared,
            states,
            addr: ServerAddr::Inet(SocketAddr::from(([0, 0, 0, 0], 0))),
        })
    }

    /// The address the server listens on (with the real port when port 0 was asked for).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::serving::{make_server, Options};
    /// use zeug::{Environ, Response};
    ///
    /// let server = make_server("::1", 0, |_: Environ| Response::new(""), Options::new());
    /// if let Ok(server) = server { // no IPv6 on some machines
    ///     assert!(server.local_addr().inet().unwrap().is_ipv6());
    /// }
    /// ```
    pub fn local_addr(&self) -> ServerAddr {
        self.addr.clone()
    }

    /// A handle that stops this server from another thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::serving::{make_server, Options};
    /// use zeug::{Environ, Response};
    ///
    /// let server = make_server("127.0.0.1", 0, |_: Environ| Response::new(""), Options::new())?;
    /// let handle = server.shutdown_handle();
    /// std::thread::spawn(move || handle.shutdown());
    /// server.serve_forever()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The start-up banner lines for a server on `addr` (without `Press CTRL+C to quit`).
pub(crate) fn banner_lines(addr: &ServerAddr, scheme: &str) -> Vec<String> {
    match addr {
        ServerAddr::Unix(p) => vec![format!(" * Running on unix://{}", p.display())],
        ServerAddr::Inet(a) if a.ip().is_unspecified() => {
            let (loopback, probe): (IpAddr, &str) = if a.is_ipv4() {
                ([127, 0, 0, 1].into(), "10.253.155.219:58162")
            } else {
                (
                    std::net::Ipv6Addr::LOCALHOST.into(),
                    "[fd31:f903:5ab5:1::1]:58162",
                )
            };
            let mut lines = vec![
                format!(" * Running on all addresses ({})", a.ip()),
                format!(
                    " * Running on {scheme}://{}",
                    SocketAddr::new(loopback, a.port())
                ),
            ];
            // The address this machine would use to reach the outside (no packet is
            // sent: connecting a UDP socket only picks a route), as Werkzeug shows.
            let bind = if a.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            if let Some(ip) = std::net::UdpSocket::bind(bind)
                .and_then(|s| s.connect(probe).map(|_| s))
                .and_then(|s| s.local_addr())
                .ok()
                .map(|l| l.ip())
                .filter(|ip| !ip.is_unspecified() && !ip.is_loopback())
            {
                lines.push(format!(
                    " * Running on {scheme}://{}",
                    SocketAddr::new(ip, a.port())
                ));
            }
            lines
        }
        ServerAddr::Inet(a) => vec![format!(" * Running on {scheme}://{a}")],
    }
}

impl Server {
    /// Serves until [`ShutdownHandle::shutdown`] is called and the requests in flight have
    /// finished (or the grace period ran out).
    ///
    /// With `passthrough_errors`, a panicking view stops the server and the panic is
    /// resumed here.
    ///
    /// # Examples
    ///
    /// See [`make_server`].
    pub fn serve_forever(self) -> io::Result<()> {
        let Server { shared, states, .. } = self;
        let watchdog = if shared.threaded {
            let for_thread = Arc::clone(&shared);
            let t = thread::Builder::new()
                .name("zeug-watchdog".into())
                .spawn(move || watchdog(&for_thread))?;
            let _ = shared.watchdog.set(t.thread().clone());
            Some(t)
        } else {
            None
        };
        let mut states = states.into_iter();
        let first = states.next().expect("a server has at least one loop");
        for state in states {
            let for_thread = Arc::clone(&shared);
            thread::Builder::new()
                .name("zeug-loop".into())
                .spawn(move || loop_thread(&for_thread, state))?;
        }
        loop_thread(&shared, first);
        {
            let mut running = shared.running.lock().unwrap_or_else(|e| e.into_inner());
            while *running > 0 {
                running = shared
                    .done_cv
                    .wait(running)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
        if let Some(t) = watchdog {
            let _ = t.join();
        }
        let panic = shared
            .panic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(payload) = panic {
            std::panic::resume_unwind(payload);
        }
        Ok(())
    }
}

/// Serves one already connected stream on this thread until the connection closes: what
/// the fuzz target drives. Not threaded; short timeouts.
#[doc(hidden)]
#[cfg(unix)]
pub fn serve_connection(
    stream: std::os::unix::net::UnixStream,
    app: impl Application,
    options: Options,
) -> io::Result<()> {
    stream.set_nonblocking(true)?;
    let options = options.threaded(false);
    let mut server = Server::new(Arc::new(app), options, vec![None], "localhost".into(), 80)?;
    let shared = Arc::clone(&server.shared);
    let state = &mut server.states[0];
    state.stop_when_empty = true;
    state.add_conn(
        &shared,
        Stream::Unix(mio::net::UnixStream::from_std(stream)),
        None,
    )?;
    server.serve_forever()
}

#[cfg(feature = "tls")]
fn wrap_tcp(shared: &Shared, stream: mio::net::TcpStream) -> io::Result<Stream> {
    match &shared.tls {
        Some(config) => Ok(Stream::Tls(Box::new(super::tls::TlsStream::new(
            Arc::clone(config),
            stream,
        )?))),
        None => Ok(Stream::Tcp(stream)),
    }
}

#[cfg(not(feature = "tls"))]
fn wrap_tcp(_shared: &Shared, stream: mio::net::TcpStream) -> io::Result<Stream> {
    Ok(Stream::Tcp(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners_say_where_the_server_runs() {
        let one = banner_lines(&ServerAddr::Inet("127.0.0.1:5000".parse().unwrap()), "http");
        assert_eq!(one, [" * Running on http://127.0.0.1:5000"]);
        let all = banner_lines(&ServerAddr::Inet("0.0.0.0:5000".parse().unwrap()), "https");
        assert_eq!(all[0], " * Running on all addresses (0.0.0.0)");
        assert_eq!(all[1], " * Running on https://127.0.0.1:5000");
        let v6 = banner_lines(&ServerAddr::Inet("[::]:80".parse().unwrap()), "http");
        assert_eq!(v6[1], " * Running on http://[::1]:80");
        let unix = banner_lines(&ServerAddr::Unix("/tmp/a.sock".into()), "http");
        assert_eq!(unix, [" * Running on unix:///tmp/a.sock"]);
    }

    #[test]
    fn unix_binding_never_removes_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-a-socket");
        std::fs::write(&path, "keep me").unwrap();
        let host = format!("unix://{}", path.display());
        let err = Listener::bind(&host, 0, &Options::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_stopping_listener_refuses_new_handshakes() {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let listener = MioListener::Tcp(mio::net::TcpListener::from_std(std_listener));
        // Before: a connection completes (and waits in the queue).
        let first = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5));
        assert!(first.is_ok());
        assert!(refuse_new_connections(&listener));
        // After: the SYN is dropped, so the attempt does not complete.
        let second = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300));
        assert!(second.is_err(), "a new connection completed: {second:?}");
        // Detached again (as a next server on the socket does), connections complete.
        let MioListener::Tcp(l) = &listener else {
            unreachable!()
        };
        socket2::SockRef::from(l).detach_filter().unwrap();
        let third = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5));
        assert!(third.is_ok());
    }

    #[test]
    fn port_zero_picks_a_port() {
        let listener = Listener::bind("127.0.0.1", 0, &Options::new()).unwrap();
        assert_ne!(listener.local_addr().unwrap().port(), Some(0));
    }
}
