//! [`Server`]: the listening socket, the event loops and the watchdog that keeps a slow view
//! from holding everyone up.
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
//! On shutdown the listener closes at once, after the connections already in its backlog
//! are accepted: they are answered (with `Connection: close`), not reset.
//!
//! This module owns binding, accepting, timeouts and shutdown. Request heads are parsed in
//! `http1.rs`; a request's life (body, app, response) is in `conn.rs`.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use http::Version;
use log::Level;
use mio::{Events, Interest, Poll, Token, Waker};

use super::Options;
use super::conn::{self, ConnIo, Handler, Outcome, Stream};
use super::http1::{ConnInfo, Head, HeadLimits, Parsed, Reject, parse_head};
use super::logging;
use crate::Application;
use crate::app::SharedApp;

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);

/// Slack in the loop's read buffer beyond the head limits.
const BUFFER_SLACK: usize = 4096;

/// Connections one loop accepts before it looks at its other work again.
const ACCEPT_BATCH: usize = 16;

/// The watchdog parks after this many idle ticks and is woken by the next request.
const WATCHDOG_IDLE_TICKS: u32 = 200;

/// After a request on a loop ran longer than [`SLOW_MODE_ENTRY`], the loop hands itself
/// to a spare thread before each request while other work waits, for this long.
const SLOW_MODE_WINDOW: Duration = Duration::from_secs(1);

/// A request running this long (wall clock) puts its loop in slow mode. Much longer than
/// `slow_handler_threshold`: a quick view merely descheduled for a few milliseconds on a
/// busy machine must not make its loop hand off every request for a second (that doubled
/// the CPU per request of a hello-world under `wrk`).
const SLOW_MODE_ENTRY: Duration = Duration::from_millis(20);

/// A spare thread with nothing to do for this long ends.
const SPARE_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bounds of the period at which connection deadlines are checked.
const MIN_SWEEP: Duration = Duration::from_millis(10);
const MAX_SWEEP: Duration = Duration::from_secs(1);

/// Where a server listens.
///
/// # Examples
///
/// ```
/// use zeug::serving::ServerAddr;
///
/// let addr = ServerAddr::Inet("127.0.0.1:5000".parse().unwrap());
/// assert_eq!(addr.port(), Some(5000));
/// assert_eq!(addr.to_string(), "127.0.0.1:5000");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerAddr {
    /// A TCP address (IPv4 or IPv6).
    Inet(SocketAddr),
    /// A Unix domain socket path.
    Unix(PathBuf),
}

impl ServerAddr {
    /// The TCP port, or `None` for a Unix socket.
    pub fn port(&self) -> Option<u16> {
        match self {
            ServerAddr::Inet(a) => Some(a.port()),
            ServerAddr::Unix(_) => None,
        }
    }

    /// The TCP address, or `None` for a Unix socket.
    ///
    /// # Examples
    ///
    /// ```
    /// let addr = zeug::serving::ServerAddr::Unix("/tmp/app.sock".into());
    /// assert_eq!(addr.inet(), None);
    /// ```
    pub fn inet(&self) -> Option<SocketAddr> {
        match self {
            ServerAddr::Inet(a) => Some(*a),
            ServerAddr::Unix(_) => None,
        }
    }
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Inet(a) => write!(f, "{a}"),
            ServerAddr::Unix(p) => write!(f, "unix://{}", p.display()),
        }
    }
}

/// A bound, listening socket (blocking until a server takes it).
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(std::net::TcpListener),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixListener, PathBuf),
}

