//! Worker processes (`processes = N`, Unix): N copies of the server in forked processes,
//! all accepting from the one listening socket bound before the fork.
//!
//! This module owns forking, supervising (a worker that dies unexpectedly is replaced,
//! within a limit) and stopping the workers: SIGINT/SIGTERM to the parent is passed on as
//! SIGTERM, each worker drains its requests in flight, and the parent returns once all
//! have exited. It does not serve: each worker runs the closure the server core gives it.
//!
//! Workers are forked after the socket is bound, so they share it without any file
//! descriptor passing and start with the application already built. Forking copies only
//! the calling thread, so `run_simple` with `processes > 1` must be called before the
//! program starts threads of its own (as in Werkzeug and gunicorn's pre-fork model).

use std::collections::VecDeque;
use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::signals::{self, Signal};

/// More than this many unexpected worker exits within [`CRASH_WINDOW`] stop the whole
/// server instead of forking replacements forever.
pub const MAX_CRASHES: usize = 5;

/// The window [`MAX_CRASHES`] is counted in.
pub const CRASH_WINDOW: Duration = Duration::from_secs(10);

/// Exit status of a worker whose serve function returned an error.
const EXIT_ERROR: i32 = 1;

/// Exit status of a worker whose serve function panicked (as Rust's default).
const EXIT_PANIC: i32 = 101;

/// Forks `count` workers that each call `serve` (which must build a server from the
/// already-bound socket and serve until it is shut down), then supervises them until they
/// have all exited. Returns `Ok(())` after a SIGINT/SIGTERM (or when every worker stopped
/// cleanly), and an error when workers keep failing.
// hook for server core: `run_simple` calls this when `processes > 1`; `serve` builds the
// worker's server with `Server::from_listener` (so each worker makes its own epoll
// instance after the fork), installs `signals::shutdown_on_signal` and calls
// `serve_forever`. As with the reloader, a worker stops by closing its copy of the
// listening socket, never by `shutdown(2)` on it (its siblings share it).
///
/// `stop_listening` closes the parent's copy of the listening socket; it is called once the
/// workers are told to stop (and before returning), so that the kernel refuses new
/// connections as soon as the workers have closed theirs.
pub(crate) fn run_workers(
    count: usize,
    serve: impl Fn() -> io::Result<()>,
    stop_listening: impl Fn() + Send + Sync + 'static,
) -> io::Result<()> {
    let stop_listening = Arc::new(stop_listening);
    let result = supervise(count, &serve, &stop_listening);
    stop_listening();
    result
}

fn supervise(
    count: usize,
    serve: &impl Fn() -> io::Result<()>,
    stop_listening: &Arc<impl Fn() + Send + Sync + 'static>,
) -> io::Result<()> {
    let count = count.max(1);
    // Workers are forked before the parent's signal watcher starts, so none of them
    // inherits it; see `signals::on_signal` for the fork-safe restart case.
    let mut workers = Vec::with_capacity(count);
    for _ in 0..count {
        workers.push(fork_worker(serve)?);
    }
    log::info!(
        target: "zeug",
        " * Started {count} worker processes (pids {})",
        workers.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
    );
    let pids = Arc::new(Mutex::new(workers));
    let stopping = Arc::new(AtomicBool::new(false));
    let _signals = {
        let (pids, stopping) = (pids.clone(), stopping.clone());
        let stop_listening = Arc::clone(stop_listening);
        signals::on_signal(move |signal| {
            if stopping.swap(true, Ordering::SeqCst) {
                return;
            }
            stop_listening();
            log::log!(
                target: "zeug",
                signals::quiet_under_reloader(),
                " * {} received: stopping {} worker processes",
                signal.name(),
                pids.lock().map(|p| p.len()).unwrap_or(0)
            );
            for pid in pids.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                let _ = signals::send(*pid, Signal::Terminate);
            }
        })?
    };

    let mut crashes = CrashLog::default();
    loop {
        if pids.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            return Ok(());
        }
        let (pid, status) = wait_any()?;
        let mut live = pids.lock().unwrap_or_else(|e| e.into_inner());
        let Some(pos) = live.iter().position(|p| *p == pid) else {
            continue; // not one of ours
        };
        live.remove(pos);
        if stopping.load(Ordering::SeqCst) {
            continue;
        }
        if status == WorkerExit::Code(0) {
            // The worker's server was shut down from inside; do not replace it.
            continue;
        }
        if crashes.record(Instant::now()) {
            log::error!(
                target: "zeug",
                " * Worker {pid} {status}; {MAX_CRASHES} workers failed within {CRASH_WINDOW:?}, stopping"
            );
            stopping.store(true, Ordering::SeqCst);
            stop_listening();
            for other in live.iter() {
                let _ = signals::send(*other, Signal::Terminate);
            }
            drop(live);
            while !pids.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
                let (pid, _) = wait_any()?;
                pids.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .retain(|p| *p != pid);
            }
            return Err(io::Error::other("worker processes keep failing"));
        }
        // Fork with the lock released: the child must not start with it held.
        drop(live);
        let new = fork_worker(serve)?;
        log::warn!(target: "zeug", " * Worker {pid} {status}; started worker {new}");
        pids.lock().unwrap_or_else(|e| e.into_inner()).push(new);
        if stopping.load(Ordering::SeqCst) {
            // A signal came in while forking: the new worker missed the broadcast.
            let _ = signals::send(new, Signal::Terminate);
        }
    }
}

