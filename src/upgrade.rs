//! Connection upgrades (`101 Switching Protocols`): a response whose body is a function that
//! takes the connection over once the server has written the response head.
//!
//! This module owns [`Upgrade`] (that function, carried as [`Body::Upgrade`]), [`Upgraded`]
//! (the connection it is handed: a blocking, duplex byte stream with timeouts) and the
//! in-memory duplex the test client hands over instead of a socket. It speaks no protocol
//! on the connection: WebSockets are in `crate::websocket` (feature `websocket`), on
//! `tungstenite`. How the development server hands a connection over (its own thread,
//! counted against `max_threads`) is in `serving/upgrade.rs`.
//!
//! # Examples
//!
//! An echo "protocol" spoken after the upgrade, driven by the test client's in-memory
//! connection:
//!
//! ```
//! use std::io::{Read, Write};
//! use zeug::upgrade::{Upgrade, Upgraded};
//! use zeug::{Environ, Response};
//!
//! fn app(_: Environ) -> Response {
//!     Upgrade::new(|mut conn: Upgraded| {
//!         let mut buf = [0u8; 5];
//!         conn.read_exact(&mut buf).unwrap();
//!         conn.write_all(&buf).unwrap();
//!     })
//!     .into_response("echo")
//! }
//!
//! let res = app(zeug::test::EnvironBuilder::new("GET", "/").build());
//! assert_eq!(res.status(), 101);
//! assert_eq!(res.headers()["upgrade"], "echo");
//! let zeug::Body::Upgrade(upgrade) = res.into_body() else { unreachable!() };
//! let (server, mut client) = Upgraded::pair();
//! let handler = std::thread::spawn(move || upgrade.run(server));
//! client.write_all(b"hello").unwrap();
//! let mut back = [0u8; 5];
//! client.read_exact(&mut back).unwrap();
//! assert_eq!(&back, b"hello");
//! handler.join().unwrap();
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use http::header::{CONNECTION, HeaderValue, UPGRADE};
use http::{HeaderMap, StatusCode};

use crate::{Body, Response};

/// Bytes one direction of an in-memory connection holds before a writer waits: about what
/// a loopback socket buffers, so tests see the same back-pressure.
pub const MEMORY_PIPE_CAPACITY: usize = 256 * 1024;

/// How long one read waits on a connection whose reads and writes share a lock (TLS):
/// the longest a write from another handle waits for a read that has nothing to read.
#[cfg(feature = "tls")]
const SHARED_READ_SLICE: Duration = Duration::from_millis(50);

/// The function that takes a connection over after a `101 Switching Protocols` response.
///
/// A view returns it (as the body of [`into_response`](Self::into_response)); the server
/// writes the head, then calls it with the connection, on a thread of its own.
///
/// # Examples
///
/// ```
/// use zeug::upgrade::Upgrade;
///
/// let res = Upgrade::new(|_conn| {}).into_response("my-protocol");
/// assert_eq!(res.status(), 101);
/// assert_eq!(res.headers()["connection"], "upgrade");
/// ```
pub struct Upgrade {
    handler: Box<dyn FnOnce(Upgraded) + Send + 'static>,
}

impl Upgrade {
    /// Wraps the function that speaks the new protocol on the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// let upgrade = zeug::upgrade::Upgrade::new(|conn| drop(conn));
    /// ```
    pub fn new(handler: impl FnOnce(Upgraded) + Send + 'static) -> Self {
        Upgrade {
            handler: Box::new(handler),
        }
    }

    /// Hands `conn` to the function: what a server does after writing the `101` head.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::upgrade::{Upgrade, Upgraded};
    ///
    /// let (server, _client) = Upgraded::pair();
    /// Upgrade::new(|conn| drop(conn)).run(server);
    /// ```
    pub fn run(self, conn: Upgraded) {
        (self.handler)(conn)
    }