impl Listener {
    /// Binds `host`/`port` the way `run_simple` takes them: an IPv4 or IPv6 address (with
    /// or without brackets), a name (resolved, IPv4 first as Werkzeug does), or
    /// `unix:///path` (a stale socket file left by a dead server is replaced).
    pub(crate) fn bind(host: &str, port: u16, options: &Options) -> io::Result<Listener> {
        let backlog = i32::try_from(options.request_queue_size).unwrap_or(i32::MAX);
        if let Some(path) = host.strip_prefix("unix://") {
            #[cfg(unix)]
            return bind_unix(Path::new(path), backlog);
            #[cfg(not(unix))]
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("Unix sockets are not available here: {path}"),
            ));
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let mut addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => (host, port).to_socket_addrs()?.collect(),
        };
        addrs.sort_by_key(|a| !a.is_ipv4());
        let mut last_error = io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("{host} resolves to no address"),
        );
        for addr in addrs {
            match bind_tcp(addr, backlog) {
                Ok(l) => return Ok(Listener::Tcp(l)),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    /// Takes over a listening socket inherited from a parent process (the reloader).
    ///
    /// # Safety
    ///
    /// `fd` must be an open, listening stream socket that nothing else in this process
    /// owns or closes.
    #[cfg(unix)]
    pub(crate) unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> io::Result<Listener> {
        use std::os::fd::{FromRawFd, OwnedFd};
        // SAFETY: the caller guarantees `fd` is an open socket owned by nobody else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let socket = socket2::Socket::from(owned);
        let local = socket.local_addr()?;
        if local.as_socket().is_some() {
            Ok(Listener::Tcp(socket.into()))
        } else {
            let path = local
                .as_pathname()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            Ok(Listener::Unix(OwnedFd::from(socket).into(), path))
        }
    }

    /// Another handle to the same socket (for worker processes).
    pub(crate) fn try_clone(&self) -> io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(l) => Listener::Tcp(l.try_clone()?),
            #[cfg(unix)]
            Listener::Unix(l, p) => Listener::Unix(l.try_clone()?, p.clone()),
        })
    }

    /// The address it listens on.
    pub(crate) fn local_addr(&self) -> io::Result<ServerAddr> {
        Ok(match self {
            Listener::Tcp(l) => ServerAddr::Inet(l.local_addr()?),
            #[cfg(unix)]
            Listener::Unix(_, p) => ServerAddr::Unix(p.clone()),
        })
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for Listener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Unix(l, _) => l.as_raw_fd(),
        }
    }
}

#[cfg(unix)]
impl std::os::fd::IntoRawFd for Listener {
    fn into_raw_fd(self) -> std::os::fd::RawFd {
        match self {
            Listener::Tcp(l) => l.into_raw_fd(),
            Listener::Unix(l, _) => l.into_raw_fd(),
        }
    }
}

fn bind_tcp(addr: SocketAddr, backlog: i32) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

#[cfg(unix)]
fn bind_unix(path: &Path, backlog: i32) -> io::Result<Listener> {
    use socket2::{Domain, SockAddr, Socket, Type};
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("a server is listening on {}", path.display()),
                ));
            }
            // Nobody listens: a stale socket file from a server that died.
            Err(_) => std::fs::remove_file(path)?,
        }
    }
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.bind(&SockAddr::unix(path)?)?;
    socket.listen(backlog)?;
    let fd: std::os::fd::OwnedFd = socket.into();
    Ok(Listener::Unix(fd.into(), path.to_path_buf()))
}

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
}

/// Loops waiting for a spare thread, and the spare threads.
#[derive(Default)]
struct Spares {
    // Loops travel between threads as boxes (a pointer move, not a copy of the state).
    #[allow(clippy::vec_box)]
    queue: Vec<Box<LoopState>>,
    idle: usize,
    threads: usize,
}

/// What one event loop shares with the watchdog and with handlers that outlived their turn.
struct LoopShared {
    /// The loop while its owner runs an app; the watchdog may take it from here.
    slot: Mutex<Option<Box<LoopState>>>,
    /// When the current handler started (nanoseconds since `epoch`, at least 1), or 0.
    busy_since: AtomicU64,
    /// Connections whose handlers finished after the loop moved on: token and keep-alive.
    returned: Mutex<Vec<(Token, bool)>>,
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
        let mut next = 0;
        for lp in &self.loops {
            let taken = lp.listener.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(mut listener) = taken {
                let _ = lp.registry.deregister(listener.source());
                if self.panic.lock().map(|p| p.is_none()).unwrap_or(false) {
                    for accepted in self.drain_backlog(&mut listener) {
                        let target = &self.loops[next % self.loops.len()];
                        next += 1;
                        target
                            .adopted
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(accepted);
                    }
                }
            }
        }
        self.shutdown.store(true, Ordering::SeqCst);
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

