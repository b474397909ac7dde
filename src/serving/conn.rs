//! One connection's I/O and one request's life: the body reader handed to the app as
//! `environ.input`, calling the app (panics become 500s), writing the response with the
//! right framing, draining what the app left unread, and the access log line.
//!
//! Sockets are non-blocking for the event loop. While a request is being handled a read or
//! write that would block switches the socket to blocking mode with `io_timeout`
//! (the loop has moved on to another thread by then if it takes long, see `server.rs`), and
//! the loop switches it back before waiting on it again. This module does not accept
//! connections, parse request heads (`http1.rs`) or own threads.

use std::any::Any;
use std::io::{self, IoSlice, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, HeaderValue};
use http::{Method, StatusCode, Version};
use log::Level;

use super::http1::{
    ChunkedDecoder, Clock, ConnInfo, Framing, Head, Reject, ResponseFraming, write_head,
};
use super::logging;
use crate::app::SharedApp;
use crate::environ::Input;
use crate::{Body, HttpException, Response};

/// Bytes read from the socket at a time while reading a chunked body.
const READ_CHUNK: usize = 8 * 1024;

/// A full body up to this size goes out in the same `write` as the head.
const COALESCE_LIMIT: usize = 16 * 1024;

/// Lingering close: after the last response on a connection whose request body was left
/// unread, the server shuts its sending side and its event loop reads and discards what
/// the client still sends for at most this long before closing. Closing at once would make
/// the kernel answer the unread bytes with a reset, which can destroy the response before
/// the client has read it.
pub(crate) const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

/// Lingering close: at most this many bytes are read and discarded. The time bound is what
/// protects the server (a table entry for at most [`LINGER_TIMEOUT`]); this one only stops a
/// fast client from making it read without end. It is large on purpose: a client that
/// reads only once its whole upload is sent (Python's `http.client`) sees the answer only
/// if the server takes the whole upload, and 100 MiB crosses loopback well within the time
/// bound.
pub(crate) const LINGER_MAX_BYTES: u64 = 256 * 1024 * 1024;

thread_local! {
    static WRITE_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    static REQUEST_LINE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    static CLOCK: std::cell::RefCell<Clock> = const { std::cell::RefCell::new(Clock::new()) };
}

/// The transport under a connection.
pub(crate) enum Stream {
    Tcp(mio::net::TcpStream),
    #[cfg(unix)]
    Unix(mio::net::UnixStream),
    #[cfg(feature = "tls")]
    Tls(Box<super::tls::TlsStream<mio::net::TcpStream>>),
}

impl Stream {
    /// The socket, for registering with the event loop.
    pub(crate) fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Stream::Tcp(s) => s,
            #[cfg(unix)]
            Stream::Unix(s) => s,
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.get_mut(),
        }
    }

    fn sock_ref(&self) -> socket2::SockRef<'_> {
        match self {
            Stream::Tcp(s) => socket2::SockRef::from(s),
            #[cfg(unix)]
            Stream::Unix(s) => socket2::SockRef::from(s),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => socket2::SockRef::from(s.get_ref()),
        }
    }

    /// Whether a short read proves the socket is drained (not under TLS, where records
    /// may wait in the TLS layer).
    fn short_read_drains(&self) -> bool {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(_) => false,
            _ => true,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            #[cfg(unix)]
            Stream::Unix(s) => s.write_vectored(bufs),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(_) => Ok(()),
            #[cfg(unix)]
            Stream::Unix(_) => Ok(()),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Why reading the request body stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Bad chunked framing (`400`).
    Invalid,
    /// More than `max_content_length` (`413`).
    TooLarge,
    /// The client stopped sending for `io_timeout` (`408`).
    TimedOut,
    /// The client went away.
    Disconnected,
}

impl BodyError {
    fn to_io(self) -> io::Error {
        match self {
            BodyError::Invalid => {
                io::Error::new(io::ErrorKind::InvalidData, "invalid chunked request body")
            }
            BodyError::TooLarge => io::Error::new(
                io::ErrorKind::InvalidData,
                "request body larger than max_content_length",
            ),
            BodyError::TimedOut => io::Error::new(
                io::ErrorKind::TimedOut,
                "timed out reading the request body",
            ),
            BodyError::Disconnected => io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "client disconnected during the request body",
            ),
        }
    }
}

#[derive(Debug)]
enum BodyFrame {
    None,
    Length(u64),
    Chunked(ChunkedDecoder),
}

/// The current request body's framing and progress.
#[derive(Debug)]
pub(crate) struct BodyState {
    frame: BodyFrame,
    /// `100 Continue` is owed when the app first reads.
    expect_continue: bool,
    /// Whether an interim response may still be sent (not after the final head).
    interim_allowed: bool,
    read: u64,
    max: Option<u64>,
    error: Option<BodyError>,
    /// The pace the client must keep while the app waits for the body.
    clock: Option<BodyClock>,
}

