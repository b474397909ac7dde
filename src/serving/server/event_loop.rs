//! The event loop: a `mio` poller, its connection table and one read buffer, and what it
//! does with each connection without ever waiting on it: accepting, reading and parsing
//! request heads, reading small bodies ahead, refusing bad requests and lingering, the
//! deadlines (idle, head, body rate and deadline), running requests (inline, or on a
//! spare thread when the body is still arriving) and the end of a shutdown.
//!
//! The hand-off of a loop between threads is in `handoff.rs`; a request's own life (body
//! reader, app, response) in `conn.rs`. The point where a request is handed to the app and
//! its connection comes back is [`dispatch`].

use super::handoff::{self, try_hand_off};
use super::*;

/// Connections one loop accepts before it looks at its other work again.
const ACCEPT_BATCH: usize = 16;

/// On shutdown, a connection accepted but still without a byte of its first request gets
/// this long for it to arrive (its client has most likely sent it already): it is
/// answered rather than closed under a request in flight.
const FIRST_REQUEST_WAIT: Duration = Duration::from_millis(500);

pub(super) struct Conn {
    io: Arc<Mutex<ConnIo>>,
    info: Arc<ConnInfo>,
    busy: bool,
    deadline: Instant,
    /// Waiting for the first byte of a request (the idle timeout applies, not the header
    /// timeout).
    idle: bool,
    /// Whether a request head has arrived on it (a fresh one gets a moment at shutdown).
    served: bool,
    /// Bytes of its buffer counted in [`Shared::held`].
    held: usize,
    /// Readiness was reported while a request ran: look at the socket when it ends.
    missed: bool,
    phase: Phase,
}

/// Where a connection the loop holds stands.
enum Phase {
    /// Idle, or reading a request head.
    Head,
    /// The head is in: reading the body ahead before the app is called, or (paused)
    /// waiting for a thread to run a request whose body is still arriving.
    Body(Box<BodyAhead>),
    /// Answered and closing: what the client still sends is read and thrown away until
    /// it closes too (or `deadline`), so that closing does not reset the answer.
    Lingering { discarded: u64 },
}

/// A request whose body the loop reads before the app gets it.
struct BodyAhead {
    head: Box<Head>,
    /// When the head was complete: the body's rate and deadline count from here.
    since: Instant,
    /// Enough has been read when the buffer holds this many bytes (a sized body).
    want: usize,
    /// A chunked body: a decoder run over the buffer to find the body's end, how many
    /// buffered bytes it has looked at, and the body bytes found.
    probe: Option<(ChunkedDecoder, usize, u64)>,
    /// The whole body is in the buffer.
    complete: bool,
    /// Enough is buffered, but the request waits for a thread (all are busy).
    paused: bool,
}

impl BodyAhead {
    /// Looks at the buffered bytes after the head; whether the loop has read enough.
    fn progress(
        &mut self,
        buffered: &[u8],
        read_ahead: usize,
        max: Option<u64>,
    ) -> Result<bool, Reject> {
        match &mut self.probe {
            None => {
                let length = match self.head.framing {
                    Framing::Length(n) => n,
                    _ => 0,
                };
                self.complete = buffered.len() as u64 >= length;
                Ok(buffered.len() >= self.want)
            }
            Some((decoder, scanned, found)) => {
                let mut scratch = [0u8; 4096];
                while *scanned < buffered.len() && !decoder.is_done() {
                    let (used, produced) = decoder
                        .decode(&buffered[*scanned..], &mut scratch)
                        .map_err(|_| Reject {
                            status: http::StatusCode::BAD_REQUEST,
                            reason: "Invalid chunked request body.",
                        })?;
                    *scanned += used;
                    *found += produced as u64;
                    if max.is_some_and(|max| *found > max) {
                        return Err(too_large());
                    }
                    if used == 0 && produced == 0 {
                        break;
                    }
                }
                self.complete = decoder.is_done();
                Ok(self.complete || buffered.len() >= read_ahead)
            }
        }
    }
}

fn too_large() -> Reject {
    Reject {
        status: http::StatusCode::PAYLOAD_TOO_LARGE,
        reason: "The request body is larger than the server accepts.",
    }
}

