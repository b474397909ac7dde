//! The listening socket: binding what `run_simple` is given (an IP address, a name or a
//! Unix socket path), and adopting one inherited from a parent process (the reloader's).
//!
//! This module owns the socket until a [`Server`](super::Server) takes it; it does not
//! accept or serve. Checking an inherited file descriptor before it is taken over is the
//! job of `sys.rs`.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use super::Options;

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

    /// Takes over the listening socket a parent process passed down by number (the
    /// reloader's [`SERVER_FD_ENV`](super::SERVER_FD_ENV)): only once it is checked to be an
    /// open, listening stream socket. Anything else is an error and the descriptor is left
    /// alone (not closed: it is not ours).
    #[cfg(unix)]
    pub(crate) fn inherited(fd: std::os::fd::RawFd) -> io::Result<Listener> {
        Listener::from_owned(super::sys::adopt_listener(fd)?)
    }

    /// Wraps a socket this process owns, which must be a listening stream socket.
    #[cfg(unix)]
    pub(crate) fn from_owned(fd: std::os::fd::OwnedFd) -> io::Result<Listener> {
        let socket = socket2::Socket::from(fd);
        let local = socket.local_addr()?;
        if local.as_socket().is_some() {
            Ok(Listener::Tcp(socket.into()))
        } else {
            let path = local
                .as_pathname()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            Ok(Listener::Unix(
                std::os::fd::OwnedFd::from(socket).into(),
                path,
            ))
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
impl std::os::fd::AsFd for Listener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Listener::Tcp(l) => l.as_fd(),
            Listener::Unix(l, _) => l.as_fd(),
        }
    }
}

#[cfg(unix)]
impl From<Listener> for std::os::fd::OwnedFd {
    fn from(listener: Listener) -> std::os::fd::OwnedFd {
        match listener {
            Listener::Tcp(l) => l.into(),
            Listener::Unix(l, _) => l.into(),
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