    /// Gives `state` to a spare thread (starting one if none waits and fewer than
    /// `max_threads` run); gives it back when no thread can take it.
    fn hand_off(self: &Arc<Self>, state: Box<LoopState>) -> Result<(), Box<LoopState>> {
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        if spares.idle > spares.queue.len() {
            spares.queue.push(state);
            drop(spares);
            self.spares_cv.notify_one();
            return Ok(());
        }
        if spares.threads >= self.options.max_threads {
            return Err(state);
        }
        spares.threads += 1;
        spares.queue.push(state);
        drop(spares);
        let for_thread = Arc::clone(self);
        let spawned = thread::Builder::new()
            .name("zeug-loop".into())
            .spawn(move || spare_thread(&for_thread));
        if let Err(e) = spawned {
            log::error!(target: logging::LOG_TARGET, "cannot start a loop thread: {e}");
            let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
            spares.threads -= 1;
            // Another spare may have taken it already; then all is well.
            if let Some(state) = spares.queue.pop() {
                return Err(state);
            }
        }
        Ok(())
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

/// Upgraded connections' threads count against `max_threads` with the spare threads.
impl super::upgrade::ThreadBudget for Shared {
    fn acquire_thread(&self) -> bool {
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        let free = spares.threads < self.options.max_threads;
        spares.threads += usize::from(free);
        free
    }

    fn release_thread(&self) {
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        spares.threads = spares.threads.saturating_sub(1);
    }

    fn shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }
}

struct Conn {
    io: Arc<Mutex<ConnIo>>,
    info: Arc<ConnInfo>,
    busy: bool,
    deadline: Instant,
    /// Waiting for the first byte of a request (the idle timeout applies, not the header
    /// timeout).
    idle: bool,
}

/// The event loop: whoever holds it serves.
struct LoopState {
    /// Which of `Shared::loops` this is (its listener is `Shared::loops[index].listener`).
    index: usize,
    poll: Poll,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    open: usize,
    /// Open connections of each loop (for `max_connections` and to spread new ones).
    loads: Arc<[AtomicUsize]>,
    buf: Vec<u8>,
    /// Tokens to look at, with whether readiness was reported for them.
    ready: VecDeque<(Token, bool)>,
    accept_paused: bool,
    next_sweep: Instant,
    sweep_every: Duration,
    shutdown_deadline: Option<Instant>,
    /// Stop once the last connection closed (serving a single connection).
    stop_when_empty: bool,
}

/// What looking at a connection produced.
// Not boxed, like `Parsed`: one move per request instead of one allocation.
#[allow(clippy::large_enum_variant)]
enum Drive {
    Idle,
    Dispatch(Token, Arc<Mutex<ConnIo>>, Arc<ConnInfo>, Head),
}

enum LoopExit {
    Finished,
    TakenOver,
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
            ServerAddr::Inet(a) => (a.ip().to_string(), a.port()),
            ServerAddr::Unix(_) => ("localhost".to_owned(), 80),
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
        server_name: String,
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
            url_scheme: options.url_scheme(),
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
            });
            states.push(Box::new(LoopState {
                index,
                poll,
                conns: Vec::new(),
                free: Vec::new(),
                open: 0,
                loads: Arc::clone(&loads),
                buf: vec![0; options.max_request_line + options.max_header_size + BUFFER_SLACK],
                ready: VecDeque::new(),
                accept_paused: false,
                next_sweep: Instant::now() + sweep_every,
                sweep_every,
                shutdown_deadline: None,
                stop_when_empty: false,
            }));
        }
        let handler = Handler {
            app,
            max_content_length: options.max_content_length,
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
                .spawn(move || {
                    run_loop(&for_thread, state);
                })?;
        }
        run_loop(&shared, first);
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

