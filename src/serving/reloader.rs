//! The reloader (`use_reloader`): a parent process holds the listening socket and runs the
//! server in a child process, which it restarts when the executable (rebuilt by
//! `cargo build`) or one of `extra_files` changes.
//!
//! This module owns the parent's side (watching files by polling their modification times,
//! Werkzeug's "stat" reloader; starting, stopping and restarting the child) and the
//! child's way to find the inherited socket. It does not bind, serve or print the start-up
//! banner: the server core does, in the parent before the first child starts.
//!
//! The child is the same executable started again with the same arguments, plus two
//! environment variables: [`RUN_MAIN_ENV`] (so it serves instead of reloading) and
//! [`SERVER_FD_ENV`] (the inherited listening socket). Because the parent never closes
//! that socket, clients that connect while one child stops and the next starts wait in
//! the listen backlog instead of being refused.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::Options;
use super::signals::{self, Signal};

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

/// Whether this process is a child started by the reloader.
///
/// # Examples
///
/// ```
/// // A program started from the shell is not.
/// assert!(!zeug::serving::is_running_from_reloader());
/// ```
pub fn is_running_from_reloader() -> bool {
    std::env::var_os(RUN_MAIN_ENV).is_some_and(|v| v == "true")
}

/// In a reloader child, the listening socket inherited from the parent.
// hook for server core: `run_simple` checks this first and builds its server from the fd
// (without printing the banner again) instead of binding.
pub(crate) fn inherited_fd() -> Option<RawFd> {
    if !is_running_from_reloader() {
        return None;
    }
    std::env::var(SERVER_FD_ENV).ok()?.parse().ok()
}

/// Runs the reloader's parent loop until a SIGINT/SIGTERM (then returns `Ok(())` once the
/// child has stopped) or until the child exits with status 0 by itself. `listener_fd` is
/// the bound, listening socket; children inherit it.
///
/// A child that fails (for instance a panic at start-up after an edit) is not restarted
/// until a watched file changes again, so a broken build does not spin.
// hook for server core: `run_simple` calls this after binding and printing the banner,
// when `use_reloader` is on and `inherited_fd()` is `None`. The child's server must stop
// by closing (dropping) its copy of the listening socket, never by `shutdown(2)` on it:
// the socket is shared with this parent, and a shut-down listener refuses connections
// for every process holding it.
pub(crate) fn run_with_reloader(listener_fd: RawFd, options: &Options) -> io::Result<()> {
    set_inheritable(listener_fd)?;
    let exe = std::env::current_exe()?;
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut watched = vec![exe.clone()];
    watched.extend(options.extra_files.iter().cloned());
    let interval = options.reloader_interval.max(Duration::from_millis(10));
    let kill_after = options.shutdown_grace_period + KILL_AFTER_GRACE;

    let stopping = Arc::new(AtomicBool::new(false));
    let child_pid = Arc::new(AtomicU32::new(0));
    let _signals = {
        let (stopping, child_pid) = (stopping.clone(), child_pid.clone());
        signals::on_signal(move |signal| {
            stopping.store(true, Ordering::SeqCst);
            let pid = child_pid.load(Ordering::SeqCst);
            if pid != 0 {
                // Ctrl+C also reached the child (same process group); SIGTERM covers a
                // `kill` of the parent alone. The child treats the repeat as a no-op.
                let _ = signals::send(pid, Signal::Terminate);
            }
            log::debug!(target: "zeug", " * {}: stopping the reloader", signal.name());
        })?
    };

    let spawn = || -> io::Result<Child> {
        log::info!(target: "zeug", " * Restarting with stat");
        let child = spawn_retrying(&exe, &args, listener_fd)?;
        child_pid.store(child.id(), Ordering::SeqCst);
        Ok(child)
    };

    let mut snapshot = Snapshot::take(&watched);
    let mut child = Some(spawn()?);
    loop {
        thread::sleep(interval);
        if stopping.load(Ordering::SeqCst) {
            if let Some(c) = child.as_mut() {
                stop_child(c, kill_after);
            }
            return Ok(());
        }
        if let Some(c) = child.as_mut() {
            if let Some(status) = c.try_wait()? {
                child_pid.store(0, Ordering::SeqCst);
                child = None;
                if stopping.load(Ordering::SeqCst) {
                    return Ok(());
                }
                if status.success() {
                    return Ok(());
                }
                log::error!(
                    target: "zeug",
                    " * The server process {}; waiting for a change to restart it",
                    describe(status)
                );
            }
        }
        let now = Snapshot::take(&watched);
        let Some(changed) = snapshot.first_change(&now) else {
            continue;
        };
        log::info!(
            target: "zeug",
            " * Detected change in {:?}, reloading",
            changed.display().to_string()
        );
        snapshot = settle(&watched, now);
        if let Some(mut c) = child.take() {
            child_pid.store(0, Ordering::SeqCst);
            stop_child(&mut c, kill_after);
        }
        if stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        match spawn() {
            Ok(c) => child = Some(c),
            Err(e) => log::error!(
                target: "zeug",
                " * Could not start {}: {e}; waiting for a change",
                exe.display()
            ),
        }
    }
}

