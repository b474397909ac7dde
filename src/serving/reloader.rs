//! The reloader (`use_reloader`): a parent process holds the listening socket and runs the
//! server in a child process, which it restarts when the executable (rebuilt by
//! `cargo build`) or one of `extra_files` changes.
//!
//! This module owns the parent's side (watching files by polling their modification times,
//! Werkzeug's "stat" reloader; starting, stopping and restarting the child) and the
//! child's way to find the inherited socket. It does not bind or print the start-up
//! banner: the server core does, in the parent before the first child starts.
//!
//! The child is the same executable started again with the same arguments, plus two
//! environment variables: [`RUN_MAIN_ENV`] (so it serves instead of reloading) and
//! [`SERVER_FD_ENV`] (the inherited listening socket). The child reads both once, removes
//! them from its environment and makes the socket close-on-exec again, so programs the
//! application starts inherit neither. While one child stops and the next starts, clients
//! wait in the listen backlog. While no child runs (it failed, and is restarted with a
//! growing delay or on the next change), the parent answers every request itself with 503
//! and `Retry-After`, so nobody waits on a socket that nobody serves. On SIGINT/SIGTERM
//! the parent closes its copy of the socket first, so the stopping child is the last to
//! hold it and answers everything that reached it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::listener::Listener;
use super::signals::{self, Signal, SignalSource};
use super::{Options, Server, ShutdownHandle};
use crate::{Environ, Response};

/// Set to `"true"` in the environment of a child started by the reloader (Werkzeug's
/// `WERKZEUG_RUN_MAIN`).
pub const RUN_MAIN_ENV: &str = "ZEUG_RUN_MAIN";

/// The file descriptor of the listening socket a reloader child inherits (Werkzeug's
/// `WERKZEUG_SERVER_FD`).
pub const SERVER_FD_ENV: &str = "ZEUG_SERVER_FD";

/// The most files one `extra_files` directory contributes; a bigger tree is cut off (with
/// a warning) so a stray `extra_files(["."])` does not make every poll walk a `target/`.
pub const MAX_WATCHED_FILES: usize = 10_000;

/// After a change is seen, the file must look the same for this long before the child is
/// restarted: `cargo build` and editors write files in several steps.
const SETTLE_TIME: Duration = Duration::from_millis(150);

/// How long an exec of the executable is retried while it is still being written
/// (`ETXTBSY`, or missing between cargo's remove and link).
const SPAWN_RETRY_FOR: Duration = Duration::from_secs(5);

/// Extra time, beyond the child's own shutdown grace period, before a child that ignores
/// SIGTERM is killed.
const KILL_AFTER_GRACE: Duration = Duration::from_secs(2);

/// The delay before a failed child is restarted the first time; it doubles with every
/// failure in a row, up to [`MAX_RESTART_DELAY`]. A change of a watched file restarts at
/// once and starts the count again.
pub const MIN_RESTART_DELAY: Duration = Duration::from_millis(500);

/// The longest delay between restarts of a child that keeps failing.
pub const MAX_RESTART_DELAY: Duration = Duration::from_secs(30);

/// What the reloader parent read from its environment, once.
#[derive(Debug)]
struct FromParent {
    run_main: bool,
    fd: Option<RawFd>,
}

fn from_parent() -> &'static FromParent {
    static FROM_PARENT: OnceLock<FromParent> = OnceLock::new();
    FROM_PARENT.get_or_init(|| {
        let run_main = std::env::var_os(RUN_MAIN_ENV).is_some_and(|v| v == "true");
        let fd = std::env::var(SERVER_FD_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|_| run_main);
        FromParent { run_main, fd }
    })
}

/// Whether this process is a child started by the reloader.
///
/// The answer is read from the environment once and kept: the server removes the
/// variables when it takes over the inherited socket, so that programs the application
/// starts do not see them.
///
/// # Examples
///
/// ```
/// // A program started from the shell is not.
/// assert!(!zeug::serving::is_running_from_reloader());
/// ```
pub fn is_running_from_reloader() -> bool {
    from_parent().run_main
}