/// The minimum rate and the deadline of a request body, checked on every read that has
/// to wait for the client: the wait is bounded by whichever comes first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyClock {
    /// When the app got the request.
    start: std::time::Instant,
    /// Bytes of the body already read (by the event loop) when the app got it.
    base: u64,
    min_rate: u64,
    grace: Duration,
    deadline: std::time::Instant,
}

impl BodyClock {
    /// How long the next read may wait for the client, having read `read` bytes of the
    /// body in all; zero when the client is already too slow.
    fn patience(&self, read: u64, io_timeout: Duration) -> Duration {
        let now = std::time::Instant::now();
        let mut wait = io_timeout.min(self.deadline.saturating_duration_since(now));
        if self.min_rate > 0 {
            // At `min_rate`, the bytes received since `start` cover this much time.
            let got = read.saturating_sub(self.base);
            let covered = Duration::from_secs_f64(got as f64 / self.min_rate as f64);
            let ok_until = self.start + covered.max(self.grace);
            wait = wait.min(ok_until.saturating_duration_since(now));
        }
        wait
    }
}

impl BodyState {
    fn none() -> Self {
        BodyState {
            frame: BodyFrame::None,
            expect_continue: false,
            interim_allowed: false,
            read: 0,
            max: None,
            error: None,
            clock: None,
        }
    }

    fn is_complete(&self) -> bool {
        match &self.frame {
            BodyFrame::None => true,
            BodyFrame::Length(rem) => *rem == 0,
            BodyFrame::Chunked(d) => d.is_done(),
        }
    }
}

/// A connection's socket, the bytes read but not consumed yet, and the body state.
/// Shared (behind a mutex) between the event loop and the body reader of the request in
/// flight.
pub(crate) struct ConnIo {
    pub(crate) stream: Stream,
    /// Bytes received but not consumed yet (a partial head, the start of a body, pipelined
    /// requests). Empty, and without capacity, for idle connections.
    pub(crate) pending: Vec<u8>,
    pub(crate) pos: usize,
    /// The last read by the loop emptied the socket (edge-triggered readiness is clear).
    pub(crate) drained: bool,
    blocking: bool,
    timeouts_set: bool,
    io_timeout: Duration,
    body: BodyState,
    /// Bumped after each request, so a body reader the app kept cannot read the next one.
    generation: u64,
}

impl ConnIo {
    pub(crate) fn new(stream: Stream, io_timeout: Duration) -> Self {
        ConnIo {
            stream,
            pending: Vec::new(),
            pos: 0,
            drained: false,
            blocking: false,
            timeouts_set: false,
            io_timeout,
            body: BodyState::none(),
            generation: 0,
        }
    }