    /// A `101 Switching Protocols` response to `protocol` (`Upgrade: protocol`,
    /// `Connection: upgrade`) carrying this function as its body.
    ///
    /// # Examples
    ///
    /// ```
    /// let res = zeug::upgrade::Upgrade::new(|_| {}).into_response("websocket");
    /// assert_eq!(res.headers()["upgrade"], "websocket");
    /// ```
    ///
    /// # Panics
    ///
    /// When `protocol` is not a valid header value (a programmer's constant, never request
    /// data).
    pub fn into_response(self, protocol: &str) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(
            UPGRADE,
            HeaderValue::from_str(protocol).expect("the protocol is a valid header value"),
        );
        Response::from_parts(
            StatusCode::SWITCHING_PROTOCOLS,
            headers,
            Body::Upgrade(self),
        )
    }
}

impl fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Upgrade(..)")
    }
}

/// A connection handed over after a `101` response: blocking reads and writes, with
/// timeouts, in both directions.
///
/// Bytes the client sent right after its request head (which the server had read already)
/// come first. [`try_clone`](Self::try_clone) gives a second handle, so one thread can read
/// while another writes. Reads that time out fail with [`io::ErrorKind::WouldBlock`] or
/// [`io::ErrorKind::TimedOut`] and may be retried.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use std::time::Duration;
///
/// let (mut a, mut b) = zeug::upgrade::Upgraded::pair();
/// a.write_all(b"ping").unwrap();
/// let mut buf = [0u8; 4];
/// b.read_exact(&mut buf).unwrap();
/// assert_eq!(&buf, b"ping");
///
/// b.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
/// assert!(b.read(&mut buf).is_err()); // nothing more came
/// drop(a);
/// assert_eq!(b.read(&mut buf).unwrap(), 0); // the other side went away
/// ```
pub struct Upgraded {
    transport: Transport,
    /// Received before the handover, read first.
    read_ahead: Bytes,
}

// Sockets come only from the server; without it, only memory pairs exist.
#[cfg_attr(not(feature = "server"), allow(dead_code))]
enum Transport {
    Tcp(std::net::TcpStream),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixStream),
    Memory(MemoryEnd),
    #[cfg(feature = "tls")]
    Shared(SharedStream),
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.transport {
            Transport::Tcp(_) => "tcp",
            #[cfg(unix)]
            Transport::Unix(_) => "unix",
            Transport::Memory(_) => "memory",
            #[cfg(feature = "tls")]
            Transport::Shared(_) => "shared",
        };
        f.debug_struct("Upgraded")
            .field("transport", &kind)
            .field("read_ahead", &self.read_ahead.len())
            .finish()
    }
}

impl Upgraded {
    /// A connected pair of in-memory connections (what the test client hands a view's
    /// [`Upgrade`] instead of a socket): what one side writes, the other reads. Dropping
    /// every handle of one side is end-of-stream for the other.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let (mut a, mut b) = zeug::upgrade::Upgraded::pair();
    /// b.write_all(b"x").unwrap();
    /// let mut one = [0u8; 1];
    /// a.read_exact(&mut one).unwrap();
    /// ```
    pub fn pair() -> (Upgraded, Upgraded) {
        let (a, b) = MemoryEnd::pair();
        (
            Upgraded::new(Transport::Memory(a), Bytes::new()),
            Upgraded::new(Transport::Memory(b), Bytes::new()),
        )
    }

    fn new(transport: Transport, read_ahead: Bytes) -> Self {
        Upgraded {
            transport,
            read_ahead,
        }
    }

