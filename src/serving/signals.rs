//! SIGINT, SIGTERM and SIGCHLD, through `signal-hook`: stop a server gracefully, and wake the
//! supervisors (worker processes, the reloader) when a signal arrives or a child ends.
//!
//! This module owns how a signal reaches Rust code: a [`SignalSource`] is a `signal-hook`
//! self-pipe whose read end sits in a `mio` poller, so a supervisor waits for "a signal
//! arrived, a child ended, or it is time to look at the files again" in one call, with no
//! thread of its own (a process that forks must not have other threads). A server runs one
//! small watcher thread ([`shutdown_on_signal`]) that turns the first SIGINT/SIGTERM into a
//! call of its shutdown handle. It does not know how a server drains its connections.
//!
//! While no source exists, SIGINT and SIGTERM keep (an emulation of) their default action,
//! so a program whose server has returned can be stopped with Ctrl+C again. Unix only.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread;
use std::time::Duration;

use mio::net::UnixStream;
use mio::{Events, Interest, Poll, Token, Waker};
use signal_hook::consts::{SIGCHLD, SIGINT, SIGTERM};
use signal_hook::iterator::backend::SignalDelivery;
use signal_hook::iterator::exfiltrator::SignalOnly;

/// A signal a server or supervisor acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// SIGINT: Ctrl+C in the terminal (sent to the whole foreground process group).
    Interrupt,
    /// SIGTERM: `kill`, a process supervisor, a container runtime.
    Terminate,
    /// SIGCHLD: a child process ended (or stopped).
    Child,
}

impl Signal {
    fn raw(self) -> i32 {
        match self {
            Signal::Interrupt => SIGINT,
            Signal::Terminate => SIGTERM,
            Signal::Child => SIGCHLD,
        }
    }

    fn from_raw(raw: i32) -> Option<Signal> {
        match raw {
            SIGINT => Some(Signal::Interrupt),
            SIGTERM => Some(Signal::Terminate),
            SIGCHLD => Some(Signal::Child),
            _ => None,
        }
    }

    /// The signal's name, for log lines.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::Child => "SIGCHLD",
        }
    }

    /// Whether the signal asks the process to stop.
    pub(crate) fn is_stop(self) -> bool {
        matches!(self, Signal::Interrupt | Signal::Terminate)
    }
}

const PIPE: Token = Token(0);
const WAKE: Token = Token(1);

/// How many [`SignalSource`]s exist in this process; SIGINT/SIGTERM act as by default
/// while there are none.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// `true` while no source exists: the emulated default action of SIGINT/SIGTERM is on.
static DEFAULT_ON: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);

/// Registers, once per process, the "act as by default while no source exists" action
/// for SIGINT and SIGTERM (`signal-hook` never gives the default back by itself), and
/// counts one more source.
fn note_source_created() -> io::Result<()> {
    let mut slot = DEFAULT_ON.lock().unwrap_or_else(|e| e.into_inner());
    ACTIVE.fetch_add(1, Ordering::SeqCst);
    match slot.as_ref() {
        Some(flag) => flag.store(false, Ordering::SeqCst),
        None => {
            let flag = Arc::new(AtomicBool::new(false));
            for signal in [SIGINT, SIGTERM] {
                signal_hook::flag::register_conditional_default(signal, Arc::clone(&flag))?;
            }
            *slot = Some(flag);
        }
    }
    Ok(())
}

fn note_source_dropped() {
    let slot = DEFAULT_ON.lock().unwrap_or_else(|e| e.into_inner());
    if ACTIVE.fetch_sub(1, Ordering::SeqCst) == 1 {
        if let Some(flag) = slot.as_ref() {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

/// Signals delivered to a poller: [`wait`](Self::wait) returns when one of the chosen
/// signals arrives, when the timeout passes, or when a [`Stopper`] is used. Creating one
/// starts no thread, so a supervisor that forks can use it.
pub(crate) struct SignalSource {
    delivery: SignalDelivery<UnixStream, SignalOnly>,
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    stopped: Arc<AtomicBool>,
}

impl std::fmt::Debug for SignalSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalSource").finish_non_exhaustive()
    }
}

/// Makes a [`SignalSource`]'s `wait` return at once, from any thread.
#[derive(Clone)]
pub(crate) struct Stopper {
    waker: Arc<Waker>,
    stopped: Arc<AtomicBool>,
}

impl Stopper {
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }
}