fn watchdog(shared: &Arc<Shared>) {
    let threshold = shared.options.slow_handler_threshold;
    let tick = (threshold / 2).max(Duration::from_micros(500));
    let window = u64::try_from(SLOW_MODE_WINDOW.as_nanos()).unwrap_or(u64::MAX);
    let entry = u64::try_from(SLOW_MODE_ENTRY.as_nanos()).unwrap_or(u64::MAX);
    let threshold = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX);
    let mut idle_ticks = 0;
    let mut events = Events::with_capacity(256);
    while !shared.is_done() {
        let mut all_idle = true;
        for lp in &shared.loops {
            let handed = lp.handed_since.load(Ordering::Acquire);
            if handed != 0 {
                all_idle = false;
                let now = shared.now_nanos();
                if now.saturating_sub(handed) >= entry {
                    lp.slow_until
                        .fetch_max(now.saturating_add(window), Ordering::AcqRel);
                    // Noted once; its end extends the window again.
                    let _ = lp.handed_since.compare_exchange(
                        handed,
                        0,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    );
                }
            }
            let since = lp.busy_since.load(Ordering::Acquire);
            if since == 0 {
                continue;
            }
            all_idle = false;
            if shared.now_nanos().saturating_sub(since) < threshold {
                continue;
            }
            let mut slot = lp.slot.lock().unwrap_or_else(|e| e.into_inner());
            // Under the lock the loop cannot change hands: check that the request timed
            // above is still the one running, and that the loop has work for another
            // thread. Without any, a handoff would only cost a thread (and a handler merely
            // descheduled on a busy machine would cause it): leave the loop where it is and
            // look again next tick.
            if lp.busy_since.load(Ordering::Acquire) != since {
                continue;
            }
            if try_hand_off(shared, lp, &mut slot, &mut events) {
                // This handler has had its handoff; it is not timed again.
                let _ =
                    lp.busy_since
                        .compare_exchange(since, 0, Ordering::AcqRel, Ordering::Relaxed);
                lp.handed_since.store(since, Ordering::Release);
            }
        }
        if all_idle {
            idle_ticks += 1;
            if idle_ticks >= WATCHDOG_IDLE_TICKS {
                idle_ticks = 0;
                // Woken by the next request (or shutdown); a token left by an earlier
                // unpark makes this return at once, so no wake-up is lost.
                thread::park();
                continue;
            }
        } else {
            idle_ticks = 0;
        }
        thread::sleep(tick);
    }
}

/// Under `lp.slot`'s lock: gives the loop in the slot to a spare thread when it has other
/// work. Returns whether it did.
fn try_hand_off(
    shared: &Arc<Shared>,
    lp: &LoopShared,
    slot: &mut Option<Box<LoopState>>,
    events: &mut Events,
) -> bool {
    let has_work = slot
        .as_mut()
        .is_some_and(|state| state.has_work(lp, events));
    if !has_work {
        return false;
    }
    let Some(state) = slot.take() else {
        return false;
    };
    match shared.hand_off(state) {
        Ok(()) => true,
        Err(state) => {
            *slot = Some(state);
            false
        }
    }
}

/// A spare thread: runs the loops handed to it until the server finishes or it has been
/// idle for [`SPARE_IDLE_TIMEOUT`].
fn spare_thread(shared: &Arc<Shared>) {
    let mut spares = shared.spares.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(state) = spares.queue.pop() {
            drop(spares);
            run_loop(shared, state);
            spares = shared.spares.lock().unwrap_or_else(|e| e.into_inner());
            continue;
        }
        if shared.is_done() {
            break;
        }
        spares.idle += 1;
        let (guard, timeout) = shared
            .spares_cv
            .wait_timeout(spares, SPARE_IDLE_TIMEOUT)
            .unwrap_or_else(|e| e.into_inner());
        spares = guard;
        spares.idle -= 1;
        if timeout.timed_out() && spares.queue.is_empty() {
            break;
        }
    }
    spares.threads -= 1;
}

/// Serves until the server finishes or another thread takes the loop over.
fn run_loop(shared: &Arc<Shared>, mut state: Box<LoopState>) -> LoopExit {
    logging::buffer_this_thread();
    let mut events = Events::with_capacity(1024);
    loop {
        while let Some((token, ready)) = state.ready.pop_front() {
            match token {
                LISTENER => state.accept(shared, !ready),
                WAKER => {
                    state.take_returned(shared);
                    if shared.loops[state.index]
                        .accept_hint
                        .swap(false, Ordering::SeqCst)
                    {
                        state.accept(shared, true);
                    }
                }
                token => {
                    if let Drive::Dispatch(token, io, info, head) =
                        state.drive(shared, token, ready)
                    {
                        match dispatch(shared, state, token, &io, &info, head) {
                            Some(s) => state = s,
                            None => {
                                logging::flush();
                                return LoopExit::TakenOver;
                            }
                        }
                    }
                }
            }
        }
        if state.finished(shared) {
            logging::flush();
            drop(state);
            shared.finish();
            return LoopExit::Finished;
        }
        if !state.ready.is_empty() {
            // `finished` queued a last look at the connections.
            continue;
        }
        logging::flush();
        let timeout = state.poll_timeout();
        match state.poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::error!(target: logging::LOG_TARGET, "event loop failed: {e}");
                shared.begin_shutdown();
                state.shutdown_deadline = Some(Instant::now());
            }
        }
        for event in events.iter() {
            state.ready.push_back((event.token(), true));
        }
        if Instant::now() >= state.next_sweep {
            state.sweep();
        }
    }
}