    /// A TCP connection in blocking mode, `read_ahead` read first.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn tcp(stream: std::net::TcpStream, read_ahead: Bytes) -> io::Result<Self> {
        stream.set_nonblocking(false)?;
        Ok(Upgraded::new(Transport::Tcp(stream), read_ahead))
    }

    /// A Unix socket connection in blocking mode, `read_ahead` read first.
    #[cfg(unix)]
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn unix(
        stream: std::os::unix::net::UnixStream,
        read_ahead: Bytes,
    ) -> io::Result<Self> {
        stream.set_nonblocking(false)?;
        Ok(Upgraded::new(Transport::Unix(stream), read_ahead))
    }

    /// A stream whose reads and writes must not run at once (a TLS session over `socket`):
    /// handles share it behind a lock, and reads wait in short slices so that a write from
    /// another handle is never held up for long.
    #[cfg(feature = "tls")]
    pub(crate) fn shared(
        stream: impl Read + Write + Send + 'static,
        socket: socket2::Socket,
        read_ahead: Bytes,
    ) -> io::Result<Self> {
        socket.set_nonblocking(false)?;
        socket.set_read_timeout(Some(SHARED_READ_SLICE))?;
        Ok(Upgraded::new(
            #[cfg(feature = "tls")]
            Transport::Shared(SharedStream {
                stream: Arc::new(Mutex::new(Box::new(stream))),
                socket: Arc::new(socket),
                read_timeout: Arc::new(AtomicU64::new(0)),
            }),
            read_ahead,
        ))
    }

    /// Another handle to the same connection (for writing from another thread while this
    /// one reads). Bytes read ahead stay with this handle.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let (a, mut b) = zeug::upgrade::Upgraded::pair();
    /// let mut writer = a.try_clone().unwrap();
    /// std::thread::spawn(move || writer.write_all(b"hi").unwrap()).join().unwrap();
    /// let mut buf = [0u8; 2];
    /// b.read_exact(&mut buf).unwrap();
    /// assert_eq!(&buf, b"hi");
    /// ```
    pub fn try_clone(&self) -> io::Result<Upgraded> {
        let transport = match &self.transport {
            Transport::Tcp(s) => Transport::Tcp(s.try_clone()?),
            #[cfg(unix)]
            Transport::Unix(s) => Transport::Unix(s.try_clone()?),
            Transport::Memory(m) => Transport::Memory(m.clone()),
            #[cfg(feature = "tls")]
            Transport::Shared(s) => Transport::Shared(s.clone()),
        };
        Ok(Upgraded::new(transport, Bytes::new()))
    }

    /// How long a read waits for data before it fails with `WouldBlock`/`TimedOut`
    /// (`None`: forever). Applies to every handle of the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = zeug::upgrade::Upgraded::pair();
    /// a.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        check_timeout(timeout)?;
        match &self.transport {
            Transport::Tcp(s) => s.set_read_timeout(timeout),
            #[cfg(unix)]
            Transport::Unix(s) => s.set_read_timeout(timeout),
            Transport::Memory(m) => {
                m.0.read_timeout
                    .store(encode_timeout(timeout), Ordering::Relaxed);
                Ok(())
            }
            #[cfg(feature = "tls")]
            Transport::Shared(s) => {
                s.read_timeout
                    .store(encode_timeout(timeout), Ordering::Relaxed);
                Ok(())
            }
        }
    }

    /// How long a write waits for room before it fails (`None`: forever). Applies to
    /// every handle of the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = zeug::upgrade::Upgraded::pair();
    /// a.set_write_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        check_timeout(timeout)?;
        match &self.transport {
            Transport::Tcp(s) => s.set_write_timeout(timeout),
            #[cfg(unix)]
            Transport::Unix(s) => s.set_write_timeout(timeout),
            Transport::Memory(m) => {
                m.0.write_timeout
                    .store(encode_timeout(timeout), Ordering::Relaxed);
                Ok(())
            }
            #[cfg(feature = "tls")]
            Transport::Shared(s) => s.socket.set_write_timeout(timeout),
        }
    }

    /// Closes both directions for every handle: a read blocked on another thread returns
    /// end-of-stream, the peer sees the connection end.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// let (a, mut b) = zeug::upgrade::Upgraded::pair();
    /// a.shutdown().unwrap();
    /// assert_eq!(b.read(&mut [0u8; 1]).unwrap(), 0);
    /// ```
    pub fn shutdown(&self) -> io::Result<()> {
        let result = match &self.transport {
            Transport::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            #[cfg(unix)]
            Transport::Unix(s) => s.shutdown(std::net::Shutdown::Both),
            Transport::Memory(m) => {
                m.0.close();
                Ok(())
            }
            #[cfg(feature = "tls")]
            Transport::Shared(s) => s.socket.shutdown(std::net::Shutdown::Both),
        };
        match result {
            // Already closed by the peer: the wanted state.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        }
    }
}

fn check_timeout(timeout: Option<Duration>) -> io::Result<()> {
    if timeout == Some(Duration::ZERO) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a zero timeout is not allowed (use None to wait forever)",
        ));
    }
    Ok(())
}

