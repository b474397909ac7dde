//! SIGINT and SIGTERM: stop accepting, let in-flight requests finish within a grace
//! period, exit 0.
//!
//! This module owns the process's handlers for those two signals and a watcher thread that
//! turns a signal into a call of an ordinary Rust closure (the server's shutdown handle,
//! or a supervisor forwarding the signal to its children). It does not know how a server
//! drains its connections; it only calls the closure, and as a backstop exits the process
//! when the grace period is over.
//!
//! The handler does the one thing that is safe in a signal handler: it writes the signal
//! number to a socket pair (the "self-pipe" pattern). Everything else runs on the watcher
//! thread. Unix only.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, IntoRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A signal that asks the process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// SIGINT: Ctrl+C in the terminal (sent to the whole foreground process group).
    Interrupt,
    /// SIGTERM: `kill`, a process supervisor, a container runtime.
    Terminate,
}

impl Signal {
    fn from_raw(raw: u8) -> Option<Signal> {
        match i32::from(raw) {
            libc::SIGINT => Some(Signal::Interrupt),
            libc::SIGTERM => Some(Signal::Terminate),
            _ => None,
        }
    }

    /// The signal's name, for log lines.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

type Callback = Arc<dyn Fn(Signal) + Send + Sync>;

/// The write end of the current self-pipe, read by the signal handler; -1 before
/// [`on_signal`] ran.
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

struct Watcher {
    /// The process that started the watcher thread: after a `fork` the thread is gone, so
    /// a child starts its own.
    pid: u32,
    /// Both ends of the self-pipe, kept so a forked child can close its copies.
    read_fd: RawFd,
    write_fd: RawFd,
    callback: Option<Callback>,
    /// Counts `on_signal` calls.
    generation: u64,
}

static WATCHER: Mutex<Option<Watcher>> = Mutex::new(None);

/// While it lives, SIGINT and SIGTERM call a closure instead of killing the process
/// (see [`on_signal`]). Dropping it gives both signals their default action back, so a
/// program whose server has returned can be stopped with Ctrl+C again.
#[must_use = "the signals are handled only while the guard lives"]
pub(crate) struct SignalGuard {
    /// Set to `false` on drop; the grace-period backstop checks it.
    armed: Arc<AtomicBool>,
    /// Which [`on_signal`] call made it: a guard outlived by a newer one leaves the newer
    /// callback in place when dropped.
    generation: u64,
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        self.armed.store(false, Ordering::SeqCst);
        let mut watcher = WATCHER.lock().unwrap_or_else(|e| e.into_inner());
        match watcher.as_mut() {
            Some(w) if w.generation == self.generation => w.callback = None,
            _ => return,
        }
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: restoring the default disposition has no preconditions.
            unsafe {
                libc::signal(signal, libc::SIG_DFL);
            }
        }
    }
}

/// Makes SIGINT and SIGTERM call `callback` (on a watcher thread, once per signal
/// received) instead of killing the process, until the returned guard is dropped. A later
/// call replaces the callback; in a forked child it also starts a watcher of the child's
/// own.
pub(crate) fn on_signal(
    callback: impl Fn(Signal) + Send + Sync + 'static,
) -> io::Result<SignalGuard> {
    let mut guard = WATCHER.lock().unwrap_or_else(|e| e.into_inner());
    let pid = std::process::id();
    if guard.as_ref().map(|w| w.pid) != Some(pid) {
        let (read, write) = UnixStream::pair()?;
        // A full pipe must never block the handler; a dropped byte only loses a repeat.
        write.set_nonblocking(true)?;
        let (read_fd, write_fd) = (read.as_raw_fd(), write.into_raw_fd());
        WRITE_FD.store(write_fd, Ordering::SeqCst);
        if let Some(old) = guard.take() {
            // Forked child: the parent's watcher thread does not exist here, and the
            // handler now writes to the new pipe, so the inherited copies can go.
            close_fd(old.read_fd);
            close_fd(old.write_fd);
        }
        thread::Builder::new()
            .name("zeug-signals".into())
            .spawn(move || watch(read))?;
        *guard = Some(Watcher {
            pid,
            read_fd,
            write_fd,
            callback: None,
            generation: 0,
        });
    }
    // Every time: a dropped guard gave the signals their default action back.
    install_handler(libc::SIGINT)?;
    install_handler(libc::SIGTERM)?;
    let w = guard.as_mut().expect("the watcher was set up above");
    w.callback = Some(Arc::new(callback));
    w.generation += 1;
    Ok(SignalGuard {
        armed: Arc::new(AtomicBool::new(true)),
        generation: w.generation,
    })
}

/// Stops a server gracefully on the first SIGINT/SIGTERM: logs it, calls `shutdown` (which
/// must stop accepting and let in-flight requests finish), and if the server is still
/// running `grace` later (the guard not yet dropped), exits the process with status 0.
/// Repeated signals are logged and ignored, because Ctrl+C under the reloader reaches the
/// child twice (from the terminal and from the parent).
// hook for server core: `run_simple` calls this with the server's shutdown handle and
// keeps the guard until `serve_forever` returns.
pub(crate) fn shutdown_on_signal(
    shutdown: impl Fn() + Send + Sync + 'static,
    grace: Duration,
) -> io::Result<SignalGuard> {
    let started = std::sync::Once::new();
    let armed = Arc::new(AtomicBool::new(true));
    let backstop_armed = armed.clone();
    let mut guard = on_signal(move |signal| {
        let mut first = false;
        started.call_once(|| first = true);
        if !first {
            log::debug!(target: "zeug", " * {} received again; still shutting down", signal.name());
            return;
        }
        log::log!(
            target: "zeug",
            quiet_under_reloader(),
            " * {} received: no longer accepting connections, finishing requests in flight (up to {:?})",
            signal.name(),
            grace
        );
        shutdown();
        // The backstop: a request that outlives the grace period does not keep the process.
        let armed = backstop_armed.clone();
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
    })?;
    guard.armed = armed;
    Ok(guard)
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

/// The watcher thread: reads signal numbers from the self-pipe and calls the current
/// callback for each.
fn watch(mut read: UnixStream) {
    let mut byte = [0u8; 1];
    loop {
        match read.read(&mut byte) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
        let Some(signal) = Signal::from_raw(byte[0]) else {
            continue;
        };
        let callback = WATCHER
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|w| w.callback.clone());
        if let Some(callback) = callback {
            callback(signal);
        }
    }
}