impl SignalSource {
    /// Starts catching `signals` (instead of their default action) until dropped.
    pub(crate) fn new(signals: &[Signal]) -> io::Result<SignalSource> {
        let (mut read, write) = UnixStream::pair()?;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut read, PIPE, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
        note_source_created()?;
        let delivery =
            SignalDelivery::with_pipe(read, write, SignalOnly, signals.iter().map(|s| s.raw()));
        let delivery = match delivery {
            Ok(d) => d,
            Err(e) => {
                note_source_dropped();
                return Err(e);
            }
        };
        Ok(SignalSource {
            delivery,
            poll,
            events: Events::with_capacity(4),
            waker,
            stopped: Arc::new(AtomicBool::new(false)),
        })
    }

    /// A handle that ends [`wait`](Self::wait) from another thread.
    pub(crate) fn stopper(&self) -> Stopper {
        Stopper {
            waker: Arc::clone(&self.waker),
            stopped: Arc::clone(&self.stopped),
        }
    }

    /// Whether a [`Stopper`] was used.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Waits until a signal arrives (returned, each kind once however often it came), the
    /// timeout passes or the source is stopped (both return an empty list).
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<Vec<Signal>> {
        let arrived = self.pending();
        if !arrived.is_empty() || self.is_stopped() {
            return Ok(arrived);
        }
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        Ok(self.pending())
    }

    /// The signals that arrived since the last look, without waiting.
    pub(crate) fn pending(&mut self) -> Vec<Signal> {
        let mut arrived: Vec<Signal> = self
            .delivery
            .pending()
            .filter_map(Signal::from_raw)
            .collect();
        arrived.sort_by_key(|s| s.raw());
        arrived.dedup();
        arrived
    }
}

impl Drop for SignalSource {
    fn drop(&mut self) {
        // Dropping the delivery unregisters its actions; then the default comes back.
        self.delivery.handle().close();
        note_source_dropped();
    }
}

/// While it lives, the first SIGINT/SIGTERM stops the server (see [`shutdown_on_signal`]).
/// Dropping it gives both signals their default action back.
#[must_use = "the signals are handled only while the guard lives"]
pub(crate) struct SignalGuard {
    stopper: Stopper,
    watcher: Option<thread::JoinHandle<()>>,
    /// Set to `false` on drop; the grace-period backstop checks it.
    armed: Arc<AtomicBool>,
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        self.armed.store(false, Ordering::SeqCst);
        self.stopper.stop();
        if let Some(watcher) = self.watcher.take() {
            // The watcher wakes at once and drops its source on the way out.
            let _ = watcher.join();
        }
    }
}

/// Stops a server gracefully on the first SIGINT/SIGTERM: logs it, calls `shutdown` (which
/// must stop accepting and let in-flight requests finish), and if the server is still
/// running `grace` later (the guard not yet dropped), exits the process with status 0.
/// Repeated signals are logged and ignored, because Ctrl+C under the reloader reaches the
/// child twice (from the terminal and from the parent).
pub(crate) fn shutdown_on_signal(
    shutdown: impl Fn() + Send + 'static,
    grace: Duration,
) -> io::Result<SignalGuard> {
    let mut source = SignalSource::new(&[Signal::Interrupt, Signal::Terminate])?;
    let stopper = source.stopper();
    let armed = Arc::new(AtomicBool::new(true));
    let backstop_armed = Arc::clone(&armed);
    let watcher = thread::Builder::new()
        .name("zeug-signals".into())
        .spawn(move || {
            let started = Once::new();
            while !source.is_stopped() {
                let Ok(arrived) = source.wait(None) else {
                    return;
                };
                for signal in arrived.into_iter().filter(|s| s.is_stop()) {
                    let mut first = false;
                    started.call_once(|| first = true);
                    if !first {
                        log::debug!(target: "zeug", " * {} received again; still shutting down", signal.name());
                        continue;
                    }
                    log::log!(
                        target: "zeug",
                        quiet_under_reloader(),
                        " * {} received: no longer accepting connections, finishing requests in flight (up to {:?})",
                        signal.name(),
                        grace
                    );
                    shutdown();
                    start_backstop(Arc::clone(&backstop_armed), grace);
                }
            }
        })?;
    Ok(SignalGuard {
        stopper,
        watcher: Some(watcher),
        armed,
    })
}