/// In a reloader child, the number of the listening socket inherited from the parent; only
/// the first call returns it (the socket is then this process's to own). Removes the
/// reloader's variables from the environment where that is sound (no other thread runs
/// yet; see `sys::remove_env_vars`).
pub(crate) fn inherited_fd() -> Option<RawFd> {
    static TAKEN: AtomicBool = AtomicBool::new(false);
    let fd = from_parent().fd?;
    if TAKEN.swap(true, Ordering::SeqCst) {
        return None;
    }
    if !super::sys::remove_env_vars(&[RUN_MAIN_ENV, SERVER_FD_ENV]) {
        log::debug!(
            target: "zeug",
            " * {RUN_MAIN_ENV} and {SERVER_FD_ENV} stay in the environment: other threads run"
        );
    }
    Some(fd)
}

/// Runs the reloader's parent loop until a SIGINT/SIGTERM (then returns `Ok(())` once the
/// child has stopped) or until the child exits with status 0 by itself. `listener` is the
/// bound, listening socket; children inherit it.
///
/// A child that fails (for instance a panic at start-up after an edit) is restarted after
/// a delay that grows with each failure in a row, or at once when a watched file changes;
/// meanwhile the parent answers requests with 503.
pub(crate) fn run_with_reloader(listener: Listener, options: &Options) -> io::Result<()> {
    // Children inherit the socket under its number: clear close-on-exec on the parent's
    // copy. The only programs this parent starts are its children.
    rustix::io::fcntl_setfd(&listener, rustix::io::FdFlags::empty())?;
    let exe = std::env::current_exe()?;
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut watched = vec![exe.clone()];
    watched.extend(options.extra_files.iter().cloned());
    let mut parent = Parent {
        source: SignalSource::new(&[Signal::Interrupt, Signal::Terminate, Signal::Child])?,
        listener: Some(listener),
        exe,
        args,
        options: options.clone(),
        kill_after: options.shutdown_grace_period + KILL_AFTER_GRACE,
        child: None,
        fallback: None,
        failures: 0,
    };
    let result = parent.run(&watched);
    parent.stop_fallback();
    result
}

struct Parent {
    source: SignalSource,
    /// The parent's copy of the socket; closed first on SIGINT/SIGTERM.
    listener: Option<Listener>,
    exe: PathBuf,
    args: Vec<OsString>,
    options: Options,
    kill_after: Duration,
    child: Option<(Child, Instant)>,
    /// The 503 server that runs while no child does.
    fallback: Option<Fallback>,
    /// Child failures in a row (for the restart delay).
    failures: u32,
}

