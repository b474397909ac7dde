//! Moving an event loop between threads: the spare threads (at most `max_threads`), the
//! watchdog that hands a loop whose request runs long to a spare thread when other
//! clients wait, and slow mode (a loop that recently ran a slow request hands itself over
//! before each request while other work waits).

use super::event_loop::{LoopExit, LoopState, run_loop};
use super::*;

/// The watchdog parks after this many idle ticks and is woken by the next request.
const WATCHDOG_IDLE_TICKS: u32 = 200;

/// After a request on a loop ran longer than [`SLOW_MODE_ENTRY`], the loop hands itself
/// to a spare thread before each request while other work waits, for this long.
pub(super) const SLOW_MODE_WINDOW: Duration = Duration::from_secs(1);

/// A request running this long (wall clock) puts its loop in slow mode. Much longer than
/// `slow_handler_threshold`: a quick view merely descheduled for a few milliseconds on a
/// busy machine must not make its loop hand off every request for a second (that doubled
/// the CPU per request of a hello-world under `wrk`).
pub(super) const SLOW_MODE_ENTRY: Duration = Duration::from_millis(20);

/// A spare thread with nothing to do for this long ends.
const SPARE_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Loops waiting for a spare thread, and the spare threads.
#[derive(Default)]
pub(super) struct Spares {
    // Loops travel between threads as boxes (a pointer move, not a copy of the state).
    #[allow(clippy::vec_box)]
    queue: Vec<Box<LoopState>>,
    idle: usize,
    threads: usize,
}

impl Shared {
    /// Gives `state` to a spare thread (starting one if none waits and fewer than
    /// `max_threads` run); gives it back when no thread can take it.
    pub(super) fn hand_off(self: &Arc<Self>, state: Box<LoopState>) -> Result<(), Box<LoopState>> {
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        if spares.idle > spares.queue.len() {
            spares.queue.push(state);
            drop(spares);
            self.spares_cv.notify_one();
            return Ok(());
        }
        if spares.threads >= self.options.max_threads {
            return Err(state);
        }
        spares.threads += 1;
        spares.queue.push(state);
        drop(spares);
        let for_thread = Arc::clone(self);
        let spawned = thread::Builder::new()
            .name("zeug-loop".into())
            .spawn(move || spare_thread(&for_thread, true));
        if let Err(e) = spawned {
            log::error!(target: logging::LOG_TARGET, "cannot start a loop thread: {e}");
            let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
            spares.threads -= 1;
            // Another spare may have taken it already; then all is well.
            if let Some(state) = spares.queue.pop() {
                return Err(state);
            }
        }
        Ok(())
    }
}

pub(super) fn watchdog(shared: &Arc<Shared>) {
    let threshold = shared.options.slow_handler_threshold;
    let tick = (threshold / 2).max(Duration::from_micros(500));
    let window = u64::try_from(SLOW_MODE_WINDOW.as_nanos()).unwrap_or(u64::MAX);
    let entry = u64::try_from(SLOW_MODE_ENTRY.as_nanos()).unwrap_or(u64::MAX);
    let threshold = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX);
    let mut idle_ticks = 0;
    let mut events = Events::with_capacity(256);
    while !shared.is_done() {
        let mut all_idle = true;
        for lp in &shared.loops {
            let handed = lp.handed_since.load(Ordering::Acquire);
            if handed != 0 {
                all_idle = false;
                let now = shared.now_nanos();
                if now.saturating_sub(handed) >= entry {
                    lp.slow_until
                        .fetch_max(now.saturating_add(window), Ordering::AcqRel);
                    // Noted once; its end extends the window again.
                    let _ = lp.handed_since.compare_exchange(
                        handed,
                        0,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    );
                }
            }
            let since = lp.busy_since.load(Ordering::Acquire);
            if since == 0 {
                continue;
            }
            all_idle = false;
            if shared.now_nanos().saturating_sub(since) < threshold {
                continue;
            }
            let mut slot = lp.slot.lock().unwrap_or_else(|e| e.into_inner());
            // Under the lock the loop cannot change hands: check that the request timed
            // above is still the one running, and that the loop has work for another
            // thread. Without any, a handoff would only cost a thread (and a handler merely
            // descheduled on a busy machine would cause it): leave the loop where it is and
            // look again next tick.
            if lp.busy_since.load(Ordering::Acquire) != since {
                continue;
            }
            if try_hand_off(shared, lp, &mut slot, &mut events) {
                // This handler has had its handoff; it is not timed again.
                let _ =
                    lp.busy_since
                        .compare_exchange(since, 0, Ordering::AcqRel, Ordering::Relaxed);
                lp.handed_since.store(since, Ordering::Release);
            }
        }
        if all_idle {
            idle_ticks += 1;
            if idle_ticks >= WATCHDOG_IDLE_TICKS {
                idle_ticks = 0;
                // Woken by the next request (or shutdown); a token left by an earlier
                // unpark makes this return at once, so no wake-up is lost.
                thread::park();
                continue;
            }
        } else {
            idle_ticks = 0;
        }
        thread::sleep(tick);
    }
}

/// Under `lp.slot`'s lock: gives the loop in the slot to a spare thread when it has other
/// work. Returns whether it did.
pub(super) fn try_hand_off(
    shared: &Arc<Shared>,
    lp: &LoopShared,
    slot: &mut Option<Box<LoopState>>,
    events: &mut Events,
) -> bool {
    let has_work = slot
        .as_mut()
        .is_some_and(|state| state.has_work(lp, events));
    if !has_work {
        return false;
    }
    let Some(state) = slot.take() else {
        return false;
    };
    match shared.hand_off(state) {
        Ok(()) => true,
        Err(state) => {
            *slot = Some(state);
            false
        }
    }
}

/// A loop's own thread: serves its loop, and once another thread has taken the loop over
/// (and this one's request is done), serves as a spare thread, outside the `max_threads`
/// count. Without that, the threads running the loops would all be spares once loops had
/// moved, and with a small `max_threads` none would be left for a request waiting (paused)
/// for one.
pub(super) fn loop_thread(shared: &Arc<Shared>, state: Box<LoopState>) {
    if let LoopExit::TakenOver = run_loop(shared, state) {
        spare_thread(shared, false);
    }
}

/// A spare thread: runs the loops handed to it until the server finishes or it has been
/// idle for [`SPARE_IDLE_TIMEOUT`]. `counted` when it is one of `Spares::threads`.
fn spare_thread(shared: &Arc<Shared>, counted: bool) {
    let mut spares = shared.spares.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(state) = spares.queue.pop() {
            drop(spares);
            run_loop(shared, state);
            spares = shared.spares.lock().unwrap_or_else(|e| e.into_inner());
            continue;
        }
        if shared.is_done() {
            break;
        }
        spares.idle += 1;
        if shared.paused.load(Ordering::Acquire) > 0 {
            // A thread is free (and counted as such before the loops look): they retry
            // the requests that waited for one.
            for lp in &shared.loops {
                let _ = lp.waker.wake();
            }
        }
        let (guard, timeout) = shared
            .spares_cv
            .wait_timeout(spares, SPARE_IDLE_TIMEOUT)
            .unwrap_or_else(|e| e.into_inner());
        spares = guard;
        spares.idle -= 1;
        if timeout.timed_out() && spares.queue.is_empty() {
            break;
        }
    }
    if counted {
        spares.threads -= 1;
    }
}
