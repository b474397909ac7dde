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
    let mut watched: Vec<Watched> = shared.loops.iter().map(|_| Watched::default()).collect();
    while !shared.is_done() {
        let mut all_idle = true;
        for (lp, watched) in shared.loops.iter().zip(&mut watched) {
            let handed = lp.handed_since.load(Ordering::Acquire);
            if handed != 0 {
                all_idle = false;
                let now = shared.now_nanos();
                // Moved off the loop while it runs on, on the thread it started on: the
                // window lasts until a second after it ends.
                if let Some(moved) = watched.handed.as_mut().filter(|m| m.since == handed) {
                    let look = moved.cpu_wait.look(handed, moved.thread_id, now, threshold);
                    if look.handler_nanos >= entry {
                        lp.slow_until
                            .fetch_max(now.saturating_add(window), Ordering::AcqRel);
                    }
                }
            }
            let since = lp.busy_since.load(Ordering::Acquire);
            if since == 0 {
                continue;
            }
            all_idle = false;
            let now = shared.now_nanos();
            if now.saturating_sub(since) < threshold {
                continue;
            }
            let thread_id = lp.thread_id.load(Ordering::Relaxed);
            let look = watched.running.look(since, thread_id, now, threshold);
            if look.handler_nanos >= entry {
                lp.slow_until
                    .fetch_max(now.saturating_add(window), Ordering::AcqRel);
            }
            if look.waiting_for_cpu {
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
            // Marked under the lock, before the handoff: the handler clears the mark when it
            // is done, once it gets this lock.
            let previous = lp.handed_since.swap(since, Ordering::AcqRel);
            if try_hand_off(shared, lp, &mut slot, &mut events) {
                // This handler has had its handoff; from now on it is only watched for
                // slow mode, on its own thread.
                let _ =
                    lp.busy_since
                        .compare_exchange(since, 0, Ordering::AcqRel, Ordering::Relaxed);
                watched.handed = Some(Moved {
                    since,
                    thread_id,
                    cpu_wait: std::mem::take(&mut watched.running),
                });
            } else {
                let _ = lp.handed_since.compare_exchange(
                    since,
                    previous,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
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

/// What the watchdog follows on one loop: the handler running on it, and the last
/// handler it moved off the loop while that one runs on.
#[derive(Debug, Default)]
struct Watched {
    running: CpuWait,
    handed: Option<Moved>,
}

/// A handler the watchdog moved off its loop: when it started, and the thread it runs on.
#[derive(Debug)]
struct Moved {
    since: u64,
    thread_id: i32,
    cpu_wait: CpuWait,
}

/// Tells a handler that holds its loop from one whose thread merely waits for a CPU (a
/// busy machine: another thread would wait as well, and moving the loop would only add
/// threads competing for the same CPUs). Time spent runnable but not running is not the
/// handler's: the watchdog hands the loop over once the handler has used, running or
/// blocked, at least half of the time since its last look, and puts the loop in slow mode
/// once the handler's own time reaches [`SLOW_MODE_ENTRY`]. Reads the thread's scheduler
/// statistics, so only on Linux; elsewhere the handler's wall time alone decides.
#[derive(Debug, Default)]
struct CpuWait {
    last: Option<Look>,
}

/// The watchdog's looks at one handler: which one (its start), when it looked first and
/// last, and its thread's run-queue wait then.
#[derive(Debug, Clone, Copy)]
struct Look {
    since: u64,
    first_at: u64,
    first_waited: u64,
    at: u64,
    waited: u64,
}

/// What a look at a handler past the threshold tells.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    /// Its thread spent most of the time since the last look waiting for a CPU (and at
    /// the first look at a handler, which only notes where it stands).
    waiting_for_cpu: bool,
    /// The handler's own time so far: the threshold (all that is known of the time before
    /// the first look), then the time since the first look that its thread did not spend
    /// waiting for a CPU.
    handler_nanos: u64,
}

impl CpuWait {
    /// Looks at the handler that started at `since` on thread `thread_id`, past
    /// `threshold`.
    fn look(&mut self, since: u64, thread_id: i32, now: u64, threshold: u64) -> Verdict {
        let wall = now.saturating_sub(since);
        let Some(waited) = run_queue_wait(thread_id) else {
            self.last = None;
            return Verdict {
                waiting_for_cpu: false,
                handler_nanos: wall,
            };
        };
        let last = self.last.filter(|last| last.since == since);
        let (first_at, first_waited) =
            last.map_or((now, waited), |last| (last.first_at, last.first_waited));
        self.last = Some(Look {
            since,
            first_at,
            first_waited,
            at: now,
            waited,
        });
        let own_since_first = now
            .saturating_sub(first_at)
            .saturating_sub(waited.saturating_sub(first_waited));
        Verdict {
            waiting_for_cpu: last.is_none_or(|last| {
                waited.saturating_sub(last.waited) * 2 >= now.saturating_sub(last.at)
            }),
            handler_nanos: wall.min(threshold).saturating_add(own_since_first),
        }
    }
}

/// Nanoseconds the thread has spent runnable but waiting for a CPU (the second field of
/// `/proc/self/task/<tid>/schedstat`), if the system tells.
fn run_queue_wait(thread_id: i32) -> Option<u64> {
    if !cfg!(target_os = "linux") || thread_id <= 0 {
        return None;
    }
    let stats = std::fs::read_to_string(format!("/proc/self/task/{thread_id}/schedstat")).ok()?;
    stats.split_whitespace().nth(1)?.parse().ok()
}

/// This thread's OS thread id on Linux (0 elsewhere), looked up once per thread.
pub(super) fn this_thread_id() -> i32 {
    #[cfg(target_os = "linux")]
    {
        thread_local! {
            static ID: i32 = rustix::thread::gettid().as_raw_nonzero().get();
        }
        ID.with(|id| *id)
    }
    #[cfg(not(target_os = "linux"))]
    0
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

/// Upgraded connections' threads count against `max_threads` with the spare threads.
impl crate::serving::upgrade::ThreadBudget for Shared {
    fn acquire_thread(&self) -> bool {
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        let free = spares.threads < self.options.max_threads;
        spares.threads += usize::from(free);
        free
    }

    fn release_thread(&self) {
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        spares.threads = spares.threads.saturating_sub(1);
    }

    fn shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    fn handed_over(&self) -> &crate::serving::upgrade::HandedOver {
        &self.handed_over
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_scheduler_statistics_wall_time_decides() {
        let mut cpu_wait = CpuWait::default();
        let verdict = cpu_wait.look(1_000, 0, 5_000_000, 2_000_000);
        assert_eq!(
            verdict,
            Verdict {
                waiting_for_cpu: false,
                handler_nanos: 4_999_000
            }
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_blocked_handler_is_judged_on_the_second_look() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let blocked = thread::spawn(move || {
            tx.send(this_thread_id()).unwrap();
            // Blocked, as a handler waiting on a database is: not waiting for a CPU.
            let _ = done_rx.recv();
        });
        let thread_id = rx.recv().unwrap();
        assert!(thread_id > 0);
        let start = Instant::now();
        let nanos = || u64::try_from(start.elapsed().as_nanos()).unwrap() + 1;
        let mut cpu_wait = CpuWait::default();
        let threshold = 2_000_000;
        let first = cpu_wait.look(1, thread_id, nanos(), threshold);
        assert!(
            first.waiting_for_cpu,
            "the first look only notes where it stands"
        );
        assert!(
            first.handler_nanos <= threshold,
            "before the first look only the threshold counts"
        );
        thread::sleep(Duration::from_millis(5));
        let second = cpu_wait.look(1, thread_id, nanos(), threshold);
        assert!(!second.waiting_for_cpu, "a blocked thread waits for no CPU");
        assert!(second.handler_nanos >= 5_000_000);
        assert_eq!(cpu_wait.last.map(|last| last.since), Some(1));
        // Another handler on the same loop starts over.
        assert!(
            cpu_wait
                .look(2, thread_id, nanos(), threshold)
                .waiting_for_cpu
        );
        assert_eq!(cpu_wait.last.map(|last| last.since), Some(2));
        done_tx.send(()).unwrap();
        blocked.join().unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn run_queue_wait_reads_this_threads_statistics() {
        assert!(run_queue_wait(this_thread_id()).is_some());
        assert_eq!(run_queue_wait(0), None);
        assert_eq!(run_queue_wait(-1), None);
    }
}