/// What to do with a request whose head just arrived.
enum Admit {
    /// Call the app now: there is no body, or the app must decide first whether to ask
    /// for it (`Expect: 100-continue`), which needs a thread of its own.
    Now {
        head: Box<Head>,
        needs_thread: bool,
    },
    /// Read the body ahead first.
    ReadAhead(Box<BodyAhead>),
    Refuse(Reject),
}

/// The event loop: whoever holds it serves.
pub(super) struct LoopState {
    /// Which of `Shared::loops` this is (its listener is `Shared::loops[index].listener`).
    pub(super) index: usize,
    pub(super) poll: Poll,
    pub(super) conns: Vec<Option<Conn>>,
    pub(super) free: Vec<usize>,
    pub(super) open: usize,
    /// Open connections of each loop (for `max_connections` and to spread new ones).
    pub(super) loads: Arc<[AtomicUsize]>,
    pub(super) buf: Vec<u8>,
    /// Tokens to look at, with whether readiness was reported for them.
    pub(super) ready: VecDeque<(Token, bool)>,
    pub(super) accept_paused: bool,
    pub(super) next_sweep: Instant,
    pub(super) sweep_every: Duration,
    pub(super) shutdown_deadline: Option<Instant>,
    /// On shutdown: until when fresh connections may still send their first request.
    pub(super) fresh_until: Option<Instant>,
    /// Stop once the last connection closed (serving a single connection).
    pub(super) stop_when_empty: bool,
    /// Connections with a request ready whose body is still arriving, waiting for a
    /// thread to run it.
    pub(super) paused: Vec<Token>,
    /// Whether the loop ran a request since it last waited for events.
    pub(super) served_since_wait: bool,
}

impl Conn {
    /// The request whose body was being read ahead, for dispatch; the connection goes back
    /// to reading heads. Called only in `Phase::Body`.
    fn dispatch_read_ahead(&mut self, token: Token) -> Drive {
        let Phase::Body(ahead) = std::mem::replace(&mut self.phase, Phase::Head) else {
            unreachable!("called in the body phase");
        };
        Drive::Dispatch {
            token,
            io: Arc::clone(&self.io),
            info: Arc::clone(&self.info),
            head: ahead.head,
            needs_thread: !ahead.complete,
        }
    }
}

/// What looking at a connection produced.
enum Drive {
    Idle,
    Dispatch {
        token: Token,
        io: Arc<Mutex<ConnIo>>,
        info: Arc<ConnInfo>,
        head: Box<Head>,
        /// The body is still arriving: run the request on a thread other than the loop's.
        needs_thread: bool,
    },
}

pub(super) enum LoopExit {
    Finished,
    TakenOver,
}

/// Serves until the server finishes or another thread takes the loop over.
pub(super) fn run_loop(shared: &Arc<Shared>, mut state: Box<LoopState>) -> LoopExit {
    logging::buffer_this_thread();
    let mut events = Events::with_capacity(1024);
    loop {
        while let Some((token, ready)) = state.ready.pop_front() {
            match token {
                LISTENER => state.accept(shared, !ready),
                WAKER => {
                    state.take_returned(shared);
                    state.resume_paused(shared);
                    if shared.loops[state.index]
                        .accept_hint
                        .swap(false, Ordering::SeqCst)
                    {
                        state.accept(shared, true);
                    }
                }
                token => {
                    if let Drive::Dispatch {
                        token,
                        io,
                        info,
                        head,
                        needs_thread,
                    } = state.drive(shared, token, ready)
                    {
                        match dispatch(shared, state, token, &io, &info, head, needs_thread) {
                            Some(s) => state = s,
                            None => {
                                logging::hand_over();
                                return LoopExit::TakenOver;
                            }
                        }
                    }
                }
            }
        }
        if state.finished(shared) {
            logging::flush();
            drop(state);
            shared.finish();
            return LoopExit::Finished;
        }
        if !state.ready.is_empty() {
            // `finished` queued a last look at the connections.
            continue;
        }
        logging::flush_if_due();
        match state.wait_for_events(&mut events) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::error!(target: logging::LOG_TARGET, "event loop failed: {e}");
                shared.begin_shutdown();
                state.shutdown_deadline = Some(Instant::now());
            }
        }
        for event in events.iter() {
            state.ready.push_back((event.token(), true));
        }
        if Instant::now() >= state.next_sweep {
            state.sweep(shared);
        }
    }
}

