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
//! the calling thread, so the supervisor never starts a thread: it waits for signals and
//! for its children in one `poll` (see `signals::SignalSource`), and `sys::fork` refuses
//! to fork a process that runs other threads. `run_simple` with `processes > 1` must
//! therefore be called before the program starts threads of its own (as in Werkzeug and
//! gunicorn's pre-fork model).

use std::collections::VecDeque;
use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use super::listener::Listener;
use super::signals::{self, Signal, SignalSource};
use super::sys::{self, Forked};

/// More than this many unexpected worker exits within [`CRASH_WINDOW`] stop the whole
/// server instead of forking replacements forever.
pub const MAX_CRASHES: usize = 5;

/// The window [`MAX_CRASHES`] is counted in.
pub const CRASH_WINDOW: Duration = Duration::from_secs(10);

/// Exit status of a worker whose serve function returned an error.
const EXIT_ERROR: i32 = 1;

/// Exit status of a worker whose serve function panicked (as Rust's default).
const EXIT_PANIC: i32 = 101;

/// Forks `count` workers that each call `serve` with their copy of `listener` (it must
/// build a server from it and serve until that server is shut down), then supervises them
/// until they have all exited. Returns `Ok(())` after a SIGINT/SIGTERM (or when every
/// worker stopped cleanly), and an error when workers keep failing.
///
/// The parent's copy of the socket is closed as soon as the workers are told to stop, so
/// the kernel refuses new connections once the workers have closed theirs. A worker stops
/// by closing its copy, never by `shutdown(2)` on it (its siblings share it).
pub(crate) fn run_workers(
    count: usize,
    listener: Listener,
    serve: impl Fn(Listener) -> io::Result<()>,
) -> io::Result<()> {
    let count = count.max(1);
    let mut supervisor = Supervisor {
        listener: Some(listener),
        source: Some(SignalSource::new(&[
            Signal::Interrupt,
            Signal::Terminate,
            Signal::Child,
        ])?),
        workers: Vec::with_capacity(count),
        stopping: false,
    };
    for _ in 0..count {
        match supervisor.fork_worker(&serve) {
            Ok(pid) => supervisor.workers.push(pid),
            Err(e) => {
                supervisor.stop_all();
                supervisor.reap_all_blocking();
                return Err(e);
            }
        }
    }
    log::info!(
        target: "zeug",
        " * Started {count} worker processes (pids {})",
        supervisor.workers.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
    );
    let result = supervisor.supervise(&serve);
    supervisor.listener = None;
    result
}

struct Supervisor {
    /// The parent's copy of the listening socket, kept to fork replacements.
    listener: Option<Listener>,
    /// Always `Some` in the parent; a forked worker drops its inherited copy.
    source: Option<SignalSource>,
    workers: Vec<u32>,
    stopping: bool,
}

impl Supervisor {
    fn supervise(&mut self, serve: &impl Fn(Listener) -> io::Result<()>) -> io::Result<()> {
        let mut crashes = CrashLog::default();
        loop {
            if self.workers.is_empty() {
                return Ok(());
            }
            let source = self.source.as_mut().expect("the parent keeps its source");
            let arrived = source.wait(None)?;
            if let Some(signal) = arrived.iter().find(|s| s.is_stop()) {
                if !self.stopping {
                    log::log!(
                        target: "zeug",
                        signals::quiet_under_reloader(),
                        " * {} received: stopping {} worker processes",
                        signal.name(),
                        self.workers.len()
                    );
                    self.stop_all();
                }
            }
            // SIGCHLD may stand for several children; look until none has ended.
            while let Some((pid, status)) = reap(false)? {
                let Some(pos) = self.workers.iter().position(|p| *p == pid) else {
                    continue; // not one of ours
                };
                self.workers.remove(pos);
                if self.stopping || status == WorkerExit::Code(0) {
                    // Stopping, or the worker's server was shut down from inside; in
                    // neither case is it replaced.
                    continue;
                }
                if crashes.record(Instant::now()) {
                    log::error!(
                        target: "zeug",
                        " * Worker {pid} {status}; {MAX_CRASHES} workers failed within {CRASH_WINDOW:?}, stopping"
                    );
                    self.stop_all();
                    self.reap_all_blocking();
                    return Err(io::Error::other("worker processes keep failing"));
                }
                match self.fork_worker(serve) {
                    Ok(new) => {
                        log::warn!(target: "zeug", " * Worker {pid} {status}; started worker {new}");
                        self.workers.push(new);
                    }
                    Err(e) => {
                        log::error!(target: "zeug", " * Worker {pid} {status}; cannot replace it: {e}");
                    }
                }
            }
        }
    }

    /// Closes the parent's socket and asks every worker to stop.
    fn stop_all(&mut self) {
        self.stopping = true;
        self.listener = None;
        for pid in &self.workers {
            let _ = signals::send(*pid, Signal::Terminate);
        }
    }

    fn reap_all_blocking(&mut self) {
        while !self.workers.is_empty() {
            match reap(true) {
                Ok(Some((pid, _))) => self.workers.retain(|p| *p != pid),
                Ok(None) | Err(_) => return,
            }
        }
    }

    /// Forks one worker. In the child, runs `serve` and exits the process with its outcome;
    /// in the parent, returns the child's pid.
    fn fork_worker(&mut self, serve: &impl Fn(Listener) -> io::Result<()>) -> io::Result<u32> {
        flush_stdio();
        let parent = std::process::id();
        let source = &mut self.source;
        // The child drops the parent's signal source before any signal can reach it:
        // otherwise the child's SIGTERM would wake the parent's poller.
        match sys::fork(|| drop(source.take()))? {
            Forked::Parent(pid) => Ok(pid),
            Forked::Child => {
                stop_with_parent(parent);
                let code = match self.listener.take() {
                    Some(listener) => {
                        match panic::catch_unwind(AssertUnwindSafe(|| serve(listener))) {
                            Ok(Ok(())) => 0,
                            Ok(Err(e)) => {
                                log::error!(target: "zeug", " * Worker {} failed: {e}", std::process::id());
                                EXIT_ERROR
                            }
                            Err(_) => EXIT_PANIC,
                        }
                    }
                    None => EXIT_ERROR,
                };
                flush_stdio();
                std::process::exit(code)
            }
        }
    }
}

/// Makes the kernel send this process SIGTERM when its parent dies (Linux), so workers of
/// a supervisor killed with SIGKILL stop instead of serving on as orphans; exits at once
/// if the parent is already gone.
fn stop_with_parent(parent: u32) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM));
    let current = rustix::process::getppid().map(|p| p.as_raw_pid());
    if current.and_then(|p| u32::try_from(p).ok()) != Some(parent) {
        // The parent died before the death signal was armed.
        std::process::exit(0);
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

/// The next child process that ended: waits for one when `block`, else returns `None` when
/// none has ended yet (or there are no children).
fn reap(block: bool) -> io::Result<Option<(u32, WorkerExit)>> {
    use rustix::process::{WaitOptions, waitpid};
    let options = if block {
        WaitOptions::empty()
    } else {
        WaitOptions::NOHANG
    };
    loop {
        let (pid, status) = match waitpid(None, options) {
            Ok(Some(ended)) => ended,
            Ok(None) => return Ok(None),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::CHILD) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let exit = if let Some(signal) = status.terminating_signal() {
            WorkerExit::Signal(signal)
        } else if let Some(code) = status.exit_status() {
            WorkerExit::Code(code)
        } else {
            continue; // stopped or continued, not ended
        };
        let pid = u32::try_from(pid.as_raw_pid()).expect("process ids are positive");
        return Ok(Some((pid, exit)));
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