impl Parent {
    fn run(&mut self, watched: &[PathBuf]) -> io::Result<()> {
        let fd = self.listener_fd()?;
        let first = spawn_retrying(&self.exe, &self.args, fd)?;
        self.child = Some((first, Instant::now()));
        let interval = self
            .options
            .reloader_interval
            .max(Duration::from_millis(10));
        let mut snapshot = Snapshot::take(watched);
        let mut next_scan = Instant::now() + interval;
        let mut restart_at: Option<Instant> = None;
        loop {
            let wake_at = restart_at.map_or(next_scan, |r| r.min(next_scan));
            let arrived = self
                .source
                .wait(Some(wake_at.saturating_duration_since(Instant::now())))?;
            if let Some(signal) = arrived.into_iter().find(|s| s.is_stop()) {
                return self.stop(signal);
            }
            if let Some(status) = self.child_exit()? {
                if status.success() {
                    return Ok(());
                }
                self.failures += 1;
                let delay = restart_delay(self.failures);
                log::error!(
                    target: "zeug",
                    " * The server process {}; restarting it in {delay:?} or on the next change",
                    describe(status)
                );
                restart_at = Some(Instant::now() + delay);
                self.start_fallback(format!(
                    "The server process {}. It restarts in {} s or when a watched file changes.",
                    describe(status),
                    delay.as_secs_f64().ceil()
                ));
            }
            let now = Instant::now();
            if now >= next_scan {
                next_scan = now + interval;
                let current = Snapshot::take(watched);
                if let Some(changed) = snapshot.first_change(&current) {
                    log::info!(
                        target: "zeug",
                        " * Detected change in {:?}, reloading",
                        changed.display().to_string()
                    );
                    let mut stop = None;
                    snapshot = settle(watched, current, |pause| {
                        let until = Instant::now() + pause;
                        while stop.is_none() {
                            let left = until.saturating_duration_since(Instant::now());
                            if left.is_zero() {
                                break;
                            }
                            match self.source.wait(Some(left)) {
                                Ok(arrived) => stop = arrived.into_iter().find(|s| s.is_stop()),
                                Err(_) => thread::sleep(left),
                            }
                        }
                        stop.is_some()
                    });
                    if let Some(signal) = stop {
                        return self.stop(signal);
                    }
                    self.failures = 0;
                    if let Some((mut child, _)) = self.child.take() {
                        stop_child(&mut child, self.kill_after);
                    }
                    restart_at = Some(Instant::now());
                }
            }
            if restart_at.is_some_and(|at| Instant::now() >= at) {
                restart_at = None;
                self.stop_fallback();
                match spawn_retrying(&self.exe, &self.args, fd) {
                    Ok(child) => self.child = Some((child, Instant::now())),
                    Err(e) => {
                        log::error!(
                            target: "zeug",
                            " * Could not start {}: {e}; waiting for a change",
                            self.exe.display()
                        );
                        self.start_fallback(format!(
                            "The server could not be started ({e}). It restarts when a watched file changes."
                        ));
                    }
                }
            }
        }
    }

    /// Stops on SIGINT/SIGTERM. The parent lets go of the socket first: the stopping
    /// child is then the last to hold it, and answers everything that reached it.
    fn stop(&mut self, signal: Signal) -> io::Result<()> {
        log::debug!(target: "zeug", " * {}: stopping the reloader", signal.name());
        self.stop_fallback();
        self.listener = None;
        if let Some((mut child, _)) = self.child.take() {
            stop_child(&mut child, self.kill_after);
        }
        Ok(())
    }

    fn listener_fd(&self) -> io::Result<RawFd> {
        use std::os::fd::AsRawFd;
        self.listener
            .as_ref()
            .map(|l| l.as_raw_fd())
            .ok_or_else(|| io::Error::other("the reloader's socket is closed"))
    }

    /// The exit status of the child, once it has ended (reaped).
    fn child_exit(&mut self) -> io::Result<Option<ExitStatus>> {
        let Some((child, started)) = self.child.as_mut() else {
            return Ok(None);
        };
        let Some(status) = child.try_wait()? else {
            return Ok(None);
        };
        if started.elapsed() >= MAX_RESTART_DELAY {
            // It ran for a good while: this failure starts a new count.
            self.failures = 0;
        }
        self.child = None;
        Ok(Some(status))
    }

    fn start_fallback(&mut self, message: String) {
        self.stop_fallback();
        let Some(listener) = self.listener.as_ref() else {
            return;
        };
        match Fallback::start(listener, &self.options, message) {
            Ok(f) => self.fallback = Some(f),
            Err(e) => log::error!(target: "zeug", " * Cannot answer while the server is down: {e}"),
        }
    }

    fn stop_fallback(&mut self) {
        if let Some(fallback) = self.fallback.take() {
            fallback.stop();
        }
    }
}

/// The delay before restarting a child after `failures` failures in a row.
fn restart_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (MIN_RESTART_DELAY * 2u32.pow(doublings)).min(MAX_RESTART_DELAY)
}

/// A server in the parent, on a copy of the socket, that answers 503 while no child runs.
struct Fallback {
    handle: ShutdownHandle,
    thread: thread::JoinHandle<io::Result<()>>,
}

