//! What a person sees: the start-up banner and one access line per request, in Werkzeug's
//! format, through the `log` facade with target `zeug`.
//!
//! When the program installed no logger, the server installs a small one that prints
//! `zeug` records at info level and above to stderr (as Werkzeug adds a stream handler to
//! its logger), colouring access lines by status when stderr is a terminal. That logger
//! batches the lines of each loop thread, so a busy server does not pay one `write` per
//! request: at a terminal the batch is written before the loop waits for more work (a
//! person watching sees every line at once); into a file or a pipe it is written when it
//! is [`LOG_FLUSH_INTERVAL`] old or [`MAX_BUFFERED_LOG`] bytes big, at the latest on the
//! loop's next idle tick (at most a second), and always when the loop stops. This module
//! owns none of the decisions about what happened to a request; the connection code tells
//! it.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use http::StatusCode;
use log::{Level, LevelFilter, Log, Metadata, Record};

use super::http1::Clock;

/// The `log` target of every server record.
pub const LOG_TARGET: &str = "zeug";

/// Above this many buffered bytes a loop thread writes its log lines at once.
pub(crate) const MAX_BUFFERED_LOG: usize = 32 * 1024;

/// Log lines going to a file or a pipe are written once the oldest is this old (checked
/// whenever the loop is about to wait, and on its idle ticks).
pub(crate) const LOG_FLUSH_INTERVAL: Duration = Duration::from_millis(100);

static INIT: Once = Once::new();
static FALLBACK: AtomicBool = AtomicBool::new(false);
static COLOUR: AtomicBool = AtomicBool::new(false);
/// Whether the fallback logger writes to a terminal (a person watching).
static TERMINAL: AtomicBool = AtomicBool::new(false);

/// The lines a loop thread holds, and when the oldest of them was logged.
struct Batch {
    bytes: String,
    since: Option<Instant>,
}

impl Batch {
    const fn new() -> Batch {
        Batch {
            bytes: String::new(),
            since: None,
        }
    }

    /// Whether the batch should be written now.
    fn is_due(&self) -> bool {
        self.since.is_some_and(|since| {
            TERMINAL.load(Ordering::Relaxed)
                || since.elapsed() >= LOG_FLUSH_INTERVAL
                || self.bytes.len() > MAX_BUFFERED_LOG
        })
    }

    /// Moves the lines of `other` to the end of this batch.
    fn take_from(&mut self, other: &mut Batch) {
        if let Some(since) = other.since.take() {
            self.since = Some(self.since.map_or(since, |s| s.min(since)));
            self.bytes.push_str(&other.bytes);
            other.bytes.clear();
        }
    }

    fn write_out(&mut self) {
        if !self.bytes.is_empty() {
            let _ = std::io::stderr().lock().write_all(self.bytes.as_bytes());
            self.bytes.clear();
        }
        self.since = None;
    }
}

impl Drop for Batch {
    /// A thread that ends (a spare thread that was handed a loop) leaves no line behind.
    fn drop(&mut self) {
        self.write_out();
    }
}

/// Lines left by loop threads that handed their loop over (they may wait a long time for
/// the next one); whichever loop flushes next writes them.
static HANDED_OVER: Mutex<Batch> = Mutex::new(Batch::new());
/// Whether [`HANDED_OVER`] holds lines (read without the lock on every flush).
static HANDED_OVER_HELD: AtomicBool = AtomicBool::new(false);