    /// The unconsumed received bytes.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.pending[self.pos..]
    }

    /// Forgets the unconsumed bytes (they were moved elsewhere).
    pub(crate) fn clear_pending(&mut self) {
        self.pending.clear();
        self.pos = 0;
    }

    /// Keeps `bytes` as the unconsumed received bytes.
    pub(crate) fn set_pending(&mut self, bytes: &[u8]) {
        self.pending.clear();
        self.pos = 0;
        self.pending.extend_from_slice(bytes);
    }

    /// Gives back the memory of an idle connection's buffer.
    pub(crate) fn shrink_idle(&mut self) {
        if self.pos == self.pending.len() {
            self.pending = Vec::new();
            self.pos = 0;
        }
    }

    /// One non-blocking read for the event loop; `WouldBlock` passes through.
    pub(crate) fn read_nonblocking(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.stream.read(buf) {
                Ok(n) => {
                    self.drained = n < buf.len() && n > 0 && self.stream.short_read_drains();
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.drained = e.kind() == io::ErrorKind::WouldBlock;
                    return Err(e);
                }
            }
        }
    }

    fn set_blocking(&mut self, blocking: bool) -> io::Result<()> {
        if self.blocking == blocking {
            return Ok(());
        }
        let sock = self.stream.sock_ref();
        if blocking && !self.timeouts_set {
            sock.set_read_timeout(Some(self.io_timeout))?;
            sock.set_write_timeout(Some(self.io_timeout))?;
            self.timeouts_set = true;
        }
        sock.set_nonblocking(!blocking)?;
        self.blocking = blocking;
        Ok(())
    }

    /// Puts the socket back in non-blocking mode for the event loop.
    pub(crate) fn make_nonblocking(&mut self) -> io::Result<()> {
        self.set_blocking(false)
    }

    /// Runs `op`, switching to blocking mode (with the I/O timeout) when it would block.
    fn blocking_op<T>(
        &mut self,
        mut op: impl FnMut(&mut Stream) -> io::Result<T>,
    ) -> io::Result<T> {
        loop {
            match op(&mut self.stream) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.blocking {
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "I/O timed out"));
                    }
                    self.set_blocking(true)?;
                }
                r => return r,
            }
        }
    }

    /// Reads at least one byte of the body (or EOF) while handling a request. A read that
    /// has to wait waits no longer than the body's clock allows (`TimedOut` after).
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.drained = false;
        let Some(clock) = self.body.clock else {
            return self.blocking_op(|s| s.read(buf));
        };
        loop {
            if self.blocking {
                let wait = clock.patience(self.body.read, self.io_timeout);
                if wait.is_zero() {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the request body arrived too slowly",
                    ));
                }
                self.stream.sock_ref().set_read_timeout(Some(wait))?;
            }
            match self.stream.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && !self.blocking => {
                    self.set_blocking(true)?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "I/O timed out"));
                }
                r => return r,
            }
        }
    }

    /// Writes all of `data` now, without blocking (for the event loop's own answers,
    /// which are small); whether it all went out. A client that does not read what it is
    /// sent gets the connection closed rather than a thread or the loop waiting for it.
    pub(crate) fn write_now(&mut self, data: &[u8]) -> bool {
        if self.blocking && self.set_blocking(false).is_err() {
            return false;
        }
        let mut written = 0;
        while written < data.len() {
            match self.stream.write(&data[written..]) {
                Ok(0) => return false,
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        loop {
            match self.stream.flush() {
                Ok(()) => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }

    /// Writes all of `bufs` (at most four) while handling a request, with one vectored
    /// write where the socket takes it all.
    pub(crate) fn write_all_vectored(&mut self, bufs: &[&[u8]]) -> io::Result<()> {
        let (mut index, mut offset) = (0, 0);
        while index < bufs.len() {
            if offset == bufs[index].len() {
                index += 1;
                offset = 0;
                continue;
            }
            let mut slices = [IoSlice::new(&[]); 4];
            let rest = &bufs[index..];
            slices[0] = IoSlice::new(&rest[0][offset..]);
            for (slot, buf) in slices.iter_mut().zip(rest).skip(1) {
                *slot = IoSlice::new(buf);
            }
            let count = rest.len().min(slices.len());
            let mut n = self.blocking_op(|s| s.write_vectored(&slices[..count]))?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            while n > 0 && index < bufs.len() {
                let left = bufs[index].len() - offset;
                if n >= left {
                    n -= left;
                    index += 1;
                    offset = 0;
                } else {
                    offset += n;
                    n = 0;
                }
            }
        }
        Ok(())
    }

    /// Writes all of `data` while handling a request.
    pub(crate) fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.write_all_vectored(&[data])
    }

    /// Sends whatever the transport still buffers (TLS records).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.blocking_op(|s| s.flush())
    }

    /// Reads more of the body into `pending`.
    fn fill_pending(&mut self) -> io::Result<usize> {
        if self.pos == self.pending.len() {
            self.pending.clear();
            self.pos = 0;
        }
        let len = self.pending.len();
        self.pending.resize(len + READ_CHUNK, 0);
        let mut spare = std::mem::take(&mut self.pending);
        let result = self.read_some(&mut spare[len..]);
        spare.truncate(len + *result.as_ref().unwrap_or(&0));
        self.pending = spare;
        result
    }

    fn send_continue(&mut self) -> io::Result<()> {
        if self.body.expect_continue && self.body.interim_allowed {
            self.body.expect_continue = false;
            self.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            self.flush()?;
        }
        Ok(())
    }

    fn fail(&mut self, error: BodyError) -> io::Error {
        self.body.error = Some(error);
        error.to_io()
    }

    fn io_failure(&mut self, e: io::Error) -> io::Error {
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => self.fail(BodyError::TimedOut),
            _ => self.fail(BodyError::Disconnected),
        }
    }

    /// Reads de-framed body bytes; `Ok(0)` at the end of the body.
    fn read_body(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.body.error {
            return Err(e.to_io());
        }
        if out.is_empty() || self.body.is_complete() {
            return Ok(0);
        }
        if let Err(e) = self.send_continue() {
            return Err(self.io_failure(e));
        }
        let n = match &mut self.body.frame {
            BodyFrame::None => 0,
            BodyFrame::Length(rem) => {
                let want = out.len().min(usize::try_from(*rem).unwrap_or(usize::MAX));
                let avail = self.pending.len() - self.pos;
                let n = if avail > 0 {
                    let n = want.min(avail);
                    out[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
                    self.pos += n;
                    n
                } else {
                    match self.read_some(&mut out[..want]) {
                        Ok(0) => return Err(self.fail(BodyError::Disconnected)),
                        Ok(n) => n,
                        Err(e) => return Err(self.io_failure(e)),
                    }
                };
                if let BodyFrame::Length(rem) = &mut self.body.frame {
                    *rem -= n as u64;
                }
                n
            }
            BodyFrame::Chunked(_) => loop {
                if self.pos == self.pending.len() {
                    match self.fill_pending() {
                        Ok(0) => return Err(self.fail(BodyError::Disconnected)),
                        Ok(_) => {}
                        Err(e) => return Err(self.io_failure(e)),
                    }
                }
                let BodyFrame::Chunked(decoder) = &mut self.body.frame else {
                    unreachable!("the frame is chunked");
                };
                let decoded = decoder.decode(&self.pending[self.pos..], out);
                let done = decoder.is_done();
                match decoded {
                    Ok((used, n)) => {
                        self.pos += used;
                        if n > 0 || done {
                            break n;
                        }
                    }
                    Err(_) => return Err(self.fail(BodyError::Invalid)),
                }
            },
        };
        self.body.read += n as u64;
        if self.body.max.is_some_and(|max| self.body.read > max) {
            return Err(self.fail(BodyError::TooLarge));
        }
        Ok(n)
    }

    /// Whether the request body has been read to its end (or there was none).
    fn body_complete(&self) -> bool {
        self.body.is_complete()
    }

    /// Starts closing a connection whose request body was left unread without resetting
    /// it: shuts the sending side (the response is already written) and puts the socket
    /// back in non-blocking mode. The event loop then reads and discards input until the
    /// client closes, [`LINGER_TIMEOUT`] passes or [`LINGER_MAX_BYTES`] are read (see
    /// [`ConnIo::discard_input`]). Returns whether lingering makes sense (false when the
    /// socket is gone).
    pub(crate) fn start_linger(&mut self) -> bool {
        let _ = self.stream.flush();
        #[cfg(feature = "tls")]
        if let Stream::Tls(s) = &mut self.stream {
            // The TLS end of the conversation before the TCP one.
            s.close();
        }
        let sock = self.stream.sock_ref();
        if sock.shutdown(std::net::Shutdown::Write).is_err() || sock.set_nonblocking(true).is_err()
        {
            return false;
        }
        self.blocking = false;
        self.clear_pending();
        self.pending = Vec::new();
        true
    }

    /// Reads and throws away what a lingering connection's client sends, without
    /// blocking; returns the bytes discarded, and whether the connection is finished (the
    /// client closed it, or it failed).
    pub(crate) fn discard_input(&mut self, scratch: &mut [u8]) -> (u64, bool) {
        let sock = self.stream.sock_ref();
        let mut discarded = 0u64;
        loop {
            // Raw socket bytes (under TLS too): they are thrown away.
            match (&*sock).read(scratch) {
                Ok(0) => return (discarded, true),
                Ok(n) => discarded += n as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (discarded, false),
                Err(_) => return (discarded, true),
            }
        }
    }

    /// Reads and discards what the app left of the body, up to `max` bytes. Returns whether
    /// the connection can carry another request.
    fn drain_body(&mut self, max: u64) -> bool {
        if self.body.error.is_none() && self.body.is_complete() {
            // Every request without a body (or whose body the app read): no scratch buffer
            // to zero (4 KiB, a fifth of a hello-world request's instructions).
            return true;
        }
        if self.body.error.is_some() || self.body.expect_continue {
            // A client still waiting for `100 Continue` has not sent the body.
            return self.body.is_complete() && self.body.error.is_none();
        }
        if let BodyFrame::Length(rem) = self.body.frame {
            if rem > max {
                return false;
            }
        }
        let mut scratch = [0u8; 4096];
        let mut drained = 0u64;
        loop {
            match self.read_body(&mut scratch) {
                Ok(0) => return true,
                Ok(n) => {
                    drained += n as u64;
                    if drained > max {
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
    }
}

/// Locks a connection's I/O; a panic elsewhere while it was held does not make it unusable.
pub(crate) fn lock(io: &Mutex<ConnIo>) -> MutexGuard<'_, ConnIo> {
    io.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `environ.input`: the de-framed body, read straight from the connection.
struct BodyReader {
    io: Arc<Mutex<ConnIo>>,
    generation: u64,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut io = lock(&self.io);
        if io.generation != self.generation {
            return Ok(0);
        }
        io.read_body(buf)
    }
}

/// What the server passes to every request: the app and the options it needs.
pub(crate) struct Handler {
    pub(crate) app: SharedApp,
    pub(crate) max_content_length: Option<u64>,
    pub(crate) min_body_rate: u64,
    pub(crate) body_rate_grace: Duration,
    pub(crate) body_timeout: Duration,
    /// Handed to requests with a body (in the environ's extensions) for `get_data`.
    pub(crate) body_budget: crate::body::BodyBudget,
    pub(crate) max_drain: u64,
    pub(crate) max_trailer_bytes: usize,
    pub(crate) use_debugger: bool,
    pub(crate) passthrough_errors: bool,
}

/// What became of the connection after a request.
pub(crate) enum Outcome {
    /// Ready for the next request.
    KeepAlive,
    /// Close it.
    Close,
    /// Close it once the client stopped sending (see [`ConnIo::start_linger`]).
    Linger,
    /// `passthrough_errors`: close it and stop the server with this panic.
    Panic(Box<dyn Any + Send>),
    /// The response switches protocols: `upgrade.rs` takes the connection over.
    Upgrade(Box<super::upgrade::Handover>),
}

/// Handles one request whose head has been read: calls the app and writes the response.
pub(crate) fn handle(
    handler: &Handler,
    io: &Arc<Mutex<ConnIo>>,
    info: &ConnInfo,
    head: Box<Head>,
    shutting_down: &std::sync::atomic::AtomicBool,
) -> Outcome {
    let Head {
        mut environ,
        framing,
        mut keep_alive,
        expect_continue,
    } = *head;
    let version = environ.version;
    let is_head = environ.method == Method::HEAD;
    REQUEST_LINE.with(|line| {
        let mut line = line.borrow_mut();
        line.clear();
        line.push_str(environ.method.as_str());
        line.push(' ');
        line.push_str(&environ.request_uri);
        line.push(' ');
        line.push_str(version_str(version));
    });

    // A declared length over `max_content_length` was refused by the event loop.
    let generation = {
        let mut conn = lock(io);
        let clock = (framing != Framing::None).then(|| {
            let start = std::time::Instant::now();
            BodyClock {
                start,
                base: conn.pending().len() as u64,
                min_rate: handler.min_body_rate,
                grace: handler.body_rate_grace,
                deadline: start + handler.body_timeout,
            }
        });
        conn.body = BodyState {
            frame: match framing {
                Framing::None => BodyFrame::None,
                Framing::Length(n) => BodyFrame::Length(n),
                Framing::Chunked => {
                    BodyFrame::Chunked(ChunkedDecoder::new(handler.max_trailer_bytes))
                }
            },
            expect_continue,
            interim_allowed: true,
            read: 0,
            max: handler.max_content_length,
            error: None,
            clock,
        };
        conn.generation
    };
    if framing != Framing::None {
        environ.input = Input::new(BodyReader {
            io: Arc::clone(io),
            generation,
        });
        environ.extensions.insert(handler.body_budget.clone());
    }

    let summary = handler
        .use_debugger
        .then(|| super::debugger::RequestSummary::capture(&environ));
    let app = &handler.app;
    let mut response = match catch_unwind(AssertUnwindSafe(|| app.call(environ))) {
        Ok(response) => response,
        Err(payload) => {
            let message = panic_message(&*payload);
            REQUEST_LINE.with(|line| {
                log::error!(
                    target: logging::LOG_TARGET,
                    "Error on request \"{}\": the view panicked: {message}",
                    line.borrow()
                );
            });
            if handler.passthrough_errors {
                log_access(info, StatusCode::INTERNAL_SERVER_ERROR, None);
                return Outcome::Panic(payload);
            }
            keep_alive = false;
            match &summary {
                Some(summary) => super::debugger::panic_response(&*payload, summary),
                None => HttpException::internal_server_error().into_response(),
            }
        }
    };

    if matches!(response.body(), Body::Upgrade(_)) {
        let body_read = lock(io).body.is_complete();
        let request_line = REQUEST_LINE.with(|line| line.borrow().clone());
        let handover = super::upgrade::Handover {
            response,
            version,
            request_line,
            body_read,
        };
        return Outcome::Upgrade(Box::new(handover));
    }

    // A 1xx is an interim answer: a client reads on for the final one, so sending it as
    // the answer would hand the next response on this connection to this request. The
    // server sends its own interim responses (`100 Continue`); an app's is a mistake.
    if response.status().is_informational() {
        REQUEST_LINE.with(|line| {
            log::error!(
                target: logging::LOG_TARGET,
                "Error on request \"{}\": the application returned the informational status \
                 {}, which cannot be a final response; answering 500",
                line.borrow(),
                response.status()
            );
        });
        response = HttpException::internal_server_error().into_response();
    }

    let body_error = lock(io).body.error;
    match body_error {
        None => {}
        Some(BodyError::Disconnected) => {
            logging::client_message(
                Level::Debug,
                info.remote_addr.as_deref(),
                "client disconnected while sending the request body",
            );
            return Outcome::Close;
        }
        Some(error) => {
            let (status, reason) = match error {
                BodyError::Invalid => (StatusCode::BAD_REQUEST, "Invalid chunked request body."),
                BodyError::TooLarge => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The request body is larger than the server accepts.",
                ),
                _ => (
                    StatusCode::REQUEST_TIMEOUT,
                    "Timed out reading the request body.",
                ),
            };
            logging::client_message(
                Level::Error,
                info.remote_addr.as_deref(),
                &format!("code {}, message {reason}", status.as_u16()),
            );
            response = HttpException::new(status)
                .with_description(reason)
                .into_response();
            keep_alive = false;
        }
    }

    keep_alive &= !shutting_down.load(std::sync::atomic::Ordering::SeqCst);
    if let Some(value) = response.headers().get(CONNECTION) {
        if value
            .to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
        {
            keep_alive = false;
        }
    }
    {
        let mut conn = lock(io);
        conn.body.interim_allowed = false;
        if !conn.body.is_complete() {
            let too_much =
                matches!(conn.body.frame, BodyFrame::Length(rem) if rem > handler.max_drain);
            if conn.body.expect_continue || too_much {
                keep_alive = false;
            }
        }
    }

    // Read what the app left of the body before answering, so that a connection that
    // cannot carry another request says `Connection: close` (a streamed response may still
    // read the body while it is written: its leftovers are drained afterwards).
    if keep_alive && !matches!(response.body(), Body::Stream(_)) {
        let mut conn = lock(io);
        if !conn.body_complete() {
            keep_alive = conn.drain_body(handler.max_drain);
        }
    }

    // A streamed body runs app code while it is written: a panic there ends this response
    // (the client sees a truncated body and a closed connection), not the server.
    let written = catch_unwind(AssertUnwindSafe(|| {
        write_response(io, response, version, is_head, &mut keep_alive)
    }));
    let written = match written {
        Ok(written) => written,
        Err(payload) => {
            REQUEST_LINE.with(|line| {
                log::error!(
                    target: logging::LOG_TARGET,
                    "Error on request \"{}\": the response body panicked: {}",
                    line.borrow(),
                    panic_message(&*payload)
                );
            });
            if handler.passthrough_errors {
                return Outcome::Panic(payload);
            }
            return Outcome::Close;
        }
    };
    let (status, sent) = match written {
        Ok(r) => r,
        Err((status, e)) => {
            logging::client_message(
                Level::Debug,
                info.remote_addr.as_deref(),
                &format!("client disconnected during the response: {e}"),
            );
            log_access(info, status, None);
            return Outcome::Close;
        }
    };
    log_access(info, status, (sent > 0).then_some(sent));

    let mut conn = lock(io);
    if keep_alive {
        keep_alive = conn.drain_body(handler.max_drain);
    }
    let linger = !keep_alive && !conn.body_complete();
    conn.generation += 1;
    conn.body = BodyState::none();
    if linger {
        if conn.start_linger() {
            Outcome::Linger
        } else {
            Outcome::Close
        }
    } else if keep_alive && conn.make_nonblocking().is_ok() {
        Outcome::KeepAlive
    } else {
        Outcome::Close
    }
}

/// `HTTP/1.1` and the like, as the request line says it (what `{:?}` prints, without the
/// formatting machinery on every request).
fn version_str(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/?",
    }
}

fn log_access(info: &ConnInfo, status: StatusCode, size: Option<u64>) {
    REQUEST_LINE.with(|line| {
        logging::access(info.remote_addr.as_deref(), &line.borrow(), status, size);
    });
}

/// The text of a panic payload (`panic!` with a message gives `&str` or `String`).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

/// Answers a request the server refuses (a short page and `Connection: close`) from the
/// event loop, without blocking; whether the answer went out whole. The connection is
/// closed either way.
pub(crate) fn write_reject(io: &mut ConnIo, version: Version, reject: &Reject) -> bool {
    let body = HttpException::new(reject.status)
        .with_description(reject.reason)
        .into_response();
    let (status, headers, body) = body.into_parts();
    let body = body.into_bytes().unwrap_or_default();
    WRITE_BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        buf.clear();
        CLOCK.with(|clock| {
            write_head(
                &mut buf,
                version,
                status,
                &headers,
                ResponseFraming::Length(body.len() as u64),
                false,
                clock.borrow_mut().http_date(),
            );
        });
        buf.extend_from_slice(&body);
        io.write_now(&buf)
    })
}

