//! The server's operating-system calls whose soundness the compiler cannot check: the one
//! module of zeug allowed to use `unsafe`.
//!
//! Everything else reaches the OS through safe wrappers of well-kept crates (`rustix` for
//! descriptors, sockets, processes and `sendfile`; `signal-hook` for signals; `socket2` and
//! `mio` for networking). What is left here are the few calls no safe wrapper can offer,
//! because their safety depends on facts about the whole process: taking ownership of a
//! descriptor named by a number in the environment, changing the environment, and
//! `fork`. Each `unsafe` block states the argument that makes it sound.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::process::Command;

use rustix::io::FdFlags;

/// Takes ownership of the listening socket numbered `fd` that a parent process passed down
/// (see `reloader.rs`), after checking that it is an open stream socket in the listening
/// state. On any failed check the descriptor is left open and untouched: it may belong to
/// something else in this process. The adopted socket is marked close-on-exec again, so
/// programs the application starts do not inherit it.
pub(crate) fn adopt_listener(fd: RawFd) -> io::Result<OwnedFd> {
    let not_ours = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("inherited file descriptor {fd} {why}; not adopting it"),
        )
    };
    if fd < 0 {
        return Err(not_ours("is negative"));
    }
    // SAFETY: `fcntl(F_GETFD)` takes a plain number and no memory; for a number that is
    // not an open descriptor it fails with EBADF. It changes nothing.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(not_ours("is not open"));
    }
    // SAFETY: `fd` was open just above, and this borrow only lives for the read-only
    // checks below, which never close it. Should another part of the program own the
    // number and close it meanwhile, those reads fail or inspect whatever now has the
    // number; either way nothing is adopted unless it is a listening stream socket.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let kind =
        rustix::net::sockopt::socket_type(borrowed).map_err(|_| not_ours("is not a socket"))?;
    if kind != rustix::net::SocketType::STREAM {
        return Err(not_ours("is not a stream socket"));
    }
    #[cfg(not(any(target_os = "macos", target_os = "ios")))]
    if !rustix::net::sockopt::socket_acceptconn(borrowed).unwrap_or(false) {
        return Err(not_ours("is not a listening socket"));
    }
    // SAFETY: `fd` is an open, listening stream socket (checked above) whose number this
    // process's parent handed to it, through the environment, as the socket to serve. The
    // reloader module reads that number once and removes it from the environment, so it is
    // adopted at most once, and nothing else in zeug refers to it by number.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    rustix::io::fcntl_setfd(&owned, FdFlags::CLOEXEC)?;
    Ok(owned)
}

/// How many threads this process runs, where the OS tells (Linux: `/proc/self/task`).
pub(crate) fn thread_count() -> Option<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        std::fs::read_dir("/proc/self/task")
            .ok()
            .map(|entries| entries.count())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        None
    }
}

/// Whether this process is known to run only the calling thread.
fn single_threaded() -> bool {
    thread_count() == Some(1)
}

/// Removes `names` from the environment when that is sound: only while this process runs
/// a single thread. Returns whether they were removed.
pub(crate) fn remove_env_vars(names: &[&str]) -> bool {
    if !single_threaded() {
        return false;
    }
    for name in names {
        // SAFETY: `remove_var` is unsafe because another thread could be reading the
        // environment at the same time (through libc's `getenv`, which takes no lock).
        // This process runs one thread, the caller's (checked just above, and a thread
        // cannot appear in between: only this thread could start one).
        unsafe { std::env::remove_var(OsStr::new(name)) };
    }
    true
}

/// One side of a [`fork`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forked {
    /// The parent, with the child's process id.
    Parent(u32),
    /// The new process.
    Child,
}

