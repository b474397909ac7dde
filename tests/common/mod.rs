//! Helpers shared by the integration tests: free ports, waiting for a server to come up,
//! a seeded random generator, where test output goes, and a TLS client verifier that
//! accepts the development server's self-signed certificates; a server on a spare port and
//! a raw client for tests of the server itself.
//!
//! Each test binary includes this module with `mod common;` and uses only some of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::ops::{Bound, RangeBounds};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[cfg(feature = "server")]
mod server;
#[cfg(feature = "tls")]
pub mod tls;

#[cfg(feature = "server")]
#[allow(unused_imports)] // each test binary uses a part
pub use server::{TestServer, status_of};

/// How long a test waits for a server or a driver to come up before it calls it a hang.
/// Generous on purpose: it only fails a test that would otherwise never end.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A loopback TCP port that was free a moment ago.
///
/// The port is released before it is returned, so another process may take it first; a
/// caller that starts an external server on it retries on a bind failure.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a loopback port")
        .local_addr()
        .expect("a bound socket has an address")
        .port()
}

/// Polls `ready` until it returns `true`; fails the test with `what` after `timeout` (see
/// [`wait_for`]).
pub fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    wait_for(timeout, || {
        if ready() {
            Ok(())
        } else {
            Err(format!("waiting for {what}"))
        }
    })
}

/// Calls `attempt` every few milliseconds until it returns `Ok`, and returns that value.
/// `Err` means "not yet" and says why; if `timeout` passes first, the test fails with the
/// last reason. Use it to wait for a server to listen, a log line to appear, a process to
/// come up: the timeout is there only so that a hang fails instead of blocking the run.
pub fn wait_for<T>(timeout: Duration, mut attempt: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        match attempt() {
            Ok(value) => return value,
            Err(why) => assert!(
                Instant::now() < deadline,
                "gave up after {timeout:?}: {why}"
            ),
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Orders events between a test and the views it serves, without sleeping: a view calls
/// [`Gate::pass`], which counts its arrival and blocks until the test calls
/// [`Gate::open`] (or, with [`Gate::quorum`], until enough views have arrived); the test
/// waits for arrivals with [`Gate::wait_arrivals`]. Every wait gives up after
/// [`START_TIMEOUT`], so a bug fails the test instead of hanging it.
pub struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

struct GateState {
    arrived: usize,
    open: bool,
    quorum: Option<usize>,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Arc<Gate> {
        Arc::new(Gate {
            state: Mutex::new(GateState {
                arrived: 0,
                open: false,
                quorum: None,
            }),
            changed: Condvar::new(),
        })
    }

    /// A gate that opens by itself once `n` views have arrived: proves that `n` views
    /// run at the same time.
    pub fn quorum(n: usize) -> Arc<Gate> {
        let gate = Gate::new();
        gate.state.lock().unwrap().quorum = Some(n);
        gate
    }

    /// Counts one arrival and waits for the gate to open. Returns `false` if it did not
    /// open within [`START_TIMEOUT`].
    pub fn pass(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        state.arrived += 1;
        if state.quorum.is_some_and(|n| state.arrived >= n) {
            state.open = true;
        }
        self.changed.notify_all();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, START_TIMEOUT, |s| !s.open)
            .unwrap();
        state.open
    }

    /// Waits until at least `n` views have arrived; panics after [`START_TIMEOUT`].
    pub fn wait_arrivals(&self, n: usize) {
        let state = self.state.lock().unwrap();
        let (state, timeout) = self
            .changed
            .wait_timeout_while(state, START_TIMEOUT, |s| s.arrived < n)
            .unwrap();
        assert!(
            !timeout.timed_out(),
            "only {} of {n} views arrived within {START_TIMEOUT:?}",
            state.arrived
        );
    }

    /// How many views have arrived so far.
    pub fn arrived(&self) -> usize {
        self.state.lock().unwrap().arrived
    }

    /// Lets every waiting view (and every later one) through.
    pub fn open(&self) {
        self.state.lock().unwrap().open = true;
        self.changed.notify_all();
    }
}

/// Where tests write files meant to be looked at afterwards (screenshots): the Cargo
/// target directory, `CARGO_TARGET_DIR` when it is set, else `target/` in the repository.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir)
            }
        }
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
    }
}

/// A small seeded random generator (SplitMix64) for tests that try many generated inputs:
/// the same seed gives the same inputs on every run and every machine, so a failure
/// reproduces.
pub struct TestRng(u64);

impl TestRng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn seed_from_u64(seed: u64) -> TestRng {
        TestRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }

    /// `true` with probability `p` (0.0 to 1.0).
    pub fn gen_bool(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) < p * (1u64 << 53) as f64
    }

    /// A number in `range` (`a..b` or `a..=b`, not empty).
    pub fn gen_range(&mut self, range: impl RangeBounds<usize>) -> usize {
        let low = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n + 1,
            Bound::Unbounded => 0,
        };
        let high = match range.end_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n.checked_sub(1).expect("an empty range"),
            Bound::Unbounded => usize::MAX,
        };
        assert!(low <= high, "an empty range");
        let span = (high - low) as u64 + 1;
        // Multiply-shift keeps the numbers uniform enough for test inputs.
        low + ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as usize
    }
}