impl Fallback {
    fn start(listener: &Listener, options: &Options, message: String) -> io::Result<Fallback> {
        let mut options = options.clone();
        options.threaded = false;
        options.use_reloader = false;
        options.processes = 1;
        let retry_after = MIN_RESTART_DELAY.as_secs().max(1);
        let app = move |_: Environ| {
            Response::new(format!("{message}\n"))
                .with_status(503)
                .with_header("Retry-After", retry_after)
                .with_header("Connection", "close")
        };
        let server = Server::from_listener(listener.try_clone()?, Arc::new(app), options)?;
        let handle = server.shutdown_handle();
        let thread = thread::Builder::new()
            .name("zeug-reloader-503".into())
            .spawn(move || server.serve_forever())?;
        Ok(Fallback { handle, thread })
    }

    fn stop(self) {
        self.handle.shutdown();
        match self.thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => log::error!(target: "zeug", " * The 503 server failed: {e}"),
            Err(_) => log::error!(target: "zeug", " * The 503 server panicked"),
        }
    }
}

/// Starts the child: the executable with the same arguments and the two variables set.
/// Retries while the executable is being replaced.
fn spawn_retrying(exe: &Path, args: &[OsString], fd: RawFd) -> io::Result<Child> {
    log::info!(target: "zeug", " * Restarting with stat");
    let deadline = Instant::now() + SPAWN_RETRY_FOR;
    loop {
        let mut command = Command::new(exe);
        command
            .args(args)
            .env(RUN_MAIN_ENV, "true")
            .env(SERVER_FD_ENV, fd.to_string());
        super::sys::stop_child_with_parent(&mut command);
        match command.spawn() {
            Ok(child) => return Ok(child),
            Err(e)
                if Instant::now() < deadline
                    && (e.kind() == io::ErrorKind::NotFound
                        || e.raw_os_error() == Some(rustix::io::Errno::TXTBSY.raw_os_error())
                        || e.kind() == io::ErrorKind::PermissionDenied) =>
            {
                thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Asks the child to stop (SIGTERM: it stops accepting and finishes requests in flight)
/// and waits; kills it if it is still running `kill_after` later.
fn stop_child(child: &mut Child, kill_after: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = signals::send(child.id(), Signal::Terminate);
    let deadline = Instant::now() + kill_after;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) => thread::sleep(Duration::from_millis(5)),
        }
    }
    log::warn!(target: "zeug", " * The server process did not stop in time; killing it");
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits until the watched files stop changing (at most a few settle periods) and returns
/// their final state.
/// `pause` waits [`SETTLE_TIME`] and says whether to give up (a stop was asked for).
fn settle(
    watched: &[PathBuf],
    mut last: Snapshot,
    mut pause: impl FnMut(Duration) -> bool,
) -> Snapshot {
    for _ in 0..20 {
        if pause(SETTLE_TIME) {
            return last;
        }
        let now = Snapshot::take(watched);
        let exe_present = now.present(&watched[0]);
        if now == last && exe_present {
            return now;
        }
        last = now;
    }
    last
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "stopped".to_owned(),
    }
}

/// The modification time and length of each watched file; directories in the watch list
/// stand for the files below them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Snapshot {
    files: BTreeMap<PathBuf, Option<(SystemTime, u64)>>,
}

impl Snapshot {
    fn take(watched: &[PathBuf]) -> Snapshot {
        let mut files = BTreeMap::new();
        for path in watched {
            match fs::metadata(path) {
                Ok(meta) if meta.is_dir() => {
                    let mut count = 0;
                    walk(path, &mut files, &mut count);
                }
                Ok(meta) => {
                    files.insert(path.clone(), Some(stamp(&meta)));
                }
                // A missing file is watched too: it changes when it appears.
                Err(_) => {
                    files.insert(path.clone(), None);
                }
            }
        }
        Snapshot { files }
    }

    fn present(&self, path: &Path) -> bool {
        matches!(self.files.get(path), Some(Some(_)))
    }