/// The signal handler: writes the signal number to the self-pipe and nothing else.
extern "C" fn handle_signal(signal: libc::c_int) {
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let byte = signal as u8;
    let saved = errno::get();
    // SAFETY: `write(2)` is async-signal-safe; `byte` lives across the call and the length
    // is 1. The fd is the self-pipe's write end, which is never closed while this process
    // can still run the handler on it (see `on_signal`). A failed write (a full pipe) only
    // drops a repeated signal.
    unsafe {
        libc::write(fd, std::ptr::addr_of!(byte).cast(), 1);
    }
    // The interrupted code may be about to read `errno` for its own failed call.
    errno::set(saved);
}

fn install_handler(signal: libc::c_int) -> io::Result<()> {
    // SAFETY: `sigaction` is a plain C struct for which all-zero is a valid value (no
    // flags, empty mask, default handler); the fields we need are set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handle_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // Restart interrupted system calls where the kernel can, so other threads rarely
    // see EINTR.
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `sa_mask` is a valid `sigset_t` owned by `action`; `action` is fully
    // initialised, the old-action pointer may be null, and the handler only does
    // async-signal-safe work.
    let rc = unsafe {
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, std::ptr::null_mut())
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn close_fd(fd: RawFd) {
    // SAFETY: called only with the inherited copies of this module's own pipe ends in a
    // forked child, which nothing else in the child uses.
    unsafe {
        libc::close(fd);
    }
}

/// Sends `signal` to the process `pid` (a child this process started).
pub(crate) fn send(pid: u32, signal: Signal) -> io::Result<()> {
    let raw = match signal {
        Signal::Interrupt => libc::SIGINT,
        Signal::Terminate => libc::SIGTERM,
    };
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: `kill` has no memory-safety preconditions; `pid` is a positive child pid.
    if unsafe { libc::kill(pid, raw) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Saving and restoring `errno` around the handler, for the platforms zeug's signal
/// handling supports.
mod errno {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn location() -> *mut libc::c_int {
        // SAFETY: returns the calling thread's errno slot; no preconditions.
        unsafe { libc::__errno_location() }
    }

    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "dragonfly"
    ))]
    fn location() -> *mut libc::c_int {
        // SAFETY: returns the calling thread's errno slot; no preconditions.
        unsafe { libc::__error() }
    }

    #[cfg(any(target_os = "openbsd", target_os = "netbsd"))]
    fn location() -> *mut libc::c_int {
        // SAFETY: returns the calling thread's errno slot; no preconditions.
        unsafe { libc::__errno() }
    }

    pub(super) fn get() -> libc::c_int {
        // SAFETY: the slot is valid for the current thread's lifetime.
        unsafe { *location() }
    }

    pub(super) fn set(value: libc::c_int) {
        // SAFETY: as in `get`.
        unsafe { *location() = value }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    // One test drives the process-wide handler: two would race for the callback.
    #[test]
    fn signals_reach_the_callback_instead_of_killing_the_process() {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let first = on_signal(move |s| {
            let _ = tx.lock().unwrap().send(s);
        })
        .unwrap();
        send(std::process::id(), Signal::Terminate).unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            Signal::Terminate
        );
        send(std::process::id(), Signal::Interrupt).unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            Signal::Interrupt
        );

        // A new callback replaces the old one.
        let (tx2, rx2) = mpsc::channel();
        let tx2 = Mutex::new(tx2);
        let second = on_signal(move |s| {
            let _ = tx2.lock().unwrap().send(s);
        })
        .unwrap();
        // An older guard dropped later leaves the newer callback in place.
        drop(first);
        send(std::process::id(), Signal::Interrupt).unwrap();
        assert_eq!(
            rx2.recv_timeout(Duration::from_secs(5)).unwrap(),
            Signal::Interrupt
        );
        assert!(rx.try_recv().is_err());

        // The handler keeps errno intact for the code it interrupted.
        errno::set(libc::EAGAIN);
        handle_signal(libc::SIGINT);
        assert_eq!(errno::get(), libc::EAGAIN);
        assert_eq!(
            rx2.recv_timeout(Duration::from_secs(5)).unwrap(),
            Signal::Interrupt
        );

        // Dropping the guard gives the signals their default action back (and Ctrl+C
        // back to the test runner).
        drop(second);
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: reading the current disposition (a null new action changes nothing).
            let current = unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(signal, std::ptr::null(), &mut old);
                old.sa_sigaction
            };
            assert_eq!(current, libc::SIG_DFL);
        }
    }

    #[test]
    fn raw_signal_numbers_map_to_names() {
        assert_eq!(
            Signal::from_raw(libc::SIGINT as u8),
            Some(Signal::Interrupt)
        );
        assert_eq!(
            Signal::from_raw(libc::SIGTERM as u8).unwrap().name(),
            "SIGTERM"
        );
        assert_eq!(Signal::from_raw(libc::SIGHUP as u8), None);
    }
}