/// The `Content-Length` the app set, if it is a number.
fn app_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Writes status, headers and body; returns the status and the body bytes sent, or the
/// status and the error when the client went away.
fn write_response(
    io: &Mutex<ConnIo>,
    response: Response,
    version: Version,
    is_head: bool,
    keep_alive: &mut bool,
) -> Result<(StatusCode, u64), (StatusCode, io::Error)> {
    let (status, mut headers, body) = response.into_parts();
    let no_body_status = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::RESET_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    // A body of known size is framed by its size; only a streamed one by the app's
    // `Content-Length`, if it set one.
    let framing = if is_head || no_body_status {
        ResponseFraming::NoBody
    } else {
        match body.len().or_else(|| app_length(&headers)) {
            Some(n) => ResponseFraming::Length(n),
            None if version == Version::HTTP_11 => ResponseFraming::Chunked,
            None => ResponseFraming::Close,
        }
    };
    // `handle` never lets a 1xx through; should one arrive anyway, the connection is in a
    // state this server does not speak: close it afterwards.
    if framing == ResponseFraming::Close || status.is_informational() {
        *keep_alive = false;
    }
    if status.is_informational() || status == StatusCode::NO_CONTENT {
        headers.remove(CONTENT_LENGTH);
    } else if status == StatusCode::RESET_CONTENT {
        // 205 carries no content, and says so (RFC 9110 §15.3.6).
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    } else if is_head && app_length(&headers).is_none() {
        if let Some(n) = body.len() {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
        }
    }
    let fail = |e| (status, e);

    WRITE_BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        buf.clear();
        CLOCK.with(|clock| {
            write_head(
                &mut buf,
                version,
                status,
                &headers,
                framing,
                *keep_alive,
                clock.borrow_mut().http_date(),
            );
        });
        let head: &[u8] = &buf;
        let mut sent = 0u64;
        if framing == ResponseFraming::NoBody {
            let mut conn = lock(io);
            conn.write_all(head).map_err(fail)?;
            conn.flush().map_err(fail)?;
            return Ok((status, 0));
        }
        match body {
            Body::Empty | Body::Upgrade(_) => {
                lock(io).write_all(head).map_err(fail)?;
            }
            Body::Bytes(bytes) => {
                let mut conn = lock(io);
                if bytes.len() <= COALESCE_LIMIT {
                    buf.extend_from_slice(&bytes);
                    conn.write_all(&buf).map_err(fail)?;
                } else {
                    conn.write_all_vectored(&[head, &bytes]).map_err(fail)?;
                }
                sent = bytes.len() as u64;
            }
            Body::File(file) => {
                let mut conn = lock(io);
                conn.write_all(head).map_err(fail)?;
                let (file, offset, len) = file.into_parts();
                sent = send_file(&mut conn, &file, offset, len).map_err(fail)?;
                if sent < len {
                    *keep_alive = false;
                }
            }
            Body::Stream(chunks) => {
                lock(io).write_all(head).map_err(fail)?;
                let mut remaining = match framing {
                    ResponseFraming::Length(n) => Some(n),
                    _ => None,
                };
                for chunk in chunks {
                    let chunk: Bytes = match chunk {
                        Ok(c) => c,
                        Err(e) => {
                            log::error!(
                                target: logging::LOG_TARGET,
                                "Error in a streamed response body: {e}"
                            );
                            *keep_alive = false;
                            return Ok((status, sent));
                        }
                    };
                    if chunk.is_empty() {
                        continue;
                    }
                    let mut conn = lock(io);
                    match (&mut remaining, framing) {
                        (Some(rem), _) => {
                            let n = chunk.len().min(usize::try_from(*rem).unwrap_or(usize::MAX));
                            conn.write_all(&chunk[..n]).map_err(fail)?;
                            *rem -= n as u64;
                            sent += n as u64;
                            if *rem == 0 {
                                break;
                            }
                        }
                        (None, ResponseFraming::Chunked) => {
                            let mut size = [0u8; 20];
                            let size = chunk_size_line(&mut size, chunk.len());
                            conn.write_all_vectored(&[size, &chunk, b"\r\n"])
                                .map_err(fail)?;
                            sent += chunk.len() as u64;
                        }
                        (None, _) => {
                            conn.write_all(&chunk).map_err(fail)?;
                            sent += chunk.len() as u64;
                        }
                    }
                    conn.flush().map_err(fail)?;
                }
                match (remaining, framing) {
                    (Some(rem), _) if rem > 0 => *keep_alive = false,
                    (_, ResponseFraming::Chunked) => {
                        lock(io).write_all(b"0\r\n\r\n").map_err(fail)?;
                    }
                    _ => {}
                }
            }
        }
        lock(io).flush().map_err(fail)?;
        Ok((status, sent))
    })
}