    /// The first file that is new, gone or different in `now`.
    fn first_change(&self, now: &Snapshot) -> Option<PathBuf> {
        now.files
            .iter()
            .find(|(path, stamp)| self.files.get(*path) != Some(*stamp))
            .map(|(path, _)| path)
            .or_else(|| self.files.keys().find(|p| !now.files.contains_key(*p)))
            .cloned()
    }
}

fn stamp(meta: &fs::Metadata) -> (SystemTime, u64) {
    (
        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        meta.len(),
    )
}

/// Adds the files below `dir` (skipping hidden entries and `target`), up to
/// [`MAX_WATCHED_FILES`].
fn walk(dir: &Path, files: &mut BTreeMap<PathBuf, Option<(SystemTime, u64)>>, count: &mut usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if meta.is_dir() {
            walk(&entry.path(), files, count);
        } else {
            if *count >= MAX_WATCHED_FILES {
                if *count == MAX_WATCHED_FILES {
                    log::warn!(
                        target: "zeug",
                        " * More than {MAX_WATCHED_FILES} files under {}; watching only the first",
                        dir.display()
                    );
                    *count += 1;
                }
                return;
            }
            *count += 1;
            files.insert(entry.path(), Some(stamp(&meta)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, contents: &str) {
        fs::write(path, contents).unwrap();
    }

    #[test]
    fn changes_are_seen_for_files_directories_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        let tree = dir.path().join("templates");
        let missing = dir.path().join("later.txt");
        touch(&file, "a");
        fs::create_dir_all(tree.join("partials")).unwrap();
        touch(&tree.join("index.html"), "<p>");
        touch(&tree.join("partials/nav.html"), "<nav>");
        touch(&tree.join(".swp"), "ignored");
        let watched = vec![file.clone(), tree.clone(), missing.clone()];

        let before = Snapshot::take(&watched);
        assert_eq!(before.files.len(), 4, "{before:?}");
        assert_eq!(before.first_change(&Snapshot::take(&watched)), None);

        // A longer write is a change even within the same mtime tick.
        touch(&file, "ab");
        let after = Snapshot::take(&watched);
        assert_eq!(before.first_change(&after), Some(file.clone()));

        let nested = tree.join("partials/nav.html");
        touch(&nested, "<nav></nav>");
        let after2 = Snapshot::take(&watched);
        assert_eq!(after.first_change(&after2), Some(nested.clone()));

        touch(&missing, "now here");
        let after3 = Snapshot::take(&watched);
        assert_eq!(after2.first_change(&after3), Some(missing.clone()));

        // Hidden files are not watched.
        touch(&tree.join(".swp"), "still ignored, longer");
        assert_eq!(after3.first_change(&Snapshot::take(&watched)), None);

        fs::remove_file(tree.join("index.html")).unwrap();
        assert_eq!(
            after3.first_change(&Snapshot::take(&watched)),
            Some(tree.join("index.html"))
        );
    }

    #[test]
    fn settle_returns_the_final_state() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("exe");
        touch(&file, "v1");
        let watched = vec![file.clone()];
        let first = Snapshot::take(&watched);
        touch(&file, "v2 longer");
        let settled = settle(&watched, first.clone(), |d| {
            thread::sleep(d);
            false
        });
        assert!(first.first_change(&settled).is_some());
        assert_eq!(settled, Snapshot::take(&watched));
    }

    #[test]
    fn children_are_recognised_by_their_environment() {
        // The test process itself was not started by a reloader.
        assert!(!is_running_from_reloader());
        assert_eq!(inherited_fd(), None);
    }

    #[test]
    fn restarts_back_off_up_to_a_limit() {
        assert_eq!(restart_delay(1), MIN_RESTART_DELAY);
        assert_eq!(restart_delay(2), MIN_RESTART_DELAY * 2);
        assert_eq!(restart_delay(4), MIN_RESTART_DELAY * 8);
        assert_eq!(restart_delay(40), MAX_RESTART_DELAY);
        assert_eq!(restart_delay(u32::MAX), MAX_RESTART_DELAY);
    }
}