/// Runs one request; returns the loop if this thread still owns it afterwards.
fn dispatch(
    shared: &Arc<Shared>,
    mut state: Box<LoopState>,
    token: Token,
    io: &Arc<Mutex<ConnIo>>,
    info: &ConnInfo,
    head: Head,
) -> Option<Box<LoopState>> {
    if let Some(conn) = state.conns[token.0].as_mut() {
        conn.busy = true;
    }
    let lp = &shared.loops[state.index];
    let mut started = 0;
    let kept_state = if shared.threaded {
        // Mark first, then release: the watchdog never sees a free loop with a stale mark.
        started = shared.now_nanos();
        lp.busy_since.store(started, Ordering::Release);
        let mut slot = lp.slot.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(state);
        if lp.slow_until.load(Ordering::Acquire) > started {
            // This loop runs slow requests: do not wait for the watchdog to notice this
            // one, let a spare thread serve the others now.
            let mut events = Events::with_capacity(64);
            if try_hand_off(shared, lp, &mut slot, &mut events) {
                let _ =
                    lp.busy_since
                        .compare_exchange(started, 0, Ordering::AcqRel, Ordering::Relaxed);
            }
        }
        drop(slot);
        if let Some(w) = shared.watchdog.get() {
            w.unpark();
        }
        None
    } else {
        Some(state)
    };
    let keep = match conn::handle(&shared.handler, io, info, head, &shared.shutdown) {
        Outcome::KeepAlive => true,
        Outcome::Close => false,
        Outcome::Panic(payload) => {
            *shared.panic.lock().unwrap_or_else(|e| e.into_inner()) = Some(payload);
            shared.begin_shutdown();
            false
        }
        Outcome::Upgrade(handover) => {
            let budget: Arc<dyn super::upgrade::ThreadBudget> = shared.clone();
            let timeout = shared.options.io_timeout;
            super::upgrade::hand_over(budget, &lp.registry, io, info, *handover, timeout);
            false
        }
    };
    if shared.threaded {
        let now = shared.now_nanos();
        let _ = lp
            .handed_since
            .compare_exchange(started, 0, Ordering::AcqRel, Ordering::Relaxed);
        let entry = u64::try_from(SLOW_MODE_ENTRY.as_nanos()).unwrap_or(u64::MAX);
        if now.saturating_sub(started) >= entry {
            let window = u64::try_from(SLOW_MODE_WINDOW.as_nanos()).unwrap_or(u64::MAX);
            lp.slow_until
                .fetch_max(now.saturating_add(window), Ordering::AcqRel);
        }
    }
    let mut state = match kept_state {
        Some(state) => state,
        None => {
            let _ = lp
                .busy_since
                .compare_exchange(started, 0, Ordering::AcqRel, Ordering::Relaxed);
            let mut slot = lp.slot.lock().unwrap_or_else(|e| e.into_inner());
            match slot.take() {
                Some(state) => state,
                None => {
                    drop(slot);
                    // The loop moved to another thread: hand the connection back to it.
                    lp.returned
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((token, keep));
                    let _ = lp.waker.wake();
                    return None;
                }
            }
        }
    };
    state.finish_request(shared, token, keep, false);
    Some(state)
}