/// A timeout as nanoseconds in an atomic; 0 is "none".
fn encode_timeout(timeout: Option<Duration>) -> u64 {
    timeout.map_or(0, |t| {
        u64::try_from(t.as_nanos()).unwrap_or(u64::MAX).max(1)
    })
}

fn decode_timeout(nanos: u64) -> Option<Duration> {
    (nanos != 0).then(|| Duration::from_nanos(nanos))
}

impl Read for Upgraded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.read_ahead.is_empty() {
            let n = buf.len().min(self.read_ahead.len());
            buf[..n].copy_from_slice(&self.read_ahead[..n]);
            self.read_ahead.advance(n);
            return Ok(n);
        }
        match &mut self.transport {
            Transport::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Transport::Unix(s) => s.read(buf),
            Transport::Memory(m) => m.read(buf),
            #[cfg(feature = "tls")]
            Transport::Shared(s) => s.read(buf),
        }
    }
}

impl Write for Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.transport {
            Transport::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Transport::Unix(s) => s.write(buf),
            Transport::Memory(m) => m.write(buf),
            #[cfg(feature = "tls")]
            Transport::Shared(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.transport {
            Transport::Tcp(s) => s.flush(),
            #[cfg(unix)]
            Transport::Unix(s) => s.flush(),
            Transport::Memory(_) => Ok(()),
            #[cfg(feature = "tls")]
            Transport::Shared(s) => s.lock().flush(),
        }
    }
}

#[cfg(feature = "tls")]
trait ReadWrite: Read + Write + Send {}
#[cfg(feature = "tls")]
impl<T: Read + Write + Send> ReadWrite for T {}

#[cfg(feature = "tls")]
/// A stream shared by several handles behind a lock (see [`Upgraded::shared`]).
#[derive(Clone)]
struct SharedStream {
    stream: Arc<Mutex<Box<dyn ReadWrite>>>,
    /// The socket under the stream, for timeouts and shutdown.
    socket: Arc<socket2::Socket>,
    /// The read timeout as [`encode_timeout`] stores it (the socket's own is the slice).
    read_timeout: Arc<AtomicU64>,
}

#[cfg(feature = "tls")]
impl SharedStream {
    fn lock(&self) -> MutexGuard<'_, Box<dyn ReadWrite>> {
        self.stream.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let deadline =
            decode_timeout(self.read_timeout.load(Ordering::Relaxed)).map(|t| Instant::now() + t);
        loop {
            match self.lock().read(buf) {
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) && deadline.is_none_or(|d| Instant::now() < d) =>
                {
                    // The lock is released here: a writer may go first.
                    continue;
                }
                r => return r,
            }
        }
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut stream = self.lock();
        let n = stream.write(buf)?;
        stream.flush()?;
        Ok(n)
    }
}

/// One direction of an in-memory connection.
#[derive(Default)]
struct Pipe {
    state: Mutex<PipeState>,
    changed: Condvar,
}

#[derive(Default)]
struct PipeState {
    data: VecDeque<u8>,
    /// The writing side is gone (or shut down): readers see end-of-stream once drained.
    write_closed: bool,
    /// The reading side is gone: writers fail (after one write, see [`MemoryEnd::write`]).
    read_closed: bool,
    /// A write after the reading side went away was accepted (and lost) already.
    reset: bool,
}

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits on the condition until `deadline`; false when it passed.
    fn wait<'a>(
        &self,
        guard: MutexGuard<'a, PipeState>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, PipeState>, bool) {
        match deadline {
            None => (
                self.changed.wait(guard).unwrap_or_else(|e| e.into_inner()),
                true,
            ),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return (guard, false);
                }
                let (guard, _) = self
                    .changed
                    .wait_timeout(guard, left)
                    .unwrap_or_else(|e| e.into_inner());
                (guard, true)
            }
        }
    }
}

/// One side of an in-memory connection; clones are handles to the same side.
#[derive(Clone)]
struct MemoryEnd(Arc<EndInner>);

struct EndInner {
    incoming: Arc<Pipe>,
    outgoing: Arc<Pipe>,
    read_timeout: AtomicU64,
    write_timeout: AtomicU64,
}