/// Writes `{len:x}\r\n` into `buf` and returns it (no allocation per chunk).
fn chunk_size_line(buf: &mut [u8; 20], len: usize) -> &[u8] {
    let mut cursor = io::Cursor::new(&mut buf[..]);
    let _ = write!(cursor, "{len:x}\r\n");
    let end = cursor.position() as usize;
    &buf[..end]
}

/// Sends `len` bytes of `file` from `offset`: `sendfile(2)` on Linux for plain sockets,
/// else a read/write loop. Returns the bytes sent (fewer when the file shrank).
fn send_file(conn: &mut ConnIo, file: &std::fs::File, offset: u64, len: u64) -> io::Result<u64> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::{AsFd, BorrowedFd};
        fn plain_socket(stream: &Stream) -> Option<BorrowedFd<'_>> {
            match stream {
                Stream::Tcp(s) => Some(s.as_fd()),
                Stream::Unix(s) => Some(s.as_fd()),
                #[cfg(feature = "tls")]
                Stream::Tls(_) => None,
            }
        }
        if plain_socket(&conn.stream).is_some() {
            let mut off = offset;
            let mut sent = 0u64;
            while sent < len {
                let count = usize::try_from(len - sent)
                    .unwrap_or(usize::MAX)
                    .min(1 << 30);
                let n = conn.blocking_op(|stream| {
                    let out = plain_socket(stream).ok_or(io::ErrorKind::Unsupported)?;
                    let n = rustix::fs::sendfile(out, file, Some(&mut off), count)?;
                    Ok(n as u64)
                })?;
                if n == 0 {
                    break;
                }
                sent += n;
            }
            return Ok(sent);
        }
    }
    use std::io::{Seek, SeekFrom};
    let mut file = file;
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = file.take(len);
    let mut chunk = vec![0u8; crate::body::CHUNK_SIZE];
    let mut sent = 0u64;
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            return Ok(sent);
        }
        conn.write_all(&chunk[..n])?;
        sent += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_size_lines_are_hex() {
        let mut buf = [0u8; 20];
        assert_eq!(chunk_size_line(&mut buf, 0), b"0\r\n");
        assert_eq!(chunk_size_line(&mut buf, 255), b"ff\r\n");
        assert_eq!(chunk_size_line(&mut buf, usize::MAX).len(), 18);
    }

    #[test]
    fn versions_read_as_debug_prints_them() {
        for v in [
            Version::HTTP_09,
            Version::HTTP_10,
            Version::HTTP_11,
            Version::HTTP_2,
            Version::HTTP_3,
        ] {
            assert_eq!(version_str(v), format!("{v:?}"));
        }
    }

    #[test]
    fn panic_messages_are_read_from_str_and_string_payloads() {
        assert_eq!(panic_message(&"static"), "static");
        assert_eq!(panic_message(&String::from("owned")), "owned");
        assert_eq!(panic_message(&42), "Box<dyn Any>");
    }

    #[cfg(unix)]
    fn socket_pair() -> (ConnIo, std::os::unix::net::UnixStream) {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let stream = Stream::Unix(mio::net::UnixStream::from_std(ours));
        (ConnIo::new(stream, Duration::from_secs(30)), theirs)
    }

    #[test]
    #[cfg(unix)]
    fn answers_to_a_client_that_does_not_read_never_wait() {
        let (mut io, _client) = socket_pair();
        // Fill the socket: the client reads nothing.
        let block = vec![0u8; 64 * 1024];
        let mut filled = 0;
        while io.write_now(&block) {
            filled += 1;
            assert!(filled < 10_000, "the socket never filled");
        }
        let reject = Reject {
            status: StatusCode::BAD_REQUEST,
            reason: "Bad request.",
        };
        let started = std::time::Instant::now();
        assert!(!write_reject(&mut io, Version::HTTP_11, &reject));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    #[cfg(unix)]
    fn lingering_discards_input_without_blocking() {
        let (mut io, mut client) = socket_pair();
        assert!(write_reject(
            &mut io,
            Version::HTTP_11,
            &Reject {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                reason: "Too large.",
            }
        ));
        assert!(io.start_linger());
        let mut scratch = [0u8; 1024];
        assert_eq!(io.discard_input(&mut scratch), (0, false));
        client.write_all(&[1u8; 3000]).unwrap();
        assert_eq!(io.discard_input(&mut scratch), (3000, false));
        // The answer went out, and the server's side is shut: the client reads it to EOF.
        let mut answer = String::new();
        client.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        drop(client);
        assert_eq!(io.discard_input(&mut scratch), (0, true));
    }

    #[test]
    fn a_body_clock_allows_the_grace_then_the_rate() {
        let start = std::time::Instant::now();
        let clock = BodyClock {
            start,
            base: 100,
            min_rate: 1000,
            grace: Duration::from_secs(5),
            deadline: start + Duration::from_secs(60),
        };
        let io_timeout = Duration::from_secs(30);
        // Within the grace: wait until it ends.
        let wait = clock.patience(100, io_timeout);
        assert!(wait <= Duration::from_secs(5) && wait > Duration::from_secs(4));
        // 20 000 bytes at 1000 B/s cover 20 s.
        let wait = clock.patience(20_100, io_timeout);
        assert!(wait <= Duration::from_secs(20) && wait > Duration::from_secs(19));
        // Never past the body's deadline or the I/O timeout.
        assert!(clock.patience(1_000_000, io_timeout) <= io_timeout);
        let late = BodyClock {
            deadline: start,
            ..clock
        };
        assert_eq!(late.patience(1_000_000, io_timeout), Duration::ZERO);
    }
}