/// Runs one request; returns the loop if this thread still owns it afterwards.
///
/// A request whose body is still arriving (`needs_thread`) never runs on the loop's
/// thread: the loop goes to a spare thread first, and when none is free the request waits
/// (paused) in the loop.
fn dispatch(
    shared: &Arc<Shared>,
    mut state: Box<LoopState>,
    token: Token,
    io: &Arc<Mutex<ConnIo>>,
    info: &ConnInfo,
    head: Box<Head>,
    needs_thread: bool,
) -> Option<Box<LoopState>> {
    if let Some(conn) = state.conns[token.0].as_mut() {
        conn.busy = true;
        if conn.held > 0 {
            shared.held.fetch_sub(conn.held, Ordering::AcqRel);
            conn.held = 0;
        }
    }
    state.served_since_wait = true;
    let lp = &shared.loops[state.index];
    let mut started = 0;
    let kept_state = if needs_thread && shared.threaded {
        match shared.hand_off(state) {
            Ok(()) => None,
            Err(mut state) => {
                state.pause(shared, token, head);
                return Some(state);
            }
        }
    } else if shared.threaded {
        // Mark first, then release: the watchdog never sees a free loop with a stale mark.
        started = shared.now_nanos();
        lp.thread_id
            .store(handoff::this_thread_id(), Ordering::Relaxed);
        lp.busy_since.store(started, Ordering::Release);
        let mut slot = lp.slot.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(state);
        if lp.slow_until.load(Ordering::Acquire) > started {
            // This loop runs slow requests: do not wait for the watchdog to notice this
            // one, let a spare thread serve the others now.
            let mut events = Events::with_capacity(64);
            if try_hand_off(shared, lp, &mut slot, &mut events) {
                let _ =
                    lp.busy_since
                        .compare_exchange(started, 0, Ordering::AcqRel, Ordering::Relaxed);
            }
        }
        drop(slot);
        if let Some(w) = shared.watchdog.get() {
            w.unpark();
        }
        None
    } else {
        Some(state)
    };
    let after = match conn::handle(&shared.handler, io, info, head, &shared.shutdown) {
        Outcome::KeepAlive => After::KeepAlive,
        Outcome::Close => After::Close,
        Outcome::Linger => After::Linger,
        Outcome::Panic(payload) => {
            *shared.panic.lock().unwrap_or_else(|e| e.into_inner()) = Some(payload);
            shared.begin_shutdown();
            After::Close
        }
        Outcome::Upgrade(handover) => {
            let budget: Arc<dyn crate::serving::upgrade::ThreadBudget> = shared.clone();
            let timeout = shared.options.io_timeout;
            crate::serving::upgrade::hand_over(budget, &lp.registry, io, info, *handover, timeout);
            After::Close
        }
    };
    let mut state = match kept_state {
        Some(state) => state,
        None => {
            let _ = lp
                .busy_since
                .compare_exchange(started, 0, Ordering::AcqRel, Ordering::Relaxed);
            let mut slot = lp.slot.lock().unwrap_or_else(|e| e.into_inner());
            // Under the lock the watchdog has finished with this request: if it moved the
            // loop off it, the mark it left (for slow mode) is cleared now that it is done.
            let _ =
                lp.handed_since
                    .compare_exchange(started, 0, Ordering::AcqRel, Ordering::Relaxed);
            match slot.take() {
                Some(state) => state,
                None => {
                    drop(slot);
                    // The loop moved to another thread: hand the connection back to it.
                    lp.returned
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((token, after));
                    let _ = lp.waker.wake();
                    return None;
                }
            }
        }
    };
    state.finish_request(shared, token, after, false);
    Some(state)
}