/// The backstop: a request that outlives the grace period does not keep the process.
fn start_backstop(armed: Arc<AtomicBool>, grace: Duration) {
    let _ = thread::Builder::new()
        .name("zeug-grace".into())
        .spawn(move || {
            // A little beyond the server's own deadline, so a server that honours it
            // returns first and the program's code after `run_simple` runs normally.
            thread::sleep(grace + BACKSTOP_MARGIN);
            if armed.load(Ordering::SeqCst) {
                log::warn!(target: "zeug", " * grace period over; exiting with requests in flight");
                std::process::exit(0);
            }
        });
}

/// How long after the grace period the backstop waits for the server to return.
const BACKSTOP_MARGIN: Duration = Duration::from_millis(500);

/// The level for "stopping" lines: under the reloader a restart stops the server every
/// time a file changes, and the reloader's own lines already say so.
pub(crate) fn quiet_under_reloader() -> log::Level {
    if super::reloader::is_running_from_reloader() {
        log::Level::Debug
    } else {
        log::Level::Info
    }
}

/// Sends `signal` to the process `pid` (a child this process started).
pub(crate) fn send(pid: u32, signal: Signal) -> io::Result<()> {
    let raw = i32::try_from(pid).map_err(|_| io::ErrorKind::InvalidInput)?;
    let pid = rustix::process::Pid::from_raw(raw).ok_or(io::ErrorKind::InvalidInput)?;
    let signal = match signal {
        Signal::Interrupt => rustix::process::Signal::INT,
        Signal::Terminate => rustix::process::Signal::TERM,
        Signal::Child => rustix::process::Signal::CHILD,
    };
    Ok(rustix::process::kill_process(pid, signal)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    // One test drives the process-wide handlers: two would race for the signals.
    #[test]
    fn signals_wake_the_source_instead_of_killing_the_process() {
        let mut source = SignalSource::new(&[Signal::Interrupt, Signal::Terminate]).unwrap();
        // Nothing pending: the timeout ends the wait.
        assert_eq!(
            source.wait(Some(Duration::from_millis(10))).unwrap(),
            vec![]
        );
        // One signal: a second one sent to the process may be delivered after the first
        // wait has returned, and would then answer the stopper's wait below.
        send(std::process::id(), Signal::Terminate).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while seen.is_empty() && Instant::now() < deadline {
            seen = source.wait(Some(Duration::from_secs(1))).unwrap();
        }
        assert_eq!(seen, vec![Signal::Terminate]);

        // A stopper ends a wait from another thread.
        let stopper = source.stopper();
        let t = thread::spawn(move || stopper.stop());
        assert_eq!(source.wait(None).unwrap(), vec![]);
        assert!(source.is_stopped());
        t.join().unwrap();

        // The server's watcher calls the shutdown closure once, however many signals come.
        let (tx, rx) = std::sync::mpsc::channel();
        let guard = shutdown_on_signal(
            move || {
                let _ = tx.send(());
            },
            Duration::from_secs(60),
        )
        .unwrap();
        send(std::process::id(), Signal::Interrupt).unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        send(std::process::id(), Signal::Interrupt).unwrap();
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(guard);
        drop(source);
        assert_eq!(ACTIVE.load(Ordering::SeqCst), 0);
        let flag = DEFAULT_ON.lock().unwrap().clone().unwrap();
        assert!(flag.load(Ordering::SeqCst), "the default action is back");
    }

    #[test]
    fn raw_signal_numbers_map_to_names() {
        assert_eq!(Signal::from_raw(SIGINT), Some(Signal::Interrupt));
        assert_eq!(Signal::from_raw(SIGTERM).unwrap().name(), "SIGTERM");
        assert!(!Signal::Child.is_stop());
        assert_eq!(Signal::from_raw(signal_hook::consts::SIGHUP), None);
    }
}