/// Starts the child: the executable with the same arguments and the two variables set.
/// Retries while the executable is being replaced.
fn spawn_retrying(exe: &Path, args: &[OsString], fd: RawFd) -> io::Result<Child> {
    let deadline = Instant::now() + SPAWN_RETRY_FOR;
    let parent = std::process::id();
    loop {
        let mut command = Command::new(exe);
        command
            .args(args)
            .env(RUN_MAIN_ENV, "true")
            .env(SERVER_FD_ENV, fd.to_string());
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: the closure runs between `fork` and `exec` and only makes system
            // calls (`prctl`, `getppid`, `_exit` on failure), which are async-signal-safe;
            // it allocates nothing and takes no locks.
            unsafe {
                command.pre_exec(move || {
                    // A reloader killed with SIGKILL takes its child along instead of
                    // leaving it serving on the port as an orphan.
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    if u32::try_from(libc::getppid()).ok() != Some(parent) {
                        libc::_exit(0);
                    }
                    Ok(())
                });
            }
        }
        let result = command.spawn();
        match result {
            Ok(child) => return Ok(child),
            Err(e)
                if Instant::now() < deadline
                    && (e.kind() == io::ErrorKind::NotFound
                        || e.raw_os_error() == Some(libc::ETXTBSY)
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
            Ok(None) => thread::sleep(Duration::from_millis(10)),
        }
    }
    log::warn!(target: "zeug", " * The server process did not stop in time; killing it");
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits until the watched files stop changing (at most a few settle periods) and returns
/// their final state.
fn settle(watched: &[PathBuf], mut last: Snapshot) -> Snapshot {
    for _ in 0..20 {
        thread::sleep(SETTLE_TIME);
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

/// Clears `FD_CLOEXEC` so the children the reloader starts inherit the socket.
fn set_inheritable(fd: RawFd) -> io::Result<()> {
    // SAFETY: `fcntl` with F_GETFD/F_SETFD only reads and writes the descriptor's flags;
    // an invalid fd is reported as an error, not undefined behaviour.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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
        let settled = settle(&watched, first.clone());
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
    fn sockets_can_be_made_inheritable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        use std::os::fd::AsRawFd;
        let fd = listener.as_raw_fd();
        // SAFETY: reading the flags of an fd we own.
        let before = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        assert_ne!(before & libc::FD_CLOEXEC, 0);
        set_inheritable(fd).unwrap();
        // SAFETY: as above.
        let after = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        assert_eq!(after & libc::FD_CLOEXEC, 0);
        assert!(set_inheritable(-1).is_err());
    }
}