impl EndInner {
    fn close(&self) {
        self.outgoing.lock().write_closed = true;
        self.outgoing.changed.notify_all();
        self.incoming.lock().read_closed = true;
        self.incoming.changed.notify_all();
    }
}

impl Drop for EndInner {
    fn drop(&mut self) {
        self.close();
    }
}

impl MemoryEnd {
    fn pair() -> (MemoryEnd, MemoryEnd) {
        let a_to_b = Arc::new(Pipe::default());
        let b_to_a = Arc::new(Pipe::default());
        let end = |incoming, outgoing| {
            MemoryEnd(Arc::new(EndInner {
                incoming,
                outgoing,
                read_timeout: AtomicU64::new(0),
                write_timeout: AtomicU64::new(0),
            }))
        };
        (
            end(Arc::clone(&b_to_a), Arc::clone(&a_to_b)),
            end(a_to_b, b_to_a),
        )
    }

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let pipe = &self.0.incoming;
        let deadline =
            decode_timeout(self.0.read_timeout.load(Ordering::Relaxed)).map(|t| Instant::now() + t);
        let mut state = pipe.lock();
        loop {
            if !state.data.is_empty() {
                let n = buf.len().min(state.data.len());
                for (slot, byte) in buf.iter_mut().zip(state.data.drain(..n)) {
                    *slot = byte;
                }
                pipe.changed.notify_all();
                return Ok(n);
            }
            if state.write_closed || state.read_closed {
                return Ok(0);
            }
            let (next, in_time) = pipe.wait(state, deadline);
            state = next;
            if !in_time {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "read timed out on an in-memory connection",
                ));
            }
        }
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let pipe = &self.0.outgoing;
        let deadline = decode_timeout(self.0.write_timeout.load(Ordering::Relaxed))
            .map(|t| Instant::now() + t);
        let mut state = pipe.lock();
        loop {
            if state.read_closed && !state.write_closed && !state.reset {
                // As over TCP: the first write after the peer closed is accepted (the
                // peer's kernel answers it with a reset), only later ones fail. So a
                // close frame answering the peer's is "sent", and what the peer sent
                // before it left can still be read.
                state.reset = true;
                return Ok(buf.len());
            }
            if state.read_closed || state.write_closed {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the other side of the in-memory connection is closed",
                ));
            }
            let room = MEMORY_PIPE_CAPACITY.saturating_sub(state.data.len());
            if room > 0 {
                let n = room.min(buf.len());
                state.data.extend(&buf[..n]);
                pipe.changed.notify_all();
                return Ok(n);
            }
            let (next, in_time) = pipe.wait(state, deadline);
            state = next;
            if !in_time {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "write timed out on an in-memory connection",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_ahead_comes_first() {
        let (a, mut b) = Upgraded::pair();
        let mut a = Upgraded::new(a.transport, Bytes::from_static(b"early "));
        b.write_all(b"late").unwrap();
        let mut got = [0u8; 10];
        a.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"early late");
    }

    #[test]
    fn writers_wait_for_room_and_time_out() {
        let (mut a, mut b) = Upgraded::pair();
        a.set_write_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let big = vec![7u8; MEMORY_PIPE_CAPACITY + 10];
        let err = a.write_all(&big).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        // The reader drains what fitted; then the writer has room again.
        let mut sink = vec![0u8; MEMORY_PIPE_CAPACITY];
        b.read_exact(&mut sink).unwrap();
        a.write_all(b"more").unwrap();
    }

    #[test]
    fn writing_to_a_closed_side_fails() {
        let (mut a, b) = Upgraded::pair();
        drop(b);
        assert_eq!(a.write(b"lost").unwrap(), 4);
        assert_eq!(a.write(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn shutdown_wakes_a_blocked_reader() {
        let (a, _b) = Upgraded::pair();
        let mut reader = a.try_clone().unwrap();
        let blocked = std::thread::spawn(move || reader.read(&mut [0u8; 4]).unwrap());
        a.shutdown().unwrap();
        assert_eq!(blocked.join().unwrap(), 0);
    }

    #[test]
    fn zero_timeouts_are_refused() {
        let (a, _b) = Upgraded::pair();
        assert!(a.set_read_timeout(Some(Duration::ZERO)).is_err());
    }
}