impl LoopState {
    fn add_conn(
        &mut self,
        shared: &Shared,
        mut stream: Stream,
        peer: Option<SocketAddr>,
    ) -> io::Result<()> {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.conns.push(None);
                self.conns.len() - 1
            }
        };
        if let Err(e) =
            self.poll
                .registry()
                .register(stream.source(), Token(index), Interest::READABLE)
        {
            self.free.push(index);
            return Err(e);
        }
        let mut info = shared.template.clone();
        if let Some(peer) = peer {
            info.remote_addr = Some(peer.ip().to_canonical().to_string());
            info.remote_port = Some(peer.port());
        }
        self.conns[index] = Some(Conn {
            io: Arc::new(Mutex::new(ConnIo::new(stream, shared.options.io_timeout))),
            info: Arc::new(info),
            busy: false,
            deadline: Instant::now() + shared.options.header_timeout,
            idle: false,
        });
        self.open += 1;
        self.loads[self.index].fetch_add(1, Ordering::Relaxed);
        self.ready.push_back((Token(index), true));
        Ok(())
    }

    /// Another loop with clearly fewer connections, if any: this loop leaves new
    /// connections to it, so the loops share the clients (each loop serves the
    /// connections it accepted).
    fn lighter_loop(&self) -> Option<usize> {
        let mine = self.loads[self.index].load(Ordering::Relaxed);
        self.loads
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != self.index)
            .map(|(i, load)| (load.load(Ordering::Relaxed), i))
            .min()
            .filter(|&(load, _)| load + 1 < mine)
            .map(|(_, i)| i)
    }

    /// Accepts waiting connections; `force` skips the sharing rule.
    fn accept(&mut self, shared: &Shared, force: bool) {
        if !force {
            if let Some(lighter) = self.lighter_loop() {
                // Hand the work over explicitly: the other loop may have seen (and left)
                // its readiness for these connections already, and with edge-triggered
                // events nobody would look again before the next sweep (up to a second;
                // this was the 1 s tail of `bench/serve.sh` at c256).
                let other = &shared.loops[lighter];
                other.accept_hint.store(true, Ordering::SeqCst);
                let _ = other.waker.wake();
                return;
            }
        }
        // Held for the batch: a shutdown waits for it, then no connection is accepted again.
        let mut listener = shared.loops[self.index]
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        for _ in 0..ACCEPT_BATCH {
            let total: usize = self.loads.iter().map(|l| l.load(Ordering::Relaxed)).sum();
            if total >= shared.options.max_connections {
                self.accept_paused = true;
                return;
            }
            let accepted = match listener.as_mut() {
                Some(MioListener::Tcp(l)) => l.accept().map(|(s, a)| {
                    let _ = s.set_nodelay(true);
                    (wrap_tcp(shared, s), Some(a))
                }),
                #[cfg(unix)]
                Some(MioListener::Unix(l)) => l.accept().map(|(s, _)| (Ok(Stream::Unix(s)), None)),
                None => return,
            };
            match accepted {
                Ok((Ok(stream), peer)) => {
                    if let Err(e) = self.add_conn(shared, stream, peer) {
                        log::error!(target: logging::LOG_TARGET, "cannot watch a connection: {e}");
                    }
                }
                Ok((Err(e), _)) => {
                    log::error!(target: logging::LOG_TARGET, "cannot start TLS: {e}");
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.accept_paused = false;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    // Out of file descriptors, most likely: retry at the next sweep.
                    log::error!(target: logging::LOG_TARGET, "accept failed: {e}");
                    self.accept_paused = true;
                    return;
                }
            }
        }
        // More may be waiting: come back after the other ready connections, so the loops
        // share a burst of new connections and this one's clients are not kept waiting.
        self.ready.push_back((LISTENER, true));
    }

    fn close(&mut self, token: Token) {
        if let Some(conn) = self.conns.get_mut(token.0).and_then(Option::take) {
            let mut io = conn::lock(&conn.io);
            let _ = self.poll.registry().deregister(io.stream.source());
            drop(io);
            self.free.push(token.0);
            self.open -= 1;
            self.loads[self.index].fetch_sub(1, Ordering::Relaxed);
            if self.accept_paused {
                self.ready.push_back((LISTENER, false));
            }
        }
    }

    /// Reads and parses what a connection has; returns a request to dispatch, if any.
    fn drive(&mut self, shared: &Shared, token: Token, ready: bool) -> Drive {
        let Some(conn) = self.conns.get_mut(token.0).and_then(Option::as_mut) else {
            return Drive::Idle;
        };
        if conn.busy {
            return Drive::Idle;
        }
        let io_arc = Arc::clone(&conn.io);
        let mut io = conn::lock(&io_arc);
        if ready {
            io.drained = false;
        }
        let buf = &mut self.buf;
        let mut len = io.pending().len();
        buf[..len].copy_from_slice(io.pending());
        io.clear_pending();
        loop {
            if len > 0 {
                match parse_head(&buf[..len], &shared.limits, &conn.info) {
                    Parsed::Complete(head, n) => {
                        io.set_pending(&buf[n..len]);
                        drop(io);
                        return Drive::Dispatch(token, io_arc, Arc::clone(&conn.info), head);
                    }
                    Parsed::Error(reject) => {
                        refuse(&mut io, &conn.info, &buf[..len], &reject);
                        drop(io);
                        self.close(token);
                        return Drive::Idle;
                    }
                    Parsed::Partial => {}
                }
            }
            if io.drained {
                break;
            }
            if len == buf.len() {
                // Only empty lines fill the buffer without hitting a limit first.
                let reject = Reject {
                    status: http::StatusCode::BAD_REQUEST,
                    reason: "No request line.",
                };
                refuse(&mut io, &conn.info, &buf[..0], &reject);
                drop(io);
                self.close(token);
                return Drive::Idle;
            }
            match io.read_nonblocking(&mut buf[len..]) {
                Ok(0) => {
                    if len > 0 {
                        logging::client_message(
                            Level::Debug,
                            conn.info.remote_addr.as_deref(),
                            "client closed the connection in the middle of a request head",
                        );
                    }
                    drop(io);
                    self.close(token);
                    return Drive::Idle;
                }
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    logging::client_message(
                        Level::Debug,
                        conn.info.remote_addr.as_deref(),
                        &format!("connection failed: {e}"),
                    );
                    drop(io);
                    self.close(token);
                    return Drive::Idle;
                }
            }
        }
        if len == 0 {
            io.shrink_idle();
        } else {
            io.set_pending(&buf[..len]);
            if conn.idle {
                conn.idle = false;
                conn.deadline = Instant::now() + shared.options.header_timeout;
            }
        }
        Drive::Idle
    }

    /// Takes a connection back after its request; `missed` when readiness events for it
    /// may have been dropped while it was busy (another thread owned the loop).
    fn finish_request(&mut self, shared: &Shared, token: Token, keep: bool, missed: bool) {
        if !keep || shared.shutdown.load(Ordering::SeqCst) {
            self.close(token);
            return;
        }
        if let Some(conn) = self.conns.get_mut(token.0).and_then(Option::as_mut) {
            conn.busy = false;
            conn.idle = true;
            conn.deadline = Instant::now() + shared.options.keep_alive_timeout;
            // Pipelined requests may be waiting in the buffer or the socket.
            self.ready.push_front((token, missed));
        }
    }

    /// Whether a loop parked during a request has something to serve: queued tokens,
    /// connections handed back, or readiness its poller reports now (which is kept in
    /// `ready`, so no event is lost to this look).
    fn has_work(&mut self, lp: &LoopShared, events: &mut Events) -> bool {
        if !self.ready.is_empty() || !lp.returned.lock().map_or(true, |r| r.is_empty()) {
            return true;
        }
        match self.poll.poll(events, Some(Duration::ZERO)) {
            Ok(()) => {
                for event in events.iter() {
                    self.ready.push_back((event.token(), true));
                }
                !self.ready.is_empty()
            }
            // Let a thread of its own find out.
            Err(_) => true,
        }
    }

    fn take_returned(&mut self, shared: &Shared) {
        let returned = std::mem::take(
            &mut *shared.loops[self.index]
                .returned
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for (token, keep) in returned {
            self.finish_request(shared, token, keep, true);
        }
    }

    /// Closes connections past their deadline (a `408` to those mid-head).
    fn sweep(&mut self) {
        let now = Instant::now();
        self.next_sweep = now + self.sweep_every;
        for index in 0..self.conns.len() {
            let expired = match &self.conns[index] {
                Some(conn) if !conn.busy && now >= conn.deadline => {
                    let mut io = conn::lock(&conn.io);
                    if !io.pending().is_empty() {
                        let reject = Reject {
                            status: http::StatusCode::REQUEST_TIMEOUT,
                            reason: "The request head took too long.",
                        };
                        let head = io.pending().to_vec();
                        refuse(&mut io, &conn.info, &head, &reject);
                    }
                    true
                }
                _ => false,
            };
            if expired {
                self.close(Token(index));
            }
        }
        // A safety net for the sharing rule (and for a paused accept): look once a sweep.
        self.ready.push_back((LISTENER, false));
    }

    /// Moves shutdown along; true when the loop should end.
    fn finished(&mut self, shared: &Shared) -> bool {
        if self.stop_when_empty && self.open == 0 {
            return true;
        }
        if !shared.shutdown.load(Ordering::SeqCst) {
            return false;
        }
        if self.adopt(shared) {
            // Answer what waited in the backlog before closing idle connections.
            return false;
        }
        let now = Instant::now();
        if self.shutdown_deadline.is_none() {
            // `begin_shutdown` has already closed the listening socket.
            let grace = if shared.panic.lock().map(|p| p.is_some()).unwrap_or(true) {
                Duration::ZERO
            } else {
                shared.options.shutdown_grace_period
            };
            self.shutdown_deadline = Some(now + grace);
            // Look at every connection once more before closing the idle ones: a request
            // that arrived before the shutdown but whose readiness was not polled yet is
            // served (with `Connection: close`), not answered with a reset.
            let before = self.ready.len();
            for (index, conn) in self.conns.iter().enumerate() {
                if conn.as_ref().is_some_and(|c| !c.busy) {
                    self.ready.push_back((Token(index), true));
                }
            }
            if self.ready.len() > before {
                return false;
            }
        }
        // Idle connections and half-received heads are closed; requests in flight finish.
        for index in 0..self.conns.len() {
            if self.conns[index].as_ref().is_some_and(|c| !c.busy) {
                self.close(Token(index));
            }
        }
        self.open == 0 || self.shutdown_deadline.is_some_and(|d| now >= d)
    }

    /// Takes the connections accepted from the backlog at shutdown; returns whether any.
    fn adopt(&mut self, shared: &Shared) -> bool {
        let adopted = std::mem::take(
            &mut *shared.loops[self.index]
                .adopted
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        let any = !adopted.is_empty();
        for (stream, peer) in adopted {
            if let Err(e) = self.add_conn(shared, stream, peer) {
                log::error!(target: logging::LOG_TARGET, "cannot watch a connection: {e}");
            }
        }
        any
    }

    fn poll_timeout(&self) -> Duration {
        let now = Instant::now();
        let mut timeout = self.next_sweep.saturating_duration_since(now);
        if self.shutdown_deadline.is_some() {
            timeout = timeout.min(MIN_SWEEP);
        }
        timeout
    }
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

/// Answers a refused head (logged like Werkzeug: the reason, then the access line), then
/// reads what the client already sent so closing does not reset the connection before the
/// answer arrives.
fn refuse(io: &mut ConnIo, info: &ConnInfo, received: &[u8], reject: &Reject) {
    logging::client_message(
        Level::Error,
        info.remote_addr.as_deref(),
        &format!("code {}, message {}", reject.status.as_u16(), reject.reason),
    );
    let first_line = received
        .split(|&b| b == b'\n')
        .find(|l| !l.is_empty() && *l != b"\r")
        .unwrap_or_default();
    let first_line = String::from_utf8_lossy(&first_line[..first_line.len().min(200)]);
    logging::access(
        info.remote_addr.as_deref(),
        first_line.trim_end_matches('\r'),
        reject.status,
        None,
    );
    if conn::write_reject(io, Version::HTTP_11, reject).is_ok() {
        let _ = io.make_nonblocking();
        let mut scratch = [0u8; 4096];
        for _ in 0..16 {
            match io.read_nonblocking(&mut scratch) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }
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
    fn port_zero_picks_a_port() {
        let listener = Listener::bind("127.0.0.1", 0, &Options::new()).unwrap();
        assert_ne!(listener.local_addr().unwrap().port(), Some(0));
    }
}
