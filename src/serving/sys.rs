//! The server's operating-system calls whose soundness the compiler cannot check: the one
//! module of zeug allowed to use `unsafe`.
//!
//! Everything else reaches the OS through safe wrappers of well-kept crates (`rustix` for
//! descriptors, sockets, processes and `sendfile`; `signal-hook` for signals; `socket2` and
//! `mio` for networking). What is left here are the few calls no safe wrapper can offer,
//! because their safety depends on facts about the whole process: taking ownership of a
//! descriptor named by a number in the environment, changing the environment, and
//! `fork`. Each `unsafe` block states the argument that makes it sound.

use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};

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