/// Forks this process, which must run no other thread (checked where the OS tells). In the
/// child, `in_child` runs before any signal can be handled (all are blocked around the
/// fork), so it can first drop what it inherited of the parent's signal handling; pending
/// signals are handled after it returns.
pub(crate) fn fork(in_child: impl FnOnce()) -> io::Result<Forked> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if !single_threaded() {
        return Err(io::Error::other(format!(
            "cannot fork worker processes from a process running {} threads; \
             start the server with `processes` before starting other threads",
            thread_count().map_or_else(|| "several".to_owned(), |n| n.to_string())
        )));
    }
    let blocked = block_all_signals()?;
    // SAFETY: `fork` is sound when no other thread exists: the child is a copy of this
    // single thread, with no lock held and no data half-written by another thread, and
    // it may go on running ordinary Rust code. On Linux that is checked just above; where
    // the OS does not tell, it is the documented precondition of `processes > 1` (the
    // server forks its workers before it starts any thread of its own, and replacement
    // workers are forked by a supervisor that starts none).
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => {
            let err = io::Error::last_os_error();
            restore_signals(&blocked);
            Err(err)
        }
        0 => {
            in_child();
            restore_signals(&blocked);
            Ok(Forked::Child)
        }
        pid => {
            restore_signals(&blocked);
            Ok(Forked::Parent(
                u32::try_from(pid).expect("fork returns a positive pid to the parent"),
            ))
        }
    }
}

/// Blocks every signal for the calling thread; returns the mask to restore.
fn block_all_signals() -> io::Result<libc::sigset_t> {
    // SAFETY: `sigset_t` is a plain C bit set for which all-zero is a valid (empty) value;
    // `sigfillset` and `pthread_sigmask` only write through pointers to these two locals,
    // which outlive the calls.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(old)
    }
}

fn restore_signals(mask: &libc::sigset_t) {
    // SAFETY: `mask` is a valid signal set (filled in by `pthread_sigmask`); the old-mask
    // pointer may be null.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, mask, std::ptr::null_mut());
    }
}

/// Makes the process `command` starts receive SIGTERM when this one dies (Linux), so a
/// reloader killed with SIGKILL takes its child along instead of leaving it serving as an
/// orphan; the child exits at once if this process is already gone when it starts.
pub(crate) fn stop_child_with_parent(command: &mut Command) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::unix::process::CommandExt;
        let parent = rustix::process::getpid();
        // SAFETY: the closure runs in the child between `fork` and `exec`, where only
        // async-signal-safe calls are allowed: it makes three plain system calls (`prctl`
        // and `getppid` through rustix, which neither allocates nor locks, and `_exit`),
        // and touches no memory but its captured `Pid`.
        unsafe {
            command.pre_exec(move || {
                rustix::process::set_parent_process_death_signal(Some(
                    rustix::process::Signal::TERM,
                ))?;
                if rustix::process::getppid() != Some(parent) {
                    libc::_exit(0);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = command;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsFd, AsRawFd, IntoRawFd};

    fn is_open(fd: RawFd) -> bool {
        // SAFETY: as in `adopt_listener`: a read of a number's flags, no memory involved.
        unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
    }

    #[test]
    fn a_listening_socket_is_adopted_with_close_on_exec_restored() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        rustix::io::fcntl_setfd(listener.as_fd(), FdFlags::empty()).unwrap();
        let addr = listener.local_addr().unwrap();
        let fd = listener.into_raw_fd();
        let owned = adopt_listener(fd).unwrap();
        assert!(
            rustix::io::fcntl_getfd(&owned)
                .unwrap()
                .contains(FdFlags::CLOEXEC)
        );
        let adopted = std::net::TcpListener::from(owned);
        assert_eq!(adopted.local_addr().unwrap(), addr);
    }

    #[test]
    fn anything_else_is_refused_and_left_open() {
        let file = tempfile::tempfile().unwrap();
        let err = adopt_listener(file.as_raw_fd()).unwrap_err();
        assert!(err.to_string().contains("not a socket"), "{err}");
        assert!(is_open(file.as_raw_fd()));

        let connected = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(connected.local_addr().unwrap()).unwrap();
        let err = adopt_listener(stream.as_raw_fd()).unwrap_err();
        assert!(err.to_string().contains("not a listening socket"), "{err}");
        assert!(is_open(stream.as_raw_fd()));

        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let err = adopt_listener(udp.as_raw_fd()).unwrap_err();
        assert!(err.to_string().contains("not a stream socket"), "{err}");
        assert!(is_open(udp.as_raw_fd()));

        assert!(adopt_listener(-1).is_err());
        // A number far above any open descriptor.
        assert!(
            adopt_listener(1 << 20)
                .unwrap_err()
                .to_string()
                .contains("not open")
        );
    }
}