thread_local! {
    static CLOCK: RefCell<Clock> = const { RefCell::new(Clock::new()) };
    /// Lines the fallback logger holds for this thread until [`flush`]; `None` when this
    /// thread writes through.
    static BUFFER: RefCell<Option<Batch>> = const { RefCell::new(None) };
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= Level::Info && metadata.target().starts_with(LOG_TARGET)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let batched = batch_line(|bytes| {
            let _ = write!(bytes, "{}", record.args());
        });
        if !batched {
            // One `write` per line: stderr is unbuffered, and worker processes share it,
            // so a line written in pieces would interleave with theirs.
            let line = format!("{}\n", record.args());
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {
        flush();
    }
}

/// Installs the stderr logger if the program has none (once per process).
pub(crate) fn init() {
    INIT.call_once(|| {
        if log::set_logger(&StderrLogger).is_ok() {
            log::set_max_level(LevelFilter::Info);
            FALLBACK.store(true, Ordering::Relaxed);
            let terminal = std::io::stderr().is_terminal();
            TERMINAL.store(terminal, Ordering::Relaxed);
            COLOUR.store(terminal, Ordering::Relaxed);
        }
    });
}

/// Makes the fallback logger hold this thread's lines until [`flush`] (loop threads).
pub(crate) fn buffer_this_thread() {
    if FALLBACK.load(Ordering::Relaxed) {
        BUFFER.with(|b| {
            b.borrow_mut().get_or_insert_with(Batch::new);
        });
    }
}

/// Writes the lines this thread holds, and those other loop threads handed over (when a
/// loop stops).
pub(crate) fn flush() {
    BUFFER.with(|b| {
        if let Some(batch) = b.borrow_mut().as_mut() {
            batch.write_out();
        }
    });
    if HANDED_OVER_HELD.load(Ordering::Acquire) {
        write_handed_over(false);
    }
}

/// Passes the lines this thread holds on to the next loop that flushes (when this
/// thread's loop was taken over by another thread and this one may idle as a spare),
/// writing them at once only if they are due. A busy server hands loops over often; a
/// write per handoff would be a write per request again.
pub(crate) fn hand_over() {
    BUFFER.with(|b| {
        let mut b = b.borrow_mut();
        let Some(batch) = b.as_mut() else {
            return;
        };
        if batch.since.is_none() {
            return;
        }
        let mut shared = HANDED_OVER.lock().unwrap_or_else(|e| e.into_inner());
        shared.take_from(batch);
        HANDED_OVER_HELD.store(true, Ordering::Release);
        if shared.is_due() {
            shared.write_out();
            HANDED_OVER_HELD.store(false, Ordering::Release);
        }
    });
}

/// Writes the handed-over lines (only if due, when `only_if_due`).
fn write_handed_over(only_if_due: bool) {
    let mut shared = HANDED_OVER.lock().unwrap_or_else(|e| e.into_inner());
    if !only_if_due || shared.is_due() {
        shared.write_out();
        HANDED_OVER_HELD.store(false, Ordering::Release);
    }
}

/// Writes the lines this thread holds if they are due: always at a terminal, else once
/// the oldest is [`LOG_FLUSH_INTERVAL`] old; the same for lines handed over by other
/// threads. Loops call it before they wait for work.
pub(crate) fn flush_if_due() {
    BUFFER.with(|b| {
        if let Some(batch) = b.borrow_mut().as_mut() {
            if batch.is_due() {
                batch.write_out();
            }
        }
    });
    if HANDED_OVER_HELD.load(Ordering::Acquire) {
        write_handed_over(true);
    }
}

/// Whether access lines are logged at all (skips formatting them when not).
pub(crate) fn access_enabled() -> bool {
    log::log_enabled!(target: LOG_TARGET, Level::Info)
}

/// The client part of a log line: the IP address, or `<local>` for Unix sockets.
fn client(remote_addr: Option<&str>) -> &str {
    remote_addr.unwrap_or("<local>")
}

/// Logs `127.0.0.1 - - [24/Nov/2026 10:00:00] "GET / HTTP/1.1" 200 13`.
pub(crate) fn access(
    remote_addr: Option<&str>,
    request_line: &str,
    status: StatusCode,
    size: Option<u64>,
) {
    if !access_enabled() {
        return;
    }
    // A loop thread of the fallback logger appends the line straight to its batch (what
    // the logger would do with it), without formatting it a second time through `log`.
    let batched = batch_line(|bytes| {
        push_access_line(bytes, remote_addr, request_line, status, size);
    });
    if !batched {
        LINE.with(|line| {
            let mut line = line.borrow_mut();
            line.clear();
            push_access_line(&mut line, remote_addr, request_line, status, size);
            log::info!(target: LOG_TARGET, "{line}");
        });
    }
}

/// Appends one line (what `write` puts, then a line end) to this thread's batch, writing
/// the batch out once it is full; `false`, writing nothing, when this thread does not
/// batch.
fn batch_line(write: impl FnOnce(&mut String)) -> bool {
    let full = BUFFER.with(|b| {
        let mut b = b.borrow_mut();
        let batch = b.as_mut()?;
        batch.since.get_or_insert_with(Instant::now);
        write(&mut batch.bytes);
        batch.bytes.push('\n');
        Some(batch.bytes.len() > MAX_BUFFERED_LOG)
    });
    if full == Some(true) {
        flush();
    }
    full.is_some()
}

/// Appends the access line, without its line end, to `line`.
fn push_access_line(
    line: &mut String,
    remote_addr: Option<&str>,
    request_line: &str,
    status: StatusCode,
    size: Option<u64>,
) {
    let style = if COLOUR.load(Ordering::Relaxed) {
        match status.as_u16() {
            100..=199 => "\x1b[1m",
            200 => "",
            304 => "\x1b[36m",
            300..=399 => "\x1b[32m",
            404 => "\x1b[33m",
            400..=499 => "\x1b[1m\x1b[31m",
            _ => "\x1b[1m\x1b[35m",
        }
    } else {
        ""
    };
    line.push_str(client(remote_addr));
    line.push_str(" - - [");
    CLOCK.with(|c| line.push_str(c.borrow_mut().log_stamp()));
    line.push_str("] \"");
    line.push_str(style);
    push_escaped(line, request_line);
    if !style.is_empty() {
        line.push_str("\x1b[0m");
    }
    line.push_str("\" ");
    line.push_str(status.as_str());
    match size {
        Some(n) => {
            line.push(' ');
            line.push_str(itoa::Buffer::new().format(n));
        }
        None => line.push_str(" -"),
    }
}

/// Logs a message about one client at `level`, in the access line's prefix format
/// (Werkzeug's `log_error`: `127.0.0.1 - - [date] code 400, message ...`).
pub(crate) fn client_message(level: Level, remote_addr: Option<&str>, message: &str) {
    if !log::log_enabled!(target: LOG_TARGET, level) {
        return;
    }
    let stamp = CLOCK.with(|c| c.borrow_mut().log_stamp().to_owned());
    let mut escaped = String::with_capacity(message.len());
    push_escaped(&mut escaped, message);
    log::log!(target: LOG_TARGET, level, "{} - - [{stamp}] {escaped}", client(remote_addr));
}

/// Control characters in client-supplied text are shown as `\xNN`, so a request cannot
/// forge log lines or terminal escapes.
fn push_escaped(out: &mut String, s: &str) {
    if s.bytes().all(|b| matches!(b, b' '..=b'~') && b != b'\\') {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        if c.is_control() {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
}

/// The start-up banner lines (` * Running on …`), Werkzeug's wording.
pub(crate) fn banner(lines: &[String]) {
    for line in lines {
        log::info!(target: LOG_TARGET, "{line}");
    }
    if COLOUR.load(Ordering::Relaxed) {
        log::info!(target: LOG_TARGET, "\x1b[33mPress CTRL+C to quit\x1b[0m");
    } else {
        log::info!(target: LOG_TARGET, "Press CTRL+C to quit");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_due_when_old_or_big_and_merge_in_order() {
        let mut batch = Batch::new();
        assert!(!batch.is_due(), "an empty batch is never due");
        batch.bytes.push_str("one\n");
        batch.since = Some(Instant::now());
        if !TERMINAL.load(Ordering::Relaxed) {
            assert!(!batch.is_due(), "a fresh batch waits");
        }
        let mut older = Batch::new();
        older.bytes.push_str("two\n");
        older.since = Instant::now().checked_sub(LOG_FLUSH_INTERVAL * 2);
        assert!(older.is_due());
        batch.take_from(&mut older);
        assert_eq!(batch.bytes, "one\ntwo\n");
        assert!(
            batch.is_due(),
            "the merged batch is as old as its oldest line"
        );
        assert!(older.bytes.is_empty() && older.since.is_none());
        let mut big = Batch::new();
        big.since = Some(Instant::now());
        big.bytes = "x".repeat(MAX_BUFFERED_LOG + 1);
        assert!(big.is_due());
        big.bytes.clear(); // nothing to write when dropped
        batch.bytes.clear();
    }

    #[test]
    fn escapes_control_characters() {
        let mut s = String::new();
        push_escaped(&mut s, "GET /\x1b[31m\\ HTTP/1.1");
        assert_eq!(s, "GET /\\x1b[31m\\\\ HTTP/1.1");
        for (text, shown) in [
            ("GET /a?b=c~d HTTP/1.1", "GET /a?b=c~d HTTP/1.1"),
            ("a\x7fb\tc\u{85}", "a\\x7fb\\x09c\\x85"),
            ("/café", "/café"),
        ] {
            s.clear();
            push_escaped(&mut s, text);
            assert_eq!(s, shown, "{text:?}");
        }
    }
}