impl LoopState {
    pub(super) fn add_conn(
        &mut self,
        shared: &Shared,
        mut stream: Stream,
        peer: Option<SocketAddr>,
    ) -> io::Result<()> {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.conns.push(None);
                self.conns.len() - 1
            }
        };
        if let Err(e) =
            self.poll
                .registry()
                .register(stream.source(), Token(index), Interest::READABLE)
        {
            self.free.push(index);
            return Err(e);
        }
        let mut info = shared.template.clone();
        if let Some(peer) = peer {
            let ip = peer.ip().to_canonical().to_compact_string();
            info.remote_addr = Some(Text::from_compact(ip));
            info.remote_port = Some(peer.port());
        }
        self.conns[index] = Some(Conn {
            io: Arc::new(Mutex::new(ConnIo::new(stream, shared.options.io_timeout))),
            info: Arc::new(info),
            busy: false,
            deadline: Instant::now() + shared.options.header_timeout,
            idle: false,
            served: false,
            held: 0,
            missed: false,
            phase: Phase::Head,
        });
        self.open += 1;
        self.loads[self.index].fetch_add(1, Ordering::Relaxed);
        self.ready.push_back((Token(index), true));
        Ok(())
    }

    /// Another loop with clearly fewer connections, if any: this loop leaves new
    /// connections to it, so the loops share the clients (each loop serves the
    /// connections it accepted).
    fn lighter_loop(&self) -> Option<usize> {
        let mine = self.loads[self.index].load(Ordering::Relaxed);
        self.loads
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != self.index)
            .map(|(i, load)| (load.load(Ordering::Relaxed), i))
            .min()
            .filter(|&(load, _)| load + 1 < mine)
            .map(|(_, i)| i)
    }

    /// Accepts waiting connections; `force` skips the sharing rule.
    fn accept(&mut self, shared: &Shared, force: bool) {
        if !force {
            if let Some(lighter) = self.lighter_loop() {
                // Hand the work over explicitly: the other loop may have seen (and left)
                // its readiness for these connections already, and with edge-triggered
                // events nobody would look again before the next sweep (up to a second;
                // this was the 1 s tail of `bench/serve.sh` at c256).
                let other = &shared.loops[lighter];
                other.accept_hint.store(true, Ordering::SeqCst);
                let _ = other.waker.wake();
                return;
            }
        }
        // Held for the batch: a shutdown waits for it, then no connection is accepted again.
        let mut listener = shared.loops[self.index]
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        for _ in 0..ACCEPT_BATCH {
            let total: usize = self.loads.iter().map(|l| l.load(Ordering::Relaxed)).sum();
            if total >= shared.options.max_connections {
                self.accept_paused = true;
                return;
            }
            let accepted = match listener.as_mut() {
                Some(MioListener::Tcp(l)) => l.accept().map(|(s, a)| {
                    let _ = s.set_nodelay(true);
                    (wrap_tcp(shared, s), Some(a))
                }),
                #[cfg(unix)]
                Some(MioListener::Unix(l)) => l.accept().map(|(s, _)| (Ok(Stream::Unix(s)), None)),
                None => return,
            };
            match accepted {
                Ok((Ok(stream), peer)) => {
                    if let Err(e) = self.add_conn(shared, stream, peer) {
                        log::error!(target: logging::LOG_TARGET, "cannot watch a connection: {e}");
                    }
                }
                Ok((Err(e), _)) => {
                    log::error!(target: logging::LOG_TARGET, "cannot start TLS: {e}");
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.accept_paused = false;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    // Out of file descriptors, most likely: retry at the next sweep.
                    log::error!(target: logging::LOG_TARGET, "accept failed: {e}");
                    self.accept_paused = true;
                    return;
                }
            }
        }
        // More may be waiting: come back after the other ready connections, so the loops
        // share a burst of new connections and this one's clients are not kept waiting.
        self.ready.push_back((LISTENER, true));
    }

    fn close(&mut self, shared: &Shared, token: Token) {
        if let Some(conn) = self.conns.get_mut(token.0).and_then(Option::take) {
            if conn.held > 0 {
                shared.held.fetch_sub(conn.held, Ordering::AcqRel);
            }
            if matches!(&conn.phase, Phase::Body(ahead) if ahead.paused) {
                self.paused.retain(|&t| t != token);
                shared.paused.fetch_sub(1, Ordering::AcqRel);
            }
            let mut io = conn::lock(&conn.io);
            let _ = self.poll.registry().deregister(io.stream.source());
            drop(io);
            self.free.push(token.0);
            self.open -= 1;
            self.loads[self.index].fetch_sub(1, Ordering::Relaxed);
            if self.accept_paused {
                self.ready.push_back((LISTENER, false));
            }
        }
    }

    /// Reads what a connection has and moves its request along: parses the head, reads
    /// the body ahead, or discards input while lingering. Returns a request to run, if
    /// one is ready.
    fn drive(&mut self, shared: &Shared, token: Token, ready: bool) -> Drive {
        let Some(conn) = self.conns.get_mut(token.0).and_then(Option::as_mut) else {
            return Drive::Idle;
        };
        if conn.busy {
            // Edge-triggered: this readiness would be lost. The request's end looks again.
            conn.missed |= ready;
            return Drive::Idle;
        }
        let io_arc = Arc::clone(&conn.io);
        let mut io = conn::lock(&io_arc);
        match &mut conn.phase {
            Phase::Lingering { discarded } => {
                let (n, done) = io.discard_input(&mut self.buf);
                *discarded += n;
                if done || *discarded >= LINGER_MAX_BYTES {
                    drop(io);
                    self.close(shared, token);
                }
                return Drive::Idle;
            }
            Phase::Body(ahead) if ahead.paused => {
                // Retried (from `resume_paused`): try to find a thread again.
                ahead.paused = false;
                self.paused.retain(|&t| t != token);
                shared.paused.fetch_sub(1, Ordering::AcqRel);
                drop(io);
                return conn.dispatch_read_ahead(token);
            }
            _ => {}
        }
        if ready {
            io.drained = false;
        }
        let buf = &mut self.buf;
        let mut len = io.pending().len();
        buf[..len].copy_from_slice(io.pending());
        io.clear_pending();
        let mut refused = None;
        loop {
            if len > 0 && matches!(conn.phase, Phase::Head) {
                match parse_head(&buf[..len], &shared.limits, &conn.info) {
                    Parsed::Complete(head, n) => {
                        buf.copy_within(n..len, 0);
                        len -= n;
                        conn.served = true;
                        conn.idle = false;
                        let admitted = match head.framing {
                            Framing::None | Framing::Length(0) => Admit::Now {
                                head,
                                needs_thread: false,
                            },
                            _ => admit_body(shared, head),
                        };
                        match admitted {
                            Admit::Now { head, needs_thread } => {
                                io.set_pending(&buf[..len]);
                                drop(io);
                                return Drive::Dispatch {
                                    token,
                                    io: io_arc,
                                    info: Arc::clone(&conn.info),
                                    head,
                                    needs_thread,
                                };
                            }
                            Admit::Refuse(reject) => {
                                refused = Some((reject, Vec::new()));
                                break;
                            }
                            Admit::ReadAhead(ahead) => {
                                conn.deadline = ahead.since + shared.options.body_timeout;
                                conn.phase = Phase::Body(ahead);
                            }
                        }
                    }
                    Parsed::Error(reject) => {
                        refused = Some((reject, buf[..len].to_vec()));
                        break;
                    }
                    Parsed::Partial => {}
                }
            }
            if let Phase::Body(ahead) = &mut conn.phase {
                match ahead.progress(
                    &buf[..len],
                    shared.options.body_read_ahead,
                    shared.options.max_content_length,
                ) {
                    Ok(true) => {
                        io.set_pending(&buf[..len]);
                        drop(io);
                        return conn.dispatch_read_ahead(token);
                    }
                    Ok(false) => {}
                    Err(reject) => {
                        refused = Some((reject, Vec::new()));
                        break;
                    }
                }
            }
            // A short read says the socket is empty, but not whether the client closed it
            // after what it sent: a body still incomplete is read until `WouldBlock`, so
            // that a client gone mid-body is noticed now, not at the body's deadline.
            if io.drained && matches!(conn.phase, Phase::Head) {
                break;
            }
            if len == buf.len() {
                // Only empty lines fill the buffer without hitting a limit first (the
                // buffer holds a whole read-ahead body).
                let reject = Reject {
                    status: http::StatusCode::BAD_REQUEST,
                    reason: "No request line.",
                };
                refused = Some((reject, Vec::new()));
                break;
            }
            match io.read_nonblocking(&mut buf[len..]) {
                Ok(0) => {
                    if len > 0 || !matches!(conn.phase, Phase::Head) {
                        logging::client_message(
                            Level::Debug,
                            conn.info.remote_addr.as_deref(),
                            "client closed the connection in the middle of a request",
                        );
                    }
                    drop(io);
                    self.close(shared, token);
                    return Drive::Idle;
                }
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    logging::client_message(
                        Level::Debug,
                        conn.info.remote_addr.as_deref(),
                        &format!("connection failed: {e}"),
                    );
                    drop(io);
                    self.close(shared, token);
                    return Drive::Idle;
                }
            }
        }
        if let Some((reject, received)) = refused {
            drop(io);
            self.refuse(shared, token, &received, &reject);
            return Drive::Idle;
        }
        if len == 0 && matches!(conn.phase, Phase::Head) {
            io.shrink_idle();
        } else {
            io.set_pending(&buf[..len]);
            if conn.idle {
                conn.idle = false;
                conn.deadline = Instant::now() + shared.options.header_timeout;
            }
        }
        // Count the buffer against the loops' budget; the connection that would go over
        // it is refused.
        let held = io.pending.capacity();
        drop(io);
        if held > conn.held {
            let more = held - conn.held;
            conn.held = held;
            let total = shared.held.fetch_add(more, Ordering::AcqRel) + more;
            if total > shared.options.max_buffered_heads {
                let reject = Reject {
                    status: http::StatusCode::SERVICE_UNAVAILABLE,
                    reason: "The server is holding too many unfinished requests; try again later.",
                };
                self.refuse(shared, token, &[], &reject);
            }
        } else if held < conn.held {
            shared.held.fetch_sub(conn.held - held, Ordering::AcqRel);
            conn.held = held;
        }
        Drive::Idle
    }

    /// Keeps a request whose body is still arriving until a thread is free to run it.
    fn pause(&mut self, shared: &Shared, token: Token, head: Box<Head>) {
        let Some(conn) = self.conns.get_mut(token.0).and_then(Option::as_mut) else {
            return;
        };
        conn.busy = false;
        let io = conn::lock(&conn.io);
        conn.held = io.pending.capacity();
        shared.held.fetch_add(conn.held, Ordering::AcqRel);
        drop(io);
        conn.phase = Phase::Body(Box::new(BodyAhead {
            head,
            since: Instant::now(),
            want: 0,
            probe: None,
            complete: false,
            paused: true,
        }));
        self.paused.push(token);
        shared.paused.fetch_add(1, Ordering::AcqRel);
    }

    /// Looks at the paused requests again (a thread may be free now).
    fn resume_paused(&mut self, shared: &Shared) {
        if self.paused.is_empty() || !shared.threaded {
            return;
        }
        for &token in &self.paused {
            self.ready.push_back((token, false));
        }
    }

    /// Takes a connection back after its request; `missed` when readiness events for it
    /// may have been dropped while it was busy (another thread owned the loop).
    fn finish_request(&mut self, shared: &Shared, token: Token, after: After, missed: bool) {
        let shutting_down = shared.shutdown.load(Ordering::SeqCst);
        if after == After::Close || (after == After::KeepAlive && shutting_down) {
            self.close(shared, token);
            return;
        }
        if let Some(conn) = self.conns.get_mut(token.0).and_then(Option::as_mut) {
            conn.busy = false;
            let missed = missed || std::mem::take(&mut conn.missed);
            if after == After::Linger {
                conn.phase = Phase::Lingering { discarded: 0 };
                conn.deadline = Instant::now() + LINGER_TIMEOUT;
                self.ready.push_front((token, true));
                return;
            }
            conn.idle = true;
            conn.deadline = Instant::now() + shared.options.keep_alive_timeout;
            // Pipelined requests may be waiting in the buffer or the socket.
            self.ready.push_front((token, missed));
        }
    }

    /// Whether a loop parked during a request has something to serve: queued tokens,
    /// connections handed back, or readiness its poller reports now (which is kept in
    /// `ready`, so no event is lost to this look).
    pub(super) fn has_work(&mut self, lp: &LoopShared, events: &mut Events) -> bool {
        if !self.ready.is_empty() || !lp.returned.lock().map_or(true, |r| r.is_empty()) {
            return true;
        }
        match self.poll.poll(events, Some(Duration::ZERO)) {
            Ok(()) => {
                for event in events.iter() {
                    self.ready.push_back((event.token(), true));
                }
                !self.ready.is_empty()
            }
            // Let a thread of its own find out.
            Err(_) => true,
        }
    }

    fn take_returned(&mut self, shared: &Shared) {
        let returned = std::mem::take(
            &mut *shared.loops[self.index]
                .returned
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for (token, after) in returned {
            self.finish_request(shared, token, after, true);
        }
    }

    /// Enforces the deadlines: idle and header timeouts, the body's deadline and minimum
    /// rate while it is read ahead (`408`), the end of lingering.
    fn sweep(&mut self, shared: &Shared) {
        let now = Instant::now();
        self.next_sweep = now + self.sweep_every;
        let rate = u128::from(shared.options.min_body_rate);
        let grace = shared.options.body_rate_grace;
        for index in 0..self.conns.len() {
            let Some(conn) = &self.conns[index] else {
                continue;
            };
            if conn.busy {
                continue;
            }
            let timed_out = |reason| {
                Some(Reject {
                    status: http::StatusCode::REQUEST_TIMEOUT,
                    reason,
                })
            };
            let (expired, reject) = match &conn.phase {
                Phase::Head if now >= conn.deadline => {
                    let io = conn::lock(&conn.io);
                    let mid_head = !io.pending().is_empty();
                    (
                        true,
                        mid_head
                            .then_some(())
                            .and(timed_out("The request head took too long.")),
                    )
                }
                Phase::Head => (false, None),
                Phase::Lingering { .. } => (now >= conn.deadline, None),
                // Waiting for a thread is the server's doing, not the client's.
                Phase::Body(ahead) if ahead.paused => (false, None),
                Phase::Body(ahead) => {
                    let elapsed = now.saturating_duration_since(ahead.since);
                    let received = conn::lock(&conn.io).pending().len() as u128;
                    if now >= conn.deadline {
                        (true, timed_out("The request body took too long."))
                    } else if rate > 0
                        && elapsed > grace
                        && received * 1000 < rate * elapsed.as_millis()
                    {
                        (true, timed_out("The request body arrived too slowly."))
                    } else {
                        (false, None)
                    }
                }
            };
            if !expired {
                continue;
            }
            match reject {
                Some(reject) => {
                    let received = conn::lock(&conn.io).pending().to_vec();
                    let received = if matches!(conn.phase, Phase::Head) {
                        received
                    } else {
                        Vec::new()
                    };
                    self.refuse(shared, Token(index), &received, &reject);
                }
                None => self.close(shared, Token(index)),
            }
        }
        // A safety net for the sharing rule (and for a paused accept): look once a sweep.
        self.ready.push_back((LISTENER, false));
        self.resume_paused(shared);
    }

    /// Whether a connection the loop holds has a request under way (served on shutdown):
    /// a head or body partly received, an answer lingering, or a fresh connection whose
    /// first request may be on its way.
    fn in_flight(&self, conn: &Conn, now: Instant) -> bool {
        match conn.phase {
            Phase::Body(_) | Phase::Lingering { .. } => true,
            Phase::Head => {
                (!conn.served && self.fresh_until.is_some_and(|until| now < until))
                    || !conn::lock(&conn.io).pending().is_empty()
            }
        }
    }

    /// Moves shutdown along; true when the loop should end.
    fn finished(&mut self, shared: &Shared) -> bool {
        if self.stop_when_empty && self.open == 0 {
            return true;
        }
        if !shared.shutdown.load(Ordering::SeqCst) {
            return false;
        }
        if self.adopt(shared) {
            // Answer what waited in the backlog before closing idle connections.
            return false;
        }
        let now = Instant::now();
        if self.shutdown_deadline.is_none() {
            // `begin_shutdown` has already closed the listening socket.
            let grace = if shared.panic.lock().map(|p| p.is_some()).unwrap_or(true) {
                Duration::ZERO
            } else {
                shared.options.shutdown_grace_period
            };
            self.shutdown_deadline = Some(now + grace);
            self.fresh_until = Some(now + FIRST_REQUEST_WAIT.min(grace));
            // Look at every connection once more before closing the idle ones: a request
            // that arrived before the shutdown but whose readiness was not polled yet is
            // served (with `Connection: close`), not answered with a reset.
            let before = self.ready.len();
            for (index, conn) in self.conns.iter().enumerate() {
                if conn.as_ref().is_some_and(|c| !c.busy) {
                    self.ready.push_back((Token(index), true));
                }
            }
            if self.ready.len() > before {
                return false;
            }
        }
        // Idle connections are closed; requests in flight finish.
        for index in 0..self.conns.len() {
            let idle = self.conns[index]
                .as_ref()
                .is_some_and(|c| !c.busy && !self.in_flight(c, now));
            if idle {
                self.close(shared, Token(index));
            }
        }
        self.open == 0 || self.shutdown_deadline.is_some_and(|d| now >= d)
    }

    /// Takes the connections accepted from the backlog at shutdown; returns whether any.
    fn adopt(&mut self, shared: &Shared) -> bool {
        let adopted = std::mem::take(
            &mut *shared.loops[self.index]
                .adopted
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        let any = !adopted.is_empty();
        for (stream, peer) in adopted {
            if let Err(e) = self.add_conn(shared, stream, peer) {
                log::error!(target: logging::LOG_TARGET, "cannot watch a connection: {e}");
            }
        }
        any
    }

    /// Waits for readiness events until the next sweep. A loop that has just served
    /// requests first yields its CPU: on a busy server the next requests arrive within
    /// microseconds, often from a client that was waiting for this very CPU, and
    /// `epoll_wait` then returns them at once instead of putting the loop to sleep only to
    /// be woken again (a context switch and a wake-up each time).
    fn wait_for_events(&mut self, events: &mut Events) -> io::Result<()> {
        if std::mem::take(&mut self.served_since_wait) {
            thread::yield_now();
        }
        let timeout = self.poll_timeout();
        self.poll.poll(events, Some(timeout))
    }

    fn poll_timeout(&self) -> Duration {
        let now = Instant::now();
        let mut timeout = self.next_sweep.saturating_duration_since(now);
        if self.shutdown_deadline.is_some() {
            timeout = timeout.min(MIN_SWEEP);
        }
        timeout
    }
}

impl LoopState {
    /// Answers a request the loop refuses (logged like Werkzeug: the reason, then the
    /// access line) without blocking, then lingers so that closing does not reset the
    /// answer; a client that does not take the answer at once is closed on.
    fn refuse(&mut self, shared: &Shared, token: Token, received: &[u8], reject: &Reject) {
        let Some(conn) = self.conns.get_mut(token.0).and_then(Option::as_mut) else {
            return;
        };
        let info = &conn.info;
        logging::client_message(
            Level::Error,
            info.remote_addr.as_deref(),
            &format!("code {}, message {}", reject.status.as_u16(), reject.reason),
        );
        let first_line = received
            .split(|&b| b == b'\n')
            .find(|l| !l.is_empty() && *l != b"\r")
            .unwrap_or_default();
        let first_line = String::from_utf8_lossy(&first_line[..first_line.len().min(200)]);
        logging::access(
            info.remote_addr.as_deref(),
            first_line.trim_end_matches('\r'),
            reject.status,
            None,
        );
        let mut io = conn::lock(&conn.io);
        let lingering = conn::write_reject(&mut io, Version::HTTP_11, reject) && io.start_linger();
        drop(io);
        if !lingering {
            self.close(shared, token);
            return;
        }
        if matches!(&conn.phase, Phase::Body(ahead) if ahead.paused) {
            self.paused.retain(|&t| t != token);
            shared.paused.fetch_sub(1, Ordering::AcqRel);
        }
        shared.held.fetch_sub(conn.held, Ordering::AcqRel);
        conn.held = 0;
        conn.phase = Phase::Lingering { discarded: 0 };
        conn.deadline = Instant::now() + LINGER_TIMEOUT;
        self.ready.push_back((token, true));
    }
}

fn admit_body(shared: &Shared, head: Box<Head>) -> Admit {
    let options = &shared.options;
    match head.framing {
        Framing::Length(n) if options.max_content_length.is_some_and(|max| n > max) => {
            Admit::Refuse(too_large())
        }
        // The app answers before the client sends the body (or asks for it by reading).
        _ if head.expect_continue => Admit::Now {
            head,
            needs_thread: true,
        },
        Framing::Length(n) => Admit::ReadAhead(Box::new(BodyAhead {
            want: usize::try_from(n)
                .unwrap_or(usize::MAX)
                .min(options.body_read_ahead),
            head,
            since: Instant::now(),
            probe: None,
            complete: false,
            paused: false,
        })),
        _ => Admit::ReadAhead(Box::new(BodyAhead {
            head,
            since: Instant::now(),
            want: options.body_read_ahead,
            probe: Some((ChunkedDecoder::new(options.max_header_size), 0, 0)),
            complete: false,
            paused: false,
        })),
    }
}