/// Forks one worker. In the child, runs `serve` and exits the process with its outcome; in
/// the parent, returns the child's pid.
fn fork_worker(serve: &impl Fn() -> io::Result<()>) -> io::Result<u32> {
    flush_stdio();
    let parent = std::process::id();
    // SAFETY: after `fork` the child has only this thread. It goes on to run the server,
    // which starts fresh threads and never returns here: it leaves by `process::exit`.
    // Locks other parent threads held at the fork stay held in the child, which is why
    // workers must be started before the program starts threads (see the module docs).
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            stop_with_parent(parent);
            let code = match panic::catch_unwind(AssertUnwindSafe(serve)) {
                Ok(Ok(())) => 0,
                Ok(Err(e)) => {
                    log::error!(target: "zeug", " * Worker {} failed: {e}", std::process::id());
                    EXIT_ERROR
                }
                Err(_) => EXIT_PANIC,
            };
            flush_stdio();
            std::process::exit(code)
        }
        pid => Ok(u32::try_from(pid).expect("fork returns a positive pid to the parent")),
    }
}

/// Makes the kernel send this process SIGTERM when its parent dies (Linux), so workers of
/// a supervisor killed with SIGKILL stop instead of serving on as orphans; exits at once
/// if the parent is already gone.
pub(crate) fn stop_with_parent(parent: u32) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: PR_SET_PDEATHSIG takes a signal number and no pointers. It only affects
        // this process, and is async-signal-safe (a plain system call), so it is also
        // fine between `fork` and `exec`.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
        }
    }
    // SAFETY: `getppid` has no preconditions.
    let current_parent = unsafe { libc::getppid() };
    if u32::try_from(current_parent).ok() != Some(parent) {
        // The parent died before the death signal was armed. `_exit`: nothing of the
        // parent's (buffers, atexit handlers) is this process's to run.
        // SAFETY: `_exit` has no preconditions.
        unsafe { libc::_exit(0) };
    }
}

fn flush_stdio() {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
}

/// How a worker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WorkerExit {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for WorkerExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkerExit::Code(c) => write!(f, "exited with status {c}"),
            WorkerExit::Signal(s) => write!(f, "was killed by signal {s}"),
        }
    }
}

/// Waits for any child process to end.
fn wait_any() -> io::Result<(u32, WorkerExit)> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `status` is a valid out-pointer for the call; -1 waits for any child.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        let exit = if libc::WIFSIGNALED(status) {
            WorkerExit::Signal(libc::WTERMSIG(status))
        } else if libc::WIFEXITED(status) {
            WorkerExit::Code(libc::WEXITSTATUS(status))
        } else {
            continue; // stopped or continued, not ended
        };
        return Ok((pid as u32, exit));
    }
}

/// Unexpected worker exits in the last [`CRASH_WINDOW`].
#[derive(Debug, Default)]
struct CrashLog {
    times: VecDeque<Instant>,
}

impl CrashLog {
    /// Records a crash at `now`; `true` when that makes too many.
    fn record(&mut self, now: Instant) -> bool {
        while self
            .times
            .front()
            .is_some_and(|t| now.duration_since(*t) > CRASH_WINDOW)
        {
            self.times.pop_front();
        }
        self.times.push_back(now);
        self.times.len() >= MAX_CRASHES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_crashes_in_the_window_stop_the_server() {
        let mut log = CrashLog::default();
        let start = Instant::now();
        for i in 0..MAX_CRASHES - 1 {
            assert!(!log.record(start + Duration::from_secs(i as u64)));
        }
        assert!(log.record(start + Duration::from_secs(MAX_CRASHES as u64)));
    }

    #[test]
    fn crashes_spread_out_are_tolerated() {
        let mut log = CrashLog::default();
        let start = Instant::now();
        for i in 0..50u64 {
            assert!(!log.record(start + CRASH_WINDOW / 2 * i as u32 + Duration::from_secs(i)));
        }
    }

    #[test]
    fn exits_are_described_for_the_log() {
        assert_eq!(WorkerExit::Code(3).to_string(), "exited with status 3");
        assert_eq!(WorkerExit::Signal(9).to_string(), "was killed by signal 9");
    }
}
